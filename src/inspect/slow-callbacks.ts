/**
 * Two detectors of work that holds the loop too long:
 *  - SlowCallbackDetector: a callback (any handle the loop runs, task steps
 *    included) that took at least `thresholdMs`; asyncio's
 *    slow_callback_duration warning as an instrument, naming the task when
 *    the callback ran a task's step;
 *  - NeverYieldingTaskDetector: a task step (from one `yield` to the next)
 *    that ran at least `thresholdMs` — a task that does not yield.
 *
 * Both read their clock twice per callback / step and allocate only when
 * they report. Callbacks never nest (a tick cannot run inside a callback),
 * so one "current callback" slot is enough. Platform-free.
 */
import type { Handle } from '../core/handle.js';
import type { Task } from '../tasks/task.js';
import {
  DEFAULT_MAX_REPORTS,
  callbackLabel,
  checkClock,
  checkMs,
  checkOptionalFunction,
  keepReport,
  type DetectorClock,
} from './detector-util.js';
import type { Instrument } from './instrument.js';

/** One slow callback. */
export interface SlowCallbackReport {
  readonly handle: Handle;
  /** 'step of task NAME #ID' or 'callback FUNCTION_NAME'. */
  readonly label: string;
  /** The task whose step the callback ran, else null. */
  readonly task: Task<unknown> | null;
  readonly taskName: string | null;
  readonly durationMs: number;
  /** Where the task (else the handle) was created: a stack, in debug mode only. */
  readonly createdAt: string | undefined;
}

export interface SlowCallbackOptions {
  /** Report callbacks that take at least this long (ms). Default 100 (asyncio's). */
  thresholdMs?: number;
  /** Called with each report (on the loop's thread, right after the callback). */
  onReport?: (report: SlowCallbackReport) => void;
  /** Where time comes from; default the wall clock. */
  clock?: DetectorClock;
  /** How many reports `reports` keeps (oldest dropped). Default 1000. */
  maxReports?: number;
}

/**
 * Reports callbacks that ran at least `thresholdMs`, with the task whose
 * step they ran.
 *
 * @example
 * const slow = new SlowCallbackDetector({
 *   thresholdMs: 50,
 *   onReport: (r) => console.warn(`${r.label} took ${r.durationMs.toFixed(1)} ms`),
 * });
 * loop.addInstrument(slow);
 */
export class SlowCallbackDetector implements Instrument {
  readonly name = 'SlowCallbackDetector';
  readonly thresholdMs: number;
  /** The latest reports, oldest first. */
  readonly reports: SlowCallbackReport[] = [];
  readonly #onReport: ((report: SlowCallbackReport) => void) | undefined;
  readonly #clock: DetectorClock;
  readonly #maxReports: number;
  #startMs = 0;
  #task: Task<unknown> | null = null;
  #inCallback = false;

  constructor(options: SlowCallbackOptions = {}) {
    this.thresholdMs = checkMs(options.thresholdMs ?? 100, 'SlowCallbackDetector: thresholdMs');
    this.#onReport = checkOptionalFunction(options.onReport, 'SlowCallbackDetector: onReport');
    this.#clock = checkClock(options.clock, 'SlowCallbackDetector: clock');
    this.#maxReports = options.maxReports ?? DEFAULT_MAX_REPORTS;
  }

  beforeCallback(_handle: Handle): void {
    this.#inCallback = true;
    this.#task = null;
    this.#startMs = this.#clock.now();
  }

  beforeTaskStep(task: Task<unknown>): void {
    if (this.#inCallback && this.#task === null) this.#task = task;
  }

  afterCallback(handle: Handle): void {
    const durationMs = this.#clock.now() - this.#startMs;
    const task = this.#task;
    this.#inCallback = false;
    this.#task = null;
    if (durationMs < this.thresholdMs) return;
    const report: SlowCallbackReport = Object.freeze({
      handle,
      label: callbackLabel(handle, task),
      task,
      taskName: task === null ? null : task.name,
      durationMs,
      createdAt: task?.sourceStack ?? handle.sourceStack,
    });
    keepReport(this.reports, report, this.#maxReports);
    this.#onReport?.(report);
  }
}

/** One step that ran too long without yielding. */
export interface NeverYieldingReport {
  readonly task: Task<unknown>;
  readonly taskId: number;
  readonly taskName: string;
  /** How long the step ran (ms). */
  readonly durationMs: number;
  /** Which step of the task it was (1 = the first). */
  readonly step: number;
}

export interface NeverYieldingOptions {
  /** Report steps that run at least this long (ms). Default 100. */
  thresholdMs?: number;
  onReport?: (report: NeverYieldingReport) => void;
  clock?: DetectorClock;
  maxReports?: number;
}

/**
 * Reports task steps that ran at least `thresholdMs` without yielding.
 *
 * @example
 * const hog = new NeverYieldingTaskDetector({ thresholdMs: 20, onReport: (r) => console.warn(r.taskName, r.durationMs) });
 * loop.addInstrument(hog);
 */
export class NeverYieldingTaskDetector implements Instrument {
  readonly name = 'NeverYieldingTaskDetector';
  readonly thresholdMs: number;
  readonly reports: NeverYieldingReport[] = [];
  readonly #onReport: ((report: NeverYieldingReport) => void) | undefined;
  readonly #clock: DetectorClock;
  readonly #maxReports: number;
  #task: Task<unknown> | null = null;
  #startMs = 0;

  constructor(options: NeverYieldingOptions = {}) {
    this.thresholdMs = checkMs(options.thresholdMs ?? 100, 'NeverYieldingTaskDetector: thresholdMs');
    this.#onReport = checkOptionalFunction(options.onReport, 'NeverYieldingTaskDetector: onReport');
    this.#clock = checkClock(options.clock, 'NeverYieldingTaskDetector: clock');
    this.#maxReports = options.maxReports ?? DEFAULT_MAX_REPORTS;
  }

  beforeTaskStep(task: Task<unknown>): void {
    this.#task = task;
    this.#startMs = this.#clock.now();
  }

  afterTaskStep(task: Task<unknown>): void {
    if (this.#task !== task) return;
    this.#task = null;
    const durationMs = this.#clock.now() - this.#startMs;
    if (durationMs < this.thresholdMs) return;
    const report: NeverYieldingReport = Object.freeze({ task, taskId: task.id, taskName: task.name, durationMs, step: task.steps });
    keepReport(this.reports, report, this.#maxReports);
    this.#onReport?.(report);
  }
}
