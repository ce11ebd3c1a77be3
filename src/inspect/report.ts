/**
 * A trace as a page a person can read: `renderReport(events)` turns the
 * events a TraceRecorder recorded into one self-contained HTML file — no
 * network, no external scripts or styles, so it opens from disk anywhere.
 *
 * What the page shows:
 *  - a header with totals: time covered, tasks, steps, time in steps, time
 *    waiting for I/O, slow slices;
 *  - the timeline: the loop's own row (callbacks that are not task steps,
 *    I/O waits), then one row per task, its steps as bars; between its first
 *    and last step a thin line — the time it was suspended (waiting or
 *    queued) — so a task's waits are the gaps on the line;
 *  - slow slices (a step or callback longer than `slowMs`) in red, never
 *    merged with neighbours, and listed in a table of their own;
 *  - a table of the busiest tasks by total step time, busiest first.
 *
 * Invariants: everything shown is computed from the events alone; every
 * name that came from the program is HTML-escaped; the page's size is
 * bounded whatever the trace's length — bars closer together than a
 * fraction of the time covered are merged into one (its tooltip says how
 * many), and at most `maxRows` task rows are drawn (the busiest).
 */
import type { TraceEvent } from './trace.js';

export interface ReportOptions {
  /** The page's title and heading. Default 'eventide trace'. */
  title?: string;
  /** Steps and callbacks longer than this are slow: highlighted and listed. Default 50. */
  slowMs?: number;
  /** Draw at most this many task rows (the busiest). Default 500. */
  maxRows?: number;
}

/** One bar: a slice, or several close ones merged. */
interface Bar {
  startUs: number;
  endUs: number;
  busyUs: number;
  count: number;
  slow: boolean;
  label: string;
}

interface Track {
  tid: number;
  name: string;
  slices: { ts: number; dur: number; label: string }[];
  busyUs: number;
  steps: number;
  longestUs: number;
  exit: string;
  exitUs: number;
}

interface SlowSlice {
  where: string;
  what: string;
  ts: number;
  dur: number;
}

/** Merged bars per row: about one per this fraction of the time covered. */
const BAR_RESOLUTION = 2000;
const LOOP_TID = 0;

/**
 * Renders recorded trace events as a self-contained HTML timeline (see the
 * module comment). Pass `recorder.toJSON().traceEvents`.
 *
 * @example
 * const recorder = new TraceRecorder(loop);
 * await loop.runUntilComplete(main);
 * recorder.stop();
 * fs.writeFileSync('report.html', renderReport(recorder.toJSON().traceEvents, { title: 'my app' }));
 */
