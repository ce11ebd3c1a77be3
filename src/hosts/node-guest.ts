/**
 * NodeGuestHost: an idle eventide loop sleeps inside Node's own loop.
 *
 * When `runForever` has nothing to do it asks its host to wait. This host
 * lets libuv do the waiting, so Node's timers, sockets, fs callbacks and
 * child processes run as usual while eventide sleeps, and the process uses
 * no thread and no CPU of its own when idle:
 *
 *  - a libuv poll watcher (native/uvwatch.c) on the selector's epoll fd,
 *    which is readable whenever a registered fd is ready (EpollSelector,
 *    fact 7). Its callback ends the wait (or runs the tick, below); the
 *    loop's tick then runs `select(0)` and queues the ready handlers. Wake-ups from other
 *    threads need nothing extra: the selector's wake-up eventfd is in the
 *    same epoll set, so writing it makes the epoll fd readable too;
 *  - a Node timer for the deadline (the loop's next timer), when finite;
 *  - `wake()`, for work scheduled from outside a tick (a settled promise,
 *    `stop()`), which ends the wait directly.
 * Whichever comes first ends the wait, and the others are withdrawn.
 *
 * The watcher and the deadline timer do not end the wait when the loop
 * gave its tick (LoopHost's HostTick, which runForever does on a real
 * clock): they run the tick right there, in Node's callback, and the wait
 * goes on for as long as the tick says the loop stays idle (a deadline
 * timer already due no later is kept). A wake-up then costs no promise
 * and no microtask hop; the microtask checkpoint after Node's callback is
 * the one after the tick. The wait ends when the tick leaves work ready
 * or stops the loop.
 *
 * Invariants:
 *  - the watcher is started while a wait is pending, and keeps Node's
 *    process alive (is ref'd) only then. Keeping the process alive is
 *    right while the loop waits and wrong afterwards: a program that stops
 *    its loop without closing it must still be able to exit. Stopping and
 *    restarting the watcher per wait would cost three epoll_ctl calls on
 *    libuv's set (uv_poll_start begins with a stop), a tenth of a wake-up,
 *    and a running loop waits again within microseconds. So the end of a
 *    wait leaves the watcher started and only unrefs it (uv_unref: a flag,
 *    no system call), and the next wait refs it again. A watcher callback
 *    with no wait pending (the loop is busy, or has stopped for good)
 *    stops it: the epoll fd stays readable until the loop's next
 *    select(), so a started watcher would make libuv call it on every
 *    turn of Node's loop;
 *  - the watcher is opened lazily (a loop that never waits never touches
 *    libuv) and closed in `close()`. Closing it removes the epoll fd from
 *    libuv's set by number, and the loop closes its selector before its
 *    host (and a watcher closed from inside its own callback is released
 *    when the callback returns), so that number may already be closed.
 *    That is harmless: libuv adds fds to its set only at the start of its
 *    next poll, so a stale DEL finds nothing (ENOENT or EBADF);
 *  - promise continuations need no help here: libuv calls the watcher and
 *    the timer as ordinary Node callbacks, and Node drains the microtask
 *    queue after each.
 */
import { describe } from '../core/assert.js';
import { RuntimeError } from '../core/errors.js';
import { DEFAULT_HOST_SLICE_MS, GlobalTimersHost, type HostTick, type LoopHost } from '../core/host.js';
import type { Selector } from '../core/selector.js';
import { checkErrno } from '../io/errors.js';
import { syscalls as sys } from '../io/syscalls.js';

/** A selector whose whole fd set can be watched through one fd (EpollSelector). */
export interface PollableSelector extends Selector {
  /** Readable whenever one of the selector's fds (or its wake-up fd) is ready. */
  readonly epollFd: number;
}

/** Whether `selector` offers an epoll fd a guest host can hand to Node. */
export function isPollableSelector(selector: unknown): selector is PollableSelector {
  const fd = (selector as { epollFd?: unknown } | null)?.epollFd;
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0;
}

export interface NodeHostOptions {
  /** How long the loop may keep the thread before Node gets a turn (ms, > 0). Default 5. */
  sliceMs?: number;
}

/**
 * A LoopHost for Node in which Node's loop does the waiting: an idle
 * eventide loop is woken by its fds (through the selector's epoll fd), its
 * next timer, or `wake()`, and everything Node owns keeps running.
 *
 * @example
 * import { EventLoop } from 'eventide';
 * import { EpollSelector, NodeGuestHost } from 'eventide/node';
 * const selector = new EpollSelector();
 * const loop = new EventLoop({ selector, host: new NodeGuestHost(selector) });
 * loop.addReader(fd, () => onReadable());
 * await loop.runForever(); // idles inside Node's loop until stop()
 */
export class NodeGuestHost implements LoopHost {
  readonly #epollFd: number;
  /** Turns (setImmediate), the time slice, and the promise each wait returns. */
  readonly #turns: GlobalTimersHost;
  /** libuv watcher id on `#epollFd`; -1 until the first wait. */
  #watcher = -1;
  /** Whether the watcher is started, and whether it keeps the process alive (see the invariants above). */
  #started = false;
  #refd = false;
  /** True while a wait is pending. */
  #waiting = false;
  /** The deadline timer of the pending wait, if it has a finite one. */
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** performance.now() at which #timer fires. */
  #timerDueMs = Infinity;
  /** The loop's tick for the pending wait, if it gave one (LoopHost). */
  #tick: HostTick | null = null;
  readonly #perf: { now(): number } = performance;
  /** wake() came while no wait was pending: the next wait ends at once. */
  #wakePending = false;
  #closed = false;

