/**
 * Instrumentation overhead: what the hook sites cost, in CPU ns per
 * operation, with nothing attached and with instruments on.
 *
 * Two operations, the two hottest paths the hooks sit on:
 *  - callSoon dispatch: 1000 `callSoon`s then one `runOnce(0)`, repeated
 *    (every callback passes #runHandle's hook branch);
 *  - task step: 100 tasks each doing `yield* sleep(0)`, driven by
 *    `runForever` (every step passes the step, scheduling and callback
 *    branches).
 *
 * Modes, each measured in the same process with the runs interleaved (see
 * harness.ts), against the no-instrument case of the same operation:
 *  - none: nothing attached — the cost every program pays (one
 *    never-taken branch per hook site);
 *  - no-op instrument: one instrument with all twelve hooks, each doing
 *    nothing — the price of the observed paths themselves;
 *  - trace recorder: inspect/trace.ts recording every step, callback and
 *    wake-up (its events are kept, then dropped with the recorder);
 *  - clock per callback: an instrument that only reads the clock before
 *    each callback — the floor under any tracer that timestamps callbacks
 *    (one `performance.now()` costs 30-40 ns, most of a callSoon dispatch);
 *  - task timing (steps only): `loop.setTaskTiming(true)`, two clock reads
 *    per step;
 *  - debug mode: timed callbacks and steps, creation stacks.
 *
 * The always-on task counters (steps) and await edges (what each task
 * waits on, its spawner) cannot be switched off, so they are in every
 * task-step case. Their cost is bounded from above against a *bare
 * stepper*: the same generators driven by the least code that can run
 * them on the loop (one reused handle per generator, no Task at all). The
 * case "counters and edges" is, within one run, task steps minus bare
 * steps in ns per step: everything a Task adds per step, the counters and
 * edges included; "... and run time" adds task timing (the run-time
 * counter). Both are held to the 150 ns per step, a constant case
 * (the harness has ratio targets only: the verdict is difference / 150 <= 1).
 *
 * Rows: `{name, nsPerOp, baselineNs, ratio}` — median CPU ns per operation,
 * the median of the matching no-instrument case, and their ratio (for the
 * difference cases: the median difference, the budget, and their ratio).
 *
 * Run alone: `node --expose-gc dist/bench/instrument-overhead.js [--quick]`.
 */
import { fileURLToPath } from 'node:url';
import type { Handle } from '../src/core/handle.js';
import { LANE_NORMAL } from '../src/core/priority.js';
import { EventLoop, TraceRecorder, sleep } from '../src/index.js';
import type { Coroutine, Instrument } from '../src/index.js';
import { expectCount, formatGroup, gc, runGroup, startWatch, stopWatch, type Group, type Sample } from './harness.js';

export const CALLBACKS = 1_000_000;
export const BATCH = 1000;
export const STEPS = 1_000_000;
export const TASKS = 100;
const WARMUP_OPS = 200_000;
/** What the always-on task counters and edges may cost per step, in ns (issue 5). */
export const COUNTERS_BUDGET_NS = 150;

type Mode = 'none' | 'noop' | 'trace' | 'clock' | 'timing' | 'debug';

/** One instrument with every hook, doing nothing. */
const NOOP_INSTRUMENT: Required<Instrument> = {
  beforeRun() {},
  afterRun() {},
  taskSpawned() {},
  taskScheduled() {},
  beforeTaskStep() {},
  afterTaskStep() {},
  taskExited() {},
  beforeCallback() {},
  afterCallback() {},
  beforeIoWait() {},
  afterIoWait() {},
  beforeTimers() {},
  afterTimers() {},
  cancelRequested() {},
  deadlineMissed() {},
};

/** Reads the clock before every callback and does nothing else (the floor under a tracer). */
const CLOCK_INSTRUMENT = {
  lastMs: 0,
  beforeCallback(): void {
    CLOCK_INSTRUMENT.lastMs = performance.now();
  },
};

/** One long-lived loop for every case, as in a real program (see callsoon.ts). */
let sharedLoop: EventLoop | null = null;
function theLoop(): EventLoop {
  return (sharedLoop ??= new EventLoop());
}

/** Runs `body` with `mode` switched on, then switches it off again. */
async function inMode<T>(mode: Mode, body: (loop: EventLoop) => T | Promise<T>): Promise<T> {
  const loop = theLoop();
  // Room for every event of a run: the cost measured is recording, not dropping.
  const recorder = mode === 'trace' ? new TraceRecorder(loop, { maxEvents: 5_000_000 }) : null;
  if (mode === 'noop') loop.addInstrument(NOOP_INSTRUMENT);
  else if (mode === 'clock') loop.addInstrument(CLOCK_INSTRUMENT);
  else if (mode === 'timing') loop.setTaskTiming(true);
  else if (mode === 'debug') loop.setDebug(true);
  try {
    return await body(loop);
  } finally {
    loop.removeInstrument(NOOP_INSTRUMENT);
    loop.removeInstrument(CLOCK_INSTRUMENT);
    recorder?.stop();
    loop.setTaskTiming(false);
    loop.setDebug(false);
    const stats = loop.statistics();
    if (stats.ready !== 0 || stats.timers !== 0 || loop.isRunning() || loop.allTasks().length !== 0) {
      throw new Error(`bench: instrument overhead (${mode}) left work on the loop`);
    }
  }
}

