import { formatCreationTrace } from './creation-trace.js';
import type { TaskContext } from './loop-options.js';
import { PRIORITIES, type Priority } from './priority.js';

/**
 * What the loop asks of the thing that owns a timer: be told when a handle
 * in its heap is cancelled, so it can count dead entries and compact.
 * @internal
 */
export interface TimerOwner {
  timerCancelled(handle: TimerHandle): void;
}

/** A callback as the loop stores it: called with `arg`, or with no arguments when `arg` is undefined. */
export type HandleCallback = (arg?: any) => unknown;

function cancelledCallback(): void {}

/**
 * The handle whose callback the loop is running on its observed path (debug
 * mode or an instrument attached), else null.
 *
 * Why: instruments name a callback by its function (`handle.callback.name`)
 * during and after its run — the slow-callback and long-iteration reports,
 * the trace's slice names, an `io` wake cause. A callback that cancels its
 * own handle (a one-shot reader calling `removeReader`, a timer cancelling
 * itself) would otherwise leave them the no-op that `cancel()` swaps in. So
 * `cancel()` keeps the callback of the handle running here; its closure is
 * alive on the stack anyway. The plain path (#runHandle) never sets this,
 * so there `cancel()` costs one comparison more and the run nothing.
 */
let observedRunning: Handle | null = null;

/**
 * @internal The loop's observed path is about to run `handle`. Returns the
 * handle it interrupts (a nested loop's), to give back to endObservedRun.
 */
export function beginObservedRun(handle: Handle): Handle | null {
  const outer = observedRunning;
  observedRunning = handle;
  return outer;
}

/** @internal The observed run begun by beginObservedRun has ended. */
export function endObservedRun(outer: Handle | null): void {
  observedRunning = outer;
}

/**
 * A callback waiting in the ready queue, as returned by `loop.callSoon`.
 *
 * A Handle runs at most once. `cancel()` before it runs means it never runs;
 * the ready queue drops cancelled handles when it reaches them (lazily), so
 * cancelling is O(1).
 *
 * @example
 * const handle = loop.callSoon(() => console.log('never printed'));
 * handle.cancel();
 */
export class Handle {
  /**
   * The function to call; replaced by a no-op on cancel to free what it
   * closes over — unless the handle cancels itself while the loop's observed
   * path runs it (see observedRunning): then it stays, for instruments to name.
   */
  callback: HandleCallback;
  /** Passed to `callback`. Internal handles use it to avoid allocating closures. */
  arg: unknown;
  /** Lane index (see priority.ts); fixed at scheduling time. */
  lane: number;
  /** Set once; a cancelled handle is skipped, never called. */
  isCancelled = false;
  /** @internal Debug mode: the trace of where `callSoon`/`callLater`/`callAt` made this handle. */
  creationTrace: Error | undefined = undefined;
  /**
   * The time on the loop's clock by which it should have run (`{deadlineMs}`
   * when scheduled), or undefined for none. Within its lane a handle with a
   * deadline runs earliest-deadline-first, ahead of those without; running
   * after it counts as a missed deadline (loop.statistics().deadlinesMissed,
   * the `deadlineMissed` instrument hook).
   *
   * Undefined rather than Infinity for "none": a field V8 sees holding only
   * doubles gets a boxed number per object — 24 bytes on every handle.
   */
  deadlineAt: number | undefined = undefined;
  /**
   * @internal The context the callback runs in: the one current where it
   * was scheduled (`callSoon`, `callLater`, `callAt`, `addReader`, ...
   * inside the step of a task that has a context, or inside a callback
   * that has one), as asyncio's handles keep the contextvars context they
   * were made in. null (most handles, and all of a loop without task
   * contexts): the loop's. A field, not a wrapper closure: binding the
   * callback cost 200-400 ns per call (a closure, its context and a
   * property), a field store costs nothing measurable.
   */
  context: TaskContext | null = null;

  /** @internal — use `loop.callSoon`. */
  constructor(callback: HandleCallback, arg: unknown, lane: number) {
    this.callback = callback;
    this.arg = arg;
    this.lane = lane;
  }

  /** Prevents the callback from running. Cancelling twice is harmless. */
  cancel(): void {
    if (this.isCancelled) return;
    this.isCancelled = true;
    if (this === observedRunning) return; // still named by instruments; its closure is on the stack anyway
    this.callback = cancelledCallback;
    this.arg = undefined;
    // A cancelled timer stays in the heap until its deadline or a compaction:
    // it must not keep its task's context (an AsyncResource and the stores it carries) alive meanwhile.
    this.context = null;
  }

  /**
   * Where the handle was created, as stack lines without eventide's own
   * frames: recorded in debug mode for callbacks scheduled with `callSoon`,
   * `callLater` and `callAt` (a task's wake-ups have their task's instead).
   */
  get sourceStack(): string | undefined {
    return formatCreationTrace(this.creationTrace);
  }

  /** Whether `cancel()` was called. */
  cancelled(): boolean {
    return this.isCancelled;
  }

  /** The lane this handle runs in. */
  get priority(): Priority {
    return PRIORITIES[this.lane] as Priority;
  }

  /** A readable label for logs: the callback's name and state. */
  toString(): string {
    const name = this.callback.name || 'anonymous';
    return `<${this.constructor.name} ${this.isCancelled ? 'cancelled' : name}>`;
  }
}

/**
 * A callback scheduled for a time, as returned by `loop.callLater` /
 * `loop.callAt`. Ordered in the timer heap by `(when, seq)`: equal deadlines
 * run in the order they were scheduled.
 *
 * @example
 * const t = loop.callLater(50, () => console.log('50 ms later'));
 * t.when(); // loop.time() + 50
 * t.cancel();
 */
export class TimerHandle extends Handle {
  /** Deadline on the loop's clock, in ms. */
  readonly whenMs: number;
  /** Tie-breaker: a per-loop counter, increasing in scheduling order. */
  readonly seq: number;
  /** True while the handle sits in the owner's heap (set and cleared by the owner). */
  scheduled = false;
  #owner: TimerOwner | null;

  /** @internal — use `loop.callLater` / `loop.callAt`. */
  constructor(whenMs: number, seq: number, callback: HandleCallback, arg: unknown, lane: number, owner: TimerOwner) {
    super(callback, arg, lane);
    this.whenMs = whenMs;
    this.seq = seq;
    this.#owner = owner;
  }

  /** The deadline, in ms on the loop's clock (`loop.time()`). */
  when(): number {
    return this.whenMs;
  }

  override cancel(): void {
    if (this.isCancelled) return;
    super.cancel();
    const owner = this.#owner;
    this.#owner = null;
    if (this.scheduled && owner !== null) owner.timerCancelled(this);
  }
}

/** The timer heap's order: earlier deadline first, then earlier scheduling. */
export function timerBefore(a: TimerHandle, b: TimerHandle): boolean {
  return a.whenMs < b.whenMs || (a.whenMs === b.whenMs && a.seq < b.seq);
}
