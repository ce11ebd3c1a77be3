/**
 * The main demo: one eventide loop running timers, tasks, cancellation, a
 * critical task overtaking a flood of normal work, native promise interop
 * and virtual time — printing what happened, in order, with loop times.
 *
 * Run it with `npm run demo`.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { CancelledError, currentTask, EventLoop, run, sleep, until, type Coroutine } from '../src/index.js';

function say(loop: EventLoop, what: string): void {
  console.log(`  [${loop.time().toFixed(1).padStart(7)} ms] ${what}`);
}

/** Keeps the CPU busy for `ms` real milliseconds: a stand-in for real work. */
function burn(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

function* timersInDeadlineOrder(loop: EventLoop): Coroutine<void> {
  console.log('\n1. Timers fire in deadline order, equal deadlines in scheduling order');
  const t0 = loop.time();
  const done = loop.createFuture<void>();
  let fired = 0;
  for (const [delay, label] of [[30, 'C (30 ms)'], [10, 'A (10 ms)'], [20, 'B1 (20 ms)'], [20, 'B2 (20 ms)']] as const) {
    loop.callAt(t0 + delay, () => {
      say(loop, `timer ${label}`);
      if (++fired === 4) done.setResult();
    });
  }
  yield* done;
}

function* tasksAndFutures(loop: EventLoop): Coroutine<void> {
  console.log('\n2. Tasks wait on futures; every resumption goes through the ready queue');
  const answer = loop.createFuture<number>();
  const consumer = loop.createTask(function* () {
    say(loop, 'consumer: waiting for the answer');
    const value = yield* answer; // typed: number
    say(loop, `consumer: got ${value}`);
    return value * 2;
  }, { name: 'consumer' });
  loop.createTask(function* () {
    yield* sleep(15);
    say(loop, 'producer: setting the answer');
    answer.setResult(21);
  }, { name: 'producer' });
  const doubled = yield* consumer;
  say(loop, `main: consumer returned ${doubled}`);
}

function* cancellation(loop: EventLoop): Coroutine<void> {
  console.log('\n3. Cancellation is delivered at the exact yield* where a task waits');
  const sleeper = loop.createTask(function* () {
    try {
      say(loop, 'sleeper: going to sleep for 10 s');
      yield* sleep(10_000);
    } catch (error) {
      if (error instanceof CancelledError) say(loop, `sleeper: cancelled ("${error.message}"), cleaning up`);
      throw error;
    }
  }, { name: 'sleeper' });
  yield* sleep(25);
  sleeper.cancel('no time to sleep');
  try {
    yield* sleeper;
  } catch (error) {
    say(loop, `main: sleeper ended with ${(error as Error).name}; signal.aborted = ${sleeper.signal.aborted}`);
  }
}

function* priorityOvertakesFlood(loop: EventLoop): Coroutine<void> {
  console.log('\n4. A critical task overtakes a flood of normal work');
  const floodSize = 2_000;
  const stepMs = 0.05;
  let floodDone = 0;
  const allDone = loop.createFuture<void>();
  // The flood: 2,000 normal-priority tasks, each burning 50 µs per step.
  for (let i = 0; i < floodSize; i++) {
    loop.createTask(function* () {
      burn(stepMs);
      yield* sleep(0);
      burn(stepMs);
      if (++floodDone === floodSize) allDone.setResult();
    }, { name: `flood-${i}` });
  }
  // Two monitors woken by the same kind of timer; one critical, one normal.
  const latencies: Record<string, number> = {};
  for (const priority of ['critical', 'normal'] as const) {
    loop.createTask(function* () {
      const wokenAt = loop.time() + 1;
      yield* sleep(1);
      latencies[priority] = loop.time() - wokenAt;
    }, { name: `monitor-${priority}`, priority });
  }
  yield* allDone;
  yield* sleep(0);
  say(loop, `flood of ${floodSize} tasks x 2 steps of ${stepMs * 1000} µs finished`);
  say(loop, `critical monitor woke ${latencies['critical']?.toFixed(2)} ms after its deadline`);
  say(loop, `normal monitor woke   ${latencies['normal']?.toFixed(2)} ms after its deadline (queued behind the flood)`);
}

function* nativePromises(loop: EventLoop): Coroutine<void> {
  console.log('\n5. Native promises and Node APIs keep working inside the loop');
  const source = yield* until(readFile(fileURLToPath(import.meta.url), 'utf8'));
  say(loop, `read this demo's own compiled source with fs.promises: ${source.length} bytes`);
  const future = loop.createFuture<string>();
  const viaAwait = (async () => `async function awaited the future: "${await future}"`)();
  loop.callLater(5, () => future.setResult('hello from the loop'));
  say(loop, yield* until(viaAwait));
  const timerValue = yield* until(new Promise<string>((resolve) => setTimeout(() => resolve('Node setTimeout fired'), 5)));
  say(loop, timerValue);
}

function* main(): Coroutine<void> {
  const loop = currentTask()!.loop as EventLoop;
  console.log('eventide demo: one loop — a ready queue, a timer heap, a selector; tasks are generators');
  yield* timersInDeadlineOrder(loop);
  yield* tasksAndFutures(loop);
  yield* cancellation(loop);
  yield* priorityOvertakesFlood(loop);
  yield* nativePromises(loop);
}

await run(main);

console.log('\n6. Virtual time: the same code, an hour of sleeps, no waiting');
const realStart = performance.now();
const virtualElapsed = await run(
  function* () {
    const loop = currentTask()!.loop;
    for (let i = 0; i < 60; i++) yield* sleep(60_000);
    return loop.time();
  },
  { clock: 'virtual' },
);
console.log(`  60 sleeps of one minute: ${virtualElapsed / 60_000} virtual minutes in ${(performance.now() - realStart).toFixed(1)} real ms`);
console.log('\nDone: every loop closed, nothing left scheduled.');
