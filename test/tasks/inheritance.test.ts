/**
 * Priority inheritance (issue 4): a task that blocks a higher-priority task
 * borrows its priority until it stops blocking it — through a Lock, through
 * `yield* task`, transitively, and it is given back on release, on cancel
 * and when the waiter's own priority changes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Event, Lock, Semaphore, sleep, type Task } from '../../src/index.js';
import { runInVirtualTime } from '../../src/testing.js';
import { Log } from '../log.js';

test('a low task holding a Lock runs at critical while a critical task waits for it, and at low again after release', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const lock = new Lock();
    const lowHasLock = new Event();
    const low = loop.createTask(function* () {
      yield* lock.acquire();
      log.push('low got the lock');
      lowHasLock.set();
      for (let i = 0; i < 3; i++) {
        yield* sleep(0);
        log.push(`low step ${i} (${low.effectivePriority})`);
      }
      lock.release();
      log.push(`low released (${low.effectivePriority})`);
    }, { name: 'low', priority: 'low' });
    const normal = loop.createTask(function* () {
      yield* lowHasLock.wait();
      for (let i = 0; i < 4; i++) {
        log.push(`normal ${i}`);
        yield* sleep(0);
      }
    }, { name: 'normal' });
    // Waiting on the event (not on `low`: awaiting it would lend it main's priority).
    yield* lowHasLock.wait();
    const critical = loop.createTask(function* () {
      log.push('critical wants the lock');
      yield* lock.acquire();
      log.push('critical got the lock');
      lock.release();
    }, { name: 'critical', priority: 'critical' });
    yield* sleep(100);
    assert.deepEqual([low.done(), normal.done(), critical.done()], [true, true, true]);
    assert.equal(low.priority, 'low');
  });
  log.assert([
    'low got the lock',
    'normal 0',
    'critical wants the lock',
    // low's step, already queued in the low lane, moves up to the critical
    // lane when critical blocks on the lock: low runs ahead of normal until
    // it releases, and critical gets the lock before normal runs again.
    'low step 0 (critical)',
    'low step 1 (critical)',
    'low step 2 (critical)',
    'low released (low)',
    'critical got the lock',
    'normal 1',
    'normal 2',
    'normal 3',
  ]);
});

test('without a waiter a lock holder keeps its own priority (no inheritance without blocking)', async () => {
  await runInVirtualTime(function* (loop) {
    const lock = new Lock();
    const seen: string[] = [];
    const low: Task<void> = loop.createTask(function* () {
      yield* lock.acquire();
      yield* sleep(5);
      seen.push(low.effectivePriority);
      lock.release();
    }, { priority: 'low' });
    yield* sleep(10); // not `yield* low`: awaiting it would lend it main's priority
    assert.deepEqual(seen, ['low']);
  });
});

test('awaiting a task lends it the awaiter\'s priority until the awaiter runs again', async () => {
  const seen: string[] = [];
  await runInVirtualTime(function* (loop) {
    let worker!: Task<number>;
    worker = loop.createTask(function* () {
      yield* sleep(1);
      seen.push(`worker while awaited: ${worker.effectivePriority}`);
      yield* sleep(1);
      return 7;
    }, { name: 'worker', priority: 'idle' });
    const boss = loop.createTask(function* () {
      const v = yield* worker;
      seen.push(`boss got ${v}; worker now ${worker.effectivePriority}`);
    }, { name: 'boss', priority: 'high' });
    yield* boss;
  });
  assert.deepEqual(seen, ['worker while awaited: high', 'boss got 7; worker now idle']);
});

test('inheritance is transitive: critical waits on lock A held by normal, which waits on lock B held by low', async () => {
  const seen: string[] = [];
  await runInVirtualTime(function* (loop) {
    const a = new Lock();
    const b = new Lock();
    const low = loop.createTask(function* () {
      yield* b.acquire();
      yield* sleep(10);
      seen.push(`low holds B: ${low.effectivePriority}`);
      b.release();
    }, { name: 'low', priority: 'low' });
    const middle = loop.createTask(function* () {
      yield* a.acquire();
      yield* sleep(1);
      yield* b.acquire(); // blocks on low
      seen.push(`middle got B: ${middle.effectivePriority}`);
      b.release();
      a.release();
    }, { name: 'middle', priority: 'normal' });
    const top = loop.createTask(function* () {
      yield* sleep(2);
      yield* a.acquire(); // blocks on middle, which blocks on low
      seen.push('top got A');
      a.release();
    }, { name: 'top', priority: 'critical' });
    yield* top;
    yield* middle;
    yield* low;
    assert.deepEqual([low.effectivePriority, middle.effectivePriority], ['low', 'normal']);
  });
  assert.deepEqual(seen, ['low holds B: critical', 'middle got B: critical', 'top got A']);
});

test('a waiter cancelled while blocked gives the holder its own priority back', async () => {
  await runInVirtualTime(function* (loop) {
    const lock = new Lock();
    const holder = loop.createTask(function* () {
      yield* lock.acquire();
      yield* sleep(100);
      lock.release();
    }, { name: 'holder', priority: 'low' });
    const waiter = loop.createTask(function* () {
      yield* sleep(1);
      yield* lock.acquire();
      lock.release();
    }, { name: 'waiter', priority: 'critical' });
    yield* sleep(5);
    assert.equal(holder.effectivePriority, 'critical');
    waiter.cancel();
    yield* sleep(0);
    yield* sleep(0);
    assert.equal(waiter.cancelled(), true);
    assert.equal(holder.effectivePriority, 'low');
    yield* holder;
  });
});

test('raising a blocked waiter\'s own priority raises the holder too; lowering it lowers the loan', async () => {
  await runInVirtualTime(function* (loop) {
    const lock = new Lock();
    const holder = loop.createTask(function* () {
      yield* lock.acquire();
      yield* sleep(100);
      lock.release();
    }, { name: 'holder', priority: 'idle' });
    const waiter = loop.createTask(function* () {
      yield* sleep(1);
      yield* lock.acquire();
      lock.release();
    }, { name: 'waiter', priority: 'normal' });
    yield* sleep(5);
    assert.equal(holder.effectivePriority, 'normal');
    waiter.priority = 'critical';
    assert.equal(holder.effectivePriority, 'critical');
    waiter.priority = 'low';
    assert.equal(holder.effectivePriority, 'low');
    assert.equal(holder.priority, 'idle');
    yield* waiter;
    assert.equal(holder.effectivePriority, 'idle');
  });
});

test('a Semaphore\'s permit holders borrow the priority of a task waiting for a permit, until they release', async () => {
  const seen: string[] = [];
  await runInVirtualTime(function* (loop) {
    const sem = new Semaphore(2);
    const holders = (['a', 'b'] as const).map((name) =>
      loop.createTask(function* () {
        yield* sem.acquire();
        yield* sleep(name === 'a' ? 10 : 20);
        seen.push(`${name} before release: ${holders.find((t) => t.name === name)?.effectivePriority}`);
        sem.release();
      }, { name, priority: 'idle' }),
    );
    const waiter = loop.createTask(function* () {
      yield* sleep(1);
      yield* sem.acquire();
      seen.push(`waiter got a permit; a is ${holders[0]?.effectivePriority}, b is ${holders[1]?.effectivePriority}`);
      sem.release();
    }, { name: 'waiter', priority: 'high' });
    yield* sleep(50);
    assert.equal(waiter.done(), true);
  });
  assert.deepEqual(seen, [
    'a before release: high',
    // Once the waiter has its permit nobody waits: b gives the loan back.
    'waiter got a permit; a is idle, b is idle',
    'b before release: idle',
  ]);
});

test('a holder whose wake-up is already queued (the future it awaits has settled) moves up when a critical task blocks on its lock, as a queued step does', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const lock = new Lock();
    const gate = loop.createFuture<number>();
    const low = loop.createTask(function* () {
      yield* lock.acquire();
      const value = yield* gate;
      log.push(`low woke with ${value} (${low.effectivePriority})`);
      lock.release();
    }, { name: 'low', priority: 'low' });
    yield* sleep(1);
    loop.callSoon(() => {
      gate.setResult(7); // low's wake-up is queued in the low lane now
      for (let i = 0; i < 3; i++) loop.callSoon(() => log.push(`normal ${i}`));
      loop.createTask(function* () {
        log.push('critical wants the lock');
        yield* lock.acquire();
        log.push('critical got the lock');
        lock.release();
      }, { name: 'critical', priority: 'critical' });
    });
    yield* sleep(10);
    assert.equal(low.done(), true);
    assert.equal(low.effectivePriority, 'low');
  });
  // Before: the wake-up stayed in the low lane and critical waited behind normal work.
  log.assert(['critical wants the lock', 'low woke with 7 (critical)', 'critical got the lock', 'normal 0', 'normal 1', 'normal 2']);
});

/** The primitives whose release hands the lock or permit to one waiter, which runs later. */
const handOverPrimitives: [string, string, () => Lock | Semaphore][] = [
  ['Lock', 'the lock', () => new Lock()],
  ['Semaphore', 'a permit', () => new Semaphore(1)],
];

