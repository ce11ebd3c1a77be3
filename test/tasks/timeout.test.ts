/**
 * timeout / timeoutAt / Timeout. Mirrors CPython's
 * test_asyncio/test_timeouts.py (asyncio.timeout, 3.11+): the op runs in the
 * current task, only our own cancellation becomes TimeoutError, nesting
 * works through cancelling()/uncancel().
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CancelledError,
  currentTask,
  RuntimeError,
  sleep,
  Timeout,
  timeout,
  timeoutAt,
  TimeoutError,
  VirtualClock,
  type Operation,
  type Task,
} from '../../src/index.js';
import { runInVirtualTime } from '../../src/testing.js';
import { Log } from '../log.js';

/** Runs `body`, expecting it to throw an instance of `kind`; returns the error. */
function* expectError<E>(kind: abstract new (...args: any[]) => E, body: () => Operation<unknown>) {
  try {
    yield* body();
  } catch (error) {
    assert.ok(error instanceof kind, `expected ${kind.name}, got ${error}`);
    return error as E;
  }
  return assert.fail(`expected ${kind.name}, nothing was thrown`);
}

test('an op that overruns gets TimeoutError at the deadline; expired() (asyncio test_timeouts: test_timeout_basic)', async () => {
  await runInVirtualTime(function* (loop) {
    let scope: Timeout | null = null;
    yield* expectError(TimeoutError, () =>
      timeout(10, function* (t) {
        scope = t;
        yield* sleep(10_000);
      }),
    );
    assert.equal(loop.time(), 10);
    assert.equal((scope as Timeout | null)?.expired(), true);
  });
});

test('timeoutAt takes an absolute deadline and when() reports it (asyncio test_timeouts: test_timeout_at_basic)', async () => {
  await runInVirtualTime(function* (loop) {
    yield* sleep(5);
    const deadline = loop.time() + 10;
    let scope: Timeout | null = null;
    yield* expectError(TimeoutError, () =>
      timeoutAt(deadline, function* (t) {
        scope = t;
        yield* sleep(10_000);
      }),
    );
    assert.equal(loop.time(), 15);
    const s = scope as Timeout | null;
    assert.equal(s?.expired(), true);
    assert.equal(s?.when(), deadline);
  });
});

test('nested timeouts with the same deadline: the inner sees CancelledError, only the outer throws TimeoutError (asyncio test_timeouts: test_nested_timeouts)', async () => {
  await runInVirtualTime(function* (loop) {
    const log = new Log();
    const deadline = loop.time() + 10;
    const scopes: Timeout[] = [];
    yield* expectError(TimeoutError, () =>
      timeoutAt(deadline, function* (outer) {
        scopes.push(outer);
        try {
          yield* timeoutAt(deadline, function* (inner) {
            scopes.push(inner);
            yield* sleep(10_000);
          });
        } catch (error) {
          log.push(error instanceof CancelledError ? 'inner: CancelledError' : `inner: ${error}`);
          throw error;
        }
      }),
    );
    log.assert(['inner: CancelledError']);
    assert.deepEqual(scopes.map((s) => s.expired()), [true, true]);
  });
});

test('the op sees CancelledError; the caller sees TimeoutError (asyncio test_timeouts: test_waiter_cancelled)', async () => {
  await runInVirtualTime(function* () {
    const log = new Log();
    yield* expectError(TimeoutError, () =>
      timeout(10, function* () {
        try {
          yield* sleep(10_000);
        } catch (error) {
          log.push(error instanceof CancelledError ? 'CancelledError' : 'other');
          throw error;
        }
      }),
    );
    log.assert(['CancelledError']);
  });
});

