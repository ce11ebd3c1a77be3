/**
 * asyncio compatibility of Futures, Tasks and the combinators.
 *
 * Each test replays a scenario from CPython's asyncio (Lib/asyncio/
 * futures.py, tasks.py, timeouts.py, taskgroups.py and the matching
 * Lib/test/test_asyncio/ suites: test_futures, test_tasks, test_waitfor,
 * test_timeouts, test_taskgroups), written afresh in eventide's style, and
 * asserts the outcome asyncio gives: states, InvalidStateError cases,
 * done-callback order and removal counts, cancel counts and messages,
 * gather / wait / waitFor / timeout / shield / TaskGroup / asCompleted.
 *
 * Where eventide differs from asyncio on purpose, the test asserts
 * eventide's behaviour and a comment above it says what asyncio does and
 * why eventide does otherwise.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ALL_COMPLETED,
  asCompleted,
  CancelledError,
  currentTask,
  EventLoop,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  gather,
  InvalidStateError,
  RuntimeError,
  shield,
  sleep,
  TaskGroup,
  taskGroup,
  timeout,
  timeoutAt,
  TimeoutError,
  wait,
  waitFor,
} from '../../src/index.js';
import type { Coroutine, Future, Operation, Task, Timeout } from '../../src/index.js';
import { assertLoopClean, runInVirtualTime } from '../../src/testing.js';
import { Log } from '../log.js';

function newLoop(): EventLoop {
  return new EventLoop({ clock: 'virtual' });
}

/** Runs `op` and returns what it threw (fails if it did not throw). */
function* thrownBy(op: Operation<unknown> | Future<unknown>): Coroutine<unknown> {
  try {
    yield* op;
  } catch (error) {
    return error;
  }
  assert.fail('expected the operation to throw');
}

/** Lets `n` loop iterations pass. */
function* ticks(n: number): Coroutine<void> {
  for (let i = 0; i < n; i++) yield* sleep(0);
}

function syncThrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  assert.fail('expected a throw');
}

// ================================================================ Future

test('Future: a pending future has no result or exception: InvalidStateError (futures.py Future.result/exception)', () => {
  const loop = newLoop();
  const f = loop.createFuture<number>();
  assert.equal(f.done(), false);
  assert.equal(f.cancelled(), false);
  assert.ok(syncThrown(() => f.result()) instanceof InvalidStateError);
  assert.ok(syncThrown(() => f.exception()) instanceof InvalidStateError);
  assertLoopClean(loop);
});

test('Future: settling twice is InvalidStateError; cancel() of a done future is false and changes nothing (test_futures: test_result/test_exception)', () => {
  const loop = newLoop();
  const a = loop.createFuture<number>();
  a.setResult(1);
  assert.ok(syncThrown(() => a.setResult(2)) instanceof InvalidStateError);
  assert.ok(syncThrown(() => a.setException(new Error('x'))) instanceof InvalidStateError);
  assert.equal(a.cancel(), false);
  assert.equal(a.result(), 1);
  assert.equal(a.exception(), null);

  const b = loop.createFuture<number>();
  const boom = new RangeError('boom');
  b.setException(boom);
  assert.equal(b.exception(), boom);
  assert.equal(syncThrown(() => b.result()), boom);
  assert.equal(b.cancel(), false);
  assert.equal(b.cancelled(), false);

  const c = loop.createFuture<number>();
  assert.equal(c.cancel(), true);
  assert.equal(c.cancel(), false);
  assert.ok(syncThrown(() => c.setResult(1)) instanceof InvalidStateError);
  assert.ok(syncThrown(() => c.setException(new Error())) instanceof InvalidStateError);
  assertLoopClean(loop);
});

test('Future: cancel(msg) reaches the CancelledError of result() and exception() (futures.py _make_cancelled_error)', () => {
  const loop = newLoop();
  const f = loop.createFuture<number>();
  assert.equal(f.cancel('my message'), true);
  assert.equal(f.done(), true);
  assert.equal(f.cancelled(), true);
  const r = syncThrown(() => f.result());
  const e = syncThrown(() => f.exception());
  assert.ok(r instanceof CancelledError);
  assert.ok(e instanceof CancelledError);
  assert.equal(r.message, 'my message');
  assert.equal(e.message, 'my message');
  assertLoopClean(loop);
});

test('Future: done-callbacks run later, in the order added, one per registration; one added after done is scheduled at once (test_futures: test_callbacks_invoked_on_set_result)', () => {
  const loop = newLoop();
  const log = new Log();
  const f = loop.createFuture<number>();
  const cb = (name: string) => (fut: Future<number>) => log.push([name, fut.result()]);
  const a = cb('a');
  f.addDoneCallback(a);
  f.addDoneCallback(cb('b'));
  f.addDoneCallback(a);
  f.setResult(7);
  log.assert([]); // never inside setResult
  f.addDoneCallback(cb('late'));
  loop.runOnce(0);
  log.assert([['a', 7], ['b', 7], ['a', 7], ['late', 7]]);
  assertLoopClean(loop);
});

test('Future: removeDoneCallback removes every registration and returns the count; 0 once the future is done, and the scheduled callbacks still run (test_futures: test_remove_done_callback, futures.py __schedule_callbacks)', () => {
  const loop = newLoop();
  const log = new Log();
  const f = loop.createFuture<number>();
  const a = () => log.push('a');
  const b = () => log.push('b');
  f.addDoneCallback(a);
  f.addDoneCallback(b);
  f.addDoneCallback(a);
  f.addDoneCallback(a);
  assert.equal(f.removeDoneCallback(a), 3);
  assert.equal(f.removeDoneCallback(a), 0);
  f.addDoneCallback(a);
  f.setResult(1);
  assert.equal(f.removeDoneCallback(a), 0); // the list was cleared when the callbacks were scheduled
  assert.equal(f.removeDoneCallback(b), 0);
  loop.runOnce(0);
  log.assert(['b', 'a']);
  assertLoopClean(loop);
});

test('Future: cancel() schedules the done-callbacks too; a cancelled future passes them itself (test_futures: test_cancel)', () => {
  const loop = newLoop();
  const log = new Log();
  const f = loop.createFuture<number>();
  f.addDoneCallback((fut) => log.push(['cb', fut === f, fut.cancelled()]));
  f.cancel();
  log.assert([]);
  loop.runOnce(0);
  log.assert([['cb', true, true]]);
  assertLoopClean(loop);
});

// Differs on purpose: asyncio's CancelledError() has no text; eventide's
// errors always say what they are (src/core/errors.ts), so a message-less
// cancel reads 'cancelled'. The future itself keeps no message, as asyncio.
test('Future: cancel() without a message leaves no message; the error says "cancelled" (asyncio: _cancel_message None, CancelledError() empty)', () => {
  const loop = newLoop();
  const f = loop.createFuture<number>();
  f.cancel();
  assert.equal(f.cancelMessage, undefined);
  const r = syncThrown(() => f.result()) as CancelledError;
  assert.ok(r instanceof CancelledError);
  assert.equal(r.message, 'cancelled');
  loop.close();
});

// ================================================================ Task

test('Task: cancelled before its first step, the body never runs; cancelling() is 1 (tasks.py __step with _must_cancel, test_tasks: test_cancel_task_before_start)', async () => {
  const loop = newLoop();
  const log = new Log();
  const t = loop.createTask(function* () {
    log.push('body ran');
    return 1;
  });
  assert.equal(t.cancel('early'), true);
  assert.equal(t.cancelling(), 1);
  await assert.rejects(loop.runUntilComplete(t), (e) => e instanceof CancelledError && e.message === 'early');
  assert.equal(t.cancelled(), true);
  assert.equal(t.cancelMessage, 'early');
  log.assert([]);
  assert.equal(t.cancel(), false); // done: false, count unchanged
  assert.equal(t.cancelling(), 1);
  assertLoopClean(loop);
});

test('Task: catching CancelledError and re-raising it leaves the task cancelled, with the message (test_tasks: test_cancel_with_message_then_future_result)', async () => {
  const loop = newLoop();
  const log = new Log();
  const t = loop.createTask(function* () {
    try {
      yield* sleep(100);
    } catch (e) {
      log.push(['caught', (e as Error).name, (e as Error).message, loop.time()]);
      throw e;
    }
  });
  loop.callLater(10, () => t.cancel('stop now'));
  await assert.rejects(loop.runUntilComplete(t), (e) => e instanceof CancelledError && e.message === 'stop now');
  log.assert([['caught', 'CancelledError', 'stop now', 10]]);
  assert.equal(t.cancelled(), true);
  const r = syncThrown(() => t.result()) as CancelledError;
  assert.equal(r.message, 'stop now');
  assertLoopClean(loop);
});

test('Task: catching CancelledError and returning gives a result, not a cancellation; cancelling() stays 1 (test_tasks: test_cancel_yield / uncancel docs)', async () => {
  const loop = newLoop();
  const t = loop.createTask(function* () {
    try {
      yield* sleep(100);
    } catch {
      return 'swallowed';
    }
    return 'slept';
  });
  loop.callLater(5, () => t.cancel());
  assert.equal(await loop.runUntilComplete(t), 'swallowed');
  assert.equal(t.cancelled(), false);
  assert.equal(t.cancelling(), 1);
  assertLoopClean(loop);
});

