/**
 * SocketTransport and the protocol contract, over real TCP sockets on
 * 127.0.0.1 and Unix socketpairs: echo, partial reads and writes,
 * back-pressure both ways, half-close, reset by peer, close vs abort,
 * connectionLost exactly once, bad input.
 */
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import test from 'node:test';
import { RuntimeError } from '../../src/core/errors.js';
import { connectAcceptedSocket, createConnection, createServer } from '../../src/io/connect.js';
import { ConnectionResetError, ECONNRESET } from '../../src/io/errors.js';
import type { Server } from '../../src/io/server.js';
import type { Protocol, Transport } from '../../src/io/transport.js';
import type { EventLoop } from '../../src/tasks/event-loop.js';
import { sleep, until, type Coroutine } from '../../src/tasks/operation.js';
import { openFdCount, socketpair } from './fds.js';
import { Collector, cutIntoPieces, EchoProtocol, eventually, failure, pattern, runIo } from './net-helpers.js';

const T = { timeout: 30_000 };

function* listen(loop: EventLoop, factory: () => Protocol): Coroutine<[Server, number]> {
  const server = yield* createServer(loop, factory, '127.0.0.1', 0);
  const [, port] = server.addresses()[0] as [string, number];
  return [server, port];
}

function* closeServer(server: Server): Coroutine<void> {
  server.close();
  yield* server.waitClosed();
}

test('echo over TCP: connectionMade, dataReceived, close; connectionLost(null) exactly once on each side', T, async () => {
  await runIo(function* (loop) {
    const echoes: EchoProtocol[] = [];
    const [server, port] = yield* listen(loop, () => {
      const p = new EchoProtocol();
      echoes.push(p);
      return p;
    });
    const [transport, client] = yield* createConnection(loop, () => new Collector(), '127.0.0.1', port);
    assert.deepEqual(client.events, ['made'], 'createConnection resolves after connectionMade');
    transport.write(Buffer.from('hello '));
    transport.write(new Uint8Array(Buffer.from('world')));
    yield* eventually(() => client.data.length === 11, 'the echo');
    assert.equal(client.data.toString(), 'hello world');
    transport.close();
    assert.equal(transport.isClosing(), true);
    yield* eventually(() => client.lost !== undefined && echoes[0]?.lost !== undefined, 'both sides to be lost');
    assert.deepEqual(client.events, ['made', 'lost']);
    assert.deepEqual(echoes[0]?.events, ['made', 'eof', 'lost'], 'server: EOF, then it closes itself');
    yield* sleep(5);
    assert.deepEqual(client.events, ['made', 'lost'], 'connectionLost is not called again');
    yield* closeServer(server);
  });
});

test('8 MiB through an echo server arrives whole and in order: partial writes are queued, reads come in many chunks', T, async () => {
  await runIo(function* (loop) {
    const [server, port] = yield* listen(loop, () => new EchoProtocol());
    const [transport, client] = yield* createConnection(loop, () => new Collector(), '127.0.0.1', port);
    const payload = pattern(8 * 1024 * 1024);
    transport.write(payload);
    assert.ok(transport.getWriteBufferSize() > 0, 'the kernel took only part of it: the rest is queued');
    payload.fill(0); // the transport copied what it queued: reusing the buffer is safe
    yield* eventually(() => client.data.length >= 8 * 1024 * 1024, '8 MiB back');
    assert.ok(client.data.equals(pattern(8 * 1024 * 1024)), 'same bytes, same order');
    assert.ok(client.chunks.length > 1, `received in ${client.chunks.length} chunks`);
    assert.equal(transport.getWriteBufferSize(), 0);
    transport.close();
    yield* eventually(() => client.lost !== undefined, 'close');
    yield* closeServer(server);
  });
});

