/**
 * Clocks (src/core/clock.ts) and how a loop picks one.
 *
 * Pinned: a VirtualClock moves only when told, exactly, never backwards;
 * bad advances are refused without moving time; MonotonicClock never goes
 * back and needs `performance.now()`; the loop's `clock` option.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { MonotonicClock, VirtualClock, type Clock } from '../../src/core/clock.js';
import { assertLoopClean } from '../../src/testing.js';
import { EventLoop } from '../../src/tasks/event-loop.js';

test('a VirtualClock starts at 0, or at the time it is given', () => {
  assert.equal(new VirtualClock().now(), 0);
  assert.equal(new VirtualClock(1234.5).now(), 1234.5);
});

test('advance(ms) moves a VirtualClock forward by exactly ms', () => {
  const clock = new VirtualClock();
  clock.advance(10);
  clock.advance(0);
  clock.advance(0.25);
  assert.equal(clock.now(), 10.25);
});

test('advance refuses negative, NaN and infinite steps with a RangeError naming the value, and time does not move', () => {
  const clock = new VirtualClock(5);
  for (const [bad, shown] of [
    [-1, '-1'],
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
  ] as const) {
    assert.throws(() => clock.advance(bad), {
      name: 'RangeError',
      message: `VirtualClock.advance: ms must be a finite number >= 0, got ${shown}`,
    });
  }
  assert.equal(clock.now(), 5);
});

test('skipTo moves a VirtualClock forward only, never back', () => {
  const clock = new VirtualClock(100);
  clock.skipTo(50);
  assert.equal(clock.now(), 100);
  clock.skipTo(250);
  assert.equal(clock.now(), 250);
  clock.skipTo(250);
  assert.equal(clock.now(), 250);
});

test('MonotonicClock never goes back', () => {
  const clock = new MonotonicClock();
  let previous = clock.now();
  for (let i = 0; i < 10_000; i++) {
    const now = clock.now();
    assert.ok(now >= previous, `${now} < ${previous}`);
    previous = now;
  }
});

test('MonotonicClock without globalThis.performance throws a TypeError that says what to do instead', () => {
  const descriptor = Object.getOwnPropertyDescriptor(globalThis, 'performance');
  assert.ok(descriptor?.configurable, 'this test needs to hide globalThis.performance');
  Object.defineProperty(globalThis, 'performance', { value: undefined, configurable: true, writable: true });
  try {
    assert.throws(() => new MonotonicClock(), {
      name: 'TypeError',
      message: 'MonotonicClock needs globalThis.performance.now(); pass a Clock to the EventLoop instead',
    });
  } finally {
    Object.defineProperty(globalThis, 'performance', descriptor);
  }
  assert.equal(typeof new MonotonicClock().now(), 'number');
});

test("the loop's clock option: 'virtual' gives a VirtualClock at 0, 'real' a MonotonicClock, and any Clock object is used as is", () => {
  const virtual = new EventLoop({ clock: 'virtual' });
  assert.ok(virtual.clock instanceof VirtualClock);
  assert.equal(virtual.time(), 0);
  assertLoopClean(virtual);

  const real = new EventLoop({ clock: 'real' });
  assert.ok(real.clock instanceof MonotonicClock);
  assertLoopClean(real);

  let nowMs = 42;
  const custom: Clock = { now: () => nowMs };
  const loop = new EventLoop({ clock: custom });
  assert.equal(loop.clock, custom);
  assert.equal(loop.time(), 42);
  nowMs = 43;
  assert.equal(loop.time(), 43);
  assertLoopClean(loop);
});

test('a bad clock option is a TypeError naming what was given', () => {
  assert.throws(() => new EventLoop({ clock: 'fake' as 'real' }), {
    name: 'TypeError',
    message: `clock must be 'real', 'virtual' or a Clock object, got "fake"`,
  });
  assert.throws(() => new EventLoop({ clock: {} as Clock }), {
    name: 'TypeError',
    message: `clock must be 'real', 'virtual' or a Clock object, got an Object`,
  });
});
