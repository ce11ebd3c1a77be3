/**
 * onEvent / fromEvent (src/hosts/dom-events.ts), on Node's own EventTarget
 * and a virtual-time loop: events enter the loop as callbacks in the lane
 * of their priority, never inline in dispatch, in dispatch order.
 *
 * The same functions are exercised on real DOM clicks in
 * test/browser/host.test.ts.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { RuntimeError } from '../../src/core/errors.js';
import { defaultEventPriority, fromEvent, onEvent } from '../../src/hosts/dom-events.js';
import { EventLoop } from '../../src/tasks/event-loop.js';
import { sleep, until } from '../../src/tasks/operation.js';
import { assertLoopClean, runInVirtualTime } from '../../src/testing.js';
import { GuestDriver } from '../../src/hosts/guest.js';
import { Log } from '../log.js';
import { FakeHost } from './fake-host.js';

/** An event carrying a number, so order can be seen. */
class NumberedEvent extends Event {
  readonly n: number;
  constructor(type: string, n: number, init: { cancelable?: boolean } = {}) {
    super(type, init);
    this.n = n;
  }
}

test('defaultEventPriority: input events are critical, everything else normal', () => {
  for (const type of ['click', 'pointerdown', 'pointermove', 'mousemove', 'keydown', 'keyup', 'input', 'wheel', 'touchstart', 'focus', 'compositionend', 'dragstart']) {
    assert.equal(defaultEventPriority(type), 'critical', type);
  }
  for (const type of ['load', 'message', 'resize', 'scroll', 'visibilitychange', 'error', 'open']) {
    assert.equal(defaultEventPriority(type), 'normal', type);
  }
});

test('onEvent: the handler runs as a loop callback, never inside dispatch; an input event (critical by default) overtakes queued normal work', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const target = new EventTarget();
    const off = onEvent(target, 'click', (event: NumberedEvent) => log.push(`click ${event.n}`));
    loop.callSoon(() => log.push('normal 1'));
    loop.callSoon(() => log.push('normal 2'));
    target.dispatchEvent(new NumberedEvent('click', 1));
    target.dispatchEvent(new NumberedEvent('click', 2));
    log.assert([], 'nothing runs inside dispatchEvent');
    yield* sleep(0);
    log.assert(['click 1', 'click 2', 'normal 1', 'normal 2']);
    off();
  });
});

test('onEvent: an explicit priority places the handler in that lane (a low click runs after normal work); other event types default to normal (FIFO with normal work)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const target = new EventTarget();
    const offClick = onEvent(target, 'click', () => log.push('low click'), { priority: 'low' });
    const offMessage = onEvent(target, 'message', () => log.push('message'));
    target.dispatchEvent(new Event('click'));
    loop.callSoon(() => log.push('normal before message'));
    target.dispatchEvent(new Event('message'));
    loop.callSoon(() => log.push('normal after message'));
    loop.callSoon(() => log.push('high'), { priority: 'high' });
    yield* sleep(1); // a timer: everything ready runs first
    log.assert(['high', 'normal before message', 'message', 'normal after message', 'low click']);
    offClick();
    offMessage();
  });
});

test('onEvent: the returned function removes the listener and drops events dispatched but not yet handled', async () => {
  const log = new Log();
  await runInVirtualTime(function* () {
    const target = new EventTarget();
    const off = onEvent(target, 'keydown', (event: NumberedEvent) => log.push(`key ${event.n}`));
    target.dispatchEvent(new NumberedEvent('keydown', 1));
    off();
    off(); // idempotent
    target.dispatchEvent(new NumberedEvent('keydown', 2));
    yield* sleep(0);
    log.assert([]);
  });
});

