/**
 * asyncio compatibility of processes, signals, the executor and
 * getaddrinfo, on real children and real signals. Each scenario was run
 * against CPython 3.13.0's asyncio (Lib/asyncio/subprocess.py,
 * base_subprocess.py, unix_events.py, base_events.py) and asserts the same
 * outcome here: return codes for exit codes and for death by a signal,
 * communicate() with input and large output both ways, communicate()
 * after the streams were read, wait() before and after the pipes closed,
 * signalling a finished child, writing to the stdin of a child that has
 * exited, DEVNULL / STDOUT, cwd and env, exec arguments and shell quoting,
 * programs that cannot start, the SubprocessProtocol's calls and the
 * transport's getters; signal handlers (run as loop callbacks, replace,
 * remove, refuse bad signals, report a handler's exception); runInExecutor
 * (result, error, cancellation); getaddrinfo's tuples and errors.
 *
 * Where eventide differs on purpose the test asserts eventide's outcome and
 * a comment above it says what asyncio does and why.
 * The bugs this suite found were fixed; their tests assert asyncio's outcome.
 *
 * Every test runs under runIo: no fd left open, nothing left scheduled, no
 * exception-handler report unless collected. No assertion depends on how
 * fast the machine is.
 */
import assert from 'node:assert/strict';
import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import test from 'node:test';
import type { ExceptionContext } from '../../src/core/base-event-loop.js';
import { CancelledError, RuntimeError } from '../../src/core/errors.js';
import { ConnectionResetError, FileNotFoundError, GaiError, OSError, PermissionError, ProcessLookupError } from '../../src/io/errors.js';
import type { NodeEventLoop } from '../../src/io/node-event-loop.js';
import { shutdownDefaultExecutor } from '../../src/io/executor.js';
import { ReadPipeTransport, WritePipeTransport } from '../../src/io/pipe-transport.js';
import { createSubprocessExec, createSubprocessShell, DEVNULL, PIPE, STDOUT, type Process } from '../../src/io/subprocess.js';
import type { SubprocessProtocol, SubprocessTransport } from '../../src/io/subprocess-transport.js';
import { syscalls as sys } from '../../src/io/syscalls.js';
import { getRunningLoop } from '../../src/tasks/event-loop.js';
import type { Future } from '../../src/tasks/future.js';
import { gather } from '../../src/tasks/gather.js';
import { sleep, type Coroutine } from '../../src/tasks/operation.js';
import { Log } from '../log.js';
import { failure, runIo } from './net-helpers.js';

const T = { timeout: 30_000 };
const C = sys.constants;

/** runIo with the loop typed as the Node loop (loop.subprocessExec, addSignalHandler, ...). */
function runNode<R>(main: (loop: NodeEventLoop) => Coroutine<R>, options: { exceptions?: ExceptionContext[] } = {}): Promise<R> {
  return runIo((loop) => main(loop as NodeEventLoop), options);
}

function stdoutOf(proc: Process): NonNullable<Process['stdout']> {
  assert.ok(proc.stdout !== null, 'stdout is a pipe');
  return proc.stdout;
}

function stdinOf(proc: Process): NonNullable<Process['stdin']> {
  assert.ok(proc.stdin !== null, 'stdin is a pipe');
  return proc.stdin;
}

// ---------------------------------------------------------------- return codes

test('returncode: the exit code as given (0, 1, 255); minus the signal number when a signal ended the child (TERM -15, KILL -9, ABRT -6)', T, async () => {
  await runNode(function* () {
    const codes: number[] = [];
    for (const command of ['exit 0', 'exit 1', 'exit 255', 'kill -TERM $$', 'kill -KILL $$', 'ulimit -c 0; kill -ABRT $$']) {
      const proc = yield* createSubprocessShell(command);
      codes.push(yield* proc.wait());
      assert.equal(proc.returncode, codes[codes.length - 1]);
    }
    assert.deepEqual(codes, [0, 1, 255, -15, -9, -6]); // asyncio 3.13: the same six
  });
});

// ---------------------------------------------------------------- communicate

test('communicate(input): 1 MiB echoed back on stdout while 2 MiB go to stderr, no deadlock; the exact bytes both ways', T, async () => {
  await runNode(function* () {
    const input = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < input.length; i++) input[i] = (i * 7 + (i >> 9)) & 0xff;
    // cat echoes stdin while it is fed (stdout must be read meanwhile), then 2 MiB of 'e' go to stderr.
    const proc = yield* createSubprocessShell("cat; head -c 2097152 /dev/zero | tr '\\0' e >&2", { stdin: PIPE, stdout: PIPE, stderr: PIPE });
    const [out, err] = yield* proc.communicate(input);
    assert.ok(out !== null && out.equals(input), 'stdout is the input, in order');
    assert.ok(err !== null);
    assert.equal(err.length, 2 * 1024 * 1024);
    assert.ok(err.every((byte) => byte === 0x65));
    assert.equal(proc.returncode, 0);
  });
});

