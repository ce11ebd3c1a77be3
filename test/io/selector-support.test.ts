/**
 * Selector helpers (src/io/selector-support.ts): the timeout conversion
 * (ms → the kernel's int ms, rounded up so the loop never spins) and the
 * fd → mask table, tested with plain numbers.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { FdMasks, MAX_KERNEL_TIMEOUT_MS, toKernelTimeoutMs } from '../../src/io/selector-support.js';

test('toKernelTimeoutMs: Infinity is -1, 0 and negatives poll, fractions round up, huge values clamp', () => {
  const cases: [number, number][] = [
    [Infinity, -1],
    [0, 0],
    [-3, 0],
    [-Infinity, 0],
    [0.001, 1],
    [0.5, 1],
    [1, 1],
    [1.2, 2],
    [250, 250],
    [MAX_KERNEL_TIMEOUT_MS, MAX_KERNEL_TIMEOUT_MS],
    [1e12, MAX_KERNEL_TIMEOUT_MS],
  ];
  for (const [input, expected] of cases) assert.equal(toKernelTimeoutMs(input, 'T.select'), expected, `timeoutMs ${input}`);
});

test('toKernelTimeoutMs: NaN and non-numbers are a RangeError naming the caller', () => {
  assert.throws(() => toKernelTimeoutMs(Number.NaN, 'T.select'), { name: 'RangeError', message: /^T\.select: timeoutMs must be a number .*got NaN$/ });
  assert.throws(() => toKernelTimeoutMs('5' as unknown as number, 'T.select'), { name: 'RangeError', message: /got "5"$/ });
});

test('FdMasks: get/set/delete count registered fds and grow for large fds', () => {
  const masks = new FdMasks();
  assert.equal(masks.get(3), 0);
  masks.set(3, 1);
  masks.set(3, 3); // changing a mask does not count twice
  masks.set(5000, 2); // beyond the initial 64 entries
  assert.equal(masks.size, 2);
  assert.deepEqual([masks.get(3), masks.get(5000), masks.get(4999), masks.get(1 << 20)], [3, 2, 0, 0]);
  assert.equal(masks.delete(3), 3);
  assert.equal(masks.delete(3), 0);
  assert.equal(masks.size, 1);
  masks.clear();
  assert.deepEqual([masks.size, masks.get(5000)], [0, 0]);
});
