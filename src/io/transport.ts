/**
 * Transports and protocols: asyncio's two halves of a connection.
 *
 * A *transport* owns the socket: it reads when the fd is readable, buffers
 * what cannot be written yet, and closes the fd exactly once. A *protocol*
 * is the user's code: it is told what happened (`connectionMade`,
 * `dataReceived`, `eofReceived`, `connectionLost`) and answers by calling
 * the transport (`write`, `close`, `pauseReading`). Neither waits for
 * anything: every method is a plain call from a loop callback, which is
 * why this layer is the fast one (no task, no future per message).
 *
 * The rules both sides rely on (asyncio's, kept exactly):
 *  - `connectionMade` is called once, on a loop tick after the transport
 *    is created (never inside the constructor);
 *  - `connectionLost(exc)` is called exactly once, last: `null` for a
 *    normal close or EOF, the error otherwise. After it returns the fd is
 *    closed;
 *  - `eofReceived()` returning a truthy value keeps the transport open for
 *    writing (half-close); otherwise the transport closes itself;
 *  - `pauseWriting()` is called when the write buffer grows above the high
 *    water mark, `resumeWriting()` once it drains to the low water mark —
 *    always in pairs, never twice in a row.
 *
 * Every protocol method is optional: a protocol that only cares about data
 * defines only `dataReceived`. A `BufferedProtocol` lends the transport
 * its own buffer instead (`getBuffer` / `bufferUpdated`, both required).
 *
 * Addresses are asyncio's tuples: `[host, port]` for IPv4,
 * `[host, port, flowInfo, scopeId]` for IPv6, and a path string for Unix
 * sockets.
 */
import { describe } from '../core/assert.js';
import { laneOf, type Priority } from '../core/priority.js';

/** An IPv4 address: `['127.0.0.1', 8080]`. */
export type InetAddress = [host: string, port: number];
/** An IPv6 address: `['::1', 8080, 0, 0]` (flow info and scope id last, as asyncio). */
export type Inet6Address = [host: string, port: number, flowInfo: number, scopeId: number];
/** A socket address as asyncio reports it: a tuple for IP, a path for Unix sockets. */
export type SocketAddress = InetAddress | Inet6Address | string;
/** An address given to eventide: `[host, port]` (IPv6 may add flow info and scope) or a Unix path. */
export type AddressInput = readonly [host: string, port: number] | readonly [host: string, port: number, flowInfo: number, scopeId: number] | string;

/** What `getExtraInfo('socket')` returns: the transport's fd, its kind and addresses. */
export interface SocketInfo {
  /** The file descriptor. Owned by the transport: never close it yourself. */
  readonly fd: number;
  /** AF_INET, AF_INET6 or AF_UNIX. */
  readonly family: number;
  /** SOCK_STREAM or SOCK_DGRAM. */
  readonly type: number;
  /** The socket's own address (asyncio's socket.getsockname()); throws an OSError on failure. */
  getsockname(): SocketAddress;
  /** The connected peer's address; throws an OSError (ENOTCONN when not connected). */
  getpeername(): SocketAddress;
  /** getsockopt for an int option; throws an OSError on failure. */
  getsockoptInt(level: number, name: number): number;
  /** setsockopt for an int option; throws an OSError on failure. */
  setsockoptInt(level: number, name: number, value: number): void;
}

/** The extra information transports can report, by name. */
export interface ExtraInfo {
  peername: SocketAddress;
  sockname: SocketAddress;
  socket: SocketInfo;
}

/** Bytes a transport accepts: a Buffer, any TypedArray or a DataView. */
export type BytesLike = ArrayBufferView;

/** Write-buffer water marks, in bytes. */
export interface WriteBufferLimits {
  high?: number;
  low?: number;
}

/** What every transport offers (asyncio.BaseTransport). */
export interface BaseTransport {
  /**
   * Optional information about the transport: 'peername', 'sockname',
   * 'socket'. Unknown names (or names that do not apply) give `defaultValue`.
   */
  getExtraInfo<K extends keyof ExtraInfo>(name: K): ExtraInfo[K] | undefined;
  getExtraInfo<K extends keyof ExtraInfo, D>(name: K, defaultValue: D): ExtraInfo[K] | D;
  getExtraInfo(name: string, defaultValue?: unknown): unknown;
  /** Whether `close()` or `abort()` was called, or the connection was lost. */
  isClosing(): boolean;
  /** Closes after the buffered data is sent; `connectionLost(null)` follows. */
  close(): void;
}

