/**
 * ReadyQueue (src/core/ready-queue.ts): one FIFO deque per priority lane.
 *
 * Pinned: FIFO within a lane, lanes never mix, firstNonEmptyLane picks the
 * highest lane with work, `length` always equals the sum of the lanes
 * (checked after every step of random sequences), and iteration/drain give
 * policy order.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import { LANE_COUNT, LANE_CRITICAL, LANE_IDLE, LANE_LOW, LANE_NORMAL } from '../../src/core/priority.js';
import { ReadyQueue } from '../../src/core/ready-queue.js';

interface Item {
  lane: number;
  label: string;
}
const item = (lane: number, label: string): Item => ({ lane, label });

function lengths(queue: ReadyQueue<Item>): number[] {
  const out: number[] = [];
  for (let lane = 0; lane < LANE_COUNT; lane++) out.push(queue.laneLength(lane));
  return out;
}

test('items of one lane come out FIFO, and lanes do not mix', () => {
  const queue = new ReadyQueue<Item>();
  queue.push(item(LANE_NORMAL, 'n1'));
  queue.push(item(LANE_LOW, 'l1'));
  queue.push(item(LANE_NORMAL, 'n2'));
  queue.push(item(LANE_LOW, 'l2'));
  queue.push(item(LANE_NORMAL, 'n3'));
  assert.deepEqual(lengths(queue), [0, 0, 3, 2, 0]);
  const normal = [queue.shiftFrom(LANE_NORMAL), queue.shiftFrom(LANE_NORMAL), queue.shiftFrom(LANE_NORMAL)];
  assert.deepEqual(normal.map((i) => i?.label), ['n1', 'n2', 'n3']);
  assert.equal(queue.shiftFrom(LANE_NORMAL), undefined);
  assert.deepEqual([queue.shiftFrom(LANE_LOW)?.label, queue.shiftFrom(LANE_LOW)?.label], ['l1', 'l2']);
  assert.equal(queue.length, 0);
});

test('remove takes one item out of its lane, keeps the others in order, and says whether it was there', () => {
  const queue = new ReadyQueue<Item>();
  const n2 = item(LANE_NORMAL, 'n2');
  for (const it of [item(LANE_NORMAL, 'n1'), n2, item(LANE_NORMAL, 'n3'), item(LANE_LOW, 'l1')]) queue.push(it);
  assert.equal(queue.remove(n2), true);
  assert.equal(queue.remove(n2), false);
  assert.equal(queue.remove(item(LANE_NORMAL, 'never pushed')), false);
  assert.equal(queue.length, 3);
  assert.deepEqual(lengths(queue), [0, 0, 2, 1, 0]);
  assert.deepEqual([queue.shiftFrom(LANE_NORMAL)?.label, queue.shiftFrom(LANE_NORMAL)?.label, queue.shiftFrom(LANE_LOW)?.label], ['n1', 'n3', 'l1']);
  assert.equal(queue.length, 0);
});

test('firstNonEmptyLane is the highest-priority lane with an item, or -1 when all are empty', () => {
  const queue = new ReadyQueue<Item>();
  assert.equal(queue.firstNonEmptyLane(), -1);
  queue.push(item(LANE_IDLE, 'i'));
  assert.equal(queue.firstNonEmptyLane(), LANE_IDLE);
  queue.push(item(LANE_NORMAL, 'n'));
  assert.equal(queue.firstNonEmptyLane(), LANE_NORMAL);
  queue.push(item(LANE_CRITICAL, 'c'));
  assert.equal(queue.firstNonEmptyLane(), LANE_CRITICAL);
  queue.shiftFrom(LANE_CRITICAL);
  assert.equal(queue.firstNonEmptyLane(), LANE_NORMAL);
  queue.shiftFrom(LANE_NORMAL);
  queue.shiftFrom(LANE_IDLE);
  assert.equal(queue.firstNonEmptyLane(), -1);
});

test('shiftFrom an empty lane returns undefined and leaves length unchanged', () => {
  const queue = new ReadyQueue<Item>();
  queue.push(item(LANE_NORMAL, 'n'));
  assert.equal(queue.shiftFrom(LANE_CRITICAL), undefined);
  assert.equal(queue.length, 1);
});

test('iteration gives policy order: highest lane first, FIFO within a lane', () => {
  const queue = new ReadyQueue<Item>();
  for (const [lane, label] of [
    [LANE_LOW, 'l1'],
    [LANE_CRITICAL, 'c1'],
    [LANE_NORMAL, 'n1'],
    [LANE_CRITICAL, 'c2'],
    [LANE_IDLE, 'i1'],
    [1, 'h1'],
  ] as const) {
    queue.push(item(lane, label));
  }
  assert.deepEqual(Array.from(queue, (i) => i.label), ['c1', 'c2', 'h1', 'n1', 'l1', 'i1']);
  assert.equal(queue.length, 6, 'iteration does not consume');
});

test('drain() empties every lane and returns the items in policy order', () => {
  const queue = new ReadyQueue<Item>();
  queue.push(item(LANE_NORMAL, 'n1'));
  queue.push(item(LANE_CRITICAL, 'c1'));
  queue.push(item(LANE_NORMAL, 'n2'));
  assert.deepEqual(queue.drain().map((i) => i.label), ['c1', 'n1', 'n2']);
  assert.equal(queue.length, 0);
  assert.deepEqual(lengths(queue), [0, 0, 0, 0, 0]);
  assert.equal(queue.firstNonEmptyLane(), -1);
  queue.push(item(LANE_LOW, 'after'));
  assert.deepEqual(Array.from(queue, (i) => i.label), ['after']);
});

test('length equals the sum of the lane lengths, and each lane stays FIFO, under random push/shift (fast-check)', () => {
  type Op = { push: true; lane: number } | { push: false; lane: number };
  const op: fc.Arbitrary<Op> = fc.record({ push: fc.boolean(), lane: fc.integer({ min: 0, max: LANE_COUNT - 1 }) });
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
      const queue = new ReadyQueue<Item>();
      const model: Item[][] = Array.from({ length: LANE_COUNT }, () => []);
      let n = 0;
      for (const o of ops) {
        if (o.push) {
          const it = item(o.lane, `x${n++}`);
          queue.push(it);
          (model[o.lane] as Item[]).push(it);
        } else {
          assert.equal(queue.shiftFrom(o.lane), (model[o.lane] as Item[]).shift());
        }
        const modelLengths = model.map((lane) => lane.length);
        assert.deepEqual(lengths(queue), modelLengths);
        assert.equal(queue.length, modelLengths.reduce((a, b) => a + b, 0));
        const first = modelLengths.findIndex((len) => len > 0);
        assert.equal(queue.firstNonEmptyLane(), first);
      }
      assert.deepEqual(queue.drain(), model.flat());
    }),
    { numRuns: 200 },
  );
});
