/**
 * Contract: Future and Task, through `import ... from 'eventide'`, with
 * asyncio's behaviour where DESIGN.md is silent (CPython's
 * test_asyncio/test_futures.py and test_tasks.py name the cases).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CancelledError,
  EventLoop,
  Future,
  InvalidStateError,
  RuntimeError,
  Task,
  currentTask,
  getRunningLoop,
  sleep,
  until,
  type ExceptionContext,
} from 'eventide';
import { assertLoopClean, runInVirtualTime } from 'eventide/testing';
import { Log } from '../log.js';

function virtualLoop(debug = false): EventLoop {
  return new EventLoop({ clock: 'virtual', debug });
}

// ------------------------------------------------------------------ Future

test('Future has the documented methods: done cancelled result exception setResult setException cancel addDoneCallback removeDoneCallback [Symbol.iterator] then', () => {
  const loop = virtualLoop();
  const future = loop.createFuture();
  for (const name of ['done', 'cancelled', 'result', 'exception', 'setResult', 'setException', 'cancel', 'addDoneCallback', 'removeDoneCallback', 'then']) {
    assert.equal(typeof (future as unknown as Record<string, unknown>)[name], 'function', name);
  }
  assert.equal(typeof future[Symbol.iterator], 'function');
  future.cancel();
  assertLoopClean(loop);
});

test('new Future() without a loop belongs to the running loop (asyncio Future(loop=None)); outside any loop it is a RuntimeError', async () => {
  assert.throws(() => new Future(), RuntimeError);
  const loop = virtualLoop();
  const value = await loop.runUntilComplete(function* () {
    const future = new Future<string>();
    assert.equal(future.getLoop(), loop);
    loop.callLater(5, () => future.setResult('set'));
    return yield* future;
  });
  assert.equal(value, 'set');
  assertLoopClean(loop);
});

test('result() and exception() of a pending future throw InvalidStateError (asyncio test_result/test_exception)', () => {
  const loop = virtualLoop();
  const future = loop.createFuture();
  assert.throws(() => future.result(), InvalidStateError);
  assert.throws(() => future.exception(), InvalidStateError);
  future.cancel();
  assertLoopClean(loop);
});

test('a succeeded future: result() is the value, exception() is null, done() true, cancelled() false', () => {
  const loop = virtualLoop();
  const future = loop.createFuture<number>();
  future.setResult(42);
  assert.equal(future.done(), true);
  assert.equal(future.cancelled(), false);
  assert.equal(future.result(), 42);
  assert.equal(future.exception(), null);
  assertLoopClean(loop);
});

test('a failed future: result() throws the exception, exception() returns it', () => {
  const loop = virtualLoop();
  const future = loop.createFuture<number>();
  const boom = new Error('boom');
  future.setException(boom);
  assert.equal(future.done(), true);
  assert.throws(() => future.result(), (error) => error === boom);
  assert.equal(future.exception(), boom);
  assertLoopClean(loop);
});

test('a cancelled future: cancel(msg) returns true; result() and exception() throw CancelledError carrying msg (asyncio test_cancel_message)', () => {
  const loop = virtualLoop();
  const future = loop.createFuture();
  assert.equal(future.cancel('stop it'), true);
  assert.equal(future.done(), true);
  assert.equal(future.cancelled(), true);
  assert.throws(() => future.result(), (error) => error instanceof CancelledError && error.message === 'stop it');
  assert.throws(() => future.exception(), CancelledError);
  assertLoopClean(loop);
});

test('cancel() of a done future returns false and changes nothing', () => {
  const loop = virtualLoop();
  const future = loop.createFuture<number>();
  future.setResult(1);
  assert.equal(future.cancel(), false);
  assert.equal(future.cancelled(), false);
  assert.equal(future.result(), 1);
  const cancelled = loop.createFuture();
  cancelled.cancel();
  assert.equal(cancelled.cancel(), false);
  assertLoopClean(loop);
});

test('setResult / setException on a done future throw InvalidStateError (asyncio test_future_set_result_twice)', () => {
  const loop = virtualLoop();
  const future = loop.createFuture<number>();
  future.setResult(1);
  assert.throws(() => future.setResult(2), InvalidStateError);
  assert.throws(() => future.setException(new Error('x')), InvalidStateError);
  const cancelled = loop.createFuture<number>();
  cancelled.cancel();
  assert.throws(() => cancelled.setResult(2), InvalidStateError);
  assert.equal(future.result(), 1);
  assertLoopClean(loop);
});

test('done callbacks never run inside setResult: they are scheduled, run on the next tick in the order added, each called with the future', () => {
  const loop = virtualLoop();
  const log = new Log();
  const future = loop.createFuture<string>();
  future.addDoneCallback((f) => log.push(['first', f === future, f.result()]));
  future.addDoneCallback((f) => log.push(['second', f === future]));
  future.setResult('v');
  log.push('after setResult');
  log.assert(['after setResult']);
  loop.runOnce();
  log.assert([
    ['first', true, 'v'],
    ['second', true],
  ]);
  assertLoopClean(loop);
});

test('addDoneCallback on a done future schedules the callback (soon), it does not call it inline', () => {
  const loop = virtualLoop();
  const log = new Log();
  const future = loop.createFuture<number>();
  future.setResult(7);
  future.addDoneCallback((f) => log.push(f.result()));
  log.assert([]);
  loop.runOnce();
  log.assert([7]);
  assertLoopClean(loop);
});

test('done callbacks run on cancel() too', () => {
  const loop = virtualLoop();
  const log = new Log();
  const future = loop.createFuture();
  future.addDoneCallback((f) => log.push(f.cancelled()));
  future.cancel();
  loop.runOnce();
  log.assert([true]);
  assertLoopClean(loop);
});

test('removeDoneCallback(cb) removes every registration of cb and returns the count (asyncio test_remove_done_callback)', () => {
  const loop = virtualLoop();
  const log = new Log();
  const future = loop.createFuture();
  const a = (): void => log.push('a');
  const b = (): void => log.push('b');
  future.addDoneCallback(a);
  future.addDoneCallback(b);
  future.addDoneCallback(a);
  assert.equal(future.removeDoneCallback(a), 2);
  assert.equal(future.removeDoneCallback(a), 0);
  future.setResult(undefined);
  loop.runOnce();
  log.assert(['b']);
  assertLoopClean(loop);
});

test('a Future is PromiseLike: await resolves with the result, rejects with the exception or a CancelledError', async () => {
  const loop = virtualLoop();
  const ok = loop.createFuture<number>();
  ok.setResult(5);
  assert.equal(await ok, 5);
  const failed = loop.createFuture<number>();
  const boom = new Error('boom');
  failed.setException(boom);
  await assert.rejects(Promise.resolve(failed), (error) => error === boom);
  const cancelled = loop.createFuture<number>();
  cancelled.cancel('why');
  await assert.rejects(Promise.resolve(cancelled), (error) => error instanceof CancelledError && error.message === 'why');
  assertLoopClean(loop);
});

test('yield* future in a task evaluates to its result; yield future (untyped) also resumes with the result', async () => {
  const result = await runInVirtualTime(function* (loop) {
    const a = loop.createFuture<number>();
    const b = loop.createFuture<string>();
    loop.callLater(10, () => a.setResult(1));
    loop.callLater(20, () => b.setResult('two'));
    const x: number = yield* a;
    const y = (yield b) as string;
    return [x, y, loop.time()];
  });
  assert.deepEqual(result, [1, 'two', 20]);
});

test('yield* on a failed future throws its exception into the task at that point', async () => {
  const caught = await runInVirtualTime(function* (loop) {
    const future = loop.createFuture<number>();
    const boom = new Error('boom');
    loop.callSoon(() => future.setException(boom));
    try {
      yield* future;
      return 'not thrown';
    } catch (error) {
      return error === boom ? 'caught boom' : error;
    }
  });
  assert.equal(caught, 'caught boom');
});

test('a Future whose exception is never retrieved is reported to the exception handler in debug mode (asyncio test_tb_logger)', async () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  assert.ok(gc, 'run with node --expose-gc');
  const loop = virtualLoop(true);
  const reports: ExceptionContext[] = [];
  loop.setExceptionHandler((context) => void reports.push(context));
  (() => {
    loop.createFuture().setException(new Error('lost'));
  })();
  for (let i = 0; i < 40 && reports.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
  }
  assert.equal(reports.length, 1);
  assert.match(reports[0]!.message, /never retrieved/);
  assert.equal((reports[0]!.exception as Error).message, 'lost');
  assertLoopClean(loop);
});

// -------------------------------------------------------------------- Task

test('Task has name, priority, cancel(msg?), cancelling(), uncancel(), getCoro(), signal', async () => {
  const loop = virtualLoop();
  function* body() {
    yield* sleep(1);
  }
  const coro = body();
  const task = loop.createTask(coro, { name: 'n', priority: 'low' });
  assert.equal(task.name, 'n');
  assert.equal(task.priority, 'low');
  assert.equal(task.getCoro(), coro);
  assert.equal(task.cancelling(), 0);
  assert.ok(task.signal instanceof AbortSignal);
  assert.equal(task.signal.aborted, false);
  task.priority = 'high';
  assert.equal(task.priority, 'high');
  task.name = 'renamed';
  assert.equal(task.name, 'renamed');
  await loop.runUntilComplete(task);
  assertLoopClean(loop);
});

test('a new task does not run inline: its first step is scheduled (asyncio: create_task does not start the coroutine)', () => {
  const loop = virtualLoop();
  const log = new Log();
  loop.createTask(function* () {
    log.push('step 1');
  });
  log.push('created');
  log.assert(['created']);
  loop.runOnce();
  log.assert(['step 1']);
  assertLoopClean(loop);
});

test('tasks start in creation order, and callbacks scheduled before a task run before its first step', () => {
  const loop = virtualLoop();
  const log = new Log();
  loop.callSoon(() => log.push('cb before'));
  loop.createTask(function* () {
    log.push('task 1');
  });
  loop.createTask(function* () {
    log.push('task 2');
  });
  loop.callSoon(() => log.push('cb after'));
  loop.runOnce();
  log.assert(['cb before', 'task 1', 'task 2', 'cb after']);
  assertLoopClean(loop);
});

test('currentTask() is the running task inside its body, null in a plain callback and outside the loop', async () => {
  const loop = virtualLoop();
  assert.equal(currentTask(), null);
  let inCallback: unknown = 'unset';
  const seen: unknown[] = [];
  loop.callSoon(() => (inCallback = currentTask()));
  const task = loop.createTask(function* () {
    seen.push(currentTask());
    yield* sleep(1);
    seen.push(currentTask());
  });
  await loop.runUntilComplete(task);
  assert.deepEqual(seen, [task, task]);
  assert.equal(inCallback, null);
  assertLoopClean(loop);
});

test('awaiting a task whose result is the task itself rejects with a TypeError instead of adopting it forever (Promises/A+ 2.3.1)', async () => {
  const loop = virtualLoop();
  const task = loop.createTask(function* () {
    return currentTask();
  });
  await assert.rejects(loop.runUntilComplete(task), TypeError);
  assert.equal(task.result(), task, 'the task itself still has its result');
  assertLoopClean(loop);
});

test('a task that returns settles with its value; one that throws settles with the exception', async () => {
  const loop = virtualLoop();
  const ok = loop.createTask(function* () {
    yield* sleep(1);
    return 'v';
  });
  const boom = new Error('boom');
  const bad = loop.createTask(function* () {
    yield* sleep(1);
    throw boom;
  });
  await loop.runUntilComplete(ok);
  assert.equal(ok.result(), 'v');
  await assert.rejects(loop.runUntilComplete(bad), (error) => error === boom);
  assert.equal(bad.exception(), boom);
  assertLoopClean(loop);
});

test('task.cancel() delivers CancelledError at the current yield*, cancels the future it waits on, and the task ends cancelled (asyncio test_cancel_inner_future)', async () => {
  const loop = virtualLoop();
  const log = new Log();
  const inner = loop.createFuture<number>();
  const task = loop.createTask(function* () {
    try {
      yield* inner;
    } catch (error) {
      log.push(['caught', (error as Error).name, (error as Error).message]);
      throw error;
    }
  });
  loop.runOnce(); // the task now waits on inner
  assert.equal(task.cancel('go away'), true);
  assert.equal(inner.cancelled(), true, 'the awaited future is cancelled');
  assert.equal(task.cancelling(), 1);
  await assert.rejects(loop.runUntilComplete(task), CancelledError);
  log.assert([['caught', 'CancelledError', 'go away']]);
  assert.equal(task.cancelled(), true);
  assert.throws(() => task.result(), (error) => error instanceof CancelledError && error.message === 'go away');
  assertLoopClean(loop);
});

test('cancel() while sleeping wakes the task at once with CancelledError (no waiting out the sleep)', async () => {
  const loop = virtualLoop();
  const log = new Log();
  const start = loop.time();
  const task = loop.createTask(function* () {
    try {
      yield* sleep(10_000);
    } catch (error) {
      log.push([(error as Error).name, loop.time() - start]);
      throw error;
    }
  });
  loop.callLater(5, () => task.cancel());
  await assert.rejects(loop.runUntilComplete(task), CancelledError);
  log.assert([['CancelledError', 5]]);
  assertLoopClean(loop);
});

test('cancel() before the first step: the body never runs and the task ends cancelled (asyncio test_cancel_task_before_start)', async () => {
  const loop = virtualLoop();
  const log = new Log();
  const task = loop.createTask(function* () {
    log.push('body ran');
    yield* sleep(1);
  });
  task.cancel();
  await assert.rejects(loop.runUntilComplete(task), CancelledError);
  log.assert([]);
  assert.equal(task.cancelled(), true);
  assertLoopClean(loop);
});

test('a task that catches CancelledError and returns is not cancelled: it has its return value (asyncio test_cancel_yield / 3.11)', async () => {
  const loop = virtualLoop();
  const task = loop.createTask(function* () {
    try {
      yield* sleep(100);
      return 'slept';
    } catch (error) {
      if (!(error instanceof CancelledError)) throw error;
      return 'caught';
    }
  });
  loop.callLater(1, () => task.cancel());
  assert.equal(await loop.runUntilComplete(task), 'caught');
  assert.equal(task.cancelled(), false);
  assert.equal(task.cancelling(), 1, 'the request still counts until uncancel()');
  assertLoopClean(loop);
});

test('a task that cancels itself gets CancelledError at its next wait (asyncio test_cancel_current_task)', async () => {
  const loop = virtualLoop();
  const log = new Log();
  const task = loop.createTask(function* () {
    log.push(['cancel() returned', currentTask()!.cancel()]);
    try {
      yield* sleep(100);
      log.push('slept');
    } catch (error) {
      log.push([(error as Error).name, loop.time()]);
      throw error;
    }
  });
  await assert.rejects(loop.runUntilComplete(task), CancelledError);
  log.assert([['cancel() returned', true], ['CancelledError', 0]]);
  assert.equal(task.cancelled(), true);
  assertLoopClean(loop);
});

test('a task cancelled during its last step that then returns ends cancelled (asyncio test_cancel_at_end)', async () => {
  const loop = virtualLoop();
  const task = loop.createTask(function* () {
    currentTask()!.cancel();
    return 12;
  });
  await assert.rejects(loop.runUntilComplete(task), CancelledError);
  assert.equal(task.cancelled(), true);
  assertLoopClean(loop);
});

test('a task that swallows the CancelledError of one wait goes on to the next and returns its value (asyncio test_cancel_task_ignoring)', async () => {
  const loop = virtualLoop();
  const f1 = loop.createFuture<void>();
  const f2 = loop.createFuture<void>();
  const f3 = loop.createFuture<number>();
  const task = loop.createTask(function* () {
    yield* f1;
    try {
      yield* f2;
    } catch (error) {
      if (!(error instanceof CancelledError)) throw error;
    }
    return yield* f3;
  });
  loop.runOnce(0);
  f1.setResult();
  loop.runOnce(0);
  loop.runOnce(0);
  task.cancel();
  assert.equal(f2.cancelled(), true);
  loop.runOnce(0);
  f3.setResult(42);
  assert.equal(await loop.runUntilComplete(task), 42);
  assert.equal(task.cancelled(), false);
  assertLoopClean(loop);
});

test('cancel() of a done task returns false', async () => {
  const loop = virtualLoop();
  const task = loop.createTask(function* () {
    return 1;
  });
  await loop.runUntilComplete(task);
  assert.equal(task.cancel(), false);
  assert.equal(task.cancelled(), false);
  assertLoopClean(loop);
});

test('cancelling() counts cancel() requests; uncancel() withdraws one and returns the count left (asyncio 3.11)', async () => {
  const loop = virtualLoop();
  const task = loop.createTask(function* () {
    for (;;) {
      try {
        yield* sleep(10);
        return 'done';
      } catch (error) {
        if (!(error instanceof CancelledError)) throw error;
      }
    }
  });
  loop.runOnce();
  task.cancel();
  task.cancel();
  assert.equal(task.cancelling(), 2);
  assert.equal(task.uncancel(), 1);
  assert.equal(task.uncancel(), 0);
  assert.equal(task.uncancel(), 0, 'never below zero');
  assert.equal(await loop.runUntilComplete(task), 'done');
  assertLoopClean(loop);
});

test('cancelling a task that awaits another task cancels the awaited task too (asyncio: await propagates cancel)', async () => {
  const loop = virtualLoop();
  const log = new Log();
  const child = loop.createTask(function* () {
    try {
      yield* sleep(1000);
    } catch (error) {
      log.push(['child', (error as Error).name]);
      throw error;
    }
  }, { name: 'child' });
  const parent = loop.createTask(function* () {
    try {
      yield* child;
    } catch (error) {
      log.push(['parent', (error as Error).name]);
      throw error;
    }
  }, { name: 'parent' });
  loop.callLater(1, () => parent.cancel());
  await assert.rejects(loop.runUntilComplete(parent), CancelledError);
  log.assert([
    ['child', 'CancelledError'],
    ['parent', 'CancelledError'],
  ]);
  assert.equal(child.cancelled(), true);
  assert.equal(parent.cancelled(), true);
  assertLoopClean(loop);
});

test('task.signal is aborted as soon as the task is asked to cancel, with a CancelledError reason', async () => {
  const loop = virtualLoop();
  const log = new Log();
  const task = loop.createTask(function* () {
    currentTask()!.signal.addEventListener('abort', () => log.push('abort event'));
    yield* sleep(100);
  });
  loop.runOnce();
  assert.equal(task.signal.aborted, false);
  task.cancel('stop');
  log.assert(['abort event']);
  assert.equal(task.signal.aborted, true);
  assert.ok(task.signal.reason instanceof CancelledError);
  await assert.rejects(loop.runUntilComplete(task), CancelledError);
  assertLoopClean(loop);
});

test('setResult / setException on a Task throw (a task settles only from its coroutine; asyncio raises RuntimeError)', async () => {
  const loop = virtualLoop();
  const task = loop.createTask(function* () {
    return 1;
  });
  assert.throws(() => (task as Future<number>).setResult(2));
  assert.throws(() => (task as Future<number>).setException(new Error('x')));
  assert.equal(await loop.runUntilComplete(task), 1);
  assertLoopClean(loop);
});

test('a task may yield a native Promise directly (untyped) or yield* until(promise) (typed)', async () => {
  const result = await runInVirtualTime(function* () {
    const a = (yield Promise.resolve('a')) as string;
    const b: number = yield* until(Promise.resolve(2));
    try {
      yield* until(Promise.reject(new Error('rejected')));
    } catch (error) {
      return [a, b, (error as Error).message];
    }
    return [a, b];
  });
  assert.deepEqual(result, ['a', 2, 'rejected']);
});

test('yielding something that is not a Future, Promise or sleep throws a TypeError into the task that says what was meant', async () => {
  const message = await runInVirtualTime(function* () {
    try {
      yield 42 as never;
      return 'no error';
    } catch (error) {
      assert.ok(error instanceof TypeError);
      return (error as Error).message;
    }
  });
  assert.match(message, /yield/);
});

test("a task's wake-up is one hop: a future settled outside a tick resumes its waiting task in the very next tick", () => {
  const loop = virtualLoop();
  const log = new Log();
  const future = loop.createFuture<number>();
  loop.createTask(function* () {
    log.push('waiting');
    log.push(['resumed with', yield* future]);
  });
  loop.runOnce();
  log.assert(['waiting']);
  future.setResult(9);
  loop.runOnce();
  log.assert([['resumed with', 9]]);
  assertLoopClean(loop);
});

test('a task waiting on a future set in a callback resumes in the tick after that callback', () => {
  const loop = virtualLoop();
  const log = new Log();
  const future = loop.createFuture<string>();
  loop.createTask(function* () {
    log.push(yield* future);
  });
  loop.runOnce();
  loop.callSoon(() => {
    future.setResult('set');
    log.push('callback');
  });
  loop.runOnce();
  log.assert(['callback']);
  loop.runOnce();
  log.assert(['set']);
  assertLoopClean(loop);
});

test("a task's wake-ups run at its priority: a critical task woken with a normal one runs first", async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const go = loop.createFuture<void>();
    const names = ['normal-1', 'critical', 'normal-2'] as const;
    const tasks = names.map((name) =>
      loop.createTask(function* () {
        yield* go;
        log.push(name);
      }, { name, priority: name === 'critical' ? 'critical' : 'normal' }),
    );
    yield* sleep(1);
    go.setResult();
    for (const task of tasks) yield* task;
  });
  log.assert(['critical', 'normal-1', 'normal-2']);
});

test('task.priority can be changed while the task lives; it applies from the next wake-up', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const go = loop.createFuture<void>();
    const first = loop.createTask(function* () {
      yield* go;
      log.push('first');
    });
    const second = loop.createTask(function* () {
      yield* go;
      log.push('second');
    });
    yield* sleep(1);
    second.priority = 'high';
    go.setResult();
    yield* first;
    yield* second;
  });
  log.assert(['second', 'first']);
});

test('a Task destroyed while pending is reported to the exception handler in debug mode (asyncio test_task_destroyed_pending)', async () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  assert.ok(gc, 'run with node --expose-gc');
  const loop = virtualLoop(true);
  const reports: ExceptionContext[] = [];
  loop.setExceptionHandler((context) => void reports.push(context));
  (() => {
    const never = new Future<void>(loop);
    loop.createTask(function* () {
      yield* never;
    });
  })();
  loop.runOnce(); // the task now waits on a future nobody else holds
  for (let i = 0; i < 40 && reports.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
  }
  assert.equal(reports.length, 1);
  assert.match(reports[0]!.message, /destroyed but it is pending/);
  assertLoopClean(loop);
});

test('getRunningLoop() inside a task is the loop that runs it', async () => {
  const loop = virtualLoop();
  const task: Task<EventLoop> = loop.createTask(function* () {
    return getRunningLoop();
  });
  assert.equal(await loop.runUntilComplete(task), loop);
  assertLoopClean(loop);
});
