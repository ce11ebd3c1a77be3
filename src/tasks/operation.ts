/**
 * What a task may yield, and the typed wrappers around it.
 *
 * A task's body is a generator. The generator talks to its Task through
 * `yield` only — the single entry point to the scheduler (curio's traps) —
 * and it yields one of three things:
 *  - a Future: suspend until it is done; resume with its result;
 *  - a Sleep (from `sleep(ms)`): resume after `ms`, or on the next tick for 0;
 *  - a thenable (a native Promise): suspend until it settles.
 * Anything else is a mistake, and the task gets a TypeError saying what was
 * probably meant.
 *
 * `yield*` makes it typed: `const v = yield* op` where `op` is an
 * `Operation<T>` infers `v: T` (Effection's trick): the operation's iterator
 * yields the instruction once and returns the value sent back.
 */
import { checkMilliseconds } from '../core/assert.js';
import type { Future } from './future.js';

/** An instruction a task understands. */
export type Instruction = Future<unknown> | Sleep<unknown> | PromiseLike<unknown>;

/** Something `yield*` can run inside a task, evaluating to `T`. */
export interface Operation<T> {
  [Symbol.iterator](): Iterator<Instruction, T, unknown>;
}

/**
 * A task body: a generator that yields instructions and returns `T`.
 * The next-value is `any` so that the untyped `const v = yield future`
 * form is allowed; prefer `yield*`, which is typed.
 */
export type Coroutine<T = unknown> = Generator<Instruction, T, any>;

/** A generator function with no parameters, which `createTask` and `run` call. */
export type CoroutineFunction<T = unknown> = () => Coroutine<T>;

/**
 * The operation `sleep(ms, value)` returns. It is its own iterator and keeps
 * no state, so one Sleep can be shared and re-run: the first `next()` (sent
 * `undefined` by `yield*`) yields the Sleep itself to the task; when the
 * time is up the task resumes the generator by sending the Sleep back, and
 * that `next(this)` returns `value`. Both iterator results are made once,
 * with the Sleep; `sleep(0)` returns one shared Sleep, so a `yield*
 * sleep(0)` allocates nothing at all.
 */
export class Sleep<T = undefined> implements Operation<T>, Iterator<Instruction, T, unknown> {
  readonly delayMs: number;
  readonly value: T;
  readonly #yielded: IteratorResult<Instruction, T>;
  readonly #finished: IteratorResult<Instruction, T>;

  constructor(delayMs: number, value: T) {
    this.delayMs = delayMs;
    this.value = value;
    this.#yielded = { value: this, done: false };
    this.#finished = { value, done: true };
  }

  // Typed as Iterator, not `this`: with the class type, TypeScript folds
  // the optional parameter of `return(value?)` into `yield*`'s result and
  // `yield* sleep(1, 'x')` would be `string | undefined`.
  [Symbol.iterator](): Iterator<Instruction, T, unknown> {
    return this;
  }

  next(sent?: unknown): IteratorResult<Instruction, T> {
    return sent === this ? this.#finished : this.#yielded;
  }

  throw(error: unknown): IteratorResult<Instruction, T> {
    throw error;
  }

  return(value?: T): IteratorResult<Instruction, T> {
    return { value: value as T, done: true };
  }
}

/** The one `sleep(0)`: shared, since a Sleep keeps no state. */
const SLEEP_ZERO = new Sleep<undefined>(0, undefined);

/**
 * Suspends the current task for `ms` milliseconds (on the loop's clock) and
 * evaluates to `value`. `sleep(0)` gives every other ready callback one turn
 * — asyncio's `await asyncio.sleep(0)`; `sleep(Infinity)` waits until the
 * task is cancelled (as asyncio's `sleep(math.inf)`).
 *
 * @example
 * yield* sleep(100);
 * const x = yield* sleep(10, 'done'); // x: string
 */
export function sleep(ms: number): Sleep<undefined>;
export function sleep<T>(ms: number, value: T): Sleep<T>;
export function sleep<T>(ms: number, value?: T): Sleep<T | undefined> {
  checkMilliseconds(ms, 'sleep: ms');
  if (ms <= 0 && value === undefined) return SLEEP_ZERO;
  return new Sleep(ms, value);
}

/**
 * Waits, inside a task, for a native Promise (or any thenable) — `fetch`,
 * `fs.promises`, an `async` function — and evaluates to its value, typed.
 * The task resumes through the loop's ready queue like any other wake-up.
 *
 * @example
 * const text = yield* until(fs.promises.readFile(path, 'utf8')); // string
 */
export function until<T>(promise: PromiseLike<T> | T): Operation<Awaited<T>> {
  return new Until(promise as PromiseLike<Awaited<T>>);
}

class Until<T> implements Operation<T>, Iterator<Instruction, T, unknown> {
  readonly #promise: PromiseLike<T>;
  #started = false;

  constructor(promise: PromiseLike<T>) {
    if (!isThenable(promise)) promise = Promise.resolve(promise);
    this.#promise = promise;
  }

  [Symbol.iterator](): this {
    return this;
  }

  next(sent?: unknown): IteratorResult<Instruction, T> {
    if (!this.#started) {
      this.#started = true;
      return { value: this.#promise, done: false };
    }
    this.#started = false;
    return { value: sent as T, done: true };
  }

  throw(error: unknown): IteratorResult<Instruction, T> {
    this.#started = false;
    throw error;
  }

  return(value?: T): IteratorResult<Instruction, T> {
    this.#started = false;
    return { value: value as T, done: true };
  }
}

/** Whether `value` has a callable `then` (a Promise or other thenable). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** Whether `value` looks like a generator object (a coroutine). */
export function isCoroutine(value: unknown): value is Coroutine<unknown> {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as Coroutine).next === 'function' &&
    typeof (value as Coroutine).throw === 'function' &&
    typeof (value as Coroutine)[Symbol.iterator] === 'function'
  );
}
