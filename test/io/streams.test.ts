/**
 * Streams over real sockets: openConnection / startServer echo,
 * StreamReader's read / readExactly / readLine / readUntil with EOF and
 * limit errors, drain() back-pressure, half-close, errors from the peer,
 * and the reader's own rules (one waiter, flow control), fed by hand.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { CancelledError, RuntimeError } from '../../src/core/errors.js';
import { ConnectionResetError } from '../../src/io/errors.js';
import { IncompleteReadError, LimitOverrunError, StreamReader } from '../../src/io/stream-reader.js';
import type { StreamWriter } from '../../src/io/stream-writer.js';
import { openConnection, openUnixConnection, startServer, startUnixServer, type ClientConnectedCallback } from '../../src/io/streams.js';
import type { SocketTransport } from '../../src/io/socket-transport.js';
import type { ReadTransport } from '../../src/io/transport.js';
import { describeTask } from '../../src/inspect/task-info.js';
import { formatTaskTree } from '../../src/inspect/task-tree.js';
import { sleep, type Coroutine } from '../../src/tasks/operation.js';
import { eventually, failure, pattern, runIo } from './net-helpers.js';

const T = { timeout: 30_000 };

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

test('streams echo: startServer with a generator callback, openConnection, readLine, EOF ends the server task', T, async () => {
  await runIo(function* () {
    const server = yield* startServer(echoLines, '127.0.0.1', 0);
    const [, port] = server.addresses()[0] as [string, number];
    const [reader, writer] = yield* openConnection('127.0.0.1', port);
    for (const text of ['one\n', 'two\n', 'three\n']) {
      writer.write(Buffer.from(text));
      yield* writer.drain();
      assert.equal((yield* reader.readLine()).toString(), text);
    }
    assert.throws(() => writer.writelines([Buffer.from('never\n'), 'sent\n' as unknown as Buffer]), { name: 'TypeError', message: /^SocketTransport\.writelines: list\[1\]/ });
    writer.writelines([Buffer.from('fo'), Buffer.from('ur\n')]);
    assert.equal((yield* reader.readLine()).toString(), 'four\n', 'the failed writelines sent nothing');
    writer.writeEof();
    assert.equal((yield* reader.read()).length, 0, 'the server closed after our EOF');
    assert.equal(reader.atEof(), true);
    writer.close();
    yield* writer.waitClosed();
    server.close();
    yield* server.waitClosed();
  });
});

test('readExactly, readUntil and read(n) over a socket; a partial last record is an IncompleteReadError', T, async () => {
  await runIo(function* () {
    const server = yield* startServer(function* (_reader, writer) {
      writer.write(Buffer.from('HEAD'));
      writer.write(Buffer.from([0, 0, 0, 5]));
      writer.write(Buffer.from('hello'));
      writer.write(Buffer.from('key: value\r\n\r\nrest'));
      writer.close();
    }, '127.0.0.1', 0);
    const [, port] = server.addresses()[0] as [string, number];
    const [reader, writer] = yield* openConnection('127.0.0.1', port);
    assert.equal((yield* reader.readExactly(4)).toString(), 'HEAD');
    const length = (yield* reader.readExactly(4)).readUInt32BE(0);
    assert.equal((yield* reader.readExactly(length)).toString(), 'hello');
    assert.equal((yield* reader.readUntil('\r\n\r\n')).toString(), 'key: value\r\n\r\n');
    const error = yield* failure(reader.readExactly(10));
    assert.ok(error instanceof IncompleteReadError);
    assert.equal(error.partial.toString(), 'rest');
    assert.equal(error.expected, 10);
    assert.equal((yield* reader.read(100)).length, 0);
    writer.close();
    server.close();
    yield* server.waitClosed();
  });
});

test('drain() waits while the peer does not read, and resumes when it does (back-pressure through streams)', T, async () => {
  await runIo(function* (loop) {
    let serverReader: StreamReader | null = null;
    const server = yield* startServer((reader) => void (serverReader = reader), '127.0.0.1', 0, { limit: 1024 });
    const [, port] = server.addresses()[0] as [string, number];
    const [reader, writer] = yield* openConnection('127.0.0.1', port);
    const total = 32 * 1024 * 1024;
    const writing = loop.createTask(function* (): Coroutine<void> {
      const block = pattern(1024 * 1024);
      for (let sent = 0; sent < total; sent += block.length) {
        writer.write(block);
        yield* writer.drain();
        assert.ok(writer.transport.getWriteBufferSize() <= 64 * 1024, 'drain() returns only below the high mark');
      }
      writer.writeEof();
    });
    yield* sleep(50);
    assert.equal(writing.done(), false, 'the writer is parked in drain()');
    assert.ok(writer.transport.getWriteBufferSize() > 64 * 1024, 'with its buffer above the high mark');
    const peer = serverReader as unknown as StreamReader;
    let received = 0;
    for (;;) {
      const chunk = yield* peer.read(1 << 20);
      if (chunk.length === 0) break;
      received += chunk.length;
    }
    yield* writing;
    assert.equal(received, total);
    writer.close();
    yield* writer.waitClosed();
    assert.equal(reader.atEof(), true, 'the server closed when we did');
    server.close();
    server.closeClients();
    yield* server.waitClosed();
  });
});

test('half-close with streams: writeEof, the server reads to EOF and still answers', T, async () => {
  await runIo(function* () {
    const server = yield* startServer(function* (reader, writer) {
      const all = yield* reader.read();
      writer.write(Buffer.from(`${all.length} bytes`));
      writer.close();
    }, '127.0.0.1', 0);
    const [, port] = server.addresses()[0] as [string, number];
    const [reader, writer] = yield* openConnection('127.0.0.1', port);
    assert.equal(writer.canWriteEof(), true);
    writer.write(pattern(300_000));
    writer.writeEof();
    assert.equal((yield* reader.read()).toString(), '300000 bytes');
    writer.close();
    yield* writer.waitClosed();
    server.close();
    yield* server.waitClosed();
  });
});

test('a peer reset reaches the reader as ConnectionResetError; drain() then throws', T, async () => {
  await runIo(function* () {
    const server = yield* startServer((_reader, writer) => writer.transport.abort(), '127.0.0.1', 0);
    const [, port] = server.addresses()[0] as [string, number];
    const [reader, writer] = yield* openConnection('127.0.0.1', port);
    writer.write(Buffer.from('unread')); // unread at the server's close: it resets
    yield* sleep(20);
    const error = yield* failure((function* () {
      for (let i = 0; i < 200; i++) {
        writer.write(pattern(64 * 1024));
        yield* writer.drain();
        yield* sleep(1);
      }
      yield* reader.read();
    })());
    assert.ok(error instanceof ConnectionResetError || (error as Error).name === 'BrokenPipeError', String(error));
    const again = yield* failure(writer.drain());
    assert.ok(again instanceof Error);
    writer.close();
    const closed = yield* failure(writer.waitClosed());
    assert.ok(closed instanceof Error);
    server.close();
    yield* server.waitClosed();
  });
});

test('a client callback that throws is reported and its connection closed', T, async () => {
  const exceptions: { message: string; exception?: unknown }[] = [];
  await runIo(function* () {
    const server = yield* startServer(function* (reader) {
      yield* reader.readLine();
      throw new Error('handler bug');
    }, '127.0.0.1', 0);
    const [, port] = server.addresses()[0] as [string, number];
    const [reader, writer] = yield* openConnection('127.0.0.1', port);
    writer.write(Buffer.from('go\n'));
    assert.equal((yield* reader.read()).length, 0, 'the server closed the connection');
    writer.close();
    server.close();
    yield* server.waitClosed();
  }, { exceptions: exceptions as never });
  assert.deepEqual(exceptions.map((c) => [c.message, String(c.exception)]), [['Unhandled exception in client_connected_cb', 'Error: handler bug']]);
});

test('an async client callback runs as a task: its rejection is reported and the connection closed, never an unhandledRejection; a plain callback that throws is reported alike', T, async () => {
  const exceptions: { message: string; exception?: unknown; transport?: unknown }[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    await runIo(function* () {
      const callbacks: ClientConnectedCallback[] = [
        async () => {
          await new Promise((resolve) => setTimeout(resolve, 1));
          throw new Error('async handler bug');
        },
        () => {
          throw new Error('sync handler bug');
        },
        async (_reader, writer) => {
          await new Promise((resolve) => setTimeout(resolve, 1));
          writer.write(Buffer.from('served\n'));
          writer.close();
        },
      ];
      const server = yield* startServer((reader, writer) => (callbacks.shift() as ClientConnectedCallback)(reader, writer), '127.0.0.1', 0);
      const [, port] = server.addresses()[0] as [string, number];
      for (const expected of ['', '', 'served\n']) {
        const [reader, writer] = yield* openConnection('127.0.0.1', port);
        assert.equal((yield* reader.read()).toString(), expected);
        assert.equal((yield* reader.read()).length, 0, 'the server closed the connection');
        writer.close();
        yield* writer.waitClosed();
      }
      yield* sleep(1); // a rejection not handled would be reported by now
      server.close();
      yield* server.waitClosed();
    }, { exceptions: exceptions as never });
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  assert.deepEqual(exceptions.map((c) => [c.message, String(c.exception), String(c.transport).startsWith('<SocketTransport')]), [
    ['Unhandled exception in client_connected_cb', 'Error: async handler bug', true],
    ['Unhandled exception in client_connected_cb', 'Error: sync handler bug', true],
  ]);
  assert.deepEqual(unhandled, []);
});

test('task introspection names I/O waits: StreamReader.read / readExactly / readLine / readUntil on fd N, drain fd N', T, async () => {
  await runIo(function* (loop) {
    const server = yield* startServer(() => {}, '127.0.0.1', 0); // never reads, never writes
    const [, port] = server.addresses()[0] as [string, number];
    const [reader, writer] = yield* openConnection('127.0.0.1', port);
    const fd = (writer.transport as SocketTransport).fd;
    const reads: [string, () => Coroutine<unknown>][] = [
      ['read', () => reader.read(10)],
      ['readExactly', () => reader.readExactly(4)],
      ['readLine', () => reader.readLine()],
      ['readUntil', () => reader.readUntil('\r\n')],
    ];
    for (const [name, read] of reads) {
      const task = loop.createTask(read, { name: `reading-${name}` });
      yield* sleep(1);
      assert.equal(describeTask(task).waitingOn?.label, `StreamReader.${name} on fd ${fd}`);
      assert.match(formatTaskTree(loop), new RegExp(`reading-${name} #${task.id} \\(waiting on StreamReader\\.${name} on fd ${fd}\\)`));
      task.cancel();
      yield* sleep(0);
    }
    // The server does not read: fill the kernel's buffers until ours keeps some (writing stays paused).
    const block = pattern(1024 * 1024);
    while (writer.transport.getWriteBufferSize() === 0) {
      writer.write(block);
      yield* sleep(2);
    }
    const draining = loop.createTask(() => writer.drain(), { name: 'draining' });
    yield* sleep(1);
    assert.equal(describeTask(draining).waitingOn?.label, `drain fd ${fd}`);
    draining.cancel();
    writer.transport.abort();
    yield* writer.waitClosed();
    server.close();
    server.abortClients();
    yield* server.waitClosed();
  });
});

test('streams over Unix sockets', T, async () => {
  const path = `\0eventide-streams-${process.pid}`;
  await runIo(function* () {
    const server = yield* startUnixServer(echoLines, path);
    const [reader, writer] = yield* openUnixConnection(path);
    writer.write(Buffer.from('over unix\n'));
    assert.equal((yield* reader.readLine()).toString(), 'over unix\n');
    writer.close();
    yield* writer.waitClosed();
    server.close();
    yield* server.waitClosed();
  });
});

test('openConnection / openUnixConnection cancelled at any tick while connecting: either it returns the streams or no connection is left open', T, async () => {
  const path = `\0eventide-streams-cancel-${process.pid}`;
  await runIo(function* (loop) {
    let open = 0;
    const track: ClientConnectedCallback = function* (reader, writer) {
      open++;
      try {
        yield* reader.read(); // until the client's side closes
      } finally {
        open--;
        writer.close();
      }
    };
    const tcp = yield* startServer(track, '127.0.0.1', 0);
    const unix = yield* startUnixServer(track, path);
    const [, port] = tcp.addresses()[0] as [string, number];
    for (const connect of [() => openConnection('127.0.0.1', port), () => openUnixConnection(path)]) {
      // Cancel after 0, 1, 2, ... loop iterations: one of them lands in the tick where the connection is made.
      for (let ticks = 0; ticks < 40; ticks++) {
        const opening = connect();
        let left = ticks;
        const countDown = (): void => {
          if (opening.done()) return; // connected (or failed) first: nothing left to cancel, and no chain left behind
          if (left-- === 0) opening.cancel();
          else loop.callSoon(countDown);
        };
        loop.callSoon(countDown);
        try {
          const [, writer] = yield* opening;
          writer.close();
          yield* writer.waitClosed();
        } catch (error) {
          assert.ok(error instanceof CancelledError, `cancelled ${ticks} ticks in: ${String(error)}`);
        }
        yield* eventually(() => open === 0, `no connection left open after a cancel ${ticks} ticks in`);
      }
    }
    tcp.close();
    unix.close();
    yield* tcp.waitClosed();
    yield* unix.waitClosed();
  });
});

// ---------------------------------------------- StreamReader, fed by hand

class FakeTransport implements Pick<ReadTransport, 'pauseReading' | 'resumeReading'> {
  readonly log: string[] = [];
  pauseReading(): void {
    this.log.push('pause');
  }
  resumeReading(): void {
    this.log.push('resume');
  }
}

test('StreamReader: readUntil waits across chunks; limit overruns throw LimitOverrunError with consumed', T, async () => {
  await runIo(function* (loop) {
    const reader = new StreamReader({ limit: 8, loop });
    const got = loop.createTask(() => reader.readUntil('\r\n'));
    yield* sleep(0);
    reader.feedData(Buffer.from('ab\r'));
    yield* sleep(0);
    assert.equal(got.done(), false, 'a separator split across chunks is not found early');
    reader.feedData(Buffer.from('\ncd'));
    assert.equal((yield* got).toString(), 'ab\r\n');

    reader.feedData(Buffer.from('efghijklmn\n')); // 'cdefghijklmn\n': the separator comes after 12 bytes
    const found = yield* failure(reader.readUntil('\n'));
    assert.ok(found instanceof LimitOverrunError);
    assert.equal(found.consumed, 12);
    assert.equal(reader.bufferedBytes, 13, 'readUntil consumes nothing on overrun');
    const line = yield* failure(reader.readLine());
    assert.ok(line instanceof LimitOverrunError);
    assert.equal(reader.bufferedBytes, 0, 'readLine discards the long line');

    reader.feedData(Buffer.from('0123456789'));
    const notFound = yield* failure(reader.readUntil('\n'));
    assert.ok(notFound instanceof LimitOverrunError && /not found/.test(notFound.message));
    assert.equal(notFound.consumed, 10);
    assert.equal((yield* reader.readExactly(6)).toString(), '012345', 'the caller decides what to skip');
    reader.feedEof();
    const rest = yield* failure(reader.readUntil('\n'));
    assert.ok(rest instanceof IncompleteReadError);
    assert.equal(rest.partial.toString(), '6789');
    assert.equal(rest.expected, null);
    assert.equal(rest.message, '4 bytes read, and the stream ended before the separator');
    assert.equal(reader.atEof(), true);
    assert.equal((yield* reader.readLine()).length, 0, 'readLine at EOF is empty');
  });
});

test('StreamReader: readUntil with several separators (asyncio 3.13) gives the shortest read ending in any of them, across chunks and within the limit', T, async () => {
  await runIo(function* (loop) {
    const reader = new StreamReader({ limit: 8, loop });
    reader.feedData(Buffer.from('one\r\ntwo\nthree|'));
    const endings = ['\n', '\r\n'];
    assert.equal((yield* reader.readUntil(endings)).toString(), 'one\r\n', 'the \\r\\n line: its end comes first');
    assert.equal((yield* reader.readUntil(endings)).toString(), 'two\n');
    assert.equal((yield* reader.readUntil(['|', Buffer.from('ee')])).toString(), 'three', "'ee' ends before '|'");
    assert.equal((yield* reader.readUntil(['|', 'x'])).toString(), '|');

    // Only the longest separator decides how far back a split one may start: 'END' split as 'E' + 'ND'.
    const got = loop.createTask(() => reader.readUntil(['END', '!']));
    yield* sleep(0);
    reader.feedData(Buffer.from('abcE'));
    yield* sleep(0);
    assert.equal(got.done(), false);
    reader.feedData(Buffer.from('ND!'));
    assert.equal((yield* got).toString(), 'abcEND');
    assert.equal((yield* reader.readUntil(['!'])).toString(), '!');

    // The limit counts from where the match that ended first starts.
    reader.feedData(Buffer.from('0123456789;;'));
    const over = yield* failure(reader.readUntil([';;', ';']));
    assert.ok(over instanceof LimitOverrunError && /is found/.test(over.message));
    assert.equal(over.consumed, 10);
    assert.equal(reader.bufferedBytes, 12, 'nothing consumed');
    yield* reader.readExactly(12);
    reader.feedData(Buffer.from('0123456789'));
    const notFound = yield* failure(reader.readUntil(['\n', '\r\n']));
    assert.ok(notFound instanceof LimitOverrunError && /not found/.test(notFound.message));
    assert.equal(notFound.consumed, 9, 'the longest separator (2 bytes) could still start at byte 9');
    yield* reader.readExactly(10);

    assert.ok((yield* failure(reader.readUntil([]))) instanceof RangeError);
    const bad = yield* failure(reader.readUntil(['\n', 7 as unknown as string]));
    assert.ok(bad instanceof TypeError);
    assert.equal(bad.message, 'readUntil: separator[1] must be a string or bytes, got 7');
    const empty = yield* failure(reader.readUntil(['\n', '']));
    assert.ok(empty instanceof RangeError);
    assert.equal(empty.message, 'readUntil: separator[1] must be at least one byte');
  });
});

test('StreamReader: read(-1) reads to EOF; read(0) is empty; readLine returns a last line without newline', T, async () => {
  await runIo(function* (loop) {
    const reader = new StreamReader({ loop });
    const all = loop.createTask(() => reader.read());
    for (const part of ['a', 'bc', 'def']) {
      yield* sleep(0);
      reader.feedData(Buffer.from(part));
    }
    reader.feedEof();
    assert.equal((yield* all).toString(), 'abcdef');
    assert.equal((yield* reader.read(0)).length, 0);

    const lines = new StreamReader({ loop });
    lines.feedData(Buffer.from('x\ny'));
    lines.feedEof();
    assert.equal((yield* lines.readLine()).toString(), 'x\n');
    assert.equal((yield* lines.readLine()).toString(), 'y');
    assert.equal((yield* lines.readLine()).toString(), '');
  });
});

test('StreamReader: two tasks reading at once is a RuntimeError; setException wakes the reader with it', T, async () => {
  await runIo(function* (loop) {
    const reader = new StreamReader({ loop });
    const first = loop.createTask(() => reader.read(10));
    yield* sleep(0);
    const second = yield* failure(reader.read(10));
    assert.ok(second instanceof RuntimeError && /already waiting/.test(second.message));
    const boom = new Error('boom');
    reader.setException(boom);
    assert.equal(yield* failure(first), boom);
    assert.equal(yield* failure(reader.readExactly(1)), boom, 'and every later read throws it');
  });
});

test('StreamReader: pauses its transport above 2 x limit and resumes at limit; a big readExactly resumes it', T, async () => {
  await runIo(function* (loop) {
    const reader = new StreamReader({ limit: 10, loop });
    const transport = new FakeTransport();
    reader.setTransport(transport as unknown as ReadTransport);
    reader.feedData(Buffer.alloc(20));
    assert.deepEqual(transport.log, []);
    reader.feedData(Buffer.alloc(1));
    assert.deepEqual(transport.log, ['pause'], 'more than 2 x limit buffered');
    yield* reader.readExactly(5);
    assert.deepEqual(transport.log, ['pause'], '16 bytes left: still above the limit');
    yield* reader.readExactly(6);
    assert.deepEqual(transport.log, ['pause', 'resume'], 'back to the limit');
    reader.feedData(Buffer.alloc(20));
    assert.deepEqual(transport.log, ['pause', 'resume', 'pause']);
    const big = loop.createTask(() => reader.readExactly(100));
    yield* sleep(0);
    assert.deepEqual(transport.log, ['pause', 'resume', 'pause', 'resume'], 'a read that needs more resumes reading');
    reader.feedData(Buffer.alloc(70));
    assert.equal((yield* big).length, 100);
    assert.throws(() => reader.setTransport(transport as unknown as ReadTransport), RuntimeError);
  });
});

test('StreamReader: bad arguments', T, async () => {
  await runIo(function* (loop) {
    assert.throws(() => new StreamReader({ limit: 0 }), RangeError);
    const reader = new StreamReader({ loop });
    assert.ok((yield* failure(reader.readExactly(-1))) instanceof RangeError);
    assert.ok((yield* failure(reader.read(1.5))) instanceof RangeError);
    assert.ok((yield* failure(reader.readUntil(''))) instanceof RangeError);
    assert.ok((yield* failure(reader.readUntil(5 as unknown as string))) instanceof TypeError);
    reader.feedEof();
    assert.throws(() => reader.feedData(Buffer.from('late')), RuntimeError);
  });
});

test('a bad limit is refused at the call by startServer, startUnixServer, openConnection and openUnixConnection: no socket is opened, nothing reported', T, async () => {
  await runIo(function* () {
    const handler = function* (): Coroutine<void> {};
    const path = `/tmp/eventide-streams-limit-${process.pid}.sock`;
    assert.throws(() => startServer(handler, '127.0.0.1', 0, { limit: -1 }), { name: 'RangeError', message: 'startServer: limit must be a positive integer, got -1' });
    assert.throws(() => startServer(handler, '127.0.0.1', 0, { limit: 1.5 }), { name: 'RangeError', message: 'startServer: limit must be a positive integer, got 1.5' });
    assert.throws(() => startUnixServer(handler, path, { limit: 0 }), { name: 'RangeError', message: 'startUnixServer: limit must be a positive integer, got 0' });
    assert.throws(() => openConnection('127.0.0.1', 1, { limit: 0 }), { name: 'RangeError', message: 'openConnection: limit must be a positive integer, got 0' });
    assert.throws(() => openUnixConnection(path, { limit: -5 }), { name: 'RangeError', message: 'openUnixConnection: limit must be a positive integer, got -5' });
    assert.throws(() => startUnixServer(null as unknown as ClientConnectedCallback, path), { name: 'TypeError', message: 'startUnixServer: clientConnected must be a function, got object' });
  });
});

test('eventually() helper guard: a stream that never gets data times out instead of hanging', T, async () => {
  await runIo(function* (loop) {
    const reader = new StreamReader({ loop });
    const error = yield* failure(eventually(() => reader.bufferedBytes > 0, 'data that never comes', 20));
    assert.match(String(error), /timed out/);
  });
});
