/**
 * NodeEventLoop: EventLoop plus the I/O methods asyncio puts on its loop
 * (`loop.createConnection`, `loop.createServer`, `loop.connectReadPipe`,
 * `loop.subprocessExec`, `loop.sockRecv`, ...).
 *
 * EventLoop (tasks/) must stay free of Node, so these live in a subclass
 * here in io/. Each method is a one-line call of the function of the same
 * name (connect.ts, connect-pipe.ts, subprocess-transport.ts, sock.ts,
 * dns.ts) with `this` as the
 * loop; the functions work on any EventLoop with an fd selector, so code
 * that was handed a plain EventLoop can call them directly.
 *
 * The default selector is the epoll selector, and the default host the
 * Node host for `mode` ('guest' by default; see hosts/node.ts), so that
 * `new NodeEventLoop()` waits for its fds in runForever as a
 * `createNodeLoop()` loop does. A loop given its own `host` keeps it.
 */
import type { EventLoopOptions } from '../core/base-event-loop.js';
import type { LoopHost } from '../core/host.js';
import type { Selector } from '../core/selector.js';
import type { Priority, ScheduleOptions } from '../core/priority.js';
import { EventLoop, getRunningLoop as getAnyRunningLoop } from '../tasks/event-loop.js';
import type { Future } from '../tasks/future.js';
import type { Task } from '../tasks/task.js';
import {
  connectAcceptedSocket,
  createConnection,
  createDatagramEndpoint,
  createServer,
  createUnixConnection,
  createUnixServer,
  type CreateConnectionOptions,
  type CreateServerOptions,
  type CreateUnixServerOptions,
  type DatagramEndpointOptions,
} from './connect.js';
import { connectReadPipe, connectWritePipe, type ConnectPipeOptions } from './connect-pipe.js';
import type { UdpTransport } from './datagram-transport.js';
import { getaddrinfo, getnameinfo, type AddrInfo, type GetaddrinfoOptions } from './dns.js';
import { checkOptionalBoolean } from '../core/assert.js';
import { captureAsyncContext } from './async-context.js';
import { EpollSelector } from './epoll-selector.js';
import { closeDefaultExecutor, runInExecutor, setDefaultExecutor, shutdownDefaultExecutor } from './executor.js';
import { addSignalHandler, removeAllSignalHandlers, removeSignalHandler, type SignalLike } from './signals.js';
import type { Executor } from './worker-pool.js';
import type { ReadPipeProtocol, ReadPipeTransport, WritePipeProtocol, WritePipeTransport } from './pipe-transport.js';
import type { Server } from './server.js';
import { sendfile } from './sendfile.js';
import { sockAccept, sockConnect, sockRecv, sockRecvfrom, sockRecvfromInto, sockRecvInto, sockSendAll, sockSendfile, sockSendto, type SendfileOptions } from './sock.js';
import type { SocketTransport } from './socket-transport.js';
import { subprocessExec, subprocessShell, type SubprocessProtocol, type SubprocessTransport, type SubprocessTransportOptions } from './subprocess-transport.js';
import type { AddressInput, BytesLike, DatagramProtocol, Inet6Address, InetAddress, SocketAddress, StreamProtocol, WriteTransport } from './transport.js';

/** EventLoop's options, plus who waits when the loop is idle (when no `host` is given). */
export interface NodeEventLoopOptions extends EventLoopOptions {
  /** Node's loop waits ('guest', the default) or the loop's own epoll_wait ('blocking'): see hosts/node.ts. Not with `host`. */
  mode?: 'guest' | 'blocking';
  /**
   * Each task runs its steps in the async context (AsyncLocalStorage's
   * stores) current where it was created, as asyncio's tasks keep their
   * contextvars: `als.run(store, () => loop.createTask(handler))` gives the
   * handler `store`, and `enterWith` in one task stays in that task.
   * Default true; false runs every step in the context the loop was started
   * in (a little faster: ~110 ns less per task and ~30 ns per step).
   * Ignored when `captureTaskContext` is given.
   */
  asyncContext?: boolean;
}

/** A selector and a host for a NodeEventLoop's options, and the options left for EventLoop. */
export type NodeLoopParts = (options: NodeEventLoopOptions, who: string) => { selector: Selector; host: LoopHost; rest: EventLoopOptions };

/**
 * Builds the selector and Node host of a NodeEventLoop given no `host`. Set
 * by hosts/node.ts, which 'eventide/node' always loads: io/ may not import
 * hosts/ (arrows point down, DESIGN.md), so hosts/ hands its choice down.
 * Unset (io/ used on its own), a loop gets the plain timers host, which
 * sleeps through fd events: drive such a loop with runOnce.
 */
let nodeLoopParts: NodeLoopParts | null = null;

/** @internal Called once by hosts/node.ts. */
export function setNodeLoopParts(parts: NodeLoopParts): void {
  nodeLoopParts = parts;
}

