/**
 * TimerOnlySelector (src/core/selector.ts): the selector with no fds.
 *
 * Pinned: fd operations are refused with a TypeError that names the
 * selector and points to EpollSelector; select(0) polls and returns 0; a
 * pending wake-up ends the next select at once however long its timeout and
 * is consumed; a worker thread can wake a select(Infinity) that is blocked
 * on the main thread (Atomics.notify on wakeupBuffer).
 *
 * None of these tests measure time: a broken wake-up shows as a hang, never
 * as a slow-but-passing test.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import test from 'node:test';
import { Worker } from 'node:worker_threads';
import { EVENT_READ, EVENT_WRITE, TimerOnlySelector, type Selector } from '../../src/core/selector.js';

test('TimerOnlySelector says who it is and that it watches no fds', () => {
  const selector = new TimerOnlySelector();
  assert.equal(selector.name, 'TimerOnlySelector');
  assert.equal(selector.supportsFds, false);
  assert.equal(selector.fdCount, 0);
  assert.ok(selector.wakeupBuffer instanceof SharedArrayBuffer);
  assert.equal(selector.wakeupBuffer.byteLength, 4);
  selector.close();
});

test('EVENT_READ and EVENT_WRITE are distinct bits of one mask', () => {
  assert.deepEqual([EVENT_READ, EVENT_WRITE, EVENT_READ | EVENT_WRITE], [1, 2, 3]);
});

test('register, modify and unregister throw a TypeError naming the selector, the fd, and EpollSelector', () => {
  // Called through the Selector interface, as the loop calls it.
  const selector: Selector = new TimerOnlySelector();
  const cases: [() => void, string][] = [
    [() => selector.register(5, EVENT_READ), 'register fd 5'],
    [() => selector.modify(6, EVENT_WRITE), 'modify fd 6'],
    [() => selector.unregister(7), 'unregister fd 7'],
  ];
  for (const [call, what] of cases) {
    assert.throws(call, {
      name: 'TypeError',
      message:
        `TimerOnlySelector cannot ${what}: it watches no file descriptors. ` +
        `Use a loop with an fd selector (EpollSelector from 'eventide/node').`,
    });
  }
  assert.equal(selector.fdCount, 0);
  selector.close();
});

test('select(0) polls: returns 0 at once and reports nothing', () => {
  const selector = new TimerOnlySelector();
  const reported: unknown[] = [];
  assert.equal(selector.select(0, (fd, events) => reported.push([fd, events])), 0);
  assert.deepEqual(reported, []);
  selector.close();
});

test('a wake-up before select makes even a 10 s select return at once, and is consumed by it', () => {
  const selector = new TimerOnlySelector();
  const flag = new Int32Array(selector.wakeupBuffer as SharedArrayBuffer);
  selector.wakeup();
  assert.equal(Atomics.load(flag, 0), 1, 'the wake-up is pending');
  // If the pending wake-up were ignored this would block for 10 s; a lost
  // wake-up with Infinity would hang the test.
  assert.equal(selector.select(10_000, () => assert.fail('no fds')), 0);
  assert.equal(Atomics.load(flag, 0), 0, 'the wake-up was consumed');
  selector.wakeup();
  assert.equal(selector.select(Infinity, () => assert.fail('no fds')), 0);
  assert.equal(Atomics.load(flag, 0), 0);
  selector.close();
});

test('wakeup() twice before a select still ends just that one select (wake-ups do not accumulate)', () => {
  const selector = new TimerOnlySelector();
  const flag = new Int32Array(selector.wakeupBuffer as SharedArrayBuffer);
  selector.wakeup();
  selector.wakeup();
  assert.equal(selector.select(10_000, () => 0), 0);
  assert.equal(Atomics.load(flag, 0), 0);
  selector.close();
});

test('a poll (select(0)) leaves a pending wake-up pending for the next blocking select', () => {
  const selector = new TimerOnlySelector();
  const flag = new Int32Array(selector.wakeupBuffer as SharedArrayBuffer);
  selector.wakeup();
  assert.equal(selector.select(0, () => 0), 0);
  assert.equal(Atomics.load(flag, 0), 1, 'still pending after the poll');
  assert.equal(selector.select(10_000, () => 0), 0); // returns at once: the wake-up was kept
  assert.equal(Atomics.load(flag, 0), 0);
  selector.close();
});

test('select() after close() throws', () => {
  const selector = new TimerOnlySelector();
  selector.close();
  assert.throws(() => selector.select(0, () => 0), { message: 'TimerOnlySelector: select() after close()' });
});

// The worker waits until the main thread says it is about to select, gives
// it a moment to block (correct either way: a store before the wait is seen
// by the wait), then wakes it exactly as the selector's doc comment says.
const WAKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const flag = new Int32Array(workerData.wakeup);
const control = new Int32Array(workerData.control);
Atomics.wait(control, 0, 0);
Atomics.wait(control, 1, 0, 20);
Atomics.store(flag, 0, 1);
Atomics.store(control, 2, Atomics.notify(flag, 0) + 1);
`;

test('a worker thread wakes a select(Infinity) blocked on the main thread (cross-thread wake via wakeupBuffer)', async () => {
  const selector = new TimerOnlySelector();
  const control = new Int32Array(new SharedArrayBuffer(12));
  const worker = new Worker(WAKER_SOURCE, {
    eval: true,
    workerData: { wakeup: selector.wakeupBuffer, control: control.buffer },
  });
  await once(worker, 'online');
  const exited = once(worker, 'exit');
  Atomics.store(control, 0, 1);
  Atomics.notify(control, 0);
  // Blocks this thread until the worker's notify; hangs if the wake is lost.
  const result = selector.select(Infinity, () => assert.fail('no fds'));
  assert.equal(result, 0);
  const [exitCode] = await exited;
  assert.equal(exitCode, 0);
  assert.ok(Atomics.load(control, 2) >= 1, 'the worker did its notify');
  assert.equal(Atomics.load(new Int32Array(selector.wakeupBuffer as SharedArrayBuffer), 0), 0, 'the wake-up was consumed');
  selector.close();
});
