/**
 * TaskController, TaskSignal, TaskSignal.any and TaskPriorityChangeEvent
 * (tasks/task-signal.ts).
 *
 * Each test names the behaviour of the WICG scheduling specification or of
 * DOM's AbortSignal it pins, and the Web Platform Test that checks it in
 * browsers (wpt/scheduler/…, and wpt/dom/abort/resources/
 * abort-signal-any-tests.js, which task-signal-any-abort.tentative.any.js
 * runs against TaskSignal). Signals are synchronous, but the tests run on a
 * virtual-time loop like the rest of the suite and end with it clean.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TaskController, TaskPriorityChangeEvent, TaskSignal, TASK_PRIORITIES, scheduler, getRunningLoop } from '../../src/index.js';
import type { AbortSignalLike, Coroutine, EventLoop, TaskPriority } from '../../src/index.js';
import { runInVirtualTime } from '../../src/testing.js';
import { Log } from '../log.js';

/** A test body on a fresh virtual-time loop; the log must be fully asserted. */
function signalTest(name: string, body: (log: Log, loop: EventLoop) => void | Coroutine<void>): void {
  test(name, async () => {
    const log = new Log();
    await runInVirtualTime(function* (loop) {
      const result = body(log, loop);
      if (result !== undefined) yield* result;
    });
    log.assertEmpty();
  });
}

function isDomException(error: unknown, name: string): boolean {
  return error instanceof DOMException && error.name === name;
}

/** Both kinds of controller the abort tests run against (as abortSignalAnyTests does). */
const CONTROLLERS = [
  ['TaskController', () => new TaskController()],
  ['AbortController', () => new AbortController()],
] as const;

// ------------------------------------------------------- TaskController

signalTest("new TaskController() has a 'user-visible' signal; init.priority sets it; a bad priority or init throws a TypeError (spec: TaskController constructor, TaskControllerInit)", (log) => {
  assert.equal(new TaskController().signal.priority, 'user-visible');
  for (const priority of TASK_PRIORITIES) log.push(new TaskController({ priority }).signal.priority);
  log.assert(['user-blocking', 'user-visible', 'background']);
  assert.throws(() => new TaskController({ priority: 'urgent' as TaskPriority }), (e: unknown) => e instanceof TypeError && /init\.priority must be one of 'user-blocking', 'user-visible', 'background', got "urgent"/.test(e.message));
  assert.throws(() => new TaskController('background' as unknown as object), (e: unknown) => e instanceof TypeError && /init must be an object/.test(e.message));
  const controller = new TaskController();
  assert.equal(controller.signal, controller.signal);
  assert.ok(controller.signal instanceof TaskSignal);
  assert.ok(controller.signal instanceof EventTarget);
  assert.equal(Object.prototype.toString.call(controller.signal), '[object TaskSignal]');
});

signalTest('a TaskSignal cannot be constructed directly: TypeError "Illegal constructor" (spec: TaskSignal has no constructor)', () => {
  const Ctor = TaskSignal as unknown as new () => TaskSignal;
  assert.throws(() => new Ctor(), (e: unknown) => e instanceof TypeError && /Illegal constructor/.test(e.message));
});

signalTest('setPriority fires prioritychange with previousPriority; event.target.priority is the new one; onprioritychange sees it (WPT task-signal-onprioritychange.any.js)', (log) => {
  const controller = new TaskController({ priority: 'user-visible' });
  controller.signal.onprioritychange = function (event) {
    log.push([event.type, event.previousPriority, (event.target as TaskSignal).priority, this === controller.signal, event instanceof TaskPriorityChangeEvent]);
  };
  controller.setPriority('background');
  assert.equal(controller.signal.priority, 'background');
  log.assert([['prioritychange', 'user-visible', 'background', true, true]]);
});

