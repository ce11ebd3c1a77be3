/**
 * `run(main)`: asyncio.run for eventide.
 */
import type { EventLoopOptions } from '../core/base-event-loop.js';
import { EventLoop, type CoroutineLike } from './event-loop.js';
import type { Task } from './task.js';
import { SETTLE_HOOK, type Future } from './future.js';

export interface RunOptions extends EventLoopOptions {}

/**
 * Runs `main` on a new loop until it completes, then cancels every task
 * still pending (and waits for them to finish cancelling), closes the loop
 * and returns `main`'s result — or throws its exception.
 *
 * While it runs, native promises, `async` functions and the runtime's own
 * timers and I/O keep working.
 *
 * @example
 * const answer = await run(function* () {
 *   yield* sleep(10);
 *   return 42;
 * });
 * await run(main, { clock: 'virtual' }); // sleeps take no real time
 */
export async function run<T>(main: CoroutineLike<T>, options: RunOptions = {}): Promise<T> {
  return runOnLoop(new EventLoop(options), main);
}

/**
 * @internal `run` on a loop built by the caller (a platform's loop
 * factory): runs `main`, cancels leftovers, closes the loop. `onStart`
 * receives the main task before its first step (`eventide run` cancels it
 * on Ctrl-C).
 */
export async function runOnLoop<T>(loop: EventLoop, main: CoroutineLike<T>, onStart?: (task: Task<T>) => void): Promise<T> {
  try {
    // Main runs in the loop's own context (no context of its own): what it
    // sets there (AsyncLocalStorage.enterWith on a Node loop) is seen by the
    // callbacks it schedules, as asyncio's callbacks see the context of the
    // code that scheduled them; the tasks it makes each copy it.
    const task = loop.createTask(main, { name: 'main', context: null });
    onStart?.(task);
    return await loop.runUntilComplete(task);
  } finally {
    try {
      await cancelAllTasks(loop);
    } finally {
      loop.close();
    }
  }
}

/**
 * @internal Cancels the loop's pending tasks, runs the loop (with `drive`,
 * default `loop.runUntilComplete`) until they are done, and reports any
 * that ended with an exception other than CancelledError.
 */
export async function cancelAllTasks(
  loop: EventLoop,
  drive: (future: Future<void>) => Promise<unknown> = (future) => loop.runUntilComplete(future),
): Promise<void> {
  const pending = loop.allTasks();
  if (pending.length === 0) return;
  for (const task of pending) task.cancel(undefined, { source: 'shutdown' });
  const allDone = loop.createFuture<void>();
  let remaining = pending.length;
  const onDone = (): void => {
    if (--remaining === 0 && !allDone.done()) allDone.setResult();
  };
  for (const task of pending) task.addDoneCallbackInLane(onDone, SETTLE_HOOK);
  await drive(allDone);
  for (const task of pending) reportLeftover(loop, task);
}

function reportLeftover(loop: EventLoop, task: Task<unknown>): void {
  if (task.cancelled()) return;
  const exception = task.exception();
  if (exception !== null) {
    loop.callExceptionHandler({ message: 'unhandled exception during run() shutdown', exception, task });
  }
}
