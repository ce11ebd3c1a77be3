/**
 * A tracer: an instrument that records what the loop does as Chrome Trace
 * Event JSON, which Perfetto (ui.perfetto.dev) and chrome://tracing open.
 *
 * What the trace shows:
 *  - one track per task (named `name #id`), its steps as slices;
 *  - the loop's own track: its phases as slices — I/O waits, timer phases
 *    that moved at least one timer to the ready queue (`timers`, with the
 *    count; a tick whose timers were not due leaves no slice, to keep
 *    traces small), ready batches — and the callbacks that are not task
 *    steps nested inside the batches;
 *  - flow arrows from whatever woke a task (the step or callback that
 *    settled its future, a timer, a spawn, a cancel) to the step it caused
 *    — the wake edges of `taskScheduled`;
 *  - counters: ready-queue length per lane and pending timers, sampled at
 *    the start of every batch (a sample equal to the previous one is not
 *    repeated: a counter track holds its value until the next sample);
 *  - instants: cancellation requests (who, why) and task exits.
 *
 * Cost decides the shape of this code. Recording runs on every callback
 * and step, where the loop itself spends 50-100 ns; one clock reading
 * costs 30-40 ns, and writing 16 bytes to fresh memory about 10 ns (a
 * page fault per 4 KiB, in a VM). So recording writes as little as it
 * can, and `toJSON()` works out the rest:
 *  - the clock is read once per callback. That reading opens the
 *    callback's slice and ends the slice before it: a slice ends at the
 *    next *boundary* record, so no duration is stored;
 *  - a step that fills its callback rewrites that callback's record in
 *    place (it becomes the task's step); its step number is not stored but
 *    counted per task at export;
 *  - a wake-up is one number: the woken task, the cause and whether the
 *    waker is the running step. It starts at the latest reading before it
 *    (which lies inside the slice doing the waking) and ends at the woken
 *    task's next step, so it needs no time, no key and no row at its end;
 *  - so a callback costs 16 bytes and a step 24 (with its wake-up). Records
 *    are numbers in preallocated Float64Array chunks (kind and operands
 *    packed into the first): no object per event, nothing for the garbage
 *    collector to trace, no copying as the trace grows. Strings are
 *    interned (a callback's name is an index, given when its slice closes,
 *    with the last function remembered); times are raw clock readings,
 *    turned into µs since the start at export;
 *  - memory is bounded: at most `maxEvents` records are kept; later ones
 *    are counted and dropped. Tasks are held only while they run (a
 *    finished task's track keeps just its name);
 *  - the recorder's state is in TypeScript-`private` fields, not `#fields`:
 *    in Node 20, a hook whose receiver's `#fields` it reads falls into a
 *    slow mode (about 2x the whole callback) once a few recorders have come
 *    and gone in a process — measured in the instrument-overhead bench,
 *    which makes a recorder per run; plain fields do not.
 */
import { MonotonicClock, type Clock } from '../core/clock.js';
import type { BaseEventLoop } from '../core/base-event-loop.js';
import type { Handle } from '../core/handle.js';
import { PRIORITIES } from '../core/priority.js';
import type { CancelOrigin, Task, WakeCause } from '../tasks/task.js';
import type { Instrument } from './instrument.js';

/** One event of the Trace Event format (the fields eventide writes). */
export interface TraceEvent {
  /** Phase: X complete slice, i instant, s/f flow start/end, C counter, M metadata. */
  ph: 'X' | 'i' | 's' | 'f' | 'C' | 'M';
  name: string;
  pid: number;
  tid: number;
  /** Microseconds from the start of recording. */
  ts?: number;
  /** Duration in µs (X only). */
  dur?: number;
  cat?: string;
  id?: number;
  /** Flow end binding: 'e' = the enclosing slice. */
  bp?: 'e';
  /** Instant scope: 't' = thread. */
  s?: 't';
  args?: Record<string, unknown>;
}

/** The JSON object a trace file holds (`JSON.stringify(recorder)`). */
export interface TraceFile {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ms';
  otherData: { recorder: 'eventide'; droppedEvents: number };
}

