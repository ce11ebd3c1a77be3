/**
 * Small socket helpers shared by transports, servers and the connect
 * functions: open a non-blocking socket, turn native addresses into
 * asyncio's tuples and back, name an address for an error message.
 *
 * Sockets here are plain fds. Every one is created SOCK_NONBLOCK and
 * SOCK_CLOEXEC in the same system call, so there is no window in which a
 * child process could inherit it or a read could block the loop.
 */
import { isIP } from 'node:net';
import { inspect } from 'node:util';
import { describe } from '../core/assert.js';
import { checkErrno, EBADF, osError } from './errors.js';
import { newSockAddress, syscalls as sys, type SockAddress } from './syscalls.js';
import type { AddressInput, SocketAddress, SocketInfo } from './transport.js';

const C = sys.constants;

/**
 * The platform's socket constants (AF_INET, SOCK_STREAM, SOL_SOCKET,
 * TCP_NODELAY, ...) for `family` options and `setsockoptInt`.
 *
 * @example
 * yield* createConnection(loop, factory, 'localhost', 80, { family: socketConstants.AF_INET });
 */
export const socketConstants = sys.constants;

/** socket(family, type | NONBLOCK | CLOEXEC) → fd; throws an OSError. */
export function openSocket(family: number, type: number, who: string): number {
  return checkErrno(sys.socket(family, type | C.SOCK_NONBLOCK | C.SOCK_CLOEXEC, 0), 'socket', who);
}

/** Closes `fd`, ignoring errors (used on failure paths, where the first error is the one to report). */
export function closeQuietly(fd: number): void {
  sys.close(fd);
}

/** AF_INET for '1.2.3.4', AF_INET6 for '::1', 0 for anything else (a name to resolve). */
export function numericFamily(host: string): number {
  const version = isIP(host.includes('%') ? (host.split('%')[0] as string) : host);
  return version === 4 ? C.AF_INET : version === 6 ? C.AF_INET6 : 0;
}

/** A native address as asyncio reports it: a tuple for IP, a path for Unix. */
export function toSocketAddress(address: SockAddress): SocketAddress {
  if (address.family === C.AF_INET6) return [address.address, address.port, address.flowInfo, address.scopeId];
  if (address.family === C.AF_UNIX) return address.address;
  return [address.address, address.port];
}

/** Which end of a socket to ask about: the two calls take the same arguments. */
type AddressCall = 'getsockname' | 'getpeername';

/** getsockname / getpeername of `fd` as a SocketAddress, or the call's negative errno. */
function queryAddress(call: AddressCall, fd: number): SocketAddress | number {
  const out = newSockAddress();
  const result = sys[call](fd, out);
  return result < 0 ? result : toSocketAddress(out);
}

/** getsockname as a SocketAddress, or undefined if the call fails. */
export function localAddress(fd: number): SocketAddress | undefined {
  const address = queryAddress('getsockname', fd);
  return typeof address === 'number' ? undefined : address;
}

/** getpeername as a SocketAddress, or undefined if the call fails (not connected, closed). */
export function peerAddress(fd: number): SocketAddress | undefined {
  const address = queryAddress('getpeername', fd);
  return typeof address === 'number' ? undefined : address;
}

/** What a socket transport records about its fd when it is created. */
export interface SocketNames {
  /** The address family (from getsockname), 0 if the call failed. */
  family: number;
  sockname: SocketAddress | undefined;
  /** undefined when the socket is not connected (yet, or any more: reset by the peer). */
  peername: SocketAddress | undefined;
}

/**
 * getsockname and getpeername of `fd`, once: two system calls, paid per
 * connection (asyncio's transports pay the same in their constructors) so
 * the answers outlive a reset (ENOTCONN) and the close of the fd.
 */
export function socketNames(fd: number): SocketNames {
  const local = newSockAddress();
  const named = sys.getsockname(fd, local) === 0;
  return { family: named ? local.family : 0, sockname: named ? toSocketAddress(local) : undefined, peername: peerAddress(fd) };
}

/** The family of a bound or connected socket (getsockname), 0 if unknown. */
export function socketFamily(fd: number): number {
  const out = newSockAddress();
  return sys.getsockname(fd, out) === 0 ? out.family : 0;
}

/** '127.0.0.1:80', '[::1]:80' or the Unix path: for error messages. */
export function formatAddress(address: SocketAddress | AddressInput): string {
  if (typeof address === 'string') return address.startsWith('\0') ? `@${address.slice(1)}` : address;
  const [host, port] = address;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Linux's sun_path: a path and its terminating NUL, or an abstract name and its leading NUL. */
const SUN_PATH_BYTES = 108;

/**
 * Throws unless `path` names one Unix socket exactly as given, before any
 * socket is opened: a TypeError (code ERR_INVALID_ARG_VALUE, as Node's
 * fs) for an empty path or a NUL byte inside it, where the kernel would
 * stop and use a shorter path; a RangeError for one longer than sun_path
 * holds (107 bytes; 108 for an abstract name with its leading NUL). A
 * leading NUL selects Linux's abstract namespace.
 */
export function checkUnixPath(path: string, who: string, argument: string): void {
  if (path.length === 0) throw new TypeError(`${who}: a Unix socket path must not be empty`);
  if (path.indexOf('\0', 1) !== -1) {
    const error = new TypeError(`${who}: The argument '${argument}' must be a string without null bytes (a leading one selects the abstract namespace). Received ${inspect(path)}`);
    throw Object.assign(error, { code: 'ERR_INVALID_ARG_VALUE' });
  }
  const bytes = Buffer.byteLength(path);
  const limit = path.startsWith('\0') ? SUN_PATH_BYTES : SUN_PATH_BYTES - 1;
  if (bytes > limit) throw new RangeError(`${who}: a Unix socket path must be at most ${limit} bytes, got ${bytes}: ${inspect(path)}`);
}

/** A checked, numeric address for the native calls. */
export interface NativeAddress {
  family: number;
  host: string;
  port: number;
}

/** Throws a RangeError unless `port` is an integer 0..65535. */
export function checkPort(port: unknown, who: string): asserts port is number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`${who}: port must be an integer 0..65535, got ${describe(port)}`);
  }
}

