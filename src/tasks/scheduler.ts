/**
 * The WICG Prioritized Task Scheduling API (`scheduler.postTask`,
 * `scheduler.yield`) on eventide's loop, so code written for that browser
 * API runs unchanged in Node and in the browser bundle, ordered against
 * eventide's own callbacks, timers and I/O.
 *
 * ## Priorities are lanes
 *
 *   'user-blocking' → 'high'    'user-visible' (default) → 'normal'
 *   'background'    → 'low'
 *
 * 'critical' stays with eventide's own real-time work (the valve monitor,
 * an fd reader that must not wait), which must keep running first however
 * much browser-style work is queued; 'idle' stays free for work below
 * 'background'. So postTask work shares its lane with eventide work of the
 * same importance: a 'user-visible' task and a `callSoon` callback queued
 * after it run in that order, and both wait for 'high' work.
 *
 * ## Queues and pumps
 *
 * The scheduler keeps the spec's queues itself, one set per loop (shared by
 * every Scheduler bound to that loop, as the spec shares them across all
 * schedulers of an event loop): for each priority a continuation queue
 * (`yield()`) and a task queue, each ordered by enqueue order. For every
 * queued item one "pump" handle goes into the matching lane. A pump does
 * not know its item: it runs the oldest item of its priority, continuations
 * first. That gives the spec's order — highest effective priority first,
 * oldest first among equals — while each item still takes its place in its
 * lane at the moment it was queued.
 *
 * Invariant: for each priority, pumps in flight + owed pumps >= queued
 * items, and owed pumps > 0 implies a chain pump is posted or the barrier
 * is up. So every queued item is eventually run by some pump.
 *
 *  - `setPriority` moves the signal's queued items to their new queue (in
 *    enqueue order among that queue's items) and posts one pump per moved
 *    item into the new lane; the surplus pumps left in the old lane find
 *    nothing and return.
 *  - A pump that finds higher-priority scheduler items queued (they arrived
 *    during this tick; their pumps wait in a higher lane for the next one)
 *    does not run its item: it becomes an "owed" pump. One chain pump per
 *    lane pays owed pumps back, one item per run, re-posting itself. Owed
 *    pumps cost O(1) each, so no flood is ever re-posted item by item.
 *  - A delayed task sits on a timer in the lane of its priority; a
 *    priority change moves the timer to the new lane at the same deadline
 *    (the delay left is kept). When it fires it queues the task at the
 *    priority of that moment and acts as its pump, so a delayed task runs
 *    in the tick its deadline comes, in its timer's place in its lane.
 *
 * ## Microtasks: the barrier and inherited state
 *
 * A browser runs microtasks after every task. eventide runs a whole tick of
 * callbacks, then microtasks. An `async` postTask callback, and the code
 * after `await scheduler.yield()`, continue in microtasks, and often call
 * `yield()` or `postTask` there; the spec wants those to count before the
 * next queued task runs. So after running an async callback or resolving a
 * continuation the scheduler raises a barrier: pumps owe instead of running
 * until the async code has had its microtasks — until it yields again, its
 * promise settles, or INHERIT_GENERATIONS microtask generations pass (one
 * generation runs between two ticks). While the barrier is up the loop is
 * told an outside event is pending, so a virtual clock does not jump past
 * it. Plain (synchronous) callbacks raise no barrier: a tick runs a batch
 * of them back to back. Code that awaits the promise of a finished task
 * resumes at the loop's next microtask checkpoint, after the current tick.
 *
 * `yield()` inherits the scheduling state (priority source and abort
 * source) of the task that runs it. During a callback that is the state
 * set around the call. JavaScript has no AsyncContext yet, so across
 * `await` the state is carried by a bracket of microtasks queued around
 * the task (and around the resolution of a continuation): one that sets
 * the carried state is queued before the task's own microtasks, one that
 * clears it after them, and both re-queue themselves for each generation,
 * which keeps them around the task's descendants generation by generation.
 * Async code therefore inherits for INHERIT_GENERATIONS generations
 * (enough for `await scheduler.yield()` loops, `await` of settled promises,
 * thenables and chained `then`s); code resuming later (after a timer, I/O,
 * or a promise that settles later) gets 'user-visible' with no signal, and
 * promises settled inside a bracket hand its state to their reactions.
 *
 * ## In eventide tasks
 *
 * A generator task yields to the loop with `yield* sleep(0)`: it runs again
 * at its own priority after everything already ready in its lane — the
 * eventide-native way to yield, but behind queued work rather than ahead of
 * it. `yield* until(scheduler.yield())` goes ahead of queued 'user-visible'
 * tasks like any continuation (of no postTask task, so at 'user-visible'),
 * and the task wakes one tick after the promise settles. On a virtual
 * clock, `until(promise)` tells the loop an outside event is pending, so
 * the clock does not jump to a *delayed* postTask's timer until the loop's
 * real-time stall threshold (`virtualStallMs`) passes; to keep virtual time
 * instant, wait through a loop Future instead (`promise.then(v =>
 * future.setResult(v))`, then `yield* future`), as the tests do.
 */
