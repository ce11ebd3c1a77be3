/**
 * Barrier: filling, draining, arrival indices, reset, abort, cancellation.
 * Mirrors the behaviour pinned by CPython's test_asyncio/test_locks.py
 * (BarrierTests); eventide's reset() and abort() are plain methods.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Barrier, BrokenBarrierError, CancelledError, RuntimeError, sleep } from '../../src/index.js';
import type { Coroutine, EventLoop, Task } from '../../src/index.js';
import { runInVirtualTime } from '../../src/testing.js';
import { Log } from '../log.js';

/** Starts `n` tasks running `body(i)`. */
function startTasks<T>(loop: EventLoop, n: number, body: (i: number) => Coroutine<T>): Task<T>[] {
  return Array.from({ length: n }, (_, i) => loop.createTask(body(i), { name: `t${i}` }));
}

/** Waits for every task, in order; returns their results. */
function* joinAll<T>(tasks: Task<T>[]): Coroutine<T[]> {
  const results: T[] = [];
  for (const t of tasks) results.push(yield* t);
  return results;
}

/** `barrier.wait()`, turning BrokenBarrierError into the string 'broken'. */
function* waitOrBroken(barrier: Barrier): Coroutine<number | 'broken'> {
  try {
    return yield* barrier.wait();
  } catch (error) {
    if (error instanceof BrokenBarrierError) return 'broken';
    throw error;
  }
}

test('parties must be an integer >= 1: RangeError / TypeError naming it (asyncio test_locks: test_barrier_parties)', () => {
  assert.throws(() => new Barrier(0), { name: 'RangeError', message: 'Barrier: parties must be an integer >= 1, got 0' });
  assert.throws(() => new Barrier(-4), RangeError);
  assert.throws(() => new Barrier(2.5), RangeError);
  assert.throws(() => new Barrier(undefined as never), { name: 'TypeError', message: 'Barrier: parties must be an integer, got undefined' });
  const barrier = new Barrier(5);
  assert.equal(barrier.parties, 5);
  assert.equal(barrier.nWaiting, 0);
  assert.equal(barrier.broken, false);
  assert.equal(String(barrier), '<Barrier [filling, waiters:0/5]>');
  assert.ok(new BrokenBarrierError('x') instanceof RuntimeError);
});

test('the state goes filling → draining → resetting → broken (asyncio test_locks: BarrierTests.test_repr)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const barrier = new Barrier(5);
    const tasks = startTasks(loop, 2, () => waitOrBroken(barrier));
    yield* sleep(0);
    log.push(String(barrier));
    tasks.push(...startTasks(loop, 3, () => waitOrBroken(barrier)));
    yield* sleep(0);
    log.push(String(barrier));
    tasks.push(...startTasks(loop, 2, () => waitOrBroken(barrier)));
    yield* sleep(0);
    log.push(String(barrier)); // the first five left; two new ones are filling
    barrier.reset();
    log.push(String(barrier));
    tasks.push(...startTasks(loop, 2, () => waitOrBroken(barrier)));
    yield* sleep(0);
    barrier.abort();
    log.push(String(barrier));
    assert.equal(barrier.broken, true);
    const results = yield* joinAll(tasks);
    log.assert([
      '<Barrier [filling, waiters:2/5]>',
      '<Barrier [draining, waiters:0/5]>',
      '<Barrier [filling, waiters:2/5]>',
      '<Barrier [resetting, waiters:0/5]>',
      '<Barrier [broken]>',
    ]);
    assert.deepEqual(results, [0, 1, 2, 3, 4, 'broken', 'broken', 'broken', 'broken']);
  });
});

test('a barrier of one party never blocks, again and again (asyncio test_locks: test_filling_one_task, test_filling_one_task_twice)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const barrier = new Barrier(1);
    loop.callSoon(() => log.push('other callback'));
    log.push(yield* barrier.wait());
    log.push(yield* barrier.wait());
    yield* sleep(0);
    log.assert([0, 0, 'other callback']);
    assert.equal(barrier.nWaiting, 0);
    assert.equal(barrier.broken, false);
  });
});

test('nWaiting counts arrivals until the last one trips the barrier (asyncio test_locks: test_filling_task_by_task)', async () => {
  await runInVirtualTime(function* (loop) {
    const barrier = new Barrier(3);
    const t1 = loop.createTask(barrier.wait());
    yield* sleep(0);
    assert.equal(barrier.nWaiting, 1);
    const t2 = loop.createTask(barrier.wait());
    yield* sleep(0);
    assert.equal(barrier.nWaiting, 2);
    assert.equal(barrier.state, 'filling');
    const t3 = loop.createTask(barrier.wait());
    assert.deepEqual(yield* joinAll([t1, t2, t3]), [0, 1, 2]);
    assert.equal(barrier.nWaiting, 0);
    assert.equal(barrier.state, 'filling');
    assert.equal(barrier.broken, false);
  });
});

