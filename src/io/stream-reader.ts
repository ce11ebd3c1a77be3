/**
 * StreamReader: the bytes a connection received, read by a task with
 * `yield*` — asyncio.StreamReader.
 *
 * The protocol side (`feedData`, `feedEof`, `setException`) runs in loop
 * callbacks and never waits; the task side (`read`, `readExactly`,
 * `readLine`, `readUntil`) waits on one Future, `#waiter`, which the
 * protocol side completes. Only one task may wait at a time: two readers
 * of one byte stream would each get an arbitrary half of it, so a second
 * concurrent read is a RuntimeError (as asyncio).
 *
 * Buffer. Received chunks are kept as a list (no copying on arrival: a
 * 10 MB `readExactly` must not re-copy everything per chunk). Separator
 * searches join the list into one Buffer first; a search resumes where
 * the last one stopped, and is bounded by `limit`.
 *
 * Flow control. When more than 2 x `limit` bytes are buffered the reader
 * pauses the transport (the kernel buffer fills, then the peer's sends
 * block); once reads bring it back to `limit` or less, reading resumes. A
 * read that needs more than is buffered resumes reading itself.
 *
 * The read methods are generator methods: use them with `yield*` inside a
 * task. A read with enough data buffered returns without waiting.
 */
import { describe } from '../core/assert.js';
import { RuntimeError } from '../core/errors.js';
import { getRunningLoop, type EventLoop } from '../tasks/event-loop.js';
import type { Future } from '../tasks/future.js';
import type { Coroutine } from '../tasks/operation.js';
import type { ReadTransport } from './transport.js';

/** Default buffer limit (asyncio's _DEFAULT_LIMIT, 64 KiB). */
export const DEFAULT_STREAM_LIMIT = 64 * 1024;

const EMPTY = Buffer.alloc(0);
/** readLine's separator list, made once. */
const NEWLINE: readonly Buffer[] = [Buffer.from('\n')];

/**
 * The stream ended before the read was satisfied. `partial` holds what
 * was read; `expected` is the byte count asked for (null: a separator).
 *
 * @example
 * try { yield* reader.readExactly(4); } catch (e) {
 *   if (e instanceof IncompleteReadError) console.log('got only', e.partial.length);
 * }
 */
export class IncompleteReadError extends Error {
  override name = 'IncompleteReadError';
  readonly partial: Buffer;
  readonly expected: number | null;

  constructor(partial: Buffer, expected: number | null) {
    // expected is null when no count was asked for (readUntil): the stream ended before the separator.
    super(expected === null ? `${partial.length} bytes read, and the stream ended before the separator` : `${partial.length} bytes read on a total of ${expected} expected bytes`);
    this.partial = partial;
    this.expected = expected;
  }
}

/**
 * A separator search went past the reader's limit. `consumed` is how many
 * bytes must be consumed to get past it; the data is still in the buffer
 * (except after readLine, which discards it, as asyncio).
 *
 * @example
 * catch (e) { if (e instanceof LimitOverrunError) yield* reader.readExactly(e.consumed); }
 */
export class LimitOverrunError extends Error {
  override name = 'LimitOverrunError';
  readonly consumed: number;

  constructor(message: string, consumed: number) {
    super(message);
    this.consumed = consumed;
  }
}

export interface StreamReaderOptions {
  /** Buffer limit in bytes (see the module comment). Default 64 KiB. */
  limit?: number;
  /** The loop whose futures the reader waits on. Default: the running loop, when first needed. */
  loop?: EventLoop;
}

/**
 * Throws a RangeError unless `limit` is a positive integer: checked where a
 * limit is given, so that startServer refuses a bad one at the call instead
 * of failing every connection it later accepts.
 *
 * @example
 * checkStreamLimit(options.limit, 'startServer'); // undefined (the default) passes
 */
