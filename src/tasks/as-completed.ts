/**
 * asCompleted: the outcomes of several ops in the order they finish —
 * asyncio.as_completed.
 *
 *   for (const next of asCompleted(ops)) {
 *     const value = yield* next; // the earliest op not yet handed out
 *   }
 *
 * The ops start at the call (coroutines in new tasks, at the caller's
 * priority, as gather does). Each step of the iteration hands out a
 * Future that stands for "the next op to finish", whichever that turns
 * out to be: it settles as that op settled (its result, its exception, or
 * cancelled). `futures()` is asyncio 3.13's `async for` form: its Futures
 * evaluate to the op's own Future or Task instead, so the caller can tell
 * which op it was.
 *
 * How it works (asyncio's shape): every op gets a done-callback that puts
 * the op on the `#finished` queue, or hands it straight to the oldest
 * Future handed out that is still waiting. A Future handed out and then
 * cancelled (its task was cancelled while waiting) takes nothing: the op
 * goes to the next one. Nor when the task is cancelled after its Future
 * settled but before it ran to read it: the outcome goes back, ahead of
 * the others, for the next Future handed out. The cancelled wait still
 * used up its turn, as a cancelled `Queue.get` does in asyncio: there is
 * one Future per op, so an iteration that a cancellation interrupted ends
 * before the last outcome is handed out (that op is still done: look at
 * it directly).
 *
 * With `timeoutMs`, ops still running at the deadline count as finished
 * with a TimeoutError, one each, in place of their outcome. They are not
 * cancelled (asyncio neither): the caller decides what to do with them.
 *
 * Invariants: the iteration hands out exactly as many Futures as there
 * are distinct ops; each op's outcome (or its TimeoutError) is read at
 * most once (a Future whose task was cancelled before reading it gives it
 * back); `#finished` and the live part of `#waiting` are never both
 * non-empty.
 */
import { describe } from '../core/assert.js';
import { TimeoutError } from '../core/errors.js';
import type { Handle } from '../core/handle.js';
import { COMBINES, type CombinedFuture } from './combined.js';
import { currentLane, ensureFuture, loopOf, toFutureOrCoroutine, type AnyOp, type OpResult } from './ensure-future.js';
import type { EventLoop } from './event-loop.js';
import { Future } from './future.js';
import type { Task } from './task.js';
import { isCoroutine } from './operation.js';
import { checkTimeoutMs } from './timeout.js';

export interface AsCompletedOptions {
  /** Ops still running this many ms after the call count as finished with a TimeoutError. null or Infinity (default): no limit. */
  timeoutMs?: number | null;
}

/**
 * The Future an op is to `futures()`: a Future or Task given as an op is
 * itself; anything else (a coroutine, a generator function) runs in a Task.
 */
export type OpFuture<O> = O extends Future<unknown> ? O : Task<OpResult<O>>;

/** Put on the finished queue, once per op still running, when the time is up. */
const TIMED_OUT = Symbol('timed out');
type Finished<T> = Future<T> | typeof TIMED_OUT;

/** What a Future handed out needs of the iteration. */
interface NextSource {
  running(): readonly Future<unknown>[];
  /** An outcome taken by a Future whose consumer was cancelled before it read it: to the next one. */
  giveBack(finished: Finished<unknown>): void;
}

/**
 * A Future handed out by the iteration. It stands for the ops still
 * running, so the await graph (inspect/call-graph.ts) draws them under the
 * task waiting on it.
 *
 * A task waiting on it (`yield*`) is woken with the outcome but reads it
 * only when it runs. Cancelled in between (a `timeout` or a cancel()
 * landing in the same tick), it gets CancelledError instead: the outcome
 * goes back to the iteration for the next Future handed out, as asyncio's
 * Queue.get hands an item on to the next getter. Only `yield*` reads it
 * that way: a bare `yield next` (or `await next`) takes the outcome when
 * the Future settles, so a cancellation landing before it runs loses it.
 */
class NextCompleted<R> extends Future<R> implements CombinedFuture {
  readonly #source: NextSource;
  /** Evaluates to the op itself (`futures()`), not to its outcome. */
  readonly givesOp: boolean;
  /** @internal What it was settled with, until a `yield*` reads it (or it goes back). */
  taken: Finished<unknown> | null = null;

