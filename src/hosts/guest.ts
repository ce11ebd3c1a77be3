/**
 * Guest mode: eventide's loop running inside somebody else's loop (a
 * browser page, a GUI toolkit's main loop, Node's libuv), with no loop
 * pumping the other.
 *
 * The host contract is small. A host is any loop that can
 *  1. call us back soon — after the work it already has queued;
 *  2. call us back after a delay, and forget that request when asked;
 *  3. optionally, call us back when an OS handle (the selector's epoll fd)
 *     becomes readable.
 * The driver below turns those three verbs into ticks: every host callback
 * runs exactly one `loop.runOnce(0)`, and afterwards the driver asks the
 * loop how long it has nothing to do (`timeUntilWorkMs`) and makes at most
 * one request of its host: "soon" when work is ready, "after N ms" for the
 * next timer, nothing when only the outside world can bring work. That is
 * GLib's prepare/check/dispatch and Trio's guest mode, with the loop doing
 * no waiting of its own.
 *
 * The failure modes of existing integrations, and why this driver does not
 * have them:
 *  - A stale wait. A host callback of someone else (a DOM event, a settled
 *    promise) schedules work, or an earlier timer, while the driver is
 *    waiting on a late timer. While idle the driver is attached to the loop
 *    (`attachGuest`), so any scheduling from outside a tick calls it back at
 *    once; it re-plans: cancels a timer that is now too late and asks for a
 *    sooner callback.
 *  - Promise continuations that never run. One tick per host callback: the
 *    runtime drains the microtask queue whenever a host callback returns,
 *    so every promise continuation a tick released runs before the next
 *    tick — however many hops its chain has. The host must call us as an
 *    ordinary task of the JavaScript runtime (every browser and Node API
 *    does).
 *  - Guest work starving the host. Each tick gets a time budget
 *    (`budgetMs`, 5 ms by default, React's frame slice): the loop stops its
 *    batch once the budget is spent, or as soon as the host says it has
 *    something urgent (`shouldYield`, e.g. pending input); the rest of the
 *    batch keeps its place and runs in the next turn, which is requested
 *    as "soon" — after the host's own queued work.
 *  - Re-entrance. A nested host loop (a modal dialog's) may dispatch our
 *    callbacks while a guest callback is still on the stack. Such a turn is
 *    refused — counted in `statistics().reentriesDeferred` and nothing run
 *    — and the outer turn, when it unwinds, plans the next one. A callback
 *    never runs inside another callback of the same loop.
 *  - FIFO lost within a lane. The driver never reorders anything; a batch
 *    cut short by the budget leaves its remaining handles at the front of
 *    their lanes, ahead of work that became ready later.
 *
 * Urgent events need not wait for the next turn at all: an event source
 * whose host callback just queued critical work (onEvent, for input) calls
 * `runCriticalTurn()`, a tick that runs the critical lane only, right there
 * in the event's own host task.
 *
 * Invariant: at most one "soon" and one timer are outstanding with the
 * host at any time, and a timer is outstanding only for the loop's current
 * earliest deadline (or an earlier, stale one, which just causes a no-op
 * turn).
 */
import { checkCallback, describe } from '../core/assert.js';
import type { GuestAttachment } from '../core/base-event-loop.js';
import { RuntimeError } from '../core/errors.js';
import { DEFAULT_HOST_SLICE_MS } from '../core/host.js';
import { checkTaskContext, type TaskContext } from '../core/loop-options.js';
import type { CoroutineLike, EventLoop } from '../tasks/event-loop.js';
import { Future } from '../tasks/future.js';
import { stopWhenDone } from '../tasks/stop-when-done.js';

/**
 * What a foreign loop must offer to drive eventide (see docs/hosts.md).
 * Callbacks must be called from the host's own loop, never synchronously
 * from inside the request.
 */
export interface GuestHost {
  /** Calls `callback` soon: after the work the host has already queued. */
  callSoon(callback: () => void): void;
  /** Calls `callback` after about `delayMs` (> 0); the returned function cancels it. */
  callLater(delayMs: number, callback: () => void): () => void;
  /**
   * Calls `onReady` whenever `fd` is readable (level-triggered), until the
   * returned function is called. Used for the selector's epoll fd, so
   * sockets wake the loop without polling. Optional for a loop that watches
   * no fds: without it, addReader / addWriter on the driven loop throw a
   * RuntimeError, and start() a TypeError if fds are watched already.
   */
  watchFd?(fd: number, onReady: () => void): () => void;
  /** Optional: true when the host has urgent work (pending input); ends a tick early. Must be cheap. */
  shouldYield?(): boolean;
  /** Optional: a monotonic ms clock for the budget; default `performance.now()`. */
  now?(): number;
}