test('communicate() after stdout was read to its end gives an empty stdout (b"" in asyncio), and again on a second call', T, async () => {
  await runNode(function* () {
    const proc = yield* createSubprocessExec('echo', ['hi'], { stdout: PIPE });
    assert.equal((yield* stdoutOf(proc).read()).toString(), 'hi\n');
    const [out, err] = yield* proc.communicate();
    assert.deepEqual([out?.toString(), err], ['', null]);
    const [again, errAgain] = yield* proc.communicate();
    assert.deepEqual([again?.toString(), errAgain], ['', null]);
    assert.equal(proc.returncode, 0);
  });
});

test('communicate(input) to a child that never reads its stdin and has exited: no error, the output and the code', T, async () => {
  await runNode(function* () {
    const proc = yield* createSubprocessShell('echo done; exit 6', { stdin: PIPE, stdout: PIPE });
    assert.equal(yield* proc.wait(), 6);
    const [out] = yield* proc.communicate(Buffer.alloc(512 * 1024, 0x78));
    assert.equal(out?.toString(), 'done\n');
    assert.equal(proc.returncode, 6);
  });
});

// asyncio's Process.communicate ignores `input` when stdin is not a pipe
// (it runs a no-op for stdin): communicate(b'abc') on echo gives
// (b'x\n', None). eventide refuses the call with a TypeError, because the
// input would be dropped without a word (pinned by subprocess.test.ts).
test('communicate(input) with stdin not a pipe: a TypeError (asyncio silently ignores the input)', T, async () => {
  await runNode(function* () {
    const proc = yield* createSubprocessExec('echo', ['x'], { stdout: PIPE });
    assert.throws(() => proc.communicate(Buffer.from('abc')).next(), {
      name: 'TypeError',
      message: 'Process.communicate: input was given but stdin is not a pipe (pass stdin: PIPE)',
    });
    const [out, err] = yield* proc.communicate();
    assert.deepEqual([out?.toString(), err], ['x\n', null]);
  });
});

test('a cancelled communicate() leaves the child running: kill() then wait() gives -9, and the output pipe is closed with it', T, async () => {
  await runNode(function* (loop) {
    const proc = yield* createSubprocessExec('sleep', ['30'], { stdin: PIPE, stdout: PIPE });
    const talking = loop.createTask(() => proc.communicate(Buffer.from('ignored')));
    yield* sleep(0);
    talking.cancel();
    assert.ok((yield* failure(talking)) instanceof CancelledError);
    assert.equal(proc.returncode, null, 'still running');
    proc.kill();
    assert.equal(yield* proc.wait(), -9);
  });
});

// ---------------------------------------------------------------- wait()

test('wait() called while the child runs resolves only once its stdout has ended (a grandchild still writing): the reader sees the end first', T, async () => {
  await runNode(function* (loop) {
    const log = new Log();
    // The shell exits when told to; its background child (whose own stdin is /dev/null: fd 3 is the pipe) writes a line after that.
    const proc = yield* createSubprocessShell('exec 3<&0; (read go <&3; echo late) & read go; exit 4', { stdin: PIPE, stdout: PIPE });
    const stdout = stdoutOf(proc);
    const reader = loop.createTask(function* () {
      const data = yield* stdout.read();
      log.push(`read ${JSON.stringify(data.toString())}`);
    });
    const waiting = loop.createTask(function* () {
      log.push(`wait ${yield* proc.wait()}`);
    });
    yield* sleep(0);
    stdinOf(proc).write(Buffer.from('go\ngo\n'));
    stdinOf(proc).close();
    yield* gather(reader, waiting);
    log.assert(['read "late\\n"', 'wait 4']); // asyncio 3.13: the same order
    assert.equal(proc.returncode, 4);
  });
});