test('back-pressure on writing: pauseWriting exactly when the buffer passes the high mark, resumeWriting once at the low mark', T, async () => {
  await runIo(function* (loop) {
    let serverSide: Collector | null = null;
    const [server, port] = yield* listen(loop, () => {
      serverSide = new Collector();
      return serverSide;
    });
    const sizes: number[] = [];
    const [transport, client] = yield* createConnection(loop, () => new Collector(), '127.0.0.1', port);
    yield* eventually(() => serverSide?.transport != null, 'the server side');
    const peer = serverSide as unknown as Collector;
    peer.transport?.pauseReading(); // the peer stops reading: the kernel buffers fill up
    transport.setWriteBufferLimits({ high: 1 << 30 });
    const block = pattern(64 * 1024);
    let written = 0;
    while (transport.getWriteBufferSize() === 0) {
      transport.write(block);
      written += block.length;
      if (written > 256 * 1024 * 1024) assert.fail('the kernel never pushed back');
    }
    const queued = transport.getWriteBufferSize();
    transport.setWriteBufferLimits({ high: queued + 3000, low: 1000 });
    assert.deepEqual(transport.getWriteBufferLimits(), [1000, queued + 3000]);
    client.resumeWriting = () => {
      sizes.push(transport.getWriteBufferSize());
      client.events.push('resumeWriting');
    };
    const piece = pattern(1000);
    for (let i = 0; i < 3; i++) transport.write(piece);
    assert.deepEqual(client.events, ['made'], 'at the high mark exactly: not yet paused');
    transport.write(piece);
    written += 4000;
    assert.deepEqual(client.events, ['made', 'pauseWriting'], 'one byte past it: paused, synchronously');
    transport.write(piece);
    written += 1000;
    assert.deepEqual(client.events, ['made', 'pauseWriting'], 'not paused twice');
    peer.transport?.resumeReading();
    yield* eventually(() => client.events.length === 3, 'resumeWriting');
    assert.deepEqual(client.events, ['made', 'pauseWriting', 'resumeWriting']);
    assert.ok((sizes[0] as number) <= 1000, `resumed at ${sizes[0]} bytes queued (low mark 1000)`);
    yield* eventually(() => peer.data.length === written, 'everything to arrive');
    transport.close();
    yield* eventually(() => client.lost !== undefined && peer.lost !== undefined, 'close');
    yield* closeServer(server);
  });
});

test('back-pressure on reading: pauseReading stops dataReceived (and the reader) until resumeReading', T, async () => {
  await runIo(function* (loop) {
    let serverSide: Collector | null = null;
    const [server, port] = yield* listen(loop, () => (serverSide = new Collector()));
    const [transport, client] = yield* createConnection(loop, () => new Collector(), '127.0.0.1', port);
    transport.write(Buffer.from('a'));
    yield* eventually(() => serverSide !== null && serverSide.data.length === 1, 'the first byte');
    const peer = serverSide as unknown as Collector;
    const readersBefore = loop.statistics().readers;
    peer.transport?.pauseReading();
    assert.equal(peer.transport?.isReading(), false);
    assert.equal(loop.statistics().readers, readersBefore - 1, 'the fd is no longer watched');
    peer.transport?.pauseReading(); // idempotent
    transport.write(Buffer.from('b'));
    yield* sleep(30);
    assert.equal(peer.data.toString(), 'a', 'nothing delivered while paused');
    peer.transport?.resumeReading();
    assert.equal(peer.transport?.isReading(), true);
    yield* eventually(() => peer.data.length === 2, 'the second byte');
    assert.equal(peer.data.toString(), 'ab');
    transport.close();
    yield* eventually(() => client.lost !== undefined && peer.lost !== undefined, 'close');
    yield* closeServer(server);
  });
});

test('pauseReading inside connectionMade: no data until resumeReading', T, async () => {
  await runIo(function* (loop) {
    const [left, right] = socketpair();
    class Paused extends Collector {
      override connectionMade(transport: Transport): void {
        super.connectionMade(transport);
        transport.pauseReading();
      }
    }
    const [a, pa] = yield* connectAcceptedSocket(loop, () => new Paused(), left);
    const [b, pb] = yield* connectAcceptedSocket(loop, () => new Collector(), right);
    b.write(Buffer.from('xyz'));
    yield* sleep(20);
    assert.equal(pa.data.length, 0);
    a.resumeReading();
    yield* eventually(() => pa.data.length === 3, 'data after resume');
    a.close();
    yield* eventually(() => pa.lost !== undefined && pb.lost !== undefined, 'close');
    assert.deepEqual(pb.events, ['made', 'eof', 'lost']);
  });
});

