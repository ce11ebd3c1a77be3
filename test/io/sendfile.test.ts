/**
 * sendfile: `sockSendfile` on raw stream sockets and `loop.sendfile` on a
 * TCP transport, with real files. Exact bytes, offsets and counts; the
 * file's position untouched; the fallback for a file sendfile(2) cannot
 * serve (a pipe), and SendfileNotAvailableError without it; a transport's
 * queued data first, its writes refused and its reading paused while the
 * file goes out; the transport lost mid-file; bad input.
 */
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { RuntimeError } from '../../src/core/errors.js';
import { createConnection, createServer } from '../../src/io/connect.js';
import { closeFd, openPipe } from '../../src/io/connect-pipe.js';
import { BrokenPipeError, OSError, SendfileNotAvailableError } from '../../src/io/errors.js';
import { sendfile } from '../../src/io/sendfile.js';
import { sockRecv, sockSendAll, sockSendfile } from '../../src/io/sock.js';
import { openSocket } from '../../src/io/sockets.js';
import { syscalls as sys } from '../../src/io/syscalls.js';
import type { Server } from '../../src/io/server.js';
import type { SocketTransport } from '../../src/io/socket-transport.js';
import type { Transport } from '../../src/io/transport.js';
import type { EventLoop } from '../../src/tasks/event-loop.js';
import type { Task } from '../../src/tasks/task.js';
import { sleep, type Coroutine } from '../../src/tasks/operation.js';
import { closeAll, socketpair } from './fds.js';
import { Collector, eventually, failure, pattern, runIo } from './net-helpers.js';

