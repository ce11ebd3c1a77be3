/**
 * The inspector endpoint: an opt-in server inside a running program that
 * the live console (`eventide top`, `ps`, `where`, `cancel`) talks to.
 * Node-only (node:net); exported from 'eventide/node'. Never on by default.
 *
 * Where it listens, and who may talk to it:
 *  - a Unix socket (the default: `$TMPDIR/eventide-UID/PID.sock`, so
 *    `eventide top PID` finds it), mode 0600: only this user may connect.
 *    A missing directory is created 0700; the default directory must be
 *    this user's own and private, or serving refuses. An existing file at
 *    the path is replaced only if it is a socket nobody listens on (left by
 *    a crashed program); anything else is an error. The socket file is
 *    removed on `close()`;
 *  - or a loopback TCP port, with a random token that every connection
 *    must send first (`{"cmd":"auth","token":…}`): any local user can
 *    reach a port, so the token is what keeps them out.
 *
 * How it lives beside the loop: Node's own net server, whose callbacks run
 * between the loop's ticks in both Node host modes (the loop yields to
 * Node), so every reply reads a consistent loop state (JavaScript is
 * single-threaded) and the loop never waits for a client. A misbehaving
 * client cannot disturb the program: request lines are bounded
 * (MAX_REQUEST_LINE_CHARS), a client that stops reading its replies is
 * dropped, resets are ignored, the number of clients is capped, and
 * nothing a client sends can throw into the loop. The server and its
 * connections are unref'd: an open console never keeps a finished program
 * alive.
 *
 * While serving, a ConsoleStats instrument counts wakes and idle time, keeps
 * detector warnings, and turns task timing on (busy time); `close()`
 * detaches it.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, unlinkSync, type Stats } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { EventLoop } from '../tasks/event-loop.js';
import type { Task } from '../tasks/task.js';
import { ConsoleStats } from './console-stats.js';
import { answerRequest, type ConsoleContext, type TaskLocator } from './endpoint-commands.js';
import { encodeMessage, LineSplitter, parseRequest, RequestError, type InspectorReply, type RequestId } from './endpoint-protocol.js';

/** Listen on a Unix socket at `path`. */
export interface InspectorSocketOptions {
  path: string;
}

/** Listen on a loopback TCP port (0: any free port); clients must send the handle's token first. */
export interface InspectorTcpOptions {
  port: number;
  /** A loopback address: '127.0.0.1' (default), '::1' or 'localhost'. */
  host?: string;
}

export type InspectorOptions = (InspectorSocketOptions | InspectorTcpOptions) & {
  /** Keep detector warnings (slow callbacks, long iterations, lost wakers in debug mode). Default true. */
  detectors?: boolean;
  /** Most clients connected at once; more are turned away. Default 8. */
  maxClients?: number;
};

/** A serving endpoint (see `serveInspector`). */
export interface InspectorHandle {
  /** Where it listens: the socket path, or `127.0.0.1:PORT`. */
  readonly address: string;
  /** The socket path; null for TCP. */
  readonly path: string | null;
  /** The TCP port; null for a Unix socket. */
  readonly port: number | null;
  /** The token TCP clients must send first; null for a Unix socket. */
  readonly token: string | null;
  /** Stops serving: disconnects clients, removes the socket file, detaches the instrument. */
  close(): Promise<void>;
}

const LOOPBACK_HOSTS = ['127.0.0.1', '::1', 'localhost'];
/** Replies a client has not read yet, beyond which it is dropped (bytes). */
const MAX_UNREAD_REPLY_BYTES = 16 * 1024 * 1024;
/** How long a TCP client may take to authenticate. */
const AUTH_TIMEOUT_MS = 10_000;
const TASK_LOCATION_MODULE = './task-location.js';

/**
 * Where a program with this pid serves its console by default:
 * `$TMPDIR/eventide-UID/PID.sock`.
 *
 * @example
 * defaultInspectorPath(4242); // '/tmp/eventide-1000/4242.sock'
 */
