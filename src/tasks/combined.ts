/**
 * Awaited-by edges through combinators. A task in `yield* gather(a, b)` is
 * suspended on the gathering future, not on `a` and `b`; `shield(t)` hands
 * back a new future that `t` settles. The future a combinator returns
 * therefore says which futures it stands for, under `COMBINES`, and the call
 * graph (inspect/call-graph.ts) draws an edge from each of them to the task
 * waiting on the combinator — as Python 3.14's capture_call_graph does for
 * gather's children.
 *
 * Nothing is recorded per await: the combinator keeps its children anyway,
 * and the graph asks only when it is built.
 */
import type { Future } from './future.js';

/** The method a combinator's future has: the futures it stands for, distinct, in op order. */
export const COMBINES: unique symbol = Symbol('eventide.combines');

/** A future made by a combinator (gather, shield). */
export interface CombinedFuture {
  [COMBINES](): readonly Future<unknown>[];
}

/** The futures `future` stands for, if a combinator made it; else an empty list. */
export function combinedFutures(future: Future<unknown>): readonly Future<unknown>[] {
  const combines = (future as Partial<CombinedFuture>)[COMBINES];
  return typeof combines === 'function' ? combines.call(future) : [];
}
