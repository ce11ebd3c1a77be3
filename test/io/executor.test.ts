/**
 * runInExecutor on worker threads: results and errors come back as
 * Futures on the loop; jobs beyond the pool's size queue; cancelling drops
 * a result (and a queued job never runs); shutdown lets jobs finish or
 * stops them; closing the loop stops its default executor so the process
 * can exit. Self-contained functions run from their source text; what
 * cannot be rebuilt on a worker is refused with an explanation.
 *
 * Module jobs are the functions of fixtures/executor-work.ts. Which jobs run at
 * once is observed through a shared Int32Array "gate" (see there), never
 * through timing.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import test from 'node:test';
import { CancelledError, RuntimeError } from '../../src/core/errors.js';
import { createNodeLoop, type NodeHostMode } from '../../src/hosts/node.js';
import {
  closeDefaultExecutor,
  peekDefaultExecutor,
  runInExecutor,
  setDefaultExecutor,
  shutdownDefaultExecutor,
} from '../../src/io/executor.js';
import type { NodeEventLoop } from '../../src/io/node-event-loop.js';
import { describeJob } from '../../src/io/executor-job.js';
import { FUNCTION_CACHE_SIZE } from '../../src/io/executor-worker.js';
import { DEFAULT_MAX_WORKERS, WorkerPool, type Executor, type ExecutorJob, type JobDone } from '../../src/io/worker-pool.js';
import type { Future } from '../../src/tasks/future.js';
import { sleep, until, type Coroutine } from '../../src/tasks/operation.js';
import { wait, FIRST_COMPLETED } from '../../src/tasks/wait.js';
import { assertLoopClean } from '../../src/testing.js';
import { MODES, NODE_HOSTS_URL, runChild, withWatchdog } from '../hosts/node-helpers.js';
import { Log } from '../log.js';
import { openFdCount } from './fds.js';

const T = { timeout: 30_000 };
const WORK = new URL('./fixtures/executor-work.js', import.meta.url);
const EXECUTOR_URL = new URL('../../src/io/executor.js', import.meta.url).href;

/** The two counters the gated jobs use (see fixtures/executor-work.ts). */
function newGate(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(8));
}

/** Lets every gated job with ticket <= `ticket` finish. */
function release(gate: Int32Array, ticket: number): void {
  Atomics.store(gate, 1, ticket);
  Atomics.notify(gate, 1);
}

type WaitAsync = (array: Int32Array, index: number, value: number, timeoutMs?: number) => { async: boolean; value: Promise<string> | string };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/** Suspends the task until `n` gated jobs have started (worker threads count up gate[0]). */
function* started(gate: Int32Array, n: number): Coroutine<void> {
  for (let seen = Atomics.load(gate, 0); seen < n; seen = Atomics.load(gate, 0)) {
    const result = waitAsync(gate, 0, seen, 5000);
    if (result.async) yield* until(result.value);
  }
}

/**
 * Runs `main(loop)` on a new Node loop; then asserts nothing is left
 * scheduled, closes the loop, waits until its default executor's threads
 * (if it started any) have exited, and asserts no fd leaked.
 */
async function runExec<T>(main: (loop: NodeEventLoop) => Coroutine<T>, mode: NodeHostMode = 'guest'): Promise<T> {
  const fdsBefore = openFdCount();
  const loop = createNodeLoop({ mode });
  let result: T;
  try {
    result = await withWatchdog(loop.runUntilComplete(loop.createTask(() => main(loop), { name: 'main' })), 'the test body', () => loop.stop());
  } catch (error) {
    if (!loop.isClosed() && !loop.isRunning()) loop.close();
    throw error;
  }
  const pool = peekDefaultExecutor(loop);
  assertLoopClean(loop); // closes the loop, which shuts the default executor down
  if (pool !== null) {
    await withWatchdog(pool.shutdown(), 'the default executor\'s threads exiting');
    assert.equal((pool as WorkerPool).statistics().threads, 0);
  }
  assert.equal(openFdCount(), fdsBefore, 'fds leaked');
  return result;
}

/** The error a future failed with (it must fail). */
function* failure(future: Future<unknown>): Coroutine<unknown> {
  try {
    yield* future;
  } catch (error) {
    return error;
  }
  throw new Error('expected the job to fail');
}

