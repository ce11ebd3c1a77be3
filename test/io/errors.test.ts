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
  InterruptedError,
  OSError,
  osError,
  PermissionError,
  SocketTimeoutError,
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
