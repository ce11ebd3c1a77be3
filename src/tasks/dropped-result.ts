/**
 * A result nobody will ever get: the task that waited for it was
 * cancelled after it came and before the task could take it.
 *
 * `yield* future` takes the future's result in the waiting task's next
 * step. If that task is cancelled in between (the future done, its step
 * queued), the step throws CancelledError instead, as in asyncio, and the
 * result is dropped. For most results that is nothing; for a connection
 * it is an open socket nobody holds. asyncio's `open_connection` is a
 * coroutine, run inline: a cancel there lands inside it, which closes the
 * transport. eventide's connection calls return Tasks, so the result can
 * be dropped between them; whoever makes such a Task registers here what
 * to do with a dropped result (close it), and the waiting Task calls
 * `dropResult` when it takes the cancel instead of the result.
 *
 * The hook lives on the future (Future.setDropHook), which counts every
 * interest shown in its result (done-callbacks, reads): the hook runs only
 * if the cancelled task's wait was the only one. A connection Task that
 * two tasks await, or that gather or an `await` also waits for, or whose
 * result someone already took, is held by someone else: not dropped.
 */
import type { Future } from './future.js';

/**
 * Registers `hook`, called with `future`'s result if a task waiting for it
 * is cancelled between its success and the task's next step, and nobody
 * else waited for it or took its result. Returns `future`. Call it as
 * the future is made, before anything can wait for it.
 *
 * @example
 * return onResultDropped(task, ([transport]) => transport.close());
 */
export function onResultDropped<F extends Future<unknown>>(future: F, hook: (value: F extends Future<infer T> ? T : never) => void): F {
  future.setDropHook(hook as (value: never) => void);
  return future;
}

/**
 * @internal A task woken by `future` takes a cancel instead of its result:
 * if `future` succeeded, has a hook, and nobody else showed interest in its
 * result, the hook gets the result (once; a hook that throws goes to the
 * loop's exception handler).
 */
export function dropResult(future: Future<unknown>): void {
  const dropped = future.takeDropHook();
  if (dropped === null) return;
  const [hook, result] = dropped;
  try {
    hook(result);
  } catch (exception) {
    future.loop.callExceptionHandler({ message: 'closing a result dropped by a cancelled task failed', exception, future });
  }
}