export function checkStreamLimit(limit: unknown, who: string): void {
  if (limit === undefined) return;
  if (!Number.isInteger(limit) || (limit as number) <= 0) throw new RangeError(`${who}: limit must be a positive integer, got ${describe(limit)}`);
}

function toSeparator(separator: unknown, what = 'separator'): Buffer {
  const sep = typeof separator === 'string' ? Buffer.from(separator) : ArrayBuffer.isView(separator) ? Buffer.from(separator.buffer, separator.byteOffset, separator.byteLength) : null;
  if (sep === null) throw new TypeError(`readUntil: ${what} must be a string or bytes, got ${describe(separator)}`);
  if (sep.length === 0) throw new RangeError(`readUntil: ${what} must be at least one byte`);
  return sep;
}

/** One separator, or several (asyncio 3.13's tuple), as Buffers shortest first. */
function toSeparators(separator: unknown): Buffer[] {
  if (!Array.isArray(separator)) return [toSeparator(separator)];
  if (separator.length === 0) throw new RangeError('readUntil: separator must hold at least one separator');
  // Shortest first: at equal ends the shortest match wins (LimitOverrunError counts from its start).
  return separator.map((one, index) => toSeparator(one, `separator[${index}]`)).sort((a, b) => a.length - b.length);
}

/**
 * The receiving side of a stream (see `openConnection`, `startServer`).
 *
 * @example
 * const line = yield* reader.readLine();           // up to and including '\n'
 * const header = yield* reader.readExactly(8);
 * const rest = yield* reader.read();                // everything up to EOF
 */
export class StreamReader {
  readonly #limit: number;
  #loop: EventLoop | null;
  /** Received, not yet read, oldest first; #size is their total length. */
  #chunks: Buffer[] = [];
  #size = 0;
  #eof = false;
  #exception: unknown = null;
  #waiter: Future<void> | null = null;
  #transport: ReadTransport | null = null;
  /** ' on fd 7' once the transport is set: ends the label of each wait (task introspection). */
  #waitSuffix = '';
  /** The label of the last wait and the read it was for (see #waitForData). */
  #waitLabel = '';
  #labelledWho = '';
  #paused = false;

  constructor(options: StreamReaderOptions = {}) {
    checkStreamLimit(options.limit, 'StreamReader');
    this.#limit = options.limit ?? DEFAULT_STREAM_LIMIT;
    this.#loop = options.loop ?? null;
  }

  /** The buffer limit. */
  get limit(): number {
    return this.#limit;
  }

  /** Bytes buffered and not yet read. */
  get bufferedBytes(): number {
    return this.#size;
  }

  /** The error the stream ended with, or null. */
  exception(): unknown {
    return this.#exception;
  }

  /** True once EOF arrived and everything before it was read. */
  atEof(): boolean {
    return this.#eof && this.#size === 0;
  }

  // ------------------------------------------------- the protocol side

