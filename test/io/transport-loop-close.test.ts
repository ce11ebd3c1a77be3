/**
 * loop.close() with transports still holding their fds (core/fd-owners.ts,
 * each transport's loopClosed): a socket, a pipe each way, a UDP endpoint
 * and two servers (TCP, Unix) left open, and a socket closed just before
 * the loop (its last callback, which closes the fd, never ran); and a
 * subprocess whose child still runs (killed). Every fd is closed by
 * loop.close(), the peers see end of file, no protocol callback runs, the
 * process's fd count is back where it was, and debug mode names the ones
 * nobody closed, once each (asyncio's "unclosed transport").
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import test from 'node:test';
import { connectReadPipe, connectWritePipe } from '../../src/io/connect-pipe.js';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAcceptedSocket, createConnection, createDatagramEndpoint, createServer, createUnixServer } from '../../src/io/connect.js';
import { NodeEventLoop } from '../../src/io/node-event-loop.js';
import { sendfile } from '../../src/io/sendfile.js';
import { sleep } from '../../src/tasks/operation.js';
import { syscalls as sys } from '../../src/io/syscalls.js';
import { C, closeAll, openFdCount, pipe, readString, socketpair } from './fds.js';
import { Collector } from './net-helpers.js';

/** Whether `fd` is an open file descriptor of this process. */
function isOpen(fd: number): boolean {
  return sys.fcntl(fd, C.F_GETFD, 0) >= 0;
}

/** The first fd number in a transport's or server's name ('fd=7'; a server's is its listening socket's, given by the caller). */
const serverFdOf = new Map<string, number>();
function fdIn(name: string): number {
  return serverFdOf.get(name) ?? Number(/fd=(\d+)/.exec(name)?.[1]);
}

/** A logger that keeps what it is given. */
function recordingLogger(): { warnings: string[]; errors: unknown[][]; logger: { warn(...args: unknown[]): void; error(...args: unknown[]): void } } {
  const warnings: string[] = [];
  const errors: unknown[][] = [];
  return { warnings, errors, logger: { warn: (...args) => void warnings.push(args.map(String).join(' ')), error: (...args) => void errors.push(args) } };
}

for (const debug of [true, false]) {
  test(`loop.close() closes the fd of every transport still holding one, with no callbacks; debug ${debug}: ${debug ? 'each one nobody closed is named' : 'nothing is logged'}`, async () => {
    const fdsBefore = openFdCount();
    const { warnings, errors, logger } = recordingLogger();
    const loop = new NodeEventLoop({ debug, logger });
    const [openSock, openPeer] = socketpair();
    const [closingSock, closingPeer] = socketpair();
    const [readEnd, readPeer] = pipe();
    const [writePeer, writeEnd] = pipe();
    const [open, openProtocol] = await loop.runUntilComplete(connectAcceptedSocket(loop, () => new Collector(), openSock));
    const [closing, closingProtocol] = await loop.runUntilComplete(connectAcceptedSocket(loop, () => new Collector(), closingSock));
    const readerEvents: string[] = [];
    const [reader] = await loop.runUntilComplete(
      connectReadPipe(loop, () => ({ connectionMade: () => void readerEvents.push('made'), connectionLost: () => void readerEvents.push('lost') }), readEnd),
    );
    const [writer] = await loop.runUntilComplete(connectWritePipe(loop, () => ({}), writeEnd));
    const [udp] = await loop.runUntilComplete(createDatagramEndpoint(loop, () => ({}), { localAddr: ['127.0.0.1', 0] }));
    const udpFd = (udp.getExtraInfo('socket') as { fd: number }).fd;
    const tcpServer = await loop.runUntilComplete(createServer(loop, () => new Collector(), '127.0.0.1', 0));
    const unixPath = join(tmpdir(), `eventide-loop-close-${process.pid}-${debug}.sock`);
    const unixServer = await loop.runUntilComplete(createUnixServer(loop, () => new Collector(), unixPath));
    const serverFds = [...tcpServer.sockets, ...unixServer.sockets].map((socket) => socket.fd);
    serverFdOf.set(String(tcpServer), serverFds[0] as number);
    serverFdOf.set(String(unixServer), serverFds[1] as number);
    // More than the pipe holds: the rest waits in the writer's queue.
    writer.write(Buffer.alloc(256 * 1024, 7));
    assert.ok(writer.getWriteBufferSize() > 0);
    // Closed, but its connectionLost (which closes the fd) would run only on the next tick.
    closing.close();
    const names = [String(open), String(reader), String(writer), String(udp), String(tcpServer), String(unixServer)].sort((a, b) => fdIn(a) - fdIn(b));

    loop.close();

    for (const fd of [openSock, closingSock, readEnd, writeEnd, udpFd, ...serverFds]) assert.equal(isOpen(fd), false, `fd ${fd} is closed`);
    assert.equal(existsSync(unixPath), false, "the Unix server's socket file is removed");
    assert.equal(tcpServer.isServing(), false);
    assert.equal(readString(openPeer), '', 'the peer of the open socket reads end of file');
    assert.equal(readString(closingPeer), '', 'the peer of the closing socket reads end of file');
    assert.deepEqual(openProtocol.events, ['made'], 'no callback ran after the loop closed');
    assert.deepEqual(closingProtocol.events, ['made']);
    assert.deepEqual(readerEvents, ['made']);
    for (const transport of [open, closing, reader, writer, udp]) assert.equal(transport.isClosing(), true);
    assert.equal(writer.getWriteBufferSize(), 0, 'the queued bytes were dropped');
    // What the user may still call does no harm: the fds are not closed twice.
    open.close();
    open.abort();
    closing.abort();
    udp.close();
    tcpServer.close();
    assert.deepEqual(
      warnings,
      debug ? names.map((name) => `eventide: unclosed ${name} when the loop closed; closed it now`) : [],
      'named as they were, in the order of their fds',
    );
    assert.deepEqual(errors, []);
    closeAll(openPeer, closingPeer, readPeer, writePeer);
    assert.equal(openFdCount(), fdsBefore, 'every fd the test opened is closed again');
  });
}

