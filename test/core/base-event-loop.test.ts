/**
 * BaseEventLoop (src/core/base-event-loop.ts), driven through EventLoop.
 *
 * Ports the behaviours CPython pins in Lib/test/test_asyncio/test_base_events.py
 * and test_events.py (names given per test), plus eventide's stronger
 * guarantees: equal deadlines run FIFO, priority lanes, virtual-time
 * autojump, and bad input that disturbs nothing.
 *
 * Almost every test runs on a virtual clock. Where a real clock is needed
 * (the host must actually wait), the test waits for events, never for a
 * duration. A ScriptedSelector (below) stands in for epoll so that the I/O
 * steps of a tick can be pinned without the OS.
 *
 * Every test that makes a loop ends with assertLoopClean(loop).
 */
import assert from 'node:assert/strict';
import { promises as fsPromises } from 'node:fs';
import test from 'node:test';
import type { Clock, VirtualClock } from '../../src/core/clock.js';
import { MAX_SELECT_TIMEOUT_MS, type ExceptionContext } from '../../src/core/base-event-loop.js';
import { Handle, TimerHandle } from '../../src/core/handle.js';
import type { Priority } from '../../src/core/priority.js';
import { EVENT_READ, EVENT_WRITE, TimerOnlySelector, type ReadyCallback, type Selector } from '../../src/core/selector.js';
import { COMPACT_MIN_SIZE } from '../../src/core/timer-heap.js';
import { assertLoopClean, runInVirtualTime } from '../../src/testing.js';
import { EventLoop, getRunningLoop } from '../../src/tasks/event-loop.js';
import { sleep, until } from '../../src/tasks/operation.js';
import { Log } from '../log.js';
import { recordingLogger } from '../logger.js';

// ------------------------------------------------------------------ helpers

function virtualLoop(options: ConstructorParameters<typeof EventLoop>[0] = {}): EventLoop {
  return new EventLoop({ ...options, clock: 'virtual' });
}

/** A clock that moves only when the test sets `nowMs`, and cannot autojump. */
function manualClock(): Clock & { nowMs: number } {
  const clock = { nowMs: 0, now: () => clock.nowMs };
  return clock;
}

/**
 * A selector that watches pretend fds: it records every call and the
 * timeout of every select, and reports whatever events the test queued in
 * `next`. select never blocks.
 */
class ScriptedSelector implements Selector {
  readonly name = 'ScriptedSelector';
  readonly supportsFds = true;
  readonly calls: string[] = [];
  readonly timeouts: number[] = [];
  readonly masks = new Map<number, number>();
  next: [fd: number, events: number][] = [];
  refuse: number | null = null;

  get fdCount(): number {
    return this.masks.size;
  }
  register(fd: number, events: number): void {
    if (fd === this.refuse) throw new Error(`EBADF: fd ${fd} is not open`);
    assert.ok(!this.masks.has(fd), `fd ${fd} registered twice`);
    this.masks.set(fd, events);
    this.calls.push(`register ${fd} ${events}`);
  }
  modify(fd: number, events: number): void {
    assert.ok(this.masks.has(fd), `modify of unregistered fd ${fd}`);
    this.masks.set(fd, events);
    this.calls.push(`modify ${fd} ${events}`);
  }
  unregister(fd: number): void {
    assert.ok(this.masks.delete(fd), `unregister of unregistered fd ${fd}`);
    this.calls.push(`unregister ${fd}`);
  }
  select(timeoutMs: number, onReady: ReadyCallback): number {
    this.timeouts.push(timeoutMs);
    const events = this.next;
    this.next = [];
    for (const [fd, mask] of events) onReady(fd, mask);
    return events.length;
  }
  wakeup(): void {}
  close(): void {
    this.calls.push('close');
  }
}

const cbNever = (): void => assert.fail('this callback must never run');

// ---------------------------------------------------------- callSoon order

test('callSoon returns a Handle and runs callbacks FIFO within one tick (asyncio test_events: test_call_soon)', () => {
  const loop = virtualLoop();
  const log = new Log();
  const handles = ['a', 'b', 'c', 'd'].map((label) => loop.callSoon(() => log.push(label)));
  assert.ok(handles.every((h) => h instanceof Handle && !(h instanceof TimerHandle)));
  loop.runOnce(0);
  log.assert(['a', 'b', 'c', 'd']);
  assertLoopClean(loop);
});

test('a callback scheduled during a tick runs on the next tick: runOnce runs only the batch that was ready when it began (asyncio test_base_events: test__run_once_schedule_handle)', () => {
  const loop = virtualLoop();
  const log = new Log();
  loop.callSoon(() => {
    log.push('a');
    loop.callSoon(() => log.push('c (scheduled by a)'));
  });
  loop.callSoon(() => log.push('b'));
  loop.runOnce(0);
  log.assert(['a', 'b']);
  assert.equal(loop.statistics().ready, 1);
  loop.runOnce(0);
  log.assert(['c (scheduled by a)']);
  assertLoopClean(loop);
});

test('lanes run highest first whatever the scheduling order: critical, high, normal, low, idle', () => {
  const loop = virtualLoop();
  const log = new Log();
  const order: Priority[] = ['idle', 'normal', 'low', 'critical', 'high', 'normal', 'critical', 'idle'];
  order.forEach((priority, i) => loop.callSoon(() => log.push(`${priority}${i}`), { priority }));
  loop.runOnce(0);
  log.assert(['critical3', 'critical6', 'high4', 'normal1', 'normal5', 'low2', 'idle0', 'idle7']);
  assertLoopClean(loop);
});

test('critical work scheduled by a callback during a tick waits for the next tick while the slice lasts, and lower lanes then wait behind it (the batch is counted up front)', () => {
  const loop = virtualLoop();
  const log = new Log();
  loop.callSoon(() => {
    log.push('normal 1');
    loop.callSoon(() => log.push('critical (new)'), { priority: 'critical' });
  });
  loop.callSoon(() => log.push('normal 2'));
  loop.callSoon(() => log.push('idle'), { priority: 'idle' });
  loop.runOnce(0);
  // The normal batch was counted before it ran; idle, below the new
  // critical work, is held back one tick (well within its starvation bound).
  log.assert(['normal 1', 'normal 2']);
  loop.runOnce(0);
  log.assert(['critical (new)', 'idle']);
  assertLoopClean(loop);
});

// ------------------------------------------------- preemption (sliceMs)
// The slice is measured on the loop's own clock, so on a virtual clock it is
// used up only when a callback moves time: these tests are exact.

test('critical work made ready during a long normal batch runs as soon as the slice is used up, before the rest of the batch', () => {
  const loop = virtualLoop({ sliceMs: 1 });
  const clock = loop.clock as VirtualClock;
  const log = new Log();
  loop.callSoon(() => {
    log.push('n1');
    clock.advance(2); // a slow callback: the slice is gone
    loop.callSoon(() => log.push('critical'), { priority: 'critical' });
    loop.callSoon(() => log.push('normal (new)'));
    loop.callSoon(() => log.push('idle (new)'), { priority: 'idle' });
  });
  loop.callSoon(() => log.push('n2'));
  loop.callSoon(() => log.push('n3'));
  loop.runOnce(0);
  log.assert(['n1', 'critical', 'n2', 'n3']);
  loop.runOnce(0);
  log.assert(['normal (new)', 'idle (new)']);
  assertLoopClean(loop);
});

