import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inspectorOptions, parseRunArgs, RUN_USAGE } from '../../src/cli/run-command.js';
import { defaultInspectorPath } from '../../src/inspect/endpoint.js';
import type { TraceEvent, TraceFile } from '../../src/inspect/trace.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const index = pathToFileURL(fileURLToPath(new URL('../../src/index.js', import.meta.url))).href;

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

test('parseRunArgs reads FILE and flags', () => {
  assert.deepEqual(parseRunArgs(['app.ts', '--debug', '--virtual-time']), { file: 'app.ts', debug: true, virtualTime: true });
  assert.deepEqual(parseRunArgs(['app.js']), { file: 'app.js', debug: false, virtualTime: false });
});

test('parseRunArgs rejects a missing FILE, unknown options and two files, with the usage line', () => {
  assert.throws(() => parseRunArgs([]), (e: Error) => e.message.includes('FILE is missing') && e.message.includes(RUN_USAGE));
  assert.throws(() => parseRunArgs(['a.ts', '--fast']), /unknown option --fast/);
  assert.throws(() => parseRunArgs(['a.ts', 'b.ts']), /only one FILE/);
});

test('parseRunArgs reads --trace and --report paths, as the next argument or after =, in any position', () => {
  assert.deepEqual(parseRunArgs(['--trace', 'out.json', 'app.ts', '--report=out.html', '--debug']), {
    file: 'app.ts',
    debug: true,
    virtualTime: false,
    trace: 'out.json',
    report: 'out.html',
  });
  assert.deepEqual(parseRunArgs(['app.ts', '--trace=t.json']), { file: 'app.ts', debug: false, virtualTime: false, trace: 't.json' });
});

test('parseRunArgs rejects --trace/--report without a path, given twice, and unknown --x=y options', () => {
  assert.throws(() => parseRunArgs(['app.ts', '--trace']), (e: Error) => e.message.includes('--trace needs a file path') && e.message.includes(RUN_USAGE));
  assert.throws(() => parseRunArgs(['app.ts', '--report', '--debug']), /--report needs a file path/);
  assert.throws(() => parseRunArgs(['app.ts', '--trace=']), /--trace needs a file path/);
  assert.throws(() => parseRunArgs(['app.ts', '--trace', 'a.json', '--trace', 'b.json']), /--trace given twice/);
  assert.throws(() => parseRunArgs(['app.ts', '--fast=yes']), /unknown option --fast=yes/);
  assert.match(RUN_USAGE, /--trace out\.json/);
  assert.match(RUN_USAGE, /--report out\.html/);
});

test('parseRunArgs reads --inspect alone, with =SOCKET, or with SOCKET next unless the next is the script or a flag', () => {
  const base = { debug: false, virtualTime: false };
  assert.deepEqual(parseRunArgs(['app.ts', '--inspect']), { ...base, file: 'app.ts', inspect: true });
  assert.deepEqual(parseRunArgs(['--inspect', 'app.ts']), { ...base, file: 'app.ts', inspect: true });
  assert.deepEqual(parseRunArgs(['--inspect', 'app.mjs']), { ...base, file: 'app.mjs', inspect: true });
  assert.deepEqual(parseRunArgs(['--inspect', '/tmp/app.sock', 'app.ts']), { ...base, file: 'app.ts', inspect: '/tmp/app.sock' });
  assert.deepEqual(parseRunArgs(['app.ts', '--inspect=127.0.0.1:0', '--debug']), { ...base, debug: true, file: 'app.ts', inspect: '127.0.0.1:0' });
  assert.deepEqual(parseRunArgs(['app.ts', '--inspect', '--debug']), { ...base, debug: true, file: 'app.ts', inspect: true });
  assert.deepEqual(parseRunArgs(['app.ts', '--inspect=']), { ...base, file: 'app.ts', inspect: true });
  assert.throws(() => parseRunArgs(['app.ts', '--inspect', '--inspect']), /--inspect given twice/);
  assert.match(RUN_USAGE, /--inspect \[SOCKET\]/);
});

test('inspectorOptions: a loopback HOST:PORT (or :PORT) is TCP, anything else a socket path, true the pid\'s default socket', () => {
  assert.deepEqual(inspectorOptions('127.0.0.1:0'), { port: 0, host: '127.0.0.1' });
  assert.deepEqual(inspectorOptions(':9300'), { port: 9300, host: '127.0.0.1' });
  assert.deepEqual(inspectorOptions('tcp://[::1]:9300'), { port: 9300, host: '::1' });
  assert.deepEqual(inspectorOptions('localhost:1'), { port: 1, host: 'localhost' });
  assert.deepEqual(inspectorOptions('./run/app.sock'), { path: './run/app.sock' });
  assert.deepEqual(inspectorOptions(true), { path: defaultInspectorPath() });
});

