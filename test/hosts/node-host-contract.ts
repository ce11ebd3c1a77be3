/**
 * What both Node host modes must do, as one suite run once per mode (by
 * node-guest.test.ts and node-blocking.test.ts): the same tests, the same
 * expected logs, so the two modes give the same ordering semantics.
 *
 *  - an fd becoming ready wakes an idle runForever (no eventide timer is
 *    pending, so nothing but the fd can end the wait);
 *  - a worker thread writing the selector's wake-up eventfd ends a wait
 *    with no deadline;
 *  - timers fire in deadline order, equal deadlines FIFO, across real waits;
 *  - one mixed scenario (callSoon, reader, timers, Node promises, sleeps)
 *    produces the same log in both modes;
 *  - with no eventide timer pending a wait has no deadline (Infinity), and
 *    such a wait keeps the process alive (Node timers unref'd);
 *  - closing releases everything: 100 create/run/close cycles leave the
 *    fd count unchanged, and a loop that stopped but was never closed does
 *    not keep the process alive.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { Worker } from 'node:worker_threads';
import { MAX_SELECT_TIMEOUT_MS } from '../../src/core/base-event-loop.js';
import { NodeBlockingHost } from '../../src/hosts/node-blocking.js';
import { NodeGuestHost } from '../../src/hosts/node-guest.js';
import { createNodeLoop, type NodeHostMode } from '../../src/hosts/node.js';
import { EpollSelector } from '../../src/io/epoll-selector.js';
import { addonPath } from '../../src/io/syscalls.js';
import { EventLoop } from '../../src/tasks/event-loop.js';
import { sleep, until } from '../../src/tasks/operation.js';
import { assertLoopClean } from '../../src/testing.js';
import { closeAll, openFdCount, pipe, readString, writeString } from '../io/fds.js';
import { Log } from '../log.js';
import { EVENT_LOOP_URL, NODE_HOSTS_URL, OPERATIONS_URL, readable, runChild, spyHost, SYSCALLS_URL, withWatchdog } from './node-helpers.js';

/** A loop in `mode` whose host reports every wait to `onWait` / `onWoken`. */
function spiedLoop(mode: NodeHostMode, onWait: (timeoutMs: number) => void, onWoken: () => void): EventLoop {
  if (mode === 'guest') {
    const selector = new EpollSelector();
    return new EventLoop({ selector, host: spyHost(new NodeGuestHost(selector), onWait, onWoken) });
  }
  const host = new NodeBlockingHost(new EpollSelector());
  return new EventLoop({ selector: host.selector, host: spyHost(host, onWait, onWoken) });
}

