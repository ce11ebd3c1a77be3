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
export { BaseEventLoop, MAX_SELECT_TIMEOUT_MS, DEFAULT_SLICE_MS, DEFAULT_VIRTUAL_STALL_MS } from './core/base-event-loop.js';
export type { EventLoopOptions, ExceptionContext, ExceptionHandler, LoopLogger, LoopStatistics, TaskContext } from './core/base-event-loop.js';
export { Handle, TimerHandle } from './core/handle.js';
export { PRIORITIES, DEFAULT_PRIORITY, STARVATION_BOUNDS } from './core/priority.js';
export type { CallOptions, Priority, ScheduleOptions, StarvationBound } from './core/priority.js';
export { MonotonicClock, VirtualClock } from './core/clock.js';
export type { Clock } from './core/clock.js';
export { EVENT_READ, EVENT_WRITE, TimerOnlySelector } from './core/selector.js';
export type { Selector, ReadyCallback } from './core/selector.js';
export { GlobalTimersHost } from './core/host.js';
export type { HostTick, LoopHost } from './core/host.js';
export { CancelledError, TimeoutError, InvalidStateError, RuntimeError } from './core/errors.js';

export { Future, isFuture } from './tasks/future.js';
export type { DoneCallback } from './tasks/future.js';
export { Task } from './tasks/task.js';
export type { TaskOptions } from './tasks/task.js';
export { EventLoop, getRunningLoop, allTasks } from './tasks/event-loop.js';
export type { CoroutineLike } from './tasks/event-loop.js';
export { currentTask } from './tasks/current.js';
export { sleep, until, Sleep } from './tasks/operation.js';
export type { Coroutine, CoroutineFunction, Instruction, Operation } from './tasks/operation.js';
export { run } from './tasks/run.js';
export type { RunOptions } from './tasks/run.js';
export { Runner } from './tasks/runner.js';
export type { RunnerRunOptions } from './tasks/runner.js';

// --- synchronization primitives and queues (tasks/locks.ts, tasks/queues.ts) ---
export { Lock } from './tasks/lock.js';
export { Event } from './tasks/event.js';
export { Condition } from './tasks/condition.js';
export { Semaphore, BoundedSemaphore } from './tasks/semaphore.js';
export { Barrier, BrokenBarrierError } from './tasks/barrier.js';
export type { BarrierState } from './tasks/barrier.js';
export { Queue, LifoQueue, PriorityQueue, QueueEmpty, QueueFull, QueueShutDown, naturalOrder } from './tasks/queues.js';
export type { QueueOptions, PriorityQueueOptions, ItemStore } from './tasks/queues.js';

// --- combinators (tasks/gather.ts, wait.ts, timeout.ts, shield.ts, task-group.ts) ---
export { gather } from './tasks/gather.js';
export type { GatherOptions, GatherResults, SettledResults } from './tasks/gather.js';
export { wait, waitFor, FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED } from './tasks/wait.js';
export type { ReturnWhen, WaitOptions } from './tasks/wait.js';
export { timeout, timeoutAt, Timeout } from './tasks/timeout.js';
export type { TimeoutBody } from './tasks/timeout.js';
export { shield } from './tasks/shield.js';
export { asCompleted, AsCompleted } from './tasks/as-completed.js';
export type { AsCompletedOptions, OpFuture } from './tasks/as-completed.js';
export { TaskGroup, taskGroup } from './tasks/task-group.js';
export type { TaskGroupBody } from './tasks/task-group.js';
export type { AnyOp, Op, OpResult } from './tasks/ensure-future.js';

// --- Prioritized Task Scheduling API (tasks/scheduler.ts, tasks/task-signal.ts) ---
export { Scheduler, scheduler, TASK_PRIORITY_LANES, INHERIT_GENERATIONS } from './tasks/scheduler.js';
export type { SchedulerPostTaskOptions, SchedulerStatistics } from './tasks/scheduler.js';
export { TaskController, TaskSignal, TaskPriorityChangeEvent, TASK_PRIORITIES } from './tasks/task-signal.js';
export type { TaskPriority, TaskControllerInit, TaskSignalAnyInit, TaskPriorityChangeEventInit, AbortSignalLike } from './tasks/task-signal.js';

// --- instrumentation (inspect/) ---
export * from './inspect/detectors.js';
export { renderReport } from './inspect/report.js';
export type { ReportOptions } from './inspect/report.js';
export { HOOK_NAMES, describeTask, futureLabel, taskState, waitInfo, buildTaskGraph, captureCallGraph, formatTaskTree, TraceRecorder } from './inspect/index.js';
export type { CancelOptions, CancelOrigin, CoreInstrument, HookName, Instrument, SpawnInfo, WakeCause } from './inspect/index.js';
export type { TaskInfo, TaskOutcome, TaskState, WaitInfo, CallGraph, Link, TaskEdge, TaskGraph, TaskSource, TreeSource, TraceEvent, TraceFile, TraceOptions } from './inspect/index.js';

// --- guest mode: a foreign loop drives eventide (hosts/guest.ts) ---
export { GuestDriver } from './hosts/guest.js';
export type { GuestHost, GuestDriverOptions, GuestDriverStatistics } from './hosts/guest.js';
