/**
 * Handle and TimerHandle (src/core/handle.ts).
 *
 * Pinned: cancel() is idempotent and frees what the callback closes over;
 * a TimerHandle tells its owner of the cancellation exactly once and only
 * while it sits in the owner's heap (`scheduled`), so the owner's count of
 * dead heap entries stays exact; (when, seq) ordering.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { Handle, TimerHandle, timerBefore, type TimerOwner } from '../../src/core/handle.js';
import { LANE_CRITICAL, LANE_IDLE, LANE_NORMAL } from '../../src/core/priority.js';
import { assertLoopClean } from '../../src/testing.js';
import { EventLoop } from '../../src/tasks/event-loop.js';
import { Log } from '../log.js';

class RecordingOwner implements TimerOwner {
  readonly told: TimerHandle[] = [];
  timerCancelled(handle: TimerHandle): void {
    this.told.push(handle);
  }
}

test('cancel() marks the handle cancelled and drops the callback and its argument (asyncio test_events HandleTests: test_handle)', () => {
  const payload = { big: 'closure state' };
  const callback = (arg: unknown): unknown => arg;
  const handle = new Handle(callback, payload, LANE_NORMAL);
  assert.equal(handle.cancelled(), false);
  assert.equal(handle.callback, callback);
  assert.equal(handle.arg, payload);
  handle.cancel();
  assert.equal(handle.cancelled(), true);
  assert.notEqual(handle.callback, callback, 'the callback (and what it closes over) is released');
  assert.equal(handle.arg, undefined);
  assert.equal(handle.callback(undefined), undefined, 'the replacement is a harmless no-op');
});

test('cancel() drops the context the handle would have run in (a task\'s: its stores), as it drops the callback', () => {
  const context = <R>(fn: () => R): R => fn();
  const handle = new Handle(() => 1, undefined, LANE_NORMAL);
  handle.context = context;
  handle.cancel();
  assert.equal(handle.context, null, 'a cancelled timer left in the heap does not keep it alive');
});

test('cancel() twice is harmless', () => {
  const handle = new Handle(() => 1, undefined, LANE_NORMAL);
  handle.cancel();
  const after = handle.callback;
  handle.cancel();
  assert.equal(handle.cancelled(), true);
  assert.equal(handle.callback, after);
});

test('priority names the lane the handle runs in', () => {
  assert.equal(new Handle(() => 0, undefined, LANE_CRITICAL).priority, 'critical');
  assert.equal(new Handle(() => 0, undefined, LANE_NORMAL).priority, 'normal');
  assert.equal(new Handle(() => 0, undefined, LANE_IDLE).priority, 'idle');
});

test('toString names the callback, or says cancelled / anonymous (asyncio HandleTests: test_handle_repr)', () => {
  function tick(): void {}
  const named = new Handle(tick, undefined, LANE_NORMAL);
  assert.equal(String(named), '<Handle tick>');
  named.cancel();
  assert.equal(String(named), '<Handle cancelled>');
  const anonymous = new Handle(
    [() => 0][0] as () => number, // an arrow with no inferred name
    undefined,
    LANE_NORMAL,
  );
  assert.equal(String(anonymous), '<Handle anonymous>');
  const owner = new RecordingOwner();
  assert.equal(String(new TimerHandle(5, 0, tick, undefined, LANE_NORMAL, owner)), '<TimerHandle tick>');
});

test('TimerHandle.when() is its deadline; seq breaks ties (asyncio TimerTests: test_when, test_timer_comparison)', () => {
  const owner = new RecordingOwner();
  const a = new TimerHandle(10, 1, () => 0, undefined, LANE_NORMAL, owner);
  const b = new TimerHandle(10, 2, () => 0, undefined, LANE_NORMAL, owner);
  const c = new TimerHandle(9, 3, () => 0, undefined, LANE_NORMAL, owner);
  assert.equal(a.when(), 10);
  assert.deepEqual([timerBefore(a, b), timerBefore(b, a)], [true, false]);
  assert.deepEqual([timerBefore(c, a), timerBefore(a, c)], [true, false]);
  assert.equal(timerBefore(a, a), false);
});

test('a TimerHandle in its owner\'s heap tells the owner of its cancellation exactly once', () => {
  const owner = new RecordingOwner();
  const timer = new TimerHandle(10, 0, () => 0, undefined, LANE_NORMAL, owner);
  timer.scheduled = true; // as the heap marks it on push
  timer.cancel();
  timer.cancel();
  assert.deepEqual(owner.told, [timer]);
  assert.equal(timer.cancelled(), true);
});

test('a TimerHandle no longer in the heap (already due, or never pushed) does not tell its owner', () => {
  const owner = new RecordingOwner();
  const notScheduled = new TimerHandle(10, 0, () => 0, undefined, LANE_NORMAL, owner);
  notScheduled.cancel();
  assert.deepEqual(owner.told, []);
  assert.equal(notScheduled.cancelled(), true);
});

test('cancelled handles never run, whether queued by callSoon or waiting as timers (asyncio test_events: test_cancel_handle)', async () => {
  const loop = new EventLoop({ clock: 'virtual' });
  const log = new Log();
  const soon = loop.callSoon(() => log.push('soon'));
  loop.callSoon(() => log.push('kept'));
  const later = loop.callLater(10, () => log.push('later'));
  soon.cancel();
  later.cancel();
  assert.deepEqual([loop.statistics().timers, loop.statistics().cancelledTimers], [0, 1]);
  loop.runOnce(0);
  log.assert(['kept']);
  assert.equal(loop.time(), 0);
  assertLoopClean(loop);
});

test('cancelling a timer that is already due but not yet run skips it without touching the heap count', () => {
  const loop = new EventLoop({ clock: 'virtual' });
  const log = new Log();
  let timer: TimerHandle | null = null;
  loop.callSoon(() => {
    log.push('canceller');
    timer?.cancel();
  });
  timer = loop.callLater(0, () => log.push('timer'));
  loop.runOnce(0); // the timer moves to the ready queue behind the canceller
  log.assert(['canceller']);
  assert.equal(loop.statistics().cancelledTimers, 0);
  assertLoopClean(loop);
});

test('a handle that cancels itself while an instrument watches keeps its callback, so instruments still name it; unwatched, cancel drops it', () => {
  const loop = new EventLoop({ clock: 'virtual' });
  const log = new Log();
  const namer = { afterCallback: (handle: Handle): void => log.push(`${handle.callback.name} cancelled=${handle.cancelled()}`) };
  loop.addInstrument(namer);
  const watched: TimerHandle = loop.callLater(0, function oneShotWatched() {
    watched.cancel();
    log.push(`during: ${watched.callback.name}`);
  });
  loop.runOnce(0);
  log.assert(['during: oneShotWatched', 'oneShotWatched cancelled=true']);
  loop.removeInstrument(namer);
  const plain: TimerHandle = loop.callLater(0, function oneShotPlain() {
    plain.cancel();
  });
  loop.runOnce(0);
  assert.equal(plain.callback.name, 'cancelledCallback', 'the plain path frees the callback as before');
  assertLoopClean(loop);
});
