/**
 * The stall watchdog (inspect/watchdog.ts): a worker thread reports a
 * callback that blocks the loop while it is still blocking. The proof is
 * the worker's own Date.now() in its report, which must fall inside the
 * callback's busy-wait. Real time, so thresholds are generous: block for
 * 300 ms with a threshold of 100 ms, and assert only fired / did not fire.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventLoop, sleep } from '../../src/index.js';
import { startStallWatchdog } from '../../src/node.js';
import type { StallReport } from '../../src/node.js';
import { assertLoopClean } from '../../src/testing.js';

function busyWait(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // spin: the loop's thread is blocked
  }
}

test('the watchdog reports a stall in progress: which task, which callback, since when — while the callback still blocks', async () => {
  const loop = new EventLoop();
  const stalls: StallReport[] = [];
  const watchdog = startStallWatchdog(loop, { thresholdMs: 100, pollMs: 10, onStall: (s) => stalls.push(s) });
  await watchdog.ready;
  let startMs = 0;
  let endMs = 0;
  const task = loop.createTask(
    function* () {
      yield* sleep(1);
      startMs = Date.now();
      busyWait(600); // a long stall: the worker must see it even on a loaded machine
      endMs = Date.now();
    },
    { name: 'blocker' },
  );
  await loop.runUntilComplete(task);
  // The message is delivered once the thread is free; give it a moment.
  for (let i = 0; i < 50 && stalls.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  await watchdog.stop();
  loop.close();
  assertLoopClean(loop);
  assert.equal(stalls.length, 1);
  const stall = stalls[0]!;
  assert.equal(stall.taskName, 'blocker');
  assert.equal(stall.taskId, task.id);
  assert.equal(stall.callbackName, `step of task "blocker" #${task.id}`, "named after the task, not eventide's #runStep");
  assert.ok(stall.reportedAtMs >= startMs + 100, `reported at +${stall.reportedAtMs - startMs} ms, before the threshold`);
  assert.ok(stall.reportedAtMs <= endMs, `reported ${stall.reportedAtMs - endMs} ms after the callback ended: not during the stall`);
  assert.ok(stall.sinceMs <= startMs && stall.sinceMs >= startMs - 50, 'since: when the callback began');
  assert.ok(stall.stalledMs >= 100);
});

test('the watchdog names a plain callback (not a task step) by its function name', async () => {
  const loop = new EventLoop();
  const stalls: StallReport[] = [];
  const watchdog = startStallWatchdog(loop, { thresholdMs: 100, pollMs: 10, onStall: (s) => stalls.push(s) });
  await watchdog.ready;
  loop.callSoon(function crunchNumbers() {
    busyWait(600); // a long stall: the worker must see it even on a loaded machine
  });
  loop.callSoon(() => loop.stop());
  await loop.runForever();
  for (let i = 0; i < 50 && stalls.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  await watchdog.stop();
  loop.close();
  assert.deepEqual(
    stalls.map((s) => [s.callbackName, s.taskId, s.taskName]),
    [['crunchNumbers', 0, null]],
  );
});

test('the watchdog stays silent while callbacks are short and the loop is idle', async () => {
  const loop = new EventLoop();
  const stalls: StallReport[] = [];
  const watchdog = startStallWatchdog(loop, { thresholdMs: 100, pollMs: 10, onStall: (s) => stalls.push(s) });
  await watchdog.ready;
  await loop.runUntilComplete(
    loop.createTask(function* () {
      for (let i = 0; i < 5; i++) {
        busyWait(5);
        yield* sleep(60); // idle for longer than the threshold: not a stall
      }
    }),
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  await watchdog.stop();
  loop.close();
  assert.deepEqual(stalls, []);
});

test('startStallWatchdog rejects bad arguments with errors naming them', () => {
  const loop = new EventLoop();
  assert.throws(() => startStallWatchdog(loop, { thresholdMs: -5 }), /thresholdMs must be a finite number >= 0, got -5/);
  assert.throws(() => startStallWatchdog(loop, { onStall: 'x' as never }), TypeError);
  assert.throws(() => startStallWatchdog({} as never), /loop must be an event loop/);
  assert.deepEqual(loop.instruments(), []);
  loop.close();
});
