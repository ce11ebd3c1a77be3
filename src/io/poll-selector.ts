/**
 * PollSelector: the core `Selector` on poll(2), the portable fallback.
 *
 * Why keep it next to epoll: poll(2) is POSIX, needs no kernel object of
 * its own, and is the reference semantics epoll is tested against (the
 * same contract tests run on both). It costs O(registered fds) per wait,
 * so it suits a few fds, not ten thousand connections.
 *
 * How it differs from epoll, and what this code does about it:
 *  - The set of fds lives in our memory, not the kernel's: an array of
 *    C `struct pollfd` (8 bytes: int32 fd, int16 events, int16 revents)
 *    that the kernel reads and writes in place. We keep it in one
 *    ArrayBuffer with an Int32Array view (fd at [2i]) and an Int16Array
 *    view (events at [4i+2], revents at [4i+3]); nothing is copied per wait.
 *  - Unregistering swaps the last slot into the freed one (O(1)); slot 0 is
 *    always the wake-up eventfd, drained inside `select`, never reported.
 *  - poll(2) accepts any number as an fd and reports a closed one as
 *    POLLNVAL on every wait; it never says "not open" up front. `register`
 *    therefore asks the kernel first (fcntl F_GETFD) so that a closed fd
 *    fails there, naming the fd, as it does with epoll. An fd closed *after*
 *    registering is reported ready (read and write) until it is
 *    unregistered, as asyncio does: its callback's next call gets EBADF.
 *  - POLLERR, POLLHUP and POLLNVAL come unasked and are reported as
 *    readable and writable, masked by what is registered (as asyncio).
 *  - Ready fds are collected before any `onReady` call, so a callback that
 *    unregisters fds (moving slots) cannot make us skip or repeat one.
 *  - Timeouts as EpollSelector: whole ms, fractions rounded up, EINTR → 0.
 */
import { EVENT_READ, EVENT_WRITE, type ReadyCallback, type Selector } from '../core/selector.js';
import { checkErrno, osError } from './errors.js';
import { checkEvents, checkFd, createWakeupFd, FdMasks, signalWakeupFd, toKernelTimeoutMs } from './selector-support.js';
import { syscalls as sys } from './syscalls.js';

const { POLLIN, POLLOUT, F_GETFD } = sys.constants;
const POLLFD_BYTES = 8;

function toPoll(events: number): number {
  return (events & EVENT_READ ? POLLIN : 0) | (events & EVENT_WRITE ? POLLOUT : 0);
}

/**
 * The poll(2) selector, with an eventfd for wake-ups.
 *
 * @example
 * import { EventLoop } from 'eventide';
 * import { PollSelector } from 'eventide/node';
 * const loop = new EventLoop({ selector: new PollSelector() });
 */
export class PollSelector implements Selector {
  readonly name = 'PollSelector';
  readonly supportsFds = true;
  readonly #wakeFd: number;
  /** The pollfd array: `#used` slots are live; slot 0 is the wake-up fd. */
  #fds32: Int32Array;
  #fds16: Int16Array;
  #used = 1;
  /** fd → its slot in the pollfd array. */
  readonly #slotOf = new Map<number, number>();
  readonly #masks = new FdMasks();
  /** Scratch for one wait's results: [fd, events] pairs, reused. */
  #ready = new Int32Array(32);
  #closed = false;

  constructor() {
    this.#wakeFd = createWakeupFd('PollSelector');
    const buffer = new ArrayBuffer(16 * POLLFD_BYTES);
    this.#fds32 = new Int32Array(buffer);
    this.#fds16 = new Int16Array(buffer);
    this.#fds32[0] = this.#wakeFd;
    this.#fds16[2] = POLLIN;
  }

  /** Number of fds registered (the internal wake-up fd is not counted). */
  get fdCount(): number {
    return this.#masks.size;
  }

  /** The wake-up eventfd: writing a count to it (eventfdWrite) wakes the selector, from any thread. */
  get wakeupFd(): number {
    return this.#wakeFd;
  }

