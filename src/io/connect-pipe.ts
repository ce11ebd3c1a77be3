/**
 * asyncio's `loop.connect_read_pipe` and `loop.connect_write_pipe`, as
 * functions of a loop: wrap one end of a pipe (a socket or a character
 * device will do too) in a pipe transport (pipe-transport.ts) with the
 * protocol `protocolFactory()` makes.
 *
 * Like the functions of connect.ts, each returns a Task that resolves to
 * `[transport, protocol]` once `connectionMade` has run, and checks its
 * arguments before the task is made: a bad one throws at the call and the
 * fd stays the caller's. From the moment the task runs, the transport owns
 * the fd (it closes it after `connectionLost`).
 *
 * The pipe is an fd: one of `openPipe()`'s (Python's os.pipe), an
 * inherited one (`0` for stdin), or a FIFO opened with
 * `fs.openSync(path, 'r')`.
 *
 * Loops with these as methods: NodeEventLoop (node-event-loop.ts).
 */
import { checkCallback } from '../core/assert.js';
import type { Priority } from '../core/priority.js';
import type { EventLoop } from '../tasks/event-loop.js';
import type { Coroutine } from '../tasks/operation.js';
import { onResultDropped } from '../tasks/dropped-result.js';
import type { Task } from '../tasks/task.js';
import { syscalls as sys } from './syscalls.js';
import { checkErrno } from './errors.js';
import { checkFd } from './selector-support.js';
import { checkPriorityOption, makeProtocol } from './transport.js';
import { checkPipeFd, ReadPipeTransport, WritePipeTransport, type PipeTransportOptions, type ReadPipeProtocol, type WritePipeProtocol } from './pipe-transport.js';

export interface ConnectPipeOptions {
  /** Priority of the transport's watcher and protocol calls. Default 'normal'. */
  priority?: Priority;
}

/**
 * Reads the pipe `pipe` (an fd) through a ReadPipeTransport: the protocol
 * gets `dataReceived`, then at end of file `eofReceived` and
 * `connectionLost(null)`.
 *
 * @example
 * const [transport] = yield* connectReadPipe(loop, () => ({ dataReceived: (d: Buffer) => lines.push(d.toString()) }), process.stdin.fd);
 */
export function connectReadPipe<P extends ReadPipeProtocol>(loop: EventLoop, protocolFactory: () => P, pipe: number, options: ConnectPipeOptions = {}): Task<[ReadPipeTransport, P]> {
  checkArguments(loop, protocolFactory, pipe, options, 'connectReadPipe');
  const task = loop.createTask(() => wrapPipe(loop, protocolFactory, (protocol, transportOptions) => new ReadPipeTransport(loop, pipe, protocol, transportOptions), options, 'connectReadPipe'), {
    name: `connectReadPipe fd ${pipe}`,
  });
  return onResultDropped(task, ([transport]) => transport.close()); // a waiter cancelled as it connected: nobody holds it
}

/**
 * Writes to the pipe `pipe` (an fd) through a WritePipeTransport: `write`
 * never blocks, `close()` flushes then closes (the reader sees end of
 * file), and the protocol hears `connectionLost` when the read end goes.
 *
 * @example
 * const [transport] = yield* connectWritePipe(loop, () => ({}), fds[1]);
 * transport.write(Buffer.from('hello\n'));
 * transport.close();
 */
export function connectWritePipe<P extends WritePipeProtocol>(loop: EventLoop, protocolFactory: () => P, pipe: number, options: ConnectPipeOptions = {}): Task<[WritePipeTransport, P]> {
  checkArguments(loop, protocolFactory, pipe, options, 'connectWritePipe');
  const task = loop.createTask(() => wrapPipe(loop, protocolFactory, (protocol, transportOptions) => new WritePipeTransport(loop, pipe, protocol, transportOptions), options, 'connectWritePipe'), {
    name: `connectWritePipe fd ${pipe}`,
  });
  return onResultDropped(task, ([transport]) => transport.close()); // see connectReadPipe
}

/**
 * A new pipe, `[readFd, writeFd]` (Python's os.pipe): close-on-exec, so a
 * child process gets an end only when it is passed in `stdio`. Hand the
 * ends to connectReadPipe / connectWritePipe (which make their end
 * non-blocking) or to a child process. Throws an OSError (EMFILE, ENFILE)
 * when no fd is left.
 *
 * @example
 * const [fromChild, childStdout] = openPipe();
 * const child = spawn('ls', [], { stdio: ['ignore', childStdout, 'inherit'] });
 * closeFd(childStdout); // the child has its copy
 * const [transport] = yield* loop.connectReadPipe(() => new Output(), fromChild);
 */
export function openPipe(): [readFd: number, writeFd: number] {
  const fds = new Int32Array(2);
  checkErrno(sys.pipe2(fds, sys.constants.O_CLOEXEC), 'pipe2', 'openPipe');
  return [fds[0] as number, fds[1] as number];
}

/**
 * Closes an fd of yours (one end of `openPipe()` passed to a child, say).
 * Throws an OSError (EBADF) if it is not open. Not a transport's fd: close
 * the transport (it still owns the number, and would later close whatever
 * file reuses it).
 */
export function closeFd(fd: number): void {
  checkFd(fd, 'closeFd: fd');
  checkErrno(sys.close(fd), 'close', `closeFd: fd ${fd}`);
}

function checkArguments(loop: EventLoop, protocolFactory: unknown, pipe: unknown, options: ConnectPipeOptions, who: string): void {
  checkCallback(protocolFactory, `${who}: protocolFactory`);
  checkPipeFd(pipe, who);
  checkPriorityOption(options, who);
  loop.checkFdNotOwned(pipe as number, who); // a live transport's pipe cannot be taken over
}

/** Makes the protocol and the transport, then waits for connectionMade; closes the transport if that failed or the task was cancelled. */
function* wrapPipe<P, T extends { close(): void }>(
  loop: EventLoop,
  protocolFactory: () => P,
  makeTransport: (protocol: P, options: PipeTransportOptions) => T,
  options: ConnectPipeOptions,
  who: string,
): Coroutine<[T, P]> {
  // A factory that throws or makes no protocol leaves the pipe open and the caller's (as asyncio's connect_read_pipe).
  const protocol = makeProtocol(protocolFactory, who);
  const waiter = loop.createFuture<void>();
  const transport = makeTransport(protocol, { waiter, ...(options.priority === undefined ? {} : { priority: options.priority }) });
  try {
    yield* waiter;
  } catch (error) {
    transport.close();
    throw error;
  }
  return [transport, protocol];
}
