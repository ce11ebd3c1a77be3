/**
 * GuestDriver (src/hosts/guest.ts): eventide as a guest of another loop.
 *
 * Every test drives the loop through FakeHost and logs, in one sequence,
 * every request the driver makes of its host ('soon', 'later N',
 * 'cancel N', 'watch fd', 'unwatch fd'), the host's own work ('host:…')
 * and what guest callbacks do. Time is the fake host's: it moves only when
 * a host timer fires, and guest "work" advances it explicitly.
 *
 * One test per failure mode of existing integrations (issue 6): a stale
 * wait after a host callback schedules work or moves a deadline earlier,
 * promise continuations after every guest turn, starvation of the host
 * (budget per turn), re-entrance from a nested host loop, FIFO within a
 * lane across turns cut short.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { RuntimeError } from '../../src/core/errors.js';
import { GuestDriver, type GuestHost } from '../../src/hosts/guest.js';
import { EventLoop } from '../../src/tasks/event-loop.js';
import { sleep, until } from '../../src/tasks/operation.js';
import { assertLoopClean } from '../../src/testing.js';
import { Log } from '../log.js';
import { FakeFdSelector, FakeHost } from './fake-host.js';
import { FakeContext } from '../tasks/fake-context.js';

function setup(options: { budgetMs?: number; selector?: FakeFdSelector } = {}): { log: Log; host: FakeHost; loop: EventLoop; driver: GuestDriver } {
  const log = new Log();
  const host = new FakeHost(log);
  const loop = new EventLoop({ clock: host.clock, ...(options.selector ? { selector: options.selector } : {}) });
  const driver = new GuestDriver(loop, host, options.budgetMs === undefined ? {} : { budgetMs: options.budgetMs });
  return { log, host, loop, driver };
}

/** A guest callback that logs `label` and takes `costMs` of (fake) time. */
function work(log: Log, host: FakeHost, label: string, costMs = 0): () => void {
  return () => {
    log.push(label);
    host.nowMs += costMs;
  };
}

/** Stops the driver from outside, lets it finish, checks the loop is clean and closes it. */
async function finish(log: Log, host: FakeHost, loop: EventLoop, stopped: Promise<void>): Promise<void> {
  loop.stop();
  await host.runUntilIdle();
  await stopped;
  assert.equal(loop.isRunning(), false);
  log.assert(['soon'], 'stop() while idle asks for one turn, which ends the driver');
  assert.deepEqual(host.pendingTimers(), [], 'no host timer left behind');
  assertLoopClean(loop);
  log.assertEmpty();
}

test('start() asks for a soon callback when work is ready and runs no tick inline; one tick per host callback', async () => {
  const { log, host, loop, driver } = setup();
  loop.callSoon(work(log, host, 'a'));
  const stopped = driver.start();
  log.assert(['soon']);
  assert.equal(loop.isRunning(), true, 'a driven loop counts as running');
  await host.step();
  log.assert(['a'], 'after the tick nothing is ready and no timer is pending: no request at all');
  assert.equal(host.queuedTasks, 0);
  await finish(log, host, loop, stopped);
  assert.equal(driver.statistics().turns, 2);
});

test('a pending timer becomes one host timer for its remaining time; the host timer runs the tick that fires it', async () => {
  const { log, host, loop, driver } = setup();
  loop.callLater(100, work(log, host, 'timer'));
  const stopped = driver.start();
  log.assert(['later 100']);
  await host.step(); // the host timer fires at 100
  assert.equal(host.nowMs, 100);
  log.assert(['timer']);
  await finish(log, host, loop, stopped);
});

test('stale wait: a host callback that schedules work while the driver waits on a timer cancels that timer and asks for a soon turn', async () => {
  const { log, host, loop, driver } = setup();
  loop.callLater(100, work(log, host, 'timer'));
  const stopped = driver.start();
  log.assert(['later 100']);
  host.post('host:click', () => loop.callSoon(work(log, host, 'click handler')));
  await host.step();
  log.assert(['host:click', 'cancel 100', 'soon'], 're-woken at once, not at 100 ms');
  await host.step();
  log.assert(['click handler', 'later 100'], 'the timer is asked for again after the turn');
  await host.step();
  log.assert(['timer']);
  assert.equal(host.nowMs, 100);
  await finish(log, host, loop, stopped);
});

