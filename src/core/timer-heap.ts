/**
 * The loop's timers: a binary min-heap ordered by `(whenMs, seq)`, whose
 * slots hold single timers or runs of timers with the same delay.
 *
 * Runs
 * ----
 * Most programs use a handful of delays over and over: every request gets
 * the same 30 s timeout, every poll sleeps 100 ms. Timers with the same
 * delay, scheduled on a clock that never goes back, fall due in the order
 * they were scheduled. So a new timer need not sift through a heap of every
 * pending timer: it is appended to the run of timers with its delay (an
 * array, oldest first), and the heap holds the run once, keyed by its
 * first entry. Popping that entry keys the run by the next one. With a
 * million timers over a thousand distinct delays, the heap has a thousand
 * slots that fit in the cache, instead of a million that do not (Node's
 * timer lists, one per duration, make the same bet).
 *
 * `push` takes the delay as a `runKey`. `#openRuns` maps each key to the
 * run that new timers of that key join. A timer joins it only if it does
 * not come before the run's last entry; one that would (a clock set back,
 * a key shared by timers of different delays) starts a fresh run, which
 * becomes the key's open run. So the key is a hint for speed, never a
 * condition of correctness: every run is sorted, a run is keyed by its
 * earliest entry, and the heap gives the earliest slot. Keys that are not
 * 32-bit integers (NaN: no delay, as `callAt` has; fractions, as random
 * jitter makes; delays of 2^31 ms, ~25 days, or more) and keys past
 * MAX_RUN_KEYS make single-timer slots: a run for each would cost an
 * object and a map entry for nothing.
 *
 * A Discussion About Cancellation
 * -------------------------------
 * You cannot cheaply remove an arbitrary entry from an array-based heap or
 * the middle of a run, and most timers that are cancelled (timeouts that
 * did not fire) are cancelled long before they are due. So cancellation is
 * lazy: the entry is marked (`isCancelled`), the heap is told
 * (`noteCancelled`), and the dead entry is dropped when it reaches the top.
 * If dead entries come to dominate — more than half of more than
 * `COMPACT_MIN_SIZE` entries — every run is filtered and the heap rebuilt
 * without them in O(n), so memory stays proportional to live timers
 * (asyncio does the same with `_MIN_CANCELLED_TIMER_HANDLES_FRACTION`).
 * A run's popped front is cut off once it is as long as the rest (and at
 * least RUN_TRIM_MIN), so popped slots add at most as many again, plus
 * that constant per open run.
 *
 * Ties on `whenMs` are broken by `seq` (libuv's `start_id`, React's `id`):
 * equal deadlines fire in scheduling order, and runs are reproducible.
 *
 * Layout: the slots' keys live in two Float64Arrays beside the array of
 * slots (`#whenMs[i]`, `#seq[i]` are the keys of slot i's first entry),
 * so a sift compares numbers in a few cache lines and touches the entries
 * only to move them. Runs are arrays rather than links through the
 * entries: the entries need no field of the heap's, compaction filters
 * arrays instead of chasing pointers through memory, and a new timer is
 * referenced from its run's array rather than from the timer before it,
 * wherever that lies (a linked version, measured, was no faster).
 *
 * Invariants:
 *  - heap order: for every i > 0, key(i) is not before key((i - 1) >> 1),
 *    where key(i) = (#whenMs[i], #seq[i]) compared lexicographically.
 *  - #whenMs[i], #seq[i] are the whenMs and seq of slot i's first entry:
 *    the timer itself, or a run's `entries[first]`.
 *  - a run in the heap has an entry at `first` and every index after it,
 *    each one not before the one before it; slots before `first` are
 *    undefined (popped entries are not kept alive).
 *  - `#size` counts the entries of all slots; `#cancelled` those of them
 *    whose `isCancelled` is true.
 *  - every entry in the heap has `scheduled === true`; entries leave with
 *    `scheduled === false` (the handle uses this to know whether to report
 *    its cancellation).
 *  - every run in `#openRuns` is in the heap, under its own key.
 */
