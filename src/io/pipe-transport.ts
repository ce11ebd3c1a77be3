/**
 * Pipe transports: one end of a pipe (or a socket or a character device
 * such as a tty) driven by the loop's readiness callbacks — asyncio's
 * _UnixReadPipeTransport and _UnixWritePipeTransport, made by
 * `loop.connectReadPipe` and `loop.connectWritePipe` (connect.ts).
 *
 * A pipe goes one way, so each transport is one half of a socket
 * transport: ReadPipeTransport reads (`dataReceived`, `eofReceived`,
 * `pauseReading` / `resumeReading`), WritePipeTransport writes (a queue
 * with water marks, `writeEof`, `abort`). Both take the fd over: it is
 * made non-blocking and is closed right after `connectionLost` returns.
 *
 * asyncio's rules, kept:
 *  - the fd must be a pipe (FIFO), a socket or a character device. epoll
 *    cannot watch a regular file, so one is refused, and the refused fd
 *    stays the caller's;
 *  - `connectionMade` runs on the next tick, and watching starts after it;
 *  - reading: one read(2) per readable tick, into the receive slabs the
 *    socket transports use (receive-slab.ts), so `dataReceived` gets a
 *    Buffer it may keep. At end of file: `eofReceived()` (its result is
 *    ignored: a read pipe has no writing side to keep open), then
 *    `connectionLost(null)`, each on a tick of its own;
 *  - writing: `write` tries at once and queues (a copy of) what the pipe
 *    does not take; a writable tick writes the queue with one writev.
 *    `pauseWriting` / `resumeWriting` at the water marks (flow-control.ts);
 *  - `writeEof()` and `close()` close the write end once the queue is
 *    flushed (the reader then sees end of file); `abort()` drops the queue;
 *  - a write end is also watched for reading: Linux reports an error on it
 *    (EPOLLERR, which the selector passes on as readable) once every read
 *    end has closed. The transport then closes without waiting for a write
 *    to fail: `connectionLost(BrokenPipeError)` if data was still queued,
 *    else `connectionLost(null)`.
 *
 * Every fatal error reaches `connectionLost`. The loop's exception handler
 * hears of a protocol method that threw, always; of a failure of the pipe
 * itself (an OSError), only in debug mode, as asyncio's `_fatal_error`;
 * and never of one that only means the other end went away (EPIPE,
 * ECONNRESET, EIO from a tty whose terminal closed). Writes after the user's own `close()`,
 * `abort()` or `writeEof()` throw; writes after the pipe was lost are
 * dropped, as the socket transport does (socket-transport.ts).
 */
import type { BaseEventLoop } from '../core/base-event-loop.js';
import { RuntimeError } from '../core/errors.js';
import type { ScheduleOptions } from '../core/priority.js';
import type { Future } from '../tasks/future.js';
import { BrokenPipeError, EAGAIN, EPIPE, checkErrno, isPeerGone, osError, OSError, reportsFatalError, toError } from './errors.js';
import { WriteFlowControl } from './flow-control.js';
import { COPY_BELOW_BYTES, readData } from './receive-slab.js';
import { checkFd } from './selector-support.js';
import { syscalls as sys } from './syscalls.js';
import { byteLengthOf, checkByteList, checkBytes, LOST_WRITES_WARN_THRESHOLD, type BaseProtocol, type BytesLike, type ReadTransport, type WriteBufferLimits, type WriteTransport } from './transport.js';
import { WriteQueue } from './write-queue.js';

/** The protocol of a read pipe: asyncio.Protocol's reading half. */
export interface ReadPipeProtocol extends BaseProtocol<ReadPipeTransport> {
  /** Bytes arrived. `data` is the protocol's to keep. */
  dataReceived?(data: Buffer): void;
  /** The write end closed (every copy of it). The result is ignored: connectionLost(null) follows. */
  eofReceived?(): unknown;
}

/** The protocol of a write pipe: connectionMade, connectionLost and the flow-control calls. */
export type WritePipeProtocol = BaseProtocol<WritePipeTransport>;

export interface PipeTransportOptions {
  /** Resolved once `connectionMade` has returned; rejected if it threw. */
  waiter?: Future<void> | null;
  /** Priority of the transport's watcher and protocol calls. Default 'normal'. */
  priority?: ScheduleOptions['priority'];
}

/** What kind of fd a pipe transport was given (from fstat). */
export interface PipeKind {
  isSocket: boolean;
  isFifo: boolean;
}