test('stale wait: a host callback that moves the earliest deadline earlier re-arms the host timer; a later deadline changes nothing', async () => {
  const { log, host, loop, driver } = setup();
  loop.callLater(100, work(log, host, 't100'));
  const stopped = driver.start();
  log.assert(['later 100']);
  host.post('host:earlier', () => loop.callLater(10, work(log, host, 't10')));
  host.post('host:later', () => loop.callLater(500, work(log, host, 't500')));
  await host.step();
  log.assert(['host:earlier', 'cancel 100', 'later 10']);
  await host.step();
  log.assert(['host:later'], 'a deadline after the one already asked for needs no new request');
  await host.step();
  assert.equal(host.nowMs, 10);
  log.assert(['t10', 'later 90']);
  await host.step();
  log.assert(['t100', 'later 400']);
  await host.step();
  log.assert(['t500']);
  assert.equal(host.nowMs, 500);
  await finish(log, host, loop, stopped);
});

test('stale wait: stop() from outside while the driver waits on a timer wakes it; the driver ends and cancels its timer', async () => {
  const { log, host, loop, driver } = setup();
  const timer = loop.callLater(100, work(log, host, 'never'));
  const stopped = driver.start();
  log.assert(['later 100']);
  loop.stop();
  log.assert(['cancel 100', 'soon']);
  await host.step();
  await stopped;
  log.assert([]);
  assert.equal(loop.isRunning(), false);
  timer.cancel();
  assertLoopClean(loop);
});

test('promise continuations run after every guest turn, before the next tick, however many hops they take', async () => {
  const { log, host, loop, driver } = setup();
  loop.callSoon(() => {
    log.push('a');
    void Promise.resolve()
      .then(() => undefined)
      .then(() => undefined)
      .then(() => log.push('continuation (3 hops)'));
    loop.callSoon(work(log, host, 'b'));
  });
  const stopped = driver.start();
  log.assert(['soon']);
  await host.step();
  log.assert(['a', 'soon', 'continuation (3 hops)'], 'the turn ended; the runtime drained microtasks before b could run');
  await host.step();
  log.assert(['b']);
  await finish(log, host, loop, stopped);
});

test('a native promise settled by the host resumes the task waiting on it: the settlement wakes the idle driver', async () => {
  const { log, host, loop, driver } = setup();
  let resolve!: (value: number) => void;
  const promise = new Promise<number>((r) => (resolve = r));
  const task = loop.createTask(function* () {
    log.push('task waits');
    const value = yield* until(promise);
    log.push(`task got ${value}`);
    return value;
  });
  const result = driver.runUntilComplete(task);
  log.assert(['soon']);
  await host.step();
  log.assert(['task waits']);
  host.post('host:fetch done', () => resolve(42));
  await host.step();
  log.assert(['host:fetch done', 'soon'], 'the promise settled in a microtask after the host callback and re-woke the driver');
  await host.step();
  log.assert(['task got 42', 'soon'], "the task's done-callbacks (runUntilComplete's stop among them) ask for one more turn");
  await host.step();
  log.assert([]);
  assert.equal(await result, 42);
  assert.equal(loop.isRunning(), false);
  assertLoopClean(loop);
});

test('guest work cannot starve the host: a tick stops when its budget is spent, and the host runs its queued work before the next turn', async () => {
  const { log, host, loop, driver } = setup({ budgetMs: 5 });
  for (let i = 0; i < 12; i++) loop.callSoon(work(log, host, `w${i}`, 1));
  const stopped = driver.start();
  host.post('host:input');
  log.assert(['soon']);
  await host.runUntilIdle();
  log.assert(['w0', 'w1', 'w2', 'w3', 'w4', 'soon', 'host:input', 'w5', 'w6', 'w7', 'w8', 'w9', 'soon', 'w10', 'w11']);
  assert.equal(driver.statistics().turnsCut, 2);
  await finish(log, host, loop, stopped);
});

test("the host's shouldYield (pending input) ends a tick before its budget is spent", async () => {
  const { log, host, loop, driver } = setup({ budgetMs: Infinity });
  loop.callSoon(work(log, host, 'w0', 1));
  loop.callSoon(() => {
    log.push('w1');
    host.inputPending = true;
    host.post('host:keydown', () => (host.inputPending = false));
  });
  loop.callSoon(work(log, host, 'w2', 1));
  const stopped = driver.start();
  log.assert(['soon']);
  await host.runUntilIdle();
  log.assert(['w0', 'w1', 'soon', 'host:keydown', 'w2']);
  await finish(log, host, loop, stopped);
});

