/**
 * Every system call eventide makes, in one place.
 *
 * The native addon (native/*.c, built by `npm ci`) is the thinnest floor we
 * could make: each function is one Linux system call (or a fixed pair, like
 * epoll_wait plus decoding its result), with no policy. Everything above it
 * — selectors, sockets, transports — is TypeScript. Reading `Syscalls`
 * below tells you all the ways eventide talks to the kernel.
 *
 * One convention everywhere (see native/eventide.h):
 *  - the result is a number: >= 0 on success (a count, an fd, 0), and the
 *    NEGATIVE errno on failure (-EAGAIN, -EBADF). Nothing throws for an OS
 *    condition: a non-blocking recv that finds no data returns -EAGAIN at
 *    no cost, where an exception would cost microseconds. Use
 *    `checkErrno()` / `osError()` from ./errors.js for the cold paths.
 *  - misuse (a wrong argument type, a range past a buffer's end, an
 *    unparsable address) throws a TypeError or RangeError naming the
 *    function and the argument, before any system call.
 *  - structured results are written into objects the caller passes in
 *    (Int32Array(2) for fd pairs, a SockAddress for addresses).
 *  - EINTR is retried in C wherever repeating the call is correct; the
 *    waits (epollWait, poll) return 0 instead, so the loop recomputes its
 *    timeout.
 *
 * Loading happens at import: if the addon was never built, importing this
 * module throws an Error that says how to build it.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A socket address as the native layer writes it (all fields always set). */
export interface SockAddress {
  /** AF_INET, AF_INET6 or AF_UNIX (0 before the first write). */
  family: number;
  /** '127.0.0.1', '::1', or a Unix path ('' for an unnamed socket; a leading '\0' for the abstract namespace). */
  address: string;
  /** 0 for AF_UNIX. */
  port: number;
  /** IPv6 flow info; 0 otherwise. */
  flowInfo: number;
  /** IPv6 scope (interface index); 0 otherwise. */
  scopeId: number;
}

/** A fresh SockAddress to pass as an out-parameter (reuse it across calls). */
export function newSockAddress(): SockAddress {
  return { family: 0, address: '', port: 0, flowInfo: 0, scopeId: 0 };
}

/** The platform's values for the flags the calls take (Linux numbers, read from the C headers). */
export interface SyscallConstants {
  readonly EPOLLIN: number;
  readonly EPOLLOUT: number;
  readonly EPOLLPRI: number;
  readonly EPOLLERR: number;
  readonly EPOLLHUP: number;
  readonly EPOLLRDHUP: number;
  readonly EPOLLONESHOT: number;
  /** Bit 31, as the negative int32 that `|` produces in JavaScript. */
  readonly EPOLLET: number;
  readonly EPOLL_CTL_ADD: number;
  readonly EPOLL_CTL_MOD: number;
  readonly EPOLL_CTL_DEL: number;
  readonly EPOLL_CLOEXEC: number;
  readonly POLLIN: number;
  readonly POLLOUT: number;
  readonly POLLPRI: number;
  readonly POLLERR: number;
  readonly POLLHUP: number;
  readonly POLLNVAL: number;
  readonly EFD_NONBLOCK: number;
  readonly EFD_CLOEXEC: number;
  readonly EFD_SEMAPHORE: number;
  readonly O_NONBLOCK: number;
  readonly O_CLOEXEC: number;
  readonly F_GETFL: number;
  readonly F_SETFL: number;
  readonly F_GETFD: number;
  readonly F_SETFD: number;
  readonly FD_CLOEXEC: number;
  readonly IOV_MAX: number;
  /** st_mode's file-type mask and types (fstatMode). */
  readonly S_IFMT: number;
  readonly S_IFIFO: number;
  readonly S_IFSOCK: number;
  readonly S_IFCHR: number;
  readonly S_IFREG: number;
  readonly S_IFDIR: number;
  readonly AF_UNSPEC: number;
  readonly AF_INET: number;
  readonly AF_INET6: number;
  readonly AF_UNIX: number;
  readonly SOCK_STREAM: number;
  readonly SOCK_DGRAM: number;
  readonly SOCK_SEQPACKET: number;
  readonly SOCK_NONBLOCK: number;
  readonly SOCK_CLOEXEC: number;
  readonly SOL_SOCKET: number;
  readonly SO_ERROR: number;
  readonly SO_REUSEADDR: number;
  readonly SO_REUSEPORT: number;
  readonly SO_KEEPALIVE: number;
  readonly SO_RCVBUF: number;
  readonly SO_SNDBUF: number;
  readonly SO_BROADCAST: number;
  readonly SO_TYPE: number;
  readonly IPPROTO_IP: number;
  readonly IPPROTO_IPV6: number;
  readonly IPPROTO_TCP: number;
  readonly IPPROTO_UDP: number;
  readonly TCP_NODELAY: number;
  readonly TCP_KEEPIDLE: number;
  readonly TCP_KEEPINTVL: number;
  readonly TCP_KEEPCNT: number;
  readonly IPV6_V6ONLY: number;
  readonly SHUT_RD: number;
  readonly SHUT_WR: number;
  readonly SHUT_RDWR: number;
  readonly MSG_PEEK: number;
  readonly MSG_DONTWAIT: number;
  readonly MSG_NOSIGNAL: number;
  readonly MSG_TRUNC: number;
  readonly SOMAXCONN: number;
  readonly UV_READABLE: number;
}

