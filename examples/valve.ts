/**
 * The seed's control system: a task watching a pressure valve must run with
 * near-zero latency while thousands of background tasks ship logs.
 *
 * - The monitor watches two sources: a 1 ms timer, and a pipe written by a
 *   separate process (the sensor), which sends its CLOCK_MONOTONIC time in
 *   each 8-byte reading, so the reader knows exactly how late it is.
 * - The background: 10,000 tasks, each step burning ~50 µs of CPU and
 *   writing a log line to a file, then `yield* sleep(0)`.
 *
 * The same program runs twice: under the FIFO policy (everything in the
 * normal lane, no preemption: asyncio's behaviour) and under the priority
 * policy (monitor `critical`, background `low`, 0.25 ms slices). It prints the
 * monitor's latency p50/p99/max for each source and the background
 * throughput.
 *
 * Run: npm run build && node dist/examples/valve.js [--seconds 2] [--tasks 10000]
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeLoop } from '../src/hosts/node.js';
import { syscalls } from '../src/io/syscalls.js';
import { sleep, type Coroutine, type EventLoop, type Priority } from '../src/index.js';

interface Policy {
  name: string;
  monitorPriority: Priority;
  backgroundPriority: Priority;
  sliceMs: number;
}

interface Outcome {
  policy: string;
  timer: Summary;
  pipe: Summary;
  backgroundStepsPerSec: number;
}

interface Summary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const SENSOR_SOURCE = `
const buf = Buffer.alloc(8);
const fd = 1;
const fs = require('node:fs');
const periodMs = Number(process.argv[1] ?? 1);
setInterval(() => {
  buf.writeBigUInt64LE(process.hrtime.bigint());
  try { fs.writeSync(fd, buf); } catch { process.exit(0); }
}, periodMs);
`;

function summarize(samplesMs: number[]): Summary {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { count: sorted.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted[sorted.length - 1] ?? NaN };
}

function burn(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** Runs the valve scenario once under `policy`. */
export async function runValve(policy: Policy, options: { seconds: number; tasks: number; stepMs: number }): Promise<Outcome> {
  const loop: EventLoop = createNodeLoop({ sliceMs: policy.sliceMs });
  const fds = new Int32Array(2);
  const pipeResult = syscalls.pipe2(fds, syscalls.constants.O_NONBLOCK | syscalls.constants.O_CLOEXEC);
  if (pipeResult < 0) throw new Error(`pipe2 failed: errno ${-pipeResult}`);
  const [readFd, writeFd] = [fds[0] as number, fds[1] as number];
  const sensor = spawn(process.execPath, ['-e', SENSOR_SOURCE, '1'], { stdio: ['ignore', writeFd, 'inherit'] });
  syscalls.close(writeFd); // the sensor holds the write end now
  const logPath = join(tmpdir(), `eventide-valve-${process.pid}-${policy.name}.log`);
  const logFd = openSync(logPath, 'w');

  const timerLatencies: number[] = [];
  const pipeLatencies: number[] = [];
  let backgroundSteps = 0;
  let running = true;
  const reading = new Uint8Array(8 * 64);
  const view = new DataView(reading.buffer);

  loop.addReader(
    readFd,
    () => {
      const n = syscalls.read(readFd, reading, 0, reading.length);
      if (n < 8) return; // EAGAIN or a partial record: wait for more
      const nowNs = process.hrtime.bigint();
      const sentNs = view.getBigUint64(n - (n % 8) - 8, true);
      pipeLatencies.push(Number(nowNs - sentNs) / 1e6);
    },
    { priority: policy.monitorPriority },
  );

  try {
    await loop.runUntilComplete(function* (): Coroutine<void> {
      loop.createTask(function* () {
        while (running) {
          const dueMs = loop.time() + 1;
          yield* sleep(1);
          timerLatencies.push(loop.time() - dueMs);
        }
      }, { name: 'monitor', priority: policy.monitorPriority });
      for (let i = 0; i < options.tasks; i++) {
        loop.createTask(function* () {
          while (running) {
            burn(options.stepMs);
            writeSync(logFd, `task ${i} step at ${loop.time().toFixed(3)}\n`);
            backgroundSteps++;
            yield* sleep(0);
          }
        }, { name: `background-${i}`, priority: policy.backgroundPriority });
      }
      yield* sleep(options.seconds * 1000);
      running = false;
      yield* sleep(5); // let every task see the flag and end
    });
  } finally {
    loop.removeReader(readFd);
    sensor.kill();
    syscalls.close(readFd);
    closeSync(logFd);
    for (const task of loop.allTasks()) task.cancel();
    if (loop.allTasks().length > 0) await loop.runUntilComplete(function* () { yield* sleep(1); });
    loop.close();
  }
  return {
    policy: policy.name,
    timer: summarize(timerLatencies),
    pipe: summarize(pipeLatencies),
    backgroundStepsPerSec: backgroundSteps / options.seconds,
  };
}

export const POLICIES: readonly Policy[] = [
  { name: 'fifo', monitorPriority: 'normal', backgroundPriority: 'normal', sliceMs: Infinity },
  { name: 'priority', monitorPriority: 'critical', backgroundPriority: 'low', sliceMs: 0.25 },
];

function argValue(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'));
if (isMain) {
  const options = { seconds: argValue('--seconds', 2), tasks: argValue('--tasks', 10_000), stepMs: 0.05 };
  console.log(`valve: monitor on a 1 ms timer and a sensor pipe; ${options.tasks} background tasks x ${options.stepMs * 1000} µs steps; ${options.seconds} s per policy\n`);
  const fmt = (s: Summary): string => `p50 ${s.p50Ms.toFixed(3)}  p99 ${s.p99Ms.toFixed(3)}  max ${s.maxMs.toFixed(3)} ms (${s.count} samples)`;
  for (const policy of POLICIES) {
    const outcome = await runValve(policy, options);
    console.log(`${policy.name.padEnd(8)} timer: ${fmt(outcome.timer)}`);
    console.log(`${''.padEnd(8)} pipe:  ${fmt(outcome.pipe)}`);
    console.log(`${''.padEnd(8)} background: ${Math.round(outcome.backgroundStepsPerSec)} steps/s\n`);
  }
}
