/**
 * Node loops keep AsyncLocalStorage's stores per task (io/async-context.ts),
 * as asyncio's tasks keep their contextvars: in both host modes, across
 * sleeps, fd waits and promise waits; `asyncContext: false` turns it off.
 */
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import test from 'node:test';
import { createNodeLoop, run } from '../../src/hosts/node.js';
import { NodeEventLoop } from '../../src/io/node-event-loop.js';
import { sockRecv } from '../../src/io/sock.js';
import { getRunningLoop } from '../../src/tasks/event-loop.js';
import { sleep, until, type Coroutine } from '../../src/tasks/operation.js';
import { MODES } from '../hosts/node-helpers.js';
import { closeAll, socketpair, writeString } from './fds.js';

const als = new AsyncLocalStorage<string>();

/** What `als` holds at each of the task's waits: a sleep, a promise, an fd. */
function* observe(fd: number): Coroutine<(string | undefined)[]> {
  const seen = [als.getStore()];
  yield* sleep(1);
  seen.push(als.getStore());
  yield* until(new Promise((resolve) => setTimeout(resolve, 1)));
  seen.push(als.getStore());
  yield* sockRecv(getRunningLoop() as NodeEventLoop, fd, 16);
  seen.push(als.getStore());
  return seen;
}

for (const mode of MODES) {
  test(`${mode} host: each task keeps the store current where it was created, through sleeps, promises and fd waits; enterWith stays in its task`, async () => {
    const [a, b, c, d] = [...socketpair(), ...socketpair()] as [number, number, number, number];
    try {
      const result = await als.run('outer', () =>
        run(
          function* () {
            const loop = getRunningLoop();
            const first = als.run('request 1', () => loop.createTask(observe(a)));
            const second = als.run('request 2', () => loop.createTask(observe(c)));
            const leaker = loop.createTask(function* () {
              als.enterWith('leaked?');
              yield* sleep(1);
              return als.getStore();
            });
            yield* sleep(5);
            for (const fd of [b, d]) writeString(fd, 'x');
            return { main: als.getStore(), first: yield* first, second: yield* second, leaker: yield* leaker, after: als.getStore() };
          },
          { mode },
        ),
      );
      assert.deepEqual(result, {
        main: 'outer',
        first: ['request 1', 'request 1', 'request 1', 'request 1'],
        second: ['request 2', 'request 2', 'request 2', 'request 2'],
        leaker: 'leaked?',
        after: 'outer',
      });
    } finally {
      closeAll(a, b, c, d);
    }
  });
}

for (const mode of MODES) {
  test(`${mode} host: run's main runs in the loop's own context, so a store main enters is seen by callbacks (callSoon, callLater, fd readers) and by tasks made after it; another task's stays in that task`, async () => {
    const [a, b] = socketpair();
    try {
      const seen = await als.run('outer', () =>
        run(
          function* () {
            const loop = getRunningLoop() as NodeEventLoop;
            als.enterWith('entered by main');
            const heard: Record<string, string | undefined> = {};
            const done = loop.createFuture<void>();
            loop.callSoon(() => void (heard.callSoon = als.getStore()));
            loop.callLater(1, () => void (heard.callLater = als.getStore()));
            loop.addReader(a, () => {
              heard.reader = als.getStore();
              loop.removeReader(a);
              done.setResult();
            });
            const child = loop.createTask(function* () {
              const before = als.getStore();
              als.enterWith('entered by child');
              yield* sleep(2);
              return [before, als.getStore()];
            });
            yield* sleep(5);
            writeString(b, 'x');
            yield* done;
            heard.child = (yield* child).join(' / ');
            heard.main = als.getStore();
            return heard;
          },
          { mode },
        ),
      );
      assert.deepEqual(seen, {
        callSoon: 'entered by main',
        callLater: 'entered by main',
        reader: 'entered by main',
        child: 'entered by main / entered by child',
        main: 'entered by main',
      });
    } finally {
      closeAll(a, b);
    }
  });
}

