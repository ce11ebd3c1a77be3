/**
 * Task contexts (asyncio's `create_task(coro, context=ctx)` and the
 * contextvars copy each task takes): TaskOptions.context and the loop's
 * captureTaskContext, with a fake context — a label that the runner makes
 * current around the callback — so the core is tested without Node.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { currentTask, EventLoop, sleep, type TaskContext } from '../../src/index.js';
import { runInVirtualTime } from '../../src/testing.js';
import { collectUntil } from '../gc.js';
import { FakeContext } from './fake-context.js';

/** The fake context: a label, the "store" a step sees. */
const fake = new FakeContext('loop');
const contextOf = (label: string): TaskContext => fake.runnerFor(label);

test('options.context: every step of the task runs inside it, the first, the ones after sleeps and the one that takes a cancellation', async () => {
  await runInVirtualTime(function* (loop) {
    const seen: string[] = [];
    const task = loop.createTask(
      function* () {
        seen.push(fake.current);
        yield* sleep(10);
        seen.push(fake.current);
        try {
          yield* sleep(100);
        } finally {
          seen.push(`${fake.current} (cancelled)`);
        }
      },
      { context: contextOf('request 7') },
    );
    yield* sleep(20);
    assert.equal(fake.current, 'loop', 'the context does not leak out of the step');
    task.cancel();
    yield* sleep(0);
    assert.equal(task.cancelled(), true);
    assert.deepEqual(seen, ['request 7', 'request 7', 'request 7 (cancelled)']);
  });
});

test("captureTaskContext: called where each task is created, so a task made inside another's step captures that task's context; an explicit context or null wins", async () => {
  const captured: string[] = [];
  const capture = () => {
    captured.push(fake.current);
    return contextOf(`copy of ${fake.current}`);
  };
  const seen: Record<string, string> = {};
  await runInVirtualTime(
    function* (loop) {
      seen.main = fake.current;
      const child = loop.createTask(function* () {
        seen.child = fake.current;
        const grandchild = loop.createTask(function* () {
          seen.grandchild = fake.current;
        });
        yield* grandchild;
      });
      const own = loop.createTask(
        function* () {
          seen.own = fake.current;
        },
        { context: contextOf('own') },
      );
      const none = loop.createTask(
        function* () {
          seen.none = fake.current;
        },
        { context: null },
      );
      yield* child;
      yield* own;
      yield* none;
    },
    { captureTaskContext: capture },
  );
  assert.deepEqual(seen, {
    main: 'copy of loop',
    child: 'copy of copy of loop',
    grandchild: 'copy of copy of copy of loop',
    own: 'own',
    // No context of its own: the loop's, which is the one runForever
    // captured when it started, for all of that run's ticks.
    none: 'copy of loop',
  });
  // main's (made before the run), runForever's, child's, grandchild's.
  assert.deepEqual(captured, ['loop', 'loop', 'copy of loop', 'copy of copy of loop'], 'not called for a task given its own context or null');
});

test('a context runner that throws: the step does not run, the error goes to the exception handler, the loop goes on', async () => {
  const loop = new EventLoop({ clock: 'virtual' });
  const reported: unknown[] = [];
  loop.setExceptionHandler((context) => reported.push(context.exception));
  const broken = new Error('context gone');
  const task = loop.createTask(
    function* () {
      yield* sleep(1);
    },
    { context: () => { throw broken; } },
  );
  const other = loop.createTask(function* () {
    yield* sleep(5);
    return currentTask()?.name;
  }, { name: 'other' });
  assert.equal(await loop.runUntilComplete(other), 'other');
  assert.deepEqual(reported, [broken]);
  assert.equal(task.done(), false, 'its step never ran');
  task.cancel();
  await loop.runUntilComplete(function* () {
    yield* sleep(0);
  });
  loop.close();
});

test('a context runner that throws before calling the step keeps no hold on the task: it can be collected once its loop is gone', async () => {
  let ref: WeakRef<object> | null = null;
  (function orphan(): void {
    const loop = new EventLoop({ clock: 'virtual' });
    loop.setExceptionHandler(() => {});
    const task = loop.createTask(function* () {}, {
      context: () => {
        throw new Error('context gone');
      },
    });
    ref = new WeakRef(task);
    loop.runOnce(0);
    loop.close();
  })();
  await collectUntil(() => (ref as WeakRef<object> | null)?.deref() === undefined);
  assert.equal((ref as WeakRef<object> | null)?.deref(), undefined);
});

