/**
 * shield: an outer Future that follows the op but does not pass its
 * cancellation on. Mirrors CPython's test_asyncio/test_tasks.py test_shield_*
 * and test_gather_shield.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CancelledError, currentTask, EventLoop, gather, RuntimeError, shield, sleep } from '../../src/index.js';
import { assertLoopClean, runInVirtualTime } from '../../src/testing.js';
import { Log } from '../log.js';

function* ticks(n: number) {
  for (let i = 0; i < n; i++) yield* sleep(0);
}

test('the inner result reaches the outer (asyncio test_tasks: test_shield_result)', async () => {
  await runInVirtualTime(function* (loop) {
    const inner = loop.createFuture<number>();
    const outer = shield(inner);
    assert.notEqual(outer, inner);
    inner.setResult(42);
    assert.equal(yield* outer, 42);
  });
});

test('the inner exception reaches the outer (asyncio test_tasks: test_shield_exception)', async () => {
  await runInVirtualTime(function* (loop) {
    const inner = loop.createFuture<number>();
    const outer = shield(inner);
    const exc = new RangeError('zero division');
    inner.setException(exc);
    yield* ticks(1);
    assert.equal(outer.exception(), exc);
    yield* ticks(1); // let the outer's own done-callback run
  });
});

test('cancelling the inner cancels the outer (asyncio test_tasks: test_shield_cancel_inner)', async () => {
  await runInVirtualTime(function* (loop) {
    const inner = loop.createFuture<number>();
    const outer = shield(inner);
    inner.cancel('inner gone');
    yield* ticks(1);
    assert.equal(outer.cancelled(), true);
    assert.equal(outer.cancelMessage, 'inner gone');
    yield* ticks(1);
  });
});

test('cancelling the outer leaves the inner pending and unhooks from it (asyncio test_tasks: test_shield_cancel_outer)', async () => {
  await runInVirtualTime(function* (loop) {
    const inner = loop.createFuture<number>();
    const outer = shield(inner);
    assert.equal(inner.waiterCount, 1);
    assert.equal(outer.cancel(), true);
    yield* ticks(1);
    assert.equal(outer.cancelled(), true);
    assert.equal(inner.cancelled(), false);
    assert.equal(inner.done(), false);
    assert.equal(inner.waiterCount, 0);
    inner.setResult(1); // nobody listens; nothing breaks
  });
});

test('an op already done is returned as it is (asyncio test_tasks: test_shield_shortcut)', async () => {
  await runInVirtualTime(function* (loop) {
    const fut = loop.createFuture<number>();
    fut.setResult(42);
    const res = shield(fut);
    assert.equal(res, fut);
    assert.equal(yield* res, 42);
  });
});

test('cancelling the task that waits on shield(coroutine) does not stop the coroutine (asyncio test_tasks: test_shield_effect)', async () => {
  await runInVirtualTime(function* (loop) {
    const log = new Log();
    let proof = 0;
    const waiter = loop.createFuture<void>();
    function* inner() {
      yield* waiter;
      proof += 1;
      log.push('inner finished');
    }
    const outer = loop.createTask(function* () {
      yield* shield(inner);
      proof += 100;
    });
    yield* ticks(2);
    outer.cancel();
    try {
      yield* outer;
      assert.fail('outer should be cancelled');
    } catch (error) {
      assert.ok(error instanceof CancelledError);
      log.push('outer cancelled');
    }
    waiter.setResult();
    yield* ticks(2);
    assert.equal(proof, 1);
    log.assert(['outer cancelled', 'inner finished']);
  });
});

test('shield(gather(...)): cancelling the shield leaves the gather running to its results (asyncio test_tasks: test_shield_gather)', async () => {
  await runInVirtualTime(function* (loop) {
    const child1 = loop.createFuture<number>();
    const child2 = loop.createFuture<number>();
    const parent = gather(child1, child2);
    const outer = shield(parent);
    yield* ticks(1);
    outer.cancel();
    yield* ticks(1);
    assert.equal(outer.cancelled(), true);
    child1.setResult(1);
    child2.setResult(2);
    assert.deepEqual(yield* parent, [1, 2]);
  });
});

test('gather(shield(a), shield(b)): cancelling the gather cancels the shields, not the children (asyncio test_tasks: test_gather_shield)', async () => {
  await runInVirtualTime(function* (loop) {
    const child1 = loop.createFuture<number>();
    const child2 = loop.createFuture<number>();
    const inner1 = shield(child1);
    const inner2 = shield(child2);
    const parent = gather(inner1, inner2);
    yield* ticks(1);
    assert.equal(parent.cancel(), true);
    yield* ticks(2);
    assert.ok(parent.exception() instanceof CancelledError);
    assert.equal(inner1.cancelled(), true);
    assert.equal(inner2.cancelled(), true);
    assert.equal(child1.cancelled(), false);
    assert.equal(child2.cancelled(), false);
    child1.setResult(1);
    child2.setResult(2);
    yield* ticks(1);
  });
});

test('a coroutine op runs as a task on the running loop, at the caller\'s priority (asyncio test_tasks: test_shield_coroutine_use_running_loop)', async () => {
  await runInVirtualTime(function* (loop) {
    const high = loop.createTask(
      function* () {
        const caller = currentTask();
        const outer = shield(function* () {
          yield* sleep(10);
          const self = currentTask();
          return [self !== caller && self !== null, self?.priority] as const;
        });
        assert.equal(outer.loop, loop);
        return yield* outer;
      },
      { priority: 'high' },
    );
    assert.deepEqual(yield* high, [true, 'high']);
    assert.equal(loop.time(), 10);
  });
});

test('outside a running loop, shield(coroutine) throws RuntimeError; shield(future) works on its loop (asyncio test_tasks: test_shield_coroutine_without_loop)', () => {
  let started = false;
  assert.throws(
    () =>
      shield(function* () {
        started = true;
      }),
    RuntimeError,
  );
  assert.equal(started, false);
  const loop = new EventLoop({ clock: 'virtual' });
  const inner = loop.createFuture<number>();
  const outer = shield(inner);
  assert.equal(outer.loop, loop);
  assertLoopClean(loop);
});

test('the outer cancelled first, the inner later fails: the outer stays cancelled, the error is retrieved (asyncio tasks.py shield: _inner_done_callback)', async () => {
  await runInVirtualTime(function* (loop) {
    const inner = loop.createTask(function* () {
      yield* sleep(10);
      throw new RangeError('late');
    });
    const outer = shield(inner);
    const waiting = loop.createTask(function* () {
      return yield* outer;
    });
    yield* sleep(5);
    waiting.cancel();
    yield* sleep(10);
    assert.equal(waiting.cancelled(), true);
    assert.equal(outer.cancelled(), true);
    assert.ok(inner.exception() instanceof RangeError);
  });
});

test('a bad op is a TypeError (eventide: bad input)', () => {
  assert.throws(() => shield(7 as never), /shield: op must be a Future, a Task, an operation .* got 7/);
});