function callSoonBatched(mode: Mode, total: number): Promise<Sample> {
  return inMode(mode, (loop) => {
    let count = 0;
    const callback = (): void => {
      count++;
    };
    const watch = startWatch();
    for (let b = 0; b < total / BATCH; b++) {
      for (let i = 0; i < BATCH; i++) loop.callSoon(callback);
      loop.runOnce(0);
    }
    const sample = stopWatch(watch, total);
    expectCount(`callSoon (${mode})`, count, total);
    return sample;
  });
}

/** The benchmark's task body: `perTask` steps of `sleep(0)`; `done()` after the last. */
function stepBody(perTask: number, counts: { steps: number }, done: () => void): () => Coroutine<void> {
  return function* () {
    for (let i = 0; i < perTask; i++) {
      yield* sleep(0);
      counts.steps++;
    }
    done();
  };
}

function taskSteps(mode: Mode, steps: number): Promise<Sample> {
  return inMode(mode, async (loop) => {
    const counts = { steps: 0 };
    let tasksDone = 0;
    const body = stepBody(steps / TASKS, counts, () => {
      if (++tasksDone === TASKS) loop.stop();
    });
    for (let t = 0; t < TASKS; t++) loop.createTask(body);
    const watch = startWatch();
    await loop.runForever();
    const sample = stopWatch(watch, steps);
    expectCount(`task step (${mode})`, counts.steps, steps);
    return sample;
  });
}

/**
 * Runs one generator of the task-step body with no Task: the least a step
 * can cost on this loop (see the module comment). It knows only what the
 * body yields, a `sleep(0)`, which finishes when sent back to itself.
 */
class BareStepper {
  readonly #loop: EventLoop;
  readonly #coro: Coroutine<void>;
  readonly #handle: Handle;
  #sent: unknown = undefined;

  constructor(loop: EventLoop, coro: Coroutine<void>) {
    this.#loop = loop;
    this.#coro = coro;
    this.#handle = loop.scheduleCallback(BareStepper.#step, this, LANE_NORMAL);
  }

  static #step(stepper: BareStepper): void {
    const result = stepper.#coro.next(stepper.#sent);
    if (result.done === true) return;
    stepper.#sent = result.value;
    stepper.#loop.requeue(stepper.#handle);
  }
}

function bareSteps(steps: number): Promise<Sample> {
  return inMode('none', async (loop) => {
    const counts = { steps: 0 };
    let done = 0;
    const body = stepBody(steps / TASKS, counts, () => {
      if (++done === TASKS) loop.stop();
    });
    for (let t = 0; t < TASKS; t++) new BareStepper(loop, body());
    const watch = startWatch();
    await loop.runForever();
    const sample = stopWatch(watch, steps);
    expectCount('bare step', counts.steps, steps);
    return sample;
  });
}

let pairs = 0;
/**
 * Task steps in `mode` minus bare steps, ns per step, measured back to back
 * in one run (which goes first alternates from run to run).
 */
async function overBareStepper(mode: 'none' | 'timing', steps: number): Promise<Sample> {
  const half = steps / 2;
  const first = pairs++ % 2 === 0;
  const bare1 = first ? await bareSteps(half) : null;
  gc?.();
  const task = await taskSteps(mode, half);
  gc?.();
  const bare = bare1 ?? (await bareSteps(half));
  return { value: task.value - bare.value, extra: { 'task ns': task.value, 'bare ns': bare.value } };
}

const size = (warmup: boolean): number => (warmup ? WARMUP_OPS : CALLBACKS);

/** Case name → the case it is compared with. */
const BASELINE_OF: Readonly<Record<string, string>> = {
  'callSoon, no instrument': 'callSoon, no instrument',
  'callSoon, no-op instrument': 'callSoon, no instrument',
  'callSoon, trace recorder': 'callSoon, no instrument',
  'callSoon, clock per callback': 'callSoon, no instrument',
  'task step, no instrument': 'task step, no instrument',
  'task step, no-op instrument': 'task step, no instrument',
  'task step, trace recorder': 'task step, no instrument',
  'task step, clock per callback': 'task step, no instrument',
  'task step, task timing': 'task step, no instrument',
  'task step, debug mode': 'task step, no instrument',
  'callSoon, debug mode': 'callSoon, no instrument',
  'task step, counters and edges': 'counters and edges budget',
  'task step, counters and edges and run time': 'counters and edges budget',
};

