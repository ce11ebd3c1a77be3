/**
 * DOM events as loop sources: `onEvent` (a handler that runs as a loop
 * callback) and `fromEvent` (a stream a task consumes with `yield*`).
 *
 * An event listener runs in the browser's own task, outside any tick. It
 * does one thing: hand the event to the loop with a callback in the lane of
 * the chosen priority. So the event takes its place among everything else
 * the loop has to do — an input event at 'critical' (the default for input
 * event types) runs before any queued background work, and never in the
 * middle of another callback. Events of one source keep their order (one
 * lane, FIFO).
 *
 * When a GuestDriver (a BrowserLoop) runs the loop, a 'critical' event does
 * not even wait for the next turn: the listener runs a turn of the critical
 * lane only, right away, so the handler runs inside the event's own browser
 * task. (Chromium may hold a posted message back until after the next frame
 * once input arrives; waiting for it cost ~8 ms per key press.) A listener
 * called from inside a guest callback (an event dispatched synchronously by
 * loop code) cannot start a turn there; its handler runs in the next one.
 *
 * Consequences worth knowing:
 *  - A handler runs after the event was dispatched, so `preventDefault()`
 *    must happen in the listener: pass `{preventDefault: true}`.
 *  - `fromEvent`'s priority is that of the hand-off into the stream's
 *    queue; the task reading the stream then resumes one tick later at its
 *    own priority, so give it the same one.
 *
 * Only `addEventListener`/`removeEventListener` are used (structurally
 * typed), so any EventTarget works: DOM nodes, `window`, a WebSocket, and
 * Node's own EventTarget.
 */
import { checkCallback, describe } from '../core/assert.js';
import { RuntimeError } from '../core/errors.js';
import { LANE_CRITICAL, laneOf, type Priority } from '../core/priority.js';
import { runningLoopOrNull } from '../core/running.js';
import type { EventLoop } from '../tasks/event-loop.js';
import type { Coroutine } from '../tasks/operation.js';
import { Queue, QueueShutDown } from '../tasks/queues.js';
import { guestDriverOf } from './guest.js';

/**
 * A listener as an EventTarget sees it. `any`, because a DOM or Node
 * EventTarget declares its listeners for a plain `Event`: the handler's
 * own parameter type says which events it expects.
 */
type AnyListener = (event: any) => void;

/** What `onEvent`/`fromEvent` need of a target: the two EventTarget methods. */
export interface EventTargetLike {
  addEventListener(type: string, listener: AnyListener, options?: { capture?: boolean; passive?: boolean }): void;
  removeEventListener(type: string, listener: AnyListener, options?: { capture?: boolean }): void;
}

export interface EventSourceOptions {
  /**
   * The lane the event enters the loop in. Default: 'critical' for input
   * events (pointer, mouse, touch, key, wheel, input, focus, …), 'normal'
   * for everything else.
   */
  priority?: Priority;
  /** The loop to deliver to; default the running loop (call from a task or callback). */
  loop?: EventLoop;
  /** addEventListener's `capture`. */
  capture?: boolean;
  /** addEventListener's `passive` (default: the browser's). Ignored when `preventDefault` is set. */
  passive?: boolean;
  /** Call `event.preventDefault()` in the listener, while that still has an effect. */
  preventDefault?: boolean;
}

export interface EventStreamOptions extends EventSourceOptions {
  /** Keep at most this many undelivered events, dropping the oldest (0: unbounded, the default). */
  maxsize?: number;
}

/** Event types that come from the user's hands: they enter the loop at 'critical' by default. */
const INPUT_EVENT = /^(pointer|mouse|touch|key|wheel|click|dblclick|auxclick|contextmenu|input|beforeinput|change|focus|blur|composition|drag|drop)/;

/** The default priority of events of `type`: 'critical' for input, else 'normal'. */
export function defaultEventPriority(type: string): Priority {
  return INPUT_EVENT.test(type) ? 'critical' : 'normal';
}

function checkSource(target: unknown, type: unknown, options: unknown, what: string): asserts target is EventTargetLike {
  if (target === null || typeof target !== 'object' || typeof (target as EventTargetLike).addEventListener !== 'function') {
    throw new TypeError(`${what}: target must be an EventTarget (with addEventListener), got ${describe(target)}`);
  }
  if (typeof type !== 'string' || type === '') throw new TypeError(`${what}: type must be a non-empty string, got ${describe(type)}`);
  if (options === null || typeof options !== 'object') throw new TypeError(`${what}: options must be an object, got ${describe(options)}`);
}

function resolveLoop(options: EventSourceOptions, what: string): EventLoop {
  const loop = options.loop ?? (runningLoopOrNull() as EventLoop | null);
  if (loop === null || loop === undefined) {
    throw new RuntimeError(`${what}: no running event loop; call it from a task or callback, or pass {loop}`);
  }
  if (loop.isClosed()) throw new RuntimeError(`${what}: the event loop is closed`);
  return loop;
}

function listenerOptions(options: EventSourceOptions): { capture?: boolean; passive?: boolean } {
  const result: { capture?: boolean; passive?: boolean } = {};
  if (options.capture !== undefined) result.capture = Boolean(options.capture);
  if (options.preventDefault) result.passive = false;
  else if (options.passive !== undefined) result.passive = Boolean(options.passive);
  return result;
}

