/**
 * A host that runs the loop's ticks itself (LoopHost's optional HostTick,
 * src/core/host.ts; used by the Node hosts): while runForever awaits its
 * host, the host calls `tick()` from a fresh callback of its own instead
 * of ending the wait.
 *
 * Pinned: every tick runs exactly once, in the loop's order, whether the
 * host or runForever runs it; a tick that leaves work ready (or stops the
 * loop) returns 0 and runForever carries on after it without running it
 * again; a tick that leaves the loop idle returns the next wait's length
 * (Infinity without timers) and the same host wait goes on; work scheduled
 * inside a host-run tick does not end the host's wait through wake();
 * beforeIoWait and afterIoWait still alternate, one pair per wait as the
 * loop sees it; a host-run tick that throws ends the wait and runForever
 * rejects with the error; every tick of a run, the host's and
 * runForever's, runs in the one context captured when the run began.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import type { HostTick, LoopHost } from '../../src/core/host.js';
import type { CoreInstrument } from '../../src/core/instruments.js';
import { EpollSelector } from '../../src/io/epoll-selector.js';
import { EventLoop } from '../../src/tasks/event-loop.js';
import { closeAll, pipe, readString, writeString } from '../io/fds.js';
import { Log } from '../log.js';
import { FakeContext } from '../tasks/fake-context.js';

/** A fresh macrotask: every pending microtask has run. */
function hostTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Records its waits; the test says when a wait would end (`fire`). */
class TickingHost implements LoopHost {
  readonly waits: number[] = [];
  wakes = 0;
  #tick: HostTick | undefined;
  #end: (() => void) | null = null;

