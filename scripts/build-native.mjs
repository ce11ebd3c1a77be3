#!/usr/bin/env node
// Builds the native syscall floor (binding.gyp → build/Release/eventide.node)
// with npm's bundled node-gyp, offline: Node's own headers are looked up
// beside the running node binary (<prefix>/include/node) and passed as
// --nodedir, so node-gyp never tries to download them. Runs on `npm ci`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';

const prefix = resolve(dirname(process.execPath), '..');
const args = ['rebuild'];
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}

// npm tells lifecycle scripts where its bundled node-gyp lives; fall back to
// a node-gyp resolvable from here or on PATH.
let command = process.execPath;
let commandArgs;
const bundled = process.env.npm_config_node_gyp;
if (bundled && existsSync(bundled)) {
  commandArgs = [bundled, ...args];
} else {
  try {
    commandArgs = [createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'), ...args];
  } catch {
    command = 'node-gyp';
    commandArgs = args;
  }
}
const result = spawnSync(command, commandArgs, { stdio: 'inherit' });
if (result.status !== 0) {
  console.error(
    '\neventide: building the native addon failed. It needs g++, make, python3 and Node\'s headers ' +
      `(looked in ${join(prefix, 'include', 'node')}). Fix those, then run \`npm rebuild eventide\` or \`npm ci\`.`,
  );
}
process.exit(result.status ?? 1);
