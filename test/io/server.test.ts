/**
 * Server: accepting, closing, waitClosed, serveForever, reusePort,
 * EMFILE while accepting (in a child process under `ulimit -n`), a slow
 * client that must not stall the others, and 10,000 connections opened and
 * closed without leaking an fd.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'node:test';
import type { ExceptionContext } from '../../src/core/base-event-loop.js';
import { RuntimeError } from '../../src/core/errors.js';
import { createConnection, createServer } from '../../src/io/connect.js';
import { OSError } from '../../src/io/errors.js';
import type { TransportSocket } from '../../src/io/sockets.js';
import { syscalls as sys } from '../../src/io/syscalls.js';
import type { Server } from '../../src/io/server.js';
import type { Protocol, Transport } from '../../src/io/transport.js';
import { CancelledError } from '../../src/core/errors.js';
import type { EventLoop } from '../../src/tasks/event-loop.js';
import { sleep, type Coroutine } from '../../src/tasks/operation.js';
import type { Task } from '../../src/tasks/task.js';
import { describeTask } from '../../src/inspect/task-info.js';
import { openFdCount } from './fds.js';
import { Collector, EchoProtocol, eventually, failure, pattern, runIo } from './net-helpers.js';

const C = sys.constants;

const T = { timeout: 60_000 };

function portOf(server: Server): number {
  return (server.addresses()[0] as [string, number])[1];
}

/** Echo that stops reading while its own writes are backed up (protocol-level back-pressure). */
class PoliteEcho extends EchoProtocol {
  pauseWriting(): void {
    this.events.push('pauseWriting');
    this.transport?.pauseReading();
  }
  resumeWriting(): void {
    this.events.push('resumeWriting');
    this.transport?.resumeReading();
  }
}

test('a server accepts many clients; close() stops listening, connections live on, waitClosed() waits for them', T, async () => {
  await runIo(function* (loop) {
    const server = yield* createServer(loop, () => new EchoProtocol(), '127.0.0.1', 0);
    assert.equal(server.isServing(), true);
    assert.equal(server.sockets.length, 1);
    const port = portOf(server);
    const clients: [Transport, Collector][] = [];
    for (let i = 0; i < 5; i++) clients.push(yield* createConnection(loop, () => new Collector(), '127.0.0.1', port));
    yield* eventually(() => server.statistics().activeConnections === 5, '5 connections');
    server.close();
    assert.equal(server.isServing(), false);
    assert.deepEqual(server.sockets, []);
    server.close(); // idempotent
    assert.throws(() => server.startServing(), RuntimeError);
    const closed = server.waitClosed();
    yield* sleep(5);
    assert.equal(closed.done(), false, 'connections are still open');
    clients.forEach(([transport], i) => transport.write(Buffer.from(`#${i}`)));
    for (const [, client] of clients) yield* eventually(() => client.data.length > 0, 'an echo after close()');
    const refused = yield* failure(createConnection(loop, () => new Collector(), '127.0.0.1', port));
    assert.ok(refused instanceof OSError && refused.code === 'ECONNREFUSED', String(refused));
    for (const [transport] of clients) transport.close();
    yield* closed;
    assert.equal(server.statistics().activeConnections, 0);
    assert.equal(server.waitClosed().done(), true, 'once closed, waitClosed() is done at once');
  });
});

test('closeClients() closes every connection; abortClients() too', T, async () => {
  await runIo(function* (loop) {
    const server = yield* createServer(loop, () => new EchoProtocol(), '127.0.0.1', 0);
    const [, a] = yield* createConnection(loop, () => new Collector(), '127.0.0.1', portOf(server));
    const [, b] = yield* createConnection(loop, () => new Collector(), '127.0.0.1', portOf(server));
    yield* eventually(() => server.statistics().activeConnections === 2, 'accepts');
    server.close();
    server.closeClients();
    yield* server.waitClosed();
    yield* eventually(() => a.lost !== undefined && b.lost !== undefined, 'clients see EOF');
    assert.deepEqual(a.events, ['made', 'eof', 'lost']);
  });
});

