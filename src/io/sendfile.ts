/**
 * `loop.sendfile(transport, file)` — asyncio's loop.sendfile: a file sent
 * over a stream socket's transport with sendfile(2), the bytes going from
 * the page cache to the socket without entering this process.
 *
 * How, as asyncio's selector loop does it: the transport is held (see
 * SendfileHold in socket-transport.ts): reading pauses, and `write()` and
 * `writeEof()` refuse with a RuntimeError; what the transport had queued
 * is sent first; then `sockSendfile` (sock.ts) sends the file on the
 * transport's fd, one sendfile(2) per writable tick; then the hold ends,
 * reading resumes if it was on, and writes are accepted again. If the file cannot
 * be sent with sendfile(2) (it is not a regular file), it is read and
 * sent in blocks on the same fd, unless `fallback` is false.
 *
 * If the transport closes meanwhile (the peer reset, or close() / abort()),
 * the task fails with the connection's error (BrokenPipeError when there
 * is none); the transport's protocol hears connectionLost as usual.
 *
 * Any other write transport (a pipe's) takes asyncio's fallback: the file
 * is read in blocks (on libuv's thread pool) and written with the
 * transport's own `write()`, waiting for `resumeWriting` whenever its
 * buffer is above the high water mark. To hear that, the transport's
 * protocol is stood in for by one that passes every call on to it, and
 * put back at the end. With `fallback: false` such a transport is a
 * SendfileNotAvailableError.
 */
import { describe } from '../core/assert.js';
import { CancelledError } from '../core/errors.js';
import type { EventLoop } from '../tasks/event-loop.js';
import type { Future } from '../tasks/future.js';
import type { Coroutine } from '../tasks/operation.js';
import type { Task } from '../tasks/task.js';
import { BrokenPipeError, EPIPE, SendfileNotAvailableError } from './errors.js';
import { checkSendfileArguments, sendfileByReading, sockSendfile, type SendfileOptions } from './sock.js';
import { holdForSendfile, SocketTransport } from './socket-transport.js';
import type { BaseProtocol, WriteTransport } from './transport.js';

/** A write transport whose protocol can be stood in for (every eventide transport). */
type ProtocolHolder = WriteTransport & { getProtocol(): unknown; setProtocol(protocol: never): void };

/**
 * Sends the file `file` (an fd) over `transport` from byte `offset`,
 * `count` bytes or to the file's end; resolves to the bytes sent. Data
 * written to the transport before the call goes out first.
 *
 * @example
 * const file = openSync('video.mp4', 'r');
 * transport.write(Buffer.from(header));
 * const sent = yield* loop.sendfile(transport, file);
 * closeSync(file);
 */
export function sendfile(loop: EventLoop, transport: WriteTransport, file: number, offset = 0, count: number | null = null, options: SendfileOptions = {}): Task<number> {
  const holder = transport as Partial<ProtocolHolder> | null;
  if (typeof holder?.write !== 'function' || typeof holder.getProtocol !== 'function' || typeof holder.setProtocol !== 'function') {
    throw new TypeError(`sendfile: transport must be a write transport (createConnection's, connectWritePipe's, ...), got ${describe(transport)}`);
  }
  checkSendfileArguments(file, offset, count, 'sendfile');
  const name = `sendfile fd ${file} to ${String(transport)}`;
  if (transport instanceof SocketTransport) return loop.createTask(() => sendOverTransport(loop, transport, file, offset, count, options), { name });
  return loop.createTask(() => writeThroughTransport(loop, transport as ProtocolHolder, file, offset, count, options), { name });
}

