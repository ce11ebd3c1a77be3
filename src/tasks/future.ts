/**
 * Future: a value that will exist later, and the list of who wants to know.
 *
 * States (asyncio's): PENDING → FINISHED (a result or an exception) or
 * PENDING → CANCELLED. A settled future never changes again; settling it a
 * second time throws InvalidStateError.
 *
 * Callbacks never run inside `setResult`: settling puts each done-callback on
 * the loop's ready queue (at the lane it was added with), so the code that
 * settles a future is never re-entered by the code that waits for it.
 *
 * A Future is both:
 *  - iterable, for `const v = yield* future` inside a task (typed `T`): its
 *    iterator yields the future itself to the task, which suspends until it
 *    is done, then evaluates to `result()` (asyncio's `Future.__await__`);
 *  - thenable, for `await future` in ordinary async code.
 */
import { checkCallback } from '../core/assert.js';
import { formatCreationTrace, traceCreation } from '../core/creation-trace.js';
import type { BaseEventLoop } from '../core/base-event-loop.js';
import { CancelledError, InvalidStateError } from '../core/errors.js';
import type { TaskContext } from '../core/loop-options.js';
import { laneOfOptions, LANE_NORMAL, type ScheduleOptions } from '../core/priority.js';
import { requireRunningLoop } from '../core/running.js';

const PENDING = 0;
const CANCELLED = 1;
const FINISHED = 2;
type State = typeof PENDING | typeof CANCELLED | typeof FINISHED;
const STATE_NAMES = ['pending', 'cancelled', 'finished'] as const;

/** A done-callback receives the future that finished. */
export type DoneCallback<T> = (future: Future<T>) => unknown;

/**
 * A done-callback added inside a context (the step of a task that has
 * one, or a callback that has one): it will run in that context, as
 * asyncio's `add_done_callback` keeps the current contextvars context. An
 * object, not a function, so that dispatch tells it apart with one
 * `typeof`, and the callback slots need no third field.
 */
class InContext {
  constructor(
    readonly callback: DoneCallback<any>,
    readonly context: TaskContext,
  ) {}
}
type Registered = DoneCallback<any> | InContext;

/**
 * A lane of -1 marks a settle hook: called synchronously when the future
 * settles, for hooks that defer their own effects (resolving a native
 * promise, which queues a microtask). Never exposed to users.
 * @internal
 */
export const SETTLE_HOOK = -1;

/** Reports futures whose exception nobody looked at (debug mode). */
const unretrievedRegistry = new FinalizationRegistry<{ loop: BaseEventLoop; exception: unknown; label: string; kind: string }>(
  ({ loop, exception, label, kind }) => {
    loop.callExceptionHandler({ message: `${kind} exception was never retrieved`, exception, future: label });
  },
);

/**
 * Formats `exception`'s stack now, if it has one. Until its `stack` is first
 * read, V8 keeps an Error's call sites as objects, each holding its frame's
 * receiver and function: an Error created inside a task's step holds the
 * Task itself. Kept in the registry's held value, that would keep the very
 * future the registry waits to see collected alive (and never reported).
 */
function releaseCallSites(exception: unknown): void {
  if (typeof exception !== 'object' || exception === null) return;
  try {
    void (exception as { stack?: unknown }).stack;
  } catch {
    // A throwing `stack` getter is the exception's own business.
  }
}

let futureIds = 0;