/** The EventLoop options of `new NodeEventLoop(options)`: its selector and host filled in. */
function withNodeDefaults(given: NodeEventLoopOptions): EventLoopOptions {
  if (given === null || typeof given !== 'object') return given; // EventLoop's constructor names the mistake
  const { asyncContext, ...options } = given;
  checkOptionalBoolean(asyncContext, 'NodeEventLoop: options.asyncContext');
  if (options.captureTaskContext === undefined && asyncContext !== false) options.captureTaskContext = captureAsyncContext;
  if (options.host === undefined && nodeLoopParts !== null) {
    const { selector, host, rest } = nodeLoopParts(options, 'NodeEventLoop');
    return { ...rest, selector, host };
  }
  if (options.mode !== undefined) {
    throw new TypeError('NodeEventLoop: options.mode chooses the host, so it cannot be given with options.host');
  }
  return { ...options, selector: options.selector ?? new EpollSelector() };
}

/**
 * @example
 * const loop = new NodeEventLoop();
 * const server = await loop.runUntilComplete(loop.createServer(() => new Echo(), '127.0.0.1', 8888));
 * await loop.runForever(); // serves until loop.stop()
 */
export class NodeEventLoop extends EventLoop {
  constructor(options: NodeEventLoopOptions = {}) {
    const full = withNodeDefaults(options);
    try {
      super(full);
    } catch (error) {
      // The selector and host made for this loop are nobody else's.
      if (options?.host === undefined && full?.host !== undefined) full.host.close();
      if (options?.selector === undefined) full?.selector?.close();
      throw error;
    }
  }

  /** See `createConnection` (connect.ts). */
  createConnection<P extends StreamProtocol>(protocolFactory: () => P, host: string | null, port: number | null, options?: CreateConnectionOptions): Task<[SocketTransport, P]> {
    return createConnection(this, protocolFactory, host, port, options);
  }

  /** See `createServer` (connect.ts). */
  createServer(protocolFactory: () => StreamProtocol, host: string | readonly string[] | null | undefined, port: number | null, options?: CreateServerOptions): Task<Server> {
    return createServer(this, protocolFactory, host, port, options);
  }

  /** See `createUnixConnection` (connect.ts). */
  createUnixConnection<P extends StreamProtocol>(protocolFactory: () => P, path: string | null, options?: { sock?: number | null; priority?: Priority }): Task<[SocketTransport, P]> {
    return createUnixConnection(this, protocolFactory, path, options);
  }

  /** See `createUnixServer` (connect.ts). */
  createUnixServer(protocolFactory: () => StreamProtocol, path: string | null, options?: CreateUnixServerOptions): Task<Server> {
    return createUnixServer(this, protocolFactory, path, options);
  }

  /** See `connectAcceptedSocket` (connect.ts). */
  connectAcceptedSocket<P extends StreamProtocol>(protocolFactory: () => P, sock: number, options?: { priority?: Priority }): Task<[SocketTransport, P]> {
    return connectAcceptedSocket(this, protocolFactory, sock, options);
  }

  /** See `createDatagramEndpoint` (connect.ts). */
  createDatagramEndpoint<P extends DatagramProtocol>(protocolFactory: () => P, options?: DatagramEndpointOptions): Task<[UdpTransport, P]> {
    return createDatagramEndpoint(this, protocolFactory, options);
  }

  /** See `connectReadPipe` (connect-pipe.ts). */
  connectReadPipe<P extends ReadPipeProtocol>(protocolFactory: () => P, pipe: number, options?: ConnectPipeOptions): Task<[ReadPipeTransport, P]> {
    return connectReadPipe(this, protocolFactory, pipe, options);
  }

  /** See `connectWritePipe` (connect-pipe.ts). */
  connectWritePipe<P extends WritePipeProtocol>(protocolFactory: () => P, pipe: number, options?: ConnectPipeOptions): Task<[WritePipeTransport, P]> {
    return connectWritePipe(this, protocolFactory, pipe, options);
  }

  /** See `subprocessExec` (subprocess-transport.ts). */
  subprocessExec<P extends SubprocessProtocol>(protocolFactory: () => P, program: string, args?: readonly string[], options?: SubprocessTransportOptions): Task<[SubprocessTransport, P]> {
    return subprocessExec(this, protocolFactory, program, args, options);
  }

  /** See `subprocessShell` (subprocess-transport.ts). */
  subprocessShell<P extends SubprocessProtocol>(protocolFactory: () => P, command: string, options?: SubprocessTransportOptions): Task<[SubprocessTransport, P]> {
    return subprocessShell(this, protocolFactory, command, options);
  }

  /** See `sockRecv` (sock.ts). */
  sockRecv(fd: number, nbytes: number): Future<Buffer> {
    return sockRecv(this, fd, nbytes);
  }

  /** See `sockRecvInto` (sock.ts). */
  sockRecvInto(fd: number, buffer: BytesLike): Future<number> {
    return sockRecvInto(this, fd, buffer);
  }

  /** See `sockSendAll` (sock.ts). */
  sockSendAll(fd: number, data: BytesLike): Future<void> {
    return sockSendAll(this, fd, data);
  }

