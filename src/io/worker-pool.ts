/**
 * WorkerPool: a small pool of worker threads, the default executor behind
 * `runInExecutor` (asyncio's default ThreadPoolExecutor, for JavaScript).
 *
 * A job is `{ module, exportName, args }`: the thread imports the module
 * by URL and calls the named export; or `{ source, name, args }`: a
 * self-contained function as source text, which the thread compiles (once
 * per distinct text) and calls (executor-worker.ts). A live JavaScript
 * function cannot move to another thread — its closure and imports stay
 * behind — so one sent as text must not need them. Arguments and results
 * are copied with the structured clone algorithm (a SharedArrayBuffer is
 * shared, not copied).
 *
 * Scheduling: threads are started lazily, one per job until `maxWorkers`;
 * beyond that, jobs wait in a FIFO queue and the first thread to finish
 * takes the next one. Each thread runs one job at a time. A result comes
 * back as a message on the worker's port, delivered by Node's loop (which
 * both Node hosts let run), and `done` is called from that listener.
 *
 * Invariants:
 *  - `done` is called exactly once per job that was not withdrawn;
 *  - withdrawing a queued job removes it (it never runs); withdrawing a
 *    running job lets it finish and drops its outcome — a thread is never
 *    killed for it (killing a thread mid-job could leave shared state
 *    half-written);
 *  - an idle thread is unref'd, a busy one ref'd: a forgotten pool never
 *    keeps the process alive, a running job does;
 *  - arguments are copied when the job is submitted (a queued job does not
 *    see later changes), so a DataCloneError is thrown by `submit` itself;
 *  - a thread that dies (an uncaught error outside the job, `process.exit`
 *    inside it) fails its job with a RuntimeError and is replaced on demand;
 *  - `shutdown({ wait: true })` refuses new jobs, lets every submitted job
 *    finish, then stops the threads; `shutdown({ wait: false })` also fails
 *    the queued jobs and terminates the threads at once. Both resolve once
 *    every thread has exited.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { describe } from '../core/assert.js';
import { Deque } from '../core/deque.js';
import { RuntimeError } from '../core/errors.js';
import { describeJob, type ExecutorJob } from './executor-job.js';
import type { JobReply, JobRequest, SerializedError } from './executor-worker.js';

export type { ExecutorJob, FunctionJob, ModuleJob } from './executor-job.js';

/** Told a job's outcome: `ok` and the value, or not `ok` and what was thrown. */
export type JobDone = (ok: boolean, valueOrError: unknown) => void;

/**
 * What `runInExecutor` needs from an executor. `WorkerPool` is one; any
 * object with these two methods can be passed instead (a pool of child
 * processes, a remote service).
 */
export interface Executor {
  /**
   * Starts or queues `job`; calls `done` once with its outcome, on the
   * submitting thread (possibly before `submit` returns, for a job that
   * fails to start). Returns a function that withdraws the job: `done` is
   * then never called. Throws if the executor was shut down.
   */
  submit(job: ExecutorJob, done: JobDone): () => void;
  /**
   * Refuses new jobs; `wait` (default true): lets submitted jobs finish
   * first; false: abandons them. Resolves once its resources are released.
   */
  shutdown(options?: { wait?: boolean }): Promise<void>;
}

export interface WorkerPoolOptions {
  /** How many threads at most; default `DEFAULT_MAX_WORKERS`. */
  maxWorkers?: number;
}

/** min(4, the number of CPUs this process may use). */
export const DEFAULT_MAX_WORKERS = Math.max(1, Math.min(4, availableParallelism()));

/** The thread body (compiled next to this file). */
const WORKER_URL = new URL('./executor-worker.js', import.meta.url);

/**
 * What a thread evaluates: an import of the thread body. Not the file
 * itself: a worker inherits this process's Node options, and with
 * `--input-type` among them (a program run with `node --input-type=module
 * -e ...`) Node refuses to start a worker from a file
 * (ERR_INPUT_TYPE_NOT_ALLOWED), while evaluated code is allowed under
 * either input type. Passing filtered options instead does not work
 * either: an explicit execArgv may not contain V8 flags such as
 * --expose-gc, which inheritance copies silently.
 */
const WORKER_SOURCE = `import(${JSON.stringify(WORKER_URL.href)});`;

interface Entry {
  readonly id: number;
  readonly job: ExecutorJob;
  readonly done: JobDone;
  withdrawn: boolean;
  /** In the queue (not yet started, not withdrawn). */
  queued: boolean;
}

interface PoolThread {
  readonly worker: Worker;
  current: Entry | null;
  /** The last 'error' event (an uncaught error that ends the thread). */
  error: unknown;
}

type PoolState = 'open' | 'draining' | 'closed';

