/**
 * Happy Eyeballs in createConnection (asyncio's happy_eyeballs_delay and
 * interleave) over real sockets. The resolver cannot be steered, so most
 * tests give their own address lists to connectToAny, createConnection's
 * body after the resolver: a first address whose connect hangs (a full
 * listen queue drops SYNs) and a second that accepts, refused ports,
 * families to interleave. The targets that accept are plain listening
 * sockets nobody accepts from (the kernel completes the handshake), so the
 * process gains exactly one fd per connection: the client's.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { CancelledError } from '../../src/core/errors.js';
import { checkConnectPlan, connectToAny, createConnection, createServer, type CreateConnectionOptions } from '../../src/io/connect.js';
import type { AddrInfo } from '../../src/io/dns.js';
import { getaddrinfo } from '../../src/io/dns.js';
import { ConnectionRefusedError, OSError } from '../../src/io/errors.js';
import { localAddress, peerAddress } from '../../src/io/sockets.js';
import { openConnection } from '../../src/io/streams.js';
import { syscalls as sys } from '../../src/io/syscalls.js';
import type { Protocol } from '../../src/io/transport.js';
import { sleep, type Coroutine } from '../../src/tasks/operation.js';
import type { EventLoop } from '../../src/tasks/event-loop.js';
import type { NodeEventLoop } from '../../src/io/node-event-loop.js';
import { ipv6Loopback, openFdCount } from './fds.js';
import { Collector, EchoProtocol, eventually, failure, hangingPort, loopback, refusingPort, runIo } from './net-helpers.js';

const C = sys.constants;
const T = { timeout: 30_000 };
const IPV6 = { ...T, skip: ipv6Loopback() ? false : 'no IPv6 loopback on this machine' };

/** A stream AddrInfo for `port` on the loopback of `family`, as getaddrinfo gives it. */
function info(port: number, family: number = C.AF_INET): AddrInfo {
  const host = loopback(family);
  return [family, C.SOCK_STREAM, C.IPPROTO_TCP, '', family === C.AF_INET6 ? [host, port, 0, 0] : [host, port]];
}

/** A listening socket on the loopback of `family` that never accepts: connects to it complete in the kernel. Returns [fd, port]. */
function listeningPort(family: number = C.AF_INET): [number, number] {
  const [fd, port] = refusingPort(family);
  assert.equal(sys.listen(fd, 16), 0);
  return [fd, port];
}

/** connectToAny with createConnection's options, checked as createConnection checks them. */
function connectTo(loop: EventLoop, infos: AddrInfo[], options: CreateConnectionOptions): Coroutine<[fd: number, family: number]> {
  return connectToAny(loop, infos, checkConnectPlan(options, 'createConnection'), '127.0.0.1', 1);
}

/**
 * Runs `main(loop, before)` on a fresh loop (runIo: no fd may leak, nothing
 * may be left scheduled), `before` being the process's fd count once the
 * host's own fds exist; then closes `fds`, whatever happened.
 */
async function runWith(fds: number[], main: (loop: NodeEventLoop, before: number) => Coroutine<void>): Promise<void> {
  try {
    await runIo(function* (loop) {
      yield* sleep(1); // the host's own fds (blocking mode opens one lazily) exist from the first wait on
      yield* main(loop, openFdCount());
    });
  } finally {
    for (const fd of fds) sys.close(fd);
  }
}

test('a first address that hangs in connect and a second that accepts: the second starts after the delay and wins; the hanging socket is closed', T, async () => {
  const [hanging, hangingFds] = hangingPort();
  const [listener, port] = listeningPort();
  await runWith([...hangingFds, listener], function* (loop, before) {
    const start = loop.time();
    const [fd, family] = yield* connectTo(loop, [info(hanging), info(port)], { happyEyeballsDelayMs: 100 });
    const elapsed = loop.time() - start;
    assert.deepEqual(peerAddress(fd), ['127.0.0.1', port], 'connected through the second address');
    assert.equal(family, C.AF_INET);
    assert.ok(elapsed >= 100, `the second attempt waited for the delay (the first neither failed nor connected): ${elapsed} ms`);
    assert.ok(elapsed < 10_000, `and did not wait for the first to time out: ${elapsed} ms`);
    assert.equal(openFdCount(), before + 1, 'only the winner\'s socket is open: the hanging attempt\'s was closed');
    assert.equal(loop.statistics().writers, 0, 'and is no longer watched');
    sys.close(fd);
  });
});

