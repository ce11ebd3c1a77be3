/**
 * GLibHost and GLibLoop (src/hosts/glib.ts): eventide as a guest of GLib's
 * main loop, on a scripted GLib (fake-glib.ts) that dispatches the way
 * g_main_context_iteration does and logs every source the host adds or
 * removes. The real thing, node-gtk's GLib, is exercised by
 * glib-node-gtk.test.ts and test/examples/gtk.test.ts.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import test from 'node:test';
import { GuestDriver } from '../../src/hosts/guest.js';
import { GLibHost, GLibLoop, type GLibLike } from '../../src/hosts/glib.js';
import { EventLoop } from '../../src/tasks/event-loop.js';
import { sleep, until } from '../../src/tasks/operation.js';
import { assertLoopClean } from '../../src/testing.js';
import { Log } from '../log.js';
import { FakeFdSelector } from './fake-host.js';
import { FakeGLib } from './fake-glib.js';

function setup(): { log: Log; glib: FakeGLib; host: GLibHost } {
  const log = new Log();
  const glib = new FakeGLib(log);
  return { log, glib, host: new GLibHost(glib) };
}

test('callSoon is an idle source at G_PRIORITY_DEFAULT_IDLE (after GTK input, resize and redraw), never run inline, removed once it ran', async () => {
  const { log, glib, host } = setup();
  assert.equal(host.priority, 200);
  host.callSoon(() => log.push('a'));
  log.assert(['idle 200'], 'requested, not run');
  await glib.iterate();
  log.assert(['a']);
  assert.deepEqual(glib.attached(), [], 'the idle returned G_SOURCE_REMOVE');
  const urgent = new GLibHost(glib, { priority: 100 });
  urgent.callSoon(() => log.push('b'));
  await glib.iterate();
  log.assert(['idle 100', 'b']);
  assert.deepEqual({ ...host.statistics() }, { idleSources: 1, timeoutSources: 0, fdSources: 0, sourcesRemoved: 0, checkpointWaits: 0, checkpointsMissing: false });
});

test('callLater is a timeout source of whole ms (rounded up); cancelling removes it exactly once, and never after it fired (GLib would warn of an unknown id)', async () => {
  const { log, glib, host } = setup();
  const cancelFired = host.callLater(14.2, () => log.push(`fired at ${glib.nowMs}`));
  log.assert(['timeout 200 15']);
  await glib.iterate();
  log.assert(['fired at 15']);
  assert.deepEqual(glib.attached(), []);
  cancelFired(); // FakeGLib throws on an unknown id, as GLib complains
  const cancel = host.callLater(5, () => log.push('never'));
  cancel();
  cancel();
  log.assert(['timeout 200 5', 'remove timeout'], 'removed once');
  assert.equal(await glib.iterate(), false, 'nothing left to run');
  log.assertEmpty();
  assert.equal(host.statistics().sourcesRemoved, 1);
});

test('watchFd is a unix fd source for G_IO_IN that stays: it runs the callback on every iteration while the fd is readable (level-triggered), until cancelled', async () => {
  const { log, glib, host } = setup();
  const unwatch = host.watchFd(7, () => log.push('ready'));
  log.assert(['fd 200 7']);
  assert.equal(await glib.iterate(), false, 'not readable: nothing dispatched');
  glib.readable.add(7);
  await glib.iterate();
  await glib.iterate();
  log.assert(['ready', 'ready']);
  glib.readable.delete(7);
  assert.equal(await glib.iterate(), false);
  unwatch();
  unwatch();
  log.assert(['remove fd']);
  assert.deepEqual(glib.attached(), []);
});

test('microtask checkpoint: of two sources dispatched in one GLib iteration (node-gtk drains no microtasks between them), the second waits for the next iteration, so every continuation of the first tick runs before it', async () => {
  const { log, glib, host } = setup();
  host.callSoon(() => {
    log.push('tick 1');
    void Promise.resolve()
      .then(() => log.push('tick 1: continuation'))
      .then(() => log.push('tick 1: second hop'));
  });
  host.callSoon(() => log.push('tick 2'));
  log.assert(['idle 200', 'idle 200']);
  glib.iterateSync(); // both idles are ready in this iteration
  log.assert(['tick 1'], 'tick 2 was put off: its idle stays (G_SOURCE_CONTINUE)');
  assert.deepEqual(glib.attached(), ['idle 200']);
  await glib.iterate(); // the checkpoint at the iteration's start, then tick 2
  log.assert(['tick 1: continuation', 'tick 1: second hop', 'tick 2']);
  assert.equal(host.statistics().checkpointWaits, 1);
  assert.deepEqual(glib.attached(), []);
});

test('microtask checkpoint: a timeout put off becomes an idle (a timeout returning CONTINUE would wait a whole interval again), and its cancel function removes that idle', async () => {
  const { log, glib, host } = setup();
  host.callSoon(() => {
    log.push('tick');
    void Promise.resolve().then(() => log.push('continuation'));
  });
  host.callLater(0, () => log.push('timer'));
  glib.iterateSync();
  log.assert(['idle 200', 'timeout 200 0', 'tick', 'idle 200'], 'the timer, due in the same iteration, is put off as an idle');
  await glib.iterate();
  log.assert(['continuation', 'timer']);
  assert.deepEqual(glib.attached(), []);

  host.callSoon(() => log.push('tick 2'));
  const cancel = host.callLater(0, () => log.push('never'));
  glib.iterateSync();
  log.assert(['idle 200', 'timeout 200 0', 'tick 2', 'idle 200']);
  cancel();
  log.assert(['remove idle'], 'the idle that replaced the timeout is what gets removed');
  assert.equal(await glib.iterate(), false);
  log.assertEmpty();
});

test('microtask checkpoint: an fd source put off just fires again in the next iteration (the fd is still readable)', async () => {
  const { log, glib, host } = setup();
  host.callSoon(() => {
    log.push('tick');
    void Promise.resolve().then(() => log.push('continuation'));
  });
  host.watchFd(9, () => log.push('fd turn'));
  glib.readable.add(9);
  glib.iterateSync();
  log.assert(['idle 200', 'fd 200 9', 'tick']);
  await glib.iterate();
  log.assert(['continuation', 'fd turn']);
  assert.equal(host.statistics().checkpointWaits, 1);
  host.close();
  log.assert(['remove fd'], 'close() removes what is left');
});

test('a binding that never drains microtasks between iterations: the host notices (a source put off found no checkpoint one iteration later), runs it anyway and stops waiting', () => {
  const { log, glib, host } = setup();
  host.callSoon(() => log.push('tick 1'));
  host.callSoon(() => log.push('tick 2'));
  glib.iterateSync();
  log.assert(['idle 200', 'idle 200', 'tick 1']);
  glib.iterateSync(); // still no checkpoint
  log.assert(['tick 2']);
  assert.equal(host.statistics().checkpointsMissing, true);
  host.callSoon(() => log.push('tick 3'));
  host.callSoon(() => log.push('tick 4'));
  glib.iterateSync();
  log.assert(['idle 200', 'idle 200', 'tick 3', 'tick 4'], 'no more waiting');
});

test('GuestDriver on a GLibHost: the epoll fd is watched, sleeps are GLib timeouts, a native promise continues the task, and stopping removes the fd watch', async () => {
  const { log, glib, host } = setup();
  const loop = new EventLoop({ clock: glib.clock, selector: new FakeFdSelector() });
  const driver = new GuestDriver(loop, host);
  const result = driver.runUntilComplete(function* () {
    log.push('start');
    yield* sleep(30);
    log.push(`woke at ${loop.time()}`);
    const value = yield* until(Promise.resolve(20).then((x) => x + 1));
    log.push(`promise gave ${value}`);
    return value * 2;
  });
  log.assert(['fd 200 7', 'idle 200'], 'the selector epoll fd (7) is watched; the first step is requested, not run');
  await glib.runUntilIdle();
  assert.equal(await result, 42);
  log.assert([
    'start',
    'timeout 200 30',
    'woke at 30',
    'idle 200', // the promise settled outside a tick: the driver asks for a turn
    'promise gave 21',
    'idle 200', // one more turn: the task's done-callbacks, runUntilComplete's stop among them
    'remove fd',
  ]);
  assert.deepEqual(glib.attached(), []);
  assertLoopClean(loop);
});

test('GLibLoop: a loop driven by GLib; start() resolves on loop.stop(), after which nothing of it is left in GLib', async () => {
  const log = new Log();
  const glib = new FakeGLib(log);
  const app = new GLibLoop(glib, { loop: new EventLoop({ clock: glib.clock, selector: new FakeFdSelector() }), priority: 150 });
  const stopped = app.start();
  app.loop.callLater(1000, () => log.push('never'));
  app.loop.callSoon(() => {
    log.push('stopping');
    app.loop.stop();
  });
  log.assert(['fd 150 7', 'timeout 150 1000', 'remove timeout', 'idle 150'], 'the callSoon from outside a tick replaced the timer with a turn');
  await glib.iterate();
  await stopped;
  log.assert(['stopping', 'remove fd']);
  assert.deepEqual(glib.attached(), []);
  assert.equal(app.loop.isRunning(), false);
  app.loop.close();
});

test('bad arguments: clear errors naming the argument', () => {
  const log = new Log();
  const glib = new FakeGLib(log);
  assert.throws(() => new GLibHost({} as GLibLike), /GLibHost: glib must be GLib from node-gtk .* lacking idleAdd, timeoutAdd, unixFdAddFull, sourceRemove/);
  assert.throws(() => new GLibHost(null as unknown as GLibLike), TypeError);
  assert.throws(() => new GLibHost({ ...bind(glib), IOCondition: undefined } as unknown as GLibLike), /IOCondition\.IN and PRIORITY_DEFAULT_IDLE/);
  assert.throws(() => new GLibHost(glib, { priority: 1.5 }), /GLibHost: priority must be an integer GLib priority, got 1\.5/);
  assert.throws(() => new GLibHost(glib, null as unknown as object), /GLibHost: options must be an object/);
  assert.throws(() => new GLibLoop(glib, null as unknown as object), /GLibLoop: options must be an object/);
  assert.throws(() => new GLibLoop({} as GLibLike), /GLibLoop: glib must be GLib/);
  assert.throws(() => new GLibLoop(glib, { loop: new EventLoop({ clock: 'virtual' }), budgetMs: 0 }), /budgetMs must be a number > 0/);
  const fdsBefore = readdirSync('/proc/self/fd').length;
  assert.throws(() => new GLibLoop(glib, { budgetMs: -1 }), /budgetMs must be a number > 0/);
  assert.equal(readdirSync('/proc/self/fd').length, fdsBefore, 'the NodeEventLoop it made for itself was closed (no epoll fd leaked)');
  log.assertEmpty();
});

/** The fake's functions and constants as a plain object (to take parts away). */
function bind(glib: FakeGLib): GLibLike {
  return {
    PRIORITY_DEFAULT_IDLE: glib.PRIORITY_DEFAULT_IDLE,
    IOCondition: glib.IOCondition,
    idleAdd: glib.idleAdd.bind(glib),
    timeoutAdd: glib.timeoutAdd.bind(glib),
    unixFdAddFull: glib.unixFdAddFull.bind(glib),
    sourceRemove: glib.sourceRemove.bind(glib),
  };
}
