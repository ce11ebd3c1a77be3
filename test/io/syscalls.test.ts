/**
 * The native syscall layer (src/io/syscalls.ts, native/*.c), call by call.
 *
 * Pinned: the one error convention (a failed call returns -errno and never
 * throws; misuse throws a TypeError/RangeError naming the function and the
 * argument), short counts passed through unchanged, EAGAIN on empty
 * non-blocking reads, out-parameters filled in place, address round-trips
 * for IPv4/IPv6/Unix, and EMFILE reported cleanly (in a child process whose
 * fd limit is 64).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readlinkSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import {
  BrokenPipeError,
  ConnectionRefusedError,
  EAGAIN,
  EBADF,
  EEXIST,
  ECONNREFUSED,
  EINPROGRESS,
  EMFILE,
  EPIPE,
  ESPIPE,
  errnoName,
  osError,
} from '../../src/io/errors.js';
import { newSockAddress, syscalls as sys } from '../../src/io/syscalls.js';
import { C, closeAll, openFdCount, pipe, readString, socketpair, writeString } from './fds.js';

const NONBLOCK_STREAM = C.SOCK_STREAM | C.SOCK_NONBLOCK | C.SOCK_CLOEXEC;
const NONBLOCK_DGRAM = C.SOCK_DGRAM | C.SOCK_NONBLOCK | C.SOCK_CLOEXEC;

/** Waits (poll(2), up to 10 s) until `fd` is writable; returns revents. */
function waitWritable(fd: number): number {
  const pollfds = new Int32Array(2);
  const view = new Int16Array(pollfds.buffer);
  pollfds[0] = fd;
  view[2] = C.POLLOUT;
  assert.equal(sys.poll(pollfds, 1, 10_000), 1);
  return view[3] as number;
}

/** A listening TCP socket on 127.0.0.1 and its port. */
function listenTcp4(): { fd: number; port: number } {
  const fd = sys.socket(C.AF_INET, NONBLOCK_STREAM, 0);
  assert.ok(fd >= 0);
  assert.equal(sys.setsockoptInt(fd, C.SOL_SOCKET, C.SO_REUSEADDR, 1), 0);
  assert.equal(sys.bind(fd, C.AF_INET, '127.0.0.1', 0), 0);
  assert.equal(sys.listen(fd, C.SOMAXCONN), 0);
  const address = newSockAddress();
  assert.equal(sys.getsockname(fd, address), 0);
  return { fd, port: address.port };
}

test('pipe2 gives a connected non-blocking pair: write then read round-trips, EOF after the writer closes', () => {
  const [r, w] = pipe();
  writeString(w, 'hello');
  assert.equal(readString(r), 'hello');
  closeAll(w);
  assert.equal(readString(r), '', 'read returns 0 at end of file');
  closeAll(r);
});

test('read on an empty non-blocking pipe returns -EAGAIN instead of throwing or blocking', () => {
  const [r, w] = pipe();
  assert.equal(sys.read(r, Buffer.alloc(8), 0, 8), -EAGAIN);
  assert.equal(errnoName(-EAGAIN), 'EAGAIN');
  closeAll(r, w);
});

test('a write bigger than a pipe\'s free space returns the short count, then -EAGAIN when full', () => {
  const [r, w] = pipe();
  const big = Buffer.alloc(4 << 20, 0x61); // larger than any pipe buffer
  const first = sys.write(w, big, 0, big.length);
  assert.ok(first > 0 && first < big.length, `expected a short write, got ${first}`);
  assert.equal(sys.write(w, big, first, big.length - first), -EAGAIN);
  let drained = 0;
  const chunk = Buffer.alloc(1 << 16);
  for (let n; (n = sys.read(r, chunk, 0, chunk.length)) > 0; ) drained += n;
  assert.equal(drained, first, 'every byte the short write reported is in the pipe');
  closeAll(r, w);
});

