/**
 * Making connections, servers and datagram endpoints: asyncio's
 * `loop.create_connection`, `create_server`, `create_unix_connection`,
 * `create_unix_server`, `create_datagram_endpoint` and
 * `connect_accepted_socket`, as functions of a loop.
 *
 * Each returns a Task — so a task can `yield*` it and async code can
 * `await` it — that resolves once the protocol's `connectionMade` has run
 * (for connections) or the sockets listen (for servers). Arguments are
 * checked before the task is made: a bad one throws at the call.
 *
 * Connecting to a name tries each address the resolver gives, in order,
 * and fails with the error if they all failed the same way (so
 * `ConnectionRefusedError` stays catchable), or an AggregateError of the
 * different errors. With `happyEyeballsDelayMs` the attempts overlap
 * (RFC 8305, staggered.ts) and may be reordered by family
 * (interleave.ts). Every fd opened on the way is closed on failure and on
 * cancellation.
 *
 * Loops with these as methods: NodeEventLoop (node-event-loop.ts).
 */
import { statSync, unlinkSync } from 'node:fs';
import { checkCallback, checkOptionalBoolean, describe } from '../core/assert.js';
import type { Priority } from '../core/priority.js';
import type { EventLoop } from '../tasks/event-loop.js';
import type { Coroutine } from '../tasks/operation.js';
import type { Task } from '../tasks/task.js';
import { UdpTransport } from './datagram-transport.js';
import { getaddrinfo, type AddrInfo } from './dns.js';
import { checkErrno, OSError, osError } from './errors.js';
import { checkFd } from './selector-support.js';
import { checkIoOptions } from './io-options.js';
import { onResultDropped } from '../tasks/dropped-result.js';
import { checkServerOptions, Server, type Listener } from './server.js';
import { sockConnect } from './sock.js';
import { SocketTransport } from './socket-transport.js';
import { checkPort, checkUnixPath, closeQuietly, formatAddress, isInetFamily, openSocket, setNoDelay, socketFamily, toNativeAddress, type NativeAddress } from './sockets.js';
import { checkDelayMs, staggeredRace } from './staggered.js';
import { interleaveAddrinfos } from './interleave.js';
import { syscalls as sys } from './syscalls.js';
import { checkPriorityOption, makeProtocol, type AddressInput, type DatagramProtocol, type StreamProtocol } from './transport.js';

const C = sys.constants;

export interface CreateConnectionOptions {
  /** Only addresses of this family (AF_INET / AF_INET6). Default: any. */
  family?: number;
  /** Bind the socket to this numeric address before connecting. */
  localAddr?: AddressInput | null;
  /** Use this already connected socket fd instead (host and port must be null). The transport takes it over. */
  sock?: number | null;
  /** Priority of the connection's callbacks. Default 'normal'. */
  priority?: Priority;
  /**
   * Happy Eyeballs (RFC 8305), asyncio's `happy_eyeballs_delay` (in ms
   * here): the attempts to the resolved addresses overlap. The next one
   * starts when the previous one fails or this many ms after it started,
   * whichever comes first; the first to connect wins, and every other
   * attempt is cancelled and its socket closed. RFC 8305 recommends 250.
   * A finite number >= 0. Default null: one address at a time, each after
   * the previous one failed.
   */
  happyEyeballsDelayMs?: number | null;
  /**
   * asyncio's `interleave`: reorder the resolved addresses so that
   * families alternate, the resolver's first family leading with this many
   * (interleaveAddrinfos); 0 keeps the resolver's order. A non-negative
   * integer. Default null: 1 when `happyEyeballsDelayMs` is given, else 0.
   */
  interleave?: number | null;
  /**
   * asyncio 3.12's `all_errors`: when every address fails, throw an
   * AggregateError of every attempt's error (in the order tried), even if
   * there was only one. Default false: the error itself when they are all
   * alike (so `ConnectionRefusedError` stays catchable), else an
   * AggregateError.
   */
  allErrors?: boolean | null;
}