  readonly #endWait = (): void => {
    if (!this.#waiting) return;
    this.#waiting = false;
    this.#tick = null;
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
      this.#timerDueMs = Infinity;
    }
    if (this.#refd) {
      this.#refd = false;
      sys.uvPollRef(this.#watcher, false);
    }
    this.#turns.wake(); // resolves the pending #turns.wait(Infinity) and restarts the slice
  };

  /** libuv calls this from Node's loop while the epoll fd is readable (or with -errno). */
  readonly #onReadable = (eventsOrNegErrno: number): void => {
    // An error (the fd was closed under us) also ends the wait: the loop's
    // next select() meets it and reports it properly. libuv has stopped the
    // watcher then; the next wait starts it again.
    if (eventsOrNegErrno < 0) this.#stopWatcher();
    if (this.#waiting) this.#loopsTurn();
    else this.#stopWatcher(); // ready fds while the loop is busy: its ticks poll them anyway
  };

  readonly #onTimer = (): void => {
    this.#timer = null;
    this.#timerDueMs = Infinity;
    if (this.#waiting) this.#loopsTurn();
  };

  /**
   * The wait is over for the loop (its epoll fd, its deadline). With the
   * loop's tick (LoopHost, HostTick) the tick runs right here, in Node's
   * callback, and the wait goes on for as long as it says; the microtask
   * checkpoint is the one after this callback. Without one, or when the
   * tick says 0, the wait ends.
   */
  #loopsTurn(): void {
    const tick = this.#tick;
    if (tick === null) return this.#endWait();
    const nextWaitMs = tick();
    if (!this.#waiting) return; // ended meanwhile (close())
    if (!(nextWaitMs > 0)) return this.#endWait();
    if (nextWaitMs !== Infinity) this.#armTimer(nextWaitMs);
  }

  /**
   * A deadline timer for a wait of `timeoutMs`. A pending one due no later
   * is kept: one that fires early only makes the loop wait again, and
   * re-arming costs more than that.
   */
  #armTimer(timeoutMs: number): void {
    const dueMs = this.#perf.now() + timeoutMs;
    if (this.#timer !== null) {
      if (this.#timerDueMs <= dueMs + 1) return;
      clearTimeout(this.#timer);
    }
    // Whole ms, at least 1: Node's timers have ms resolution, and a timer
    // that fires a little early only makes the loop wait again.
    this.#timer = setTimeout(this.#onTimer, Math.max(1, Math.ceil(Math.min(timeoutMs, 2 ** 31 - 1))));
    this.#timerDueMs = dueMs;
  }

  /**
   * @example
   * const host = new NodeGuestHost(selector, { sliceMs: 8 });
   */
  constructor(selector: PollableSelector, options: NodeHostOptions = {}) {
    if (!isPollableSelector(selector)) {
      throw new TypeError(
        `NodeGuestHost: selector must have an epollFd for Node to watch (an EpollSelector), got ${describe(selector)}; ` +
          `with another selector use NodeBlockingHost`,
      );
    }
    const sliceMs = options?.sliceMs ?? DEFAULT_HOST_SLICE_MS;
    if (typeof sliceMs !== 'number' || !(sliceMs > 0)) {
      throw new RangeError(`NodeGuestHost: sliceMs must be a number > 0, got ${describe(sliceMs)}`);
    }
    this.#epollFd = selector.epollFd;
    // The watcher keeps Node alive during waits: no keep-alive timer needed.
    this.#turns = new GlobalTimersHost(sliceMs, { keepAlive: false });
  }

  /**
   * Waits until the selector's epoll fd is readable, `timeoutMs` passes
   * (Infinity: no deadline), or `wake()`; Node's loop does the sleeping.
   */
  wait(timeoutMs: number, tick?: HostTick): Promise<void> {
    if (this.#closed) throw new RuntimeError('NodeGuestHost.wait: the host is closed');
    if (this.#waiting) throw new RuntimeError('NodeGuestHost.wait: a wait is already pending (one at a time)');
    if (this.#wakePending || !(timeoutMs > 0)) {
      this.#wakePending = false;
      return this.#turns.yieldToHost();
    }
    this.#startWatcher();
    this.#waiting = true;
    this.#tick = tick ?? null;
    if (timeoutMs !== Infinity) this.#armTimer(timeoutMs);
    return this.#turns.wait(Infinity);
  }

  /** Ends the pending wait; with none pending, the next wait ends at once. */
  wake(): void {
    if (this.#waiting) this.#endWait();
    else this.#wakePending = true;
  }

  /** Resolves after Node has had one turn (setImmediate). */
  yieldToHost(): Promise<void> {
    return this.#turns.yieldToHost();
  }

  /** True once the loop has held the thread for a slice; cheap (see GlobalTimersHost). */
  shouldYield(): boolean {
    return this.#turns.shouldYield();
  }

  /** Ends a pending wait and releases the libuv watcher. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#endWait();
    if (this.#watcher >= 0) {
      sys.uvPollClose(this.#watcher);
      this.#watcher = -1;
      this.#started = this.#refd = false;
    }
    this.#turns.close();
  }

  /** Starts the watcher if it is not, and makes it keep the process alive. */
  #startWatcher(): void {
    if (!this.#started) {
      const what = `NodeGuestHost: watching epoll fd ${this.#epollFd}`;
      if (this.#watcher < 0) {
        this.#watcher = checkErrno(sys.uvPollOpen(this.#epollFd, this.#onReadable), 'uv_poll_init', what);
        this.#refd = true; // a new libuv handle is ref'd
      }
      checkErrno(sys.uvPollStart(this.#watcher), 'uv_poll_start', what);
      this.#started = true;
    }
    if (!this.#refd) {
      this.#refd = true;
      sys.uvPollRef(this.#watcher, true);
    }
  }

  #stopWatcher(): void {
    if (!this.#started) return;
    this.#started = false;
    sys.uvPollStop(this.#watcher);
  }
}
