/**
 * The HTML report (src/inspect/report.ts) in a real browser: the file is
 * written to disk and opened through file:// in headless chromium, as a
 * person would open it — so it must need no network and no server.
 *
 * The trace comes from a real TraceRecorder on a virtual-time loop, with a
 * hand-driven clock for the recorder: each task body advances it by a fixed
 * amount, so step durations (and so the busiest task, and which steps are
 * slow) are exact and independent of the machine's speed.
 *
 * Pinned: no console errors or page errors; a row per task plus the loop's;
 * the busiest table is sorted by time in steps (its first row is the
 * busiest task); the slow step is highlighted and listed; program-chosen
 * names are escaped; the page loads nothing from anywhere.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { EventLoop, sleep } from '../../src/index.js';
import { renderReport, TraceRecorder } from '../../src/inspect/index.js';
import type { TraceEvent } from '../../src/inspect/trace.js';
import { assertLoopClean } from '../../src/testing.js';
import { browserSkipReason, CHROMIUM_ARGS, CHROMIUM_PATH } from './harness.js';

/** A clock the test moves by hand (ms). */
class HandClock {
  ms = 1000;
  now(): number {
    return this.ms;
  }
}

/**
 * Runs three tasks and returns the recorded events. Time in steps:
 * 'heavy' 3 steps of 20 + 80 + 20 ms (the 80 ms one is slow, starting at 85 ms:
 * after heavy, medium, light, main and medium again), 'medium' 2 of
 * 30 ms, '<b>light</b>' 1 of 5 ms.
 */
async function recordKnownProgram(): Promise<TraceEvent[]> {
  const clock = new HandClock();
  const loop = new EventLoop({ clock: 'virtual' });
  const recorder = new TraceRecorder(loop, { clock });
  const busy = (ms: number): void => {
    clock.ms += ms;
  };
  const heavy = loop.createTask(function* () {
    busy(20);
    yield* sleep(10);
    busy(80);
    yield* sleep(10);
    busy(20);
  }, { name: 'heavy' });
  const medium = loop.createTask(function* () {
    busy(30);
    yield* sleep(5);
    busy(30);
  }, { name: 'medium' });
  const light = loop.createTask(function* () {
    busy(5);
  }, { name: '<b>light</b>' });
  await loop.runUntilComplete(loop.createTask(function* () {
    yield* heavy;
    yield* medium;
    yield* light;
  }, { name: 'main' }));
  recorder.stop();
  assertLoopClean(loop);
  loop.close();
  return recorder.toJSON().traceEvents;
}

const skip = browserSkipReason();