test('serveForever() returns when the server is closed, and closes it when its task is cancelled', T, async () => {
  await runIo(function* (loop) {
    const first = yield* createServer(loop, () => new EchoProtocol(), '127.0.0.1', 0, { startServing: false });
    assert.equal(first.isServing(), false);
    const serving = loop.createTask(() => first.serveForever());
    yield* sleep(1);
    assert.equal(first.isServing(), true);
    assert.equal(describeTask(serving).waitingOn?.label, `Server.serveForever 127.0.0.1:${portOf(first)}`, 'named for task introspection');
    assert.equal(first.waitClosed().label, `Server.waitClosed 127.0.0.1:${portOf(first)}`);
    const [t] = yield* createConnection(loop, () => new Collector(), '127.0.0.1', portOf(first));
    t.close();
    first.close();
    yield* serving;

    const second = yield* createServer(loop, () => new EchoProtocol(), '127.0.0.1', 0);
    const cancelled = loop.createTask(() => second.serveForever());
    yield* sleep(1);
    cancelled.cancel();
    assert.ok((yield* failure(cancelled)) instanceof CancelledError);
    assert.equal(second.isServing(), false);
    yield* first.waitClosed();
    yield* second.waitClosed();
  });
});

test('reusePort lets two servers share a port; without it the second bind fails with EADDRINUSE', T, async () => {
  await runIo(function* (loop) {
    const a = yield* createServer(loop, () => new EchoProtocol(), '127.0.0.1', 0, { reusePort: true });
    const b = yield* createServer(loop, () => new EchoProtocol(), '127.0.0.1', portOf(a), { reusePort: true });
    assert.equal(portOf(b), portOf(a));
    const fdsBefore = openFdCount();
    const error = yield* failure(createServer(loop, () => new EchoProtocol(), '127.0.0.1', portOf(a)));
    assert.ok(error instanceof OSError, String(error));
    assert.equal(error.code, 'EADDRINUSE');
    assert.equal(error.syscall, 'bind');
    assert.match(error.message, /127\.0\.0\.1:\d+/);
    assert.equal(openFdCount(), fdsBefore, 'the failed socket was closed');
    a.close();
    b.close();
    yield* a.waitClosed();
    yield* b.waitClosed();
  });
});

test('keepAlive (asyncio 3.13 keep_alive): SO_KEEPALIVE on the listening socket, inherited by each accepted connection; off by default; a non-boolean is a TypeError', T, async () => {
  await runIo(function* (loop) {
    const keepAliveOf = (server: Server, transports: Transport[]) => [
      server.sockets[0]?.getsockoptInt(C.SOL_SOCKET, C.SO_KEEPALIVE),
      ...transports.map((t) => (t.getExtraInfo('socket') as TransportSocket).getsockoptInt(C.SOL_SOCKET, C.SO_KEEPALIVE)),
    ];
    const accepted: Transport[] = [];
    class Keep extends EchoProtocol {
      override connectionMade(transport: Transport): void {
        super.connectionMade(transport);
        accepted.push(transport);
      }
    }
    const on = yield* createServer(loop, () => new Keep(), '127.0.0.1', 0, { keepAlive: true });
    const off = yield* createServer(loop, () => new Keep(), '127.0.0.1', 0);
    const [toOn] = yield* createConnection(loop, () => new Collector(), '127.0.0.1', portOf(on));
    yield* eventually(() => accepted.length === 1, 'the first connection to be accepted');
    const [toOff] = yield* createConnection(loop, () => new Collector(), '127.0.0.1', portOf(off));
    yield* eventually(() => accepted.length === 2, 'the second connection to be accepted');
    assert.deepEqual(keepAliveOf(on, [accepted[0] as Transport]), [1, 1]);
    assert.deepEqual(keepAliveOf(off, [accepted[1] as Transport]), [0, 0]);
    const fdsBefore = openFdCount();
    assert.throws(() => createServer(loop, () => new Keep(), '127.0.0.1', 0, { keepAlive: 'yes' as unknown as boolean }), {
      name: 'TypeError',
      message: 'createServer: options.keepAlive must be a boolean or null, got "yes"',
    });
    assert.equal(openFdCount(), fdsBefore, 'no socket opened');
    for (const t of [toOn, toOff]) t.close();
    for (const s of [on, off]) s.close();
    yield* on.waitClosed();
    yield* off.waitClosed();
  });
});