export function renderReport(events: readonly TraceEvent[], options: ReportOptions = {}): string {
  if (!Array.isArray(events)) throw new TypeError(`renderReport: events must be an array of trace events, got ${String(events)}`);
  if (options === null || typeof options !== 'object') throw new TypeError(`renderReport: options must be an object, got ${String(options)}`);
  const title = options.title ?? 'eventide trace';
  if (typeof title !== 'string') throw new TypeError(`renderReport: options.title must be a string, got ${String(title)}`);
  const slowMs = options.slowMs ?? 50;
  if (typeof slowMs !== 'number' || !(slowMs >= 0) || !Number.isFinite(slowMs)) {
    throw new RangeError(`renderReport: options.slowMs must be a finite number >= 0, got ${String(slowMs)}`);
  }
  const maxRows = options.maxRows ?? 500;
  if (!Number.isInteger(maxRows) || maxRows < 1) throw new RangeError(`renderReport: options.maxRows must be a positive integer, got ${String(maxRows)}`);
  const slowUs = slowMs * 1000;

  // ---- read the events
  const tracks = new Map<number, Track>();
  const track = (tid: number): Track => {
    let t = tracks.get(tid);
    if (t === undefined) {
      t = { tid, name: tid === LOOP_TID ? 'event loop' : `task #${tid}`, slices: [], busyUs: 0, steps: 0, longestUs: 0, exit: '', exitUs: -1 };
      tracks.set(tid, t);
    }
    return t;
  };
  const loopSlices: { ts: number; dur: number; label: string }[] = [];
  const ioWaits: { ts: number; dur: number }[] = [];
  const slow: SlowSlice[] = [];
  let minUs = Infinity;
  let maxUs = -Infinity;
  let ioWaitUs = 0;
  let callbacks = 0;
  for (const event of events) {
    if (event === null || typeof event !== 'object') continue;
    if (event.ph === 'M') {
      if (event.name === 'thread_name' && typeof event.args?.['name'] === 'string') track(event.tid).name = event.args['name'];
      continue;
    }
    const ts = typeof event.ts === 'number' ? event.ts : NaN;
    if (!Number.isFinite(ts)) continue;
    const dur = event.ph === 'X' && typeof event.dur === 'number' && event.dur > 0 ? event.dur : 0;
    minUs = Math.min(minUs, ts);
    maxUs = Math.max(maxUs, ts + dur);
    if (event.ph === 'X' && event.cat === 'task') {
      const t = track(event.tid);
      const step = event.args?.['step'];
      t.slices.push({ ts, dur, label: `step ${typeof step === 'number' ? step : '?'}` });
      t.busyUs += dur;
      t.steps++;
      t.longestUs = Math.max(t.longestUs, dur);
      if (dur > slowUs) slow.push({ where: t.name, what: `step ${String(step)}`, ts, dur });
    } else if (event.ph === 'X' && event.cat === 'callback') {
      callbacks++;
      loopSlices.push({ ts, dur, label: event.name });
      if (dur > slowUs) slow.push({ where: 'event loop', what: `callback ${event.name}`, ts, dur });
    } else if (event.ph === 'X' && event.name === 'io wait') {
      ioWaitUs += dur;
      ioWaits.push({ ts, dur });
    } else if (event.ph === 'i' && event.name.startsWith('exit (')) {
      const t = track(event.tid);
      t.exit = event.name.slice(6, -1);
      t.exitUs = ts;
    }
  }
  if (!Number.isFinite(minUs)) minUs = maxUs = 0;
  // Names are read for every track; slices fix which ones are drawn (a
  // loop-track entry exists only to carry the loop's name).
  const loopName = tracks.get(LOOP_TID)?.name ?? 'event loop';
  tracks.delete(LOOP_TID);
  const spanUs = Math.max(maxUs - minUs, 1);
  const mergeUs = spanUs / BAR_RESOLUTION;

  const tasks = [...tracks.values()];
  const busiest = [...tasks].sort((a, b) => b.busyUs - a.busyUs || b.steps - a.steps || a.tid - b.tid);
  const drawn = new Set(busiest.slice(0, maxRows));
  const rows = tasks.filter((t) => drawn.has(t)).sort((a, b) => a.tid - b.tid);
  const totalSteps = tasks.reduce((n, t) => n + t.steps, 0);
  const totalBusyUs = tasks.reduce((n, t) => n + t.busyUs, 0);
  slow.sort((a, b) => b.dur - a.dur);

  // ---- lay out
  const pct = (us: number): string => `${(Math.max(0, us) / spanUs * 100).toFixed(4)}%`;
  const at = (us: number): string => pct(us - minUs);
  const barHtml = (bar: Bar, cls: string): string => {
    const tip = bar.count === 1 ? `${bar.label}: ${ms(bar.busyUs)} at ${ms(bar.startUs - minUs)}` : `${bar.count} slices, ${ms(bar.busyUs)} busy, ${ms(bar.startUs - minUs)}–${ms(bar.endUs - minUs)}`;
    return `<div class="bar ${cls}${bar.slow ? ' slow' : ''}" style="left:${at(bar.startUs)};width:${pct(bar.endUs - bar.startUs)}" title="${esc(tip)}"></div>`;
  };
  const rowHtml = (tid: number, name: string, info: string, inner: string): string =>
    `<div class="row" data-tid="${tid}"><div class="label" title="${esc(name)}">${esc(name)}<span class="info">${esc(info)}</span></div><div class="lane">${inner}</div></div>`;

  const loopInner =
    merge(ioWaits.map((w) => ({ ...w, label: 'io wait' })), mergeUs, Infinity).map((b) => barHtml(b, 'io')).join('') +
    merge(loopSlices, mergeUs, slowUs).map((b) => barHtml(b, 'cb')).join('');
  const rowsHtml = [rowHtml(LOOP_TID, loopName, `${callbacks} callbacks`, loopInner)];
  for (const t of rows) {
    let inner = '';
    const sorted = t.slices.sort((a, b) => a.ts - b.ts);
    const first = sorted[0];
    if (first !== undefined) {
      const last = sorted[sorted.length - 1] as { ts: number; dur: number };
      const endUs = Math.max(last.ts + last.dur, t.exitUs);
      inner += `<div class="wait" style="left:${at(first.ts)};width:${pct(endUs - first.ts)}" title="suspended between steps"></div>`;
    }
    inner += merge(sorted, mergeUs, slowUs).map((b) => barHtml(b, 'step')).join('');
    if (t.exitUs >= 0) inner += `<div class="exit ${esc(t.exit)}" style="left:${at(t.exitUs)}" title="${esc(`exit (${t.exit}) at ${ms(t.exitUs - minUs)}`)}"></div>`;
    rowsHtml.push(rowHtml(t.tid, t.name, `${t.steps} steps`, inner));
  }
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => `<span class="tick" style="left:${(f * 100).toFixed(0)}%">${esc(ms(f * spanUs))}</span>`)
    .join('');

  const busiestRows = busiest
    .slice(0, 100)
    .map(
      (t, i) =>
        `<tr data-tid="${t.tid}"><td class="rank">${i + 1}</td><td class="name">${esc(t.name)}</td><td class="num">${esc(ms(t.busyUs))}</td><td class="num">${t.steps}</td><td class="num">${esc(ms(t.longestUs))}</td><td>${esc(t.exit || 'running')}</td></tr>`,
    )
    .join('');
  const slowRows = slow
    .slice(0, 100)
    .map((s) => `<tr><td class="name">${esc(s.where)}</td><td>${esc(s.what)}</td><td class="num">${esc(ms(s.ts - minUs))}</td><td class="num">${esc(ms(s.dur))}</td></tr>`)
    .join('');
  const hidden = tasks.length - rows.length;

  const totals: [string, string][] = [
    ['time covered', ms(spanUs)],
    ['tasks', String(tasks.length)],
    ['steps', String(totalSteps)],
    ['time in steps', ms(totalBusyUs)],
    ['other callbacks', String(callbacks)],
    ['waiting for I/O', ms(ioWaitUs)],
    [`slow (> ${slowMs} ms)`, String(slow.length)],
  ];

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${esc(title)}</h1>
<dl class="totals">${totals.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join('')}</dl>
</header>
<section>
<h2>Timeline</h2>
<p class="legend"><span class="key step"></span>task step <span class="key suspended"></span>suspended <span class="key cb"></span>callback <span class="key io"></span>I/O wait <span class="key slow"></span>slow (&gt; ${esc(String(slowMs))} ms) — hover a bar for details; click a task in the table below to find its row.</p>
<label class="zoom">zoom <input id="zoom" type="range" min="1" max="20" value="1"></label>
<div id="timeline" class="timeline"><div class="inner" style="--zoom:1">
<div class="row axis"><div class="label">time</div><div class="lane">${ticks}</div></div>
${rowsHtml.join('\n')}
</div></div>
${hidden > 0 ? `<p class="note">${hidden} less busy tasks are not drawn.</p>` : ''}
</section>
<section>
<h2>Busiest tasks</h2>
<table id="busiest"><thead><tr><th>#</th><th>task</th><th>time in steps</th><th>steps</th><th>longest step</th><th>outcome</th></tr></thead>
<tbody>${busiestRows}</tbody></table>
</section>
<section>
<h2>Slow steps and callbacks</h2>
${slow.length === 0 ? `<p class="note">None over ${esc(String(slowMs))} ms.</p>` : `<table id="slow"><thead><tr><th>where</th><th>what</th><th>at</th><th>duration</th></tr></thead><tbody>${slowRows}</tbody></table>`}
</section>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