const FILE_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [sys.constants.S_IFREG, 'a regular file'],
  [sys.constants.S_IFDIR, 'a directory'],
]);

/**
 * Checks that `fd` can carry a pipe transport: an open pipe, socket or
 * character device. A closed fd is an OSError (EBADF); a regular file, a
 * directory or anything else epoll cannot watch is a TypeError naming it.
 *
 * @example
 * checkPipeFd(fds[0], 'connectReadPipe'); // { isSocket: false, isFifo: true }
 */
export function checkPipeFd(fd: unknown, who: string): PipeKind {
  checkFd(fd, `${who}: pipe`);
  const mode = checkErrno(sys.fstatMode(fd), 'fstat', `${who}: pipe fd ${fd}`);
  const { S_IFMT, S_IFIFO, S_IFSOCK, S_IFCHR } = sys.constants;
  const type = mode & S_IFMT;
  if (type !== S_IFIFO && type !== S_IFSOCK && type !== S_IFCHR) {
    const what = FILE_TYPE_NAMES.get(type) ?? `a file of type 0o${type.toString(8)}`;
    throw new TypeError(`${who}: fd ${fd} is ${what}; pipe transports are for pipes, sockets and character devices (epoll cannot watch a regular file)`);
  }
  return { isSocket: type === S_IFSOCK, isFifo: type === S_IFIFO };
}

/** checkPipeFd, then makes the fd non-blocking; nothing is changed if it throws. */
function adoptPipeFd(fd: number, who: string): PipeKind {
  const kind = checkPipeFd(fd, who);
  const { F_GETFL, F_SETFL, O_NONBLOCK } = sys.constants;
  const flags = checkErrno(sys.fcntl(fd, F_GETFL, 0), 'fcntl', `${who}: pipe fd ${fd}`);
  if ((flags & O_NONBLOCK) === 0) checkErrno(sys.fcntl(fd, F_SETFL, flags | O_NONBLOCK), 'fcntl', `${who}: pipe fd ${fd}`);
  return kind;
}

/** Errors that only mean the other end went away: a socket's, and EIO from a tty whose terminal closed. */
function isOtherEndGone(exc: unknown): boolean {
  return isPeerGone(exc) || (exc instanceof OSError && exc.code === 'EIO');
}

/**
 * What both pipe transports share: the fd, the protocol, the first tick
 * (`connectionMade`), and the end (`connectionLost` exactly once, then
 * the fd is closed, after its watchers were removed).
 */
abstract class PipeTransport<P extends BaseProtocol<never>> {
  protected readonly loop: BaseEventLoop;
  protected readonly fd: number;
  protected protocol: P;
  protected readonly scheduleOptions: ScheduleOptions | undefined;
  /** close(), abort(), end of file or an error: the transport is on its way out. */
  protected closing = false;
  /** connectionLost is scheduled or done. */
  protected lost = false;
  #lostCalled = false;
  #fdClosed = false;
  #readerActive = false;
  #writerActive = false;
  protected abstract readonly name: string;

  constructor(loop: BaseEventLoop, fd: number, protocol: P, options: PipeTransportOptions, startReading: boolean) {
    this.loop = loop;
    this.fd = fd;
    this.protocol = protocol;
    this.scheduleOptions = options.priority === undefined ? undefined : { priority: options.priority };
    const waiter = options.waiter ?? null;
    // First, as it is what can throw (a bad priority): then nothing is claimed.
    loop.callSoon(() => this.#start(waiter, startReading), this.scheduleOptions);
    loop.claimFd(fd, this); // until callConnectionLost closes it: addReader & co. refuse it
  }

  /** The loop this transport runs on. */
  getLoop(): BaseEventLoop {
    return this.loop;
  }

  getProtocol(): P {
    return this.protocol;
  }

  /** Switches protocols; the new one gets later events. */
  setProtocol(protocol: P): void {
    this.protocol = protocol;
  }

  /** 'pipe': the fd (owned by the transport; undefined once closed). Other names give `defaultValue`. */
  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    return name === 'pipe' && !this.#fdClosed ? this.fd : defaultValue;
  }

  isClosing(): boolean {
    return this.closing;
  }

  toString(): string {
    const state = this.#fdClosed ? 'closed' : this.closing ? 'closing' : 'open';
    return `<${this.name} fd=${this.fd} ${state}>`;
  }

  /** The readable callback (data, end of file, or the other end closed). */
  protected abstract readReady(): void;

  /** `protocol.connectionMade(this)`, typed by the subclass. */
  protected abstract callConnectionMade(): void;

