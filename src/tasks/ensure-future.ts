/**
 * Ops: what the combinators (gather, shield, waitFor, timeout) accept, and
 * how they become something to wait for — asyncio's `ensure_future`.
 *
 * An op is one of:
 *  - a Future (a Task is one): waited for as it is;
 *  - an operation — a coroutine (generator object), `sleep(ms)`,
 *    `until(promise)`, anything `yield*` can run: run by gather and shield
 *    in a new task, by timeout and waitFor inline in the current task;
 *  - a generator function (or any function returning an operation): called
 *    with no arguments to get the coroutine. Each call is a fresh coroutine,
 *    so the same function given twice runs twice; the same generator object
 *    given twice runs once.
 * Arrays, Sets and Maps are iterable but are not operations: TypeError.
 *
 * Everything is checked before anything is started, so bad input throws a
 * TypeError naming the argument and leaves no half-created tasks behind.
 * Tasks created here inherit the priority of the task that asked for them:
 * work gathered by a critical task is critical work.
 */
import { describe } from '../core/assert.js';
import { RuntimeError } from '../core/errors.js';
import { LANE_NORMAL } from '../core/priority.js';
import { currentTask } from './current.js';
import { EventLoop, getRunningLoop } from './event-loop.js';
import { Future } from './future.js';
import { isCoroutine, isThenable, type Coroutine, type Operation } from './operation.js';

/**
 * Something a combinator can wait for: a Future or Task, an operation (a
 * coroutine, `sleep(ms)`, `until(promise)`, anything `yield*` can run), or
 * a generator function returning one.
 */
export type Op<T> = Future<T> | Operation<T> | (() => Operation<T>);

/** Any op, whatever its result type. */
export type AnyOp = Op<unknown>;

/**
 * The value an op evaluates to: `T` for a `Future<T>`, an `Operation<T>`
 * (a coroutine returning `T`), or a function returning one.
 */
export type OpResult<O> =
  O extends Future<infer T> ? T : O extends Operation<infer T> ? T : O extends () => Operation<infer T> ? T : never;

const AsyncFunction = (async () => {}).constructor;
const AsyncGeneratorFunction = (async function* () {}).constructor;

/**
 * @internal Resolves `op` to a Future or a coroutine without starting
 * anything: a generator function is called with `args` (which runs none
 * of its body). `what` names the argument in error messages ("gather: op 2").
 */
export function toFutureOrCoroutine<T>(
  op: Op<T> | ((...args: any[]) => Operation<T>),
  what: string,
  ...args: unknown[]
): Future<T> | Coroutine<T> {
  if (op instanceof Future) return op;
  if (typeof op === 'function') {
    if (op instanceof AsyncFunction || op instanceof AsyncGeneratorFunction) {
      throw new TypeError(
        `${what} is an async function (${describe(op)}); pass a generator function instead, ` +
          'and wait for promises inside it with `yield* until(promise)`',
      );
    }
    const produced: unknown = op(...args);
    const coroutine = asCoroutine<T>(produced);
    if (coroutine !== null) return coroutine;
    throw new TypeError(`${what}: ${describe(op)} returned ${describe(produced)}, not a generator; pass a generator function (function* () { … })`);
  }
  const coroutine = asCoroutine<T>(op);
  if (coroutine !== null) return coroutine;
  throw new TypeError(badOpMessage(op, what));
}

/**
 * A coroutine for an operation: itself if it is already an iterator with
 * `throw` (a generator, `sleep()`, `until()`), else a generator delegating
 * to it. Collections are iterable too but are not operations: null.
 */
function asCoroutine<T>(value: unknown): Coroutine<T> | null {
  if (value instanceof Future) return delegate(value as Future<T>);
  if (isCoroutine(value)) return value as Coroutine<T>;
  if (value === null || typeof value !== 'object') return null;
  if (typeof (value as Partial<Operation<T>>)[Symbol.iterator] !== 'function') return null;
  if (Array.isArray(value) || ArrayBuffer.isView(value) || value instanceof Set || value instanceof Map) return null;
  return delegate(value as Operation<T>);
}

function* delegate<T>(operation: Operation<T>): Coroutine<T> {
  return yield* operation;
}

function badOpMessage(op: unknown, what: string): string {
  const base = `${what} must be a Future, a Task, an operation (a coroutine, sleep(), until()) or a generator function, got ${describe(op)}`;
  if (isThenable(op)) return `${base}; to wait for a promise, pass until(promise)`;
  if (Array.isArray(op)) return `${base}; did you mean to spread the array (...ops)?`;
  return base;
}

/**
 * @internal The loop a combinator works on: the loop of the first Future
 * among `items`, else the running loop. Every Future must belong to it.
 */
export function loopOf(items: readonly unknown[], what: string): EventLoop {
  let loop: EventLoop | null = null;
  for (const item of items) {
    if (item instanceof Future) {
      loop = asEventLoop(item.loop, what);
      break;
    }
  }
  loop ??= runningEventLoop(what);
  items.forEach((item, index) => {
    if (item instanceof Future && item.loop !== loop) {
      throw new RuntimeError(`${what}: ${item} (at index ${index}) belongs to a different event loop than the others`);
    }
  });
  return loop;
}

/** @internal The loop of the current task, else the running loop. */
export function runningEventLoop(what: string): EventLoop {
  const task = currentTask();
  return task !== null ? asEventLoop(task.loop, what) : getRunningLoop();
}

function asEventLoop(loop: unknown, what: string): EventLoop {
  if (!(loop instanceof EventLoop)) throw new RuntimeError(`${what}: needs an EventLoop (one that can create tasks), got ${describe(loop)}`);
  return loop;
}

/**
 * @internal A Future for `item`: the Future itself, or a new task on `loop`
 * running the coroutine, at the current task's priority.
 */
export function ensureFuture<T>(item: Future<T> | Coroutine<T>, loop: EventLoop): Future<T> {
  if (item instanceof Future) return item;
  const parent = currentTask();
  return loop.createTask(item, parent !== null ? { priority: parent.priority } : undefined);
}

/** @internal The lane for a combinator's internal callbacks: the current task's, else normal. */
export function currentLane(): number {
  return currentTask()?.lane ?? LANE_NORMAL;
}
