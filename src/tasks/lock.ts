/**
 * Lock: mutual exclusion between tasks, with asyncio's semantics.
 *
 * Invariants (asyncio 3.12's, which fixed several lost-wake-up races):
 *  - Fairness: waiters get the lock in the order they asked for it. A task
 *    that finds the lock free but live waiters queued waits its turn; only
 *    when every queued waiter is cancelled may a newcomer take it at once.
 *  - Hand-over: `release()` unlocks and wakes the *first* waiter only; the
 *    lock stays unlocked until that waiter runs and takes it. Waking is
 *    settling the waiter's future, so the woken task resumes through the
 *    ready queue at its own priority.
 *  - No lost wake-up: a waiter that is cancelled after being woken, before
 *    it ran, wakes the next waiter on its way out (if the lock is still
 *    free). A waiter leaves the queue only when its own task runs again.
 *  - Not owned, as in asyncio: any task (or a plain callback) may release a
 *    lock another task acquired. `owner` records which task acquired it,
 *    for introspection and priority inheritance.
 *  - Priority inheritance: the waiters lend their best lane to the owner,
 *    and between a release and the woken waiter's step, to that heir.
 */
import { checkCallback } from '../core/assert.js';
import { Deque } from '../core/deque.js';
import { RuntimeError } from '../core/errors.js';
import { currentTask } from './current.js';
import type { Coroutine, Operation } from './operation.js';
import type { Task } from './task.js';
import { lendToHolder, type PriorityLoan } from './inheritance.js';
import { hasLiveWaiter, LoopBinding, removeWaiter, waitingTasks, type Waiter } from './waiters.js';

/**
 * A mutual-exclusion lock for tasks (asyncio.Lock): FIFO, not re-entrant,
 * not owned. `withLock(body)` is the critical-section form of
 * `async with lock:`.
 *
 * @example
 * const lock = new Lock();
 * function* deposit(amount: number) {
 *   yield* lock.withLock(function* () {
 *     const balance = yield* readBalance();
 *     yield* writeBalance(balance + amount);
 *   });
 * }
 */
export class Lock {
  #locked = false;
  /** The task that acquired the lock; null while unlocked (or taken outside a task). */
  #owner: Task<unknown> | null = null;
  /**
   * Tasks waiting to acquire, FIFO. A waiter stays here until its task runs
   * again (woken or cancelled); a woken waiter's future is done.
   */
  readonly #waiters = new Deque<Waiter<true>>(4);
  readonly #binding = new LoopBinding(this);

  /**
   * A new, unlocked lock. It binds to a loop the first time a task waits on it.
   *
   * @example
   * const lock = new Lock();
   * yield* lock.withLock(function* () {
   *   // one task at a time here
   * });
   */
  constructor() {}

  /** Whether the lock is held. */
  locked(): boolean {
    return this.#locked;
  }

  /** What a waiting task is blocked on, for priority inheritance (see inheritance.ts). */
  readonly #loan: PriorityLoan = { refreshLoan: () => this.#lendToOwner(), endLoan: () => this.#lendToOwner() };
  /** The task the waiters' priority is lent to now (see #lendToOwner), or null. */
  #borrower: Task<unknown> | null = null;

  /**
   * Who stands between the waiters and the lock: its owner while it is
   * held; while it is free, the task at the head of the line once its
   * future is done (woken by release(), or cancelled), which must run
   * before the lock can move on — the heir.
   */
  #heldBy(): Task<unknown> | null {
    if (this.#locked) return this.#owner;
    const first = this.#waiters.peekFront();
    return first !== undefined && first.future.done() ? first.task : null;
  }

  /**
   * Lends whoever holds the lock (or is about to: the heir) the best lane
   * among the tasks still waiting, or withdraws the loan when none waits.
   * Without the heir's loan a release to a `low` waiter would leave a
   * `critical` one behind it waiting for the low lane.
   */
  #lendToOwner(): void {
    const borrower = this.#heldBy();
    if (this.#borrower !== borrower) {
      this.#borrower?.withdrawPriority(this);
      this.#borrower = borrower;
    }
    lendToHolder(this, borrower, waitingTasks(this.#waiters));
  }

  /** The task that holds the lock, or null. */
  get owner(): Task<unknown> | null {
    return this.#owner;
  }

  /** The tasks waiting to acquire the lock, first in line first (a snapshot). */
  get waiters(): Task<unknown>[] {
    const tasks: Task<unknown>[] = [];
    for (const waiter of this.#waiters) if (!waiter.future.done()) tasks.push(waiter.task);
    return tasks;
  }

  /**
   * Acquires the lock, waiting (FIFO) while it is held; evaluates to `true`.
   * A coroutine: nothing happens until it is `yield*`-ed (or given to
   * `createTask`). If the task is cancelled while waiting, the lock is not
   * acquired and the next waiter is not held up.
   *
   * @example
   * yield* lock.acquire();
   * try {
   *   yield* sleep(10);
   * } finally {
   *   lock.release();
   * }
   */
  *acquire(): Coroutine<true> {
    if (!this.#locked && !hasLiveWaiter(this.#waiters)) {
      this.#locked = true;
      this.#owner = currentTask();
      return true;
    }
    const waiter = this.#binding.newWaiter<true>('Lock.acquire()');
    this.#waiters.push(waiter);
    // Priority inheritance: the holder runs at least at our priority while we wait.
    waiter.task.setBlockedOn(this.#loan);
    try {
      try {
        yield* waiter.future;
      } finally {
        removeWaiter(this.#waiters, waiter);
        this.#lendToOwner();
      }
    } catch (error) {
      // Cancelled (possibly after release() chose us): if nobody holds the
      // lock, make sure the new head of the line is woken.
      if (!this.#locked) this.#wakeUpFirst();
      this.#lendToOwner(); // to the new heir, if any
      throw error;
    }
    this.#locked = true;
    this.#owner = waiter.task;
    this.#lendToOwner(); // the new holder inherits from those still waiting
    return true;
  }

  /**
   * Releases the lock and wakes the first waiter, if any. Throws
   * RuntimeError if the lock is not held.
   *
   * @example
   * lock.release();
   */
  release(): void {
    if (!this.#locked) throw new RuntimeError('Lock.release(): the lock is not acquired');
    this.#locked = false;
    this.#owner = null;
    this.#wakeUpFirst();
    this.#lendToOwner(); // from the old owner to the heir
  }

  /**
   * Runs `body` while holding the lock: acquires, `yield*`s the generator
   * `body()` returns, and releases however it ends (result, exception or
   * cancellation). Evaluates to the body's result — `async with lock:` for
   * eventide.
   *
   * @example
   * const total = yield* lock.withLock(function* () {
   *   const value = yield* readCounter();
   *   yield* writeCounter(value + 1);
   *   return value + 1;
   * });
   */
  withLock<R>(body: () => Operation<R>): Coroutine<R> {
    checkCallback(body, 'Lock.withLock: body');
    return this.#withLock(body);
  }

  *#withLock<R>(body: () => Operation<R>): Coroutine<R> {
    yield* this.acquire();
    try {
      return yield* body();
    } finally {
      this.release();
    }
  }

  toString(): string {
    const waiting = this.waiters.length;
    return `<Lock [${this.#locked ? 'locked' : 'unlocked'}${waiting > 0 ? `, waiters:${waiting}` : ''}]>`;
  }

  /** Wakes the head of the line, unless it is already woken (or cancelled). */
  #wakeUpFirst(): void {
    const first = this.#waiters.peekFront();
    if (first !== undefined && !first.future.done()) first.future.setResult(true);
  }
}
