/**
 * Where plain protocols' data is received: slices of shared slabs, so a
 * read neither allocates nor copies per read, yet `dataReceived` gets bytes
 * it may keep (a Protocol's contract).
 *
 * The scheme is Node's Buffer pool, sized for reads: the process has one
 * current slab (64 KiB). Each read receives straight into the slab's free
 * tail and the protocol gets a `subarray` of exactly the bytes that
 * arrived; the tail moves past them (8-byte aligned, so typed-array views
 * of the data work). Once the tail is smaller than a useful read (16 KiB)
 * a fresh slab replaces the current one. A slab lives as long as any slice
 * of it does; the garbage collector frees it with the last one. JavaScript
 * runs one callback at a time, so one current slab serves every transport.
 *
 * Why: at 16 KiB x 50 echo, receiving into one shared buffer and copying
 * each read into a fresh Buffer of its size spent ~40% of the server's CPU
 * on the copy and on fresh memory (a malloc per read, then page faults and
 * zeroed pages each time glibc had returned the heap's top to the kernel
 * after a collection). Slices of 64 KiB slabs cost one allocation per four
 * such reads and no copy (measured, bench/io.ts: CPU per request down by a
 * third). Recycling the slabs' memory natively when V8 finalizes them was
 * measured too, and was slower: the pool has to span the tens of MB
 * allocated between collections, so its memory is as cold as fresh memory,
 * and each slab costs a finalizer.
 *
 * Small reads (under 4 KiB) would pin a 64 KiB slab each if a protocol
 * kept them: a kept slice keeps its whole slab alive, so slices of the
 * large slab are handed out only where that costs at most 16x the slice
 * (a 4 KiB slice pinning 64 KiB). Where a small read is expected (the
 * caller says so: a transport whose last read was small), the recv goes
 * into a small slab instead (16 KiB, at least 4 KiB of it offered), whose
 * slices pin at most 16 KiB, twice what a Buffer from Node's own 8 KiB
 * pool pins. A read that comes back large from there (4 KiB or more) was
 * offered too little room, perhaps; the caller then expects a large one
 * next. A small read that was not expected is copied into a Buffer from
 * Node's pool, and the slab tail it used is reused. Why not copy always:
 * at 50 x 1 KiB echo the copy (a pool Buffer, a temporary view, the
 * memcpy) was 6% of the server's CPU.
 */
import { syscalls as sys } from './syscalls.js';

/** Size of each slab (Node's stream read size). */
export const SLAB_BYTES = 64 * 1024;
/** A read is offered at least this much room: a smaller tail means a fresh slab. */
export const MIN_READ_BYTES = 16 * 1024;
/** Reads shorter than this are small: copied out of the large slab (see above) instead of sliced. */
export const COPY_BELOW_BYTES = 4 * 1024;
/** Size of each small slab, for reads expected to be small. */
export const SMALL_SLAB_BYTES = 16 * 1024;

let slab: Buffer = Buffer.allocUnsafeSlow(SLAB_BYTES);
/** Start of the slab's free tail (a multiple of 8). */
let used = 0;
let smallSlab: Buffer = Buffer.allocUnsafeSlow(SMALL_SLAB_BYTES);
let smallUsed = 0;

/**
 * One recv from `fd` into the current slab (the small one if
 * `expectSmall`): the bytes received as a Buffer the caller may keep, or
 * the recv's result when it got none (0 at EOF, -errno: -EAGAIN when
 * nothing was waiting). Pass `expectSmall` when the last read from `fd`
 * was under COPY_BELOW_BYTES.
 *
 * @example
 * const got = recvData(fd, expectSmall);
 * if (typeof got !== 'number') {
 *   expectSmall = got.length < COPY_BELOW_BYTES;
 *   protocol.dataReceived(got);
 * } else if (got === 0) onEof();
 */
export function recvData(fd: number, expectSmall = false): Buffer | number {
  if (expectSmall) return recvSmall(fd);
  if (SLAB_BYTES - used < MIN_READ_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    used = 0;
  }
  const start = used;
  const n = sys.recv(fd, slab, start, SLAB_BYTES - start, 0);
  if (n <= 0) return n;
  if (n < COPY_BELOW_BYTES) {
    const data = Buffer.allocUnsafe(n);
    slab.copy(data, 0, start, start + n);
    return data;
  }
  used = (start + n + 7) & ~7;
  return slab.subarray(start, start + n);
}

/** recvData for an expected small read: a slice of the small slab, never a copy. */
function recvSmall(fd: number): Buffer | number {
  if (SMALL_SLAB_BYTES - smallUsed < COPY_BELOW_BYTES) {
    smallSlab = Buffer.allocUnsafeSlow(SMALL_SLAB_BYTES);
    smallUsed = 0;
  }
  const start = smallUsed;
  const n = sys.recv(fd, smallSlab, start, SMALL_SLAB_BYTES - start, 0);
  if (n <= 0) return n;
  smallUsed = (start + n + 7) & ~7;
  return smallSlab.subarray(start, start + n);
}
