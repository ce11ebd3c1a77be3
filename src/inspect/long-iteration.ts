/**
 * Long loop iterations: the work between two I/O polls (from
 * `afterIoWait` to the next `beforeIoWait`, or `afterRun`) that took at
 * least `thresholdMs`, reported with every callback that made it up —
 * each named (its task, when it ran a task's step) and timed — so the
 * report says not only "the loop was busy for 80 ms" but by whom.
 *
 * While an iteration runs, the callbacks are kept in reused parallel arrays
 * (handle, task, duration), cleared when the iteration ends; report objects
 * are built only for an iteration over the threshold. At most
 * `maxCallbacks` callbacks are listed per report (the longest ones are
 * kept); `callbackCount` says how many there were. Platform-free.
 */
import type { Handle } from '../core/handle.js';
import type { Task } from '../tasks/task.js';
import {
  DEFAULT_MAX_REPORTS,
  callbackLabel,
  checkClock,
  checkCount,
  checkMs,
  checkOptionalFunction,
  keepReport,
  type DetectorClock,
} from './detector-util.js';
import type { Instrument } from './instrument.js';

/** One callback of a long iteration. */
export interface IterationCallback {
  readonly label: string;
  readonly taskName: string | null;
  readonly durationMs: number;
}

/** One iteration over the threshold. */
export interface LongIterationReport {
  readonly startMs: number;
  readonly durationMs: number;
  /** How many callbacks ran in it. */
  readonly callbackCount: number;
  /** The callbacks, in the order they ran (the `maxCallbacks` longest if there were more). */
  readonly callbacks: readonly IterationCallback[];
}

export interface LongIterationOptions {
  /** Report iterations that take at least this long (ms). Default 100. */
  thresholdMs?: number;
  onReport?: (report: LongIterationReport) => void;
  clock?: DetectorClock;
  /** Most callbacks listed in one report. Default 50. */
  maxCallbacks?: number;
  maxReports?: number;
}

/**
 * Reports loop iterations that ran at least `thresholdMs`, with their callbacks.
 *
 * @example
 * const longIter = new LongIterationDetector({
 *   thresholdMs: 50,
 *   onReport: (r) => console.warn(`iteration took ${r.durationMs} ms:`, r.callbacks.map((c) => c.label)),
 * });
 * loop.addInstrument(longIter);
 */
export class LongIterationDetector implements Instrument {
  readonly name = 'LongIterationDetector';
  readonly thresholdMs: number;
  readonly reports: LongIterationReport[] = [];
  readonly #onReport: ((report: LongIterationReport) => void) | undefined;
  readonly #clock: DetectorClock;
  readonly #maxCallbacks: number;
  readonly #maxReports: number;
  #inIteration = false;
  #iterationStartMs = 0;
  #callbackStartMs = 0;
  #currentTask: Task<unknown> | null = null;
  #inCallback = false;
  readonly #handles: Handle[] = [];
  readonly #tasks: (Task<unknown> | null)[] = [];
  readonly #durations: number[] = [];

  constructor(options: LongIterationOptions = {}) {
    this.thresholdMs = checkMs(options.thresholdMs ?? 100, 'LongIterationDetector: thresholdMs');
    this.#onReport = checkOptionalFunction(options.onReport, 'LongIterationDetector: onReport');
    this.#clock = checkClock(options.clock, 'LongIterationDetector: clock');
    this.#maxCallbacks = checkCount(options.maxCallbacks ?? 50, 'LongIterationDetector: maxCallbacks');
    this.#maxReports = options.maxReports ?? DEFAULT_MAX_REPORTS;
  }

  afterIoWait(): void {
    this.flush();
    this.#inIteration = true;
    this.#iterationStartMs = this.#clock.now();
  }

  beforeIoWait(): void {
    this.flush();
  }

  afterRun(): void {
    this.flush();
  }

  beforeCallback(): void {
    this.#inCallback = true;
    this.#currentTask = null;
    this.#callbackStartMs = this.#clock.now();
  }

  beforeTaskStep(task: Task<unknown>): void {
    if (this.#inCallback && this.#currentTask === null) this.#currentTask = task;
  }

  afterCallback(handle: Handle): void {
    const durationMs = this.#clock.now() - this.#callbackStartMs;
    if (this.#inIteration) {
      this.#handles.push(handle);
      this.#tasks.push(this.#currentTask);
      this.#durations.push(durationMs);
    }
    this.#inCallback = false;
    this.#currentTask = null;
  }

  /**
   * Ends the iteration in progress (reporting it if it was long). The hooks
   * call this at the next poll; a driver that stops calling `runOnce` can
   * call it to have the last iteration judged.
   */
  flush(): void {
    if (!this.#inIteration) return;
    this.#inIteration = false;
    const durationMs = this.#clock.now() - this.#iterationStartMs;
    if (durationMs >= this.thresholdMs) this.#report(durationMs);
    this.#handles.length = 0;
    this.#tasks.length = 0;
    this.#durations.length = 0;
  }

  #report(durationMs: number): void {
    const count = this.#handles.length;
    let indices = Array.from({ length: count }, (_, i) => i);
    if (count > this.#maxCallbacks) {
      indices = indices
        .sort((a, b) => this.#durations[b]! - this.#durations[a]!)
        .slice(0, this.#maxCallbacks)
        .sort((a, b) => a - b);
    }
    const callbacks = indices.map((i) => {
      const task = this.#tasks[i] ?? null;
      return Object.freeze({ label: callbackLabel(this.#handles[i]!, task), taskName: task === null ? null : task.name, durationMs: this.#durations[i]! });
    });
    const report: LongIterationReport = Object.freeze({
      startMs: this.#iterationStartMs,
      durationMs,
      callbackCount: count,
      callbacks: Object.freeze(callbacks),
    });
    keepReport(this.reports, report, this.#maxReports);
    this.#onReport?.(report);
  }
}
