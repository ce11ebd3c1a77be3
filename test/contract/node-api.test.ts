/**
 * Contract: the Node entry point, `import ... from 'eventide/node'`, as a
 * user would drive it — `run(main)` and the running loop's asyncio-named
 * methods. One real round trip per feature, on 127.0.0.1, a Unix socket in
 * a temporary directory, or this process's own signals; each test is fast
 * and waits on events, never on wall-clock sleeps.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeSync, constants as fsConstants, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ConnectionRefusedError,
  Event,
  NodeEventLoop,
  StreamReader,
  StreamWriter,
  getRunningLoop,
  openConnection,
  openUnixConnection,
  run,
  sleep,
  startServer,
  startUnixServer,
  timeout,
  until,
  type Coroutine,
  type DatagramProtocol,
  type DatagramTransport,
  type Protocol,
  type Server,
  type SocketAddress,
  type Transport,
} from 'eventide/node';
import { Log } from '../log.js';

const T = { timeout: 10_000 };

/** The running loop, as the Node loop `run` from 'eventide/node' makes. */
function nodeLoop(): NodeEventLoop {
  const loop = getRunningLoop();
  assert.ok(loop instanceof NodeEventLoop, "run from 'eventide/node' runs on a NodeEventLoop");
  return loop;
}

function portOf(address: SocketAddress | undefined): number {
  assert.ok(Array.isArray(address), `an [host, port] address, got ${String(address)}`);
  return address[1] as number;
}

/** A stream echo handler: echoes lines until EOF, then closes. */
function* echoLines(reader: StreamReader, writer: StreamWriter): Coroutine<void> {
  for (;;) {
    const line = yield* reader.readLine();
    if (line.length === 0) break;
    writer.write(line);
    yield* writer.drain();
  }
  writer.close();
  yield* writer.waitClosed();
}

test("run from 'eventide/node' runs main on a NodeEventLoop with asyncio's I/O methods", T, async () => {
  const names = await run(function* () {
    const loop = nodeLoop();
    yield* sleep(1);
    return ['createConnection', 'createServer', 'createUnixConnection', 'createUnixServer', 'createDatagramEndpoint', 'addReader', 'removeReader', 'addWriter', 'removeWriter', 'addSignalHandler', 'removeSignalHandler', 'runInExecutor', 'getaddrinfo', 'sockRecv', 'sockSendAll', 'sockAccept', 'sockConnect'].filter(
      (name) => typeof (loop as unknown as Record<string, unknown>)[name] !== 'function',
    );
  });
  assert.deepEqual(names, [], 'missing loop methods');
});

test('streams: startServer(cb, host, port) and openConnection(host, port) echo lines; writer.drain(), close(), waitClosed()', T, async () => {
  const replies = await run(function* () {
    const server = yield* startServer(echoLines, '127.0.0.1', 0);
    const port = portOf(server.addresses()[0]);
    const [reader, writer] = yield* openConnection('127.0.0.1', port);
    assert.ok(reader instanceof StreamReader && writer instanceof StreamWriter);
    const got: string[] = [];
    for (const text of ['one\n', 'two\n']) {
      writer.write(Buffer.from(text));
      yield* writer.drain();
      got.push((yield* reader.readLine()).toString());
    }
    writer.writeEof();
    got.push(`eof:${(yield* reader.read()).length}`);
    assert.equal(reader.atEof(), true);
    writer.close();
    yield* writer.waitClosed();
    server.close();
    yield* server.waitClosed();
    return got;
  });
  assert.deepEqual(replies, ['one\n', 'two\n', 'eof:0']);
});

test('IPv6: startServer on ::1 gives a 4-tuple address [host, port, flowinfo, scopeId]; openConnection to it works', T, async () => {
  const outcome = await run(function* () {
    const server = yield* startServer(echoLines, '::1', 0);
    const address = server.addresses()[0] as SocketAddress;
    const [reader, writer] = yield* openConnection('::1', portOf(address));
    writer.write(Buffer.from('v6\n'));
    const line = (yield* reader.readLine()).toString();
    writer.close();
    yield* writer.waitClosed();
    server.close();
    yield* server.waitClosed();
    return { host: (address as unknown[])[0], length: (address as unknown[]).length, line };
  });
  assert.deepEqual(outcome, { host: '::1', length: 4, line: 'v6\n' });
});

