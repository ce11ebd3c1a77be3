/**
 * How a "run until this future is done" stops its loop: asyncio's
 * `_run_until_complete_cb`.
 *
 * The stop is an ordinary done-callback (normal lane), not a hook run
 * inside the settling: so it is queued together with the future's other
 * done-callbacks — the wake-up of a task that waits on it among them — and
 * they all run in the same tick before the loop stops, as in asyncio. A
 * hook would stop the loop in the tick that settles the future, and a task
 * waiting on `run`'s main would be cancelled by the shutdown instead of
 * seeing its result.
 *
 * Withdrawing it also disarms a stop already queued: a run that ended for
 * another reason (a `stop()` from elsewhere in the same tick) must not
 * leave a queued stop behind to end the loop's next run after one tick.
 */
import type { Future } from './future.js';

/**
 * Stops `target`'s loop once `target` is done; returns the function that
 * withdraws this (call it when the run ends, however it ends).
 *
 * @example
 * const withdraw = stopWhenDone(task);
 * try { await loop.runForever(); } finally { withdraw(); }
 */
export function stopWhenDone(target: Future<unknown>): () => void {
  let armed = true;
  const stop = (): void => {
    if (armed) target.loop.stop();
  };
  target.addDoneCallback(stop);
  return () => {
    armed = false;
    target.removeDoneCallback(stop);
  };
}
