/**
 * Deque (src/core/deque.ts): the ring buffer under every ready-queue lane.
 *
 * Pinned: FIFO/LIFO at both ends, growth that keeps order even when the live
 * items wrap around the end of the buffer, O(n) remove that keeps order, and
 * that a slot is cleared as soon as its item leaves (the loop must not keep a
 * callback that already ran reachable). A fast-check model test replays
 * random operation sequences against a plain array.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import { Deque } from '../../src/core/deque.js';

function filled(items: number[], capacity = 4): Deque<number> {
  const deque = new Deque<number>(capacity);
  for (const item of items) deque.push(item);
  return deque;
}

test('push then shift is FIFO (asyncio uses collections.deque for _ready)', () => {
  const deque = filled([1, 2, 3]);
  assert.equal(deque.length, 3);
  assert.deepEqual([deque.shift(), deque.shift(), deque.shift()], [1, 2, 3]);
  assert.equal(deque.length, 0);
});

test('pop takes from the back; unshift puts in front', () => {
  const deque = filled([2, 3]);
  deque.unshift(1);
  deque.unshift(0);
  assert.deepEqual(deque.toArray(), [0, 1, 2, 3]);
  assert.equal(deque.pop(), 3);
  assert.equal(deque.pop(), 2);
  assert.deepEqual(deque.toArray(), [0, 1]);
});

test('shift, pop, peekFront, peekBack and at on an empty deque return undefined', () => {
  const deque = new Deque<number>();
  assert.equal(deque.shift(), undefined);
  assert.equal(deque.pop(), undefined);
  assert.equal(deque.peekFront(), undefined);
  assert.equal(deque.peekBack(), undefined);
  assert.equal(deque.at(0), undefined);
  assert.equal(deque.length, 0);
});

test('peekFront and peekBack look without removing', () => {
  const deque = filled([7, 8, 9]);
  assert.equal(deque.peekFront(), 7);
  assert.equal(deque.peekBack(), 9);
  assert.equal(deque.length, 3);
  assert.deepEqual(deque.toArray(), [7, 8, 9]);
});

test('at(i) indexes from the front; negative or past-the-end indexes give undefined', () => {
  const deque = filled([10, 11, 12]);
  deque.shift();
  deque.push(13);
  assert.deepEqual([deque.at(0), deque.at(1), deque.at(2)], [11, 12, 13]);
  assert.equal(deque.at(3), undefined);
  assert.equal(deque.at(-1), undefined);
});

test('growing past the initial capacity keeps every item in order', () => {
  const deque = new Deque<number>(4);
  const expected: number[] = [];
  for (let i = 0; i < 100; i++) {
    deque.push(i);
    expected.push(i);
  }
  assert.equal(deque.length, 100);
  assert.deepEqual(deque.toArray(), expected);
});

test('growth while the live items wrap around the end of the buffer keeps order', () => {
  // capacity 4: push 4, shift 3 (head at 3), push 3 more (wraps to 0..2),
  // then push beyond capacity to force growth with a wrapped layout.
  const deque = filled([0, 1, 2, 3], 4);
  assert.deepEqual([deque.shift(), deque.shift(), deque.shift()], [0, 1, 2]);
  deque.push(4);
  deque.push(5);
  deque.push(6);
  assert.deepEqual(deque.toArray(), [3, 4, 5, 6]);
  deque.push(7); // full and wrapped: grows
  deque.unshift(2);
  assert.deepEqual(deque.toArray(), [2, 3, 4, 5, 6, 7]);
  assert.deepEqual([deque.peekFront(), deque.peekBack(), deque.length], [2, 7, 6]);
});

test('unshift on a fresh deque wraps the head to the end of the buffer, then grows correctly', () => {
  const deque = new Deque<string>(4);
  for (const item of ['d', 'c', 'b', 'a', 'z']) deque.unshift(item);
  assert.deepEqual(deque.toArray(), ['z', 'a', 'b', 'c', 'd']);
  assert.equal(deque.pop(), 'd');
  assert.equal(deque.shift(), 'z');
  assert.deepEqual(deque.toArray(), ['a', 'b', 'c']);
});

test('a capacity hint of 0 or 1 still gives a working deque', () => {
  for (const hint of [0, 1]) {
    const deque = new Deque<number>(hint);
    for (let i = 0; i < 9; i++) deque.push(i);
    assert.deepEqual(deque.toArray(), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  }
});

test('remove(item) drops the first equal item, keeps the others in order, and reports whether it found one', () => {
  const deque = filled([1, 2, 3, 2, 4]);
  assert.equal(deque.remove(2), true);
  assert.deepEqual(deque.toArray(), [1, 3, 2, 4]);
  assert.equal(deque.remove(99), false);
  assert.deepEqual(deque.toArray(), [1, 3, 2, 4]);
  assert.equal(deque.remove(4), true);
  assert.equal(deque.remove(1), true);
  assert.deepEqual(deque.toArray(), [3, 2]);
  assert.equal(deque.length, 2);
});

test('remove works on a wrapped layout', () => {
  const deque = filled([0, 1, 2, 3], 4);
  deque.shift();
  deque.shift();
  deque.push(4);
  deque.push(5); // live: 2,3 at the end of the buffer, 4,5 at the start
  assert.equal(deque.remove(3), true);
  assert.deepEqual(deque.toArray(), [2, 4, 5]);
  deque.push(6);
  deque.push(7);
  assert.deepEqual(deque.toArray(), [2, 4, 5, 6, 7]);
});

test('slots are cleared when their item leaves: at() and iteration see only live items', () => {
  const deque = filled([1, 2, 3, 4, 5, 6], 8);
  deque.shift();
  deque.pop();
  deque.remove(3);
  assert.deepEqual(Array.from(deque), [2, 4, 5]);
  assert.equal(deque.at(3), undefined);
  // Refill to full capacity: every reused slot must hold the new item only.
  for (let i = 10; i < 15; i++) deque.push(i);
  assert.deepEqual(Array.from(deque), [2, 4, 5, 10, 11, 12, 13, 14]);
  deque.clear();
  assert.deepEqual(Array.from(deque), []);
  assert.equal(deque.at(0), undefined);
  deque.push(42);
  assert.deepEqual(deque.toArray(), [42]);
});

/** Lets the current job end (WeakRef targets are kept alive until then), then collects. */
async function collectGarbage(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((resolve) => setImmediate(resolve));
  (globalThis as { gc?: () => void }).gc?.();
}

