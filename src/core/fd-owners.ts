/**
 * Which fds a transport owns, so that user code cannot take them over
 * (asyncio's `_transports` and `_ensure_fd_no_transport`).
 *
 * A transport's reader and writer are its own: `loop.addReader(fd, …)` on
 * its fd would silently replace its watcher (the transport then never
 * hears of its data, its write queue never drains, and connectionLost may
 * never come), and `removeReader(fd)` would stall it. So the loop's public
 * addReader / addWriter / removeReader / removeWriter, and the sock*
 * functions, refuse an owned fd with a RuntimeError; the transports watch
 * their fds through the loop's internal `watchOwnedFd` / `unwatchOwnedFd`,
 * which do not ask.
 *
 * Invariant: an fd is owned from the transport's creation until just
 * before the transport closes it (stricter than asyncio, which lets go as
 * soon as the transport is closing, while it may still be flushing through
 * its writer), except while loop.sendfile's sendfile(2) runs on it, once
 * the transport's queue has been flushed. An fd table (FdSlots): the
 * check is one array index.
 */
import { RuntimeError } from './errors.js';
import { FdSlots } from './fd-slots.js';

export class FdOwners {
  readonly #owners = new FdSlots<object>();

  /** `owner` (a transport; its String() names it in errors) now owns `fd`. */
  claim(fd: number, owner: object): void {
    this.#owners.set(fd, owner);
  }

  /** `owner` lets go of `fd`; a no-op if someone else owns it (the fd was closed and its number reused). */
  release(fd: number, owner: object): void {
    if (this.#owners.get(fd) === owner) this.#owners.delete(fd);
  }

  /** Throws a RuntimeError naming `who`, the fd and its owner if a transport owns `fd`. */
  check(fd: number, who: string): void {
    const owner = this.#owners.get(fd);
    if (owner !== undefined) throw new RuntimeError(`${who}: file descriptor ${fd} is used by transport ${String(owner)}`);
  }

  /** Forgets every owner (the loop is being closed). */
  clear(): void {
    this.#owners.clear();
  }
}
