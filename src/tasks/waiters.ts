/**
 * What the synchronization primitives and queues share: the waiter record,
 * the loop a primitive is bound to, and their argument checks.
 *
 * Every primitive (Lock, Event, Condition, Semaphore, Barrier, Queue) parks a
 * task the same way asyncio does: it creates a Future, appends it to a FIFO
 * Deque of waiters, and the task `yield*`s that future. Waking a task is
 * settling its future; the task then resumes through the ready queue at its
 * own priority. So the order in which a primitive settles futures *is* the
 * order in which tasks get the resource, and cancellation needs no special
 * path: `task.cancel()` cancels the future the task waits on, and the
 * primitive's generator sees CancelledError at its `yield*`.
 *
 * A waiter records the task as well as the future, so that whoever holds a
 * primitive can see who waits for it (introspection now; priority
 * inheritance later).
 *
 * Loop binding (asyncio's `_LoopBoundMixin`): a primitive may be created
 * anywhere, even outside a loop, and is bound to the loop of the first task
 * that has to *wait* on it. Waiting on it from a task of another loop throws
 * RuntimeError, because that loop could never be woken by the first one's
 * futures. Paths that never wait (an uncontended acquire, `set()`,
 * `putNowait()`) need no loop at all.
 */
import { describe } from '../core/assert.js';
import type { BaseEventLoop } from '../core/base-event-loop.js';
import type { Deque } from '../core/deque.js';
import { RuntimeError } from '../core/errors.js';
import { currentTask } from './current.js';
import { Future } from './future.js';
import type { Task } from './task.js';

/** A task parked on a primitive, and the future that wakes it. */
export interface Waiter<T> {
  readonly future: Future<T>;
  readonly task: Task<unknown>;
}

/** The loop a primitive waits on, fixed by the first task that waits. */
export class LoopBinding {
  #loop: BaseEventLoop | null = null;
  /** The primitive, named in error messages. */
  readonly #owner: object;

  constructor(owner: object) {
    this.#owner = owner;
  }

  /** The bound loop, or null while nobody has waited yet. */
  get loop(): BaseEventLoop | null {
    return this.#loop;
  }

  /**
   * A new waiter for the running task. Throws RuntimeError outside a task
   * (only a task can be parked) or when the task runs on another loop.
   * `what` names the operation, e.g. `'Lock.acquire()'`.
   */
  newWaiter<T>(what: string): Waiter<T> {
    const task = currentTask();
    if (task === null) {
      throw new RuntimeError(`${what} must run inside a task: yield* it from a task body`);
    }
    const loop = task.loop;
    if (this.#loop === null) this.#loop = loop;
    else if (this.#loop !== loop) {
      throw new RuntimeError(`${what}: ${String(this.#owner)} is bound to a different event loop`);
    }
    const future = new Future<T>(loop);
    future.label = what; // names the wait in task trees ("Lock.acquire", "Queue.get", ...)
    return { future, task };
  }
}

/**
 * Removes `waiter` from `waiters` if it is there; returns whether it was.
 * Waiters leave mostly from the front (FIFO wake-ups), so that case is O(1);
 * any other position costs a scan (cancellation only).
 */
export function removeWaiter<T>(waiters: Deque<Waiter<T>>, waiter: Waiter<T>): boolean {
  if (waiters.peekFront() === waiter) {
    waiters.shift();
    return true;
  }
  return waiters.remove(waiter);
}

/** Whether some waiter in `waiters` is still waiting (its future not cancelled). */
export function hasLiveWaiter<T>(waiters: Deque<Waiter<T>>): boolean {
  for (const waiter of waiters) if (!waiter.future.cancelled()) return true;
  return false;
}

/**
 * Checks a count argument: TypeError unless it is a number, RangeError
 * unless it is an integer of at least `min`.
 */
export function checkCount(value: unknown, what: string, min: number): asserts value is number {
  if (typeof value !== 'number') {
    throw new TypeError(`${what} must be an integer, got ${describe(value)}`);
  }
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`${what} must be an integer >= ${min}, got ${describe(value)}`);
  }
}

/** The tasks of the waiters still waiting (future not done), in line order. */
export function* waitingTasks<T>(waiters: Deque<Waiter<T>>): Generator<Task<unknown>, void, undefined> {
  for (const waiter of waiters) if (!waiter.future.done()) yield waiter.task;
}
