/**
 * loop.close() with transports still holding their fds (core/fd-owners.ts,
 * each transport's loopClosed): a socket, a pipe each way and a UDP
 * endpoint left open, and a socket closed just before the loop (its last
 * callback, which closes the fd, never ran). Every fd is closed by
 * loop.close(), the peers see end of file, no protocol callback runs, the
 * process's fd count is back where it was, and debug mode names the ones
 * nobody closed, once each (asyncio's "unclosed transport").
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { connectReadPipe, connectWritePipe } from '../../src/io/connect-pipe.js';
import { connectAcceptedSocket, createDatagramEndpoint } from '../../src/io/connect.js';
import { NodeEventLoop } from '../../src/io/node-event-loop.js';
import { syscalls as sys } from '../../src/io/syscalls.js';
import { C, closeAll, openFdCount, pipe, readString, socketpair } from './fds.js';
import { Collector } from './net-helpers.js';

/** Whether `fd` is an open file descriptor of this process. */
function isOpen(fd: number): boolean {
  return sys.fcntl(fd, C.F_GETFD, 0) >= 0;
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
    // More than the pipe holds: the rest waits in the writer's queue.
    writer.write(Buffer.alloc(256 * 1024, 7));
    assert.ok(writer.getWriteBufferSize() > 0);
    // Closed, but its connectionLost (which closes the fd) would run only on the next tick.
    closing.close();
    const names = [String(open), String(reader), String(writer), String(udp)];

    loop.close();

    for (const fd of [openSock, closingSock, readEnd, writeEnd, udpFd]) assert.equal(isOpen(fd), false, `fd ${fd} is closed`);
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
    assert.deepEqual(
      warnings,
      debug ? names.map((name) => `eventide: unclosed transport ${name} when the loop closed; its fd is closed now`) : [],
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
  assert.deepEqual(reported, ['closing a transport left open when the loop closed failed: stuck']);
  assert.equal(isOpen(second), false, 'the next transport still closed its fd');
  assert.equal(isOpen(first), true, 'the broken one kept its fd');
  closeAll(first, firstPeer, secondPeer);
});
