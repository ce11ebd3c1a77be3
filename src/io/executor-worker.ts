/**
 * The body of every WorkerPool thread (worker-pool.ts starts this file).
 *
 * A function cannot be sent to another thread, so a job names one: the
 * URL of a module and the name of one of its exports. This thread imports
 * the module (once: the module registry of this thread caches it), calls
 * the export with the job's arguments, awaits the result if it is a
 * promise, and posts back `{ id, ok: true, value }` or
 * `{ id, ok: false, error }`.
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

/** What the pool posts to a worker. */
export interface JobRequest {
  readonly id: number;
  readonly module: string;
  readonly exportName: string;
  readonly args: readonly unknown[];
}

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

async function runJob(request: JobRequest): Promise<void> {
  if (port === null) return;
  const { id, module, exportName, args } = request;
  let value: unknown;
  try {
    const namespace = (await import(module)) as Record<string, unknown>;
    const fn = namespace[exportName];
    if (typeof fn !== 'function') {
      const exported = Object.keys(namespace).filter((key) => typeof namespace[key] === 'function');
      throw new TypeError(
        `runInExecutor: ${module} has no exported function ${JSON.stringify(exportName)}` +
          ` (its exported functions: ${exported.length > 0 ? exported.join(', ') : 'none'})`,
      );
    }
    value = await (fn as (...args: unknown[]) => unknown)(...args);
  } catch (error) {
    postFailure(id, error);
    return;
  }
  try {
    port.postMessage({ id, ok: true, value } satisfies JobReply);
  } catch (cloneError) {
    postFailure(
      id,
      new TypeError(`runInExecutor: the result of ${exportName} (${module}) cannot be sent back to the loop's thread: ${(cloneError as Error).message}`),
    );
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
