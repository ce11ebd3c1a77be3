/**
 * SocketTransport: a connected stream socket (TCP or Unix) driven by the
 * loop's readiness callbacks — asyncio's _SelectorSocketTransport.
 *
 * Reading. While reading is on, the fd has a reader. Each readable tick
 * does ONE recv. For a Protocol it goes into the free tail of a slab shared
 * by every transport (receive-slab.ts; a small slab while this transport's
 * reads are small), and `dataReceived` gets a slice of exactly the bytes
 * that arrived — no copy, and the protocol may keep it.
 * For a BufferedProtocol it goes straight into the buffer the protocol
 * lends (`getBuffer`), then `bufferUpdated(n)`. One recv per tick is fair:
 * a busy connection cannot starve the others, and level-triggered epoll
 * reports what is left on the next tick.
 *
 * Writing. `write` first tries to send at once (the common case: the
 * kernel buffer has room, no syscall beyond the send, nothing queued). What
 * the kernel does not take is copied into a queue — copied, because the
 * caller may reuse its buffer the moment `write` returns — and a writer is
 * added. Each writable tick sends the queue with one writev. Queued bytes
 * above the high water mark call `protocol.pauseWriting()`; draining to
 * the low water mark calls `resumeWriting()`.
 *
 * Closing, in three ways, each ending in exactly one `connectionLost`:
 *  - `close()`: stop reading; once the queue is flushed, connectionLost(null);
 *  - `abort()`: drop the queue, connectionLost(null) on the next tick;
 *  - a fatal error (ECONNRESET, EPIPE, a protocol method that threw):
 *    as abort, but connectionLost(error). A protocol method that threw is
 *    also reported to the loop's exception handler; an OSError only in
 *    debug mode, and not even then when the peer is just gone (as
 *    asyncio's `_fatal_error`: a reset or a timeout is the connection's
 *    condition, not a bug).
 * The fd is closed right after `connectionLost` returns, and only after
 * its reader and writer were removed (epoll's rule: unregister, then close).
 *
 * Writes after the connection was lost (not closed by the user) are
 * dropped silently, as asyncio does: the peer is gone and the protocol is
 * told through connectionLost; raising in every writer would punish code
 * that simply had not heard yet (a broadcast loop). Writes after the user's
 * own close() or abort(), or after writeEof(), are a bug and throw.
 */
import { WriteFlowControl } from './flow-control.js';
import type { BaseEventLoop } from '../core/base-event-loop.js';
import { describe } from '../core/assert.js';
import { RuntimeError } from '../core/errors.js';
import type { ScheduleOptions } from '../core/priority.js';
import type { Future } from '../tasks/future.js';
import { BrokenPipeError, EAGAIN, ENOTCONN, EPIPE, osError, reportsFatalError, toError } from './errors.js';
import { socketNames, TransportSocket } from './sockets.js';
import { syscalls as sys } from './syscalls.js';
import { COPY_BELOW_BYTES, recvData } from './receive-slab.js';
import { WriteQueue } from './write-queue.js';
import {
  byteLengthOf,
  checkByteList,
  checkBytes,
  LOST_WRITES_WARN_THRESHOLD,
  type BytesLike,
  type ExtraInfo,
  type Protocol,
  type StreamProtocol,
  type BufferedProtocol,
  isBufferedProtocol,
  type SocketAddress,
  type Transport,
  type WriteBufferLimits,
} from './transport.js';

/** Bytes asked of the kernel per recv into the shared receive buffer (asyncio's max_size): UDP, sockRecv. */
export const READ_CHUNK_BYTES = 256 * 1024;

let sharedReadBuffer: Buffer | null = null;

/** The read buffer datagram transports and sockRecv receive into before copying out (allocated on first use). */
export function sharedReceiveBuffer(): Buffer {
  return (sharedReadBuffer ??= Buffer.allocUnsafe(READ_CHUNK_BYTES));
}

