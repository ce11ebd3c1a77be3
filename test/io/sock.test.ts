/**
 * The low-level socket Futures (sockRecv, sockRecvInto, sockSendAll,
 * sockAccept, sockConnect, and for datagrams sockRecvfrom,
 * sockRecvfromInto, sockSendto) on raw non-blocking fds; cancellation removes
 * the watch; one waiting operation per fd and direction; closed fds and
 * bad arguments give clear errors.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { CancelledError, RuntimeError } from '../../src/core/errors.js';
import { ConnectionRefusedError, EAGAIN, OSError } from '../../src/io/errors.js';
import { sockAccept, sockConnect, sockRecv, sockRecvfrom, sockRecvfromInto, sockRecvInto, sockSendAll, sockSendto } from '../../src/io/sock.js';
import { openSocket } from '../../src/io/sockets.js';
import { newSockAddress, syscalls as sys } from '../../src/io/syscalls.js';
import { describeTask } from '../../src/inspect/task-info.js';
import { formatTaskTree } from '../../src/inspect/task-tree.js';
import { sleep } from '../../src/tasks/operation.js';
import { timeout } from '../../src/tasks/timeout.js';
import { closeAll, socketpair } from './fds.js';
import { failure, pattern, runIo } from './net-helpers.js';

const C = sys.constants;
const T = { timeout: 30_000 };

/** A socket of `type` bound to 127.0.0.1 on a free port: [fd, port]. */
function boundSocket(type: number): [number, number] {
  const fd = openSocket(C.AF_INET, type, 'test');
  assert.equal(sys.bind(fd, C.AF_INET, '127.0.0.1', 0), 0);
  const out = newSockAddress();
  sys.getsockname(fd, out);
  return [fd, out.port];
}

/** A listening TCP socket: [fd, port]. */
function listener(): [number, number] {
  const [fd, port] = boundSocket(C.SOCK_STREAM);
  assert.equal(sys.listen(fd, 16), 0);
  return [fd, port];
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

test('a task awaiting sockAccept, cancelled after the connection was accepted and before its step: the accepted fd is closed, not leaked (nobody else holds it)', T, async () => {
  await runIo(function* (loop) {
    const [lfd, port] = listener();
    const accepting = sockAccept(loop, lfd);
    // Low priority: its step, queued when the accept succeeds, runs after the normal-lane poll below in that tick.
    let waiting = false;
    const waiter = loop.createTask(function* () {
      waiting = true;
      return yield* accepting;
    }, { priority: 'low' });
    while (!waiting) yield* sleep(0);
    const poll = (): void => {
      if (accepting.done()) waiter.cancel(); // done() shows no interest in the result
      else loop.callSoon(poll);
    };
    loop.callSoon(poll);
    const client = openSocket(C.AF_INET, C.SOCK_STREAM, 'test');
    yield* sockConnect(loop, client, ['127.0.0.1', port]);
    const error = yield* failure(waiter);
    assert.ok(error instanceof CancelledError, String(error));
    // Bounded, so that a leaked fd fails here instead of hanging (end of file on loopback is immediate).
    assert.equal((yield* timeout(5000, sockRecv(loop, client, 10))).length, 0, 'the client sees the accepted end closed');
    closeAll(client, lfd);
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
    }, { name: 'receiving' });
    yield* sleep(1);
    assert.equal(describeTask(task).waitingOn?.label, `sockRecv fd ${a}`, 'named for task introspection');
    assert.equal(formatTaskTree(loop).split('\n').find((line) => line.includes('receiving')), `└── receiving #${task.id} (waiting on sockRecv fd ${a})`);
    task.cancel();
    assert.ok((yield* failure(task)) instanceof CancelledError);
    assert.equal(loop.statistics().readers, 0);
    sys.send(b, Buffer.from('later'), 0, 5, 0);
    assert.equal((yield* sockRecv(loop, a, 10)).toString(), 'later');
    closeAll(a, b);
  });
});

test('sockRecv of 0 bytes is an empty Buffer at once, with no data waiting (asyncio: sock.recv(0) is b"")', T, async () => {
  await runIo(function* (loop) {
    const [a, b] = socketpair();
    try {
      const empty = sockRecv(loop, a, 0);
      assert.equal(empty.done(), true);
      assert.deepEqual(yield* empty, Buffer.alloc(0));
    } finally {
      closeAll(a, b);
    }
  });
});

