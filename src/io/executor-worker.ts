/**
 * The body of every WorkerPool thread (worker-pool.ts starts this file).
 *
 * A job is one of two kinds (see ExecutorJob in executor-job.ts):
 *  - a module job names a function: the URL of a module and the name of
 *    one of its exports. This thread imports the module (once: the module
 *    registry of this thread caches it) and calls the export;
 *  - a function job carries a self-contained function as its source text.
 *    This thread compiles it in strict mode, as an expression at global
 *    scope (indirect eval), once per distinct text (an LRU cache of
 *    FUNCTION_CACHE_SIZE entries), and calls it. The rebuilt function sees
 *    only its arguments and this thread's globals (including `import()`),
 *    never the variables around the original: a name it used from there is
 *    a ReferenceError here, which is re-thrown with a message saying the
 *    function must be self-contained and naming it.
 *
 * Either way the result is awaited if it is a promise, and the thread
 * posts back `{ id, ok: true, value }` or `{ id, ok: false, error }`.
 *
 * Errors cannot cross threads with their class, so an Error is sent as
 * plain fields (name, message, stack, code, cause) and rebuilt on the
 * loop's side (see `reviveError` in worker-pool.ts). Anything else that
 * was thrown is sent as it is when it can be cloned, else as a string.
 *
 * The pool sends one job at a time to a thread, so jobs here never
 * overlap; a job that never settles keeps its thread busy.
 */
import { parentPort } from 'node:worker_threads';
import { describeJob, type ExecutorJob } from './executor-job.js';

/** What the pool posts to a worker: a job and its id. */
export type JobRequest = ExecutorJob & { readonly id: number };

/** How many rebuilt functions a thread keeps, least recently used dropped first. */
export const FUNCTION_CACHE_SIZE = 256;

/** The file name rebuilt functions get in stack traces; also how a ReferenceError is traced to one. */
const FUNCTION_URL_PREFIX = 'eventide-executor:';

/** An Error as plain, cloneable fields. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  readonly code: string | number | undefined;
  readonly cause: SerializedError | undefined;
}

/** What a worker posts back. `thrown` is set when the failure was not an Error. */
export type JobReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: SerializedError | null; readonly thrown?: unknown };

/** An Error (or something thrown) as plain fields, following `cause` a few levels deep. */
function serializeError(error: unknown, depth = 0): SerializedError | null {
  if (!(error instanceof Error)) return null;
  const code = (error as { code?: unknown }).code;
  return {
    name: String(error.name),
    message: String(error.message),
    stack: typeof error.stack === 'string' ? error.stack : undefined,
    code: typeof code === 'string' || typeof code === 'number' ? code : undefined,
    cause: depth < 3 ? (serializeError(error.cause, depth + 1) ?? undefined) : undefined,
  };
}

const port = parentPort;

type AnyFunction = (...args: unknown[]) => unknown;

/** Rebuilt functions by source text, in least-recently-used order (a Map iterates in insertion order). */
const rebuilt = new Map<string, AnyFunction>();

/** The module job's export, or a TypeError listing what the module does export. */
async function exportedFunction(module: string, exportName: string): Promise<AnyFunction> {
  const namespace = (await import(module)) as Record<string, unknown>;
  const fn = namespace[exportName];
  if (typeof fn === 'function') return fn as AnyFunction;
  const exported = Object.keys(namespace).filter((key) => typeof namespace[key] === 'function');
  throw new TypeError(
    `runInExecutor: ${module} has no exported function ${JSON.stringify(exportName)}` +
      ` (its exported functions: ${exported.length > 0 ? exported.join(', ') : 'none'})`,
  );
}

/** The function job's function, compiled from `source` on first use. */
function rebuiltFunction(source: string, name: string): AnyFunction {
  const cached = rebuilt.get(source);
  if (cached !== undefined) {
    rebuilt.delete(source); // re-insert: most recently used last
    rebuilt.set(source, cached);
    return cached;
  }
  let fn: unknown;
  try {
    // Indirect eval: global scope, nothing of this module visible; line 1 of the stack is line 1 of the source.
    fn = (0, eval)(`"use strict"; (${source}\n)\n//# sourceURL=${FUNCTION_URL_PREFIX}${name.replace(/\s+/g, '_')}`);
  } catch (error) {
    throw new TypeError(
      `runInExecutor: function ${name} cannot be rebuilt on a worker thread from its source text ` +
        `(${(error as Error).name}: ${(error as Error).message}). Pass a self-contained function expression ` +
        '(function, async function or arrow function) that uses only its arguments and globals',
      { cause: error },
    );
  }
  if (typeof fn !== 'function') throw new TypeError(`runInExecutor: the source text of function ${name} does not evaluate to a function`);
  rebuilt.set(source, fn as AnyFunction);
  if (rebuilt.size > FUNCTION_CACHE_SIZE) rebuilt.delete(rebuilt.keys().next().value as string);
  return fn as AnyFunction;
}

/**
 * A ReferenceError for a free name, thrown by the rebuilt function's own
 * code (its stack's top frame is in it), said again with the reason;
 * anything else unchanged.
 */
function explainFreeName(error: unknown, name: string): unknown {
  if (!(error instanceof ReferenceError) || !/ is not defined$/.test(error.message)) return error;
  const topFrame = error.stack?.split('\n').find((line) => line.trimStart().startsWith('at '));
  if (topFrame === undefined || !topFrame.includes(FUNCTION_URL_PREFIX)) return error;
  const explained = new ReferenceError(
    `runInExecutor: function ${name} must be self-contained: ${error.message} on the worker thread. ` +
      'A function run in an executor is rebuilt there from its source text, so it cannot use variables, imports or ' +
      "functions from around it: pass them as arguments, import() them inside the function, or export it from a module and pass (moduleUrl, exportName)",
    { cause: error },
  );
  explained.stack = `${explained.name}: ${explained.message}\n${error.stack?.split('\n').slice(1).join('\n') ?? ''}`;
  return explained;
}

async function runJob(request: JobRequest): Promise<void> {
  if (port === null) return;
  const { id, args } = request;
  let value: unknown;
  try {
    if (request.source !== undefined) {
      const fn = rebuiltFunction(request.source, request.name);
      try {
        value = await fn(...args);
      } catch (error) {
        throw explainFreeName(error, request.name);
      }
    } else {
      value = await (await exportedFunction(request.module, request.exportName))(...args);
    }
  } catch (error) {
    postFailure(id, error);
    return;
  }
  try {
    port.postMessage({ id, ok: true, value } satisfies JobReply);
  } catch (cloneError) {
    postFailure(id, new TypeError(`runInExecutor: the result of ${describeJob(request)} cannot be sent back to the loop's thread: ${(cloneError as Error).message}`));
  }
}

function postFailure(id: number, error: unknown): void {
  const serialized = serializeError(error);
  if (serialized !== null) return port?.postMessage({ id, ok: false, error: serialized } satisfies JobReply);
  try {
    port?.postMessage({ id, ok: false, error: null, thrown: error } satisfies JobReply);
  } catch {
    port?.postMessage({ id, ok: false, error: null, thrown: String(error) } satisfies JobReply);
  }
}

if (port !== null) port.on('message', (request: JobRequest) => void runJob(request));
