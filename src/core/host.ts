/**
 * The host: whoever gives the JavaScript thread back to the loop.
 *
 * A JavaScript loop cannot simply block forever like the seed's
 * `while not stopping: run_once()`: native promises, `async` functions and
 * the runtime's own timers and I/O only progress when the thread returns to
 * the runtime's loop. So `runForever` runs ticks while there is work and,
 * when it would block, asks its host to wait instead — the host's loop does
 * the sleeping and everything else it owns keeps running. Trio calls this
 * guest mode; React's scheduler calls its host part `requestHostCallback`.
 *
 * Contract:
 *  - `wait(timeoutMs)` resolves after about `timeoutMs` (Infinity: only on
 *    wake), or sooner once `wake()` is called. One wait at a time.
 *  - `wake()` ends the pending wait; if none is pending, it makes the next
 *    `wait` resolve at once (a wake-up is never lost).
 *  - `yieldToHost()` resolves after the host has had one turn at its own
 *    queued work (timers, I/O callbacks, rendering).
 *  - `shouldYield()` says the loop has held the thread long enough; it is
 *    polled between ticks and must be cheap.
 *  - Optionally, `wait` may use the `tick` it is given (a HostTick): when
 *    the wait would end, from a fresh callback of the host's own loop (not
 *    from a microtask), the host may call `tick()` instead of ending the
 *    wait. That runs the loop's tick right there and returns how long to
 *    go on waiting (a new timeout, Infinity: no deadline), or 0: end the
 *    wait now. A wait that goes on costs no promise and no microtask hop:
 *    the host's callback returning is the tick's microtask checkpoint.
 */
export interface LoopHost {
  wait(timeoutMs: number, tick?: HostTick): Promise<void>;
  wake(): void;
  yieldToHost(): Promise<void>;
  shouldYield(): boolean;
  close(): void;
}

/**
 * The loop's tick, run by a host from its own callback while a wait is
 * pending (see LoopHost): returns the ms to go on waiting, or 0 to end the
 * wait (the loop then carries on from after this tick).
 *
 * @example
 * // In a host whose wait ends from a callback of its own loop:
 * wait(timeoutMs: number, tick?: HostTick): Promise<void> {
 *   const waited = new Promise<void>((resolve) => (this.#end = resolve));
 *   const onWake = (): void => {                // an fd is ready, or the deadline came
 *     const nextMs = tick?.() ?? 0;             // run the loop's tick right here
 *     if (nextMs > 0) this.#watchUntil(nextMs, onWake); // still idle: wait on
 *     else this.#end();                         // work ready: hand back to runForever
 *   };
 *   this.#watchUntil(timeoutMs, onWake);
 *   return waited;
 * }
 */
export type HostTick = () => number;

type TimerId = unknown;
interface HostGlobals {
  setTimeout(cb: () => void, ms: number): TimerId;
  clearTimeout(id: TimerId): void;
  setImmediate?: (cb: () => void) => unknown;
  setInterval?: (cb: () => void, ms: number) => unknown;
  clearInterval?: (id: unknown) => void;
  MessageChannel?: new () => { port1: { onmessage: (() => void) | null; close(): void }; port2: { postMessage(v: unknown): void; close(): void } };
  performance: { now(): number };
}

/** How long the loop may keep the thread before letting the host run (React uses 5 ms frames). */
export const DEFAULT_HOST_SLICE_MS = 5;

/**
 * A host built from the timer globals every JavaScript runtime has.
 * Turns are requested with the cheapest "as soon as possible" primitive the
 * runtime offers: `setImmediate` (Node: runs after I/O callbacks, no clamp),
 * else `MessageChannel` (browsers: no 4 ms clamp of nested setTimeout), else
 * `setTimeout(0)`.
 */
export class GlobalTimersHost implements LoopHost {
  readonly #g: HostGlobals;
  readonly #sliceMs: number;
  #sliceStart: number;
  /** `performance`, looked up once: the global getter costs on every call. */
  readonly #perf: { now(): number };
  /** shouldYield reads the clock only when this counts down to 0 (see there). */
  #countdown = 1;
  #interval = 1;
  #lastReadMs = 0;
  #resolveWait: (() => void) | null = null;
  #timer: TimerId | null = null;
  #wokenEarly = false;
  readonly #requestTurn: (cb: () => void) => void;
  #channel: InstanceType<NonNullable<HostGlobals['MessageChannel']>> | null = null;
  readonly #turnCallbacks: (() => void)[] = [];
  /**
   * Node only: a never-firing interval, unref'd except during a wait with
   * no deadline, so that such a wait keeps the process alive (as asyncio's
   * run_forever blocks) without a timer armed and cleared per wait
   * (ref + unref ~40 ns; setTimeout + clearTimeout ~600 ns). null where
   * timers have no ref() (browsers: nothing to keep alive); undefined
   * until the first such wait.
   */
  #keepAlive: { ref(): unknown; unref(): unknown } | null | undefined = undefined;
  #keepingAlive = false;

