/**
 * `eventide run FILE`: runs a module's coroutine on a fresh loop.
 *
 * The module's default export — or else its export named `main` — must be a
 * generator function (a task body). It runs as the loop's main task, like
 * `asyncio.run(main())`; leftover tasks are cancelled and the loop closed.
 */
import { register } from 'node:module';
import { resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { EventLoopOptions } from '../core/base-event-loop.js';
import { run } from '../hosts/node.js';
import type { CoroutineFunction } from '../tasks/operation.js';

export interface RunCommandOptions {
  file: string;
  debug: boolean;
  virtualTime: boolean;
}

/** Parses `run` arguments; throws an Error whose message is the usage line on bad input. */
export function parseRunArgs(args: readonly string[]): RunCommandOptions {
  const options: RunCommandOptions = { file: '', debug: false, virtualTime: false };
  for (const arg of args) {
    if (arg === '--debug') options.debug = true;
    else if (arg === '--virtual-time') options.virtualTime = true;
    else if (arg.startsWith('--')) throw new Error(`eventide run: unknown option ${arg}\n${RUN_USAGE}`);
    else if (options.file === '') options.file = arg;
    else throw new Error(`eventide run: only one FILE may be given, got ${options.file} and ${arg}\n${RUN_USAGE}`);
  }
  if (options.file === '') throw new Error(`eventide run: FILE is missing\n${RUN_USAGE}`);
  return options;
}

export const RUN_USAGE = 'usage: eventide run FILE [--debug] [--virtual-time]';

/** Loads FILE and runs its main coroutine; resolves to its result. */
export async function runCommand(options: RunCommandOptions): Promise<unknown> {
  if (/\.m?ts$/.test(options.file)) register(new URL('./ts-hooks.js', import.meta.url));
  const url = pathToFileURL(resolvePath(options.file)).href;
  const module = (await import(url)) as { default?: unknown; main?: unknown };
  const main = typeof module.default === 'function' ? module.default : module.main;
  if (typeof main !== 'function') {
    throw new TypeError(`eventide run: ${options.file} must export a generator function as its default export or as \`main\``);
  }
  const loopOptions: EventLoopOptions = { debug: options.debug, clock: options.virtualTime ? 'virtual' : 'real' };
  return run(main as CoroutineFunction<unknown>, loopOptions);
}