test('the critical lane is never cut: a burst of input handlers runs whole within one turn', async () => {
  const { log, host, loop, driver } = setup({ budgetMs: 1 });
  for (let i = 0; i < 4; i++) loop.callSoon(work(log, host, `input${i}`, 1), { priority: 'critical' });
  loop.callSoon(work(log, host, 'n0', 1));
  loop.callSoon(work(log, host, 'n1', 1));
  const stopped = driver.start();
  log.assert(['soon']);
  await host.runUntilIdle();
  log.assert(['input0', 'input1', 'input2', 'input3', 'soon', 'n0', 'soon', 'n1'], 'the budget, spent by the critical lane, ends the tick before the lower lanes');
  await finish(log, host, loop, stopped);
});

test('FIFO within a lane is kept across ticks cut short; work queued later runs after the leftovers, higher lanes first', async () => {
  const { log, host, loop, driver } = setup({ budgetMs: 3 });
  for (let i = 0; i < 10; i++) {
    loop.callSoon(() => {
      log.push(`n${i}`);
      host.nowMs += 1;
      if (i === 0) loop.callSoon(work(log, host, 'late', 1));
    });
  }
  const stopped = driver.start();
  host.post('host:key', () => loop.callSoon(work(log, host, 'crit'), { priority: 'critical' }));
  log.assert(['soon']);
  await host.runUntilIdle();
  log.assert([
    'n0', 'n1', 'n2', 'soon',
    'host:key',
    'crit', 'n3', 'n4', 'n5', 'soon',
    'n6', 'n7', 'n8', 'soon',
    'n9', 'late',
  ]);
  await finish(log, host, loop, stopped);
});

test('re-entrance: a nested host loop inside a guest callback cannot run a guest turn; what it schedules runs after the callback returns, in order', async () => {
  const { log, host, loop, driver } = setup();
  loop.callSoon(() => {
    log.push('dialog opens');
    host.post('host:frame', () => {
      log.push(`runTurn → ${driver.runTurn()}`);
      loop.callSoon(work(log, host, 'scheduled in the dialog'));
    });
    host.runNested();
    log.push('dialog closes');
  });
  loop.callSoon(work(log, host, 'after the dialog'));
  const stopped = driver.start();
  log.assert(['soon']);
  await host.step();
  log.assert(['dialog opens', 'host:frame', 'runTurn → false', 'dialog closes', 'after the dialog', 'soon']);
  assert.equal(driver.statistics().reentriesDeferred, 1);
  await host.step();
  log.assert(['scheduled in the dialog']);
  await finish(log, host, loop, stopped);
});

test('re-entrance: a host timer or fd watch fired by a nested loop mid-tick is refused; its work runs in a later turn', async () => {
  const selector = new FakeFdSelector();
  const { log, host, loop, driver } = setup({ selector });
  loop.addReader(5, () => {
    log.push('fd 5 readable: modal opens');
    loop.removeReader(5);
    host.runNested(50); // the modal runs until t=50: our host timer fires inside it
    log.push('modal closes');
  });
  loop.callLater(50, work(log, host, 'timer at 50'));
  const stopped = driver.start();
  log.assert(['watch 7', 'later 50']);
  selector.makeReady(5);
  host.fireFd(7);
  await host.step();
  log.assert(['fd 5 readable: modal opens', 'modal closes', 'soon'], 'the timer fired inside the modal ran nothing');
  assert.equal(driver.statistics().reentriesDeferred, 1);
  await host.step();
  log.assert(['timer at 50']);
  loop.stop();
  await host.runUntilIdle();
  await stopped;
  log.assert(['soon', 'unwatch 7']);
  assertLoopClean(loop);
});

