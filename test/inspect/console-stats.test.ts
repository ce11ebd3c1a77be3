/**
 * The live console's per-task counters and warnings (src/inspect/console-stats.ts):
 * wakes counted per wake-up (not the spawn), idle time in loop ms, task
 * timing turned on while attached and restored after, and detector reports
 * turned into warnings — a long iteration caused by one slow callback is
 * reported once. Virtual time, so loop times are exact; the slow work burns
 * real time on purpose (a lower bound, so no speed assumption).
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { ConsoleStats } from '../../src/inspect/console-stats.js';
import { sleep } from '../../src/index.js';
import { runInVirtualTime } from '../../src/testing.js';

function burn(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

test('taskRow: wakes count wake-ups only, idle time runs from the end of the last step, sleeps say what is left', async () => {
  await runInVirtualTime(function* (loop) {
    const stats = new ConsoleStats(loop, { detectors: false });
    stats.attach();
    const answer = loop.createFuture<number>();
    answer.label = 'answer';
    const sleeper = loop.createTask(
      function* () {
        for (let i = 0; i < 3; i++) yield* sleep(10);
      },
      { name: 'sleeper', priority: 'high' },
    );
    const waiter = loop.createTask(
      function* () {
        return yield* answer;
      },
      { name: 'waiter' },
    );
    const fresh = stats.taskRow(waiter);
    assert.deepEqual([fresh.state, fresh.steps, fresh.wakes, fresh.waitingMs, fresh.waitingOn], ['pending', 0, 0, 0, null]);
    yield* sleep(15);
    const s = stats.taskRow(sleeper);
    assert.deepEqual(
      [s.name, s.priority, s.state, s.steps, s.wakes, s.waitingMs, s.waitingOn, s.cancelling],
      ['sleeper', 'high', 'waiting', 2, 1, 5, 'sleep, 5.0 ms left', 0],
    );
    const w = stats.taskRow(waiter);
    assert.deepEqual([w.state, w.steps, w.wakes, w.waitingMs, w.waitingOn], ['waiting', 1, 0, 15, 'answer']);
    answer.setResult(42);
    yield* sleep(20);
    assert.equal(yield* waiter, 42);
    yield* sleeper;
    assert.deepEqual([stats.wakesOf(sleeper), stats.wakesOf(waiter)], [3, 1]);
    const done = stats.taskRow(sleeper);
    assert.deepEqual([done.state, done.waitingMs], ['done', null]);
    stats.detach();
  });
});

test('attach turns task timing on (busy time) and detach restores it; both are idempotent', async () => {
  await runInVirtualTime(function* (loop) {
    const stats = new ConsoleStats(loop, { detectors: false });
    assert.equal(loop.getTaskTiming(), false);
    stats.attach();
    stats.attach();
    assert.equal(loop.getTaskTiming(), true);
    assert.equal(loop.instruments().filter((i) => i === stats).length, 1);
    const busy = loop.createTask(
      function* () {
        burn(2);
        yield* sleep(1);
      },
      { name: 'busy' },
    );
    yield* busy;
    assert.ok(stats.taskRow(busy).busyMs >= 2, `busy time ${stats.taskRow(busy).busyMs}`);
    stats.detach();
    stats.detach();
    assert.equal(loop.getTaskTiming(), false);
    assert.equal(loop.instruments().includes(stats), false);
    // Counting stopped: a new task's wake-ups are not seen.
    const later = loop.createTask(
      function* () {
        yield* sleep(1);
      },
      { name: 'later' },
    );
    yield* later;
    assert.equal(stats.wakesOf(later), 0);
  });
});

test('a slow step becomes one warning naming its task; many small callbacks make a long-iteration warning', async () => {
  await runInVirtualTime(
    function* (loop) {
      const stats = new ConsoleStats(loop);
      stats.attach();
      const hog = loop.createTask(
        function* () {
          burn(30);
          yield* sleep(1);
        },
        { name: 'hog' },
      );
      yield* hog;
      const first = stats.warnings();
      assert.equal(first.length, 1, JSON.stringify(first));
      assert.equal(first[0]?.kind, 'slow-callback');
      assert.equal(first[0]?.taskId, hog.id);
      assert.match(first[0]?.text ?? '', new RegExp(`^step of task hog #${hog.id} took \\d+ ms$`));
      // Ten callbacks of 3 ms each in one iteration: none slow (threshold 20 ms), the iteration is.
      const ran = loop.createFuture<void>();
      for (let i = 0; i < 10; i++) {
        loop.callSoon(() => {
          burn(3);
          if (i === 9) ran.setResult();
        });
      }
      yield* ran;
      yield* sleep(1); // let the iteration end (the next poll judges it)
      const all = stats.warnings();
      assert.deepEqual(
        all.map((w) => w.kind),
        ['slow-callback', 'long-iteration'],
      );
      assert.match(all[1]?.text ?? '', /^loop iteration took \d+ ms \(1\d callbacks; longest: callback anonymous, [\d.]+ ms\)$/);
      stats.detach();
    },
    { slowCallbackDurationMs: 20 },
  );
});

test('with detectors: false no detector is attached; bad arguments are refused', async () => {
  await runInVirtualTime(function* (loop) {
    const stats = new ConsoleStats(loop, { detectors: false });
    stats.attach();
    assert.deepEqual(loop.instruments(), [stats]);
    stats.detach();
    const full = new ConsoleStats(loop);
    full.attach();
    assert.deepEqual(
      loop.instruments().map((i) => (i as { name?: string }).name),
      ['ConsoleStats', 'SlowCallbackDetector', 'LongIterationDetector'],
    );
    full.detach();
    assert.deepEqual(loop.instruments(), []);
    yield* sleep(0);
  });
  assert.throws(() => new ConsoleStats(null as never), TypeError);
  await runInVirtualTime(function* (loop) {
    assert.throws(() => new ConsoleStats(loop, { maxWarnings: 0 }), RangeError);
    yield* sleep(0);
  });
});
