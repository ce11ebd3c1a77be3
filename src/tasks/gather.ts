/**
 * gather: run ops concurrently and collect their results, in op order.
 *
 * asyncio's semantics, kept exactly:
 *  - the first failure (an exception, or a child's cancellation, which counts
 *    as a CancelledError) settles the gather future at once; the other
 *    children keep running, and their later failures are marked retrieved so
 *    nothing is reported twice;
 *  - with `returnExceptions`, failures are results (a cancelled child gives
 *    a CancelledError in its slot) and the future settles when all are done;
 *  - cancelling the gather future does not cancel it directly: it cancels
 *    every child that is not done, and the future then ends with
 *    CancelledError once they finish — even with `returnExceptions`, so a
 *    cancelled caller stays cancelled (asyncio bpo-32684). If every child is
 *    already done, `cancel()` returns false and the results stand;
 *  - the gather future ends in the *exception* state with a CancelledError
 *    (`cancelled()` is false), as asyncio's does; a task waiting on it gets
 *    the CancelledError and is cancelled.
 *
 * The children report through done-callbacks in the lane of the task that
 * called gather, so a high-priority caller hears back at high priority.
 */
import { checkOptionalBoolean, describe } from '../core/assert.js';
import { CancelledError } from '../core/errors.js';
import { currentLane, ensureFuture, loopOf, toFutureOrCoroutine, type AnyOp, type OpResult } from './ensure-future.js';
import { COMBINES, type CombinedFuture } from './combined.js';
import { Future } from './future.js';
import type { Coroutine } from './operation.js';
import type { EventLoop } from './event-loop.js';

export interface GatherOptions {
  /** Collect exceptions (and CancelledErrors) as results instead of failing at the first. Default false. */
  returnExceptions?: boolean;
}

/** The results of `gather(...ops)`: a tuple when given a tuple of ops. */
export type GatherResults<Ops extends readonly unknown[]> = { -readonly [K in keyof Ops]: OpResult<Ops[K]> };

/**
 * The results of `gather(ops, {returnExceptions: true})`: each slot holds
 * the op's result or what it threw. Typed `Error`; a thrown non-Error value
 * appears as it was thrown.
 */
export type SettledResults<Ops extends readonly unknown[]> = { -readonly [K in keyof Ops]: OpResult<Ops[K]> | Error };

/**
 * The Future `gather` returns. `cancel()` cancels the children instead of
 * the future itself (see the module comment).
 */
class GatheringFuture<T extends unknown[]> extends Future<T> implements CombinedFuture {
  /** One per op, in op order; the same Future repeats for duplicate ops. */
  readonly #children: readonly Future<unknown>[];
  readonly #returnExceptions: boolean;
  /** How many distinct children there are, and how many have finished. */
  readonly #distinct: number;
  #finished = 0;
  /** Set when cancel() reached at least one child: the outcome is then CancelledError. */
  #cancelRequested = false;
  #cancelRequestMessage: string | undefined = undefined;

  constructor(loop: EventLoop, children: readonly Future<unknown>[], distinct: ReadonlySet<Future<unknown>>, returnExceptions: boolean) {
    super(loop);
    this.#children = children;
    this.#returnExceptions = returnExceptions;
    this.#distinct = distinct.size;
    this.label = `gather(${children.length})`;
    const onChildDone = (child: Future<unknown>): void => this.#onChildDone(child);
    const lane = currentLane();
    for (const child of distinct) child.addDoneCallbackInLane(onChildDone, lane);
  }

