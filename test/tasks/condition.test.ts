/**
 * Condition: wait/notify order, lock re-acquired even on cancellation,
 * notifications not lost, waitFor, misuse. Mirrors the behaviour pinned by
 * CPython's test_asyncio/test_locks.py (ConditionTests).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CancelledError, Condition, Lock, RuntimeError, TimeoutError, sleep, waitFor } from '../../src/index.js';
import type { Task } from '../../src/index.js';
import { runInVirtualTime } from '../../src/testing.js';
import { Log } from '../log.js';

test('notified waiters resume one at a time as the lock is released, FIFO (asyncio test_locks: ConditionTests.test_wait)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const cond = new Condition();
    const waiter = (n: number): Task<boolean> =>
      loop.createTask(function* () {
        yield* cond.acquire();
        if (yield* cond.wait()) log.push(n);
        return true;
      });
    const tasks = [waiter(1), waiter(2), waiter(3)];
    yield* sleep(0);
    log.assert([]);
    assert.equal(cond.locked(), false);
    assert.equal(cond.waiterCount, 3);

    assert.equal(yield* cond.acquire(), true);
    cond.notify();
    yield* sleep(0);
    log.assert([]);
    assert.equal(cond.locked(), true);

    cond.release();
    yield* sleep(0);
    log.assert([1]);
    assert.equal(cond.locked(), true); // task 1 returned holding it

    cond.notify(2);
    yield* sleep(0);
    log.assert([]);
    cond.release();
    yield* sleep(0);
    log.assert([2]);
    cond.release();
    yield* sleep(0);
    log.assert([3]);
    assert.equal(cond.locked(), true);
    for (const t of tasks) assert.equal(t.result(), true);
    cond.release();
  });
});

test('a wait() cancelled while waiting re-acquires the lock before CancelledError (asyncio test_locks: test_wait_cancel)', async () => {
  await runInVirtualTime(function* (loop) {
    const cond = new Condition();
    yield* cond.acquire();
    const wait = loop.createTask(cond.wait());
    loop.callSoon(() => wait.cancel());
    try {
      yield* wait;
      assert.fail('should be cancelled');
    } catch (error) {
      assert.ok(error instanceof CancelledError);
    }
    assert.equal(cond.waiterCount, 0);
    assert.equal(cond.locked(), true);
    assert.equal(cond.lock.owner, wait);
    cond.release();
  });
});

test('a notified waiter whose lock is contested when cancelled still gets the lock back (asyncio test_locks: test_wait_cancel_contested)', async () => {
  await runInVirtualTime(function* (loop) {
    const cond = new Condition();
    yield* cond.acquire();
    const waitTask = loop.createTask(cond.wait());
    yield* sleep(0);
    assert.equal(cond.locked(), false);

    yield* cond.acquire();
    cond.notify();
    loop.callSoon(() => waitTask.cancel());
    loop.callSoon(() => cond.release());
    try {
      yield* waitTask;
    } catch (error) {
      assert.ok(error instanceof CancelledError);
    }
    assert.equal(cond.locked(), true);
    assert.equal(cond.lock.owner, waitTask);
    cond.release();
  });
});

test('a task cancelled while taking the lock back after notify() ends cancelled, holding the lock (asyncio test_locks: test_wait_cancel_after_notify)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const cond = new Condition();
    const waiter = loop.createTask(
      cond.withLock(function* () {
        log.push('waiting');
        yield* cond.wait();
        log.push('not reached');
      }),
    );
    yield* sleep(0);
    yield* cond.acquire();
    cond.notify();
    yield* sleep(0); // the waiter now queues for the lock
    waiter.cancel();
    yield* sleep(0);
    cond.release();
    yield* sleep(0);
    assert.equal(waiter.cancelled(), true);
    assert.equal(cond.locked(), false); // withLock released it
    log.assert(['waiting']);
  });
});

test('wait() without the lock throws RuntimeError and leaves the lock alone (asyncio test_locks: test_wait_unacquired)', async () => {
  await runInVirtualTime(function* () {
    const cond = new Condition();
    try {
      yield* cond.wait();
      assert.fail('should have thrown');
    } catch (error) {
      assert.ok(error instanceof RuntimeError);
      assert.match((error as Error).message, /Condition\.wait\(\): the lock is not acquired/);
    }
    assert.equal(cond.locked(), false);
    assert.equal(cond.waiterCount, 0);
  });
});

test('waitFor(predicate) waits through notifications until the predicate holds (asyncio test_locks: test_wait_for)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const cond = new Condition();
    let ready: string | null = null;
    const t = loop.createTask(function* () {
      yield* cond.acquire();
      const value = yield* cond.waitFor(() => ready);
      log.push(value);
      cond.release();
      return true;
    });
    yield* sleep(0);
    log.assert([]);
    yield* cond.acquire();
    cond.notify();
    cond.release();
    yield* sleep(0);
    log.assert([]);

    ready = 'go';
    yield* cond.acquire();
    cond.notify();
    cond.release();
    yield* sleep(0);
    log.assert(['go']);
    assert.equal(t.result(), true);
  });
});

test('waitFor() returns a true predicate at once without the lock, and throws RuntimeError otherwise (asyncio test_locks: test_wait_for_unacquired)', async () => {
  await runInVirtualTime(function* () {
    const cond = new Condition();
    assert.deepEqual(yield* cond.waitFor(() => [1, 2, 3]), [1, 2, 3]);
    try {
      yield* cond.waitFor(() => false);
      assert.fail('should have thrown');
    } catch (error) {
      assert.ok(error instanceof RuntimeError);
    }
    assert.throws(() => cond.waitFor('ready' as never), { name: 'TypeError', message: 'Condition.waitFor: predicate must be a function, got "ready"' });
  });
});

test('notify(n) wakes at most n waiters, FIFO; notify(2048) wakes the rest (asyncio test_locks: test_notify)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const cond = new Condition();
    const waiter = (n: number): Task<void> =>
      loop.createTask(function* () {
        yield* cond.acquire();
        yield* cond.wait();
        log.push(n);
        cond.release();
      });
    const tasks = [waiter(1), waiter(2), waiter(3)];
    yield* sleep(0);
    yield* cond.acquire();
    cond.notify(1);
    cond.release();
    yield* sleep(0);
    log.assert([1]);

    yield* cond.acquire();
    cond.notify(1);
    cond.notify(2048);
    cond.release();
    yield* sleep(0);
    log.assert([2, 3]);
    for (const t of tasks) assert.equal(t.done(), true);
  });
});

test('notifyAll() wakes every waiter, in the order they waited (asyncio test_locks: test_notify_all)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const cond = new Condition();
    for (const n of [1, 2]) {
      loop.createTask(function* () {
        yield* cond.acquire();
        yield* cond.wait();
        log.push(n);
        cond.release();
      });
    }
    yield* sleep(0);
    yield* cond.acquire();
    cond.notifyAll();
    cond.release();
    yield* sleep(0);
    log.assert([1, 2]);
    assert.equal(cond.waiterCount, 0);
  });
});

test('notify() and notifyAll() without the lock throw RuntimeError; a bad n throws RangeError (asyncio test_locks: test_notify_unacquired)', () => {
  const cond = new Condition();
  assert.throws(() => cond.notify(), RuntimeError);
  assert.throws(() => cond.notifyAll(), /Condition\.notifyAll\(\): the lock is not acquired/);
  assert.throws(() => cond.notify(-1), { name: 'RangeError', message: 'Condition.notify: n must be an integer >= 0, got -1' });
  assert.throws(() => cond.notify(1.5), RangeError);
  assert.throws(() => cond.notify('2' as never), RangeError);
});

test('a Condition over an explicit Lock shares its state; a non-Lock is a TypeError (asyncio test_locks: test_explicit_lock)', async () => {
  await runInVirtualTime(function* () {
    const lock = new Lock();
    const cond = new Condition(lock);
    assert.equal(cond.lock, lock);
    yield* cond.withLock(function* () {
      assert.equal(lock.locked(), true);
      assert.equal(cond.locked(), true);
    });
    assert.equal(lock.locked(), false);
    yield* lock.withLock(function* () {
      assert.equal(cond.locked(), true);
      assert.equal(String(cond), '<Condition [locked]>');
    });
    assert.equal(cond.locked(), false);
    assert.throws(() => new Condition({} as never), { name: 'TypeError', message: /^Condition: lock must be a Lock, got / });
  });
});

test('a waiter notified and then cancelled passes the notification on to the next waiter (asyncio 3.13 Condition.wait)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const cond = new Condition();
    const waiter = (name: string): Task<void> =>
      loop.createTask(
        cond.withLock(function* () {
          try {
            yield* cond.wait();
          } catch (error) {
            log.push(`${name} ${(error as Error).name}, lock held: ${cond.locked()}`);
            throw error;
          }
          log.push(`${name} notified`);
        }),
      );
    const first = waiter('first');
    const second = waiter('second');
    yield* sleep(0);
    yield* cond.acquire();
    cond.notify(1); // picks `first` ...
    first.cancel(); // ... which is cancelled before it runs
    cond.release();
    yield* second;
    log.assert(['first CancelledError, lock held: true', 'second notified']);
    assert.equal(first.cancelled(), true);
    assert.equal(cond.locked(), false);
  });
});

test('a wait() under a timeout ends with TimeoutError, holding the lock again (asyncio test_locks: test_timeout_in_block)', async () => {
  await runInVirtualTime(function* (loop) {
    const cond = new Condition();
    yield* cond.withLock(function* () {
      try {
        yield* waitFor(cond.wait(), 500);
        assert.fail('should have timed out');
      } catch (error) {
        assert.ok(error instanceof TimeoutError, `expected TimeoutError, got ${String(error)}`);
      }
      assert.equal(loop.time(), 500);
      assert.equal(cond.locked(), true);
      assert.equal(cond.waiterCount, 0);
    });
    assert.equal(cond.locked(), false);
  });
});