signalTest('setPriority from inside a prioritychange handler throws a NotAllowedError DOMException and changes nothing (WPT task-controller-setPriority-recursive.any.js)', (log) => {
  const controller = new TaskController();
  controller.signal.onprioritychange = () => {
    log.push(`in handler: ${controller.signal.priority}`);
    try {
      controller.setPriority('user-blocking');
      log.push('no error');
    } catch (error) {
      log.push(isDomException(error, 'NotAllowedError') ? 'NotAllowedError' : `other error: ${String(error)}`);
    }
  };
  controller.setPriority('background');
  assert.equal(controller.signal.priority, 'background');
  log.assert(['in handler: background', 'NotAllowedError']);
  controller.setPriority('user-blocking'); // allowed again once the dispatch is over
  log.assert(['in handler: user-blocking', 'NotAllowedError']);
});

signalTest('setPriority to the current priority fires nothing (spec: signal priority change, step 2)', (log) => {
  const controller = new TaskController({ priority: 'background' });
  controller.signal.addEventListener('prioritychange', () => log.push('prioritychange'));
  controller.setPriority('background');
  log.assertEmpty();
  controller.setPriority('user-visible');
  controller.setPriority('user-visible');
  log.assert(['prioritychange']);
});

signalTest('setPriority with an invalid priority throws a TypeError naming it and leaves the priority as it was (spec: TaskPriority enum)', (log) => {
  const controller = new TaskController({ priority: 'background' });
  controller.signal.onprioritychange = () => log.push('prioritychange');
  assert.throws(() => controller.setPriority('idle' as TaskPriority), (e: unknown) => e instanceof TypeError && /setPriority: priority must be one of .* got "idle"/.test(e.message));
  assert.throws(() => controller.setPriority(undefined as unknown as TaskPriority), TypeError);
  assert.equal(controller.signal.priority, 'background');
});

signalTest('on-handlers keep the place of their first registration, are replaced in place and removed by null (HTML event handler attributes)', (log) => {
  const controller = new TaskController();
  const signal = controller.signal;
  signal.addEventListener('prioritychange', () => log.push('listener 1'));
  signal.onprioritychange = () => log.push('handler A');
  signal.addEventListener('prioritychange', () => log.push('listener 2'));
  controller.setPriority('background');
  log.assert(['listener 1', 'handler A', 'listener 2']);
  const handlerB = (): void => log.push('handler B');
  signal.onprioritychange = handlerB;
  assert.equal(signal.onprioritychange, handlerB);
  controller.setPriority('user-visible');
  log.assert(['listener 1', 'handler B', 'listener 2']);
  signal.onprioritychange = null;
  assert.equal(signal.onprioritychange, null);
  controller.setPriority('background');
  log.assert(['listener 1', 'listener 2']);
});

signalTest('TaskPriorityChangeEvent carries previousPriority; a missing or invalid one is a TypeError (spec: TaskPriorityChangeEventInit, required previousPriority)', () => {
  const event = new TaskPriorityChangeEvent('prioritychange', { previousPriority: 'background' });
  assert.equal(event.type, 'prioritychange');
  assert.equal(event.previousPriority, 'background');
  assert.ok(event instanceof Event);
  assert.throws(() => new TaskPriorityChangeEvent('prioritychange', {} as never), /init\.previousPriority must be one of/);
  assert.throws(() => new TaskPriorityChangeEvent('prioritychange', undefined as never), TypeError);
});

// -------------------------------------------------------------- abort

signalTest('abort(): aborted, an AbortError DOMException as reason, one abort event, onabort called; a second abort changes nothing; throwIfAborted throws the reason (DOM AbortController.abort)', (log) => {
  const controller = new TaskController();
  const signal = controller.signal;
  assert.equal(signal.aborted, false);
  assert.equal(signal.reason, undefined);
  signal.throwIfAborted();
  signal.onabort = (event) => log.push(`onabort ${event.type}`);
  signal.addEventListener('abort', () => log.push('listener'));
  controller.abort();
  log.assert(['onabort abort', 'listener']);
  assert.equal(signal.aborted, true);
  assert.ok(isDomException(signal.reason, 'AbortError'));
  const first = signal.reason;
  controller.abort(new Error('later'));
  log.assertEmpty();
  assert.equal(signal.reason, first);
  assert.throws(() => signal.throwIfAborted(), (e: unknown) => e === first);
});

