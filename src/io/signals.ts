/**
 * Signal handlers: asyncio's `loop.add_signal_handler` and
 * `loop.remove_signal_handler`.
 *
 * How a signal reaches a callback. The kernel interrupts the process;
 * libuv's C handler (installed by Node when a 'SIGxxx' listener is added
 * to `process`) only writes the signal number into a pipe that Node's
 * loop watches. Node's loop reads it and emits the event on `process`,
 * as an ordinary Node callback; our listener then puts the handler's
 * callback on the eventide loop's ready queue (`callSoon`, at the
 * priority given). So the callback never runs inside signal delivery: it
 * runs as a loop callback, in order with everything else in its lane, and
 * an exception in it goes to the loop's exception handler. Both Node
 * hosts let Node's loop run while eventide waits (guest: Node's loop does
 * the waiting; blocking: Node's backend fd, which has libuv's signal pipe
 * in its epoll set, is folded into eventide's own wait, and the signal
 * interrupts that epoll_wait anyway), so a signal wakes an idle loop.
 *
 * Invariants:
 *  - at most one `process` listener per (loop, signal number). Names and
 *    numbers are resolved to the number ('SIGIOT' and 'SIGABRT' are one
 *    signal), and the listener uses the signal's first name in
 *    os.constants.signals;
 *  - adding a handler again for the same signal replaces its callback and
 *    priority and keeps the listener: a delivery already queued runs the
 *    new callback (the signal did arrive; the handler is what changed);
 *  - `removeSignalHandler` removes the listener and cancels deliveries
 *    queued but not yet run, so once it returns the callback never runs
 *    again. `NodeEventLoop.close()` removes every handler of the loop.
 *    This matters beyond tidiness: while a listener is installed, Node does
 *    not apply the signal's default action (SIGINT and SIGTERM no longer
 *    end the process), so a forgotten listener changes the program;
 *  - the functions accept any EventLoop, but only a NodeEventLoop's close()
 *    removes its handlers. Another loop should call
 *    `removeAllSignalHandlers(loop)` before closing; as a safety net, a
 *    signal that arrives for a closed loop removes the stale listener.
 *
 * Signals exist for the process's main thread only: Node never emits them
 * inside a worker thread, so adding a handler there is refused rather than
 * silently never called. SIGUSR1 is Node's "start the inspector" signal;
 * a handler for it replaces that behaviour while installed.
 */
import { constants as osConstants } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { checkCallback, checkNotGeneratorFunction, describe } from '../core/assert.js';
import { RuntimeError } from '../core/errors.js';
import type { Handle } from '../core/handle.js';
import { laneOf, type Priority, type ScheduleOptions } from '../core/priority.js';
import type { EventLoop } from '../tasks/event-loop.js';

/** A signal given by name ('SIGINT') or number (2). */
export type SignalLike = NodeJS.Signals | number;

/** The signals no process can catch. */
const UNCATCHABLE = new Set<number>([osConstants.signals.SIGKILL, osConstants.signals.SIGSTOP]);

const NUMBER_OF_NAME = new Map<string, number>(Object.entries(osConstants.signals));

/** Each number's first name (so 6 is 'SIGABRT', not its alias 'SIGIOT'). */
const NAME_OF_NUMBER = new Map<number, NodeJS.Signals>();
for (const [name, number] of NUMBER_OF_NAME) {
  if (!NAME_OF_NUMBER.has(number)) NAME_OF_NUMBER.set(number, name as NodeJS.Signals);
}

/** One installed handler: what runs, at which priority, and the `process` listener behind it. */
interface Registration {
  readonly loop: EventLoop;
  readonly name: NodeJS.Signals;
  callback: () => unknown;
  priority: Priority;
  readonly listener: () => void;
  /** Deliveries queued on the loop and not yet run (cancelled on removal). */
  readonly pending: Set<Handle>;
}

/** Per loop: signal number → its handler. */
const tables = new WeakMap<EventLoop, Map<number, Registration>>();

/**
 * The signal's number and canonical name; a TypeError or RangeError naming
 * the bad value otherwise (SIGKILL and SIGSTOP cannot be caught).
 */
function resolveSignal(signal: unknown, who: string, refuseUncatchable = true): { number: number; name: NodeJS.Signals } {
  let number: number | undefined;
  if (typeof signal === 'string') {
    number = NUMBER_OF_NAME.get(signal);
    if (number === undefined) {
      const hint = NUMBER_OF_NAME.has(`SIG${signal}`) ? ` (did you mean 'SIG${signal}'?)` : '';
      throw new RangeError(`${who}: unknown signal ${describe(signal)}${hint}; expected a name from os.constants.signals such as 'SIGINT' or 'SIGUSR2', or its number`);
    }
  } else if (typeof signal === 'number') {
    if (!Number.isInteger(signal) || !NAME_OF_NUMBER.has(signal)) {
      throw new RangeError(`${who}: unknown signal number ${describe(signal)}; expected one of the numbers in os.constants.signals (SIGINT is ${osConstants.signals.SIGINT})`);
    }
    number = signal;
  } else {
    throw new TypeError(`${who}: signal must be a signal name such as 'SIGINT' or its number, got ${describe(signal)}`);
  }
  const name = NAME_OF_NUMBER.get(number) as NodeJS.Signals;
  if (refuseUncatchable && UNCATCHABLE.has(number)) throw new RangeError(`${who}: ${name} (signal ${number}) cannot be caught or handled`);
  return { number, name };
}