test('wait() evaluates to the arrival index, cycle after cycle (asyncio test_locks: test_filling_tasks_wait_twice, test_filling_tasks_check_return_value)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const barrier = new Barrier(5);
    // Arrive in a different order the second time: staggered by sleeps.
    const tasks = startTasks(loop, 5, function* (i) {
      const first = yield* barrier.wait();
      log.push(['first', i, first]);
      yield* sleep(10 * (5 - i));
      const second = yield* barrier.wait();
      log.push(['second', i, second]);
      return [first, second];
    });
    const results = yield* joinAll(tasks);
    assert.deepEqual(results, [
      [0, 4],
      [1, 3],
      [2, 2],
      [3, 1],
      [4, 0],
    ]);
    // The last to arrive goes on first; the others follow in arrival order.
    log.assert([
      ['first', 4, 4],
      ['first', 0, 0],
      ['first', 1, 1],
      ['first', 2, 2],
      ['first', 3, 3],
      ['second', 0, 4],
      ['second', 4, 0],
      ['second', 3, 1],
      ['second', 2, 2],
      ['second', 1, 3],
    ]);
    assert.equal(barrier.nWaiting, 0);
    assert.equal(barrier.broken, false);
  });
});

test('the barrier drains until the last task has left (asyncio test_locks: test_draining_state)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const barrier = new Barrier(5);
    const tasks = startTasks(loop, 5, function* (i) {
      yield* barrier.wait();
      log.push([i, barrier.state]);
    });
    yield* joinAll(tasks);
    log.assert([
      [4, 'draining'],
      [0, 'draining'],
      [1, 'draining'],
      [2, 'draining'],
      [3, 'filling'],
    ]);
  });
});

test('a task that comes back while the barrier drains waits for the next cycle (asyncio test_locks: test_blocking_tasks_while_draining)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const barrier = new Barrier(5);
    const others = new Barrier(3);
    let rewait = 2;
    const tasks = startTasks(loop, 5, function* (i) {
      yield* barrier.wait();
      if (rewait > 0) {
        rewait--;
        log.push(['rewait', i, barrier.state]);
        return yield* barrier.wait();
      }
      yield* others.wait();
      return yield* barrier.wait();
    });
    const results = yield* joinAll(tasks);
    // 4 (the tripper) and 0 come back while the barrier drains and are held
    // until 3, the last to leave, ends the cycle; 3 trips `others` at once
    // and so arrives first in the second cycle. 1 and 2 come last.
    log.assert([
      ['rewait', 4, 'draining'],
      ['rewait', 0, 'draining'],
    ]);
    assert.deepEqual(results, [2, 3, 4, 0, 1]);
    assert.equal(barrier.state, 'filling');
  });
});

test('a task cancelled while the barrier fills just leaves; the barrier is not broken (asyncio test_locks: test_filling_tasks_cancel_one)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const barrier = new Barrier(3);
    const worker = (name: string): Task<void> =>
      loop.createTask(function* () {
        log.push([name, yield* barrier.wait()]);
      });
    const t1 = worker('t1');
    yield* sleep(0);
    const t2 = worker('t2');
    yield* sleep(0);
    assert.equal(barrier.nWaiting, 2);
    t1.cancel();
    yield* sleep(0);
    assert.equal(barrier.nWaiting, 1);
    assert.equal(t1.cancelled(), true);
    const t3 = worker('t3');
    yield* sleep(0);
    assert.equal(barrier.nWaiting, 2);
    const t4 = worker('t4');
    yield* joinAll([t2, t3, t4]);
    // The index is the count of tasks inside on arrival, as in asyncio: with
    // t1 gone, t3 arrives as the second one inside, like t2 before it.
    log.assert([
      ['t4', 2],
      ['t2', 1],
      ['t3', 1],
    ]);
    assert.equal(barrier.nWaiting, 0);
    assert.equal(barrier.broken, false);
  });
});

test('a task released by the barrier but cancelled before it runs gets CancelledError; the cycle still completes', async () => {
  await runInVirtualTime(function* (loop) {
    const barrier = new Barrier(3);
    const [t0, t1] = startTasks(loop, 2, () => barrier.wait()) as [Task<number>, Task<number>];
    yield* sleep(0);
    const t2 = loop.createTask(function* () {
      const index = yield* barrier.wait(); // trips the barrier
      t0.cancel(); // t0 was released, and has not run yet
      return index;
    });
    assert.equal(yield* t2, 2);
    try {
      yield* t0;
      assert.fail('t0 should be cancelled');
    } catch (error) {
      assert.ok(error instanceof CancelledError);
    }
    assert.equal(yield* t1, 1);
    assert.equal(barrier.state, 'filling');
    assert.equal(barrier.nWaiting, 0);
    // And the next cycle works.
    const again = startTasks(loop, 3, () => barrier.wait());
    assert.deepEqual(yield* joinAll(again), [0, 1, 2]);
  });
});

test('reset() of an idle barrier keeps it filling and not broken (asyncio test_locks: test_reset_barrier)', () => {
  const barrier = new Barrier(1);
  barrier.reset();
  assert.equal(barrier.nWaiting, 0);
  assert.equal(barrier.broken, false);
  assert.equal(barrier.state, 'filling');
});

