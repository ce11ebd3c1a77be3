/**
 * GlobalTimersHost (src/core/host.ts): who waits when the loop is idle.
 *
 * Pinned: wake() ends a pending wait; a wake() with no wait pending makes
 * the next wait resolve at once (never lost) and is used up by it;
 * yieldToHost lets the host's already-queued work run first; close() ends
 * a pending wait; shouldYield follows the slice.
 *
 * A wait that should never resolve is checked by letting the host run a few
 * turns and seeing it still pending — no timing involved.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { DEFAULT_HOST_SLICE_MS, GlobalTimersHost } from '../../src/core/host.js';
import { Log } from '../log.js';

/** Lets the host run a few turns of its own loop. */
async function hostTurns(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

function track(promise: Promise<void>): { settled: () => boolean } {
  let settled = false;
  void promise.then(() => {
    settled = true;
  });
  return { settled: () => settled };
}

test('wake() during wait(Infinity) ends the wait', { timeout: 10_000 }, async () => {
  const host = new GlobalTimersHost();
  const waiting = track(host.wait(Infinity));
  await hostTurns();
  assert.equal(waiting.settled(), false, 'an infinite wait does not end by itself');
  host.wake();
  await hostTurns();
  assert.equal(waiting.settled(), true);
  host.close();
});

test('a wake() before wait() is not lost: the next wait(Infinity) resolves at once', { timeout: 10_000 }, async () => {
  const host = new GlobalTimersHost();
  host.wake();
  await host.wait(Infinity); // would hang if the wake-up were lost
  host.close();
});

test('an early wake-up is used up by the wait it ends: the following wait blocks until the next wake', { timeout: 10_000 }, async () => {
  const host = new GlobalTimersHost();
  host.wake();
  await host.wait(Infinity);
  const second = track(host.wait(Infinity));
  await hostTurns();
  assert.equal(second.settled(), false);
  host.wake();
  await hostTurns();
  assert.equal(second.settled(), true);
  host.close();
});

test('wait(0) and a short finite wait resolve without a wake', { timeout: 10_000 }, async () => {
  const host = new GlobalTimersHost();
  await host.wait(0);
  await host.wait(1);
  host.close();
});

test("yieldToHost() resolves after the host's already-queued work has run", async () => {
  const host = new GlobalTimersHost();
  const log = new Log();
  setImmediate(() => log.push('host work'));
  await host.yieldToHost();
  log.push('after yield');
  log.assert(['host work', 'after yield']);
  host.close();
});

test('close() ends a pending wait', { timeout: 10_000 }, async () => {
  const host = new GlobalTimersHost();
  const waiting = track(host.wait(Infinity));
  host.close();
  await hostTurns();
  assert.equal(waiting.settled(), true);
});

test('close() also cancels the timer of a pending finite wait (no stray host timer keeps the process alive)', async () => {
  const timers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
  const host = new GlobalTimersHost();
  const before = timers();
  const waiting = host.wait(60_000);
  assert.equal(timers(), before + 1, 'a finite wait arms one host timer');
  host.close();
  assert.equal(timers(), before, 'close() disarmed it');
  await waiting; // resolved by close, not by the 60 s timer
});

test('shouldYield follows the slice: a 0 ms slice is always used up, an infinite one never', async () => {
  assert.equal(DEFAULT_HOST_SLICE_MS, 5);
  const eager = new GlobalTimersHost(0);
  const patient = new GlobalTimersHost(Infinity);
  assert.equal(eager.shouldYield(), true);
  assert.equal(patient.shouldYield(), false);
  await eager.yieldToHost();
  assert.equal(eager.shouldYield(), true);
  eager.close();
  patient.close();
});
