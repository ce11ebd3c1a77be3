/**
 * scheduler.postTask / scheduler.yield on eventide (tasks/scheduler.ts).
 *
 * Each test names the behaviour of the WICG Prioritized Task Scheduling
 * specification it pins, and the Web Platform Test (wpt/scheduler/…) that
 * checks the same behaviour in browsers. The tests are written for
 * eventide: they run on a virtual clock, log what runs and assert the exact
 * order, and end with the scheduler drained and the loop clean.
 *
 * Promises are waited for through a loop Future (`outcomeOf`), not `until`:
 * `until` tells the loop an outside event is pending, which holds a virtual
 * clock back from the timers of delayed tasks for a real-time stall.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  EventLoop,
  Future,
  RuntimeError,
  Scheduler,
  TASK_PRIORITY_LANES,
  TaskController,
  TaskSignal,
  getRunningLoop,
  scheduler,
  sleep,
  until,
} from '../../src/index.js';
import type { Coroutine, TaskPriority } from '../../src/index.js';
import { assertLoopClean, runInVirtualTime } from '../../src/testing.js';
import { Log } from '../log.js';

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * A Future of how `promise` settles, observed at once (so a rejection is
 * never reported as unhandled while the test waits for something else).
 */
function outcomeOf<T>(promise: PromiseLike<T>): Future<Outcome<T>> {
  const future = getRunningLoop().createFuture<Outcome<T>>();
  promise.then(
    (value) => future.setResult({ ok: true, value }),
    (error: unknown) => future.setResult({ ok: false, error }),
  );
  return future;
}

function observed<T>(promise: PromiseLike<T> | Future<Outcome<T>>): Future<Outcome<T>> {
  return promise instanceof Future ? promise : outcomeOf(promise);
}

