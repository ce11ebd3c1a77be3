/**
 * NodeBlockingHost (src/hosts/node-blocking.ts): the loop waits in its own
 * epoll_wait, with Node's backend fd and next timer folded in.
 *
 * The shared contract (node-host-contract.ts) runs here in blocking mode;
 * below it, what is particular to this host: Node's fd is hidden from the
 * loop, Node's timers cap the wait, Node's I/O ends it and then gets its
 * turn, and the PollSelector fallback works the same way.
 */
import assert from 'node:assert/strict';
import { createServer, connect, type AddressInfo } from 'node:net';
import test from 'node:test';
import { NodeBlockingHost, NodeBlockingSelector } from '../../src/hosts/node-blocking.js';
import { createNodeLoop } from '../../src/hosts/node.js';
import { EpollSelector } from '../../src/io/epoll-selector.js';
import { PollSelector } from '../../src/io/poll-selector.js';
import { EventLoop } from '../../src/tasks/event-loop.js';
import { syscalls as sys } from '../../src/io/syscalls.js';
import { EVENT_READ, EVENT_WRITE } from '../../src/core/selector.js';
import { until } from '../../src/tasks/operation.js';
import { assertLoopClean } from '../../src/testing.js';
import { closeAll, pipe, readString, writeString } from '../io/fds.js';
import { Log } from '../log.js';
import { nodeHostContract } from './node-host-contract.js';
import { readable, withWatchdog } from './node-helpers.js';

nodeHostContract('blocking');

function blockingLoop(selector = new EpollSelector()): { loop: EventLoop; host: NodeBlockingHost } {
  const host = new NodeBlockingHost(selector);
  return { loop: new EventLoop({ selector: host.selector, host }), host };
}

