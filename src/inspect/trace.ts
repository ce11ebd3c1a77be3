/**
 * A tracer: an instrument that records what the loop does as Chrome Trace
 * Event JSON, which Perfetto (ui.perfetto.dev) and chrome://tracing open.
 *
 * What the trace shows:
 *  - one track per task (named `name #id`), its steps as slices;
 *  - the loop's own track: I/O waits and ready batches as slices, the
 *    callbacks that are not task steps nested inside the batches;
 *  - flow arrows from whatever woke a task (the step or callback that
 *    settled its future, a timer, a spawn, a cancel) to the step it caused
 *    — the wake edges of `taskScheduled`;
 *  - counters: ready-queue length per lane and pending timers, sampled at
 *    the start of every batch;
 *  - instants: cancellation requests (who, why) and task exits.
 *
 * Cost decides the shape of this code. Recording runs on every step and
 * callback, so:
 *  - events are rows in growable typed-array columns, not objects: no
 *    allocation per event and nothing for the garbage collector to trace
 *    (object-per-event recording spent a quarter of its time in GC); the
 *    JSON objects are built only by `toJSON()`;
 *  - a flow needs no lookup table and no row of its own at the far end:
 *    the arrow that wakes a task always ends at that task's next step, so
 *    its start is keyed by (task id, step number) and its end is the step's
 *    own row, paired when the JSON is built;
 *  - the clock (tens of ns a reading, as much as a whole `callSoon`) is read
 *    once at the start and once at the end of each callback; a step that
 *    fills a callback reuses those readings, and a flow's start reuses the
 *    latest reading, which lies inside the slice doing the waking.
 * At most `maxEvents` rows are kept; later ones are counted and dropped.
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

// Row kinds. Columns: tid, ts, dur, a, b (meaning per kind, see toJSON).
const STEP = 1; // a: step number
const CALLBACK = 2; // a: name index
const IO_WAIT = 3; // a: timeout ms, b: ready fds
const BATCH = 4;
const FLOW_START = 5; // a: woken task id, b: its step to come, dur: cause index (the flow ends at that step)
const EXIT = 7; // a: outcome index
const COUNTERS = 8; // a: sample index (COUNTER_WIDTH values in #counterValues)
const CANCEL = 9; // a: index in #cancels
const MARK = 10; // a: cause index (a wake from outside any slice)

const CAUSES: readonly WakeCause['kind'][] = ['spawn', 'future', 'timer', 'io', 'promise', 'cancel', 'error'];
const OUTCOMES = ['finished', 'failed', 'cancelled'] as const;
/** Per counter sample: one value per lane, then pending timers. */
const COUNTER_WIDTH = PRIORITIES.length + 1;

/** Rows per chunk: chunks are never copied, so recording cost stays flat as the trace grows. */
const CHUNK_ROWS = 1 << 14;

/** A fixed-size block of rows, as columns of numbers. */
class Chunk {
  readonly kind = new Uint8Array(CHUNK_ROWS);
  readonly tid = new Int32Array(CHUNK_ROWS);
  readonly ts = new Float64Array(CHUNK_ROWS);
  readonly dur = new Float64Array(CHUNK_ROWS);
  readonly a = new Float64Array(CHUNK_ROWS);
  readonly b = new Float64Array(CHUNK_ROWS);
  length = 0;
}