/** Waits for `promise` and returns its value (throws its rejection). */
function* valueOf<T>(promise: PromiseLike<T> | Future<Outcome<T>>): Coroutine<T> {
  const outcome = yield* observed(promise);
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/** Waits for `promise` and returns its rejection reason; fails if it fulfils. */
function* rejectionOf(promise: PromiseLike<unknown> | Future<Outcome<unknown>>): Coroutine<unknown> {
  const outcome = yield* observed(promise);
  assert.equal(outcome.ok, false, 'expected the promise to reject');
  return (outcome as { error: unknown }).error;
}

/** Sleeps in ticks until the scheduler has nothing queued, delayed or in flight. */
function* drained(): Coroutine<void> {
  for (let round = 0; round < 100; round++) {
    const stats = scheduler.statistics();
    const queued = stats.queued['user-blocking'] + stats.queued['user-visible'] + stats.queued.background;
    if (queued === 0 && stats.delayed === 0 && stats.pendingHandles === 0 && !stats.holdingForMicrotasks) return;
    yield* sleep(0);
  }
  throw new Error(`scheduler did not drain: ${JSON.stringify(scheduler.statistics())}`);
}

function isDomException(error: unknown, name: string): boolean {
  return error instanceof DOMException && error.name === name;
}

/** A test body on a fresh virtual-time loop; the scheduler must drain and the loop end clean. */
function schedulerTest(name: string, body: (loop: EventLoop, log: Log) => Coroutine<void>): void {
  test(name, async () => {
    const log = new Log();
    await runInVirtualTime(function* (loop) {
      yield* body(loop, log);
      yield* drained();
    });
    log.assertEmpty();
  });
}

const post = (log: Log, id: string, priority?: TaskPriority): Promise<void> =>
  scheduler.postTask(() => log.push(id), priority === undefined ? {} : { priority });

// ---------------------------------------------------------- ordering

schedulerTest('postTask runs user-blocking before user-visible before background, oldest first within each (WPT post-task-run-order.any.js)', function* (_loop, log) {
  const tasks = [
    post(log, 'B1', 'background'),
    post(log, 'B2', 'background'),
    post(log, 'UV1', 'user-visible'),
    post(log, 'UV2', 'user-visible'),
    post(log, 'UB1', 'user-blocking'),
    post(log, 'UB2', 'user-blocking'),
  ];
  yield* valueOf(Promise.all(tasks));
  log.assert(['UB1', 'UB2', 'UV1', 'UV2', 'B1', 'B2']);
});

schedulerTest("postTask without priority or TaskSignal queues at 'user-visible', FIFO with explicit 'user-visible' tasks (spec: schedule a postTask task, default priority source)", function* (_loop, log) {
  const tasks = [post(log, 'default-1'), post(log, 'bg', 'background'), post(log, 'uv', 'user-visible'), post(log, 'default-2'), post(log, 'ub', 'user-blocking')];
  const aborting = new AbortController();
  tasks.push(scheduler.postTask(() => log.push('abort-signal-only'), { signal: aborting.signal }));
  yield* valueOf(Promise.all(tasks));
  log.assert(['ub', 'default-1', 'uv', 'default-2', 'abort-signal-only', 'bg']);
});

schedulerTest('the next task is always the oldest of the highest priority: a user-blocking task posted by a running task runs before older user-visible tasks (spec: select the next scheduler task queue)', function* (_loop, log) {
  const tasks: Promise<unknown>[] = [];
  tasks.push(
    scheduler.postTask(() => {
      log.push('uv-a');
      tasks.push(post(log, 'ub-from-a', 'user-blocking'));
      tasks.push(post(log, 'uv-from-a', 'user-visible'));
    }),
  );
  tasks.push(post(log, 'uv-b'), post(log, 'uv-c'), post(log, 'bg-d', 'background'));
  yield* valueOf(Promise.all(tasks));
  yield* valueOf(Promise.all(tasks.slice(5)));
  log.assert(['uv-a', 'ub-from-a', 'uv-b', 'uv-c', 'uv-from-a', 'bg-d']);
});

schedulerTest('a flood of 3000 tasks over the three priorities runs in priority order, FIFO within a priority (spec: strict priority order)', function* (_loop, log) {
  const priorities: TaskPriority[] = ['background', 'user-visible', 'user-blocking'];
  const ran: string[] = [];
  const tasks: Promise<unknown>[] = [];
  for (let i = 0; i < 3000; i++) {
    const priority = priorities[(i * 7) % 3] as TaskPriority;
    tasks.push(scheduler.postTask(() => ran.push(`${priority}:${i}`), { priority }));
  }
  yield* valueOf(Promise.all(tasks));
  const rank = (entry: string): number => ['user-blocking', 'user-visible', 'background'].indexOf(entry.split(':')[0] as string);
  const expected = [...ran].sort((a, b) => rank(a) - rank(b) || Number(a.split(':')[1]) - Number(b.split(':')[1]));
  assert.deepEqual(ran, expected);
  assert.equal(ran.length, 3000);
  log.assertEmpty();
});

// ---------------------------------------------------- lanes are shared

schedulerTest("postTask work shares eventide's lanes: user-blocking → 'high', user-visible → 'normal', background → 'low', interleaved FIFO with callSoon work (eventide lane mapping)", function* (loop, log) {
  assert.deepEqual({ ...TASK_PRIORITY_LANES }, { 'user-blocking': 'high', 'user-visible': 'normal', background: 'low' });
  loop.callSoon(() => log.push('callSoon normal 1'));
  const tasks = [post(log, 'postTask user-visible 1')];
  loop.callSoon(() => log.push('callSoon high'), { priority: 'high' });
  tasks.push(post(log, 'postTask user-blocking', 'user-blocking'));
  loop.callSoon(() => log.push('callSoon low'), { priority: 'low' });
  tasks.push(post(log, 'postTask background', 'background'));
  loop.callSoon(() => log.push('callSoon normal 2'));
  loop.callSoon(() => log.push('callSoon critical'), { priority: 'critical' });
  loop.callSoon(() => log.push('callSoon idle'), { priority: 'idle' });
  tasks.push(post(log, 'postTask user-visible 2'));
  yield* valueOf(Promise.all(tasks));
  log.assert([
    'callSoon critical',
    'callSoon high',
    'postTask user-blocking',
    'callSoon normal 1',
    'postTask user-visible 1',
    'callSoon normal 2',
    'postTask user-visible 2',
    'callSoon low',
    'postTask background',
    'callSoon idle',
  ]);
});

schedulerTest("'critical' stays eventide's: critical callbacks queued after user-blocking tasks still run first (eventide lane mapping)", function* (loop, log) {
  const tasks = [post(log, 'ub-1', 'user-blocking'), post(log, 'ub-2', 'user-blocking')];
  loop.callSoon(() => log.push('critical'), { priority: 'critical' });
  yield* valueOf(Promise.all(tasks));
  log.assert(['critical', 'ub-1', 'ub-2']);
});

schedulerTest("a delayed task runs in the tick its deadline comes, in its timer's place: before a same-lane callLater due at the same time, after a higher-lane one (spec: delay; eventide timers)", function* (loop, log) {
  const start = loop.time();
  const at = (id: string) => () => log.push(`${id}@${loop.time() - start}`);
  const tasks = [scheduler.postTask(at('postTask user-visible'), { delay: 10 })];
  loop.callLater(10, at('callLater normal'));
  tasks.push(scheduler.postTask(at('postTask background'), { delay: 10, priority: 'background' }));
  loop.callLater(10, at('callLater high'), { priority: 'high' });
  yield* valueOf(Promise.all(tasks));
  log.assert(['callLater high@10', 'postTask user-visible@10', 'callLater normal@10', 'postTask background@10']);
});

// ------------------------------------------------------------ results

schedulerTest('the postTask promise resolves with the callback\'s return value, at every priority (WPT post-task-result-success.any.js, post-task-without-signals.any.js)', function* (_loop, log) {
  assert.equal(yield* valueOf(scheduler.postTask(() => 1234)), 1234);
  for (const priority of ['user-blocking', 'user-visible', 'background'] as const) {
    log.push(yield* valueOf(scheduler.postTask(() => priority, { priority })));
  }
  log.assert(['user-blocking', 'user-visible', 'background']);
});

schedulerTest('a callback that throws rejects its promise with that very error; later tasks still run (WPT post-task-result-throws.any.js)', function* (_loop, log) {
  const failure = new Error('Failed');
  const failing = scheduler.postTask(() => {
    log.push('throwing');
    throw failure;
  });
  const after = post(log, 'after');
  assert.equal(yield* rejectionOf(failing), failure);
  yield* valueOf(after);
  log.assert(['throwing', 'after']);
});

schedulerTest("an async callback's promise is followed: the postTask promise takes its value or its rejection (spec: resolve result with callbackResult)", function* (_loop, log) {
  const value = yield* valueOf(
    scheduler.postTask(async () => {
      log.push('start');
      await Promise.resolve();
      log.push('after await');
      return 'async value';
    }),
  );
  const problem = new RangeError('async failure');
  const error = yield* rejectionOf(
    scheduler.postTask(async () => {
      await null;
      throw problem;
    }),
  );
  assert.equal(value, 'async value');
  assert.equal(error, problem);
  log.assert(['start', 'after await']);
});

schedulerTest("an async callback's microtasks count before the next task: a user-blocking task it posts after an await runs before an older user-visible task (spec: a microtask checkpoint after each task)", function* (_loop, log) {
  const tasks: Promise<unknown>[] = [];
  tasks.push(
    scheduler.postTask(async () => {
      log.push('a: before await');
      await Promise.resolve();
      log.push('a: after await');
      tasks.push(post(log, 'ub posted by a', 'user-blocking'));
    }),
  );
  tasks.push(post(log, 'uv b'));
  yield* valueOf(Promise.all(tasks));
  yield* valueOf(tasks[2] as Promise<unknown>);
  log.assert(['a: before await', 'a: after await', 'ub posted by a', 'uv b']);
});

// ------------------------------------------------------ signal & priority

schedulerTest('an explicit priority wins over the TaskSignal\'s priority (WPT post-task-with-signal-and-priority.any.js)', function* (_loop, log) {
  const controller = new TaskController({ priority: 'background' });
  const task1 = scheduler.postTask(() => log.push('task1'), { priority: 'user-visible' });
  const task2 = scheduler.postTask(() => log.push('task2'), { priority: 'user-blocking', signal: controller.signal });
  const first = yield* valueOf(Promise.race([task1.then(() => 'task1'), task2.then(() => 'task2')]));
  assert.equal(first, 'task2');
  yield* valueOf(task1);
  log.assert(['task2', 'task1']);
});

schedulerTest('with both a signal and a priority, aborting the signal still aborts the task (WPT task-controller-abort-signal-and-priority.any.js)', function* (_loop, log) {
  const controller = new TaskController();
  const task1 = outcomeOf(scheduler.postTask(() => log.push('task1 ran'), { signal: controller.signal }));
  const task2 = outcomeOf(scheduler.postTask(() => log.push('task2 ran'), { priority: 'background', signal: controller.signal }));
  controller.abort();
  assert.ok(isDomException(yield* rejectionOf(task1), 'AbortError'));
  assert.ok(isDomException(yield* rejectionOf(task2), 'AbortError'));
  log.assertEmpty();
});

schedulerTest("TaskController.setPriority moves every queued task of its signal: '5,6,0,1,2,3,4' (WPT task-controller-setPriority1.any.js)", function* (_loop, log) {
  const controller = new TaskController();
  const signal = controller.signal;
  const tasks: Promise<unknown>[] = [];
  for (let i = 0; i < 5; i++) tasks.push(scheduler.postTask(() => log.push(i), { signal }));
  tasks.push(scheduler.postTask(() => log.push(5), { priority: 'user-blocking' }));
  tasks.push(scheduler.postTask(() => log.push(6), { priority: 'user-visible' }));
  controller.setPriority('background');
  assert.equal(signal.priority, 'background');
  yield* valueOf(Promise.all(tasks));
  log.assert([5, 6, 0, 1, 2, 3, 4]);
});

schedulerTest('setPriority called repeatedly, between runs and before a run, keeps tasks in enqueue order within their final priority (WPT task-controller-setPriority-repeated.any.js)', function* (_loop, log) {
  const controller = new TaskController();
  const signal = controller.signal;
  let tasks = [scheduler.postTask(() => log.push(0), { signal }), scheduler.postTask(() => log.push(1), { priority: 'user-blocking' }), scheduler.postTask(() => log.push(2), { priority: 'user-visible' })];
  controller.setPriority('background');
  yield* valueOf(Promise.all(tasks));
  log.assert([1, 2, 0]);

  tasks = [scheduler.postTask(() => log.push(3), { signal }), scheduler.postTask(() => log.push(4), { priority: 'user-blocking' }), scheduler.postTask(() => log.push(5), { priority: 'user-visible' })];
  controller.setPriority('user-blocking');
  yield* valueOf(Promise.all(tasks));
  log.assert([3, 4, 5]);

  tasks = [scheduler.postTask(() => log.push(6), { signal }), scheduler.postTask(() => log.push(7), { priority: 'user-blocking' }), scheduler.postTask(() => log.push(8), { priority: 'user-visible' })];
  controller.setPriority('background');
  controller.setPriority('user-visible');
  controller.setPriority('user-blocking');
  assert.equal(signal.priority, 'user-blocking');
  yield* valueOf(Promise.all(tasks));
  log.assert([6, 7, 8]);
});

schedulerTest('a task moved by setPriority takes its place among its new queue by enqueue order, not at the back (spec: scheduler task queues, enqueue order)', function* (_loop, log) {
  const controller = new TaskController({ priority: 'background' });
  const tasks = [
    post(log, 'ub-1 (older)', 'user-blocking'),
    scheduler.postTask(() => log.push('moved'), { signal: controller.signal }),
    post(log, 'ub-2 (newer)', 'user-blocking'),
    post(log, 'bg (newer)', 'background'),
  ];
  controller.setPriority('user-blocking');
  yield* valueOf(Promise.all(tasks));
  log.assert(['ub-1 (older)', 'moved', 'ub-2 (newer)', 'bg (newer)']);
});

schedulerTest('setPriority to the current priority does nothing: no event, same order, no new pumps (spec: signal priority change, step 2)', function* (_loop, log) {
  const controller = new TaskController({ priority: 'background' });
  controller.signal.onprioritychange = () => log.push('prioritychange');
  const tasks = [scheduler.postTask(() => log.push('signal task'), { signal: controller.signal }), post(log, 'bg', 'background')];
  const handlesBefore = scheduler.statistics().pendingHandles;
  controller.setPriority('background');
  assert.equal(scheduler.statistics().pendingHandles, handlesBefore);
  yield* valueOf(Promise.all(tasks));
  log.assert(['signal task', 'bg']);
});

schedulerTest('setPriority from inside a running task reorders the tasks still queued (spec: dynamic priority task queues)', function* (_loop, log) {
  const controller = new TaskController({ priority: 'background' });
  const tasks = [
    scheduler.postTask(() => {
      log.push('ub: raise the background tasks');
      controller.setPriority('user-blocking');
    }, { priority: 'user-blocking' }),
    post(log, 'uv'),
    scheduler.postTask(() => log.push('signal 1'), { signal: controller.signal }),
    scheduler.postTask(() => log.push('signal 2'), { signal: controller.signal }),
  ];
  yield* valueOf(Promise.all(tasks));
  log.assert(['ub: raise the background tasks', 'signal 1', 'signal 2', 'uv']);
});

schedulerTest('priority change algorithms run before prioritychange fires: a handler already sees the tasks at their new priority (spec: signal priority change, steps 6-7)', function* (_loop, log) {
  const controller = new TaskController({ priority: 'background' });
  const task = scheduler.postTask(() => log.push('task'), { signal: controller.signal });
  controller.signal.addEventListener('prioritychange', () => {
    const queued = scheduler.statistics().queued;
    log.push(`in handler: ub=${queued['user-blocking']} bg=${queued.background}`);
  });
  controller.setPriority('user-blocking');
  yield* valueOf(task);
  log.assert(['in handler: ub=1 bg=0', 'task']);
});

schedulerTest('TaskSignal.any with a fixed priority orders postTask tasks by that priority (WPT task-signal-any-post-task-run-order.tentative.any.js, fixed priority composite signal)', function* (_loop, log) {
  const schedule = (id: string, priority: TaskPriority): Promise<unknown> =>
    scheduler.postTask(() => log.push(id), { signal: TaskSignal.any([], { priority }) });
  const tasks = [schedule('B1', 'background'), schedule('B2', 'background'), schedule('UV1', 'user-visible'), schedule('UV2', 'user-visible'), schedule('UB1', 'user-blocking'), schedule('UB2', 'user-blocking')];
  yield* valueOf(Promise.all(tasks));
  log.assert(['UB1', 'UB2', 'UV1', 'UV2', 'B1', 'B2']);
});

schedulerTest('TaskSignal.any following a TaskController moves its tasks when the controller changes priority; a composite of a fixed-priority composite is fixed (WPT task-signal-any-post-task-run-order.tentative.any.js, dynamic and fixed-source cases)', function* (_loop, log) {
  const controller = new TaskController({ priority: 'user-blocking' });
  const dynamic = TaskSignal.any([], { priority: controller.signal });
  let tasks = [
    scheduler.postTask(() => log.push('B1'), { signal: dynamic }),
    scheduler.postTask(() => log.push('B2'), { signal: dynamic }),
    post(log, 'UV1', 'user-visible'),
    post(log, 'UB1', 'user-blocking'),
  ];
  controller.setPriority('background');
  assert.equal(dynamic.priority, 'background');
  yield* valueOf(Promise.all(tasks));
  log.assert(['UB1', 'UV1', 'B1', 'B2']);

  const fixedSource = TaskSignal.any([], { priority: 'background' });
  const fixed = TaskSignal.any([], { priority: fixedSource });
  tasks = [scheduler.postTask(() => log.push('B1'), { signal: fixed }), post(log, 'UV1', 'user-visible'), post(log, 'UB1', 'user-blocking')];
  yield* valueOf(Promise.all(tasks));
  log.assert(['UB1', 'UV1', 'B1']);
});

// -------------------------------------------------------------- abort

schedulerTest('TaskController.abort keeps a queued task from running and rejects its promise with an AbortError (WPT task-controller-abort1.any.js)', function* (_loop, log) {
  const controller = new TaskController();
  const task = scheduler.postTask(() => log.push('ran'), { signal: controller.signal });
  controller.abort();
  const error = yield* rejectionOf(task);
  assert.ok(isDomException(error, 'AbortError'));
  assert.equal(error, controller.signal.reason);
  log.assertEmpty();
});

schedulerTest('aborting one controller aborts only its own task: the rest resolve 0,1,3,4 (WPT task-controller-abort2.any.js)', function* (_loop, log) {
  const controllers: TaskController[] = [];
  const results: Promise<number>[] = [];
  for (let i = 0; i < 5; i++) {
    const controller = new TaskController();
    controllers.push(controller);
    results.push(scheduler.postTask(() => i, { signal: controller.signal }));
  }
  const aborted = outcomeOf(results.splice(2, 1)[0] as Promise<number>);
  (controllers[2] as TaskController).abort();
  assert.ok(isDomException(yield* rejectionOf(aborted), 'AbortError'));
  log.push(yield* valueOf(Promise.all(results)));
  log.assert([[0, 1, 3, 4]]);
});

schedulerTest('an already-aborted signal rejects with its reason at once, without running or queueing anything (WPT post-task-with-aborted-signal.any.js, post-task-abort-reason.any.js)', function* (_loop, log) {
  const taskController = new TaskController();
  taskController.abort();
  const plain = new AbortController();
  const reason = new Error('Custom Abort Error');
  plain.abort(reason);
  const custom = new TaskController();
  custom.abort(reason);
  const first = outcomeOf(scheduler.postTask(() => log.push('ran'), { signal: taskController.signal }));
  const second = outcomeOf(scheduler.postTask(() => log.push('ran'), { signal: plain.signal }));
  const third = outcomeOf(scheduler.postTask(() => log.push('ran'), { signal: custom.signal, delay: 10 }));
  assert.equal(scheduler.statistics().pendingHandles, 0);
  assert.equal(scheduler.statistics().delayed, 0);
  assert.ok(isDomException(yield* rejectionOf(first), 'AbortError'));
  assert.equal(yield* rejectionOf(second), reason);
  assert.equal(yield* rejectionOf(third), reason);
  log.assertEmpty();
});

schedulerTest('aborting after posting rejects with the abort reason, for a TaskSignal and for a plain AbortSignal (WPT post-task-abort-reason.any.js, post-task-with-abort-signal.any.js)', function* (_loop, log) {
  const reason = new Error('Custom Abort Error');
  const taskController = new TaskController();
  const plain = new AbortController();
  const defaulted = new AbortController();
  const viaTaskSignal = outcomeOf(scheduler.postTask(() => log.push('ran'), { signal: taskController.signal }));
  const viaAbortSignal = outcomeOf(scheduler.postTask(() => log.push('ran'), { signal: plain.signal }));
  const viaDefault = outcomeOf(scheduler.postTask(() => log.push('ran'), { signal: defaulted.signal }));
  const untouched = post(log, 'unaborted task');
  taskController.abort(reason);
  plain.abort(reason);
  defaulted.abort();
  assert.equal(yield* rejectionOf(viaTaskSignal), reason);
  assert.equal(yield* rejectionOf(viaAbortSignal), reason);
  assert.ok(isDomException(yield* rejectionOf(viaDefault), 'AbortError'));
  yield* valueOf(untouched);
  log.assert(['unaborted task']);
});

schedulerTest('aborting the signal while its synchronous callback runs rejects the promise with AbortError; aborting after an async callback started does not (WPT post-task-with-abort-signal-in-handler.any.js)', function* (_loop, log) {
  const syncController = new TaskController();
  const sync = scheduler.postTask(() => {
    syncController.abort();
    log.push('sync callback finished');
    return 'ignored';
  }, { signal: syncController.signal });
  assert.ok(isDomException(yield* rejectionOf(sync), 'AbortError'));

  const asyncController = new TaskController();
  const asyncTask = scheduler.postTask(async () => {
    await Promise.resolve();
    asyncController.abort();
    log.push('async callback finished');
    return 'kept';
  }, { signal: asyncController.signal });
  assert.equal(yield* valueOf(asyncTask), 'kept');
  log.assert(['sync callback finished', 'async callback finished']);
});

schedulerTest('aborting a delayed task rejects it at the moment of the abort, cancels its timer and never runs it (spec: abort steps; WPT post-task-delay.any.js)', function* (loop, log) {
  const start = loop.time();
  const controller = new TaskController();
  const delayed = scheduler.postTask(() => log.push('ran'), { delay: 50, signal: controller.signal });
  delayed.catch(() => log.push(`rejected@${loop.time() - start}`));
  loop.callLater(10, () => controller.abort());
  assert.equal(scheduler.statistics().delayed, 1);
  assert.ok(isDomException(yield* rejectionOf(delayed), 'AbortError'));
  assert.equal(scheduler.statistics().delayed, 0);
  assert.equal(loop.statistics().timers, 0, 'the delay timer was cancelled');
  log.assert(['rejected@10']);
});

// -------------------------------------------------------------- delay

schedulerTest('delay: a task runs after exactly its delay in virtual ms; earlier deadlines first, equal deadlines FIFO (WPT post-task-delay.any.js)', function* (loop, log) {
  const start = loop.time();
  const at = (id: string) => () => log.push(`${id}@${loop.time() - start}`);
  const tasks = [
    scheduler.postTask(at('A'), { delay: 20, priority: 'user-blocking' }),
    scheduler.postTask(at('B'), { delay: 10 }),
    scheduler.postTask(at('C'), { delay: 10 }),
    scheduler.postTask(at('D')),
    scheduler.postTask(at('E'), { delay: 0 }),
    scheduler.postTask(at('F'), { delay: 10.9 }),
  ];
  yield* valueOf(Promise.all(tasks));
  log.assert(['D@0', 'E@0', 'B@10', 'C@10', 'F@10', 'A@20']);
});

schedulerTest("a delayed task keeps its remaining delay across a priority change (WPT task-controller-setPriority-delayed-task.any.js)", function* (loop, log) {
  const start = loop.time();
  const controller = new TaskController({ priority: 'background' });
  const task1 = scheduler.postTask(() => {
    log.push(`task1@${loop.time() - start}`);
    controller.setPriority('user-blocking');
  }, { priority: 'user-blocking', delay: 10 });
  const task2 = scheduler.postTask(() => log.push(`task2@${loop.time() - start}`), { signal: controller.signal, delay: 20 });
  yield* valueOf(Promise.all([task1, task2]));
  log.assert(['task1@10', 'task2@20']);
});

schedulerTest('a delayed task is queued at the priority its signal has when the delay ends (spec: the enqueue steps select the queue after the timeout)', function* (loop, log) {
  const start = loop.time();
  const controller = new TaskController({ priority: 'background' });
  const tasks = [
    scheduler.postTask(() => log.push(`signal task@${loop.time() - start}`), { signal: controller.signal, delay: 10 }),
    scheduler.postTask(() => log.push(`uv task@${loop.time() - start}`), { delay: 10 }),
  ];
  loop.callLater(5, () => controller.setPriority('user-blocking'));
  yield* valueOf(Promise.all(tasks));
  log.assert(['signal task@10', 'uv task@10']);
});

// ------------------------------------------------------------- yield()

for (const [label, options, expected] of [
  ['no options', {}, 'ub1,ub2,y0,y1,y2,y3,uv1,uv2,bg1,bg2'],
  ["priority 'user-blocking'", { priority: 'user-blocking' }, 'y0,y1,y2,y3,ub1,ub2,uv1,uv2,bg1,bg2'],
  ["priority 'background'", { priority: 'background' }, 'ub1,ub2,uv1,uv2,y0,y1,y2,y3,bg1,bg2'],
  ["a 'user-blocking' TaskSignal", { signal: new TaskController({ priority: 'user-blocking' }).signal }, 'y0,y1,y2,y3,ub1,ub2,uv1,uv2,bg1,bg2'],
  ["a 'background' TaskSignal", { signal: new TaskController({ priority: 'background' }).signal }, 'ub1,ub2,uv1,uv2,y0,y1,y2,y3,bg1,bg2'],
] as const) {
  schedulerTest(`yield() continuations inherit the task's priority (${label}) and run ahead of queued tasks of that priority (WPT tentative/yield/yield-priority-posttask.any.js)`, function* (_loop, log) {
    const ids: string[] = [];
    const tasks = [
      scheduler.postTask(async () => {
        ids.push('y0');
        for (let i = 1; i < 4; i++) {
          await scheduler.yield();
          ids.push(`y${i}`);
        }
      }, options),
    ];
    for (const [id, priority] of [['ub1', 'user-blocking'], ['ub2', 'user-blocking'], ['uv1', 'user-visible'], ['uv2', 'user-visible'], ['bg1', 'background'], ['bg2', 'background']] as const) {
      tasks.push(scheduler.postTask(() => void ids.push(id), { priority }));
    }
    yield* valueOf(Promise.all(tasks));
    log.push(ids.join());
    log.assert([expected]);
  });
}

schedulerTest('yield() continuations of a TaskSignal task follow its priority changes (WPT tentative/yield/yield-priority-posttask.any.js, dynamic priority)', function* (_loop, log) {
  const controller = new TaskController();
  yield* valueOf(
    scheduler.postTask(async () => {
      log.push('y0');
      const subtasks = [post(log, 'uv1'), post(log, 'uv2')];
      await scheduler.yield();
      log.push('y1');
      await scheduler.yield();
      log.push('y2');
      controller.setPriority('background');
      await scheduler.yield();
      log.push('y3');
      await scheduler.yield();
      log.push('y4');
      await Promise.all(subtasks);
    }, { signal: controller.signal }),
  );
  log.assert(['y0', 'y1', 'y2', 'uv1', 'uv2', 'y3', 'y4']);
});

schedulerTest("yield() outside any postTask task is a 'user-visible' continuation: it runs ahead of queued user-visible tasks (WPT tentative/yield/yield-priority-timers.any.js)", function* (loop, log) {
  const done = loop.createFuture<void>();
  loop.callLater(0, async () => {
    log.push('t1');
    const tasks = [post(log, 'uv task')];
    for (let i = 1; i < 4; i++) {
      await scheduler.yield();
      log.push(`y${i}`);
    }
    await Promise.all(tasks);
    done.setResult();
  });
  loop.callLater(0, () => log.push('t2'));
  yield* done;
  log.assert(['t1', 't2', 'y1', 'y2', 'y3', 'uv task']);
});

schedulerTest('yield() does not leak a task\'s priority into later, unrelated callbacks (WPT tentative/yield/yield-scheduling-state-cleared.any.js)', function* (loop, log) {
  const done = loop.createFuture<void>();
  scheduler.postTask(async () => {
    loop.callLater(0, async () => {
      const task = post(log, 'task');
      await scheduler.yield();
      log.push('continuation');
      await task;
      done.setResult();
    });
  }, { priority: 'background' });
  yield* done;
  log.assert(['continuation', 'task']);
});

schedulerTest("awaiting a task's promise from outside resumes with no inherited state: yield() there is 'user-visible' (spec: the state belongs to the task, not to promises it settles)", function* (loop, log) {
  const done = loop.createFuture<void>();
  loop.callSoon(async () => {
    await scheduler.postTask(() => log.push('background task'), { priority: 'background' });
    const task = post(log, 'uv task');
    await scheduler.yield();
    log.push('continuation');
    await task;
    done.setResult();
  });
  yield* done;
  log.assert(['background task', 'continuation', 'uv task']);
});

/** Posts a 'user-visible' task, then yields; the continuation records itself and waits for the task. */
function raceContinuationAgainstTask(ids: string[]): Promise<unknown> {
  const task = scheduler.postTask(() => void ids.push('task'), { priority: 'user-visible' });
  return scheduler.yield().then(() => {
    ids.push('continuation');
    return task;
  });
}

const INHERITANCE_CASES: [string, (ids: string[]) => unknown][] = [
  ['with no intervening promise', (ids) => raceContinuationAgainstTask(ids)],
  [
    'across a pending promise',
    async (ids) => {
      await new Promise<void>((resolve) => queueMicrotask(resolve));
      await raceContinuationAgainstTask(ids);
    },
  ],
  [
    'across an await of a settled promise',
    async (ids) => {
      await Promise.resolve();
      await raceContinuationAgainstTask(ids);
    },
  ],
  [
    'across an await of a non-promise',
    async (ids) => {
      await null;
      await raceContinuationAgainstTask(ids);
    },
  ],
  ['in then() on a settled promise', (ids) => Promise.resolve().then(() => raceContinuationAgainstTask(ids))],
  ['in a chained then() on a settled promise', (ids) => Promise.resolve().then(() => {}).then(() => raceContinuationAgainstTask(ids))],
  [
    'across an await of a thenable',
    async (ids) => {
      await { then: (resolve: () => void) => resolve() };
      await raceContinuationAgainstTask(ids);
    },
  ],
  ['in a thenable then()', (ids) => new Promise((resolve) => resolve({ then: (res: (v: unknown) => void) => res(raceContinuationAgainstTask(ids)) }))],
  [
    'across a promise resolved with a thenable',
    async (ids) => {
      await new Promise<void>((resolve) => resolve({ then: (r: () => void) => r() } as unknown as void));
      await raceContinuationAgainstTask(ids);
    },
  ],
];

for (const [label, body] of INHERITANCE_CASES) {
  schedulerTest(`yield() inherits the background priority ${label} (WPT tentative/yield/yield-inherit-across-settled-promises.any.js)`, function* (_loop, log) {
    const ids: string[] = [];
    yield* valueOf(scheduler.postTask(() => body(ids), { priority: 'background' }));
    log.push(ids.join());
    log.assert(['task,continuation']);
  });
}

schedulerTest("a synchronous callback's microtasks inherit its state too: a yield() from a then() is a background continuation (spec: HostMakeJobCallback patch)", function* (_loop, log) {
  const ids: string[] = [];
  const inner: Promise<unknown>[] = [];
  yield* valueOf(
    scheduler.postTask(() => {
      void Promise.resolve().then(() => inner.push(raceContinuationAgainstTask(ids)));
      return 'sync';
    }, { priority: 'background' }),
  );
  yield* valueOf(Promise.all(inner));
  log.push(ids.join());
  log.assert(['task,continuation']);
});

schedulerTest('yield() inherits the abort signal: aborting it from a separate task rejects the pending continuation with AbortError (WPT tentative/yield/yield-abort.any.js, yield-inherit-abort-across-settled-promises.any.js)', function* (_loop, log) {
  const controller = new TaskController();
  const outcome = yield* valueOf(
    scheduler.postTask(async () => {
      scheduler.postTask(() => controller.abort(), { priority: 'user-blocking' });
      log.push(`aborted before yield: ${controller.signal.aborted}`);
      await Promise.resolve();
      try {
        await scheduler.yield();
        return 'continued';
      } catch (error) {
        return isDomException(error, 'AbortError') ? 'rejected with AbortError' : `rejected with ${String(error)}`;
      }
    }, { signal: controller.signal }),
  );
  assert.equal(outcome, 'rejected with AbortError');
  log.assert(['aborted before yield: false']);
});

schedulerTest('yield() from a task whose signal is already aborted rejects at once, and the task itself rejects (WPT tentative/yield/yield-abort.any.js, inherit signal)', function* (_loop, log) {
  const controller = new TaskController();
  let continuation: Future<Outcome<void>> | null = null;
  const task = outcomeOf(scheduler.postTask(() => {
    controller.abort();
    continuation = outcomeOf(scheduler.yield());
    log.push(`queued continuations: ${scheduler.statistics().queued['user-visible']}`);
  }, { signal: controller.signal }));
  assert.ok(isDomException(yield* rejectionOf(task), 'AbortError'));
  assert.ok(isDomException(yield* rejectionOf(continuation as unknown as Future<Outcome<unknown>>), 'AbortError'));
  log.assert(['queued continuations: 0']);
});

schedulerTest('in an eventide task, yield* until(scheduler.yield()) continues ahead of queued user-visible tasks, while yield* sleep(0) lets them run first (eventide: sleep(0) is the native yield)', function* (_loop, log) {
  let tasks = [post(log, 'queued before yield()')];
  yield* until(scheduler.yield());
  log.push('after scheduler.yield()');
  yield* valueOf(Promise.all(tasks));
  tasks = [post(log, 'queued before sleep(0)')];
  yield* sleep(0);
  log.push('after sleep(0)');
  yield* valueOf(Promise.all(tasks));
  log.assert(['after scheduler.yield()', 'queued before yield()', 'queued before sleep(0)', 'after sleep(0)']);
});

// ------------------------------------------------------- loops & errors

test('new Scheduler(loop) posts onto a loop before it runs, and shares its queues with `scheduler`: oldest first across both (spec: selecting from all schedulers of an event loop)', async () => {
  const loop = new EventLoop({ clock: 'virtual' });
  const bound = new Scheduler(loop);
  assert.equal(bound.loop, loop);
  assert.equal(scheduler.loop, null);
  const log = new Log();
  const early = bound.postTask(() => log.push('bound, posted before the loop ran'));
  await loop.runUntilComplete(function* () {
    const tasks = [scheduler.postTask(() => log.push('global, posted later')), bound.postTask(() => log.push('bound, posted last'))];
    yield* valueOf(Promise.all([early, ...tasks]));
    yield* drained();
  });
  log.assert(['bound, posted before the loop ran', 'global, posted later', 'bound, posted last']);
  assertLoopClean(loop);
});

test('with no running loop, scheduler.postTask and scheduler.yield reject with a RuntimeError saying so; a closed loop is refused too (eventide: running loop required)', async () => {
  await assert.rejects(scheduler.postTask(() => 1), (error: unknown) => error instanceof RuntimeError && /no eventide event loop is running/.test(error.message));
  await assert.rejects(scheduler.yield(), (error: unknown) => error instanceof RuntimeError && /scheduler\.yield: no eventide event loop is running/.test(error.message));
  assert.throws(() => scheduler.statistics(), RuntimeError);
  const loop = new EventLoop({ clock: 'virtual' });
  loop.close();
  await assert.rejects(new Scheduler(loop).postTask(() => 1), (error: unknown) => error instanceof RuntimeError && /the event loop is closed/.test(error.message));
  assert.throws(() => new Scheduler({} as EventLoop), /Scheduler: loop must be an eventide EventLoop/);
});

schedulerTest('bad arguments reject with a TypeError naming the argument, and queue nothing (spec: TaskPriority enum, [EnforceRange] delay, AbortSignal signal)', function* (_loop, log) {
  const cases: [Future<Outcome<unknown>>, RegExp][] = ([
    [scheduler.postTask(() => log.push('ran'), { priority: 'urgent' as TaskPriority }), /options\.priority must be one of 'user-blocking', 'user-visible', 'background', got "urgent"/],
    [scheduler.postTask(() => log.push('ran'), { priority: null as unknown as TaskPriority }), /options\.priority .* got null/],
    [scheduler.postTask(() => log.push('ran'), { delay: -1 }), /options\.delay must be a finite number of milliseconds >= 0, got -1/],
    [scheduler.postTask(() => log.push('ran'), { delay: Infinity }), /options\.delay .* got Infinity/],
    [scheduler.postTask(() => log.push('ran'), { delay: '10' as unknown as number }), /options\.delay .* got "10"/],
    [scheduler.postTask(() => log.push('ran'), { signal: {} as AbortSignal }), /options\.signal must be an AbortSignal or TaskSignal/],
    [scheduler.postTask('not a function' as unknown as () => void), /callback must be a function, got "not a function"/],
    [scheduler.postTask(() => log.push('ran'), 42 as unknown as object), /options must be an object, got 42/],
  ] as [Promise<unknown>, RegExp][]).map(([promise, message]) => [outcomeOf(promise), message]);
  assert.equal(scheduler.statistics().pendingHandles, 0);
  for (const [promise, message] of cases) {
    const error = yield* rejectionOf(promise);
    assert.ok(error instanceof TypeError, `expected a TypeError, got ${String(error)}`);
    assert.match((error as TypeError).message, message);
  }
  log.assertEmpty();
});

schedulerTest('statistics() counts queued tasks by priority, delayed tasks and pending handles, and reads all zero once drained (eventide: introspection)', function* (_loop, log) {
  const tasks = [post(log, 'bg', 'background'), post(log, 'ub', 'user-blocking'), scheduler.postTask(() => log.push('later'), { delay: 5 })];
  const stats = scheduler.statistics();
  assert.deepEqual({ ...stats.queued }, { 'user-blocking': 1, 'user-visible': 0, background: 1 });
  assert.equal(stats.delayed, 1);
  assert.equal(stats.pendingHandles, 2);
  assert.equal(stats.holdingForMicrotasks, false);
  assert.ok(Object.isFrozen(stats));
  yield* valueOf(Promise.all(tasks));
  yield* drained();
  const after = scheduler.statistics();
  assert.deepEqual({ ...after.queued }, { 'user-blocking': 0, 'user-visible': 0, background: 0 });
  assert.equal(after.delayed + after.pendingHandles, 0);
  log.assert(['ub', 'bg', 'later']);
});