test('StreamReader.readExactly / readUntil over a socket', T, async () => {
  const parts = await run(function* () {
    const server = yield* startServer(function* (_reader, writer) {
      writer.write(Buffer.from('HEADbody;rest'));
      yield* writer.drain();
      writer.close();
    }, '127.0.0.1', 0);
    const [reader, writer] = yield* openConnection('127.0.0.1', portOf(server.addresses()[0]));
    const head = (yield* reader.readExactly(4)).toString();
    const body = (yield* reader.readUntil(';')).toString();
    const rest = (yield* reader.read()).toString();
    writer.close();
    yield* writer.waitClosed();
    server.close();
    yield* server.waitClosed();
    return [head, body, rest];
  });
  assert.deepEqual(parts, ['HEAD', 'body;', 'rest']);
});

test(
  "server.sockets[i].getsockname() gives the listening address (asyncio: server.sockets[0].getsockname()[1] is the port)",
  T,
  async () => {
    const port = await run(function* () {
      const server = yield* startServer(echoLines, '127.0.0.1', 0);
      try {
        const socket = server.sockets[0] as unknown as { getsockname?: () => SocketAddress };
        assert.equal(typeof socket.getsockname, 'function');
        return portOf(socket.getsockname!());
      } finally {
        server.close();
        yield* server.waitClosed();
      }
    });
    assert.ok(port > 0);
  },
);

/** Records a Protocol's callbacks; echoes when `echo`. */
class Recorder implements Protocol {
  transport: Transport | null = null;
  readonly received: Buffer[] = [];
  readonly log: string[] = [];
  readonly lost = new Event();
  readonly gotData = new Event();
  constructor(readonly echo: boolean) {}
  connectionMade(transport: Transport): void {
    this.transport = transport;
    this.log.push('connectionMade');
  }
  dataReceived(data: Buffer): void {
    this.received.push(data);
    this.gotData.set();
    if (this.echo) this.transport!.write(data);
  }
  eofReceived(): boolean {
    this.log.push('eofReceived');
    return false;
  }
  pauseWriting(): void {
    this.log.push('pauseWriting');
  }
  resumeWriting(): void {
    this.log.push('resumeWriting');
  }
  connectionLost(exc: Error | null): void {
    this.log.push(`connectionLost ${exc === null ? 'null' : exc.name}`);
    this.lost.set();
  }
}

/** A Recorder server on 127.0.0.1 and a Recorder client connected to it; `serverSides` fills as the server accepts. */
function* recorderPair(echo: boolean): Coroutine<{ server: Server; transport: Transport; client: Recorder; serverSides: Recorder[] }> {
  const loop = nodeLoop();
  const serverSides: Recorder[] = [];
  const server = yield* loop.createServer(() => {
    const side = new Recorder(echo);
    serverSides.push(side);
    return side;
  }, '127.0.0.1', 0);
  const [transport, client] = yield* loop.createConnection(() => new Recorder(false), '127.0.0.1', portOf(server.addresses()[0]));
  assert.equal(client.transport, transport);
  return { server, transport, client, serverSides };
}

/** The server side of a recorderPair once it is connected. */
function* acceptedSide(serverSides: Recorder[]): Coroutine<Recorder> {
  while (serverSides[0]?.transport == null) yield* sleep(0);
  return serverSides[0];
}

test('protocols: loop.createServer / loop.createConnection give [transport, protocol]; connectionMade, dataReceived, eofReceived, connectionLost in order', T, async () => {
  const outcome = await run(function* () {
    const { server, transport, client, serverSides } = yield* recorderPair(true);
    transport.write(Buffer.from('ping'));
    while (Buffer.concat(client.received).length < 4) {
      client.gotData.clear();
      yield* client.gotData.wait();
    }
    assert.ok(transport.getExtraInfo('peername') !== undefined);
    assert.ok(transport.getExtraInfo('sockname') !== undefined);
    assert.equal(typeof transport.getExtraInfo('socket')?.fd, 'number');
    transport.writeEof();
    yield* client.lost.wait();
    const serverSide = yield* acceptedSide(serverSides);
    yield* serverSide.lost.wait();
    server.close();
    yield* server.waitClosed();
    return { echoed: Buffer.concat(client.received).toString(), client: client.log, server: serverSide.log };
  });
  assert.equal(outcome.echoed, 'ping');
  assert.deepEqual(outcome.server, ['connectionMade', 'eofReceived', 'connectionLost null']);
  assert.deepEqual(outcome.client, ['connectionMade', 'eofReceived', 'connectionLost null']);
});

