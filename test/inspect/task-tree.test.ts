/**
 * The task tree as text (inspect/task-tree.ts): exact output for known
 * programs on a virtual clock, so deadlines are exact.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CancelledError, EventLoop, currentTask, formatTaskTree, gather, sleep } from '../../src/index.js';
import type { Task } from '../../src/index.js';
import { assertLoopClean, runInVirtualTime } from '../../src/testing.js';

function me(): Task<unknown> {
  return currentTask() as Task<unknown>;
}

test('the tree of a known program: awaits nested under awaiters, a gather fan-out under its spawner, identical siblings grouped', async () => {
  await runInVirtualTime(function* (loop) {
    yield* sleep(100);
    const inner = loop.createTask(
      function* () {
        yield* sleep(20);
      },
      { name: 'inner' },
    );
    const outer = loop.createTask(
      function* () {
        yield* inner;
      },
      { name: 'outer' },
    );
    const gatherer = loop.createTask(
      function* () {
        const workers = [1, 2, 3].map(() =>
          loop.createTask(
            function* () {
              yield* sleep(5);
            },
            { name: 'worker' },
          ),
        );
        yield* gather(...workers);
      },
      { name: 'gatherer' },
    );
    const gate = loop.createFuture<void>();
    gate.label = 'Event.wait()';
    const listener = loop.createTask(
      function* () {
        yield* gate;
      },
      { name: 'listener' },
    );
    const late = loop.createTask(function* () {}, { name: 'late' });
    yield* sleep(0); // the tasks above have run their first step (gatherer made the workers)
    yield* sleep(0); // and the workers theirs
    // `late` has finished; everything else is suspended.
    assert.equal(
      formatTaskTree(loop),
      [
        `main #${me().id} (running)`,
        `├── outer #${outer.id} (waiting on task inner)`,
        `│   └── inner #${inner.id} (waiting on sleep, deadline +20 ms)`,
        `├── gatherer #${gatherer.id} (waiting on gather(3))`,
        `│   └── 3 × worker (waiting on sleep, deadline +5 ms)`,
        `└── listener #${listener.id} (waiting on Event.wait())`,
      ].join('\n'),
    );
    assert.equal(late.done(), true);
    gate.setResult();
    yield* outer;
    yield* gatherer;
    yield* listener;
    assert.equal(formatTaskTree(loop), `main #${me().id} (running)`);
  });
});

test('a hundred identical workers print as one line: "100 × worker"', async () => {
  await runInVirtualTime(function* (loop) {
    const workers: Task<unknown>[] = [];
    for (let i = 0; i < 100; i++) {
      workers.push(
        loop.createTask(
          function* () {
            yield* sleep(5);
          },
          { name: 'worker' },
        ),
      );
    }
    const odd = loop.createTask(
      function* () {
        yield* sleep(7);
      },
      { name: 'worker' },
    );
    yield* sleep(0);
    assert.equal(
      formatTaskTree(loop),
      [`main #${me().id} (running)`, '├── 100 × worker (waiting on sleep, deadline +5 ms)', `└── worker #${odd.id} (waiting on sleep, deadline +7 ms)`].join('\n'),
    );
    yield* gather(...workers, odd);
  });
});

test('a task awaited by two tasks is printed in full under the first and referenced under the second', async () => {
  await runInVirtualTime(function* (loop) {
    const shared = loop.createTask(
      function* () {
        yield* sleep(5);
      },
      { name: 'shared' },
    );
    const first = loop.createTask(
      function* () {
        yield* shared;
      },
      { name: 'first' },
    );
    const second = loop.createTask(
      function* () {
        yield* shared;
      },
      { name: 'second' },
    );
    yield* sleep(0);
    assert.equal(
      formatTaskTree(loop),
      [
        `main #${me().id} (running)`,
        `├── first #${first.id} (waiting on task shared)`,
        `│   └── shared #${shared.id} (waiting on sleep, deadline +5 ms)`,
        `└── second #${second.id} (waiting on task shared)`,
        `    └── shared #${shared.id} (see above)`,
      ].join('\n'),
    );
    yield* gather(first, second);
  });
});

test('tasks awaiting each other print the cycle once, where it closes, instead of looping', async () => {
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
    assert.equal(
      formatTaskTree(loop),
      [
        `main #${me().id} (running)`,
        `a #${a.id} (waiting on task b)`,
        `└── b #${b.id} (waiting on task a)`,
        `    └── (cycle: a #${a.id} → b #${b.id} → a #${a.id})`,
      ].join('\n'),
    );
    a.cancel('break the cycle');
    yield* sleep(0);
    yield* sleep(0);
    assert.equal(formatTaskTree(loop), `main #${me().id} (running)`);
  });
});

test('cancellation provenance: who cancelled each task, through whom, from where and why', async () => {
  await runInVirtualTime(function* (loop) {
    const inner = loop.createTask(
      function* () {
        yield* sleep(100);
      },
      { name: 'inner' },
    );
    const outer = loop.createTask(
      function* () {
        yield* inner;
      },
      { name: 'outer' },
    );
    const stubborn = loop.createTask(
      function* () {
        try {
          yield* sleep(10);
        } catch (error) {
          if (!(error instanceof CancelledError)) throw error;
          yield* sleep(50); // ignores the request and keeps going
        }
      },
      { name: 'stubborn' },
    );
    // From a plain callback (no task), once stubborn sleeps: it catches and sleeps on.
    loop.callSoon(() => stubborn.cancel('deadline', { source: 'timeout' }));
    yield* sleep(1);
    outer.cancel('stop now');
    yield* sleep(0);
    // inner has been cancelled; outer is woken by that but has not run yet.
    const mainId = me().id;
    assert.equal(
      formatTaskTree(loop),
      [
        `main #${mainId} (running)`,
        `├── outer #${outer.id} (ready; cancel requested by main #${mainId} (task.cancel: "stop now"))`,
        `│   └── inner #${inner.id} (cancelled by main #${mainId} via outer #${outer.id} (propagated: "stop now"))`,
        `└── stubborn #${stubborn.id} (waiting on sleep, deadline +49 ms; cancel requested (timeout: "deadline"))`,
      ].join('\n'),
    );
    yield* stubborn;
    assert.equal(outer.cancelled(), true);
    assert.equal(formatTaskTree(loop), `main #${mainId} (running)`);
  });
});

test('states in the tree: not started, ready, failed; roots created outside any task group together', () => {
  const loop = new EventLoop({ clock: 'virtual' });
  assert.equal(formatTaskTree(loop), '(no tasks)');
  const idle = [0, 1, 2].map(() => loop.createTask(function* () {}, { name: 'idle' }));
  assert.equal(formatTaskTree(loop), '3 × idle (not started)');
  loop.runOnce(0);
  const failing = loop.createTask(
    function* () {
      yield* sleep(0);
      throw new RangeError('bad value');
    },
    { name: 'failing' },
  );
  const watcher = loop.createTask(
    function* () {
      try {
        yield* failing;
      } catch {
        // expected
      }
    },
    { name: 'watcher' },
  );
  loop.runOnce(0); // both start; failing sleeps(0), watcher waits on it
  loop.runOnce(0); // failing fails; watcher is woken
  assert.equal(formatTaskTree(loop), [`watcher #${watcher.id} (ready)`, `└── failing #${failing.id} (failed: RangeError: bad value)`].join('\n'));
  loop.runOnce(0);
  assert.equal(idle.every((task) => task.done()), true);
  assert.throws(() => formatTaskTree({} as never), { name: 'TypeError', message: /expected an EventLoop/ });
  assertLoopClean(loop);
});
