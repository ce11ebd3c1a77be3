/**
 * wait and waitFor. Mirrors CPython's test_asyncio/test_tasks.py (test_wait*)
 * and test_asyncio/test_waitfor.py (3.12, where wait_for is built on timeout).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ALL_COMPLETED,
  CancelledError,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  sleep,
  TimeoutError,
  wait,
  waitFor,
  type EventLoop,
  type Task,
} from '../../src/index.js';
import { runInVirtualTime } from '../../src/testing.js';
import { Log } from '../log.js';

function sleeper(loop: EventLoop, ms: number): Task<undefined> {
  return loop.createTask(function* () {
    yield* sleep(ms);
    return undefined;
  });
}

function* ticks(n: number) {
  for (let i = 0; i < n; i++) yield* sleep(0);
}

/** Cancels `task` and waits for it to finish (a test's clean-up). */
function* cancelAndDrain(task: Task<unknown>) {
  task.cancel();
  try {
    yield* task;
  } catch (error) {
    if (!(error instanceof CancelledError)) throw error;
  }
}

// ------------------------------------------------------------------ wait

test('wait (ALL_COMPLETED by default) returns when every future is done; again at once when all are done (asyncio test_tasks: test_wait)', async () => {
  await runInVirtualTime(function* (loop) {
    const a = sleeper(loop, 100);
    const b = sleeper(loop, 150);
    const [done, pending] = yield* wait([b, a]);
    assert.deepEqual(done, new Set([a, b]));
    assert.deepEqual(pending, new Set());
    assert.equal(loop.time(), 150);
    const [done2, pending2] = yield* wait([a, b], { returnWhen: ALL_COMPLETED });
    assert.deepEqual([done2.size, pending2.size], [2, 0]);
    assert.equal(loop.time(), 150);
  });
});

test('FIRST_COMPLETED returns at the first done future; the others are untouched (asyncio test_tasks: test_wait_first_completed)', async () => {
  await runInVirtualTime(function* (loop) {
    const a = sleeper(loop, 10_000);
    const b = sleeper(loop, 100);
    const [done, pending] = yield* wait([b, a], { returnWhen: FIRST_COMPLETED });
    assert.deepEqual(done, new Set([b]));
    assert.deepEqual(pending, new Set([a]));
    assert.equal(a.done(), false);
    assert.equal(loop.time(), 100);
    yield* cancelAndDrain(a);
  });
});

test('done holds every future that is done when wait returns, not only the first (asyncio test_tasks: test_wait_really_done)', async () => {
  await runInVirtualTime(function* (loop) {
    const a = loop.createTask(function* () {
      yield* sleep(0);
    });
    const b = loop.createTask(function* () {
      yield* sleep(0);
      yield* sleep(0);
    });
    const [done, pending] = yield* wait([b, a], { returnWhen: FIRST_COMPLETED });
    assert.deepEqual(done, new Set([a, b]));
    assert.equal(pending.size, 0);
  });
});

test('FIRST_EXCEPTION returns at once for a future that already failed (asyncio test_tasks: test_wait_first_exception)', async () => {
  await runInVirtualTime(function* (loop) {
    const a = sleeper(loop, 10_000);
    const b = loop.createTask(function* () {
      throw new RangeError('err');
    });
    const [done, pending] = yield* wait([b, a], { returnWhen: FIRST_EXCEPTION });
    assert.deepEqual(done, new Set([b]));
    assert.deepEqual(pending, new Set([a]));
    assert.equal(loop.time(), 0);
    yield* cancelAndDrain(a);
  });
});

test('FIRST_EXCEPTION returns when a future fails during the wait (asyncio test_tasks: test_wait_first_exception_in_wait)', async () => {
  await runInVirtualTime(function* (loop) {
    const a = sleeper(loop, 10_000);
    const b = loop.createTask(function* () {
      yield* sleep(10);
      throw new RangeError('err');
    });
    const [done, pending] = yield* wait([b, a], { returnWhen: FIRST_EXCEPTION });
    assert.deepEqual(done, new Set([b]));
    assert.deepEqual(pending, new Set([a]));
    assert.equal(loop.time(), 10);
    yield* cancelAndDrain(a);
  });
});

