/**
 * Instrument hooks: how a loop tells observers what it does, at a cost of
 * one predictable branch per call site when nobody is listening.
 *
 * Trio's design, kept: an instrument is any object with some of the hook
 * methods (HOOK_NAMES). The table keeps, per hook name, a dispatcher that
 * calls every attached instrument having that hook, or `null` when none
 * does. A call site reads one field and tests it:
 *
 *     this.instrumentHooks.beforeCallback?.(handle);
 *
 * so a rare hook never slows a hot one, and with no instrument attached
 * every site costs a load and a never-taken branch. Sites that fire several
 * hooks (running a handle, running a task step) test one summary flag
 * (`active`, `observeSteps`) instead and take a separate, slower path.
 *
 * A dispatcher is a closure made when the instruments change, holding the
 * methods it calls: each hook site then always calls the same function,
 * which calls the same method, so the engine can inline through both
 * (a generic `call(hookName)` costs about 20 ns a hook more).
 *
 * Invariants:
 *  - the dispatchers are rebuilt on every add/remove and never change, so
 *    a hook call can go on while an instrument removes itself (or is
 *    removed for throwing) — it just finishes the old list;
 *  - an instrument that throws is removed at once and reported through the
 *    loop's exception handler; the loop goes on (Trio disables it too);
 *  - adding an instrument that is already attached does nothing.
 *
 * Core knows nothing about tasks (layering): hook arguments that are tasks
 * are typed loosely here; inspect/instrument.ts gives the precise types.
 * The tasks layer plugs in the two things core cannot know through
 * `setTaskBridge` (which handle runs a task's step; how to find tasks that
 * already wait when a `taskScheduled` hook is attached).
 */
import { describe } from './assert.js';
import type { Handle } from './handle.js';

/**
 * Every hook an instrument may have, in no particular order.
 *
 * @example
 * const logAll = Object.fromEntries(HOOK_NAMES.map((hook) => [hook, () => console.log(hook)]));
 * loop.addInstrument(logAll);
 */
export const HOOK_NAMES = Object.freeze([
  'beforeRun',
  'afterRun',
  'taskSpawned',
  'taskScheduled',
  'beforeTaskStep',
  'afterTaskStep',
  'taskExited',
  'beforeCallback',
  'afterCallback',
  'beforeIoWait',
  'afterIoWait',
  'beforeTimers',
  'afterTimers',
  'cancelRequested',
  'deadlineMissed',
] as const);

export type HookName = (typeof HOOK_NAMES)[number];

/**
 * An instrument as core sees it: any object with some of these methods.
 * Task arguments are `any` here (core cannot name Task); see
 * inspect/instrument.ts for the precise, documented interface.
 */
export interface CoreInstrument {
  beforeRun?(loop: any): void;
  afterRun?(loop: any): void;
  taskSpawned?(task: any, info: any): void;
  taskScheduled?(task: any, cause: any): void;
  beforeTaskStep?(task: any): void;
  afterTaskStep?(task: any): void;
  taskExited?(task: any): void;
  beforeCallback?(handle: Handle): void;
  afterCallback?(handle: Handle, durationMs: number | undefined): void;
  beforeIoWait?(timeoutMs: number): void;
  afterIoWait?(eventCount: number): void;
  /** The loop, which has timers, is about to move the due ones to the ready queue. */
  beforeTimers?(pendingTimers: number): void;
  /** `dueCount` timers were moved to the ready queue (0: none was due). */
  afterTimers?(dueCount: number): void;
  cancelRequested?(task: any, info: any): void;
  /** A handle scheduled with `{deadlineMs}` is about to run `lateMs` ms after its deadline. */
  deadlineMissed?(handle: Handle, lateMs: number): void;
}

/**
 * A task as core's reports name it (tasks/task.ts implements it; core
 * cannot import Task). Core cannot tell which task a handle serves: a
 * wake-up handle's arg is the future waited on, not the task.
 */
export interface StepOwner {
  /** What the handle that ran a step of this task did, e.g. `step of task "hog" #2`. */
  stepLabel(): string;
  /** Where the task was created (debug mode). */
  readonly sourceStack: string | undefined;
}

