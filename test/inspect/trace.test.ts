/**
 * The tracer (inspect/trace.ts): the JSON it writes parses, follows the
 * Trace Event format, and has the expected tracks, slices, flows and
 * counters for a known program. A counting clock makes timestamps exact.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventLoop, TraceRecorder, sleep } from '../../src/index.js';
import type { Task, TraceEvent, TraceFile } from '../../src/index.js';
import { assertLoopClean } from '../../src/testing.js';
import { FakeFdSelector } from '../hosts/fake-host.js';

/** A clock that moves 1 ms per reading: every timestamp is distinct and exact. */
function countingClock(): { now(): number } {
  let ms = 0;
  return { now: () => ms++ };
}

/** The known program: main spawns child; child sleeps, settles fut, exits; main then cancels a sleeper. */
async function recordProgram(): Promise<{ trace: TraceFile; main: Task<unknown>; child: Task<unknown>; sleeper: Task<unknown>; loop: EventLoop }> {
  const loop = new EventLoop({ clock: 'virtual' });
  const recorder = new TraceRecorder(loop, { clock: countingClock() });
  let child: Task<unknown> | null = null;
  let sleeper: Task<unknown> | null = null;
  const main = loop.createTask(
    function* () {
      const fut = loop.createFuture<number>();
      child = loop.createTask(
        function* () {
          yield* sleep(5);
          fut.setResult(1);
        },
        { name: 'child' },
      );
      sleeper = loop.createTask(
        function* () {
          yield* sleep(100);
        },
        { name: 'sleeper' },
      );
      loop.callSoon(function plainCallback() {});
      yield* fut;
      sleeper.cancel('enough');
      try {
        yield* sleeper;
      } catch {
        // CancelledError: sleeper was cancelled
      }
    },
    { name: 'main' },
  );
  await loop.runUntilComplete(main);
  recorder.stop();
  assert.equal(loop.instruments().includes(recorder), false);
  const trace = JSON.parse(JSON.stringify(recorder)) as TraceFile;
  return { trace, main, child: child as unknown as Task<unknown>, sleeper: sleeper as unknown as Task<unknown>, loop };
}

function slicesOn(events: TraceEvent[], tid: number, name?: string): TraceEvent[] {
  return events.filter((e) => e.ph === 'X' && e.tid === tid && (name === undefined || e.name === name));
}

function enclosed(events: TraceEvent[], event: TraceEvent): boolean {
  return slicesOn(events, event.tid).some((slice) => (slice.ts as number) <= (event.ts as number) && (event.ts as number) <= (slice.ts as number) + (slice.dur as number));
}

test('the trace is Trace Event JSON: a named track for the loop and for every task, well-formed events', async () => {
  const { trace, main, child, sleeper, loop } = await recordProgram();
  assert.equal(trace.displayTimeUnit, 'ms');
  assert.equal(trace.otherData.droppedEvents, 0);
  const names = new Map(trace.traceEvents.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => [e.tid, e.args?.['name']]));
  assert.equal(names.get(0), 'event loop');
  assert.equal(names.get(main.id), `main #${main.id}`);
  assert.equal(names.get(child.id), `child #${child.id}`);
  assert.equal(names.get(sleeper.id), `sleeper #${sleeper.id}`);
  for (const event of trace.traceEvents) {
    assert.equal(event.pid, 1);
    assert.ok(['X', 'i', 's', 'f', 'C', 'M'].includes(event.ph), `phase ${event.ph}`);
    if (event.ph !== 'M') assert.ok(typeof event.ts === 'number' && event.ts >= 0, `ts of ${JSON.stringify(event)}`);
    if (event.ph === 'X') assert.ok(typeof event.dur === 'number' && event.dur >= 0, `dur of ${JSON.stringify(event)}`);
  }
  assertLoopClean(loop);
});

