/**
 * Instrument hooks (core/instruments.ts and its call sites in the loop and
 * in Task): the exact order of hook calls for known programs, who each
 * wake-up names as its cause, what happens to an instrument that throws,
 * and that removing one stops its calls.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventLoop, Future, Task, sleep, until, type Handle } from '../../src/index.js';
import type { ExceptionContext } from '../../src/index.js';
import type { VirtualClock } from '../../src/core/clock.js';
import type { Selector, ReadyCallback } from '../../src/core/selector.js';
import type { CancelOrigin, HookName, Instrument, SpawnInfo, WakeCause } from '../../src/inspect/instrument.js';
import { HOOK_NAMES } from '../../src/inspect/instrument.js';
import { assertLoopClean } from '../../src/testing.js';
import { Log } from '../log.js';

function newLoop(options: { debug?: boolean; selector?: Selector } = {}): EventLoop {
  return new EventLoop({ clock: 'virtual', ...options });
}

function taskName(task: Task<unknown> | null): string {
  return task === null ? '-' : task.name;
}

function futureName(future: Future<unknown>): string {
  return future instanceof Task ? future.name : (future.label ?? `future #${future.id}`);
}

/** A short, stable name for a handle: the task step it runs, a wake-up, or the callback's name. */
function handleName(handle: Handle | null): string {
  if (handle === null) return '-';
  if (handle.arg instanceof Task) return `step ${handle.arg.name}`;
  if (handle.arg instanceof Future) return `wake on ${futureName(handle.arg)}`;
  return handle.callback.name || 'anonymous';
}

function causeText(cause: WakeCause): string {
  switch (cause.kind) {
    case 'spawn':
      return `spawn by ${taskName(cause.byTask)}`;
    case 'future':
      return `future ${futureName(cause.future)} by ${taskName(cause.byTask)} in ${handleName(cause.byHandle)}`;
    case 'timer':
      return 'timer';
    case 'io':
      return `io fd ${cause.fd} ${cause.event} (${futureName(cause.future)})`;
    case 'promise':
      return `promise (${futureName(cause.future)})`;
    case 'cancel':
      return `cancel by ${taskName(cause.byTask)}`;
    case 'error':
      return `error ${String(cause.error)}`;
  }
}

/** Logs every hook call as a short string (Trio's TaskRecorder). */
class Recorder implements Instrument {
  readonly log: Log;
  readonly only: ReadonlySet<string> | null;

  constructor(log: Log, only: readonly HookName[] | null = null) {
    this.log = log;
    this.only = only === null ? null : new Set(only);
  }

  #push(hook: HookName, text: string): void {
    if (this.only === null || this.only.has(hook)) this.log.push(text);
  }

  beforeRun(): void {
    this.#push('beforeRun', 'beforeRun');
  }
  afterRun(): void {
    this.#push('afterRun', 'afterRun');
  }
  taskSpawned(task: Task<unknown>, info: SpawnInfo): void {
    this.#push('taskSpawned', `spawned ${task.name} by ${taskName(info.byTask)}`);
  }
  taskScheduled(task: Task<unknown>, cause: WakeCause): void {
    this.#push('taskScheduled', `scheduled ${task.name} <- ${causeText(cause)}`);
  }
  beforeTaskStep(task: Task<unknown>): void {
    this.#push('beforeTaskStep', `step ${task.name}`);
  }
  afterTaskStep(task: Task<unknown>): void {
    this.#push('afterTaskStep', `/step ${task.name}`);
  }
  taskExited(task: Task<unknown>): void {
    this.#push('taskExited', `exit ${task.name}`);
  }
  beforeCallback(handle: Handle): void {
    this.#push('beforeCallback', `cb ${handleName(handle)}`);
  }
  afterCallback(handle: Handle): void {
    this.#push('afterCallback', `/cb ${handleName(handle)}`);
  }
  beforeIoWait(timeoutMs: number): void {
    this.#push('beforeIoWait', `io wait ${timeoutMs}`);
  }
  afterIoWait(eventCount: number): void {
    this.#push('afterIoWait', `/io wait ${eventCount}`);
  }
  beforeTimers(pendingTimers: number): void {
    this.#push('beforeTimers', `timers ${pendingTimers}`);
  }
  afterTimers(dueCount: number): void {
    this.#push('afterTimers', `/timers ${dueCount}`);
  }
  cancelRequested(task: Task<unknown>, origin: CancelOrigin): void {
    const via = origin.via === null ? '' : ` via ${origin.via.name}`;
    this.#push('cancelRequested', `cancel ${task.name} (${origin.source}: ${String(origin.reason)}) by ${taskName(origin.byTask)}${via}`);
  }
}

