/**
 * Starvation bounds (issue 4): a higher lane goes first, but every lower
 * lane still progresses under a permanent higher-priority load, within the
 * bound stated beside the lane (STARVATION_BOUNDS in src/core/priority.ts,
 * overridable with the `starvationBounds` loop option).
 *
 * Everything runs on a virtual clock, ticks driven by hand with runOnce(0),
 * so each bound is checked exactly, in ticks and in virtual ms:
 *  - a handle ready in lane L at the end of tick k runs by the end of tick
 *    k + 1 + maxDeferredTicks[L];
 *  - it runs no later than maxDeferredMs[L] + two ticks after it became
 *    ready (the lane is first held back at its turn in the next tick; once
 *    that long has passed, it runs at its turn in the tick after);
 *  - a lane with nothing above it is never held back;
 *  - FIFO within a lane holds throughout.
 * fast-check generates the workloads: which lanes, when items arrive, how
 * much critical work each tick has and how much virtual time it takes.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import type { VirtualClock } from '../../src/core/clock.js';
import { PRIORITIES, STARVATION_BOUNDS, type Priority, type StarvationBound } from '../../src/core/priority.js';
import { assertLoopClean } from '../../src/testing.js';
import { EventLoop } from '../../src/tasks/event-loop.js';
import { Log } from '../log.js';

type LowerPriority = Exclude<Priority, 'critical'>;
const LOWER: readonly LowerPriority[] = ['high', 'normal', 'low', 'idle'];

function virtualLoop(options: ConstructorParameters<typeof EventLoop>[0] = {}): EventLoop {
  // No preemption: the bounds are a property of the tick policy alone.
  return new EventLoop({ sliceMs: Infinity, ...options, clock: 'virtual' });
}

/**
 * A permanent critical load: `perTick` critical callbacks that each
 * reschedule themselves (so the critical lane has work again during every
 * tick) and each move virtual time by `costMs`. Returns a stop function.
 */
function criticalLoad(loop: EventLoop, perTick: number, costMs = 0): () => void {
  let running = true;
  const clock = loop.clock as VirtualClock;
  const pump = (): void => {
    if (costMs > 0) clock.advance(costMs);
    if (running) loop.callSoon(pump, { priority: 'critical' });
  };
  for (let i = 0; i < perTick; i++) loop.callSoon(pump, { priority: 'critical' });
  return () => void (running = false);
}

/** Runs ticks until nothing but the critical load is left (at most `maxTicks`). */
function drainTicks(loop: EventLoop, maxTicks: number, done: () => boolean): number {
  let ticks = 0;
  while (!done()) {
    assert.ok(ticks < maxTicks, `still not done after ${maxTicks} ticks`);
    loop.runOnce(0);
    ticks++;
  }
  return ticks;
}

function finish(loop: EventLoop, stop: () => void): void {
  stop();
  for (let i = 0; i < 1000 && loop.statistics().ready > 0; i++) loop.runOnce(0);
  assertLoopClean(loop);
}

// ------------------------------------------------------- the constants

test('every lane below critical has a finite bound in ticks and ms, growing downwards; critical has none', () => {
  assert.equal(STARVATION_BOUNDS.length, PRIORITIES.length);
  assert.deepEqual(STARVATION_BOUNDS[0], { maxDeferredTicks: 0, maxDeferredMs: 0 });
  for (let lane = 1; lane < PRIORITIES.length; lane++) {
    const bound = STARVATION_BOUNDS[lane] as StarvationBound;
    const above = STARVATION_BOUNDS[lane - 1] as StarvationBound;
    assert.ok(Number.isInteger(bound.maxDeferredTicks) && bound.maxDeferredTicks > 0, `${PRIORITIES[lane]} ticks`);
    assert.ok(Number.isFinite(bound.maxDeferredMs) && bound.maxDeferredMs > 0, `${PRIORITIES[lane]} ms`);
    assert.ok(bound.maxDeferredTicks >= above.maxDeferredTicks && bound.maxDeferredMs >= above.maxDeferredMs);
  }
  assert.ok(Object.isFrozen(STARVATION_BOUNDS) && Object.isFrozen(STARVATION_BOUNDS[4]));
});