test("blocking host: Node's fd and the wake-up fd are watched but hidden: not counted, never reported, not registrable", async () => {
  const selector = new NodeBlockingSelector(new EpollSelector());
  assert.equal(selector.fdCount, 0);
  assert.ok(selector.nodeFd >= 0);
  assert.throws(() => selector.register(selector.nodeFd, EVENT_READ), /Node's own event-loop fd/);
  assert.throws(() => selector.register(selector.wakeupFd, EVENT_READ), /own wake-up eventfd/);
  const loop = new EventLoop({ selector });
  assert.throws(() => loop.addReader(selector.nodeFd, () => {}), /Node's own event-loop fd/);
  assert.equal(loop.statistics().readers, 0, 'the failed addReader left nothing behind');
  assert.equal(selector.waitForAny(0), 'none', 'nothing ready yet');
  // Make Node's fd readable: a libuv watcher (started, and polled once by
  // Node's loop) on a pipe holding unread data keeps libuv's epoll set ready.
  const [nodeR, nodeW] = pipe();
  writeString(nodeW, 'for node');
  let polledByNode: () => void = () => {};
  const watcher = sys.uvPollOpen(nodeR, () => polledByNode());
  assert.ok(watcher >= 0);
  sys.uvPollStart(watcher);
  await withWatchdog(new Promise<void>((resolve) => (polledByNode = resolve)), "Node's loop polling the pipe");
  assert.equal(selector.waitForAny(0), 'node', "Node's fd is ready, and it is told apart");
  selector.wakeup();
  assert.equal(selector.waitForAny(0), 'loop', 'a wake-up counts for the loop');
  const [r, w] = pipe();
  writeString(w, 'x');
  selector.register(r, EVENT_READ);
  assert.equal(selector.fdCount, 1);
  selector.wakeup();
  const reported: number[] = [];
  const count = selector.select(0, (fd) => reported.push(fd));
  assert.deepEqual(reported, [r], "only the loop's fd is reported (not Node's, not the wake-up)");
  assert.equal(count, 1);
  assert.equal(selector.waitForAny(0), 'loop');
  selector.unregister(r);
  sys.uvPollClose(watcher);
  assertLoopClean(loop);
  closeAll(r, w, nodeR, nodeW);
});

test('blocking selector: the loop fds a blocking wait saw are reported by the next select without polling again, once; any (un)registration in between drops them', () => {
  const selector = new NodeBlockingSelector(new EpollSelector());
  const [r, w] = pipe();
  const [r2, w2] = pipe();
  const seen: string[] = [];
  const record = (fd: number, events: number): void => void seen.push(`${fd === r ? 'r' : fd === r2 ? 'r2' : fd}:${events}`);
  selector.register(r, EVENT_READ);
  writeString(w, 'x');
  assert.equal(selector.waitForAny(0), 'loop');
  assert.equal(readString(r), 'x', 'drained: a fresh poll would now report nothing');
  assert.equal(selector.select(0, record), 1);
  assert.deepEqual(seen, [`r:${EVENT_READ}`], 'reported from what the wait kept, not from a new poll');
  assert.equal(selector.select(0, record), 0, 'kept events are reported once');
  for (const change of [
    () => selector.register(r2, EVENT_READ),
    () => selector.modify(r2, EVENT_READ | EVENT_WRITE),
    () => selector.unregister(r2),
  ]) {
    writeString(w, 'y');
    assert.equal(selector.waitForAny(0), 'loop');
    readString(r);
    change();
    assert.equal(selector.select(0, record), 0, 'after a registration change the select polls afresh (and r is drained)');
  }
  writeString(w, 'z');
  assert.equal(selector.waitForAny(0), 'loop');
  selector.close();
  assert.throws(() => selector.select(0, record), /closed/, 'close drops what was kept: select on a closed selector fails as usual');
  assert.deepEqual(seen, [`r:${EVENT_READ}`]);
  closeAll(r, w, r2, w2);
});

test("blocking host: an idle wait is capped by Node's next timer, so Node's setTimeout runs while eventide waits", async () => {
  const { loop, host } = blockingLoop();
  const log = new Log();
  loop.callSoon(() => {
    log.push('loop going idle (no eventide timer)');
    setTimeout(() => {
      log.push('node setTimeout ran');
      loop.stop();
    }, 20);
  });
  await withWatchdog(loop.runForever(), 'runForever', () => loop.stop());
  log.assert(['loop going idle (no eventide timer)', 'node setTimeout ran']);
  assert.ok(host.statistics().nodeTimerCaps >= 1, 'the wait was capped by Node\'s timer');
  assertLoopClean(loop);
});

test("blocking host: Node's socket I/O gets its turn while eventide waits (libuv's fd is readable) and its callbacks run", async () => {
  const { loop, host } = blockingLoop();
  const log = new Log();
  const server = createServer((socket) => {
    socket.once('data', (data) => {
      log.push(`server got ${data}`);
      socket.end('pong');
    });
  });
  const reply = await withWatchdog(
    loop.runUntilComplete(function* () {
      yield* until(new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)));
      const { port } = server.address() as AddressInfo;
      return yield* until(
        new Promise<string>((resolve, reject) => {
          const client = connect(port, '127.0.0.1', () => client.write('ping'));
          let text = '';
          client.on('data', (chunk) => (text += chunk));
          client.on('end', () => resolve(text));
          client.on('error', reject);
        }),
      );
    }),
    'runUntilComplete',
    () => loop.stop(),
  );
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.equal(reply, 'pong');
  log.assert(['server got ping']);
  assert.ok(host.statistics().nodeWakeups >= 1, "a blocking select ended because libuv's fd was readable");
  assertLoopClean(loop);
});

test('blocking host: with the PollSelector fallback, a pipe still wakes an idle loop', async () => {
  const { loop } = blockingLoop(new PollSelector() as never);
  const log = new Log();
  const [r, w] = pipe();
  await withWatchdog(
    loop.runUntilComplete(function* () {
      const ready = readable(loop, r);
      setTimeout(() => writeString(w, 'poll'), 10);
      yield* ready;
      log.push(`readable: ${readString(r)}`);
    }),
    'runUntilComplete',
    () => loop.stop(),
  );
  log.assert(['readable: poll']);
  assertLoopClean(loop);
  closeAll(r, w);
});