test('Task: cancel() twice counts twice, and only one CancelledError is thrown in (test_tasks: test_cancelling)', async () => {
  const loop = newLoop();
  const log = new Log();
  const f = loop.createFuture<number>();
  const t: Task<number> = loop.createTask(function* (): Coroutine<number> {
    try {
      yield* f;
    } catch (e) {
      log.push(['caught', (e as Error).name]);
    }
    yield* sleep(10);
    log.push('slept on');
    return t.cancelling();
  });
  loop.runOnce(0);
  assert.equal(t.cancel(), true);
  assert.equal(t.cancel(), true);
  assert.equal(t.cancelling(), 2);
  assert.equal(await loop.runUntilComplete(t), 2);
  log.assert([['caught', 'CancelledError'], 'slept on']);
  assert.equal(f.cancelled(), true);
  assertLoopClean(loop);
});

test('Task: cancel(m1) then cancel(m2) while waiting on a future: the error thrown in carries m1, the waiter\'s (tasks.py __step keeps a CancelledError exc when _must_cancel)', async () => {
  const loop = newLoop();
  const f = loop.createFuture<number>();
  const t = loop.createTask(function* () {
    try {
      yield* f;
    } catch (e) {
      return (e as Error).message;
    }
    return 'not cancelled';
  });
  loop.runOnce(0);
  t.cancel('first');
  t.cancel('second');
  assert.equal(await loop.runUntilComplete(t), 'first');
  assertLoopClean(loop);
});

test('Task: cancel(m1) then cancel(m2) during a sleep: the error thrown in carries m1 (asyncio\'s sleep is a future, as above)', async () => {
  const loop = newLoop();
  const t = loop.createTask(function* () {
    try {
      yield* sleep(1000);
    } catch (e) {
      return [(e as Error).message, currentTask()!.cancelling()];
    }
    return 'not cancelled';
  });
  loop.runOnce(0);
  t.cancel('first');
  t.cancel('second');
  assert.deepEqual(await loop.runUntilComplete(t), ['first', 2]);
  assertLoopClean(loop);
});

test('Task: cancelled while running its own step, then returns: the task ends cancelled with the message (tasks.py __step: StopIteration with _must_cancel)', async () => {
  const loop = newLoop();
  const log = new Log();
  const t = loop.createTask(function* () {
    const self = currentTask()!;
    log.push(['cancel returns', self.cancel('self')]);
    log.push(['cancelling', self.cancelling()]);
    return 'value';
  });
  await assert.rejects(loop.runUntilComplete(t), (e) => e instanceof CancelledError && e.message === 'self');
  log.assert([['cancel returns', true], ['cancelling', 1]]);
  assert.equal(t.cancelled(), true);
  assertLoopClean(loop);
});

test('Task: cancelled while running its own step, then waits on a future: that future is cancelled at once, with the message (tasks.py __step: _fut_waiter.cancel(msg=_cancel_message))', async () => {
  const loop = newLoop();
  const log = new Log();
  const f = loop.createFuture<number>();
  const t = loop.createTask(function* () {
    currentTask()!.cancel('me');
    try {
      yield* f;
    } catch (e) {
      log.push(['caught', (e as Error).message, f.cancelled(), f.cancelMessage]);
      throw e;
    }
  });
  await assert.rejects(loop.runUntilComplete(t), CancelledError);
  log.assert([['caught', 'me', true, 'me']]);
  assertLoopClean(loop);
});

test('Task: cancelled in its own step, waiting on an already-done future does not suspend; the cancel lands at the next real wait (asyncio: await on a done future does not yield)', async () => {
  const loop = newLoop();
  const log = new Log();
  const done = loop.createFuture<number>();
  done.setResult(5);
  const t = loop.createTask(function* () {
    currentTask()!.cancel();
    const v = yield* done;
    log.push(['got', v]);
    try {
      yield* sleep(10);
    } catch (e) {
      log.push(['caught at', loop.time(), (e as Error).name]);
      throw e;
    }
  });
  await assert.rejects(loop.runUntilComplete(t), CancelledError);
  log.assert([['got', 5], ['caught at', 0, 'CancelledError']]);
  assertLoopClean(loop);
});

test('Task: uncancel() down to 0 before the next step withdraws a cancel that had not reached a waiter (asyncio 3.13 Task.uncancel clears _must_cancel)', async () => {
  const loop = newLoop();
  const t = loop.createTask(function* () {
    const self = currentTask()!;
    self.cancel();
    assert.equal(self.uncancel(), 0);
    yield* sleep(10);
    return 'finished normally';
  });
  assert.equal(await loop.runUntilComplete(t), 'finished normally');
  assert.equal(t.cancelling(), 0);
  assertLoopClean(loop);
});

test('Task: uncancel() after the cancel reached the waiter does not un-cancel the waiter (asyncio: the cancelled future still wakes the task with CancelledError)', async () => {
  const loop = newLoop();
  const f = loop.createFuture<number>();
  const t = loop.createTask(function* () {
    return yield* thrownBy(f);
  });
  loop.runOnce(0);
  t.cancel();
  assert.equal(t.uncancel(), 0);
  const e = await loop.runUntilComplete(t);
  assert.ok(e instanceof CancelledError);
  assert.equal(f.cancelled(), true);
  assertLoopClean(loop);
});

test('Task: uncancel() never goes below 0 (tasks.py Task.uncancel)', () => {
  const loop = newLoop();
  const t = loop.createTask(function* () {});
  assert.equal(t.uncancel(), 0);
  assert.equal(t.cancelling(), 0);
  t.cancel();
  t.cancel();
  assert.equal(t.uncancel(), 1);
  assert.equal(t.uncancel(), 0);
  assert.equal(t.uncancel(), 0);
  t.cancel();
  return assert.rejects(loop.runUntilComplete(t), CancelledError).then(() => assertLoopClean(loop));
});

test('Task: a task awaiting itself gets RuntimeError thrown in, and can go on (tasks.py __step: "Task cannot await on itself")', async () => {
  const loop = newLoop();
  // eslint-disable-next-line prefer-const
  let t: Task<string>;
  t = loop.createTask(function* (): Coroutine<string> {
    const e: unknown = yield* thrownBy(t);
    assert.ok(e instanceof RuntimeError);
    assert.equal(t.done(), false);
    yield* sleep(1);
    return 'went on';
  });
  assert.equal(await loop.runUntilComplete(t), 'went on');
  assertLoopClean(loop);
});

test('Task: the awaited task catches the cancel and returns: the awaiting task resumes with its result, not cancelled (tasks.py Task.cancel leaves _fut_waiter; test_tasks: test_cancel_inner_future)', async () => {
  await runInVirtualTime(function* (loop) {
    const inner = loop.createTask(function* () {
      try {
        yield* sleep(100);
      } catch {
        return 'inner swallowed';
      }
      return 'inner slept';
    });
    const outer = loop.createTask(function* () {
      const v = yield* inner;
      yield* sleep(1);
      return ['outer got', v];
    });
    yield* sleep(5);
    assert.equal(outer.cancel(), true);
    assert.deepEqual(yield* outer, ['outer got', 'inner swallowed']);
    assert.equal(outer.cancelled(), false);
    assert.equal(outer.cancelling(), 1);
    assert.equal(inner.cancelling(), 1);
  });
});

test('Task: cancelled after its future succeeded but before it ran, it gets CancelledError, not the result (tasks.py Task.cancel: waiter done → _must_cancel)', async () => {
  const loop = newLoop();
  const f = loop.createFuture<number>();
  const t = loop.createTask(function* () {
    return yield* f;
  });
  loop.runOnce(0);
  f.setResult(1);
  assert.equal(t.cancel('late'), true);
  await assert.rejects(loop.runUntilComplete(t), (e) => e instanceof CancelledError && e.message === 'late');
  assertLoopClean(loop);
});

test('Task: the CancelledError of an awaited task that was cancelled carries its message to the awaiting task (test_tasks: test_cancel_with_message_before_starting_task)', async () => {
  await runInVirtualTime(function* (loop) {
    const inner = loop.createTask(function* () {
      yield* sleep(100);
    });
    loop.callLater(10, () => inner.cancel('inner msg'));
    const e = yield* thrownBy(inner);
    assert.ok(e instanceof CancelledError);
    assert.equal(e.message, 'inner msg');
    assert.equal(currentTask()!.cancelling(), 0); // the awaiting task itself was not cancelled
  });
});

test('Task: a task that ends by raising a CancelledError of its own is cancelled; result() raises that message (tasks.py __step: except CancelledError → super().cancel())', async () => {
  const loop = newLoop();
  const t = loop.createTask(function* () {
    yield* sleep(1);
    throw new CancelledError('own');
  });
  await assert.rejects(loop.runUntilComplete(t), (e) => e instanceof CancelledError && e.message === 'own');
  assert.equal(t.cancelled(), true);
  assert.equal(t.cancelling(), 0);
  assertLoopClean(loop);
});

// Differs on purpose: asyncio raises RuntimeError ("Task does not support
// set_result"); eventide says InvalidStateError, the error every other
// wrong-state settle of a future gives, with the reason in its message.
test('Task: setResult / setException on a Task are refused with InvalidStateError (asyncio: RuntimeError)', () => {
  const loop = newLoop();
  const t = loop.createTask(function* () {});
  const r = syncThrown(() => t.setResult(undefined));
  assert.ok(r instanceof InvalidStateError);
  assert.match((r as Error).message, /is a Task; its result comes from its generator/);
  const e = syncThrown(() => t.setException(new Error()));
  assert.ok(e instanceof InvalidStateError);
  assert.match((e as Error).message, /is a Task; its exception comes from its generator/);
  t.cancel();
  return loop.runUntilComplete(t).catch(() => assertLoopClean(loop));
});

// ================================================================ gather

