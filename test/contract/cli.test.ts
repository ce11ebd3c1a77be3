/**
 * Contract: the `eventide` bin of package.json (issue 5's CLI), run the way
 * npm would run it — `node <bin> run FILE` — on a .js program and on a .ts
 * program directly, with --virtual-time and --trace.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
const bin = join(root, pkg.bin['eventide'] as string);
const T = { timeout: 20_000 };

test("package.json's bin 'eventide' runs a .js program's default export with --virtual-time", T, async () => {
  const { stdout } = await run(process.execPath, [bin, 'run', join(root, 'dist/test/contract/fixtures/cli-main.js'), '--virtual-time'], { cwd: root });
  assert.equal(stdout.trim(), 'slept 1000');
});

test("'eventide run FILE.ts' runs a TypeScript file directly", T, async () => {
  const { stdout } = await run(process.execPath, [bin, 'run', join(root, 'test/contract/fixtures/cli-main.ts'), '--virtual-time'], { cwd: root });
  assert.equal(stdout.trim(), 'slept 1000');
});

test("'eventide run --trace out.json' writes Trace Event JSON with a traceEvents array", T, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eventide-contract-'));
  try {
    const out = join(dir, 'out.json');
    await run(process.execPath, [bin, 'run', '--trace', out, join(root, 'dist/test/contract/fixtures/cli-main.js'), '--virtual-time'], { cwd: root });
    const trace = JSON.parse(readFileSync(out, 'utf8')) as { traceEvents: { ph: string }[] };
    assert.ok(Array.isArray(trace.traceEvents) && trace.traceEvents.length > 0);
    assert.ok(trace.traceEvents.every((event) => typeof event.ph === 'string'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