  /** Starts watching `fd`; an fd that is not open throws an OSError naming it. */
  register(fd: number, events: number): void {
    this.#checkOpen('register');
    checkFd(fd, 'PollSelector.register');
    checkEvents(events, 'PollSelector.register');
    if (this.#masks.get(fd) !== 0 || fd === this.#wakeFd) {
      throw new Error(`PollSelector.register: fd ${fd} is already registered (use modify to change its events)`);
    }
    const open = sys.fcntl(fd, F_GETFD, 0);
    if (open < 0) throw osError(open, 'fcntl', `PollSelector.register(fd ${fd})`);
    if (this.#used * POLLFD_BYTES === this.#fds32.byteLength) this.#grow();
    const slot = this.#used++;
    this.#fds32[2 * slot] = fd;
    this.#fds16[4 * slot + 2] = toPoll(events);
    this.#fds16[4 * slot + 3] = 0;
    this.#slotOf.set(fd, slot);
    this.#masks.set(fd, events);
  }

  /** Changes the events `fd` is watched for. */
  modify(fd: number, events: number): void {
    this.#checkOpen('modify');
    checkFd(fd, 'PollSelector.modify');
    checkEvents(events, 'PollSelector.modify');
    const slot = this.#slotOf.get(fd);
    if (slot === undefined) throw new Error(`PollSelector.modify: fd ${fd} is not registered`);
    this.#fds16[4 * slot + 2] = toPoll(events);
    this.#masks.set(fd, events);
  }

  /** Stops watching `fd` (also after it was closed). */
  unregister(fd: number): void {
    this.#checkOpen('unregister');
    checkFd(fd, 'PollSelector.unregister');
    const slot = this.#slotOf.get(fd);
    if (slot === undefined) throw new Error(`PollSelector.unregister: fd ${fd} is not registered`);
    const last = --this.#used;
    if (slot !== last) {
      const movedFd = this.#fds32[2 * last] as number;
      this.#fds32[2 * slot] = movedFd;
      this.#fds16[4 * slot + 2] = this.#fds16[4 * last + 2] as number;
      this.#slotOf.set(movedFd, slot);
    }
    this.#slotOf.delete(fd);
    this.#masks.delete(fd);
  }

  /** Waits up to `timeoutMs`, then reports each ready registered fd once; returns how many. */
  select(timeoutMs: number, onReady: ReadyCallback): number {
    this.#checkOpen('select');
    let remaining = sys.poll(this.#fds32, this.#used, toKernelTimeoutMs(timeoutMs, 'PollSelector.select'));
    if (remaining < 0) throw osError(remaining, 'poll', 'PollSelector.select');
    if (remaining === 0) return 0;
    const fds32 = this.#fds32;
    const fds16 = this.#fds16;
    if (this.#ready.length < 2 * remaining) this.#ready = new Int32Array(2 * remaining);
    const ready = this.#ready;
    let found = 0;
    for (let slot = 0; slot < this.#used && remaining > 0; slot++) {
      const revents = fds16[4 * slot + 3] as number;
      if (revents === 0) continue;
      remaining--;
      if (slot === 0) {
        sys.eventfdRead(this.#wakeFd); // drain; coalesces every wake-up so far
        continue;
      }
      // Anything but POLLIN counts as writable, anything but POLLOUT as readable.
      let events = 0;
      if (revents & ~POLLIN) events |= EVENT_WRITE;
      if (revents & ~POLLOUT) events |= EVENT_READ;
      ready[2 * found] = fds32[2 * slot] as number;
      ready[2 * found + 1] = events;
      found++;
    }
    let reported = 0;
    for (let i = 0; i < found; i++) {
      const fd = ready[2 * i] as number;
      const events = (ready[2 * i + 1] as number) & this.#masks.get(fd);
      if (events !== 0) {
        reported++;
        onReady(fd, events);
      }
    }
    return reported;
  }

  /** Makes a blocked or the next `select` return promptly. A no-op after close. */
  wakeup(): void {
    if (this.#closed) return;
    signalWakeupFd(this.#wakeFd, 'PollSelector.wakeup');
  }

  /** Closes the wake-up fd. Idempotent. Registered fds are not closed. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#slotOf.clear();
    this.#masks.clear();
    this.#used = 1;
    checkErrno(sys.close(this.#wakeFd), 'close', 'PollSelector wake-up eventfd');
  }

  #grow(): void {
    const buffer = new ArrayBuffer(this.#fds32.byteLength * 2);
    new Uint8Array(buffer).set(new Uint8Array(this.#fds32.buffer));
    this.#fds32 = new Int32Array(buffer);
    this.#fds16 = new Int16Array(buffer);
  }

  #checkOpen(what: string): void {
    if (this.#closed) throw new Error(`PollSelector.${what}: the selector is closed`);
  }
}
