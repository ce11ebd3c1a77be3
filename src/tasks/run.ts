/**
 * `run(main)`: asyncio.run for eventide.
 */
import type { EventLoopOptions } from '../core/base-event-loop.js';
import { EventLoop, type CoroutineLike } from './event-loop.js';
import type { Task } from './task.js';

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
 * factory): runs `main`, cancels leftovers, closes the loop.
 */
export async function runOnLoop<T>(loop: EventLoop, main: CoroutineLike<T>): Promise<T> {
  try {
    const task = loop.createTask(main, { name: 'main' });
    return await loop.runUntilComplete(task);
  } finally {
    try {
      await cancelAllTasks(loop);
    } finally {
      loop.close();
    }
  }
}

/** Cancels the loop's pending tasks and runs the loop until they are done. */
async function cancelAllTasks(loop: EventLoop): Promise<void> {
  const pending = loop.allTasks();
  if (pending.length === 0) return;
  for (const task of pending) task.cancel(undefined, { source: 'shutdown' });
  const allDone = loop.createFuture<void>();
  let remaining = pending.length;
  const onDone = (): void => {
    if (--remaining === 0 && !allDone.done()) allDone.setResult();
  };
  for (const task of pending) task.addDoneCallbackInLane(onDone, -1);
  await loop.runUntilComplete(allDone);
  for (const task of pending) reportLeftover(loop, task);
}

function reportLeftover(loop: EventLoop, task: Task<unknown>): void {
  if (task.cancelled()) return;
  const exception = task.exception();
  if (exception !== null) {
    loop.callExceptionHandler({ message: 'unhandled exception during run() shutdown', exception, task });
  }
}
