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
 * fails loudly instead of silently landing in some lane.
 */
export function laneOf(priority: Priority | undefined): number {
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
        `priority must be one of ${PRIORITIES.map((p) => `'${p}'`).join(', ')}, got ${JSON.stringify(priority)}`,
      );
  }
}

/** Options accepted wherever something is scheduled. */
export interface ScheduleOptions {
  /** The lane the callback runs in; default `'normal'`. */
  priority?: Priority;
}
