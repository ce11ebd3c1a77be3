/**
 * TaskGroup: structured concurrency, as asyncio.TaskGroup (3.11+).
 *
 * `yield* taskGroup(function* (tg) { … })` runs the body in the CURRENT task
 * (the parent); tasks started with `tg.createTask` are its children. The
 * group ends only when the body and every child have finished:
 *
 *  - a child that fails (throws anything but CancelledError) aborts the
 *    group: every other child is cancelled, and so is the parent, so the
 *    body stops at its current wait. Once all are done, the group throws an
 *    AggregateError of every non-cancellation error, the body's included;
 *  - a body that throws aborts the group the same way;
 *  - a child that is cancelled on its own is not an error;
 *  - cancelling the parent from outside cancels the children, waits for
 *    them, and then lets the CancelledError propagate. If there were errors
 *    too, the AggregateError wins and the parent is re-cancelled, so the
 *    outside cancellation lands at its next wait instead of being lost
 *    (asyncio 3.13, gh-116720; 3.12 could drop it);
 *  - children may start siblings while the group is waiting for them to
 *    finish; once the group is aborting or finished, createTask throws.
 *
 * Cancel counting: when the group cancels its parent it records that, and
 * on the way out withdraws exactly that request with `uncancel()`. If
 * nothing else cancelled the parent, no CancelledError escapes the group.
 * An enclosing `timeout` reads the same counter, so timeouts and nested
 * groups compose as in asyncio.
 *
 * The group's done-callbacks run in the parent's lane (priority).
 */
import { describe } from '../core/assert.js';
import { CancelledError, RuntimeError } from '../core/errors.js';
import { currentTask } from './current.js';
import { EventLoop, type CoroutineLike } from './event-loop.js';
import { Future } from './future.js';
import { isCoroutine, type Coroutine } from './operation.js';
import type { Task, TaskOptions } from './task.js';

/** A task group's body: a generator function given the group. */
export type TaskGroupBody<T> = (tg: TaskGroup) => Coroutine<T>;

/**
 * A group of child tasks that live no longer than the code that runs the
 * group. Run it once, with `run(body)` (or use `taskGroup(body)`).
 *
 * @example
 * const tg = new TaskGroup();
 * yield* tg.run(function* () {
 *   tg.createTask(worker('a'));
 *   tg.createTask(worker('b'));
 * });
 * // both workers are done here
 */
export class TaskGroup {
  #entered = false;
  #exiting = false;
  #finished = false;
  #aborting = false;
  #loop: EventLoop | null = null;
  #parent: Task<unknown> | null = null;
  /** Set when the group cancelled its parent; that request is withdrawn on exit. */
  #parentCancelRequested = false;
  /** Children not yet done. */
  readonly #tasks = new Set<Task<unknown>>();
  readonly #errors: unknown[] = [];
  /** Resolved when #tasks empties while the group waits on exit. */
  #onCompleted: Future<void> | null = null;
  readonly #onTaskDone = (task: Future<unknown>): void => this.#childDone(task as Task<unknown>);