export interface TraceOptions {
  /** Where timestamps come from; default the real monotonic clock (even on a virtual loop). */
  clock?: Clock;
  /** Keep at most this many events (later ones are counted as dropped). Default 1e6. */
  maxEvents?: number;
}

const PID = 1;
/** The loop's own track. Task tracks use the task's id, which is never 0. */
const LOOP_TID = 0;

// A record is a head, head = kind + KINDS * operand, and for most kinds a
// clock reading (ms) after it. Kinds 0 and below are never written: a zero
// head marks the unused end of a chunk.
//
// Boundary records: their reading ends the open slice.
/** [head, ts]; operand: name index, given when the slice ends (until then 0). */
const CALLBACK = 1;
/** [head, ts]; operand: task id. Usually a CALLBACK record rewritten in place. */
const STEP = 2;
/** [head, ts]: a reading that only ends the open slice. */
const READING = 3;
/** [head, ts, timeout ms]: an I/O wait begins; ends the ready batch too. */
const IO_BEGIN = 4;
/** [head, ts]; operand: ready fds. The wait ends; a ready batch begins. */
const IO_END = 5;
/** [head, ts]: the run ends (or recording stops); ends the ready batch too. */
const RUN_END = 6;
/** [head, ts]; operand: cause index. A wake-up from outside any ready batch: a mark on the loop track. */
const MARK = 7;
/** [head, ts]: a timer phase that moves timers begins (written only once one is due); the ready batch waits for its end. */
const TIMERS_BEGIN = 11;
/** [head, ts]; operand: timers moved. The timer phase ends; the ready batch begins. */
const TIMERS_END = 12;
// Records inside the open slice.
/** [head, ts]; operand: task id * 4 + outcome index. */
const EXIT = 8;
/** [head, ts]; operand: cancel index * 4 + 2 (ends the open slice) + 1 (made by the open step). */
const CANCEL = 9;
/** [head, one value per lane, pending timers], at the latest reading. */
const COUNTERS = 10;
/** FLOW + cause index: [head]; operand: woken task id * 2 + 1 if the open step woke it. At the latest reading. */
const FLOW = 16;
const KINDS = 32;

const CAUSES: readonly WakeCause['kind'][] = ['spawn', 'future', 'timer', 'io', 'promise', 'cancel', 'error'];
const OUTCOMES = ['finished', 'failed', 'cancelled'] as const;
/** Per counter sample: one value per lane, then pending timers. */
const COUNTER_WIDTH = PRIORITIES.length + 1;
/** The longest record, in numbers. */
const MAX_RECORD = 1 + COUNTER_WIDTH;

/** Numbers per chunk, at most: chunks are never copied, so recording cost stays flat as the trace grows. */
const CHUNK_NUMBERS = 1 << 16;
/** The first chunk's size; each next one doubles, up to CHUNK_NUMBERS (small traces stay small). */
const FIRST_CHUNK_NUMBERS = 1 << 10;
const NO_NUMBERS = new Float64Array(0);

/** The index of a wake cause in CAUSES (a switch: no search, no allocation). */
function causeIndex(kind: WakeCause['kind']): number {
  switch (kind) {
    case 'spawn':
      return 0;
    case 'future':
      return 1;
    case 'timer':
      return 2;
    case 'io':
      return 3;
    case 'promise':
      return 4;
    case 'cancel':
      return 5;
    default:
      return 6;
  }
}

/** What a cancellation instant shows, taken when it is requested (no task is kept). */
interface CancelRecord {
  readonly name: string;
  readonly args: { reason: string | null; byTask: number | null; via: number | null };
}

/** What the export needs of the recorder besides its records. */
interface ExportTables {
  readonly originMs: number;
  readonly names: readonly string[];
  readonly cancels: readonly CancelRecord[];
  /** Steps each task had run when recording began (absent: 0). */
  readonly stepsBefore: ReadonlyMap<number, number>;
}

