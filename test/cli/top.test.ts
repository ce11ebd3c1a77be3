/**
 * `eventide top` in a real terminal: tmux (a private server, an 80x24
 * window) runs a shell; the test types `eventide top SOCKET` for the
 * console demo running beside it, reads the screen with capture-pane, and
 * sends keys — ↓ moves the selection, a resize redraws to the new size,
 * `q` and Ctrl-C quit with status 0
 * and give the shell's screen back, and a program that goes away ends
 * top with status 1 and a message.
 *
 * Skipped, with the reason, when tmux is not installed. Every wait polls
 * the screen with a generous limit: nothing depends on speed.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { CLI, DEMO_TASKS, LIMIT_MS, startDemo, stopDemo } from './demo-process.js';

const TMUX_MISSING = spawnSync('tmux', ['-V']).status === 0 ? false : 'tmux is not installed (apt-get install tmux)';
/** The shell's prompt as capture-pane shows it (trailing spaces trimmed). */
const PROMPT = 'top-test$';

/** A private tmux server with one 80x24 window running sh. */
class Tmux {
  readonly socket: string;

  constructor(dir: string) {
    this.socket = join(dir, 'tmux.sock');
  }

  run(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile('tmux', ['-S', this.socket, '-f', '/dev/null', ...args], { env: { ...process.env, TMUX: '' }, timeout: LIMIT_MS }, (error, stdout, stderr) => {
        if (error !== null) reject(new Error(`tmux ${args.join(' ')}: ${stderr || error.message}`));
        else resolve(stdout);
      });
    });
  }

  async start(): Promise<void> {
    await this.run('new-session', '-d', '-x', '80', '-y', '24', '-s', 'top', `env -u ENV PS1='${PROMPT} ' sh`);
    await this.run('set-option', '-t', 'top', 'status', 'off');
  }

  screen(): Promise<string> {
    return this.run('capture-pane', '-p', '-t', 'top');
  }

  async type(text: string): Promise<void> {
    await this.run('send-keys', '-t', 'top', '-l', text);
    await this.run('send-keys', '-t', 'top', 'Enter');
  }

  keys(...keys: string[]): Promise<string> {
    return this.run('send-keys', '-t', 'top', ...keys);
  }

  async alternateScreen(): Promise<boolean> {
    return (await this.run('display-message', '-p', '-t', 'top', '#{alternate_on}')).trim() === '1';
  }

  /** Polls the screen until `check` accepts it; fails with the last screen after LIMIT_MS. */
  async waitFor(what: string, check: (screen: string) => boolean): Promise<string> {
    const deadline = Date.now() + LIMIT_MS;
    let screen = '';
    while (Date.now() < deadline) {
      screen = await this.screen();
      if (check(screen)) return screen;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${what}: not on screen within ${LIMIT_MS} ms. Screen:\n${screen}`);
  }

  kill(): Promise<string> {
    return this.run('kill-server').catch(() => '');
  }
}

const showsAllTasks = (screen: string): boolean => screen.includes('eventide top · pid') && DEMO_TASKS.every((name) => screen.includes(` ${name} `));

/** The name in the tree panel's heading: `── await tree: NAME #ID ──…`. */
function treeHeading(screen: string): string | undefined {
  return /── await tree: (\S+ #\d+) ─/.exec(screen)?.[1];
}

test('eventide top in an 80x24 tmux pane shows the demo\'s tasks and the await tree, ↓ selects, q and Ctrl-C quit cleanly, and it exits 1 when the program goes away', { skip: TMUX_MISSING, timeout: 10 * LIMIT_MS }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eventide-top-'));
  const socket = join(dir, 'demo.sock');
  const tmux = new Tmux(dir);
  const demo = await startDemo(['--inspect', socket]);
  try {
    await tmux.start();
    assert.equal((await tmux.run('display-message', '-p', '-t', 'top', '#{pane_width}x#{pane_height}')).trim(), '80x24');
    await tmux.waitFor('the shell prompt', (screen) => screen.includes(PROMPT));
    const command = `${process.execPath} ${CLI} top ${socket}; echo "top-exit=$?"`;

    // 1. The task table, the selected task's tree, then ↓ and q.
    await tmux.type(command);
    const first = await tmux.waitFor('every task of the demo', showsAllTasks);
    assert.equal(await tmux.alternateScreen(), true);
    const lines = first.split('\n');
    assert.match(lines[0] as string, /^eventide top · pid \d+ · 9 tasks · loop [\d.]+\S* +↑↓ select {2}q quit$/);
    assert.match(lines[1] as string, /^ID NAME +STATE +PRIO +BUSY STEPS WAKES +IDLE WAITING ON/);
    const selected = treeHeading(first);
    assert.ok(selected !== undefined, first);
    // The selected task's await tree: under main, unless main itself is selected.
    await tmux.waitFor('the await tree of the selected task', (screen) => {
      const heading = treeHeading(screen);
      return heading !== undefined && screen.includes(`── await tree: ${heading}`) && /\nmain #\d+ \(waiting on /.test(screen) && screen.includes(`${heading} (`);
    });
    await tmux.keys('Down');
    await tmux.waitFor('the selection moved', (screen) => treeHeading(screen) !== undefined && treeHeading(screen) !== selected);
    // A smaller terminal (SIGWINCH): the frame is laid out again to the new width and height.
    await tmux.run('resize-window', '-t', 'top', '-x', '60', '-y', '16');
    const small = await tmux.waitFor('the frame at 60x16', (screen) => /^── await tree: .* ─+$/m.test(screen) && (/^── await tree: .*$/m.exec(screen)?.[0].length ?? 0) === 60);
    assert.ok(small.split('\n').length <= 17, small);
    await tmux.run('resize-window', '-t', 'top', '-x', '80', '-y', '24');
    await tmux.waitFor('the frame at 80x24 again', (screen) => (/^── await tree: .*$/m.exec(screen)?.[0].length ?? 0) === 80);
    await tmux.keys('q');
    const after = await tmux.waitFor('the shell after q', (screen) => screen.includes('top-exit=0'));
    assert.equal(await tmux.alternateScreen(), false);
    assert.ok(!after.includes('eventide top · pid'), `the console's screen is gone:\n${after}`);
    assert.match(after, new RegExp(`top-exit=0\\n${PROMPT.replace('$', '\\$')}`));

    // 2. Ctrl-C quits the same way.
    await tmux.run('send-keys', '-t', 'top', 'clear', 'Enter');
    await tmux.type(command);
    await tmux.waitFor('every task again', showsAllTasks);
    await tmux.keys('C-c');
    await tmux.waitFor('the shell after Ctrl-C', (screen) => screen.includes('top-exit=0'));
    assert.equal(await tmux.alternateScreen(), false);

    // 3. The program goes away: top says so and exits 1.
    await tmux.run('send-keys', '-t', 'top', 'clear', 'Enter');
    await tmux.type(command);
    await tmux.waitFor('every task a third time', showsAllTasks);
    const cancel = await new Promise<number>((resolve) => execFile(process.execPath, [CLI, 'cancel', socket, 'main'], (error) => resolve(error === null ? 0 : 1)));
    assert.equal(cancel, 0);
    assert.equal(await demo.exited, 1);
    const gone = await tmux.waitFor('top noticing the program is gone', (screen) => screen.includes('top-exit=1'));
    assert.match(gone, new RegExp(`eventide top: ${socket.replace(/[.]/g, '\\.')} went away`));
    assert.equal(await tmux.alternateScreen(), false);
  } finally {
    await tmux.kill();
    await stopDemo(demo);
    rmSync(dir, { recursive: true, force: true });
  }
});