export function nodeHostContract(mode: NodeHostMode): void {
  test(`${mode}: a pipe becoming readable wakes an idle runForever that has no timer to wait for`, async () => {
    const loop = createNodeLoop({ mode });
    const log = new Log();
    const [r, w] = pipe();
    loop.addReader(r, () => {
      log.push(`reader: ${readString(r)}`);
      loop.removeReader(r);
      loop.stop();
    });
    loop.callSoon(() => {
      log.push('loop going idle');
      // A Node timer, not an eventide one: the loop itself has nothing
      // scheduled, so only the fd can end its wait.
      setTimeout(() => {
        log.push('node wrote ping');
        writeString(w, 'ping');
      }, 20);
    });
    await withWatchdog(loop.runForever(), 'runForever', () => loop.stop());
    log.assert(['loop going idle', 'node wrote ping', 'reader: ping']);
    assertLoopClean(loop);
    closeAll(r, w);
  });

  test(`${mode}: a worker thread writing the selector's wakeupFd ends a wait with no deadline`, async () => {
    const log = new Log();
    // [0] go: the loop is waiting; [1] the worker is about to write; [2] release the worker.
    const flags = new Int32Array(new SharedArrayBuffer(12));
    let loop: EventLoop | null = null;
    let sawInfiniteWait = false;
    loop = spiedLoop(
      mode,
      (timeoutMs) => {
        // With no timer pending the host is asked to wait with no deadline.
        if (timeoutMs !== Infinity || sawInfiniteWait) return;
        sawInfiniteWait = true;
        log.push('waiting with no deadline');
        Atomics.store(flags, 0, 1);
        Atomics.notify(flags, 0);
      },
      () => {
        // Other waits may end (blocking mode yields to Node for the
        // worker's own messages); only one after the worker's write counts.
        if (Atomics.load(flags, 1) !== 1) return;
        log.push('wait ended after the worker wrote');
        loop?.stop();
      },
    );
    const wakeupFd = (loop.selector as { wakeupFd?: number }).wakeupFd;
    assert.equal(typeof wakeupFd, 'number');
    const worker = new Worker(
      `const { workerData } = require('node:worker_threads');
       const sys = require(workerData.addonPath);
       const flags = new Int32Array(workerData.shared);
       Atomics.wait(flags, 0, 0);
       Atomics.store(flags, 1, 1);
       sys.eventfdWrite(workerData.wakeupFd, 1);
       Atomics.wait(flags, 2, 0);`,
      { eval: true, workerData: { addonPath, wakeupFd, shared: flags.buffer } },
    );
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    try {
      await withWatchdog(loop.runForever(), 'runForever', () => loop?.stop());
    } finally {
      for (const index of [0, 2]) {
        Atomics.store(flags, index, 1);
        Atomics.notify(flags, index);
      }
      await exited;
    }
    log.assert(['waiting with no deadline', 'wait ended after the worker wrote']);
    assertLoopClean(loop);
  });

  test(`${mode}: timers fire in deadline order across real waits; equal deadlines in scheduling order`, async () => {
    const loop = createNodeLoop({ mode });
    const log = new Log();
    loop.callLater(30, () => log.push('c 30'));
    loop.callLater(10, () => log.push('a 10'));
    loop.callLater(20, () => log.push('b1 20'));
    loop.callLater(20, () => log.push('b2 20'));
    loop.callLater(40, () => {
      log.push('stop 40');
      loop.stop();
    });
    await withWatchdog(loop.runForever(), 'runForever', () => loop.stop());
    log.assert(['a 10', 'b1 20', 'b2 20', 'c 30', 'stop 40']);
    assertLoopClean(loop);
  });

  test(`${mode}: callSoon, fd readiness, timers, Node promises and sleeps interleave in the loop's order`, async () => {
    const loop = createNodeLoop({ mode });
    const log = new Log();
    const [r, w] = pipe();
    const result = await withWatchdog(
      loop.runUntilComplete(function* () {
        log.push('main starts');
        const ready = readable(loop, r);
        setTimeout(() => writeString(w, 'x'), 5); // Node writes while the loop idles
        yield* ready;
        log.push(`readable: ${readString(r)}`);
        // Same tick: a callSoon queued before the tick, then the fd the tick
        // finds ready, then the timer it finds due.
        writeString(w, 'y');
        loop.callLater(0, () => log.push('timer 0'));
        loop.callSoon(() => log.push('soon'));
        loop.addReader(r, () => {
          log.push(`reader: ${readString(r)}`);
          loop.removeReader(r);
        });
        yield* sleep(1);
        const value = yield* until(new Promise<string>((resolve) => setImmediate(() => resolve('immediate'))));
        log.push(`node promise: ${value}`);
        yield* sleep(5);
        log.push('slept 5');
        return 'done';
      }),
      'runUntilComplete',
      () => loop.stop(),
    );
    assert.equal(result, 'done');
    log.assert(['main starts', 'readable: x', 'soon', 'reader: y', 'timer 0', 'node promise: immediate', 'slept 5']);
    assertLoopClean(loop);
    closeAll(r, w);
  });

  test(`${mode}: a nextTick and a 50-hop promise chain started by a callback run before the loop sleeps toward a far timer`, async () => {
    const loop = createNodeLoop({ mode });
    const log = new Log();
    // If the loop blocked right after its tick, these would wait a minute.
    const far = loop.callLater(60_000, () => log.push('far timer'));
    loop.callSoon(() => {
      log.push('callback');
      process.nextTick(() => {
        log.push('nextTick');
        let chain = Promise.resolve(0);
        for (let i = 0; i < 50; i++) chain = chain.then((hops) => hops + 1);
        void chain.then((hops) => {
          log.push(`chain of ${hops} hops`);
          loop.stop();
        });
      });
    });
    await withWatchdog(loop.runForever(), 'runForever', () => loop.stop());
    far.cancel();
    log.assert(['callback', 'nextTick', 'chain of 50 hops']);
    assertLoopClean(loop);
  });

  test(`${mode}: a loop that is never idle still lets Node run its timers (it yields every slice)`, async () => {
    const loop = createNodeLoop({ mode });
    const log = new Log();
    let nodeTimerFired = false;
    let spins = 0;
    const spin = (): void => {
      spins++;
      if (nodeTimerFired) {
        log.push('busy loop saw the Node timer');
        loop.stop();
      } else loop.callSoon(spin);
    };
    loop.callSoon(spin);
    setTimeout(() => {
      log.push('node timer fired');
      nodeTimerFired = true;
    }, 5);
    await withWatchdog(loop.runForever(), 'runForever', () => loop.stop());
    log.assert(['node timer fired', 'busy loop saw the Node timer']);
    assert.ok(spins > 1);
    assertLoopClean(loop);
  });

  test(`${mode}: 100 create/run/close cycles leave the fd count where it was (libuv watcher and epoll fd released)`, async () => {
    const before = openFdCount();
    for (let i = 0; i < 100; i++) {
      const loop = createNodeLoop({ mode });
      // A real wait, so the host opens its libuv watcher.
      await withWatchdog(
        loop.runUntilComplete(function* () {
          yield* sleep(1);
        }),
        'runUntilComplete',
        () => loop.stop(),
      );
      assertLoopClean(loop);
    }
    assert.equal(openFdCount(), before);
  });

  test(`${mode}: with no eventide timer pending, every idle wait has no deadline (host.wait(Infinity), no 24.8-day timer)`, async () => {
    const waits: number[] = [];
    const loop = spiedLoop(mode, (timeoutMs) => waits.push(timeoutMs), () => {});
    const result = await withWatchdog(
      loop.runUntilComplete(function* () {
        const future = loop.createFuture<string>();
        setTimeout(() => future.setResult('woken by Node'), 20); // a Node timer: the loop has none
        const first = yield* future;
        yield* sleep(5); // one eventide timer: that wait has a deadline
        return first;
      }),
      'runUntilComplete',
      () => loop.stop(),
    );
    assert.equal(result, 'woken by Node');
    assert.ok(waits.length >= 2, `expected at least two waits, saw ${JSON.stringify(waits)}`);
    assert.equal(waits[0], Infinity, 'the wait for the Node timer has no deadline');
    assert.ok(waits.some((ms) => ms > 0 && ms <= 5), `the sleep's wait has its deadline: ${JSON.stringify(waits)}`);
    assert.ok(!waits.some((ms) => ms !== Infinity && ms >= MAX_SELECT_TIMEOUT_MS), `no wait is the 24.8-day cap: ${JSON.stringify(waits)}`);
    loop.close();
  });

  test(`${mode}: a deadline-free wait keeps the process alive: run(main) waiting on an unref'd Node timer, and a loop waiting only for a reader, complete`, async () => {
    const out = await runChild(
      `const { createNodeLoop, run } = await import(${JSON.stringify(NODE_HOSTS_URL)});
       const { syscalls: sys } = await import(${JSON.stringify(SYSCALLS_URL)});
       const { getRunningLoop } = await import(${JSON.stringify(EVENT_LOOP_URL)});
       const mode = process.env.EVENTIDE_MODE;
       // Unref'd: Node alone would exit at once; only the loop's wait can keep it alive.
       const value = await run(function* () {
         const future = getRunningLoop().createFuture();
         setTimeout(() => future.setResult('main done after 200 ms'), 200).unref();
         return yield* future;
       }, { mode });
       console.log(value);
       const fds = new Int32Array(2);
       sys.pipe2(fds, sys.constants.O_NONBLOCK | sys.constants.O_CLOEXEC);
       const loop = createNodeLoop({ mode });
       const buffer = Buffer.alloc(16);
       loop.addReader(fds[0], () => {
         console.log('reader got ' + buffer.toString('utf8', 0, sys.read(fds[0], buffer, 0, 16)));
         loop.removeReader(fds[0]);
         loop.stop();
       });
       setTimeout(() => sys.write(fds[1], Buffer.from('ping'), 0, 4), 200).unref();
       await loop.runForever();
       loop.close();
       sys.close(fds[0]);
       sys.close(fds[1]);`,
      { EVENTIDE_MODE: mode },
    );
    assert.deepEqual(out.trim().split('\n'), ['main done after 200 ms', 'reader got ping']);
  });

  test(`${mode}: a loop that has stopped but was never closed does not keep the process alive`, async () => {
    const out = await runChild(
      `const { createNodeLoop } = await import(${JSON.stringify(NODE_HOSTS_URL)});
       const { sleep } = await import(${JSON.stringify(OPERATIONS_URL)});
       const loop = createNodeLoop({ mode: process.env.EVENTIDE_MODE });
       await loop.runUntilComplete(function* () { yield* sleep(5); });
       console.log('stopped, not closed');`,
      { EVENTIDE_MODE: mode },
    );
    assert.equal(out.trim(), 'stopped, not closed');
  });
}
