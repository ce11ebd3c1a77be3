/**
 * addSignalHandler / removeSignalHandler: a signal runs its callback as a
 * loop callback (through the ready queue, at its priority, never inside
 * the delivery), re-adding replaces, removing stops delivery, closing a
 * NodeEventLoop removes every `process` listener, and bad signals give
 * clear errors. Real signals come from `process.kill(process.pid, ...)`
 * and from a child process, in both Node host modes.
 *
 * Signals used: SIGUSR2 (its default action ends the process, so a test
 * that sends it while eventide's listener may be gone keeps a listener of
 * its own installed), SIGWINCH and SIGURG (ignored by default).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import test from 'node:test';
import { Worker } from 'node:worker_threads';
import type { ExceptionContext } from '../../src/core/base-event-loop.js';
import { RuntimeError } from '../../src/core/errors.js';
import { createNodeLoop } from '../../src/hosts/node.js';
import type { NodeEventLoop } from '../../src/io/node-event-loop.js';
import { addSignalHandler, removeAllSignalHandlers, removeSignalHandler, signalHandlerNames } from '../../src/io/signals.js';
import type { EventLoop } from '../../src/tasks/event-loop.js';
import type { Future } from '../../src/tasks/future.js';
import { sleep, until, type Coroutine } from '../../src/tasks/operation.js';
import { assertLoopClean } from '../../src/testing.js';
import { MODES, withWatchdog } from '../hosts/node-helpers.js';
import { Log } from '../log.js';
import { runIo } from './net-helpers.js';

const T = { timeout: 30_000 };
const SIGUSR2 = osConstants.signals.SIGUSR2;

/** Listener counts of the signals these tests use, to compare before and after. */
function listenerCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of ['SIGUSR2', 'SIGWINCH', 'SIGURG', 'SIGABRT', 'SIGINT'] as const) counts[name] = process.listenerCount(name);
  return counts;
}

/** runIo with a NodeEventLoop-typed body, checking that no signal listener is left behind. */
async function runSignals<T>(main: (loop: NodeEventLoop) => Coroutine<T>, options: { mode?: 'guest' | 'blocking'; exceptions?: ExceptionContext[] } = {}): Promise<T> {
  const before = listenerCounts();
  const result = await runIo((loop: EventLoop) => main(loop as NodeEventLoop), options);
  assert.deepEqual(listenerCounts(), before, 'process signal listeners leaked');
  return result;
}

/** A future resolved the next time Node emits `name` on `process` (a listener of the test's own, removed then). */
function nodeSees(loop: EventLoop, name: NodeJS.Signals): Future<void> {
  const future = loop.createFuture<void>();
  process.once(name, () => future.setResult());
  return future;
}

test('a signal runs the handler as a loop callback, never inside the delivery: Node\'s other listeners run first', T, async () => {
  await runSignals(function* (loop) {
    const log = new Log();
    const done = loop.createFuture<void>();
    loop.addSignalHandler('SIGUSR2', () => {
      log.push('handler');
      done.setResult();
    });
    const seen = loop.createFuture<void>();
    process.once('SIGUSR2', () => {
      log.push('node listener (handler has not run)');
      seen.setResult();
    });
    process.kill(process.pid, 'SIGUSR2');
    log.push('after kill');
    yield* done;
    yield* seen;
    log.assert(['after kill', 'node listener (handler has not run)', 'handler']);
    assert.equal(loop.removeSignalHandler('SIGUSR2'), true);
  });
});

test('a delivery is queued behind callbacks already queued in its lane, and ahead of those queued after it', T, async () => {
  await runSignals(function* (loop) {
    const log = new Log();
    loop.addSignalHandler('SIGURG', () => {
      log.push('signal');
      loop.callSoon(() => log.push('after signal'));
    });
    // Node dispatches the signal only when the loop gives it a turn, so
    // 'a' and 'b' (queued first, same lane) run before the handler.
    loop.callSoon(() => log.push('a'));
    process.kill(process.pid, 'SIGURG');
    loop.callSoon(() => log.push('b'));
    yield* nodeSees(loop, 'SIGURG');
    yield* sleep(0);
    yield* sleep(0);
    log.assert(['a', 'b', 'signal', 'after signal']);
    removeSignalHandler(loop, 'SIGURG');
  });
});