export interface GuestDriverOptions {
  /** How long one tick may run before the host gets the thread back (ms, > 0). Default 5. */
  budgetMs?: number;
}

/** Counters kept by a GuestDriver (a frozen snapshot). */
export interface GuestDriverStatistics {
  /** Ticks run. */
  turns: number;
  /** Ticks whose batch the budget (or the host's shouldYield) ended early. */
  turnsCut: number;
  /** Host callbacks that arrived while a turn was on the stack, and were refused. */
  reentriesDeferred: number;
  /** "Soon" callbacks requested from the host. */
  soonRequests: number;
  /** Timers requested from the host, and timers cancelled again (a deadline moved or work arrived). */
  timerRequests: number;
  timersCancelled: number;
}

/** The driver running each loop, while it runs (see guestDriverOf). */
const drivers = new WeakMap<object, GuestDriver>();

/**
 * The GuestDriver running `loop`, if any: lets event sources (onEvent) ask
 * for an immediate critical turn.
 *
 * @example
 * guestDriverOf(loop)?.runCriticalTurn();
 */
export function guestDriverOf(loop: object): GuestDriver | undefined {
  return drivers.get(loop);
}

/** Why a loop driven by a host without watchFd refuses file descriptors. */
const NO_WATCH_FD =
  'the GuestDriver host has no watchFd(fd, onReady), so the loop would never wake when the fd is ready; ' +
  'give the host a watchFd (docs/hosts.md), or drive the loop with a host that watches fds';

