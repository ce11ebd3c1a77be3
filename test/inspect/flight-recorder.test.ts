/**
 * The flight recorder (inspect/flight-recorder.ts): keeps only the last N
 * events, oldest first, labelled; formats them; holds nothing alive. A
 * counting clock makes timestamps exact.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlightRecorder } from '../../src/inspect/index.js';
import { dumpOnSignal } from '../../src/node.js';
import { runInVirtualTime } from '../../src/testing.js';
import { sleep } from '../../src/index.js';

function countingClock(): { now(): number } {
  let ms = 0;
  return { now: () => ms++ };
}

test('FlightRecorder keeps only the last `capacity` events, oldest first', async () => {
  const recorder = new FlightRecorder({ capacity: 4, clock: countingClock() });
  let taskId = 0;
  await runInVirtualTime(function* (loop) {
    loop.addInstrument(recorder);
    const worker = loop.createTask(
      function* () {
        yield* sleep(1);
      },
      { name: 'worker' },
    );
    taskId = worker.id;
    yield* worker;
    loop.callSoon(function tidyUp() {});
    yield* sleep(0);
    loop.removeInstrument(recorder);
  });
  const events = recorder.dump();
  assert.equal(events.length, 4);
  assert.ok(recorder.totalEvents > 4);
  // The last four: tidyUp ran, then main's wake-up step began.
  assert.deepEqual(
    events.map((e) => `${e.hook} ${e.label}`.replace(/#\d+/, '#N')),
    ['beforeCallback callback tidyUp', 'afterCallback callback tidyUp', 'beforeCallback step of task "main" #N', 'beforeTaskStep task main #N'],
  );
  // Timestamps increase by one per event (counting clock): nothing reordered.
  assert.deepEqual(
    events.map((e) => e.timeMs - events[0]!.timeMs),
    [0, 1, 2, 3],
  );
  assert.ok(!events.some((e) => e.label.includes(`#${taskId}`)), 'the worker task fell out of the ring');
});

test('FlightRecorder with room for everything keeps every event in order, and format() prints one a line', async () => {
  const recorder = new FlightRecorder({ capacity: 1000, clock: countingClock() });
  await runInVirtualTime(function* (loop) {
    loop.addInstrument(recorder);
    loop.createTask(function* () {}, { name: 'quick' });
    yield* sleep(0);
    loop.removeInstrument(recorder);
  });
  const hooks = recorder.dump().map((e) => `${e.hook} ${e.label}`.replace(/ #\d+/, ''));
  assert.deepEqual(hooks.slice(0, 2), ['taskSpawned task quick', 'taskScheduled task quick']);
  assert.ok(hooks.includes('taskExited task quick'));
  const text = recorder.format();
  assert.match(text, /^flight recorder: last \d+ of \d+ events\n/);
  assert.equal(text.split('\n').length, recorder.dump().length + 1);
  recorder.clear();
  assert.deepEqual(recorder.dump(), []);
});

test('FlightRecorder shows a callback that ran a task step as that step (its own step, a wake-up, a sleep timer), and who woke each task', async () => {
  const recorder = new FlightRecorder({ capacity: 1000, clock: countingClock() });
  const ids = new Map<number, string>();
  await runInVirtualTime(function* (loop) {
    loop.addInstrument(recorder);
    const fut = loop.createFuture<void>();
    const child = loop.createTask(
      function* () {
        yield* sleep(1);
        yield* fut;
      },
      { name: 'child' },
    );
    loop.callLater(2, function poke() {
      fut.setResult();
    });
    yield* child;
    ids.set(child.id, 'C');
    loop.removeInstrument(recorder);
  });
  const lines = recorder
    .dump()
    .filter((e) => e.hook === 'taskScheduled' || e.hook === 'beforeCallback' || e.hook === 'afterCallback')
    .map((e) => `${e.hook} ${e.label}${e.cause === '' ? '' : ` <- ${e.cause}`}`.replace(/#(\d+)/g, (_, id: string) => `#${ids.get(Number(id)) ?? 'M'}`));
  assert.deepEqual(lines, [
    'taskScheduled task child #C <- spawn by task main #M',
    'beforeCallback step of task "child" #C', // its first step (the task's own step handle)
    'afterCallback step of task "child" #C',
    'taskScheduled task child #C <- timer',
    'beforeCallback step of task "child" #C', // after sleep(1): a timer handle
    'afterCallback step of task "child" #C',
    'beforeCallback callback poke',
    'taskScheduled task child #C <- future by callback poke',
    'afterCallback callback poke',
    'beforeCallback step of task "child" #C', // a wake-up: its handle's arg is fut
    'taskScheduled task main #M <- future by task child #C',
    'afterCallback step of task "child" #C',
    'beforeCallback step of task "main" #M',
  ]);
  assert.match(recorder.format(), /taskScheduled +task child #\d+ <- future by callback poke\n/);
});

test('FlightRecorder rejects a bad capacity with a RangeError naming it', () => {
  assert.throws(() => new FlightRecorder({ capacity: 0 }), /capacity must be an integer >= 1, got 0/);
  assert.throws(() => new FlightRecorder({ capacity: 2.5 }), RangeError);
});

test('dumpOnSignal writes the recorder on the signal, and stops after the returned undo', () => {
  const recorder = new FlightRecorder({ capacity: 8 });
  recorder.beforeIoWait(5);
  const written: string[] = [];
  const undo = dumpOnSignal(recorder, 'SIGUSR2', (text) => written.push(text));
  process.emit('SIGUSR2', 'SIGUSR2');
  undo();
  process.emit('SIGUSR2', 'SIGUSR2');
  assert.equal(written.length, 1);
  assert.match(written[0]!, /beforeIoWait\s+5/);
});
