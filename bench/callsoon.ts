/**
 * callSoon + dispatch: what it costs to put a callback on the ready queue
 * and have the loop call it, in CPU ns per callback (see harness.ts for why
 * CPU time), over 1e6 callbacks.
 *
 * Two shapes, because they stress different parts of the loop:
 *  - batched: 1000 `callSoon`s, then one `runOnce(0)` that runs all 1000,
 *    repeated 1000 times. Measures the queue and the dispatch loop; the
 *    per-tick overhead is spread over 1000 callbacks.
 *  - chained: every callback schedules the next one, and `runForever`
 *    drives. Each tick then runs exactly one callback, so this measures the
 *    whole tick (timeout computation, selector poll, timer check, the
 *    microtask hop between ticks), once per callback.
 *
 * Baselines, all measured in the same run:
 *  - a bare ring buffer of small handle objects each holding the callback
 *    (allocate a handle, push, shift, call): the least any JavaScript
 *    queue of cancellable handles can cost, i.e. the JS limit;
 *  - `setImmediate`: Node's own "run soon, after I/O" queue, the thing an
 *    eventide loop replaces;
 *  - `queueMicrotask`: V8's microtask queue, native code with no I/O poll
 *    at all (shown for scale; no target against it).
 *
 * Every case calls the same kind of callback (a closure bumping a counter)
 * and checks afterwards that it ran exactly 1e6 times.
 */
import { EventLoop } from '../src/index.js';
import { expectCount, startWatch, stopWatch, type Group, type Sample } from './harness.js';

export const CALLBACKS = 1_000_000;
export const BATCH = 1000;
const WARMUP_CALLBACKS = 200_000;

// ------------------------------------------------------- the bare ring

/** The smallest useful handle: just the closure to call. */
class BareHandle {
  readonly callback: () => void;
  constructor(callback: () => void) {
    this.callback = callback;
  }
}

/** A power-of-two ring buffer with no features at all. */
class BareRing {
  #buffer: (BareHandle | undefined)[];
  #mask: number;
  #head = 0;
  size = 0;

  constructor(capacity: number) {
    this.#buffer = new Array<BareHandle | undefined>(capacity).fill(undefined);
    this.#mask = capacity - 1;
  }

