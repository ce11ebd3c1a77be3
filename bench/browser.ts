/**
 * The browser benchmark (`node dist/bench/index.js browser`), issue 6: the
 * demo page (examples/browser/) in headless Chromium, its 10,000-task
 * background job run under steady synthetic input in each of its three
 * modes — eventide priorities, plain promises, Chromium's native
 * `scheduler.postTask` — measuring what the user feels (input-to-handler
 * latency, dropped frames, long tasks) and what the job pays for it (its
 * completion time).
 *
 * How one run goes: a fresh page in the given mode, wait until it paints
 * (>= 20 fps) and half a second more, start the job from a page timer,
 * then send input at a fixed rate until the page reports the job done.
 * The input is a script of rounds, one step per tick (TICK_MS): click into
 * the text box, type TYPED_KEYS letters, press on the draggable box, move it
 * DRAG_MOVES times, release. It goes through a CDP session
 * (`Input.dispatchKeyEvent` / `Input.dispatchMouseEvent`, what
 * page.keyboard and page.mouse send underneath) without waiting for the
 * page to acknowledge each event: a user does not stop typing because the
 * page froze, and Playwright's own calls would block until the page
 * answers (in plain mode, until the job ends). Every figure is the page's
 * own (window.demo.snapshot(), see app.ts): latency from event.timeStamp to
 * the handler for input that arrived while the job ran; frames from a
 * requestAnimationFrame counter (an interval over 1.5 x 16.7 ms counts as
 * round(interval / 16.7) - 1 dropped frames); long tasks from a
 * PerformanceObserver.
 *
 * The runs go through harness.ts's runGroup: one case per mode, one
 * warm-up run each, then 3 rounds that visit the modes in a rotated order.
 * A case's headline is the job's completion time; every other figure is a
 * side figure, reported as its median over the rounds (each figure's own
 * median). The raw snapshot of every run is kept in the JSON (`runs`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { CDPSession, Page } from 'playwright-core';
import type { DemoSnapshot, Mode } from '../examples/browser/app.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH, openBrowserSession, type BrowserSession } from '../test/browser/harness.js';
import { fmt, runGroup, type Case, type GroupResult, type Sample } from './harness.js';
import type { StandaloneGroup } from './io.js';

/** One input step every TICK_MS (50 steps/s). */
const TICK_MS = 20;
/** Letters typed per round, one per step. */
const TYPED_KEYS = 10;
/** Pointer moves per drag, one per step, DRAG_STEP_PX apart. */
const DRAG_MOVES = 12;
const DRAG_STEP_PX = 15;
/** Give up on a job after this long (plain mode's job is one task: it cannot be interrupted). */
const JOB_TIMEOUT_MS = 120_000;

const MODES: readonly { mode: Mode; label: string }[] = [
  { mode: 'eventide', label: 'eventide priorities' },
  { mode: 'plain', label: 'plain promises' },
  { mode: 'posttask', label: 'scheduler.postTask' },
];

/** The side figures of each case, in table order: key in `extra`, how the table names it. */
const FIGURES: readonly { key: string; row: string; from(s: DemoSnapshot): number }[] = [
  { key: 'input p50 ms', row: 'input → handler p50 (keys, pointer down/up), ms', from: (s) => s.latencyP50Ms },
  { key: 'input p99 ms', row: 'input → handler p99, ms', from: (s) => s.latencyP99Ms },
  { key: 'input events', row: 'input events measured', from: (s) => s.inputEvents },
  { key: 'drag move p50 ms', row: 'drag move → handler p50, ms', from: (s) => s.moveP50Ms },
  { key: 'drag move p99 ms', row: 'drag move → handler p99, ms', from: (s) => s.moveP99Ms },
  { key: 'drag moves', row: 'drag moves measured', from: (s) => s.moveEvents },
  { key: 'frames dropped', row: 'frames dropped during the job', from: (s) => s.framesDropped },
  { key: 'fps', row: 'frame rate during the job, fps', from: (s) => s.jobFps },
  { key: 'longest frame gap ms', row: 'longest gap between frames, ms', from: (s) => s.longestFrameMs },
  { key: 'long tasks', row: 'long tasks (> 50 ms)', from: (s) => s.longTasks },
  { key: 'long task total ms', row: 'long tasks, total ms', from: (s) => s.longTaskTotalMs },
  { key: 'idle frame ms', row: 'idle frame interval before the job, ms', from: (s) => s.idleFrameMs },
];

