/**
 * Low-level socket operations as Futures: asyncio's `loop.sock_recv`,
 * `sock_recv_into`, `sock_sendall`, `sock_accept`, `sock_connect`, and for
 * datagrams `sock_recvfrom`, `sock_recvfrom_into` and `sock_sendto`, and
 * `sock_sendfile`, for code that wants a socket fd and a task rather than
 * a transport and a protocol.
 *
 * Each call tries the system call at once; only if the kernel says EAGAIN
 * does it watch the fd (a reader or writer on the loop) and retry when it
 * is ready. So a `yield* sockRecv(...)` on a socket with data waiting
 * costs one recv and no loop round-trip beyond the task's own.
 *
 * The returned Future is both `yield*`-able in a task and `await`-able.
 * Cancelling it (or the task waiting on it) removes the watch at once. An
 * OS failure (a reset, a closed fd) becomes the Future's exception, a named
 * OSError; bad arguments throw a TypeError / RangeError synchronously.
 *
 * One operation per fd and direction at a time: the loop keeps one reader
 * and one writer per fd, so a second pending `sockRecv` on the same fd
 * would silently replace the first. It is refused with a RuntimeError,
 * before it touches the socket. So is an fd a transport owns (asyncio's
 * "File descriptor N is used by transport"): its data is the transport's.
 */
import { describe } from '../core/assert.js';
import type { BaseEventLoop } from '../core/base-event-loop.js';
import { RuntimeError } from '../core/errors.js';
import type { EventLoop } from '../tasks/event-loop.js';
import type { Future } from '../tasks/future.js';
import { until, type Coroutine, type Operation } from '../tasks/operation.js';
import type { Task } from '../tasks/task.js';
import { onResultDropped } from '../tasks/dropped-result.js';
import { read as readFile } from 'node:fs';
import { EAGAIN, EINPROGRESS, EINVAL, ENOSYS, ESPIPE, osError, SendfileNotAvailableError } from './errors.js';
import { checkFd } from './selector-support.js';
import { READ_CHUNK_BYTES, sharedReceiveBuffer } from './socket-transport.js';
import { formatAddress, peerAddress, toNativeAddress, toSocketAddress } from './sockets.js';
import { newSockAddress, syscalls as sys } from './syscalls.js';
import { checkBytes, type AddressInput, type BytesLike, type SocketAddress } from './transport.js';
import { SETTLE_HOOK } from '../tasks/future.js';

const READ = 0;
const WRITE = 1;
/** Per loop: fd * 2 + direction of every pending operation. */
const claims = new WeakMap<BaseEventLoop, Set<number>>();

/**
 * Runs `attempt` now and, while it returns false (EAGAIN), again each time
 * `fd` is ready in `direction`. `attempt` settles `future` when it returns true.
 */
function retryWhenReady<T>(loop: EventLoop, fd: number, direction: number, future: Future<T>, attempt: () => boolean, who: string, label?: string): Future<T> {
  loop.checkFdNotOwned(fd, who);
  const key = fd * 2 + direction;
  let claimed = claims.get(loop);
  // Refused before the first attempt: a send that went out now would land
  // in the middle of the waiting operation's bytes (a recv would take data
  // queued behind it).
  if (claimed !== undefined && claimed.has(key)) {
    throw new RuntimeError(`${who}: another ${direction === READ ? 'read' : 'write'} operation is already waiting on fd ${fd}`);
  }
  if (attempt()) return future;
  // Named only once it must wait (no string on the fast path): "waiting on sockRecv fd 7".
  future.label = label ?? `${who} fd ${fd}`;
  if (claimed === undefined) claims.set(loop, (claimed = new Set()));
  const onReady = (): void => {
    if (!future.done()) attempt();
  };
  loop.watchOwnedFd(fd, direction === READ ? 'read' : 'write', onReady); // checked above
  claimed.add(key);
  const set = claimed;
  // Done (a result, an error, or cancelled by the waiting task): stop watching now.
  future.addDoneCallbackInLane(() => {
    set.delete(key);
    if (loop.isClosed()) return;
    loop.unwatchOwnedFd(fd, direction === READ ? 'read' : 'write');
  }, SETTLE_HOOK);
  return future;
}