test('FIRST_EXCEPTION does not count a cancellation as an exception (asyncio tasks.py _wait: "not f.cancelled()")', async () => {
  await runInVirtualTime(function* (loop) {
    const a = sleeper(loop, 5);
    const b = sleeper(loop, 20);
    const c = sleeper(loop, 1000);
    loop.callLater(10, () => c.cancel());
    const [done, pending] = yield* wait([a, b, c], { returnWhen: FIRST_EXCEPTION });
    assert.deepEqual(done, new Set([a, b, c]));
    assert.equal(pending.size, 0);
    assert.equal(c.cancelled(), true);
    assert.equal(loop.time(), 20);
  });
});

test('ALL_COMPLETED with a failing future: both are in done, the error stays on the future (asyncio test_tasks: test_wait_with_exception)', async () => {
  await runInVirtualTime(function* (loop) {
    const a = sleeper(loop, 100);
    const b = loop.createTask(function* () {
      yield* sleep(150);
      throw new RangeError('really');
    });
    const [done, pending] = yield* wait([b, a]);
    assert.equal(done.size, 2);
    assert.equal(pending.size, 0);
    const errors = [...done].filter((f) => f.exception() !== null);
    assert.deepEqual(errors, [b]);
    assert.equal(loop.time(), 150);
  });
});

test('timeoutMs returns what is done so far and does not cancel the rest (asyncio test_tasks: test_wait_with_timeout)', async () => {
  await runInVirtualTime(function* (loop) {
    const a = sleeper(loop, 100);
    const b = sleeper(loop, 150);
    const [done, pending] = yield* wait([b, a], { timeoutMs: 110 });
    assert.deepEqual(done, new Set([a]));
    assert.deepEqual(pending, new Set([b]));
    assert.equal(loop.time(), 110);
    assert.equal(b.cancelled(), false);
    yield* b; // still running, finishes on its own
    assert.equal(loop.time(), 150);
  });
});

test('a future finishing exactly at the timeout counts as done (asyncio test_tasks: test_wait_concurrent_complete)', async () => {
  await runInVirtualTime(function* (loop) {
    const a = sleeper(loop, 100);
    const b = sleeper(loop, 150);
    const [done, pending] = yield* wait([b, a], { timeoutMs: 100 });
    assert.deepEqual(done, new Set([a]));
    assert.deepEqual(pending, new Set([b]));
    assert.equal(loop.time(), 100);
    yield* b;
  });
});

test('futures already done count even with timeoutMs 0; Infinity and null mean no limit (asyncio tasks.py _wait)', async () => {
  await runInVirtualTime(function* (loop) {
    const f = loop.createFuture<number>();
    f.setResult(1);
    const g = loop.createFuture<number>();
    const [done, pending] = yield* wait([f, g], { timeoutMs: 0 });
    assert.deepEqual([done.has(f), pending.has(g)], [true, true]);
    loop.callLater(500, () => g.setResult(2));
    const [done2] = yield* wait([g], { timeoutMs: Infinity });
    assert.equal(done2.has(g), true);
    assert.equal(loop.time(), 500);
    const [done3] = yield* wait([g], { timeoutMs: null });
    assert.equal(done3.size, 1);
  });
});

test('duplicates count once; any iterable of futures is accepted (asyncio test_tasks: test_wait_duplicate_coroutines, test_wait_with_iterator_of_tasks)', async () => {
  await runInVirtualTime(function* (loop) {
    const c = loop.createTask(function* () {
      return 'test';
    });
    const d = loop.createTask(function* () {
      return 'spam';
    });
    const [done, pending] = yield* wait([c, c, d]);
    assert.equal(pending.size, 0);
    assert.deepEqual(new Set([...done].map((f) => f.result())), new Set(['test', 'spam']));
    const [done2] = yield* wait(new Set([c, d]).values());
    assert.equal(done2.size, 2);
  });
});

