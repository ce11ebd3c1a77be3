/**
 * Priorities (src/core/priority.ts): names in the API, lane indices inside.
 *
 * Pinned: the five names map to lanes 0..4 highest first, undefined means
 * 'normal', and anything else is a TypeError naming the bad value and every
 * valid one (so a typo never lands silently in some lane).
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import {
  DEFAULT_PRIORITY,
  LANE_COUNT,
  LANE_CRITICAL,
  LANE_HIGH,
  LANE_IDLE,
  LANE_LOW,
  LANE_NORMAL,
  laneOf,
  PRIORITIES,
  type Priority,
} from '../../src/core/priority.js';

test('laneOf maps each priority to its lane, highest first; undefined is normal', () => {
  assert.deepEqual(
    PRIORITIES.map((p) => laneOf(p)),
    [0, 1, 2, 3, 4],
  );
  assert.deepEqual(
    [laneOf('critical'), laneOf('high'), laneOf('normal'), laneOf('low'), laneOf('idle'), laneOf(undefined)],
    [LANE_CRITICAL, LANE_HIGH, LANE_NORMAL, LANE_LOW, LANE_IDLE, LANE_NORMAL],
  );
});

test('PRIORITIES lists the five names highest first, is frozen, and round-trips with laneOf', () => {
  assert.deepEqual([...PRIORITIES], ['critical', 'high', 'normal', 'low', 'idle']);
  assert.equal(PRIORITIES.length, LANE_COUNT);
  assert.ok(Object.isFrozen(PRIORITIES));
  for (const p of PRIORITIES) assert.equal(PRIORITIES[laneOf(p)], p);
});

test('the default priority is normal', () => {
  assert.equal(DEFAULT_PRIORITY, 'normal');
  assert.equal(laneOf(DEFAULT_PRIORITY), LANE_NORMAL);
});

test('laneOf rejects a bad priority with a TypeError naming the bad value and the valid ones', () => {
  const valid = "'critical', 'high', 'normal', 'low', 'idle'";
  const cases: [unknown, string][] = [
    ['urgent', '"urgent"'],
    ['Normal', '"Normal"'],
    ['', '""'],
    [2, '2'],
    [null, 'null'],
  ];
  for (const [bad, shown] of cases) {
    assert.throws(
      () => laneOf(bad as Priority),
      (error: unknown) => {
        assert.ok(error instanceof TypeError);
        assert.equal(error.message, `priority must be one of ${valid}, got ${shown}`);
        return true;
      },
    );
  }
});