function checkSize(n: unknown, what: string, min = 1): asserts n is number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > 0x7fffffff) {
    throw new RangeError(`${what} must be ${min === 0 ? 'an integer >= 0' : 'a positive integer'}, got ${describe(n)}`);
  }
}

/**
 * Receives up to `nbytes` from the socket `fd`: a Buffer with what arrived
 * (empty at EOF). With `nbytes` 0, an empty Buffer at once, whatever the
 * socket's state, as asyncio's `sock_recv(sock, 0)` (Python's
 * `socket.recv(0)` makes no system call).
 *
 * @example
 * const data = yield* sockRecv(loop, fd, 4096);
 * if (data.length === 0) console.log('peer closed');
 */
export function sockRecv(loop: EventLoop, fd: number, nbytes: number): Future<Buffer> {
  checkFd(fd, 'sockRecv');
  checkSize(nbytes, 'sockRecv: nbytes', 0);
  const future = loop.createFuture<Buffer>();
  if (nbytes === 0) {
    future.setResult(Buffer.alloc(0));
    return future;
  }
  const own = nbytes > READ_CHUNK_BYTES ? Buffer.allocUnsafe(nbytes) : null;
  return retryWhenReady(loop, fd, READ, future, () => {
    const buffer = own ?? sharedReceiveBuffer();
    const n = sys.recv(fd, buffer, 0, nbytes, 0);
    if (n === -EAGAIN) return false;
    if (n < 0) future.setException(osError(n, 'recv', `fd ${fd}`));
    else future.setResult(own !== null ? own.subarray(0, n) : Buffer.from(buffer.subarray(0, n)));
    return true;
  }, 'sockRecv');
}

/**
 * Receives into `buffer` (from its start); resolves to the byte count (0 at EOF).
 *
 * @example
 * const n = yield* sockRecvInto(loop, fd, buf);
 */
export function sockRecvInto(loop: EventLoop, fd: number, buffer: BytesLike): Future<number> {
  checkFd(fd, 'sockRecvInto');
  checkBytes(buffer, 'sockRecvInto');
  const future = loop.createFuture<number>();
  return retryWhenReady(loop, fd, READ, future, () => {
    const n = sys.recv(fd, buffer, 0, buffer.byteLength, 0);
    if (n === -EAGAIN) return false;
    if (n < 0) future.setException(osError(n, 'recv', `fd ${fd}`));
    else future.setResult(n);
    return true;
  }, 'sockRecvInto');
}

/**
 * Sends all of `data`, waiting for the socket to drain as often as needed.
 * Do not modify `data` until the Future is done.
 *
 * @example
 * yield* sockSendAll(loop, fd, Buffer.from('GET / HTTP/1.0\r\n\r\n'));
 */
export function sockSendAll(loop: EventLoop, fd: number, data: BytesLike): Future<void> {
  checkFd(fd, 'sockSendAll');
  checkBytes(data, 'sockSendAll');
  const future = loop.createFuture<void>();
  let offset = 0;
  return retryWhenReady(loop, fd, WRITE, future, () => {
    while (offset < data.byteLength) {
      const n = sys.send(fd, data, offset, data.byteLength - offset, 0);
      if (n === -EAGAIN) return false;
      if (n < 0) {
        future.setException(osError(n, 'send', `fd ${fd}`));
        return true;
      }
      offset += n;
    }
    future.setResult();
    return true;
  }, 'sockSendAll');
}

/**
 * Connects the non-blocking socket `fd` to a numeric address (`[host,
 * port]` or a Unix path); resolves once connected. Resolve host names
 * first (`getaddrinfo`).
 *
 * @example
 * const fd = openSocket(AF_INET, SOCK_STREAM, 'client');
 * yield* sockConnect(loop, fd, ['127.0.0.1', 8080]);
 */