test('gather: an empty gather is a done future with [] (tasks.py gather: not coros_or_futures)', async () => {
  await runInVirtualTime(function* () {
    const g = gather();
    assert.equal(g.done(), true);
    assert.deepEqual(g.result(), []);
    assert.deepEqual(yield* g, []);
  });
});

test('gather: duplicates of one future or coroutine are waited for once and fill every slot (test_tasks: test_duplicate_coroutines)', async () => {
  await runInVirtualTime(function* (loop) {
    const log = new Log();
    const f = loop.createFuture<number>();
    function* work() {
      log.push('work ran');
      yield* sleep(1);
      return 'w';
    }
    const coro = work();
    loop.callLater(2, () => f.setResult(9));
    const results = yield* gather([f, coro, f, coro]);
    assert.deepEqual(results, [9, 'w', 9, 'w']);
    log.assert(['work ran']);
  });
});

test('gather: a child cancelled on its own fails the gather with CancelledError (exception state, not cancelled); the others go on (test_tasks: test_one_cancellation)', async () => {
  await runInVirtualTime(function* (loop) {
    const log = new Log();
    const a = loop.createTask(function* () {
      yield* sleep(100);
    });
    const b = loop.createTask(function* () {
      yield* sleep(20);
      log.push('b done');
      return 'b';
    });
    const g = gather(a, b);
    loop.callLater(10, () => a.cancel('a off'));
    const e = yield* thrownBy(g);
    assert.ok(e instanceof CancelledError);
    assert.equal(e.message, 'a off');
    assert.equal(g.cancelled(), false);
    assert.ok(g.exception() instanceof CancelledError);
    assert.equal(b.done(), false);
    yield* b;
    log.assert(['b done']);
  });
});

test('gather: returnExceptions puts each failure in its slot; a cancelled child gives a CancelledError with its message (tasks.py _done_callback)', async () => {
  await runInVirtualTime(function* (loop) {
    const boom = new TypeError('boom');
    const ok = loop.createFuture<number>();
    const bad = loop.createFuture<number>();
    const off = loop.createFuture<number>();
    loop.callLater(1, () => ok.setResult(1));
    loop.callLater(2, () => bad.setException(boom));
    loop.callLater(3, () => off.cancel('off'));
    const results = yield* gather([ok, bad, off], { returnExceptions: true });
    assert.equal(results[0], 1);
    assert.equal(results[1], boom);
    assert.ok(results[2] instanceof CancelledError);
    assert.equal((results[2] as Error).message, 'off');
  });
});

test('gather: cancelling the gather cancels the pending children and ends it with CancelledError, also with returnExceptions (bpo-32684, test_tasks: test_cancel_gather_2)', async () => {
  for (const returnExceptions of [false, true]) {
    await runInVirtualTime(function* (loop) {
      const done = loop.createFuture<number>();
      done.setResult(1);
      const a = loop.createTask(function* () {
        yield* sleep(100);
      });
      const g = gather([done, a], { returnExceptions });
      yield* ticks(1);
      assert.equal(g.cancel('gone'), true);
      assert.equal(g.done(), false); // settles when the children have finished
      const e = yield* thrownBy(g);
      assert.ok(e instanceof CancelledError, `returnExceptions ${returnExceptions}`);
      assert.equal(e.message, 'gone');
      assert.equal(a.cancelled(), true);
      assert.equal(g.cancelled(), false);
    });
  }
});

test('gather: cancel() when every child is already done returns false and the results stand (tasks.py _GatheringFuture.cancel)', async () => {
  await runInVirtualTime(function* (loop) {
    const a = loop.createFuture<number>();
    const b = loop.createFuture<number>();
    const g = gather(a, b);
    a.setResult(1);
    b.setResult(2);
    assert.equal(g.cancel(), false);
    assert.deepEqual(yield* g, [1, 2]);
  });
});

test('gather: cancelling the task that awaits a gather cancels every child; the task ends cancelled (test_tasks: test_cancel_gather_1)', async () => {
  const loop = newLoop();
  const children: Task<void>[] = [];
  const parent = loop.createTask(function* () {
    children.push(loop.createTask(function* () { yield* sleep(100); }));
    children.push(loop.createTask(function* () { yield* sleep(200); }));
    yield* gather(...children);
  });
  loop.callLater(10, () => parent.cancel('parent off'));
  await assert.rejects(loop.runUntilComplete(parent), (e) => e instanceof CancelledError && e.message === 'parent off');
  assert.deepEqual(children.map((c) => c.cancelled()), [true, true]);
  assert.equal(parent.cancelled(), true);
  assertLoopClean(loop);
});

test('gather: after a fast failure, cancelling the gather cancels nothing (tasks.py gather docstring)', async () => {
  await runInVirtualTime(function* (loop) {
    const slow = loop.createTask(function* () {
      yield* sleep(50);
      return 'slow';
    });
    const failing = loop.createTask(function* () {
      yield* sleep(1);
      throw new Error('fail');
    });
    const g = gather(slow, failing);
    const e = yield* thrownBy(g);
    assert.equal((e as Error).message, 'fail');
    assert.equal(g.cancel(), false);
    assert.equal(yield* slow, 'slow');
  });
});

// ================================================================ wait

test('wait: FIRST_COMPLETED returns the first done and leaves the rest pending, uncancelled (test_tasks: test_wait_first_completed)', async () => {
  await runInVirtualTime(function* (loop) {
    const a = loop.createTask(function* () { yield* sleep(10); return 'a'; });
    const b = loop.createTask(function* () { yield* sleep(20); return 'b'; });
    const [done, pending] = yield* wait([a, b], { returnWhen: FIRST_COMPLETED });
    assert.deepEqual([...done], [a]);
    assert.deepEqual([...pending], [b]);
    assert.equal(loop.time(), 10);
    assert.equal(b.cancelled(), false);
    yield* b;
  });
});

test('wait: FIRST_EXCEPTION ignores a cancelled future and returns at the first exception (tasks.py _wait _on_completion)', async () => {
  await runInVirtualTime(function* (loop) {
    const off = loop.createFuture<number>();
    const bad = loop.createFuture<number>();
    const slow = loop.createFuture<number>();
    loop.callLater(5, () => off.cancel());
    loop.callLater(10, () => bad.setException(new Error('bad')));
    loop.callLater(20, () => slow.setResult(1));
    const [done, pending] = yield* wait([off, bad, slow], { returnWhen: FIRST_EXCEPTION });
    assert.equal(loop.time(), 10);
    assert.deepEqual(new Set(done), new Set([off, bad]));
    assert.deepEqual([...pending], [slow]);
    bad.exception();
    yield* slow;
  });
});

test('wait: FIRST_EXCEPTION with no exception waits for all (test_tasks: test_wait_first_exception_in_wait... all succeed)', async () => {
  await runInVirtualTime(function* (loop) {
    const a = loop.createTask(function* () { yield* sleep(10); });
    const b = loop.createTask(function* () { yield* sleep(20); });
    const [done, pending] = yield* wait([a, b], { returnWhen: FIRST_EXCEPTION });
    assert.equal(loop.time(), 20);
    assert.equal(done.size, 2);
    assert.equal(pending.size, 0);
  });
});

test('wait: ALL_COMPLETED with a timeout returns [done, pending] at the deadline and cancels nothing (test_tasks: test_wait_with_timeout)', async () => {
  await runInVirtualTime(function* (loop) {
    const a = loop.createTask(function* () { yield* sleep(10); });
    const b = loop.createTask(function* () { yield* sleep(100); });
    const [done, pending] = yield* wait([a, b, a], { returnWhen: ALL_COMPLETED, timeoutMs: 50 });
    assert.equal(loop.time(), 50);
    assert.deepEqual([...done], [a]);
    assert.deepEqual([...pending], [b]);
    assert.equal(b.done(), false);
    yield* b;
  });
});

test('wait: already-done futures still return on the next turn; timeout 0 returns at once with what is done (test_tasks: test_wait_really_done)', async () => {
  await runInVirtualTime(function* (loop) {
    const a = loop.createFuture<number>();
    a.setResult(1);
    const b = loop.createFuture<number>();
    const [done, pending] = yield* wait([a, b], { timeoutMs: 0 });
    assert.deepEqual([...done], [a]);
    assert.deepEqual([...pending], [b]);
    assert.equal(loop.time(), 0);
    b.cancel();
  });
});

// Differs on purpose: asyncio's wait is a coroutine, so its ValueError
// comes when it is awaited; eventide's wait checks its arguments at the
// call (wait.ts), where the mistake is.
test('wait: an empty collection is a RangeError at the call (asyncio: ValueError when awaited)', () => {
  const e = syncThrown(() => wait([]));
  assert.ok(e instanceof RangeError);
});

test('wait: an empty collection or a bad returnWhen is refused (tasks.py wait: ValueError)', () => {
  assert.ok(syncThrown(() => wait([])) instanceof RangeError);
  const loop = newLoop();
  const f = loop.createFuture<number>();
  assert.ok(syncThrown(() => wait([f], { returnWhen: 'SOMETIMES' as never })) instanceof Error);
  assert.ok(syncThrown(() => wait(f as never)) instanceof TypeError);
  f.cancel();
  loop.runOnce(0);
  assertLoopClean(loop);
});

// ================================================================ waitFor

