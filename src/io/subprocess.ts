/**
 * Subprocesses with streams — asyncio's `create_subprocess_exec`,
 * `create_subprocess_shell` and `asyncio.subprocess.Process`.
 *
 * Node starts and reaps the child (child_process.spawn: libuv's fork and
 * exec, and its SIGCHLD handling); its pipes are eventide's own. Each
 * stdio stream asked for as `'pipe'` is an `openPipe()` whose child end
 * goes to the child and whose other end becomes a pipe transport watched
 * by the loop's epoll (pipe-transport.ts): stdin a StreamWriter, stdout
 * and stderr StreamReaders. So reading a child's output costs what reading
 * a socket does, and Node's streams are not involved.
 *
 * As asyncio (3.12):
 *  - `returncode` is null while the child runs, then its exit code, or
 *    minus the signal number if a signal ended it;
 *  - `wait()` resolves to the return code once the child has exited *and*
 *    every pipe to it has closed (so the output is all in the readers).
 *    A child that writes more than a pipe holds blocks until it is read:
 *    read its output (or use `communicate`) rather than only `wait()`;
 *  - `communicate(input?)` writes `input` to stdin and closes it, reads
 *    stdout and stderr to their end, waits for the exit, and returns
 *    `[stdout, stderr]` (null for a stream that is not a pipe). A child
 *    that exits without reading its stdin is not an error;
 *  - `sendSignal`, `terminate` (SIGTERM) and `kill` (SIGKILL) do nothing
 *    once the child has exited.
 *
 * A program that cannot be started fails the call's task with the OSError
 * for it (FileNotFoundError, PermissionError), and every fd opened for it
 * is closed again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { describe } from '../core/assert.js';
import { RuntimeError } from '../core/errors.js';
import type { Priority } from '../core/priority.js';
import { getRunningLoop, type EventLoop } from '../tasks/event-loop.js';
import type { Future } from '../tasks/future.js';
import { gather } from '../tasks/gather.js';
import { until, type Coroutine } from '../tasks/operation.js';
import type { Task } from '../tasks/task.js';
import { openPipe } from './connect-pipe.js';
import { BrokenPipeError, ConnectionResetError, osError } from './errors.js';
import { DrainGate } from './drain-gate.js';
import { ReadPipeTransport, WritePipeTransport, type WritePipeProtocol } from './pipe-transport.js';
import { closeQuietly } from './sockets.js';
import { StreamReader } from './stream-reader.js';
import { StreamWriter, type DrainableProtocol } from './stream-writer.js';
import { StreamReaderProtocol } from './streams.js';
import { checkBytes, type BytesLike } from './transport.js';

/** A new pipe between this process and the child (asyncio.subprocess.PIPE). */
export const PIPE = 'pipe';
/** The child's stderr goes where its stdout goes (asyncio.subprocess.STDOUT; stderr only). */
export const STDOUT = 'stdout';
/** /dev/null (asyncio.subprocess.DEVNULL). */
export const DEVNULL = 'ignore';

/**
 * Where a child's standard stream goes: a new pipe (`'pipe'`), this
 * process's own stream (`'inherit'`, or null / omitted, as asyncio's None),
 * /dev/null (`'ignore'`), or an fd of yours (the child gets a copy).
 */
export type StdioOption = 'pipe' | 'inherit' | 'ignore' | number | null;

export interface SubprocessOptions {
  stdin?: StdioOption;
  stdout?: StdioOption;
  /** As stdin and stdout, or `'stdout'`: into the same place as stdout. */
  stderr?: StdioOption | 'stdout';
  /** The child's working directory. Default: this process's. */
  cwd?: string;
  /** The child's environment. Default: this process's. */
  env?: NodeJS.ProcessEnv;
  /** The StreamReaders' buffer limit. Default 64 KiB. */
  limit?: number;
  /** Priority of the pipes' callbacks. Default 'normal'. */
  priority?: Priority;
  /** Default: the running loop. */
  loop?: EventLoop;
}

/** The stdin protocol: the StreamWriter's drain waits, and the pipe's end. */
class StdinProtocol implements WritePipeProtocol, DrainableProtocol {
  readonly #drain: DrainGate;
  readonly closed: Future<void>;

