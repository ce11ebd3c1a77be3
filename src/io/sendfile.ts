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
 */
import { describe } from '../core/assert.js';
import { CancelledError } from '../core/errors.js';
import type { EventLoop } from '../tasks/event-loop.js';
import type { Coroutine } from '../tasks/operation.js';
import type { Task } from '../tasks/task.js';
import { BrokenPipeError, EPIPE } from './errors.js';
import { checkSendfileArguments, sockSendfile, type SendfileOptions } from './sock.js';
import { holdForSendfile, SocketTransport } from './socket-transport.js';

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
export function sendfile(loop: EventLoop, transport: SocketTransport, file: number, offset = 0, count: number | null = null, options: SendfileOptions = {}): Task<number> {
  if (!(transport instanceof SocketTransport)) {
    throw new TypeError(`sendfile: transport must be a SocketTransport (a stream socket's: createConnection, createServer), got ${describe(transport)}`);
  }
  checkSendfileArguments(file, offset, count, 'sendfile');
  return loop.createTask(() => sendOverTransport(loop, transport, file, offset, count, options), { name: `sendfile fd ${file} to ${String(transport)}` });
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
