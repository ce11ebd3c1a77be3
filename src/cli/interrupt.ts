/**
 * How `eventide run` ends on Ctrl-C (SIGINT) or SIGTERM (the listening is
 * hosts/node-sigint.ts's InterruptCancelsMain, as for `run`): as `asyncio.run`
 * does for SIGINT, the first signal cancels the main task, so its `finally`
 * blocks run and the run ends the ordinary way — leftover tasks cancelled,
 * the trace and report written, the inspector's socket removed. The command
 * then exits with the status a shell expects of a process that a signal
 * ended: 128 + the signal's number (130, 143).
 *
 * A second signal, while that shutdown is still going on (or one that comes
 * once main is done), kills at once: the
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
import type { InterruptSignal } from '../hosts/node-sigint.js';

/** The exit status each handled signal ends the command with (the signals: INTERRUPT_SIGNALS). */
export const INTERRUPT_EXIT_CODES: Readonly<Record<InterruptSignal, number>> = Object.freeze({ SIGINT: 130, SIGTERM: 143 });

/** The signals `eventide run` handles (hosts/node-sigint.ts's InterruptCancelsMain listens for them). */
export const INTERRUPT_SIGNALS = Object.keys(INTERRUPT_EXIT_CODES) as InterruptSignal[];

/** The run ended because of a signal; `exitCode` is the status to exit with. */
export class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
  readonly exitCode: number;
  constructor(readonly signal: InterruptSignal) {
    super(`eventide run: interrupted by ${signal}; the main task was cancelled`);
    this.exitCode = INTERRUPT_EXIT_CODES[signal];
  }
}