test('offset and length select the part of the buffer read into and written from', () => {
  const [r, w] = pipe();
  const source = Buffer.from('..abc..');
  assert.equal(sys.write(w, source, 2, 3), 3);
  const target = Buffer.from('------');
  assert.equal(sys.read(r, target, 1, 5), 3);
  assert.equal(target.toString(), '-abc--');
  // Any TypedArray or DataView is bytes.
  const words = new Uint16Array([0x6968]); // 'hi' little-endian
  assert.equal(sys.write(w, words, 0, 2), 2);
  assert.equal(sys.read(r, new DataView(target.buffer, target.byteOffset, 6), 0, 6), 2);
  assert.equal(target.toString('latin1', 0, 2), 'hi');
  closeAll(r, w);
});

test('writev gathers several buffers in order and readv scatters into several', () => {
  const [a, b] = socketpair();
  const parts = [Buffer.from('one,'), new Uint8Array(Buffer.from('two,')), Buffer.from('three')];
  assert.equal(sys.writev(a, parts), 13);
  const x = Buffer.alloc(3);
  const y = Buffer.alloc(20);
  assert.equal(sys.readv(b, [x, y]), 13);
  assert.equal(x.toString() + y.toString('utf8', 0, 10), 'one,two,three');
  assert.equal(sys.writev(a, []), 0, 'no buffers: nothing written');
  closeAll(a, b);
});

test('close twice: the second close returns -EBADF; calls on a closed fd return -EBADF', () => {
  const [r, w] = pipe();
  assert.equal(sys.close(r), 0);
  assert.equal(sys.close(r), -EBADF);
  assert.equal(sys.read(r, Buffer.alloc(1), 0, 1), -EBADF);
  assert.equal(sys.fcntl(r, C.F_GETFD, 0), -EBADF);
  const error = osError(sys.close(r), 'close', `fd ${r}`);
  assert.equal(error.name, 'OSError');
  assert.equal(error.code, 'EBADF');
  assert.equal(error.errno, EBADF);
  assert.equal(error.syscall, 'close');
  assert.match(error.message, new RegExp(`^close \\(fd ${r}\\) failed: EBADF: bad file descriptor$`));
  closeAll(w);
});

test('fstatMode: the file type of a pipe, a socket, a character device and a regular file; -EBADF when closed; a non-number is a TypeError', () => {
  const [r, w] = pipe();
  const [a, b] = socketpair();
  const devNull = openSync('/dev/null', 'r');
  const self = openSync(new URL(import.meta.url), 'r');
  try {
    assert.equal(sys.fstatMode(r) & C.S_IFMT, C.S_IFIFO);
    assert.equal(sys.fstatMode(a) & C.S_IFMT, C.S_IFSOCK);
    assert.equal(sys.fstatMode(devNull) & C.S_IFMT, C.S_IFCHR);
    assert.equal(sys.fstatMode(self) & C.S_IFMT, C.S_IFREG);
  } finally {
    closeSync(devNull);
    closeSync(self);
    closeAll(r, w, a, b);
  }
  assert.equal(sys.fstatMode(r), -EBADF);
  assert.throws(() => sys.fstatMode('3' as never), { name: 'TypeError', message: "fstatMode: argument 'fd' must be a number" });
});

test('sendfile: bytes of a regular file from an offset to a socket, 0 at the end, the file position unmoved; -ESPIPE from a pipe; a negative offset is a RangeError', () => {
  const self = openSync(new URL(import.meta.url), 'r');
  const [a, b] = socketpair();
  const [r, w] = pipe();
  try {
    const expected = readFileSync(new URL(import.meta.url)).subarray(10, 30);
    assert.equal(sys.sendfile(a, self, 10, 20), 20);
    const got = Buffer.alloc(64);
    assert.equal(sys.read(b, got, 0, 64), 20);
    assert.ok(got.subarray(0, 20).equals(expected));
    assert.equal(sys.sendfile(a, self, 1e9, 20), 0, 'past the end: nothing');
    const first = Buffer.alloc(2);
    assert.equal(readSync(self, first, 0, 2, null), 2);
    assert.equal(first.toString(), readFileSync(new URL(import.meta.url)).subarray(0, 2).toString(), 'the position is still 0');
    assert.equal(sys.write(w, Buffer.from('p'), 0, 1), 1);
    assert.equal(sys.sendfile(a, r, 0, 1), -ESPIPE, 'sendfile(2) cannot read a pipe at an offset');
    assert.throws(() => sys.sendfile(a, self, -1, 1), { name: 'RangeError', message: /sendfile: argument 'offset' must be an integer from 0 to 2\^53-1/ });
  } finally {
    closeSync(self);
    closeAll(a, b, r, w);
  }
});