/** The reading half (asyncio.ReadTransport). */
export interface ReadTransport extends BaseTransport {
  isReading(): boolean;
  /** Stops calling `dataReceived` until `resumeReading()`; the kernel buffers meanwhile, and then the peer waits. */
  pauseReading(): void;
  resumeReading(): void;
}

/** The writing half (asyncio.WriteTransport). */
export interface WriteTransport extends BaseTransport {
  /** Sends `data` now if the socket takes it, else buffers it. Never blocks. */
  write(data: BytesLike): void;
  writelines(list: Iterable<BytesLike>): void;
  /** Half-close: shuts down the sending side once the buffer is flushed. */
  writeEof(): void;
  canWriteEof(): boolean;
  /** Closes now, dropping buffered data; `connectionLost(null)` follows. */
  abort(): void;
  getWriteBufferSize(): number;
  /** `[low, high]`, in the order asyncio's get_write_buffer_limits() returns them. */
  getWriteBufferLimits(): [low: number, high: number];
  /** asyncio's form: high (default 64 KiB, or 4 x low), low (default high / 4). See `resolveWaterMarks`. */
  setWriteBufferLimits(high?: number, low?: number): void;
  /** The same limits as one object. */
  setWriteBufferLimits(limits?: WriteBufferLimits): void;
}

/** A bidirectional stream transport (asyncio.Transport). */
export interface Transport extends ReadTransport, WriteTransport {}

/** A datagram (UDP) transport (asyncio.DatagramTransport). */
export interface DatagramTransport extends BaseTransport {
  /** Sends one datagram to `address` (or to the connected peer when omitted). */
  sendto(data: BytesLike, address?: AddressInput | null): void;
  abort(): void;
  getWriteBufferSize(): number;
  /** `[low, high]`, in the order asyncio's get_write_buffer_limits() returns them. */
  getWriteBufferLimits(): [low: number, high: number];
  /** asyncio's form: high (default 64 KiB, or 4 x low), low (default high / 4). See `resolveWaterMarks`. */
  setWriteBufferLimits(high?: number, low?: number): void;
  /** The same limits as one object. */
  setWriteBufferLimits(limits?: WriteBufferLimits): void;
}

/** What every protocol may implement (asyncio.BaseProtocol). All optional. */
export interface BaseProtocol<T extends BaseTransport = BaseTransport> {
  /** The connection is up; keep `transport` to write to it. */
  connectionMade?(transport: T): void;
  /** Called exactly once, last: `null` on a normal close or EOF, else the error. */
  connectionLost?(exc: Error | null): void;
  /** The transport's write buffer went over the high water mark. */
  pauseWriting?(): void;
  /** The write buffer drained to the low water mark. */
  resumeWriting?(): void;
}

/**
 * A stream protocol (asyncio.Protocol).
 *
 * @example
 * class Echo implements Protocol {
 *   transport!: Transport;
 *   connectionMade(transport: Transport) { this.transport = transport; }
 *   dataReceived(data: Buffer) { this.transport.write(data); }
 * }
 */
export interface Protocol extends BaseProtocol<Transport> {
  /** Bytes arrived. `data` is the protocol's to keep. */
  dataReceived?(data: Buffer): void;
  /** The peer shut down its sending side. Return true to keep writing (half-close). */
  eofReceived?(): boolean | void;
}

