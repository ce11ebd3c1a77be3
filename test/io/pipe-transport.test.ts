/**
 * Pipe transports (connectReadPipe / connectWritePipe) over real pipes,
 * socketpairs and a child process's stdout: data in order, end of file,
 * back-pressure both ways, the read end closing under the writer, abort,
 * pauseReading, and bad input that throws at the call and leaves the fd
 * the caller's. Every test runs under runIo: no fd leaks, nothing left
 * scheduled, no unexpected exception-handler report.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import fc from 'fast-check';
import type { ExceptionContext } from '../../src/core/base-event-loop.js';
import { RuntimeError } from '../../src/core/errors.js';
import { connectReadPipe, connectWritePipe } from '../../src/io/connect-pipe.js';
import { BrokenPipeError, OSError } from '../../src/io/errors.js';
import type { ReadPipeProtocol, ReadPipeTransport, WritePipeProtocol, WritePipeTransport } from '../../src/io/pipe-transport.js';
import { syscalls as sys } from '../../src/io/syscalls.js';
import { createNodeLoop } from '../../src/hosts/node.js';
import { sleep, until } from '../../src/tasks/operation.js';
import { C, closeAll, openFdCount, pipe, readString, socketpair } from './fds.js';
import { cutIntoPieces, eventually, failure, pattern, runIo } from './net-helpers.js';

const T = { timeout: 30_000 };

/** Records a read pipe's life: 'made', 'eof', 'lost' / 'lost <Error>'; keeps the bytes. */
class Reader implements ReadPipeProtocol {
  transport: ReadPipeTransport | null = null;
  readonly events: string[] = [];
  readonly chunks: Buffer[] = [];
  lost: Error | null | undefined = undefined;

  connectionMade(transport: ReadPipeTransport): void {
    this.transport = transport;
    this.events.push('made');
  }

  dataReceived(data: Buffer): void {
    this.chunks.push(data);
  }

  eofReceived(): void {
    this.events.push('eof');
  }

  connectionLost(exc: Error | null): void {
    this.events.push(exc === null ? 'lost' : `lost ${exc.name}`);
    this.lost = exc;
  }

