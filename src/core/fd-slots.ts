/**
 * fd → value, as an array indexed by fd. fds are small dense integers
 * (the kernel hands out the lowest free number), so a lookup is an index,
 * where a Map would hash: the loop does one per ready fd per tick.
 *
 * An fd at or above DENSE_FD_LIMIT goes into a Map instead: the Selector
 * contract is public, and a selector of someone else's might accept any
 * number, which must not make the array that long.
 *
 * Invariant: the array only grows (doubling, to cover the largest dense
 * fd set so far) and every slot holds a value or `undefined` (filled, not
 * holey, so V8 keeps fast elements); `size` counts the fds with a value,
 * in the array and in the Map.
 */
export const DENSE_FD_LIMIT = 1 << 17;

export class FdSlots<T> {
  #slots: (T | undefined)[] = new Array<T | undefined>(64).fill(undefined);
  /** Values of fds >= DENSE_FD_LIMIT; null until there is one. */
  #sparse: Map<number, T> | null = null;
  #size = 0;

  /** Number of fds with a value. */
  get size(): number {
    return this.#size;
  }

  /** The value for `fd`, or undefined. */
  get(fd: number): T | undefined {
    if (fd < this.#slots.length) return this.#slots[fd];
    return this.#sparse === null ? undefined : this.#sparse.get(fd);
  }

  has(fd: number): boolean {
    return this.get(fd) !== undefined;
  }

  /** Sets `fd`'s value (`fd`: a non-negative integer, checked by the caller). */
  set(fd: number, value: T): void {
    if (fd >= DENSE_FD_LIMIT) {
      this.#sparse ??= new Map();
      if (!this.#sparse.has(fd)) this.#size++;
      this.#sparse.set(fd, value);
      return;
    }
    if (fd >= this.#slots.length) this.#grow(fd);
    if (this.#slots[fd] === undefined) this.#size++;
    this.#slots[fd] = value;
  }

  /** Forgets `fd`; returns its value, if it had one. */
  delete(fd: number): T | undefined {
    const old = this.get(fd);
    if (old === undefined) return undefined;
    if (fd < this.#slots.length) this.#slots[fd] = undefined;
    else this.#sparse?.delete(fd);
    this.#size--;
    return old;
  }

  /** Every value: the dense fds' in fd order, then the others'. */
  *values(): IterableIterator<T> {
    for (const value of this.#slots) if (value !== undefined) yield value;
    if (this.#sparse !== null) yield* this.#sparse.values();
  }

  clear(): void {
    this.#slots.fill(undefined);
    this.#sparse = null;
    this.#size = 0;
  }

  #grow(fd: number): void {
    let length = this.#slots.length * 2;
    while (length <= fd) length *= 2;
    const grown = new Array<T | undefined>(length).fill(undefined);
    for (let i = 0; i < this.#slots.length; i++) grown[i] = this.#slots[i];
    this.#slots = grown;
  }
}