test('null for reusePort, reuseAddress, keepAlive or startServing means the default, as asyncio\'s None (and as before they were checked); other non-booleans are a TypeError', T, async () => {
  await runIo(function* (loop) {
    const nulls = { reusePort: null, reuseAddress: null, keepAlive: null, startServing: null } as unknown as { reusePort: boolean };
    const server = yield* createServer(loop, () => new EchoProtocol(), '127.0.0.1', 0, nulls);
    assert.equal(server.isServing(), true, 'startServing: null starts it, as the default');
    const listener = server.sockets[0] as TransportSocket;
    assert.deepEqual(
      [C.SO_REUSEADDR, C.SO_REUSEPORT, C.SO_KEEPALIVE].map((option) => listener.getsockoptInt(C.SOL_SOCKET, option)),
      [1, 0, 0],
      'SO_REUSEADDR on (the default), SO_REUSEPORT and SO_KEEPALIVE off',
    );
    const [client] = yield* createConnection(loop, () => new Collector(), '127.0.0.1', portOf(server));
    client.close();
    for (const flag of ['reusePort', 'reuseAddress', 'keepAlive', 'startServing']) {
      assert.throws(() => createServer(loop, () => new EchoProtocol(), '127.0.0.1', 0, { [flag]: 1 }), {
        name: 'TypeError',
        message: `createServer: options.${flag} must be a boolean or null, got 1`,
      });
    }
    server.close();
    yield* server.waitClosed();
  });
});

test('a protocol factory that returns no protocol: the connection is closed, the TypeError reported, and the server keeps serving', T, async () => {
  const exceptions: ExceptionContext[] = [];
  await runIo(function* (loop) {
    let calls = 0;
    const server = yield* createServer(loop, () => (++calls === 1 ? (null as unknown as Protocol) : new EchoProtocol()), '127.0.0.1', 0);
    const [rejected, rejectedClient] = yield* createConnection(loop, () => new Collector(), '127.0.0.1', portOf(server));
    yield* eventually(() => rejectedClient.lost !== undefined, 'the refused client to be closed');
    assert.deepEqual(rejectedClient.events, ['made', 'eof', 'lost']);
    assert.equal(rejected.isClosing(), true);
    assert.deepEqual(exceptions.map((c) => [c.message, String(c.exception), c['server'] === server]), [
      ['Server: the protocol factory failed; connection closed', 'TypeError: Server: protocolFactory must return a protocol object, got null', true],
    ]);
    const [served, client] = yield* createConnection(loop, () => new Collector(), '127.0.0.1', portOf(server));
    served.write(Buffer.from('still serving'));
    yield* eventually(() => client.data.length === 13, 'the echo');
    served.close();
    server.close();
    yield* server.waitClosed();
  }, { exceptions });
});

test('bad input to createServer throws at the call: a bad port, host or factory', T, async () => {
  await runIo(function* (loop) {
    assert.throws(() => createServer(loop, () => new EchoProtocol(), '127.0.0.1', 70000), RangeError);
    assert.throws(() => createServer(loop, () => new EchoProtocol(), 42 as unknown as string, 0), TypeError);
    assert.throws(() => createServer(loop, 'nope' as unknown as () => Protocol, '127.0.0.1', 0), TypeError);
    assert.throws(() => createServer(loop, () => new EchoProtocol(), '127.0.0.1', 0, { backlog: 0 }), RangeError);
    yield* sleep(0);
  }, { exceptions: [] });
});

test('EMFILE while accepting: the server pauses accepting (no busy loop: a handful of accept calls), then recovers', T, () => {
  const child = fileURLToPath(new URL('./fixtures/emfile-child.js', import.meta.url));
  const output = execFileSync('/bin/sh', ['-c', `ulimit -n 128 && exec "${process.execPath}" "${child}"`], { encoding: 'utf8', timeout: 30_000 });
  const result = JSON.parse(output.trim().split('\n').pop() as string) as Record<string, unknown>;
  assert.equal(result['acceptedWhileFull'], 0, 'nothing could be accepted while the fd table was full');
  const calls = result['acceptCallsWhileFull'] as number;
  // 600 ms at a 100 ms retry delay: about 6 attempts. A spinning server makes thousands.
  assert.ok(calls >= 2 && calls <= 15, `accept4 called ${calls} times in 600 ms while out of fds`);
  assert.ok((result['pausesWhileFull'] as number) >= 2);
  assert.deepEqual(result['reports'], ['accept() out of system resource EMFILE'], 'reported to the exception handler, with the errno');
  assert.equal(result['recovered'], true, 'accepted all 3 once fds were freed');
  assert.equal(result['greeted'], true, 'and served them');
  assert.equal(result['accepted'], 3);
});

