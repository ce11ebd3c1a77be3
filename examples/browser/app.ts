/**
 * The browser demo: one page, four kinds of work, one eventide loop.
 *
 *  - a text box and a draggable box (input: must feel instant),
 *  - a canvas animating every frame,
 *  - a background job of 10,000 tasks, each rendering a strip of the
 *    Mandelbrot set into a second canvas,
 *  - live figures: frame rate, input-to-handler latency p50/p99, long
 *    tasks, job progress.
 *
 * Three modes, chosen with ?mode= (the switch on the page reloads):
 *  - "eventide": a BrowserLoop drives everything. Input handlers are loop
 *    callbacks at 'critical' (onEvent), the animation is a 'high' task
 *    woken by nextFrame(), the job's tasks are 'low'. Every tick gives the
 *    page back after at most ~5 ms, so input and frames get through while
 *    the job runs.
 *  - "plain": the usual promise code. DOM listeners, a requestAnimationFrame
 *    loop, and the job as 10,000 async functions under Promise.all. Promise
 *    continuations are microtasks, and the browser runs none of its own
 *    work until the microtask queue is empty: the job holds the page for
 *    its whole duration.
 *  - "posttask": the browser's own scheduler (Chromium's
 *    `scheduler.postTask`, where the page has it). Input handlers are plain
 *    DOM listeners and the animation a plain requestAnimationFrame loop, as
 *    in "plain"; each job task is its own `postTask` at 'background'
 *    priority, posted 100 at a time by a background spawner (as eventide's
 *    spawner does), so the browser runs input and frames between any two.
 *    This is the native baseline for eventide's priorities.
 *
 * Latency is measured the same way in every mode: when the handler runs,
 * `performance.now() - event.timeStamp`, for input that arrived while the
 * job ran. Discrete input (keys, pointer down/up) and drag moves are
 * counted apart: Chromium holds pointermove events back until the next
 * frame (rAF-aligned input), so a move waits up to one frame (16.7 ms) in
 * the browser before any page code can see it — even on an idle page.
 * Frames are counted by a plain requestAnimationFrame counter in every mode;
 * an interval between two frames longer than 1.5 frame periods counts as
 * round(interval / period) - 1 dropped frames.
 * `window.demo` exposes the figures to the browser tests
 * (test/browser/demo.test.ts) and the benchmark (bench/browser.ts).
 */
import { BrowserLoop, nextFrame, onEvent, sleep, type EventLoop } from '../../src/browser.js';
import {
  byId,
  page,
  type CanvasElement,
  type Context2D,
  type InputElement,
  type PerformanceEntryLike,
  type SchedulerLike,
  type UIEventLike,
} from './dom.js';

export type Mode = 'eventide' | 'plain' | 'posttask';

/** What the mode switch calls each mode. */
const MODE_NAMES: Record<Mode, string> = { eventide: 'eventide priorities', plain: 'plain promises', posttask: 'native scheduler.postTask' };

/** The browser's own scheduler, or null where the page has none (the "posttask" mode is then unavailable). */
const nativeScheduler: SchedulerLike | null = ((): SchedulerLike | null => {
  const scheduler = page().scheduler;
  return typeof scheduler?.postTask === 'function' ? (scheduler as SchedulerLike) : null;
})();

const params = new URLSearchParams(page().location.search);
/** ?mode=plain|posttask|eventide; anything else (or posttask without a native scheduler) is eventide. */
const MODE: Mode = ((): Mode => {
  const asked = params.get('mode');
  if (asked === 'plain') return 'plain';
  if (asked === 'posttask' && nativeScheduler !== null) return 'posttask';
  return 'eventide';
})();
/** Tasks in the background job, iterations per point, samples per pixel: ?tasks=&iter=&ss= */
const JOB_TASKS = intParam('tasks', 10_000, 1, 1_000_000);
const MAX_ITER = intParam('iter', 4000, 1, 1_000_000);
const SAMPLES = intParam('ss', 8, 1, 64);
/** eventide only: the budget of one tick (ms), ?budget= */
const BUDGET_MS = intParam('budget', 5, 1, 1000);

function intParam(name: string, fallback: number, min: number, max: number): number {
  const value = Number(params.get(name) ?? fallback);
  return Number.isInteger(value) && value >= min && value <= max ? value : fallback;
}

function now(): number {
  return page().performance.now();
}

