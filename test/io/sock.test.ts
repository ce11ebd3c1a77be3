/**
 * The low-level socket Futures (sockRecv, sockRecvInto, sockSendAll,
 * sockAccept, sockConnect) on raw non-blocking fds; cancellation removes
 * the watch; one waiting operation per fd and direction; closed fds and
 * bad arguments give clear errors.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { CancelledError, RuntimeError } from '../../src/core/errors.js';
import { ConnectionRefusedError, OSError } from '../../src/io/errors.js';
import { sockAccept, sockConnect, sockRecv, sockRecvInto, sockSendAll } from '../../src/io/sock.js';
import { openSocket } from '../../src/io/sockets.js';
import { newSockAddress, syscalls as sys } from '../../src/io/syscalls.js';
import { sleep } from '../../src/tasks/operation.js';
import { closeAll, socketpair } from './fds.js';
import { failure, pattern, runIo } from './net-helpers.js';

const C = sys.constants;
const T = { timeout: 30_000 };

function listener(): [number, number] {
  const fd = openSocket(C.AF_INET, C.SOCK_STREAM, 'test');
  assert.equal(sys.bind(fd, C.AF_INET, '127.0.0.1', 0), 0);
  assert.equal(sys.listen(fd, 16), 0);
  const out = newSockAddress();
  sys.getsockname(fd, out);
  return [fd, out.port];
}

test('sockConnect + sockAccept + sockSendAll + sockRecv: a round trip of 4 MiB on raw fds', T, async () => {
  await runIo(function* (loop) {
    const [lfd, port] = listener();
    const accepting = sockAccept(loop, lfd);
    const client = openSocket(C.AF_INET, C.SOCK_STREAM, 'test');
    yield* sockConnect(loop, client, ['127.0.0.1', port]);
    const [conn, peer] = yield* accepting;
    assert.equal((peer as [string, number])[0], '127.0.0.1');
    const payload = pattern(4 * 1024 * 1024);
    const sending = sockSendAll(loop, client, payload);
    const chunks: Buffer[] = [];
    let received = 0;
    while (received < payload.length) {
      const chunk = yield* sockRecv(loop, conn, 65536);
      assert.ok(chunk.length > 0);
      chunks.push(chunk);
      received += chunk.length;
    }
    yield* sending;
    assert.ok(Buffer.concat(chunks).equals(payload));
    sys.shutdown(client, C.SHUT_WR);
    assert.equal((yield* sockRecv(loop, conn, 10)).length, 0, 'EOF is an empty Buffer');
    const into = Buffer.alloc(8);
    sys.send(conn, Buffer.from('into'), 0, 4, 0);
    assert.equal(yield* sockRecvInto(loop, client, into), 4);
    assert.equal(into.toString('utf8', 0, 4), 'into');
    closeAll(conn, client, lfd);
  });
});

test('sockConnect to a port nobody listens on: the Future fails with ConnectionRefusedError', T, async () => {
  await runIo(function* (loop) {
    const [lfd, port] = listener();
    sys.close(lfd);
    const fd = openSocket(C.AF_INET, C.SOCK_STREAM, 'test');
    const error = yield* failure(sockConnect(loop, fd, ['127.0.0.1', port]));
    assert.ok(error instanceof ConnectionRefusedError, String(error));
    assert.equal(error.syscall, 'connect');
    sys.close(fd);
  });
});

test('cancelling a waiting sockRecv removes its reader at once; the fd can be read again after', T, async () => {
  await runIo(function* (loop) {
    const [a, b] = socketpair();
    const waiting = sockRecv(loop, a, 10);
    assert.equal(loop.statistics().readers, 1);
    assert.equal(waiting.cancel(), true);
    assert.equal(loop.statistics().readers, 0, 'unwatched synchronously');
    const task = loop.createTask(function* () {
      return yield* sockRecv(loop, a, 10);
    });
    yield* sleep(1);
    task.cancel();
    assert.ok((yield* failure(task)) instanceof CancelledError);
    assert.equal(loop.statistics().readers, 0);
    sys.send(b, Buffer.from('later'), 0, 5, 0);
    assert.equal((yield* sockRecv(loop, a, 10)).toString(), 'later');
    closeAll(a, b);
  });
});

test('a second waiting read on the same fd is a RuntimeError; the first is undisturbed', T, async () => {
  await runIo(function* (loop) {
    const [a, b] = socketpair();
    const first = sockRecv(loop, a, 10);
    assert.throws(() => sockRecv(loop, a, 10), (e: unknown) => e instanceof RuntimeError && /already waiting on fd/.test(e.message));
    sys.send(b, Buffer.from('one'), 0, 3, 0);
    assert.equal((yield* first).toString(), 'one');
    closeAll(a, b);
  });
});

test('a closed fd: the Future fails with OSError EBADF; bad arguments throw at the call', T, async () => {
  await runIo(function* (loop) {
    const [a, b] = socketpair();
    closeAll(a, b);
    const error = yield* failure(sockRecv(loop, a, 10));
    assert.ok(error instanceof OSError && error.code === 'EBADF' && error.syscall === 'recv', String(error));
    assert.match(String((error as Error).message), new RegExp(`fd ${a}`));
    assert.throws(() => sockRecv(loop, -1, 10), TypeError);
    assert.throws(() => sockRecv(loop, 0, 0), RangeError);
    assert.throws(() => sockSendAll(loop, 0, 'text' as unknown as Buffer), TypeError);
    assert.throws(() => sockConnect(loop, 0, ['localhost', 80]), TypeError, 'names must be resolved first');
    assert.throws(() => sockConnect(loop, 0, ['127.0.0.1', 99999]), RangeError);
    assert.equal(loop.removeReader(a), false, 'removeReader of an fd nobody watches: false');
    assert.equal(loop.removeWriter(12345), false);
  });
});