import { checkCallback, describe } from '../core/assert.js';
import { BaseEventLoop } from '../core/base-event-loop.js';
import { Deque } from '../core/deque.js';
import { RuntimeError } from '../core/errors.js';
import type { TimerHandle } from '../core/handle.js';
import { LANE_HIGH, LANE_IDLE, LANE_LOW, LANE_NORMAL, type Priority } from '../core/priority.js';
import { getRunningLoop } from './event-loop.js';
import { isThenable } from './operation.js';
import { checkTaskPriority, isAbortSignalLike, TaskSignal, taskSignalHooks, type AbortSignalLike, type TaskPriority } from './task-signal.js';

/**
 * The eventide lane each scheduling-API priority runs in. 'critical' is
 * left to eventide's own real-time work (see the module comment).
 *
 * @example
 * TASK_PRIORITY_LANES['background']; // 'low': runs with loop.callSoon(cb, { priority: 'low' })
 */
export const TASK_PRIORITY_LANES: Readonly<Record<TaskPriority, Priority>> = Object.freeze({
  'user-blocking': 'high',
  'user-visible': 'normal',
  background: 'low',
});

/**
 * How many microtask generations after a task (or a continuation) the
 * barrier and the inherited state last, at most (one generation runs
 * between two loop ticks; see the module comment).
 *
 * @example
 * await scheduler.postTask(async () => {
 *   await Promise.resolve(); // generation 1
 *   await scheduler.yield(); // still inherits 'background'
 * }, { priority: 'background' });
 */
export const INHERIT_GENERATIONS = 4;

/** Rank 0 is 'user-blocking', 1 'user-visible', 2 'background'. */
const RANK_OF: Readonly<Record<TaskPriority, number>> = { 'user-blocking': 0, 'user-visible': 1, background: 2 };
const RANK_LANES: readonly number[] = [LANE_HIGH, LANE_NORMAL, LANE_LOW];
const RANKS = 3;

/**
 * The options of `scheduler.postTask`.
 *
 * @example
 * const options: SchedulerPostTaskOptions = { priority: 'background', delay: 50, signal: controller.signal };
 */
export interface SchedulerPostTaskOptions {
  /** A fixed priority; overrides the signal's. Default: the signal's priority, else 'user-visible'. */
  priority?: TaskPriority;
  /** Milliseconds (on the loop's clock) before the task is queued; default 0. */
  delay?: number;
  /** Aborts the task (a TaskSignal also gives it a priority that can change). */
  signal?: TaskSignal | AbortSignalLike;
}

/**
 * A snapshot of a scheduler's queues on one loop.
 *
 * @example
 * const { queued, delayed } = scheduler.statistics();
 */
export interface SchedulerStatistics {
  /** Tasks and continuations waiting to run, by priority. */
  readonly queued: Readonly<Record<TaskPriority, number>>;
  /** Tasks whose delay has not ended. */
  readonly delayed: number;
  /** Pump, chain and wake-up handles in the loop's ready queue. */
  readonly pendingHandles: number;
  /** Whether the scheduler is waiting for an async task's microtasks (the barrier). */
  readonly holdingForMicrotasks: boolean;
}

/** The spec's "scheduling state": what a task's `yield()` continuations inherit. */
interface SchedulingState {
  readonly abortSource: AbortSignalLike | null;
  /** A fixed priority, or the TaskSignal whose current priority applies. */
  readonly prioritySource: TaskPriority | TaskSignal;
}

/** The states of tasks with a fixed priority and no signal (the common case), shared. */
const FIXED_STATES: Readonly<Record<TaskPriority, SchedulingState>> = Object.freeze({
  'user-blocking': Object.freeze({ abortSource: null, prioritySource: 'user-blocking' }),
  'user-visible': Object.freeze({ abortSource: null, prioritySource: 'user-visible' }),
  background: Object.freeze({ abortSource: null, prioritySource: 'background' }),
});
const DEFAULT_STATE = FIXED_STATES['user-visible'];

