/**
 * The GTK example (examples/gtk.ts) as a person would use it: a real
 * window on an Xvfb display, real X input from xdotool (XTEST: through the
 * X server, GDK and GTK's signal dispatch, like a mouse), screenshots of
 * the display read back through GDK. The app prints each UI update with
 * --trace; the screenshots check that the window shows them.
 *
 * Nothing depends on wall-clock speed: every wait polls with a generous
 * timeout. Skips outside CI without node-gtk, Xvfb or xdotool.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'node:test';
import { nodeGtkSkipReason } from '../hosts/node-gtk-support.js';

const run = promisify(execFile);
const APP = fileURLToPath(new URL('../../examples/gtk.js', import.meta.url));
const SCREENSHOT = fileURLToPath(new URL('./gtk-screenshot.js', import.meta.url));
const SHOTS_DIR = join(tmpdir(), 'eventide-gtk-test');

type Rect = [number, number, number, number];
interface Shot {
  regions: Record<string, { dark: number; hash: string }>;
}

/** Polls `check` every 50 ms until it returns a value other than undefined, or fails after `timeoutMs`. */
async function poll<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `promise`, or a failure after `timeoutMs`. */
async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts Xvfb on a free display number; resolves to the process and its DISPLAY. */
async function startXvfb(): Promise<{ xvfb: ChildProcess; display: string }> {
  const xvfb = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '640x480x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  let stderr = '';
  xvfb.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const number = await new Promise<string>((resolve, reject) => {
    let text = '';
    (xvfb.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) resolve(text.trim());
    });
    xvfb.on('exit', (code) => reject(new Error(`Xvfb exited (${code}): ${stderr}`)));
  });
  return { xvfb, display: `:${number}` };
}

test('GTK example under Xvfb: the RTT label updates from socket pings, clicks on Send go over a socket and show the echo, the background job finishes while pings go on, q quits cleanly', { skip: nodeGtkSkipReason({ display: true }) ?? false, timeout: 60_000 }, async (t) => {
  mkdirSync(SHOTS_DIR, { recursive: true });
  const { xvfb, display } = await startXvfb();
  const env = { ...process.env, DISPLAY: display };
  const app = spawn(process.execPath, [APP, '--trace'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  let partial = '';
  app.stdout.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  app.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => app.on('exit', (code) => resolve(code)));
  const xdotool = (...args: string[]): Promise<unknown> => run('xdotool', args, { env });
  const screenshot = async (name: string, regions: Record<string, Rect>): Promise<Shot> => {
    const path = join(SHOTS_DIR, `${name}.png`);
    const { stdout } = await run(process.execPath, [SCREENSHOT, path, JSON.stringify(regions)], { env });
    t.diagnostic(`screenshot: ${path}`);
    return JSON.parse(stdout) as Shot;
  };
  const line = (prefix: string): string | undefined => lines.find((l) => l.startsWith(prefix));
  const count = (prefix: string): number => lines.filter((l) => l.startsWith(prefix)).length;
  try {
    const layout = JSON.parse((await poll('the window layout', () => line('ui layout '))).slice('ui layout '.length)) as Record<string, Rect>;
    for (const name of ['window', 'rtt', 'send', 'echo', 'progress', 'job', 'quit']) assert.ok(layout[name], `layout has ${name}`);
    await poll('three pings', () => (count('ui rtt ping #') >= 3 ? true : undefined));
    assert.match(line('ui rtt ') ?? '', /^ui rtt ping #1: \d+\.\d\d ms round trip$/);

    const first = await screenshot('1-started', layout);
    assert.ok((first.regions['window']?.dark ?? 0) > 500, 'the window is on screen, with text');
    for (const name of ['rtt', 'send', 'echo', 'job', 'quit']) assert.ok((first.regions[name]?.dark ?? 0) > 20, `${name} shows text`);

    const center = (rect: Rect): string[] => [String(rect[0] + Math.floor(rect[2] / 2)), String(rect[1] + Math.floor(rect[3] / 2))];
    const send = layout['send'] as Rect;
    await xdotool('mousemove', ...center(send), 'click', '1');
    await poll('the echo of click 1', () => line('ui echo click 1'));
    await xdotool('click', '1');
    await poll('the echo of click 2', () => line('ui echo click 2'));
    assert.ok(line('ui send sent 2'), 'the button label was updated');
    assert.equal(count('ui echo click'), 2, 'one echo per click');

    const jobLine = await poll('the background job to finish', () => line('ui job '), 30_000);
    assert.match(jobLine, /^ui job job: \d+ primes below 4000000 in \d+\.\d s$/);
    const jobStart = lines.findIndex((l) => l.startsWith('ui progress '));
    const jobEnd = lines.indexOf(jobLine);
    const pingsDuringJob = lines.slice(jobStart, jobEnd).filter((l) => l.startsWith('ui rtt ')).length;
    assert.ok(pingsDuringJob >= 1, `pings (high priority) went on while the 2,000 low-priority tasks ran (${pingsDuringJob})`);
    assert.ok(lines.includes('ui progress 2000/2000'));

    // The window shows what the trace says: wait for GTK to repaint the regions that changed.
    const second = await poll('the window to repaint', async () => {
      const shot = await screenshot('2-after-clicks-and-job', layout);
      const changed = ['rtt', 'send', 'echo', 'progress', 'job'].every((name) => shot.regions[name]?.hash !== first.regions[name]?.hash);
      return changed ? shot : undefined;
    });
    assert.equal(second.regions['quit']?.hash, first.regions['quit']?.hash, 'the Quit button did not change');

    await xdotool('mousemove', ...center(layout['rtt'] as Rect), 'key', 'q'); // keyboard focus follows the pointer (no window manager)
    assert.equal(await within(exited, 10_000, 'the app to exit'), 0, `exit code (stderr: ${stderr})`);
    assert.match(lines.at(-1) ?? '', /^ui bye turns=\d+ checkpointWaits=\d+$/, 'main finished and the loop closed');
    // Nothing on stderr but INFO lines and GObject introspection's note that a
    // typelib names a system library that is not installed (a Debian packaging
    // gap: gir1.2-harfbuzz-0.0 does not pull in libharfbuzz-gobject0), which
    // says nothing about the app.
    const foreign = /^.*(\[INFO\]|Failed to load shared library .* referenced by the typelib).*$/gm;
    assert.equal(stderr.replace(foreign, '').trim(), '', 'nothing on stderr');
    const gone = await screenshot('3-after-quit', { window: layout['window'] as Rect });
    assert.notEqual(gone.regions['window']?.hash, second.regions['window']?.hash, 'the window is gone');
  } finally {
    if (app.exitCode === null && app.signalCode === null) app.kill('SIGKILL');
    xvfb.kill('SIGTERM');
  }
});