export interface TimerEntry {
  readonly whenMs: number;
  readonly seq: number;
  readonly isCancelled: boolean;
  scheduled: boolean;
}

/** Below this many entries the heap is never compacted: dropping at the top is enough. */
export const COMPACT_MIN_SIZE = 100;

/** At most this many keys have an open run; past it, a new key's timers are single slots. */
export const MAX_RUN_KEYS = 4096;

/**
 * Popped slots at the front of a run are cut off once there are this many
 * and they are half of it. Small, so 4,096 open runs of a few timers each
 * keep little dead room (at 1,024 that was ~3 KB per live timer); the
 * copy is amortized, each pending entry copied at most once per halving.
 */
const RUN_TRIM_MIN = 16;

/** Timers pushed with the same key, in the order they fall due. */
class Run<T extends TimerEntry> {
  /** Pending entries from `first` on; the slots before it were popped. */
  entries: (T | undefined)[];
  first = 0;

  constructor(
    readonly key: number,
    entry: T,
  ) {
    this.entries = [entry];
  }
}

type Slot<T extends TimerEntry> = T | Run<T>;

/** Whether entry a falls due before entry b: by deadline, then by scheduling order. */
function comesBefore(a: TimerEntry, b: TimerEntry): boolean {
  return a.whenMs < b.whenMs || (a.whenMs === b.whenMs && a.seq < b.seq);
}

export class TimerHeap<T extends TimerEntry> {
  #slots: Slot<T>[] = [];
  #whenMs = new Float64Array(64);
  #seq = new Float64Array(64);
  /** The run each key's new timers join. */
  readonly #openRuns = new Map<number, Run<T>>();
  #size = 0;
  #cancelled = 0;

  /** Entries in the heap, live and cancelled. */
  get size(): number {
    return this.#size;
  }

  /** Entries not cancelled. */
  get liveCount(): number {
    return this.#size - this.#cancelled;
  }

  /** Cancelled entries still in the heap (not yet dropped). */
  get cancelledCount(): number {
    return this.#cancelled;
  }

  /** Slots in the heap: single timers plus runs (for introspection and tests). */
  get slotCount(): number {
    return this.#slots.length;
  }

  /**
   * Adds an entry. `runKey` is the delay it was scheduled with, if the
   * caller knows one: 32-bit integer keys let it join the run of its key
   * (see the top of this file); NaN or a fraction makes it a slot of its own.
   */
  push(item: T, runKey = NaN): void {
    item.scheduled = true;
    this.#size++;
    if (item.isCancelled) this.#cancelled++;
    if ((runKey | 0) !== runKey) return this.#insert(item, item);
    const open = this.#openRuns.get(runKey);
    if (open !== undefined) {
      const entries = open.entries;
      if (!comesBefore(item, entries[entries.length - 1] as T)) {
        entries.push(item);
        return;
      }
    } else if (this.#openRuns.size >= MAX_RUN_KEYS) {
      return this.#insert(item, item);
    }
    const run = new Run(runKey, item);
    this.#openRuns.set(runKey, run);
    this.#insert(run, item);
  }

