/**
 * eventide/testing: runInVirtualTime, assertLoopClean, leftovers, VirtualClock.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventLoop, sleep } from '../src/index.js';
import { VirtualClock, assertLoopClean, leftovers, runInVirtualTime } from '../src/testing.js';
import { Log } from './log.js';

const CLEAN = { tasks: [], ready: 0, timers: 0, readers: 0, writers: 0 };

test('runInVirtualTime runs main on a fresh virtual loop, returns its result and closes the loop', async () => {
  let seen: EventLoop | null = null;
  const result = await runInVirtualTime(function* (loop) {
    seen = loop;
    assert.equal(loop.isRunning(), true);
    yield* sleep(5000);
    return loop.time();
  });
  assert.equal(result, 5000);
  const loop = seen as EventLoop | null;
  assert.ok(loop instanceof EventLoop);
  assert.equal(loop.isClosed(), true);
});

test('runInVirtualTime passes options other than the clock to the loop', async () => {
  const debug = await runInVirtualTime(
    function* (loop) {
      return loop.getDebug();
    },
    { debug: true },
  );
  assert.equal(debug, true);
});

test("runInVirtualTime rethrows main's exception and closes the loop", async () => {
  let seen: EventLoop | null = null;
  const boom = new Error('main failed');
  await assert.rejects(
    runInVirtualTime(function* (loop) {
      seen = loop;
      yield* sleep(1);
      throw boom;
    }),
    (e) => e === boom,
  );
  assert.equal((seen as EventLoop | null)?.isClosed(), true);
});

test('runInVirtualTime fails, naming the leftover, when main leaves a timer scheduled', async () => {
  let seen: EventLoop | null = null;
  await assert.rejects(
    runInVirtualTime(function* (loop) {
      seen = loop;
      loop.callLater(1000, () => {});
      return 1;
    }),
    (e) => e instanceof Error && e.message === `loop left work behind: ${JSON.stringify({ ...CLEAN, timers: 1 })}`,
  );
  assert.equal((seen as EventLoop | null)?.isClosed(), true);
});

test('runInVirtualTime fails, naming the task, when main leaves a task pending', async () => {
  let label = '';
  await assert.rejects(
    runInVirtualTime(function* (loop) {
      const never = loop.createFuture<void>();
      const task = loop.createTask(
        function* () {
          yield* never;
        },
        { name: 'forgotten' },
      );
      yield* sleep(0);
      label = String(task);
    }),
    (e) => e instanceof Error && e.message === `loop left work behind: ${JSON.stringify({ ...CLEAN, tasks: [label] })}`,
  );
  assert.match(label, /^<Task #\d+ "forgotten" pending>$/);
});

test('runInVirtualTime passes when main stops the loop itself as it returns: the run leaves no stop of its own behind', async () => {
  const value = await runInVirtualTime(function* (loop) {
    yield* sleep(10);
    loop.stop(); // the run ends with this tick; runUntilComplete's own stop, queued by main's end, is withdrawn
    return 7;
  });
  assert.equal(value, 7);
});

test('runInVirtualTime fails when main leaves a callback queued', async () => {
  await assert.rejects(
    runInVirtualTime(function* (loop) {
      // Runs in the tick after main's last step (with main's done-callbacks,
      // as in asyncio), and queues itself again: one callback is left.
      const again = (): void => void loop.callSoon(again);
      loop.callSoon(again);
    }),
    (e) => e instanceof Error && e.message === `loop left work behind: ${JSON.stringify({ ...CLEAN, ready: 1 })}`,
  );
});

test('leftovers() counts tasks, ready callbacks and live timers precisely; cancelled timers do not count', () => {
  const loop = new EventLoop({ clock: 'virtual' });
  assert.deepEqual(leftovers(loop), CLEAN);
  const task = loop.createTask(function* () {
    yield* sleep(10);
  }, { name: 'sleeper' });
  loop.callSoon(() => {});
  const timer = loop.callLater(5, () => {});
  loop.callLater(6, () => {});
  assert.deepEqual(leftovers(loop), { ...CLEAN, tasks: [String(task)], ready: 2, timers: 2 });
  timer.cancel();
  assert.deepEqual(leftovers(loop), { ...CLEAN, tasks: [String(task)], ready: 2, timers: 1 });
  loop.runOnce(0); // the task's first step schedules its sleep timer
  assert.deepEqual(leftovers(loop), { ...CLEAN, tasks: [String(task)], ready: 0, timers: 2 });
  task.cancel();
  loop.runOnce(0);
  assert.deepEqual(leftovers(loop), { ...CLEAN, timers: 1 });
  assert.throws(() => assertLoopClean(loop), /loop left work behind/);
  assert.equal(loop.isClosed(), true, 'assertLoopClean closes the loop even when it throws');
});

test('assertLoopClean closes a clean loop without throwing', () => {
  const loop = new EventLoop({ clock: 'virtual' });
  const log = new Log();
  loop.callSoon(() => log.push('ran'));
  loop.runOnce(0);
  log.assert(['ran']);
  assertLoopClean(loop);
  assert.equal(loop.isClosed(), true);
});

test('VirtualClock moves only when told: advance(ms), skipTo(ms) never backwards, bad input refused', () => {
  const clock = new VirtualClock();
  assert.equal(clock.now(), 0);
  clock.advance(10);
  assert.equal(clock.now(), 10);
  clock.skipTo(5);
  assert.equal(clock.now(), 10);
  clock.skipTo(25.5);
  assert.equal(clock.now(), 25.5);
  assert.throws(() => clock.advance(-1), RangeError);
  assert.throws(() => clock.advance(Number.NaN), RangeError);
  assert.equal(clock.now(), 25.5);
  assert.equal(new VirtualClock(1000).now(), 1000);
});

test('a loop on a given VirtualClock reads time from it and jumps it to timers', async () => {
  const clock = new VirtualClock(100);
  const loop = new EventLoop({ clock });
  const log = new Log();
  loop.callLater(50, () => log.push(['timer', loop.time(), clock.now()]));
  clock.advance(10);
  assert.equal(loop.time(), 110);
  await loop.runUntilComplete(function* () {
    yield* sleep(100);
  });
  log.assert([['timer', 150, 150]]);
  assert.equal(loop.time(), 210);
  assertLoopClean(loop);
});
