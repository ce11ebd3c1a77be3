/**
 * Queue, LifoQueue, PriorityQueue: order, bounds, waiting getters and
 * putters, cancellation hand-over, join/taskDone, shutdown, bad input, and
 * fast-check models. Mirrors the behaviour pinned by CPython's
 * test_asyncio/test_queues.py.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  CancelledError,
  LifoQueue,
  PriorityQueue,
  Queue,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  naturalOrder,
  sleep,
} from '../../src/index.js';
import type { Coroutine, Future, Operation, Task } from '../../src/index.js';
import { runInVirtualTime } from '../../src/testing.js';
import { Log } from '../log.js';

function* expectCancelled(task: Future<unknown>): Coroutine<void> {
  try {
    yield* task;
  } catch (error) {
    assert.ok(error instanceof CancelledError, `expected CancelledError, got ${String(error)}`);
    return;
  }
  assert.fail(`${task} was expected to be cancelled`);
}

/** Runs `op` and asserts it throws an instance of `errorClass`. */
function* expectThrows(op: Operation<unknown>, errorClass: new (...args: never[]) => Error): Coroutine<void> {
  try {
    yield* op;
  } catch (error) {
    assert.ok(error instanceof errorClass, `expected ${errorClass.name}, got ${String(error)}`);
    return;
  }
  assert.fail(`expected ${errorClass.name}`);
}

const KINDS = [
  ['Queue', Queue],
  ['LifoQueue', LifoQueue],
  ['PriorityQueue', PriorityQueue],
] as const;

// ------------------------------------------------------------ basics

test('empty(), full(), qsize() and maxsize follow the items (asyncio test_queues: test_empty, test_full)', async () => {
  await runInVirtualTime(function* () {
    const q = new Queue<number>();
    assert.equal(q.empty(), true);
    assert.equal(q.full(), false);
    assert.equal(q.maxsize, 0);
    yield* q.put(1);
    assert.equal(q.empty(), false);
    assert.equal(q.qsize(), 1);
    assert.equal(yield* q.get(), 1);
    assert.equal(q.empty(), true);

    const bounded = new Queue<number>({ maxsize: 1 });
    assert.equal(bounded.maxsize, 1);
    yield* bounded.put(1);
    assert.equal(bounded.full(), true);
    assert.equal(String(bounded), '<Queue maxsize=1 qsize=1 unfinished=1>');
  });
});

test('Queue is FIFO, LifoQueue LIFO, PriorityQueue smallest first (asyncio test_queues: test_order for each)', async () => {
  await runInVirtualTime(function* () {
    const expected = { Queue: [1, 3, 2], LifoQueue: [2, 3, 1], PriorityQueue: [1, 2, 3] };
    for (const [name, Kind] of KINDS) {
      const q = new Kind<number>();
      for (const i of [1, 3, 2]) yield* q.put(i);
      assert.deepEqual(q.toArray(), expected[name], `${name}.toArray()`);
      const items: number[] = [];
      for (let i = 0; i < 3; i++) items.push(yield* q.get());
      assert.deepEqual(items, expected[name], name);
    }
  });
});

test('a putter blocks at maxsize and resumes when an item is taken (asyncio test_queues: test_maxsize)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const q = new Queue<number>({ maxsize: 2 });
    const t = loop.createTask(function* () {
      for (let i = 0; i < 3; i++) {
        yield* q.put(i);
        log.push(`put ${i}`);
      }
      return true;
    });
    yield* sleep(0);
    yield* sleep(0);
    log.assert(['put 0', 'put 1']);
    assert.equal(yield* q.get(), 0);
    yield* sleep(0);
    log.assert(['put 2']);
    assert.equal(yield* q.get(), 1);
    assert.equal(yield* q.get(), 2);
    assert.equal(t.result(), true);
  });
});

