/**
 * The live console's wire protocol, shared by the inspector endpoint (in
 * the running program) and its clients (`eventide top`, `ps`, `where`,
 * `cancel`). Platform-free: types, parsing and line framing only.
 *
 * Newline-delimited JSON, one request per line, one reply per request, in
 * order:
 *
 *     → {"id":1,"cmd":"ps"}
 *     ← {"id":1,"ok":true,"result":{"pid":4242,"timeMs":1520.5,"tasks":[…],…}}
 *     → {"id":2,"cmd":"cancel","task":"worker-1","reason":"stuck"}
 *     ← {"id":2,"ok":true,"result":{"cancelled":true,"task":{…}}}
 *     → {"id":3,"cmd":"wehre"}
 *     ← {"id":3,"ok":false,"error":"unknown cmd \"wehre\"; expected one of …"}
 *
 * Commands: `ps [task]` (the task table, recent warnings, and the await
 * tree of `task` when given — everything `eventide top` draws), `tree`
 * (the whole task tree as text), `where task`, `cancel task [reason]`,
 * `warnings`, and `auth token` (required first on a TCP endpoint).
 * A task is named by its id (`7`, `"7"`, `"#7"`) or by its name.
 *
 * Invariants: a bad request gets an error reply that names what was wrong
 * and the connection stays usable; a line longer than
 * MAX_REQUEST_LINE_CHARS is discarded up to its newline and answered with
 * an error (id null), so a client cannot make the endpoint buffer without
 * bound.
 */
import type { Priority } from '../core/priority.js';
import type { TaskState } from './task-info.js';

/** The longest request line the endpoint reads (characters, newline excluded). */
export const MAX_REQUEST_LINE_CHARS = 64 * 1024;

/** Every command, in the order the error message lists them. */
export const INSPECTOR_COMMANDS = Object.freeze(['ps', 'tree', 'where', 'cancel', 'warnings', 'auth'] as const);

export type InspectorCommand = (typeof INSPECTOR_COMMANDS)[number];

/** A task as a request names it: its id, or its name. */
export type TaskRef = { readonly id: number } | { readonly name: string };

/** A request after parsing (see `parseRequest`). */
export type InspectorRequest =
  | { readonly cmd: 'ps'; readonly task: TaskRef | null }
  | { readonly cmd: 'tree' }
  | { readonly cmd: 'where'; readonly task: TaskRef }
  | { readonly cmd: 'cancel'; readonly task: TaskRef; readonly reason: string | undefined }
  | { readonly cmd: 'warnings' }
  | { readonly cmd: 'auth'; readonly token: string };

/** A request's correlation id, echoed in its reply (null when the request had none or could not be read). */
export type RequestId = number | string | null;

/** One reply line. */
export type InspectorReply =
  | { readonly id: RequestId; readonly ok: true; readonly result: unknown }
  | { readonly id: RequestId; readonly ok: false; readonly error: string };

/** One row of the task table (`ps`): what `eventide top` shows per task. */
export interface TaskRow {
  readonly id: number;
  readonly name: string;
  readonly priority: Priority;
  readonly state: TaskState;
  /** Steps run. */
  readonly steps: number;
  /** Wall-clock ms spent in its steps since the endpoint started (it turns task timing on). */
  readonly busyMs: number;
  /** Times it was woken (scheduled again after a wait) since the endpoint started. */
  readonly wakes: number;
  /**
   * Loop ms since its last step ended (or since it was created, or since the
   * endpoint started if that came later); null while ready or running.
   */
  readonly waitingMs: number | null;
  /** What it is suspended on (`Lock.acquire()`, `task main #1`, `sleep, 12 ms left`), or null. */
  readonly waitingOn: string | null;
  /** The task whose step created it; 0 if none. */
  readonly spawnerId: number;
  /** Outstanding cancellation requests. */
  readonly cancelling: number;
}

/** One problem a detector reported (slow callback, long iteration, lost waker). */
export interface WarningRow {
  /** Loop time (ms) when it was reported. */
  readonly atMs: number;
  readonly kind: 'slow-callback' | 'long-iteration' | 'lost-waker';
  /** The task it is about, if any. */
  readonly taskId: number | null;
  readonly text: string;
}