test("each task's steps are slices on its own track; the loop track has I/O waits, timer phases, ready batches and plain callbacks", async () => {
  const { trace, main, child, sleeper, loop } = await recordProgram();
  const events = trace.traceEvents;
  assert.equal(slicesOn(events, main.id, 'step').length, main.steps);
  assert.equal(slicesOn(events, child.id, 'step').length, child.steps);
  assert.equal(slicesOn(events, sleeper.id, 'step').length, sleeper.steps);
  assert.deepEqual(
    slicesOn(events, child.id, 'step').map((e) => e.args?.['step']),
    [1, 2],
  );
  assert.ok(slicesOn(events, 0, 'io wait').length >= 4);
  assert.ok(slicesOn(events, 0, 'ready batch').length >= 4);
  assert.equal(slicesOn(events, 0, 'timers').length, 1);
  assert.equal(slicesOn(events, 0, 'plainCallback').length, 1);
  // Task steps are not repeated as callbacks on the loop track: its
  // callbacks are plainCallback and runUntilComplete's stop.
  assert.deepEqual(
    slicesOn(events, 0)
      .filter((e) => e.cat === 'callback')
      .map((e) => e.name),
    ['plainCallback', 'stop'],
  );
  const exits = events.filter((e) => e.ph === 'i' && e.name.startsWith('exit')).map((e) => [e.tid, e.name]);
  assert.deepEqual(exits, [
    [child.id, 'exit (finished)'],
    [sleeper.id, 'exit (cancelled)'],
    [main.id, 'exit (finished)'],
  ]);
  assertLoopClean(loop);
});

test("the loop track shows each tick's phases in order: io wait, timers (only in the tick where a timer came due), ready batch; the timer's wake-up starts in its timers slice", async () => {
  const { trace, child, loop } = await recordProgram();
  const events = trace.traceEvents;
  const phases = slicesOn(events, 0)
    .filter((e) => e.cat === 'loop')
    .sort((a, b) => (a.ts as number) - (b.ts as number))
    .map((e) => [e.name, e.ts, e.dur]);
  // The counting clock moves 1 ms (1000 µs) per reading. Tick 3: virtual
  // time jumps to 5 and child's sleep comes due; in the ticks after it the
  // sleeper's timer is pending but not due, so they have no timers slice.
  assert.deepEqual(phases, [
    ['io wait', 2000, 1000],
    ['ready batch', 3000, 2000],
    ['io wait', 5000, 1000],
    ['ready batch', 6000, 4000],
    ['io wait', 10000, 1000],
    ['timers', 12000, 2000],
    ['ready batch', 14000, 3000],
    ['io wait', 17000, 1000],
    ['ready batch', 18000, 4000],
    ['io wait', 22000, 1000],
    ['ready batch', 23000, 4000],
    ['io wait', 27000, 1000],
    ['ready batch', 28000, 3000],
    // main's done-callbacks: runUntilComplete's stop ends the run after this tick
    ['io wait', 31000, 1000],
    ['ready batch', 32000, 2000],
  ]);
  assert.deepEqual(slicesOn(events, 0, 'timers')[0]?.args, { due: 1 });
  const timerWake = events.filter((e) => e.ph === 's' && e.args?.['cause'] === 'timer');
  assert.deepEqual(
    timerWake.map((e) => [e.tid, e.ts]),
    [[0, 13000]],
  );
  const wokenStep = events.find((e) => e.ph === 'f' && e.id === timerWake[0]?.id);
  assert.deepEqual([wokenStep?.tid, wokenStep?.ts], [child.id, 15000]);
  assertLoopClean(loop);
});

test('flow arrows go from the waker to the step it caused, each starting and ending inside a slice', async () => {
  const { trace, main, child, sleeper, loop } = await recordProgram();
  const events = trace.traceEvents;
  const starts = new Map(events.filter((e) => e.ph === 's').map((e) => [e.id, e]));
  const ends = events.filter((e) => e.ph === 'f');
  assert.ok(ends.length > 0);
  for (const end of ends) {
    const start = starts.get(end.id);
    assert.ok(start !== undefined, `flow ${end.id} has a start`);
    assert.ok((start.ts as number) <= (end.ts as number), `flow ${end.id} goes forward in time`);
    assert.equal(end.bp, 'e');
    assert.deepEqual([start.name, start.cat], [end.name, end.cat], 'a flow is matched on id, name and cat');
    assert.ok(enclosed(events, start), `flow start ${JSON.stringify(start)} lies in a slice`);
    assert.ok(enclosed(events, end), `flow end ${JSON.stringify(end)} lies in a slice`);
  }
  /** For each step of `task` that was woken: [the waker's track, the cause]. */
  const wakers = (task: Task<unknown>): [number, string | undefined][] =>
    ends.filter((e) => e.tid === task.id).map((e) => [(starts.get(e.id) as TraceEvent).tid, starts.get(e.id)?.args?.['cause'] as string | undefined]);
  assert.deepEqual(wakers(main), [
    [0, 'spawn'],
    [child.id, 'future'],
    [sleeper.id, 'future'],
  ]);
  assert.deepEqual(wakers(child), [
    [main.id, 'spawn'],
    [0, 'timer'],
  ]);
  assert.deepEqual(wakers(sleeper), [
    [main.id, 'spawn'],
    [main.id, 'cancel'],
  ]);
  const cancel = events.find((e) => e.ph === 'i' && e.cat === 'cancel');
  assert.equal(cancel?.name, `cancel sleeper #${sleeper.id} (task.cancel)`);
  assert.equal(cancel?.tid, main.id);
  assert.deepEqual(cancel?.args, { reason: 'enough', byTask: main.id, via: null });
  assertLoopClean(loop);
});

