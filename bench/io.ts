/**
 * The I/O benchmark group (`npm run bench -- io`): TCP echo throughput and
 * wake-up latency, eventide side by side with Node, asyncio, uvloop and C,
 * all measured in one run. Issue 3, "Benchmark (not a test)".
 *
 * Every measured program is a process of its own, pinned with `taskset`:
 * an echo server on CPU 0 and the load generator on CPU 1 (the latency
 * ping-pong keeps both its ends on CPU 0). This process only starts them
 * and collects their
 * figures, idle in between. The load generator and the peers are small C
 * programs (bench/c/), compiled here at run time into a temporary
 * directory, so that the client is never the bottleneck.
 *
 * TCP echo. Servers: eventide protocols (createServer + a Protocol) on the
 * guest host and, for information, on the blocking host; eventide streams
 * (startServer + readExactly / write / drain); Node `net`; a minimal C
 * epoll server (the one-core ceiling); and, when /usr/bin/python3 has them,
 * asyncio and uvloop, each with a Protocol and with streams (bench/py/).
 * For information, not for the targets: eventide and asyncio echo servers
 * written as a BufferedProtocol (receiving into their own buffer).
 * The client (bench/c/echo-client.c) keeps exactly one message in flight
 * per connection for `seconds`, after a short uncounted warm-up, and also
 * reads the server's CPU time over the counted interval from /proc. Cases:
 * 1 KiB x 1 connection, 1 KiB x 50, 16 KiB x 50. Every server is primed
 * first with a burst of connections at both sizes that then close (asyncio
 * runs about 4x slower until it has once freed a large read buffer).
 *
 * Wake-up latency. A socketpair: one end in the C `pingpong pong` peer,
 * the other, as fd 3, in the side under test, which writes one byte and
 * waits for it to come back through its loop's reader path, timing every
 * round trip: eventide addReader (guest and blocking hosts), Node
 * `net.Socket`, asyncio / uvloop `add_reader`, C epoll (the floor), and
 * the addon floor: a JavaScript loop of epoll_wait, read and write on
 * eventide's addon with no event loop, the floor for any loop built on it.
 * Both ends share one core (see runPing for why).
 *
 * Rounds are interleaved: each round runs every case once, in an order
 * rotated from round to round, so drift on this shared machine spreads
 * over all servers. A case reports the median over rounds (and min, max);
 * ratios are median over median. Throughput is higher-is-better, latency
 * lower-is-better: each ratio says which way its target reads.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, formatGroup, formatRatios, formatTable, median, type CaseResult, type GroupResult, type RatioResult } from './harness.js';

/**
 * A group that runs itself, instead of through harness.ts's `runGroup`:
 * what it measures lives in other processes. `run` returns the same
 * GroupResult shape, so the index prints and stores it like the others.
 */
export interface StandaloneGroup {
  id: string;
  title: string;
  /** File under bench/results/ a complete, non-quick run writes this group to. */
  resultsFile: string;
  run(quick: boolean, onProgress: (done: number, total: number) => void): Promise<GroupResult>;
  format(result: GroupResult): string;
}

/** What the io group adds to a GroupResult: how it ran, and what it had to skip. */
export interface IoGroupResult extends GroupResult {
  setup: {
    seconds: number;
    warmupMs: number;
    roundTrips: number;
    pinned: string;
    compiler: string | null;
    python: string | null;
    uvloop: string | null;
    loadAverage1mStart: number;
    loadAverage1mEnd: number;
    elapsedS: number;
  };
  notes: string[];
}

const PYTHON = '/usr/bin/python3';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const C_DIR = join(ROOT, 'bench', 'c');
const PY_DIR = join(ROOT, 'bench', 'py');
const NODE_SERVER = fileURLToPath(new URL('./io-server.js', import.meta.url));
const NODE_PING = fileURLToPath(new URL('./io-ping.js', import.meta.url));

interface Settings {
  rounds: number;
  /** Counted seconds per client run. */
  seconds: number;
  /** Uncounted client warm-up per run (ms). */
  warmupMs: number;
  /** Seconds of each priming burst (one per message size). */
  primeSeconds: number;
  /** Timed round trips per latency run, and untimed ones before them. */
  roundTrips: number;
  pingWarmup: number;
}

