/**
 * Tasks keep Node's async context (AsyncLocalStorage), as asyncio's tasks
 * keep the contextvars context they were created in.
 *
 * Node carries AsyncLocalStorage's stores along its own async resources:
 * a callback runs with the stores of the resource that scheduled it. A
 * task's steps run from the loop's ready queue, so without help every step
 * would see the stores of whatever started the loop, and `enterWith` in
 * one task would leak into all the others. So each task gets an
 * AsyncResource made where the task is created (which takes a copy of the
 * stores current there), and every step runs inside it.
 *
 * Cost, measured on Node 20 here: ~110 ns and ~150 bytes for the resource
 * and its runner (once per task), ~30 ns to enter it (once per step).
 * `AsyncLocalStorage.snapshot()` gives the same behaviour but took ~11 µs
 * to capture.
 */
import { AsyncResource } from 'node:async_hooks';
import type { TaskContext } from '../core/loop-options.js';

/**
 * The Node loops' `captureTaskContext`: the async context current here,
 * as a runner for the task's steps.
 *
 * @example
 * // Node loops pass it as their captureTaskContext unless told otherwise:
 * new NodeEventLoop({ asyncContext: false }); // steps run in the loop's context instead
 */
export function captureAsyncContext(): TaskContext {
  const resource = new AsyncResource('eventide.Task');
  return (fn) => resource.runInAsyncScope(fn);
}
