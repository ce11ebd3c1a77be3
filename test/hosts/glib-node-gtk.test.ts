/**
 * The GLib host on the real binding: node-gtk's GLib main loop drives
 * eventide in a child process (test/hosts/fixtures/glib-main.ts; GLib
 * only, no display). Skips outside CI when node-gtk is not installed.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'node:test';
import { nodeGtkSkipReason } from './node-gtk-support.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/glib-main.js', import.meta.url));

test('under node-gtk GLib main loop: socket echo through the epoll fd source, every promise hop of a tick before the next tick even when GLib dispatches two eventide sources in one iteration, and Node timers and fs still work', { skip: nodeGtkSkipReason() ?? false, timeout: 60_000 }, () => {
  const output = execFileSync(process.execPath, [FIXTURE], { encoding: 'utf8', timeout: 50_000 });
  const report = JSON.parse(output.trim().split('\n').at(-1) as string);
  assert.equal(report.echoed, 20);
  assert.equal(report.lastEcho, 'line 19');
  assert.equal(report.timerMs, 20);
  assert.equal(report.fileRead, true);
  // Each round: B (a tick) starts a three-hop promise chain and schedules C;
  // the reader's tick (the fd source) may come before or with B's.
  const rounds = (report.order as string[]).join(' ').split(' C').filter((r) => r.trim() !== '').map((r) => r.trim());
  assert.equal(rounds.length, 5, report.order.join(', '));
  for (const round of rounds) {
    assert.equal(round.replace('reader ', '').replace(' reader', ''), 'B hop 1 hop 2 hop 3', `the chain B released ran before C: ${report.order.join(', ')}`);
    assert.ok(round.includes('reader'));
  }
  assert.ok(report.host.checkpointWaits >= 1, `GLib dispatched two eventide sources in one iteration at least once (checkpointWaits ${report.host.checkpointWaits})`);
  assert.equal(report.host.checkpointsMissing, false, 'node-gtk drains microtasks at the start of each iteration');
  assert.ok(report.host.fdSources === 1, 'one fd source: the selector epoll fd');
});