export interface CreateServerOptions {
  /** listen() backlog. Default 100. */
  backlog?: number;
  /** SO_REUSEPORT: several servers (processes) share the port. Default false. */
  reusePort?: boolean;
  /** SO_REUSEADDR (rebind while old connections linger in TIME_WAIT). Default true, as asyncio on Unix. */
  reuseAddress?: boolean;
  /**
   * SO_KEEPALIVE on the listening sockets, which the accepted connections
   * inherit: the kernel probes idle peers and a dead one ends the
   * connection (asyncio 3.13's `keep_alive`). Not applied to a given
   * `sock`. Default false.
   */
  keepAlive?: boolean;
  /** Only this family when `host` is a name or null. */
  family?: number;
  /** Serve on this already bound socket fd instead (host and port must be null). */
  sock?: number | null;
  /** Start accepting at once. Default true; else call `server.startServing()`. */
  startServing?: boolean;
  /** Pause after EMFILE & co. before accepting again (ms). Default 1000. */
  acceptRetryDelayMs?: number;
  priority?: Priority;
}

export interface CreateUnixServerOptions {
  backlog?: number;
  sock?: number | null;
  startServing?: boolean;
  acceptRetryDelayMs?: number;
  /** Remove the socket file when the server closes. Default true. */
  cleanupSocket?: boolean;
  priority?: Priority;
}

export interface DatagramEndpointOptions {
  /** Bind here: `[host, port]` (port 0: any) or a Unix path. */
  localAddr?: AddressInput | null;
  /** Connect to this peer: sendto() then needs no address and only its datagrams arrive. */
  remoteAddr?: AddressInput | null;
  /** AF_INET / AF_INET6 / AF_UNIX when neither address says. */
  family?: number;
  reusePort?: boolean;
  /** SO_BROADCAST. */
  allowBroadcast?: boolean;
  /** Use this datagram socket fd instead. */
  sock?: number | null;
}

function checkFactory(factory: unknown, who: string): void {
  checkCallback(factory, `${who}: protocolFactory`);
}

function checkHostPort(host: unknown, port: unknown, sock: unknown, who: string): void {
  if (sock != null) {
    checkFd(sock, `${who}: options.sock`);
    if (host != null || port != null) throw new TypeError(`${who}: host and port must be null when options.sock is given`);
    return;
  }
  if (typeof host !== 'string' || host.length === 0) throw new TypeError(`${who}: host must be a non-empty string, got ${describe(host)}`);
  checkPort(port, who);
}

/** One error if they are all alike (same class and code), else (or with `all`) an AggregateError. */
function combinedError(errors: unknown[], what: string, all = false): unknown {
  if (all) return new AggregateError(errors, `${what} failed: ${errors.map((e) => (e instanceof Error ? e.message : String(e))).join('; ')}`);
  const first = errors[0];
  const alike = errors.every((e) => e instanceof OSError && first instanceof OSError && e.constructor === first.constructor && e.code === first.code);
  if (errors.length === 1 || alike) return first;
  return new AggregateError(errors, `${what}: ${errors.map((e) => (e instanceof Error ? e.message : String(e))).join('; ')}`);
}

/** How createConnection tries the resolved addresses: its options, checked (checkConnectPlan). */
export interface ConnectPlan {
  localAddr: NativeAddress | null;
  /** null: one at a time (no Happy Eyeballs). */
  happyEyeballsDelayMs: number | null;
  /** 0: the resolver's order. */
  interleave: number;
  /** Throw every attempt's error as one AggregateError (CreateConnectionOptions.allErrors). */
  allErrors: boolean;
}

