/**
 * The five priority lanes of the ready queue, highest first.
 *
 * A priority is a name in the public API and a lane index inside the loop:
 * lane 0 runs before lane 1, and so on. Within a lane, callbacks run FIFO.
 */
export type Priority = 'critical' | 'high' | 'normal' | 'low' | 'idle';

/** Every priority, highest first; `PRIORITIES[lane]` names a lane. */
export const PRIORITIES: readonly Priority[] = Object.freeze(['critical', 'high', 'normal', 'low', 'idle']);

/** Lane indices. The ready queue keeps one deque per lane. */
export const LANE_CRITICAL = 0;
export const LANE_HIGH = 1;
export const LANE_NORMAL = 2;
export const LANE_LOW = 3;
export const LANE_IDLE = 4;
export const LANE_COUNT = 5;

/** The priority of anything scheduled without one. */
export const DEFAULT_PRIORITY: Priority = 'normal';

/**
 * Converts a priority name to its lane index; throws a TypeError naming the
 * bad value and the valid ones, so `callSoon(cb, {priority: 'urgent'})`
 * fails loudly instead of silently landing in some lane. `what` names the
 * value in that message (a caller's option: `'spawn: options.priority'`).
 */
export function laneOf(priority: Priority | undefined, what = 'priority'): number {
  switch (priority) {
    case undefined:
    case 'normal':
      return LANE_NORMAL;
    case 'critical':
      return LANE_CRITICAL;
    case 'high':
      return LANE_HIGH;
    case 'low':
      return LANE_LOW;
    case 'idle':
      return LANE_IDLE;
    default:
      throw new TypeError(
        `${what} must be one of ${PRIORITIES.map((p) => `'${p}'`).join(', ')}, got ${JSON.stringify(priority)}`,
      );
  }
}

/**
 * The lane an options argument asks for (`options.priority`; 'normal' when
 * there are no options). Options that are there must be an object: without
 * this check `callSoon(cb, 'high')` would quietly run at 'normal'. `what`
 * names the call in the message.
 */
export function laneOfOptions(options: ScheduleOptions | null | undefined, what: string): number {
  if (options == null) return LANE_NORMAL;
  if (typeof options !== 'object') {
    const shown = typeof options === 'string' ? JSON.stringify(options) : String(options);
    throw new TypeError(`${what}: options must be an object such as { priority: 'high' }, got ${shown}`);
  }
  const priority = options.priority;
  if (priority === undefined) return LANE_NORMAL;
  try {
    return laneOf(priority);
  } catch {
    // The call's name is put together only here, so that a good priority costs no string.
    return laneOf(priority, `${what}: options.priority`);
  }
}

/** Options accepted wherever something is scheduled. */
export interface ScheduleOptions {
  /** The lane the callback runs in; default `'normal'`. */
  priority?: Priority;
}

/**
 * Options of `callSoon`, `callLater`, `callAt` and `callSoonThreadsafe`.
 *
 * @example
 * loop.callSoon(sendHeartbeat, { priority: 'high', deadlineMs: 2 }); // ahead of high work without a deadline
 */
export interface CallOptions extends ScheduleOptions {
  /**
   * Run within this many ms of becoming ready (for callSoon: of now; for a
   * timer: of its time). Within its lane the callback then runs
   * earliest-deadline-first, ahead of callbacks without a deadline; if it
   * still runs late, the loop counts and reports the miss.
   */
  deadlineMs?: number;
}

/**
 * How long work in a lane may be held back while higher lanes keep having
 * ready work: the lane is deferred for at most `maxDeferredTicks`
 * consecutive ticks or `maxDeferredMs` ms on the loop's clock, whichever
 * ends first; then its batch runs in the next tick whatever is ready above
 * it. (React's scheduler states a timeout per level the same way.)
 *
 * Both limits exist because each alone can fail: a tick may be long (a big
 * critical batch), so ticks alone do not bound time; and on a virtual clock
 * time stands still while work is ready, so ms alone do not bound anything.
 *
 * `maxDeferredTicks: 0` means the lane is never held back: every tick runs
 * what was ready in it when the tick began (the policy before bounds).
 */
export interface StarvationBound {
  readonly maxDeferredTicks: number;
  readonly maxDeferredMs: number;
}

/**
 * The default bound of each lane, indexed by lane: `critical` has nothing
 * above it; every lower lane — `idle` included — still progresses under a
 * permanent critical load. Override per loop with the `starvationBounds`
 * option.
 *
 * Guarantee (tested in test/core/starvation.test.ts, in virtual time): a
 * handle that is ready in lane L at the end of tick k runs by the end of
 * tick k + 1 + maxDeferredTicks[L], and no later than one tick after it has
 * waited maxDeferredMs[L] ms — as long as the ticks are not cut short by a
 * host's time budget (then a starved lane still runs one callback per tick).
 *
 * @example
 * STARVATION_BOUNDS[LANE_IDLE]; // { maxDeferredTicks: 16, maxDeferredMs: 100 }
 * new EventLoop({ starvationBounds: { idle: { maxDeferredMs: 1000 } } }); // idle may wait longer
 */
export const STARVATION_BOUNDS: readonly StarvationBound[] = Object.freeze([
  /* critical */ Object.freeze({ maxDeferredTicks: 0, maxDeferredMs: 0 }),
  /* high     */ Object.freeze({ maxDeferredTicks: 2, maxDeferredMs: 5 }),
  /* normal   */ Object.freeze({ maxDeferredTicks: 4, maxDeferredMs: 20 }),
  /* low      */ Object.freeze({ maxDeferredTicks: 8, maxDeferredMs: 50 }),
  /* idle     */ Object.freeze({ maxDeferredTicks: 16, maxDeferredMs: 100 }),
]);
