/**
 * Operating-system errors, named as Python names its OSError subclasses.
 *
 * The native layer never throws for a failed system call: it returns the
 * negative errno (see native/eventide.h for why). Code that cannot handle a
 * failure on the spot turns it into one of these with `osError(-result,
 * 'connect', detail)` or `checkErrno(result, 'connect', detail)`, so callers
 * can write `catch (e) { if (e instanceof ConnectionRefusedError) … }`
 * exactly as in asyncio.
 *
 * Every error carries:
 *  - `errno`: the POSITIVE C errno (Python's convention, equal to
 *    `os.constants.errno.ECONNREFUSED`; note that Node's own SystemError
 *    uses the negative libuv number instead);
 *  - `code`: its name, 'ECONNREFUSED' (as Node's errors do);
 *  - `syscall`: the call that failed, 'connect'.
 *
 * Python's `TimeoutError` (ETIMEDOUT) is `SocketTimeoutError` here: the name
 * `TimeoutError` belongs to eventide's core error for expired deadlines
 * (asyncio.TimeoutError), which is not an OS error.
 *
 * This module does not load the native addon: it only needs Node's errno
 * table, so errors can be named even where the addon failed to load.
 */
import { constants as osConstants } from 'node:os';
import { getSystemErrorMap } from 'node:util';
import { RuntimeError } from '../core/errors.js';

/** errno number → name ('EAGAIN'), from the platform's own table. */
const ERRNO_NAMES = new Map<number, string>();
/** Where two names share a number, the one people recognise. */
const PREFERRED = ['EAGAIN', 'EDEADLK', 'EOPNOTSUPP'];
for (const [name, value] of Object.entries(osConstants.errno)) {
  if (!ERRNO_NAMES.has(value)) ERRNO_NAMES.set(value, name);
}
for (const name of PREFERRED) {
  const value = (osConstants.errno as Record<string, number | undefined>)[name];
  if (value !== undefined) ERRNO_NAMES.set(value, name);
}

/** libuv's messages, keyed by negative errno; read once, on first use. */
let messages: Map<number, [string, string]> | null = null;

function errnoValue(name: string): number {
  const value = (osConstants.errno as Record<string, number | undefined>)[name];
  return value ?? -1;
}

/** The errnos the I/O layer tests on its hot paths (positive, platform values). */
export const EAGAIN = errnoValue('EAGAIN');
export const EWOULDBLOCK = errnoValue('EWOULDBLOCK');
export const EINTR = errnoValue('EINTR');
export const EINPROGRESS = errnoValue('EINPROGRESS');
export const EBADF = errnoValue('EBADF');
export const ENOENT = errnoValue('ENOENT');
export const ENOTDIR = errnoValue('ENOTDIR');
export const EEXIST = errnoValue('EEXIST');
export const EPIPE = errnoValue('EPIPE');
export const EMFILE = errnoValue('EMFILE');
export const ENFILE = errnoValue('ENFILE');
export const ENOBUFS = errnoValue('ENOBUFS');
export const ENOMEM = errnoValue('ENOMEM');
export const ECONNRESET = errnoValue('ECONNRESET');
export const ECONNREFUSED = errnoValue('ECONNREFUSED');
export const ECONNABORTED = errnoValue('ECONNABORTED');
export const ENOTCONN = errnoValue('ENOTCONN');
export const ETIMEDOUT = errnoValue('ETIMEDOUT');
export const EPERM = errnoValue('EPERM');
export const ESRCH = errnoValue('ESRCH');
export const EINVAL = errnoValue('EINVAL');
export const ENOSYS = errnoValue('ENOSYS');
export const ESPIPE = errnoValue('ESPIPE');

/**
 * The symbolic name of a (positive or negative) errno, 'E?' + number if the
 * platform has none.
 *
 * @example
 * errnoName(11);  // 'EAGAIN'
 * errnoName(-9);  // 'EBADF'
 */
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(Math.abs(errno)) ?? `E?${Math.abs(errno)}`;
}