  constructor(loop: EventLoop) {
    this.#drain = new DrainGate(loop);
    this.closed = loop.createFuture<void>();
    this.closed.addDoneCallback((f) => void (f.cancelled() || f.exception())); // nobody need wait for it
  }

  pauseWriting(): void {
    this.#drain.pause();
  }

  resumeWriting(): void {
    this.#drain.resume();
  }

  connectionLost(exc: Error | null): void {
    this.#drain.lose(exc);
    if (exc === null) this.closed.setResult();
    else this.closed.setException(exc);
  }

  drainHelper(): Coroutine<void> {
    return this.#drain.wait();
  }
}

/**
 * A running child process (asyncio.subprocess.Process). Made by
 * `createSubprocessExec` / `createSubprocessShell`.
 *
 * @example
 * const proc = yield* createSubprocessExec('ls', ['-l'], { stdout: PIPE });
 * const listing = yield* proc.stdout!.read();
 * const code = yield* proc.wait();
 */
export class Process {
  /** The child's process id. */
  readonly pid: number;
  /** A StreamWriter to the child's stdin when it is a pipe, else null. */
  readonly stdin: StreamWriter<WritePipeTransport> | null;
  /** The child's stdout when it is a pipe, else null. */
  readonly stdout: StreamReader | null;
  /** The child's stderr when it is a pipe, else null. */
  readonly stderr: StreamReader | null;
  readonly #child: ChildProcess;
  #returncode: number | null = null;
  readonly #finished: Future<number>;
  /** Settled once every pipe to the child has closed: wait() needs this and the exit. */
  readonly #pipesClosed: Future<unknown>;

  /** @internal Made by createSubprocessExec / createSubprocessShell. */
  constructor(
    loop: EventLoop,
    child: ChildProcess,
    streams: { stdin: StreamWriter<WritePipeTransport> | null; stdout: StreamReader | null; stderr: StreamReader | null },
    pipesClosed: Future<unknown>,
    exited: Promise<number>,
  ) {
    this.pid = child.pid as number;
    this.#child = child;
    this.stdin = streams.stdin;
    this.stdout = streams.stdout;
    this.stderr = streams.stderr;
    this.#pipesClosed = pipesClosed;
    this.#finished = loop.createTask(() => this.#finish(exited), { name: `subprocess ${this.pid} wait` });
  }

  /** The exit code (minus the signal number if a signal ended the child); null while it runs. */
  get returncode(): number | null {
    return this.#returncode;
  }

  /** Resolves to the return code once the child has exited and its pipes have closed. */
  wait(): Future<number> {
    return this.#finished;
  }

