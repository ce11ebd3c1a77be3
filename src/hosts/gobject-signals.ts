/**
 * GObject signals (GTK's events: a button's 'clicked', an entry's
 * 'activate', a window's 'key-press-event') as loop sources: `onSignal`
 * (a handler that runs as a loop callback at a priority) and `fromSignal`
 * (a stream a task reads with `yield*`).
 *
 * They are the DOM's `onEvent` / `fromEvent` (dom-events.ts) over
 * `connect` / `disconnect` instead of `addEventListener`: the signal
 * handler GTK calls does one thing, hand the signal's arguments to the
 * loop in the lane of its priority. User input ('clicked', 'activate',
 * 'changed', key and button events, …) enters at 'critical' by default, and
 * when a GuestDriver (a GLibLoop) runs the loop, the handler runs a turn of
 * the critical lane right there, inside GTK's own dispatch of the input
 * event — it does not wait behind queued background work, nor for the
 * next GLib iteration.
 *
 * What a signal handler returns cannot depend on the loop callback (that
 * runs later): handlers of event signals ('key-press-event', …) return
 * false, so GTK's default handling goes on.
 */
import { checkCallback, describe } from '../core/assert.js';
import { RuntimeError } from '../core/errors.js';
import { laneOf, type Priority } from '../core/priority.js';
import { runningLoopOrNull } from '../core/running.js';
import type { EventLoop } from '../tasks/event-loop.js';
import { EventStream, onEvent, type EventTargetLike } from './dom-events.js';

/** What `onSignal` / `fromSignal` need of a GObject (node-gtk's and GJS's objects have both). */
export interface GObjectLike {
  connect(signal: string, handler: (...args: any[]) => unknown): number;
  disconnect(handlerId: number): void;
}

export interface SignalSourceOptions {
  /** The lane the signal enters the loop in. Default 'critical' for user input signals, else 'normal'. */
  priority?: Priority;
  /** The loop to deliver to; default the running loop (call from a task or callback). */
  loop?: EventLoop;
}

export interface SignalStreamOptions extends SignalSourceOptions {
  /** Keep at most this many undelivered signals, dropping the oldest (0: unbounded, the default). */
  maxsize?: number;
}

/** Signals that come from the user's hands: 'critical' by default. */
const INPUT_SIGNAL =
  /^(clicked|activate|changed|toggled|value-changed|insert-text|delete-text|row-activated|switch-page|(key|button)-(press|release)-event|motion-notify-event|scroll-event|touch-event|(enter|leave)-notify-event|focus)/;

/**
 * The default priority of a signal: 'critical' for user input, else 'normal'.
 *
 * @example
 * defaultSignalPriority('clicked'); // 'critical'
 * defaultSignalPriority('destroy'); // 'normal'
 */
export function defaultSignalPriority(signal: string): Priority {
  return INPUT_SIGNAL.test(signal) ? 'critical' : 'normal';
}

/**
 * `object`'s signals seen as an EventTarget whose "event" is the array of
 * the signal's arguments (the emitting object first).
 */
class SignalTarget implements EventTargetLike {
  readonly #object: GObjectLike;
  readonly #ids = new Map<(event: any) => void, number>();

  constructor(object: GObjectLike) {
    this.#object = object;
  }

  addEventListener(type: string, listener: (event: any) => void): void {
    if (this.#ids.has(listener)) return;
    this.#ids.set(listener, this.#object.connect(type, (...args: unknown[]) => {
      listener(args);
      return false; // event signals: let GTK's own handling go on
    }));
  }

  removeEventListener(_type: string, listener: (event: any) => void): void {
    const id = this.#ids.get(listener);
    if (id === undefined) return;
    this.#ids.delete(listener);
    this.#object.disconnect(id);
  }
}

function checkSignalSource(object: unknown, signal: unknown, options: unknown, who: string): asserts object is GObjectLike {
  if (object === null || typeof object !== 'object' || typeof (object as GObjectLike).connect !== 'function' || typeof (object as GObjectLike).disconnect !== 'function') {
    throw new TypeError(`${who}: object must be a GObject (with connect and disconnect), got ${describe(object)}`);
  }
  if (typeof signal !== 'string' || signal === '') throw new TypeError(`${who}: signal must be a non-empty string, got ${describe(signal)}`);
  if (options === null || typeof options !== 'object') throw new TypeError(`${who}: options must be an object, got ${describe(options)}`);
}

function resolveLoop(options: SignalSourceOptions, who: string): EventLoop {
  const loop = options.loop ?? (runningLoopOrNull() as EventLoop | null);
  if (loop === null || loop === undefined) throw new RuntimeError(`${who}: no running event loop; call it from a task or callback, or pass {loop}`);
  if (loop.isClosed()) throw new RuntimeError(`${who}: the event loop is closed`);
  return loop;
}

/**
 * Runs `handler(args)` as a loop callback at `priority` each time `object`
 * emits `signal` (`args`: the signal's arguments, the emitter first),
 * until the returned function is called. A handler that throws goes to the
 * loop's exception handler.
 *
 * @example
 * const off = onSignal(button, 'clicked', () => clicks.putNowait(Date.now()), { loop }); // 'critical'
 * // later: off();
 */
export function onSignal(object: GObjectLike, signal: string, handler: (args: unknown[]) => unknown, options: SignalSourceOptions = {}): () => void {
  checkSignalSource(object, signal, options, 'onSignal');
  checkCallback(handler, 'onSignal: handler');
  const priority = options.priority ?? defaultSignalPriority(signal);
  laneOf(priority);
  const loop = resolveLoop(options, 'onSignal');
  return onEvent<unknown[]>(new SignalTarget(object), signal, handler, { priority, loop });
}

/**
 * `object`'s `signal` emissions as a stream a task reads with
 * `yield* stream.next()`; each value is the signal's arguments (the
 * emitter first). `close()` disconnects; signals already queued can still
 * be read.
 *
 * @example
 * const clicks = fromSignal(button, 'clicked', { loop });
 * loop.createTask(function* () {
 *   for (;;) {
 *     const { done } = yield* clicks.next();
 *     if (done) break;
 *     label.setText('clicked');
 *   }
 * }, { priority: 'critical' });
 */
export function fromSignal(object: GObjectLike, signal: string, options: SignalStreamOptions = {}): EventStream<unknown[]> {
  checkSignalSource(object, signal, options, 'fromSignal');
  const maxsize = options.maxsize ?? 0;
  if (typeof maxsize !== 'number' || !Number.isInteger(maxsize) || maxsize < 0) {
    throw new RangeError(`fromSignal: maxsize must be an integer >= 0, got ${describe(maxsize)}`);
  }
  const priority = options.priority ?? defaultSignalPriority(signal);
  laneOf(priority);
  const loop = resolveLoop(options, 'fromSignal');
  return new EventStream<unknown[]>(new SignalTarget(object), signal, { priority, loop, maxsize });
}
