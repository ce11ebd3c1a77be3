/**
 * Task step: one `yield* sleep(0)` round trip inside a task, in CPU ns per
 * step, against one `await null` inside an async function — the native
 * way to give up the thread and come straight back.
 *
 * A `sleep(0)` step is the whole suspension path of a task: the generator
 * yields a Sleep, the task schedules its own resumption on the ready queue,
 * the loop runs it on the next tick and the generator resumes. `await null`
 * is V8's cheapest suspension: one microtask.
 *
 * 1e6 steps in all, either in 1 task (every tick runs one step: the loop's
 * per-tick cost is paid per step) or spread over 100 concurrent tasks (a
 * tick runs 100 steps). The async baseline runs the same number of
 * concurrent async functions, each awaiting the same number of times.
 *
 * Also shown, for diagnosis only: the 1-task case driven by calling
 * `runOnce(0)` in a plain loop, which leaves out runForever's microtask hop
 * between ticks.
 */
import { EventLoop, sleep } from '../src/index.js';
import { expectCount, startWatch, stopWatch, type Group, type Sample } from './harness.js';

export const STEPS = 1_000_000;
const WARMUP_STEPS = 200_000;

/**
 * One long-lived loop for every eventide case, as in a real program (see
 * callsoon.ts for why a fresh loop per run would mislead).
 */
let sharedLoop: EventLoop | null = null;
function theLoop(): EventLoop {
  return (sharedLoop ??= new EventLoop());
}

function checkIdle(loop: EventLoop, what: string): void {
  const stats = loop.statistics();
  if (stats.ready !== 0 || stats.timers !== 0 || loop.isRunning() || loop.allTasks().length !== 0) {
    throw new Error(`bench: ${what} left work on the loop`);
  }
}

/** Spawns `tasks` tasks of `steps / tasks` sleeps each; returns ns per step. */
async function eventideSleep0(tasks: number, steps: number): Promise<Sample> {
  const loop = theLoop();
  const perTask = steps / tasks;
  let stepsDone = 0;
  let tasksDone = 0;
  const body = function* () {
    for (let i = 0; i < perTask; i++) {
      yield* sleep(0);
      stepsDone++;
    }
    if (++tasksDone === tasks) loop.stop();
  };
  for (let t = 0; t < tasks; t++) loop.createTask(body);
  const watch = startWatch();
  await loop.runForever();
  const sample = stopWatch(watch, steps);
  checkIdle(loop, `eventide sleep(0) x${tasks}`);
  expectCount(`eventide sleep(0) x${tasks}`, stepsDone, steps);
  return sample;
}

/** One task, the loop driven by runOnce(0) in a plain loop (no runForever). */
function eventideSleep0RunOnce(steps: number): Sample {
  const loop = theLoop();
  let stepsDone = 0;
  let finished = false;
  loop.createTask(function* () {
    for (let i = 0; i < steps; i++) {
      yield* sleep(0);
      stepsDone++;
    }
    finished = true;
  });
  const watch = startWatch();
  while (!finished) loop.runOnce(0);
  const sample = stopWatch(watch, steps);
  checkIdle(loop, 'eventide sleep(0) runOnce-driven');
  expectCount('eventide sleep(0) runOnce-driven', stepsDone, steps);
  return sample;
}

async function awaitNull(tasks: number, steps: number): Promise<Sample> {
  const perTask = steps / tasks;
  let stepsDone = 0;
  const body = async (): Promise<void> => {
    for (let i = 0; i < perTask; i++) {
      await null;
      stepsDone++;
    }
  };
  const watch = startWatch();
  const running: Promise<void>[] = [];
  for (let t = 0; t < tasks; t++) running.push(body());
  await Promise.all(running);
  const sample = stopWatch(watch, steps);
  expectCount(`await null x${tasks}`, stepsDone, steps);
  return sample;
}

const size = (warmup: boolean): number => (warmup ? WARMUP_STEPS : STEPS);
const UNIT = 'CPU ns/step';

export const taskStepGroup: Group = {
  id: 'task-step',
  title: `task step: yield* sleep(0) vs await null, ${STEPS.toExponential(0)} steps`,
  cases: [
    { name: 'eventide sleep(0), 1 task', unit: UNIT, run: (w) => eventideSleep0(1, size(w)) },
    { name: 'await null, 1 async fn', unit: UNIT, run: (w) => awaitNull(1, size(w)) },
    { name: 'eventide sleep(0), 100 tasks', unit: UNIT, run: (w) => eventideSleep0(100, size(w)) },
    { name: 'await null, 100 async fns', unit: UNIT, run: (w) => awaitNull(100, size(w)) },
    { name: 'eventide sleep(0), 1 task, runOnce-driven', unit: UNIT, run: (w) => eventideSleep0RunOnce(size(w)) },
  ],
  ratios: [
    { label: '1 task: eventide / await null', numerator: 'eventide sleep(0), 1 task', denominator: 'await null, 1 async fn', target: 2 },
    { label: '100 tasks: eventide / await null', numerator: 'eventide sleep(0), 100 tasks', denominator: 'await null, 100 async fns', target: 2 },
    {
      label: '1 task, runOnce-driven: eventide / await null',
      numerator: 'eventide sleep(0), 1 task, runOnce-driven',
      denominator: 'await null, 1 async fn',
      target: null,
    },
  ],
  reps: { full: 7, quick: 3 },
  warmups: { full: 2, quick: 1 },
};