/** @internal The options that say how to try the addresses, checked at the call (TypeError / RangeError naming the option). */
export function checkConnectPlan(options: CreateConnectionOptions, who: string): ConnectPlan {
  const localAddr = options.localAddr == null ? null : toNativeAddress(options.localAddr, `${who}: options.localAddr`);
  const happyEyeballsDelayMs = checkDelayMs(options.happyEyeballsDelayMs, `${who}: options.happyEyeballsDelayMs`);
  const { interleave } = options;
  if (interleave != null && typeof interleave !== 'number') throw new TypeError(`${who}: options.interleave must be a non-negative integer or null, got ${describe(interleave)}`);
  if (interleave != null && !(Number.isInteger(interleave) && interleave >= 0)) throw new RangeError(`${who}: options.interleave must be a non-negative integer or null, got ${describe(interleave)}`);
  // asyncio: a delay without an interleave means interleave=1.
  const { allErrors } = options;
  checkOptionalBoolean(allErrors, `${who}: options.allErrors`, true);
  return { localAddr, happyEyeballsDelayMs, interleave: interleave ?? (happyEyeballsDelayMs === null ? 0 : 1), allErrors: allErrors ?? false };
}

/** Binds `fd` to `localAddr` (if any) and connects it to `address`; closes it on any failure, cancellation included. */
function* connectSocket(loop: EventLoop, fd: number, address: AddressInput, localAddr: NativeAddress | null): Coroutine<void> {
  try {
    if (localAddr !== null) checkErrno(sys.bind(fd, localAddr.family, localAddr.host, localAddr.port), 'bind', `local address for ${formatAddress(address)}`);
    yield* sockConnect(loop, fd, address);
  } catch (error) {
    closeQuietly(fd);
    throw error;
  }
}

/**
 * @internal Connects a new TCP socket to the first of `infos` that
 * accepts, as `plan` says; evaluates to `[fd, family]` (the caller owns the
 * fd). Every other fd is closed, on failure and on cancellation too. Fails
 * with the attempts' combined error, or with a TypeError when no address
 * has localAddr's family. `host` and `port` only name the target in
 * errors. createConnection's body after the resolver, and the entry tests
 * use to give their own addresses.
 */
export function* connectToAny(loop: EventLoop, infos: readonly AddrInfo[], plan: ConnectPlan, host: string, port: number): Coroutine<[fd: number, family: number]> {
  const { localAddr } = plan;
  let candidates = localAddr === null ? infos : infos.filter(([family]) => family === localAddr.family);
  if (candidates.length === 0) throw new TypeError(`createConnection: no address of ${host} matches the family of localAddr`);
  const what = `createConnection(${host}, ${port})`;
  if (plan.interleave > 0) candidates = interleaveAddrinfos(candidates, plan.interleave);
  if (plan.happyEyeballsDelayMs !== null) return yield* raceAddresses(loop, candidates, plan.happyEyeballsDelayMs, localAddr, what, plan.allErrors);
  const errors: unknown[] = [];
  for (const [family, , , , address] of candidates) {
    let fd: number;
    try {
      // socket() failing (EMFILE, EAFNOSUPPORT) is this address's failure, as asyncio counts it: the next is tried.
      fd = openSocket(family, C.SOCK_STREAM, 'createConnection');
      yield* connectSocket(loop, fd, address, localAddr);
    } catch (error) {
      if (!(error instanceof OSError)) throw error; // cancellation and bugs end the attempt
      errors.push(error);
      continue;
    }
    return [fd, family];
  }
  throw combinedError(errors, what, plan.allErrors);
}

/** Happy Eyeballs: the attempts staggered by `delayMs`; the first connected socket wins, the others are closed. */
function* raceAddresses(loop: EventLoop, infos: readonly AddrInfo[], delayMs: number, localAddr: NativeAddress | null, what: string, allErrors: boolean): Coroutine<[fd: number, family: number]> {
  const attempts = infos.map(([family, , , , address]) => function* (): Coroutine<[number, number]> {
    const fd = openSocket(family, C.SOCK_STREAM, 'createConnection');
    yield* connectSocket(loop, fd, address, localAddr);
    return [fd, family];
  });
  const { winner, errors } = yield* staggeredRace(loop, attempts, delayMs, { name: what, discard: ([fd]) => closeQuietly(fd) });
  if (winner !== null) return winner.result;
  // As one at a time would: a bug is not folded into the connection errors.
  const bug = errors.find((error) => !(error instanceof OSError));
  throw bug !== undefined ? bug : combinedError(errors, what, allErrors);
}

