/**
 * Task: a Future that drives a generator to completion.
 *
 * The loop knows nothing about coroutines; it only runs callbacks. A Task
 * turns a generator into callbacks:
 *  1. creating it schedules its first step (`#step`) on the ready queue —
 *     never runs it inline;
 *  2. a step resumes the generator (`next` with the value it waited for, or
 *     `throw` with an error) until it yields an instruction or returns;
 *  3. for a Future it registers its wake-up as the future's done-callback,
 *     at the task's priority; for a Sleep it schedules its own timer;
 *     for a Promise it first converts it to a Future;
 *  4. when that fires, the wake-up callback runs the next step directly —
 *     one hop through the ready queue per resumption.
 *
 * Because every resumption passes through the ready queue, the loop decides
 * the order (priorities), can throw CancelledError in at the exact
 * suspension point, and sees every step.
 *
 * Cancellation (asyncio's rules): `cancel()` on a task waiting on a future
 * cancels that future (so awaiting a task and being cancelled cancels the
 * awaited task); otherwise it sets `#mustCancel`, and the next step throws
 * CancelledError into the generator. A generator that catches it and returns
 * normally is not cancelled.
 */
import { describe } from '../core/assert.js';
import type { BaseEventLoop } from '../core/base-event-loop.js';
import { CancelledError, InvalidStateError, RuntimeError } from '../core/errors.js';
import { TimerHandle, type Handle } from '../core/handle.js';
import { laneOf, PRIORITIES, type Priority } from '../core/priority.js';
import { swapCurrentTask } from './current.js';
import { Future } from './future.js';
import { isThenable, Sleep, type Coroutine } from './operation.js';

export interface TaskOptions {
  /** A label for logs and introspection; default `Task-N`. */
  name?: string;
  /** The lane the task's steps run in; default `'normal'`. */
  priority?: Priority;
}

/** Reports tasks collected while still pending (debug mode). */
const pendingTaskRegistry = new FinalizationRegistry<{ loop: BaseEventLoop; label: string }>(({ loop, label }) => {
  loop.callExceptionHandler({ message: 'Task was destroyed but it is pending!', task: label });
});

let taskCounter = 0;

export class Task<T = unknown> extends Future<T> {
  /** A label for logs and introspection. */
  name: string;
  readonly #coro: Coroutine<T>;
  /** Lane index of the task's steps (see priority.ts). */
  #lane: number;
  /**
   * What the task is suspended on: the Future whose done-callback will wake
   * it, or the Handle of its own scheduled resumption (a sleep, the first
   * step, a thrown-in error). Null only while a step runs or once done.
   */
  #waiter: Future<unknown> | Handle | null = null;
  /** The Handle of this task's own steps, reused (see #scheduleStep). */
  readonly #stepHandle: Handle;
  /** Value sent into the generator at the next step. */
  #sendValue: unknown = undefined;
  /** Error thrown into the generator at the next step (if #throwPending). */
  #throwValue: unknown = undefined;
  #throwPending = false;
  /** A cancel() arrived when no waiter could carry it: the next step throws. */
  #mustCancel = false;
  #cancelMessage: string | undefined = undefined;
  #cancelRequests = 0;
  #abortController: AbortController | null = null;
  #registryToken: object | null = null;
  /** This task's wake-up, registered on the futures it waits for. */
  readonly #wakeup = (future: Future<unknown>): void => this.#onWaiterDone(future);

