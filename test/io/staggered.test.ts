/**
 * staggeredRace (asyncio's staggered_race) on the virtual clock: attempts
 * with scripted outcomes log when they start, fail, win or are cancelled,
 * and the tests assert the exact log — start times 0, delay, 2·delay …, a
 * failure starting the next attempt at once, the winner, the losers
 * cancelled — and what the race returns.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { CancelledError } from '../../src/core/errors.js';
import { staggeredRace, type Attempt, type StaggeredRaceResult } from '../../src/io/staggered.js';
import type { EventLoop } from '../../src/tasks/event-loop.js';
import { sleep, type Coroutine } from '../../src/tasks/operation.js';
import { runInVirtualTime } from '../../src/testing.js';
import { failure } from './net-helpers.js';

/** What an attempt does: win or fail after `ms`, or wait until cancelled. */
type Script = { win: number } | { fail: number } | 'hang';

/** A race that never ends (a broken delay) fails the test instead of hanging the run. */
const T = { timeout: 10_000 };

class AttemptFailed extends Error {
  override name = 'AttemptFailed';
}

/** Attempts that follow `scripts`, logging `time event index` to `log`; attempt i resolves to `result i`. */
function scripted(loop: EventLoop, log: string[], scripts: readonly Script[]): Attempt<string>[] {
  return scripts.map((script, index) => function* (): Coroutine<string> {
    log.push(`${loop.time()} start ${index}`);
    try {
      yield* sleep(script === 'hang' ? Infinity : 'win' in script ? script.win : script.fail);
    } catch (error) {
      log.push(`${loop.time()} ${error instanceof CancelledError ? 'cancelled' : 'error'} ${index}`);
      throw error;
    }
    if (script !== 'hang' && 'fail' in script) {
      log.push(`${loop.time()} fail ${index}`);
      throw new AttemptFailed(`attempt ${index}`);
    }
    log.push(`${loop.time()} win ${index}`);
    return `result ${index}`;
  });
}

/** Races attempts scripted by `scripts`: what the race returns, and the log. */
function* raceScripts(loop: EventLoop, scripts: readonly Script[], delayMs: number | null): Coroutine<StaggeredRaceResult<string> & { log: string[] }> {
  const log: string[] = [];
  const outcome = yield* staggeredRace(loop, scripted(loop, log, scripts), delayMs);
  return { ...outcome, log };
}

/** The errors as names: null stays null. */
function errorNames(errors: unknown[]): (string | null)[] {
  return errors.map((e) => (e === null ? null : (e as Error).name));
}

test('attempts start every delay (0, 100, 200); the first to succeed wins, the others are cancelled and no more start', T, async () => {
  await runInVirtualTime(function* (loop) {
    const { log, winner, errors } = yield* raceScripts(loop, ['hang', 'hang', { win: 30 }, { win: 1 }], 100);
    assert.deepEqual(log, ['0 start 0', '100 start 1', '200 start 2', '230 win 2', '230 cancelled 0', '230 cancelled 1']);
    assert.deepEqual(winner, { index: 2, result: 'result 2' });
    assert.deepEqual(errorNames(errors), ['CancelledError', 'CancelledError', null], 'one entry per attempt started');
    assert.equal(loop.time(), 230, 'returns once the losers are done');
  });
});

test('a failure starts the next attempt at once; the delay runs from each start', T, async () => {
  await runInVirtualTime(function* (loop) {
    const { log, winner, errors } = yield* raceScripts(loop, [{ fail: 10 }, 'hang', { fail: 20 }, { win: 5 }, 'hang'], 100);
    assert.deepEqual(log, ['0 start 0', '10 fail 0', '10 start 1', '110 start 2', '130 fail 2', '130 start 3', '135 win 3', '135 cancelled 1']);
    assert.deepEqual(winner, { index: 3, result: 'result 3' });
    assert.deepEqual(errorNames(errors), ['AttemptFailed', 'CancelledError', 'AttemptFailed', null]);
    assert.equal((errors[0] as Error).message, 'attempt 0');
    assert.equal((errors[2] as Error).message, 'attempt 2');
  });
});

test('only the newest attempt\'s failure starts the next: an older one failing meanwhile changes nothing (asyncio)', T, async () => {
  await runInVirtualTime(function* (loop) {
    const { log, winner } = yield* raceScripts(loop, [{ fail: 150 }, 'hang', { win: 1 }], 100);
    assert.deepEqual(log, ['0 start 0', '100 start 1', '150 fail 0', '200 start 2', '201 win 2', '201 cancelled 1']);
    assert.equal(winner?.index, 2);
  });
});

test('every attempt fails: no winner, every error in start order, returned at the last failure', T, async () => {
  await runInVirtualTime(function* (loop) {
    const { log, winner, errors } = yield* raceScripts(loop, [{ fail: 300 }, { fail: 50 }, { fail: 10 }], 100);
    assert.deepEqual(log, ['0 start 0', '100 start 1', '150 fail 1', '150 start 2', '160 fail 2', '300 fail 0']);
    assert.equal(winner, null);
    assert.deepEqual(errors.map((e) => (e as Error).message), ['attempt 0', 'attempt 1', 'attempt 2']);
    assert.equal(loop.time(), 300);
  });
});

test('delay null: one attempt at a time, each when the previous one failed', T, async () => {
  await runInVirtualTime(function* (loop) {
    const { log, winner, errors } = yield* raceScripts(loop, [{ fail: 1000 }, { fail: 20 }, { win: 5 }, { win: 1 }], null);
    assert.deepEqual(log, ['0 start 0', '1000 fail 0', '1000 start 1', '1020 fail 1', '1020 start 2', '1025 win 2']);
    assert.deepEqual(winner, { index: 2, result: 'result 2' });
    assert.deepEqual(errorNames(errors), ['AttemptFailed', 'AttemptFailed', null]);
  });
});

