/**
 * Contract: Event, Lock, Semaphore, BoundedSemaphore, Condition, Barrier,
 * Queue, PriorityQueue, LifoQueue and QueueEmpty / QueueFull, through
 * `import ... from 'eventide'`. Constructors as DESIGN.md pins them; method
 * names are asyncio's in camelCase; behaviour is asyncio's (test_locks.py,
 * test_queues.py). Virtual time throughout.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Barrier,
  BoundedSemaphore,
  CancelledError,
  Condition,
  Event,
  LifoQueue,
  Lock,
  PriorityQueue,
  Queue,
  QueueEmpty,
  QueueFull,
  RuntimeError,
  Semaphore,
  gather,
  sleep,
  type Coroutine,
  type EventLoop,
} from 'eventide';
import { runInVirtualTime } from 'eventide/testing';
import { Log } from '../log.js';

/** Starts `count` tasks named 0..count-1 running `body(i)`; returns a coroutine that waits for all. */
function spawn(loop: EventLoop, count: number, body: (i: number) => Coroutine<unknown>): Coroutine<unknown[]> {
  const tasks = Array.from({ length: count }, (_, i) => loop.createTask(body(i), { name: String(i) }));
  return (function* () {
    return yield* gather(...tasks);
  })();
}

// ------------------------------------------------------------------- Event

test('Event: new Event() is not set; wait() suspends until set(), which wakes every waiter FIFO', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const event = new Event();
    assert.equal(event.isSet(), false);
    const all = spawn(loop, 3, function* (i) {
      const value = yield* event.wait();
      log.push([i, value, loop.time()]);
    });
    yield* sleep(10);
    log.assert([]);
    event.set();
    assert.equal(event.isSet(), true);
    yield* all;
  });
  log.assert([
    [0, true, 10],
    [1, true, 10],
    [2, true, 10],
  ]);
});

test('Event.wait() on a set event returns true at once, without suspending the task', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const event = new Event();
    event.set();
    loop.callSoon(() => log.push('callback'));
    const value = yield* event.wait();
    log.push(['wait returned', value]);
    yield* sleep(0);
  });
  log.assert([['wait returned', true], 'callback']);
});

test('Event.clear() makes later wait() calls suspend again', async () => {
  await runInVirtualTime(function* (loop) {
    const event = new Event();
    event.set();
    event.clear();
    assert.equal(event.isSet(), false);
    loop.callLater(7, () => event.set());
    yield* event.wait();
    assert.equal(loop.time(), 7);
  });
});

// -------------------------------------------------------------------- Lock

test('Lock: acquire() returns true; locked() reflects it; waiters get the lock FIFO (asyncio test_acquire)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const lock = new Lock();
    assert.equal(lock.locked(), false);
    assert.equal(yield* lock.acquire(), true);
    assert.equal(lock.locked(), true);
    const all = spawn(loop, 3, function* (i) {
      yield* lock.acquire();
      log.push(`got ${i}`);
      yield* sleep(1);
      lock.release();
    });
    yield* sleep(5);
    log.assert([]);
    lock.release();
    yield* all;
    assert.equal(lock.locked(), false);
  });
  log.assert(['got 0', 'got 1', 'got 2']);
});

test('Lock is fair: a task arriving when the lock was just released does not jump the queue', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const lock = new Lock();
    yield* lock.acquire();
    const waiter = loop.createTask(function* () {
      yield* lock.acquire();
      log.push('waiter');
      lock.release();
    });
    yield* sleep(1);
    lock.release();
    // The lock is free, but the waiter was first in line.
    yield* lock.acquire();
    log.push('newcomer');
    lock.release();
    yield* waiter;
  });
  log.assert(['waiter', 'newcomer']);
});

test('Lock.release() of an unlocked lock throws RuntimeError (asyncio)', () => {
  const lock = new Lock();
  assert.throws(() => lock.release(), RuntimeError);
});

test('a task cancelled while waiting for a Lock does not get it and does not block the next waiter', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const lock = new Lock();
    yield* lock.acquire();
    const cancelled = loop.createTask(function* () {
      yield* lock.acquire();
      log.push('cancelled task got the lock');
    });
    const next = loop.createTask(function* () {
      yield* lock.acquire();
      log.push('next got the lock');
      lock.release();
    });
    yield* sleep(1);
    cancelled.cancel();
    lock.release();
    yield* next;
    try {
      yield* cancelled;
    } catch (error) {
      log.push((error as Error).name);
    }
  });
  log.assert(['next got the lock', 'CancelledError']);
});

// --------------------------------------------------------------- Semaphore

