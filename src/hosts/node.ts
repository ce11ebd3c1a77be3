/**
 * eventide on Node: a loop with the native selector and a host that lets
 * Node's own event sources (timers, fs, http, fetch, child processes) keep
 * running beside it, with no busy polling. Two modes, same semantics (see
 * docs/node-hosts.md for when to pick which):
 *
 *  - 'guest' (default): Node's loop does the waiting; eventide's epoll fd
 *    is watched from Node's side (NodeGuestHost);
 *  - 'blocking': eventide waits in its own epoll_wait, with Node's backend
 *    fd and next timer folded in (NodeBlockingHost).
 *
 * The selector is an EpollSelector; if epoll cannot be used it falls back
 * to a PollSelector, which has no single fd to hand to Node, so the
 * default mode then becomes 'blocking' (asking for 'guest' is an error).
 */
import { checkOptionalBoolean, describe } from '../core/assert.js';
import { CancelledError } from '../core/errors.js';
import type { LoopHost } from '../core/host.js';
import type { Selector } from '../core/selector.js';
import { EpollSelector } from '../io/epoll-selector.js';
import { PollSelector } from '../io/poll-selector.js';
import { NodeEventLoop, setNodeLoopParts } from '../io/node-event-loop.js';
import type { CoroutineLike, EventLoopOptions } from '../tasks/event-loop.js';
import { runOnLoop } from '../tasks/run.js';
import { Runner as PortableRunner, type RunnerRunOptions } from '../tasks/runner.js';
import type { Task } from '../tasks/task.js';
import { NodeBlockingHost } from './node-blocking.js';
import { InterruptCancelsMain } from './node-sigint.js';
import { isPollableSelector, NodeGuestHost } from './node-guest.js';

/** Who waits when the loop is idle: Node's loop ('guest') or the loop's own epoll_wait ('blocking'). */
export type NodeHostMode = 'guest' | 'blocking';

/** EventLoop's options (the host is chosen by `mode`, so `host` is not one of them). */
export interface NodeLoopOptions extends Omit<EventLoopOptions, 'host'> {
  /** Default 'guest' ('blocking' when the selector has no epoll fd). */
  mode?: NodeHostMode;
  /** Tasks keep AsyncLocalStorage's stores (default true): see NodeEventLoopOptions.asyncContext. */
  asyncContext?: boolean;
}

export interface NodeRunOptions extends NodeLoopOptions {}

/** The selector and host for `options`, plus the remaining loop options. */
function nodeLoopParts(options: NodeLoopOptions, who: string): { selector: Selector; host: LoopHost; rest: EventLoopOptions } {
  if (options === null || typeof options !== 'object') throw new TypeError(`${who}: options must be an object, got ${describe(options)}`);
  const { mode, selector: given, host: givenHost, ...rest } = options as NodeLoopOptions & { host?: unknown };
  if (mode !== undefined && mode !== 'guest' && mode !== 'blocking') {
    throw new TypeError(`${who}: mode must be 'guest' or 'blocking', got ${describe(mode)}`);
  }
  checkOptionalBoolean((rest as NodeLoopOptions).asyncContext, `${who}: options.asyncContext`);
  if (givenHost !== undefined) {
    throw new TypeError(`${who}: options.host is not allowed (the host is chosen by mode); use new EventLoop({ selector, host }) for a host of your own`);
  }
  const base = given ?? defaultSelector();
  try {
    if (mode === 'guest' && !isPollableSelector(base)) {
      throw new TypeError(`${who}: mode 'guest' needs a selector with an epollFd (an EpollSelector), got ${base.name}; use mode 'blocking'`);
    }
    if (mode !== 'blocking' && isPollableSelector(base)) return { selector: base, host: new NodeGuestHost(base), rest };
    const host = new NodeBlockingHost(base);
    return { selector: host.selector, host, rest };
  } catch (error) {
    if (given === undefined) base.close(); // ours: do not leak its fds
    throw error;
  }
}

// `new NodeEventLoop()` without a host gets the same selector and host as
// createNodeLoop (io/ cannot import hosts/, so it is handed this choice).
// A side effect of loading this module: package.json's "sideEffects" names
// it, so that bundlers keep it when only EventLoop is imported.
setNodeLoopParts(nodeLoopParts);

/** EpollSelector, or PollSelector where epoll cannot be created. */
function defaultSelector(): Selector {
  try {
    return new EpollSelector();
  } catch {
    return new PollSelector();
  }
}

