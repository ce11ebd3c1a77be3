/**
 * `eventide run FILE`: runs a module's coroutine on a fresh loop.
 *
 * The module's default export — or else its export named `main` — must be a
 * generator function (a task body). It runs as the loop's main task, like
 * `asyncio.run(main())`; leftover tasks are cancelled and the loop closed.
 *
 * The loop is built here (not inside `run`) so instruments can be attached
 * before the main task's first step: with `--trace` or `--report` a
 * TraceRecorder watches the whole run, shutdown included, and its files are
 * written when the program ends — also when it throws, so a failing
 * program can still be looked at.
 */
import { register } from 'node:module';
import { writeFileSync } from 'node:fs';
import { basename, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { EventLoopOptions } from '../core/base-event-loop.js';
import { createNodeLoop } from '../hosts/node.js';
import { renderReport } from '../inspect/report.js';
import { TraceRecorder } from '../inspect/trace.js';
import type { CoroutineFunction } from '../tasks/operation.js';
import { runOnLoop } from '../tasks/run.js';

export interface RunCommandOptions {
  file: string;
  debug: boolean;
  virtualTime: boolean;
  /** Where to write the Chrome Trace Event JSON (`--trace PATH`); absent when not asked for. */
  trace?: string;
  /** Where to write the HTML timeline (`--report PATH`); absent when not asked for. */
  report?: string;
}

export const RUN_USAGE = 'usage: eventide run FILE [--debug] [--virtual-time] [--trace out.json] [--report out.html]';

/** Options that take a path: `--trace PATH` or `--trace=PATH`. */
const PATH_OPTIONS = { '--trace': 'trace', '--report': 'report' } as const;

/**
 * Parses `run` arguments; throws an Error whose message is the usage line on
 * bad input. Pure: reads nothing but `args`.
 *
 * @example
 * parseRunArgs(['app.ts', '--trace', 'out.json']); // { file: 'app.ts', debug: false, virtualTime: false, trace: 'out.json' }
 */
export function parseRunArgs(args: readonly string[]): RunCommandOptions {
  const options: RunCommandOptions = { file: '', debug: false, virtualTime: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (arg === '--debug') options.debug = true;
    else if (arg === '--virtual-time') options.virtualTime = true;
    else if (flag in PATH_OPTIONS) {
      const key = PATH_OPTIONS[flag as keyof typeof PATH_OPTIONS];
      let value: string | undefined;
      if (flag !== arg) value = arg.slice(eq + 1);
      else {
        value = args[i + 1];
        if (value !== undefined && !value.startsWith('--')) i++;
        else value = undefined;
      }
      if (value === undefined || value === '') throw new Error(`eventide run: ${flag} needs a file path\n${RUN_USAGE}`);
      if (options[key] !== undefined) throw new Error(`eventide run: ${flag} given twice\n${RUN_USAGE}`);
      options[key] = value;
    } else if (arg.startsWith('--')) throw new Error(`eventide run: unknown option ${arg}\n${RUN_USAGE}`);
    else if (options.file === '') options.file = arg;
    else throw new Error(`eventide run: only one FILE may be given, got ${options.file} and ${arg}\n${RUN_USAGE}`);
  }
  if (options.file === '') throw new Error(`eventide run: FILE is missing\n${RUN_USAGE}`);
  return options;
}

/**
 * Loads FILE and runs its main coroutine; resolves to its result. With
 * `trace` / `report` set, writes those files when the run ends, however it ends.
 *
 * @example
 * await runCommand({ file: 'app.ts', debug: false, virtualTime: true, trace: 'out.json' });
 */
export async function runCommand(options: RunCommandOptions): Promise<unknown> {
  if (/\.m?ts$/.test(options.file)) register(new URL('./ts-hooks.js', import.meta.url));
  const url = pathToFileURL(resolvePath(options.file)).href;
  const module = (await import(url)) as { default?: unknown; main?: unknown };
  const main = typeof module.default === 'function' ? module.default : module.main;
  if (typeof main !== 'function') {
    throw new TypeError(`eventide run: ${options.file} must export a generator function as its default export or as \`main\``);
  }
  const loopOptions: EventLoopOptions = { debug: options.debug, clock: options.virtualTime ? 'virtual' : 'real' };
  const loop = createNodeLoop(loopOptions);
  const recorder = options.trace !== undefined || options.report !== undefined ? new TraceRecorder(loop) : null;
  try {
    return await runOnLoop(loop, main as CoroutineFunction<unknown>);
  } finally {
    if (recorder !== null) writeRecording(recorder, options);
  }
}

/** Stops the recorder and writes the files asked for. */
function writeRecording(recorder: TraceRecorder, options: RunCommandOptions): void {
  recorder.stop();
  const trace = recorder.toJSON();
  if (options.trace !== undefined) writeFileSync(options.trace, JSON.stringify(trace));
  if (options.report !== undefined) {
    writeFileSync(options.report, renderReport(trace.traceEvents, { title: `eventide run ${basename(options.file)}` }));
  }
}