test('a second waiting read on the same fd is a RuntimeError; the first is undisturbed', T, async () => {
  await runIo(function* (loop) {
    const [a, b] = socketpair();
    const first = sockRecv(loop, a, 10);
    assert.throws(() => sockRecv(loop, a, 10), (e: unknown) => e instanceof RuntimeError && /already waiting on fd/.test(e.message));
    sys.send(b, Buffer.from('one'), 0, 3, 0);
    // Refused before it reads, even with data there: the data is the first's.
    assert.throws(() => sockRecv(loop, a, 10), (e: unknown) => e instanceof RuntimeError && /already waiting on fd/.test(e.message));
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
    assert.throws(() => sockRecv(loop, 0, -1), { name: 'RangeError', message: 'sockRecv: nbytes must be an integer >= 0, got -1' });
    assert.throws(() => sockSendAll(loop, 0, 'text' as unknown as Buffer), TypeError);
    assert.throws(() => sockConnect(loop, 0, ['localhost', 80]), TypeError, 'names must be resolved first');
    assert.throws(() => sockConnect(loop, 0, ['127.0.0.1', 99999]), RangeError);
    assert.throws(() => sockConnect(loop, 0, '/tmp/a\0b'), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: /^sockConnect: The argument 'address' must be a string without null bytes/ });
    assert.throws(() => sockConnect(loop, 0, `/tmp/${'x'.repeat(103)}`), { name: 'RangeError', message: /^sockConnect: a Unix socket path must be at most 107 bytes, got 108/ });
    assert.equal(loop.removeReader(a), false, 'removeReader of an fd nobody watches: false');
    assert.equal(loop.removeWriter(12345), false);
  });
});

/** A UDP socket bound to 127.0.0.1 on a free port: [fd, port]. */
function udpSocket(): [number, number] {
  return boundSocket(C.SOCK_DGRAM);
}

test('UDP: sockSendto and sockRecvfrom keep datagram boundaries and name the sender; a waiting sockRecvfrom wakes on the datagram', T, async () => {
  await runIo(function* (loop) {
    const [receiver, receiverPort] = udpSocket();
    const [sender, senderPort] = udpSocket();
    const waiting = loop.sockRecvfrom(receiver, 2048);
    yield* sleep(1);
    assert.equal(waiting.done(), false, 'nothing sent yet');
    const sizes = [1, 100, 1500];
    for (const size of sizes) assert.equal(yield* loop.sockSendto(sender, pattern(size), ['127.0.0.1', receiverPort]), size);
    const [first, from] = yield* waiting;
    assert.deepEqual([first.length, from], [1, ['127.0.0.1', senderPort]]);
    for (const size of sizes.slice(1)) {
      const [data, sender] = yield* sockRecvfrom(loop, receiver, 2048);
      assert.ok(data.equals(pattern(size)), `datagram of ${size}`);
      assert.deepEqual(sender, ['127.0.0.1', senderPort]);
    }
    // A datagram larger than the shared receive buffer: its own Buffer.
    const large = pattern(60_000);
    yield* sockSendto(loop, sender, large, ['127.0.0.1', receiverPort]);
    const [got] = yield* sockRecvfrom(loop, receiver, 65_536);
    assert.ok(got.equals(large));
    closeAll(receiver, sender);
  });
});

test('UDP: sockRecvfromInto fills the buffer from its start, cuts a longer datagram at nbytes, and the next datagram is whole', T, async () => {
  await runIo(function* (loop) {
    const [receiver, receiverPort] = udpSocket();
    const [sender, senderPort] = udpSocket();
    yield* sockSendto(loop, sender, Buffer.from('0123456789'), ['127.0.0.1', receiverPort]);
    yield* sockSendto(loop, sender, Buffer.from('next'), ['127.0.0.1', receiverPort]);
    const buffer = Buffer.alloc(16, 0x2e);
    assert.deepEqual(yield* loop.sockRecvfromInto(receiver, buffer, 4), [4, ['127.0.0.1', senderPort]]);
    assert.equal(buffer.toString(), '0123............', 'the rest of the datagram is dropped, as recvfrom(2) does');
    assert.deepEqual(yield* sockRecvfromInto(loop, receiver, buffer), [4, ['127.0.0.1', senderPort]]);
    assert.equal(buffer.toString(), 'next............');
    closeAll(receiver, sender);
  });
});