for (const [kind, thing, make] of handOverPrimitives) {
  test(`a ${kind} handed over to a low waiter lends it the priority of a critical task still waiting, from release until the heir runs and takes ${thing}`, async () => {
    const log = new Log();
    await runInVirtualTime(function* (loop) {
      const primitive = make();
      loop.createTask(function* () {
        yield* primitive.acquire();
        yield* sleep(1);
        primitive.release(); // wakes low, first in line; critical still waits
        for (let i = 0; i < 3; i++) loop.callSoon(() => log.push(`normal ${i}`));
      }, { name: 'holder' });
      yield* sleep(0.5);
      const low = loop.createTask(function* () {
        yield* primitive.acquire();
        log.push(`low got ${thing} (${low.effectivePriority})`);
        primitive.release();
        log.push(`low released (${low.effectivePriority})`);
      }, { name: 'low', priority: 'low' });
      yield* sleep(0.1);
      const critical = loop.createTask(function* () {
        yield* primitive.acquire();
        log.push(`critical got ${thing}`);
        primitive.release();
      }, { name: 'critical', priority: 'critical' });
      yield* sleep(10);
      // low stepped twice: it blocked, then ran once at its hand-over (no stale second wake-up).
      assert.deepEqual([low.done(), low.steps, critical.done(), low.effectivePriority], [true, 2, true, 'low']);
    });
    // Before: low's wake-up stayed in the low lane, behind the normal callbacks, and critical with it.
    log.assert([`low got ${thing} (critical)`, 'low released (low)', `critical got ${thing}`, 'normal 0', 'normal 1', 'normal 2']);
  });

  test(`a ${kind} heir cancelled before it runs gives its loan back, and ${thing} goes to the next waiter`, async () => {
    await runInVirtualTime(function* (loop) {
      const primitive = make();
      yield* primitive.acquire();
      const heir = loop.createTask(function* () {
        yield* primitive.acquire();
        primitive.release();
      }, { name: 'heir', priority: 'idle' });
      const critical = loop.createTask(function* () {
        yield* sleep(1);
        yield* primitive.acquire();
        primitive.release();
      }, { name: 'critical', priority: 'critical' });
      yield* sleep(2);
      primitive.release();
      assert.equal(heir.effectivePriority, 'critical');
      heir.cancel();
      yield* critical;
      assert.deepEqual([heir.cancelled(), heir.effectivePriority, primitive.locked()], [true, 'idle', false]);
    });
  });
}

