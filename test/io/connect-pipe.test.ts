/**
 * connect-pipe.ts's helpers: openPipe (Python's os.pipe) and closeFd. The
 * transports it makes are tested in pipe-transport.test.ts.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { closeFd, openPipe } from '../../src/io/connect-pipe.js';
import { OSError } from '../../src/io/errors.js';
import { syscalls as sys } from '../../src/io/syscalls.js';
import { C, openFdCount, readString, writeString } from './fds.js';

test('openPipe: a working pipe, close-on-exec and blocking (as os.pipe); closeFd closes each end once', () => {
  const before = openFdCount();
  const [r, w] = openPipe();
  assert.equal(openFdCount(), before + 2);
  assert.equal(sys.fcntl(r, C.F_GETFD, 0) & C.FD_CLOEXEC, C.FD_CLOEXEC);
  assert.equal(sys.fcntl(w, C.F_GETFD, 0) & C.FD_CLOEXEC, C.FD_CLOEXEC);
  assert.equal(sys.fcntl(r, C.F_GETFL, 0) & C.O_NONBLOCK, 0, 'blocking, until a transport takes it');
  writeString(w, 'through');
  assert.equal(readString(r), 'through');
  closeFd(r);
  closeFd(w);
  assert.equal(openFdCount(), before);
  assert.throws(() => closeFd(r), (error: unknown) => error instanceof OSError && error.code === 'EBADF' && error.message.includes(`closeFd: fd ${r}`));
  assert.throws(() => closeFd('3' as never), { name: 'TypeError', message: /closeFd: fd/ });
});