  wait(timeoutMs: number, tick?: HostTick): Promise<void> {
    this.waits.push(timeoutMs);
    this.#tick = tick;
    return new Promise((resolve) => (this.#end = resolve));
  }

  get waiting(): boolean {
    return this.#end !== null;
  }

  /** The wait would end now (an fd is ready): run the loop's tick, from a host callback. Returns what it said. */
  async fire(): Promise<number> {
    await hostTurn();
    assert.ok(this.#tick !== undefined, 'the loop passed its tick to wait()');
    const nextMs = this.#tick();
    if (nextMs === 0) this.#endWait();
    await hostTurn();
    return nextMs;
  }

  wake(): void {
    this.wakes++;
    this.#endWait();
  }

  yieldToHost(): Promise<void> {
    return hostTurn();
  }

  shouldYield(): boolean {
    return false;
  }

  close(): void {
    this.#endWait();
  }

  #endWait(): void {
    const end = this.#end;
    this.#end = null;
    end?.();
  }
}

test('a host that runs the ticks: each tick once, in order; the wait goes on while the loop is idle and ends when work is left ready', async () => {
  const host = new TickingHost();
  const loop = new EventLoop({ selector: new EpollSelector(), host });
  const log = new Log();
  const io: string[] = [];
  const instrument: CoreInstrument = {
    beforeIoWait: () => void io.push('wait'),
    afterIoWait: () => void io.push('woken'),
  };
  loop.addInstrument(instrument);
  const [r, w] = pipe();
  loop.addReader(r, () => {
    const data = readString(r);
    log.push(`read ${data}`);
    if (data === 'b') loop.callSoon(() => log.push('soon after b'));
    if (data === 'c') loop.stop();
  });
  const running = loop.runForever();
  await hostTurn();
  assert.deepEqual(host.waits, [Infinity], 'idle, no timer: one wait with no deadline');

  writeString(w, 'a');
  assert.equal(await host.fire(), Infinity, 'the tick read "a" and left the loop idle: wait on, no deadline');
  assert.equal(host.waiting, true);
  assert.deepEqual(host.waits, [Infinity], 'the same wait went on: no new host.wait()');

  writeString(w, 'b');
  assert.equal(await host.fire(), 0, 'the tick read "b" and left a callback ready: end the wait');
  assert.equal(host.wakes, 0, 'the callSoon inside the host-run tick did not wake the host');
  assert.deepEqual(host.waits, [Infinity, Infinity], 'runForever ran the ready callback, then waited again');

  writeString(w, 'c');
  assert.equal(await host.fire(), 0, 'the tick read "c" and stopped the loop');
  await running;
  log.assert(['read a', 'read b', 'soon after b', 'read c']);
  // Each tick's own poll is a wait / woken pair too; the host-run ticks
  // keep the pairs in step with the waits runForever would have made.
  assert.deepEqual(io, [
    'wait', // runForever: idle, host.wait(Infinity)
    'woken', 'wait', 'woken', 'wait', // host ran the tick that read "a" (its poll), then waits on
    'woken', 'wait', 'woken', // host ran the tick that read "b" (its poll): work is ready, the wait ends
    'wait', 'woken', 'wait', // runForever's tick ran "soon after b", then host.wait(Infinity)
    'woken', 'wait', 'woken', // host ran the tick that read "c" and stopped the loop
  ]);
  loop.removeReader(r);
  loop.close();
  closeAll(r, w);
});

test('a timer armed inside a host-run tick gives the wait that goes on its deadline', async () => {
  const host = new TickingHost();
  const loop = new EventLoop({ selector: new EpollSelector(), host });
  const [r, w] = pipe();
  loop.addReader(r, () => {
    readString(r);
    loop.callLater(60_000, () => {});
  });
  const running = loop.runForever();
  await hostTurn();
  writeString(w, 'x');
  const nextMs = await host.fire();
  assert.ok(nextMs > 59_000 && nextMs <= 60_000, `the wait goes on until the timer: ${nextMs} ms`);
  loop.callSoon(() => loop.stop()); // from outside a tick: wakes the host, as always
  await running;
  assert.equal(host.wakes, 1);
  loop.removeReader(r);
  loop.close();
  closeAll(r, w);
});

test('a tick run by the host that throws ends the wait, and runForever rejects with what it threw', async () => {
  const host = new TickingHost();
  const inner = new EpollSelector();
  const failure = new Error('select failed');
  let failing = false;
  // The loop's selector, made to fail on demand: a tick's poll is the one place a tick itself throws.
  const selector = new Proxy(inner, {
    get(target, name) {
      if (name === 'select') {
        return (timeoutMs: number, onReady: (fd: number, events: number) => void): number => {
          if (failing) throw failure;
          return target.select(timeoutMs, onReady);
        };
      }
      const value = Reflect.get(target, name, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const loop = new EventLoop({ selector, host });
  const outcome = loop.runForever().then(
    () => 'resolved',
    (error: unknown) => error,
  );
  await hostTurn();
  assert.deepEqual(host.waits, [Infinity]);
  failing = true;
  assert.equal(await host.fire(), 0, 'the failed tick ends the wait');
  assert.equal(await outcome, failure, 'runForever rejected with the error the tick threw');
  failing = false;
  assert.equal(loop.isRunning(), false);
  loop.close();
});

test('every tick of a run, whether the host or runForever runs it, is in the context captured when the run began (captureTaskContext)', async () => {
  const fake = new FakeContext('host callback');
  const captured: string[] = [];
  const host = new TickingHost();
  const loop = new EventLoop({
    selector: new EpollSelector(),
    host,
    captureTaskContext: () => {
      captured.push(fake.current);
      return fake.runnerFor(`run begun in ${fake.current}`);
    },
  });
  const log = new Log();
  const [r, w] = pipe();
  loop.addReader(r, () => {
    const data = readString(r);
    log.push(`read ${data} in ${fake.current}`);
    if (data === 'b') loop.callSoon(() => log.push(`soon after b in ${fake.current}`));
    if (data === 'c') loop.stop();
  });
  fake.current = 'caller';
  const running = loop.runForever();
  fake.current = 'host callback'; // what the host's own callbacks run in
  await hostTurn();
  for (const data of ['a', 'b', 'c']) {
    writeString(w, data);
    await host.fire();
  }
  await running;
  log.assert(['read a in run begun in caller', 'read b in run begun in caller', 'soon after b in run begun in caller', 'read c in run begun in caller']);
  assert.deepEqual(captured, ['caller'], 'captured once, as the run began');
  loop.removeReader(r);
  loop.close();
  closeAll(r, w);
});
