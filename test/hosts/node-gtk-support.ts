/**
 * Whether node-gtk (built from source: see examples/gtk.ts) and, for the
 * window tests, Xvfb and xdotool are here. Where they are not, the tests
 * that need them skip, saying what is missing and how to get it (.ci/run
 * installs them).
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

const INSTALL_HINT =
  'apt-get install libgirepository1.0-dev libcairo2-dev gir1.2-gtk-3.0 xvfb xauth xdotool; ' +
  'npm install --no-save --ignore-scripts node-gtk@4.1.1, then in node_modules/node-gtk: npx node-pre-gyp install --build-from-source (as .ci/run does)';

/** True when `require('node-gtk')` resolves from the package root. */
export function hasNodeGtk(): boolean {
  try {
    createRequire(import.meta.url).resolve('node-gtk');
    return true;
  } catch {
    return false;
  }
}

function hasCommand(name: string): boolean {
  try {
    execFileSync('/bin/sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Why the node-gtk tests cannot run here, or null when they can. In CI,
 * .ci/run installs the pieces; if that failed (no apt, a node-gtk build
 * error) the tests skip with the reason rather than block everything else
 * from landing — .ci/run prints a warning too.
 */
export function nodeGtkSkipReason(needs: { display?: boolean } = {}): string | null {
  const missing: string[] = [];
  if (!hasNodeGtk()) missing.push('node-gtk');
  if (needs.display) for (const command of ['Xvfb', 'xdotool']) if (!hasCommand(command)) missing.push(command);
  return missing.length === 0 ? null : `${missing.join(', ')} not found: GTK tests skipped (install: ${INSTALL_HINT}; CI installs them through .ci/run)`;
}