function context(canvas: CanvasElement): Context2D {
  const ctx = canvas.getContext('2d');
  if (ctx === null) throw new Error(`demo page: no 2d context for #${canvas.id}`);
  return ctx;
}

// ------------------------------------------------------------ measurements

/** The nominal frame period (60 Hz) against which dropped frames are counted. */
const FRAME_MS = 1000 / 60;

/** What the page measures; the same code in every mode. */
class Figures {
  /** [input time, latency] of every discrete input event handled (keys, pointer down/up). */
  readonly latencies: [number, number][] = [];
  /** The same for pointermove while dragging (frame-aligned by the browser). */
  readonly moveLatencies: [number, number][] = [];
  readonly longTasks: PerformanceEntryLike[] = [];
  /** Timestamps of the frames the browser produced (a plain rAF counter, in every mode). */
  readonly frames: number[] = [];
  jobStartMs: number | null = null;
  jobEndMs: number | null = null;
  done = 0;
  longTasksSupported = false;

  constructor() {
    const g = page();
    const types = g.PerformanceObserver?.supportedEntryTypes ?? [];
    if (types.includes('longtask')) {
      this.longTasksSupported = true;
      new g.PerformanceObserver((list) => this.longTasks.push(...list.getEntries())).observe({ type: 'longtask', buffered: true });
    }
    const countFrame = (timestampMs: number): void => {
      this.frames.push(timestampMs);
      if (this.frames.length > 20_000) this.frames.splice(0, 10_000);
      g.requestAnimationFrame(countFrame);
    };
    g.requestAnimationFrame(countFrame);
  }

  recordInput(event: UIEventLike): void {
    const sample: [number, number] = [event.timeStamp, now() - event.timeStamp];
    (event.type === 'pointermove' ? this.moveLatencies : this.latencies).push(sample);
  }

  get running(): boolean {
    return this.jobStartMs !== null && this.jobEndMs === null;
  }

  /** Frames in the last second. */
  fpsNow(): number {
    const since = now() - 1000;
    let n = 0;
    for (let i = this.frames.length - 1; i >= 0 && (this.frames[i] as number) >= since; i--) n++;
    return n;
  }

  snapshot(): DemoSnapshot {
    const start = this.jobStartMs ?? Infinity;
    const end = this.jobEndMs ?? now();
    const inJob = (t: number): boolean => t >= start && t <= end;
    const during = (samples: [number, number][]): number[] => samples.filter(([t]) => inJob(t)).map(([, ms]) => ms).sort((a, b) => a - b);
    const latencies = during(this.latencies);
    const moves = during(this.moveLatencies);
    const longTasks = this.longTasks.filter((e) => e.startTime + e.duration >= start && e.startTime <= end);
    const jobFrames = this.frames.filter(inJob).length;
    const frames = this.#framesDuring(start, end);
    const jobMs = this.jobStartMs === null ? 0 : end - this.jobStartMs;
    return {
      mode: MODE,
      total: JOB_TASKS,
      done: this.done,
      finished: this.jobEndMs !== null,
      jobMs: round(jobMs),
      fpsNow: this.fpsNow(),
      jobFps: jobMs > 0 ? round((jobFrames * 1000) / jobMs) : 0,
      inputEvents: latencies.length,
      latencyP50Ms: round(percentile(latencies, 0.5)),
      latencyP99Ms: round(percentile(latencies, 0.99)),
      latencyMaxMs: round(latencies[latencies.length - 1] ?? 0),
      moveEvents: moves.length,
      moveP50Ms: round(percentile(moves, 0.5)),
      moveP99Ms: round(percentile(moves, 0.99)),
      longTasks: longTasks.length,
      longestTaskMs: round(Math.max(0, ...longTasks.map((e) => e.duration))),
      longTaskTotalMs: round(longTasks.reduce((sum, e) => sum + e.duration, 0)),
      framesDropped: frames.dropped,
      longestFrameMs: round(frames.longestMs),
      idleFrameMs: round(this.#idleFrameMs(start)),
      longTasksSupported: this.longTasksSupported,
      usesInputPending: MODE === 'eventide' && typeof page().navigator.scheduling?.isInputPending === 'function',
    };
  }

  /**
   * Dropped frames over the job: every interval between consecutive frames
   * that overlaps [startMs, endMs] and is longer than 1.5 periods counts
   * round(interval / period) - 1. While the job runs, or when no frame has
   * come since it ended, the open interval up to `endMs` counts too.
   */
  #framesDuring(startMs: number, endMs: number): { dropped: number; longestMs: number } {
    let dropped = 0;
    let longestMs = 0;
    if (startMs === Infinity) return { dropped, longestMs };
    const count = (fromMs: number, toMs: number): void => {
      const interval = toMs - fromMs;
      longestMs = Math.max(longestMs, interval);
      if (interval > 1.5 * FRAME_MS) dropped += Math.round(interval / FRAME_MS) - 1;
    };
    const frames = this.frames;
    let previous: number | undefined;
    for (const t of frames) {
      if (previous !== undefined && t >= startMs && previous <= endMs) count(previous, t);
      previous = t;
    }
    if (previous !== undefined && previous < endMs) count(previous, endMs);
    return { dropped, longestMs };
  }

