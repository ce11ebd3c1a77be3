/**
 * Compile-time type tests: `yield*` must infer T (p-queue's tsd idea, with
 * no extra tool). Every check here is a line that stops compiling if
 * inference breaks:
 *  - `expectType<T>(value)` fails when value is not assignable to T;
 *  - `exactly<T>()(value)` fails unless the type of value is exactly T
 *    (so a check cannot pass by inference decaying to `any`);
 *  - `// @ts-expect-error` lines fail the build if they DO compile.
 * The bodies also run, so the file has real runtime assertions too.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventLoop, Future, Task, getRunningLoop, run, sleep, until } from '../src/index.js';
import { NodeEventLoop, getRunningLoop as getNodeRunningLoop, run as runNode, type Transport } from '../src/node.js';
import type { Coroutine, Operation, Priority } from '../src/index.js';
import { assertLoopClean, runInVirtualTime } from '../src/testing.js';

type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;

/** Compiles only if `value` is assignable to T. */
function expectType<T>(value: T): T {
  return value;
}

/** `exactly<T>()(value)` compiles only if the type of `value` is exactly T. */
function exactly<T>() {
  return <V>(value: V, ..._mismatch: Equal<V, T> extends true ? [] : [never]): V => value;
}

test('yield* infers the value type of sleep, futures, tasks and until (checked by the compiler, then run)', async () => {
  const result = await runInVirtualTime(function* (loop) {
    const slept = yield* sleep(1);
    exactly<undefined>()(slept);

    const named = yield* sleep(1, 'x');
    exactly<string>()(named);
    // @ts-expect-error — sleep(1, 'x') evaluates to a string, not a number
    expectType<number>(yield* sleep(1, 'x'));

    const f = loop.createFuture<number>();
    loop.callSoon(() => f.setResult(7));
    const fromFuture = yield* f;
    exactly<number>()(fromFuture);
    // @ts-expect-error — a Future<number> yields a number
    expectType<string>(yield* f);

    const task = loop.createTask(function* () {
      yield* sleep(1);
      return { id: 3 };
    });
    exactly<Task<{ id: number }>>()(task);
    const fromTask = yield* task;
    exactly<{ id: number }>()(fromTask);

    const text = yield* until(Promise.resolve('text'));
    exactly<string>()(text);
    // @ts-expect-error — until(Promise<string>) evaluates to a string
    expectType<number>(yield* until(Promise.resolve('text')));
    const flattened = yield* until(Promise.resolve(Promise.resolve(5)));
    exactly<number>()(flattened);
    const plain = yield* until(true);
    exactly<boolean>()(plain);

    // The untyped form is `any`: allowed, but not checked.
    const untyped = yield f;
    exactly<any>()(untyped);

    return [slept, named, fromFuture, fromTask.id, text, flattened, plain, untyped] as const;
  });
  exactly<readonly [undefined, string, number, number, string, number, boolean, any]>()(result);
  assert.deepEqual(result, [undefined, 'x', 7, 3, 'text', 5, true, 7]);
});

test('run, runUntilComplete, runInVirtualTime and createTask infer their result types', async () => {
  const fromRun = run(
    function* () {
      return 1;
    },
    { clock: 'virtual' },
  );
  exactly<Promise<number>>()(fromRun);
  // @ts-expect-error — run(main returning a number) is a Promise<number>
  expectType<Promise<string>>(run(function* () {
    return 1;
  }));
  assert.equal(await fromRun, 1);

  const loop = new EventLoop({ clock: 'virtual' });
  const viaFunction = loop.runUntilComplete(function* () {
    yield* sleep(1);
    return 'done';
  });
  exactly<Promise<string>>()(viaFunction);
  assert.equal(await viaFunction, 'done');

  const fut = loop.createFuture<bigint>();
  exactly<Future<bigint>>()(fut);
  loop.callSoon(() => fut.setResult(2n));
  const viaFuture = loop.runUntilComplete(fut);
  exactly<Promise<bigint>>()(viaFuture);
  assert.equal(await viaFuture, 2n);

  const generator: Coroutine<number[]> = (function* () {
    return [1, 2];
  })();
  const task = loop.createTask(generator, { name: 'typed' });
  exactly<Task<number[]>>()(task);
  assert.deepEqual(await loop.runUntilComplete(task), [1, 2]);

  // `await` on a Future is typed as well (Future<T> is PromiseLike<T>).
  const awaited = await fut;
  exactly<bigint>()(awaited);
  assertLoopClean(loop);

  const inVirtual = runInVirtualTime(function* (l) {
    exactly<EventLoop>()(l);
    return l.time();
  });
  exactly<Promise<number>>()(inVirtual);
  assert.equal(await inVirtual, 0);
});