/** The selector's pollable fd, if it has one (EpollSelector's `epollFd`). */
function pollableFd(selector: unknown): number | undefined {
  const fd = (selector as { epollFd?: unknown }).epollFd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

function defaultNow(): () => number {
  const perf = (globalThis as { performance?: { now(): number } }).performance;
  if (perf === undefined || typeof perf.now !== 'function') {
    throw new TypeError('GuestDriver needs host.now() or globalThis.performance.now()');
  }
  return () => perf.now();
}

/**
 * Runs an eventide loop as a guest of another loop: one tick per host
 * callback, requested only when the loop has something to do.
 *
 * @example
 * const loop = new EventLoop();
 * const driver = new GuestDriver(loop, {
 *   callSoon: (cb) => void setImmediate(cb), // a browser: a MessageChannel message
 *   callLater: (ms, cb) => { const t = setTimeout(cb, ms); return () => clearTimeout(t); },
 * });
 * const stopped = driver.start(); // resolves after loop.stop() or driver.stop()
 * loop.callLater(100, () => loop.stop());
 * await stopped;
 */
export class GuestDriver {
  readonly loop: EventLoop;
  readonly #host: GuestHost;
  readonly #budgetMs: number;
  readonly #now: () => number;
  #attachment: GuestAttachment | null = null;
  /** True while a "soon" request is outstanding with the host. */
  #soonPending = false;
  /** Cancels the outstanding host timer; null when there is none. */
  #cancelTimer: (() => void) | null = null;
  /** Loop time the outstanding host timer was asked for. */
  #timerDueMs = Infinity;
  #cancelFdWatch: (() => void) | null = null;
  /** True while a turn is on the stack (re-entrance guard). */
  #inTurn = false;
  #turnStartMs = 0;
  /**
   * The context every turn runs in, captured when start() was called
   * (the loop's captureTaskContext), or null. runForever runs each of its
   * ticks in one such context; without it a turn would run in that of the
   * host callback that ran it, which depends on who last woke the driver.
   */
  #context: TaskContext | null = null;
  #resolveStopped: (() => void) | null = null;
  #rejectStopped: ((error: unknown) => void) | null = null;
  #stats = { turns: 0, turnsCut: 0, reentriesDeferred: 0, soonRequests: 0, timerRequests: 0, timersCancelled: 0 };

  // Host callbacks, bound once.
  readonly #onSoon = (): void => {
    this.#soonPending = false;
    this.#turn();
  };
  readonly #onTimer = (): void => {
    this.#cancelTimer = null;
    this.#timerDueMs = Infinity;
    this.#turn();
  };
  readonly #onFdReady = (): void => this.#turn();
  /** Called by the loop when work arrives from outside a tick while we are idle. */
  readonly #onOutsideWork = (): void => this.#plan();
  readonly #always = (): boolean => true;
  readonly #shouldYield = (): boolean => {
    if (this.#now() - this.#turnStartMs >= this.#budgetMs) return true;
    return this.#host.shouldYield !== undefined && this.#host.shouldYield();
  };

  /**
   * @example
   * const driver = new GuestDriver(loop, host, { budgetMs: 8 });
   */
  constructor(loop: EventLoop, host: GuestHost, options: GuestDriverOptions = {}) {
    if (loop === null || typeof loop !== 'object' || typeof loop.runOnce !== 'function') {
      throw new TypeError(`GuestDriver: loop must be an EventLoop, got ${describe(loop)}`);
    }
    if (host === null || typeof host !== 'object') throw new TypeError(`GuestDriver: host must be an object, got ${describe(host)}`);
    checkCallback(host.callSoon, 'GuestDriver: host.callSoon');
    checkCallback(host.callLater, 'GuestDriver: host.callLater');
    if (host.watchFd !== undefined) checkCallback(host.watchFd, 'GuestDriver: host.watchFd');
    if (host.shouldYield !== undefined) checkCallback(host.shouldYield, 'GuestDriver: host.shouldYield');
    if (host.now !== undefined) checkCallback(host.now, 'GuestDriver: host.now');
    const budgetMs = options.budgetMs ?? DEFAULT_HOST_SLICE_MS;
    if (typeof budgetMs !== 'number' || !(budgetMs > 0)) {
      throw new RangeError(`GuestDriver: budgetMs must be a number > 0 (Infinity: no budget), got ${describe(budgetMs)}`);
    }
    this.loop = loop;
    this.#host = host;
    this.#budgetMs = budgetMs;
    this.#now = host.now !== undefined ? host.now.bind(host) : defaultNow();
  }

  /** Whether the driver is running the loop. */
  get running(): boolean {
    return this.#attachment !== null;
  }

  /**
   * Starts driving the loop: the loop counts as running from now on. The
   * first tick is requested from the host, never run inline. Resolves when
   * the driver stops — after a tick in which `loop.stop()` was called, or
   * on `driver.stop()`.
   *
   * @example
   * const stopped = driver.start();
   * // ... later, from a callback or task: loop.stop();
   * await stopped;
   */
  start(): Promise<void> {
    if (this.#attachment !== null) throw new RuntimeError('GuestDriver.start: already started');
    if (this.loop.isClosed()) throw new RuntimeError('GuestDriver.start: the event loop is closed');
    const fd = pollableFd(this.loop.selector);
    // Without watchFd nothing would ever tell the driver an fd is ready: refuse fds clearly instead.
    const noFdsReason = this.#host.watchFd === undefined && this.loop.selector.supportsFds ? NO_WATCH_FD : null;
    if (noFdsReason !== null && this.loop.selector.fdCount > 0) {
      throw new TypeError(`GuestDriver.start: the loop watches ${this.loop.selector.fdCount} file descriptor(s), but ${noFdsReason}`);
    }
    // Before attaching: a capture that throws leaves nothing started.
    this.#context = this.loop.captureTaskContext === null ? null : checkTaskContext(this.loop.captureTaskContext(), 'GuestDriver.start: what captureTaskContext returned');
    this.#attachment = this.loop.attachGuest(this.#onOutsideWork, noFdsReason);
    drivers.set(this.loop, this);
    const stopped = new Promise<void>((resolve, reject) => {
      this.#resolveStopped = resolve;
      this.#rejectStopped = reject;
    });
    if (fd !== undefined && this.#host.watchFd !== undefined) this.#cancelFdWatch = this.#host.watchFd(fd, this.#onFdReady);
    this.#plan();
    return stopped;
  }

  /**
   * Stops driving the loop: cancels what was requested from the host and
   * resolves `start()`'s promise. The loop stays open (close it yourself).
   * Called from inside a tick, it takes effect when that tick ends.
   *
   * @example
   * driver.stop();
   * loop.close();
   */
  stop(): void {
    if (this.#attachment === null) return;
    if (this.#inTurn) {
      this.loop.stop(); // ends the driver when the current tick returns
      return;
    }
    this.#finish(null);
  }

  /**
   * Runs one guest turn now, from a host callback that is not one of the
   * driver's own — e.g. a requestAnimationFrame callback, so that frame
   * work runs before the browser paints. Refused (returns false) inside
   * another turn or when not started.
   *
   * @example
   * requestAnimationFrame(() => { resolveFrameWaiters(); driver.runTurn(); });
   */
  runTurn(): boolean {
    if (this.#attachment === null || this.#inTurn) {
      if (this.#inTurn) this.#stats.reentriesDeferred++;
      return false;
    }
    this.#turn();
    return true;
  }

  /**
   * Runs the loop's critical lane now, and nothing else — from the host
   * callback of an urgent event (onEvent does this for 'critical' DOM
   * events), so its handler runs in the event's own host task instead of
   * waiting for the next turn. Refused (returns false) inside another turn
   * or when not started.
   *
   * @example
   * button.addEventListener('click', () => { loop.callSoon(onClick, { priority: 'critical' }); driver.runCriticalTurn(); });
   */
  runCriticalTurn(): boolean {
    if (this.#attachment === null || this.#inTurn) {
      if (this.#inTurn) this.#stats.reentriesDeferred++;
      return false;
    }
    this.#turn(true);
    return true;
  }

  /**
   * Runs `main` (a coroutine, generator function, or Future) to completion
   * under this driver and returns its result; the driver stops afterwards.
   *
   * @example
   * const value = await driver.runUntilComplete(function* () { yield* sleep(10); return 1; });
   */
  async runUntilComplete<T>(main: CoroutineLike<T> | Future<T>): Promise<T> {
    const target: Future<T> = main instanceof Future ? main : this.loop.createTask(main, { name: 'main' });
    if (target.loop !== this.loop) throw new RuntimeError(`GuestDriver.runUntilComplete: ${target} belongs to a different event loop`);
    const withdrawStop = stopWhenDone(target);
    try {
      await this.start();
    } finally {
      withdrawStop();
    }
    if (!target.done()) throw new RuntimeError('GuestDriver.runUntilComplete: the driver stopped before the future completed');
    return target.result();
  }

  /** A frozen snapshot of the driver's counters. */
  statistics(): Readonly<GuestDriverStatistics> {
    return Object.freeze({ ...this.#stats });
  }

  /** One guest turn: exactly one tick, within the budget (or of the critical lane only). */
  #turn(criticalOnly = false): void {
    const attachment = this.#attachment;
    if (attachment === null) return; // a late callback after stop()
    if (this.#inTurn) {
      // A nested host loop dispatched us from inside a guest callback. Run
      // nothing: the outer turn plans the next one when it unwinds.
      this.#stats.reentriesDeferred++;
      return;
    }
    this.#inTurn = true;
    attachment.idle(false);
    this.#stats.turns++;
    this.#turnStartMs = this.#now();
    let cut = false;
    const shouldYield = criticalOnly ? this.#always : this.#shouldYield;
    try {
      const askYield = (): boolean => (cut = shouldYield());
      const context = this.#context;
      if (context === null) this.loop.runOnce(0, askYield);
      else context(() => this.loop.runOnce(0, askYield)); // the closure only for a loop with contexts
    } catch (error) {
      this.#inTurn = false;
      this.#finish(error);
      return;
    }
    this.#inTurn = false;
    if (cut && !criticalOnly) this.#stats.turnsCut++;
    if (attachment.takeStop()) this.#finish(null);
    else this.#plan();
  }

  /**
   * After a turn, or when work arrived from outside: make the one request
   * the loop needs — "soon" if work is ready, a timer for its earliest
   * deadline, or nothing — and cancel a timer that is no longer needed.
   */
  #plan(): void {
    const attachment = this.#attachment;
    if (attachment === null || this.#inTurn) return;
    const waitMs = this.loop.timeUntilWorkMs();
    if (waitMs === 0) {
      attachment.idle(false); // a turn is coming: outside work needs no wake-up
      this.#dropTimer();
      if (!this.#soonPending) {
        this.#soonPending = true;
        this.#stats.soonRequests++;
        this.#host.callSoon(this.#onSoon);
      }
      return;
    }
    if (waitMs === Infinity) {
      this.#dropTimer();
    } else {
      const dueMs = this.loop.time() + waitMs;
      // Keep an outstanding timer that fires no later than needed: one due
      // slightly early costs only an empty turn.
      if (this.#cancelTimer === null || dueMs < this.#timerDueMs - 0.001) {
        this.#dropTimer();
        this.#timerDueMs = dueMs;
        this.#stats.timerRequests++;
        this.#cancelTimer = this.#host.callLater(waitMs, this.#onTimer);
      }
    }
    attachment.idle(true);
  }

  #dropTimer(): void {
    const cancel = this.#cancelTimer;
    if (cancel === null) return;
    this.#cancelTimer = null;
    this.#timerDueMs = Infinity;
    this.#stats.timersCancelled++;
    cancel();
  }

  #finish(error: unknown): void {
    const attachment = this.#attachment;
    if (attachment === null) return;
    this.#attachment = null;
    this.#context = null;
    attachment.detach();
    if (drivers.get(this.loop) === this) drivers.delete(this.loop);
    this.#dropTimer();
    this.#cancelFdWatch?.();
    this.#cancelFdWatch = null;
    // An outstanding "soon" cannot be withdrawn; #turn ignores it once stopped.
    this.#soonPending = false;
    const resolve = this.#resolveStopped;
    const reject = this.#rejectStopped;
    this.#resolveStopped = this.#rejectStopped = null;
    if (error === null) resolve?.();
    else reject?.(error);
  }
}
