/**
 * Subprocess transports — asyncio's `loop.subprocess_exec`,
 * `loop.subprocess_shell`, SubprocessTransport and SubprocessProtocol (its
 * base_subprocess.py). The Process of subprocess.ts is built on them.
 *
 * Node starts and reaps the child (child_process.spawn: libuv's fork and
 * exec, and its SIGCHLD handling); its pipes are eventide's own. Each
 * stdio stream asked for as `'pipe'` is an `openPipe()` (child-stdio.ts)
 * whose child end goes to the child and whose other end becomes a pipe
 * transport (pipe-transport.ts) watched by the loop's epoll. The
 * subprocess transport is the protocol of those pipe transports and tells
 * its own protocol what happens on them, with the fd:
 * `pipeDataReceived(fd, data)`, `pipeConnectionLost(fd, exc)`.
 *
 * The protocol hears, as in asyncio:
 *  - `connectionMade(transport)` once every pipe is connected, before the
 *    call's task resolves; what happened on the pipes or to the child
 *    before that (data, end of file, the exit) is held and told right
 *    after it, in order;
 *  - `pipeDataReceived(fd, data)` for the child's stdout (1) and stderr
 *    (2); `pipeConnectionLost(fd, exc)` when a pipe closes (0: the child
 *    closed its stdin or exited);
 *  - `processExited()` once the child has exited (`getReturncode()` then
 *    gives the exit code, or minus the signal number);
 *  - `connectionLost(null)` last, once the child has exited *and* every
 *    pipe has closed.
 *
 * Where eventide differs: each protocol call runs in the callback of the
 * event that caused it (a pipe's read, the exit), where asyncio schedules
 * it one tick later; a protocol method that throws is reported to the
 * loop's exception handler, as asyncio's scheduled call would be, and the
 * pipes go on.
 *
 * `close()` closes the pipes and kills (SIGKILL) a child still running.
 * Once the transport is finished (connectionLost), signalling the child
 * throws ProcessLookupError, as asyncio does; between the exit and then,
 * a signal does nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { checkCallback, describe } from '../core/assert.js';
import type { ScheduleOptions } from '../core/priority.js';
import type { EventLoop } from '../tasks/event-loop.js';
import type { Future } from '../tasks/future.js';
import { until, type Coroutine } from '../tasks/operation.js';
import { onResultDropped } from '../tasks/dropped-result.js';
import type { Task } from '../tasks/task.js';
import { checkCommand, checkProgram, checkSpawnOptions, closeAllQuietly, PIPE, planPipes, returnCode, type SpawnOptions } from './child-stdio.js';
import { ENOENT, ENOTDIR, ESRCH, osError, ProcessLookupError } from './errors.js';
import { ReadPipeTransport, WritePipeTransport, type ReadPipeProtocol, type WritePipeProtocol } from './pipe-transport.js';
import { makeProtocol, type BaseTransport } from './transport.js';

export { PIPE, STDOUT, DEVNULL, type StdioOption, type SpawnOptions } from './child-stdio.js';

/** Options of `loop.subprocessExec` / `subprocessShell`: each stdio stream is a pipe unless said otherwise, as in asyncio. */
export type SubprocessTransportOptions = SpawnOptions;

/**
 * What a subprocess transport tells (asyncio.SubprocessProtocol). Every
 * method is optional.
 *
 * @example
 * class Collect implements SubprocessProtocol {
 *   out: Buffer[] = [];
 *   pipeDataReceived(fd: number, data: Buffer) { if (fd === 1) this.out.push(data); }
 *   connectionLost() { console.log(Buffer.concat(this.out).toString()); }
 * }
 */
export interface SubprocessProtocol {
  /** Every pipe to the child is connected. */
  connectionMade?(transport: SubprocessTransport): void;
  /** The child wrote `data` to its stdout (fd 1) or stderr (fd 2). `data` is the protocol's to keep. */
  pipeDataReceived?(fd: number, data: Buffer): void;
  /** The pipe for `fd` closed: `null` at end of file (or the child closed its stdin), else the error. */
  pipeConnectionLost?(fd: number, exc: Error | null): void;
  /** The child exited: `getReturncode()` has its code. */
  processExited?(): void;
  /** Last: the child has exited and every pipe has closed. */
  connectionLost?(exc: Error | null): void;
  /** The stdin pipe's write buffer went over its high water mark. */
  pauseWriting?(): void;
  /** The stdin pipe's write buffer drained to its low water mark. */
  resumeWriting?(): void;
}