test('the handler runs at its priority: a critical one overtakes normal callbacks queued before it, an idle one waits', T, async () => {
  await runSignals(function* (loop) {
    const log = new Log();
    // Registered before eventide's listener: Node calls it first, so these
    // normal callbacks are queued before the critical delivery.
    process.once('SIGWINCH', () => {
      loop.callSoon(() => log.push('normal 1'));
      loop.callSoon(() => log.push('normal 2'));
    });
    const criticalRan = loop.createFuture<void>();
    addSignalHandler(loop, 'SIGWINCH', () => {
      log.push('critical signal');
      criticalRan.setResult();
    }, { priority: 'critical' });
    process.kill(process.pid, 'SIGWINCH');
    yield* criticalRan;
    log.assert(['critical signal', 'normal 1', 'normal 2']);

    const idleRan = loop.createFuture<void>();
    addSignalHandler(loop, 'SIGURG', () => {
      log.push('idle signal');
      idleRan.setResult();
    }, { priority: 'idle' });
    // Registered after: its normal callback is queued after the idle delivery, and runs first.
    process.once('SIGURG', () => void loop.callSoon(() => log.push('normal 3')));
    process.kill(process.pid, 'SIGURG');
    yield* idleRan;
    log.assert(['normal 3', 'idle signal']);
    assert.equal(removeAllSignalHandlers(loop), 2);
  });
});

test('priority with synchronous emits: deliveries queue in their lanes, in arrival order within a lane', T, async () => {
  await runSignals(function* (loop) {
    const log = new Log();
    loop.addSignalHandler('SIGURG', () => log.push('low'), { priority: 'low' });
    loop.addSignalHandler('SIGWINCH', () => log.push('high'), { priority: 'high' });
    loop.callSoon(() => log.push('normal'));
    process.emit('SIGURG', 'SIGURG');
    process.emit('SIGWINCH', 'SIGWINCH');
    process.emit('SIGURG', 'SIGURG');
    log.assert([], 'nothing runs inside the emit');
    // Wait for a low callback queued behind the deliveries (a lane is FIFO).
    // Not sleep(0): this task's own normal-lane wake-ups would hold the low
    // lane back (within its starvation bound); nor a short sleep, which on a
    // slow machine can be due by the time the lanes run, and wakes the task
    // in its normal lane ahead of the low ones.
    const lowLaneRan = loop.createFuture<void>();
    loop.callSoon(() => lowLaneRan.setResult(), { priority: 'low' });
    yield* lowLaneRan;
    log.assert(['high', 'normal', 'low', 'low']);
    removeAllSignalHandlers(loop);
  });
});

for (const mode of MODES) {
  test(`${mode} mode: a signal from a child process wakes an idle loop and reaches the handler`, T, async () => {
    await runSignals(
      function* (loop) {
        const received = loop.createFuture<string>();
        loop.addSignalHandler(SIGUSR2, () => received.setResult(`SIGUSR2 in ${mode} mode`));
        // The loop has no timer and no ready callback: only the signal can wake it.
        const child = spawn(process.execPath, ['-e', `process.kill(${process.pid}, 'SIGUSR2')`], { stdio: 'ignore' });
        const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
        const got = yield* until(withWatchdog(Promise.resolve(received), `the signal handler (${mode})`));
        assert.equal(got, `SIGUSR2 in ${mode} mode`);
        assert.equal(yield* until(exited), 0);
        assert.equal(loop.removeSignalHandler('SIGUSR2'), true);
      },
      { mode },
    );
  });
}

test('re-adding replaces the callback and priority, with one process listener; a queued delivery runs the new callback', T, async () => {
  await runSignals(function* (loop) {
    const log = new Log();
    const listenersBefore = process.listenerCount('SIGURG');
    loop.addSignalHandler('SIGURG', () => log.push('first'));
    process.emit('SIGURG', 'SIGURG'); // queued with the first callback installed
    loop.addSignalHandler(osConstants.signals.SIGURG, () => log.push('second'), { priority: 'critical' });
    assert.equal(process.listenerCount('SIGURG'), listenersBefore + 1);
    loop.callSoon(() => log.push('normal'));
    process.emit('SIGURG', 'SIGURG');
    yield* sleep(0);
    log.assert(['second', 'second', 'normal']);
    assert.deepEqual(signalHandlerNames(loop), ['SIGURG']);
    assert.equal(loop.removeSignalHandler('SIGURG'), true);
  });
});

