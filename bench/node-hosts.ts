/**
 * Wake-up latency of the two Node host modes: pipe ping-pong round trips.
 *
 * The far end is `cat` in a child process (a native echo that is never
 * the bottleneck: one read, one write). Each round trip writes one byte
 * into cat's stdin and waits until it comes back on cat's stdout, so every
 * round trip is one complete idle → woken → callback cycle of the side
 * under test:
 *
 *  - eventide guest: `createNodeLoop({ mode: 'guest' })`, `addReader` on
 *    the pipe; the loop idles inside Node's loop (a libuv watcher on its
 *    epoll fd);
 *  - eventide blocking: `createNodeLoop({ mode: 'blocking' })`, the same
 *    reader; the loop idles in its own epoll_wait;
 *  - Node: `child.stdout.on('data')` / `child.stdin.write()` on Node's own
 *    pipes (libuv streams) — the baseline;
 *  - the same Node ping-pong while an eventide loop (guest, then blocking)
 *    sits idle in runForever: what an idle eventide loop costs Node's own
 *    I/O (in blocking mode every Node wake-up passes through eventide's
 *    epoll_wait first).
 *
 * Cases are interleaved (every round runs each case once, starting at a
 * different case), and all round trips of a case are pooled before taking
 * the median and p99. Also reported: CPU time per round trip of this
 * process (`process.cpuUsage`, user + system), which shows what each wake
 * costs beyond the wait itself.
 *
 * Usage: node dist/bench/node-hosts.js [--quick]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createNodeLoop, type NodeHostMode } from '../src/hosts/node.js';
import { checkErrno } from '../src/io/errors.js';
import { syscalls as sys } from '../src/io/syscalls.js';

export interface LatencyFigures {
  name: string;
  roundTrips: number;
  medianUs: number;
  p99Us: number;
  meanUs: number;
  /** CPU time of this process per round trip (µs). */
  cpuUs: number;
}

export interface NodeHostsBenchOptions {
  /** Round trips per case per round. Default 5000 (quick: 1000). */
  roundTrips?: number;
  /** Rounds (each runs every case once). Default 5 (quick: 2). */
  rounds?: number;
  quick?: boolean;
}

const { O_CLOEXEC, O_NONBLOCK, F_GETFL, F_SETFL } = sys.constants;

/** One echo peer: `cat` reading our `toCat` pipe and writing our `fromCat` pipe. */
interface CatPeer {
  child: ChildProcess;
  /** Our ends, non-blocking. */
  writeFd: number;
  readFd: number;
}

/** cat between two raw pipes; cat's ends stay blocking, ours are made non-blocking. */
function spawnCat(): CatPeer {
  const toCat = new Int32Array(2);
  const fromCat = new Int32Array(2);
  checkErrno(sys.pipe2(toCat, O_CLOEXEC), 'pipe2');
  checkErrno(sys.pipe2(fromCat, O_CLOEXEC), 'pipe2');
  const [catIn, writeFd] = [toCat[0] as number, toCat[1] as number];
  const [readFd, catOut] = [fromCat[0] as number, fromCat[1] as number];
  for (const fd of [writeFd, readFd]) checkErrno(sys.fcntl(fd, F_SETFL, sys.fcntl(fd, F_GETFL, 0) | O_NONBLOCK), 'fcntl');
  const child = spawn('cat', [], { stdio: [catIn, catOut, 'ignore'] });
  sys.close(catIn);
  sys.close(catOut);
  return { child, writeFd, readFd };
}

async function endCat(peer: CatPeer): Promise<void> {
  const exited = new Promise<void>((resolve) => peer.child.once('exit', () => resolve()));
  sys.close(peer.writeFd); // cat sees EOF and exits
  await exited;
  sys.close(peer.readFd);
}

