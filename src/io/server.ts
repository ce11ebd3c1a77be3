/**
 * Server: listening sockets and their accept loop — asyncio's Server and
 * `_accept_connection`.
 *
 * Each listening fd has a reader. When it is readable the server accepts
 * up to `backlog` connections in one callback (a burst of clients costs one
 * tick, and one listener cannot monopolise the loop beyond that), and gives
 * each a protocol from the factory and a SocketTransport.
 *
 * Running out of fds (EMFILE, ENFILE) or kernel memory (ENOBUFS, ENOMEM)
 * is the interesting failure. The pending connection stays in the kernel's
 * queue, so the listening fd stays readable; with level-triggered epoll a
 * server that just retried would spin at 100% CPU, failing accept on every
 * tick. Instead (asyncio's `accept_retry_delay`) it reports the error to
 * the loop's exception handler, removes that listener's reader, and puts
 * it back `acceptRetryDelayMs` later (default 1 s). Meanwhile established
 * connections run normally — closing some of them is exactly what frees
 * the fds — and new clients wait in the kernel's backlog.
 *
 * Lifetime (asyncio 3.12): `close()` stops listening and closes the
 * listening fds; connections already accepted carry on until they close
 * (or `closeClients()` / `abortClients()`). `waitClosed()` resolves when
 * the server is closed AND its last connection is gone.
 */
import { unlinkSync, statSync } from 'node:fs';
import { describe } from '../core/assert.js';
import { RuntimeError } from '../core/errors.js';
import type { TimerHandle } from '../core/handle.js';
import type { ScheduleOptions } from '../core/priority.js';
import type { EventLoop } from '../tasks/event-loop.js';
import type { Future } from '../tasks/future.js';
import type { Coroutine } from '../tasks/operation.js';
import { EAGAIN, ECONNABORTED, EMFILE, ENFILE, ENOBUFS, ENOMEM, checkErrno, osError } from './errors.js';
import { SocketTransport } from './socket-transport.js';
import { closeQuietly, isInetFamily, localAddress, setNoDelay, TransportSocket } from './sockets.js';
import { syscalls as sys } from './syscalls.js';
import { makeProtocol, type SocketAddress, type StreamProtocol } from './transport.js';

/** asyncio's default listen() backlog. */
export const DEFAULT_BACKLOG = 100;
/** How long accepting pauses after EMFILE & co. (asyncio's constants.ACCEPT_RETRY_DELAY, 1 s). */
export const ACCEPT_RETRY_DELAY_MS = 1000;

/** A listening socket the server owns. */
export interface Listener {
  fd: number;
  family: number;
}

export interface ServerOptions {
  /** listen() backlog, and the most connections accepted per readable tick. Default 100. */
  backlog?: number;
  /** Pause after running out of fds before accepting again (ms). Default 1000. */
  acceptRetryDelayMs?: number;
  /** A Unix socket file to remove on close() (only if it is still the one we bound). */
  unixPath?: string | null;
  /** Priority of the accept callbacks and of every connection. Default 'normal'. */
  priority?: ScheduleOptions['priority'];
}

/** What a server has been doing, for tests and instrumentation. */
export interface ServerStatistics {
  listeners: number;
  serving: boolean;
  activeConnections: number;
  /** accept4 calls made, successful or not. */
  acceptCalls: number;
  /** Connections accepted. */
  accepted: number;
  /** Times accepting was paused for lack of fds or memory. */
  acceptPauses: number;
}

/** Throws a RangeError for a bad backlog or retry delay (callers check before doing anything). */
export function checkServerOptions(options: Pick<ServerOptions, 'backlog' | 'acceptRetryDelayMs'>, who: string): void {
  const { backlog, acceptRetryDelayMs } = options;
  if (backlog !== undefined && (!Number.isInteger(backlog) || backlog < 1)) {
    throw new RangeError(`${who}: backlog must be a positive integer, got ${describe(backlog)}`);
  }
  if (acceptRetryDelayMs !== undefined && !(typeof acceptRetryDelayMs === 'number' && acceptRetryDelayMs >= 0 && Number.isFinite(acceptRetryDelayMs))) {
    throw new RangeError(`${who}: acceptRetryDelayMs must be a finite number >= 0, got ${describe(acceptRetryDelayMs)}`);
  }
}

