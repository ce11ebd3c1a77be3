/**
 * The loop itself: a ready queue, a timer heap and a selector, exactly the
 * seed's model.
 *
 * This is the only place where callbacks are actually *called* (in
 * `#runHandle`, or `#runHandleObserved` while debug mode or an instrument
 * watches). Every other place just puts handles on the ready queue.
 *
 * Futures and Tasks are not known here: `EventLoop` (tasks/event-loop.ts)
 * extends this class with `createFuture`, `createTask` and
 * `runUntilComplete`, so that core stays free of everything above it.
 */
import { checkCallback, checkMilliseconds, checkNotGeneratorFunction, describe } from './assert.js';
import { traceCreation } from './creation-trace.js';
import { MonotonicClock, VirtualClock, type Clock } from './clock.js';
import { RuntimeError } from './errors.js';
import { FdOwners, type FdOwner } from './fd-owners.js';
import { FdWatchers, type FdEvent } from './fd-watchers.js';
import { beginObservedRun, endObservedRun, Handle, TimerHandle, type HandleCallback } from './handle.js';
import { InstrumentHooks, type CoreInstrument } from './instruments.js';
import { GlobalTimersHost, type LoopHost } from './host.js';
import { laneOfOptions, LANE_COUNT, LANE_CRITICAL, type CallOptions, type ScheduleOptions, type StarvationBound } from './priority.js';
import { ReadyQueue } from './ready-queue.js';
import { enterTick, exitTick, markActive } from './running.js';
import { TimerOnlySelector, type Selector } from './selector.js';
import { TimerHeap } from './timer-heap.js';
import {
  checkDeadline,
  checkTaskContext,
  DEFAULT_SLICE_MS,
  DEFAULT_VIRTUAL_STALL_MS,
  resolveStarvationBounds,
  type EventLoopOptions,
  type LoopLogger,
  type LoopStatistics,
  type TaskContext,
} from './loop-options.js';

export { DEFAULT_SLICE_MS, DEFAULT_VIRTUAL_STALL_MS } from './loop-options.js';
export type { EventLoopOptions, LoopLogger, LoopStatistics, TaskContext } from './loop-options.js';

/** What the exception handler is told. Fields beyond `message` apply when relevant. */
export interface ExceptionContext {
  message: string;
  exception?: unknown;
  handle?: Handle;
  future?: unknown;
  task?: unknown;
  [key: string]: unknown;
}

export type ExceptionHandler = (context: ExceptionContext, loop: BaseEventLoop) => void;

/** @internal What attachGuest gives a guest driver (hosts/guest.ts). */
export interface GuestAttachment {
  /** While true, scheduling from outside a tick calls the driver's `wake` (once). */
  idle(idle: boolean): void;
  /** Whether stop() was called since the last check; clears the request. */
  takeStop(): boolean;
  /** Ends guest mode: the loop is no longer running. */
  detach(): void;
}

/**
 * How many callbacks to run before the next clock read, given the mean
 * duration of the last ones: about a quarter slice's worth, between 1 and 256.
 */
function nextCheckInterval(meanCallbackMs: number, sliceMs: number): number {
  if (!(meanCallbackMs > 0)) return 256;
  const fit = Math.floor(sliceMs / 4 / meanCallbackMs);
  return fit < 1 ? 1 : fit > 256 ? 256 : fit;
}

/** A timeout passed to the selector never exceeds this (ms): ~24.8 days, setTimeout's limit. */
export const MAX_SELECT_TIMEOUT_MS = 2 ** 31 - 1;

/** `String(value)`, or a note saying it failed (asyncio logs `<exception str() failed>`). */
function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return '<could not be converted to a string>';
  }
}

/** A report's message as text ('' if it has none); never throws, even for a throwing getter. */
function messageOf(context: ExceptionContext): string {
  try {
    const message = context.message;
    return message === undefined ? '' : safeString(message);
  } catch {
    return '<message could not be read>';
  }
}

/** An exception's stack if it has one, else its text; never throws. */
function exceptionText(exception: unknown): string {
  if (exception instanceof Error) {
    try {
      const stack = exception.stack;
      if (typeof stack === 'string') return stack;
    } catch {
      // A throwing `stack` getter: fall back to the text.
    }
  }
  return safeString(exception);
}

/** The wall-clock used to time callbacks in debug mode, even on a virtual loop. */
let debugTimer: Clock | null = null;

