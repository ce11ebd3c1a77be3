/**
 * EINTR: signals arriving at a high rate while the loop blocks in
 * epoll_wait and moves a large payload through a socketpair change
 * nothing — every byte arrives intact and in order, no error reaches a
 * task or the exception handler, and the loop keeps going.
 *
 * A child process sends SIGUSR2 to this process every ~0.2 ms. With a
 * handler installed (libuv's C handler, through addSignalHandler), each
 * signal interrupts whatever system call the main thread is blocked in:
 * eventide's own epoll_wait in blocking mode (the native layer turns
 * EINTR there into "0 events", and the host recomputes its wait), libuv's
 * in guest mode. Reads and writes are on non-blocking sockets, and the
 * native layer retries EINTR where repeating a call is correct.
 *
 * The test keeps a SIGUSR2 listener of its own until the child is gone:
 * without any listener, SIGUSR2's default action would end this process.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import test from 'node:test';
import { addSignalHandler, removeSignalHandler } from '../../src/io/signals.js';
import { sockRecv, sockSendAll } from '../../src/io/sock.js';
import { sleep, until } from '../../src/tasks/operation.js';
import { MODES, withWatchdog } from '../hosts/node-helpers.js';
import { closeAll, socketpair } from './fds.js';
import { runIo } from './net-helpers.js';

const T = { timeout: 60_000 };

/** Signals handled before the test may end, and the least number of payload rounds. */
const MIN_SIGNALS = 300;
const MIN_ROUNDS = 3;
const MAX_ROUNDS = 500;
const PAYLOAD_BYTES = 4 * 1024 * 1024;

/** The child: SIGUSR2 to its parent every ~0.2 ms, until the parent is gone or it is killed. */
const SENDER = `
  const parent = Number(process.argv[1]);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try { process.kill(parent, 'SIGUSR2'); } catch { process.exit(0); }
    Atomics.wait(pause, 0, 0, 0.2);
  }
`;

for (const mode of MODES) {
  test(`${mode} mode: a storm of signals during blocking epoll waits and a large socketpair transfer loses nothing`, T, async () => {
    const keepAlive = (): void => {};
    process.on('SIGUSR2', keepAlive);
    let child: ChildProcess | null = null;
    let childExit: Promise<unknown> = Promise.resolve();
    const stopChild = (): Promise<unknown> => {
      child?.kill('SIGKILL');
      return childExit;
    };
    try {
      const summary = await runIo(
        function* (loop) {
          let signals = 0;
          const firstSignal = loop.createFuture<void>();
          addSignalHandler(loop, 'SIGUSR2', () => {
            signals++;
            if (!firstSignal.done()) firstSignal.setResult();
          });
          const sender = spawn(process.execPath, ['-e', SENDER, String(process.pid)], { stdio: 'ignore' });
          child = sender;
          childExit = new Promise((resolve) => sender.on('exit', resolve));
          yield* until(withWatchdog(Promise.resolve(firstSignal), 'the first signal from the child'));

          // A task that keeps the loop doing short timed waits.
          let ticking = true;
          let ticks = 0;
          const ticker = loop.createTask(function* () {
            while (ticking) {
              yield* sleep(1);
              ticks++;
            }
          });

          let rounds = 0;
          while (rounds < MIN_ROUNDS || signals < MIN_SIGNALS) {
            assert.ok(rounds < MAX_ROUNDS, `only ${signals} signals handled after ${rounds} rounds`);
            const [writeEnd, readEnd] = socketpair();
            try {
              const payload = randomBytes(PAYLOAD_BYTES);
              const sending = sockSendAll(loop, writeEnd, payload);
              const chunks: Buffer[] = [];
              let received = 0;
              while (received < payload.length) {
                const chunk = yield* sockRecv(loop, readEnd, 64 * 1024);
                assert.ok(chunk.length > 0, 'unexpected end of stream');
                chunks.push(chunk);
                received += chunk.length;
                // Let the writer fill the socket while this side sleeps:
                // the loop spends most of the transfer blocked in a timed
                // wait, where a signal interrupts it.
                yield* sleep(1);
              }
              yield* sending;
              assert.equal(received, payload.length);
              assert.ok(Buffer.concat(chunks).equals(payload), `round ${rounds}: the data arrived altered`);
            } finally {
              closeAll(writeEnd, readEnd);
            }
            rounds++;
          }

          ticking = false;
          yield* ticker;
          yield* until(stopChild());
          assert.equal(removeSignalHandler(loop, 'SIGUSR2'), true);
          // The loop goes on as usual afterwards.
          const after = loop.createFuture<string>();
          loop.callLater(1, () => after.setResult('still running'));
          return { rounds, signals, ticks, after: yield* after };
        },
        { mode },
      );
      assert.ok(summary.rounds >= MIN_ROUNDS && summary.signals >= MIN_SIGNALS && summary.ticks > 0, JSON.stringify(summary));
      assert.equal(summary.after, 'still running');
    } finally {
      await stopChild();
      process.removeListener('SIGUSR2', keepAlive);
    }
  });
}
