import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FdWatchers } from '../../src/core/fd-watchers.js';
import { Handle } from '../../src/core/handle.js';
import { EVENT_READ, EVENT_WRITE, type ReadyCallback, type Selector } from '../../src/core/selector.js';

/** A selector that logs what it is asked and refuses fds listed in `bad`. */
function fakeSelector(bad: Set<number> = new Set()): Selector & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    name: 'FakeSelector',
    supportsFds: true,
    fdCount: 0,
    register(fd: number, events: number) {
      if (bad.has(fd)) throw new Error(`EBADF ${fd}`);
      calls.push(`register ${fd} ${events}`);
    },
    modify(fd: number, events: number) {
      calls.push(`modify ${fd} ${events}`);
    },
    unregister(fd: number) {
      calls.push(`unregister ${fd}`);
    },
    select(_t: number, _r: ReadyCallback) {
      return 0;
    },
    wakeup() {},
    close() {},
  };
}

const handle = (name: string): Handle => new Handle(function named() {}, name, 2);

test('the selector mask follows readers and writers: register, modify up, modify down, unregister', () => {
  const selector = fakeSelector();
  const fds = new FdWatchers(selector);
  fds.add(5, 'read', handle('r'));
  fds.add(5, 'write', handle('w'));
  fds.remove(5, 'read');
  fds.remove(5, 'write');
  assert.deepEqual(selector.calls, [`register 5 ${EVENT_READ}`, `modify 5 ${EVENT_READ | EVENT_WRITE}`, `modify 5 ${EVENT_WRITE}`, 'unregister 5']);
  assert.deepEqual([fds.readerCount, fds.writerCount], [0, 0]);
});

test('adding a second reader returns the one it replaced and keeps one registration', () => {
  const selector = fakeSelector();
  const fds = new FdWatchers(selector);
  const first = handle('first');
  const second = handle('second');
  assert.equal(fds.add(7, 'read', first), undefined);
  assert.equal(fds.add(7, 'read', second), first);
  const queued: unknown[] = [];
  fds.queueReady(7, EVENT_READ | EVENT_WRITE, (h) => queued.push(h.arg));
  assert.deepEqual(queued, ['second']);
  assert.deepEqual(selector.calls, [`register 7 ${EVENT_READ}`, `modify 7 ${EVENT_READ}`]);
});

test('a registration the selector refuses changes nothing, and removing an unknown fd returns undefined', () => {
  const fds = new FdWatchers(fakeSelector(new Set([9])));
  assert.throws(() => fds.add(9, 'read', handle('bad')), /EBADF 9/);
  assert.equal(fds.readerCount, 0);
  assert.equal(fds.remove(9, 'read'), undefined);
  assert.equal(fds.remove(42, 'write'), undefined);
});

test('queueReady pushes the reader for READ, the writer for WRITE, both for both; fdOf remembers after removal', () => {
  const fds = new FdWatchers(fakeSelector());
  const r = handle('r');
  const w = handle('w');
  fds.add(3, 'read', r);
  fds.add(3, 'write', w);
  const queued: unknown[] = [];
  const push = (h: Handle): void => void queued.push(h.arg);
  fds.queueReady(3, EVENT_READ, push);
  fds.queueReady(3, EVENT_WRITE, push);
  fds.queueReady(3, EVENT_READ | EVENT_WRITE, push);
  fds.queueReady(4, EVENT_READ, push);
  assert.deepEqual(queued, ['r', 'w', 'r', 'w']);
  fds.remove(3, 'read');
  assert.deepEqual(fds.fdOf(r), { fd: 3, event: 'read' });
  assert.equal(fds.fdOf(handle('never')), null);
});
