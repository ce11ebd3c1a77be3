/**
 * wait and waitFor: waiting for futures under a condition or a deadline.
 *
 * `wait(futures, {returnWhen, timeoutMs})` (asyncio.wait) only watches: it
 * returns `[done, pending]` when the condition holds or the time is up, and
 * never cancels anything — the caller decides what to do with `pending`.
 * It takes Futures and Tasks only, never coroutines (asyncio 3.12): the
 * caller must be able to find what it passed in the sets it gets back.
 *
 * `waitFor(op, ms)` (asyncio.wait_for, 3.12) is `timeout(ms, op)` with one
 * difference: with `ms <= 0` the op is cancelled before it gets to run (a
 * coroutine never starts; a Future already done gives its result), and the
 * caller waits for it to finish cancelling before TimeoutError is thrown.
 * Otherwise the op runs in the current task under a timeout, so at the
 * deadline a Task op is cancelled and awaited before TimeoutError, and
 * cancelling the waiting task cancels the op too.
 */
import { describe } from '../core/assert.js';
import { CancelledError, TimeoutError } from '../core/errors.js';
import type { Handle } from '../core/handle.js';
import { isCoroutine, type Coroutine } from './operation.js';
import { currentLane, ensureFuture, loopOf, toFutureOrCoroutine, type Op } from './ensure-future.js';
import { Future } from './future.js';
import type { EventLoop } from './event-loop.js';
import { checkTimeoutMs, timeout } from './timeout.js';

/**
 * `wait` returns as soon as any future is done.
 *
 * @example
 * const [done, pending] = yield* wait(tasks, { returnWhen: FIRST_COMPLETED });
 */
export const FIRST_COMPLETED = 'FIRST_COMPLETED';
/**
 * `wait` returns as soon as any future fails (being cancelled does not
 * count), or when all are done.
 *
 * @example
 * const [done] = yield* wait(tasks, { returnWhen: FIRST_EXCEPTION });
 * for (const t of done) if (!t.cancelled() && t.exception() !== null) report(t.exception());
 */
export const FIRST_EXCEPTION = 'FIRST_EXCEPTION';
/**
 * `wait` returns when every future is done (the default).
 *
 * @example
 * const [done, pending] = yield* wait(tasks, { returnWhen: ALL_COMPLETED, timeoutMs: 1000 });
 */
export const ALL_COMPLETED = 'ALL_COMPLETED';

/** When `wait` returns. */
export type ReturnWhen = typeof FIRST_COMPLETED | typeof FIRST_EXCEPTION | typeof ALL_COMPLETED;

export interface WaitOptions {
  /** The condition to wait for; default ALL_COMPLETED. */
  returnWhen?: ReturnWhen;
  /** Return after this many ms even if the condition does not hold; null or Infinity (default): no limit. */
  timeoutMs?: number | null;
}

/**
 * Waits until `returnWhen` holds for `futures` (or `timeoutMs` passes) and
 * evaluates to `[done, pending]`, two Sets of the futures given. Nothing is
 * cancelled, not even on timeout. Duplicates count once.
 *
 * Throws at the call: TypeError for coroutines (create tasks and pass
 * those) or anything else that is not a Future, RangeError for an empty
 * collection, TypeError for an unknown `returnWhen`.
 *
 * @example
 * const [done, pending] = yield* wait([t1, t2, t3], { returnWhen: FIRST_COMPLETED, timeoutMs: 500 });
 * for (const t of pending) t.cancel();
 */
export function wait<F extends Future<unknown>>(
  futures: Iterable<F>,
  options: WaitOptions = {},
): Coroutine<[done: Set<F>, pending: Set<F>]> {
  const set = checkFutures(futures);
  if (options === null || typeof options !== 'object') throw new TypeError(`wait: options must be an object, got ${describe(options)}`);
  const returnWhen = options.returnWhen ?? ALL_COMPLETED;
  if (returnWhen !== FIRST_COMPLETED && returnWhen !== FIRST_EXCEPTION && returnWhen !== ALL_COMPLETED) {
    throw new TypeError(`wait: options.returnWhen must be FIRST_COMPLETED, FIRST_EXCEPTION or ALL_COMPLETED, got ${describe(returnWhen)}`);
  }
  const timeoutMs = options.timeoutMs === undefined ? null : checkTimeoutMs(options.timeoutMs, 'wait: options.timeoutMs');
  const loop = loopOf([...set], 'wait');
  return waitUntil(set, returnWhen, timeoutMs, loop);
}

