/**
 * TimerHeap (src/core/timer-heap.ts), tested with plain objects and numbers
 * as curio tests its timequeue: no loop, no handles.
 *
 * Pinned: (whenMs, seq) order with equal deadlines FIFO, lazy cancellation
 * and its bookkeeping, compaction once cancelled entries dominate a heap
 * bigger than COMPACT_MIN_SIZE, popExpired's inclusive boundary, runs (one
 * per key, entries out of order starting fresh runs, the bound on open
 * keys, filtering on compaction), and a fast-check model test against a sorted array with
 * validate() after every operation.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import { COMPACT_MIN_SIZE, MAX_RUN_KEYS, TimerHeap, type TimerEntry } from '../../src/core/timer-heap.js';

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

test('timers pushed with the same key in deadline order share one slot: a run', () => {
  const heap = new TimerHeap<Entry>();
  // A loop at times 0, 1, 2 scheduling 10 ms and 3 ms delays (the key is the delay).
  const pushes: [Entry, number][] = [
    [entry(10, 'a10'), 10],
    [entry(3, 'a3'), 3],
    [entry(11, 'b10'), 10],
    [entry(4, 'b3'), 3],
    [entry(12, 'c10'), 10],
    [entry(5, 'c3'), 3],
  ];
  for (const [e, key] of pushes) heap.push(e, key);
  heap.validate();
  assert.deepEqual([heap.size, heap.slotCount], [6, 2]);
  assert.equal(heap.peek()?.label, 'a3');
  assert.deepEqual(drain(heap), ['a3', 'b3', 'c3', 'a10', 'b10', 'c10']);
  assert.equal(heap.slotCount, 0);
  assert.ok(pushes.every(([e]) => !e.scheduled), 'entries leave unscheduled');
});

test('keys that are not whole numbers (NaN, fractions) and no key at all make a slot per timer', () => {
  const heap = new TimerHeap<Entry>();
  heap.push(entry(1, 'nan'), NaN);
  heap.push(entry(2, 'fraction'), 0.5);
  heap.push(entry(3, 'fraction-again'), 0.5);
  heap.push(entry(4, 'none'));
  heap.validate();
  assert.deepEqual([heap.size, heap.slotCount], [4, 4]);
  assert.deepEqual(drain(heap), ['nan', 'fraction', 'fraction-again', 'none']);
});

test(`past MAX_RUN_KEYS (${MAX_RUN_KEYS}) open runs, a new key's timers are single slots; a key freed by its run ending gets runs again`, () => {
  const heap = new TimerHeap<Entry>();
  for (let key = 0; key < MAX_RUN_KEYS; key++) heap.push(entry(key, `k${key}`), key);
  assert.equal(heap.slotCount, MAX_RUN_KEYS);
  heap.push(entry(MAX_RUN_KEYS, 'extra-1'), MAX_RUN_KEYS);
  heap.push(entry(MAX_RUN_KEYS + 1, 'extra-2'), MAX_RUN_KEYS);
  assert.equal(heap.slotCount, MAX_RUN_KEYS + 2, 'no run for the key past the bound');
  heap.push(entry(MAX_RUN_KEYS + 2, 'joins-k0'), 0);
  assert.equal(heap.slotCount, MAX_RUN_KEYS + 2, 'an open key still gets appended to');
  heap.validate();
  // Popping k1's only entry closes its run, which frees a key.
  assert.equal(heap.pop()?.label, 'k0');
  assert.equal(heap.pop()?.label, 'k1');
  heap.push(entry(MAX_RUN_KEYS + 3, 'extra-3'), MAX_RUN_KEYS);
  heap.push(entry(MAX_RUN_KEYS + 4, 'extra-4'), MAX_RUN_KEYS);
  heap.validate();
  assert.equal(heap.slotCount, MAX_RUN_KEYS + 2, 'the two new entries share a run: the key is open now');
  const keys = Array.from({ length: MAX_RUN_KEYS - 2 }, (_, i) => `k${i + 2}`);
  assert.deepEqual(drain(heap), [...keys, 'extra-1', 'extra-2', 'joins-k0', 'extra-3', 'extra-4']);
});

test('an entry that would come before the last of its key\'s run starts a fresh run, and order holds (a clock set back)', () => {
  const heap = new TimerHeap<Entry>();
  heap.push(entry(20, 'first'), 5);
  heap.push(entry(8, 'set-back'), 5); // before `first`: cannot follow it
  heap.push(entry(9, 'next'), 5); // follows `set-back`, the key's open run now
  heap.push(entry(20, 'tie'), 5); // equal deadline, later seq: still in order after `next`
  heap.validate();
  assert.deepEqual([heap.size, heap.slotCount], [4, 2]);
  assert.deepEqual(drain(heap), ['set-back', 'next', 'first', 'tie']);
});

test('when the last entry of a run pops, the run leaves the heap and a later push of its key starts a new one', () => {
  const heap = new TimerHeap<Entry>();
  heap.push(entry(1, 'a'), 7);
  assert.equal(heap.pop()?.label, 'a');
  heap.validate(); // no open run is kept for a run that is gone
  heap.push(entry(5, 'b'), 7);
  heap.push(entry(6, 'c'), 7);
  heap.validate();
  assert.deepEqual([heap.size, heap.slotCount], [2, 1]);
  assert.deepEqual(drain(heap), ['b', 'c']);
});

test('a long-lived run drops what it popped: a key used for 10,000 timers, popped as they come, keeps the heap valid and in order', () => {
  const heap = new TimerHeap<Entry>();
  const got: string[] = [];
  let clock = 0;
  for (let i = 0; i < 10_000; i++) {
    heap.push(entry(clock + 30, `t${i}`), 30);
    clock += 1;
    heap.popExpired(clock, (e) => got.push(e.label));
  }
  heap.validate();
  assert.equal(heap.slotCount, 1);
  heap.popExpired(Infinity, (e) => got.push(e.label));
  assert.deepEqual(got, Array.from({ length: 10_000 }, (_, i) => `t${i}`));
});

test('compaction filters runs: cancelled entries go, an emptied run leaves, and a later push of its key opens a new run', () => {
  const heap = new TimerHeap<Entry>();
  const kept: Entry[] = [];
  const doomed: Entry[] = [];
  for (let i = 0; i < 2 * COMPACT_MIN_SIZE; i++) {
    const e = entry(i, `r${i}`);
    heap.push(e, 1);
    (i % 2 === 0 ? kept : doomed).push(e);
  }
  const emptied = entry(5000, 'emptied');
  heap.push(emptied, 2);
  for (const e of doomed) cancel(heap, e);
  assert.equal(heap.cancelledCount, COMPACT_MIN_SIZE);
  cancel(heap, emptied); // more than half now: compaction runs
  heap.validate();
  assert.deepEqual([heap.size, heap.cancelledCount, heap.slotCount], [COMPACT_MIN_SIZE, 0, 1]);
  assert.ok([...doomed, emptied].every((e) => !e.scheduled));
  heap.push(entry(6000, 'after-1'), 1);
  heap.push(entry(6001, 'after-2'), 2);
  heap.validate();
  assert.deepEqual(drain(heap), [...kept.map((e) => e.label), 'after-1', 'after-2']);
});

test('validate() detects a run out of order', () => {
  const heap = new TimerHeap<Entry>();
  const a = entry(1, 'a');
  const b = entry(2, 'b');
  heap.push(a, 2);
  heap.push(b, 2);
  heap.validate();
  b.whenMs = 0; // corrupt: b now comes before a, but follows it in the run
  assert.throws(() => heap.validate(), /the run in slot 0 is out of order/);
});

test('TimerHeap matches a sorted-array model under random push/cancel/pop/popExpired (fast-check; validate() after every op)', () => {
  // Two ways to push: 'push' gives any deadline and any key (or none), so a
  // key's entries often come out of order and must start runs of their own;
  // 'pushDelay' is the loop's way, deadline = clock + delay with the delay as
  // the key on a clock that only moves forward ('advance'), so runs grow long.
  type Op =
    | { kind: 'push'; whenMs: number; key: number | null }
    | { kind: 'pushDelay'; delayMs: number }
    | { kind: 'advance'; byMs: number }
    | { kind: 'cancel'; pick: number }
    | { kind: 'pop' }
    | { kind: 'popExpired'; nowMs: number }
    | { kind: 'nextDeadline' }
    | { kind: 'pushMany'; count: number; whenMs: number; delayMs: number | null };
  const key = fc.option(fc.integer({ min: 0, max: 3 }), { nil: null });
  const delay = fc.constantFrom(0, 5, 10, 20);
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('push' as const), whenMs: fc.integer({ min: 0, max: 30 }), key }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('pushDelay' as const), delayMs: delay }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), byMs: fc.integer({ min: 0, max: 5 }) }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('pop' as const) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('popExpired' as const), nowMs: fc.integer({ min: 0, max: 40 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('nextDeadline' as const) }) },
    // Bursts make heaps big enough (> COMPACT_MIN_SIZE) for compaction to happen.
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('pushMany' as const),
        count: fc.integer({ min: 20, max: 80 }),
        whenMs: fc.integer({ min: 0, max: 30 }),
        delayMs: fc.option(delay, { nil: null }),
      }),
    },
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
      const heap = new TimerHeap<Entry>();
      const all: Entry[] = [];
      let seq = 0;
      let clockMs = 0;
      /** Live entries still in the heap, sorted by (whenMs, seq). */
      let model: Entry[] = [];
      const sortModel = (): void => void model.sort((a, b) => a.whenMs - b.whenMs || a.seq - b.seq);
      const push = (whenMs: number, runKey: number): void => {
        const e: Entry = { whenMs, seq: seq++, isCancelled: false, scheduled: false, label: `s${seq}` };
        all.push(e);
        heap.push(e, runKey);
        model.push(e);
        sortModel();
      };
      for (const o of ops) {
        switch (o.kind) {
          case 'push':
            push(o.whenMs, o.key ?? NaN);
            break;
          case 'pushDelay':
            push(clockMs + o.delayMs, o.delayMs);
            break;
          case 'advance':
            clockMs += o.byMs;
            break;
          case 'pushMany':
            for (let i = 0; i < o.count; i++) {
              if (o.delayMs === null) push(o.whenMs + (i % 7), NaN);
              else push((clockMs += i % 2) + o.delayMs, o.delayMs);
            }
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