/**
 * Records a loop's activity as a Chrome Trace Event / Perfetto trace. It
 * attaches itself on construction; `stop()` detaches it.
 *
 * @example
 * const recorder = new TraceRecorder(loop);
 * await loop.runUntilComplete(main);
 * recorder.stop();
 * fs.writeFileSync('trace.json', JSON.stringify(recorder));
 */
export class TraceRecorder implements Instrument {
  private readonly loop: BaseEventLoop;
  private readonly clock: Clock;
  private readonly maxEvents: number;
  private readonly originMs: number;
  /** Every chunk, the one being written (numbers) last. */
  private readonly chunks: Float64Array[] = [];
  private numbers: Float64Array = NO_NUMBERS;
  /** Where the next record goes in numbers. */
  private pos = 0;
  private recorded = 0;
  private dropped = 0;
  /** A track per task seen: the task while it runs, then its track name. */
  private readonly tracks = new Map<number, Task<unknown> | string>();
  private readonly stepsBefore = new Map<number, number>();
  private readonly names: string[] = [];
  private readonly nameIndex = new Map<string, number>();
  private readonly cancels: CancelRecord[] = [];
  /** The function last named, and its name's index (see #nameOpenCallback). */
  private lastFn: unknown = null;
  private lastNameId = -1;
  /** The last counter sample written (a sample equal to it is skipped); NaN at first. */
  private readonly lastCounts = new Float64Array(COUNTER_WIDTH).fill(NaN);
  /**
   * The slice now open, ended by the next boundary record: none (0), a
   * CALLBACK on the loop track, or a task's STEP. While a STEP is open, its
   * task is the one running in the current callback.
   */
  private openKind = 0;
  private openTid = 0;
  /** The open slice's record (its chunk and index; -1 if it was dropped), rewritten when it changes. */
  private openChunk: Float64Array = NO_NUMBERS;
  private openAt = -1;
  /** The open callback's handle, named only if it stays a callback slice. */
  private openHandle: Handle | null = null;
  /** A ready batch is open on the loop track. */
  private inBatch = false;
  /**
   * While a timer phase runs (beforeTimers to afterTimers): its start, and
   * whether TIMERS_BEGIN is written. It is written only once a timer turns
   * out to be due — at the first wake-up it causes, or at afterTimers — so
   * a tick with no timer due costs a clock reading and no record.
   */
  private timersStartMs = NaN;
  private timersBegun = false;
  private attached = false;

  constructor(loop: BaseEventLoop, options: TraceOptions = {}) {
    if (loop === null || typeof loop !== 'object' || typeof loop.addInstrument !== 'function') {
      throw new TypeError(`TraceRecorder: expected an event loop, got ${String(loop)}`);
    }
    const maxEvents = options.maxEvents ?? 1_000_000;
    if (!(Number.isInteger(maxEvents) && maxEvents > 0)) throw new RangeError(`TraceRecorder: maxEvents must be a positive integer, got ${String(maxEvents)}`);
    const clock = options.clock ?? new MonotonicClock();
    if (clock === null || typeof clock !== 'object' || typeof clock.now !== 'function') {
      throw new TypeError(`TraceRecorder: options.clock must be a Clock (an object with now()), got ${String(clock)}`);
    }
    this.loop = loop;
    this.clock = clock;
    this.maxEvents = maxEvents;
    this.originMs = clock.now();
    for (const task of (loop as { allTasks?(): Task<unknown>[] }).allTasks?.() ?? []) {
      this.tracks.set(task.id, task);
      this.stepsBefore.set(task.id, task.steps);
    }
    loop.addInstrument(this);
    this.attached = true;
  }

  /** Stops recording (detaches from the loop). What was recorded stays. */
  stop(): void {
    if (!this.attached) return;
    this.attached = false;
    this.#boundary(RUN_END, this.clock.now());
    this.inBatch = false;
    this.loop.removeInstrument(this);
  }

  /** How many events were kept, and how many dropped over `maxEvents`. */
  get eventCount(): { recorded: number; dropped: number } {
    return { recorded: this.recorded, dropped: this.dropped };
  }

