/**
 * Ctrl-C (and, for `eventide run`, SIGTERM) during a run, as `asyncio.run`
 * handles SIGINT. Used by `run` from 'eventide/node' and by `eventide run`.
 *
 * Node's default for SIGINT ends the process on the spot: no `finally`
 * block of any task runs, no connection is closed cleanly. asyncio.run
 * instead cancels the main task on the first SIGINT, so the program unwinds
 * the ordinary way (leftover tasks cancelled, the loop closed), and then
 * raises KeyboardInterrupt; a second SIGINT, or one once main is done,
 * raises at once. Here:
 *
 *  - the first signal cancels the main task (cancel source `'signal'`) and
 *    is remembered in `signal`; what the run does when it ends is its
 *    caller's choice (`run` raises SIGINT again for Node's default action;
 *    `eventide run` exits 130 or 143);
 *  - a second signal, or one that comes when main is already done, ends the
 *    process at once: the listeners are removed and the signal raised again.
 *
 * Only signals nobody else handles, as asyncio only replaces Python's
 * default handler: a signal the process already listens for is not
 * listened to, and a listener added later (`addSignalHandler`, say) takes
 * the signal over. Main thread only: workers get no signals.
 *
 * Invariant: the listeners are on the process only between begin() and
 * end() (a second signal takes them off early).
 */
import { isMainThread } from 'node:worker_threads';
import type { Task } from '../tasks/task.js';

/** The signals a run can be interrupted by. */
export type InterruptSignal = 'SIGINT' | 'SIGTERM';

/**
 * @example
 * const interrupt = new InterruptCancelsMain(['SIGINT']);
 * interrupt.begin();
 * try { return await runOnLoop(loop, main, (task) => interrupt.watch(task)); } finally { interrupt.end(); }
 */
export class InterruptCancelsMain {
  /** The first signal received, which cancelled (or will cancel) the main task; null if none. */
  signal: InterruptSignal | null = null;
  readonly #signals: readonly InterruptSignal[];
  #task: Task<unknown> | null = null;
  readonly #listeners = new Map<InterruptSignal, () => void>();

  constructor(signals: readonly InterruptSignal[]) {
    this.#signals = signals;
  }

  /** Starts listening for each of the signals that nobody listens for already. */
  begin(): void {
    if (!isMainThread) return;
    for (const signal of this.#signals) {
      if (process.listenerCount(signal) > 0) continue;
      const listener = (): void => this.#received(signal);
      this.#listeners.set(signal, listener);
      process.on(signal, listener);
    }
  }

  /** The run's main task, once created: cancelled at once if a signal came first. */
  watch(task: Task<unknown>): void {
    this.#task = task;
    if (this.signal !== null) this.#cancelMain();
  }

  /** Stops listening (idempotent). */
  end(): void {
    for (const [signal, listener] of this.#listeners) process.off(signal, listener);
    this.#listeners.clear();
  }

  #received(signal: InterruptSignal): void {
    // A listener added since (the program's own) has taken the signal over.
    if (process.listenerCount(signal) > 1) return;
    if (this.signal !== null || this.#task?.done() === true) {
      // Second signal, or nothing left to cancel: Node's default action, now.
      this.end();
      process.kill(process.pid, signal);
      return;
    }
    this.signal = signal;
    this.#cancelMain();
  }

  #cancelMain(): void {
    const task = this.#task;
    if (task !== null && !task.done()) task.cancel(`interrupted by ${this.signal}`, { source: 'signal' });
  }
}
