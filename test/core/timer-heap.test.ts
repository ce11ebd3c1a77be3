/**
 * TimerHeap (src/core/timer-heap.ts), tested with plain objects and numbers
 * as curio tests its timequeue: no loop, no handles.
 *
 * Pinned: (whenMs, seq) order with equal deadlines FIFO, lazy cancellation
 * and its bookkeeping, compaction once cancelled entries dominate a heap
 * bigger than COMPACT_MIN_SIZE, popExpired's inclusive boundary, and a
 * fast-check model test against a sorted array with validate() after every
 * operation.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import { COMPACT_MIN_SIZE, TimerHeap, type TimerEntry } from '../../src/core/timer-heap.js';

interface Entry extends TimerEntry {
  whenMs: number;
  seq: number;
  isCancelled: boolean;
  scheduled: boolean;
  label: string;
}

let nextSeq = 0;
function entry(whenMs: number, label = `t${whenMs}`): Entry {
  return { whenMs, seq: nextSeq++, isCancelled: false, scheduled: false, label };
}

/** Cancels `e` the way a TimerHandle does: mark, then tell the heap if it is in it. */
function cancel(heap: TimerHeap<Entry>, e: Entry): void {
  if (e.isCancelled) return;
  e.isCancelled = true;
  if (e.scheduled) heap.noteCancelled();
}

function drain(heap: TimerHeap<Entry>): string[] {
  const out: string[] = [];
  for (let e = heap.pop(); e !== undefined; e = heap.pop()) if (!e.isCancelled) out.push(e.label);
  return out;
}

test('pop returns entries in deadline order (curio test_timequeue: basic ordering)', () => {
  const heap = new TimerHeap<Entry>();
  for (const when of [50, 10, 40, 20, 30, 0, 60]) heap.push(entry(when));
  heap.validate();
  assert.deepEqual(drain(heap), ['t0', 't10', 't20', 't30', 't40', 't50', 't60']);
  assert.equal(heap.size, 0);
});

test('equal deadlines pop in push order, by seq (stronger than asyncio, which compares when only)', () => {
  const heap = new TimerHeap<Entry>();
  const labels = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
  heap.push(entry(5, 'early'));
  for (const label of labels) heap.push(entry(10, label));
  heap.push(entry(1, 'first'));
  assert.deepEqual(drain(heap), ['first', 'early', ...labels]);
});

test('push marks an entry scheduled and pop unmarks it; peek neither removes nor unmarks', () => {
  const heap = new TimerHeap<Entry>();
  const a = entry(2);
  const b = entry(1);
  heap.push(a);
  heap.push(b);
  assert.deepEqual([a.scheduled, b.scheduled], [true, true]);
  assert.equal(heap.peek(), b);
  assert.equal(heap.size, 2);
  assert.equal(heap.pop(), b);
  assert.deepEqual([a.scheduled, b.scheduled], [true, false]);
  assert.equal(heap.pop(), a);
  assert.equal(a.scheduled, false);
  assert.equal(heap.pop(), undefined);
  assert.equal(heap.peek(), undefined);
});

test('cancellation is lazy: the entry stays until it reaches the top; counts follow noteCancelled', () => {
  const heap = new TimerHeap<Entry>();
  const entries = [entry(1), entry(2), entry(3), entry(4)];
  for (const e of entries) heap.push(e);
  cancel(heap, entries[2] as Entry);
  cancel(heap, entries[0] as Entry);
  heap.validate();
  assert.deepEqual([heap.size, heap.liveCount, heap.cancelledCount], [4, 2, 2]);
  assert.equal(heap.peek(), entries[0]); // still there: lazy
  heap.dropCancelledTop();
  assert.equal(heap.peek(), entries[1]);
  assert.deepEqual([heap.size, heap.liveCount, heap.cancelledCount], [3, 2, 1]);
  assert.equal((entries[0] as Entry).scheduled, false);
  heap.validate();
  assert.deepEqual(
    heap.liveEntries().map((e) => e.label).sort(),
    ['t2', 't4'],
  );
});

test('nextDeadline skips (and drops) cancelled entries at the top', () => {
  const heap = new TimerHeap<Entry>();
  const a = entry(5);
  const b = entry(7);
  const c = entry(9);
  for (const e of [a, b, c]) heap.push(e);
  assert.equal(heap.nextDeadline(), 5);
  cancel(heap, a);
  cancel(heap, b);
  assert.equal(heap.nextDeadline(), 9);
  assert.equal(heap.size, 1);
  assert.equal(heap.cancelledCount, 0);
  heap.validate();
});