test('sockSendto waits while the peer\'s queue is full (EAGAIN) and sends once a datagram is read; the loop goes on meanwhile', T, async () => {
  const path = join(tmpdir(), `eventide-sock-${process.pid}.sock`);
  rmSync(path, { force: true });
  try {
    await runIo(function* (loop) {
      const receiver = openSocket(C.AF_UNIX, C.SOCK_DGRAM, 'test');
      assert.equal(sys.bind(receiver, C.AF_UNIX, path, 0), 0);
      const sender = openSocket(C.AF_UNIX, C.SOCK_DGRAM, 'test');
      // Connected, so that Linux reports the sender writable when the receiver's queue has room again.
      assert.equal(sys.connect(sender, C.AF_UNIX, path, 0), 0);
      const datagram = pattern(512);
      let queued = 0;
      while (sys.sendto(sender, datagram, 0, datagram.length, 0, C.AF_UNIX, path, 0) === datagram.length) queued++;
      assert.equal(sys.sendto(sender, datagram, 0, datagram.length, 0, C.AF_UNIX, path, 0), -EAGAIN);
      const sending = sockSendto(loop, sender, Buffer.from('last'), path);
      let ticks = 0;
      const ticker = loop.createTask(function* () {
        for (; ticks < 5; ticks++) yield* sleep(0);
      });
      yield* ticker;
      assert.equal(ticks, 5, 'the loop ran on');
      assert.equal(sending.done(), false, 'still waiting: the queue is full');
      const scratch = Buffer.alloc(1024);
      assert.equal(sys.recv(receiver, scratch, 0, scratch.length, 0), 512, 'one datagram read: room for one more');
      assert.equal(yield* sending, 4);
      for (let i = 1; i < queued; i++) assert.equal(sys.recv(receiver, scratch, 0, scratch.length, 0), 512);
      assert.equal(sys.recv(receiver, scratch, 0, scratch.length, 0), 4, 'the waiting datagram came last');
      assert.equal(scratch.toString('utf8', 0, 4), 'last');
      closeAll(receiver, sender);
    });
  } finally {
    rmSync(path, { force: true });
  }
});

test('UDP bad input: a closed fd fails the Future with EBADF; nbytes beyond the buffer, names to resolve and non-buffers throw at the call', T, async () => {
  await runIo(function* (loop) {
    const [fd] = udpSocket();
    sys.close(fd);
    const error = yield* failure(sockRecvfrom(loop, fd, 10));
    assert.ok(error instanceof OSError && error.code === 'EBADF' && error.syscall === 'recvfrom', String(error));
    const sendError = yield* failure(sockSendto(loop, fd, Buffer.from('x'), ['127.0.0.1', 9]));
    assert.ok(sendError instanceof OSError && sendError.code === 'EBADF' && sendError.syscall === 'sendto', String(sendError));
    assert.match((sendError as Error).message, /127\.0\.0\.1:9/);
    assert.throws(() => sockRecvfrom(loop, fd, 0), { name: 'RangeError', message: /sockRecvfrom: bufsize must be a positive integer/ });
    assert.throws(() => sockRecvfromInto(loop, fd, Buffer.alloc(4), 5), { name: 'RangeError', message: 'sockRecvfromInto: nbytes (5) is greater than the buffer (4 bytes)' });
    assert.throws(() => sockRecvfromInto(loop, fd, Buffer.alloc(4), -1), { name: 'RangeError', message: /sockRecvfromInto: nbytes must be a positive integer/ });
    assert.throws(() => sockSendto(loop, fd, 'text' as never, ['127.0.0.1', 9]), { name: 'TypeError', message: /sockSendto/ });
    assert.throws(() => sockSendto(loop, fd, Buffer.from('x'), ['localhost', 9]), TypeError, 'names must be resolved first');
    assert.throws(() => sockRecvfrom(loop, -1, 10), TypeError);
  });
});
