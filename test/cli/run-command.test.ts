import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseRunArgs, RUN_USAGE } from '../../src/cli/run-command.js';

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
    assert.match(none.stderr, /must export a generator function as its default export or as `main`/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('eventide with an unknown command exits 2 with the usage', async () => {
  const { code, stderr } = await runCli(['frobnicate']);
  assert.equal(code, 2);
  assert.match(stderr, /unknown command "frobnicate"/);
  assert.match(stderr, /eventide run FILE|run FILE/);
});