// ------------------------------------------------------ exact examples

test('under a permanent critical load an idle callback runs exactly when its tick bound is used up', () => {
  const loop = virtualLoop();
  const log = new Log();
  const stop = criticalLoad(loop, 1);
  loop.callSoon(() => log.push('idle'), { priority: 'idle' });
  const bound = (STARVATION_BOUNDS[4] as StarvationBound).maxDeferredTicks;
  for (let tick = 1; tick <= bound; tick++) {
    loop.runOnce(0);
    log.assert([]); // held back: the critical lane had work again every tick
  }
  loop.runOnce(0);
  log.assert(['idle']);
  finish(loop, stop);
});

test('a lane with nothing ready above it is never held back, whatever its bound', () => {
  const loop = virtualLoop({ starvationBounds: { idle: { maxDeferredTicks: 1000, maxDeferredMs: 1e9 } } });
  const log = new Log();
  loop.callSoon(() => log.push('critical'), { priority: 'critical' });
  loop.callSoon(() => log.push('idle'), { priority: 'idle' });
  loop.runOnce(0);
  log.assert(['critical', 'idle']);
  assertLoopClean(loop);
});

test('a held-back lane keeps its FIFO order and runs its whole batch once its bound is up', () => {
  const loop = virtualLoop({ starvationBounds: { low: { maxDeferredTicks: 2 } } });
  const log = new Log();
  const stop = criticalLoad(loop, 1);
  for (let i = 0; i < 3; i++) loop.callSoon(() => log.push(`low ${i}`), { priority: 'low' });
  loop.runOnce(0);
  loop.runOnce(0);
  log.assert([]);
  loop.callSoon(() => log.push('low 3 (late)'), { priority: 'low' });
  loop.runOnce(0);
  log.assert(['low 0', 'low 1', 'low 2', 'low 3 (late)']);
  finish(loop, stop);
});

test('the ms bound ends the wait when ticks are long: a lane held back for maxDeferredMs runs in the next tick', () => {
  // Each tick's critical work takes 4 virtual ms; normal may wait 10 ms.
  const loop = virtualLoop({ starvationBounds: { normal: { maxDeferredTicks: 1000, maxDeferredMs: 10 } } });
  const ran: string[] = [];
  const stop = criticalLoad(loop, 1, 4);
  loop.callSoon(() => ran.push(`normal at ${loop.time()}`));
  for (let i = 0; i < 10 && ran.length === 0; i++) loop.runOnce(0);
  // Held back at t=4 (first), 8, 12; at t=16 it has waited 12 >= 10 ms.
  assert.deepEqual(ran, ['normal at 16']);
  finish(loop, stop);
});

test('maxDeferredTicks 0 turns holding back off for a lane: it runs every tick as in the plain tick policy', () => {
  const loop = virtualLoop({ starvationBounds: { normal: { maxDeferredTicks: 0 } } });
  const log = new Log();
  const stop = criticalLoad(loop, 1);
  loop.callSoon(() => log.push('normal'));
  loop.runOnce(0);
  log.assert(['normal']);
  finish(loop, stop);
});

test('a tick cut short by the host (shouldYield) still runs one callback of a lane past its bound', () => {
  const loop = virtualLoop({ starvationBounds: { idle: { maxDeferredTicks: 2 } } });
  let ran: string[] = [];
  for (let i = 0; i < 3; i++) loop.callSoon(() => ran.push(`idle ${i}`), { priority: 'idle' });
  const always = (): boolean => true;
  const seen: string[][] = [];
  for (let tick = 0; tick < 9; tick++) {
    loop.runOnce(0, always);
    seen.push(ran);
    ran = [];
  }
  // Two ticks held back, then one callback; again; again.
  assert.deepEqual(seen, [[], [], ['idle 0'], [], [], ['idle 1'], [], [], ['idle 2']]);
  assertLoopClean(loop);
});

