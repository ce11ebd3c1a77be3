/**
 * Lost wakers: a task suspended on a future that nothing else references.
 * Only the future's done-callbacks can wake the task, and only code holding
 * the future can settle it; when nothing outside the task holds it, the
 * task and its future form an unreachable island — tokio-console's "lost
 * waker". The garbage collector proves it: the island is collected.
 *
 * So the detector registers each task it sees suspended in a
 * FinalizationRegistry, with a small record (no reference to the task or
 * the future, or the island would never be collected) naming the task and
 * what it last waited on. A task that finishes is unregistered. A task
 * collected while registered was still pending: its waker was lost, and
 * the record says which future was never settled. (A sleeping task cannot
 * be lost: its timer sits in the loop's heap.) This is the instrument form
 * of debug mode's "Task was destroyed but it is pending!".
 *
 * The loop must not hold pending tasks itself: that is so in debug mode
 * (`loop.setDebug(true)`, as asyncio always does); outside it the loop keeps
 * every pending task alive on purpose, and nothing is ever reported.
 *
 * Reports come when the collector runs, on no particular tick; they go to
 * `onReport` and `reports`. Platform-free (FinalizationRegistry is ES2021).
 */
import { Future, SETTLE_HOOK } from '../tasks/future.js';
import type { Task } from '../tasks/task.js';
import { DEFAULT_MAX_REPORTS, checkOptionalFunction, keepReport } from './detector-util.js';
import type { Instrument } from './instrument.js';

/** A task collected while suspended on a future. */
export interface LostWakerReport {
  readonly taskId: number;
  readonly taskName: string;
  /** The future it was waiting on, as introspection names it (`futureLabel`). */
  readonly waitingOn: string;
  /** How many steps the task had run. */
  readonly steps: number;
}

export interface LostWakerOptions {
  onReport?: (report: LostWakerReport) => void;
  maxReports?: number;
}


/** What the registry holds per task: strings and numbers only. */
interface WaitRecord {
  taskId: number;
  taskName: string;
  steps: number;
  futureId: number;
  futureClass: string;
  futureLabel: string | undefined;
}

/**
 * Reports tasks that were collected while waiting on a future nothing else
 * referenced (they could never wake).
 *
 * Needs debug mode (see the module comment).
 *
 * @example
 * loop.setDebug(true);
 * const lost = new LostWakerDetector({ onReport: (r) => console.warn(`${r.taskName} can never wake: waits on ${r.waitingOn}`) });
 * loop.addInstrument(lost);
 */
export class LostWakerDetector implements Instrument {
  readonly name = 'LostWakerDetector';
  readonly reports: LostWakerReport[] = [];
  readonly #onReport: ((report: LostWakerReport) => void) | undefined;
  readonly #maxReports: number;
  readonly #records = new WeakMap<Task<unknown>, WaitRecord>();
  readonly #registry = new FinalizationRegistry<WaitRecord>((record) => this.#lost(record));

  constructor(options: LostWakerOptions = {}) {
    this.#onReport = checkOptionalFunction(options.onReport, 'LostWakerDetector: onReport');
    this.#maxReports = options.maxReports ?? DEFAULT_MAX_REPORTS;
  }

  afterTaskStep(task: Task<unknown>): void {
    if (task.done()) return;
    const waiter = task.waitingOn;
    let record = this.#records.get(task);
    if (!(waiter instanceof Future) || waiter.done()) {
      // Sleeping, or already woken: not lost while in that state.
      if (record !== undefined) record.futureId = 0;
      return;
    }
    if (record === undefined) {
      const fresh: WaitRecord = { taskId: task.id, taskName: task.name, steps: 0, futureId: 0, futureClass: '', futureLabel: undefined };
      record = fresh;
      this.#records.set(task, fresh);
      this.#registry.register(task, fresh, fresh);
      // Unregister when it settles even if this detector was detached by then
      // (taskExited would not come). The hook holds the record, not the task.
      const registry = this.#registry;
      task.addDoneCallbackInLane(() => registry.unregister(fresh), SETTLE_HOOK);
    }
    record.taskName = task.name;
    record.steps = task.steps;
    record.futureId = waiter.id;
    record.futureClass = waiter.constructor.name;
    record.futureLabel = waiter.label;
  }

  taskExited(task: Task<unknown>): void {
    const record = this.#records.get(task);
    if (record === undefined) return;
    this.#registry.unregister(record);
    this.#records.delete(task);
  }

  #lost(record: WaitRecord): void {
    if (record.futureId === 0) return;
    const isTask = record.futureLabel === undefined && record.futureClass === 'Task';
    const waitingOn = record.futureLabel ?? (isTask ? `Task #${record.futureId}` : `${record.futureClass} #${record.futureId}`);
    const report: LostWakerReport = Object.freeze({ taskId: record.taskId, taskName: record.taskName, waitingOn, steps: record.steps });
    keepReport(this.reports, report, this.#maxReports);
    this.#onReport?.(report);
  }
}
