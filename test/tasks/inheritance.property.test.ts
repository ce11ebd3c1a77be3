/**
 * Priority inheritance under random programs (fast-check, virtual time).
 *
 * Loans move queued steps between lanes (Task#raiseQueuedStep), and hand
 * a Lock's or Semaphore's priority on to the heir before it runs. Bugs in
 * that kind of code step a task twice, lose a wake-up, or leave a loan
 * behind. So: tasks of random priorities take a Lock and a Semaphore, sleep,
 * wait on futures settled by callbacks of random priorities, await each
 * other, pass items through a Queue, and do all that inside gather, shield,
 * timeout and a TaskGroup, while timed callbacks cancel them and change
 * their priorities. Whatever the program, afterwards:
 *  - nothing reached the exception handler (a stale wake-up is an
 *    InvalidStateError there) and no task failed: each returned or was
 *    cancelled, and no task is left (shielded and group children included);
 *  - mutual exclusion held, and the Lock and Semaphore are free again;
 *  - no loan is left: every task runs at its own priority.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  CancelledError,
  currentTask,
  gather,
  Lock,
  PRIORITIES,
  Queue,
  Semaphore,
  shield,
  sleep,
  taskGroup,
  timeout,
  TimeoutError,
  type Coroutine,
  type Priority,
  type Task,
} from '../../src/index.js';
import { runInVirtualTime } from '../../src/testing.js';

type Op =
  | { kind: 'lock'; holdSteps: number }
  | { kind: 'sem'; holdSteps: number }
  | { kind: 'sleep'; ms: number }
  | { kind: 'gate'; settleAt: Priority }
  | { kind: 'await'; back: number }
  | { kind: 'queue' }
  | { kind: 'gather' | 'shield' | 'timeout' | 'group'; holdSteps: number };

type Disruption = { atMs: number; task: number; action: 'cancel' | Priority; lane: Priority };

const priorityArb = fc.constantFrom(...PRIORITIES);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('lock' as const), holdSteps: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ kind: fc.constant('sem' as const), holdSteps: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ kind: fc.constant('sleep' as const), ms: fc.constantFrom(0, 0.5, 1) }),
  fc.record({ kind: fc.constant('gate' as const), settleAt: priorityArb }),
  fc.record({ kind: fc.constant('await' as const), back: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('queue' as const) }),
  fc.record({ kind: fc.constantFrom('gather' as const, 'shield' as const, 'timeout' as const, 'group' as const), holdSteps: fc.integer({ min: 0, max: 2 }) }),
);
const taskArb = fc.record({ priority: priorityArb, ops: fc.array(opArb, { minLength: 1, maxLength: 5 }) });
const disruptionArb: fc.Arbitrary<Disruption> = fc.record({
  atMs: fc.constantFrom(0, 0.25, 0.5, 1, 1.5, 2, 3),
  task: fc.nat(7),
  action: fc.oneof(fc.constant('cancel' as const), priorityArb),
  lane: priorityArb,
});

test('random programs of locks, semaphores, futures, awaits, cancels and priority changes: no stale step, no lost wake-up, no loan left', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(taskArb, { minLength: 2, maxLength: 7 }), fc.array(disruptionArb, { maxLength: 6 }), async (specs, disruptions) => {
      const errors: unknown[] = [];
      const failures: unknown[] = [];
      await runInVirtualTime(function* (loop) {
        const main = currentTask();
        loop.setExceptionHandler((context) => errors.push(context.message));
        const lock = new Lock();
        const semaphore = new Semaphore(2);
        let inLock = 0;
        let inSemaphore = 0;
        const tasks: Task<unknown>[] = [];

        const queue = new Queue<number>(); // unbounded: a put never waits, and each get follows its own put
        const others: Task<unknown>[] = []; // shielded tasks, which outlive a cancelled caller

        function* hold(steps: number): Coroutine<void> {
          for (let i = 0; i < steps; i++) yield* sleep(0);
        }

        function* withinLock(steps: number): Coroutine<void> {
          yield* lock.withLock(function* () {
            assert.equal(++inLock, 1, 'two tasks inside the Lock');
            try {
              yield* hold(steps);
            } finally {
              inLock--;
            }
          });
        }

        function* withinSemaphore(steps: number): Coroutine<void> {
          yield* semaphore.withLock(function* () {
            assert.ok(++inSemaphore <= 2, 'three tasks inside a Semaphore(2)');
            try {
              yield* hold(steps);
            } finally {
              inSemaphore--;
            }
          });
        }

        function* body(index: number, ops: Op[]): Coroutine<void> {
          for (const op of ops) {
            switch (op.kind) {
              case 'lock':
                yield* withinLock(op.holdSteps);
                break;
              case 'sem':
                yield* withinSemaphore(op.holdSteps);
                break;
              case 'queue':
                queue.putNowait(index);
                yield* queue.get();
                break;
              case 'gather':
                yield* gather(withinLock(op.holdSteps), withinSemaphore(op.holdSteps), hold(op.holdSteps));
                break;
              case 'shield': {
                const inner = loop.createTask(withinLock(op.holdSteps), { name: `t${index} shielded` });
                others.push(inner);
                yield* shield(inner);
                break;
              }
              case 'timeout':
                try {
                  yield* timeout(0.5, withinLock(op.holdSteps + 1));
                } catch (error) {
                  if (!(error instanceof TimeoutError)) throw error;
                }
                break;
              case 'group':
                yield* taskGroup(function* (group) {
                  group.createTask(withinSemaphore(op.holdSteps));
                  group.createTask(withinLock(op.holdSteps));
                });
                break;
              case 'sleep':
                yield* sleep(op.ms);
                break;
              case 'gate': {
                const gate = loop.createFuture<number>();
                loop.callSoon(() => gate.done() || gate.setResult(index), { priority: op.settleAt }); // cancelled: its task was
                assert.equal(yield* gate, index);
                break;
              }
              case 'await': {
                const target = tasks[index - op.back];
                if (target !== undefined) {
                  try {
                    yield* target;
                  } catch (error) {
                    if (!(error instanceof CancelledError) || !target.cancelled()) throw error;
                  }
                }
                break;
              }
            }
          }
        }

        specs.forEach((spec, index) => {
          tasks.push(loop.createTask(body(index, spec.ops), { name: `t${index}`, priority: spec.priority }));
        });
        for (const { atMs, task, action, lane } of disruptions) {
          const target = tasks[task % tasks.length]!;
          loop.callLater(atMs, () => {
            if (action === 'cancel') target.cancel();
            else target.priority = action;
          }, { priority: lane });
        }
        yield* sleep(1000);
        assert.deepEqual(loop.allTasks().filter((task) => task !== main), [], 'tasks left behind');
        for (const task of [...tasks, ...others]) {
          assert.equal(task.done(), true, `${task} never finished`);
          if (!task.cancelled() && task.exception() !== null) failures.push(`${task}: ${String(task.exception())}`);
          assert.equal(task.effectivePriority, task.priority, `${task} kept a loan`);
        }
        assert.deepEqual([lock.locked(), semaphore.value, inLock, inSemaphore], [false, 2, 0, 0]);
      });
      assert.deepEqual(errors, []);
      assert.deepEqual(failures, []);
    }),
    { numRuns: 300 },
  );
});
