/**
 * createConnection / createServer and their Unix variants: refused
 * connections, names resolved through getaddrinfo, IPv6 on ::1, Unix
 * sockets (paths and the abstract namespace), local addresses, wrapping an
 * existing fd, cancellation mid-connect, bad input.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { CancelledError } from '../../src/core/errors.js';
import { connectAcceptedSocket, createConnection, createDatagramEndpoint, createServer, createUnixConnection, createUnixServer } from '../../src/io/connect.js';
import { openConnection, openUnixConnection, startServer, startUnixServer } from '../../src/io/streams.js';
import { ConnectionRefusedError, ECONNREFUSED, FileNotFoundError, GaiError } from '../../src/io/errors.js';
import { syscalls as sys } from '../../src/io/syscalls.js';
import type { Protocol } from '../../src/io/transport.js';
import { sleep, type Coroutine } from '../../src/tasks/operation.js';
import { ipv6Loopback, openFdCount } from './fds.js';
import { Collector, EchoProtocol, eventually, failure, hangingPort, refusingPort, runIo } from './net-helpers.js';

const C = sys.constants;
const T = { timeout: 30_000 };

test('connecting where nobody listens fails with ConnectionRefusedError (errno, syscall) and leaks no fd', T, async () => {
  const [fd, port] = refusingPort();
  try {
    await runIo(function* (loop) {
      yield* sleep(1); // the host's own fds (blocking mode opens one lazily) exist from the first wait on
      const before = openFdCount();
      const error = yield* failure(createConnection(loop, () => new Collector(), '127.0.0.1', port));
      assert.ok(error instanceof ConnectionRefusedError, String(error));
      assert.equal(error.errno, ECONNREFUSED);
      assert.equal(error.code, 'ECONNREFUSED');
      assert.equal(error.syscall, 'connect');
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      assert.equal(openFdCount(), before);
    });
  } finally {
    sys.close(fd);
  }
});

test('a host name is resolved (getaddrinfo on Node\'s resolver) and each address tried: localhost', T, async () => {
  await runIo(function* (loop) {
    const server = yield* createServer(loop, () => new EchoProtocol(), '127.0.0.1', 0);
    const [, port] = server.addresses()[0] as [string, number];
    const [transport, client] = yield* createConnection(loop, () => new Collector(), 'localhost', port, { family: C.AF_INET });
    assert.deepEqual(transport.getExtraInfo('peername'), ['127.0.0.1', port]);
    transport.write(Buffer.from('hi'));
    yield* eventually(() => client.data.length === 2, 'echo');
    transport.close();
    yield* eventually(() => client.lost !== undefined, 'close');
    server.close();
    yield* server.waitClosed();
  });
});

test('a name that does not resolve fails with a GaiError (asyncio: socket.gaierror)', T, async () => {
  await runIo(function* (loop) {
    const error = yield* failure(createConnection(loop, () => new Collector(), 'no-such-host.invalid', 80));
    assert.ok(error instanceof GaiError && ['ENOTFOUND', 'EAI_AGAIN'].includes(error.code), String(error));
    assert.equal(error.hostname, 'no-such-host.invalid');
  });
});

test('IPv6 on ::1: server and client, peername is the 4-tuple', { ...T, skip: ipv6Loopback() ? false : 'no IPv6 loopback on this machine' }, async () => {
  await runIo(function* (loop) {
    const server = yield* createServer(loop, () => new EchoProtocol(), '::1', 0);
    const address = server.addresses()[0] as [string, number, number, number];
    assert.equal(address.length, 4);
    assert.equal(address[0], '::1');
    const [transport, client] = yield* createConnection(loop, () => new Collector(), '::1', address[1]);
    assert.deepEqual(transport.getExtraInfo('peername'), ['::1', address[1], 0, 0]);
    assert.equal(transport.getExtraInfo('socket')?.family, C.AF_INET6);
    transport.write(Buffer.from('six'));
    yield* eventually(() => client.data.toString() === 'six', 'echo over IPv6');
    transport.close();
    yield* eventually(() => client.lost !== undefined, 'close');
    server.close();
    yield* server.waitClosed();
  });
});

test("host null, '' or undefined listens on every interface (IPv4, and IPv6 where present), as asyncio", T, async () => {
  await runIo(function* (loop) {
    for (const wildcard of [null, '', undefined]) {
      const server = yield* createServer(loop, () => new EchoProtocol(), wildcard, 0);
      const addresses = server.addresses() as [string, number][];
      const [, port] = addresses[0] as [string, number];
      assert.deepEqual(addresses.map(([host]) => host), ipv6Loopback() ? ['0.0.0.0', '::'] : ['0.0.0.0'], `host ${String(wildcard)}`);
      const [transport, client] = yield* createConnection(loop, () => new Collector(), '127.0.0.1', port);
      transport.write(Buffer.from('any'));
      yield* eventually(() => client.data.length === 3, 'echo');
      transport.close();
      yield* eventually(() => client.lost !== undefined, 'close');
      server.close();
      yield* server.waitClosed();
    }
  });
});

test('localAddr binds the client side before connecting', T, async () => {
  await runIo(function* (loop) {
    const server = yield* createServer(loop, () => new EchoProtocol(), '127.0.0.1', 0);
    const [, port] = server.addresses()[0] as [string, number];
    const [transport, client] = yield* createConnection(loop, () => new Collector(), '127.0.0.1', port, { localAddr: ['127.0.0.2', 0] });
    assert.equal((transport.getExtraInfo('sockname') as [string, number])[0], '127.0.0.2');
    transport.close();
    yield* eventually(() => client.lost !== undefined, 'close');
    server.close();
    yield* server.waitClosed();
  });
});

test('Unix sockets: server and client on a path; a stale socket file is replaced; the file is removed on close', T, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eventide-'));
  const path = join(dir, 'echo.sock');
  try {
    await runIo(function* (loop) {
      const missing = yield* failure(createUnixConnection(loop, () => new Collector(), path));
      assert.ok(missing instanceof FileNotFoundError, String(missing));
      const stale = yield* createUnixServer(loop, () => new EchoProtocol(), path, { cleanupSocket: false });
      stale.close();
      yield* stale.waitClosed();
      assert.ok(existsSync(path), 'cleanupSocket: false leaves the file');
      const server = yield* createUnixServer(loop, () => new EchoProtocol(), path);
      assert.deepEqual(server.addresses(), [path]);
      const [transport, client] = yield* createUnixConnection(loop, () => new Collector(), path);
      assert.equal(transport.getExtraInfo('peername'), path);
      assert.equal(transport.getExtraInfo('socket')?.family, C.AF_UNIX);
      transport.write(Buffer.from('unix'));
      yield* eventually(() => client.data.toString() === 'unix', 'echo over a Unix socket');
      transport.close();
      yield* eventually(() => client.lost !== undefined, 'close');
      server.close();
      yield* server.waitClosed();
      assert.equal(existsSync(path), false, 'the socket file is removed');
    });
    writeFileSync(path, 'not a socket');
    await runIo(function* (loop) {
      const error = yield* failure(createUnixServer(loop, () => new EchoProtocol(), path));
      assert.equal((error as { code?: string }).code, 'EADDRINUSE', 'a regular file is never removed');
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Unix sockets in the abstract namespace (a leading NUL)', T, async () => {
  const name = `\0eventide-test-${process.pid}`;
  await runIo(function* (loop) {
    const server = yield* createUnixServer(loop, () => new EchoProtocol(), name);
    const [transport, client] = yield* createUnixConnection(loop, () => new Collector(), name);
    transport.write(Buffer.from('abstract'));
    yield* eventually(() => client.data.length === 8, 'echo');
    transport.close();
    yield* eventually(() => client.lost !== undefined, 'close');
    server.close();
    yield* server.waitClosed();
  });
});

test('Unix socket paths are checked at the call, before a socket is opened: up to 107 bytes (108 abstract), no NUL inside', T, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eventide-'));
  const longest = join(dir, 'x'.repeat(107 - dir.length - 1)); // 107 bytes: sun_path and its NUL
  const abstract = `\0${'a'.repeat(107)}`;
  try {
    await runIo(function* (loop) {
      yield* sleep(1); // the host's own fds exist from the first wait on
      const before = openFdCount();
      const factory = (): Protocol => new EchoProtocol();
      const tooLong = `${longest}y`;
      assert.throws(() => createUnixServer(loop, factory, tooLong), { name: 'RangeError', message: `createUnixServer: a Unix socket path must be at most 107 bytes, got 108: '${tooLong}'` });
      assert.throws(() => createUnixConnection(loop, factory, tooLong), { name: 'RangeError', message: `createUnixConnection: a Unix socket path must be at most 107 bytes, got 108: '${tooLong}'` });
      assert.throws(() => createUnixServer(loop, factory, `${abstract}b`), { name: 'RangeError', message: /createUnixServer: a Unix socket path must be at most 108 bytes, got 109: / });
      const truncated = join(dir, 'a\0b');
      assert.throws(() => createUnixServer(loop, factory, truncated), {
        name: 'TypeError',
        code: 'ERR_INVALID_ARG_VALUE',
        message: `createUnixServer: The argument 'path' must be a string without null bytes (a leading one selects the abstract namespace). Received '${dir}/a\\x00b'`,
      });
      assert.throws(() => createUnixConnection(loop, factory, truncated), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: /^createUnixConnection: The argument 'path'/ });
      assert.equal(openFdCount(), before, 'no socket was opened');
      assert.equal(existsSync(join(dir, 'a')), false, 'nothing bound at the truncated path');

      for (const path of [longest, abstract]) {
        const server = yield* createUnixServer(loop, factory, path);
        const [transport, client] = yield* createUnixConnection(loop, () => new Collector(), path);
        transport.write(Buffer.from('fits'));
        yield* eventually(() => client.data.length === 4, 'echo');
        transport.close();
        yield* eventually(() => client.lost !== undefined, 'close');
        server.close();
        yield* server.waitClosed();
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cancelling createConnection while it connects closes its socket', T, async () => {
  const [port, fds] = hangingPort();
  try {
    await runIo(function* (loop) {
      yield* sleep(1); // the host's own fds (blocking mode opens one lazily) exist from the first wait on
      const before = openFdCount();
      const task = createConnection(loop, () => new Collector(), '127.0.0.1', port);
      yield* sleep(50);
      assert.equal(task.done(), false, 'still connecting');
      assert.equal(loop.statistics().writers, 1, 'waiting for the socket to become writable');
      task.cancel();
      const error = yield* failure(task);
      assert.ok(error instanceof CancelledError, String(error));
      assert.equal(openFdCount(), before, 'the socket was closed');
      assert.equal(loop.statistics().writers, 0, 'and is no longer watched');
    });
  } finally {
    for (const fd of fds) sys.close(fd);
  }
});

test('a protocol factory that returns no protocol (null, undefined, a number): a TypeError naming it and what it returned, and the socket is closed', T, async () => {
  await runIo(function* (loop) {
    const server = yield* createServer(loop, () => new EchoProtocol(), '127.0.0.1', 0);
    const port = (server.addresses()[0] as [string, number])[1];
    yield* sleep(1); // the host's own fds exist from the first wait on
    const before = openFdCount();
    const messages: string[] = [];
    for (const bad of [null, undefined, 42]) {
      const error = yield* failure(createConnection(loop, () => bad as unknown as Protocol, '127.0.0.1', port));
      assert.ok(error instanceof TypeError, String(error));
      messages.push(error.message);
    }
    assert.deepEqual(messages, [
      'createConnection: protocolFactory must return a protocol object, got null',
      'createConnection: protocolFactory must return a protocol object, got undefined',
      'createConnection: protocolFactory must return a protocol object, got 42',
    ]);
    yield* eventually(() => server.statistics().accepted === 3 && server.statistics().activeConnections === 0, 'the server to see the clients come and go');
    assert.equal(openFdCount(), before, 'each socket was closed');
    server.close();
    yield* server.waitClosed();
  });
});

test('bad input throws at the call: a bad port, host, factory, or sock with a host', T, async () => {
  await runIo(function* (loop) {
    const factory = (): Protocol => new Collector();
    assert.throws(() => createConnection(loop, factory, '127.0.0.1', -1), RangeError);
    assert.throws(() => createConnection(loop, factory, '127.0.0.1', 1.5), RangeError);
    assert.throws(() => createConnection(loop, factory, '', 80), TypeError);
    assert.throws(() => createConnection(loop, factory, null, null), TypeError);
    assert.throws(() => createConnection(loop, null as unknown as () => Protocol, '127.0.0.1', 80), TypeError);
    assert.throws(() => createConnection(loop, factory, '127.0.0.1', 80, { sock: 5 }), TypeError);
    assert.throws(() => createConnection(loop, factory, '127.0.0.1', 80, { localAddr: ['not-an-ip', 0] }), TypeError);
    assert.throws(() => createUnixConnection(loop, factory, ''), TypeError);
    assert.throws(() => createUnixServer(loop, factory, 7 as unknown as string), TypeError);
    yield* sleep(0);
  });
});

test('a task awaiting a connection call, cancelled at any tick: it gets the connection, or no connection is left open (the dropped result is closed)', T, async () => {
  const path = `\0eventide-connect-cancel-${process.pid}`;
  await runIo(function* (loop) {
    let open = 0;
    const counting = (): Protocol => {
      const protocol = new EchoProtocol();
      open++;
      const lost = protocol.connectionLost.bind(protocol);
      protocol.connectionLost = (exc) => {
        open--;
        lost(exc);
      };
      return protocol;
    };
    const tcp = yield* createServer(loop, counting, '127.0.0.1', 0);
    const unix = yield* createUnixServer(loop, counting, path);
    const [, port] = tcp.addresses()[0] as [string, number];
    const calls: [string, () => Coroutine<() => void>][] = [
      ['createConnection', function* () {
        const [transport] = yield* createConnection(loop, () => new Collector(), '127.0.0.1', port);
        return () => transport.close();
      }],
      ['createUnixConnection', function* () {
        const [transport] = yield* createUnixConnection(loop, () => new Collector(), path);
        return () => transport.close();
      }],
      ['openConnection', function* () {
        const [, writer] = yield* openConnection('127.0.0.1', port);
        return () => writer.close();
      }],
    ];
    for (const [name, connect] of calls) {
      // Cancel after 0, 1, 2, ... loop iterations: one of them lands between the connection's success and the waiter's step.
      for (let ticks = 0; ticks < 30; ticks++) {
        const waiter = loop.createTask(connect);
        let left = ticks;
        const countDown = (): void => {
          if (waiter.done()) return;
          if (left-- === 0) waiter.cancel();
          else loop.callSoon(countDown);
        };
        loop.callSoon(countDown);
        try {
          (yield* waiter)();
        } catch (error) {
          assert.ok(error instanceof CancelledError, `${name} cancelled ${ticks} ticks in: ${String(error)}`);
        }
        yield* eventually(() => open === 0, `${name}: no connection left open after a cancel ${ticks} ticks in`);
      }
    }
    tcp.close();
    unix.close();
    yield* tcp.waitClosed();
    yield* unix.waitClosed();
  });
});

test('a connection Task two tasks await: one cancelled as it connects leaves the connection open for the other (it is not a dropped result)', T, async () => {
  await runIo(function* (loop) {
    const server = yield* createServer(loop, () => new EchoProtocol(), '127.0.0.1', 0);
    const [, port] = server.addresses()[0] as [string, number];
    const connecting = createConnection(loop, () => new Collector(), '127.0.0.1', port);
    const first = loop.createTask(function* () {
      return yield* connecting;
    });
    const second = loop.createTask(function* () {
      return yield* connecting;
    });
    // Woken first (critical lane): cancels `first` after the connection came, before its step.
    loop.createTask(function* () {
      yield* connecting;
      first.cancel();
    }, { priority: 'critical' });
    yield* failure(first);
    assert.equal(first.cancelled(), true);
    const [transport] = yield* second;
    assert.equal(transport.isClosing(), false, "the second task's connection is open");
    transport.close();
    server.close();
    yield* server.waitClosed();
  });
});

test('an option name a call does not know is a TypeError at the call naming it, before anything is opened (asyncio: an unexpected keyword argument); the loop goes on', T, async () => {
  await runIo(function* (loop) {
    const factory = (): Protocol => new Collector();
    const odd = (name: string): Record<string, unknown> => ({ priority: 'normal', [name]: true });
    const unknown = (who: string, name: string) => (error: unknown): boolean =>
      error instanceof TypeError && error.message.startsWith(`${who}: unknown option ${JSON.stringify(name)} (known: `);
    const fds = openFdCount();
    assert.throws(() => createConnection(loop, factory, '127.0.0.1', 1, odd('happyEyeballsDelay')), unknown('createConnection', 'happyEyeballsDelay'));
    assert.throws(() => createUnixConnection(loop, factory, '/tmp/x.sock', odd('limit')), unknown('createUnixConnection', 'limit'));
    assert.throws(() => createServer(loop, factory, '127.0.0.1', 0, odd('reuseport')), unknown('createServer', 'reuseport'));
    assert.throws(() => createServer(loop, factory, '127.0.0.1', 0, odd('keep_alive')), unknown('createServer', 'keep_alive'));
    assert.throws(() => createUnixServer(loop, factory, '/tmp/x.sock', odd('reusePort')), unknown('createUnixServer', 'reusePort'));
    assert.throws(() => createDatagramEndpoint(loop, () => ({}), { localAddr: ['127.0.0.1', 0], reuseAddress: true } as Record<string, unknown>), unknown('createDatagramEndpoint', 'reuseAddress'));
    assert.throws(() => connectAcceptedSocket(loop, factory, 0, odd('sock')), unknown('connectAcceptedSocket', 'sock'));
    assert.throws(() => openConnection('127.0.0.1', 1, odd('limt')), unknown('openConnection', 'limt'));
    assert.throws(() => openUnixConnection('/tmp/x.sock', odd('family')), unknown('openUnixConnection', 'family'));
    assert.throws(() => startServer(() => undefined, '127.0.0.1', 0, odd('reuse_port')), unknown('startServer', 'reuse_port'));
    assert.throws(() => startUnixServer(() => undefined, '/tmp/x.sock', odd('keepAlive')), unknown('startUnixServer', 'keepAlive'));
    // The whole message lists what is known.
    assert.throws(() => createServer(loop, factory, '127.0.0.1', 0, odd('reuseport')), {
      message:
        'createServer: unknown option "reuseport" (known: backlog, reusePort, reuseAddress, keepAlive, family, sock, startServing, acceptRetryDelayMs, priority, ssl, serverHostname, sslHandshakeTimeout, sslShutdownTimeout)',
    });
    assert.throws(() => createConnection(loop, factory, '127.0.0.1', 1, null as never), { name: 'TypeError', message: 'createConnection: options must be an object, got null' });
    assert.equal(openFdCount(), fds, 'no socket was opened');
    // Every name a call's type allows passes, and the loop serves on.
    const server = yield* startServer(() => undefined, '127.0.0.1', 0, { backlog: 8, reusePort: false, reuseAddress: true, keepAlive: false, startServing: true, acceptRetryDelayMs: 10, priority: 'high', limit: 1024, loop, ...({ ssl: null } as Record<string, unknown>) });
    const [, port] = server.addresses()[0] as [string, number];
    const [, writer] = yield* openConnection('127.0.0.1', port, { family: sys.constants.AF_INET, priority: 'normal', happyEyeballsDelayMs: null, interleave: null, allErrors: false, limit: 1024, loop, localAddr: null, sock: null });
    writer.close();
    server.close();
    server.abortClients();
    yield* server.waitClosed();
  });
});

test("TLS options are refused at the call, never ignored (no plaintext connection where one asked for TLS): ssl, serverHostname & co.; null and false mean no TLS", T, async () => {
  await runIo(function* (loop) {
    const factory = (): Protocol => new Collector();
    const tls = (name: string, value: unknown): Record<string, unknown> => ({ [name]: value });
    const message = (who: string, name: string): string => `${who}: options.${name}: TLS is not supported (eventide's transports are plaintext); nothing was opened`;
    const server = yield* createServer(loop, factory, '127.0.0.1', 0, { ssl: null, serverHostname: undefined } as Record<string, unknown>);
    const [, port] = server.addresses()[0] as [string, number];
    const fds = openFdCount();
    assert.throws(() => createConnection(loop, factory, '127.0.0.1', port, tls('ssl', true)), { name: 'TypeError', message: message('createConnection', 'ssl') });
    assert.throws(() => createConnection(loop, factory, '127.0.0.1', port, tls('serverHostname', 'example.com')), { name: 'TypeError', message: message('createConnection', 'serverHostname') });
    assert.throws(() => createConnection(loop, factory, '127.0.0.1', port, tls('sslHandshakeTimeout', 5)), { name: 'TypeError', message: message('createConnection', 'sslHandshakeTimeout') });
    assert.throws(() => createUnixConnection(loop, factory, '/tmp/x.sock', tls('ssl', {})), { name: 'TypeError', message: message('createUnixConnection', 'ssl') });
    assert.throws(() => createServer(loop, factory, '127.0.0.1', 0, tls('ssl', {})), { name: 'TypeError', message: message('createServer', 'ssl') });
    assert.throws(() => createUnixServer(loop, factory, '/tmp/x.sock', tls('sslShutdownTimeout', 1)), { name: 'TypeError', message: message('createUnixServer', 'sslShutdownTimeout') });
    assert.throws(() => openConnection('127.0.0.1', port, tls('ssl', true)), { name: 'TypeError', message: message('openConnection', 'ssl') });
    assert.throws(() => openUnixConnection('/tmp/x.sock', tls('ssl', true)), { name: 'TypeError', message: message('openUnixConnection', 'ssl') });
    assert.throws(() => startServer(() => undefined, '127.0.0.1', 0, tls('ssl', true)), { name: 'TypeError', message: message('startServer', 'ssl') });
    assert.throws(() => startUnixServer(() => undefined, '/tmp/x.sock', tls('ssl', true)), { name: 'TypeError', message: message('startUnixServer', 'ssl') });
    assert.equal(openFdCount(), fds, 'no socket was opened');
    const [transport] = yield* createConnection(loop, factory, '127.0.0.1', port, { ssl: false } as Record<string, unknown>);
    transport.close();
    server.close();
    server.abortClients();
    yield* server.waitClosed();
  });
});