test('nextDeadline is undefined for an empty heap and for one holding only cancelled entries', () => {
  const heap = new TimerHeap<Entry>();
  assert.equal(heap.nextDeadline(), undefined);
  const a = entry(3);
  heap.push(a);
  cancel(heap, a);
  assert.equal(heap.nextDeadline(), undefined);
  assert.deepEqual([heap.size, heap.cancelledCount], [0, 0]);
});

test('popExpired hands over every live entry with whenMs <= now, in order, and drops cancelled ones on the way', () => {
  const heap = new TimerHeap<Entry>();
  const entries = [entry(10, 'a'), entry(10, 'b'), entry(5, 'c'), entry(20, 'd'), entry(15, 'e'), entry(11, 'x')];
  for (const e of entries) heap.push(e);
  cancel(heap, entries[5] as Entry);
  const got: string[] = [];
  heap.popExpired(15, (e) => got.push(e.label));
  assert.deepEqual(got, ['c', 'a', 'b', 'e']); // 15 is due: the boundary is inclusive
  assert.deepEqual([heap.size, heap.cancelledCount], [1, 0]);
  assert.equal(heap.peek()?.label, 'd');
  heap.popExpired(19.999, () => assert.fail('nothing is due before 20'));
  heap.validate();
});

test('popExpired stops at the first live entry that is not due, leaving later cancelled entries in place', () => {
  const heap = new TimerHeap<Entry>();
  const due = entry(1, 'due');
  const later = entry(100, 'later');
  const laterCancelled = entry(200, 'later-cancelled');
  for (const e of [due, later, laterCancelled]) heap.push(e);
  cancel(heap, laterCancelled);
  const got: string[] = [];
  heap.popExpired(50, (e) => got.push(e.label));
  assert.deepEqual(got, ['due']);
  assert.deepEqual([heap.size, heap.cancelledCount], [2, 1]);
  heap.validate();
});

test('popExpired tolerates a sink that cancels other entries, even when that compacts the heap', () => {
  const heap = new TimerHeap<Entry>();
  const due = [entry(1, 'due-1'), entry(2, 'due-2')];
  const later: Entry[] = [];
  for (let i = 0; i < COMPACT_MIN_SIZE + 20; i++) later.push(entry(1000 + i, `later-${i}`));
  for (const e of [...due, ...later]) heap.push(e);
  const got: string[] = [];
  heap.popExpired(10, (e) => {
    got.push(e.label);
    // The first due entry cancels most of the rest: compaction happens inside popExpired.
    if (e.label === 'due-1') for (const l of later.slice(10)) cancel(heap, l);
  });
  assert.deepEqual(got, ['due-1', 'due-2']);
  heap.validate();
  assert.equal(heap.liveCount, 10);
  assert.deepEqual(drain(heap), later.slice(0, 10).map((e) => e.label));
});

test(`compaction: once cancelled entries are more than half of a heap bigger than COMPACT_MIN_SIZE (${COMPACT_MIN_SIZE}), they are removed and order is kept (asyncio test__run_once_cancelled_event_cleanup)`, () => {
  const heap = new TimerHeap<Entry>();
  const entries: Entry[] = [];
  const total = 2 * COMPACT_MIN_SIZE;
  for (let i = 0; i < total; i++) {
    const e = entry((i * 37) % 101, `e${i}`);
    entries.push(e);
    heap.push(e);
  }
  // Cancel exactly half: not more than half, so nothing is compacted yet.
  const odd = entries.filter((_, i) => i % 2 === 1);
  for (const e of odd) cancel(heap, e);
  assert.deepEqual([heap.size, heap.cancelledCount], [total, total / 2]);
  heap.validate();
  // One more tips it over.
  cancel(heap, entries[0] as Entry);
  heap.validate();
  assert.deepEqual([heap.size, heap.cancelledCount, heap.liveCount], [total / 2 - 1, 0, total / 2 - 1]);
  assert.ok(odd.every((e) => !e.scheduled), 'compacted-away entries leave with scheduled === false');
  const live = entries.filter((e) => !e.isCancelled).sort((a, b) => a.whenMs - b.whenMs || a.seq - b.seq);
  assert.deepEqual(drain(heap), live.map((e) => e.label));
});

test(`no compaction while the heap has at most COMPACT_MIN_SIZE entries, however many are cancelled`, () => {
  const heap = new TimerHeap<Entry>();
  const entries: Entry[] = [];
  for (let i = 0; i < COMPACT_MIN_SIZE; i++) {
    const e = entry(i);
    entries.push(e);
    heap.push(e);
  }
  for (const e of entries.slice(1)) cancel(heap, e);
  assert.deepEqual([heap.size, heap.cancelledCount, heap.liveCount], [COMPACT_MIN_SIZE, COMPACT_MIN_SIZE - 1, 1]);
  heap.validate();
});

