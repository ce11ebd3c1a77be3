/**
 * The GLib host: eventide as a guest of GLib's main loop — the loop GTK
 * runs in `Gtk.main()` — through node-gtk (or any binding with the same
 * four GLib functions). No loop pumps the other: GLib calls eventide only
 * when eventide asked for it.
 *
 * The driver (guest.ts) asks for three things; each maps onto a GLib source:
 *  - "soon" is an idle source (`GLib.idleAdd`);
 *  - "after N ms" is a timeout source (`GLib.timeoutAdd`), removed again
 *    with `GLib.sourceRemove` when the deadline moves;
 *  - the selector's epoll fd is a unix fd source (`GLib.unixFdAddFull`,
 *    G_IO_IN): GLib's own poll() wakes for eventide's sockets.
 *
 * All three run at one GLib priority, by default G_PRIORITY_DEFAULT_IDLE
 * (200). GLib dispatches only the most urgent ready sources of an
 * iteration, so a lower number would let a busy eventide starve GTK's
 * input (0), resizing (110) and redrawing (120); at 200 the window stays
 * live however much work the loop has, and the per-tick budget bounds how
 * long GTK can wait for one tick.
 *
 * The microtask checkpoint. The guest contract needs the runtime to drain
 * microtasks after every host callback, so that promise continuations
 * released by one tick run before the next. node-gtk drains them after
 * signal handlers and at the start of each GLib iteration, but not after a
 * GSourceFunc (idle, timeout, fd) returns: two eventide sources dispatched
 * in the same iteration would run two ticks with no checkpoint in between.
 * The host detects that with a marker: after each tick it queues a
 * microtask that records "drained"; a callback that finds the marker not
 * yet run is put off to the next iteration (an idle returns
 * G_SOURCE_CONTINUE, a timeout becomes an idle, the level-triggered fd
 * source simply fires again), whose start drains the queue. If a binding
 * never drains (no checkpoint arrives between two iterations), the host
 * notes it in `statistics().checkpointsMissing` and stops waiting.
 *
 * Invariants: the host never runs a callback synchronously inside a
 * request; a source is removed at most once (GLib warns about unknown ids),
 * and a source that has returned G_SOURCE_REMOVE is never removed again.
 */
import { describe } from '../core/assert.js';
import { RuntimeError } from '../core/errors.js';
import { NodeEventLoop } from '../io/node-event-loop.js';
import type { CoroutineLike, EventLoop } from '../tasks/event-loop.js';
import type { Future } from '../tasks/future.js';
import { GuestDriver, type GuestDriverOptions, type GuestHost } from './guest.js';

/** G_SOURCE_CONTINUE / G_SOURCE_REMOVE. */
const CONTINUE = true;
const REMOVE = false;

/**
 * The part of GLib the host uses, as node-gtk exposes it
 * (`require('node-gtk').require('GLib', '2.0')`).
 */
export interface GLibLike {
  /** G_PRIORITY_DEFAULT_IDLE (200). */
  readonly PRIORITY_DEFAULT_IDLE: number;
  readonly IOCondition: { readonly IN: number };
  /** g_idle_add_full: calls `callback` while it returns true → source id. */
  idleAdd(priority: number, callback: () => boolean): number;
  /** g_timeout_add_full: calls `callback` every `intervalMs` while it returns true → source id. */
  timeoutAdd(priority: number, intervalMs: number, callback: () => boolean): number;
  /** g_unix_fd_add_full: calls `callback` while `fd` meets `condition` and it returns true → source id. */
  unixFdAddFull(priority: number, fd: number, condition: number, callback: (fd: number, condition: number) => boolean): number;
  /** g_source_remove. */
  sourceRemove(sourceId: number): boolean;
}

export interface GLibHostOptions {
  /**
   * GLib priority of eventide's idle, timeout and fd sources (lower is
   * more urgent). Default `GLib.PRIORITY_DEFAULT_IDLE` (200): after GTK's
   * events, resizes and redraws.
   */
  priority?: number;
}

/** Counters kept by a GLibHost (a frozen snapshot). */
export interface GLibHostStatistics {
  /** Idle, timeout and fd sources added. */
  idleSources: number;
  timeoutSources: number;
  fdSources: number;
  /** Sources removed before they fired (a deadline moved, the driver stopped). */
  sourcesRemoved: number;
  /** Callbacks put off to the next GLib iteration to let microtasks drain first. */
  checkpointWaits: number;
  /** True once a callback found no microtask checkpoint even one iteration later: the host stopped waiting for them. */
  checkpointsMissing: boolean;
}

