/**
 * OS errors (src/io/errors.ts): errno → Python's OSError subclass, with
 * errno (positive), code and syscall on every error, and a message that
 * says what failed on what.
 */
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import test from 'node:test';
import { TimeoutError } from '../../src/core/errors.js';
import {
  BlockingIOError,
  BrokenPipeError,
  checkErrno,
  ConnectionAbortedError,
  ConnectionError,
  ConnectionRefusedError,
  ConnectionResetError,
  errnoMessage,
  errnoName,
  FileExistsError,
  FileNotFoundError,
  GaiError,
  InterruptedError,
  OSError,
  osError,
  PermissionError,
  reportsFatalError,
  SocketTimeoutError,
  toGaiError,
} from '../../src/io/errors.js';

const E = constants.errno;

test('osError picks the subclass CPython picks for each errno', () => {
  const cases: [number, new (...args: never[]) => OSError, string][] = [
    [E.EAGAIN, BlockingIOError, 'BlockingIOError'],
    [E.EINPROGRESS, BlockingIOError, 'BlockingIOError'],
    [E.EPIPE, BrokenPipeError, 'BrokenPipeError'],
    [E.ECONNABORTED, ConnectionAbortedError, 'ConnectionAbortedError'],
    [E.ECONNREFUSED, ConnectionRefusedError, 'ConnectionRefusedError'],
    [E.ECONNRESET, ConnectionResetError, 'ConnectionResetError'],
    [E.EEXIST, FileExistsError, 'FileExistsError'],
    [E.ENOENT, FileNotFoundError, 'FileNotFoundError'],
    [E.EINTR, InterruptedError, 'InterruptedError'],
    [E.EACCES, PermissionError, 'PermissionError'],
    [E.EPERM, PermissionError, 'PermissionError'],
    [E.ETIMEDOUT, SocketTimeoutError, 'SocketTimeoutError'],
    [E.EBADF, OSError, 'OSError'],
    [E.EMFILE, OSError, 'OSError'],
  ];
  for (const [errno, cls, name] of cases) {
    const error = osError(-errno, 'call');
    assert.equal(error.constructor, cls, `errno ${errno}`);
    assert.equal(error.name, name);
    assert.ok(error instanceof OSError && error instanceof Error);
  }
});

test('the four connection errors share ConnectionError; SocketTimeoutError is not the core TimeoutError', () => {
  for (const errno of [E.EPIPE, E.ECONNABORTED, E.ECONNREFUSED, E.ECONNRESET]) {
    assert.ok(osError(errno, 'send') instanceof ConnectionError);
  }
  assert.ok(!(osError(E.EAGAIN, 'recv') instanceof ConnectionError));
  assert.ok(!(osError(E.ETIMEDOUT, 'connect') instanceof TimeoutError));
});

test('every OSError carries the positive errno, its code and the syscall; the message says what failed on what', () => {
  const error = osError(-E.ECONNRESET, 'recv', 'fd 7');
  assert.equal(error.errno, E.ECONNRESET);
  assert.equal(error.code, 'ECONNRESET');
  assert.equal(error.syscall, 'recv');
  assert.equal(error.message, 'recv (fd 7) failed: ECONNRESET: connection reset by peer');
  assert.equal(new OSError(E.ENOENT, 'bind').message, 'bind failed: ENOENT: no such file or directory');
});

test("a transport's fatal error reaches the exception handler as asyncio's _fatal_error decides: a bug always, an OSError only in debug mode, a gone peer never", () => {
  const bug = new TypeError('protocol.dataReceived() threw');
  const timedOut = osError(-E.ETIMEDOUT, 'recv');
  const reset = osError(-E.ECONNRESET, 'recv');
  assert.deepEqual([reportsFatalError(bug, false), reportsFatalError(bug, true)], [true, true]);
  assert.deepEqual([reportsFatalError('thrown string', false), reportsFatalError(undefined, false)], [true, true]);
  assert.deepEqual([reportsFatalError(timedOut, false), reportsFatalError(timedOut, true)], [false, true]);
  assert.deepEqual([reportsFatalError(reset, false), reportsFatalError(reset, true)], [false, false]);
  const eio = osError(-E.EIO, 'read');
  const ttyGone = (exc: unknown): boolean => exc instanceof OSError && exc.code === 'EIO';
  assert.deepEqual([reportsFatalError(eio, true), reportsFatalError(eio, true, ttyGone)], [true, false]);
});

