/**
 * gather: results in op order, fail-fast, returnExceptions, cancellation
 * broadcast. Mirrors CPython's test_asyncio/test_tasks.py GatherTestsBase,
 * FutureGatherTests, CoroutineGatherTests and test_cancel_gather_*.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CancelledError, currentTask, EventLoop, gather, RuntimeError, sleep, type Future } from '../../src/index.js';
import { assertLoopClean, runInVirtualTime } from '../../src/testing.js';
import { Log } from '../log.js';

function newFuture(loop: EventLoop): Future<number> {
  return loop.createFuture<number>();
}

/** Lets `n` ticks of callbacks run. */
function* ticks(n: number) {
  for (let i = 0; i < n; i++) yield* sleep(0);
}

function* after<T>(ms: number, value: T) {
  yield* sleep(ms);
  return value;
}

test('results come back in op order, not completion order; gather settles when the last op does (asyncio test_tasks: GatherTestsBase._check_success)', async () => {
  await runInVirtualTime(function* (loop) {
    const log = new Log();
    const [a, b, c] = [loop.createFuture<number>(), loop.createFuture<number>(), loop.createFuture<number>()];
    const fut = gather(a, b, c);
    fut.addDoneCallback(() => log.push(`gather done at ${loop.time()}`));
    loop.callLater(10, () => b.setResult(1));
    loop.callLater(20, () => a.setResult(2));
    loop.callLater(30, () => c.setResult(3));
    yield* sleep(25);
    assert.equal(fut.done(), false);
    const results = yield* fut;
    assert.deepEqual(results, [2, 1, 3]);
    assert.equal(loop.time(), 30);
    yield* ticks(1);
    log.assert(['gather done at 30']);
  });
});

test('coroutines and generator functions run as tasks, concurrently (asyncio test_tasks: CoroutineGatherTests wrap_futures)', async () => {
  await runInVirtualTime(function* (loop) {
    const results = yield* gather(after(30, 'a'), function* () { return yield* after(10, 'b'); }, after(20, 'c'));
    assert.deepEqual(results, ['a', 'b', 'c']);
    assert.equal(loop.time(), 30); // concurrent: 30 ms in all, not 60
  });
});

test('the first exception settles gather at once; the other ops keep running (asyncio test_tasks: test_one_exception)', async () => {
  await runInVirtualTime(function* (loop) {
    const log = new Log();
    const boom = new Error('boom');
    const slow = loop.createTask(function* () {
      yield* sleep(50);
      log.push(`slow finished at ${loop.time()}`);
      return 'slow';
    });
    const g = gather(
      function* () {
        yield* sleep(10);
        throw boom;
      },
      slow,
    );
    try {
      yield* g;
      assert.fail('gather should have thrown');
    } catch (error) {
      assert.equal(error, boom);
      log.push(`caught at ${loop.time()}`);
    }
    assert.equal(g.exception(), boom);
    assert.equal(yield* slow, 'slow');
    log.assert(['caught at 10', 'slow finished at 50']);
  });
});

test('after gather failed, the later outcomes of other children change nothing (asyncio test_tasks: test_one_exception "Does nothing")', async () => {
  await runInVirtualTime(function* (loop) {
    const [a, b, c, d, e] = [newFuture(loop), newFuture(loop), newFuture(loop), newFuture(loop), newFuture(loop)];
    const fut = gather(a, b, c, d, e);
    const log = new Log();
    fut.addDoneCallback(() => log.push('done'));
    const exc = new RangeError('zero division');
    a.setResult(1);
    b.setException(exc);
    yield* ticks(2);
    log.assert(['done']);
    assert.equal(fut.exception(), exc);
    c.setResult(3);
    d.cancel();
    e.setException(new Error('later'));
    yield* ticks(1);
    assert.equal(fut.exception(), exc);
    log.assert([]);
  });
});

test('returnExceptions: exceptions are results, in op order, and gather waits for all (asyncio test_tasks: test_return_exceptions)', async () => {
  await runInVirtualTime(function* (loop) {
    const [a, b, c, d] = [newFuture(loop), newFuture(loop), newFuture(loop), newFuture(loop)];
    const fut = gather([a, b, c, d], { returnExceptions: true });
    const exc = new RangeError('zero division');
    const exc2 = new Error('runtime');
    b.setResult(1);
    c.setException(exc);
    a.setResult(3);
    yield* ticks(2);
    assert.equal(fut.done(), false);
    d.setException(exc2);
    const results = yield* fut;
    assert.deepEqual(results, [3, 1, exc, exc2]);
    assert.equal(results[2], exc);
  });
});

