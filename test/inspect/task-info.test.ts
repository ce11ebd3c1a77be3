/**
 * Task introspection (inspect/task-info.ts): states through a task's life,
 * step counts, run time, what a task waits on and how it is labelled,
 * creation stacks in debug mode.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventLoop, currentTask, describeTask, futureLabel, sleep, taskState, until, waitInfo } from '../../src/index.js';
import type { ExceptionContext, Task, TaskInfo } from '../../src/index.js';
import { assertLoopClean, runInVirtualTime } from '../../src/testing.js';
import { Log } from '../log.js';

function brief(info: TaskInfo): string {
  return `${info.state} steps=${info.steps}${info.waitingOn === null ? '' : ` on ${info.waitingOn.label}`}`;
}

test('a task goes pending → running → waiting → ready → waiting (sleep) → ready (sleep(0)) → done, counting its steps', () => {
  const loop = new EventLoop({ clock: 'virtual' });
  const log = new Log();
  const gate = loop.createFuture<void>();
  gate.label = 'gate';
  const task: Task<string> = loop.createTask(
    function* () {
      log.push(`inside: ${brief(describeTask(currentTask() as Task<unknown>))}`);
      yield* gate;
      yield* sleep(10);
      yield* sleep(0);
      return 'done';
    },
    { name: 'life' },
  );
  log.push(brief(describeTask(task)));
  loop.runOnce(0);
  log.push(brief(describeTask(task)));
  gate.setResult();
  log.push(brief(describeTask(task)));
  loop.runOnce(0); // resumes, starts the sleep
  log.push(brief(describeTask(task)));
  loop.runOnce(); // virtual time jumps to 10; the sleep ends and sleep(0) queues the next step
  log.push(brief(describeTask(task)));
  loop.runOnce(0);
  log.push(brief(describeTask(task)));
  log.assert([
    'pending steps=0',
    'inside: running steps=1',
    'waiting steps=1 on gate',
    'ready steps=1',
    'waiting steps=2 on sleep',
    'ready steps=3',
    'done steps=4',
  ]);
  const info = describeTask(task);
  assert.equal(info.outcome, 'finished');
  assert.equal(info.name, 'life');
  assert.equal(info.id, task.id);
  assert.equal(info.priority, 'normal');
  assert.equal(Object.isFrozen(info), true);
  assertLoopClean(loop);
});

test('what a task waits on: a labelled future, an unlabelled one, a task, a sleep with its deadline, a promise', async () => {
  await runInVirtualTime(function* (loop) {
    yield* sleep(100); // so deadlines are not just the delay
    const labelled = loop.createFuture<void>();
    labelled.label = 'Lock.acquire()';
    const plain = loop.createFuture<void>();
    const sleeper = loop.createTask(function* () {
      yield* sleep(5);
    }, { name: 'sleeper' });
    const waiters = [
      loop.createTask(function* () {
        yield* labelled;
      }, { name: 'a' }),
      loop.createTask(function* () {
        yield* plain;
      }, { name: 'b' }),
      loop.createTask(function* () {
        yield* sleeper;
      }, { name: 'c' }),
      sleeper,
    ];
    let resolvePromise: (value: number) => void = () => {};
    const promise = new Promise<number>((resolve) => (resolvePromise = resolve));
    const promiseWaiter = loop.createTask(function* () {
      return yield* until(promise);
    }, { name: 'p' });
    yield* sleep(0);
    const seen = [...waiters, promiseWaiter].map((task) => {
      const wait = waitInfo(task);
      return [task.name, wait?.kind, wait?.label, wait?.kind === 'sleep' ? wait.deadlineMs : undefined];
    });
    assert.deepEqual(seen, [
      ['a', 'future', 'Lock.acquire()', undefined],
      ['b', 'future', `Future #${plain.id}`, undefined],
      ['c', 'task', `task sleeper #${sleeper.id}`, undefined],
      ['sleeper', 'sleep', 'sleep', 105],
      ['p', 'future', 'promise', undefined],
    ]);
    assert.equal(futureLabel(plain), `Future #${plain.id}`);
    labelled.setResult();
    plain.setResult();
    resolvePromise(1);
    yield* waiters[2] as Task<unknown>;
    yield* promiseWaiter;
    assert.equal(waitInfo(sleeper), null);
  });
});

test('run time is counted only while task timing is on; steps are always counted', () => {
  const loop = new EventLoop({ clock: 'virtual' });
  const busyMs = (ms: number): void => {
    const start = performance.now();
    while (performance.now() - start < ms) {
      // spin: the step really takes this long, whatever the machine's speed
    }
  };
  const task = loop.createTask(function* () {
    busyMs(2);
    yield* sleep(0);
    busyMs(2);
    yield* sleep(0);
    busyMs(2);
  });
  assert.equal(loop.getTaskTiming(), false);
  loop.runOnce(0);
  assert.equal(task.runTimeMs, 0);
  loop.setTaskTiming(true);
  assert.equal(loop.getTaskTiming(), true);
  loop.runOnce(0);
  const timed = describeTask(task).runTimeMs;
  assert.ok(timed >= 2, `run time ${timed} ms should cover the 2 ms step`);
  loop.setTaskTiming(false);
  loop.runOnce(0);
  assert.equal(describeTask(task).runTimeMs, timed);
  assert.equal(task.steps, 3);
  assertLoopClean(loop);
});

test('debug mode turns task timing on and records where each task was created', () => {
  const loop = new EventLoop({ clock: 'virtual', debug: true });
  assert.equal(loop.getTaskTiming(), true);
  const task = loop.createTask(function* () {});
  const info = describeTask(task);
  assert.match(String(info.createdAt), /task-info\.test\.js/);
  loop.runOnce(0);
  assert.equal(describeTask(task).state, 'done');
  loop.setDebug(false);
  assert.equal(loop.getTaskTiming(), false);
  assertLoopClean(loop);
});

async function collectUntil(done: () => boolean, rounds = 40): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  assert.ok(gc, 'tests must run with node --expose-gc');
  for (let i = 0; i < rounds && !done(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
  }
}

test('a failed task is described as failed without marking its exception retrieved (debug mode still reports it)', async () => {
  const loop = new EventLoop({ clock: 'virtual', debug: true });
  const reports: ExceptionContext[] = [];
  loop.setExceptionHandler((context) => reports.push(context));
  const error = new Error('boom');
  (function failAndDescribe(): void {
    const task = loop.createTask(function* () {
      throw error;
    });
    loop.runOnce(0);
    const info = describeTask(task);
    assert.equal(info.outcome, 'failed');
    assert.equal(info.error, error);
  })();
  await collectUntil(() => reports.length > 0);
  assert.equal(reports[0]?.message, 'Task exception was never retrieved');
  assert.equal(reports[0]?.exception, error);
  assertLoopClean(loop);
});

test('a task that spawned another is recorded as its spawner; describeTask refuses a non-task', async () => {
  await runInVirtualTime(function* (loop) {
    const child = loop.createTask(function* () {});
    assert.equal(describeTask(child).spawnerId, (currentTask() as Task<unknown>).id);
    assert.equal(taskState(child), 'pending');
    yield* child;
    assert.throws(() => describeTask(loop.createFuture() as unknown as Task<unknown>), { name: 'TypeError', message: /expected a Task/ });
  });
});