signalTest('abort(reason) keeps the given reason, even null; abort(undefined) gives the default AbortError (DOM AbortController.abort)', () => {
  const reason = new Error('Custom Abort Error');
  const custom = new TaskController();
  custom.abort(reason);
  assert.equal(custom.signal.reason, reason);
  const nulled = new TaskController();
  nulled.abort(null);
  assert.equal(nulled.signal.reason, null);
  const undef = new TaskController();
  undef.abort(undefined);
  assert.ok(isDomException(undef.signal.reason, 'AbortError'));
});

signalTest('a TaskSignal has the AbortSignal surface eventide reads (aborted, reason, add/removeEventListener): a removed abort listener is not called (eventide: signals are duck-typed)', (log) => {
  const controller = new TaskController();
  const asSignal: AbortSignalLike = controller.signal;
  const listener = (): void => log.push('removed listener');
  asSignal.addEventListener('abort', listener);
  asSignal.addEventListener('abort', () => log.push('kept listener'));
  asSignal.removeEventListener('abort', listener);
  controller.abort('why');
  assert.equal(asSignal.aborted, true);
  assert.equal(asSignal.reason, 'why');
  log.assert(['kept listener']);
});

// ------------------------------------------------------- TaskSignal.any

signalTest("TaskSignal.any([]) is not aborted and has 'user-visible' priority (WPT task-signal-any-abort.tentative.any.js: works with an empty array of signals)", () => {
  const signal = TaskSignal.any([]);
  assert.equal(signal.aborted, false);
  assert.equal(signal.reason, undefined);
  assert.equal(signal.priority, 'user-visible');
  assert.ok(signal instanceof TaskSignal);
});

for (const [kind, makeController] of CONTROLLERS) {
  signalTest(`TaskSignal.any follows a single ${kind} signal: a new signal, aborted with the same reason, its own abort event fired (WPT task-signal-any-abort.tentative.any.js: follows a single signal)`, (log) => {
    const controller = makeController();
    const clone = TaskSignal.any([controller.signal]);
    assert.notEqual(clone as unknown, controller.signal as unknown);
    assert.equal(clone.aborted, false);
    assert.equal(clone.reason, undefined);
    clone.onabort = (event) => log.push(event.target === clone ? 'abort on clone' : 'wrong target');
    controller.abort('reason string');
    assert.equal(clone.aborted, true);
    assert.equal(clone.reason, 'reason string');
    log.assert(['abort on clone']);
  });

  signalTest(`TaskSignal.any follows each of several ${kind} signals, and composes with itself (WPT task-signal-any-abort.tentative.any.js: follows multiple signals, signals are composable)`, (log) => {
    for (let i = 0; i < 3; i++) {
      const controllers = [makeController(), makeController(), makeController()];
      const combined = TaskSignal.any(controllers.map((c) => c.signal));
      const composed = TaskSignal.any([TaskSignal.any([controllers[0]!.signal, controllers[1]!.signal]), controllers[2]!.signal]);
      combined.onabort = () => log.push(`combined ${i}`);
      composed.onabort = () => log.push(`composed ${i}`);
      controllers[i]!.abort();
      assert.ok(isDomException(combined.reason, 'AbortError'));
      assert.ok(isDomException(composed.reason, 'AbortError'));
      log.assert([`combined ${i}`, `composed ${i}`]);
    }
  });

  signalTest(`TaskSignal.any of an already-aborted ${kind} signal is born aborted with the first aborted signal's reason; duplicates are fine (WPT task-signal-any-abort.tentative.any.js: returns an aborted signal, same signal more than once, first instance of a duplicate)`, () => {
    const controllers = [makeController(), makeController(), makeController()];
    controllers[1]!.abort('reason 1');
    controllers[2]!.abort('reason 2');
    const signal = TaskSignal.any(controllers.map((c) => c.signal));
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, 'reason 1');
    const duplicate = TaskSignal.any([controllers[2]!.signal, controllers[1]!.signal, controllers[2]!.signal]);
    assert.equal(duplicate.reason, 'reason 2');
    const live = makeController();
    const twice = TaskSignal.any([live.signal, live.signal]);
    assert.equal(twice.aborted, false);
    live.abort('reason');
    assert.equal(twice.reason, 'reason');
  });

  signalTest(`TaskSignal.any through a chain of intermediate composites still follows the ${kind} (WPT task-signal-any-abort.tentative.any.js: works with intermediate signals)`, (log) => {
    const controller = makeController();
    let combined = TaskSignal.any([controller.signal]);
    for (let i = 0; i < 3; i++) combined = TaskSignal.any([combined]);
    combined.onabort = () => log.push('fired');
    assert.equal(combined.aborted, false);
    controller.abort('the reason');
    assert.equal(combined.reason, 'the reason');
    log.assert(['fired']);
  });

  signalTest(`a reentrant abort of a second ${kind} from the first one's abort handler aborts the composite only once, with the first reason (WPT task-signal-any-abort.tentative.any.js: reentrant aborts)`, (log) => {
    const controller1 = makeController();
    const controller2 = makeController();
    const signal = TaskSignal.any([controller1.signal, controller2.signal]);
    controller1.signal.addEventListener('abort', () => controller2.abort('reason 2'));
    signal.addEventListener('abort', () => log.push('composite aborted'));
    controller1.abort('reason 1');
    assert.equal(signal.reason, 'reason 1');
    log.assert(['composite aborted']);
  });
}