test('getNowait() on an empty queue throws QueueEmpty; putNowait() on a full one QueueFull; neither changes the queue (asyncio test_queues: test_nonblocking_get_exception, test_nonblocking_put_exception)', () => {
  const q = new Queue<number>({ maxsize: 1 });
  assert.throws(() => q.getNowait(), QueueEmpty);
  q.putNowait(1);
  assert.throws(() => q.putNowait(2), { name: 'QueueFull', message: 'Queue.putNowait(): the queue is full (maxsize 1)' });
  assert.ok(new QueueFull() instanceof Error);
  assert.equal(q.qsize(), 1);
  assert.equal(q.unfinishedTasks, 1);
  assert.equal(q.getNowait(), 1); // no loop needed for the nowait forms
  assert.throws(() => q.getNowait(), { name: 'QueueEmpty', message: 'Queue.getNowait(): the queue is empty' });
});

test('maxsize <= 0 means unbounded; a bad maxsize or options is a TypeError / RangeError naming it (asyncio test_queues: test_float_maxsize)', () => {
  for (const maxsize of [0, -1]) {
    const q = new Queue<number>({ maxsize });
    for (let i = 0; i < 1000; i++) q.putNowait(i);
    assert.equal(q.full(), false);
    assert.equal(q.maxsize, maxsize);
  }
  assert.throws(() => new Queue({ maxsize: 1.3 }), { name: 'RangeError', message: 'Queue: maxsize must be an integer (0 or less for unbounded), got 1.3' });
  assert.throws(() => new LifoQueue({ maxsize: Number.NaN }), { name: 'RangeError', message: /^LifoQueue: maxsize/ });
  assert.throws(() => new PriorityQueue({ maxsize: '3' as never }), { name: 'TypeError', message: 'PriorityQueue: maxsize must be an integer, got "3"' });
  assert.throws(() => new Queue(5 as never), { name: 'TypeError', message: /did you mean new Queue\(\{ maxsize: 5 \}\)\?/ });
  assert.throws(() => new PriorityQueue({ compare: 'desc' as never }), { name: 'TypeError', message: 'PriorityQueue: compare must be a function, got "desc"' });
});

// ------------------------------------------------------------ getters

test('a waiting getter is woken by put (asyncio test_queues: test_blocking_get_wait, test_put_with_waiting_getters)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const q = new Queue<number>();
    const getter = loop.createTask(function* () {
      const item = yield* q.get();
      log.push(['got', item, loop.time()]);
      return item;
    });
    yield* sleep(0);
    assert.equal(String(q), '<Queue maxsize=0 qsize=0 getters=1>');
    loop.callLater(10, () => q.putNowait(1));
    assert.equal(yield* getter, 1);
    log.assert([['got', 1, 10]]);
  });
});

test('getters are served FIFO', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const q = new Queue<string>();
    const getters = ['g1', 'g2', 'g3'].map((name) =>
      loop.createTask(function* () {
        log.push([name, yield* q.get()]);
      }),
    );
    yield* sleep(0);
    q.putNowait('a');
    q.putNowait('b');
    q.putNowait('c');
    for (const g of getters) yield* g;
    log.assert([
      ['g1', 'a'],
      ['g2', 'b'],
      ['g3', 'c'],
    ]);
  });
});

test('a getter cancelled while waiting does not take a later item (asyncio test_queues: test_get_cancelled_race)', async () => {
  await runInVirtualTime(function* (loop) {
    const q = new Queue<string>();
    const t1 = loop.createTask(q.get());
    const t2 = loop.createTask(q.get());
    yield* sleep(0);
    t1.cancel();
    yield* sleep(0);
    assert.equal(t1.done(), true);
    yield* q.put('a');
    yield* sleep(0);
    assert.equal(yield* t2, 'a');
    yield* expectCancelled(t1);
  });
});

test('get() takes items from waiting putters in order (asyncio test_queues: test_get_with_waiting_putters)', async () => {
  await runInVirtualTime(function* (loop) {
    const q = new Queue<string>({ maxsize: 1 });
    const a = loop.createTask(q.put('a'));
    const b = loop.createTask(q.put('b'));
    assert.equal(yield* q.get(), 'a');
    assert.equal(yield* q.get(), 'b');
    yield* a;
    yield* b;
  });
});

