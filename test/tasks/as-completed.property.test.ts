/**
 * asCompleted under random programs (fast-check, virtual time): ops of
 * random durations that succeed or fail, an optional deadline, and a
 * consumer that is cancelled at random moments and replaced by a fresh one
 * that goes on with the same iteration.
 *
 * What asyncio promises (and as-completed.ts states as its invariants):
 * the outcomes come out in the order the ops finish, the ops still running
 * at the deadline give one TimeoutError each after them, and nothing is
 * lost or read twice. A consumer cancelled while it holds a Future handed
 * out uses up that turn (as asyncio's cancelled Queue.get does) but the
 * outcome it would have had is not lost: it goes to the next Future. So
 * the reads are exactly the expected sequence, cut short by one for each
 * turn used up that way.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { asCompleted, CancelledError, currentTask, sleep, TimeoutError, type Coroutine, type Task } from '../../src/index.js';
import { runInVirtualTime } from '../../src/testing.js';

interface Program {
  ops: { ms: number; fails: boolean }[];
  timeoutMs: number | null;
  /**
   * When the consumer running then is cancelled: a timer at `atMs`, then
   * `hops` trips through the ready queue, so that a cancel can also land
   * after an op's outcome reached the consumer's Future but before the
   * consumer ran to read it.
   */
  cancelsAt: { atMs: number; hops: number }[];
}

const programArb: fc.Arbitrary<Program> = fc.record({
  ops: fc.array(fc.record({ ms: fc.integer({ min: 0, max: 20 }), fails: fc.boolean() }), { minLength: 0, maxLength: 8 }),
  timeoutMs: fc.option(fc.integer({ min: 0, max: 25 }), { nil: null }),
  cancelsAt: fc.array(fc.record({ atMs: fc.integer({ min: 0, max: 25 }), hops: fc.integer({ min: 0, max: 4 }) }), { maxLength: 4 }),
});

function* op(index: number, ms: number, fails: boolean): Coroutine<string> {
  yield* sleep(ms);
  if (fails) throw new Error(`e${index}`);
  return `v${index}`;
}

/**
 * The reads a consumer that is never cancelled makes: the ops that finish
 * before the deadline by finishing time (ties in creation order: their
 * sleeps were armed in that order), then one timeout per op still running.
 * At equal times the deadline wins: its timer was armed first.
 */
function expectedReads({ ops, timeoutMs }: Program): string[] {
  const finished = ops
    .map(({ ms, fails }, index) => ({ ms, index, outcome: fails ? `e${index}` : `v${index}` }))
    .filter(({ ms }) => timeoutMs === null || ms < timeoutMs)
    .sort((a, b) => a.ms - b.ms || a.index - b.index)
    .map(({ outcome }) => outcome);
  return [...finished, ...Array<string>(ops.length - finished.length).fill('timeout')];
}

async function runProgram(program: Program): Promise<{ reads: string[]; wasted: number }> {
  const reads: string[] = [];
  let wasted = 0;
  await runInVirtualTime(function* (loop) {
    const ops = program.ops.map(({ ms, fails }, index) => loop.createTask(op(index, ms, fails)));
    const it = asCompleted(ops, { timeoutMs: program.timeoutMs });
    function* consume(): Coroutine<void> {
      for (const next of it) {
        try {
          reads.push(yield* next);
        } catch (error) {
          if ((currentTask() as Task<unknown>).cancelling() > 0) {
            wasted++;
            throw error; // our own cancellation, not an op's outcome
          }
          if (error instanceof TimeoutError) reads.push('timeout');
          else if (error instanceof Error && !(error instanceof CancelledError)) reads.push(error.message);
          else throw error;
        }
      }
    }
    let consumer = loop.createTask(consume);
    const cancelAfter = (hops: number): void => {
      if (hops === 0) consumer.cancel();
      else loop.callSoon(() => cancelAfter(hops - 1));
    };
    const cancels = program.cancelsAt.map(({ atMs, hops }) => loop.callAt(atMs, () => cancelAfter(hops)));
    for (;;) {
      try {
        yield* consumer;
        break;
      } catch (error) {
        if (!(error instanceof CancelledError)) throw error;
        if (it.remaining === 0) break;
        consumer = loop.createTask(consume); // a fresh consumer goes on with the same iteration
      }
    }
    for (const timer of cancels) timer.cancel(); // those due after the iteration ended
    for (let hop = 0; hop <= 4; hop++) yield* sleep(0); // and let a cancel already on its hops land
    for (const task of ops) {
      try {
        yield* task;
      } catch {
        // its failure was read, or is counted as a timeout
      }
    }
  });
  return { reads, wasted };
}

test('asCompleted: outcomes in finishing order, one TimeoutError per late op, none lost or read twice, whatever cancels the consumer', async () => {
  await fc.assert(
    fc.asyncProperty(programArb, async (program) => {
      const { reads, wasted } = await runProgram(program);
      const expected = expectedReads(program);
      assert.deepEqual(reads, expected.slice(0, expected.length - wasted));
      if (program.cancelsAt.length === 0) assert.equal(wasted, 0);
    }),
    { numRuns: 1000 },
  );
});

test('asCompleted property, cases worked by hand: three ops, a deadline at 25 ms, the consumer cancelled at 10 ms while it waits, or just after its Future got the outcome', async () => {
  const program: Program = {
    ops: [
      { ms: 30, fails: false },
      { ms: 10, fails: true },
      { ms: 20, fails: false },
    ],
    timeoutMs: 25,
    cancelsAt: [{ atMs: 10, hops: 0 }],
  };
  assert.deepEqual(expectedReads(program), ['e1', 'v2', 'timeout']);
  // At 10 ms the consumer is cancelled before op 1 fails (the cancel's
  // timer was armed first): the wait is used up, e1 goes to the next one.
  assert.deepEqual(await runProgram(program), { reads: ['e1', 'v2'], wasted: 1 });
  // Two hops later op 1 has failed and its Future holds e1, but the
  // consumer has not run to read it: e1 goes back for the next one.
  program.cancelsAt = [{ atMs: 10, hops: 2 }];
  assert.deepEqual(await runProgram(program), { reads: ['e1', 'v2'], wasted: 1 });
});
