/**
 * `runInExecutor`: asyncio's `loop.run_in_executor`, on worker threads.
 *
 * CPU-heavy or blocking work must not run on the loop's thread: while it
 * runs, no callback, timer or I/O of the loop can. An executor runs it on
 * another thread and the loop gets the outcome as a Future.
 *
 * A live JavaScript function cannot move to another thread: its closure
 * and its imports stay behind. So the work is given in one of two forms:
 *
 *     runInExecutor(loop, null, (a, b) => a + b, 2, 3)                       // asyncio's shape
 *     runInExecutor(loop, null, new URL('./work.js', import.meta.url), 'hash', data)
 *
 * - A function is sent as its source text (the workerpool library's
 *   convention) and rebuilt on the worker, once per distinct text. It must
 *   be self-contained: use only its arguments and globals (it may
 *   `await import('node:crypto')` inside). Sync or async, it is called with
 *   the arguments and its (awaited) result comes back. What cannot be
 *   rebuilt is refused with a TypeError when runInExecutor is called: a
 *   bound or built-in function (no source text), a class, a method
 *   shorthand (`add(a, b) {...}` does not compile on its own). A function
 *   that uses a variable from around it fails when it runs, with a
 *   ReferenceError saying it must be self-contained. Code coverage tools
 *   that rewrite functions (adding counters from outside) break this form.
 * - A module URL and an export name: the worker imports the module, so the
 *   function keeps its imports and module-level state (per thread). The
 *   form for anything that needs more than its arguments.
 *
 * Arguments and result are copied between threads (structured clone). An
 * argument that cannot be (a function, a symbol) is a TypeError at the
 * call naming it (`args[1]`), its DataCloneError as the cause; nothing is
 * submitted and the pool carries on.
 *
 * The default executor of each loop is a `WorkerPool` of
 * min(4, CPUs) threads, started on first use. `shutdownDefaultExecutor`
 * lets its jobs finish and stops it; `NodeEventLoop.close()` stops it at
 * once (asyncio: `shutdown(wait=False)`), so no thread outlives the loop.
 * Any object implementing `Executor` can be passed instead of `null`.
 *
 * The outcome travels back as a message on the worker's port, delivered
 * by Node's loop (which both Node hosts let run); its listener settles the
 * Future, which queues the waiters' callbacks on the loop as every Future
 * does. While a job is out, a virtual clock does not jump past it.
 * Cancelling the Future withdraws the job: a queued job never runs, a
 * running one finishes on its thread and its outcome is dropped.
 */
import { describe } from '../core/assert.js';
import { RuntimeError } from '../core/errors.js';
import type { EventLoop } from '../tasks/event-loop.js';
import type { Future } from '../tasks/future.js';
import { promiseToFuture } from '../tasks/task.js';
import type { ExecutorJob, FunctionJob } from './executor-job.js';
import { WorkerPool, type Executor } from './worker-pool.js';
import { SETTLE_HOOK } from '../tasks/future.js';


interface DefaultExecutorSlot {
  executor: Executor | null;
  /** shutdownDefaultExecutor or close was called: runInExecutor(null) is refused from then on. */
  shutDown: boolean;
}

const defaults = new WeakMap<EventLoop, DefaultExecutorSlot>();

function slotOf(loop: EventLoop): DefaultExecutorSlot {
  let slot = defaults.get(loop);
  if (slot === undefined) defaults.set(loop, (slot = { executor: null, shutDown: false }));
  return slot;
}

/** The module's href: a URL object or an absolute URL string; anything else is a TypeError that says what to pass. */
function moduleHref(module: unknown, who: string): string {
  if (module instanceof URL) return module.href;
  if (typeof module === 'string' && URL.canParse(module)) return module;
  throw new TypeError(
    `${who}: module must be a URL (new URL('./work.js', import.meta.url)) or an absolute URL string followed by an export name, ` +
      `or the work a self-contained function; got ${describe(module)}`,
  );
}

