/**
 * Streams: a connection as a StreamReader and a StreamWriter, for code
 * written as tasks — asyncio's `open_connection` / `start_server`.
 *
 * Underneath it is the protocol layer: StreamReaderProtocol is an ordinary
 * Protocol that feeds what arrives into a StreamReader and turns the
 * transport's pauseWriting / resumeWriting into the waits of
 * `writer.drain()`. So streams cost one Future per read that has to wait,
 * on top of the protocol path; a read with data buffered costs none.
 *
 * `startServer(cb, ...)` calls `cb(reader, writer)` per connection; if `cb`
 * is a generator function, its coroutine becomes a task, and so does a
 * thenable it returns (an `async` function's Promise: the task waits for
 * it). If that task fails, or `cb` throws, the connection is closed and
 * the error reported to the loop's exception handler as "Unhandled
 * exception in client_connected_cb" (asyncio 3.12); a rejected Promise
 * never becomes an unhandledRejection.
 */
import type { Priority } from '../core/priority.js';
import { getRunningLoop, type EventLoop } from '../tasks/event-loop.js';
import type { Future } from '../tasks/future.js';
import { isCoroutine, isThenable, until, type Coroutine } from '../tasks/operation.js';
import type { Task } from '../tasks/task.js';
import {
  connectionCoroutine,
  createServer,
  createUnixServer,
  unixConnectionCoroutine,
  type CreateConnectionOptions,
  type CreateServerOptions,
  type CreateUnixServerOptions,
} from './connect.js';
import { DrainGate } from './drain-gate.js';
import { checkIoOptions } from './io-options.js';
import { onResultDropped } from '../tasks/dropped-result.js';
import type { Server } from './server.js';
import { checkStreamLimit, StreamReader } from './stream-reader.js';
import { StreamWriter, type DrainableProtocol } from './stream-writer.js';
import type { Protocol, ReadTransport, Transport } from './transport.js';
import { SETTLE_HOOK } from '../tasks/future.js';

/** Called per connection by `startServer`; may be a generator function or an `async` function (either is run as a task). */
export type ClientConnectedCallback = (reader: StreamReader, writer: StreamWriter) => void | Coroutine<unknown> | PromiseLike<unknown>;

/** A coroutine that waits for `thenable` and fails with its rejection (an async client callback's Promise, run as a task). */
function* settled(thenable: PromiseLike<unknown>): Coroutine<unknown> {
  return yield* until(thenable);
}

export interface StreamOptions {
  /** The StreamReader's buffer limit. Default 64 KiB. */
  limit?: number;
  /** Default: the running loop. */
  loop?: EventLoop;
}


/**
 * The protocol behind streams: feeds a StreamReader, and gives the
 * StreamWriter its drain waits. Exposed for code that builds its own
 * stream pairs over `createConnection` (asyncio.StreamReaderProtocol).
 *
 * @example
 * const reader = new StreamReader({ loop });
 * const [transport, protocol] = yield* createConnection(loop, () => new StreamReaderProtocol(reader, null, loop), host, port);
 * const writer = new StreamWriter(transport, protocol, reader, loop);
 */
export class StreamReaderProtocol implements Protocol, DrainableProtocol {
  readonly #loop: EventLoop;
  #reader: StreamReader | null;
  readonly #clientConnected: ClientConnectedCallback | null;
  #task: Task<unknown> | null = null;
  readonly #drain: DrainGate;
  readonly closed: Future<void>;

  constructor(reader: StreamReader, clientConnected: ClientConnectedCallback | null, loop: EventLoop) {
    this.#loop = loop;
    this.#reader = reader;
    this.#clientConnected = clientConnected;
    this.#drain = new DrainGate(loop);
    this.closed = loop.createFuture<void>();
    // Nobody may ever wait for `closed`: its error is not "unretrieved".
    this.closed.addDoneCallbackInLane((f) => void (f.cancelled() || f.exception()), SETTLE_HOOK);
  }