test('waitFor: at the deadline the inner task is cancelled and awaited, then TimeoutError whose cause is the CancelledError (test_waitfor: test_wait_for_waits_for_task_cancellation)', async () => {
  await runInVirtualTime(function* (loop) {
    const log = new Log();
    const inner = loop.createTask(function* () {
      try {
        yield* sleep(1000);
      } catch (e) {
        log.push(['inner caught at', loop.time()]);
        yield* sleep(5);
        log.push(['inner cleaned up at', loop.time()]);
        throw e;
      }
    });
    const e = yield* thrownBy(waitFor(inner, 10));
    assert.ok(e instanceof TimeoutError);
    assert.ok((e as Error).cause instanceof CancelledError);
    assert.equal(loop.time(), 15);
    assert.equal(inner.cancelled(), true);
    log.assert([['inner caught at', 10], ['inner cleaned up at', 15]]);
    assert.equal(currentTask()!.cancelling(), 0);
  });
});

test('waitFor: the inner finishing in the same tick as the deadline, before the timeout callback: TimeoutError, the result is lost (asyncio 3.12+ wait_for = timeouts.timeout)', async () => {
  await runInVirtualTime(function* (loop) {
    const f = loop.createFuture<string>();
    loop.callLater(10, () => f.setResult('ok')); // scheduled before waitFor's timer, same deadline
    const e = yield* thrownBy(waitFor(f, 10));
    assert.ok(e instanceof TimeoutError);
    assert.equal(f.result(), 'ok');
  });
});

test('waitFor: the result set before the deadline is returned (test_waitfor: test_wait_for_race_condition)', async () => {
  await runInVirtualTime(function* (loop) {
    const f = loop.createFuture<string>();
    loop.callLater(10, () => f.setResult('ok'));
    assert.equal(yield* waitFor(f, 20), 'ok');
    assert.equal(loop.time(), 10);
  });
});

test('waitFor with ms <= 0: a done future gives its result; a coroutine never starts; a running task is cancelled and awaited (test_waitfor: test_wait_for_timeout_less_then_0_or_0*)', async () => {
  await runInVirtualTime(function* (loop) {
    const log = new Log();
    const done = loop.createFuture<string>();
    done.setResult('done');
    assert.equal(yield* waitFor(done, 0), 'done');

    function* foo() {
      log.push('foo started');
      return 1;
    }
    for (const ms of [0, -1]) {
      const e = yield* thrownBy(waitFor(foo(), ms));
      assert.ok(e instanceof TimeoutError);
      assert.ok((e as Error).cause instanceof CancelledError);
    }
    log.assert([]);

    const running = loop.createTask(function* () {
      try {
        yield* sleep(100);
      } finally {
        log.push(['running stopped at', loop.time()]);
      }
    });
    yield* ticks(1);
    const e = yield* thrownBy(waitFor(running, 0));
    assert.ok(e instanceof TimeoutError);
    assert.equal(running.cancelled(), true);
    log.assert([['running stopped at', 0]]);
    assert.equal(loop.time(), 0);
  });
});

test('waitFor with null: no deadline (test_waitfor: test_wait_for_blocking)', async () => {
  await runInVirtualTime(function* (loop) {
    const r = yield* waitFor(function* () {
      yield* sleep(1_000_000);
      return 'done';
    }, null);
    assert.equal(r, 'done');
    assert.equal(loop.time(), 1_000_000);
  });
});

test('waitFor: an inner that swallows the cancel and returns gives that value (test_waitfor: test_wait_for_cancel_suppressed / cancellation_race_condition)', async () => {
  await runInVirtualTime(function* (loop) {
    const r = yield* waitFor(function* () {
      try {
        yield* sleep(100);
      } catch (e) {
        assert.ok(e instanceof CancelledError);
        return 42;
      }
      return 0;
    }, 10);
    assert.equal(r, 42);
    assert.equal(loop.time(), 10);
    assert.equal(currentTask()!.cancelling(), 0);
  });
});

test('waitFor: an error raised while the inner cancels wins over TimeoutError (test_waitfor: test_wait_for_reraises_exception_during_cancellation)', async () => {
  await runInVirtualTime(function* (loop) {
    class FooError extends Error {}
    const inner = loop.createTask(function* () {
      try {
        yield* sleep(200);
      } finally {
        // eslint-disable-next-line no-unsafe-finally
        throw new FooError('foo');
      }
    });
    const e = yield* thrownBy(waitFor(inner, 1));
    assert.ok(e instanceof FooError);
  });
});

test('waitFor: cancelling the waiting task cancels the inner task too (test_waitfor: test_cancel_wait_for, bpo-23219)', async () => {
  for (const ms of [null, 60_000]) {
    const loop = newLoop();
    const blocked = loop.createFuture<void>();
    const inner = loop.createTask(function* () {
      yield* blocked;
    });
    const waiting = loop.createTask(function* () {
      return yield* waitFor(inner, ms);
    });
    loop.callSoon(() => waiting.cancel());
    await assert.rejects(loop.runUntilComplete(waiting), CancelledError);
    assert.equal(inner.cancelled(), true, `ms ${ms}`);
    assertLoopClean(loop);
  }
});

test('waitFor: a task cancelled before it starts waiting never touches the inner (test_waitfor: test_wait_for_self_cancellation)', async () => {
  await runInVirtualTime(function* (loop) {
    const inner = loop.createTask(function* () {
      yield* sleep(30);
      return 42;
    });
    const waiting = loop.createTask(function* () {
      return yield* waitFor(inner, 10);
    });
    waiting.cancel();
    const e = yield* thrownBy(waiting);
    assert.ok(e instanceof CancelledError);
    assert.equal(yield* inner, 42);
    assert.equal(inner.cancelling(), 0);
  });
});

test('waitFor: a cancel arriving right after waitFor finished is not lost (test_waitfor: test_wait_for_issue86296)', async () => {
  const loop = newLoop();
  const log = new Log();
  const t = loop.createTask(function* () {
    yield* waitFor(function* () { return 1; }, 100_000);
    yield* sleep(1000);
    log.push('reached end');
  });
  loop.runOnce(0);
  assert.equal(t.done(), false);
  t.cancel();
  await assert.rejects(loop.runUntilComplete(t), CancelledError);
  log.assert([]);
  assertLoopClean(loop);
});

// ================================================================ timeout

test('timeout: expires, TimeoutError with the CancelledError as cause; expired() and when() (test_timeouts: test_timeout_basic / test_timeout_exception_cause)', async () => {
  await runInVirtualTime(function* (loop) {
    let scope: Timeout | null = null;
    const e = yield* thrownBy(timeout(10, function* (s: Timeout) {
      scope = s;
      yield* sleep(1000);
    }));
    assert.ok(e instanceof TimeoutError);
    assert.ok((e as Error).cause instanceof CancelledError);
    assert.equal(scope!.expired(), true);
    assert.equal(scope!.when(), 10);
    assert.equal(String(scope), '<Timeout [expired]>');
    assert.equal(currentTask()!.cancelling(), 0);
  });
});

test('timeout: nested with the same deadline, the inner sees CancelledError and only the outer raises TimeoutError; both expired (test_timeouts: test_nested_timeouts)', async () => {
  await runInVirtualTime(function* (loop) {
    const log = new Log();
    const deadline = loop.time() + 10;
    let inner: Timeout | null = null;
    let outer: Timeout | null = null;
    const e = yield* thrownBy(timeoutAt(deadline, function* (o: Timeout) {
      outer = o;
      try {
        yield* timeoutAt(deadline, function* (i: Timeout) {
          inner = i;
          yield* sleep(1000);
        });
      } catch (err) {
        log.push(['inner scope threw', (err as Error).name]);
        throw err;
      }
    }));
    assert.ok(e instanceof TimeoutError);
    log.assert([['inner scope threw', 'CancelledError']]);
    assert.equal(outer!.expired(), true);
    assert.equal(inner!.expired(), true);
    assert.equal(currentTask()!.cancelling(), 0);
  });
});

test('timeout: a foreign cancel passes through unchanged and the scope is not expired (test_timeouts: test_foreign_cancel_doesnt_timeout_if_not_expired)', async () => {
  await runInVirtualTime(function* () {
    let scope: Timeout | null = null;
    const e = yield* thrownBy(timeout(10_000, function* (s: Timeout) {
      scope = s;
      currentTask()!.cancel();
      yield* sleep(10_000);
    }));
    assert.ok(e instanceof CancelledError);
    assert.equal(scope!.expired(), false);
    assert.equal(currentTask()!.uncancel(), 0);
  });
});

test('timeout: reschedule moves the deadline and null disables it; a cancel then is a plain CancelledError (test_timeouts: test_reschedule)', async () => {
  await runInVirtualTime(function* (loop) {
    const got = loop.createFuture<Timeout>();
    const t = loop.createTask(function* () {
      yield* timeoutAt(10, function* (scope: Timeout) {
        got.setResult(scope);
        yield* sleep(50);
      });
    });
    const scope = yield* got;
    assert.equal(scope.when(), 10);
    scope.reschedule(30);
    assert.equal(scope.when(), 30);
    scope.reschedule(null);
    assert.equal(scope.when(), null);
    yield* sleep(40);
    assert.equal(t.done(), false);
    t.cancel();
    const e = yield* thrownBy(t);
    assert.ok(e instanceof CancelledError);
    assert.equal(scope.expired(), false);
  });
});

test('timeout: reschedule after the scope finished or expired is RuntimeError (timeouts.py Timeout.reschedule)', async () => {
  await runInVirtualTime(function* () {
    let finished: Timeout | null = null;
    yield* timeout(10, function* (s: Timeout) {
      finished = s;
      yield* sleep(1);
    });
    assert.equal(String(finished), '<Timeout [finished]>');
    assert.ok(syncThrown(() => finished!.reschedule(100)) instanceof RuntimeError);
    let expired: Timeout | null = null;
    yield* thrownBy(timeout(1, function* (s: Timeout) {
      expired = s;
      yield* sleep(10);
    }));
    assert.ok(syncThrown(() => expired!.reschedule(100)) instanceof RuntimeError);
  });
});