test('writing to a pipe whose reader is gone returns -EPIPE (no SIGPIPE), which maps to BrokenPipeError', () => {
  const [r, w] = pipe();
  closeAll(r);
  const result = sys.write(w, Buffer.from('x'), 0, 1);
  assert.equal(result, -EPIPE);
  assert.ok(osError(result, 'write') instanceof BrokenPipeError);
  closeAll(w);
});

test('fcntl: F_SETFL O_NONBLOCK makes a blocking pipe return -EAGAIN; O_CLOEXEC shows as FD_CLOEXEC', () => {
  const fds = new Int32Array(2);
  assert.equal(sys.pipe2(fds, 0), 0);
  const [r, w] = [fds[0] as number, fds[1] as number];
  const flags = sys.fcntl(r, C.F_GETFL, 0);
  assert.equal(flags & C.O_NONBLOCK, 0, 'created blocking');
  assert.equal(sys.fcntl(r, C.F_GETFD, 0) & C.FD_CLOEXEC, 0);
  assert.equal(sys.fcntl(r, C.F_SETFL, flags | C.O_NONBLOCK), 0);
  assert.equal(sys.read(r, Buffer.alloc(1), 0, 1), -EAGAIN);
  const [r2, w2] = pipe();
  assert.equal(sys.fcntl(r2, C.F_GETFD, 0) & C.FD_CLOEXEC, C.FD_CLOEXEC);
  assert.throws(() => sys.fcntl(r, 1030 /* F_DUPFD_CLOEXEC */, 0), { name: 'RangeError', message: /^fcntl: cmd 1030 is not one of/ });
  closeAll(r, w, r2, w2);
});

test('eventfd: writes add up, one read returns the sum and resets it, an empty read is -EAGAIN', () => {
  const fd = sys.eventfd(0, C.EFD_NONBLOCK | C.EFD_CLOEXEC);
  assert.ok(fd >= 0);
  assert.equal(sys.eventfdRead(fd), -EAGAIN);
  assert.equal(sys.eventfdWrite(fd, 3), 0);
  assert.equal(sys.eventfdWrite(fd, 4), 0);
  assert.equal(sys.eventfdRead(fd), 7);
  assert.equal(sys.eventfdRead(fd), -EAGAIN);
  assert.equal(sys.eventfdWrite(fd, 2 ** 40), 0, 'values beyond int32 are fine');
  assert.equal(sys.eventfdRead(fd), 2 ** 40);
  closeAll(fd);
});

test('epollWait decodes [fd, events] pairs into the bound Int32Array; unbound epoll fds are refused', () => {
  const epfd = sys.epollCreate1(C.EPOLL_CLOEXEC);
  assert.throws(() => sys.epollWait(epfd, 0), { name: 'TypeError', message: new RegExp(`epollWait: epoll fd ${epfd} has no bound buffer`) });
  const pairs = new Int32Array(8);
  assert.equal(sys.epollBind(epfd, pairs), 4);
  const [r, w] = pipe();
  assert.equal(sys.epollCtl(epfd, C.EPOLL_CTL_ADD, r, C.EPOLLIN), 0);
  assert.equal(sys.epollCtl(epfd, C.EPOLL_CTL_ADD, w, C.EPOLLOUT), 0);
  assert.equal(sys.epollCtl(epfd, C.EPOLL_CTL_ADD, w, C.EPOLLOUT), -EEXIST);
  assert.equal(sys.epollWait(epfd, 0), 1);
  assert.deepEqual([...pairs.subarray(0, 2)], [w, C.EPOLLOUT]);
  writeString(w, 'x');
  assert.equal(sys.epollWait(epfd, 0), 2);
  const seen = new Map([[pairs[0], pairs[1]], [pairs[2], pairs[3]]]);
  assert.deepEqual(seen, new Map([[r, C.EPOLLIN], [w, C.EPOLLOUT]]));
  assert.equal(sys.epollBind(epfd, null), 0, 'unbind');
  assert.throws(() => sys.epollWait(epfd, 0), /no bound buffer/);
  assert.equal(sys.epollBind(epfd, new Int32Array(2)), 1);
  closeAll(epfd); // close also unbinds
  assert.throws(() => sys.epollWait(epfd, 0), /no bound buffer/);
  closeAll(r, w);
});

