/**
 * sleep() and until(): the typed operations a task yield*s, on virtual time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CancelledError, EventLoop, sleep, until, waitFor } from '../../src/index.js';
import type { Operation } from '../../src/index.js';
import { isCoroutine, isThenable } from '../../src/tasks/operation.js';
import { assertLoopClean, runInVirtualTime } from '../../src/testing.js';
import { Log } from '../log.js';

// ------------------------------------------------------------------ sleep

test('sleep(ms, value) evaluates to value; sleep(ms) to undefined (asyncio test_tasks: test_sleep with result)', async () => {
  const result = await runInVirtualTime(function* () {
    const a = yield* sleep(10, 'hello');
    const b = yield* sleep(10, { n: 1 });
    const c = yield* sleep(10);
    return [a, b, c];
  });
  assert.deepEqual(result, ['hello', { n: 1 }, undefined]);
});

test('sleeps land at exact virtual times and add up', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    log.push(loop.time());
    yield* sleep(10);
    log.push(loop.time());
    yield* sleep(15);
    log.push(loop.time());
    yield* sleep(0.5);
    log.push(loop.time());
    yield* sleep(3_600_000);
    log.push(loop.time());
  });
  log.assert([0, 10, 25, 25.5, 3_600_025.5]);
});

test('sleeping tasks wake in deadline order, and in scheduling order for equal deadlines', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const sleeper = (name: string, ms: number) =>
      loop.createTask(function* () {
        yield* sleep(ms);
        log.push([name, loop.time()]);
      });
    const tasks = [sleeper('A', 10), sleeper('B', 5), sleeper('C', 10), sleeper('D', 5), sleeper('E', 1), sleeper('F', 10)];
    for (const t of tasks) yield* t;
  });
  log.assert([
    ['E', 1],
    ['B', 5],
    ['D', 5],
    ['A', 10],
    ['C', 10],
    ['F', 10],
  ]);
});

test('sleep(0) and negative sleeps resume on the next tick without a timer or any time passing', () => {
  const loop = new EventLoop({ clock: 'virtual' });
  const log = new Log();
  loop.createTask(function* () {
    log.push('start');
    yield* sleep(0);
    log.push('after sleep(0)');
    yield* sleep(-5);
    log.push('after sleep(-5)');
  });
  loop.runOnce(0);
  log.assert(['start']);
  assert.equal(loop.statistics().timers, 0);
  assert.equal(loop.statistics().ready, 1);
  loop.runOnce(0);
  log.assert(['after sleep(0)']);
  loop.runOnce(0);
  log.assert(['after sleep(-5)']);
  assert.equal(loop.time(), 0);
  assertLoopClean(loop);
});

test('sleep(0) lets every other ready callback run once (asyncio: await sleep(0))', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    loop.callSoon(() => log.push('callback 1'));
    loop.callSoon(() => log.push('callback 2'));
    log.push('before');
    yield* sleep(0);
    log.push('after');
  });
  log.assert(['before', 'callback 1', 'callback 2', 'after']);
});

for (const [bad, errorType] of [[Number.NaN, RangeError], ['5', TypeError], [undefined, TypeError], [null, TypeError]] as const) {
  test(`sleep(${String(bad)}) throws ${errorType.name} naming the argument, before anything is scheduled (asyncio test_tasks: test_sleep_when_delay_is_nan)`, async () => {
    const log = new Log();
    await runInVirtualTime(function* (loop) {
      try {
        yield* sleep(bad as number);
      } catch (e) {
        log.push([e instanceof errorType, /^sleep: ms must be a number of milliseconds, got /.test((e as Error).message)]);
      }
      log.push(loop.statistics().timers);
    });
    log.assert([[true, true], 0]);
  });
}

test('sleep(Infinity) waits until cancelled: waitFor ends it on time, on a virtual clock that does not jump to infinity (asyncio: sleep(math.inf))', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const start = loop.time();
    try {
      yield* waitFor(sleep(Infinity), 10);
    } catch (e) {
      log.push([(e as Error).name, loop.time() - start]);
    }
    const forever = loop.createTask(function* () {
      try {
        yield* sleep(Infinity);
      } finally {
        log.push('cancelled at ' + String(loop.time() - start));
      }
    });
    yield* sleep(5);
    forever.cancel();
    yield* sleep(0);
    log.push(loop.statistics().timers);
  });
  log.assert([['TimeoutError', 10], 'cancelled at 15', 0]);
});

test('a virtual clock whose only timer is a sleep(Infinity) waits for the outside world and never jumps to Infinity', async () => {
  const loop = new EventLoop({ clock: 'virtual', virtualStallMs: 5 });
  const forever = loop.createTask(function* () {
    yield* sleep(Infinity);
  });
  const result = await loop.runUntilComplete(function* () {
    // A real 50 ms wait: ten stall periods in which only the infinite timer is pending.
    yield* until(new Promise((resolve) => setTimeout(resolve, 50)));
    return [loop.time(), forever.done()];
  });
  assert.deepEqual(result, [0, false]);
  forever.cancel();
  await loop.runUntilComplete(function* () {
    yield* sleep(0);
  });
  assert.equal(forever.cancelled(), true);
  assertLoopClean(loop);
});

test('one sleep() operation can be yield*-ed twice; each run waits and returns the value', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const nap = sleep(5, 'zz');
    log.push([yield* nap, loop.time()]);
    log.push([yield* nap, loop.time()]);
  });
  log.assert([
    ['zz', 5],
    ['zz', 10],
  ]);
});

test('cancelling a sleeping task frees its timer at once (asyncio test_tasks: test_sleep_cancel)', async () => {
  const loop = new EventLoop({ clock: 'virtual' });
  const task = loop.createTask(function* () {
    yield* sleep(10_000);
  });
  loop.runOnce(0);
  assert.equal(loop.statistics().timers, 1);
  task.cancel();
  assert.equal(loop.statistics().timers, 0);
  await assert.rejects(loop.runUntilComplete(task), CancelledError);
  assert.equal(loop.time(), 0);
  assertLoopClean(loop);
});

test('a user-defined Operation that delegates to sleep composes with yield*', async () => {
  function later<T>(ms: number, make: () => T): Operation<T> {
    return {
      *[Symbol.iterator]() {
        yield* sleep(ms);
        return make();
      },
    };
  }
  const result = await runInVirtualTime(function* (loop) {
    const v = yield* later(7, () => loop.time() * 2);
    return v;
  });
  assert.equal(result, 14);
});

// ------------------------------------------------------------------ until

test('yield* until(promise) evaluates to the resolved value', async () => {
  const result = await runInVirtualTime(function* () {
    const s = yield* until(Promise.resolve('text'));
    const n = yield* until(new Promise<number>((resolve) => setTimeout(() => resolve(5), 1)));
    return [s, n];
  });
  assert.deepEqual(result, ['text', 5]);
});

test('yield* until(rejecting promise) throws the rejection reason at the yield*', async () => {
  const boom = new Error('rejected');
  const log = new Log();
  await runInVirtualTime(function* () {
    try {
      yield* until(Promise.reject(boom));
    } catch (e) {
      log.push(e === boom);
    }
    try {
      yield* until(new Promise((_, reject) => setTimeout(() => reject('late reason'), 1)));
    } catch (e) {
      log.push(e);
    }
  });
  log.assert([true, 'late reason']);
});

test('until() of a plain value or a custom thenable evaluates to the value', async () => {
  const result = await runInVirtualTime(function* () {
    const plain = yield* until(41);
    const thenable: PromiseLike<string> = {
      then(onFulfilled) {
        queueMicrotask(() => onFulfilled?.('from thenable'));
        return this as never;
      },
    };
    const custom = yield* until(thenable);
    return [plain + 1, custom];
  });
  assert.deepEqual(result, [42, 'from thenable']);
});

test('a thenable whose then() throws fails the until() with that error', async () => {
  const log = new Log();
  await runInVirtualTime(function* () {
    const broken = {
      then() {
        throw new TypeError('broken then');
      },
    } as unknown as PromiseLike<number>;
    try {
      yield* until(broken);
    } catch (e) {
      log.push((e as Error).message);
    }
  });
  log.assert(['broken then']);
});

test('on a virtual clock, time does not jump past a pending until(): the promise is seen at virtual time 0', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const sleeper = loop.createTask(function* () {
      yield* sleep(1000);
      log.push(['sleeper woke', loop.time()]);
    });
    const v = yield* until(new Promise<string>((resolve) => setTimeout(() => resolve('io'), 5)));
    log.push(['until resolved', v, loop.time()]);
    yield* sleeper;
  });
  log.assert([
    ['until resolved', 'io', 0],
    ['sleeper woke', 1000],
  ]);
});

test('cancelling a task blocked in until(never-settling promise) delivers CancelledError and lets the virtual clock jump again', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const blocked = loop.createTask(function* () {
      try {
        yield* until(new Promise(() => {}));
      } catch (e) {
        log.push(['blocked caught', (e as Error).name]);
        throw e;
      }
    });
    yield* sleep(0);
    blocked.cancel();
    try {
      yield* blocked;
    } catch (e) {
      log.push(['awaiter saw', e instanceof CancelledError]);
    }
    yield* sleep(1000); // would hang if the loop still waited for the promise
    log.push(['slept to', loop.time()]);
  });
  log.assert([
    ['blocked caught', 'CancelledError'],
    ['awaiter saw', true],
    ['slept to', 1000],
  ]);
});

test(
  'on a virtual clock, until() of a promise that itself waits for a loop timer completes (no deadlock)',
  async () => {
    const loop = new EventLoop({ clock: 'virtual' });
    const main = loop.createTask(function* () {
      const f = loop.createFuture<number>();
      loop.callLater(10, () => f.setResult(1));
      const v = yield* until((async () => (await f) + 1)());
      return [v, loop.time()];
    });
    // Watchdog for the failing case only: a working loop finishes at once.
    const watchdog = setTimeout(() => loop.stop(), 300);
    try {
      assert.deepEqual(await loop.runUntilComplete(main), [2, 10]);
    } finally {
      clearTimeout(watchdog);
      if (!main.done()) {
        main.cancel();
        await loop.runUntilComplete(main).catch(() => undefined);
      }
      loop.close();
    }
  },
);

// ---------------------------------------------------------------- helpers

test('isThenable recognises promises and thenables only', () => {
  assert.equal(isThenable(Promise.resolve(1)), true);
  assert.equal(isThenable({ then() {} }), true);
  const fn = Object.assign(() => {}, { then() {} });
  assert.equal(isThenable(fn), true);
  assert.equal(isThenable({ then: 1 }), false);
  assert.equal(isThenable(null), false);
  assert.equal(isThenable(undefined), false);
  assert.equal(isThenable(42), false);
});

test('isCoroutine recognises generator objects, not generator functions or plain iterators', () => {
  function* gen(): Generator<never, void> {}
  assert.equal(isCoroutine(gen()), true);
  assert.equal(isCoroutine(gen), false);
  assert.equal(isCoroutine([1, 2][Symbol.iterator]()), false);
  assert.equal(isCoroutine({ next() {} }), false);
  assert.equal(isCoroutine(null), false);
});