/** What the browser group adds to a GroupResult. */
export interface BrowserGroupResult extends GroupResult {
  setup: {
    chromium: string | null;
    args: readonly string[];
    tickMs: number;
    input: string;
    /** Whether eventide's host used navigator.scheduling.isInputPending (null: no eventide run). */
    eventideUsesInputPending: boolean | null;
    loadAverage1mStart: number;
    loadAverage1mEnd: number;
    elapsedS: number;
  };
  /** Every measured run's snapshot, in the order run. */
  runs: { mode: Mode; snapshot: DemoSnapshot }[];
  notes: string[];
}

interface DemoWindow {
  demo?: { ready: boolean; mode: Mode; startJob(): void; snapshot(): DemoSnapshot };
  setTimeout(callback: () => void, ms: number): number;
}

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The input script as CDP messages, one step per call: an endless
 * sequence of rounds (click the text box, type, drag the box one way;
 * the next round drags it back).
 */
function* inputSteps(text: Box, arena: Box): Generator<[method: 'Input.dispatchKeyEvent' | 'Input.dispatchMouseEvent', params: Record<string, unknown>][]> {
  const left = { button: 'left', clickCount: 1 };
  const letters = 'eventide';
  let typed = 0;
  let boxX = arena.x + 35; // the box's centre (it starts in the arena's top-left corner, 70 px square)
  const boxY = arena.y + 35;
  for (let round = 0; ; round++) {
    const textX = text.x + text.width / 2;
    const textY = text.y + text.height / 2;
    yield [
      ['Input.dispatchMouseEvent', { type: 'mousePressed', x: textX, y: textY, buttons: 1, ...left }],
      ['Input.dispatchMouseEvent', { type: 'mouseReleased', x: textX, y: textY, buttons: 0, ...left }],
    ];
    for (let k = 0; k < TYPED_KEYS; k++, typed++) {
      const key = letters[typed % letters.length] as string;
      const upper = key.toUpperCase();
      const common = { key, code: `Key${upper}`, windowsVirtualKeyCode: upper.charCodeAt(0) };
      yield [
        ['Input.dispatchKeyEvent', { type: 'keyDown', text: key, unmodifiedText: key, ...common }],
        ['Input.dispatchKeyEvent', { type: 'keyUp', ...common }],
      ];
    }
    const direction = round % 2 === 0 ? 1 : -1;
    yield [['Input.dispatchMouseEvent', { type: 'mousePressed', x: boxX, y: boxY, buttons: 1, ...left }]];
    for (let i = 1; i <= DRAG_MOVES; i++) {
      yield [['Input.dispatchMouseEvent', { type: 'mouseMoved', x: boxX + direction * i * DRAG_STEP_PX, y: boxY + (i % 6) * 4, buttons: 1, button: 'left' }]];
    }
    boxX += direction * DRAG_MOVES * DRAG_STEP_PX;
    yield [['Input.dispatchMouseEvent', { type: 'mouseReleased', x: boxX, y: boxY, buttons: 0, ...left }]];
  }
}

/**
 * Sends the input script, one step every TICK_MS on a fixed schedule,
 * until `stop` settles; never waits for the page between steps. Resolves
 * when every message sent has been acknowledged.
 */
async function sendInput(cdp: CDPSession, text: Box, arena: Box, stop: Promise<unknown>): Promise<void> {
  let stopped = false;
  void stop.finally(() => (stopped = true));
  const sent: Promise<unknown>[] = [];
  const startMs = performance.now();
  const steps = inputSteps(text, arena);
  for (let tick = 0; !stopped; tick++) {
    for (const [method, params] of steps.next().value ?? []) sent.push(cdp.send(method, params));
    const waitMs = startMs + (tick + 1) * TICK_MS - performance.now();
    if (waitMs > 0) await delay(waitMs);
  }
  await Promise.all(sent);
}