export interface WorkerPoolStatistics {
  /** Threads started and not yet exited. */
  threads: number;
  /** Threads running a job. */
  busy: number;
  /** Jobs waiting for a thread. */
  queued: number;
  /** Jobs finished (successfully or not) since the pool was made. */
  completed: number;
}

let jobIds = 0;

/**
 * A pool of worker threads running module functions and self-contained
 * functions.
 *
 * @example
 * const pool = new WorkerPool({ maxWorkers: 2 });
 * const digest = yield* runInExecutor(loop, pool, new URL('./hash.js', import.meta.url), 'sha256', bytes);
 * const sum = yield* runInExecutor(loop, pool, (a: number, b: number) => a + b, 2, 3);
 * yield* until(pool.shutdown());
 */
export class WorkerPool implements Executor {
  readonly maxWorkers: number;
  readonly #threads = new Set<PoolThread>();
  readonly #idle: PoolThread[] = [];
  readonly #queue = new Deque<Entry>();
  /** Queued entries not withdrawn (the queue drops withdrawn ones lazily). */
  #queuedLive = 0;
  #completed = 0;
  #state: PoolState = 'open';
  #exited: Promise<void> | null = null;
  #resolveExited: (() => void) | null = null;

  constructor(options: WorkerPoolOptions = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError(`WorkerPool: options must be an object, got ${describe(options)}`);
    const maxWorkers = options.maxWorkers ?? DEFAULT_MAX_WORKERS;
    if (typeof maxWorkers !== 'number' || !Number.isInteger(maxWorkers) || maxWorkers < 1) {
      throw new RangeError(`WorkerPool: maxWorkers must be an integer >= 1, got ${describe(maxWorkers)}`);
    }
    this.maxWorkers = maxWorkers;
  }

