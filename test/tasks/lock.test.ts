/**
 * Lock: FIFO hand-over, cancellation races, misuse, withLock, owner, loop
 * binding. Mirrors the behaviour pinned by CPython's
 * test_asyncio/test_locks.py (LockTests).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CancelledError, Lock, RuntimeError, currentTask, sleep } from '../../src/index.js';
import type { Future, Task } from '../../src/index.js';
import { runInVirtualTime } from '../../src/testing.js';
import { Log } from '../log.js';

/** Waits for `task` and asserts it ended cancelled. */
function* expectCancelled(task: Future<unknown>): Generator<any, void, any> {
  try {
    yield* task;
  } catch (error) {
    assert.ok(error instanceof CancelledError, `expected CancelledError, got ${String(error)}`);
    assert.equal(task.cancelled(), true);
    return;
  }
  assert.fail(`${task} was expected to be cancelled`);
}

test('waiters get the lock in FIFO order, one release at a time (asyncio test_locks: LockTests.test_acquire)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const lock = new Lock();
    assert.equal(yield* lock.acquire(), true);
    const worker = (n: number): Task<boolean> =>
      loop.createTask(function* () {
        const got = yield* lock.acquire();
        log.push(n);
        return got;
      });
    const t1 = worker(1);
    const t2 = worker(2);
    yield* sleep(0);
    log.assert([]);
    lock.release();
    yield* sleep(0);
    log.assert([1]);
    yield* sleep(0);
    log.assert([]);
    const t3 = worker(3);
    lock.release();
    yield* sleep(0);
    log.assert([2]);
    lock.release();
    yield* sleep(0);
    log.assert([3]);
    for (const t of [t1, t2, t3]) assert.equal(t.result(), true);
    lock.release();
  });
});

test('a waiter cancelled while waiting leaves the queue; the holder keeps the lock (asyncio test_locks: test_acquire_cancel)', async () => {
  await runInVirtualTime(function* (loop) {
    const lock = new Lock();
    yield* lock.acquire();
    const waiter = loop.createTask(lock.acquire());
    loop.callSoon(() => waiter.cancel());
    yield* expectCancelled(waiter);
    assert.deepEqual(lock.waiters, []);
    assert.equal(lock.locked(), true);
    assert.equal(String(lock), '<Lock [locked]>');
    lock.release();
    assert.equal(lock.locked(), false);
  });
});

test('release() skips a waiter cancelled in the same tick and the next one gets the lock (asyncio test_locks: test_cancel_race)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const lock = new Lock();
    const lockit = (name: string, blocker: Future<void> | null): Task<void> =>
      loop.createTask(function* () {
        yield* lock.acquire();
        log.push(`${name} acquired`);
        try {
          if (blocker !== null) yield* blocker;
        } finally {
          lock.release();
          log.push(`${name} released`);
        }
      });
    const fa = loop.createFuture<void>();
    const ta = lockit('A', fa);
    yield* sleep(0);
    assert.equal(lock.locked(), true);
    const tb = lockit('B', null);
    yield* sleep(0);
    assert.equal(lock.waiters.length, 1);
    const tc = lockit('C', null);
    yield* sleep(0);
    assert.deepEqual(lock.waiters, [tb, tc]);
    log.assert(['A acquired']);

    fa.setResult();
    tb.cancel();
    yield* sleep(0);
    log.assert(['A released']);
    assert.equal(lock.locked(), false);
    assert.equal(ta.done(), true);
    assert.equal(tb.cancelled(), true);
    yield* tc;
    log.assert(['C acquired', 'C released']);
  });
});

test('cancelling a waiter and releasing in one callback lets exactly one task take the lock (asyncio test_locks: test_cancel_release_race)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const lock = new Lock();
    let lockCount = 0;
    let callCount = 0;
    const lockit = (name: string): Task<void> =>
      loop.createTask(function* () {
        callCount++;
        yield* lock.acquire();
        lockCount++;
        log.push(`${name} acquired`);
      });
    yield* lock.acquire();
    const t1 = lockit('t1');
    const t2 = lockit('t2');
    const t3 = lockit('t3');
    yield* sleep(0);
    loop.callSoon(() => {
      t1.cancel();
      lock.release();
    });
    yield* expectCancelled(t1);
    assert.equal(lockCount, 1);
    assert.equal(callCount, 3);
    assert.equal(t2.done(), true);
    log.assert(['t2 acquired']);
    t3.cancel();
    yield* expectCancelled(t3);
    assert.equal(lock.owner, t2);
  });
});

