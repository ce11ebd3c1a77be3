/**
 * eventide: asyncio's event loop, rebuilt in TypeScript.
 *
 * @example
 * import { run, sleep } from 'eventide';
 * await run(function* () {
 *   yield* sleep(100);
 *   console.log('slept');
 * });
 */
export { BaseEventLoop, MAX_SELECT_TIMEOUT_MS } from './core/base-event-loop.js';
export type { EventLoopOptions, ExceptionContext, ExceptionHandler, LoopLogger } from './core/base-event-loop.js';
export { Handle, TimerHandle } from './core/handle.js';
export { PRIORITIES, DEFAULT_PRIORITY } from './core/priority.js';
export type { Priority, ScheduleOptions } from './core/priority.js';
export { MonotonicClock, VirtualClock } from './core/clock.js';
export type { Clock } from './core/clock.js';
export { EVENT_READ, EVENT_WRITE, TimerOnlySelector } from './core/selector.js';
export type { Selector, ReadyCallback } from './core/selector.js';
export { GlobalTimersHost } from './core/host.js';
export type { LoopHost } from './core/host.js';
export { CancelledError, TimeoutError, InvalidStateError, RuntimeError } from './core/errors.js';

export { Future, isFuture } from './tasks/future.js';
export type { DoneCallback } from './tasks/future.js';
export { Task } from './tasks/task.js';
export type { TaskOptions } from './tasks/task.js';
export { EventLoop, getRunningLoop } from './tasks/event-loop.js';
export type { CoroutineLike } from './tasks/event-loop.js';
export { currentTask } from './tasks/current.js';
export { sleep, until, Sleep } from './tasks/operation.js';
export type { Coroutine, CoroutineFunction, Instruction, Operation } from './tasks/operation.js';
export { run } from './tasks/run.js';
export type { RunOptions } from './tasks/run.js';

// --- synchronization primitives and queues (tasks/locks.ts, tasks/queues.ts) ---

// --- combinators (tasks/gather.ts, wait.ts, timeout.ts, shield.ts, task-group.ts) ---