test('timeout: reschedule while expiring (the deadline fired, the body is still unwinding) is RuntimeError (timeouts.py: "Cannot change state of expiring Timeout")', async () => {
  await runInVirtualTime(function* () {
    const log = new Log();
    yield* thrownBy(timeout(5, function* (s: Timeout) {
      try {
        yield* sleep(10);
      } catch (e) {
        log.push(['expired', s.expired()]);
        log.push(['reschedule threw', (syncThrown(() => s.reschedule(1000)) as Error).name]);
        throw e;
      }
    }));
    log.assert([['expired', true], ['reschedule threw', 'RuntimeError']]);
  });
});

test('timeout(0) and a past deadline expire at the first wait, even sleep(0) (test_timeouts: test_timeout_zero_sleep_zero / test_timeout_in_the_past_sleep_zero)', async () => {
  await runInVirtualTime(function* (loop) {
    for (const ms of [0, -11]) {
      let scope: Timeout | null = null;
      const e = yield* thrownBy(timeout(ms, function* (s: Timeout) {
        scope = s;
        yield* sleep(0);
      }));
      assert.ok(e instanceof TimeoutError, `ms ${ms}`);
      assert.equal(scope!.expired(), true);
      assert.equal(scope!.when(), loop.time() + ms);
    }
  });
});

test('timeout(null): no deadline, never expires (test_timeouts: test_timeout_disabled)', async () => {
  await runInVirtualTime(function* () {
    let scope: Timeout | null = null;
    yield* timeout(null, function* (s: Timeout) {
      scope = s;
      assert.equal(String(s), '<Timeout [active] when=null>');
      yield* sleep(10);
    });
    assert.equal(scope!.expired(), false);
    assert.equal(scope!.when(), null);
  });
});

test('timeout: another error raised while unwinding the timeout wins (test_timeouts: test_foreign_exception_on_timeout)', async () => {
  await runInVirtualTime(function* () {
    const e = yield* thrownBy(timeout(5, function* () {
      try {
        yield* sleep(100);
      } finally {
        // eslint-disable-next-line no-unsafe-finally
        throw new RangeError('crash');
      }
    }));
    assert.ok(e instanceof RangeError);
    assert.equal(currentTask()!.cancelling(), 0);
  });
});

test('timeout: inner expires first and is caught; the outer then interrupts the next wait (test_timeouts: test_nested_timeouts_loop_busy)', async () => {
  await runInVirtualTime(function* (loop) {
    const e = yield* thrownBy(timeout(100, function* () {
      const inner = yield* thrownBy(timeout(10, sleep(1000)));
      assert.ok(inner instanceof TimeoutError);
      assert.equal(loop.time(), 10);
      yield* sleep(10_000);
    }));
    assert.ok(e instanceof TimeoutError);
    assert.equal(loop.time(), 100);
  });
});

test('timeout: used after a cancellation was caught (cancelling() 1), it still raises TimeoutError; a new cancel inside stays CancelledError (test_timeouts: test_timeout_after_cancellation / test_cancel_in_timeout_after_cancellation)', async () => {
  await runInVirtualTime(function* () {
    const self = currentTask()!;
    self.cancel();
    const first = yield* thrownBy(sleep(1));
    assert.ok(first instanceof CancelledError);
    assert.equal(self.cancelling(), 1);
    const e = yield* thrownBy(timeout(0, sleep(1)));
    assert.ok(e instanceof TimeoutError);
    assert.equal(self.cancelling(), 1);
    const e2 = yield* thrownBy(timeout(1000, function* () {
      self.cancel();
      yield* sleep(2000);
    }));
    assert.ok(e2 instanceof CancelledError);
    assert.equal(self.cancelling(), 2);
    self.uncancel();
    self.uncancel();
  });
});

test('timeout: an outer task awaiting a task whose own timeout fired is not cancelled (test_timeouts: test_outer_task_is_not_cancelled)', async () => {
  await runInVirtualTime(function* (loop) {
    const inner = loop.createTask(function* () {
      const e = yield* thrownBy(timeout(1, sleep(10_000)));
      assert.ok(e instanceof TimeoutError);
    });
    yield* inner;
    assert.equal(inner.cancelled(), false);
    assert.equal(inner.cancelling(), 0);
  });
});

test('timeout: a timeout in a finally block after the outer one expired works on its own (test_timeouts: test_nested_timeout_in_finally)', async () => {
  await runInVirtualTime(function* (loop) {
    const log = new Log();
    const e = yield* thrownBy(timeout(10, function* () {
      try {
        yield* sleep(1000);
      } finally {
        const inner = yield* thrownBy(timeout(10, sleep(1000)));
        log.push([(inner as Error).name, loop.time()]);
      }
    }));
    assert.ok(e instanceof TimeoutError);
    log.assert([['TimeoutError', 20]]);
  });
});

// ================================================================ shield

test('shield: cancelling the waiting task cancels only the outer; the inner finishes (test_tasks: test_shield_effect)', async () => {
  await runInVirtualTime(function* (loop) {
    const log = new Log();
    const inner = loop.createTask(function* () {
      yield* sleep(20);
      log.push(['inner done at', loop.time()]);
      return 'kept';
    });
    const waiter = loop.createTask(function* () {
      return yield* shield(inner);
    });
    yield* sleep(5);
    waiter.cancel('stop');
    const e = yield* thrownBy(waiter);
    assert.ok(e instanceof CancelledError);
    assert.equal((e as Error).message, 'stop');
    assert.equal(loop.time(), 5);
    assert.equal(inner.done(), false);
    assert.equal(yield* inner, 'kept');
    log.assert([['inner done at', 20]]);
  });
});

test('shield: the inner failing or succeeding is passed through; a done op is returned as it is (tasks.py shield)', async () => {
  await runInVirtualTime(function* (loop) {
    const done = loop.createFuture<number>();
    done.setResult(3);
    assert.equal(shield(done), done);
    const failing = loop.createFuture<number>();
    const s = shield(failing);
    assert.notEqual(s, failing);
    const boom = new Error('boom');
    failing.setException(boom);
    assert.equal(yield* thrownBy(s), boom);
    const ok = loop.createFuture<number>();
    loop.callLater(1, () => ok.setResult(4));
    assert.equal(yield* shield(ok), 4);
  });
});

test('shield: the inner cancelled by other means cancels the outer (tasks.py shield _inner_done_callback)', async () => {
  await runInVirtualTime(function* (loop) {
    const inner = loop.createFuture<number>();
    const outer = shield(inner);
    inner.cancel();
    const e = yield* thrownBy(outer);
    assert.ok(e instanceof CancelledError);
    assert.equal(outer.cancelled(), true);
  });
});

// Differs on purpose: asyncio's shield cancels the outer future with no
// message when the inner one is cancelled; eventide passes the inner's
// message on, so the awaiting task learns why.
test('shield: the inner cancelled with a message cancels the outer with the same message (asyncio: without it)', async () => {
  await runInVirtualTime(function* (loop) {
    const inner = loop.createFuture<number>();
    const outer = shield(inner);
    inner.cancel('inner reason');
    const e = yield* thrownBy(outer);
    assert.ok(e instanceof CancelledError);
    assert.equal((e as Error).message, 'inner reason');
    assert.equal(outer.cancelMessage, 'inner reason');
  });
});

// ================================================================ TaskGroup

test('TaskGroup: a child error cancels the siblings and the body at its wait; AggregateError; the parent is not left cancelled and goes on (test_taskgroups: test_taskgroup_07/08)', async () => {
  await runInVirtualTime(function* (loop) {
    const log = new Log();
    const boom = new Error('boom');
    const e = yield* thrownBy(taskGroup(function* (tg) {
      tg.createTask(function* () {
        try {
          yield* sleep(100);
        } catch (err) {
          log.push(['sibling', (err as Error).name, loop.time()]);
          throw err;
        }
      });
      tg.createTask(function* () {
        yield* sleep(10);
        throw boom;
      });
      try {
        yield* sleep(1000);
      } catch (err) {
        log.push(['body', (err as Error).name, loop.time()]);
        throw err;
      }
    }));
    assert.ok(e instanceof AggregateError);
    assert.deepEqual((e as AggregateError).errors, [boom]);
    log.assert([['sibling', 'CancelledError', 10], ['body', 'CancelledError', 10]]);
    assert.equal(currentTask()!.cancelling(), 0);
    yield* sleep(5); // the parent is not cancelled: it can go on waiting
    assert.equal(loop.time(), 15);
  });
});

test('TaskGroup: a body error cancels the children; children errors come first, then the body error (taskgroups.py _aexit)', async () => {
  await runInVirtualTime(function* () {
    const childErr = new Error('child');
    const bodyErr = new Error('body');
    const e = yield* thrownBy(taskGroup(function* (tg) {
      tg.createTask(function* () {
        try {
          yield* sleep(100);
        } finally {
          // eslint-disable-next-line no-unsafe-finally
          throw childErr; // fails while being cancelled
        }
      });
      yield* sleep(1);
      throw bodyErr;
    }));
    assert.ok(e instanceof AggregateError);
    assert.deepEqual((e as AggregateError).errors, [childErr, bodyErr]);
    assert.equal(currentTask()!.cancelling(), 0);
  });
});

