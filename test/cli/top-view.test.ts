/**
 * The layout of `eventide top` (src/cli/top-view.ts), without a terminal:
 * frames fit the screen exactly (80x24 and smaller), the busiest task
 * comes first, the selection stays visible while scrolling, narrow
 * terminals drop the least useful columns, program text cannot inject
 * escape sequences, and raw key input is decoded.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import type { PsResult, TaskRow } from '../../src/inspect/endpoint-protocol.js';
import { formatDuration, formatTaskTable, frameText, moveSelection, readKeys, renderTop, sortRows } from '../../src/cli/top-view.js';

function taskRow(id: number, overrides: Partial<TaskRow> = {}): TaskRow {
  return {
    id,
    name: `task-${id}`,
    priority: 'normal',
    state: 'waiting',
    steps: id * 10,
    busyMs: id * 1.5,
    wakes: id * 10 - 1,
    waitingMs: 120,
    waitingOn: 'Queue.get()',
    spawnerId: 1,
    cancelling: 0,
    ...overrides,
  };
}

function snapshot(tasks: TaskRow[], selected: PsResult['selected'] = null, warnings: PsResult['warnings'] = []): PsResult {
  return { pid: 4242, timeMs: 12_345, debug: false, tasks, warnings, selected };
}

/** What the terminal shows of a line: the text without SGR sequences. */
function visible(line: string): string {
  return line.replace(/\x1b\[[0-9;]*m/g, '');
}

test('an 80x24 frame is exactly 24 lines of at most 80 columns, busiest task first, with the tree and warnings panels', () => {
  const tasks = [1, 2, 3].map((id) => taskRow(id));
  const tree = 'main #1 (waiting on task pool)\n└── task-3 #3 (waiting on Queue.get())';
  const warnings = [{ atMs: 12_000, kind: 'slow-callback' as const, taskId: 3, text: 'step of task task-3 #3 took 152 ms' }];
  const frame = renderTop({ snapshot: snapshot(tasks, { id: 3, tree }, warnings), selectedId: 3, scroll: 0, width: 80, height: 24, target: 'pid 4242' });
  const lines = frame.lines.map(visible);
  assert.equal(lines.length, 24);
  for (const line of lines) assert.ok(Array.from(line).length <= 80, `too wide: ${line}`);
  assert.match(lines[0] as string, /^eventide top · pid 4242 · 3 tasks · loop 12\.3s +↑↓ select {2}q quit$/);
  assert.equal(Array.from(lines[0] as string).length, 80);
  assert.deepEqual(lines.slice(1, 5).map((line) => line.trimEnd()), [
    'ID NAME   STATE   PRIO      BUSY STEPS WAKES  IDLE WAITING ON',
    ' 3 task-3 waiting normal   4.5ms    30    29 120ms Queue.get()',
    ' 2 task-2 waiting normal   3.0ms    20    19 120ms Queue.get()',
    ' 1 task-1 waiting normal   1.5ms    10     9 120ms Queue.get()',
  ]);
  assert.ok(frame.lines[2]?.startsWith('\x1b[7m'), 'the selected row is in reverse video');
  assert.equal(lines[5], `── await tree: task-3 #3 ${'─'.repeat(80 - 25)}`);
  assert.deepEqual(lines.slice(6, 8), tree.split('\n'));
  assert.ok(frame.lines[7]?.startsWith('\x1b[1m'), "the selected task's line in the tree is bold");
  const warningsAt = lines.findIndex((line) => line.startsWith('── warnings (1, latest first)'));
  assert.equal(warningsAt, 22);
  assert.equal(lines[23], '345ms ago  step of task task-3 #3 took 152 ms');
});

test('with more tasks than rows the table scrolls to keep the selection in view, and says which rows it shows', () => {
  const tasks = Array.from({ length: 40 }, (_, i) => taskRow(i + 1));
  const rows = sortRows(tasks);
  assert.deepEqual(rows.slice(0, 3).map((row) => row.id), [40, 39, 38]);
  const target = rows[25] as TaskRow;
  const frame = renderTop({ snapshot: snapshot(tasks), selectedId: target.id, scroll: 0, width: 80, height: 24, target: 'x' });
  const lines = frame.lines.map(visible);
  assert.equal(lines.length, 24);
  const shown = lines.filter((line) => /^ ?\d+ task-/.test(line)).map((line) => Number(line.trim().split(' ')[0]));
  assert.equal(shown.length, 10);
  assert.equal(shown.at(-1), target.id, 'scrolled just far enough: the selection is the last row shown');
  assert.equal(frame.scroll, 16);
  assert.match(lines[0] as string, /40 tasks \(17-26\)/);
  // Moving up keeps the scroll until the selection reaches the top.
  const up = renderTop({ snapshot: snapshot(tasks), selectedId: moveSelection(rows, target.id, -9), scroll: frame.scroll, width: 80, height: 24, target: 'x' });
  assert.equal(up.scroll, 16);
  const above = renderTop({ snapshot: snapshot(tasks), selectedId: moveSelection(rows, target.id, -10), scroll: frame.scroll, width: 80, height: 24, target: 'x' });
  assert.equal(above.scroll, 15);
});

test('a narrow, short terminal drops columns (WAKES, STEPS, PRIO, ...) and panels but still fits', () => {
  const tasks = [taskRow(1, { name: 'a-rather-long-task-name-indeed', waitingOn: 'sleep, 12 ms left' }), taskRow(2)];
  for (const [width, height] of [
    [40, 12],
    [30, 6],
    [80, 24],
    [132, 50],
  ] as const) {
    const lines = renderTop({ snapshot: snapshot(tasks, { id: 2, tree: 'x'.repeat(300) }), selectedId: 2, scroll: 0, width, height, target: 'x' }).lines.map(visible);
    assert.ok(lines.length <= height, `${width}x${height}: ${lines.length} lines`);
    for (const line of lines) assert.ok(Array.from(line).length <= width, `${width}x${height}: too wide: ${line}`);
  }
  const narrow = formatTaskTable(tasks, 40).header;
  assert.equal(narrow, 'ID NAME       STATE    BUSY WAITING ON');
  assert.equal(formatTaskTable(tasks, 200).lines[0], ' 1 a-rather-long-task-name-indeed waiting normal   1.5ms    10     9 120ms sleep, 12 ms left');
});

test('task names and labels from the program cannot send escape sequences to the terminal', () => {
  const tasks = [taskRow(1, { name: 'evil\x1b[2J\x07', waitingOn: 'x\x1b]0;title\x07' })];
  const frame = renderTop({ snapshot: snapshot(tasks, { id: 1, tree: 'evil\x1b[2J #1' }), selectedId: 1, scroll: 0, width: 80, height: 24, target: 'x' });
  for (const line of frame.lines) {
    const stripped = line.replace(/\x1b\[(?:0|1|2|7|33)m/g, '');
    assert.equal(/[\x00-\x1f]/.test(stripped), false, JSON.stringify(line));
  }
  assert.match(visible(frame.lines[2] as string), /evil\?\[2J\?/);
});

test('before the first snapshot the frame says it is connecting', () => {
  const lines = renderTop({ snapshot: null, selectedId: null, scroll: 0, width: 80, height: 24, target: 'pid 7' }).lines.map(visible);
  assert.deepEqual(lines, ['eventide top · pid 7', 'connecting to pid 7…']);
});

test('frameText draws from the top-left, clears each line before writing it, and clears below a short frame', () => {
  assert.equal(frameText(['a', 'b'], 2), '\x1b[H\x1b[2Ka\r\n\x1b[2Kb');
  assert.equal(frameText(['a'], 3), '\x1b[H\x1b[2Ka\r\n\x1b[J');
});

test('readKeys decodes arrows (both cursor modes), j/k, paging, q and Ctrl-C, skipping unknown sequences whole', () => {
  assert.deepEqual(readKeys('jj\x1b[Aq'), ['down', 'down', 'up', 'quit']);
  assert.deepEqual(readKeys('\x1bOB\x1bOA\x1b[5~\x1b[6~gG\x03'), ['down', 'up', 'pageUp', 'pageDown', 'home', 'end', 'quit']);
  assert.deepEqual(readKeys('\x1b[1;5Cx\x1b[15~k'), ['up']);
});

test('moveSelection clamps at both ends; formatDuration fits in 6 characters', () => {
  const rows = sortRows([taskRow(1), taskRow(2), taskRow(3)]);
  assert.equal(moveSelection(rows, null, 0), 3);
  assert.equal(moveSelection(rows, 3, -5), 3);
  assert.equal(moveSelection(rows, 3, 1), 2);
  assert.equal(moveSelection(rows, 3, 99), 1);
  assert.equal(moveSelection([], 3, 1), null);
  assert.deepEqual(
    [0.04, 9.94, 152.4, 12_345, 245_000, 7_620_000, -1].map(formatDuration),
    ['0.0ms', '9.9ms', '152ms', '12.3s', '4m05s', '2h07m', '-'],
  );
});
