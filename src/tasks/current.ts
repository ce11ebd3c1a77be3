/**
 * The task whose step is running right now. Set by Task around each step
 * (asyncio's `_enter_task` / `_leave_task`); null between steps.
 */
import type { Task } from './task.js';

let current: Task<unknown> | null = null;

/**
 * The task that is running, or null outside any task step.
 *
 * @example
 * function* worker() { console.log(currentTask()?.name); }
 */
export function currentTask(): Task<unknown> | null {
  return current;
}

/** @internal */
export function swapCurrentTask(task: Task<unknown> | null): Task<unknown> | null {
  const previous = current;
  current = task;
  return previous;
}