test('pushing an entry that is already cancelled counts it as cancelled', () => {
  const heap = new TimerHeap<Entry>();
  const e = entry(1);
  e.isCancelled = true;
  heap.push(e);
  heap.push(entry(2));
  heap.validate();
  assert.deepEqual([heap.size, heap.cancelledCount, heap.liveCount], [2, 1, 1]);
  assert.equal(heap.nextDeadline(), 2);
});

test('clear() removes everything, returns it, and marks every entry unscheduled', () => {
  const heap = new TimerHeap<Entry>();
  const entries = [entry(3), entry(1), entry(2)];
  for (const e of entries) heap.push(e);
  cancel(heap, entries[0] as Entry);
  const removed = heap.clear();
  assert.deepEqual(removed.map((e) => e.label).sort(), ['t1', 't2', 't3']);
  assert.ok(entries.every((e) => !e.scheduled));
  assert.deepEqual([heap.size, heap.cancelledCount], [0, 0]);
  heap.validate();
});

test('validate() detects a broken cancelled count and a broken scheduled flag', () => {
  const heap = new TimerHeap<Entry>();
  const a = entry(1);
  heap.push(a);
  heap.push(entry(2));
  heap.noteCancelled(); // told of a cancellation that did not happen
  assert.throws(() => heap.validate(), /counted 1 cancelled entries, found 0/);
  const other = new TimerHeap<Entry>();
  const b = entry(1);
  other.push(b);
  b.scheduled = false;
  assert.throws(() => other.validate(), /entry 0 is not marked scheduled/);
});

test('TimerHeap matches a sorted-array model under random push/cancel/pop/popExpired (fast-check; validate() after every op)', () => {
  type Op =
    | { kind: 'push'; whenMs: number }
    | { kind: 'cancel'; pick: number }
    | { kind: 'pop' }
    | { kind: 'popExpired'; nowMs: number }
    | { kind: 'nextDeadline' }
    | { kind: 'pushMany'; count: number; whenMs: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('push' as const), whenMs: fc.integer({ min: 0, max: 30 }) }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('pop' as const) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('popExpired' as const), nowMs: fc.integer({ min: 0, max: 30 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('nextDeadline' as const) }) },
    // Bursts make heaps big enough (> COMPACT_MIN_SIZE) for compaction to happen.
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('pushMany' as const), count: fc.integer({ min: 20, max: 80 }), whenMs: fc.integer({ min: 0, max: 30 }) }) },
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
      const heap = new TimerHeap<Entry>();
      const all: Entry[] = [];
      let seq = 0;
      /** Live entries still in the heap, sorted by (whenMs, seq). */
      let model: Entry[] = [];
      const sortModel = (): void => void model.sort((a, b) => a.whenMs - b.whenMs || a.seq - b.seq);
      const push = (whenMs: number): void => {
        const e: Entry = { whenMs, seq: seq++, isCancelled: false, scheduled: false, label: `s${seq}` };
        all.push(e);
        heap.push(e);
        model.push(e);
        sortModel();
      };
      for (const o of ops) {
        switch (o.kind) {
          case 'push':
            push(o.whenMs);
            break;
          case 'pushMany':
            for (let i = 0; i < o.count; i++) push(o.whenMs + (i % 7));
            break;
          case 'cancel': {
            if (all.length === 0) break;
            const e = all[o.pick % all.length] as Entry;
            cancel(heap, e);
            model = model.filter((m) => m !== e);
            break;
          }
          case 'pop': {
            // The loop's way: drop dead entries at the top, then pop a live one.
            heap.dropCancelledTop();
            const got = heap.pop();
            assert.equal(got, model.shift());
            break;
          }
          case 'popExpired': {
            const got: Entry[] = [];
            heap.popExpired(o.nowMs, (e) => got.push(e));
            const due = model.filter((e) => e.whenMs <= o.nowMs);
            model = model.filter((e) => e.whenMs > o.nowMs);
            assert.deepEqual(got, due);
            assert.ok(got.every((e) => !e.scheduled));
            break;
          }
          case 'nextDeadline':
            assert.equal(heap.nextDeadline(), model[0]?.whenMs);
            break;
        }
        heap.validate();
        assert.equal(heap.liveCount, model.length);
        assert.ok(model.every((e) => e.scheduled));
      }
      const rest: Entry[] = [];
      heap.popExpired(Infinity, (e) => rest.push(e));
      assert.deepEqual(rest, model);
      assert.equal(heap.size, 0);
    }),
    { numRuns: 300 },
  );
});