test('transport.pauseReading() / resumeReading() / isReading(); write-buffer water marks call pauseWriting / resumeWriting on the protocol', T, async () => {
  const outcome = await run(function* () {
    const { server, transport, client, serverSides } = yield* recorderPair(false);
    const serverSide = yield* acceptedSide(serverSides);
    const peer = serverSide.transport!;
    peer.pauseReading();
    assert.equal(peer.isReading(), false);

    transport.setWriteBufferLimits({ high: 64 * 1024, low: 16 * 1024 });
    assert.deepEqual(transport.getWriteBufferLimits(), [16 * 1024, 64 * 1024]);
    // More than the kernel's socket buffers hold while the peer does not read.
    const total = 32 * 1024 * 1024;
    transport.write(Buffer.alloc(total, 1));
    assert.ok(transport.getWriteBufferSize() > 64 * 1024, 'data is buffered in the transport');
    const logAfterWrite = [...client.log];

    peer.resumeReading();
    assert.equal(peer.isReading(), true);
    yield* timeout(8000, function* () {
      while (serverSide.received.reduce((n, b) => n + b.length, 0) < total) {
        serverSide.gotData.clear();
        yield* serverSide.gotData.wait();
      }
    });
    transport.close();
    yield* client.lost.wait();
    yield* serverSide.lost.wait();
    server.close();
    yield* server.waitClosed();
    return { logAfterWrite, clientLog: client.log };
  });
  assert.deepEqual(outcome.logAfterWrite, ['connectionMade', 'pauseWriting']);
  assert.deepEqual(outcome.clientLog.slice(0, 3), ['connectionMade', 'pauseWriting', 'resumeWriting']);
});

