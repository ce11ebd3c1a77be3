/**
 * timeout: "within ms, do op" — asyncio.timeout (3.11+) as an operation.
 *
 * The op runs inside the CURRENT task — a coroutine is delegated to with
 * `yield*`, a Future is waited for — so no extra task is created and the
 * op sees the caller's currentTask(). A timer armed on entry cancels the
 * current task at the deadline; the CancelledError that unwinds the op is
 * then turned into a TimeoutError on the way out.
 *
 * Only a cancellation the timeout itself caused becomes a TimeoutError. The
 * task's cancel count (`cancelling()`) is read on entry; on the way out an
 * expired timeout withdraws its own request with `uncancel()`, and converts
 * the CancelledError only if the count is back to what it was on entry. If
 * someone else cancelled the task too (an outer timeout, a TaskGroup, a
 * caller), their CancelledError goes on unchanged. That is what lets
 * timeouts nest and compose with TaskGroup, exactly as in asyncio.
 *
 * States: active → (deadline) expiring → (exit) expired, or active → (exit)
 * finished. A timeout that expired but whose op swallowed the cancellation
 * and returned a value returns that value (asyncio does the same).
 */
import { describe } from '../core/assert.js';
import { CancelledError, RuntimeError, TimeoutError } from '../core/errors.js';
import type { Handle } from '../core/handle.js';
import { currentTask } from './current.js';
import { toFutureOrCoroutine } from './ensure-future.js';
import type { Future } from './future.js';
import type { Coroutine, Operation } from './operation.js';
import type { Task } from './task.js';

/** What `timeout` runs: a Future, an operation (coroutine, sleep(), until()), or a generator function given the Timeout. */
export type TimeoutBody<T> = Future<T> | Operation<T> | ((scope: Timeout) => Operation<T>);

type State = 'active' | 'expiring' | 'expired' | 'finished';

/**
 * The deadline of a running `timeout` / `timeoutAt`, handed to a generator
 * function body so it can read or move its deadline (asyncio's Timeout).
 *
 * @example
 * yield* timeout(100, function* (scope) {
 *   yield* connect();
 *   scope.reschedule(scope.when()! + 500); // connected: allow more time
 *   yield* transfer();
 * });
 */
export class Timeout {
  #state: State = 'active';
  /** Absolute deadline on the loop clock, or null for none. Set on entry. */
  #deadlineMs: number | null = null;
  /** The relative delay given to timeout(ms), resolved to a deadline on entry. */
  readonly #delayMs: number | null | undefined;
  #handle: Handle | null = null;
  #task: Task<unknown> | null = null;
  /** The task's cancelling() on entry: only cancellations above it are ours to absorb. */
  #cancellingAtEntry = 0;
  #enteredAtMs = 0;

  /** @internal Use `timeout(ms, op)` or `timeoutAt(deadlineMs, op)`. */
  constructor(delayMs: number | null | undefined, deadlineMs: number | null) {
    this.#delayMs = delayMs;
    this.#deadlineMs = deadlineMs;
  }

  /** The deadline in ms on the loop clock (`loop.time()`), or null if there is none. */
  when(): number | null {
    return this.#deadlineMs;
  }

