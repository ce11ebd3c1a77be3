/**
 * A scripted GLib main context for the GLib host's tests: idle, timeout and
 * unix fd sources, dispatched the way g_main_context_iteration does —
 * every ready source of the most urgent priority in one iteration, in the
 * order they were added, synchronously one after another — on its own
 * clock, logging every request ('idle 200', 'timeout 200 15', 'fd 200 7',
 * 'remove timeout') into the test's Log.
 *
 * `await glib.iterate()` is one iteration preceded by the microtask
 * checkpoint node-gtk performs when an iteration starts (its libuv source's
 * prepare); between the sources of one iteration there is none, as in
 * node-gtk. `iterateSync()` is an iteration of a binding that never drains.
 */
import type { GLibLike } from '../../src/hosts/glib.js';
import type { Clock } from '../../src/core/clock.js';
import type { Log } from '../log.js';
import { drainMicrotasks } from './fake-host.js';

interface Source {
  id: number;
  kind: 'idle' | 'timeout' | 'fd';
  priority: number;
  intervalMs: number;
  dueMs: number;
  fd: number;
  callback: (...args: number[]) => boolean;
}

export class FakeGLib implements GLibLike {
  readonly PRIORITY_DEFAULT_IDLE = 200;
  readonly IOCondition = { IN: 1 };
  nowMs = 0;
  readonly clock: Clock = { now: () => this.nowMs };
  /** fds the fake poll() reports readable (level-triggered: until cleared). */
  readonly readable = new Set<number>();
  readonly #log: Log;
  readonly #sources: Source[] = [];
  #nextId = 1;

  constructor(log: Log) {
    this.#log = log;
  }

  idleAdd(priority: number, callback: () => boolean): number {
    this.#log.push(`idle ${priority}`);
    return this.#add({ kind: 'idle', priority, intervalMs: 0, dueMs: 0, fd: -1, callback });
  }

  timeoutAdd(priority: number, intervalMs: number, callback: () => boolean): number {
    this.#log.push(`timeout ${priority} ${intervalMs}`);
    return this.#add({ kind: 'timeout', priority, intervalMs, dueMs: this.nowMs + intervalMs, fd: -1, callback });
  }

  unixFdAddFull(priority: number, fd: number, condition: number, callback: (fd: number, condition: number) => boolean): number {
    this.#log.push(`fd ${priority} ${fd}${condition === this.IOCondition.IN ? '' : ` condition ${condition}`}`);
    return this.#add({ kind: 'fd', priority, intervalMs: 0, dueMs: 0, fd, callback });
  }

  sourceRemove(sourceId: number): boolean {
    const index = this.#sources.findIndex((s) => s.id === sourceId);
    if (index < 0) throw new Error(`GLib-CRITICAL: Source ID ${sourceId} was not found when attempting to remove it`);
    this.#log.push(`remove ${(this.#sources[index] as Source).kind}`);
    this.#sources.splice(index, 1);
    return true;
  }

  /** Sources still attached, as 'kind priority'. */
  attached(): string[] {
    return this.#sources.map((s) => `${s.kind} ${s.priority}`);
  }

  /** One iteration after the checkpoint node-gtk performs at an iteration's start. False if nothing could run. */
  async iterate(): Promise<boolean> {
    await drainMicrotasks();
    return this.iterateSync();
  }

  /** Iterates until nothing is left to dispatch (at most `limit` iterations). */
  async runUntilIdle(limit = 1000): Promise<number> {
    let n = 0;
    while (n < limit && (await this.iterate())) n++;
    await drainMicrotasks();
    return n;
  }

  /**
   * One iteration with no checkpoint before it: dispatches every ready
   * source of the most urgent priority; if none is ready, first moves the
   * clock to the earliest timeout.
   */
  iterateSync(): boolean {
    let ready = this.#ready();
    if (ready.length === 0) {
      const timeouts = this.#sources.filter((s) => s.kind === 'timeout');
      if (timeouts.length === 0) return false;
      this.nowMs = Math.min(...timeouts.map((s) => s.dueMs));
      ready = this.#ready();
    }
    const best = Math.min(...ready.map((s) => s.priority));
    for (const source of ready.filter((s) => s.priority === best)) {
      if (!this.#sources.includes(source)) continue; // removed by an earlier callback of this iteration
      const keep = source.kind === 'fd' ? source.callback(source.fd, this.IOCondition.IN) : source.callback();
      if (!this.#sources.includes(source)) continue;
      if (!keep) this.#sources.splice(this.#sources.indexOf(source), 1);
      else if (source.kind === 'timeout') source.dueMs = this.nowMs + source.intervalMs;
    }
    return true;
  }

  #ready(): Source[] {
    return this.#sources.filter((s) => s.kind === 'idle' || (s.kind === 'timeout' && s.dueMs <= this.nowMs) || (s.kind === 'fd' && this.readable.has(s.fd)));
  }

  #add(fields: Omit<Source, 'id'>): number {
    const id = this.#nextId++;
    this.#sources.push({ id, ...fields });
    return id;
  }
}

/** A GObject with connect/disconnect and `emit`, as node-gtk passes signal arguments (no emitter). */
export class FakeGObject {
  readonly #handlers = new Map<number, { signal: string; handler: (...args: any[]) => unknown }>();
  #nextId = 1;
  readonly #log: Log | null;

  constructor(log: Log | null = null) {
    this.#log = log;
  }

  connect(signal: string, handler: (...args: any[]) => unknown): number {
    this.#log?.push(`connect ${signal}`);
    const id = this.#nextId++;
    this.#handlers.set(id, { signal, handler });
    return id;
  }

  disconnect(handlerId: number): void {
    const entry = this.#handlers.get(handlerId);
    if (entry === undefined) throw new Error(`no handler ${handlerId}`);
    this.#log?.push(`disconnect ${entry.signal}`);
    this.#handlers.delete(handlerId);
  }

  /** Emits `signal` synchronously, as GTK does; returns the handlers' return values. */
  emit(signal: string, ...args: unknown[]): unknown[] {
    return [...this.#handlers.values()].filter((h) => h.signal === signal).map((h) => h.handler(...args));
  }

  get handlerCount(): number {
    return this.#handlers.size;
  }
}