  /**
   * The trace as a Trace Event JSON object: track names (the loop's and
   * one per task seen), then the events in the order they happened.
   * A flow whose other end was not recorded is left out.
   */
  toJSON(): TraceFile {
    const events: TraceEvent[] = [
      { ph: 'M', name: 'process_name', pid: PID, tid: LOOP_TID, args: { name: 'eventide' } },
      { ph: 'M', name: 'thread_name', pid: PID, tid: LOOP_TID, args: { name: 'event loop' } },
      { ph: 'M', name: 'thread_sort_index', pid: PID, tid: LOOP_TID, args: { sort_index: 0 } },
    ];
    for (const [tid, task] of this.tracks) {
      events.push({ ph: 'M', name: 'thread_name', pid: PID, tid, args: { name: typeof task === 'string' ? task : trackName(task) } });
      events.push({ ph: 'M', name: 'thread_sort_index', pid: PID, tid, args: { sort_index: tid } });
    }
    const tables: ExportTables = { originMs: this.originMs, names: this.names, cancels: this.cancels, stepsBefore: this.stepsBefore };
    exportRecords(this.chunks, tables, events);
    return { traceEvents: events, displayTimeUnit: 'ms', otherData: { recorder: 'eventide', droppedEvents: this.dropped } };
  }

  // ------------------------------------------------------------ the hooks

  afterRun(): void {
    this.#boundary(RUN_END, this.clock.now());
    this.inBatch = false;
  }

  taskSpawned(task: Task<unknown>): void {
    this.tracks.set(task.id, task);
  }

  taskScheduled(task: Task<unknown>, cause: WakeCause): void {
    const kind = cause.kind;
    let byStep = 0;
    if (this.loop.currentHandle !== null) {
      // Inside a callback: the latest reading lies in its slice, or in the
      // slice of the step it runs, if that step is the waker.
      if (this.openKind === STEP && (kind === 'future' || kind === 'spawn' || kind === 'cancel')) {
        const byTask = cause.byTask;
        if (byTask !== null && byTask.id === this.openTid) byStep = 1;
      }
    } else {
      // Between callbacks: a timer coming due, a promise settling between
      // ticks, code outside the loop. Take the time now; outside a ready
      // batch, mark the moment on the loop track so the arrow has a slice
      // to start from.
      if (!Number.isNaN(this.timersStartMs) && !this.timersBegun) this.#beginTimers();
      const nowMs = this.clock.now();
      if (this.inBatch) this.#boundary(READING, nowMs);
      else this.#boundary(MARK + KINDS * causeIndex(kind), nowMs);
    }
    const at = this.#reserve(1);
    if (at >= 0) this.numbers[at] = FLOW + causeIndex(kind) + KINDS * (task.id * 2 + byStep);
  }

  beforeCallback(handle: Handle): void {
    const nowMs = this.clock.now();
    if (this.openKind === CALLBACK) this.#nameOpenCallback();
    const at = this.#reserve(2);
    this.openKind = CALLBACK;
    this.openHandle = handle;
    this.openAt = at;
    if (at < 0) return;
    const numbers = (this.openChunk = this.numbers);
    numbers[at] = CALLBACK;
    numbers[at + 1] = nowMs;
  }

  beforeTaskStep(task: Task<unknown>): void {
    const tid = task.id;
    if (this.openKind === CALLBACK) {
      // A step fills the callback that runs it: it takes over that slice.
      if (this.openAt >= 0) this.openChunk[this.openAt] = STEP + KINDS * tid;
      this.openHandle = null;
    } else {
      this.#boundary(STEP + KINDS * tid, this.clock.now());
    }
    this.openKind = STEP;
    this.openTid = tid;
  }

  taskExited(task: Task<unknown>): void {
    const outcome = task.cancelled() ? 2 : task.peekException() === undefined ? 0 : 1;
    this.#inner(EXIT + KINDS * (task.id * 4 + outcome), this.clock.now());
    // Let the task go: its track needs only its name from now on.
    this.tracks.set(task.id, trackName(task));
  }