signalTest('abort events fire on the source first, then on its dependents in creation order, all of them flattened onto the source (WPT task-signal-any-abort.tentative.any.js: abort events fire in the right order, using TaskController)', (log) => {
  const controller = new TaskController();
  const signals: (TaskSignal | AbortSignalLike)[] = [controller.signal];
  signals.push(TaskSignal.any([controller.signal]));
  signals.push(TaskSignal.any([controller.signal]));
  signals.push(TaskSignal.any([signals[0] as TaskSignal]));
  signals.push(TaskSignal.any([signals[1] as TaskSignal]));
  signals.forEach((signal, i) => signal.addEventListener('abort', () => log.push(i)));
  controller.abort();
  log.assert([0, 1, 2, 3, 4]);
});

signalTest("dependents are marked aborted before any abort event fires: a composite created in the source's abort listener is born aborted (WPT task-signal-any-abort.tentative.any.js: marked aborted before abort events fire, using TaskController)", (log) => {
  const controller = new TaskController();
  const signal1 = TaskSignal.any([controller.signal]);
  const signal2 = TaskSignal.any([signal1]);
  controller.signal.addEventListener('abort', () => {
    const signal3 = TaskSignal.any([signal2]);
    log.push([controller.signal.aborted, signal1.aborted, signal2.aborted, signal3.aborted]);
  });
  controller.abort();
  log.assert([[true, true, true, true]]);
});

signalTest('TaskSignal.any takes its priority from init.priority: fixed when a TaskPriority, following a TaskSignal (and firing its own prioritychange after the source\'s) when given one (spec: TaskSignal.any, signal priority change step 8)', (log) => {
  assert.equal(TaskSignal.any([], { priority: 'background' }).priority, 'background');
  const controller = new TaskController({ priority: 'user-blocking' });
  const follower = TaskSignal.any([], { priority: controller.signal });
  const followerOfFollower = TaskSignal.any([], { priority: follower });
  const fixedSource = TaskSignal.any([], { priority: 'background' });
  const fixedFollower = TaskSignal.any([], { priority: fixedSource });
  assert.equal(follower.priority, 'user-blocking');
  controller.signal.onprioritychange = (e) => log.push(`source: ${e.previousPriority} -> ${controller.signal.priority}`);
  follower.onprioritychange = (e) => log.push(`follower: ${e.previousPriority} -> ${follower.priority}`);
  followerOfFollower.onprioritychange = (e) => log.push(`follower of follower: ${e.previousPriority} -> ${followerOfFollower.priority}`);
  controller.setPriority('background');
  log.assert(['source: user-blocking -> background', 'follower: user-blocking -> background', 'follower of follower: user-blocking -> background']);
  assert.equal(fixedFollower.priority, 'background');
});