test('a higher-lane timer that comes due during a used-up slice preempts the rest of the batch', () => {
  const loop = virtualLoop({ sliceMs: 1 });
  const clock = loop.clock as VirtualClock;
  const log = new Log();
  loop.callLater(1, () => log.push(`high timer at ${loop.time()}`), { priority: 'high' });
  loop.callLater(1, () => log.push('low timer'), { priority: 'low' });
  loop.callSoon(() => {
    log.push('n1');
    clock.advance(5);
  });
  loop.callSoon(() => log.push('n2'));
  loop.runOnce(0);
  log.assert(['n1', 'high timer at 5', 'n2']);
  loop.runOnce(0);
  log.assert(['low timer']);
  assertLoopClean(loop);
});

test('a preemption poll queues only readers above the preempted lane: a normal reader already queued does not run twice in a tick', () => {
  const selector = new ScriptedSelector();
  const loop = virtualLoop({ selector, sliceMs: 1 });
  const clock = loop.clock as VirtualClock;
  const log = new Log();
  loop.addReader(7, () => log.push('reader 7 (normal)'));
  loop.addReader(8, () => log.push('reader 8 (critical)'), { priority: 'critical' });
  loop.callSoon(() => {
    log.push('slow');
    clock.advance(2); // the slice is used up: the next callback boundary polls
    selector.next = [[7, EVENT_READ], [8, EVENT_READ]]; // both still readable (level-triggered)
  });
  loop.callSoon(() => log.push('after'));
  selector.next = [[7, EVENT_READ]];
  loop.runOnce(0);
  // Reader 7 was queued by the tick's own poll (behind the two callbacks);
  // the preemption poll runs reader 8 at once but does not queue reader 7 a
  // second time — which would run it again in the next tick, reading nothing.
  log.assert(['slow', 'reader 8 (critical)', 'after', 'reader 7 (normal)']);
  loop.runOnce(0); // nothing reported ready now
  log.assert([]);
  loop.removeReader(7);
  loop.removeReader(8);
  assertLoopClean(loop);
});

test('sliceMs: Infinity turns preemption off: new critical work waits for the next tick however long the batch', () => {
  const loop = virtualLoop({ sliceMs: Infinity });
  const clock = loop.clock as VirtualClock;
  const log = new Log();
  loop.callSoon(() => {
    log.push('n1');
    clock.advance(1000);
    loop.callSoon(() => log.push('critical'), { priority: 'critical' });
  });
  loop.callSoon(() => log.push('n2'));
  loop.runOnce(0);
  log.assert(['n1', 'n2']);
  loop.runOnce(0);
  log.assert(['critical']);
  assertLoopClean(loop);
});

test('the critical lane itself is never preempted', () => {
  const loop = virtualLoop({ sliceMs: 1 });
  const clock = loop.clock as VirtualClock;
  const log = new Log();
  loop.callSoon(
    () => {
      log.push('c1');
      clock.advance(10);
      loop.callSoon(() => log.push('critical (new)'), { priority: 'critical' });
    },
    { priority: 'critical' },
  );
  loop.callSoon(() => log.push('c2'), { priority: 'critical' });
  loop.runOnce(0);
  log.assert(['c1', 'c2']);
  loop.runOnce(0);
  log.assert(['critical (new)']);
  assertLoopClean(loop);
});

test('sliceMs must be > 0: 0, negative and NaN are a RangeError naming the value', () => {
  for (const [bad, shown] of [
    [0, '0'],
    [-1, '-1'],
    [NaN, 'NaN'],
  ] as const) {
    assert.throws(() => virtualLoop({ sliceMs: bad }), {
      name: 'RangeError',
      message: `sliceMs must be a number > 0 (Infinity disables preemption), got ${shown}`,
    });
  }
});

// ------------------------------------------------------------------ timers

test('callLater returns a TimerHandle whose when() is time() + delayMs (asyncio test_base_events: test_call_later, test_time_and_call_at)', () => {
  const loop = virtualLoop();
  (loop.clock as VirtualClock).advance(1000);
  const timer = loop.callLater(250, cbNever);
  assert.ok(timer instanceof TimerHandle);
  assert.equal(timer.when(), 1250);
  const at = loop.callAt(4000, cbNever);
  assert.equal(at.when(), 4000);
  assert.deepEqual([loop.statistics().timers, loop.statistics().ready], [2, 0]);
  timer.cancel();
  at.cancel();
  assertLoopClean(loop);
});

test('timers run in deadline order, and equal deadlines run in scheduling order, callLater and callAt alike (stronger than asyncio)', () => {
  const loop = virtualLoop();
  const log = new Log();
  loop.callLater(30, () => log.push('30 a'));
  loop.callAt(10, () => log.push('10 a (callAt)'));
  loop.callLater(20, () => log.push('20'));
  loop.callLater(10, () => log.push('10 b'));
  loop.callAt(30, () => log.push('30 b (callAt)'));
  loop.callLater(10, () => log.push('10 c'));
  loop.callLater(30, () => log.push('30 c'));
  for (const deadline of [10, 20, 30]) {
    loop.runOnce(); // jumps to the next deadline and runs every timer due there
    assert.equal(loop.time(), deadline);
  }
  log.assert(['10 a (callAt)', '10 b', '10 c', '20', '30 a', '30 b (callAt)', '30 c']);
  assert.equal(loop.time(), 30);
  assertLoopClean(loop);
});

test('negative delays are allowed and the earlier deadline runs first (asyncio test_base_events: test_call_later_negative_delays)', () => {
  const loop = virtualLoop();
  const log = new Log();
  loop.callLater(-1, () => log.push('a'));
  loop.callLater(-2, () => log.push('b'));
  loop.runOnce(0);
  log.assert(['b', 'a']);
  assertLoopClean(loop);
});

test('a timer due exactly now runs (the deadline is inclusive)', () => {
  const loop = virtualLoop();
  const log = new Log();
  const clock = loop.clock as VirtualClock;
  loop.callAt(loop.time(), () => log.push('at now'));
  loop.callLater(100, () => log.push('at 100'));
  loop.runOnce(0);
  log.assert(['at now']);
  clock.advance(99.5);
  loop.runOnce(0);
  log.assert([]);
  clock.advance(0.5);
  loop.runOnce(0);
  log.assert(['at 100']);
  assertLoopClean(loop);
});

test('a timer that comes due joins the back of its lane, after callbacks already waiting there (asyncio _run_once order)', () => {
  const loop = virtualLoop();
  const log = new Log();
  loop.callLater(0, () => log.push('normal timer'));
  loop.callLater(0, () => log.push('critical timer'), { priority: 'critical' });
  loop.callSoon(() => log.push('normal soon'));
  loop.callSoon(() => log.push('low soon'), { priority: 'low' });
  loop.runOnce(0);
  log.assert(['critical timer', 'normal soon', 'normal timer', 'low soon']);
  assertLoopClean(loop);
});