/**
 * A new NodeEventLoop (EventLoop plus createConnection, createServer,
 * sockRecv, ...): an EpollSelector (PollSelector if epoll is
 * unavailable) and the host for `mode` — 'guest' by default. Other options
 * are EventLoop's (clock, debug, sliceMs, ...); `selector` may be given,
 * `host` may not.
 *
 * @example
 * import { createNodeLoop } from 'eventide/node';
 * const loop = createNodeLoop();                        // guest mode
 * const fast = createNodeLoop({ mode: 'blocking' });    // waits in its own epoll_wait
 * loop.addReader(fd, () => onReadable());
 * await loop.runUntilComplete(main);
 * loop.close();
 */
export function createNodeLoop(options: NodeLoopOptions = {}): NodeEventLoop {
  const { selector, host, rest } = nodeLoopParts(options, 'createNodeLoop');
  try {
    return new NodeEventLoop({ ...rest, selector, host });
  } catch (error) {
    host.close();
    selector.close();
    throw error;
  }
}

/**
 * `run(main)` on Node: like the portable `run` (new loop, run `main` to
 * completion, cancel leftovers, close the loop), on a loop made by
 * `createNodeLoop` — so fds can be watched and Node's own APIs keep
 * working while it runs. This is the `run` exported by 'eventide/node'.
 *
 * @example
 * import { run, sleep, until } from 'eventide/node';
 * const body = await run(function* () {
 *   const response = yield* until(fetch('http://127.0.0.1:8080/'));
 *   return yield* until(response.text());
 * });
 * await run(main, { mode: 'blocking' });
 *
 * Ctrl-C is handled as asyncio.run does (node-sigint.ts): the first SIGINT
 * cancels `main`, so `finally` blocks run and the loop closes cleanly, and
 * then ends the process as Ctrl-C does (unless `main` caught the
 * cancellation and returned); a second one ends it at once. Not if the
 * program listens for SIGINT itself.
 */
export async function run<T>(main: CoroutineLike<T>, options: NodeRunOptions = {}): Promise<T> {
  const loop = createNodeLoop(options);
  return interruptible((watch) => runOnLoop(loop, main, watch));
}

/**
 * asyncio.Runner on Node: several runs on one Node loop (see
 * tasks/runner.ts), each handling Ctrl-C as `run` does (the first SIGINT
 * cancels that run's main task). When that cancellation ends the run, the
 * runner is closed (every task left, from this run or earlier ones, is
 * cancelled and its `finally` blocks run, the loop is closed) before the
 * process ends by SIGINT: asyncio's KeyboardInterrupt unwinds through
 * `with Runner()`, whose close does the same. This is the `Runner`
 * exported by 'eventide/node'.
 *
 * @example
 * import { Runner } from 'eventide/node';
 * const runner = new Runner({ mode: 'blocking' });
 * try {
 *   const server = await runner.run(function* () {
 *     return yield* startServer(handle, '127.0.0.1', 8888);
 *   });
 *   await runner.run(function* () {
 *     yield* server.serveForever();
 *   });
 * } finally {
 *   await runner.close();
 * }
 */
export class Runner extends PortableRunner<NodeEventLoop> {
  constructor(options: NodeRunOptions = {}) {
    super(options, (given) => createNodeLoop(given as NodeLoopOptions));
  }

  override async run<T>(main: CoroutineLike<T>, options: RunnerRunOptions = {}): Promise<T> {
    // The process is about to end: the program's own `finally { await runner.close() }` would never run.
    return interruptible((watch) => this.runWatched(main, options, watch), () => this.close());
  }
}

/**
 * Runs `body` with Ctrl-C cancelling the main task it hands to `watch`
 * (node-sigint.ts); if that cancellation ends the run, `cleanUp` (if any)
 * is awaited and SIGINT is raised again so that the process ends as Ctrl-C
 * ends it (asyncio raises KeyboardInterrupt). A second Ctrl-C during
 * `cleanUp` meets Node's default action: the process ends at once.
 */
async function interruptible<T>(body: (watch: (task: Task<T>) => void) => Promise<T>, cleanUp?: () => Promise<void>): Promise<T> {
  const interrupt = new InterruptCancelsMain(['SIGINT']);
  interrupt.begin();
  try {
    return await body((task) => interrupt.watch(task));
  } catch (error) {
    // Our listener off first, so that Node's default action meets none.
    interrupt.end();
    if (interrupt.signal !== null && error instanceof CancelledError && process.listenerCount('SIGINT') === 0) {
      try {
        await cleanUp?.();
      } finally {
        if (process.listenerCount('SIGINT') === 0) process.kill(process.pid, 'SIGINT');
      }
    }
    throw error;
  } finally {
    interrupt.end(); // idempotent
  }
}