test('an op that finishes in time: not expired, the deadline stays in the future (asyncio test_timeouts: test_timeout_not_called)', async () => {
  await runInVirtualTime(function* (loop) {
    let scope: Timeout | null = null;
    const value = yield* timeout(10_000, function* (t) {
      scope = t;
      yield* sleep(10);
      return 'fast';
    });
    assert.equal(value, 'fast');
    const s = scope as Timeout | null;
    assert.equal(s?.expired(), false);
    assert.equal(s?.when(), 10_000);
    assert.equal(loop.time(), 10);
  });
});

test('ms null or Infinity: no deadline, when() is null (asyncio test_timeouts: test_timeout_disabled, test_timeout_at_disabled)', async () => {
  await runInVirtualTime(function* (loop) {
    const whens: (number | null)[] = [];
    for (const run of [
      (b: (t: Timeout) => Generator<any, void, any>) => timeout(null, b),
      (b: (t: Timeout) => Generator<any, void, any>) => timeout(Infinity, b),
      (b: (t: Timeout) => Generator<any, void, any>) => timeoutAt(null, b),
    ]) {
      yield* run(function* (t) {
        yield* sleep(1_000_000);
        whens.push(t.when());
        assert.equal(t.expired(), false);
      });
    }
    assert.deepEqual(whens, [null, null, null]);
    assert.equal(loop.time(), 3_000_000);
  });
});

test('timeout(0): the op starts, and is cancelled at its first wait (asyncio test_timeouts: test_timeout_zero, test_timeout_zero_sleep_zero)', async () => {
  await runInVirtualTime(function* (loop) {
    for (const waitMs of [10_000, 0]) {
      const log = new Log();
      let scope: Timeout | null = null;
      yield* expectError(TimeoutError, () =>
        timeout(0, function* (t) {
          scope = t;
          log.push('started');
          yield* sleep(waitMs);
          log.push('not reached');
        }),
      );
      log.assert(['started']);
      assert.equal((scope as Timeout | null)?.expired(), true);
      assert.equal((scope as Timeout | null)?.when(), 0);
    }
    assert.equal(loop.time(), 0);
  });
});

test('a deadline in the past expires at once and when() keeps it (asyncio test_timeouts: test_timeout_in_the_past_sleep_zero)', async () => {
  await runInVirtualTime(function* (loop) {
    yield* sleep(100);
    let scope: Timeout | null = null;
    yield* expectError(TimeoutError, () =>
      timeout(-11, function* (t) {
        scope = t;
        yield* sleep(0);
      }),
    );
    assert.equal((scope as Timeout | null)?.when(), 89);
    assert.equal(loop.time(), 100);
  });
});

test('an error the op throws passes through untouched, not expired (asyncio test_timeouts: test_foreign_exception_passed)', async () => {
  await runInVirtualTime(function* () {
    let scope: Timeout | null = null;
    const error = yield* expectError(RangeError, () =>
      timeout(10, function* (t) {
        scope = t;
        throw new RangeError('key error');
      }),
    );
    assert.equal(error.message, 'key error');
    assert.equal((scope as Timeout | null)?.expired(), false);
  });
});

test('an error thrown while the op is being cancelled by the timeout wins over TimeoutError (asyncio test_timeouts: test_foreign_exception_on_timeout)', async () => {
  await runInVirtualTime(function* (loop) {
    yield* expectError(RangeError, () =>
      timeout(10, function* () {
        try {
          yield* sleep(1000);
        } finally {
          throw new RangeError('zero division');
        }
      }),
    );
    assert.equal(loop.time(), 10);
  });
});

test('a cancel from elsewhere before the deadline stays a CancelledError (asyncio test_timeouts: test_foreign_cancel_doesnt_timeout_if_not_expired)', async () => {
  await runInVirtualTime(function* (loop) {
    const task = loop.createTask(function* () {
      let scope: Timeout | null = null;
      try {
        yield* timeout(10_000, function* (t) {
          scope = t;
          currentTask()?.cancel();
          yield* sleep(10_000);
        });
      } finally {
        assert.equal((scope as Timeout | null)?.expired(), false);
      }
    });
    yield* expectError(CancelledError, () => task);
    assert.equal(task.cancelled(), true);
    assert.equal(loop.time(), 0);
  });
});

