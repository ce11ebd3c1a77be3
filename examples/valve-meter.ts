/**
 * Measuring the valve scenario (examples/valve.ts; bench/valve.ts runs it
 * under eventide, Node and asyncio): the sensor process, and the meter that
 * turns the monitor's wake-ups and the background's steps into latency
 * percentiles and a throughput. Every Node-side variant uses this file;
 * bench/py/valve.py applies the same rules in Python.
 *
 * One clock everywhere: CLOCK_MONOTONIC in ms (`process.hrtime`), the
 * clock the sensor stamps its readings with (Python's `time.monotonic_ns`
 * reads it too), so a reading's latency is exact across processes.
 *
 * The window. `start()` opens a warm-up (nothing recorded), then a window
 * of `windowMs`. Inside it:
 *  - a monitor event (a 1 ms timer coming due, a sensor reading being sent)
 *    handled in the window is a sample: handled time minus due time;
 *  - when the window ends, each event that came due before the end and is
 *    still unhandled is a *censored* sample: end minus due time, a lower
 *    bound. Under FIFO a 100k flood keeps the monitor from running for
 *    seconds, longer than the window: its latency is then reported as "at
 *    least the window", not dropped;
 *  - a background step is counted if it runs wholly inside the window;
 *    the longest one counted is the figure the priority target is stated
 *    against.
 * Whoever first sees the window over (a background step, the monitor) calls
 * `finish()`, which records the censored samples; nothing is recorded after.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { syscalls } from '../src/io/syscalls.js';

/**
 * `performance.now()` counts from a fixed CLOCK_MONOTONIC instant; this is
 * that instant in ms (read once: `process.hrtime.bigint()` allocates a
 * BigInt per call, and a background step reads the clock twice).
 */
const MONOTONIC_ORIGIN_MS = monotonicOrigin();

/** The origin from the tightest of a few bracketed reads (a read pair split by a context switch would be off by a slice). */
function monotonicOrigin(): number {
  let best = { spreadMs: Infinity, originMs: 0 };
  for (let i = 0; i < 20; i++) {
    const before = performance.now();
    const hrMs = Number(process.hrtime.bigint()) / 1e6;
    const after = performance.now();
    if (after - before < best.spreadMs) best = { spreadMs: after - before, originMs: hrMs - (before + after) / 2 };
  }
  return best.originMs;
}

/**
 * CLOCK_MONOTONIC in ms, the clock of every figure here (and of the
 * sensor's readings).
 *
 * @example
 * meter.timerArmed(nowMs() + 1);
 */
export function nowMs(): number {
  return MONOTONIC_ORIGIN_MS + performance.now();
}

/** Keeps the CPU busy for `ms` (a background step's work). */
function burn(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** The background's log file: a fresh file in the temp directory, removed by `close()`. */
export interface LogFile {
  readonly fd: number;
  close(): void;
}

/**
 * Opens a log file for the background tasks of run `name`.
 *
 * @example
 * const log = openLog('fifo');
 * writeSync(log.fd, 'task 1 step\n');
 * log.close(); // and deleted
 */
export function openLog(name: string): LogFile {
  const path = join(tmpdir(), `eventide-valve-${process.pid}-${name}.log`);
  const fd = openSync(path, 'w');
  return {
    fd,
    close() {
      closeSync(fd);
      unlinkSync(path);
    },
  };
}

/**
 * One step of background task `taskIndex`: burns `stepMs` of CPU, writes a
 * log line and tells `meter`. Returns false instead once the window is
 * over (calling `finish` first if nobody has): the task should end.
 *
 * @example
 * while (backgroundStep(meter, finish, 0.05, log.fd, i)) yield* sleep(0);
 */
export function backgroundStep(meter: ValveMeter, finish: () => void, stepMs: number, logFd: number, taskIndex: number): boolean {
  const startMs = nowMs();
  if (meter.over(startMs)) finish();
  if (meter.finished) return false;
  burn(stepMs);
  writeSync(logFd, `task ${taskIndex} step at ${startMs.toFixed(3)}\n`);
  meter.step(startMs, nowMs());
  return true;
}

/** Bytes per sensor reading: its CLOCK_MONOTONIC send time in ns, u64 little-endian. */
const READING_BYTES = 8;

// The sensor: a process of its own that writes a reading every `periodMs`
// to its stdout (the pipe). It exits when the reader is gone (EPIPE).
const SENSOR_SOURCE = `
const buf = Buffer.alloc(8);
const fs = require('node:fs');
const periodMs = Number(process.argv[1] ?? 1);
setInterval(() => {
  buf.writeBigUInt64LE(process.hrtime.bigint());
  try { fs.writeSync(1, buf); } catch { process.exit(0); }
}, periodMs);
`;

/** A running sensor process and the read end of its pipe (non-blocking, close-on-exec). */
export interface Sensor {
  readonly readFd: number;
  readonly process: ChildProcess;
  /** Closes this process's copy of `readFd` (after handing it to a child process). */
  closeReadFd(): void;
  /** Kills the sensor and closes `readFd` if still open. */
  stop(): void;
}

/**
 * Starts the sensor: a separate process writing a reading every `periodMs`
 * into a fresh pipe, whose read end it returns.
 *
 * @example
 * const sensor = startSensor(1);
 * loop.addReader(sensor.readFd, () => readPipe(sensor.readFd, meter, nowMs()), { priority: 'critical' });
 * // ...
 * sensor.stop();
 */
export function startSensor(periodMs = 1): Sensor {
  if (!(periodMs > 0)) throw new RangeError(`startSensor: periodMs must be a number > 0, got ${periodMs}`);
  const fds = new Int32Array(2);
  const result = syscalls.pipe2(fds, syscalls.constants.O_NONBLOCK | syscalls.constants.O_CLOEXEC);
  if (result < 0) throw new Error(`startSensor: pipe2 failed (errno ${-result})`);
  const [readFd, writeFd] = [fds[0] as number, fds[1] as number];
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, ['-e', SENSOR_SOURCE, String(periodMs)], { stdio: ['ignore', writeFd, 'inherit'] });
  } catch (error) {
    syscalls.close(readFd);
    throw error;
  } finally {
    syscalls.close(writeFd); // the sensor holds the write end now
  }
  let fdOpen = true;
  const closeReadFd = (): void => {
    if (fdOpen) syscalls.close(readFd);
    fdOpen = false;
  };
  return {
    readFd,
    process: child,
    closeReadFd,
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill();
      closeReadFd();
    },
  };
}