/** Any byte view the kernel may read from or write into. */
export type Bytes = ArrayBufferView;

/**
 * The whole native surface. Unless stated otherwise each call returns a
 * number >= 0 on success and -errno on failure.
 */
export interface Syscalls {
  readonly constants: SyscallConstants;

  // ---- readiness: epoll -------------------------------------------------
  /** epoll_create1(flags) → epoll fd. Pass EPOLL_CLOEXEC. */
  epollCreate1(flags: number): number;
  /** epoll_ctl(epfd, op, fd, events) → 0. The event's data is the fd itself. */
  epollCtl(epfd: number, op: number, fd: number, events: number): number;
  /**
   * Binds `pairs` to `epfd` once, so that epollWait needs no buffer
   * argument: the addon keeps a reference to the array. Returns how many
   * [fd, events] pairs fit (at most 65536). `null` unbinds; closing `epfd`
   * with `close()` unbinds too.
   */
  epollBind(epfd: number, pairs: Int32Array | null): number;
  /**
   * epoll_wait(epfd, bound buffer, capacity, timeoutMs): writes [fd, events]
   * pairs into the bound array and returns how many. timeoutMs: -1 forever,
   * 0 poll, else whole ms. EINTR → 0. Throws if `epfd` has no bound buffer.
   */
  epollWait(epfd: number, timeoutMs: number): number;

  // ---- readiness: poll(2) ----------------------------------------------
  /**
   * poll(pollfds, nfds, timeoutMs) on the caller's buffer in place: 8 bytes
   * per fd, the C struct pollfd — view it as Int32Array (fd at [2i]) and
   * Int16Array (events at [4i+2], revents at [4i+3]). → ready count. EINTR → 0.
   */
  poll(pollfds: Int32Array, nfds: number, timeoutMs: number): number;

  // ---- wake-ups: eventfd -----------------------------------------------
  /** eventfd(initval, flags) → fd. Pass EFD_NONBLOCK | EFD_CLOEXEC. */
  eventfd(initval: number, flags: number): number;
  /** Adds `value` (an integer up to 2^53-1) to the counter → 0. -EAGAIN: saturated (a wake-up is pending anyway). */
  eventfdWrite(fd: number, value: number): number;
  /** Reads and resets the counter → its value (>= 1). -EAGAIN: it was zero. */
  eventfdRead(fd: number): number;