  /** @internal Gives the reader the transport it may pause. */
  setTransport(transport: ReadTransport): void {
    if (this.#transport !== null) throw new RuntimeError('StreamReader.setTransport: the transport is already set');
    this.#transport = transport;
    // A socket transport has `fd`, a pipe's says it as 'pipe'; anything else (a test's stand-in) goes unnamed.
    const fd = (transport as { fd?: unknown }).fd ?? (transport as Partial<ReadTransport>).getExtraInfo?.('pipe');
    if (typeof fd === 'number') this.#waitSuffix = ` on fd ${fd}`;
    this.#labelledWho = ''; // the next wait's label names the fd
  }

  /** Appends received bytes and wakes a waiting read. */
  feedData(data: Buffer): void {
    if (this.#eof) throw new RuntimeError('StreamReader.feedData: called after feedEof()');
    if (data.length === 0) return;
    this.#chunks.push(data);
    this.#size += data.length;
    this.#wakeWaiter();
    const transport = this.#transport;
    if (transport !== null && !this.#paused && this.#size > 2 * this.#limit) {
      transport.pauseReading();
      this.#paused = true;
    }
  }

  /** Marks the end of the stream and wakes a waiting read. */
  feedEof(): void {
    this.#eof = true;
    this.#wakeWaiter();
  }

  /** Ends the stream with an error: reads throw it (after a waiting read is woken with it). */
  setException(exception: unknown): void {
    this.#exception = exception;
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      if (!waiter.done()) waiter.setException(exception);
    }
  }

  // ----------------------------------------------------- the task side

  /**
   * Up to `n` bytes: whatever is buffered (waiting for at least one byte
   * if nothing is), or an empty Buffer at EOF. `n` < 0 (the default) reads
   * everything up to EOF.
   *
   * @example
   * const chunk = yield* reader.read(4096);
   */
  *read(n = -1): Coroutine<Buffer> {
    if (this.#exception !== null) throw this.#exception;
    if (!Number.isInteger(n)) throw new RangeError(`StreamReader.read: n must be an integer, got ${describe(n)}`);
    if (n === 0) return EMPTY;
    if (n < 0) {
      const blocks: Buffer[] = [];
      for (;;) {
        const block = yield* this.read(this.#limit);
        if (block.length === 0) break;
        blocks.push(block);
      }
      return Buffer.concat(blocks);
    }
    if (this.#size === 0 && !this.#eof) yield* this.#waitForData('read');
    const data = this.#take(Math.min(n, this.#size));
    this.#maybeResumeTransport();
    return data;
  }

  /**
   * Exactly `n` bytes. If the stream ends first: IncompleteReadError with
   * what there was (which is consumed).
   *
   * @example
   * const length = (yield* reader.readExactly(4)).readUInt32BE(0);
   */
  *readExactly(n: number): Coroutine<Buffer> {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`StreamReader.readExactly: n must be an integer >= 0, got ${describe(n)}`);
    if (this.#exception !== null) throw this.#exception;
    if (n === 0) return EMPTY;
    while (this.#size < n) {
      if (this.#eof) throw new IncompleteReadError(this.#take(this.#size), n);
      yield* this.#waitForData('readExactly');
    }
    const data = this.#take(n);
    this.#maybeResumeTransport();
    return data;
  }

  /**
   * One line, '\n' included; at EOF the last partial line (maybe empty).
   * A line longer than `limit`: the line (or the buffer) is discarded and
   * LimitOverrunError thrown.
   *
   * @example
   * for (let line = yield* reader.readLine(); line.length > 0; line = yield* reader.readLine()) handle(line);
   */
  *readLine(): Coroutine<Buffer> {
    const sep = NEWLINE[0] as Buffer;
    try {
      return yield* this.#readUntil(NEWLINE, 'readLine');
    } catch (error) {
      if (error instanceof IncompleteReadError) return error.partial;
      if (error instanceof LimitOverrunError) {
        const buffer = this.#join();
        if (buffer.indexOf(sep, error.consumed) === error.consumed) this.#take(error.consumed + sep.length);
        else this.#take(this.#size);
        this.#maybeResumeTransport();
      }
      throw error;
    }
  }

  /**
   * Bytes up to and including `separator` (default '\n'). At EOF without
   * it: IncompleteReadError with the rest (consumed). More than `limit`
   * bytes before it: LimitOverrunError (nothing consumed).
   *
   * Given several separators (asyncio 3.13's tuple), the result is the
   * shortest that ends with any of them.
   *
   * @example
   * const header = yield* reader.readUntil('\r\n\r\n');
   * const line = yield* reader.readUntil(['\r\n', '\n']); // either line ending
   */
  *readUntil(separator: string | ArrayBufferView | readonly (string | ArrayBufferView)[] = '\n'): Coroutine<Buffer> {
    return yield* this.#readUntil(toSeparators(separator), 'readUntil');
  }

  toString(): string {
    const parts = [`${this.#size} bytes`];
    if (this.#eof) parts.push('eof');
    if (this.#paused) parts.push('paused');
    if (this.#waiter !== null) parts.push('waiting');
    if (this.#exception !== null) parts.push(`exception=${String(this.#exception)}`);
    return `<StreamReader ${parts.join(' ')}>`;
  }

  // -------------------------------------------------------- internals

  /**
   * readUntil, for readLine too: `who` names the wait in task
   * introspection. `seps` is non-empty, shortest first.
   */
  *#readUntil(seps: readonly Buffer[], who: string): Coroutine<Buffer> {
    if (this.#exception !== null) throw this.#exception;
    const shortest = (seps[0] as Buffer).length;
    const longest = (seps[seps.length - 1] as Buffer).length;
    let offset = 0; // no separator starts before this: searched already
    let start = -1; // where the match that ends first starts
    let end = -1; // and where it ends
    for (;;) {
      if (this.#size - offset >= shortest) {
        const buffer = this.#join();
        for (const sep of seps) {
          const at = buffer.indexOf(sep, offset);
          if (at !== -1 && (end === -1 || at + sep.length < end)) {
            start = at;
            end = at + sep.length;
          }
        }
        if (end !== -1) break;
        offset = Math.max(0, this.#size + 1 - longest);
        if (offset > this.#limit) throw new LimitOverrunError('Separator is not found, and chunk exceed the limit', offset);
      }
      if (this.#eof) throw new IncompleteReadError(this.#take(this.#size), null);
      yield* this.#waitForData(who);
    }
    if (start > this.#limit) throw new LimitOverrunError('Separator is found, but chunk is longer than limit', start);
    const data = this.#take(end);
    this.#maybeResumeTransport();
    return data;
  }

  *#waitForData(who: string): Coroutine<void> {
    if (this.#waiter !== null) throw new RuntimeError(`StreamReader.${who}: another task is already waiting for incoming data`);
    // A read that needs more than is buffered must not wait on a paused transport.
    if (this.#paused) {
      this.#paused = false;
      this.#transport?.resumeReading();
    }
    const loop = (this.#loop ??= getRunningLoop());
    const waiter = loop.createFuture<void>();
    // Shown as "waiting on StreamReader.read on fd 7". Built when the kind of
    // read changes, not per wait: an echo loop waits once per request.
    if (who !== this.#labelledWho) {
      this.#labelledWho = who;
      this.#waitLabel = `StreamReader.${who}${this.#waitSuffix}`;
    }
    waiter.label = this.#waitLabel;
    this.#waiter = waiter;
    try {
      yield* waiter;
    } finally {
      if (this.#waiter === waiter) this.#waiter = null;
    }
  }

  #wakeWaiter(): void {
    const waiter = this.#waiter;
    if (waiter === null) return;
    this.#waiter = null;
    if (!waiter.done()) waiter.setResult();
  }

  #maybeResumeTransport(): void {
    if (this.#paused && this.#size <= this.#limit) {
      this.#paused = false;
      this.#transport?.resumeReading();
    }
  }

  /** The buffered bytes as one Buffer (joining the chunk list if needed). */
  #join(): Buffer {
    const chunks = this.#chunks;
    if (chunks.length === 0) return EMPTY;
    if (chunks.length > 1) this.#chunks = [Buffer.concat(chunks, this.#size)];
    return this.#chunks[0] as Buffer;
  }

  /** Removes and returns the first `n` buffered bytes (n <= #size). */
  #take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const chunks = this.#chunks;
    const first = chunks[0] as Buffer;
    this.#size -= n;
    if (first.length === n) {
      chunks.shift();
      return first;
    }
    if (first.length > n) {
      chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = chunks[0] as Buffer;
      const want = n - filled;
      if (chunk.length <= want) {
        chunk.copy(out, filled);
        filled += chunk.length;
        chunks.shift();
      } else {
        chunk.copy(out, filled, 0, want);
        chunks[0] = chunk.subarray(want);
        filled = n;
      }
    }
    return out;
  }
}