/**
 * Reads everything the pipe `fd` (non-blocking) holds into `meter`, as
 * handled at `atMs`.
 *
 * @example
 * loop.addReader(fd, () => readPipe(fd, meter, nowMs()), { priority: 'critical' });
 */
export function readPipe(fd: number, meter: ValveMeter, atMs: number): void {
  const buffer = pipeBuffer;
  for (;;) {
    const n = syscalls.read(fd, buffer, 0, buffer.length);
    if (n <= 0) return; // -EAGAIN: drained; 0: the sensor is gone
    meter.readings(buffer.subarray(0, n), atMs);
    if (n < buffer.length) return;
  }
}
const pipeBuffer = new Uint8Array(READING_BYTES * 512);

/** A latency distribution (nearest-rank percentiles). */
export interface LatencySummary {
  /** Samples in the window, censored ones included. */
  count: number;
  /** Samples still pending when the window ended (lower bounds). */
  censored: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** One run of the scenario, measured over its window. Python prints the same shape. */
export interface ValveOutcome {
  windowMs: number;
  timer: LatencySummary;
  pipe: LatencySummary;
  /** Background steps that ended in the window. */
  steps: number;
  stepsPerSec: number;
  /** The longest and the p99 background step in the window (burn + log write). */
  maxStepMs: number;
  p99StepMs: number;
  /** Background steps per second of this process's CPU time over the window: robust to losing the CPU to other work. */
  stepsPerCpuSec: number;
  /** Garbage-collector pauses that began in the window (V8's 'gc' performance entries; null in Python). */
  gc: { pauses: number; totalMs: number; maxMs: number } | null;
}

/** This process's CPU time (user + system) in ms. */
function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** The p-th percentile (0-100, nearest rank) of ascending `sorted`; NaN when empty. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

function summarize(samplesMs: number[], censored: number): LatencySummary {
  const sorted = Float64Array.from(samplesMs).sort();
  const list = Array.from(sorted);
  return { count: list.length, censored, p50Ms: percentile(list, 50), p99Ms: percentile(list, 99), maxMs: list[list.length - 1] ?? NaN };
}

/**
 * Records one run of the valve scenario over a warm-up and a window (see
 * the top of this file for the rules).
 *
 * @example
 * const meter = new ValveMeter({ warmupMs: 300, windowMs: 1500 });
 * meter.start();
 * meter.timerArmed(nowMs() + 1);
 * // ... when the monitor's timer wakes it:
 * meter.timerFired(nowMs());
 * // ... when a step, the monitor or the reader sees meter.over(now):
 * meter.finish(() => readPipe(fd, meter, nowMs()));
 * console.log(meter.outcome());
 */
export class ValveMeter {
  readonly warmupMs: number;
  readonly windowMs: number;
  #t0 = Infinity;
  #t1 = Infinity;
  /** finish() has begun: only its censored samples are still recorded. */
  #finished = false;
  /** finish() is done: nothing more is recorded. */
  #closed = false;
  #timerDueMs = NaN;
  readonly #timer: number[] = [];
  readonly #pipe: number[] = [];
  #timerCensored = 0;
  #pipeCensored = 0;
  readonly #stepsMs: number[] = [];
  /** CPU time when the window was first seen open, and when it was finished (ms). */
  #cpu0Ms = NaN;
  #cpu1Ms = NaN;
  /** V8's GC pauses as [start, duration] in ms on nowMs()'s clock, collected from start() on. */
  readonly #gcPauses: [number, number][] = [];
  #gcObserver: PerformanceObserver | null = null;
  /** Bytes of a reading split across two reads (never, with 8-byte atomic pipe writes; kept for safety). */
  #partial: number[] = [];

