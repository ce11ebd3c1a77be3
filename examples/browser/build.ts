/**
 * Builds the browser bundles with esbuild:
 *  - dist/browser/eventide.js — the 'eventide/browser' entry (src/browser.ts)
 *    as one ESM file: core + tasks + hosts, no Node imports (esbuild's
 *    browser platform refuses any);
 *  - dist/browser/demo/app.js — the demo page's script (examples/browser/app.ts).
 *
 * `npm run build:browser` runs this file; the browser tests and the demo
 * server call `buildBrowserBundles()` themselves, so a test run never uses a
 * stale bundle.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

/** The repository root, found from this file in examples/browser/ or in dist/examples/browser/. */
export const ROOT = ((): string => {
  for (const up of ['../../', '../../../']) {
    const dir = fileURLToPath(new URL(up, import.meta.url));
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src', 'browser.ts'))) return dir;
  }
  throw new Error('build: cannot find the repository root (package.json and src/browser.ts)');
})();

export const LIBRARY_BUNDLE = join(ROOT, 'dist', 'browser', 'eventide.js');
export const DEMO_BUNDLE = join(ROOT, 'dist', 'browser', 'demo', 'app.js');

const COMMON: esbuild.BuildOptions = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  logLevel: 'warning',
};

/**
 * Builds both bundles; returns their paths.
 *
 * @example
 * const { library } = await buildBrowserBundles();
 */
export async function buildBrowserBundles(): Promise<{ library: string; demo: string }> {
  await Promise.all([
    esbuild.build({ ...COMMON, entryPoints: [join(ROOT, 'src', 'browser.ts')], outfile: LIBRARY_BUNDLE }),
    esbuild.build({ ...COMMON, entryPoints: [join(ROOT, 'examples', 'browser', 'app.ts')], outfile: DEMO_BUNDLE }),
  ]);
  return { library: LIBRARY_BUNDLE, demo: DEMO_BUNDLE };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { library, demo } = await buildBrowserBundles();
  console.log(`built ${library}\nbuilt ${demo}`);
}