/**
 * Runs `callback` as a loop callback, at `options.priority` (default
 * 'normal'), each time the process receives `signal` — a name such as
 * 'SIGINT' or its number. A handler already installed for that signal on
 * this loop is replaced. SIGKILL and SIGSTOP cannot be caught (RangeError).
 * Main thread only; the loop must be open.
 *
 * @example
 * addSignalHandler(loop, 'SIGINT', () => mainTask.cancel('interrupted'));
 * addSignalHandler(loop, 'SIGTERM', () => loop.stop(), { priority: 'critical' });
 */
export function addSignalHandler(loop: EventLoop, signal: SignalLike, callback: () => unknown, options: ScheduleOptions = {}): void {
  const who = 'addSignalHandler';
  const { number, name } = resolveSignal(signal, who);
  checkCallback(callback, `${who}: callback`);
  checkNotGeneratorFunction(callback, `${who}: callback`); // as asyncio, in and out of debug mode
  if (options === null || typeof options !== 'object') throw new TypeError(`${who}: options must be an object, got ${describe(options)}`);
  const priority = options.priority ?? 'normal';
  laneOf(priority); // throws a TypeError naming a bad priority
  if (loop.isClosed()) throw new RuntimeError(`${who}: the event loop is closed`);
  if (!isMainThread) throw new RuntimeError(`${who}: signals are delivered to the main thread only; Node never emits ${name} inside a worker thread`);

  let table = tables.get(loop);
  const existing = table?.get(number);
  if (existing !== undefined) {
    existing.callback = callback;
    existing.priority = priority;
    return;
  }
  const registration: Registration = {
    loop,
    name,
    callback,
    priority,
    listener: () => deliver(registration),
    pending: new Set(),
  };
  process.on(name, registration.listener);
  if (table === undefined) tables.set(loop, (table = new Map()));
  table.set(number, registration);
}

/**
 * Removes the handler for `signal` installed on this loop; deliveries
 * already queued are cancelled. Returns false if there was none (always
 * for SIGKILL and SIGSTOP, which cannot have one). An unknown signal is a
 * RangeError.
 *
 * @example
 * removeSignalHandler(loop, 'SIGINT'); // true: Ctrl-C ends the process again
 * removeSignalHandler(loop, 'SIGINT'); // false
 */
export function removeSignalHandler(loop: EventLoop, signal: SignalLike): boolean {
  // SIGKILL and SIGSTOP are valid signals that never have a handler: false, as asyncio.
  const { number } = resolveSignal(signal, 'removeSignalHandler', false);
  const table = tables.get(loop);
  const registration = table?.get(number);
  if (table === undefined || registration === undefined) return false;
  table.delete(number);
  if (table.size === 0) tables.delete(loop);
  release(registration);
  return true;
}

/**
 * Removes every signal handler of `loop` and returns how many there were.
 * `NodeEventLoop.close()` calls it; call it before closing any other loop
 * that has handlers.
 *
 * @example
 * removeAllSignalHandlers(loop);
 * loop.close();
 */
export function removeAllSignalHandlers(loop: EventLoop): number {
  const table = tables.get(loop);
  if (table === undefined) return 0;
  tables.delete(loop);
  for (const registration of table.values()) release(registration);
  return table.size;
}

/**
 * The signals `loop` has handlers for, by canonical name (for
 * introspection and tests).
 *
 * @example
 * addSignalHandler(loop, 'SIGIOT', onAbort);
 * signalHandlerNames(loop); // ['SIGABRT']
 */
export function signalHandlerNames(loop: EventLoop): NodeJS.Signals[] {
  return [...(tables.get(loop)?.values() ?? [])].map((registration) => registration.name);
}

/** The `process` listener: queue one run of the callback on the loop. */
function deliver(registration: Registration): void {
  const loop = registration.loop;
  if (loop.isClosed()) {
    // A loop whose close() does not release handlers (not a NodeEventLoop).
    removeAllSignalHandlers(loop);
    return;
  }
  const handle: Handle = loop.callSoon(() => {
    registration.pending.delete(handle);
    return registration.callback();
  }, { priority: registration.priority });
  registration.pending.add(handle);
}

function release(registration: Registration): void {
  process.removeListener(registration.name, registration.listener);
  for (const handle of registration.pending) handle.cancel();
  registration.pending.clear();
}