test('a getter woken by put but cancelled before it runs leaves the item in the queue (asyncio test_queues: test_get_cancel_drop_one_pending_reader)', async () => {
  await runInVirtualTime(function* (loop) {
    const q = new Queue<number>();
    const reader = loop.createTask(q.get());
    yield* sleep(0);
    q.putNowait(1);
    q.putNowait(2);
    reader.cancel();
    yield* expectCancelled(reader);
    assert.equal(yield* loop.createTask(q.get()), 1); // 1 was not dropped
    assert.equal(q.getNowait(), 2);
  });
});

test('a woken getter that is cancelled hands its item to the next waiting getter (asyncio test_queues: test_get_cancel_drop_many_pending_readers)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const q = new Queue<number>();
    const reader = (name: string): Task<void> =>
      loop.createTask(function* () {
        log.push([name, yield* q.get()]);
      });
    const r1 = reader('r1');
    const r2 = reader('r2');
    const r3 = reader('r3');
    yield* sleep(0);
    q.putNowait(1);
    q.putNowait(2); // r1 and r2 are woken
    r1.cancel();
    yield* expectCancelled(r1);
    yield* r2;
    yield* r3;
    log.assert([
      ['r2', 1],
      ['r3', 2],
    ]);
    assert.equal(q.empty(), true);
  });
});

test('a woken getter re-checks the queue: if the item was taken first, it waits again', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const q = new Queue<string>();
    const getter = loop.createTask(function* () {
      log.push(['getter', yield* q.get()]);
    });
    yield* sleep(0);
    q.putNowait('first'); // wakes the getter ...
    log.push(['main', q.getNowait()]); // ... but main takes the item before it runs
    yield* sleep(0);
    assert.equal(getter.done(), false);
    assert.equal(String(q), '<Queue maxsize=0 qsize=0 getters=1 unfinished=1>');
    q.putNowait('second');
    yield* getter;
    log.assert([
      ['main', 'first'],
      ['getter', 'second'],
    ]);
  });
});

test('a cancelled get() leaves no getter behind (asyncio test_queues: test_cancelled_getters_not_being_held_in_self_getters)', async () => {
  await runInVirtualTime(function* (loop) {
    const q = new Queue<number>({ maxsize: 5 });
    const t = loop.createTask(q.get());
    loop.callLater(100, () => t.cancel());
    yield* expectCancelled(t);
    assert.equal(loop.time(), 100);
    assert.equal(String(q), '<Queue maxsize=5 qsize=0>');
  });
});

// ------------------------------------------------------------ putters

test('a putter waits for a free slot and is woken by getNowait (asyncio test_queues: test_blocking_put_wait)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const q = new Queue<number>({ maxsize: 1 });
    loop.callLater(10, () => log.push(['taken', q.getNowait()]));
    const putter = loop.createTask(function* () {
      yield* q.put(1);
      yield* q.put(2);
      log.push(['put both', loop.time()]);
    });
    yield* putter;
    log.assert([
      ['taken', 1],
      ['put both', 10],
    ]);
    assert.deepEqual(q.toArray(), [2]);
  });
});

test('a putter woken by getNowait but cancelled before it runs does not put (asyncio test_queues: test_put_cancel_drop)', async () => {
  await runInVirtualTime(function* (loop) {
    const q = new Queue<number>({ maxsize: 1 });
    q.putNowait(1);
    const writer = loop.createTask(q.put(2));
    yield* sleep(0);
    assert.equal(q.getNowait(), 1);
    writer.cancel();
    yield* expectCancelled(writer);
    assert.equal(q.qsize(), 0);
    yield* loop.createTask(q.put(2));
    assert.equal(q.getNowait(), 2);
    assert.equal(q.qsize(), 0);
  });
});

test('a putter cancelled while waiting does not lose the next putter its turn (asyncio test_queues: test_put_cancelled_race)', async () => {
  await runInVirtualTime(function* (loop) {
    const q = new Queue<string>({ maxsize: 1 });
    const putA = loop.createTask(q.put('a'));
    const putB = loop.createTask(q.put('b'));
    const putC = loop.createTask(q.put('X'));
    yield* sleep(0);
    assert.equal(putA.done(), true);
    assert.equal(putB.done(), false);
    putC.cancel();
    yield* sleep(0);
    assert.equal(putC.done(), true);
    assert.equal(q.getNowait(), 'a');
    yield* sleep(0);
    assert.equal(q.getNowait(), 'b');
    yield* putB;
    yield* expectCancelled(putC);
    assert.equal(q.empty(), true);
  });
});

