/**
 * Task: a Future that drives a generator to completion.
 *
 * The loop knows nothing about coroutines; it only runs callbacks. A Task
 * turns a generator into callbacks:
 *  1. creating it schedules its first step (`#step`) on the ready queue —
 *     never runs it inline;
 *  2. a step resumes the generator (`next` with the value it waited for, or
 *     `throw` with an error) until it yields an instruction or returns;
 *  3. for a Future it registers its wake-up with the future; for a Sleep it
 *     schedules its own timer; for a Promise it first converts it to a Future;
 *  4. when the future settles, the wake-up queues the task's own step
 *     handle, at the task's priority, in the place a done-callback would
 *     take — one hop through the ready queue per resumption. A queued step
 *     is always a handle the task owns, so priority inheritance can move it
 *     to a higher lane (`#raiseQueuedStep`).
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
import { checkDeadline, checkTaskContext, type TaskContext } from '../core/loop-options.js';
import type { BaseEventLoop } from '../core/base-event-loop.js';
import { CancelledError, InvalidStateError, RuntimeError } from '../core/errors.js';
import { MonotonicClock } from '../core/clock.js';
import { Handle, TimerHandle } from '../core/handle.js';
import { setTaskBridge, type StepOwner } from '../core/instruments.js';
import { laneOf, laneOfOptions, PRIORITIES, type Priority } from '../core/priority.js';
import { currentTask, swapCurrentTask } from './current.js';
import { dropResult } from './dropped-result.js';
import { Future, SETTLE_HOOK } from './future.js';
import { AwaitLoan, type PriorityLoan } from './inheritance.js';
import { isCoroutine, isThenable, Sleep, type Coroutine } from './operation.js';

/**
 * Where a task is in its life: `pending` (created, first step not run yet),
 * `ready` (its next step is queued), `running` (its step is on the stack),
 * `waiting` (suspended on a future or a sleep), `done`.
 */
export type TaskState = 'pending' | 'ready' | 'running' | 'waiting' | 'done';

export interface TaskOptions {
  /** A label for logs and introspection; default `Task-N`. */
  name?: string;
  /** The lane the task's steps run in; default `'normal'`. */
  priority?: Priority;
  /**
   * Each wake-up must run within this many ms of the task becoming ready
   * (a finite number >= 0): the task's steps then run earliest-deadline-
   * first within their lane, and a late one is counted and reported like a
   * late `callSoon(cb, {deadlineMs})` (loop.statistics().deadlinesMissed).
   */
  deadlineMs?: number;
  /**
   * The context every step of the task runs in (asyncio's
   * `create_task(coro, context=ctx)`): e.g. Node's
   * `AsyncLocalStorage.snapshot()`. null: none, whatever the loop
   * captures. Default: what the loop's `captureTaskContext` captures here.
   */
  context?: TaskContext | null;
}

/** Reports tasks collected while still pending (debug mode). */
const pendingTaskRegistry = new FinalizationRegistry<{ loop: BaseEventLoop; label: string }>(({ loop, label }) => {
  loop.callExceptionHandler({ message: 'Task was destroyed but it is pending!', task: label });
});

let taskCounter = 0;

/** Options of `task.cancel(message, options)`. */
export interface CancelOptions {
  /**
   * Who is cancelling, for introspection: `'task.cancel'` (the default),
   * `'timeout'`, `'taskgroup'`, `'shutdown'`, or any short name.
   */
  source?: string;
}

/** Who asked a task to cancel, and why (`task.cancelOrigin`, the `cancelRequested` hook). */
export interface CancelOrigin {
  /** See CancelOptions.source; `'propagated'` when cancelling another task cancelled this one. */
  readonly source: string;
  /** The message given to `cancel()`. */
  readonly reason: string | undefined;
  /** The task running when `cancel()` was called; null outside any task. */
  readonly byTask: Task<unknown> | null;
  /** For a propagated cancel: the task whose cancellation reached this one (it awaited it). */
  readonly via: Task<unknown> | null;
  /** `loop.time()` when it was asked. */
  readonly atMs: number;
}

