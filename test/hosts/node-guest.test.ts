/**
 * NodeGuestHost (src/hosts/node-guest.ts): Node's loop does the waiting.
 *
 * The shared contract (node-host-contract.ts) runs here in guest mode;
 * below it, what is particular to this host: the LoopHost contract at the
 * host's own level (readiness of the epoll fd, deadline, wake before and
 * during a wait), and refusing a selector that has no epoll fd.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { RuntimeError } from '../../src/core/errors.js';
import { EVENT_READ } from '../../src/core/selector.js';
import { NodeGuestHost } from '../../src/hosts/node-guest.js';
import { createNodeLoop } from '../../src/hosts/node.js';
import { EpollSelector } from '../../src/io/epoll-selector.js';
import { PollSelector } from '../../src/io/poll-selector.js';
import { closeAll, pipe, writeString } from '../io/fds.js';
import { Log } from '../log.js';
import { nodeHostContract } from './node-host-contract.js';
import { withWatchdog } from './node-helpers.js';

nodeHostContract('guest');

test('guest host: wait(Infinity) ends when a registered fd becomes readable, and only then', async () => {
  const selector = new EpollSelector();
  const host = new NodeGuestHost(selector);
  const log = new Log();
  const [r, w] = pipe();
  selector.register(r, EVENT_READ);
  setTimeout(() => {
    log.push('node timer fired; writing');
    writeString(w, 'x');
  }, 20);
  setImmediate(() => log.push('node immediate ran during the wait'));
  await withWatchdog(host.wait(Infinity), 'wait(Infinity)');
  log.push('wait ended');
  log.assert(['node immediate ran during the wait', 'node timer fired; writing', 'wait ended']);
  selector.unregister(r);
  host.close();
  selector.close();
  closeAll(r, w);
});

test('guest host: wait(ms) ends by its deadline when nothing is ready; wake() during a wait ends it at once', async () => {
  const selector = new EpollSelector();
  const host = new NodeGuestHost(selector);
  const log = new Log();
  await withWatchdog(host.wait(5).then(() => log.push('deadline')), 'wait(5)');
  const waited = host.wait(Infinity).then(() => log.push('woken'));
  setTimeout(() => {
    log.push('node calls wake()');
    host.wake();
  }, 5);
  await withWatchdog(waited, 'wait(Infinity) + wake()');
  log.assert(['deadline', 'node calls wake()', 'woken']);
  host.close();
  selector.close();
});

test('guest host: a wake() with no wait pending is not lost: the next wait ends at once', async () => {
  const selector = new EpollSelector();
  const host = new NodeGuestHost(selector);
  host.wake();
  await withWatchdog(host.wait(Infinity), 'wait(Infinity) after wake()');
  host.close();
  selector.close();
});

test('guest host: close() ends a pending wait; waiting twice at once or after close is a RuntimeError', async () => {
  const selector = new EpollSelector();
  const host = new NodeGuestHost(selector);
  const waited = host.wait(Infinity);
  assert.throws(() => host.wait(Infinity), RuntimeError);
  host.close();
  await withWatchdog(waited, 'wait ended by close()');
  assert.throws(() => host.wait(1), RuntimeError);
  host.close(); // idempotent
  selector.close();
});

test('guest host: a selector without an epoll fd is refused with a TypeError naming it', () => {
  const selector = new PollSelector();
  assert.throws(() => new NodeGuestHost(selector as never), (error: unknown) => error instanceof TypeError && /epollFd/.test(error.message) && /PollSelector/.test(error.message));
  assert.throws(() => createNodeLoop({ mode: 'guest', selector }), (error: unknown) => error instanceof TypeError && /mode 'guest'/.test(error.message));
  const epoll = new EpollSelector();
  assert.throws(() => new NodeGuestHost(epoll, { sliceMs: 0 }), RangeError);
  epoll.close();
  selector.close();
});