test('half-close: writeEof → the peer reads EOF, stays open, and can still write back', T, async () => {
  await runIo(function* (loop) {
    class Replier implements Protocol {
      transport!: Transport;
      got = 0;
      connectionMade(t: Transport): void {
        this.transport = t;
      }
      dataReceived(data: Buffer): void {
        this.got += data.length;
      }
      eofReceived(): boolean {
        this.transport.write(Buffer.from(`got ${this.got}`));
        this.transport.close();
        return true;
      }
    }
    const [server, port] = yield* listen(loop, () => new Replier());
    const [transport, client] = yield* createConnection(loop, () => new Collector(), '127.0.0.1', port);
    assert.equal(transport.canWriteEof(), true);
    transport.write(Buffer.from('abc'));
    transport.writeEof();
    assert.throws(() => transport.write(Buffer.from('late')), (e: unknown) => e instanceof RuntimeError && /after writeEof/.test(e.message));
    transport.writeEof(); // a second call is a no-op
    yield* eventually(() => client.lost !== undefined, 'the reply and EOF');
    assert.equal(client.data.toString(), 'got 3');
    assert.deepEqual(client.events, ['made', 'eof', 'lost']);
    yield* closeServer(server);
  });
});

test('reset by peer (SO_LINGER 0 close, via Node net resetAndDestroy) → connectionLost(ConnectionResetError), not reported', T, async () => {
  await runIo(function* (loop) {
    let serverSide: Collector | null = null;
    const [server, port] = yield* listen(loop, () => (serverSide = new Collector()));
    const socket = netConnect(port, '127.0.0.1');
    yield* until(new Promise((resolve) => socket.once('connect', resolve)));
    yield* eventually(() => serverSide?.transport != null, 'the accept');
    socket.resetAndDestroy(); // SO_LINGER {on, 0} + close: the kernel sends RST
    const peer = serverSide as unknown as Collector;
    yield* eventually(() => peer.lost !== undefined, 'connectionLost');
    assert.ok(peer.lost instanceof ConnectionResetError, `got ${String(peer.lost)}`);
    assert.equal(peer.lost.errno, ECONNRESET);
    assert.equal(peer.lost.code, 'ECONNRESET');
    assert.equal(peer.lost.syscall, 'recv');
    assert.deepEqual(peer.events, ['made', 'lost ConnectionResetError']);
    yield* closeServer(server);
  });
});

test('reset by peer (closing with unread data) while we write: connectionLost gets the error, later writes are dropped', T, async () => {
  await runIo(function* (loop) {
    const [server, port] = yield* listen(loop, () => new Collector());
    const [transport, client] = yield* createConnection(loop, () => new Collector(), '127.0.0.1', port);
    // Make the server side's close a reset: it has unread data when it closes.
    server.abortClients();
    transport.write(Buffer.from('unread'));
    yield* sleep(10);
    for (let i = 0; i < 100 && client.lost === undefined; i++) {
      transport.write(pattern(64 * 1024));
      yield* sleep(1);
    }
    yield* eventually(() => client.lost !== undefined, 'connectionLost');
    assert.ok(client.lost instanceof Error && ['ConnectionResetError', 'BrokenPipeError'].includes(client.lost.name), `got ${String(client.lost)}`);
    transport.write(Buffer.from('dropped')); // lost, not closed by us: silently dropped
    assert.equal(transport.getWriteBufferSize(), 0);
    yield* closeServer(server);
  });
});

test('close() flushes pending writes before closing; abort() drops them', T, async () => {
  await runIo(function* (loop) {
    const peers: Collector[] = [];
    const [server, port] = yield* listen(loop, () => {
      const c = new Collector();
      peers.push(c);
      return c;
    });
    const size = 16 * 1024 * 1024;

    const [flushing, flushClient] = yield* createConnection(loop, () => new Collector(), '127.0.0.1', port);
    flushing.write(pattern(size));
    assert.ok(flushing.getWriteBufferSize() > 0, 'writes pending at close()');
    flushing.close();
    assert.throws(() => flushing.write(Buffer.from('x')), (e: unknown) => e instanceof RuntimeError && /closing/.test(e.message));
    yield* eventually(() => flushClient.lost !== undefined && peers[0]?.lost !== undefined, 'flush and close');
    assert.equal(peers[0]?.data.length, size, 'every byte arrived');
    assert.ok(peers[0]?.data.equals(pattern(size)));
    assert.deepEqual(flushClient.events, ['made', 'pauseWriting', 'resumeWriting', 'lost'], 'drained fully before connectionLost');

    const [aborting, abortClient] = yield* createConnection(loop, () => new Collector(), '127.0.0.1', port);
    aborting.write(pattern(size));
    const pending = aborting.getWriteBufferSize();
    assert.ok(pending > 0);
    aborting.abort();
    assert.equal(aborting.getWriteBufferSize(), 0, 'dropped at once');
    yield* eventually(() => abortClient.lost !== undefined && peers[1]?.lost !== undefined, 'abort');
    assert.ok((peers[1]?.data.length as number) <= size - pending, `${peers[1]?.data.length} bytes arrived; the ${pending} queued were dropped`);
    assert.deepEqual(abortClient.events, ['made', 'pauseWriting', 'lost'], 'no resumeWriting: nothing drained');
    assert.throws(() => aborting.write(Buffer.from('x')), (e: unknown) => e instanceof RuntimeError && /closed/.test(e.message));
    yield* closeServer(server);
  });
});