  // ---- any fd ----------------------------------------------------------
  /** read(fd, buffer[offset .. offset+length]) → bytes read; 0 at end of file. */
  read(fd: number, buffer: Bytes, offset: number, length: number): number;
  /** write(fd, buffer[offset .. offset+length]) → bytes written, possibly fewer than length. */
  write(fd: number, buffer: Bytes, offset: number, length: number): number;
  /** readv(fd, buffers) → bytes read, filling the buffers in order (at most IOV_MAX of them). */
  readv(fd: number, buffers: readonly Bytes[]): number;
  /** writev(fd, buffers) → bytes written, possibly short (at most IOV_MAX buffers are used). */
  writev(fd: number, buffers: readonly Bytes[]): number;
  /** close(fd) → 0. Never retried on EINTR (Linux has released the fd). */
  close(fd: number): number;
  /** pipe2(fds, flags) → 0; fds[0] is the read end, fds[1] the write end. */
  pipe2(fds: Int32Array, flags: number): number;
  /** fcntl(fd, cmd, arg) for F_GETFL / F_SETFL / F_GETFD / F_SETFD → the result. */
  fcntl(fd: number, cmd: number, arg: number): number;
  /** fstat(fd).st_mode → the file type (`& S_IFMT`: S_IFIFO, S_IFSOCK, S_IFCHR, ...) and permission bits. */
  fstatMode(fd: number): number;
  /**
   * sendfile(2) → bytes sent (0 at the file's end): up to `count` bytes of
   * the file `inFd` from `offset` to `outFd`, copied in the kernel.
   * `inFd`'s file position is not used or moved.
   */
  sendfile(outFd: number, inFd: number, offset: number, count: number): number;

  // ---- sockets ---------------------------------------------------------
  /** socket(domain, type, protocol) → fd. Include SOCK_NONBLOCK | SOCK_CLOEXEC in `type`. */
  socket(domain: number, type: number, protocol: number): number;
  /** socketpair(domain, type, protocol, sv) → 0; the two connected fds go into sv[0], sv[1]. */
  socketpair(domain: number, type: number, protocol: number, sv: Int32Array): number;
  /** bind(fd, address) → 0. `address` is a numeric IP or a Unix path; `port` is ignored for AF_UNIX. */
  bind(fd: number, family: number, address: string, port: number): number;
  /** listen(fd, backlog) → 0. */
  listen(fd: number, backlog: number): number;
  /** accept4(fd, NULL, NULL, flags) → the connection's fd. Pass SOCK_NONBLOCK | SOCK_CLOEXEC. */
  accept4(fd: number, flags: number): number;
  /** connect(fd, address) → 0, or -EINPROGRESS on a non-blocking socket (then wait for writability and read SO_ERROR). */
  connect(fd: number, family: number, address: string, port: number): number;
  /** shutdown(fd, SHUT_RD | SHUT_WR | SHUT_RDWR) → 0. */
  shutdown(fd: number, how: number): number;
  /** getsockopt for int options → the value; SO_ERROR gives the pending error as a POSITIVE errno (0: none) and clears it. */
  getsockoptInt(fd: number, level: number, name: number): number;
  /** setsockopt for int options (SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE, TCP_NODELAY, ...) → 0. */
  setsockoptInt(fd: number, level: number, name: number, value: number): number;
  /** getsockname(fd) into `out` → 0. */
  getsockname(fd: number, out: SockAddress): number;
  /** getpeername(fd) into `out` → 0. */
  getpeername(fd: number, out: SockAddress): number;
  /** recv(fd, buffer[offset .. offset+length], flags) → bytes; 0 when the peer has shut down. */
  recv(fd: number, buffer: Bytes, offset: number, length: number, flags: number): number;
  /** send(fd, buffer[offset .. offset+length], flags | MSG_NOSIGNAL) → bytes sent, possibly short. */
  send(fd: number, buffer: Bytes, offset: number, length: number, flags: number): number;
  /** recvfrom → bytes; the sender's address goes into `from` when it is not null. */
  recvfrom(fd: number, buffer: Bytes, offset: number, length: number, flags: number, from: SockAddress | null): number;
  /** sendto → bytes sent. family AF_UNSPEC (0) sends without an address (connected socket). */
  sendto(fd: number, buffer: Bytes, offset: number, length: number, flags: number, family: number, address: string, port: number): number;

