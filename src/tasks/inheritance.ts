/**
 * Priority inheritance: a task that blocks a higher-priority task runs at
 * that higher priority until it stops blocking it.
 *
 * Without it, a `critical` task waiting for a Lock held by a `low` task
 * waits for the `low` task, which waits behind every `normal` callback: the
 * critical task effectively runs at `low` (the Mars Pathfinder bug). With
 * it, the holder borrows the waiter's lane until it releases the lock.
 *
 * The mechanism is two verbs on Task — `lendPriority(lender, lane)` and
 * `withdrawPriority(lender)` — plus a `PriorityLoan`: whatever a blocked
 * task waits on that should pass its priority on. The task tells its loan
 * when its own effective lane changes (`refreshLoan`), which makes
 * inheritance transitive along a chain of blocked tasks, and ends the loan
 * when it next runs (`endLoan`).
 */
import type { Task } from './task.js';

export interface PriorityLoan {
  /** Recompute and re-lend: the blocked task's lane (or the set of blocked tasks) changed. */
  refreshLoan(): void;
  /** The blocked task runs again: it no longer blocks on this. */
  endLoan(): void;
}

/** A task awaiting another task lends it its lane (`yield* otherTask`). */
export class AwaitLoan implements PriorityLoan {
  readonly #waiting: Task<unknown>;
  readonly #awaited: Task<unknown>;

  constructor(waiting: Task<unknown>, awaited: Task<unknown>) {
    this.#waiting = waiting;
    this.#awaited = awaited;
  }

  refreshLoan(): void {
    this.#awaited.lendPriority(this.#waiting, this.#waiting.lane);
  }

  endLoan(): void {
    this.#awaited.withdrawPriority(this.#waiting);
  }
}

/**
 * Lends `holder` the best lane among `waiting` tasks on behalf of `lender`
 * (a Lock, a Semaphore), or withdraws the loan when none is waiting.
 */
export function lendToHolder(lender: object, holder: Task<unknown> | null, waiting: Iterable<Task<unknown>>): void {
  if (holder === null) return;
  let best = Infinity;
  for (const task of waiting) if (!task.done() && task.lane < best) best = task.lane;
  if (best === Infinity) holder.withdrawPriority(lender);
  else holder.lendPriority(lender, best);
}