test('a woken putter that is cancelled hands its slot to the next waiting putter', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const q = new Queue<string>({ maxsize: 1 });
    q.putNowait('x');
    const putter = (item: string): Task<void> =>
      loop.createTask(function* () {
        yield* q.put(item);
        log.push(`${item} put`);
      });
    const p1 = putter('p1');
    const p2 = putter('p2');
    yield* sleep(0);
    assert.equal(String(q), '<Queue maxsize=1 qsize=1 putters=2 unfinished=1>');
    assert.equal(q.getNowait(), 'x'); // wakes p1 ...
    p1.cancel(); // ... which is cancelled before it runs
    yield* expectCancelled(p1);
    yield* p2;
    log.assert(['p2 put']);
    assert.deepEqual(q.toArray(), ['p2']);
  });
});

test('a cancelled put() leaves no putter behind (asyncio test_queues: test_cancelled_puts_not_being_held_in_self_putters, test_cancelled_put_silence_value_error_exception)', async () => {
  await runInVirtualTime(function* (loop) {
    const q = new Queue<number>({ maxsize: 1 });
    q.putNowait(1);
    const put = loop.createTask(q.put(1));
    yield* sleep(0);
    assert.match(String(q), /putters=1/);
    put.cancel();
    yield* expectCancelled(put);
    assert.doesNotMatch(String(q), /putters/);

    // Woken by getNowait (already out of the putters), then cancelled.
    const put2 = loop.createTask(q.put(2));
    yield* sleep(0);
    q.getNowait();
    put2.cancel();
    yield* expectCancelled(put2);
    assert.equal(String(q), '<Queue maxsize=1 qsize=0 unfinished=1>');
  });
});

test('a bounded producer and consumer hand over every item (asyncio test_queues: test_why_are_getters_waiting, test_why_are_putters_waiting)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const q = new Queue<number>({ maxsize: 1 });
    const producer = loop.createTask(function* () {
      for (let i = 0; i < 5; i++) yield* q.put(i);
    });
    const consumer = loop.createTask(function* () {
      for (let i = 0; i < 5; i++) log.push(yield* q.get());
    });
    yield* producer;
    yield* consumer;
    log.assert([0, 1, 2, 3, 4]);
  });
});

// ------------------------------------------------------------ join / taskDone

test('taskDone() more times than items were put throws RangeError (asyncio test_queues: test_task_done_underflow)', () => {
  for (const [name, Kind] of KINDS) {
    const q = new Kind<number>();
    assert.throws(() => q.taskDone(), { name: 'RangeError', message: `${name}.taskDone(): called more times than items were put` });
    q.putNowait(1);
    q.getNowait();
    q.taskDone();
    assert.throws(() => q.taskDone(), RangeError);
    assert.equal(q.unfinishedTasks, 0);
  }
});

test('join() waits until taskDone() was called for every item put (asyncio test_queues: test_task_done)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    for (const [name, Kind] of KINDS) {
      const q = new Kind<number>();
      for (let i = 0; i < 100; i++) q.putNowait(i);
      let sum = 0;
      let running = true;
      const workers = [1, 2].map(() =>
        loop.createTask(function* () {
          while (running) {
            const item = yield* q.get();
            yield* sleep(1);
            sum += item;
            q.taskDone();
          }
        }),
      );
      const start = loop.time();
      yield* q.join();
      log.push([name, sum, loop.time() - start]);
      running = false;
      for (let i = 0; i < workers.length; i++) q.putNowait(0);
      for (const w of workers) yield* w;
    }
    log.assert([
      ['Queue', 4950, 50],
      ['LifoQueue', 4950, 50],
      ['PriorityQueue', 4950, 50],
    ]);
  });
});

