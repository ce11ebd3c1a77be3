/**
 * The browser host: eventide as a guest of the page's own event loop.
 *
 * The page's loop is the host (see guest.ts for the contract); this file
 * gives the driver the three things it asks for, each with the browser
 * primitive that fits:
 *  - "soon" is a MessageChannel message. It is the cheapest way back into
 *    the browser's task queue that still lets it handle input and paint in
 *    between. Not `setTimeout(0)`: nested timeouts are clamped to >= 4 ms
 *    (HTML spec, after five levels), which would cap the loop at ~250
 *    ticks/s. Not a microtask: microtasks never yield to the browser.
 *    (`setImmediate` does not exist in browsers; React's scheduler makes the
 *    same choice.)
 *  - "after N ms" is `setTimeout`; the clamp does not matter for deadlines.
 *  - `shouldYield` is `navigator.scheduling.isInputPending()` where the
 *    browser has it, so a tick ends as soon as the user touches anything,
 *    not only when its 5 ms budget is spent.
 * Frames are a fourth source: `nextFrame()` resolves in the page's next
 * requestAnimationFrame callback, and the loop runs a turn right there, so
 * work woken by a frame (drawing) happens before that frame is painted. A
 * hidden page runs no frames: after FRAME_TIMEOUT_MS a timer stands in.
 *
 * The browser's own loop never waits for us: every tick is bounded by the
 * budget, so input and painting are never held up by more than about one
 * budget plus one callback. Critical-lane callbacks (input handlers) are
 * never cut short, so keep them short.
 *
 * No Node imports and no DOM types: the globals used are looked up on
 * `globalThis` through the small structural types below, so this file also
 * loads (and its fallbacks work) in Node and in workers.
 */
import { describe } from '../core/assert.js';
import { RuntimeError } from '../core/errors.js';
import type { EventLoopOptions } from '../core/loop-options.js';
import { getRunningLoop, EventLoop, type CoroutineLike } from '../tasks/event-loop.js';
import type { Future } from '../tasks/future.js';
import type { Operation } from '../tasks/operation.js';
import { cancelAllTasks, run as runPortable } from '../tasks/run.js';
import { GuestDriver, type GuestDriverOptions, type GuestHost } from './guest.js';

/** The browser globals this host uses (all optional but the timers). */
interface BrowserGlobals {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(id: unknown): void;
  performance: { now(): number };
  MessageChannel?: new () => {
    port1: { onmessage: ((event: unknown) => void) | null; close(): void };
    port2: { postMessage(message: unknown): void; close(): void };
  };
  requestAnimationFrame?: (callback: (timestampMs: number) => void) => number;
  cancelAnimationFrame?: (id: number) => void;
  navigator?: { scheduling?: { isInputPending?: (options?: { includeContinuous?: boolean }) => boolean } };
}

/** How often frames come when the page has no requestAnimationFrame (a worker): 60 Hz. */
const FALLBACK_FRAME_MS = 1000 / 60;

/**
 * How long a frame is waited for before a timer stands in for it. A hidden
 * page (a background tab, a minimised window) runs no requestAnimationFrame
 * callbacks at all, so without this a task waiting for a frame would wait
 * until the page is shown again — forever, for a page never shown.
 * React's scheduler raced its requestAnimationFrame with a 100 ms timeout
 * for the same reason. A visible page paints every ~16 ms, well within it;
 * in a hidden one the browser throttles the timer too (Chromium: to about
 * once a second), so hidden frames come slowly, as they should.
 */
const FRAME_TIMEOUT_MS = 100;

export interface BrowserHostOptions {
  /**
   * End a tick early when the browser reports pending input
   * (`navigator.scheduling.isInputPending`, where available). Default true.
   */
  yieldToInput?: boolean;
}

/**
 * The page's event loop as a GuestHost: MessageChannel for "soon",
 * setTimeout for deadlines, isInputPending for early yields,
 * requestAnimationFrame for frames.
 *
 * @example
 * const driver = new GuestDriver(loop, new BrowserHost());
 */
export class BrowserHost implements GuestHost {
  readonly #g: BrowserGlobals;
  /** Created on first use and released by close(): an open port keeps a Node or worker process alive. */
  #channel: InstanceType<NonNullable<BrowserGlobals['MessageChannel']>> | null = null;
  /** Callbacks waiting for their message, FIFO (one message each). */
  #soon: (() => void)[] = [];
  #soonHead = 0;
  readonly #isInputPending: (() => boolean) | null;