test('removeSignalHandler stops delivery: a queued delivery is cancelled, a later signal is not handled; false the second time', T, async () => {
  await runSignals(function* (loop) {
    const log = new Log();
    // Our own listener keeps SIGUSR2's default action (ending the process) away after the handler is removed.
    const keepAlive = (): void => log.push('test listener');
    process.on('SIGUSR2', keepAlive);
    try {
      loop.addSignalHandler('SIGUSR2', () => log.push('handler'));
      process.emit('SIGUSR2', 'SIGUSR2');
      log.assert(['test listener']);
      assert.equal(loop.removeSignalHandler('SIGUSR2'), true);
      yield* sleep(0);
      log.assert([], 'the delivery queued before removal was cancelled');

      const seen = nodeSees(loop, 'SIGUSR2');
      process.kill(process.pid, 'SIGUSR2');
      yield* seen;
      yield* sleep(0);
      yield* sleep(0);
      log.assert(['test listener']);
      assert.equal(loop.removeSignalHandler('SIGUSR2'), false);
      assert.equal(removeSignalHandler(loop, 'SIGWINCH'), false, 'never added');
    } finally {
      process.removeListener('SIGUSR2', keepAlive);
    }
  });
});

test('names, numbers and aliases name one signal (SIGIOT is SIGABRT)', T, async () => {
  await runSignals(function* (loop) {
    addSignalHandler(loop, SIGUSR2, () => {});
    assert.deepEqual(signalHandlerNames(loop), ['SIGUSR2']);
    assert.equal(removeSignalHandler(loop, 'SIGUSR2'), true);
    addSignalHandler(loop, 'SIGIOT', () => {});
    assert.deepEqual(signalHandlerNames(loop), ['SIGABRT']);
    assert.equal(process.listenerCount('SIGIOT'), 0, 'the listener uses the canonical name');
    assert.equal(removeSignalHandler(loop, osConstants.signals.SIGABRT), true);
    yield* sleep(0);
  });
});

test('an exception in the handler goes to the exception handler; the loop and the handler go on', T, async () => {
  const exceptions: ExceptionContext[] = [];
  await runSignals(
    function* (loop) {
      let calls = 0;
      loop.addSignalHandler('SIGWINCH', () => {
        calls++;
        throw new Error(`handler failed ${calls}`);
      });
      process.emit('SIGWINCH', 'SIGWINCH');
      yield* sleep(0);
      process.emit('SIGWINCH', 'SIGWINCH');
      yield* sleep(0);
      assert.equal(calls, 2);
      loop.removeSignalHandler('SIGWINCH');
    },
    { exceptions },
  );
  assert.deepEqual(
    exceptions.map((context) => (context.exception as Error).message),
    ['handler failed 1', 'handler failed 2'],
  );
});

test('closing a NodeEventLoop removes every signal listener it installed (and its queued deliveries never run)', T, async () => {
  const before = listenerCounts();
  const loop = createNodeLoop();
  let ran = 0;
  loop.addSignalHandler('SIGUSR2', () => ran++);
  loop.addSignalHandler('SIGWINCH', () => ran++);
  loop.addSignalHandler('SIGINT', () => ran++);
  assert.equal(process.listenerCount('SIGUSR2'), (before['SIGUSR2'] as number) + 1);
  assert.equal(process.listenerCount('SIGINT'), (before['SIGINT'] as number) + 1);
  process.emit('SIGWINCH', 'SIGWINCH'); // queued, never run
  loop.close();
  assert.deepEqual(listenerCounts(), before);
  assert.deepEqual(signalHandlerNames(loop), []);
  assert.equal(ran, 0);
  assert.throws(() => loop.addSignalHandler('SIGUSR2', () => {}), (error: unknown) => error instanceof RuntimeError && /closed/.test(error.message));
  assert.deepEqual(listenerCounts(), before);
});