export const instrumentOverheadGroup: Group = {
  id: 'instrument-overhead',
  title: `instrument hooks: callSoon dispatch (${CALLBACKS.toExponential(0)}, ${BATCH} per runOnce) and task step (${TASKS} tasks, ${STEPS.toExponential(0)} sleep(0) steps)`,
  cases: [
    { name: 'callSoon, no instrument', unit: 'CPU ns/callback', run: (w) => callSoonBatched('none', size(w)) },
    { name: 'callSoon, no-op instrument', unit: 'CPU ns/callback', run: (w) => callSoonBatched('noop', size(w)) },
    { name: 'callSoon, trace recorder', unit: 'CPU ns/callback', run: (w) => callSoonBatched('trace', size(w)) },
    { name: 'callSoon, clock per callback', unit: 'CPU ns/callback', run: (w) => callSoonBatched('clock', size(w)) },
    { name: 'task step, no instrument', unit: 'CPU ns/step', run: (w) => taskSteps('none', size(w)) },
    { name: 'task step, no-op instrument', unit: 'CPU ns/step', run: (w) => taskSteps('noop', size(w)) },
    { name: 'task step, trace recorder', unit: 'CPU ns/step', run: (w) => taskSteps('trace', size(w)) },
    { name: 'task step, clock per callback', unit: 'CPU ns/step', run: (w) => taskSteps('clock', size(w)) },
    { name: 'task step, task timing', unit: 'CPU ns/step', run: (w) => taskSteps('timing', size(w)) },
    { name: 'task step, debug mode', unit: 'CPU ns/step', run: (w) => taskSteps('debug', size(w)) },
    { name: 'callSoon, debug mode', unit: 'CPU ns/callback', run: (w) => callSoonBatched('debug', size(w)) },
    { name: 'task step, counters and edges', unit: 'CPU ns/step over bare', run: (w) => overBareStepper('none', size(w)) },
    { name: 'task step, counters and edges and run time', unit: 'CPU ns/step over bare', run: (w) => overBareStepper('timing', size(w)) },
    { name: 'counters and edges budget', unit: 'ns/step (constant)', run: () => COUNTERS_BUDGET_NS },
  ],
  ratios: [
    { label: 'callSoon: no-op instrument / none', numerator: 'callSoon, no-op instrument', denominator: 'callSoon, no instrument', target: null },
    { label: 'task step: no-op instrument / none', numerator: 'task step, no-op instrument', denominator: 'task step, no instrument', target: null },
    { label: 'callSoon: trace recorder / none', numerator: 'callSoon, trace recorder', denominator: 'callSoon, no instrument', target: 2 },
    { label: 'task step: trace recorder / none', numerator: 'task step, trace recorder', denominator: 'task step, no instrument', target: 2 },
    { label: 'callSoon: clock per callback / none (tracer floor)', numerator: 'callSoon, clock per callback', denominator: 'callSoon, no instrument', target: null },
    { label: 'task step: clock per callback / none (tracer floor)', numerator: 'task step, clock per callback', denominator: 'task step, no instrument', target: null },
    { label: 'task step: task timing / none', numerator: 'task step, task timing', denominator: 'task step, no instrument', target: null },
    { label: 'task step: debug mode / none', numerator: 'task step, debug mode', denominator: 'task step, no instrument', target: 5 },
    { label: 'callSoon: debug mode / none', numerator: 'callSoon, debug mode', denominator: 'callSoon, no instrument', target: 5 },
    {
      label: `task step: counters and edges (ns over a bare stepper) / ${COUNTERS_BUDGET_NS} ns`,
      numerator: 'task step, counters and edges',
      denominator: 'counters and edges budget',
      target: 1,
    },
    {
      label: `task step: counters, edges and run time (ns over a bare stepper) / ${COUNTERS_BUDGET_NS} ns`,
      numerator: 'task step, counters and edges and run time',
      denominator: 'counters and edges budget',
      target: 1,
    },
  ],
  reps: { full: 7, quick: 3 },
  warmups: { full: 2, quick: 1 },
};

export interface InstrumentOverheadOptions {
  /** Fewer repetitions and warm-ups. */
  quick?: boolean;
  /** Called after each measured run. */
  onProgress?: (done: number, total: number) => void;
}

export interface InstrumentOverheadRow {
  name: string;
  /** Median CPU ns per operation. */
  nsPerOp: number;
  /** Median CPU ns per operation of the same operation with no instrument. */
  baselineNs: number;
  /** nsPerOp / baselineNs. */
  ratio: number;
}

/**
 * Measures every case and returns one row per case.
 *
 * @example
 * const rows = await runInstrumentOverhead({ quick: true });
 * console.table(rows);
 */
export async function runInstrumentOverhead(opts: InstrumentOverheadOptions = {}): Promise<InstrumentOverheadRow[]> {
  const result = await runGroup(instrumentOverheadGroup, opts.quick === true, opts.onProgress);
  const median = new Map(result.cases.map((c) => [c.name, c.median]));
  return result.cases.map((c) => {
    const baselineNs = median.get(BASELINE_OF[c.name] ?? c.name) ?? NaN;
    return { name: c.name, nsPerOp: c.median, baselineNs, ratio: c.median / baselineNs };
  });
}

// Run directly: print the group's table.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const quick = process.argv.includes('--quick');
  runGroup(instrumentOverheadGroup, quick, (done, total) => process.stderr.write(done === total ? '.\n' : '.'))
    .then((result) => console.log(formatGroup(result)))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
