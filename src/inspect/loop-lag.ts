/**
 * Loop lag: how long a callback waited between becoming ready and running,
 * per priority lane, as a histogram with logarithmic buckets.
 *
 * When a callback "became ready" is known without touching core:
 *  - a task's step: the `taskScheduled` hook fires when its wake-up is
 *    queued (a future settling, a sleep's timer coming due, a spawn, a
 *    cancel), so its lag is exact;
 *  - any other callback (callSoon, a timer, an fd's reader): it was ready
 *    no later than the end of the I/O poll before its batch
 *    (`afterIoWait`), which is where the lag is measured from. That is a
 *    lower bound (a callSoon queued early in the previous batch waited a
 *    little longer), chosen so the loop pays nothing when this instrument
 *    is not attached.
 *
 * Buckets: bucket 0 holds lags <= 1 µs, bucket i lags in (2^(i-1), 2^i] µs;
 * 48 buckets reach past 4 years. A percentile is the upper bound of the
 * bucket it falls in, capped by the largest lag seen (so it is exact to a
 * factor of 2). Recording costs a clock read, a log2 and an increment; no
 * allocation. Platform-free.
 */
import type { Handle } from '../core/handle.js';
import { LANE_COUNT, PRIORITIES, laneOf, type Priority } from '../core/priority.js';
import type { Task } from '../tasks/task.js';
import { checkClock, type DetectorClock } from './detector-util.js';
import type { Instrument } from './instrument.js';

/** Number of buckets per lane. */
export const LAG_BUCKET_COUNT = 48;
/** Upper bound of bucket 0, in ms (1 µs). */
const BASE_MS = 0.001;

/** One lane's histogram, as `summary()` gives it. */
export interface LaneLagSummary {
  readonly priority: Priority;
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Non-empty buckets, smallest first: lags up to `upToMs` (and above the previous bucket's bound). */
  readonly buckets: readonly { readonly upToMs: number; readonly count: number }[];
}

export interface LoopLagOptions {
  /** Where time comes from; default the wall clock. */
  clock?: DetectorClock;
}

/**
 * Histogram of loop lag per lane, with p50/p99.
 *
 * @example
 * const lag = new LoopLagHistogram();
 * loop.addInstrument(lag);
 * // ... run ...
 * console.log(lag.p99('high'), lag.summary());
 */
export class LoopLagHistogram implements Instrument {
  readonly name = 'LoopLagHistogram';
  readonly #clock: DetectorClock;
  /** LANE_COUNT × LAG_BUCKET_COUNT counts. */
  readonly #counts = new Float64Array(LANE_COUNT * LAG_BUCKET_COUNT);
  readonly #totals = new Float64Array(LANE_COUNT);
  readonly #max = new Float64Array(LANE_COUNT);
  /** When each woken task's wake-up was queued. */
  readonly #scheduledAt = new WeakMap<Task<unknown>, number>();
  #batchReadyMs = 0;
  #handle: Handle | null = null;
  #callbackStartMs = 0;
  #recorded = false;

  constructor(options: LoopLagOptions = {}) {
    this.#clock = checkClock(options.clock, 'LoopLagHistogram: clock');
    this.#batchReadyMs = this.#clock.now();
  }

  afterIoWait(): void {
    this.#batchReadyMs = this.#clock.now();
  }

  taskScheduled(task: Task<unknown>): void {
    this.#scheduledAt.set(task, this.#clock.now());
  }

  beforeCallback(handle: Handle): void {
    this.#handle = handle;
    this.#recorded = false;
    this.#callbackStartMs = this.#clock.now();
  }