test('starvationBounds: bad options are refused with errors naming what was wrong', () => {
  assert.throws(() => virtualLoop({ starvationBounds: { critical: { maxDeferredTicks: 1 } } as never }), {
    name: 'TypeError',
    message: /"critical" is not a lane below critical/,
  });
  assert.throws(() => virtualLoop({ starvationBounds: { urgent: {} } as never }), { name: 'TypeError', message: /"urgent" is not a lane/ });
  assert.throws(() => virtualLoop({ starvationBounds: { low: { maxDeferredTicks: 1.5 } } }), {
    name: 'RangeError',
    message: /starvationBounds\.low\.maxDeferredTicks must be an integer >= 0, got 1\.5/,
  });
  assert.throws(() => virtualLoop({ starvationBounds: { idle: { maxDeferredMs: Infinity } } }), {
    name: 'RangeError',
    message: /starvationBounds\.idle\.maxDeferredMs must be a finite number >= 0, got Infinity/,
  });
  assert.throws(() => virtualLoop({ starvationBounds: { idle: { maxDefferedMs: 1000 } } as never }), {
    name: 'TypeError',
    message: /starvationBounds\.idle: unknown field "maxDefferedMs" \(use 'maxDeferredTicks' or 'maxDeferredMs'\)/,
  });
  assert.throws(() => virtualLoop({ starvationBounds: { high: null } as never }), { name: 'TypeError', message: /starvationBounds\.high must be an object/ });
  assert.throws(() => virtualLoop({ starvationBounds: 5 as never }), { name: 'TypeError', message: /starvationBounds must be an object/ });
});

// ------------------------------------------------ property-based bounds

interface Arrival {
  /** Ticks run before the item is scheduled (it is ready from the end of that tick on). */
  atTick: number;
  priority: LowerPriority;
}

const arrivals = fc.array(
  fc.record({ atTick: fc.nat({ max: 40 }), priority: fc.constantFrom(...LOWER) }),
  { minLength: 1, maxLength: 30 },
);

/** Runs a workload; returns, per item, the tick and time it was scheduled and ran. */
function runWorkload(
  loop: EventLoop,
  items: readonly Arrival[],
  stop: () => void,
): { scheduledTick: number; ranTick: number; scheduledMs: number; ranMs: number; priority: LowerPriority; index: number }[] {
  const results = items.map((item, index) => ({ ...item, index, scheduledTick: -1, ranTick: -1, scheduledMs: NaN, ranMs: NaN }));
  const order = [...results].sort((a, b) => a.atTick - b.atTick || a.index - b.index);
  let tick = 0;
  let next = 0;
  const ranOrder: number[] = [];
  const schedule = (): void => {
    while (next < order.length && (order[next] as (typeof order)[number]).atTick <= tick) {
      const entry = order[next++] as (typeof order)[number];
      entry.scheduledTick = tick;
      entry.scheduledMs = loop.time();
      loop.callSoon(
        () => {
          entry.ranTick = tick + 1; // runs during the tick being run now
          entry.ranMs = loop.time();
          ranOrder.push(entry.index);
        },
        { priority: entry.priority },
      );
    }
  };
  schedule();
  while (results.some((r) => r.ranTick < 0)) {
    assert.ok(tick < 10_000, 'workload never finished');
    loop.runOnce(0);
    tick++;
    schedule();
  }
  stop();
  for (let i = 0; i < 1000 && loop.statistics().ready > 0; i++) loop.runOnce(0);
  assertLoopClean(loop);
  // FIFO within a lane: items of one lane ran in the order they were scheduled.
  for (const priority of LOWER) {
    const lane = ranOrder.filter((i) => results[i]?.priority === priority);
    const expected = order.filter((r) => r.priority === priority).map((r) => r.index);
    assert.deepEqual(lane, expected, `FIFO in lane ${priority}`);
  }
  return results;
}