// asyncio's wait() returns at once when the exit is already known
// (base_subprocess._wait returns _returncode if set), even while a pipe is
// still open: on 3.13, `(sleep 0.5; echo late) & exit 4`, wait() after
// returncode became 4 returns 4 with nothing read and no end of file yet.
// Called before the exit it waits for the pipes instead (test above).
// eventide always waits for the pipes (subprocess.ts: "wait() resolves ...
// once the child has exited *and* every pipe to it has closed"), so that
// wait() means the same thing whenever it is called.
test('wait() after the exit is known still waits for the end of stdout (asyncio returns at once then)', T, async () => {
  await runNode(function* (loop) {
    const log = new Log();
    // The background child's stdin is /dev/null; fd 3 is the pipe, so it waits for the test's line.
    const proc = yield* createSubprocessShell('exec 3<&0; (read go <&3; echo late) & exit 4', { stdin: PIPE, stdout: PIPE });
    while (proc.returncode === null) yield* sleep(5);
    assert.equal(proc.returncode, 4);
    const waiting = loop.createTask(function* () {
      log.push(`wait ${yield* proc.wait()}`);
    });
    yield* sleep(0);
    yield* sleep(0);
    assert.equal(waiting.done(), false, 'the grandchild still holds stdout');
    stdinOf(proc).write(Buffer.from('go\n'));
    stdinOf(proc).close();
    yield* waiting;
    log.assert(['wait 4']);
    assert.equal((yield* stdoutOf(proc).read()).toString(), 'late\n', 'all of the output is in the reader by then');
  });
});

test('once wait() has resolved, a new wait() is already done; concurrent waits all get the code', T, async () => {
  await runNode(function* () {
    const proc = yield* createSubprocessExec('cat', [], { stdin: PIPE, stdout: PIPE });
    const [out] = yield* proc.communicate(Buffer.from('some data'));
    assert.equal(out?.toString(), 'some data');
    const again = proc.wait();
    assert.equal(again.done(), true);
    assert.equal(again.result(), 0);
    const running = yield* createSubprocessExec('sleep', ['30']);
    const waits = [running.wait(), running.wait(), running.wait()];
    running.kill();
    running.kill(); // a second signal before the exit is seen: no error (asyncio: the same)
    assert.deepEqual(yield* gather(...waits), [-9, -9, -9]);
  });
});

// ---------------------------------------------------------------- signals to the child

test('kill(), terminate() and sendSignal(0) once wait() has resolved: ProcessLookupError (ESRCH), as asyncio', T, async () => {
  await runNode(function* () {
    const proc = yield* createSubprocessShell('exit 3');
    assert.equal(yield* proc.wait(), 3);
    for (const send of [() => proc.kill(), () => proc.terminate(), () => proc.sendSignal(0), () => proc.sendSignal('SIGUSR1')]) {
      assert.throws(send, (error: unknown) => error instanceof ProcessLookupError && error.errno === 3 && error.code === 'ESRCH');
    }
  });
});

test('sendSignal(0) to a running child is a no-op; SIGINT ends sleep with -2', T, async () => {
  await runNode(function* () {
    const proc = yield* createSubprocessExec('sleep', ['30']);
    proc.sendSignal(0);
    assert.equal(proc.returncode, null);
    proc.sendSignal('SIGINT');
    assert.equal(yield* proc.wait(), -2);
  });
});

// asyncio sends any int to os.kill: 999 is OSError(EINVAL, 'Invalid
// argument') from the kernel, and so is it here (a number goes to kill(2)
// as it is). A negative number is refused by eventide's own check before
// any system call (subprocess-transport.ts: to kill(2) a negative pid
// would mean a process group); asyncio would pass -1 to the kernel too.
test('sendSignal with a signal number no system has: OSError EINVAL, as asyncio; a negative one a TypeError; the child is untouched', T, async () => {
  await runNode(function* () {
    const proc = yield* createSubprocessExec('sleep', ['30']);
    assert.throws(() => proc.sendSignal(999), (error: unknown) => error instanceof OSError && error.code === 'EINVAL' && error.syscall === 'kill' && /signal 999 to process \d+/.test(error.message));
    assert.throws(() => proc.sendSignal(-1), { name: 'TypeError', message: /signal must be a signal name/ });
    assert.equal(proc.returncode, null);
    proc.sendSignal(15); // a number the kernel knows: SIGTERM
    assert.equal(yield* proc.wait(), -15);
  });
});

// ---------------------------------------------------------------- stdin

test('stdin of a child that has exited: write() is dropped silently, drain() throws ConnectionResetError, the writer is closing', T, async () => {
  await runNode(function* () {
    const proc = yield* createSubprocessExec('true', [], { stdin: PIPE });
    assert.equal(yield* proc.wait(), 0);
    const stdin = stdinOf(proc);
    assert.equal(stdin.isClosing(), true);
    stdin.write(Buffer.from('x')); // asyncio: dropped (the transport is closing), no error
    const error = yield* failure(stdin.drain());
    assert.ok(error instanceof ConnectionResetError, String(error)); // asyncio: ConnectionResetError('Connection lost')
    assert.equal(error.errno, 104);
  });
});