test('a host without watchFd: start() refuses a loop already watching an fd, and addReader/addWriter throw while it drives, naming watchFd', async () => {
  const log = new Log();
  const fake = new FakeHost(log);
  const host: GuestHost = { callSoon: (cb) => fake.callSoon(cb), callLater: (ms, cb) => fake.callLater(ms, cb) };
  const selector = new FakeFdSelector();
  const loop = new EventLoop({ clock: fake.clock, selector });
  loop.addReader(3, () => {});
  assert.throws(
    () => new GuestDriver(loop, host).start(),
    (e: Error) => e instanceof TypeError && e.message.startsWith('GuestDriver.start: the loop watches 1 file descriptor(s), but the GuestDriver host has no watchFd(fd, onReady)'),
  );
  assert.equal(loop.isRunning(), false, 'nothing was started');
  loop.removeReader(3);
  const driver = new GuestDriver(loop, host);
  const stopped = driver.start();
  for (const add of [() => loop.addReader(4, () => {}), () => loop.addWriter(4, () => {})]) {
    assert.throws(add, (e: Error) => e instanceof RuntimeError && /^add(Reader|Writer)\(4\): the GuestDriver host has no watchFd\(fd, onReady\), so the loop would never wake/.test(e.message));
  }
  assert.equal(selector.fdCount, 0, 'nothing was registered');
  driver.stop();
  await stopped;
  loop.addReader(4, () => {}); // the driver is gone: fds are the loop's business again
  loop.removeReader(4);
  log.assertEmpty(); // an idle loop asked its host for nothing
  loop.close();
});

test("the selector's pollable fd is watched through the host: readiness runs a turn whose poll dispatches the reader", async () => {
  const selector = new FakeFdSelector();
  const { log, host, loop, driver } = setup({ selector });
  loop.addReader(3, () => log.push('fd 3 readable'), { priority: 'high' });
  const stopped = driver.start();
  log.assert(['watch 7'], 'idle with an fd registered: no soon, no timer — the host watches the epoll fd');
  selector.makeReady(3);
  host.fireFd(7);
  await host.step();
  log.assert(['fd 3 readable']);
  loop.removeReader(3);
  driver.stop();
  log.assert(['unwatch 7']);
  await stopped;
  assertLoopClean(loop);
});

test('runCriticalTurn() runs the critical lane now, from a host callback, and nothing else; refused inside a turn', async () => {
  const { log, host, loop, driver } = setup();
  loop.callSoon(work(log, host, 'background'), { priority: 'low' });
  loop.callLater(10, work(log, host, 'timer'));
  const stopped = driver.start();
  log.assert(['soon']);
  host.post('host:keydown', () => {
    loop.callSoon(work(log, host, 'key handler'), { priority: 'critical' });
    log.push(`runCriticalTurn → ${driver.runCriticalTurn()}`);
  });
  await host.step();
  log.assert(['background', 'later 10']);
  await host.step();
  log.assert(
    ['host:keydown', 'cancel 10', 'soon', 'key handler', 'later 10', 'runCriticalTurn → true'],
    'the handler ran inside the host callback of the event (the soon asked for on its arrival finds nothing left)',
  );
  loop.callSoon(() => log.push(`nested: runCriticalTurn → ${driver.runCriticalTurn()}`), { priority: 'critical' });
  log.assert(['cancel 10'], 'a soon is still outstanding');
  await host.step();
  log.assert(['nested: runCriticalTurn → false', 'later 10']);
  assert.equal(driver.statistics().reentriesDeferred, 1);
  await host.step();
  log.assert(['timer']);
  await finish(log, host, loop, stopped);
});

test('a critical-only turn leaves lower lanes and due timers queued, in order, for the next turn', async () => {
  const { log, host, loop, driver } = setup();
  const stopped = driver.start();
  loop.callSoon(work(log, host, 'normal 1'));
  loop.callSoon(work(log, host, 'critical'), { priority: 'critical' });
  loop.callSoon(work(log, host, 'normal 2'));
  log.assert(['soon']);
  assert.equal(driver.runCriticalTurn(), true);
  log.assert(['critical'], 'only the critical lane ran; the soon asked for earlier is still outstanding');
  await host.step();
  log.assert(['normal 1', 'normal 2']);
  await finish(log, host, loop, stopped);
});

test('loop.stop() inside a callback ends the driver after that tick (start() resolves); a stop() before start() allows exactly one tick', async () => {
  const { log, host, loop, driver } = setup();
  loop.callSoon(() => {
    log.push('a');
    loop.stop();
    loop.callSoon(work(log, host, 'b'));
  });
  const stopped = driver.start();
  await host.step();
  await stopped;
  log.assert(['soon', 'a'], 'no further request once stopped');
  assert.equal(loop.isRunning(), false);
  loop.stop();
  const again = driver.start();
  await host.runUntilIdle();
  await again;
  log.assert(['soon', 'b']);
  assertLoopClean(loop);
});

