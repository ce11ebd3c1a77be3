/**
 * DrainGate (drain-gate.ts): writer.drain()'s waits. Pinned: no wait while
 * not paused; a paused gate holds every waiter until resume() (all of
 * them, in order); lose(null) releases them, lose(error) fails them with
 * it; a wait that starts after lose() throws a ConnectionResetError.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { ConnectionResetError } from '../../src/io/errors.js';
import { DrainGate } from '../../src/io/drain-gate.js';
import { gather } from '../../src/tasks/gather.js';
import { sleep, type Coroutine } from '../../src/tasks/operation.js';
import { runInVirtualTime } from '../../src/testing.js';

function* outcome(op: Coroutine<void>, log: string[], name: string): Coroutine<void> {
  try {
    yield* op;
    log.push(`${name} resumed`);
  } catch (error) {
    log.push(`${name} failed: ${(error as Error).name}: ${(error as Error).message}`);
  }
}

test('not paused: wait() returns without yielding; paused: every waiter waits for resume(), in order', async () => {
  await runInVirtualTime(function* (loop) {
    const gate = new DrainGate(loop);
    const first = gate.wait();
    assert.deepEqual(first.next(), { value: undefined, done: true }, 'no yield when not paused');
    gate.pause();
    const log: string[] = [];
    const waiting = gather(loop.createTask(outcome(gate.wait(), log, 'a')), loop.createTask(outcome(gate.wait(), log, 'b')));
    yield* sleep(10);
    assert.deepEqual(log, [], 'paused: nobody goes on');
    gate.resume();
    yield* waiting;
    assert.deepEqual(log, ['a resumed', 'b resumed']);
  });
});

test('lose(null) releases the waiters, lose(error) fails them with it; later waits throw ConnectionResetError', async () => {
  await runInVirtualTime(function* (loop) {
    const released = new DrainGate(loop);
    released.pause();
    const log: string[] = [];
    const one = loop.createTask(outcome(released.wait(), log, 'one'));
    yield* sleep(1);
    released.lose(null);
    yield* one;
    const failed = new DrainGate(loop);
    failed.pause();
    const two = loop.createTask(outcome(failed.wait(), log, 'two'));
    yield* sleep(1);
    failed.lose(new Error('reset by peer'));
    yield* two;
    yield* outcome(failed.wait(), log, 'late');
    assert.deepEqual(log, ['one resumed', 'two failed: Error: reset by peer', 'late failed: ConnectionResetError: drain (connection lost) failed: ECONNRESET: connection reset by peer']);
    let late: unknown;
    try {
      yield* released.wait();
    } catch (error) {
      late = error;
    }
    assert.ok(late instanceof ConnectionResetError);
  });
});