export function sockConnect(loop: EventLoop, fd: number, address: AddressInput): Future<void> {
  checkFd(fd, 'sockConnect');
  loop.checkFdNotOwned(fd, 'sockConnect');
  const target = toNativeAddress(address, 'sockConnect');
  const detail = `fd ${fd}, ${formatAddress(address)}`;
  const future = loop.createFuture<void>();
  const result = sys.connect(fd, target.family, target.host, target.port);
  if (result === 0) {
    future.setResult();
    return future;
  }
  if (result !== -EINPROGRESS) {
    future.setException(osError(result, 'connect', detail));
    return future;
  }
  let started = false;
  return retryWhenReady(loop, fd, WRITE, future, () => {
    if (!started) {
      started = true; // the connect is in progress: wait for writability
      return false;
    }
    const error = sys.getsockoptInt(fd, sys.constants.SOL_SOCKET, sys.constants.SO_ERROR);
    if (error === 0) future.setResult();
    else future.setException(osError(error < 0 ? error : -error, 'connect', detail));
    return true;
  }, 'sockConnect', `connect ${formatAddress(address)} (fd ${fd})`);
}

/**
 * Accepts one connection on the listening socket `fd`: `[connFd, peer]`.
 * The new fd is non-blocking and close-on-exec; the caller owns it.
 *
 * @example
 * const [conn, peer] = yield* sockAccept(loop, listenFd);
 */
export function sockAccept(loop: EventLoop, fd: number): Future<[number, SocketAddress]> {
  checkFd(fd, 'sockAccept');
  const future = loop.createFuture<[number, SocketAddress]>();
  const { SOCK_NONBLOCK, SOCK_CLOEXEC } = sys.constants;
  const accepting = retryWhenReady(loop, fd, READ, future, () => {
    const conn = sys.accept4(fd, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (conn === -EAGAIN) return false;
    if (conn < 0) future.setException(osError(conn, 'accept4', `fd ${fd}`));
    else future.setResult([conn, peerAddress(conn) ?? '']);
    return true;
  }, 'sockAccept');
  // A task waiting for it, cancelled once it has accepted and before its step, drops the new fd: nothing
  // else would ever close it (fds are not collected). Registered after retryWhenReady's own done-callback,
  // which is not a holder of the result.
  return onResultDropped(accepting, ([conn]) => void sys.close(conn));
}

/**
 * Receives one datagram of up to `bufsize` bytes from `fd`: `[data,
 * sender]` (asyncio's sock_recvfrom). A longer datagram is cut to
 * `bufsize`, as recvfrom(2) does.
 *
 * @example
 * const [data, [host, port]] = yield* sockRecvfrom(loop, udpFd, 2048) as [Buffer, [string, number]];
 */
export function sockRecvfrom(loop: EventLoop, fd: number, bufsize: number): Future<[Buffer, SocketAddress]> {
  checkFd(fd, 'sockRecvfrom');
  checkSize(bufsize, 'sockRecvfrom: bufsize');
  const future = loop.createFuture<[Buffer, SocketAddress]>();
  const own = bufsize > READ_CHUNK_BYTES ? Buffer.allocUnsafe(bufsize) : null;
  const from = newSockAddress();
  return retryWhenReady(loop, fd, READ, future, () => {
    const buffer = own ?? sharedReceiveBuffer();
    const n = sys.recvfrom(fd, buffer, 0, bufsize, 0, from);
    if (n === -EAGAIN) return false;
    if (n < 0) future.setException(osError(n, 'recvfrom', `fd ${fd}`));
    else future.setResult([own !== null ? own.subarray(0, n) : Buffer.from(buffer.subarray(0, n)), toSocketAddress(from)]);
    return true;
  }, 'sockRecvfrom');
}

/**
 * Receives one datagram into `buffer` (from its start; at most `nbytes`
 * bytes, or the whole buffer when `nbytes` is 0): `[byteCount, sender]`
 * (asyncio's sock_recvfrom_into).
 *
 * @example
 * const [n, sender] = yield* sockRecvfromInto(loop, udpFd, buf);
 */
export function sockRecvfromInto(loop: EventLoop, fd: number, buffer: BytesLike, nbytes = 0): Future<[number, SocketAddress]> {
  checkFd(fd, 'sockRecvfromInto');
  checkBytes(buffer, 'sockRecvfromInto');
  if (nbytes !== 0) checkSize(nbytes, 'sockRecvfromInto: nbytes');
  if (nbytes > buffer.byteLength) throw new RangeError(`sockRecvfromInto: nbytes (${nbytes}) is greater than the buffer (${buffer.byteLength} bytes)`);
  const length = nbytes === 0 ? buffer.byteLength : nbytes;
  const future = loop.createFuture<[number, SocketAddress]>();
  const from = newSockAddress();
  return retryWhenReady(loop, fd, READ, future, () => {
    const n = sys.recvfrom(fd, buffer, 0, length, 0, from);
    if (n === -EAGAIN) return false;
    if (n < 0) future.setException(osError(n, 'recvfrom', `fd ${fd}`));
    else future.setResult([n, toSocketAddress(from)]);
    return true;
  }, 'sockRecvfromInto');
}

/**
 * Sends `data` as one datagram to `address` (`[host, port]`, numeric, or a
 * Unix path); resolves to the bytes sent (asyncio's sock_sendto). Waits
 * while the socket's send buffer is full. Do not modify `data` until the
 * Future is done.
 *
 * @example
 * yield* sockSendto(loop, udpFd, Buffer.from('ping'), ['127.0.0.1', 9999]);
 */
export function sockSendto(loop: EventLoop, fd: number, data: BytesLike, address: AddressInput): Future<number> {
  checkFd(fd, 'sockSendto');
  checkBytes(data, 'sockSendto');
  const to = toNativeAddress(address, 'sockSendto');
  const future = loop.createFuture<number>();
  return retryWhenReady(loop, fd, WRITE, future, () => {
    const n = sys.sendto(fd, data, 0, data.byteLength, 0, to.family, to.host, to.port);
    if (n === -EAGAIN) return false;
    if (n < 0) future.setException(osError(n, 'sendto', `fd ${fd}, ${formatAddress(address)}`));
    else future.setResult(n);
    return true;
  }, 'sockSendto');
}

/** Options of `sockSendfile` and `loop.sendfile`. */
export interface SendfileOptions {
  /** When sendfile(2) cannot serve this file or socket: read and send instead (true, the default) or throw SendfileNotAvailableError. */
  fallback?: boolean;
}

/** Bytes read per fallback read (asyncio's block size). */
const FALLBACK_BLOCK_BYTES = 256 * 1024;
/** At most this much per sendfile(2) call when no count limits it (asyncio's block size too). */
const SENDFILE_BLOCK_BYTES = 2 ** 30;

/** @internal Throws a TypeError / RangeError naming what is wrong with sendfile's file, offset and count. */
export function checkSendfileArguments(file: unknown, offset: unknown, count: unknown, who: string): void {
  checkFd(file, `${who}: file`);
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`${who}: offset must be an integer >= 0, got ${describe(offset)}`);
  if (count !== null && (typeof count !== 'number' || !Number.isSafeInteger(count) || count <= 0)) {
    throw new RangeError(`${who}: count must be a positive integer or null (to the end of the file), got ${describe(count)}`);
  }
}

