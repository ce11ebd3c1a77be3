/**
 * One case of the valve benchmark (bench/valve.ts), in a process of its own
 * so every case starts from a fresh heap and JIT:
 *
 *   node dist/bench/valve-case.js IMPL TASKS STEP_MS WARMUP_MS WINDOW_MS   (fd 3: the sensor's pipe)
 *
 * IMPL is `eventide-fifo` or `eventide-priority` (examples/valve.ts's
 * runValve under that policy; `eventide-priority:0.25` with a 0.25 ms slice
 * instead of the policy's) or `node`: the same scenario written the way
 * a Node program would be, below. Prints one JSON line, a ValveOutcome
 * (examples/valve-meter.ts).
 *
 * The Node baseline. The monitor is a `setTimeout(1)` chain and a
 * `net.Socket` on the pipe; each background task is an async function that
 * burns a step, writes its log line and then `await`s a setImmediate
 * promise. That is the Node idiom for "let I/O and timers through": a
 * resolved promise (`await null`) resumes as a microtask, and Node drains
 * the whole microtask queue before it runs any timer or I/O callback, so a
 * flood of tasks that only `await null` would keep the monitor from ever
 * running (unbounded latency, not a policy to compare against);
 * `setTimeout(0)` would idle each task for a clamped 1 ms. With
 * setImmediate every task takes one step per turn of Node's loop and the
 * timers and pipe get their turn in between: Node's own FIFO.
 */
import { Socket } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { POLICIES, runValve, type ValveOptions } from '../examples/valve.js';
import { backgroundStep, nowMs, openLog, readPipe, ValveMeter, type ValveOutcome } from '../examples/valve-meter.js';

/** The sensor's pipe, as the parent hands it to this process. */
const SENSOR_FD = 3;

type CaseOptions = Omit<ValveOptions, 'sensorFd'>;

/** The valve scenario on Node's own scheduling (see the top of the file). */
async function runNode(options: CaseOptions): Promise<ValveOutcome> {
  const meter = new ValveMeter(options);
  const log = openLog('node');
  const pipe = new Socket({ fd: SENSOR_FD, readable: true, writable: false });
  let timer: NodeJS.Timeout | undefined;
  let ended: () => void = () => {};
  const endedPromise = new Promise<void>((resolve) => (ended = resolve));
  const finish = (): void => {
    if (meter.finished) return;
    meter.finish(() => readPipe(SENSOR_FD, meter, nowMs()));
    clearTimeout(timer);
    pipe.destroy();
    ended();
  };

  pipe.on('data', (chunk: Buffer) => {
    const atMs = nowMs();
    meter.readings(chunk, atMs);
    if (meter.over(atMs)) finish();
  });
  const arm = (): void => {
    meter.timerArmed(nowMs() + 1);
    timer = setTimeout(onTimer, 1);
  };
  const onTimer = (): void => {
    const atMs = nowMs();
    meter.timerFired(atMs);
    if (meter.over(atMs)) finish();
    else arm();
  };

  const background = async (i: number): Promise<void> => {
    for (;;) {
      await nextTurn(); // before every step, the first too: creating a task must not run a step
      if (!backgroundStep(meter, finish, options.stepMs, log.fd, i)) return;
    }
  };
  const tasks: Promise<void>[] = [];
  for (let i = 0; i < options.tasks; i++) tasks.push(background(i));
  meter.start();
  arm();
  try {
    await endedPromise;
    await Promise.all(tasks);
  } finally {
    log.close();
  }
  return meter.outcome();
}

function parse(argv: string[]): { impl: string; options: CaseOptions } {
  const [impl, ...numbers] = argv;
  const values = numbers.map(Number);
  if (impl === undefined || values.length !== 4 || !values.every((v) => v >= 0)) {
    throw new TypeError(`valve-case: usage: IMPL TASKS STEP_MS WARMUP_MS WINDOW_MS, got ${JSON.stringify(argv)}`);
  }
  const [tasks, stepMs, warmupMs, windowMs] = values as [number, number, number, number];
  return { impl, options: { tasks, stepMs, warmupMs, windowMs } };
}

async function main(): Promise<void> {
  const { impl, options } = parse(process.argv.slice(2));
  let outcome: ValveOutcome;
  if (impl === 'node') outcome = await runNode(options);
  else {
    const [name, slice] = impl.split(':');
    const policy = POLICIES.find((p) => `eventide-${p.name}` === name);
    const sliceMs = slice === undefined ? policy?.sliceMs : Number(slice);
    if (policy === undefined || !(sliceMs !== undefined && sliceMs > 0)) {
      throw new TypeError(`valve-case: IMPL must be node or ${POLICIES.map((p) => `eventide-${p.name}[:SLICE_MS]`).join(', ')}, got ${JSON.stringify(impl)}`);
    }
    outcome = await runValve({ ...policy, sliceMs }, { ...options, sensorFd: SENSOR_FD });
  }
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