test('poll works on the caller\'s struct pollfd buffer in place (revents written back)', () => {
  const [r, w] = pipe();
  const pollfds = new Int32Array(4);
  const halves = new Int16Array(pollfds.buffer);
  pollfds[0] = r;
  halves[2] = C.POLLIN;
  pollfds[2] = w;
  halves[6] = C.POLLOUT;
  assert.equal(sys.poll(pollfds, 2, 0), 1);
  assert.deepEqual([halves[3], halves[7]], [0, C.POLLOUT]);
  writeString(w, 'x');
  assert.equal(sys.poll(pollfds, 2, 0), 2);
  assert.deepEqual([halves[3], halves[7]], [C.POLLIN, C.POLLOUT]);
  assert.throws(() => sys.poll(pollfds, 3, 0), { name: 'RangeError', message: /^poll: nfds 3 does not fit the pollfds buffer/ });
  closeAll(r, w);
});

test('TCP over 127.0.0.1: non-blocking connect, accept4, SO_ERROR 0, names on both ends, send/recv, half-close', () => {
  const server = listenTcp4();
  const client = sys.socket(C.AF_INET, NONBLOCK_STREAM, 0);
  const started = sys.connect(client, C.AF_INET, '127.0.0.1', server.port);
  assert.ok(started === 0 || started === -EINPROGRESS, `connect: ${started}`);
  assert.equal(waitWritable(client) & C.POLLOUT, C.POLLOUT);
  assert.equal(sys.getsockoptInt(client, C.SOL_SOCKET, C.SO_ERROR), 0);
  const conn = sys.accept4(server.fd, C.SOCK_NONBLOCK | C.SOCK_CLOEXEC);
  assert.ok(conn >= 0, `accept4: ${conn}`);
  assert.equal(sys.fcntl(conn, C.F_GETFL, 0) & C.O_NONBLOCK, C.O_NONBLOCK, 'accepted non-blocking');
  assert.equal(sys.fcntl(conn, C.F_GETFD, 0) & C.FD_CLOEXEC, C.FD_CLOEXEC, 'accepted close-on-exec');

  const peer = newSockAddress();
  const local = newSockAddress();
  assert.equal(sys.getpeername(conn, peer), 0);
  assert.equal(sys.getsockname(client, local), 0);
  assert.deepEqual(peer, local, "the server's peer is the client's own name");
  assert.deepEqual({ ...peer, port: 0 }, { family: C.AF_INET, address: '127.0.0.1', port: 0, flowInfo: 0, scopeId: 0 });

  const message = Buffer.from('ping');
  assert.equal(sys.send(client, message, 0, 4, 0), 4);
  const buffer = Buffer.alloc(16);
  assert.equal(sys.recv(conn, buffer, 0, 16, C.MSG_PEEK), 4, 'MSG_PEEK leaves the data');
  assert.equal(sys.recv(conn, buffer, 0, 16, 0), 4);
  assert.equal(buffer.toString('utf8', 0, 4), 'ping');
  assert.equal(sys.recv(conn, buffer, 0, 16, 0), -EAGAIN);
  assert.equal(sys.shutdown(client, C.SHUT_WR), 0);
  assert.equal(sys.recv(conn, buffer, 0, 16, 0), 0, 'half-close reads as EOF on the other end');
  assert.equal(sys.send(conn, message, 0, 4, 0), 4, 'the other direction still works');
  assert.equal(sys.recv(client, buffer, 0, 16, 0), 4);
  closeAll(client, conn, server.fd);
});

