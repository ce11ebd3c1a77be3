/**
 * EventLoop: the core loop plus what asyncio's BaseEventLoop adds on top of
 * callbacks — futures, tasks, and running until a future is done.
 *
 * It lives in tasks/ because it creates Futures and Tasks; core/ stays free
 * of them (arrows only point down).
 */
import { describe } from '../core/assert.js';
import { BaseEventLoop, type EventLoopOptions } from '../core/base-event-loop.js';
import { RuntimeError } from '../core/errors.js';
import { requireRunningLoop } from '../core/running.js';
import { Future, SETTLE_HOOK } from './future.js';
import { stopWhenDone } from './stop-when-done.js';
import { isCoroutine, type Coroutine, type CoroutineFunction } from './operation.js';
import { Task, type TaskOptions } from './task.js';

export type { EventLoopOptions };

/** A coroutine (generator object) or a generator function called with no arguments. */
export type CoroutineLike<T> = Coroutine<T> | CoroutineFunction<T>;

export class EventLoop extends BaseEventLoop {
  /** Tasks not yet done (strongly held: a pending task is part of the program). */
  readonly #tasks = new Set<Task<unknown>>();
  /**
   * Debug mode holds pending tasks weakly instead, as asyncio always does:
   * a task that nothing can ever wake (it waits on a future nobody else
   * references) is then collected and reported as "destroyed but pending".
   * Outside debug mode a pending task is part of the program and is kept
   * alive — no "keep a reference to your tasks" footgun.
   */
  readonly #weakTasks = new Set<WeakRef<Task<unknown>>>();
  readonly #forgetTask = (task: Future<unknown>): void => void this.#tasks.delete(task as Task<unknown>);

  /**
   * @example
   * const loop = new EventLoop();                      // real time
   * const test = new EventLoop({ clock: 'virtual' });  // virtual time
   */
  constructor(options: EventLoopOptions = {}) {
    super(options);
  }

  /**
   * A new pending Future attached to this loop.
   *
   * @example
   * const f = loop.createFuture<string>();
   * loop.callLater(5, () => f.setResult('ready'));
   */
  createFuture<T = unknown>(): Future<T> {
    return new Future<T>(this);
  }

  /**
   * Wraps a coroutine in a Task and schedules its first step. `coro` is a
   * generator object or a generator function (called with no arguments).
   *
   * @example
   * const task = loop.createTask(function* () {
   *   yield* sleep(10);
   *   return 'done';
   * }, { name: 'worker', priority: 'high' });
   */
  createTask<T>(coro: CoroutineLike<T>, options?: TaskOptions): Task<T> {
    if (this.isClosed()) throw new RuntimeError('createTask: the event loop is closed');
    return new Task<T>(this, toCoroutine(coro, 'createTask'), options); // registers itself (registerTask)
  }

