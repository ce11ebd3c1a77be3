/**
 * How a "run until this future is done" stops its loop: asyncio's
 * `_run_until_complete_cb`.
 *
 * When the future settles, its done-callbacks and the wake-ups of the
 * tasks waiting on it are queued, each in its lane, and run in a later
 * tick. The loop must not stop before they have run: a task waiting on
 * `run`'s main would otherwise be cancelled by the shutdown instead of
 * seeing main's result. So the settling queues a stop (normal lane) with
 * them, and the stop takes effect at the end of the tick that runs it:
 * as in asyncio, the run ends one tick after the future settles, and every
 * lane's callbacks of that tick have run. One limit, from the lanes: a
 * lower lane (low, idle) is held back while higher lanes have work that
 * became ready during that tick, and then its callbacks run only in the
 * next run. (A stop in the idle lane would wait for them, but it would
 * also wait, up to the idle lane's starvation bound, behind any busy
 * higher-lane work: every run would end later than asyncio's.)
 *
 * Withdrawing takes a stop that is queued but has not run out of the ready
 * queue: a run that ended for another reason (a `stop()` from elsewhere in
 * the same tick) must leave nothing behind, neither a stop to end the
 * loop's next run early nor a callback holding the future.
 */
import type { Handle } from '../core/handle.js';
import { SETTLE_HOOK, type Future } from './future.js';

/**
 * Stops `target`'s loop in the tick after `target` is done, with the
 * callbacks its completion made ready; returns the function that withdraws
 * this (call it when the run ends, however it ends).
 *
 * @example
 * const withdraw = stopWhenDone(task);
 * try { await loop.runForever(); } finally { withdraw(); }
 */
export function stopWhenDone(target: Future<unknown>): () => void {
  const loop = target.loop;
  let queued: Handle | null = null;
  let withdrawn = false;
  const stop = (): void => loop.stop();
  const queueStop = (): void => {
    if (withdrawn || loop.isClosed()) return;
    queued = loop.callSoon(stop);
    // The loop's own callback: not in the context of the task whose step
    // settled the future (a runner that fails there must not keep the run going).
    queued.context = null;
  };
  target.addDoneCallbackInLane(queueStop, SETTLE_HOOK);
  return () => {
    withdrawn = true;
    target.removeDoneCallback(queueStop);
    if (queued !== null) loop.withdrawReady(queued);
    queued = null;
  };
}