test('a queued wake-up raised twice (high, then critical) runs its step once, with the future\'s value, and reports nothing', async () => {
  const log = new Log();
  const errors: unknown[] = [];
  await runInVirtualTime(function* (loop) {
    loop.setExceptionHandler((context) => errors.push(context.message));
    const lockA = new Lock();
    const lockB = new Lock();
    const gate = loop.createFuture<number>();
    const low = loop.createTask(function* () {
      yield* lockA.acquire();
      yield* lockB.acquire();
      const value = yield* gate;
      log.push(`low woke with ${value} (${low.effectivePriority})`);
      lockB.release();
      lockA.release();
      log.push(`low released (${low.effectivePriority})`);
    }, { name: 'low', priority: 'low' });
    yield* sleep(1);
    loop.callSoon(() => {
      gate.setResult(7); // low's wake-up is queued in the low lane now
      for (let i = 0; i < 2; i++) loop.callSoon(() => log.push(`normal ${i}`));
      loop.createTask(function* () {
        loop.createTask(function* () {
          log.push('critical wants A');
          yield* lockA.acquire();
          log.push('critical got A');
          lockA.release();
        }, { name: 'critical', priority: 'critical' });
        log.push('high wants B');
        yield* lockB.acquire(); // raises low's queued wake-up to high
        log.push('high got B');
        lockB.release();
      }, { name: 'high', priority: 'high' });
    });
    yield* sleep(10);
    // Step 1 took both locks and waited on gate; step 2 was the one wake-up.
    assert.deepEqual([low.done(), low.steps, low.effectivePriority], [true, 2, 'low']);
  });
  log.assert([
    'high wants B',
    'critical wants A', // raises it again, to critical
    'low woke with 7 (critical)',
    'low released (low)',
    'critical got A',
    'high got B',
    'normal 0',
    'normal 1',
  ]);
  assert.deepEqual(errors, []);
});

