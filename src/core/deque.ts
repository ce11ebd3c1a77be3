/**
 * A double-ended queue on a ring buffer: the ready queue's lanes are made of
 * these (asyncio uses `collections.deque` for `_ready`).
 *
 * Invariants:
 *  - `#buffer.length` is a power of two, so `index & #mask` wraps for free.
 *  - live items are at `#head, #head+1, …, #head+#size-1` (mod capacity);
 *    every other slot is `undefined`, so the deque never keeps a dead item
 *    reachable (the GC must be able to collect a handle once it has run).
 *  - push/shift/pop/unshift are O(1); growth doubles and is amortized O(1).
 */
export class Deque<T> {
  #buffer: (T | undefined)[];
  #mask: number;
  #head = 0;
  #size = 0;

  constructor(initialCapacity = 16) {
    let capacity = 4;
    while (capacity < initialCapacity) capacity <<= 1;
    this.#buffer = new Array<T | undefined>(capacity).fill(undefined);
    this.#mask = capacity - 1;
  }

  get length(): number {
    return this.#size;
  }

  /** Appends at the back. */
  push(item: T): void {
    if (this.#size === this.#buffer.length) this.#grow();
    this.#buffer[(this.#head + this.#size) & this.#mask] = item;
    this.#size++;
  }

  /** Prepends at the front. */
  unshift(item: T): void {
    if (this.#size === this.#buffer.length) this.#grow();
    this.#head = (this.#head - 1) & this.#mask;
    this.#buffer[this.#head] = item;
    this.#size++;
  }

  /** Removes and returns the front item, or `undefined` when empty. */
  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#buffer[this.#head];
    this.#buffer[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#size--;
    return item;
  }

  /** Removes and returns the back item, or `undefined` when empty. */
  pop(): T | undefined {
    if (this.#size === 0) return undefined;
    const index = (this.#head + this.#size - 1) & this.#mask;
    const item = this.#buffer[index];
    this.#buffer[index] = undefined;
    this.#size--;
    return item;
  }

  /** The front item without removing it. */
  peekFront(): T | undefined {
    return this.#size === 0 ? undefined : this.#buffer[this.#head];
  }

  /** The back item without removing it. */
  peekBack(): T | undefined {
    return this.#size === 0 ? undefined : this.#buffer[(this.#head + this.#size - 1) & this.#mask];
  }

  /** The item at position `index` from the front (0-based), or `undefined`. */
  at(index: number): T | undefined {
    if (index < 0 || index >= this.#size) return undefined;
    return this.#buffer[(this.#head + index) & this.#mask];
  }

  /**
   * Removes the first item equal to `item` (O(n)); returns whether one was
   * found. Order of the others is kept. Used by queue waiters that are
   * cancelled, never on a hot path.
   */
  remove(item: T): boolean {
    for (let i = 0; i < this.#size; i++) {
      if (this.#buffer[(this.#head + i) & this.#mask] === item) {
        for (let j = i; j < this.#size - 1; j++) {
          this.#buffer[(this.#head + j) & this.#mask] = this.#buffer[(this.#head + j + 1) & this.#mask];
        }
        this.#buffer[(this.#head + this.#size - 1) & this.#mask] = undefined;
        this.#size--;
        return true;
      }
    }
    return false;
  }

  clear(): void {
    this.#buffer.fill(undefined);
    this.#head = 0;
    this.#size = 0;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.#size; i++) yield this.#buffer[(this.#head + i) & this.#mask] as T;
  }

  toArray(): T[] {
    return Array.from(this);
  }

  #grow(): void {
    const old = this.#buffer;
    const capacity = old.length * 2;
    const next = new Array<T | undefined>(capacity).fill(undefined);
    for (let i = 0; i < this.#size; i++) next[i] = old[(this.#head + i) & this.#mask];
    this.#buffer = next;
    this.#mask = capacity - 1;
    this.#head = 0;
  }
}
