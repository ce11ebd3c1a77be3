/**
 * Condition: wait for a state change while holding a Lock, with asyncio's
 * (3.13) semantics.
 *
 * `wait()` releases the lock, parks the task until `notify()`, then takes
 * the lock back before returning. Invariants:
 *  - The lock is held again whenever `wait()` ends, however it ends: a
 *    cancellation while waiting for the notification, or while taking the
 *    lock back, is remembered, the lock is still re-acquired, and only then
 *    is CancelledError thrown.
 *  - No lost notification: a task that ends its `wait()` by an exception
 *    (usually cancellation) passes one notification on to the next waiter.
 *    Another task may then see a spurious wake-up, which the condition
 *    variable protocol allows — always re-check the state (or use
 *    `waitFor(predicate)`).
 *  - `notify(n)` wakes the first `n` waiters that are still waiting, FIFO;
 *    they then queue for the lock, and resume one at a time.
 */
import { checkCallback, describe } from '../core/assert.js';
import { Deque } from '../core/deque.js';
import { CancelledError, RuntimeError } from '../core/errors.js';
import { Lock } from './lock.js';
import type { Coroutine, Operation } from './operation.js';
import { LoopBinding, removeWaiter, type Waiter } from './waiters.js';

/**
 * A condition variable for tasks (asyncio.Condition): wait, under a lock,
 * until another task says the state changed.
 *
 * @example
 * const cond = new Condition();
 * const items: string[] = [];
 * function* consume() {
 *   return yield* cond.withLock(function* () {
 *     yield* cond.waitFor(() => items.length > 0);
 *     return items.shift()!;
 *   });
 * }
 * function* produce(item: string) {
 *   yield* cond.withLock(function* () {
 *     items.push(item);
 *     cond.notify();
 *   });
 * }
 */
export class Condition {
  readonly #lock: Lock;
  /** Tasks waiting for a notification, FIFO; each leaves when its task runs again. */
  readonly #waiters = new Deque<Waiter<boolean>>(4);
  readonly #binding = new LoopBinding(this);

  /**
   * A condition over `lock`, or over a new Lock of its own.
   *
   * @example
   * const cond = new Condition();
   * yield* cond.withLock(function* () {
   *   yield* cond.waitFor(() => items.length > 0);
   *   return items.shift();
   * });
   */
  constructor(lock?: Lock) {
    if (lock !== undefined && !(lock instanceof Lock)) {
      throw new TypeError(`Condition: lock must be a Lock, got ${describe(lock)}`);
    }
    this.#lock = lock ?? new Lock();
  }

  /** The underlying lock. */
  get lock(): Lock {
    return this.#lock;
  }

  /** Whether the underlying lock is held. */
  locked(): boolean {
    return this.#lock.locked();
  }

  /**
   * Acquires the underlying lock (see `Lock.acquire`).
   *
   * @example
   * yield* cond.acquire();
   */
  acquire(): Coroutine<true> {
    return this.#lock.acquire();
  }

  /**
   * Releases the underlying lock (see `Lock.release`).
   *
   * @example
   * cond.release();
   */
  release(): void {
    this.#lock.release();
  }

  /**
   * Runs `body` holding the underlying lock (see `Lock.withLock`).
   *
   * @example
   * yield* cond.withLock(function* () { ready = true; cond.notifyAll(); });
   */
  withLock<R>(body: () => Operation<R>): Coroutine<R> {
    return this.#lock.withLock(body);
  }

  /**
   * Releases the lock, waits until notified, re-acquires the lock;
   * evaluates to `true`. Throws RuntimeError if the lock is not held. The
   * lock is held again when this ends, even by cancellation.
   *
   * @example
   * yield* cond.acquire();
   * try {
   *   while (!ready) yield* cond.wait();
   * } finally {
   *   cond.release();
   * }
   */
  *wait(): Coroutine<true> {
    if (!this.locked()) throw new RuntimeError('Condition.wait(): the lock is not acquired');
    // Before releasing: a wrong loop must leave the lock as it was.
    const waiter = this.#binding.newWaiter<boolean>('Condition.wait()');
    this.#lock.release();
    try {
      try {
        this.#waiters.push(waiter);
        try {
          yield* waiter.future;
          return true;
        } finally {
          removeWaiter(this.#waiters, waiter);
        }
      } finally {
        yield* this.#reacquire();
      }
    } catch (error) {
      // We may have been notified before the error arrived: pass it on.
      this.#notify(1);
      throw error;
    }
  }

  /**
   * Waits until `predicate()` is truthy, calling `wait()` between checks;
   * evaluates to the predicate's last value. The lock must be held unless
   * the predicate is already true.
   *
   * @example
   * const item = yield* cond.waitFor(() => queue.shift());
   */
  waitFor<R>(predicate: () => R): Coroutine<R> {
    checkCallback(predicate, 'Condition.waitFor: predicate');
    return this.#waitFor(predicate);
  }

  *#waitFor<R>(predicate: () => R): Coroutine<R> {
    let result = predicate();
    while (!result) {
      yield* this.wait();
      result = predicate();
    }
    return result;
  }

  /**
   * Wakes up to `n` (default 1) waiting tasks, first come first served.
   * Throws RuntimeError if the lock is not held. The woken tasks resume
   * only once they get the lock, so release it after notifying.
   *
   * @example
   * ready = true;
   * cond.notify();
   */
  notify(n = 1): void {
    if (typeof n !== 'number' || Number.isNaN(n) || n < 0 || (!Number.isInteger(n) && n !== Infinity)) {
      throw new RangeError(`Condition.notify: n must be an integer >= 0, got ${describe(n)}`);
    }
    if (!this.locked()) throw new RuntimeError('Condition.notify(): the lock is not acquired');
    this.#notify(n);
  }

  /**
   * Wakes every waiting task. Throws RuntimeError if the lock is not held.
   *
   * @example
   * cond.notifyAll();
   */
  notifyAll(): void {
    if (!this.locked()) throw new RuntimeError('Condition.notifyAll(): the lock is not acquired');
    this.#notify(this.#waiters.length);
  }

  /** How many tasks wait for a notification. */
  get waiterCount(): number {
    let count = 0;
    for (const waiter of this.#waiters) if (!waiter.future.done()) count++;
    return count;
  }

  toString(): string {
    const waiting = this.waiterCount;
    return `<Condition [${this.locked() ? 'locked' : 'unlocked'}${waiting > 0 ? `, waiters:${waiting}` : ''}]>`;
  }

  #notify(n: number): void {
    let woken = 0;
    for (const waiter of this.#waiters) {
      if (woken >= n) break;
      if (!waiter.future.done()) {
        woken++;
        waiter.future.setResult(false);
      }
    }
  }

  /** Takes the lock back, however often cancellation interrupts; then rethrows the last cancellation. */
  *#reacquire(): Coroutine<void> {
    let cancelled: CancelledError | null = null;
    for (;;) {
      try {
        yield* this.#lock.acquire();
        break;
      } catch (error) {
        if (!(error instanceof CancelledError)) throw error;
        cancelled = error;
      }
    }
    if (cancelled !== null) throw cancelled;
  }
}