  /**
   * Prefer `loop.createTask(coro)`; the task starts on the loop's next tick.
   *
   * @example
   * const task = loop.createTask(function* () { yield* sleep(10); return 1; }, { name: 'one' });
   */
  constructor(loop: BaseEventLoop, coro: Coroutine<T>, options: TaskOptions = {}) {
    super(loop);
    this.#coro = coro;
    this.#lane = laneOf(options.priority);
    this.name = options.name !== undefined ? String(options.name) : `Task-${++taskCounter}`;
    this.#stepHandle = loop.scheduleCallback(Task.#runStep, this, this.#lane);
    this.#waiter = this.#stepHandle;
    if (loop.getDebug()) {
      this.#registryToken = {};
      pendingTaskRegistry.register(this, { loop, label: String(this) }, this.#registryToken);
    }
  }

  /** The task's priority. Setting it applies from the task's next wake-up. */
  get priority(): Priority {
    return PRIORITIES[this.#lane] as Priority;
  }

  set priority(priority: Priority) {
    const lane = laneOf(priority);
    if (lane === this.#lane) return;
    this.#lane = lane;
    // A future we wait on holds our wake-up at the old lane: re-register.
    // A sleep's timer still in the heap picks its lane only when it fires.
    // A step already in the ready queue keeps its place.
    const waiter = this.#waiter;
    if (waiter instanceof Future) {
      if (!waiter.done() && waiter.removeDoneCallback(this.#wakeup) > 0) waiter.addDoneCallbackInLane(this.#wakeup, lane);
    } else if (waiter instanceof TimerHandle && waiter.scheduled) {
      waiter.lane = lane;
    }
  }

  /** The lane index of the task's steps. @internal */
  get lane(): number {
    return this.#lane;
  }

  /** The generator this task drives. */
  getCoro(): Coroutine<T> {
    return this.#coro;
  }

  /** What the task is suspended on (a Future or a scheduled Handle), or null. */
  get waitingOn(): Future<unknown> | Handle | null {
    return this.#waiter;
  }

  /**
   * An AbortSignal aborted (with a CancelledError) as soon as the task is
   * asked to cancel: hand it to `fetch` and other AbortSignal-aware APIs.
   *
   * @example
   * const res = yield* until(fetch(url, { signal: currentTask()!.signal }));
   */
  get signal(): AbortSignal {
    if (this.#abortController === null) {
      this.#abortController = new AbortController();
      if (this.#cancelRequests > 0) this.#abortController.abort(new CancelledError(this.#cancelMessage));
    }
    return this.#abortController.signal;
  }

  /**
   * Asks the task to cancel: CancelledError is thrown in at its current
   * `yield*`, and the future it waits on is cancelled. Returns false if the
   * task is already done. The task may catch the error; then it is not
   * cancelled (see `uncancel`).
   *
   * @example
   * task.cancel('shutting down');
   */
  override cancel(message?: string): boolean {
    if (this.done()) return false;
    this.#cancelRequests++;
    // Also read by `signal` when it is first created after this call.
    this.#cancelMessage = message;
    this.#abortController?.abort(new CancelledError(message));
    const waiter = this.#waiter;
    if (waiter instanceof Future) {
      if (waiter.cancel(message)) return true;
    } else if (waiter instanceof TimerHandle) {
      // Suspended in a sleep: drop the timer and step now with the error.
      // The sleep carries the error, as a cancelled future would: a later
      // uncancel() must not turn it into an early, silent wake-up.
      waiter.cancel();
      this.#throwInSoon(new CancelledError(message));
      return true;
    }
    this.#mustCancel = true;
    this.#cancelMessage = message;
    return true;
  }

  /** How many cancellation requests are pending (asyncio 3.11). */
  cancelling(): number {
    return this.#cancelRequests;
  }

  /**
   * Withdraws one cancellation request; returns how many remain. Used by
   * structured-concurrency helpers (timeout, TaskGroup) that absorb a
   * CancelledError they caused.
   */
  uncancel(): number {
    if (this.#cancelRequests > 0) {
      this.#cancelRequests--;
      if (this.#cancelRequests === 0) this.#mustCancel = false;
    }
    return this.#cancelRequests;
  }

  /** Tasks settle only by running their generator. */
  override setResult(_value: T): never {
    throw new InvalidStateError(`setResult: ${this} is a Task; its result comes from its generator`);
  }

  override setException(_exception: unknown): never {
    throw new InvalidStateError(`setException: ${this} is a Task; its exception comes from its generator`);
  }

  override toString(): string {
    const state = this.done() ? (this.cancelled() ? 'cancelled' : 'finished') : 'pending';
    return `<Task #${this.id} ${JSON.stringify(this.name)} ${state}>`;
  }

  // ------------------------------------------------------------ stepping

  /** The ready-queue callback for a step: static, so no closure per step. */
  static #runStep(task: Task<unknown>): void {
    task.#step();
  }

  /** Runs the generator to its next yield (or its end). */
  #step(): void {
    if (this.done()) throw new InvalidStateError(`step: ${this} is already done`);
    let throwing = this.#throwPending;
    let error = this.#throwValue;
    if (this.#mustCancel) {
      this.#mustCancel = false;
      throwing = true;
      error = new CancelledError(this.#cancelMessage);
    }
    const sent = this.#sendValue;
    this.#throwPending = false;
    this.#throwValue = undefined;
    this.#sendValue = undefined;
    this.#waiter = null;

    const previous = swapCurrentTask(this);
    let result: IteratorResult<unknown, T>;
    try {
      result = throwing ? this.#coro.throw(error) : this.#coro.next(sent);
    } catch (exception) {
      swapCurrentTask(previous);
      this.#finish();
      if (exception instanceof CancelledError) super.cancel(exception.message);
      else super.setException(exception);
      return;
    }
    swapCurrentTask(previous);

    if (result.done === true) {
      this.#finish();
      // Cancelled during its last step, but it returned: asyncio cancels it.
      if (this.#mustCancel) super.cancel(this.#cancelMessage);
      else super.setResult(result.value);
      return;
    }
    this.#suspendOn(result.value);
  }

  /** Step 3: wait for what the generator yielded. */
  #suspendOn(yielded: unknown): void {
    if (yielded instanceof Future) {
      if (yielded.loop !== this.loop) {
        return this.#throwInSoon(new RuntimeError(`${this} yielded ${yielded}, which belongs to a different event loop`));
      }
      if (yielded === this) return this.#throwInSoon(new RuntimeError(`${this} cannot wait for itself`));
      this.#waiter = yielded;
      yielded.addDoneCallbackInLane(this.#wakeup, this.#lane);
      if (this.#mustCancel && yielded.cancel(this.#cancelMessage)) this.#mustCancel = false;
    } else if (yielded instanceof Sleep) {
      // A Sleep finishes when it is sent back to itself (see Sleep.next).
      this.#sendValue = yielded;
      const delayMs = yielded.delayMs;
      // A cancel requested during this step must not wait out the sleep.
      this.#waiter =
        delayMs > 0 && !this.#mustCancel
          ? this.loop.scheduleTimer(this.loop.time() + delayMs, Task.#runStep, this, this.#lane)
          : this.#scheduleStep();
    } else if (isThenable(yielded)) {
      this.#suspendOn(promiseToFuture(this.loop, yielded));
    } else {
      this.#throwInSoon(new TypeError(badYieldMessage(this, yielded)));
    }
  }

  /** The wake-up: the future we waited on is done; step with its outcome. */
  #onWaiterDone(future: Future<unknown>): void {
    if (this.done()) return;
    if (this.#waiter !== future) throw new InvalidStateError(`${this} woken by ${future}, but waits on ${this.#waiter}`);
    if (future.cancelled()) {
      this.#throwPending = true;
      this.#throwValue = new CancelledError(future.cancelMessage);
    } else {
      const exception = future.exception();
      if (exception !== null) {
        this.#throwPending = true;
        this.#throwValue = exception;
      } else {
        this.#sendValue = future.result();
      }
    }
    this.#step();
  }

  #throwInSoon(error: unknown): void {
    this.#throwPending = true;
    this.#throwValue = error;
    this.#waiter = this.#scheduleStep();
  }

  /**
   * Queues this task's next step. The task reuses one Handle for all its
   * own steps: a task has at most one step queued at any time (invariant),
   * so the handle is never in the ready queue twice.
   */
  #scheduleStep(): Handle {
    const handle = this.#stepHandle;
    handle.lane = this.#lane;
    this.loop.requeue(handle);
    return handle;
  }

  #finish(): void {
    if (this.#registryToken !== null) {
      pendingTaskRegistry.unregister(this.#registryToken);
      this.#registryToken = null;
    }
  }
}

/**
 * Wraps a thenable in a Future of `loop`. The loop is told an outside event
 * is pending, so a virtual clock does not jump past it.
 */
export function promiseToFuture<T>(loop: BaseEventLoop, thenable: PromiseLike<T>): Future<T> {
  const future = new Future<T>(loop);
  loop.beginExternalWait();
  let settled = false;
  const settle = (ok: boolean, value: unknown): void => {
    if (settled) return;
    settled = true;
    loop.endExternalWait();
    if (future.done() || loop.isClosed()) return;
    if (ok) future.setResult(value as T);
    else future.setException(value);
  };
  try {
    thenable.then(
      (value) => settle(true, value),
      (reason) => settle(false, reason),
    );
  } catch (error) {
    settle(false, error);
  }
  // Cancelled first (its task was cancelled): stop holding back the
  // virtual clock for a promise whose outcome nobody will read.
  future.addDoneCallbackInLane(() => settle(false, undefined), -1);
  return future;
}

function badYieldMessage(task: Task<unknown>, yielded: unknown): string {
  const base = `${task} yielded ${describe(yielded)}; a task may yield only a Future, a Promise or sleep(); `;
  if (yielded === undefined) return base + 'a bare `yield` does nothing in eventide — did you mean `yield* sleep(0)`?';
  if (typeof yielded === 'object' && yielded !== null && typeof (yielded as Iterator<unknown>).next === 'function') {
    return base + 'this is an iterator or generator — did you mean `yield*` instead of `yield`?';
  }
  if (typeof yielded === 'function') return base + 'did you mean to call it, or `yield*` the generator it returns?';
  return base + 'are you using a library written for another framework?';
}