/** One added GLib source, so it is removed at most once. */
interface SourceRecord {
  id: number;
  live: boolean;
  /** The drain count when this source's callback was last put off; -1 when it was not. */
  deferredAtDrain: number;
}

function checkGLib(glib: unknown, who: string): asserts glib is GLibLike {
  const g = glib as Partial<GLibLike> | null;
  const missing = g === null || typeof g !== 'object' ? ['(not an object)'] : (['idleAdd', 'timeoutAdd', 'unixFdAddFull', 'sourceRemove'] as const).filter((name) => typeof g[name] !== 'function');
  if (missing.length > 0) {
    throw new TypeError(`${who}: glib must be GLib from node-gtk (require('node-gtk').require('GLib', '2.0')), got ${describe(glib)} lacking ${missing.join(', ')}`);
  }
  const g2 = g as GLibLike;
  if (typeof g2.IOCondition?.IN !== 'number' || typeof g2.PRIORITY_DEFAULT_IDLE !== 'number') {
    throw new TypeError(`${who}: glib must have IOCondition.IN and PRIORITY_DEFAULT_IDLE (GLib 2.0 from node-gtk)`);
  }
}

/**
 * GLib's main loop as a GuestHost: idle sources for "soon", timeout
 * sources for deadlines, a unix fd source for the selector's epoll fd.
 *
 * @example
 * import gi from 'node-gtk';
 * const GLib = gi.require('GLib', '2.0');
 * const loop = new NodeEventLoop();
 * const driver = new GuestDriver(loop, new GLibHost(GLib));
 * void driver.start();
 * Gtk.main(); // GLib now runs eventide's ticks too
 */