export function defaultInspectorPath(pid: number = process.pid): string {
  if (!Number.isInteger(pid) || pid <= 0) throw new RangeError(`defaultInspectorPath: pid must be a positive integer, got ${String(pid)}`);
  return join(defaultInspectorDir(), `${pid}.sock`);
}

function defaultInspectorDir(): string {
  return join(tmpdir(), `eventide-${process.getuid?.() ?? 'user'}`);
}

/**
 * Starts serving the live console for `loop` (see the module comment);
 * resolves once it listens. Default: the Unix socket `defaultInspectorPath()`.
 *
 * @example
 * import { createNodeLoop, serveInspector } from 'eventide/node';
 * const loop = createNodeLoop();
 * const inspector = await serveInspector(loop);            // then: eventide top <pid>
 * const tcp = await serveInspector(loop, { port: 0 });      // eventide top 127.0.0.1:<port> --token <token>
 * console.error(tcp.address, tcp.token);
 * // ...
 * await inspector.close();
 */
export async function serveInspector(loop: EventLoop, options: InspectorOptions = { path: defaultInspectorPath() }): Promise<InspectorHandle> {
  if (loop === null || typeof loop !== 'object' || typeof loop.allTasks !== 'function') {
    throw new TypeError(`serveInspector: expected an EventLoop, got ${String(loop)}`);
  }
  if (options === null || typeof options !== 'object') throw new TypeError(`serveInspector: options must be {path} or {port, host}, got ${String(options)}`);
  const maxClients = options.maxClients ?? 8;
  if (!Number.isInteger(maxClients) || maxClients < 1) throw new RangeError(`serveInspector: maxClients must be an integer >= 1, got ${String(maxClients)}`);
  const listenOn = checkListenOptions(options);
  const stats = new ConsoleStats(loop, { detectors: options.detectors ?? true });
  const token = 'port' in listenOn ? randomBytes(24).toString('hex') : null;
  const endpoint = new Endpoint(stats, token, maxClients);
  await endpoint.listen(listenOn);
  stats.attach();
  return endpoint.handle();
}

function checkListenOptions(options: InspectorOptions): { path: string } | { port: number; host: string } {
  const hasPath = 'path' in options && options.path !== undefined;
  const hasPort = 'port' in options && options.port !== undefined;
  if (hasPath === hasPort) throw new TypeError('serveInspector: give either {path} (a Unix socket) or {port} (loopback TCP), not both or neither');
  if (hasPath) {
    const { path } = options as InspectorSocketOptions;
    if (typeof path !== 'string' || path === '') throw new TypeError(`serveInspector: path must be a non-empty string, got ${JSON.stringify(path)}`);
    return { path };
  }
  const { port, host = '127.0.0.1' } = options as InspectorTcpOptions;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`serveInspector: port must be an integer in 0..65535, got ${String(port)}`);
  if (!LOOPBACK_HOSTS.includes(host)) {
    throw new RangeError(`serveInspector: host must be a loopback address (${LOOPBACK_HOSTS.join(', ')}), got ${JSON.stringify(host)}`);
  }
  return { port, host };
}

class Endpoint {
  readonly #stats: ConsoleStats;
  readonly #token: string | null;
  readonly #maxClients: number;
  readonly #server: Server;
  readonly #clients = new Set<Socket>();
  /** Connections refused for lack of room, until they close. */
  readonly #turnedAway = new Set<Socket>();
  readonly #context: ConsoleContext;
  #path: string | null = null;
  #address = '';
  #port: number | null = null;
  #closing: Promise<void> | null = null;

  constructor(stats: ConsoleStats, token: string | null, maxClients: number) {
    this.#stats = stats;
    this.#token = token;
    this.#maxClients = maxClients;
    this.#server = createServer((socket) => this.#accept(socket));
    this.#server.on('error', () => {}); // after listening: nothing a client does may crash the program
    this.#context = { stats, pid: process.pid, locate: lazyLocator() };
  }