/** The source text of a bound or built-in function (and of a callable Proxy). */
const NATIVE_SOURCE = /^function\s*[\w$]*\s*\(\)\s*\{\s*\[native code\]\s*\}$/;
/** A function expression, async or not, or an arrow function: what compiles standalone. */
const STANDALONE_SOURCE = /^(?:async\s*)?(?:function\b|\(|[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*\s*=>)/u;

/**
 * `fn` as a FunctionJob: its source text, which must compile on its own.
 * Throws a TypeError naming `fn` for what a worker could not rebuild.
 */
function functionJob(fn: (...args: never[]) => unknown, args: readonly unknown[], who: string): FunctionJob {
  const name = fn.name || 'anonymous';
  const source = Function.prototype.toString.call(fn);
  const refuse = (why: string): TypeError =>
    new TypeError(
      `${who}: cannot run ${describe(fn)} on a worker thread: ${why}. A function passed to ${who} is rebuilt on the worker ` +
        'from its source text, so it must be a self-contained function expression or arrow function (using only its ' +
        "arguments and globals); or export it from a module and pass (new URL('./work.js', import.meta.url), 'exportName', ...args)",
    );
  if (NATIVE_SOURCE.test(source)) throw refuse('it is a bound or built-in function, which has no source text');
  if (/^class\b/.test(source)) throw refuse('it is a class (a constructor is not called like a function)');
  if (!STANDALONE_SOURCE.test(source)) {
    throw refuse(`its source text (${describe(source)}) is a method shorthand, which does not compile outside its object or class`);
  }
  return { source, name, args };
}

function checkExecutor(executor: unknown, who: string): asserts executor is Executor | null {
  if (executor === null) return;
  const candidate = executor as Partial<Executor> | undefined;
  if (typeof candidate !== 'object' || typeof candidate.submit !== 'function' || typeof candidate.shutdown !== 'function') {
    throw new TypeError(`${who}: executor must be null (the loop's default) or an Executor (with submit and shutdown), got ${describe(executor)}`);
  }
}

/**
 * Runs work on `executor` (null: the loop's default WorkerPool) and
 * returns a Future of its (awaited) result. The work is either a
 * self-contained function `fn`, called with `args` (asyncio's
 * `run_in_executor(executor, func, *args)`), or the function exported as
 * `exportName` by `module`. Arguments and result are copied between
 * threads (structured clone). An error thrown in the worker rejects the
 * Future with an Error of the same name (the standard class for
 * TypeError, RangeError, ...), message, stack, code and cause. Cancelling
 * the Future drops the result (a running job is not interrupted).
 *
 * `fn` is sent as source text: see the top of this module for what
 * "self-contained" means and what is refused. A bound function, a class or
 * a method shorthand is a TypeError here; a function using a variable
 * from around it rejects the Future with a ReferenceError that says so.
 *
 * @example
 * const sum = yield* runInExecutor(loop, null, (a: number, b: number) => a + b, 2, 3); // number
 * const digest = yield* runInExecutor(loop, null, async (bytes: Uint8Array) => {
 *   const { createHash } = await import('node:crypto'); // imports go inside
 *   return createHash('sha256').update(bytes).digest('hex');
 * }, bytes);
 * // work.js: export function sha256(bytes) { ... }  -- the module form keeps the module's imports
 * const same = yield* runInExecutor<string>(loop, null, new URL('./work.js', import.meta.url), 'sha256', bytes);
 */
export function runInExecutor<A extends unknown[], R>(loop: EventLoop, executor: Executor | null, fn: (...args: A) => R, ...args: A): Future<Awaited<R>>;
export function runInExecutor<T = unknown>(loop: EventLoop, executor: Executor | null, module: URL | string, exportName: string, ...args: unknown[]): Future<T>;
export function runInExecutor(loop: EventLoop, executor: Executor | null, work: unknown, ...rest: unknown[]): Future<unknown> {
  const who = 'runInExecutor';
  let job: ExecutorJob;
  if (typeof work === 'function') {
    job = functionJob(work as (...args: never[]) => unknown, rest, who);
  } else {
    const href = moduleHref(work, who);
    const [exportName, ...args] = rest;
    if (typeof exportName !== 'string' || exportName.length === 0) {
      throw new TypeError(`${who}: exportName must be the non-empty name of a function exported by ${href}, got ${describe(exportName)}`);
    }
    job = { module: href, exportName, args };
  }
  checkExecutor(executor, who);
  if (loop.isClosed()) throw new RuntimeError(`${who}: the event loop is closed`);
  const target = executor ?? defaultExecutor(loop, who);

  const future = loop.createFuture<unknown>();
  future.label = `executor: ${job.source !== undefined ? job.name : job.exportName}`;
  let settled = false;
  let withdraw: () => void = () => {};
  const settle = (ok: boolean, value: unknown): void => {
    if (settled) return;
    settled = true;
    loop.endExternalWait();
    if (future.done() || loop.isClosed()) return;
    if (ok) future.setResult(value);
    else future.setException(value);
  };
  loop.beginExternalWait();
  try {
    withdraw = target.submit(job, settle);
  } catch (error) {
    if (!settled) {
      settled = true;
      loop.endExternalWait();
    }
    throw isDataCloneError(error) ? uncloneableArgumentError(job.args, error, who) : error;
  }
  // Cancelled (or settled) first: withdraw the job and stop holding back a virtual clock.
  future.addDoneCallbackInLane(() => {
    if (settled) return;
    settled = true;
    loop.endExternalWait();
    withdraw();
  }, SETTLE_HOOK);
  return future;
}

function isDataCloneError(error: unknown): error is DOMException {
  return error instanceof DOMException && error.name === 'DataCloneError';
}

/**
 * What submit's DataCloneError means, as a TypeError naming the argument
 * that cannot be copied to a worker thread (a function, a symbol, an
 * object holding one), with the DataCloneError as its cause. Only on this
 * failure path is each argument cloned again, to find which one.
 */
function uncloneableArgumentError(args: readonly unknown[], cause: DOMException, who: string): TypeError {
  const index = args.findIndex((arg) => {
    try {
      structuredClone(arg);
      return false;
    } catch {
      return true;
    }
  });
  const which = index < 0 ? 'the arguments' : `args[${index}] (${describe(args[index])})`;
  return new TypeError(`${who}: ${which} cannot be copied to a worker thread (structured clone): ${cause.message}`, { cause });
}

/** The loop's default executor, started on first use. */
function defaultExecutor(loop: EventLoop, who: string): Executor {
  const slot = slotOf(loop);
  if (slot.shutDown) throw new RuntimeError(`${who}: the loop's default executor has been shut down`);
  return (slot.executor ??= new WorkerPool());
}

/**
 * Makes `executor` the loop's default (what `runInExecutor(loop, null, ...)`
 * uses). The previous default is not shut down. The loop's close shuts the
 * default down, whichever it is.
 *
 * @example
 * setDefaultExecutor(loop, new WorkerPool({ maxWorkers: 8 }));
 */
export function setDefaultExecutor(loop: EventLoop, executor: Executor): void {
  checkExecutor(executor, 'setDefaultExecutor');
  if (executor === null) throw new TypeError('setDefaultExecutor: executor must be an Executor, got null');
  if (loop.isClosed()) throw new RuntimeError('setDefaultExecutor: the event loop is closed');
  const slot = slotOf(loop);
  if (slot.shutDown) throw new RuntimeError("setDefaultExecutor: the loop's default executor has been shut down");
  slot.executor = executor;
}

/**
 * Shuts the loop's default executor down, letting the jobs already
 * submitted finish (asyncio's `loop.shutdown_default_executor()`); the
 * Future resolves once its threads have exited. Afterwards
 * `runInExecutor(loop, null, ...)` is a RuntimeError.
 *
 * @example
 * yield* shutdownDefaultExecutor(loop);
 */
export function shutdownDefaultExecutor(loop: EventLoop): Future<void> {
  if (loop.isClosed()) throw new RuntimeError('shutdownDefaultExecutor: the event loop is closed');
  const slot = slotOf(loop);
  slot.shutDown = true;
  const executor = slot.executor;
  if (executor === null) {
    const future = loop.createFuture<void>();
    future.setResult();
    return future;
  }
  return promiseToFuture(loop, executor.shutdown({ wait: true }));
}

/**
 * Stops the loop's default executor at once (`shutdown({ wait: false })`):
 * queued jobs never run, running threads are terminated. Idempotent.
 * `NodeEventLoop.close()` calls it; call it when closing any other loop
 * that used `runInExecutor`. Idle WorkerPool threads never keep the
 * process alive, but they do hold memory.
 *
 * @example
 * closeDefaultExecutor(loop);
 * loop.close();
 */
export function closeDefaultExecutor(loop: EventLoop): void {
  const slot = defaults.get(loop);
  if (slot === undefined) return;
  slot.shutDown = true;
  const executor = slot.executor;
  slot.executor = null;
  if (executor === null) return;
  const report = (error: unknown): void => loop.logger.error('eventide: shutting down the default executor failed:', error);
  try {
    Promise.resolve(executor.shutdown({ wait: false })).catch(report);
  } catch (error) {
    report(error); // a close must not fail halfway because an executor did
  }
}

/** @internal The loop's default executor if it was started (tests and introspection). */
export function peekDefaultExecutor(loop: EventLoop): Executor | null {
  return defaults.get(loop)?.executor ?? null;
}
