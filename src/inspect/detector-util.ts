/**
 * What the problem detectors share: argument checks, the default clock, a
 * bounded list of reports, and how a callback is named (its task, when the
 * handle runs a task step).
 *
 * How a detector learns the task of a handle without reaching into core:
 * the loop fires `beforeTaskStep(task)` nested inside the
 * `beforeCallback(handle)` / `afterCallback(handle)` pair of the handle that
 * runs the step (a queued step, a sleep's timer, a wake-up). So a detector
 * notes the task seen between the two; a callback with no step inside is a
 * plain callback. Platform-free: no node:* imports.
 */
import { MonotonicClock, type Clock } from '../core/clock.js';
import type { Handle } from '../core/handle.js';
import type { Task } from '../tasks/task.js';

/** A clock for detectors: anything with `now()` in ms (default: the wall clock). */
export type DetectorClock = Pick<Clock, 'now'>;

/** The wall clock detectors use unless given one. */
export function defaultClock(): DetectorClock {
  return new MonotonicClock();
}

/** Throws a RangeError unless `value` is a finite number >= 0. */
export function checkMs(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${what} must be a finite number >= 0, got ${String(value)}`);
  }
  return value;
}

/** Throws a RangeError unless `value` is an integer >= 1. */
export function checkCount(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`${what} must be an integer >= 1, got ${String(value)}`);
  }
  return value;
}

/** Throws a TypeError unless `value` is undefined or a function. */
export function checkOptionalFunction<T>(value: T | undefined, what: string): T | undefined {
  if (value !== undefined && typeof value !== 'function') throw new TypeError(`${what} must be a function, got ${String(value)}`);
  return value;
}

/** Throws a TypeError unless `value` is undefined or has a `now()` method. */
export function checkClock(value: DetectorClock | undefined, what: string): DetectorClock {
  if (value === undefined) return defaultClock();
  if (value === null || typeof (value as { now?: unknown }).now !== 'function') {
    throw new TypeError(`${what} must be an object with a now() method, got ${String(value)}`);
  }
  return value;
}

/** How a task is named in reports. */
export function taskLabel(task: Task<unknown>): string {
  return `task ${task.name} #${task.id}`;
}

/** How a callback is named in reports: its task's step, else the callback's function name. */
export function callbackLabel(handle: Handle, task: Task<unknown> | null): string {
  if (task !== null) return `step of ${taskLabel(task)}`;
  return `callback ${handle.callback.name || 'anonymous'}`;
}

/** Default bound on the reports a detector keeps (`reports`). */
export const DEFAULT_MAX_REPORTS = 1000;

/** Appends `report` to `list`, dropping the oldest beyond `max`. */
export function keepReport<T>(list: T[], report: T, max: number): void {
  list.push(report);
  if (list.length > max) list.shift();
}
