/**
 * A staggered race: asyncio's `staggered_race`, the engine of Happy
 * Eyeballs (RFC 8305) in createConnection.
 *
 * Attempts start one after another: attempt i + 1 starts as soon as
 * attempt i fails, or `delayMs` after attempt i started, whichever comes
 * first (with `delayMs` null, only when it fails: one at a time). Only the
 * newest attempt's failure starts the next one, as in asyncio; an older
 * attempt failing meanwhile changes nothing. The first attempt to succeed
 * wins: every other attempt still running is cancelled, and none starts
 * after it.
 *
 * The attempts are child tasks of a TaskGroup run in the caller's task, so
 * the race returns only when every attempt it started is done — a loser's
 * cleanup (closing its socket when cancelled) has run by then. Cancelling
 * the caller cancels every attempt, waits for them, and propagates the
 * CancelledError; a winner found before that is handed to `discard`.
 *
 * Invariants: `errors` has one entry per attempt started, in start order;
 * at most one attempt's result is returned; every other successful result
 * goes to `discard`.
 */
import { checkCallback, describe } from '../core/assert.js';
import type { EventLoop } from '../tasks/event-loop.js';
import type { Future } from '../tasks/future.js';
import { isCoroutine, type Coroutine } from '../tasks/operation.js';
import type { Task } from '../tasks/task.js';
import { taskGroup } from '../tasks/task-group.js';
import { CancelledError } from '../core/errors.js';

/** One attempt: a generator function (asyncio's coroutine function). */
export type Attempt<T> = () => Coroutine<T>;

export interface StaggeredRaceOptions<T> {
  /** The attempt tasks are named `${name} attempt ${index}`. Default 'staggeredRace'. */
  name?: string;
  /**
   * Called with a successful result the race will not return: the
   * winner's when the race is cancelled before it can return it, or a
   * second success (an attempt that returned in spite of its cancellation).
   * Release what it holds here (close the socket). Default: drop it.
   */
  discard?: (result: T) => void;
}

export interface StaggeredRaceResult<T> {
  /** The first attempt to succeed, its index and result; null if every attempt failed. */
  winner: { index: number; result: T } | null;
  /**
   * One entry per attempt started, in start order: what it threw, or null
   * for the winner. A loser cancelled because another won holds its
   * CancelledError (as asyncio's `exceptions`).
   */
  errors: unknown[];
}

/**
 * `value` as a delay in milliseconds: null (and undefined) mean none. Not a
 * number: TypeError; NaN, ±Infinity or negative: RangeError; both name `what`.
 */
export function checkDelayMs(value: unknown, what: string): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'number') throw new TypeError(`${what} must be a number of milliseconds or null, got ${describe(value)}`);
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${what} must be a finite number of milliseconds >= 0 or null, got ${describe(value)}`);
  return value;
}

/**
 * Runs `attempts` staggered by `delayMs` (see the module comment) in the
 * current task; evaluates to the winner, if any, and every attempt's
 * error. Bad arguments throw here, before anything starts.
 *
 * @example
 * const { winner, errors } = yield* staggeredRace(loop, addresses.map((a) => () => connectTo(a)), 250);
 * if (winner === null) throw new AggregateError(errors, 'every address failed');
 */
export function staggeredRace<T>(loop: EventLoop, attempts: readonly Attempt<T>[], delayMs: number | null, options: StaggeredRaceOptions<T> = {}): Coroutine<StaggeredRaceResult<T>> {
  if (!Array.isArray(attempts)) throw new TypeError(`staggeredRace: attempts must be an array of generator functions, got ${describe(attempts)}`);
  attempts.forEach((attempt, i) => checkCallback(attempt, `staggeredRace: attempts[${i}]`));
  const delay = checkDelayMs(delayMs, 'staggeredRace: delayMs');
  if (options.discard !== undefined) checkCallback(options.discard, 'staggeredRace: options.discard');
  return race(loop, attempts, delay, options.name ?? 'staggeredRace', options.discard ?? null);
}

function* race<T>(loop: EventLoop, attempts: readonly Attempt<T>[], delayMs: number | null, name: string, discard: ((result: T) => void) | null): Coroutine<StaggeredRaceResult<T>> {
  const errors: unknown[] = [];
  const tasks: Task<void>[] = [];
  let winner: { index: number; result: T } | null = null;
  /** What the body waits on between starts: resolved by the delay, the newest attempt's failure, or a win. */
  let turn: Future<void> | null = null;
  const nextTurn = (): void => {
    if (turn !== null && !turn.done()) turn.setResult();
  };

  function* runOne(index: number): Coroutine<void> {
    let result: T;
    try {
      const coro: unknown = (attempts[index] as Attempt<T>)();
      if (!isCoroutine(coro)) throw new TypeError(`staggeredRace: attempts[${index}] returned ${describe(coro)}, not a generator; write it as function* () { … }`);
      result = yield* coro as Coroutine<T>;
    } catch (error) {
      errors[index] = error;
      if (index === tasks.length - 1) nextTurn(); // the newest attempt failed: start the next now
      if (error instanceof CancelledError) throw error; // cancelled (another won): the task ends cancelled
      return;
    }
    if (winner !== null) {
      discard?.(result);
      return;
    }
    winner = { index, result };
    // Not this task: it is finishing with its result (asyncio takes the same care).
    for (const [i, task] of tasks.entries()) if (i !== index) task.cancel();
    nextTurn();
  }

  try {
    yield* taskGroup(function* (tg) {
      for (let index = 0; index < attempts.length && winner === null; index++) {
        errors.push(null);
        tasks.push(tg.createTask(runOne(index), { name: `${name} attempt ${index}` }));
        if (index === attempts.length - 1) break; // none left to start: the group waits for the rest
        turn = loop.createFuture<void>();
        turn.label = `${name}: attempt ${index} failing${delayMs === null ? '' : ` or ${delayMs} ms passing`}`;
        const timer = delayMs === null ? null : loop.callLater(delayMs, nextTurn);
        try {
          yield* turn;
        } finally {
          timer?.cancel();
          turn = null;
        }
      }
    });
  } catch (error) {
    // Cancelled (or a discard failed): a winner's result would be lost with the race.
    const won = winner as { index: number; result: T } | null;
    if (won !== null) discard?.(won.result);
    throw error;
  }
  return { winner, errors };
}