test('stdin closed by the child while a drain() waits: drain() and waitClosed() throw BrokenPipeError, a later drain() ConnectionResetError', T, async () => {
  await runNode(function* () {
    // The child takes one line, then closes its stdin with the rest of our 1 MiB unread, and runs on.
    const proc = yield* createSubprocessShell('read go; exec 0<&-; exec sleep 30', { stdin: PIPE });
    const stdin = stdinOf(proc);
    stdin.write(Buffer.concat([Buffer.from('go\n'), Buffer.alloc(1024 * 1024, 0x78)]));
    const broken = yield* failure(stdin.drain());
    assert.equal((broken as Error).name, 'BrokenPipeError', String(broken)); // asyncio 3.13: BrokenPipeError()
    const closeError = yield* failure(stdin.waitClosed());
    assert.equal((closeError as Error).name, 'BrokenPipeError', String(closeError)); // asyncio 3.13: BrokenPipeError()
    stdin.write(Buffer.from('y')); // dropped
    const later = yield* failure(stdin.drain());
    assert.ok(later instanceof ConnectionResetError, String(later)); // asyncio 3.13: ConnectionResetError('Connection lost')
    assert.equal(proc.returncode, null, 'the child runs on');
    proc.kill();
    assert.equal(yield* proc.wait(), -9);
  });
});

test('stdin closed by the child, seen by waitClosed() (no error: nothing was pending); then write() is dropped and drain() throws ConnectionResetError', T, async () => {
  await runNode(function* () {
    const proc = yield* createSubprocessShell('exec 0<&-; exec sleep 30', { stdin: PIPE });
    const stdin = stdinOf(proc);
    yield* stdin.waitClosed();
    stdin.write(Buffer.from('y'));
    const error = yield* failure(stdin.drain());
    assert.ok(error instanceof ConnectionResetError, String(error)); // asyncio 3.13: the same
    proc.kill();
    assert.equal(yield* proc.wait(), -9);
  });
});

// asyncio drops a write after the writer's own close() (the transport is
// closing; a warning is logged after a few). eventide throws, on purpose:
// pipe-transport.ts says writes after the user's own close(), abort() or
// writeEof() throw (a bug in the caller), while writes after the pipe was
// lost are dropped as in asyncio (the test above).
test('stdin.write() after stdin.close(): a RuntimeError (asyncio drops it silently)', T, async () => {
  await runNode(function* () {
    const proc = yield* createSubprocessExec('cat', [], { stdin: PIPE, stdout: PIPE });
    const stdin = stdinOf(proc);
    stdin.write(Buffer.from('abc'));
    stdin.close();
    assert.throws(() => stdin.write(Buffer.from('x')), (error: unknown) => error instanceof RuntimeError && /the transport is closing/.test(error.message));
    const [out] = yield* proc.communicate();
    assert.equal(out?.toString(), 'abc');
  });
});

test('writeEof() on stdin: the child sees the end of its input; canWriteEof() is true', T, async () => {
  await runNode(function* () {
    const proc = yield* createSubprocessExec('cat', [], { stdin: PIPE, stdout: PIPE });
    const stdin = stdinOf(proc);
    assert.equal(stdin.canWriteEof(), true);
    stdin.write(Buffer.from('abc'));
    stdin.writeEof();
    assert.equal((yield* stdoutOf(proc).read()).toString(), 'abc');
    assert.equal(yield* proc.wait(), 0);
  });
});

test('the child can open /dev/stdin (a pipe, as asyncio gives it)', T, async () => {
  await runNode(function* () {
    const proc = yield* createSubprocessExec('cat', ['/dev/stdin'], { stdin: PIPE, stdout: PIPE, stderr: PIPE });
    const [out, err] = yield* proc.communicate(Buffer.from('abc'));
    assert.deepEqual([out?.toString(), err?.toString(), proc.returncode], ['abc', '', 0]);
  });
});

test('our end of one child\'s stdin is not inherited by a child started later: communicate() ends while the later child runs', T, async () => {
  await runNode(function* () {
    const first = yield* createSubprocessExec('cat', [], { stdin: PIPE, stdout: PIPE });
    const second = yield* createSubprocessExec('sleep', ['30']);
    const [out] = yield* first.communicate(Buffer.from('abc')); // would hang if `sleep` held a copy of the write end
    assert.equal(out?.toString(), 'abc');
    assert.equal(second.returncode, null);
    second.kill();
    assert.equal(yield* second.wait(), -9);
  });
});

// ---------------------------------------------------------------- stdio options, cwd, env, arguments

