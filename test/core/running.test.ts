/**
 * Which loop is running (src/core/running.ts).
 *
 * Pinned: the loop whose tick is on the stack wins; between ticks, a single
 * loop inside runForever is the answer; with none, or several and no tick,
 * requireRunningLoop throws a RuntimeError saying which case it is. Every
 * test restores the module state it changed.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { RuntimeError } from '../../src/core/errors.js';
import { enterTick, exitTick, markActive, requireRunningLoop, runningLoopOrNull } from '../../src/core/running.js';

test('with no tick and no active loop there is no running loop; requireRunningLoop says so (asyncio: get_running_loop raises RuntimeError)', () => {
  assert.equal(runningLoopOrNull(), null);
  assert.throws(() => requireRunningLoop(), (error: unknown) => {
    assert.ok(error instanceof RuntimeError);
    assert.equal(error.message, 'no running event loop');
    return true;
  });
});

test('enterTick/exitTick nest and restore the previous loop', () => {
  const outer = { name: 'outer' };
  const inner = { name: 'inner' };
  const before = enterTick(outer);
  assert.equal(before, null);
  assert.equal(requireRunningLoop(), outer);
  const previous = enterTick(inner);
  assert.equal(previous, outer);
  assert.equal(requireRunningLoop(), inner);
  exitTick(previous);
  assert.equal(requireRunningLoop(), outer);
  exitTick(before);
  assert.equal(runningLoopOrNull(), null);
});

test('between ticks, the one loop inside runForever is the running loop', () => {
  const loop = { name: 'active' };
  markActive(loop, true);
  try {
    assert.equal(runningLoopOrNull(), loop);
    assert.equal(requireRunningLoop(), loop);
  } finally {
    markActive(loop, false);
  }
  assert.equal(runningLoopOrNull(), null);
});

test('with several active loops and no tick, no loop can be named and the error says why', () => {
  const a = { name: 'a' };
  const b = { name: 'b' };
  markActive(a, true);
  markActive(b, true);
  try {
    assert.equal(runningLoopOrNull(), null);
    assert.throws(() => requireRunningLoop(), {
      name: 'RuntimeError',
      message: 'no event loop tick is running and several loops are active: call this from inside a task or callback',
    });
  } finally {
    markActive(a, false);
    markActive(b, false);
  }
});

test('the loop whose tick is running wins over the active loops', () => {
  const a = { name: 'a' };
  const b = { name: 'b' };
  markActive(a, true);
  markActive(b, true);
  const previous = enterTick(b);
  try {
    assert.equal(requireRunningLoop(), b);
  } finally {
    exitTick(previous);
    markActive(a, false);
    markActive(b, false);
  }
});

test('marking a loop active twice and inactive once leaves it inactive (a set, not a count)', () => {
  const loop = { name: 'twice' };
  markActive(loop, true);
  markActive(loop, true);
  markActive(loop, false);
  assert.equal(runningLoopOrNull(), null);
});