  /**
   * Writes `input` (if given) to stdin and closes it, reads stdout and
   * stderr to their end, waits for the exit; returns `[stdout, stderr]`,
   * null for a stream that is not a pipe.
   *
   * @example
   * const [out] = yield* proc.communicate(Buffer.from('some input'));
   */
  *communicate(input: BytesLike | null = null): Coroutine<[Buffer | null, Buffer | null]> {
    if (input !== null) {
      checkBytes(input, 'Process.communicate: input');
      if (this.stdin === null) throw new TypeError('Process.communicate: input was given but stdin is not a pipe (pass stdin: PIPE)');
    }
    const [, out, err] = yield* gather(this.#feedStdin(input), readAll(this.stdout), readAll(this.stderr));
    yield* this.#finished;
    return [out, err];
  }

  /** Sends `signal` (a name such as 'SIGINT', or a number) to the child; nothing once it has exited. */
  sendSignal(signal: NodeJS.Signals | number): void {
    if (this.#returncode !== null) return;
    // kill() returns false when the kernel refused (EPERM, or ESRCH for a child already reaped).
    if (!this.#child.kill(signal) && this.#child.exitCode === null && this.#child.signalCode === null) {
      throw new RuntimeError(`Process.sendSignal: could not send ${describe(signal)} to process ${this.pid}`);
    }
  }

  /** SIGTERM. */
  terminate(): void {
    this.sendSignal('SIGTERM');
  }

  /** SIGKILL. */
  kill(): void {
    this.sendSignal('SIGKILL');
  }

  toString(): string {
    return `<Process ${this.pid} ${this.#returncode === null ? 'running' : `returncode=${this.#returncode}`}>`;
  }

  *#finish(exited: Promise<number>): Coroutine<number> {
    this.#returncode = yield* until(exited);
    yield* this.#pipesClosed;
    return this.#returncode;
  }

  *#feedStdin(input: BytesLike | null): Coroutine<void> {
    const stdin = this.stdin;
    if (stdin === null) return;
    try {
      if (input !== null) {
        stdin.write(input);
        yield* stdin.drain();
      }
    } catch (error) {
      // The child exited without reading it all: not an error (asyncio ignores these too).
      if (!(error instanceof BrokenPipeError || error instanceof ConnectionResetError)) throw error;
    }
    stdin.close();
  }
}

function* readAll(stream: StreamReader | null): Coroutine<Buffer | null> {
  return stream === null ? null : yield* stream.read();
}

/**
 * Starts `program` with `args` (no shell) — asyncio's
 * create_subprocess_exec. Resolves to a Process once its pipes are
 * connected.
 *
 * @example
 * const proc = yield* createSubprocessExec('sort', [], { stdin: PIPE, stdout: PIPE });
 * const [sorted] = yield* proc.communicate(Buffer.from('b\na\n'));
 */
export function createSubprocessExec(program: string, args: readonly string[] = [], options: SubprocessOptions = {}): Task<Process> {
  if (typeof program !== 'string' || program.length === 0) throw new TypeError(`createSubprocessExec: program must be a non-empty string, got ${describe(program)}`);
  if (!Array.isArray(args) || !args.every((arg) => typeof arg === 'string')) throw new TypeError(`createSubprocessExec: args must be an array of strings, got ${describe(args)}`);
  return startProcess(program, [...args], options, 'createSubprocessExec');
}

/**
 * Runs `command` through /bin/sh — asyncio's create_subprocess_shell.
 * Quote what comes from outside: the shell interprets the whole string.
 *
 * @example
 * const proc = yield* createSubprocessShell('ls | wc -l', { stdout: PIPE });
 */
export function createSubprocessShell(command: string, options: SubprocessOptions = {}): Task<Process> {
  if (typeof command !== 'string' || command.length === 0) throw new TypeError(`createSubprocessShell: command must be a non-empty string, got ${describe(command)}`);
  return startProcess('/bin/sh', ['-c', command], options, 'createSubprocessShell');
}

/** The child's end and ours of each stream asked for as a pipe. */
interface PipePlan {
  stdio: (number | 'inherit' | 'ignore')[];
  /** Our ends: [stdin write end, stdout read end, stderr read end], -1 where there is no pipe. */
  ours: [number, number, number];
  /** The child's ends, closed here once the child has its copies. */
  theirs: number[];
}

const STREAM_NAMES = ['stdin', 'stdout', 'stderr'] as const;

function checkStdio(value: unknown, name: string, who: string): void {
  if (value === undefined || value === null || value === 'pipe' || value === 'inherit' || value === 'ignore') return;
  if (value === 'stdout' && name === 'stderr') return;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return;
  const allowed = name === 'stderr' ? "'pipe', 'inherit', 'ignore', 'stdout', null or an fd" : "'pipe', 'inherit', 'ignore', null or an fd";
  throw new TypeError(`${who}: options.${name} must be ${allowed}, got ${describe(value)}`);
}

/** Opens the pipes the options ask for; closes them all again if one fails. */
function planPipes(options: SubprocessOptions): PipePlan {
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
    closeAllQuietly([...plan.ours.filter((fd) => fd >= 0), ...plan.theirs]);
    throw error;
  }
  return plan;
}

function closeAllQuietly(fds: readonly number[]): void {
  for (const fd of fds) closeQuietly(fd);
}

/** An exit code, or minus the signal's number (asyncio's returncode). */
function returnCode(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const number = signal === null ? undefined : (osConstants.signals as Record<string, number | undefined>)[signal];
  return number === undefined ? -1 : -number;
}