test('stdout DEVNULL with stderr STDOUT: no streams, communicate() gives [null, null]; stdout PIPE with stderr STDOUT: both in stdout', T, async () => {
  await runNode(function* () {
    const quiet = yield* createSubprocessShell('echo o; echo e >&2', { stdout: DEVNULL, stderr: STDOUT });
    assert.deepEqual([quiet.stdin, quiet.stdout, quiet.stderr], [null, null, null]);
    assert.deepEqual(yield* quiet.communicate(), [null, null]);
    assert.equal(quiet.returncode, 0);
    const merged = yield* createSubprocessShell('echo o; echo e >&2', { stdout: PIPE, stderr: STDOUT });
    assert.equal(merged.stderr, null);
    const [out, err] = yield* merged.communicate();
    assert.deepEqual([out?.toString(), err], ['o\ne\n', null]);
  });
});

test('cwd is the child\'s directory; env replaces the whole environment (a program is still found by name)', T, async () => {
  await runNode(function* () {
    const dir = realpathSync(tmpdir());
    const here = yield* createSubprocessExec('pwd', [], { stdout: PIPE, cwd: dir });
    assert.equal((yield* here.communicate())[0]?.toString(), `${dir}\n`);
    const only = yield* createSubprocessExec('env', [], { stdout: PIPE, env: { ONLY: '1' } });
    assert.equal((yield* only.communicate())[0]?.toString(), 'ONLY=1\n'); // asyncio 3.13: b'ONLY=1\n'
  });
});

test('exec arguments reach the program as they are (no shell); a shell command is the shell\'s to split and expand', T, async () => {
  await runNode(function* () {
    const exec = yield* createSubprocessExec('printf', ['%s|', 'a b', '$HOME', "'q'", '*'], { stdout: PIPE });
    assert.equal((yield* exec.communicate())[0]?.toString(), "a b|$HOME|'q'|*|");
    const shell = yield* createSubprocessShell(`printf '%s|' "a b" 'c$d' $X`, { stdout: PIPE, env: { X: 'x y', PATH: '/usr/bin:/bin' } });
    assert.equal((yield* shell.communicate())[0]?.toString(), 'a b|c$d|x|y|');
  });
});

// asyncio runs an empty shell command (`/bin/sh -c ''`, exit 0) and
// reports an empty program as PermissionError(13) from exec. eventide
// refuses both at the call with a TypeError (child-stdio.ts checkCommand /
// checkProgram; the program case is pinned by subprocess.test.ts): nothing
// is started for a command that cannot mean anything.
test('an empty shell command or program: a TypeError at the call (asyncio: exit 0, and PermissionError)', T, async () => {
  await runNode(function* () {
    assert.throws(() => createSubprocessShell(''), { name: 'TypeError', message: 'createSubprocessShell: command must be a non-empty string, got ""' });
    assert.throws(() => createSubprocessExec(''), { name: 'TypeError', message: 'createSubprocessExec: program must be a non-empty string, got ""' });
    yield* sleep(0);
  });
});

// ---------------------------------------------------------------- programs that cannot start

test('a program that does not exist: FileNotFoundError errno 2 naming it; one that is not executable: PermissionError errno 13', T, async () => {
  await runNode(function* () {
    const missing = yield* failure(createSubprocessExec('/nonexistent/eventide-prog', [], { stdin: PIPE, stdout: PIPE, stderr: PIPE }));
    assert.ok(missing instanceof FileNotFoundError, String(missing));
    assert.deepEqual([missing.errno, missing.code], [2, 'ENOENT']); // asyncio 3.13: FileNotFoundError(2, ..., filename='/nonexistent/eventide-prog')
    assert.match(missing.message, /\/nonexistent\/eventide-prog/);
    const denied = yield* failure(createSubprocessExec('/etc/passwd', [], { stdout: PIPE }));
    assert.ok(denied instanceof PermissionError, String(denied));
    assert.deepEqual([denied.errno, denied.code], [13, 'EACCES']);
    assert.match(denied.message, /\/etc\/passwd/);
  });
});

test('a cwd that does not exist: FileNotFoundError naming the directory (asyncio: filename is the directory)', T, async () => {
  await runNode(function* () {
    const error = yield* failure(createSubprocessExec('true', [], { cwd: '/nonexistent-eventide-dir' }));
    assert.ok(error instanceof FileNotFoundError, String(error));
    assert.equal(error.errno, 2);
    assert.match(error.message, /nonexistent-eventide-dir/);
  });
});

// ---------------------------------------------------------------- the protocol API

class Recorder implements SubprocessProtocol {
  readonly events: string[] = [];
  readonly done: Future<void>;
  transport: SubprocessTransport | null = null;

  constructor(loop: NodeEventLoop) {
    this.done = loop.createFuture<void>();
  }

  connectionMade(transport: SubprocessTransport): void {
    this.transport = transport;
    this.events.push('made'); // the returncode may already be known here (a quick child), in asyncio too
  }

