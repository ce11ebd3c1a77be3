/**
 * The loop on a real fd selector (BaseEventLoop's addReader/addWriter over
 * EpollSelector and PollSelector): readiness on a pipe becomes a callback
 * on the ready queue; removing stops it; a closed fd is a clear error that
 * leaves the loop running; unknown fds return false, as asyncio.
 *
 * runOnce() is synchronous and blocks in the selector, so every test makes
 * the fd ready *before* the tick: a broken selector would hang, not pass.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import type { Selector } from '../../src/core/selector.js';
import { OSError } from '../../src/io/errors.js';
import { EpollSelector } from '../../src/io/epoll-selector.js';
import { PollSelector } from '../../src/io/poll-selector.js';
import { syscalls as sys } from '../../src/io/syscalls.js';
import { EventLoop } from '../../src/tasks/event-loop.js';
import { assertLoopClean } from '../../src/testing.js';
import { Log } from '../log.js';
import { closeAll, pipe, readString, writeString } from './fds.js';

const selectors: [string, () => Selector][] = [
  ['EpollSelector', () => new EpollSelector()],
  ['PollSelector', () => new PollSelector()],
];

for (const [name, makeSelector] of selectors) {
  test(`${name} loop: addReader runs its callback when the other end is written; removeReader stops it`, () => {
    const loop = new EventLoop({ selector: makeSelector() });
    const log = new Log();
    const [r, w] = pipe();
    loop.addReader(r, () => log.push(`read ${readString(r)}`));
    loop.runOnce(0);
    log.assert([]);
    writeString(w, 'ping');
    loop.runOnce(10_000);
    log.assert(['read ping']);
    loop.runOnce(0);
    log.assert([], 'drained: not called again');
    assert.equal(loop.removeReader(r), true);
    assert.equal(loop.selector.fdCount, 0);
    writeString(w, 'pong');
    loop.runOnce(0);
    log.assert([], 'no callback after removeReader');
    assert.equal(readString(r), 'pong');
    assertLoopClean(loop);
    closeAll(r, w);
  });

  test(`${name} loop: a reader and a writer on the same fd share one registration and each runs on its own readiness`, () => {
    const loop = new EventLoop({ selector: makeSelector() });
    const log = new Log();
    const pairs = new Int32Array(2);
    assert.equal(sys.socketpair(sys.constants.AF_UNIX, sys.constants.SOCK_STREAM | sys.constants.SOCK_NONBLOCK, 0, pairs), 0);
    const [a, b] = [pairs[0] as number, pairs[1] as number];
    loop.addWriter(a, () => log.push('writable'));
    loop.addReader(a, () => log.push(`readable ${readString(a)}`));
    assert.equal(loop.selector.fdCount, 1);
    loop.runOnce(10_000);
    log.assert(['writable']);
    writeString(b, 'x');
    loop.runOnce(10_000);
    log.assert(['readable x', 'writable'], 'the reader was registered second but is queued first (read before write)');
    assert.equal(loop.removeWriter(a), true);
    assert.equal(loop.selector.fdCount, 1, 'still watched for reading');
    assert.equal(loop.removeReader(a), true);
    assert.equal(loop.selector.fdCount, 0);
    assertLoopClean(loop);
    closeAll(a, b);
  });

  test(`${name} loop: addReader on a closed fd throws an OSError naming the fd; the loop keeps running`, () => {
    const loop = new EventLoop({ selector: makeSelector() });
    const log = new Log();
    const [r, w] = pipe();
    closeAll(r, w);
    assert.throws(
      () => loop.addReader(r, () => log.push('never')),
      (error: unknown) => error instanceof OSError && error.code === 'EBADF' && error.message.includes(`(fd ${r})`),
    );
    assert.equal(loop.statistics().readers, 0, 'nothing was left registered');
    loop.callSoon(() => log.push('still running'));
    loop.runOnce(0);
    log.assert(['still running']);
    assertLoopClean(loop);
  });

  test(`${name} loop: removeReader/removeWriter of an fd that was never added return false`, () => {
    const loop = new EventLoop({ selector: makeSelector() });
    assert.equal(loop.removeReader(12345), false);
    assert.equal(loop.removeWriter(12345), false);
    assertLoopClean(loop);
  });
}
