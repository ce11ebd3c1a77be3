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
 * policy (monitor `critical`, background `low`, the default 0.1 ms slices). It prints the
 * monitor's latency p50/p99/max for each source and the background
 * throughput, measured over a window after a short warm-up (the rules are
 * in valve-meter.ts). bench/valve.ts runs this same `runValve` with floods
 * of 1k to 100k tasks, beside Node and asyncio.
 *
 * Run: npm run build && node dist/examples/valve.js [--seconds 2] [--tasks 10000]
 */
import { createNodeLoop } from '../src/hosts/node.js';
import { DEFAULT_SLICE_MS, sleep, wait, type Coroutine, type Priority, type Task } from '../src/index.js';
import { backgroundStep, nowMs, openLog, readPipe, startSensor, ValveMeter, type LatencySummary, type ValveOutcome } from './valve-meter.js';

/** Where the monitor and the background run, and how long a lower lane may hold the loop. */
export interface ValvePolicy {
  name: string;
  monitorPriority: Priority;
  backgroundPriority: Priority;
  sliceMs: number;
}

export interface ValveOptions {
  /** Background tasks in the flood. */
  tasks: number;
  /** CPU each background step burns (ms). */
  stepMs: number;
  /** Untimed run before the window, once the flood exists (ms). */
  warmupMs: number;
  /** The measured window (ms). */
  windowMs: number;
  /** Read end of a running sensor's pipe (non-blocking); default: start a sensor for this run. */
  sensorFd?: number;
}

/**
 * Runs the valve scenario once under `policy` on a fresh eventide loop and
 * returns what its window measured.
 *
 * @example
 * const outcome = await runValve(POLICIES[1], { tasks: 10_000, stepMs: 0.05, warmupMs: 300, windowMs: 2000 });
 * console.log(outcome.timer.p99Ms, outcome.stepsPerSec);
 */
export async function runValve(policy: ValvePolicy, options: ValveOptions): Promise<ValveOutcome> {
  const sensor = options.sensorFd === undefined ? startSensor(1) : null;
  const readFd = options.sensorFd ?? (sensor?.readFd as number);
  const loop = createNodeLoop({ sliceMs: policy.sliceMs });
  const log = openLog(policy.name);
  const meter = new ValveMeter(options);
  const ended = loop.createFuture<void>();
  const finish = (): void => {
    meter.finish(() => readPipe(readFd, meter, nowMs()));
    if (!ended.done()) ended.setResult(undefined);
  };

  loop.addReader(
    readFd,
    () => {
      const atMs = nowMs();
      readPipe(readFd, meter, atMs);
      if (meter.over(atMs)) finish();
    },
    { priority: policy.monitorPriority },
  );

  const tasks: Task<void>[] = [];
  try {
    await loop.runUntilComplete(function* (): Coroutine<void> {
      tasks.push(
        loop.createTask(function* () {
          while (!meter.finished) {
            meter.timerArmed(nowMs() + 1);
            yield* sleep(1);
            const atMs = nowMs();
            meter.timerFired(atMs);
            if (meter.over(atMs)) finish();
          }
        }, { name: 'monitor', priority: policy.monitorPriority }),
      );
      for (let i = 0; i < options.tasks; i++) {
        tasks.push(
          loop.createTask(function* () {
            // burn ~50 µs, write a log line; until the window is over
            while (backgroundStep(meter, finish, options.stepMs, log.fd, i)) yield* sleep(0);
          }, { name: `background-${i}`, priority: policy.backgroundPriority }),
        );
      }
      meter.start();
      yield* ended;
      yield* wait(tasks); // every task sees meter.finished and ends
    });
  } finally {
    loop.removeReader(readFd);
    sensor?.stop();
    log.close();
    const leftover = tasks.filter((task) => !task.done());
    for (const task of leftover) task.cancel();
    if (leftover.length > 0) await loop.runUntilComplete(function* () { yield* wait(leftover); });
    loop.close();
  }
  return meter.outcome();
}

/** FIFO: asyncio's behaviour (one lane, no preemption). Priority: monitor critical, background low, the default slice (0.1 ms). */
export const POLICIES: readonly ValvePolicy[] = [
  { name: 'fifo', monitorPriority: 'normal', backgroundPriority: 'normal', sliceMs: Infinity },
  { name: 'priority', monitorPriority: 'critical', backgroundPriority: 'low', sliceMs: DEFAULT_SLICE_MS },
];

function argValue(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  if (index < 0) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!(value > 0)) throw new RangeError(`valve: ${name} must be a number > 0, got ${JSON.stringify(process.argv[index + 1])}`);
  return value;
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'));
if (isMain) {
  const seconds = argValue('--seconds', 2);
  const options = { tasks: Math.floor(argValue('--tasks', 10_000)), stepMs: 0.05, warmupMs: 300, windowMs: seconds * 1000 };
  console.log(`valve: monitor on a 1 ms timer and a sensor pipe; ${options.tasks} background tasks x ${options.stepMs * 1000} µs steps; ${seconds} s per policy\n`);
  const fmt = (s: LatencySummary): string =>
    `p50 ${s.p50Ms.toFixed(3)}  p99 ${s.p99Ms.toFixed(3)}  max ${s.maxMs.toFixed(3)} ms (${s.count} samples${s.censored > 0 ? `, ${s.censored} still waiting at the end: lower bounds` : ''})`;
  for (const policy of POLICIES) {
    const outcome = await runValve(policy, options);
    console.log(`${policy.name.padEnd(8)} timer: ${fmt(outcome.timer)}`);
    console.log(`${''.padEnd(8)} pipe:  ${fmt(outcome.pipe)}`);
    console.log(`${''.padEnd(8)} background: ${Math.round(outcome.stepsPerSec)} steps/s\n`);
  }
}
