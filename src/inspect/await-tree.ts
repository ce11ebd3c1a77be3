/**
 * The await tree of one task, for the live console: the task, the chain of
 * tasks it awaits down to the leaf, and every task that awaits it (or
 * spawned it), up to the roots — and nothing else.
 *
 * It is `formatTaskTree` over a view of the loop that lists only those
 * tasks, so the text has exactly the tree's rules (grouping, cycles, who
 * cancelled whom) and the two can never drift apart:
 *
 *     main #1 (waiting on task pool)
 *     └── pool #3 (waiting on GatheringFuture #12)
 *         └── worker-1 #4 (waiting on task fetch)
 *             └── fetch #9 (waiting on sleep, deadline +250 ms)
 *
 * Platform-free.
 */
import { Task } from '../tasks/task.js';
import { buildTaskGraph } from './call-graph.js';
import { formatTaskTree, type TreeSource } from './task-tree.js';

/**
 * The tasks around `task` in the await graph: it, what it awaits (down to
 * the leaf), and who awaits or spawned it (up to the roots), in id order.
 *
 * @example
 * awaitNeighbourhood(worker).map((t) => t.name); // ['main', 'pool', 'worker-1', 'fetch']
 */
export function awaitNeighbourhood(task: Task<unknown>): Task<unknown>[] {
  if (!(task instanceof Task)) throw new TypeError(`awaitNeighbourhood: expected a Task, got ${String(task)}`);
  const loop = task.loop as unknown as { allTasks(): Task<unknown>[] };
  const graph = buildTaskGraph({ allTasks: () => [...loop.allTasks(), task] });
  const picked = new Set<Task<unknown>>([task]);
  // Down: what it awaits, while that is a task (a cycle stops at a task already picked).
  for (let at = task.waitingOn; at instanceof Task && !picked.has(at); at = at.waitingOn) picked.add(at);
  // Up: everyone it hangs under, transitively.
  const stack = [task];
  while (stack.length > 0) {
    for (const edge of graph.parentsOf(stack.pop() as Task<unknown>)) {
      if (picked.has(edge.task)) continue;
      picked.add(edge.task);
      stack.push(edge.task);
    }
  }
  return [...picked].sort((a, b) => a.id - b.id);
}

/**
 * The await tree of `task` as text (see the module comment), with loop
 * times relative to `loop.time()`.
 *
 * @example
 * console.log(formatAwaitTree(worker));
 * // main #1 (waiting on task worker-1)
 * // └── worker-1 #4 (waiting on Queue.get())
 */
export function formatAwaitTree(task: Task<unknown>): string {
  const tasks = awaitNeighbourhood(task);
  const loop = task.loop as unknown as { time(): number };
  const source: TreeSource = { allTasks: () => tasks, time: () => loop.time() };
  return formatTaskTree(source);
}