test('join() on a queue with nothing outstanding returns without suspending (asyncio test_queues: test_join_empty_queue)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const q = new Queue<number>();
    loop.callSoon(() => log.push('other callback'));
    yield* q.join();
    yield* q.join();
    log.push('joined');
    q.putNowait(1);
    q.getNowait();
    const joiner = loop.createTask(function* () {
      yield* q.join();
      log.push('joined after taskDone');
    });
    yield* sleep(5);
    log.assert(['joined', 'other callback']);
    q.taskDone();
    yield* joiner;
    log.assert(['joined after taskDone']);
  });
});

// ------------------------------------------------------------ shutdown (3.13)

test('shutdown() of an empty queue wakes blocked getters with QueueShutDown; puts and gets then throw (asyncio test_queues: test_shutdown_empty)', async () => {
  await runInVirtualTime(function* (loop) {
    for (const [, Kind] of KINDS) {
      const q = new Kind<string>();
      const getTask = loop.createTask(q.get());
      yield* sleep(0);
      q.shutdown();
      assert.equal(q.isShutdown, true);
      assert.equal(q.qsize(), 0);
      yield* q.join();
      yield* expectThrows(getTask, QueueShutDown);
      yield* expectThrows(q.put('data'), QueueShutDown);
      assert.throws(() => q.putNowait('data'), QueueShutDown);
      yield* expectThrows(q.get(), QueueShutDown);
      assert.throws(() => q.getNowait(), { name: 'QueueShutDown', message: /shut down and empty/ });
    }
  });
});

test('shutdown() of a non-empty queue: blocked putters fail, the items can still be got, join() waits for taskDone (asyncio test_queues: test_shutdown_nonempty)', async () => {
  await runInVirtualTime(function* (loop) {
    for (const [, Kind] of KINDS) {
      const q = new Kind<string>({ maxsize: 1 });
      q.putNowait('data');
      const joinTask = loop.createTask(q.join());
      const putTask = loop.createTask(q.put('data2'));
      yield* sleep(0);
      assert.equal(putTask.done(), false);
      q.shutdown();
      assert.equal(q.qsize(), 1);
      yield* sleep(0);
      yield* expectThrows(putTask, QueueShutDown);
      assert.equal(yield* q.get(), 'data');
      yield* sleep(0);
      assert.equal(joinTask.done(), false);
      yield* expectThrows(q.put('data'), QueueShutDown);
      yield* expectThrows(q.get(), QueueShutDown);
      q.taskDone();
      yield* joinTask;
      assert.throws(() => q.taskDone(), RangeError);
    }
  });
});

test('shutdown(true) discards the items, counts them done and releases join() (asyncio test_queues: test_shutdown_immediate)', async () => {
  await runInVirtualTime(function* (loop) {
    for (const [, Kind] of KINDS) {
      const q = new Kind<string>();
      q.putNowait('data');
      const joinTask = loop.createTask(q.join());
      q.shutdown(true);
      assert.equal(q.qsize(), 0);
      yield* joinTask;
      yield* expectThrows(q.put('data'), QueueShutDown);
      yield* expectThrows(q.get(), QueueShutDown);
      assert.throws(() => q.getNowait(), QueueShutDown);
      assert.throws(() => q.taskDone(), RangeError);
      assert.match(String(q), / shutdown>$/);
    }
  });
});

test('shutdown(true) with items already taken keeps join() waiting for their taskDone (asyncio test_queues: test_shutdown_immediate_with_unfinished)', async () => {
  await runInVirtualTime(function* (loop) {
    for (const [, Kind] of KINDS) {
      const q = new Kind<string>();
      q.putNowait('data');
      q.putNowait('data');
      const joinTask = loop.createTask(q.join());
      assert.equal(yield* q.get(), 'data');
      q.shutdown(true);
      assert.equal(q.qsize(), 0);
      yield* sleep(0);
      assert.equal(joinTask.done(), false);
      q.taskDone();
      assert.throws(() => q.taskDone(), RangeError);
      yield* joinTask;
    }
  });
});

test('shutdown() lets a consumer drain what is queued, then its get() throws QueueShutDown', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const q = new Queue<number>();
    const consumer = loop.createTask(function* () {
      for (;;) {
        let item: number;
        try {
          item = yield* q.get();
        } catch (error) {
          if (error instanceof QueueShutDown) {
            log.push('stopped');
            return;
          }
          throw error;
        }
        log.push(item);
        yield* sleep(1);
      }
    });
    for (const i of [1, 2, 3]) q.putNowait(i);
    q.shutdown();
    yield* consumer;
    log.assert([1, 2, 3, 'stopped']);
  });
});

