/**
 * receive-slab.ts: what a plain Protocol's reads return.
 *
 * Pinned: every read's bytes stay intact however many reads follow (the
 * protocol may keep them); reads of 4 KiB or more are 8-byte-aligned
 * slices of a shared 64 KiB slab, several per slab, and a fresh slab comes
 * once less than 16 KiB is free; smaller reads are copies that pin no
 * slab; EOF and EAGAIN come back as the recv's number.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { EAGAIN } from '../../src/io/errors.js';
import { COPY_BELOW_BYTES, MIN_READ_BYTES, recvData, SLAB_BYTES } from '../../src/io/receive-slab.js';
import { syscalls as sys } from '../../src/io/syscalls.js';
import { closeAll, socketpair } from './fds.js';
import { pattern } from './net-helpers.js';

/** Sends `data` whole (small enough for an empty socketpair buffer). */
function send(fd: number, data: Buffer): void {
  assert.equal(sys.send(fd, data, 0, data.length, 0), data.length);
}

function recvBuffer(fd: number): Buffer {
  const got = recvData(fd);
  assert.ok(typeof got !== 'number', `recv failed: ${String(got)}`);
  return got;
}

test('large reads are aligned slices of a shared 64 KiB slab until less than 16 KiB is free; every slice keeps its bytes', () => {
  assert.deepEqual([SLAB_BYTES, MIN_READ_BYTES, COPY_BELOW_BYTES], [65536, 16384, 4096]);
  const [a, b] = socketpair();
  const kept: [Buffer, Buffer][] = [];
  for (let i = 0; i < 12; i++) {
    const message = pattern(10_000 + i); // not multiples of 8: the next slice must still start aligned
    message[0] = i;
    send(b, message);
    kept.push([recvBuffer(a), message]);
  }
  for (const [data, message] of kept) {
    assert.ok(data.equals(message), 'a kept slice is never overwritten by later reads');
    assert.equal(data.buffer.byteLength, SLAB_BYTES, 'a slice of a slab, not a copy');
    assert.equal(data.byteOffset % 8, 0, 'slices start 8-byte aligned');
  }
  const slabs = [...new Set(kept.map(([data]) => data.buffer))];
  // 10,000-byte reads: 5 fit before the free tail drops below 16 KiB (5 x 10,008 = 50,040; 15,496 left).
  assert.equal(slabs.length, 3, '12 reads of ~10 KB share 3 slabs');
  assert.deepEqual(
    kept.map(([data]) => slabs.indexOf(data.buffer)),
    [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2],
  );
  closeAll(a, b);
});

test('reads under 4 KiB are copies that pin no slab, and leave the slab tail for the next read', () => {
  const [a, b] = socketpair();
  send(b, pattern(5000));
  const big = recvBuffer(a);
  send(b, Buffer.from('tiny'));
  const tiny = recvBuffer(a);
  assert.equal(tiny.toString(), 'tiny');
  assert.notEqual(tiny.buffer, big.buffer, 'the small read is not a slice of the slab');
  assert.ok(tiny.buffer.byteLength <= 8192, `it lives in Node's small-Buffer pool (${tiny.buffer.byteLength} bytes), not in a 64 KiB slab`);
  send(b, pattern(6000));
  const next = recvBuffer(a);
  assert.equal(next.buffer, big.buffer);
  assert.equal(next.byteOffset, big.byteOffset + 5000, 'the small read took no room: the next slice follows the first (5000 is 8-aligned)');
  assert.ok(big.equals(pattern(5000)) && next.equals(pattern(6000)));
  closeAll(a, b);
});

test('EOF is 0 and an empty non-blocking socket is -EAGAIN, as the recv returned them', () => {
  const [a, b] = socketpair();
  assert.equal(recvData(a), -EAGAIN);
  closeAll(b);
  assert.equal(recvData(a), 0);
  closeAll(a);
});