export class Future<T = unknown> implements PromiseLike<T> {
  /** The loop this future belongs to; callbacks run there. */
  readonly loop: BaseEventLoop;
  #state: State = PENDING;
  #result: T | undefined = undefined;
  #exception: unknown = undefined;
  #hasException = false;
  #cancelMessage: string | undefined = undefined;
  /**
   * Done-callbacks as flat pairs [callback, lane, callback, lane, …]. Most
   * futures have exactly one waiter, so the first pair lives in fields.
   */
  // Stored as DoneCallback<any> so that Future<T> stays covariant in T.
  #cb0: Registered | null = null;
  #lane0 = LANE_NORMAL;
  #more: (Registered | number)[] | null = null;
  /** Debug mode: registered with unretrievedRegistry until retrieved. */
  #unretrievedToken: object | null = null;
  /**
   * A hook for a result nobody will take (dropped-result.ts), and how often
   * anyone showed interest in the result since it was set: a done-callback
   * added (a task's wait is one) or the result read. Null on every future
   * but the few with a hook, so the hot paths pay one null check.
   */
  #drop: { hook: (value: never) => void; interest: number } | null = null;
  /** @internal Debug mode: the trace of where the future was created. */
  creationTrace: Error | undefined = undefined;
  /**
   * What this future stands for, shown by task introspection as "waiting
   * on <label>" (inspect/). Whoever creates a future that tasks wait on may
   * set it: a Lock's waiter `'Lock.acquire'`, a Queue's `'Queue.get'`, a
   * stream read `'StreamReader.read on fd 7'`. Set it once per wait, where
   * the future is made (a string built only when something must wait).
   * Undefined: shown as `future #<id>`.
   */
  label: string | undefined = undefined;
  /** A small unique number, for labels. */
  readonly id = ++futureIds;

  /**
   * Prefer `loop.createFuture()`. Without `loop`, the running loop (as
   * asyncio's `Future()`); RuntimeError if there is none.
   *
   * @example
   * const f = new Future<number>(loop);
   * loop.callLater(10, () => f.setResult(42));
   * const g = new Future<string>(); // inside a task or callback: the running loop
   */
  constructor(loop?: BaseEventLoop) {
    this.loop = loop ?? (requireRunningLoop() as BaseEventLoop);
    if (this.loop.getDebug()) this.creationTrace = traceCreation();
  }

  /** Where the future (or task) was created, without eventide's own frames (debug mode only). */
  get sourceStack(): string | undefined {
    return formatCreationTrace(this.creationTrace);
  }

  /** The loop this future belongs to. */
  getLoop(): BaseEventLoop {
    return this.loop;
  }

  /** Whether the future has a result, an exception, or was cancelled. */
  done(): boolean {
    return this.#state !== PENDING;
  }

  /** Whether the future was cancelled. */
  cancelled(): boolean {
    return this.#state === CANCELLED;
  }