  /**
   * Starts `coro` as a child task of this group. The child inherits the
   * parent's priority unless `options.priority` says otherwise. Throws
   * RuntimeError before the group runs, while it is aborting, and after it
   * has finished.
   *
   * @example
   * const t = tg.createTask(function* () { yield* sleep(10); return 1; }, { name: 'one' });
   */
  createTask<T>(coro: CoroutineLike<T>, options?: TaskOptions): Task<T> {
    const refusal = !this.#entered
      ? 'has not been entered (create tasks inside its body)'
      : this.#exiting && this.#tasks.size === 0
        ? 'is finished'
        : this.#aborting
          ? 'is shutting down'
          : null;
    if (refusal !== null) {
      if (isCoroutine(coro)) coro.return(undefined as T); // never started: release it
      throw new RuntimeError(`TaskGroup.createTask: ${this} ${refusal}`);
    }
    const parent = this.#parent as Task<unknown>;
    const task = (this.#loop as EventLoop).createTask(coro, { priority: parent.priority, ...options });
    this.#tasks.add(task);
    task.addDoneCallbackInLane(this.#onTaskDone, parent.lane);
    return task;
  }

  /** How many children are not done yet. */
  get size(): number {
    return this.#tasks.size;
  }

  /**
   * Runs `body(this)` in the current task, then waits for every child;
   * evaluates to the body's return value. Throws AggregateError if the body
   * or any child failed, CancelledError if the current task was cancelled
   * from outside. A group runs once: running it again throws RuntimeError.
   *
   * @example
   * const total = yield* new TaskGroup().run(function* (tg) {
   *   const a = tg.createTask(count('a'));
   *   const b = tg.createTask(count('b'));
   *   return (yield* a) + (yield* b);
   * });
   */
  run<T>(body: TaskGroupBody<T>): Coroutine<T> {
    if (typeof body !== 'function') throw new TypeError(`TaskGroup.run: body must be a generator function, got ${describe(body)}`);
    return this.#run(body);
  }

  toString(): string {
    const info: string[] = [];
    if (this.#tasks.size > 0) info.push(`tasks=${this.#tasks.size}`);
    if (this.#errors.length > 0) info.push(`errors=${this.#errors.length}`);
    if (this.#finished) info.push('finished');
    else if (this.#aborting) info.push('cancelling');
    else if (this.#exiting) info.push('exiting');
    else if (this.#entered) info.push('entered');
    return `<TaskGroup${info.map((s) => ' ' + s).join('')}>`;
  }

  *#run<T>(body: TaskGroupBody<T>): Coroutine<T> {
    this.#enter();
    let result: T | undefined;
    let failed = false;
    let bodyError: unknown;
    try {
      const coro: unknown = body(this);
      if (!isCoroutine(coro)) {
        throw new TypeError(`TaskGroup body ${describe(body)} returned ${describe(coro)}, not a generator; write it as function* (tg) { … }`);
      }
      result = yield* coro as Coroutine<T>;
    } catch (error) {
      failed = true;
      bodyError = error;
    }
    try {
      yield* this.#exit(failed, bodyError);
    } finally {
      this.#finished = true;
    }
    return result as T;
  }

  #enter(): void {
    if (this.#entered) throw new RuntimeError(`TaskGroup: ${this} has already been entered; a group runs once`);
    const parent = currentTask();
    if (parent === null) throw new RuntimeError('TaskGroup: must run inside a task (yield* it from a task body)');
    if (!(parent.loop instanceof EventLoop)) throw new RuntimeError(`TaskGroup: the current task's loop cannot create tasks`);
    this.#parent = parent;
    this.#loop = parent.loop;
    this.#entered = true;
  }

  /** The body is over (`failed`: it threw `bodyError`): wait for the children, then decide the outcome. */
  *#exit(failed: boolean, bodyError: unknown): Coroutine<void> {
    this.#exiting = true;
    const parent = this.#parent as Task<unknown>;
    let propagate: CancelledError | null = failed && bodyError instanceof CancelledError ? bodyError : null;
    if (failed && !this.#aborting) this.#abort();

    // The wait may be interrupted more than once if the parent is cancelled
    // repeatedly (or once while our own abort is under way): loop.
    let pendingCancel: CancelledError | null = null;
    while (this.#tasks.size > 0) {
      if (this.#onCompleted === null) {
        this.#onCompleted = (this.#loop as EventLoop).createFuture<void>();
        this.#onCompleted.label = 'TaskGroup: waiting for its tasks';
      }
      try {
        yield* this.#onCompleted;
      } catch (error) {
        if (!(error instanceof CancelledError)) throw error;
        pendingCancel = error;
        if (!this.#aborting) {
          // The parent is cancelled from outside while the children run.
          propagate = error;
          this.#abort();
        }
      }
      this.#onCompleted = null;
    }

    if (this.#parentCancelRequested) {
      // Withdraw the cancellation we made; only someone else's may escape.
      if (parent.uncancel() === 0) propagate = null;
      else propagate ??= pendingCancel;
    }
    // A CancelledError propagates unless there are real errors: those win.
    if (propagate !== null && this.#errors.length === 0) throw propagate;
    if (failed && !(bodyError instanceof CancelledError)) this.#errors.push(bodyError);
    if (this.#errors.length > 0) {
      // Cancelled from outside too: keep that cancellation pending for the
      // parent's next wait, since the AggregateError replaces its CancelledError.
      if (parent.cancelling() > 0) {
        parent.uncancel();
        parent.cancel(undefined, { source: 'taskgroup' });
      }
      throw new AggregateError(this.#errors.splice(0), 'unhandled errors in a TaskGroup');
    }
  }

  #abort(): void {
    this.#aborting = true;
    for (const task of this.#tasks) {
      if (!task.done()) task.cancel(undefined, { source: 'taskgroup' });
    }
  }

  #childDone(task: Task<unknown>): void {
    this.#tasks.delete(task);
    if (this.#onCompleted !== null && this.#tasks.size === 0 && !this.#onCompleted.done()) this.#onCompleted.setResult();
    if (task.cancelled()) return;
    const exception = task.exception();
    if (exception === null) return;
    this.#errors.push(exception);

    const parent = this.#parent as Task<unknown>;
    if (parent.done()) {
      // Should not happen (the parent waits for its children); report rather than lose it.
      parent.loop.callExceptionHandler({
        message: `TaskGroup child ${task} failed, but its parent ${parent} is already done`,
        exception,
        task,
      });
      return;
    }
    if (!this.#aborting && !this.#parentCancelRequested) {
      // Stop the body wherever it waits; the cancellation is withdrawn on exit.
      this.#abort();
      this.#parentCancelRequested = true;
      parent.cancel(undefined, { source: 'taskgroup' });
    }
  }
}

/**
 * Runs `body` with a new TaskGroup: `yield* taskGroup(function* (tg) { … })`.
 * See TaskGroup for the rules.
 *
 * @example
 * yield* taskGroup(function* (tg) {
 *   for (const url of urls) tg.createTask(download(url));
 * });
 * // every download finished; if any failed, an AggregateError was thrown
 * // and the others were cancelled
 */
export function taskGroup<T>(body: TaskGroupBody<T>): Coroutine<T> {
  return new TaskGroup().run(body);
}