/** What the pipes tell the subprocess transport that owns them. */
interface PipeEvents {
  dataReceived(fd: number, data: Buffer): void;
  connectionLost(fd: number, exc: Error | null): void;
  pauseWriting(): void;
  resumeWriting(): void;
}

/** One pipe to the child: the protocol of its pipe transport (asyncio's Read/WriteSubprocessPipeProto). */
class ChildPipe implements ReadPipeProtocol, WritePipeProtocol {
  /** Set once the pipe transport has reported connectionLost. */
  disconnected = false;

  constructor(
    readonly fd: number,
    readonly waiter: Future<void>,
    readonly events: PipeEvents,
  ) {}

  dataReceived(data: Buffer): void {
    this.events.dataReceived(this.fd, data);
  }

  connectionLost(exc: Error | null): void {
    this.disconnected = true;
    this.events.connectionLost(this.fd, exc);
  }

  pauseWriting(): void {
    this.events.pauseWriting();
  }

  resumeWriting(): void {
    this.events.resumeWriting();
  }
}

/**
 * A running child and the pipes to it (asyncio.SubprocessTransport). Made
 * by `loop.subprocessExec` / `loop.subprocessShell`.
 *
 * @example
 * const [transport, protocol] = yield* loop.subprocessExec(() => new Collect(), 'ls', ['-l']);
 * transport.getPipeTransport(0)?.close(); // ls reads no input
 */
export class SubprocessTransport implements BaseTransport {
  readonly #loop: EventLoop;
  #protocol: SubprocessProtocol;
  readonly #child: ChildProcess;
  readonly #schedule: ScheduleOptions;
  /** By fd (0, 1, 2): the pipe's end of ours, null where the stream is not a pipe. */
  readonly #pipes: (ChildPipe | null)[] = [null, null, null];
  readonly #transports: (ReadPipeTransport | WritePipeTransport | null)[] = [null, null, null];
  #returncode: number | null = null;
  /** Protocol calls made before connectionMade, told right after it; null once connected. */
  #pending: (() => void)[] | null = [];
  #closed = false;
  /** The child has exited and every pipe has closed: connectionLost is due (or told). */
  #finished = false;