test('a callLater(0) scheduled during a tick runs on a later tick, not in the current batch', () => {
  const loop = virtualLoop();
  const log = new Log();
  loop.callSoon(() => {
    log.push('a');
    loop.callLater(0, () => log.push('timer from a'));
  });
  loop.callSoon(() => log.push('b'));
  loop.runOnce(0);
  log.assert(['a', 'b']);
  loop.runOnce(0);
  log.assert(['timer from a']);
  assertLoopClean(loop);
});

test('cancelled handles and timers never run, even when cancelled by an earlier callback of the same batch (asyncio test_base_events: test__add_callback_cancelled_handle)', () => {
  const loop = virtualLoop();
  const log = new Log();
  let victim: Handle | null = null;
  let victimTimer: TimerHandle | null = null;
  loop.callSoon(() => {
    log.push('canceller');
    victim?.cancel();
    victimTimer?.cancel();
  });
  victim = loop.callSoon(() => log.push('victim'));
  victimTimer = loop.callLater(0, () => log.push('victim timer'));
  const cancelledEarly = loop.callSoon(() => log.push('cancelled early'));
  cancelledEarly.cancel();
  loop.callSoon(() => log.push('survivor'));
  loop.runOnce(0);
  log.assert(['canceller', 'survivor']);
  assertLoopClean(loop);
});

test('a cancelled timer is dropped lazily and counted until then; compaction removes dead timers when they dominate (asyncio test_base_events: test__run_once_cancelled_event_cleanup)', () => {
  const loop = virtualLoop();
  const keep = loop.callLater(3000, cbNever);
  const few = [loop.callLater(3600, cbNever), loop.callLater(3600, cbNever)];
  for (const t of few) t.cancel();
  assert.deepEqual([loop.statistics().timers, loop.statistics().cancelledTimers], [1, 2]);
  // Fill past COMPACT_MIN_SIZE, then cancel until dead entries are more than half.
  const many: TimerHandle[] = [];
  for (let i = 0; i < COMPACT_MIN_SIZE * 2; i++) many.push(loop.callLater(3600 + i, cbNever));
  for (const t of many.slice(0, COMPACT_MIN_SIZE)) t.cancel();
  // 203 entries, 102 dead: compacted on the cancel that tipped it.
  assert.deepEqual([loop.statistics().timers, loop.statistics().cancelledTimers], [COMPACT_MIN_SIZE + 1, 0]);
  keep.cancel();
  for (const t of many) t.cancel();
  assertLoopClean(loop);
});

test('runOnce(0) polls without blocking and without jumping virtual time', () => {
  const loop = virtualLoop();
  const log = new Log();
  loop.callLater(5000, () => log.push('timer'));
  loop.runOnce(0);
  log.assert([]);
  assert.equal(loop.time(), 0);
  loop.runOnce();
  log.assert(['timer']);
  assertLoopClean(loop);
});

test('runOnce(0) on a real clock returns at once even with a timer 60 s away', () => {
  const loop = new EventLoop();
  const timer = loop.callLater(60_000, cbNever);
  loop.runOnce(0); // would block for a minute if the timeout were ignored
  assert.equal(loop.statistics().timers, 1);
  timer.cancel();
  assertLoopClean(loop);
});

// ------------------------------------------------------------ virtual time

test('autojump: on a virtual loop callLater(5000) runs at once and time() is exactly 5000 (Trio MockClock autojump)', () => {
  const loop = virtualLoop();
  const log = new Log();
  loop.callLater(5000, () => log.push(`fired at ${loop.time()}`));
  loop.runOnce();
  log.assert(['fired at 5000']);
  assert.equal(loop.time(), 5000);
  assertLoopClean(loop);
});

test('autojump inside runForever: chained timers see exact virtual times', async () => {
  const loop = virtualLoop();
  const log = new Log();
  loop.callLater(100, () => {
    log.push(`first at ${loop.time()}`);
    loop.callLater(200, () => {
      log.push(`second at ${loop.time()}`);
      loop.stop();
    });
  });
  await loop.runForever();
  log.assert(['first at 100', 'second at 300']);
  assert.equal(loop.time(), 300);
  assertLoopClean(loop);
});

test('autojump waits while an until(promise) is pending: the promise (1 ms real time) wins over a 10 s virtual sleep', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const sleeper = loop.createTask(function* () {
      yield* sleep(10_000);
      log.push(`sleep done at ${loop.time()}`);
    });
    const value = yield* until(new Promise<string>((resolve) => setTimeout(() => resolve('outside'), 1)));
    log.push(`promise ${value} at ${loop.time()}`);
    yield* sleeper;
  });
  log.assert(['promise outside at 0', 'sleep done at 10000']);
});

// ------------------------------------------------- select timeout (step 1)

test('step 1: the selector is asked to wait until the earliest live timer, skipping cancelled ones (asyncio test_base_events: test__run_once)', () => {
  const clock = manualClock();
  const selector = new ScriptedSelector();
  const loop = new EventLoop({ clock, selector });
  const h1 = loop.callLater(5000, cbNever);
  const h2 = loop.callLater(10_000, cbNever);
  h1.cancel();
  loop.runOnce();
  assert.deepEqual(selector.timeouts, [10_000]);
  assert.deepEqual([loop.statistics().timers, loop.statistics().cancelledTimers], [1, 0]);
  h2.cancel();
  assertLoopClean(loop);
});

test('step 1: timeout is 0 with work ready, capped by runOnce(timeoutMs), and capped at MAX_SELECT_TIMEOUT_MS with nothing to wait for', () => {
  const clock = manualClock();
  const selector = new ScriptedSelector();
  const loop = new EventLoop({ clock, selector });
  const timer = loop.callLater(250, cbNever);
  loop.callSoon(() => 0);
  loop.runOnce(); // something ready: poll
  loop.runOnce(30); // timer in 250, but at most 30
  clock.nowMs = 100;
  loop.runOnce(); // 150 left
  timer.cancel();
  loop.runOnce(); // nothing at all: the cap
  assert.deepEqual(selector.timeouts, [0, 30, 150, MAX_SELECT_TIMEOUT_MS]);
  assert.equal(MAX_SELECT_TIMEOUT_MS, 2 ** 31 - 1);
  assertLoopClean(loop);
});

test('a virtual loop jumps only as far as runOnce(timeoutMs) allows: a timer beyond the limit waits (selector asked for the limit)', () => {
  const selector = new ScriptedSelector(); // no fds registered: autojump is allowed
  const loop = virtualLoop({ selector });
  const log = new Log();
  loop.callLater(250, () => log.push(`timer at ${loop.time()}`));
  loop.runOnce(30);
  assert.deepEqual([loop.time(), selector.timeouts], [0, [30]]);
  log.assert([]);
  loop.runOnce(250);
  assert.deepEqual([loop.time(), selector.timeouts], [250, [30, 0]]);
  log.assert(['timer at 250']);
  assertLoopClean(loop);
});

// ----------------------------------------------------------- run and stop