/** A server (or anything else) that wants to know when its transports come and go. */
export interface ConnectionTracker {
  attach(transport: SocketTransport): void;
  detach(transport: SocketTransport): void;
}

export interface SocketTransportOptions {
  /** Resolved once `connectionMade` has returned; rejected if it threw. */
  waiter?: Future<void> | null;
  /** Told on creation and after connectionLost. */
  server?: ConnectionTracker | null;
  /** AF_INET / AF_INET6 / AF_UNIX, for getExtraInfo('socket'); from getsockname if omitted. */
  family?: number;
  /** Extra values for getExtraInfo, checked before the built-in names. */
  extra?: Record<string, unknown>;
  /** Priority of this connection's reader, writer and protocol calls. Default 'normal'. */
  priority?: ScheduleOptions['priority'];
}

/**
 * @internal loop.sendfile's hold on a socket transport (sendfile.ts): while
 * it lasts, `write()` and `writeEof()` refuse and reading is paused, so the
 * file's bytes go to the socket alone.
 */
export interface SendfileHold {
  /** Resolves once what was queued before the hold has been sent; fails if the connection is lost first. */
  readonly flushed: Future<void>;
  /** Set by the holder: called just before the transport closes its fd, so the holder stops using it. */
  onClose: (() => void) | null;
  /**
   * Lets the holder's sockSendfile watch the fd: the transport stops owning
   * it (as asyncio's _sendfile_native takes the transport out of
   * loop._transports). Only once `flushed` has resolved: until then the
   * transport's own writer is flushing, and user code must not touch it.
   */
  lendFd(): void;
  /** Ends the hold: the fd is owned again, writes are accepted again and reading resumes if it was on. */
  release(): void;
}

/**
 * @internal Takes a hold on `transport` for loop.sendfile (see
 * SendfileHold), with `flushed` (a new Future) as the hold's; throws a
 * RuntimeError if the transport is closing or already held.
 */
export let holdForSendfile: (transport: SocketTransport, flushed: Future<void>, who: string) => SendfileHold;

/**
 * A connected, non-blocking stream socket with a protocol on top. Created
 * by `createConnection`, servers and `connectAccepted`; it takes ownership
 * of `fd` (and closes it).
 *
 * @example
 * const [transport, protocol] = yield* loop.createConnection(() => new Client(), '127.0.0.1', 8080);
 * transport.write(Buffer.from('hello'));
 * transport.close();
 */
export class SocketTransport implements Transport {
  readonly #loop: BaseEventLoop;
  readonly #fd: number;
  #protocol: StreamProtocol;
  /** The protocol when it is a BufferedProtocol (reads go into its buffer), else null. */
  #buffered: BufferedProtocol | null;
  /** Water marks and pauseWriting()/resumeWriting() (flow-control.ts); asks for the current protocol. */
  readonly #flow = new WriteFlowControl(
    {
      protocol: { pauseWriting: () => this.#protocol.pauseWriting?.(), resumeWriting: () => this.#protocol.resumeWriting?.() },
      report: (message, exception) => this.#loop.callExceptionHandler({ message, exception, transport: this, protocol: this.#protocol }),
    },
    'SocketTransport',
  );
  readonly #server: ConnectionTracker | null;
  readonly #scheduleOptions: ScheduleOptions | undefined;
  readonly #extra: Record<string, unknown> | undefined;
  readonly #family: number;
  /** Read once at creation (asyncio's too): still known after a reset (ENOTCONN) or the close. */
  readonly #peername: SocketAddress | undefined;
  readonly #sockname: SocketAddress | undefined;
  #socketInfo: TransportSocket | null = null;

