/**
 * Queue, LifoQueue, PriorityQueue: producer/consumer queues for tasks, with
 * asyncio's (3.13) semantics, including `shutdown()`.
 *
 * One algorithm, three orders: the queue logic (waiting, fairness, task
 * accounting, shut-down) lives in Queue; the order items come out in is an
 * ItemStore chosen by `createStore()` — a Deque (FIFO), an array used as a
 * stack (LIFO), or a binary heap (priority).
 *
 * Invariants:
 *  - Getters and putters wait FIFO. `putNowait` wakes the first waiting
 *    getter, `getNowait` the first waiting putter; a waiter is taken out of
 *    its deque as it is woken (a cancelled one when its task runs, or when a
 *    wake-up skips it).
 *  - No lost item or slot: a getter (putter) cancelled after being woken,
 *    before it ran, wakes the next getter (putter) if there is still an
 *    item (a free slot) — the item or slot is handed on, never stranded.
 *  - A woken task re-checks the queue: whoever runs first may take the
 *    item, as in asyncio; the woken getter then waits again.
 *  - `unfinished` counts items put and not yet marked `taskDone()`; `join()`
 *    waits for it to reach zero.
 *  - After `shutdown()`: puts throw QueueShutDown; gets drain what is left,
 *    then throw QueueShutDown; every blocked getter and putter is woken to
 *    find that out. `shutdown(true)` also discards the items left (marking
 *    each done, which may release `join()`).
 */
import { checkCallback, describe } from '../core/assert.js';
import { Deque } from '../core/deque.js';
import { Event } from './event.js';
import type { Coroutine } from './operation.js';
import { LoopBinding, removeWaiter, type Waiter } from './waiters.js';

/**
 * Thrown by `getNowait()` on an empty queue.
 *
 * @example
 * try { queue.getNowait(); } catch (e) { if (!(e instanceof QueueEmpty)) throw e; }
 */
export class QueueEmpty extends Error {
  override name = 'QueueEmpty';
  constructor(message = 'the queue is empty') {
    super(message);
  }
}

/**
 * Thrown by `putNowait()` on a full queue.
 *
 * @example
 * try { queue.putNowait(item); } catch (e) { if (e instanceof QueueFull) dropped++; else throw e; }
 */
export class QueueFull extends Error {
  override name = 'QueueFull';
  constructor(message = 'the queue is full') {
    super(message);
  }
}

/**
 * Thrown by puts on a queue that was shut down, and by gets once it is
 * also empty (asyncio 3.13).
 *
 * @example
 * for (;;) {
 *   let job;
 *   try { job = yield* queue.get(); } catch (e) { if (e instanceof QueueShutDown) break; throw e; }
 *   handle(job);
 * }
 */
export class QueueShutDown extends Error {
  override name = 'QueueShutDown';
  constructor(message = 'the queue is shut down') {
    super(message);
  }
}

export interface QueueOptions {
  /** At most this many items; `0` or less (the default) means unbounded. An integer. */
  maxsize?: number;
}

export interface PriorityQueueOptions<T> extends QueueOptions {
  /**
   * Orders items, smallest first: negative if `a` comes before `b`. Default:
   * `naturalOrder`. Items that compare equal come out in the order they
   * were put.
   */
  compare?: (a: T, b: T) => number;
}

/** Where a queue keeps its items; decides the order they come out in. */
export interface ItemStore<T> {
  readonly length: number;
  push(item: T): void;
  /** Removes and returns the next item; only called when `length > 0`. */
  take(): T;
  clear(): void;
  /** The items, next out first. */
  toArray(): T[];
}

/**
 * A FIFO queue for tasks.
 *
 * @example
 * const queue = new Queue<string>({ maxsize: 10 });
 * loop.createTask(function* () {
 *   for (;;) {
 *     const job = yield* queue.get();
 *     console.log('working on', job);
 *     queue.taskDone();
 *   }
 * });
 * yield* queue.put('a');
 * yield* queue.join(); // 'a' has been processed
 */
