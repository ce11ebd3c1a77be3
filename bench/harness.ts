/**
 * The benchmark harness: how a group of cases is measured and summarized.
 *
 * The machine this runs on is noisy (2 shared cores), so absolute figures
 * drift from run to run. The headline is therefore always a *ratio* against
 * a native baseline measured in the same process, in the same run, with
 * the runs interleaved:
 *
 *  1. every case runs `warmups` times first (results thrown away), so the
 *     JIT has compiled and settled the hot paths of each case;
 *  2. then `reps` rounds; each round runs every case once, starting at a
 *     different case each round (round r starts at case r mod n), so no
 *     case always runs first or last and slow drift (thermal, a neighbour
 *     on the host) hits every case alike;
 *  3. before every measured run the heap is collected (when `gc` is
 *     exposed), so one case does not pay for the garbage of the previous one;
 *  4. a case reports median and min over its reps; a ratio is the median
 *     of the numerator over the median of the denominator.
 *
 * Invariant: this file knows nothing about eventide; a case is just a
 * function that returns a number (ns per operation, bytes per item, ...).
 */

/** What one measured run of a case returns: a value, plus optional side figures. */
export interface Sample {
  /** The headline figure, in the case's `unit` (lower is better). */
  value: number;
  /** Side figures (e.g. wall ms next to CPU ns), summarized by median. */
  extra?: Record<string, number>;
}

export interface Case {
  /** Unique within its group; ratios refer to cases by this name. */
  name: string;
  /** Unit of `value`, e.g. 'ns/callback'. */
  unit: string;
  /** One run. `warmup` runs may use a smaller size; their result is ignored. */
  run(warmup: boolean): Sample | number | Promise<Sample | number>;
}

export interface RatioSpec {
  label: string;
  numerator: string;
  denominator: string;
  /** Pass when ratio <= target (< target if `strict`); null: reported for information only. */
  target: number | null;
  strict?: boolean;
  /** How the target reads in the table, e.g. '<= 2' or '< 1 (faster)'. */
  targetText?: string;
}

export interface Group {
  /** Short id used on the command line (`npm run bench -- timers`). */
  id: string;
  title: string;
  cases: Case[];
  ratios: RatioSpec[];
  reps: { full: number; quick: number };
  warmups: { full: number; quick: number };
}

export interface CaseResult {
  name: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  samples: number[];
  extra: Record<string, number>;
}

export interface RatioResult {
  label: string;
  numerator: string;
  denominator: string;
  ratio: number;
  target: number | null;
  targetText: string;
  /** null when there is no target. */
  pass: boolean | null;
}

export interface GroupResult {
  id: string;
  title: string;
  reps: number;
  warmups: number;
  cases: CaseResult[];
  ratios: RatioResult[];
}

/** `global.gc` when node runs with --expose-gc, else null. */
export const gc: (() => void) | null = (() => {
  const fn = (globalThis as { gc?: unknown }).gc;
  return typeof fn === 'function' ? (fn as () => void) : null;
})();

