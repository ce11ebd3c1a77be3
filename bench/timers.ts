/**
 * Timers: 1e6 timers with random deadlines spread over 1 s, half of them
 * cancelled, the other half fired.
 *
 * Every run schedules the same 1e6 delays (whole milliseconds, 1..1000,
 * from a fixed-seed PRNG, so every run and every machine sees the same
 * workload), then cancels every other timer in scheduling order (the
 * deadlines are random, so that is a random half by deadline), then runs
 * until the 5e5 live ones have fired.
 *
 * Wall time is about 1 s for everyone by construction (the last deadline is
 * 1 s out), so the figure that matters is CPU time, from
 * `process.cpuUsage()` (user + system, all threads of the process, GC
 * included), for scheduling + cancelling + firing, divided by 1e6 timers.
 *
 *  - eventide, real clock: `callLater` / `cancel`, `runForever` until the
 *    last live timer stops the loop;
 *  - Node: `setTimeout` / `clearTimeout` (libuv-backed timer lists, one list
 *    per distinct duration — the reason for whole-ms delays: fractional ones
 *    would give Node a list per timer and flatter eventide);
 *  - eventide, virtual clock: the same work with no waiting at all (the loop
 *    jumps from deadline to deadline), i.e. the pure cost of the heap and
 *    the dispatch.
 */
import { EventLoop, type TimerHandle } from '../src/index.js';
import { expectCount, nowNs, type Group, type Sample } from './harness.js';

export const TIMERS = 1_000_000;
export const SPAN_MS = 1000;
const WARMUP_TIMERS = 100_000;
const WARMUP_SPAN_MS = 100;
const SEED = 0x5eed1e55;

/** mulberry32: a tiny fixed-seed PRNG, good enough to spread deadlines. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Whole-ms delays in 1..spanMs, the same for a given (count, span). */
function makeDelays(count: number, spanMs: number): Int32Array {
  const random = mulberry32(SEED);
  const delays = new Int32Array(count);
  for (let i = 0; i < count; i++) delays[i] = 1 + Math.floor(random() * spanMs);
  return delays;
}

const delayCache = new Map<string, Int32Array>();
function delaysFor(count: number, spanMs: number): Int32Array {
  const key = `${count}/${spanMs}`;
  let delays = delayCache.get(key);
  if (delays === undefined) delayCache.set(key, (delays = makeDelays(count, spanMs)));
  return delays;
}

function cpuNs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) * 1000;
}

function sampleOf(count: number, cpu: number, wallNs: number): Sample {
  return { value: cpu / count, extra: { 'wall ms': wallNs / 1e6, 'CPU ms': cpu / 1e6 } };
}

async function eventideTimers(clock: 'real' | 'virtual', count: number, spanMs: number): Promise<Sample> {
  const delays = delaysFor(count, spanMs);
  const loop = new EventLoop({ clock });
  const handles = new Array<TimerHandle | null>(count).fill(null);
  const live = count / 2;
  let fired = 0;
  const onFire = (): void => {
    if (++fired === live) loop.stop();
  };
  const cpu0 = process.cpuUsage();
  const t0 = nowNs();
  for (let i = 0; i < count; i++) handles[i] = loop.callLater(delays[i] as number, onFire);
  for (let i = 1; i < count; i += 2) (handles[i] as TimerHandle).cancel();
  await loop.runForever();
  const wall = nowNs() - t0;
  const cpu = cpuNs(cpu0);
  loop.close();
  expectCount(`eventide ${clock} timers`, fired, live);
  return sampleOf(count, cpu, wall);
}

async function nodeTimers(count: number, spanMs: number): Promise<Sample> {
  const delays = delaysFor(count, spanMs);
  const ids = new Array<NodeJS.Timeout | null>(count).fill(null);
  const live = count / 2;
  let fired = 0;
  let allFired: () => void = () => {};
  const done = new Promise<void>((resolve) => (allFired = resolve));
  const onFire = (): void => {
    if (++fired === live) allFired();
  };
  const cpu0 = process.cpuUsage();
  const t0 = nowNs();
  for (let i = 0; i < count; i++) ids[i] = setTimeout(onFire, delays[i] as number);
  for (let i = 1; i < count; i += 2) clearTimeout(ids[i] as NodeJS.Timeout);
  await done;
  const wall = nowNs() - t0;
  const cpu = cpuNs(cpu0);
  expectCount('setTimeout timers', fired, live);
  return sampleOf(count, cpu, wall);
}

const UNIT = 'CPU ns/timer';
const count = (warmup: boolean): number => (warmup ? WARMUP_TIMERS : TIMERS);
const span = (warmup: boolean): number => (warmup ? WARMUP_SPAN_MS : SPAN_MS);

export const timersGroup: Group = {
  id: 'timers',
  title: `timers: ${TIMERS.toExponential(0)} random deadlines over ${SPAN_MS} ms, half cancelled, half fired (CPU time)`,
  cases: [
    { name: 'eventide callLater (real clock)', unit: UNIT, run: (w) => eventideTimers('real', count(w), span(w)) },
    { name: 'setTimeout/clearTimeout', unit: UNIT, run: (w) => nodeTimers(count(w), span(w)) },
    { name: 'eventide callLater (virtual clock)', unit: UNIT, run: (w) => eventideTimers('virtual', count(w), span(w)) },
  ],
  ratios: [
    {
      label: 'real clock: eventide / setTimeout (CPU)',
      numerator: 'eventide callLater (real clock)',
      denominator: 'setTimeout/clearTimeout',
      target: 1,
    },
    {
      label: 'virtual clock: eventide / setTimeout (CPU)',
      numerator: 'eventide callLater (virtual clock)',
      denominator: 'setTimeout/clearTimeout',
      target: null,
    },
  ],
  reps: { full: 7, quick: 2 },
  warmups: { full: 1, quick: 1 },
};