// Many short rounds rather than a few long ones: on this shared machine
// other work comes and goes in bursts of seconds, and a median over ten
// interleaved half-second runs shrugs off a burst that would sink one of
// three two-second runs. Ping warm-ups are long enough for V8 to finish
// optimizing the Node sides' paths (its compiler threads share the core).
const FULL: Settings = { rounds: 10, seconds: 0.5, warmupMs: 100, primeSeconds: 0.25, roundTrips: 6000, pingWarmup: 5000 };
const QUICK: Settings = { rounds: 3, seconds: 0.25, warmupMs: 100, primeSeconds: 0.15, roundTrips: 3000, pingWarmup: 2000 };

interface Workload {
  label: string;
  conns: number;
  size: number;
}

const WORKLOADS: readonly Workload[] = [
  { label: '1 KiB x 1', conns: 1, size: 1024 },
  { label: '1 KiB x 50', conns: 50, size: 1024 },
  { label: '16 KiB x 50', conns: 50, size: 16384 },
];
const SIZES = [...new Set(WORKLOADS.map((w) => w.size))].join(',');

// ------------------------------------------------------------ processes

/** Every child this process started, so none outlives it (even on a crash). */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Waits for `child` to exit; resolves with its stdout, rejects (with its stderr) on failure or after `timeoutMs`. */
function collect(child: ChildProcess, what: string, timeoutMs: number): Promise<string> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bench io: ${what} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`bench io: ${what} could not start: ${error.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(Object.assign(new Error(`bench io: ${what} failed (exit ${code}, signal ${signal}): ${stderr.trim()}`), { exitCode: code }));
    });
  });
}

function lastJsonLine<T>(text: string, what: string): T {
  const line = text.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new Error(`bench io: ${what} printed no JSON: ${JSON.stringify(text.slice(0, 200))}`);
  }
}

/** `taskset -c N` prefixes for the server side and the client side, or none. */
interface Pinning {
  server: string[];
  client: string[];
  /** Both ends of the wake-up ping-pong (one core: see runPing). */
  ping: string[];
  text: string;
}

function choosePinning(): Pinning {
  const none = (why: string): Pinning => ({ server: [], client: [], ping: [], text: `not pinned (${why})` });
  if (cpus().length < 2) return none('fewer than 2 CPUs');
  const probe = spawnSync('taskset', ['-c', '1', 'true'], { stdio: 'ignore' });
  if (probe.error !== undefined || probe.status !== 0) return none('taskset (util-linux) not available');
  return {
    server: ['taskset', '-c', '0'],
    client: ['taskset', '-c', '1'],
    ping: ['taskset', '-c', '0'],
    text: 'echo servers on CPU 0, the client on CPU 1; both ping-pong ends on CPU 0 (taskset)',
  };
}

function pinned(prefix: string[], argv: string[]): [string, string[]] {
  const full = [...prefix, ...argv];
  return [full[0] as string, full.slice(1)];
}

/** Compiles bench/c/*.c with gcc (or cc) into `dir`; null if there is no C compiler. */
function compileC(dir: string): { compiler: string; bins: Record<'client' | 'server' | 'pingpong', string> } | null {
  const sources = { client: 'echo-client', server: 'echo-server', pingpong: 'pingpong' } as const;
  for (const compiler of ['gcc', 'cc']) {
    const probe = spawnSync(compiler, ['--version'], { stdio: 'ignore' });
    if (probe.error !== undefined || probe.status !== 0) continue;
    const bins = {} as Record<'client' | 'server' | 'pingpong', string>;
    for (const [key, name] of Object.entries(sources) as [keyof typeof sources, string][]) {
      const out = join(dir, name);
      const result = spawnSync(compiler, ['-O2', '-Wall', '-o', out, join(C_DIR, `${name}.c`)], { encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`bench io: ${compiler} could not compile bench/c/${name}.c:\n${result.stderr}`);
      bins[key] = out;
    }
    return { compiler, bins };
  }
  return null;
}

function pythonInfo(): { python: string | null; uvloop: string | null } {
  if (!existsSync(PYTHON)) return { python: null, uvloop: null };
  const version = spawnSync(PYTHON, ['-c', 'import asyncio, sys; sys.stdout.write(sys.version.split()[0])'], { encoding: 'utf8' });
  if (version.status !== 0) return { python: null, uvloop: null };
  const uv = spawnSync(PYTHON, ['-c', 'import uvloop, sys; sys.stdout.write(uvloop.__version__)'], { encoding: 'utf8' });
  return { python: version.stdout, uvloop: uv.status === 0 ? uv.stdout : null };
}

// ---------------------------------------------------------------- servers

interface ServerSpec {
  name: string;
  argv: string[];
  python: boolean;
  /**
   * Not among the servers the issue's targets name (BufferedProtocol
   * servers): shown for information, never the "best Python" a target
   * compares with.
   */
  extra?: boolean;
}

interface RunningServer {
  spec: ServerSpec;
  child: ChildProcess;
  pid: number;
  /** Message size (as text) or '*' → port. */
  ports: Record<string, number>;
}

function serverSpecs(cServer: string, python: boolean, uvloop: boolean): ServerSpec[] {
  const node = (kind: string): string[] => [process.execPath, NODE_SERVER, kind, SIZES];
  const py = (loop: string, api: string): string[] => [PYTHON, join(PY_DIR, 'echo_server.py'), loop, api, SIZES];
  const specs: ServerSpec[] = [
    { name: 'C epoll', argv: [cServer], python: false },
    { name: 'eventide protocol', argv: node('eventide-protocol'), python: false },
    { name: 'eventide protocol, blocking host', argv: node('eventide-protocol-blocking'), python: false },
    { name: 'eventide BufferedProtocol', argv: node('eventide-buffered'), python: false, extra: true },
    { name: 'eventide streams', argv: node('eventide-streams'), python: false },
    { name: 'Node net', argv: node('node-net'), python: false },
  ];
  if (python) {
    specs.push({ name: 'asyncio Protocol', argv: py('asyncio', 'protocol'), python: true });
    specs.push({ name: 'asyncio BufferedProtocol', argv: py('asyncio', 'buffered'), python: true, extra: true });
    specs.push({ name: 'asyncio streams', argv: py('asyncio', 'streams'), python: true });
  }
  if (python && uvloop) {
    specs.push({ name: 'uvloop Protocol', argv: py('uvloop', 'protocol'), python: true });
    specs.push({ name: 'uvloop streams', argv: py('uvloop', 'streams'), python: true });
  }
  return specs;
}

/** Starts a server and waits for its `{"ports": ...}` line. */
function startServer(spec: ServerSpec, pin: Pinning): Promise<RunningServer> {
  const [command, args] = pinned(pin.server, spec.argv);
  const child = track(spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] }));
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bench io: server "${spec.name}" did not announce its port within 20 s`));
    }, 20_000);
    const fail = (why: string): void => {
      clearTimeout(timer);
      reject(new Error(`bench io: server "${spec.name}" ${why}`));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => fail(`exited before listening (exit ${code}, signal ${signal})`);
    child.once('error', (error) => fail(`could not start: ${error.message}`));
    child.once('exit', onExit);
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      const newline = text.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      child.stdout?.removeAllListeners('data').resume();
      const { ports } = lastJsonLine<{ ports: Record<string, number> }>(text.slice(0, newline), `server "${spec.name}"`);
      resolve({ spec, child, pid: child.pid as number, ports });
    });
  });
}