/** Resolves `host` unless it is numeric (no resolver round-trip then). */
function* resolve(loop: EventLoop, host: string, port: number, family: number, type: number): Coroutine<AddrInfo[]> {
  const infos = yield* getaddrinfo(loop, host, port, { family, type });
  if (infos.length === 0) throw new Error(`getaddrinfo(${host}) returned no addresses of the requested family`);
  return infos;
}

/** Wraps a connected fd in a transport and waits for connectionMade; closes the fd if no protocol comes of the factory. */
function* wrapConnected<P extends StreamProtocol>(loop: EventLoop, fd: number, factory: () => P, family: number, priority: Priority | undefined, who: string): Coroutine<[SocketTransport, P]> {
  loop.checkFdNotOwned(fd, who); // a given sock may be a live transport's: not to be taken over (nor closed here)
  let protocol: P;
  try {
    if (isInetFamily(family)) setNoDelay(fd);
    protocol = makeProtocol(factory, who);
  } catch (error) {
    closeQuietly(fd);
    throw error;
  }
  const waiter = loop.createFuture<void>();
  waiter.label = `connectionMade fd ${fd}`;
  let transport: SocketTransport;
  try {
    transport = new SocketTransport(loop, fd, protocol, { waiter, family, ...(priority ? { priority } : {}) });
  } catch (error) {
    closeQuietly(fd); // no transport took it
    throw error;
  }
  try {
    yield* waiter;
  } catch (error) {
    transport.abort();
    throw error;
  }
  return [transport, protocol];
}

/**
 * Opens a TCP connection to `host:port` and wraps it in a SocketTransport
 * with the protocol `protocolFactory()` makes. Resolves to
 * `[transport, protocol]` after `connectionMade`.
 *
 * @example
 * const [transport, protocol] = yield* createConnection(loop, () => new Client(), '127.0.0.1', 8888);
 * // Happy Eyeballs: the next address 250 ms after the previous one, unless it failed sooner
 * const [t] = yield* createConnection(loop, () => new Client(), 'example.com', 80, { happyEyeballsDelayMs: 250 });
 */
export function createConnection<P extends StreamProtocol>(
  loop: EventLoop,
  protocolFactory: () => P,
  host: string | null,
  port: number | null,
  options: CreateConnectionOptions = {},
): Task<[SocketTransport, P]> {
  const connecting = connectionCoroutine(loop, protocolFactory, host, port, options);
  const task = loop.createTask(connecting, { name: `createConnection ${host ?? `fd ${options.sock}`}:${port ?? ''}` });
  return onResultDropped(task, ([transport]) => transport.close()); // a waiter cancelled as it connected: nobody holds it
}

/**
 * @internal createConnection's arguments checked here, at the call; its
 * work as a coroutine, for a task that goes on with the connection
 * (openConnection): run in that task, a cancellation can only land where
 * the connection is still closed on it, never after it is made.
 */
export function connectionCoroutine<P extends StreamProtocol>(
  loop: EventLoop,
  protocolFactory: () => P,
  host: string | null,
  port: number | null,
  options: CreateConnectionOptions,
): Coroutine<[SocketTransport, P]> {
  checkFactory(protocolFactory, 'createConnection');
  checkIoOptions(options, 'createConnection');
  checkPriorityOption(options, 'createConnection');
  checkHostPort(host, port, options.sock, 'createConnection');
  const plan = checkConnectPlan(options, 'createConnection');
  return (function* (): Coroutine<[SocketTransport, P]> {
    if (options.sock != null) return yield* wrapConnected(loop, options.sock, protocolFactory, socketFamily(options.sock), options.priority, 'createConnection');
    const infos = yield* resolve(loop, host as string, port as number, options.family ?? 0, C.SOCK_STREAM);
    const [fd, family] = yield* connectToAny(loop, infos, plan, host as string, port as number);
    return yield* wrapConnected(loop, fd, protocolFactory, family, options.priority, 'createConnection');
  })();
}