/**
 * A stream protocol that lends the transport its own buffer to receive
 * into (asyncio.BufferedProtocol): no allocation and no copy per read,
 * for protocols that parse in place or reuse one buffer.
 *
 * Each time the socket is readable the transport calls
 * `getBuffer(sizeHint)`, receives straight into the returned buffer, then
 * calls `bufferUpdated(nbytes)` with how many bytes it wrote at the
 * buffer's start (at least 1). The buffer is the protocol's again from
 * then on: it may return the same one next time. `sizeHint` is a
 * recommended minimum size, -1 for "any size" (what the socket transport
 * passes, as asyncio's does). The buffer must hold at least one byte:
 * an empty buffer, or something that is not a Buffer / TypedArray /
 * DataView, is a fatal error for that connection (reported to the loop's
 * exception handler; `connectionLost` gets the error; the loop goes on).
 * At EOF `eofReceived` is called, exactly as for a Protocol.
 *
 * @example
 * class Echo implements BufferedProtocol {
 *   readonly #buffer = Buffer.allocUnsafe(64 * 1024);
 *   transport!: Transport;
 *   connectionMade(transport: Transport) { this.transport = transport; }
 *   getBuffer(_sizeHint: number) { return this.#buffer; }
 *   bufferUpdated(nbytes: number) { this.transport.write(this.#buffer.subarray(0, nbytes)); } // write copies what it cannot send now
 * }
 */
export interface BufferedProtocol extends BaseProtocol<Transport> {
  /** A buffer to receive into, at least 1 byte; `sizeHint` is a recommended minimum (-1: any size). */
  getBuffer(sizeHint: number): ArrayBufferView;
  /** `nbytes` (>= 1) bytes were written at the start of the buffer `getBuffer` returned. */
  bufferUpdated(nbytes: number): void;
  /** The peer shut down its sending side. Return true to keep writing (half-close). */
  eofReceived?(): boolean | void;
}

/** What a stream transport accepts: a Protocol (data as Buffers it may keep) or a BufferedProtocol. */
export type StreamProtocol = Protocol | BufferedProtocol;

/**
 * Whether `protocol` is a BufferedProtocol: it has a `getBuffer` method
 * (asyncio tells the two kinds apart by class; here the method decides).
 *
 * @example
 * if (isBufferedProtocol(protocol)) protocol.getBuffer(-1);
 */
export function isBufferedProtocol(protocol: StreamProtocol): protocol is BufferedProtocol {
  return typeof (protocol as Partial<BufferedProtocol>).getBuffer === 'function';
}

/**
 * Throws a TypeError naming `who` unless `options.priority` is absent or a
 * priority name: checked at the call, before any fd is opened, so that no
 * transport fails for it later with an fd in hand.
 */
export function checkPriorityOption(options: { priority?: unknown } | null | undefined, who: string): void {
  const priority = options?.priority;
  if (priority !== undefined) laneOf(priority as Priority, `${who}: options.priority`);
}

/**
 * Calls a protocol factory and checks that it made a protocol: an object
 * (a class instance or a literal). Anything else (null, undefined, a
 * number, a class not called with `new`) is a TypeError naming `who` and
 * what came back, thrown before any transport is made, so the caller can
 * close the fd it was about to hand over. What the factory throws
 * passes through.
 */
export function makeProtocol<P>(protocolFactory: () => P, who: string): P {
  const protocol = protocolFactory();
  if (protocol === null || typeof protocol !== 'object') {
    throw new TypeError(`${who}: protocolFactory must return a protocol object, got ${describe(protocol)}`);
  }
  return protocol;
}

/**
 * A datagram protocol (asyncio.DatagramProtocol).
 *
 * @example
 * const echo: DatagramProtocol = {
 *   connectionMade(t) { transport = t; },
 *   datagramReceived(data, from) { transport.sendto(data, from); },
 * };
 */
export interface DatagramProtocol extends BaseProtocol<DatagramTransport> {
  datagramReceived?(data: Buffer, address: SocketAddress): void;
  /** A send or receive failed (e.g. ECONNREFUSED from an ICMP reply). The transport stays open. */
  errorReceived?(exc: Error): void;
}

/** After this many writes to a lost connection or pipe, a transport warns once (asyncio's LOG_THRESHOLD_FOR_CONNLOST_WRITES). */
export const LOST_WRITES_WARN_THRESHOLD = 5;

/** Default high water mark of a transport's write buffer (asyncio's 64 KiB). */
export const DEFAULT_HIGH_WATER = 64 * 1024;