function rankOf(state: SchedulingState): number {
  const source = state.prioritySource;
  return RANK_OF[typeof source === 'string' ? source : source.priority];
}

const DELAYED = 0;
const QUEUED = 1;
const RUNNING = 2;
const DONE = 3;

/**
 * A task or continuation, from posting until it settles its promise. It is
 * also its own bracket (see `openBracket`) and its own run context.
 */
class SchedulerItem {
  /** Enqueue order (per loop); -1 until queued. */
  seq = -1;
  /** The priority rank it is queued at (or, while delayed, the rank of its timer's lane). */
  rank = 1;
  status = DELAYED;
  /** The queue holding it while QUEUED, else null. */
  queue: SeqQueue | null = null;
  timer: TimerHandle | null = null;
  /** Its callback called `yield()` synchronously: it is suspended on a continuation. */
  yielded = false;
  /** Bracket: generations it lasts, and how many enter / leave microtasks have run. */
  generations = 1;
  entered = 0;
  left = 0;
  bracketEnded = false;
  /** Settles an async task's promise once its bracket has ended (outside any span). */
  onBracketEnd: (() => void) | null = null;
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;

  constructor(
    readonly core: SchedulerCore,
    readonly state: SchedulingState,
    readonly isContinuation: boolean,
    readonly callback: (() => unknown) | null,
  ) {
    this.resolve = capturedResolve;
    this.reject = capturedReject;
  }
}