  /** See `Executor.submit`. Throws a RuntimeError once shut down, a DataCloneError for arguments that cannot be copied. */
  submit(job: ExecutorJob, done: JobDone): () => void {
    if (this.#state !== 'open') throw new RuntimeError('WorkerPool.submit: the pool has been shut down');
    const entry: Entry = { id: ++jobIds, job, done, withdrawn: false, queued: false };
    const thread = this.#idle.pop() ?? (this.#threads.size < this.maxWorkers ? this.#startThread() : null);
    if (thread !== null) {
      try {
        this.#run(thread, entry);
      } catch (error) {
        this.#release(thread);
        throw error;
      }
    } else {
      // Copy now: the caller may change its arguments while the job waits.
      const queued: Entry = { ...entry, job: { ...job, args: structuredClone(job.args) }, queued: true };
      this.#queue.push(queued);
      this.#queuedLive++;
      return () => this.#withdraw(queued);
    }
    return () => this.#withdraw(entry);
  }

  /** See `Executor.shutdown`. Calling it again returns the same promise; `wait: false` escalates a waiting shutdown. */
  shutdown(options: { wait?: boolean } = {}): Promise<void> {
    const wait = options?.wait ?? true;
    if (this.#exited === null) this.#exited = new Promise<void>((resolve) => (this.#resolveExited = resolve));
    if (!wait) this.#terminate();
    else if (this.#state === 'open') {
      this.#state = 'draining';
      this.#finishDrain();
    }
    this.#checkExited();
    return this.#exited;
  }

  /** Whether `shutdown` was called. */
  isShutdown(): boolean {
    return this.#state !== 'open';
  }

  /** A frozen snapshot of the pool's threads and queue. */
  statistics(): Readonly<WorkerPoolStatistics> {
    let busy = 0;
    for (const thread of this.#threads) if (thread.current !== null) busy++;
    return Object.freeze({ threads: this.#threads.size, busy, queued: this.#queuedLive, completed: this.#completed });
  }

  #startThread(): PoolThread {
    const worker = new Worker(WORKER_SOURCE, { eval: true, name: 'eventide executor' });
    const thread: PoolThread = { worker, current: null, error: undefined };
    worker.on('message', (reply: JobReply) => this.#onReply(thread, reply));
    worker.on('error', (error) => void (thread.error = error));
    worker.on('messageerror', (error) => this.#onReply(thread, { id: thread.current?.id ?? -1, ok: false, error: null, thrown: error }));
    worker.on('exit', (code) => this.#onExit(thread, code));
    this.#threads.add(thread);
    return thread;
  }

  /** Posts `entry` to `thread` (throws a DataCloneError for uncloneable arguments). */
  #run(thread: PoolThread, entry: Entry): void {
    const job = entry.job;
    const request: JobRequest =
      job.source !== undefined
        ? { id: entry.id, source: job.source, name: job.name, args: job.args }
        : { id: entry.id, module: job.module, exportName: job.exportName, args: job.args };
    thread.worker.postMessage(request);
    thread.current = entry;
    thread.worker.ref();
  }

  #withdraw(entry: Entry): void {
    if (entry.withdrawn) return;
    entry.withdrawn = true;
    if (!entry.queued) return; // running (its outcome will be dropped) or finished
    entry.queued = false;
    this.#queuedLive--;
  }

  #onReply(thread: PoolThread, reply: JobReply): void {
    const entry = thread.current;
    if (entry === null || entry.id !== reply.id) return; // cannot happen: one job per thread at a time
    thread.current = null;
    this.#completed++;
    this.#release(thread);
    if (!entry.withdrawn) {
      if (reply.ok) entry.done(true, reply.value);
      else entry.done(false, reply.error !== null ? reviveError(reply.error) : reply.thrown);
    }
  }

  /** `thread` is free: give it the next queued job, or let it idle (or stop, when draining). */
  #release(thread: PoolThread): void {
    thread.current = null;
    if (this.#state === 'closed' || !this.#threads.has(thread)) return;
    const next = this.#nextQueued();
    if (next !== null) {
      this.#run(thread, next); // cloned at submit: cannot fail to post
      return;
    }
    thread.worker.unref();
    this.#idle.push(thread);
    if (this.#state === 'draining') this.#finishDrain();
  }

  #nextQueued(): Entry | null {
    for (let entry = this.#queue.shift(); entry !== undefined; entry = this.#queue.shift()) {
      if (entry.withdrawn) continue;
      entry.queued = false;
      this.#queuedLive--;
      return entry;
    }
    return null;
  }

  #onExit(thread: PoolThread, code: number): void {
    this.#threads.delete(thread);
    const idleAt = this.#idle.indexOf(thread);
    if (idleAt >= 0) this.#idle.splice(idleAt, 1);
    const entry = thread.current;
    thread.current = null;
    if (entry !== null) this.#completed++;
    if (entry !== null && !entry.withdrawn) {
      const why =
        this.#state === 'closed'
          ? 'the pool was shut down (wait: false) while it ran'
          : `its worker thread exited (code ${code})${thread.error instanceof Error ? `: ${thread.error.message}` : ''}`;
      entry.done(false, new RuntimeError(`runInExecutor: ${describeJob(entry.job)} did not finish: ${why}`, { cause: thread.error }));
    }
    if (this.#state !== 'closed' && this.#queuedLive > 0 && this.#threads.size < this.maxWorkers) {
      const replacement = this.#startThread();
      const next = this.#nextQueued();
      if (next !== null) this.#run(replacement, next);
      else this.#release(replacement);
    }
    if (this.#state === 'draining') this.#finishDrain();
    this.#checkExited();
  }

  /** Draining and nothing left to run: stop the threads. */
  #finishDrain(): void {
    if (this.#queuedLive > 0) return;
    for (const thread of this.#threads) if (thread.current !== null) return;
    this.#terminate();
  }

  /** Fails the queued jobs and terminates every thread. */
  #terminate(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    const failed: Entry[] = [];
    for (let entry = this.#nextQueued(); entry !== null; entry = this.#nextQueued()) failed.push(entry);
    this.#idle.length = 0;
    for (const thread of this.#threads) {
      thread.worker.unref();
      void thread.worker.terminate();
    }
    for (const entry of failed) {
      entry.done(false, new RuntimeError(`runInExecutor: ${describeJob(entry.job)} never ran: the pool was shut down (wait: false)`));
    }
  }

  #checkExited(): void {
    if (this.#state === 'closed' && this.#threads.size === 0 && this.#resolveExited !== null) {
      this.#resolveExited();
      this.#resolveExited = null;
    }
  }
}

/** The standard Error classes a worker's error is rebuilt as (others become an Error with the same name). */
const STANDARD_ERRORS: Record<string, new (message: string) => Error> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/**
 * An Error rebuilt from a worker's SerializedError: the standard class if
 * the name is one (TypeError, ...), otherwise an Error whose `name` is the
 * original's; `message`, `stack`, `code` and `cause` as sent.
 */
function reviveError(serialized: SerializedError): Error {
  const Class = Object.hasOwn(STANDARD_ERRORS, serialized.name) ? (STANDARD_ERRORS[serialized.name] as new (message: string) => Error) : Error;
  const error = new Class(serialized.message);
  if (error.name !== serialized.name) error.name = serialized.name;
  if (serialized.stack !== undefined) error.stack = serialized.stack;
  if (serialized.code !== undefined) (error as Error & { code?: string | number }).code = serialized.code;
  if (serialized.cause !== undefined) error.cause = reviveError(serialized.cause);
  return error;
}
