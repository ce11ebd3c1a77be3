/**
 * Which fds a transport (or a server, its listening sockets) owns, so that
 * user code cannot take them over (asyncio's `_transports` and
 * `_ensure_fd_no_transport`).
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
 *
 * The loop closing while an owner still holds its fd (a transport nobody
 * closed, or one whose close had yet to run its last callback) is that
 * owner's last chance to close the fd: nothing will call it back after,
 * and an fd is not garbage collected. So `takeAll()` hands the loop every
 * owner left, and the loop calls `loopClosed()` on those that have it.
 */
import { RuntimeError } from './errors.js';
import { FdSlots } from './fd-slots.js';

/** What may own an fd; `loopClosed` is called if the loop closes first. */
export interface FdOwner {
  /**
   * The loop closed while this owner still held its fd: close it now,
   * without callbacks (none can run). Returns true if the owner was still
   * open for use (nobody had asked it to close), which debug mode reports.
   */
  loopClosed?(): boolean;
}

export class FdOwners {
  readonly #owners = new FdSlots<FdOwner>();
  /**
   * fds whose owner lent them out (`lend`): not refused by `check`, but
   * still the owner's to close if the loop closes first. Rare (one per
   * loop.sendfile in progress), so a Map.
   */
  readonly #lent = new Map<number, FdOwner>();

  /** `owner` (a transport; its String() names it in errors) now owns `fd`. */
  claim(fd: number, owner: FdOwner): void {
    this.#owners.set(fd, owner);
    this.#lent.delete(fd);
  }

  /** `owner` lets go of `fd`; a no-op if someone else owns it (the fd was closed and its number reused). */
  release(fd: number, owner: FdOwner): void {
    if (this.#owners.get(fd) === owner) this.#owners.delete(fd);
    if (this.#lent.get(fd) === owner) this.#lent.delete(fd);
  }

  /**
   * `owner` lets code that checks (loop.sendfile's sockSendfile) use `fd`
   * for a while, until it claims it again or releases it: `check` no
   * longer refuses it, but `takeAll` still hands `owner` over, as it still
   * holds the fd and nothing else would close it. No-op if not the owner.
   */
  lend(fd: number, owner: FdOwner): void {
    if (this.#owners.get(fd) !== owner) return;
    this.#owners.delete(fd);
    this.#lent.set(fd, owner);
  }

  /** Throws a RuntimeError naming `who`, the fd and its owner if a transport owns `fd`. */
  check(fd: number, who: string): void {
    const owner = this.#owners.get(fd);
    if (owner !== undefined) throw new RuntimeError(`${who}: file descriptor ${fd} is used by transport ${String(owner)}`);
  }

  /** Forgets every owner, and returns them, each once (the loop is being closed). */
  takeAll(): FdOwner[] {
    const owners = [...new Set([...this.#owners.values(), ...this.#lent.values()])];
    this.#owners.clear();
    this.#lent.clear();
    return owners;
  }
}
