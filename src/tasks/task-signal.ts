/**
 * TaskController, TaskSignal and TaskPriorityChangeEvent: the control half
 * of the WICG Prioritized Task Scheduling API (the scheduling half is
 * tasks/scheduler.ts).
 *
 * In a browser, TaskSignal extends AbortSignal and TaskController extends
 * AbortController. Node's AbortSignal cannot be constructed or subclassed
 * (its constructor throws "Illegal constructor"), so TaskSignal is built
 * here on the platform's EventTarget and carries the whole AbortSignal
 * surface itself: `aborted`, `reason`, `throwIfAborted()`, `onabort` and the
 * 'abort' event. Anything that only reads that surface (eventide, or code
 * that duck-types signals) accepts a TaskSignal; APIs that check
 * `instanceof AbortSignal` (Node's fetch) do not — hand those an
 * AbortSignal made with `AbortSignal.any` or an AbortController that a
 * TaskSignal 'abort' listener aborts.
 *
 * Two dependency graphs, as in the specifications:
 *  - abort (DOM's "dependent signals"): `TaskSignal.any(signals)` aborts
 *    when any source does. Dependents are always attached to non-dependent
 *    sources (a dependent of a dependent is attached to its sources), so an
 *    abort marks every dependent aborted *before* any abort event fires,
 *    and the events fire source first, then dependents in creation order.
 *  - priority (the scheduling spec's "source signal"): `TaskSignal.any(…,
 *    {priority: signal})` follows `signal`'s priority changes; a dependent
 *    with no source has a fixed priority.
 *
 * Garbage collection (the spec's rule): a source holds its dependents
 * weakly, so deriving many short-lived signals from a long-lived controller
 * does not leak; a dependent is held strongly by its sources while someone
 * listens to it (an 'abort' or 'prioritychange' listener or handler —
 * listener pins are not undone by removing the listener) or while the
 * scheduler has tasks queued under it.
 *
 * Invariant: `#priorityChanging` is true exactly while a priority change
 * runs its algorithms and dispatches 'prioritychange'; `setPriority` during
 * that window throws a NotAllowedError DOMException.
 */

/**
 * The three priorities of the scheduling API, highest first.
 *
 * @example
 * const priority: TaskPriority = 'background';
 */
export type TaskPriority = 'user-blocking' | 'user-visible' | 'background';

/**
 * Every TaskPriority, highest first.
 *
 * @example
 * for (const priority of TASK_PRIORITIES) await scheduler.postTask(() => priority, { priority });
 */
export const TASK_PRIORITIES: readonly TaskPriority[] = Object.freeze(['user-blocking', 'user-visible', 'background']);

/**
 * The minimal AbortSignal surface eventide reads (a native AbortSignal or a TaskSignal).
 *
 * @example
 * function onAbort(signal: AbortSignalLike, cleanup: () => void) {
 *   if (signal.aborted) cleanup();
 *   else signal.addEventListener('abort', cleanup);
 * }
 */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** @internal Whether `value` is a TaskSignal, a native AbortSignal, or shaped like one. */
export function isAbortSignalLike(value: unknown): value is AbortSignalLike {
  if (value instanceof TaskSignal) return true;
  if (typeof AbortSignal === 'function' && value instanceof AbortSignal) return true;
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as AbortSignalLike).aborted === 'boolean' &&
    typeof (value as AbortSignalLike).addEventListener === 'function' &&
    typeof (value as AbortSignalLike).removeEventListener === 'function'
  );
}

/** @internal Throws a TypeError naming `what` unless `value` is a TaskPriority. */
export function checkTaskPriority(value: unknown, what: string): asserts value is TaskPriority {
  if (value !== 'user-blocking' && value !== 'user-visible' && value !== 'background') {
    throw new TypeError(`${what} must be one of 'user-blocking', 'user-visible', 'background', got ${describeValue(value)}`);
  }
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined || typeof value !== 'object') return String(value);
  return `an object (${Object.prototype.toString.call(value)})`;
}