  /**
   * Moves the deadline to `deadlineMs` (loop clock; null or Infinity: no
   * deadline). A deadline already past fires on the next tick. Throws
   * RuntimeError once the timeout has expired or finished.
   *
   * @example
   * scope.reschedule(loop.time() + 1000);
   */
  reschedule(deadlineMs: number | null): void {
    const deadline = checkTimeoutMs(deadlineMs, 'Timeout.reschedule: deadlineMs');
    if (this.#state !== 'active') throw new RuntimeError(`Timeout.reschedule: cannot change a timeout that has ${this.#state === 'finished' ? 'finished' : 'expired'}`);
    this.#deadlineMs = deadline;
    this.#arm(NaN);
  }

  /** Whether the deadline passed (the op was cancelled by this timeout). */
  expired(): boolean {
    return this.#state === 'expiring' || this.#state === 'expired';
  }

  toString(): string {
    if (this.#state === 'active') return `<Timeout [active] when=${this.#deadlineMs}>`;
    return `<Timeout [${this.#state === 'finished' ? 'finished' : 'expired'}]>`;
  }

  /**
   * @internal Runs `body` in the current task under this deadline. Called
   * once, by timeout()/timeoutAt().
   */
  *run<T>(body: Future<T> | Coroutine<T>): Coroutine<T> {
    this.#enter();
    let result: T;
    try {
      result = yield* body as Coroutine<T>;
    } catch (error) {
      throw this.#exit(true, error);
    } finally {
      // Also when the generator is closed early (return()): no stray timer.
      this.#handle?.cancel();
      this.#handle = null;
    }
    this.#exit(false, undefined);
    return result;
  }

  #enter(): void {
    const task = currentTask();
    if (task === null) throw new RuntimeError('timeout: must run inside a task (yield* it from a task body)');
    this.#task = task;
    this.#cancellingAtEntry = task.cancelling();
    this.#enteredAtMs = task.loop.time();
    if (this.#delayMs !== undefined) this.#deadlineMs = this.#delayMs === null ? null : this.#enteredAtMs + this.#delayMs;
    this.#arm(this.#delayMs ?? NaN);
  }

  /** (Re)schedules the timer for the current deadline; `delayMs` as scheduleTimer takes it (NaN: the deadline was given, not a delay). */
  #arm(delayMs: number): void {
    const task = this.#task as Task<unknown>;
    this.#handle?.cancel();
    this.#handle = null;
    const deadline = this.#deadlineMs;
    if (deadline === null) return;
    const loop = task.loop;
    this.#handle =
      deadline <= loop.time()
        ? loop.scheduleCallback(Timeout.#fire, this, task.lane)
        : loop.scheduleTimer(deadline, Timeout.#fire, this, task.lane, delayMs);
  }

  static #fire(scope: Timeout): void {
    scope.#handle = null;
    scope.#state = 'expiring';
    (scope.#task as Task<unknown>).cancel(undefined, { source: 'timeout' });
  }

  /** Leaves the scope; returns the error to throw (if `failed`). */
  #exit(failed: boolean, error: unknown): unknown {
    this.#handle?.cancel();
    this.#handle = null;
    if (this.#state === 'active') {
      this.#state = 'finished';
      return error;
    }
    this.#state = 'expired';
    // Always withdraw our own cancel request, even if the op swallowed it.
    const remaining = (this.#task as Task<unknown>).uncancel();
    if (failed && error instanceof CancelledError && remaining <= this.#cancellingAtEntry) {
      const elapsedMs = Math.max(0, (this.#deadlineMs ?? this.#enteredAtMs) - this.#enteredAtMs);
      const timeoutError = new TimeoutError(`operation timed out after ${elapsedMs} ms`);
      timeoutError.cause = error;
      return timeoutError;
    }
    return error;
  }
}

/**
 * Runs `op` in the current task, and if it has not finished within `ms`
 * milliseconds, cancels it and throws TimeoutError (asyncio.timeout). A
 * coroutine runs inline (no new task); a Future or Task is waited for, and
 * cancelled at the deadline. `ms` null or Infinity: no deadline; `ms` <= 0:
 * the op starts, and is cancelled at its first wait. A generator function
 * receives the Timeout, to read or move the deadline.
 *
 * If the current task is cancelled by someone else meanwhile, that
 * CancelledError propagates unchanged. If the op catches the cancellation
 * and returns a value, that value is returned.
 *
 * Like a coroutine, the returned operation runs once.
 *
 * @example
 * try {
 *   const page = yield* timeout(5000, fetchPage(url));
 * } catch (e) {
 *   if (e instanceof TimeoutError) console.log('too slow');
 *   else throw e;
 * }
 */
export function timeout<T>(ms: number | null, op: TimeoutBody<T>): Coroutine<T> {
  const delayMs = checkTimeoutMs(ms, 'timeout: ms');
  const scope = new Timeout(delayMs, null);
  return scope.run(toFutureOrCoroutine(op, 'timeout: op', scope));
}

/**
 * `timeout` with an absolute deadline on the loop clock (`loop.time()`
 * milliseconds) — asyncio.timeout_at.
 *
 * @example
 * const deadlineMs = loop.time() + 1000;
 * yield* timeoutAt(deadlineMs, step1);
 * yield* timeoutAt(deadlineMs, step2); // both within the same second
 */
export function timeoutAt<T>(deadlineMs: number | null, op: TimeoutBody<T>): Coroutine<T> {
  const deadline = checkTimeoutMs(deadlineMs, 'timeoutAt: deadlineMs');
  const scope = new Timeout(undefined, deadline);
  return scope.run(toFutureOrCoroutine(op, 'timeoutAt: op', scope));
}

/**
 * @internal Checks a timeout in ms: null or Infinity mean "no deadline"
 * (returned as null); NaN is a RangeError, a non-number a TypeError.
 */
export function checkTimeoutMs(value: unknown, what: string): number | null {
  if (value === null || value === Infinity) return null;
  if (typeof value !== 'number') throw new TypeError(`${what} must be a number of milliseconds or null (no deadline), got ${describe(value)}`);
  if (Number.isNaN(value)) throw new RangeError(`${what} must be a number of milliseconds or null (no deadline), got NaN`);
  return value;
}