/** What the loop's exception handler is told when an instrument throws. */
export interface InstrumentErrorContext {
  message: string;
  exception: unknown;
  instrument: CoreInstrument;
  hook: HookName;
  [key: string]: unknown;
}

/** @internal What the tasks layer tells core (see setTaskBridge). */
export interface TaskBridge {
  /** The task whose step `handle` runs (a sleep's timer, a queued step), or null. */
  taskOfStepHandle(handle: Handle): object | null;
  /**
   * A `taskScheduled` hook was just attached to `loop`: make the tasks
   * already waiting on a future report their wake-up too.
   */
  armWaitingTasks(loop: object): void;
}

let taskBridge: TaskBridge | null = null;

/** @internal Called once by tasks/task.ts when it loads. */
export function setTaskBridge(bridge: TaskBridge): void {
  taskBridge = bridge;
}

/** One instrument's hook, looked up once when the instrument is added. */
interface HookEntry {
  readonly instrument: CoreInstrument;
  readonly fn: (this: CoreInstrument, a: unknown, b: unknown) => void;
  readonly hook: HookName;
}

/** Calls one hook on every instrument that has it (see the module comment). */
export type HookDispatcher = (a?: unknown, b?: unknown) => void;

type Hook = HookDispatcher | null;

/**
 * The hook table of one loop (`loop.instrumentHooks`). Fields named after
 * hooks hold the dispatcher for that hook, or null when no attached
 * instrument has it.
 * @internal Use `loop.addInstrument` / `loop.removeInstrument`.
 */
export class InstrumentHooks {
  beforeRun: Hook = null;
  afterRun: Hook = null;
  taskSpawned: Hook = null;
  taskScheduled: Hook = null;
  beforeTaskStep: Hook = null;
  afterTaskStep: Hook = null;
  taskExited: Hook = null;
  beforeCallback: Hook = null;
  afterCallback: Hook = null;
  beforeIoWait: Hook = null;
  afterIoWait: Hook = null;
  beforeTimers: Hook = null;
  afterTimers: Hook = null;
  cancelRequested: Hook = null;
  deadlineMissed: Hook = null;

  /** True while any instrument is attached. */
  active = false;
  /** Task steps take the observed path: a step hook, taskExited, or step timing is on. */
  observeSteps = false;
  /** Task run time is accumulated: task timing or debug mode is on. */
  timeSteps = false;
  /**
   * The task whose step ran in the handle the loop's observed path is
   * running (a step handle, or a wake-up that ran the step directly), or
   * null. Set by an observed step (tasks/task.ts) only while
   * `loop.currentHandle` is set; taken and cleared by the loop after each
   * observed handle, so it never keeps a task alive. Debug mode observes
   * every step, so its slow-callback warning can name the task.
   */
  steppedTask: StepOwner | null = null;

  readonly #owner: object;
  readonly #report: (context: InstrumentErrorContext) => void;
  readonly #onChange: () => void;
  #instruments: readonly CoreInstrument[] = [];
  #taskTiming = false;
  #debug = false;

  /**
   * `report` receives instruments that threw (the loop's exception
   * handler); `onChange` runs after every change of the summary flags.
   */
  constructor(owner: object, report: (context: InstrumentErrorContext) => void, onChange: () => void) {
    this.#owner = owner;
    this.#report = report;
    this.#onChange = onChange;
  }

  /** The attached instruments, in the order they were added. */
  list(): readonly CoreInstrument[] {
    return this.#instruments;
  }