/**
 * Why a task became ready to step (the `taskScheduled` hook): who woke it.
 *  - `spawn`: created, by `byTask` (null: outside any task);
 *  - `future`: the future it waited on settled, by `byTask` (a Task settles
 *    itself) from the callback `byHandle` (null when unknown);
 *  - `timer`: its sleep's time came (`handle` is the timer; for `sleep(0)`
 *    the queued step);
 *  - `io`: a reader/writer callback of `fd` settled what it waited on;
 *  - `promise`: what it waited on was settled outside the loop's callbacks
 *    (a native promise, or code outside the loop);
 *  - `cancel`: `cancel()` was called, by `byTask`;
 *  - `error`: its last yield was invalid; the error is thrown in.
 */
export type WakeCause =
  | { readonly kind: 'spawn'; readonly byTask: Task<unknown> | null }
  | { readonly kind: 'future'; readonly future: Future<unknown>; readonly byTask: Task<unknown> | null; readonly byHandle: Handle | null }
  | { readonly kind: 'timer'; readonly handle: Handle }
  | { readonly kind: 'io'; readonly fd: number; readonly event: 'read' | 'write'; readonly handle: Handle; readonly future: Future<unknown> }
  | { readonly kind: 'promise'; readonly future: Future<unknown> }
  | { readonly kind: 'cancel'; readonly byTask: Task<unknown> | null }
  | { readonly kind: 'error'; readonly error: unknown };

/** The task whose `cancel()` is on the stack (a cancel it causes is "propagated"). */
let cancelInProgress: Task<unknown> | null = null;

/** Times task steps while task timing is on (wall clock, even on a virtual loop). */
let stepClock: MonotonicClock | null = null;


/** Introspection state that most tasks never need: allocated on first use. */
class TaskProbe {
  /** Wall-clock ms spent in steps while task timing was on. */
  runTimeMs = 0;
  /** The first cancellation request still outstanding. */
  cancelOrigin: CancelOrigin | null = null;
  /** The settle hook that reports this task's wake-up (taskScheduled); made once. */
  wakeReporter: ((future: Future<unknown>) => void) | null = null;
  /** The future wakeReporter is registered on, until it fires. */
  armedOn: Future<unknown> | null = null;
  /** True while this task's cancel() is on the stack (to see a cycle of awaits come back). */
  inCancel = false;
}

export class Task<T = unknown> extends Future<T> implements StepOwner {
  /**
   * The name given, or the task's number when none was (its name is then
   * `Task-<number>`, as asyncio's, built when first read: most names are
   * never read, and the string would be ~32 bytes of every task).
   */
  #name: string | number;
  readonly #coro: Coroutine<T>;
  /**
   * Lane index of the task's steps (see priority.ts): its effective
   * priority — its own (`#ownLane`), or a higher one lent to it by tasks it
   * blocks (priority inheritance, see inheritance.ts).
   */
  #lane: number;
  /** The priority set by the user (`priority`). */
  #ownLane: number;
  /** Lanes lent to this task, by lender (a Lock, or a task awaiting this one). */
  #loans: Map<object, number> | null = null;
  /** What this task waits on that passes its priority on; told when #lane changes. */
  #blockedOn: PriorityLoan | null = null;
  /**
   * What the task is suspended on: the Future whose done-callback will wake
   * it, or the Handle of its own scheduled resumption (a sleep, the first
   * step, a thrown-in error). Null only while a step runs or once done.
   */
  #waiter: Future<unknown> | Handle | null = null;
  /**
   * The Future in #waiter has settled and its wake-up has queued
   * #stepHandle (#waiter stays that Future until the step runs, for
   * `waitingOn` and the task tree). Cleared when a step starts.
   */
  #wokenStepQueued = false;
  /** The Handle of this task's own steps, reused (see #scheduleStep; replaced only by #raiseQueuedStep). */
  #stepHandle: Handle;
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
  /** Steps run so far: always counted (one increment per step). */
  #steps = 0;
  /**
   * Future.id of the task whose step created this one; 0 if none. An id,
   * not a reference: a chain of finished spawners must not stay alive.
   */
  #spawnerId = 0;
  #probe: TaskProbe | null = null;
  /**
   * This task's wake-up, registered as a settle hook on the future it waits
   * for: called when that future settles, it queues the task's own step
   * (`#stepHandle`) at the task's lane then — the same place in the ready
   * queue a done-callback queued at that moment would take. So a queued
   * wake-up is always a Handle the task owns, which priority inheritance
   * can move up (`#raiseQueuedStep`), and a step's deadline counts from
   * when the future settled.
   */
  readonly #wakeup = (future: Future<unknown>): void => this.#onWaiterDone(future);
  /** `deadlineMs` of the task's options: each step's deadline, from when it is queued. */
  readonly #deadlineMs: number | undefined;
  /** Where each step runs (TaskOptions.context); null: wherever the loop runs it. */
  readonly #context: TaskContext | null;

