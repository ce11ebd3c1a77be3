/**
 * What `eventide top` draws, as pure functions of a `ps` snapshot and the
 * terminal size — no I/O, so the layout is tested without a terminal.
 *
 * The screen, top to bottom (80x24 shown; every part adapts to the size):
 *
 *     eventide top · pid 4242 · 7 tasks · loop 12.3s          ↑↓ select  q quit
 *      ID NAME           STATE   PRIO       BUSY STEPS WAKES   IDLE WAITING ON
 *      4 worker-1        waiting normal    1.2s   312   311   20ms Queue.get()
 *     …                                  (the task table: busiest first)
 *     ── await tree: worker-1 #4 ─────────────────────────────────────────────
 *     main #1 (waiting on GatheringFuture #9)
 *     └── worker-1 #4 (waiting on Queue.get())
 *     ── warnings (1) ─────────────────────────────────────────────────────────
 *     2.1s ago  step of task hog #6 took 152 ms
 *
 * Invariants: no line is wider than the terminal and there are never more
 * lines than rows (a line that wraps would scroll the screen); the
 * selected task stays visible; text from the program (task names, labels)
 * is stripped of control characters so it cannot drive the terminal.
 */
import type { PsResult, TaskRow, WarningRow } from '../inspect/endpoint-protocol.js';

/** Everything one frame depends on. */
export interface TopState {
  /** The latest `ps` reply; null before the first. */
  readonly snapshot: PsResult | null;
  /** The selected task's id; null for "the first row". */
  readonly selectedId: number | null;
  /** Index of the first task row shown (kept so the table does not jump). */
  readonly scroll: number;
  readonly width: number;
  readonly height: number;
  /** What the console is connected to, for the title before the first snapshot. */
  readonly target: string;
}

/** A frame: its lines (with ANSI styles) and the scroll position it settled on. */
export interface TopFrame {
  readonly lines: readonly string[];
  readonly scroll: number;
}

const BOLD = '\x1b[1m';
const DIM = '\x1b[2m';
const REVERSE = '\x1b[7m';
const YELLOW = '\x1b[33m';
const RESET = '\x1b[0m';

/**
 * The task rows in display order: busiest first, then most steps, then by id.
 *
 * @example
 * sortRows(snapshot.tasks)[0]?.name; // the task with the most busy time
 */
export function sortRows(tasks: readonly TaskRow[]): TaskRow[] {
  return [...tasks].sort((a, b) => b.busyMs - a.busyMs || b.steps - a.steps || a.id - b.id);
}

/**
 * The id selected after moving `delta` rows from `selectedId` (clamped to
 * the table); the first row when nothing was selected.
 *
 * @example
 * moveSelection(rows, rows[0].id, +1); // rows[1].id
 */
export function moveSelection(rows: readonly TaskRow[], selectedId: number | null, delta: number): number | null {
  if (rows.length === 0) return null;
  const at = Math.max(0, rows.findIndex((row) => row.id === selectedId));
  const index = Math.min(rows.length - 1, Math.max(0, at + delta));
  return (rows[index] as TaskRow).id;
}

/** A key `eventide top` acts on. */
export type TopKey = 'up' | 'down' | 'pageUp' | 'pageDown' | 'home' | 'end' | 'quit';

const KEY_SEQUENCES: ReadonlyArray<readonly [string, TopKey]> = [
  ['\x1b[A', 'up'],
  ['\x1bOA', 'up'],
  ['\x1b[B', 'down'],
  ['\x1bOB', 'down'],
  ['\x1b[5~', 'pageUp'],
  ['\x1b[6~', 'pageDown'],
  ['\x1b[H', 'home'],
  ['\x1bOH', 'home'],
  ['\x1b[1~', 'home'],
  ['\x1b[F', 'end'],
  ['\x1bOF', 'end'],
  ['\x1b[4~', 'end'],
  ['k', 'up'],
  ['j', 'down'],
  ['g', 'home'],
  ['G', 'end'],
  ['q', 'quit'],
  ['Q', 'quit'],
  ['\x03', 'quit'], // Ctrl-C in raw mode
];

