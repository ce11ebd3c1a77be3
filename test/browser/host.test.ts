/**
 * The browser host in a real page (headless chromium): the bundle
 * dist/browser/eventide.js is loaded into a blank page and exercised there.
 *
 * Pinned: the guest-mode ordering in a real page (priorities, timers,
 * page callbacks waking an idle loop, native promises); ready work goes
 * through MessageChannel, not setTimeout (no 4 ms clamp: a chain of ticks
 * runs many times per nested timeout); `run` cuts a long batch into
 * budgeted turns; fromEvent delivers real clicks in
 * order, at the stream priority; nextFrame wakes tasks inside the
 * requestAnimationFrame callback. Assertions are on orders and counts,
 * never on wall-clock speed.
 *
 * Functions passed to page.evaluate run in the page: they reach the bundle
 * through `window.E` and must not close over anything in this file.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import type * as Eventide from '../../src/browser.js';
import { browserSkipReason, openBrowserSession, type BrowserSession } from './harness.js';

/** The page's globals as these tests use them. */
interface TestWindow {
  E: typeof Eventide;
  setTimeout(callback: () => void, ms: number): number;
  requestAnimationFrame(callback: (timestampMs: number) => void): number;
  fetch(url: string): Promise<{ status: number }>;
  document: {
    createElement(tag: string): TestElement;
    body: { appendChild(element: TestElement): void };
  };
  performance: { now(): number };
  [key: string]: unknown;
}
interface TestElement extends Eventide.EventTargetLike {
  id: string;
  textContent: string | null;
  style: Record<string, string>;
}

const skip = browserSkipReason();
let session: BrowserSession | null = null;

async function blankPageWithBundle(): Promise<{ page: Page; errors: string[] }> {
  const opened = await (session as BrowserSession).newPage();
  await opened.page.goto(`${(session as BrowserSession).server.url}blank.html`);
  await opened.page.addScriptTag({ type: 'module', content: "import * as E from '/eventide.js'; window.E = E;" });
  await opened.page.waitForFunction(() => 'E' in globalThis);
  return opened;
}