/** Sorted slices as bars: neighbours closer than `mergeUs` join, unless either is slow. */
function merge(slices: readonly { ts: number; dur: number; label: string }[], mergeUs: number, slowUs: number): Bar[] {
  const bars: Bar[] = [];
  let prev: Bar | null = null;
  for (const s of [...slices].sort((a, b) => a.ts - b.ts)) {
    const isSlow = s.dur > slowUs;
    if (prev !== null && !isSlow && !prev.slow && s.ts - prev.endUs < mergeUs && s.ts + s.dur - prev.startUs < mergeUs * 4) {
      prev.endUs = Math.max(prev.endUs, s.ts + s.dur);
      prev.busyUs += s.dur;
      prev.count++;
      continue;
    }
    prev = { startUs: s.ts, endUs: s.ts + s.dur, busyUs: s.dur, count: 1, slow: isSlow, label: s.label };
    bars.push(prev);
  }
  return bars;
}

/** µs as a readable millisecond figure. */
function ms(us: number): string {
  const v = us / 1000;
  return `${v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toFixed(3)} ms`;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0 24px 48px;color:#222;background:#fff}
h1{font-size:20px;margin:16px 0 8px}h2{font-size:16px;margin:24px 0 8px}
.totals{display:flex;flex-wrap:wrap;gap:8px 24px;margin:0}.totals div{display:flex;flex-direction:column}
.totals dt{font-size:12px;color:#666}.totals dd{margin:0;font-weight:600;font-variant-numeric:tabular-nums}
.legend{font-size:12px;color:#555}.key{display:inline-block;width:14px;height:8px;margin:0 4px 0 12px;vertical-align:middle}
.key.step{background:#3b7dd8}.key.suspended{height:2px;background:#999}.key.cb{background:#8e6bbf}.key.io{background:#cfe3cf}.key.slow{background:#d62728}
.timeline{overflow-x:auto;border:1px solid #ddd}.inner{width:calc(100% * var(--zoom));min-width:100%}
.row{display:flex;height:20px;border-bottom:1px solid #f0f0f0}.row:hover,.row.picked{background:#fff7d6}
.label{position:sticky;left:0;z-index:2;flex:0 0 220px;overflow:hidden;white-space:nowrap;text-overflow:ellipsis;padding:0 6px;background:inherit;background-color:#fafafa;font-size:12px;line-height:20px;border-right:1px solid #ddd}
.info{color:#888;margin-left:6px}
.lane{position:relative;flex:1 1 auto;margin-right:8px}
.bar{position:absolute;top:4px;height:12px;min-width:1px}
.bar.step{background:#3b7dd8}.bar.cb{background:#8e6bbf}.bar.io{background:#cfe3cf;top:6px;height:8px}
.bar.slow{background:#d62728;outline:1px solid #8b0000;z-index:1}
.wait{position:absolute;top:9px;height:2px;background:#999}
.exit{position:absolute;top:3px;width:2px;height:14px;background:#444}.exit.failed{background:#d62728}.exit.cancelled{background:#e08a00}
.axis .lane{font-size:11px;color:#666}.tick{position:absolute;top:3px;transform:translateX(-50%);white-space:nowrap}
.tick:first-child{transform:none}.tick:last-child{transform:translateX(-100%)}
table{border-collapse:collapse;font-size:13px}th,td{padding:3px 10px;border-bottom:1px solid #eee;text-align:left}
th{background:#f4f4f4}.num{text-align:right;font-variant-numeric:tabular-nums}
#busiest tbody tr{cursor:pointer}#busiest tbody tr:hover{background:#fff7d6}
.note{color:#666;font-size:12px}
`;

/** Zoom and "find this task's row"; works on what the page already has. */
const SCRIPT = `
(function () {
  var inner = document.querySelector('#timeline .inner');
  var zoom = document.getElementById('zoom');
  if (inner && zoom) zoom.addEventListener('input', function () { inner.style.setProperty('--zoom', zoom.value); });
  var table = document.getElementById('busiest');
  if (!table) return;
  table.addEventListener('click', function (event) {
    var tr = event.target instanceof Element ? event.target.closest('tr[data-tid]') : null;
    if (!tr) return;
    var picked = document.querySelectorAll('.row.picked');
    for (var i = 0; i < picked.length; i++) picked[i].classList.remove('picked');
    var row = document.querySelector('.row[data-tid="' + tr.getAttribute('data-tid') + '"]');
    if (row) { row.classList.add('picked'); row.scrollIntoView({ block: 'center' }); }
  });
})();
`;