  constructor(options: BrowserHostOptions = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError(`BrowserHost: options must be an object, got ${describe(options)}`);
    const g = globalThis as unknown as BrowserGlobals;
    this.#g = g;
    const scheduling = g.navigator?.scheduling;
    const isInputPending = scheduling?.isInputPending;
    const continuous = { includeContinuous: true };
    this.#isInputPending =
      (options.yieldToInput ?? true) && typeof isInputPending === 'function' ? () => isInputPending.call(scheduling, continuous) : null;
  }

  /** Whether `isInputPending` is in use (the browser has it and it was not turned off). */
  get usesInputPending(): boolean {
    return this.#isInputPending !== null;
  }

  callSoon(callback: () => void): void {
    const g = this.#g;
    if (typeof g.MessageChannel !== 'function') {
      g.setTimeout(callback, 0); // no MessageChannel (very old runtimes): clamped, but works
      return;
    }
    if (this.#channel === null) {
      const channel = new g.MessageChannel();
      const soon = this.#soon;
      channel.port1.onmessage = () => this.#runOneSoon(soon);
      this.#channel = channel;
    }
    this.#soon.push(callback);
    this.#channel.port2.postMessage(null);
  }

  callLater(delayMs: number, callback: () => void): () => void {
    // Whole ms, never early by the monotonic clock: the driver recomputes
    // anyway, but an early timer would cost an empty turn.
    const id = this.#g.setTimeout(callback, Math.max(1, Math.ceil(delayMs)));
    return () => this.#g.clearTimeout(id);
  }

  shouldYield(): boolean {
    return this.#isInputPending !== null && this.#isInputPending();
  }

  now(): number {
    return this.#g.performance.now();
  }

