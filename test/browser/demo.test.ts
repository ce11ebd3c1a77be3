/**
 * The browser demo (examples/browser/) under load, in headless chromium:
 * start the 10,000-task background job, type into the text box and drag
 * the box while it runs, wait for the job to finish, read the page's
 * figures (PerformanceObserver long tasks, input-to-handler latency,
 * frames).
 *
 * Asserted in "eventide priorities" mode: the job finishes, no long task
 * (> 50 ms) occurred during it, input-to-handler p99 < 16 ms for discrete
 * input (keys, pointer down/up), drag moves within two frames (Chromium
 * itself holds pointermove back until the next frame), and the animation
 * keeps running. The same figures in "plain promises" mode are reported
 * (t.diagnostic), not asserted: there the job is one long task. So are
 * those of "native scheduler.postTask" mode (Chromium's own scheduler),
 * where only the job's completion is asserted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { DemoSnapshot, Mode } from '../../examples/browser/app.js';
import { browserSkipReason, openBrowserSession, type BrowserSession } from './harness.js';

/** What window.demo.snapshot() returns: the demo's own type. */
type Snapshot = DemoSnapshot;

interface DemoWindow {
  demo?: { ready: boolean; startJob(): void; snapshot(): Snapshot };
  setTimeout(callback: () => void, ms: number): number;
  performance: { now(): number };
  PerformanceObserver: new (callback: (list: { getEntries(): { duration: number }[] }) => void) => { observe(options: { type: string; buffered?: boolean }): void };
  [key: string]: unknown;
}

const skip = browserSkipReason();
let session: BrowserSession | null = null;

function describeFigures(s: Snapshot): string {
  return (
    `${s.mode}: job ${s.done}/${s.total} in ${s.jobMs} ms; ` +
    `input→handler p50 ${s.latencyP50Ms} ms, p99 ${s.latencyP99Ms} ms (${s.inputEvents} key/pointer events); ` +
    `drag moves p50 ${s.moveP50Ms} ms, p99 ${s.moveP99Ms} ms (${s.moveEvents}); ` +
    `long tasks ${s.longTasks}${s.longTasks > 0 ? ` (longest ${s.longestTaskMs} ms)` : ''}; ` +
    `${s.framesDropped} frames dropped; ` +
    `${s.jobFps} fps during the job; isInputPending ${s.usesInputPending ? 'used' : 'not used'}`
  );
}

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Types and drags in rounds until the job is done (or `rounds` ran). Only
 * raw mouse and keyboard input once the job runs (no locators): in plain
 * mode the page cannot answer anything else until the job is over, and the
 * input must be sent while it is busy to be measured at all (the first key
 * goes out before anything waits for the page). The text box has the focus
 * when this starts; later rounds click into it again, since dragging the
 * box takes the focus.
 */
async function interact(page: Page, text: Box, arena: Box, rounds: number): Promise<void> {
  const done = (): Promise<boolean> => page.evaluate(() => (globalThis as unknown as DemoWindow).demo?.snapshot().finished === true);
  let boxX = arena.x + 35; // the box's centre, as we dragged it
  for (let round = 0; round < rounds && (round === 0 || !(await done())); round++) {
    if (round > 0) await page.mouse.click(text.x + text.width / 2, text.y + text.height / 2);
    await page.keyboard.type(`round ${round}: typing while busy `, { delay: 8 });
    const direction = round % 2 === 0 ? 1 : -1;
    await page.mouse.move(boxX, arena.y + 35);
    await page.mouse.down();
    for (let i = 1; i <= 12; i++) await page.mouse.move(boxX + direction * i * 15, arena.y + 35 + (i % 6) * 4);
    await page.mouse.up();
    boxX += direction * 12 * 15;
  }
}

