/**
 * Preconditions and input checks (src/core/assert.ts).
 *
 * Pinned: internal invariants fail as AssertionError with a recognisable
 * prefix; user input is refused with TypeError/RangeError whose message
 * names the argument and shows the bad value safely (describe()).
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { AssertionError, assert as invariant, checkCallback, checkMilliseconds, describe } from '../../src/core/assert.js';

test('assert() passes on a truthy condition and throws AssertionError naming the broken invariant otherwise', () => {
  invariant(1, 'never shown');
  invariant({}, 'never shown');
  assert.throws(
    () => invariant(0, 'heap order'),
    (error: unknown) => {
      assert.ok(error instanceof AssertionError);
      assert.equal(error.name, 'AssertionError');
      assert.equal(error.message, 'eventide internal invariant broken: heap order');
      return true;
    },
  );
});

test('checkCallback accepts functions (plain, arrow, generator, async, class) and refuses anything else with a TypeError naming the argument', () => {
  for (const fn of [function f() {}, () => 0, function* g() {}, async () => 0, class C {}]) checkCallback(fn, 'x');
  const cases: [unknown, string][] = [
    [undefined, 'undefined'],
    [null, 'null'],
    [42, '42'],
    ['cb', '"cb"'],
    [{}, 'an Object'],
    [Promise.resolve(), 'a Promise'],
  ];
  for (const [bad, shown] of cases) {
    assert.throws(() => checkCallback(bad, 'callSoon: callback'), {
      name: 'TypeError',
      message: `callSoon: callback must be a function, got ${shown}`,
    });
  }
});

test('checkMilliseconds accepts every number but NaN (±Infinity too, as asyncio does) and names the argument: TypeError for a non-number, RangeError for NaN', () => {
  for (const ok of [0, -0, -5, 0.5, 1e9, Number.MAX_VALUE, Infinity, -Infinity]) checkMilliseconds(ok, 'x');
  assert.throws(() => checkMilliseconds(NaN, 'callLater: delayMs'), {
    name: 'RangeError',
    message: 'callLater: delayMs must be a number of milliseconds, got NaN',
  });
  const cases: [unknown, string][] = [
    ['5', '"5"'],
    [undefined, 'undefined'],
    [null, 'null'],
    [10n, '10'],
  ];
  for (const [bad, shown] of cases) {
    assert.throws(() => checkMilliseconds(bad, 'callLater: delayMs'), {
      name: 'TypeError',
      message: `callLater: delayMs must be a number of milliseconds, got ${shown}`,
    });
  }
});

test('describe() gives a short, safe label for every kind of value', () => {
  assert.equal(describe(null), 'null');
  assert.equal(describe(undefined), 'undefined');
  assert.equal(describe('hi'), '"hi"');
  assert.equal(describe(3.5), '3.5');
  assert.equal(describe(true), 'true');
  assert.equal(describe(7n), '7');
  assert.equal(describe(Symbol('s')), 'Symbol(s)');
  assert.equal(describe(function named() {}), 'function named');
  assert.equal(describe([() => 0][0]), 'function (anonymous)');
  assert.equal(describe(new Map()), 'a Map');
  assert.equal(describe([]), 'an Array');
  assert.equal(describe(new Error('x')), 'an Error');
  assert.equal(describe(Object.create(null)), 'an object');
});

test('describe() truncates long strings to 40 characters', () => {
  const long = 'x'.repeat(100);
  assert.equal(describe(long), JSON.stringify('x'.repeat(40) + '…'));
  assert.equal(describe('y'.repeat(40)), JSON.stringify('y'.repeat(40)));
});

test('describe() does not call user code (no toString/valueOf) on objects', () => {
  const hostile = {
    toString(): string {
      throw new Error('must not be called');
    },
    valueOf(): number {
      throw new Error('must not be called');
    },
  };
  assert.equal(describe(hostile), 'an Object');
});