test('TaskGroup: two children fail: both errors, in completion order; the second fails while being cancelled (test_taskgroups: test_taskgroup_02)', async () => {
  await runInVirtualTime(function* () {
    const e1 = new Error('first');
    const e2 = new TypeError('second');
    const e = yield* thrownBy(taskGroup(function* (tg) {
      tg.createTask(function* () {
        try {
          yield* sleep(50);
        } catch {
          throw e2;
        }
      });
      tg.createTask(function* () {
        yield* sleep(10);
        throw e1;
      });
    }));
    assert.deepEqual((e as AggregateError).errors, [e1, e2]);
  });
});

test('TaskGroup: cancelling the parent from outside cancels the children, waits for them, and propagates CancelledError (test_taskgroups: test_taskgroup_05/06)', async () => {
  const loop = newLoop();
  const log = new Log();
  const parent = loop.createTask(function* () {
    yield* taskGroup(function* (tg) {
      tg.createTask(function* () {
        try {
          yield* sleep(100);
        } catch (e) {
          yield* sleep(5);
          log.push(['child cleaned up', loop.time()]);
          throw e;
        }
      });
      yield* sleep(1000);
    });
  });
  loop.callLater(10, () => parent.cancel('outside'));
  await assert.rejects(loop.runUntilComplete(parent), (e) => e instanceof CancelledError && e.message === 'outside');
  log.assert([['child cleaned up', 15]]);
  assert.equal(parent.cancelling(), 1);
  assertLoopClean(loop);
});

test('TaskGroup: cancelling the parent while the group waits for its children on exit propagates CancelledError (test_taskgroups: test_taskgroup_06)', async () => {
  const loop = newLoop();
  const children: Task<unknown>[] = [];
  const parent = loop.createTask(function* () {
    yield* taskGroup(function* (tg) {
      children.push(tg.createTask(function* () { yield* sleep(100); }));
      children.push(tg.createTask(function* () { yield* sleep(200); }));
    });
  });
  loop.callLater(10, () => parent.cancel());
  await assert.rejects(loop.runUntilComplete(parent), CancelledError);
  assert.deepEqual(children.map((c) => c.cancelled()), [true, true]);
  assert.equal(loop.time(), 10);
  assertLoopClean(loop);
});

test('TaskGroup: a child cancelled on its own is not an error (test_taskgroups: test_taskgroup_12-ish)', async () => {
  await runInVirtualTime(function* (loop) {
    const r = yield* taskGroup(function* (tg) {
      const t = tg.createTask(function* () { yield* sleep(100); });
      tg.createTask(function* () { yield* sleep(20); });
      loop.callLater(5, () => t.cancel());
      return 'body value';
    });
    assert.equal(r, 'body value');
    assert.equal(loop.time(), 20);
  });
});

test('TaskGroup: createTask before entering, while aborting and after finishing is RuntimeError (taskgroups.py create_task)', async () => {
  await runInVirtualTime(function* () {
    const messages: string[] = [];
    const tg = new TaskGroup();
    messages.push((syncThrown(() => tg.createTask(function* () {})) as Error).message);
    const e = yield* thrownBy(tg.run(function* (g) {
      g.createTask(function* () {
        yield* sleep(1);
        throw new Error('x');
      });
      try {
        yield* sleep(100);
      } catch (err) {
        const refused = syncThrown(() => g.createTask(function* () {}));
        assert.ok(refused instanceof RuntimeError);
        messages.push((refused as Error).message);
        throw err;
      }
    }));
    assert.ok(e instanceof AggregateError);
    const late = syncThrown(() => tg.createTask(function* () {}));
    assert.ok(late instanceof RuntimeError);
    messages.push((late as Error).message);
    assert.match(messages[0]!, /has not been entered/);
    assert.match(messages[1]!, /is shutting down/);
    assert.match(messages[2]!, /is finished/);
  });
});

test('TaskGroup: children may start siblings while the group waits on exit (taskgroups.py create_task: _exiting with tasks left)', async () => {
  await runInVirtualTime(function* (loop) {
    const log = new Log();
    yield* taskGroup(function* (tg) {
      tg.createTask(function* () {
        yield* sleep(10);
        tg.createTask(function* () {
          yield* sleep(10);
          log.push(['grandchild at', loop.time()]);
        });
      });
    });
    log.assert([['grandchild at', 20]]);
  });
});

test('TaskGroup: a child error plus an outside cancel: AggregateError, and the outside cancellation stays pending for the next wait (asyncio 3.13, gh-116720)', async () => {
  const loop = newLoop();
  const log = new Log();
  const boom = new Error('boom');
  const parent = loop.createTask(function* () {
    const e = yield* thrownBy(taskGroup(function* (tg) {
      tg.createTask(function* () {
        try {
          yield* sleep(100);
        } catch {
          throw boom; // fails as it is cancelled
        }
      });
      yield* sleep(1000);
    }));
    log.push(['group threw', (e as Error).name, currentTask()!.cancelling()]);
    yield* sleep(1); // the pending outside cancellation lands here
    log.push('not reached');
  });
  loop.callLater(10, () => parent.cancel());
  await assert.rejects(loop.runUntilComplete(parent), CancelledError);
  log.assert([['group threw', 'AggregateError', 1]]);
  assertLoopClean(loop);
});

test('TaskGroup inside timeout: the deadline cancels the group and becomes TimeoutError (test_taskgroups: test_taskgroup_cancel_timeout-ish)', async () => {
  await runInVirtualTime(function* (loop) {
    const children: Task<unknown>[] = [];
    const e = yield* thrownBy(timeout(10, taskGroup(function* (tg) {
      children.push(tg.createTask(function* () { yield* sleep(100); }));
      yield* sleep(1000);
    })));
    assert.ok(e instanceof TimeoutError);
    assert.equal(loop.time(), 10);
    assert.equal(children[0]!.cancelled(), true);
    assert.equal(currentTask()!.cancelling(), 0);
  });
});

test('TaskGroup: a group runs once (taskgroups.py __aenter__: "has already been entered")', async () => {
  await runInVirtualTime(function* () {
    const tg = new TaskGroup();
    yield* tg.run(function* () {});
    const e = yield* thrownBy(tg.run(function* () {}));
    assert.ok(e instanceof RuntimeError);
    assert.match((e as Error).message, /already been entered/);
  });
});

test('TaskGroup: nested groups: the inner child error reaches the outer body as an AggregateError and can be handled there (test_taskgroups: test_taskgroup_09-ish)', async () => {
  await runInVirtualTime(function* (loop) {
    const boom = new Error('inner boom');
    const r = yield* taskGroup(function* (outer) {
      const sibling = outer.createTask(function* () { yield* sleep(30); return 'sib'; });
      const e = yield* thrownBy(taskGroup(function* (inner) {
        inner.createTask(function* () {
          yield* sleep(5);
          throw boom;
        });
        yield* sleep(1000);
      }));
      assert.deepEqual((e as AggregateError).errors, [boom]);
      assert.equal(loop.time(), 5);
      return yield* sibling; // the outer group was not disturbed
    });
    assert.equal(r, 'sib');
  });
});

test('TaskGroup: a child failing at once while the body waits on a future: the body\'s future is cancelled (taskgroups.py _on_task_done cancels the parent)', async () => {
  await runInVirtualTime(function* (loop) {
    const f = loop.createFuture<number>();
    const e = yield* thrownBy(taskGroup(function* (tg) {
      tg.createTask(function* () {
        throw new Error('at once');
      });
      yield* f;
    }));
    assert.ok(e instanceof AggregateError);
    assert.equal(f.cancelled(), true);
  });
});

// ================================================================ asCompleted

test('asCompleted: outcomes in completion order; duplicates count once (tasks.py as_completed)', async () => {
  await runInVirtualTime(function* (loop) {
    const a = loop.createTask(function* () { yield* sleep(30); return 'a'; });
    const b = loop.createTask(function* () { yield* sleep(10); return 'b'; });
    const c = loop.createTask(function* () { yield* sleep(20); throw new Error('c'); });
    const seen: unknown[] = [];
    const it = asCompleted([a, b, c, a]);
    assert.equal(it.remaining, 3);
    for (const next of it) {
      try {
        seen.push(yield* next);
      } catch (e) {
        seen.push(['error', (e as Error).message]);
      }
    }
    assert.deepEqual(seen, ['b', ['error', 'c'], 'a']);
  });
});

test('asCompleted: with a timeout, each op not done at the deadline gives a TimeoutError, and is not cancelled (test_tasks: test_as_completed_with_timeout)', async () => {
  await runInVirtualTime(function* (loop) {
    const fast = loop.createTask(function* () { yield* sleep(5); return 'fast'; });
    const slow1 = loop.createTask(function* () { yield* sleep(50); });
    const slow2 = loop.createTask(function* () { yield* sleep(60); });
    const seen: unknown[] = [];
    for (const next of asCompleted([fast, slow1, slow2], { timeoutMs: 10 })) {
      try {
        seen.push(yield* next);
      } catch (e) {
        seen.push([(e as Error).name, loop.time()]);
      }
    }
    assert.deepEqual(seen, ['fast', ['TimeoutError', 10], ['TimeoutError', 10]]);
    assert.equal(slow1.cancelled(), false);
    yield* gather(slow1, slow2);
  });
});

test('asCompleted: an empty collection yields nothing (tasks.py as_completed)', async () => {
  await runInVirtualTime(function* () {
    let n = 0;
    for (const _ of asCompleted([])) n++;
    assert.equal(n, 0);
  });
});