/**
 * A human description of an errno ("connection refused"), from libuv's
 * table, falling back to its name.
 *
 * @example
 * errnoMessage(111); // 'connection refused'
 */
export function errnoMessage(errno: number): string {
  messages ??= getSystemErrorMap();
  return messages.get(-Math.abs(errno))?.[1] ?? errnoName(errno);
}

/**
 * Python's OSError: a system call failed. Subclasses name the common cases;
 * `osError()` picks the right one for an errno.
 *
 * @example
 * try { sock.connect(addr); } catch (e) {
 *   if (e instanceof OSError && e.code === 'EADDRNOTAVAIL') retryElsewhere();
 * }
 */
export class OSError extends Error {
  override name = 'OSError';
  /** The positive C errno (os.constants.errno); a GaiError's is the negative EAI_* number, as in Python. */
  readonly errno: number;
  /** Its symbolic name, e.g. 'ECONNRESET'. */
  readonly code: string;
  /** The system call that failed, e.g. 'recv'. */
  readonly syscall: string;

  /**
   * @param errno the C errno (a negative value is taken as -errno)
   * @param syscall the failing call, e.g. 'connect'
   * @param detail what it was called on, e.g. 'fd 12, 127.0.0.1:80'
   * @param own for a family of errors with numbers of its own (GaiError's
   *   EAI_*): its number, code and text, used as they are
   */
  constructor(errno: number, syscall: string, detail?: string, own?: OwnErrorNumber) {
    const number = own?.errno ?? Math.abs(errno);
    const code = own?.code ?? errnoName(number);
    const where = detail ? ` (${detail})` : '';
    super(`${syscall}${where} failed: ${code}: ${own?.text ?? errnoMessage(number)}`, own?.cause === undefined ? undefined : { cause: own.cause });
    this.errno = number;
    this.code = code;
    this.syscall = syscall;
  }
}

/** An error number outside errno's (see OSError's `own`). */
export interface OwnErrorNumber {
  readonly errno: number;
  readonly code: string;
  readonly text: string;
  readonly cause?: unknown;
}

/**
 * The C library's getaddrinfo errors (glibc's EAI_* numbers and texts),
 * by the code Node's resolver gives them: Node names EAI_NONAME and
 * EAI_NODATA 'ENOTFOUND' and keeps the others' names. (EAI_SYSTEM never
 * gets here: libuv reports the errno behind it, see toGaiError.)
 */
const EAI_BY_NODE_CODE: Record<string, [number, string]> = {
  ENOTFOUND: [-2, 'Name or service not known'],
  EAI_BADFLAGS: [-1, 'Bad value for ai_flags'],
  EAI_NONAME: [-2, 'Name or service not known'],
  EAI_AGAIN: [-3, 'Temporary failure in name resolution'],
  EAI_FAIL: [-4, 'Non-recoverable failure in name resolution'],
  EAI_NODATA: [-5, 'No address associated with hostname'],
  EAI_FAMILY: [-6, 'ai_family not supported'],
  EAI_SOCKTYPE: [-7, 'ai_socktype not supported'],
  EAI_SERVICE: [-8, 'Servname not supported for ai_socktype'],
  EAI_ADDRFAMILY: [-9, 'Address family for hostname not supported'],
  EAI_MEMORY: [-10, 'Memory allocation failure'],
  EAI_OVERFLOW: [-12, 'Argument buffer overflow'],
};

/**
 * A host name (or address) that did not resolve: Python's socket.gaierror,
 * an OSError. Raised by getaddrinfo and getnameinfo, and so by
 * createConnection, openConnection & co. given a name. `code` is Node's
 * ('ENOTFOUND', 'EAI_AGAIN', ...); `errno` the C library's EAI_* number,
 * negative as Python's gaierror has it (-2 for a name not known); `cause`
 * Node's own error.
 *
 * @example
 * try { yield* openConnection('no-such-host.invalid', 80); } catch (e) {
 *   if (e instanceof GaiError && e.code === 'ENOTFOUND') console.error(`unknown host ${e.hostname}`);
 * }
 */
