/**
 * Barrier: `parties` tasks wait for each other, then all go on — asyncio's
 * Barrier (3.11), a port of threading.Barrier.
 *
 * A barrier cycles through states:
 *  - filling: tasks arrive and wait; the one that makes `parties` trips it;
 *  - draining: the waiting tasks are woken and leave; newcomers wait until
 *    the last one has left, so one cycle's tasks never mix with the next's;
 *  - resetting (after `reset()` with tasks inside): those tasks leave with
 *    BrokenBarrierError, newcomers wait until they have, then it fills again;
 *  - broken (after `abort()`): every waiting and arriving task gets
 *    BrokenBarrierError until `reset()`.
 *
 * asyncio builds this on a Condition; here the state changes are plain
 * synchronous code (a task runs alone between its `yield*`s), so a single
 * "something changed" broadcast replaces the condition, and `reset()` and
 * `abort()` are ordinary methods rather than coroutines. A task cancelled
 * while filling simply leaves (the barrier is not broken), as in asyncio.
 * One visible difference: in asyncio a cancelled party's Condition.wait()
 * passes a spurious notify on, which can reorder the others' wake-ups or
 * let a blocked newcomer in early; here parties resume first come, first
 * served, and a newcomer blocked while draining enters when draining ends
 * (test/tasks/asyncio-compat-sync.test.ts pins both).
 */
import { Deque } from '../core/deque.js';
import { RuntimeError } from '../core/errors.js';
import type { Coroutine } from './operation.js';
import { checkCount, LoopBinding, removeWaiter, type Waiter } from './waiters.js';

/**
 * Thrown by `Barrier.wait()` when the barrier is aborted, or reset while
 * the task waits in it. A RuntimeError, as in asyncio.
 *
 * @example
 * try { yield* barrier.wait(); } catch (e) { if (e instanceof BrokenBarrierError) giveUp(); else throw e; }
 */
export class BrokenBarrierError extends RuntimeError {
  override name = 'BrokenBarrierError';
}

/** The barrier's states (see the module comment). */
export type BarrierState = 'filling' | 'draining' | 'resetting' | 'broken';

/**
 * A rendezvous for a fixed number of tasks (asyncio.Barrier).
 *
 * @example
 * const barrier = new Barrier(2);
 * loop.createTask(function* () { yield* barrier.wait(); console.log('a passes'); });
 * loop.createTask(function* () { yield* barrier.wait(); console.log('b passes'); });
 */
export class Barrier {
  readonly #parties: number;
  #state: BarrierState = 'filling';
  /** Tasks inside `wait()` past the entry check (arrived, not yet left). */
  #count = 0;
  /** Tasks waiting for the state to change; all are woken on every change. */
  readonly #waiters = new Deque<Waiter<void>>(4);
  readonly #binding = new LoopBinding(this);

  /**
   * A barrier for `parties` tasks (an integer >= 1).
   *
   * @example
   * const barrier = new Barrier(3);
   * for (const name of ['a', 'b', 'c']) {
   *   loop.createTask(function* () {
   *     yield* prepare(name);
   *     const index = yield* barrier.wait(); // all three prepared
   *     if (index === 0) console.log('everyone is ready');
   *   });
   * }
   */
  constructor(parties: number) {
    checkCount(parties, 'Barrier: parties', 1);
    this.#parties = parties;
  }

  /** How many tasks must wait to trip the barrier. */
  get parties(): number {
    return this.#parties;
  }

  /** How many tasks wait for the barrier to fill (0 while draining or resetting). */
  get nWaiting(): number {
    return this.#state === 'filling' ? this.#count : 0;
  }

  /** Whether the barrier is broken (aborted). */
  get broken(): boolean {
    return this.#state === 'broken';
  }

  /** The current state, for introspection. */
  get state(): BarrierState {
    return this.#state;
  }

  /**
   * Waits until `parties` tasks are waiting, then lets them all go;
   * evaluates to this task's arrival index: how many tasks were already
   * waiting when it arrived, `0` … `parties - 1` (the one that trips the
   * barrier gets `parties - 1`). As in asyncio, a task cancelled while
   * waiting gives its place up, so an index can then repeat in that cycle.
   * Throws BrokenBarrierError if the barrier is broken, or is aborted or
   * reset before this task has left it.
   *
   * @example
   * const index = yield* barrier.wait();
   */
  *wait(): Coroutine<number> {
    // Let the previous cycle drain (or reset) completely first.
    while (this.#state === 'draining' || this.#state === 'resetting') yield* this.#stateChange();
    if (this.#state === 'broken') throw new BrokenBarrierError('Barrier.wait(): the barrier is broken (aborted)');
    const index = this.#count++;
    try {
      if (index + 1 === this.#parties) {
        this.#state = 'draining';
        this.#broadcast();
      } else {
        while (this.#state === 'filling') yield* this.#stateChange();
        // (Widened: TypeScript does not see the state change across the yield*.)
        const state = this.#state as BarrierState;
        if (state === 'broken' || state === 'resetting') {
          throw new BrokenBarrierError(`Barrier.wait(): the barrier was ${state === 'broken' ? 'aborted' : 'reset'}`);
        }
      }
      return index;
    } finally {
      this.#count--;
      // The last one out ends draining/resetting and lets the blocked in.
      if (this.#count === 0) {
        const state = this.#state as BarrierState;
        if (state === 'draining' || state === 'resetting') this.#state = 'filling';
        this.#broadcast();
      }
    }
  }

  /**
   * Returns the barrier to filling. Tasks waiting in it get
   * BrokenBarrierError; arrivals wait until they have left. Also repairs a
   * broken barrier.
   *
   * @example
   * barrier.reset();
   */
  reset(): void {
    this.#state = this.#count > 0 ? 'resetting' : 'filling';
    this.#broadcast();
  }

  /**
   * Breaks the barrier: every waiting task and every later `wait()` gets
   * BrokenBarrierError, until `reset()`.
   *
   * @example
   * barrier.abort();
   */
  abort(): void {
    this.#state = 'broken';
    this.#broadcast();
  }

  toString(): string {
    const extra = this.broken ? '' : `, waiters:${this.nWaiting}/${this.#parties}`;
    return `<Barrier [${this.#state}${extra}]>`;
  }

  /** Waits for the next broadcast. */
  *#stateChange(): Coroutine<void> {
    const waiter = this.#binding.newWaiter<void>('Barrier.wait()');
    this.#waiters.push(waiter);
    try {
      yield* waiter.future;
    } finally {
      // A broadcast takes woken waiters out; only a cancelled one remains.
      if (waiter.future.cancelled()) removeWaiter(this.#waiters, waiter);
    }
  }

  /** Wakes every task waiting for a state change, FIFO. */
  #broadcast(): void {
    for (let waiter = this.#waiters.shift(); waiter !== undefined; waiter = this.#waiters.shift()) {
      if (!waiter.future.done()) waiter.future.setResult(undefined);
    }
  }
}