/** Throws at the call, before any socket is opened, unless `path` is a usable Unix socket path (checkUnixPath). */
function checkPathArgument(path: unknown, who: string): void {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError(`${who}: path must be a non-empty string, got ${describe(path)}`);
  checkUnixPath(path, who, 'path');
}

/**
 * Connects to the Unix socket at `path` (a leading '\0' selects the
 * abstract namespace). A path with a NUL byte inside or longer than 107
 * bytes is refused at the call (TypeError, RangeError).
 *
 * @example
 * const [transport] = yield* createUnixConnection(loop, () => new Client(), '/tmp/app.sock');
 */
export function createUnixConnection<P extends StreamProtocol>(
  loop: EventLoop,
  protocolFactory: () => P,
  path: string | null,
  options: { sock?: number | null; priority?: Priority } = {},
): Task<[SocketTransport, P]> {
  const connecting = unixConnectionCoroutine(loop, protocolFactory, path, options);
  const task = loop.createTask(connecting, { name: `createUnixConnection ${path ?? `fd ${options.sock}`}` });
  return onResultDropped(task, ([transport]) => transport.close()); // see createConnection
}

/** @internal createUnixConnection's checks at the call and its work as a coroutine (see connectionCoroutine). */
export function unixConnectionCoroutine<P extends StreamProtocol>(
  loop: EventLoop,
  protocolFactory: () => P,
  path: string | null,
  options: { sock?: number | null; priority?: Priority },
): Coroutine<[SocketTransport, P]> {
  checkFactory(protocolFactory, 'createUnixConnection');
  checkIoOptions(options, 'createUnixConnection');
  checkPriorityOption(options, 'createUnixConnection');
  if (options.sock != null) checkFd(options.sock, 'createUnixConnection: options.sock');
  else checkPathArgument(path, 'createUnixConnection');
  return (function* (): Coroutine<[SocketTransport, P]> {
    if (options.sock != null) return yield* wrapConnected(loop, options.sock, protocolFactory, C.AF_UNIX, options.priority, 'createUnixConnection');
    const fd = openSocket(C.AF_UNIX, C.SOCK_STREAM, 'createUnixConnection');
    try {
      yield* sockConnect(loop, fd, path as string);
    } catch (error) {
      closeQuietly(fd);
      throw error;
    }
    return yield* wrapConnected(loop, fd, protocolFactory, C.AF_UNIX, options.priority, 'createUnixConnection');
  })();
}

/**
 * Wraps an already connected stream socket fd (accepted elsewhere, or one
 * end of a socketpair) in a transport (asyncio's connect_accepted_socket).
 *
 * @example
 * const [transport, protocol] = yield* connectAcceptedSocket(loop, () => new Echo(), fd);
 */
export function connectAcceptedSocket<P extends StreamProtocol>(loop: EventLoop, protocolFactory: () => P, sock: number, options: { priority?: Priority } = {}): Task<[SocketTransport, P]> {
  checkFactory(protocolFactory, 'connectAcceptedSocket');
  checkIoOptions(options, 'connectAcceptedSocket');
  checkPriorityOption(options, 'connectAcceptedSocket');
  checkFd(sock, 'connectAcceptedSocket: sock');
  const task = loop.createTask(() => wrapConnected(loop, sock, protocolFactory, socketFamily(sock), options.priority, 'connectAcceptedSocket'), { name: `connectAcceptedSocket fd ${sock}` });
  return onResultDropped(task, ([transport]) => transport.close()); // see createConnection
}

