/**
 * A child process's standard streams, as asyncio's subprocess functions
 * take them: the `stdin` / `stdout` / `stderr` options (PIPE, DEVNULL,
 * STDOUT, inherit, or an fd of yours), their checks, and the pipes they
 * ask for. Shared by subprocess-transport.ts (loop.subprocessExec) and
 * subprocess.ts (createSubprocessExec), which start the child.
 */
import { constants as osConstants } from 'node:os';
import { describe } from '../core/assert.js';
import type { Priority } from '../core/priority.js';
import { checkPriorityOption } from './transport.js';
import { openPipe } from './connect-pipe.js';
import { closeQuietly } from './sockets.js';

/** A new pipe between this process and the child (asyncio.subprocess.PIPE). */
export const PIPE = 'pipe';
/** The child's stderr goes where its stdout goes (asyncio.subprocess.STDOUT; stderr only). */
export const STDOUT = 'stdout';
/** /dev/null (asyncio.subprocess.DEVNULL). */
export const DEVNULL = 'ignore';

/**
 * Where a child's standard stream goes: a new pipe (`'pipe'`), this
 * process's own stream (`'inherit'`, or null, as asyncio's None),
 * /dev/null (`'ignore'`), or an fd of yours (the child gets a copy).
 */
export type StdioOption = 'pipe' | 'inherit' | 'ignore' | number | null;

/** How to start the child; what `loop.subprocessExec` and `createSubprocessExec` share. */
export interface SpawnOptions {
  stdin?: StdioOption;
  stdout?: StdioOption;
  /** As stdin and stdout, or `'stdout'`: into the same place as stdout. */
  stderr?: StdioOption | 'stdout';
  /** The child's working directory. Default: this process's. */
  cwd?: string;
  /** The child's environment. Default: this process's. */
  env?: NodeJS.ProcessEnv;
  /** Priority of the pipes' callbacks and of the protocol calls. Default 'normal'. */
  priority?: Priority;
}

/** @internal Throws a TypeError naming what is wrong with `program` or `args`. */
export function checkProgram(program: unknown, args: unknown, who: string): void {
  if (typeof program !== 'string' || program.length === 0) throw new TypeError(`${who}: program must be a non-empty string, got ${describe(program)}`);
  if (!Array.isArray(args) || !args.every((arg) => typeof arg === 'string')) throw new TypeError(`${who}: args must be an array of strings, got ${describe(args)}`);
}

/** @internal Throws a TypeError naming what is wrong with `command`. */
export function checkCommand(command: unknown, who: string): void {
  if (typeof command !== 'string' || command.length === 0) throw new TypeError(`${who}: command must be a non-empty string, got ${describe(command)}`);
}

const STREAM_NAMES = ['stdin', 'stdout', 'stderr'] as const;

/** @internal Throws a TypeError naming the first option that is wrong. */
export function checkSpawnOptions(options: unknown, who: string): asserts options is SpawnOptions {
  if (options === null || typeof options !== 'object') throw new TypeError(`${who}: options must be an object, got ${describe(options)}`);
  for (const name of STREAM_NAMES) checkStdio((options as SpawnOptions)[name], name, who);
  // Checked here, before anything is opened or started: a bad one found
  // later would fail with a child already running.
  checkPriorityOption(options, who);
}

function checkStdio(value: unknown, name: string, who: string): void {
  if (value === undefined || value === null || value === 'pipe' || value === 'inherit' || value === 'ignore') return;
  if (value === 'stdout' && name === 'stderr') return;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return;
  const allowed = name === 'stderr' ? "'pipe', 'inherit', 'ignore', 'stdout', null or an fd" : "'pipe', 'inherit', 'ignore', null or an fd";
  throw new TypeError(`${who}: options.${name} must be ${allowed}, got ${describe(value)}`);
}

/** The child's end and ours of each stream asked for as a pipe. */
export interface PipePlan {
  stdio: (number | 'inherit' | 'ignore')[];
  /** Our ends: [stdin write end, stdout read end, stderr read end], -1 where there is no pipe. */
  ours: number[];
  /** The child's ends, closed here once the child has its copies. */
  theirs: number[];
}

/** @internal Opens the pipes the options ask for; closes them all again if one fails. */
export function planPipes(options: SpawnOptions): PipePlan {
  const plan: PipePlan = { stdio: [], ours: [-1, -1, -1], theirs: [] };
  try {
    STREAM_NAMES.forEach((name, index) => {
      const option = options[name] ?? 'inherit';
      if (option === 'pipe') {
        const [readEnd, writeEnd] = openPipe();
        const [ours, theirs] = index === 0 ? [writeEnd, readEnd] : [readEnd, writeEnd];
        plan.ours[index] = ours;
        plan.theirs.push(theirs);
        plan.stdio.push(theirs);
      } else if (option === 'stdout') {
        plan.stdio.push(plan.stdio[1] === 'inherit' ? 1 : (plan.stdio[1] as number | 'ignore'));
      } else {
        plan.stdio.push(option);
      }
    });
  } catch (error) {
    closeAllQuietly([...plan.ours, ...plan.theirs]);
    throw error;
  }
  return plan;
}

/** @internal Closes each fd of `fds` that is not -1, ignoring errors. */
export function closeAllQuietly(fds: readonly number[]): void {
  for (const fd of fds) if (fd >= 0) closeQuietly(fd);
}

/** @internal An exit code, or minus the signal's number (asyncio's returncode). */
export function returnCode(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const number = signal === null ? undefined : (osConstants.signals as Record<string, number | undefined>)[signal];
  return number === undefined ? -1 : -number;
}
