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

type SliceConstructor = new (buffer: ArrayBuffer, byteOffset: number, length: number) => Buffer;

/**
 * How a slice is made: with the constructor Node's own Buffer methods
 * use (FastBuffer, which Node gives as `Buffer[Symbol.species]`), a view
 * takes ~20 ns, where `buffer.subarray()` and `Buffer.from(arrayBuffer,
 * offset, length)` take ~50 (they check and clamp their arguments, then
 * call it). If a Node version has no such species, slices fall back to
 * `subarray`.
 */
const speciesOfBuffer: unknown = (Buffer as unknown as Record<symbol, unknown>)[Symbol.species];
const FastSlice: SliceConstructor | null = typeof speciesOfBuffer === 'function' && speciesOfBuffer !== Buffer && Buffer.isBuffer(new (speciesOfBuffer as SliceConstructor)(new ArrayBuffer(8), 0, 8)) ? (speciesOfBuffer as SliceConstructor) : null;

/** A slab and its free tail: each recv goes into the tail; what is handed out is never written again. */
class Slab {
  #bytes: Buffer;
  /** `#bytes`' own ArrayBuffer (allocUnsafeSlow gives each slab one, at offset 0). */
  #arrayBuffer: ArrayBuffer;
  /** Start of the free tail (a multiple of 8). */
  #used = 0;

  constructor(readonly size: number, readonly minFree: number) {
    this.#bytes = Buffer.allocUnsafeSlow(size);
    this.#arrayBuffer = this.#bytes.buffer as ArrayBuffer;
  }

  /** One recv into the free tail (a fresh slab first if less than minFree is free): bytes received, 0 at EOF, or -errno. */
  recv(fd: number): number {
    this.#makeRoom();
    return sys.recv(fd, this.#bytes, this.#used, this.size - this.#used, 0);
  }

  /** As `recv`, with read(2): for fds that are not sockets (pipes, ttys). */
  read(fd: number): number {
    this.#makeRoom();
    return sys.read(fd, this.#bytes, this.#used, this.size - this.#used);
  }

  #makeRoom(): void {
    if (this.size - this.#used < this.minFree) {
      this.#bytes = Buffer.allocUnsafeSlow(this.size);
      this.#arrayBuffer = this.#bytes.buffer as ArrayBuffer;
      this.#used = 0;
    }
  }

  /** The `n` bytes the last recv got, as a slice the caller may keep; the tail moves past them (8-byte aligned). */
  take(n: number): Buffer {
    const start = this.#used;
    this.#used = (start + n + 7) & ~7;
    return FastSlice === null ? this.#bytes.subarray(start, start + n) : new FastSlice(this.#arrayBuffer, start, n);
  }

  /** A copy of the `n` bytes the last recv got, in a Buffer from Node's pool; the tail stays for the next recv. */
  copy(n: number): Buffer {
    const data = Buffer.allocUnsafe(n);
    this.#bytes.copy(data, 0, this.#used, this.#used + n);
    return data;
  }
}

const large = new Slab(SLAB_BYTES, MIN_READ_BYTES);
const small = new Slab(SMALL_SLAB_BYTES, COPY_BELOW_BYTES);

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
  const slab = expectSmall ? small : large;
  return received(slab, slab.recv(fd), expectSmall);
}

/**
 * `recvData` for fds that are not sockets (pipes, ttys): one read(2) into
 * the same slabs, with the same result and the same `expectSmall` rule.
 *
 * @example
 * const got = readData(pipeFd, expectSmall); // Buffer, 0 at EOF, or -errno
 */
export function readData(fd: number, expectSmall = false): Buffer | number {
  const slab = expectSmall ? small : large;
  return received(slab, slab.read(fd), expectSmall);
}

/** What the last recv or read into `slab` got, as recvData returns it. */
function received(slab: Slab, n: number, expectSmall: boolean): Buffer | number {
  if (n <= 0) return n;
  return expectSmall || n >= COPY_BELOW_BYTES ? slab.take(n) : slab.copy(n);
}