test('errnoName and errnoMessage accept either sign and prefer the common name for aliases', () => {
  assert.equal(errnoName(E.EAGAIN), 'EAGAIN');
  assert.equal(errnoName(-E.EAGAIN), 'EAGAIN', 'EWOULDBLOCK is the same number; EAGAIN is the name used');
  assert.equal(errnoName(E.EDEADLK), 'EDEADLK');
  assert.equal(errnoName(99999), 'E?99999');
  assert.equal(errnoMessage(-E.ECONNREFUSED), 'connection refused');
  assert.equal(errnoMessage(99999), 'E?99999');
});

test('checkErrno passes results >= 0 through and throws the named error for negative ones', () => {
  assert.equal(checkErrno(0, 'close'), 0);
  assert.equal(checkErrno(17, 'socket'), 17);
  assert.throws(() => checkErrno(-E.EEXIST, 'bind', '/tmp/x'), (error: unknown) => error instanceof FileExistsError && error.message === 'bind (/tmp/x) failed: EEXIST: file already exists');
});

test("Node's resolver errors as Python raises them: the resolver's own a GaiError with glibc's EAI number, a system error under it (EAI_SYSTEM) the OSError of its errno", () => {
  const fromNode = (code: string, errno?: number): Error => Object.assign(new Error(`getaddrinfo ${code} example.test`), { code, errno, syscall: 'getaddrinfo', hostname: 'example.test' });
  const notFound = toGaiError(fromNode('ENOTFOUND', -3008), 'getaddrinfo', 'example.test');
  assert.ok(notFound instanceof GaiError && notFound instanceof OSError);
  assert.deepEqual(
    [notFound.name, notFound.errno, notFound.code, notFound.syscall, notFound.hostname, notFound.message, (notFound.cause as Error).message],
    ['GaiError', -2, 'ENOTFOUND', 'getaddrinfo', 'example.test', 'getaddrinfo (example.test) failed: ENOTFOUND: Name or service not known', 'getaddrinfo ENOTFOUND example.test'],
  );
  const again = toGaiError(fromNode('EAI_AGAIN', -3001), 'getaddrinfo', 'example.test') as GaiError;
  assert.deepEqual([again.errno, again.code, again.message], [-3, 'EAI_AGAIN', 'getaddrinfo (example.test) failed: EAI_AGAIN: Temporary failure in name resolution']);
  const family = toGaiError(fromNode('EAI_ADDRFAMILY'), 'getaddrinfo', 'example.test') as GaiError;
  assert.deepEqual([family.errno, family.code], [-9, 'EAI_ADDRFAMILY']);
  const system = toGaiError(fromNode('EMFILE', -E.EMFILE), 'getaddrinfo', 'example.test');
  assert.ok(system instanceof OSError && !(system instanceof GaiError));
  assert.deepEqual([system.errno, system.code, system.syscall, system.message], [E.EMFILE, 'EMFILE', 'getaddrinfo', 'getaddrinfo (example.test) failed: EMFILE: too many open files']);
  assert.equal((system.cause as { code: string }).code, 'EMFILE');
  const refused = toGaiError(fromNode('ECONNREFUSED'), 'getnameinfo', '10.0.0.1');
  assert.ok(refused instanceof ConnectionRefusedError, 'the errno picks the class, as osError does');
  const unknown = toGaiError(fromNode('EWEIRD'), 'getaddrinfo', 'example.test') as GaiError;
  assert.deepEqual([unknown.name, unknown.errno, unknown.code], ['GaiError', 0, 'EWEIRD']);
  const bug = new TypeError('not from the resolver');
  assert.equal(toGaiError(bug, 'getaddrinfo', 'example.test'), bug, 'an error with no code passes through');
});