  constructor(loop: EventLoop, source: NextSource, givesOp: boolean) {
    super(loop);
    this.#source = source;
    this.givesOp = givesOp;
  }

  [COMBINES](): readonly Future<unknown>[] {
    return this.#source.running();
  }

  /** `yield* next`: as a Future's, and an outcome thrown over by the waiting task's cancellation goes back. */
  override *[Symbol.iterator](): Generator<Future<R>, R, unknown> {
    if (!this.done()) {
      try {
        yield this;
      } catch (error) {
        this.#notRead(error);
        throw error;
      }
    }
    this.taken = null; // read here
    return this.result();
  }

  /** The waiting task threw `error` in instead of reading the outcome: give it back unless `error` is that outcome. */
  #notRead(error: unknown): void {
    const taken = this.taken;
    if (taken === null || !this.done() || this.cancelled()) return; // nothing taken, or the op's own cancellation delivered
    if (this.peekException() !== undefined && error === this.peekException()) return; // the op's own error delivered
    this.taken = null;
    this.#source.giveBack(taken);
  }
}

/**
 * The iterator `asCompleted` returns: iterate it for the ops' outcomes,
 * or `futures()` for the ops themselves, in the order they finish. Both
 * draw from the same ops: together they hand out one Future per op.
 */
export class AsCompleted<T, F = Future<T>> implements IterableIterator<Future<T>> {
  readonly #loop: EventLoop;
  readonly #total: number;
  /** Ops not finished and not timed out (asyncio's `_todo`). */
  readonly #running: Set<Future<T>>;
  /** Ops finished (or timed out) before a Future handed out could take them, oldest first. */
  readonly #finished: Finished<T>[] = [];
  /** Futures handed out that wait for an op, oldest first; some may have been cancelled since. */
  readonly #waiting: NextCompleted<unknown>[] = [];
  #handedOut = 0;
  readonly #timeoutMs: number | null;
  #timer: Handle | null = null;
  readonly #onOpDone = (op: Future<T>): void => this.#opFinished(op);
  /** What the Futures handed out see of this iteration. */
  readonly #asSource: NextSource = {
    running: () => this.running(),
    giveBack: (finished) => this.#pass(finished as Finished<T>, true),
  };

  /** @internal Made by asCompleted(): the ops are already Futures, distinct, and started. */
  constructor(loop: EventLoop, ops: ReadonlySet<Future<T>>, timeoutMs: number | null) {
    this.#loop = loop;
    this.#total = ops.size;
    this.#running = new Set(ops);
    this.#timeoutMs = timeoutMs;
    const lane = currentLane(); // the caller hears back at its own priority, as with gather
    for (const op of ops) op.addDoneCallbackInLane(this.#onOpDone, lane);
    if (timeoutMs !== null && ops.size > 0) {
      this.#timer = loop.scheduleTimer(loop.time() + timeoutMs, () => this.#timedOut(), undefined, lane, timeoutMs);
    }
  }

  /** How many Futures the iteration has still to hand out. */
  get remaining(): number {
    return this.#total - this.#handedOut;
  }

  /** The ops still running (neither finished nor timed out). */
  running(): Future<T>[] {
    return [...this.#running];
  }

  /** The next Future, settling as the next op to finish did; done after one per op. */
  next(): IteratorResult<Future<T>, undefined> {
    if (this.remaining === 0) return { done: true, value: undefined };
    return { done: false, value: this.#handOut<T>(false) };
  }

  [Symbol.iterator](): this {
    return this;
  }

  /**
   * asyncio 3.13's `async for` form: Futures that evaluate to the op
   * itself (the Future or Task it was, or the Task made for a coroutine),
   * in the order the ops finish. A timed-out op is a TimeoutError here too.
   *
   * @example
   * for (const next of asCompleted(tasks).futures()) {
   *   const task = yield* next;
   *   console.log(task.name, task.result());
   * }
   */
  futures(): IterableIterator<Future<F>> {
    const source = this;
    return {
      next(): IteratorResult<Future<F>, undefined> {
        if (source.remaining === 0) return { done: true, value: undefined };
        return { done: false, value: source.#handOut<F>(true) };
      },
      [Symbol.iterator]() {
        return this;
      },
    };
  }

  toString(): string {
    return `<AsCompleted ${this.#handedOut}/${this.#total} handed out, ${this.#running.size} running>`;
  }

  #handOut<R>(givesOp: boolean): Future<R> {
    this.#handedOut++;
    const next = new NextCompleted<R>(this.#loop, this.#asSource, givesOp);
    next.label = `asCompleted: ${this.#handedOut} of ${this.#total}`;
    const finished = this.#finished.shift();
    if (finished !== undefined) this.#deliver(next, finished);
    else this.#waiting.push(next);
    return next;
  }

  #opFinished(op: Future<T>): void {
    if (!this.#running.delete(op)) return; // timed out first: its TimeoutError has gone out instead
    if (this.#running.size === 0) this.#timer?.cancel();
    this.#pass(op);
  }

  #timedOut(): void {
    this.#timer = null;
    const late = [...this.#running];
    this.#running.clear();
    for (const op of late) {
      op.removeDoneCallback(this.#onOpDone);
      this.#pass(TIMED_OUT);
    }
  }

  /**
   * Gives `finished` to the oldest Future handed out that still waits, else
   * queues it (at the front if it is `givenBack`: it finished before those queued).
   */
  #pass(finished: Finished<T>, givenBack = false): void {
    let next = this.#waiting.shift();
    while (next !== undefined && next.done()) next = this.#waiting.shift(); // cancelled while waiting: takes nothing
    if (next !== undefined) this.#deliver(next, finished);
    else if (givenBack) this.#finished.unshift(finished);
    else this.#finished.push(finished);
  }

  /** Settles a Future handed out with what the finished op gives it. */
  #deliver(next: NextCompleted<unknown>, finished: Finished<T>): void {
    next.taken = finished;
    if (finished === TIMED_OUT) {
      next.setException(new TimeoutError(`asCompleted: not finished within ${this.#timeoutMs} ms`));
    } else if (next.givesOp) {
      next.setResult(finished);
    } else if (finished.cancelled()) {
      next.cancel(finished.cancelMessage);
    } else {
      const exception = finished.exception(); // retrieved: it is delivered here
      if (exception !== null) next.setException(exception);
      else next.setResult(finished.result());
    }
  }
}

/**
 * Starts `ops` and returns an iterator of Futures, one per distinct op,
 * that settle in the order the ops finish (asyncio.as_completed). Ops are
 * Futures, Tasks, coroutines or generator functions, as for gather; the
 * same Future or coroutine given twice counts once. With `timeoutMs`, the
 * Futures still waiting at the deadline throw TimeoutError; the ops go on.
 *
 * Throws at the call, before anything starts: TypeError if `ops` is not a
 * collection of ops (a single Future or coroutine included), or for a
 * bad `timeoutMs`.
 *
 * @example
 * for (const next of asCompleted([fetchA(), fetchB(), fetchC()], { timeoutMs: 5000 })) {
 *   const page = yield* next; // fastest first; TimeoutError for those too slow
 *   render(page);
 * }
 */
export function asCompleted<O extends AnyOp>(ops: Iterable<O>, options: AsCompletedOptions = {}): AsCompleted<OpResult<O>, OpFuture<O>> {
  if (ops instanceof Future || isCoroutine(ops)) {
    throw new TypeError(`asCompleted: ops must be a collection (e.g. an array) of ops, not a single op; got ${describe(ops)}`);
  }
  if (ops === null || ops === undefined || typeof (ops as Partial<Iterable<O>>)[Symbol.iterator] !== 'function') {
    throw new TypeError(`asCompleted: ops must be an iterable of ops, got ${describe(ops)}`);
  }
  if (options === null || typeof options !== 'object') throw new TypeError(`asCompleted: options must be an object, got ${describe(options)}`);
  const timeoutMs = options.timeoutMs === undefined ? null : checkTimeoutMs(options.timeoutMs, 'asCompleted: options.timeoutMs');

  // Check everything before starting anything.
  const items = [...ops].map((op, index) => toFutureOrCoroutine(op as AnyOp, `asCompleted: op ${index}`));
  const loop = loopOf(items, 'asCompleted');
  const futures = new Set([...new Set(items)].map((item) => ensureFuture(item, loop)));
  return new AsCompleted<OpResult<O>, OpFuture<O>>(loop, futures as Set<Future<OpResult<O>>>, timeoutMs);
}