test('a transport that fails to close at loop.close() goes to the exception handler; the others still close', async () => {
  const loop = new NodeEventLoop();
  const reported: string[] = [];
  loop.setExceptionHandler((context) => reported.push(`${context.message}: ${(context.exception as Error).message}`));
  const [first, firstPeer] = socketpair();
  const [second, secondPeer] = socketpair();
  const [broken] = await loop.runUntilComplete(connectAcceptedSocket(loop, () => new Collector(), first));
  await loop.runUntilComplete(connectAcceptedSocket(loop, () => new Collector(), second));
  Object.defineProperty(broken, 'loopClosed', { value: () => { throw new Error('stuck'); } });
  loop.close();
  assert.deepEqual(reported, [`closing ${String(broken)}, left open when the loop closed, failed: stuck`]);
  assert.equal(isOpen(second), false, 'the next transport still closed its fd');
  assert.equal(isOpen(first), true, 'the broken one kept its fd');
  closeAll(first, firstPeer, secondPeer);
});

test('loop.close() while loop.sendfile sends a file: the transport lent its fd to sendfile(2), and it is closed all the same', async () => {
  const loop = new NodeEventLoop();
  const [sock, peer] = socketpair();
  const dir = mkdtempSync(join(tmpdir(), 'eventide-loop-close-sendfile-'));
  const path = join(dir, 'big.bin');
  writeFileSync(path, Buffer.alloc(8 * 1024 * 1024, 1)); // far more than the socket buffers hold: the peer does not read
  const file = openSync(path, 'r');
  try {
    const [transport, protocol] = await loop.runUntilComplete(connectAcceptedSocket(loop, () => new Collector(), sock));
    const sending = sendfile(loop, transport, file);
    // Until sendfile(2) runs on the fd: the transport lends it (addReader & co. accept it then).
    await loop.runUntilComplete(function* () {
      for (;;) {
        try {
          loop.checkFdNotOwned(sock, 'test');
          return;
        } catch {
          yield* sleep(0);
        }
      }
    });
    assert.equal(sending.done(), false, 'blocked: the peer is not reading');
    loop.close();
    assert.equal(isOpen(sock), false, "the transport's fd is closed");
    assert.deepEqual(protocol.events, ['made'], 'no callback ran after the loop closed');
  } finally {
    if (isOpen(sock)) closeAll(sock);
    closeAll(peer);
    closeSync(file);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a server the loop closed counts as closed: its connections are gone, waitClosed() waiters taken before resolve (awaited from outside) and later ones are resolved at once", async () => {
  const loop = new NodeEventLoop();
  const server = await loop.runUntilComplete(createServer(loop, () => new Collector(), '127.0.0.1', 0));
  const port = (server.addresses()[0] as [string, number])[1];
  await loop.runUntilComplete(function* () {
    yield* createConnection(loop, () => new Collector(), '127.0.0.1', port);
    while (server.statistics().activeConnections === 0) yield* sleep(0);
  });
  const before = server.waitClosed();
  let heard = false;
  void before.then(() => void (heard = true));
  loop.close();
  assert.equal(server.statistics().activeConnections, 0, 'its connection was closed with the loop');
  assert.equal(before.done(), true, 'a waiter taken before the close is resolved');
  await Promise.resolve();
  assert.equal(heard, true, 'and what awaits it hears so');
  assert.equal(server.waitClosed().done(), true, 'a waiter taken after the close is resolved at once');
  server.close(); // still harmless
});

test('loop.close() kills the child of a subprocess transport nobody closed (else it would run on, and keep Node alive until it exits), and closes its pipes; debug mode names it; a finished one is left alone', async () => {
  const fdsBefore = openFdCount();
  const { warnings, logger } = recordingLogger();
  const loop = new NodeEventLoop({ debug: true, logger });
  const [running] = await loop.runUntilComplete(loop.subprocessExec(() => ({}), 'sleep', ['30']));
  const [finished] = await loop.runUntilComplete(loop.subprocessExec(() => ({}), 'true', []));
  const child = running.getExtraInfo('subprocess') as ChildProcess;
  const exited = new Promise<string | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  while (finished.getReturncode() === null || finished.isClosing() === false) {
    await loop.runUntilComplete(loop.createTask(function* () { yield* sleep(5); }));
    if (finished.getReturncode() !== null) finished.close();
  }
  const name = String(running);
  loop.close();
  assert.equal(await exited, 'SIGKILL', 'the running child was killed');
  assert.equal(running.isClosing(), true);
  assert.deepEqual(warnings, [`eventide: unclosed ${name} when the loop closed; closed it now`]);
  assert.equal(openFdCount(), fdsBefore, "both transports' pipes are closed, and the loop's own fds");
});
