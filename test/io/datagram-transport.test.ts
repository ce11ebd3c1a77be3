/**
 * UDP through createDatagramEndpoint: an echo round trip, a connected
 * endpoint, errorReceived for a refused peer, boundaries kept, bad input.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { RuntimeError } from '../../src/core/errors.js';
import { createDatagramEndpoint } from '../../src/io/connect.js';
import type { UdpTransport } from '../../src/io/datagram-transport.js';
import type { DatagramProtocol, DatagramTransport, SocketAddress } from '../../src/io/transport.js';
import { sleep } from '../../src/tasks/operation.js';
import { eventually, failure, runIo, UdpCollector } from './net-helpers.js';

const T = { timeout: 30_000 };

class UdpEcho implements DatagramProtocol {
  transport: DatagramTransport | null = null;
  lost: Error | null | undefined = undefined;
  connectionMade(transport: DatagramTransport): void {
    this.transport = transport;
  }
  datagramReceived(data: Buffer, from: SocketAddress): void {
    this.transport?.sendto(Buffer.concat([Buffer.from('echo:'), data]), from as [string, number]);
  }
  connectionLost(exc: Error | null): void {
    this.lost = exc;
  }
}

test('UDP echo: datagrams keep their boundaries and carry the sender address', T, async () => {
  await runIo(function* (loop) {
    const [server, echo] = yield* createDatagramEndpoint(loop, () => new UdpEcho(), { localAddr: ['127.0.0.1', 0] });
    const serverAddress = server.getExtraInfo('sockname') as [string, number];
    const [client, collector] = yield* createDatagramEndpoint(loop, () => new UdpCollector(), { localAddr: ['127.0.0.1', 0] });
    const clientAddress = client.getExtraInfo('sockname') as [string, number];
    client.sendto(Buffer.from('one'), serverAddress);
    client.sendto(Buffer.from('two'), serverAddress);
    client.sendto(Buffer.alloc(0), serverAddress);
    yield* eventually(() => collector.received.length === 3, 'three echoes');
    assert.deepEqual(collector.received, [
      ['echo:one', serverAddress],
      ['echo:two', serverAddress],
      ['echo:', serverAddress],
    ]);
    assert.deepEqual(server.getExtraInfo('peername', 'none'), 'none', 'an unconnected endpoint has no peer');
    assert.notDeepEqual(clientAddress, serverAddress);
    client.close();
    server.close();
    assert.throws(() => client.sendto(Buffer.from('x'), serverAddress), RuntimeError);
    yield* eventually(() => collector.lost === null && echo.lost === null, 'connectionLost(null) on both');
  });
});

test('a protocol factory that returns no protocol: a TypeError naming it, and the socket is closed', T, async () => {
  await runIo(function* (loop) {
    const error = yield* failure(createDatagramEndpoint(loop, () => null as unknown as UdpCollector, { localAddr: ['127.0.0.1', 0] }));
    assert.ok(error instanceof TypeError && error.message === 'createDatagramEndpoint: protocolFactory must return a protocol object, got null', String(error));
  });
});

test('a connected endpoint (remoteAddr): sendto without an address; another address is refused', T, async () => {
  await runIo(function* (loop) {
    const [server, echo] = yield* createDatagramEndpoint(loop, () => new UdpEcho(), { localAddr: ['127.0.0.1', 0] });
    const serverAddress = server.getExtraInfo('sockname') as [string, number];
    const [client, collector] = yield* createDatagramEndpoint(loop, () => new UdpCollector(), { remoteAddr: serverAddress });
    assert.deepEqual(client.getExtraInfo('peername'), serverAddress);
    const fd = (client as UdpTransport).fd;
    assert.throws(() => loop.sockRecvfrom(fd, 16), (e: unknown) => e instanceof RuntimeError && e.message === `sockRecvfrom: file descriptor ${fd} is used by transport ${String(client)}`);
    client.sendto(Buffer.from('hello'));
    client.sendto(Buffer.from('again'), serverAddress);
    assert.throws(() => client.sendto(Buffer.from('x'), ['127.0.0.1', 9]), TypeError);
    assert.throws(() => client.sendto('text' as unknown as Buffer), TypeError);
    yield* eventually(() => collector.received.length === 2, 'two echoes');
    assert.deepEqual(collector.received.map(([text]) => text), ['echo:hello', 'echo:again']);
    const clientAddress = client.getExtraInfo('sockname');
    client.close();
    server.close();
    yield* eventually(() => collector.lost !== undefined && echo.lost !== undefined, 'close');
    // Read at creation, as asyncio: still known once the fd is closed.
    assert.deepEqual([client.getExtraInfo('peername'), client.getExtraInfo('sockname')], [serverAddress, clientAddress]);
    assert.equal(client.getExtraInfo('socket', null), null, 'no socket once closed');
  });
});

test('a connected endpoint whose peer has no socket gets ECONNREFUSED in errorReceived and stays open', T, async () => {
  await runIo(function* (loop) {
    const [probe] = yield* createDatagramEndpoint(loop, () => new UdpCollector(), { localAddr: ['127.0.0.1', 0] });
    const deadAddress = probe.getExtraInfo('sockname') as [string, number];
    probe.close();
    yield* sleep(1);
    const [client, collector] = yield* createDatagramEndpoint(loop, () => new UdpCollector(), { remoteAddr: deadAddress });
    for (let i = 0; i < 20 && collector.errors.length === 0; i++) {
      client.sendto(Buffer.from('anyone?'));
      yield* sleep(5);
    }
    assert.ok(collector.errors.length > 0, 'an ICMP port-unreachable is reported');
    assert.equal((collector.errors[0] as { code?: string }).code, 'ECONNREFUSED');
    assert.equal(client.isClosing(), false, 'the endpoint stays open');
    client.close();
    yield* eventually(() => collector.lost === null, 'close');
  });
});

test('createDatagramEndpoint bad input throws at the call', T, async () => {
  await runIo(function* (loop) {
    assert.throws(() => createDatagramEndpoint(loop, () => new UdpCollector()), TypeError);
    assert.throws(() => createDatagramEndpoint(loop, 5 as unknown as () => DatagramProtocol, { localAddr: ['127.0.0.1', 0] }), TypeError);
    yield* sleep(0);
  });
});