  /**
   * The result. Throws the future's exception if it has one, CancelledError
   * if it was cancelled, InvalidStateError if it is not done yet.
   */
  result(): T {
    if (this.#state === FINISHED) {
      if (this.#hasException) {
        this.#markRetrieved();
        throw this.#exception;
      }
      if (this.#drop !== null) this.#drop.interest++; // someone holds the result: not dropped
      return this.#result as T;
    }
    throw this.#notFinishedError('result');
  }

  /**
   * @internal The result of a future that succeeded, for the wake-up of
   * the task that waits for it (Task.#onWaiterDone): that task's wait
   * already counts as its interest (see #drop), the read is not another.
   */
  resultForWaiter(): T {
    return this.#result as T;
  }

  /**
   * The exception, or `null` if the future succeeded. Throws CancelledError
   * if cancelled, InvalidStateError if not done.
   */
  exception(): unknown {
    if (this.#state === FINISHED) {
      this.#markRetrieved();
      return this.#hasException ? this.#exception : null;
    }
    throw this.#notFinishedError('exception');
  }

  /**
   * Marks the future done with `value` and schedules its callbacks.
   * Throws InvalidStateError if it is already done.
   */
  setResult(value: T): void {
    if (this.#state !== PENDING) throw new InvalidStateError(`setResult: ${this} is already ${STATE_NAMES[this.#state]}`);
    this.#result = value;
    this.#state = FINISHED;
    this.#scheduleCallbacks();
  }

  /**
   * Marks the future done with `exception` and schedules its callbacks.
   * Throws InvalidStateError if it is already done.
   */
  setException(exception: unknown): void {
    if (this.#state !== PENDING) throw new InvalidStateError(`setException: ${this} is already ${STATE_NAMES[this.#state]}`);
    this.#exception = exception;
    this.#hasException = true;
    this.#state = FINISHED;
    if (this.loop.getDebug()) {
      this.#unretrievedToken = {};
      releaseCallSites(exception);
      // The class name, as asyncio's message has it: "Task exception was never retrieved".
      const held = { loop: this.loop, exception, label: String(this), kind: this.constructor.name };
      unretrievedRegistry.register(this, held, this.#unretrievedToken);
    }
    this.#scheduleCallbacks();
  }

  /**
   * Cancels the future: it becomes done and its callbacks are scheduled.
   * Returns false if it was already done.
   */
  cancel(message?: string): boolean {
    if (this.#state !== PENDING) return false;
    this.#state = CANCELLED;
    this.#cancelMessage = message;
    this.#scheduleCallbacks();
    return true;
  }

  /**
   * Calls `callback(future)` once the future is done, as a loop callback at
   * `options.priority` (default `'normal'`). If it is already done, the
   * callback is scheduled at once.
   *
   * @example
   * future.addDoneCallback((f) => console.log('done:', f.result()));
   */
  addDoneCallback(callback: DoneCallback<T>, options?: ScheduleOptions): void {
    checkCallback(callback, 'addDoneCallback: callback');
    const lane = laneOfOptions(options, 'addDoneCallback');
    const context = this.loop.runningContext;
    this.#register(context === null ? callback : new InContext(callback, context), lane);
  }

  /** @internal addDoneCallback for a known-good callback and lane index; it runs in the loop's context. */
  addDoneCallbackInLane(callback: DoneCallback<T>, lane: number): void {
    this.#register(callback, lane);
  }

  /**
   * @internal A settle hook that only watches the future settle (an
   * instrument's wake-up probe, Task.#armWakeReport): not an interest in
   * its result, so it does not keep a dropped result from being dropped.
   */
  addSettleWatcher(callback: DoneCallback<T>): void {
    this.#register(callback, SETTLE_HOOK);
    if (this.#drop !== null) this.#drop.interest--;
  }

  #register(callback: Registered, lane: number): void {
    if (this.#drop !== null) this.#drop.interest++; // a waiter, combinator or callback will see the result
    if (this.#state !== PENDING) {
      this.#dispatch(callback, lane);
    } else if (this.#cb0 === null && this.#more === null) {
      this.#cb0 = callback;
      this.#lane0 = lane;
    } else {
      (this.#more ??= []).push(callback, lane);
    }
  }

  /**
   * Removes every registration of `callback`; returns how many there were.
   */
  removeDoneCallback(callback: DoneCallback<T>): number {
    let removed = 0;
    if (this.#cb0 !== null && isRegistration(this.#cb0, callback)) {
      this.#cb0 = null;
      removed++;
    }
    const more = this.#more;
    if (more !== null) {
      let kept = 0;
      for (let i = 0; i < more.length; i += 2) {
        if (isRegistration(more[i] as Registered, callback)) {
          removed++;
        } else {
          more[kept++] = more[i] as Registered;
          more[kept++] = more[i + 1] as number;
        }
      }
      more.length = kept;
    }
    return removed;
  }

  /** @internal onResultDropped (dropped-result.ts): registers `hook`; interest counts from here. */
  setDropHook(hook: (value: never) => void): void {
    this.#drop = { hook, interest: 0 };
  }

  /**
   * @internal dropResult (dropped-result.ts): a task woken by this future
   * takes a cancel instead of its result. Returns the hook with the result
   * to give it, once, if the future succeeded and that task's wait was the
   * only interest ever shown in it; else null. Another task waiting for
   * it, a combinator (gather, wait, asCompleted, a TaskGroup), an `await`,
   * a done-callback or a read of the result means someone else holds it,
   * and closing it would take it from them.
   */
  // (value: never) and unknown, not T: Future<T> stays covariant in T.
  takeDropHook(): [hook: (value: unknown) => void, result: unknown] | null {
    const drop = this.#drop;
    if (drop === null || this.#state !== FINISHED || this.#hasException || drop.interest > 1) return null;
    this.#drop = null;
    return [drop.hook as (value: unknown) => void, this.#result];
  }

  /** How many done-callbacks wait for this future (for introspection). */
  get waiterCount(): number {
    return (this.#cb0 === null ? 0 : 1) + (this.#more === null ? 0 : this.#more.length / 2);
  }

  /**
   * @internal For introspection: the exception a finished future holds
   * (undefined if none), without marking it retrieved as `exception()` does.
   */
  peekException(): unknown {
    return this.#hasException ? this.#exception : undefined;
  }

  /** The message given to `cancel(msg)`, if any. */
  get cancelMessage(): string | undefined {
    return this.#cancelMessage;
  }

  /**
   * `yield* future` suspends the task until the future is done and
   * evaluates to its result (or throws its exception).
   *
   * @example
   * const value = yield* future; // typed T
   */
  [Symbol.iterator](): Iterator<Future<T>, T, unknown> {
    return new FutureIterator(this);
  }

  /**
   * Lets async code `await` a future. The promise settles when the future
   * does (rejecting with CancelledError if it is cancelled); no loop tick is
   * needed to deliver it.
   *
   * @example
   * const value = await future;
   */
  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    const promise = new Promise<T>((resolve, reject) => {
      this.addDoneCallbackInLane((future) => {
        if (future.#state === CANCELLED) reject(future.#cancelledError());
        else if (future.#hasException) {
          future.#markRetrieved();
          reject(future.#exception);
        } else if (future.#result === future) {
          // A promise adopting a thenable that resolves to itself would call
          // `then` forever (a task returning currentTask()): Promises/A+ 2.3.1.
          reject(new TypeError(`${future} has itself as its result; a promise cannot adopt it (chaining cycle)`));
        } else resolve(future.#result as T);
      }, SETTLE_HOOK);
    });
    return promise.then(onFulfilled, onRejected);
  }

  toString(): string {
    return `<${this.constructor.name} #${this.id} ${STATE_NAMES[this.#state]}>`;
  }

  /** The CancelledError this future's `result()` throws once cancelled. */
  protected cancelledErrorFor(): CancelledError {
    return this.#cancelledError();
  }

  #cancelledError(): CancelledError {
    return new CancelledError(this.#cancelMessage);
  }

  #notFinishedError(what: string): Error {
    if (this.#state === CANCELLED) return this.#cancelledError();
    return new InvalidStateError(`${what}(): ${this} is not done yet`);
  }

  #markRetrieved(): void {
    if (this.#unretrievedToken !== null) {
      unretrievedRegistry.unregister(this.#unretrievedToken);
      this.#unretrievedToken = null;
    }
  }

  /** Moves every done-callback to the loop's ready queue, in the order added. */
  #scheduleCallbacks(): void {
    const cb0 = this.#cb0;
    const more = this.#more;
    this.#cb0 = null;
    this.#more = null;
    if (cb0 !== null) this.#dispatch(cb0, this.#lane0);
    if (more !== null) {
      for (let i = 0; i < more.length; i += 2) this.#dispatch(more[i] as Registered, more[i + 1] as number);
    }
  }

  #dispatch(callback: Registered, lane: number): void {
    if (typeof callback !== 'function') {
      // Added inside a context: the handle keeps it, the loop enters it.
      this.loop.scheduleCallback(callback.callback, this, lane).context = callback.context;
    } else if (lane === SETTLE_HOOK) callback(this);
    else this.loop.scheduleCallback(callback, this, lane);
  }
}

/** Whether the registered `entry` is `callback` (added in a context or not). */
function isRegistration(entry: Registered, callback: DoneCallback<any>): boolean {
  return entry === callback || (typeof entry !== 'function' && entry.callback === callback);
}

/**
 * The iterator behind `yield* future`. The first `next()` yields the future
 * (the task then waits for it); the task resumes the generator only once
 * the future is done, so the second `next()` returns the result. `throw` is
 * how a task delivers the future's exception or a CancelledError at the
 * `yield*`.
 */
class FutureIterator<T> implements Iterator<Future<T>, T, unknown> {
  readonly #future: Future<T>;

  constructor(future: Future<T>) {
    this.#future = future;
  }

  next(): IteratorResult<Future<T>, T> {
    const future = this.#future;
    if (!future.done()) return { value: future, done: false };
    return { value: future.result(), done: true };
  }

  throw(error: unknown): IteratorResult<Future<T>, T> {
    throw error;
  }

  return(value?: T): IteratorResult<Future<T>, T> {
    return { value: value as T, done: true };
  }
}

/** Whether `value` is a Future (of any loop). */
export function isFuture(value: unknown): value is Future<unknown> {
  return value instanceof Future;
}
