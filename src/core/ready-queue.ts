import { DeadlineQueue } from './deadline-queue.js';
import { Deque } from './deque.js';
import { LANE_COUNT } from './priority.js';

/**
 * Anything the ready queue can hold: it needs the lane, and the absolute
 * deadline of items scheduled with one (absent or Infinity: none).
 */
export interface Laned {
  readonly lane: number;
  readonly deadlineAt?: number;
}

/**
 * The ready queue: one FIFO deque per priority lane (see priority.ts).
 *
 * This file knows nothing about running callbacks; the loop takes items out
 * in policy order: `shiftFrom(lane)` and `firstNonEmptyLane()`. Within a
 * lane, items with a deadline come first, earliest deadline first (a
 * DeadlineQueue per lane, made on first use), then the rest FIFO.
 *
 * Invariants: `length` equals the sum of the lanes' lengths; an item with a
 * deadline becomes runnable only at `admitDeadlines()` (see deadline-queue.ts),
 * which the loop calls before it counts a lane's batch.
 */
export class ReadyQueue<T extends Laned> {
  readonly #lanes: Deque<T>[] = [];
  readonly #deadlines: (DeadlineQueue<T> | undefined)[] = new Array<DeadlineQueue<T> | undefined>(LANE_COUNT).fill(undefined);
  /** Items with a deadline, in all lanes (0 keeps every deadline path off). */
  #deadlineItems = 0;
  #length = 0;

  constructor() {
    for (let lane = 0; lane < LANE_COUNT; lane++) this.#lanes.push(new Deque<T>(lane === 2 ? 1024 : 16));
  }

  /** Items in all lanes. */
  get length(): number {
    return this.#length;
  }

  /** Appends `item` to the back of its lane (an item with a deadline: to the lane's deadline queue). */
  push(item: T): void {
    const deadlineAt = item.deadlineAt;
    if (deadlineAt !== undefined && deadlineAt < Infinity) this.#pushWithDeadline(item);
    else (this.#lanes[item.lane] as Deque<T>).push(item);
    this.#length++;
  }

  #pushWithDeadline(item: T): void {
    const lane = item.lane;
    let queue = this.#deadlines[lane];
    if (queue === undefined) this.#deadlines[lane] = queue = new DeadlineQueue<T>();
    queue.push(item);
    this.#deadlineItems++;
  }

  /** Items waiting in one lane. */
  laneLength(lane: number): number {
    const length = (this.#lanes[lane] as Deque<T>).length;
    return this.#deadlineItems === 0 ? length : length + (this.#deadlines[lane]?.length ?? 0);
  }

  /** True when some lane above `lane` (a smaller index) has an item. */
  hasWorkAbove(lane: number): boolean {
    for (let higher = 0; higher < lane; higher++) if (this.laneLength(higher) > 0) return true;
    return false;
  }

  /** Items with a deadline, in all lanes. */
  get deadlineItems(): number {
    return this.#deadlineItems;
  }

  /** Admitted deadline items of `lane`: `shiftFrom(lane)` returns these first. */
  admittedDeadlines(lane: number): number {
    return this.#deadlines[lane]?.admitted ?? 0;
  }

  /**
   * Makes the deadline items pushed so far into lanes `0 .. belowLane-1`
   * runnable (call before counting those lanes' batches).
   */
  admitDeadlines(belowLane: number = LANE_COUNT): void {
    if (this.#deadlineItems === 0) return;
    for (let lane = 0; lane < belowLane; lane++) this.#deadlines[lane]?.admit();
  }

  /**
   * Removes and returns the next item of `lane` — the admitted item with
   * the earliest deadline, else the front of the FIFO — or undefined.
   */
  shiftFrom(lane: number): T | undefined {
    if (this.#deadlineItems !== 0) {
      const early = this.#deadlines[lane]?.shift();
      if (early !== undefined) {
        this.#deadlineItems--;
        this.#length--;
        return early;
      }
    }
    const item = (this.#lanes[lane] as Deque<T>).shift();
    if (item !== undefined) this.#length--;
    return item;
  }

  /**
   * Removes `item` from its lane's FIFO and says whether it was there
   * (O(n); an item with a deadline is not looked for). Cold paths only,
   * never during a batch: the batch counted its lanes when it began.
   */
  remove(item: T): boolean {
    const removed = (this.#lanes[item.lane] as Deque<T>).remove(item);
    if (removed) this.#length--;
    return removed;
  }

  /** The highest-priority lane with an item, or -1 when all are empty. */
  firstNonEmptyLane(): number {
    if (this.#length === 0) return -1;
    for (let lane = 0; lane < LANE_COUNT; lane++) if (this.laneLength(lane) > 0) return lane;
    return -1;
  }

  /** Every item, highest lane first, in run order within a lane (for introspection). */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let lane = 0; lane < LANE_COUNT; lane++) {
      const deadlines = this.#deadlines[lane];
      if (deadlines !== undefined) yield* deadlines;
      yield* this.#lanes[lane] as Deque<T>;
    }
  }

  /** Empties every lane and returns what was there, in policy order. */
  drain(): T[] {
    const all = Array.from(this);
    for (const lane of this.#lanes) lane.clear();
    for (const queue of this.#deadlines) queue?.clear();
    this.#deadlineItems = 0;
    this.#length = 0;
    return all;
  }
}
