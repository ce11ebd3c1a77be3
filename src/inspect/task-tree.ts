/**
 * The task tree as text (`asyncio pstree`): every task of a loop, each
 * under the task that awaits it (or, for a combinator's children, that
 * spawned it), with what it is doing:
 *
 *     main #1 (waiting on GatheringFuture #9)
 *     ├── fetch #2 (waiting on sleep, deadline +10 ms)
 *     └── 3 × worker (waiting on sleep, deadline +5 ms)
 *
 * Rules, so the text stays readable for thousands of tasks and never loops:
 *  - siblings with the same name, the same status and the same subtree
 *    are printed once, as `N × name (status)` (asyncio groups identical
 *    stacks the same way);
 *  - a task awaited by several tasks is printed in full under the first
 *    and as `name #id (see above)` under the others;
 *  - tasks that await each other print the loop once, as
 *    `(cycle: a #2 → b #3 → a #2)`, where it closes;
 *  - a task someone asked to cancel says by whom, through whom and why:
 *    `cancelled by main #1 via outer #2 (propagated: "stop")`;
 *  - given a `locate` function (on Node, `taskLocator` from 'eventide/node'),
 *    each task says where it is paused: `… (waiting on sleep) at app.ts:12:5`;
 *    siblings then group only when they are paused at the same place.
 * Deadlines are relative to the loop's time, so on a virtual clock the
 * text is exact and tests can pin it.
 */
import type { CancelOrigin, Task } from '../tasks/task.js';
import { buildTaskGraph, type TaskGraph, type TaskSource } from './call-graph.js';
import { describeTask, type TaskInfo, type TaskLocator, type WaitInfo } from './task-info.js';

/** What `formatTaskTree` needs of a loop: its tasks and its clock. */
export interface TreeSource extends TaskSource {
  time(): number;
}

/** Options of `formatTaskTree`. */
export interface TreeOptions {
  /** Says where each task is paused; its answer is printed after the status as ` at file:line:column`. */
  locate?: TaskLocator;
}

/** One line of the tree before grouping: a task, a cycle marker, or a reference to a task printed above. */
type Item =
  | { readonly kind: 'task'; readonly name: string; readonly id: number; readonly status: string; readonly place: string; readonly key: string; readonly children: readonly Item[] }
  | { readonly kind: 'text'; readonly text: string; readonly key: string };

/**
 * Renders the tasks of `loop` as a tree (see the module comment); `'(no
 * tasks)'` when there are none. Lines are joined with `\n`, no trailing
 * newline. With `options.locate`, each task also says where it is paused.
 *
 * @example
 * console.log(formatTaskTree(loop));
 * // main #1 (waiting on task worker)
 * // └── worker #2 (waiting on sleep, deadline +5 ms)
 */
export function formatTaskTree(loop: TreeSource, options: TreeOptions = {}): string {
  if (loop === null || typeof loop !== 'object' || typeof loop.allTasks !== 'function' || typeof loop.time !== 'function') {
    throw new TypeError(`formatTaskTree: expected an EventLoop, got ${String(loop)}`);
  }
  const locate = options?.locate;
  if (locate !== undefined && typeof locate !== 'function') {
    throw new TypeError(`formatTaskTree: options.locate must be a function, got ${String(locate)}`);
  }
  const graph = buildTaskGraph(loop);
  const context: BuildContext = { graph, nowMs: loop.time(), locate, expanded: new Set<Task<unknown>>() };
  const roots: Item[] = [];
  // Tasks nothing hangs above first; then whatever is left is held up only
  // by a cycle: start from its lowest id.
  for (const task of graph.tasks) {
    if (graph.parentsOf(task).length === 0) roots.push(buildItem(task, context, []));
  }
  for (const task of graph.tasks) {
    if (!context.expanded.has(task)) roots.push(buildItem(task, context, []));
  }
  if (roots.length === 0) return '(no tasks)';
  const lines: string[] = [];
  for (const group of groupItems(roots)) {
    lines.push(itemText(group.item, group.count));
    if (group.item.kind === 'task') emitChildren(group.item.children, '', lines);
  }
  return lines.join('\n');
}

/** What building the items needs, beside the task and its path. */
interface BuildContext {
  readonly graph: TaskGraph;
  readonly nowMs: number;
  readonly locate: TaskLocator | undefined;
  /** Tasks already printed in full. */
  readonly expanded: Set<Task<unknown>>;
}