// ------------------------------------------------------------ PriorityQueue order

test('PriorityQueue: [priority, payload] tuples come out by priority, equal priorities FIFO, payloads never compared', () => {
  const q = new PriorityQueue<[number, { job: string }]>();
  q.putNowait([2, { job: 'backup' }]);
  q.putNowait([1, { job: 'alarm' }]);
  q.putNowait([3, { job: 'report' }]);
  q.putNowait([1, { job: 'page' }]);
  q.putNowait([2, { job: 'rotate logs' }]);
  const jobs: string[] = [];
  while (!q.empty()) jobs.push(q.getNowait()[1].job);
  assert.deepEqual(jobs, ['alarm', 'page', 'backup', 'rotate logs', 'report']);
});

test('naturalOrder compares numbers, strings, booleans and tuples like Python; anything else is a TypeError', () => {
  assert.equal(naturalOrder(2, 10), -1);
  assert.equal(naturalOrder(10n, 2), 1);
  assert.equal(naturalOrder('b', 'a'), 1);
  assert.equal(naturalOrder(false, true), -1);
  assert.equal(naturalOrder([1, 'b'], [1, 'a']), 1);
  assert.equal(naturalOrder([1, 2], [1, 2, 0]), -1);
  assert.equal(naturalOrder([1, {}], [1, {}]), 0);
  assert.equal(naturalOrder([0, 'z'], [1, 'a']), -1);
  assert.throws(() => naturalOrder({}, {}), { name: 'TypeError', message: /have no natural order/ });
  assert.throws(() => naturalOrder(1, '1'), TypeError);
  assert.throws(() => naturalOrder(Number.NaN, 1), TypeError);
  const q = new PriorityQueue<unknown>();
  q.putNowait({ a: 1 });
  assert.throws(() => q.putNowait({ b: 2 }), TypeError);
  assert.equal(q.qsize(), 1);
  assert.equal(q.unfinishedTasks, 1);
});

test('PriorityQueue: a custom compare orders the items', () => {
  const q = new PriorityQueue<{ name: string; deadlineMs: number }>({ compare: (a, b) => a.deadlineMs - b.deadlineMs });
  for (const [name, deadlineMs] of [['c', 30], ['a', 10], ['b', 20], ['a2', 10]] as const) q.putNowait({ name, deadlineMs });
  assert.deepEqual(q.toArray().map((x) => x.name), ['a', 'a2', 'b', 'c']);
  const names: string[] = [];
  while (!q.empty()) names.push(q.getNowait().name);
  assert.deepEqual(names, ['a', 'a2', 'b', 'c']);
});

test('PriorityQueue: a comparator that throws part-way through putNowait or getNowait leaves the queue exactly as it was', () => {
  /** Comparisons allowed before the comparator throws; Infinity = never throws. */
  let budget = Infinity;
  const q = new PriorityQueue<number>({
    compare: (a, b) => {
      if (budget-- <= 0) throw new Error(`cannot compare ${a} and ${b}`);
      return a - b;
    },
  });
  const items = [50, 30, 80, 10, 90, 20, 70, 60, 40, 15, 85, 25, 65, 5, 95];
  for (const i of items) q.putNowait(i);
  const snapshot = (): number[] => {
    budget = Infinity;
    return q.toArray();
  };
  const before = snapshot();
  let putFailures = 0;
  let getFailures = 0;
  for (let allowed = 0; allowed < 12; allowed++) {
    budget = allowed;
    try {
      q.putNowait(1); // climbs to the root: 4 comparisons
      budget = Infinity;
      assert.equal(q.getNowait(), 1);
    } catch (error) {
      assert.match((error as Error).message, /cannot compare/);
      putFailures++;
    }
    assert.deepEqual(snapshot(), before);
    budget = allowed;
    try {
      const top = q.getNowait(); // sifts down: 2 comparisons per level
      budget = Infinity;
      q.putNowait(top);
    } catch (error) {
      assert.match((error as Error).message, /cannot compare/);
      getFailures++;
    }
    assert.deepEqual(snapshot(), before);
    assert.equal(q.qsize(), items.length);
  }
  assert.ok(putFailures >= 3 && getFailures >= 5, `comparisons failed mid-way: ${putFailures} puts, ${getFailures} gets`);
  const out: number[] = [];
  while (!q.empty()) out.push(q.getNowait());
  assert.deepEqual(out, [...items].sort((x, y) => x - y));
});