  /** The earliest entry, live or cancelled, without removing it. */
  peek(): T | undefined {
    // Length first: reading past the end of an array is a slow path in V8.
    if (this.#slots.length === 0) return undefined;
    const top = this.#slots[0] as Slot<T>;
    return top instanceof Run ? (top.entries[top.first] as T) : top;
  }

  /** Removes and returns the earliest entry (live or cancelled). */
  pop(): T | undefined {
    const slots = this.#slots;
    if (slots.length === 0) return undefined;
    const top = slots[0] as Slot<T>;
    let entry: T;
    if (top instanceof Run) {
      const entries = top.entries;
      entry = entries[top.first] as T;
      entries[top.first++] = undefined;
      if (top.first < entries.length) {
        if (top.first >= RUN_TRIM_MIN && top.first * 2 >= entries.length) this.#trim(top);
        const next = top.entries[top.first] as T;
        this.#siftDown(0, top, next.whenMs, next.seq);
      } else {
        this.#removeTop();
        if (this.#openRuns.get(top.key) === top) this.#openRuns.delete(top.key);
      }
    } else {
      entry = top;
      this.#removeTop();
    }
    entry.scheduled = false;
    this.#size--;
    if (entry.isCancelled) this.#cancelled--;
    return entry;
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
    while (this.#slots.length > 0 && (this.peek() as T).isCancelled) this.pop();
  }

  /** Deadline of the earliest live entry, or `undefined` when there is none. */
  nextDeadline(): number | undefined {
    this.dropCancelledTop();
    return this.#slots.length > 0 ? this.#whenMs[0] : undefined;
  }

  /**
   * Pops every live entry due at `nowMs` (whenMs <= nowMs), in heap order,
   * passing each to `sink`. Cancelled entries met on the way are dropped.
   * Afterwards the dead fraction may have grown (live entries left), so
   * compaction is reconsidered.
   */
  popExpired(nowMs: number, sink: (item: T) => void): void {
    // Re-read the heap every time: `sink` may cancel entries, and a
    // compaction replaces the arrays.
    let popped = false;
    while (this.#slots.length > 0) {
      if ((this.#whenMs[0] as number) > nowMs && !(this.peek() as T).isCancelled) break;
      const entry = this.pop() as T;
      popped = true;
      if (!entry.isCancelled) sink(entry);
    }
    if (popped) this.#compactIfMostlyDead();
  }

  /** Removes every entry (each leaves with `scheduled === false`). */
  clear(): T[] {
    const all = this.#entries();
    for (const item of all) item.scheduled = false;
    this.#slots = [];
    this.#openRuns.clear();
    this.#size = 0;
    this.#cancelled = 0;
    return all;
  }

  /** Live entries in no particular order (for introspection and tests). */
  liveEntries(): T[] {
    return this.#entries().filter((item) => !item.isCancelled);
  }

  /** Every entry, slot by slot. */
  #entries(): T[] {
    const all: T[] = [];
    for (const slot of this.#slots) {
      if (!(slot instanceof Run)) all.push(slot);
      else for (let i = slot.first; i < slot.entries.length; i++) all.push(slot.entries[i] as T);
    }
    return all;
  }

  /** Checks the heap invariants; O(n), for tests and debug mode. */
  validate(): void {
    const slots = this.#slots;
    let size = 0;
    let cancelled = 0;
    const count = (entry: T | undefined, where: string): void => {
      if (entry === undefined) throw new Error(`timer heap: ${where} is missing`);
      size++;
      if (entry.isCancelled) cancelled++;
      if (!entry.scheduled) throw new Error(`timer heap: ${where} is not marked scheduled`);
    };
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i] as Slot<T>;
      if (slot instanceof Run) {
        const entries = slot.entries;
        if (slot.first >= entries.length) throw new Error(`timer heap: the run in slot ${i} is empty`);
        for (let j = 0; j < slot.first; j++) if (entries[j] !== undefined) throw new Error(`timer heap: the run in slot ${i} keeps a popped entry`);
        for (let j = slot.first; j < entries.length; j++) {
          count(entries[j], `entry ${j} of the run in slot ${i}`);
          if (j > slot.first && comesBefore(entries[j] as T, entries[j - 1] as T)) throw new Error(`timer heap: the run in slot ${i} is out of order`);
        }
      } else {
        count(slot, `entry ${i}`);
      }
      const first = slot instanceof Run ? (slot.entries[slot.first] as T) : slot;
      if (this.#whenMs[i] !== first.whenMs || this.#seq[i] !== first.seq) throw new Error(`timer heap: keys of slot ${i} are stale`);
      if (i > 0 && this.#before(i, (i - 1) >> 1)) throw new Error(`timer heap: order broken at ${i}`);
    }
    if (size !== this.#size) throw new Error(`timer heap: counted ${this.#size} entries, found ${size}`);
    if (cancelled !== this.#cancelled) {
      throw new Error(`timer heap: counted ${this.#cancelled} cancelled entries, found ${cancelled}`);
    }
    const inHeap = new Set<Slot<T>>(slots);
    for (const [key, run] of this.#openRuns) {
      if (run.key !== key || !inHeap.has(run)) throw new Error(`timer heap: the open run of key ${key} is not in the heap under that key`);
    }
  }

  /** Adds a slot whose first entry is `first`. */
  #insert(slot: Slot<T>, first: T): void {
    const index = this.#slots.length;
    if (index === this.#whenMs.length) this.#grow();
    this.#slots.push(slot);
    this.#siftUp(index, slot, first.whenMs, first.seq);
  }

  /** Removes slot 0, putting the last slot in its place. */
  #removeTop(): void {
    const last = this.#slots.pop() as Slot<T>;
    const length = this.#slots.length;
    if (length > 0) this.#siftDown(0, last, this.#whenMs[length] as number, this.#seq[length] as number);
  }

  /** Cuts the popped front off a run, so a long-lived key's run does not grow without end. */
  #trim(run: Run<T>): void {
    run.entries = run.entries.slice(run.first);
    run.first = 0;
  }

  #compactIfMostlyDead(): void {
    const size = this.#size;
    if (size > COMPACT_MIN_SIZE && this.#cancelled * 2 > size) this.#compact();
  }

  /** Drops every cancelled entry: runs are filtered, emptied runs and dead single slots go, the heap is rebuilt. */
  #compact(): void {
    const slots: Slot<T>[] = [];
    for (const slot of this.#slots) {
      if (!(slot instanceof Run)) {
        if (!slot.isCancelled) slots.push(slot);
        else slot.scheduled = false;
        continue;
      }
      const live: T[] = [];
      const entries = slot.entries;
      for (let i = slot.first; i < entries.length; i++) {
        const entry = entries[i] as T;
        if (!entry.isCancelled) live.push(entry);
        else entry.scheduled = false;
      }
      if (live.length > 0) {
        slot.entries = live;
        slot.first = 0;
        slots.push(slot);
      } else if (this.#openRuns.get(slot.key) === slot) {
        this.#openRuns.delete(slot.key);
      }
    }
    this.#slots = slots;
    this.#size -= this.#cancelled;
    this.#cancelled = 0;
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i] as Slot<T>;
      const first = slot instanceof Run ? (slot.entries[0] as T) : slot;
      this.#whenMs[i] = first.whenMs;
      this.#seq[i] = first.seq;
    }
    // Floyd's heapify: sift down every internal node, last first. O(slots).
    for (let i = (slots.length >> 1) - 1; i >= 0; i--) {
      this.#siftDown(i, slots[i] as Slot<T>, this.#whenMs[i] as number, this.#seq[i] as number);
    }
  }

  /** Whether the slot at index a comes before the one at index b. */
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

  /** Moves the hole at `index` up until (whenMs, seq) fits, then places `slot` there. */
  #siftUp(index: number, slot: Slot<T>, whenMs: number, seq: number): void {
    const slots = this.#slots;
    const whens = this.#whenMs;
    const seqs = this.#seq;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const pw = whens[parent] as number;
      if (pw < whenMs || (pw === whenMs && (seqs[parent] as number) < seq)) break;
      slots[index] = slots[parent] as Slot<T>;
      whens[index] = pw;
      seqs[index] = seqs[parent] as number;
      index = parent;
    }
    slots[index] = slot;
    whens[index] = whenMs;
    seqs[index] = seq;
  }

  /** Moves the hole at `index` down until (whenMs, seq) fits, then places `slot` there. */
  #siftDown(index: number, slot: Slot<T>, whenMs: number, seq: number): void {
    const slots = this.#slots;
    const whens = this.#whenMs;
    const seqs = this.#seq;
    const length = slots.length;
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
      slots[index] = slots[child] as Slot<T>;
      whens[index] = cw;
      seqs[index] = cs;
      index = child;
    }
    slots[index] = slot;
    whens[index] = whenMs;
    seqs[index] = seq;
  }
}
