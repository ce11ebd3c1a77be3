/**
 * Task introspection: a frozen snapshot of one task — its state, what it
 * waits on, how much it has run, who created and who cancelled it.
 *
 * Nothing here costs anything while the program runs: every fact is read
 * from state a task keeps anyway (the thing it is suspended on, its step
 * count) or keeps only when asked (run time, with task timing on; the
 * creation stack, in debug mode). The snapshot is computed on demand.
 *
 * States:
 *  - `pending`: created, first step not run yet;
 *  - `ready`: its next step is in the ready queue (woken, or a sleep(0));
 *  - `running`: its step is on the stack right now;
 *  - `waiting`: suspended on a pending future, task or sleep timer;
 *  - `done`: finished, failed or cancelled (see `outcome`).
 *
 * What a task waits on is labelled by the thing itself: a task by its name,
 * a sleep by its deadline, a future by `future.label` — which whoever
 * creates the future sets ('Lock.acquire()', 'Queue.get()', 'promise',
 * and for I/O 'StreamReader.read on fd 7', 'sockRecv fd 7', 'drain fd 7',
 * 'connect 127.0.0.1:8080 (fd 7)', 'getaddrinfo example.com:80',
 * 'Process.wait pid 123', 'Server.serveForever 127.0.0.1:8080') — or else
 * by its class and id ('GatheringFuture #12').
 */
import { TimerHandle } from '../core/handle.js';
import type { Priority } from '../core/priority.js';
import { Future } from '../tasks/future.js';
import { Task, type CancelOrigin, type TaskState } from '../tasks/task.js';

export type { TaskState } from '../tasks/task.js';

/** How a task ended; `'pending'` while it has not. */
export type TaskOutcome = 'pending' | 'finished' | 'failed' | 'cancelled';

/** What a waiting task is suspended on. */
export type WaitInfo =
  /** Another task (`yield* task`). */
  | { readonly kind: 'task'; readonly task: Task<unknown>; readonly label: string }
  /** A future: a primitive's waiter, a combinator's result, a promise, an fd. */
  | { readonly kind: 'future'; readonly future: Future<unknown>; readonly label: string }
  /** A `sleep(ms)`: resumes at `deadlineMs` on the loop's clock. */
  | { readonly kind: 'sleep'; readonly deadlineMs: number; readonly label: string };

/** A frozen snapshot of one task (see `describeTask`). */
export interface TaskInfo {
  readonly task: Task<unknown>;
  readonly id: number;
  readonly name: string;
  readonly priority: Priority;
  readonly state: TaskState;
  readonly outcome: TaskOutcome;
  /** How many steps it has run. */
  readonly steps: number;
  /** Wall-clock ms spent in its steps while task timing was on (`loop.setTaskTiming`), else 0. */
  readonly runTimeMs: number;
  /** What it is suspended on, when `state` is `'waiting'`; else null. */
  readonly waitingOn: WaitInfo | null;
  /** The id of the task whose step created it; 0 if none. */
  readonly spawnerId: number;
  /** Where it was created: a stack, in debug mode only. */
  readonly createdAt: string | undefined;
  /** Cancellation requests not withdrawn (`task.cancelling()`). */
  readonly cancelling: number;
  /** Who asked it to cancel and why; null if nobody did. */
  readonly cancelOrigin: CancelOrigin | null;
  /** The error it failed with, when `outcome` is `'failed'`; else undefined. */
  readonly error: unknown;
  /** Where it is paused in source: present only when `describeTask` was given `locate`. */
  readonly location?: SourcePosition | undefined;
}

/** A place in source code: 1-based line and column. */
export interface SourcePosition {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/**
 * Says where a task is paused in source, or undefined. Finding it needs the
 * host (on Node: `taskLocator` from 'eventide/node'), so this module only
 * takes one.
 */
export type TaskLocator = (task: Task<unknown>) => SourcePosition | undefined;

/** Options of `describeTask`. */
export interface DescribeOptions {
  /** Adds `location` to the snapshot (see TaskLocator). */
  locate?: TaskLocator;
}

/**
 * The state of `task` right now (see the module comment).
 *
 * @example
 * taskState(loop.createTask(body)); // 'pending'
 */
export function taskState(task: Task<unknown>): TaskState {
  return task.state;
}

/**
 * What `task` is suspended on, or null unless it is waiting.
 *
 * @example
 * waitInfo(task); // { kind: 'sleep', deadlineMs: 105, label: 'sleep' }
 */
export function waitInfo(task: Task<unknown>): WaitInfo | null {
  if (taskState(task) !== 'waiting') return null;
  const waiter = task.waitingOn;
  if (waiter instanceof Task) return Object.freeze({ kind: 'task', task: waiter, label: `task ${waiter.name} #${waiter.id}` });
  if (waiter instanceof Future) return Object.freeze({ kind: 'future', future: waiter, label: futureLabel(waiter) });
  if (waiter instanceof TimerHandle) return Object.freeze({ kind: 'sleep', deadlineMs: waiter.when(), label: 'sleep' });
  return null;
}

/**
 * How a future is named in introspection: its `label`, else its class and id.
 *
 * @example
 * futureLabel(loop.createFuture()); // 'Future #7'
 */
export function futureLabel(future: Future<unknown>): string {
  if (future instanceof Task) return `task ${future.name} #${future.id}`;
  return future.label ?? `${future.constructor.name} #${future.id}`;
}

/**
 * A frozen snapshot of `task`: id, name, priority, state, steps, run time,
 * what it waits on, where it was created (debug mode), who cancelled it —
 * and, with `options.locate`, where it is paused in source.
 *
 * @example
 * for (const task of loop.allTasks()) {
 *   const info = describeTask(task);
 *   console.log(info.name, info.state, info.waitingOn?.label ?? '');
 * }
 */
export function describeTask(task: Task<unknown>, options: DescribeOptions = {}): TaskInfo {
  if (!(task instanceof Task)) throw new TypeError(`describeTask: expected a Task, got ${String(task)}`);
  const locate = options?.locate;
  if (locate !== undefined && typeof locate !== 'function') {
    throw new TypeError(`describeTask: options.locate must be a function, got ${String(locate)}`);
  }
  const info: TaskInfo = {
    task,
    id: task.id,
    name: task.name,
    priority: task.priority,
    state: taskState(task),
    outcome: outcomeOf(task),
    steps: task.steps,
    runTimeMs: task.runTimeMs,
    waitingOn: waitInfo(task),
    spawnerId: task.spawnerId,
    createdAt: task.sourceStack,
    cancelling: task.cancelling(),
    cancelOrigin: task.cancelOrigin,
    // Peeked, not retrieved: describing a failed task must not silence the
    // debug-mode "exception was never retrieved" report.
    error: task.peekException(),
  };
  return Object.freeze(locate === undefined ? info : { ...info, location: locate(task) });
}

function outcomeOf(task: Task<unknown>): TaskOutcome {
  if (!task.done()) return 'pending';
  if (task.cancelled()) return 'cancelled';
  return task.peekException() === undefined ? 'finished' : 'failed';
}