test('onEvent: {preventDefault: true} prevents the default during dispatch, while the handler itself runs later', async () => {
  const log = new Log();
  await runInVirtualTime(function* () {
    const target = new EventTarget();
    const off = onEvent(target, 'keydown', (event: Event) => log.push(`handler sees defaultPrevented=${event.defaultPrevented}`), { preventDefault: true });
    const event = new Event('keydown', { cancelable: true });
    const notCancelled = target.dispatchEvent(event);
    assert.equal(notCancelled, false, 'dispatchEvent reports the default was prevented');
    yield* sleep(0);
    log.assert(['handler sees defaultPrevented=true']);
    off();
  });
});

test('onEvent: a handler that throws goes to the exception handler and the loop goes on', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    loop.setExceptionHandler((context) => log.push(`handler error: ${(context.exception as Error).message}`));
    const target = new EventTarget();
    const off = onEvent(target, 'click', (event: NumberedEvent) => {
      if (event.n === 1) throw new Error('boom');
      log.push(`click ${event.n}`);
    });
    target.dispatchEvent(new NumberedEvent('click', 1));
    target.dispatchEvent(new NumberedEvent('click', 2));
    yield* sleep(0);
    log.assert(['handler error: boom', 'click 2']);
    off();
  });
});

test('fromEvent: a task reads events in dispatch order with yield* next(); events dispatched before it reads wait in the queue; close() ends the stream after the queued ones', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const target = new EventTarget();
    const clicks = fromEvent<NumberedEvent>(target, 'click');
    target.dispatchEvent(new NumberedEvent('click', 1));
    target.dispatchEvent(new NumberedEvent('click', 2));
    const reader = loop.createTask(function* () {
      for (;;) {
        const { value, done } = yield* clicks.next();
        if (done) break;
        log.push(`read ${value.n}`);
      }
      log.push('stream done');
    }, { priority: 'critical' });
    yield* sleep(0);
    yield* sleep(0);
    log.assert(['read 1', 'read 2']);
    loop.callLater(5, () => target.dispatchEvent(new NumberedEvent('click', 3)));
    yield* sleep(10);
    log.assert(['read 3']);
    target.dispatchEvent(new NumberedEvent('click', 4));
    clicks.close();
    target.dispatchEvent(new NumberedEvent('click', 5)); // after close: not listened to
    yield* reader;
    log.assert(['stream done'], 'event 4 was dispatched before close, but its hand-off ran after: dropped, as the stream was closed');
    assert.equal(clicks.closed, true);
  });
});

test('fromEvent: the hand-off runs in the lane of the stream priority, so a critical stream delivers before a low one dispatched earlier; readers then resume at their own priority', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const target = new EventTarget();
    const messages = fromEvent<NumberedEvent>(target, 'message', { priority: 'low' });
    const keys = fromEvent<NumberedEvent>(target, 'keydown'); // critical by default
    const read = (stream: typeof keys, label: string) =>
      loop.createTask(function* () {
        const { value } = yield* stream.next();
        log.push(`read ${label} ${value?.n}`);
      });
    const readers = [read(messages, 'message'), read(keys, 'key')];
    yield* sleep(0); // both readers wait
    target.dispatchEvent(new NumberedEvent('message', 1));
    target.dispatchEvent(new NumberedEvent('keydown', 2));
    loop.callSoon(() => log.push('normal callback'));
    for (const reader of readers) yield* reader;
    log.assert(['normal callback', 'read key 2', 'read message 1'], 'hand-offs: key (critical), then the normal callback, then message (low)');
    messages.close();
    keys.close();
  });
});

test('fromEvent {maxsize}: when full, the oldest undelivered event is dropped and counted', async () => {
  const log = new Log();
  await runInVirtualTime(function* () {
    const target = new EventTarget();
    const moves = fromEvent<NumberedEvent>(target, 'pointermove', { maxsize: 2 });
    for (let i = 1; i <= 5; i++) target.dispatchEvent(new NumberedEvent('pointermove', i));
    yield* sleep(0);
    assert.equal(moves.pending, 2);
    assert.equal(moves.dropped, 3);
    moves.close();
    for (;;) {
      const { value, done } = yield* moves.next();
      if (done) break;
      log.push(value.n);
    }
    log.assert([4, 5]);
  });
});