/** Connection errors that lose one client, not the listener: skip and go on. */
const SKIPPABLE = new Set([ECONNABORTED]);
/** Resource exhaustion: pause accepting for a while. */
const EXHAUSTED = new Set([EMFILE, ENFILE, ENOBUFS, ENOMEM]);

/**
 * A set of listening sockets serving one protocol factory. Made by
 * `createServer` / `createUnixServer` / `startServer`.
 *
 * @example
 * const server = yield* loop.createServer(() => new Echo(), '127.0.0.1', 8888);
 * console.log(server.sockets[0]?.fd, server.addresses());
 * server.close();
 * yield* server.waitClosed();
 */
// The ConnectionTracker of its transports (attach, detach): no `implements`
// clause, as both are marked internal and left out of the published
// declarations, where the clause would name members that are not there.
export class Server {
  readonly #loop: EventLoop;
  #listeners: Listener[] | null;
  readonly #factory: () => StreamProtocol;
  readonly #backlog: number;
  readonly #retryDelayMs: number;
  readonly #scheduleOptions: ScheduleOptions | undefined;
  readonly #unixPath: string | null;
  /** The bound socket file's inode: close() removes the path only if it is still ours. */
  readonly #unixIno: number | null;
  #serving = false;
  #listening = false;
  readonly #transports = new Set<SocketTransport>();
  readonly #retryTimers = new Map<number, TimerHandle>();
  /** Pending waitClosed() futures; null once closed with no connections left. */
  #waiters: Future<void>[] | null = [];
  #servingForever: Future<void> | null = null;
  #acceptCalls = 0;
  #accepted = 0;
  #acceptPauses = 0;

  constructor(loop: EventLoop, listeners: Listener[], protocolFactory: () => StreamProtocol, options: ServerOptions = {}) {
    checkServerOptions(options, 'Server');
    const backlog = options.backlog ?? DEFAULT_BACKLOG;
    const retryMs = options.acceptRetryDelayMs ?? ACCEPT_RETRY_DELAY_MS;
    this.#loop = loop;
    this.#listeners = listeners;
    this.#factory = protocolFactory;
    this.#backlog = backlog;
    this.#retryDelayMs = retryMs;
    this.#scheduleOptions = options.priority === undefined ? undefined : { priority: options.priority };
    this.#unixPath = options.unixPath ?? null;
    this.#unixIno = this.#unixPath === null ? null : inodeOf(this.#unixPath);
    // Until close(): addReader & co. refuse them, and loop.close() closes them (loopClosed).
    for (const { fd } of listeners) loop.claimFd(fd, this);
  }

  getLoop(): EventLoop {
    return this.#loop;
  }

  /**
   * The listening sockets (empty once closed; one kept from before the
   * close throws EBADF from then on).
   *
   * @example
   * const port = (server.sockets[0]!.getsockname() as InetAddress)[1]; // asyncio: server.sockets[0].getsockname()[1]
   */
  get sockets(): TransportSocket[] {
    const listeners = this.#listeners ?? [];
    const isOpen = (): boolean => this.#listeners === listeners;
    return listeners.map((l) => new TransportSocket(l.fd, l.family, sys.constants.SOCK_STREAM, isOpen));
  }

  /** Where the server listens: `[host, port]` tuples (IPv6: 4-tuples) or Unix paths. */
  addresses(): SocketAddress[] {
    const out: SocketAddress[] = [];
    for (const { fd } of this.#listeners ?? []) {
      const address = localAddress(fd);
      if (address !== undefined) out.push(address);
    }
    return out;
  }

  isServing(): boolean {
    return this.#serving;
  }

