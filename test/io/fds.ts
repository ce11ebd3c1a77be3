/**
 * Small fd helpers for the io tests: non-blocking pipes and socketpairs
 * made with the native layer, a count of this process's open fds, and a
 * "did not hang" stopwatch. Not a test file itself.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { syscalls as sys } from '../../src/io/syscalls.js';

export const C = sys.constants;

/** A non-blocking, close-on-exec pipe: [readEnd, writeEnd]. */
export function pipe(): [number, number] {
  const fds = new Int32Array(2);
  assert.equal(sys.pipe2(fds, C.O_NONBLOCK | C.O_CLOEXEC), 0);
  return [fds[0] as number, fds[1] as number];
}

/** A non-blocking AF_UNIX stream socketpair. */
export function socketpair(): [number, number] {
  const sv = new Int32Array(2);
  assert.equal(sys.socketpair(C.AF_UNIX, C.SOCK_STREAM | C.SOCK_NONBLOCK | C.SOCK_CLOEXEC, 0, sv), 0);
  return [sv[0] as number, sv[1] as number];
}

/** Whether this machine has an IPv6 loopback (a socket binds to ::1): IPv6 tests skip without one. */
export function ipv6Loopback(): boolean {
  const fd = sys.socket(C.AF_INET6, C.SOCK_STREAM | C.SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const ok = sys.bind(fd, C.AF_INET6, '::1', 0) === 0;
  sys.close(fd);
  return ok;
}

/** Closes every fd, asserting each close succeeds. */
export function closeAll(...fds: number[]): void {
  for (const fd of fds) assert.equal(sys.close(fd), 0, `close(${fd})`);
}

/** Writes a string fully (small writes to empty pipes/sockets never come up short). */
export function writeString(fd: number, text: string): void {
  const bytes = Buffer.from(text);
  assert.equal(sys.write(fd, bytes, 0, bytes.length), bytes.length);
}

/** Reads what is available as a string ('' at EOF); asserts the read succeeded. */
export function readString(fd: number, max = 4096): string {
  const buffer = Buffer.alloc(max);
  const n = sys.read(fd, buffer, 0, max);
  assert.ok(n >= 0, `read(${fd}) failed with ${n}`);
  return buffer.toString('utf8', 0, n);
}

/** How many fds this process has open (the listing's own fd cancels out between two counts). */
export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/**
 * Runs `fn` and asserts it returned well inside `limitMs`: the only wall-clock
 * assertion io tests make, and only to turn "blocked until its long timeout"
 * into a failure instead of a very slow pass.
 */
export function assertReturnsPromptly<T>(fn: () => T, limitMs: number, what: string): T {
  const start = performance.now();
  const result = fn();
  const tookMs = performance.now() - start;
  assert.ok(tookMs < limitMs, `${what} blocked for ${tookMs.toFixed(0)} ms (limit ${limitMs} ms): it did not wake up`);
  return result;
}