test('stop() before runForever() makes it run exactly one tick, without waiting for timers (asyncio test_base_events: test_run_forever_pre_stopped)', async () => {
  const loop = virtualLoop();
  const log = new Log();
  const timer = loop.callLater(10, () => log.push('timer'));
  loop.callSoon(() => {
    log.push('tick 1');
    loop.callSoon(() => log.push('tick 2'));
  });
  loop.stop();
  await loop.runForever();
  log.assert(['tick 1']);
  assert.deepEqual([loop.isRunning(), loop.time()], [false, 0]);
  // The stop request was used up: the next run goes on until the next stop.
  loop.callSoon(() => loop.stop());
  await loop.runForever();
  log.assert(['tick 2']);
  timer.cancel();
  assertLoopClean(loop);
});

test('stop() inside a callback lets the current batch finish, then runForever returns (asyncio test_base_events: test_run_once idiom call_soon(stop); run_forever())', async () => {
  const loop = virtualLoop();
  const log = new Log();
  loop.callSoon(() => {
    log.push('a');
    loop.stop();
    loop.callSoon(() => log.push('c (next tick)'));
  });
  loop.callSoon(() => log.push('b'));
  await loop.runForever();
  log.assert(['a', 'b']);
  assert.equal(loop.statistics().ready, 1);
  loop.runOnce(0);
  log.assert(['c (next tick)']);
  assertLoopClean(loop);
});

test('isRunning() is true inside runForever and false before and after (asyncio test_events: test_run_forever)', async () => {
  const loop = virtualLoop();
  const log = new Log();
  log.push(`before ${loop.isRunning()}`);
  loop.callSoon(() => {
    log.push(`inside ${loop.isRunning()}`);
    loop.stop();
  });
  await loop.runForever();
  log.push(`after ${loop.isRunning()}`);
  log.assert(['before false', 'inside true', 'after false']);
  assertLoopClean(loop);
});

test('runForever / runUntilComplete / runOnce while running are refused with RuntimeError and the running loop is undisturbed (asyncio test_events: test_run_until_complete_nesting)', async () => {
  const loop = virtualLoop();
  const log = new Log();
  const refusals: Promise<unknown>[] = [];
  loop.callSoon(() => {
    log.push('first');
    const nestedForever = loop.runForever();
    const nestedUntil = loop.runUntilComplete(loop.createFuture());
    // Handled at once so that Node never sees an unhandled rejection.
    for (const p of [nestedForever, nestedUntil]) refusals.push(p.then(() => 'resolved', (e: Error) => `${e.name}: ${e.message}`));
    try {
      loop.runOnce(0);
    } catch (error) {
      log.push(`${(error as Error).name}: ${(error as Error).message}`);
    }
  });
  loop.callSoon(() => log.push('second'));
  loop.callLater(5, () => {
    log.push(`timer at ${loop.time()}`);
    loop.stop();
  });
  await loop.runForever();
  log.assert(['first', 'RuntimeError: runOnce: called from inside a callback of the same loop', 'second', 'timer at 5']);
  assert.deepEqual(await Promise.all(refusals), [
    'RuntimeError: runForever: this event loop is already running',
    'RuntimeError: runUntilComplete: this event loop is already running',
  ]);
  assertLoopClean(loop);
});

test('close() while running is refused with RuntimeError and the loop goes on (asyncio test_events: test_close_running_event_loop)', async () => {
  const loop = virtualLoop();
  const log = new Log();
  loop.callSoon(() => {
    assert.throws(() => loop.close(), { name: 'RuntimeError', message: 'close: cannot close a running event loop' });
    log.push(`closed ${loop.isClosed()}`);
    loop.callSoon(() => {
      log.push('still running');
      loop.stop();
    });
  });
  await loop.runForever();
  log.assert(['closed false', 'still running']);
  assertLoopClean(loop);
  assert.equal(loop.isClosed(), true);
});

test('runForever lets promise continuations queued in a tick run before the next tick', async () => {
  const loop = virtualLoop();
  const log = new Log();
  loop.callSoon(() => {
    log.push('cb1');
    void Promise.resolve().then(() => log.push('microtask from cb1'));
    loop.callSoon(() => {
      log.push('next tick');
      loop.stop();
    });
  });
  loop.callSoon(() => log.push('cb2'));
  await loop.runForever();
  log.assert(['cb1', 'cb2', 'microtask from cb1', 'next tick']);
  assertLoopClean(loop);
});

test('runForever lets Node setTimeout, fs.promises and native promises progress while the loop waits on a far timer', { timeout: 30_000 }, async () => {
  const loop = new EventLoop();
  const log = new Log();
  const far = loop.callLater(60_000, () => log.push('far timer'));
  const outside = (async () => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    log.push('setTimeout');
    const text = await fsPromises.readFile(new URL(import.meta.url), 'utf8');
    log.push(`read ${text.includes('ScriptedSelector')}`);
    await Promise.resolve();
    log.push('promise');
    loop.callSoon(() => {
      log.push('callback from outside');
      loop.stop();
    });
  })();
  await loop.runForever();
  await outside;
  log.assert(['setTimeout', 'read true', 'promise', 'callback from outside']);
  far.cancel();
  assertLoopClean(loop);
});

test('a loop with nothing scheduled waits for the outside world: callSoon from a Node timer wakes it', { timeout: 30_000 }, async () => {
  const loop = virtualLoop();
  const log = new Log();
  setTimeout(() => {
    log.push('node timer');
    loop.callSoon(() => {
      log.push('woken');
      loop.stop();
    });
  }, 1);
  await loop.runForever();
  log.assert(['node timer', 'woken']);
  assert.equal(loop.time(), 0);
  assertLoopClean(loop);
});

// --------------------------------------------------------------- closing

test('close() is idempotent, marks the loop closed and drops queued callbacks and timers (asyncio test_base_events: test_close)', () => {
  const loop = virtualLoop();
  const soon = loop.callSoon(cbNever);
  const later = loop.callLater(10, cbNever);
  assert.equal(loop.isClosed(), false);
  loop.close();
  assert.equal(loop.isClosed(), true);
  loop.close();
  loop.close();
  assert.deepEqual([soon.cancelled(), later.cancelled()], [true, true]);
  const stats = loop.statistics();
  assert.deepEqual([stats.ready, stats.timers, stats.cancelledTimers], [0, 0, 0]);
  assertLoopClean(loop);
});

test('every scheduling and running method of a closed loop throws RuntimeError naming the method (asyncio test_events: test_close)', async () => {
  const loop = virtualLoop();
  loop.close();
  const sync: [string, () => unknown][] = [
    ['callSoon', () => loop.callSoon(cbNever)],
    ['callLater', () => loop.callLater(10, cbNever)],
    ['callAt', () => loop.callAt(10, cbNever)],
    ['runOnce', () => loop.runOnce(0)],
    ['createTask', () => loop.createTask(function* () {})],
    ['addReader', () => loop.addReader(0, cbNever)],
    ['addWriter', () => loop.addWriter(1, cbNever)],
  ];
  for (const [method, call] of sync) {
    assert.throws(call, { name: 'RuntimeError', message: `${method}: the event loop is closed` }, method);
  }
  await assert.rejects(loop.runForever(), { name: 'RuntimeError', message: 'runForever: the event loop is closed' });
  await assert.rejects(loop.runUntilComplete(function* () {}), {
    name: 'RuntimeError',
    message: 'runUntilComplete: the event loop is closed',
  });
  assert.equal(loop.allTasks().length, 0);
  assertLoopClean(loop);
});