for (const mode of MODES) {
  test(`${mode} mode: results come back as futures on the loop (sync, async, large bytes)`, T, async () => {
    await runExec(function* (loop) {
      assert.equal(yield* runInExecutor<number>(loop, null, WORK, 'add', 2, 3), 5);
      assert.equal(yield* loop.runInExecutor<number>(null, WORK.href, 'addLater', 40, 2), 42);
      const bytes = new Uint8Array(4 * 1024 * 1024).map((_, i) => (i * 7) & 0xff);
      const digest = yield* loop.runInExecutor<string>(null, WORK, 'sha256', bytes);
      assert.equal(digest, createHash('sha256').update(bytes).digest('hex'));
      const pool = peekDefaultExecutor(loop) as WorkerPool;
      assert.ok(pool instanceof WorkerPool);
      assert.equal(pool.maxWorkers, DEFAULT_MAX_WORKERS);
      assert.equal(pool.statistics().completed, 3);
    }, mode);
  });
}

test('the result is delivered through the ready queue: done-callbacks run as loop callbacks at their priority', T, async () => {
  await runExec(function* (loop) {
    const log = new Log();
    const future = runInExecutor<number>(loop, null, WORK, 'add', 1, 1);
    future.addDoneCallback((f) => log.push(`normal: ${f.result()}`));
    future.addDoneCallback((f) => log.push(`critical: ${f.result()}`), { priority: 'critical' });
    assert.equal(yield* future, 2);
    log.assert(['critical: 2', 'normal: 2']);
  });
});