/**
 * A numeric address tuple or Unix path → what the native calls take.
 * Host names are refused here (resolve them first, see dns.ts).
 */
export function toNativeAddress(address: AddressInput, who: string): NativeAddress {
  if (typeof address === 'string') {
    checkUnixPath(address, who, 'address');
    return { family: C.AF_UNIX, host: address, port: 0 };
  }
  if (!Array.isArray(address) || typeof address[0] !== 'string') {
    throw new TypeError(`${who}: address must be [host, port] or a Unix path string, got ${describe(address)}`);
  }
  const [host, port, , scopeId] = address;
  checkPort(port, who);
  const family = numericFamily(host);
  if (family === 0) throw new TypeError(`${who}: '${host}' is not a numeric IP address (resolve names with getaddrinfo first)`);
  const withScope = family === C.AF_INET6 && scopeId && !host.includes('%') ? `${host}%${scopeId}` : host;
  return { family, host: withScope, port };
}

/** Sets TCP_NODELAY, as asyncio does for every TCP transport (small writes go out at once). */
export function setNoDelay(fd: number): void {
  sys.setsockoptInt(fd, C.IPPROTO_TCP, C.TCP_NODELAY, 1);
}

/** Whether `family` is an IP family (TCP options apply). */
export function isInetFamily(family: number): boolean {
  return family === C.AF_INET || family === C.AF_INET6;
}

/**
 * What `getExtraInfo('socket')` and `server.sockets` give: the fd, its
 * family and type, its addresses and int socket options (asyncio's
 * TransportSocket, minus the ability to close or block it).
 *
 * The fd stays its owner's (the transport or server). Once the owner has
 * closed it every method throws an OSError with errno EBADF, as Python's
 * methods do on a closed socket, instead of reaching whatever file the
 * number names by then.
 *
 * @example
 * const server = yield* loop.createServer(() => new Echo(), '127.0.0.1', 0);
 * const [host, port] = server.sockets[0]!.getsockname() as InetAddress; // asyncio: server.sockets[0].getsockname()[1]
 * const peer = transport.getExtraInfo('socket')!.getpeername();         // ['127.0.0.1', 50123]
 * transport.getExtraInfo('socket')!.setsockoptInt(socketConstants.SOL_SOCKET, socketConstants.SO_KEEPALIVE, 1);
 */
export class TransportSocket implements SocketInfo {
  readonly fd: number;
  readonly family: number;
  readonly type: number;
  readonly #isOpen: () => boolean;

  /**
   * @param isOpen whether the owner still holds `fd` open (default: always,
   *   for an fd whose lifetime the caller manages)
   */
  constructor(fd: number, family: number, type: number, isOpen: () => boolean = () => true) {
    this.fd = fd;
    this.family = family;
    this.type = type;
    this.#isOpen = isOpen;
  }

  /**
   * The socket's own address: `[host, port]` for AF_INET,
   * `[host, port, flowInfo, scopeId]` for AF_INET6, the path for AF_UNIX
   * ('' if unbound). Throws an OSError (syscall 'getsockname') on failure.
   */
  getsockname(): SocketAddress {
    return this.#address('getsockname');
  }

  /**
   * The connected peer's address, in the shape getsockname uses. Throws an
   * OSError (syscall 'getpeername'): errno ENOTCONN for a listening or
   * unconnected socket, EBADF once closed.
   */
  getpeername(): SocketAddress {
    return this.#address('getpeername');
  }

  getsockoptInt(level: number, name: number): number {
    return checkErrno(this.#isOpen() ? sys.getsockoptInt(this.fd, level, name) : -EBADF, 'getsockopt', this.#detail());
  }

  setsockoptInt(level: number, name: number, value: number): void {
    checkErrno(this.#isOpen() ? sys.setsockoptInt(this.fd, level, name, value) : -EBADF, 'setsockopt', this.#detail());
  }

  toString(): string {
    return `<TransportSocket fd=${this.fd} family=${this.family} type=${this.type}${this.#isOpen() ? '' : ' closed'}>`;
  }

  #address(call: AddressCall): SocketAddress {
    const address = this.#isOpen() ? queryAddress(call, this.fd) : -EBADF;
    if (typeof address === 'number') throw osError(address, call, this.#detail());
    return address;
  }

  #detail(): string {
    return this.#isOpen() ? `fd ${this.fd}` : `fd ${this.fd}, closed by its owner`;
  }
}