/** One run: a fresh page in `mode`, the job under input, the page's figures. */
async function runOnce(session: BrowserSession, mode: Mode): Promise<DemoSnapshot> {
  const { page, errors } = await session.newPage();
  try {
    await page.goto(`${session.server.url}?mode=${mode}`);
    await page.waitForFunction(() => (globalThis as unknown as DemoWindow).demo?.ready === true);
    await page.waitForFunction(() => ((globalThis as unknown as DemoWindow).demo?.snapshot().fpsNow ?? 0) >= 20, null, { timeout: 10_000 });
    await delay(500); // a settled page, and a second of idle frames before the job
    const actual = await page.evaluate(() => (globalThis as unknown as DemoWindow).demo?.mode);
    if (actual !== mode) throw new Error(`bench browser: asked for mode ${mode}, the page runs ${String(actual)} (no scheduler.postTask in this browser?)`);
    const text = await box(page, '#text');
    const arena = await box(page, '#arena');
    const cdp = await page.context().newCDPSession(page);
    // Start from a page timer: the evaluate returns before the job runs (in plain mode the job holds the page).
    await page.evaluate(() => {
      const w = globalThis as unknown as DemoWindow;
      w.setTimeout(() => w.demo?.startJob(), 0);
    });
    const finished = page.waitForFunction(() => (globalThis as unknown as DemoWindow).demo?.snapshot().finished === true, null, {
      timeout: JOB_TIMEOUT_MS,
      polling: 50,
    });
    await sendInput(cdp, text, arena, finished);
    await finished;
    await delay(200); // the long-task observer reports shortly after a task ends; frames resume after a frozen job
    const snapshot = await page.evaluate(() => (globalThis as unknown as DemoWindow).demo?.snapshot() as DemoSnapshot);
    await cdp.detach();
    if (errors.length > 0) throw new Error(`bench browser: the page reported errors in mode ${mode}:\n${errors.join('\n')}`);
    if (!snapshot.finished || snapshot.done !== snapshot.total) throw new Error(`bench browser: job not finished in mode ${mode}: ${snapshot.done}/${snapshot.total}`);
    return snapshot;
  } finally {
    await page.close();
  }
}

async function box(page: Page, selector: string): Promise<Box> {
  const found = await page.locator(selector).boundingBox();
  if (found === null) throw new Error(`bench browser: ${selector} is not on the page`);
  return found;
}

/** A case per mode: headline the job's completion time, the rest side figures. */
function modeCase(session: BrowserSession, mode: Mode, label: string, runs: BrowserGroupResult['runs']): Case {
  return {
    name: label,
    unit: 'ms job',
    async run(warmup: boolean): Promise<Sample> {
      const snapshot = await runOnce(session, mode);
      if (!warmup) runs.push({ mode, snapshot });
      return { value: snapshot.jobMs, extra: Object.fromEntries(FIGURES.map((f) => [f.key, f.from(snapshot)])) };
    },
  };
}

