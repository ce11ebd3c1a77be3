/**
 * `runInExecutor`: asyncio's `loop.run_in_executor`, on worker threads.
 *
 * CPU-heavy or blocking work must not run on the loop's thread: while it
 * runs, no callback, timer or I/O of the loop can. An executor runs it on
 * another thread and the loop gets the outcome as a Future.
 *
 * What you pass is a module URL and an export name, not a function:
 *
 *     runInExecutor(loop, null, new URL('./work.js', import.meta.url), 'hash', data)
 *
 * A JavaScript function cannot move to another thread (its closure and
 * its imports stay behind), and running it on the loop's own thread "a bit
 * later" would block the loop exactly as much as calling it now. So a
 * function is refused with a TypeError that says this, rather than either
 * being faked (source text re-evaluated elsewhere, silently losing its
 * closure) or run where it hurts.
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
import { WorkerPool, type Executor, type ExecutorJob } from './worker-pool.js';
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
  if (typeof module === 'function') {
    throw new TypeError(
      `${who}: cannot run ${describe(module)} on a worker thread: a function cannot be sent to another thread ` +
        '(its closure and imports stay behind), and running it on the loop\'s thread would block the loop all the same. ' +
        "Export it from a module and pass the module's URL and the export's name: " +
        `${who}(loop, null, new URL('./work.js', import.meta.url), '${module.name || 'work'}', ...args)`,
    );
  }
  throw new TypeError(
    `${who}: module must be a URL (new URL('./work.js', import.meta.url)) or an absolute URL string, got ${describe(module)}`,
  );
}

function checkExecutor(executor: unknown, who: string): asserts executor is Executor | null {
  if (executor === null) return;
  const candidate = executor as Partial<Executor> | undefined;
  if (typeof candidate !== 'object' || typeof candidate.submit !== 'function' || typeof candidate.shutdown !== 'function') {
    throw new TypeError(`${who}: executor must be null (the loop's default) or an Executor (with submit and shutdown), got ${describe(executor)}`);
  }
}

/**
 * Runs the function exported as `exportName` by `module` on `executor`
 * (null: the loop's default WorkerPool), called with `args`; returns a
 * Future of its (awaited) result. Arguments and result are copied between
 * threads (structured clone). An error thrown in the worker rejects the
 * Future with an Error of the same name, message and stack. Cancelling the
 * Future drops the result (a running job is not interrupted).
 *
 * Passing a function instead of a module URL is a TypeError: see the top
 * of this module for why.
 *
 * @example
 * // work.js: export function sha256(bytes) { return createHash('sha256').update(bytes).digest('hex'); }
 * const work = new URL('./work.js', import.meta.url);
 * const digest = yield* runInExecutor<string>(loop, null, work, 'sha256', bytes);
 */
export function runInExecutor<T = unknown>(
  loop: EventLoop,
  executor: Executor | null,
  module: URL | string,
  exportName: string,
  ...args: unknown[]
): Future<T> {
  const who = 'runInExecutor';
  const href = moduleHref(module, who);
  if (typeof exportName !== 'string' || exportName.length === 0) {
    throw new TypeError(`${who}: exportName must be the non-empty name of a function exported by ${href}, got ${describe(exportName)}`);
  }
  checkExecutor(executor, who);
  if (loop.isClosed()) throw new RuntimeError(`${who}: the event loop is closed`);
  const target = executor ?? defaultExecutor(loop, who);
  const job: ExecutorJob = { module: href, exportName, args };

  const future = loop.createFuture<T>();
  future.label = `executor: ${exportName}`;
  let settled = false;
  let withdraw: () => void = () => {};
  const settle = (ok: boolean, value: unknown): void => {
    if (settled) return;
    settled = true;
    loop.endExternalWait();
    if (future.done() || loop.isClosed()) return;
    if (ok) future.setResult(value as T);
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
    throw error;
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
