/**
 * The console's one-shot verbs against a running program
 * (src/cli/console-commands.ts, src/cli/inspector-client.ts): the demo
 * runs under `eventide run` with the inspector on (through
 * $EVENTIDE_INSPECT, and through `--inspect 127.0.0.1:0` with a token),
 * and `eventide ps`, `pstree`, `where`, `cancel` are run against it as
 * separate processes. Polls with generous timeouts; nothing depends on speed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { parseConsoleArgs } from '../../src/cli/console-commands.js';
import { parseTarget } from '../../src/cli/inspector-client.js';
import { defaultInspectorPath } from '../../src/inspect/endpoint.js';
import { CLI, DEMO_TASKS, LIMIT_MS, startDemo, stopDemo } from './demo-process.js';


interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function eventide(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: LIMIT_MS }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

test('parseConsoleArgs: TARGET first, then TASK and REASON; --token or $EVENTIDE_INSPECT_TOKEN for TCP', () => {
  const where = parseConsoleArgs('where', ['4242', 'worker-1'], {});
  assert.deepEqual(where, { verb: 'where', target: { kind: 'socket', path: defaultInspectorPath(4242), label: 'pid 4242' }, task: 'worker-1', reason: undefined });
  const cancel = parseConsoleArgs('cancel', ['127.0.0.1:9300', '#7', 'too slow', '--token', 'abc'], {});
  assert.deepEqual(cancel, { verb: 'cancel', target: { kind: 'tcp', host: '127.0.0.1', port: 9300, token: 'abc', label: '127.0.0.1:9300' }, task: '#7', reason: 'too slow' });
  assert.equal((parseConsoleArgs('ps', [':9300'], { EVENTIDE_INSPECT_TOKEN: 'env' }).target as { token: string }).token, 'env');
  assert.deepEqual(parseConsoleArgs('top', ['./app.sock'], {}).target, { kind: 'socket', path: './app.sock', label: './app.sock' });
  assert.deepEqual(parseTarget('tcp://[::1]:80', null), { kind: 'tcp', host: '::1', port: 80, token: null, label: '[::1]:80' });
  assert.throws(() => parseConsoleArgs('ps', [], {}), /eventide ps: TARGET is missing\nusage: eventide ps TARGET/);
  assert.throws(() => parseConsoleArgs('where', ['1'], {}), /eventide where: TASK is missing/);
  assert.throws(() => parseConsoleArgs('top', ['1', '2'], {}), /too many arguments: 2/);
  assert.throws(() => parseConsoleArgs('ps', ['1', '--fast'], {}), /unknown option --fast/);
  assert.throws(() => parseConsoleArgs('ps', ['1', '--token'], {}), /--token needs a value/);
  assert.throws(() => parseTarget('127.0.0.1:0', null), /bad port/);
});

test('nothing listening: the verbs say how to start an inspector, exit status 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eventide-console-'));
  try {
    const result = await eventide(['ps', join(dir, 'nobody.sock')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^eventide: no inspector at .*nobody\.sock \(ENOENT\); start the program with `eventide run --inspect FILE`/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ps, pstree, where and cancel against the demo served on $EVENTIDE_INSPECT; cancelling main ends it and removes the socket', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eventide-console-'));
  const socket = join(dir, 'demo.sock');
  const demo = await startDemo([], { EVENTIDE_INSPECT: socket });
  try {
    assert.match(demo.stderr(), new RegExp(`^eventide: inspector on ${socket.replace(/[.]/g, '\\.')}; watch with: eventide top ${socket.replace(/[.]/g, '\\.')}\\n`));
    const ps = await eventide(['ps', socket]);
    assert.equal(ps.code, 0, ps.stderr);
    const lines = ps.stdout.trimEnd().split('\n');
    assert.match(lines[0] as string, /^ID NAME +STATE +PRIO +BUSY STEPS WAKES +IDLE WAITING ON$/);
    assert.deepEqual(lines.slice(1, -1).map((line) => line.trim().split(/ +/)[1]), DEMO_TASKS);
    assert.match(lines.at(-1) as string, /^pid \d+: 9 pending tasks, \d+ recent warnings?$/);
    assert.equal(Number(/^pid (\d+)/.exec(lines.at(-1) as string)?.[1]), demo.child.pid);

    const tree = await eventide(['pstree', socket]);
    assert.equal(tree.code, 0, tree.stderr);
    const treeLines = tree.stdout.trimEnd().split('\n');
    assert.match(treeLines[0] as string, /^main #\d+ \(waiting on /);
    assert.deepEqual(
      treeLines.slice(1).map((line) => /^[├└]── (\S+) #\d+/.exec(line)?.[1]),
      DEMO_TASKS.slice(1),
    );

    const where = await eventide(['where', socket, 'shutdown-watch']);
    assert.equal(where.code, 0, where.stderr);
    const whereLines = where.stdout.trimEnd().split('\n');
    assert.match(whereLines[0] as string, /^shutdown-watch #\d+: waiting on Event\.wait\(\) \(priority normal, 1 steps, 0 wakes\)$/);
    assert.match(whereLines[1] as string, /^paused at: .*examples\/console-demo\.ts:\d+:\d+/);
    assert.deepEqual(whereLines.slice(2, 3), ['await tree:']);
    assert.match(whereLines.slice(3).join('\n'), /^main #\d+ \(waiting on .*\)\n└── shutdown-watch #\d+ \(waiting on Event\.wait\(\)\)$/);

    const unknown = await eventide(['cancel', socket, 'no-such-task']);
    assert.deepEqual([unknown.code, unknown.stderr], [1, 'eventide: no pending task "no-such-task" (9 pending: it finished, or never existed)\n']);

    const cancel = await eventide(['cancel', socket, 'main', 'done watching']);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.match(cancel.stdout, /^cancel requested: main #\d+ \((ready|waiting)\)\n$/);
    assert.equal(await demo.exited, 1);
    assert.match(demo.stderr(), /eventide: the main task was cancelled: done watching\n$/);
    assert.equal(existsSync(socket), false, 'the socket file is removed when the run ends');
  } finally {
    await stopDemo(demo);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--inspect 127.0.0.1:0 serves on a loopback port with a printed token; without it or with a wrong one, nothing is answered', async () => {
  const demo = await startDemo(['--inspect', '127.0.0.1:0']);
  try {
    const announced = /eventide: inspector on (127\.0\.0\.1:\d+); watch with: eventide top \1 --token ([0-9a-f]{48})\n/.exec(demo.stderr());
    assert.ok(announced !== null, demo.stderr());
    const [, address, token] = announced as unknown as [string, string, string];
    const noToken = await eventide(['ps', address]);
    assert.deepEqual([noToken.code, noToken.stderr], [1, `eventide: ${address} is a TCP endpoint; give its token with --token TOKEN or EVENTIDE_INSPECT_TOKEN\n`]);
    const wrong = await eventide(['ps', address, '--token', '0'.repeat(48)]);
    assert.deepEqual([wrong.code, wrong.stderr], [1, 'eventide: auth: wrong token\n']);
    const ps = await eventide(['ps', address], { EVENTIDE_INSPECT_TOKEN: token });
    assert.equal(ps.code, 0, ps.stderr);
    assert.equal(ps.stdout.trimEnd().split('\n').length, 1 + DEMO_TASKS.length + 1);
    const cancel = await eventide(['cancel', address, '#1', '--token', token]);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.equal(await demo.exited, 1);
  } finally {
    await stopDemo(demo);
  }
});