test('a cancelled child fails gather with CancelledError; gather itself is not cancelled (asyncio test_tasks: test_one_cancellation)', async () => {
  await runInVirtualTime(function* (loop) {
    const [a, b, c] = [newFuture(loop), newFuture(loop), newFuture(loop)];
    const fut = gather(a, b, c);
    a.setResult(1);
    b.cancel('b went away');
    yield* ticks(2);
    assert.equal(fut.done(), true);
    assert.equal(fut.cancelled(), false);
    const exception = fut.exception();
    assert.ok(exception instanceof CancelledError);
    assert.equal(exception.message, 'b went away');
    c.setResult(3); // does nothing
    yield* ticks(1);
    assert.equal(fut.exception(), exception);
  });
});

test('returnExceptions: cancelled children give CancelledError results (asyncio test_tasks: test_result_exception_one_cancellation)', async () => {
  await runInVirtualTime(function* (loop) {
    const [a, b, c, d, e, f] = [newFuture(loop), newFuture(loop), newFuture(loop), newFuture(loop), newFuture(loop), newFuture(loop)];
    const fut = gather([a, b, c, d, e, f], { returnExceptions: true });
    const zde = new RangeError('zero division');
    const rte = new Error('runtime');
    a.setResult(1);
    b.setException(zde);
    c.cancel();
    yield* ticks(2);
    assert.equal(fut.done(), false);
    d.setResult(3);
    e.cancel();
    f.setException(rte);
    const results = yield* fut;
    assert.ok(results[2] instanceof CancelledError);
    assert.ok(results[4] instanceof CancelledError);
    assert.deepEqual([results[0], results[1], results[3], results[5]], [1, zde, 3, rte]);
  });
});

test('cancelling the task awaiting gather cancels every child; gather then refuses cancel() (asyncio test_tasks: test_cancellation_broadcast)', async () => {
  await runInVirtualTime(function* (loop) {
    let proof = 0;
    const waiter = loop.createFuture<void>();
    function* inner() {
      yield* waiter;
      proof += 1;
    }
    const child1 = loop.createTask(inner);
    const child2 = loop.createTask(inner);
    let gatherer: Future<unknown> | null = null;
    const outer = loop.createTask(function* () {
      gatherer = gather(child1, child2);
      yield* gatherer;
      proof += 100;
    });
    yield* ticks(1);
    assert.equal(outer.cancel(), true);
    yield* assertCancelled(outer);
    assert.equal((gatherer as Future<unknown> | null)?.cancel(), false);
    assert.equal(waiter.cancelled(), true);
    assert.equal(child1.cancelled(), true);
    assert.equal(child2.cancelled(), true);
    yield* ticks(1);
    assert.equal(proof, 0);
  });
});

test('gather.cancel() after every child is done returns false and the results stand (asyncio test_tasks: test_cancel_gather_1, bpo-26923)', async () => {
  await runInVirtualTime(function* (loop) {
    const fut = loop.createFuture<number>();
    const gatherFuture = gather(function* () {
      return yield* fut;
    });
    yield* ticks(1); // the child starts and waits on fut
    let cancelResult: boolean | null = null;
    fut.addDoneCallback(() => {
      cancelResult = gatherFuture.cancel();
    });
    fut.setResult(42); // the child finishes in the same tick as the callback runs
    const results = yield* gatherFuture;
    assert.equal(cancelResult, false);
    assert.equal(gatherFuture.cancelled(), false);
    assert.deepEqual(results, [42]);
  });
});

test('cancelling a gather with returnExceptions still cancels the caller, with the message (asyncio test_tasks: test_cancel_gather_2, bpo-32684)', async () => {
  await runInVirtualTime(function* (loop) {
    let rounds = 0;
    const worker = loop.createTask(function* () {
      while (rounds < 10) {
        yield* gather([function* () { yield* sleep(50); }], { returnExceptions: true });
        rounds++;
      }
    });
    yield* sleep(220);
    worker.cancel('my message');
    try {
      yield* worker;
      assert.fail('worker should be cancelled');
    } catch (error) {
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, 'my message');
    }
    assert.equal(worker.cancelled(), true);
    assert.equal(rounds, 4);
    assert.equal(loop.time(), 220);
  });
});

test('gather() with no ops is an already-done future of [] on the running loop (asyncio test_tasks: test_constructor_empty_sequence_use_running_loop)', async () => {
  await runInVirtualTime(function* (loop) {
    const fut = gather();
    assert.equal(fut.loop, loop);
    assert.equal(fut.done(), true);
    assert.deepEqual(yield* fut, []);
    assert.deepEqual(yield* gather([], { returnExceptions: true }), []);
  });
});

test('outside a running loop, gather() and gather of coroutines throw RuntimeError (asyncio test_tasks: test_constructor_empty_sequence_without_loop, test_constructor_without_loop)', () => {
  assert.throws(() => gather(), RuntimeError);
  let started = false;
  assert.throws(
    () =>
      gather(function* () {
        started = true;
      }),
    /no running event loop/,
  );
  assert.equal(started, false);
});

