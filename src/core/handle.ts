import { formatCreationTrace } from './creation-trace.js';
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
  /** The function to call; replaced by a no-op on cancel to free what it closes over. */
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
    this.callback = cancelledCallback;
    this.arg = undefined;
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