/** Binds a listening-to-be socket for one address; closes it on failure. */
function bindListener(family: number, host: string, port: number, options: CreateServerOptions): Listener {
  const fd = openSocket(family, C.SOCK_STREAM, 'createServer');
  try {
    if (options.reuseAddress ?? true) checkErrno(sys.setsockoptInt(fd, C.SOL_SOCKET, C.SO_REUSEADDR, 1), 'setsockopt', 'SO_REUSEADDR');
    if (options.reusePort) checkErrno(sys.setsockoptInt(fd, C.SOL_SOCKET, C.SO_REUSEPORT, 1), 'setsockopt', 'SO_REUSEPORT');
    if (options.keepAlive) checkErrno(sys.setsockoptInt(fd, C.SOL_SOCKET, C.SO_KEEPALIVE, 1), 'setsockopt', 'SO_KEEPALIVE');
    // Serve IPv6 on the IPv6 socket only: '::' must not also claim IPv4's port (asyncio does the same).
    if (family === C.AF_INET6) sys.setsockoptInt(fd, C.IPPROTO_IPV6, C.IPV6_V6ONLY, 1);
    checkErrno(sys.bind(fd, family, host, port), 'bind', `while attempting to bind on address ${formatAddress([host, port])}`);
  } catch (error) {
    closeQuietly(fd);
    throw error;
  }
  return { fd, family };
}

/**
 * Listens on `host:port` (TCP) and serves each connection with a new
 * protocol from `protocolFactory`. `host` null (or '' or undefined, as
 * asyncio) listens on all interfaces (IPv4 and, where available, IPv6); a
 * list listens on each; port 0 picks a free port (see `server.addresses()`).
 *
 * @example
 * const server = yield* createServer(loop, () => new Echo(), '127.0.0.1', 0, { backlog: 512 });
 * const [[host, port]] = server.addresses() as [string, number][];
 */
export function createServer(
  loop: EventLoop,
  protocolFactory: () => StreamProtocol,
  host: string | readonly string[] | null | undefined,
  port: number | null,
  options: CreateServerOptions = {},
): Task<Server> {
  checkFactory(protocolFactory, 'createServer');
  checkIoOptions(options, 'createServer');
  checkPriorityOption(options, 'createServer');
  if (host === '' || host === undefined) host = null; // all interfaces, as asyncio's `host == '' or host is None`
  if (options.sock != null) checkFd(options.sock, 'createServer: options.sock');
  else {
    if (host !== null && typeof host !== 'string' && !(Array.isArray(host) && host.every((h) => typeof h === 'string'))) {
      throw new TypeError(`createServer: host must be a string, a list of strings or null, got ${describe(host)}`);
    }
    checkPort(port, 'createServer');
  }
  checkServerOptions(options, 'createServer');
  // null is the default, as undefined (asyncio's None; `?? default` below reads it so).
  for (const flag of ['reusePort', 'reuseAddress', 'keepAlive', 'startServing'] as const) checkOptionalBoolean(options[flag], `createServer: options.${flag}`, true);
  const task = loop.createTask(function* (): Coroutine<Server> {
    const listeners: Listener[] = [];
    try {
      if (options.sock != null) {
        listeners.push({ fd: options.sock, family: socketFamily(options.sock) });
      } else if (host === null) {
        listeners.push(...bindWildcard(port as number, options));
      } else {
        const hosts = typeof host === 'string' ? [host] : host;
        const seen = new Set<string>();
        for (const name of hosts) {
          for (const [family, , , , [address]] of yield* resolve(loop, name, port as number, options.family ?? 0, C.SOCK_STREAM)) {
            if (seen.has(address)) continue;
            seen.add(address);
            listeners.push(bindListener(family, address, port as number, options));
          }
        }
      }
    } catch (error) {
      for (const { fd } of listeners) closeQuietly(fd);
      throw error;
    }
    const server = new Server(loop, listeners, protocolFactory, serverOptions(options));
    if (options.startServing ?? true) startOrClose(server);
    return server;
  }, { name: `createServer ${host ?? '*'}:${port ?? ''}` });
  return onResultDropped(task, (server) => server.close()); // a waiter cancelled as it started: nobody would close it
}

