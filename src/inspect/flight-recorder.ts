/**
 * A flight recorder: the last `capacity` things the loop did (hook name,
 * the task or callback concerned, a number such as a duration or a
 * timeout, and a timestamp), kept in a ring so that memory is bounded and
 * recording never allocates. Dump it when something went wrong — on a
 * stall, on SIGUSR2 (see `dumpOnSignal` in 'eventide/node'), in a test
 * that failed — to see what led up to it.
 *
 * The ring is parallel columns (hook index, timestamp, value, name, id),
 * preallocated. Names are kept as the strings the task or callback already
 * has (`task.name`, `callback.name`), not built per event, and the ring
 * holds no task or handle, so it keeps nothing alive. Platform-free.
 */
import type { Handle } from '../core/handle.js';
import { HOOK_NAMES, type HookName } from '../core/instruments.js';
import type { Task } from '../tasks/task.js';
import { checkClock, checkCount, type DetectorClock } from './detector-util.js';
import type { Instrument } from './instrument.js';

/** One recorded event. */
export interface FlightEvent {
  /** Which hook fired. */
  readonly hook: HookName;
  /** When, on the recorder's clock (ms). */
  readonly timeMs: number;
  /** 'task NAME #ID', 'callback NAME', or '' for loop-wide hooks. */
  readonly label: string;
  /** afterCallback: duration (ms, debug mode, else NaN); beforeIoWait: timeout (ms); afterIoWait: event count; else NaN. */
  readonly value: number;
}

export interface FlightRecorderOptions {
  /** How many events are kept (the latest). Default 1024. */
  capacity?: number;
  /** Where timestamps come from; default the wall clock. */
  clock?: DetectorClock;
}

const KIND_NONE = 0;
const KIND_TASK = 1;
const KIND_CALLBACK = 2;

/**
 * Keeps the last `capacity` loop events; `dump()` / `format()` show them.
 *
 * @example
 * const recorder = new FlightRecorder({ capacity: 256 });
 * loop.addInstrument(recorder);
 * // ... later, when something looks wrong:
 * console.error(recorder.format());
 */
export class FlightRecorder implements Instrument {
  readonly name = 'FlightRecorder';
  readonly capacity: number;
  readonly #clock: DetectorClock;
  readonly #hooks: Uint8Array;
  readonly #kinds: Uint8Array;
  readonly #times: Float64Array;
  readonly #values: Float64Array;
  readonly #ids: Float64Array;
  readonly #names: (string | undefined)[];
  /** Events recorded since creation (or clear); the next slot is total % capacity. */
  #total = 0;

  constructor(options: FlightRecorderOptions = {}) {
    this.capacity = checkCount(options.capacity ?? 1024, 'FlightRecorder: capacity');
    this.#clock = checkClock(options.clock, 'FlightRecorder: clock');
    const n = this.capacity;
    this.#hooks = new Uint8Array(n);
    this.#kinds = new Uint8Array(n);
    this.#times = new Float64Array(n);
    this.#values = new Float64Array(n);
    this.#ids = new Float64Array(n);
    this.#names = new Array<string | undefined>(n).fill(undefined);
  }

  /** How many events were recorded in all (including those overwritten). */
  get totalEvents(): number {
    return this.#total;
  }

  #put(hook: number, kind: number, name: string | undefined, id: number, value: number): void {
    const slot = this.#total % this.capacity;
    this.#total++;
    this.#hooks[slot] = hook;
    this.#kinds[slot] = kind;
    this.#names[slot] = name;
    this.#ids[slot] = id;
    this.#values[slot] = value;
    this.#times[slot] = this.#clock.now();
  }

  #task(hook: number, task: Task<unknown>): void {
    this.#put(hook, KIND_TASK, task.name, task.id, NaN);
  }

  #callback(hook: number, handle: Handle, value: number): void {
    this.#put(hook, KIND_CALLBACK, handle.callback.name, 0, value);
  }

  beforeRun(): void {
    this.#put(HOOK.beforeRun, KIND_NONE, undefined, 0, NaN);
  }
  afterRun(): void {
    this.#put(HOOK.afterRun, KIND_NONE, undefined, 0, NaN);
  }
  taskSpawned(task: Task<unknown>): void {
    this.#task(HOOK.taskSpawned, task);
  }
  taskScheduled(task: Task<unknown>): void {
    this.#task(HOOK.taskScheduled, task);
  }
  beforeTaskStep(task: Task<unknown>): void {
    this.#task(HOOK.beforeTaskStep, task);
  }
  afterTaskStep(task: Task<unknown>): void {
    this.#task(HOOK.afterTaskStep, task);
  }
  taskExited(task: Task<unknown>): void {
    this.#task(HOOK.taskExited, task);
  }
  cancelRequested(task: Task<unknown>): void {
    this.#task(HOOK.cancelRequested, task);
  }
  beforeCallback(handle: Handle): void {
    this.#callback(HOOK.beforeCallback, handle, NaN);
  }
  afterCallback(handle: Handle, durationMs: number | undefined): void {
    this.#callback(HOOK.afterCallback, handle, durationMs ?? NaN);
  }
  beforeIoWait(timeoutMs: number): void {
    this.#put(HOOK.beforeIoWait, KIND_NONE, undefined, 0, timeoutMs);
  }
  afterIoWait(eventCount: number): void {
    this.#put(HOOK.afterIoWait, KIND_NONE, undefined, 0, eventCount);
  }

  /** The kept events, oldest first. */
  dump(): FlightEvent[] {
    const n = Math.min(this.#total, this.capacity);
    const first = this.#total - n;
    const out: FlightEvent[] = [];
    for (let k = first; k < this.#total; k++) {
      const slot = k % this.capacity;
      const kind = this.#kinds[slot]!;
      const name = this.#names[slot];
      const label =
        kind === KIND_TASK ? `task ${name ?? ''} #${this.#ids[slot]!}` : kind === KIND_CALLBACK ? `callback ${name || 'anonymous'}` : '';
      out.push(Object.freeze({ hook: HOOK_NAMES[this.#hooks[slot]!] as HookName, timeMs: this.#times[slot]!, label, value: this.#values[slot]! }));
    }
    return out;
  }

  /** The kept events as text, one a line, times relative to the newest. */
  format(): string {
    const events = this.dump();
    const last = events.at(-1);
    const header = `flight recorder: last ${events.length} of ${this.#total} events`;
    if (last === undefined) return header;
    const lines = events.map((e) => {
      const ago = (last.timeMs - e.timeMs).toFixed(3).padStart(10);
      const value = Number.isNaN(e.value) ? '' : ` ${e.value}`;
      return `-${ago} ms  ${e.hook.padEnd(15)} ${e.label}${value}`.trimEnd();
    });
    return [header, ...lines].join('\n');
  }

  /** Forgets every event. */
  clear(): void {
    this.#total = 0;
    this.#names.fill(undefined);
  }
}

/** Hook name → its index in HOOK_NAMES (stored in one byte per event). */
const HOOK = Object.fromEntries(HOOK_NAMES.map((name, i) => [name, i])) as Record<HookName, number>;
