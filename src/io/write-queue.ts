/**
 * The queue of bytes a stream transport could not write yet (the socket
 * and write-pipe transports): private copies, oldest first.
 *
 * Invariant: `size` is the sum of the chunks' byteLength, and no chunk is
 * empty. Chunks are copies because the caller of `write` may reuse its
 * buffer the moment `write` returns.
 */
import type { BytesLike } from './transport.js';

export class WriteQueue {
  /** The chunks, oldest first (a writev takes them as they are). */
  readonly chunks: Uint8Array[] = [];
  /** Bytes queued. */
  size = 0;

  /** Queues a copy of `data` from byte `offset` on (offset < data.byteLength). */
  pushTail(data: BytesLike, offset: number): void {
    const copy = new Uint8Array(data.buffer, data.byteOffset + offset, data.byteLength - offset).slice();
    this.chunks.push(copy);
    this.size += copy.byteLength;
  }

  /**
   * Queues copies of what `items` hold past their first `skip` bytes taken
   * together: the part of a gathered write (writev) the kernel did not take.
   * Empty items queue nothing.
   */
  pushUnsent(items: readonly BytesLike[], skip: number): void {
    for (const item of items) {
      const length = item.byteLength;
      if (skip >= length) {
        skip -= length;
      } else {
        this.pushTail(item, skip);
        skip = 0;
      }
    }
  }

  /** Drops `n` written bytes (n <= size) from the front. */
  consume(n: number): void {
    const chunks = this.chunks;
    let remaining = n;
    let done = 0;
    while (remaining > 0) {
      const chunk = chunks[done] as Uint8Array;
      if (chunk.byteLength <= remaining) {
        remaining -= chunk.byteLength;
        done++;
      } else {
        chunks[done] = chunk.subarray(remaining);
        remaining = 0;
      }
    }
    if (done > 0) chunks.splice(0, done);
    this.size -= n;
  }

  /** Drops everything; returns how many bytes were queued. */
  clear(): number {
    const dropped = this.size;
    this.chunks.length = 0;
    this.size = 0;
    return dropped;
  }
}
