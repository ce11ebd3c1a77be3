/**
 * The selector: the part of the loop that talks to the operating system
 * about file descriptors (the seed's step 2: "It calls the selector").
 *
 * Contract (every selector implements it; the loop relies on nothing else):
 *  - `register(fd, events)` starts watching `fd` for `events` (a mask of
 *    EVENT_READ | EVENT_WRITE); `modify` changes the mask; `unregister` stops.
 *    Registering an fd twice, or modifying/unregistering one that is not
 *    registered, throws.
 *  - `select(timeoutMs, onReady)` blocks for at most `timeoutMs`
 *    (0: just poll; Infinity: until an event or a wake-up), then calls
 *    `onReady(fd, events)` once per ready fd and returns how many it reported.
 *    Readiness is level-triggered: an fd still ready is reported again by
 *    the next `select` (the loop relies on this to skip a report it does
 *    not need now, see BaseEventLoop#runPreemptingWork).
 *    It may return early with nothing (EINTR, a wake-up, a host that cannot
 *    block): the loop recomputes its timeout and tolerates that.
 *  - `wakeup()` makes a blocked or the next `select` return promptly.
 *  - `close()` releases OS resources; the selector is unusable afterwards.
 *
 * Platform selectors (epoll, poll) live in io/; core ships only the
 * selector below, which has no fds at all.
 */
export const EVENT_READ = 1;
export const EVENT_WRITE = 2;

export type ReadyCallback = (fd: number, events: number) => void;

export interface Selector {
  /** Shown in error messages ("TimerOnlySelector cannot watch fds"). */
  readonly name: string;
  /** False for selectors that cannot watch file descriptors at all. */
  readonly supportsFds: boolean;
  /** Number of fds registered. */
  readonly fdCount: number;
  register(fd: number, events: number): void;
  modify(fd: number, events: number): void;
  unregister(fd: number): void;
  select(timeoutMs: number, onReady: ReadyCallback): number;
  wakeup(): void;
  close(): void;
}

/**
 * A selector with no file descriptors: `select` just sleeps until the timeout
 * or a wake-up. It blocks with `Atomics.wait` on a one-word SharedArrayBuffer,
 * so a worker thread holding `wakeupBuffer` can wake it too
 * (`Atomics.store(view, 0, 1); Atomics.notify(view, 0)`).
 *
 * Where the thread may not block (a browser's main thread) or shared memory
 * is unavailable, `select` returns at once; the loop's host then does the
 * waiting (see host.ts).
 */
export class TimerOnlySelector implements Selector {
  readonly name = 'TimerOnlySelector';
  readonly supportsFds = false;
  readonly fdCount = 0;
  /** One Int32 word: 1 when a wake-up is pending. Shareable with workers. */
  readonly wakeupBuffer: SharedArrayBuffer | null;
  readonly #flag: Int32Array | null;
  #canBlock: boolean;
  #closed = false;

  constructor() {
    const hasShared = typeof SharedArrayBuffer === 'function' && typeof Atomics === 'object';
    this.wakeupBuffer = hasShared ? new SharedArrayBuffer(4) : null;
    this.#flag = this.wakeupBuffer ? new Int32Array(this.wakeupBuffer) : null;
    this.#canBlock = this.#flag !== null;
  }

  register(fd: number): void {
    throw this.#noFds(`register fd ${fd}`);
  }

  modify(fd: number): void {
    throw this.#noFds(`modify fd ${fd}`);
  }

  unregister(fd: number): void {
    throw this.#noFds(`unregister fd ${fd}`);
  }

  select(timeoutMs: number, _onReady: ReadyCallback): number {
    if (this.#closed) throw new Error('TimerOnlySelector: select() after close()');
    const flag = this.#flag;
    // A poll (timeout 0) has nothing to report: no fds. Any pending wake-up
    // stays pending for the next blocking select, which is the one it is for.
    if (timeoutMs <= 0 || flag === null) return 0;
    // A pending wake-up ends this select at once and is consumed.
    if (Atomics.exchange(flag, 0, 0) === 1 || !this.#canBlock) return 0;
    try {
      Atomics.wait(flag, 0, 0, timeoutMs === Infinity ? undefined : timeoutMs);
    } catch {
      // Atomics.wait throws on threads that must not block (browser main
      // thread). Remember, and leave the waiting to the host from now on.
      this.#canBlock = false;
    }
    Atomics.store(flag, 0, 0);
    return 0;
  }

  wakeup(): void {
    const flag = this.#flag;
    if (flag === null) return;
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  }

  close(): void {
    this.#closed = true;
  }

  #noFds(what: string): Error {
    return new TypeError(
      `${this.name} cannot ${what}: it watches no file descriptors. ` +
        `Use a loop with an fd selector (EpollSelector from 'eventide/node').`,
    );
  }
}
