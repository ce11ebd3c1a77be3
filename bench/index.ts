/**
 * `npm run bench`: eventide's benchmarks, each against native baselines
 * measured in the same run: the core groups (harness.ts), the I/O group
 * (io.ts: TCP echo and wake-up latency against Node, asyncio, uvloop and
 * C), the Node host modes (node-hosts.ts), the browser (browser.ts:
 * eventide vs plain promises vs scheduler.postTask in Chromium) and the
 * valve (valve.ts: a critical monitor under floods of background work,
 * against Node and asyncio).
 *
 * Usage (after `npm run build`):
 *   node dist/bench/index.js [--quick] [--out FILE] [--strict] [GROUP...]
 *   node --expose-gc dist/bench/index.js --in-process GROUP...   (for profiling)
 *
 *   GROUP        run only the groups whose id contains this text
 *                (callsoon, task-step, timers, memory, instrument, io,
 *                node-hosts, browser, valve);
 *                default: all
 *   --quick      fewer repetitions and warm-ups (a rough look in ~1/3 the time)
 *   --out FILE   write the JSON results of every group run to FILE. Without
 *                it, a run that is not --quick writes each results file
 *                whose groups all ran: bench/results/core.json (the core
 *                groups), io.json, node-hosts.json, browser.json,
 *                valve.json; so a partial run never
 *                overwrites full results
 *   --strict     exit with status 1 if any target is missed
 *   --list       list the groups and exit
 *
 * Each group runs in a child process of its own, started with
 * `--expose-gc`: a fresh JIT and heap per group, so one group's feedback
 * and garbage do not colour the next, and `gc()` is always available
 * (the memory group needs it; the others use it to start every measured
 * run from a collected heap). `--in-process` skips the fork — use it under
 * `--cpu-prof` or `--prof`.
 */
import { fork, spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { arch, cpus, loadavg, platform, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { browserGroup } from './browser.js';
import { callSoonGroup } from './callsoon.js';
import { formatGroup, gc, runGroup, type Group, type GroupResult } from './harness.js';
import { instrumentOverheadGroup } from './instrument-overhead.js';
import { ioGroup, nodeHostsGroup, type StandaloneGroup } from './io.js';
import { memoryGroup } from './memory.js';
import { taskStepGroup } from './task-step.js';
import { timersGroup } from './timers.js';
import { valveGroup } from './valve.js';

/** A harness group (run by runGroup), or one that runs itself (io.ts). */
type AnyGroup = Group | StandaloneGroup;

const GROUPS: readonly AnyGroup[] = [callSoonGroup, taskStepGroup, timersGroup, memoryGroup, instrumentOverheadGroup, ioGroup, nodeHostsGroup, browserGroup, valveGroup];
const RESULTS_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));

function isStandalone(group: AnyGroup): group is StandaloneGroup {
  return 'run' in group;
}

function resultsFile(group: AnyGroup): string {
  return isStandalone(group) ? group.resultsFile : 'core.json';
}

function format(result: GroupResult): string {
  const group = GROUPS.find((g) => g.id === result.id);
  return group !== undefined && isStandalone(group) ? group.format(result) : formatGroup(result);
}

interface Args {
  quick: boolean;
  strict: boolean;
  list: boolean;
  inProcess: boolean;
  out: string | null;
  filters: string[];
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, strict: false, list: false, inProcess: false, out: null, filters: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--quick') args.quick = true;
    else if (arg === '--strict') args.strict = true;
    else if (arg === '--list') args.list = true;
    else if (arg === '--in-process') args.inProcess = true;
    else if (arg === '--out') {
      const out = argv[++i];
      if (out === undefined) usage('--out needs a file name');
      args.out = out;
    } else if (arg.startsWith('--out=')) args.out = arg.slice('--out='.length);
    else if (arg === '--help' || arg === '-h') usage();
    else if (arg.startsWith('-')) usage(`unknown option ${JSON.stringify(arg)}`);
    else args.filters.push(arg);
  }
  return args;
}

function usage(error?: string): never {
  const text =
    'usage: node dist/bench/index.js [--quick] [--out FILE] [--strict] [--list] [--in-process] [GROUP...]\n' +
    `groups: ${GROUPS.map((g) => g.id).join(', ')}`;
  if (error !== undefined) {
    console.error(`bench: ${error}\n${text}`);
    process.exit(2);
  }
  console.log(text);
  process.exit(0);
}

function selectGroups(filters: string[]): AnyGroup[] {
  if (filters.length === 0) return [...GROUPS];
  const chosen = GROUPS.filter((g) => filters.some((f) => g.id.includes(f.toLowerCase())));
  if (chosen.length === 0) usage(`no group matches ${filters.map((f) => JSON.stringify(f)).join(', ')}`);
  return chosen;
}

