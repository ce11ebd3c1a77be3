/**
 * eventide's instrumentation: instrument hook types, task snapshots, the
 * await graph and the task tree. Everything here reads state the loop and
 * its tasks keep anyway; attaching nothing costs nothing.
 *
 * @example
 * import { describeTask, formatTaskTree } from 'eventide';
 * console.log(formatTaskTree(loop));
 * for (const task of loop.allTasks()) console.log(describeTask(task));
 */
export { HOOK_NAMES } from './instrument.js';
export type { CancelOptions, CancelOrigin, CoreInstrument, HookName, Instrument, SpawnInfo, WakeCause } from './instrument.js';
export { describeTask, futureLabel, taskState, waitInfo } from './task-info.js';
export type { DescribeOptions, SourcePosition, TaskInfo, TaskLocator, TaskOutcome, TaskState, WaitInfo } from './task-info.js';
export { buildTaskGraph, captureCallGraph } from './call-graph.js';
export type { CallGraph, Link, TaskEdge, TaskGraph, TaskSource } from './call-graph.js';
export { formatTaskTree } from './task-tree.js';
export type { TreeOptions, TreeSource } from './task-tree.js';
export { TraceRecorder } from './trace.js';
export { renderReport, type ReportOptions } from './report.js';
export type { TraceEvent, TraceFile, TraceOptions } from './trace.js';
export * from './detectors.js';