test('while driven, the loop refuses runForever, runUntilComplete, close and a second driver; driver.stop() frees it', async () => {
  const { log, host, loop, driver } = setup();
  const stopped = driver.start();
  await assert.rejects(loop.runForever(), RuntimeError);
  await assert.rejects(loop.runUntilComplete(loop.createFuture()), RuntimeError);
  assert.throws(() => loop.close(), RuntimeError);
  assert.throws(() => driver.start(), /already started/);
  assert.throws(() => new GuestDriver(loop, host).start(), /already running/);
  driver.stop();
  await stopped;
  await host.runUntilIdle(); // a soon asked for before stop() is ignored
  log.assert([]);
  assertLoopClean(loop);
});

test('driver.stop() cancels the outstanding host timer; a late host callback after stop does nothing', async () => {
  const { log, host, loop, driver } = setup();
  const timer = loop.callLater(30, work(log, host, 'never'));
  const stopped = driver.start();
  log.assert(['later 30']);
  driver.stop();
  await stopped;
  log.assert(['cancel 30']);
  timer.cancel();
  assertLoopClean(loop);
});

test('runUntilComplete runs a task that sleeps on host timers and returns its result', async () => {
  const { log, host, loop, driver } = setup();
  const value = await Promise.all([
    driver.runUntilComplete(function* () {
      yield* sleep(30);
      log.push(`woke at ${loop.time()}`);
      return 'done';
    }),
    host.runUntilIdle(),
  ]);
  assert.equal(value[0], 'done');
  log.assert(['soon', 'later 30', 'woke at 30', 'soon']); // the last turn runs the task's done-callbacks, the stop among them
  assertLoopClean(loop);
});

test('bad arguments: clear TypeError/RangeError naming the argument; nothing started', () => {
  const log = new Log();
  const host = new FakeHost(log);
  const loop = new EventLoop({ clock: host.clock });
  assert.throws(() => new GuestDriver(loop, { callLater: host.callLater } as unknown as GuestHost), /host\.callSoon must be a function, got undefined/);
  assert.throws(() => new GuestDriver(loop, null as unknown as GuestHost), TypeError);
  assert.throws(() => new GuestDriver({} as EventLoop, host), /loop must be an EventLoop/);
  assert.throws(() => new GuestDriver(loop, host, { budgetMs: 0 }), /budgetMs must be a number > 0/);
  assert.throws(() => new GuestDriver(loop, host, { budgetMs: Number.NaN }), RangeError);
  assert.throws(() => loop.runOnce(0, 'soon' as unknown as () => boolean), /runOnce: shouldYield must be a function/);
  assert.equal(loop.isRunning(), false);
  // What the loop's captureTaskContext returns is checked at start(), before anything is attached.
  const odd = new EventLoop({ clock: host.clock, captureTaskContext: () => 7 as never });
  assert.throws(() => new GuestDriver(odd, host).start(), {
    name: 'TypeError',
    message: 'GuestDriver.start: what captureTaskContext returned must be a function that runs a callback in the context (e.g. AsyncLocalStorage.snapshot()), or null; got 7',
  });
  assert.equal(odd.isRunning(), false, 'not attached');
  odd.close();
  log.assertEmpty();
  assertLoopClean(loop);
});

test('timeUntilWorkMs: 0 with work ready or a stop pending, the time to the earliest live timer, Infinity when idle', () => {
  const host = new FakeHost(new Log());
  const loop = new EventLoop({ clock: host.clock });
  assert.equal(loop.timeUntilWorkMs(), Infinity);
  const late = loop.callLater(40, () => {});
  const early = loop.callLater(15, () => {});
  assert.equal(loop.timeUntilWorkMs(), 15);
  host.nowMs = 5;
  assert.equal(loop.timeUntilWorkMs(), 10);
  early.cancel();
  assert.equal(loop.timeUntilWorkMs(), 35);
  host.nowMs = 60;
  assert.equal(loop.timeUntilWorkMs(), 0, 'overdue');
  late.cancel();
  const soon = loop.callSoon(() => {});
  assert.equal(loop.timeUntilWorkMs(), 0);
  soon.cancel();
  loop.runOnce(0);
  loop.stop();
  assert.equal(loop.timeUntilWorkMs(), 0);
  loop.runOnce(0);
  assertLoopClean(loop);
});

