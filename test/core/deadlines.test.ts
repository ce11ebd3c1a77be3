/**
 * Deadlines (issue 4): `{deadlineMs}` on callSoon / callLater / callAt /
 * callSoonThreadsafe orders handles earliest-deadline-first within their
 * lane, ahead of handles without one; a handle that still runs late is
 * counted (statistics().deadlinesMissed) and reported (the `deadlineMissed`
 * instrument hook). The DeadlineQueue behind it is checked against a model
 * with fast-check. Tasks take `{deadlineMs}` too: each wake-up's step is
 * queued with that deadline.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import type { VirtualClock } from '../../src/core/clock.js';
import { DeadlineQueue } from '../../src/core/deadline-queue.js';
import type { Handle } from '../../src/core/handle.js';
import { LANE_COUNT } from '../../src/core/priority.js';
import { ReadyQueue } from '../../src/core/ready-queue.js';
import { assertLoopClean } from '../../src/testing.js';
import { EventLoop } from '../../src/tasks/event-loop.js';
import { sleep } from '../../src/tasks/operation.js';
import { Log } from '../log.js';

function virtualLoop(): EventLoop {
  return new EventLoop({ clock: 'virtual' });
}

// ------------------------------------------------------------- ordering

test('within a lane, deadlines run earliest first, ahead of callbacks without one, which stay FIFO', () => {
  const loop = virtualLoop();
  const log = new Log();
  loop.callSoon(() => log.push('plain 1'));
  loop.callSoon(() => log.push('d30'), { deadlineMs: 30 });
  loop.callSoon(() => log.push('plain 2'));
  loop.callSoon(() => log.push('d10'), { deadlineMs: 10 });
  loop.callSoon(() => log.push('d20'), { deadlineMs: 20 });
  loop.runOnce(0);
  log.assert(['d10', 'd20', 'd30', 'plain 1', 'plain 2']);
  assert.equal(loop.statistics().deadlinesMissed, 0);
  assertLoopClean(loop);
});

test('equal deadlines run in the order they became ready', () => {
  const loop = virtualLoop();
  const log = new Log();
  for (const name of ['a', 'b', 'c']) loop.callSoon(() => log.push(name), { deadlineMs: 5 });
  loop.runOnce(0);
  log.assert(['a', 'b', 'c']);
  assertLoopClean(loop);
});

test('a deadline never crosses lanes: a critical callback without one runs before a normal one due now', () => {
  const loop = virtualLoop();
  const log = new Log();
  loop.callSoon(() => log.push('normal, deadline 0'), { deadlineMs: 0 });
  loop.callSoon(() => log.push('critical'), { priority: 'critical' });
  loop.callSoon(() => log.push('idle, deadline 0'), { priority: 'idle', deadlineMs: 0 });
  loop.runOnce(0);
  log.assert(['critical', 'normal, deadline 0', 'idle, deadline 0']);
  assertLoopClean(loop);
});

test('a deadline callback scheduled during a batch waits for the next tick: rescheduling itself cannot starve its lane', () => {
  const loop = virtualLoop();
  const log = new Log();
  let rounds = 0;
  const again = (): void => {
    log.push(`deadline ${rounds}`);
    if (++rounds < 3) loop.callSoon(again, { deadlineMs: 1 });
  };
  loop.callSoon(again, { deadlineMs: 1 });
  loop.callSoon(() => log.push('plain A'));
  loop.callSoon(() => log.push('plain B'));
  loop.runOnce(0);
  log.assert(['deadline 0', 'plain A', 'plain B']);
  loop.runOnce(0);
  log.assert(['deadline 1']);
  loop.runOnce(0);
  log.assert(['deadline 2']);
  assertLoopClean(loop);
});

test('a timer deadline counts from its time: timers due together run by deadline within their lane', () => {
  const loop = virtualLoop();
  const log = new Log();
  loop.callLater(10, () => log.push('no deadline'));
  loop.callLater(10, () => log.push('deadline +8'), { deadlineMs: 8 });
  loop.callAt(10, () => log.push('deadline +2'), { deadlineMs: 2 });
  const timer = loop.callLater(10, () => log.push('never'), { deadlineMs: 1 });
  assert.equal(timer.deadlineAt, 11);
  timer.cancel();
  loop.runOnce(); // the virtual clock jumps to 10
  log.assert(['deadline +2', 'deadline +8', 'no deadline']);
  assert.equal(loop.statistics().deadlinesMissed, 0, 'a cancelled deadline handle is not a miss');
  assertLoopClean(loop);
});

test('callSoonThreadsafe takes a deadline too', () => {
  const loop = virtualLoop();
  const log = new Log();
  loop.callSoon(() => log.push('plain'), { priority: 'high' });
  loop.callSoonThreadsafe(() => log.push('threadsafe, deadline'), { priority: 'high', deadlineMs: 3 });
  loop.runOnce(0);
  log.assert(['threadsafe, deadline', 'plain']);
  assertLoopClean(loop);
});

// ------------------------------------------------------ missed deadlines

test('a callback that runs after its deadline is counted and reported to instruments with how late it was', () => {
  const loop = virtualLoop();
  const clock = loop.clock as VirtualClock;
  const log = new Log();
  const misses: [string, number][] = [];
  loop.addInstrument({ deadlineMissed: (handle: Handle, lateMs: number) => void misses.push([String(handle), lateMs]) });
  loop.callSoon(function slow() {
    log.push('slow');
    clock.advance(10);
  }, { deadlineMs: 0 });
  loop.callSoon(function onTime() {
    log.push('on time');
  }, { deadlineMs: 20 });
  loop.callSoon(function late() {
    log.push('late');
  }, { deadlineMs: 4 });
  loop.runOnce(0);
  // Order by deadline: slow (0), late (4), on time (20); late ran at t=10.
  log.assert(['slow', 'late', 'on time']);
  assert.deepEqual(misses, [['<Handle late>', 6]]);
  assert.equal(loop.statistics().deadlinesMissed, 1);
  assertLoopClean(loop);
});

test('a lane held back by higher work misses a tight deadline, and the miss is counted, not absorbed', () => {
  const loop = new EventLoop({ clock: 'virtual', sliceMs: Infinity });
  const clock = loop.clock as VirtualClock;
  let pumps = 0;
  const pump = (): void => {
    clock.advance(2);
    if (++pumps < 4) loop.callSoon(pump, { priority: 'critical' });
  };
  loop.callSoon(pump, { priority: 'critical' });
  loop.callSoon(() => {}, { priority: 'low', deadlineMs: 1 });
  for (let i = 0; i < 6; i++) loop.runOnce(0);
  assert.equal(loop.statistics().deadlinesMissed, 1);
  assertLoopClean(loop);
});

// ------------------------------------------------------------ bad input

test('deadlineMs must be a finite number >= 0; a refused call schedules nothing and the loop goes on', () => {
  const loop = virtualLoop();
  const log = new Log();
  loop.callSoon(() => log.push('survivor'));
  for (const bad of [-1, NaN, Infinity, '5', null]) {
    assert.throws(() => loop.callSoon(() => log.push('bad'), { deadlineMs: bad as never }), {
      name: 'RangeError',
      message: new RegExp(`callSoon: deadlineMs must be a finite number >= 0, got `),
    });
  }
  assert.throws(() => loop.callLater(5, () => log.push('bad'), { deadlineMs: -3 }), { name: 'RangeError', message: /callLater: deadlineMs .* got -3/ });
  assert.throws(() => loop.callAt(5, () => log.push('bad'), { deadlineMs: NaN }), { name: 'RangeError', message: /callAt: deadlineMs .* got NaN/ });
  assert.deepEqual([loop.statistics().ready, loop.statistics().timers], [1, 0]);
  loop.runOnce(0);
  log.assert(['survivor']);
  assertLoopClean(loop);
});

// ------------------------------------------------- the queues, by model

type Op = { kind: 'push'; lane: number; deadline: number | null } | { kind: 'admit' } | { kind: 'shift'; lane: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('push' as const), lane: fc.nat({ max: LANE_COUNT - 1 }), deadline: fc.option(fc.integer({ min: 0, max: 20 })) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'admit' as const }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('shift' as const), lane: fc.nat({ max: LANE_COUNT - 1 }) }) },
);

interface Item {
  lane: number;
  deadlineAt: number;
  id: number;
}

test('property: ReadyQueue gives, per lane, admitted deadlines by (deadline, arrival), then the rest FIFO; new deadline items wait for admit (fast-check)', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
      const queue = new ReadyQueue<Item>();
      // The model: per lane, a FIFO list, an admitted deadline list and an incoming list.
      const fifo: Item[][] = Array.from({ length: LANE_COUNT }, () => []);
      const admitted: Item[][] = Array.from({ length: LANE_COUNT }, () => []);
      const incoming: Item[][] = Array.from({ length: LANE_COUNT }, () => []);
      let id = 0;
      for (const o of ops) {
        if (o.kind === 'push') {
          const item = { lane: o.lane, deadlineAt: o.deadline ?? Infinity, id: id++ };
          queue.push(item);
          (o.deadline === null ? fifo : incoming)[o.lane]?.push(item);
        } else if (o.kind === 'admit') {
          queue.admitDeadlines();
          for (let lane = 0; lane < LANE_COUNT; lane++) {
            const merged = [...(admitted[lane] as Item[]), ...(incoming[lane] as Item[])];
            // Stable sort: equal deadlines keep arrival order.
            admitted[lane] = merged.sort((a, b) => a.deadlineAt - b.deadlineAt);
            incoming[lane] = [];
          }
        } else {
          const expected = (admitted[o.lane] as Item[]).shift() ?? (fifo[o.lane] as Item[]).shift();
          assert.equal(queue.shiftFrom(o.lane)?.id, expected?.id);
        }
        let total = 0;
        for (let lane = 0; lane < LANE_COUNT; lane++) {
          const laneTotal = (fifo[lane] as Item[]).length + (admitted[lane] as Item[]).length + (incoming[lane] as Item[]).length;
          assert.equal(queue.laneLength(lane), laneTotal);
          assert.equal(queue.admittedDeadlines(lane), (admitted[lane] as Item[]).length);
          total += laneTotal;
        }
        assert.equal(queue.length, total);
      }
      // Iteration lists every item, in run order within a lane.
      const listed = [...queue].map((item) => item.id);
      const expectedOrder = fifo.flatMap((lane, i) => [...(admitted[i] as Item[]), ...(incoming[i] as Item[]), ...lane]).map((item) => item.id);
      assert.deepEqual(listed, expectedOrder);
      assert.deepEqual(queue.drain().map((item) => item.id), expectedOrder);
      assert.equal(queue.length, 0);
    }),
    { numRuns: 300 },
  );
});

test('DeadlineQueue: shift takes only admitted items; clear empties both parts', () => {
  const queue = new DeadlineQueue<{ deadlineAt: number; name: string }>();
  queue.push({ deadlineAt: 5, name: 'five' });
  assert.equal(queue.shift(), undefined);
  assert.deepEqual([queue.length, queue.admitted], [1, 0]);
  queue.admit();
  queue.push({ deadlineAt: 1, name: 'one (incoming)' });
  assert.equal(queue.shift()?.name, 'five');
  queue.admit();
  queue.push({ deadlineAt: 0, name: 'zero' });
  queue.clear();
  assert.deepEqual([queue.length, queue.admitted, queue.shift()], [0, 0, undefined]);
});

// ---------------------------------------------------------- task deadlines

test('a task with {deadlineMs} runs its wake-ups earliest-deadline-first within its lane, ahead of tasks without one', async () => {
  const loop = virtualLoop();
  const log = new Log();
  const body = (name: string) =>
    function* () {
      for (let i = 0; i < 2; i++) {
        log.push(`${name} ${i}`);
        yield* sleep(0);
      }
    };
  const plain = loop.createTask(body('plain'));
  const loose = loop.createTask(body('loose'), { deadlineMs: 50 });
  const tight = loop.createTask(body('tight'), { deadlineMs: 5 });
  assert.deepEqual([plain.deadlineMs, loose.deadlineMs, tight.deadlineMs], [undefined, 50, 5]);
  await loop.runUntilComplete(plain); // plain runs last in every tick: the others are done too
  assert.deepEqual([loose.done(), tight.done()], [true, true]);
  log.assert(['tight 0', 'loose 0', 'plain 0', 'tight 1', 'loose 1', 'plain 1']);
  assert.equal(loop.statistics().deadlinesMissed, 0);
  assertLoopClean(loop);
});

test("a task's wake-up from a future and from a sleep carry its deadline; a late one is counted", async () => {
  const loop = virtualLoop();
  const clock = loop.clock as VirtualClock;
  const log = new Log();
  const future = loop.createFuture<string>();
  const waiter = loop.createTask(function* () {
    log.push(`got ${yield* future}`);
    yield* sleep(10);
    log.push(`slept until ${loop.time()}`);
  }, { deadlineMs: 2 });
  loop.runOnce(0); // the first step: waiter now waits on the future
  loop.callSoon(() => log.push('plain callback'));
  future.setResult('x'); // queues waiter's step now, with deadline now + 2
  loop.runOnce(0);
  log.assert(['got x', 'plain callback']);
  loop.callLater(10, () => clock.advance(5), { deadlineMs: 0 }); // due with the sleep, runs first (earlier deadline), makes the step late
  await loop.runUntilComplete(waiter);
  log.assert(['slept until 15']);
  assert.equal(loop.statistics().deadlinesMissed, 1);
  assertLoopClean(loop);
});

test('createTask refuses a bad deadlineMs with a RangeError and creates nothing', () => {
  const loop = virtualLoop();
  for (const bad of [-1, NaN, Infinity, '3']) {
    assert.throws(
      () => loop.createTask(function* () {}, { deadlineMs: bad as never }),
      { name: 'RangeError', message: /createTask: deadlineMs must be a finite number >= 0, got / },
    );
  }
  assert.deepEqual([loop.allTasks().length, loop.statistics().ready], [0, 0]);
  assertLoopClean(loop);
});