  // ---- Node's own loop (libuv), for the host modes ---------------------
  /** libuv's backend (epoll) fd for this thread's Node loop: add it to an epoll set to wake on Node's I/O. Never close it. */
  uvBackendFd(): number;
  /** ms until libuv would next wake (its earliest timer), 0 if it has work now, -1 if nothing is scheduled. */
  uvBackendTimeout(): number;
  /**
   * A libuv poll watcher on `fd` (created stopped) → watcher id. Once
   * started, Node's loop calls `onReadable(events)` whenever `fd` is
   * readable (level-triggered), or `onReadable(-errno)` on an error. -EEXIST
   * if Node's loop already watches `fd`.
   */
  uvPollOpen(fd: number, onReadable: (eventsOrNegErrno: number) => void): number;
  /** Starts watching for readability → 0. While started, the watcher keeps Node's process alive. */
  uvPollStart(id: number): number;
  /** Stops watching → 0. */
  uvPollStop(id: number): number;
  /**
   * Whether the watcher, while started, keeps Node's process alive
   * (uv_ref / uv_unref: no system call) → 0. A new watcher keeps it alive.
   */
  uvPollRef(id: number, keepAlive: boolean): number;
  /** Stops and frees the watcher → 0; the id may be reused. */
  uvPollClose(id: number): number;
  /**
   * A turn of Node's loop for the blocking host (native/uvturn.c) → turn
   * id, created disarmed. While armed, libuv's poll phase does not block
   * and `onTurn(nodeTimeoutMs)` is called after it (nodeTimeoutMs: ms until
   * Node's next timer, -1 if none, 0 if Node has work now); it is called
   * again at once while it returns false and the wait is re-armed before
   * it returns, so a busy loop does not go round libuv's loop per wake-up.
   */
  uvTurnOpen(onTurn: (nodeTimeoutMs: number) => boolean): number;
  /** Arms or disarms the turn → 0 (a flag and libuv queue operations: no system call). Armed, it keeps Node's process alive. */
  uvTurnArm(id: number, armed: boolean): number;
  /** Disarms and frees the turn → 0; the id may be reused. May be called from onTurn. */
  uvTurnClose(id: number): number;
}

/** Where the build puts the addon, relative to the package root. */
const ADDON_RELATIVE = 'build/Release/eventide.node';

/**
 * The package root: this file is src/io/syscalls.ts, compiled to
 * dist/src/io/syscalls.js, so the root is two or three levels up.
 */
function findAddon(): { path: string; candidates: string[] } {
  const candidates = ['../../../', '../../'].map((up) => fileURLToPath(new URL(up + ADDON_RELATIVE, import.meta.url)));
  const path = candidates.find((candidate) => existsSync(candidate)) ?? (candidates[0] as string);
  return { path, candidates };
}

function buildAdvice(verb: string, root: string): string {
  return (
    `${verb} it from the package directory (${root}) with \`npm ci\` (or \`npm run install\`, ` +
    'which runs npm\'s bundled node-gyp; in a project that depends on eventide: `npm rebuild eventide`). ' +
    'Building needs gcc/g++, make and python3, and Node\'s headers (npm\'s `nodedir` setting); nothing is downloaded.'
  );
}

function loadAddon(): { syscalls: Syscalls; path: string } {
  const { path, candidates } = findAddon();
  const root = resolve(path, '../../..');
  if (!existsSync(path)) {
    throw new Error(
      `eventide: the native addon is not built (looked for ${candidates.join(' and ')}). ${buildAdvice('Build', root)}`,
    );
  }
  try {
    const require = createRequire(import.meta.url);
    return { syscalls: require(path) as Syscalls, path };
  } catch (cause) {
    throw new Error(
      `eventide: the native addon at ${path} failed to load (built for another Node version or platform?). ` +
        `${buildAdvice('Rebuild', root)}\nCause: ${(cause as Error).message}`,
      { cause },
    );
  }
}

const loaded = loadAddon();

/**
 * The native system calls (see `Syscalls`). Loaded at import; throws at
 * import with build instructions if the addon is missing.
 *
 * @example
 * import { syscalls as sys } from './syscalls.js';
 * const fds = new Int32Array(2);
 * checkErrno(sys.pipe2(fds, sys.constants.O_NONBLOCK | sys.constants.O_CLOEXEC), 'pipe2');
 * const n = sys.read(fds[0], buf, 0, buf.length); // -EAGAIN: nothing yet
 *
 * It is a copy of the addon's exports, made once. The exports object
 * itself is in V8's dictionary mode (napi_define_properties adds the
 * functions one by one), so each `sys.recv` on it was a hash lookup the
 * optimizing compiler cannot inline: a call into the generic load
 * handler on every system call, ~3% of an echo server's user time. The
 * copy (and its `constants`) has fast properties.
 */
export const syscalls: Syscalls = { ...loaded.syscalls, constants: { ...loaded.syscalls.constants } };

/** Absolute path of the loaded addon (a worker thread can `require` it to share fds such as a wake-up eventfd). */
export const addonPath: string = loaded.path;