  beforeIoWait(timeoutMs: number): void {
    const at = this.#boundary(IO_BEGIN, this.clock.now(), 1);
    if (at >= 0) this.numbers[at + 2] = timeoutMs;
    this.inBatch = false;
  }

  afterIoWait(eventCount: number): void {
    this.#boundary(IO_END + KINDS * eventCount, this.clock.now());
    this.inBatch = true;
    this.#sampleCounters();
  }

  beforeTimers(): void {
    this.timersStartMs = this.clock.now();
    this.timersBegun = false;
  }

  afterTimers(dueCount: number): void {
    if (dueCount > 0) {
      if (!this.timersBegun) this.#beginTimers();
      this.#boundary(TIMERS_END + KINDS * dueCount, this.clock.now());
    }
    this.timersStartMs = NaN;
  }

  cancelRequested(task: Task<unknown>, origin: CancelOrigin): void {
    const inCallback = this.loop.currentHandle !== null;
    const byStep = inCallback && this.openKind === STEP ? 1 : 0;
    if (!this.tracks.has(task.id)) this.tracks.set(task.id, task);
    this.cancels.push({
      name: `cancel ${task.name} #${task.id} (${origin.source})`,
      args: { reason: origin.reason ?? null, byTask: origin.byTask === null ? null : origin.byTask.id, via: origin.via === null ? null : origin.via.id },
    });
    const head = CANCEL + KINDS * ((this.cancels.length - 1) * 4 + (inCallback ? 0 : 2) + byStep);
    if (inCallback) this.#inner(head, this.clock.now());
    else this.#boundary(head, this.clock.now());
  }

  // -------------------------------------------------------------- helpers

  /**
   * Room for a record of `size` numbers: its index in `numbers`, or -1 when
   * `maxEvents` records are kept already (it is counted as dropped).
   */
  #reserve(size: number): number {
    const at = this.pos;
    if (at + size <= this.numbers.length && this.recorded < this.maxEvents) {
      this.pos = at + size;
      this.recorded++;
      return at;
    }
    return this.#reserveSlow(size);
  }

  #reserveSlow(size: number): number {
    if (this.recorded >= this.maxEvents) {
      this.dropped++;
      return -1;
    }
    // The rest of the chunk stays zero: the export stops there.
    const length = Math.min(CHUNK_NUMBERS, Math.max(FIRST_CHUNK_NUMBERS, this.numbers.length * 2));
    this.numbers = new Float64Array(length);
    this.chunks.push(this.numbers);
    this.pos = size;
    this.recorded++;
    return 0;
  }

  /** The open timer phase moves a timer: write its start, read at beforeTimers. */
  #beginTimers(): void {
    this.timersBegun = true;
    this.#boundary(TIMERS_BEGIN, this.timersStartMs);
  }

  /** Writes a record that carries a reading but leaves the open slice open. */
  #inner(head: number, nowMs: number): void {
    const at = this.#reserve(2);
    if (at < 0) return;
    this.numbers[at] = head;
    this.numbers[at + 1] = nowMs;
  }

  /**
   * Writes a boundary record (head, reading, then `extra` numbers the
   * caller fills in): the open slice ends here. Returns its index, or -1.
   */
  #boundary(head: number, nowMs: number, extra = 0): number {
    if (this.openKind === CALLBACK) this.#nameOpenCallback();
    this.openKind = 0;
    this.openHandle = null;
    const at = this.#reserve(2 + extra);
    if (at >= 0) {
      this.numbers[at] = head;
      this.numbers[at + 1] = nowMs;
    }
    return at;
  }

  /**
   * The open slice stays a plain callback: write its name's index into its
   * record. The last function is remembered: callbacks repeat, and reading
   * a function's name (a getter call) and looking it up cost as much as
   * the rest of the record.
   */
  #nameOpenCallback(): void {
    const at = this.openAt;
    if (at < 0) return;
    const fn = (this.openHandle as Handle).callback;
    this.openChunk[at] = CALLBACK + KINDS * (fn === this.lastFn ? this.lastNameId : this.#nameId(fn));
  }

  /** Samples the counters, unless they are what the last sample said. */
  #sampleCounters(): void {
    const stats = this.loop.statistics();
    const last = this.lastCounts;
    let same = last[PRIORITIES.length] === stats.timers;
    for (let lane = 0; same && lane < PRIORITIES.length; lane++) same = last[lane] === (stats.readyByLane[lane] ?? 0);
    if (same) return;
    for (let lane = 0; lane < PRIORITIES.length; lane++) last[lane] = stats.readyByLane[lane] ?? 0;
    last[PRIORITIES.length] = stats.timers;
    const at = this.#reserve(MAX_RECORD);
    if (at < 0) return;
    this.numbers[at] = COUNTERS;
    this.numbers.set(last, at + 1);
  }

  /** The index of a callback's name in the name table; remembered as the last one. */
  #nameId(fn: (arg: any) => unknown): number {
    const name = fn.name || 'callback';
    let id = this.nameIndex.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(name);
      this.nameIndex.set(name, id);
    }
    this.lastFn = fn;
    this.lastNameId = id;
    return id;
  }
}

