/**
 * The loop's timers: a binary min-heap ordered by `(whenMs, seq)`.
 *
 * A Discussion About Cancellation
 * -------------------------------
 * You cannot cheaply remove an arbitrary node from an array-based heap, and
 * most timers that are cancelled (timeouts that did not fire) are cancelled
 * long before they are due. So cancellation is lazy: the entry is marked
 * (`isCancelled`), the heap is told (`noteCancelled`), and the dead entry is
 * dropped when it reaches the top. If dead entries come to dominate — more
 * than half of a heap bigger than `COMPACT_MIN_SIZE` — the heap is rebuilt
 * without them in O(n), so memory stays proportional to live timers
 * (asyncio does the same with `_MIN_CANCELLED_TIMER_HANDLES_FRACTION`).
 *
 * Ties on `whenMs` are broken by `seq` (libuv's `start_id`, React's `id`):
 * equal deadlines fire in scheduling order, and runs are reproducible.
 *
 * Invariants:
 *  - heap order: for every i > 0, !before(items[i], items[(i - 1) >> 1]).
 *  - `#cancelled` counts entries in `#items` whose `isCancelled` is true.
 *  - every entry in `#items` has `scheduled === true`; entries leave with
 *    `scheduled === false` (the handle uses this to know whether to report
 *    its cancellation).
 */
export interface TimerEntry {
  readonly whenMs: number;
  readonly seq: number;
  readonly isCancelled: boolean;
  scheduled: boolean;
}

/** Below this size a heap is never compacted: dropping at the top is enough. */
export const COMPACT_MIN_SIZE = 100;

function before(a: TimerEntry, b: TimerEntry): boolean {
  return a.whenMs < b.whenMs || (a.whenMs === b.whenMs && a.seq < b.seq);
}

export class TimerHeap<T extends TimerEntry> {
  #items: T[] = [];
  #cancelled = 0;

  /** Entries in the heap, live and cancelled. */
  get size(): number {
    return this.#items.length;
  }

  /** Entries not cancelled. */
  get liveCount(): number {
    return this.#items.length - this.#cancelled;
  }

  /** Cancelled entries still in the heap (not yet dropped). */
  get cancelledCount(): number {
    return this.#cancelled;
  }

  push(item: T): void {
    item.scheduled = true;
    const items = this.#items;
    items.push(item);
    this.#siftUp(items.length - 1);
    if (item.isCancelled) this.#cancelled++;
  }

  /** The earliest entry, live or cancelled, without removing it. */
  peek(): T | undefined {
    return this.#items[0];
  }

  /** Removes and returns the earliest entry (live or cancelled). */
  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    if (top === undefined) return undefined;
    const last = items.pop() as T;
    if (items.length > 0) {
      items[0] = last;
      this.#siftDown(0);
    }
    top.scheduled = false;
    if (top.isCancelled) this.#cancelled--;
    return top;
  }

  /**
   * Records that an entry in the heap was cancelled; compacts when dead
   * entries dominate. Must be called exactly once per cancelled entry.
   */
  noteCancelled(): void {
    this.#cancelled++;
    const size = this.#items.length;
    if (size > COMPACT_MIN_SIZE && this.#cancelled * 2 > size) this.#compact();
  }

  /** Drops cancelled entries from the top, so `peek()` is live or undefined. */
  dropCancelledTop(): void {
    const items = this.#items;
    while (items.length > 0 && (items[0] as T).isCancelled) this.pop();
  }

  /** Deadline of the earliest live entry, or `undefined` when there is none. */
  nextDeadline(): number | undefined {
    this.dropCancelledTop();
    return this.#items[0]?.whenMs;
  }

  /**
   * Pops every live entry due at `nowMs` (whenMs <= nowMs), in heap order,
   * passing each to `sink`. Cancelled entries met on the way are dropped.
   */
  popExpired(nowMs: number, sink: (item: T) => void): void {
    // Re-read #items every time: `sink` may cancel entries, and a compaction
    // replaces the array.
    while (this.#items.length > 0) {
      const top = this.#items[0] as T;
      if (!top.isCancelled && top.whenMs > nowMs) return;
      this.pop();
      if (!top.isCancelled) sink(top);
    }
  }

  /** Removes every entry (each leaves with `scheduled === false`). */
  clear(): T[] {
    const items = this.#items;
    for (const item of items) item.scheduled = false;
    this.#items = [];
    this.#cancelled = 0;
    return items;
  }

  /** Live entries in no particular order (for introspection and tests). */
  liveEntries(): T[] {
    return this.#items.filter((item) => !item.isCancelled);
  }

  /** Checks the heap invariants; O(n), for tests and debug mode. */
  validate(): void {
    const items = this.#items;
    let cancelled = 0;
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as T;
      if (item.isCancelled) cancelled++;
      if (!item.scheduled) throw new Error(`timer heap: entry ${i} is not marked scheduled`);
      if (i > 0 && before(item, items[(i - 1) >> 1] as T)) throw new Error(`timer heap: order broken at ${i}`);
    }
    if (cancelled !== this.#cancelled) {
      throw new Error(`timer heap: counted ${this.#cancelled} cancelled entries, found ${cancelled}`);
    }
  }

  #compact(): void {
    const live: T[] = [];
    for (const item of this.#items) {
      if (item.isCancelled) item.scheduled = false;
      else live.push(item);
    }
    this.#items = live;
    this.#cancelled = 0;
    // Floyd's heapify: sift down every internal node, last first. O(n).
    for (let i = (live.length >> 1) - 1; i >= 0; i--) this.#siftDown(i);
  }

  #siftUp(index: number): void {
    const items = this.#items;
    const item = items[index] as T;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = items[parentIndex] as T;
      if (!before(item, parent)) break;
      items[index] = parent;
      index = parentIndex;
    }
    items[index] = item;
  }

  #siftDown(index: number): void {
    const items = this.#items;
    const length = items.length;
    const item = items[index] as T;
    const half = length >> 1;
    while (index < half) {
      let childIndex = 2 * index + 1;
      let child = items[childIndex] as T;
      const rightIndex = childIndex + 1;
      if (rightIndex < length) {
        const right = items[rightIndex] as T;
        if (before(right, child)) {
          childIndex = rightIndex;
          child = right;
        }
      }
      if (!before(child, item)) break;
      items[index] = child;
      index = childIndex;
    }
    items[index] = item;
  }
}