/** A program with two tasks: `worker` sleeps twice (timer wakes), then settles a future `main` waits on. */
function twoTaskProgram(fail: boolean): string {
  return (
    `import { sleep, getRunningLoop } from ${JSON.stringify(index)};\n` +
    'export default function* main(): Generator<any, number, any> {\n' +
    '  const loop = getRunningLoop();\n' +
    '  const done = loop.createFuture<number>();\n' +
    '  const worker = loop.createTask(function* () {\n' +
    '    yield* sleep(1);\n' +
    '    yield* sleep(1);\n' +
    '    done.setResult(7);\n' +
    "  }, { name: 'worker' });\n" +
    '  const value = yield* done;\n' +
    '  yield* worker;\n' +
    (fail ? "  throw new Error('boom after ' + value);\n" : "  console.log('value ' + value);\n") +
    '  return value;\n' +
    '}\n'
  );
}

function trackIds(trace: TraceFile): Map<string, number> {
  const ids = new Map<string, number>();
  for (const e of trace.traceEvents) {
    if (e.ph === 'M' && e.name === 'thread_name') ids.set(String(e.args?.['name']).replace(/ #\d+$/, ''), e.tid);
  }
  return ids;
}

test('eventide run --trace writes Trace Event JSON: a track per task with steps, loop phases, wake flows, counters', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eventide-cli-'));
  try {
    writeFileSync(join(dir, 'app.ts'), twoTaskProgram(false));
    const out = join(dir, 'out.json');
    const { code, stdout, stderr } = await runCli(['run', join(dir, 'app.ts'), '--trace', out, '--virtual-time']);
    assert.deepEqual([stderr, stdout, code], ['', 'value 7\n', 0]);
    const trace = JSON.parse(readFileSync(out, 'utf8')) as TraceFile;
    assert.equal(trace.displayTimeUnit, 'ms');
    assert.equal(trace.otherData.droppedEvents, 0);
    const ids = trackIds(trace);
    assert.deepEqual([...ids.keys()].sort(), ['event loop', 'main', 'worker']);
    const loopTid = ids.get('event loop') as number;
    const mainTid = ids.get('main') as number;
    const workerTid = ids.get('worker') as number;
    const steps = (tid: number): TraceEvent[] => trace.traceEvents.filter((e) => e.ph === 'X' && e.name === 'step' && e.tid === tid);
    // main: start, then resumed by the future (the worker is done by then); worker: start, two sleeps.
    assert.deepEqual(steps(mainTid).map((e) => e.args?.['step']), [1, 2]);
    assert.deepEqual(steps(workerTid).map((e) => e.args?.['step']), [1, 2, 3]);
    for (const e of trace.traceEvents) {
      if (e.ph === 'X') assert.ok(typeof e.ts === 'number' && typeof e.dur === 'number' && e.dur >= 0, `bad slice ${JSON.stringify(e)}`);
    }
    assert.ok(trace.traceEvents.some((e) => e.ph === 'X' && e.name === 'ready batch' && e.tid === loopTid));
    // Flows: every start has exactly one end with the same id, ending on a task's track.
    const starts = trace.traceEvents.filter((e) => e.ph === 's');
    const ends = trace.traceEvents.filter((e) => e.ph === 'f');
    assert.equal(starts.length, ends.length);
    assert.deepEqual(new Set(starts.map((e) => e.id)), new Set(ends.map((e) => e.id)));
    // The worker's last step settles the future: an arrow from the worker's track to main's.
    const fromWorker = starts.filter((e) => e.tid === workerTid && e.args?.['cause'] === 'future');
    assert.equal(fromWorker.length, 1);
    const end = ends.find((e) => e.id === (fromWorker[0] as TraceEvent).id) as TraceEvent;
    assert.equal(end.tid, mainTid);
    // Timer wakes of the worker come from the loop track.
    assert.equal(starts.filter((e) => e.tid === loopTid && e.args?.['cause'] === 'timer').length, 2);
    const counters = new Set(trace.traceEvents.filter((e) => e.ph === 'C').map((e) => e.name));
    assert.deepEqual([...counters].sort(), ['ready queue', 'timers']);
    const exits = trace.traceEvents.filter((e) => e.ph === 'i' && e.name.startsWith('exit')).map((e) => [e.tid, e.name]);
    assert.deepEqual(exits, [
      [workerTid, 'exit (finished)'],
      [mainTid, 'exit (finished)'],
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('eventide run writes the trace and the report even when the program throws, and exits 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eventide-cli-'));
  try {
    writeFileSync(join(dir, 'app.ts'), twoTaskProgram(true));
    const trace = join(dir, 'out.json');
    const report = join(dir, 'out.html');
    const { code, stderr } = await runCli(['run', join(dir, 'app.ts'), `--trace=${trace}`, '--report', report]);
    assert.equal(code, 1);
    assert.match(stderr, /boom after 7/);
    const parsed = JSON.parse(readFileSync(trace, 'utf8')) as TraceFile;
    const exits = parsed.traceEvents.filter((e) => e.ph === 'i' && e.name.startsWith('exit')).map((e) => e.name);
    assert.deepEqual(exits, ['exit (finished)', 'exit (failed)']);
    const html = readFileSync(report, 'utf8');
    assert.match(html, /^<!DOCTYPE html>/);
    assert.match(html, /<title>eventide run app\.ts<\/title>/);
    assert.match(html, /worker #\d+/);
    assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=|https?:\/\//);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('eventide run writes no trace file when not asked, and rejects an unknown flag with exit 1 and the usage', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eventide-cli-'));
  try {
    writeFileSync(join(dir, 'app.mjs'), 'export function* main() {}\n');
    const ok = await runCli(['run', join(dir, 'app.mjs'), '--debug']);
    assert.equal(ok.code, 0);
    assert.equal(existsSync(join(dir, 'out.json')), false);
    const bad = await runCli(['run', join(dir, 'app.mjs'), '--tracefile', 'x']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unknown option --tracefile/);
    assert.ok(bad.stderr.includes(RUN_USAGE));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('eventide run executes a TypeScript module\'s default generator, importing .ts siblings, in virtual time', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eventide-cli-'));
  try {
    writeFileSync(join(dir, 'helper.ts'), "export const word: string = 'helper';\n");
    writeFileSync(
      join(dir, 'app.ts'),
      `import { sleep, getRunningLoop } from ${JSON.stringify(index)};\n` +
        "import { word } from './helper.js';\n" +
        'export default function* main(): Generator<any, void, any> {\n' +
        '  yield* sleep(60_000);\n' +
        '  console.log(`${word} at ${getRunningLoop().time()}`);\n' +
        '}\n',
    );
    const { code, stdout, stderr } = await runCli(['run', join(dir, 'app.ts'), '--virtual-time']);
    assert.equal(stderr, '');
    assert.equal(stdout, 'helper at 60000\n');
    assert.equal(code, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('eventide run uses an export named main when there is no default, and reports a module without one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eventide-cli-'));
  try {
    writeFileSync(join(dir, 'named.mjs'), 'export function* main() { console.log("named main"); }\n');
    writeFileSync(join(dir, 'none.mjs'), 'export const x = 1;\n');
    const named = await runCli(['run', join(dir, 'named.mjs')]);
    assert.deepEqual([named.code, named.stdout], [0, 'named main\n']);
    const none = await runCli(['run', join(dir, 'none.mjs')]);
    assert.equal(none.code, 1);
    assert.equal(none.stderr, `eventide run: ${join(dir, 'none.mjs')} must export a generator function as default or as main; default is missing, main is missing\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('eventide run picks a generator main over a default that is not one, and never calls an async default', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eventide-cli-'));
  try {
    writeFileSync(join(dir, 'helper.mjs'), 'export default function helper() { console.log("helper called"); }\nexport function* main() { console.log("main ran"); }\n');
    writeFileSync(join(dir, 'async.mjs'), 'export default async function main() { console.log("async ran"); }\n');
    const helper = await runCli(['run', join(dir, 'helper.mjs')]);
    assert.deepEqual([helper.code, helper.stdout, helper.stderr], [0, 'main ran\n', '']);
    const asyncDefault = await runCli(['run', join(dir, 'async.mjs')]);
    assert.deepEqual(
      [asyncDefault.code, asyncDefault.stdout, asyncDefault.stderr],
      [1, '', `eventide run: ${join(dir, 'async.mjs')} must export a generator function as default or as main; default is an async function main, main is missing\n`],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('eventide run with a FILE that does not exist says so in one line, without a stack', async () => {
  const { code, stdout, stderr } = await runCli(['run', '/nonexistent/app.ts']);
  assert.deepEqual([code, stdout, stderr], [1, '', 'eventide run: /nonexistent/app.ts: no such file\n']);
});

test('eventide with an unknown command exits 2 with the usage', async () => {
  const { code, stderr } = await runCli(['frobnicate']);
  assert.equal(code, 2);
  assert.match(stderr, /unknown command "frobnicate"/);
  assert.match(stderr, /eventide run FILE|run FILE/);
});
