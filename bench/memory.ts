/**
 * Memory: retained heap bytes per pending timer and per pending task.
 *
 * Method, the same for every case: create the container (loop, array of
 * references) first; collect garbage twice and read
 * `process.memoryUsage().heapUsed`; create 1e5 pending items; collect
 * twice again and read again. The difference over 1e5 is what one pending
 * item keeps alive. The references are stored into an array allocated and
 * filled before the first reading, so the array's own size is not counted.
 * Needs `global.gc` (node --expose-gc; bench/index.ts arranges it).
 *
 *  - timer: an eventide TimerHandle in the loop's heap (`callLater`)
 *    against a Node `Timeout` in its timer list (`setTimeout`). Both share
 *    one callback function, so no closure is counted.
 *  - task: an eventide task suspended in `yield* future` against an async
 *    function suspended in `await promise`; all of them wait on the same
 *    future / promise, so the count includes the waiter's registration (a
 *    done-callback slot, a promise reaction) but not a future per task.
 *    The loop's ready queue is grown to size beforehand, so the capacity it
 *    keeps after running 1e5 first steps is not charged to the tasks.
 */
import { EventLoop, type Task } from '../src/index.js';
import { gc, type Group } from './harness.js';

export const ITEMS = 100_000;
const WARMUP_ITEMS = 10_000;
const FAR_MS = 1e8;

function collect(): void {
  if (gc === null) throw new Error('bench memory: run node with --expose-gc (npm run bench does)');
  gc();
  gc();
}

function heapUsed(): number {
  collect();
  return process.memoryUsage().heapUsed;
}

function noop(): void {}

function eventideTimerBytes(items: number): number {
  const loop = new EventLoop();
  const keep = new Array<unknown>(items).fill(null);
  const before = heapUsed();
  for (let i = 0; i < items; i++) keep[i] = loop.callLater(FAR_MS, noop);
  const after = heapUsed();
  loop.close();
  return (after - before) / items;
}

function nodeTimerBytes(items: number): number {
  const keep = new Array<NodeJS.Timeout | null>(items).fill(null);
  const before = heapUsed();
  for (let i = 0; i < items; i++) keep[i] = setTimeout(noop, FAR_MS);
  const after = heapUsed();
  for (let i = 0; i < items; i++) clearTimeout(keep[i] as NodeJS.Timeout);
  return (after - before) / items;
}

async function eventideTaskBytes(items: number): Promise<number> {
  const loop = new EventLoop();
  // Grow the ready queue's normal lane to hold `items` first steps now.
  for (let i = 0; i < items; i++) loop.callSoon(noop);
  loop.runOnce(0);
  const future = loop.createFuture<void>();
  const body = function* () {
    yield* future;
  };
  const keep = new Array<Task<void> | null>(items).fill(null);
  const before = heapUsed();
  for (let i = 0; i < items; i++) keep[i] = loop.createTask(body);
  loop.runOnce(0); // every task runs its first step and suspends on the future
  const after = heapUsed();
  future.setResult();
  loop.runOnce(0); // every task resumes and finishes
  for (const task of keep) if (!(task as Task<void>).done()) throw new Error('bench memory: a task did not finish');
  loop.close();
  return (after - before) / items;
}

async function asyncFnBytes(items: number): Promise<number> {
  let release: () => void = () => {};
  const promise = new Promise<void>((resolve) => (release = resolve));
  const body = async (): Promise<void> => {
    await promise;
  };
  const keep = new Array<Promise<void> | null>(items).fill(null);
  const before = heapUsed();
  for (let i = 0; i < items; i++) keep[i] = body();
  const after = heapUsed();
  release();
  await Promise.all(keep);
  return (after - before) / items;
}

const UNIT = 'bytes/item';
const size = (warmup: boolean): number => (warmup ? WARMUP_ITEMS : ITEMS);

export const memoryGroup: Group = {
  id: 'memory',
  title: `memory: retained heap per pending item (${ITEMS.toExponential(0)} items, gc() before each reading)`,
  cases: [
    { name: 'eventide TimerHandle (pending)', unit: UNIT, run: (w) => eventideTimerBytes(size(w)) },
    { name: 'Node Timeout (pending)', unit: UNIT, run: (w) => nodeTimerBytes(size(w)) },
    { name: 'eventide task in yield* future', unit: UNIT, run: (w) => eventideTaskBytes(size(w)) },
    { name: 'async fn in await promise', unit: UNIT, run: (w) => asyncFnBytes(size(w)) },
  ],
  ratios: [
    { label: 'timer: eventide / Node', numerator: 'eventide TimerHandle (pending)', denominator: 'Node Timeout (pending)', target: null },
    { label: 'task: eventide / async fn', numerator: 'eventide task in yield* future', denominator: 'async fn in await promise', target: null },
  ],
  reps: { full: 5, quick: 3 },
  warmups: { full: 1, quick: 1 },
};