test('when the first waiter is cancelled as the lock is released, a task arriving later still gets it (asyncio test_locks: test_finished_waiter_cancelled)', async () => {
  await runInVirtualTime(function* (loop) {
    const lock = new Lock();
    yield* lock.acquire();
    const tb = loop.createTask(lock.acquire());
    yield* sleep(0);
    assert.equal(lock.waiters.length, 1);
    const tc = loop.createTask(lock.acquire());
    tb.cancel();
    lock.release();
    yield* sleep(0);
    assert.equal(lock.locked(), true);
    assert.equal(lock.owner, tc);
    assert.equal(tb.cancelled(), true);
    assert.equal(yield* tc, true);
    lock.release();
  });
});

test('a waiter woken by release() but cancelled before it runs passes the lock to the next waiter', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const lock = new Lock();
    yield* lock.acquire();
    const waiter = (name: string): Task<void> =>
      loop.createTask(function* () {
        try {
          yield* lock.acquire();
        } catch (error) {
          log.push(`${name} ${(error as Error).name}`);
          throw error;
        }
        log.push(`${name} acquired`);
        lock.release();
      });
    const b = waiter('B');
    const c = waiter('C');
    yield* sleep(0);
    lock.release(); // wakes B ...
    b.cancel(); // ... which is cancelled before it runs
    assert.equal(lock.locked(), false);
    yield* expectCancelled(b);
    yield* c;
    log.assert(['B CancelledError', 'C acquired']);
    assert.equal(lock.locked(), false);
  });
});

test('a task that finds the lock free but a woken waiter in line waits its turn (fairness, no barging)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const lock = new Lock();
    yield* lock.acquire();
    const b = loop.createTask(function* () {
      yield* lock.acquire();
      log.push('B acquired');
      yield* sleep(5);
      log.push('B releases');
      lock.release();
    });
    yield* sleep(0);
    lock.release(); // B is woken, but has not run yet
    assert.equal(lock.locked(), false);
    yield* lock.acquire();
    log.push('main acquired');
    log.assert(['B acquired', 'B releases', 'main acquired']);
    assert.equal(loop.time(), 5);
    lock.release();
    yield* b;
  });
});

test('release() of an unlocked lock throws RuntimeError and changes nothing (asyncio test_locks: test_release_not_acquired)', async () => {
  const lock = new Lock();
  assert.throws(() => lock.release(), RuntimeError);
  assert.throws(() => lock.release(), /Lock\.release\(\): the lock is not acquired/);
  assert.equal(lock.locked(), false);
  await runInVirtualTime(function* () {
    yield* lock.acquire();
    assert.equal(lock.locked(), true);
    lock.release();
    assert.equal(lock.locked(), false);
    assert.throws(() => lock.release(), RuntimeError);
  });
});

test('an uncontended acquire() does not suspend the task', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const lock = new Lock();
    loop.callSoon(() => log.push('other callback'));
    yield* lock.acquire();
    log.push('acquired');
    yield* sleep(0);
    log.assert(['acquired', 'other callback']);
    lock.release();
  });
});

test('acquire() is lazy: calling it without yield* does nothing', async () => {
  await runInVirtualTime(function* () {
    const lock = new Lock();
    const pending = lock.acquire();
    assert.equal(lock.locked(), false);
    yield* pending;
    assert.equal(lock.locked(), true);
    lock.release();
  });
});