function trackName(task: Task<unknown>): string {
  return `${task.name} #${task.id}`;
}

/**
 * Appends the records to `events` as Trace Event objects, in record
 * order, working out what recording left out: where slices end, step
 * numbers, which step each flow ends at, times in µs since the start.
 */
function exportRecords(chunks: readonly Float64Array[], tables: ExportTables, events: TraceEvent[]): void {
  const toUs = (ms: number): number => (ms - tables.originMs) * 1000;
  /** Latest reading (µs): where an event without its own reading happened. */
  let latestUs = 0;
  // The open slice: none (0), CALLBACK or STEP, with its start and operand.
  let openKind = 0;
  let openUs = 0;
  let openOperand = 0;
  /** The id of the flow into the open step, or 0. */
  let openFlow = 0;
  let batchUs = NaN;
  let ioUs = NaN;
  let ioTimeoutMs = 0;
  let timersUs = NaN;
  const steps = new Map(tables.stepsBefore);
  /** Flow starts waiting for their task's next step to begin, by task id (their id is given then). */
  const waiting = new Map<number, TraceEvent[]>();
  let flowIds = 0;

  const endSlice = (endUs: number): void => {
    const dur = endUs - openUs;
    if (openKind === CALLBACK) {
      events.push({ ph: 'X', name: tables.names[openOperand] as string, cat: 'callback', pid: PID, tid: LOOP_TID, ts: openUs, dur });
    } else if (openKind === STEP) {
      const tid = openOperand;
      const step = (steps.get(tid) ?? 0) + 1;
      steps.set(tid, step);
      // Both ends share name and cat: viewers match flows on id, name and cat.
      if (openFlow !== 0) events.push({ ph: 'f', bp: 'e', name: 'wake', cat: 'wake', id: openFlow, pid: PID, tid, ts: openUs });
      events.push({ ph: 'X', name: 'step', cat: 'task', pid: PID, tid, ts: openUs, dur, args: { step } });
    }
    openKind = 0;
  };
  /** A step of `tid` begins: the flows waiting for it end there; their id (0: none). */
  const takeFlows = (tid: number): number => {
    const flows = waiting.get(tid);
    if (flows === undefined) return 0;
    waiting.delete(tid);
    const id = ++flowIds;
    for (const start of flows) start.id = id;
    return id;
  };
  const endBatch = (endUs: number): void => {
    if (!Number.isNaN(batchUs)) events.push({ ph: 'X', name: 'ready batch', cat: 'loop', pid: PID, tid: LOOP_TID, ts: batchUs, dur: endUs - batchUs });
    batchUs = NaN;
  };

  for (const numbers of chunks) {
    for (let i = 0; i < numbers.length; ) {
      const head = numbers[i] as number;
      if (head === 0) break; // the unused end of the chunk
      const kind = head % KINDS;
      const operand = (head - kind) / KINDS;
      if (kind >= FLOW) {
        const woken = Math.floor(operand / 2);
        const start: TraceEvent = { ph: 's', name: 'wake', cat: 'wake', pid: PID, tid: operand % 2 === 1 && openKind === STEP ? openOperand : LOOP_TID, ts: latestUs, args: { cause: CAUSES[kind - FLOW] } };
        events.push(start);
        const list = waiting.get(woken);
        if (list === undefined) waiting.set(woken, [start]);
        else list.push(start);
        i += 1;
        continue;
      }
      if (kind === COUNTERS) {
        const lanes: Record<string, number> = {};
        PRIORITIES.forEach((priority, lane) => (lanes[priority] = numbers[i + 1 + lane] as number));
        events.push({ ph: 'C', name: 'ready queue', pid: PID, tid: LOOP_TID, ts: latestUs, args: lanes });
        events.push({ ph: 'C', name: 'timers', pid: PID, tid: LOOP_TID, ts: latestUs, args: { pending: numbers[i + 1 + PRIORITIES.length] } });
        i += MAX_RECORD;
        continue;
      }
      const us = toUs(numbers[i + 1] as number);
      latestUs = us;
      i += kind === IO_BEGIN ? 3 : 2;
      switch (kind) {
        case EXIT: {
          const outcome = operand % 4;
          events.push({ ph: 'i', s: 't', name: `exit (${OUTCOMES[outcome]})`, cat: 'task', pid: PID, tid: (operand - outcome) / 4, ts: us });
          break;
        }
        case CANCEL: {
          const { name, args } = tables.cancels[Math.floor(operand / 4)] as CancelRecord;
          const tid = operand % 2 === 1 && openKind === STEP ? openOperand : LOOP_TID;
          if (operand % 4 >= 2) endSlice(us);
          events.push({ ph: 'i', s: 't', name, cat: 'cancel', pid: PID, tid, ts: us, args: { ...args } });
          break;
        }
        case CALLBACK:
        case STEP:
          endSlice(us);
          openKind = kind;
          openUs = us;
          openOperand = operand;
          openFlow = kind === STEP ? takeFlows(operand) : 0;
          break;
        case IO_BEGIN:
          endSlice(us);
          endBatch(us);
          ioUs = us;
          ioTimeoutMs = numbers[i - 1] as number;
          break;
        case IO_END:
          endSlice(us);
          if (!Number.isNaN(ioUs)) events.push({ ph: 'X', name: 'io wait', cat: 'loop', pid: PID, tid: LOOP_TID, ts: ioUs, dur: us - ioUs, args: { timeoutMs: ioTimeoutMs, events: operand } });
          ioUs = NaN;
          batchUs = us;
          break;
        case TIMERS_BEGIN:
          endSlice(us);
          batchUs = NaN; // the batch begins when the timer phase ends
          timersUs = us;
          break;
        case TIMERS_END:
          endSlice(us);
          if (!Number.isNaN(timersUs)) events.push({ ph: 'X', name: 'timers', cat: 'loop', pid: PID, tid: LOOP_TID, ts: timersUs, dur: us - timersUs, args: { due: operand } });
          timersUs = NaN;
          batchUs = us;
          break;
        case RUN_END:
          endSlice(us);
          endBatch(us);
          break;
        case MARK:
          endSlice(us);
          events.push({ ph: 'X', name: CAUSES[operand] as string, cat: 'wake', pid: PID, tid: LOOP_TID, ts: us, dur: 0 });
          break;
        default: // READING
          endSlice(us);
      }
    }
  }
  // Recording was cut short (maxEvents): end what is open at the last reading.
  endSlice(latestUs);
  endBatch(latestUs);
  // A flow start whose step was never recorded is left out.
  if (waiting.size > 0) {
    let kept = 0;
    for (const event of events) if (event.ph !== 's' || event.id !== undefined) events[kept++] = event;
    events.length = kept;
  }
}
