/**
 * Which handle runs when an fd is ready: the loop's reader and writer
 * tables, kept in step with the selector's registrations.
 *
 * Invariant: the selector watches fd for exactly the mask
 * `(has reader ? EVENT_READ : 0) | (has writer ? EVENT_WRITE : 0)`, and an
 * fd with neither is not registered at all. A registration the selector
 * refuses (a closed fd, EBADF) leaves both tables as they were.
 */
import { FdSlots } from './fd-slots.js';
import type { Handle } from './handle.js';
import { EVENT_READ, EVENT_WRITE, type Selector } from './selector.js';

export type FdEvent = 'read' | 'write';

export class FdWatchers {
  readonly #selector: Selector;
  readonly #readers = new FdSlots<Handle>();
  readonly #writers = new FdSlots<Handle>();
  /** Which fd each handle watches, kept after removal (to name wake causes). */
  readonly #fdOfHandle = new WeakMap<Handle, { fd: number; event: FdEvent }>();

  constructor(selector: Selector) {
    this.#selector = selector;
  }

  get readerCount(): number {
    return this.#readers.size;
  }

  get writerCount(): number {
    return this.#writers.size;
  }

  /**
   * Makes `handle` the `event` watcher of `fd`, registering or modifying the
   * fd with the selector. Returns the handle it replaced, if any (the caller
   * cancels it). Throws what the selector throws, changing nothing.
   */
  add(fd: number, event: FdEvent, handle: Handle): Handle | undefined {
    const table = event === 'read' ? this.#readers : this.#writers;
    const oldMask = this.#maskOf(fd);
    const newMask = oldMask | (event === 'read' ? EVENT_READ : EVENT_WRITE);
    // The selector first: an fd it refuses (closed, or absurdly large) never reaches the tables.
    if (oldMask === 0) this.#selector.register(fd, newMask);
    else this.#selector.modify(fd, newMask);
    const previous = table.get(fd);
    table.set(fd, handle);
    this.#fdOfHandle.set(handle, { fd, event });
    return previous;
  }

  /** Stops the `event` watcher of `fd`: returns it (not cancelled), or undefined if there was none. */
  remove(fd: number, event: FdEvent): Handle | undefined {
    const table = event === 'read' ? this.#readers : this.#writers;
    const handle = table.get(fd);
    if (handle === undefined) return undefined;
    table.delete(fd);
    const mask = this.#maskOf(fd);
    if (mask === 0) this.#selector.unregister(fd);
    else this.#selector.modify(fd, mask);
    return handle;
  }

  /** Passes the handles to run for `fd` being ready for `events` to `push`. */
  queueReady(fd: number, events: number, push: (handle: Handle) => void): void {
    if (events & EVENT_READ) {
      const reader = this.#readers.get(fd);
      if (reader !== undefined) push(reader);
    }
    if (events & EVENT_WRITE) {
      const writer = this.#writers.get(fd);
      if (writer !== undefined) push(writer);
    }
  }

  /** The fd and direction `handle` watches (or watched), or null. */
  fdOf(handle: Handle): { readonly fd: number; readonly event: FdEvent } | null {
    return this.#fdOfHandle.get(handle) ?? null;
  }

  /** Forgets every watcher without touching the selector (it is being closed). */
  clear(): void {
    this.#readers.clear();
    this.#writers.clear();
  }

  #maskOf(fd: number): number {
    return (this.#readers.has(fd) ? EVENT_READ : 0) | (this.#writers.has(fd) ? EVENT_WRITE : 0);
  }
}
