/**
 * How `eventide run` ends on Ctrl-C (SIGINT) or SIGTERM: as `asyncio.run`
 * does for SIGINT, the first signal cancels the main task, so its `finally`
 * blocks run and the run ends the ordinary way — leftover tasks cancelled,
 * the trace and report written, the inspector's socket removed. The command
 * then exits with the status a shell expects of a process that a signal
 * ended: 128 + the signal's number (130, 143).
 *
 * A second signal, while that shutdown is still going on, kills at once: the
 * listeners are removed and the signal raised again, so Node's default
 * action ends the process (a program whose cleanup hangs can still be
 * stopped with a second Ctrl-C; nothing more is written then).
 *
 * A program that listens for the signal itself (`addSignalHandler`,
 * `process.on`) keeps it: the command then does nothing on that signal,
 * as `run` from 'eventide/node' does.
 *
 * Signals arrive as Node's process events, so they are seen whenever the
 * JavaScript thread is free: between the loop's ticks, not inside a
 * callback that blocks (as with asyncio).
 */
import type { Task } from '../tasks/task.js';

/** The signals handled, and the exit status each one ends the command with. */
export const INTERRUPT_EXIT_CODES = Object.freeze({ SIGINT: 130, SIGTERM: 143 });

export type InterruptSignal = keyof typeof INTERRUPT_EXIT_CODES;

/** The run ended because of a signal; `exitCode` is the status to exit with. */
export class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
  readonly exitCode: number;
  constructor(readonly signal: InterruptSignal) {
    super(`eventide run: interrupted by ${signal}; the main task was cancelled`);
    this.exitCode = INTERRUPT_EXIT_CODES[signal];
  }
}

/**
 * Listens for SIGINT and SIGTERM for the length of one run.
 *
 * @example
 * const interrupt = new RunInterrupt();
 * interrupt.install();
 * try { await runOnLoop(loop, main, (task) => interrupt.watch(task)); } finally { interrupt.uninstall(); }
 * if (interrupt.signal !== null) throw new InterruptedError(interrupt.signal);
 */
export class RunInterrupt {
  /** The first signal received, or null. */
  signal: InterruptSignal | null = null;
  #task: Task<unknown> | null = null;
  readonly #listeners = new Map<InterruptSignal, () => void>();

  /** Starts listening. The process's default action for both signals is off until uninstall(). */
  install(): void {
    for (const signal of Object.keys(INTERRUPT_EXIT_CODES) as InterruptSignal[]) {
      const listener = (): void => this.#received(signal);
      this.#listeners.set(signal, listener);
      process.on(signal, listener);
    }
  }

  /** Stops listening (idempotent). */
  uninstall(): void {
    for (const [signal, listener] of this.#listeners) process.off(signal, listener);
    this.#listeners.clear();
  }

  /** The main task, once it exists: cancelled at once if a signal came first. */
  watch(task: Task<unknown>): void {
    this.#task = task;
    if (this.signal !== null) this.#cancelMain();
  }

  #received(signal: InterruptSignal): void {
    // The program listens for this signal itself (addSignalHandler, process.on): it is the program's.
    if (process.listenerCount(signal) > 1) return;
    if (this.signal !== null) {
      // Second signal: give up on a clean shutdown.
      this.uninstall();
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