test('Semaphore(value = 1): default one permit; Semaphore(2) lets two in at once, the rest wait FIFO', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const one = new Semaphore();
    yield* one.acquire();
    assert.equal(one.locked(), true);
    one.release();
    assert.equal(one.locked(), false);

    const sem = new Semaphore(2);
    yield* spawn(loop, 4, function* (i) {
      yield* sem.acquire();
      log.push([`in ${i}`, loop.time()]);
      yield* sleep(10);
      sem.release();
    });
  });
  log.assert([
    ['in 0', 0],
    ['in 1', 0],
    ['in 2', 10],
    ['in 3', 10],
  ]);
});

test('BoundedSemaphore(value = 1): releasing more often than acquiring throws (asyncio ValueError; here a RangeError)', async () => {
  await runInVirtualTime(function* () {
    const bounded = new BoundedSemaphore();
    yield* bounded.acquire();
    bounded.release();
    assert.throws(() => bounded.release(), RangeError);
    const two = new BoundedSemaphore(2);
    assert.throws(() => two.release(), RangeError);
    assert.ok(two instanceof Semaphore);
  });
});

test('a plain Semaphore may be released beyond its initial value (asyncio)', () => {
  const sem = new Semaphore(1);
  sem.release();
  assert.equal(sem.locked(), false);
});

test('Semaphore(-1) is a RangeError (asyncio ValueError)', () => {
  assert.throws(() => new Semaphore(-1), RangeError);
});

// --------------------------------------------------------------- Condition

test('Condition(lock?): wait() releases the lock and re-acquires it; notify() wakes one waiter, notifyAll() the rest, FIFO', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const cond = new Condition();
    const all = spawn(loop, 3, function* (i) {
      yield* cond.acquire();
      try {
        const value = yield* cond.wait();
        assert.equal(cond.locked(), true, 'the lock is held again after wait()');
        log.push([i, value, loop.time()]);
      } finally {
        cond.release();
      }
    });
    yield* sleep(5);
    yield* cond.acquire();
    cond.notify();
    cond.release();
    yield* sleep(5);
    yield* cond.acquire();
    cond.notifyAll();
    cond.release();
    yield* all;
  });
  log.assert([
    [0, true, 5],
    [1, true, 10],
    [2, true, 10],
  ]);
});

test('Condition(lock) uses the given Lock', async () => {
  await runInVirtualTime(function* () {
    const lock = new Lock();
    const cond = new Condition(lock);
    yield* cond.acquire();
    assert.equal(lock.locked(), true);
    cond.release();
    assert.equal(lock.locked(), false);
  });
});

test('Condition.notify() / wait() without holding the lock throw RuntimeError (asyncio)', async () => {
  await runInVirtualTime(function* () {
    const cond = new Condition();
    assert.throws(() => cond.notify(), RuntimeError);
    assert.throws(() => cond.notifyAll(), RuntimeError);
    let waitError: unknown = null;
    try {
      yield* cond.wait();
    } catch (error) {
      waitError = error;
    }
    assert.ok(waitError instanceof RuntimeError);
  });
});

test('Condition.waitFor(predicate) waits until predicate() is truthy and returns its value', async () => {
  const value = await runInVirtualTime(function* (loop) {
    const cond = new Condition();
    const items: string[] = [];
    loop.createTask(function* () {
      yield* sleep(5);
      yield* cond.acquire();
      items.push('item');
      cond.notifyAll();
      cond.release();
    });
    yield* cond.acquire();
    try {
      return yield* cond.waitFor(() => items.length);
    } finally {
      cond.release();
    }
  });
  assert.equal(value, 1);
});

// ----------------------------------------------------------------- Barrier

test('Barrier(parties): tasks wait until parties have arrived; wait() gives each its arrival index (asyncio test_barrier)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const barrier = new Barrier(3);
    assert.equal(barrier.parties, 3);
    assert.equal(barrier.broken, false);
    yield* spawn(loop, 3, function* (i) {
      yield* sleep(i * 10);
      const index = yield* barrier.wait();
      log.push([i, index, loop.time()]);
    });
    assert.equal(barrier.nWaiting, 0);
  });
  // The task that trips the barrier goes on without suspending; the woken ones follow FIFO.
  log.assert([
    [2, 2, 20],
    [0, 0, 20],
    [1, 1, 20],
  ]);
});

test('Barrier.abort() breaks it: waiting and later wait() calls throw a BrokenBarrierError', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const barrier = new Barrier(2);
    const waiter = loop.createTask(function* () {
      try {
        yield* barrier.wait();
      } catch (error) {
        log.push((error as Error).name);
      }
    });
    yield* sleep(1);
    barrier.abort();
    yield* waiter;
    assert.equal(barrier.broken, true);
    try {
      yield* barrier.wait();
    } catch (error) {
      log.push((error as Error).name);
    }
  });
  log.assert(['BrokenBarrierError', 'BrokenBarrierError']);
});

// ------------------------------------------------------------------ Queues