/** host null: 0.0.0.0 and, if the machine has IPv6, '::'. */
function bindWildcard(port: number, options: CreateServerOptions): Listener[] {
  const listeners: Listener[] = [];
  const families = options.family ? [options.family] : [C.AF_INET, C.AF_INET6];
  for (const family of families) {
    try {
      listeners.push(bindListener(family, family === C.AF_INET6 ? '::' : '0.0.0.0', port, options));
    } catch (error) {
      // No IPv6 on this machine: serve IPv4 only (asyncio gets the same from getaddrinfo).
      const noIpv6 = family === C.AF_INET6 && error instanceof OSError && ['EAFNOSUPPORT', 'EADDRNOTAVAIL'].includes(error.code);
      if (!noIpv6 || families.length === 1) {
        for (const { fd } of listeners) closeQuietly(fd);
        throw error;
      }
    }
  }
  return listeners;
}

function serverOptions(options: { backlog?: number; acceptRetryDelayMs?: number; priority?: Priority }): ConstructorParameters<typeof Server>[3] {
  return {
    ...(options.backlog !== undefined ? { backlog: options.backlog } : {}),
    ...(options.acceptRetryDelayMs !== undefined ? { acceptRetryDelayMs: options.acceptRetryDelayMs } : {}),
    ...(options.priority !== undefined ? { priority: options.priority } : {}),
  };
}

function startOrClose(server: Server): void {
  try {
    server.startServing();
  } catch (error) {
    server.close();
    throw error;
  }
}

/**
 * Listens on the Unix socket `path`. A stale socket file left by an
 * earlier server is removed first; the file is removed again on close
 * (unless `cleanupSocket: false`). A path with a NUL byte inside (a
 * leading one selects the abstract namespace) or longer than 107 bytes is
 * refused at the call (TypeError, RangeError), before any socket is opened.
 *
 * @example
 * const server = yield* createUnixServer(loop, () => new Echo(), '/tmp/echo.sock');
 */
export function createUnixServer(loop: EventLoop, protocolFactory: () => StreamProtocol, path: string | null, options: CreateUnixServerOptions = {}): Task<Server> {
  checkFactory(protocolFactory, 'createUnixServer');
  checkIoOptions(options, 'createUnixServer');
  checkPriorityOption(options, 'createUnixServer');
  if (options.sock != null) checkFd(options.sock, 'createUnixServer: options.sock');
  else checkPathArgument(path, 'createUnixServer');
  checkServerOptions(options, 'createUnixServer');
  const task = loop.createTask(function* (): Coroutine<Server> {
    let fd: number;
    if (options.sock != null) fd = options.sock;
    else {
      removeStaleSocket(path as string);
      fd = openSocket(C.AF_UNIX, C.SOCK_STREAM, 'createUnixServer');
      const result = sys.bind(fd, C.AF_UNIX, path as string, 0);
      if (result < 0) {
        closeQuietly(fd);
        throw osError(result, 'bind', `while attempting to bind on ${formatAddress(path as string)}`);
      }
    }
    const cleanup = options.sock == null && (options.cleanupSocket ?? true);
    const server = new Server(loop, [{ fd, family: C.AF_UNIX }], protocolFactory, { ...serverOptions(options), unixPath: cleanup ? path : null });
    if (options.startServing ?? true) startOrClose(server);
    return server;
  }, { name: `createUnixServer ${path ?? `fd ${options.sock}`}` });
  return onResultDropped(task, (server) => server.close()); // see createServer
}

function removeStaleSocket(path: string): void {
  if (path.startsWith('\0')) return;
  try {
    if (statSync(path).isSocket()) unlinkSync(path);
  } catch {
    // no such file: nothing stale
  }
}

/**
 * Makes a datagram (UDP) endpoint: bound to `localAddr`, connected to
 * `remoteAddr`, or both. Resolves to `[transport, protocol]`.
 *
 * @example
 * const [transport] = yield* createDatagramEndpoint(loop, () => new EchoUdp(), { localAddr: ['127.0.0.1', 9999] });
 */