test('a task that catches the TimeoutError is not cancelled and its cancel count is back to 0 (asyncio test_timeouts: test_outer_task_is_not_cancelled)', async () => {
  await runInVirtualTime(function* (loop) {
    const task = loop.createTask(function* () {
      yield* expectError(TimeoutError, () => timeout(1, sleep(10_000)));
      const self = currentTask() as Task<unknown>;
      assert.equal(self.cancelling(), 0);
      yield* sleep(5); // not interrupted by a leftover cancellation
      return 'ok';
    });
    assert.equal(yield* task, 'ok');
    assert.equal(task.cancelled(), false);
    assert.equal(loop.time(), 6);
  });
});

test('inner and outer deadlines passing in the same tick: the outer owns the timeout (asyncio test_timeouts: test_nested_timeouts_loop_busy)', async () => {
  await runInVirtualTime(function* (loop) {
    const log = new Log();
    const t0 = loop.time();
    yield* expectError(TimeoutError, () =>
      timeout(100, function* () {
        try {
          yield* timeout(10, function* () {
            (loop.clock as VirtualClock).advance(100); // the loop is busy past both deadlines
            yield* sleep(1000);
          });
        } catch (error) {
          log.push(`inner raised ${(error as Error).name}`);
          throw error;
        }
        yield* sleep(10_000);
      }),
    );
    // Both cancellations are pending when the inner exits, so the inner
    // passes the CancelledError on and only the outer converts it.
    log.assert(['inner raised CancelledError']);
    assert.equal(loop.time(), t0 + 100);
  });
});

test('reschedule moves the deadline; null removes it (asyncio test_timeouts: test_reschedule)', async () => {
  await runInVirtualTime(function* (loop) {
    const scopeFuture = loop.createFuture<Timeout>();
    const deadline1 = loop.time() + 10;
    const deadline2 = deadline1 + 20;
    const task = loop.createTask(
      timeoutAt(deadline1, function* (t) {
        scopeFuture.setResult(t);
        yield* sleep(50);
      }),
    );
    const scope = yield* scopeFuture;
    assert.equal(scope.when(), deadline1);
    scope.reschedule(deadline2);
    assert.equal(scope.when(), deadline2);
    scope.reschedule(null);
    assert.equal(scope.when(), null);
    task.cancel();
    yield* expectError(CancelledError, () => task);
    assert.equal(scope.expired(), false);
  });
});

test('reschedule to later lets the op finish; to the past expires on the next tick (asyncio timeouts.py reschedule)', async () => {
  await runInVirtualTime(function* (loop) {
    const value = yield* timeout(10, function* (t) {
      t.reschedule(loop.time() + 100);
      yield* sleep(50);
      return 'extended';
    });
    assert.equal(value, 'extended');
    assert.equal(loop.time(), 50);
    yield* expectError(TimeoutError, () =>
      timeout(1000, function* (t) {
        yield* sleep(5);
        t.reschedule(0);
        yield* sleep(1000);
      }),
    );
    assert.equal(loop.time(), 55);
  });
});

test('toString shows active (with when), expired and finished (asyncio test_timeouts: test_repr_active, test_repr_expired, test_repr_finished, test_repr_disabled)', async () => {
  await runInVirtualTime(function* () {
    let active = '';
    let scope: Timeout | null = null;
    yield* timeout(10, function* (t) {
      active = String(t);
      scope = t;
    });
    assert.equal(active, '<Timeout [active] when=10>');
    assert.equal(String(scope), '<Timeout [finished]>');
    yield* expectError(TimeoutError, () =>
      timeout(10, function* (t) {
        scope = t;
        yield* sleep(100);
      }),
    );
    assert.equal(String(scope), '<Timeout [expired]>');
    yield* timeout(null, function* (t) {
      active = String(t);
    });
    assert.equal(active, '<Timeout [active] when=null>');
  });
});

