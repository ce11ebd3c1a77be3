/**
 * `eventide run FILE`: runs a module's coroutine on a fresh loop.
 *
 * The module's default export if it is a generator function (a task body),
 * else its export named `main` if that is one (main-export.ts), runs as the
 * loop's main task, like `asyncio.run(main())`; leftover tasks are cancelled
 * and the loop closed. A module with neither, or a FILE that does not exist,
 * fails before anything of the module is called.
 *
 * The loop is built here (not inside `run`) so instruments can be attached
 * before the main task's first step: with `--trace` or `--report` a
 * TraceRecorder watches the whole run, shutdown included, and its files are
 * written when the program ends — also when it throws, so a failing
 * program can still be looked at, and on Ctrl-C / SIGTERM, which cancel
 * the main task and end the run the ordinary way (interrupt.ts).
 *
 * `--inspect [SOCKET]` (or `$EVENTIDE_INSPECT=1|SOCKET`, read here only:
 * the console is never on by default) serves the live console for the
 * run's loop (inspect/endpoint.ts): on the pid's default socket, on
 * SOCKET, or on a loopback port (`--inspect 127.0.0.1:PORT`, port 0 for
 * any) with a token printed to stderr. It is closed when the run ends.
 */
import { register } from 'node:module';
import { statSync, writeFileSync } from 'node:fs';
import { basename, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { EventLoopOptions } from '../core/base-event-loop.js';
import { createNodeLoop } from '../hosts/node.js';
import { defaultInspectorPath, serveInspector, type InspectorHandle, type InspectorOptions } from '../inspect/endpoint.js';
import { renderReport } from '../inspect/report.js';
import { TraceRecorder } from '../inspect/trace.js';
import { runOnLoop } from '../tasks/run.js';
import { CancelledError } from '../core/errors.js';
import { InterruptCancelsMain } from '../hosts/node-sigint.js';
import { InterruptedError, INTERRUPT_SIGNALS } from './interrupt.js';
import { chooseMainExport } from './main-export.js';

export interface RunCommandOptions {
  file: string;
  debug: boolean;
  virtualTime: boolean;
  /** Where to write the Chrome Trace Event JSON (`--trace PATH`); absent when not asked for. */
  trace?: string;
  /** Where to write the HTML timeline (`--report PATH`); absent when not asked for. */
  report?: string;
  /**
   * Serve the live console (`--inspect [SOCKET]`): true for the pid's
   * default socket, else a socket path or `HOST:PORT`; absent when not
   * asked for (then `$EVENTIDE_INSPECT` decides).
   */
  inspect?: string | true;
}

export const RUN_USAGE = 'usage: eventide run FILE [--debug] [--virtual-time] [--trace out.json] [--report out.html] [--inspect [SOCKET]]';

/** What `--inspect` never takes as its SOCKET: the script to run. */
const SCRIPT_FILE = /\.(?:[cm]?[jt]s|[jt]sx)$/;

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
    else if (flag === '--inspect') {
      if (options.inspect !== undefined) throw new Error(`eventide run: --inspect given twice\n${RUN_USAGE}`);
      const next = args[i + 1];
      if (flag !== arg) options.inspect = arg.slice(eq + 1) || true;
      else if (next !== undefined && !next.startsWith('-') && !SCRIPT_FILE.test(next)) {
        options.inspect = next;
        i++;
      } else options.inspect = true;
    }
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
  const path = resolvePath(options.file);
  // Checked here, not left to import(): its ERR_MODULE_NOT_FOUND would look
  // the same as a missing import inside the program, stack and all.
  if (!statSync(path, { throwIfNoEntry: false })?.isFile()) throw new Error(`eventide run: ${options.file}: no such file`);
  if (/\.m?ts$/.test(options.file)) register(new URL('./ts-hooks.js', import.meta.url));
  const module = (await import(pathToFileURL(path).href)) as { default?: unknown; main?: unknown };
  const main = chooseMainExport(module, options.file);
  const loopOptions: EventLoopOptions = { debug: options.debug, clock: options.virtualTime ? 'virtual' : 'real' };
  const loop = createNodeLoop(loopOptions);
  const recorder = options.trace !== undefined || options.report !== undefined ? new TraceRecorder(loop) : null;
  const inspect = options.inspect ?? inspectFromEnv(process.env['EVENTIDE_INSPECT']);
  let inspector: InspectorHandle | null = null;
  const interrupt = new InterruptCancelsMain(INTERRUPT_SIGNALS);
  interrupt.begin();
  let result: unknown;
  try {
    if (inspect !== undefined) inspector = await startInspector(loop, inspect);
    result = await runOnLoop(loop, main, (task) => interrupt.watch(task));
  } catch (error) {
    // The CancelledError of a main task cancelled by the signal says less than the signal.
    if (interrupt.signal === null || !(error instanceof CancelledError)) throw error;
  } finally {
    // Each step even if one before it throws (a --trace path that cannot be written):
    // the signal listeners go first, so that Ctrl-C works as usual from here on.
    interrupt.end();
    try {
      if (recorder !== null) writeRecording(recorder, options);
    } finally {
      await inspector?.close();
    }
  }
  if (interrupt.signal !== null) throw new InterruptedError(interrupt.signal);
  return result;
}

/** `$EVENTIDE_INSPECT`: unset, empty or `0` is off; `1` is the default socket; anything else a SOCKET. */
function inspectFromEnv(value: string | undefined): string | true | undefined {
  if (value === undefined || value === '' || value === '0') return undefined;
  return value === '1' ? true : value;
}

/**
 * Where `--inspect VALUE` listens: `HOST:PORT` (or `:PORT`, `tcp://…`) on
 * a loopback host, else a socket path; true is the pid's default socket.
 *
 * @example
 * inspectorOptions('127.0.0.1:0'); // { port: 0, host: '127.0.0.1' }
 * inspectorOptions('/run/app.sock'); // { path: '/run/app.sock' }
 */
export function inspectorOptions(value: string | true): InspectorOptions {
  if (value === true) return { path: defaultInspectorPath() };
  const tcp = /^(?:tcp:\/\/)?(127\.0\.0\.1|localhost|\[::1\])?:(\d+)$/.exec(value);
  if (tcp === null) return { path: value };
  return { port: Number(tcp[2]), host: (tcp[1] ?? '127.0.0.1').replace(/^\[|\]$/g, '') };
}

/** Serves the console and says on stderr how to reach it. */
async function startInspector(loop: Parameters<typeof serveInspector>[0], value: string | true): Promise<InspectorHandle> {
  const handle = await serveInspector(loop, inspectorOptions(value));
  const target = value === true ? String(process.pid) : handle.address;
  const token = handle.token === null ? '' : ` --token ${handle.token}`;
  process.stderr.write(`eventide: inspector on ${handle.address}; watch with: eventide top ${target}${token}\n`);
  return handle;
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
