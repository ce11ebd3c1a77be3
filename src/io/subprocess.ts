/**
 * Subprocesses with streams — asyncio's `create_subprocess_exec`,
 * `create_subprocess_shell` and `asyncio.subprocess.Process`, built as
 * asyncio builds them: a SubprocessTransport (subprocess-transport.ts)
 * whose protocol feeds StreamReaders and drains a StreamWriter. Reading a
 * child's output costs what reading a socket does; Node's streams are not
 * involved.
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
 *    between the exit and the end of the pipes, and throw
 *    ProcessLookupError once `wait()` has resolved.
 *
 * A program that cannot be started fails the call's task with the OSError
 * for it (FileNotFoundError, PermissionError), and every fd opened for it
 * is closed again.
 */
import { describe } from '../core/assert.js';
import { getRunningLoop, type EventLoop } from '../tasks/event-loop.js';
import type { Future } from '../tasks/future.js';
import { gather } from '../tasks/gather.js';
import type { Coroutine } from '../tasks/operation.js';
import { onResultDropped } from '../tasks/dropped-result.js';
import type { Task } from '../tasks/task.js';
import { DrainGate } from './drain-gate.js';
import { BrokenPipeError, ConnectionResetError } from './errors.js';
import type { WritePipeTransport } from './pipe-transport.js';
import { StreamReader } from './stream-reader.js';
import { StreamWriter, type DrainableProtocol } from './stream-writer.js';
import { checkCommand, checkProgram, checkSpawnOptions, type SpawnOptions } from './child-stdio.js';
import { spawnSubprocess, type SubprocessProtocol, type SubprocessTransport } from './subprocess-transport.js';
import { checkBytes, type BytesLike } from './transport.js';

export { PIPE, STDOUT, DEVNULL, type StdioOption } from './child-stdio.js';

export interface SubprocessOptions extends SpawnOptions {
  /** The StreamReaders' buffer limit. Default 64 KiB. */
  limit?: number;
  /** Default: the running loop. */
  loop?: EventLoop;
}

/**
 * The protocol behind a Process (asyncio's SubprocessStreamProtocol): a
 * StreamReader for each of stdout and stderr that is a pipe, a
 * StreamWriter's drain for stdin, and the transport closed once the child
 * has exited and its output pipes have closed.
 */
class SubprocessStreamProtocol implements SubprocessProtocol, DrainableProtocol {
  stdin: StreamWriter<WritePipeTransport> | null = null;
  stdout: StreamReader | null = null;
  stderr: StreamReader | null = null;
  /** The stdin pipe's end (the StreamWriter's waitClosed). */
  readonly closed: Future<void>;
  /**
   * Futures given out by exitWaiter(), resolved at connectionLost. One per
   * caller, as asyncio's _exit_waiters: a waiter cancelled (a timed-out
   * `waitFor(proc.wait(), ms)`) leaves every other wait alone.
   */
  #exitWaiters: Future<number>[] = [];
  /** exitWaiter() drops waiters already done (cancelled) once the list reaches this size, so a loop of timed-out waits does not pile them up. */
  #pruneExitWaitersAt = 8;
  /** The return code once connectionLost has come (the child has exited and every pipe has closed). */
  #finalReturncode: number | null = null;
  readonly #loop: EventLoop;
  readonly #limit: number | undefined;
  readonly #drain: DrainGate;
  #transport: SubprocessTransport | null = null;
  /** Output pipes (1, 2) still open. */
  readonly #openOutputs = new Set<number>();
  #exited = false;

  constructor(loop: EventLoop, limit: number | undefined) {
    this.#loop = loop;
    this.#limit = limit;
    this.#drain = new DrainGate(loop);
    this.closed = loop.createFuture<void>();
    this.closed.addDoneCallback((f) => void (f.cancelled() || f.exception())); // nobody need wait for it
  }

