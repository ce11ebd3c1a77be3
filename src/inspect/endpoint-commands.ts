/**
 * What the inspector endpoint answers: one function per command of the
 * console protocol (endpoint-protocol.ts), reading the loop between ticks.
 *
 * Replies are computed synchronously from the loop's state — JavaScript is
 * single-threaded, so a reply is one consistent snapshot — except `where`,
 * which may wait for the task locator (node:inspector) after taking its
 * snapshot. `cancel` calls `task.cancel(reason, {source: 'console'})`, which
 * schedules the task's wake-up through the loop like any other cancel, so a
 * loop idling in its host wakes for it. Platform-free: the locator is
 * passed in by the Node-only endpoint.
 */
import type { EventLoop } from '../tasks/event-loop.js';
import type { Task } from '../tasks/task.js';
import { formatAwaitTree } from './await-tree.js';
import type { ConsoleStats } from './console-stats.js';
import {
  RequestError,
  taskRefText,
  type CancelResult,
  type InspectorRequest,
  type PsResult,
  type TaskRef,
  type WhereResult,
} from './endpoint-protocol.js';
import { formatTaskTree } from './task-tree.js';

/** Finds where a suspended task is paused in the source: `file:line:column`, or null with the reason. */
export type TaskLocator = (task: Task<unknown>) => Promise<{ location: string | null; note: string | null }>;

/** What the commands read. */
export interface ConsoleContext {
  readonly stats: ConsoleStats;
  /** The process id `ps` reports. */
  readonly pid: number;
  /** How `where` finds file:line; without one, `where` gives the await tree only. */
  readonly locate?: TaskLocator;
}

/** How many warnings `ps` carries (the latest); `warnings` gives all that are kept. */
export const PS_WARNINGS = 50;

/**
 * Answers one request (not `auth`, which the endpoint handles). Throws a
 * RequestError for a task that cannot be found or named ambiguously.
 *
 * @example
 * const result = await answerRequest(context, { cmd: 'where', task: { name: 'worker' } });
 */
export async function answerRequest(context: ConsoleContext, request: Exclude<InspectorRequest, { cmd: 'auth' }>): Promise<unknown> {
  const { stats } = context;
  switch (request.cmd) {
    case 'ps':
      return psResult(context, request.task);
    case 'tree':
      return { text: formatTaskTree(stats.loop) };
    case 'warnings':
      return { warnings: stats.warnings() };
    case 'where': {
      const task = findTask(stats.loop, request.task);
      const row = stats.taskRow(task);
      const tree = formatAwaitTree(task);
      const found = context.locate === undefined ? { location: null, note: 'no task locator in this program' } : await context.locate(task);
      const result: WhereResult = { task: row, tree, location: found.location, locationNote: found.note };
      return result;
    }
    case 'cancel': {
      const task = findTask(stats.loop, request.task);
      const cancelled = task.cancel(request.reason, { source: 'console' });
      const result: CancelResult = { cancelled, task: stats.taskRow(task) };
      return result;
    }
  }
}

function psResult(context: ConsoleContext, selected: TaskRef | null): PsResult {
  const { stats } = context;
  const tasks = stats.loop.allTasks().sort((a, b) => a.id - b.id);
  const warnings = stats.warnings();
  return {
    pid: context.pid,
    timeMs: stats.loop.time(),
    debug: stats.loop.getDebug(),
    tasks: tasks.map((task) => stats.taskRow(task)),
    warnings: warnings.slice(-PS_WARNINGS),
    selected: selected === null ? null : selectedTree(stats.loop, selected),
  };
}

function selectedTree(loop: EventLoop, ref: TaskRef): PsResult['selected'] {
  try {
    const task = findTask(loop, ref);
    return { id: task.id, tree: formatAwaitTree(task) };
  } catch (error) {
    return { id: null, error: (error as Error).message };
  }
}

/**
 * The pending task of `loop` that `ref` names: by id, or by a name no
 * other pending task has. Throws a RequestError saying which tasks matched
 * when none or several do.
 *
 * @example
 * findTask(loop, { name: 'worker-1' }).id; // 4
 */
export function findTask(loop: EventLoop, ref: TaskRef): Task<unknown> {
  const tasks = loop.allTasks();
  const matches = 'id' in ref ? tasks.filter((task) => task.id === ref.id) : tasks.filter((task) => task.name === ref.name);
  if (matches.length === 1) return matches[0] as Task<unknown>;
  if (matches.length === 0) {
    throw new RequestError(`no pending task ${taskRefText(ref)} (${tasks.length} pending: it finished, or never existed)`);
  }
  const ids = matches.sort((a, b) => a.id - b.id).map((task) => `#${task.id}`);
  throw new RequestError(`task name ${taskRefText(ref)} is ambiguous: ${ids.join(', ')}; name the task by its id`);
}
