/**
 * A flight recorder: the last `capacity` things the loop did (hook name,
 * the task or callback concerned, a number such as a duration or a
 * timeout, and a timestamp), kept in a ring so that memory is bounded and
 * recording never allocates. Dump it when something went wrong — on a
 * stall, on SIGUSR2 (see `dumpOnSignal` in 'eventide/node'), in a test
 * that failed — to see what led up to it.
 *
 * The ring is parallel columns (hook index, timestamp, value, name, id,
 * and a wake-up's cause: kind, name, id), preallocated. Names are kept as
 * the strings the task or callback already has (`task.name`,
 * `callback.name`), not built per event, and the ring holds no task or
 * handle, so it keeps nothing alive. Platform-free.
 *
 * A handle that runs a task's step (its own `#runStep`, or a wake-up that
 * runs it directly) is shown as the task's step, `step of task "NAME" #ID`:
 * which task a wake-up serves is known only once its step begins, so
 * beforeTaskStep relabels the callback's beforeCallback event (if still in
 * the ring) and afterCallback uses the label.
 */
import type { Handle } from '../core/handle.js';
import { HOOK_NAMES, type HookName } from '../core/instruments.js';
import type { Task, WakeCause } from '../tasks/task.js';
import { checkClock, checkCount, type DetectorClock } from './detector-util.js';
import type { Instrument } from './instrument.js';

/** One recorded event. */
export interface FlightEvent {
  /** Which hook fired. */
  readonly hook: HookName;
  /** When, on the recorder's clock (ms). */
  readonly timeMs: number;
  /** 'task NAME #ID', 'callback NAME', 'step of task "NAME" #ID' (a callback that ran a task's step), or '' for loop-wide hooks. */
  readonly label: string;
  /**
   * taskScheduled: who woke the task (WakeCause), e.g. 'timer', 'future by
   * task child #3', 'future by callback poke', 'io fd 7 read', 'spawn by
   * task main #1'; '' for other hooks.
   */
  readonly cause: string;
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
const KIND_STEP = 3;

/** Wake causes by index (stored + 1 in a byte; 0: no cause). */
const CAUSE_KINDS: readonly WakeCause['kind'][] = ['spawn', 'future', 'timer', 'io', 'promise', 'cancel', 'error'];

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
  readonly #causeKinds: Uint8Array;
  /** The waker's name (a task's or callback's), or an fd event ('read' / 'write'). */
  readonly #causeNames: (string | undefined)[];
  /** The waking task's id, an fd, or 0 (a callback, or none). */
  readonly #causeIds: Float64Array;
  /** The event of the callback now running (its number), or -1 outside callbacks. */
  #callbackEvent = -1;
  /** The task whose step the running callback ran, once it began (else null). */
  #callbackTask: Task<unknown> | null = null;
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
    this.#causeKinds = new Uint8Array(n);
    this.#causeNames = new Array<string | undefined>(n).fill(undefined);
    this.#causeIds = new Float64Array(n);
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
    this.#causeKinds[slot] = 0;
    this.#causeNames[slot] = undefined;
  }

  #task(hook: number, task: Task<unknown>): void {
    this.#put(hook, KIND_TASK, task.name, task.id, NaN);
  }

  #callback(hook: number, handle: Handle, value: number): void {
    const task = this.#callbackTask;
    if (task === null) this.#put(hook, KIND_CALLBACK, handle.callback.name, 0, value);
    else this.#put(hook, KIND_STEP, task.name, task.id, value);
  }

  /** Sets the cause columns of the event just put. */
  #cause(kind: WakeCause['kind'], name: string | undefined, id: number): void {
    const slot = (this.#total - 1) % this.capacity;
    this.#causeKinds[slot] = CAUSE_KINDS.indexOf(kind) + 1;
    this.#causeNames[slot] = name;
    this.#causeIds[slot] = id;
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
  taskScheduled(task: Task<unknown>, cause: WakeCause): void {
    this.#task(HOOK.taskScheduled, task);
    switch (cause.kind) {
      case 'spawn':
      case 'cancel':
        return this.#cause(cause.kind, cause.byTask?.name, cause.byTask?.id ?? 0);
      case 'future':
        if (cause.byTask !== null) return this.#cause('future', cause.byTask.name, cause.byTask.id);
        return this.#cause('future', cause.byHandle?.callback.name, 0);
      case 'io':
        return this.#cause('io', cause.event, cause.fd);
      default:
        return this.#cause(cause.kind, undefined, 0);
    }
  }
  beforeTaskStep(task: Task<unknown>): void {
    if (this.#callbackEvent >= 0 && this.#callbackTask === null) {
      // The running callback turns out to run this task's step: say so in its event.
      this.#callbackTask = task;
      if (this.#total - this.#callbackEvent <= this.capacity) {
        const slot = this.#callbackEvent % this.capacity;
        this.#kinds[slot] = KIND_STEP;
        this.#names[slot] = task.name;
        this.#ids[slot] = task.id;
      }
    }
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
    this.#callbackTask = null;
    this.#callback(HOOK.beforeCallback, handle, NaN);
    this.#callbackEvent = this.#total - 1;
  }
  afterCallback(handle: Handle, durationMs: number | undefined): void {
    this.#callback(HOOK.afterCallback, handle, durationMs ?? NaN);
    this.#callbackEvent = -1;
    this.#callbackTask = null;
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
      const id = this.#ids[slot]!;
      const label =
        kind === KIND_TASK
          ? `task ${name ?? ''} #${id}`
          : kind === KIND_STEP
            ? `step of task ${JSON.stringify(name ?? '')} #${id}`
            : kind === KIND_CALLBACK
              ? `callback ${name || 'anonymous'}`
              : '';
      const cause = this.#causeText(slot);
      out.push(Object.freeze({ hook: HOOK_NAMES[this.#hooks[slot]!] as HookName, timeMs: this.#times[slot]!, label, cause, value: this.#values[slot]! }));
    }
    return out;
  }

  /** The cause of the event in `slot`, as FlightEvent.cause says. */
  #causeText(slot: number): string {
    const causeKind = this.#causeKinds[slot]!;
    if (causeKind === 0) return '';
    const kind = CAUSE_KINDS[causeKind - 1] as WakeCause['kind'];
    const name = this.#causeNames[slot];
    const id = this.#causeIds[slot]!;
    if (kind === 'io') return `io fd ${id} ${name ?? ''}`;
    if (kind === 'future' && id === 0) return name === undefined ? 'future' : `future by callback ${name || 'anonymous'}`;
    if ((kind === 'spawn' || kind === 'future' || kind === 'cancel') && id !== 0) return `${kind} by task ${name ?? ''} #${id}`;
    return kind;
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
      const cause = e.cause === '' ? '' : ` <- ${e.cause}`;
      return `-${ago} ms  ${e.hook.padEnd(15)} ${e.label}${cause}${value}`.trimEnd();
    });
    return [header, ...lines].join('\n');
  }

  /** Forgets every event. */
  clear(): void {
    this.#total = 0;
    this.#names.fill(undefined);
    this.#causeNames.fill(undefined);
    this.#callbackEvent = -1; // a running callback's event is gone; afterCallback still names its task
  }
}

/** Hook name → its index in HOOK_NAMES (stored in one byte per event). */
const HOOK = Object.fromEntries(HOOK_NAMES.map((name, i) => [name, i])) as Record<HookName, number>;
