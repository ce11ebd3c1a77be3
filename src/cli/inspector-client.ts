/**
 * The console's client side: finds a running program's inspector endpoint
 * from a command-line TARGET and sends it requests (endpoint-protocol.ts).
 *
 * TARGET is one of:
 *  - a PID: the program's default socket, `$TMPDIR/eventide-UID/PID.sock`
 *    (what `eventide run --inspect` and `serveInspector(loop)` use);
 *  - a socket path (anything with a `/`, or ending in `.sock`);
 *  - `HOST:PORT` or `tcp://HOST:PORT` on a loopback host, with the token
 *    the program printed (`--token TOKEN` or `$EVENTIDE_INSPECT_TOKEN`).
 *
 * Requests are matched to replies by id; a reply's error becomes a
 * rejected promise with the endpoint's message. When the connection ends,
 * every pending request fails and `closed` resolves.
 */
import { createConnection, type Socket } from 'node:net';
import { defaultInspectorPath } from '../inspect/endpoint.js';
import { encodeMessage, LineSplitter, type InspectorReply } from '../inspect/endpoint-protocol.js';

/** Where a console command connects. */
export type InspectTarget =
  | { readonly kind: 'socket'; readonly path: string; readonly label: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly token: string | null; readonly label: string };

/** Replies can be large (a task table); this bounds one reply line (characters). */
const MAX_REPLY_CHARS = 64 * 1024 * 1024;

/**
 * Reads a TARGET argument (see the module comment). Throws an Error whose
 * message starts with `eventide` on a malformed one.
 *
 * @example
 * parseTarget('4242', null);               // { kind: 'socket', path: '/tmp/eventide-1000/4242.sock', label: 'pid 4242' }
 * parseTarget('127.0.0.1:9300', 'abc123'); // { kind: 'tcp', host: '127.0.0.1', port: 9300, token: 'abc123', label: '127.0.0.1:9300' }
 */
export function parseTarget(text: string, token: string | null): InspectTarget {
  if (/^\d+$/.test(text)) {
    const pid = Number(text);
    if (!Number.isSafeInteger(pid) || pid <= 0) throw new Error(`eventide: bad PID ${text}`);
    return { kind: 'socket', path: defaultInspectorPath(pid), label: `pid ${pid}` };
  }
  const tcp = /^(?:tcp:\/\/)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)?:(\d+)$/.exec(text);
  if (tcp !== null) {
    const host = (tcp[1] ?? '127.0.0.1').replace(/^\[|\]$/g, '');
    const port = Number(tcp[2]);
    if (port < 1 || port > 65535) throw new Error(`eventide: bad port in ${text}`);
    return { kind: 'tcp', host, port, token, label: text.replace(/^tcp:\/\//, '') };
  }
  if (text === '') throw new Error('eventide: TARGET is empty; give a PID, a socket path or HOST:PORT');
  return { kind: 'socket', path: text, label: text };
}

/**
 * One connection to an inspector endpoint.
 *
 * @example
 * const client = await InspectorClient.connect(parseTarget('4242', null));
 * const ps = await client.request<PsResult>({ cmd: 'ps' });
 * client.close();
 */
export class InspectorClient {
  readonly target: InspectTarget;
  /** Resolves when the connection has ended (either side). */
  readonly closed: Promise<void>;
  readonly #socket: Socket;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #nextId = 1;
  #ended = false;

  private constructor(target: InspectTarget, socket: Socket) {
    this.target = target;
    this.#socket = socket;
    socket.setEncoding('utf8');
    const splitter = new LineSplitter(MAX_REPLY_CHARS);
    socket.on('data', (chunk: string) => {
      for (const item of splitter.push(chunk)) if ('line' in item) this.#onReply(item.line);
    });
    this.closed = new Promise((resolve) => {
      socket.on('error', () => {});
      socket.on('close', () => {
        this.#ended = true;
        for (const waiter of this.#pending.values()) waiter.reject(new Error(`eventide: the connection to ${target.label} closed`));
        this.#pending.clear();
        resolve();
      });
    });
  }

  /**
   * Connects (and authenticates, for TCP). Rejects with an Error saying how
   * to start an endpoint when nothing listens at the target.
   */
  static async connect(target: InspectTarget, timeoutMs = 5000): Promise<InspectorClient> {
    const socket = target.kind === 'socket' ? createConnection(target.path) : createConnection(target.port, target.host);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`eventide: no answer from ${target.label} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(connectError(target, error));
      });
    });
    const client = new InspectorClient(target, socket);
    if (target.kind === 'tcp') {
      if (target.token === null) {
        client.close();
        throw new Error(`eventide: ${target.label} is a TCP endpoint; give its token with --token TOKEN or EVENTIDE_INSPECT_TOKEN`);
      }
      try {
        await client.request({ cmd: 'auth', token: target.token });
      } catch (error) {
        client.close();
        throw error;
      }
    }
    return client;
  }

  /** Sends one request; resolves with its result, rejects with the endpoint's error message. */
  request<T = unknown>(request: { cmd: string; [field: string]: unknown }): Promise<T> {
    if (this.#ended) return Promise.reject(new Error(`eventide: the connection to ${this.target.label} is closed`));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#socket.write(encodeMessage({ id, ...request }));
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  #onReply(line: string): void {
    let reply: InspectorReply;
    try {
      reply = JSON.parse(line) as InspectorReply;
    } catch {
      return;
    }
    const waiter = typeof reply.id === 'number' ? this.#pending.get(reply.id) : undefined;
    if (waiter === undefined) return;
    this.#pending.delete(reply.id as number);
    if (reply.ok) waiter.resolve(reply.result);
    else waiter.reject(new Error(`eventide: ${reply.error}`));
  }
}

function connectError(target: InspectTarget, error: NodeJS.ErrnoException): Error {
  if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') {
    return new Error(
      `eventide: no inspector at ${target.kind === 'socket' ? target.path : target.label} (${error.code}); ` +
        'start the program with `eventide run --inspect FILE` or call serveInspector(loop)',
    );
  }
  if (error.code === 'EACCES') return new Error(`eventide: permission denied at ${target.label}: the inspector belongs to another user`);
  return new Error(`eventide: cannot connect to ${target.label}: ${error.message}`);
}