test('cancelling the waiting task cancels only the wait, never the futures (asyncio docs: wait does not cancel)', async () => {
  await runInVirtualTime(function* (loop) {
    const a = sleeper(loop, 100);
    const callbacksBefore = a.waiterCount;
    const waiter = loop.createTask(function* () {
      return yield* wait([a], { timeoutMs: 50 });
    });
    yield* sleep(10);
    waiter.cancel();
    try {
      yield* waiter;
      assert.fail('waiter should be cancelled');
    } catch (error) {
      assert.ok(error instanceof CancelledError);
    }
    assert.equal(a.cancelled(), false);
    assert.equal(a.waiterCount, callbacksBefore); // wait removed its done-callback
    yield* a;
    assert.equal(loop.time(), 100);
  });
});

test('bad arguments fail at the call with clear errors (asyncio test_tasks: test_wait_errors, test_wait_invalid_args)', async () => {
  await runInVirtualTime(function* (loop) {
    const f = loop.createFuture<number>();
    assert.throws(() => wait([]), (e: unknown) => e instanceof RangeError && /wait: futures is empty/.test(e.message));
    assert.throws(() => wait([f], { returnWhen: -1 as never }), (e: unknown) => e instanceof TypeError && /returnWhen must be FIRST_COMPLETED, FIRST_EXCEPTION or ALL_COMPLETED, got -1/.test(e.message));
    assert.throws(() => wait(f as never), /must be a collection of futures/);
    assert.throws(() => wait([function* () {}] as never), /futures\[0\] must be a Future or Task, got function .*wait\(\) does not take coroutines/);
    assert.throws(() => wait([f, 3] as never), /futures\[1\] must be a Future or Task, got 3/);
    assert.throws(() => wait([f], { timeoutMs: NaN }), (e: unknown) => e instanceof RangeError && /timeoutMs .* got NaN/.test(e.message));
    assert.throws(() => wait([f], { timeoutMs: '5' as never }), TypeError);
    assert.throws(() => wait(null as never), /iterable of futures, got null/);
    assert.throws(() => wait(undefined as never), /iterable of futures, got undefined/);
    f.setResult(1);
  });
});

// --------------------------------------------------------------- waitFor

test('waitFor times out: the task op is cancelled and finished, then TimeoutError (asyncio test_waitfor: test_wait_for)', async () => {
  await runInVirtualTime(function* (loop) {
    let fooRunning: boolean | null = null;
    const fut = loop.createTask(function* () {
      fooRunning = true;
      try {
        yield* sleep(10_000);
      } finally {
        fooRunning = false;
      }
      return 'done';
    });
    try {
      yield* waitFor(fut, 100);
      assert.fail('expected TimeoutError');
    } catch (error) {
      assert.ok(error instanceof TimeoutError);
    }
    assert.equal(loop.time(), 100);
    assert.equal(fut.cancelled(), true);
    assert.equal(fooRunning, false);
  });
});

test('waitFor with ms null runs the op to completion (asyncio test_waitfor: test_wait_for_blocking)', async () => {
  await runInVirtualTime(function* (loop) {
    const result = yield* waitFor(function* () {
      yield* sleep(1_000_000);
      return 'done';
    }, null);
    assert.equal(result, 'done');
    assert.equal(loop.time(), 1_000_000);
  });
});

test('a future done before the deadline gives its result and the timer is dropped (asyncio test_waitfor: test_wait_for_race_condition)', async () => {
  await runInVirtualTime(function* (loop) {
    const fut = loop.createFuture<string>();
    loop.callLater(100, () => fut.setResult('ok'));
    assert.equal(yield* waitFor(fut, 200), 'ok');
    assert.equal(loop.time(), 100);
    // runInVirtualTime asserts no timer is left behind
  });
});

test('an op that catches the cancellation and returns a value: waitFor returns it (asyncio test_waitfor: test_wait_for_cancellation_race_condition, test_wait_for_cancel_suppressed)', async () => {
  await runInVirtualTime(function* (loop) {
    const result = yield* waitFor(function* () {
      try {
        yield* sleep(10_000);
      } catch (error) {
        assert.ok(error instanceof CancelledError);
        return 42;
      }
      return 0;
    }, 100);
    assert.equal(result, 42);
    assert.equal(loop.time(), 100);
  });
});

