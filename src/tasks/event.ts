/**
 * Event: a flag tasks can wait for, with asyncio's semantics.
 *
 * `set()` wakes every task waiting at that moment, in the order they began
 * to wait; `clear()` afterwards does not un-wake them (each still sees
 * `wait()` return `true`). Waiting on a set event does not suspend.
 *
 * Invariant: a waiter is in `#waiters` exactly while its future has no
 * result — `set()` takes every waiter out as it wakes it, and a cancelled
 * waiter takes itself out when its task runs.
 */
import { Deque } from '../core/deque.js';
import type { Coroutine } from './operation.js';
import { LoopBinding, removeWaiter, type Waiter } from './waiters.js';

/**
 * A flag tasks can wait for (asyncio.Event).
 *
 * @example
 * const started = new Event();
 * loop.createTask(function* () { yield* started.wait(); console.log('server is up'); });
 * started.set();
 */
export class Event {
  #value = false;
  readonly #waiters = new Deque<Waiter<true>>(4);
  readonly #binding = new LoopBinding(this);

  /**
   * A new event, not set.
   *
   * @example
   * const ready = new Event();
   * loop.createTask(function* () { yield* ready.wait(); console.log('go'); });
   * ready.set();
   */
  constructor() {}

  /** Whether the flag is set. */
  isSet(): boolean {
    return this.#value;
  }

  /**
   * Sets the flag and wakes every waiting task (FIFO). Tasks that wait
   * afterwards do not suspend. Setting a set event does nothing.
   *
   * @example
   * ready.set();
   */
  set(): void {
    if (this.#value) return;
    this.#value = true;
    for (let waiter = this.#waiters.shift(); waiter !== undefined; waiter = this.#waiters.shift()) {
      if (!waiter.future.done()) waiter.future.setResult(true);
    }
  }

  /**
   * Clears the flag: later `wait()`s suspend until the next `set()`.
   *
   * @example
   * ready.clear();
   */
  clear(): void {
    this.#value = false;
  }

  /**
   * Waits until the flag is set; evaluates to `true`. Returns at once if it
   * is set already.
   *
   * @example
   * yield* ready.wait();
   */
  *wait(): Coroutine<true> {
    if (this.#value) return true;
    const waiter = this.#binding.newWaiter<true>('Event.wait()');
    this.#waiters.push(waiter);
    try {
      return yield* waiter.future;
    } finally {
      // set() already took a woken waiter out; only a cancelled one remains.
      if (waiter.future.cancelled()) removeWaiter(this.#waiters, waiter);
    }
  }

  /** How many tasks wait for the event. */
  get waiterCount(): number {
    let count = 0;
    for (const waiter of this.#waiters) if (!waiter.future.done()) count++;
    return count;
  }

  toString(): string {
    const waiting = this.waiterCount;
    return `<Event [${this.#value ? 'set' : 'unset'}${waiting > 0 ? `, waiters:${waiting}` : ''}]>`;
  }
}