test('a timeout inside the finally of an expired timeout works on its own (asyncio test_timeouts: test_nested_timeout_in_finally)', async () => {
  await runInVirtualTime(function* (loop) {
    const log = new Log();
    yield* expectError(TimeoutError, () =>
      timeout(10, function* () {
        try {
          yield* sleep(1000);
        } finally {
          try {
            yield* timeout(10, sleep(10_000));
          } catch (error) {
            log.push(`cleanup: ${(error as Error).name} at ${loop.time()}`);
          }
        }
      }),
    );
    log.assert(['cleanup: TimeoutError at 20']);
    assert.equal(loop.time(), 20);
  });
});

test('a timeout after a swallowed cancellation still times out (asyncio test_timeouts: test_timeout_after_cancellation)', async () => {
  await runInVirtualTime(function* (loop) {
    const task = loop.createTask(function* () {
      try {
        currentTask()?.cancel();
        yield* sleep(1000); // work which will be cancelled
      } catch (error) {
        if (!(error instanceof CancelledError)) throw error;
      }
      yield* expectError(TimeoutError, () => timeout(0, sleep(1000)));
      return 'cleaned up';
    });
    assert.equal(yield* task, 'cleaned up');
    assert.equal(loop.time(), 0);
  });
});

test('a cancel inside a timeout after a swallowed cancellation is a CancelledError (asyncio test_timeouts: test_cancel_in_timeout_after_cancellation)', async () => {
  await runInVirtualTime(function* (loop) {
    const task = loop.createTask(function* () {
      try {
        currentTask()?.cancel();
        yield* sleep(1000);
      } catch (error) {
        if (!(error instanceof CancelledError)) throw error;
      }
      yield* expectError(CancelledError, () =>
        timeout(1000, function* () {
          currentTask()?.cancel();
          yield* sleep(2000);
        }),
      );
      return 'cleaned up';
    });
    assert.equal(yield* task, 'cleaned up');
    assert.equal(loop.time(), 0);
  });
});

test('TimeoutError has the CancelledError as its cause (asyncio test_timeouts: test_timeout_exception_cause)', async () => {
  await runInVirtualTime(function* () {
    const error = yield* expectError(TimeoutError, () => timeout(0, sleep(1000)));
    assert.ok(error.cause instanceof CancelledError);
    assert.match(error.message, /timed out after 0 ms/);
  });
});

test('reschedule after the timeout finished or expired throws RuntimeError (asyncio test_timeouts: test_timeout_finished)', async () => {
  await runInVirtualTime(function* () {
    let scope: Timeout | null = null;
    yield* timeout(10, function* (t) {
      scope = t;
    });
    assert.throws(() => (scope as Timeout | null)?.reschedule(20), (e: unknown) => e instanceof RuntimeError && /finished/.test(e.message));
    yield* expectError(TimeoutError, () =>
      timeout(10, function* (t) {
        scope = t;
        yield* sleep(20);
      }),
    );
    assert.throws(() => (scope as Timeout | null)?.reschedule(20), /expired/);
    assert.throws(() => (scope as Timeout | null)?.reschedule(NaN), RangeError);
  });
});

test('run outside a task: RuntimeError naming the problem (asyncio test_timeouts: test_timeout_without_task)', () => {
  const op = timeout(10, function* () {});
  assert.throws(() => op.next(), (e: unknown) => e instanceof RuntimeError && /inside a task/.test(e.message));
});