/**
 * The keys in one chunk of raw terminal input (several may come at once);
 * anything else is skipped.
 *
 * @example
 * readKeys('jj\x1b[Aq'); // ['down', 'down', 'up', 'quit']
 */
export function readKeys(input: string): TopKey[] {
  const keys: TopKey[] = [];
  let i = 0;
  while (i < input.length) {
    const match = KEY_SEQUENCES.find(([sequence]) => input.startsWith(sequence, i));
    if (match === undefined) {
      // An unknown escape sequence is skipped whole (ESC [ params final), so its letters are not read as keys.
      const escape = /^\x1b(?:\[[0-9;?]*[ -/]*[@-~]|O.)?/.exec(input.slice(i));
      i += escape === null ? 1 : escape[0].length;
      continue;
    }
    keys.push(match[1]);
    i += match[0].length;
  }
  return keys;
}

/**
 * Lays out one frame (see the module comment).
 *
 * @example
 * const frame = renderTop({ snapshot, selectedId: 4, scroll: 0, width: 80, height: 24, target: 'pid 4242' });
 * process.stdout.write(frameText(frame.lines, 24));
 */
export function renderTop(state: TopState): TopFrame {
  const width = Math.max(20, Math.floor(state.width));
  const height = Math.max(3, Math.floor(state.height));
  const snapshot = state.snapshot;
  const lines: string[] = [];
  if (snapshot === null) {
    lines.push(BOLD + fit(`eventide top · ${state.target}`, width) + RESET, fit(`connecting to ${state.target}…`, width));
    return { lines, scroll: 0 };
  }
  const rows = sortRows(snapshot.tasks);
  const selectedId = rows.some((row) => row.id === state.selectedId) ? state.selectedId : (rows[0]?.id ?? null);
  const layout = panelSizes(height, rows.length, snapshot.warnings.length);
  const selectedIndex = Math.max(0, rows.findIndex((row) => row.id === selectedId));
  let scroll = Math.min(Math.max(0, state.scroll), Math.max(0, rows.length - layout.tasks));
  if (selectedIndex < scroll) scroll = selectedIndex;
  if (selectedIndex >= scroll + layout.tasks) scroll = selectedIndex - layout.tasks + 1;

  lines.push(titleLine(snapshot, rows.length, scroll, layout.tasks, width));
  // Column widths from every row, so they do not change while scrolling.
  const table = formatTaskTable(rows, width);
  lines.push(REVERSE + fit(table.header, width, true) + RESET);
  rows.slice(scroll, scroll + layout.tasks).forEach((row, i) => {
    const selected = row.id === selectedId;
    const text = fit(table.lines[scroll + i] as string, width, selected);
    lines.push(selected ? REVERSE + text + RESET : text);
  });
  if (rows.length === 0) lines.push(fit('(no pending tasks)', width));
  if (layout.tree > 0) lines.push(...treePanel(snapshot, rows.find((row) => row.id === selectedId) ?? null, layout.tree, width));
  if (layout.warnings > 0) lines.push(...warningsPanel(snapshot, layout.warnings, width));
  return { lines: lines.slice(0, height), scroll };
}

/**
 * The text that draws `lines` over a screen of `height` rows: cursor home,
 * each line cleared before it is written, the rows below cleared. (Each
 * line is cleared first, not after: a line that fills the last column
 * leaves the cursor on that column, and clearing there would erase it.)
 *
 * @example
 * process.stdout.write(frameText(renderTop(state).lines, 24));
 */
export function frameText(lines: readonly string[], height: number): string {
  const body = lines.map((line) => `\x1b[2K${line}`).join('\r\n');
  return `\x1b[H${body}${lines.length < height ? '\r\n\x1b[J' : ''}`;
}

/** How many rows each panel gets: the table at most half, warnings a sixth, the tree the rest. */
function panelSizes(height: number, taskCount: number, warningCount: number): { tasks: number; tree: number; warnings: number } {
  const body = height - 2; // title and column headings
  if (body < 8) return { tasks: Math.max(1, body), tree: 0, warnings: 0 };
  const panels = body - 2; // the two panel headings
  const warnings = Math.min(6, Math.max(1, Math.floor(panels / 6)), Math.max(1, warningCount));
  const rest = panels - warnings;
  const tasks = Math.min(Math.max(1, taskCount), Math.ceil(rest / 2));
  return { tasks, tree: rest - tasks + 1, warnings: warnings + 1 };
}

function titleLine(snapshot: PsResult, taskCount: number, scroll: number, shown: number, width: number): string {
  const range = taskCount > shown ? ` (${scroll + 1}-${Math.min(taskCount, scroll + shown)})` : '';
  const left = `eventide top · pid ${snapshot.pid} · ${taskCount} task${taskCount === 1 ? '' : 's'}${range} · loop ${formatDuration(snapshot.timeMs)}${snapshot.debug ? ' · debug' : ''}`;
  const right = '↑↓ select  q quit';
  const gap = width - left.length - right.length;
  return BOLD + (gap >= 2 ? left + ' '.repeat(gap) + right : fit(left, width)) + RESET;
}

interface Column {
  readonly title: string;
  width: number;
  readonly right: boolean;
  readonly cell: (row: TaskRow) => string;
  /** Columns with a higher number are dropped first when the terminal is narrow; 0 never. */
  readonly dropOrder: number;
  /** Shares the space left over (NAME, WAITING ON). */
  readonly flex: boolean;
}

/**
 * The task table as plain text no wider than `width`: a heading and one
 * line per row, in the order given, trailing spaces trimmed. Narrow
 * terminals lose the least useful columns first (BUSY and the names stay).
 * Used by `eventide top` (which styles it) and `eventide ps`.
 *
 * @example
 * const { header, lines } = formatTaskTable(snapshot.tasks, 80);
 * console.log([header, ...lines].join('\n'));
 */
export function formatTaskTable(rows: readonly TaskRow[], width: number): { header: string; lines: string[] } {
  const columns = fitColumns(rows, width);
  const line = (cells: (column: Column) => string): string =>
    columns
      .map((column) => align(cells(column), column.width, column.right))
      .join(' ')
      .trimEnd();
  return { header: line((column) => column.title), lines: rows.map((row) => line((column) => column.cell(row))) };
}

function fitColumns(rows: readonly TaskRow[], width: number): Column[] {
  const all: Column[] = [
    numeric('ID', (row) => String(row.id), 0),
    { title: 'NAME', width: 4, right: false, cell: (row) => printable(row.name), dropOrder: 0, flex: true },
    { title: 'STATE', width: 7, right: false, cell: (row) => row.state, dropOrder: 0, flex: false },
    { title: 'PRIO', width: 8, right: false, cell: (row) => row.priority, dropOrder: 3, flex: false },
    numeric('BUSY', (row) => formatDuration(row.busyMs), 1),
    numeric('STEPS', (row) => String(row.steps), 4),
    numeric('WAKES', (row) => String(row.wakes), 5),
    numeric('IDLE', (row) => (row.waitingMs === null ? '-' : formatDuration(row.waitingMs)), 2),
    { title: 'WAITING ON', width: 10, right: false, cell: (row) => printable(row.waitingOn ?? ''), dropOrder: 0, flex: true },
  ];
  for (const column of all) {
    if (!column.flex) column.width = Math.max(column.width, ...rows.map((row) => column.cell(row).length));
  }
  const minFlex = 8;
  let columns = all;
  const fixedWidth = (list: readonly Column[]): number => list.reduce((sum, c) => sum + (c.flex ? 0 : c.width) + 1, -1);
  while (fixedWidth(columns) + 2 * (minFlex + 1) > width) {
    const drop = columns.reduce<Column | null>((worst, c) => (c.dropOrder > (worst?.dropOrder ?? 0) ? c : worst), null);
    if (drop === null) break;
    columns = columns.filter((c) => c !== drop);
  }
  const spare = Math.max(2 * minFlex, width - fixedWidth(columns) - 2);
  const longestName = Math.max(4, ...rows.map((row) => printable(row.name).length));
  const nameWidth = Math.min(longestName, Math.max(minFlex, Math.floor(spare / 2)));
  const longestWait = Math.max(10, ...rows.map((row) => printable(row.waitingOn ?? '').length));
  for (const column of columns) {
    if (column.flex) column.width = column.title === 'NAME' ? nameWidth : Math.min(longestWait, Math.max(minFlex, spare - nameWidth));
  }
  return columns;
}

function numeric(title: string, cell: (row: TaskRow) => string, dropOrder: number): Column {
  return { title, width: title.length, right: true, cell, dropOrder, flex: false };
}

function treePanel(snapshot: PsResult, selected: TaskRow | null, size: number, width: number): string[] {
  const heading = selected === null ? 'await tree' : `await tree: ${printable(selected.name)} #${selected.id}`;
  const lines = [DIM + rule(heading, width) + RESET];
  let tree: string[];
  const reply = snapshot.selected;
  if (selected === null) tree = [];
  else if (reply !== null && reply.id === selected.id) tree = reply.tree.split('\n').map(printable);
  else if (reply !== null && reply.id === null) tree = [printable(reply.error)];
  else tree = ['…'];
  const rowsAvailable = size - 1;
  const marker = selected === null ? null : `${printable(selected.name)} #${selected.id} (`;
  const at = marker === null ? -1 : tree.findIndex((line) => line.includes(marker));
  // Keep the selected task's line in view, a third of the way down.
  const start = Math.max(0, Math.min(at - Math.floor(rowsAvailable / 3), tree.length - rowsAvailable));
  tree.slice(start, start + rowsAvailable).forEach((line, i) => {
    const text = fit(line, width);
    lines.push(start + i === at ? BOLD + text + RESET : text);
  });
  while (lines.length < size) lines.push('');
  return lines;
}

function warningsPanel(snapshot: PsResult, size: number, width: number): string[] {
  const warnings: readonly WarningRow[] = snapshot.warnings;
  const lines = [DIM + rule(`warnings (${warnings.length}${warnings.length === 0 ? '' : ', latest first'})`, width) + RESET];
  for (const warning of [...warnings].reverse().slice(0, size - 1)) {
    const age = formatDuration(Math.max(0, snapshot.timeMs - warning.atMs));
    lines.push(YELLOW + fit(`${age} ago  ${printable(warning.text)}`, width) + RESET);
  }
  while (lines.length < size) lines.push('');
  return lines;
}

/** `── heading ─────…` across the width. */
function rule(heading: string, width: number): string {
  const text = `── ${heading} `;
  return fit(text + '─'.repeat(Math.max(0, width - text.length)), width);
}

/**
 * A duration in at most 6 characters: `0.4ms`, `152ms`, `12.3s`, `4m05s`, `2h07m`.
 *
 * @example
 * formatDuration(12_345); // '12.3s'
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 10) return `${ms.toFixed(1)}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor(seconds / 60) % 60).padStart(2, '0')}m`;
}

/** `text` cut to `width` characters (with `…` when cut), padded to `width` when `pad`. */
function fit(text: string, width: number, pad = false): string {
  const chars = Array.from(text);
  if (chars.length > width) return chars.slice(0, Math.max(0, width - 1)).join('') + '…';
  return pad ? text + ' '.repeat(width - chars.length) : text;
}

function align(text: string, width: number, right: boolean): string {
  const chars = Array.from(text);
  if (chars.length > width) return chars.slice(0, Math.max(0, width - 1)).join('') + '…';
  const padding = ' '.repeat(width - chars.length);
  return right ? padding + text : text + padding;
}

/**
 * Program-supplied text (task names, labels, trees) with every control
 * character replaced by `?`, so printing it cannot drive the terminal.
 *
 * @example
 * printable('evil\x1b[2J'); // 'evil?[2J'
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}