// ------------------------------------------------------------ models

type Op = { kind: 'put'; priority: number } | { kind: 'get' };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('put' as const), priority: fc.integer({ min: 0, max: 4 }) }),
  fc.record({ kind: fc.constant('get' as const) }),
);

/** Replays `ops` with putNowait/getNowait on `queue` and on an array model whose `take` picks the next item. */
function checkAgainstModel(
  queue: Queue<[number, { id: number }]>,
  maxsize: number,
  ops: Op[],
  take: (model: [number, { id: number }][]) => number,
): void {
  const model: [number, { id: number }][] = [];
  let puts = 0;
  for (const [id, op] of ops.entries()) {
    if (op.kind === 'put') {
      const item: [number, { id: number }] = [op.priority, { id }];
      if (maxsize > 0 && model.length >= maxsize) {
        assert.throws(() => queue.putNowait(item), QueueFull);
      } else {
        queue.putNowait(item);
        model.push(item);
        puts++;
      }
    } else if (model.length === 0) {
      assert.throws(() => queue.getNowait(), QueueEmpty);
    } else {
      const index = take(model);
      const [expected] = model.splice(index, 1);
      assert.equal(queue.getNowait(), expected);
    }
    assert.equal(queue.qsize(), model.length);
    assert.equal(queue.empty(), model.length === 0);
    assert.equal(queue.full(), maxsize > 0 && model.length >= maxsize);
    assert.equal(queue.unfinishedTasks, puts);
  }
  const rest = model.map((_, i) => i).map(() => model.splice(take(model), 1)[0]);
  assert.deepEqual(queue.toArray(), rest);
}

/** The index of the smallest priority, the earliest put among equals. */
function indexOfMin(model: [number, unknown][]): number {
  let best = 0;
  for (let i = 1; i < model.length; i++) if ((model[i] as [number, unknown])[0] < (model[best] as [number, unknown])[0]) best = i;
  return best;
}

test('Queue behaves like an array used FIFO under random putNowait/getNowait (fast-check model)', () => {
  fc.assert(
    fc.property(fc.integer({ min: -1, max: 6 }), fc.array(opArb, { maxLength: 150 }), (maxsize, ops) => {
      checkAgainstModel(new Queue({ maxsize }), maxsize, ops, () => 0);
    }),
  );
});

test('LifoQueue behaves like an array used as a stack under random putNowait/getNowait (fast-check model)', () => {
  fc.assert(
    fc.property(fc.integer({ min: -1, max: 6 }), fc.array(opArb, { maxLength: 150 }), (maxsize, ops) => {
      checkAgainstModel(new LifoQueue({ maxsize }), maxsize, ops, (model) => model.length - 1);
    }),
  );
});

test('PriorityQueue takes the smallest priority, FIFO among equals, under random putNowait/getNowait (fast-check model)', () => {
  fc.assert(
    fc.property(fc.integer({ min: -1, max: 12 }), fc.array(opArb, { maxLength: 300 }), (maxsize, ops) => {
      checkAgainstModel(new PriorityQueue({ maxsize }), maxsize, ops, indexOfMin);
    }),
  );
});

test('PriorityQueue with a reversed comparator takes the largest priority first (fast-check model)', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
      const queue = new PriorityQueue<[number, { id: number }]>({ compare: (a, b) => b[0] - a[0] });
      checkAgainstModel(queue, 0, ops, (model) => {
        let best = 0;
        for (let i = 1; i < model.length; i++) if ((model[i] as [number, unknown])[0] > (model[best] as [number, unknown])[0]) best = i;
        return best;
      });
    }),
  );
});