test('counters sample the ready queue per lane and the pending timers at each batch', async () => {
  const { trace, loop } = await recordProgram();
  const ready = trace.traceEvents.filter((e) => e.ph === 'C' && e.name === 'ready queue');
  const timers = trace.traceEvents.filter((e) => e.ph === 'C' && e.name === 'timers');
  assert.equal(ready.length, timers.length);
  assert.ok(ready.length >= 4);
  assert.deepEqual(Object.keys(ready[0]?.args ?? {}), ['critical', 'high', 'normal', 'low', 'idle']);
  // The first batch runs main's first step only.
  assert.deepEqual(ready[0]?.args, { critical: 0, high: 0, normal: 1, low: 0, idle: 0 });
  assert.ok(timers.some((e) => (e.args?.['pending'] as number) === 2), 'both sleeps pending at some batch');
  assertLoopClean(loop);
});

test('a long trace (many storage chunks) keeps every flow paired with one id, from its waker to its step', async () => {
  const loop = new EventLoop({ clock: 'virtual' });
  const recorder = new TraceRecorder(loop, { clock: countingClock() });
  const task = loop.createTask(
    function* () {
      for (let i = 0; i < 10000; i++) yield* sleep(0);
    },
    { name: 'spinner' },
  );
  await loop.runUntilComplete(task);
  recorder.stop();
  assert.ok(recorder.eventCount.recorded > 2 * (1 << 14), `only ${recorder.eventCount.recorded} rows`);
  const events = recorder.toJSON().traceEvents;
  const starts = events.filter((e) => e.ph === 's');
  const ends = events.filter((e) => e.ph === 'f');
  assert.equal(ends.length, 10001); // the first step (spawn) and one per sleep(0)
  assert.equal(starts.length, 10001);
  const startById = new Map(starts.map((e) => [e.id, e]));
  assert.equal(startById.size, 10001);
  for (const end of ends) {
    const start = startById.get(end.id);
    assert.ok(start !== undefined && (start.ts as number) <= (end.ts as number));
  }
  assertLoopClean(loop);
});

test('a callback that cancels its own handle (a one-shot reader) gets a slice named after its function', async () => {
  const selector = new FakeFdSelector();
  const loop = new EventLoop({ clock: 'virtual', selector });
  const recorder = new TraceRecorder(loop, { clock: countingClock() });
  loop.addReader(5, function onPipeReadable() {
    loop.removeReader(5);
  });
  selector.makeReady(5);
  loop.runOnce(0);
  loop.callSoon(function after() {});
  loop.runOnce(0);
  recorder.stop();
  const trace = JSON.parse(JSON.stringify(recorder)) as TraceFile;
  assert.deepEqual(
    trace.traceEvents.filter((e) => e.ph === 'X' && e.cat === 'callback').map((e) => e.name),
    ['onPipeReadable', 'after'],
  );
  assertLoopClean(loop);
});