test('waitFor waits for the task to finish cancelling before TimeoutError, which has the CancelledError as cause (asyncio test_waitfor: test_wait_for_waits_for_task_cancellation)', async () => {
  await runInVirtualTime(function* (loop) {
    const log = new Log();
    const inner = loop.createTask(function* () {
      try {
        yield* sleep(10_000);
      } catch (error) {
        log.push(`inner cancelled at ${loop.time()}`);
        yield* sleep(5);
        throw error;
      } finally {
        log.push(`inner done at ${loop.time()}`);
      }
    });
    try {
      yield* waitFor(inner, 1);
      assert.fail('expected TimeoutError');
    } catch (error) {
      assert.ok(error instanceof TimeoutError);
      assert.ok(error.cause instanceof CancelledError);
      log.push(`TimeoutError at ${loop.time()}`);
    }
    log.assert(['inner cancelled at 1', 'inner done at 6', 'TimeoutError at 6']);
  });
});

test('waitFor with ms 0 also waits for the task to finish cancelling (asyncio test_waitfor: test_wait_for_waits_for_task_cancellation_w_timeout_0)', async () => {
  await runInVirtualTime(function* (loop) {
    let taskDone = false;
    const inner = loop.createTask(function* () {
      try {
        yield* sleep(10_000);
      } catch (error) {
        yield* sleep(5);
        throw error;
      } finally {
        taskDone = true;
      }
    });
    yield* sleep(1);
    try {
      yield* waitFor(inner, 0);
      assert.fail('expected TimeoutError');
    } catch (error) {
      assert.ok(error instanceof TimeoutError);
      assert.ok(error.cause instanceof CancelledError);
    }
    assert.equal(taskDone, true);
    assert.equal(loop.time(), 6);
  });
});

test('an error the op throws while cancelling replaces TimeoutError (asyncio test_waitfor: test_wait_for_reraises_exception_during_cancellation)', async () => {
  class FooError extends Error {}
  await runInVirtualTime(function* (loop) {
    const inner = loop.createTask(function* () {
      try {
        yield* sleep(200);
      } finally {
        throw new FooError('from finally');
      }
    });
    try {
      yield* waitFor(inner, 1);
      assert.fail('expected FooError');
    } catch (error) {
      assert.ok(error instanceof FooError);
    }
    assert.equal(loop.time(), 1);
  });
});

test('a waitFor task cancelled before it starts is cancelled, and the op keeps going (asyncio test_waitfor: test_wait_for_self_cancellation)', async () => {
  await runInVirtualTime(function* (loop) {
    const inner = loop.createTask(function* () {
      try {
        yield* sleep(300);
      } catch {
        try {
          yield* sleep(300);
        } catch {
          yield* sleep(300);
        }
      }
      return 42;
    });
    const task = loop.createTask(waitFor(inner, 100));
    task.cancel();
    try {
      yield* task;
      assert.fail('expected CancelledError');
    } catch (error) {
      assert.ok(error instanceof CancelledError);
    }
    assert.equal(yield* inner, 42);
    assert.equal(loop.time(), 300);
  });
});

for (const ms of [60_000, null]) {
  test(`cancelling the task in waitFor(op, ${ms}) cancels the op (asyncio test_waitfor: test_cancel_wait_for / test_cancel_blocking_wait_for, bpo-23219)`, async () => {
    await runInVirtualTime(function* (loop) {
      const blocking = loop.createTask(function* () {
        yield* loop.createFuture<void>(); // never set
      });
      const waiting = loop.createTask(waitFor(blocking, ms));
      loop.callSoon(() => waiting.cancel());
      try {
        yield* waiting;
        assert.fail('expected CancelledError');
      } catch (error) {
        assert.ok(error instanceof CancelledError);
      }
      assert.equal(blocking.cancelled(), true);
      assert.equal(loop.time(), 0);
    });
  });
}

test('ms <= 0 and a future already done: its result, without waiting a tick (asyncio test_waitfor: test_wait_for_timeout_less_then_0_or_0_future_done)', async () => {
  await runInVirtualTime(function* (loop) {
    const log = new Log();
    const fut = loop.createFuture<string>();
    fut.setResult('done');
    loop.callSoon(() => log.push('a tick passed'));
    assert.equal(yield* waitFor(fut, 0), 'done');
    log.assert([]);
    yield* ticks(1);
    log.assert(['a tick passed']);
  });
});

