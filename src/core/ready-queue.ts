import { Deque } from './deque.js';
import { LANE_COUNT } from './priority.js';

/** Anything the ready queue can hold: it only needs to know the lane. */
export interface Laned {
  readonly lane: number;
}

/**
 * The ready queue: one FIFO deque per priority lane (see priority.ts).
 *
 * This file knows nothing about running callbacks; the loop takes items out
 * in policy order. The policy here is strict priority by lane, FIFO within a
 * lane: `shiftFrom(lane)` and `firstNonEmptyLane()`.
 *
 * Invariant: `length` equals the sum of the lanes' lengths.
 */
export class ReadyQueue<T extends Laned> {
  readonly #lanes: Deque<T>[] = [];
  #length = 0;

  constructor() {
    for (let lane = 0; lane < LANE_COUNT; lane++) this.#lanes.push(new Deque<T>(lane === 2 ? 1024 : 16));
  }

  /** Items in all lanes. */
  get length(): number {
    return this.#length;
  }

  /** Appends `item` to the back of its lane. */
  push(item: T): void {
    (this.#lanes[item.lane] as Deque<T>).push(item);
    this.#length++;
  }

  /** Items waiting in one lane. */
  laneLength(lane: number): number {
    return (this.#lanes[lane] as Deque<T>).length;
  }

  /** Removes and returns the front item of `lane`, or undefined. */
  shiftFrom(lane: number): T | undefined {
    const item = (this.#lanes[lane] as Deque<T>).shift();
    if (item !== undefined) this.#length--;
    return item;
  }

  /** The highest-priority lane with an item, or -1 when all are empty. */
  firstNonEmptyLane(): number {
    if (this.#length === 0) return -1;
    for (let lane = 0; lane < LANE_COUNT; lane++) if ((this.#lanes[lane] as Deque<T>).length > 0) return lane;
    return -1;
  }

  /** Every item, highest lane first, FIFO within a lane (for introspection). */
  *[Symbol.iterator](): IterableIterator<T> {
    for (const lane of this.#lanes) yield* lane;
  }

  /** Empties every lane and returns what was there, in policy order. */
  drain(): T[] {
    const all = Array.from(this);
    for (const lane of this.#lanes) lane.clear();
    this.#length = 0;
    return all;
  }
}