/** The result of `ps`. */
export interface PsResult {
  readonly pid: number;
  /** `loop.time()` now. */
  readonly timeMs: number;
  readonly debug: boolean;
  /** The loop's pending tasks, in id order. */
  readonly tasks: readonly TaskRow[];
  /** The latest warnings, oldest first (at most 50). */
  readonly warnings: readonly WarningRow[];
  /** The await tree of the task the request named; null if it named none. */
  readonly selected: { readonly id: number; readonly tree: string } | { readonly id: null; readonly error: string } | null;
}

/** The result of `where`. */
export interface WhereResult {
  readonly task: TaskRow;
  /** The await tree around the task: who it awaits, who awaits it (text). */
  readonly tree: string;
  /** Where it is paused, as `file:line:column`, when that can be found; else null. */
  readonly location: string | null;
  /** Why `location` is null. */
  readonly locationNote: string | null;
}

/** The result of `cancel`. */
export interface CancelResult {
  /** False when the task was already done. */
  readonly cancelled: boolean;
  readonly task: TaskRow;
}

/**
 * A request the endpoint could not accept; `id` is the request's id when
 * it could be read. Its message goes back to the client as the error.
 *
 * @example
 * throw new RequestError('no pending task #7', 3); // ← {"id":3,"ok":false,"error":"no pending task #7"}
 */
export class RequestError extends Error {
  override name = 'RequestError';
  readonly id: RequestId;
  constructor(message: string, id: RequestId = null) {
    super(message);
    this.id = id;
  }
}

const FIELDS: Readonly<Record<InspectorCommand, readonly string[]>> = {
  ps: ['task'],
  tree: [],
  where: ['task'],
  cancel: ['task', 'reason'],
  warnings: [],
  auth: ['token'],
};

/** The longest cancel reason accepted (characters). */
const MAX_REASON_CHARS = 1000;

/**
 * Reads one request line. Throws a RequestError naming what is wrong
 * (carrying the request's id when it could be read).
 *
 * @example
 * parseRequest('{"id":1,"cmd":"where","task":"#4"}'); // { id: 1, request: { cmd: 'where', task: { id: 4 } } }
 */