// --------------------------------------------------------------- hook order

test('hook order for a known program: spawn, steps, callbacks, I/O waits, timers, and who woke each task (Trio test_instruments)', async () => {
  const loop = newLoop();
  const log = new Log();
  loop.addInstrument(new Recorder(log));
  const main = loop.createTask(
    function* () {
      const fut = loop.createFuture<number>();
      fut.label = 'fut';
      const child = loop.createTask(
        function* () {
          yield* sleep(5);
          fut.setResult(1);
          return 2;
        },
        { name: 'child' },
      );
      const v = yield* fut;
      const r = yield* child;
      return v + r;
    },
    { name: 'main' },
  );
  assert.equal(await loop.runUntilComplete(main), 3);
  log.assert([
    'spawned main by -',
    'scheduled main <- spawn by -',
    'beforeRun',
    // tick 1: main's first step creates child and waits on fut
    'io wait 0',
    '/io wait 0',
    'cb step main',
    'step main',
    'spawned child by main',
    'scheduled child <- spawn by main',
    '/step main',
    '/cb step main',
    // tick 2: child sleeps
    'io wait 0',
    '/io wait 0',
    'cb step child',
    'step child',
    '/step child',
    '/cb step child',
    // tick 3: virtual time jumps to 5; the timer phase moves child's sleep
    // (the only timer) to the ready queue; child settles fut and exits
    'io wait 0',
    '/io wait 0',
    'timers 1',
    'scheduled child <- timer',
    '/timers 1',
    'cb step child',
    'step child',
    'scheduled main <- future fut by child in step child',
    'exit child',
    '/step child',
    '/cb step child',
    // tick 4: main resumes
    'io wait 0',
    '/io wait 0',
    // the future's settling queued main's own step (a wake-up is the task's step handle)
    'cb step main',
    'step main',
    // `yield* child` on a finished task does not suspend: main returns in this step
    'exit main',
    '/step main',
    '/cb step main',
    // tick 5: what main's completion made ready, runUntilComplete's stop
    // among it (as asyncio's _run_until_complete_cb); the run ends after this tick
    'io wait 0',
    '/io wait 0',
    'cb stop',
    '/cb stop',
    'afterRun',
  ]);
  assert.equal(loop.time(), 5);
  assertLoopClean(loop);
});

test('beforeTimers / afterTimers wrap the timer phase of ticks that have timers, with the live and the due count; the preemption poll inside a long batch fires neither', () => {
  const loop = new EventLoop({ clock: 'virtual', sliceMs: 1 });
  const clock = loop.clock as VirtualClock;
  const log = new Log();
  loop.addInstrument(new Recorder(log, ['beforeIoWait', 'beforeTimers', 'afterTimers', 'beforeCallback']));
  loop.runOnce(0);
  log.assert(['io wait 0']); // no timers: no timer phase
  loop.callLater(1, function high() {}, { priority: 'high' });
  loop.callLater(10, function late() {});
  loop.callLater(10, function dropped() {}).cancel();
  loop.callSoon(function slow() {
    clock.advance(2); // the slice is used up: the batch polls I/O and timers
  });
  loop.callSoon(function next() {});
  loop.runOnce(0);
  // At 0 nothing is due (2 live timers). `high` comes due in the batch's
  // preemption poll and runs there, with no timer hooks around it.
  log.assert(['io wait 0', 'timers 2', '/timers 0', 'cb slow', 'cb high', 'cb next']);
  clock.advance(8);
  loop.runOnce(0);
  log.assert(['io wait 0', 'timers 1', '/timers 1', 'cb late']); // the cancelled one is dropped, not counted
  loop.runOnce(0);
  log.assert(['io wait 0']); // the heap is empty again
  assertLoopClean(loop);
});

