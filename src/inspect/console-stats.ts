/**
 * What the live console knows about tasks beyond what a task keeps itself:
 * how often each was woken, since when it has been idle, and the warnings
 * the problem detectors raised while the console was attached. One
 * instrument, attached by the inspector endpoint only while it serves, so
 * a program that never opens a console pays nothing.
 *
 * While attached it also turns on task timing (a clock read per step) so
 * the console can sort tasks by busy time; detaching restores the setting.
 *
 * Counting starts at `attach()`: a task's wakes before that are unknown,
 * and a task already waiting then counts as idle since then. Idle time is
 * in loop ms (`loop.time()`), like the sleep deadlines next to it.
 * Platform-free.
 */
import type { EventLoop } from '../tasks/event-loop.js';
import type { Task, WakeCause } from '../tasks/task.js';
import type { WarningRow, TaskRow } from './endpoint-protocol.js';
import type { Instrument } from './instrument.js';
import { LongIterationDetector, type LongIterationReport } from './long-iteration.js';
import { LostWakerDetector, type LostWakerReport } from './lost-waker.js';
import { SlowCallbackDetector, type SlowCallbackReport } from './slow-callbacks.js';
import { describeTask } from './task-info.js';

export interface ConsoleStatsOptions {
  /**
   * Attach the problem detectors and keep their reports as warnings: slow
   * callbacks and long iterations (threshold `loop.slowCallbackDurationMs`),
   * plus lost wakers in debug mode. Default true.
   */
  detectors?: boolean;
  /** How many warnings to keep (oldest dropped). Default 200. */
  maxWarnings?: number;
}

/** Per-task counters, made when the console first sees the task. */
interface TaskCounters {
  wakes: number;
  /** Loop time its last step ended (or it was created). */
  idleSinceMs: number;
}

/**
 * Wake counts, idle times and detector warnings for one loop, for the live
 * console (see the module comment).
 *
 * @example
 * const stats = new ConsoleStats(loop);
 * stats.attach();
 * // ... later, between ticks:
 * for (const task of loop.allTasks()) console.log(stats.taskRow(task));
 * stats.detach();
 */
export class ConsoleStats implements Instrument {
  readonly name = 'ConsoleStats';
  readonly loop: EventLoop;
  readonly #counters = new WeakMap<Task<unknown>, TaskCounters>();
  readonly #warnings: WarningRow[] = [];
  readonly #maxWarnings: number;
  readonly #detectors: Instrument[] = [];
  #attachedAtMs = 0;
  #attached = false;
  #hadTaskTiming = false;

  constructor(loop: EventLoop, options: ConsoleStatsOptions = {}) {
    if (loop === null || typeof loop !== 'object' || typeof loop.allTasks !== 'function') {
      throw new TypeError(`ConsoleStats: expected an EventLoop, got ${String(loop)}`);
    }
    const maxWarnings = options.maxWarnings ?? 200;
    if (!Number.isInteger(maxWarnings) || maxWarnings < 1) throw new RangeError(`ConsoleStats: maxWarnings must be an integer >= 1, got ${String(maxWarnings)}`);
    this.loop = loop;
    this.#maxWarnings = maxWarnings;
    if (options.detectors ?? true) this.#detectors.push(...this.#makeDetectors());
  }