  pipeDataReceived(fd: number, data: Buffer): void {
    const last = this.events[this.events.length - 1];
    // Data may come in pieces: keep one entry per run of data on one fd.
    if (last?.startsWith(`data ${fd} `)) this.events[this.events.length - 1] = `${last}${data.toString()}`;
    else this.events.push(`data ${fd} ${data.toString()}`);
  }

  pipeConnectionLost(fd: number, exc: Error | null): void {
    this.events.push(`pipe lost ${fd} ${exc === null ? 'null' : exc.name}`);
  }

  processExited(): void {
    this.events.push(`exited returncode=${this.transport?.getReturncode()}`);
  }

  connectionLost(exc: Error | null): void {
    this.events.push(`lost ${exc === null ? 'null' : exc.name}`);
    this.done.setResult();
  }
}

/** The events of one fd, in order. */
function ofFd(events: readonly string[], fd: number): string[] {
  return events.filter((event) => event.startsWith(`data ${fd} `) || event.startsWith(`pipe lost ${fd} `));
}

test('protocol calls: connectionMade first, each pipe its data then its end, processExited with the code, connectionLost(null) last; the getters', T, async () => {
  await runNode(function* (loop) {
    const [transport, protocol] = yield* loop.subprocessExec(() => new Recorder(loop), 'sh', ['-c', 'printf out; printf err >&2; exit 7']);
    assert.equal(protocol.transport, transport);
    assert.ok(transport.getPid() > 0);
    assert.ok(transport.getPipeTransport(0) instanceof WritePipeTransport);
    assert.ok(transport.getPipeTransport(1) instanceof ReadPipeTransport);
    assert.ok(transport.getPipeTransport(2) instanceof ReadPipeTransport);
    assert.equal(transport.getPipeTransport(3), null);
    yield* protocol.done;
    const events = protocol.events;
    // asyncio (test_subprocess_protocol_events): the order across fds and the exit is not fixed; per fd and first/last are.
    assert.equal(events[0], 'made');
    assert.equal(events[events.length - 1], 'lost null');
    assert.deepEqual([...events].sort(), ['data 1 out', 'data 2 err', 'exited returncode=7', 'lost null', 'made', 'pipe lost 0 null', 'pipe lost 1 null', 'pipe lost 2 null']);
    assert.deepEqual(ofFd(events, 1), ['data 1 out', 'pipe lost 1 null']);
    assert.deepEqual(ofFd(events, 2), ['data 2 err', 'pipe lost 2 null']);
    assert.equal(transport.getReturncode(), 7);
    assert.equal(transport.isClosing(), false, 'nobody called close() (asyncio: is_closing() is False)');
    assert.equal(transport.getPipeTransport(1)?.isClosing(), true, 'the pipe transport is still there, closed');
    assert.throws(() => transport.kill(), ProcessLookupError); // asyncio: ProcessLookupError once connection_lost has run
    transport.close();
    assert.equal(transport.isClosing(), true);
    assert.ok(transport.getPid() > 0, 'the pid stays readable');
  });
});

test('transport.close() on a running child: every pipe lost, exited -9, connectionLost(null) last; close() again does nothing', T, async () => {
  await runNode(function* (loop) {
    const [transport, protocol] = yield* loop.subprocessExec(() => new Recorder(loop), 'sleep', ['30']);
    transport.close();
    assert.equal(transport.isClosing(), true);
    transport.close();
    yield* protocol.done;
    const events = protocol.events;
    assert.equal(events[0], 'made');
    assert.equal(events[events.length - 1], 'lost null');
    assert.deepEqual([...events].sort(), ['exited returncode=-9', 'lost null', 'made', 'pipe lost 0 null', 'pipe lost 1 null', 'pipe lost 2 null']);
    assert.equal(transport.getReturncode(), -9);
  });
});

// ---------------------------------------------------------------- signal handlers

test('a signal handler runs as a loop callback after kill() has returned, with the loop running; re-adding replaces it', T, async () => {
  await runNode(function* (loop) {
    const log = new Log();
    const done = loop.createFuture<void>();
    loop.addSignalHandler('SIGURG', () => log.push('first'));
    loop.addSignalHandler('SIGURG', () => {
      log.push(`second, running loop is ours: ${getRunningLoop() === loop}`);
      done.setResult();
    });
    process.kill(process.pid, 'SIGURG');
    log.push('kill returned');
    yield* done;
    log.assert(['kill returned', 'second, running loop is ours: true']);
    assert.equal(loop.removeSignalHandler('SIGURG'), true);
    assert.equal(loop.removeSignalHandler('SIGURG'), false);
    assert.equal(loop.removeSignalHandler('SIGWINCH'), false, 'never added');
  });
});