/** The reason an abort without one carries, as AbortController uses. */
function defaultAbortReason(): DOMException {
  return new DOMException('This operation was aborted', 'AbortError');
}

/** The standard `EventInit` dictionary (bubbles, cancelable, composed). */
type EventInit = NonNullable<ConstructorParameters<typeof Event>[1]>;
type Listener = Parameters<EventTarget['addEventListener']>[1];
type ListenerOptions = Parameters<EventTarget['addEventListener']>[2];

/**
 * The `EventInit` of a 'prioritychange' event.
 *
 * @example
 * new TaskPriorityChangeEvent('prioritychange', { previousPriority: 'background' });
 */
export interface TaskPriorityChangeEventInit extends EventInit {
  /** The signal's priority before the change. */
  previousPriority: TaskPriority;
}

/**
 * The event a TaskSignal fires when its priority changes. The new priority
 * is `event.target.priority`.
 *
 * @example
 * controller.signal.addEventListener('prioritychange', (event) => {
 *   const e = event as TaskPriorityChangeEvent;
 *   console.log(`${e.previousPriority} -> ${controller.signal.priority}`);
 * });
 */
export class TaskPriorityChangeEvent extends Event {
  readonly #previousPriority: TaskPriority;

  constructor(type: string, init: TaskPriorityChangeEventInit) {
    super(String(type), checkChangeEventInit(init));
    this.#previousPriority = init.previousPriority;
  }

  /** The priority before the change. */
  get previousPriority(): TaskPriority {
    return this.#previousPriority;
  }
}

function checkChangeEventInit(init: unknown): TaskPriorityChangeEventInit {
  if (init === null || typeof init !== 'object') {
    throw new TypeError(`TaskPriorityChangeEvent: init must be an object with a previousPriority, got ${describeValue(init)}`);
  }
  checkTaskPriority((init as TaskPriorityChangeEventInit).previousPriority, 'TaskPriorityChangeEvent: init.previousPriority');
  return init as TaskPriorityChangeEventInit;
}

/**
 * The options of `TaskSignal.any`.
 *
 * @example
 * TaskSignal.any([a, b], { priority: controller.signal }); // follows controller's priority
 */
export interface TaskSignalAnyInit {
  /** A fixed priority, or a TaskSignal whose priority (and changes) to follow. Default 'user-visible'. */
  priority?: TaskPriority | TaskSignal;
}

/**
 * A source's weak hold on one dependent. `strong` is set while the
 * dependent is pinned (see the module comment).
 */
interface DependentLink {
  readonly ref: WeakRef<TaskSignal>;
  strong: TaskSignal | null;
}

/** One edge from a dependent to a source, kept by the dependent for pinning and clean-up. */
interface SourceEdge {
  readonly link: DependentLink;
  /** Undoes the edge at the source (removes the link or the native listener). */
  readonly detach: () => void;
}

/** When a dependent is collected, its sources forget it. */
const edgeCleanup = new FinalizationRegistry<() => void>((detach) => detach());

/** An `on…` event handler attribute: one listener, registered when first set. */
interface HandlerSlot {
  handler: ((event: Event) => unknown) | null;
  listener: ((event: Event) => void) | null;
}

/** @internal Hooks for tasks/scheduler.ts; not exported from the package. */
export interface TaskSignalHooks {
  hasFixedPriority(signal: TaskSignal): boolean;
  addAbortAlgorithm(signal: TaskSignal, algorithm: () => void): void;
  removeAbortAlgorithm(signal: TaskSignal, algorithm: () => void): void;
  addPriorityChangeAlgorithm(signal: TaskSignal, algorithm: () => void): void;
  removePriorityChangeAlgorithm(signal: TaskSignal, algorithm: () => void): void;
}

/** @internal Filled in by TaskSignal's static block (the only code that can reach its private state). */
export const taskSignalHooks = {} as TaskSignalHooks;