/** Child side (and --in-process): run the groups here, report each result. */
async function runHere(groups: AnyGroup[], quick: boolean): Promise<GroupResult[]> {
  if (gc === null) console.error('bench: gc() is not exposed (run node with --expose-gc); runs start from an uncollected heap');
  const results: GroupResult[] = [];
  for (const group of groups) {
    const progress = (done: number, total: number): boolean => process.stderr.write(done === total ? '.\n' : '.');
    const result = isStandalone(group) ? await group.run(quick, progress) : await runGroup(group, quick, progress);
    results.push(result);
    if (process.send !== undefined) process.send(result);
    else console.log(`\n${format(result)}`);
  }
  return results;
}

/** Parent side: one child process per group, with --expose-gc. */
function runInChild(group: AnyGroup, quick: boolean): Promise<GroupResult> {
  const self = fileURLToPath(import.meta.url);
  const childArgs = ['--in-process', group.id, ...(quick ? ['--quick'] : [])];
  return new Promise((resolve, reject) => {
    const child = fork(self, childArgs, { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: GroupResult | null = null;
    child.on('message', (message) => (result = message as GroupResult));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (result !== null && code === 0) resolve(result);
      else reject(new Error(`bench: group ${group.id} failed (exit code ${code}, signal ${signal})`));
    });
  });
}

function machine(): Record<string, unknown> {
  const cpuList = cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: `${platform()} ${arch()}`,
    cpu: cpuList[0]?.model ?? 'unknown',
    cores: cpuList.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    /** At the start of the run: how busy the shared machine was. */
    loadAverage1m: Number((loadavg()[0] ?? 0).toFixed(2)),
  };
}

/** The commit measured, and whether src/ had uncommitted changes (read-only git queries). */
function revision(): { commit: string | null; srcDirty: boolean | null } {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const git = (...args: string[]): string | null => {
    const r = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() : null;
  };
  const commit = git('rev-parse', '--short', 'HEAD');
  const status = git('status', '--porcelain', '--', 'src');
  return { commit, srcDirty: status === null ? null : status.length > 0 };
}

function writeJson(path: string, machineInfo: Record<string, unknown>, results: GroupResult[], quick: boolean, elapsedS: number): void {
  const report = {
    date: new Date().toISOString(),
    ...machineInfo,
    ...revision(),
    quick,
    elapsedS: Math.round(elapsedS),
    summary: results.flatMap((g) =>
      g.ratios.map((r) => ({ group: g.id, ratio: r.label, value: Number(r.ratio.toFixed(3)), target: r.targetText, pass: r.pass })),
    ),
    groups: results,
  };
  mkdirSync(dirname(path), { recursive: true });
  // Write then rename, so an interrupted run never leaves half a file.
  writeFileSync(`${path}.tmp`, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.list) {
    for (const g of GROUPS) console.log(`${g.id.padEnd(10)} ${g.title}`);
    return;
  }
  const groups = selectGroups(args.filters);
  if (args.inProcess) {
    await runHere(groups, args.quick);
    return;
  }

  const m = machine();
  console.log(`eventide benchmarks — node ${m.node}, ${m.cpu} x${m.cores}, ${m.platform}${args.quick ? ' (quick)' : ''}`);
  console.log(`Load average (1 min) at start: ${m.loadAverage1m}. Figures are CPU time (process.cpuUsage) unless marked;`);
  console.log('ratios compare medians of runs interleaved in the same process; lower is better, except where a target reads ">=".');
  const started = Date.now();
  const results: GroupResult[] = [];
  for (const group of groups) {
    process.stderr.write(`\n${group.id}: `);
    const result = await runInChild(group, args.quick);
    results.push(result);
    console.log(`\n${format(result)}`);
  }
  const elapsedS = (Date.now() - started) / 1000;

  const ratios = results.flatMap((g) => g.ratios);
  const failed = ratios.filter((r) => r.pass === false);
  const judged = ratios.filter((r) => r.pass !== null);
  const verdict = judged.length === 0 ? 'No targets in these groups' : `${judged.length - failed.length}/${judged.length} targets met`;
  console.log(`\n${verdict}; ${elapsedS.toFixed(0)} s.`);
  for (const r of failed) console.log(`  missed: ${r.label} = ${r.ratio.toFixed(2)}x (target ${r.targetText})`);

  if (args.out !== null) {
    writeJson(args.out, m, results, args.quick, elapsedS);
    console.log(`Results written to ${args.out}`);
  } else if (args.quick) {
    console.log('Quick run: no JSON written; pass --out FILE to write one.');
  } else {
    // One file per set of groups (core.json, io.json, ...), written only if all its groups ran.
    for (const file of new Set(GROUPS.map(resultsFile))) {
      const members = GROUPS.filter((g) => resultsFile(g) === file);
      if (!members.every((g) => groups.includes(g))) continue;
      const path = `${RESULTS_DIR}${file}`;
      writeJson(path, m, results.filter((r) => members.some((g) => g.id === r.id)), args.quick, elapsedS);
      console.log(`Results written to ${path}`);
    }
    const unwritten = groups.filter((g) => !GROUPS.filter((o) => resultsFile(o) === resultsFile(g)).every((o) => groups.includes(o)));
    if (unwritten.length > 0) console.log(`Partial set (${unwritten.map((g) => g.id).join(', ')}): not written; pass --out FILE to write it.`);
  }
  if (args.strict && failed.length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