test('gather of futures works on their loop even when it is not running (asyncio test_tasks: test_constructor_homogenous_futures)', () => {
  const loop = new EventLoop({ clock: 'virtual' });
  const children = [loop.createFuture<number>(), loop.createFuture<number>()];
  const fut = gather(...children);
  assert.equal(fut.loop, loop);
  assert.equal(fut.done(), false);
  assertLoopClean(loop);
});

test('futures of different loops: RuntimeError, and no task is created (asyncio test_tasks: test_constructor_heterogenous_futures)', async () => {
  const other = new EventLoop({ clock: 'virtual' });
  await runInVirtualTime(function* (loop) {
    const mine = loop.createFuture<number>();
    const theirs = other.createFuture<number>();
    assert.throws(() => gather(function* () { return 1; }, mine, theirs), /gather: .* \(at index 2\) belongs to a different event loop/);
    assert.equal(loop.allTasks().length, 1); // only main
  });
  assertLoopClean(other);
});

test('the same coroutine object given twice runs once and fills every slot; a generator function given twice runs twice (asyncio test_tasks: test_duplicate_coroutines)', async () => {
  await runInVirtualTime(function* () {
    let runs = 0;
    function* coro(s: string) {
      runs++;
      yield* sleep(1);
      return s;
    }
    const c = coro('abc');
    assert.deepEqual(yield* gather(c, c, coro('def'), c), ['abc', 'abc', 'def', 'abc']);
    assert.equal(runs, 2);
    const fn = () => coro('x');
    assert.deepEqual(yield* gather(fn, fn), ['x', 'x']);
    assert.equal(runs, 4);
  });
});

test('a bad op is a TypeError naming its index, thrown before any task is created (asyncio test_tasks: test_issue46672)', async () => {
  await runInVirtualTime(function* (loop) {
    const bad: unknown[] = [42, Promise.resolve(1), [loop.createFuture()]];
    for (const op of bad) {
      assert.throws(() => gather(function* () { return 1; }, op as never), (error: unknown) => error instanceof TypeError && /gather: op 1 must be/.test(error.message));
    }
    assert.throws(() => gather(function* () {}, Promise.resolve(1) as never), /until\(promise\)/);
    let ran = false;
    assert.throws(
      () =>
        gather((async () => {
          ran = true;
        }) as never),
      /gather: op 0 is an async function/,
    );
    assert.equal(ran, false);
    assert.throws(() => gather((() => 5) as never), /returned 5, not a generator/);
    assert.equal(loop.allTasks().length, 1); // only main
  });
});

test('gather(ops, options): options must be an object and returnExceptions a boolean (eventide: call shapes)', async () => {
  await runInVirtualTime(function* (loop) {
    const f = loop.createFuture<number>();
    assert.throws(() => gather([f], 'yes' as never), /options must be an object/);
    assert.throws(() => gather([f], { returnExceptions: 1 as never }), /returnExceptions must be a boolean, got 1/);
    assert.throws(() => (gather as (...args: unknown[]) => unknown)([f], {}, {}), /only other argument may be the options/);
    assert.throws(() => (gather as (...args: unknown[]) => unknown)(f, { returnExceptions: true }), {
      name: 'TypeError',
      message: 'gather: options go with the array shape, gather([a, b], { returnExceptions: true }); given ops one by one, the last one (op 1) was an Object',
    });
    f.setResult(1);
    assert.deepEqual(yield* gather([f]), [1]);
  });
});

test('a failure later in the caller is the one reported: gather marks later child errors retrieved (asyncio test_tasks: test_exception_marking)', async () => {
  await runInVirtualTime(function* (loop) {
    const a = loop.createFuture<void>();
    const b = loop.createFuture<void>();
    function* inner(f: Future<void>, label: string) {
      yield* f;
      throw new Error(label);
    }
    const outer = loop.createTask(function* () {
      yield* gather(inner(a, 'a failed'), inner(b, 'b failed'));
    });
    yield* ticks(2);
    a.setResult();
    yield* ticks(3);
    b.setResult();
    yield* ticks(3);
    assert.equal(outer.done(), true);
    assert.equal((outer.exception() as Error).message, 'a failed');
  });
});

test('children created by gather inherit the calling task\'s priority (eventide: priorities)', async () => {
  await runInVirtualTime(function* (loop) {
    const high = loop.createTask(
      function* () {
        return yield* gather(function* () { return currentTask()?.priority; }, function* () { return currentTask()?.priority; });
      },
      { priority: 'high' },
    );
    assert.deepEqual(yield* high, ['high', 'high']);
    assert.deepEqual(yield* gather(function* () { return currentTask()?.priority; }), ['normal']);
  });
});

function* assertCancelled(task: Future<unknown>) {
  try {
    yield* task;
  } catch (error) {
    assert.ok(error instanceof CancelledError, `expected CancelledError, got ${error}`);
    return;
  }
  assert.fail(`${task} was not cancelled`);
}
