/**
 * Event: set wakes every waiter FIFO, clear, cancellation. Mirrors the
 * behaviour pinned by CPython's test_asyncio/test_locks.py (EventTests).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CancelledError, Event, sleep } from '../../src/index.js';
import type { Task } from '../../src/index.js';
import { runInVirtualTime } from '../../src/testing.js';
import { Log } from '../log.js';

test('set() wakes every waiter in order; a task that starts after set() does not wait (asyncio test_locks: EventTests.test_wait)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const ev = new Event();
    assert.equal(ev.isSet(), false);
    const waiter = (n: number): Task<void> =>
      loop.createTask(function* () {
        if (yield* ev.wait()) log.push(n);
      });
    const t1 = waiter(1);
    const t2 = waiter(2);
    yield* sleep(0);
    log.assert([]);
    assert.equal(ev.waiterCount, 2);
    assert.equal(String(ev), '<Event [unset, waiters:2]>');
    const t3 = waiter(3);
    ev.set();
    assert.equal(ev.waiterCount, 0);
    yield* sleep(0);
    log.assert([3, 1, 2]);
    for (const t of [t1, t2, t3]) assert.equal(t.done(), true);
    assert.equal(String(ev), '<Event [set]>');
  });
});

test('wait() on a set event evaluates to true without suspending (asyncio test_locks: test_wait_on_set)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const ev = new Event();
    ev.set();
    loop.callSoon(() => log.push('other callback'));
    const result = yield* ev.wait();
    log.push(['waited', result]);
    yield* sleep(0);
    log.assert([['waited', true], 'other callback']);
  });
});

test('a waiter cancelled while waiting leaves no trace; a later set() still wakes the others (asyncio test_locks: test_wait_cancel)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const ev = new Event();
    const a = loop.createTask(ev.wait());
    const b = loop.createTask(function* () {
      yield* ev.wait();
      log.push('b woke');
    });
    yield* sleep(0);
    a.cancel();
    yield* sleep(0);
    assert.equal(a.cancelled(), true);
    assert.equal(ev.waiterCount, 1);
    ev.set();
    yield* b;
    log.assert(['b woke']);
    try {
      yield* a;
      assert.fail('a should be cancelled');
    } catch (error) {
      assert.ok(error instanceof CancelledError);
    }
  });
});

test('clear() resets the flag (asyncio test_locks: test_clear)', () => {
  const ev = new Event();
  assert.equal(ev.isSet(), false);
  ev.set();
  assert.equal(ev.isSet(), true);
  ev.clear();
  assert.equal(ev.isSet(), false);
});

test('set(), clear(), set() wakes a waiter exactly once, and wait() still evaluates to true (asyncio test_locks: test_clear_with_waiters)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const ev = new Event();
    const t = loop.createTask(function* () {
      const result = yield* ev.wait();
      log.push(['woke', result, ev.isSet()]);
      return result;
    });
    yield* sleep(0);
    ev.set();
    ev.clear();
    assert.equal(ev.isSet(), false);
    ev.set();
    ev.set();
    yield* sleep(0);
    log.assert([['woke', true, true]]);
    assert.equal(t.result(), true);
    assert.equal(ev.waiterCount, 0);
  });
});

test('after set() then clear(), woken waiters still return while new waiters block', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const ev = new Event();
    const early = loop.createTask(function* () {
      yield* ev.wait();
      log.push('early');
    });
    yield* sleep(0);
    ev.set();
    ev.clear();
    const late = loop.createTask(function* () {
      yield* ev.wait();
      log.push('late');
    });
    yield* sleep(3);
    log.assert(['early']);
    assert.equal(late.done(), false);
    ev.set();
    yield* late;
    log.assert(['late']);
    yield* early;
  });
});
