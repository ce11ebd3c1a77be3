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
 *  - task timing (steps only): `loop.setTaskTiming(true)`, two clock reads
 *    per step;
 *  - debug mode (steps only): timed callbacks and steps, creation stacks.
 *
 * Rows: `{name, nsPerOp, baselineNs, ratio}` — median CPU ns per operation,
 * the median of the matching no-instrument case, and their ratio.
 *
 * Run alone: `node --expose-gc dist/bench/instrument-overhead.js [--quick]`.
 */
import { fileURLToPath } from 'node:url';
import { EventLoop, TraceRecorder, sleep } from '../src/index.js';
import type { Instrument } from '../src/index.js';
import { expectCount, formatGroup, runGroup, startWatch, stopWatch, type Group, type Sample } from './harness.js';

export const CALLBACKS = 1_000_000;
export const BATCH = 1000;
export const STEPS = 1_000_000;
export const TASKS = 100;
const WARMUP_OPS = 200_000;

type Mode = 'none' | 'noop' | 'trace' | 'timing' | 'debug';

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
  cancelRequested() {},
  deadlineMissed() {},
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
  else if (mode === 'timing') loop.setTaskTiming(true);
  else if (mode === 'debug') loop.setDebug(true);
  try {
    return await body(loop);
  } finally {
    loop.removeInstrument(NOOP_INSTRUMENT);
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

function taskSteps(mode: Mode, steps: number): Promise<Sample> {
  return inMode(mode, async (loop) => {
    const perTask = steps / TASKS;
    let stepsDone = 0;
    let tasksDone = 0;
    const body = function* () {
      for (let i = 0; i < perTask; i++) {
        yield* sleep(0);
        stepsDone++;
      }
      if (++tasksDone === TASKS) loop.stop();
    };
    for (let t = 0; t < TASKS; t++) loop.createTask(body);
    const watch = startWatch();
    await loop.runForever();
    const sample = stopWatch(watch, steps);
    expectCount(`task step (${mode})`, stepsDone, steps);
    return sample;
  });
}

const size = (warmup: boolean): number => (warmup ? WARMUP_OPS : CALLBACKS);

/** Case name → the case it is compared with. */
const BASELINE_OF: Readonly<Record<string, string>> = {
  'callSoon, no instrument': 'callSoon, no instrument',
  'callSoon, no-op instrument': 'callSoon, no instrument',
  'callSoon, trace recorder': 'callSoon, no instrument',
  'task step, no instrument': 'task step, no instrument',
  'task step, no-op instrument': 'task step, no instrument',
  'task step, trace recorder': 'task step, no instrument',
  'task step, task timing': 'task step, no instrument',
  'task step, debug mode': 'task step, no instrument',
};

export const instrumentOverheadGroup: Group = {
  id: 'instrument-overhead',
  title: `instrument hooks: callSoon dispatch (${CALLBACKS.toExponential(0)}, ${BATCH} per runOnce) and task step (${TASKS} tasks, ${STEPS.toExponential(0)} sleep(0) steps)`,
  cases: [
    { name: 'callSoon, no instrument', unit: 'CPU ns/callback', run: (w) => callSoonBatched('none', size(w)) },
    { name: 'callSoon, no-op instrument', unit: 'CPU ns/callback', run: (w) => callSoonBatched('noop', size(w)) },
    { name: 'callSoon, trace recorder', unit: 'CPU ns/callback', run: (w) => callSoonBatched('trace', size(w)) },
    { name: 'task step, no instrument', unit: 'CPU ns/step', run: (w) => taskSteps('none', size(w)) },
    { name: 'task step, no-op instrument', unit: 'CPU ns/step', run: (w) => taskSteps('noop', size(w)) },
    { name: 'task step, trace recorder', unit: 'CPU ns/step', run: (w) => taskSteps('trace', size(w)) },
    { name: 'task step, task timing', unit: 'CPU ns/step', run: (w) => taskSteps('timing', size(w)) },
    { name: 'task step, debug mode', unit: 'CPU ns/step', run: (w) => taskSteps('debug', size(w)) },
  ],
  ratios: [
    { label: 'callSoon: no-op instrument / none', numerator: 'callSoon, no-op instrument', denominator: 'callSoon, no instrument', target: null },
    { label: 'task step: no-op instrument / none', numerator: 'task step, no-op instrument', denominator: 'task step, no instrument', target: null },
    { label: 'callSoon: trace recorder / none', numerator: 'callSoon, trace recorder', denominator: 'callSoon, no instrument', target: 2 },
    { label: 'task step: trace recorder / none', numerator: 'task step, trace recorder', denominator: 'task step, no instrument', target: 2 },
    { label: 'task step: task timing / none', numerator: 'task step, task timing', denominator: 'task step, no instrument', target: null },
    { label: 'task step: debug mode / none', numerator: 'task step, debug mode', denominator: 'task step, no instrument', target: 5 },
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