test('without happyEyeballsDelayMs the addresses are tried one at a time: the hanging first address holds up the second', T, async () => {
  const [hanging, hangingFds] = hangingPort();
  const [listener, port] = listeningPort();
  await runWith([...hangingFds, listener], function* (loop, before) {
    const task = loop.createTask(connectTo(loop, [info(hanging), info(port)], {}));
    yield* sleep(300);
    assert.equal(task.done(), false, 'still on the first address');
    assert.equal(openFdCount(), before + 1, 'one socket: no second attempt');
    task.cancel();
    assert.ok((yield* failure(task)) instanceof CancelledError);
    assert.equal(openFdCount(), before);
  });
});

test('a refused first address starts the second at once, without waiting for the delay', T, async () => {
  const [refusing, refusingPortNumber] = refusingPort();
  const [listener, port] = listeningPort();
  await runWith([refusing, listener], function* (loop, before) {
    const start = loop.time();
    const [fd] = yield* connectTo(loop, [info(refusingPortNumber), info(port)], { happyEyeballsDelayMs: 20_000 });
    assert.ok(loop.time() - start < 20_000, 'connected before the delay ran out');
    assert.deepEqual(peerAddress(fd), ['127.0.0.1', port]);
    assert.equal(openFdCount(), before + 1);
    sys.close(fd);
  });
});

test('an address whose socket() fails (here EAFNOSUPPORT, as EMFILE would) is that address failing: the next is tried, with or without a delay', T, async () => {
  const [listener, port] = listeningPort();
  const unsupported: AddrInfo = [12345, C.SOCK_STREAM, C.IPPROTO_TCP, '', ['127.0.0.1', port]];
  await runWith([listener], function* (loop, before) {
    for (const options of [{}, { happyEyeballsDelayMs: 50 }]) {
      const [fd] = yield* connectTo(loop, [unsupported, info(port)], options);
      assert.deepEqual(peerAddress(fd), ['127.0.0.1', port], JSON.stringify(options));
      sys.close(fd);
    }
    const alone = yield* failure(connectTo(loop, [unsupported], {}));
    assert.ok(alone instanceof OSError && alone.code === 'EAFNOSUPPORT', String(alone));
    assert.equal(openFdCount(), before);
  });
});

