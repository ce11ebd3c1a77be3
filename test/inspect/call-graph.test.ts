/**
 * The await graph (inspect/call-graph.ts): awaits edges from what each task
 * is suspended on (through gather and shield too), spawned edges for other
 * fan-outs, and cycles cut
 * where they close (Python 3.14 test_graph's shapes).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTaskGraph, captureCallGraph, currentTask, formatTaskTree, gather, shield, sleep } from '../../src/index.js';
import type { CallGraph, Future, Task } from '../../src/index.js';
import { runInVirtualTime } from '../../src/testing.js';

/** A call graph as nested arrays: [name, state or 'future', link, cycle?, ...awaitedBy]. */
type Shape = [string, string, string | null, ...unknown[]];

function shape(graph: CallGraph | null): Shape | null {
  if (graph === null) return null;
  const name = graph.task?.name ?? `future`;
  const state = graph.task?.state ?? 'future';
  const head: Shape = [name, graph.cycle ? `${state} (cycle)` : state, graph.link];
  return [...head, ...graph.awaitedBy.map(shape)] as Shape;
}

test('captureCallGraph: nested awaits three deep, from the leaf (current task) up to main', async () => {
  let fromLeaf: CallGraph | null = null;
  await runInVirtualTime(function* (loop) {
    const a = loop.createTask(
      function* () {
        yield* loop.createTask(
          function* () {
            yield* loop.createTask(
              function* () {
                yield* sleep(1); // by now every task above is suspended on the one below
                fromLeaf = captureCallGraph();
              },
              { name: 'c' },
            );
          },
          { name: 'b' },
        );
      },
      { name: 'a' },
    );
    yield* a;
  });
  assert.deepEqual(shape(fromLeaf), ['c', 'running', null, ['b', 'waiting', 'awaits', ['a', 'waiting', 'awaits', ['main', 'waiting', 'awaits']]]]);
  const leaf = fromLeaf as unknown as CallGraph;
  assert.equal(leaf.awaitedBy[0]?.task?.waitingOn?.kind, 'task');
  assert.equal(leaf.awaitedBy[0]?.task?.waitingOn?.label, `task c #${leaf.task?.id}`);
  assert.equal(Object.isFrozen(leaf), true);
});

test('captureCallGraph: with no argument outside any task it returns null; a bad argument is a TypeError', () => {
  assert.equal(captureCallGraph(), null);
  assert.throws(() => captureCallGraph(42 as unknown as Future<unknown>), { name: 'TypeError', message: /expected a Future or Task, got 42/ });
});

test('a gather fan-out: the children hang under the task that gathers them (awaits edges, through the gather future), which awaits the gather future', async () => {
  await runInVirtualTime(function* (loop) {
    const main = currentTask() as Task<unknown>;
    const graphs: (Shape | null)[] = [];
    const worker = (n: number) =>
      function* () {
        yield* sleep(n);
        graphs.push(shape(captureCallGraph()));
      };
    const workers = [1, 2, 3].map((n) => loop.createTask(worker(n), { name: `w${n}` }));
    const results = gather(...workers);
    const probe = loop.createTask(function* () {
      yield* sleep(0);
      const graph = buildTaskGraph(loop);
      assert.deepEqual(
        graph.childrenOf(main).map((edge) => [edge.task.name, edge.link]),
        [
          ['w1', 'awaits'],
          ['w2', 'awaits'],
          ['w3', 'awaits'],
          ['probe', 'spawned'],
        ],
      );
      assert.deepEqual(shape(captureCallGraph(results)), ['future', 'future', null, ['main', 'waiting', 'awaits']]);
      assert.equal(graph.awaitersOf(results)[0], main);
    }, { name: 'probe' });
    yield* results;
    yield* probe;
    assert.deepEqual(graphs, [
      ['w1', 'running', null, ['main', 'waiting', 'awaits']],
      ['w2', 'running', null, ['main', 'waiting', 'awaits']],
      ['w3', 'running', null, ['main', 'waiting', 'awaits']],
    ]);
  });
});