  /** A future of its own for one caller: the return code once the child has exited and every pipe has closed. */
  exitWaiter(): Future<number> {
    const waiter = this.#loop.createFuture<number>();
    const pid = this.#transport?.getPid();
    waiter.label = pid === undefined ? 'Process.wait' : `Process.wait pid ${pid}`;
    if (this.#finalReturncode !== null) {
      waiter.setResult(this.#finalReturncode);
      return waiter;
    }
    if (this.#exitWaiters.length >= this.#pruneExitWaitersAt) {
      this.#exitWaiters = this.#exitWaiters.filter((pending) => !pending.done());
      this.#pruneExitWaitersAt = Math.max(8, 2 * this.#exitWaiters.length); // amortized O(1) per call
    }
    this.#exitWaiters.push(waiter);
    return waiter;
  }

  connectionMade(transport: SubprocessTransport): void {
    this.#transport = transport;
    const limit = this.#limit === undefined ? {} : { limit: this.#limit };
    for (const fd of [1, 2] as const) {
      const pipe = transport.getPipeTransport(fd);
      if (pipe === null) continue;
      const reader = new StreamReader({ loop: this.#loop, ...limit });
      reader.setTransport(pipe);
      this.#openOutputs.add(fd);
      if (fd === 1) this.stdout = reader;
      else this.stderr = reader;
    }
    const stdin = transport.getPipeTransport(0);
    if (stdin !== null) this.stdin = new StreamWriter(stdin, this, null, this.#loop);
    this.#drain.label = `drain stdin of process ${transport.getPid()}`;
  }

  pipeDataReceived(fd: number, data: Buffer): void {
    this.#reader(fd)?.feedData(data);
  }

  pipeConnectionLost(fd: number, exc: Error | null): void {
    if (fd === 0) {
      this.#drain.lose(exc);
      // A waitClosed() that timed out has cancelled it (asyncio guards the same way).
      if (!this.closed.done()) {
        if (exc === null) this.closed.setResult();
        else this.closed.setException(exc);
      }
      return;
    }
    const reader = this.#reader(fd);
    if (exc === null) reader?.feedEof();
    else reader?.setException(exc);
    this.#openOutputs.delete(fd);
    this.#maybeCloseTransport();
  }

  processExited(): void {
    this.#exited = true;
    this.#maybeCloseTransport();
  }

  connectionLost(): void {
    const returncode = this.#transport?.getReturncode() ?? -1;
    this.#finalReturncode = returncode;
    for (const waiter of this.#exitWaiters.splice(0)) if (!waiter.done()) waiter.setResult(returncode);
  }

  pauseWriting(): void {
    this.#drain.pause();
  }

  resumeWriting(): void {
    this.#drain.resume();
  }

  drainHelper(): Coroutine<void> {
    return this.#drain.wait();
  }

  #reader(fd: number): StreamReader | null {
    return fd === 1 ? this.stdout : fd === 2 ? this.stderr : null;
  }

  /** Once the child has exited and its output has ended, the transport closes (and with it a stdin pipe the child left open). */
  #maybeCloseTransport(): void {
    if (this.#exited && this.#openOutputs.size === 0) this.#transport?.close();
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
  readonly #transport: SubprocessTransport;
  readonly #protocol: SubprocessStreamProtocol;

  /** @internal Made by createSubprocessExec / createSubprocessShell. */
  constructor(transport: SubprocessTransport, protocol: SubprocessStreamProtocol) {
    this.#transport = transport;
    this.pid = transport.getPid();
    this.stdin = protocol.stdin;
    this.stdout = protocol.stdout;
    this.stderr = protocol.stderr;
    this.#protocol = protocol;
  }

  /** The exit code (minus the signal number if a signal ended the child); null while it runs. */
  get returncode(): number | null {
    return this.#transport.getReturncode();
  }

  /**
   * Resolves to the return code once the child has exited and its pipes
   * have closed. Each call has a future of its own: cancelling one (a
   * timeout around it) leaves the process and every other wait alone.
   */
  wait(): Future<number> {
    return this.#protocol.exitWaiter();
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
    yield* this.#protocol.exitWaiter();
    return [out, err];
  }

  /**
   * Sends `signal` (a name such as 'SIGINT', or a number) to the child.
   * Nothing once it has exited; ProcessLookupError once `wait()` has
   * resolved (asyncio's rule).
   */
  sendSignal(signal: NodeJS.Signals | number): void {
    this.#transport.sendSignal(signal);
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
    const returncode = this.returncode;
    return `<Process ${this.pid} ${returncode === null ? 'running' : `returncode=${returncode}`}>`;
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
 * connected. A stream not given is inherited (asyncio's None).
 *
 * @example
 * const proc = yield* createSubprocessExec('sort', [], { stdin: PIPE, stdout: PIPE });
 * const [sorted] = yield* proc.communicate(Buffer.from('b\na\n'));
 */
export function createSubprocessExec(program: string, args: readonly string[] = [], options: SubprocessOptions = {}): Task<Process> {
  checkProgram(program, args, 'createSubprocessExec');
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
  checkCommand(command, 'createSubprocessShell');
  return startProcess('/bin/sh', ['-c', command], options, 'createSubprocessShell');
}

function startProcess(file: string, args: string[], options: SubprocessOptions, who: string): Task<Process> {
  checkSpawnOptions(options, who);
  if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit <= 0)) {
    throw new RangeError(`${who}: options.limit must be a positive integer, got ${describe(options.limit)}`);
  }
  const loop = options.loop ?? getRunningLoop();
  // Everything happens in the task: cancelled before its first step, it has opened nothing and started nothing.
  let started: SubprocessTransport | null = null;
  const task = loop.createTask(
    function* (): Coroutine<Process> {
      const [transport, protocol] = yield* spawnSubprocess(loop, () => new SubprocessStreamProtocol(loop, options.limit), file, args, options);
      started = transport;
      return new Process(transport, protocol);
    },
    { name: `${who} ${file}` },
  );
  // A waiter cancelled as it started: nobody holds the Process, and the child would run on.
  return onResultDropped(task, () => (started as SubprocessTransport | null)?.close());
}