test('asCompleted: futures() hands out the ops themselves, in completion order (asyncio 3.13 async-for form)', async () => {
  await runInVirtualTime(function* (loop) {
    const a = loop.createTask(function* () { yield* sleep(20); return 'a'; });
    const b = loop.createTask(function* () { yield* sleep(10); return 'b'; });
    const order: unknown[] = [];
    for (const next of asCompleted([a, b]).futures()) order.push(yield* next);
    assert.deepEqual(order, [b, a]);
  });
});

// ================================================================ more probes

test('Task: a task\'s wake-up takes its place among the future\'s done-callbacks, in the order they were added (futures.py __schedule_callbacks)', async () => {
  const loop = newLoop();
  const log = new Log();
  const f = loop.createFuture<number>();
  f.addDoneCallback(() => log.push('cb1'));
  const t = loop.createTask(function* () {
    const v = yield* f;
    log.push(['task woke', v]);
  });
  loop.runOnce(0); // the task now waits on f
  f.addDoneCallback(() => log.push('cb2'));
  f.setResult(3);
  loop.runOnce(0);
  log.assert(['cb1', ['task woke', 3], 'cb2']);
  await loop.runUntilComplete(t);
  assertLoopClean(loop);
});

test('Task: cancelled during a sleep, then uncancel(): the sleep still ends with CancelledError (asyncio: sleep\'s future was cancelled)', async () => {
  const loop = newLoop();
  const t = loop.createTask(function* () {
    const e = yield* thrownBy(sleep(100));
    return [(e as Error).name, loop.time()];
  });
  loop.callLater(10, () => {
    t.cancel();
    t.uncancel();
  });
  assert.deepEqual(await loop.runUntilComplete(t), ['CancelledError', 10]);
  assertLoopClean(loop);
});

test('Task: an awaited task that cancels its awaiter during its own step gets the cancel passed on at its next wait (tasks.py Task.cancel → _fut_waiter.cancel on a running task → _must_cancel)', async () => {
  const loop = newLoop();
  const log = new Log();
  let outer: Task<unknown> | null = null;
  const inner = loop.createTask(function* () {
    yield* sleep(1);
    log.push(['outer.cancel()', outer!.cancel('from inner')]);
    log.push(['inner cancelling', currentTask()!.cancelling()]);
    const e = yield* thrownBy(sleep(100));
    log.push(['inner caught', (e as Error).message, loop.time()]);
    return 'inner done';
  });
  outer = loop.createTask(function* () {
    return yield* inner;
  });
  assert.equal(await loop.runUntilComplete(outer), 'inner done');
  log.assert([['outer.cancel()', true], ['inner cancelling', 1], ['inner caught', 'from inner', 1]]);
  assert.equal(outer.cancelled(), false);
  assertLoopClean(loop);
});

test('Task: catching CancelledError and raising another error ends the task with that error, not cancelled (tasks.py __step: except BaseException → set_exception)', async () => {
  const loop = newLoop();
  const other = new Error('other');
  const t = loop.createTask(function* () {
    try {
      yield* sleep(10);
    } catch {
      throw other;
    }
  });
  loop.callLater(1, () => t.cancel());
  await assert.rejects(loop.runUntilComplete(t), (e) => e === other);
  assert.equal(t.cancelled(), false);
  assert.equal(t.exception(), other);
  assertLoopClean(loop);
});

test('Task: waiting on a future of another loop throws RuntimeError in (tasks.py __step: "attached to a different loop")', async () => {
  const loop = newLoop();
  const other = newLoop();
  const foreign = other.createFuture<number>();
  const t = loop.createTask(function* () {
    return yield* thrownBy(foreign);
  });
  const e = await loop.runUntilComplete(t);
  assert.ok(e instanceof RuntimeError);
  foreign.cancel();
  other.runOnce(0);
  assertLoopClean(loop);
  assertLoopClean(other);
});

// Differs on purpose (DESIGN.md, "Call shapes"): asyncio's bare yield gives
// up one iteration; in eventide anything yielded that is not a Future or a
// thenable is thrown back in as a TypeError saying what was meant.
test('Task: a bare `yield` is thrown back in as a TypeError that names yield* sleep(0) (asyncio: one iteration)', async () => {
  const loop = newLoop();
  const t = loop.createTask(function* (): Generator<any, string, any> {
    try {
      yield undefined;
    } catch (e) {
      assert.ok(e instanceof TypeError);
      assert.match((e as Error).message, /sleep\(0\)/);
      return 'caught';
    }
    return 'after one iteration';
  });
  assert.equal(await loop.runUntilComplete(t), 'caught');
  assertLoopClean(loop);
});

// Differs on purpose: asyncio (3.11, checked) ends this gather with a
// message-less CancelledError taken from the last child; eventide keeps the
// message the gather was cancelled with.
test('gather with returnExceptions, cancelled while the last child is already done: ends with the cancel message (asyncio: message-less)', async () => {
  await runInVirtualTime(function* (loop) {
    const a = loop.createTask(function* () { yield* sleep(100); });
    const done = loop.createFuture<number>();
    done.setResult(1);
    const g = gather([a, done], { returnExceptions: true });
    yield* ticks(1);
    assert.equal(g.cancel('msg'), true);
    const e = yield* thrownBy(g);
    assert.ok(e instanceof CancelledError);
    assert.equal((e as Error).message, 'msg');
  });
});

// Differs on purpose: asyncio raises ValueError; eventide a TypeError
// naming the three accepted values (wait.ts).
test('wait: an unknown returnWhen is a TypeError at the call (asyncio: ValueError)', () => {
  const loop = newLoop();
  const f = loop.createFuture<number>();
  const e = syncThrown(() => wait([f], { returnWhen: 'SOMETIMES' as never }));
  f.cancel();
  loop.runOnce(0);
  assertLoopClean(loop);
  assert.ok(e instanceof TypeError);
});

test('waitFor: at the deadline a plain Future inner is cancelled (asyncio 3.12 wait_for: the timeout cancels the task, which cancels its waiter)', async () => {
  await runInVirtualTime(function* (loop) {
    const f = loop.createFuture<number>();
    const e = yield* thrownBy(waitFor(f, 10));
    assert.ok(e instanceof TimeoutError);
    assert.equal(f.cancelled(), true);
  });
});

test('waitFor(shield(task)): TimeoutError, and the shielded task runs on (asyncio docs: wait_for + shield)', async () => {
  await runInVirtualTime(function* (loop) {
    const inner = loop.createTask(function* () {
      yield* sleep(50);
      return 'finished';
    });
    const e = yield* thrownBy(waitFor(shield(inner), 10));
    assert.ok(e instanceof TimeoutError);
    assert.equal(loop.time(), 10);
    assert.equal(inner.done(), false);
    assert.equal(yield* inner, 'finished');
  });
});

test('timeout: the task cancelled from outside in the same tick as the deadline gets CancelledError, not TimeoutError (timeouts.py __aexit__: uncancel() > _cancelling)', async () => {
  const loop = newLoop();
  const t = loop.createTask(function* () {
    yield* timeout(10, sleep(100));
  });
  loop.callLater(10, () => t.cancel('outside')); // before the timeout's timer: same deadline, scheduled first
  await assert.rejects(loop.runUntilComplete(t), (e) => e instanceof CancelledError);
  assert.equal(t.cancelling(), 1);
  assertLoopClean(loop);
});

test('TaskGroup: a child failing while the group waits for its children on exit cancels the siblings; AggregateError, parent not left cancelled (taskgroups.py _on_task_done during _aexit)', async () => {
  await runInVirtualTime(function* (loop) {
    const log = new Log();
    const boom = new Error('late boom');
    const e = yield* thrownBy(taskGroup(function* (tg) {
      tg.createTask(function* () {
        try {
          yield* sleep(100);
        } catch (err) {
          log.push(['sibling cancelled at', loop.time()]);
          throw err;
        }
      });
      tg.createTask(function* () {
        yield* sleep(20);
        throw boom;
      });
      log.push('body done');
    }));
    assert.deepEqual((e as AggregateError).errors, [boom]);
    log.assert(['body done', ['sibling cancelled at', 20]]);
    assert.equal(currentTask()!.cancelling(), 0);
  });
});

test('TaskGroup: the body cancelling its own task propagates CancelledError after the children are cancelled (taskgroups.py _aexit: et is CancelledError)', async () => {
  const loop = newLoop();
  const children: Task<unknown>[] = [];
  const parent = loop.createTask(function* () {
    yield* taskGroup(function* (tg) {
      children.push(tg.createTask(function* () { yield* sleep(100); }));
      currentTask()!.cancel('self');
      yield* sleep(1000);
    });
  });
  await assert.rejects(loop.runUntilComplete(parent), (e) => e instanceof CancelledError && e.message === 'self');
  assert.equal(children[0]!.cancelled(), true);
  assert.equal(parent.cancelling(), 1);
  assertLoopClean(loop);
});

test('TaskGroup: nested groups whose children both fail: the inner group\'s error leaves the outer\'s cancel pending (cancelling() 1), the outer\'s clears it (test_taskgroups: test_nested_groups_both_cancelled)', async () => {
  await runInVirtualTime(function* () {
    const log = new Log();
    function* raiseAfter(ms: number, error: Error): Coroutine<void> {
      yield* sleep(ms);
      throw error;
    }
    const inner = new RangeError('inner');
    const outer = new SyntaxError('outer');
    const e = yield* thrownBy(taskGroup(function* (outerTg) {
      const ie = yield* thrownBy(taskGroup(function* (innerTg) {
        innerTg.createTask(raiseAfter(0, inner));
        outerTg.createTask(raiseAfter(0, outer));
      }));
      log.push(['inner group', (ie as AggregateError).errors, currentTask()!.cancelling()]);
    }));
    log.assert([['inner group', [inner], 1]]);
    assert.deepEqual((e as AggregateError).errors, [outer]);
    assert.equal(currentTask()!.cancelling(), 0);
  });
});