async function stopServer(server: RunningServer): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => server.child.once('exit', () => resolve()));
  server.child.kill('SIGTERM');
  await exited;
}

function portFor(server: RunningServer, size: number): number {
  const port = server.ports[String(size)] ?? server.ports['*'];
  if (port === undefined) throw new Error(`bench io: server "${server.spec.name}" has no port for ${size}-byte messages`);
  return port;
}

interface ClientFigures {
  requests: number;
  seconds: number;
  rps: number;
  clientCpuPct: number;
  /** -1 when /proc could not be read. */
  serverCpuNs: number;
}

async function runClient(clientBin: string, pin: Pinning, server: RunningServer, workload: Workload, seconds: number, warmupMs: number): Promise<ClientFigures> {
  const argv = [clientBin, '127.0.0.1', String(portFor(server, workload.size)), String(workload.conns), String(workload.size), String(seconds), String(warmupMs), String(server.pid)];
  const [command, args] = pinned(pin.client, argv);
  const what = `echo client against "${server.spec.name}" (${workload.label})`;
  const child = track(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  const figures = lastJsonLine<ClientFigures>(await collect(child, what, (seconds + warmupMs / 1000) * 1000 + 30_000), what);
  if (!(figures.requests > 0)) throw new Error(`bench io: ${what} completed no requests`);
  return figures;
}

// ---------------------------------------------------------------- latency

interface PingSide {
  name: string;
  argv: (count: number, warmup: number) => string[];
}

function pingSides(pingBin: string, python: boolean, uvloop: boolean): PingSide[] {
  const node = (kind: string) => (count: number, warmup: number) => [process.execPath, NODE_PING, kind, String(count), String(warmup)];
  const py = (loop: string) => (count: number, warmup: number) => [PYTHON, join(PY_DIR, 'pingpong.py'), loop, String(count), String(warmup)];
  const sides: PingSide[] = [
    { name: 'C epoll', argv: (count, warmup) => [pingBin, 'ping', String(count), String(warmup)] },
    { name: 'eventide addReader, guest host', argv: node('eventide-guest') },
    { name: 'eventide addReader, blocking host', argv: node('eventide-blocking') },
    { name: 'Node net.Socket', argv: node('node-net') },
    { name: 'addon floor (no loop)', argv: node('addon-floor') },
  ];
  if (python) sides.push({ name: 'asyncio add_reader', argv: py('asyncio') });
  if (python && uvloop) sides.push({ name: 'uvloop add_reader', argv: py('uvloop') });
  return sides;
}

interface PingFigures {
  samplesUs: number[];
  cpuUs: number;
}

type Sys = (typeof import('../src/io/syscalls.js'))['syscalls'];

/**
 * One latency run: `count` timed round trips of `side` against the C pong
 * peer. Both ends are pinned to the SAME core: across cores, every round
 * trip on this VM pays two inter-processor wake-ups (about 25 µs in all,
 * measured: C 32 µs median vs 9 µs on one core) that drown the differences
 * between loops; on one core a round trip is the peer's read and write,
 * two context switches and the loop's own path from "readable" to its
 * callback — the thing compared.
 */
async function runPing(sys: Sys, pongBin: string, pin: Pinning, side: PingSide, count: number, warmup: number): Promise<PingFigures> {
  const C = sys.constants;
  const pair = new Int32Array(2);
  const result = sys.socketpair(C.AF_UNIX, C.SOCK_STREAM | C.SOCK_CLOEXEC, 0, pair);
  if (result < 0) throw new Error(`bench io: socketpair failed (errno ${-result})`);
  const [mine, peer] = [pair[0] as number, pair[1] as number];
  let pong: ChildProcess;
  let ping: ChildProcess;
  try {
    const [pongCommand, pongArgs] = pinned(pin.ping, [pongBin, 'pong']);
    pong = track(spawn(pongCommand, pongArgs, { stdio: ['ignore', 'ignore', 'inherit', peer] }));
    const [pingCommand, pingArgs] = pinned(pin.ping, side.argv(count, warmup));
    ping = track(spawn(pingCommand, pingArgs, { stdio: ['ignore', 'pipe', 'pipe', mine] }));
  } finally {
    // The children hold their own copies; ours must go, or pong never sees EOF.
    sys.close(mine);
    sys.close(peer);
  }
  const what = `ping side "${side.name}"`;
  const pongDone = collect(pong, 'pong peer', 60_000);
  const figures = lastJsonLine<PingFigures>(await collect(ping, what, 60_000), what);
  await pongDone;
  if (figures.samplesUs.length !== count) throw new Error(`bench io: ${what} reported ${figures.samplesUs.length} round trips, expected ${count}`);
  return figures;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

// ---------------------------------------------------------------- results

function caseResult(name: string, unit: string, values: number[], extra: Record<string, number>): CaseResult {
  return { name, unit, median: median(values), min: Math.min(...values), max: Math.max(...values), samples: values, extra };
}

const throughputCase = (server: string, workload: Workload): string => `${server} @ ${workload.label}`;
const latencyCase = (side: string): string => `wake-up: ${side}`;

interface RatioSpec {
  label: string;
  numerator: string;
  denominator: string;
  /** Throughput ratios pass at >= target; latency ratios at <= target. null: information only. */
  higherIsBetter: boolean;
  target: number | null;
  /**
   * 'cpu': requests per second of server CPU instead of requests per second
   * of wall time (the denominator's CPU µs per request over the
   * numerator's). Robust to the server losing its core to other work.
   */
  metric?: 'cpu';
}

const CPU_PER_REQUEST = 'server CPU µs/req';

function ratioSpecs(caseNames: Set<string>, bestPython16k: string | null): RatioSpec[] {
  const specs: RatioSpec[] = [];
  const add = (label: string, numerator: string, denominator: string, higherIsBetter: boolean, target: number | null): void => {
    if (!caseNames.has(numerator) || !caseNames.has(denominator)) return;
    specs.push({ label, numerator, denominator, higherIsBetter, target });
    // Every throughput target gets a companion per CPU second, for information.
    if (target !== null && higherIsBetter) specs.push({ label: `${label}, per server CPU s`, numerator, denominator, higherIsBetter, target: null, metric: 'cpu' });
  };
  for (const w of WORKLOADS) {
    const at = (server: string): string => throughputCase(server, w);
    const is50x1k = w.conns === 50 && w.size === 1024;
    add(`${w.label}: eventide protocol / C epoll`, at('eventide protocol'), at('C epoll'), true, null);
    add(`${w.label}: eventide protocol / Node net`, at('eventide protocol'), at('Node net'), true, null);
    add(`${w.label}: eventide protocol / uvloop Protocol`, at('eventide protocol'), at('uvloop Protocol'), true, is50x1k ? 1 : null);
    if (w.size === 16384 && bestPython16k !== null) {
      add(`${w.label}: eventide protocol / best Python (${bestPython16k})`, at('eventide protocol'), at(bestPython16k), true, 1);
    }
    add(`${w.label}: eventide streams / uvloop streams`, at('eventide streams'), at('uvloop streams'), true, 1);
    add(`${w.label}: eventide streams / Node net`, at('eventide streams'), at('Node net'), true, null);
    add(`${w.label}: eventide streams / eventide protocol`, at('eventide streams'), at('eventide protocol'), true, null);
    add(`${w.label}: uvloop Protocol / C epoll`, at('uvloop Protocol'), at('C epoll'), true, null);
    add(`${w.label}: blocking host / guest host (protocol)`, at('eventide protocol, blocking host'), at('eventide protocol'), true, null);
    add(`${w.label}: eventide BufferedProtocol / asyncio BufferedProtocol`, at('eventide BufferedProtocol'), at('asyncio BufferedProtocol'), true, null);
    add(`${w.label}: eventide BufferedProtocol / eventide protocol`, at('eventide BufferedProtocol'), at('eventide protocol'), true, null);
  }
  for (const host of ['guest', 'blocking']) {
    const side = latencyCase(`eventide addReader, ${host} host`);
    add(`wake-up p99: eventide ${host} / uvloop reader`, side, latencyCase('uvloop add_reader'), false, 1);
    add(`wake-up p99: eventide ${host} / asyncio reader`, side, latencyCase('asyncio add_reader'), false, null);
    add(`wake-up p99: eventide ${host} / Node net.Socket`, side, latencyCase('Node net.Socket'), false, null);
    add(`wake-up p99: eventide ${host} / C epoll`, side, latencyCase('C epoll'), false, null);
    add(`wake-up p99: eventide ${host} / addon floor`, side, latencyCase('addon floor (no loop)'), false, null);
  }
  add('wake-up p99: addon floor / uvloop reader', latencyCase('addon floor (no loop)'), latencyCase('uvloop add_reader'), false, null);
  return specs;
}

function judge(spec: RatioSpec, byName: Map<string, CaseResult>): RatioResult {
  const num = byName.get(spec.numerator) as CaseResult;
  const den = byName.get(spec.denominator) as CaseResult;
  const ratio = spec.metric === 'cpu' ? (den.extra[CPU_PER_REQUEST] ?? NaN) / (num.extra[CPU_PER_REQUEST] ?? NaN) : num.median / den.median;
  const op = spec.higherIsBetter ? '>=' : '<=';
  return {
    label: spec.label,
    numerator: spec.numerator,
    denominator: spec.denominator,
    ratio,
    target: spec.target,
    targetText: spec.target === null ? 'info' : `${op} ${spec.target}`,
    pass: spec.target === null ? null : spec.higherIsBetter ? ratio >= spec.target : ratio <= spec.target,
  };
}

/** Round r visits the items starting at a different one each round. */
function rotated<T>(items: readonly T[], round: number, step: number): T[] {
  const n = items.length;
  const start = n === 0 ? 0 : (round * step) % n;
  return items.map((_, i) => items[(start + i) % n] as T);
}

// ------------------------------------------------------------------- run

async function runIo(quick: boolean, onProgress: (done: number, total: number) => void): Promise<IoGroupResult> {
  const started = Date.now();
  const settings = quick ? QUICK : FULL;
  const loadStart = loadavg()[0] ?? 0;
  const notes: string[] = [];
  const pin = choosePinning();
  if (pin.server.length === 0) notes.push(`Processes ${pin.text}: server and client compete for the same CPUs.`);
  const { python, uvloop } = pythonInfo();
  if (python === null) notes.push(`${PYTHON} with asyncio not found: the asyncio and uvloop cases are skipped.`);
  else if (uvloop === null) notes.push(`uvloop is not installed for ${PYTHON} (Debian: apt-get install python3-uvloop): the uvloop cases and the targets against them are skipped.`);

  const dir = mkdtempSync(join(tmpdir(), 'eventide-io-bench-'));
  const servers: RunningServer[] = [];
  try {
    const built = compileC(dir);
    const setup = {
      seconds: settings.seconds,
      warmupMs: settings.warmupMs,
      roundTrips: settings.roundTrips,
      pinned: pin.text,
      compiler: built?.compiler ?? null,
      python,
      uvloop,
      loadAverage1mStart: round2(loadStart),
      loadAverage1mEnd: NaN,
      elapsedS: NaN,
    };
    const title = `I/O: TCP echo (strict request/response, C client) and socketpair wake-up latency`;
    if (built === null) {
      notes.push('No C compiler (gcc or cc): the load generator cannot be built, so the io group measured nothing.');
      return { id: 'io', title, reps: 0, warmups: 0, cases: [], ratios: [], setup: { ...setup, loadAverage1mEnd: round2(loadavg()[0] ?? 0), elapsedS: 0 }, notes };
    }
    const { bins } = built;
    const { syscalls: sys } = await import('../src/io/syscalls.js');

    for (const spec of serverSpecs(bins.server, python !== null, uvloop !== null)) servers.push(await startServer(spec, pin));
    const sides = pingSides(bins.pingpong, python !== null, uvloop !== null);
    const total = settings.rounds * (servers.length * WORKLOADS.length + sides.length);
    let done = 0;

    // Prime: a burst at each size on fresh connections, which then close.
    for (const server of servers) {
      for (const size of [16384, 1024]) await runClient(bins.client, pin, server, { label: 'prime', conns: 50, size }, settings.primeSeconds, 0);
    }

    const throughput = new Map<string, ClientFigures[]>();
    const latency = new Map<string, PingFigures[]>();
    for (let r = 0; r < settings.rounds; r++) {
      for (const workload of rotated(WORKLOADS, r, 1)) {
        for (const server of rotated(servers, r, Math.max(1, Math.floor(servers.length / settings.rounds)))) {
          const figures = await runClient(bins.client, pin, server, workload, settings.seconds, settings.warmupMs);
          const name = throughputCase(server.spec.name, workload);
          throughput.set(name, [...(throughput.get(name) ?? []), figures]);
          onProgress(++done, total);
        }
      }
      for (const side of rotated(sides, r, 1)) {
        const figures = await runPing(sys, bins.pingpong, pin, side, settings.roundTrips, settings.pingWarmup);
        latency.set(side.name, [...(latency.get(side.name) ?? []), figures]);
        onProgress(++done, total);
      }
    }

    const cases: CaseResult[] = [];
    for (const workload of WORKLOADS) {
      for (const server of servers) {
        const name = throughputCase(server.spec.name, workload);
        const runs = throughput.get(name) as ClientFigures[];
        const cpuUsPerRequest = runs.filter((f) => f.serverCpuNs >= 0).map((f) => f.serverCpuNs / 1000 / f.requests);
        const serverCpuPct = runs.filter((f) => f.serverCpuNs >= 0).map((f) => (f.serverCpuNs / 1e9 / f.seconds) * 100);
        cases.push(
          caseResult(
            name,
            'req/s',
            runs.map((f) => f.rps),
            {
              [CPU_PER_REQUEST]: median(cpuUsPerRequest),
              'server CPU %': median(serverCpuPct),
              'client CPU %': median(runs.map((f) => f.clientCpuPct)),
            },
          ),
        );
      }
    }
    for (const side of sides) {
      const runs = latency.get(side.name) as PingFigures[];
      const pooled = runs.flatMap((f) => f.samplesUs).sort((a, b) => a - b);
      const perRoundP99 = runs.map((f) => percentile([...f.samplesUs].sort((a, b) => a - b), 99));
      cases.push(
        caseResult(latencyCase(side.name), 'µs p99', perRoundP99, {
          'median µs': percentile(pooled, 50),
          'p99 µs (pooled)': percentile(pooled, 99),
          'p99.9 µs (pooled)': percentile(pooled, 99.9),
          'CPU µs/rt': median(runs.map((f) => f.cpuUs)),
        }),
      );
    }

    const byName = new Map(cases.map((c) => [c.name, c]));
    const bigLoad = WORKLOADS.find((w) => w.size === 16384) as Workload;
    const pythonAt16k = servers.filter((s) => s.spec.python && s.spec.extra !== true).map((s) => byName.get(throughputCase(s.spec.name, bigLoad)) as CaseResult);
    const bestPython = pythonAt16k.sort((a, b) => b.median - a.median)[0];
    const bestPythonName = bestPython === undefined ? null : bestPython.name.slice(0, bestPython.name.lastIndexOf(' @ '));
    const ratios = ratioSpecs(new Set(byName.keys()), bestPythonName).map((spec) => judge(spec, byName));

    setup.loadAverage1mEnd = round2(loadavg()[0] ?? 0);
    setup.elapsedS = Math.round((Date.now() - started) / 1000);
    return { id: 'io', title, reps: settings.rounds, warmups: 1, cases, ratios, setup, notes };
  } finally {
    await Promise.all(servers.map(stopServer));
    rmSync(dir, { recursive: true, force: true });
  }
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

// ---------------------------------------------------------------- printing

/**
 * The io group as tables: servers x workloads (req/s, then server CPU per
 * request), latency, ratios, notes.
 *
 * @example
 * const result = JSON.parse(readFileSync('bench/results/io.json', 'utf8')).groups[0];
 * console.log(formatIo(result));
 */
export function formatIo(result: GroupResult): string {
  const io = result as IoGroupResult;
  const lines = [`== ${io.title} [${io.id}]`];
  if (io.setup !== undefined) {
    lines.push(
      `${io.reps} rounds, interleaved, after priming; ${io.setup.seconds} s counted per run after ${io.setup.warmupMs} ms warm-up; ${io.setup.pinned}.`,
      `C compiler: ${io.setup.compiler ?? 'none'}; ${PYTHON}: ${io.setup.python ?? 'absent'}, uvloop ${io.setup.uvloop ?? 'absent'}; load average (1 min) ${io.setup.loadAverage1mStart} at start, ${io.setup.loadAverage1mEnd} at end; ${io.setup.elapsedS} s.`,
    );
  }
  const byName = new Map(io.cases.map((c) => [c.name, c]));
  const servers = [...new Set(io.cases.filter((c) => c.unit === 'req/s').map((c) => c.name.slice(0, c.name.lastIndexOf(' @ '))))];
  if (servers.length > 0) {
    const rps = [['requests/s: median (min-max)', ...WORKLOADS.map((w) => w.label)]];
    const cpu = [['server CPU µs per request (CPU % of one core)', ...WORKLOADS.map((w) => w.label)]];
    for (const server of servers) {
      const row = [server];
      const cpuRow = [server];
      for (const w of WORKLOADS) {
        const c = byName.get(throughputCase(server, w));
        row.push(c === undefined ? '-' : `${fmt(c.median)} (${fmt(c.min)}-${fmt(c.max)})`);
        cpuRow.push(c === undefined ? '-' : `${fmt(c.extra[CPU_PER_REQUEST] ?? NaN)} (${fmt(c.extra['server CPU %'] ?? NaN)}%)`);
      }
      rps.push(row);
      cpu.push(cpuRow);
    }
    lines.push('', formatTable(rps, [false, true, true, true]), '', formatTable(cpu, [false, true, true, true]));
  }
  const wake = io.cases.filter((c) => c.unit === 'µs p99');
  if (wake.length > 0) {
    const rows = [['socketpair round trip, µs', 'median', 'p99', 'p99 min-max', 'p99.9', 'CPU/rt']];
    for (const c of wake) {
      rows.push([
        c.name.replace('wake-up: ', ''),
        fmt(c.extra['median µs'] ?? NaN),
        fmt(c.median),
        `${fmt(c.min)}-${fmt(c.max)}`,
        fmt(c.extra['p99.9 µs (pooled)'] ?? NaN),
        fmt(c.extra['CPU µs/rt'] ?? NaN),
      ]);
    }
    lines.push('', formatTable(rows, [false, true, true, true, true, true]));
  }
  if (io.ratios.length > 0) lines.push('', formatRatios(io.ratios));
  for (const note of io.notes ?? []) lines.push(`note: ${note}`);
  return lines.join('\n');
}

/**
 * The io group: TCP echo requests/s and wake-up latency, eventide vs Node,
 * asyncio, uvloop and C, written to bench/results/io.json by a full run.
 *
 * @example
 * // npm run bench -- io            (about 3.5 min)
 * // npm run bench -- --quick io    (about 40 s; no JSON unless --out)
 * const result = await ioGroup.run(true, () => {});
 * console.log(ioGroup.format(result));
 */
export const ioGroup: StandaloneGroup = {
  id: 'io',
  title: 'I/O: TCP echo and wake-up latency',
  resultsFile: 'io.json',
  run: runIo,
  format: formatIo,
};

// ------------------------------------------------------------ node-hosts

/**
 * bench/node-hosts.ts (the two Node host modes, pipe ping-pong through
 * `cat`) as a group: each case's figure is its p99 round trip in µs over
 * all rounds pooled, with the median, mean and CPU per round trip beside it.
 *
 * @example
 * // npm run bench -- node-hosts
 */
export const nodeHostsGroup: StandaloneGroup = {
  id: 'node-hosts',
  title: 'Node host modes: pipe ping-pong round trip through cat (µs)',
  resultsFile: 'node-hosts.json',
  async run(quick, onProgress) {
    const { runNodeHostsBench } = await import('./node-hosts.js');
    onProgress(0, 1);
    const figures = await runNodeHostsBench({ quick });
    onProgress(1, 1);
    const cases = figures.map((f) =>
      caseResult(f.name, 'µs p99', [f.p99Us], { 'median µs': f.medianUs, 'mean µs': f.meanUs, 'CPU µs/rt': f.cpuUs, 'round trips': f.roundTrips }),
    );
    const byName = new Map(cases.map((c) => [c.name, c]));
    const specs: RatioSpec[] = [
      { label: 'p99: eventide guest / Node pipe streams', numerator: 'eventide guest', denominator: 'Node pipe streams', higherIsBetter: false, target: null },
      { label: 'p99: eventide blocking / Node pipe streams', numerator: 'eventide blocking', denominator: 'Node pipe streams', higherIsBetter: false, target: null },
      { label: 'p99: Node with idle guest loop / Node alone', numerator: 'Node, guest idle', denominator: 'Node pipe streams', higherIsBetter: false, target: null },
      { label: 'p99: Node with idle blocking loop / Node alone', numerator: 'Node, blocking idle', denominator: 'Node pipe streams', higherIsBetter: false, target: null },
    ].filter((s) => byName.has(s.numerator) && byName.has(s.denominator));
    return { id: 'node-hosts', title: this.title, reps: quick ? 2 : 5, warmups: 1, cases, ratios: specs.map((s) => judge(s, byName)) };
  },
  format: formatGroup,
};