  push(handle: BareHandle): void {
    if (this.size === this.#buffer.length) this.#grow();
    this.#buffer[(this.#head + this.size) & this.#mask] = handle;
    this.size++;
  }

  shift(): BareHandle {
    const handle = this.#buffer[this.#head] as BareHandle;
    this.#buffer[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.size--;
    return handle;
  }

  #grow(): void {
    const old = this.#buffer;
    const next = new Array<BareHandle | undefined>(old.length * 2).fill(undefined);
    for (let i = 0; i < this.size; i++) next[i] = old[(this.#head + i) & this.#mask];
    this.#buffer = next;
    this.#mask = next.length - 1;
    this.#head = 0;
  }
}

// ------------------------------------------------------------ the loop

/**
 * One loop for every eventide case of this group, created once and never
 * closed, as in a real program. A fresh loop per run would measure V8
 * more than eventide: optimized code embeds the loop's own objects, so
 * when a dead loop is collected every hot function deoptimizes, and after
 * a few rounds of that V8 settles on slower, generic code.
 */
let sharedLoop: EventLoop | null = null;
function theLoop(): EventLoop {
  return (sharedLoop ??= new EventLoop());
}

/** Checks the loop is left as found: nothing ready, not running. */
function checkIdle(loop: EventLoop, what: string): void {
  const stats = loop.statistics();
  if (stats.ready !== 0 || stats.timers !== 0 || loop.isRunning()) throw new Error(`bench: ${what} left work on the loop`);
}

// ------------------------------------------------------------- batched

function eventideBatched(total: number): Sample {
  const loop = theLoop();
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
  checkIdle(loop, 'eventide batched');
  expectCount('eventide batched', count, total);
  return sample;
}

/** The same batches, but driven by runForever: a driver callback queues each batch. */
async function eventideBatchedRunForever(total: number): Promise<Sample> {
  const loop = theLoop();
  let count = 0;
  let batches = 0;
  const callback = (): void => {
    count++;
  };
  const driver = (): void => {
    if (batches++ === total / BATCH) {
      loop.stop();
      return;
    }
    for (let i = 0; i < BATCH; i++) loop.callSoon(callback);
    loop.callSoon(driver);
  };
  loop.callSoon(driver);
  const watch = startWatch();
  await loop.runForever();
  const sample = stopWatch(watch, total);
  checkIdle(loop, 'eventide batched (runForever)');
  expectCount('eventide batched (runForever)', count, total);
  return sample;
}

function bareBatched(total: number): Sample {
  const ring = new BareRing(1024);
  let count = 0;
  const callback = (): void => {
    count++;
  };
  const watch = startWatch();
  for (let b = 0; b < total / BATCH; b++) {
    for (let i = 0; i < BATCH; i++) ring.push(new BareHandle(callback));
    for (let n = ring.size; n > 0; n--) ring.shift().callback();
  }
  const sample = stopWatch(watch, total);
  expectCount('bare ring batched', count, total);
  return sample;
}

/** 1000 setImmediate per batch; the 1001st queues the next batch (Node runs them next loop turn). */
async function setImmediateBatched(total: number): Promise<Sample> {
  let count = 0;
  const callback = (): void => {
    count++;
  };
  const watch = startWatch();
  await new Promise<void>((resolve) => {
    let batches = 0;
    const driver = (): void => {
      if (batches++ === total / BATCH) return resolve();
      for (let i = 0; i < BATCH; i++) setImmediate(callback);
      setImmediate(driver);
    };
    driver();
  });
  const sample = stopWatch(watch, total);
  expectCount('setImmediate batched', count, total);
  return sample;
}

/** 1000 queueMicrotask per batch; the 1001st queues the next batch. */
async function microtaskBatched(total: number): Promise<Sample> {
  let count = 0;
  const callback = (): void => {
    count++;
  };
  const watch = startWatch();
  await new Promise<void>((resolve) => {
    let batches = 0;
    const driver = (): void => {
      if (batches++ === total / BATCH) return resolve();
      for (let i = 0; i < BATCH; i++) queueMicrotask(callback);
      queueMicrotask(driver);
    };
    driver();
  });
  const sample = stopWatch(watch, total);
  expectCount('queueMicrotask batched', count, total);
  return sample;
}

// ------------------------------------------------------------- chained

async function eventideChained(total: number): Promise<Sample> {
  const loop = theLoop();
  let count = 0;
  const callback = (): void => {
    if (++count < total) loop.callSoon(callback);
    else loop.stop();
  };
  loop.callSoon(callback);
  const watch = startWatch();
  await loop.runForever();
  const sample = stopWatch(watch, total);
  checkIdle(loop, 'eventide chained');
  expectCount('eventide chained', count, total);
  return sample;
}

function bareChained(total: number): Sample {
  const ring = new BareRing(1024);
  let count = 0;
  const callback = (): void => {
    if (++count < total) ring.push(new BareHandle(callback));
  };
  const watch = startWatch();
  ring.push(new BareHandle(callback));
  while (ring.size > 0) ring.shift().callback();
  const sample = stopWatch(watch, total);
  expectCount('bare ring chained', count, total);
  return sample;
}

/**
 * The bare ring drained tick by tick with an `await` between ticks: the
 * floor for any loop that, like runForever, must let promise continuations
 * run after every tick. Shown for information: it splits eventide's chained
 * cost into what the design requires and what the loop adds.
 */
async function bareChainedAwait(total: number): Promise<Sample> {
  const ring = new BareRing(1024);
  let count = 0;
  const callback = (): void => {
    if (++count < total) ring.push(new BareHandle(callback));
  };
  const watch = startWatch();
  ring.push(new BareHandle(callback));
  while (ring.size > 0) {
    for (let n = ring.size; n > 0; n--) ring.shift().callback();
    await undefined;
  }
  const sample = stopWatch(watch, total);
  expectCount('bare ring chained + await', count, total);
  return sample;
}

async function setImmediateChained(total: number): Promise<Sample> {
  let count = 0;
  const watch = startWatch();
  await new Promise<void>((resolve) => {
    const callback = (): void => {
      if (++count < total) setImmediate(callback);
      else resolve();
    };
    setImmediate(callback);
  });
  const sample = stopWatch(watch, total);
  expectCount('setImmediate chained', count, total);
  return sample;
}

async function microtaskChained(total: number): Promise<Sample> {
  let count = 0;
  const watch = startWatch();
  await new Promise<void>((resolve) => {
    const callback = (): void => {
      if (++count < total) queueMicrotask(callback);
      else resolve();
    };
    queueMicrotask(callback);
  });
  const sample = stopWatch(watch, total);
  expectCount('queueMicrotask chained', count, total);
  return sample;
}

// --------------------------------------------------------------- group

const size = (warmup: boolean): number => (warmup ? WARMUP_CALLBACKS : CALLBACKS);
const UNIT = 'CPU ns/callback';

export const callSoonGroup: Group = {
  id: 'callsoon',
  title: `callSoon + dispatch, ${CALLBACKS.toExponential(0)} callbacks (batched: ${BATCH} per runOnce(0); chained: runForever)`,
  cases: [
    { name: 'eventide batched', unit: UNIT, run: (w) => eventideBatched(size(w)) },
    { name: 'bare ring batched', unit: UNIT, run: (w) => bareBatched(size(w)) },
    { name: 'setImmediate batched', unit: UNIT, run: (w) => setImmediateBatched(size(w)) },
    { name: 'queueMicrotask batched', unit: UNIT, run: (w) => microtaskBatched(size(w)) },
    { name: 'eventide batched (runForever)', unit: UNIT, run: (w) => eventideBatchedRunForever(size(w)) },
    { name: 'eventide chained', unit: UNIT, run: (w) => eventideChained(size(w)) },
    { name: 'bare ring chained', unit: UNIT, run: (w) => bareChained(size(w)) },
    { name: 'bare ring chained, await per tick', unit: UNIT, run: (w) => bareChainedAwait(size(w)) },
    { name: 'setImmediate chained', unit: UNIT, run: (w) => setImmediateChained(size(w)) },
    { name: 'queueMicrotask chained', unit: UNIT, run: (w) => microtaskChained(size(w)) },
  ],
  ratios: [
    { label: 'batched: eventide / bare ring', numerator: 'eventide batched', denominator: 'bare ring batched', target: 2 },
    { label: 'batched: eventide / setImmediate', numerator: 'eventide batched', denominator: 'setImmediate batched', target: 1, strict: true, targetText: '< 1 (faster)' },
    { label: 'batched: eventide / queueMicrotask', numerator: 'eventide batched', denominator: 'queueMicrotask batched', target: null },
    {
      label: 'batched via runForever: eventide / setImmediate',
      numerator: 'eventide batched (runForever)',
      denominator: 'setImmediate batched',
      target: null,
    },
    { label: 'chained: eventide / bare ring', numerator: 'eventide chained', denominator: 'bare ring chained', target: 2 },
    { label: 'chained: eventide / setImmediate', numerator: 'eventide chained', denominator: 'setImmediate chained', target: 1, strict: true, targetText: '< 1 (faster)' },
    {
      label: 'chained: eventide / bare ring + await per tick',
      numerator: 'eventide chained',
      denominator: 'bare ring chained, await per tick',
      target: null,
    },
    { label: 'chained: eventide / queueMicrotask', numerator: 'eventide chained', denominator: 'queueMicrotask chained', target: null },
  ],
  reps: { full: 7, quick: 3 },
  warmups: { full: 2, quick: 1 },
};
