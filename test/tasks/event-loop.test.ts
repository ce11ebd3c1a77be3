/**
 * EventLoop's task layer: createFuture, createTask, allTasks,
 * runUntilComplete, getRunningLoop.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CancelledError, EventLoop, Future, RuntimeError, Task, getRunningLoop, sleep, until } from '../../src/index.js';
import { assertLoopClean, runInVirtualTime } from '../../src/testing.js';
import { Log } from '../log.js';

function newLoop(): EventLoop {
  return new EventLoop({ clock: 'virtual' });
}

// ---------------------------------------------------------- createFuture

test('createFuture returns a pending Future of this loop', () => {
  const loop = newLoop();
  const f = loop.createFuture<number>();
  assert.ok(f instanceof Future);
  assert.equal(f.getLoop(), loop);
  assert.equal(f.done(), false);
  f.cancel();
  assertLoopClean(loop);
});

// ------------------------------------------------------------ createTask

test('createTask accepts a generator function (called with no arguments) or a generator object', async () => {
  const loop = newLoop();
  const fromFunction = loop.createTask(function* (...args: unknown[]) {
    return args.length;
  });
  const gen = (function* () {
    return 'object';
  })();
  const fromObject = loop.createTask(gen);
  assert.ok(fromFunction instanceof Task);
  assert.equal(await loop.runUntilComplete(fromFunction), 0);
  assert.equal(await loop.runUntilComplete(fromObject), 'object');
  assertLoopClean(loop);
});

test('createTask with an async function throws a TypeError that points to until() (asyncio test_tasks: test_create_task_with_noncoroutine)', () => {
  const loop = newLoop();
  assert.throws(
    () => loop.createTask((async () => 1) as never),
    (e) =>
      e instanceof TypeError &&
      /^createTask: expected a generator object or generator function, got a Promise/.test(e.message) &&
      e.message.includes('`yield* until(promise)`'),
  );
  assert.equal(loop.allTasks().length, 0);
  assert.equal(loop.statistics().ready, 0);
  assertLoopClean(loop);
});

test('createTask with a Task or Future (or a function returning one) says to wait for it, not that an async function was given', async () => {
  const loop = newLoop();
  const running = loop.createTask(function* () {
    return 1;
  });
  const future = loop.createFuture<number>();
  const hint = ' (a Future or Task is already scheduled, not a coroutine to start: wait for it inside a generator function, `return yield* future`)';
  assert.throws(() => loop.createTask(running as never), { name: 'TypeError', message: `createTask: expected a generator object or generator function, got a Task${hint}` });
  assert.throws(() => loop.createTask((() => future) as never), { name: 'TypeError', message: `createTask: expected a generator object or generator function, got a Future${hint}` });
  assert.equal(loop.allTasks().length, 1);
  assert.equal(await loop.runUntilComplete(running), 1);
  future.cancel();
  assertLoopClean(loop);
});

test('runUntilComplete ended by another stop() in the tick its future completes leaves no stop behind for the next run', async () => {
  const loop = newLoop();
  const log = new Log();
  const future = loop.createFuture<number>();
  loop.callSoon(() => {
    future.setResult(1); // queues the future's done-callbacks, runUntilComplete's stop among them
    loop.stop(); // ends this run first
  });
  assert.equal(await loop.runUntilComplete(future), 1);
  assert.equal(loop.statistics().ready, 0, 'the withdrawn stop was taken out of the ready queue');
  loop.callLater(10, () => log.push(`timer at ${loop.time()}`));
  loop.callLater(20, () => loop.stop());
  await loop.runForever(); // no stop left behind: this run goes on to its own stop
  log.assert(['timer at 10']);
  assert.equal(loop.time(), 20);
  assertLoopClean(loop);
});

for (const [label, value, shown] of [
  ['a number', 42, 'got 42'],
  ['null', null, 'got null'],
  ['a plain function returning a number', () => 5, 'got 5'],
  ['a plain object', { a: 1 }, 'got an Object'],
] as const) {
  test(`createTask with ${label} throws a TypeError naming it, and schedules nothing`, () => {
    const loop = newLoop();
    assert.throws(
      () => loop.createTask(value as never),
      (e) => e instanceof TypeError && e.message === `createTask: expected a generator object or generator function, ${shown}`,
    );
    assert.equal(loop.allTasks().length, 0);
    assert.equal(loop.statistics().ready, 0);
    assertLoopClean(loop);
  });
}

test('new Task(loop, coro) registers itself as createTask does (asyncio: Task.__init__ registers): in allTasks() until done; bad input and a closed loop throw at the call', async () => {
  const loop = newLoop();
  const task = new Task(loop, (function* () {
    yield* sleep(1);
    return 'made directly';
  })(), { name: 'direct' });
  assert.deepEqual(loop.allTasks(), [task]);
  assert.equal(await loop.runUntilComplete(task), 'made directly');
  assert.deepEqual(loop.allTasks(), []);
  assert.throws(() => new Task(loop, 42 as never), { name: 'TypeError', message: 'Task: coro must be a generator object, got 42' });
  assert.deepEqual([loop.allTasks().length, loop.statistics().ready], [0, 0]);
  loop.close();
  assert.throws(() => new Task(loop, (function* () {})()), { name: 'RuntimeError', message: 'Task: the event loop is closed' });
});

test('createTask with an unknown priority throws TypeError and adds no task', () => {
  const loop = newLoop();
  assert.throws(
    () =>
      loop.createTask(
        function* () {
          return 1;
        },
        { priority: 'asap' as never },
      ),
    TypeError,
  );
  assert.equal(loop.allTasks().length, 0);
  assert.equal(loop.statistics().ready, 0);
  assertLoopClean(loop);
});

test('createTask on a closed loop throws RuntimeError', () => {
  const loop = newLoop();
  loop.close();
  assert.throws(
    () =>
      loop.createTask(function* () {
        return 1;
      }),
    (e) => e instanceof RuntimeError && /closed/.test(e.message),
  );
  assert.equal(loop.allTasks().length, 0);
});

test('allTasks lists pending tasks in creation order and forgets each task as it finishes', async () => {
  const loop = newLoop();
  const a = loop.createTask(function* () {
    yield* sleep(10);
  });
  const b = loop.createTask(function* () {
    yield* sleep(5);
  });
  const c = loop.createTask(function* () {
    yield* sleep(20);
  });
  assert.deepEqual(loop.allTasks(), [a, b, c]);
  await loop.runUntilComplete(b);
  assert.deepEqual(loop.allTasks(), [a, c]);
  await loop.runUntilComplete(c);
  assert.deepEqual(loop.allTasks(), []);
  assertLoopClean(loop);
});

// ----------------------------------------------------- runUntilComplete

test('runUntilComplete(future) runs the loop until the future is done and returns its result', async () => {
  const loop = newLoop();
  const f = loop.createFuture<string>();
  loop.callLater(25, () => f.setResult('ready'));
  assert.equal(await loop.runUntilComplete(f), 'ready');
  assert.equal(loop.time(), 25);
  assert.equal(loop.isRunning(), false);
  assert.equal(f.waiterCount, 0, 'its stop hook is removed');
  assertLoopClean(loop);
});

test('runUntilComplete with a generator function or a generator object wraps it in a task', async () => {
  const loop = newLoop();
  const fromFunction = await loop.runUntilComplete(function* () {
    yield* sleep(3);
    return 'function';
  });
  const fromObject = await loop.runUntilComplete(
    (function* () {
      yield* sleep(4);
      return 'object';
    })(),
  );
  assert.deepEqual([fromFunction, fromObject, loop.time()], ['function', 'object', 7]);
  assertLoopClean(loop);
});

test('runUntilComplete rejects with the future exception, or CancelledError when it is cancelled', async () => {
  const loop = newLoop();
  const failed = loop.createFuture<number>();
  const boom = new Error('failed');
  loop.callSoon(() => failed.setException(boom));
  await assert.rejects(loop.runUntilComplete(failed), (e) => e === boom);
  const cancelled = loop.createFuture<number>();
  loop.callSoon(() => cancelled.cancel('gone'));
  await assert.rejects(loop.runUntilComplete(cancelled), (e) => e instanceof CancelledError && e.message === 'gone');
  assertLoopClean(loop);
});

test('runUntilComplete of an already-done future returns its result after one tick', async () => {
  const loop = newLoop();
  const log = new Log();
  const f = loop.createFuture<number>();
  f.setResult(3);
  loop.callSoon(() => log.push('tick ran'));
  assert.equal(await loop.runUntilComplete(f), 3);
  log.assert(['tick ran']);
  assertLoopClean(loop);
});

test('stop() before the future completes makes runUntilComplete throw RuntimeError; the task stays pending (asyncio test_tasks: test_stop_while_run_in_complete)', async () => {
  const loop = newLoop();
  let x = 0;
  const task = loop.createTask(function* () {
    while (x < 10) {
      yield* sleep(100);
      x++;
      if (x === 2) loop.stop();
    }
  });
  await assert.rejects(
    loop.runUntilComplete(task),
    (e) => e instanceof RuntimeError && e.message === 'runUntilComplete: the event loop stopped before the future completed',
  );
  assert.equal(task.done(), false);
  assert.equal(x, 2);
  assert.equal(loop.time(), 200);
  assert.equal(loop.isRunning(), false);
  task.cancel();
  await assert.rejects(loop.runUntilComplete(task), CancelledError);
  assertLoopClean(loop);
});

test('runForever() while the loop runs rejects with RuntimeError and the loop goes on undisturbed', async () => {
  const log = new Log();
  const result = await runInVirtualTime(function* (loop) {
    try {
      yield* until(loop.runForever());
    } catch (e) {
      log.push([e instanceof RuntimeError, (e as Error).message]);
    }
    log.push(['running', loop.isRunning()]);
    yield* sleep(10);
    return loop.time();
  });
  assert.equal(result, 10);
  log.assert([[true, 'runForever: this event loop is already running'], ['running', true]]);
});

test('runUntilComplete() while the loop runs rejects with RuntimeError, starts nothing, and the loop goes on', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const before = loop.allTasks().length;
    let started = false;
    const f = loop.createFuture<number>();
    for (const target of [
      f,
      function* () {
        started = true;
        return 1;
      },
    ]) {
      try {
        yield* until(loop.runUntilComplete(target as Future<number>));
      } catch (e) {
        log.push([e instanceof RuntimeError, (e as Error).message]);
      }
    }
    log.push(['tasks', loop.allTasks().length - before, 'started', started, 'waiters', f.waiterCount]);
    yield* sleep(1);
    f.cancel();
  });
  log.assert([
    [true, 'runUntilComplete: this event loop is already running'],
    [true, 'runUntilComplete: this event loop is already running'],
    ['tasks', 0, 'started', false, 'waiters', 0],
  ]);
});

test('runUntilComplete on a closed loop, or with a future of another loop, rejects with RuntimeError', async () => {
  const loop = newLoop();
  const other = newLoop();
  const foreign = other.createFuture<number>();
  await assert.rejects(loop.runUntilComplete(foreign), (e) => e instanceof RuntimeError && /different event loop/.test(e.message));
  assert.equal(foreign.waiterCount, 0);
  assertLoopClean(loop);
  await assert.rejects(
    loop.runUntilComplete(function* () {
      return 1;
    }),
    (e) => e instanceof RuntimeError && e.message === 'runUntilComplete: the event loop is closed',
  );
  foreign.cancel();
  assertLoopClean(other);
});

test('a loop can run again after runUntilComplete returns', async () => {
  const loop = newLoop();
  assert.equal(await loop.runUntilComplete(function* () {
    yield* sleep(1);
    return 'first';
  }), 'first');
  assert.equal(await loop.runUntilComplete(function* () {
    yield* sleep(1);
    return 'second';
  }), 'second');
  assert.equal(loop.time(), 2);
  assertLoopClean(loop);
});

// -------------------------------------------------------- getRunningLoop

test('getRunningLoop() inside a task, a callback and a promise continuation is the loop; outside it throws RuntimeError (asyncio: get_running_loop)', async () => {
  assert.throws(() => getRunningLoop(), (e) => e instanceof RuntimeError && e.message === 'no running event loop');
  const log = new Log();
  const loop = newLoop();
  await loop.runUntilComplete(function* () {
    log.push(['task', getRunningLoop() === loop]);
    loop.callSoon(() => log.push(['callback', getRunningLoop() === loop]));
    const continuation = (async () => {
      await null;
      log.push(['continuation', getRunningLoop() === loop]);
    })();
    yield* until(continuation);
    yield* sleep(0);
  });
  // The continuation runs at the microtask checkpoint after the task's
  // tick, before the callback's tick.
  log.assert([
    ['task', true],
    ['continuation', true],
    ['callback', true],
  ]);
  assert.throws(() => getRunningLoop(), RuntimeError);
  assertLoopClean(loop);
});

test('a task can create sibling tasks through getRunningLoop()', async () => {
  const result = await runInVirtualTime(function* () {
    const child = getRunningLoop().createTask(function* () {
      yield* sleep(5);
      return 'child';
    });
    return yield* child;
  });
  assert.equal(result, 'child');
});
