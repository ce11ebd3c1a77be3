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
 * Small reads (under 4 KiB) are copied into a Buffer of their own from
 * Node's pool instead, and the slab tail they used is reused: a kept slice
 * keeps its whole slab alive, so slices are handed out only where that
 * costs at most 16x the slice (a 4 KiB slice pinning 64 KiB), and the
 * small-message case keeps receiving into the same cache-hot bytes.
 */
import { syscalls as sys } from './syscalls.js';

/** Size of each slab (Node's stream read size). */
export const SLAB_BYTES = 64 * 1024;
/** A read is offered at least this much room: a smaller tail means a fresh slab. */
export const MIN_READ_BYTES = 16 * 1024;
/** Reads shorter than this are copied out (see above) instead of sliced. */
export const COPY_BELOW_BYTES = 4 * 1024;

let slab: Buffer = Buffer.allocUnsafeSlow(SLAB_BYTES);
/** Start of the slab's free tail (a multiple of 8). */
let used = 0;

/**
 * One recv from `fd` into the current slab: the bytes received as a
 * Buffer the caller may keep, or the recv's result when it got none (0 at
 * EOF, -errno: -EAGAIN when nothing was waiting).
 *
 * @example
 * const got = recvData(fd);
 * if (typeof got !== 'number') protocol.dataReceived(got);
 * else if (got === 0) onEof();
 */
export function recvData(fd: number): Buffer | number {
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
