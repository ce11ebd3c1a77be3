/**
 * A scripted host for guest-mode tests: a FIFO of host tasks, a timer list
 * on its own clock, and a log of every request the driver makes of it
 * ('soon', 'later 100', 'cancel 100', 'watch 7', 'unwatch 7').
 *
 * Time only moves when a step fires a timer, so every test is exact. The
 * loop under test reads the same clock (`host.clock`).
 *
 * `await host.step()` runs one host task and then lets the runtime drain its
 * microtask queue, exactly as a real host (a browser, Node) does after each
 * callback. `runNested()` is a modal dialog's loop: it runs queued host
 * tasks synchronously, from inside whatever callback called it.
 */
import { EVENT_READ, type ReadyCallback, type Selector } from '../../src/core/selector.js';
import type { Clock } from '../../src/core/clock.js';
import type { GuestHost } from '../../src/hosts/guest.js';
import type { Log } from '../log.js';

interface HostTimer {
  dueMs: number;
  seq: number;
  callback: () => void;
  cancelled: boolean;
}

/** Lets the runtime finish the current macrotask: every pending microtask runs. */
export function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class FakeHost implements GuestHost {
  nowMs = 0;
  /** What `shouldYield()` answers (input pending). */
  inputPending = false;
  readonly clock: Clock = { now: () => this.nowMs };
  readonly #log: Log;
  readonly #tasks: (() => void)[] = [];
  readonly #timers: HostTimer[] = [];
  #seq = 0;
  readonly #watched = new Map<number, () => void>();

  constructor(log: Log) {
    this.#log = log;
  }

  // ------------------------------------------------------- GuestHost

  callSoon(callback: () => void): void {
    this.#log.push('soon');
    this.#tasks.push(callback);
  }

  callLater(delayMs: number, callback: () => void): () => void {
    this.#log.push(`later ${delayMs}`);
    const timer: HostTimer = { dueMs: this.nowMs + delayMs, seq: this.#seq++, callback, cancelled: false };
    this.#timers.push(timer);
    return () => {
      this.#log.push(`cancel ${delayMs}`);
      timer.cancelled = true;
    };
  }

  watchFd(fd: number, onReady: () => void): () => void {
    this.#log.push(`watch ${fd}`);
    this.#watched.set(fd, onReady);
    return () => {
      this.#log.push(`unwatch ${fd}`);
      this.#watched.delete(fd);
    };
  }

  shouldYield(): boolean {
    return this.inputPending;
  }

  now(): number {
    return this.nowMs;
  }

  // ------------------------------------------------- the host's own loop

  /** Queues the host's own work (an input event, a paint): it logs `label` and runs `body`. */
  post(label: string, body: () => void = () => {}): void {
    this.#tasks.push(() => {
      this.#log.push(label);
      body();
    });
  }

  /** The host's loop calls the watcher of `fd` (it became readable). */
  fireFd(fd: number): void {
    const onReady = this.#watched.get(fd);
    if (onReady === undefined) throw new Error(`fd ${fd} is not watched`);
    this.#tasks.push(onReady);
  }

  /** Live timers, earliest first. */
  pendingTimers(): number[] {
    return this.#liveTimers().map((t) => t.dueMs);
  }

  get queuedTasks(): number {
    return this.#tasks.length;
  }

  /** Runs one host task synchronously (queued work first, else the next timer, moving time). False if idle. */
  stepSync(): boolean {
    const task = this.#tasks.shift();
    if (task !== undefined) {
      task();
      return true;
    }
    const timer = this.#liveTimers()[0];
    if (timer === undefined) return false;
    this.#timers.splice(this.#timers.indexOf(timer), 1);
    if (timer.dueMs > this.nowMs) this.nowMs = timer.dueMs;
    timer.callback();
    return true;
  }

  /** One host task, then the microtask checkpoint every real host performs. */
  async step(): Promise<boolean> {
    const ran = this.stepSync();
    await drainMicrotasks();
    return ran;
  }

  /** Steps until the host has nothing left (at most `limit` steps). Returns the steps taken. */
  async runUntilIdle(limit = 1000): Promise<number> {
    let steps = 0;
    while (steps < limit && (await this.step())) steps++;
    return steps;
  }

  /** A modal loop: runs the queued host tasks and the timers due by `untilMs`, synchronously. */
  runNested(untilMs = this.nowMs): void {
    for (;;) {
      const task = this.#tasks.shift();
      if (task !== undefined) {
        task();
        continue;
      }
      const timer = this.#liveTimers()[0];
      if (timer === undefined || timer.dueMs > untilMs) break;
      this.#timers.splice(this.#timers.indexOf(timer), 1);
      if (timer.dueMs > this.nowMs) this.nowMs = timer.dueMs;
      timer.callback();
    }
    if (untilMs > this.nowMs) this.nowMs = untilMs;
  }

  #liveTimers(): HostTimer[] {
    for (let i = this.#timers.length - 1; i >= 0; i--) if ((this.#timers[i] as HostTimer).cancelled) this.#timers.splice(i, 1);
    return [...this.#timers].sort((a, b) => a.dueMs - b.dueMs || a.seq - b.seq);
  }
}

/** A selector with fake fds: `makeReady(fd)` and the next select reports it. Exposes `epollFd` like EpollSelector. */
export class FakeFdSelector implements Selector {
  readonly name = 'FakeFdSelector';
  readonly supportsFds = true;
  readonly epollFd = 7;
  readonly #masks = new Map<number, number>();
  readonly #ready = new Set<number>();

  get fdCount(): number {
    return this.#masks.size;
  }

  register(fd: number, events: number): void {
    this.#masks.set(fd, events);
  }

  modify(fd: number, events: number): void {
    this.#masks.set(fd, events);
  }

  unregister(fd: number): void {
    this.#masks.delete(fd);
  }

  makeReady(fd: number): void {
    this.#ready.add(fd);
  }

  select(_timeoutMs: number, onReady: ReadyCallback): number {
    let n = 0;
    for (const fd of this.#ready) {
      if ((this.#masks.get(fd) ?? 0) & EVENT_READ) {
        onReady(fd, EVENT_READ);
        n++;
      }
    }
    this.#ready.clear();
    return n;
  }

  wakeup(): void {}

  close(): void {}
}