const T = { timeout: 30_000 };
const dir = mkdtempSync(join(tmpdir(), 'eventide-sendfile-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** A file holding `data`, opened for reading: its fd. */
function fileWith(name: string, data: Buffer): number {
  const path = join(dir, name);
  writeFileSync(path, data);
  return openSync(path, 'r');
}

/** Reads `length` bytes from the stream socket `fd` (sockRecv until they are all there). */
function* receive(loop: EventLoop, fd: number, length: number): Coroutine<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  while (got < length) {
    const chunk = yield* sockRecv(loop, fd, 65536);
    if (chunk.length === 0) break;
    chunks.push(chunk);
    got += chunk.length;
  }
  return Buffer.concat(chunks);
}

test('sockSendfile: a 3 MiB file whole, then a slice by offset and count, and a count past the end stops at the end; the file position stays 0', T, async () => {
  await runIo(function* (loop) {
    const content = pattern(3 * 1024 * 1024);
    const file = fileWith('whole.bin', content);
    const [a, b] = socketpair();
    const reading = loop.createTask(() => receive(loop, b, content.length));
    assert.equal(yield* sockSendfile(loop, a, file), content.length);
    assert.ok((yield* reading).equals(content));
    assert.equal(yield* loop.sockSendfile(a, file, 1000, 5000), 5000);
    assert.ok((yield* receive(loop, b, 5000)).equals(content.subarray(1000, 6000)));
    assert.equal(yield* sockSendfile(loop, a, file, content.length - 10, 100), 10, 'only what the file has');
    assert.ok((yield* receive(loop, b, 10)).equals(content.subarray(content.length - 10)));
    assert.equal(yield* sockSendfile(loop, a, file, content.length), 0, 'from the end: nothing');
    const head = Buffer.alloc(4);
    assert.equal(readSync(file, head, 0, 4, null), 4);
    assert.ok(head.equals(content.subarray(0, 4)), 'sendfile(2) with an offset leaves the file position alone');
    closeSync(file);
    closeAll(a, b);
  });
});

test('sockSendfile from a pipe: the fallback reads and sends it; with fallback false, SendfileNotAvailableError; an offset on a pipe is a RangeError', T, async () => {
  await runIo(function* (loop) {
    const [a, b] = socketpair();
    const [readEnd, writeEnd] = openPipe();
    assert.equal(sys.write(writeEnd, Buffer.from('from a pipe'), 0, 11), 11);
    const refused = yield* failure(sockSendfile(loop, a, readEnd, 0, null, { fallback: false }));
    assert.ok(refused instanceof SendfileNotAvailableError, String(refused));
    assert.match((refused as Error).message, new RegExp(`fd ${readEnd} is not a regular file`));
    const offset = yield* failure(sockSendfile(loop, a, readEnd, 3));
    assert.ok(offset instanceof RangeError && /offset must be 0/.test(offset.message), String(offset));
    closeFd(writeEnd); // so the fallback's read sees the end of the pipe
    assert.equal(yield* sockSendfile(loop, a, readEnd), 11);
    assert.equal((yield* receive(loop, b, 11)).toString(), 'from a pipe');
    closeAll(a, b, readEnd);
  });
});

test('sockSendfile while a sockSendAll waits on the same socket: refused with a RuntimeError before a byte of the file goes out', T, async () => {
  await runIo(function* (loop) {
    const file = fileWith('interleave.bin', pattern(1000)); // fits in the room made below: the old code sent it at once
    const [a, b] = socketpair();
    const data = pattern(4 * 1024 * 1024).subarray(1);
    const sendingAll = sockSendAll(loop, a, data);
    assert.equal(sendingAll.done(), false, 'waiting: the peer is not reading');
    // Make room, so that a send from the second operation would go out now.
    const room = Buffer.alloc(256 * 1024);
    const drained = sys.recv(b, room, 0, room.length, 0);
    assert.ok(drained > 0);
    const refused = yield* failure(sockSendfile(loop, a, file));
    assert.ok(refused instanceof RuntimeError && /another write operation is already waiting on fd/.test(refused.message), String(refused));
    const rest = yield* receive(loop, b, data.length - drained);
    yield* sendingAll;
    const got = Buffer.concat([room.subarray(0, drained), rest]);
    assert.ok(got.equals(data), 'the peer got the sendall data, with nothing of the file in it');
    closeSync(file);
    closeAll(a, b);
  });
});

/** A TCP connection over 127.0.0.1: the client's transport and protocol, the server side's protocol, and the server to close. */
interface Connection {
  transport: SocketTransport;
  client: Collector;
  server: Collector;
  listener: Server;
}

function* connect(loop: EventLoop, client: () => Collector = () => new Collector(), priority?: 'high'): Coroutine<Connection> {
  const accepted: Collector[] = [];
  const listener = yield* createServer(loop, () => {
    const collector = new Collector();
    accepted.push(collector);
    return collector;
  }, '127.0.0.1', 0);
  const [, port] = listener.addresses()[0] as [string, number];
  const [transport, protocol] = yield* createConnection(loop, client, '127.0.0.1', port, priority ? { priority } : {});
  yield* eventually(() => accepted.length === 1, 'the server accepted');
  return { transport, client: protocol, server: accepted[0] as Collector, listener };
}

test('loop.sendfile on a TCP transport: queued data first, then the file, then later writes; writes refused and reading paused meanwhile', T, async () => {
  await runIo(function* (loop) {
    const content = pattern(8 * 1024 * 1024 + 123);
    const file = fileWith('transport.bin', content);
    const { transport, server, listener } = yield* connect(loop);
    (server.transport as Transport).pauseReading(); // so that the client's writes queue up
    const before = pattern(4 * 1024 * 1024).subarray(7);
    transport.write(before);
    assert.ok(transport.getWriteBufferSize() > 0, 'queued: the server is not reading');
    const sending = loop.sendfile(transport, file, 0, null);
    yield* sleep(0);
    assert.equal(transport.isReading(), false, 'reading is paused while the file goes out');
    assert.throws(() => transport.write(Buffer.from('x')), (e: unknown) => e instanceof RuntimeError && /while loop.sendfile\(\) sends a file/.test(e.message));
    assert.throws(() => transport.writeEof(), (e: unknown) => e instanceof RuntimeError && /writeEof: unable to shut down writing while loop.sendfile\(\)/.test(e.message));
    // While the queue flushes, the fd is still the transport's: its writer cannot be taken away (the flush would stall).
    assert.throws(() => loop.removeWriter(transport.fd), (e: unknown) => e instanceof RuntimeError && /^removeWriter: file descriptor \d+ is used by transport/.test(e.message));
    (server.transport as Transport).resumeReading();
    assert.equal(yield* sending, content.length);
    assert.equal(transport.isReading(), true, 'reading resumes');
    transport.write(Buffer.from('after'));
    transport.close();
    yield* eventually(() => server.lost !== undefined, 'the server saw the close');
    assert.ok(server.data.equals(Buffer.concat([before, content, Buffer.from('after')])));
    closeSync(file);
    listener.close();
  });
});

test('the transport lost while a file is being sent: the task fails with BrokenPipeError, the hold ends, every fd is closed', T, async () => {
  await runIo(function* (loop) {
    const file = fileWith('lost.bin', pattern(32 * 1024 * 1024));
    const { transport, client, server, listener } = yield* connect(loop);
    (server.transport as Transport).pauseReading(); // the file cannot all go out
    const sending = sendfile(loop, transport, file);
    yield* sleep(20);
    assert.equal(sending.done(), false, 'blocked: the server is not reading');
    transport.abort();
    const error = yield* failure(sending);
    assert.ok(error instanceof BrokenPipeError, String(error));
    assert.match((error as Error).message, /the transport closed while the file was being sent/);
    yield* eventually(() => client.lost !== undefined, 'connectionLost');
    assert.equal(client.lost, null);
    (server.transport as Transport).abort();
    closeSync(file);
    listener.close();
    yield* sleep(1);
  });
});

/**
 * The end of a sendfile whose transport closed before the file went out:
 * the server reads again, the task fails with BrokenPipeError, and the
 * server got exactly `before` (what was queued), not a byte of the file.
 */
function* expectFileNeverSent(sending: Task<number>, { server, listener }: Connection, before: Buffer, file: number): Coroutine<void> {
  (server.transport as Transport).resumeReading();
  const error = yield* failure(sending);
  assert.ok(error instanceof BrokenPipeError, String(error));
  assert.match((error as Error).message, /the transport closed before the file was sent/);
  yield* eventually(() => server.lost !== undefined, 'the server saw the close');
  assert.ok(server.data.equals(before), 'the queued data, and not a byte of the file');
  closeSync(file);
  listener.close();
}

test('the transport closed while its queued data drains, before the file: the task fails with BrokenPipeError and the file is never sent', T, async () => {
  await runIo(function* (loop) {
    const file = fileWith('closed-before.bin', pattern(1024 * 1024));
    const connection = yield* connect(loop);
    const { transport, server } = connection;
    (server.transport as Transport).pauseReading();
    const before = pattern(4 * 1024 * 1024);
    transport.write(before);
    const sending = loop.sendfile(transport, file);
    yield* sleep(0);
    transport.close(); // flushes what was written, then closes the fd
    yield* expectFileNeverSent(sending, connection, before, file);
  });
});

test('the transport closed right after its buffer was flushed, before the task resumed: BrokenPipeError, no sendfile(2) on the closed fd', T, async () => {
  await runIo(function* (loop) {
    const file = fileWith('closed-after-flush.bin', pattern(1024 * 1024));
    // A high-priority transport whose protocol, when the buffer drains,
    // schedules close() at high priority: it runs, and its connectionLost
    // (the fd closing) too, before the normal-priority sendfile task is
    // woken by the flush (lower lanes wait while higher ones have work).
    let onDrained = (): void => {};
    const closer = new (class extends Collector {
      override resumeWriting(): void {
        super.resumeWriting();
        onDrained();
      }
    })();
    const connection = yield* connect(loop, () => closer, 'high');
    const { transport, server } = connection;
    transport.setWriteBufferLimits(64 * 1024);
    (server.transport as Transport).pauseReading();
    const before = pattern(4 * 1024 * 1024);
    transport.write(before);
    assert.ok(closer.events.includes('pauseWriting'), 'over the high water mark');
    onDrained = () => void loop.callSoon(() => transport.close(), { priority: 'high' });
    const sending = loop.sendfile(transport, file);
    yield* sleep(0);
    yield* expectFileNeverSent(sending, connection, before, file);
  });
});

test('loop.sendfile on a write pipe: the fallback writes the file through the transport with back-pressure; its protocol hears pause/resume and is put back; fallback false refuses', T, async () => {
  await runIo(function* (loop) {
    const content = pattern(2 * 1024 * 1024 + 5);
    const file = fileWith('pipe.bin', content);
    const [readEnd, writeEnd] = openPipe();
    const events: string[] = [];
    const protocol = { pauseWriting: () => events.push('pause'), resumeWriting: () => events.push('resume'), connectionLost: (exc: Error | null) => events.push(`lost ${String(exc)}`) };
    const [transport] = yield* loop.connectWritePipe(() => protocol, writeEnd);
    const refused = yield* failure(loop.sendfile(transport, file, 0, null, { fallback: false }));
    assert.ok(refused instanceof SendfileNotAvailableError, String(refused));
    const chunks: Buffer[] = [];
    const [reader] = yield* loop.connectReadPipe(() => ({ dataReceived: (data: Buffer) => void chunks.push(data) }), readEnd);
    assert.equal(yield* loop.sendfile(transport, file), content.length);
    assert.equal(transport.getProtocol(), protocol, 'the protocol is put back');
    transport.close();
    yield* eventually(() => events.at(-1) === 'lost null', 'the write end closed');
    yield* eventually(() => !reader.isReading() || Buffer.concat(chunks).length === content.length, 'everything read');
    assert.ok(Buffer.concat(chunks).equals(content));
    assert.ok(events.indexOf('pause') >= 0 && events.indexOf('resume') > events.indexOf('pause'), `pause then resume passed on: ${events.join(', ')}`);
    closeSync(file);
  });
});

test('loop.sendfile on a write pipe whose reader goes away: the task fails with the pipe\'s error and the protocol hears connectionLost', T, async () => {
  await runIo(function* (loop) {
    const file = fileWith('pipe-lost.bin', pattern(4 * 1024 * 1024));
    const [readEnd, writeEnd] = openPipe();
    const lost: (Error | null)[] = [];
    const [transport] = yield* loop.connectWritePipe(() => ({ connectionLost: (exc: Error | null) => void lost.push(exc) }), writeEnd);
    const sending = loop.sendfile(transport, file);
    yield* sleep(20);
    assert.equal(sending.done(), false, 'blocked: nobody reads the pipe');
    closeFd(readEnd);
    const error = yield* failure(sending);
    assert.ok(error instanceof BrokenPipeError, String(error));
    yield* eventually(() => lost.length === 1, 'connectionLost');
    assert.ok(lost[0] instanceof BrokenPipeError, 'data was still queued: BrokenPipeError');
    closeSync(file);
  });
});

test('bad input: not a transport, a bad offset, count or file fd throw at the call; a closing transport and a closed file fail the task', T, async () => {
  await runIo(function* (loop) {
    const [a, b] = socketpair();
    const file = fileWith('bad.bin', pattern(10));
    assert.throws(() => sendfile(loop, {} as never, file), { name: 'TypeError', message: /sendfile: transport must be a write transport/ });
    assert.throws(() => sockSendfile(loop, a, file, -1), { name: 'RangeError', message: 'sockSendfile: offset must be an integer >= 0, got -1' });
    assert.throws(() => sockSendfile(loop, a, file, 0, 0), { name: 'RangeError', message: 'sockSendfile: count must be a positive integer or null (to the end of the file), got 0' });
    assert.throws(() => sockSendfile(loop, a, -3), { name: 'TypeError', message: /sockSendfile: file/ });
    const udp = openSocket(sys.constants.AF_INET, sys.constants.SOCK_DGRAM, 'test');
    assert.throws(() => sockSendfile(loop, udp, file), { name: 'TypeError', message: `sockSendfile: sock must be a stream socket (SOCK_STREAM), fd ${udp} is of type ${sys.constants.SOCK_DGRAM}` });
    closeAll(udp);
    const { transport, server, listener } = yield* connect(loop);
    transport.close();
    const closing = yield* failure(sendfile(loop, transport, file));
    assert.ok(closing instanceof RuntimeError && /SocketTransport.sendfile: the transport is (closing|closed)/.test(closing.message), String(closing));
    closeSync(file);
    const closedFile = yield* failure(sockSendfile(loop, a, file));
    assert.ok(closedFile instanceof OSError && closedFile.code === 'EBADF' && closedFile.syscall === 'fstat', String(closedFile));
    yield* eventually(() => server.lost !== undefined, 'the server saw the close');
    closeAll(a, b);
    listener.close();
    yield* sleep(1);
  });
});