// The loop is the TimerOwner of its timers (timerCancelled). No `implements`
// clause: both are marked internal and stripped from the published declarations,
// where the clause would name an interface that is not there.
export class BaseEventLoop {
  readonly #clock: Clock;
  readonly #selector: Selector;
  readonly #host: LoopHost;
  readonly #ready = new ReadyQueue<Handle>();
  readonly #timers = new TimerHeap<TimerHandle>();
  /** Increasing per timer: breaks ties between equal deadlines (FIFO). */
  #timerSeq = 0;
  /** Readers and writers by fd, in step with the selector (fd-watchers.ts). */
  readonly #fds: FdWatchers;
  /** The fds transports own: the public add/remove calls refuse them (fd-owners.ts). */
  readonly #fdOwners = new FdOwners();
  /** Owners of what is not an fd, to close with the loop (closeWithLoop). */
  readonly #closeWith = new Set<FdOwner>();
  /** The bound dispatcher given to the selector (allocated once). */
  readonly #pushReady = (handle: Handle): void => this.#ready.push(handle);
  /** Step 3: a ready fd's reader and/or writer handle go onto the ready queue. */
  readonly #onFdReady = (fd: number, events: number): void => this.#fds.queueReady(fd, events, this.#pushReady);
  /**
   * The poll of a preemption check (#runPreemptingWork) queues only handles
   * of lanes above the batch being preempted: the others may be queued
   * already (from this tick's poll) and would run twice. Leaving them is
   * safe: fds are level-triggered, so the next tick's poll reports them again.
   */
  #preemptedLane = 0;
  readonly #pushReadyAbove = (handle: Handle): void => {
    if (handle.lane < this.#preemptedLane) this.#ready.push(handle);
  };
  readonly #onFdReadyAbove = (fd: number, events: number): void => this.#fds.queueReady(fd, events, this.#pushReadyAbove);
  readonly #enqueueTimer = (handle: TimerHandle): void => {
    this.#ready.push(handle);
    if (this.instrumentHooks.taskScheduled !== null) this.instrumentHooks.reportTimerReady(handle);
  };
  /** Timers #pollObserved moved in this tick's timer phase (for afterTimers). */
  #timersMoved = 0;
  readonly #enqueueTimerCounted = (handle: TimerHandle): void => {
    this.#timersMoved++;
    this.#enqueueTimer(handle);
  };

  #stopping = false;
  #running = false;
  /** True while a tick is on the stack: nested runOnce is refused. */
  #inTick = false;
  #closed = false;
  /** True while runForever awaits its host: scheduling from outside must wake it. */
  #hostWaiting = false;
  /** The host ran the tick that follows its wait (#hostTick): runForever skips its own. */
  #hostTickRan = false;
  /** What a tick run by the host threw, for runForever to rethrow. */
  #hostTickFailure: { error: unknown } | null = null;
  /**
   * The context every tick of the current runForever runs in (captured
   * when it started; see EventLoopOptions.captureTaskContext), or null:
   * ticks run in the context of whoever calls them.
   */
  #runContext: TaskContext | null = null;
  readonly #tickNow = (): void => this.#tick(0);
  /** Promises and other outside events the loop was asked to wait for (see `until`). */
  #externalWaits = 0;
  /** Set while a guest driver runs the loop (attachGuest): told instead of the host. */
  #guestWake: (() => void) | null = null;
  /** While a guest driver runs the loop: what it cannot do, given as the reason addReader/addWriter are refused (else null). */
  #guestNoFdsReason: string | null = null;
  /** The running tick's `shouldYield` (runOnce), and whether it ended the batch early. */
  #tickShouldYield: (() => boolean) | null = null;
  #tickCut = false;

  #debug: boolean;
  /** Debug mode records where each callSoon/callLater/callAt handle was made (EventLoopOptions.traceHandles). */
  readonly #traceHandles: boolean;
  /** #debug && #traceHandles: tested on every callSoon. */
  #tracingHandles: boolean;
  /**
   * @internal The instrument hook table (core/instruments.ts): call sites
   * test one field, e.g. `instrumentHooks.taskScheduled !== null`.
   */
  readonly instrumentHooks: InstrumentHooks;
  /** Debug mode or an instrument: handles run through #runHandleObserved. */
  #observeHandles = false;
  /** The handle being run, tracked only while #observeHandles (for wake causes). */
  #currentHandle: Handle | null = null;
  /** Debug mode reports callbacks at least this long. */
  slowCallbackDurationMs: number;
  /** After this long in one lane's batch, higher lanes may preempt (see #runLane). */
  readonly #sliceMs: number;
  /** Virtual clock: real ms to wait for the outside world before jumping anyway. */
  readonly #virtualStallMs: number;
  /** Per lane: the starvation bound, and how long the lane has been held back. */
  readonly #bounds: readonly StarvationBound[];
  readonly #deferredTicks: number[] = new Array<number>(LANE_COUNT).fill(0);
  readonly #deferredSinceMs: number[] = new Array<number>(LANE_COUNT).fill(0);
  /** Handles that ran after their deadline (statistics().deadlinesMissed). */
  #deadlinesMissed = 0;
  #exceptionHandler: ExceptionHandler | null = null;
  readonly #logger: LoopLogger;

  constructor(options: EventLoopOptions = {}) {
    const clock = options.clock ?? 'real';
    if (clock === 'real') this.#clock = new MonotonicClock();
    else if (clock === 'virtual') this.#clock = new VirtualClock();
    else if (clock !== null && typeof clock === 'object' && typeof clock.now === 'function') this.#clock = clock;
    else throw new TypeError(`clock must be 'real', 'virtual' or a Clock object, got ${describe(clock)}`);
    this.#selector = options.selector ?? new TimerOnlySelector();
    this.#fds = new FdWatchers(this.#selector);
    this.#host = options.host ?? new GlobalTimersHost();
    this.#debug = options.debug ?? false;
    this.#traceHandles = options.traceHandles ?? false;
    this.#tracingHandles = this.#debug && this.#traceHandles;
    this.instrumentHooks = new InstrumentHooks(
      this,
      (context) => this.callExceptionHandler(context),
      () => void (this.#observeHandles = this.#debug || this.instrumentHooks.active),
    );
    this.instrumentHooks.setDebug(this.#debug);
    this.slowCallbackDurationMs = options.slowCallbackDurationMs ?? 100;
    const sliceMs = options.sliceMs ?? DEFAULT_SLICE_MS;
    if (!(sliceMs > 0)) throw new RangeError(`sliceMs must be a number > 0 (Infinity disables preemption), got ${describe(sliceMs)}`);
    this.#sliceMs = sliceMs;
    const stallMs = options.virtualStallMs ?? DEFAULT_VIRTUAL_STALL_MS;
    if (!(stallMs >= 0)) throw new RangeError(`virtualStallMs must be a number >= 0, got ${describe(stallMs)}`);
    this.#virtualStallMs = stallMs;
    this.#bounds = resolveStarvationBounds(options.starvationBounds);
    this.#logger = options.logger ?? console;
    const capture = options.captureTaskContext ?? null;
    if (capture !== null && typeof capture !== 'function') throw new TypeError(`captureTaskContext must be a function or null, got ${describe(capture)}`);
    this.captureTaskContext = capture;
  }

  /**
   * Captures each new task's context where it is created (Task reads it);
   * null: tasks run in the loop's. See EventLoopOptions.captureTaskContext.
   */
  readonly captureTaskContext: (() => TaskContext | null) | null;

  /**
   * @internal The context of what runs now: the step of a task that has
   * one (Task sets it around the step), or a callback scheduled from one;
   * else null. Handles made meanwhile keep it (Handle.context) and run in
   * it, as asyncio's `call_soon` takes the current contextvars context.
   */
  runningContext: TaskContext | null = null;

  // ---------------------------------------------------------------- time

  /** The loop's current time in ms, from its clock (monotonic). */
  time(): number {
    return this.#clock.now();
  }

  /** The loop's clock (a VirtualClock on virtual loops). */
  get clock(): Clock {
    return this.#clock;
  }

  /** The loop's selector. */
  get selector(): Selector {
    return this.#selector;
  }

  // ---------------------------------------------------------- scheduling

  /**
   * Schedules `callback` to run on a later tick, after everything already
   * queued in its lane. Returns a Handle that can cancel it.
   *
   * @example
   * loop.callSoon(() => log.push('soon'));
   * loop.callSoon(() => log.push('first'), { priority: 'critical' });
   */
  callSoon(callback: () => unknown, options?: CallOptions): Handle {
    this.#checkOpen('callSoon');
    this.#checkCallback(callback, 'callSoon: callback');
    const handle = new Handle(callback, undefined, laneOfOptions(options, 'callSoon'));
    // A branch, not a plain store of null on every handle: the form measured
    // on this hot path (a plain store read slower in one interleaved A/B,
    // though within this machine's noise; addReader is not a hot path).
    const context = this.runningContext;
    if (context !== null) handle.context = context;
    if (options?.deadlineMs !== undefined) handle.deadlineAt = this.#clock.now() + checkDeadline(options.deadlineMs, 'callSoon');
    if (this.#tracingHandles) handle.creationTrace = traceCreation();
    this.#ready.push(handle);
    if (this.#hostWaiting) this.#wakeHost();
    return handle;
  }

  /**
   * The check of every callback the loop schedules: a function, and in
   * debug mode not a generator function (whose body would never run).
   */
  #checkCallback(callback: unknown, what: string): asserts callback is () => unknown {
    checkCallback(callback, what);
    if (this.#debug) checkNotGeneratorFunction(callback, what);
  }

  /**
   * @internal Takes a handle that `callSoon` queued and that has not run
   * out of the ready queue, cancelled; says whether it was there. Outside
   * a tick only (a batch counts its lanes when it begins); inside one the
   * handle is only cancelled, and its slot runs as a no-op.
   */
  withdrawReady(handle: Handle): boolean {
    const removed = !this.#inTick && this.#ready.remove(handle);
    handle.cancel();
    return removed;
  }

  /**
   * `callSoon` for code running outside the loop's own callbacks: a signal
   * listener, a native or host callback, a message from another thread's
   * port. Besides queueing the callback at its priority, it wakes the loop
   * wherever it waits — in its host, or blocked in its selector (which a
   * plain `callSoon` from inside a tick never needs).
   *
   * JavaScript functions cannot cross threads: a worker asks for a call by
   * posting a message whose handler (on the loop's thread) calls this, or
   * wakes a blocked selector directly through its shared wake-up word / fd.
   *
   * @example
   * worker.on('message', (reading) => loop.callSoonThreadsafe(() => onReading(reading), { priority: 'critical' }));
   */
  callSoonThreadsafe(callback: () => unknown, options?: CallOptions): Handle {
    const handle = this.callSoon(callback, options); // wakes the host if it waits
    this.#selector.wakeup();
    return handle;
  }

  /**
   * Schedules `callback` to run `delayMs` ms from now (0 or negative: as soon
   * as timers are next checked; Infinity: never, until cancelled). Equal
   * deadlines run in scheduling order.
   *
   * @example
   * const timer = loop.callLater(100, () => console.log('100 ms'));
   */
  callLater(delayMs: number, callback: () => unknown, options?: CallOptions): TimerHandle {
    this.#checkOpen('callLater');
    checkMilliseconds(delayMs, 'callLater: delayMs');
    this.#checkCallback(callback, 'callLater: callback');
    return this.#scheduleTimerWithOptions(this.#clock.now() + delayMs, callback, options, 'callLater', delayMs);
  }

  /**
   * Schedules `callback` at `whenMs` on the loop's clock (`loop.time()`).
   *
   * @example
   * loop.callAt(loop.time() + 10, () => console.log('at +10 ms'));
   */
  callAt(whenMs: number, callback: () => unknown, options?: CallOptions): TimerHandle {
    this.#checkOpen('callAt');
    checkMilliseconds(whenMs, 'callAt: whenMs');
    this.#checkCallback(callback, 'callAt: callback');
    return this.#scheduleTimerWithOptions(whenMs, callback, options, 'callAt', NaN);
  }

  #scheduleTimerWithOptions(whenMs: number, callback: () => unknown, options: CallOptions | undefined, what: string, delayMs: number): TimerHandle {
    const lane = laneOfOptions(options, what);
    const deadlineMs = options?.deadlineMs === undefined ? undefined : checkDeadline(options.deadlineMs, what);
    const handle = this.scheduleTimer(whenMs, callback, undefined, lane, delayMs);
    const context = this.runningContext;
    if (context !== null) handle.context = context; // as in callSoon
    if (deadlineMs !== undefined) handle.deadlineAt = whenMs + deadlineMs;
    if (this.#tracingHandles) handle.creationTrace = traceCreation();
    return handle;
  }

  /**
   * @internal Schedules `callback(arg)` without checks or closures: the path
   * futures and tasks use. `lane` must be a valid lane index.
   */
  scheduleCallback(callback: HandleCallback, arg: unknown, lane: number): Handle {
    if (this.#closed) this.#checkOpen('scheduleCallback');
    const handle = new Handle(callback, arg, lane);
    this.#ready.push(handle);
    if (this.#hostWaiting) this.#wakeHost();
    return handle;
  }

  /**
   * @internal Puts an existing handle back on the ready queue (a task
   * reusing its step handle). The caller guarantees the handle is not
   * queued already and not cancelled.
   */
  requeue(handle: Handle): void {
    if (this.#closed) this.#checkOpen('requeue');
    this.#ready.push(handle);
    if (this.#hostWaiting) this.#wakeHost();
  }

  /**
   * @internal Timer counterpart of scheduleCallback. `delayMs`, when the
   * caller knows it (whenMs was "now + delayMs"), lets the heap keep the
   * timer in a run with others of the same delay (timer-heap.ts): an O(1)
   * push, and a heap only as big as the number of distinct delays.
   */
  scheduleTimer(whenMs: number, callback: HandleCallback, arg: unknown, lane: number, delayMs = NaN): TimerHandle {
    if (this.#closed) this.#checkOpen('scheduleTimer');
    const handle = new TimerHandle(whenMs, this.#timerSeq++, callback, arg, lane, this);
    this.#timers.push(handle, delayMs);
    if (this.#hostWaiting) this.#wakeHost();
    return handle;
  }

  /** @internal Called by a TimerHandle in the heap when it is cancelled. */
  timerCancelled(_handle: TimerHandle): void {
    this.#timers.noteCancelled();
  }

  // ------------------------------------------------------------------ I/O

  /**
   * Calls `callback` on every tick in which `fd` is readable, until
   * `removeReader(fd)`. Replaces an earlier reader of the same fd. An fd a
   * transport owns is refused with a RuntimeError (as asyncio), and so is
   * it in removeReader, addWriter and removeWriter.
   *
   * @example
   * loop.addReader(socketFd, () => onReadable(), { priority: 'critical' });
   */
  addReader(fd: number, callback: () => unknown, options?: ScheduleOptions): Handle {
    return this.#addFdHandle(fd, callback, options, 'read', 'addReader', true);
  }

  /**
   * Calls `callback` on every tick in which `fd` is writable, until
   * `removeWriter(fd)`.
   *
   * @example
   * loop.addWriter(socketFd, () => flush());
   */
  addWriter(fd: number, callback: () => unknown, options?: ScheduleOptions): Handle {
    return this.#addFdHandle(fd, callback, options, 'write', 'addWriter', true);
  }

  /** Stops watching `fd` for reading; `false` if it had no reader (as asyncio). */
  removeReader(fd: number): boolean {
    this.#fdOwners.check(fd, 'removeReader');
    return this.#removeFdHandle(fd, 'read');
  }

  /** Stops watching `fd` for writing; `false` if it had no writer (as asyncio). */
  removeWriter(fd: number): boolean {
    this.#fdOwners.check(fd, 'removeWriter');
    return this.#removeFdHandle(fd, 'write');
  }

  /**
   * @internal `owner` (a transport or server) takes `fd`: from now on the public
   * addReader, addWriter, removeReader and removeWriter (and the sock*
   * functions, through checkFdNotOwned) refuse it, naming `owner`. The
   * owner watches it with watchOwnedFd. Released with releaseFd.
   */
  claimFd(fd: number, owner: FdOwner): void {
    this.#fdOwners.claim(fd, owner);
  }

  /**
   * @internal `owner` holds something that is not an fd and must not
   * outlive the loop (a child process): until `forgetAtClose(owner)`,
   * loop.close() calls its `loopClosed()`, before the fd owners'.
   */
  closeWithLoop(owner: FdOwner): void {
    this.#closeWith.add(owner);
  }

  /** @internal `owner` is done (see closeWithLoop). */
  forgetAtClose(owner: FdOwner): void {
    this.#closeWith.delete(owner);
  }

  /** @internal `owner` lets go of `fd` (just before closing it); no-op if it is not the owner. */
  releaseFd(fd: number, owner: FdOwner): void {
    this.#fdOwners.release(fd, owner);
  }

  /**
   * @internal `owner` lends `fd` out (loop.sendfile lets sockSendfile watch
   * its transport's fd): the checks stop refusing it, but close() still
   * asks `owner` to close it. Ended by claimFd or releaseFd.
   */
  lendFd(fd: number, owner: FdOwner): void {
    this.#fdOwners.lend(fd, owner);
  }

  /** @internal Throws a RuntimeError naming `who`, `fd` and the transport if a transport owns `fd`. */
  checkFdNotOwned(fd: number, who: string): void {
    this.#fdOwners.check(fd, who);
  }

  /** @internal addReader / addWriter for the fd's owner (or a caller that checked): no ownership check. */
  watchOwnedFd(fd: number, event: FdEvent, callback: () => unknown, options?: ScheduleOptions): Handle {
    return this.#addFdHandle(fd, callback, options, event, event === 'read' ? 'addReader' : 'addWriter', false);
  }

  /** @internal removeReader / removeWriter for the fd's owner: no ownership check. */
  unwatchOwnedFd(fd: number, event: FdEvent): boolean {
    return this.#removeFdHandle(fd, event);
  }

  #addFdHandle(fd: number, callback: () => unknown, options: ScheduleOptions | undefined, event: FdEvent, what: string, checkOwner: boolean): Handle {
    this.#checkOpen(what);
    if (!Number.isInteger(fd) || fd < 0) throw new TypeError(`${what}: fd must be a non-negative integer, got ${describe(fd)}`);
    if (checkOwner) this.#fdOwners.check(fd, what);
    this.#checkCallback(callback, `${what}: callback`);
    if (!this.#selector.supportsFds) {
      throw new TypeError(
        `${what}(${fd}): this loop's selector (${this.#selector.name}) watches no file descriptors; ` +
          `create the loop with an fd selector (EpollSelector from 'eventide/node')`,
      );
    }
    // An fd the driver's host cannot watch would never wake the loop: refuse it now, not hang later.
    if (this.#guestNoFdsReason !== null) throw new RuntimeError(`${what}(${fd}): ${this.#guestNoFdsReason}`);
    const handle = new Handle(callback, undefined, laneOfOptions(options, what));
    handle.context = this.runningContext;
    this.#fds.add(fd, event, handle)?.cancel(); // throws, changing nothing, on a bad fd
    if (this.#hostWaiting) this.#wakeHost();
    return handle;
  }

  #removeFdHandle(fd: number, event: FdEvent): boolean {
    if (this.#closed) return false;
    const handle = this.#fds.remove(fd, event);
    handle?.cancel();
    return handle !== undefined;
  }

  // ------------------------------------------------------------- one tick

  /**
   * One turn of the loop:
   *  1. work out how long the selector may block: 0 if anything is ready
   *     (or the loop is stopping), else until the earliest live timer, else
   *     forever — never longer than `timeoutMs`;
   *  2. poll I/O, blocking at most that long;
   *  3. queue the reader/writer handles of ready fds (in the selector's
   *     callback);
   *  4. move every timer whose time has come to the ready queue;
   *  5. run the handles that were ready when step 5 began, in lane order,
   *     FIFO within a lane.
   *
   * Work made ready during step 5 waits for the next tick, after another
   * I/O poll: a callback that keeps rescheduling itself cannot starve I/O.
   *
   * Lanes below critical wait a tick while higher lanes have work ready
   * again, within each lane's starvation bound (STARVATION_BOUNDS); a lane
   * that has waited its bound runs whatever is above it.
   *
   * `shouldYield`, if given, is asked once the critical lane has run and
   * after every callback of a non-critical lane run in a batch of two or
   * more. Once it answers true, step 5 ends there: the handles not yet run
   * stay at the front of their lanes, in order, for the next tick (so
   * `() => true` runs the critical lane only — and one callback of a lane
   * past its starvation bound).
   * Guest drivers use it to hand the thread back to their host
   * (hosts/guest.ts).
   *
   * @example
   * loop.callSoon(() => console.log('hi'));
   * loop.runOnce(); // prints "hi"
   * loop.runOnce(0, () => performance.now() > deadlineMs); // poll; stop running callbacks at deadlineMs
   */
  runOnce(timeoutMs = Infinity, shouldYield?: () => boolean): void {
    this.#checkOpen('runOnce');
    if (this.#inTick) throw new RuntimeError('runOnce: called from inside a callback of the same loop');
    if (!(timeoutMs >= 0)) throw new RangeError(`runOnce: timeoutMs must be >= 0, got ${describe(timeoutMs)}`);
    if (shouldYield !== undefined) checkCallback(shouldYield, 'runOnce: shouldYield');
    this.#tick(timeoutMs, shouldYield ?? null);
  }

  #tick(timeoutMs: number, shouldYield: (() => boolean) | null = null): void {
    this.#inTick = true;
    this.#tickShouldYield = shouldYield;
    this.#tickCut = false;
    const previousLoop = enterTick(this);
    try {
      if (this.instrumentHooks.active) {
        this.#pollObserved(this.#selectTimeout(timeoutMs));
      } else {
        this.#selector.select(this.#selectTimeout(timeoutMs), this.#onFdReady);
        // Read the clock once for the whole timer phase, and not at all when
        // there are no timers (a clock read is a large part of an idle tick).
        if (this.#timers.size > 0) this.#timers.popExpired(this.#clock.now(), this.#enqueueTimer);
      }
      this.#runReadyBatch();
    } finally {
      exitTick(previousLoop);
      this.#inTick = false;
      this.#tickShouldYield = null;
    }
  }

  /**
   * Step 1. How long the selector may block, capped by `limitMs`. On a
   * virtual clock with nothing to wait for from outside (no fds, no
   * pending `until` promises), time jumps to the next timer instead of
   * blocking (Trio's autojump), when `limitMs` allows blocking that long.
   */
  #selectTimeout(limitMs: number): number {
    if (this.#ready.length > 0 || this.#stopping || limitMs <= 0) return 0;
    const deadline = this.#timers.nextDeadline();
    if (deadline === undefined) return Math.min(limitMs, MAX_SELECT_TIMEOUT_MS);
    const waitMs = deadline - this.#clock.now();
    if (waitMs <= 0) return 0;
    const skipTo = this.#clock.skipTo;
    // Never to an infinite deadline (a `sleep(Infinity)`): that is a program
    // with nothing left to do but wait, which it then does, as on a real clock.
    if (skipTo !== undefined && waitMs <= limitMs && deadline !== Infinity && this.#canAutojump()) {
      skipTo.call(this.#clock, deadline);
      return 0;
    }
    return Math.min(waitMs, limitMs, MAX_SELECT_TIMEOUT_MS);
  }

  /**
   * Steps 2-4 with an instrument attached: beforeIoWait / afterIoWait
   * around the poll, then — under the same condition as the plain path,
   * a non-empty heap — beforeTimers / afterTimers around moving due timers.
   */
  #pollObserved(timeoutMs: number): void {
    const hooks = this.instrumentHooks;
    hooks.beforeIoWait?.(timeoutMs);
    const eventCount = this.#selector.select(timeoutMs, this.#onFdReady);
    hooks.afterIoWait?.(eventCount);
    if (this.#timers.size === 0) return;
    hooks.beforeTimers?.(this.#timers.liveCount);
    this.#timersMoved = 0;
    this.#timers.popExpired(this.#clock.now(), this.#enqueueTimerCounted);
    hooks.afterTimers?.(this.#timersMoved);
  }

  #canAutojump(): boolean {
    return this.#externalWaits === 0 && this.#selector.fdCount === 0;
  }

  /** Step 5: run what was ready when the batch began. */
  #runReadyBatch(): void {
    const ready = this.#ready;
    if (ready.length === 0) return;
    if (ready.deadlineItems !== 0) ready.admitDeadlines(LANE_COUNT);
    // Count each lane before running anything: handles that become ready
    // during the batch run in the next tick, after an I/O poll. (Five locals,
    // not an array: this runs on every tick.)
    const n0 = ready.laneLength(0);
    const n1 = ready.laneLength(1);
    const n2 = ready.laneLength(2);
    const n3 = ready.laneLength(3);
    const n4 = ready.laneLength(4);
    if (n0 > 0) this.#runLane(0, n0);
    if (this.#tickShouldYield !== null && this.#tickShouldYield()) this.#tickCut = true;
    if (n1 > 0) this.#runLowerLane(1, n1);
    if (n2 > 0) this.#runLowerLane(2, n2);
    if (n3 > 0) this.#runLowerLane(3, n3);
    if (n4 > 0) this.#runLowerLane(4, n4);
  }

  /**
   * Runs a lane below critical — unless higher lanes have work ready again
   * (made ready during this tick) or the host's budget cut the tick short,
   * and the lane has not yet been held back for its starvation bound: then
   * its batch waits, in order, for a later tick. A lane past its bound runs
   * even in a cut tick (one callback, as shouldYield is asked after each).
   */
  #runLowerLane(lane: number, count: number): void {
    if ((this.#tickCut || this.#ready.hasWorkAbove(lane)) && this.#mayDefer(lane)) return;
    this.#deferredTicks[lane] = 0;
    this.#runLane(lane, count);
  }

  /**
   * Whether `lane` may be held back one more tick under its starvation
   * bound; counts the deferral if so. The clock is read only here, that is
   * only while lanes compete.
   */
  #mayDefer(lane: number): boolean {
    const bound = this.#bounds[lane] as StarvationBound;
    const deferred = this.#deferredTicks[lane] as number;
    if (deferred >= bound.maxDeferredTicks) return false;
    const nowMs = this.#clock.now();
    if (deferred === 0) this.#deferredSinceMs[lane] = nowMs;
    else if (nowMs - (this.#deferredSinceMs[lane] as number) >= bound.maxDeferredMs) return false;
    this.#deferredTicks[lane] = deferred + 1;
    return true;
  }

  /**
   * Runs the first `count` handles of `lane`. In a lane below critical, a
   * long run is preemptible: once it has run for `sliceMs`, the loop polls
   * I/O (timeout 0) and moves due timers, and if that made work ready in a
   * higher lane, runs it at once — so higher-priority work never waits
   * behind more than one callback plus a slice of lower-priority ones.
   * Same-lane and lower-lane work still waits for the next tick.
   *
   * The clock is read only every `interval` callbacks, sized from the
   * callbacks' measured duration to about a quarter slice (a clock read
   * costs tens of ns; a trivial callback less), and not at all for lane 0
   * or a single callback.
   */
  #runLane(lane: number, count: number): void {
    const ready = this.#ready;
    if (ready.deadlineItems !== 0) {
      const early = ready.admittedDeadlines(lane);
      if (early > 0) {
        const n = early < count ? early : count;
        this.#runDeadlineHandles(lane, n);
        count -= n;
        if (count === 0 || this.#tickCut) return;
      }
    }
    if (lane === LANE_CRITICAL || count < 2 || (this.#sliceMs === Infinity && this.#tickShouldYield === null)) {
      for (let n = count; n > 0; n--) {
        const handle = ready.shiftFrom(lane) as Handle;
        if (!handle.isCancelled) this.#runHandle(handle);
      }
      return;
    }
    const clock = this.#clock;
    let sliceStartMs = clock.now();
    let lastCheckMs = sliceStartMs;
    let interval = 1;
    let countdown = 1;
    for (let n = count; n > 0; n--) {
      const handle = ready.shiftFrom(lane) as Handle;
      if (!handle.isCancelled) this.#runHandle(handle);
      // runOnce's shouldYield is asked after every callback: callbacks vary
      // too much in length for the sampled clock reads below to bound a
      // host's turn (a run of cheap ones stretches the interval to 256).
      if (this.#tickShouldYield !== null && this.#tickShouldYield()) {
        this.#tickCut = true; // the rest of the batch waits, in order, for the next tick
        return;
      }
      if (--countdown === 0) {
        const nowMs = clock.now();
        if (nowMs - sliceStartMs >= this.#sliceMs) {
          this.#runPreemptingWork(lane, nowMs);
          if (this.#tickCut) return;
          sliceStartMs = clock.now();
        }
        interval = nextCheckInterval((nowMs - lastCheckMs) / interval, this.#sliceMs);
        countdown = interval;
        lastCheckMs = nowMs;
      }
    }
  }

  /**
   * Runs the first `count` handles of `lane`'s deadline queue, earliest
   * deadline first, counting and reporting those that run late. Not
   * preemptible: a deadline in a lane is a promise to run soon.
   */
  #runDeadlineHandles(lane: number, count: number): void {
    const ready = this.#ready;
    for (; count > 0; count--) {
      const handle = ready.shiftFrom(lane) as Handle;
      if (handle.isCancelled) continue;
      const lateMs = this.#clock.now() - (handle.deadlineAt as number); // only deadline handles are here
      if (lateMs > 0) {
        this.#deadlinesMissed++;
        this.instrumentHooks.deadlineMissed?.(handle, lateMs);
      }
      this.#runHandle(handle);
      if (this.#tickShouldYield !== null && this.#tickShouldYield()) {
        this.#tickCut = true;
        return;
      }
    }
  }

  /** A slice ran out in `lane`: pick up newly ready higher-lane work and run it now. */
  #runPreemptingWork(lane: number, nowMs: number): void {
    this.#preemptedLane = lane;
    this.#selector.select(0, this.#onFdReadyAbove);
    if (this.#timers.size > 0) this.#timers.popExpired(nowMs, this.#enqueueTimer);
    // Only the lanes above: `lane`'s own new deadline work waits for the next tick.
    if (this.#ready.deadlineItems !== 0) this.#ready.admitDeadlines(lane);
    for (let higher = 0; higher < lane; higher++) {
      const waiting = this.#ready.laneLength(higher);
      if (waiting > 0 && !this.#tickCut) this.#runLane(higher, waiting);
    }
  }

  /**
   * Calls one handle's callback; an exception goes to the exception handler.
   * A user's callback (no `arg`) is called with no arguments, as documented:
   * `callSoon(array.push.bind(array))` must not push `undefined`.
   */
  #runHandle(handle: Handle): void {
    if (this.#observeHandles) return this.#runHandleObserved(handle);
    try {
      const arg = handle.arg;
      if (handle.context !== null) this.#callInContext(handle);
      else if (arg === undefined) handle.callback();
      else handle.callback(arg);
    } catch (exception) {
      this.callExceptionHandler({ message: `Exception in callback ${handle}`, exception, handle });
    }
  }

  /**
   * Calls a user handle's callback inside its context, which
   * what it schedules keeps too. The runner takes a function of no
   * arguments: #callContextHandle, one per loop, with the handle in a
   * field, so that no closure is made per call (a runner calls it at once,
   * and a tick runs one callback at a time, so nothing can overwrite the
   * field before it is read).
   */
  #callInContext(handle: Handle): void {
    const context = handle.context as TaskContext;
    this.#contextHandle = handle;
    this.runningContext = context;
    try {
      context(this.#callContextHandle);
    } finally {
      this.runningContext = null;
      this.#contextHandle = null; // a runner that threw before calling it
    }
  }

  #contextHandle: Handle | null = null;
  readonly #callContextHandle = (): void => {
    const handle = this.#contextHandle as Handle;
    this.#contextHandle = null;
    const arg = handle.arg;
    if (arg === undefined) handle.callback();
    else handle.callback(arg); // a future's done-callback, given the future
  };

  /**
   * #runHandle in debug mode or with an instrument attached: records the
   * running handle (a wake-up's cause names it), fires beforeCallback /
   * afterCallback, and in debug mode times the callback (afterCallback then
   * gets the duration) and warns about slow ones.
   */
  #runHandleObserved(handle: Handle): void {
    const hooks = this.instrumentHooks;
    hooks.beforeCallback?.(handle);
    const timer = this.#debug ? (debugTimer ??= new MonotonicClock()) : null;
    const startMs = timer === null ? 0 : timer.now();
    this.#currentHandle = handle;
    const outerRun = beginObservedRun(handle); // a self-cancel keeps the callback's name (handle.ts)
    try {
      const arg = handle.arg;
      if (handle.context !== null) this.#callInContext(handle);
      else if (arg === undefined) handle.callback();
      else handle.callback(arg);
    } catch (exception) {
      this.callExceptionHandler({ message: `Exception in callback ${handle}`, exception, handle });
    }
    endObservedRun(outerRun);
    this.#currentHandle = null;
    const stepped = hooks.steppedTask;
    hooks.steppedTask = null;
    const tookMs = timer === null ? undefined : timer.now() - startMs;
    hooks.afterCallback?.(handle, tookMs);
    if (tookMs !== undefined && tookMs >= this.slowCallbackDurationMs) {
      // A handle that ran a task's step (`#runStep`) is named
      // after the task, and has no creation trace of its own: its task's tells more.
      const what = stepped === null ? String(handle) : stepped.stepLabel();
      const createdAt = handle.sourceStack ?? stepped?.sourceStack;
      this.#logger.warn(`eventide: executing ${what} took ${tookMs.toFixed(3)} ms` + (createdAt ? `\ncreated at:\n${createdAt}` : ''));
    }
  }

  // ---------------------------------------------------------- run & stop

  /**
   * Runs ticks until `stop()`. Between ticks the JavaScript thread goes back
   * to its host: pending promise continuations always run (a microtask
   * checkpoint after every tick), and when the loop would block, or has held
   * the thread for a slice, the host's own loop gets a turn (Node's timers
   * and I/O, a browser's input and painting).
   *
   * `stop()` called before `runForever()` makes it run exactly one tick.
   *
   * @example
   * loop.callLater(10, () => loop.stop());
   * await loop.runForever();
   */
  async runForever(): Promise<void> {
    this.#checkOpen('runForever');
    if (this.#running) throw new RuntimeError('runForever: this event loop is already running');
    this.#running = true;
    markActive(this, true);
    const hooks = this.instrumentHooks;
    hooks.beforeRun?.(this);
    try {
      this.#runContext = this.captureTaskContext === null ? null : checkTaskContext(this.captureTaskContext(), 'runForever: what captureTaskContext returned');
      let waitMs = this.#selectTimeout(Infinity);
      for (;;) {
        if (waitMs > 0) {
          // The host does the blocking here; instruments see it as an I/O wait.
          hooks.beforeIoWait?.(waitMs);
          if (this.#clock.skipTo === undefined) {
            // Awaited right here, not through #waitInHost: one promise and
            // one microtask fewer per wake-up on the common, real-clock path.
            // A host that can may run ticks itself meanwhile (#hostTick).
            this.#hostWaiting = true;
            try {
              await this.#host.wait(this.#hostWaitMs(waitMs), this.#hostTick);
            } finally {
              this.#hostWaiting = false;
            }
          } else {
            await this.#waitInHost(waitMs);
          }
          if (this.#hostTickFailure !== null) {
            const failure = this.#hostTickFailure;
            this.#hostTickFailure = null;
            throw failure.error;
          }
        }
        if (this.#hostTickRan) this.#hostTickRan = false; // the host ran this tick already
        else {
          if (waitMs > 0) hooks.afterIoWait?.(0);
          this.#runTick();
        }
        if (this.#stopping) break;
        // On a real clock with nothing ready, the host wait that comes next
        // is this tick's microtask checkpoint (a continuation that schedules
        // work wakes it at once): a second await here would only cost an
        // allocation per wake-up. A virtual clock decides whether to jump
        // only after the checkpoint, as promises may still give it work.
        waitMs = this.#clock.skipTo === undefined ? this.#selectTimeout(Infinity) : 0;
        if (waitMs > 0) continue;
        if (this.#host.shouldYield()) await this.#host.yieldToHost();
        else await undefined; // microtask checkpoint: let promise continuations run
        waitMs = this.#selectTimeout(Infinity);
      }
    } finally {
      this.#runContext = null;
      hooks.afterRun?.(this);
      this.#stopping = false;
      this.#running = false;
      markActive(this, false);
    }
  }

  /** One tick of runForever, in the run's context when it has one. */
  #runTick(): void {
    const context = this.#runContext;
    if (context === null) this.#tick(0);
    else context(this.#tickNow);
  }

  /**
   * The tick a host runs from its own callback while a wait is pending
   * (LoopHost, HostTick): what runForever would do after the wait ends,
   * then the next wait's length, without ending this one. Returns 0 to end
   * the wait: work is ready (runForever then takes over, with its
   * microtask checkpoint or a turn for the host), the loop is stopping, or
   * the tick threw (runForever rethrows it). On a real clock only: a
   * virtual clock's waits go through #waitInHost, which passes no tick.
   */
  readonly #hostTick = (): number => {
    if (!this.#hostWaiting || this.#hostTickRan) return 0;
    const hooks = this.instrumentHooks;
    // Work scheduled by the tick itself must not end the host's wait.
    this.#hostWaiting = false;
    try {
      hooks.afterIoWait?.(0);
      this.#runTick();
    } catch (error) {
      this.#hostTickFailure = { error };
      this.#hostTickRan = true;
      return 0;
    }
    const waitMs = this.#stopping ? 0 : this.#selectTimeout(Infinity);
    if (waitMs === 0) {
      this.#hostTickRan = true;
      return 0;
    }
    hooks.beforeIoWait?.(waitMs);
    this.#hostWaiting = true;
    return this.#hostWaitMs(waitMs);
  };

  /**
   * Lets the host wait until the loop has work. On a real clock that is at
   * most `waitMs`. A virtual clock that could not jump is waiting for the
   * outside world (a promise, an fd); real time says nothing about virtual
   * deadlines, so it waits for a wake-up — but if nothing has come back
   * after `virtualStallMs` real ms and a timer is pending, time moves on to
   * that timer (Trio's autojump threshold). Otherwise a promise that itself
   * waits for a loop timer would deadlock the program.
   */
  async #waitInHost(waitMs: number): Promise<void> {
    const virtual = this.#clock.skipTo !== undefined;
    const hasTimer = this.#hasFiniteTimer();
    const hostWaitMs = this.#hostWaitMs(waitMs);
    const realClock = virtual && hasTimer ? (debugTimer ??= new MonotonicClock()) : null;
    const startedMs = realClock?.now() ?? 0;
    this.#hostWaiting = true;
    try {
      await this.#host.wait(hostWaitMs);
    } finally {
      this.#hostWaiting = false;
    }
    if (realClock !== null && this.#ready.length === 0 && realClock.now() - startedMs >= this.#virtualStallMs) {
      const deadline = this.#timers.nextDeadline();
      if (deadline !== undefined && deadline !== Infinity) this.#clock.skipTo?.(deadline); // timers may have changed during the wait
    }
  }

  /**
   * What to ask of the host for a wait of `waitMs`. No live timer: only the
   * outside world can end the wait, so the host gets no deadline
   * (Infinity), not the selector's 24.8-day cap, which would cost a host
   * timer armed and cleared on every idle wait. A virtual clock waits for
   * real time only up to `virtualStallMs` (see #waitInHost).
   */
  #hostWaitMs(waitMs: number): number {
    if (!this.#hasFiniteTimer()) return Infinity;
    return this.#clock.skipTo === undefined ? waitMs : this.#virtualStallMs;
  }

  /**
   * Whether a live timer has a finite deadline. One at Infinity
   * (`sleep(Infinity)`) never comes due: a wait has no deadline from it, and
   * a virtual clock must never jump to it.
   */
  #hasFiniteTimer(): boolean {
    return this.#timers.liveCount > 0 && this.#timers.nextDeadline() !== Infinity;
  }

  /** Something was scheduled from outside while the host waits: end the wait (a guest driver is told once). */
  #wakeHost(): void {
    const guestWake = this.#guestWake;
    if (guestWake === null) return this.#host.wake();
    this.#hostWaiting = false;
    guestWake();
  }

  /**
   * How long the loop has nothing to do: 0 when callbacks are ready (or it
   * is stopping), else the ms until its earliest live timer, else Infinity
   * (only something from outside — an fd, a promise, a host event — can
   * give it work). A host that drives `runOnce(0)` itself asks this after
   * every tick to know when to call back (GLib's "prepare").
   *
   * @example
   * loop.runOnce(0);
   * const waitMs = loop.timeUntilWorkMs();
   * if (waitMs === 0) queueTurn(); else if (waitMs !== Infinity) setTimeout(turn, waitMs);
   */
  timeUntilWorkMs(): number {
    if (this.#ready.length > 0 || this.#stopping) return 0;
    const deadline = this.#timers.nextDeadline();
    return deadline === undefined ? Infinity : Math.max(0, deadline - this.#clock.now());
  }

  /**
   * @internal Guest mode (hosts/guest.ts): a driver runs ticks with runOnce
   * from its host's callbacks instead of runForever. The loop counts as
   * running (runForever, runUntilComplete and close are refused) until
   * `detach()`. While the driver says it is idle, anything scheduled from
   * outside a tick (a DOM event, a settled promise, stop()) calls `wake`
   * once, as it would end runForever's host wait. `takeStop()` reports and
   * clears a stop() request. `noFdsReason`, when the driver's host cannot
   * watch file descriptors, is the message addReader / addWriter throw
   * (after `addReader(fd): `) until `detach()`.
   */
  attachGuest(wake: () => void, noFdsReason: string | null = null): GuestAttachment {
    this.#checkOpen('attachGuest');
    checkCallback(wake, 'attachGuest: wake');
    if (this.#running) throw new RuntimeError('attachGuest: this event loop is already running');
    this.#running = true;
    markActive(this, true);
    this.#guestWake = wake;
    this.#guestNoFdsReason = noFdsReason;
    this.instrumentHooks.beforeRun?.(this);
    return {
      idle: (idle: boolean): void => void (this.#hostWaiting = idle),
      takeStop: (): boolean => {
        const stopping = this.#stopping;
        this.#stopping = false;
        return stopping;
      },
      detach: (): void => {
        if (this.#guestWake !== wake) return;
        this.instrumentHooks.afterRun?.(this);
        this.#guestWake = null;
        this.#guestNoFdsReason = null;
        this.#hostWaiting = false;
        this.#stopping = false;
        this.#running = false;
        markActive(this, false);
      },
    };
  }

  /**
   * Asks the loop to stop: `runForever` returns after the current tick
   * completes (before its next I/O poll).
   */
  stop(): void {
    this.#stopping = true;
    if (this.#hostWaiting) this.#wakeHost();
  }

  /** Whether `runForever` (or `runUntilComplete`) is in progress. */
  isRunning(): boolean {
    return this.#running;
  }

  /** Whether `close()` was called. */
  isClosed(): boolean {
    return this.#closed;
  }

  /**
   * Closes the loop: drops every queued callback and timer, unwatches every
   * fd, closes the selector and host. Idempotent. Refused while running.
   *
   * A transport or server still holding its fd (never closed, or closed
   * but not yet through its last callback) closes it here, and a
   * subprocess transport kills its child if it still runs, without
   * callbacks: nothing could close it later, since no callback of this
   * loop will run again and fds are not garbage collected. In debug mode
   * each one that nobody had closed is reported, as asyncio's "unclosed
   * transport" ResourceWarning reports it (when it is garbage collected).
   *
   * @example
   * loop.close();
   * loop.isClosed(); // true
   */
  close(): void {
    if (this.#running) throw new RuntimeError('close: cannot close a running event loop');
    if (this.#closed) return;
    this.#closed = true;
    for (const handle of this.#ready.drain()) handle.cancel();
    for (const handle of this.#timers.clear()) handle.cancel();
    this.#fds.clear();
    // Owners of what is not an fd first: a subprocess transport closes its
    // own pipes (fd owners too, which then have nothing left to close).
    const owners = [...this.#closeWith];
    for (const owner of this.#fdOwners.takeAll()) if (!this.#closeWith.has(owner)) owners.push(owner);
    this.#closeWith.clear();
    this.#selector.close();
    this.#host.close();
    for (const owner of owners) this.#ownerLoopClosed(owner);
  }

  /** close(): `owner` still held an fd; let it close it (a failure is reported, the others still close theirs). */
  #ownerLoopClosed(owner: FdOwner): void {
    try {
      const name = this.#debug ? String(owner) : ''; // as it was, open
      const wasOpen = owner.loopClosed?.() ?? false;
      if (wasOpen && this.#debug) this.#logger.warn(`eventide: unclosed ${name} when the loop closed; closed it now`);
    } catch (exception) {
      this.callExceptionHandler({ message: `closing ${String(owner)}, left open when the loop closed, failed`, exception, transport: owner });
    }
  }

  // ------------------------------------------------ outside-world waits

  /**
   * @internal Something outside the loop (a promise) will schedule work
   * later: a virtual clock must not jump past it. Pair with endExternalWait.
   */
  beginExternalWait(): void {
    this.#externalWaits++;
  }

  /** @internal */
  endExternalWait(): void {
    this.#externalWaits--;
  }

  // ----------------------------------------------------------- exceptions

  /**
   * Sets the function that receives errors no one else can catch (a
   * callback that threw, a future whose exception was never retrieved);
   * `null` restores the default, which logs.
   *
   * @example
   * loop.setExceptionHandler((context) => errors.push(context.exception));
   */
  setExceptionHandler(handler: ExceptionHandler | null): void {
    if (handler !== null) checkCallback(handler, 'setExceptionHandler: handler');
    this.#exceptionHandler = handler;
  }

  /** The handler set by setExceptionHandler, or null. */
  getExceptionHandler(): ExceptionHandler | null {
    return this.#exceptionHandler;
  }

  /**
   * Reports `context` to the exception handler. If the handler itself
   * throws, both errors are logged by the default handler; the loop goes on.
   * A handler reporting a callback runs in that callback's context (its
   * handle's, as asyncio 3.12 runs it in the handle's contextvars context).
   * Throws only for a `context` that is not an object: whatever it is
   * asked to report, the loop goes on.
   */
  callExceptionHandler(context: ExceptionContext): void {
    if (context === null || typeof context !== 'object') {
      throw new TypeError(`callExceptionHandler: context must be an object like {message, exception}, got ${describe(context)}`);
    }
    const handler = this.#exceptionHandler;
    // A report made while the custom handler runs (the handler calling this
    // again, directly or not) goes to the default handler: no recursion.
    if (handler === null || this.#inExceptionHandler) {
      this.#logSafely(context);
      return;
    }
    this.#inExceptionHandler = true;
    try {
      const runIn = context.handle instanceof Handle ? context.handle.context : null;
      if (runIn === null) handler(context, this);
      else this.#handleInContext(handler, context, runIn);
    } catch (exception) {
      // Log both errors: what the handler was asked to report, then how it failed.
      this.#logSafely(context);
      this.#logSafely({ message: 'Unhandled error in exception handler', exception, context: messageOf(context) });
    } finally {
      this.#inExceptionHandler = false;
    }
  }

  #inExceptionHandler = false;

  /**
   * Calls `handler` inside `runIn`, the failed callback's context. A runner
   * that fails before calling it (the very failure being reported may be
   * that runner throwing) must not swallow the report: the handler then
   * runs outside. An error from the handler itself propagates.
   */
  #handleInContext(handler: ExceptionHandler, context: ExceptionContext, runIn: TaskContext): void {
    let called = false;
    const outer = this.runningContext;
    try {
      runIn(() => {
        if (called) return; // a runner that calls twice: the report is made once
        called = true;
        // What the handler schedules keeps the context too, as from the callback itself.
        this.runningContext = runIn;
        try {
          handler(context, this);
        } finally {
          this.runningContext = outer;
        }
      });
    } catch (error) {
      if (called) throw error;
      handler(context, this);
    }
  }

  /**
   * The default handler, kept from throwing (asyncio's second layer of
   * protection): a subclass may override it, or the logger may fail.
   */
  #logSafely(context: ExceptionContext): void {
    try {
      this.defaultExceptionHandler(context);
    } catch (failure) {
      try {
        console.error(`eventide: the exception handler's logging failed (${safeString(failure)}) while reporting: ${messageOf(context)}`);
      } catch {
        // Nowhere left to report to.
      }
    }
  }

  /**
   * Logs `context` with the loop's logger. Values that cannot be turned
   * into text (an object with no prototype, a throwing toString) are
   * logged as such, never thrown.
   */
  defaultExceptionHandler(context: ExceptionContext): void {
    // asyncio's default for a missing or empty message.
    const message = messageOf(context) || 'Unhandled exception in event loop';
    const lines = [`eventide: ${message}`];
    for (const [key, value] of Object.entries(context)) {
      if (key === 'message' || key === 'exception') continue;
      lines.push(`  ${key}: ${safeString(value)}`);
    }
    const exception = context.exception;
    if (exception !== undefined) lines.push(exceptionText(exception));
    this.#logger.error(lines.join('\n'));
  }

  // ---------------------------------------------------------------- debug

  /** Turns debug mode on or off. */
  setDebug(enabled: boolean): void {
    this.#debug = Boolean(enabled);
    this.#tracingHandles = this.#debug && this.#traceHandles;
    this.instrumentHooks.setDebug(this.#debug);
  }

  /** Whether debug mode is on. */
  getDebug(): boolean {
    return this.#debug;
  }

  // ---------------------------------------------------------- instruments

  /**
   * Attaches an instrument: an object with any of the hooks listed in
   * inspect/instrument.ts (`beforeRun`, `taskScheduled`, `beforeCallback`,
   * ...). Hooks run synchronously at the points they name; one that throws
   * is removed and reported to the exception handler, and the loop goes
   * on. Adding an attached instrument again does nothing. With none
   * attached, each hook site costs one never-taken branch.
   *
   * @example
   * loop.addInstrument({
   *   beforeTaskStep: (task) => console.log('step', task.name),
   *   taskExited: (task) => console.log('exit', task.name),
   * });
   */
  addInstrument(instrument: CoreInstrument): void {
    this.instrumentHooks.add(instrument);
  }

  /**
   * Detaches an instrument; false if it was not attached.
   *
   * @example
   * loop.removeInstrument(recorder);
   */
  removeInstrument(instrument: CoreInstrument): boolean {
    return this.instrumentHooks.remove(instrument);
  }

  /**
   * The attached instruments, in the order they were added.
   *
   * @example
   * if (!loop.instruments().includes(recorder)) loop.addInstrument(recorder);
   */
  instruments(): readonly CoreInstrument[] {
    return this.instrumentHooks.list();
  }

  /**
   * Turns per-task run-time accounting on or off (a wall-clock read before
   * and after every task step, tens of ns each). Debug mode always keeps it.
   * Step counts are kept regardless.
   *
   * @example
   * loop.setTaskTiming(true);
   * // ... later: describeTask(task).runTimeMs
   */
  setTaskTiming(enabled: boolean): void {
    this.instrumentHooks.setTaskTiming(Boolean(enabled));
  }

  /** Whether task run time is accounted (setTaskTiming(true) or debug mode). */
  getTaskTiming(): boolean {
    return this.instrumentHooks.timeSteps;
  }

  /**
   * @internal The handle whose callback is running, while debug mode is on
   * or an instrument is attached; null otherwise (and between callbacks).
   */
  get currentHandle(): Handle | null {
    return this.#currentHandle;
  }

  /** @internal The fd and direction `handle` is (or was) the reader or writer of, or null. */
  fdOfHandle(handle: Handle): { readonly fd: number; readonly event: 'read' | 'write' } | null {
    return this.#fds.fdOf(handle);
  }

  /** The loop's logger (console unless given). */
  get logger(): LoopLogger {
    return this.#logger;
  }

  /** A frozen snapshot of the loop's queues, for introspection and tests. */
  statistics(): Readonly<LoopStatistics> {
    const readyByLane: number[] = [];
    for (let lane = 0; lane < LANE_COUNT; lane++) readyByLane.push(this.#ready.laneLength(lane));
    return Object.freeze({
      ready: this.#ready.length,
      readyByLane: Object.freeze(readyByLane),
      timers: this.#timers.liveCount,
      cancelledTimers: this.#timers.cancelledCount,
      readers: this.#fds.readerCount,
      writers: this.#fds.writerCount,
      deadlinesMissed: this.#deadlinesMissed,
    });
  }

  #checkOpen(what: string): void {
    if (this.#closed) throw new RuntimeError(`${what}: the event loop is closed`);
  }
}