  constructor(options: { warmupMs: number; windowMs: number }) {
    const { warmupMs, windowMs } = options;
    if (!(warmupMs >= 0)) throw new RangeError(`ValveMeter: warmupMs must be a number >= 0, got ${warmupMs}`);
    if (!(windowMs > 0)) throw new RangeError(`ValveMeter: windowMs must be a number > 0, got ${windowMs}`);
    this.warmupMs = warmupMs;
    this.windowMs = windowMs;
  }

  /** Opens the warm-up now (call it once the flood exists); the window follows it. */
  start(): void {
    this.#t0 = nowMs() + this.warmupMs;
    this.#t1 = this.#t0 + this.windowMs;
    this.#gcObserver = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) this.#gcPauses.push([MONOTONIC_ORIGIN_MS + entry.startTime, entry.duration]);
    });
    this.#gcObserver.observe({ entryTypes: ['gc'] });
  }

  /** Whether `finish()` has run: the monitor and the background stop. */
  get finished(): boolean {
    return this.#finished;
  }

  /** Whether the window is over at `atMs` (the caller should `finish()`). */
  over(atMs: number): boolean {
    return atMs >= this.#t1;
  }

  /** The monitor's timer was set to come due at `dueMs`. */
  timerArmed(dueMs: number): void {
    this.#timerDueMs = dueMs;
  }

  /** The monitor's timer woke it at `atMs`. */
  timerFired(atMs: number): void {
    this.#sample(this.#timer, this.#timerDueMs, atMs);
    this.#timerDueMs = NaN;
  }

  /** Sensor readings (whole or split 8-byte records) handled at `atMs`. */
  readings(bytes: Uint8Array, atMs: number): void {
    let offset = 0;
    if (this.#partial.length > 0) {
      while (this.#partial.length < READING_BYTES && offset < bytes.length) this.#partial.push(bytes[offset++] as number);
      if (this.#partial.length < READING_BYTES) return;
      this.#reading(new DataView(Uint8Array.from(this.#partial).buffer).getBigUint64(0, true), atMs);
      this.#partial = [];
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (; offset + READING_BYTES <= bytes.length; offset += READING_BYTES) this.#reading(view.getBigUint64(offset, true), atMs);
    for (; offset < bytes.length; offset++) this.#partial.push(bytes[offset] as number);
  }

  #reading(sentNs: bigint, atMs: number): void {
    this.#sample(this.#pipe, Number(sentNs) / 1e6, atMs);
  }

  /** One background step ran from `startMs` to `endMs`. */
  step(startMs: number, endMs: number): void {
    if (startMs >= this.#t0 && endMs < this.#t1 && !this.#finished) {
      if (this.#stepsMs.length === 0) this.#cpu0Ms = cpuMs();
      this.#stepsMs.push(endMs - startMs);
    }
  }

  /**
   * Ends the window: the timer's pending wake-up, and the readings `drain`
   * hands to `readings()` (read now, after the end), become censored
   * samples. Later calls do nothing.
   */
  finish(drain: () => void): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#cpu1Ms = cpuMs();
    if (this.#timerDueMs < this.#t1) this.#sample(this.#timer, this.#timerDueMs, Infinity);
    drain();
    this.#closed = true;
  }

  /** Adds `atMs - dueMs` to `samples` if the event counts (see the top of the file). */
  #sample(samples: number[], dueMs: number, atMs: number): void {
    if (this.#closed) return;
    if (atMs < this.#t0 || !(dueMs < this.#t1)) return; // warm-up, or due after the window
    if (atMs > this.#t1) {
      samples.push(this.#t1 - dueMs);
      if (samples === this.#timer) this.#timerCensored++;
      else this.#pipeCensored++;
    } else samples.push(atMs - dueMs);
  }

  /**
   * The figures of the window. Call it after the run has given Node's loop a
   * turn since `finish()` (GC entries arrive asynchronously).
   */
  outcome(): ValveOutcome {
    this.#gcObserver?.disconnect();
    this.#gcObserver = null;
    const pauses = this.#gcPauses.filter(([startMs]) => startMs >= this.#t0 && startMs < this.#t1).map(([, durationMs]) => durationMs);
    const steps = Array.from(Float64Array.from(this.#stepsMs).sort());
    return {
      windowMs: this.windowMs,
      timer: summarize(this.#timer, this.#timerCensored),
      pipe: summarize(this.#pipe, this.#pipeCensored),
      steps: steps.length,
      stepsPerSec: (steps.length * 1000) / this.windowMs,
      maxStepMs: steps[steps.length - 1] ?? NaN,
      p99StepMs: percentile(steps, 99),
      stepsPerCpuSec: (steps.length * 1000) / (this.#cpu1Ms - this.#cpu0Ms),
      gc: { pauses: pauses.length, totalMs: pauses.reduce((sum, ms) => sum + ms, 0), maxMs: Math.max(0, ...pauses) },
    };
  }
}
