/**
 * A program to watch with the live console: named tasks at every priority
 * that sleep, contend for a lock, pass jobs through a bounded queue and
 * wait on an event that never comes — forever, until cancelled. Some steps
 * burn a little CPU so the tasks differ in busy time, and one step now and
 * then is slow enough for the slow-callback detector to warn about it.
 *
 * Run it with the console on, then watch it from another terminal:
 *
 *     npx tsc -p . && node dist/src/cli/main.js run dist/examples/console-demo.js --inspect
 *     node dist/src/cli/main.js top <pid>            # ↑/↓ select, q quits
 *     node dist/src/cli/main.js where <pid> worker-2
 *     node dist/src/cli/main.js cancel <pid> main    # ends the program
 *
 * (Run the compiled file: the TypeScript source imports `../src/*.ts`,
 * which `eventide run` would load as a second copy of the library beside
 * the one it runs on.)
 */
import { Event, Lock, Queue, sleep, taskGroup, type Coroutine } from '../src/index.js';

/** Keeps the CPU busy for `ms` real milliseconds: a stand-in for real work. */
function burn(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** Critical and frequent: checks a pressure valve every 50 ms. */
function* valveMonitor(): Coroutine<void> {
  for (;;) {
    yield* sleep(50);
    burn(0.2);
  }
}

/** Puts a job on the queue every 20 ms; waits when the queue is full. */
function* producer(jobs: Queue<number>): Coroutine<void> {
  for (let job = 1; ; job++) {
    yield* jobs.put(job);
    yield* sleep(20);
  }
}

/** Takes jobs; every tenth needs the disk lock. */
function* worker(jobs: Queue<number>, disk: Lock, costMs: number): Coroutine<void> {
  for (;;) {
    const job = yield* jobs.get();
    burn(costMs);
    if (job % 10 === 0) {
      yield* disk.acquire();
      try {
        yield* sleep(30);
      } finally {
        disk.release();
      }
    }
    jobs.taskDone();
  }
}

/** Holds the disk lock for long stretches; now and then a step hogs the loop. */
function* compactor(disk: Lock): Coroutine<void> {
  for (let round = 1; ; round++) {
    yield* disk.acquire();
    try {
      yield* sleep(400);
      if (round % 5 === 0) burn(120); // over the 100 ms slow-callback threshold
    } finally {
      disk.release();
    }
    yield* sleep(100);
  }
}

/** Idle priority: runs when nothing else is ready. */
function* logger(): Coroutine<void> {
  for (;;) yield* sleep(1000);
}

export default function* main(): Coroutine<void> {
  const jobs = new Queue<number>({ maxsize: 5 });
  const disk = new Lock();
  const shutdown = new Event(); // never set
  yield* taskGroup(function* (tg) {
    tg.createTask(valveMonitor(), { name: 'valve-monitor', priority: 'critical' });
    tg.createTask(producer(jobs), { name: 'producer', priority: 'high' });
    for (const n of [1, 2, 3]) tg.createTask(worker(jobs, disk, n), { name: `worker-${n}` });
    tg.createTask(compactor(disk), { name: 'compactor', priority: 'low' });
    tg.createTask(logger(), { name: 'logger', priority: 'idle' });
    tg.createTask(
      function* () {
        yield* shutdown.wait();
      },
      { name: 'shutdown-watch' },
    );
  });
}