  async listen(on: { path: string } | { port: number; host: string }): Promise<void> {
    if ('path' in on) {
      await prepareSocketPath(on.path);
      await listenPrivately(this.#server, on.path);
      this.#path = on.path;
      this.#address = on.path;
    } else {
      await new Promise<void>((resolve, reject) => {
        this.#server.once('error', reject);
        this.#server.listen(on.port, on.host, () => {
          this.#server.off('error', reject);
          resolve();
        });
      });
      const address = this.#server.address();
      if (address === null || typeof address === 'string') throw new Error('serveInspector: the TCP server has no address');
      this.#port = address.port;
      this.#address = address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
    }
    this.#server.unref();
  }

  handle(): InspectorHandle {
    return Object.freeze({
      address: this.#address,
      path: this.#path,
      port: this.#port,
      token: this.#token,
      close: () => this.close(),
    });
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#stats.detach();
    for (const socket of [...this.#clients, ...this.#turnedAway]) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    if (this.#path !== null) removeSocketFile(this.#path);
  }

  #accept(socket: Socket): void {
    socket.unref();
    socket.on('error', () => {}); // resets and broken pipes end the connection, nothing else
    const refusal =
      this.#closing !== null ? 'the inspector is closing' : this.#clients.size >= this.#maxClients ? `too many console clients (at most ${this.#maxClients})` : null;
    // Every connection is tracked until it closes, the refused ones too:
    // close() destroys them all, or the server's close would wait for them.
    const tracked = refusal === null ? this.#clients : this.#turnedAway;
    tracked.add(socket);
    socket.on('close', () => tracked.delete(socket));
    if (refusal !== null) socket.end(encodeMessage(errorReply(null, refusal)));
    else new Connection(socket, this.#context, this.#token);
  }
}

/**
 * One client: reads request lines, answers each in order (a reply waits
 * for the one before, as `where` may wait for the locator). On a TCP
 * endpoint the first request must be `auth` with the token; anything else
 * first gets an error and the connection is ended.
 */
class Connection {
  readonly #socket: Socket;
  readonly #context: ConsoleContext;
  readonly #token: string | null;
  readonly #splitter = new LineSplitter();
  readonly #authTimer: ReturnType<typeof setTimeout> | null;
  #authenticated: boolean;
  #previous: Promise<void> = Promise.resolve();

  constructor(socket: Socket, context: ConsoleContext, token: string | null) {
    this.#socket = socket;
    this.#context = context;
    this.#token = token;
    this.#authenticated = token === null;
    this.#authTimer = token === null ? null : setTimeout(() => socket.destroy(), AUTH_TIMEOUT_MS).unref();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.#onData(chunk));
  }

  #onData(chunk: string): void {
    for (const item of this.#splitter.push(chunk)) {
      this.#previous = this.#previous.then(() =>
        'line' in item ? this.#answer(item.line) : this.#send(errorReply(null, `request line longer than ${this.#splitter.maxChars} characters; discarded`)),
      );
    }
  }

  async #answer(line: string): Promise<void> {
    let id: RequestId = null;
    try {
      const parsed = parseRequest(line);
      id = parsed.id;
      const { request } = parsed;
      if (request.cmd === 'auth') {
        if (!checkToken(this.#token, request.token)) throw new RequestError('auth: wrong token', id);
        this.#authenticated = true;
        if (this.#authTimer !== null) clearTimeout(this.#authTimer);
        return this.#send({ id, ok: true, result: { authenticated: true } });
      }
      if (!this.#authenticated) throw new RequestError('authentication required: send {"cmd":"auth","token":"…"} first', id);
      this.#send({ id, ok: true, result: await answerRequest(this.#context, request) });
    } catch (error) {
      this.#send(errorReply(error instanceof RequestError ? (error.id ?? id) : id, errorText(error)));
      if (!this.#authenticated) this.#socket.end();
    }
  }

  #send(reply: InspectorReply): void {
    const socket = this.#socket;
    if (socket.destroyed || !socket.writable) return;
    socket.write(encodeMessage(reply));
    if (socket.writableLength > MAX_UNREAD_REPLY_BYTES) socket.destroy();
  }
}

/** Whether `given` is the endpoint's token (always, when it has none); compared in constant time. */
function checkToken(token: string | null, given: string): boolean {
  if (token === null) return true;
  const expected = Buffer.from(token);
  const actual = Buffer.from(given);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

function errorReply(id: RequestId, error: string): InspectorReply {
  return { id, ok: false, error };
}

function errorText(error: unknown): string {
  if (error instanceof RequestError || error instanceof TypeError) return error.message;
  return `internal error: ${error instanceof Error ? error.message : String(error)}`;
}

/**
 * Makes `path` free for a new socket: creates a missing parent directory
 * 0700 (checking the default directory is private and ours), and removes
 * a stale socket; refuses to replace anything else.
 */
async function prepareSocketPath(path: string): Promise<void> {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (dir === defaultInspectorDir()) checkPrivateDirectory(dir);
  let stat: Stats;
  try {
    stat = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!stat.isSocket()) throw existsError(`serveInspector: ${path} exists and is not a socket; not replacing it`);
  if (await someoneListens(path)) throw existsError(`serveInspector: ${path} is in use by a running program`);
  unlinkSync(path);
}

function checkPrivateDirectory(dir: string): void {
  const stat = lstatSync(dir);
  const uid = process.getuid?.();
  if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid) || (stat.mode & 0o077) !== 0) {
    throw Object.assign(new Error(`serveInspector: ${dir} must be a directory owned by you with mode 0700 (it is not: someone else may be able to reach the socket)`), {
      code: 'EPERM',
    });
  }
}

function existsError(message: string): Error {
  return Object.assign(new Error(message), { code: 'EEXIST' });
}

/** Whether a server accepts connections at the socket `path`. */
function someoneListens(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/**
 * Listens on the socket `path` created with mode 0600: the umask is
 * narrowed around the (synchronous) bind, then the mode is set again in
 * case the umask could not be changed (a worker thread).
 */
async function listenPrivately(server: Server, path: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    let previousUmask: number | null = null;
    try {
      previousUmask = process.umask(0o177);
    } catch {
      // Worker threads cannot change the umask; the chmod below still applies.
    }
    try {
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    } finally {
      if (previousUmask !== null) process.umask(previousUmask);
    }
  });
  chmodSync(path, 0o600);
}

