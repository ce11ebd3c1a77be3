/**
 * NodeBlockingHost: an idle eventide loop sleeps in its own epoll_wait,
 * with Node's pending work folded into that one wait.
 *
 * The loop's selector gets two extra fds, registered and hidden by
 * `NodeBlockingSelector` (not counted in `fdCount`, never reported to the
 * loop, refused to anyone else): libuv's backend fd (Node's epoll fd,
 * `uvBackendFd()`), readable whenever one of Node's sockets, pipes, child
 * processes, signals or thread-pool completions needs attention; and the
 * selector's own wake-up eventfd, so that a wake-up from another thread is
 * seen as such. Node's timers are not fds: the wait is capped by libuv's
 * next timer (`uvBackendTimeout()`). So one epoll_wait ends on the loop's
 * fds, a wake-up, the loop's deadline, Node's I/O or Node's next timer.
 * The first three end the loop's wait. The last two only give Node its
 * turn: the host returns to libuv, which runs its callbacks, and then
 * blocks again for the rest of the loop's wait — the loop itself is not
 * disturbed (unless one of Node's callbacks schedules eventide work,
 * which calls `wake()` as from any host).
 *
 * Where the blocking happens, and why there:
 *
 * 1. Never inside a microtask. `runForever` calls `wait()` from a promise
 *    continuation; blocking right there would freeze promise chains and
 *    `process.nextTick` callbacks queued by the tick that just ran (a
 *    `fetch` in progress, a stream's 'end'), which only run once the
 *    microtask queue is empty. JavaScript offers no way to ask whether it
 *    is. So `wait()` only arms the turn (2) and returns; the blocking happens
 *    at the start of a fresh Node callback, where both queues are empty.
 *
 * 2. After libuv's poll phase, from a "turn" (native/uvturn.c): a libuv
 *    check handle that calls the host while armed, plus an idle handle
 *    that, while armed, keeps libuv's own poll from blocking (libuv polls
 *    with timeout 0 while an idle handle is started). `wait()` arms it: a
 *    flag and two queue operations, no system call. In the check phase
 *    `uvBackendTimeout()` tells the truth about Node: its next timer, or 0
 *    when it has work right now (pending immediates, deferred I/O
 *    callbacks, closing handles, or fds it has yet to add to its epoll
 *    set). The turn passes it to `#onTurn`, which blocks for the shorter
 *    of it and the loop's deadline.
 *
 * 3. Who goes next. If the loop's fds (or its deadline) ended the select,
 *    the host runs the loop's tick right there (LoopHost's HostTick, given
 *    by runForever on a real clock) and the wait goes on for as long as
 *    the tick says the loop stays idle; and if Node had nothing, the turn
 *    calls `#onTurn` again at once, after the microtask checkpoint that
 *    follows each call, without a round through libuv's loop: a wake-up
 *    costs the loop's epoll_wait, no promise and nothing of Node's. The
 *    wait ends (the loop's promise continuation takes over) when the tick
 *    leaves work ready or stops the loop, on `wake()`, or, without a tick
 *    to run, at once. If Node's
 *    fd was readable, Node's timer is due, or Node had work to begin with
 *    (then the loop's fds are only polled, so that Node always having
 *    work cannot starve the loop), `#onTurn` returns true and stays armed:
 *    libuv dispatches its events, runs its check, close and timer phases,
 *    and calls the turn again after its next (non-blocking) poll. No
 *    setImmediate is involved. The turn keeps Node's process alive only
 *    while armed, so a loop that stopped for good does not keep Node
 *    alive.
 *
 * 4. Events the blocking select saw for the loop's own fds are kept, and
 *    the loop's next select (its tick's `select(0)`, right after the wait
 *    resolves) reports them without a system call. They are dropped if the
 *    loop registers, modifies or unregisters any fd before that select (a
 *    promise continuation may remove a reader, and its fd number may even
 *    be reused): that select then polls afresh. libuv's fd stays readable
 *    while its set has events libuv has not yet taken (more than one poll
 *    takes); the select then reports Node's fd and Node gets its turn, in
 *    which libuv takes them. It never spins: each such round goes through
 *    libuv's poll.
 *
 * Invariants: the turn is armed exactly while a wait is pending; a wait
 * ends exactly once (#endWait), by `#onTurn`, `wake()` or `close()`.
 */