  /** The median frame interval over the second before `beforeMs` (the idle frame period; 0 if unknown). */
  #idleFrameMs(beforeMs: number): number {
    const times = this.frames.filter((t) => t < beforeMs && t >= beforeMs - 1000);
    const intervals = times.slice(1).map((t, i) => t - (times[i] as number)).sort((a, b) => a - b);
    return percentile(intervals, 0.5);
  }
}

export interface DemoSnapshot {
  mode: Mode;
  total: number;
  done: number;
  finished: boolean;
  jobMs: number;
  fpsNow: number;
  jobFps: number;
  inputEvents: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  moveEvents: number;
  moveP50Ms: number;
  moveP99Ms: number;
  longTasks: number;
  longestTaskMs: number;
  /** Sum of the durations of the long tasks that overlapped the job. */
  longTaskTotalMs: number;
  /** Frames dropped during the job (see Figures.#framesDuring). */
  framesDropped: number;
  /** The longest interval between two frames during the job. */
  longestFrameMs: number;
  /** Median frame interval in the second before the job started (what this browser gives an idle page). */
  idleFrameMs: number;
  longTasksSupported: boolean;
  usesInputPending: boolean;
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

// ------------------------------------------------------------- the work

const figures = new Figures();

/** The Mandelbrot canvas: each job task renders SEGMENT pixels of one row. */
const mandel = byId<CanvasElement>('mandel');
const mandelCtx = context(mandel);
const WIDTH = mandel.width;
const HEIGHT = mandel.height;
const image = mandelCtx.createImageData(WIDTH, HEIGHT);
const pixels = WIDTH * HEIGHT;
let dirtyFromRow = Infinity;
let dirtyToRow = -1;

/** Renders the pixels of task `index` (the tasks tile the image in order). */
function renderSegment(index: number): void {
  const first = Math.floor((index * pixels) / JOB_TASKS);
  const last = Math.floor(((index + 1) * pixels) / JOB_TASKS);
  const data = image.data;
  for (let p = first; p < last; p++) {
    const x = p % WIDTH;
    const y = (p - x) / WIDTH;
    let sum = 0;
    for (let s = 0; s < SAMPLES; s++) {
      const cr = -0.6 + ((x + (s + 0.5) / SAMPLES) / WIDTH - 0.5) * 3.2;
      const ci = ((y + ((s * 7) % SAMPLES + 0.5) / SAMPLES) / HEIGHT - 0.5) * 2.2;
      let zr = 0;
      let zi = 0;
      let n = 0;
      while (n < MAX_ITER && zr * zr + zi * zi < 4) {
        const t = zr * zr - zi * zi + cr;
        zi = 2 * zr * zi + ci;
        zr = t;
        n++;
      }
      sum += n === MAX_ITER ? 0 : n;
    }
    const v = sum / SAMPLES;
    const o = p * 4;
    data[o] = (v * 9) % 256;
    data[o + 1] = (v * 3) % 256;
    data[o + 2] = 80 + ((v * 5) % 176);
    data[o + 3] = 255;
    if (y < dirtyFromRow) dirtyFromRow = y;
    if (y > dirtyToRow) dirtyToRow = y;
  }
}

function segmentDone(): void {
  figures.done++;
  if (figures.done === JOB_TASKS) {
    figures.jobEndMs = now();
    renderFigures();
  }
}

/** Copies the rows rendered since the last frame to the canvas. */
function blitDirtyRows(): void {
  if (dirtyToRow < dirtyFromRow) return;
  mandelCtx.putImageData(image, 0, 0, 0, dirtyFromRow, WIDTH, dirtyToRow - dirtyFromRow + 1);
  dirtyFromRow = Infinity;
  dirtyToRow = -1;
}

/** The animation: a spinner and a bouncing ball; stutters show at once. */
const anim = byId<CanvasElement>('anim');
const animCtx = context(anim);
function drawFrame(timestampMs: number): void {
  const w = anim.width;
  const h = anim.height;
  animCtx.fillStyle = '#101820';
  animCtx.fillRect(0, 0, w, h);
  const angle = (timestampMs / 1000) * Math.PI * 2 * 0.5;
  animCtx.strokeStyle = '#7fdbff';
  animCtx.lineWidth = 6;
  animCtx.beginPath();
  animCtx.moveTo(h / 2, h / 2);
  animCtx.lineTo(h / 2 + Math.cos(angle) * (h / 2 - 10), h / 2 + Math.sin(angle) * (h / 2 - 10));
  animCtx.stroke();
  const x = h + ((timestampMs / 4) % (2 * (w - h - 20)));
  const bx = x < w - 10 ? x : 2 * (w - 10) - x;
  animCtx.fillStyle = '#ffdc00';
  animCtx.beginPath();
  animCtx.arc(bx, h / 2 + Math.sin(timestampMs / 150) * (h / 3), 10, 0, Math.PI * 2);
  animCtx.fill();
}

// ------------------------------------------------------------ input

const text = byId<InputElement>('text');
const echo = byId('echo');
const box = byId('box');
const arena = byId('arena');
let drag: { pointerId: number; dx: number; dy: number } | null = null;

function onKey(event: UIEventLike): void {
  figures.recordInput(event);
}

function onText(): void {
  echo.textContent = text.value;
}

function onPointerDown(event: UIEventLike): void {
  figures.recordInput(event);
  const rect = box.getBoundingClientRect();
  drag = { pointerId: event.pointerId, dx: event.clientX - rect.left, dy: event.clientY - rect.top };
  box.setPointerCapture?.(event.pointerId);
}

function onPointerMove(event: UIEventLike): void {
  if (drag === null || event.pointerId !== drag.pointerId) return;
  figures.recordInput(event);
  const area = arena.getBoundingClientRect();
  box.style.transform = `translate(${Math.round(event.clientX - area.left - drag.dx)}px, ${Math.round(event.clientY - area.top - drag.dy)}px)`;
}

function onPointerUp(event: UIEventLike): void {
  if (drag === null) return;
  figures.recordInput(event);
  drag = null;
}

// ------------------------------------------------------------ figures panel

function renderFigures(): void {
  const s = figures.snapshot();
  byId('fps').textContent = `${s.fpsNow}`;
  byId('latency').textContent = s.inputEvents === 0 ? '—' : `${s.latencyP50Ms} / ${s.latencyP99Ms} ms (${s.inputEvents} events)`;
  byId('move-latency').textContent = s.moveEvents === 0 ? '—' : `${s.moveP50Ms} / ${s.moveP99Ms} ms (${s.moveEvents} events)`;
  byId('longtasks').textContent = s.longTasksSupported ? `${s.longTasks}${s.longTasks > 0 ? ` (longest ${s.longestTaskMs} ms)` : ''}` : 'not supported';
  byId('dropped').textContent = s.jobMs === 0 ? '—' : `${s.framesDropped}${s.framesDropped > 0 ? ` (longest gap ${s.longestFrameMs} ms)` : ''}`;
  byId('progress').textContent = `${s.done} / ${s.total}`;
  byId('jobtime').textContent = s.jobMs === 0 ? '—' : `${(s.jobMs / 1000).toFixed(2)} s${s.finished ? '' : ' …'}, ${s.jobFps} fps during the job`;
  byId('bar').style.width = `${(100 * s.done) / s.total}%`;
}

function resetJob(): boolean {
  if (figures.running) return false;
  figures.done = 0;
  figures.jobStartMs = now();
  figures.jobEndMs = null;
  mandelCtx.fillStyle = '#000';
  mandelCtx.fillRect(0, 0, WIDTH, HEIGHT);
  return true;
}

// ------------------------------------------------------------ the three modes

/** The BrowserLoop in eventide mode (for the console and the tests: its driver's statistics). */
let eventideLoop: BrowserLoop | null = null;

function startEventide(): () => void {
  const browser = new BrowserLoop({ budgetMs: BUDGET_MS });
  const loop: EventLoop = browser.loop;
  void browser.start();
  // Input: loop callbacks at 'critical' (the default for input events).
  onEvent(text, 'keydown', onKey, { loop });
  onEvent(text, 'input', onText, { loop });
  onEvent(box, 'pointerdown', onPointerDown, { loop });
  onEvent(box, 'pointermove', onPointerMove, { loop });
  onEvent(box, 'pointerup', onPointerUp, { loop });
  // Frames: a 'high' task, run inside requestAnimationFrame before paint.
  loop.createTask(function* () {
    for (;;) {
      const timestampMs = yield* nextFrame();
      drawFrame(timestampMs);
      blitDirtyRows();
    }
  }, { name: 'animation', priority: 'high' });
  loop.createTask(function* () {
    for (;;) {
      renderFigures();
      yield* sleep(250);
    }
  }, { name: 'figures' });
  const startJob = (): void => {
    if (!resetJob()) return;
    // Creating 10,000 tasks takes tens of ms itself: a 'low' spawner makes
    // them 100 at a time, letting everything else run in between.
    loop.createTask(function* () {
      for (let i = 0; i < JOB_TASKS; i++) {
        loop.createTask(function* () {
          renderSegment(i);
          segmentDone();
        }, { name: `segment ${i}`, priority: 'low' });
        if (i % 100 === 99) yield* sleep(0);
      }
    }, { name: 'job spawner', priority: 'low' });
  };
  onEvent(byId('start'), 'click', startJob, { loop });
  eventideLoop = browser;
  return () => loop.callSoon(startJob, { priority: 'critical' });
}

/**
 * The page without eventide: plain DOM listeners, a requestAnimationFrame
 * loop, a figures timer; `runJob` starts the background job its own way.
 */
function startNative(runJob: () => void): () => void {
  text.addEventListener('keydown', onKey);
  text.addEventListener('input', onText);
  box.addEventListener('pointerdown', onPointerDown);
  box.addEventListener('pointermove', onPointerMove);
  box.addEventListener('pointerup', onPointerUp);
  const frame = (timestampMs: number): void => {
    drawFrame(timestampMs);
    blitDirtyRows();
    page().requestAnimationFrame(frame);
  };
  page().requestAnimationFrame(frame);
  page().setInterval(renderFigures, 250);
  const startJob = (): void => {
    if (resetJob()) runJob();
  };
  byId('start').addEventListener('click', startJob);
  return startJob;
}

/** "plain": 10,000 async functions under Promise.all — one microtask checkpoint for the whole job. */
function runJobWithPromises(): void {
  const jobs: Promise<void>[] = [];
  for (let i = 0; i < JOB_TASKS; i++) {
    jobs.push(
      (async () => {
        await null;
        renderSegment(i);
        segmentDone();
      })(),
    );
  }
  void Promise.all(jobs);
}

/**
 * "posttask": every job task a `scheduler.postTask` at 'background'. A
 * background spawner posts them 100 at a time (posting all 10,000 at once
 * is itself a long task), then posts itself again behind them.
 */
function runJobWithPostTask(scheduler: SchedulerLike): void {
  const background = { priority: 'background' } as const;
  let next = 0;
  const spawn = (): void => {
    const stop = Math.min(JOB_TASKS, next + 100);
    for (; next < stop; next++) {
      const i = next;
      void scheduler.postTask(() => {
        renderSegment(i);
        segmentDone();
      }, background);
    }
    if (next < JOB_TASKS) void scheduler.postTask(spawn, background);
  };
  void scheduler.postTask(spawn, background);
}

function startMode(mode: Mode): () => void {
  if (mode === 'eventide') return startEventide();
  if (mode === 'plain') return startNative(runJobWithPromises);
  const scheduler = nativeScheduler as SchedulerLike; // MODE is 'posttask' only when it exists
  return startNative(() => runJobWithPostTask(scheduler));
}

const startJob = startMode(MODE);

// The mode switch reloads the page in the chosen mode (nothing carries over).
for (const mode of Object.keys(MODE_NAMES) as Mode[]) {
  const radio = byId<InputElement>(`mode-${mode}`);
  radio.checked = mode === MODE;
  radio.disabled = mode === 'posttask' && nativeScheduler === null;
  radio.addEventListener('change', () => {
    params.set('mode', mode);
    page().location.href = `?${params.toString()}`;
  });
}
byId('mode-name').textContent = MODE_NAMES[MODE];
renderFigures();

/** For the browser tests, the benchmark and the console. */
page().demo = {
  mode: MODE,
  startJob,
  snapshot: (): DemoSnapshot => figures.snapshot(),
  browserLoop: eventideLoop,
  ready: true,
};
