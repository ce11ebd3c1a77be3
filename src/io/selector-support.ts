/**
 * What EpollSelector and PollSelector share: argument checks, the timeout
 * conversion, the fd → mask table, and the wake-up eventfd.
 *
 * Timeouts. The kernel waits take whole milliseconds (an int; -1 = forever).
 * A fractional timeout is rounded UP: the loop asks for "until the next
 * timer", often 0.3 ms away, and truncating that to 0 would make the loop
 * spin, polling without sleeping, until the timer is due. Rounding up
 * costs at most 1 ms of lateness, and the timer is then due. Infinity maps
 * to -1; anything above MAX_KERNEL_TIMEOUT_MS (~24.8 days) is clamped,
 * which the loop tolerates as an early return.
 */
import { describe } from '../core/assert.js';
import { EVENT_READ, EVENT_WRITE } from '../core/selector.js';
import { checkErrno, EAGAIN } from './errors.js';
import { syscalls as sys } from './syscalls.js';

/** The largest timeout the kernel accepts, in ms (INT_MAX). */
export const MAX_KERNEL_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * Selector timeout (ms, Infinity = forever) → the kernel's int ms.
 * Negative means "just poll" (0); NaN or a non-number is a RangeError.
 */
export function toKernelTimeoutMs(timeoutMs: number, who: string): number {
  if (typeof timeoutMs === 'number' && timeoutMs > 0) {
    if (timeoutMs === Infinity) return -1;
    return timeoutMs >= MAX_KERNEL_TIMEOUT_MS ? MAX_KERNEL_TIMEOUT_MS : Math.ceil(timeoutMs);
  }
  if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs)) {
    throw new RangeError(`${who}: timeoutMs must be a number of milliseconds (Infinity = forever), got ${describe(timeoutMs)}`);
  }
  return 0;
}

/** Throws a TypeError unless `fd` is a non-negative integer. */
export function checkFd(fd: unknown, who: string): asserts fd is number {
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) {
    throw new TypeError(`${who}: fd must be a non-negative integer, got ${describe(fd)}`);
  }
}

/** Throws a RangeError unless `events` is a non-empty mask of EVENT_READ | EVENT_WRITE. */
export function checkEvents(events: unknown, who: string): asserts events is number {
  if (events !== EVENT_READ && events !== EVENT_WRITE && events !== (EVENT_READ | EVENT_WRITE)) {
    throw new RangeError(`${who}: events must be EVENT_READ, EVENT_WRITE or both (1, 2 or 3), got ${describe(events)}`);
  }
}

/**
 * fd → registered mask (0 = not registered), as a byte array indexed by
 * fd. fds are small dense integers, so this beats a Map on the hot path
 * (one lookup per ready fd per tick); it doubles when a larger fd arrives.
 */
export class FdMasks {
  #masks = new Uint8Array(64);
  #size = 0;

  /** Number of registered fds. */
  get size(): number {
    return this.#size;
  }

  /** The mask of `fd`; 0 when not registered. */
  get(fd: number): number {
    return fd < this.#masks.length ? (this.#masks[fd] as number) : 0;
  }

  /** Sets a non-zero mask. */
  set(fd: number, mask: number): void {
    if (fd >= this.#masks.length) {
      let length = this.#masks.length * 2;
      while (length <= fd) length *= 2;
      const grown = new Uint8Array(length);
      grown.set(this.#masks);
      this.#masks = grown;
    }
    if (this.#masks[fd] === 0) this.#size++;
    this.#masks[fd] = mask;
  }

  /** Forgets `fd`; returns its old mask (0 if it was not registered). */
  delete(fd: number): number {
    const old = this.get(fd);
    if (old !== 0) {
      this.#masks[fd] = 0;
      this.#size--;
    }
    return old;
  }

  clear(): void {
    this.#masks = new Uint8Array(64);
    this.#size = 0;
  }
}

/**
 * A non-blocking eventfd for wake-ups. Writing 1 makes it readable; one
 * read drains it however many writes came first, so wake-ups coalesce.
 */
export function createWakeupFd(who: string): number {
  const { EFD_NONBLOCK, EFD_CLOEXEC } = sys.constants;
  return checkErrno(sys.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), 'eventfd', who);
}

/**
 * Makes a blocked or the next wait on `wakeFd` return. -EAGAIN means the
 * counter is saturated, i.e. a wake-up is already pending: fine.
 */
export function signalWakeupFd(wakeFd: number, who: string): void {
  const result = sys.eventfdWrite(wakeFd, 1);
  if (result < 0 && result !== -EAGAIN) checkErrno(result, 'eventfd write', who);
}
