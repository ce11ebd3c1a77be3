/**
 * asCompleted (asyncio.as_completed) and allTasks (asyncio.all_tasks).
 * Mirrors CPython's test_asyncio/test_tasks.py (test_as_completed*), on the
 * virtual clock so that every time asserted is exact.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  allTasks,
  asCompleted,
  BaseEventLoop,
  buildTaskGraph,
  CancelledError,
  currentTask,
  EventLoop,
  Future,
  RuntimeError,
  sleep,
  Task,
  TimeoutError,
  type Coroutine,
} from '../../src/index.js';
import { runInVirtualTime } from '../../src/testing.js';

function* after<T>(ms: number, value: T): Coroutine<T> {
  yield* sleep(ms);
  return value;
}

function* failAfter(ms: number, error: Error): Coroutine<never> {
  yield* sleep(ms);
  throw error;
}

test('asCompleted hands out the outcomes in the order the ops finish, each as soon as it is known (test_as_completed)', async () => {
  await runInVirtualTime(function* (loop) {
    const seen: [string, number][] = [];
    for (const next of asCompleted([after(30, 'a'), after(10, 'b'), after(20, 'c')])) {
      seen.push([yield* next, loop.time()]);
    }
    assert.deepEqual(seen, [
      ['b', 10],
      ['c', 20],
      ['a', 30],
    ]);
  });
});

test('an op that fails or is cancelled: its Future throws that error or CancelledError, and the iteration goes on', async () => {
  await runInVirtualTime(function* (loop) {
    const boom = new Error('boom');
    const doomed = loop.createTask(after(100, 'never'), { name: 'doomed' });
    loop.callLater(5, () => doomed.cancel('no longer needed'));
    const outcomes: unknown[] = [];
    for (const next of asCompleted([after(20, 'ok'), failAfter(10, boom), doomed])) {
      try {
        outcomes.push(yield* next);
      } catch (error) {
        outcomes.push(error instanceof CancelledError ? `cancelled: ${error.message}` : error);
      }
    }
    assert.deepEqual(outcomes, ['cancelled: no longer needed', boom, 'ok']);
    assert.equal(outcomes[1], boom); // the very error object
    assert.equal(currentTask()?.cancelling(), 0); // an op's cancellation is not the caller's
  });
});

test('timeoutMs: the ops still running at the deadline throw TimeoutError, one each; they are not cancelled (test_as_completed_with_timeout)', async () => {
  await runInVirtualTime(function* (loop) {
    const slow = loop.createTask(after(100, 'slow'));
    const slower = loop.createTask(after(200, 'slower'));
    const outcomes: [string, number][] = [];
    for (const next of asCompleted([slow, after(10, 'fast'), slower], { timeoutMs: 50 })) {
      try {
        outcomes.push([yield* next, loop.time()]);
      } catch (error) {
        assert.ok(error instanceof TimeoutError);
        outcomes.push([error.message, loop.time()]);
      }
    }
    assert.deepEqual(outcomes, [
      ['fast', 10],
      ['asCompleted: not finished within 50 ms', 50],
      ['asCompleted: not finished within 50 ms', 50],
    ]);
    assert.equal(slow.done(), false);
    assert.equal(yield* slower, 'slower'); // it went on
    assert.equal(slow.result(), 'slow');
  });
});

test('when every op finishes before the deadline, the timer is cancelled with the last one', async () => {
  await runInVirtualTime(function* (loop) {
    const before = loop.statistics().timers;
    const it = asCompleted([after(10, 1), after(20, 2)], { timeoutMs: 1000 });
    assert.equal(loop.statistics().timers, before + 1); // the deadline (the ops' tasks have not started)
    const values = [];
    for (const next of it) values.push(yield* next);
    assert.deepEqual(values, [1, 2]);
    assert.equal(loop.statistics().timers, before);
    assert.equal(loop.time(), 20);
  });
});

test('Futures taken all at once, before anything finishes, settle in completion order, and can be awaited as promises', async () => {
  const loop = new EventLoop({ clock: 'virtual' });
  const results = await loop.runUntilComplete(function* () {
    const nexts = [...asCompleted([after(3, 'c'), after(1, 'a'), after(2, 'b')])];
    assert.equal(nexts.length, 3);
    assert.deepEqual(
      nexts.map((f) => f.label),
      ['asCompleted: 1 of 3', 'asCompleted: 2 of 3', 'asCompleted: 3 of 3'],
    );
    return nexts;
  });
  const values = [];
  for (const future of results) values.push(await loop.runUntilComplete(future)); // each settles in a later run
  assert.deepEqual(values, ['a', 'b', 'c']);
  loop.close();
});

test('the same Future or coroutine given twice counts once; the same generator function given twice runs twice; done futures come first', async () => {
  await runInVirtualTime(function* (loop) {
    const ready = loop.createFuture<string>();
    ready.setResult('ready');
    const coro = after(5, 'coro');
    let runs = 0;
    function* counted(): Coroutine<string> {
      runs++;
      yield* sleep(1);
      return `run ${runs}`;
    }
    const it = asCompleted<Future<string> | Coroutine<string> | (() => Coroutine<string>)>([coro, ready, coro, counted, ready, counted]);
    assert.equal(it.remaining, 4);
    const values = [];
    for (const next of it) values.push(yield* next);
    assert.deepEqual(values, ['ready', 'run 2', 'run 2', 'coro']);
    assert.equal(runs, 2);
  });
});

test('futures(): the ops themselves in the order they finish, coroutines as the tasks made for them (3.13 async for)', async () => {
  await runInVirtualTime(function* (loop) {
    const named = loop.createTask(after(20, 'named'), { name: 'named' });
    const order: [string, unknown][] = [];
    for (const next of asCompleted([named, after(10, 'anon')]).futures()) {
      const op = yield* next;
      assert.ok(op instanceof Task);
      order.push([op === named ? 'named' : 'other', op.result()]);
    }
    assert.deepEqual(order, [
      ['other', 'anon'],
      ['named', 'named'],
    ]);
  });
});

test('futures() is typed with the ops themselves: Tasks given stay Tasks (name, result typed), coroutines are their Tasks (the doc example compiles)', async () => {
  await runInVirtualTime(function* (loop) {
    const tasks = [loop.createTask(after(20, 'slow'), { name: 'a' }), loop.createTask(after(10, 'fast'), { name: 'b' })];
    const seen: string[] = [];
    for (const next of asCompleted(tasks).futures()) {
      const task: Task<string> = yield* next;
      seen.push(`${task.name}=${task.result()}`);
    }
    for (const next of asCompleted([after(5, 'coro')]).futures()) {
      const task: Task<string> = yield* next;
      seen.push(`${task.name.startsWith('Task-')}=${task.result()}`);
    }
    const future = loop.createFuture<number>();
    future.setResult(7);
    for (const next of asCompleted([future]).futures()) {
      const op = yield* next;
      // @ts-expect-error a Future given stays a Future: it has no name
      assert.equal(op.name, undefined);
      seen.push(`future=${op.result()}`);
    }
    assert.deepEqual(seen, ['b=fast', 'a=slow', 'true=coro', 'future=7']);
  });
});

test('outcomes and futures() draw from the same ops: together they hand out one Future per op', async () => {
  await runInVirtualTime(function* () {
    const it = asCompleted([after(1, 'x'), after(2, 'y'), after(3, 'z')]);
    const first = it.next();
    const ops = it.futures();
    const second = ops.next();
    const third = it.next();
    assert.equal(it.remaining, 0);
    assert.deepEqual(it.next(), { done: true, value: undefined });
    assert.deepEqual(ops.next(), { done: true, value: undefined });
    assert.equal(first.done, false);
    assert.equal(yield* first.value!, 'x');
    assert.equal((yield* second.value!).result(), 'y');
    assert.equal(yield* third.value!, 'z');
  });
});

test('a consumer cancelled while it waits takes nothing: the op it would have had goes to the next Future handed out', async () => {
  await runInVirtualTime(function* (loop) {
    const second = loop.createTask(after(20, 'second'));
    const it = asCompleted([after(10, 'first'), second]);
    const consumer = loop.createTask(function* () {
      return yield* it.next().value!;
    });
    yield* sleep(5);
    consumer.cancel();
    yield* sleep(0);
    assert.equal(consumer.cancelled(), true);
    assert.equal(it.remaining, 1); // as asyncio: the cancelled wait used up a turn
    assert.equal(yield* it.next().value!, 'first');
    assert.equal(loop.time(), 10);
    assert.deepEqual(it.next(), { done: true, value: undefined }); // 'second' is not handed out
    yield* second;
  });
});

test('ops made from coroutines run at the caller\'s priority; the waiting task shows the running ops under it in the await graph', async () => {
  await runInVirtualTime(function* (loop) {
    const caller = loop.createTask(
      function* () {
        const it = asCompleted([after(10, 1), after(20, 2)]);
        const [a, b] = it.running() as Task<number>[];
        assert.deepEqual([a?.priority, b?.priority], ['critical', 'critical']);
        const probe: Task<void> = loop.createTask(function* () {
          yield* sleep(1);
          assert.deepEqual(
            buildTaskGraph(loop).childrenOf(caller).map((edge) => [edge.task, edge.link]),
            [
              [a, 'awaits'],
              [b, 'awaits'],
              [probe, 'spawned'],
            ],
          );
        });
        const values = [];
        for (const next of it) values.push(yield* next);
        yield* probe;
        return values;
      },
      { priority: 'critical' },
    );
    assert.deepEqual(yield* caller, [1, 2]);
  });
});

test('no ops: the iteration ends at once and arms no timer', async () => {
  await runInVirtualTime(function* (loop) {
    const before = loop.statistics().timers;
    const it = asCompleted([], { timeoutMs: 10 });
    assert.equal(loop.statistics().timers, before);
    assert.deepEqual([...it], []);
  });
});

test('bad input is refused at the call, before any op starts', async () => {
  await runInVirtualTime(function* (loop) {
    const task = loop.createTask(after(1, 'x'));
    const tasksBefore = allTasks().length;
    assert.throws(() => asCompleted(task as never), { name: 'TypeError', message: 'asCompleted: ops must be a collection (e.g. an array) of ops, not a single op; got a Task' });
    assert.throws(() => asCompleted(after(1, 'x') as never), { name: 'TypeError', message: 'asCompleted: ops must be a collection (e.g. an array) of ops, not a single op; got an object' });
    assert.throws(() => asCompleted(42 as never), { name: 'TypeError', message: 'asCompleted: ops must be an iterable of ops, got 42' });
    assert.throws(() => asCompleted([after(1, 'x'), 'nope' as never]), { name: 'TypeError', message: /^asCompleted: op 1 must be a Future, a Task, an operation/ });
    assert.throws(() => asCompleted([task], { timeoutMs: '5' as never }), { name: 'TypeError', message: /asCompleted: options\.timeoutMs must be a number of milliseconds or null/ });
    assert.throws(() => asCompleted([task], { timeoutMs: NaN }), { name: 'RangeError', message: /asCompleted: options\.timeoutMs .* got NaN/ });
    assert.throws(() => asCompleted([task], null as never), { name: 'TypeError', message: 'asCompleted: options must be an object, got null' });
    assert.equal(allTasks().length, tasksBefore); // the good op before the bad one never became a task
    yield* task;
  });
});

test('allTasks(): the tasks of the running loop (or of a given loop) that are not done, in creation order; outside a loop a RuntimeError', async () => {
  await runInVirtualTime(function* (loop) {
    const main = currentTask();
    const a = loop.createTask(after(10, 'a'), { name: 'a' });
    const b = loop.createTask(after(5, 'b'), { name: 'b' });
    assert.deepEqual(allTasks(), [main, a, b]);
    yield* b;
    assert.deepEqual(allTasks(loop), [main, a]);
    yield* a;
    assert.deepEqual(allTasks(), [main]);
  });
  assert.throws(() => allTasks(), { name: 'RuntimeError' });
  assert.ok(RuntimeError);
});

test('a consumer cancelled after its Future got an outcome, before it could run, loses nothing: the next Future handed out gets that outcome (asyncio\'s Queue.get hands it on)', async () => {
  await runInVirtualTime(function* (loop) {
    for (const fails of [false, true]) {
      const boom = new Error('boom');
      const first = loop.createFuture<string>();
      const second = loop.createFuture<string>();
      const it = asCompleted([first, second]);
      const consumer = loop.createTask(function* () {
        return yield* it.next().value!;
      });
      yield* sleep(1);
      if (fails) first.setException(boom);
      else first.setResult('first');
      // Runs after asCompleted's own done-callback: the consumer's Future has settled, the consumer has not run yet.
      first.addDoneCallback(() => consumer.cancel());
      let error: unknown;
      try {
        yield* consumer;
      } catch (e) {
        error = e;
      }
      assert.ok(error instanceof CancelledError, String(error));
      assert.equal(consumer.cancelled(), true);
      assert.equal(it.remaining, 1); // the cancelled wait used up a turn, as in asyncio
      const next = it.next().value!;
      assert.equal(next.done(), true, 'the outcome is there at once');
      if (fails) assert.equal(next.exception(), boom);
      else assert.equal(yield* next, 'first');
      second.setResult('second');
      yield* sleep(0); // its done-callback
      assert.deepEqual(it.next(), { done: true, value: undefined }); // 'second' is not handed out
    }
  });
});

test('allTasks() where the running loop is a BaseEventLoop (it runs tasks but does not track them): a RuntimeError saying so', async () => {
  const loop = new BaseEventLoop();
  const errors: unknown[] = [];
  loop.callSoon(() => {
    for (const given of [undefined, loop]) {
      try {
        allTasks(given as EventLoop | undefined);
      } catch (error) {
        errors.push(error);
      }
    }
    loop.stop();
  });
  await loop.runForever();
  loop.close();
  assert.equal(errors.length, 2);
  for (const error of errors) {
    assert.ok(error instanceof RuntimeError, String(error));
    assert.match(error.message, /^allTasks: needs an EventLoop \(one that keeps track of its tasks\), got /);
  }
});