/**
 * Sends the file `file` (an fd) over the stream socket `sock` from byte
 * `offset`, `count` bytes or to the file's end: resolves to the bytes sent
 * (asyncio's sock_sendfile). With sendfile(2) the bytes go from the page
 * cache to the socket without entering this process; one call per
 * writable tick, so other work runs between. Where the kernel cannot do
 * that for this file (it is not a regular file), the file is read (on
 * libuv's thread pool) and sent in blocks, unless `fallback` is false:
 * then SendfileNotAvailableError. The file's own position is neither used
 * nor moved; do not close it before the task is done.
 *
 * @example
 * const file = openSync('index.html', 'r');
 * const sent = yield* sockSendfile(loop, sock, file);
 */
export function sockSendfile(loop: EventLoop, sock: number, file: number, offset = 0, count: number | null = null, options: SendfileOptions = {}): Task<number> {
  checkFd(sock, 'sockSendfile');
  loop.checkFdNotOwned(sock, 'sockSendfile'); // loop.sendfile's hold lets go of its transport's fd first
  checkSendfileArguments(file, offset, count, 'sockSendfile');
  // As asyncio: stream sockets only (a datagram socket would fail with EMSGSIZE, or send the file as datagrams).
  const type = sys.getsockoptInt(sock, sys.constants.SOL_SOCKET, sys.constants.SO_TYPE);
  if (type >= 0 && type !== sys.constants.SOCK_STREAM) throw new TypeError(`sockSendfile: sock must be a stream socket (SOCK_STREAM), fd ${sock} is of type ${type}`);
  const fallback = options.fallback ?? true;
  return loop.createTask(
    function* (): Coroutine<number> {
      try {
        return yield* sendfileNative(loop, sock, file, offset, count);
      } catch (error) {
        if (!(error instanceof SendfileNotAvailableError) || !fallback) throw error;
      }
      return yield* sendfileByReading(file, offset, count, (block) => sockSendAll(loop, sock, block), 'sockSendfile');
    },
    { name: `sockSendfile fd ${file} to fd ${sock}` },
  );
}