function removeSocketFile(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // Already gone (Node may remove it when the server closes).
  }
}

/**
 * The `where` locator: src/inspect/task-location.js (node:inspector and
 * source maps), loaded on first use — a program that never asks `where`
 * never loads node:inspector. Its `lookupTaskLocations` says why a task
 * has no location; when the module is absent, `where` says so and gives
 * the await tree alone.
 */
function lazyLocator(): TaskLocator {
  let loaded: Promise<LocationModule | null> | null = null;
  return async (task) => {
    loaded ??= import(new URL(TASK_LOCATION_MODULE, import.meta.url).href).then(
      (module: LocationModule) => (typeof module.lookupTaskLocations === 'function' ? module : null),
      () => null,
    );
    const module = await loaded;
    if (module === null) return { location: null, note: 'file:line is not available: this build has no task locator (inspect/task-location)' };
    try {
      const lookup = module.lookupTaskLocations([task]).get(task);
      if (lookup?.location === undefined) return { location: null, note: lookup?.reason ?? 'no location' };
      return { location: locationText(lookup.location), note: null };
    } catch (error) {
      return { location: null, note: `could not locate the task: ${error instanceof Error ? error.message : String(error)}` };
    }
  };
}

/** What the endpoint uses of inspect/task-location.ts (typed here so that module may be absent). */
interface LocationModule {
  lookupTaskLocations(tasks: Iterable<Task<unknown>>): Map<Task<unknown>, { location?: FoundLocation | undefined; reason?: string | undefined }>;
}

interface FoundLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly kind?: string;
  readonly functionName?: string;
}

/** `file:line:column`, with the function and, for a task not started yet, that it points at the definition. */
function locationText(found: FoundLocation): string {
  const where = `${found.file}:${found.line}:${found.column}`;
  const inFunction = found.functionName ? ` in ${found.functionName}` : '';
  return found.kind === 'not-started' ? `${where} (not started: the definition${inFunction})` : `${where}${inFunction}`;
}