test('runOnce(0, () => true) runs the critical lane only; shouldYield is asked once after it', () => {
  const log = new Log();
  const host = new FakeHost(log);
  const loop = new EventLoop({ clock: host.clock });
  loop.callSoon(work(log, host, 'n'));
  loop.callSoon(work(log, host, 'c1'), { priority: 'critical' });
  loop.callSoon(work(log, host, 'c2'), { priority: 'critical' });
  let asked = 0;
  loop.runOnce(0, () => (asked++, true));
  log.assert(['c1', 'c2']);
  assert.equal(asked, 1);
  loop.runOnce(0);
  log.assert(['n']);
  assertLoopClean(loop);
});

test('runOnce(0, shouldYield) leaves the uncalled rest of a cut batch at the front of its lane', () => {
  const log = new Log();
  const host = new FakeHost(log);
  const loop = new EventLoop({ clock: host.clock });
  for (let i = 0; i < 4; i++) loop.callSoon(work(log, host, `a${i}`, 1));
  loop.callSoon(work(log, host, 'low'), { priority: 'low' });
  loop.runOnce(0, () => host.nowMs >= 2);
  log.assert(['a0', 'a1'], 'cut at the first check after the predicate turned true; lower lanes wait too');
  loop.callSoon(work(log, host, 'a4', 1));
  loop.runOnce(0);
  log.assert(['a2', 'a3', 'a4', 'low']);
  assertLoopClean(loop);
});

test('docs/hosts.md example: a guest host built from Node timers (setImmediate, setTimeout) drives a task to completion', async () => {
  const requests: string[] = [];
  const nodeTimersHost: GuestHost = {
    callSoon(callback) {
      requests.push('soon');
      setImmediate(callback);
    },
    callLater(delayMs, callback) {
      requests.push('later');
      const timer = setTimeout(callback, Math.ceil(delayMs));
      return () => clearTimeout(timer);
    },
  };
  const loop = new EventLoop();
  const driver = new GuestDriver(loop, nodeTimersHost, { budgetMs: 5 });
  const answer = await driver.runUntilComplete(function* () {
    yield* sleep(20);
    return 42;
  });
  assert.equal(answer, 42);
  // One soon for the first step, then host timers only: no polling (a
  // Node timer may fire a hair early by performance.now(); the driver then
  // asks for one more short timer); then one soon for the turn that runs
  // the task's done-callbacks, runUntilComplete's stop among them.
  assert.equal(requests[0], 'soon');
  assert.equal(requests.at(-1), 'soon');
  assert.ok(requests.length >= 3 && requests.length <= 4 && requests.slice(1, -1).every((r) => r === 'later'), requests.join(', '));
  assertLoopClean(loop);
});

test("every turn of a driven loop runs in the one context captured when start() was called (captureTaskContext), as runForever's ticks do, not in the host callback's", async () => {
  const fake = new FakeContext('host callback');
  const captured: string[] = [];
  const log = new Log();
  const host = new FakeHost(log);
  const loop = new EventLoop({
    clock: host.clock,
    captureTaskContext: () => {
      captured.push(fake.current);
      return fake.runnerFor(`started in ${fake.current}`);
    },
  });
  const driver = new GuestDriver(loop, host);
  const seen: string[] = [];
  loop.callSoon(() => {
    seen.push(`soon: ${fake.current}`);
    loop.callLater(10, () => void seen.push(`timer: ${fake.current}`));
  });
  fake.current = 'caller';
  const stopped = driver.start();
  fake.current = 'host callback'; // what the host's own callbacks run in
  await host.runUntilIdle();
  loop.callSoon(() => void seen.push(`critical: ${fake.current}`), { priority: 'critical' });
  assert.equal(driver.runCriticalTurn(), true);
  loop.stop();
  await host.runUntilIdle();
  await stopped;
  assert.deepEqual(seen, ['soon: started in caller', 'timer: started in caller', 'critical: started in caller']);
  assert.deepEqual(captured, ['caller'], 'captured once, when the driver started');
  loop.close();
});