  /** A socket's transport, or a read pipe's (a subprocess's stdout: no client callback then). */
  connectionMade(transport: ReadTransport): void {
    const reader = this.#reader;
    if (reader === null) return;
    reader.setTransport(transport);
    const fd = (transport as { fd?: unknown }).fd;
    if (typeof fd === 'number') this.#drain.label = `drain fd ${fd}`;
    if (this.#clientConnected === null) return;
    // A client callback comes with startServer, whose transports are sockets: they write too.
    const writer = new StreamWriter(transport as Transport, this, reader, this.#loop);
    let result: unknown;
    try {
      result = this.#clientConnected(reader, writer);
    } catch (exception) {
      this.#clientFailed(exception, transport);
      return;
    }
    const body = isCoroutine(result) ? result : isThenable(result) ? settled(result) : null;
    if (body === null) return;
    const task = this.#loop.createTask(body, { name: `client ${String(transport.getExtraInfo('peername', 'connection'))}` });
    this.#task = task;
    task.addDoneCallback((done) => {
      this.#task = null;
      if (done.cancelled()) return transport.close();
      const exception = done.exception();
      if (exception !== null) this.#clientFailed(exception, transport);
    });
  }

  /** The client callback (or its task) failed: report it and close the connection, as asyncio 3.12. */
  #clientFailed(exception: unknown, transport: ReadTransport): void {
    this.#loop.callExceptionHandler({ message: 'Unhandled exception in client_connected_cb', exception, transport });
    transport.close();
  }

  connectionLost(exc: Error | null): void {
    const reader = this.#reader;
    if (reader !== null) {
      if (exc === null) reader.feedEof();
      else reader.setException(exc);
    }
    if (!this.closed.done()) {
      if (exc === null) this.closed.setResult();
      else this.closed.setException(exc);
    }
    this.#drain.lose(exc);
    this.#reader = null;
  }

  dataReceived(data: Buffer): void {
    this.#reader?.feedData(data);
  }

  eofReceived(): boolean {
    this.#reader?.feedEof();
    return true; // keep the transport open: the task may still write (half-close)
  }

  pauseWriting(): void {
    this.#drain.pause();
  }

  resumeWriting(): void {
    this.#drain.resume();
  }

  /** The client task started by startServer, while it runs. */
  get task(): Task<unknown> | null {
    return this.#task;
  }

  drainHelper(): Coroutine<void> {
    return this.#drain.wait();
  }
}

function connectionOptions(options: CreateConnectionOptions & StreamOptions): CreateConnectionOptions {
  const { limit: _limit, loop: _loop, ...rest } = options;
  return rest;
}

/**
 * Connects to `host:port` and resolves to `[reader, writer]`.
 *
 * @example
 * const [reader, writer] = yield* openConnection('127.0.0.1', 8888);
 * writer.write(Buffer.from('ping\n'));
 * const reply = yield* reader.readLine();
 */
export function openConnection(host: string | null, port: number | null, options: CreateConnectionOptions & StreamOptions = {}): Task<[StreamReader, StreamWriter]> {
  checkIoOptions(options, 'openConnection');
  checkStreamLimit(options.limit, 'openConnection');
  const loop = options.loop ?? getRunningLoop();
  const reader = new StreamReader({ loop, ...(options.limit !== undefined ? { limit: options.limit } : {}) });
  // Connected in the task below, not in a task of its own that it waits for: a cancel landing between that
  // task's end and this one's next step would leave the connection open with no one to close it.
  const connecting = connectionCoroutine(loop, () => new StreamReaderProtocol(reader, null, loop), host, port, connectionOptions(options));
  const task = loop.createTask(function* (): Coroutine<[StreamReader, StreamWriter]> {
    const [transport, protocol] = yield* connecting;
    return [reader, new StreamWriter(transport, protocol, reader, loop)];
  }, { name: `openConnection ${host}:${port}` });
  return onResultDropped(task, ([, writer]) => writer.close()); // a waiter cancelled as it connected: nobody holds it
}

/**
 * Connects to the Unix socket `path`; resolves to `[reader, writer]`.
 *
 * @example
 * const [reader, writer] = yield* openUnixConnection('/tmp/app.sock');
 */
export function openUnixConnection(path: string | null, options: StreamOptions & { sock?: number | null; priority?: Priority } = {}): Task<[StreamReader, StreamWriter]> {
  checkIoOptions(options, 'openUnixConnection');
  checkStreamLimit(options.limit, 'openUnixConnection');
  const loop = options.loop ?? getRunningLoop();
  const reader = new StreamReader({ loop, ...(options.limit !== undefined ? { limit: options.limit } : {}) });
  const { limit: _limit, loop: _loop, ...rest } = options;
  const connecting = unixConnectionCoroutine(loop, () => new StreamReaderProtocol(reader, null, loop), path, rest); // see openConnection
  const task = loop.createTask(function* (): Coroutine<[StreamReader, StreamWriter]> {
    const [transport, protocol] = yield* connecting;
    return [reader, new StreamWriter(transport, protocol, reader, loop)];
  }, { name: `openUnixConnection ${path}` });
  return onResultDropped(task, ([, writer]) => writer.close()); // see openConnection
}

/** The per-connection protocol factory; a bad callback or limit, or a TLS option, throws here, at the call, not once per connection. */
function streamFactory(clientConnected: ClientConnectedCallback, options: StreamOptions, loop: EventLoop, who: 'startServer' | 'startUnixServer'): () => StreamReaderProtocol {
  if (typeof clientConnected !== 'function') throw new TypeError(`${who}: clientConnected must be a function, got ${typeof clientConnected}`);
  checkStreamLimit(options.limit, who);
  const limit = options.limit;
  return () => new StreamReaderProtocol(new StreamReader({ loop, ...(limit !== undefined ? { limit } : {}) }), clientConnected, loop);
}

/**
 * Listens on `host:port`; each connection calls `clientConnected(reader,
 * writer)` (a generator function, or an `async` function's Promise, runs
 * as a task; if it fails, or the callback throws, the error goes to the
 * loop's exception handler and the connection is closed). Resolves to the
 * Server. A `limit` that is not a positive integer is a RangeError at the
 * call (asyncio would fail each connection instead).
 *
 * @example
 * const server = yield* startServer(function* (reader, writer) {
 *   const line = yield* reader.readLine();
 *   writer.write(line);
 *   yield* writer.drain();
 *   writer.close();
 * }, '127.0.0.1', 8888);
 */
export function startServer(
  clientConnected: ClientConnectedCallback,
  host: string | readonly string[] | null | undefined,
  port: number | null,
  options: CreateServerOptions & StreamOptions = {},
): Task<Server> {
  checkIoOptions(options, 'startServer');
  const loop = options.loop ?? getRunningLoop();
  const { limit: _limit, loop: _loop, ...rest } = options;
  return createServer(loop, streamFactory(clientConnected, options, loop, 'startServer'), host, port, rest);
}

/**
 * startServer on a Unix socket.
 *
 * @example
 * const server = yield* startUnixServer(handle, '/tmp/app.sock');
 */
export function startUnixServer(clientConnected: ClientConnectedCallback, path: string | null, options: CreateUnixServerOptions & StreamOptions = {}): Task<Server> {
  checkIoOptions(options, 'startUnixServer');
  const loop = options.loop ?? getRunningLoop();
  const { limit: _limit, loop: _loop, ...rest } = options;
  return createUnixServer(loop, streamFactory(clientConnected, options, loop, 'startUnixServer'), path, rest);
}