test('a slow client that never reads does not stall the other clients', T, async () => {
  await runIo(function* (loop) {
    const echoes: PoliteEcho[] = [];
    const server = yield* createServer(loop, () => {
      const p = new PoliteEcho();
      echoes.push(p);
      return p;
    }, '127.0.0.1', 0);
    const port = portOf(server);

    // The slow client floods the server and reads nothing back.
    const [slow, slowProto] = yield* createConnection(loop, () => new Collector(), '127.0.0.1', port);
    slow.pauseReading();
    const flood = pattern(256 * 1024);
    for (let i = 0; i < 64; i++) slow.write(flood); // 16 MiB: more than all the kernel buffers on the way
    yield* eventually(() => echoes[0]?.events.includes('pauseWriting') === true, 'the server to pause the slow client');
    assert.equal(echoes[0]?.transport?.isReading(), false, 'the server stopped reading from it');

    // Meanwhile ten fast clients do 50 request/response rounds each.
    const fast = [] as Task<number>[];
    for (let c = 0; c < 10; c++) {
      fast.push(loop.createTask(function* (): Coroutine<number> {
        const [t, p] = yield* createConnection(loop, () => new Collector(), '127.0.0.1', port);
        for (let round = 1; round <= 50; round++) {
          t.write(pattern(100));
          yield* eventually(() => p.data.length === round * 100, `fast client ${c} round ${round}`);
        }
        t.close();
        yield* eventually(() => p.lost !== undefined, 'close');
        return p.data.length;
      }));
    }
    for (const task of fast) assert.equal(yield* task, 5000);
    assert.equal(echoes[0]?.transport?.isReading(), false, 'the slow one is still parked');

    slow.abort();
    yield* eventually(() => slowProto.lost !== undefined, 'abort');
    server.close();
    yield* server.waitClosed();
  });
});

/** Greets and closes at once: the server closes first, so clients do not pile up in TIME_WAIT. */
class GreetAndClose implements Protocol {
  connectionMade(transport: Transport): void {
    transport.write(Buffer.from('x'));
    transport.close();
  }
}

function* openAndClose(loop: EventLoop, port: number, count: number): Coroutine<number> {
  const clients: Collector[] = [];
  const connecting: Task<[Transport, Collector]>[] = [];
  for (let i = 0; i < count; i++) connecting.push(createConnection(loop, () => new Collector(), '127.0.0.1', port));
  for (const task of connecting) clients.push((yield* task)[1]);
  yield* eventually(() => clients.every((c) => c.lost !== undefined), 'every client to close', 30_000);
  return clients.filter((c) => c.data.toString() === 'x' && c.events.join() === 'made,eof,lost').length;
}

test('10,000 connections opened and closed (in batches of 500) leave the fd count where it was', { timeout: 120_000 }, async (t) => {
  const startMs = performance.now();
  await runIo(function* (loop) {
    const server = yield* createServer(loop, () => new GreetAndClose(), '127.0.0.1', 0, { backlog: 1024 });
    const port = portOf(server);
    const fdsBefore = openFdCount();
    let ok = 0;
    for (let batch = 0; batch < 20; batch++) ok += yield* openAndClose(loop, port, 500);
    yield* eventually(() => server.statistics().activeConnections === 0, 'the server side to finish');
    assert.equal(ok, 10_000, 'every client was greeted, saw EOF and closed');
    assert.equal(server.statistics().accepted, 10_000);
    assert.equal(openFdCount(), fdsBefore, 'no fd leaked');
    server.close();
    yield* server.waitClosed();
  });
  const tookMs = performance.now() - startMs;
  t.diagnostic(`10,000 connections in ${tookMs.toFixed(0)} ms`);
});