test('taskScheduled names the task that finished as the waker of the task awaiting it, and the callback that settled a plain future', async () => {
  const loop = newLoop();
  const log = new Log();
  loop.addInstrument(new Recorder(log, ['taskScheduled']));
  await loop.runUntilComplete(
    loop.createTask(
      function* () {
        const worker = loop.createTask(
          function* () {
            yield* sleep(3);
          },
          { name: 'worker' },
        );
        yield* worker;
        const fut = loop.createFuture<string>();
        fut.label = 'poked';
        loop.callLater(2, function poke() {
          fut.setResult('x');
        });
        yield* fut;
      },
      { name: 'main' },
    ),
  );
  log.assert([
    'scheduled main <- spawn by -',
    'scheduled worker <- spawn by main',
    'scheduled worker <- timer',
    'scheduled main <- future worker by worker in step worker',
    'scheduled main <- future poked by - in poke',
  ]);
  assertLoopClean(loop);
});

test('taskScheduled reports a wake-up by a native promise as kind "promise"', async () => {
  const loop = newLoop();
  const log = new Log();
  loop.addInstrument(new Recorder(log, ['taskScheduled']));
  const value = await loop.runUntilComplete(
    loop.createTask(
      function* () {
        return yield* until(Promise.resolve(7));
      },
      { name: 'main' },
    ),
  );
  assert.equal(value, 7);
  log.assert(['scheduled main <- spawn by -', 'scheduled main <- promise (promise)']);
  assertLoopClean(loop);
});