function grow<A extends Uint8Array | Int32Array | Float64Array>(old: A, next: A): A {
  next.set(old);
  return next;
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
  readonly #loop: BaseEventLoop;
  readonly #clock: Clock;
  readonly #maxEvents: number;
  readonly #chunks: Chunk[] = [];
  #chunk: Chunk | null = null;
  #rowCount = 0;
  #dropped = 0;
  readonly #originMs: number;
  /** The latest clock reading, in µs since the origin: inside the slice now running. */
  #lastUs = 0;
  /** Every task seen, by track id, for the track names written at the end. */
  readonly #tasks = new Map<number, Task<unknown>>();
  readonly #names: string[] = [];
  readonly #nameIndex = new Map<string, number>();
  #counterValues = new Float64Array(COUNTER_WIDTH * 256);
  #counterSamples = 0;
  readonly #cancels: { task: Task<unknown>; origin: CancelOrigin }[] = [];
  /**
   * The slice now open on a track, ended by the next clock reading: none
   * (0), a CALLBACK on the loop track, or a task's STEP (which replaces
   * the callback it fills).
   */
  #openKind = 0;
  #openTid = 0;
  #openStartUs = 0;
  /** The open step's number. */
  #openStep = 0;
  /** The open callback's handle, named only if it stays a callback slice. */
  #openHandle: Handle | null = null;
  /** The task whose step runs in the current callback. */
  #stepTask: Task<unknown> | null = null;
  /** Start of the current ready batch on the loop track, or -1. */
  #batchStartUs = -1;
  #ioWaitStartUs = -1;
  #ioWaitTimeoutMs = 0;
  #attached = false;

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
    this.#loop = loop;
    this.#clock = clock;
    this.#maxEvents = maxEvents;
    this.#originMs = clock.now();
    for (const task of (loop as { allTasks?(): Task<unknown>[] }).allTasks?.() ?? []) this.#tasks.set(task.id, task);
    loop.addInstrument(this);
    this.#attached = true;
  }

  /** Stops recording (detaches from the loop). What was recorded stays. */
  stop(): void {
    if (!this.#attached) return;
    this.#attached = false;
    this.#closeAll(this.#now());
    this.#loop.removeInstrument(this);
  }

  /** How many events were kept, and how many dropped over `maxEvents`. */
  get eventCount(): { recorded: number; dropped: number } {
    return { recorded: this.#rowCount, dropped: this.#dropped };
  }

  /**
   * The trace as a Trace Event JSON object: track names (the loop's and
   * one per task seen), then the events in the order they were recorded.
   * A flow whose other end was not recorded is left out.
   */
  toJSON(): TraceFile {
    const events: TraceEvent[] = [
      { ph: 'M', name: 'process_name', pid: PID, tid: LOOP_TID, args: { name: 'eventide' } },
      { ph: 'M', name: 'thread_name', pid: PID, tid: LOOP_TID, args: { name: 'event loop' } },
      { ph: 'M', name: 'thread_sort_index', pid: PID, tid: LOOP_TID, args: { sort_index: 0 } },
    ];
    for (const [tid, task] of this.#tasks) {
      events.push({ ph: 'M', name: 'thread_name', pid: PID, tid, args: { name: `${task.name} #${task.id}` } });
      events.push({ ph: 'M', name: 'thread_sort_index', pid: PID, tid, args: { sort_index: tid } });
    }
    // Pair the two ends of each flow by (task id, step): a flow start
    // names the step it leads to; a STEP row is a flow's end.
    const starts = new Set<string>();
    const ends = new Set<string>();
    for (const { kind, tid, a, b, length } of this.#chunks) {
      for (let i = 0; i < length; i++) {
        if (kind[i] === FLOW_START) starts.add(`${a[i]}:${b[i]}`);
        else if (kind[i] === STEP) ends.add(`${tid[i]}:${a[i]}`);
      }
    }
    const flowIds = new Map<string, number>();
    const flowId = (key: string): number => {
      let id = flowIds.get(key);
      if (id === undefined) flowIds.set(key, (id = flowIds.size + 1));
      return id;
    };
    for (const chunk of this.#chunks) this.#chunkEvents(chunk, starts, ends, flowId, events);
    return { traceEvents: events, displayTimeUnit: 'ms', otherData: { recorder: 'eventide', droppedEvents: this.#dropped } };
  }

  /** Appends the JSON events of one chunk's rows to `events`. */
  #chunkEvents(chunk: Chunk, starts: ReadonlySet<string>, ends: ReadonlySet<string>, flowId: (key: string) => number, events: TraceEvent[]): void {
    const { kind, tid, ts, dur, a, b, length } = chunk;
    for (let i = 0; i < length; i++) {
      const base = { pid: PID, tid: tid[i] as number, ts: ts[i] as number };
      const ai = a[i] as number;
      switch (kind[i]) {
        case STEP: {
          const key = `${base.tid}:${ai}`;
          // Both ends share name and cat: viewers match flows on id, name and cat.
          if (starts.has(key)) events.push({ ph: 'f', bp: 'e', name: 'wake', cat: 'wake', id: flowId(key), ...base });
          events.push({ ph: 'X', name: 'step', cat: 'task', ...base, dur: dur[i] as number, args: { step: ai } });
          break;
        }
        case CALLBACK:
          events.push({ ph: 'X', name: this.#names[ai] as string, cat: 'callback', ...base, dur: dur[i] as number });
          break;
        case IO_WAIT:
          events.push({ ph: 'X', name: 'io wait', cat: 'loop', ...base, dur: dur[i] as number, args: { timeoutMs: ai, events: b[i] } });
          break;
        case BATCH:
          events.push({ ph: 'X', name: 'ready batch', cat: 'loop', ...base, dur: dur[i] as number });
          break;
        case FLOW_START: {
          const key = `${ai}:${b[i]}`;
          if (ends.has(key)) events.push({ ph: 's', name: 'wake', cat: 'wake', id: flowId(key), ...base, args: { cause: CAUSES[dur[i] as number] } });
          break;
        }
        case EXIT:
          events.push({ ph: 'i', s: 't', name: `exit (${OUTCOMES[ai]})`, cat: 'task', ...base });
          break;
        case COUNTERS: {
          const values = this.#counterValues;
          const at = ai * COUNTER_WIDTH;
          const lanes: Record<string, number> = {};
          PRIORITIES.forEach((priority, lane) => (lanes[priority] = values[at + lane] as number));
          events.push({ ph: 'C', name: 'ready queue', ...base, args: lanes });
          events.push({ ph: 'C', name: 'timers', ...base, args: { pending: values[at + PRIORITIES.length] } });
          break;
        }
        case CANCEL: {
          const { task, origin } = this.#cancels[ai] as { task: Task<unknown>; origin: CancelOrigin };
          events.push({
            ph: 'i',
            s: 't',
            name: `cancel ${task.name} #${task.id} (${origin.source})`,
            cat: 'cancel',
            ...base,
            args: { reason: origin.reason ?? null, byTask: origin.byTask === null ? null : origin.byTask.id, via: origin.via === null ? null : origin.via.id },
          });
          break;
        }
        case MARK:
          events.push({ ph: 'X', name: CAUSES[ai] as string, cat: 'wake', ...base, dur: 0 });
          break;
      }
    }
  }

  // ------------------------------------------------------------ the hooks

  beforeRun(): void {
    this.#now();
  }

  afterRun(): void {
    this.#closeAll(this.#now());
  }

  taskSpawned(task: Task<unknown>): void {
    this.#tasks.set(task.id, task);
  }

  taskScheduled(task: Task<unknown>, cause: WakeCause): void {
    let tid = LOOP_TID;
    if (this.#loop.currentHandle !== null) {
      // Inside a callback: the latest reading lies in its slice, or in the
      // slice of the step it runs, if that step is the waker.
      const fromTask = cause.kind === 'future' || cause.kind === 'spawn' || cause.kind === 'cancel' ? cause.byTask : null;
      if (fromTask !== null && fromTask === this.#stepTask) tid = fromTask.id;
    } else {
      // Between callbacks: a timer coming due, a promise settling between
      // ticks, code outside the loop. Take the time now; outside a ready
      // batch, mark the moment on the loop track so the arrow has a slice
      // to start from.
      const nowUs = this.#now();
      this.#closeOpen(nowUs);
      if (this.#batchStartUs < 0) this.#push(MARK, LOOP_TID, nowUs, 0, CAUSES.indexOf(cause.kind), 0);
    }
    this.#push(FLOW_START, tid, this.#lastUs, CAUSES.indexOf(cause.kind), task.id, task.steps + 1);
  }

  beforeCallback(handle: Handle): void {
    const nowUs = this.#now();
    this.#closeOpen(nowUs);
    this.#openKind = CALLBACK;
    this.#openStartUs = nowUs;
    this.#openHandle = handle;
    this.#stepTask = null;
  }

  beforeTaskStep(task: Task<unknown>): void {
    let startUs = this.#openStartUs;
    // A step fills the callback that runs it: it takes over that slice.
    if (this.#openKind !== CALLBACK) {
      startUs = this.#now();
      this.#closeOpen(startUs);
    }
    const step = task.steps + 1;
    this.#openKind = STEP;
    this.#openTid = task.id;
    this.#openStartUs = startUs;
    this.#openStep = step;
    this.#openHandle = null;
    this.#stepTask = task;
  }

  taskExited(task: Task<unknown>): void {
    const outcome = task.cancelled() ? 2 : task.peekException() === undefined ? 0 : 1;
    this.#push(EXIT, task.id, this.#now(), 0, outcome, 0);
  }

  beforeIoWait(timeoutMs: number): void {
    const nowUs = this.#now();
    this.#closeAll(nowUs);
    this.#ioWaitStartUs = nowUs;
    this.#ioWaitTimeoutMs = timeoutMs;
  }

  afterIoWait(eventCount: number): void {
    const nowUs = this.#now();
    if (this.#ioWaitStartUs >= 0) {
      this.#push(IO_WAIT, LOOP_TID, this.#ioWaitStartUs, nowUs - this.#ioWaitStartUs, this.#ioWaitTimeoutMs, eventCount);
      this.#ioWaitStartUs = -1;
    }
    this.#batchStartUs = nowUs;
    this.#sampleCounters(nowUs);
  }

  cancelRequested(task: Task<unknown>, origin: CancelOrigin): void {
    const inCallback = this.#loop.currentHandle !== null;
    const tid = inCallback && this.#stepTask !== null ? this.#stepTask.id : LOOP_TID;
    const nowUs = this.#now();
    if (!inCallback) this.#closeOpen(nowUs);
    this.#tasks.set(task.id, task);
    this.#cancels.push({ task, origin });
    this.#push(CANCEL, tid, nowUs, 0, this.#cancels.length - 1, 0);
  }

  // -------------------------------------------------------------- helpers

  /** Reads the clock: µs since the recorder started. */
  #now(): number {
    const us = (this.#clock.now() - this.#originMs) * 1000;
    this.#lastUs = us;
    return us;
  }

  #push(kind: number, tid: number, ts: number, dur: number, a: number, b: number): void {
    if (this.#rowCount >= this.#maxEvents) {
      this.#dropped++;
      return;
    }
    let rows = this.#chunk;
    if (rows === null || rows.length === CHUNK_ROWS) {
      rows = this.#chunk = new Chunk();
      this.#chunks.push(rows);
    }
    this.#rowCount++;
    const i = rows.length++;
    rows.kind[i] = kind;
    rows.tid[i] = tid;
    rows.ts[i] = ts;
    rows.dur[i] = dur;
    rows.a[i] = a;
    rows.b[i] = b;
  }

  /** Ends the open callback or step slice at `nowUs`, the first reading after it. */
  #closeOpen(nowUs: number): void {
    const kind = this.#openKind;
    if (kind === 0) return;
    this.#openKind = 0;
    if (kind === STEP) {
      this.#push(STEP, this.#openTid, this.#openStartUs, nowUs - this.#openStartUs, this.#openStep, 0);
    } else {
      const handle = this.#openHandle as Handle;
      this.#openHandle = null;
      this.#push(CALLBACK, LOOP_TID, this.#openStartUs, nowUs - this.#openStartUs, this.#nameId(handle.callback), 0);
    }
  }

  /** Ends the open slice and the ready batch (an I/O wait begins, or the run ends). */
  #closeAll(nowUs: number): void {
    this.#closeOpen(nowUs);
    this.#closeBatch(nowUs);
  }

  /** Ends the current ready batch on the loop track. */
  #closeBatch(nowUs: number): void {
    if (this.#batchStartUs < 0) return;
    this.#push(BATCH, LOOP_TID, this.#batchStartUs, nowUs - this.#batchStartUs, 0, 0);
    this.#batchStartUs = -1;
  }

  #sampleCounters(nowUs: number): void {
    const stats = this.#loop.statistics();
    let values = this.#counterValues;
    const at = this.#counterSamples * COUNTER_WIDTH;
    if (at + COUNTER_WIDTH > values.length) values = this.#counterValues = grow(values, new Float64Array(values.length * 2));
    for (let lane = 0; lane < PRIORITIES.length; lane++) values[at + lane] = stats.readyByLane[lane] ?? 0;
    values[at + PRIORITIES.length] = stats.timers;
    this.#push(COUNTERS, LOOP_TID, nowUs, 0, this.#counterSamples++, 0);
  }

  /**
   * The index of a callback's name in the name table. The last function is
   * remembered (callbacks repeat, and reading a function's name is a getter
   * call that costs as much as the rest of the row).
   */
  #lastFn: unknown = null;
  #lastNameId = -1;
  #nameId(fn: (arg: any) => unknown): number {
    if (fn === this.#lastFn) return this.#lastNameId;
    const name = fn.name || 'callback';
    let id = this.#nameIndex.get(name);
    if (id === undefined) {
      id = this.#names.length;
      this.#names.push(name);
      this.#nameIndex.set(name, id);
    }
    this.#lastFn = fn;
    this.#lastNameId = id;
    return id;
  }
}