function checkFutures<F extends Future<unknown>>(futures: Iterable<F>): Set<F> {
  if (futures instanceof Future || isCoroutine(futures)) {
    throw new TypeError(`wait: futures must be a collection of futures (e.g. an array), not ${describe(futures)}`);
  }
  if (futures === null || futures === undefined || typeof (futures as Partial<Iterable<F>>)[Symbol.iterator] !== 'function') {
    throw new TypeError(`wait: futures must be an iterable of futures, got ${describe(futures)}`);
  }
  const list = [...futures];
  if (list.length === 0) throw new RangeError('wait: futures is empty; give it at least one Future or Task');
  list.forEach((future, index) => {
    if (!(future instanceof Future)) {
      const hint =
        isCoroutine(future) || typeof future === 'function'
          ? '; wait() does not take coroutines: create tasks (loop.createTask) and pass those, so you can find them in the done/pending sets'
          : '';
      throw new TypeError(`wait: futures[${index}] must be a Future or Task, got ${describe(future)}${hint}`);
    }
  });
  return new Set(list);
}

function* waitUntil<F extends Future<unknown>>(
  futures: Set<F>,
  returnWhen: ReturnWhen,
  timeoutMs: number | null,
  loop: EventLoop,
): Coroutine<[done: Set<F>, pending: Set<F>]> {
  const lane = currentLane();
  const waiter = loop.createFuture<void>();
  const release = (): void => {
    if (!waiter.done()) waiter.setResult();
  };
  const timer: Handle | null = timeoutMs === null ? null : loop.scheduleTimer(loop.time() + timeoutMs, release, undefined, lane, timeoutMs);
  let remaining = futures.size;
  const onCompletion = (future: Future<unknown>): void => {
    remaining--;
    if (
      remaining <= 0 ||
      returnWhen === FIRST_COMPLETED ||
      (returnWhen === FIRST_EXCEPTION && !future.cancelled() && future.exception() !== null)
    ) {
      timer?.cancel();
      release();
    }
  };
  for (const future of futures) future.addDoneCallbackInLane(onCompletion, lane);
  try {
    yield* waiter;
  } finally {
    timer?.cancel();
    for (const future of futures) future.removeDoneCallback(onCompletion);
  }
  const done = new Set<F>();
  const pending = new Set<F>();
  for (const future of futures) (future.done() ? done : pending).add(future);
  return [done, pending];
}

/**
 * Runs `op` and evaluates to its result; if that takes longer than `ms`,
 * cancels it, waits until it has finished cancelling, and throws
 * TimeoutError (asyncio.wait_for: note the order, op first). A coroutine
 * runs inline in the current task; a Task is cancelled at the deadline; if
 * the waiting task is cancelled, the op is cancelled too. `ms` null or
 * Infinity: no deadline. `ms <= 0`: the op is cancelled at once (a
 * coroutine never starts) unless it is a Future that is already done.
 *
 * If the op swallows the cancellation and returns a value, that value is
 * returned; if it throws something else while cancelling, that is thrown.
 *
 * @example
 * try {
 *   const reply = yield* waitFor(request(), 2000);
 * } catch (e) {
 *   if (!(e instanceof TimeoutError)) throw e;
 * }
 */
export function waitFor<T>(op: Op<T>, ms: number | null): Coroutine<T> {
  const timeoutMs = checkTimeoutMs(ms, 'waitFor: ms');
  const item = toFutureOrCoroutine(op, 'waitFor: op');
  if (timeoutMs !== null && timeoutMs <= 0) return cancelAtOnce(item);
  return timeout(timeoutMs, item);
}

/** waitFor with a deadline already passed. */
function* cancelAtOnce<T>(item: Future<T> | Coroutine<T>): Coroutine<T> {
  const loop = loopOf([item], 'waitFor');
  const future = ensureFuture(item, loop);
  if (future.done()) return future.result();
  yield* cancelAndWait(future, loop);
  try {
    return future.result();
  } catch (error) {
    if (!(error instanceof CancelledError)) throw error;
    const timeoutError = new TimeoutError('operation timed out (waitFor with ms <= 0)');
    timeoutError.cause = error;
    throw timeoutError;
  }
}

/**
 * Cancels `future` and waits until it is done — on a separate waiter, so
 * that cancelling the caller does not cancel `future` a second time.
 */
function* cancelAndWait(future: Future<unknown>, loop: EventLoop): Coroutine<void> {
  const waiter = loop.createFuture<void>();
  const release = (): void => {
    if (!waiter.done()) waiter.setResult();
  };
  future.addDoneCallbackInLane(release, currentLane());
  try {
    future.cancel();
    yield* waiter;
  } finally {
    future.removeDoneCallback(release);
  }
}