test('reset() breaks the current cycle for its waiters, and the barrier is usable again (asyncio test_locks: test_reset_barrier_while_tasks_waiting)', async () => {
  await runInVirtualTime(function* (loop) {
    const barrier = new Barrier(5);
    const tasks = startTasks(loop, 4, () => waitOrBroken(barrier));
    yield* sleep(0);
    assert.equal(barrier.nWaiting, 4);
    barrier.reset();
    assert.equal(barrier.state, 'resetting');
    assert.equal(barrier.nWaiting, 0);
    assert.deepEqual(yield* joinAll(tasks), ['broken', 'broken', 'broken', 'broken']);
    assert.equal(barrier.state, 'filling');
    assert.equal(barrier.broken, false);
    const next = startTasks(loop, 5, () => waitOrBroken(barrier));
    assert.deepEqual(yield* joinAll(next), [0, 1, 2, 3, 4]);
  });
});

test('tasks broken by reset() can wait again and complete a full cycle (asyncio test_locks: test_reset_barrier_while_tasks_waiting_and_waiting_again)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const barrier = new Barrier(5);
    const tasks = startTasks(loop, 4, function* (i) {
      log.push([i, yield* waitOrBroken(barrier)]);
      return yield* barrier.wait();
    });
    yield* sleep(0);
    barrier.reset();
    yield* sleep(0);
    const fifth = loop.createTask(barrier.wait());
    const results = yield* joinAll([...tasks, fifth]);
    log.assert([
      [0, 'broken'],
      [1, 'broken'],
      [2, 'broken'],
      [3, 'broken'],
    ]);
    // 0, 1, 2 come back while the barrier resets and are held; 3, the last
    // to leave, ends the reset and arrives first in the new cycle.
    assert.deepEqual(results, [1, 2, 3, 0, 4]);
    assert.equal(barrier.broken, false);
    assert.equal(barrier.nWaiting, 0);
  });
});

test('abort() breaks the barrier: waiters and later arrivals get BrokenBarrierError until reset() (asyncio test_locks: test_abort_barrier)', async () => {
  await runInVirtualTime(function* (loop) {
    const barrier = new Barrier(3);
    const waiting = loop.createTask(barrier.wait());
    yield* sleep(0);
    barrier.abort();
    assert.equal(barrier.broken, true);
    assert.equal(barrier.nWaiting, 0);
    try {
      yield* waiting;
      assert.fail('should be broken');
    } catch (error) {
      assert.ok(error instanceof BrokenBarrierError);
      assert.match((error as Error).message, /aborted/);
    }
    assert.equal(yield* waitOrBroken(barrier), 'broken');
    barrier.reset();
    assert.equal(barrier.broken, false);
    const tasks = startTasks(loop, 3, () => barrier.wait());
    assert.deepEqual(yield* joinAll(tasks), [0, 1, 2]);
  });
});

test('a party that fails and aborts breaks the next cycle for everyone (asyncio test_locks: test_abort_barrier_when_exception)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const n = 5;
    const barrier = new Barrier(n);
    const tasks = startTasks(loop, n, function* (t) {
      const i = yield* waitOrBroken(barrier);
      if (i === 2) {
        barrier.abort();
        log.push(`t${t} aborted`);
        return;
      }
      if (i === 'broken') {
        log.push(`t${t} broken in cycle 1`);
        return;
      }
      log.push(`t${t} ${yield* waitOrBroken(barrier)} in cycle 2`);
    });
    yield* joinAll(tasks);
    assert.equal(barrier.broken, true);
    // t3 was released by cycle 1 but had not run yet when t2 aborted: like
    // asyncio, it sees the barrier broken. t4 and t0, t1 wait in cycle 2.
    log.assert(['t2 aborted', 't3 broken in cycle 1', 't4 broken in cycle 2', 't0 broken in cycle 2', 't1 broken in cycle 2']);
    assert.equal(barrier.nWaiting, 0);
  });
});

test('after an abort, the parties can synchronise on a second barrier, reset the first and use it again (asyncio test_locks: test_abort_barrier_when_exception_then_resetting)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const n = 5;
    const barrier1 = new Barrier(n);
    const barrier2 = new Barrier(n);
    const tasks = startTasks(loop, n, function* () {
      const i = yield* waitOrBroken(barrier1);
      if (i === 2) barrier1.abort();
      else if (i === 'broken') log.push(i);
      else log.push(yield* waitOrBroken(barrier1));
      const j = yield* barrier2.wait();
      if (j === 2) barrier1.reset();
      yield* barrier2.wait();
      return yield* barrier1.wait();
    });
    const results = yield* joinAll(tasks);
    log.assert(['broken', 'broken', 'broken', 'broken']);
    assert.deepEqual([...results].sort(), [0, 1, 2, 3, 4]);
    assert.equal(barrier1.broken, false);
    assert.equal(barrier1.nWaiting, 0);
  });
});