test('removeReader / removeWriter on a closed loop return false', () => {
  const loop = virtualLoop();
  loop.close();
  assert.deepEqual([loop.removeReader(0), loop.removeWriter(0)], [false, false]);
  assertLoopClean(loop);
});

// ------------------------------------------------------------- bad input

test('callSoon with a non-function is a TypeError naming "callSoon: callback" and the value (asyncio test_base_events: test_call_soon_non_callable)', () => {
  const loop = virtualLoop();
  for (const [bad, shown] of [
    [42, '42'],
    [undefined, 'undefined'],
    ['cb', '"cb"'],
    [Promise.resolve(), 'a Promise'],
  ] as const) {
    assert.throws(() => loop.callSoon(bad as unknown as () => void), {
      name: 'TypeError',
      message: `callSoon: callback must be a function, got ${shown}`,
    });
  }
  assertLoopClean(loop);
});

test('callLater / callAt refuse NaN (RangeError) and non-number times (TypeError), naming the argument', () => {
  const loop = virtualLoop();
  const cases: [() => unknown, string, string][] = [
    [() => loop.callLater(NaN, cbNever), 'RangeError', 'callLater: delayMs must be a number of milliseconds, got NaN'],
    [() => loop.callLater('5' as unknown as number, cbNever), 'TypeError', 'callLater: delayMs must be a number of milliseconds, got "5"'],
    [() => loop.callAt(NaN, cbNever), 'RangeError', 'callAt: whenMs must be a number of milliseconds, got NaN'],
    [() => loop.callAt(undefined as unknown as number, cbNever), 'TypeError', 'callAt: whenMs must be a number of milliseconds, got undefined'],
  ];
  for (const [call, name, message] of cases) assert.throws(call, { name, message });
  assertLoopClean(loop);
});

test('callLater(Infinity) / callAt(Infinity) never fire but can be cancelled; callAt(-Infinity) is due at once (asyncio accepts math.inf both ways)', async () => {
  const loop = virtualLoop();
  const log = new Log();
  const never = loop.callLater(Infinity, () => log.push('never'));
  const neverAt = loop.callAt(Infinity, () => log.push('never at'));
  assert.equal(never.when(), Infinity);
  loop.callAt(-Infinity, () => log.push('at -Infinity'));
  loop.callLater(5, () => log.push('at 5'));
  loop.runOnce(0);
  log.assert(['at -Infinity']);
  loop.runOnce();
  log.assert(['at 5']);
  assert.equal(loop.time(), 5);
  // Only the infinite timers are left: the virtual clock does not jump to them.
  loop.runOnce(0);
  assert.equal(loop.time(), 5);
  assert.equal(loop.statistics().timers, 2);
  never.cancel();
  neverAt.cancel();
  loop.runOnce(0);
  assert.equal(loop.statistics().timers, 0);
  log.assert([]);
  assertLoopClean(loop);
});

test('callLater / callAt with a non-function callback name their own method', () => {
  const loop = virtualLoop();
  assert.throws(() => loop.callLater(5, 'cb' as unknown as () => void), {
    name: 'TypeError',
    message: 'callLater: callback must be a function, got "cb"',
  });
  assert.throws(() => loop.callAt(5, null as unknown as () => void), {
    name: 'TypeError',
    message: 'callAt: callback must be a function, got null',
  });
  assertLoopClean(loop);
});

test('options that are not an object are a TypeError naming the call, not a silent normal priority: callSoon, callLater, callAt; null means none', () => {
  const loop = virtualLoop();
  const cases: [() => unknown, string][] = [
    [() => loop.callSoon(cbNever, 'high' as unknown as { priority: Priority }), `callSoon: options must be an object such as { priority: 'high' }, got "high"`],
    [() => loop.callLater(1, cbNever, 5 as unknown as { priority: Priority }), `callLater: options must be an object such as { priority: 'high' }, got 5`],
    [() => loop.callAt(1, cbNever, true as unknown as { priority: Priority }), `callAt: options must be an object such as { priority: 'high' }, got true`],
  ];
  for (const [call, message] of cases) assert.throws(call, { name: 'TypeError', message });
  assert.equal(loop.statistics().ready + loop.statistics().timers, 0);
  const log = new Log();
  loop.callSoon(() => log.push('null options'), null as unknown as undefined);
  loop.runOnce(0);
  log.assert(['null options']);
  assertLoopClean(loop);
});

test('a bad priority name is a TypeError naming the call and listing the valid ones, for callSoon, callLater and callAt', () => {
  const loop = virtualLoop();
  const valid = "'critical', 'high', 'normal', 'low', 'idle'";
  assert.throws(() => loop.callSoon(cbNever, { priority: 'urgent' as Priority }), {
    name: 'TypeError',
    message: `callSoon: options.priority must be one of ${valid}, got "urgent"`,
  });
  assert.throws(() => loop.callLater(0, cbNever, { priority: 'NORMAL' as Priority }), {
    name: 'TypeError',
    message: `callLater: options.priority must be one of ${valid}, got "NORMAL"`,
  });
  assert.throws(() => loop.callAt(0, cbNever, { priority: 1 as unknown as Priority }), {
    name: 'TypeError',
    message: `callAt: options.priority must be one of ${valid}, got 1`,
  });
  assertLoopClean(loop);
});

test('after every refused call the loop still runs all the good callbacks queued before and after: nothing dropped, nothing stray', () => {
  const loop = virtualLoop();
  const log = new Log();
  const badCalls: (() => unknown)[] = [
    () => loop.callSoon(42 as unknown as () => void),
    () => loop.callLater(NaN, cbNever),
    () => loop.callLater('1' as unknown as number, cbNever),
    () => loop.callLater(1, {} as unknown as () => void),
    () => loop.callAt(NaN, cbNever),
    () => loop.callSoon(cbNever, { priority: 'urgent' as Priority }),
    () => loop.callLater(0, cbNever, { priority: 'nope' as Priority }),
    () => loop.runOnce(-1),
    () => loop.runOnce(NaN),
    () => loop.addReader(-1, cbNever),
    () => loop.setExceptionHandler('spam' as unknown as null),
  ];
  loop.callSoon(() => log.push('before'));
  loop.callLater(0, () => log.push('timer before'));
  badCalls.forEach((call, i) => {
    assert.throws(call);
    loop.callSoon(() => log.push(`after ${i}`));
  });
  const stats = loop.statistics();
  assert.deepEqual([stats.ready, stats.timers, stats.cancelledTimers, stats.readers], [1 + badCalls.length, 1, 0, 0]);
  assert.equal(loop.getExceptionHandler(), null);
  loop.runOnce(0);
  log.assert(['before', ...badCalls.map((_, i) => `after ${i}`), 'timer before']);
  assertLoopClean(loop);
});

test('runOnce refuses a negative or NaN timeout with a RangeError', () => {
  const loop = virtualLoop();
  assert.throws(() => loop.runOnce(-1), { name: 'RangeError', message: 'runOnce: timeoutMs must be >= 0, got -1' });
  assert.throws(() => loop.runOnce(NaN), { name: 'RangeError', message: 'runOnce: timeoutMs must be >= 0, got NaN' });
  assertLoopClean(loop);
});