  /**
   * Prefer `loop.createTask(coro)`; the task starts on the loop's next tick.
   *
   * @example
   * const task = loop.createTask(function* () { yield* sleep(10); return 1; }, { name: 'one' });
   */
  constructor(loop: BaseEventLoop, coro: Coroutine<T>, taskOptions?: TaskOptions | null) {
    if (loop.isClosed()) throw new RuntimeError('Task: the event loop is closed');
    if (!isCoroutine(coro)) throw new TypeError(`Task: coro must be a generator object, got ${describe(coro)}`);
    super(loop);
    this.#coro = coro;
    this.#lane = this.#ownLane = laneOfOptions(taskOptions, 'createTask'); // checks it is an object
    const options = taskOptions ?? {};
    this.#deadlineMs = options.deadlineMs === undefined ? undefined : checkDeadline(options.deadlineMs, 'createTask');
    this.#name = options.name !== undefined ? String(options.name) : ++taskCounter;
    this.#context =
      options.context !== undefined
        ? checkTaskContext(options.context, 'createTask: options.context')
        : loop.captureTaskContext === null
          ? null
          : checkTaskContext(loop.captureTaskContext(), 'createTask: what captureTaskContext returned');
    this.#stepHandle = new Handle(Task.#runStep, this, this.#lane);
    this.#scheduleStep(); // the first step (with its deadline, if any)
    this.#waiter = this.#stepHandle;
    const spawner = currentTask();
    if (spawner !== null) this.#spawnerId = spawner.id;
    if (loop.instrumentHooks.active) this.#reportSpawn(spawner);
    if (loop.getDebug()) {
      this.#registryToken = {};
      pendingTaskRegistry.register(this, { loop, label: String(this) }, this.#registryToken);
    }
    (loop as { registerTask?(task: Task<unknown>): void }).registerTask?.(this); // allTasks() (EventLoop)
  }

  /** A label for logs and introspection: the name given to createTask, else `Task-<n>`. Settable. */
  get name(): string {
    const name = this.#name;
    return typeof name === 'number' ? `Task-${name}` : name;
  }

  set name(name: string) {
    this.#name = String(name);
  }

  /**
   * The task's own priority. Setting it applies from the task's next
   * wake-up. (It may run higher while it blocks a higher-priority task:
   * see `effectivePriority`.)
   */
  get priority(): Priority {
    return PRIORITIES[this.#ownLane] as Priority;
  }

  set priority(priority: Priority) {
    this.#ownLane = laneOf(priority);
    this.#applyEffectiveLane();
  }

  /**
   * The priority the task runs at: its own, or the highest lent to it by
   * tasks it blocks — a task waiting for a Lock it holds, or awaiting it
   * (priority inheritance: a `critical` task is never stuck behind a `low`
   * one that is stuck behind `normal` work).
   *
   * @example
   * lowTask.effectivePriority; // 'critical' while a critical task waits for its lock
   */
  get effectivePriority(): Priority {
    return PRIORITIES[this.#lane] as Priority;
  }

  /**
   * @internal Lends `lane` to this task on behalf of `lender` until
   * withdrawn (replacing an earlier loan from the same lender).
   */
  lendPriority(lender: object, lane: number): void {
    if (this.done()) return;
    (this.#loans ??= new Map()).set(lender, lane);
    this.#applyEffectiveLane(true);
  }

  /** @internal Withdraws `lender`'s loan, if any. */
  withdrawPriority(lender: object): void {
    if (this.#loans === null || !this.#loans.delete(lender)) return;
    this.#applyEffectiveLane();
  }

  /**
   * @internal Records what this task is blocked on that passes its
   * priority on (a Lock's owner, an awaited task), until its next step.
   */
  setBlockedOn(loan: PriorityLoan): void {
    this.#blockedOn?.endLoan();
    this.#blockedOn = loan;
    loan.refreshLoan();
  }

  /**
   * Recomputes #lane from #ownLane and the loans.
   *
   * Where the new lane applies: a future we wait on holds no lane (its
   * wake-up queues our step at #lane when it settles), and a sleep's timer
   * still in the heap is retagged. A step already in the ready queue keeps
   * its place — unless `byLoan` raised us: then a task we block lent us its
   * priority, and our queued step moves up too (else the lender would wait
   * behind everything between the lanes: the inversion inheritance is there
   * to prevent). A change of the task's own priority takes effect at its
   * next wake-up, as documented for `priority`; a loan that ends never
   * moves a queued step down.
   *
   * Invariant relied on: a step is queued (#waiter a Handle, or
   * #wokenStepQueued) only while the task is not running — a step clears
   * both first — so a loan lent to a task whose step is on the stack never
   * queues a second step.
   */
  #applyEffectiveLane(byLoan = false): void {
    let lane = this.#ownLane;
    if (this.#loans !== null) for (const lent of this.#loans.values()) if (lent < lane) lane = lent;
    if (lane === this.#lane) return;
    this.#lane = lane;
    const waiter = this.#waiter;
    if (waiter instanceof TimerHandle && waiter.scheduled) {
      waiter.lane = lane;
    } else if (byLoan) {
      const queued = this.#wokenStepQueued ? this.#stepHandle : waiter instanceof Handle ? waiter : null;
      if (queued !== null && lane < queued.lane && !queued.isCancelled) this.#raiseQueuedStep(queued);
    }
    // Pass the change on down a chain of blocked tasks (transitive inheritance).
    this.#blockedOn?.refreshLoan();
  }

  /**
   * `queued` is this task's next step, waiting in the ready queue at a
   * lower lane than #lane. A deque cannot move an item, so the entry is
   * cancelled (the loop skips it) and a fresh step is queued at #lane —
   * with a new step handle if `queued` was the reused one (a cancelled
   * handle stays dead). The step keeps its deadline.
   */
  #raiseQueuedStep(queued: Handle): void {
    queued.cancel();
    if (queued === this.#stepHandle) this.#stepHandle = new Handle(Task.#runStep, this, this.#lane);
    const handle = this.#stepHandle;
    handle.lane = this.#lane;
    handle.deadlineAt = queued.deadlineAt;
    this.loop.requeue(handle);
    if (!this.#wokenStepQueued) this.#waiter = handle;
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
   * Where the task is in its life (see TaskState).
   *
   * @example
   * loop.createTask(body).state; // 'pending'
   */
  get state(): TaskState {
    if (this.done()) return 'done';
    const waiter = this.#waiter;
    // Null only while its step runs (a step of another task may ask).
    if (waiter === null || currentTask() === this) return 'running';
    if (waiter instanceof Future) return waiter.done() ? 'ready' : 'waiting';
    if (waiter instanceof TimerHandle && waiter.scheduled) return 'waiting';
    // Its own step is queued: the first one, a sleep(0), a due timer, an error thrown in.
    return this.#steps === 0 ? 'pending' : 'ready';
  }

  /**
   * How many steps the task has run (always counted).
   *
   * @example
   * loop.allTasks().sort((a, b) => b.steps - a.steps); // busiest first
   */
  get steps(): number {
    return this.#steps;
  }

  /**
   * Wall-clock ms the task has spent running its steps, counted while task
   * timing is on (`loop.setTaskTiming(true)` or debug mode); else 0.
   */
  get runTimeMs(): number {
    return this.#probe === null ? 0 : this.#probe.runTimeMs;
  }

  /** The id of the task whose step created this one; 0 if created outside any task. */
  get spawnerId(): number {
    return this.#spawnerId;
  }

  /**
   * Who asked this task to cancel, and why: the first request still
   * outstanding (a later `uncancel()` down to 0 forgets it). Null if none.
   *
   * @example
   * task.cancel('shutting down');
   * task.cancelOrigin?.reason; // 'shutting down'
   */
  get cancelOrigin(): CancelOrigin | null {
    return this.#probe === null ? null : this.#probe.cancelOrigin;
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
   * `options.source` says who is cancelling, for introspection
   * (`cancelOrigin`, the task tree): timeouts pass `'timeout'`, task groups
   * `'taskgroup'`, `run()`'s clean-up `'shutdown'`.
   *
   * @example
   * task.cancel('shutting down');
   * task.cancel('deadline passed', { source: 'timeout' });
   */
  override cancel(message?: string, options?: CancelOptions): boolean {
    if (this.done()) return false;
    const via = cancelInProgress;
    this.#noteCancelRequest(message, options, via);
    this.#cancelRequests++;
    // Also read by `signal` when it is first created after this call.
    this.#cancelMessage = message;
    const probe = this.#probeOf();
    if (probe.inCancel) return this.#cancelInCycle(message);
    probe.inCancel = true;
    cancelInProgress = this;
    try {
      this.#abortController?.abort(new CancelledError(message));
      const waiter = this.#waiter;
      if (waiter instanceof Future) {
        if (waiter.cancel(message)) return true;
      } else if (waiter instanceof TimerHandle) {
        // Suspended in a sleep: drop the timer and step now with the error.
        // The sleep carries the error, as a cancelled future would: a later
        // uncancel() must not turn it into an early, silent wake-up.
        waiter.cancel();
        this.#throwInSoon(new CancelledError(message), true);
        return true;
      }
    } finally {
      cancelInProgress = via;
      probe.inCancel = false;
    }
    this.#mustCancel = true;
    this.#cancelMessage = message;
    return true;
  }

  /**
   * cancel() came back to this task while its own cancel() is on the stack:
   * tasks awaiting each other in a cycle. Cancelling its waiter again would
   * recurse forever, so the task stops waiting and takes CancelledError at
   * once; the others in the cycle then see it finish cancelled.
   */
  #cancelInCycle(message: string | undefined): boolean {
    const waiter = this.#waiter;
    if (waiter instanceof Future && !waiter.done()) {
      waiter.removeDoneCallback(this.#wakeup);
      this.#throwInSoon(new CancelledError(message), true);
    } else {
      this.#mustCancel = true;
    }
    return true;
  }

  /** Records who asked (the first outstanding request) and tells cancelRequested. */
  #noteCancelRequest(message: string | undefined, options: CancelOptions | undefined, via: Task<unknown> | null): void {
    let source = via !== null && via !== this ? 'propagated' : 'task.cancel';
    if (options !== undefined) {
      if (options === null || typeof options !== 'object') throw new TypeError(`cancel: options must be an object like {source: 'timeout'}, got ${describe(options)}`);
      if (options.source !== undefined) {
        if (typeof options.source !== 'string') throw new TypeError(`cancel: options.source must be a string, got ${describe(options.source)}`);
        source = options.source;
      }
    }
    const origin: CancelOrigin = Object.freeze({
      source,
      reason: message,
      byTask: currentTask(),
      via: via !== this ? via : null,
      atMs: this.loop.time(),
    });
    if (this.#cancelRequests === 0) this.#probeOf().cancelOrigin = origin;
    const hooks = this.loop.instrumentHooks;
    hooks.cancelRequested?.(this, origin);
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
      if (this.#cancelRequests === 0) {
        this.#mustCancel = false;
        if (this.#probe !== null) this.#probe.cancelOrigin = null;
      }
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

  /**
   * What a handle that ran this task's step did, for reports that name
   * handles (the debug slow-callback warning, the flight recorder, the
   * stall watchdog): the task, not the internal callback.
   *
   * @example
   * loop.createTask(hog, { name: 'hog' }).stepLabel(); // 'step of task "hog" #2'
   */
  stepLabel(): string {
    return `step of task ${JSON.stringify(this.name)} #${this.id}`;
  }

  override toString(): string {
    const state = this.done() ? (this.cancelled() ? 'cancelled' : 'finished') : 'pending';
    return `<Task #${this.id} ${JSON.stringify(this.name)} ${state}>`;
  }

  // ------------------------------------------------------------ stepping

  /** The ready-queue callback for a step: static, so no closure per step. */
  static #runStep(task: Task<unknown>): void {
    const context = task.#context;
    if (context === null) return task.#run();
    // What the step schedules (callSoon, callLater, addReader, ...) runs in
    // this context too (Handle.context). Steps do not nest: the loop runs
    // one callback at a time, so outside a step runningContext is null.
    const loop = task.loop;
    loop.runningContext = context;
    Task.#stepping = task;
    try {
      context(Task.#runStepping);
    } finally {
      loop.runningContext = null;
      Task.#stepping = null; // a runner that threw before calling it: the field must not keep the task (and its loop) alive
    }
  }

  /**
   * The task whose step a context runner is about to call: handed over in
   * a field, as a runner takes a function of no arguments, so that no
   * closure is made per step. A runner calls it at once, before anything
   * else can set it again.
   */
  static #stepping: Task<unknown> | null = null;
  static readonly #runStepping = (): void => {
    const task = Task.#stepping as Task<unknown>;
    Task.#stepping = null;
    task.#run();
  };

  /** Runs a step; through #stepObserved when a step hook or task timing asks. */
  #run(): void {
    if (this.loop.instrumentHooks.observeSteps) this.#stepObserved();
    else this.#step();
  }

  /** Runs the generator to its next yield (or its end). */
  #step(): void {
    if (this.done()) throw new InvalidStateError(`step: ${this} is already done`);
    this.#steps++;
    const wokenBy = this.#wokenStepQueued ? this.#waiter : null;
    // Not queued any more — before ending the loan below, which can come
    // back round a cycle of awaiting tasks as a loan to this task: with a
    // step still marked queued, that would queue a second one.
    this.#waiter = null;
    this.#wokenStepQueued = false;
    if (this.#blockedOn !== null) {
      // Running again: no longer blocked on whatever borrowed our priority.
      this.#blockedOn.endLoan();
      this.#blockedOn = null;
    }
    let throwing = this.#throwPending;
    let error = this.#throwValue;
    if (this.#mustCancel) {
      this.#mustCancel = false;
      // A CancelledError already on its way in (the waiter was cancelled by
      // an earlier cancel()) is kept, with its message: as asyncio's
      // __step, a later cancel() does not replace the first one's.
      if (!(throwing && error instanceof CancelledError)) {
        throwing = true;
        error = new CancelledError(this.#cancelMessage);
        // Cancelled after the future it waited for succeeded: its result is
        // never taken (a connection would stay open; dropped-result.ts).
        if (wokenBy instanceof Future) dropResult(wokenBy);
      }
    }
    const sent = this.#sendValue;
    this.#throwPending = false;
    this.#throwValue = undefined;
    this.#sendValue = undefined;

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
      if (yielded instanceof Task && !yielded.done()) this.setBlockedOn(new AwaitLoan(this, yielded));
      if (this.loop.instrumentHooks.taskScheduled !== null) this.#armWakeReport(yielded);
      yielded.addDoneCallbackInLane(this.#wakeup, SETTLE_HOOK);
      if (this.#mustCancel && yielded.cancel(this.#cancelMessage)) this.#mustCancel = false;
    } else if (yielded instanceof Sleep) {
      // A Sleep finishes when it is sent back to itself (see Sleep.next).
      this.#sendValue = yielded;
      const delayMs = yielded.delayMs;
      // A cancel requested during this step must not wait out the sleep.
      this.#waiter = delayMs > 0 && !this.#mustCancel ? this.#scheduleSleep(delayMs) : this.#scheduleStep();
      // A timer reports when it comes due (core's #enqueueTimer); sleep(0) is ready now.
      if (this.loop.instrumentHooks.taskScheduled !== null && !(this.#waiter instanceof TimerHandle)) {
        this.#reportScheduled({ kind: 'timer', handle: this.#waiter });
      }
    } else if (isThenable(yielded)) {
      this.#suspendOn(promiseToFuture(this.loop, yielded));
    } else {
      this.#throwInSoon(new TypeError(badYieldMessage(this, yielded)));
    }
  }

  /** The wake-up: the future we waited on is done; queue a step with its outcome. */
  #onWaiterDone(future: Future<unknown>): void {
    if (this.done()) return;
    if (this.#waiter !== future || this.#wokenStepQueued) {
      // A bug of ours if it ever happens. Reported, not thrown: this runs
      // inside the settling of `future`, and a throw would skip the
      // wake-ups registered after this one.
      const exception = new InvalidStateError(`${this} woken by ${future}, but waits on ${this.#waiter}`);
      this.loop.callExceptionHandler({ message: 'Unexpected task wake-up', exception, task: this, future });
      return;
    }
    if (future.cancelled()) {
      this.#throwPending = true;
      this.#throwValue = new CancelledError(future.cancelMessage);
    } else {
      const exception = future.exception();
      if (exception !== null) {
        this.#throwPending = true;
        this.#throwValue = exception;
      } else {
        this.#sendValue = future.resultForWaiter(); // succeeded: checked above
      }
    }
    this.#scheduleStep();
    this.#wokenStepQueued = true;
  }

  /** Throws `error` in at the next step, queued now (`byCancel`: for the wake cause). */
  #throwInSoon(error: unknown, byCancel = false): void {
    this.#throwPending = true;
    this.#throwValue = error;
    this.#waiter = this.#scheduleStep();
    if (this.loop.instrumentHooks.taskScheduled !== null) {
      this.#reportScheduled(byCancel ? { kind: 'cancel', byTask: currentTask() } : { kind: 'error', error });
    }
  }

  /**
   * Queues this task's next step. The task reuses one Handle for all its
   * own steps: a task has at most one step queued at any time (invariant),
   * so the handle is never in the ready queue twice.
   */
  #scheduleStep(): Handle {
    const handle = this.#stepHandle;
    handle.lane = this.#lane;
    if (this.#deadlineMs !== undefined) handle.deadlineAt = this.loop.time() + this.#deadlineMs;
    this.loop.requeue(handle);
    return handle;
  }

  /** A sleep's timer, whose step (with a deadline) is due when the sleep ends. */
  #scheduleSleep(delayMs: number): TimerHandle {
    const whenMs = this.loop.time() + delayMs;
    const timer = this.loop.scheduleTimer(whenMs, Task.#runStep, this, this.#lane, delayMs);
    if (this.#deadlineMs !== undefined) timer.deadlineAt = whenMs + this.#deadlineMs;
    return timer;
  }

  /**
   * The task's `deadlineMs` option: how soon each wake-up should run, or undefined.
   *
   * @example
   * loop.createTask(monitor, { priority: 'critical', deadlineMs: 1 }).deadlineMs; // 1
   */
  get deadlineMs(): number | undefined {
    return this.#deadlineMs;
  }

  /**
   * @internal Debug mode will not report this task as "destroyed but
   * pending" (asyncio's `_log_destroy_pending = False`): for a task whose
   * owner reports its fate another way (runUntilComplete's own task).
   */
  skipDestroyedPendingReport(): void {
    this.#finish();
  }

  #finish(): void {
    if (this.#registryToken !== null) {
      pendingTaskRegistry.unregister(this.#registryToken);
      this.#registryToken = null;
    }
  }

  // ------------------------------------------------------ instrumentation
  // Reached only with an instrument attached or task timing on: the paths
  // above test one field of loop.instrumentHooks to get here.

  #probeOf(): TaskProbe {
    return (this.#probe ??= new TaskProbe());
  }

  /**
   * A step with its hooks (Trio's order: beforeTaskStep, taskExited,
   * afterTaskStep) and timing. Tells the loop which task the handle it is
   * running serves (`steppedTask`), for its slow-callback warning.
   */
  #stepObserved(): void {
    const hooks = this.loop.instrumentHooks;
    if (this.loop.currentHandle !== null) hooks.steppedTask = this;
    hooks.beforeTaskStep?.(this);
    if (hooks.timeSteps) {
      const clock = (stepClock ??= new MonotonicClock());
      const startMs = clock.now();
      this.#step();
      this.#probeOf().runTimeMs += clock.now() - startMs;
    } else {
      this.#step();
    }
    if (this.done()) hooks.taskExited?.(this);
    hooks.afterTaskStep?.(this);
  }

  #reportSpawn(spawner: Task<unknown> | null): void {
    const hooks = this.loop.instrumentHooks;
    hooks.taskSpawned?.(this, { byTask: spawner });
    if (hooks.taskScheduled !== null) this.#reportScheduled({ kind: 'spawn', byTask: spawner });
  }

  #reportScheduled(cause: WakeCause): void {
    this.loop.instrumentHooks.taskScheduled?.(this, cause);
  }

  /**
   * Makes the settling of `future` report this task's wake-up: a settle
   * hook (called synchronously when the future settles, while whoever
   * settled it is still on the stack) registered just before the wake-up.
   */
  #armWakeReport(future: Future<unknown>): void {
    const probe = this.#probeOf();
    if (probe.armedOn === future) return;
    probe.armedOn = future;
    future.addSettleWatcher((probe.wakeReporter ??= (settled) => this.#reportWake(settled)));
  }

  /** A taskScheduled hook was attached while this task waits: report that wake-up too. */
  #armIfWaiting(): void {
    const waiter = this.#waiter;
    if (waiter instanceof Future && !waiter.done() && !this.done()) this.#armWakeReport(waiter);
  }

  #reportWake(future: Future<unknown>): void {
    const probe = this.#probeOf();
    if (probe.armedOn === future) probe.armedOn = null;
    if (this.loop.instrumentHooks.taskScheduled === null || this.done() || this.#waiter !== future) return;
    this.#reportScheduled(this.#wakeCause(future));
  }

  /** Who settled `future`, judged while they are on the stack. */
  #wakeCause(future: Future<unknown>): WakeCause {
    if (cancelInProgress === this) return { kind: 'cancel', byTask: currentTask() };
    const handle = this.loop.currentHandle;
    // A task settles only in its own step, after it has stopped being current.
    if (future instanceof Task) return { kind: 'future', future, byTask: future, byHandle: handle };
    const byTask = currentTask();
    if (byTask === null) {
      if (handle === null) return { kind: 'promise', future };
      const fd = this.loop.fdOfHandle(handle);
      if (fd !== null) return { kind: 'io', fd: fd.fd, event: fd.event, handle, future };
    }
    return { kind: 'future', future, byTask, byHandle: handle };
  }

  static {
    setTaskBridge({
      taskOfStepHandle: (handle) => (handle.callback === Task.#runStep ? (handle.arg as Task<unknown>) : null),
      armWaitingTasks: (loop) => {
        const tasks = (loop as { allTasks?(): Task<unknown>[] }).allTasks?.() ?? [];
        for (const task of tasks) task.#armIfWaiting();
      },
    });
  }
}

/**
 * Wraps a thenable in a Future of `loop`. The loop is told an outside event
 * is pending, so a virtual clock does not jump past it.
 */
export function promiseToFuture<T>(loop: BaseEventLoop, thenable: PromiseLike<T>): Future<T> {
  const future = new Future<T>(loop);
  future.label = 'promise';
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
  future.addDoneCallbackInLane(() => settle(false, undefined), SETTLE_HOOK);
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
