/**
 * currentTask(): the task whose step is running, null everywhere else.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventLoop, currentTask, sleep, until } from '../../src/index.js';
import type { Task } from '../../src/index.js';
import { assertLoopClean, runInVirtualTime } from '../../src/testing.js';
import { Log } from '../log.js';

test('currentTask() is null outside any task (asyncio test_tasks: test_current_task)', () => {
  assert.equal(currentTask(), null);
  const loop = new EventLoop({ clock: 'virtual' });
  const log = new Log();
  loop.callSoon(() => log.push(['callSoon', currentTask()]));
  loop.callLater(1, () => log.push(['callLater', currentTask()]));
  loop.runOnce(0);
  loop.runOnce();
  log.assert([
    ['callSoon', null],
    ['callLater', null],
  ]);
  assertLoopClean(loop);
});

test('currentTask() inside a step is that task, in every step of it (asyncio test_tasks: test_current_task)', async () => {
  const loop = new EventLoop({ clock: 'virtual' });
  const seen: (Task<unknown> | null)[] = [];
  const task = loop.createTask(function* () {
    seen.push(currentTask());
    yield* sleep(5);
    seen.push(currentTask());
    yield* until(Promise.resolve());
    seen.push(currentTask());
  });
  await loop.runUntilComplete(task);
  assert.deepEqual(seen, [task, task, task]);
  assert.equal(currentTask(), null);
  assertLoopClean(loop);
});

test('interleaving tasks each see themselves (asyncio test_tasks: test_current_task_with_interleaving_tasks)', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const f1 = loop.createFuture<void>();
    const f2 = loop.createFuture<void>();
    let t1: Task<void> | null = null;
    let t2: Task<void> | null = null;
    t1 = loop.createTask(
      function* () {
        log.push(['t1 start', currentTask() === t1]);
        yield* f1;
        log.push(['t1 resumed', currentTask() === t1]);
        f2.setResult();
      },
      { name: 't1' },
    );
    t2 = loop.createTask(
      function* () {
        log.push(['t2 start', currentTask() === t2]);
        f1.setResult();
        yield* f2;
        log.push(['t2 resumed', currentTask() === t2]);
      },
      { name: 't2' },
    );
    yield* t1;
    yield* t2;
    log.push(['main', currentTask()?.name]);
  });
  log.assert([
    ['t1 start', true],
    ['t2 start', true],
    ['t1 resumed', true],
    ['t2 resumed', true],
    ['main', 'main'],
  ]);
});

test("currentTask() is null in a task's done-callbacks and after a step that threw", async () => {
  const loop = new EventLoop({ clock: 'virtual' });
  const log = new Log();
  const failing = loop.createTask(function* () {
    log.push(['in step', currentTask() === failing]);
    throw new Error('boom');
  });
  failing.addDoneCallback(() => log.push(['done-callback', currentTask()]));
  loop.callSoon(() => log.push(['next callback', currentTask()]));
  await assert.rejects(loop.runUntilComplete(failing), /boom/);
  loop.runOnce(0);
  log.assert([
    ['in step', true],
    ['next callback', null],
    ['done-callback', null],
  ]);
  assertLoopClean(loop);
});

test('currentTask() is null in promise continuations that run between ticks', async () => {
  const log = new Log();
  await runInVirtualTime(function* () {
    const side = (async () => {
      await null;
      log.push(['async continuation', currentTask()]);
    })();
    log.push(['task', currentTask()?.name]);
    yield* until(side);
  });
  log.assert([
    ['task', 'main'],
    ['async continuation', null],
  ]);
});