  /** See `sockAccept` (sock.ts). */
  sockAccept(fd: number): Future<[number, SocketAddress]> {
    return sockAccept(this, fd);
  }

  /** See `sockConnect` (sock.ts). */
  sockConnect(fd: number, address: AddressInput): Future<void> {
    return sockConnect(this, fd, address);
  }

  /** See `sockRecvfrom` (sock.ts). */
  sockRecvfrom(fd: number, bufsize: number): Future<[Buffer, SocketAddress]> {
    return sockRecvfrom(this, fd, bufsize);
  }

  /** See `sockRecvfromInto` (sock.ts). */
  sockRecvfromInto(fd: number, buffer: BytesLike, nbytes?: number): Future<[number, SocketAddress]> {
    return sockRecvfromInto(this, fd, buffer, nbytes);
  }

  /** See `sockSendto` (sock.ts). */
  sockSendto(fd: number, data: BytesLike, address: AddressInput): Future<number> {
    return sockSendto(this, fd, data, address);
  }

  /** See `sockSendfile` (sock.ts). */
  sockSendfile(sock: number, file: number, offset?: number, count?: number | null, options?: SendfileOptions): Task<number> {
    return sockSendfile(this, sock, file, offset, count, options);
  }

  /** See `sendfile` (sendfile.ts). */
  sendfile(transport: WriteTransport, file: number, offset?: number, count?: number | null, options?: SendfileOptions): Task<number> {
    return sendfile(this, transport, file, offset, count, options);
  }

  /** See `getaddrinfo` (dns.ts). */
  getaddrinfo(host: string, port: number | string | null, options?: GetaddrinfoOptions): Future<AddrInfo[]> {
    return getaddrinfo(this, host, port, options);
  }

  /** See `getnameinfo` (dns.ts). */
  getnameinfo(sockaddr: InetAddress | Inet6Address, flags?: number): Future<[host: string, service: string]> {
    return getnameinfo(this, sockaddr, flags);
  }

  /** See `addSignalHandler` (signals.ts). */
  addSignalHandler(signal: SignalLike, callback: () => unknown, options?: ScheduleOptions): void {
    addSignalHandler(this, signal, callback, options);
  }

  /** See `removeSignalHandler` (signals.ts). */
  removeSignalHandler(signal: SignalLike): boolean {
    return removeSignalHandler(this, signal);
  }

  /**
   * See `runInExecutor` (executor.ts): a self-contained function and its
   * arguments (asyncio's shape), or a module URL, an export name and the
   * arguments.
   *
   * @example
   * const sum = yield* loop.runInExecutor(null, (a: number, b: number) => a + b, 2, 3);
   * const digest = yield* loop.runInExecutor<string>(null, new URL('./work.js', import.meta.url), 'sha256', bytes);
   */
  runInExecutor<A extends unknown[], R>(executor: Executor | null, fn: (...args: A) => R, ...args: A): Future<Awaited<R>>;
  runInExecutor<T = unknown>(executor: Executor | null, module: URL | string, exportName: string, ...args: unknown[]): Future<T>;
  runInExecutor(executor: Executor | null, work: unknown, ...rest: unknown[]): Future<unknown> {
    return (runInExecutor as (loop: EventLoop, executor: Executor | null, work: unknown, ...rest: unknown[]) => Future<unknown>)(this, executor, work, ...rest);
  }

  /** See `setDefaultExecutor` (executor.ts). */
  setDefaultExecutor(executor: Executor): void {
    setDefaultExecutor(this, executor);
  }

  /** See `shutdownDefaultExecutor` (executor.ts). */
  shutdownDefaultExecutor(): Future<void> {
    return shutdownDefaultExecutor(this);
  }

  /**
   * EventLoop's close, then what the loop holds outside itself: its signal
   * handlers' `process` listeners are removed and its default executor's
   * threads are terminated (asyncio's close does the same).
   */
  override close(): void {
    super.close(); // refused while running: then nothing is released
    removeAllSignalHandlers(this);
    closeDefaultExecutor(this);
  }
}

/**
 * The running loop, typed as the NodeEventLoop it is under 'eventide/node'
 * (`run`, `createNodeLoop` and GLibLoop all make one), so its I/O methods
 * type-check: `getRunningLoop().createConnection(...)`.
 *
 * It is the portable `getRunningLoop` of 'eventide' itself, the same
 * function object with a narrower type (the entry points share every
 * export but `run`): no check is made. Under a plain EventLoop
 * (`runInVirtualTime`, `new EventLoop()`) it still returns that loop, which
 * has no I/O methods; test with `instanceof NodeEventLoop` where both can
 * run. Throws a RuntimeError when no loop is running.
 *
 * @example
 * import { getRunningLoop, run } from 'eventide/node';
 * await run(function* () {
 *   const [transport] = yield* getRunningLoop().createConnection(() => new Client(), '127.0.0.1', 8080);
 * });
 */
export const getRunningLoop: () => NodeEventLoop = getAnyRunningLoop as () => NodeEventLoop;