  /**
   * @internal (FdOwner) The loop closed while this transport held its fd:
   * close it now, with no callbacks (connectionLost would need the loop),
   * dropping what was queued. Returns whether it was still open.
   */
  loopClosed(): boolean {
    if (this.#fdClosed) return false; // closed already (a subprocess transport closes its pipes first)
    const wasOpen = !this.closing;
    this.closing = true;
    this.lost = true;
    this.#lostCalled = true;
    this.stopReading(); // the flags only: the loop watches nothing any more
    this.stopWriting();
    this.dropQueued();
    this.#fdClosed = true;
    sys.close(this.fd);
    return wasOpen;
  }

  /** Forgets unsent data (a transport that writes has some). */
  protected dropQueued(): void {}

  /** Stops watching, then connectionLost(exc) on the next tick (once). */
  protected closeWith(exc: Error | null): void {
    this.closing = true;
    this.stopReading();
    this.stopWriting();
    if (this.lost) return;
    this.lost = true;
    this.loop.callSoon(() => this.callConnectionLost(exc), this.scheduleOptions);
  }

  /** Reports `exc` if it is a bug, or in debug mode a failure of the pipe itself (errors.ts, reportsFatalError), then closes with it. */
  protected fatalError(exc: unknown, message: string): void {
    if (reportsFatalError(exc, this.loop.getDebug(), isOtherEndGone)) this.loop.callExceptionHandler({ message, exception: exc, transport: this, protocol: this.protocol });
    this.closeWith(toError(exc));
  }

  protected callConnectionLost(exc: Error | null): void {
    if (this.#lostCalled) return;
    this.#lostCalled = true;
    this.lost = true;
    try {
      this.protocol.connectionLost?.(exc);
    } catch (exception) {
      this.loop.callExceptionHandler({ message: 'protocol.connectionLost() failed', exception, transport: this });
    } finally {
      this.stopReading();
      this.stopWriting();
      this.#fdClosed = true;
      this.loop.releaseFd(this.fd, this);
      sys.close(this.fd);
    }
  }

  protected startReading(): void {
    if (this.#readerActive) return;
    this.loop.watchOwnedFd(this.fd, 'read', this.#onReadable, this.scheduleOptions);
    this.#readerActive = true;
  }

  protected stopReading(): void {
    if (!this.#readerActive) return;
    this.#readerActive = false;
    if (!this.loop.isClosed()) this.loop.unwatchOwnedFd(this.fd, 'read');
  }

  protected startWriting(onWritable: () => void): void {
    if (this.#writerActive) return;
    this.loop.watchOwnedFd(this.fd, 'write', onWritable, this.scheduleOptions);
    this.#writerActive = true;
  }

  protected stopWriting(): void {
    if (!this.#writerActive) return;
    this.#writerActive = false;
    if (!this.loop.isClosed()) this.loop.unwatchOwnedFd(this.fd, 'write');
  }

  readonly #onReadable = (): void => this.readReady();

  /** First tick: connectionMade, then start watching (unless closed meanwhile). */
  #start(waiter: Future<void> | null, startReading: boolean): void {
    let step = 'protocol.connectionMade() failed';
    try {
      this.callConnectionMade();
      step = 'cannot watch the pipe';
      if (startReading && !this.closing && this.shouldReadAtStart()) this.startReading();
    } catch (exception) {
      this.fatalError(exception, step);
      if (waiter !== null && !waiter.done()) waiter.setException(exception);
      return;
    }
    if (waiter !== null && !waiter.done()) waiter.setResult();
  }

  /** Whether the first tick should add the reader (a read pipe paused in connectionMade should not). */
  protected shouldReadAtStart(): boolean {
    return true;
  }
}

/**
 * The read end of a pipe with a protocol on top (asyncio's
 * _UnixReadPipeTransport). Made by `loop.connectReadPipe`.
 *
 * @example
 * const [transport] = yield* loop.connectReadPipe(() => ({ dataReceived: (d) => console.log(d.toString()) }), fds[0]);
 */
export class ReadPipeTransport extends PipeTransport<ReadPipeProtocol> implements ReadTransport {
  protected readonly name = 'ReadPipeTransport';
  #paused = false;
  /** Whether the last read was small: the next read goes into the small slab (receive-slab.ts). */
  #expectSmallRead = true;

  /** Takes `fd` over (see the module comment); throws, leaving it the caller's, if it cannot carry a pipe transport. */
  constructor(loop: BaseEventLoop, fd: number, protocol: ReadPipeProtocol, options: PipeTransportOptions = {}) {
    adoptPipeFd(fd, 'ReadPipeTransport');
    super(loop, fd, protocol, options, true);
  }

  isReading(): boolean {
    return !this.#paused && !this.closing;
  }

  /** Stops calling `dataReceived` until `resumeReading()`; the pipe fills meanwhile, then its writer waits. */
  pauseReading(): void {
    if (!this.isReading()) return;
    this.#paused = true;
    this.stopReading();
  }

  resumeReading(): void {
    if (this.closing || !this.#paused) return;
    this.#paused = false;
    this.startReading();
  }

  /** Stops reading and calls connectionLost(null) on the next tick; then the fd is closed. */
  close(): void {
    if (!this.closing) this.closeWith(null);
  }

  protected override shouldReadAtStart(): boolean {
    return !this.#paused;
  }

  protected callConnectionMade(): void {
    this.protocol.connectionMade?.(this);
  }

  protected readReady(): void {
    if (this.closing) return;
    const got = readData(this.fd, this.#expectSmallRead);
    if (typeof got !== 'number') {
      this.#expectSmallRead = got.length < COPY_BELOW_BYTES;
      try {
        this.protocol.dataReceived?.(got);
      } catch (exception) {
        this.fatalError(exception, 'Fatal error: protocol.dataReceived() call failed.');
      }
    } else if (got === 0) {
      this.#readEof();
    } else if (got !== -EAGAIN) {
      this.fatalError(osError(got, 'read', `fd ${this.fd}`), 'Fatal read error on pipe transport');
    }
  }

  /** End of file: eofReceived, then connectionLost(null), on ticks of their own (asyncio's order). */
  #readEof(): void {
    this.closing = true;
    this.stopReading();
    this.lost = true;
    this.loop.callSoon(() => {
      try {
        this.protocol.eofReceived?.();
      } catch (exception) {
        this.loop.callExceptionHandler({ message: 'protocol.eofReceived() failed', exception, transport: this, protocol: this.protocol });
      }
    }, this.scheduleOptions);
    this.loop.callSoon(() => this.callConnectionLost(null), this.scheduleOptions);
  }
}

/**
 * The write end of a pipe with a protocol on top (asyncio's
 * _UnixWritePipeTransport). Made by `loop.connectWritePipe`.
 *
 * @example
 * const [transport] = yield* loop.connectWritePipe(() => ({}), fds[1]);
 * transport.write(Buffer.from('hello\n'));
 * transport.close(); // flushes, then closes: the reader sees end of file
 */
export class WritePipeTransport extends PipeTransport<WritePipeProtocol> implements WriteTransport {
  protected readonly name = 'WritePipeTransport';
  readonly #flow = new WriteFlowControl(
    {
      protocol: { pauseWriting: () => this.protocol.pauseWriting?.(), resumeWriting: () => this.protocol.resumeWriting?.() },
      report: (message, exception) => this.loop.callExceptionHandler({ message, exception, transport: this, protocol: this.protocol }),
    },
    'WritePipeTransport',
  );
  /** Unsent bytes, oldest first: each a private copy (write-queue.ts). */
  readonly #queue = new WriteQueue();
  /** The user called close(), abort() or writeEof(): further writes are a bug. */
  #closedByUser = false;
  #lostWrites = 0;
  readonly #onWritable = (): void => this.#writeReady();

  protected override dropQueued(): void {
    this.#queue.clear();
  }

  /** Takes `fd` over (see the module comment); throws, leaving it the caller's, if it cannot carry a pipe transport. */
  constructor(loop: BaseEventLoop, fd: number, protocol: WritePipeProtocol, options: PipeTransportOptions = {}) {
    const kind = adoptPipeFd(fd, 'WritePipeTransport');
    // Watching the write end for reading tells when the read end closes: pipes and sockets only (a tty would report input).
    super(loop, fd, protocol, options, kind.isFifo || kind.isSocket);
  }

  /**
   * Writes `data` (a Buffer, TypedArray or DataView): at once if the pipe
   * takes it, else later, in order. `data` may be reused as soon as this
   * returns. A string is a TypeError (encode it first).
   */
  write(data: BytesLike): void {
    checkBytes(data, 'WritePipeTransport.write');
    this.#checkWritable('write');
    const length = byteLengthOf(data);
    if (length === 0) return;
    if (this.lost) return this.#dropLostWrite();
    let written = 0;
    if (this.#queue.size === 0) {
      const n = sys.write(this.fd, data, 0, length);
      if (n === length) return;
      if (n >= 0) written = n;
      else if (n !== -EAGAIN) return this.fatalError(osError(n, 'write', `fd ${this.fd}`), 'Fatal write error on pipe transport');
      this.startWriting(this.#onWritable);
    }
    this.#queue.pushTail(data, written);
    this.#flow.maybePause(this.#queue.size);
  }

  /**
   * Writes the buffers in order, as one write: with nothing queued, one
   * writev sends them all (asyncio joins them). If any is not bytes, a
   * TypeError and none is written (all or nothing).
   */
  writelines(list: Iterable<BytesLike>): void {
    const items = checkByteList(list, 'WritePipeTransport.writelines');
    this.#checkWritable('writelines');
    if (items.length < 2 || this.#queue.size > 0 || this.lost) {
      for (const data of items) this.write(data);
      return;
    }
    let total = 0;
    for (const data of items) total += data.byteLength;
    if (total === 0) return;
    const n = sys.writev(this.fd, items);
    if (n === total) return;
    if (n < 0 && n !== -EAGAIN) return this.fatalError(osError(n, 'writev', `fd ${this.fd}`), 'Fatal write error on pipe transport');
    this.startWriting(this.#onWritable);
    this.#queue.pushUnsent(items, Math.max(n, 0));
    this.#flow.maybePause(this.#queue.size);
  }

  #checkWritable(who: string): void {
    if (this.#closedByUser) throw new RuntimeError(`WritePipeTransport.${who}: the transport is closing (close(), abort() or writeEof() was called), fd ${this.fd}`);
  }

  /** Closes the write end once the queue is flushed: the reader sees end of file. No-op if already closing. */
  writeEof(): void {
    if (this.closing) return;
    this.#closedByUser = true;
    this.closing = true;
    if (this.#queue.size === 0) this.closeWith(null);
  }

  canWriteEof(): boolean {
    return true;
  }

  /** As writeEof(): a write pipe has nothing else to close. */
  close(): void {
    this.writeEof();
  }

  /** Closes at once: queued data is dropped; connectionLost(null) on the next tick. */
  abort(): void {
    this.#closedByUser = true;
    this.#dropQueue();
    this.closeWith(null);
  }

  getWriteBufferSize(): number {
    return this.#queue.size;
  }

  getWriteBufferLimits(): [low: number, high: number] {
    return this.#flow.limits;
  }

  /** As the socket transport's: asyncio's `(high?, low?)` or one `{high?, low?}` object. */
  setWriteBufferLimits(high?: number, low?: number): void;
  setWriteBufferLimits(limits?: WriteBufferLimits): void;
  setWriteBufferLimits(highOrLimits?: number | WriteBufferLimits, low?: number): void {
    this.#flow.setLimits(highOrLimits, low, 'WritePipeTransport.setWriteBufferLimits', this.#queue.size);
  }

  protected callConnectionMade(): void {
    this.protocol.connectionMade?.(this);
  }

  /** The read end closed (the selector reports the write end's EPOLLERR as readable). */
  protected readReady(): void {
    if (this.lost) return;
    const unwritten = this.#dropQueue();
    this.closeWith(unwritten > 0 ? new BrokenPipeError(EPIPE, 'write', `fd ${this.fd}: the read end closed with ${unwritten} bytes unwritten`) : null);
  }

  /** Drops the queue and stops watching for writability; returns how many bytes were dropped. */
  #dropQueue(): number {
    this.stopWriting();
    return this.#queue.clear();
  }

  #writeReady(): void {
    if (this.lost || this.#queue.size === 0) return;
    const chunks = this.#queue.chunks;
    const head = chunks[0] as Uint8Array;
    const single = chunks.length === 1;
    const n = single ? sys.write(this.fd, head, 0, head.byteLength) : sys.writev(this.fd, chunks);
    if (n < 0) {
      if (n === -EAGAIN) return;
      this.#dropQueue();
      this.fatalError(osError(n, single ? 'write' : 'writev', `fd ${this.fd}`), 'Fatal write error on pipe transport');
      return;
    }
    this.#queue.consume(n);
    this.#flow.maybeResume(this.#queue.size); // resumeWriting may queue more
    if (this.#queue.size > 0) return;
    this.stopWriting();
    if (this.closing) this.callConnectionLost(null);
  }

  #dropLostWrite(): void {
    if (++this.#lostWrites === LOST_WRITES_WARN_THRESHOLD) {
      this.loop.logger.warn(`eventide: ${this}: writing to a closed pipe (the data is dropped; see connectionLost)`);
    }
  }
}