  /**
   * @internal Made by subprocessExec / subprocessShell (and
   * createSubprocessExec). Takes over the fds in `ours` (stdin's write end,
   * stdout's and stderr's read ends; -1 where there is no pipe): each
   * becomes a pipe transport's here, and is set to -1 in `ours` as it
   * does. `waiter` resolves after connectionMade, or fails.
   */
  constructor(loop: EventLoop, protocol: SubprocessProtocol, child: ChildProcess, ours: number[], waiter: Future<void>, schedule: ScheduleOptions) {
    this.#loop = loop;
    this.#protocol = protocol;
    this.#child = child;
    this.#schedule = schedule;
    const events: PipeEvents = {
      dataReceived: (fd, data) => this.#call('pipeDataReceived', () => this.#protocol.pipeDataReceived?.(fd, data)),
      connectionLost: (fd, exc) => this.#pipeConnectionLost(fd, exc),
      pauseWriting: () => this.#tell('pauseWriting', () => this.#protocol.pauseWriting?.()),
      resumeWriting: () => this.#tell('resumeWriting', () => this.#protocol.resumeWriting?.()),
    };
    try {
      for (let fd = 0; fd < 3; fd++) {
        const end = ours[fd] as number;
        if (end < 0) continue;
        const pipe = new ChildPipe(fd, loop.createFuture<void>(), events);
        const options = { waiter: pipe.waiter, ...schedule };
        this.#transports[fd] = fd === 0 ? new WritePipeTransport(loop, end, pipe, options) : new ReadPipeTransport(loop, end, pipe, options);
        ours[fd] = -1; // the pipe transport's from here on
        this.#pipes[fd] = pipe;
      }
    } catch (error) {
      for (const transport of this.#transports) transport?.close(); // the caller closes the fds still in `ours`
      throw error;
    }
    // 'exit' comes from Node's side (libuv reaped the child); the loop hears
    // it on its next tick. Listened for only now: a constructor that threw
    // leaves no listener behind to call into a transport that never was.
    child.once('exit', (code, signal) => {
      if (!loop.isClosed()) loop.callSoon(() => this.#processExited(returnCode(code, signal)), schedule);
    });
    loop.closeWithLoop(this); // until #tryFinish: a child left running is killed when the loop closes
    this.#whenPipesConnected(waiter);
  }

  /**
   * @internal (FdOwner, through loop.closeWithLoop) The loop closed while
   * this transport was not finished: kill the child if it still runs, as
   * close() does, and close its pipes. Without this a child nobody closed would run on, and keep Node's
   * process alive until it exits; asyncio's transport kills it when it is
   * garbage collected. No callbacks: none can run. Returns whether it was
   * still open.
   */
  loopClosed(): boolean {
    const wasOpen = !this.#closed;
    this.#closed = true;
    // The kill first: it must happen even if closing a pipe throws.
    if (this.#returncode === null && this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
    // Its pipes are part of it: closed here, they are not reported apart.
    for (const transport of this.#transports) transport?.loopClosed();
    return wasOpen;
  }

  /** The child's process id. */
  getPid(): number {
    return this.#child.pid as number;
  }

  /** The exit code (minus the signal number if a signal ended the child); null while it runs. */
  getReturncode(): number | null {
    return this.#returncode;
  }

  /** The pipe transport for the child's `fd` (0 stdin: a WritePipeTransport; 1, 2: ReadPipeTransports), or null if it is not a pipe. */
  getPipeTransport(fd: 0): WritePipeTransport | null;
  getPipeTransport(fd: 1 | 2): ReadPipeTransport | null;
  getPipeTransport(fd: number): ReadPipeTransport | WritePipeTransport | null;
  getPipeTransport(fd: number): ReadPipeTransport | WritePipeTransport | null {
    return this.#transports[fd] ?? null;
  }

  /**
   * Sends `signal` (a name such as 'SIGINT', or a number) to the child.
   * Nothing once it has exited; ProcessLookupError once the transport is
   * finished (asyncio's rule). An unknown signal name throws Node's
   * TypeError; a signal the kernel refuses, a number it does not know
   * among them (EINVAL, as asyncio's os.kill), throws its OSError.
   */
  sendSignal(signal: NodeJS.Signals | number): void {
    // Node's kill() would take undefined (or anything else) as SIGTERM.
    if (typeof signal !== 'string' && !(typeof signal === 'number' && Number.isInteger(signal) && signal >= 0)) {
      throw new TypeError(`SubprocessTransport.sendSignal: signal must be a signal name ('SIGINT', ...) or number, got ${describe(signal)}`);
    }
    if (this.#finished) throw new ProcessLookupError(ESRCH, 'kill', `process ${this.getPid()} has finished`);
    if (this.#returncode !== null) return;
    if (typeof signal === 'number') {
      // A number goes to kill(2) as it is, so a signal the kernel does not
      // know is its EINVAL, as asyncio's os.kill (ChildProcess.kill would
      // refuse any number Node has no name for with a TypeError of its own).
      // Never to a reaped child: its pid may belong to another process now
      // (Node sets exitCode / signalCode as it reaps, before any event).
      if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
      try {
        process.kill(this.getPid(), signal);
      } catch (error) {
        const errno = (error as NodeJS.ErrnoException).errno;
        throw typeof errno === 'number' ? osError(errno, 'kill', `signal ${signal} to process ${this.getPid()}`) : error;
      }
      return;
    }
    let refused: NodeJS.ErrnoException | null = null;
    const onError = (error: NodeJS.ErrnoException): void => void (refused = error);
    // Node reports a refused kill() (EPERM) as an 'error' event, synchronously, and returns false.
    this.#child.on('error', onError);
    try {
      this.#child.kill(signal);
    } finally {
      this.#child.off('error', onError);
    }
    if (refused !== null) {
      const error: NodeJS.ErrnoException = refused;
      throw typeof error.errno === 'number' ? osError(error.errno, 'kill', `signal ${describe(signal)} to process ${this.getPid()}`) : error;
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

  /** Closes the pipes, and kills (SIGKILL) the child if it still runs. connectionLost follows once it has exited. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const transport of this.#transports) transport?.close();
    if (this.#returncode === null && this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }

  isClosing(): boolean {
    return this.#closed;
  }

  /** 'subprocess': the ChildProcess. Other names give `defaultValue`. */
  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    return name === 'subprocess' ? this.#child : defaultValue;
  }

  getProtocol(): SubprocessProtocol {
    return this.#protocol;
  }

  setProtocol(protocol: SubprocessProtocol): void {
    this.#protocol = protocol;
  }

  toString(): string {
    const state = this.#closed ? ' closed' : '';
    const status = this.#returncode === null ? 'running' : `returncode=${this.#returncode}`;
    return `<SubprocessTransport pid=${this.getPid()}${state} ${status}>`;
  }

  /** Once every pipe transport is up: connectionMade, then what was held, then `waiter`. A pipe that failed fails `waiter`. */
  #whenPipesConnected(waiter: Future<void>): void {
    const waiters = this.#pipes.filter((pipe) => pipe !== null).map((pipe) => pipe.waiter);
    let remaining = waiters.length;
    if (remaining === 0) {
      this.#loop.callSoon(() => this.#connected(waiter), this.#schedule); // asyncio's connectionMade is never inline either
      return;
    }
    for (const pipeWaiter of waiters) {
      pipeWaiter.addDoneCallback((done) => {
        const exception = done.cancelled() ? null : done.exception(); // read even when no longer needed: not "unretrieved"
        if (waiter.done()) return;
        if (done.cancelled()) waiter.cancel();
        else if (exception !== null) waiter.setException(exception);
        else if (--remaining === 0) this.#connected(waiter);
      });
    }
  }

  #connected(waiter: Future<void>): void {
    if (waiter.done()) return; // the caller gave up (cancelled): the protocol never hears of this child
    try {
      this.#protocol.connectionMade?.(this);
    } catch (error) {
      waiter.setException(error);
      return;
    }
    const pending = this.#pending ?? [];
    this.#pending = null;
    for (const call of pending) call();
    if (!waiter.done()) waiter.setResult(); // a protocol call may have cancelled the task that waits
  }

  #pipeConnectionLost(fd: number, exc: Error | null): void {
    this.#call('pipeConnectionLost', () => this.#protocol.pipeConnectionLost?.(fd, exc));
    this.#tryFinish();
  }

  #processExited(returncode: number): void {
    this.#returncode = returncode;
    this.#call('processExited', () => this.#protocol.processExited?.());
    this.#tryFinish();
  }

  #tryFinish(): void {
    if (this.#finished || this.#returncode === null) return;
    if (!this.#pipes.every((pipe) => pipe === null || pipe.disconnected)) return;
    this.#finished = true;
    this.#loop.forgetAtClose(this);
    this.#call('connectionLost', () => this.#protocol.connectionLost?.(null));
  }

  /** A protocol call: held until connectionMade, else made now. */
  #call(what: string, call: () => void): void {
    if (this.#pending !== null) this.#pending.push(() => this.#tell(what, call));
    else this.#tell(what, call);
  }

  /** Makes a protocol call; one that throws goes to the exception handler and disturbs nothing else. */
  #tell(what: string, call: () => void): void {
    try {
      call();
    } catch (exception) {
      this.#loop.callExceptionHandler({ message: `protocol.${what}() failed`, exception, transport: this, protocol: this.#protocol });
    }
  }
}

/**
 * Starts `program` with `args` (no shell) under a SubprocessTransport —
 * asyncio's loop.subprocess_exec. stdin, stdout and stderr are pipes
 * unless the options say otherwise. Resolves once the protocol's
 * connectionMade has run.
 *
 * @example
 * const [transport, protocol] = yield* subprocessExec(loop, () => new Collect(), 'ls', ['-l'], { stdin: DEVNULL });
 */
export function subprocessExec<P extends SubprocessProtocol>(loop: EventLoop, protocolFactory: () => P, program: string, args: readonly string[] = [], options: SubprocessTransportOptions = {}): Task<[SubprocessTransport, P]> {
  checkProgram(program, args, 'subprocessExec');
  checkCallback(protocolFactory, 'subprocessExec: protocolFactory');
  return startTransport(loop, protocolFactory, program, [...args], options, 'subprocessExec');
}

/**
 * Runs `command` through /bin/sh under a SubprocessTransport — asyncio's
 * loop.subprocess_shell. Quote what comes from outside: the shell
 * interprets the whole string.
 *
 * @example
 * const [transport] = yield* subprocessShell(loop, () => new Collect(), 'ls | wc -l');
 */
export function subprocessShell<P extends SubprocessProtocol>(loop: EventLoop, protocolFactory: () => P, command: string, options: SubprocessTransportOptions = {}): Task<[SubprocessTransport, P]> {
  checkCommand(command, 'subprocessShell');
  checkCallback(protocolFactory, 'subprocessShell: protocolFactory');
  return startTransport(loop, protocolFactory, '/bin/sh', ['-c', command], options, 'subprocessShell');
}

function startTransport<P extends SubprocessProtocol>(loop: EventLoop, protocolFactory: () => P, file: string, args: string[], options: SubprocessTransportOptions, who: string): Task<[SubprocessTransport, P]> {
  checkSpawnOptions(options, who);
  const piped: SpawnOptions = { stdin: PIPE, stdout: PIPE, stderr: PIPE, ...withoutUndefined(options) };
  const task = loop.createTask(() => spawnSubprocess(loop, protocolFactory, file, args, piped), { name: `${who} ${file}` });
  return onResultDropped(task, ([transport]) => transport.close()); // a waiter cancelled as it started: the child would run on
}

/** Options with their undefined entries left out, so that spreading them keeps the defaults. */
function withoutUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/**
 * What to say of a child that could not be started: its working directory
 * when that is what failed (the child changes directory before it execs,
 * and a missing directory reports ENOENT just as a missing program does),
 * else `otherwise`.
 */
function spawnFailureDetail(file: string, cwd: string | undefined, errno: number, otherwise: string): string {
  if (cwd === undefined || (Math.abs(errno) !== ENOENT && Math.abs(errno) !== ENOTDIR)) return otherwise;
  let usable = false;
  try {
    usable = statSync(cwd).isDirectory();
  } catch {
    // Missing, or not reachable: the directory is what failed.
  }
  return usable ? otherwise : `${file}: its working directory ${JSON.stringify(cwd)} does not exist or is not a directory`;
}

/**
 * @internal Starts the child and its transport, in the calling task:
 * cancelled before this runs, nothing is started. Each fd has one owner at
 * every moment; if connecting fails or the task is cancelled, the
 * transport is closed (which kills the child). Before connectionMade the
 * protocol hears nothing of it; cancelled after (from inside the protocol,
 * or in the tick between), it hears the child's end as usual, as in
 * asyncio. A program that cannot be started throws its OSError
 * (FileNotFoundError, PermissionError) with every fd opened for it closed.
 */
export function* spawnSubprocess<P extends SubprocessProtocol>(loop: EventLoop, protocolFactory: () => P, file: string, args: string[], options: SpawnOptions): Coroutine<[SubprocessTransport, P]> {
  const protocol = makeProtocol(protocolFactory, file);
  const plan = planPipes(options);
  let child: ChildProcess;
  try {
    child = spawn(file, args, { stdio: plan.stdio, ...(options.cwd === undefined ? {} : { cwd: options.cwd }), ...(options.env === undefined ? {} : { env: options.env }) });
  } catch (error) {
    closeAllQuietly([...plan.ours, ...plan.theirs]);
    // Node throws some refusals at once (an fd in the options that is not open: EBADF).
    const errno = (error as NodeJS.ErrnoException).errno;
    throw typeof errno === 'number' ? osError(errno, 'spawn', spawnFailureDetail(file, options.cwd, errno, `${file}, stdio ${describe(plan.stdio)}`)) : error;
  }
  closeAllQuietly(plan.theirs); // the child has its copies
  child.on('error', () => {}); // a refused kill() is reported by sendSignal itself: no unhandled 'error'
  if (child.pid === undefined) {
    // spawn reports a program it could not start with an 'error' event (on the next tick), not a throw.
    closeAllQuietly(plan.ours);
    const error = yield* until(new Promise<Error>((resolve) => child.once('error', resolve)));
    const errno = (error as NodeJS.ErrnoException).errno;
    throw typeof errno === 'number' ? osError(errno, 'spawn', spawnFailureDetail(file, options.cwd, errno, file)) : error;
  }
  const waiter = loop.createFuture<void>();
  let transport: SubprocessTransport;
  try {
    transport = new SubprocessTransport(loop, protocol, child, plan.ours, waiter, options.priority === undefined ? {} : { priority: options.priority });
  } catch (error) {
    closeAllQuietly(plan.ours); // the fds no pipe transport took yet
    child.kill('SIGKILL');
    throw error;
  }
  try {
    yield* waiter;
  } catch (error) {
    transport.close(); // closes the pipes, kills the child
    throw error;
  }
  return [transport, protocol];
}