/** Module-private: TaskController's access to its signal. Set by TaskSignal's static block. */
let createSignal!: (priority: TaskPriority) => TaskSignal;
let abortSignal!: (signal: TaskSignal, reason: unknown) => void;
let changePriority!: (signal: TaskSignal, priority: TaskPriority) => void;

const CONSTRUCTING = Symbol('TaskSignal');

/**
 * An abort signal with a priority: hand it to `scheduler.postTask` (its
 * tasks follow the priority, and are aborted with it) or anywhere an
 * AbortSignal-shaped object is read. Obtained from a TaskController or
 * `TaskSignal.any`, never constructed directly.
 *
 * @example
 * const controller = new TaskController({ priority: 'background' });
 * const signal = controller.signal;
 * signal.onprioritychange = (e) => console.log('was', e.previousPriority, 'now', signal.priority);
 * signal.onabort = () => console.log('aborted:', signal.reason);
 * controller.setPriority('user-blocking');
 * controller.abort();
 */
export class TaskSignal extends EventTarget {
  #aborted = false;
  #reason: unknown = undefined;
  #priority: TaskPriority;
  #priorityChanging = false;

  /** DOM's "dependent" flag: made by `any` from sources that were not aborted. */
  #abortDependent = false;
  /** The non-dependent sources this signal follows (dependents only). */
  #abortSources: AbortSignalLike[] = [];
  /** Dependents following this signal's abort (sources only), weakly. */
  #abortDependents: Set<DependentLink> | null = null;
  #abortAlgorithms: Set<() => void> | null = null;

  /** The scheduling spec's "dependent" flag: made by `any`. */
  #priorityDependent = false;
  /** The (non-dependent) signal whose priority this one follows, or null. */
  #prioritySource: TaskSignal | null = null;
  #priorityDependents: Set<DependentLink> | null = null;
  #priorityAlgorithms: Set<() => void> | null = null;

  /** This signal's edges to the sources it follows for aborts (dependents only). */
  #abortEdges: SourceEdge[] = [];
  /** Its edge to `#prioritySource`, if any. */
  #priorityEdge: SourceEdge | null = null;
  /** A listener or handler was added: stay reachable from the sources. */
  #listenerPinned = false;

  readonly #onabort: HandlerSlot = { handler: null, listener: null };
  readonly #onprioritychange: HandlerSlot = { handler: null, listener: null };

  private constructor(token: symbol, priority: TaskPriority) {
    super();
    if (token !== CONSTRUCTING) {
      throw new TypeError('Illegal constructor: a TaskSignal comes from new TaskController().signal or TaskSignal.any()');
    }
    this.#priority = priority;
  }