export class GaiError extends OSError {
  override name = 'GaiError';
  /** The host that was looked up. */
  readonly hostname: string;

  constructor(code: string, syscall: string, hostname: string, cause?: unknown) {
    const [errno, text] = EAI_BY_NODE_CODE[code] ?? [0, 'Name resolution failed'];
    super(0, syscall, hostname, { errno, code, text, cause });
    this.hostname = hostname;
  }
}

/**
 * Node's resolver error (from `dns.lookup` / `dns.lookupService`) as
 * Python has it: a GaiError for the resolver's own failures (ENOTFOUND,
 * EAI_*); for a system error under it (glibc's EAI_SYSTEM, which libuv
 * reports as its errno, e.g. EMFILE) the OSError of that errno, as
 * Python's getaddrinfo raises. Anything else (a bug, not a resolver
 * answer) as it is.
 */
export function toGaiError(error: unknown, syscall: string, hostname: string): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (!(error instanceof Error) || typeof code !== 'string') return error;
  if (code === 'ENOTFOUND' || code.startsWith('EAI_')) return new GaiError(code, syscall, hostname, error);
  const errno = errnoValue(code);
  if (errno <= 0) return new GaiError(code, syscall, hostname, error);
  const systemError = osError(errno, syscall, hostname);
  Object.defineProperty(systemError, 'cause', { value: error, writable: true, configurable: true });
  return systemError;
}

/** EAGAIN / EWOULDBLOCK / EALREADY / EINPROGRESS: the operation would block. */
export class BlockingIOError extends OSError {
  override name = 'BlockingIOError';
}
/** ECHILD. */
export class ChildProcessError extends OSError {
  override name = 'ChildProcessError';
}
/** Base of the four connection errors below. */
export class ConnectionError extends OSError {
  override name = 'ConnectionError';
}
/** EPIPE / ESHUTDOWN: writing to a connection whose other end is gone. */
export class BrokenPipeError extends ConnectionError {
  override name = 'BrokenPipeError';
}
/** ECONNABORTED. */
export class ConnectionAbortedError extends ConnectionError {
  override name = 'ConnectionAbortedError';
}
/** ECONNREFUSED: nobody listens there. */
export class ConnectionRefusedError extends ConnectionError {
  override name = 'ConnectionRefusedError';
}
/** ECONNRESET: the peer reset the connection. */
export class ConnectionResetError extends ConnectionError {
  override name = 'ConnectionResetError';
}
/** EEXIST. */
export class FileExistsError extends OSError {
  override name = 'FileExistsError';
}
/** ENOENT. */
export class FileNotFoundError extends OSError {
  override name = 'FileNotFoundError';
}
/** EINTR (the native layer retries most calls; this surfaces rarely). */
export class InterruptedError extends OSError {
  override name = 'InterruptedError';
}
/** EISDIR. */
export class IsADirectoryError extends OSError {
  override name = 'IsADirectoryError';
}
/** ENOTDIR. */
export class NotADirectoryError extends OSError {
  override name = 'NotADirectoryError';
}
/** EACCES / EPERM. */
export class PermissionError extends OSError {
  override name = 'PermissionError';
}
/** ESRCH. */
export class ProcessLookupError extends OSError {
  override name = 'ProcessLookupError';
}
/** ETIMEDOUT: Python's (OS-level) TimeoutError, renamed so as not to clash with eventide's TimeoutError. */
export class SocketTimeoutError extends OSError {
  override name = 'SocketTimeoutError';
}

/**
 * sendfile(2) cannot be used for this file or socket (asyncio's
 * SendfileNotAvailableError, a RuntimeError): raised by `sockSendfile` and
 * `loop.sendfile` when `fallback` is false.
 */
