/**
 * Where the loop's time comes from. The loop reads its clock through this
 * interface only — core code never touches `Date.now()` or `performance`
 * directly — so tests and simulations can swap in virtual time (curio's
 * `Kernel(clock=…)`, Trio's `run(clock=…)`).
 *
 * Time is in milliseconds, from an arbitrary origin, and never goes back.
 */
export interface Clock {
  /** Current time in ms. Monotonic: never decreases. */
  now(): number;
  /**
   * Present on clocks that can skip idle time (virtual clocks). When the loop
   * has nothing ready and nothing to wait for from outside, it calls
   * `skipTo(deadline)` instead of sleeping — Trio's autojump.
   */
  skipTo?(deadlineMs: number): void;
}

/**
 * The real monotonic clock: `performance.now()`, which every JavaScript host
 * eventide supports (Node ≥ 16, browsers, workers) provides as a global.
 */
export class MonotonicClock implements Clock {
  readonly #performance: { now(): number };

  constructor() {
    const perf = (globalThis as { performance?: { now(): number } }).performance;
    if (perf === undefined || typeof perf.now !== 'function') {
      throw new TypeError('MonotonicClock needs globalThis.performance.now(); pass a Clock to the EventLoop instead');
    }
    this.#performance = perf;
  }

  now(): number {
    return this.#performance.now();
  }
}

/**
 * A clock that only moves when told to: by `advance(ms)` / `skipTo(ms)`, or
 * by the loop jumping to its next timer when nothing else can happen.
 * Sleeps and timeouts then take no real time and every run is reproducible.
 *
 * @example
 * const loop = new EventLoop({ clock: 'virtual' });
 * // or: const clock = new VirtualClock(); new EventLoop({ clock });
 */
export class VirtualClock implements Clock {
  #nowMs: number;

  constructor(startMs = 0) {
    this.#nowMs = startMs;
  }

  now(): number {
    return this.#nowMs;
  }

  /** Moves time forward by `ms` (>= 0). */
  advance(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`VirtualClock.advance: ms must be a finite number >= 0, got ${ms}`);
    this.#nowMs += ms;
  }

  /** Moves time forward to `deadlineMs`; never backwards. */
  skipTo(deadlineMs: number): void {
    if (deadlineMs > this.#nowMs) this.#nowMs = deadlineMs;
  }
}