describe('HTML report in headless chromium', { skip: skip ?? false }, () => {
  let browser: Browser | null = null;
  let dir = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'eventide-report-'));
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  });

  after(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the report opens from file:// without errors and shows rows, the busiest task first, and the slow step', async () => {
    const events = await recordKnownProgram();
    const file = join(dir, 'report.html');
    writeFileSync(file, renderReport(events, { title: 'known program' }));
    const page = await (browser as Browser).newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`console.error: ${message.text()}`);
    });
    page.on('request', (request) => requests.push(request.url()));
    try {
      const url = pathToFileURL(file).href;
      await page.goto(url);
      assert.equal(await page.title(), 'known program');

      const rowLabels = await page.$$eval('#timeline .row[data-tid] .label', (labels) => labels.map((l) => (l.firstChild?.textContent ?? '').trim()));
      assert.deepEqual(
        rowLabels.map((l) => l.replace(/ #\d+$/, '')),
        ['event loop', 'heavy', 'medium', '<b>light</b>', 'main'],
      );
      // Every task row has its steps as bars: heavy's three steps are apart in time, so unmerged.
      const heavyTid = await page.$eval('#busiest tbody tr:first-child', (tr) => tr.getAttribute('data-tid'));
      assert.equal(await page.locator(`#timeline .row[data-tid="${heavyTid}"] .bar.step`).count(), 3);
      assert.equal(await page.locator(`#timeline .row[data-tid="${heavyTid}"] .wait`).count(), 1);

      const busiest = await page.$$eval('#busiest tbody tr', (trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].slice(1, 4).map((td) => td.textContent ?? '')),
      );
      assert.deepEqual(
        busiest.map(([name, time, steps]) => [String(name).replace(/ #\d+$/, ''), time, steps]),
        [
          ['heavy', '120 ms', '3'],
          ['medium', '60.00 ms', '2'],
          ['<b>light</b>', '5.00 ms', '1'],
          ['main', '0.000 ms', '2'],
        ],
      );
      // The escaped name is text, not markup.
      assert.equal(await page.locator('#timeline b, #busiest b').count(), 0);

      // Only heavy's 80 ms step is over the default 50 ms.
      const slowBars = await page.locator('#timeline .bar.slow').count();
      assert.equal(slowBars, 1);
      const slowRows = await page.$$eval('#slow tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
      assert.equal(slowRows.length, 1);
      assert.match(String(slowRows[0]?.[0]), /^heavy #\d+$/);
      assert.deepEqual(slowRows[0]?.slice(1), ['step 2', '85.00 ms', '80.00 ms']);

      const header = await page.locator('header .totals').innerText();
      assert.match(header, /tasks\s+4/);
      assert.match(header, /steps\s+8/);
      assert.match(header, /time in steps\s+185 ms/);
      assert.match(header, /slow \(> 50 ms\)\s+1/);

      // The inline script works: clicking a table row marks its timeline row; zooming widens the timeline.
      await page.click('#busiest tbody tr:nth-child(2)');
      const picked = await page.$$eval('.row.picked .label', (labels) => labels.map((l) => (l.firstChild?.textContent ?? '').trim()));
      assert.deepEqual(picked.map((l) => l.replace(/ #\d+$/, '')), ['medium']);
      const widthBefore = await page.$eval('#timeline .inner', (el) => el.getBoundingClientRect().width);
      await page.$eval('#zoom', (input) => {
        (input as unknown as { value: string }).value = '4';
        input.dispatchEvent(new Event('input'));
      });
      const widthAfter = await page.$eval('#timeline .inner', (el) => el.getBoundingClientRect().width);
      assert.ok(widthAfter > widthBefore * 3, `zoom did not widen the timeline: ${widthBefore} -> ${widthAfter}`);

      assert.deepEqual(errors, []);
      assert.deepEqual(requests, [url]);
    } finally {
      await page.close();
    }
  });
});

test('renderReport names a bad argument, and bounds the page for long traces by merging close bars (no browser needed)', () => {
  assert.throws(() => renderReport(null as unknown as TraceEvent[]), /renderReport: events must be an array/);
  assert.throws(() => renderReport([], { slowMs: -1 }), (e: Error) => e instanceof RangeError && /options\.slowMs .* got -1/.test(e.message));
  assert.throws(() => renderReport([], { maxRows: 0 }), /options\.maxRows must be a positive integer, got 0/);
  assert.match(renderReport([]), /<title>eventide trace<\/title>/);
  const events: TraceEvent[] = [{ ph: 'M', name: 'thread_name', pid: 1, tid: 5, args: { name: 'spinner #5' } }];
  // 20 000 back-to-back 1 µs steps, and one slow step at the end that must stay its own bar.
  for (let i = 0; i < 20_000; i++) events.push({ ph: 'X', name: 'step', cat: 'task', pid: 1, tid: 5, ts: i * 2, dur: 1, args: { step: i + 1 } });
  events.push({ ph: 'X', name: 'step', cat: 'task', pid: 1, tid: 5, ts: 40_000, dur: 60_000, args: { step: 20_001 } });
  const html = renderReport(events);
  const bars = html.match(/class="bar step/g) ?? [];
  assert.ok(bars.length > 1 && bars.length <= 2001, `expected merged bars, got ${bars.length}`);
  assert.equal((html.match(/class="bar step slow"/g) ?? []).length, 1);
  assert.match(html, /20001<\/td>/);
});