/**
 * The arguments of `setWriteBufferLimits`, in either of its forms, as
 * `[low, high]`: asyncio's positional `(high?, low?)` or eventide's
 * `({high?, low?})`. asyncio's rules: high defaults to 64 KiB, or 4 x low
 * when only low is given; low defaults to high / 4 (rounded down);
 * 0 <= low <= high.
 *
 * Bad input names the argument: a mark that is not a number (a string,
 * null, an array), an object with other keys, or an object followed by a
 * second argument is a TypeError; a negative or fractional mark, or low
 * above high, is a RangeError.
 *
 * @example
 * resolveWaterMarks(1024, undefined, who);          // [256, 1024]
 * resolveWaterMarks(undefined, 1000, who);          // [1000, 4000]
 * resolveWaterMarks({ high: 1024, low: 0 }, undefined, who); // [0, 1024]
 */
export function resolveWaterMarks(highOrLimits: unknown, lowArg: unknown, who: string): [low: number, high: number] {
  let highIn: unknown = highOrLimits;
  let lowIn: unknown = lowArg;
  let names = ['high', 'low'] as const as readonly [string, string];
  if (typeof highOrLimits === 'object' && highOrLimits !== null && !Array.isArray(highOrLimits)) {
    if (lowArg !== undefined) {
      throw new TypeError(`${who}: pass the limits as (high, low) numbers or as one {high, low} object, not both: got an object and then ${describe(lowArg)}`);
    }
    for (const key of Object.keys(highOrLimits)) {
      if (key !== 'high' && key !== 'low') throw new TypeError(`${who}: limits may only have the keys high and low, got ${JSON.stringify(key)}`);
    }
    ({ high: highIn, low: lowIn } = highOrLimits as WriteBufferLimits);
    names = ['limits.high', 'limits.low'];
  }
  const high = checkWaterMark(highIn, names[0], who);
  const low = checkWaterMark(lowIn, names[1], who);
  const resolvedHigh = high ?? (low === undefined ? DEFAULT_HIGH_WATER : 4 * low);
  const resolvedLow = low ?? Math.floor(resolvedHigh / 4);
  if (resolvedLow > resolvedHigh) throw new RangeError(`${who}: high (${resolvedHigh}) must be >= low (${resolvedLow})`);
  return [resolvedLow, resolvedHigh];
}

/** `value` as a byte count, undefined when omitted; a TypeError or RangeError naming `name` otherwise. */
function checkWaterMark(value: unknown, name: string, who: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number') throw new TypeError(`${who}: ${name} must be a number of bytes (or omitted), got ${describe(value)}`);
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${who}: ${name} must be a non-negative integer number of bytes, got ${value}`);
  return value;
}

/**
 * `data.byteLength`, read cheaply for byte arrays. Why: Node 20's
 * optimizing compiler does not inline the `byteLength` getter of typed
 * arrays (about 10 ns a read, measured), while it does inline `length`
 * (about 1 ns), and for a Buffer or Uint8Array the two are equal. A
 * transport's `write` reads it once per call.
 *
 * @example
 * byteLengthOf(Buffer.from('abc'));           // 3
 * byteLengthOf(new Uint32Array(2));           // 8
 */
export function byteLengthOf(data: BytesLike): number {
  return data instanceof Uint8Array ? data.length : data.byteLength;
}

/**
 * The buffers of `list`, every one checked before any is written (as
 * asyncio's writelines joins them first): an item that is not bytes is a
 * TypeError naming its index, and nothing is written.
 *
 * @example
 * const items = checkByteList(list, 'SocketTransport.writelines'); // then one writev
 */
export function checkByteList(list: unknown, who: string): BytesLike[] {
  if (list === null || typeof list !== 'object' || typeof (list as Partial<Iterable<unknown>>)[Symbol.iterator] !== 'function') {
    throw new TypeError(`${who}: list must be an iterable of buffers, got ${describe(list)}`);
  }
  const items = Array.from(list as Iterable<unknown>);
  items.forEach((data, i) => checkBytes(data, `${who}: list[${i}]`));
  return items as BytesLike[];
}

/** Throws a TypeError unless `data` is a Buffer, TypedArray or DataView. */
export function checkBytes(data: unknown, who: string): asserts data is BytesLike {
  if (!ArrayBuffer.isView(data)) {
    const got = typeof data === 'string' ? 'a string (encode it first: Buffer.from(text))' : data === null ? 'null' : typeof data;
    throw new TypeError(`${who}: data must be a Buffer, TypedArray or DataView, got ${got}`);
  }
}