test('recording stops at maxEvents and counts what it dropped; bad options are refused', () => {
  const loop = new EventLoop({ clock: 'virtual' });
  const recorder = new TraceRecorder(loop, { clock: countingClock(), maxEvents: 5 });
  for (let i = 0; i < 10; i++) loop.callSoon(() => {});
  loop.runOnce(0);
  recorder.stop();
  recorder.stop(); // idempotent
  assert.equal(recorder.eventCount.recorded, 5);
  assert.ok(recorder.eventCount.dropped > 0);
  assert.equal(recorder.toJSON().otherData.droppedEvents, recorder.eventCount.dropped);
  assert.throws(() => new TraceRecorder(loop, { maxEvents: 0 }), { name: 'RangeError', message: /maxEvents must be a positive integer, got 0/ });
  assert.throws(() => new TraceRecorder(loop, { clock: {} as never }), { name: 'TypeError', message: /options\.clock must be a Clock/ });
  assert.throws(() => new TraceRecorder(null as never), { name: 'TypeError', message: /expected an event loop/ });
  assert.equal(loop.instruments().length, 0);
  assertLoopClean(loop);
});

test('a recorder attached to a running program numbers steps on from where each task is', async () => {
  const loop = new EventLoop({ clock: 'virtual' });
  const task = loop.createTask(
    function* () {
      for (let i = 0; i < 3; i++) yield* sleep(0);
    },
    { name: 'older' },
  );
  loop.runOnce(0); // step 1 runs unrecorded
  assert.equal(task.steps, 1);
  const recorder = new TraceRecorder(loop, { clock: countingClock() });
  await loop.runUntilComplete(task);
  recorder.stop();
  const events = recorder.toJSON().traceEvents;
  assert.deepEqual(
    slicesOn(events, task.id, 'step').map((e) => e.args?.['step']),
    [2, 3, 4],
  );
  // The wake-up queued during the unrecorded step has no start: its end is left out too.
  const ends = events.filter((e) => e.ph === 'f' && e.tid === task.id);
  assert.equal(ends.length, 2);
  const names = events.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => e.args?.['name']);
  assert.ok(names.includes(`older #${task.id}`));
  assertLoopClean(loop);
});

test('a callback that records across storage chunks keeps its name, and every wake-up it made reaches its step', async () => {
  const loop = new EventLoop({ clock: 'virtual' });
  const recorder = new TraceRecorder(loop, { clock: countingClock() });
  const children: Task<unknown>[] = [];
  loop.callSoon(function spawner() {
    // Each spawn records a wake-up: far more than the first chunk holds.
    for (let i = 0; i < 3000; i++) children.push(loop.createTask(function* () {}));
  });
  loop.runOnce(0);
  await loop.runUntilComplete(loop.createTask(function* () {}));
  for (let i = 0; i < 5; i++) loop.runOnce(0);
  recorder.stop();
  const events = recorder.toJSON().traceEvents;
  assert.equal(slicesOn(events, 0, 'spawner').length, 1);
  assert.ok(children.every((child) => child.done()));
  const starts = new Map(events.filter((e) => e.ph === 's').map((e) => [e.id, e]));
  for (const child of children) {
    const end = events.find((e) => e.ph === 'f' && e.tid === child.id);
    assert.ok(end !== undefined, `child #${child.id} has a wake-up`);
    assert.equal(starts.get(end.id)?.args?.['cause'], 'spawn');
  }
  assertLoopClean(loop);
});

test('a trace cut short by maxEvents is still well-formed: every slice ends, no flow is left half-drawn', async () => {
  const loop = new EventLoop({ clock: 'virtual' });
  const recorder = new TraceRecorder(loop, { clock: countingClock(), maxEvents: 40 });
  const task = loop.createTask(function* () {
    for (let i = 0; i < 50; i++) yield* sleep(0);
  });
  await loop.runUntilComplete(task);
  recorder.stop();
  assert.deepEqual(recorder.eventCount.recorded, 40);
  assert.ok(recorder.eventCount.dropped > 0);
  const events = (JSON.parse(JSON.stringify(recorder)) as TraceFile).traceEvents;
  const steps = slicesOn(events, task.id, 'step');
  assert.ok(steps.length > 0 && steps.length < 50);
  assert.deepEqual(
    steps.map((e) => e.args?.['step']),
    steps.map((_, i) => i + 1),
  );
  for (const event of events) if (event.ph === 'X') assert.ok((event.dur as number) >= 0);
  const startIds = new Set(events.filter((e) => e.ph === 's').map((e) => e.id));
  const endIds = new Set(events.filter((e) => e.ph === 'f').map((e) => e.id));
  assert.deepEqual([...startIds].sort(), [...endIds].sort());
  assertLoopClean(loop);
});
