/**
 * StreamWriter: the sending side of a stream — asyncio.StreamWriter.
 *
 * `write` never waits: it hands the bytes to the transport, which sends
 * them or buffers them. Back-pressure is `drain()`: a task that writes a
 * lot does `yield* writer.drain()` after writing, and waits there while the
 * transport's buffer is above its high water mark (the protocol got
 * `pauseWriting`) until it drains to the low mark (`resumeWriting`). With
 * the buffer below the mark, `drain()` returns at once without yielding.
 *
 * If the connection is lost, `drain()` throws the reader's error, or a
 * ConnectionResetError: a writer learns of a dead peer at its next drain.
 */
import type { EventLoop } from '../tasks/event-loop.js';
import type { Future } from '../tasks/future.js';
import { sleep, type Coroutine } from '../tasks/operation.js';
import type { StreamReader } from './stream-reader.js';
import type { BytesLike, ExtraInfo, Transport, WriteTransport } from './transport.js';

/** What a StreamWriter needs from its protocol (StreamReaderProtocol, or a subprocess's stdin protocol). */
export interface DrainableProtocol {
  /** Returns at once unless writing is paused; throws if the connection is lost. */
  drainHelper(): Coroutine<void>;
  /** Resolved when the connection is closed (rejected with its error). */
  readonly closed: Future<void>;
}

/**
 * Its transport is a socket's (`Transport`, the default type) or a write
 * pipe's (a subprocess's stdin: `WriteTransport`).
 *
 * @example
 * writer.write(Buffer.from('hello\n'));
 * yield* writer.drain();
 * writer.close();
 * yield* writer.waitClosed();
 */
export class StreamWriter<T extends WriteTransport = Transport> {
  readonly #transport: T;
  readonly #protocol: DrainableProtocol;
  readonly #reader: StreamReader | null;
  readonly #loop: EventLoop;

  constructor(transport: T, protocol: DrainableProtocol, reader: StreamReader | null, loop: EventLoop) {
    this.#transport = transport;
    this.#protocol = protocol;
    this.#reader = reader;
    this.#loop = loop;
  }

  /** The underlying transport. */
  get transport(): T {
    return this.#transport;
  }

  getLoop(): EventLoop {
    return this.#loop;
  }

  /** Queues `data` for sending (a Buffer, TypedArray or DataView; a string is a TypeError). Follow with `drain()`. */
  write(data: BytesLike): void {
    this.#transport.write(data);
  }

  /** The transport's writelines: all or nothing (an item that is not bytes is a TypeError, and none is written). */
  writelines(list: Iterable<BytesLike>): void {
    this.#transport.writelines(list);
  }

  /** Half-close: the peer reads EOF once the buffer is sent; reading goes on. */
  writeEof(): void {
    this.#transport.writeEof();
  }

  canWriteEof(): boolean {
    return this.#transport.canWriteEof();
  }

  /** Closes the connection after the buffered data is sent. */
  close(): void {
    this.#transport.close();
  }

  isClosing(): boolean {
    return this.#transport.isClosing();
  }

  /**
   * A Future resolved once the connection is closed (rejected with the
   * error that closed it, if any).
   */
  waitClosed(): Future<void> {
    return this.#protocol.closed;
  }

  getExtraInfo<K extends keyof ExtraInfo>(name: K): ExtraInfo[K] | undefined;
  getExtraInfo<K extends keyof ExtraInfo, D>(name: K, defaultValue: D): ExtraInfo[K] | D;
  getExtraInfo(name: string, defaultValue?: unknown): unknown;
  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    return this.#transport.getExtraInfo(name, defaultValue);
  }

  /**
   * Waits until the transport's buffer is below its high water mark.
   * Throws if the connection was lost.
   *
   * @example
   * for (const chunk of chunks) { writer.write(chunk); yield* writer.drain(); }
   */
  *drain(): Coroutine<void> {
    const exception = this.#reader?.exception() ?? null;
    if (exception !== null) throw exception;
    // Closing: let the transport's connectionLost run first, so that
    // drainHelper sees the loss instead of waiting forever.
    if (this.#transport.isClosing()) yield* sleep(0);
    yield* this.#protocol.drainHelper();
  }

  toString(): string {
    return `<StreamWriter transport=${String(this.#transport)}>`;
  }
}
