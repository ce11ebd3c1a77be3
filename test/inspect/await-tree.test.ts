/**
 * The await tree of one task (src/inspect/await-tree.ts): the task, the
 * tasks it awaits down to the leaf, and the tasks above it up to the root
 * — its siblings and unrelated tasks left out. Virtual time: exact text.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { awaitNeighbourhood, formatAwaitTree } from '../../src/inspect/await-tree.js';
import { Queue, currentTask, gather, sleep, type Task } from '../../src/index.js';
import { runInVirtualTime } from '../../src/testing.js';

test('formatAwaitTree shows the chain from the root down through the task to the leaf, and nothing beside it', async () => {
  await runInVirtualTime(function* (loop) {
    const main = currentTask() as Task<unknown>;
    const jobs = new Queue<number>();
    let fetch: Task<unknown> | null = null;
    const worker1 = (): Task<unknown> =>
      loop.createTask(
        function* () {
          fetch = loop.createTask(
            function* () {
              yield* sleep(250);
            },
            { name: 'fetch' },
          );
          yield* fetch;
        },
        { name: 'worker-1' },
      );
    const worker2 = (): Task<unknown> =>
      loop.createTask(
        function* () {
          yield* jobs.get();
        },
        { name: 'worker-2' },
      );
    let w1: Task<unknown> | null = null;
    const pool = loop.createTask(
      function* () {
        w1 = worker1();
        yield* gather(w1, worker2());
      },
      { name: 'pool' },
    );
    const other = loop.createTask(
      function* () {
        yield* sleep(1000);
      },
      { name: 'other' },
    );
    const seen: string[] = [];
    loop.createTask(
      function* () {
        yield* sleep(10);
        const worker = w1 as unknown as Task<unknown>;
        seen.push(awaitNeighbourhood(worker).map((task) => task.name).join(' '));
        seen.push(formatAwaitTree(worker));
        seen.push(
          [
            `main #${main.id} (waiting on task pool)`,
            `└── pool #${pool.id} (waiting on gather(2))`,
            `    └── worker-1 #${worker.id} (waiting on task fetch)`,
            `        └── fetch #${(fetch as unknown as Task<unknown>).id} (waiting on sleep, deadline +240 ms)`,
          ].join('\n'),
        );
        // From the leaf: the same chain.
        seen.push(formatAwaitTree(fetch as unknown as Task<unknown>));
        jobs.putNowait(1);
        other.cancel();
      },
      { name: 'observer' },
    );
    yield* pool;
    assert.equal(seen[0], 'main pool worker-1 fetch');
    assert.equal(seen[1], seen[2]);
    assert.equal(seen[3], seen[2]);
  });
});

test('awaitNeighbourhood refuses what is not a task', () => {
  assert.throws(() => awaitNeighbourhood({} as Task<unknown>), TypeError);
});
