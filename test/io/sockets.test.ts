/**
 * TransportSocket's addresses (asyncio: `server.sockets[0].getsockname()`,
 * `transport.get_extra_info('socket').getpeername()`): the same tuples and
 * paths as `server.addresses()` and getExtraInfo('sockname' / 'peername'),
 * for TCP over IPv4 and IPv6, Unix sockets and UDP; errors are OSErrors
 * naming the call (ENOTCONN on a listening socket, EBADF once the owner
 * has closed the fd, even when the number has been reused since).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { connectAcceptedSocket, createConnection, createDatagramEndpoint, createServer, createUnixServer } from '../../src/io/connect.js';
import { EBADF, ENOTCONN, OSError } from '../../src/io/errors.js';
import type { Server } from '../../src/io/server.js';
import { openSocket, TransportSocket } from '../../src/io/sockets.js';
import { syscalls as sys } from '../../src/io/syscalls.js';
import type { DatagramProtocol, SocketAddress } from '../../src/io/transport.js';
import type { EventLoop } from '../../src/tasks/event-loop.js';
import type { Coroutine } from '../../src/tasks/operation.js';
import { ipv6Loopback, socketpair } from './fds.js';
import { Collector, EchoProtocol, eventually, runIo } from './net-helpers.js';

const C = sys.constants;
const T = { timeout: 30_000 };

/** Asserts `call` throws an OSError with this errno and syscall whose message names the fd. */
function assertOSError(call: () => unknown, errno: number, syscall: string, fd: number): void {
  assert.throws(call, (error: unknown) => {
    assert.ok(error instanceof OSError, String(error));
    assert.equal(error.errno, errno);
    assert.equal(error.syscall, syscall);
    assert.match(error.message, new RegExp(`^${syscall} \\(fd ${fd}[,)]`));
    return true;
  });
}

function* closeServer(server: Server): Coroutine<void> {
  server.close();
  yield* server.waitClosed();
}

/** A TCP connection to `server`; checks both ends' sockets against getExtraInfo, then closes. */
function* checkConnection(loop: EventLoop, server: Server, host: string, port: number): Coroutine<void> {
  const [transport, client] = yield* createConnection(loop, () => new Collector(), host, port);
  const socket = transport.getExtraInfo('socket')!;
  assert.deepEqual(socket.getsockname(), transport.getExtraInfo('sockname'));
  assert.deepEqual(socket.getpeername(), transport.getExtraInfo('peername'));
  assert.equal((socket.getpeername() as [string, number])[1], port, 'the peer is the server');
  transport.close();
  yield* eventually(() => client.lost !== undefined, 'close');
  yield* closeServer(server);
}

test('AF_INET: server.sockets[0].getsockname() is [host, port], as server.addresses(); getpeername on the listener is ENOTCONN', T, async () => {
  await runIo(function* (loop) {
    const server = yield* createServer(loop, () => new EchoProtocol(), '127.0.0.1', 0);
    const [listener] = server.sockets;
    assert.ok(listener instanceof TransportSocket);
    const address = listener.getsockname() as [string, number];
    assert.equal(address.length, 2);
    assert.equal(address[0], '127.0.0.1');
    assert.ok(Number.isInteger(address[1]) && address[1] > 0);
    assert.deepEqual(address, server.addresses()[0]);
    assertOSError(() => listener.getpeername(), ENOTCONN, 'getpeername', listener.fd);
    assert.deepEqual(listener.getsockname(), address, 'the failed call disturbed nothing');
    yield* checkConnection(loop, server, '127.0.0.1', address[1]);
  });
});

test('AF_INET6: [host, port, flowInfo, scopeId]', { ...T, skip: ipv6Loopback() ? false : 'no IPv6 loopback on this machine' }, async () => {
  await runIo(function* (loop) {
    const server = yield* createServer(loop, () => new EchoProtocol(), '::1', 0);
    const address = server.sockets[0]!.getsockname() as [string, number, number, number];
    assert.equal(address.length, 4);
    assert.deepEqual([address[0], address[2], address[3]], ['::1', 0, 0]);
    assert.deepEqual(address, server.addresses()[0]);
    yield* checkConnection(loop, server, '::1', address[1]);
  });
});

