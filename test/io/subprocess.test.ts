/**
 * Subprocesses (createSubprocessExec / createSubprocessShell) with real
 * children: output through StreamReaders, input through the StreamWriter,
 * communicate() with large data both ways, stderr apart or merged into
 * stdout, exit codes and signals, a program that does not exist, bad
 * options, and EMFILE (in a child process under `ulimit -n 64`). Every
 * other test runs under runIo: no fd leaks, nothing left scheduled, no
 * exception-handler report.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'node:test';
import { closeFd, openPipe } from '../../src/io/connect-pipe.js';
import { FileNotFoundError } from '../../src/io/errors.js';
import { createSubprocessExec, createSubprocessShell, DEVNULL, PIPE, STDOUT } from '../../src/io/subprocess.js';
import { sleep, type Coroutine } from '../../src/tasks/operation.js';
import { waitFor } from '../../src/tasks/wait.js';
import { TimeoutError } from '../../src/core/errors.js';
import type { ExceptionContext } from '../../src/core/base-event-loop.js';
import { readString } from './fds.js';
import { runIo } from './net-helpers.js';

const T = { timeout: 30_000 };

test('stdout as a pipe: lines through the StreamReader, then end of file; wait() gives 0 and returncode follows', T, async () => {
  await runIo(function* () {
    const proc = yield* createSubprocessExec('/bin/sh', ['-c', 'printf "first\\nsecond\\n"'], { stdout: PIPE });
    assert.equal(proc.stdin, null);
    assert.equal(proc.stderr, null);
    assert.ok(proc.pid > 0);
    const stdout = proc.stdout;
    assert.ok(stdout !== null);
    assert.equal((yield* stdout.readLine()).toString(), 'first\n');
    assert.equal((yield* stdout.readLine()).toString(), 'second\n');
    assert.equal((yield* stdout.read()).length, 0, 'end of file');
    const exit = proc.wait();
    assert.equal(exit.label, `Process.wait pid ${proc.pid}`, 'named for task introspection');
    assert.equal(yield* exit, 0);
    assert.equal(proc.returncode, 0);
    assert.equal(String(proc), `<Process ${proc.pid} returncode=0>`);
  });
});

test('communicate: 2 MiB through cat and back, in order (stdin drains while stdout is read)', T, async () => {
  await runIo(function* () {
    const input = Buffer.alloc(2 * 1024 * 1024);
    for (let i = 0; i < input.length; i++) input[i] = (i * 31 + (i >> 11)) & 0xff;
    const proc = yield* createSubprocessExec('cat', [], { stdin: PIPE, stdout: PIPE });
    const [out, err] = yield* proc.communicate(input);
    assert.equal(err, null, 'stderr is not a pipe');
    assert.ok(out !== null && out.equals(input));
    assert.equal(proc.returncode, 0);
    yield* (proc.stdin as NonNullable<typeof proc.stdin>).waitClosed(); // communicate closed stdin; its pipe is gone
  });
});

test('stderr apart, or merged into stdout with STDOUT; stdin from DEVNULL', T, async () => {
  await runIo(function* () {
    const script = 'echo out; echo err >&2; read line || echo "stdin: end of file"';
    const apart = yield* createSubprocessShell(script, { stdin: DEVNULL, stdout: PIPE, stderr: PIPE });
    const [out, err] = yield* apart.communicate();
    assert.equal(out?.toString(), 'out\nstdin: end of file\n');
    assert.equal(err?.toString(), 'err\n');
    const merged = yield* createSubprocessShell(script, { stdin: DEVNULL, stdout: PIPE, stderr: STDOUT });
    const [both, none] = yield* merged.communicate();
    assert.equal(both?.toString(), 'out\nerr\nstdin: end of file\n');
    assert.equal(none, null);
  });
});

test('exit codes and signals: exit 3 is 3; kill() is -SIGKILL, terminate() -SIGTERM; a signal once wait() has resolved is ProcessLookupError, as in asyncio', T, async () => {
  await runIo(function* () {
    const three = yield* createSubprocessShell('exit 3');
    assert.equal(yield* three.wait(), 3);
    assert.throws(() => three.kill(), { name: 'ProcessLookupError', code: 'ESRCH', message: /process \d+ has finished/ });
    const killed = yield* createSubprocessExec('sleep', ['30']);
    assert.equal(killed.returncode, null);
    killed.kill();
    assert.equal(yield* killed.wait(), -9);
    const terminated = yield* createSubprocessExec('sleep', ['30'], { stdout: PIPE });
    terminated.terminate();
    assert.equal(yield* terminated.wait(), -15);
    assert.equal((yield* (terminated.stdout as NonNullable<typeof terminated.stdout>).read()).length, 0);
    const interrupted = yield* createSubprocessExec('sleep', ['30']);
    interrupted.sendSignal('SIGINT');
    assert.equal(yield* interrupted.wait(), -2);
  });
});

test('a child that exits without reading its stdin: communicate still returns (the broken pipe is not an error)', T, async () => {
  await runIo(function* () {
    const proc = yield* createSubprocessExec('true', [], { stdin: PIPE, stdout: PIPE });
    const [out] = yield* proc.communicate(Buffer.alloc(1024 * 1024, 0x61));
    assert.equal(out?.length, 0);
    assert.equal(proc.returncode, 0);
  });
});

test('cwd and env reach the child', T, async () => {
  await runIo(function* () {
    const proc = yield* createSubprocessShell('pwd; echo "$EVENTIDE_TEST_VALUE"', { stdout: PIPE, cwd: '/tmp', env: { ...process.env, EVENTIDE_TEST_VALUE: 'from the parent' } });
    const [out] = yield* proc.communicate();
    assert.equal(out?.toString(), '/tmp\nfrom the parent\n');
  });
});

test('a program that does not exist fails the task with FileNotFoundError, and its pipes are closed again', T, async () => {
  await runIo(function* () {
    let error: unknown;
    try {
      yield* createSubprocessExec('/nonexistent/eventide-no-such-program', [], { stdin: PIPE, stdout: PIPE, stderr: PIPE });
    } catch (caught) {
      error = caught;
    }
    assert.ok(error instanceof FileNotFoundError, `got ${String(error)}`);
    assert.equal(error.code, 'ENOENT');
    assert.equal(error.syscall, 'spawn');
    assert.match(error.message, /eventide-no-such-program/);
  }); // runIo asserts the fd count is back where it was
});

test('a working directory that is missing, or is a file, is what the error names (not the program, which exists)', T, async () => {
  await runIo(function* () {
    const failure = function* (cwd: string): Coroutine<Error> {
      try {
        yield* createSubprocessExec('true', [], { stdout: PIPE, cwd });
      } catch (caught) {
        return caught as Error;
      }
      throw new Error(`started in ${cwd}`);
    };
    const missing = yield* failure('/nonexistent/eventide-no-such-dir');
    assert.ok(missing instanceof FileNotFoundError, `got ${String(missing)}`);
    assert.match(missing.message, /true: its working directory "\/nonexistent\/eventide-no-such-dir" does not exist or is not a directory/);
    const file = yield* failure(fileURLToPath(import.meta.url));
    assert.equal((file as NodeJS.ErrnoException).code, 'ENOTDIR');
    assert.match(file.message, /its working directory ".*subprocess\.test\.js" does not exist or is not a directory/);
  }); // runIo asserts the fd count is back where it was
});

test('bad arguments throw at the call, naming what was wrong', T, async () => {
  await runIo(function* () {
    assert.throws(() => createSubprocessExec(''), { name: 'TypeError', message: /createSubprocessExec: program must be a non-empty string/ });
    assert.throws(() => createSubprocessExec('ls', '-l' as never), { name: 'TypeError', message: /createSubprocessExec: args must be an array of strings/ });
    assert.throws(() => createSubprocessExec('ls', [], { stdin: 'bogus' as never }), {
      name: 'TypeError',
      message: "createSubprocessExec: options.stdin must be 'pipe', 'inherit', 'ignore', null or an fd, got \"bogus\"",
    });
    assert.throws(() => createSubprocessExec('ls', [], { stdout: 'stdout' as never }), { name: 'TypeError', message: /options.stdout must be/ });
    assert.throws(() => createSubprocessShell(42 as never), { name: 'TypeError', message: /createSubprocessShell: command must be a non-empty string/ });
    assert.throws(() => createSubprocessExec('ls', [], { limit: 0 }), { name: 'RangeError', message: /options.limit must be a positive integer/ });
    const proc = yield* createSubprocessExec('true', [], { stdout: PIPE });
    assert.throws(() => proc.communicate(Buffer.from('x')).next(), { name: 'TypeError', message: /stdin is not a pipe/ });
    assert.throws(() => proc.communicate('text' as never).next(), { name: 'TypeError', message: 'Process.communicate: input: data must be a Buffer, TypedArray or DataView, got a string (encode it first: Buffer.from(text))' });
    assert.equal(yield* proc.wait(), 0);
    yield* proc.communicate(); // drains stdout to its end
  });
});

test('cancelled before it runs, createSubprocessExec starts nothing; cancelled while connecting, it closes its pipes and kills the child', T, async () => {
  await runIo(function* (loop) {
    const early = createSubprocessExec('sleep', ['30'], { stdin: PIPE, stdout: PIPE });
    early.cancel();
    let error: unknown = null;
    try {
      yield* early;
    } catch (caught) {
      error = caught;
    }
    assert.equal((error as Error).name, 'CancelledError');
    const late = createSubprocessExec('sleep', ['30'], { stdin: PIPE, stdout: PIPE, stderr: PIPE });
    loop.callSoon(() => loop.callSoon(() => late.cancel())); // after its first step: the pipes are being connected
    error = null;
    try {
      yield* late;
    } catch (caught) {
      error = caught;
    }
    assert.equal((error as Error).name, 'CancelledError');
    yield* sleep(5); // the transports' connectionLost and the fds' close run on later ticks
  }); // runIo: no fd left open
});

test('an fd of yours as the child stdout: the child writes into it, and it stays yours', T, async () => {
  await runIo(function* () {
    const [r, w] = openPipe();
    const proc = yield* createSubprocessShell('printf "into your pipe"', { stdout: w });
    assert.equal(proc.stdout, null, 'not a pipe of the Process');
    assert.equal(yield* proc.wait(), 0);
    closeFd(w);
    assert.equal(readString(r), 'into your pipe');
    closeFd(r);
  });
});

test('between the exit and the end of its pipes a signal does nothing; wait() waits for the output a grandchild still writes', T, async () => {
  await runIo(function* () {
    const proc = yield* createSubprocessShell('(sleep 0.3; echo late) & exit 4', { stdout: PIPE });
    while (proc.returncode === null) yield* sleep(10);
    assert.equal(proc.returncode, 4, 'the shell has exited; its background child still has stdout');
    proc.terminate(); // exited: nothing, and no error
    assert.equal(String(proc), `<Process ${proc.pid} returncode=4>`);
    const stdout = proc.stdout as NonNullable<typeof proc.stdout>;
    assert.equal((yield* stdout.read()).toString(), 'late\n');
    assert.equal(yield* proc.wait(), 4);
    assert.throws(() => proc.terminate(), { name: 'ProcessLookupError' });
  });
});

test('EMFILE (ulimit -n 64): no fd for the second pipe, or none for the spawn, fails the task with EMFILE and gives every fd back; then a child runs', T, () => {
  const child = fileURLToPath(new URL('./fixtures/subprocess-emfile-child.js', import.meta.url));
  const output = execFileSync('bash', ['-c', 'ulimit -n 64 && exec "$0" "$1"', process.execPath, child], { encoding: 'utf8' });
  const result = JSON.parse(output.trim().split('\n').pop() as string) as Record<string, unknown>;
  assert.deepEqual(result, {
    pipes: { error: 'OSError EMFILE pipe2', fdsBack: true },
    transportPipes: { error: 'OSError EMFILE pipe2', fdsBack: true },
    spawn: { error: 'OSError EMFILE spawn', fdsBack: true },
    after: 'recovered\n',
    fdsLeaked: 0,
  });
});

test('wait() gives each caller a future of its own: waits that timed out (twenty) leave later waits, communicate() and the process alone', T, async () => {
  const exceptions: ExceptionContext[] = [];
  await runIo(
    function* () {
      const proc = yield* createSubprocessExec('sh', ['-c', 'read line; echo "got $line"'], { stdin: PIPE, stdout: PIPE });
      for (let i = 0; i < 20; i++) {
        // The child waits for its input: every one of these times out (and the waiters cancelled on the way are dropped).
        let timedOut: unknown = null;
        try {
          yield* waitFor(proc.wait(), 1);
        } catch (caught) {
          timedOut = caught;
        }
        assert.ok(timedOut instanceof TimeoutError, String(timedOut));
      }
      let closeTimedOut: unknown = null;
      try {
        yield* waitFor((proc.stdin as NonNullable<typeof proc.stdin>).waitClosed(), 5);
      } catch (caught) {
        closeTimedOut = caught;
      }
      assert.ok(closeTimedOut instanceof TimeoutError, String(closeTimedOut));
      const waiting = proc.wait();
      const [out] = yield* proc.communicate(Buffer.from('hello\n'));
      assert.equal(out?.toString(), 'got hello\n');
      assert.equal(yield* waiting, 0);
      assert.equal(yield* proc.wait(), 0, 'a wait after the end resolves at once');
      assert.equal(proc.returncode, 0);
    },
    { exceptions },
  );
  assert.deepEqual(exceptions.map((c) => `${c.message}: ${String(c.exception)}`), []);
});

test('createSubprocessExec with a bad priority throws at the call, naming options.priority; nothing is started', T, async () => {
  await runIo(function* () {
    assert.throws(() => createSubprocessExec('sleep', ['30'], { stdout: PIPE, priority: 'urgent' as never }), {
      name: 'TypeError',
      message: "createSubprocessExec: options.priority must be one of 'critical', 'high', 'normal', 'low', 'idle', got \"urgent\"",
    });
  });
});
