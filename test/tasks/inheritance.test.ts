/**
 * Priority inheritance (issue 4): a task that blocks a higher-priority task
 * borrows its priority until it stops blocking it — through a Lock, through
 * `yield* task`, transitively, and it is given back on release, on cancel
 * and when the waiter's own priority changes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Event, Lock, Semaphore, sleep, type Task } from '../../src/index.js';
import { runInVirtualTime } from '../../src/testing.js';
import { Log } from '../log.js';

test('a low task holding a Lock runs at critical while a critical task waits for it, and at low again after release', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const lock = new Lock();
    const lowHasLock = new Event();
    const low = loop.createTask(function* () {
      yield* lock.acquire();
      log.push('low got the lock');
      lowHasLock.set();
      for (let i = 0; i < 3; i++) {
        yield* sleep(0);
        log.push(`low step ${i} (${low.effectivePriority})`);
      }
      lock.release();
      log.push(`low released (${low.effectivePriority})`);
    }, { name: 'low', priority: 'low' });
    const normal = loop.createTask(function* () {
      yield* lowHasLock.wait();
      for (let i = 0; i < 4; i++) {
        log.push(`normal ${i}`);
        yield* sleep(0);
      }
    }, { name: 'normal' });
    // Waiting on the event (not on `low`: awaiting it would lend it main's priority).
    yield* lowHasLock.wait();
    const critical = loop.createTask(function* () {
      log.push('critical wants the lock');
      yield* lock.acquire();
      log.push('critical got the lock');
      lock.release();
    }, { name: 'critical', priority: 'critical' });
    yield* sleep(100);
    assert.deepEqual([low.done(), normal.done(), critical.done()], [true, true, true]);
    assert.equal(low.priority, 'low');
  });
  log.assert([
    'low got the lock',
    'normal 0',
    'critical wants the lock',
    // low's step, already queued in the low lane, moves up to the critical
    // lane when critical blocks on the lock: low runs ahead of normal until
    // it releases, and critical gets the lock before normal runs again.
    'low step 0 (critical)',
    'low step 1 (critical)',
    'low step 2 (critical)',
    'low released (low)',
    'critical got the lock',
    'normal 1',
    'normal 2',
    'normal 3',
  ]);
});

test('without a waiter a lock holder keeps its own priority (no inheritance without blocking)', async () => {
  await runInVirtualTime(function* (loop) {
    const lock = new Lock();
    const seen: string[] = [];
    const low: Task<void> = loop.createTask(function* () {
      yield* lock.acquire();
      yield* sleep(5);
      seen.push(low.effectivePriority);
      lock.release();
    }, { priority: 'low' });
    yield* sleep(10); // not `yield* low`: awaiting it would lend it main's priority
    assert.deepEqual(seen, ['low']);
  });
});

test('awaiting a task lends it the awaiter\'s priority until the awaiter runs again', async () => {
  const seen: string[] = [];
  await runInVirtualTime(function* (loop) {
    let worker!: Task<number>;
    worker = loop.createTask(function* () {
      yield* sleep(1);
      seen.push(`worker while awaited: ${worker.effectivePriority}`);
      yield* sleep(1);
      return 7;
    }, { name: 'worker', priority: 'idle' });
    const boss = loop.createTask(function* () {
      const v = yield* worker;
      seen.push(`boss got ${v}; worker now ${worker.effectivePriority}`);
    }, { name: 'boss', priority: 'high' });
    yield* boss;
  });
  assert.deepEqual(seen, ['worker while awaited: high', 'boss got 7; worker now idle']);
});

test('inheritance is transitive: critical waits on lock A held by normal, which waits on lock B held by low', async () => {
  const seen: string[] = [];
  await runInVirtualTime(function* (loop) {
    const a = new Lock();
    const b = new Lock();
    const low = loop.createTask(function* () {
      yield* b.acquire();
      yield* sleep(10);
      seen.push(`low holds B: ${low.effectivePriority}`);
      b.release();
    }, { name: 'low', priority: 'low' });
    const middle = loop.createTask(function* () {
      yield* a.acquire();
      yield* sleep(1);
      yield* b.acquire(); // blocks on low
      seen.push(`middle got B: ${middle.effectivePriority}`);
      b.release();
      a.release();
    }, { name: 'middle', priority: 'normal' });
    const top = loop.createTask(function* () {
      yield* sleep(2);
      yield* a.acquire(); // blocks on middle, which blocks on low
      seen.push('top got A');
      a.release();
    }, { name: 'top', priority: 'critical' });
    yield* top;
    yield* middle;
    yield* low;
    assert.deepEqual([low.effectivePriority, middle.effectivePriority], ['low', 'normal']);
  });
  assert.deepEqual(seen, ['low holds B: critical', 'middle got B: critical', 'top got A']);
});

test('a waiter cancelled while blocked gives the holder its own priority back', async () => {
  await runInVirtualTime(function* (loop) {
    const lock = new Lock();
    const holder = loop.createTask(function* () {
      yield* lock.acquire();
      yield* sleep(100);
      lock.release();
    }, { name: 'holder', priority: 'low' });
    const waiter = loop.createTask(function* () {
      yield* sleep(1);
      yield* lock.acquire();
      lock.release();
    }, { name: 'waiter', priority: 'critical' });
    yield* sleep(5);
    assert.equal(holder.effectivePriority, 'critical');
    waiter.cancel();
    yield* sleep(0);
    yield* sleep(0);
    assert.equal(waiter.cancelled(), true);
    assert.equal(holder.effectivePriority, 'low');
    yield* holder;
  });
});

test('raising a blocked waiter\'s own priority raises the holder too; lowering it lowers the loan', async () => {
  await runInVirtualTime(function* (loop) {
    const lock = new Lock();
    const holder = loop.createTask(function* () {
      yield* lock.acquire();
      yield* sleep(100);
      lock.release();
    }, { name: 'holder', priority: 'idle' });
    const waiter = loop.createTask(function* () {
      yield* sleep(1);
      yield* lock.acquire();
      lock.release();
    }, { name: 'waiter', priority: 'normal' });
    yield* sleep(5);
    assert.equal(holder.effectivePriority, 'normal');
    waiter.priority = 'critical';
    assert.equal(holder.effectivePriority, 'critical');
    waiter.priority = 'low';
    assert.equal(holder.effectivePriority, 'low');
    assert.equal(holder.priority, 'idle');
    yield* waiter;
    assert.equal(holder.effectivePriority, 'idle');
  });
});

test('a Semaphore\'s permit holders borrow the priority of a task waiting for a permit, until they release', async () => {
  const seen: string[] = [];
  await runInVirtualTime(function* (loop) {
    const sem = new Semaphore(2);
    const holders = (['a', 'b'] as const).map((name) =>
      loop.createTask(function* () {
        yield* sem.acquire();
        yield* sleep(name === 'a' ? 10 : 20);
        seen.push(`${name} before release: ${holders.find((t) => t.name === name)?.effectivePriority}`);
        sem.release();
      }, { name, priority: 'idle' }),
    );
    const waiter = loop.createTask(function* () {
      yield* sleep(1);
      yield* sem.acquire();
      seen.push(`waiter got a permit; a is ${holders[0]?.effectivePriority}, b is ${holders[1]?.effectivePriority}`);
      sem.release();
    }, { name: 'waiter', priority: 'high' });
    yield* sleep(50);
    assert.equal(waiter.done(), true);
  });
  assert.deepEqual(seen, [
    'a before release: high',
    // Once the waiter has its permit nobody waits: b gives the loan back.
    'waiter got a permit; a is idle, b is idle',
    'b before release: idle',
  ]);
});