test('setsockoptInt/getsockoptInt: TCP_NODELAY, SO_KEEPALIVE, SO_REUSEADDR, SO_REUSEPORT read back as set', () => {
  const fd = sys.socket(C.AF_INET, NONBLOCK_STREAM, 0);
  for (const [level, name] of [
    [C.IPPROTO_TCP, C.TCP_NODELAY],
    [C.SOL_SOCKET, C.SO_KEEPALIVE],
    [C.SOL_SOCKET, C.SO_REUSEADDR],
    [C.SOL_SOCKET, C.SO_REUSEPORT],
  ] as const) {
    assert.equal(sys.getsockoptInt(fd, level, name), 0);
    assert.equal(sys.setsockoptInt(fd, level, name, 1), 0);
    assert.notEqual(sys.getsockoptInt(fd, level, name), 0);
  }
  assert.equal(sys.getsockoptInt(fd, C.SOL_SOCKET, C.SO_TYPE), C.SOCK_STREAM);
  closeAll(fd);
});

test('connecting to a port nobody listens on: SO_ERROR gives ECONNREFUSED, which maps to ConnectionRefusedError', () => {
  const probe = listenTcp4();
  closeAll(probe.fd); // the port is now (almost certainly) free
  const client = sys.socket(C.AF_INET, NONBLOCK_STREAM, 0);
  const started = sys.connect(client, C.AF_INET, '127.0.0.1', probe.port);
  if (started === -EINPROGRESS) waitWritable(client);
  const pending = started === -EINPROGRESS ? sys.getsockoptInt(client, C.SOL_SOCKET, C.SO_ERROR) : -started;
  assert.equal(pending, ECONNREFUSED);
  const error = osError(pending, 'connect', `127.0.0.1:${probe.port}`);
  assert.ok(error instanceof ConnectionRefusedError);
  assert.equal(error.code, 'ECONNREFUSED');
  assert.equal(sys.getsockoptInt(client, C.SOL_SOCKET, C.SO_ERROR), 0, 'reading SO_ERROR cleared it');
  closeAll(client);
});

test('IPv6 loopback: bind/getsockname round-trip "::1" (skipped without IPv6)', (t) => {
  const fd = sys.socket(C.AF_INET6, NONBLOCK_STREAM, 0);
  if (fd < 0 || sys.bind(fd, C.AF_INET6, '::1', 0) < 0) {
    if (fd >= 0) closeAll(fd);
    t.skip('no IPv6 loopback on this machine');
    return;
  }
  const name = newSockAddress();
  assert.equal(sys.getsockname(fd, name), 0);
  assert.equal(name.family, C.AF_INET6);
  assert.equal(name.address, '::1');
  assert.ok(name.port > 0);
  assert.equal(name.scopeId, 0);
  closeAll(fd);
});

