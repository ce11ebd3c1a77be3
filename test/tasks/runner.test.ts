/**
 * Runner (asyncio.Runner): several runs on one loop, made on first use;
 * close() cancels what is left and closes the loop.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CancelledError, EventLoop, Runner, sleep, until, type ExceptionContext, type TaskContext } from '../../src/index.js';
import { FakeContext } from './fake-context.js';

test('two runs share one loop: a task the first left running goes on in the second; close() cancels it and closes the loop', async () => {
  const runner = new Runner({ clock: 'virtual' });
  assert.equal(String(runner), '<Runner initial>');
  const log: string[] = [];
  const [background] = await runner.run(function* () {
    const loop = runner.getLoop();
    const ticker = loop.createTask(function* () {
      try {
        for (;;) {
          yield* sleep(10);
          log.push(`tick ${loop.time()}`);
        }
      } finally {
        log.push('ticker cancelled');
      }
    });
    yield* sleep(25);
    return [ticker] as const; // wrapped: a pending Task is not a result runUntilComplete can resolve with
  });
  assert.deepEqual(log, ['tick 10', 'tick 20']);
  assert.equal(background.done(), false, 'left running after the first run');
  const loop = runner.getLoop();
  assert.ok(loop instanceof EventLoop);
  assert.equal(loop.isClosed(), false);
  assert.equal(String(runner), '<Runner ready>');

  const second = await runner.run(function* () {
    yield* sleep(20);
    return runner.getLoop().time();
  });
  assert.equal(second, 45);
  assert.deepEqual(log, ['tick 10', 'tick 20', 'tick 30', 'tick 40']);
  assert.equal(runner.getLoop(), loop, 'the same loop');

  await runner.close();
  assert.equal(background.cancelled(), true);
  assert.deepEqual(log.at(-1), 'ticker cancelled');
  assert.equal(loop.isClosed(), true);
  assert.equal(String(runner), '<Runner closed>');
  await runner.close(); // again: nothing
});

test('run gives main\'s result or throws its exception; the main task is named (default "main")', async () => {
  const runner = new Runner({ clock: 'virtual' });
  const names: string[] = [];
  const boom = new Error('boom');
  await assert.rejects(
    runner.run(function* () {
      names.push(runner.getLoop().allTasks()[0]?.name ?? '');
      yield* sleep(1);
      throw boom;
    }),
    (error) => error === boom,
  );
  assert.equal(
    await runner.run(
      function* () {
        names.push(runner.getLoop().allTasks()[0]?.name ?? '');
        return 7;
      },
      { name: 'setup' },
    ),
    7,
  );
  assert.deepEqual(names, ['main', 'setup']);
  await runner.close();
});

test('refusals: a run while another runs, run or getLoop after close, a non-coroutine, bad options; close while a run is in progress', async () => {
  const runner = new Runner();
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const first = runner.run(function* () {
    yield* until(gate); // the run stays in progress until the test opens the gate
    return 'first';
  });
  await assert.rejects(
    runner.run(function* () {}),
    { name: 'RuntimeError', message: 'Runner.run: this runner is already running a main task' },
  );
  await assert.rejects(runner.close(), { name: 'RuntimeError', message: 'Runner.close: a main task is still running' });
  open();
  assert.equal(await first, 'first');
  await assert.rejects(runner.run(42 as never), { name: 'TypeError', message: /^Runner\.run: expected a generator object or generator function, got 42/ });
  await runner.close();
  await assert.rejects(runner.run(function* () {}), { name: 'RuntimeError', message: 'Runner.run: the runner is closed' });
  assert.throws(() => runner.getLoop(), { name: 'RuntimeError', message: 'Runner.getLoop: the runner is closed' });
  assert.throws(() => new Runner(null as never), { name: 'TypeError', message: 'Runner: options must be an object, got null' });
});

test('close() before any run makes no loop; a leftover that fails while being cancelled goes to the exception handler', async () => {
  const unused = new Runner();
  await unused.close();
  assert.equal(String(unused), '<Runner closed>');

  const runner = new Runner({ clock: 'virtual' });
  const reported: ExceptionContext[] = [];
  runner.getLoop().setExceptionHandler((context) => reported.push(context));
  const stubborn = new Error('will not go quietly');
  await runner.run(function* () {
    runner.getLoop().createTask(function* () {
      try {
        yield* sleep(1000);
      } catch (error) {
        assert.ok(error instanceof CancelledError);
        throw stubborn;
      }
    });
    yield* sleep(1);
  });
  await runner.close();
  assert.deepEqual(
    reported.map((context) => [context.message, context.exception]),
    [['unhandled exception during run() shutdown', stubborn]],
  );
});

/** A fake contextvars for the tests below: a context is a mutable box, `fake.current` the one a step runs in. */
const fake = new FakeContext<{ value: string }>({ value: 'outside' });
const capturedAt: string[] = [];
const boxRunner = (box: { value: string }): TaskContext => fake.runnerFor(box);

/** captureTaskContext: a copy of the box current here (contextvars.copy_context), made current around each step. */
function captureBox(): TaskContext {
  capturedAt.push(fake.current.value);
  return boxRunner({ value: fake.current.value });
}

test("every run's main runs in the one context the runner captured on first use (asyncio's Runner._context): what one main sets, the next sees; options.context overrides it", async () => {
  fake.current = { value: 'outside' };
  capturedAt.length = 0;
  const runner = new Runner({ clock: 'virtual', captureTaskContext: captureBox });
  await runner.run(function* () {
    fake.current.value = 'set by run 1'; // contextvar.set() in the first main
    yield* sleep(1);
  });
  fake.current.value = 'changed outside after the first run';
  const seen = await runner.run(function* () {
    yield* sleep(1);
    return fake.current.value;
  });
  assert.equal(seen, 'set by run 1');
  // The runner's own capture is the first, made once with the loop. The
  // others are each runForever's, for the context its ticks run in, taken
  // where that run begins (so the second sees the change made outside).
  assert.deepEqual(capturedAt, ['outside', 'outside', 'changed outside after the first run'], "the runner's context captured once, when the loop was made");
  const own = { value: 'own' };
  assert.equal(
    await runner.run(
      function* () {
        return fake.current.value;
      },
      { context: boxRunner(own) },
    ),
    'own',
  );
  assert.equal(
    await runner.run(
      function* () {
        return fake.current.value;
      },
      { context: null },
    ),
    'changed outside after the first run',
    'null: no context, the loop\'s',
  );
  await assert.rejects(runner.run(function* () {}, { context: 'ctx' as never }), { name: 'TypeError', message: /^createTask: options\.context must be a function/ });
  await runner.close();
});

test("run while the runner's loop is already running (getLoop().runForever()) is refused before main is made a task: main never runs", async () => {
  const runner = new Runner();
  const loop = runner.getLoop();
  const forever = loop.runForever();
  let ran = false;
  try {
    await assert.rejects(
      runner.run(function* () {
        ran = true;
      }),
      { name: 'RuntimeError', message: "Runner.run: the runner's loop is already running" },
    );
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(ran, false);
    assert.equal(loop.allTasks().length, 0);
  } finally {
    loop.stop();
    await forever;
    await runner.close();
  }
});