test('withLock runs the body holding the lock, returns its result and releases (asyncio test_locks: test_context_manager)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const lock = new Lock();
    const critical = (name: string): Task<string> =>
      loop.createTask(function* () {
        return yield* lock.withLock(function* () {
          log.push(`${name} in`);
          assert.equal(lock.locked(), true);
          assert.equal(lock.owner, currentTask());
          yield* sleep(10);
          log.push(`${name} out`);
          return name.toUpperCase();
        });
      });
    const a = critical('a');
    const b = critical('b');
    assert.equal(yield* a, 'A');
    assert.equal(yield* b, 'B');
    log.assert(['a in', 'a out', 'b in', 'b out']);
    assert.equal(loop.time(), 20);
    assert.equal(lock.locked(), false);
    assert.equal(lock.owner, null);
  });
});

test('withLock releases when the body throws, and when the task is cancelled inside the body', async () => {
  await runInVirtualTime(function* (loop) {
    const lock = new Lock();
    const boom = new Error('boom');
    try {
      yield* lock.withLock(function* () {
        throw boom;
      });
      assert.fail('should have thrown');
    } catch (error) {
      assert.equal(error, boom);
    }
    assert.equal(lock.locked(), false);

    const t = loop.createTask(
      lock.withLock(function* () {
        yield* sleep(100);
      }),
    );
    yield* sleep(1);
    assert.equal(lock.owner, t);
    t.cancel();
    yield* expectCancelled(t);
    assert.equal(lock.locked(), false);
  });
});

test('withLock does not release a lock it never got (cancelled while waiting)', async () => {
  await runInVirtualTime(function* (loop) {
    const lock = new Lock();
    yield* lock.acquire();
    let ran = false;
    const t = loop.createTask(
      lock.withLock(function* () {
        ran = true;
      }),
    );
    yield* sleep(0);
    t.cancel();
    yield* expectCancelled(t);
    assert.equal(ran, false);
    assert.equal(lock.locked(), true);
    assert.equal(lock.owner, currentTask());
    lock.release();
  });
});

test('withLock checks its argument at once: TypeError naming it', () => {
  const lock = new Lock();
  assert.throws(() => lock.withLock(42 as never), { name: 'TypeError', message: 'Lock.withLock: body must be a function, got 42' });
  assert.equal(lock.locked(), false);
});

test('owner is the task holding the lock; another task may release it (asyncio locks are not owned)', async () => {
  await runInVirtualTime(function* (loop) {
    const lock = new Lock();
    assert.equal(lock.owner, null);
    const holder = loop.createTask(lock.acquire());
    yield* holder;
    assert.equal(lock.owner, holder);
    const waiter = loop.createTask(lock.acquire());
    yield* sleep(0);
    assert.deepEqual(lock.waiters, [waiter]);
    assert.equal(String(lock), '<Lock [locked, waiters:1]>');
    lock.release(); // released by main, not by the holder
    yield* waiter;
    assert.equal(lock.owner, waiter);
    lock.release();
    assert.equal(lock.owner, null);
  });
});

test('waiting on a lock outside a task, or from a task of another loop, throws RuntimeError (asyncio test_locks: test_ambiguous_loops)', async () => {
  const lock = new Lock();
  // Uncontended: no loop needed.
  assert.deepEqual(lock.acquire().next(), { value: true, done: true });
  // Contended outside a task: cannot park anything.
  assert.throws(() => lock.acquire().next(), /Lock\.acquire\(\) must run inside a task/);
  lock.release();

  let first: Task<unknown> | undefined;
  await runInVirtualTime(function* (loop) {
    yield* lock.acquire();
    first = loop.createTask(lock.acquire()); // binds the lock to this loop
    yield* sleep(0);
    lock.release();
    yield* first;
    lock.release();
  });
  assert.equal(first?.result(), true);
  await runInVirtualTime(function* (loop) {
    yield* lock.acquire(); // uncontended: fine on any loop
    const other = loop.createTask(lock.acquire());
    try {
      yield* other;
      assert.fail('should have thrown');
    } catch (error) {
      assert.ok(error instanceof RuntimeError);
      assert.match((error as Error).message, /Lock\.acquire\(\): <Lock \[locked\]> is bound to a different event loop/);
    }
    assert.deepEqual(lock.waiters, []);
    lock.release();
  });
});
