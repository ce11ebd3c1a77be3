/**
 * `eventide run` on Ctrl-C / SIGTERM (src/cli/interrupt.ts), in a child
 * process: the first signal cancels the main task, whose finally blocks
 * run; the trace and report are written, the inspector's socket removed,
 * and the exit status is 128 + the signal's number. A second signal kills
 * at once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TraceFile } from '../../src/inspect/trace.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const index = pathToFileURL(fileURLToPath(new URL('../../src/index.js', import.meta.url))).href;

/** A program that says "started", sleeps a long time, and cleans up in finally (for `cleanupMs` ms). */
function sleeperProgram(cleanupMs: number): string {
  return (
    `import { sleep } from ${JSON.stringify(index)};\n` +
    'export default function* main() {\n' +
    "  console.log('started');\n" +
    '  try {\n' +
    '    yield* sleep(60_000);\n' +
    '  } finally {\n' +
    `    yield* sleep(${cleanupMs});\n` +
    "    console.log('finally ran');\n" +
    '  }\n' +
    '}\n'
  );
}

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `eventide run ARGS`, sends `signals` (one per ~100 ms) once it printed "started", and waits for its end. */
function runAndSignal(args: string[], signals: NodeJS.Signals[]): Promise<Ended> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'run', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      const first = stdout === '';
      stdout += chunk.toString();
      if (first && stdout.startsWith('started')) {
        signals.forEach((signal, i) => setTimeout(() => child.kill(signal), 100 * i));
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

test('SIGINT cancels the main task: its finally runs, the trace, report and inspector socket are dealt with, exit status 130', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eventide-sigint-'));
  try {
    const app = join(dir, 'app.mjs');
    const socket = join(dir, 'console.sock');
    writeFileSync(app, sleeperProgram(5));
    const ended = await runAndSignal([app, '--trace', join(dir, 'out.json'), '--report', join(dir, 'out.html'), '--inspect', socket], ['SIGINT']);
    assert.deepEqual([ended.code, ended.signal, ended.stdout], [130, null, 'started\nfinally ran\n']);
    assert.match(ended.stderr, /eventide run: interrupted by SIGINT; the main task was cancelled\n$/);
    const trace = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as TraceFile;
    assert.ok(trace.traceEvents.some((e) => e.ph === 'i' && e.name.startsWith('cancel main') && e.name.endsWith('(signal)')), 'the cancel by the signal is in the trace');
    assert.match(readFileSync(join(dir, 'out.html'), 'utf8'), /^<!DOCTYPE html>/i);
    assert.equal(existsSync(socket), false, 'the inspector socket is removed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGTERM ends the run the same way, with exit status 143', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eventide-sigterm-'));
  try {
    const app = join(dir, 'app.mjs');
    writeFileSync(app, sleeperProgram(5));
    const ended = await runAndSignal([app, '--trace', join(dir, 'out.json')], ['SIGTERM']);
    assert.deepEqual([ended.code, ended.signal, ended.stdout], [143, null, 'started\nfinally ran\n']);
    assert.equal(existsSync(join(dir, 'out.json')), true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a second SIGINT during the shutdown kills at once: the cleanup never finishes and nothing is written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eventide-sigint2-'));
  try {
    const app = join(dir, 'app.mjs');
    writeFileSync(app, sleeperProgram(60_000));
    const ended = await runAndSignal([app, '--trace', join(dir, 'out.json')], ['SIGINT', 'SIGINT']);
    assert.deepEqual([ended.code, ended.signal, ended.stdout], [null, 'SIGINT', 'started\n']);
    assert.equal(existsSync(join(dir, 'out.json')), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a program that listens for SIGINT itself keeps it: main is not cancelled, the program's listener decides", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eventide-sigint-own-'));
  try {
    const app = join(dir, 'app.mjs');
    writeFileSync(app, "process.on('SIGINT', () => { console.log('own listener'); process.exit(7); });\n" + sleeperProgram(0));
    const ended = await runAndSignal([app], ['SIGINT']);
    assert.deepEqual([ended.code, ended.signal, ended.stdout], [7, null, 'started\nown listener\n']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
