/**
 * EpollSelector: the core `Selector` on Linux's epoll.
 *
 * Some facts about epoll, and why this code is the way it is:
 *
 * 1. epoll watches open file *descriptions*, not fd numbers. A registration
 *    goes away by itself only when the last fd referring to the description
 *    is closed. If the fd was dup()ed or inherited by a child, closing ours
 *    leaves the registration alive, and events keep arriving labelled with
 *    a number that may by now name a different file. Hence the rule the
 *    loop follows: unregister, then close. And when the fd was closed
 *    first, EPOLL_CTL_DEL fails with EBADF (or ENOENT once the number is
 *    reused); `unregister` ignores exactly those two, since either way the
 *    registration is gone.
 *
 * 2. We use level-triggered mode (no EPOLLET, no EPOLLONESHOT). A reader
 *    that leaves data unread is reported again on the next tick: the
 *    semantics of select()/poll() that asyncio-style callbacks expect.
 *    Edge-triggered mode saves epoll_ctl calls only for code that always
 *    reads until EAGAIN, and silently loses events for code that doesn't.
 *
 * 3. An fd can be in one epoll set only once (a second ADD is EEXIST), so
 *    its reader and writer share one registration whose mask changes with
 *    EPOLL_CTL_MOD. That is why the Selector contract has `modify`.
 *
 * 4. EPOLLERR and EPOLLHUP are reported whether or not they were asked for.
 *    Like asyncio's selectors we report them as readable *and* writable
 *    (then masked by what is registered): the callback's next recv or send
 *    meets the real error or the end of file. Dropping them would spin: in
 *    level-triggered mode they are reported on every wait until handled.
 *
 * 5. Regular files and directories cannot be added (EPERM): they are always
 *    "ready" and epoll refuses them. The error says so.
 *
 * 6. epoll_wait returns at most as many events as the buffer holds; the
 *    kernel rotates its ready list, so the rest come on the next call and
 *    nothing starves. The buffer — an Int32Array of [fd, events] pairs,
 *    bound to the epoll fd once so each wait is one small native call —
 *    grows with the number of registered fds.
 *
 * 7. An epoll fd is itself pollable: it is readable whenever any fd in its
 *    set is ready. So Node's loop can wait on ours (a guest host watches
 *    `epollFd` with `uvPollOpen`), and libuv's backend fd can sit in our
 *    set (a blocking host adds `uvBackendFd()`).
 *
 * 8. The wait takes whole milliseconds: fractions are rounded up so the loop
 *    does not spin until a timer is due (selector-support.ts). EINTR ends
 *    the wait with nothing reported; the loop recomputes its timeout.
 *
 * 9. Wake-ups use an eventfd in the set. It is drained inside `select` and
 *    never reported to `onReady`; many wake-ups before one wait coalesce
 *    into one. Another thread can wake the selector by writing to
 *    `wakeupFd` (`eventfdWrite(fd, 1)` from a worker that loads the addon).
 */
import { EVENT_READ, EVENT_WRITE, type ReadyCallback, type Selector } from '../core/selector.js';
import { checkErrno, EBADF, ENOENT, EPERM, osError } from './errors.js';
import { checkEvents, checkFd, createWakeupFd, FdMasks, signalWakeupFd, toKernelTimeoutMs } from './selector-support.js';
import { syscalls as sys } from './syscalls.js';

const { EPOLLIN, EPOLLOUT, EPOLL_CTL_ADD, EPOLL_CTL_MOD, EPOLL_CTL_DEL, EPOLL_CLOEXEC } = sys.constants;

/** Initial and largest size of the event buffer, in [fd, events] pairs. */
const MIN_EVENTS = 64;
const MAX_EVENTS = 65536;

function toEpoll(events: number): number {
  return (events & EVENT_READ ? EPOLLIN : 0) | (events & EVENT_WRITE ? EPOLLOUT : 0);
}

/**
 * The Linux selector: epoll, level-triggered, with an eventfd for wake-ups.
 *
 * @example
 * import { EventLoop } from 'eventide';
 * import { EpollSelector } from 'eventide/node';
 * const loop = new EventLoop({ selector: new EpollSelector() });
 * loop.addReader(fd, () => onReadable());
 */
export class EpollSelector implements Selector {
  readonly name = 'EpollSelector';
  readonly supportsFds = true;
  readonly #epfd: number;
  readonly #wakeFd: number;
  /** The bound event buffer: [fd, events] pairs, written by epollWait. */
  #pairs: Int32Array;
  /** How many pairs #pairs holds (as bound on the native side). */
  #capacity: number;
  /** Registered fds and their EVENT_* masks; the wake-up fd is not in it. */
  readonly #masks = new FdMasks();
  #closed = false;

  constructor() {
    const epfd = checkErrno(sys.epollCreate1(EPOLL_CLOEXEC), 'epoll_create1', 'EpollSelector');
    let wakeFd = -1;
    try {
      wakeFd = createWakeupFd('EpollSelector');
      checkErrno(sys.epollCtl(epfd, EPOLL_CTL_ADD, wakeFd, EPOLLIN), 'epoll_ctl', 'EpollSelector wake-up eventfd');
      this.#pairs = new Int32Array(2 * MIN_EVENTS);
      this.#capacity = sys.epollBind(epfd, this.#pairs);
    } catch (error) {
      if (wakeFd >= 0) sys.close(wakeFd);
      sys.close(epfd);
      throw error;
    }
    this.#epfd = epfd;
    this.#wakeFd = wakeFd;
  }

