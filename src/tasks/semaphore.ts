/**
 * Semaphore and BoundedSemaphore: a counter of permits, with asyncio's
 * (3.12+) semantics.
 *
 * Invariants:
 *  - Fairness: permits go to waiters in the order they asked. A task that
 *    finds a free permit but live waiters queued waits its turn.
 *  - Hand-over: `release()` gives the permit straight to the first live
 *    waiter — the count is decremented when the waiter is woken, not when
 *    it runs — so nobody can slip in between.
 *  - No lost permit: a waiter cancelled after being woken, before it ran,
 *    gives its permit back, and whoever leaves `acquire()` wakes as many
 *    waiters as there are free permits.
 *  - `value` never goes below zero; BoundedSemaphore also never above its
 *    initial value (releasing more often than acquiring is a bug it reports).
 */
import { checkCallback } from '../core/assert.js';
import { Deque } from '../core/deque.js';
import type { Coroutine, Operation } from './operation.js';
import { currentTask } from './current.js';
import { lendToHolder, type PriorityLoan } from './inheritance.js';
import type { Task } from './task.js';
import { checkCount, hasLiveWaiter, LoopBinding, removeWaiter, waitingTasks, type Waiter } from './waiters.js';

/**
 * A counting semaphore for tasks (asyncio.Semaphore): at most `value`
 * holders at a time, served FIFO.
 *
 * @example
 * const connections = new Semaphore(10);
 * function* query(sql: string) {
 *   return yield* connections.withLock(function* () {
 *     return yield* until(db.query(sql));
 *   });
 * }
 */
export class Semaphore {
  #value: number;
  /** Tasks waiting for a permit, FIFO; each leaves when its task runs again. */
  readonly #waiters = new Deque<Waiter<true>>(4);
  readonly #binding = new LoopBinding(this);

  /**
   * A semaphore with `value` permits (default 1). `value` must be an
   * integer >= 0 (TypeError / RangeError otherwise).
   *
   * @example
   * const downloads = new Semaphore(3); // at most 3 at a time
   * yield* downloads.withLock(function* () {
   *   return yield* until(fetch(url));
   * });
   */
  constructor(value = 1) {
    checkCount(value, `${new.target.name}: value`, 0);
    this.#value = value;
  }

  /** Permits free right now (some may already be promised to woken waiters). */
  get value(): number {
    return this.#value;
  }

  /**
   * Whether `acquire()` would have to wait: no permit is free, or live
   * waiters are ahead in line.
   */
  locked(): boolean {
    return this.#value === 0 || hasLiveWaiter(this.#waiters);
  }