  /** The children, for the call graph's awaited-by edges (combined.ts). */
  [COMBINES](): readonly Future<unknown>[] {
    return [...new Set(this.#children)];
  }

  /**
   * Cancels every child that is not done; returns whether any was. The
   * future itself settles (with CancelledError) once the children finish.
   */
  override cancel(message?: string): boolean {
    if (this.done()) return false;
    let cancelledAny = false;
    for (const child of new Set(this.#children)) {
      if (child.cancel(message)) cancelledAny = true;
    }
    if (cancelledAny) {
      this.#cancelRequested = true;
      this.#cancelRequestMessage = message;
    }
    return cancelledAny;
  }

  #onChildDone(child: Future<unknown>): void {
    this.#finished++;
    if (this.done()) {
      // Already failed fast: read the child's exception so it is not reported as lost.
      if (!child.cancelled()) child.exception();
      return;
    }
    if (!this.#returnExceptions) {
      if (child.cancelled()) return this.setException(new CancelledError(child.cancelMessage));
      const exception = child.exception();
      if (exception !== null) return this.setException(exception);
    }
    if (this.#finished < this.#distinct) return;
    if (this.#cancelRequested) return this.setException(new CancelledError(this.#cancelRequestMessage));
    this.setResult(this.#children.map(outcomeOf) as T);
  }
}

/** A done child's slot in the results: its result, its exception, or a CancelledError. */
function outcomeOf(child: Future<unknown>): unknown {
  if (child.cancelled()) return new CancelledError(child.cancelMessage);
  const exception = child.exception();
  return exception !== null ? exception : child.result();
}

/**
 * Runs `ops` concurrently and returns a Future of their results, in op
 * order. Coroutines and generator functions are wrapped in tasks (at the
 * caller's priority); Futures and Tasks are waited for as they are.
 *
 * The first failure settles the result at once (the other ops keep
 * running); with `{returnExceptions: true}` failures are collected as
 * results instead. Cancelling the returned Future (or the task waiting on
 * it) cancels every op not yet done. `gather()` with no ops gives `[]`.
 *
 * Two call shapes: `gather(...ops)` and `gather(ops, options)`.
 *
 * @example
 * const [user, posts] = yield* gather(fetchUser(id), fetchPosts(id)); // typed tuple
 * const settled = yield* gather([a, b, c], { returnExceptions: true });
 * for (const r of settled) if (r instanceof Error) console.warn(r);
 */
// The list shapes come first: an array of futures is itself iterable, so it
// would also pass for one op (an Operation) in the rest shape.
export function gather<const Ops extends readonly AnyOp[]>(ops: Ops, options: GatherOptions & { returnExceptions: true }): Future<SettledResults<Ops>>;
export function gather<const Ops extends readonly AnyOp[]>(ops: Ops, options?: GatherOptions & { returnExceptions?: false }): Future<GatherResults<Ops>>;
export function gather(ops: readonly AnyOp[], options: GatherOptions): Future<unknown[]>;
export function gather<const Ops extends readonly AnyOp[]>(...ops: Ops): Future<GatherResults<Ops>>;
export function gather(...args: unknown[]): Future<unknown[]> {
  const [ops, returnExceptions] = parseArguments(args);

  // Check everything before starting anything.
  const items = ops.map((op, index) => toFutureOrCoroutine(op as Coroutine<unknown>, `gather: op ${index}`));
  const loop = loopOf(items, 'gather');
  if (items.length === 0) {
    const empty = loop.createFuture<unknown[]>();
    empty.setResult([]);
    return empty;
  }

  const futureOf = new Map<unknown, Future<unknown>>();
  const children = items.map((item) => {
    let future = futureOf.get(item);
    if (future === undefined) {
      future = ensureFuture(item, loop);
      futureOf.set(item, future);
    }
    return future;
  });
  return new GatheringFuture(loop, children, new Set(futureOf.values()), returnExceptions);
}

/** Tells the two call shapes apart: `(...ops)` or `(ops[], options?)`. */
function parseArguments(args: unknown[]): [readonly unknown[], boolean] {
  if (!Array.isArray(args[0])) {
    const last = args[args.length - 1];
    if (typeof last === 'object' && last !== null && Object.getPrototypeOf(last) === Object.prototype && 'returnExceptions' in last) {
      throw new TypeError(
        `gather: options go with the array shape, gather([a, b], { returnExceptions: true }); given ops one by one, the last one (op ${args.length - 1}) was ${describe(last)}`,
      );
    }
    return [args, false];
  }
  if (args.length > 2) {
    throw new TypeError(`gather: given an array of ops, the only other argument may be the options; got ${args.length} arguments`);
  }
  const options = args[1];
  if (options === undefined) return [args[0], false];
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`gather: options must be an object like {returnExceptions: true}, got ${describe(options)}`);
  }
  const returnExceptions = (options as GatherOptions).returnExceptions;
  checkOptionalBoolean(returnExceptions, 'gather: options.returnExceptions');
  return [args[0], returnExceptions === true];
}
