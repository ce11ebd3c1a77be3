/**
 * shield: wait for an op without passing cancellation on to it.
 *
 * `yield* shield(op)` is `yield* op`, except that cancelling the waiting
 * task does not cancel the op. The task waits on an *outer* Future that
 * mirrors the op (the *inner*): cancelling the task cancels only the outer,
 * so the task gets its CancelledError while the inner keeps running.
 *
 *  - the inner's result or exception is copied to the outer, unless the
 *    outer was cancelled (then the inner's exception is marked retrieved,
 *    so it is not reported as lost);
 *  - the inner being cancelled (by other means) cancels the outer;
 *  - once the outer is done, it stops listening to the inner;
 *  - an op that is already done is returned as it is (nothing to shield).
 *
 * A coroutine op becomes a task on the running loop (the loop keeps every
 * pending task, so the shielded work is not lost if nobody holds it).
 */
import { currentLane, ensureFuture, loopOf, toFutureOrCoroutine, type Op } from './ensure-future.js';
import { COMBINES, type CombinedFuture } from './combined.js';
import type { Future } from './future.js';

/**
 * A Future that follows `op` but whose cancellation does not reach it.
 * `op` is a Future, a Task, a coroutine or a generator function (run in a
 * new task at the caller's priority).
 *
 * @example
 * try {
 *   yield* shield(saveToDisk(record)); // keeps going if we are cancelled
 * } catch (e) {
 *   if (e instanceof CancelledError) log('cancelled; the save goes on');
 *   throw e;
 * }
 */
export function shield<T>(op: Op<T>): Future<T> {
  const item = toFutureOrCoroutine(op, 'shield: op');
  const loop = loopOf([item], 'shield');
  const inner = ensureFuture(item, loop);
  if (inner.done()) return inner;
  const outer = loop.createFuture<T>();
  outer.label = 'shield';
  // The call graph's edge from inner to whoever waits on the shield (combined.ts).
  (outer as Future<T> & CombinedFuture)[COMBINES] = () => [inner];
  const lane = currentLane();

  const onInnerDone = (): void => {
    if (outer.cancelled()) {
      if (!inner.cancelled()) inner.exception(); // mark retrieved
      return;
    }
    if (inner.cancelled()) {
      outer.cancel(inner.cancelMessage);
      return;
    }
    const exception = inner.exception();
    if (exception !== null) outer.setException(exception);
    else outer.setResult(inner.result());
  };
  const onOuterDone = (): void => {
    if (!inner.done()) inner.removeDoneCallback(onInnerDone);
  };

  inner.addDoneCallbackInLane(onInnerDone, lane);
  outer.addDoneCallbackInLane(onOuterDone, lane);
  return outer;
}