/** Loads the demo in `mode`, runs the job under input, returns the figures. */
async function runDemo(mode: Mode): Promise<Snapshot> {
  const { page, errors } = await (session as BrowserSession).newPage();
  await page.goto(`${(session as BrowserSession).server.url}?mode=${mode}`);
  await page.waitForFunction(() => (globalThis as unknown as DemoWindow).demo?.ready === true);
  await page.waitForFunction(() => ((globalThis as unknown as DemoWindow).demo?.snapshot().fpsNow ?? 0) >= 20, null, { timeout: 10_000 });
  const text = await page.locator('#text').boundingBox();
  const arena = await page.locator('#arena').boundingBox();
  assert.ok(text !== null && arena !== null);
  await page.click('#text');
  // Start from a timer, not a click: Playwright waits for a click's
  // handling, which in plain mode is the whole job.
  await page.evaluate(() => {
    const w = globalThis as unknown as DemoWindow;
    w.setTimeout(() => w.demo?.startJob(), 0);
  });
  await new Promise((resolve) => setTimeout(resolve, 30)); // the job is running now
  await interact(page, text, arena, 40);
  await page.waitForFunction(() => (globalThis as unknown as DemoWindow).demo?.snapshot().finished === true, null, { timeout: 60_000 });
  await new Promise((resolve) => setTimeout(resolve, 100)); // the long-task observer reports shortly after a task ends
  const snapshot = await page.evaluate(() => (globalThis as unknown as DemoWindow).demo?.snapshot() as Snapshot);
  assert.deepEqual(errors, []);
  await page.close();
  return snapshot;
}

describe('browser demo under load (chromium)', { timeout: 90_000 }, () => {
  before(async () => {
    if (skip === null) session = await openBrowserSession();
  });
  after(async () => {
    await session?.close();
  });

  test('the long-task observer works in this browser: an 80 ms busy task is reported (so "no long task" below means something)', async (t) => {
    if (skip !== null) return t.skip(skip);
    const { page } = await (session as BrowserSession).newPage();
    await page.goto(`${(session as BrowserSession).server.url}blank.html`);
    const longest = await page.evaluate(
      () =>
        new Promise<number>((resolve) => {
          const w = globalThis as unknown as DemoWindow;
          new w.PerformanceObserver((list) => resolve(Math.max(...list.getEntries().map((e) => e.duration)))).observe({ type: 'longtask' });
          w.setTimeout(() => {
            const end = w.performance.now() + 80;
            while (w.performance.now() < end);
          }, 10);
        }),
    );
    assert.ok(longest >= 80, `longest reported task ${longest} ms`);
    await page.close();
  });

  // The responsiveness figures are measured in real time on a shared
  // 2-core machine, where another process can take the page's CPU for a
  // moment. So they must hold in one of up to three runs (each failure is
  // reported); correctness must hold in every run.
  test('eventide priorities: the 10,000-task job finishes with no long task, input p99 < 16 ms, drag within two frames, animation running', async (t) => {
    if (skip !== null) return t.skip(skip);
    const failures: string[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const s = await runDemo('eventide');
      t.diagnostic(`attempt ${attempt}: ${describeFigures(s)}`);
      assert.equal(s.finished, true);
      assert.equal(s.done, s.total);
      assert.equal(s.total, 10_000);
      assert.equal(s.longTasksSupported, true);
      assert.ok(s.inputEvents >= 10 && s.moveEvents >= 10, `input overlapped the job: ${s.inputEvents} key/pointer events, ${s.moveEvents} moves`);
      const problems: string[] = [];
      if (s.longTasks !== 0) problems.push(`long tasks during the job: ${s.longTasks} (longest ${s.longestTaskMs} ms)`);
      if (!(s.latencyP99Ms < 16)) problems.push(`input-to-handler p99 ${s.latencyP99Ms} ms`);
      if (!(s.moveP99Ms < 2 * (1000 / 60))) problems.push(`drag move p99 ${s.moveP99Ms} ms`);
      if (!(s.jobFps >= 30)) problems.push(`${s.jobFps} fps during the job`);
      if (problems.length === 0) return;
      failures.push(`attempt ${attempt}: ${problems.join('; ')}`);
    }
    assert.fail(`responsiveness missed in all 3 runs:\n${failures.join('\n')}`);
  });

  test('plain promises: the same measurement, reported for contrast (not asserted)', async (t) => {
    if (skip !== null) return t.skip(skip);
    const s = await runDemo('plain');
    t.diagnostic(describeFigures(s));
    assert.equal(s.finished, true, 'the job still finishes');
  });

  test('native scheduler.postTask: the page runs the job through Chromium\'s scheduler; reported for contrast, the job finishes', async (t) => {
    if (skip !== null) return t.skip(skip);
    const s = await runDemo('posttask');
    t.diagnostic(describeFigures(s));
    assert.equal(s.mode, 'posttask', 'this chromium has scheduler.postTask');
    assert.equal(s.finished, true);
    assert.equal(s.done, s.total);
  });
});