test('bad input: a string or a number written is a TypeError, and the connection carries on', T, async () => {
  await runIo(function* (loop) {
    const [server, port] = yield* listen(loop, () => new EchoProtocol());
    const [transport, client] = yield* createConnection(loop, () => new Collector(), '127.0.0.1', port);
    assert.throws(() => transport.write('text' as unknown as Buffer), (e: unknown) => e instanceof TypeError && /string/.test(e.message));
    assert.throws(() => transport.write(42 as unknown as Buffer), TypeError);
    assert.throws(() => transport.writelines([Buffer.from('a'), 's' as unknown as Buffer]), {
      name: 'TypeError',
      message: 'SocketTransport.writelines: list[1]: data must be a Buffer, TypedArray or DataView, got a string (encode it first: Buffer.from(text))',
    });
    assert.throws(() => transport.writelines(7 as unknown as Buffer[]), { name: 'TypeError', message: 'SocketTransport.writelines: list must be an iterable of buffers, got 7' });
    transport.writelines([Buffer.from('o'), new Uint8Array([0x6b])]);
    assert.throws(() => transport.setWriteBufferLimits({ high: 10, low: 20 }), RangeError);
    assert.throws(() => transport.setWriteBufferLimits({ high: -1 }), RangeError);
    transport.write(Buffer.alloc(0)); // empty: nothing happens
    transport.write(Buffer.from('!'));
    yield* eventually(() => client.data.length === 3, 'the echo');
    assert.equal(client.data.toString(), 'ok!', 'a writelines with a bad item wrote nothing');
    transport.close();
    yield* eventually(() => client.lost !== undefined, 'close');
    yield* closeServer(server);
  });
});

test('writelines sends its buffers as one gathered write: more buffers than IOV_MAX and more bytes than the socket takes are queued from where the kernel stopped, in order, after what was queued before', T, async () => {
  await runIo(function* (loop) {
    const [left, right] = socketpair();
    const [a] = yield* connectAcceptedSocket(loop, () => new Collector(), left);
    const [, pb] = yield* connectAcceptedSocket(loop, () => new Collector(), right);
    const whole = pattern(2 * 1024 * 1024 + 5);
    const pieces = cutIntoPieces(whole);
    assert.ok(pieces.length > 1024, `${pieces.length} pieces: more than IOV_MAX`);
    a.writelines(pieces.slice(0, 3)); // the socket takes these whole: nothing queued
    assert.equal(a.getWriteBufferSize(), 0);
    a.writelines(pieces.slice(3));
    const queued = a.getWriteBufferSize();
    assert.ok(queued > 0 && queued < whole.length, `part sent at once, the rest queued (${queued} bytes)`);
    a.writelines([Buffer.from('and then'), Buffer.from(' this')]); // behind the queue
    whole.fill(0); // the queue holds copies
    yield* eventually(() => pb.data.length === 2 * 1024 * 1024 + 5 + 13, 'every byte');
    assert.ok(pb.data.equals(Buffer.concat([pattern(2 * 1024 * 1024 + 5), Buffer.from('and then this')])), 'same bytes, same order');
    assert.equal(a.getWriteBufferSize(), 0);
    a.writelines([]);
    a.writelines([Buffer.alloc(0), new Uint8Array(0)]);
    assert.equal(a.getWriteBufferSize(), 0, 'nothing to write is no write');
    a.close();
    yield* eventually(() => pb.lost !== undefined, 'close');
  });
});