function chromiumVersion(): string | null {
  try {
    return execFileSync(CHROMIUM_PATH, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

async function runBrowser(quick: boolean, onProgress: (done: number, total: number) => void): Promise<BrowserGroupResult> {
  const startedMs = Date.now();
  const loadStart = Number((loadavg()[0] ?? 0).toFixed(2));
  const runs: BrowserGroupResult['runs'] = [];
  const notes: string[] = [];
  const input =
    `one step per ${TICK_MS} ms, not waiting for the page: click the text box, type ${TYPED_KEYS} letters, ` +
    `press the box, ${DRAG_MOVES} moves ${DRAG_STEP_PX} px apart, release; repeat`;
  let result: GroupResult = { id: browserGroup.id, title: browserGroup.title, reps: 0, warmups: 0, cases: [], ratios: [] };
  if (!existsSync(CHROMIUM_PATH)) {
    notes.push(`${CHROMIUM_PATH} not found: nothing measured (apt-get install -y chromium)`);
  } else {
    const session = await openBrowserSession();
    try {
      const cases = MODES.map(({ mode, label }) => modeCase(session, mode, label, runs));
      const ratio = (label: string, numerator: string, denominator: string) => ({ label, numerator, denominator, target: null });
      result = await runGroup(
        {
          id: browserGroup.id,
          title: browserGroup.title,
          cases,
          ratios: [
            ratio('job time: eventide / scheduler.postTask', 'eventide priorities', 'scheduler.postTask'),
            ratio('job time: eventide / plain promises', 'eventide priorities', 'plain promises'),
            ratio('job time: scheduler.postTask / plain promises', 'scheduler.postTask', 'plain promises'),
          ],
          reps: { full: 3, quick: 1 },
          warmups: { full: 1, quick: 0 },
        },
        quick,
        onProgress,
      );
    } finally {
      await session.close();
    }
    notes.push(
      'Headless Chromium has no display and so no real vsync: its compositor makes frames from a 60 Hz timer of its own. ' +
        '"frames dropped" counts the 60 Hz slots the page missed (an rAF interval over 1.5 x 16.7 ms counts round(interval / 16.7) - 1), ' +
        'which measures main-thread availability for frames, not what a screen would show.',
    );
  }
  return {
    ...result,
    setup: {
      chromium: existsSync(CHROMIUM_PATH) ? chromiumVersion() : null,
      args: CHROMIUM_ARGS,
      tickMs: TICK_MS,
      input,
      eventideUsesInputPending: runs.find((run) => run.mode === 'eventide')?.snapshot.usesInputPending ?? null,
      loadAverage1mStart: loadStart,
      loadAverage1mEnd: Number((loadavg()[0] ?? 0).toFixed(2)),
      elapsedS: Math.round((Date.now() - startedMs) / 1000),
    },
    runs,
    notes,
  };
}

/** A figure for the table: counts (and whole medians) without decimals. */
function show(value: number): string {
  return Number.isInteger(value) ? value.toLocaleString('en-US') : fmt(value);
}

/**
 * The browser group as a Markdown table (figures x modes, each the median
 * over the rounds, min-max in brackets for the job time), then the ratios
 * and notes.
 *
 * @example
 * const result = JSON.parse(readFileSync('bench/results/browser.json', 'utf8')).groups[0];
 * console.log(formatBrowser(result));
 */
export function formatBrowser(result: GroupResult): string {
  const r = result as BrowserGroupResult;
  const lines = [`== ${r.title} [${r.id}] (${r.reps} rounds after ${r.warmups} warm-up run per mode, modes interleaved; medians)`];
  if (r.setup !== undefined) {
    lines.push(
      `${r.setup.chromium ?? 'chromium: absent'}; eventide ${r.setup.eventideUsesInputPending ? 'used' : 'did not use'} isInputPending.`,
      `Input: ${r.setup.input}.`,
      `Load average (1 min) ${r.setup.loadAverage1mStart} at start, ${r.setup.loadAverage1mEnd} at end; ${r.setup.elapsedS} s.`,
    );
  }
  if (r.cases.length > 0) {
    const rows = [['', ...r.cases.map((c) => c.name)], ['---', ...r.cases.map(() => '---:')]];
    rows.push(['background job completion, ms', ...r.cases.map((c) => `${fmt(c.median)} (${fmt(c.min)}-${fmt(c.max)})`)]);
    for (const f of FIGURES) rows.push([f.row, ...r.cases.map((c) => show(c.extra[f.key] ?? NaN))]);
    lines.push('', ...rows.map((row) => `| ${row.join(' | ')} |`));
  }
  if (r.ratios.length > 0) {
    lines.push('');
    for (const ratio of r.ratios) lines.push(`${ratio.label}: ${ratio.ratio.toFixed(2)}x`);
  }
  for (const note of r.notes ?? []) lines.push(`note: ${note}`);
  return lines.join('\n');
}

/**
 * The browser group: the demo's background job under synthetic input in
 * headless Chromium, eventide priorities vs plain promises vs the native
 * scheduler.postTask; a full run writes bench/results/browser.json.
 *
 * @example
 * // npm run build && node dist/bench/index.js browser          (about 2 min)
 * // node dist/bench/index.js --quick browser                   (one round, no warm-up; no JSON unless --out)
 * const result = await browserGroup.run(true, () => {});
 * console.log(browserGroup.format(result));
 */
export const browserGroup: StandaloneGroup = {
  id: 'browser',
  title: 'Browser: input latency, frames and job time under a 10,000-task background job (headless Chromium)',
  resultsFile: 'browser.json',
  run: runBrowser,
  format: formatBrowser,
};