test('ms <= 0: a coroutine op never starts, TimeoutError (asyncio test_waitfor: test_wait_for_timeout_less_then_0_or_0_coroutine_do_not_started)', async () => {
  await runInVirtualTime(function* (loop) {
    for (const ms of [0, -1]) {
      let started = false;
      try {
        yield* waitFor(function* () {
          started = true;
        }, ms);
        assert.fail('expected TimeoutError');
      } catch (error) {
        assert.ok(error instanceof TimeoutError);
      }
      assert.equal(started, false);
    }
    assert.equal(loop.time(), 0);
  });
});

test('ms <= 0: a running task is cancelled and awaited, then TimeoutError (asyncio test_waitfor: test_wait_for_timeout_less_then_0_or_0)', async () => {
  await runInVirtualTime(function* (loop) {
    for (const ms of [0, -1]) {
      let running: boolean | null = null;
      const started = loop.createFuture<void>();
      const fut = loop.createTask(function* () {
        running = true;
        started.setResult();
        try {
          yield* sleep(10_000);
        } finally {
          running = false;
        }
        return 'done';
      });
      yield* started;
      try {
        yield* waitFor(fut, ms);
        assert.fail('expected TimeoutError');
      } catch (error) {
        assert.ok(error instanceof TimeoutError);
      }
      assert.equal(fut.cancelled(), true);
      assert.equal(running, false);
    }
    assert.equal(loop.time(), 0);
  });
});

test('a task cancelled right after waitFor returned does not run on (asyncio test_waitfor: test_wait_for_issue86296)', async () => {
  await runInVirtualTime(function* (loop) {
    let reachedEnd = false;
    const task = loop.createTask(function* () {
      yield* waitFor(function* () {}, 100_000);
      yield* sleep(1000);
      reachedEnd = true;
    });
    yield* sleep(0);
    assert.equal(task.done(), false);
    task.cancel();
    try {
      yield* task;
      assert.fail('expected CancelledError');
    } catch (error) {
      assert.ok(error instanceof CancelledError);
    }
    assert.equal(reachedEnd, false);
  });
});

/** asyncio test_waitfor's SlowTask: runs for 200 ms, ignoring cancel requests. */
function slowTask(loop: EventLoop) {
  const state = { exited: false };
  function* run() {
    const exitAt = loop.time() + 200;
    for (;;) {
      const sleepMs = exitAt - loop.time();
      if (sleepMs <= 0) break;
      try {
        yield* sleep(sleepMs);
      } catch (error) {
        if (!(error instanceof CancelledError)) throw error;
      }
    }
    state.exited = true;
  }
  return { state, run };
}

test('cancelling a waitFor whose op ignores cancellation still lets the op finish (asyncio test_waitfor: test_asyncio_wait_for_cancelled)', async () => {
  await runInVirtualTime(function* (loop) {
    const slow = slowTask(loop);
    const waitForTask = loop.createTask(waitFor(slow.run, 400));
    yield* sleep(0);
    waitForTask.cancel();
    yield* wait([waitForTask]);
    assert.equal(slow.state.exited, true);
    assert.equal(loop.time(), 200);
  });
});

test('an op that ignores the timeout runs to its end and its value stands (asyncio test_waitfor: test_asyncio_wait_for_timeout)', async () => {
  await runInVirtualTime(function* (loop) {
    const slow = slowTask(loop);
    yield* waitFor(slow.run, 100); // the cancellation was swallowed: no TimeoutError
    assert.equal(slow.state.exited, true);
    assert.equal(loop.time(), 200);
  });
});

test('waitFor checks its arguments at the call (eventide: bad input)', () => {
  assert.throws(() => waitFor(function* () {}, NaN), (e: unknown) => e instanceof RangeError && /waitFor: ms .* got NaN/.test(e.message));
  assert.throws(() => waitFor(function* () {}, '10' as never), (e: unknown) => e instanceof TypeError && /waitFor: ms/.test(e.message));
  assert.throws(() => waitFor(42 as never, 10), /waitFor: op must be a Future, a Task, an operation .* or a generator function, got 42/);
});
