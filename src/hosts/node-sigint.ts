/**
 * Ctrl-C during `run` from 'eventide/node', as `asyncio.run` handles it.
 *
 * Node's default for SIGINT ends the process on the spot: no `finally`
 * block of any task runs, no connection is closed cleanly. asyncio.run
 * instead cancels the main task on the first SIGINT, so the program unwinds
 * the ordinary way (leftover tasks cancelled, the loop closed), and then
 * raises KeyboardInterrupt; a second SIGINT raises at once. Here:
 *
 *  - the first SIGINT cancels the main task (cancel source `'signal'`);
 *  - if the run then ends with that cancellation (the main task did not
 *    catch it), SIGINT is raised again with no listener left, so Node's
 *    default action ends the process as Ctrl-C always does (status 130 in
 *    a shell). A main task that catches the cancellation and returns ends
 *    the run normally, as in asyncio;
 *  - a second SIGINT during that shutdown ends the process at once.
 *
 * Only when nobody else handles SIGINT, as asyncio only replaces Python's
 * default handler: nothing is installed if the process already has a
 * SIGINT listener, and a listener added later (`addSignalHandler`, say)
 * takes the signal over. Main thread only: workers get no signals.
 *
 * Invariant: the listener is on the process only between begin() and
 * end() of a run that installed it (a second SIGINT takes it off early).
 */
import { isMainThread } from 'node:worker_threads';
import { CancelledError } from '../core/errors.js';
import type { Task } from '../tasks/task.js';

export class SigintCancelsMain {
  #task: Task<unknown> | null = null;
  #installed = false;
  /** A SIGINT arrived and cancelled the main task. */
  #interrupted = false;
  readonly #onSigint = (): void => this.#received();

  /** Starts listening, unless SIGINT is someone else's already. */
  begin(): void {
    if (!isMainThread || process.listenerCount('SIGINT') > 0) return;
    process.on('SIGINT', this.#onSigint);
    this.#installed = true;
  }

  /** The run's main task, once created. */
  watch(task: Task<unknown>): void {
    this.#task = task;
  }

  /**
   * The run is over, with `error` if it failed. Stops listening; if a SIGINT
   * cancelled the main task and that cancellation ended the run, raises
   * SIGINT again for Node's default action.
   */
  end(error?: unknown): void {
    if (!this.#installed) return;
    this.#uninstall();
    if (this.#interrupted && error instanceof CancelledError && process.listenerCount('SIGINT') === 0) {
      process.kill(process.pid, 'SIGINT');
    }
  }

  #received(): void {
    // A listener added since (the program's own) has taken SIGINT over.
    if (process.listenerCount('SIGINT') > 1) return;
    const task = this.#task;
    if (this.#interrupted || task === null || task.done()) {
      // Second Ctrl-C, or nothing left to cancel: Node's default action, now.
      this.#uninstall();
      process.kill(process.pid, 'SIGINT');
      return;
    }
    this.#interrupted = true;
    task.cancel('interrupted by SIGINT', { source: 'signal' });
  }

  #uninstall(): void {
    if (!this.#installed) return;
    process.off('SIGINT', this.#onSigint);
    this.#installed = false;
  }
}