test('a user-defined Operation<T> and Future covariance type-check', async () => {
  function twice(ms: number): Operation<[number, number]> {
    return {
      *[Symbol.iterator]() {
        const a = yield* sleep(ms, ms);
        const b = yield* sleep(ms, ms * 2);
        return [a, b];
      },
    };
  }
  const pair = await runInVirtualTime(function* () {
    const p = yield* twice(5);
    exactly<[number, number]>()(p);
    return p;
  });
  assert.deepEqual(pair, [5, 10]);

  const loop = new EventLoop({ clock: 'virtual' });
  const narrow = loop.createFuture<'a'>();
  // A Future of a narrower type is a Future of the wider one (read side).
  const wide: Future<string> = narrow;
  // A Task<T> is a Future<T>.
  const task = loop.createTask(function* () {
    return 1;
  });
  const asFuture: Future<number> = task;
  assert.equal(wide, narrow);
  assert.equal(asFuture, task);
  narrow.cancel();
  await loop.runUntilComplete(task);
  assertLoopClean(loop);
});

test('misuses that must not compile (each line carries @ts-expect-error)', () => {
  const loop = new EventLoop({ clock: 'virtual' });
  const f = loop.createFuture<number>();
  const fails: (() => unknown)[] = [
    // @ts-expect-error — a Future<number> cannot take a string result
    () => f.setResult('x'),
    // @ts-expect-error — an async function is not a coroutine (use until())
    () => loop.createTask(async () => 1),
    // @ts-expect-error — unknown priority name
    () => loop.callSoon(() => {}, { priority: 'urgent' }),
    // @ts-expect-error — callbacks take no arguments
    () => loop.callSoon((x: number) => x),
    // @ts-expect-error — delayMs comes first, options last
    () => loop.callLater(() => {}, 10),
    // @ts-expect-error — sleep needs a number of milliseconds
    () => sleep('10'),
    // @ts-expect-error — run() takes a coroutine, not a value
    () => run(42),
  ];
  const badPriority: Priority[] = [
    'critical',
    // @ts-expect-error — not a priority
    'asap',
  ];
  assert.equal(fails.length, 7);
  assert.equal(badPriority.length, 2);
  f.cancel();
  assertLoopClean(loop);
});

test('a task body that yields a non-instruction does not compile', () => {
  const loop = new EventLoop({ clock: 'virtual' });
  const make = (): unknown =>
    loop.createTask(
      // @ts-expect-error — a task may yield only a Future, a Promise or sleep()
      function* () {
        yield 42;
      },
    );
  assert.equal(typeof make, 'function');
  assertLoopClean(loop);
});

test("'eventide/node': getRunningLoop is the same function typed () => NodeEventLoop; runInExecutor infers a function's result", async () => {
  exactly<() => NodeEventLoop>()(getNodeRunningLoop);
  exactly<() => EventLoop>()(getRunningLoop);
  assert.equal<unknown>(getNodeRunningLoop, getRunningLoop, 'one function, two types');
  const outcome = await runNode(function* () {
    const loop = getNodeRunningLoop();
    exactly<NodeEventLoop>()(loop);
    assert.ok(loop instanceof NodeEventLoop);
    assert.equal(typeof getNodeRunningLoop().createConnection, 'function'); // compiles: the I/O methods are on the type
    const sum = yield* loop.runInExecutor(null, (a: number, b: number) => a + b, 2, 3);
    exactly<number>()(sum);
    const shout = yield* loop.runInExecutor(null, async (text: string) => text.toUpperCase(), 'hi');
    exactly<string>()(shout);
    return [sum, shout] as const;
  });
  exactly<readonly [number, string]>()(outcome);
  assert.deepEqual(outcome, [5, 'HI']);
  const typesOnly = (loop: NodeEventLoop): void => {
    exactly<Future<number>>()(loop.runInExecutor<number>(null, new URL('file:///work.js'), 'add', 1, 2));
    exactly<Future<unknown>>()(loop.runInExecutor(null, 'file:///work.js', 'add'));
    exactly<Future<boolean>>()(loop.runInExecutor(null, (values: number[]) => values.length > 0, [1]));
  };
  assert.equal(typeof typesOnly, 'function');
});

test("'eventide/node' misuses that must not compile (each line carries @ts-expect-error)", () => {
  const fails: ((loop: NodeEventLoop, transport: Transport) => unknown)[] = [
    // @ts-expect-error — the portable getRunningLoop is an EventLoop, which has no createConnection
    () => getRunningLoop().createConnection,
    // @ts-expect-error — the arguments must match the function's parameters
    (loop) => loop.runInExecutor(null, (a: number) => a, 'one'),
    // @ts-expect-error — a module job needs an export name
    (loop) => loop.runInExecutor(null, new URL('file:///work.js')),
    // @ts-expect-error — water marks are numbers
    (_loop, transport) => transport.setWriteBufferLimits('1024'),
    // @ts-expect-error — the positional and object forms do not mix
    (_loop, transport) => transport.setWriteBufferLimits({ high: 8 }, 2),
  ];
  assert.equal(fails.length, 5);
});
