/**
 * Future: states, callbacks, `yield*` / `await`, unretrieved exceptions.
 * Mirrors the behaviour pinned by CPython's test_asyncio/test_futures.py.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CancelledError, EventLoop, InvalidStateError, isFuture, sleep, until } from '../../src/index.js';
import type { ExceptionContext } from '../../src/index.js';
import { assertLoopClean, runInVirtualTime } from '../../src/testing.js';
import { collectUntil } from '../gc.js';
import { Log } from '../log.js';

function newLoop(debug = false): EventLoop {
  return new EventLoop({ clock: 'virtual', debug });
}

// ------------------------------------------------------------------ state

test('a new future is pending: not done, not cancelled (asyncio test_futures: test_initial_state)', () => {
  const loop = newLoop();
  const f = loop.createFuture<number>();
  assert.equal(f.done(), false);
  assert.equal(f.cancelled(), false);
  assert.equal(f.getLoop(), loop);
  assert.equal(f.loop, loop);
  assert.ok(isFuture(f));
  assert.equal(isFuture({ then() {} }), false);
  assert.equal(isFuture(1), false);
  assert.equal(String(f), `<Future #${f.id} pending>`);
  assertLoopClean(loop);
});

test('result() and exception() of a pending future throw InvalidStateError (asyncio test_futures: test_result, test_exception)', () => {
  const loop = newLoop();
  const f = loop.createFuture<number>();
  assert.throws(() => f.result(), InvalidStateError);
  assert.throws(() => f.exception(), InvalidStateError);
  assert.throws(() => f.result(), /result\(\): <Future #\d+ pending> is not done yet/);
  assert.equal(f.done(), false);
  assertLoopClean(loop);
});

test('setResult: done with the value, exception() is null, a second settle throws InvalidStateError and changes nothing (asyncio test_futures: test_result)', () => {
  const loop = newLoop();
  const f = loop.createFuture<number>();
  f.setResult(42);
  assert.equal(f.done(), true);
  assert.equal(f.cancelled(), false);
  assert.equal(f.result(), 42);
  assert.equal(f.exception(), null);
  assert.throws(() => f.setResult(7), InvalidStateError);
  assert.throws(() => f.setException(new Error('late')), InvalidStateError);
  assert.throws(() => f.setResult(7), /setResult: <Future #\d+ finished> is already finished/);
  assert.equal(f.cancel(), false);
  assert.equal(f.cancelled(), false);
  assert.equal(f.result(), 42);
  assert.equal(f.exception(), null);
  assertLoopClean(loop);
});

test('setException: result() rethrows the same object, exception() returns it, later settles are refused (asyncio test_futures: test_exception)', () => {
  const loop = newLoop();
  const f = loop.createFuture<number>();
  const boom = new RangeError('boom');
  f.setException(boom);
  assert.equal(f.done(), true);
  assert.equal(f.cancelled(), false);
  assert.throws(
    () => f.result(),
    (e) => e === boom,
  );
  assert.equal(f.exception(), boom);
  assert.throws(() => f.setResult(1), InvalidStateError);
  assert.throws(() => f.setException(new Error('other')), InvalidStateError);
  assert.equal(f.cancel(), false);
  assert.equal(f.exception(), boom);
  assertLoopClean(loop);
});

test('a non-Error exception value is kept as is (asyncio test_futures: test_exception_class)', () => {
  const loop = newLoop();
  const f = loop.createFuture<number>();
  f.setException('just a string');
  assert.equal(f.exception(), 'just a string');
  assert.throws(
    () => f.result(),
    (e) => e === 'just a string',
  );
  assertLoopClean(loop);
});

test('cancel() returns true once, then false; the future is done and cancelled (asyncio test_futures: test_cancel)', () => {
  const loop = newLoop();
  const f = loop.createFuture<number>();
  assert.equal(f.cancel(), true);
  assert.equal(f.cancelled(), true);
  assert.equal(f.done(), true);
  assert.equal(f.cancel(), false);
  assert.equal(f.cancel('again'), false);
  assert.throws(() => f.result(), CancelledError);
  assert.throws(() => f.exception(), CancelledError);
  assert.throws(() => f.setResult(1), InvalidStateError);
  assert.throws(() => f.setException(new Error('x')), InvalidStateError);
  assert.equal(f.cancelled(), true);
  assert.equal(String(f), `<Future #${f.id} cancelled>`);
  assertLoopClean(loop);
});

test('result() of a future cancelled with a message throws CancelledError with that message (asyncio test_futures: test_future_cancel_message_getter)', () => {
  const loop = newLoop();
  const f = loop.createFuture<number>();
  assert.equal(f.cancelMessage, undefined);
  f.cancel('my message');
  assert.equal(f.cancelMessage, 'my message');
  // A second cancel does not replace the message.
  f.cancel('other message');
  assert.equal(f.cancelMessage, 'my message');
  assert.throws(
    () => f.result(),
    (e) => e instanceof CancelledError && e.message === 'my message' && e.name === 'CancelledError',
  );
  assert.throws(
    () => f.exception(),
    (e) => e instanceof CancelledError && e.message === 'my message',
  );
  assertLoopClean(loop);
});

test('cancel() without a message gives a CancelledError with the default message', () => {
  const loop = newLoop();
  const f = loop.createFuture<number>();
  f.cancel();
  assert.throws(
    () => f.result(),
    (e) => e instanceof CancelledError && e.message === 'cancelled',
  );
  assertLoopClean(loop);
});

// -------------------------------------------------------------- callbacks

test('done-callbacks are not called inside setResult; they run on the next tick in the order added (asyncio test_futures: test_callbacks_invoked_on_set_result)', () => {
  const loop = newLoop();
  const log = new Log();
  const f = loop.createFuture<string>();
  f.addDoneCallback((fut) => log.push(['cb1', fut.result()]));
  f.addDoneCallback((fut) => log.push(['cb2', fut.result()]));
  f.addDoneCallback((fut) => log.push(['cb3', fut === f]));
  f.setResult('foo');
  log.push('after setResult');
  log.assert(['after setResult']);
  assert.equal(loop.statistics().ready, 3);
  loop.runOnce(0);
  log.assert([['cb1', 'foo'], ['cb2', 'foo'], ['cb3', true]]);
  loop.runOnce(0);
  log.assertEmpty();
  assertLoopClean(loop);
});

test('done-callbacks run after setException and after cancel (asyncio test_futures: test_callbacks_invoked_on_set_exception)', () => {
  const loop = newLoop();
  const log = new Log();
  const failed = loop.createFuture<string>();
  const cancelled = loop.createFuture<string>();
  const boom = new Error('boom');
  failed.addDoneCallback((fut) => log.push(['failed', fut.exception() === boom]));
  cancelled.addDoneCallback((fut) => log.push(['cancelled', fut.cancelled()]));
  failed.setException(boom);
  cancelled.cancel();
  log.assertEmpty();
  loop.runOnce(0);
  log.assert([
    ['failed', true],
    ['cancelled', true],
  ]);
  assertLoopClean(loop);
});

test('a callback added after the future is done is scheduled, not called inline', () => {
  const loop = newLoop();
  const log = new Log();
  const f = loop.createFuture<number>();
  f.setResult(5);
  f.addDoneCallback((fut) => log.push(fut.result()));
  log.push('added');
  log.assert(['added']);
  loop.runOnce(0);
  log.assert([5]);
  assertLoopClean(loop);
});

test('callbacks scheduled by a settle queue behind callbacks already queued in the same lane', () => {
  const loop = newLoop();
  const log = new Log();
  const f = loop.createFuture<number>();
  f.addDoneCallback(() => log.push('done-callback'));
  loop.callSoon(() => log.push('queued before'));
  f.setResult(1);
  loop.callSoon(() => log.push('queued after'));
  loop.runOnce(0);
  log.assert(['queued before', 'done-callback', 'queued after']);
  assertLoopClean(loop);
});

test('removeDoneCallback returns how many registrations it removed, and removed callbacks never run (asyncio test_futures: test_remove_done_callback)', () => {
  const loop = newLoop();
  const log = new Log();
  const f = loop.createFuture<string>();
  const cb1 = (): void => log.push(1);
  const cb2 = (): void => log.push(2);
  const cb3 = (): void => log.push(3);
  f.addDoneCallback(cb1);
  f.addDoneCallback(cb2);
  assert.equal(f.removeDoneCallback(cb2), 1);
  assert.equal(f.removeDoneCallback(cb3), 0);
  f.addDoneCallback(cb2);
  for (let i = 0; i < 5; i++) f.addDoneCallback(cb1);
  assert.equal(f.waiterCount, 7);
  assert.equal(f.removeDoneCallback(cb1), 6);
  assert.equal(f.waiterCount, 1);
  f.setResult('x');
  loop.runOnce(0);
  log.assert([2]);
  assertLoopClean(loop);
});

test('removing the first registered callback keeps the others in order (asyncio test_futures: test_callbacks_remove_first_callback)', () => {
  const loop = newLoop();
  const log = new Log();
  const f = loop.createFuture<string>();
  const cb1 = (): void => log.push(42);
  const cb2 = (): void => log.push(17);
  const cb3 = (): void => log.push(100);
  f.addDoneCallback(cb1);
  f.addDoneCallback(cb2);
  f.addDoneCallback(cb3);
  assert.equal(f.removeDoneCallback(cb1), 1);
  assert.equal(f.removeDoneCallback(cb1), 0);
  f.setResult('foo');
  loop.runOnce(0);
  log.assert([17, 100]);
  assert.equal(f.result(), 'foo');
  assertLoopClean(loop);
});

test('removing the first and second callbacks leaves the third (asyncio test_futures: test_callbacks_remove_first_and_second_callback)', () => {
  const loop = newLoop();
  const log = new Log();
  const f = loop.createFuture<string>();
  const cb1 = (): void => log.push(42);
  const cb2 = (): void => log.push(17);
  const cb3 = (): void => log.push(100);
  f.addDoneCallback(cb1);
  f.addDoneCallback(cb2);
  f.addDoneCallback(cb3);
  f.removeDoneCallback(cb1);
  f.removeDoneCallback(cb2);
  f.removeDoneCallback(cb1);
  f.setResult('foo');
  loop.runOnce(0);
  log.assert([100]);
  assertLoopClean(loop);
});

test('removing the third callback leaves the first two in order (asyncio test_futures: test_callbacks_remove_third_callback)', () => {
  const loop = newLoop();
  const log = new Log();
  const f = loop.createFuture<string>();
  const cb1 = (): void => log.push(42);
  const cb2 = (): void => log.push(17);
  const cb3 = (): void => log.push(100);
  f.addDoneCallback(cb1);
  f.addDoneCallback(cb2);
  f.addDoneCallback(cb3);
  assert.equal(f.removeDoneCallback(cb3), 1);
  assert.equal(f.removeDoneCallback(cb3), 0);
  f.setResult('foo');
  loop.runOnce(0);
  log.assert([42, 17]);
  assertLoopClean(loop);
});

test("a 'critical' done-callback runs before normal callbacks queued earlier", () => {
  const loop = newLoop();
  const log = new Log();
  const f = loop.createFuture<number>();
  loop.callSoon(() => log.push('normal callSoon'));
  f.addDoneCallback(() => log.push('normal done-callback'));
  f.addDoneCallback(() => log.push('critical done-callback'), { priority: 'critical' });
  f.addDoneCallback(() => log.push('idle done-callback'), { priority: 'idle' });
  f.setResult(1);
  loop.runOnce(0);
  log.assert(['critical done-callback', 'normal callSoon', 'normal done-callback', 'idle done-callback']);
  assertLoopClean(loop);
});

test('addDoneCallback with a bad callback or priority throws TypeError and registers nothing', () => {
  const loop = newLoop();
  const f = loop.createFuture<number>();
  assert.throws(() => f.addDoneCallback(42 as never), /addDoneCallback: callback must be a function, got 42/);
  assert.throws(() => f.addDoneCallback(() => {}, { priority: 'urgent' as never }), (e) => e instanceof TypeError && /"urgent"/.test(e.message));
  assert.throws(() => f.addDoneCallback(() => {}, 'critical' as never), {
    name: 'TypeError',
    message: `addDoneCallback: options must be an object such as { priority: 'high' }, got "critical"`,
  });
  assert.equal(f.waiterCount, 0);
  f.setResult(1);
  assert.equal(loop.statistics().ready, 0);
  assertLoopClean(loop);
});

test('an exception in a done-callback goes to the exception handler and the next callbacks still run', () => {
  const loop = newLoop();
  const log = new Log();
  const contexts: ExceptionContext[] = [];
  loop.setExceptionHandler((context, handlerLoop) => {
    assert.equal(handlerLoop, loop);
    contexts.push(context);
  });
  const f = loop.createFuture<number>();
  const boom = new Error('callback failed');
  f.addDoneCallback(() => {
    log.push('first');
    throw boom;
  });
  f.addDoneCallback(() => log.push('second'));
  f.setResult(1);
  loop.runOnce(0);
  log.assert(['first', 'second']);
  assert.equal(contexts.length, 1);
  assert.equal(contexts[0]?.exception, boom);
  assert.match(contexts[0]?.message ?? '', /^Exception in callback/);
  assert.ok(contexts[0]?.handle);
  assertLoopClean(loop);
});

// ------------------------------------------------------- yield* and await

test('yield* future suspends the task until the future is done and evaluates to its result', async () => {
  const log = new Log();
  const result = await runInVirtualTime(function* (loop) {
    const f = loop.createFuture<number>();
    loop.callLater(5, () => {
      log.push(['set at', loop.time()]);
      f.setResult(42);
    });
    const value: number = yield* f;
    log.push(['resumed at', loop.time(), value]);
    return value * 2;
  });
  assert.equal(result, 84);
  log.assert([
    ['set at', 5],
    ['resumed at', 5, 42],
  ]);
});

test('yield* future throws the future\'s exception, or CancelledError with the cancel message, at the yield*', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const failed = loop.createFuture<number>();
    const cancelled = loop.createFuture<number>();
    const boom = new Error('boom');
    loop.callLater(1, () => failed.setException(boom));
    loop.callLater(2, () => cancelled.cancel('stop it'));
    try {
      yield* failed;
    } catch (e) {
      log.push(['failed', e === boom, loop.time()]);
    }
    try {
      yield* cancelled;
    } catch (e) {
      log.push(['cancelled', e instanceof CancelledError, (e as Error).message, loop.time()]);
    }
  });
  log.assert([
    ['failed', true, 1],
    ['cancelled', true, 'stop it', 2],
  ]);
});

test('yield* of a future that is already done does not suspend the task (asyncio test_futures: test_yield_from_twice)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const f = loop.createFuture<number>();
    loop.callSoon(() => f.setResult(42));
    const first = yield* f;
    loop.callSoon(() => log.push('other callback'));
    const second = yield* f;
    log.push(['both', first, second]);
    yield* sleep(0);
  });
  log.assert([['both', 42, 42], 'other callback']);
});

test("a future's iterator yields the future itself while pending and returns the result once done (asyncio test_futures: test_future_stop_iteration_args)", () => {
  const loop = newLoop();
  const f = loop.createFuture<[number, number]>();
  const it = f[Symbol.iterator]();
  assert.deepEqual(it.next(), { value: f, done: false });
  f.setResult([1, 2]);
  assert.deepEqual(it.next(), { value: [1, 2], done: true });
  assertLoopClean(loop);
});

test('await future resolves with the result without any loop tick', async () => {
  const loop = newLoop();
  const f = loop.createFuture<string>();
  const waiting = (async () => await f)();
  f.setResult('hello');
  assert.equal(await waiting, 'hello');
  assert.equal(loop.statistics().ready, 0);
  assertLoopClean(loop);
});

test('await future rejects with its exception, and with CancelledError (carrying the message) when cancelled', async () => {
  const loop = newLoop();
  const failed = loop.createFuture<string>();
  const cancelled = loop.createFuture<string>();
  const boom = new TypeError('bad');
  const a = (async () => await failed)();
  const b = (async () => await cancelled)();
  failed.setException(boom);
  cancelled.cancel('nope');
  await assert.rejects(a, (e) => e === boom);
  await assert.rejects(b, (e) => e instanceof CancelledError && e.message === 'nope');
  assertLoopClean(loop);
});

test('await of an already-done future resolves, and then() chains like a promise', async () => {
  const loop = newLoop();
  const f = loop.createFuture<number>();
  f.setResult(20);
  assert.equal(await f, 20);
  const doubled = await f.then((v) => v * 2);
  assert.equal(doubled, 40);
  const failed = loop.createFuture<number>();
  failed.setException(new Error('x'));
  const recovered = await failed.then(
    () => 'ok',
    (e) => `recovered ${(e as Error).message}`,
  );
  assert.equal(recovered, 'recovered x');
  assertLoopClean(loop);
});

test('an async function can await a Future while the loop runs, and a task can wait for that async function', async () => {
  const log = new Log();
  const result = await runInVirtualTime(function* (loop) {
    const f = loop.createFuture<number>();
    const asyncSide = (async () => {
      log.push('async waiting');
      const v = await f;
      log.push(['async got', v]);
      return v + 1;
    })();
    // callSoon, not callLater: on a virtual clock the loop does not jump
    // time while a task waits on an outside promise (see operation.test.ts).
    loop.callSoon(() => f.setResult(41));
    const v = yield* until(asyncSide);
    log.push(['task got', v, loop.time()]);
    return v;
  });
  assert.equal(result, 42);
  log.assert(['async waiting', ['async got', 41], ['task got', 42, 0]]);
});

// ---------------------------------------------- unretrieved exceptions (GC)

test('debug mode: a future whose exception is never retrieved is reported to the exception handler after GC (asyncio test_futures: test_tb_logger_exception_unretrieved)', async () => {
  const loop = newLoop(true);
  const contexts: ExceptionContext[] = [];
  loop.setExceptionHandler((context) => contexts.push(context));
  const boom = new Error('never looked at');
  (function abandon(): void {
    const f = loop.createFuture<number>();
    f.setException(boom);
  })();
  await collectUntil(() => contexts.length > 0);
  assert.equal(contexts.length, 1);
  assert.equal(contexts[0]?.message, 'Future exception was never retrieved');
  assert.equal(contexts[0]?.exception, boom);
  assert.match(String(contexts[0]?.future), /^<Future #\d+ finished>$/);
  assertLoopClean(loop);
});

test('debug mode: no report when the exception was retrieved with exception(), result() or await (asyncio test_futures: test_tb_logger_exception_retrieved, test_tb_logger_exception_result_retrieved)', async () => {
  const loop = newLoop(true);
  const contexts: ExceptionContext[] = [];
  loop.setExceptionHandler((context) => contexts.push(context));
  const settled: Promise<unknown>[] = [];
  (function retrieveAll(): void {
    const a = loop.createFuture<number>();
    a.setException(new Error('a'));
    a.exception();
    const b = loop.createFuture<number>();
    b.setException(new Error('b'));
    assert.throws(() => b.result());
    const c = loop.createFuture<number>();
    settled.push((async () => await c)().catch(() => 'caught'));
    c.setException(new Error('c'));
    // Settled without an exception: never reported.
    const d = loop.createFuture<number>();
    d.setResult(1);
    const e = loop.createFuture<number>();
    e.cancel();
  })();
  assert.deepEqual(await Promise.all(settled), ['caught']);
  // A canary that IS reported proves the collector ran for the others too.
  (function canary(): void {
    loop.createFuture<number>().setException(new Error('canary'));
  })();
  await collectUntil(() => contexts.length > 0);
  await collectUntil(() => false, 3);
  assert.deepEqual(
    contexts.map((c) => (c.exception as Error).message),
    ['canary'],
  );
  assertLoopClean(loop);
});

test('debug mode: an exception delivered to a waiting task counts as retrieved', async () => {
  const contexts: ExceptionContext[] = [];
  const loop = newLoop(true);
  loop.setExceptionHandler((context) => contexts.push(context));
  await loop.runUntilComplete(function* () {
    const f = loop.createFuture<number>();
    loop.callSoon(() => f.setException(new Error('delivered')));
    try {
      yield* f;
    } catch {
      // handled
    }
  });
  (function canary(): void {
    loop.createFuture<number>().setException(new Error('canary'));
  })();
  await collectUntil(() => contexts.length > 0);
  await collectUntil(() => false, 3);
  assert.deepEqual(
    contexts.map((c) => (c.exception as Error).message),
    ['canary'],
  );
  assertLoopClean(loop);
});