  /** close() or abort() was called, or the connection was lost: no more reading. */
  #closing = false;
  /** The user called close() or abort(): further writes are a bug. */
  #closedByUser = false;
  /** connectionLost is scheduled or done (asyncio's _conn_lost, as a count of writes dropped since). */
  #lost = false;
  #lostWrites = 0;
  /** connectionLost has been called (guards "exactly once"). */
  #lostCalled = false;
  #fdClosed = false;
  /** writeEof() was called. */
  #eof = false;
  /** The peer's EOF arrived: reading is over for good. */
  #eofReceived = false;
  /** pauseReading() is in effect. */
  #paused = false;
  /** Whether the last read was small: the next recv goes into the small slab (receive-slab.ts). */
  #expectSmallRead = true;
  #readerActive = false;
  #writerActive = false;

  /** Unsent bytes, oldest first: each a private copy (write-queue.ts). */
  readonly #queue = new WriteQueue();

  /** loop.sendfile's hold while it sends a file (SendfileHold), else null. */
  #hold: SendfileHold | null = null;

  static {
    holdForSendfile = (transport, flushed, who) => transport.#holdForSendfile(flushed, who);
  }

  readonly #onReadable = (): void => this.#readReady();
  readonly #onWritable = (): void => this.#writeReady();

  constructor(loop: BaseEventLoop, fd: number, protocol: StreamProtocol, options: SocketTransportOptions = {}) {
    this.#loop = loop;
    this.#fd = fd;
    this.#protocol = protocol;
    this.#buffered = isBufferedProtocol(protocol) ? protocol : null;
    this.#server = options.server ?? null;
    this.#scheduleOptions = options.priority === undefined ? undefined : { priority: options.priority };
    this.#extra = options.extra;
    const names = socketNames(fd);
    this.#family = options.family ?? names.family;
    this.#peername = names.peername;
    this.#sockname = names.sockname;
    const waiter = options.waiter ?? null;
    // First, as it is what can throw (a bad priority): a transport that
    // fails here has claimed nothing and told no server.
    loop.callSoon(() => this.#start(waiter), this.#scheduleOptions);
    loop.claimFd(fd, this); // until #callConnectionLost closes it: addReader & co. refuse it
    this.#server?.attach(this);
  }

  /** The fd (owned by the transport). */
  get fd(): number {
    return this.#fd;
  }

  /** The loop this transport runs on. */
  getLoop(): BaseEventLoop {
    return this.#loop;
  }

  getProtocol(): StreamProtocol {
    return this.#protocol;
  }

  /** Switches protocols (e.g. after a protocol upgrade); the new one gets later events. */
  setProtocol(protocol: StreamProtocol): void {
    this.#protocol = protocol;
    this.#buffered = isBufferedProtocol(protocol) ? protocol : null;
  }

  // ------------------------------------------------------------- info

  /**
   * 'peername' and 'sockname' (asyncio tuples or a Unix path, read when
   * the transport was created, so still there in connectionLost and after
   * the close; no 'peername' if the socket was not connected by then),
   * 'socket' (the fd and its options; not once closed), or any name given
   * in `options.extra`.
   */
  getExtraInfo<K extends keyof ExtraInfo>(name: K): ExtraInfo[K] | undefined;
  getExtraInfo<K extends keyof ExtraInfo, D>(name: K, defaultValue: D): ExtraInfo[K] | D;
  getExtraInfo(name: string, defaultValue?: unknown): unknown;
  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    if (this.#extra !== undefined && Object.hasOwn(this.#extra, name)) return this.#extra[name];
    switch (name) {
      case 'peername':
        return this.#peername ?? defaultValue;
      case 'sockname':
        return this.#sockname ?? defaultValue;
      case 'socket':
        if (this.#fdClosed) return defaultValue; // the fd number may belong to someone else now
        this.#socketInfo ??= new TransportSocket(this.#fd, this.#family, sys.constants.SOCK_STREAM, () => !this.#fdClosed);
        return this.#socketInfo;
      default:
        return defaultValue;
    }
  }

  isClosing(): boolean {
    return this.#closing;
  }

  // ---------------------------------------------------------- reading

  /**
   * Whether `dataReceived` can still come: not paused, not closing, and
   * the peer's EOF not yet received. asyncio 3.11 still says true after an
   * EOF kept open by eofReceived; here nothing more can be read then, so
   * false (and pauseReading / resumeReading are no-ops).
   */
  isReading(): boolean {
    return !this.#paused && !this.#closing && !this.#eofReceived;
  }

  /**
   * Stops reading (no more `dataReceived`) until `resumeReading()`. The
   * kernel keeps receiving until its buffer fills, then the peer's sends
   * block: back-pressure reaches the other end. No-op if not reading.
   */
  pauseReading(): void {
    if (!this.isReading()) return;
    this.#paused = true;
    this.#stopReading();
  }

  resumeReading(): void {
    if (this.#closing || !this.#paused) return;
    this.#paused = false;
    if (!this.#eofReceived) this.#startReading();
  }

  // ---------------------------------------------------------- writing

  /**
   * Sends `data` (a Buffer, TypedArray or DataView): at once if the kernel
   * takes it, else later, in order. `data` may be reused as soon as this
   * returns. A string is a TypeError (encode it first).
   */
  write(data: BytesLike): void {
    checkBytes(data, 'SocketTransport.write');
    this.#checkWritable('write');
    const length = byteLengthOf(data);
    if (length === 0) return;
    if (this.#lost) return this.#dropLostWrite();
    let sent = 0;
    if (this.#queue.size === 0) {
      const n = sys.send(this.#fd, data, 0, length, 0);
      if (n === length) return;
      if (n >= 0) sent = n;
      else if (n !== -EAGAIN) return this.#fatalError(osError(n, 'send', this.#detail()), 'Fatal write error on socket transport');
      this.#startWriting();
    }
    this.#queue.pushTail(data, sent);
    this.#flow.maybePause(this.#queue.size);
  }

  /**
   * Writes the buffers in order, as one write: with nothing queued, one
   * writev sends them all (asyncio joins them; a write per item would be a
   * system call and a segment each). If any is not bytes, a TypeError and
   * none is written (all or nothing).
   */
  writelines(list: Iterable<BytesLike>): void {
    const items = checkByteList(list, 'SocketTransport.writelines');
    this.#checkWritable('writelines');
    if (items.length < 2 || this.#queue.size > 0 || this.#lost) {
      for (const data of items) this.write(data);
      return;
    }
    let total = 0;
    for (const data of items) total += data.byteLength;
    if (total === 0) return;
    const n = sys.writev(this.#fd, items);
    if (n === total) return;
    if (n < 0 && n !== -EAGAIN) return this.#fatalError(osError(n, 'writev', this.#detail()), 'Fatal write error on socket transport');
    this.#startWriting();
    this.#queue.pushUnsent(items, Math.max(n, 0));
    this.#flow.maybePause(this.#queue.size);
  }

  /** Throws if `who` (write, writelines) may not write now: after writeEof, once closing, or during a sendfile. */
  #checkWritable(who: string): void {
    if (this.#eof) throw new RuntimeError(`SocketTransport.${who}: cannot write after writeEof()`);
    if (this.#closedByUser) throw this.#closedError(who);
    if (this.#hold !== null) throw new RuntimeError(`SocketTransport.${who}: unable to write while loop.sendfile() sends a file, fd ${this.#fd}`);
  }

  /**
   * Half-close: once the buffered data is sent, shuts down the sending side
   * (the peer reads EOF); reading goes on. No-op if closing or already done.
   */
  writeEof(): void {
    if (this.#closing || this.#eof) return;
    if (this.#hold !== null) throw new RuntimeError(`SocketTransport.writeEof: unable to shut down writing while loop.sendfile() sends a file, fd ${this.#fd}`);
    this.#eof = true;
    if (this.#queue.size === 0) this.#shutdownWrite();
  }

  canWriteEof(): boolean {
    return true;
  }

  getWriteBufferSize(): number {
    return this.#queue.size;
  }

  getWriteBufferLimits(): [low: number, high: number] {
    return this.#flow.limits;
  }

  /**
   * Sets the write buffer's water marks: `pauseWriting()` when more than
   * `high` bytes are queued, `resumeWriting()` at `low` or less. Either
   * asyncio's `(high?, low?)` or one `{high?, low?}` object. high defaults
   * to 64 KiB (4 x low when only low is given), low to high / 4.
   * pauseWriting() is called at once if the buffer is already above the
   * new high mark.
   *
   * @example
   * transport.setWriteBufferLimits(1024);              // high 1024, low 256
   * transport.setWriteBufferLimits({ high: 1024, low: 0 });
   * transport.getWriteBufferLimits();                  // [0, 1024]: [low, high], as asyncio
   */
  setWriteBufferLimits(high?: number, low?: number): void;
  setWriteBufferLimits(limits?: WriteBufferLimits): void;
  setWriteBufferLimits(highOrLimits?: number | WriteBufferLimits, low?: number): void {
    this.#flow.setLimits(highOrLimits, low, 'SocketTransport.setWriteBufferLimits', this.#queue.size);
  }

  // ---------------------------------------------------------- closing

  /** Stops reading, flushes what is queued, then calls connectionLost(null) and closes the fd. */
  close(): void {
    this.#closedByUser = true;
    this.#close();
  }

  /** Closes at once: queued data is dropped; connectionLost(null) on the next tick. */
  abort(): void {
    this.#closedByUser = true;
    this.#forceClose(null);
  }

  #close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#stopReading();
    if (this.#queue.size === 0) {
      this.#lost = true;
      this.#loop.callSoon(() => this.#callConnectionLost(null), this.#scheduleOptions);
    }
  }

  #forceClose(exc: Error | null): void {
    if (this.#lost) return;
    this.#lost = true;
    if (this.#queue.size > 0) {
      this.#queue.clear();
      this.#stopWriting();
    }
    if (!this.#closing) {
      this.#closing = true;
      this.#stopReading();
    }
    this.#loop.callSoon(() => this.#callConnectionLost(exc), this.#scheduleOptions);
  }

  #callConnectionLost(exc: Error | null): void {
    if (this.#lostCalled) return;
    this.#lostCalled = true;
    try {
      this.#protocol.connectionLost?.(exc);
    } catch (exception) {
      this.#loop.callExceptionHandler({ message: 'protocol.connectionLost() failed', exception, transport: this });
    } finally {
      this.#stopReading();
      this.#stopWriting();
      this.#endHold(exc);
      this.#fdClosed = true;
      this.#loop.releaseFd(this.#fd, this);
      sys.close(this.#fd);
      this.#server?.detach(this);
    }
  }

  /**
   * @internal (FdOwner) The loop closed while this transport held its fd:
   * close it now, with no callbacks (connectionLost would need the loop).
   * What was queued is dropped. Returns whether it was still open.
   */
  loopClosed(): boolean {
    if (this.#fdClosed) return false; // closed already: the fd number may be someone else's now
    const wasOpen = !this.#closing;
    this.#closing = true;
    this.#lost = true;
    this.#lostCalled = true;
    this.#stopReading(); // the flags only: the loop watches nothing any more
    this.#stopWriting();
    this.#queue.clear();
    this.#fdClosed = true;
    sys.close(this.#fd);
    // Gone, as after connectionLost: its server no longer counts it, and its waitClosed() can resolve.
    this.#server?.detach(this);
    return wasOpen;
  }

  #fatalError(exc: unknown, message: string): void {
    if (reportsFatalError(exc, this.#loop.getDebug())) {
      this.#loop.callExceptionHandler({ message, exception: exc, transport: this, protocol: this.#protocol });
    }
    this.#forceClose(toError(exc));
  }

  // ------------------------------------------------------ the callbacks

  /** First tick: connectionMade, then start reading (unless paused or closed meanwhile). */
  #start(waiter: Future<void> | null): void {
    try {
      this.#protocol.connectionMade?.(this);
    } catch (exception) {
      this.#fatalError(exception, 'protocol.connectionMade() failed');
      if (waiter !== null && !waiter.done()) waiter.setException(exception);
      return;
    }
    if (this.isReading()) {
      try {
        this.#startReading();
      } catch (exception) {
        this.#fatalError(exception, 'cannot watch the socket');
        if (waiter !== null && !waiter.done()) waiter.setException(exception);
        return;
      }
    }
    if (waiter !== null && !waiter.done()) waiter.setResult();
  }

  #readReady(): void {
    if (this.#closing) return;
    if (this.#buffered !== null) return this.#readIntoProtocolBuffer(this.#buffered);
    const got = recvData(this.#fd, this.#expectSmallRead);
    const n = typeof got === 'number' ? got : 1;
    if (n > 0) {
      const data = got as Buffer;
      this.#expectSmallRead = data.length < COPY_BELOW_BYTES;
      try {
        (this.#protocol as Protocol).dataReceived?.(data);
      } catch (exception) {
        this.#fatalError(exception, 'Fatal error: protocol.dataReceived() call failed.');
      }
    } else {
      this.#readFailed(n);
    }
  }

  /** A BufferedProtocol's read: one recv straight into the buffer it lends, then bufferUpdated(n). */
  #readIntoProtocolBuffer(protocol: BufferedProtocol): void {
    let buffer: ArrayBufferView;
    try {
      buffer = protocol.getBuffer(-1);
      if (!ArrayBuffer.isView(buffer)) {
        throw new TypeError(`protocol.getBuffer() must return a Buffer, TypedArray or DataView with at least 1 byte, got ${describe(buffer)}`);
      }
      if (buffer.byteLength === 0) throw new RuntimeError('protocol.getBuffer() returned an empty buffer (it must hold at least 1 byte)');
    } catch (exception) {
      this.#fatalError(exception, 'Fatal error: protocol.getBuffer() call failed.');
      return;
    }
    const n = sys.recv(this.#fd, buffer, 0, buffer.byteLength, 0);
    if (n > 0) {
      try {
        protocol.bufferUpdated(n);
      } catch (exception) {
        this.#fatalError(exception, 'Fatal error: protocol.bufferUpdated() call failed.');
      }
    } else {
      this.#readFailed(n);
    }
  }

  /** A recv that returned 0 (EOF) or -errno (-EAGAIN: a spurious wake-up, nothing to do). */
  #readFailed(n: number): void {
    if (n === 0) this.#readEof();
    else if (n !== -EAGAIN) this.#fatalError(osError(n, 'recv', this.#detail()), 'Fatal read error on socket transport');
  }

  #readEof(): void {
    this.#eofReceived = true;
    this.#stopReading();
    let keepOpen: unknown;
    try {
      keepOpen = this.#protocol.eofReceived?.();
    } catch (exception) {
      this.#fatalError(exception, 'Fatal error: protocol.eofReceived() call failed.');
      return;
    }
    // Not the user's close: later writes are dropped, not refused.
    if (!keepOpen) this.#close();
  }

  #writeReady(): void {
    if (this.#lost) return;
    const queue = this.#queue.chunks;
    const head = queue[0] as Uint8Array;
    const n = queue.length === 1 ? sys.send(this.#fd, head, 0, head.byteLength, 0) : sys.writev(this.#fd, queue);
    if (n < 0) {
      if (n === -EAGAIN) return;
      const syscall = queue.length === 1 ? 'send' : 'writev';
      this.#fatalError(osError(n, syscall, this.#detail()), 'Fatal write error on socket transport');
      return;
    }
    this.#queue.consume(n);
    this.#flow.maybeResume(this.#queue.size);
    if (this.#queue.size > 0) return;
    this.#stopWriting();
    if (this.#closing) {
      // The fd closes now: a sendfile hold's flush fails (#endHold) rather
      // than succeeding with a file then sent to a closed (or reused) fd.
      this.#lost = true;
      this.#callConnectionLost(null);
      return;
    }
    if (this.#hold !== null && !this.#hold.flushed.done()) this.#hold.flushed.setResult();
    if (this.#eof) this.#shutdownWrite();
  }

  #shutdownWrite(): void {
    const result = sys.shutdown(this.#fd, sys.constants.SHUT_WR);
    // ENOTCONN: the peer reset first; the reader will report it.
    if (result < 0 && result !== -ENOTCONN) this.#fatalError(osError(result, 'shutdown', this.#detail()), 'Fatal error on shutdown');
  }

  // -------------------------------------------------- fd watching

  #startReading(): void {
    if (this.#readerActive) return;
    this.#loop.watchOwnedFd(this.#fd, 'read', this.#onReadable, this.#scheduleOptions);
    this.#readerActive = true;
  }

  #stopReading(): void {
    if (!this.#readerActive) return;
    this.#readerActive = false;
    if (!this.#loop.isClosed()) this.#loop.unwatchOwnedFd(this.#fd, 'read');
  }

  #startWriting(): void {
    if (this.#writerActive) return;
    this.#loop.watchOwnedFd(this.#fd, 'write', this.#onWritable, this.#scheduleOptions);
    this.#writerActive = true;
  }

  #stopWriting(): void {
    if (!this.#writerActive) return;
    this.#writerActive = false;
    if (!this.#loop.isClosed()) this.#loop.unwatchOwnedFd(this.#fd, 'write');
  }

  #dropLostWrite(): void {
    if (++this.#lostWrites === LOST_WRITES_WARN_THRESHOLD) {
      this.#loop.logger.warn(`eventide: ${this}: writing to a lost connection (the data is dropped; see connectionLost)`);
    }
  }

  #holdForSendfile(flushed: Future<void>, who: string): SendfileHold {
    if (this.#closing) throw this.#closedError(who);
    if (this.#eof) throw new RuntimeError(`${who}: cannot send a file after writeEof(), fd ${this.#fd}`);
    if (this.#hold !== null) throw new RuntimeError(`${who}: another sendfile is in progress on fd ${this.#fd}`);
    const wasReading = this.isReading();
    this.pauseReading();
    if (this.#queue.size === 0) flushed.setResult();
    let lent = false;
    const hold: SendfileHold = {
      flushed,
      onClose: null,
      lendFd: () => {
        if (this.#hold !== hold || lent) return;
        lent = true;
        // Lent, not released: loop.close() during the sendfile must still close the fd (loopClosed).
        this.#loop.lendFd(this.#fd, this);
      },
      release: () => {
        if (this.#hold !== hold) return;
        this.#hold = null;
        if (lent) this.#loop.claimFd(this.#fd, this);
        if (wasReading) this.resumeReading();
      },
    };
    this.#hold = hold;
    return hold;
  }

  /** The fd is about to close: a hold ends, its flush fails (if pending) and its holder stops using the fd. */
  #endHold(exc: Error | null): void {
    const hold = this.#hold;
    if (hold === null) return;
    this.#hold = null;
    if (!hold.flushed.done()) hold.flushed.setException(exc ?? new BrokenPipeError(EPIPE, 'sendfile', `${this.#detail()}: the transport closed before the file was sent`));
    hold.onClose?.();
  }

  #closedError(what: string): RuntimeError {
    const state = this.#fdClosed ? 'closed' : 'closing';
    return new RuntimeError(`SocketTransport.${what}: the transport is ${state} (close() or abort() was called), fd ${this.#fd}`);
  }

  #detail(): string {
    return `fd ${this.#fd}`;
  }

  toString(): string {
    const state = this.#fdClosed ? 'closed' : this.#closing ? 'closing' : 'open';
    const reading = this.#readerActive ? ' reading' : '';
    const buffered = this.#queue.size > 0 ? ` buffered=${this.#queue.size}` : '';
    return `<SocketTransport fd=${this.#fd} ${state}${reading}${buffered}>`;
  }
}