test('TaskGroup: error and outside cancel: cancelling() stays 1 after the group, and the next sleep is cancelled (test_taskgroups: test_error_and_cancel)', async () => {
  const loop = newLoop();
  const log = new Log();
  const started = loop.createFuture<void>();
  const inner = loop.createTask(function* () {
    const e = yield* thrownBy(taskGroup(function* (tg) {
      tg.createTask(function* () {
        started.setResult();
        yield* sleep(0);
        throw new RangeError('err');
      });
      yield* sleep(1000);
      log.push('not reached: body sleep');
    }));
    log.push(['group', (e as Error).name, currentTask()!.cancelling()]);
    yield* sleep(1000);
    log.push('not reached: after group');
  });
  const outer = loop.createTask(function* () {
    yield* started;
    assert.equal(inner.cancelling(), 0);
    inner.cancel();
    assert.equal(inner.cancelling(), 1);
    const e = yield* thrownBy(inner);
    assert.ok(e instanceof CancelledError);
  });
  await loop.runUntilComplete(outer);
  log.assert([['group', 'AggregateError', 1]]);
  assert.equal(inner.cancelled(), true);
  assertLoopClean(loop);
});

test('TaskGroup: a child that starts a failing sibling is cancelled at its next wait (test_taskgroups: test_cancels_task_if_created_during_creation, lazy tasks)', async () => {
  await runInVirtualTime(function* () {
    const log = new Log();
    const mine = new Error('third failed');
    const e = yield* thrownBy(taskGroup(function* (tg) {
      tg.createTask(function* () {
        tg.createTask(function* () {
          throw mine;
        });
        const caught = yield* thrownBy(function* () {
          yield* sleep(0);
          log.push('first sleep(0) passed');
          yield* sleep(0);
          log.push('not reached');
        }());
        log.push(['second caught', (caught as Error).name]);
      });
    }));
    assert.deepEqual((e as AggregateError).errors, [mine]);
    log.assert(['first sleep(0) passed', ['second caught', 'CancelledError']]);
  });
});

test('TaskGroup inside timeout(-1): TimeoutError whose cause is the CancelledError (test_taskgroups: test_exception_refcycles_propagate_cancellation_error)', async () => {
  await runInVirtualTime(function* () {
    const e = yield* thrownBy(timeout(-1, taskGroup(function* () {
      yield* sleep(0);
    })));
    assert.ok(e instanceof TimeoutError);
    assert.ok((e as Error).cause instanceof CancelledError);
  });
});

test('TaskGroup: a body error while a child fails in its cleanup: both errors, the parent\'s cancelling() 0 (test_taskgroups: test_taskgroup_context_manager_exit_raises)', async () => {
  await runInVirtualTime(function* (loop) {
    const childErr = new Error('child');
    const bodyErr = new Error('cleanup');
    const t = loop.createTask(function* () {
      const e = yield* thrownBy(taskGroup(function* (tg) {
        try {
          tg.createTask(function* () { throw childErr; });
          yield* sleep(1000);
        } finally {
          // eslint-disable-next-line no-unsafe-finally
          throw bodyErr;
        }
      }));
      return [(e as AggregateError).errors, currentTask()!.cancelling()];
    });
    assert.deepEqual(yield* t, [[childErr, bodyErr], 0]);
  });
});

test('wait: cancelling the waiting task cancels none of the futures (tasks.py _wait: only the waiter)', async () => {
  const loop = newLoop();
  const a = loop.createFuture<number>();
  const t = loop.createTask(function* () {
    yield* wait([a], { timeoutMs: 1000 });
  });
  loop.callLater(5, () => t.cancel());
  await assert.rejects(loop.runUntilComplete(t), CancelledError);
  assert.equal(a.done(), false);
  assert.equal(a.waiterCount, 0); // its done-callback was removed
  a.cancel();
  loop.runOnce(0);
  assertLoopClean(loop);
});

test('timeout: reschedule to a deadline already past fires on the next iteration (timeouts.py reschedule: when <= loop.time() → call_soon)', async () => {
  await runInVirtualTime(function* (loop) {
    const e = yield* thrownBy(timeout(1000, function* (scope: Timeout) {
      yield* sleep(10);
      scope.reschedule(loop.time() - 5);
      yield* sleep(1000);
    }));
    assert.ok(e instanceof TimeoutError);
    assert.equal(loop.time(), 10);
  });
});

// Differs on purpose: asyncio raises ValueError; eventide uses RuntimeError
// for every cross-loop misuse.
test('gather: futures of different loops are refused with RuntimeError (asyncio: ValueError)', () => {
  const a = newLoop();
  const b = newLoop();
  const fa = a.createFuture<number>();
  const fb = b.createFuture<number>();
  const e = syncThrown(() => gather(fa, fb));
  a.close();
  b.close();
  assert.ok(e instanceof RuntimeError);
});

/**
 * Runs the task `build` makes next to a ticker task (created second) that
 * logs each loop iteration, and returns the log: counts the iterations a
 * combinator takes (asyncio: one per callback hop).
 */
async function iterationsOf(build: (loop: EventLoop, log: unknown[]) => Coroutine<void>): Promise<unknown[]> {
  const loop = newLoop();
  const log: unknown[] = [];
  const waiter = loop.createTask(build(loop, log));
  const ticker = loop.createTask(function* () {
    for (let i = 0; i < 6; i++) {
      log.push(i);
      yield* sleep(0);
    }
  });
  await loop.runUntilComplete(waiter);
  await loop.runUntilComplete(ticker);
  assertLoopClean(loop);
  return log;
}

// In each: iteration 1 runs the waiter (it creates the child, queued after
// the ticker's first step, and starts waiting) then the ticker (0);
// iteration 2 runs the child (it finishes) and the ticker (1); then one
// iteration per callback hop before the waiter runs again.

test('iterations: a task awaiting a task resumes one iteration after it finishes (tasks.py __wakeup via add_done_callback)', async () => {
  const seen = await iterationsOf(function* (loop, log) {
    const child = loop.createTask(function* () { return 1; });
    yield* child;
    log.push('awaited');
  });
  assert.deepEqual(seen, [0, 1, 'awaited', 2, 3, 4, 5]);
});

test('iterations: a gather adds one hop: the child\'s callback, then the waiter (tasks.py gather _done_callback)', async () => {
  const seen = await iterationsOf(function* (loop, log) {
    const child = loop.createTask(function* () { return 1; });
    yield* gather(child);
    log.push('gathered');
  });
  assert.deepEqual(seen, [0, 1, 2, 'gathered', 3, 4, 5]);
});

test('iterations: shield and wait each add one hop (tasks.py shield _inner_done_callback, _wait _on_completion)', async () => {
  const a = await iterationsOf(function* (loop, log) {
    const child = loop.createTask(function* () { return 1; });
    yield* shield(child);
    log.push('shielded');
  });
  assert.deepEqual(a, [0, 1, 2, 'shielded', 3, 4, 5]);
  const b = await iterationsOf(function* (loop, log) {
    const child = loop.createTask(function* () { return 1; });
    yield* wait([child]);
    log.push('waited');
  });
  assert.deepEqual(b, [0, 1, 2, 'waited', 3, 4, 5]);
});

test('TaskGroup: a body that swallows the group\'s CancelledError goes on waiting; the group still raises the child error at the end (taskgroups.py: the parent is cancelled once)', async () => {
  await runInVirtualTime(function* (loop) {
    const log = new Log();
    const boom = new Error('boom');
    const e = yield* thrownBy(taskGroup(function* (tg) {
      tg.createTask(function* () {
        yield* sleep(10);
        throw boom;
      });
      const c = yield* thrownBy(sleep(1000));
      log.push([(c as Error).name, loop.time()]);
      yield* sleep(50); // not cancelled again
      log.push(['body slept on to', loop.time()]);
    }));
    assert.deepEqual((e as AggregateError).errors, [boom]);
    log.assert([['CancelledError', 10], ['body slept on to', 60]]);
    assert.equal(currentTask()!.cancelling(), 0);
  });
});

test('timeout(0) around a body that never waits does not expire (timeouts.py: the call_soon handle is cancelled on exit)', async () => {
  await runInVirtualTime(function* () {
    let scope: Timeout | null = null;
    const r = yield* timeout(0, function* (s: Timeout): Coroutine<string> {
      scope = s;
      return 'sync';
    });
    assert.equal(r, 'sync');
    assert.equal(scope!.expired(), false);
    yield* sleep(0); // the timeout's callback must not fire now
    assert.equal(currentTask()!.cancelling(), 0);
  });
});

test('timeout: an expired scope whose body swallowed the cancel returns its value and is expired (timeouts.py __aexit__: no exception)', async () => {
  await runInVirtualTime(function* (loop) {
    let scope: Timeout | null = null;
    const r = yield* timeout(10, function* (s: Timeout): Coroutine<string> {
      scope = s;
      try {
        yield* sleep(100);
      } catch {
        return 'swallowed';
      }
      return 'slept';
    });
    assert.equal(r, 'swallowed');
    assert.equal(scope!.expired(), true);
    assert.equal(loop.time(), 10);
    assert.equal(currentTask()!.cancelling(), 0);
  });
});