test('getExtraInfo: peername, sockname and socket; unknown names give the default', T, async () => {
  await runIo(function* (loop) {
    let serverSide: Collector | null = null;
    const [server, port] = yield* listen(loop, () => (serverSide = new Collector()));
    const [transport, client] = yield* createConnection(loop, () => new Collector(), '127.0.0.1', port);
    yield* eventually(() => serverSide?.transport != null, 'the accept');
    const peer = (serverSide as unknown as Collector).transport as Transport;
    assert.deepEqual(transport.getExtraInfo('peername'), ['127.0.0.1', port]);
    assert.deepEqual(peer.getExtraInfo('peername'), transport.getExtraInfo('sockname'));
    const socket = transport.getExtraInfo('socket');
    assert.ok(socket !== undefined && socket.fd >= 0);
    const { IPPROTO_TCP, TCP_NODELAY, AF_INET } = (yield* until(import('../../src/io/syscalls.js'))).syscalls.constants;
    assert.equal(socket.family, AF_INET);
    assert.notEqual(socket.getsockoptInt(IPPROTO_TCP, TCP_NODELAY), 0, 'TCP_NODELAY is on, as asyncio');
    assert.equal(transport.getExtraInfo('nonsense' as 'socket', 'dflt'), 'dflt');
    transport.close();
    yield* eventually(() => client.lost !== undefined, 'close');
    assert.equal(transport.getExtraInfo('socket', null), null, 'no socket once closed');
    yield* closeServer(server);
  });
});

test('peername and sockname are read at creation: connectionLost after a reset still has them, and so does a closed transport', T, async () => {
  await runIo(function* (loop) {
    const seenAtLost: unknown[] = [];
    class PeerLogger extends Collector {
      override connectionLost(exc: Error | null): void {
        super.connectionLost(exc);
        seenAtLost.push(exc?.name ?? null, this.transport?.getExtraInfo('peername'), this.transport?.getExtraInfo('sockname'));
      }
    }
    let serverSide: PeerLogger | null = null;
    const [server, port] = yield* listen(loop, () => (serverSide = new PeerLogger()));
    const socket = netConnect(port, '127.0.0.1');
    yield* until(new Promise((resolve) => socket.once('connect', resolve)));
    const clientPort = socket.localPort as number;
    yield* eventually(() => serverSide?.transport != null, 'the accept');
    socket.resetAndDestroy(); // the server side's getpeername now fails with ENOTCONN
    yield* eventually(() => seenAtLost.length > 0, 'connectionLost');
    assert.deepEqual(seenAtLost, ['ConnectionResetError', ['127.0.0.1', clientPort], ['127.0.0.1', port]]);

    const [transport, client] = yield* createConnection(loop, () => new Collector(), '127.0.0.1', port);
    const sockname = transport.getExtraInfo('sockname');
    transport.close();
    yield* eventually(() => client.lost !== undefined, 'close');
    assert.deepEqual([transport.getExtraInfo('peername'), transport.getExtraInfo('sockname')], [['127.0.0.1', port], sockname]);
    yield* closeServer(server);
  });
});

test("a transport's fd is its own: addReader & co. and the sock* functions refuse it with a RuntimeError naming the transport; the connection carries on", T, async () => {
  await runIo(function* (loop) {
    const [server, port] = yield* listen(loop, () => new EchoProtocol());
    const [transport, client] = yield* createConnection(loop, () => new Collector(), '127.0.0.1', port);
    const fd = transport.fd;
    const refused = (who: string) => (e: unknown) => e instanceof RuntimeError && e.message === `${who}: file descriptor ${fd} is used by transport ${String(transport)}`;
    const noop = (): void => {};
    assert.throws(() => loop.addReader(fd, noop), refused('addReader'));
    assert.throws(() => loop.addWriter(fd, noop), refused('addWriter'));
    assert.throws(() => loop.removeReader(fd), refused('removeReader'));
    assert.throws(() => loop.removeWriter(fd), refused('removeWriter'));
    const buffer = Buffer.alloc(4);
    assert.throws(() => loop.sockRecv(fd, 4), refused('sockRecv'));
    assert.throws(() => loop.sockRecvInto(fd, buffer), refused('sockRecvInto'));
    assert.throws(() => loop.sockSendAll(fd, buffer), refused('sockSendAll'));
    assert.throws(() => loop.sockAccept(fd), refused('sockAccept'));
    assert.throws(() => loop.sockConnect(fd, ['127.0.0.1', port]), refused('sockConnect'));
    assert.throws(() => loop.sockRecvfrom(fd, 4), refused('sockRecvfrom'));
    assert.throws(() => loop.sockRecvfromInto(fd, buffer), refused('sockRecvfromInto'));
    assert.throws(() => loop.sockSendto(fd, buffer, ['127.0.0.1', port]), refused('sockSendto'));
    assert.throws(() => loop.sockSendfile(fd, 0), refused('sockSendfile'));
    transport.write(Buffer.from('still mine'));
    yield* eventually(() => client.data.length === 10, 'the echo');
    assert.equal(client.data.toString(), 'still mine', 'the reader was not replaced');
    transport.close();
    yield* eventually(() => client.lost !== undefined, 'close');
    assert.equal(loop.removeReader(fd), false, 'closed: the fd is no longer the transport\'s');
    yield* closeServer(server);
  });
});