test('AF_UNIX: the path; the accepted end of a connection has an unnamed address ""', T, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eventide-'));
  try {
    await runIo(function* (loop) {
      const path = join(dir, 's.sock');
      const server = yield* createUnixServer(loop, () => new EchoProtocol(), path);
      const listener = server.sockets[0]!;
      assert.equal(listener.getsockname(), path);
      assertOSError(() => listener.getpeername(), ENOTCONN, 'getpeername', listener.fd);
      yield* closeServer(server);

      const [a, b] = socketpair();
      const [transport, client] = yield* connectAcceptedSocket(loop, () => new Collector(), a);
      assert.equal(transport.getExtraInfo('socket')!.getsockname(), '');
      assert.equal(transport.getExtraInfo('socket')!.getpeername(), '');
      transport.close();
      yield* eventually(() => client.lost !== undefined, 'close');
      sys.close(b);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('UDP: getsockname is the bound address; getpeername is ENOTCONN unless the endpoint has a remoteAddr', T, async () => {
  await runIo(function* (loop) {
    const [receiver] = yield* createDatagramEndpoint(loop, (): DatagramProtocol => ({}), { localAddr: ['127.0.0.1', 0] });
    const socket = receiver.getExtraInfo('socket')!;
    assert.equal(socket.type, C.SOCK_DGRAM);
    const address = socket.getsockname();
    assert.deepEqual(address, receiver.getExtraInfo('sockname'));
    assertOSError(() => socket.getpeername(), ENOTCONN, 'getpeername', socket.fd);
    const [sender] = yield* createDatagramEndpoint(loop, (): DatagramProtocol => ({}), { remoteAddr: address as [string, number] });
    assert.deepEqual(sender.getExtraInfo('socket')!.getpeername(), address);
    sender.close();
    receiver.close();
    yield* eventually(() => receiver.getExtraInfo('socket') === undefined && sender.getExtraInfo('socket') === undefined, 'both closed');
  });
});

test('once the owner closed the fd, every method throws EBADF naming the call, even after the fd number is reused', T, async () => {
  await runIo(function* (loop) {
    const server = yield* createServer(loop, () => new EchoProtocol(), '127.0.0.1', 0);
    const kept = server.sockets[0]!;
    const port = (kept.getsockname() as [string, number])[1];
    const [transport, client] = yield* createConnection(loop, () => new Collector(), '127.0.0.1', port);
    const keptClient = transport.getExtraInfo('socket')!;
    transport.close();
    yield* eventually(() => client.lost !== undefined, 'close');
    yield* closeServer(server);
    assert.deepEqual(server.sockets, [], 'a closed server lists no sockets');

    // New sockets take the lowest free numbers: open them until both closed numbers are someone else's.
    const reused: number[] = [];
    try {
      while (reused.length < 256 && !(reused.includes(kept.fd) && reused.includes(keptClient.fd))) {
        reused.push(openSocket(C.AF_INET, C.SOCK_DGRAM, 'test'));
      }
      assert.ok(reused.includes(kept.fd) && reused.includes(keptClient.fd), `fds ${kept.fd} and ${keptClient.fd} are in use again`);
      for (const socket of [kept, keptClient]) {
        assertOSError(() => socket.getsockname(), EBADF, 'getsockname', socket.fd);
        assertOSError(() => socket.getpeername(), EBADF, 'getpeername', socket.fd);
        assertOSError(() => socket.getsockoptInt(C.SOL_SOCKET, C.SO_TYPE), EBADF, 'getsockopt', socket.fd);
        assertOSError(() => socket.setsockoptInt(C.SOL_SOCKET, C.SO_KEEPALIVE, 1), EBADF, 'setsockopt', socket.fd);
        assert.match(String(socket), /closed>$/);
        assert.throws(() => socket.getsockname(), /closed by its owner/);
      }
    } finally {
      for (const fd of reused) sys.close(fd);
    }
  });
});

test('a TransportSocket made for a bare fd (no owner) reports what the kernel says: EBADF for a number that is not open', () => {
  const fd = openSocket(C.AF_INET, C.SOCK_STREAM, 'test');
  const socket = new TransportSocket(fd, C.AF_INET, C.SOCK_STREAM);
  assert.deepEqual(socket.getsockname(), ['0.0.0.0', 0] satisfies SocketAddress, 'unbound');
  assertOSError(() => socket.getpeername(), ENOTCONN, 'getpeername', fd);
  sys.close(fd);
  assertOSError(() => socket.getsockname(), EBADF, 'getsockname', fd);
});
