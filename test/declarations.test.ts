/**
 * The published declarations (dist/src/**\/*.d.ts, built with
 * `stripInternal`) type-check as a user's project sees them: with
 * `skipLibCheck: false`. A public declaration that still names something
 * marked internal (an `implements` clause, an import) compiles here in the
 * repository, where the source is whole, and breaks only there.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from dist/test/). */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** Type-checks `source` in a fresh project that has this package installed as `eventide`; returns tsc's output. */
function typeCheckAsUser(source: string, lib: string[]): { status: number | null; output: string } {
  const project = mkdtempSync(join(tmpdir(), 'eventide-dts-'));
  try {
    mkdirSync(join(project, 'node_modules', '@types'), { recursive: true });
    symlinkSync(ROOT, join(project, 'node_modules', 'eventide'), 'dir');
    symlinkSync(join(ROOT, 'node_modules', '@types', 'node'), join(project, 'node_modules', '@types', 'node'), 'dir');
    writeFileSync(join(project, 'package.json'), JSON.stringify({ type: 'module' }));
    const compilerOptions = { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', lib, types: ['node'], skipLibCheck: false, noEmit: true };
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['use.ts'] }));
    writeFileSync(join(project, 'use.ts'), source);
    const result = spawnSync(process.execPath, [TSC, '-p', project], { encoding: 'utf8' });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
}

test('the declarations of eventide, eventide/node and eventide/testing type-check in a Node project with skipLibCheck: false', () => {
  const source = [
    "import { EventLoop, run, sleep, type Future } from 'eventide';",
    "import { NodeEventLoop, createServer } from 'eventide/node';",
    "import { runInVirtualTime } from 'eventide/testing';",
    'export const used = [EventLoop, run, sleep, NodeEventLoop, createServer, runInVirtualTime];',
    'export type Used = Future<number>;',
    '',
  ].join('\n');
  const { status, output } = typeCheckAsUser(source, ['ES2023']);
  assert.equal(output, '');
  assert.equal(status, 0);
});

test('the declarations of eventide/browser type-check in a project with the DOM library and skipLibCheck: false', () => {
  const source = "import * as browser from 'eventide/browser';\nexport const used = browser;\n";
  const { status, output } = typeCheckAsUser(source, ['ES2023', 'DOM']);
  assert.equal(output, '');
  assert.equal(status, 0);
});