export class SendfileNotAvailableError extends RuntimeError {
  override name = 'SendfileNotAvailableError';
}

type OSErrorClass = new (errno: number, syscall: string, detail?: string) => OSError;

/** errno name → class, as CPython's errno-to-subclass map. */
const CLASS_BY_NAME: Record<string, OSErrorClass> = {
  EAGAIN: BlockingIOError,
  EWOULDBLOCK: BlockingIOError,
  EALREADY: BlockingIOError,
  EINPROGRESS: BlockingIOError,
  ECHILD: ChildProcessError,
  EPIPE: BrokenPipeError,
  ESHUTDOWN: BrokenPipeError,
  ECONNABORTED: ConnectionAbortedError,
  ECONNREFUSED: ConnectionRefusedError,
  ECONNRESET: ConnectionResetError,
  EEXIST: FileExistsError,
  ENOENT: FileNotFoundError,
  EINTR: InterruptedError,
  EISDIR: IsADirectoryError,
  ENOTDIR: NotADirectoryError,
  EACCES: PermissionError,
  EPERM: PermissionError,
  ESRCH: ProcessLookupError,
  ETIMEDOUT: SocketTimeoutError,
};
const CLASS_BY_ERRNO = new Map<number, OSErrorClass>();
for (const [name, cls] of Object.entries(CLASS_BY_NAME)) {
  const value = errnoValue(name);
  if (value > 0) CLASS_BY_ERRNO.set(value, cls);
}

/**
 * The OSError subclass for `errno` (positive or negative), constructed.
 *
 * @example
 * const r = sys.connect(fd, AF_INET, '127.0.0.1', 1);
 * if (r < 0 && r !== -EINPROGRESS) throw osError(r, 'connect', `fd ${fd}, 127.0.0.1:1`);
 */
export function osError(errno: number, syscall: string, detail?: string): OSError {
  const cls = CLASS_BY_ERRNO.get(Math.abs(errno)) ?? OSError;
  return new cls(errno, syscall, detail);
}

/**
 * Returns `result` when it is >= 0, else throws `osError(result, …)`: the
 * cold-path way to use a native call.
 *
 * @example
 * const fd = checkErrno(sys.socket(AF_INET, SOCK_STREAM, 0), 'socket');
 */
export function checkErrno(result: number, syscall: string, detail?: string): number {
  if (result < 0) throw osError(result, syscall, detail);
  return result;
}

/**
 * Whether `exc` only means the other end went away (EPIPE, ECONNRESET,
 * ECONNABORTED): a transport tells its protocol through connectionLost but
 * does not report it to the loop's exception handler.
 */
export function isPeerGone(exc: unknown): boolean {
  return exc instanceof BrokenPipeError || exc instanceof ConnectionResetError || exc instanceof ConnectionAbortedError;
}

/**
 * Whether a transport's fatal error goes to the loop's exception handler.
 * As asyncio's `_fatal_error`: an OSError (a reset, a timeout, an
 * unreachable host) is a condition of the connection, which the protocol
 * hears in `connectionLost`; it is reported only in debug mode, and never
 * when it only means the other end went away (`otherEndGone`). Anything
 * else (typically a protocol method that threw) is a bug: always reported.
 * The test is by class, as asyncio's: a protocol method that throws an
 * OSError counts as one. asyncio logs a debug-mode OSError at its debug
 * level; here it goes to the exception handler.
 */
export function reportsFatalError(exc: unknown, debug: boolean, otherEndGone: (exc: unknown) => boolean = isPeerGone): boolean {
  if (!(exc instanceof OSError)) return true;
  return debug && !otherEndGone(exc);
}

/** `exc` as an Error (connectionLost takes one), wrapping anything else thrown. */
export function toError(exc: unknown): Error {
  return exc instanceof Error ? exc : new Error(String(exc));
}