  /**
   * Attaches `instrument`. Throws a TypeError if it is not an object, has
   * none of the hooks, or has a hook-named property that is not a function.
   */
  add(instrument: CoreInstrument): void {
    checkInstrument(instrument);
    if (this.#instruments.includes(instrument)) return;
    const hadTaskScheduled = this.taskScheduled !== null;
    this.#instruments = [...this.#instruments, instrument];
    this.#rebuild();
    if (!hadTaskScheduled && this.taskScheduled !== null) taskBridge?.armWaitingTasks(this.#owner);
  }

  /** Detaches `instrument`; false if it was not attached. */
  remove(instrument: CoreInstrument): boolean {
    const index = this.#instruments.indexOf(instrument);
    if (index === -1) return false;
    this.#instruments = this.#instruments.filter((_, i) => i !== index);
    this.#rebuild();
    return true;
  }

  /** Task timing on or off (run time per task; a clock read per step). */
  setTaskTiming(enabled: boolean): void {
    this.#taskTiming = enabled;
    this.#refreshFlags();
  }

  getTaskTiming(): boolean {
    return this.#taskTiming;
  }

  /** Debug mode also times task steps. */
  setDebug(enabled: boolean): void {
    this.#debug = enabled;
    this.#refreshFlags();
  }

  /**
   * Calls `hook(a, b)` on every instrument that has it. One that throws is
   * removed and reported; the others are still called.
   */
  call(hook: HookName, a?: unknown, b?: unknown): void {
    const fire = this[hook];
    if (fire !== null) fire(a, b);
  }

  #fail(entry: HookEntry, exception: unknown): void {
    const { instrument, hook } = entry;
    this.remove(instrument);
    this.#report({
      message: `Instrument ${describeInstrument(instrument)} raised an exception in ${hook}; it has been removed`,
      exception,
      instrument,
      hook,
    });
  }

  /** A timer handle reached the ready queue: if it runs a task's step, report that task scheduled. */
  reportTimerReady(handle: Handle): void {
    const task = taskBridge === null ? null : taskBridge.taskOfStepHandle(handle);
    if (task !== null) this.call('taskScheduled', task, { kind: 'timer', handle });
  }

  #rebuild(): void {
    const instruments = this.#instruments;
    for (const hook of HOOK_NAMES) {
      const entries: HookEntry[] = [];
      for (const instrument of instruments) {
        const fn = instrument[hook];
        if (typeof fn === 'function') entries.push({ instrument, fn: fn as HookEntry['fn'], hook });
      }
      this[hook] = entries.length === 0 ? null : this.#dispatcher(entries);
    }
    this.#refreshFlags();
  }

  /** A dispatcher over `entries` (one instrument, the common case, gets a loop-free one). */
  #dispatcher(entries: readonly HookEntry[]): HookDispatcher {
    if (entries.length === 1) {
      const entry = entries[0] as HookEntry;
      const { fn, instrument } = entry;
      return (a, b) => {
        try {
          fn.call(instrument, a, b);
        } catch (exception) {
          this.#fail(entry, exception);
        }
      };
    }
    return (a, b) => {
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i] as HookEntry;
        try {
          entry.fn.call(entry.instrument, a, b);
        } catch (exception) {
          this.#fail(entry, exception);
        }
      }
    };
  }

  #refreshFlags(): void {
    this.active = this.#instruments.length > 0;
    this.timeSteps = this.#taskTiming || this.#debug;
    this.observeSteps = this.timeSteps || this.beforeTaskStep !== null || this.afterTaskStep !== null || this.taskExited !== null;
    this.#onChange();
  }
}

function checkInstrument(instrument: unknown): asserts instrument is CoreInstrument {
  if (instrument === null || (typeof instrument !== 'object' && typeof instrument !== 'function')) {
    throw new TypeError(`addInstrument: instrument must be an object with some of the hooks ${HOOK_NAMES.join(', ')}; got ${describe(instrument)}`);
  }
  let hooks = 0;
  for (const name of HOOK_NAMES) {
    const hook = (instrument as Record<string, unknown>)[name];
    if (hook === undefined) continue;
    if (typeof hook !== 'function') throw new TypeError(`addInstrument: instrument.${name} must be a function, got ${describe(hook)}`);
    hooks++;
  }
  if (hooks === 0) {
    throw new TypeError(`addInstrument: ${describe(instrument)} has none of the hooks ${HOOK_NAMES.join(', ')} (misspelled?)`);
  }
}

function describeInstrument(instrument: CoreInstrument): string {
  const name = (instrument as { name?: unknown }).name;
  return typeof name === 'string' && name !== '' ? JSON.stringify(name) : describe(instrument);
}