export class Queue<T = unknown> {
  readonly #maxsize: number;
  readonly #items: ItemStore<T>;
  /** Tasks waiting for an item, FIFO. */
  readonly #getters = new Deque<Waiter<void>>(4);
  /** Tasks waiting for a free slot, FIFO. */
  readonly #putters = new Deque<Waiter<void>>(4);
  /** Items put and not yet marked done with taskDone(). */
  #unfinished = 0;
  /** Set exactly while #unfinished is 0 (or after shutdown(true)). */
  readonly #finished = new Event();
  #isShutdown = false;
  readonly #binding = new LoopBinding(this);

  /**
   * `maxsize` (default 0) bounds the queue; `<= 0` means unbounded.
   *
   * @example
   * const unbounded = new Queue<number>();
   * const bounded = new Queue<number>({ maxsize: 100 });
   */
  constructor(options: QueueOptions = {}) {
    const kind = new.target.name;
    if (options === null || typeof options !== 'object') {
      const hint = typeof options === 'number' ? ` (did you mean new ${kind}({ maxsize: ${options} })?)` : '';
      throw new TypeError(`${kind}: options must be an object like { maxsize }, got ${describe(options)}${hint}`);
    }
    const maxsize = options.maxsize ?? 0;
    if (typeof maxsize !== 'number') {
      throw new TypeError(`${kind}: maxsize must be an integer, got ${describe(maxsize)}`);
    }
    if (!Number.isInteger(maxsize)) {
      throw new RangeError(`${kind}: maxsize must be an integer (0 or less for unbounded), got ${describe(maxsize)}`);
    }
    this.#maxsize = maxsize;
    this.#items = this.createStore(options);
    this.#finished.set();
  }

  /**
   * The item store that decides the order. Called once, by the Queue
   * constructor, before subclass fields exist: use only `options`.
   */
  protected createStore(_options: QueueOptions): ItemStore<T> {
    return new FifoStore<T>();
  }

  /** The bound given to the constructor (`<= 0`: unbounded). */
  get maxsize(): number {
    return this.#maxsize;
  }

  /** How many items are in the queue. */
  qsize(): number {
    return this.#items.length;
  }

  /** Whether the queue has no items. */
  empty(): boolean {
    return this.#items.length === 0;
  }

  /** Whether the queue holds `maxsize` items; never true when unbounded. */
  full(): boolean {
    return this.#maxsize > 0 && this.#items.length >= this.#maxsize;
  }

  /** Whether `shutdown()` was called. */
  get isShutdown(): boolean {
    return this.#isShutdown;
  }

  /** Items put and not yet marked done with `taskDone()`. */
  get unfinishedTasks(): number {
    return this.#unfinished;
  }

