/**
 * UdpTransport: a datagram socket (UDP, or AF_UNIX SOCK_DGRAM) with a
 * DatagramProtocol on top — asyncio's _SelectorDatagramTransport.
 *
 * Datagrams keep their boundaries, so nothing is merged or split: each
 * readable tick does one recvfrom and hands one datagram (copied out of
 * the shared receive buffer) and its sender to `datagramReceived`. A send
 * the kernel refuses with EAGAIN is queued whole, with its address, and
 * retried when the socket is writable; water marks apply to the queued
 * bytes as for stream transports.
 *
 * Errors are different from streams: a failed send or receive (an ICMP
 * "port unreachable" surfacing as ECONNREFUSED on a connected socket, a
 * too-large datagram) concerns one datagram, not the socket. They go to
 * `protocol.errorReceived(exc)` and the transport stays open. Only a
 * protocol method that throws is fatal.
 */
import { WriteFlowControl } from './flow-control.js';
import type { BaseEventLoop } from '../core/base-event-loop.js';
import { RuntimeError } from '../core/errors.js';
import type { Future } from '../tasks/future.js';
import { EAGAIN, osError, reportsFatalError, toError } from './errors.js';
import { READ_CHUNK_BYTES, sharedReceiveBuffer } from './socket-transport.js';
import { formatAddress, socketNames, toNativeAddress, toSocketAddress, TransportSocket, type NativeAddress } from './sockets.js';
import { newSockAddress, syscalls as sys } from './syscalls.js';
import {
  checkBytes,
  type AddressInput,
  type BytesLike,
  type DatagramProtocol,
  type DatagramTransport,
  type ExtraInfo,
  type SocketAddress,
  type WriteBufferLimits,
} from './transport.js';

interface Pending {
  data: Uint8Array;
  /** null: the connected peer. */
  to: NativeAddress | null;
}

export interface UdpTransportOptions {
  /** AF_INET, AF_INET6 or AF_UNIX. */
  family: number;
  /** The connected peer (remoteAddr), if any: sendto() must then omit the address or give this one. */
  remote?: AddressInput | null;
  waiter?: Future<void> | null;
}

function sameAddress(a: AddressInput, b: AddressInput): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  return a[0] === b[0] && a[1] === b[1];
}

/**
 * A datagram endpoint; made by `createDatagramEndpoint`. Owns its fd.
 *
 * @example
 * const [transport] = yield* loop.createDatagramEndpoint(() => proto, { remoteAddr: ['127.0.0.1', 9999] });
 * transport.sendto(Buffer.from('ping'));
 */
export class UdpTransport implements DatagramTransport {
  readonly #loop: BaseEventLoop;
  readonly #fd: number;
  #protocol: DatagramProtocol;
  /** Water marks and pauseWriting()/resumeWriting() (flow-control.ts); asks for the current protocol. */
  readonly #flow = new WriteFlowControl(
    {
      protocol: { pauseWriting: () => this.#protocol.pauseWriting?.(), resumeWriting: () => this.#protocol.resumeWriting?.() },
      report: (message, exception) => this.#loop.callExceptionHandler({ message, exception, transport: this, protocol: this.#protocol }),
    },
    'UdpTransport',
  );
  readonly #family: number;
  readonly #remote: AddressInput | null;
  /** Read once at creation, as asyncio does: still known after the close. */
  readonly #sockname: SocketAddress | undefined;
  readonly #peername: SocketAddress | undefined;
  /** Reused out-parameter for recvfrom's sender. */
  readonly #from = newSockAddress();
  readonly #queue: Pending[] = [];
  #bufferSize = 0;
  #closing = false;
  #closedByUser = false;
  #lost = false;
  #lostCalled = false;
  #fdClosed = false;
  #readerActive = false;
  #writerActive = false;
  readonly #onReadable = (): void => this.#readReady();
  readonly #onWritable = (): void => this.#writeReady();