test('fromEvent is also an AsyncIterable: `for await` in ordinary async code reads it; breaking out closes it', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const target = new EventTarget();
    const clicks = fromEvent<NumberedEvent>(target, 'click');
    const consumer = (async () => {
      for await (const event of clicks) {
        log.push(`async read ${event.n}`);
        if (event.n === 2) break;
      }
    })();
    loop.callLater(1, () => target.dispatchEvent(new NumberedEvent('click', 1)));
    loop.callLater(2, () => target.dispatchEvent(new NumberedEvent('click', 2)));
    yield* until(consumer);
    log.assert(['async read 1', 'async read 2']);
    assert.equal(clicks.closed, true);
  });
});

test('under a guest driver, a critical event runs its handler inside the dispatch (a critical-only turn); lower priorities wait for the next turn; a dispatch from inside a callback cannot start a turn', async () => {
  const log = new Log();
  const host = new FakeHost(log);
  const loop = new EventLoop({ clock: host.clock });
  const driver = new GuestDriver(loop, host);
  const stopped = driver.start();
  const target = new EventTarget();
  const offKey = onEvent(target, 'keydown', (event: NumberedEvent) => log.push(`key ${event.n}`));
  const offMessage = onEvent(target, 'message', (event: NumberedEvent) => log.push(`message ${event.n}`));
  loop.callSoon(() => log.push('background'), { priority: 'low' });
  log.assert(['soon']);
  host.post('host:input', () => {
    target.dispatchEvent(new NumberedEvent('keydown', 1));
    log.push('keydown dispatched');
    target.dispatchEvent(new NumberedEvent('message', 2));
    log.push('message dispatched');
  });
  await host.step(); // the soon: background runs
  log.assert(['background']);
  await host.step(); // host:input
  log.assert(['host:input', 'soon', 'key 1', 'keydown dispatched', 'message dispatched']);
  await host.step();
  log.assert(['message 2']);
  loop.callSoon(() => {
    target.dispatchEvent(new NumberedEvent('keydown', 3));
    log.push('dispatched from a callback');
  });
  await host.runUntilIdle();
  log.assert(['soon', 'dispatched from a callback', 'soon', 'key 3']);
  assert.equal(driver.statistics().reentriesDeferred, 1);
  offKey();
  offMessage();
  loop.stop();
  await host.runUntilIdle();
  await stopped;
  log.assert(['soon']);
  assertLoopClean(loop);
});

test('bad arguments and no loop: clear errors naming the argument; no listener left behind', () => {
  const target = new EventTarget();
  assert.throws(() => onEvent(target, 'click', () => {}), RuntimeError, 'no running loop');
  const loop = new EventLoop({ clock: 'virtual' });
  assert.throws(() => onEvent({} as EventTarget, 'click', () => {}, { loop }), /onEvent: target must be an EventTarget/);
  assert.throws(() => onEvent(target, '', () => {}, { loop }), /onEvent: type must be a non-empty string/);
  assert.throws(() => onEvent(target, 'click', 'nope' as unknown as () => void, { loop }), /onEvent: handler must be a function/);
  assert.throws(() => onEvent(target, 'click', () => {}, { loop, priority: 'urgent' as 'high' }), /priority must be one of/);
  assert.throws(() => fromEvent(target, 'click', { loop, maxsize: -1 }), /fromEvent: maxsize must be an integer >= 0/);
  assert.throws(() => fromEvent(target, 'click', null as unknown as object), /fromEvent: options must be an object/);
  target.dispatchEvent(new Event('click')); // no listener was added by the failed calls
  assertLoopClean(loop);
  assert.throws(() => onEvent(target, 'click', () => {}, { loop }), /the event loop is closed/);
});