function buildItem(task: Task<unknown>, context: BuildContext, path: readonly Task<unknown>[]): Item {
  const { graph, expanded } = context;
  if (expanded.has(task)) {
    const text = `${task.name} #${task.id} (see above)`;
    return { kind: 'text', text, key: text };
  }
  expanded.add(task);
  const info = describeTask(task, context.locate === undefined ? {} : { locate: context.locate });
  const status = statusText(info, context.nowMs);
  const place = info.location === undefined ? '' : ` at ${info.location.file}:${info.location.line}:${info.location.column}`;
  const nextPath = [...path, task];
  const children: Item[] = [];
  for (const edge of graph.childrenOf(task)) {
    const at = nextPath.indexOf(edge.task);
    if (at !== -1) {
      const loop = [...nextPath.slice(at), edge.task].map((t) => `${t.name} #${t.id}`).join(' → ');
      const text = `(cycle: ${loop})`;
      children.push({ kind: 'text', text, key: text });
    } else {
      children.push(buildItem(edge.task, context, nextPath));
    }
  }
  const key = `${task.name}\u0000${status}${place}\u0000${children.map((child) => child.key).join('\u0001')}`;
  return { kind: 'task', name: task.name, id: task.id, status, place, key, children };
}

/** Siblings with equal keys, in order of first appearance, with their count. */
function groupItems(items: readonly Item[]): { item: Item; count: number }[] {
  const groups = new Map<string, { item: Item; count: number }>();
  for (const item of items) {
    const group = groups.get(item.key);
    if (group === undefined) groups.set(item.key, { item, count: 1 });
    else group.count++;
  }
  return [...groups.values()];
}

function emitChildren(children: readonly Item[], prefix: string, lines: string[]): void {
  const groups = groupItems(children);
  groups.forEach((group, index) => {
    const last = index === groups.length - 1;
    lines.push(`${prefix}${last ? '└── ' : '├── '}${itemText(group.item, group.count)}`);
    if (group.item.kind === 'task') emitChildren(group.item.children, prefix + (last ? '    ' : '│   '), lines);
  });
}

function itemText(item: Item, count: number): string {
  if (item.kind === 'text') return count === 1 ? item.text : `${count} × ${item.text}`;
  return count === 1 ? `${item.name} #${item.id} (${item.status})${item.place}` : `${count} × ${item.name} (${item.status})${item.place}`;
}

/** What a task is doing, in words (no id of its own, so equal siblings group). */
function statusText(info: TaskInfo, nowMs: number): string {
  let text: string;
  switch (info.state) {
    case 'pending':
      text = 'not started';
      break;
    case 'ready':
    case 'running':
      text = info.state;
      break;
    case 'waiting':
      text = `waiting on ${waitText(info.waitingOn, nowMs)}`;
      break;
    case 'done':
      text = info.outcome === 'failed' ? `failed: ${errorText(info.error)}` : info.outcome;
      break;
  }
  const origin = info.cancelOrigin;
  if (origin === null) return text;
  if (info.outcome === 'cancelled') return `${text} ${originText(origin)}`;
  return `${text}; cancel requested ${originText(origin)}`;
}

function waitText(wait: WaitInfo | null, nowMs: number): string {
  if (wait === null) return 'nothing';
  switch (wait.kind) {
    case 'task':
      return `task ${wait.task.name}`;
    case 'future':
      return wait.label;
    case 'sleep':
      return `sleep, deadline ${signedMs(wait.deadlineMs - nowMs)}`;
  }
}

/** `by main #1 via outer #2 (propagated: "stop")`, leaving out what is unknown. */
function originText(origin: CancelOrigin): string {
  const parts: string[] = [];
  if (origin.byTask !== null) parts.push(`by ${origin.byTask.name} #${origin.byTask.id}`);
  if (origin.via !== null) parts.push(`via ${origin.via.name} #${origin.via.id}`);
  parts.push(`(${origin.source}${origin.reason === undefined ? '' : `: ${JSON.stringify(origin.reason)}`})`);
  return parts.join(' ');
}

function signedMs(ms: number): string {
  const text = Number.isInteger(ms) ? String(Math.abs(ms)) : Math.abs(ms).toFixed(1);
  return `${ms < 0 ? '-' : '+'}${text} ms`;
}

function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