test('bad arguments fail at the call: NaN is a RangeError, a string a TypeError, a bad op a TypeError (eventide: bad input)', () => {
  assert.throws(() => timeout(NaN, function* () {}), (e: unknown) => e instanceof RangeError && /timeout: ms .* got NaN/.test(e.message));
  assert.throws(() => timeout('5' as never, function* () {}), (e: unknown) => e instanceof TypeError && /timeout: ms/.test(e.message));
  assert.throws(() => timeoutAt(NaN, function* () {}), /timeoutAt: deadlineMs/);
  assert.throws(() => timeout(5, 42 as never), /timeout: op must be a Future, a Task, an operation \(a coroutine, sleep\(\), until\(\)\) or a generator function, got 42/);
  assert.throws(() => timeout(5, Promise.resolve(1) as never), /until\(promise\)/);
});

test('the op runs inline in the current task: no task is created (asyncio timeouts: no extra task)', async () => {
  await runInVirtualTime(function* (loop) {
    const main = currentTask();
    const seen = yield* timeout(100, function* () {
      yield* sleep(1);
      return [currentTask(), loop.allTasks().length] as const;
    });
    assert.equal(seen[0], main);
    assert.equal(seen[1], 1);
  });
});

test('a Task op is cancelled at the deadline and awaited before TimeoutError (asyncio test_timeouts: awaiting a task under timeout)', async () => {
  await runInVirtualTime(function* (loop) {
    const log = new Log();
    const worker = loop.createTask(function* () {
      try {
        yield* sleep(1000);
      } finally {
        yield* sleep(3);
        log.push(`worker cleaned up at ${loop.time()}`);
      }
    });
    yield* expectError(TimeoutError, () => timeout(10, worker));
    log.push(`TimeoutError at ${loop.time()}`);
    log.assert(['worker cleaned up at 13', 'TimeoutError at 13']);
    assert.equal(worker.cancelled(), true);
  });
});

test('an outside cancel during an expired timeout\'s cleanup propagates as CancelledError, not TimeoutError (asyncio timeouts.py: uncancel() <= cancelling on entry)', async () => {
  await runInVirtualTime(function* (loop) {
    const task = loop.createTask(function* () {
      yield* timeout(10, function* () {
        try {
          yield* sleep(1000);
        } catch (error) {
          yield* sleep(10); // cleanup, during which someone cancels us
          throw error;
        }
      });
    });
    loop.callLater(15, () => task.cancel('shutdown'));
    const error = yield* expectError(CancelledError, () => task);
    assert.equal(error.message, 'shutdown'); // the outside cancel, interrupting the cleanup
    assert.equal(task.cancelled(), true);
    assert.equal(loop.time(), 15);
  });
});

test('an op that swallows the cancellation returns its value; the timeout still reports expired (asyncio timeouts.py: EXPIRING with no exception)', async () => {
  await runInVirtualTime(function* (loop) {
    let scope: Timeout | null = null;
    const value = yield* timeout(10, function* (t) {
      scope = t;
      try {
        yield* sleep(1000);
      } catch {
        return 'swallowed';
      }
      return 'slept';
    });
    assert.equal(value, 'swallowed');
    assert.equal((scope as Timeout | null)?.expired(), true);
    assert.equal(currentTask()?.cancelling(), 0);
    assert.equal(loop.time(), 10);
  });
});

test('a high-priority task\'s deadline fires in its lane, ahead of normal callbacks due at the same time (eventide: priorities)', async () => {
  await runInVirtualTime(function* (loop) {
    const log = new Log();
    const high = loop.createTask(
      function* () {
        try {
          yield* timeout(10, sleep(1000));
        } catch (error) {
          log.push(`high: ${(error as Error).name}`);
        }
      },
      { priority: 'high' },
    );
    // Scheduled first, for the same time: in one lane it would run first.
    // Here the timeout's timer runs first, in the high lane, and the task's
    // wake-up it schedules also goes ahead of the normal observer (lower
    // lanes wait while a higher one has work again).
    loop.callLater(10, () => log.push(`observer: high.cancelling() = ${high.cancelling()}`));
    yield* high;
    log.assert(['high: TimeoutError', 'observer: high.cancelling() = 0']);
    assert.equal(high.cancelling(), 0);
  });
});