// ------------------------------------------------------------ exceptions

test('an exception in a callback goes to the exception handler with {message, exception, handle}, and the next callbacks still run (asyncio test_base_events: test_set_exc_handler_custom)', () => {
  const loop = virtualLoop();
  const log = new Log();
  const seen: [ExceptionContext, unknown][] = [];
  loop.setExceptionHandler((context, handlerLoop) => void seen.push([context, handlerLoop]));
  const error = new Error('boom');
  function zeroError(): void {
    throw error;
  }
  const handle = loop.callSoon(zeroError);
  loop.callSoon(() => log.push('next'));
  loop.runOnce(0);
  log.assert(['next']);
  assert.equal(seen.length, 1);
  const [context, handlerLoop] = seen[0] as [ExceptionContext, unknown];
  assert.equal(handlerLoop, loop);
  assert.deepEqual(Object.keys(context).sort(), ['exception', 'handle', 'message']);
  assert.equal(context.message, 'Exception in callback <Handle zeroError>');
  assert.equal(context.exception, error);
  assert.equal(context.handle, handle);
  assertLoopClean(loop);
});

test('an exception in a timer callback names the TimerHandle', () => {
  const loop = virtualLoop();
  const messages: string[] = [];
  loop.setExceptionHandler((context) => void messages.push(context.message));
  function lateFailure(): void {
    throw new TypeError('late');
  }
  loop.callLater(10, lateFailure);
  loop.runOnce();
  assert.deepEqual(messages, ['Exception in callback <TimerHandle lateFailure>']);
  assertLoopClean(loop);
});

test('with no handler set, the default handler logs the message, the handle and the stack through the logger (asyncio test_base_events: test_default_exc_handler_callback)', () => {
  const logger = recordingLogger();
  const loop = virtualLoop({ logger });
  function zeroError(): void {
    throw new RangeError('division by zero');
  }
  loop.callSoon(zeroError);
  loop.runOnce(0);
  assert.equal(logger.errors.length, 1);
  const [line0, line1, line2] = (logger.errors[0] as string).split('\n');
  assert.deepEqual([line0, line1, line2], [
    'eventide: Exception in callback <Handle zeroError>',
    '  handle: <Handle zeroError>',
    'RangeError: division by zero',
  ]);
  assert.match(logger.errors[0] as string, /\n    at \S*zeroError/, 'the stack is logged');
  assert.deepEqual(logger.warnings, []);
  assertLoopClean(loop);
});

test('a handler that reports again (calls callExceptionHandler) reaches the default handler once, with no recursion', () => {
  const logger = recordingLogger();
  const loop = virtualLoop({ logger });
  const handled: string[] = [];
  loop.setExceptionHandler((context, l) => {
    handled.push(context.message);
    l.callExceptionHandler({ message: `again: ${context.message}` });
  });
  loop.callExceptionHandler({ message: 'first' });
  assert.deepEqual(handled, ['first']);
  assert.deepEqual(logger.errors, ['eventide: again: first']);
  assertLoopClean(loop);
});

test('a handler that throws is reported through the default handler with both errors, and the loop goes on (asyncio test_base_events: test_set_exc_handler_broken)', () => {
  const logger = recordingLogger();
  const loop = virtualLoop({ logger });
  const log = new Log();
  loop.setExceptionHandler(() => {
    throw new Error('handler broke');
  });
  function zeroError(): void {
    throw new Error('original failure');
  }
  loop.callSoon(zeroError);
  loop.callSoon(() => log.push('after'));
  loop.runOnce(0);
  log.assert(['after']);
  assert.equal(logger.errors.length, 2);
  const [original, broken] = logger.errors as [string, string];
  assert.match(original, /^eventide: Exception in callback <Handle zeroError>\n  handle: <Handle zeroError>\nError: original failure\n/);
  assert.match(broken, /^eventide: Unhandled error in exception handler\n  context: Exception in callback <Handle zeroError>\nError: handler broke\n/);
  assertLoopClean(loop);
});

test('setExceptionHandler refuses a non-function with a TypeError; null restores the default (asyncio test_base_events: test_set_exc_handler_invalid)', () => {
  const logger = recordingLogger();
  const loop = virtualLoop({ logger });
  assert.throws(() => loop.setExceptionHandler('spam' as unknown as null), {
    name: 'TypeError',
    message: 'setExceptionHandler: handler must be a function, got "spam"',
  });
  assert.equal(loop.getExceptionHandler(), null);
  const custom = (): void => {};
  loop.setExceptionHandler(custom);
  assert.equal(loop.getExceptionHandler(), custom);
  loop.setExceptionHandler(null);
  assert.equal(loop.getExceptionHandler(), null);
  loop.callExceptionHandler({ message: 'to the default' });
  assert.deepEqual(logger.errors, ['eventide: to the default']);
  assertLoopClean(loop);
});

test('callExceptionHandler passes the context object through unchanged, extra fields included', () => {
  const loop = virtualLoop();
  const seen: ExceptionContext[] = [];
  loop.setExceptionHandler((context) => void seen.push(context));
  const context: ExceptionContext = { message: 'custom', future: 'f', extra: 1 };
  loop.callExceptionHandler(context);
  assert.equal(seen[0], context);
  assert.deepEqual(seen[0], { message: 'custom', future: 'f', extra: 1 });
  assertLoopClean(loop);
});

// ----------------------------------------------------------------- debug

test('setDebug / getDebug, and the debug constructor option (asyncio test_base_events: test_set_debug)', () => {
  const loop = virtualLoop();
  assert.equal(loop.getDebug(), false);
  loop.setDebug(true);
  assert.equal(loop.getDebug(), true);
  loop.setDebug(false);
  assert.equal(loop.getDebug(), false);
  assertLoopClean(loop);
  const debugLoop = virtualLoop({ debug: true });
  assert.equal(debugLoop.getDebug(), true);
  assertLoopClean(debugLoop);
});

