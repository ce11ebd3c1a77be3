/**
 * eventide/testing: virtual time and clean-up checks for programs and tests
 * built on eventide (asyncio's TestLoop, Trio's MockClock, React's
 * SchedulerMock — shipped as a feature, not a test-only hack).
 */
import { VirtualClock } from './core/clock.js';
import type { EventLoopOptions } from './core/base-event-loop.js';
import { EventLoop, type CoroutineLike } from './tasks/event-loop.js';
import type { Coroutine } from './tasks/operation.js';

export { VirtualClock };

/** What is still scheduled on a loop; all zero when it is clean. */
export interface Leftovers {
  tasks: string[];
  ready: number;
  timers: number;
  readers: number;
  writers: number;
}

/** Lists what is still pending on `loop` (tasks, callbacks, timers, fds). */
export function leftovers(loop: EventLoop): Leftovers {
  const stats = loop.statistics();
  return {
    tasks: loop.allTasks().map(String),
    ready: stats.ready,
    timers: stats.timers,
    readers: stats.readers,
    writers: stats.writers,
  };
}

/**
 * Throws if anything is still scheduled on `loop`, then closes it — the end
 * of every well-behaved test (libuv's `MAKE_VALGRIND_HAPPY`).
 *
 * @example
 * await loop.runUntilComplete(main);
 * assertLoopClean(loop);
 */
export function assertLoopClean(loop: EventLoop): void {
  const left = leftovers(loop);
  const dirty = left.tasks.length > 0 || left.ready > 0 || left.timers > 0 || left.readers > 0 || left.writers > 0;
  loop.close();
  if (dirty) throw new Error(`loop left work behind: ${JSON.stringify(left)}`);
}

/**
 * Runs `main(loop)` as a task on a fresh virtual-time loop, checks that it
 * left nothing scheduled, closes the loop and returns the result. Sleeps
 * and timeouts take no real time; `loop.time()` shows the virtual ms.
 *
 * @example
 * const elapsed = await runInVirtualTime(function* (loop) {
 *   yield* sleep(5000);
 *   return loop.time(); // 5000, instantly
 * });
 */
export async function runInVirtualTime<T>(
  main: (loop: EventLoop) => Coroutine<T>,
  options: Omit<EventLoopOptions, 'clock'> = {},
): Promise<T> {
  const loop = new EventLoop({ ...options, clock: 'virtual' });
  let result: T;
  try {
    const body: CoroutineLike<T> = () => main(loop);
    result = await loop.runUntilComplete(loop.createTask(body, { name: 'main' }));
  } catch (error) {
    if (!loop.isClosed() && !loop.isRunning()) loop.close();
    throw error;
  }
  assertLoopClean(loop);
  return result;
}