test('a raised wake-up whose loan ends before it runs still runs once, where it was raised to (a loan that ends never moves a queued step down)', async () => {
  const log = new Log();
  const errors: unknown[] = [];
  await runInVirtualTime(function* (loop) {
    loop.setExceptionHandler((context) => errors.push(context.message));
    const lock = new Lock();
    const gate = loop.createFuture<string>();
    const low = loop.createTask(function* () {
      yield* lock.acquire();
      log.push(`low woke with ${yield* gate} (${low.effectivePriority})`);
      lock.release();
    }, { name: 'low', priority: 'low' });
    yield* sleep(1);
    loop.callSoon(() => {
      gate.setResult('go');
      loop.callSoon(() => log.push('normal'));
      const lender = loop.createTask(function* () {
        loop.callSoon(() => {
          lender.priority = 'low'; // the loan falls to low: low's own lane
          log.push(`lender lowered; low at ${low.effectivePriority}`);
        }, { priority: 'critical' });
        yield* lock.acquire(); // raises low's queued wake-up to critical
        log.push('lender got the lock');
        lock.release();
      }, { name: 'lender', priority: 'critical' });
    });
    yield* sleep(10);
    assert.deepEqual([low.done(), low.steps], [true, 2]);
  });
  log.assert(['lender lowered; low at low', 'low woke with go (low)', 'normal', 'lender got the lock']);
  assert.deepEqual(errors, []);
});