  /**
   * @internal Called by every Task's constructor, so that `allTasks()` sees
   * a task made with `new Task(loop, coro)` too (as asyncio's Task registers
   * itself), until it is done.
   */
  registerTask(task: Task<unknown>): void {
    if (this.getDebug()) {
      const ref = new WeakRef<Task<unknown>>(task);
      this.#weakTasks.add(ref);
      task.addDoneCallbackInLane(() => this.#weakTasks.delete(ref), SETTLE_HOOK);
    } else {
      this.#tasks.add(task);
      task.addDoneCallbackInLane(this.#forgetTask, SETTLE_HOOK);
    }
  }

  /** Tasks of this loop that are not done yet, in creation order. */
  allTasks(): Task<unknown>[] {
    const tasks = Array.from(this.#tasks);
    for (const ref of this.#weakTasks) {
      const task = ref.deref();
      if (task === undefined) this.#weakTasks.delete(ref);
      else tasks.push(task);
    }
    return tasks;
  }

  /**
   * Runs the loop until `future` is done and returns its result (throws its
   * exception). A coroutine is wrapped in a task first. As in asyncio, the
   * loop stops in the tick after the future settles, with its done-callbacks
   * and the wake-ups of the tasks waiting on it: those run before this
   * returns (in a low or idle lane, unless higher-priority work made ready
   * in that tick holds their lane back; see tasks/stop-when-done.ts).
   *
   * @example
   * const value = await loop.runUntilComplete(function* () { return 42; });
   */
  async runUntilComplete<T>(future: Future<T> | CoroutineLike<T>): Promise<T> {
    if (this.isClosed()) throw new RuntimeError('runUntilComplete: the event loop is closed');
    if (this.isRunning()) throw new RuntimeError('runUntilComplete: this event loop is already running');
    const isNewTask = !(future instanceof Future);
    const target: Future<T> = future instanceof Future ? future : this.createTask(future);
    if (target.loop !== this) throw new RuntimeError(`runUntilComplete: ${target} belongs to a different event loop`);
    // A task made here that the loop stops before it completes is reported
    // by the RuntimeError below; debug mode must not report it again when
    // it is collected (asyncio: _log_destroy_pending = False).
    if (isNewTask) (target as Task<T>).skipDestroyedPendingReport();
    const withdrawStop = stopWhenDone(target);
    try {
      await this.runForever();
    } catch (error) {
      // Mark a task we created as retrieved so it is not reported twice.
      if (isNewTask && target.done() && !target.cancelled()) target.exception();
      throw error;
    } finally {
      withdrawStop();
    }
    if (!target.done()) throw new RuntimeError('runUntilComplete: the event loop stopped before the future completed');
    const result = target.result();
    // A Promise cannot hold a thenable: it adopts it, that is waits for it.
    // A pending Future would then wait for a loop that has just stopped,
    // forever (asyncio's run_until_complete can return the Future itself).
    if (result instanceof Future && !result.done()) {
      throw new TypeError(
        `runUntilComplete: the result is ${result}, still pending, and the Promise this returns would wait for it forever on the stopped loop; ` +
          'wait for it first (`return yield* future`) or return it wrapped (`return [future]`)',
      );
    }
    return result;
  }
}

/** The running loop (inside a task or callback); throws RuntimeError if none. */
export function getRunningLoop(): EventLoop {
  return requireRunningLoop() as EventLoop;
}

/**
 * The tasks of `loop` (default: the running loop) that are not done yet,
 * in creation order: asyncio.all_tasks, as an array. Throws RuntimeError
 * when no loop is given and none is running, or when the loop is a bare
 * BaseEventLoop (tasks can run there, but it keeps no list of them).
 *
 * @example
 * for (const task of allTasks()) if (task !== currentTask()) task.cancel();
 */
export function allTasks(loop?: EventLoop): Task<unknown>[] {
  const target: unknown = loop ?? requireRunningLoop();
  if (!(target instanceof EventLoop)) throw new RuntimeError(`allTasks: needs an EventLoop (one that keeps track of its tasks), got ${describe(target)}`);
  return target.allTasks();
}

/** @internal Calls a generator function if given one; checks it is a coroutine. */
export function toCoroutine<T>(coro: CoroutineLike<T>, what: string): Coroutine<T> {
  const generator = typeof coro === 'function' ? (coro as CoroutineFunction<T>)() : coro;
  if (!isCoroutine(generator)) {
    // A Future (a Task) is thenable too, but no async function made it.
    const hint =
      (generator as unknown) instanceof Future
        ? ' (a Future or Task is already scheduled, not a coroutine to start: wait for it inside a generator function, `return yield* future`)'
        : generator !== null && typeof generator === 'object' && typeof (generator as { then?: unknown }).then === 'function'
          ? ' (an async function returns a Promise: make it a generator function, or wait for the promise with `yield* until(promise)`)'
          : '';
    throw new TypeError(`${what}: expected a generator object or generator function, got ${describe(typeof coro === 'function' ? generator : coro)}${hint}`);
  }
  return generator;
}