test('an exception in a signal handler goes to the exception handler with message, exception and handle; the handler stays installed', T, async () => {
  const exceptions: ExceptionContext[] = [];
  await runNode(
    function* (loop) {
      let calls = 0;
      let called = loop.createFuture<void>();
      loop.addSignalHandler('SIGURG', () => {
        calls++;
        called.setResult();
        throw new Error(`boom ${calls}`);
      });
      process.kill(process.pid, 'SIGURG');
      yield* called;
      yield* sleep(0);
      called = loop.createFuture<void>();
      process.kill(process.pid, 'SIGURG');
      yield* called;
      yield* sleep(0);
      assert.equal(loop.removeSignalHandler('SIGURG'), true);
    },
    { exceptions },
  );
  // asyncio 3.13: {'message': 'Exception in callback ...', 'exception': ValueError('boom'), 'handle': <Handle ...>}
  assert.deepEqual(exceptions.map((context) => [String(context.exception), Object.keys(context).sort()]), [
    ['Error: boom 1', ['exception', 'handle', 'message']],
    ['Error: boom 2', ['exception', 'handle', 'message']],
  ]);
  assert.match(exceptions[0]?.message ?? '', /^Exception in callback/);
});

// asyncio (unix_events._check_signal): a number outside
// signal.valid_signals() is ValueError('invalid signal number N'); eventide
// throws RangeError, its ValueError. Linux's real-time signals (34..64) are
// valid in asyncio; Node cannot listen for them (they are not in
// os.constants.signals), so eventide refuses them too.
test('invalid signal numbers (0, -1, 32, 65, and the real-time 34): RangeError for add and remove (asyncio: ValueError; it accepts 34)', T, async () => {
  await runNode(function* (loop) {
    for (const number of [0, -1, 32, 65, 34]) {
      assert.throws(() => loop.addSignalHandler(number, () => {}), { name: 'RangeError', message: `addSignalHandler: unknown signal number ${number}; expected one of the numbers in os.constants.signals (SIGINT is 2)` });
      assert.throws(() => loop.removeSignalHandler(number), { name: 'RangeError', message: /^removeSignalHandler: unknown signal number/ });
    }
    yield* sleep(0);
  });
});

// asyncio: add_signal_handler(SIGKILL) is RuntimeError('sig 9 cannot be
// caught') (signal.signal's EINVAL), and remove_signal_handler(SIGKILL)
// returns False (no handler was there). eventide's add refuses SIGKILL and
// SIGSTOP with a RangeError before anything else (signals.ts: "SIGKILL and
// SIGSTOP cannot be caught (RangeError)"); its remove says false, as asyncio.
test('SIGKILL and SIGSTOP: RangeError for add, false for remove (asyncio: RuntimeError for add, False for remove)', T, async () => {
  await runNode(function* (loop) {
    for (const [signal, name, number] of [['SIGKILL', 'SIGKILL', 9], [9, 'SIGKILL', 9], ['SIGSTOP', 'SIGSTOP', 19]] as const) {
      assert.throws(() => loop.addSignalHandler(signal, () => {}), { name: 'RangeError', message: `addSignalHandler: ${name} (signal ${number}) cannot be caught or handled` });
      assert.equal(loop.removeSignalHandler(signal), false);
    }
    yield* sleep(0);
  });
});

test('a generator function as a signal handler is refused with a TypeError (asyncio: "coroutines cannot be used with add_signal_handler()")', T, async () => {
  await runNode(function* (loop) {
    let ran = false;
    try {
      assert.throws(() => loop.addSignalHandler('SIGURG', function* () {
        ran = true;
      }), TypeError);
    } finally {
      loop.removeSignalHandler('SIGURG');
    }
    assert.equal(ran, false);
    yield* sleep(0);
  });
});

// ---------------------------------------------------------------- runInExecutor

/**
 * runIo for executor jobs: the body ends with shutdownDefaultExecutor
 * (as asyncio.run ends with loop.shutdown_default_executor()), which lets
 * the jobs finish and resolves once the worker threads have exited, so
 * their own fds are gone before runIo counts.
 */
function runExec(main: (loop: NodeEventLoop) => Coroutine<void>): Promise<void> {
  return runNode(function* (loop) {
    yield* main(loop);
    yield* shutdownDefaultExecutor(loop);
  });
}

test('runInExecutor: the result comes back; an error comes back with its class and message', T, async () => {
  await runExec(function* (loop) {
    assert.equal(yield* loop.runInExecutor(null, (base: number, exponent: number) => base ** exponent, 2, 10), 1024);
    const error = yield* failure(loop.runInExecutor(null, (key: string) => {
      throw new RangeError(`no ${key}`);
    }, 'k'));
    assert.ok(error instanceof RangeError, String(error)); // asyncio 3.13: the KeyError('k') raised in the thread
    assert.equal(error.message, 'no k');
  });
});