test('Unix sockets: a filesystem path and an abstract name round-trip through getsockname', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eventide-unix-'));
  try {
    const path = join(dir, 'sock');
    const fd = sys.socket(C.AF_UNIX, NONBLOCK_STREAM, 0);
    assert.equal(sys.bind(fd, C.AF_UNIX, path, 0), 0);
    assert.equal(sys.listen(fd, 16), 0);
    const name = newSockAddress();
    assert.equal(sys.getsockname(fd, name), 0);
    assert.deepEqual(name, { family: C.AF_UNIX, address: path, port: 0, flowInfo: 0, scopeId: 0 });
    const client = sys.socket(C.AF_UNIX, NONBLOCK_STREAM, 0);
    assert.equal(sys.connect(client, C.AF_UNIX, path, 0), 0);
    const conn = sys.accept4(fd, C.SOCK_NONBLOCK | C.SOCK_CLOEXEC);
    assert.ok(conn >= 0);
    assert.equal(sys.getpeername(conn, name), 0);
    assert.equal(name.address, '', 'an unbound client is unnamed');

    const abstractName = `\0eventide-test-${process.pid}`;
    const abstract = sys.socket(C.AF_UNIX, NONBLOCK_STREAM, 0);
    assert.equal(sys.bind(abstract, C.AF_UNIX, abstractName, 0), 0);
    assert.equal(sys.getsockname(abstract, name), 0);
    assert.equal(name.address, abstractName);
    closeAll(fd, client, conn, abstract);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('UDP: sendto an address and recvfrom reports the sender', () => {
  const receiver = sys.socket(C.AF_INET, NONBLOCK_DGRAM, 0);
  const sender = sys.socket(C.AF_INET, NONBLOCK_DGRAM, 0);
  assert.equal(sys.bind(receiver, C.AF_INET, '127.0.0.1', 0), 0);
  assert.equal(sys.bind(sender, C.AF_INET, '127.0.0.1', 0), 0);
  const to = newSockAddress();
  const senderName = newSockAddress();
  sys.getsockname(receiver, to);
  sys.getsockname(sender, senderName);
  const datagram = Buffer.from('datagram');
  assert.equal(sys.sendto(sender, datagram, 0, datagram.length, 0, C.AF_INET, '127.0.0.1', to.port), 8);
  const from = newSockAddress();
  const buffer = Buffer.alloc(64);
  assert.equal(sys.recvfrom(receiver, buffer, 0, 64, 0, from), 8);
  assert.equal(buffer.toString('utf8', 0, 8), 'datagram');
  assert.deepEqual(from, senderName);
  assert.equal(sys.recvfrom(receiver, buffer, 0, 64, 0, null), -EAGAIN);
  // A connected UDP socket sends without an address (family AF_UNSPEC).
  assert.equal(sys.connect(sender, C.AF_INET, '127.0.0.1', to.port), 0);
  assert.equal(sys.sendto(sender, datagram, 0, 4, 0, C.AF_UNSPEC, '', 0), 4);
  assert.equal(sys.recvfrom(receiver, buffer, 0, 64, 0, null), 4);
  closeAll(receiver, sender);
});

test('int arguments: the int32 range is accepted at both ends, one past it, infinities and fractions are RangeErrors', () => {
  assert.equal(sys.close(-2147483648), -EBADF, 'the lowest int32 reaches the system call');
  assert.equal(sys.close(2147483647), -EBADF, 'the highest too');
  assert.equal(sys.fcntl(-0, C.F_GETFD, 0), sys.fcntl(0, C.F_GETFD, 0), '-0 is fd 0 (F_GETFD only reads its flags)');
  for (const [value, text] of [[2147483648, '2147483648'], [-2147483649, '-2147483649'], [Infinity, 'Infinity'], [-Infinity, '-Infinity'], [0.5, '0.5']] as const) {
    assert.throws(() => sys.fcntl(value, C.F_GETFD, 0), { name: 'RangeError', message: `fcntl: argument 'fd' must be an integer in int32 range, got ${text}` });
  }
});

test('misuse throws a TypeError/RangeError naming the function and the argument, before any system call', () => {
  const [r, w] = pipe();
  const call = (fn: () => unknown) => () => void fn();
  const cases: [() => void, string, RegExp][] = [
    [call(() => sys.close(Number.NaN)), 'RangeError', /^close: argument 'fd' must be an integer in int32 range, got NaN$/],
    [call(() => sys.read(1.5, Buffer.alloc(1), 0, 1)), 'RangeError', /^read: argument 'fd' must be an integer .*got 1.5$/],
    [call(() => (sys.read as (...a: unknown[]) => number)('3', Buffer.alloc(1), 0, 1)), 'TypeError', /^read: argument 'fd' must be a number$/],
    [call(() => sys.read(r, Buffer.alloc(4), 2, 3)), 'RangeError', /^read: offset 2 \+ length 3 is outside the buffer \(4 bytes\)$/],
    [call(() => sys.write(w, 'text' as unknown as Buffer, 0, 4)), 'TypeError', /^write: argument 'buffer' must be a Buffer, TypedArray or DataView$/],
    [call(() => sys.writev(w, [Buffer.alloc(1), 'x' as unknown as Buffer])), 'TypeError', /^writev: buffers\[1\] must be a Buffer/],
    [call(() => (sys.close as (...a: unknown[]) => number)()), 'TypeError', /^close: expected 1 arguments, got 0$/],
    [call(() => sys.bind(r, C.AF_INET, '1.2.3', 0)), 'TypeError', /^bind: '1.2.3' is not a numeric IPv4 address$/],
    [call(() => sys.connect(r, C.AF_INET6, 'localhost', 80)), 'TypeError', /^connect: 'localhost' is not a numeric IPv6 address$/],
    [call(() => sys.bind(r, C.AF_INET, '127.0.0.1', 70000)), 'RangeError', /^bind: port must be 0..65535, got 70000$/],
    [call(() => sys.bind(r, C.AF_UNIX, 'x'.repeat(200), 0)), 'RangeError', /^bind: Unix socket path must be 1..107 bytes, got 200$/],
    [call(() => sys.bind(r, 12345, 'x', 0)), 'RangeError', /^bind: family must be AF_INET, AF_INET6 or AF_UNIX, got 12345$/],
    [call(() => sys.pipe2(new Int32Array(1), 0)), 'TypeError', /^pipe2: argument 'fds' must be an Int32Array of length >= 2$/],
    [call(() => sys.getsockname(r, null as unknown as ReturnType<typeof newSockAddress>)), 'TypeError', /^getsockname: argument 'out' must be an object$/],
    [call(() => sys.uvPollOpen(r, 'nope' as unknown as () => void)), 'TypeError', /^uvPollOpen: argument 'onReadable' must be a function$/],
    [call(() => sys.eventfdWrite(r, -1)), 'RangeError', /^eventfdWrite: argument 'value' must be an integer from 0 to 2\^53-1, got -1$/],
    [call(() => sys.uvPollRef(12345, true)), 'RangeError', /^uvPollRef: no open watcher with id 12345$/],
    [call(() => sys.uvTurnOpen('nope' as unknown as () => boolean)), 'TypeError', /^uvTurnOpen: argument 'onTurn' must be a function$/],
    [call(() => sys.uvTurnArm(12345, true)), 'RangeError', /^uvTurnArm: no open turn with id 12345$/],
    [call(() => sys.uvTurnClose(-1)), 'RangeError', /^uvTurnClose: no open turn with id -1$/],
  ];
  const before = openFdCount();
  for (const [fn, name, message] of cases) assert.throws(fn, { name, message });
  assert.equal(openFdCount(), before, 'no call reached the kernel and opened anything');
  assert.equal(sys.read(r, Buffer.alloc(1), 0, 1), -EAGAIN, 'nothing reached the pipe');
  closeAll(r, w);
});

test('the libuv backend fd is this thread\'s Node epoll fd', () => {
  const fd = sys.uvBackendFd();
  assert.equal(readlinkSync(`/proc/self/fd/${fd}`), 'anon_inode:[eventpoll]');
  const timeoutMs = sys.uvBackendTimeout();
  assert.ok(Number.isInteger(timeoutMs) && timeoutMs >= -1, `uvBackendTimeout: ${timeoutMs}`);
});

test('uvPollRef: a started watcher keeps the process alive only while ref\'d; a bad keepAlive is a TypeError', () => {
  const syscallsUrl = new URL('../../src/io/syscalls.js', import.meta.url).href;
  // A watcher on a pipe nobody writes: it never fires. Ref'd, it keeps the
  // process alive until the (unref'd) timer closes it; unref'd, the process
  // exits at once and the timer never runs.
  const script = (keepAlive: boolean): string => `
    const { syscalls: sys } = await import(${JSON.stringify(syscallsUrl)});
    const fds = new Int32Array(2);
    sys.pipe2(fds, sys.constants.O_NONBLOCK | sys.constants.O_CLOEXEC);
    const id = sys.uvPollOpen(fds[0], () => {});
    sys.uvPollStart(id);
    sys.uvPollRef(id, false);
    sys.uvPollRef(id, ${keepAlive});
    setTimeout(() => { console.log('still alive after 100 ms'); sys.uvPollClose(id); }, 100).unref();
    process.on('exit', () => console.log('exit'));`;
  const run = (keepAlive: boolean): string =>
    execFileSync(process.execPath, ['--input-type=module', '-e', script(keepAlive)], { encoding: 'utf8', timeout: 10_000 }).trim();
  assert.equal(run(true), 'still alive after 100 ms\nexit');
  assert.equal(run(false), 'exit');
  const [r, w] = pipe();
  const id = sys.uvPollOpen(r, () => {});
  assert.throws(() => sys.uvPollRef(id, 1 as unknown as boolean), { name: 'TypeError', message: /^uvPollRef: argument 'keepAlive' must be a boolean$/ });
  assert.equal(sys.uvPollClose(id), 0);
  closeAll(r, w);
});

test('EMFILE: with `ulimit -n 64`, socket() and accept4() return -EMFILE cleanly, and accept4 succeeds once an fd is freed', () => {
  const syscallsUrl = new URL('../../src/io/syscalls.js', import.meta.url).href;
  const script = `
    import { syscalls as sys } from ${JSON.stringify(syscallsUrl)};
    const c = sys.constants;
    const stream = c.SOCK_STREAM | c.SOCK_NONBLOCK | c.SOCK_CLOEXEC;
    const listener = sys.socket(c.AF_INET, stream, 0);
    sys.bind(listener, c.AF_INET, '127.0.0.1', 0);
    sys.listen(listener, 16);
    const name = { family: 0, address: '', port: 0, flowInfo: 0, scopeId: 0 };
    sys.getsockname(listener, name);
    const client = sys.socket(c.AF_INET, stream, 0);
    const connect = sys.connect(client, c.AF_INET, '127.0.0.1', name.port);
    const fillers = [];
    let fill;
    while ((fill = sys.eventfd(0, c.EFD_CLOEXEC)) >= 0) fillers.push(fill);
    const result = { fill, fillers: fillers.length, connect, socket: sys.socket(c.AF_INET, stream, 0), accept: sys.accept4(listener, c.SOCK_NONBLOCK | c.SOCK_CLOEXEC) };
    sys.close(fillers.pop());
    result.acceptAfterClose = sys.accept4(listener, c.SOCK_NONBLOCK | c.SOCK_CLOEXEC);
    console.log(JSON.stringify(result));
  `;
  const output = execFileSync('bash', ['-c', 'ulimit -n 64 && exec "$0" --input-type=module -e "$1"', process.execPath, script], {
    encoding: 'utf8',
  });
  const result = JSON.parse(output) as Record<string, number>;
  assert.equal(result.fill, -EMFILE);
  assert.ok((result.fillers as number) > 0);
  assert.equal(result.socket, -EMFILE);
  assert.equal(result.accept, -EMFILE, 'the pending connection stays queued');
  assert.ok((result.acceptAfterClose as number) >= 0, `accept4 after freeing an fd: ${result.acceptAfterClose}`);
});

test('uvTurnArm: a bad armed flag is a TypeError; an open turn armed and closed leaves nothing behind', () => {
  const turn = sys.uvTurnOpen(() => true);
  assert.ok(turn >= 0);
  assert.throws(() => sys.uvTurnArm(turn, 1 as unknown as boolean), { name: 'TypeError', message: /^uvTurnArm: argument 'armed' must be a boolean$/ });
  assert.equal(sys.uvTurnArm(turn, true), 0);
  assert.equal(sys.uvTurnClose(turn), 0);
  assert.throws(() => sys.uvTurnArm(turn, false), { name: 'RangeError', message: `uvTurnArm: no open turn with id ${turn}` });
});
