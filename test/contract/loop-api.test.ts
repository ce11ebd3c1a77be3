/**
 * Contract: the loop's public call shapes and the loop-level "Semantics
 * worth pinning" of DESIGN.md, through `import ... from 'eventide'`.
 *
 * Each test builds its loop by hand (virtual clock, so nothing depends on
 * wall-clock speed) and ends with assertLoopClean.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventLoop, Future, Handle, RuntimeError, Task, TimerHandle, VirtualClock, getRunningLoop, run, sleep, until, type ExceptionContext } from 'eventide';
import { assertLoopClean, runInVirtualTime } from 'eventide/testing';
import { Log } from '../log.js';

function virtualLoop(): EventLoop {
  return new EventLoop({ clock: 'virtual' });
}

// ------------------------------------------------------------ call shapes

test('new EventLoop() with no options works; time() is a finite number of ms, isRunning/isClosed are false', () => {
  const loop = new EventLoop();
  assert.equal(typeof loop.time(), 'number');
  assert.ok(Number.isFinite(loop.time()));
  assert.equal(loop.isRunning(), false);
  assert.equal(loop.isClosed(), false);
  assertLoopClean(loop);
  assert.equal(loop.isClosed(), true);
});

test('callSoon(cb) returns a Handle with cancel() and cancelled(); a cancelled handle never runs', () => {
  const loop = virtualLoop();
  const log = new Log();
  const kept = loop.callSoon(() => log.push('kept'));
  const dropped = loop.callSoon(() => log.push('dropped'));
  assert.ok(kept instanceof Handle);
  assert.equal(dropped.cancelled(), false);
  dropped.cancel();
  assert.equal(dropped.cancelled(), true);
  loop.runOnce();
  log.assert(['kept']);
  assertLoopClean(loop);
});

test('callLater(delayMs, cb) and callAt(whenMs, cb) return TimerHandles whose when() is the absolute deadline on loop.time()', () => {
  const loop = virtualLoop();
  const start = loop.time();
  const later = loop.callLater(25, () => {});
  const at = loop.callAt(start + 40, () => {});
  assert.ok(later instanceof TimerHandle && at instanceof TimerHandle);
  assert.ok(later instanceof Handle, 'a TimerHandle is a Handle');
  assert.equal(later.when(), start + 25);
  assert.equal(at.when(), start + 40);
  later.cancel();
  at.cancel();
  assert.equal(later.cancelled(), true);
  assertLoopClean(loop);
});

test('callSoon / callLater / callAt take the callback then an options object {priority}; the callbacks run', () => {
  const loop = virtualLoop();
  const log = new Log();
  loop.callSoon(() => log.push('soon'), { priority: 'high' });
  loop.callLater(1, () => log.push('later'), { priority: 'low' });
  loop.callAt(loop.time() + 2, () => log.push('at'), { priority: 'critical' });
  loop.runOnce();
  loop.runOnce();
  loop.runOnce();
  log.assert(['soon', 'later', 'at']);
  assertLoopClean(loop);
});

test(
  'callbacks are called with no arguments (DESIGN: "Callbacks take no arguments")',
  () => {
    const loop = virtualLoop();
    const counts: number[] = [];
    loop.callSoon(function (this: unknown) {
      counts.push(arguments.length);
    });
    loop.callLater(1, function (this: unknown) {
      counts.push(arguments.length);
    });
    loop.runOnce();
    loop.runOnce();
    assertLoopClean(loop);
    assert.deepEqual(counts, [0, 0]);
  },
);

test('runOnce(timeoutMs?) is synchronous (returns undefined, not a Promise) and runs one tick', () => {
  const loop = virtualLoop();
  const log = new Log();
  loop.callSoon(() => {
    log.push('first tick');
    loop.callSoon(() => log.push('second tick'));
  });
  assert.equal(loop.runOnce(), undefined);
  log.assert(['first tick']);
  assert.equal(loop.runOnce(0), undefined);
  log.assert(['second tick']);
  assertLoopClean(loop);
});

test('runOnce() on a virtual clock jumps to the next timer (autojump) and runs it', () => {
  const loop = virtualLoop();
  const log = new Log();
  const start = loop.time();
  loop.callLater(5000, () => log.push(loop.time() - start));
  loop.runOnce();
  log.assert([5000]);
  assertLoopClean(loop);
});

test('runForever() returns a Promise; stop() from a callback ends it after the current tick', async () => {
  const loop = virtualLoop();
  const log = new Log();
  loop.callSoon(() => {
    log.push(['a', loop.isRunning()]);
    loop.stop();
    loop.callSoon(() => log.push('next tick'));
  });
  loop.callSoon(() => log.push('b'));
  const running = loop.runForever();
  assert.ok(running instanceof Promise);
  await running;
  assert.equal(loop.isRunning(), false);
  log.assert([['a', true], 'b']);
  loop.runOnce();
  log.assert(['next tick']);
  assertLoopClean(loop);
});

test('stop() called before runForever() makes it run exactly one tick (asyncio test_run_forever_stop_before)', async () => {
  const loop = virtualLoop();
  const log = new Log();
  loop.callSoon(() => {
    log.push('tick 1');
    loop.callSoon(() => log.push('tick 2'));
  });
  loop.stop();
  await loop.runForever();
  log.assert(['tick 1']);
  loop.runOnce();
  log.assert(['tick 2']);
  assertLoopClean(loop);
});

test('runUntilComplete(x) returns a Promise of the result for a Future, a Task, a generator function and a generator object', async () => {
  const loop = virtualLoop();
  const future = loop.createFuture<string>();
  loop.callLater(10, () => future.setResult('future'));
  const viaFuture = loop.runUntilComplete(future);
  assert.ok(viaFuture instanceof Promise);
  assert.equal(await viaFuture, 'future');
  const task = loop.createTask(function* () {
    yield* sleep(1);
    return 'task';
  });
  assert.equal(await loop.runUntilComplete(task), 'task');
  assert.equal(
    await loop.runUntilComplete(function* () {
      yield* sleep(1);
      return 'generator function';
    }),
    'generator function',
  );
  const coroutine = (function* () {
    yield* sleep(1);
    return 'generator object';
  })();
  assert.equal(await loop.runUntilComplete(coroutine), 'generator object');
  assertLoopClean(loop);
});

test('runUntilComplete rejects with the exception of a failed task', async () => {
  const loop = virtualLoop();
  const boom = new Error('boom');
  await assert.rejects(
    loop.runUntilComplete(function* () {
      yield* sleep(1);
      throw boom;
    }),
    (error) => error === boom,
  );
  assertLoopClean(loop);
});

test('createFuture() returns a pending Future of the loop; createTask(coro, {name, priority}) a Task with that name and priority', async () => {
  const loop = virtualLoop();
  const future = loop.createFuture<number>();
  assert.ok(future instanceof Future);
  assert.equal(future.done(), false);
  future.cancel();
  const task = loop.createTask(function* () {
    return 1;
  }, { name: 'worker', priority: 'high' });
  assert.ok(task instanceof Task && task instanceof Future);
  assert.equal(task.name, 'worker');
  assert.equal(task.priority, 'high');
  const plain = loop.createTask(function* () {
    return 2;
  });
  assert.equal(plain.priority, 'normal', "default priority is 'normal'");
  assert.equal(typeof plain.name, 'string');
  assert.ok(plain.name.length > 0);
  assert.equal(await loop.runUntilComplete(task), 1);
  assert.equal(await loop.runUntilComplete(plain), 2);
  assertLoopClean(loop);
});

test('createTask accepts a generator object as well as a generator function (asyncio passes a coroutine object)', async () => {
  const loop = virtualLoop();
  function* body(x: number) {
    yield* sleep(1);
    return x * 2;
  }
  const task = loop.createTask(body(21));
  assert.equal(await loop.runUntilComplete(task), 42);
  assertLoopClean(loop);
});

test('getRunningLoop() inside a task and inside a callback is the loop; outside any loop it throws RuntimeError (asyncio get_running_loop)', async () => {
  const loop = virtualLoop();
  assert.throws(() => getRunningLoop(), RuntimeError);
  let inCallback: unknown = null;
  loop.callSoon(() => (inCallback = getRunningLoop()));
  const inTask = await loop.runUntilComplete(function* () {
    return getRunningLoop();
  });
  assert.equal(inTask, loop);
  assert.equal(inCallback, loop);
  assertLoopClean(loop);
});

test('setDebug(on) / getDebug() toggle debug mode', () => {
  const loop = virtualLoop();
  assert.equal(loop.getDebug(), false);
  loop.setDebug(true);
  assert.equal(loop.getDebug(), true);
  loop.setDebug(false);
  assert.equal(loop.getDebug(), false);
  assertLoopClean(loop);
});

// ------------------------------------------------------- loop semantics

test('callbacks of one lane run FIFO (asyncio test_call_soon)', () => {
  const loop = virtualLoop();
  const log = new Log();
  for (let i = 0; i < 5; i++) loop.callSoon(() => log.push(i));
  loop.runOnce();
  log.assert([0, 1, 2, 3, 4]);
  assertLoopClean(loop);
});

test('timers with equal deadlines run in the order they were scheduled, and before later deadlines', () => {
  const loop = virtualLoop();
  const log = new Log();
  const when = loop.time() + 10;
  loop.callAt(when + 1, () => log.push('later'));
  for (const name of ['a', 'b', 'c', 'd']) loop.callAt(when, () => log.push(name));
  loop.callLater(10, () => log.push('e (callLater, same deadline)'));
  loop.runOnce();
  loop.runOnce();
  log.assert(['a', 'b', 'c', 'd', 'e (callLater, same deadline)', 'later']);
  assertLoopClean(loop);
});

test('timers that come due are queued after the callbacks already ready, ordered by deadline (asyncio _run_once)', () => {
  const loop = virtualLoop();
  const log = new Log();
  loop.callLater(0, () => log.push('timer 0'));
  loop.callSoon(() => log.push('soon'));
  loop.callLater(-5, () => log.push('timer -5'));
  loop.runOnce();
  log.assert(['soon', 'timer -5', 'timer 0']);
  assertLoopClean(loop);
});

test('sleep(0) yields one turn: two tasks interleave (asyncio sleep(0))', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const tasks = ['a', 'b'].map((name) =>
      loop.createTask(function* () {
        log.push(`${name}1`);
        yield* sleep(0);
        log.push(`${name}2`);
      }),
    );
    for (const task of tasks) yield* task;
  });
  log.assert(['a1', 'b1', 'a2', 'b2']);
});

test('a callback scheduled during a tick runs in a later tick, not the current one', () => {
  const loop = virtualLoop();
  const log = new Log();
  loop.callSoon(() => {
    log.push('a');
    loop.callSoon(() => log.push('scheduled by a'));
  });
  loop.callSoon(() => log.push('b'));
  loop.runOnce();
  log.assert(['a', 'b']);
  loop.runOnce();
  log.assert(['scheduled by a']);
  assertLoopClean(loop);
});

test('priorities: ready work runs critical, high, normal, low, idle, FIFO within a lane; default lane is normal', () => {
  const loop = virtualLoop();
  const log = new Log();
  loop.callSoon(() => log.push('idle'), { priority: 'idle' });
  loop.callSoon(() => log.push('low'), { priority: 'low' });
  loop.callSoon(() => log.push('normal-default'));
  loop.callSoon(() => log.push('high'), { priority: 'high' });
  loop.callSoon(() => log.push('normal'), { priority: 'normal' });
  loop.callSoon(() => log.push('critical'), { priority: 'critical' });
  for (let i = 0; i < 5; i++) loop.runOnce(0);
  log.assert(['critical', 'high', 'normal-default', 'normal', 'low', 'idle']);
  assertLoopClean(loop);
});

test('a critical timer that comes due during a long batch of low callbacks runs within one callback plus a slice, not after the batch', () => {
  // A clock the callbacks move forward: each low callback "takes" 1 ms.
  const clock = new VirtualClock();
  const loop = new EventLoop({ clock });
  const log = new Log();
  loop.callLater(2, () => log.push('CRITICAL'), { priority: 'critical' });
  for (let i = 0; i < 5; i++) {
    loop.callSoon(() => {
      clock.advance(1);
      log.push(`low ${i}`);
    }, { priority: 'low' });
  }
  loop.runOnce(0);
  log.assert(['low 0', 'low 1', 'CRITICAL', 'low 2', 'low 3', 'low 4']);
  assertLoopClean(loop);
});

test('a critical callback scheduled with callSoon during a tick still waits for the next tick (asyncio rule kept)', () => {
  const loop = virtualLoop();
  const log = new Log();
  for (let i = 0; i < 3; i++) {
    loop.callSoon(() => {
      log.push(`low ${i}`);
      if (i === 0) loop.callSoon(() => log.push('CRITICAL'), { priority: 'critical' });
    }, { priority: 'low' });
  }
  loop.runOnce(0);
  log.assert(['low 0', 'low 1', 'low 2']);
  loop.runOnce(0);
  log.assert(['CRITICAL']);
  assertLoopClean(loop);
});

test('a bad priority is a TypeError or RangeError naming it, and nothing is scheduled', () => {
  const loop = virtualLoop();
  assert.throws(
    () => loop.callSoon(() => {}, { priority: 'urgent' as never }),
    (error: Error) => (error instanceof TypeError || error instanceof RangeError) && /urgent/.test(error.message),
  );
  assertLoopClean(loop);
});

test('an exception in a callback goes to the exception handler (context, loop) with message, exception and handle; the loop goes on', () => {
  const loop = virtualLoop();
  const log = new Log();
  const contexts: ExceptionContext[] = [];
  const boom = new Error('boom');
  loop.setExceptionHandler((context, handlerLoop) => {
    assert.equal(handlerLoop, loop);
    contexts.push(context);
  });
  const handle = loop.callSoon(() => {
    throw boom;
  });
  loop.callSoon(() => log.push('still running'));
  loop.runOnce();
  log.assert(['still running']);
  assert.equal(contexts.length, 1);
  const [context] = contexts as [ExceptionContext];
  assert.equal(typeof context.message, 'string');
  assert.equal(context.exception, boom);
  assert.equal(context.handle, handle);
  assertLoopClean(loop);
});

test('callExceptionHandler(ctx) calls the installed handler with (ctx, loop)', () => {
  const loop = virtualLoop();
  const seen: unknown[] = [];
  loop.setExceptionHandler((context, handlerLoop) => void seen.push(context.message, handlerLoop));
  loop.callExceptionHandler({ message: 'hello' });
  assert.deepEqual(seen, ['hello', loop]);
  loop.setExceptionHandler(null);
  assertLoopClean(loop);
});

test('using a closed loop is a RuntimeError: callSoon, callLater, createTask, runForever, runUntilComplete', async () => {
  const loop = virtualLoop();
  loop.close();
  assert.throws(() => loop.callSoon(() => {}), RuntimeError);
  assert.throws(() => loop.callLater(1, () => {}), RuntimeError);
  assert.throws(() => loop.createTask(function* () {}), RuntimeError);
  await assert.rejects(loop.runForever(), RuntimeError);
  await assert.rejects(loop.runUntilComplete(loop.createFuture()), RuntimeError);
  loop.close(); // closing twice is harmless (asyncio)
});

test('running a loop that is already running is a RuntimeError, and the running loop is not disturbed', async () => {
  const loop = virtualLoop();
  const log = new Log();
  const result = await loop.runUntilComplete(function* () {
    yield* sleep(1);
    yield* sleep(0);
    try {
      loop.runOnce();
    } catch (error) {
      log.push(['runOnce', (error as Error).name]);
    }
    try {
      yield* until(loop.runUntilComplete(loop.createFuture<void>()));
    } catch (error) {
      log.push(['runUntilComplete', (error as Error).name]);
    }
    try {
      yield* until(loop.runForever());
    } catch (error) {
      log.push(['runForever', (error as Error).name]);
    }
    return 'ok';
  });
  assert.equal(result, 'ok');
  log.assert([
    ['runOnce', 'RuntimeError'],
    ['runUntilComplete', 'RuntimeError'],
    ['runForever', 'RuntimeError'],
  ]);
  assertLoopClean(loop);
});

test('close() of a running loop is a RuntimeError (asyncio: cannot close a running event loop)', async () => {
  const loop = virtualLoop();
  const outcome = await loop.runUntilComplete(function* () {
    try {
      loop.close();
      return 'closed';
    } catch (error) {
      return (error as Error).name;
    }
  });
  assert.equal(outcome, 'RuntimeError');
  assert.equal(loop.isClosed(), false);
  assertLoopClean(loop);
});

test('removeReader / removeWriter of an fd that is not registered return false (asyncio)', () => {
  const loop = virtualLoop();
  assert.equal(loop.removeReader(12345), false);
  assert.equal(loop.removeWriter(12345), false);
  assertLoopClean(loop);
});

test('run(main) runs a generator function to completion on a new loop and returns a Promise of its result', async () => {
  let seenLoop: EventLoop | null = null;
  const result = run(function* () {
    seenLoop = getRunningLoop();
    yield* sleep(1);
    return 42;
  });
  assert.ok(result instanceof Promise);
  assert.equal(await result, 42);
  assert.ok(seenLoop !== null && (seenLoop as EventLoop).isClosed(), 'run closes its loop');
});

test('run(main) also takes a generator object (a coroutine), as asyncio.run takes a coroutine object', async () => {
  function* main(x: number) {
    yield* sleep(1);
    return x + 1;
  }
  assert.equal(await run(main(1), { clock: 'virtual' }), 2);
});

test("run(main, {clock: 'virtual'}) runs sleeps instantly on virtual time", async () => {
  const started = performance.now();
  const elapsedMs = await run(
    function* () {
      const loop = getRunningLoop();
      const start = loop.time();
      yield* sleep(60_000);
      return loop.time() - start;
    },
    { clock: 'virtual' },
  );
  assert.equal(elapsedMs, 60_000);
  assert.ok(performance.now() - started < 5000, 'a virtual minute takes no real minute');
});

test('run(main) cancels tasks left pending when main returns, before closing the loop (asyncio.run)', async () => {
  const log = new Log();
  await run(
    function* () {
      getRunningLoop().createTask(function* () {
        try {
          yield* sleep(10_000);
          log.push('finished');
        } catch (error) {
          log.push((error as Error).name);
          throw error;
        }
      });
      yield* sleep(1);
      return 'main done';
    },
    { clock: 'virtual' },
  );
  log.assert(['CancelledError']);
});

test('run(main) rejects with main\'s exception', async () => {
  const boom = new Error('boom');
  await assert.rejects(
    run(function* () {
      yield* sleep(0);
      throw boom;
    }),
    (error) => error === boom,
  );
});
