/**
 * The browser host (src/hosts/browser.ts) outside a browser: its
 * primitives and fallbacks in Node, which has MessageChannel but no
 * requestAnimationFrame (the tests that need one install a fake) or
 * isInputPending. The real page is tested in
 * test/browser/host.test.ts.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { RuntimeError } from '../../src/core/errors.js';
import { run } from '../../src/browser.js';
import { BrowserHost, BrowserLoop, nextFrame, runInBrowser } from '../../src/hosts/browser.js';
import { guestDriverOf } from '../../src/hosts/guest.js';
import { EventLoop, getRunningLoop } from '../../src/tasks/event-loop.js';
import { sleep, until } from '../../src/tasks/operation.js';
import { assertLoopClean } from '../../src/testing.js';
import { Log } from '../log.js';

test('BrowserHost.callSoon runs callbacks in request order, each in its own host turn; close() releases the channel', async () => {
  const host = new BrowserHost();
  const log = new Log();
  await new Promise<void>((resolve) => {
    host.callSoon(() => {
      log.push('soon 1');
      void Promise.resolve().then(() => log.push('microtask of soon 1'));
    });
    host.callSoon(() => log.push('soon 2'));
    host.callSoon(resolve);
  });
  log.assert(['soon 1', 'microtask of soon 1', 'soon 2'], 'microtasks drain between two soon callbacks');
  host.close(); // an open MessagePort would keep this process alive
});

test('BrowserHost.callLater fires after the delay and its cancel function stops it', async () => {
  const host = new BrowserHost();
  const log = new Log();
  const cancel = host.callLater(5, () => log.push('cancelled timer'));
  cancel();
  await new Promise<void>((resolve) => host.callLater(0.2, () => resolve()));
  await new Promise<void>((resolve) => host.callLater(10, () => resolve()));
  log.assert([]);
  host.close();
});

test('BrowserHost.shouldYield asks navigator.scheduling.isInputPending (with continuous events) where it exists, unless yieldToInput is false', () => {
  const g = globalThis as { navigator?: unknown };
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  const calls: unknown[] = [];
  let pending = false;
  Object.defineProperty(globalThis, 'navigator', {
    configurable: true,
    value: { scheduling: { isInputPending: (options: unknown) => (calls.push(options), pending) } },
  });
  try {
    const host = new BrowserHost();
    const deaf = new BrowserHost({ yieldToInput: false });
    assert.equal(host.usesInputPending, true);
    assert.equal(deaf.usesInputPending, false);
    assert.equal(host.shouldYield(), false);
    pending = true;
    assert.equal(host.shouldYield(), true);
    assert.equal(deaf.shouldYield(), false);
    assert.deepEqual(calls, [{ includeContinuous: true }, { includeContinuous: true }]);
  } finally {
    if (saved) Object.defineProperty(globalThis, 'navigator', saved);
    else delete g.navigator;
  }
  assert.equal(new BrowserHost().usesInputPending, typeof (globalThis as { navigator?: { scheduling?: unknown } }).navigator?.scheduling === 'object');
});

test('runInBrowser runs main under the page-style driver: timers, native promises, frames (60 Hz fallback without requestAnimationFrame); leftovers are cancelled and the loop closed', async () => {
  const log = new Log();
  let loopSeen: EventLoop | null = null;
  const result = await runInBrowser(function* () {
    const { getRunningLoop } = yield* until(import('../../src/tasks/event-loop.js'));
    const loop = getRunningLoop();
    loopSeen = loop;
    loop.createTask(function* () {
      try {
        yield* sleep(60_000);
      } finally {
        log.push('leftover cancelled');
      }
    });
    yield* sleep(2);
    log.push('slept');
    const value = yield* until(Promise.resolve(7));
    const frameMs = yield* nextFrame();
    log.push(`frame ${typeof frameMs}`);
    return value * 6;
  });
  assert.equal(result, 42);
  log.assert(['slept', 'frame number', 'leftover cancelled']);
  assert.ok(loopSeen !== null && (loopSeen as EventLoop).isClosed());
});

test("run from 'eventide/browser' is the page's run: main runs under a GuestDriver (the portable run has none)", async () => {
  const seen = await run(function* () {
    const driver = guestDriverOf(getRunningLoop());
    return driver === undefined ? 'no guest driver' : `guest driver, ${driver.statistics().turns} turn(s) so far`;
  }, { budgetMs: 3 });
  assert.equal(seen, 'guest driver, 1 turn(s) so far');
});

test("run / runInBrowser refuse a host and a loop of the caller's, naming the call; a virtual clock runs as the portable run does (without the page's budget)", async () => {
  const main = function* (): Generator<never, number> {
    return 1;
  };
  await assert.rejects(run(main, { host: {} } as object), /^TypeError: run: options.host and options.loop are not allowed/);
  await assert.rejects(runInBrowser(main, { loop: new EventLoop() } as object), /^TypeError: runInBrowser: options.host and options.loop are not allowed/);
  assert.equal(
    await run(function* () {
      yield* sleep(3_600_000); // an hour, at once: the page's timers never see it
      return getRunningLoop().time();
    }, { clock: 'virtual' }),
    3_600_000,
  );
  await assert.rejects(run(main, { clock: 'virtual', budgetMs: 3 }), /^TypeError: run: options.budgetMs and options.yieldToInput apply to the page's real clock, not to options.clock "virtual"/);
  await assert.rejects(run(main, null as unknown as object), /^TypeError: run: options must be an object, got null/);
  assert.equal(await run(main, { clock: 'real', budgetMs: 3, debug: true }), 1);
});

/** Installs `requestAnimationFrame` / `cancelAnimationFrame` on globalThis for `body`, then removes them. */
async function withAnimationFrames<T>(raf: (callback: (timestampMs: number) => void) => number, cancel: (id: number) => void, body: () => Promise<T>): Promise<T> {
  const g = globalThis as { requestAnimationFrame?: unknown; cancelAnimationFrame?: unknown };
  g.requestAnimationFrame = raf;
  g.cancelAnimationFrame = cancel;
  try {
    return await body();
  } finally {
    delete g.requestAnimationFrame;
    delete g.cancelAnimationFrame;
  }
}

