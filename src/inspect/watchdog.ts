/**
 * A stall watchdog that reports while the loop is still blocked (Node only).
 *
 * asyncio's slow-callback warning arrives after the callback returns — if
 * it ever does. Here the loop writes what it is running into a
 * SharedArrayBuffer (via an instrument: beforeCallback / beforeTaskStep /
 * afterCallback), and a worker thread, which keeps running while the main
 * thread is stuck, polls that buffer every `pollMs`. When one callback has
 * run `thresholdMs` or more, the worker reports the stall in progress:
 * which callback (its sequence number and function name — or, for one
 * that runs a task's step, `step of task "NAME" #ID`), which task's step
 * (id and name) and since when — by writing a line to stderr with a
 * synchronous write on fd 2 (a worker's `process.stderr` goes through the
 * blocked main thread, so it is not used), and by posting a message that
 * `onStall` receives on the loop's thread once it is free again.
 *
 * Shared layout (Int32 slots, then a Float64, then two UTF-8 name areas):
 *   i32[0] busy (1 while a callback runs), i32[1] callback sequence,
 *   i32[2] task id (0: not a task step), i32[3] callback-name bytes,
 *   i32[4] task-name bytes, f64 at byte 24: callback start (epoch ms),
 *   bytes 64..191 callback name, 192..319 task name (truncated at 128).
 * The loop writes the fields, then publishes with an Atomics.store of the
 * sequence and busy flag; the worker reads the sequence before and after
 * its reads and ignores a torn snapshot. Each stall (callback sequence) is
 * reported once.
 *
 * Also here: `dumpOnSignal`, printing a FlightRecorder on a signal.
 */
import { writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { BaseEventLoop } from '../core/base-event-loop.js';
import type { Handle } from '../core/handle.js';
import type { Task } from '../tasks/task.js';
import { checkMs, checkOptionalFunction } from './detector-util.js';
import type { FlightRecorder } from './flight-recorder.js';
import type { Instrument } from './instrument.js';

/** What the worker reports about a stall in progress. */
export interface StallReport {
  /** Sequence number of the stalled callback (counts callbacks since the watchdog started). */
  readonly callbackSeq: number;
  /**
   * The callback's function name ('' if anonymous); for one that runs a
   * task's step (its step handle, a sleep's timer, a wake-up), the task's
   * step: `step of task "NAME" #ID`, as Task.stepLabel() says.
   */
  readonly callbackName: string;
  /** The task whose step it runs; 0 / null for a plain callback. */
  readonly taskId: number;
  readonly taskName: string | null;
  /** When the callback started (epoch ms, Date.now()). */
  readonly sinceMs: number;
  /** How long it had run when reported (ms). */
  readonly stalledMs: number;
  /** When the worker reported it (epoch ms, Date.now() in the worker) — during the stall. */
  readonly reportedAtMs: number;
}

export interface StallWatchdogOptions {
  /** A callback running this long (ms) is a stall. Default 1000. */
  thresholdMs?: number;
  /** How often the worker looks (ms). Default thresholdMs / 4, at least 1. */
  pollMs?: number;
  /** Receives each report on the loop's thread (after the stall, when the thread is free). */
  onStall?: (report: StallReport) => void;
  /** Write a line to stderr from the worker, during the stall. Default: true unless onStall is given. */
  writeStderr?: boolean;
}

/** A running watchdog. */
export interface StallWatchdog {
  /** Resolves once the worker is polling (a stall before then goes unseen). */
  readonly ready: Promise<void>;
  /** Detaches the instrument and ends the worker. */
  stop(): Promise<void>;
}

const NAME_BYTES = 128;
const CALLBACK_NAME_AT = 64;
const TASK_NAME_AT = CALLBACK_NAME_AT + NAME_BYTES;
const BUFFER_BYTES = TASK_NAME_AT + NAME_BYTES;

/** The loop's side: writes the running callback into the shared buffer. */
class StallWriter implements Instrument {
  readonly name = 'StallWatchdog';
  readonly #i32: Int32Array;
  readonly #f64: Float64Array;
  readonly #bytes: Uint8Array;
  readonly #encoder = new TextEncoder();
  #seq = 0;
  #inCallback = false;
  #sawTask = false;

  constructor(buffer: SharedArrayBuffer) {
    this.#i32 = new Int32Array(buffer, 0, 8);
    this.#f64 = new Float64Array(buffer, 24, 1);
    this.#bytes = new Uint8Array(buffer);
  }

  beforeCallback(handle: Handle): void {
    const i32 = this.#i32;
    this.#inCallback = true;
    this.#sawTask = false;
    this.#f64[0] = Date.now();
    Atomics.store(i32, 2, 0);
    Atomics.store(i32, 3, this.#encode(handle.callback.name, CALLBACK_NAME_AT));
    Atomics.store(i32, 1, ++this.#seq);
    Atomics.store(i32, 0, 1);
  }

  beforeTaskStep(task: Task<unknown>): void {
    if (!this.#inCallback || this.#sawTask) return;
    this.#sawTask = true;
    Atomics.store(this.#i32, 4, this.#encode(task.name, TASK_NAME_AT));
    Atomics.store(this.#i32, 2, task.id);
  }

  afterCallback(): void {
    this.#inCallback = false;
    Atomics.store(this.#i32, 0, 0);
  }

  #encode(text: string, at: number): number {
    return this.#encoder.encodeInto(text, this.#bytes.subarray(at, at + NAME_BYTES)).written;
  }
}

/** The worker's side, as source (CommonJS, run with `eval: true`). */
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { buffer, thresholdMs, pollMs, writeStderr } = workerData;
const i32 = new Int32Array(buffer, 0, 8);
const f64 = new Float64Array(buffer, 24, 1);
const bytes = new Uint8Array(buffer);
const decoder = new TextDecoder();
let reportedSeq = -1;
function name(at, length) {
  return decoder.decode(bytes.slice(at, at + Math.min(length, ${NAME_BYTES})));
}
function check() {
  if (Atomics.load(i32, 0) !== 1) return;
  const seq = Atomics.load(i32, 1);
  if (seq === reportedSeq) return;
  const sinceMs = f64[0];
  const taskId = Atomics.load(i32, 2);
  const taskName = taskId === 0 ? null : name(${TASK_NAME_AT}, Atomics.load(i32, 4));
  // A callback that runs a task's step is named after the task: its own
  // function is eventide's (#runStep), which tells the reader nothing.
  const callbackName = taskId === 0 ? name(${CALLBACK_NAME_AT}, Atomics.load(i32, 3)) : 'step of task ' + JSON.stringify(taskName) + ' #' + taskId;
  if (Atomics.load(i32, 1) !== seq || Atomics.load(i32, 0) !== 1) return; // torn: it moved on
  const now = Date.now();
  const stalledMs = now - sinceMs;
  if (stalledMs < thresholdMs) return;
  reportedSeq = seq;
  const report = { callbackSeq: seq, callbackName, taskId, taskName, sinceMs, stalledMs, reportedAtMs: now };
  if (writeStderr) {
    const what = taskId === 0 ? 'callback ' + (callbackName || 'anonymous') : callbackName;
    try { writeSync(2, 'eventide watchdog: loop stalled for ' + stalledMs + ' ms in ' + what + ' (callback #' + seq + ', since ' + new Date(sinceMs).toISOString() + ')\\n'); } catch {}
  }
  parentPort.postMessage(report);
}
setInterval(check, pollMs);
parentPort.postMessage('ready');
`;

/**
 * Starts a worker thread that reports a callback running `thresholdMs` or
 * longer while it still runs. Returns `{ready, stop()}`.
 *
 * @example
 * const watchdog = startStallWatchdog(loop, {
 *   thresholdMs: 200,
 *   onStall: (s) => console.error(`stalled ${s.stalledMs} ms in ${s.taskName ?? s.callbackName}`),
 * });
 * await watchdog.ready;
 * // ... run the loop ...
 * await watchdog.stop();
 */
export function startStallWatchdog(loop: BaseEventLoop, options: StallWatchdogOptions = {}): StallWatchdog {
  if (loop === null || typeof loop !== 'object' || typeof (loop as { addInstrument?: unknown }).addInstrument !== 'function') {
    throw new TypeError(`startStallWatchdog: loop must be an event loop, got ${String(loop)}`);
  }
  const thresholdMs = checkMs(options.thresholdMs ?? 1000, 'startStallWatchdog: thresholdMs');
  const pollMs = Math.max(1, checkMs(options.pollMs ?? thresholdMs / 4, 'startStallWatchdog: pollMs'));
  const onStall = checkOptionalFunction(options.onStall, 'startStallWatchdog: onStall');
  const writeStderr = options.writeStderr ?? onStall === undefined;
  const buffer = new SharedArrayBuffer(BUFFER_BYTES);
  const writer = new StallWriter(buffer);
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { buffer, thresholdMs, pollMs, writeStderr } });
  worker.unref();
  let markReady: () => void = () => {};
  let failReady: (error: unknown) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  worker.on('message', (message: StallReport | 'ready') => {
    if (message === 'ready') return markReady();
    onStall?.(Object.freeze(message));
  });
  worker.on('error', (error) => failReady(error));
  loop.addInstrument(writer);
  let stopped: Promise<void> | null = null;
  return {
    ready,
    stop(): Promise<void> {
      stopped ??= (async () => {
        loop.removeInstrument(writer);
        markReady();
        await worker.terminate();
      })();
      return stopped;
    },
  };
}

/**
 * Prints `recorder.format()` to stderr whenever the process receives
 * `signal` (default SIGUSR2). Returns a function that removes the handler.
 *
 * @example
 * const recorder = new FlightRecorder({ capacity: 512 });
 * loop.addInstrument(recorder);
 * const undo = dumpOnSignal(recorder, 'SIGUSR2'); // then: kill -USR2 <pid>
 */
export function dumpOnSignal(recorder: FlightRecorder, signal: NodeJS.Signals = 'SIGUSR2', write: (text: string) => void = writeStderrSync): () => void {
  if (recorder === null || typeof recorder !== 'object' || typeof (recorder as { format?: unknown }).format !== 'function') {
    throw new TypeError(`dumpOnSignal: recorder must be a FlightRecorder, got ${String(recorder)}`);
  }
  if (typeof signal !== 'string' || !signal.startsWith('SIG')) throw new TypeError(`dumpOnSignal: signal must be a signal name such as 'SIGUSR2', got ${String(signal)}`);
  const handler = (): void => write(recorder.format() + '\n');
  process.on(signal, handler);
  return () => void process.off(signal, handler);
}

function writeStderrSync(text: string): void {
  writeSync(2, text);
}