test('Queue: put/get FIFO; qsize, empty, full, maxsize; new Queue() is unbounded', async () => {
  await runInVirtualTime(function* () {
    const unbounded = new Queue<number>();
    assert.equal(unbounded.maxsize, 0);
    for (let i = 0; i < 100; i++) unbounded.putNowait(i);
    assert.equal(unbounded.full(), false);
    assert.equal(unbounded.qsize(), 100);
    const queue = new Queue<string>({ maxsize: 2 });
    assert.equal(queue.maxsize, 2);
    assert.equal(queue.empty(), true);
    yield* queue.put('a');
    yield* queue.put('b');
    assert.equal(queue.full(), true);
    assert.equal(queue.qsize(), 2);
    assert.equal(yield* queue.get(), 'a');
    assert.equal(queue.getNowait(), 'b');
    assert.equal(queue.empty(), true);
  });
});

test('Queue.getNowait() on an empty queue throws QueueEmpty; putNowait() on a full one throws QueueFull', () => {
  const queue = new Queue<number>({ maxsize: 1 });
  assert.throws(() => queue.getNowait(), QueueEmpty);
  queue.putNowait(1);
  assert.throws(() => queue.putNowait(2), QueueFull);
  assert.equal(queue.qsize(), 1);
});

test('Queue.get() waits for an item; put() on a full queue waits for a slot (asyncio test_get_with_putters / blocking put)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const queue = new Queue<string>({ maxsize: 1 });
    const consumer = loop.createTask(function* () {
      log.push(['got', yield* queue.get(), loop.time()]);
    });
    yield* sleep(5);
    yield* queue.put('x');
    yield* consumer;
    queue.putNowait('fill');
    const producer = loop.createTask(function* () {
      yield* queue.put('y');
      log.push(['put y', loop.time()]);
    });
    yield* sleep(5);
    log.push(['take', queue.getNowait()]);
    yield* producer;
    assert.equal(queue.getNowait(), 'y');
  });
  log.assert([
    ['got', 'x', 5],
    ['take', 'fill'],
    ['put y', 10],
  ]);
});

test('Queue getters are served FIFO', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const queue = new Queue<number>();
    const all = spawn(loop, 3, function* (i) {
      log.push([i, yield* queue.get()]);
    });
    yield* sleep(1);
    for (const item of [10, 20, 30]) queue.putNowait(item);
    yield* all;
  });
  log.assert([
    [0, 10],
    [1, 20],
    [2, 30],
  ]);
});

test('Queue.join() waits until taskDone() was called once per item put; taskDone() too often throws (asyncio ValueError)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const queue = new Queue<number>();
    yield* queue.join(); // nothing outstanding: returns at once
    queue.putNowait(1);
    queue.putNowait(2);
    const worker = loop.createTask(function* () {
      for (let i = 0; i < 2; i++) {
        const item = yield* queue.get();
        yield* sleep(10);
        log.push(['done', item]);
        queue.taskDone();
      }
    });
    yield* queue.join();
    log.push(['joined', loop.time()]);
    yield* worker;
    assert.throws(() => queue.taskDone(), (error: Error) => error instanceof RangeError || error.name === 'ValueError');
  });
  log.assert([['done', 1], ['done', 2], ['joined', 20]]);
});

test('PriorityQueue gives the smallest item first ([priority, data] tuples compare like asyncio tuples); LifoQueue the newest', async () => {
  await runInVirtualTime(function* () {
    const pq = new PriorityQueue<[number, string]>();
    for (const item of [[3, 'c'], [1, 'a'], [2, 'b'], [1, 'A']] as [number, string][]) yield* pq.put(item);
    const fromPq: [number, string][] = [];
    while (!pq.empty()) fromPq.push(yield* pq.get());
    assert.deepEqual(fromPq, [[1, 'A'], [1, 'a'], [2, 'b'], [3, 'c']]);

    const numbers = new PriorityQueue<number>({ maxsize: 0 });
    for (const n of [5, 1, 4]) numbers.putNowait(n);
    assert.deepEqual([numbers.getNowait(), numbers.getNowait(), numbers.getNowait()], [1, 4, 5]);

    const lifo = new LifoQueue<number>({ maxsize: 3 });
    for (const n of [1, 2, 3]) lifo.putNowait(n);
    assert.equal(lifo.full(), true);
    assert.deepEqual([lifo.getNowait(), lifo.getNowait(), lifo.getNowait()], [3, 2, 1]);
  });
});

test('a task cancelled while waiting in Queue.get() gets CancelledError and does not steal a later item', async () => {
  await runInVirtualTime(function* (loop) {
    const queue = new Queue<string>();
    const getter = loop.createTask(function* () {
      return yield* queue.get();
    });
    yield* sleep(1);
    getter.cancel();
    let error: unknown = null;
    try {
      yield* getter;
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof CancelledError);
    queue.putNowait('item');
    assert.equal(yield* queue.get(), 'item');
  });
});
