/**
 * The drain side of a stream protocol (asyncio's FlowControlMixin): the
 * transport's pauseWriting / resumeWriting turned into waits, so that
 * `writer.drain()` waits while the write buffer is above its high water
 * mark and returns at once below it. Shared by StreamReaderProtocol
 * (sockets) and the stdin protocol of a subprocess (subprocess.ts).
 *
 * Invariant: every waiter is settled exactly once — resolved by resume(),
 * or by lose(null), or rejected by lose(error) — and waits that begin
 * after lose() throw at once.
 */
import type { EventLoop } from '../tasks/event-loop.js';
import type { Future } from '../tasks/future.js';
import type { Coroutine } from '../tasks/operation.js';
import { ConnectionResetError, ECONNRESET } from './errors.js';

export class DrainGate {
  readonly #loop: EventLoop;
  #paused = false;
  #lost = false;
  readonly #waiters: Future<void>[] = [];
  /** What a drain wait is called in task introspection ('drain fd 7'); set by the owner once it knows. */
  label = 'drain';

  constructor(loop: EventLoop) {
    this.#loop = loop;
  }

  /** The protocol got pauseWriting(). */
  pause(): void {
    this.#paused = true;
  }

  /** The protocol got resumeWriting(): every waiter goes on. */
  resume(): void {
    this.#paused = false;
    for (const waiter of this.#waiters) if (!waiter.done()) waiter.setResult();
  }

  /** The protocol got connectionLost(exc): waiters go on (null) or fail with `exc`. */
  lose(exc: Error | null): void {
    this.#lost = true;
    for (const waiter of this.#waiters) {
      if (waiter.done()) continue;
      if (exc === null) waiter.setResult();
      else waiter.setException(exc);
    }
  }

  /** Returns at once unless writing is paused; throws a ConnectionResetError once the connection is lost. */
  *wait(): Coroutine<void> {
    if (this.#lost) throw new ConnectionResetError(ECONNRESET, 'drain', 'connection lost');
    if (!this.#paused) return;
    const waiter = this.#loop.createFuture<void>();
    waiter.label = this.label;
    this.#waiters.push(waiter);
    try {
      yield* waiter;
    } finally {
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
    }
  }
}
