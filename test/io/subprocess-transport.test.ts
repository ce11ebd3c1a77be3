/**
 * Subprocess transports (loop.subprocessExec / subprocessShell) with real
 * children: the protocol's calls and their order, the pipe transports,
 * close() killing a running child, signals before and after the end,
 * stdin back-pressure reaching the protocol, a protocol that throws, and
 * bad arguments. A fake child (an EventEmitter with a pid) pins the rule
 * that what happens before connectionMade is told after it, in order.
 * Every test runs under runIo: no fd leaks, nothing left scheduled.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import test from 'node:test';
import type { ExceptionContext } from '../../src/core/base-event-loop.js';
import { closeFd, openPipe } from '../../src/io/connect-pipe.js';
import { ReadPipeTransport, WritePipeTransport } from '../../src/io/pipe-transport.js';
import { DEVNULL, PIPE, SubprocessTransport, subprocessExec, subprocessShell, type SubprocessProtocol } from '../../src/io/subprocess-transport.js';
import { OSError } from '../../src/io/errors.js';
import { syscalls as sys } from '../../src/io/syscalls.js';
import type { Coroutine } from '../../src/tasks/operation.js';
import { sleep, until } from '../../src/tasks/operation.js';
import { CancelledError } from '../../src/core/errors.js';
import { runIo } from './net-helpers.js';

const T = { timeout: 30_000 };

/** Records every protocol call as a string; `done` resolves at connectionLost. */
class Recorder implements SubprocessProtocol {
  readonly events: string[] = [];
  readonly output: [string, string, string] = ['', '', ''];
  transport: SubprocessTransport | null = null;
  done: Promise<void>;
  #resolve!: () => void;

