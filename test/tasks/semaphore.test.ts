/**
 * Semaphore and BoundedSemaphore: counting, FIFO hand-over, no lost permit
 * on cancellation, bad values, over-release. Mirrors the behaviour pinned by
 * CPython's test_asyncio/test_locks.py (SemaphoreTests).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoundedSemaphore, CancelledError, Semaphore, sleep } from '../../src/index.js';
import type { Future, Task } from '../../src/index.js';
import { runInVirtualTime } from '../../src/testing.js';
import { Log } from '../log.js';

function* expectCancelled(task: Future<unknown>): Generator<any, void, any> {
  try {
    yield* task;
  } catch (error) {
    assert.ok(error instanceof CancelledError, `expected CancelledError, got ${String(error)}`);
    return;
  }
  assert.fail(`${task} was expected to be cancelled`);
}

test('a semaphore of value 0 is locked; the default value is 1 (asyncio test_locks: test_initial_value_zero, test_semaphore)', () => {
  assert.equal(new Semaphore(0).locked(), true);
  const sem = new Semaphore();
  assert.equal(sem.value, 1);
  assert.equal(sem.locked(), false);
  assert.equal(String(sem), '<Semaphore [unlocked, value:1]>');
});

test('a bad initial value is a TypeError or RangeError naming it (asyncio test_locks: test_semaphore_value)', () => {
  assert.throws(() => new Semaphore(-1), { name: 'RangeError', message: 'Semaphore: value must be an integer >= 0, got -1' });
  assert.throws(() => new Semaphore(1.5), RangeError);
  assert.throws(() => new Semaphore(Number.NaN), RangeError);
  assert.throws(() => new Semaphore(Infinity), RangeError);
  assert.throws(() => new Semaphore('2' as never), { name: 'TypeError', message: 'Semaphore: value must be an integer, got "2"' });
  assert.throws(() => new BoundedSemaphore(-3), { name: 'RangeError', message: /^BoundedSemaphore: value/ });
});

test('permits are taken without waiting until they run out, then handed to waiters FIFO on release (asyncio test_locks: test_acquire)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const sem = new Semaphore(3);
    assert.equal(yield* sem.acquire(), true);
    assert.equal(yield* sem.acquire(), true);
    assert.equal(sem.locked(), false);
    const worker = (n: number): Task<boolean> =>
      loop.createTask(function* () {
        yield* sem.acquire();
        log.push(n);
        return true;
      });
    const t1 = worker(1);
    const t2 = worker(2);
    const t3 = worker(3);
    yield* sleep(0);
    log.assert([1]);
    assert.equal(sem.locked(), true);
    assert.equal(sem.waiterCount, 2);
    assert.equal(sem.value, 0);

    const t4 = worker(4);
    sem.release();
    sem.release();
    assert.equal(sem.value, 0); // handed straight to t2 and t3
    yield* sleep(0);
    log.assert([2, 3]);
    assert.equal(sem.value, 0);
    assert.equal(sem.locked(), true);
    assert.equal(sem.waiterCount, 1);
    for (const t of [t1, t2, t3]) assert.equal(t.result(), true);
    assert.equal(t4.done(), false);
    sem.release();
    yield* t4;
    log.assert([4]);
  });
});

test('a waiter cancelled while waiting leaves no live waiter behind (asyncio test_locks: SemaphoreTests.test_acquire_cancel)', async () => {
  await runInVirtualTime(function* (loop) {
    const sem = new Semaphore();
    yield* sem.acquire();
    const acquire = loop.createTask(sem.acquire());
    loop.callSoon(() => acquire.cancel());
    yield* expectCancelled(acquire);
    assert.equal(sem.waiterCount, 0);
    assert.equal(sem.value, 0);
    sem.release();
    assert.equal(sem.locked(), false);
  });
});

test('release() skips waiters cancelled before being woken (asyncio test_locks: test_acquire_cancel_before_awoken)', async () => {
  await runInVirtualTime(function* (loop) {
    const sem = new Semaphore(0);
    const [t1, t2, t3, t4] = [1, 2, 3, 4].map(() => loop.createTask(sem.acquire())) as [Task<true>, Task<true>, Task<true>, Task<true>];
    yield* sleep(0);
    t1.cancel();
    t2.cancel();
    sem.release();
    yield* sleep(0);
    yield* sleep(0);
    assert.equal(t3.done(), true);
    assert.equal(t4.done(), false);
    assert.equal(t1.cancelled() && t2.cancelled(), true);
    t4.cancel();
    yield* expectCancelled(t4);
    assert.equal(sem.value, 0);
  });
});

test('a cancelled first waiter does not strand the permit: the second gets it (asyncio test_locks: test_acquire_hang)', async () => {
  await runInVirtualTime(function* (loop) {
    const sem = new Semaphore(0);
    const t1 = loop.createTask(sem.acquire());
    const t2 = loop.createTask(sem.acquire());
    yield* sleep(0);
    t1.cancel();
    sem.release();
    yield* sleep(0);
    yield* sleep(0);
    assert.equal(sem.locked(), true);
    assert.equal(t2.done(), true);
    assert.equal(t1.cancelled(), true);
  });
});

test('a waiter cancelled after being handed a permit gives it back (asyncio test_locks: test_acquire_no_hang)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const sem = new Semaphore(1);
    const t1 = loop.createTask(function* () {
      yield* sem.withLock(function* () {
        log.push('t1 in');
        yield* sleep(0);
      });
      t2.cancel(); // right after release() handed the permit to t2
    });
    const t2 = loop.createTask(
      sem.withLock(function* () {
        log.push('t2 in (wrong)');
      }),
    );
    yield* t1;
    yield* expectCancelled(t2);
    log.assert(['t1 in']);
    assert.equal(sem.value, 1);
    assert.equal(sem.locked(), false);
    yield* sem.acquire(); // does not hang
  });
});

test('a woken waiter cancelled before it runs hands the permit to the next waiter', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const sem = new Semaphore(0);
    const waiter = (name: string): Task<void> =>
      loop.createTask(function* () {
        yield* sem.acquire();
        log.push(`${name} acquired`);
      });
    const a = waiter('a');
    const b = waiter('b');
    yield* sleep(0);
    sem.release(); // hands the permit to a ...
    a.cancel(); // ... which is cancelled before it runs
    yield* expectCancelled(a);
    yield* b;
    log.assert(['b acquired']);
    assert.equal(sem.value, 0);
  });
});

test('BoundedSemaphore: release() above the initial value throws RangeError and changes nothing (asyncio test_locks: test_release_not_acquired)', async () => {
  const sem = new BoundedSemaphore();
  assert.throws(() => sem.release(), { name: 'RangeError', message: /released too many times/ });
  assert.equal(sem.value, 1);
  assert.equal(sem.bound, 1);
  await runInVirtualTime(function* () {
    const pool = new BoundedSemaphore(2);
    yield* pool.acquire();
    yield* pool.acquire();
    pool.release();
    pool.release();
    assert.throws(() => pool.release(), RangeError);
    assert.equal(pool.value, 2);
    assert.equal(String(pool), '<BoundedSemaphore [unlocked, value:2]>');
  });
});

test('release() with no waiters unlocks (asyncio test_locks: SemaphoreTests.test_release_no_waiters)', async () => {
  await runInVirtualTime(function* () {
    const sem = new Semaphore();
    yield* sem.acquire();
    assert.equal(sem.locked(), true);
    assert.equal(String(sem), '<Semaphore [locked]>');
    sem.release();
    assert.equal(sem.locked(), false);
  });
});

test('a task re-acquiring after release queues behind earlier waiters (asyncio test_locks: test_acquire_fifo_order)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const sem = new Semaphore(1);
    const worker = (tag: string): Task<void> =>
      loop.createTask(function* () {
        yield* sem.acquire();
        log.push(`${tag}_1`);
        yield* sleep(10);
        sem.release();
        yield* sem.acquire();
        log.push(`${tag}_2`);
        yield* sleep(10);
        sem.release();
      });
    const tasks = [worker('c1'), worker('c2'), worker('c3')];
    for (const t of tasks) yield* t;
    log.assert(['c1_1', 'c2_1', 'c3_1', 'c1_2', 'c2_2', 'c3_2']);
    assert.equal(loop.time(), 60);
  });
});

test('a free permit does not let a newcomer pass a woken waiter (asyncio test_locks: test_acquire_fifo_order_2)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const sem = new Semaphore(1);
    const t1 = loop.createTask(function* () {
      yield* sem.acquire();
      log.push(1);
    });
    const t2 = loop.createTask(function* () {
      yield* sem.acquire();
      log.push(2);
      sem.release();
      yield* sem.acquire();
      log.push(4);
    });
    const t3 = loop.createTask(function* () {
      yield* sem.acquire();
      log.push(3);
    });
    yield* sleep(0);
    sem.release();
    sem.release();
    for (const t of [t1, t2, t3]) yield* t;
    log.assert([1, 2, 3, 4]);
  });
});

test('a waiter cancelled before any release is skipped by later releases (asyncio test_locks: test_acquire_fifo_order_3)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const sem = new Semaphore(0);
    const tasks = [1, 2, 3].map((n) =>
      loop.createTask(function* () {
        yield* sem.acquire();
        log.push(n);
      }),
    );
    yield* sleep(0);
    tasks[0]?.cancel();
    yield* sleep(0);
    sem.release();
    sem.release();
    yield* expectCancelled(tasks[0] as Task<void>);
    for (const t of tasks.slice(1)) yield* t;
    log.assert([2, 3]);
  });
});

test('withLock limits concurrency to the semaphore value and returns the body result', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const sem = new Semaphore(2);
    let inside = 0;
    const job = (n: number): Task<number> =>
      loop.createTask(
        sem.withLock(function* () {
          inside++;
          log.push(`${n} in (${inside} inside)`);
          yield* sleep(10);
          inside--;
          return n * 10;
        }),
      );
    const tasks = [job(1), job(2), job(3), job(4)];
    const results: number[] = [];
    for (const t of tasks) results.push(yield* t);
    assert.deepEqual(results, [10, 20, 30, 40]);
    log.assert(['1 in (1 inside)', '2 in (2 inside)', '3 in (1 inside)', '4 in (2 inside)']);
    assert.equal(loop.time(), 20);
    assert.equal(sem.value, 2);
    assert.throws(() => sem.withLock(null as never), { name: 'TypeError', message: 'Semaphore.withLock: body must be a function, got null' });
  });
});