for (const mode of MODES) {
  test(`${mode} host: every tick of a run is in the context the run started in, also the ticks the host runs from its own callbacks (set up by an earlier run)`, async () => {
    const loop = createNodeLoop({ mode });
    const [a, b] = socketpair();
    try {
      // The first run sets up the host's own machinery (a blocking host's
      // turn, a guest host's watcher) in a context of its own.
      await als.run('first run', () => loop.runUntilComplete(loop.createTask(function* () { yield* sleep(1); }, { context: null })));
      const seen = await als.run('second run', () =>
        loop.runUntilComplete(
          loop.createTask(
            function* () {
              als.enterWith('entered by main');
              const heard: string[] = [];
              const done = loop.createFuture<void>();
              for (const ms of [1, 2, 3]) loop.callLater(ms, () => void heard.push(`timer ${ms}: ${als.getStore()}`));
              loop.addReader(a, () => {
                heard.push(`reader: ${als.getStore()}`);
                loop.removeReader(a);
                done.setResult();
              });
              yield* sleep(10);
              heard.push(`main after sleep: ${als.getStore()}`);
              writeString(b, 'x');
              yield* done;
              return heard;
            },
            { context: null },
          ),
        ),
      );
      assert.deepEqual(seen, [
        'timer 1: entered by main',
        'timer 2: entered by main',
        'timer 3: entered by main',
        'main after sleep: entered by main',
        'reader: entered by main',
      ]);
    } finally {
      loop.close();
      closeAll(a, b);
    }
  });
}

for (const mode of MODES) {
  test(`${mode} host: callbacks keep the store of the task that scheduled them: callSoon, callLater, an fd reader, and a connection's protocol made in the task (asyncio's handles keep their context)`, async () => {
    const [a, b] = socketpair();
    const [c, d] = socketpair();
    try {
      const heard = await als.run('outer', () =>
        run(
          function* () {
            const loop = getRunningLoop() as NodeEventLoop;
            const heard: string[] = [];
            const request = als.run('request 1', () =>
              loop.createTask(function* () {
                const read = loop.createFuture<void>();
                loop.callSoon(() => void heard.push(`callSoon: ${als.getStore()}`));
                loop.callLater(1, () => void heard.push(`callLater: ${als.getStore()}`));
                loop.addReader(a, () => {
                  heard.push(`reader: ${als.getStore()}`);
                  loop.removeReader(a);
                  read.setResult();
                });
                const [transport] = yield* loop.connectAcceptedSocket(
                  () => ({
                    connectionMade: () => void heard.push(`connectionMade: ${als.getStore()}`),
                    dataReceived: () => void heard.push(`dataReceived: ${als.getStore()}`),
                  }),
                  c,
                );
                yield* sleep(5);
                writeString(b, 'x');
                writeString(d, 'y');
                yield* read;
                yield* sleep(5);
                transport.close();
              }),
            );
            loop.callSoon(() => void heard.push(`main's callSoon: ${als.getStore()}`));
            yield* request;
            return heard;
          },
          { mode },
        ),
      );
      assert.deepEqual(heard.sort(), [
        'callLater: request 1',
        'callSoon: request 1',
        'connectionMade: request 1',
        'dataReceived: request 1',
        "main's callSoon: outer",
        'reader: request 1',
      ]);
    } finally {
      closeAll(a, b, d);
    }
  });
}

test('asyncContext: false — every step sees the store the loop was started in, as before', async () => {
  const seen = await als.run('outer', () =>
    run(
      function* () {
        const loop = getRunningLoop();
        const task = als.run('inner', () =>
          loop.createTask(function* () {
            yield* sleep(1);
            return als.getStore();
          }),
        );
        return yield* task;
      },
      { asyncContext: false },
    ),
  );
  assert.equal(seen, 'outer');
});

test('createNodeLoop and new NodeEventLoop capture by default; a captureTaskContext given wins; a non-boolean asyncContext is a TypeError', async () => {
  for (const loop of [createNodeLoop(), new NodeEventLoop()]) {
    const task = als.run('made here', () =>
      loop.createTask(function* () {
        return als.getStore();
      }),
    );
    assert.equal(await loop.runUntilComplete(task), 'made here');
    loop.close();
  }
  const own = createNodeLoop({ captureTaskContext: null });
  const task = als.run('made here', () =>
    own.createTask(function* () {
      return als.getStore();
    }),
  );
  assert.equal(await own.runUntilComplete(task), undefined);
  own.close();
  assert.throws(() => createNodeLoop({ asyncContext: 'yes' as never }), { name: 'TypeError', message: 'createNodeLoop: options.asyncContext must be a boolean, got "yes"' });
  assert.throws(() => new NodeEventLoop({ asyncContext: 1 as never }), { name: 'TypeError', message: 'NodeEventLoop: options.asyncContext must be a boolean, got 1' });
});