describe('browser host (chromium)', { timeout: 60_000 }, () => {
  before(async () => {
    if (skip === null) session = await openBrowserSession();
  });
  after(async () => {
    await session?.close();
  });

  test('guest-mode ordering in a real page: lanes, timer deadlines, page callbacks waking an idle loop, native promises in tasks', async (t) => {
    if (skip !== null) return t.skip(skip);
    const { page, errors } = await blankPageWithBundle();
    const log = await page.evaluate(async () => {
      const w = globalThis as unknown as TestWindow;
      const { BrowserLoop, EventLoop, until } = w.E;
      const log: string[] = [];
      // The first turn runs every lane in one batch, so 'low' runs before
      // the timers its critical neighbour schedules. Only wall-clock time
      // could reorder that, on a slow (cold, shared) machine: a turn that
      // outruns the budget is cut, and a normal-lane run that outlasts the
      // slice moves the timers, by then due, ahead of 'low'. A budget and
      // no slice that no turn can run out of keep the order a fact of the
      // loop, not of the machine's speed.
      const browser = new BrowserLoop({ budgetMs: 60_000, loop: new EventLoop({ sliceMs: Infinity }) });
      const loop = browser.loop;
      loop.callSoon(() => log.push('normal 1'));
      loop.callSoon(() => {
        log.push('critical');
        // Scheduled in the first tick, so due only in a later one.
        loop.callLater(6, () => log.push('timer 6'));
        loop.callLater(2, () => log.push('timer 2'));
      }, { priority: 'critical' });
      loop.callSoon(() => log.push('normal 2'));
      loop.callSoon(() => log.push('low'), { priority: 'low' });
      loop.callLater(60_000, () => log.push('never: the loop stops first'));
      void Promise.resolve().then(() => log.push('page microtask (before the first turn)'));
      // The loop is idle, waiting on a 60 s timer, when these page callbacks
      // schedule work. 200 ms leaves the first turn ample time to set the
      // 2 and 6 ms timers running before the page's own deadline comes.
      w.setTimeout(() => {
        log.push('page timeout 200');
        loop.callSoon(() => log.push('scheduled by the page at 200'));
      }, 200);
      w.setTimeout(() => log.push('page timeout 250'), 250);
      loop.createTask(function* () {
        const status = yield* until(w.fetch('/blank.html').then((r) => r.status));
        yield* w.E.sleep(300);
        log.push(`task: fetch ${status}, then slept`);
        loop.stop();
      });
      await browser.start();
      const stats = browser.driver.statistics();
      loop.close();
      return { log, stats };
    });
    assert.deepEqual(log.log, [
      'page microtask (before the first turn)',
      'critical',
      'normal 1',
      'normal 2',
      'low',
      'timer 2',
      'timer 6',
      'page timeout 200',
      'scheduled by the page at 200',
      'page timeout 250',
      'task: fetch 200, then slept',
    ]);
    assert.ok(log.stats.timersCancelled >= 1, 'work from the page cancelled a stale host timer');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('ready work goes through MessageChannel, not setTimeout: 100+ chained ticks complete while 10 nested setTimeout(0)s (clamped to 4 ms) run', async (t) => {
    if (skip !== null) return t.skip(skip);
    const { page, errors } = await blankPageWithBundle();
    const result = await page.evaluate(async () => {
      const w = globalThis as unknown as TestWindow;
      const browser = new w.E.BrowserLoop();
      const loop = browser.loop;
      // Count the setTimeout calls made while the chain runs: the driver must make none.
      const realSetTimeout = w.setTimeout;
      let setTimeoutCalls = 0;
      w.setTimeout = (callback: () => void, ms: number) => {
        setTimeoutCalls++;
        return realSetTimeout.call(globalThis, callback, ms);
      };
      let ticks = 0;
      let ticksWhenNestedDone = -1;
      const chain = (): void => {
        ticks++;
        if (ticksWhenNestedDone < 0) loop.callSoon(chain);
        else loop.stop();
      };
      loop.callSoon(chain);
      let depth = 0;
      const nested = (): void => {
        if (++depth < 10) realSetTimeout.call(globalThis, nested, 0);
        else ticksWhenNestedDone = ticks;
      };
      realSetTimeout.call(globalThis, nested, 0);
      await browser.start();
      w.setTimeout = realSetTimeout;
      const turns = browser.driver.statistics().turns;
      loop.close();
      return { ticks, ticksWhenNestedDone, setTimeoutCalls, turns };
    });
    t.diagnostic(`eventide ticks completed during 10 nested setTimeout(0): ${result.ticksWhenNestedDone}`);
    assert.ok(result.ticksWhenNestedDone >= 100, `only ${result.ticksWhenNestedDone} ticks ran during 10 nested timeouts`);
    assert.equal(result.setTimeoutCalls, 0, 'no setTimeout was used for ready work');
    assert.ok(result.turns >= result.ticks, 'one host turn per tick');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("run from 'eventide/browser' slices a long batch into budgeted turns: a page timer set by the first of 40 ms of callbacks runs before the last", async (t) => {
    if (skip !== null) return t.skip(skip);
    const { page, errors } = await blankPageWithBundle();
    const log = await page.evaluate(async () => {
      const w = globalThis as unknown as TestWindow;
      const { run, getRunningLoop } = w.E;
      const log: string[] = [];
      const spinMs = (ms: number): void => {
        const endMs = w.performance.now() + ms;
        while (w.performance.now() < endMs);
      };
      // The portable run cuts only between ticks: these 40 callbacks,
      // ready together, would be one 40 ms browser task, the timer after them.
      await run(function* () {
        const loop = getRunningLoop();
        const done = loop.createFuture<void>();
        for (let i = 0; i < 40; i++) {
          loop.callSoon(() => {
            spinMs(1);
            if (i === 0 || i === 39) log.push(`cb ${i}`);
            if (i === 0) w.setTimeout(() => log.push('page timer'), 0);
            if (i === 39) done.setResult();
          });
        }
        yield* done;
      }, { budgetMs: 4 });
      return log;
    });
    assert.deepEqual(log, ['cb 0', 'page timer', 'cb 39']);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('fromEvent delivers real clicks in order at the stream priority: a critical stream overtakes a queued flood of low work, an idle one waits for it', async (t) => {
    if (skip !== null) return t.skip(skip);
    const { page, errors } = await blankPageWithBundle();
    await page.evaluate(() => {
      const w = globalThis as unknown as TestWindow;
      const { BrowserLoop, EventLoop, fromEvent } = w.E;
      const button = w.document.createElement('button');
      button.id = 'target';
      button.textContent = 'click me';
      button.style['width'] = '400px';
      button.style['height'] = '60px';
      w.document.body.appendChild(button);
      // The idle lane's starvation bound (by default 16 ticks or 100 ms) is
      // lifted, so idle strictly waits for the whole low flood here.
      const browser = new BrowserLoop({ loop: new EventLoop({ starvationBounds: { idle: { maxDeferredTicks: 1_000_000, maxDeferredMs: 1e9 } } }) });
      const loop = browser.loop;
      void browser.start();
      const FLOOD = 1500;
      const state = { low: 0, dispatchedAt: [] as number[], critical: [] as [number, number][], idle: [] as [number, number][], flood: FLOOD };
      w['state'] = state;
      // A flood of low-priority work, all queued at once (just before the
      // clicks), ~1 ms each.
      w['startFlood'] = () => {
        for (let i = 0; i < FLOOD; i++) {
          loop.callSoon(() => {
            const end = w.performance.now() + 1;
            while (w.performance.now() < end);
            state.low++;
          }, { priority: 'low' });
        }
      };
      // A plain listener notes how much low work had run when each click was dispatched.
      button.addEventListener('click', () => state.dispatchedAt.push(state.low));
      const critical = fromEvent<{ clientX: number }>(button, 'click', { loop }); // critical by default
      const idle = fromEvent<{ clientX: number }>(button, 'click', { loop, priority: 'idle' });
      const read = (stream: typeof critical, into: [number, number][]): void => {
        loop.createTask(function* () {
          for (let i = 0; i < 5; i++) {
            const { value } = yield* stream.next();
            into.push([Math.round(value?.clientX ?? -1), state.low]);
          }
          stream.close();
          if (into === state.idle) loop.stop();
        }, { priority: into === state.critical ? 'critical' : 'idle' });
      };
      read(critical, state.critical);
      read(idle, state.idle);
    });
    const box = await page.locator('#target').boundingBox();
    assert.ok(box !== null);
    await page.evaluate(() => ((globalThis as unknown as TestWindow)['startFlood'] as () => void)());
    for (let i = 0; i < 5; i++) await page.mouse.click(box.x + 20 + i * 60, box.y + 30);
    await page.waitForFunction(() => (globalThis as unknown as { state: { idle: unknown[] } }).state.idle.length === 5, null, { timeout: 30_000 });
    const state = await page.evaluate(() => (globalThis as unknown as TestWindow)['state'] as { low: number; flood: number; dispatchedAt: number[]; critical: [number, number][]; idle: [number, number][] });
    const xs = state.critical.map(([x]) => x);
    assert.deepEqual(xs, [...xs].sort((a, b) => a - b), 'clicks read in dispatch order');
    assert.equal(new Set(xs).size, 5);
    assert.deepEqual(state.idle.map(([x]) => x), xs, 'both streams saw the same clicks in the same order');
    const lags = state.critical.map(([, low], i) => low - (state.dispatchedAt[i] as number));
    t.diagnostic(`low callbacks run between a click's dispatch and its critical reader: ${lags.join(', ')}`);
    for (const lag of lags) assert.ok(lag <= 15, `a critical click waited behind ${lag} low callbacks`);
    assert.ok((state.critical[4] as [number, number])[1] < state.flood, 'the critical reader had every click before the flood was done');
    for (const [, low] of state.idle) assert.equal(low, state.flood, 'the idle stream delivered only after all low work');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('nextFrame wakes a task inside the requestAnimationFrame callback (before paint), with its timestamp; tasks waiting for one frame share it', async (t) => {
    if (skip !== null) return t.skip(skip);
    const { page, errors } = await blankPageWithBundle();
    const result = await page.evaluate(async () => {
      const w = globalThis as unknown as TestWindow;
      // Mark when we are inside a rAF callback (installed before eventide asks for one).
      const realRaf = w.requestAnimationFrame;
      let inFrame: number | null = null;
      let rafRequests = 0;
      w.requestAnimationFrame = (callback) => {
        rafRequests++;
        return realRaf.call(globalThis, (timestampMs: number) => {
          inFrame = timestampMs;
          try {
            callback(timestampMs);
          } finally {
            inFrame = null;
          }
        });
      };
      const { BrowserLoop, nextFrame } = w.E;
      const browser = new BrowserLoop();
      const loop = browser.loop;
      const seen: { name: string; timestamp: number; insideFrameOf: number | null }[] = [];
      const drawer = (name: string, priority: 'high' | 'normal') =>
        loop.createTask(function* () {
          for (let i = 0; i < 3; i++) {
            const timestamp = yield* nextFrame();
            seen.push({ name, timestamp, insideFrameOf: inFrame });
          }
        }, { priority, name });
      const tasks = [drawer('a', 'high'), drawer('b', 'normal')];
      loop.createTask(function* () {
        for (const task of tasks) yield* task;
        loop.stop();
      });
      await browser.start();
      w.requestAnimationFrame = realRaf;
      loop.close();
      return { seen, rafRequests };
    });
    assert.equal(result.seen.length, 6);
    for (const entry of result.seen) assert.equal(entry.insideFrameOf, entry.timestamp, `${entry.name} ran inside the frame callback of its own frame`);
    assert.deepEqual(result.seen.map((e) => e.name), ['a', 'b', 'a', 'b', 'a', 'b'], 'high before normal within each frame');
    assert.equal(result.rafRequests, 3, 'one requestAnimationFrame per frame for both tasks');
    assert.deepEqual(errors, []);
    await page.close();
  });
});