/** One sendfile(2) per writable tick until `count` bytes or the file's end; SendfileNotAvailableError if the first call says the kernel cannot. */
function sendfileNative(loop: EventLoop, sock: number, file: number, offset: number, count: number | null): Future<number> {
  const future = loop.createFuture<number>();
  const mode = sys.fstatMode(file);
  if (mode < 0) {
    future.setException(osError(mode, 'fstat', `sockSendfile: file fd ${file}`));
    return future;
  }
  if ((mode & sys.constants.S_IFMT) !== sys.constants.S_IFREG) {
    future.setException(new SendfileNotAvailableError(`sockSendfile: fd ${file} is not a regular file, which sendfile(2) needs`));
    return future;
  }
  let sent = 0;
  return retryWhenReady(loop, sock, WRITE, future, () => {
    const want = count === null ? SENDFILE_BLOCK_BYTES : Math.min(count - sent, SENDFILE_BLOCK_BYTES);
    const n = want === 0 ? 0 : sys.sendfile(sock, file, offset + sent, want);
    if (n === -EAGAIN) return false;
    if (n < 0) {
      const unavailable = sent === 0 && (n === -EINVAL || n === -ENOSYS || n === -ESPIPE);
      future.setException(unavailable ? new SendfileNotAvailableError(`sockSendfile: sendfile(2) from fd ${file} to fd ${sock} is not supported here (${osError(n, 'sendfile').code})`) : osError(n, 'sendfile', `fd ${file} to fd ${sock}`));
      return true;
    }
    sent += n;
    if (n === 0 || (count !== null && sent >= count)) {
      future.setResult(sent);
      return true;
    }
    return false; // more to send: again on the next writable tick
  }, 'sockSendfile');
}

/**
 * The fallback: read a block (on libuv's thread pool), send it all with
 * `send`, repeat; resolves to the bytes sent. A regular file is read at
 * its offsets; anything else (a pipe) from where it stands, so `offset`
 * must then be 0. `send` may keep the block only until it returns: the
 * next read reuses it.
 *
 * @internal Also loop.sendfile's fallback for transports (sendfile.ts).
 */
export function* sendfileByReading(file: number, offset: number, count: number | null, send: (block: Buffer) => Operation<void>, who: string): Coroutine<number> {
  const mode = sys.fstatMode(file);
  if (mode < 0) throw osError(mode, 'fstat', `${who}: file fd ${file}`);
  const seekable = (mode & sys.constants.S_IFMT) === sys.constants.S_IFREG;
  if (!seekable && offset !== 0) throw new RangeError(`${who}: offset must be 0 for fd ${file}, which cannot seek (it is not a regular file), got ${offset}`);
  const block = Buffer.allocUnsafe(count === null ? FALLBACK_BLOCK_BYTES : Math.min(count, FALLBACK_BLOCK_BYTES));
  let sent = 0;
  for (;;) {
    const want = count === null ? block.length : Math.min(count - sent, block.length);
    if (want === 0) return sent;
    const got = yield* until(readAt(file, block, want, seekable ? offset + sent : null));
    if (got === 0) return sent;
    yield* send(block.subarray(0, got));
    sent += got;
  }
}

function readAt(file: number, into: Buffer, length: number, position: number | null): Promise<number> {
  return new Promise((resolve, reject) => {
    readFile(file, into, 0, length, position, (error, bytesRead) => {
      if (error === null) resolve(bytesRead);
      else reject(typeof error.errno === 'number' ? osError(error.errno, 'read', `fd ${file}`) : error);
    });
  });
}