  beforeTaskStep(task: Task<unknown>): void {
    const handle = this.#handle;
    if (handle === null || this.#recorded) return;
    const queuedMs = this.#scheduledAt.get(task);
    if (queuedMs === undefined) return;
    this.#scheduledAt.delete(task);
    this.#recorded = true;
    this.record(handle.lane, this.#callbackStartMs - queuedMs);
  }

  afterCallback(handle: Handle): void {
    if (!this.#recorded && this.#handle === handle) this.record(handle.lane, this.#callbackStartMs - this.#batchReadyMs);
    this.#handle = null;
  }

  /**
   * Adds one lag sample for `lane` (an index 0..4, or a Priority); the hooks
   * call this, and so can a caller measuring lag its own way.
   */
  record(lane: number | Priority, lagMs: number): void {
    const index = typeof lane === 'number' ? lane : laneOf(lane);
    if (!(index >= 0 && index < LANE_COUNT) || !Number.isInteger(index)) throw new RangeError(`LoopLagHistogram.record: bad lane ${String(lane)}`);
    const ms = lagMs > 0 ? lagMs : 0;
    this.#counts[index * LAG_BUCKET_COUNT + bucketOf(ms)]! += 1;
    this.#totals[index]! += 1;
    if (ms > this.#max[index]!) this.#max[index] = ms;
  }

  /** How many lags were recorded for `priority`. */
  count(priority: Priority): number {
    return this.#totals[laneIndex(priority)]!;
  }

  /**
   * The lag (ms) at or below which fraction `q` (0..1) of `priority`'s
   * samples fall, to a factor of 2; 0 with no samples.
   */
  percentile(priority: Priority, q: number): number {
    if (!(q >= 0 && q <= 1)) throw new RangeError(`LoopLagHistogram.percentile: q must be in [0, 1], got ${String(q)}`);
    const lane = laneIndex(priority);
    const total = this.#totals[lane]!;
    if (total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * total));
    let seen = 0;
    for (let i = 0; i < LAG_BUCKET_COUNT; i++) {
      seen += this.#counts[lane * LAG_BUCKET_COUNT + i]!;
      if (seen >= rank) return Math.min(bucketUpperMs(i), this.#max[lane]!);
    }
    return this.#max[lane]!;
  }

  /** Median lag of `priority` (ms, to a factor of 2). */
  p50(priority: Priority): number {
    return this.percentile(priority, 0.5);
  }

  /** 99th percentile lag of `priority` (ms, to a factor of 2). */
  p99(priority: Priority): number {
    return this.percentile(priority, 0.99);
  }

  /** Largest lag seen for `priority` (ms, exact). */
  max(priority: Priority): number {
    return this.#max[laneIndex(priority)]!;
  }

  /** Every lane that has samples, highest priority first. */
  summary(): LaneLagSummary[] {
    const out: LaneLagSummary[] = [];
    for (let lane = 0; lane < LANE_COUNT; lane++) {
      const count = this.#totals[lane]!;
      if (count === 0) continue;
      const priority = PRIORITIES[lane] as Priority;
      const buckets: { upToMs: number; count: number }[] = [];
      for (let i = 0; i < LAG_BUCKET_COUNT; i++) {
        const n = this.#counts[lane * LAG_BUCKET_COUNT + i]!;
        if (n > 0) buckets.push(Object.freeze({ upToMs: bucketUpperMs(i), count: n }));
      }
      out.push(Object.freeze({ priority, count, p50Ms: this.p50(priority), p99Ms: this.p99(priority), maxMs: this.#max[lane]!, buckets: Object.freeze(buckets) }));
    }
    return out;
  }

  /** A few lines of text: one per lane with samples. */
  format(): string {
    return this.summary()
      .map((s) => `${s.priority.padEnd(8)} n=${s.count} p50<=${s.p50Ms.toFixed(3)}ms p99<=${s.p99Ms.toFixed(3)}ms max=${s.maxMs.toFixed(3)}ms`)
      .join('\n');
  }

  /** Forgets every sample. */
  reset(): void {
    this.#counts.fill(0);
    this.#totals.fill(0);
    this.#max.fill(0);
  }
}

function laneIndex(priority: Priority): number {
  const index = PRIORITIES.indexOf(priority);
  if (index === -1) throw new RangeError(`LoopLagHistogram: unknown priority ${String(priority)}`);
  return index;
}

function bucketOf(ms: number): number {
  if (ms <= BASE_MS) return 0;
  const i = Math.ceil(Math.log2(ms / BASE_MS));
  return i < LAG_BUCKET_COUNT ? i : LAG_BUCKET_COUNT - 1;
}

function bucketUpperMs(i: number): number {
  return BASE_MS * 2 ** i;
}