  static {
    createSignal = (priority) => new TaskSignal(CONSTRUCTING, priority);
    abortSignal = (signal, reason) => signal.#signalAbort(reason);
    changePriority = (signal, priority) => signal.#signalPriorityChange(priority);
    Object.assign(taskSignalHooks, {
      hasFixedPriority: (signal: TaskSignal) => signal.#priorityDependent && signal.#prioritySource === null,
      addAbortAlgorithm(signal: TaskSignal, algorithm: () => void) {
        if (signal.#aborted) return;
        (signal.#abortAlgorithms ??= new Set()).add(algorithm);
        signal.#updatePins();
      },
      removeAbortAlgorithm(signal: TaskSignal, algorithm: () => void) {
        signal.#abortAlgorithms?.delete(algorithm);
        signal.#updatePins();
      },
      addPriorityChangeAlgorithm(signal: TaskSignal, algorithm: () => void) {
        (signal.#priorityAlgorithms ??= new Set()).add(algorithm);
        signal.#updatePins();
      },
      removePriorityChangeAlgorithm(signal: TaskSignal, algorithm: () => void) {
        signal.#priorityAlgorithms?.delete(algorithm);
        signal.#updatePins();
      },
    } satisfies TaskSignalHooks);
  }

  /**
   * A signal that aborts when any of `signals` aborts (with that signal's
   * reason; already aborted if one of them is), and whose priority is
   * `init.priority`: fixed if a TaskPriority, or following the given
   * TaskSignal's priority changes. `signals` may mix TaskSignals and
   * AbortSignals.
   *
   * @example
   * const request = new AbortController();
   * const ui = new TaskController({ priority: 'user-blocking' });
   * const signal = TaskSignal.any([request.signal, ui.signal], { priority: ui.signal });
   * scheduler.postTask(render, { signal }); // aborted by either, prioritized by ui
   */
  static any(signals: Iterable<AbortSignalLike | TaskSignal>, init: TaskSignalAnyInit = {}): TaskSignal {
    if (init === null || (typeof init !== 'object' && typeof init !== 'function')) {
      throw new TypeError(`TaskSignal.any: init must be an object, got ${describeValue(init)}`);
    }
    const priorityInit = init.priority === undefined ? 'user-visible' : init.priority;
    if (!(priorityInit instanceof TaskSignal)) checkTaskPriority(priorityInit, 'TaskSignal.any: init.priority');
    if (signals === null || signals === undefined || typeof (signals as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new TypeError(`TaskSignal.any: signals must be an iterable of AbortSignals, got ${describeValue(signals)}`);
    }
    const sources = Array.from(signals);
    sources.forEach((source, index) => {
      if (!isAbortSignalLike(source)) {
        throw new TypeError(`TaskSignal.any: signals[${index}] must be an AbortSignal or TaskSignal, got ${describeValue(source)}`);
      }
    });
    const result = new TaskSignal(CONSTRUCTING, 'user-visible');
    result.#followAborts(sources);
    result.#priorityDependent = true;
    if (priorityInit instanceof TaskSignal) result.#followPriority(priorityInit);
    else result.#priority = priorityInit;
    return result;
  }

  /** Whether the signal was aborted. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** Why it was aborted (an AbortError DOMException unless a reason was given); undefined before. */
  get reason(): unknown {
    return this.#reason;
  }

  /** The signal's current priority. */
  get priority(): TaskPriority {
    return this.#priority;
  }

  /**
   * Throws the abort reason if the signal was aborted.
   *
   * @example
   * signal.throwIfAborted();
   */
  throwIfAborted(): void {
    if (this.#aborted) throw this.#reason;
  }

  /** The 'abort' event handler attribute. */
  get onabort(): ((this: TaskSignal, event: Event) => unknown) | null {
    return this.#onabort.handler;
  }

  set onabort(handler: ((this: TaskSignal, event: Event) => unknown) | null) {
    this.#setHandler('abort', this.#onabort, handler);
  }

  /** The 'prioritychange' event handler attribute. */
  get onprioritychange(): ((this: TaskSignal, event: TaskPriorityChangeEvent) => unknown) | null {
    return this.#onprioritychange.handler as ((this: TaskSignal, event: TaskPriorityChangeEvent) => unknown) | null;
  }

  set onprioritychange(handler: ((this: TaskSignal, event: TaskPriorityChangeEvent) => unknown) | null) {
    this.#setHandler('prioritychange', this.#onprioritychange, handler as ((event: Event) => unknown) | null);
  }

  /** As EventTarget's; a listener for 'abort' or 'prioritychange' also keeps a dependent signal alive. */
  override addEventListener(type: string, listener: Listener, options?: ListenerOptions): void {
    if (listener !== null && listener !== undefined && (type === 'abort' || type === 'prioritychange') && !this.#listenerPinned) {
      this.#listenerPinned = true;
      this.#updatePins();
    }
    super.addEventListener(type, listener, options);
  }

  get [Symbol.toStringTag](): string {
    return 'TaskSignal';
  }

  // ------------------------------------------------------------- abort

  /** DOM "signal abort": mark self and dependents, then run steps and fire events, self first. */
  #signalAbort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason === undefined ? defaultAbortReason() : reason;
    const dependents: TaskSignal[] = [];
    if (this.#abortDependents !== null) {
      for (const link of this.#abortDependents) {
        const dependent = link.ref.deref();
        if (dependent !== undefined && !dependent.#aborted) {
          dependent.#aborted = true;
          dependent.#reason = this.#reason;
          dependents.push(dependent);
        }
      }
      this.#abortDependents = null;
    }
    this.#runAbortSteps();
    for (const dependent of dependents) dependent.#runAbortSteps();
  }

  #runAbortSteps(): void {
    const algorithms = this.#abortAlgorithms;
    this.#abortAlgorithms = null;
    if (algorithms !== null) for (const algorithm of algorithms) algorithm();
    // An aborted dependent never aborts again: let its sources forget it.
    for (const edge of this.#abortEdges) edge.detach();
    this.#abortEdges = [];
    this.#abortSources = [];
    this.#updatePins();
    this.dispatchEvent(new Event('abort'));
  }

  /** DOM "create a dependent signal", for `any`. */
  #followAborts(sources: AbortSignalLike[]): void {
    for (const source of sources) {
      if (source.aborted) {
        this.#aborted = true;
        this.#reason = source.reason;
        return;
      }
    }
    this.#abortDependent = true;
    const followed = new Set<AbortSignalLike>();
    for (const source of sources) {
      const roots = source instanceof TaskSignal && source.#abortDependent ? source.#abortSources : [source];
      for (const root of roots) {
        if (followed.has(root)) continue;
        followed.add(root);
        this.#abortSources.push(root);
        const edge = root instanceof TaskSignal ? root.#attachAbortDependent(this) : attachToForeignSignal(root, this);
        this.#abortEdges.push(edge);
        this.#watchEdge(edge);
      }
    }
  }

  /** This (non-dependent) TaskSignal starts carrying its aborts to `dependent`. */
  #attachAbortDependent(dependent: TaskSignal): SourceEdge {
    const link: DependentLink = { ref: new WeakRef(dependent), strong: null };
    const dependents = (this.#abortDependents ??= new Set());
    dependents.add(link);
    return { link, detach: () => void this.#abortDependents?.delete(link) };
  }

  // ---------------------------------------------------------- priority

  /** The scheduling spec's `any` priority steps, given a TaskSignal. */
  #followPriority(sourceSignal: TaskSignal): void {
    this.#priority = sourceSignal.#priority;
    if (sourceSignal.#priorityDependent && sourceSignal.#prioritySource === null) return; // fixed
    let source = sourceSignal;
    if (source.#priorityDependent) source = source.#prioritySource as TaskSignal;
    this.#prioritySource = source;
    const link: DependentLink = { ref: new WeakRef(this), strong: null };
    (source.#priorityDependents ??= new Set()).add(link);
    this.#priorityEdge = { link, detach: () => void source.#priorityDependents?.delete(link) };
    this.#watchEdge(this.#priorityEdge);
  }

  /** The scheduling spec's "signal priority change". */
  #signalPriorityChange(priority: TaskPriority): void {
    if (this.#priorityChanging) {
      throw new DOMException(
        `setPriority(${JSON.stringify(priority)}): cannot change a TaskSignal's priority while its priority change is being signalled (from a 'prioritychange' handler)`,
        'NotAllowedError',
      );
    }
    if (this.#priority === priority) return;
    this.#priorityChanging = true;
    try {
      const previousPriority = this.#priority;
      this.#priority = priority;
      if (this.#priorityAlgorithms !== null) for (const algorithm of Array.from(this.#priorityAlgorithms)) algorithm();
      this.dispatchEvent(new TaskPriorityChangeEvent('prioritychange', { previousPriority }));
      if (this.#priorityDependents !== null) {
        for (const link of Array.from(this.#priorityDependents)) {
          const dependent = link.ref.deref();
          if (dependent === undefined) this.#priorityDependents.delete(link);
          else dependent.#signalPriorityChange(priority);
        }
      }
    } finally {
      this.#priorityChanging = false;
    }
  }

  // --------------------------------------------------------- gc & handlers

  /** Once this signal is collected, the source forgets the edge. */
  #watchEdge(edge: SourceEdge): void {
    edgeCleanup.register(this, edge.detach);
    if (this.#isPinned()) edge.link.strong = this;
  }

  #isPinned(): boolean {
    return this.#listenerPinned || (this.#abortAlgorithms?.size ?? 0) > 0 || (this.#priorityAlgorithms?.size ?? 0) > 0;
  }

  /** Sources hold this signal strongly exactly while it is pinned. */
  #updatePins(): void {
    const strong = this.#isPinned() ? this : null;
    for (const edge of this.#abortEdges) edge.link.strong = strong;
    if (this.#priorityEdge !== null) this.#priorityEdge.link.strong = strong;
  }

  /** An `on…` attribute: the listener is registered once, when first set, and keeps its place. */
  #setHandler(type: string, slot: HandlerSlot, handler: ((event: Event) => unknown) | null): void {
    if (typeof handler !== 'function') {
      if (slot.listener !== null) this.removeEventListener(type, slot.listener);
      slot.listener = null;
      slot.handler = null;
      return;
    }
    slot.handler = handler;
    if (slot.listener === null) {
      slot.listener = (event: Event): void => void slot.handler?.call(this, event);
      this.addEventListener(type, slot.listener);
    }
  }
}

/**
 * Follows a signal this module does not own (a native AbortSignal) with an
 * 'abort' listener that holds the dependent only through its link.
 */
function attachToForeignSignal(source: AbortSignalLike, dependent: TaskSignal): SourceEdge {
  const link: DependentLink = { ref: new WeakRef(dependent), strong: null };
  const listener = (): void => {
    const target = link.ref.deref();
    if (target !== undefined) abortSignal(target, source.reason);
  };
  source.addEventListener('abort', listener);
  return { link, detach: () => source.removeEventListener('abort', listener) };
}

/**
 * The options of `new TaskController(init)`.
 *
 * @example
 * new TaskController({ priority: 'user-blocking' });
 */
export interface TaskControllerInit {
  /** The signal's initial priority; default 'user-visible'. */
  priority?: TaskPriority;
}

/**
 * Controls the tasks posted with its `signal`: `setPriority` moves every
 * queued one to the new priority (and fires 'prioritychange'), `abort`
 * rejects their promises with the reason and keeps them from running.
 *
 * @example
 * const controller = new TaskController({ priority: 'background' });
 * const done = scheduler.postTask(() => prefetch(), { signal: controller.signal });
 * onUserIntent(() => controller.setPriority('user-blocking'));
 * onNavigateAway(() => controller.abort());
 */
export class TaskController {
  readonly #signal: TaskSignal;

  constructor(init: TaskControllerInit = {}) {
    if (init === null || (typeof init !== 'object' && typeof init !== 'function')) {
      throw new TypeError(`TaskController: init must be an object such as { priority: 'background' }, got ${describeValue(init)}`);
    }
    const priority = init.priority === undefined ? 'user-visible' : init.priority;
    checkTaskPriority(priority, 'TaskController: init.priority');
    this.#signal = createSignal(priority);
  }

  /** The TaskSignal this controller drives. */
  get signal(): TaskSignal {
    return this.#signal;
  }

  /**
   * Aborts the signal with `reason` (default: an AbortError DOMException).
   * Aborting twice does nothing.
   *
   * @example
   * controller.abort(new Error('user left'));
   */
  abort(reason?: unknown): void {
    abortSignal(this.#signal, reason);
  }

  /**
   * Changes the signal's priority: queued tasks move first, then
   * 'prioritychange' fires (then dependents follow). The same priority does
   * nothing; an invalid one throws a TypeError; calling it from inside the
   * signal's 'prioritychange' dispatch throws a NotAllowedError DOMException.
   *
   * @example
   * controller.setPriority('user-blocking');
   */
  setPriority(priority: TaskPriority): void {
    checkTaskPriority(priority, 'TaskController.setPriority: priority');
    changePriority(this.#signal, priority);
  }

  get [Symbol.toStringTag](): string {
    return 'TaskController';
  }
}