/** A selector with one fake fd: `fire()` makes the next select report it readable. */
class FakeFdSelector implements Selector {
  readonly name = 'FakeFdSelector';
  readonly supportsFds = true;
  fdCount = 0;
  #ready = false;
  register(): void {
    this.fdCount++;
  }
  modify(): void {}
  unregister(): void {
    this.fdCount--;
  }
  fire(): void {
    this.#ready = true;
  }
  select(_timeoutMs: number, onReady: ReadyCallback): number {
    if (!this.#ready) return 0;
    this.#ready = false;
    onReady(7, 1);
    return 1;
  }
  wakeup(): void {}
  close(): void {}
}

test('taskScheduled reports a wake-up by an fd reader as kind "io", and afterIoWait counts the ready fds', () => {
  const selector = new FakeFdSelector();
  const loop = newLoop({ selector });
  const log = new Log();
  loop.addInstrument(new Recorder(log, ['taskScheduled', 'beforeIoWait', 'afterIoWait']));
  const readable = loop.createFuture<void>();
  readable.label = 'fd 7 readable';
  loop.addReader(7, function onReadable() {
    // Removed before settling: the wake cause still knows the fd.
    loop.removeReader(7);
    readable.setResult();
  });
  const task = loop.createTask(
    function* () {
      yield* readable;
    },
    { name: 'reader' },
  );
  loop.runOnce(0);
  selector.fire();
  loop.runOnce(0);
  loop.runOnce(0);
  assert.equal(task.done(), true);
  log.assert([
    'scheduled reader <- spawn by -',
    'io wait 0',
    '/io wait 0',
    'io wait 0',
    '/io wait 1',
    'scheduled reader <- io fd 7 read (fd 7 readable)',
    'io wait 0',
    '/io wait 0',
  ]);
  assertLoopClean(loop);
});

test('an fd reader that removes itself before settling is still named by its function in the io cause and the callback hooks', () => {
  const selector = new FakeFdSelector();
  const loop = newLoop({ selector });
  const log = new Log();
  loop.addInstrument({
    taskScheduled: (_task: Task<unknown>, cause: WakeCause) => {
      if (cause.kind === 'io') log.push(`io cause ${cause.handle.callback.name}`);
    },
    afterCallback: (handle: Handle) => {
      if (!(handle.arg instanceof Task) && !(handle.arg instanceof Future)) log.push(`after ${handle.callback.name}`);
    },
  });
  const readable = loop.createFuture<void>();
  loop.addReader(7, function onPipeReadable() {
    loop.removeReader(7); // a one-shot reader: cancels its own handle
    readable.setResult();
  });
  const task = loop.createTask(function* () {
    yield* readable;
  });
  loop.runOnce(0);
  selector.fire();
  loop.runOnce(0);
  loop.runOnce(0);
  assert.equal(task.done(), true);
  log.assert(['io cause onPipeReadable', 'after onPipeReadable']);
  assertLoopClean(loop);
});

test('an instrument attached while a task already waits still reports that wake-up', async () => {
  const loop = newLoop();
  const log = new Log();
  const fut = loop.createFuture<void>();
  fut.label = 'gate';
  const task = loop.createTask(
    function* () {
      yield* fut;
    },
    { name: 'waiter' },
  );
  loop.runOnce(0); // the task now waits on fut
  loop.addInstrument(new Recorder(log, ['taskScheduled']));
  fut.setResult();
  loop.runOnce(0);
  assert.equal(task.done(), true);
  log.assert(['scheduled waiter <- promise (gate)']);
  assertLoopClean(loop);
});

// ----------------------------------------------------------- cancellation

test('cancelRequested records source, reason and the cancelling task; a propagated cancel names the task it came through', async () => {
  const loop = newLoop();
  const log = new Log();
  loop.addInstrument(new Recorder(log, ['cancelRequested', 'taskScheduled']));
  await loop.runUntilComplete(
    loop.createTask(
      function* () {
        const inner = loop.createTask(
          function* () {
            yield* sleep(100);
          },
          { name: 'inner' },
        );
        const outer = loop.createTask(
          function* () {
            yield* inner;
          },
          { name: 'outer' },
        );
        yield* sleep(1);
        outer.cancel('stop now');
        yield* sleep(1);
        assert.equal(outer.cancelled(), true);
        assert.equal(inner.cancelled(), true);
        assert.deepEqual(
          [inner.cancelOrigin?.source, inner.cancelOrigin?.reason, inner.cancelOrigin?.byTask?.name, inner.cancelOrigin?.via?.name],
          ['propagated', 'stop now', 'main', 'outer'],
        );
        assert.equal(inner.cancelOrigin?.atMs, 1);
      },
      { name: 'main' },
    ),
  );
  log.assert([
    'scheduled main <- spawn by -',
    'scheduled inner <- spawn by main',
    'scheduled outer <- spawn by main',
    'scheduled main <- timer',
    'cancel outer (task.cancel: stop now) by main',
    'cancel inner (propagated: stop now) by main via outer',
    'scheduled inner <- cancel by main',
    'scheduled outer <- future inner by inner in step inner',
    'scheduled main <- timer',
  ]);
  assertLoopClean(loop);
});

test('cancel(msg, {source}) is recorded; a bad options argument is a TypeError and changes nothing', () => {
  const loop = newLoop();
  const task = loop.createTask(function* () {
    yield* sleep(10);
  });
  loop.runOnce(0);
  assert.throws(() => task.cancel('x', { source: 5 as unknown as string }), { name: 'TypeError', message: /options\.source must be a string, got 5/ });
  assert.throws(() => task.cancel('x', 'timeout' as unknown as { source: string }), { name: 'TypeError', message: /options must be an object/ });
  assert.equal(task.cancelling(), 0);
  assert.equal(task.cancelOrigin, null);
  assert.equal(task.cancel('deadline', { source: 'timeout' }), true);
  assert.equal(task.cancel('again'), true);
  // The first outstanding request is the one kept.
  const origin = originOf(task);
  assert.deepEqual([origin?.source, origin?.reason, origin?.byTask, origin?.via], ['timeout', 'deadline', null, null]);
  assert.equal(Object.isFrozen(origin), true);
  loop.runOnce(0);
  assert.equal(task.cancelled(), true);
  assertLoopClean(loop);
});

test('uncancel() down to zero forgets the cancel origin', () => {
  const loop = newLoop();
  const task = loop.createTask(function* () {
    try {
      yield* sleep(10);
    } catch {
      // absorbed
    }
  });
  loop.runOnce(0);
  task.cancel('once');
  assert.equal(task.cancelOrigin?.reason, 'once');
  task.uncancel();
  assert.equal(task.cancelOrigin, null);
  loop.runOnce(0);
  assert.equal(task.done() && !task.cancelled(), true);
  assertLoopClean(loop);
});

/** Read through a function, so a test can re-read it after an assertion narrowed it. */
function originOf(task: Task<unknown>): CancelOrigin | null {
  return task.cancelOrigin;
}

// ------------------------------------------------------ failure and removal

test('an instrument that throws is removed and reported; the loop and the other instruments go on', async () => {
  const loop = newLoop();
  const log = new Log();
  const reports: ExceptionContext[] = [];
  loop.setExceptionHandler((context) => reports.push(context));
  const boom = new Error('boom');
  const bad: Instrument & { name: string } = {
    name: 'bad',
    beforeTaskStep(task) {
      log.push(`bad sees ${task.name}`);
      throw boom;
    },
    afterTaskStep(task) {
      log.push(`bad after ${task.name}`);
    },
  };
  loop.addInstrument(bad);
  loop.addInstrument(new Recorder(log, ['beforeTaskStep']));
  const result = await loop.runUntilComplete(
    loop.createTask(
      function* () {
        yield* sleep(1);
        return 'ok';
      },
      { name: 'main' },
    ),
  );
  assert.equal(result, 'ok');
  log.assert(['bad sees main', 'step main', 'step main']);
  assert.equal(reports.length, 1);
  assert.equal(reports[0]?.exception, boom);
  assert.equal(reports[0]?.instrument, bad);
  assert.equal(reports[0]?.hook, 'beforeTaskStep');
  assert.match(String(reports[0]?.message), /Instrument "bad" raised an exception in beforeTaskStep; it has been removed/);
  assert.equal(loop.instruments().includes(bad), false);
  assert.equal(loop.instruments().length, 1);
  assertLoopClean(loop);
});

test('removeInstrument stops further calls and returns whether it was attached; adding twice attaches once', () => {
  const loop = newLoop();
  const log = new Log();
  const recorder = new Recorder(log, ['beforeCallback']);
  loop.addInstrument(recorder);
  loop.addInstrument(recorder);
  assert.equal(loop.instruments().length, 1);
  loop.callSoon(function first() {});
  loop.runOnce(0);
  log.assert(['cb first']);
  assert.equal(loop.removeInstrument(recorder), true);
  assert.equal(loop.removeInstrument(recorder), false);
  loop.callSoon(function second() {});
  loop.runOnce(0);
  log.assertEmpty();
  assert.equal(loop.instruments().length, 0);
  assertLoopClean(loop);
});

test('an instrument may remove itself from inside a hook; the current dispatch still completes for the others', () => {
  const loop = newLoop();
  const log = new Log();
  const selfRemoving: Instrument = {
    beforeCallback() {
      log.push('once');
      loop.removeInstrument(selfRemoving);
    },
  };
  loop.addInstrument(selfRemoving);
  loop.addInstrument(new Recorder(log, ['beforeCallback']));
  loop.callSoon(function a() {});
  loop.callSoon(function b() {});
  loop.runOnce(0);
  log.assert(['once', 'cb a', 'cb b']);
  assertLoopClean(loop);
});

test('addInstrument refuses non-objects, objects with no hook, and hook names that are not functions', () => {
  const loop = newLoop();
  assert.throws(() => loop.addInstrument(null as unknown as Instrument), { name: 'TypeError', message: /instrument must be an object .* got null/ });
  assert.throws(() => loop.addInstrument(42 as unknown as Instrument), { name: 'TypeError', message: /got 42/ });
  assert.throws(() => loop.addInstrument({ beforeTaskSteps() {} } as unknown as Instrument), { name: 'TypeError', message: /has none of the hooks .*misspelled/ });
  assert.throws(() => loop.addInstrument({ afterRun: 'yes' } as unknown as Instrument), { name: 'TypeError', message: /instrument\.afterRun must be a function, got "yes"/ });
  assert.equal(loop.instruments().length, 0);
  assert.equal(HOOK_NAMES.length, 15);
  assertLoopClean(loop);
});

test('afterCallback gets the duration in debug mode and undefined otherwise', () => {
  for (const debug of [false, true]) {
    const loop = newLoop({ debug });
    const durations: unknown[] = [];
    loop.addInstrument({ afterCallback: (_handle: Handle, durationMs: number | undefined) => durations.push(typeof durationMs) });
    loop.callSoon(() => {});
    loop.runOnce(0);
    assert.deepEqual(durations, [debug ? 'number' : 'undefined']);
    assertLoopClean(loop);
  }
});

test('a bad yield wakes the task with kind "error"', () => {
  const loop = newLoop();
  const log = new Log();
  loop.addInstrument({
    taskScheduled: (task: Task<unknown>, cause: WakeCause) =>
      log.push(`${task.name} <- ${cause.kind}${cause.kind === 'error' ? ` ${(cause.error as Error).name}` : ''}`),
  });
  const task = loop.createTask(
    function* () {
      try {
        yield 42 as never;
      } catch (error) {
        return (error as Error).name;
      }
      return 'no error';
    },
    { name: 'bad' },
  );
  loop.runOnce(0);
  loop.runOnce(0);
  assert.equal(task.result(), 'TypeError');
  log.assert(['bad <- spawn', 'bad <- error TypeError']);
  assertLoopClean(loop);
});