test('debug mode: a slow callback is reported with its name and where it was created (asyncio test_base_events: test_debug_slow_callbacks)', () => {
  const logger = recordingLogger();
  const loop = virtualLoop({ debug: true, traceHandles: true, slowCallbackDurationMs: 0, logger });
  function slowCallback(): void {}
  loop.callSoon(slowCallback);
  loop.runOnce(0);
  assert.equal(logger.warnings.length, 1);
  const warning = logger.warnings[0] as string;
  assert.match(warning, /^eventide: executing <Handle slowCallback> took \d+\.\d{3} ms\ncreated at:\n/);
  assert.match(warning, /base-event-loop\.test\.js/, 'the creation stack points at this test file');
  assert.doesNotMatch(warning, /\/src\/core\//, "eventide's own frames are left out");
  assertLoopClean(loop);
});

test('debug mode: a slow timer callback is reported as a TimerHandle (asyncio test_base_events: test_debug_slow_timer_callbacks)', () => {
  const logger = recordingLogger();
  const loop = virtualLoop({ debug: true, slowCallbackDurationMs: 0, logger });
  function slowTimer(): void {}
  loop.callLater(10, slowTimer);
  loop.runOnce();
  assert.equal(logger.warnings.length, 1);
  assert.match(logger.warnings[0] as string, /^eventide: executing <TimerHandle slowTimer> took /);
  assertLoopClean(loop);
});

test('debug mode: a slow handle that ran a task step is reported as a step of its task, with where the task was created: its first step, a wake-up, a sleep timer', () => {
  const logger = recordingLogger();
  const loop = virtualLoop({ debug: true, slowCallbackDurationMs: 0, logger });
  const fut = loop.createFuture<number>();
  const hog = loop.createTask(
    function* () {
      yield* fut; // woken by a done-callback handle whose arg is fut, not the task
      yield* sleep(1); // woken by a timer handle
    },
    { name: 'hog' },
  );
  loop.callSoon(function settle() {
    fut.setResult(1);
  });
  loop.runOnce(0);
  loop.runOnce(0);
  loop.runOnce();
  assert.equal(hog.done(), true);
  const step = `step of task "hog" #${hog.id}`;
  assert.deepEqual(
    logger.warnings.map((w) => /^eventide: executing (.*) took \d+\.\d{3} ms/.exec(w)?.[1]),
    [step, '<Handle settle>', step, step],
  );
  for (const i of [0, 2, 3]) assert.match(logger.warnings[i] as string, /\ncreated at:\n.*base-event-loop\.test\.js/s, `warning ${i} shows where hog was created`);
  assertLoopClean(loop);
});

test('without debug mode nothing is timed or reported, whatever slowCallbackDurationMs says', () => {
  const logger = recordingLogger();
  const loop = virtualLoop({ slowCallbackDurationMs: 0, logger });
  const handle = loop.callSoon(() => {});
  assert.equal(handle.sourceStack, undefined);
  loop.runOnce(0);
  assert.deepEqual(logger.warnings, []);
  assertLoopClean(loop);
});

test('debug mode with traceHandles records where each handle was created (asyncio test_events HandleTests: test_handle_source_traceback)', () => {
  const loop = virtualLoop({ debug: true, traceHandles: true });
  const handle = loop.callSoon(() => {});
  const timer = loop.callLater(1, () => {});
  for (const h of [handle, timer]) {
    assert.equal(typeof h.sourceStack, 'string');
    assert.match(h.sourceStack as string, /base-event-loop\.test\.js/);
  }
  loop.runOnce();
  loop.runOnce();
  assertLoopClean(loop);
});

test('debug mode alone records no handle traces (they cost ~50 callSoons each); setDebug keeps traceHandles', () => {
  const loop = virtualLoop({ debug: true });
  assert.equal(loop.callSoon(() => {}).sourceStack, undefined);
  const traced = virtualLoop({ traceHandles: true });
  assert.equal(traced.callSoon(() => {}).sourceStack, undefined, 'traceHandles only acts in debug mode');
  traced.setDebug(true);
  assert.match(traced.callSoon(() => {}).sourceStack as string, /base-event-loop\.test\.js/);
  for (const l of [loop, traced]) {
    l.runOnce(0);
    assertLoopClean(l);
  }
});

// ------------------------------------------------------------------- I/O

test('addReader / addWriter on a TimerOnlySelector loop throw a TypeError naming the selector and suggesting EpollSelector', () => {
  const loop = virtualLoop();
  assert.throws(() => loop.addReader(3, cbNever), {
    name: 'TypeError',
    message:
      "addReader(3): this loop's selector (TimerOnlySelector) watches no file descriptors; " +
      "create the loop with an fd selector (EpollSelector from 'eventide/node')",
  });
  assert.throws(() => loop.addWriter(4, cbNever), {
    name: 'TypeError',
    message:
      "addWriter(4): this loop's selector (TimerOnlySelector) watches no file descriptors; " +
      "create the loop with an fd selector (EpollSelector from 'eventide/node')",
  });
  assert.deepEqual([loop.statistics().readers, loop.statistics().writers], [0, 0]);
  assertLoopClean(loop);
});

test('addReader / addWriter check the fd and the callback first, naming the method and the value', () => {
  const loop = new EventLoop({ clock: manualClock(), selector: new ScriptedSelector() });
  for (const [bad, shown] of [
    [-1, '-1'],
    [1.5, '1.5'],
    ['3', '"3"'],
  ] as const) {
    assert.throws(() => loop.addReader(bad as number, cbNever), {
      name: 'TypeError',
      message: `addReader: fd must be a non-negative integer, got ${shown}`,
    });
  }
  assert.throws(() => loop.addWriter(3, 'cb' as unknown as () => void), {
    name: 'TypeError',
    message: 'addWriter: callback must be a function, got "cb"',
  });
  assert.deepEqual([loop.statistics().readers, loop.statistics().writers], [0, 0]);
  assertLoopClean(loop);
});

test('removeReader / removeWriter of an fd that has none return false (asyncio test_selector_events: test_remove_reader / test_remove_writer)', () => {
  const loop = virtualLoop();
  assert.deepEqual([loop.removeReader(7), loop.removeWriter(7)], [false, false]);
  const scripted = new EventLoop({ clock: manualClock(), selector: new ScriptedSelector() });
  scripted.addReader(5, cbNever);
  assert.deepEqual([scripted.removeWriter(5), scripted.removeReader(6)], [false, false]);
  assert.equal(scripted.removeReader(5), true);
  assert.equal(scripted.removeReader(5), false);
  assertLoopClean(loop);
  assertLoopClean(scripted);
});

test('steps 2–3: a reader runs on every tick its fd is reported readable, until removed; the selector sees register/modify/unregister with the right masks', () => {
  const selector = new ScriptedSelector();
  const loop = new EventLoop({ clock: manualClock(), selector });
  const log = new Log();
  loop.addReader(5, () => log.push('read 5'));
  loop.addWriter(5, () => log.push('write 5'));
  loop.addWriter(6, () => log.push('write 6'));
  assert.deepEqual(selector.calls, [`register 5 ${EVENT_READ}`, `modify 5 ${EVENT_READ | EVENT_WRITE}`, `register 6 ${EVENT_WRITE}`]);
  assert.deepEqual([loop.statistics().readers, loop.statistics().writers], [1, 2]);

  selector.next = [[5, EVENT_READ | EVENT_WRITE], [6, EVENT_WRITE]];
  loop.runOnce();
  log.assert(['read 5', 'write 5', 'write 6']);
  selector.next = [[5, EVENT_READ]];
  loop.runOnce();
  log.assert(['read 5']);

  assert.equal(loop.removeReader(5), true);
  assert.equal(loop.removeWriter(6), true);
  assert.deepEqual(selector.calls.slice(3), [`modify 5 ${EVENT_WRITE}`, 'unregister 6']);
  selector.next = [[5, EVENT_READ]]; // readable, but no reader any more
  loop.runOnce();
  log.assert([]);
  assert.equal(loop.removeWriter(5), true);
  assert.deepEqual(selector.calls.slice(5), ['unregister 5']);
  assertLoopClean(loop);
  assert.deepEqual(selector.calls.slice(6), ['close']);
});

test('fd callbacks join the ready queue in their lane: a critical reader runs before normal callbacks already waiting', () => {
  const selector = new ScriptedSelector();
  const loop = new EventLoop({ clock: manualClock(), selector });
  const log = new Log();
  loop.addReader(3, () => log.push('critical reader'), { priority: 'critical' });
  loop.addReader(4, () => log.push('normal reader'));
  loop.callSoon(() => log.push('normal soon'));
  selector.next = [[4, EVENT_READ], [3, EVENT_READ]];
  loop.runOnce();
  log.assert(['critical reader', 'normal soon', 'normal reader']);
  loop.removeReader(3);
  loop.removeReader(4);
  assertLoopClean(loop);
});

test('addReader for an fd that already has one replaces it and cancels the old handle', () => {
  const selector = new ScriptedSelector();
  const loop = new EventLoop({ clock: manualClock(), selector });
  const log = new Log();
  const first = loop.addReader(5, () => log.push('first'));
  const second = loop.addReader(5, () => log.push('second'));
  assert.deepEqual([first.cancelled(), second.cancelled()], [true, false]);
  assert.deepEqual(selector.calls, [`register 5 ${EVENT_READ}`, `modify 5 ${EVENT_READ}`]);
  selector.next = [[5, EVENT_READ]];
  loop.runOnce();
  log.assert(['second']);
  loop.removeReader(5);
  assertLoopClean(loop);
});

test('an fd the selector refuses disturbs nothing: the error propagates and the tables stay as they were', () => {
  const selector = new ScriptedSelector();
  const loop = new EventLoop({ clock: manualClock(), selector });
  const log = new Log();
  selector.refuse = 9;
  assert.throws(() => loop.addReader(9, cbNever), { message: 'EBADF: fd 9 is not open' });
  assert.deepEqual([loop.statistics().readers, selector.fdCount], [0, 0]);
  assert.equal(loop.removeReader(9), false);
  loop.addReader(8, () => log.push('eight'));
  selector.next = [[8, EVENT_READ]];
  loop.runOnce();
  log.assert(['eight']);
  loop.removeReader(8);
  assertLoopClean(loop);
});

test('a virtual clock does not jump while fds are watched: the selector is asked to wait the real remaining time', () => {
  const selector = new ScriptedSelector();
  const loop = virtualLoop({ selector });
  const log = new Log();
  loop.addReader(5, cbNever);
  loop.callLater(250, () => log.push(`timer at ${loop.time()}`));
  loop.runOnce();
  assert.deepEqual(selector.timeouts, [250]);
  assert.equal(loop.time(), 0);
  log.assert([]);
  loop.removeReader(5);
  loop.runOnce();
  log.assert(['timer at 250']);
  assertLoopClean(loop);
});

// ---------------------------------------------------------- running loop

test('getRunningLoop() returns the loop inside its callbacks and throws RuntimeError outside (asyncio test_events: get_running_loop)', () => {
  assert.throws(() => getRunningLoop(), { name: 'RuntimeError', message: 'no running event loop' });
  const loop = virtualLoop();
  const other = virtualLoop();
  const seen: unknown[] = [];
  loop.callSoon(() => {
    seen.push(getRunningLoop());
    other.callSoon(() => seen.push(getRunningLoop()));
    other.runOnce(0); // a different loop may tick inside: it is the running one there
    seen.push(getRunningLoop());
  });
  loop.runOnce(0);
  assert.deepEqual(
    seen.map((l) => (l === loop ? 'loop' : l === other ? 'other' : 'unknown')),
    ['loop', 'other', 'loop'],
  );
  assert.throws(() => getRunningLoop(), { name: 'RuntimeError' });
  assertLoopClean(loop);
  assertLoopClean(other);
});

test('getRunningLoop() works in a promise continuation between ticks of the one loop inside runForever', async () => {
  const loop = virtualLoop();
  const seen: boolean[] = [];
  loop.callSoon(() => {
    void Promise.resolve().then(() => {
      seen.push(getRunningLoop() === loop);
      loop.stop();
    });
  });
  await loop.runForever();
  assert.deepEqual(seen, [true]);
  assert.throws(() => getRunningLoop(), { name: 'RuntimeError' });
  assertLoopClean(loop);
});

// ------------------------------------------------------------ statistics

test('statistics() is a frozen snapshot of the queues: ready per lane, live and cancelled timers, readers, writers', () => {
  const selector = new ScriptedSelector();
  const loop = new EventLoop({ clock: manualClock(), selector });
  loop.callSoon(() => 0);
  loop.callSoon(() => 0, { priority: 'critical' });
  loop.callSoon(() => 0, { priority: 'idle' });
  loop.callSoon(() => 0, { priority: 'idle' });
  const t1 = loop.callLater(10, cbNever);
  const t2 = loop.callLater(20, cbNever);
  const t3 = loop.callLater(30, cbNever);
  t2.cancel();
  loop.addReader(3, cbNever);
  loop.addWriter(3, cbNever);
  loop.addWriter(4, cbNever);
  const stats = loop.statistics();
  assert.deepEqual(stats, { ready: 4, readyByLane: [1, 0, 1, 0, 2], timers: 2, cancelledTimers: 1, readers: 1, writers: 2, deadlinesMissed: 0 });
  assert.ok(Object.isFrozen(stats) && Object.isFrozen(stats.readyByLane));
  loop.runOnce(0);
  assert.equal(stats.ready, 4, 'a snapshot does not change afterwards');
  assert.deepEqual(loop.statistics().readyByLane, [0, 0, 0, 0, 0]);
  t1.cancel();
  t3.cancel();
  loop.removeReader(3);
  loop.removeWriter(3);
  loop.removeWriter(4);
  assertLoopClean(loop);
});

// ------------------------------------------------------------------ tasks

test("a new task's first step is scheduled on the ready queue, not run inline (asyncio test_tasks: test_task_basics)", () => {
  const loop = virtualLoop();
  const log = new Log();
  const task = loop.createTask(function* () {
    log.push('task step');
  });
  log.push('after createTask');
  assert.equal(loop.statistics().ready, 1);
  loop.runOnce(0);
  log.assert(['after createTask', 'task step']);
  assert.equal(task.done(), true);
  assertLoopClean(loop);
});

test('callSoonThreadsafe queues at the given priority and wakes a runOnce blocked in the selector (issue 4)', async () => {
  const { Worker } = await import('node:worker_threads');
  const loop = new EventLoop();
  const log: string[] = [];
  loop.callSoon(() => log.push('normal'));
  loop.callSoonThreadsafe(() => log.push('critical'), { priority: 'critical' });
  loop.runOnce(0);
  assert.deepEqual(log, ['critical', 'normal']);
  // A blocked select (no timers: it would wait forever) ends when another
  // thread writes the selector's shared wake-up word, as callSoonThreadsafe's
  // selector.wakeup() does on this thread.
  const selector = loop.selector as TimerOnlySelector;
  const worker = new Worker(
    'const { workerData } = require("node:worker_threads"); const v = new Int32Array(workerData); setTimeout(() => { Atomics.store(v, 0, 1); Atomics.notify(v, 0); }, 20);',
    { eval: true, workerData: selector.wakeupBuffer },
  );
  loop.runOnce(); // returns once woken
  await worker.terminate();
  assertLoopClean(loop);
});