/** Nanoseconds from an arbitrary origin, as a number (exact to well below 1 µs). */
export function nowNs(): number {
  return Number(process.hrtime.bigint());
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** A running stopwatch: wall clock and process CPU time (all threads). */
export interface Stopwatch {
  wall0: number;
  cpu0: NodeJS.CpuUsage;
}

export function startWatch(): Stopwatch {
  return { cpu0: process.cpuUsage(), wall0: nowNs() };
}

/**
 * Stops `watch`. The headline is process CPU time per op (user + system,
 * GC helper threads included), not wall time: on a shared machine a run
 * that loses the CPU to a neighbour half-way through has its wall time
 * inflated at random, while its CPU time stays the work it did. Wall ns
 * per op rides along as a side figure (wall >> CPU: the run was starved).
 */
export function stopWatch(watch: Stopwatch, ops: number): Sample {
  const wall = nowNs() - watch.wall0;
  const cpu = process.cpuUsage(watch.cpu0);
  return { value: ((cpu.user + cpu.system) * 1000) / ops, extra: { 'wall ns': wall / ops } };
}

/** Throws if a case did not do the work it claims to measure. */
export function expectCount(what: string, got: number, want: number): void {
  if (got !== want) throw new Error(`bench: ${what} ran ${got} times, expected ${want}`);
}

/**
 * Measures every case of `group`, interleaved as described at the top of
 * this file. `onProgress` is called after each measured run.
 */
export async function runGroup(group: Group, quick: boolean, onProgress: (done: number, total: number) => void = () => {}): Promise<GroupResult> {
  const reps = quick ? group.reps.quick : group.reps.full;
  const warmups = quick ? group.warmups.quick : group.warmups.full;
  const cases = group.cases;
  checkRatioNames(group);

  for (let w = 0; w < warmups; w++) {
    for (const c of cases) {
      gc?.();
      await c.run(true);
    }
  }

  const samples = new Map<string, Sample[]>(cases.map((c) => [c.name, []]));
  const total = reps * cases.length;
  let done = 0;
  for (let r = 0; r < reps; r++) {
    for (let k = 0; k < cases.length; k++) {
      const c = cases[(r + k) % cases.length] as Case;
      gc?.();
      const raw = await c.run(false);
      const sample = typeof raw === 'number' ? { value: raw } : raw;
      if (!Number.isFinite(sample.value)) throw new Error(`bench: case "${c.name}" returned ${sample.value}`);
      (samples.get(c.name) as Sample[]).push(sample);
      onProgress(++done, total);
    }
  }

  const caseResults = cases.map((c) => summarize(c, samples.get(c.name) as Sample[]));
  const byName = new Map(caseResults.map((c) => [c.name, c]));
  const ratios = group.ratios.map((spec): RatioResult => {
    const num = byName.get(spec.numerator) as CaseResult;
    const den = byName.get(spec.denominator) as CaseResult;
    const ratio = num.median / den.median;
    return {
      label: spec.label,
      numerator: spec.numerator,
      denominator: spec.denominator,
      ratio,
      target: spec.target,
      targetText: spec.targetText ?? (spec.target === null ? 'info' : `<= ${spec.target}`),
      pass: spec.target === null ? null : spec.strict === true ? ratio < spec.target : ratio <= spec.target,
    };
  });
  return { id: group.id, title: group.title, reps, warmups, cases: caseResults, ratios };
}

function summarize(c: Case, samples: Sample[]): CaseResult {
  const values = samples.map((s) => s.value);
  const extraKeys = new Set(samples.flatMap((s) => Object.keys(s.extra ?? {})));
  const extra: Record<string, number> = {};
  for (const key of extraKeys) extra[key] = median(samples.map((s) => s.extra?.[key] ?? NaN).filter(Number.isFinite));
  return {
    name: c.name,
    unit: c.unit,
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
    samples: values,
    extra,
  };
}

function checkRatioNames(group: Group): void {
  const names = new Set(group.cases.map((c) => c.name));
  if (names.size !== group.cases.length) throw new Error(`bench: duplicate case names in group ${group.id}`);
  for (const r of group.ratios) {
    for (const name of [r.numerator, r.denominator]) {
      if (!names.has(name)) throw new Error(`bench: ratio "${r.label}" names unknown case "${name}" in group ${group.id}`);
    }
  }
}

// ------------------------------------------------------------- printing

/** Formats a figure with sensible precision for its size. */
export function fmt(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** Lays `rows` out as a text table (the first row is the header, underlined); `alignRight` per column. */
export function formatTable(rows: string[][], alignRight: boolean[]): string {
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((row) => (row[col] ?? '').length))) ?? [];
  return rows
    .map((row, i) => {
      const line = row
        .map((cell, col) => (alignRight[col] ? cell.padStart(widths[col] ?? 0) : cell.padEnd(widths[col] ?? 0)))
        .join('  ')
        .trimEnd();
      return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

/** A readable report of one group: the cases, then the ratios with their verdicts. */
export function formatGroup(result: GroupResult): string {
  const hasExtra = result.cases.some((c) => Object.keys(c.extra).length > 0);
  const caseRows = [['case', 'median', 'min', 'unit', ...(hasExtra ? ['side figures (median)'] : [])]];
  for (const c of result.cases) {
    const extra = Object.entries(c.extra)
      .map(([k, v]) => `${k} ${fmt(v)}`)
      .join(', ');
    caseRows.push([c.name, fmt(c.median), fmt(c.min), c.unit, ...(hasExtra ? [extra] : [])]);
  }
  return [
    `== ${result.title} [${result.id}] (${result.reps} reps after ${result.warmups} warm-up${result.warmups === 1 ? '' : 's'}, interleaved)`,
    formatTable(caseRows, [false, true, true, false, false]),
    '',
    formatRatios(result.ratios),
  ].join('\n');
}

/** The ratios with their targets and verdicts, as a table. */
export function formatRatios(ratios: readonly RatioResult[]): string {
  const rows = [['ratio (median / median)', 'value', 'target', 'verdict']];
  for (const r of ratios) rows.push([r.label, `${r.ratio.toFixed(2)}x`, r.targetText, r.pass === null ? '-' : r.pass ? 'PASS' : 'FAIL']);
  return formatTable(rows, [false, true, false, false]);
}
