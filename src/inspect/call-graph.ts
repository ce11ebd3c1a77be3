/**
 * The await graph: who waits on whom (Python 3.14's `capture_call_graph`).
 *
 * The edges cost nothing to keep. A task already records what it is
 * suspended on (`task.waitingOn`): set on every `yield*`, cleared when its
 * next step runs — that field *is* the awaits edge. The reverse edges
 * ("awaited by") are found when someone asks, by one pass over the loop's
 * tasks, so the running program pays nothing for them.
 *
 * A fan-out through a combinator waits on a Future the combinator settles,
 * not on the child tasks. `gather` and `shield` say which futures their
 * future stands for (tasks/combined.ts), so a task waiting on one awaits
 * each of those too — an awaits edge, found when asked, like the others.
 * For the rest (a TaskGroup's children, tasks nothing awaits), a task that
 * nothing awaits hangs under the task that spawned it, while that task is
 * alive — a "spawned" edge (the spawner's id is recorded at creation,
 * again for free). Spawned edges never close a cycle; a cycle in
 * the graph is always a real one: tasks awaiting each other, which can
 * never finish.
 *
 * Nodes are the loop's pending tasks plus the finished tasks some pending
 * task is still suspended on (woken, not yet resumed): that is where a
 * cancelled child shows who cancelled it.
 */
import { combinedFutures } from '../tasks/combined.js';
import { currentTask } from '../tasks/current.js';
import type { EventLoop } from '../tasks/event-loop.js';
import { Future } from '../tasks/future.js';
import { Task } from '../tasks/task.js';
import { describeTask, type TaskInfo } from './task-info.js';

/** How a task relates to the task it hangs under: it is awaited by it, or was spawned by it. */
export type Link = 'awaits' | 'spawned';

/** One edge of the graph, seen from one end. */
export interface TaskEdge {
  readonly task: Task<unknown>;
  readonly link: Link;
}

/** The await graph of one loop at one moment (see `buildTaskGraph`). */
export interface TaskGraph {
  /** Every node, in id (creation) order. */
  readonly tasks: readonly Task<unknown>[];
  /** The tasks `task` hangs under: those awaiting it, else its live spawner. */
  parentsOf(task: Task<unknown>): readonly TaskEdge[];
  /** The tasks hanging under `task`, in id order. */
  childrenOf(task: Task<unknown>): readonly TaskEdge[];
  /** The tasks suspended directly on `future` (any Future, task or not), in id order. */
  awaitersOf(future: Future<unknown>): readonly Task<unknown>[];
}

/** What the graph needs of a loop. */
export interface TaskSource {
  allTasks(): Task<unknown>[];
}

/**
 * Takes the await graph of `loop` now: its pending tasks, and the edges
 * between them (see the module comment).
 *
 * @example
 * const graph = buildTaskGraph(loop);
 * for (const task of graph.tasks) console.log(task.name, graph.childrenOf(task).map((e) => e.task.name));
 */
