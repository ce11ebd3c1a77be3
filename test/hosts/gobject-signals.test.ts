/**
 * GObject signals as loop sources (src/hosts/gobject-signals.ts): onSignal
 * and fromSignal, on a fake GObject (connect / disconnect / emit, with
 * node-gtk's argument convention: the signal's arguments without the
 * emitter).
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { RuntimeError } from '../../src/core/errors.js';
import { defaultSignalPriority, fromSignal, onSignal, type GObjectLike } from '../../src/hosts/gobject-signals.js';
import { GuestDriver } from '../../src/hosts/guest.js';
import { GLibHost } from '../../src/hosts/glib.js';
import { EventLoop } from '../../src/tasks/event-loop.js';
import type { Coroutine } from '../../src/tasks/operation.js';
import { assertLoopClean, runInVirtualTime } from '../../src/testing.js';
import { Log } from '../log.js';
import { FakeGLib, FakeGObject } from './fake-glib.js';

test('defaultSignalPriority: user input signals are critical, everything else normal', () => {
  for (const signal of ['clicked', 'activate', 'changed', 'toggled', 'value-changed', 'key-press-event', 'key-release-event', 'button-press-event', 'motion-notify-event', 'scroll-event', 'focus-in-event', 'insert-text', 'row-activated']) {
    assert.equal(defaultSignalPriority(signal), 'critical', signal);
  }
  for (const signal of ['destroy', 'map-event', 'size-allocate', 'draw', 'notify::label', 'realize']) {
    assert.equal(defaultSignalPriority(signal), 'normal', signal);
  }
});

test('onSignal: the handler runs as a loop callback (never inside the emission), with the signal arguments; a critical signal overtakes queued normal work; the GTK handler returns false', async () => {
  const log = new Log();
  const button = new FakeGObject(log);
  await runInVirtualTime(function* (loop) {
    const off = onSignal(button, 'clicked', (args) => log.push(`clicked ${JSON.stringify(args)}`));
    const offDestroy = onSignal(button, 'destroy', () => log.push('destroy'));
    log.assert(['connect clicked', 'connect destroy']);
    loop.callSoon(() => log.push('normal work'));
    loop.callSoon(() => {
      assert.deepEqual(button.emit('clicked', 1, 'two'), [false], 'let GTK default handling go on');
      button.emit('destroy');
      log.push('emitted');
    });
    yield* sleepTicks(loop, 3);
    log.assert(['normal work', 'emitted', 'clicked [1,"two"]', 'destroy']);
    loop.callSoon(() => {
      loop.callSoon(() => log.push('queued normal'));
      button.emit('clicked');
    });
    yield* sleepTicks(loop, 3);
    log.assert(['clicked []', 'queued normal'], 'critical lane first');
    off();
    off();
    offDestroy();
    log.assert(['disconnect clicked', 'disconnect destroy'], 'off() disconnects once');
    button.emit('clicked');
    yield* sleepTicks(loop, 2);
    log.assertEmpty();
  });
  assert.equal(button.handlerCount, 0);
});

test('under a GLibLoop-style driver, a critical signal runs its handler inside the emission (a critical-only turn), so input never waits behind queued background work or for the next GLib iteration', async () => {
  const log = new Log();
  const glib = new FakeGLib(log);
  const loop = new EventLoop({ clock: glib.clock });
  const driver = new GuestDriver(loop, new GLibHost(glib));
  const stopped = driver.start();
  const button = new FakeGObject();
  onSignal(button, 'clicked', () => log.push('click handled'), { loop });
  onSignal(button, 'notify::label', () => log.push('label noticed'), { loop });
  loop.callSoon(() => log.push('background'), { priority: 'low' });
  log.assert(['idle 200']);
  button.emit('clicked'); // GTK dispatching input, outside any tick
  log.push('emit returned');
  button.emit('notify::label');
  log.assert(['click handled', 'emit returned'], 'critical: handled before emit() returned; normal: waits for the turn');
  await glib.runUntilIdle();
  log.assert(['label noticed', 'background']);
  loop.stop();
  await glib.runUntilIdle();
  await stopped;
  log.assert(['idle 200']);
  assertLoopClean(loop);
});

test('fromSignal: emissions as a stream a task reads in order (values: the signal arguments); close() disconnects and ends the stream', async () => {
  const log = new Log();
  const entry = new FakeGObject(log);
  await runInVirtualTime(function* (loop) {
    const stream = fromSignal(entry, 'activate');
    log.assert(['connect activate']);
    const reader = loop.createTask(function* () {
      for (;;) {
        const { value, done } = yield* stream.next();
        if (done) break;
        log.push(`read ${JSON.stringify(value)}`);
      }
      log.push('stream ended');
    }, { priority: 'critical' });
    loop.callSoon(() => {
      entry.emit('activate', 'a');
      entry.emit('activate', 'b');
    });
    yield* sleepTicks(loop, 4);
    log.assert(['read ["a"]', 'read ["b"]']);
    stream.close();
    entry.emit('activate', 'after close');
    yield reader;
    log.assert(['disconnect activate', 'stream ended']);
    assert.equal(stream.closed, true);
  });
  assert.equal(entry.handlerCount, 0);
});

test('bad arguments and no loop: clear errors naming the argument; nothing connected by a failed call', () => {
  const object = new FakeGObject();
  assert.throws(() => onSignal(object, 'clicked', () => {}), RuntimeError, 'no running loop');
  const loop = new EventLoop({ clock: 'virtual' });
  assert.throws(() => onSignal({} as GObjectLike, 'clicked', () => {}, { loop }), /onSignal: object must be a GObject \(with connect and disconnect\), got an Object/);
  assert.throws(() => onSignal(object, '', () => {}, { loop }), /onSignal: signal must be a non-empty string, got ""/);
  assert.throws(() => onSignal(object, 'clicked', 7 as unknown as () => void, { loop }), /onSignal: handler must be a function, got 7/);
  assert.throws(() => onSignal(object, 'clicked', () => {}, { loop, priority: 'urgent' as 'high' }), /priority must be one of/);
  assert.throws(() => fromSignal(object, 'clicked', { loop, maxsize: -1 }), /fromSignal: maxsize must be an integer >= 0, got -1/);
  assert.throws(() => fromSignal(object, 'clicked', null as unknown as object), /fromSignal: options must be an object/);
  assert.equal(object.handlerCount, 0);
  assertLoopClean(loop);
  assert.throws(() => fromSignal(object, 'clicked', { loop }), /fromSignal: the event loop is closed/);
});

/** Lets `n` ticks pass (each callSoon hop is one tick). */
function* sleepTicks(loop: EventLoop, n: number): Coroutine<void> {
  for (let i = 0; i < n; i++) {
    const future = loop.createFuture<void>();
    loop.callSoon(() => future.setResult());
    yield future;
  }
}