  constructor(loop: BaseEventLoop, fd: number, protocol: DatagramProtocol, options: UdpTransportOptions) {
    this.#loop = loop;
    this.#fd = fd;
    this.#protocol = protocol;
    this.#family = options.family;
    this.#remote = options.remote ?? null;
    loop.claimFd(fd, this); // until the fd is closed: addReader & co. refuse it
    const names = socketNames(fd);
    this.#sockname = names.sockname;
    this.#peername = names.peername;
    const waiter = options.waiter ?? null;
    loop.callSoon(() => this.#start(waiter));
  }

  get fd(): number {
    return this.#fd;
  }

  getProtocol(): DatagramProtocol {
    return this.#protocol;
  }

  setProtocol(protocol: DatagramProtocol): void {
    this.#protocol = protocol;
  }

  getExtraInfo<K extends keyof ExtraInfo>(name: K): ExtraInfo[K] | undefined;
  getExtraInfo<K extends keyof ExtraInfo, D>(name: K, defaultValue: D): ExtraInfo[K] | D;
  getExtraInfo(name: string, defaultValue?: unknown): unknown;
  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    if (name === 'sockname') return this.#sockname ?? defaultValue;
    if (name === 'peername') return this.#peername ?? defaultValue;
    if (this.#fdClosed) return defaultValue; // the fd number may belong to someone else now
    if (name === 'socket') return new TransportSocket(this.#fd, this.#family, sys.constants.SOCK_DGRAM, () => !this.#fdClosed);
    return defaultValue;
  }

  isClosing(): boolean {
    return this.#closing;
  }

  /**
   * Sends one datagram (empty is allowed). `address` is required unless the
   * endpoint was made with `remoteAddr`. Never blocks: if the kernel has no
   * room the datagram is queued.
   */
  sendto(data: BytesLike, address?: AddressInput | null): void {
    checkBytes(data, 'UdpTransport.sendto');
    if (this.#closedByUser) throw new RuntimeError(`UdpTransport.sendto: the transport is ${this.#fdClosed ? 'closed' : 'closing'}, fd ${this.#fd}`);
    let to: NativeAddress | null = null;
    if (this.#remote !== null) {
      if (address != null && !sameAddress(address, this.#remote)) {
        throw new TypeError(`UdpTransport.sendto: this endpoint is connected to ${formatAddress(this.#remote)}; address must be omitted or equal to it, got ${formatAddress(address)}`);
      }
    } else {
      if (address == null) throw new TypeError('UdpTransport.sendto: address is required (the endpoint has no remoteAddr)');
      to = toNativeAddress(address, 'UdpTransport.sendto');
    }
    if (this.#lost) return;
    if (this.#queue.length === 0) {
      const n = this.#send(data, to);
      if (n >= 0) return;
      if (n !== -EAGAIN) return this.#errorReceived(osError(n, 'sendto', this.#detail(to)));
      this.#startWriting();
    }
    const copy = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
    this.#queue.push({ data: copy, to });
    this.#bufferSize += copy.byteLength;
    this.#flow.maybePause(this.#bufferSize);
  }

  getWriteBufferSize(): number {
    return this.#bufferSize;
  }

  getWriteBufferLimits(): [low: number, high: number] {
    return this.#flow.limits;
  }

  /**
   * Sets the write buffer's water marks: asyncio's `(high?, low?)` or one
   * `{high?, low?}` object. high defaults to 64 KiB (4 x low when only low
   * is given), low to high / 4. pauseWriting() is called at once if the
   * buffer is already above the new high mark.
   *
   * @example
   * transport.setWriteBufferLimits(1024);              // high 1024, low 256
   * transport.setWriteBufferLimits({ high: 1024, low: 0 });
   * transport.getWriteBufferLimits();                  // [0, 1024]: [low, high], as asyncio
   */
  setWriteBufferLimits(high?: number, low?: number): void;
  setWriteBufferLimits(limits?: WriteBufferLimits): void;
  setWriteBufferLimits(highOrLimits?: number | WriteBufferLimits, low?: number): void {
    this.#flow.setLimits(highOrLimits, low, 'UdpTransport.setWriteBufferLimits', this.#bufferSize);
  }

  /** Stops receiving; sends what is queued, then connectionLost(null) and the fd is closed. */
  close(): void {
    this.#closedByUser = true;
    if (this.#closing) return;
    this.#closing = true;
    this.#stopReading();
    if (this.#queue.length === 0) this.#scheduleLost(null);
  }

  /** Closes at once, dropping queued datagrams. */
  abort(): void {
    this.#closedByUser = true;
    this.#forceClose(null);
  }

  #forceClose(exc: Error | null): void {
    if (this.#lost) return;
    this.#queue.length = 0;
    this.#bufferSize = 0;
    this.#stopWriting();
    this.#closing = true;
    this.#stopReading();
    this.#scheduleLost(exc);
  }

  #scheduleLost(exc: Error | null): void {
    this.#lost = true;
    this.#loop.callSoon(() => this.#callConnectionLost(exc));
  }

  /**
   * @internal (FdOwner) The loop closed while this transport held its fd:
   * close it now, with no callbacks (connectionLost would need the loop),
   * dropping unsent datagrams. Returns whether it was still open.
   */
  loopClosed(): boolean {
    if (this.#fdClosed) return false; // closed already: the fd number may be someone else's now
    const wasOpen = !this.#closing;
    this.#closing = true;
    this.#lost = true;
    this.#lostCalled = true;
    this.#stopReading(); // the flags only: the loop watches nothing any more
    this.#stopWriting();
    this.#queue.length = 0;
    this.#bufferSize = 0;
    this.#fdClosed = true;
    sys.close(this.#fd);
    return wasOpen;
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
      this.#fdClosed = true;
      this.#loop.releaseFd(this.#fd, this);
      sys.close(this.#fd);
    }
  }

  #fatalError(exception: unknown, message: string): void {
    if (reportsFatalError(exception, this.#loop.getDebug())) this.#loop.callExceptionHandler({ message, exception, transport: this, protocol: this.#protocol });
    this.#forceClose(toError(exception));
  }

  #errorReceived(exc: Error): void {
    try {
      this.#protocol.errorReceived?.(exc);
    } catch (exception) {
      this.#fatalError(exception, 'Fatal error: protocol.errorReceived() call failed.');
    }
  }

  #start(waiter: Future<void> | null): void {
    try {
      this.#protocol.connectionMade?.(this);
      if (!this.#closing) this.#startReading();
    } catch (exception) {
      this.#fatalError(exception, 'protocol.connectionMade() failed');
      if (waiter !== null && !waiter.done()) waiter.setException(exception);
      return;
    }
    if (waiter !== null && !waiter.done()) waiter.setResult();
  }

  #send(data: BytesLike, to: NativeAddress | null): number {
    if (to === null) return sys.sendto(this.#fd, data, 0, data.byteLength, 0, sys.constants.AF_UNSPEC, '', 0);
    return sys.sendto(this.#fd, data, 0, data.byteLength, 0, to.family, to.host, to.port);
  }

  #readReady(): void {
    if (this.#closing) return;
    const buffer = sharedReceiveBuffer();
    const n = sys.recvfrom(this.#fd, buffer, 0, READ_CHUNK_BYTES, 0, this.#from);
    if (n === -EAGAIN) return;
    if (n < 0) return this.#errorReceived(osError(n, 'recvfrom', `fd ${this.#fd}`));
    const data = Buffer.allocUnsafe(n);
    buffer.copy(data, 0, 0, n);
    const sender = toSocketAddress(this.#from);
    try {
      this.#protocol.datagramReceived?.(data, sender);
    } catch (exception) {
      this.#fatalError(exception, 'Fatal error: protocol.datagramReceived() call failed.');
    }
  }

  #writeReady(): void {
    const queue = this.#queue;
    while (queue.length > 0 && !this.#lost) {
      const { data, to } = queue[0] as Pending;
      const n = this.#send(data, to);
      if (n === -EAGAIN) return;
      queue.shift();
      this.#bufferSize -= data.byteLength;
      if (n < 0) {
        this.#errorReceived(osError(n, 'sendto', this.#detail(to)));
        return;
      }
    }
    this.#flow.maybeResume(this.#bufferSize);
    if (queue.length > 0 || this.#lost) return;
    this.#stopWriting();
    if (this.#closing) this.#scheduleLost(null);
  }



  #startReading(): void {
    if (this.#readerActive) return;
    this.#loop.watchOwnedFd(this.#fd, 'read', this.#onReadable);
    this.#readerActive = true;
  }

  #stopReading(): void {
    if (!this.#readerActive) return;
    this.#readerActive = false;
    if (!this.#loop.isClosed()) this.#loop.unwatchOwnedFd(this.#fd, 'read');
  }

  #startWriting(): void {
    if (this.#writerActive) return;
    this.#loop.watchOwnedFd(this.#fd, 'write', this.#onWritable);
    this.#writerActive = true;
  }

  #stopWriting(): void {
    if (!this.#writerActive) return;
    this.#writerActive = false;
    if (!this.#loop.isClosed()) this.#loop.unwatchOwnedFd(this.#fd, 'write');
  }

  #detail(to: NativeAddress | null): string {
    const where = to === null ? (this.#remote === null ? '' : `, ${formatAddress(this.#remote)}`) : `, ${to.family === sys.constants.AF_UNIX ? to.host : formatAddress([to.host, to.port])}`;
    return `fd ${this.#fd}${where}`;
  }

  toString(): string {
    return `<UdpTransport fd=${this.#fd} ${this.#fdClosed ? 'closed' : this.#closing ? 'closing' : 'open'}>`;
  }
}