/**
 * Runs `handler(event)` as a loop callback at `priority` for every `type`
 * event on `target`, until the returned function is called. A handler that
 * throws goes to the loop's exception handler.
 *
 * @example
 * const off = onEvent(input, 'keydown', (e) => {
 *   latencies.push(performance.now() - e.timeStamp);
 * }); // 'critical' by default: runs before queued background work
 * // later: off();
 */
export function onEvent<E>(target: EventTargetLike, type: string, handler: (event: E) => unknown, options: EventSourceOptions = {}): () => void {
  checkSource(target, type, options, 'onEvent');
  checkCallback(handler, 'onEvent: handler');
  const priority = options.priority ?? defaultEventPriority(type);
  laneOf(priority); // a bad priority throws here, not in the first event
  const loop = resolveLoop(options, 'onEvent');
  const scheduleOptions = { priority };
  const critical = laneOf(priority) === LANE_CRITICAL;
  const preventDefault = Boolean(options.preventDefault);
  let active = true;
  const listener = (event: E): void => {
    if (preventDefault) (event as { preventDefault?(): void }).preventDefault?.();
    if (loop.isClosed()) return off();
    loop.callSoon(() => {
      if (active) handler(event);
    }, scheduleOptions);
    // Input should not wait for the next turn (which the browser may hold
    // back until after the next frame): a guest-driven loop runs its
    // critical lane right here, in the event's own task.
    if (critical) guestDriverOf(loop)?.runCriticalTurn();
  };
  const capture = listenerOptions(options);
  const off = (): void => {
    if (!active) return;
    active = false;
    target.removeEventListener(type, listener, capture.capture === undefined ? undefined : { capture: capture.capture });
  };
  target.addEventListener(type, listener, capture);
  return off;
}

/**
 * The `type` events of `target` as a stream a task reads with
 * `yield* stream.next()`, in dispatch order. Backed by an eventide Queue:
 * events that arrive while nobody reads wait there — without limit unless
 * `maxsize` is given (then the oldest is dropped) — and the listener stays
 * until `close()`, even after the reading task ends: close a stream you
 * stop reading.
 *
 * @example
 * const clicks = fromEvent(button, 'click');
 * loop.createTask(function* () {
 *   for (;;) {
 *     const { value: click, done } = yield* clicks.next();
 *     if (done) break;
 *     console.log('click at', click.clientX);
 *   }
 * }, { priority: 'critical' });
 * // later: clicks.close();
 */
export function fromEvent<E = unknown>(target: EventTargetLike, type: string, options: EventStreamOptions = {}): EventStream<E> {
  return new EventStream<E>(target, type, options);
}

/** See fromEvent. Also an AsyncIterable, for `for await` in ordinary async code. */
export class EventStream<E = unknown> implements AsyncIterable<E> {
  readonly type: string;
  readonly loop: EventLoop;
  readonly #queue: Queue<E>;
  readonly #maxsize: number;
  readonly #off: () => void;
  #closed = false;
  #dropped = 0;

  /**
   * Prefer `fromEvent(target, type, options)`.
   *
   * @example
   * const keys = new EventStream(window, 'keydown', { priority: 'critical' });
   */
  constructor(target: EventTargetLike, type: string, options: EventStreamOptions = {}) {
    checkSource(target, type, options, 'fromEvent');
    const maxsize = options.maxsize ?? 0;
    if (typeof maxsize !== 'number' || !Number.isInteger(maxsize) || maxsize < 0) {
      throw new RangeError(`fromEvent: maxsize must be an integer >= 0, got ${describe(maxsize)}`);
    }
    this.type = type;
    this.loop = resolveLoop(options, 'fromEvent');
    this.#maxsize = maxsize;
    this.#queue = new Queue<E>();
    this.#off = onEvent<E>(target, type, (event) => this.#deliver(event), { ...options, loop: this.loop });
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Events dropped because `maxsize` were already waiting. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Events waiting to be read. */
  get pending(): number {
    return this.#queue.qsize();
  }

  /**
   * The next event, waiting for it if none is queued: `{value, done:
   * false}`, or `{done: true}` once the stream is closed and drained. Must
   * run inside a task (`yield*` it).
   *
   * @example
   * const { value: event, done } = yield* stream.next();
   */
  *next(): Coroutine<IteratorResult<E, undefined>> {
    try {
      const value = yield* this.#queue.get();
      return { value, done: false };
    } catch (error) {
      if (error instanceof QueueShutDown) return { value: undefined, done: true };
      throw error;
    }
  }

  /**
   * Stops listening. Events already queued can still be read; after them,
   * `next()` reports done (a reader waiting now is told at once).
   *
   * @example
   * stream.close();
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#off();
    this.#queue.shutdown();
  }

  /**
   * For `for await (const e of stream)` outside tasks: each step runs as a
   * small task on the stream's loop. Breaking out of the loop closes the stream.
   */
  [Symbol.asyncIterator](): AsyncIterator<E, undefined> {
    return {
      next: async () => await this.loop.createTask(this.next(), { name: `fromEvent(${this.type}).next` }),
      return: async () => {
        this.close();
        return { value: undefined, done: true };
      },
    };
  }

  #deliver(event: E): void {
    if (this.#closed) return;
    if (this.#maxsize > 0 && this.#queue.qsize() >= this.#maxsize) {
      this.#queue.getNowait();
      this.#dropped++;
    }
    this.#queue.putNowait(event);
  }
}
