/**
 * NodeEventLoop: the loop with asyncio's I/O methods. Driven two ways —
 * by hand with runOnce (it blocks in epoll until a socket is ready) and
 * with Node's guest host — and the methods delegate to the io/ functions.
 */
import assert from 'node:assert/strict';
import { writeSync } from 'node:fs';
import test from 'node:test';
import { setImmediate as yieldToNode } from 'node:timers/promises';
import { NodeGuestHost } from '../../src/hosts/node-guest.js';
import { EpollSelector } from '../../src/io/epoll-selector.js';
import { NodeEventLoop } from '../../src/io/node-event-loop.js';
import { EventLoop as NodeEntryEventLoop, closeFd, openPipe, sleep } from '../../src/node.js';
import { openSocket } from '../../src/io/sockets.js';
import { syscalls as sys } from '../../src/io/syscalls.js';
import type { Future } from '../../src/tasks/future.js';
import { assertLoopClean } from '../../src/testing.js';
import { openFdCount } from './fds.js';
import { Collector, EchoProtocol, eventually } from './net-helpers.js';

const C = sys.constants;
const T = { timeout: 30_000 };

/** Ticks `loop` with runOnce until `future` is done; Node gets a turn between ticks (for DNS). */
async function tickUntil<T>(loop: NodeEventLoop, future: Future<T>): Promise<T> {
  const deadline = performance.now() + 20_000;
  while (!future.done()) {
    if (performance.now() > deadline) throw new Error('tickUntil: timed out');
    loop.runOnce(5);
    await yieldToNode();
  }
  return future.result();
}

test('driven by runOnce: createServer, createConnection, sock* methods, getaddrinfo', T, async () => {
  const fdsBefore = openFdCount();
  const loop = new NodeEventLoop();
  assert.equal(loop.selector.name, 'EpollSelector', 'epoll by default');
  const main = loop.createTask(function* () {
    const server = yield* loop.createServer(() => new EchoProtocol(), '127.0.0.1', 0);
    const [, port] = server.addresses()[0] as [string, number];
    const [transport, client] = yield* loop.createConnection(() => new Collector(), '127.0.0.1', port);
    transport.write(Buffer.from('method'));
    yield* eventually(() => client.data.length === 6, 'echo');
    transport.close();
    yield* eventually(() => client.lost !== undefined, 'close');

    const fd = openSocket(C.AF_INET, C.SOCK_STREAM, 'test');
    yield* loop.sockConnect(fd, ['127.0.0.1', port]);
    yield* loop.sockSendAll(fd, Buffer.from('raw'));
    assert.equal((yield* loop.sockRecv(fd, 3)).toString(), 'raw');
    sys.close(fd);

    const infos = yield* loop.getaddrinfo('localhost', port, { family: C.AF_INET, type: C.SOCK_STREAM });
    assert.ok(infos.length > 0);
    server.close();
    server.closeClients();
    yield* server.waitClosed();
    return 'ok';
  });
  assert.equal(await tickUntil(loop, main), 'ok');
  loop.runOnce(0);
  assertLoopClean(loop);
  assert.equal(openFdCount(), fdsBefore);
});

test('with Node\'s guest host: runUntilComplete, Unix and datagram methods', T, async () => {
  const fdsBefore = openFdCount();
  const selector = new EpollSelector();
  const loop = new NodeEventLoop({ selector, host: new NodeGuestHost(selector) });
  await loop.runUntilComplete(function* () {
    const path = `\0eventide-nel-${process.pid}`;
    const server = yield* loop.createUnixServer(() => new EchoProtocol(), path);
    const [transport, client] = yield* loop.createUnixConnection(() => new Collector(), path);
    transport.write(Buffer.from('unix'));
    yield* eventually(() => client.data.length === 4, 'echo');
    transport.close();
    yield* eventually(() => client.lost !== undefined, 'close');
    server.close();
    yield* server.waitClosed();

    let lost: Error | null | undefined;
    const [udp] = yield* loop.createDatagramEndpoint(() => ({ connectionLost: (exc: Error | null) => void (lost = exc) }), { localAddr: ['127.0.0.1', 0] });
    assert.equal((udp.getExtraInfo('sockname') as [string, number])[0], '127.0.0.1');
    udp.close();
    yield* eventually(() => lost === null, 'connectionLost(null)');
  });
  assertLoopClean(loop);
  assert.equal(openFdCount(), fdsBefore);
});

test('bad input: removeReader of an unknown fd is false; addReader of a closed fd is a clear OSError', () => {
  const loop = new NodeEventLoop();
  assert.equal(loop.removeReader(987), false);
  assert.equal(loop.removeWriter(987), false);
  const fd = openSocket(C.AF_INET, C.SOCK_STREAM, 'test');
  sys.close(fd);
  assert.throws(() => loop.addReader(fd, () => {}), (e: unknown) => (e as { code?: string }).code === 'EBADF' && new RegExp(`fd ${fd}`).test(String(e)));
  assert.equal(loop.statistics().readers, 0, 'nothing registered');
  assertLoopClean(loop);
});

test("new EventLoop() from 'eventide/node' is a NodeEventLoop that waits for its fds in runForever, in guest and blocking mode", T, async () => {
  const fdsBefore = openFdCount();
  for (const options of [{}, { mode: 'guest' as const }, { mode: 'blocking' as const }]) {
    const loop = new NodeEntryEventLoop(options);
    assert.ok(loop instanceof NodeEventLoop);
    const [readFd, writeFd] = openPipe();
    const log: string[] = [];
    loop.addReader(readFd, () => {
      log.push(`readable (${options.mode ?? 'default'})`);
      loop.removeReader(readFd);
      loop.stop();
    });
    const writer = setTimeout(() => writeSync(writeFd, 'x'), 20);
    await loop.runForever(); // with the plain timers host this never woke
    clearTimeout(writer);
    assert.deepEqual(log, [`readable (${options.mode ?? 'default'})`]);
    closeFd(readFd);
    closeFd(writeFd);
    loop.close();
  }
  assert.equal(openFdCount(), fdsBefore);
});

test("new EventLoop({ clock: 'virtual' }) from 'eventide/node' still jumps through sleeps; mode with host is a TypeError", T, async () => {
  const loop = new NodeEntryEventLoop({ clock: 'virtual' });
  const slept = await loop.runUntilComplete(function* () {
    const start = loop.time();
    yield* sleep(3_600_000);
    return loop.time() - start;
  });
  assert.equal(slept, 3_600_000);
  loop.close();
  const selector = new EpollSelector();
  const host = new NodeGuestHost(selector);
  assert.throws(() => new NodeEntryEventLoop({ selector, host, mode: 'blocking' }), {
    name: 'TypeError',
    message: 'NodeEventLoop: options.mode chooses the host, so it cannot be given with options.host',
  });
  host.close();
  selector.close();
});
