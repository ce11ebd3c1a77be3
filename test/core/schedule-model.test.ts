/**
 * The loop's scheduling semantics, checked against a reference model.
 *
 * fast-check generates random programs of callSoon / callLater / callAt
 * (with random priorities), cancel, clock advances and runOnce steps; each
 * scheduled callback may itself schedule or cancel something when it runs.
 * A deliberately naive model — plain arrays, timers sorted by (time,
 * insertion order), one array per lane — predicts the exact execution log
 * (which callback ran, at what virtual time). The real loop, on a virtual
 * clock, must produce exactly that log.
 *
 * The model states the rules in one place:
 *  - runOnce: if nothing is ready and blocking is allowed, virtual time jumps
 *    to the earliest live timer; every timer due by then joins the back of
 *    its lane in (time, insertion) order; then exactly the callbacks ready at
 *    that point run, lane by lane, FIFO within a lane; cancelled ones are
 *    skipped; anything scheduled meanwhile waits for a later runOnce;
 *  - a lane below critical whose turn comes while a lane above it holds
 *    anything (queued during this tick) is held back for the next runOnce —
 *    at most STARVATION_BOUNDS[lane].maxDeferredTicks times in a row, or
 *    until maxDeferredMs have passed since it was first held back.
 *
 * Two hand-written programs with spelled-out logs pin the model itself.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import type { VirtualClock } from '../../src/core/clock.js';
import type { Handle } from '../../src/core/handle.js';
import { laneOf, PRIORITIES, STARVATION_BOUNDS, type Priority, type StarvationBound } from '../../src/core/priority.js';
import { assertLoopClean } from '../../src/testing.js';
import { EventLoop } from '../../src/tasks/event-loop.js';

// ------------------------------------------------------------ the programs

/** What a callback does when it runs, besides logging itself. */
type Child =
  | { kind: 'none' }
  | { kind: 'soon'; priority: Priority }
  | { kind: 'later'; delayMs: number; priority: Priority }
  | { kind: 'cancel'; target: number };

type Step =
  | { kind: 'soon'; priority: Priority; child: Child }
  | { kind: 'later'; delayMs: number; priority: Priority; child: Child }
  | { kind: 'at'; whenMs: number; priority: Priority; child: Child }
  | { kind: 'cancel'; target: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'runOnce'; block: boolean };

const priority = fc.constantFrom(...PRIORITIES);
const child: fc.Arbitrary<Child> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('soon' as const), priority }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('later' as const), delayMs: fc.integer({ min: -2, max: 30 }), priority }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), target: fc.nat({ max: 1000 }) }) },
);
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('soon' as const), priority, child }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('later' as const), delayMs: fc.integer({ min: -3, max: 40 }), priority, child }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('at' as const), whenMs: fc.integer({ min: 0, max: 80 }), priority, child }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel' as const), target: fc.nat({ max: 1000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 25 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('runOnce' as const), block: fc.boolean() }) },
);

interface Outcome {
  log: string[];
  finalTimeMs: number;
}

/** Plenty for any generated program; a runaway drain fails instead of hanging. */
const MAX_DRAIN_TICKS = 10_000;

// --------------------------------------------------------------- the model

interface ModelTimer {
  whenMs: number;
  order: number;
  id: number;
}

class Model {
  nowMs = 0;
  readonly lanes: number[][] = PRIORITIES.map(() => []);
  /** Live timers not yet due (cancelled ones are removed at once). */
  timers: ModelTimer[] = [];
  readonly cancelled = new Set<number>();
  readonly entries: { lane: number; child: Child }[] = [];
  readonly log: string[] = [];
  #timerOrder = 0;
  readonly #deferredTicks = PRIORITIES.map(() => 0);
  readonly #deferredSinceMs = PRIORITIES.map(() => 0);

  get readyCount(): number {
    return this.lanes.reduce((sum, lane) => sum + lane.length, 0);
  }

  hasWork(): boolean {
    return this.readyCount > 0 || this.timers.length > 0;
  }