test(
  'an item that left the deque (shift, pop, remove, clear) is no longer reachable from it',
  { skip: typeof (globalThis as { gc?: unknown }).gc !== 'function' ? 'needs node --expose-gc' : false },
  async () => {
    const deque = new Deque<object>(4);
    const keep = { keep: true };
    const refs: WeakRef<object>[] = [];
    // Left through each way out; `keep` stays as the control.
    (() => {
      const shifted = { via: 'shift' };
      const popped = { via: 'pop' };
      const removed = { via: 'remove' };
      deque.push(shifted);
      deque.push(removed);
      deque.push(keep);
      deque.push(popped);
      refs.push(new WeakRef(shifted), new WeakRef(popped), new WeakRef(removed));
      deque.shift();
      deque.pop();
      deque.remove(removed);
    })();
    const cleared = new Deque<object>(4);
    (() => {
      const item = { via: 'clear' };
      cleared.push(item);
      refs.push(new WeakRef(item));
      cleared.clear();
    })();
    await collectGarbage();
    assert.deepEqual(
      refs.map((ref) => ref.deref()),
      [undefined, undefined, undefined, undefined],
    );
    assert.deepEqual(deque.toArray(), [keep]);
  },
);

test('Deque behaves like an array under random push/unshift/shift/pop/remove/clear (fast-check model)', () => {
  type Op =
    | { kind: 'push' | 'unshift'; value: number }
    | { kind: 'shift' | 'pop' | 'clear' | 'peekFront' | 'peekBack' }
    | { kind: 'remove'; value: number }
    | { kind: 'at'; index: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constantFrom('push' as const, 'unshift' as const), value: fc.integer({ min: 0, max: 20 }) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom('shift' as const, 'pop' as const, 'peekFront' as const, 'peekBack' as const) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), value: fc.integer({ min: 0, max: 20 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('at' as const), index: fc.integer({ min: -2, max: 40 }) }) },
  );
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 8 }), fc.array(op, { maxLength: 200 }), (capacity, ops) => {
      const deque = new Deque<number>(capacity);
      let model: number[] = [];
      for (const o of ops) {
        switch (o.kind) {
          case 'push':
            deque.push(o.value);
            model.push(o.value);
            break;
          case 'unshift':
            deque.unshift(o.value);
            model.unshift(o.value);
            break;
          case 'shift':
            assert.equal(deque.shift(), model.shift());
            break;
          case 'pop':
            assert.equal(deque.pop(), model.pop());
            break;
          case 'peekFront':
            assert.equal(deque.peekFront(), model[0]);
            break;
          case 'peekBack':
            assert.equal(deque.peekBack(), model[model.length - 1]);
            break;
          case 'clear':
            deque.clear();
            model = [];
            break;
          case 'remove': {
            const index = model.indexOf(o.value);
            if (index >= 0) model.splice(index, 1);
            assert.equal(deque.remove(o.value), index >= 0);
            break;
          }
          case 'at':
            assert.equal(deque.at(o.index), o.index >= 0 ? model[o.index] : undefined);
            break;
        }
        assert.equal(deque.length, model.length);
        assert.deepEqual(Array.from(deque), model);
        assert.equal(deque.at(model.length), undefined);
      }
    }),
    { numRuns: 300 },
  );
});