test('errors in the worker reject the future with their class or name, message, stack, code and cause', T, async () => {
  await runExec(function* (loop) {
    const valve = (yield* failure(runInExecutor(loop, null, WORK, 'fail', 'valve stuck'))) as Error & { code?: string };
    assert.ok(valve instanceof Error);
    assert.equal(valve.name, 'ValveError');
    assert.equal(valve.message, 'valve stuck');
    assert.equal(valve.code, 'EVALVE');
    assert.match(valve.stack ?? '', /ValveError: valve stuck\n\s+at fail \(.*executor-work\.js/);
    assert.ok(valve.cause instanceof RangeError);
    assert.equal((valve.cause as Error).message, 'pressure out of range');

    const typeError = yield* failure(runInExecutor(loop, null, WORK, 'failWithTypeError'));
    assert.ok(typeError instanceof TypeError);
    assert.equal((typeError as Error).message, 'not a valve');

    assert.equal(yield* failure(runInExecutor(loop, null, WORK, 'throwString')), 'plain string');

    const missing = yield* failure(runInExecutor(loop, null, WORK, 'nope'));
    assert.ok(missing instanceof TypeError);
    assert.match((missing as Error).message, /executor-work\.js has no exported function "nope" \(its exported functions: .*\badd\b.*\)/);

    const notFunction = yield* failure(runInExecutor(loop, null, WORK, 'notAFunction'));
    assert.match((notFunction as Error).message, /no exported function "notAFunction"/);

    const unsendable = yield* failure(runInExecutor(loop, null, WORK, 'returnFunction'));
    assert.ok(unsendable instanceof TypeError);
    assert.match((unsendable as Error).message, /the result of returnFunction .* cannot be sent back to the loop's thread/);

    const noModule = (yield* failure(runInExecutor(loop, null, new URL('./fixtures/no-such-module.js', import.meta.url), 'x'))) as Error & { code?: string };
    assert.equal(noModule.code, 'ERR_MODULE_NOT_FOUND');

    // The pool is intact after all that.
    assert.equal(yield* runInExecutor<number>(loop, null, WORK, 'add', 1, 2), 3);
  });
});

test('a worker thread that dies mid-job fails that job with a RuntimeError; the pool replaces it', T, async () => {
  await runExec(function* (loop) {
    const pool = new WorkerPool({ maxWorkers: 1 });
    const gate = newGate();
    const dying = runInExecutor(loop, pool, WORK, 'exitThread');
    const queued = runInExecutor<number>(loop, pool, WORK, 'gated', gate, 1);
    const error = yield* failure(dying);
    assert.ok(error instanceof RuntimeError);
    assert.match((error as Error).message, /exitThread \(.*executor-work\.js\) did not finish: its worker thread exited \(code 3\)/);
    yield* started(gate, 1);
    release(gate, 1);
    assert.equal(yield* queued, 1);
    yield* until(pool.shutdown());
    assert.deepEqual(pool.statistics(), { threads: 0, busy: 0, queued: 0, completed: 2 });
  });
});

test('jobs beyond the pool size queue in FIFO order and start as threads free up', T, async () => {
  await runExec(function* (loop) {
    const pool = new WorkerPool({ maxWorkers: 2 });
    const gate = newGate();
    const log = new Log();
    const jobs = [1, 2, 3, 4, 5].map((ticket) => {
      const future = loop.runInExecutor<number>(pool, WORK, 'gated', gate, ticket);
      future.addDoneCallback((f) => log.push(`done ${f.result()}`));
      return future;
    });
    yield* started(gate, 2);
    assert.deepEqual(pool.statistics(), { threads: 2, busy: 2, queued: 3, completed: 0 });
    for (let ticket = 1; ticket <= 5; ticket++) {
      release(gate, ticket); // job `ticket` may finish; the next queued one starts in its thread
      yield* jobs[ticket - 1] as Future<number>;
      yield* started(gate, Math.min(ticket + 2, 5));
      assert.equal(Atomics.load(gate, 0), Math.min(ticket + 2, 5), 'never more than 2 running');
      log.assert([`done ${ticket}`]);
    }
    assert.equal(pool.statistics().threads, 2);
    yield* until(pool.shutdown());
  });
});

test('cancelling: a queued job is withdrawn and never runs; a running job finishes on its thread and its result is dropped', T, async () => {
  await runExec(function* (loop) {
    const pool = new WorkerPool({ maxWorkers: 1 });
    const gate = newGate();
    const running = runInExecutor<number>(loop, pool, WORK, 'gated', gate, 1);
    const queued = runInExecutor<number>(loop, pool, WORK, 'gated', gate, 2);
    yield* started(gate, 1);
    assert.equal(queued.cancel('not needed'), true);
    assert.equal(pool.statistics().queued, 0);
    assert.equal(running.cancel(), true);
    assert.deepEqual(pool.statistics(), { threads: 1, busy: 1, queued: 0, completed: 0 }, 'the running thread is not killed');
    const after = runInExecutor<number>(loop, pool, WORK, 'add', 20, 1);
    release(gate, 2);
    assert.equal(yield* after, 21, 'the same thread goes on to the next job');
    assert.equal(Atomics.load(gate, 0), 1, 'the cancelled queued job never started');
    assert.ok(running.cancelled() && queued.cancelled());
    assert.deepEqual(pool.statistics(), { threads: 1, busy: 0, queued: 0, completed: 2 });
    yield* until(pool.shutdown());
  });
});

test('cancelling the task that waits on a job delivers CancelledError at its yield* and withdraws the job', T, async () => {
  await runExec(function* (loop) {
    const pool = new WorkerPool({ maxWorkers: 1 });
    const gate = newGate();
    let job: Future<number> | undefined;
    const waiter = loop.createTask(function* () {
      job = runInExecutor<number>(loop, pool, WORK, 'gated', gate, 1);
      return yield* job;
    });
    yield* started(gate, 1);
    waiter.cancel();
    const error = yield* failure(waiter);
    assert.ok(error instanceof CancelledError);
    assert.ok(job?.cancelled());
    release(gate, 1);
    assert.equal(yield* runInExecutor<number>(loop, pool, WORK, 'add', 1, 1), 2);
    yield* until(pool.shutdown());
  });
});

test('shutdownDefaultExecutor lets submitted jobs finish, then stops the threads; the default executor is refused afterwards', T, async () => {
  await runExec(function* (loop) {
    const gate = newGate();
    const log = new Log();
    const jobs = [1, 2].map((ticket) => runInExecutor<number>(loop, null, WORK, 'gated', gate, ticket));
    for (const job of jobs) job.addDoneCallback((f) => log.push(`job ${f.result()}`));
    yield* started(gate, 1);
    const pool = peekDefaultExecutor(loop) as WorkerPool;
    const shutdown = loop.shutdownDefaultExecutor();
    shutdown.addDoneCallback(() => log.push('shut down'));
    assert.throws(() => runInExecutor(loop, null, WORK, 'add', 1, 1), (error: unknown) => error instanceof RuntimeError && /default executor has been shut down/.test(error.message));
    assert.throws(() => pool.submit({ module: WORK.href, exportName: 'add', args: [] }, () => {}), /the pool has been shut down/);
    release(gate, 1);
    yield* jobs[0] as Future<number>;
    release(gate, 2);
    yield* shutdown;
    log.assert(['job 1', 'job 2', 'shut down']);
    assert.deepEqual(pool.statistics(), { threads: 0, busy: 0, queued: 0, completed: 2 });
  });
});

test('WorkerPool.shutdown({ wait: false }) terminates running jobs and fails queued ones', T, async () => {
  await runExec(function* (loop) {
    const pool = new WorkerPool({ maxWorkers: 1 });
    const gate = newGate();
    const running = runInExecutor(loop, pool, WORK, 'blockForever', gate);
    const queued = runInExecutor(loop, pool, WORK, 'add', 1, 1);
    yield* started(gate, 1);
    yield* until(pool.shutdown({ wait: false }));
    assert.match(String(yield* failure(running)), /RuntimeError: runInExecutor: blockForever .* did not finish: the pool was shut down \(wait: false\) while it ran/);
    assert.match(String(yield* failure(queued)), /RuntimeError: runInExecutor: add .* never ran: the pool was shut down/);
    assert.equal(pool.statistics().threads, 0);
    assert.equal(pool.isShutdown(), true);
  });
});

test('closing the loop stops its default executor at once, even with a job still running', T, async () => {
  const fdsBefore = openFdCount();
  const loop = createNodeLoop();
  const gate = newGate();
  const job = runInExecutor(loop, null, WORK, 'blockForever', gate);
  await loop.runUntilComplete(function* () {
    yield* started(gate, 1);
  });
  const pool = peekDefaultExecutor(loop) as WorkerPool;
  assert.equal(pool.statistics().busy, 1);
  loop.close();
  assert.equal(peekDefaultExecutor(loop), null);
  assert.equal(pool.isShutdown(), true);
  await withWatchdog(pool.shutdown(), 'the worker thread exiting');
  assert.equal(pool.statistics().threads, 0);
  assert.equal(job.done(), false, 'a closed loop settles nothing');
  assert.throws(() => runInExecutor(loop, null, WORK, 'add', 1, 1), /runInExecutor: the event loop is closed/);
  assert.equal(openFdCount(), fdsBefore, 'fds leaked');
});

test('a child process that used the executor exits by itself once its loop is closed (no thread keeps it alive)', T, async () => {
  const source = `
    const { createNodeLoop } = await import(${JSON.stringify(NODE_HOSTS_URL)});
    const { runInExecutor } = await import(${JSON.stringify(EXECUTOR_URL)});
    const work = ${JSON.stringify(WORK.href)};
    const loop = createNodeLoop();
    const gate = new Int32Array(new SharedArrayBuffer(8));
    const sum = await loop.runUntilComplete(function* () {
      return yield* runInExecutor(loop, null, work, 'add', 20, 22);
    });
    runInExecutor(loop, null, work, 'blockForever', gate); // still running at close
    loop.close();
    console.log('sum', sum);
  `;
  assert.equal(await runChild(source), 'sum 42\n');
});

test('on a virtual clock, time does not jump past a job that is out', T, async () => {
  const loop = createNodeLoop({ clock: 'virtual', virtualStallMs: Infinity });
  const pool = new WorkerPool({ maxWorkers: 1 });
  const winner = await loop.runUntilComplete(function* () {
    const job = runInExecutor<number>(loop, pool, WORK, 'addLater', 1, 2);
    const timer = loop.createTask(function* () {
      yield* sleep(60_000);
      return 'timer';
    });
    const [done] = yield* wait([job, timer], { returnWhen: FIRST_COMPLETED });
    timer.cancel();
    yield* failure(timer);
    return [...done].map((f) => f.result());
  });
  assert.deepEqual(winner, [3]);
  assert.equal(loop.time(), 0, 'no virtual time passed');
  assertLoopClean(loop);
  await pool.shutdown();
});

test('setDefaultExecutor: runInExecutor(null) uses it, and closing the loop shuts it down', T, async () => {
  const pool = new WorkerPool({ maxWorkers: 1 });
  await runExec(function* (loop) {
    loop.setDefaultExecutor(pool);
    assert.equal(yield* loop.runInExecutor<number>(null, WORK, 'add', 2, 2), 4);
    assert.equal(pool.statistics().completed, 1);
  });
  assert.equal(pool.isShutdown(), true);
});

test('any object with submit and shutdown is an Executor: done settles the future, cancel withdraws', T, async () => {
  const log = new Log();
  const inline: Executor = {
    submit(job: ExecutorJob, done: JobDone) {
      log.push(`submit ${job.exportName}(${job.args.join(', ')})`);
      const timer = setImmediate(() => done(true, `ran ${job.exportName}`));
      return () => {
        log.push(`withdraw ${job.exportName}`);
        clearImmediate(timer);
      };
    },
    shutdown: () => Promise.resolve(),
  };
  await runExec(function* (loop) {
    assert.equal(yield* runInExecutor<string>(loop, inline, 'memory:jobs', 'first', 1, 2), 'ran first');
    const second = runInExecutor(loop, inline, 'memory:jobs', 'second');
    second.cancel();
    yield* sleep(0);
  });
  log.assert(['submit first(1, 2)', 'submit second()', 'withdraw second']);
});

test('bad input: bad modules, names, executors and arguments are clear errors', T, async () => {
  await runExec(function* (loop) {
    assert.throws(() => runInExecutor(loop, null, './work.js', 'hash'), /TypeError: runInExecutor: module must be a URL .* or the work a self-contained function; got "\.\/work\.js"/);
    assert.throws(() => runInExecutor(loop, null, 42 as unknown as URL, 'hash'), /module must be a URL .* got 42/);
    assert.throws(() => runInExecutor(loop, null, WORK, ''), /TypeError: runInExecutor: exportName must be the non-empty name/);
    assert.throws(() => runInExecutor(loop, null, WORK, 7 as unknown as string), /exportName must be .* got 7/);
    assert.throws(() => runInExecutor(loop, {} as Executor, WORK, 'add'), /TypeError: runInExecutor: executor must be null .* got an Object/);
    const uncloneable = (call: () => unknown, message: string): void => {
      assert.throws(call, (e: unknown) => {
        assert.ok(e instanceof TypeError, String(e));
        assert.equal(e.message, message);
        assert.ok(e.cause instanceof DOMException && e.cause.name === 'DataCloneError', String(e.cause));
        return true;
      });
    };
    uncloneable(() => runInExecutor(loop, null, WORK, 'add', 1, () => 1), 'runInExecutor: args[1] (function (anonymous)) cannot be copied to a worker thread (structured clone): () => 1 could not be cloned.');
    uncloneable(() => runInExecutor(loop, null, (_a: number, _b: unknown) => 0, 1, { tag: Symbol('s') }), 'runInExecutor: args[1] (an Object) cannot be copied to a worker thread (structured clone): Symbol(s) could not be cloned.');
    assert.throws(() => new WorkerPool({ maxWorkers: 0 }), /RangeError: WorkerPool: maxWorkers must be an integer >= 1, got 0/);
    assert.throws(() => setDefaultExecutor(loop, null as unknown as Executor), /TypeError: setDefaultExecutor: executor must be an Executor, got null/);
    // Nothing was disturbed: the loop's executor still works.
    assert.equal(yield* runInExecutor<number>(loop, null, WORK, 'add', 1, 1), 2);
    assert.equal((peekDefaultExecutor(loop) as WorkerPool).statistics().completed, 1);
  });
  const closed = createNodeLoop();
  closed.close();
  closeDefaultExecutor(closed); // idempotent, nothing to do
  assert.throws(() => shutdownDefaultExecutor(closed), /shutdownDefaultExecutor: the event loop is closed/);
});

test('WorkerPool.submit directly: done is called once; withdrawing after done changes nothing; a forgotten pool does not keep a process alive', T, async () => {
  const pool = new WorkerPool({ maxWorkers: 1 });
  const outcome = await withWatchdog(
    new Promise<[boolean, unknown]>((resolve) => {
      const withdraw = pool.submit({ module: WORK.href, exportName: 'add', args: [3, 4] }, (ok, value) => {
        resolve([ok, value]);
        withdraw();
      });
    }),
    'the job',
  );
  assert.deepEqual(outcome, [true, 7]);
  assert.deepEqual(pool.statistics(), { threads: 1, busy: 0, queued: 0, completed: 1 });
  await pool.shutdown();
  assert.equal(pool.statistics().threads, 0);

  const poolUrl = new URL('../../src/io/worker-pool.js', import.meta.url).href;
  const source = `
    const { WorkerPool } = await import(${JSON.stringify(poolUrl)});
    const pool = new WorkerPool({ maxWorkers: 2 });
    pool.submit({ module: ${JSON.stringify(WORK.href)}, exportName: 'add', args: [1, 2] }, (ok, value) => console.log(ok, value));
    // never shut down: its idle thread must not hold the process
  `;
  assert.equal(await runChild(source), 'true 3\n');
});

// ------------------------------------------------- functions as source text

/** A function that counts its own calls on itself: 1, 2, 3... while its thread keeps the rebuilt copy. */
function countCalls(): number {
  const self = countCalls as unknown as { calls?: number };
  self.calls = (self.calls ?? 0) + 1;
  return self.calls;
}

for (const mode of MODES) {
  test(`${mode} mode: runInExecutor(loop, executor, fn, ...args) runs a self-contained function, sync or async, with its arguments (asyncio's shape)`, T, async () => {
    await runExec(function* (loop) {
      const sum = yield* runInExecutor(loop, null, (a: number, b: number) => a + b, 2, 3);
      assert.equal(sum, 5);
      const later = yield* loop.runInExecutor(null, async (a: number, b: number) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return a * b;
      }, 6, 7);
      assert.equal(later, 42);
      const named = yield* runInExecutor(loop, null, function scale(values: number[], by: number) {
        return values.map((v) => v * by);
      }, [1, 2, 3], 10);
      assert.deepEqual(named, [10, 20, 30]);
      // Imports go inside the function: import() works on the worker.
      const bytes = new Uint8Array(1024).map((_, i) => i & 0xff);
      const digest = yield* runInExecutor(loop, null, async (data: Uint8Array) => {
        const { createHash: hashOf } = await import('node:crypto');
        return hashOf('sha256').update(data).digest('hex');
      }, bytes);
      assert.equal(digest, createHash('sha256').update(bytes).digest('hex'));
      assert.equal(yield* runInExecutor(loop, null, () => undefined), undefined);
      assert.equal((peekDefaultExecutor(loop) as WorkerPool).statistics().completed, 5);
    }, mode);
  });
}

test('a function\'s errors reject the future with their class or name, message, code and cause; a non-Error is thrown as it is', T, async () => {
  await runExec(function* (loop) {
    const range = (yield* failure(runInExecutor(loop, null, (limit: number) => {
      throw new RangeError(`over ${limit}`, { cause: new TypeError('inner') });
    }, 5))) as Error;
    assert.ok(range instanceof RangeError);
    assert.equal(range.message, 'over 5');
    assert.ok(range.cause instanceof TypeError);
    assert.equal((range.cause as Error).message, 'inner');
    assert.match(range.stack ?? '', /RangeError: over 5\n\s+at .*\(eventide-executor:anonymous:\d+:\d+\)/, 'the stack names the rebuilt function');

    const custom = (yield* failure(runInExecutor(loop, null, async function valve() {
      class ValveError extends Error {
        override name = 'ValveError';
        code = 'EVALVE';
      }
      throw new ValveError('stuck');
    }))) as Error & { code?: string };
    assert.deepEqual([custom.constructor, custom.name, custom.message, custom.code], [Error, 'ValveError', 'stuck', 'EVALVE']);

    assert.equal(yield* failure(runInExecutor(loop, null, () => {
      throw 'plain string';
    })), 'plain string');

    const unsendable = (yield* failure(runInExecutor(loop, null, function makeCallback() {
      return () => 1;
    }))) as Error;
    assert.ok(unsendable instanceof TypeError);
    assert.match(unsendable.message, /^runInExecutor: the result of function makeCallback cannot be sent back to the loop's thread/);
    assert.equal(yield* runInExecutor(loop, null, (a: number) => a + 1, 1), 2, 'the pool is intact');
  });
});

test('a function using a variable from around it fails when it runs, with a ReferenceError saying it must be self-contained and naming it; other jobs and the loop go on', T, async () => {
  await runExec(function* (loop) {
    const offset = 10;
    function addOffset(a: number): number {
      return a + offset;
    }
    const good = runInExecutor(loop, null, (a: number) => a * 2, 21);
    const bad = (yield* failure(runInExecutor(loop, null, addOffset, 1))) as Error;
    assert.equal(yield* good, 42, 'a job beside it is unaffected');
    assert.ok(bad instanceof ReferenceError);
    assert.match(bad.message, /^runInExecutor: function addOffset must be self-contained: offset is not defined on the worker thread\. /);
    assert.match(bad.message, /pass them as arguments/);
    assert.match(bad.stack ?? '', /^ReferenceError: runInExecutor: function addOffset must be self-contained[^\n]*\n\s+at addOffset \(eventide-executor:addOffset:/);
    assert.ok(bad.cause instanceof ReferenceError);
    assert.equal((bad.cause as Error).message, 'offset is not defined');

    // Assigning to an undeclared name is one too (the function is rebuilt in strict mode, so it makes no global).
    const assigns = (yield* failure(runInExecutor(loop, null, function leak() {
      // @ts-expect-error — deliberately undeclared
      undeclaredCounter = 1;
    }))) as Error;
    assert.match(assigns.message, /^runInExecutor: function leak must be self-contained: undeclaredCounter is not defined/);

    // A ReferenceError raised by other code the function calls is its own business: passed on unchanged.
    const elsewhere = (yield* failure(runInExecutor(loop, null, async () => {
      const url = 'data:text/javascript,export function f() { return missingName; }';
      const module = (await import(url)) as { f: () => unknown };
      return module.f();
    }))) as Error;
    assert.ok(elsewhere instanceof ReferenceError);
    assert.equal(elsewhere.message, 'missingName is not defined');
    assert.equal(yield* runInExecutor(loop, null, (a: number) => a - 1, 1), 0, 'the pool carries on');
  });
});

test('what cannot be rebuilt on a worker is a TypeError at call time naming it: bound, built-in, class, method shorthand; nothing is submitted', T, async () => {
  await runExec(function* (loop) {
    const add = (a: number, b: number): number => a + b;
    const refused = (fn: unknown, pattern: RegExp): void =>
      assert.throws(
        () => runInExecutor(loop, null, fn as () => unknown),
        (error: unknown) => error instanceof TypeError && pattern.test(error.message) && /must be a self-contained function expression or arrow function/.test(error.message),
      );
    refused(add.bind(null, 1), /^runInExecutor: cannot run function bound add on a worker thread: it is a bound or built-in function, which has no source text\./);
    refused(Math.max, /cannot run function max on a worker thread: it is a bound or built-in function/);
    refused(class Valve {}, /cannot run function Valve on a worker thread: it is a class/);
    const shorthand = { double(x: number) { return 2 * x; }, get size() { return 1; }, *pairs() { yield 1; } };
    refused(shorthand.double, /cannot run function double on a worker thread: its source text \("double\(x\) \{ return 2 \* x; \}"\) is a method shorthand/);
    refused(Object.getOwnPropertyDescriptor(shorthand, 'size')?.get, /cannot run function get size .* is a method shorthand/);
    refused(shorthand.pairs, /cannot run function pairs .* is a method shorthand/);
    assert.equal(peekDefaultExecutor(loop), null, 'nothing was submitted: the default executor was never started');

    // A shorthand the call-time check cannot tell from an async arrow is refused by the worker's compiler instead.
    const tricky = { async(x: number) { return x; } };
    const notRebuilt = (yield* failure(runInExecutor(loop, null, tricky.async, 1))) as Error;
    assert.ok(notRebuilt instanceof TypeError);
    assert.match(notRebuilt.message, /^runInExecutor: function async cannot be rebuilt on a worker thread from its source text \(SyntaxError: .*\)\. Pass a self-contained function expression/);

    // Arguments that cannot be copied: a TypeError from the call itself, naming the argument.
    assert.throws(() => runInExecutor(loop, null, (f: () => number) => f(), () => 1), { name: 'TypeError', message: /^runInExecutor: args\[0\] \(function \(anonymous\)\) cannot be copied to a worker thread/ });
    assert.equal(yield* runInExecutor(loop, null, (a: number) => -a, 3), -3, 'the loop and the pool carry on');
  });
});

test('a function is compiled once per thread and source text: the rebuilt copy keeps state between jobs; the least recently used of FUNCTION_CACHE_SIZE texts is dropped', T, async () => {
  await runExec(function* (loop) {
    const pool = new WorkerPool({ maxWorkers: 1 });
    const calls: number[] = [];
    for (let i = 0; i < 3; i++) calls.push(yield* runInExecutor(loop, pool, countCalls));
    assert.deepEqual(calls, [1, 2, 3], 'the same rebuilt function each time');
    // The same text from another function object is the same cache entry.
    const twin = new Function(`return ${countCalls.toString()}`)() as typeof countCalls;
    assert.equal(yield* runInExecutor(loop, pool, twin), 4);
    // FUNCTION_CACHE_SIZE other texts push countCalls out; it then starts afresh.
    for (let i = 0; i < FUNCTION_CACHE_SIZE; i++) {
      const other = new Function(`return function other${i}() { return ${i}; }`)() as () => number;
      assert.equal(yield* runInExecutor(loop, pool, other), i);
    }
    assert.equal(yield* runInExecutor(loop, pool, countCalls), 1);
    yield* until(pool.shutdown());
  });
});

test('cancelling the task that waits on a function job delivers CancelledError at its yield* and withdraws the job; a queued one never runs', T, async () => {
  await runExec(function* (loop) {
    const pool = new WorkerPool({ maxWorkers: 1 });
    const gate = newGate();
    const gatedFn = (shared: Int32Array, ticket: number): number => {
      Atomics.add(shared, 0, 1);
      Atomics.notify(shared, 0);
      while (Atomics.load(shared, 1) < ticket) Atomics.wait(shared, 1, Atomics.load(shared, 1), 1000);
      return ticket;
    };
    let job: Future<number> | undefined;
    const waiter = loop.createTask(function* () {
      job = runInExecutor(loop, pool, gatedFn, gate, 1);
      return yield* job;
    });
    yield* started(gate, 1);
    const queued = runInExecutor(loop, pool, gatedFn, gate, 2);
    waiter.cancel();
    queued.cancel();
    const error = yield* failure(waiter);
    assert.ok(error instanceof CancelledError);
    assert.ok(job?.cancelled());
    release(gate, 2);
    assert.equal(yield* runInExecutor(loop, pool, (a: number) => a + 1, 1), 2);
    assert.equal(Atomics.load(gate, 0), 1, 'the queued job never started');
    yield* until(pool.shutdown());
  });
});

test('a custom Executor is given a FunctionJob: the source text, the name and the arguments', T, async () => {
  const jobs: ExecutorJob[] = [];
  const recorder: Executor = {
    submit(job: ExecutorJob, done: JobDone) {
      jobs.push(job);
      const timer = setImmediate(() => done(true, describeJob(job)));
      return () => clearImmediate(timer);
    },
    shutdown: () => Promise.resolve(),
  };
  await runExec(function* (loop) {
    assert.equal(yield* runInExecutor(loop, recorder, function triple(x: number) { return 3 * x; }, 4), 'function triple');
    assert.equal(yield* runInExecutor(loop, recorder, WORK, 'add', 1, 2), `add (${WORK.href})`);
  });
  assert.deepEqual(jobs, [
    { source: 'function triple(x) { return 3 * x; }', name: 'triple', args: [4] },
    { module: WORK.href, exportName: 'add', args: [1, 2] },
  ]);
});