test("a bad priority is refused at the call, before any fd is opened; a live transport's fd cannot be wrapped again", T, async () => {
  await runIo(function* (loop) {
    const [server, port] = yield* listen(loop, () => new EchoProtocol());
    const fdsBefore = openFdCount();
    const bad = { priority: 'urgent' as 'high' };
    assert.throws(() => createConnection(loop, () => new Collector(), '127.0.0.1', port, bad), {
      name: 'TypeError',
      message: `createConnection: options.priority must be one of 'critical', 'high', 'normal', 'low', 'idle', got "urgent"`,
    });
    assert.throws(() => createServer(loop, () => new Collector(), '127.0.0.1', 0, bad), /^TypeError: createServer: options.priority must be one of/);
    assert.throws(() => connectAcceptedSocket(loop, () => new Collector(), 0, bad), /^TypeError: connectAcceptedSocket: options.priority must be one of/);
    assert.equal(openFdCount(), fdsBefore, 'nothing opened');
    const [transport, client] = yield* createConnection(loop, () => new Collector(), '127.0.0.1', port);
    const stolen = yield* failure(connectAcceptedSocket(loop, () => new Collector(), transport.fd));
    assert.ok(stolen instanceof RuntimeError && stolen.message === `connectAcceptedSocket: file descriptor ${transport.fd} is used by transport ${String(transport)}`);
    transport.write(Buffer.from('still mine'));
    yield* eventually(() => client.data.length === 10, 'the echo');
    transport.close();
    yield* eventually(() => client.lost !== undefined, 'close');
    yield* closeServer(server);
  });
});

test('an exception in dataReceived is reported and closes the connection with connectionLost(that error)', T, async () => {
  const exceptions: { message: string }[] = [];
  await runIo(function* (loop) {
    const [left, right] = socketpair();
    class Throws extends Collector {
      override dataReceived(): void {
        throw new Error('boom');
      }
    }
    const [, pa] = yield* connectAcceptedSocket(loop, () => new Throws(), left);
    const [b, pb] = yield* connectAcceptedSocket(loop, () => new Collector(), right);
    b.write(Buffer.from('x'));
    yield* eventually(() => pa.lost !== undefined && pb.lost !== undefined, 'both lost');
    assert.equal(pa.lost?.message, 'boom');
    assert.deepEqual(pb.events, ['made', 'eof', 'lost']);
  }, { exceptions: exceptions as never });
  assert.deepEqual(exceptions.map((c) => c.message), ['Fatal error: protocol.dataReceived() call failed.']);
});

test('close(), abort() and close() again: connectionLost exactly once', T, async () => {
  await runIo(function* (loop) {
    const [left, right] = socketpair();
    const [a, pa] = yield* connectAcceptedSocket(loop, () => new Collector(), left);
    const [b, pb] = yield* connectAcceptedSocket(loop, () => new Collector(), right);
    a.close();
    a.abort();
    a.close();
    b.abort();
    yield* eventually(() => pa.lost !== undefined && pb.lost !== undefined, 'both lost');
    yield* sleep(5);
    assert.deepEqual(pa.events, ['made', 'lost']);
    assert.deepEqual(pb.events, ['made', 'lost']);
  });
});