export function buildTaskGraph(loop: TaskSource): TaskGraph {
  if (loop === null || typeof loop !== 'object' || typeof loop.allTasks !== 'function') {
    throw new TypeError(`buildTaskGraph: expected an EventLoop, got ${String(loop)}`);
  }
  const nodes = new Set<Task<unknown>>(loop.allTasks());
  for (const task of [...nodes]) {
    const waiter = task.waitingOn;
    if (waiter instanceof Task) nodes.add(waiter);
  }
  const tasks = [...nodes].sort(byId);
  const parents = new Map<Task<unknown>, TaskEdge[]>();
  const children = new Map<Task<unknown>, TaskEdge[]>();
  const awaiters = new Map<Future<unknown>, Task<unknown>[]>();
  const link = (parent: Task<unknown>, child: Task<unknown>, kind: Link): void => {
    push(parents, child, { task: parent, link: kind });
    push(children, parent, { task: child, link: kind });
  };

  for (const task of tasks) {
    const waiter = task.waitingOn;
    if (waiter === null || !isFuture(waiter)) continue;
    push(awaiters, waiter, task);
    if (waiter instanceof Task) link(task, waiter, 'awaits');
    // Through a combinator (gather, shield): the task awaits what it stands for.
    for (const child of combinedFutures(waiter)) {
      if (child instanceof Task && nodes.has(child)) link(task, child, 'awaits');
      else if (!(child instanceof Task)) push(awaiters, child, task);
    }
  }

  const byIdMap = new Map(tasks.map((task) => [task.id, task] as const));
  const isAncestorOrSelf = (candidate: Task<unknown>, of: Task<unknown>): boolean => {
    const seen = new Set<Task<unknown>>();
    const stack = [of];
    while (stack.length > 0) {
      const task = stack.pop() as Task<unknown>;
      if (task === candidate) return true;
      if (seen.has(task)) continue;
      seen.add(task);
      for (const edge of parents.get(task) ?? []) stack.push(edge.task);
    }
    return false;
  };
  for (const task of tasks) {
    if (task.done() || parents.has(task)) continue;
    const spawner = byIdMap.get(task.spawnerId);
    if (spawner === undefined || spawner.done() || isAncestorOrSelf(task, spawner)) continue;
    link(spawner, task, 'spawned');
  }
  for (const list of children.values()) list.sort((a, b) => a.task.id - b.task.id);

  return Object.freeze({
    tasks: Object.freeze(tasks),
    parentsOf: (task: Task<unknown>) => parents.get(task) ?? [],
    childrenOf: (task: Task<unknown>) => children.get(task) ?? [],
    awaitersOf: (future: Future<unknown>) => awaiters.get(future) ?? [],
  });
}

/**
 * One node of a call graph: a task (or future) and, recursively, who
 * awaits it (Python's `FutureCallGraph`, with what the task waits on in
 * place of a frame stack).
 */
export interface CallGraph {
  /** The task or future this node is about. */
  readonly future: Future<unknown>;
  /** Its snapshot (state, what it waits on, ...) when it is a task; else null. */
  readonly task: TaskInfo | null;
  /**
   * How this node relates to the node whose `awaitedBy` lists it: it awaits
   * that one, or spawned it (and nothing awaits that one directly). Null for
   * the node the graph starts from.
   */
  readonly link: Link | null;
  /** Who awaits this node, recursively; empty for a cycle node. */
  readonly awaitedBy: readonly CallGraph[];
  /** True when this node already appears further down: the graph loops here (tasks awaiting each other). */
  readonly cycle: boolean;
}

/**
 * The call graph of `future` (default: the current task) upwards: the task,
 * what it awaits, and who awaits it, recursively up to the tasks nothing
 * awaits. A cycle is cut where it closes (`cycle: true`). Returns null when
 * no future is given and no task is running.
 *
 * @example
 * function* leaf() {
 *   const graph = captureCallGraph(); // leaf, awaited by middle, awaited by main
 *   console.log(graph?.awaitedBy[0]?.task?.name);
 * }
 */
export function captureCallGraph(future?: Future<unknown> | null): CallGraph | null {
  const start = future ?? currentTask();
  if (start === null) return null;
  if (!isFuture(start)) throw new TypeError(`captureCallGraph: expected a Future or Task, got ${String(start)}`);
  const graph = buildTaskGraph(start.loop as unknown as EventLoop);
  const node = (at: Future<unknown>, link: Link | null, path: readonly Future<unknown>[]): CallGraph => {
    const task = at instanceof Task ? describeTask(at) : null;
    if (path.includes(at)) return Object.freeze({ future: at, task, link, awaitedBy: Object.freeze([]), cycle: true });
    const above: readonly TaskEdge[] =
      at instanceof Task ? graph.parentsOf(at) : graph.awaitersOf(at).map((awaiter) => ({ task: awaiter, link: 'awaits' as const }));
    const nextPath = [...path, at];
    const awaitedBy = Object.freeze(above.map((edge) => node(edge.task, edge.link, nextPath)));
    return Object.freeze({ future: at, task, link, awaitedBy, cycle: false });
  };
  return node(start, null, []);
}

function byId(a: Future<unknown>, b: Future<unknown>): number {
  return a.id - b.id;
}

function isFuture(value: unknown): value is Future<unknown> {
  return value instanceof Future;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