  /**
   * Takes a permit, waiting (FIFO) while none is free; evaluates to `true`.
   *
   * @example
   * yield* sem.acquire();
   * try {
   *   yield* work();
   * } finally {
   *   sem.release();
   * }
   */
  *acquire(): Coroutine<true> {
    if (!this.locked()) {
      this.#value--;
      this.#addHolder(currentTask());
      return true;
    }
    const waiter = this.#binding.newWaiter<true>(`${this.constructor.name}.acquire()`);
    this.#waiters.push(waiter);
    // Priority inheritance: the permit holders run at least at our priority while we wait.
    waiter.task.setBlockedOn(this.#loan);
    try {
      try {
        yield* waiter.future;
      } finally {
        removeWaiter(this.#waiters, waiter);
        this.#lendToHolders();
      }
    } catch (error) {
      // Woken (a permit was handed to us) but cancelled: hand it back.
      if (waiter.future.done() && !waiter.future.cancelled()) {
        this.#value++;
        this.#dropHolder(waiter.task);
      }
      throw error;
    } finally {
      // Newcomers may have queued behind us while permits were free.
      while (this.#value > 0) if (!this.#wakeUpNext()) break;
    }
    return true; // a holder since #wakeUpNext handed it the permit
  }

  /**
   * Returns a permit, handing it to the first waiting task if there is one.
   *
   * @example
   * sem.release();
   */
  release(): void {
    this.#value++;
    this.#removeHolder(currentTask());
    this.#wakeUpNext();
  }

  /**
   * Tasks holding a permit, for priority inheritance. Permits are not owned
   * (any code may release), so a release drops the releasing task's entry,
   * or else a finished holder's, or else the oldest holder's. A waiter
   * holds its permit from when it is handed over (#wakeUpNext), before its
   * task runs: until then it is what the waiters behind it wait for, so it
   * borrows their priority too.
   */
  readonly #holders: Task<unknown>[] = [];
  readonly #loan: PriorityLoan = { refreshLoan: () => this.#lendToHolders(), endLoan: () => this.#lendToHolders() };

  #addHolder(task: Task<unknown> | null): void {
    if (task === null) return;
    this.#holders.push(task);
    this.#lendToHolders();
  }

  #removeHolder(task: Task<unknown> | null): void {
    let index = task === null ? -1 : this.#holders.indexOf(task);
    // Released by someone holding none (a callback, another task): the
    // permit of a holder that has finished, if any, else the oldest.
    if (index < 0) index = Math.max(0, this.#holders.findIndex((holder) => holder.done()));
    this.#dropHolderAt(index);
  }

  /** Drops one entry of `task`, which holds a permit. */
  #dropHolder(task: Task<unknown>): void {
    const index = this.#holders.indexOf(task);
    if (index >= 0) this.#dropHolderAt(index);
  }

  #dropHolderAt(index: number): void {
    const [removed] = this.#holders.splice(index, 1);
    if (removed !== undefined && !this.#holders.includes(removed)) removed.withdrawPriority(this);
  }

  #lendToHolders(): void {
    for (const holder of this.#holders) lendToHolder(this, holder, waitingTasks(this.#waiters));
  }

  /**
   * Runs `body` holding a permit: acquires, `yield*`s the generator `body()`
   * returns, and releases however it ends. Evaluates to the body's result.
   *
   * @example
   * const page = yield* sem.withLock(function* () { return yield* until(fetch(url)); });
   */
  withLock<R>(body: () => Operation<R>): Coroutine<R> {
    checkCallback(body, `${this.constructor.name}.withLock: body`);
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

  /** How many tasks wait for a permit (not counting woken ones). */
  get waiterCount(): number {
    let count = 0;
    for (const waiter of this.#waiters) if (!waiter.future.done()) count++;
    return count;
  }

  toString(): string {
    const waiting = this.waiterCount;
    const state = this.locked() ? 'locked' : `unlocked, value:${this.#value}`;
    return `<${this.constructor.name} [${state}${waiting > 0 ? `, waiters:${waiting}` : ''}]>`;
  }

  /**
   * Hands one permit to the first waiter still waiting; false if there is
   * none. The waiter holds it from now on (and borrows the priority of
   * those behind it), though its task runs later.
   */
  #wakeUpNext(): boolean {
    for (const waiter of this.#waiters) {
      if (!waiter.future.done()) {
        this.#value--;
        waiter.future.setResult(true);
        this.#addHolder(waiter.task);
        return true;
      }
    }
    return false;
  }
}

/**
 * A Semaphore that throws if released more often than acquired: `release()`
 * beyond the initial value throws RangeError (asyncio raises ValueError).
 */
export class BoundedSemaphore extends Semaphore {
  readonly #bound: number;

  /**
   * @example
   * const pool = new BoundedSemaphore(2);
   * yield* pool.acquire();
   * pool.release();
   * pool.release(); // RangeError: released too many times
   */
  constructor(value = 1) {
    super(value);
    this.#bound = value;
  }

  /** The initial value, which `value` may never exceed. */
  get bound(): number {
    return this.#bound;
  }

  override release(): void {
    if (this.value >= this.#bound) {
      throw new RangeError(`BoundedSemaphore.release(): released too many times (value is already ${this.#bound})`);
    }
    super.release();
  }
}