test('blocking host: createNodeLoop falls back to blocking mode for a selector without an epoll fd', async () => {
  const loop = createNodeLoop({ selector: new PollSelector() });
  assert.ok(loop.selector instanceof NodeBlockingSelector);
  assert.equal(loop.selector.name, 'PollSelector');
  assertLoopClean(loop);
});

test('blocking host: a bad inner selector or sliceMs is refused; close() is idempotent', () => {
  assert.throws(() => new NodeBlockingSelector(null as never), TypeError);
  const host = new NodeBlockingHost(new EpollSelector());
  const epoll = new EpollSelector();
  assert.throws(() => new NodeBlockingHost(epoll, { sliceMs: -1 }), RangeError);
  epoll.close();
  host.close();
  host.close();
  host.selector.close();
});

test('blocking host: an fd that Node starts watching from a callback run after a wake-up is watched while the loop blocks on', async () => {
  // Node starts watching the pipe (a libuv poll watcher, as Node's own
  // sockets use) from a callback that runs inside the host's turn, after a
  // wake-up (the 10 ms timer), with nothing else pending in Node. libuv
  // adds the fd to its epoll set only in its next poll phase, so the turn
  // must give Node that phase before blocking again; if it blocked on at
  // once, the pipe's data would wait for the 5 s guard.
  const { loop } = blockingLoop();
  const log = new Log();
  const [r, w] = pipe();
  let watcher = -1;
  const guard = setTimeout(() => {
    log.push('guard fired');
    loop.stop();
  }, 5000);
  loop.callLater(10, () => {
    log.push('node starts watching');
    watcher = sys.uvPollOpen(r, () => {
      log.push(`node saw ${readString(r)}`);
      sys.uvPollStop(watcher);
      loop.stop();
    });
    sys.uvPollStart(watcher);
    loop.callLater(20, () => writeString(w, 'data'));
  });
  await loop.runForever();
  clearTimeout(guard);
  sys.uvPollClose(watcher);
  closeAll(r, w);
  log.assert(['node starts watching', 'node saw data']);
  assertLoopClean(loop);
});

test('blocking host: a loop waiting for an fd is not starved by Node code that always has work (a setImmediate chain)', async () => {
  // While Node always has work, libuv's next timeout is always 0 and the
  // host never blocks; it must still poll the loop's fds on each turn.
  const { loop } = blockingLoop();
  const log = new Log();
  const [r, w] = pipe();
  let spinning = true;
  let spins = 0;
  const spin = (): void => {
    spins++;
    if (spinning) setImmediate(spin);
  };
  setImmediate(spin);
  const guard = setTimeout(() => {
    log.push('guard fired');
    loop.stop();
  }, 5000);
  loop.addReader(r, () => {
    log.push(`loop read ${readString(r)}`);
    loop.removeReader(r);
    loop.stop();
  });
  loop.callLater(10, () => writeString(w, 'x'));
  await loop.runForever();
  spinning = false;
  clearTimeout(guard);
  closeAll(r, w);
  log.assert(['loop read x']);
  assert.ok(spins > 1, 'Node kept spinning all along');
  assertLoopClean(loop);
});

test('blocking host: readiness of the loop\'s fds runs the loop\'s ticks from the turn, and the wait goes on (no promise per wake-up)', async () => {
  const { loop, host } = blockingLoop();
  const log = new Log();
  const [r, w] = pipe();
  let reads = 0;
  loop.addReader(r, () => {
    log.push(`read ${readString(r)}`);
    if (++reads === 3) return loop.stop();
    setTimeout(() => writeString(w, String(reads)), 1); // from Node: the loop is idle meanwhile
  });
  setTimeout(() => writeString(w, '0'), 1);
  await withWatchdog(loop.runForever(), 'runForever', () => loop.stop());
  loop.removeReader(r);
  closeAll(r, w);
  log.assert(['read 0', 'read 1', 'read 2']);
  const stats = host.statistics();
  assert.equal(stats.ticksRun, 3, 'each read ran in a tick the host ran');
  assert.equal(stats.waits, 1, 'one wait, which went on through the first two reads and ended with the stop');
  assertLoopClean(loop);
});