  schedule(kind: 'soon' | 'timer', whenMs: number, p: Priority, c: Child): void {
    const id = this.entries.length;
    const lane = laneOf(p);
    this.entries.push({ lane, child: c });
    if (kind === 'soon') (this.lanes[lane] as number[]).push(id);
    else this.timers.push({ whenMs, order: this.#timerOrder++, id });
  }

  cancel(target: number): void {
    if (this.entries.length === 0) return;
    const id = target % this.entries.length;
    this.cancelled.add(id);
    this.timers = this.timers.filter((t) => t.id !== id);
  }

  runOnce(timeoutMs: number): void {
    const byTime = (a: ModelTimer, b: ModelTimer): number => a.whenMs - b.whenMs || a.order - b.order;
    if (this.readyCount === 0 && timeoutMs > 0 && this.timers.length > 0) {
      const next = [...this.timers].sort(byTime)[0] as ModelTimer;
      if (next.whenMs > this.nowMs && next.whenMs - this.nowMs <= timeoutMs) this.nowMs = next.whenMs;
    }
    const due = this.timers.filter((t) => t.whenMs <= this.nowMs).sort(byTime);
    this.timers = this.timers.filter((t) => t.whenMs > this.nowMs);
    for (const t of due) (this.lanes[(this.entries[t.id] as { lane: number }).lane] as number[]).push(t.id);
    const counts = this.lanes.map((lane) => lane.length);
    counts.forEach((count, lane) => {
      if (count > 0 && lane > 0 && this.lanes.slice(0, lane).some((above) => above.length > 0) && this.#mayDefer(lane)) return;
      this.#deferredTicks[lane] = 0;
      for (let n = 0; n < count; n++) {
        const id = (this.lanes[lane] as number[]).shift() as number;
        if (this.cancelled.has(id)) continue;
        this.log.push(`${id}@${this.nowMs}`);
        this.#perform((this.entries[id] as { child: Child }).child);
      }
    });
  }

  #mayDefer(lane: number): boolean {
    const bound = STARVATION_BOUNDS[lane] as StarvationBound;
    const deferred = this.#deferredTicks[lane] as number;
    if (deferred >= bound.maxDeferredTicks) return false;
    if (deferred === 0) this.#deferredSinceMs[lane] = this.nowMs;
    else if (this.nowMs - (this.#deferredSinceMs[lane] as number) >= bound.maxDeferredMs) return false;
    this.#deferredTicks[lane] = deferred + 1;
    return true;
  }

  #perform(c: Child): void {
    if (c.kind === 'soon') this.schedule('soon', 0, c.priority, { kind: 'none' });
    else if (c.kind === 'later') this.schedule('timer', this.nowMs + c.delayMs, c.priority, { kind: 'none' });
    else if (c.kind === 'cancel') this.cancel(c.target);
  }
}

function runModel(program: Step[]): Outcome {
  const model = new Model();
  for (const s of program) {
    switch (s.kind) {
      case 'soon':
        model.schedule('soon', 0, s.priority, s.child);
        break;
      case 'later':
        model.schedule('timer', model.nowMs + s.delayMs, s.priority, s.child);
        break;
      case 'at':
        model.schedule('timer', s.whenMs, s.priority, s.child);
        break;
      case 'cancel':
        model.cancel(s.target);
        break;
      case 'advance':
        model.nowMs += s.ms;
        break;
      case 'runOnce':
        model.runOnce(s.block && model.hasWork() ? Infinity : 0);
        break;
    }
  }
  for (let ticks = 0; model.hasWork(); ticks++) {
    assert.ok(ticks < MAX_DRAIN_TICKS, 'model drain ran away');
    model.runOnce(Infinity);
  }
  return { log: model.log, finalTimeMs: model.nowMs };
}

// ---------------------------------------------------------------- the loop

function runLoop(program: Step[]): Outcome {
  const loop = new EventLoop({ clock: 'virtual' });
  const clock = loop.clock as VirtualClock;
  const handles: Handle[] = [];
  const log: string[] = [];
  const hasWork = (): boolean => {
    const stats = loop.statistics();
    return stats.ready > 0 || stats.timers > 0;
  };
  const cancel = (target: number): void => {
    if (handles.length > 0) (handles[target % handles.length] as Handle).cancel();
  };
  const callbackFor = (id: number, c: Child) => (): void => {
    log.push(`${id}@${loop.time()}`);
    if (c.kind === 'soon') handles.push(loop.callSoon(callbackFor(handles.length, { kind: 'none' }), { priority: c.priority }));
    else if (c.kind === 'later') handles.push(loop.callLater(c.delayMs, callbackFor(handles.length, { kind: 'none' }), { priority: c.priority }));
    else if (c.kind === 'cancel') cancel(c.target);
  };
  for (const s of program) {
    switch (s.kind) {
      case 'soon':
        handles.push(loop.callSoon(callbackFor(handles.length, s.child), { priority: s.priority }));
        break;
      case 'later':
        handles.push(loop.callLater(s.delayMs, callbackFor(handles.length, s.child), { priority: s.priority }));
        break;
      case 'at':
        handles.push(loop.callAt(s.whenMs, callbackFor(handles.length, s.child), { priority: s.priority }));
        break;
      case 'cancel':
        cancel(s.target);
        break;
      case 'advance':
        clock.advance(s.ms);
        break;
      case 'runOnce':
        // Blocking is only asked for when something is pending: with nothing
        // at all, a blocking runOnce would wait for the outside world forever.
        loop.runOnce(s.block && hasWork() ? Infinity : 0);
        break;
    }
  }
  for (let ticks = 0; hasWork(); ticks++) {
    assert.ok(ticks < MAX_DRAIN_TICKS, 'loop drain ran away');
    loop.runOnce();
  }
  const outcome = { log, finalTimeMs: loop.time() };
  assertLoopClean(loop);
  return outcome;
}

// ------------------------------------------------------------------- tests

test('the model itself: a hand-written program gives the log spelled out here (lanes, FIFO, equal deadlines, batches)', () => {
  const none: Child = { kind: 'none' };
  const program: Step[] = [
    { kind: 'later', delayMs: 10, priority: 'normal', child: none }, // 0
    { kind: 'soon', priority: 'low', child: { kind: 'soon', priority: 'critical' } }, // 1 → schedules 6
    { kind: 'at', whenMs: 10, priority: 'normal', child: none }, // 2: same deadline as 0, after it
    { kind: 'soon', priority: 'critical', child: none }, // 3
    { kind: 'later', delayMs: 10, priority: 'high', child: none }, // 4
    { kind: 'soon', priority: 'normal', child: { kind: 'cancel', target: 4 } }, // 5 cancels 4
    { kind: 'runOnce', block: true },
    { kind: 'runOnce', block: true },
    { kind: 'runOnce', block: true },
  ];
  const expected: Outcome = { log: ['3@0', '5@0', '1@0', '6@0', '0@10', '2@10'], finalTimeMs: 10 };
  assert.deepEqual(runModel(program), expected);
  assert.deepEqual(runLoop(program), expected);
});

test('the model itself: runOnce without blocking never jumps time; advance makes timers due; a late cancel of a due timer still skips it', () => {
  const none: Child = { kind: 'none' };
  const program: Step[] = [
    { kind: 'later', delayMs: 5, priority: 'idle', child: none }, // 0
    { kind: 'later', delayMs: 5, priority: 'critical', child: { kind: 'cancel', target: 0 } }, // 1 cancels 0 in the same batch
    { kind: 'runOnce', block: false },
    { kind: 'advance', ms: 7 },
    { kind: 'at', whenMs: 3, priority: 'normal', child: { kind: 'later', delayMs: 0, priority: 'normal' } }, // 2 → 3 at 7
    { kind: 'runOnce', block: false },
  ];
  const expected: Outcome = { log: ['1@7', '2@7', '3@7'], finalTimeMs: 7 };
  assert.deepEqual(runModel(program), expected);
  assert.deepEqual(runLoop(program), expected);
});

test('random schedule/cancel/priority/runOnce programs: the loop produces exactly the log the reference model predicts (fast-check)', () => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 60 }), (program) => {
      assert.deepEqual(runLoop(program), runModel(program));
    }),
    { numRuns: 400 },
  );
});