function startProcess(file: string, args: string[], options: SubprocessOptions, who: string): Task<Process> {
  if (options === null || typeof options !== 'object') throw new TypeError(`${who}: options must be an object, got ${describe(options)}`);
  for (const name of STREAM_NAMES) checkStdio(options[name], name, who);
  if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit <= 0)) {
    throw new RangeError(`${who}: options.limit must be a positive integer, got ${describe(options.limit)}`);
  }
  const loop = options.loop ?? getRunningLoop();
  // Everything happens in the task: cancelled before its first step, it has opened nothing and started nothing.
  return loop.createTask(() => spawnProcess(loop, file, args, options), { name: `${who} ${file}` });
}

/** Opens the pipes, starts the child (synchronous: libuv's spawn returns after the exec), then connects the pipes. */
function* spawnProcess(loop: EventLoop, file: string, args: string[], options: SubprocessOptions): Coroutine<Process> {
  const plan = planPipes(options);
  let child: ChildProcess;
  try {
    child = spawn(file, args, { stdio: plan.stdio, ...(options.cwd === undefined ? {} : { cwd: options.cwd }), ...(options.env === undefined ? {} : { env: options.env }) });
  } catch (error) {
    closeAllQuietly([...plan.ours.filter((fd) => fd >= 0), ...plan.theirs]);
    throw error;
  }
  // The child has its copies, so ours go.
  closeAllQuietly(plan.theirs);
  const failed = new Promise<Error>((resolve) => child.once('error', resolve));
  const exited = new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(returnCode(code, signal))));
  return yield* connectProcess(loop, child, plan.ours, failed, exited, options, file);
}

function* connectProcess(
  loop: EventLoop,
  child: ChildProcess,
  ours: [number, number, number],
  failed: Promise<Error>,
  exited: Promise<number>,
  options: SubprocessOptions,
  file: string,
): Coroutine<Process> {
  if (child.pid === undefined) {
    // spawn reports a program it could not start with an 'error' event, not a throw.
    closeAllQuietly(ours.filter((fd) => fd >= 0));
    const error = yield* until(failed);
    const errno = (error as NodeJS.ErrnoException).errno;
    throw typeof errno === 'number' ? osError(errno, 'spawn', file) : error;
  }
  child.on('error', () => {}); // a failed kill() is reported by its return value: no unhandled 'error'
  const transportOptions = options.priority === undefined ? {} : { priority: options.priority };
  const limit = options.limit === undefined ? {} : { limit: options.limit };
  const closed: Future<void>[] = [];
  const made: Future<void>[] = [];
  const transports: { close(): void }[] = [];
  const connected: { stdin: StreamWriter<WritePipeTransport> | null; stdout: StreamReader | null; stderr: StreamReader | null } = { stdin: null, stdout: null, stderr: null };
  try {
    // Each transport owns its fd from its construction on (no task in between that could be
    // cancelled with the fd's owner unclear): `ours` keeps only the fds not yet handed over.
    if (ours[0] >= 0) {
      const protocol = new StdinProtocol(loop);
      const waiter = loop.createFuture<void>();
      const transport = new WritePipeTransport(loop, ours[0], protocol, { waiter, ...transportOptions });
      ours[0] = -1;
      transports.push(transport);
      made.push(waiter);
      connected.stdin = new StreamWriter(transport, protocol, null, loop);
      closed.push(protocol.closed);
    }
    for (const index of [1, 2] as const) {
      if (ours[index] < 0) continue;
      const reader = new StreamReader({ loop, ...limit });
      const protocol = new StreamReaderProtocol(reader, null, loop);
      const waiter = loop.createFuture<void>();
      transports.push(new ReadPipeTransport(loop, ours[index], protocol, { waiter, ...transportOptions }));
      ours[index] = -1;
      made.push(waiter);
      connected[index === 1 ? 'stdout' : 'stderr'] = reader;
      closed.push(protocol.closed);
    }
    for (const waiter of made) yield* waiter;
  } catch (error) {
    // Without its pipes the child is of no use: it is killed (asyncio's transport does the same on close).
    closeAllQuietly(ours.filter((fd) => fd >= 0));
    for (const transport of transports) transport.close();
    child.kill('SIGKILL');
    throw error;
  }
  // Settled once every pipe has closed, whatever closed it.
  const pipesClosed = gather(closed, { returnExceptions: true });
  return new Process(loop, child, connected, pipesClosed, exited);
}