function cpuUs(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

const PING = new Uint8Array([0x2a]);

/** `count` round trips through cat, driven by an eventide loop in `mode`. */
async function eventideRoundTrips(mode: NodeHostMode, count: number, samplesUs: number[]): Promise<number> {
  const peer = spawnCat();
  const loop = createNodeLoop({ mode });
  const buffer = new Uint8Array(64);
  let done = 0;
  let sentMs = 0;
  const cpuStart = cpuUs();
  loop.addReader(peer.readFd, () => {
    const n = sys.read(peer.readFd, buffer, 0, buffer.length);
    if (n <= 0) return; // -EAGAIN: spurious
    samplesUs.push((performance.now() - sentMs) * 1000);
    if (++done === count) {
      loop.stop();
      return;
    }
    sentMs = performance.now();
    sys.write(peer.writeFd, PING, 0, 1);
  });
  sentMs = performance.now();
  sys.write(peer.writeFd, PING, 0, 1);
  await loop.runForever();
  const cpu = cpuUs() - cpuStart;
  loop.removeReader(peer.readFd);
  loop.close();
  await endCat(peer);
  return cpu;
}

/**
 * `count` round trips through cat on Node's own pipe streams; with `idleLoop`,
 * while an eventide loop in that mode sits idle in runForever (the cost an
 * idle eventide loop adds to Node's own I/O).
 */
async function nodeRoundTrips(count: number, samplesUs: number[], idleLoop?: NodeHostMode): Promise<number> {
  const loop = idleLoop === undefined ? null : createNodeLoop({ mode: idleLoop });
  const running = loop?.runForever();
  const child = spawn('cat', [], { stdio: ['pipe', 'pipe', 'ignore'] });
  const stdin = child.stdin!;
  const stdout = child.stdout!;
  const ping = Buffer.from(PING);
  let done = 0;
  let sentMs = 0;
  const cpuStart = cpuUs();
  await new Promise<void>((resolve) => {
    // Strict ping-pong: one byte is in flight, so every chunk is one pong.
    stdout.on('data', () => {
      samplesUs.push((performance.now() - sentMs) * 1000);
      if (++done === count) return resolve();
      sentMs = performance.now();
      stdin.write(ping);
    });
    sentMs = performance.now();
    stdin.write(ping);
  });
  const cpu = cpuUs() - cpuStart;
  if (loop !== null) {
    loop.stop();
    await running;
    loop.close();
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  stdin.end();
  await exited;
  return cpu;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

interface BenchCase {
  name: string;
  run(count: number, samplesUs: number[]): Promise<number>;
}

const CASES: readonly BenchCase[] = [
  { name: 'eventide guest', run: (count, samples) => eventideRoundTrips('guest', count, samples) },
  { name: 'eventide blocking', run: (count, samples) => eventideRoundTrips('blocking', count, samples) },
  { name: 'Node pipe streams', run: (count, samples) => nodeRoundTrips(count, samples) },
  { name: 'Node, guest idle', run: (count, samples) => nodeRoundTrips(count, samples, 'guest') },
  { name: 'Node, blocking idle', run: (count, samples) => nodeRoundTrips(count, samples, 'blocking') },
];

/**
 * Runs the ping-pong for every case and returns median / p99 round trip
 * (µs) and CPU µs per round trip, one entry per case.
 *
 * @example
 * const figures = await runNodeHostsBench({ quick: true });
 * console.table(figures);
 */
export async function runNodeHostsBench(options: NodeHostsBenchOptions = {}): Promise<LatencyFigures[]> {
  const quick = options.quick ?? false;
  const roundTrips = options.roundTrips ?? (quick ? 1000 : 5000);
  const rounds = options.rounds ?? (quick ? 2 : 5);
  // Warm-up: JIT the paths of every case; results thrown away.
  for (const benchCase of CASES) await benchCase.run(Math.min(roundTrips, 1000), []);
  const samples = CASES.map(() => [] as number[]);
  const cpu = CASES.map(() => 0);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < CASES.length; k++) {
      const index = (round + k) % CASES.length;
      cpu[index] = (cpu[index] as number) + (await (CASES[index] as BenchCase).run(roundTrips, samples[index] as number[]));
    }
  }
  return CASES.map((benchCase, index) => {
    const sorted = (samples[index] as number[]).slice().sort((a, b) => a - b);
    return {
      name: benchCase.name,
      roundTrips: sorted.length,
      medianUs: percentile(sorted, 50),
      p99Us: percentile(sorted, 99),
      meanUs: sorted.reduce((sum, value) => sum + value, 0) / sorted.length,
      cpuUs: (cpu[index] as number) / sorted.length,
    };
  });
}

/** The figures as a small text table. */
export function formatNodeHostsBench(figures: readonly LatencyFigures[]): string {
  const lines = ['pipe ping-pong round trip through cat (µs)', 'case                 median      p99     mean   CPU/rt   round trips'];
  for (const f of figures) {
    lines.push(
      `${f.name.padEnd(18)} ${f.medianUs.toFixed(1).padStart(8)} ${f.p99Us.toFixed(1).padStart(8)} ${f.meanUs.toFixed(1).padStart(8)} ${f.cpuUs.toFixed(1).padStart(8)}   ${f.roundTrips}`,
    );
  }
  return lines.join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const figures = await runNodeHostsBench({ quick: process.argv.includes('--quick') });
  console.log(formatNodeHostsBench(figures));
}
