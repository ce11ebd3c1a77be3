/**
 * Ctrl-C during `run` from 'eventide/node' (src/hosts/node-sigint.ts), in a
 * child process, as asyncio.run: the first SIGINT cancels main, whose
 * finally blocks run, then the process ends by SIGINT as Ctrl-C ends it; a
 * main that catches the cancellation ends the run normally; a second SIGINT
 * ends the process at once; a program with its own SIGINT listener keeps it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runAndInterrupt } from './node-helpers.js';

const nodeEntry = pathToFileURL(fileURLToPath(new URL('../../src/node.js', import.meta.url))).href;
const T = { timeout: 30_000 };

/** A program whose main says "started", sleeps a minute, and in finally sleeps `cleanupMs` then says so; `catchIt` returns instead of rethrowing. */
function sleeper(options: { cleanupMs: number; catchIt?: boolean; ownListener?: boolean }): string {
  return [
    `import { run, sleep, CancelledError } from ${JSON.stringify(nodeEntry)};`,
    options.ownListener ? "process.on('SIGINT', () => { console.log('own listener'); process.exit(7); });" : '',
    'const result = await run(function* () {',
    "  console.log('started');",
    '  try {',
    '    yield* sleep(60_000);',
    '  } catch (error) {',
    `    if (${options.catchIt === true} && error instanceof CancelledError) return 'caught: ' + error.message;`,
    '    throw error;',
    '  } finally {',
    `    yield* sleep(${options.cleanupMs});`,
    "    console.log('finally ran');",
    '  }',
    '});',
    "console.log('run returned ' + result);",
  ].join('\n');
}

test('the first SIGINT cancels main: its finally block runs, then the process ends by SIGINT (asyncio.run: KeyboardInterrupt)', T, async () => {
  const ended = await runAndInterrupt(sleeper({ cleanupMs: 50 }), 1);
  assert.equal(ended.stdout, 'started\nfinally ran\n');
  assert.equal(ended.signal, 'SIGINT');
  assert.equal(ended.code, null);
});

test('a main that catches the cancellation and returns ends the run normally, with its result', T, async () => {
  const ended = await runAndInterrupt(sleeper({ cleanupMs: 0, catchIt: true }), 1);
  assert.equal(ended.stdout, 'started\nfinally ran\nrun returned caught: interrupted by SIGINT\n');
  assert.equal(ended.code, 0);
  assert.equal(ended.signal, null);
});

test('a second SIGINT during the shutdown ends the process at once: the slow finally never finishes', T, async () => {
  const ended = await runAndInterrupt(sleeper({ cleanupMs: 20_000 }), 2);
  assert.equal(ended.stdout, 'started\n');
  assert.equal(ended.signal, 'SIGINT');
});

test("a program's own SIGINT listener keeps SIGINT: run installs nothing and main is not cancelled", T, async () => {
  const ended = await runAndInterrupt(sleeper({ cleanupMs: 0, ownListener: true }), 1);
  assert.equal(ended.stdout, 'started\nown listener\n');
  assert.equal(ended.code, 7);
});