export function parseRequest(line: string): { id: RequestId; request: InspectorRequest } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new RequestError(`request is not valid JSON (${(error as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new RequestError(`request must be a JSON object like {"id":1,"cmd":"ps"}, got ${JSON.stringify(value)}`);
  }
  const fields = value as Record<string, unknown>;
  const rawId = fields['id'];
  if (rawId !== undefined && rawId !== null && typeof rawId !== 'number' && typeof rawId !== 'string') {
    throw new RequestError(`id must be a number or a string, got ${JSON.stringify(rawId)}`);
  }
  const id: RequestId = (rawId as RequestId | undefined) ?? null;
  const cmd = fields['cmd'];
  if (typeof cmd !== 'string' || !(INSPECTOR_COMMANDS as readonly string[]).includes(cmd)) {
    throw new RequestError(`unknown cmd ${JSON.stringify(cmd)}; expected one of ${INSPECTOR_COMMANDS.join(', ')}`, id);
  }
  const command = cmd as InspectorCommand;
  for (const key of Object.keys(fields)) {
    if (key !== 'id' && key !== 'cmd' && !FIELDS[command].includes(key)) {
      throw new RequestError(`unknown field ${JSON.stringify(key)} for ${command} (it takes ${FIELDS[command].join(', ') || 'no fields'})`, id);
    }
  }
  try {
    return { id, request: buildRequest(command, fields) };
  } catch (error) {
    throw new RequestError((error as Error).message, id);
  }
}

function buildRequest(cmd: InspectorCommand, fields: Record<string, unknown>): InspectorRequest {
  switch (cmd) {
    case 'ps':
      return { cmd, task: fields['task'] === undefined || fields['task'] === null ? null : parseTaskRef(fields['task'], 'ps: task') };
    case 'where':
      return { cmd, task: parseTaskRef(fields['task'], 'where: task') };
    case 'cancel': {
      const reason = fields['reason'];
      if (reason !== undefined && (typeof reason !== 'string' || reason.length > MAX_REASON_CHARS)) {
        throw new Error(`cancel: reason must be a string of at most ${MAX_REASON_CHARS} characters, got ${JSON.stringify(reason).slice(0, 80)}`);
      }
      return { cmd, task: parseTaskRef(fields['task'], 'cancel: task'), reason };
    }
    case 'auth': {
      const token = fields['token'];
      if (typeof token !== 'string') throw new Error(`auth: token must be a string, got ${JSON.stringify(token)}`);
      return { cmd, token };
    }
    case 'tree':
    case 'warnings':
      return { cmd };
  }
}

/**
 * A task reference from a request or a command line: an id (`7`, `"7"`,
 * `"#7"`) or a name. Throws a TypeError naming `what` on anything else.
 *
 * @example
 * parseTaskRef('#12', 'task'); // { id: 12 }
 * parseTaskRef('worker-1', 'task'); // { name: 'worker-1' }
 */
export function parseTaskRef(value: unknown, what: string): TaskRef {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return { id: value };
  if (typeof value === 'string' && value.length > 0) {
    const match = /^#?(\d+)$/.exec(value);
    if (match !== null && Number.isSafeInteger(Number(match[1])) && Number(match[1]) > 0) return { id: Number(match[1]) };
    return { name: value };
  }
  throw new TypeError(`${what} must be a task id (7 or "#7") or a task name, got ${JSON.stringify(value)}`);
}

/**
 * How a TaskRef is written in messages: `#7` or `"worker"`.
 *
 * @example
 * taskRefText({ name: 'worker' }); // '"worker"'
 */
export function taskRefText(ref: TaskRef): string {
  return 'id' in ref ? `#${ref.id}` : JSON.stringify(ref.name);
}

/**
 * One message as a line on the wire.
 *
 * @example
 * socket.write(encodeMessage({ id: 1, cmd: 'ps' })); // '{"id":1,"cmd":"ps"}\n'
 */
export function encodeMessage(message: object): string {
  return `${JSON.stringify(message)}\n`;
}

/** What LineSplitter found in a chunk: a complete line, or a line over the limit (discarded). */
export type SplitItem = { readonly line: string } | { readonly tooLong: true };

/**
 * Cuts a stream of text into lines, holding at most `maxChars` of an
 * unfinished line: a longer one is reported once as `{tooLong: true}` and
 * the rest of it, up to its newline, is dropped. Blank lines are skipped;
 * a trailing `\r` is removed.
 *
 * @example
 * const split = new LineSplitter(1024);
 * split.push('{"cmd":"ps"}\n{"cm'); // [{ line: '{"cmd":"ps"}' }]
 * split.push('d":"tree"}\n');       // [{ line: '{"cmd":"tree"}' }]
 */
export class LineSplitter {
  readonly maxChars: number;
  #pending = '';
  #discarding = false;

  constructor(maxChars: number = MAX_REQUEST_LINE_CHARS) {
    if (!Number.isInteger(maxChars) || maxChars < 1) throw new RangeError(`LineSplitter: maxChars must be an integer >= 1, got ${String(maxChars)}`);
    this.maxChars = maxChars;
  }

  push(chunk: string): SplitItem[] {
    const items: SplitItem[] = [];
    let start = 0;
    for (let newline = chunk.indexOf('\n'); newline !== -1; newline = chunk.indexOf('\n', start)) {
      const piece = chunk.slice(start, newline);
      start = newline + 1;
      if (this.#discarding) {
        this.#discarding = false;
        this.#pending = '';
        continue;
      }
      const line = (this.#pending + piece).replace(/\r$/, '');
      this.#pending = '';
      if (line.length > this.maxChars) items.push({ tooLong: true });
      else if (line.trim() !== '') items.push({ line });
    }
    if (!this.#discarding) {
      this.#pending += chunk.slice(start);
      if (this.#pending.length > this.maxChars) {
        this.#pending = '';
        this.#discarding = true;
        items.push({ tooLong: true });
      }
    }
    return items;
  }
}