test('property: under a permanent critical load every lower item runs within 1 + maxDeferredTicks ticks of becoming ready (fast-check, virtual time)', () => {
  fc.assert(
    fc.property(
      arrivals,
      fc.integer({ min: 1, max: 4 }),
      fc.record({ high: fc.nat({ max: 6 }), normal: fc.nat({ max: 6 }), low: fc.nat({ max: 6 }), idle: fc.nat({ max: 6 }) }),
      (items, perTick, ticks) => {
        const bounds = Object.fromEntries(LOWER.map((p) => [p, { maxDeferredTicks: ticks[p], maxDeferredMs: 1e9 }]));
        const loop = virtualLoop({ starvationBounds: bounds });
        const stop = criticalLoad(loop, perTick);
        for (const r of runWorkload(loop, items, stop)) {
          const waited = r.ranTick - r.scheduledTick;
          assert.ok(waited >= 1 && waited <= 1 + ticks[r.priority], `${r.priority} item waited ${waited} ticks, bound ${ticks[r.priority]}`);
        }
      },
    ),
    { numRuns: 150 },
  );
});

test('property: when ticks take virtual time, every lower item runs within maxDeferredMs plus two ticks of becoming ready (fast-check)', () => {
  fc.assert(
    fc.property(
      arrivals,
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 5 }),
      fc.record({ high: fc.nat({ max: 20 }), normal: fc.nat({ max: 20 }), low: fc.nat({ max: 20 }), idle: fc.nat({ max: 20 }) }),
      (items, perTick, costMs, ms) => {
        const bounds = Object.fromEntries(LOWER.map((p) => [p, { maxDeferredTicks: 1_000_000, maxDeferredMs: ms[p] }]));
        const loop = virtualLoop({ starvationBounds: bounds });
        const stop = criticalLoad(loop, perTick, costMs);
        const tickMs = perTick * costMs; // every tick runs exactly the critical load
        for (const r of runWorkload(loop, items, stop)) {
          const waitedMs = r.ranMs - r.scheduledMs;
          assert.ok(waitedMs <= ms[r.priority] + 2 * tickMs, `${r.priority} item waited ${waitedMs} ms, bound ${ms[r.priority]} + 2 x ${tickMs}`);
        }
      },
    ),
    { numRuns: 150 },
  );
});

test('property: with the default bounds, under bursts of critical work, every lower item runs within its default tick bound (fast-check)', () => {
  fc.assert(
    fc.property(arrivals, fc.array(fc.nat({ max: 5 }), { minLength: 1, maxLength: 50 }), (items, bursts) => {
      const loop = virtualLoop();
      const stop = criticalLoad(loop, 1);
      // Extra critical work arriving from outside between ticks, as I/O would.
      let tick = 0;
      const origRunOnce = loop.runOnce.bind(loop);
      loop.runOnce = (timeoutMs?: number, shouldYield?: () => boolean): void => {
        const extra = bursts[tick++ % bursts.length] as number;
        for (let i = 0; i < extra; i++) loop.callSoon(() => {}, { priority: 'critical' });
        origRunOnce(timeoutMs, shouldYield);
      };
      for (const r of runWorkload(loop, items, stop)) {
        const bound = (STARVATION_BOUNDS[PRIORITIES.indexOf(r.priority)] as StarvationBound).maxDeferredTicks;
        assert.ok(r.ranTick - r.scheduledTick <= 1 + bound, `${r.priority}: ${r.ranTick - r.scheduledTick} ticks`);
      }
    }),
    { numRuns: 100 },
  );
});

test('drainTicks helper sanity: a lower lane with no load above runs in the first tick', () => {
  const loop = virtualLoop();
  let ran = false;
  loop.callSoon(() => void (ran = true), { priority: 'idle' });
  assert.equal(drainTicks(loop, 5, () => ran), 1);
  assertLoopClean(loop);
});