/** The task: hold, flush, send, release. Taken in the task's first step, so a task cancelled before it runs holds nothing. */
function* sendOverTransport(loop: EventLoop, transport: SocketTransport, file: number, offset: number, count: number | null, options: SendfileOptions): Coroutine<number> {
  const flushed = loop.createFuture<void>();
  flushed.addDoneCallback((f) => void (f.cancelled() || f.exception())); // a cancelled holder leaves it unread
  const hold = holdForSendfile(transport, flushed, 'sendfile');
  let closed = false;
  let sending: Task<number> | null = null;
  hold.onClose = () => {
    closed = true;
    sending?.cancel(); // stops watching the fd before the transport closes it
  };
  try {
    yield* flushed;
    // The flush may have succeeded and the transport closed since (close()
    // with nothing queued): its fd is closed, and the number may already
    // name another file.
    if (closed) throw new BrokenPipeError(EPIPE, 'sendfile', `fd ${transport.fd}: the transport closed before the file was sent`);
    hold.lendFd(); // the transport's writer is done with it
    sending = sockSendfile(loop, transport.fd, file, offset, count, options);
    try {
      return yield* sending;
    } catch (error) {
      if (closed && error instanceof CancelledError) {
        throw new BrokenPipeError(EPIPE, 'sendfile', `fd ${transport.fd}: the transport closed while the file was being sent`);
      }
      throw error;
    }
  } finally {
    hold.release();
  }
}

/**
 * The fallback for transports other than a socket's: blocks read from the
 * file and given to `write()`, waiting for `resumeWriting` while the
 * transport's buffer is over its high water mark.
 */
function* writeThroughTransport(loop: EventLoop, transport: ProtocolHolder, file: number, offset: number, count: number | null, options: SendfileOptions): Coroutine<number> {
  if (options.fallback === false) throw new SendfileNotAvailableError(`sendfile: ${String(transport)} is not a socket transport, and fallback is false`);
  if (transport.isClosing()) throw new BrokenPipeError(EPIPE, 'sendfile', `${String(transport)} is closing`);
  const standIn = new StandInProtocol(loop, transport.getProtocol() as BaseProtocol & Record<string, unknown>);
  transport.setProtocol(standIn as never);
  try {
    return yield* sendfileByReading(file, offset, count, (block) => standIn.writeWhenRoom(transport, block), 'sendfile');
  } finally {
    if (transport.getProtocol() === standIn) transport.setProtocol(standIn.protocol as never);
  }
}

/**
 * Stands in for a transport's protocol while the fallback writes: passes
 * every call on to it, and notes the flow-control calls and the end so the
 * fallback knows when it may write again.
 */
class StandInProtocol {
  /** Pending while the fallback waits for resumeWriting. */
  #room: Future<void> | null = null;
  /** The connection's end: undefined while it lasts, else connectionLost's argument. */
  #lost: Error | null | undefined = undefined;

  constructor(
    readonly loop: EventLoop,
    readonly protocol: BaseProtocol & Record<string, unknown>,
  ) {}

  /** Waits while the transport's buffer is over its high water mark, then writes `block` (the transport copies what it cannot send). */
  *writeWhenRoom(transport: WriteTransport, block: Buffer): Coroutine<void> {
    while (this.#lost === undefined && transport.getWriteBufferSize() > transport.getWriteBufferLimits()[1]) {
      this.#room = this.loop.createFuture<void>();
      yield* this.#room;
    }
    if (this.#lost !== undefined) throw this.#lost ?? new BrokenPipeError(EPIPE, 'sendfile', `${String(transport)}: the transport closed while the file was being sent`);
    transport.write(block);
  }

  connectionMade(transport: unknown): void {
    (this.protocol.connectionMade as ((t: unknown) => void) | undefined)?.call(this.protocol, transport);
  }

  dataReceived(data: Buffer): void {
    (this.protocol['dataReceived'] as ((d: Buffer) => void) | undefined)?.call(this.protocol, data);
  }

  eofReceived(): unknown {
    return (this.protocol['eofReceived'] as (() => unknown) | undefined)?.call(this.protocol);
  }

  pauseWriting(): void {
    this.protocol.pauseWriting?.();
  }

  resumeWriting(): void {
    this.#wake();
    this.protocol.resumeWriting?.();
  }

  connectionLost(exc: Error | null): void {
    this.#lost = exc;
    this.#wake();
    this.protocol.connectionLost?.(exc);
  }

  #wake(): void {
    const room = this.#room;
    this.#room = null;
    if (room !== null && !room.done()) room.setResult();
  }
}