test('a plain EventLoop: removeAllSignalHandlers before close; a signal for a closed loop removes the stale listener', T, async () => {
  const { EventLoop } = await import('../../src/tasks/event-loop.js');
  const before = process.listenerCount('SIGURG');
  const plain = new EventLoop();
  addSignalHandler(plain, 'SIGURG', () => {});
  assert.equal(removeAllSignalHandlers(plain), 1);
  assert.equal(process.listenerCount('SIGURG'), before);

  const careless = new EventLoop();
  addSignalHandler(careless, 'SIGURG', () => {});
  assertLoopClean(careless); // closes it; its close() knows nothing of signals
  assert.equal(process.listenerCount('SIGURG'), before + 1);
  process.emit('SIGURG', 'SIGURG');
  assert.equal(process.listenerCount('SIGURG'), before);
  plain.close();
});

test('bad signals, callbacks and options are clear errors that install nothing', T, async () => {
  await runSignals(function* (loop) {
    const before = listenerCounts();
    const cb = (): void => {};
    const rangeError = (pattern: RegExp) => (error: unknown) => error instanceof RangeError && pattern.test(error.message);
    const typeError = (pattern: RegExp) => (error: unknown) => error instanceof TypeError && pattern.test(error.message);
    assert.throws(() => addSignalHandler(loop, 'SIGKILL', cb), rangeError(/addSignalHandler: SIGKILL \(signal 9\) cannot be caught/));
    assert.throws(() => addSignalHandler(loop, 'SIGSTOP', cb), rangeError(/SIGSTOP .* cannot be caught/));
    assert.throws(() => addSignalHandler(loop, osConstants.signals.SIGKILL, cb), rangeError(/SIGKILL/));
    assert.throws(() => addSignalHandler(loop, 'SIGFOO' as NodeJS.Signals, cb), rangeError(/unknown signal "SIGFOO"/));
    assert.throws(() => addSignalHandler(loop, 'USR2' as NodeJS.Signals, cb), rangeError(/unknown signal "USR2" \(did you mean 'SIGUSR2'\?\)/));
    assert.throws(() => addSignalHandler(loop, 9999, cb), rangeError(/unknown signal number 9999/));
    assert.throws(() => addSignalHandler(loop, 2.5, cb), rangeError(/unknown signal number 2.5/));
    assert.throws(() => addSignalHandler(loop, 0, cb), rangeError(/unknown signal number 0/));
    assert.throws(() => addSignalHandler(loop, {} as NodeJS.Signals, cb), typeError(/signal must be a signal name .* got an Object/));
    assert.throws(() => addSignalHandler(loop, 'SIGUSR2', 'cb' as unknown as () => void), typeError(/addSignalHandler: callback must be a function, got "cb"/));
    assert.throws(() => addSignalHandler(loop, 'SIGUSR2', cb, { priority: 'urgent' as 'high' }), typeError(/priority must be one of/));
    assert.throws(() => removeSignalHandler(loop, 'SIGNOPE' as NodeJS.Signals), rangeError(/removeSignalHandler: unknown signal "SIGNOPE"/));
    // SIGKILL and SIGSTOP never have a handler: removing one says so (asyncio: False).
    assert.equal(loop.removeSignalHandler('SIGSTOP'), false);
    assert.equal(removeSignalHandler(loop, osConstants.signals.SIGKILL), false);
    // A generator function would only make a generator per signal (asyncio: TypeError, always).
    assert.throws(() => addSignalHandler(loop, 'SIGUSR2', function* () {}), typeError(/addSignalHandler: callback is a generator function/));
    assert.deepEqual(listenerCounts(), before);
    assert.deepEqual(signalHandlerNames(loop), []);
    yield* sleep(0);
  });
});

test('signal handlers are refused inside a worker thread (Node never emits signals there)', T, async () => {
  const signalsUrl = new URL('../../src/io/signals.js', import.meta.url).href;
  const loopUrl = new URL('../../src/tasks/event-loop.js', import.meta.url).href;
  const source = `
    const { parentPort } = await import('node:worker_threads');
    const { addSignalHandler } = await import(${JSON.stringify(signalsUrl)});
    const { EventLoop } = await import(${JSON.stringify(loopUrl)});
    const loop = new EventLoop();
    try { addSignalHandler(loop, 'SIGUSR2', () => {}); parentPort.postMessage('installed'); }
    catch (error) { parentPort.postMessage(error.name + ': ' + error.message); }
    loop.close();
  `;
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(source)}`));
  const message = await withWatchdog(new Promise<string>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  }), 'the worker');
  await worker.terminate();
  assert.match(message, /^RuntimeError: addSignalHandler: signals are delivered to the main thread only/);
});
