/**
 * Contract: the public names the open issues promise (4 priorities and
 * the Prioritized Task Scheduling API, 5 instrumentation, 6 guest mode),
 * through `import ... from 'eventide'`, each with one behaviour the issue
 * text states. Virtual time, except the guest-mode driver, whose fake host
 * uses Node's own setImmediate / setTimeout.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  EventLoop,
  GuestDriver,
  HOOK_NAMES,
  Lock,
  TaskController,
  TaskSignal,
  captureCallGraph,
  currentTask,
  formatTaskTree,
  run,
  scheduler,
  sleep,
  until,
  type ExceptionContext,
  type GuestHost,
  type Instrument,
} from 'eventide';
import { fromEvent, onEvent } from 'eventide/browser';
import { assertLoopClean, runInVirtualTime } from 'eventide/testing';
import { Log } from '../log.js';

// --------------------------------------------------------- issue 4: priorities

test('issue 4: callSoon / callLater / callAt / addDoneCallback and callSoonThreadsafe all take {priority}', () => {
  const loop = new EventLoop({ clock: 'virtual' });
  const log = new Log();
  loop.callSoon(() => log.push('normal'));
  loop.callSoonThreadsafe(() => log.push('critical (threadsafe)'), { priority: 'critical' });
  const future = loop.createFuture<void>();
  future.addDoneCallback(() => log.push('high (done callback)'), { priority: 'high' });
  future.setResult();
  loop.runOnce(0);
  log.assert(['critical (threadsafe)', 'high (done callback)', 'normal']);
  assertLoopClean(loop);
});

test('issue 4: {deadlineMs} orders a lane earliest-deadline-first', () => {
  const loop = new EventLoop({ clock: 'virtual' });
  const log = new Log();
  loop.callSoon(() => log.push('no deadline'));
  loop.callSoon(() => log.push('deadline 50'), { deadlineMs: 50 });
  loop.callSoon(() => log.push('deadline 10'), { deadlineMs: 10 });
  loop.runOnce(0);
  log.assert(['deadline 10', 'deadline 50', 'no deadline']);
  assertLoopClean(loop);
});

test('issue 4: an idle callback still runs under a permanent critical load (starvation bound)', () => {
  const loop = new EventLoop({ clock: 'virtual' });
  let ticks = 0;
  let idleRanAtTick = -1;
  let stop = false;
  const flood = (): void => {
    ticks++;
    if (!stop) loop.callSoon(flood, { priority: 'critical' });
  };
  loop.callSoon(flood, { priority: 'critical' });
  loop.callSoon(() => (idleRanAtTick = ticks), { priority: 'idle' });
  for (let i = 0; i < 100 && idleRanAtTick < 0; i++) loop.runOnce(0);
  stop = true;
  loop.runOnce(0);
  assert.ok(idleRanAtTick > 0, 'the idle callback ran');
  assert.ok(idleRanAtTick <= 20, `within the bound (ran after ${idleRanAtTick} critical ticks)`);
  assertLoopClean(loop);
});

test('issue 4: priority inheritance — a low task holding a Lock a critical task waits for runs at critical until it releases', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const lock = new Lock();
    const low = loop.createTask(function* () {
      yield* lock.acquire();
      yield* sleep(10);
      log.push(['low holds, effective', currentTask()!.effectivePriority]);
      lock.release();
    }, { priority: 'low' });
    yield* sleep(1);
    const critical = loop.createTask(function* () {
      yield* lock.acquire();
      lock.release();
    }, { priority: 'critical' });
    yield* critical;
    yield* low;
    log.push(['after release', low.effectivePriority]);
  });
  log.assert([
    ['low holds, effective', 'critical'],
    ['after release', 'low'],
  ]);
});

test("issue 4: scheduler.postTask orders 'user-blocking' before 'user-visible' (default) before 'background'; TaskController aborts and setPriority fires prioritychange", async () => {
  const log = new Log();
  await run(
    function* () {
      const posted = [
        scheduler.postTask(() => log.push('background'), { priority: 'background' }),
        scheduler.postTask(() => log.push('user-visible')),
        scheduler.postTask(() => log.push('user-blocking'), { priority: 'user-blocking' }),
      ];
      yield* until(Promise.all(posted));

      const controller = new TaskController({ priority: 'background' });
      assert.ok(controller.signal instanceof TaskSignal);
      const aborted = scheduler.postTask(() => log.push('never'), { signal: controller.signal });
      controller.abort('why');
      try {
        yield* until(aborted);
      } catch (reason) {
        log.push(['aborted with', reason]);
      }

      const changing = new TaskController();
      changing.signal.addEventListener('prioritychange', (event) => {
        log.push(['prioritychange', (event as Event & { previousPriority: string }).previousPriority, changing.signal.priority]);
      });
      changing.setPriority('background');

      const start = currentTask()!.loop.time();
      const value = yield* until(scheduler.postTask(() => 42, { delay: 10 }));
      log.push([value, currentTask()!.loop.time() - start >= 10]);
      yield* until(scheduler.yield());
    },
    { clock: 'virtual' },
  );
  log.assert(['user-blocking', 'user-visible', 'background', ['aborted with', 'why'], ['prioritychange', 'user-visible', 'background'], [42, true]]);
});

// ---------------------------------------------------- issue 5: instrumentation

test('issue 5: HOOK_NAMES lists every hook the issue names', () => {
  for (const name of ['beforeRun', 'afterRun', 'taskSpawned', 'taskScheduled', 'beforeTaskStep', 'afterTaskStep', 'taskExited', 'beforeCallback', 'afterCallback', 'beforeIoWait', 'afterIoWait', 'cancelRequested']) {
    assert.ok((HOOK_NAMES as readonly string[]).includes(name), name);
  }
});

test('issue 5: loop.addInstrument(i) sees a known program in order; removeInstrument(i) returns true, then false', async () => {
  const loop = new EventLoop({ clock: 'virtual' });
  const seen: string[] = [];
  const instrument: Instrument = {
    taskSpawned: (task) => void seen.push(`taskSpawned ${task.name}`),
    beforeTaskStep: (task) => void seen.push(`beforeTaskStep ${task.name}`),
    afterTaskStep: (task) => void seen.push(`afterTaskStep ${task.name}`),
    taskExited: (task) => void seen.push(`taskExited ${task.name}`),
    beforeRun: () => void seen.push('beforeRun'),
    afterRun: () => void seen.push('afterRun'),
  };
  loop.addInstrument(instrument);
  await loop.runUntilComplete(
    loop.createTask(function* () {
      yield* sleep(1);
    }, { name: 't' }),
  );
  assert.equal(loop.removeInstrument(instrument), true);
  assert.equal(loop.removeInstrument(instrument), false);
  assert.deepEqual(seen, ['taskSpawned t', 'beforeRun', 'beforeTaskStep t', 'afterTaskStep t', 'beforeTaskStep t', 'taskExited t', 'afterTaskStep t', 'afterRun']);
  assertLoopClean(loop);
});

test('issue 5: cancelRequested(task, {source, reason, byTask}) names who cancelled', async () => {
  const loop = new EventLoop({ clock: 'virtual' });
  const seen: unknown[] = [];
  loop.addInstrument({
    cancelRequested: (task, origin) => void seen.push([task.name, origin.source, origin.reason, origin.byTask?.name ?? null]),
  });
  const victim = loop.createTask(function* () {
    yield* sleep(100);
  }, { name: 'victim' });
  await loop.runUntilComplete(
    loop.createTask(function* () {
      yield* sleep(1);
      victim.cancel('enough');
      try {
        yield* victim;
      } catch {
        // cancelled
      }
    }, { name: 'canceller' }),
  );
  assert.deepEqual(seen, [['victim', 'task.cancel', 'enough', 'canceller']]);
  assertLoopClean(loop);
});

test('issue 5: an instrument that throws is removed and reported; the loop goes on', async () => {
  const loop = new EventLoop({ clock: 'virtual' });
  const reports: ExceptionContext[] = [];
  loop.setExceptionHandler((context) => void reports.push(context));
  const bad: Instrument = {
    beforeCallback: () => {
      throw new Error('bad instrument');
    },
  };
  loop.addInstrument(bad);
  const log = new Log();
  loop.callSoon(() => log.push('a'));
  loop.callSoon(() => log.push('b'));
  loop.runOnce(0);
  log.assert(['a', 'b']);
  assert.equal(loop.removeInstrument(bad), false, 'already removed');
  assert.equal(reports.length, 1);
  assert.equal((reports[0]!.exception as Error).message, 'bad instrument');
  assertLoopClean(loop);
});

test('issue 5: loop.allTasks(), captureCallGraph(task) and formatTaskTree(loop) show who waits on whom', async () => {
  const loop = new EventLoop({ clock: 'virtual' });
  const leaf = loop.createTask(function* () {
    yield* sleep(100);
  }, { name: 'leaf' });
  const parent = loop.createTask(function* () {
    yield* leaf;
  }, { name: 'parent' });
  loop.runOnce(0);
  assert.deepEqual(
    loop.allTasks().map((t) => t.name),
    ['leaf', 'parent'],
  );
  const graph = captureCallGraph(leaf);
  assert.ok(graph !== null);
  const tree = formatTaskTree(loop);
  assert.match(tree, /parent/);
  assert.match(tree, /leaf/);
  assert.ok(tree.indexOf('parent') < tree.indexOf('leaf'), `parent above leaf:\n${tree}`);
  await loop.runUntilComplete(parent);
  assertLoopClean(loop);
});

test(
  'issue 5: each task exposes id, name, priority, state, steps and what it waits on as properties',
  async () => {
    const loop = new EventLoop({ clock: 'virtual' });
    const task = loop.createTask(function* () {
      yield* sleep(10);
    }, { name: 'sleeper' });
    loop.runOnce(0);
    const info = task as unknown as Record<string, unknown>;
    assert.deepEqual(
      { id: typeof info['id'], name: info['name'], priority: info['priority'], steps: info['steps'], state: info['state'] },
      { id: 'number', name: 'sleeper', priority: 'normal', steps: 1, state: 'waiting' },
    );
    await loop.runUntilComplete(task);
    assertLoopClean(loop);
  },
);

// ------------------------------------------------------ issue 6: guest mode

test('issue 6: a GuestDriver runs the loop inside a host that can only call back soon and later (tasks, timers, promises)', async () => {
  const loop = new EventLoop();
  const requests: string[] = [];
  const host: GuestHost = {
    callSoon: (callback) => {
      requests.push('soon');
      setImmediate(callback);
    },
    callLater: (delayMs, callback) => {
      requests.push('later');
      const timer = setTimeout(callback, delayMs);
      return () => clearTimeout(timer);
    },
  };
  const driver = new GuestDriver(loop, host);
  const stopped = driver.start();
  const log = new Log();
  const task = loop.createTask(function* () {
    yield* sleep(5);
    log.push('slept');
    log.push(yield* until(Promise.resolve('promise')));
    loop.stop();
  });
  await stopped;
  log.assert(['slept', 'promise']);
  assert.equal(task.done(), true);
  assert.ok(requests.includes('soon') && requests.includes('later'));
  assertLoopClean(loop);
});

test("issue 6: 'eventide/browser' DOM event sources work on any EventTarget: onEvent(target, type, handler, {priority}) runs the handler as a loop callback at that priority; fromEvent(target, type) is a stream a task reads with yield* next()", async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const target = new EventTarget();
    const stream = fromEvent<Event>(target, 'ping');
    const off = onEvent<Event>(target, 'ping', (event) => log.push(['handler', event.type]), { priority: 'high' });
    loop.callSoon(() => log.push('normal callback queued first'));
    target.dispatchEvent(new Event('ping'));
    log.push('dispatched (handler not run inline)');
    const { done, value } = yield* stream.next();
    log.push(['stream', done, value?.type]);
    off();
    stream.close();
  });
  log.assert([
    'dispatched (handler not run inline)',
    ['handler', 'ping'],
    'normal callback queued first',
    ['stream', false, 'ping'],
  ]);
});