test('tasks made by one task and gathered by another hang under the gatherer, and their call graph lists it (Python 3.14 gather edges)', async () => {
  await runInVirtualTime(function* (loop) {
    const fetchers = [10, 20].map((ms, i) =>
      loop.createTask(
        function* () {
          yield* sleep(ms);
        },
        { name: `fetch${i + 1}` },
      ),
    );
    const gatherer = loop.createTask(
      function* () {
        yield* gather(...fetchers);
      },
      { name: 'gatherer' },
    );
    yield* sleep(1);
    const main = currentTask() as Task<unknown>;
    assert.equal(
      formatTaskTree(loop),
      [
        `main #${main.id} (running)`,
        `└── gatherer #${gatherer.id} (waiting on gather(2))`,
        `    ├── fetch1 #${fetchers[0]!.id} (waiting on sleep, deadline +9 ms)`,
        `    └── fetch2 #${fetchers[1]!.id} (waiting on sleep, deadline +19 ms)`,
      ].join('\n'),
    );
    assert.deepEqual(shape(captureCallGraph(fetchers[0])), ['fetch1', 'waiting', null, ['gatherer', 'waiting', 'awaits', ['main', 'running', 'spawned']]]);
    yield* gatherer;
  });
});

test('a task waiting on shield(task) awaits the shielded task: an edge through the shield future, labelled "shield"', async () => {
  await runInVirtualTime(function* (loop) {
    const work = loop.createTask(
      function* () {
        yield* sleep(10);
      },
      { name: 'work' },
    );
    const guard = loop.createTask(
      function* () {
        yield* shield(work);
      },
      { name: 'guard' },
    );
    yield* sleep(1);
    const main = currentTask() as Task<unknown>;
    assert.equal(
      formatTaskTree(loop),
      [
        `main #${main.id} (running)`,
        `└── guard #${guard.id} (waiting on shield)`,
        `    └── work #${work.id} (waiting on sleep, deadline +9 ms)`,
      ].join('\n'),
    );
    assert.deepEqual(shape(captureCallGraph(work)), ['work', 'waiting', null, ['guard', 'waiting', 'awaits', ['main', 'running', 'spawned']]]);
    yield* guard;
  });
});

test('a cycle of two tasks awaiting each other is cut where it closes; cancelling one ends both', async () => {
  await runInVirtualTime(function* (loop) {
    let b: Task<unknown> | null = null;
    const a = loop.createTask(
      function* () {
        yield* sleep(0);
        yield* b as Task<unknown>;
      },
      { name: 'a' },
    );
    b = loop.createTask(
      function* () {
        yield* a;
      },
      { name: 'b' },
    );
    yield* sleep(1);
    assert.deepEqual(shape(captureCallGraph(a)), ['a', 'waiting', null, ['b', 'waiting', 'awaits', ['a', 'waiting (cycle)', 'awaits']]]);
    const graph = buildTaskGraph(loop);
    // Neither hangs under main: each is awaited, so spawned edges do not apply.
    assert.deepEqual(graph.childrenOf(currentTask() as Task<unknown>), []);
    assert.equal(a.cancel('break the cycle'), true);
    yield* sleep(0);
    yield* sleep(0);
    assert.deepEqual([a.cancelled(), b.cancelled()], [true, true]);
  });
});

test('a spawned edge is never added when it would close a cycle: a task awaiting its own spawner stays a root', async () => {
  await runInVirtualTime(function* (loop) {
    const gate = loop.createFuture<void>();
    let child: Task<unknown> | null = null;
    const parent = loop.createTask(
      function* () {
        child = loop.createTask(
          function* () {
            yield* parent;
          },
          { name: 'child' },
        );
        yield* gate;
      },
      { name: 'parent' },
    );
    yield* sleep(1);
    const graph = buildTaskGraph(loop);
    assert.deepEqual(graph.parentsOf(parent).map((edge) => [edge.task.name, edge.link]), [['child', 'awaits']]);
    assert.deepEqual(graph.parentsOf(child as unknown as Task<unknown>), []);
    gate.setResult();
    yield* child as unknown as Task<unknown>;
  });
});

test('buildTaskGraph refuses something that is not a loop', () => {
  assert.throws(() => buildTaskGraph({} as never), { name: 'TypeError', message: /expected an EventLoop/ });
});
