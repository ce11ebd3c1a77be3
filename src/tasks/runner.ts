/**
 * Runner: several `run`s on one loop — asyncio.Runner (3.11).
 *
 * `run(main)` makes a loop, runs `main`, cancels what is left and closes
 * the loop. A Runner keeps its loop between runs: each `runner.run(main)`
 * runs `main` as a task until it is done, and what it started may go on
 * running in the next run (a server set up in one, served in the next).
 * `close()` does what `run` does at its end: cancel every task left, wait
 * for them, close the loop.
 *
 * The loop is made on first use (`run` or `getLoop`), as asyncio's is,
 * and so is the runner's context: what the loop's `captureTaskContext`
 * captures there (AsyncLocalStorage's stores on a Node loop). Every run's
 * main task runs in that one context, as asyncio's Runner runs each main
 * in its `_context`: what one main sets (`enterWith`), the next one sees.
 */
import { describe } from '../core/assert.js';
import { RuntimeError } from '../core/errors.js';
import type { TaskContext } from '../core/loop-options.js';
import { EventLoop, toCoroutine, type CoroutineLike } from './event-loop.js';
import { cancelAllTasks, type RunOptions } from './run.js';
import type { Task } from './task.js';

/** What `runner.run(main, options)` takes. */
export interface RunnerRunOptions {
  /** The main task's name; default 'main'. */
  name?: string;
  /**
   * The context the main task runs in (asyncio's `Runner.run(coro,
   * context=)`), e.g. `AsyncLocalStorage.snapshot()`; null: none, the
   * loop's. Default: the runner's, shared by every run.
   */
  context?: TaskContext | null;
}

/**
 * @example
 * const runner = new Runner({ clock: 'virtual' });
 * try {
 *   const server = await runner.run(setUp);
 *   await runner.run(function* () { yield* serve(server); });
 * } finally {
 *   await runner.close();
 * }
 */
export class Runner<L extends EventLoop = EventLoop> {
  readonly #makeLoop: () => L;
  #loop: L | null = null;
  /** Captured with the loop (asyncio's `_context`): every main runs in it unless told otherwise. */
  #context: TaskContext | null = null;
  #closed = false;
  #running = false;

  /**
   * `options` are the loop's (as `run`'s). Nothing is made until the first
   * `run` or `getLoop`.
   */
  constructor(options: RunOptions = {}, makeLoop?: (options: RunOptions) => L) {
    if (options === null || typeof options !== 'object') throw new TypeError(`Runner: options must be an object, got ${describe(options)}`);
    const make = makeLoop ?? ((given: RunOptions) => new EventLoop(given) as L);
    this.#makeLoop = () => make(options);
  }

  /**
   * The runner's loop, made now if this is its first use (the runner's
   * context is captured then, here). RuntimeError once closed.
   */
  getLoop(): L {
    if (this.#closed) throw new RuntimeError('Runner.getLoop: the runner is closed');
    if (this.#loop === null) {
      const loop = this.#makeLoop();
      try {
        this.#context = loop.captureTaskContext === null ? null : loop.captureTaskContext();
      } catch (error) {
        loop.close();
        throw error;
      }
      this.#loop = loop;
    }
    return this.#loop;
  }

  /**
   * Runs `main` (a generator object or function) as a task on the
   * runner's loop until it is done; resolves to its result or rejects with
   * its exception. Tasks it started and left running stay, and go on in
   * the next run. RuntimeError when closed, while another run of this
   * runner is in progress, or while its loop is running otherwise
   * (`getLoop().runForever()`).
   */
  async run<T>(main: CoroutineLike<T>, options: RunnerRunOptions = {}): Promise<T> {
    return this.runWatched(main, options, undefined);
  }

  /**
   * @internal `run`, handing the main task to `onStart` before its first
   * step (the Node runner cancels it on Ctrl-C).
   */
  protected async runWatched<T>(main: CoroutineLike<T>, options: RunnerRunOptions, onStart: ((task: Task<T>) => void) | undefined): Promise<T> {
    if (this.#closed) throw new RuntimeError('Runner.run: the runner is closed');
    if (this.#running) throw new RuntimeError('Runner.run: this runner is already running a main task');
    const coroutine = toCoroutine(main, 'Runner.run');
    const loop = this.getLoop();
    // Before main is a task: one made here would run on that other run of the loop while this call fails.
    if (loop.isRunning()) throw new RuntimeError("Runner.run: the runner's loop is already running");
    this.#running = true;
    try {
      const context = options.context !== undefined ? options.context : this.#context;
      const task = loop.createTask(coroutine, { name: options.name ?? 'main', context });
      onStart?.(task);
      return await loop.runUntilComplete(task);
    } finally {
      this.#running = false;
    }
  }

  /**
   * Cancels every task still pending, waits for them to finish, and closes
   * the loop (exceptions other than cancellation go to the loop's
   * exception handler). Again, or before any run: nothing to do.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#running) throw new RuntimeError('Runner.close: a main task is still running');
    this.#closed = true;
    const loop = this.#loop;
    if (loop === null) return;
    try {
      await cancelAllTasks(loop);
    } finally {
      loop.close();
    }
  }

  toString(): string {
    const state = this.#closed ? 'closed' : this.#loop === null ? 'initial' : this.#running ? 'running' : 'ready';
    return `<Runner ${state}>`;
  }
}
