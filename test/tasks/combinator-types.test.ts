/**
 * Compile-time checks for the combinators' types (p-queue's tsd
 * `expectType`, done with the compiler itself): if inference breaks, this
 * file stops compiling. The runtime test runs the same code, so the values
 * match the types too.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  gather,
  shield,
  sleep,
  taskGroup,
  TaskGroup,
  timeout,
  timeoutAt,
  until,
  wait,
  waitFor,
  type EventLoop,
  type Future,
  type Task,
  type Timeout,
} from '../../src/index.js';
import { runInVirtualTime } from '../../src/testing.js';

/** True iff A and B are the same type (not merely assignable). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Compiles only when given `true`. */
function assertType<T extends true>(): void {}

function* numberCoroutine() {
  yield* sleep(1);
  return 7;
}

function* typeChecks(loop: EventLoop) {
  const f1 = loop.createFuture<number>();
  const f2 = loop.createFuture<string>();
  f1.setResult(1);
  f2.setResult('two');

  // gather(...ops): a tuple, element by element.
  const x: [number, string] = yield* gather(f1, f2);
  const [a, b] = yield* gather(f1, f2);
  assertType<Equal<typeof a, number>>();
  assertType<Equal<typeof b, string>>();

  // Coroutines, generator functions, tasks, sleep() and until() as ops.
  const task = loop.createTask(function* () {
    return true;
  });
  const [c, d, e, s, u] = yield* gather(numberCoroutine(), function* () { return 'fn'; }, task, sleep(1, 'slept'), until(Promise.resolve(5n)));
  assertType<Equal<typeof c, number>>();
  assertType<Equal<typeof d, string>>();
  assertType<Equal<typeof e, boolean>>();
  assertType<Equal<typeof s, string>>();
  assertType<Equal<typeof u, bigint>>();

  // gather(ops, options): the same tuple; with returnExceptions each slot may be an Error.
  const y: [number, string] = yield* gather([f1, f2]);
  const z = yield* gather([f1, f2], { returnExceptions: true });
  assertType<Equal<typeof z, [number | Error, string | Error]>>();
  const z2 = yield* gather([f1, f2], { returnExceptions: false });
  assertType<Equal<typeof z2, [number, string]>>();

  // No ops, and arrays that are not tuples.
  const empty = yield* gather();
  assertType<Equal<typeof empty, []>>();
  const many: Future<number>[] = [f1, f1];
  const spread = yield* gather(...many);
  assertType<Equal<typeof spread, number[]>>();
  const listed = yield* gather(many);
  assertType<Equal<typeof listed, number[]>>();

  // wait: two Sets of exactly what was passed.
  const [done, pending] = yield* wait([task]);
  assertType<Equal<typeof done, Set<Task<boolean>>>>();
  assertType<Equal<typeof pending, Set<Task<boolean>>>>();

  // waitFor, timeout, timeoutAt, shield, taskGroup, TaskGroup.run.
  const w = yield* waitFor(f1, 10);
  assertType<Equal<typeof w, number>>();
  const w2 = yield* waitFor(function* () { return 'w'; }, null);
  assertType<Equal<typeof w2, string>>();
  const t1 = yield* timeout(10, function* (scope) {
    assertType<Equal<typeof scope, Timeout>>();
    return 'in time';
  });
  assertType<Equal<typeof t1, string>>();
  const t2 = yield* timeout(10, f2);
  assertType<Equal<typeof t2, string>>();
  const t3 = yield* timeoutAt(loop.time() + 10, sleep(1, 3));
  assertType<Equal<typeof t3, number>>();
  const sh = yield* shield(f1);
  assertType<Equal<typeof sh, number>>();
  const g = yield* taskGroup(function* (tg) {
    assertType<Equal<typeof tg, TaskGroup>>();
    const child = tg.createTask(function* () {
      return 1;
    });
    assertType<Equal<typeof child, Task<number>>>();
    return yield* child;
  });
  assertType<Equal<typeof g, number>>();
  const g2 = yield* new TaskGroup().run(function* () {
    return 'run';
  });
  assertType<Equal<typeof g2, string>>();

  return [x, y, a, b, c, d, e, s, u, z, z2, empty, spread, listed, done.size, pending.size, w, w2, t1, t2, t3, sh, g, g2];
}

/** Never called: each line must fail to compile, or tsc reports an unused @ts-expect-error. */
function* mustNotCompile(loop: EventLoop) {
  const f1 = loop.createFuture<number>();
  const f2 = loop.createFuture<string>();
  // @ts-expect-error the tuple is [number, string]
  const wrongOrder: [string, number] = yield* gather(f1, f2);
  // @ts-expect-error a number is not an op
  gather(f1, 42);
  // @ts-expect-error a Promise is not an op (use until())
  gather(Promise.resolve(1));
  // @ts-expect-error returnExceptions: true makes slots number | Error
  const notSettled: [number] = yield* gather([f1], { returnExceptions: true });
  // @ts-expect-error wait returns Sets of the futures given
  const [done]: [Set<Task<string>>, Set<Task<string>>] = yield* wait([f1]);
  // @ts-expect-error timeout's value is the op's
  const t: string = yield* timeout(10, f1);
  // @ts-expect-error returnWhen is one of the three constants
  wait([f1], { returnWhen: 'SOMETIMES' });
  return [wrongOrder, notSettled, done, t];
}

test('combinator types infer tuples and results; the checks above compile and the values match (eventide: type tests)', async () => {
  assert.equal(typeof mustNotCompile, 'function');
  const values = await runInVirtualTime(typeChecks);
  assert.deepEqual(values.slice(0, 9), [[1, 'two'], [1, 'two'], 1, 'two', 7, 'fn', true, 'slept', 5n]);
  assert.deepEqual(values.slice(9), [[1, 'two'], [1, 'two'], [], [1, 1], [1, 1], 1, 0, 1, 'w', 'in time', 'two', 3, 1, 1, 'run']);
});
