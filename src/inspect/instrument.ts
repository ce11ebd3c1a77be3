/**
 * The public shape of an instrument: what each hook is told, and when.
 *
 * The hook table itself lives in core (core/instruments.ts) so that the
 * loop can test "is anyone listening?" with one field read; this file only
 * names the hooks precisely, with the task types core cannot import.
 *
 * When hooks fire (all synchronously, on the loop's thread):
 *  - `beforeRun(loop)` / `afterRun(loop)`: `runForever` (and so
 *    `runUntilComplete`, `run`) begins / is about to return; also a guest
 *    driver attaching / detaching.
 *  - `taskSpawned(task, {byTask})`: a task was created (in its constructor,
 *    so before `loop.allTasks()` lists it); then `taskScheduled(task,
 *    {kind: 'spawn'})` for its first step.
 *  - `taskScheduled(task, cause)`: the task became ready to step; `cause`
 *    names who woke it (WakeCause). Fired when the wake-up is queued: a
 *    future's settling, a sleep's timer coming due, `cancel()`.
 *  - `beforeTaskStep(task)`, then `taskExited(task)` if the step finished
 *    the task, then `afterTaskStep(task)` (Trio's order).
 *  - `beforeCallback(handle)` / `afterCallback(handle, durationMs)`: around
 *    every handle the loop runs — including the ones that run task steps
 *    and wake-ups, so task-step hooks nest inside callback hooks.
 *    `durationMs` is given in debug mode (the loop times callbacks then),
 *    else undefined.
 *  - `beforeIoWait(timeoutMs)` / `afterIoWait(eventCount)`: around each
 *    tick's poll of the selector (timeout 0 when work is ready), and around a
 *    wait in the host inside `runForever` (eventCount 0).
 *  - `beforeTimers(pendingTimers)` / `afterTimers(dueCount)`: right after
 *    a tick's `afterIoWait`, around moving the timers that have come due
 *    to the ready queue — only in ticks whose timer heap is not empty
 *    (the ticks in which the loop reads its clock for timers at all).
 *    `pendingTimers` counts the live timers (0 when only cancelled ones
 *    are left to drop); `dueCount` is how many were moved (0 when none was
 *    due). A sleep's timer reports its task's `taskScheduled(task, {kind:
 *    'timer'})` in between. Then the ready batch runs (`beforeCallback` ...).
 *  - Neither pair fires for the preemption check inside a long batch of a
 *    lower lane (`sliceMs`): that poll of I/O and timers is part of the
 *    ready batch, not a phase of the tick; the wake-ups it causes still
 *    report `taskScheduled` with their cause.
 *  - `cancelRequested(task, origin)`: `task.cancel()` was called on a task
 *    not yet done; `origin` says by whom and why (CancelOrigin).
 *  - `deadlineMissed(handle, lateMs)`: a handle scheduled with
 *    `{deadlineMs}` is about to run `lateMs` ms after its deadline (also
 *    counted in `loop.statistics().deadlinesMissed`).
 *
 * An instrument that throws is removed and reported to the loop's
 * exception handler; the loop and the other instruments go on.
 */
import type { BaseEventLoop } from '../core/base-event-loop.js';
import type { Handle } from '../core/handle.js';
import type { CancelOrigin, Task, WakeCause } from '../tasks/task.js';

export { HOOK_NAMES } from '../core/instruments.js';
export type { HookName, CoreInstrument } from '../core/instruments.js';
export type { CancelOptions, CancelOrigin, WakeCause } from '../tasks/task.js';

/** What `taskSpawned` is told besides the task. */
export interface SpawnInfo {
  /** The task whose step created it; null when created outside any task. */
  readonly byTask: Task<unknown> | null;
}

/**
 * An observer of a loop: any object with some of these methods, attached
 * with `loop.addInstrument(instrument)`.
 *
 * @example
 * const steps = new Map<string, number>();
 * const counter: Instrument = {
 *   afterTaskStep(task) { steps.set(task.name, (steps.get(task.name) ?? 0) + 1); },
 * };
 * loop.addInstrument(counter);
 */
export interface Instrument {
  beforeRun?(loop: BaseEventLoop): void;
  afterRun?(loop: BaseEventLoop): void;
  taskSpawned?(task: Task<unknown>, info: SpawnInfo): void;
  taskScheduled?(task: Task<unknown>, cause: WakeCause): void;
  beforeTaskStep?(task: Task<unknown>): void;
  afterTaskStep?(task: Task<unknown>): void;
  taskExited?(task: Task<unknown>): void;
  beforeCallback?(handle: Handle): void;
  afterCallback?(handle: Handle, durationMs: number | undefined): void;
  beforeIoWait?(timeoutMs: number): void;
  afterIoWait?(eventCount: number): void;
  beforeTimers?(pendingTimers: number): void;
  afterTimers?(dueCount: number): void;
  cancelRequested?(task: Task<unknown>, origin: CancelOrigin): void;
  deadlineMissed?(handle: Handle, lateMs: number): void;
}