test('every address failing: the same combined error as one at a time (ConnectionRefusedError of the first), every fd closed', T, async () => {
  const [a, portA] = refusingPort();
  const [b, portB] = refusingPort();
  await runWith([a, b], function* (loop, before) {
    for (const options of [{ happyEyeballsDelayMs: 50 }, {}]) {
      const error = yield* failure(connectTo(loop, [info(portA), info(portB)], options));
      assert.ok(error instanceof ConnectionRefusedError, String(error));
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${portA}\\b`), 'the first address\'s error');
    }
    const viaName = yield* failure(createConnection(loop, () => new Collector(), '127.0.0.1', portB, { happyEyeballsDelayMs: 250 }));
    assert.ok(viaName instanceof ConnectionRefusedError, String(viaName));
    assert.match(viaName.message, new RegExp(`127\\.0\\.0\\.1:${portB}\\b`));
    assert.equal(openFdCount(), before);
  });
});

test('allErrors (asyncio 3.12 all_errors): every address failing throws an AggregateError of each attempt\'s error in the order tried, even for one address', T, async () => {
  const [a, portA] = refusingPort();
  const [b, portB] = refusingPort();
  await runWith([a, b], function* (loop, before) {
    for (const options of [{ allErrors: true }, { allErrors: true, happyEyeballsDelayMs: 50 }]) {
      const both = yield* failure(connectTo(loop, [info(portA), info(portB)], options));
      assert.ok(both instanceof AggregateError, String(both));
      assert.deepEqual(
        both.errors.map((e: unknown) => [(e as Error).constructor.name, (e as Error).message.match(/:(\d+)/)?.[1]]),
        [
          ['ConnectionRefusedError', String(portA)],
          ['ConnectionRefusedError', String(portB)],
        ],
        JSON.stringify(options),
      );
      assert.match(both.message, /^createConnection\(127\.0\.0\.1, 1\) failed: /);
    }
    const one = yield* failure(createConnection(loop, () => new Collector(), '127.0.0.1', portA, { allErrors: true }));
    assert.ok(one instanceof AggregateError && one.errors.length === 1 && one.errors[0] instanceof ConnectionRefusedError, String(one));
    const plain = yield* failure(createConnection(loop, () => new Collector(), '127.0.0.1', portA, { allErrors: null }));
    assert.ok(plain instanceof ConnectionRefusedError, 'null: the default');
    assert.throws(() => createConnection(loop, () => new Collector(), '127.0.0.1', portA, { allErrors: 1 as never }), {
      name: 'TypeError',
      message: 'createConnection: options.allErrors must be a boolean or null, got 1',
    });
    assert.equal(openFdCount(), before);
  });
});

test('cancelling createConnection while its attempts run cancels every attempt and closes every fd', T, async () => {
  const [hanging, hangingFds] = hangingPort();
  await runWith(hangingFds, function* (loop, before) {
    const racing = loop.createTask(connectTo(loop, [info(hanging), info(hanging), info(hanging)], { happyEyeballsDelayMs: 20 }));
    yield* eventually(() => loop.statistics().writers === 3, 'three attempts waiting for their connects');
    assert.equal(openFdCount(), before + 3);
    racing.cancel();
    assert.ok((yield* failure(racing)) instanceof CancelledError);
    assert.equal(openFdCount(), before, 'every attempt\'s socket was closed');
    assert.equal(loop.statistics().writers, 0);

    const connecting = createConnection(loop, () => new Collector(), '127.0.0.1', hanging, { happyEyeballsDelayMs: 20 });
    yield* eventually(() => loop.statistics().writers === 1, 'createConnection\'s attempt');
    connecting.cancel();
    assert.ok((yield* failure(connecting)) instanceof CancelledError);
    assert.equal(openFdCount(), before);
    assert.equal(loop.statistics().writers, 0);
  });
});

test('localAddr still filters the addresses by family and binds the winner', T, async () => {
  const [refusing, refusingPortNumber] = refusingPort();
  const [listener, port] = listeningPort();
  await runWith([refusing, listener], function* (loop, before) {
    const localAddr: [string, number] = ['127.0.0.2', 0];
    // An IPv6 attempt bound to an IPv4 address would fail differently (and the error be an AggregateError): it is never made.
    const error = yield* failure(connectTo(loop, [info(1, C.AF_INET6), info(refusingPortNumber)], { happyEyeballsDelayMs: 50, localAddr }));
    assert.ok(error instanceof ConnectionRefusedError, String(error));
    const [fd] = yield* connectTo(loop, [info(1, C.AF_INET6), info(port)], { happyEyeballsDelayMs: 50, localAddr });
    assert.equal((localAddress(fd) as [string, number])[0], '127.0.0.2');
    assert.deepEqual(peerAddress(fd), ['127.0.0.1', port]);
    sys.close(fd);
    const mismatch = yield* failure(connectTo(loop, [info(1, C.AF_INET6)], { happyEyeballsDelayMs: 50, localAddr }));
    assert.ok(mismatch instanceof TypeError);
    assert.equal(mismatch.message, 'createConnection: no address of 127.0.0.1 matches the family of localAddr');
    assert.equal(openFdCount(), before);
  });
});

test('interleave reorders the addresses by family before they are tried: 1 by default with a delay, off without', IPV6, async () => {
  const [refusing, refusingPortNumber] = refusingPort();
  const [listener4, port4] = listeningPort(C.AF_INET);
  const [listener6, port6] = listeningPort(C.AF_INET6);
  await runWith([refusing, listener4, listener6], function* (loop) {
    // IPv4 refused, IPv4 accepting, IPv6 accepting: interleaved, the IPv6 address comes second.
    const infos = [info(refusingPortNumber), info(port4), info(port6, C.AF_INET6)];
    const cases: [CreateConnectionOptions, string][] = [
      [{ happyEyeballsDelayMs: 20_000 }, '::1'],
      [{ happyEyeballsDelayMs: 20_000, interleave: 0 }, '127.0.0.1'],
      [{ happyEyeballsDelayMs: 20_000, interleave: 2 }, '127.0.0.1'],
      [{}, '127.0.0.1'],
      [{ interleave: 1 }, '::1'],
    ];
    const peers: string[] = [];
    for (const [options] of cases) {
      const [fd] = yield* connectTo(loop, infos, options);
      peers.push((peerAddress(fd) as [string, number])[0]);
      sys.close(fd);
    }
    assert.deepEqual(peers, cases.map(([, peer]) => peer));
  });
});

test('createConnection and openConnection connect with happyEyeballsDelayMs and interleave (the options reach the race)', T, async () => {
  await runIo(function* (loop) {
    const server = yield* createServer(loop, () => new EchoProtocol(), '127.0.0.1', 0);
    const port = (server.addresses()[0] as [string, number])[1];
    const [transport, client] = yield* loop.createConnection(() => new Collector(), '127.0.0.1', port, { happyEyeballsDelayMs: 250, interleave: 1 });
    transport.write(Buffer.from('eyes'));
    yield* eventually(() => client.data.toString() === 'eyes', 'echo');
    transport.close();
    const [reader, writer] = yield* openConnection('127.0.0.1', port, { happyEyeballsDelayMs: 0, loop });
    writer.write(Buffer.from('balls\n'));
    assert.equal((yield* reader.readLine()).toString(), 'balls\n');
    writer.close();
    yield* writer.waitClosed();
    yield* eventually(() => client.lost !== undefined && server.statistics().activeConnections === 0, 'both connections closed');
    server.close();
    yield* server.waitClosed();
  });
});

test('bad happyEyeballsDelayMs or interleave throws at the call (createConnection, loop.createConnection, openConnection), before any socket is opened', T, async () => {
  await runWith([], function* (loop, before) {
    const factory = (): Protocol => new Collector();
    const delay = 'createConnection: options.happyEyeballsDelayMs';
    const interleave = 'createConnection: options.interleave';
    const cases: [Record<string, unknown>, string, string][] = [
      [{ happyEyeballsDelayMs: '250' }, 'TypeError', `${delay} must be a number of milliseconds or null, got "250"`],
      [{ happyEyeballsDelayMs: -1 }, 'RangeError', `${delay} must be a finite number of milliseconds >= 0 or null, got -1`],
      [{ happyEyeballsDelayMs: NaN }, 'RangeError', `${delay} must be a finite number of milliseconds >= 0 or null, got NaN`],
      [{ happyEyeballsDelayMs: Infinity }, 'RangeError', `${delay} must be a finite number of milliseconds >= 0 or null, got Infinity`],
      [{ interleave: '1' }, 'TypeError', `${interleave} must be a non-negative integer or null, got "1"`],
      [{ interleave: -1 }, 'RangeError', `${interleave} must be a non-negative integer or null, got -1`],
      [{ interleave: 1.5, happyEyeballsDelayMs: 250 }, 'RangeError', `${interleave} must be a non-negative integer or null, got 1.5`],
    ];
    for (const [options, name, message] of cases) {
      assert.throws(() => createConnection(loop, factory, '127.0.0.1', 80, options), { name, message });
      assert.throws(() => loop.createConnection(factory, '127.0.0.1', 80, options), { name, message });
      assert.throws(() => openConnection('127.0.0.1', 80, { ...options, loop }), { name, message });
    }
    assert.equal(openFdCount(), before, 'no socket was opened');
  });
});

test("'localhost' with both families: the first family's address hangs, the other family's wins after the delay", T, async (t) => {
  const families = familiesOf(await runIo(function* (loop) {
    return yield* getaddrinfo(loop, 'localhost', 0, { type: C.SOCK_STREAM });
  }));
  if (families.length < 2 || !ipv6Loopback()) {
    t.skip(`localhost resolves to ${families.map(([family, host]) => `${host} (family ${family})`).join(', ')} here: not both families`);
    return;
  }
  const [[firstFamily], [secondFamily, secondHost]] = families as [[number, string], [number, string]];
  const [port, hangingFds] = hangingPort(firstFamily);
  const listener = sys.socket(secondFamily, C.SOCK_STREAM | C.SOCK_CLOEXEC, 0);
  if (sys.bind(listener, secondFamily, secondHost, port) !== 0 || sys.listen(listener, 16) !== 0) {
    for (const fd of [...hangingFds, listener]) sys.close(fd);
    t.skip(`port ${port} is taken on ${secondHost}`);
    return;
  }
  await runWith([...hangingFds, listener], function* (loop) {
    const [transport, client] = yield* createConnection(loop, () => new Collector(), 'localhost', port, { happyEyeballsDelayMs: 100 });
    assert.equal((transport.getExtraInfo('peername') as [string, number])[0], secondHost);
    transport.close();
    yield* eventually(() => client.lost !== undefined, 'close');
  });
});

/** The families of a getaddrinfo answer in order of first appearance, each with its first address. */
function familiesOf(infos: AddrInfo[]): [number, string][] {
  const seen = new Map<number, string>();
  for (const [family, , , , [host]] of infos) if (!seen.has(family)) seen.set(family, host);
  return [...seen];
}