  /** Starts counting: attaches itself and the detectors, turns task timing on. Idempotent. */
  attach(): void {
    if (this.#attached) return;
    this.#attached = true;
    this.#attachedAtMs = this.loop.time();
    this.#hadTaskTiming = this.loop.getTaskTiming();
    this.loop.setTaskTiming(true);
    this.loop.addInstrument(this);
    for (const detector of this.#detectors) this.loop.addInstrument(detector);
  }

  /** Stops counting and restores task timing. Idempotent. */
  detach(): void {
    if (!this.#attached) return;
    this.#attached = false;
    this.loop.removeInstrument(this);
    for (const detector of this.#detectors) this.loop.removeInstrument(detector);
    if (!this.#hadTaskTiming) this.loop.setTaskTiming(false);
  }

  taskSpawned(task: Task<unknown>): void {
    this.#countersOf(task);
  }

  taskScheduled(task: Task<unknown>, cause: WakeCause): void {
    if (cause.kind !== 'spawn') this.#countersOf(task).wakes++;
  }

  afterTaskStep(task: Task<unknown>): void {
    this.#countersOf(task).idleSinceMs = this.loop.time();
  }

  /** Times `task` was woken since `attach()`. */
  wakesOf(task: Task<unknown>): number {
    return this.#counters.get(task)?.wakes ?? 0;
  }

  /** The row `eventide top` shows for `task`, now. */
  taskRow(task: Task<unknown>): TaskRow {
    const info = describeTask(task);
    const nowMs = this.loop.time();
    const counters = this.#counters.get(task);
    const idleSinceMs = counters?.idleSinceMs ?? this.#attachedAtMs;
    const wait = info.waitingOn;
    let waitingOn: string | null = null;
    if (wait !== null) waitingOn = wait.kind === 'sleep' ? `sleep, ${formatLeft(wait.deadlineMs - nowMs)} left` : wait.label;
    return {
      id: info.id,
      name: info.name,
      priority: info.priority,
      state: info.state,
      steps: info.steps,
      busyMs: info.runTimeMs,
      wakes: counters?.wakes ?? 0,
      waitingMs: info.state === 'running' || info.state === 'done' ? null : Math.max(0, nowMs - idleSinceMs),
      waitingOn,
      spawnerId: info.spawnerId,
      cancelling: info.cancelling,
    };
  }

  /** The warnings kept, oldest first. */
  warnings(): readonly WarningRow[] {
    return this.#warnings.slice();
  }

  #countersOf(task: Task<unknown>): TaskCounters {
    let counters = this.#counters.get(task);
    if (counters === undefined) {
      counters = { wakes: 0, idleSinceMs: this.loop.time() };
      this.#counters.set(task, counters);
    }
    return counters;
  }

  #makeDetectors(): Instrument[] {
    const thresholdMs = this.loop.slowCallbackDurationMs;
    const detectors: Instrument[] = [
      new SlowCallbackDetector({ thresholdMs, maxReports: 1, onReport: (r) => this.#warn('slow-callback', slowCallbackWarning(r)) }),
      new LongIterationDetector({
        thresholdMs,
        maxReports: 1,
        maxCallbacks: 3,
        onReport: (r) => {
          // One slow callback makes a long iteration too; it has its own warning already.
          if (!r.callbacks.some((callback) => callback.durationMs >= thresholdMs)) this.#warn('long-iteration', longIterationWarning(r));
        },
      }),
    ];
    if (this.loop.getDebug()) detectors.push(new LostWakerDetector({ maxReports: 1, onReport: (r) => this.#warn('lost-waker', lostWakerWarning(r)) }));
    return detectors;
  }

  #warn(kind: WarningRow['kind'], [taskId, text]: readonly [number | null, string]): void {
    this.#warnings.push(Object.freeze({ atMs: this.loop.time(), kind, taskId, text }));
    if (this.#warnings.length > this.#maxWarnings) this.#warnings.shift();
  }
}

function slowCallbackWarning(report: SlowCallbackReport): [number | null, string] {
  return [report.task?.id ?? null, `${report.label} took ${formatMs(report.durationMs)}`];
}

function longIterationWarning(report: LongIterationReport): [number | null, string] {
  const longest = [...report.callbacks].sort((a, b) => b.durationMs - a.durationMs)[0];
  const detail = longest === undefined ? '' : `; longest: ${longest.label}, ${formatMs(longest.durationMs)}`;
  const count = `${report.callbackCount} callback${report.callbackCount === 1 ? '' : 's'}`;
  return [null, `loop iteration took ${formatMs(report.durationMs)} (${count}${detail})`];
}

function lostWakerWarning(report: LostWakerReport): [number | null, string] {
  return [report.taskId, `task ${report.taskName} #${report.taskId} can never wake: it waited on ${report.waitingOn}, which nothing else referenced`];
}

function formatMs(ms: number): string {
  return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

function formatLeft(ms: number): string {
  return formatMs(Math.max(0, ms));
}