export function createDatagramEndpoint<P extends DatagramProtocol>(loop: EventLoop, protocolFactory: () => P, options: DatagramEndpointOptions = {}): Task<[UdpTransport, P]> {
  checkFactory(protocolFactory, 'createDatagramEndpoint');
  checkIoOptions(options, 'createDatagramEndpoint');
  if (options.sock != null) checkFd(options.sock, 'createDatagramEndpoint: options.sock');
  else if (options.localAddr == null && options.remoteAddr == null && !options.family) {
    throw new TypeError('createDatagramEndpoint: give localAddr, remoteAddr, family or sock');
  }
  const task = loop.createTask(function* (): Coroutine<[UdpTransport, P]> {
    let fd: number;
    let family: number;
    let remote: ResolvedAddress | null = null;
    if (options.sock != null) {
      fd = options.sock;
      family = socketFamily(fd);
    } else {
      const local = options.localAddr == null ? null : yield* resolveOne(loop, options.localAddr, options.family ?? 0, 'localAddr');
      remote = options.remoteAddr == null ? null : yield* resolveOne(loop, options.remoteAddr, local?.family ?? options.family ?? 0, 'remoteAddr');
      family = local?.family ?? remote?.family ?? (options.family as number);
      fd = openSocket(family, C.SOCK_DGRAM, 'createDatagramEndpoint');
      try {
        if (options.reusePort) checkErrno(sys.setsockoptInt(fd, C.SOL_SOCKET, C.SO_REUSEPORT, 1), 'setsockopt', 'SO_REUSEPORT');
        if (options.allowBroadcast) checkErrno(sys.setsockoptInt(fd, C.SOL_SOCKET, C.SO_BROADCAST, 1), 'setsockopt', 'SO_BROADCAST');
        if (local !== null) checkErrno(sys.bind(fd, local.family, local.host, local.port), 'bind', formatAddress(local.input));
        // A datagram connect only records the peer: it never blocks.
        if (remote !== null) checkErrno(sys.connect(fd, remote.family, remote.host, remote.port), 'connect', formatAddress(remote.input));
      } catch (error) {
        closeQuietly(fd);
        throw error;
      }
    }
    let protocol: P;
    try {
      protocol = makeProtocol(protocolFactory, 'createDatagramEndpoint');
    } catch (error) {
      closeQuietly(fd);
      throw error;
    }
    const waiter = loop.createFuture<void>();
    const transport = new UdpTransport(loop, fd, protocol, { family, remote: remote?.input ?? null, waiter });
    try {
      yield* waiter;
    } catch (error) {
      transport.abort();
      throw error;
    }
    return [transport, protocol];
  }, { name: 'createDatagramEndpoint' });
  return onResultDropped(task, ([transport]) => transport.close()); // see createConnection
}

interface ResolvedAddress {
  family: number;
  host: string;
  port: number;
  /** The numeric form, as sendto() compares it. */
  input: AddressInput;
}

/** A Unix path, a numeric tuple, or `[name, port]` resolved to its first address. */
function* resolveOne(loop: EventLoop, address: AddressInput, family: number, what: string): Coroutine<ResolvedAddress> {
  if (typeof address === 'string') {
    checkUnixPath(address, `createDatagramEndpoint: ${what}`, what);
    return { family: C.AF_UNIX, host: address, port: 0, input: address };
  }
  if (!Array.isArray(address) || typeof address[0] !== 'string') {
    throw new TypeError(`createDatagramEndpoint: ${what} must be [host, port] or a Unix path, got ${describe(address)}`);
  }
  checkPort(address[1], `createDatagramEndpoint: ${what}`);
  const [info] = yield* resolve(loop, address[0], address[1], family, C.SOCK_DGRAM);
  const [af, , , , sockaddr] = info as AddrInfo;
  const native = toNativeAddress(sockaddr, `createDatagramEndpoint: ${what}`);
  return { family: af, host: native.host, port: native.port, input: [sockaddr[0], sockaddr[1]] };
}