  get data(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Records a write pipe's life, including 'pause' / 'resume' from flow control. */
class Writer implements WritePipeProtocol {
  transport: WritePipeTransport | null = null;
  readonly events: string[] = [];
  lost: Error | null | undefined = undefined;

  connectionMade(transport: WritePipeTransport): void {
    this.transport = transport;
    this.events.push('made');
  }

  pauseWriting(): void {
    this.events.push('pause');
  }

  resumeWriting(): void {
    this.events.push('resume');
  }

  connectionLost(exc: Error | null): void {
    this.events.push(exc === null ? 'lost' : `lost ${exc.name}`);
    this.lost = exc;
  }
}

/** `length` bytes of a fixed pseudo-random sequence (a linear congruential generator): no two chunks look alike. */
function pseudoRandomBytes(length: number): Buffer {
  const bytes = Buffer.alloc(length);
  let state = 1;
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    bytes[i] = state & 0xff;
  }
  return bytes;
}

/** Whether `fd` is open in this process. */
function isOpen(fd: number): boolean {
  return sys.fcntl(fd, C.F_GETFD, 0) >= 0;
}

test('write pipe to read pipe: the bytes in order; close() flushes, then the reader gets eofReceived and connectionLost(null)', T, async () => {
  await runIo(function* (loop) {
    const [r, w] = pipe();
    const [reader, readerProtocol] = yield* connectReadPipe(loop, () => new Reader(), r);
    const [writer, writerProtocol] = yield* connectWritePipe(loop, () => new Writer(), w);
    assert.deepEqual(readerProtocol.events, ['made'], 'connectReadPipe resolves after connectionMade');
    assert.deepEqual(writerProtocol.events, ['made']);
    assert.equal(reader.getExtraInfo('pipe'), r);
    assert.equal(writer.getExtraInfo('pipe'), w);
    assert.equal(reader.isReading(), true);
    writer.write(Buffer.from('hello '));
    writer.write(new Uint8Array(Buffer.from('pipe')));
    assert.throws(() => writer.writelines([Buffer.from('lost'), 42 as unknown as Buffer]), { name: 'TypeError', message: /^WritePipeTransport\.writelines: list\[1\]: data must be a Buffer/ });
    writer.writelines([Buffer.from(' and'), Buffer.from(' more')]);
    yield* eventually(() => readerProtocol.data.length === 19, 'the bytes');
    assert.equal(readerProtocol.data.toString(), 'hello pipe and more');
    writer.close();
    assert.equal(writer.isClosing(), true);
    yield* eventually(() => readerProtocol.lost !== undefined && writerProtocol.lost !== undefined, 'both ends to be lost');
    assert.deepEqual(writerProtocol.events, ['made', 'lost']);
    assert.deepEqual(readerProtocol.events, ['made', 'eof', 'lost'], 'end of file: eofReceived, then connectionLost(null)');
    assert.equal(reader.isClosing(), true);
    assert.equal(reader.getExtraInfo('pipe', 'gone'), 'gone', 'no fd once closed: the number may be reused');
    assert.equal(isOpen(r), false, 'the read end was closed after connectionLost');
    assert.equal(isOpen(w), false, 'the write end was closed after connectionLost');
  });
});

test('back-pressure both ways: a paused reader fills the pipe, the writer queues and pauses above high, resumes at low; 4 MiB arrive whole', T, async () => {
  await runIo(function* (loop) {
    const [r, w] = pipe();
    const [reader, readerProtocol] = yield* connectReadPipe(loop, () => new Reader(), r);
    const [writer, writerProtocol] = yield* connectWritePipe(loop, () => new Writer(), w);
    writer.setWriteBufferLimits({ high: 256 * 1024, low: 16 * 1024 });
    assert.deepEqual(writer.getWriteBufferLimits(), [16 * 1024, 256 * 1024]);
    reader.pauseReading();
    assert.equal(reader.isReading(), false);
    const payload = pattern(4 * 1024 * 1024);
    for (let offset = 0; offset < payload.length; offset += 64 * 1024) writer.write(payload.subarray(offset, offset + 64 * 1024));
    assert.ok(writer.getWriteBufferSize() > 256 * 1024, 'a pipe holds far less than 4 MiB: the rest is queued');
    assert.deepEqual(writerProtocol.events, ['made', 'pause'], 'pauseWriting once, above the high mark');
    yield* sleep(5);
    assert.equal(readerProtocol.chunks.length, 0, 'nothing is delivered while reading is paused');
    reader.resumeReading();
    yield* eventually(() => readerProtocol.data.length === payload.length, 'all 4 MiB');
    assert.ok(readerProtocol.data.equals(payload), 'in order, nothing lost or doubled');
    assert.deepEqual(writerProtocol.events, ['made', 'pause', 'resume'], 'resumeWriting once, after draining to the low mark');
    assert.equal(writer.getWriteBufferSize(), 0);
    writer.close();
    yield* eventually(() => readerProtocol.lost !== undefined && writerProtocol.lost !== undefined, 'both ends to be lost');
    assert.deepEqual(readerProtocol.events, ['made', 'eof', 'lost']);
  });
});

test('writelines through a pipe: one gathered write, the rest (past IOV_MAX buffers and the pipe\'s 64 KiB) queued from where the kernel stopped, in order', T, async () => {
  await runIo(function* (loop) {
    const [r, w] = pipe();
    const [, readerProtocol] = yield* connectReadPipe(loop, () => new Reader(), r);
    const [writer] = yield* connectWritePipe(loop, () => new Writer(), w);
    const whole = pattern(1024 * 1024 + 3);
    writer.writelines(cutIntoPieces(whole));
    assert.ok(writer.getWriteBufferSize() > 0 && writer.getWriteBufferSize() < whole.length, 'part written at once, the rest queued');
    writer.writelines([Buffer.from('!'), Buffer.from('?')]);
    whole.fill(0);
    yield* eventually(() => readerProtocol.data.length === 1024 * 1024 + 5, 'every byte');
    assert.ok(readerProtocol.data.equals(Buffer.concat([pattern(1024 * 1024 + 3), Buffer.from('!?')])), 'same bytes, same order');
    writer.close();
    yield* eventually(() => readerProtocol.lost !== undefined, 'end of file');
  });
});

test('the read end closing with data still queued: connectionLost(BrokenPipeError), not reported; later writes are dropped', T, async () => {
  await runIo(function* (loop) {
    const [r, w] = pipe();
    const [writer, writerProtocol] = yield* connectWritePipe(loop, () => new Writer(), w);
    writer.write(pattern(1024 * 1024)); // fills the pipe: most of it is queued
    assert.ok(writer.getWriteBufferSize() > 0);
    closeAll(r);
    yield* eventually(() => writerProtocol.lost !== undefined, 'the writer to notice');
    assert.deepEqual(writerProtocol.events, ['made', 'pause', 'lost BrokenPipeError']);
    assert.ok(writerProtocol.lost instanceof BrokenPipeError);
    assert.match(String(writerProtocol.lost?.message), /the read end closed with \d+ bytes unwritten/);
    assert.equal(writer.getWriteBufferSize(), 0, 'the queue was dropped');
    writer.write(Buffer.from('dropped')); // the pipe is gone: dropped, as asyncio does
    assert.equal(writer.getWriteBufferSize(), 0);
  });
});

test('the read end closing with nothing queued: the writer is told at once (no write needed), connectionLost(null)', T, async () => {
  await runIo(function* (loop) {
    const [r, w] = pipe();
    const [, writerProtocol] = yield* connectWritePipe(loop, () => new Writer(), w);
    closeAll(r);
    yield* eventually(() => writerProtocol.lost !== undefined, 'the writer to notice');
    assert.deepEqual(writerProtocol.events, ['made', 'lost']);
  });
});

test('abort() drops what is queued: connectionLost(null) on the next tick, the reader sees end of file after fewer bytes', T, async () => {
  await runIo(function* (loop) {
    const [r, w] = pipe();
    const [, readerProtocol] = yield* connectReadPipe(loop, () => new Reader(), r);
    const [writer, writerProtocol] = yield* connectWritePipe(loop, () => new Writer(), w);
    readerProtocol.transport?.pauseReading();
    writer.write(pattern(1024 * 1024));
    const queued = writer.getWriteBufferSize();
    assert.ok(queued > 0);
    writer.abort();
    assert.equal(writer.getWriteBufferSize(), 0);
    assert.deepEqual(writerProtocol.events, ['made', 'pause'], 'connectionLost is not called inside abort()');
    assert.throws(() => writer.write(Buffer.from('x')), RuntimeError, 'a write after the user aborted is a bug');
    readerProtocol.transport?.resumeReading();
    yield* eventually(() => readerProtocol.lost !== undefined, 'the reader to see end of file');
    assert.deepEqual(writerProtocol.events, ['made', 'pause', 'lost']);
    assert.equal(readerProtocol.data.length, 1024 * 1024 - queued, 'exactly what the pipe had taken before the abort');
    assert.ok(readerProtocol.data.equals(pattern(1024 * 1024).subarray(0, 1024 * 1024 - queued)));
  });
});

test("a child process's stdout through connectReadPipe: its output, then end of file when it exits", T, async () => {
  await runIo(function* (loop) {
    const [r, w] = pipe();
    const child = spawn('/bin/sh', ['-c', 'printf "line one\\n"; printf "line two\\n"'], { stdio: ['ignore', w, 'inherit'] });
    closeAll(w); // the child has its own copy; the reader sees end of file when that one closes
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const [, readerProtocol] = yield* connectReadPipe(loop, () => new Reader(), r);
    yield* eventually(() => readerProtocol.lost !== undefined, 'end of file');
    assert.equal(readerProtocol.data.toString(), 'line one\nline two\n');
    assert.deepEqual(readerProtocol.events, ['made', 'eof', 'lost']);
    assert.equal(yield* until(exited), 0);
  });
});

test("a pipe transport's fd is its own: addReader & co. refuse it with a RuntimeError naming the transport until it is closed", T, async () => {
  await runIo(function* (loop) {
    const [r, w] = pipe();
    const [reader, readerProtocol] = yield* connectReadPipe(loop, () => new Reader(), r);
    const [writer, writerProtocol] = yield* connectWritePipe(loop, () => new Writer(), w);
    const noop = (): void => {};
    assert.throws(() => loop.addReader(r, noop), (e: unknown) => e instanceof RuntimeError && e.message === `addReader: file descriptor ${r} is used by transport <ReadPipeTransport fd=${r} open>`);
    assert.throws(() => loop.removeWriter(w), (e: unknown) => e instanceof RuntimeError && e.message === `removeWriter: file descriptor ${w} is used by transport <WritePipeTransport fd=${w} open>`);
    writer.write(Buffer.from('ok'));
    writer.close();
    yield* eventually(() => readerProtocol.lost !== undefined && writerProtocol.lost !== undefined, 'both ends to be lost');
    assert.equal(readerProtocol.data.toString(), 'ok');
    assert.deepEqual([loop.removeReader(r), loop.removeWriter(w), reader.isClosing()], [false, false, true]);
  });
});

test('a protocol factory that returns no protocol: a TypeError naming it; the pipe stays open and the caller\'s, as when the factory throws', T, async () => {
  await runIo(function* (loop) {
    const [r, w] = pipe();
    const error = yield* failure(connectReadPipe(loop, () => undefined as unknown as Reader, r));
    assert.ok(error instanceof TypeError && error.message === 'connectReadPipe: protocolFactory must return a protocol object, got undefined', String(error));
    const thrown = yield* failure(connectWritePipe(loop, () => { throw new RangeError('no'); }, w));
    assert.ok(thrown instanceof RangeError);
    assert.deepEqual([isOpen(r), isOpen(w)], [true, true]);
    closeAll(r, w);
  });
});

test('a socketpair works as a pipe both ways (read end and write end)', T, async () => {
  await runIo(function* (loop) {
    const [a, b] = socketpair();
    const [, readerProtocol] = yield* connectReadPipe(loop, () => new Reader(), a);
    const [writer, writerProtocol] = yield* connectWritePipe(loop, () => new Writer(), b);
    writer.write(Buffer.from('over a socket'));
    writer.close();
    yield* eventually(() => readerProtocol.lost !== undefined && writerProtocol.lost !== undefined, 'both ends to be lost');
    assert.equal(readerProtocol.data.toString(), 'over a socket');
    assert.deepEqual(readerProtocol.events, ['made', 'eof', 'lost']);
    assert.deepEqual(writerProtocol.events, ['made', 'lost']);
  });
});

test('bad input throws at the call and leaves the fd open and the caller\'s; the loop goes on', T, async () => {
  const file = join(tmpdir(), `eventide-pipe-${process.pid}.txt`);
  const regular = openSync(file, 'w');
  try {
    await runIo(function* (loop) {
      assert.throws(() => connectReadPipe(loop, () => new Reader(), regular), {
        name: 'TypeError',
        message: `connectReadPipe: fd ${regular} is a regular file; pipe transports are for pipes, sockets and character devices (epoll cannot watch a regular file)`,
      });
      assert.equal(isOpen(regular), true, 'a refused fd stays open: it is still the caller\'s');
      const [r, w] = pipe();
      closeAll(r, w);
      assert.throws(() => connectWritePipe(loop, () => new Writer(), w), (error: unknown) => error instanceof OSError && error.code === 'EBADF' && error.syscall === 'fstat');
      assert.throws(() => connectReadPipe(loop, 'not a factory' as never, 0), { name: 'TypeError', message: /connectReadPipe: protocolFactory/ });
      assert.throws(() => connectReadPipe(loop, () => new Reader(), -1), { name: 'TypeError', message: /connectReadPipe: pipe/ });
      assert.throws(() => connectWritePipe(loop, () => new Writer(), 1.5 as never), { name: 'TypeError', message: /connectWritePipe: pipe/ });
      // The loop still works.
      const [r2, w2] = pipe();
      const [writer] = yield* connectWritePipe(loop, () => new Writer(), w2);
      assert.throws(() => writer.write('text' as never), { name: 'TypeError', message: /WritePipeTransport.write: data must be a Buffer, TypedArray or DataView, got a string/ });
      writer.write(Buffer.from('ok'));
      assert.equal(readString(r2), 'ok');
      writer.close();
      assert.throws(() => writer.write(Buffer.from('late')), RuntimeError);
      yield* sleep(0);
      closeAll(r2);
    });
  } finally {
    closeSync(regular);
  }
});

test('a connectionMade that throws: the task fails with its error, the error is reported, the fd is closed', T, async () => {
  const exceptions: ExceptionContext[] = [];
  const fdsBefore = openFdCount();
  await runIo(
    function* (loop) {
      const [r, w] = pipe();
      const boom = new Error('boom in connectionMade');
      const error = yield* failure(connectReadPipe(loop, () => ({ connectionMade: () => { throw boom; } }), r));
      assert.equal(error, boom);
      yield* sleep(0);
      assert.equal(isOpen(r), false, 'the transport took the fd and closed it');
      closeAll(w);
    },
    { exceptions },
  );
  assert.deepEqual(exceptions.map((c) => c.message), ['protocol.connectionMade() failed']);
  assert.equal(openFdCount(), fdsBefore);
});

test('pauseReading inside connectionMade: nothing is read until resumeReading()', T, async () => {
  await runIo(function* (loop) {
    const [r, w] = pipe();
    sys.write(w, Buffer.from('waiting'), 0, 7);
    class PausedReader extends Reader {
      override connectionMade(transport: ReadPipeTransport): void {
        super.connectionMade(transport);
        transport.pauseReading();
      }
    }
    const [reader, protocol] = yield* connectReadPipe(loop, () => new PausedReader(), r);
    yield* sleep(5);
    assert.equal(protocol.chunks.length, 0);
    reader.resumeReading();
    yield* eventually(() => protocol.data.length === 7, 'the waiting bytes');
    assert.equal(protocol.data.toString(), 'waiting');
    reader.close();
    yield* eventually(() => protocol.lost !== undefined, 'connectionLost');
    assert.deepEqual(protocol.events, ['made', 'lost'], 'close() is not end of file: no eofReceived');
    closeAll(w);
  });
});

test('a character device epoll cannot poll (/dev/null): the task fails with PermissionError, the transport closes the fd it took', T, async () => {
  const exceptions: ExceptionContext[] = [];
  await runIo(
    function* (loop) {
      const devNull = openSync('/dev/null', 'r');
      const error = yield* failure(connectReadPipe(loop, () => new Reader(), devNull));
      assert.equal((error as OSError).name, 'PermissionError');
      assert.equal((error as OSError).code, 'EPERM');
      yield* sleep(0);
      assert.equal(isOpen(devNull), false, 'closed by the transport, after connectionLost');
    },
    { exceptions },
  );
  // The caller got the error; an OSError goes to the exception handler only
  // in debug mode (errors.ts reportsFatalError, as asyncio's _fatal_error).
  assert.deepEqual(exceptions, []);
});

test('property: any mix of write sizes, water marks and reader pauses delivers exactly the bytes written, in order, with pause/resume paired', T, async () => {
  const scenario = fc.record({
    chunks: fc.array(fc.integer({ min: 1, max: 200_000 }), { minLength: 1, maxLength: 12 }),
    high: fc.integer({ min: 1, max: 300_000 }),
    pauses: fc.array(fc.integer({ min: 0, max: 11 }), { maxLength: 4 }),
  });
  await fc.assert(
    fc.asyncProperty(scenario, async ({ chunks, high, pauses }) => {
      await runIo(function* (loop) {
        const [r, w] = pipe();
        const [reader, readerProtocol] = yield* connectReadPipe(loop, () => new Reader(), r);
        const [writer, writerProtocol] = yield* connectWritePipe(loop, () => new Writer(), w);
        writer.setWriteBufferLimits({ high, low: Math.floor(high / 4) });
        const expected = pseudoRandomBytes(chunks.reduce((sum, size) => sum + size, 0));
        let offset = 0;
        for (const [index, size] of chunks.entries()) {
          if (pauses.includes(index)) reader.pauseReading();
          const chunk = Buffer.from(expected.subarray(offset, offset + size));
          offset += size;
          writer.write(chunk);
          chunk.fill(0); // the caller reuses its buffer: the transport must have copied what it queued
          yield* sleep(0);
          if (pauses.includes(index)) reader.resumeReading();
        }
        writer.close();
        yield* eventually(() => readerProtocol.lost !== undefined && writerProtocol.lost !== undefined, 'both ends to be lost', 20_000);
        assert.equal(readerProtocol.data.length, expected.length);
        assert.ok(readerProtocol.data.equals(expected), 'exactly the bytes written, in order');
        const flow = writerProtocol.events.filter((e) => e === 'pause' || e === 'resume');
        assert.ok(flow.every((e, i) => e === (i % 2 === 0 ? 'pause' : 'resume')), `pause/resume alternate: ${flow.join(',')}`);
        if (flow.length > 0) assert.equal(flow.at(-1), 'resume', 'the queue drained: the last pause was resumed');
        assert.deepEqual(readerProtocol.events, ['made', 'eof', 'lost']);
        assert.equal(writerProtocol.events.at(-1), 'lost');
      });
    }),
    { numRuns: 15 },
  );
});

test('writes to a lost pipe are dropped, and the loop logger warns once, at the fifth', T, async () => {
  const warnings: string[] = [];
  const logger = { warn: (text: string) => void warnings.push(text), error: (text: string) => void warnings.push(`error: ${text}`) };
  const loop = createNodeLoop({ logger });
  try {
    await loop.runUntilComplete(
      loop.createTask(function* () {
        const [r, w] = pipe();
        const [writer, protocol] = yield* connectWritePipe(loop, () => new Writer(), w);
        closeAll(r);
        yield* eventually(() => protocol.lost !== undefined, 'the writer to notice');
        for (let i = 0; i < 7; i++) writer.write(Buffer.from('dropped'));
        assert.equal(writer.getWriteBufferSize(), 0);
      }),
    );
  } finally {
    loop.close();
  }
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] as string, /^eventide: <WritePipeTransport fd=\d+ closed>: writing to a closed pipe \(the data is dropped; see connectionLost\)$/);
});