test('a Lock\'s head waiter cancelled just before a release borrows the priority of the critical waiter behind it until it leaves the line', async () => {
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    const lock = new Lock();
    yield* lock.acquire();
    const low = loop.createTask(function* () {
      try {
        yield* lock.acquire();
      } catch (error) {
        log.push(`low leaves the line (${low.effectivePriority})`);
        throw error;
      }
    }, { name: 'low', priority: 'low' });
    yield* sleep(0.5); // low is first in line
    const critical = loop.createTask(function* () {
      yield* lock.acquire();
      log.push('critical got the lock');
      lock.release();
    }, { name: 'critical', priority: 'critical' });
    yield* sleep(1);
    loop.callSoon(() => {
      low.cancel(); // its step is queued in the low lane; it is still first in line
      lock.release(); // nobody to wake: low must run first, and borrows critical's lane
      for (let i = 0; i < 2; i++) loop.callSoon(() => log.push(`normal ${i}`));
    });
    yield* sleep(10);
    assert.deepEqual([low.cancelled(), low.effectivePriority, critical.done()], [true, 'low', true]);
  });
  // low ran ahead of the normal callbacks (in critical's lane); its loan ended as it left the line.
  // Before: it ran in the low lane, after them, and critical with it.
  log.assert(['low leaves the line (low)', 'critical got the lock', 'normal 0', 'normal 1']);
});

test('a loan that comes back round a cycle of awaiting tasks as the step starts queues no second step; a later waiter of the same future is still woken', async () => {
  const errors: unknown[] = [];
  const log = new Log();
  await runInVirtualTime(function* (loop) {
    loop.setExceptionHandler((context) => errors.push(context.message));
    const gate = loop.createFuture<number>();
    let t2: Task<number> | null = null;
    const t0 = loop.createTask(function* () {
      yield* sleep(0);
      yield* t2!; // t0 and t2 now await each other
    }, { name: 't0', priority: 'idle' });
    t2 = loop.createTask(function* () {
      try {
        yield* t0;
      } catch (error) {
        log.push(`t2 caught ${(error as Error).name} at step ${t2!.steps}`);
      }
      return yield* gate;
    }, { name: 't2', priority: 'idle' });
    yield* sleep(1);
    loop.callSoon(() => {
      t2!.cancel(); // round the cycle: t2's step is queued, in the idle lane
      t2!.priority = 'critical'; // its own priority moves no queued step...
      t2!.priority = 'normal'; // ...but leaves a lane lent round the cycle
    });
    yield* sleep(1);
    const other = loop.createTask(function* () {
      return yield* gate;
    }, { name: 'other' });
    yield* sleep(1);
    gate.setResult(42); // before: threw InvalidStateError (t2 waited twice) and lost other's wake-up
    yield* sleep(1);
    assert.deepEqual([t2.result(), t2.steps, other.result(), t0.done(), t0.cancelled()], [42, 3, 42, true, false]);
  });
  log.assert(['t2 caught CancelledError at step 2']);
  assert.deepEqual(errors, []);
});

test('a Semaphore released by a callback for a task that finished holding a permit takes back that task\'s entry, not a live holder\'s loan', async () => {
  await runInVirtualTime(function* (loop) {
    const semaphore = new Semaphore(2);
    const done = new Event();
    const live = loop.createTask(function* () {
      yield* semaphore.acquire();
      yield* done.wait();
      semaphore.release();
    }, { name: 'live', priority: 'low' });
    yield* sleep(1);
    const leaker = loop.createTask(function* () {
      yield* semaphore.acquire(); // and never releases
    }, { name: 'leaker', priority: 'low' });
    yield* sleep(1);
    const waiters = ['c1', 'c2'].map((name) =>
      loop.createTask(function* () {
        yield* semaphore.withLock(function* () {
          yield* done.wait();
        });
      }, { name, priority: 'critical' }),
    );
    yield* sleep(1);
    assert.deepEqual([leaker.done(), live.effectivePriority], [true, 'critical']);
    semaphore.release(); // the leaker's permit, given back by someone who holds none: c1 gets it, c2 still waits
    assert.equal(live.effectivePriority, 'critical', 'live still holds a permit c2 waits for');
    done.set();
    yield* sleep(1);
    assert.deepEqual([live.done(), live.effectivePriority, ...waiters.map((task) => task.done())], [true, 'low', true, true]);
  });
});