signalTest('TaskSignal.any checks its arguments: signals must be an iterable of AbortSignals, init an object, init.priority a TaskPriority or TaskSignal (TypeErrors naming the argument)', () => {
  assert.throws(() => TaskSignal.any([{} as AbortSignal]), /signals\[0\] must be an AbortSignal or TaskSignal/);
  assert.throws(() => TaskSignal.any(null as unknown as []), /signals must be an iterable of AbortSignals/);
  assert.throws(() => TaskSignal.any([], 'background' as unknown as object), /init must be an object/);
  assert.throws(() => TaskSignal.any([], { priority: 'idle' as TaskPriority }), /init\.priority must be one of/);
  const fromIterable = TaskSignal.any(new Set([new TaskController().signal]));
  assert.equal(fromIterable.aborted, false);
});

signalTest('a TaskSignal.any composite drives postTask: aborted by any source, prioritized by its priority source (spec: TaskSignal.any + schedule a postTask task)', function* (log, loop) {
  const request = new AbortController();
  const ui = new TaskController({ priority: 'background' });
  const signal = TaskSignal.any([request.signal, ui.signal], { priority: ui.signal });
  const done = loop.createFuture<void>();
  const outcomes: string[] = [];
  const first = scheduler.postTask(() => log.push('first'), { signal });
  const uv = scheduler.postTask(() => log.push('uv'));
  ui.setPriority('user-blocking');
  Promise.all([first, uv]).then(() => {
    const second = scheduler.postTask(() => log.push('second'), { signal });
    request.abort('request cancelled');
    second.catch((reason: unknown) => outcomes.push(String(reason))).finally(() => done.setResult());
  }, (error: unknown) => done.setException(error));
  yield* done;
  log.assert(['first', 'uv']);
  assert.deepEqual(outcomes, ['request cancelled']);
  assert.equal(getRunningLoop(), loop);
});

// ---------------------------------------------------------------- gc

/** Runs GC until `done()` holds (finalizers run on later macrotasks). */
async function collectUntil(done: () => boolean, rounds = 40): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  assert.ok(gc, 'tests must run with node --expose-gc');
  for (let i = 0; i < rounds && !done(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
  }
}

test('a source holds its composites weakly: an unobserved TaskSignal.any result can be collected while its controller lives (spec: TaskSignal garbage collection)', async () => {
  const controller = new TaskController();
  let dropped: TaskSignal | null = TaskSignal.any([controller.signal], { priority: controller.signal });
  const ref = new WeakRef(dropped);
  dropped = null;
  await collectUntil(() => ref.deref() === undefined);
  assert.equal(ref.deref(), undefined, 'the composite was collected');
  controller.setPriority('background');
  controller.abort();
});

test('a composite with listeners stays alive through its sources even when nothing else holds it, and still gets its events (spec: TaskSignal garbage collection)', async () => {
  const controller = new TaskController();
  const log = new Log();
  (() => {
    const composite = TaskSignal.any([controller.signal], { priority: controller.signal });
    composite.onprioritychange = () => log.push('prioritychange');
    composite.onabort = () => log.push('abort');
  })();
  await collectUntil(() => false, 5);
  controller.setPriority('background');
  controller.abort();
  log.assert(['prioritychange', 'abort']);
});