import { describe } from '../core/assert.js';
import { RuntimeError } from '../core/errors.js';
import { DEFAULT_HOST_SLICE_MS, GlobalTimersHost, type HostTick, type LoopHost } from '../core/host.js';
import { EVENT_READ, type ReadyCallback, type Selector } from '../core/selector.js';
import { checkErrno } from '../io/errors.js';
import { createWakeupFd, signalWakeupFd } from '../io/selector-support.js';
import { syscalls as sys } from '../io/syscalls.js';
import type { NodeHostOptions } from './node-guest.js';

const ignoreReady: ReadyCallback = () => {};

/** What ended a `NodeBlockingSelector.waitForAny`: the loop's fds or a wake-up, Node's fd, or neither (timeout, EINTR). */
export type WaitOutcome = 'loop' | 'node' | 'none';

/**
 * The loop's selector with libuv's backend fd and a wake-up eventfd folded
 * in: both registered with the wrapped selector, both hidden from the loop
 * (not counted, never reported). Everything else is passed through.
 *
 * @example
 * const selector = new NodeBlockingSelector(new EpollSelector());
 * selector.fdCount;              // 0: its own two fds are not counted
 * selector.waitForAny(100);      // 'loop', 'node' or 'none'
 */
export class NodeBlockingSelector implements Selector {
  readonly name: string;
  readonly supportsFds = true;
  /** libuv's backend fd (Node's epoll fd), watched for reading; never closed here. */
  readonly nodeFd: number;
  /** Writing a count to it (eventfdWrite) wakes the loop, from any thread. */
  readonly wakeupFd: number;
  readonly #inner: Selector;
  /** The callback of the select in progress (the loop's, or #keep). */
  #onReady: ReadyCallback = ignoreReady;
  /** [fd, events] pairs the last waitForAny saw for the loop's fds, for the next select (point 4 above). */
  #kept = new Int32Array(64);
  #keptCount = 0;
  readonly #keep = (fd: number, events: number): void => {
    const at = 2 * this.#keptCount++;
    if (at === this.#kept.length) {
      const grown = new Int32Array(2 * at);
      grown.set(this.#kept);
      this.#kept = grown;
    }
    this.#kept[at] = fd;
    this.#kept[at + 1] = events;
  };
  /** What the last select saw besides the loop's fds. */
  #nodeReady = false;
  #woken = false;
  #closed = false;
  readonly #forward = (fd: number, events: number): void => {
    if (fd === this.nodeFd) {
      this.#nodeReady = true;
    } else if (fd === this.wakeupFd) {
      sys.eventfdRead(fd); // drain: many wake-ups coalesce into one
      this.#woken = true;
    } else {
      this.#onReady(fd, events);
    }
  };

  constructor(inner: Selector) {
    if (inner === null || typeof inner !== 'object' || typeof inner.select !== 'function' || !inner.supportsFds) {
      throw new TypeError(`NodeBlockingSelector: inner must be a selector that watches fds (EpollSelector, PollSelector), got ${describe(inner)}`);
    }
    this.#inner = inner;
    this.name = inner.name;
    this.nodeFd = checkErrno(sys.uvBackendFd(), 'uv_backend_fd', 'NodeBlockingSelector');
    this.wakeupFd = createWakeupFd('NodeBlockingSelector');
    try {
      inner.register(this.nodeFd, EVENT_READ);
      inner.register(this.wakeupFd, EVENT_READ);
    } catch (error) {
      sys.close(this.wakeupFd);
      throw error;
    }
  }

  /** Number of fds registered by the loop (its own two are not counted). */
  get fdCount(): number {
    return this.#inner.fdCount - 2;
  }

  register(fd: number, events: number): void {
    this.#refuseOwnFd(fd, 'register');
    this.#keptCount = 0;
    this.#inner.register(fd, events);
  }

  modify(fd: number, events: number): void {
    this.#refuseOwnFd(fd, 'modify');
    this.#keptCount = 0;
    this.#inner.modify(fd, events);
  }

  unregister(fd: number): void {
    this.#refuseOwnFd(fd, 'unregister');
    this.#keptCount = 0;
    this.#inner.unregister(fd);
  }

  /**
   * The wrapped selector's select, minus its own two fds. If the last
   * waitForAny saw loop fds ready (and no fd was registered, modified or
   * unregistered since), reports those instead, without a system call.
   */
  select(timeoutMs: number, onReady: ReadyCallback): number {
    const kept = this.#keptCount;
    if (kept > 0) {
      this.#keptCount = 0;
      const pairs = this.#kept;
      for (let i = 0; i < 2 * kept; i += 2) onReady(pairs[i] as number, pairs[i + 1] as number);
      return kept;
    }
    this.#onReady = onReady;
    this.#nodeReady = this.#woken = false;
    const reported = this.#inner.select(timeoutMs, this.#forward);
    return reported - (this.#nodeReady ? 1 : 0) - (this.#woken ? 1 : 0);
  }

  /** Whether the last select (or waitForAny) saw Node's fd ready. */
  get sawNodeReady(): boolean {
    return this.#nodeReady;
  }

  /**
   * Blocks until any fd is ready or `timeoutMs` passes, and keeps the
   * loop's ready fds for the next select (point 4 above). Says what ended
   * it: 'loop' (a loop fd or a wake-up; these win), 'node' (Node's fd
   * only), or 'none' (timeout or a signal).
   */
  waitForAny(timeoutMs: number): WaitOutcome {
    this.#keptCount = 0;
    const loopFds = this.select(timeoutMs, this.#keep);
    return loopFds > 0 || this.#woken ? 'loop' : this.#nodeReady ? 'node' : 'none';
  }

  /** Makes a blocked or the next select return promptly. A no-op after close. */
  wakeup(): void {
    if (!this.#closed) signalWakeupFd(this.wakeupFd, 'NodeBlockingSelector.wakeup');
  }

  /** Closes the wrapped selector and the wake-up eventfd (Node's fd stays open: it is Node's). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#keptCount = 0;
    this.#inner.close(); // drops both registrations with its set
    sys.close(this.wakeupFd);
  }

  #refuseOwnFd(fd: number, what: string): void {
    if (fd === this.nodeFd) {
      throw new Error(`${this.name}.${what}: fd ${fd} is Node's own event-loop fd (libuv's backend), which this selector watches internally`);
    }
    if (fd === this.wakeupFd) {
      throw new Error(`${this.name}.${what}: fd ${fd} is this selector's own wake-up eventfd`);
    }
  }
}

/** Counters kept by a NodeBlockingHost (a frozen snapshot). */
export interface NodeBlockingHostStatistics {
  /** Waits that armed the turn (not counting those that ended at once). */
  waits: number;
  /** Turns that found Node with work already pending: the loop's fds were polled, not waited on. */
  nodeBusy: number;
  /** Blocking selects whose timeout was Node's next timer rather than the loop's deadline. */
  nodeTimerCaps: number;
  /** Blocking selects that ended with only Node's fd ready: Node got its turn, the wait went on. */
  nodeWakeups: number;
  /** Loop ticks the host ran from its turn while a wait went on (LoopHost's HostTick). */
  ticksRun: number;
}

/**
 * A LoopHost for Node in which the loop waits in its own epoll_wait, with
 * Node's I/O fd and next timer folded in. The loop must use this host's
 * `selector` (the given one, with Node's fd added and hidden).
 *
 * @example
 * import { EventLoop } from 'eventide';
 * import { EpollSelector, NodeBlockingHost } from 'eventide/node';
 * const host = new NodeBlockingHost(new EpollSelector());
 * const loop = new EventLoop({ selector: host.selector, host });
 */
export class NodeBlockingHost implements LoopHost {
  /** The selector to give the loop: the one passed in, with Node's fd folded in. */
  readonly selector: NodeBlockingSelector;
  readonly #turns: GlobalTimersHost;
  readonly #perf: { now(): number } = performance;
  /** The native turn (native/uvturn.c) that calls #onTurn; -1 until the first wait. */
  #turn = -1;
  /** Whether the turn is armed: exactly while a wait is pending. */
  #armed = false;
  /** True while a wait is pending. */
  #waiting = false;
  /** performance.now() by which the pending wait must end (Infinity: none). */
  #deadlineMs = Infinity;
  /** The loop's tick for the pending wait, if it gave one (LoopHost). */
  #tick: HostTick | null = null;
  #wakePending = false;
  #closed = false;
  readonly #stats = { waits: 0, nodeBusy: 0, nodeTimerCaps: 0, nodeWakeups: 0, ticksRun: 0 };

  /**
   * Called by the turn after libuv's poll phase while a wait is pending
   * (see 2-3 above). Returns true to give Node a turn before the next call.
   */
  readonly #onTurn = (nodeTimeoutMs: number): boolean => {
    if (!this.#waiting) {
      this.#disarm();
      return true;
    }
    // No clock read without a deadline (a wait on fds alone): one costs ~70 ns, a wake-up ~8 µs.
    const untilDeadlineMs = this.#deadlineMs === Infinity ? Infinity : this.#deadlineMs - this.#perf.now();
    if (untilDeadlineMs <= 0) {
      this.#loopsTurn();
      return nodeTimeoutMs === 0;
    }
    if (nodeTimeoutMs === 0) {
      // Node has work now: no blocking. But Node may always have work (a
      // setImmediate chain), so the loop's fds are polled on every such
      // turn, or they would never be looked at.
      this.#stats.nodeBusy++;
      if (this.selector.waitForAny(0) === 'loop') this.#loopsTurn();
      return true; // Node's turn; if still waiting, called again after it
    }
    const capped = nodeTimeoutMs > 0 && nodeTimeoutMs < untilDeadlineMs;
    if (capped) this.#stats.nodeTimerCaps++;
    const outcome = this.selector.waitForAny(capped ? nodeTimeoutMs : untilDeadlineMs);
    if (outcome === 'loop' || (this.#deadlineMs !== Infinity && this.#deadlineMs <= this.#perf.now())) {
      const nodeReady = this.selector.sawNodeReady;
      this.#loopsTurn();
      return nodeReady;
    }
    if (outcome === 'node') this.#stats.nodeWakeups++;
    return true; // Node's turn (its I/O, its timer, a signal); then the wait goes on
  };

  /**
   * The wait is over for the loop (its fds, a wake-up, its deadline). With
   * the loop's tick (LoopHost, HostTick) the tick runs right here and the
   * wait goes on for as long as it says; the microtask checkpoint is the
   * one after this callback. Without one, or when the tick says 0, the
   * wait ends.
   */
  #loopsTurn(): void {
    const tick = this.#tick;
    if (tick === null) return this.#endWait();
    this.#stats.ticksRun++;
    const nextWaitMs = tick();
    if (!this.#waiting) return; // ended meanwhile (close())
    if (nextWaitMs > 0) this.#deadlineMs = nextWaitMs === Infinity ? Infinity : this.#perf.now() + nextWaitMs;
    else this.#endWait();
  }

  /**
   * @example
   * const host = new NodeBlockingHost(new PollSelector(), { sliceMs: 8 });
   */
  constructor(selector: Selector, options: NodeHostOptions = {}) {
    const sliceMs = options?.sliceMs ?? DEFAULT_HOST_SLICE_MS;
    if (typeof sliceMs !== 'number' || !(sliceMs > 0)) {
      throw new RangeError(`NodeBlockingHost: sliceMs must be a number > 0, got ${describe(sliceMs)}`);
    }
    this.selector = new NodeBlockingSelector(selector);
    // The turn keeps Node alive during waits: no keep-alive timer needed.
    this.#turns = new GlobalTimersHost(sliceMs, { keepAlive: false });
  }

  /**
   * Waits until an fd of the loop is ready, `timeoutMs` passes (Infinity:
   * no deadline), Node has work to do, or `wake()`.
   */
  wait(timeoutMs: number, tick?: HostTick): Promise<void> {
    if (this.#closed) throw new RuntimeError('NodeBlockingHost.wait: the host is closed');
    if (this.#waiting) throw new RuntimeError('NodeBlockingHost.wait: a wait is already pending (one at a time)');
    if (this.#wakePending || !(timeoutMs > 0)) {
      this.#wakePending = false;
      return this.#turns.yieldToHost();
    }
    this.#arm();
    this.#waiting = true;
    this.#tick = tick ?? null;
    this.#deadlineMs = timeoutMs === Infinity ? Infinity : this.#perf.now() + timeoutMs;
    this.#stats.waits++;
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

  /** A frozen snapshot of the host's counters. */
  statistics(): Readonly<NodeBlockingHostStatistics> {
    return Object.freeze({ ...this.#stats });
  }

  /** Ends a pending wait and releases the native turn. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#endWait();
    if (this.#turn >= 0) sys.uvTurnClose(this.#turn);
    this.#turn = -1;
    this.#turns.close();
  }

  #endWait(): void {
    if (!this.#waiting) return;
    this.#waiting = false;
    this.#tick = null;
    this.#disarm();
    this.#turns.wake(); // resolves the pending #turns.wait(Infinity) and restarts the slice
  }

  #arm(): void {
    if (this.#turn < 0) this.#turn = checkErrno(sys.uvTurnOpen(this.#onTurn), 'uv_check_init', 'NodeBlockingHost turn');
    if (this.#armed) return;
    this.#armed = true;
    sys.uvTurnArm(this.#turn, true);
  }

  #disarm(): void {
    if (!this.#armed) return;
    this.#armed = false;
    sys.uvTurnArm(this.#turn, false);
  }
}