test("callbacks keep the context of the task step that scheduled them (asyncio's call_soon takes the current context): callSoon, callLater, callAt, and what those callbacks schedule in turn", async () => {
  const seen: string[] = [];
  await runInVirtualTime(function* (loop) {
    const note = (what: string) => () => void seen.push(`${what}: ${fake.current}`);
    const worker = loop.createTask(
      function* () {
        loop.callSoon(note('callSoon'));
        loop.callLater(5, note('callLater'));
        loop.callAt(loop.time() + 10, () => {
          seen.push(`callAt: ${fake.current}`);
          loop.callSoon(note('scheduled by callAt'));
        });
        yield* sleep(20);
      },
      { context: contextOf('request 1') },
    );
    // main has no context: what it schedules runs in the loop's.
    loop.callSoon(note('main callSoon'));
    yield* worker;
    assert.equal(fake.current, 'loop', 'no context leaks out of a callback');
  });
  assert.deepEqual(seen, [
    'main callSoon: loop', // queued before the worker's first step
    'callSoon: request 1',
    'callLater: request 1',
    'callAt: request 1',
    'scheduled by callAt: request 1',
  ]);
});

test("done-callbacks keep the context they were added in (asyncio's add_done_callback): pending or already done; removeDoneCallback still finds them", async () => {
  const seen: string[] = [];
  await runInVirtualTime(function* (loop) {
    const future = loop.createFuture<number>();
    const done = loop.createFuture<number>();
    done.setResult(7);
    const note = (what: string) => (f: { result(): number }) => void seen.push(`${what} ${f.result()}: ${fake.current}`);
    const removed = note('removed');
    yield* loop.createTask(
      function* () {
        future.addDoneCallback(note('pending'));
        future.addDoneCallback(removed);
        done.addDoneCallback(note('already done'));
        yield* sleep(0);
      },
      { context: contextOf('request 2') },
    );
    future.addDoneCallback(note('by main'));
    assert.equal(future.removeDoneCallback(removed), 1);
    future.setResult(1);
    yield* sleep(1);
  });
  assert.deepEqual(seen, ['already done 7: request 2', 'pending 1: request 2', 'by main 1: loop']);
});

test("the exception handler runs in the failed callback's context, and what it schedules keeps that context (asyncio 3.12: ctx.run(handler))", async () => {
  const seen: string[] = [];
  await runInVirtualTime(function* (loop) {
    loop.setExceptionHandler(() => {
      seen.push(`handler: ${fake.current}`);
      loop.callSoon(() => seen.push(`scheduled by the handler: ${fake.current}`));
    });
    yield* loop.createTask(
      function* () {
        loop.callSoon(() => {
          throw new Error('in a callback');
        });
        yield* sleep(0);
      },
      { context: contextOf('request 9') },
    );
    yield* sleep(0);
    loop.setExceptionHandler(null);
  });
  assert.deepEqual(seen, ['handler: request 9', 'scheduled by the handler: request 9']);
});

test('a callback whose context runner throws: the error goes to the exception handler, the next callback runs in its own context', async () => {
  const loop = new EventLoop({ clock: 'virtual' });
  const reported: unknown[] = [];
  loop.setExceptionHandler((context) => reported.push(context.exception));
  const broken = new Error('context gone');
  let healthy = true;
  const seen: string[] = [];
  const flaky: TaskContext = (fn) => {
    if (!healthy) throw broken;
    return contextOf('flaky')(fn);
  };
  await loop.runUntilComplete(
    loop.createTask(
      function* () {
        healthy = false; // steps from here on cannot enter it; the callback below neither
        loop.callSoon(() => seen.push(`never: ${fake.current}`));
      },
      { context: flaky },
    ),
  ).catch((error: unknown) => seen.push(`task: ${(error as Error).message}`));
  loop.callSoon(() => seen.push(`after: ${fake.current}`));
  await loop.runUntilComplete(function* () {
    yield* sleep(1);
  });
  assert.deepEqual(reported, [broken]);
  assert.deepEqual(seen, ['after: loop']);
  loop.close();
});

test('bad contexts are refused at the call', async () => {
  const loop = new EventLoop({ clock: 'virtual' });
  function* body() {}
  assert.throws(() => loop.createTask(body, { context: 'ctx' as never }), {
    name: 'TypeError',
    message: "createTask: options.context must be a function that runs a callback in the context (e.g. AsyncLocalStorage.snapshot()), or null; got \"ctx\"",
  });
  assert.equal(loop.allTasks().length, 0);
  assert.throws(() => new EventLoop({ captureTaskContext: {} as never }), { name: 'TypeError', message: 'captureTaskContext must be a function or null, got an Object' });
  loop.close();
  const capturing = new EventLoop({ clock: 'virtual', captureTaskContext: () => 42 as never });
  assert.throws(() => capturing.createTask(body), {
    name: 'TypeError',
    message: 'createTask: what captureTaskContext returned must be a function that runs a callback in the context (e.g. AsyncLocalStorage.snapshot()), or null; got 42',
  });
  assert.equal(capturing.allTasks().length, 0);
  // runForever captures the run's context the same way, and checks it the same way.
  await assert.rejects(capturing.runForever(), {
    name: 'TypeError',
    message: 'runForever: what captureTaskContext returned must be a function that runs a callback in the context (e.g. AsyncLocalStorage.snapshot()), or null; got 42',
  });
  assert.equal(capturing.isRunning(), false, 'refused before any tick, and not left running');
  capturing.close();
});