test('runInExecutor: cancelling the task that waits on a running job delivers CancelledError there; the loop goes on and the job is let finish', T, async () => {
  await runExec(function* (loop) {
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const job = loop.runInExecutor(null, (flag: Int32Array) => {
      Atomics.wait(flag, 0, 0); // holds the thread until the test opens the gate
      return 'finished';
    }, gate);
    const waiter = loop.createTask(function* () {
      return yield* job;
    });
    yield* sleep(0);
    waiter.cancel();
    assert.ok((yield* failure(waiter)) instanceof CancelledError);
    assert.equal(job.cancelled(), true, 'the awaited future is cancelled with its task (asyncio: the wrapping future)');
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    assert.equal(yield* loop.runInExecutor(null, () => 'next job'), 'next job');
  });
});

// ---------------------------------------------------------------- getaddrinfo

test('getaddrinfo: 5-tuples [family, type, proto, canonname, sockaddr]; IPv6 sockaddr has 4 fields; a null port is 0, a decimal string a number', T, async () => {
  await runNode(function* (loop) {
    assert.deepEqual(yield* loop.getaddrinfo('127.0.0.1', 80, { type: C.SOCK_STREAM }), [[C.AF_INET, C.SOCK_STREAM, C.IPPROTO_TCP, '', ['127.0.0.1', 80]]]);
    assert.deepEqual(yield* loop.getaddrinfo('::1', 80, { type: C.SOCK_STREAM }), [[C.AF_INET6, C.SOCK_STREAM, C.IPPROTO_TCP, '', ['::1', 80, 0, 0]]]);
    assert.deepEqual(yield* loop.getaddrinfo('127.0.0.1', null, { type: C.SOCK_STREAM }), [[C.AF_INET, C.SOCK_STREAM, C.IPPROTO_TCP, '', ['127.0.0.1', 0]]]);
    assert.deepEqual(yield* loop.getaddrinfo('127.0.0.1', '8080', { type: C.SOCK_STREAM }), [[C.AF_INET, C.SOCK_STREAM, C.IPPROTO_TCP, '', ['127.0.0.1', 8080]]]);
  });
});

// asyncio (the C library's getaddrinfo) answers a host with no socket type
// with three entries: SOCK_STREAM/6, SOCK_DGRAM/17 and SOCK_RAW/0. eventide
// gives the first two (dns.ts builds them per socket type; dns.test.ts
// pins two): a raw socket is nothing eventide can make.
test('getaddrinfo without a type: a stream and a datagram entry (asyncio adds a third, SOCK_RAW proto 0)', T, async () => {
  await runNode(function* (loop) {
    assert.deepEqual(yield* loop.getaddrinfo('127.0.0.1', 80), [
      [C.AF_INET, C.SOCK_STREAM, C.IPPROTO_TCP, '', ['127.0.0.1', 80]],
      [C.AF_INET, C.SOCK_DGRAM, C.IPPROTO_UDP, '', ['127.0.0.1', 80]],
    ]);
  });
});

// asyncio: getaddrinfo('127.0.0.1', 80, family=AF_INET6) raises
// gaierror(-9, 'Address family for hostname not supported'); and an empty
// host is gaierror(-2, 'Name or service not known'). eventide filters a
// numeric address by family to an empty list (pinned by dns.test.ts:
// "filtered by family"), and refuses an empty host with a TypeError at the
// call (dns.test.ts: bad input throws at the call).
test('getaddrinfo: a numeric address of the other family is [] (asyncio: gaierror -9); an empty host is a TypeError (asyncio: gaierror -2)', T, async () => {
  await runNode(function* (loop) {
    assert.deepEqual(yield* loop.getaddrinfo('127.0.0.1', 80, { family: C.AF_INET6 }), []);
    assert.throws(() => loop.getaddrinfo('', 80), { name: 'TypeError', message: 'getaddrinfo: host must be a non-empty string, got ""' });
  });
});

test('getaddrinfo of a name that does not resolve: GaiError, an OSError with the C library\'s EAI number (socket.gaierror)', T, async () => {
  await runNode(function* (loop) {
    const error = yield* failure(loop.getaddrinfo('nonexistent.invalid', 80, { type: C.SOCK_STREAM }));
    assert.ok(error instanceof GaiError && error instanceof OSError, String(error));
    if (error.code === 'ENOTFOUND') {
      // asyncio 3.13: gaierror(-2, 'Name or service not known')
      assert.equal(error.errno, -2);
      assert.match(error.message, /Name or service not known/);
    } else {
      assert.deepEqual([error.code, error.errno], ['EAI_AGAIN', -3]); // no resolver reachable here
    }
  });
});