test('nextFrame in a hidden page (requestAnimationFrame never fires): a timer stands in after 100 ms and cancels the frame request, instead of waiting forever', { timeout: 5_000 }, async () => {
  const requested: number[] = [];
  const cancelled: number[] = [];
  const result = await withAnimationFrames(
    () => requested.push(requested.length + 1), // ids 1, 2, ...; the callbacks are never called
    (id) => cancelled.push(id),
    () =>
      runInBrowser(function* () {
        const startMs = performance.now();
        const first = yield* nextFrame();
        const second = yield* nextFrame();
        // Two 100 ms stand-ins, with room for Node's timers, which run on a whole-ms loop clock and may fire a ms early each.
        return { waitedForBothStandIns: performance.now() - startMs >= 190, ordered: startMs < first && first < second };
      }),
  );
  assert.deepEqual(result, { waitedForBothStandIns: true, ordered: true });
  assert.deepEqual(requested, [1, 2]);
  assert.deepEqual(cancelled, [1, 2]);
});

test('nextFrame in a visible page: the frame comes first, with its own timestamp, and the stand-in timer never fires', async () => {
  let cancelCalls = 0;
  const frames = await withAnimationFrames(
    (callback) => {
      setTimeout(() => callback(1000), 5);
      return 7;
    },
    () => cancelCalls++,
    () =>
      runInBrowser(function* () {
        const got = [yield* nextFrame(), yield* nextFrame()];
        yield* sleep(150); // past both stand-in timers: they were cleared
        return got;
      }),
  );
  assert.deepEqual(frames, [1000, 1000]);
  assert.equal(cancelCalls, 0);
});

test('BrowserLoop: start() drives the loop until loop.stop(); a second BrowserLoop on the same loop is refused while the first runs', async () => {
  const loop = new EventLoop();
  const browser = new BrowserLoop({ loop, budgetMs: 2 });
  const log = new Log();
  loop.callLater(3, () => {
    log.push('timer');
    loop.stop();
  });
  const stopped = browser.start();
  assert.throws(() => new BrowserLoop({ loop }).start(), RuntimeError);
  await stopped;
  log.assert(['timer']);
  assert.equal(browser.driver.running, false);
  assertLoopClean(loop);
});

test('BrowserLoop stopped and started again at once runs the second time: the first run releases its host only if no run has started since', { timeout: 5_000 }, async () => {
  // The release runs a microtask after stop(); it used to close the
  // MessageChannel under the second run and drop that run's "soon".
  const browser = new BrowserLoop();
  const loop = browser.loop;
  const log = new Log();
  const first = browser.start();
  browser.stop();
  const second = browser.start();
  loop.callSoon(() => {
    log.push('ran in the second run');
    loop.stop();
  });
  await first;
  await second;
  log.assert(['ran in the second run']);
  assertLoopClean(loop);
});

test('bad options: TypeError naming them', () => {
  assert.throws(() => new BrowserHost(null as unknown as object), /BrowserHost: options must be an object/);
  assert.throws(() => new BrowserLoop(5 as unknown as object), /BrowserLoop: options must be an object/);
  assert.throws(() => new BrowserLoop({ budgetMs: -1 }), /budgetMs must be a number > 0/);
});