  /** Starts accepting (listen + a reader per socket). Idempotent; an error if closed. */
  startServing(): void {
    const listeners = this.#listeners;
    if (listeners === null) throw new RuntimeError('Server.startServing: the server is closed');
    if (this.#serving) return;
    if (!this.#listening) {
      for (const { fd } of listeners) checkErrno(sys.listen(fd, this.#backlog), 'listen', `fd ${fd}`);
      this.#listening = true;
    }
    this.#serving = true;
    for (const listener of listeners) this.#watch(listener);
  }

  /**
   * Starts serving and waits until the server is closed: `close()` makes it
   * return; cancelling the task closes the server (its connections stay
   * open; see closeClients) and the CancelledError propagates.
   *
   * @example
   * const task = loop.createTask(() => server.serveForever());
   * // later: server.close(), or task.cancel()
   */
  *serveForever(): Coroutine<void> {
    if (this.#servingForever !== null) throw new RuntimeError('Server.serveForever: already being served forever');
    if (this.#listeners === null) throw new RuntimeError('Server.serveForever: the server is closed');
    this.startServing();
    const forever = this.#loop.createFuture<void>();
    forever.label = `Server.serveForever ${this.#where()}`;
    this.#servingForever = forever;
    try {
      yield* forever;
    } finally {
      this.#servingForever = null;
      this.close();
    }
  }

  /** Stops listening and closes the listening sockets. Accepted connections stay open. Idempotent. */
  close(): void {
    const listeners = this.#listeners;
    if (listeners === null) return;
    this.#listeners = null;
    for (const timer of this.#retryTimers.values()) timer.cancel();
    this.#retryTimers.clear();
    for (const { fd } of listeners) {
      if (this.#serving && !this.#loop.isClosed()) this.#loop.unwatchOwnedFd(fd, 'read');
      this.#loop.releaseFd(fd, this);
      closeQuietly(fd);
    }
    this.#serving = false;
    this.#removeUnixPath();
    const forever = this.#servingForever;
    if (forever !== null && !forever.done()) forever.setResult();
    if (this.#transports.size === 0) this.#wakeup();
  }

  /**
   * @internal (FdOwner) The loop closed with this server still listening:
   * close the listening sockets now, with no callbacks (a serveForever or
   * waitClosed waiter could not be woken). Returns true: it was open.
   */
  loopClosed(): boolean {
    const listeners = this.#listeners;
    if (listeners === null) return false;
    this.#listeners = null;
    this.#retryTimers.clear(); // the loop dropped the timers themselves
    for (const { fd } of listeners) closeQuietly(fd);
    this.#serving = false;
    this.#removeUnixPath();
    // Closed now, as close() would; the connections close with the loop too (each detaches).
    if (this.#transports.size === 0) this.#wakeup();
    return true;
  }

  /** close()s every connection (flushing what they have queued). */
  closeClients(): void {
    for (const transport of [...this.#transports]) transport.close();
  }

  /** abort()s every connection. */
  abortClients(): void {
    for (const transport of [...this.#transports]) transport.abort();
  }

  /**
   * A Future that resolves once the server is closed and all of its
   * connections are gone.
   *
   * @example
   * server.close();
   * yield* server.waitClosed();
   */
  waitClosed(): Future<void> {
    const future = this.#loop.createFuture<void>();
    future.label = `Server.waitClosed ${this.#where()}`;
    if (this.#waiters === null) future.setResult();
    else this.#waiters.push(future);
    return future;
  }

  /** Counters for tests and monitoring (a frozen snapshot). */
  statistics(): Readonly<ServerStatistics> {
    return Object.freeze({
      listeners: this.#listeners?.length ?? 0,
      serving: this.#serving,
      activeConnections: this.#transports.size,
      acceptCalls: this.#acceptCalls,
      accepted: this.#accepted,
      acceptPauses: this.#acceptPauses,
    });
  }

  /** @internal ConnectionTracker: a transport of ours was created. */
  attach(transport: SocketTransport): void {
    this.#transports.add(transport);
  }

  /** @internal ConnectionTracker: a transport of ours is gone. */
  detach(transport: SocketTransport): void {
    this.#transports.delete(transport);
    if (this.#transports.size === 0 && this.#listeners === null) this.#wakeup();
  }

  toString(): string {
    return `<Server ${this.#where()} connections=${this.#transports.size}>`;
  }

  /** Where it listens ('127.0.0.1:8080, /tmp/app.sock'), or 'closed'. */
  #where(): string {
    if (this.#listeners === null) return 'closed';
    return this.addresses().map((a) => (typeof a === 'string' ? a : `${a[0]}:${a[1]}`)).join(', ');
  }

  // ---------------------------------------------------------------- accept

  #watch(listener: Listener): void {
    this.#loop.watchOwnedFd(listener.fd, 'read', () => this.#acceptReady(listener), this.#scheduleOptions);
  }

  /** The listening fd is readable: accept up to `backlog` connections. */
  #acceptReady(listener: Listener): void {
    const { SOCK_NONBLOCK, SOCK_CLOEXEC } = sys.constants;
    for (let i = 0; i < this.#backlog; i++) {
      if (!this.#serving) return;
      this.#acceptCalls++;
      const conn = sys.accept4(listener.fd, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (conn >= 0) {
        this.#accepted++;
        this.#startConnection(conn, listener);
        continue;
      }
      if (conn === -EAGAIN) return;
      if (SKIPPABLE.has(-conn)) continue;
      const exception = osError(conn, 'accept4', `listening fd ${listener.fd}`);
      const exhausted = EXHAUSTED.has(-conn);
      this.#loop.callExceptionHandler({
        message: exhausted
          ? `accept() out of system resource; not accepting on fd ${listener.fd} for ${this.#retryDelayMs} ms`
          : `accept() failed on fd ${listener.fd}; retrying in ${this.#retryDelayMs} ms`,
        exception,
        server: this,
      });
      this.#pauseAccepting(listener);
      return;
    }
  }

  /** Stops watching `listener` and watches it again after the retry delay. */
  #pauseAccepting(listener: Listener): void {
    this.#acceptPauses++;
    this.#loop.unwatchOwnedFd(listener.fd, 'read');
    const timer = this.#loop.callLater(this.#retryDelayMs, () => {
      this.#retryTimers.delete(listener.fd);
      if (this.#serving) this.#watch(listener);
    });
    this.#retryTimers.set(listener.fd, timer);
  }

  #startConnection(conn: number, listener: Listener): void {
    let protocol: StreamProtocol;
    try {
      if (isInetFamily(listener.family)) setNoDelay(conn);
      protocol = makeProtocol(this.#factory, 'Server');
    } catch (exception) {
      // The client sees its connection closed, and the server goes on accepting.
      closeQuietly(conn);
      this.#loop.callExceptionHandler({ message: 'Server: the protocol factory failed; connection closed', exception, server: this });
      return;
    }
    new SocketTransport(this.#loop, conn, protocol, {
      server: this,
      family: listener.family,
      ...(this.#scheduleOptions ? { priority: this.#scheduleOptions.priority } : {}),
    });
  }

  #wakeup(): void {
    const waiters = this.#waiters;
    if (waiters === null) return;
    this.#waiters = null;
    const loopClosed = this.#loop.isClosed();
    for (const waiter of waiters) {
      if (waiter.done()) continue;
      try {
        waiter.setResult();
      } catch (error) {
        // loop.close() closed the server and its connections: what awaits a
        // waiter from outside (then) hears it, but a task's wake-up can no
        // longer be scheduled (RuntimeError: the loop is closed); it could
        // never run. The rest still resolve. On an open loop, nothing to hide.
        if (!loopClosed) throw error;
      }
    }
  }

  #removeUnixPath(): void {
    const path = this.#unixPath;
    if (path === null || this.#unixIno === null) return;
    if (inodeOf(path) === this.#unixIno) {
      try {
        unlinkSync(path);
      } catch {
        // gone already: nothing to clean up
      }
    }
  }
}

function inodeOf(path: string): number | null {
  if (path.startsWith('\0')) return null; // abstract namespace: no file
  try {
    const stats = statSync(path);
    return stats.isSocket() ? stats.ino : null;
  } catch {
    return null;
  }
}