test('delay 0: every attempt starts at time 0, in order; the quickest wins', T, async () => {
  await runInVirtualTime(function* (loop) {
    const { log, winner, errors } = yield* raceScripts(loop, [{ win: 30 }, { win: 10 }, { fail: 5 }], 0);
    assert.deepEqual(log, ['0 start 0', '0 start 1', '0 start 2', '5 fail 2', '10 win 1', '10 cancelled 0']);
    assert.deepEqual(winner, { index: 1, result: 'result 1' });
    assert.deepEqual(errorNames(errors), ['CancelledError', null, 'AttemptFailed']);
  });
});

test('no attempts: no winner, no errors, nothing started', T, async () => {
  await runInVirtualTime(function* (loop) {
    assert.deepEqual(yield* staggeredRace(loop, [], 100), { winner: null, errors: [] });
    assert.equal(loop.time(), 0);
  });
});

test('cancelling the task that runs the race cancels every attempt and waits for them before the CancelledError propagates', T, async () => {
  await runInVirtualTime(function* (loop) {
    const log: string[] = [];
    const attempts = scripted(loop, log, ['hang', 'hang', 'hang']);
    const racer = loop.createTask(function* () {
      try {
        return yield* staggeredRace(loop, attempts, 100);
      } catch (error) {
        log.push(`${loop.time()} race ${(error as Error).name}`);
        throw error;
      }
    });
    yield* sleep(150);
    racer.cancel();
    assert.ok((yield* failure(racer)) instanceof CancelledError);
    assert.deepEqual(log, ['0 start 0', '100 start 1', '150 cancelled 0', '150 cancelled 1', '150 race CancelledError']);
    assert.equal(racer.cancelled(), true);
  });
});

test('a winner the race cannot return (cancelled while a loser winds down) goes to discard, and so does a second success', T, async () => {
  await runInVirtualTime(function* (loop) {
    const log: string[] = [];
    const discarded: string[] = [];
    const discard = (result: string): void => void discarded.push(`${loop.time()} ${result}`);
    const slowLoser: Attempt<string> = function* () {
      try {
        yield* sleep(Infinity);
      } catch {
        log.push(`${loop.time()} loser cancelled`);
      }
      try {
        yield* sleep(50); // a loser that takes a while to clean up
      } catch (error) {
        log.push(`${loop.time()} loser's cleanup cancelled`);
        throw error;
      }
      return 'never';
    };
    const winning: Attempt<string> = function* () {
      yield* sleep(120);
      log.push(`${loop.time()} win`);
      return 'result 1';
    };
    const racer = loop.createTask(staggeredRace(loop, [slowLoser, winning], 100, { discard }));
    yield* sleep(230); // attempt 1 won at 220; the loser cleans up until 270
    racer.cancel();
    assert.ok((yield* failure(racer)) instanceof CancelledError);
    assert.deepEqual(log, ['220 win', '220 loser cancelled', "230 loser's cleanup cancelled"]);
    assert.deepEqual(discarded, ['230 result 1'], 'the winner, once every attempt is done');

    // An attempt that ignores its cancellation and returns: its result is discarded, the first success still wins.
    const stubborn: Attempt<string> = function* () {
      try {
        yield* sleep(Infinity);
      } catch {
        return 'stubborn';
      }
      return 'never';
    };
    const quick: Attempt<string> = function* () {
      return 'quick';
    };
    const late = yield* staggeredRace(loop, [stubborn, quick], 10, { discard });
    assert.deepEqual(late, { winner: { index: 1, result: 'quick' }, errors: [null, null] });
    assert.deepEqual(discarded, ['230 result 1', '240 stubborn']);
  });
});

test('bad arguments throw at the call, before any attempt starts: TypeError / RangeError naming them', T, async () => {
  await runInVirtualTime(function* (loop) {
    const started: number[] = [];
    const ok: Attempt<number> = function* () {
      started.push(1);
      return 1;
    };
    assert.throws(() => staggeredRace(loop, ok as unknown as Attempt<number>[], 1), { name: 'TypeError', message: 'staggeredRace: attempts must be an array of generator functions, got function ok' });
    assert.throws(() => staggeredRace(loop, [ok, 5 as unknown as Attempt<number>], 1), { name: 'TypeError', message: 'staggeredRace: attempts[1] must be a function, got 5' });
    assert.throws(() => staggeredRace(loop, [ok], '5' as unknown as number), { name: 'TypeError', message: 'staggeredRace: delayMs must be a number of milliseconds or null, got "5"' });
    for (const bad of [-1, NaN, Infinity]) {
      assert.throws(() => staggeredRace(loop, [ok], bad), { name: 'RangeError', message: `staggeredRace: delayMs must be a finite number of milliseconds >= 0 or null, got ${bad}` });
    }
    assert.throws(() => staggeredRace(loop, [ok], 1, { discard: 'x' as unknown as () => void }), { name: 'TypeError', message: 'staggeredRace: options.discard must be a function, got "x"' });
    // An attempt that is not a generator function fails as an attempt: the next one starts at once.
    const notGenerator = (() => 7) as unknown as Attempt<number>;
    const { winner, errors } = yield* staggeredRace(loop, [notGenerator, ok], 100);
    assert.deepEqual(winner, { index: 1, result: 1 });
    assert.equal((errors[0] as Error).message, 'staggeredRace: attempts[0] returned 7, not a generator; write it as function* () { … }');
    assert.deepEqual(started, [1]);
    assert.equal(loop.time(), 0);
  });
});
