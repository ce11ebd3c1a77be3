/**
 * The deadline part of one ready-queue lane: earliest deadline first.
 *
 * A handle scheduled with `{deadlineMs}` carries an absolute `deadlineAt`
 * on the loop's clock. Inside its lane it runs before every handle without
 * a deadline and before handles with later deadlines; equal deadlines run in
 * the order they became ready.
 *
 * The asyncio rule "work made ready during a batch runs in a later tick"
 * holds here too: new items wait in `#incoming` (in arrival order) until the
 * loop calls `admit()` at the start of the next batch; only admitted items
 * are in the heap that `shift()` takes from. Without that split, a deadline
 * callback that reschedules itself would jump ahead of the rest of its lane
 * forever.
 *
 * Invariants: `#heap` is a binary min-heap by (deadlineAt, seq); `seq`
 * increases in arrival order; `length` = heap size + incoming size.
 */

/** Anything with an absolute deadline on the loop's clock (Infinity: none). */
export interface HasDeadline {
  readonly deadlineAt?: number;
}

interface Entry<T> {
  readonly item: T;
  readonly deadlineAt: number;
  readonly seq: number;
}

function before<T>(a: Entry<T>, b: Entry<T>): boolean {
  return a.deadlineAt < b.deadlineAt || (a.deadlineAt === b.deadlineAt && a.seq < b.seq);
}

export class DeadlineQueue<T extends HasDeadline> {
  readonly #heap: Entry<T>[] = [];
  #incoming: T[] = [];
  #seq = 0;

  /** Admitted and incoming items. */
  get length(): number {
    return this.#heap.length + this.#incoming.length;
  }

  /** Items `shift()` can take now (admitted ones). */
  get admitted(): number {
    return this.#heap.length;
  }

  /** Queues `item`; it becomes runnable at the next `admit()`. */
  push(item: T): void {
    this.#incoming.push(item);
  }

  /** Makes everything pushed so far runnable, in deadline order. */
  admit(): void {
    const incoming = this.#incoming;
    if (incoming.length === 0) return;
    this.#incoming = [];
    for (const item of incoming) this.#insert({ item, deadlineAt: item.deadlineAt ?? Infinity, seq: this.#seq++ });
  }

  /** Removes and returns the admitted item with the earliest deadline. */
  shift(): T | undefined {
    const heap = this.#heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop() as Entry<T>;
    if (heap.length > 0) {
      heap[0] = last;
      this.#siftDown(0);
    }
    return top.item;
  }

  /** Admitted items in run order, then incoming ones in arrival order. */
  *[Symbol.iterator](): IterableIterator<T> {
    const sorted = [...this.#heap].sort((a, b) => (before(a, b) ? -1 : 1));
    for (const entry of sorted) yield entry.item;
    yield* this.#incoming;
  }

  clear(): void {
    this.#heap.length = 0;
    this.#incoming = [];
  }

  #insert(entry: Entry<T>): void {
    const heap = this.#heap;
    let index = heap.length;
    heap.push(entry);
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const above = heap[parent] as Entry<T>;
      if (!before(entry, above)) break;
      heap[index] = above;
      index = parent;
    }
    heap[index] = entry;
  }

  #siftDown(start: number): void {
    const heap = this.#heap;
    const entry = heap[start] as Entry<T>;
    const size = heap.length;
    let index = start;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= size) break;
      const right = child + 1;
      if (right < size && before(heap[right] as Entry<T>, heap[child] as Entry<T>)) child = right;
      const below = heap[child] as Entry<T>;
      if (!before(below, entry)) break;
      heap[index] = below;
      index = child;
    }
    heap[index] = entry;
  }
}