test('Unix sockets: startUnixServer / openUnixConnection echo a line', T, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eventide-contract-'));
  try {
    const path = join(dir, 'echo.sock');
    const line = await run(function* () {
      const server = yield* startUnixServer(echoLines, path);
      const [reader, writer] = yield* openUnixConnection(path);
      writer.write(Buffer.from('over unix\n'));
      yield* writer.drain();
      const reply = (yield* reader.readLine()).toString();
      writer.close();
      yield* writer.waitClosed();
      server.close();
      yield* server.waitClosed();
      return reply;
    });
    assert.equal(line, 'over unix\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('UDP: loop.createDatagramEndpoint, sendto and datagramReceived with the sender address', T, async () => {
  const outcome = await run(function* () {
    const loop = nodeLoop();
    const received = new Event();
    const got: [string, SocketAddress][] = [];
    class Echo implements DatagramProtocol {
      transport: DatagramTransport | null = null;
      connectionMade(transport: DatagramTransport): void {
        this.transport = transport;
      }
      datagramReceived(data: Buffer, address: SocketAddress): void {
        this.transport!.sendto(Buffer.concat([Buffer.from('echo:'), data]), address);
      }
    }
    class Client implements DatagramProtocol {
      datagramReceived(data: Buffer, address: SocketAddress): void {
        got.push([data.toString(), address]);
        received.set();
      }
    }
    const [serverTransport] = yield* loop.createDatagramEndpoint(() => new Echo(), { localAddr: ['127.0.0.1', 0] });
    const serverAddress = serverTransport.getExtraInfo('sockname');
    const [clientTransport] = yield* loop.createDatagramEndpoint(() => new Client(), { remoteAddr: serverAddress ?? null });
    clientTransport.sendto(Buffer.from('hi'));
    yield* timeout(5000, received.wait());
    clientTransport.close();
    serverTransport.close();
    yield* sleep(0);
    return { got, serverPort: portOf(serverAddress) };
  });
  assert.equal(outcome.got.length, 1);
  assert.equal(outcome.got[0]![0], 'echo:hi');
  assert.equal(portOf(outcome.got[0]![1]), outcome.serverPort);
});

test('loop.addSignalHandler(signal, cb) runs cb as a loop callback when the signal arrives; removeSignalHandler returns true, then false', T, async () => {
  const log = new Log();
  await run(function* () {
    const loop = nodeLoop();
    const arrived = new Event();
    loop.addSignalHandler('SIGUSR2', () => {
      log.push(['signal', getRunningLoop() === loop]);
      arrived.set();
    });
    process.kill(process.pid, 'SIGUSR2');
    yield* timeout(5000, arrived.wait());
    log.push(loop.removeSignalHandler('SIGUSR2'));
    log.push(loop.removeSignalHandler('SIGUSR2'));
  });
  log.assert([['signal', true], true, false]);
});

test('loop.runInExecutor(null, moduleUrl, exportName, ...args) runs the export on a worker thread; its error rejects the Future', T, async () => {
  const work = new URL('./fixtures/work.js', import.meta.url);
  const outcome = await run(function* () {
    const loop = nodeLoop();
    const sum = yield* loop.runInExecutor<number>(null, work, 'add', 2, 3);
    let failure: unknown = null;
    try {
      yield* loop.runInExecutor(null, work, 'fail', 'on purpose');
    } catch (error) {
      failure = error;
    }
    return { sum, failure: [(failure as Error).name, (failure as Error).message] };
  });
  assert.deepEqual(outcome, { sum: 5, failure: ['RangeError', 'failed: on purpose'] });
});

test(
  "loop.runInExecutor(null, fn, ...args) with a function, as asyncio's run_in_executor(None, func, *args) is called",
  T,
  async () => {
    const result = await run(function* () {
      const loop = nodeLoop();
      const runIn = loop.runInExecutor as unknown as (executor: null, fn: (a: number, b: number) => number, ...args: number[]) => Coroutine<number> & PromiseLike<number>;
      return yield runIn.call(loop, null, (a: number, b: number) => a + b, 2, 3);
    });
    assert.equal(result, 5);
  },
);

test('loop.getaddrinfo(host, port) resolves to [family, type, proto, canonname, sockaddr] tuples (asyncio)', T, async () => {
  const infos = await run(function* () {
    const loop = nodeLoop();
    return yield* loop.getaddrinfo('127.0.0.1', 8080);
  });
  assert.ok(infos.length >= 1);
  const [family, , , canonname, sockaddr] = infos[0]!;
  assert.equal(typeof family, 'number');
  assert.equal(typeof canonname, 'string');
  assert.deepEqual([sockaddr[0], sockaddr[1]], ['127.0.0.1', 8080]);
});

test('connecting to a closed port rejects with ConnectionRefusedError (carrying errno)', T, async () => {
  const error = await run(function* () {
    const server = yield* startServer(echoLines, '127.0.0.1', 0);
    const port = portOf(server.addresses()[0]);
    server.close();
    yield* server.waitClosed();
    try {
      yield* openConnection('127.0.0.1', port);
      return null;
    } catch (e) {
      return e;
    }
  });
  assert.ok(error instanceof ConnectionRefusedError, `got ${String(error)}`);
  assert.equal(typeof (error as ConnectionRefusedError & { errno: unknown }).errno, 'number');
  assert.equal(typeof (error as ConnectionRefusedError & { syscall: unknown }).syscall, 'string');
});

test('removeReader / removeWriter of an fd not registered return false; addReader on an fd that is not open is a clear error', T, async () => {
  const outcome = await run(function* () {
    const loop = nodeLoop();
    const removed = [loop.removeReader(987_654), loop.removeWriter(987_654)];
    let addError: unknown = null;
    try {
      loop.addReader(987_654, () => {});
    } catch (error) {
      addError = error;
    }
    yield* sleep(0);
    return { removed, addError, readers: loop.statistics().readers };
  });
  assert.deepEqual(outcome.removed, [false, false]);
  assert.ok(outcome.addError instanceof Error, 'addReader on a closed fd throws');
  assert.match((outcome.addError as Error).message, /987654|fd/);
  assert.equal(outcome.readers, 0, 'nothing was registered');
});

test('loop.addReader(fd, cb) / addWriter(fd, cb) on a real fd (a FIFO): the callbacks run when it is readable / writable; removeReader/removeWriter return true', T, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eventide-contract-'));
  const path = join(dir, 'fifo');
  execFileSync('mkfifo', [path]);
  const fd = openSync(path, fsConstants.O_RDWR | fsConstants.O_NONBLOCK);
  try {
    const log = new Log();
    await run(function* () {
      const loop = nodeLoop();
      const readable = new Event();
      const writable = new Event();
      loop.addWriter(fd, () => {
        log.push('writable');
        writable.set();
        loop.removeWriter(fd);
      });
      yield* timeout(5000, writable.wait());
      loop.addReader(fd, () => {
        const buffer = Buffer.alloc(16);
        const n = readSync(fd, buffer);
        log.push(['read', buffer.subarray(0, n).toString()]);
        readable.set();
      });
      yield* sleep(1);
      log.push('nothing to read yet');
      writeSync(fd, 'hello');
      yield* timeout(5000, readable.wait());
      log.push(loop.removeReader(fd));
      log.push(loop.removeReader(fd));
    });
    log.assert(['writable', 'nothing to read yet', ['read', 'hello'], true, false]);
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('transport.abort() closes at once: the protocol gets connectionLost(null) and the peer sees the connection end', T, async () => {
  const outcome = await run(function* () {
    const { server, transport, client, serverSides } = yield* recorderPair(false);
    transport.write(Buffer.alloc(1024));
    transport.abort();
    assert.equal(transport.isClosing(), true);
    yield* client.lost.wait();
    const peer = yield* acceptedSide(serverSides);
    yield* timeout(5000, peer.lost.wait());
    server.close();
    yield* server.waitClosed();
    return { client: client.log, peerLost: peer.log.at(-1) };
  });
  assert.deepEqual(outcome.client, ['connectionMade', 'connectionLost null']);
  assert.match(String(outcome.peerLost), /^connectionLost/);
});

test("run(main, {clock: 'virtual'}) from 'eventide/node' also autojumps: a virtual minute takes no real minute", T, async () => {
  const startedMs = performance.now();
  const elapsedMs = await run(
    function* () {
      const loop = nodeLoop();
      const start = loop.time();
      yield* sleep(60_000);
      return loop.time() - start;
    },
    { clock: 'virtual' },
  );
  assert.equal(elapsedMs, 60_000);
  assert.ok(performance.now() - startedMs < 5000);
});

for (const mode of ['guest', 'blocking'] as const) {
  test(`Node's own APIs keep working while the loop runs (mode '${mode}'): setTimeout, fs.promises, an http server and fetch`, T, async () => {
    const http = createHttpServer((_request, response) => response.end('from node http'));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = http.address() as AddressInfo;
      const outcome = await run(
        function* () {
          const timer = yield* until(new Promise<string>((resolve) => setTimeout(() => resolve('setTimeout'), 5)));
          const text = yield* until(readFile(new URL(import.meta.url), 'utf8'));
          const response = yield* until(fetch(`http://127.0.0.1:${port}/`));
          const body = yield* until(response.text());
          return [timer, text.includes('Node\'s own APIs keep working'), body];
        },
        { mode },
      );
      assert.deepEqual(outcome, ['setTimeout', true, 'from node http']);
    } finally {
      await new Promise((resolve) => http.close(resolve));
    }
  });
}

test(
  'transport.setWriteBufferLimits(high, low) with positional numbers, as asyncio set_write_buffer_limits(high, low) is called',
  T,
  async () => {
    const limits = await run(function* () {
      const { server, transport } = yield* recorderPair(false);
      try {
        (transport.setWriteBufferLimits as unknown as (high: number, low?: number) => void)(1024, 256);
        return transport.getWriteBufferLimits();
      } finally {
        transport.close();
        server.close();
        yield* server.waitClosed();
      }
    });
    assert.deepEqual(limits, [256, 1024]);
  },
);