export class GLibHost implements GuestHost {
  readonly #glib: GLibLike;
  readonly #priority: number;
  /** False from a tick's start until the microtask queued after it has run. */
  #drained = true;
  /** How many times the marker found the queue drained. */
  #drainCount = 0;
  #checkpointsMissing = false;
  readonly #live = new Set<SourceRecord>();
  #stats = { idleSources: 0, timeoutSources: 0, fdSources: 0, sourcesRemoved: 0, checkpointWaits: 0 };
  readonly #markDrained = (): void => {
    this.#drained = true;
    this.#drainCount++;
  };

  /**
   * @example
   * const host = new GLibHost(GLib, { priority: GLib.PRIORITY_DEFAULT_IDLE });
   */
  constructor(glib: GLibLike, options: GLibHostOptions = {}) {
    checkGLib(glib, 'GLibHost');
    if (options === null || typeof options !== 'object') throw new TypeError(`GLibHost: options must be an object, got ${describe(options)}`);
    const priority = options.priority ?? glib.PRIORITY_DEFAULT_IDLE;
    if (typeof priority !== 'number' || !Number.isInteger(priority)) {
      throw new RangeError(`GLibHost: priority must be an integer GLib priority, got ${describe(priority)}`);
    }
    this.#glib = glib;
    this.#priority = priority;
  }

  /** The GLib priority of the host's sources. */
  get priority(): number {
    return this.#priority;
  }

  callSoon(callback: () => void): void {
    const record = this.#newRecord();
    this.#stats.idleSources++;
    // Put off: the idle stays (CONTINUE) and fires in the next iteration.
    record.id = this.#glib.idleAdd(this.#priority, () => (this.#fire(record, callback, true) ? REMOVE : CONTINUE));
  }

  callLater(delayMs: number, callback: () => void): () => void {
    const record = this.#newRecord();
    const onIdle = (): boolean => (this.#fire(record, callback, true) ? REMOVE : CONTINUE);
    const onTimeout = (): boolean => {
      if (this.#fire(record, callback, true)) return REMOVE;
      // Put off: a timeout returning CONTINUE would wait a whole interval
      // again, so the rest of the wait is an idle source (same record).
      this.#stats.idleSources++;
      record.id = this.#glib.idleAdd(this.#priority, onIdle);
      return REMOVE;
    };
    this.#stats.timeoutSources++;
    record.id = this.#glib.timeoutAdd(this.#priority, Math.max(0, Math.ceil(delayMs)), onTimeout);
    return () => this.#remove(record);
  }

  watchFd(fd: number, onReady: () => void): () => void {
    const record = this.#newRecord();
    this.#stats.fdSources++;
    // Level-triggered: the watch stays whether it ran or was put off (then
    // the fd is still readable and fires again in the next iteration).
    record.id = this.#glib.unixFdAddFull(this.#priority, fd, this.#glib.IOCondition.IN, () => {
      this.#fire(record, onReady, false);
      return CONTINUE;
    });
    return () => this.#remove(record);
  }

  now(): number {
    return performance.now();
  }

  /** Removes every source the host still has in GLib (the driver normally removes its own). */
  close(): void {
    for (const record of [...this.#live]) this.#remove(record);
  }

  /** A frozen snapshot of the host's counters. */
  statistics(): Readonly<GLibHostStatistics> {
    return Object.freeze({ ...this.#stats, checkpointsMissing: this.#checkpointsMissing });
  }

  #newRecord(): SourceRecord {
    const record: SourceRecord = { id: 0, live: true, deferredAtDrain: -1 };
    this.#live.add(record);
    return record;
  }

  /**
   * A GLib source fired: run `callback` (one tick) unless the microtasks
   * of the previous tick have not been drained yet. Returns true if it ran,
   * false if it was put off to the next iteration. A source that runs once
   * (`once`) is done when it ran.
   */
  #fire(record: SourceRecord, callback: () => void, once: boolean): boolean {
    if (!record.live) return true; // removed while GLib was already dispatching it
    if (!this.#drained && !this.#checkpointsMissing) {
      if (record.deferredAtDrain !== this.#drainCount) {
        record.deferredAtDrain = this.#drainCount;
        this.#stats.checkpointWaits++;
        return false;
      }
      // Put off before, and no checkpoint came since: this binding does
      // not drain microtasks between iterations. Stop waiting for it.
      this.#checkpointsMissing = true;
    }
    record.deferredAtDrain = -1;
    if (once) {
      record.live = false;
      this.#live.delete(record);
    }
    this.#drained = false;
    try {
      callback();
    } finally {
      queueMicrotask(this.#markDrained);
    }
    return true;
  }

  #remove(record: SourceRecord): void {
    if (!record.live) return;
    record.live = false;
    this.#live.delete(record);
    this.#stats.sourcesRemoved++;
    this.#glib.sourceRemove(record.id);
  }
}

export interface GLibLoopOptions extends GuestDriverOptions, GLibHostOptions {
  /** The loop to drive; default a new NodeEventLoop (epoll selector: sockets, addReader). */
  loop?: EventLoop;
}

/**
 * An eventide loop driven by GLib's main loop: ticks run from GLib idle,
 * timeout and fd sources, each within `budgetMs` (default 5 ms). GLib must
 * be running (`Gtk.main()`, `GLib.MainLoop.run()`, `app.run()`) for
 * anything to happen; `start()` only asks it for the first tick.
 *
 * @example
 * const gtk = new GLibLoop(GLib);
 * const stopped = gtk.start();
 * gtk.loop.createTask(function* () { label.setText(yield* fetchStatus()); });
 * void stopped.then(() => Gtk.mainQuit());
 * Gtk.main();
 */
export class GLibLoop {
  readonly loop: EventLoop;
  readonly host: GLibHost;
  readonly driver: GuestDriver;

  constructor(glib: GLibLike, options: GLibLoopOptions = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError(`GLibLoop: options must be an object, got ${describe(options)}`);
    checkGLib(glib, 'GLibLoop');
    this.host = new GLibHost(glib, options);
    const loop = options.loop ?? new NodeEventLoop();
    try {
      this.driver = new GuestDriver(loop, this.host, options);
    } catch (error) {
      if (options.loop === undefined) loop.close(); // ours: do not leak its epoll fd
      throw error;
    }
    this.loop = loop;
  }

  /**
   * Starts running the loop as a guest of GLib. Resolves when it stops
   * (`loop.stop()` or `glibLoop.stop()`); the loop stays open.
   *
   * @example
   * const stopped = glibLoop.start();
   */
  start(): Promise<void> {
    if (this.driver.running) throw new RuntimeError('GLibLoop.start: already started');
    return this.driver.start().finally(() => this.host.close());
  }

  /**
   * Stops driving the loop (it stays open; close it yourself).
   *
   * @example
   * glibLoop.stop();
   * glibLoop.loop.close();
   */
  stop(): void {
    this.driver.stop();
  }

  /**
   * Runs `main` to completion as a guest of GLib and returns its result
   * (GLib's loop must be running, or be started after this call).
   *
   * @example
   * const done = glibLoop.runUntilComplete(main).finally(() => Gtk.mainQuit());
   * Gtk.main();
   * await done;
   */
  runUntilComplete<T>(main: CoroutineLike<T> | Future<T>): Promise<T> {
    return this.driver.runUntilComplete(main).finally(() => this.host.close());
  }
}
