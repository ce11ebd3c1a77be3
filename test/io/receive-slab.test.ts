/**
 * receive-slab.ts: what a plain Protocol's reads return.
 *
 * Pinned: every read's bytes stay intact however many reads follow (the
 * protocol may keep them); reads of 4 KiB or more are 8-byte-aligned
 * slices of a shared 64 KiB slab, several per slab, and a fresh slab comes
 * once less than 16 KiB is free; smaller reads are copies that pin no
 * slab, unless the caller expected a small read: then they are slices of
 * a 16 KiB small slab; EOF and EAGAIN come back as the recv's number.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { EAGAIN } from '../../src/io/errors.js';
import { COPY_BELOW_BYTES, MIN_READ_BYTES, readData, recvData, SLAB_BYTES, SMALL_SLAB_BYTES } from '../../src/io/receive-slab.js';
import { syscalls as sys } from '../../src/io/syscalls.js';
import { closeAll, pipe, socketpair } from './fds.js';
import { pattern } from './net-helpers.js';

/** Sends `data` whole (small enough for an empty socketpair buffer). */
function send(fd: number, data: Buffer): void {
  assert.equal(sys.send(fd, data, 0, data.length, 0), data.length);
}

function recvBuffer(fd: number, expectSmall = false): Buffer {
  const got = recvData(fd, expectSmall);
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

test('expected small reads are aligned slices of a 16 KiB small slab, no copies, until less than 4 KiB is free; every slice keeps its bytes', () => {
  assert.equal(SMALL_SLAB_BYTES, 16384);
  const [a, b] = socketpair();
  const kept: [Buffer, Buffer][] = [];
  for (let i = 0; i < 16; i++) {
    const message = pattern(1001 + i); // not multiples of 8
    message[0] = i;
    send(b, message);
    kept.push([recvBuffer(a, true), message]);
  }
  for (const [data, message] of kept) {
    assert.ok(data.equals(message), 'a kept slice is never overwritten by later reads');
    assert.equal(data.buffer.byteLength, SMALL_SLAB_BYTES, 'a slice of a small slab, not a copy');
    assert.equal(data.byteOffset % 8, 0, 'slices start 8-byte aligned');
  }
  const slabs = [...new Set(kept.map(([data]) => data.buffer))];
  // Reads of 1,001-1,016 bytes take 1,008 or 1,016 each: after 12, 12,128 are used and 4,256 free, so a 13th fits; then 3,240 are free (< 4 KiB).
  assert.deepEqual(
    kept.map(([data]) => slabs.indexOf(data.buffer)),
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1],
  );
  closeAll(a, b);
});

test('an expected small read that comes back large is a slice of the small slab too (at most the free tail: the rest waits for the next read)', () => {
  const [a, b] = socketpair();
  send(b, pattern(20_000));
  const first = recvBuffer(a, true);
  assert.equal(first.buffer.byteLength, SMALL_SLAB_BYTES);
  assert.ok(first.length >= COPY_BELOW_BYTES && first.length <= SMALL_SLAB_BYTES, `got ${first.length} bytes`);
  const rest = recvBuffer(a);
  assert.equal(rest.buffer.byteLength, SLAB_BYTES, 'a large read goes to the large slab');
  assert.ok(Buffer.concat([first, rest]).equals(pattern(20_000)), 'nothing lost or reordered across the two reads');
  closeAll(a, b);
});

test('EOF is 0 and an empty non-blocking socket is -EAGAIN, as the recv returned them', () => {
  const [a, b] = socketpair();
  assert.equal(recvData(a), -EAGAIN);
  assert.equal(recvData(a, true), -EAGAIN);
  closeAll(b);
  assert.equal(recvData(a), 0);
  assert.equal(recvData(a, true), 0);
  closeAll(a);
});

test('readData is recvData for pipes: read(2) into the same slabs, slices that keep their bytes, 0 at EOF, -EAGAIN when empty', () => {
  const [r, w] = pipe();
  assert.equal(readData(r), -EAGAIN);
  const first = pattern(8 * 1024);
  assert.equal(sys.write(w, first, 0, first.length), first.length);
  const got = readData(r);
  assert.ok(typeof got !== 'number');
  assert.equal(got.buffer.byteLength, SLAB_BYTES, 'a slice of the large slab, not a copy');
  assert.ok(got.equals(first));
  const small = Buffer.from('small');
  assert.equal(sys.write(w, small, 0, small.length), small.length);
  const gotSmall = readData(r, true);
  assert.ok(typeof gotSmall !== 'number');
  assert.equal(gotSmall.buffer.byteLength, SMALL_SLAB_BYTES, 'an expected small read: a slice of the small slab');
  assert.equal(gotSmall.toString(), 'small');
  assert.ok(got.equals(first), 'the first read kept its bytes');
  closeAll(w);
  assert.equal(readData(r), 0);
  closeAll(r);
});
