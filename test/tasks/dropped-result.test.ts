/**
 * dropped-result.ts: a task cancelled after the future it waits for
 * succeeded, before its next step, never takes the result; the future's
 * hook (onResultDropped) gets it then, and only then.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { CancelledError, EventLoop, gather, sleep } from '../../src/index.js';
import { onResultDropped } from '../../src/tasks/dropped-result.js';
import { runInVirtualTime } from '../../src/testing.js';

test('a waiter cancelled after the result came, before its step: the hook gets the result, once; the waiter is cancelled', async () => {
  const dropped: string[] = [];
  await runInVirtualTime(function* (loop) {
    const resource = onResultDropped(loop.createFuture<string>(), (value) => dropped.push(value));
    const waiter = loop.createTask(function* () {
      return yield* resource;
    });
    yield* sleep(0); // the waiter now waits on `resource`
    resource.setResult('connection 1');
    waiter.cancel(); // the wake-up is queued: too late to cancel `resource`
    yield* sleep(0);
    assert.equal(waiter.cancelled(), true);
    assert.deepEqual(dropped, ['connection 1']);
    // Taken again later, it is still there (the hook only closes what it holds).
    assert.equal(yield* resource, 'connection 1');
    assert.deepEqual(dropped, ['connection 1'], 'once');
  });
});

test('no hook call when the result is taken, when the waiter is cancelled first (the future is cancelled), or when the future failed', async () => {
  const dropped: unknown[] = [];
  await runInVirtualTime(function* (loop) {
    const taken = onResultDropped(loop.createFuture<number>(), (value) => dropped.push(value));
    const taker = loop.createTask(function* () {
      return yield* taken;
    });
    yield* sleep(0);
    taken.setResult(1);
    assert.equal(yield* taker, 1);

    const early = onResultDropped(loop.createFuture<number>(), (value) => dropped.push(value));
    const gaveUp = loop.createTask(function* () {
      return yield* early;
    });
    yield* sleep(0);
    gaveUp.cancel();
    yield* sleep(0);
    assert.equal(early.cancelled(), true, 'cancelling the waiter cancelled what it waited for');

    const failed = onResultDropped(loop.createFuture<number>(), (value) => dropped.push(value));
    const failing = loop.createTask(function* () {
      return yield* failed;
    });
    yield* sleep(0);
    failed.setException(new Error('refused'));
    failing.cancel();
    yield* sleep(0);
    assert.equal(failing.cancelled(), true);
    assert.throws(() => failed.result(), /refused/);
  });
  assert.deepEqual(dropped, []);
});

test('a hook that throws goes to the exception handler; the waiter is cancelled all the same', async () => {
  const loop = new EventLoop({ clock: 'virtual' });
  const reported: string[] = [];
  loop.setExceptionHandler((context) => reported.push(`${context.message}: ${(context.exception as Error).message}`));
  const resource = onResultDropped(loop.createFuture<string>(), () => {
    throw new Error('close failed');
  });
  const waiter = loop.createTask(function* () {
    return yield* resource;
  });
  await loop.runUntilComplete(function* () {
    yield* sleep(0);
    resource.setResult('x');
    waiter.cancel();
    yield* sleep(0);
  });
  await assert.rejects(Promise.resolve(waiter), CancelledError);
  assert.deepEqual(reported, ['closing a result dropped by a cancelled task failed: close failed']);
  loop.close();
});

test('a result someone else waits for or already took is not dropped: two tasks awaiting it, one cancelled; a task that took it before; gather', async () => {
  const dropped: string[] = [];
  await runInVirtualTime(function* (loop) {
    // Two tasks await the same future (a connection Task shared by two callers): the one still waiting gets it, open.
    const shared = onResultDropped(loop.createFuture<string>(), (value) => dropped.push(value));
    const first = loop.createTask(function* () {
      return yield* shared;
    });
    const second = loop.createTask(function* () {
      return yield* shared;
    });
    yield* sleep(0);
    shared.setResult('shared');
    first.cancel(); // its wake-up is queued, as the second's is
    yield* sleep(0);
    assert.equal(first.cancelled(), true);
    assert.equal(yield* second, 'shared');

    // A task took the result already (the future was done: no wait); a second waiter, woken by it, is cancelled.
    const taken = onResultDropped(loop.createFuture<string>(), (value) => dropped.push(value));
    const late = loop.createTask(function* () {
      return yield* taken;
    });
    yield* sleep(0);
    taken.setResult('taken');
    assert.equal(yield* taken, 'taken'); // this task holds it now
    late.cancel();
    yield* sleep(0);
    assert.equal(late.cancelled(), true);

    // gather waits for it too: its caller gets it.
    const gathered = onResultDropped(loop.createFuture<string>(), (value) => dropped.push(value));
    const waiter = loop.createTask(function* () {
      return yield* gathered;
    });
    const all = gather(gathered);
    yield* sleep(0);
    gathered.setResult('gathered');
    waiter.cancel();
    assert.deepEqual(yield* all, ['gathered']);
    assert.equal(waiter.cancelled(), true);
  });
  assert.deepEqual(dropped, [], 'nothing another holder has is closed');
});

test('with an instrument watching wake-ups (its probe waits on the future too), a dropped result is still dropped: the probe is not a holder', async () => {
  const dropped: string[] = [];
  const loop = new EventLoop({ clock: 'virtual' });
  const woken: string[] = [];
  loop.addInstrument({ taskScheduled: (task, cause) => void woken.push(`${task.name} ${cause.kind}`) });
  await loop.runUntilComplete(function* () {
    const resource = onResultDropped(loop.createFuture<string>(), (value) => dropped.push(value));
    const waiter = loop.createTask(
      function* () {
        return yield* resource;
      },
      { name: 'waiter' },
    );
    yield* sleep(0);
    resource.setResult('connection 1');
    waiter.cancel();
    yield* sleep(0);
    assert.equal(waiter.cancelled(), true);
  });
  loop.close();
  assert.ok(woken.includes('waiter future'), `the instrument saw the wake-up: ${woken.join(', ')}`);
  assert.deepEqual(dropped, ['connection 1']);
});
