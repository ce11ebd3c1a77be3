/**
 * run(main): asyncio.run for eventide — a fresh loop, main to completion,
 * leftovers cancelled, loop closed; native async code keeps working.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CancelledError, EventLoop, currentTask, getRunningLoop, run, sleep, until } from '../../src/index.js';
import type { ExceptionContext } from '../../src/index.js';
import { Log } from '../log.js';

test('run() returns the result of main, given a generator function or a generator object (asyncio test_runners: test_asyncio_run_return)', async () => {
  assert.equal(
    await run(function* () {
      return 1;
    }),
    1,
  );
  assert.equal(
    await run(
      (function* () {
        yield* sleep(1);
        return 'object';
      })(),
      { clock: 'virtual' },
    ),
    'object',
  );
});

test("run() rejects with main's exception, the same object, and closes the loop (asyncio test_runners: test_asyncio_run_raises)", async () => {
  const boom = new RangeError('main failed');
  let loop: EventLoop | null = null;
  await assert.rejects(
    run(
      function* () {
        loop = getRunningLoop();
        yield* sleep(5);
        throw boom;
      },
      { clock: 'virtual' },
    ),
    (e) => e === boom,
  );
  assert.equal((loop as EventLoop | null)?.isClosed(), true);
});

test('run() runs main as a task named "main" on a fresh, then closed, loop', async () => {
  const loops: EventLoop[] = [];
  for (let i = 0; i < 2; i++) {
    const name = await run(
      function* () {
        loops.push(getRunningLoop());
        return currentTask()?.name;
      },
      { clock: 'virtual' },
    );
    assert.equal(name, 'main');
  }
  assert.notEqual(loops[0], loops[1]);
  assert.deepEqual(
    loops.map((l) => [l.isClosed(), l.isRunning()]),
    [
      [true, false],
      [true, false],
    ],
  );
});

test('run() cancels tasks left pending when main returns; their finally blocks run before it resolves (asyncio test_runners: test_asyncio_run_cancel_hanging_tasks)', async () => {
  const log = new Log();
  let loop: EventLoop | null = null;
  const result = await run(
    function* () {
      loop = getRunningLoop();
      for (const name of ['a', 'b']) {
        loop.createTask(
          function* () {
            try {
              yield* sleep(10_000);
            } catch (e) {
              log.push([name, 'caught', (e as Error).name, getRunningLoop().time()]);
              throw e;
            } finally {
              log.push([name, 'finally']);
            }
          },
          { name },
        );
      }
      yield* sleep(5);
      log.push('main returns');
      return 'main result';
    },
    { clock: 'virtual' },
  );
  assert.equal(result, 'main result');
  log.assert([
    'main returns',
    ['a', 'caught', 'CancelledError', 5],
    ['a', 'finally'],
    ['b', 'caught', 'CancelledError', 5],
    ['b', 'finally'],
  ]);
  const closed = loop as EventLoop | null;
  assert.equal(closed?.isClosed(), true);
  assert.deepEqual(closed?.allTasks(), []);
});

test('run() waits for leftover tasks whose cleanup itself sleeps', async () => {
  const log = new Log();
  await run(
    function* () {
      getRunningLoop().createTask(function* () {
        try {
          yield* sleep(10_000);
        } finally {
          yield* sleep(50);
          log.push(['cleanup done at', getRunningLoop().time()]);
        }
      });
      yield* sleep(1);
    },
    { clock: 'virtual' },
  );
  log.assert([['cleanup done at', 51]]);
});

test('run() reports a leftover task that fails while being cancelled to the exception handler (asyncio test_runners: test_asyncio_run_reports_hanging_tasks_errors)', async () => {
  const contexts: ExceptionContext[] = [];
  const cleanupError = new Error('cleanup failed');
  await run(
    function* () {
      const loop = getRunningLoop();
      loop.setExceptionHandler((context) => contexts.push(context));
      loop.createTask(
        function* () {
          try {
            yield* sleep(10_000);
          } catch {
            throw cleanupError;
          }
        },
        { name: 'leftover' },
      );
      yield* sleep(1);
    },
    { clock: 'virtual' },
  );
  assert.equal(contexts.length, 1);
  assert.equal(contexts[0]?.message, 'unhandled exception during run() shutdown');
  assert.equal(contexts[0]?.exception, cleanupError);
  assert.match(String(contexts[0]?.task), /"leftover"/);
});

test('run() rejects with CancelledError when main is cancelled', async () => {
  await assert.rejects(
    run(
      function* () {
        currentTask()?.cancel('main cancelled');
        yield* sleep(1);
      },
      { clock: 'virtual' },
    ),
    (e) => e instanceof CancelledError && e.message === 'main cancelled',
  );
});

test('run() with something that is not a coroutine rejects with TypeError (asyncio test_runners: test_asyncio_run_only_coro)', async () => {
  await assert.rejects(run(42 as never), (e) => e instanceof TypeError && /createTask: expected a generator/.test(e.message));
  await assert.rejects(run((async () => 1) as never), (e) => e instanceof TypeError && /until\(promise\)/.test(e.message));
});

test('run() rejects with a TypeError, and cancels it, when main returns a pending Future or Task: a Promise would wait for it forever', async () => {
  let leftover: { cancelled(): boolean } | null = null;
  await assert.rejects(
    run(function* () {
      const task = getRunningLoop().createTask(function* () {
        yield* sleep(100_000);
      });
      leftover = task;
      return task;
    }),
    (error: unknown) =>
      error instanceof TypeError &&
      /^runUntilComplete: the result is <Task #\d+ "Task-\d+" pending>, still pending, and the Promise this returns would wait for it forever/.test(error.message),
  );
  assert.equal((leftover as { cancelled(): boolean } | null)?.cancelled(), true);
  await assert.rejects(
    run(function* () {
      return getRunningLoop().createFuture<number>();
    }),
    TypeError,
  );
  // A Future already done is adopted as any thenable is: its result.
  assert.equal(
    await run(function* () {
      const done = getRunningLoop().createFuture<number>();
      done.setResult(7);
      return done;
    }),
    7,
  );
});

test("run(main, { clock: 'virtual' }) makes a one-hour sleep instant and exact", async () => {
  const times = await run(
    function* () {
      const loop = getRunningLoop();
      const start = loop.time();
      yield* sleep(60 * 60 * 1000);
      const afterHour = loop.time();
      yield* sleep(1);
      return [start, afterHour, loop.time()];
    },
    { clock: 'virtual' },
  );
  assert.deepEqual(times, [0, 3_600_000, 3_600_001]);
});

test('while run() runs, native promises, Node timers and fs.promises work through until()', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eventide-run-'));
  const path = join(dir, 'hello.txt');
  writeFileSync(path, 'hello from disk');
  try {
    const result = await run(function* () {
      const resolved = yield* until(Promise.resolve(1));
      const timer = yield* until(new Promise<string>((resolve) => setTimeout(() => resolve('timer fired'), 2)));
      const immediate = yield* until(new Promise<string>((resolve) => setImmediate(() => resolve('immediate'))));
      const text = yield* until(readFile(path, 'utf8'));
      const asyncFn = yield* until(
        (async () => {
          await new Promise((resolve) => setTimeout(resolve, 1));
          return 'async function';
        })(),
      );
      return [resolved, timer, immediate, text, asyncFn];
    });
    assert.deepEqual(result, [1, 'timer fired', 'immediate', 'hello from disk', 'async function']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('while run() runs, an async function can await a Future set by a loop timer', async () => {
  const log = new Log();
  const result = await run(function* () {
    const loop = getRunningLoop();
    const f = loop.createFuture<number>();
    const waiter = (async () => {
      const v = await f;
      log.push(['async saw', v]);
      return v * 2;
    })();
    loop.callLater(2, () => f.setResult(21));
    return yield* until(waiter);
  });
  assert.equal(result, 42);
  log.assert([['async saw', 21]]);
});

test('while run() runs, code outside the loop keeps running (a Node timer fires between ticks)', async () => {
  const log = new Log();
  const outside = new Promise<void>((resolve) =>
    setTimeout(() => {
      log.push('outside timer');
      resolve();
    }, 1),
  );
  await run(function* () {
    yield* until(outside);
    log.push('task resumed');
  });
  log.assert(['outside timer', 'task resumed']);
});