/** `new Promise(capture)` hands its resolving functions over without a closure per promise. */
let capturedResolve: (value: unknown) => void = () => {};
let capturedReject: (reason: unknown) => void = () => {};
function capture(resolve: (value: unknown) => void, reject: (reason: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/**
 * Items ordered by `seq`. Removal is lazy: an entry whose item no longer
 * points at this queue, or is no longer QUEUED, is skipped when reached
 * (an item moved away and back has two entries; the earlier one, at its
 * right place, is the one that runs). Entries before `#head` are dead.
 */
class SeqQueue {
  #entries: SchedulerItem[] = [];
  #head = 0;
  /** Items (not entries) in the queue. */
  live = 0;

  /** Inserts in `seq` order; new items (the usual case) go at the back in O(1). */
  push(item: SchedulerItem): void {
    const entries = this.#entries;
    const last = entries.length > this.#head ? entries[entries.length - 1] : undefined;
    if (last === undefined || last.seq < item.seq) {
      entries.push(item);
    } else {
      let lo = this.#head;
      let hi = entries.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((entries[mid] as SchedulerItem).seq <= item.seq) lo = mid + 1;
        else hi = mid;
      }
      entries.splice(lo, 0, item);
    }
    item.queue = this;
    this.live++;
  }

  /** Removes and returns the oldest item, or null. */
  shift(): SchedulerItem | null {
    const entries = this.#entries;
    while (this.#head < entries.length) {
      const item = entries[this.#head] as SchedulerItem;
      this.#head++;
      if (item.queue === this && item.status === QUEUED) {
        item.queue = null;
        this.live--;
        this.#compact();
        return item;
      }
    }
    this.#entries = [];
    this.#head = 0;
    return null;
  }

  /** Takes `item` out (lazily: its entry is skipped later). */
  remove(item: SchedulerItem): void {
    item.queue = null;
    this.live--;
    this.#compact();
  }

  #compact(): void {
    if (this.live === 0) {
      this.#entries = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }
}

/** The postTask task whose callback is running right now (synchronously), or null. */
let currentRun: SchedulerItem | null = null;
/** The item whose bracket span of microtasks is running right now, or null. */
let carriedItem: SchedulerItem | null = null;

/**
 * Brackets: microtasks around one task (or continuation resolution),
 * generation by generation. An enter microtask runs before the task's own
 * microtasks of a generation and sets the carried state; a leave microtask
 * runs after them and clears it; each re-queues itself for the next
 * generation. A microtask queued by a job inside the span lands inside the
 * next generation's span, since both ends of that span were queued by the
 * ends of this one.
 *
 * The microtask functions are shared: microtasks run in the order they
 * were queued, so a FIFO of items per kind says whose turn each call is
 * (no closure per task).
 */
const entering = new Deque<SchedulerItem>();
const leaving = new Deque<SchedulerItem>();

function enterNext(): void {
  const item = entering.shift() as SchedulerItem;
  carriedItem = item;
  if (++item.entered < item.generations) {
    entering.push(item);
    queueMicrotask(enterNext);
  }
}

function leaveNext(): void {
  const item = leaving.shift() as SchedulerItem;
  if (carriedItem === item) carriedItem = null;
  if (++item.left < item.generations) {
    leaving.push(item);
    queueMicrotask(leaveNext);
  } else {
    item.bracketEnded = true;
    item.core.lowerBarrier(item);
    const finish = item.onBracketEnd;
    item.onBracketEnd = null;
    finish?.();
  }
}

/** Call before the task runs. */
function openBracket(item: SchedulerItem): void {
  entering.push(item);
  queueMicrotask(enterNext);
}

/** Call after it ran: the span lasts `generations`; `holdBarrier` raises the barrier meanwhile. */
function closeBracket(item: SchedulerItem, generations: number, holdBarrier: boolean): void {
  item.generations = generations;
  if (holdBarrier) item.core.raiseBarrier(item);
  leaving.push(item);
  queueMicrotask(leaveNext);
}

/** Settles an async task's promise from `thenable`; the barrier drops as soon as it settles. */
function settleFrom(item: SchedulerItem, thenable: PromiseLike<unknown>): void {
  const settle = (ok: boolean, value: unknown): void => {
    item.core.lowerBarrier(item);
    const finish = (): void => (ok ? item.resolve(value) : item.reject(value));
    if (item.bracketEnded) finish();
    else item.onBracketEnd = finish;
  };
  try {
    thenable.then(
      (value) => settle(true, value),
      (reason) => settle(false, reason),
    );
  } catch (error) {
    settle(false, error);
  }
}

interface PumpToken {
  readonly core: SchedulerCore;
  readonly rank: number;
}

function runPump(token: PumpToken): void {
  token.core.onPump(token.rank);
}

function runChain(token: PumpToken): void {
  token.core.onChain(token.rank);
}

function runWake(core: SchedulerCore): void {
  core.onWake();
}

function runDelayElapsed(item: SchedulerItem): void {
  item.core.onDelayElapsed(item);
}

interface SignalWatch {
  readonly items: Set<SchedulerItem>;
  readonly onEvent: () => void;
}

/** The queues of one loop, shared by every Scheduler bound to it. */
class SchedulerCore {
  readonly loop: BaseEventLoop;
  #nextSeq = 0;
  /** `#queues[rank * 2]` holds continuations, `#queues[rank * 2 + 1]` tasks. */
  readonly #queues: SeqQueue[] = [];
  readonly #queuedByRank = [0, 0, 0];
  readonly #owed = [0, 0, 0];
  readonly #chainPosted = [false, false, false];
  readonly #tokens: PumpToken[] = [];
  #pendingHandles = 0;
  #delayed = 0;
  /** The item whose bracket pumps wait for, or null. At most one: while it is up no item runs. */
  #barrier: SchedulerItem | null = null;
  /** One abort hook per signal, for all its items (a native signal's listener list is O(n)). */
  readonly #abortWatches = new Map<AbortSignalLike, SignalWatch>();
  /** One priority-change hook per dynamic TaskSignal with queued items. */
  readonly #priorityWatches = new Map<TaskSignal, SignalWatch>();

  constructor(loop: BaseEventLoop) {
    this.loop = loop;
    for (let i = 0; i < RANKS * 2; i++) this.#queues.push(new SeqQueue());
    for (let rank = 0; rank < RANKS; rank++) this.#tokens.push({ core: this, rank });
  }

  // ------------------------------------------------------------ posting

  postTask(callback: () => unknown, priority: TaskPriority | undefined, delayMs: number, signal: AbortSignalLike | undefined): Promise<unknown> {
    const promise = new Promise(capture);
    if (signal !== undefined && signal.aborted) {
      capturedReject(signal.reason);
      return promise;
    }
    let state = FIXED_STATES[priority ?? 'user-visible'];
    if (signal !== undefined) {
      let prioritySource: TaskPriority | TaskSignal = priority ?? 'user-visible';
      if (priority === undefined && signal instanceof TaskSignal) {
        prioritySource = taskSignalHooks.hasFixedPriority(signal) ? signal.priority : signal;
      }
      state = { abortSource: signal, prioritySource };
    }
    const prioritySource = state.prioritySource;
    const item = new SchedulerItem(this, state, false, callback);
    if (delayMs > 0) {
      item.rank = rankOf(item.state);
      item.timer = this.loop.scheduleTimer(this.loop.time() + delayMs, runDelayElapsed, item, RANK_LANES[item.rank] as number, delayMs);
      this.#delayed++;
    } else {
      this.#enqueue(item);
      this.#postPump(item.rank);
    }
    if (signal !== undefined) this.#watchAbort(signal, item);
    if (typeof prioritySource !== 'string') this.#watchPriority(prioritySource, item);
    return promise;
  }

  yield(): Promise<void> {
    const run = currentRun;
    const carried = run === null ? carriedItem : null;
    const state = run !== null ? run.state : carried !== null ? carried.state : DEFAULT_STATE;
    if (run !== null) run.yielded = true;
    // The async code that held the barrier has suspended on this continuation.
    if (carried !== null) carried.core.lowerBarrier(carried);
    const promise = new Promise(capture) as Promise<void>;
    const abortSource = state.abortSource;
    if (abortSource !== null && abortSource.aborted) {
      capturedReject(abortSource.reason);
      return promise;
    }
    const item = new SchedulerItem(this, state, true, null);
    this.#enqueue(item);
    this.#postPump(item.rank);
    if (abortSource !== null) this.#watchAbort(abortSource, item);
    if (typeof state.prioritySource !== 'string') this.#watchPriority(state.prioritySource, item);
    return promise;
  }

  /** The spec's enqueue steps: take the next enqueue order, join the queue of the current priority. */
  #enqueue(item: SchedulerItem): void {
    const rank = rankOf(item.state);
    item.seq = this.#nextSeq++;
    item.rank = rank;
    item.status = QUEUED;
    this.#queueOf(rank, item.isContinuation).push(item);
    this.#queuedByRank[rank] = (this.#queuedByRank[rank] as number) + 1;
  }

  #queueOf(rank: number, isContinuation: boolean): SeqQueue {
    return this.#queues[rank * 2 + (isContinuation ? 0 : 1)] as SeqQueue;
  }

  // -------------------------------------------------------------- pumps

  #postPump(rank: number): void {
    this.#pendingHandles++;
    this.loop.scheduleCallback(runPump, this.#tokens[rank], RANK_LANES[rank] as number);
  }

  /** @internal A pump handle ran. */
  onPump(rank: number): void {
    this.#pendingHandles--;
    this.#pumpOnce(rank);
  }

  /** Runs the oldest item of `rank` — unless it must wait, and then owes the run. */
  #pumpOnce(rank: number): void {
    if (this.#barrier !== null || this.#higherQueued(rank)) {
      this.#owed[rank] = (this.#owed[rank] as number) + 1;
      if (this.#barrier === null) this.#ensureChain(rank);
      return;
    }
    const item = this.#take(rank);
    if (item !== null) this.#run(item);
  }

  #higherQueued(rank: number): boolean {
    for (let higher = 0; higher < rank; higher++) if ((this.#queuedByRank[higher] as number) > 0) return true;
    return false;
  }

  #ensureChain(rank: number): void {
    if (this.#chainPosted[rank] || this.loop.isClosed()) return;
    this.#chainPosted[rank] = true;
    this.#pendingHandles++;
    this.loop.scheduleCallback(runChain, this.#tokens[rank], RANK_LANES[rank] as number);
  }

  /** @internal The chain pump of `rank` ran: pay back one owed pump. */
  onChain(rank: number): void {
    this.#pendingHandles--;
    this.#chainPosted[rank] = false;
    if (this.#owed[rank] === 0 || this.#barrier !== null) return; // lowering the barrier re-posts
    if (this.#higherQueued(rank)) {
      this.#ensureChain(rank);
      return;
    }
    this.#owed[rank] = (this.#owed[rank] as number) - 1;
    const item = this.#take(rank);
    if (item !== null) this.#run(item);
    if ((this.#owed[rank] as number) > 0 && this.#barrier === null) this.#ensureChain(rank);
  }

  /** @internal The wake-up posted when the barrier drops ran. */
  onWake(): void {
    this.#pendingHandles--;
  }

  /** @internal A delayed task's timer fired: queue it, and be its pump. */
  onDelayElapsed(item: SchedulerItem): void {
    if (item.status !== DELAYED) return;
    this.#delayed--;
    item.timer = null;
    const timerRank = item.rank;
    this.#enqueue(item);
    if (item.rank === timerRank) this.#pumpOnce(timerRank);
    else this.#postPump(item.rank);
  }

  /** Continuations first, then tasks; the oldest of each. */
  #take(rank: number): SchedulerItem | null {
    if (this.#queuedByRank[rank] === 0) return null;
    const item = this.#queueOf(rank, true).shift() ?? this.#queueOf(rank, false).shift();
    if (item === null) return null;
    this.#queuedByRank[rank] = (this.#queuedByRank[rank] as number) - 1;
    item.status = RUNNING;
    if (typeof item.state.prioritySource !== 'string') this.#unwatchPriority(item);
    return item;
  }

  #run(item: SchedulerItem): void {
    if (item.isContinuation) this.#resume(item);
    else this.#runTask(item);
  }

  /** The spec's postTask task steps, with the bracket around them. */
  #runTask(item: SchedulerItem): void {
    openBracket(item);
    const previous = currentRun;
    currentRun = item;
    let value: unknown;
    let threw = false;
    try {
      value = (item.callback as () => unknown)();
    } catch (error) {
      threw = true;
      value = error;
    } finally {
      currentRun = previous;
    }
    // The spec's "task complete steps": from here on an abort changes nothing.
    item.status = DONE;
    if (item.state.abortSource !== null) this.#unwatchAbort(item);
    if (threw) {
      closeBracket(item, 1, false);
      item.reject(value); // a no-op if the callback aborted its own signal
    } else if (!isThenable(value)) {
      closeBracket(item, 1, false);
      item.resolve(value);
    } else {
      closeBracket(item, INHERIT_GENERATIONS, !item.yielded);
      settleFrom(item, value);
    }
  }

  /** A continuation's turn: resolve its promise inside a bracket of its state. */
  #resume(item: SchedulerItem): void {
    item.status = DONE;
    if (item.state.abortSource !== null) this.#unwatchAbort(item);
    openBracket(item);
    item.resolve(undefined);
    closeBracket(item, INHERIT_GENERATIONS, true);
  }

  // ------------------------------------------------------------ barrier

  /** @internal */
  raiseBarrier(item: SchedulerItem): void {
    if (this.#barrier !== null) this.lowerBarrier(this.#barrier);
    this.#barrier = item;
    this.loop.beginExternalWait();
  }

  /** @internal Drops the barrier if `item` holds it, and pays back what was owed. */
  lowerBarrier(item: SchedulerItem): void {
    if (this.#barrier !== item) return;
    this.#barrier = null;
    this.loop.endExternalWait();
    if (this.loop.isClosed()) return;
    let posted = false;
    for (let rank = 0; rank < RANKS; rank++) {
      if ((this.#owed[rank] as number) > 0) {
        this.#ensureChain(rank);
        posted = true;
      }
    }
    // A virtual clock held back by the barrier may be waiting for a wake-up.
    if (!posted) {
      this.#pendingHandles++;
      this.loop.scheduleCallback(runWake, this, LANE_IDLE);
    }
  }

  // -------------------------------------------------------------- abort

  #watchAbort(signal: AbortSignalLike, item: SchedulerItem): void {
    let watch = this.#abortWatches.get(signal);
    if (watch === undefined) {
      watch = { items: new Set(), onEvent: () => this.#abortAll(signal) };
      this.#abortWatches.set(signal, watch);
      if (signal instanceof TaskSignal) taskSignalHooks.addAbortAlgorithm(signal, watch.onEvent);
      else signal.addEventListener('abort', watch.onEvent);
    }
    watch.items.add(item);
  }

  #unwatchAbort(item: SchedulerItem): void {
    const signal = item.state.abortSource;
    if (signal === null) return;
    const watch = this.#abortWatches.get(signal);
    if (watch === undefined || !watch.items.delete(item) || watch.items.size > 0) return;
    this.#abortWatches.delete(signal);
    this.#unhookAbort(signal, watch);
  }

  #unhookAbort(signal: AbortSignalLike, watch: SignalWatch): void {
    if (signal instanceof TaskSignal) taskSignalHooks.removeAbortAlgorithm(signal, watch.onEvent);
    else signal.removeEventListener('abort', watch.onEvent);
  }

  /** The spec's abort steps, for every item under `signal`. */
  #abortAll(signal: AbortSignalLike): void {
    const watch = this.#abortWatches.get(signal);
    if (watch === undefined) return;
    this.#abortWatches.delete(signal);
    this.#unhookAbort(signal, watch);
    const reason = signal.reason;
    for (const item of watch.items) {
      if (item.status === DELAYED) {
        item.timer?.cancel();
        item.timer = null;
        this.#delayed--;
      } else if (item.status === QUEUED) {
        item.queue?.remove(item);
        this.#queuedByRank[item.rank] = (this.#queuedByRank[item.rank] as number) - 1;
      }
      if (item.status !== RUNNING) {
        if (typeof item.state.prioritySource !== 'string') this.#unwatchPriority(item);
        item.status = DONE;
      }
      // RUNNING: the callback aborted its own signal; its promise rejects now.
      item.reject(reason);
    }
  }

  // ----------------------------------------------------------- priority

  #watchPriority(signal: TaskSignal, item: SchedulerItem): void {
    let watch = this.#priorityWatches.get(signal);
    if (watch === undefined) {
      watch = { items: new Set(), onEvent: () => this.#reprioritize(signal) };
      this.#priorityWatches.set(signal, watch);
      taskSignalHooks.addPriorityChangeAlgorithm(signal, watch.onEvent);
    }
    watch.items.add(item);
  }

  #unwatchPriority(item: SchedulerItem): void {
    const signal = item.state.prioritySource as TaskSignal;
    const watch = this.#priorityWatches.get(signal);
    if (watch === undefined || !watch.items.delete(item) || watch.items.size > 0) return;
    this.#priorityWatches.delete(signal);
    taskSignalHooks.removePriorityChangeAlgorithm(signal, watch.onEvent);
  }

  /**
   * `signal`'s priority changed: move its queued items (oldest first) with
   * one new pump each, and its delayed items' timers to the new lane at the
   * same deadline (the delay left is kept; the spec reads the priority when
   * the delay ends, and the new lane is where that reading will put it).
   */
  #reprioritize(signal: TaskSignal): void {
    const watch = this.#priorityWatches.get(signal);
    // A closed loop runs nothing more; setPriority must not fail because of it.
    if (watch === undefined || this.loop.isClosed()) return;
    const rank = RANK_OF[signal.priority];
    for (const item of watch.items) {
      if (item.rank === rank) continue;
      if (item.status === DELAYED) {
        const timer = item.timer as TimerHandle;
        timer.cancel();
        item.rank = rank;
        item.timer = this.loop.scheduleTimer(timer.when(), runDelayElapsed, item, RANK_LANES[rank] as number);
        continue;
      }
      item.queue?.remove(item);
      this.#queuedByRank[item.rank] = (this.#queuedByRank[item.rank] as number) - 1;
      item.rank = rank;
      this.#queueOf(rank, item.isContinuation).push(item);
      this.#queuedByRank[rank] = (this.#queuedByRank[rank] as number) + 1;
      this.#postPump(rank);
    }
  }

  // ------------------------------------------------------- introspection

  statistics(): SchedulerStatistics {
    return Object.freeze({
      queued: Object.freeze({
        'user-blocking': this.#queuedByRank[0] as number,
        'user-visible': this.#queuedByRank[1] as number,
        background: this.#queuedByRank[2] as number,
      }),
      delayed: this.#delayed,
      pendingHandles: this.#pendingHandles,
      holdingForMicrotasks: this.#barrier !== null,
    });
  }
}

/** One core per loop (weakly: a collected loop takes its queues with it). */
const cores = new WeakMap<BaseEventLoop, SchedulerCore>();

function coreOf(loop: BaseEventLoop): SchedulerCore {
  let core = cores.get(loop);
  if (core === undefined) {
    core = new SchedulerCore(loop);
    cores.set(loop, core);
  }
  return core;
}

/**
 * The scheduling API's Scheduler, on an eventide loop. The exported
 * `scheduler` follows whichever loop is running when it is called; `new
 * Scheduler(loop)` is bound to one loop (it may be called from outside
 * that loop, before it runs). Schedulers on the same loop share one set of
 * queues, as a browser's schedulers share their event loop's.
 *
 * As the Web IDL rules for promise-returning methods say, bad arguments and
 * a missing loop reject the returned promise rather than throw.
 *
 * @example
 * const bound = new Scheduler(loop);
 * const total = await bound.postTask(() => sum(rows), { priority: 'background' });
 */
export class Scheduler {
  readonly #loop: BaseEventLoop | null;

  constructor(loop?: BaseEventLoop) {
    if (loop !== undefined && !(loop instanceof BaseEventLoop)) {
      throw new TypeError(`Scheduler: loop must be an eventide EventLoop (or omitted, to use the running loop), got ${describe(loop)}`);
    }
    this.#loop = loop ?? null;
  }

  /** The loop this scheduler is bound to, or null when it follows the running loop. */
  get loop(): BaseEventLoop | null {
    return this.#loop;
  }

  /**
   * Queues `callback` as a task at `options.priority` (or the priority of
   * `options.signal`, a TaskSignal, which may change while it waits; else
   * 'user-visible'), after `options.delay` ms. The promise resolves with the
   * callback's result (an async callback's promise is followed), rejects
   * with what it throws, or with the signal's reason if the signal aborts
   * before the callback returns — in which case the callback never runs
   * unless it already started.
   *
   * @example
   * const html = await scheduler.postTask(() => render(model), { priority: 'user-blocking' });
   * const controller = new TaskController({ priority: 'background' });
   * scheduler.postTask(prefetch, { signal: controller.signal, delay: 100 });
   */
  postTask<T>(callback: () => T | PromiseLike<T>, options: SchedulerPostTaskOptions = {}): Promise<Awaited<T>> {
    try {
      checkCallback(callback, 'scheduler.postTask: callback');
      if (options === null || (typeof options !== 'object' && typeof options !== 'function')) {
        throw new TypeError(`scheduler.postTask: options must be an object, got ${describe(options)}`);
      }
      const { priority, delay, signal } = options;
      if (priority !== undefined) checkTaskPriority(priority, 'scheduler.postTask: options.priority');
      let delayMs = 0;
      if (delay !== undefined) {
        delayMs = typeof delay === 'number' ? Math.trunc(delay) : NaN;
        if (!Number.isFinite(delayMs) || delayMs < 0) {
          throw new TypeError(`scheduler.postTask: options.delay must be a finite number of milliseconds >= 0, got ${describe(delay)}`);
        }
      }
      if (signal !== undefined && !isAbortSignalLike(signal)) {
        throw new TypeError(`scheduler.postTask: options.signal must be an AbortSignal or TaskSignal, got ${describe(signal)}`);
      }
      return this.#core('postTask').postTask(callback, priority, delayMs, signal) as Promise<Awaited<T>>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * A promise resolved from a continuation: it runs ahead of the queued
   * tasks of its priority, and inherits the priority and abort signal of
   * the postTask task that calls `yield()` ('user-visible' and no signal
   * elsewhere). Rejects with the signal's reason if that signal aborts
   * first. In an eventide task, `yield* sleep(0)` is the native way to yield.
   *
   * @example
   * await scheduler.postTask(async () => {
   *   for (const chunk of chunks) {
   *     process(chunk);
   *     await scheduler.yield(); // let more urgent work run, then continue first
   *   }
   * }, { priority: 'background' });
   */
  yield(): Promise<void> {
    try {
      return this.#core('yield').yield();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * A snapshot of the queues on this scheduler's loop (the running loop for
   * the exported `scheduler`): queued items by priority, delayed tasks,
   * pending pump handles, and whether it waits for async microtasks.
   *
   * @example
   * scheduler.statistics().queued['background']; // tasks waiting at 'background'
   */
  statistics(): SchedulerStatistics {
    return coreOf(this.#resolveLoop('statistics')).statistics();
  }

  get [Symbol.toStringTag](): string {
    return 'Scheduler';
  }

  #resolveLoop(what: string): BaseEventLoop {
    if (this.#loop !== null) return this.#loop;
    try {
      return getRunningLoop();
    } catch {
      throw new RuntimeError(
        `scheduler.${what}: no eventide event loop is running; call it from a task, a callback or async code of a running loop, or bind a scheduler to a loop with new Scheduler(loop)`,
      );
    }
  }

  #core(what: string): SchedulerCore {
    const loop = this.#resolveLoop(what);
    if (loop.isClosed()) throw new RuntimeError(`scheduler.${what}: the event loop is closed`);
    return coreOf(loop);
  }
}

/**
 * The scheduler of whichever eventide loop is running — the counterpart of
 * the browser's global `scheduler`.
 *
 * @example
 * import { run, scheduler, until } from 'eventide';
 * await run(function* () {
 *   const answer = yield* until(scheduler.postTask(() => 42, { priority: 'user-blocking' }));
 * });
 */
export const scheduler = new Scheduler();