  constructor() {
    this.done = new Promise((resolve) => (this.#resolve = resolve));
  }

  connectionMade(transport: SubprocessTransport): void {
    this.transport = transport;
    this.events.push('made');
  }

  pipeDataReceived(fd: number, data: Buffer): void {
    this.output[fd] += data.toString();
    if (this.events.at(-1) !== `data ${fd}`) this.events.push(`data ${fd}`);
  }

  pipeConnectionLost(fd: number, exc: Error | null): void {
    this.events.push(`pipe lost ${fd}${exc === null ? '' : ` ${exc.name}`}`);
  }

  processExited(): void {
    this.events.push(`exited ${this.transport?.getReturncode()}`);
  }

  connectionLost(exc: Error | null): void {
    this.events.push(`lost ${String(exc)}`);
    this.#resolve();
  }
}

function* finished(recorder: Recorder): Coroutine<void> {
  yield* until(recorder.done);
}

/** `events` without the exit, which may come before or after the pipes' events (it reaches the loop from Node's side). */
function withoutExit(events: readonly string[], exit: string): string[] {
  assert.equal(events.filter((event) => event === exit).length, 1, `one '${exit}' in ${events.join(', ')}`);
  assert.ok(events.indexOf(exit) < events.indexOf('lost null'), 'the exit comes before connectionLost');
  return events.filter((event) => event !== exit);
}

/** The events of one pipe, in the order they came. */
function ofPipe(events: readonly string[], fd: number): string[] {
  return events.filter((event) => event === `data ${fd}` || event.startsWith(`pipe lost ${fd}`));
}

test('a child with three pipes: connectionMade first, each pipe its data then its end, the exit, and connectionLost(null) last', T, async () => {
  await runIo(function* (loop) {
    const [transport, protocol] = yield* subprocessShell(loop, () => new Recorder(), 'read line; echo "got $line"; echo err >&2; exit 5');
    assert.ok(transport instanceof SubprocessTransport);
    assert.equal(protocol.events[0], 'made', 'connectionMade has run when the task resolves');
    assert.equal(protocol.transport, transport);
    const stdin = transport.getPipeTransport(0);
    assert.ok(stdin instanceof WritePipeTransport);
    assert.ok(transport.getPipeTransport(1) instanceof ReadPipeTransport);
    assert.ok(transport.getPipeTransport(2) instanceof ReadPipeTransport);
    assert.equal(transport.getPipeTransport(3), null);
    assert.equal(transport.getPid(), (transport.getExtraInfo('subprocess') as ChildProcess).pid);
    assert.equal(transport.getExtraInfo('peername', 'none'), 'none');
    stdin.write(Buffer.from('hello\n'));
    yield* finished(protocol);
    assert.equal(protocol.output[1], 'got hello\n');
    assert.equal(protocol.output[2], 'err\n');
    const events = protocol.events;
    assert.equal(events.at(-1), 'lost null');
    assert.deepEqual(ofPipe(events, 1), ['data 1', 'pipe lost 1']);
    assert.deepEqual(ofPipe(events, 2), ['data 2', 'pipe lost 2']);
    assert.deepEqual(ofPipe(events, 0), ['pipe lost 0'], 'the child exiting closes its stdin: the write end hears it');
    assert.equal(withoutExit(events, 'exited 5').length, 1 + 2 + 2 + 1 + 1);
    assert.equal(transport.getReturncode(), 5);
    assert.equal(transport.isClosing(), false, 'only close() makes it closing');
    assert.throws(() => transport.kill(), { name: 'ProcessLookupError' });
    transport.close();
    assert.equal(transport.isClosing(), true);
  });
});

test('stdio options: DEVNULL and inherit streams have no pipe transport; the defaults are pipes', T, async () => {
  await runIo(function* (loop) {
    const [transport, protocol] = yield* subprocessExec(loop, () => new Recorder(), 'echo', ['only stdout'], { stdin: DEVNULL, stderr: null });
    assert.equal(transport.getPipeTransport(0), null);
    assert.ok(transport.getPipeTransport(1) instanceof ReadPipeTransport);
    assert.equal(transport.getPipeTransport(2), null);
    yield* finished(protocol);
    assert.deepEqual(withoutExit(protocol.events, 'exited 0'), ['made', 'data 1', 'pipe lost 1', 'lost null']);
    assert.equal(protocol.output[1], 'only stdout\n');
    transport.close();
  });
});

test('close() on a running child closes its pipes and kills it: every pipe lost, exited -9, then connectionLost', T, async () => {
  await runIo(function* (loop) {
    const [transport, protocol] = yield* loop.subprocessExec(() => new Recorder(), 'sleep', ['30']);
    assert.equal(transport.getReturncode(), null);
    assert.equal(String(transport), `<SubprocessTransport pid=${transport.getPid()} running>`);
    transport.close();
    transport.close(); // twice is fine
    assert.equal(transport.isClosing(), true);
    yield* finished(protocol);
    assert.equal(transport.getReturncode(), -9);
    assert.equal(String(transport), `<SubprocessTransport pid=${transport.getPid()} closed returncode=-9>`);
    const events = protocol.events;
    assert.equal(events[0], 'made');
    assert.equal(events.at(-1), 'lost null');
    assert.deepEqual(events.filter((e) => e.startsWith('pipe lost')).sort(), ['pipe lost 0', 'pipe lost 1', 'pipe lost 2']);
    assert.equal(withoutExit(events, 'exited -9').length, 5);
  });
});

test('signals reach the child: terminate() gives -15, a number works as well as a name, and an unknown name throws', T, async () => {
  await runIo(function* (loop) {
    const [transport, protocol] = yield* loop.subprocessShell(() => new Recorder(), 'exec sleep 30', { stdin: DEVNULL, stdout: DEVNULL, stderr: DEVNULL });
    assert.throws(() => transport.sendSignal('SIGNOPE' as NodeJS.Signals), { name: 'TypeError', code: 'ERR_UNKNOWN_SIGNAL' });
    transport.sendSignal(0); // signal 0: only checks that the child is there
    transport.terminate();
    yield* finished(protocol);
    assert.deepEqual(protocol.events, ['made', 'exited -15', 'lost null']);
    transport.close();
  });
});

test('stdin back-pressure reaches the protocol: pauseWriting when 1 MiB does not fit the pipe, resumeWriting once the child has read it', T, async () => {
  await runIo(function* (loop) {
    class Writer extends Recorder {
      pauseWriting(): void {
        this.events.push('pause');
      }
      resumeWriting(): void {
        this.events.push('resume');
      }
    }
    const [transport, protocol] = yield* loop.subprocessExec(() => new Writer(), 'wc', ['-c'], { stderr: DEVNULL });
    const stdin = transport.getPipeTransport(0) as WritePipeTransport;
    stdin.write(Buffer.alloc(1024 * 1024, 0x78));
    assert.deepEqual(protocol.events, ['made', 'pause']);
    stdin.close(); // after the queue is written: wc then sees end of file
    yield* finished(protocol);
    assert.equal(protocol.output[1].trim(), String(1024 * 1024));
    assert.deepEqual(protocol.events.slice(0, 3), ['made', 'pause', 'resume']);
    assert.equal(protocol.events.at(-1), 'lost null');
    transport.close();
  });
});

test('a protocol method that throws goes to the exception handler; the other calls still come', T, async () => {
  const exceptions: ExceptionContext[] = [];
  await runIo(
    function* (loop) {
      class Throws extends Recorder {
        override pipeDataReceived(fd: number, data: Buffer): void {
          super.pipeDataReceived(fd, data);
          throw new Error('protocol bug');
        }
      }
      const [transport, protocol] = yield* loop.subprocessExec(() => new Throws(), 'echo', ['x'], { stdin: DEVNULL, stderr: DEVNULL });
      yield* finished(protocol);
      assert.deepEqual(withoutExit(protocol.events, 'exited 0'), ['made', 'data 1', 'pipe lost 1', 'lost null']);
      transport.close();
    },
    { exceptions },
  );
  assert.deepEqual(
    exceptions.map((c) => [c.message, (c.exception as Error).message]),
    [['protocol.pipeDataReceived() failed', 'protocol bug']],
  );
});

test('connectionMade that throws fails the task with its error; the child is killed and every fd closed', T, async () => {
  await runIo(function* (loop) {
    let child: ChildProcess | null = null;
    const protocol: SubprocessProtocol = {
      connectionMade(transport) {
        child = transport.getExtraInfo('subprocess') as ChildProcess;
        throw new RangeError('refused in connectionMade');
      },
      connectionLost: () => assert.fail('a protocol whose connection was never made hears nothing more'),
    };
    let error: unknown = null;
    try {
      yield* loop.subprocessExec(() => protocol, 'sleep', ['30']);
    } catch (caught) {
      error = caught;
    }
    assert.equal((error as Error).message, 'refused in connectionMade');
    const killed = child as ChildProcess | null;
    assert.ok(killed !== null);
    while (killed.exitCode === null && killed.signalCode === null) yield* sleep(5);
    assert.equal(killed.signalCode, 'SIGKILL');
    yield* sleep(5); // the pipe transports' connectionLost and closes run on later ticks
  });
});

test('what happens before connectionMade (here the exit) is held and told right after it, then the pipe\'s data and end', T, async () => {
  await runIo(function* (loop) {
    // A fake child whose exit is reported at once, with a real pipe for its stdout holding data and EOF already.
    const [readEnd, writeEnd] = openPipe();
    assert.equal(sys.write(writeEnd, Buffer.from('early'), 0, 5), 5);
    closeFd(writeEnd);
    const child = Object.assign(new EventEmitter(), { pid: 4242, exitCode: null, signalCode: null, kill: () => true }) as unknown as ChildProcess;
    const protocol = new Recorder();
    const waiter = loop.createFuture<void>();
    const transport = new SubprocessTransport(loop, protocol, child, [-1, readEnd, -1], waiter, {});
    child.emit('exit', 7, null); // processExited is due on the next tick, before any pipe is connected
    yield* waiter;
    yield* finished(protocol);
    assert.deepEqual(protocol.events, ['made', 'exited 7', 'data 1', 'pipe lost 1', 'lost null']);
    assert.equal(protocol.output[1], 'early');
    transport.close(); // the fake child has "exited": nothing is killed
  });
});

test('bad arguments throw at the call, naming what was wrong; nothing is started', T, async () => {
  await runIo(function* (loop) {
    assert.throws(() => subprocessExec(loop, 'nope' as never, 'ls'), { name: 'TypeError', message: /subprocessExec: protocolFactory must be a function/ });
    assert.throws(() => subprocessExec(loop, () => ({}), ''), { name: 'TypeError', message: /subprocessExec: program must be a non-empty string/ });
    assert.throws(() => subprocessExec(loop, () => ({}), 'ls', [1] as never), { name: 'TypeError', message: /subprocessExec: args must be an array of strings/ });
    assert.throws(() => subprocessShell(loop, () => ({}), 'ls', { stdout: 'stdout' as never }), {
      name: 'TypeError',
      message: "subprocessShell: options.stdout must be 'pipe', 'inherit', 'ignore', null or an fd, got \"stdout\"",
    });
    assert.throws(() => subprocessShell(loop, () => ({}), 'ls', null as never), { name: 'TypeError', message: /subprocessShell: options must be an object/ });
    let error: unknown = null;
    try {
      yield* subprocessExec(loop, () => ({}), '/nonexistent/eventide-no-such-program', [], { stdin: PIPE });
    } catch (caught) {
      error = caught;
    }
    assert.equal((error as Error).name, 'FileNotFoundError');
  });
});

test('more bad input, each a clear error before any child starts: a bad priority, a factory that returns no protocol, a stdio fd that is not open; sendSignal(undefined) is a TypeError, not SIGTERM', T, async () => {
  await runIo(function* (loop) {
    // A bad priority used to be found only once the child ran, and its exit then threw inside Node's 'exit' event (the process died).
    assert.throws(() => subprocessExec(loop, () => new Recorder(), 'sleep', ['30'], { priority: 'urgent' as never }), {
      name: 'TypeError',
      message: "subprocessExec: options.priority must be one of 'critical', 'high', 'normal', 'low', 'idle', got \"urgent\"",
    });
    let error: unknown = null;
    try {
      yield* subprocessExec(loop, () => undefined as never, 'sleep', ['30']);
    } catch (caught) {
      error = caught;
    }
    assert.ok(error instanceof TypeError && /protocolFactory must return a protocol object, got undefined/.test(error.message), String(error));
    const notOpen = 987;
    assert.ok(sys.fstatMode(notOpen) < 0, `fd ${notOpen} is not open`);
    error = null;
    try {
      yield* subprocessExec(loop, () => new Recorder(), 'true', [], { stdout: notOpen });
    } catch (caught) {
      error = caught;
    }
    assert.ok(error instanceof OSError && error.code === 'EBADF' && error.syscall === 'spawn', String(error));
    const [transport, protocol] = yield* loop.subprocessExec(() => new Recorder(), 'sleep', ['30'], { stdin: DEVNULL, stdout: DEVNULL, stderr: DEVNULL });
    assert.throws(() => transport.sendSignal(undefined as never), { name: 'TypeError', message: /sendSignal: signal must be a signal name/ });
    yield* sleep(20);
    assert.equal(transport.getReturncode(), null, 'still running: nothing was sent');
    transport.close();
    yield* finished(protocol);
    assert.equal(transport.getReturncode(), -9);
  });
});

test('a protocol that cancels the creating task from connectionMade: the task ends with CancelledError and nothing reaches the exception handler', T, async () => {
  const exceptions: ExceptionContext[] = [];
  await runIo(
    function* (loop) {
      let creating: { cancel(): boolean } | null = null;
      class Canceller extends Recorder {
        override connectionMade(transport: SubprocessTransport): void {
          super.connectionMade(transport);
          creating?.cancel();
        }
      }
      const protocol = new Canceller();
      const task = loop.subprocessExec(() => protocol, 'true', [], { stdin: DEVNULL, stderr: DEVNULL });
      creating = task;
      let error: unknown = null;
      try {
        yield* task;
      } catch (caught) {
        error = caught;
      }
      assert.ok(error instanceof CancelledError, String(error));
      yield* finished(protocol); // the transport was closed; the protocol hears the child's end
      assert.equal(protocol.events[0], 'made');
      assert.equal(protocol.events.at(-1), 'lost null');
    },
    { exceptions },
  );
  assert.deepEqual(exceptions.map((c) => c.message), []);
});