  /** Number of fds registered (the internal wake-up fd is not counted). */
  get fdCount(): number {
    return this.#masks.size;
  }

  /** The epoll fd: readable whenever a registered fd is ready (for a host to watch). */
  get epollFd(): number {
    return this.#epfd;
  }

  /** The wake-up eventfd: writing a count to it (eventfdWrite) wakes the selector, from any thread. */
  get wakeupFd(): number {
    return this.#wakeFd;
  }

  /**
   * Starts watching `fd` for `events` (EVENT_READ | EVENT_WRITE). An fd that
   * is not open, or cannot be polled, throws an OSError naming it and
   * leaves the selector as it was.
   */
  register(fd: number, events: number): void {
    this.#checkOpen('register');
    checkFd(fd, 'EpollSelector.register');
    checkEvents(events, 'EpollSelector.register');
    if (this.#masks.get(fd) !== 0 || fd === this.#wakeFd) {
      throw new Error(`EpollSelector.register: fd ${fd} is already registered (use modify to change its events)`);
    }
    const result = sys.epollCtl(this.#epfd, EPOLL_CTL_ADD, fd, toEpoll(events));
    if (result < 0) throw this.#ctlError(result, 'register', fd);
    this.#masks.set(fd, events);
    if (this.#masks.size + 1 > this.#capacity && this.#capacity < MAX_EVENTS) this.#growBuffer();
  }

  /** Changes the events `fd` is watched for. */
  modify(fd: number, events: number): void {
    this.#checkOpen('modify');
    checkFd(fd, 'EpollSelector.modify');
    checkEvents(events, 'EpollSelector.modify');
    const old = this.#masks.get(fd);
    if (old === 0) throw new Error(`EpollSelector.modify: fd ${fd} is not registered`);
    if (old === events) return;
    const result = sys.epollCtl(this.#epfd, EPOLL_CTL_MOD, fd, toEpoll(events));
    if (result < 0) throw this.#ctlError(result, 'modify', fd);
    this.#masks.set(fd, events);
  }

  /** Stops watching `fd`. Works even if `fd` was already closed (see fact 1). */
  unregister(fd: number): void {
    this.#checkOpen('unregister');
    checkFd(fd, 'EpollSelector.unregister');
    if (this.#masks.get(fd) === 0) throw new Error(`EpollSelector.unregister: fd ${fd} is not registered`);
    const result = sys.epollCtl(this.#epfd, EPOLL_CTL_DEL, fd, 0);
    if (result < 0 && result !== -EBADF && result !== -ENOENT) throw this.#ctlError(result, 'unregister', fd);
    this.#masks.delete(fd);
  }

  /**
   * Waits up to `timeoutMs` (0: poll; Infinity: until an event or a
   * wake-up), then calls `onReady(fd, events)` once per ready registered fd
   * and returns how many it reported.
   */
  select(timeoutMs: number, onReady: ReadyCallback): number {
    this.#checkOpen('select');
    const count = sys.epollWait(this.#epfd, toKernelTimeoutMs(timeoutMs, 'EpollSelector.select'));
    if (count < 0) throw osError(count, 'epoll_wait', `EpollSelector.select, epoll fd ${this.#epfd}`);
    const pairs = this.#pairs;
    const masks = this.#masks;
    let reported = 0;
    for (let i = 0; i < count; i++) {
      const fd = pairs[2 * i] as number;
      const kernelEvents = pairs[2 * i + 1] as number;
      if (fd === this.#wakeFd) {
        sys.eventfdRead(fd); // drain; -EAGAIN (already drained) is fine
        continue;
      }
      // Fact 4: anything but EPOLLIN (OUT, ERR, HUP) counts as writable,
      // anything but EPOLLOUT (IN, ERR, HUP) as readable.
      let events = 0;
      if (kernelEvents & ~EPOLLIN) events |= EVENT_WRITE;
      if (kernelEvents & ~EPOLLOUT) events |= EVENT_READ;
      // Masking with the *current* registration also drops events for fds
      // unregistered after the wait (e.g. by an earlier onReady).
      events &= masks.get(fd);
      if (events !== 0) {
        reported++;
        onReady(fd, events);
      }
    }
    return reported;
  }

  /** Makes a blocked or the next `select` return promptly. A no-op after close. */
  wakeup(): void {
    if (this.#closed) return; // the eventfd's number may belong to someone else now
    signalWakeupFd(this.#wakeFd, 'EpollSelector.wakeup');
  }

  /** Closes the epoll fd and the wake-up fd. Idempotent. Registered fds are not closed. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#masks.clear();
    sys.close(this.#epfd); // also releases the bound buffer
    sys.close(this.#wakeFd);
  }

  #growBuffer(): void {
    let capacity = this.#capacity * 2;
    while (capacity < this.#masks.size + 1) capacity *= 2;
    const pairs = new Int32Array(2 * Math.min(capacity, MAX_EVENTS));
    this.#capacity = sys.epollBind(this.#epfd, pairs);
    this.#pairs = pairs;
  }

  #ctlError(result: number, what: string, fd: number): Error {
    const hint = result === -EPERM ? '; epoll cannot watch regular files or directories (they are always ready), nor devices that cannot be polled such as /dev/null' : '';
    return osError(result, 'epoll_ctl', `EpollSelector.${what}(fd ${fd})${hint}`);
  }

  #checkOpen(what: string): void {
    if (this.#closed) throw new Error(`EpollSelector.${what}: the selector is closed`);
  }
}
