/**
 * Contract: gather, wait, waitFor, timeout, shield, TaskGroup / taskGroup,
 * through `import ... from 'eventide'`. Call shapes from DESIGN.md's "Call
 * shapes"; behaviour from asyncio (test_tasks.py, test_taskgroups.py,
 * test_timeouts.py, test_waitfor.py) where DESIGN is silent. Virtual time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ALL_COMPLETED,
  CancelledError,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  Future,
  TaskGroup,
  TimeoutError,
  gather,
  getRunningLoop,
  shield,
  sleep,
  taskGroup,
  timeout,
  wait,
  waitFor,
  type Coroutine,
} from 'eventide';
import { runInVirtualTime } from 'eventide/testing';
import { Log } from '../log.js';

function* after<T>(ms: number, value: T, log?: Log): Coroutine<T> {
  yield* sleep(ms);
  log?.push(value);
  return value;
}

function* failAfter(ms: number, error: Error): Coroutine<never> {
  yield* sleep(ms);
  throw error;
}

// ------------------------------------------------------------------ gather

test('gather(...ops) returns results in op order, not completion order; ops may be coroutines, generator functions, Tasks, Futures', async () => {
  const log = new Log();
  const results = await runInVirtualTime(function* (loop) {
    const future = loop.createFuture<string>();
    loop.callLater(15, () => future.setResult('future'));
    const task = loop.createTask(after(5, 'task', log));
    const gathered = gather(after(30, 'coroutine', log), () => after(10, 'generator function', log), task, future);
    assert.ok(gathered instanceof Future, 'gather returns a Future');
    const values = yield* gathered;
    return [values, loop.time()];
  });
  assert.deepEqual(results, [['coroutine', 'generator function', 'task', 'future'], 30]);
  log.assert(['task', 'generator function', 'coroutine']);
});

test('gather(ops, {returnExceptions: true}) puts each failure in its slot and waits for all', async () => {
  const boom = new Error('boom');
  const results = await runInVirtualTime(function* (loop) {
    const values = yield* gather([after(10, 'a'), failAfter(5, boom), after(20, 'c')], { returnExceptions: true });
    return [values, loop.time()];
  });
  assert.deepEqual(results, [['a', boom, 'c'], 20]);
});

test('gather(ops) with an array and no options behaves like gather(...ops)', async () => {
  const values = await runInVirtualTime(function* () {
    return yield* gather([after(2, 1), after(1, 2)]);
  });
  assert.deepEqual(values, [1, 2]);
});

test('gather(): the first exception propagates at once, the other ops are not cancelled and keep running (asyncio test_gather_exception)', async () => {
  const log = new Log();
  const boom = new Error('boom');
  await runInVirtualTime(function* (loop) {
    const slow = loop.createTask(after(50, 'slow finished', log));
    try {
      yield* gather(slow, failAfter(10, boom));
      log.push('no error');
    } catch (error) {
      log.push(['caught', error === boom, loop.time()]);
    }
    assert.equal(slow.done(), false);
    yield* slow;
  });
  log.assert([['caught', true, 10], 'slow finished']);
});

test('gather() with no ops gives [] (asyncio test_gather_empty)', async () => {
  const values = await runInVirtualTime(function* () {
    return yield* gather();
  });
  assert.deepEqual(values, []);
});

test('cancelling the task waiting on gather cancels every child not yet done', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const children = [1, 2].map((n) =>
      loop.createTask(function* () {
        try {
          yield* sleep(100);
        } catch (error) {
          log.push([`child ${n}`, (error as Error).name]);
          throw error;
        }
      }),
    );
    const waiter = loop.createTask(function* () {
      yield* gather(...children);
    });
    yield* sleep(10);
    waiter.cancel();
    try {
      yield* waiter;
    } catch (error) {
      log.push(['waiter', (error as Error).name]);
    }
    assert.ok(children.every((child) => child.cancelled()));
  });
  log.assert([
    ['child 1', 'CancelledError'],
    ['child 2', 'CancelledError'],
    ['waiter', 'CancelledError'],
  ]);
});

// -------------------------------------------------------------------- wait

test('wait(ops) resolves to [done, pending], two Sets of the futures given; default returnWhen is ALL_COMPLETED', async () => {
  const outcome = await runInVirtualTime(function* (loop) {
    const a = loop.createTask(after(10, 'a'));
    const b = loop.createTask(after(20, 'b'));
    const [done, pending] = yield* wait([a, b]);
    assert.ok(done instanceof Set && pending instanceof Set);
    return [done.has(a) && done.has(b), pending.size, loop.time()];
  });
  assert.deepEqual(outcome, [true, 0, 20]);
});

test('wait(ops, {returnWhen: FIRST_COMPLETED}) returns when one is done and cancels nothing', async () => {
  await runInVirtualTime(function* (loop) {
    const fast = loop.createTask(after(10, 'fast'));
    const slow = loop.createTask(after(20, 'slow'));
    const [done, pending] = yield* wait([fast, slow], { returnWhen: FIRST_COMPLETED });
    assert.equal(loop.time(), 10);
    assert.deepEqual([...done], [fast]);
    assert.deepEqual([...pending], [slow]);
    assert.equal(slow.cancelled(), false);
    yield* slow;
  });
});

test('wait(ops, {returnWhen: FIRST_EXCEPTION}) returns at the first failure', async () => {
  await runInVirtualTime(function* (loop) {
    const ok = loop.createTask(after(5, 'ok'));
    const bad = loop.createTask(failAfter(10, new Error('bad')));
    const slow = loop.createTask(after(30, 'slow'));
    const [done, pending] = yield* wait([ok, bad, slow], { returnWhen: FIRST_EXCEPTION });
    assert.equal(loop.time(), 10);
    assert.ok(done.has(ok) && done.has(bad));
    assert.deepEqual([...pending], [slow]);
    assert.equal((bad.exception() as Error).message, 'bad');
    yield* slow;
  });
});

test('wait(ops, {timeoutMs}) returns after timeoutMs with the unfinished in pending, not cancelled and no TimeoutError (asyncio.wait)', async () => {
  await runInVirtualTime(function* (loop) {
    const slow = loop.createTask(after(100, 'slow'));
    const [done, pending] = yield* wait([slow], { timeoutMs: 10, returnWhen: ALL_COMPLETED });
    assert.equal(loop.time(), 10);
    assert.equal(done.size, 0);
    assert.deepEqual([...pending], [slow]);
    assert.equal(slow.cancelled(), false);
    slow.cancel();
    try {
      yield* slow;
    } catch {
      // cancelled
    }
  });
});

// ----------------------------------------------------------------- waitFor

test('waitFor(op, ms) returns the result when op finishes in time', async () => {
  const value = await runInVirtualTime(function* () {
    return yield* waitFor(after(5, 'in time'), 10);
  });
  assert.equal(value, 'in time');
});

test('waitFor(op, ms) on timeout cancels the op, waits for it to finish cancelling, then throws TimeoutError at ms (asyncio test_wait_for)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const inner = loop.createTask(function* () {
      try {
        yield* sleep(100);
      } catch (error) {
        log.push(['inner', (error as Error).name, loop.time()]);
        yield* sleep(3); // cleanup takes a while; waitFor waits for it
        throw error;
      }
    });
    try {
      yield* waitFor(inner, 10);
    } catch (error) {
      log.push(['waitFor', (error as Error).name, error instanceof TimeoutError, loop.time()]);
    }
    assert.equal(inner.cancelled(), true);
  });
  log.assert([
    ['inner', 'CancelledError', 10],
    ['waitFor', 'TimeoutError', true, 13],
  ]);
});

test('waitFor(op, null) waits without a deadline', async () => {
  const value = await runInVirtualTime(function* () {
    return yield* waitFor(after(1000, 'x'), null);
  });
  assert.equal(value, 'x');
});

// ----------------------------------------------------------------- timeout

test('timeout(ms, op) returns the result of an op that finishes within ms', async () => {
  const value = await runInVirtualTime(function* () {
    return yield* timeout(50, after(10, 'fast'));
  });
  assert.equal(value, 'fast');
});

test('timeout(ms, op) throws TimeoutError at ms and the op sees CancelledError (asyncio.timeout)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    try {
      yield* timeout(20, function* () {
        try {
          yield* sleep(1000);
        } catch (error) {
          log.push(['op', (error as Error).name, loop.time()]);
          throw error;
        }
      });
    } catch (error) {
      log.push(['timeout', error instanceof TimeoutError, loop.time()]);
    }
    assert.equal(getRunningLoop().time(), 20);
  });
  log.assert([
    ['op', 'CancelledError', 20],
    ['timeout', true, 20],
  ]);
});

test('timeout() leaves an outside cancellation a CancelledError, not a TimeoutError', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const task = loop.createTask(function* () {
      yield* timeout(1000, sleep(5000));
    });
    yield* sleep(10);
    task.cancel();
    try {
      yield* task;
    } catch (error) {
      log.push((error as Error).name);
    }
  });
  log.assert(['CancelledError']);
});

// ------------------------------------------------------------------ shield

test('shield(op): cancelling the waiting task does not cancel the op, which finishes with its result (asyncio test_shield_effect)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const inner = loop.createTask(after(50, 'inner finished', log));
    const outer = loop.createTask(function* () {
      return yield* shield(inner);
    });
    yield* sleep(10);
    outer.cancel();
    try {
      yield* outer;
    } catch (error) {
      log.push(['outer', (error as Error).name]);
    }
    assert.equal(inner.cancelled(), false);
    assert.equal(yield* inner, 'inner finished');
  });
  log.assert([['outer', 'CancelledError'], 'inner finished']);
});

test('shield(op) passes the result through when nobody cancels; returns a Future', async () => {
  const value = await runInVirtualTime(function* () {
    const shielded = shield(after(5, 'value'));
    assert.ok(shielded instanceof Future);
    return yield* shielded;
  });
  assert.equal(value, 'value');
});

// --------------------------------------------------------------- TaskGroup

test('taskGroup(fn): the group ends when every child is done; tg.createTask returns Tasks; the body\'s value is returned', async () => {
  const log = new Log();
  const outcome = await runInVirtualTime(function* (loop) {
    const value = yield* taskGroup(function* (tg) {
      const a = tg.createTask(after(20, 'a', log));
      const b = tg.createTask(after(10, 'b', log), { name: 'b' });
      assert.equal(b.name, 'b');
      assert.equal(a.done(), false);
      return 'body';
    });
    return [value, loop.time()];
  });
  assert.deepEqual(outcome, ['body', 20]);
  log.assert(['b', 'a']);
});

test('new TaskGroup() used the same way: yield* tg.run(function* (tg) { ... })', async () => {
  const log = new Log();
  await runInVirtualTime(function* () {
    const group = new TaskGroup();
    yield* group.run(function* (tg) {
      assert.equal(tg, group);
      tg.createTask(after(5, 'child', log));
    });
  });
  log.assert(['child']);
});

test('TaskGroup: a child failure cancels the siblings and the body; the group throws an AggregateError of the errors (asyncio test_taskgroup_02)', async () => {
  const log = new Log();
  const boom = new Error('boom');
  await runInVirtualTime(function* (loop) {
    try {
      yield* taskGroup(function* (tg) {
        tg.createTask(function* () {
          try {
            yield* sleep(100);
          } catch (error) {
            log.push(['sibling', (error as Error).name]);
            throw error;
          }
        });
        tg.createTask(failAfter(10, boom));
        try {
          yield* sleep(1000);
        } catch (error) {
          log.push(['body', (error as Error).name]);
          throw error;
        }
      });
      log.push('no error');
    } catch (error) {
      assert.ok(error instanceof AggregateError, 'an AggregateError');
      log.push(['group', (error as AggregateError).errors.length, (error as AggregateError).errors[0] === boom, loop.time()]);
    }
  });
  log.assert([
    ['sibling', 'CancelledError'],
    ['body', 'CancelledError'],
    ['group', 1, true, 10],
  ]);
});

test('TaskGroup: several failing children give one AggregateError holding every non-cancellation error', async () => {
  const e1 = new Error('e1');
  const e2 = new Error('e2');
  const errors = await runInVirtualTime(function* () {
    try {
      yield* taskGroup(function* (tg) {
        tg.createTask(failAfter(10, e1));
        tg.createTask(function* () {
          try {
            yield* sleep(100);
          } finally {
            // fails while being cancelled: its error counts too
            throw e2; // eslint-disable-line no-unsafe-finally
          }
        });
      });
      return [];
    } catch (error) {
      return (error as AggregateError).errors;
    }
  });
  assert.deepEqual(errors, [e1, e2]);
});

test('TaskGroup: cancelling the task that runs the group cancels the children and propagates CancelledError (not an AggregateError)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const runner = loop.createTask(function* () {
      yield* taskGroup(function* (tg) {
        tg.createTask(function* () {
          try {
            yield* sleep(100);
          } catch (error) {
            log.push(['child', (error as Error).name]);
            throw error;
          }
        });
      });
    });
    yield* sleep(10);
    runner.cancel();
    try {
      yield* runner;
    } catch (error) {
      log.push(['runner', (error as Error).name, error instanceof CancelledError]);
    }
  });
  log.assert([
    ['child', 'CancelledError'],
    ['runner', 'CancelledError', true],
  ]);
});

test('TaskGroup: the body raising an error aborts the group; the error is in the AggregateError', async () => {
  const bodyError = new Error('body');
  const outcome = await runInVirtualTime(function* () {
    try {
      yield* taskGroup(function* (tg) {
        tg.createTask(after(100, 'never'));
        yield* sleep(5);
        throw bodyError;
      });
      return 'no error';
    } catch (error) {
      return (error as AggregateError).errors;
    }
  });
  assert.deepEqual(outcome, [bodyError]);
});