  /**
   * Puts `item`, waiting (FIFO) while the queue is full. Throws
   * QueueShutDown if the queue is (or gets) shut down.
   *
   * @example
   * yield* queue.put(job);
   */
  *put(item: T): Coroutine<void> {
    while (this.full()) {
      if (this.#isShutdown) throw new QueueShutDown(`${this.constructor.name}.put(): the queue is shut down`);
      const putter = this.#binding.newWaiter<void>(`${this.constructor.name}.put()`);
      this.#putters.push(putter);
      try {
        yield* putter.future;
      } catch (error) {
        removeWaiter(this.#putters, putter);
        // Woken for a free slot but leaving: hand the slot on.
        if (!this.full() && !putter.future.cancelled()) this.#wakeUpNext(this.#putters);
        throw error;
      }
    }
    this.putNowait(item);
  }

  /**
   * Puts `item` at once. Throws QueueFull if the queue is full,
   * QueueShutDown if it is shut down.
   *
   * @example
   * queue.putNowait(job);
   */
  putNowait(item: T): void {
    if (this.#isShutdown) throw new QueueShutDown(`${this.constructor.name}.putNowait(): the queue is shut down`);
    if (this.full()) throw new QueueFull(`${this.constructor.name}.putNowait(): the queue is full (maxsize ${this.#maxsize})`);
    this.#items.push(item); // may throw (a PriorityQueue comparator); nothing has changed then
    this.#unfinished++;
    this.#finished.clear();
    this.#wakeUpNext(this.#getters);
  }

  /**
   * Takes the next item, waiting (FIFO) while the queue is empty. Throws
   * QueueShutDown once the queue is shut down and empty.
   *
   * @example
   * const job = yield* queue.get();
   */
  *get(): Coroutine<T> {
    while (this.empty()) {
      if (this.#isShutdown) throw new QueueShutDown(`${this.constructor.name}.get(): the queue is shut down and empty`);
      const getter = this.#binding.newWaiter<void>(`${this.constructor.name}.get()`);
      this.#getters.push(getter);
      try {
        yield* getter.future;
      } catch (error) {
        removeWaiter(this.#getters, getter);
        // Woken for an item but leaving: hand the item on.
        if (!this.empty() && !getter.future.cancelled()) this.#wakeUpNext(this.#getters);
        throw error;
      }
    }
    return this.getNowait();
  }

  /**
   * Takes the next item at once. Throws QueueEmpty if there is none
   * (QueueShutDown if the queue is also shut down).
   *
   * @example
   * const job = queue.getNowait();
   */
  getNowait(): T {
    if (this.#items.length === 0) {
      if (this.#isShutdown) throw new QueueShutDown(`${this.constructor.name}.getNowait(): the queue is shut down and empty`);
      throw new QueueEmpty(`${this.constructor.name}.getNowait(): the queue is empty`);
    }
    const item = this.#items.take();
    this.#wakeUpNext(this.#putters);
    return item;
  }

  /**
   * Marks one item taken with `get()` as processed; `join()` returns once
   * every item put has been marked. Throws RangeError if called more times
   * than items were put (asyncio raises ValueError).
   *
   * @example
   * const job = yield* queue.get();
   * try { yield* handle(job); } finally { queue.taskDone(); }
   */
  taskDone(): void {
    if (this.#unfinished <= 0) {
      throw new RangeError(`${this.constructor.name}.taskDone(): called more times than items were put`);
    }
    this.#unfinished--;
    if (this.#unfinished === 0) this.#finished.set();
  }

  /**
   * Waits until every item put has been marked done with `taskDone()`.
   * Returns at once if none is outstanding.
   *
   * @example
   * for (const job of jobs) queue.putNowait(job);
   * yield* queue.join();
   */
  *join(): Coroutine<void> {
    if (this.#unfinished > 0) yield* this.#finished.wait();
  }

  /**
   * Shuts the queue down: later puts throw QueueShutDown, and gets do too
   * once the queue is empty; blocked putters and getters are woken to find
   * that out. With `immediate`, the items left are discarded at once (each
   * counted as done, so `join()` may return) and gets throw right away.
   *
   * @example
   * queue.shutdown();      // consumers finish what is queued, then stop
   * queue.shutdown(true);  // drop what is queued; everyone stops now
   */
  shutdown(immediate = false): void {
    this.#isShutdown = true;
    if (immediate) {
      const dropped = this.#items.length;
      this.#items.clear();
      this.#unfinished = Math.max(0, this.#unfinished - dropped);
      if (this.#unfinished === 0) this.#finished.set();
    }
    for (const waiters of [this.#getters, this.#putters]) {
      for (let waiter = waiters.shift(); waiter !== undefined; waiter = waiters.shift()) {
        if (!waiter.future.done()) waiter.future.setResult(undefined);
      }
    }
  }

  /** The items, next out first (a snapshot, for debugging). */
  toArray(): T[] {
    return this.#items.toArray();
  }

  toString(): string {
    let text = `<${this.constructor.name} maxsize=${this.#maxsize} qsize=${this.#items.length}`;
    if (this.#getters.length > 0) text += ` getters=${this.#getters.length}`;
    if (this.#putters.length > 0) text += ` putters=${this.#putters.length}`;
    if (this.#unfinished > 0) text += ` unfinished=${this.#unfinished}`;
    if (this.#isShutdown) text += ' shutdown';
    return text + '>';
  }

  /** Wakes the first waiter of `waiters` still waiting, dropping cancelled ones on the way. */
  #wakeUpNext(waiters: Deque<Waiter<void>>): void {
    for (let waiter = waiters.shift(); waiter !== undefined; waiter = waiters.shift()) {
      if (!waiter.future.done()) {
        waiter.future.setResult(undefined);
        return;
      }
    }
  }
}

/**
 * A LIFO queue: `get()` returns the item put most recently.
 *
 * @example
 * const stack = new LifoQueue<number>();
 * stack.putNowait(1);
 * stack.putNowait(2);
 * stack.getNowait(); // 2
 */
export class LifoQueue<T = unknown> extends Queue<T> {
  protected override createStore(_options: QueueOptions): ItemStore<T> {
    return new StackStore<T>();
  }
}

/**
 * A priority queue: `get()` returns the smallest item first, by
 * `options.compare` or, by default, `naturalOrder` — numbers, strings and
 * `[priority, …]` tuples compared like Python tuples. Unlike asyncio's
 * heapq, items that compare equal come out FIFO, so `[priority, payload]`
 * needs no tie-breaking counter.
 *
 * @example
 * const jobs = new PriorityQueue<[number, string]>();
 * jobs.putNowait([2, 'backup']);
 * jobs.putNowait([1, 'alarm']);
 * jobs.putNowait([1, 'page on-call']);
 * jobs.getNowait(); // [1, 'alarm']
 * jobs.getNowait(); // [1, 'page on-call']
 *
 * const byDeadline = new PriorityQueue<Job>({ compare: (a, b) => a.deadlineMs - b.deadlineMs });
 */
export class PriorityQueue<T = unknown> extends Queue<T> {
  constructor(options: PriorityQueueOptions<T> = {}) {
    super(options);
  }

  protected override createStore(options: PriorityQueueOptions<T>): ItemStore<T> {
    const compare = options.compare ?? naturalOrder;
    checkCallback(compare, `${this.constructor.name}: compare`);
    return new HeapStore<T>(compare);
  }
}

/**
 * PriorityQueue's default order. Numbers (and bigints) compare numerically,
 * strings by UTF-16 code units, booleans false before true, and arrays
 * element by element like Python tuples (a prefix first). Inside arrays, the
 * first pair of elements with no natural order (two objects, a number and
 * a string, NaN) ends the comparison as "equal" — so `[priority, payload]`
 * orders by priority and never compares payloads. At the top level such a
 * pair is a TypeError: pass `{ compare }` to order other items.
 *
 * @example
 * naturalOrder([1, 'b'], [1, 'a']); // 1
 * naturalOrder(2, 10);              // -1
 */
export function naturalOrder(a: unknown, b: unknown): number {
  const order = compareNatural(a, b);
  if (order === undefined) {
    throw new TypeError(
      `PriorityQueue: ${describe(a)} and ${describe(b)} have no natural order; ` +
        'put numbers, strings or [priority, …] tuples, or pass { compare }',
    );
  }
  return order;
}

/** -1, 0 or 1, or undefined when the two have no natural order. */
function compareNatural(a: unknown, b: unknown): number | undefined {
  const ta = typeof a;
  const tb = typeof b;
  if ((ta === 'number' || ta === 'bigint') && (tb === 'number' || tb === 'bigint')) {
    if (Number.isNaN(a) || Number.isNaN(b)) return undefined;
    return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  }
  if ((ta === 'string' && tb === 'string') || (ta === 'boolean' && tb === 'boolean')) {
    return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const length = Math.min(a.length, b.length);
    for (let i = 0; i < length; i++) {
      const order = compareNatural(a[i], b[i]);
      if (order === undefined) return 0;
      if (order !== 0) return order;
    }
    return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
  }
  return undefined;
}

/** Queue's store: a ring-buffer deque. */
class FifoStore<T> implements ItemStore<T> {
  readonly #items = new Deque<T>(4);

  get length(): number {
    return this.#items.length;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  take(): T {
    return this.#items.shift() as T;
  }

  clear(): void {
    this.#items.clear();
  }

  toArray(): T[] {
    return this.#items.toArray();
  }
}

/** LifoQueue's store: an array used as a stack. */
class StackStore<T> implements ItemStore<T> {
  #items: T[] = [];

  get length(): number {
    return this.#items.length;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  take(): T {
    return this.#items.pop() as T;
  }

  clear(): void {
    this.#items = [];
  }

  toArray(): T[] {
    return this.#items.slice().reverse();
  }
}

/** A heap entry: the item and its arrival number, which breaks ties FIFO. */
interface HeapEntry<T> {
  readonly item: T;
  readonly seq: number;
}

/**
 * PriorityQueue's store: a binary min-heap in an array, ordered by
 * `(compare, seq)`, so equal items leave in arrival order.
 *
 * Invariant: `#heap[i]` is not after either child (`2i+1`, `2i+2`).
 * Both sifts first find where the moving entry belongs, comparing only,
 * and move entries afterwards: a comparator that throws leaves the heap
 * exactly as it was.
 */
class HeapStore<T> implements ItemStore<T> {
  readonly #compare: (a: T, b: T) => number;
  #heap: HeapEntry<T>[] = [];
  #nextSeq = 0;

  constructor(compare: (a: T, b: T) => number) {
    this.#compare = compare;
  }

  get length(): number {
    return this.#heap.length;
  }

  push(item: T): void {
    const entry: HeapEntry<T> = { item, seq: this.#nextSeq };
    const heap = this.#heap;
    // Find the slot: climb while the entry comes before the parent.
    let slot = heap.length;
    while (slot > 0) {
      const parent = (slot - 1) >> 1;
      if (!this.#before(entry, heap[parent] as HeapEntry<T>)) break;
      slot = parent;
    }
    this.#nextSeq++;
    // Move the parents on the path down one level, then place the entry.
    let hole = heap.length;
    heap.push(entry);
    while (hole > slot) {
      const parent = (hole - 1) >> 1;
      heap[hole] = heap[parent] as HeapEntry<T>;
      hole = parent;
    }
    heap[slot] = entry;
  }

  take(): T {
    const heap = this.#heap;
    const top = heap[0] as HeapEntry<T>;
    const last = heap[heap.length - 1] as HeapEntry<T>;
    const size = heap.length - 1; // the heap without `last`, whose root is a hole
    // Find the slot for `last`: descend along the smaller child while it comes first.
    const path: number[] = [];
    let slot = 0;
    for (;;) {
      const left = 2 * slot + 1;
      if (left >= size) break;
      const right = left + 1;
      const child =
        right < size && this.#before(heap[right] as HeapEntry<T>, heap[left] as HeapEntry<T>) ? right : left;
      if (!this.#before(heap[child] as HeapEntry<T>, last)) break;
      path.push(child);
      slot = child;
    }
    // Move each child on the path up into its parent's place, then place `last`.
    heap.pop();
    if (size > 0) {
      let hole = 0;
      for (const child of path) {
        heap[hole] = heap[child] as HeapEntry<T>;
        hole = child;
      }
      heap[hole] = last;
    }
    return top.item;
  }

  clear(): void {
    this.#heap = [];
  }

  toArray(): T[] {
    // Sorting a copy uses the same order as taking one by one.
    return this.#heap
      .slice()
      .sort((a, b) => (this.#before(a, b) ? -1 : 1))
      .map((entry) => entry.item);
  }

  #before(a: HeapEntry<T>, b: HeapEntry<T>): boolean {
    const order = this.#compare(a.item, b.item);
    return order < 0 || (order === 0 && a.seq < b.seq);
  }
}