  /**
   * `keepAlive: false` (default true): a wait with no deadline does not
   * hold Node's process alive; for hosts built on this one that keep it
   * alive by other means (the Node hosts' libuv watchers).
   */
  constructor(sliceMs = DEFAULT_HOST_SLICE_MS, options: { keepAlive?: boolean } = {}) {
    this.#g = globalThis as unknown as HostGlobals;
    this.#sliceMs = sliceMs;
    if (options.keepAlive === false) this.#keepAlive = null;
    this.#perf = this.#g.performance;
    this.#sliceStart = this.#perf.now();
    const g = this.#g;
    if (typeof g.setImmediate === 'function') {
      const setImmediate = g.setImmediate;
      this.#requestTurn = (cb) => void setImmediate(cb);
    } else if (typeof g.MessageChannel === 'function') {
      const channel = new g.MessageChannel();
      this.#channel = channel;
      channel.port1.onmessage = () => this.#turnCallbacks.shift()?.();
      this.#requestTurn = (cb) => {
        this.#turnCallbacks.push(cb);
        channel.port2.postMessage(null);
      };
    } else {
      this.#requestTurn = (cb) => void g.setTimeout(cb, 0);
    }
  }

  wait(timeoutMs: number): Promise<void> {
    if (this.#wokenEarly || timeoutMs <= 0) {
      this.#wokenEarly = false;
      return this.yieldToHost();
    }
    const waited = new Promise<void>(this.#takeResolve);
    if (timeoutMs !== Infinity) {
      // setTimeout counts whole ms and may fire a little early by the
      // monotonic clock; the loop recomputes and waits again if so.
      this.#timer = this.#g.setTimeout(this.#onWaitTimer, Math.max(1, Math.ceil(timeoutMs)));
    } else {
      this.#holdProcess(true);
    }
    return waited;
  }

  /** The executor of every wait's promise, and its timer callback: bound once, so a wait allocates no closure of its own. */
  readonly #takeResolve = (resolve: () => void): void => {
    this.#resolveWait = resolve;
  };
  readonly #onWaitTimer = (): void => this.#endWait();

  /** Refs (true) or unrefs the keep-alive interval, creating it on first use. */
  #holdProcess(hold: boolean): void {
    if (this.#keepAlive === undefined) {
      const g = this.#g;
      const id = g.setInterval?.(() => {}, 2 ** 31 - 1);
      const handle = id as { ref?: unknown; unref?: unknown } | undefined;
      if (handle !== null && typeof handle === 'object' && typeof handle.ref === 'function' && typeof handle.unref === 'function') {
        this.#keepAlive = handle as { ref(): unknown; unref(): unknown };
        this.#keepAlive.unref();
      } else {
        if (id !== undefined) g.clearInterval?.(id);
        this.#keepAlive = null;
      }
    }
    if (this.#keepAlive === null || this.#keepingAlive === hold) return;
    this.#keepingAlive = hold;
    if (hold) this.#keepAlive.ref();
    else this.#keepAlive.unref();
  }

  wake(): void {
    if (this.#resolveWait === null) this.#wokenEarly = true;
    else this.#endWait();
  }

  yieldToHost(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#requestTurn(() => {
        this.#startSlice();
        resolve();
      });
    });
  }

  /**
   * Called after every tick, so it must cost next to nothing: a clock read
   * (~70 ns here) would be most of a short tick. It reads the clock only
   * every `#interval` calls, sized from the measured tick length to about
   * a quarter slice (1 to 64 ticks), so the slice is overrun by at most
   * about a quarter of it.
   */
  shouldYield(): boolean {
    if (--this.#countdown > 0) return false;
    const nowMs = this.#perf.now();
    if (nowMs - this.#sliceStart >= this.#sliceMs) return true;
    const perTickMs = (nowMs - this.#lastReadMs) / this.#interval;
    const fit = perTickMs > 0 ? Math.floor(this.#sliceMs / 4 / perTickMs) : 64;
    this.#interval = fit < 1 ? 1 : fit > 64 ? 64 : fit;
    this.#countdown = this.#interval;
    this.#lastReadMs = nowMs;
    return false;
  }

  #startSlice(): void {
    this.#sliceStart = this.#lastReadMs = this.#perf.now();
    this.#interval = this.#countdown = 1;
  }

  close(): void {
    if (this.#timer !== null) this.#g.clearTimeout(this.#timer);
    this.#timer = null;
    this.#channel?.port1.close();
    this.#channel?.port2.close();
    this.#endWait();
    if (this.#keepAlive) this.#g.clearInterval?.(this.#keepAlive);
    this.#keepAlive = null;
  }

  #endWait(): void {
    if (this.#timer !== null) {
      this.#g.clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#keepingAlive) this.#holdProcess(false);
    const resolve = this.#resolveWait;
    this.#resolveWait = null;
    this.#startSlice();
    resolve?.();
  }
}