  /**
   * Calls `callback(timestampMs)` before the page's next paint, or from a
   * timer after FRAME_TIMEOUT_MS if no frame comes (a hidden page); a 60 Hz
   * timer where there is no requestAnimationFrame.
   */
  requestFrame(callback: (timestampMs: number) => void): void {
    requestFrame(this.#g, callback);
  }

  /**
   * Releases the MessageChannel; "soon" callbacks not yet run are dropped.
   * The host can be used again afterwards (a new channel is made).
   */
  close(): void {
    const channel = this.#channel;
    if (channel === null) return;
    this.#channel = null;
    channel.port1.onmessage = null;
    channel.port1.close();
    channel.port2.close();
    this.#soon = [];
    this.#soonHead = 0;
  }

  /** One message arrived: run the oldest callback of the channel's queue `soon`. */
  #runOneSoon(soon: (() => void)[]): void {
    if (soon !== this.#soon) return; // a message of a channel closed meanwhile
    const callback = soon[this.#soonHead];
    if (callback === undefined) return;
    soon[this.#soonHead++] = undefined as unknown as () => void;
    if (this.#soonHead === soon.length) {
      soon.length = 0;
      this.#soonHead = 0;
    }
    callback();
  }
}

/**
 * requestAnimationFrame raced with a FRAME_TIMEOUT_MS timer (whichever
 * comes first calls back, once, and cancels the other), or a 60 Hz timer
 * where the global has no requestAnimationFrame (workers, Node).
 */
function requestFrame(g: BrowserGlobals, callback: (timestampMs: number) => void): void {
  if (typeof g.requestAnimationFrame !== 'function') {
    g.setTimeout(() => callback(g.performance.now()), FALLBACK_FRAME_MS);
    return;
  }
  let frameId: number | null = null;
  let timerId: unknown = null;
  const onFrame = (timestampMs: number): void => {
    if (frameId === null) return; // the timer came first
    frameId = null;
    g.clearTimeout(timerId);
    callback(timestampMs);
  };
  const onTimeout = (): void => {
    if (frameId === null) return; // the frame came first (its clearTimeout was too late)
    g.cancelAnimationFrame?.(frameId);
    frameId = null;
    callback(g.performance.now());
  };
  frameId = g.requestAnimationFrame(onFrame);
  timerId = g.setTimeout(onTimeout, FRAME_TIMEOUT_MS);
}

export interface BrowserLoopOptions extends GuestDriverOptions, BrowserHostOptions {
  /** The loop to drive; default a new real-time EventLoop. */
  loop?: EventLoop;
}

/** The BrowserLoop driving each loop, for nextFrame(). */
const browserLoops = new WeakMap<EventLoop, BrowserLoop>();
/** Frame waiters of each loop. */
const frameClocks = new WeakMap<EventLoop, FrameClock>();

/**
 * An EventLoop driven by the page: ticks run from MessageChannel messages,
 * timers and animation frames, each within `budgetMs` (default 5 ms).
 *
 * @example
 * const browser = new BrowserLoop({ budgetMs: 5 });
 * browser.start();
 * browser.loop.createTask(function* () {
 *   for (;;) draw(yield* nextFrame());
 * }, { priority: 'high' });
 */
export class BrowserLoop {
  readonly loop: EventLoop;
  readonly host: BrowserHost;
  readonly driver: GuestDriver;

  constructor(options: BrowserLoopOptions = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError(`BrowserLoop: options must be an object, got ${describe(options)}`);
    this.loop = options.loop ?? new EventLoop();
    this.host = new BrowserHost(options);
    this.driver = new GuestDriver(this.loop, this.host, options);
  }

  /**
   * Starts running the loop as a guest of the page. Resolves when it
   * stops (`loop.stop()` or `browserLoop.stop()`). It can be started
   * again once stopped, at once (`stop(); start()`) or later.
   *
   * @example
   * const stopped = browserLoop.start();
   */
  start(): Promise<void> {
    const existing = browserLoops.get(this.loop);
    if (existing !== undefined && existing !== this && existing.driver.running) {
      throw new RuntimeError('BrowserLoop.start: another BrowserLoop drives this event loop');
    }
    browserLoops.set(this.loop, this);
    return this.driver.start().finally(this.#releaseHost);
  }

  /**
   * Stops driving the loop (it stays open).
   *
   * @example
   * browserLoop.stop();
   * browserLoop.loop.close();
   */
  stop(): void {
    this.driver.stop();
  }

  /**
   * Runs `main` to completion as a guest of the page and returns its result.
   *
   * @example
   * const answer = await new BrowserLoop().runUntilComplete(function* () { return 42; });
   */
  runUntilComplete<T>(main: CoroutineLike<T> | Future<T>): Promise<T> {
    browserLoops.set(this.loop, this);
    return this.driver.runUntilComplete(main).finally(this.#releaseHost);
  }

  /**
   * After a run: release the host's MessageChannel — unless the driver was
   * started again meanwhile (stop() then start() in one go: this runs a
   * microtask later), whose "soon" the channel now carries.
   */
  readonly #releaseHost = (): void => {
    if (!this.driver.running) this.host.close();
  };

  /** Called by the frame clock inside requestAnimationFrame: run the woken frame work before paint. */
  runFrameTurn(): void {
    if (this.driver.running) this.driver.runTurn();
  }
}

/**
 * What `run` / `runInBrowser` accept: the loop's options, except `host`
 * (the page is the host), plus the driver's and the host's. With a clock
 * other than 'real' (virtual time) the page does not drive the loop: it is
 * the portable `run`, and `budgetMs` / `yieldToInput` are refused.
 */
export interface BrowserRunOptions extends Omit<EventLoopOptions, 'host'>, GuestDriverOptions, BrowserHostOptions {}

/**
 * `run(main)` for the page — the `run` exported by 'eventide/browser': a
 * new loop driven by the browser (a BrowserLoop), `main` run to
 * completion, leftover tasks cancelled, the loop closed. Same contract as
 * the portable `run`, but every turn stays within `budgetMs` (the portable
 * one runs each tick's whole batch in one browser task, however long), a
 * critical DOM event is handled in its own browser task, and frame work
 * runs before paint.
 *
 * @example
 * import { run, fromEvent } from 'eventide/browser';
 * await run(function* () {
 *   const clicks = fromEvent(button, 'click');
 *   yield* clicks.next();
 * }, { budgetMs: 8 });
 */
export function run<T>(main: CoroutineLike<T>, options: BrowserRunOptions = {}): Promise<T> {
  return runBrowserLoop(main, options, 'run');
}

/**
 * The browser `run`, under a name that cannot be confused with the
 * portable one.
 *
 * @example
 * await runInBrowser(function* () {
 *   const click = fromEvent(button, 'click');
 *   yield* click.next();
 * });
 */
export function runInBrowser<T>(main: CoroutineLike<T>, options: BrowserRunOptions = {}): Promise<T> {
  return runBrowserLoop(main, options, 'runInBrowser');
}

async function runBrowserLoop<T>(main: CoroutineLike<T>, options: BrowserRunOptions, who: string): Promise<T> {
  if (options === null || typeof options !== 'object') throw new TypeError(`${who}: options must be an object, got ${describe(options)}`);
  const { budgetMs, yieldToInput, ...loopOptions } = options as BrowserRunOptions & { host?: unknown; clock?: unknown; loop?: unknown };
  if (loopOptions.host !== undefined || loopOptions.loop !== undefined) {
    throw new TypeError(`${who}: options.host and options.loop are not allowed (the page drives a new loop); use new BrowserLoop({ loop }) to drive a loop of your own`);
  }
  const clock = loopOptions.clock as unknown;
  const virtual = clock === 'virtual' || (typeof clock === 'object' && clock !== null && (clock as { skipTo?: unknown }).skipTo !== undefined);
  if (virtual) {
    // Virtual time is not the page's to drive (its timers would never move
    // the clock): the portable run jumps from deadline to deadline, as it
    // does everywhere, and the driver's options do not apply.
    if (budgetMs !== undefined || yieldToInput !== undefined) {
      throw new TypeError(`${who}: options.budgetMs and options.yieldToInput apply to the page's real clock, not to options.clock ${describe(loopOptions.clock)}`);
    }
    return runPortable(main, loopOptions as EventLoopOptions);
  }
  const fresh = new EventLoop(loopOptions as EventLoopOptions);
  let browser: BrowserLoop;
  try {
    browser = new BrowserLoop({ loop: fresh, budgetMs, yieldToInput });
  } catch (error) {
    fresh.close(); // a bad budgetMs: the loop made for this run is nobody's
    throw error;
  }
  const loop = browser.loop;
  try {
    return await browser.runUntilComplete(loop.createTask(main, { name: 'main' }));
  } finally {
    try {
      await cancelAllTasks(loop, (future) => browser.runUntilComplete(future));
    } finally {
      loop.close();
    }
  }
}

/**
 * Waits for the page's next animation frame and evaluates to its timestamp
 * (ms, the requestAnimationFrame clock). Under a BrowserLoop the woken
 * task runs inside that frame callback — before the browser paints — at
 * its own priority (give drawing tasks 'high' so background work cannot
 * push them past the paint). Many tasks waiting for the same frame share
 * one requestAnimationFrame. `loop` defaults to the running loop.
 *
 * A hidden page (a background tab) runs no animation frames, so there a
 * timer stands in after 100 ms (FRAME_TIMEOUT_MS; the browser throttles
 * it further, Chromium to about once a second) and the timestamp is
 * `performance.now()`: a drawing loop slows down instead of hanging until
 * the page is shown again.
 *
 * @example
 * loop.createTask(function* () {
 *   for (;;) {
 *     const t = yield* nextFrame();
 *     drawSpinner(ctx, t);
 *   }
 * }, { priority: 'high' });
 */
export function nextFrame(loop?: EventLoop): Operation<number> {
  if (loop !== undefined && !(loop instanceof EventLoop)) throw new TypeError(`nextFrame: loop must be an EventLoop, got ${describe(loop)}`);
  return {
    *[Symbol.iterator]() {
      loop ??= getRunningLoop();
      let clock = frameClocks.get(loop);
      if (clock === undefined) {
        clock = new FrameClock(loop);
        frameClocks.set(loop, clock);
      }
      return yield* clock.request();
    },
  };
}

/** One requestAnimationFrame per frame for all of a loop's waiters. */
class FrameClock {
  readonly #loop: EventLoop;
  #waiters: Future<number>[] = [];
  #requested = false;
  readonly #onFrame = (timestampMs: number): void => {
    this.#requested = false;
    const waiters = this.#waiters;
    this.#waiters = [];
    if (this.#loop.isClosed()) return;
    for (const future of waiters) if (!future.done()) future.setResult(timestampMs);
    browserLoops.get(this.#loop)?.runFrameTurn();
  };

  constructor(loop: EventLoop) {
    this.#loop = loop;
  }

  request(): Future<number> {
    const future = this.#loop.createFuture<number>();
    this.#waiters.push(future);
    if (!this.#requested) {
      this.#requested = true;
      requestFrame(globalThis as unknown as BrowserGlobals, this.#onFrame);
    }
    return future;
  }
}
