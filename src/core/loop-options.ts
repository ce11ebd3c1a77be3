/**
 * What a loop can be configured with, what it reports, and the checks that
 * turn user options into the values the loop runs on. Kept apart from
 * base-event-loop.ts so that file reads as the loop itself.
 */
import { describe } from './assert.js';
import type { Clock } from './clock.js';
import type { LoopHost } from './host.js';
import { LANE_CRITICAL, PRIORITIES, STARVATION_BOUNDS, type Priority, type StarvationBound } from './priority.js';
import type { Selector } from './selector.js';

/** Where the loop writes warnings and errors; `console` by default. */
export interface LoopLogger {
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/**
 * Where a task's steps run: asyncio's `contextvars.Context`, whose
 * `run(fn)` this is. It calls `fn` inside the context and returns what
 * `fn` returns. Node's `AsyncLocalStorage.snapshot()` is one; so is
 * `(fn) => resource.runInAsyncScope(fn)` for an `AsyncResource`.
 */
export type TaskContext = <R>(fn: () => R) => R;

/** `context` if it is a TaskContext or null; else a TypeError naming `what`. */
export function checkTaskContext(context: unknown, what: string): TaskContext | null {
  if (context !== null && typeof context !== 'function') {
    throw new TypeError(`${what} must be a function that runs a callback in the context (e.g. AsyncLocalStorage.snapshot()), or null; got ${describe(context)}`);
  }
  return context as TaskContext | null;
}

export interface EventLoopOptions {
  /**
   * Captures the context a new task runs its steps in, where the task is
   * created (asyncio copies the current contextvars context for each
   * task). Not called for a task given its own `context`. Default none:
   * steps run in whatever context the loop runs in. Node loops capture
   * AsyncLocalStorage's (see NodeLoopOptions.asyncContext).
   *
   * `runForever` also calls it once, when it starts, and runs every tick
   * of that run inside the context it returns: the loop's own context,
   * where callbacks and context-less tasks (`run`'s main) run. A host may
   * run a tick from its own callbacks (a blocking host's turn), whose
   * context is the host's; without this, what main entered would be seen
   * by the ticks runForever runs and not by those.
   */
  captureTaskContext?: (() => TaskContext | null) | null;
  /** `'real'` (default), `'virtual'`, or any Clock. */
  clock?: 'real' | 'virtual' | Clock;
  /** Default: a TimerOnlySelector (no fds). io/ provides epoll. */
  selector?: Selector;
  /** Who waits when the loop is idle inside runForever. Default: GlobalTimersHost. */
  host?: LoopHost;
  /** Debug mode: slow-callback warnings, creation stacks, unretrieved-exception reports. */
  debug?: boolean;
  /**
   * Debug mode reports callbacks that run at least this long (ms), by name:
   * `<Handle fn>`, or `step of task "NAME" #ID` for one that ran a task's
   * step. Default 100.
   */
  slowCallbackDurationMs?: number;
  /**
   * In debug mode, also record where each `callSoon` / `callLater` /
   * `callAt` handle was created (`handle.sourceStack`, shown with slow
   * callbacks), as asyncio's debug mode does. Off by default: a stack
   * capture costs 2-4 µs, some 50 times a callSoon, which would make debug
   * mode too slow to leave on. Tasks and futures record theirs in debug mode
   * regardless (a task step's slow-callback report shows its task's).
   */
  traceHandles?: boolean;
  /**
   * How long each lane below critical may be held back while higher lanes
   * keep having work (see STARVATION_BOUNDS in core/priority.ts, the
   * defaults). Give only what you change: `{idle: {maxDeferredMs: 5000}}`.
   */
  starvationBounds?: Partial<Record<Exclude<Priority, 'critical'>, Partial<StarvationBound>>>;
  /**
   * How long a batch of lower-priority callbacks runs before the loop looks
   * for newly ready higher-priority work (I/O, due timers) and runs it
   * first. Default 0.1 ms (DEFAULT_SLICE_MS); Infinity turns preemption off.
   */
  sliceMs?: number;
  /**
   * Virtual clock only: while a promise or fd the loop waits for is
   * outstanding, time does not jump; after this many real ms with nothing
   * back from outside, it jumps to the next timer anyway. Default 100;
   * Infinity waits for the outside world forever.
   */
  virtualStallMs?: number;
  logger?: LoopLogger;
}

/** See EventLoopOptions.virtualStallMs. */
export const DEFAULT_VIRTUAL_STALL_MS = 100;

/**
 * Default preemption slice: higher lanes wait at most about this long (plus
 * the callback running) behind lower ones. A preemption check costs one
 * zero-timeout poll (~0.4 µs with epoll here) and a clock read, so checking
 * every 0.1 ms costs under 1% of the time it guards. Why 0.1 and not more:
 * the valve benchmark's target is "p99 at most the longest background step
 * + 0.2 ms", and the wait is up to one slice plus the step running (at
 * 0.25 ms that target is missed on a quiet machine; at 0.1 ms the
 * background's throughput measured the same, 0.98-0.99x FIFO).
 */
export const DEFAULT_SLICE_MS = 0.1;

/** What `loop.statistics()` reports. */
export interface LoopStatistics {
  /** Handles in the ready queue, and per lane (critical first). */
  ready: number;
  readyByLane: readonly number[];
  /** Live and cancelled-but-not-yet-dropped timers. */
  timers: number;
  cancelledTimers: number;
  readers: number;
  writers: number;
  /** Handles scheduled with `{deadlineMs}` that ran after their deadline, since the loop was made. */
  deadlinesMissed: number;
}

/** `deadlineMs` must be a finite number >= 0; returns it. */
export function checkDeadline(deadlineMs: unknown, what: string): number {
  if (typeof deadlineMs !== 'number' || !Number.isFinite(deadlineMs) || deadlineMs < 0) {
    throw new RangeError(`${what}: deadlineMs must be a finite number >= 0, got ${describe(deadlineMs)}`);
  }
  return deadlineMs;
}

/** The defaults of STARVATION_BOUNDS with the `starvationBounds` option laid over them, checked. */
export function resolveStarvationBounds(overrides: EventLoopOptions['starvationBounds']): readonly StarvationBound[] {
  if (overrides === undefined) return STARVATION_BOUNDS;
  if (overrides === null || typeof overrides !== 'object') {
    throw new TypeError(`starvationBounds must be an object keyed by priority, got ${describe(overrides)}`);
  }
  const bounds = [...STARVATION_BOUNDS];
  for (const [name, bound] of Object.entries(overrides)) {
    const lane = PRIORITIES.indexOf(name as Priority);
    if (lane <= LANE_CRITICAL) {
      throw new TypeError(`starvationBounds: ${JSON.stringify(name)} is not a lane below critical (use 'high', 'normal', 'low' or 'idle')`);
    }
    if (bound === null || typeof bound !== 'object') throw new TypeError(`starvationBounds.${name} must be an object, got ${describe(bound)}`);
    // A misspelt field would otherwise leave the default in force, silently.
    for (const field of Object.keys(bound)) {
      if (field !== 'maxDeferredTicks' && field !== 'maxDeferredMs') {
        throw new TypeError(`starvationBounds.${name}: unknown field ${JSON.stringify(field)} (use 'maxDeferredTicks' or 'maxDeferredMs')`);
      }
    }
    const { maxDeferredTicks = (bounds[lane] as StarvationBound).maxDeferredTicks, maxDeferredMs = (bounds[lane] as StarvationBound).maxDeferredMs } = bound;
    if (!Number.isInteger(maxDeferredTicks) || maxDeferredTicks < 0) {
      throw new RangeError(`starvationBounds.${name}.maxDeferredTicks must be an integer >= 0, got ${describe(maxDeferredTicks)}`);
    }
    if (typeof maxDeferredMs !== 'number' || !(maxDeferredMs >= 0) || maxDeferredMs === Infinity) {
      throw new RangeError(`starvationBounds.${name}.maxDeferredMs must be a finite number >= 0, got ${describe(maxDeferredMs)}`);
    }
    bounds[lane] = Object.freeze({ maxDeferredTicks, maxDeferredMs });
  }
  return Object.freeze(bounds);
}
