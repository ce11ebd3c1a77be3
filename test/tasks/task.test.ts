/**
 * Task: stepping, results, cancellation, priorities, bad yields, wake-ups.
 * Mirrors the behaviour pinned by CPython's test_asyncio/test_tasks.py
 * (the parts about Task itself; gather/wait/shield/wait_for live elsewhere).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CancelledError, EventLoop, InvalidStateError, RuntimeError, Task, TimerHandle, sleep } from '../../src/index.js';
import type { ExceptionContext, Future } from '../../src/index.js';
import { assertLoopClean, runInVirtualTime } from '../../src/testing.js';
import { collectUntil } from '../gc.js';
import { Log } from '../log.js';

function newLoop(debug = false): EventLoop {
  return new EventLoop({ clock: 'virtual', debug });
}

// ------------------------------------------------------- steps and results

test("a new task's first step is scheduled, not run inline", () => {
  const loop = newLoop();
  const log = new Log();
  const task = loop.createTask(function* () {
    log.push('step 1');
    yield* sleep(0);
    log.push('step 2');
    return 'r';
  });
  log.push('created');
  log.assert(['created']);
  assert.equal(task.done(), false);
  loop.runOnce(0);
  log.assert(['step 1']);
  loop.runOnce(0);
  log.assert(['step 2']);
  assert.equal(task.result(), 'r');
  assertLoopClean(loop);
});

test('a task created inside a task starts only after its creator yields', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const child = loop.createTask(function* () {
      log.push('child runs');
    });
    log.push('parent continues');
    log.push(['child done?', child.done()]);
    yield* child;
    log.push('parent resumed');
  });
  log.assert(['parent continues', ['child done?', false], 'child runs', 'parent resumed']);
});

test('the return value becomes the result; yield* of sub-generators composes (asyncio test_tasks: test_task_basics)', async () => {
  const loop = newLoop();
  function* inner1(): Generator<never, number> {
    return 42;
  }
  function* inner2(): Generator<never, number> {
    return 1000;
  }
  const task = loop.createTask(function* () {
    const a = yield* inner1();
    const b = yield* inner2();
    return a + b;
  });
  assert.equal(await loop.runUntilComplete(task), 1042);
  assert.equal(task.done(), true);
  assert.equal(task.cancelled(), false);
  assert.equal(task.result(), 1042);
  assert.equal(task.exception(), null);
  assertLoopClean(loop);
});

test('an error thrown by the body becomes the task exception (the same object)', async () => {
  const loop = newLoop();
  const boom = new SyntaxError('bad body');
  const task = loop.createTask(function* () {
    yield* sleep(3);
    throw boom;
  });
  await assert.rejects(loop.runUntilComplete(task), (e) => e === boom);
  assert.equal(task.done(), true);
  assert.equal(task.cancelled(), false);
  assert.equal(task.exception(), boom);
  assert.throws(
    () => task.result(),
    (e) => e === boom,
  );
  assertLoopClean(loop);
});

test('result() and exception() of a pending task throw InvalidStateError', () => {
  const loop = newLoop();
  const task = loop.createTask(function* () {
    return 1;
  });
  assert.throws(() => task.result(), InvalidStateError);
  assert.throws(() => task.exception(), InvalidStateError);
  loop.runOnce(0);
  assert.equal(task.result(), 1);
  assertLoopClean(loop);
});

test('setResult and setException on a Task throw InvalidStateError (asyncio test_tasks: test_task_set_methods)', async () => {
  const loop = newLoop();
  const task = loop.createTask(function* () {
    yield* sleep(1);
    return 'own result';
  });
  assert.throws(() => task.setResult('forced'), InvalidStateError);
  assert.throws(() => task.setException(new Error('forced')), InvalidStateError);
  assert.equal(await loop.runUntilComplete(task), 'own result');
  assertLoopClean(loop);
});

test('yield* task evaluates to its result, or throws its exception at the yield*', async () => {
  const log = new Log();
  const boom = new Error('child failed');
  await runInVirtualTime(function* (loop) {
    const ok = loop.createTask(function* () {
      yield* sleep(5);
      return 'child value';
    });
    const bad = loop.createTask(function* () {
      yield* sleep(7);
      throw boom;
    });
    log.push(yield* ok);
    try {
      yield* bad;
    } catch (e) {
      log.push(['caught', e === boom, loop.time()]);
    }
  });
  log.assert(['child value', ['caught', true, 7]]);
});

test('a task that throws CancelledError itself ends cancelled, not failed', async () => {
  const loop = newLoop();
  const task = loop.createTask(function* () {
    yield* sleep(1);
    throw new CancelledError('self-made');
  });
  await assert.rejects(loop.runUntilComplete(task), (e) => e instanceof CancelledError && e.message === 'self-made');
  assert.equal(task.cancelled(), true);
  assert.throws(() => task.exception(), CancelledError);
  assertLoopClean(loop);
});

test('name defaults to Task-N and can be given; getCoro returns the generator (asyncio test_tasks: test_get_coro, test_task_repr)', async () => {
  const loop = newLoop();
  const gen = (function* () {
    return 1;
  })();
  const named = loop.createTask(gen, { name: 'worker' });
  const unnamed = loop.createTask(function* () {
    return 2;
  });
  assert.equal(named.name, 'worker');
  assert.match(unnamed.name, /^Task-\d+$/);
  assert.equal(named.getCoro(), gen);
  assert.equal(String(named), `<Task #${named.id} "worker" pending>`);
  named.name = 'renamed';
  await loop.runUntilComplete(named);
  await loop.runUntilComplete(unnamed);
  assert.equal(String(named), `<Task #${named.id} "renamed" finished>`);
  assertLoopClean(loop);
});

test('waitingOn shows the scheduled step, the sleep timer, the awaited future, then null', async () => {
  const loop = newLoop();
  const f = loop.createFuture<number>();
  const seen: unknown[] = [];
  const task = loop.createTask(function* () {
    seen.push(currentWaiting());
    yield* sleep(5);
    yield* f;
  });
  function currentWaiting(): unknown {
    return task.waitingOn;
  }
  assert.ok(task.waitingOn !== null && !(task.waitingOn instanceof TimerHandle));
  loop.runOnce(0);
  assert.deepEqual(seen, [null]);
  assert.ok(task.waitingOn instanceof TimerHandle);
  assert.equal((task.waitingOn as TimerHandle).when(), 5);
  loop.runOnce();
  assert.equal(loop.time(), 5);
  assert.equal(task.waitingOn, f);
  f.setResult(1);
  await loop.runUntilComplete(task);
  assert.equal(task.waitingOn, null);
  assertLoopClean(loop);
});

// ----------------------------------------------------------- cancellation

test('cancel() before the first step: the body never runs and the task is cancelled with the message (asyncio test_tasks: test_cancel_with_message_before_starting_task)', async () => {
  const loop = newLoop();
  const log = new Log();
  const task = loop.createTask(function* () {
    try {
      log.push('body ran');
      yield* sleep(1);
    } finally {
      log.push('finally ran');
    }
  });
  assert.equal(task.cancel('before start'), true);
  assert.equal(task.cancelled(), false, 'cancellation is delivered at the next step, not inline');
  await assert.rejects(loop.runUntilComplete(task), (e) => e instanceof CancelledError && e.message === 'before start');
  log.assertEmpty();
  assert.equal(task.cancelled(), true);
  assert.throws(
    () => task.result(),
    (e) => e instanceof CancelledError && e.message === 'before start',
  );
  assert.equal(task.cancel(), false);
  assertLoopClean(loop);
});

test('cancel() while sleeping throws CancelledError with the message at the yield*, and drops the timer (asyncio test_tasks: test_cancel, test_task_cancel_sleeping_task)', async () => {
  const loop = newLoop();
  const log = new Log();
  const task = loop.createTask(function* () {
    try {
      yield* sleep(10_000);
      log.push('slept');
    } catch (e) {
      log.push(['caught', (e as Error).name, (e as Error).message, loop.time()]);
      throw e;
    } finally {
      log.push('finally');
    }
    return 12;
  });
  loop.callLater(10, () => {
    assert.equal(task.cancel('wake up'), true);
    assert.equal(loop.statistics().timers, 0, 'the sleep timer is dropped at once');
  });
  await assert.rejects(loop.runUntilComplete(task), CancelledError);
  log.assert([['caught', 'CancelledError', 'wake up', 10], 'finally']);
  assert.equal(task.done(), true);
  assert.equal(task.cancelled(), true);
  assert.equal(task.cancel(), false);
  assert.equal(loop.time(), 10);
  assertLoopClean(loop);
});

test('cancel() while the task yields sleep(0) in a loop delivers CancelledError there (asyncio test_tasks: test_cancel_yield)', async () => {
  const loop = newLoop();
  let rounds = 0;
  const task = loop.createTask(function* () {
    for (;;) {
      rounds++;
      yield* sleep(0);
    }
  });
  loop.runOnce(0);
  loop.runOnce(0);
  assert.equal(rounds, 2);
  task.cancel();
  await assert.rejects(loop.runUntilComplete(task), CancelledError);
  assert.equal(rounds, 2);
  assert.equal(task.cancelled(), true);
  assert.equal(task.cancel(), false);
  assertLoopClean(loop);
});

test('cancelling the future a task waits on cancels the task (asyncio test_tasks: test_cancel_inner_future)', async () => {
  const loop = newLoop();
  const f = loop.createFuture<number>();
  const task = loop.createTask(function* () {
    yield* f;
    return 12;
  });
  loop.runOnce(0);
  f.cancel('inner');
  await assert.rejects(loop.runUntilComplete(task), (e) => e instanceof CancelledError && e.message === 'inner');
  assert.equal(f.cancelled(), true);
  assert.equal(task.cancelled(), true);
  assertLoopClean(loop);
});

test('cancelling both the inner future and the task ends with both cancelled (asyncio test_tasks: test_cancel_both_task_and_inner_future)', async () => {
  const loop = newLoop();
  const f = loop.createFuture<number>();
  const task = loop.createTask(function* () {
    yield* f;
    return 12;
  });
  loop.runOnce(0);
  f.cancel();
  assert.equal(task.cancel('outer'), true);
  await assert.rejects(loop.runUntilComplete(task), CancelledError);
  assert.equal(task.done(), true);
  assert.equal(f.cancelled(), true);
  assert.equal(task.cancelled(), true);
  assertLoopClean(loop);
});

test('task.cancel(msg) cancels the future it waits on, synchronously, with the same message (asyncio test_tasks: test_task_cancel_waiter_future)', async () => {
  const loop = newLoop();
  const f = loop.createFuture<number>();
  const task = loop.createTask(function* () {
    yield* f;
  });
  loop.runOnce(0);
  assert.equal(task.waitingOn, f);
  task.cancel('bye');
  assert.equal(f.cancelled(), true);
  assert.equal(f.cancelMessage, 'bye');
  await assert.rejects(loop.runUntilComplete(task), (e) => e instanceof CancelledError && e.message === 'bye');
  assert.equal(task.cancelled(), true);
  assertLoopClean(loop);
});

test('cancelling a task that awaits another task cancels the awaited task first (asyncio test_tasks: test_cancel_awaited_task)', async () => {
  const loop = newLoop();
  const log = new Log();
  const inner = loop.createTask(function* () {
    try {
      yield* sleep(1000);
    } finally {
      log.push(['inner finally', loop.time()]);
    }
  });
  const outer = loop.createTask(function* () {
    try {
      yield* inner;
    } catch (e) {
      log.push(['outer caught', (e as Error).message, loop.time()]);
      throw e;
    }
  });
  loop.callLater(3, () => outer.cancel('stop both'));
  await assert.rejects(loop.runUntilComplete(outer), CancelledError);
  log.assert([
    ['inner finally', 3],
    ['outer caught', 'stop both', 3],
  ]);
  assert.equal(inner.cancelled(), true);
  assert.equal(outer.cancelled(), true);
  assertLoopClean(loop);
});

test('a task that catches CancelledError and returns is not cancelled; its result is what it returned (asyncio test_tasks: test_cancel_task_catching)', async () => {
  const loop = newLoop();
  const fut1 = loop.createFuture<void>();
  const fut2 = loop.createFuture<void>();
  const task = loop.createTask(function* () {
    yield* fut1;
    try {
      yield* fut2;
    } catch (e) {
      if (e instanceof CancelledError) return 42;
      throw e;
    }
    return 0;
  });
  loop.runOnce(0);
  assert.equal(task.waitingOn, fut1);
  fut1.setResult();
  loop.runOnce(0);
  assert.equal(task.waitingOn, fut2);
  task.cancel();
  assert.equal(fut2.cancelled(), true);
  assert.equal(await loop.runUntilComplete(task), 42);
  assert.equal(task.cancelled(), false);
  assert.equal(task.cancelling(), 1, 'asyncio: cancelling() is not reset by catching');
  assertLoopClean(loop);
});

test('a task that ignores CancelledError goes on waiting for the next future (asyncio test_tasks: test_cancel_task_ignoring)', async () => {
  const loop = newLoop();
  const fut1 = loop.createFuture<void>();
  const fut2 = loop.createFuture<void>();
  const fut3 = loop.createFuture<number>();
  const task = loop.createTask(function* () {
    yield* fut1;
    try {
      yield* fut2;
    } catch {
      // ignored
    }
    return yield* fut3;
  });
  loop.runOnce(0);
  fut1.setResult();
  loop.runOnce(0);
  assert.equal(task.waitingOn, fut2);
  task.cancel();
  assert.equal(fut2.cancelled(), true);
  loop.runOnce(0);
  assert.equal(task.waitingOn, fut3);
  fut3.setResult(42);
  assert.equal(await loop.runUntilComplete(task), 42);
  assert.equal(fut3.cancelled(), false);
  assert.equal(task.cancelled(), false);
  assertLoopClean(loop);
});

test('a task that cancels itself is cancelled at its next yield, without waiting out the sleep (asyncio test_tasks: test_cancel_current_task)', async () => {
  const loop = newLoop();
  const log = new Log();
  const task: Task<number> = loop.createTask(function* () {
    task.cancel('myself');
    log.push('still running after cancel()');
    yield* sleep(100);
    log.push('not reached');
    return 12;
  });
  await assert.rejects(loop.runUntilComplete(task), (e) => e instanceof CancelledError && e.message === 'myself');
  log.assert(['still running after cancel()']);
  assert.equal(loop.time(), 0, 'the 100 ms sleep is cancelled immediately');
  assert.equal(task.cancelled(), true);
  assert.equal(task.cancel(), false);
  assertLoopClean(loop);
});

test('a task that cancels itself and then returns ends cancelled (asyncio test_tasks: test_cancel_at_end)', async () => {
  const loop = newLoop();
  const task: Task<number> = loop.createTask(function* () {
    yield* sleep(0);
    task.cancel();
    return 12;
  });
  await assert.rejects(loop.runUntilComplete(task), CancelledError);
  assert.equal(task.cancelled(), true);
  assertLoopClean(loop);
});

test('cancelling() counts cancel requests and uncancel() withdraws one (asyncio test_tasks: test_cancelling, test_uncancel_basic)', async () => {
  const loop = newLoop();
  const task = loop.createTask(function* () {
    try {
      yield* sleep(100);
    } catch {
      return 'caught';
    }
    return 'slept';
  });
  loop.runOnce(0);
  assert.equal(task.cancelling(), 0);
  assert.equal(task.cancel(), true);
  assert.equal(task.cancelling(), 1);
  assert.equal(task.cancel(), true);
  assert.equal(task.cancelling(), 2);
  assert.equal(task.uncancel(), 1);
  assert.equal(task.cancelling(), 1);
  assert.equal(task.uncancel(), 0);
  assert.equal(task.uncancel(), 0, 'never below zero');
  assert.equal(await loop.runUntilComplete(task), 'caught');
  assertLoopClean(loop);
});

test('cancel() then uncancel() before the next step undoes a pending cancellation (asyncio test_tasks: test_uncancel_resets_must_cancel)', async () => {
  const loop = newLoop();
  const fut = loop.createFuture<void>();
  const task = loop.createTask(function* () {
    yield* fut;
    yield* sleep(0);
    return 42;
  });
  loop.runOnce(0);
  fut.setResult(); // the task is now runnable; the wake-up is queued
  assert.equal(task.cancel(), true);
  assert.equal(task.cancelling(), 1);
  assert.equal(task.uncancel(), 0);
  assert.equal(await loop.runUntilComplete(task), 42);
  assert.equal(task.cancelled(), false);
  assertLoopClean(loop);
});

test('cancel() then uncancel() while sleeping still interrupts the sleep with CancelledError (asyncio: the sleep future is already cancelled)', async () => {
  const loop = newLoop();
  const log = new Log();
  const task = loop.createTask(function* () {
    try {
      const v = yield* sleep(1000, 'woke');
      log.push(['sleep returned', v, loop.time()]);
    } catch (e) {
      log.push(['caught', (e as Error).name, loop.time()]);
    }
  });
  loop.runOnce(0);
  task.cancel();
  task.uncancel();
  await loop.runUntilComplete(task);
  log.assert([['caught', 'CancelledError', 0]]);
  assert.equal(task.cancelled(), false);
  assertLoopClean(loop);
});

test('cancel() of a done task returns false and changes nothing (asyncio test_tasks: test_cancel)', async () => {
  const loop = newLoop();
  const task = loop.createTask(function* () {
    return 'done';
  });
  await loop.runUntilComplete(task);
  assert.equal(task.cancel('too late'), false);
  assert.equal(task.cancelling(), 0);
  assert.equal(task.cancelled(), false);
  assert.equal(task.result(), 'done');
  assert.equal(task.signal.aborted, false);
  assertLoopClean(loop);
});

test('task.signal is aborted by cancel(), synchronously and once, with a CancelledError reason carrying the message', async () => {
  const loop = newLoop();
  const log = new Log();
  const task = loop.createTask(function* () {
    yield* sleep(50);
  });
  const signal = task.signal;
  assert.equal(task.signal, signal, 'the same signal every time');
  signal.addEventListener('abort', () => log.push(['abort event', (signal.reason as Error).message]));
  loop.runOnce(0);
  assert.equal(signal.aborted, false);
  task.cancel('abort me');
  log.assert([['abort event', 'abort me']]);
  assert.equal(signal.aborted, true);
  assert.ok(signal.reason instanceof CancelledError);
  task.cancel('second');
  log.assertEmpty();
  await assert.rejects(loop.runUntilComplete(task), CancelledError);
  assertLoopClean(loop);
});

test('task.signal read only after cancel() is already aborted; a task finishing normally never aborts it', async () => {
  const loop = newLoop();
  const cancelled = loop.createTask(function* () {
    yield* sleep(1);
  });
  const finished = loop.createTask(function* () {
    yield* sleep(1);
  });
  const finishedSignal = finished.signal;
  cancelled.cancel('early');
  assert.equal(cancelled.signal.aborted, true);
  assert.equal((cancelled.signal.reason as Error).message, 'early');
  await assert.rejects(loop.runUntilComplete(cancelled), CancelledError);
  await loop.runUntilComplete(finished);
  assert.equal(finishedSignal.aborted, false);
  assertLoopClean(loop);
});

test('task.signal first read after cancel(msg) of a waiting or sleeping task carries that message', async () => {
  const loop = newLoop();
  const f = loop.createFuture<void>();
  const waiting = loop.createTask(function* () {
    yield* f;
  });
  const sleeping = loop.createTask(function* () {
    yield* sleep(100);
  });
  loop.runOnce(0);
  waiting.cancel('stop waiting');
  sleeping.cancel('stop sleeping');
  assert.deepEqual(
    [waiting, sleeping].map((t) => [t.signal.aborted, (t.signal.reason as Error).message]),
    [
      [true, 'stop waiting'],
      [true, 'stop sleeping'],
    ],
  );
  await assert.rejects(loop.runUntilComplete(waiting), CancelledError);
  await assert.rejects(loop.runUntilComplete(sleeping), CancelledError);
  assertLoopClean(loop);
});

// ------------------------------------------------------------- priorities

test("a 'critical' task's first step runs before normal tasks created earlier", async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const a = loop.createTask(function* () {
      log.push('normal a');
    });
    const b = loop.createTask(
      function* () {
        log.push('critical b');
      },
      { priority: 'critical' },
    );
    const c = loop.createTask(
      function* () {
        log.push('idle c');
      },
      { priority: 'idle' },
    );
    assert.equal(a.priority, 'normal');
    assert.equal(b.priority, 'critical');
    assert.equal(c.priority, 'idle');
    yield* a;
    yield* b;
    yield* c;
  });
  log.assert(['critical b', 'normal a', 'idle c']);
});

test('changing task.priority while it waits on a future applies to that wake-up', async () => {
  const loop = newLoop();
  const log = new Log();
  const f = loop.createFuture<string>();
  const a = loop.createTask(function* () {
    log.push(['a', yield* f]);
  });
  const b = loop.createTask(function* () {
    log.push(['b', yield* f]);
  });
  loop.runOnce(0);
  // Same tick, same future: registration order decides unless priority does.
  b.priority = 'critical';
  assert.equal(b.priority, 'critical');
  f.setResult('go');
  await loop.runUntilComplete(a);
  await loop.runUntilComplete(b);
  log.assert([
    ['b', 'go'],
    ['a', 'go'],
  ]);
  assertLoopClean(loop);
});

test('changing task.priority while it sleeps applies when its timer fires', async () => {
  const loop = newLoop();
  const log = new Log();
  const a = loop.createTask(function* () {
    yield* sleep(10);
    log.push('a');
  });
  const b = loop.createTask(function* () {
    yield* sleep(10);
    log.push('b');
  });
  loop.callLater(5, () => {
    b.priority = 'critical';
  });
  await loop.runUntilComplete(a);
  await loop.runUntilComplete(b);
  log.assert(['b', 'a']);
  assertLoopClean(loop);
});

test('a priority change made during a step takes effect from the next wake-up', async () => {
  const loop = newLoop();
  const log = new Log();
  const normal = loop.createTask(function* () {
    for (let i = 0; i < 3; i++) {
      log.push(`n${i}`);
      yield* sleep(0);
    }
  });
  const riser: Task<void> = loop.createTask(function* () {
    for (let i = 0; i < 3; i++) {
      log.push(`r${i}`);
      if (i === 0) riser.priority = 'critical';
      yield* sleep(0);
    }
  });
  await loop.runUntilComplete(normal);
  await loop.runUntilComplete(riser);
  // Tick 1: FIFO (n0, r0). From tick 2 the riser's wake-ups are critical,
  // and the normal lane waits while the critical lane has work again.
  log.assert(['n0', 'r0', 'r1', 'r2', 'n1', 'n2']);
  assertLoopClean(loop);
});

test('createTask with options that are not an object is a TypeError and creates nothing; null options are none', async () => {
  const loop = new EventLoop({ clock: 'virtual' });
  assert.throws(() => loop.createTask(function* () {}, 'high' as unknown as { priority: 'high' }), {
    name: 'TypeError',
    message: `createTask: options must be an object such as { priority: 'high' }, got "high"`,
  });
  assert.equal(loop.allTasks().length, 0);
  const task = loop.createTask(function* () {
    return 1;
  }, null as unknown as undefined);
  assert.equal(task.priority, 'normal');
  assert.equal(await loop.runUntilComplete(task), 1);
});

test('setting an unknown priority throws TypeError and keeps the old one', async () => {
  const loop = newLoop();
  const task = loop.createTask(function* () {
    yield* sleep(0);
  });
  assert.throws(
    () => {
      task.priority = 'urgent' as never;
    },
    (e) => e instanceof TypeError && /"urgent"/.test(e.message),
  );
  assert.equal(task.priority, 'normal');
  await loop.runUntilComplete(task);
  assertLoopClean(loop);
});

// ------------------------------------------------------------- bad yields

const badYields: { what: string; make: () => unknown; hint: RegExp }[] = [
  { what: 'a number', make: () => 42, hint: /yielded 42; a task may yield only a Future, a Promise or sleep\(\)/ },
  { what: 'undefined (a bare yield)', make: () => undefined, hint: /bare `yield` does nothing.*`yield\* sleep\(0\)`/ },
  {
    what: 'a generator object',
    make: () =>
      (function* () {
        yield* sleep(0);
      })(),
    hint: /iterator or generator.*`yield\*` instead of `yield`/,
  },
  { what: 'a function', make: () => function helper() {}, hint: /function helper.*did you mean to call it, or `yield\*`/ },
];

for (const { what, make, hint } of badYields) {
  test(`yielding ${what} throws a TypeError into the task that says what was meant; the task can catch it and go on (asyncio test_tasks: test_step_result)`, async () => {
    const log = new Log();
    const result = await runInVirtualTime(function* (loop) {
      try {
        yield make() as never;
        log.push('not reached');
      } catch (e) {
        log.push(['caught', (e as Error).name, hint.test((e as Error).message)]);
      }
      yield* sleep(1);
      return loop.time();
    });
    assert.equal(result, 1);
    log.assert([['caught', 'TypeError', true]]);
  });
}

test('an uncaught bad yield fails the task with the TypeError', async () => {
  const loop = newLoop();
  const task = loop.createTask(function* () {
    yield 'oops' as never;
  });
  await assert.rejects(loop.runUntilComplete(task), (e) => e instanceof TypeError && /yielded "oops"/.test(e.message));
  assert.ok(task.exception() instanceof TypeError);
  assertLoopClean(loop);
});

test("yielding a future of another loop throws RuntimeError into the task (asyncio test_tasks: test_other_loop_future)", async () => {
  const other = newLoop();
  const foreign = other.createFuture<number>();
  const log = new Log();
  await runInVirtualTime(function* () {
    try {
      yield* foreign;
    } catch (e) {
      log.push([e instanceof RuntimeError, /different event loop/.test((e as Error).message)]);
    }
  });
  log.assert([[true, true]]);
  foreign.cancel();
  assertLoopClean(other);
});

test('a task waiting for itself gets RuntimeError (asyncio test_tasks: test_task_awaits_on_itself)', async () => {
  const loop = newLoop();
  const log = new Log();
  const task: Task<string> = loop.createTask(function* () {
    try {
      yield* task;
    } catch (e) {
      log.push([e instanceof RuntimeError, (e as Error).message.includes('cannot wait for itself')]);
    }
    return 'survived';
  });
  assert.equal(await loop.runUntilComplete(task), 'survived');
  log.assert([[true, true]]);
  assertLoopClean(loop);
});

// ---------------------------------------------------- untyped yield forms

test('`const v = yield future` (untyped) resumes with the result', async () => {
  const result = await runInVirtualTime(function* (loop) {
    const f = loop.createFuture<number>();
    loop.callLater(4, () => f.setResult(7));
    const v = yield f;
    return [v, loop.time()];
  });
  assert.deepEqual(result, [7, 4]);
});

test('`yield promise` (untyped) resumes with the resolved value, or throws the rejection', async () => {
  const log = new Log();
  await runInVirtualTime(function* () {
    const v = yield Promise.resolve('resolved');
    log.push(v);
    try {
      yield Promise.reject(new Error('rejected'));
    } catch (e) {
      log.push((e as Error).message);
    }
    const thenable = { then: (ok: (v: number) => void) => ok(99) } as unknown as PromiseLike<number>;
    log.push(yield thenable);
  });
  log.assert(['resolved', 'rejected', 99]);
});

// ------------------------------------------------------ wake-up scheduling

test('two tasks doing sleep(0) in a loop alternate exactly', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const worker = (name: string) =>
      function* () {
        for (let i = 0; i < 4; i++) {
          log.push(`${name}${i}`);
          yield* sleep(0);
        }
      };
    const a = loop.createTask(worker('a'));
    const b = loop.createTask(worker('b'));
    yield* a;
    yield* b;
    assert.equal(loop.time(), 0);
  });
  log.assert(['a0', 'b0', 'a1', 'b1', 'a2', 'b2', 'a3', 'b3']);
});

test("a task's wake-up is one hop: woken by a future set in a callback, it runs in the very next tick", () => {
  const loop = newLoop();
  const log = new Log();
  const f = loop.createFuture<string>();
  loop.createTask(function* () {
    log.push('waiting');
    log.push(['got', yield* f]);
  });
  loop.runOnce(0); // tick 1: first step
  log.assert(['waiting']);
  loop.callSoon(() => {
    f.setResult('x');
    log.push('set');
  });
  loop.runOnce(0); // tick 2: the callback settles the future
  log.assert(['set']);
  loop.runOnce(0); // tick 3: the task's step runs directly from its wake-up
  log.assert([['got', 'x']]);
  assert.equal(loop.allTasks().length, 0);
  assertLoopClean(loop);
});

test('a chain of tasks each awaiting the next resolves one tick per link', () => {
  const loop = newLoop();
  const log = new Log();
  const f = loop.createFuture<number>();
  const t1 = loop.createTask(function* () {
    return (yield* f) + 1;
  });
  const t2 = loop.createTask(function* () {
    return (yield* t1) + 1;
  });
  const t3 = loop.createTask(function* () {
    const v = (yield* t2) + 1;
    log.push(v);
    return v;
  });
  loop.runOnce(0);
  f.setResult(0);
  let ticks = 0;
  while (!t3.done()) {
    loop.runOnce(0);
    ticks++;
  }
  assert.equal(ticks, 3);
  log.assert([3]);
  assertLoopClean(loop);
});

// -------------------------------------------------- destroyed while pending

test('debug mode: a failed task whose exception nobody retrieves is reported after GC (asyncio test_tasks: test_exception_traceback)', async () => {
  const loop = newLoop(true);
  const contexts: ExceptionContext[] = [];
  loop.setExceptionHandler((context) => contexts.push(context));
  const boom = new Error('nobody looked');
  (function fireAndForget(): void {
    loop.createTask(
      function* () {
        yield* sleep(1);
        throw boom;
      },
      { name: 'forgotten' },
    );
  })();
  await loop.runUntilComplete(function* () {
    yield* sleep(5);
  });
  await collectUntil(() => contexts.length > 0);
  assert.equal(contexts.length, 1);
  assert.equal(contexts[0]?.exception, boom);
  assert.equal(contexts[0]?.message, 'Task exception was never retrieved');
  assert.match(String(contexts[0]?.future), /"forgotten" finished/);
  assertLoopClean(loop);
});

test('debug mode: a failed task is reported after GC when the Error was created inside its own step (the unformatted stack holds the task)', async () => {
  const loop = newLoop(true);
  const contexts: ExceptionContext[] = [];
  loop.setExceptionHandler((context) => contexts.push(context));
  let collected: WeakRef<object> | null = null;
  (function fireAndForget(): void {
    const task = loop.createTask(
      function* () {
        yield* sleep(1);
        throw new Error('made in the step');
      },
      { name: 'self-made' },
    );
    collected = new WeakRef(task);
  })();
  await loop.runUntilComplete(function* () {
    yield* sleep(5);
  });
  await collectUntil(() => contexts.length > 0);
  assert.equal((collected as WeakRef<object> | null)?.deref(), undefined);
  assert.equal(contexts.length, 1);
  assert.equal(contexts[0]?.message, 'Task exception was never retrieved');
  assert.equal((contexts[0]?.exception as Error).message, 'made in the step');
  assert.match(String(contexts[0]?.future), /"self-made" finished/);
  assertLoopClean(loop);
});

test(
  'debug mode: a task destroyed while pending is reported after GC (asyncio test_tasks: test_log_destroyed_pending_task)',
  async () => {
    const loop = newLoop(true);
    const contexts: ExceptionContext[] = [];
    loop.setExceptionHandler((context) => contexts.push(context));
    (function orphan(): void {
      const f: Future<number> = loop.createFuture<number>();
      loop.createTask(
        function* () {
          yield* f;
        },
        { name: 'orphan' },
      );
    })();
    loop.runOnce(0); // the task now waits on a future nothing else references
    const gc = (globalThis as { gc?: () => void }).gc;
    assert.ok(gc, 'tests must run with node --expose-gc');
    for (let i = 0; i < 20 && contexts.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      gc();
    }
    await new Promise((resolve) => setTimeout(resolve, 0));
    const left = loop.allTasks();
    for (const task of left) task.cancel();
    if (left.length > 0) loop.runOnce(0);
    loop.close();
    assert.equal(contexts.length, 1);
    assert.equal(contexts[0]?.message, 'Task was destroyed but it is pending!');
    assert.match(String(contexts[0]?.task), /"orphan" pending/);
  },
);
