/**
 * Where suspended tasks are paused (inspect/task-location.ts): file:line of
 * tasks suspended in this very file, mapped from the compiled .js back to
 * this .ts. Expected lines are found from marker comments in this file's
 * source text (`@at:name`), so editing the file never breaks the test.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CancelledError, currentTask, describeTask, formatTaskTree, sleep } from '../../src/index.js';
import type { Coroutine, Instruction, Task } from '../../src/index.js';
import { locateTask, locateTasks, lookupTaskLocations, taskLocator } from '../../src/node.js';
import type { SourceLocation } from '../../src/node.js';
import { runInVirtualTime } from '../../src/testing.js';

const SOURCE = fileURLToPath(new URL('../../../test/inspect/task-location.test.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const DIST_SRC = new URL('../../src/', import.meta.url);

/** The 1-based line holding `@at:name` in `text`, and the 1-based column of the first `yield` on it. */
function marker(name: string, text = readFileSync(SOURCE, 'utf8')): { line: number; column: number } {
  const lines = text.split('\n');
  const index = lines.findIndex((line) => line.includes(`// @at:${name}`));
  assert.notEqual(index, -1, `marker @at:${name} not found`);
  const line = lines[index] as string;
  return { line: index + 1, column: line.indexOf('yield') + 1 };
}

function me(): Task<unknown> {
  return currentTask() as Task<unknown>;
}

function* helper(): Coroutine<void> {
  yield* sleep(50); // (out of reach: the task's location stays at its own yield*)
}

test('tasks suspended in this file are located at their yield in this .ts file, with the compiled .js position beside it', async () => {
  await runInVirtualTime(function* (loop) {
    const sleeper = loop.createTask(function* () {
      yield* sleep(100); // @at:sleeper
    }, { name: 'sleeper' });
    const gate = loop.createFuture<void>();
    const waiter = loop.createTask(function* () {
      const n: number = 1;
      yield* gate; // @at:waiter
      return n;
    }, { name: 'waiter' });
    const untyped = loop.createTask(function* waitsUntyped() {
      yield gate as Instruction; // @at:untyped
    }, { name: 'untyped' });
    yield* sleep(0);

    const where = locateTasks([sleeper, waiter, untyped]);
    assert.equal(where.size, 3);
    for (const [task, name] of [[sleeper, 'sleeper'], [waiter, 'waiter'], [untyped, 'untyped']] as const) {
      const at = where.get(task) as SourceLocation;
      const expected = marker(name);
      assert.deepEqual([at.file, at.line, at.column, at.kind], [SOURCE, expected.line, expected.column, 'suspended'], name);
      assert.match(at.generated?.file ?? '', /dist[\\/]test[\\/]inspect[\\/]task-location\.test\.js$/);
      assert.equal(Object.isFrozen(at), true);
    }
    assert.equal(where.get(untyped)?.functionName, 'waitsUntyped');
    assert.equal(where.get(sleeper)?.functionName, '', 'an anonymous generator function has no name (not one V8 makes up)');
    assert.deepEqual(locateTask(sleeper), where.get(sleeper));

    // The location follows the task: released, the waiter moves on to its next yield.
    gate.setResult();
    yield* sleep(0);
    assert.equal(waiter.done(), true);
    assert.equal(locateTask(waiter), undefined);
    sleeper.cancel();
    untyped.cancel();
    yield* sleep(0);
  });
});

test('a task that delegated to a helper generator is located at its own `yield* helper()` line (the helper is out of reach)', async () => {
  await runInVirtualTime(function* (loop) {
    const delegating = loop.createTask(function* () {
      yield* helper(); // @at:delegating
    }, { name: 'delegating' });
    yield* sleep(0);
    const at = locateTask(delegating);
    assert.deepEqual([at?.file, at?.line, at?.column, at?.kind], [SOURCE, marker('delegating').line, marker('delegating').column, 'suspended']);
    delegating.cancel();
    yield* sleep(0);
  });
});

test('a task not started yet is located at its generator function, kind "not-started"', async () => {
  await runInVirtualTime(function* (loop) {
    const fresh = loop.createTask(function* () { // @at:fresh
      yield* sleep(5);
    }, { name: 'fresh' });
    const at = locateTask(fresh);
    assert.deepEqual([at?.file, at?.line, at?.kind], [SOURCE, marker('fresh').line, 'not-started']);
    fresh.cancel();
    yield* sleep(0);
  });
});

test('done, running and cancelled tasks: none has a location, and the lookup says why; a pending cancel still shows where the task waits', async () => {
  await runInVirtualTime(function* (loop) {
    const quick = loop.createTask(function* () {
      return 1;
    }, { name: 'quick' });
    const stubborn = loop.createTask(function* () {
      try {
        yield* sleep(100); // @at:before-cancel
      } catch (error) {
        assert.ok(error instanceof CancelledError);
        yield* sleep(10); // @at:after-cancel
      }
    }, { name: 'stubborn' });
    const victim = loop.createTask(function* () {
      yield* sleep(100);
    }, { name: 'victim' });
    yield* sleep(0);

    // Cancel requested, not delivered yet: still paused where it was.
    stubborn.cancel('stop');
    victim.cancel('stop');
    assert.equal(locateTask(stubborn)?.line, marker('before-cancel').line);
    yield* sleep(0);
    // Delivered: stubborn caught it and waits again, elsewhere; victim is done (cancelled).
    assert.equal(locateTask(stubborn)?.line, marker('after-cancel').line);
    assert.equal(victim.cancelled(), true);

    const lookups = lookupTaskLocations([quick, victim, me(), stubborn]);
    assert.deepEqual(lookups.get(quick), { location: undefined, reason: 'done' });
    assert.deepEqual(lookups.get(victim), { location: undefined, reason: 'done' });
    assert.deepEqual(lookups.get(me()), { location: undefined, reason: 'running (its step is on the stack)' });
    assert.equal(lookups.get(stubborn)?.location?.line, marker('after-cancel').line);
    assert.equal(locateTask(quick), undefined);
    assert.equal(locateTask(me()), undefined);
    assert.equal(locateTasks([quick, victim, me()]).size, 0);
    yield* sleep(10);
  });
});

test('a coroutine that is not a generator has no location; bad arguments are TypeErrors naming them', async () => {
  await runInVirtualTime(function* (loop) {
    const gate = loop.createFuture<void>();
    let sent = false;
    const iterator: Coroutine<void> = {
      next: () => (sent ? { done: true, value: undefined } : ((sent = true), { done: false, value: gate })),
      throw: (error: unknown) => {
        throw error;
      },
      return: () => ({ done: true, value: undefined }),
      [Symbol.iterator]() {
        return this;
      },
    } as Coroutine<void>;
    const handMade = loop.createTask(iterator, { name: 'hand-made' });
    yield* sleep(0);
    assert.deepEqual(lookupTaskLocations([handMade]).get(handMade), { location: undefined, reason: 'its coroutine is not a generator' });
    gate.setResult();
    yield* sleep(0);

    assert.throws(() => lookupTaskLocations(null as never), { name: 'TypeError', message: /lookupTaskLocations: expected an iterable of tasks, got null/ });
    assert.throws(() => locateTasks([{} as Task<unknown>]), { name: 'TypeError', message: /expected a Task, got \[object Object\]/ });
    assert.throws(() => taskLocator([], { relativeTo: 'src' }), { name: 'TypeError', message: /relativeTo must be an absolute directory, got src/ });
    assert.throws(() => formatTaskTree(loop, { locate: 5 as never }), { name: 'TypeError', message: /options.locate must be a function, got 5/ });
  });
});

test('formatTaskTree and describeTask print where tasks are paused only when given a locator', async () => {
  await runInVirtualTime(function* (loop) {
    const workers = [1, 2].map(() =>
      loop.createTask(function* () {
        yield* sleep(100); // @at:tree-worker
      }, { name: 'worker' }),
    );
    const odd = loop.createTask(function* () {
      yield* sleep(100); // @at:tree-odd
    }, { name: 'worker' });
    yield* sleep(0);
    const at = (name: string): string => `test/inspect/task-location.test.ts:${marker(name).line}:${marker(name).column}`;
    const locate = taskLocator(loop.allTasks(), { relativeTo: REPO });
    assert.equal(
      formatTaskTree(loop, { locate }),
      [
        `main #${me().id} (running)`,
        `├── 2 × worker (waiting on sleep, deadline +100 ms) at ${at('tree-worker')}`,
        `└── worker #${odd.id} (waiting on sleep, deadline +100 ms) at ${at('tree-odd')}`,
      ].join('\n'),
    );
    assert.equal(
      formatTaskTree(loop),
      [`main #${me().id} (running)`, `└── 3 × worker (waiting on sleep, deadline +100 ms)`].join('\n'),
      'without a locator the tree is as before, and equal siblings group',
    );

    const worker = workers[0] as Task<unknown>;
    assert.equal('location' in describeTask(worker), false);
    assert.deepEqual(describeTask(worker, { locate: locateTask }).location, locateTask(worker));
    for (const task of [...workers, odd]) task.cancel();
    yield* sleep(0);
  });
});

/**
 * Writes a program to `name` in a fresh temporary directory (removed after
 * the test), after two lines importing eventide's build: `sleep`,
 * `EventLoop`, `getRunningLoop` and `lookupTaskLocations`.
 */
function writeProgram(t: TestContext, name: string, body: readonly string[]): { path: string; text: string } {
  const dir = mkdtempSync(join(tmpdir(), 'eventide-where-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, name);
  const text = [
    `import { EventLoop, sleep, getRunningLoop } from ${JSON.stringify(new URL('index.js', DIST_SRC).href)};`,
    `import { lookupTaskLocations } from ${JSON.stringify(new URL('inspect/task-location.js', DIST_SRC).href)};`,
    ...body,
    '',
  ].join('\n');
  writeFileSync(path, text);
  return { path, text };
}

/** Runs `node ...args` and returns its stdout; fails the test with its stderr if it fails. */
function runNode(args: readonly string[]): string {
  const child = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000 });
  assert.equal(child.status, 0, `node ${args.join(' ')} failed:\n${child.stderr}`);
  return child.stdout;
}

test('`eventide run app.ts`: a task is located in the .ts file the loader transpiled (its inline source map)', (t) => {
  const { path: app, text } = writeProgram(t, 'app.ts', [
    '',
    'interface Shape {',
    '  readonly delayMs: number;',
    '  readonly label: string;',
    '}',
    '',
    'export default function* main(): Generator<any, void, any> {',
    "  const shape: Shape = { delayMs: 1000, label: 'x' };",
    '  const worker = getRunningLoop().createTask(function* () {',
    '    yield* sleep(shape.delayMs); // @at:app',
    "  }, { name: 'worker' });",
    '  yield* sleep(0);',
    '  console.log(JSON.stringify(lookupTaskLocations([worker]).get(worker)));',
    '  worker.cancel();',
    '}',
  ]);
  const out = runNode([fileURLToPath(new URL('cli/main.js', DIST_SRC)), 'run', app, '--virtual-time']);
  const lookup = JSON.parse(out.trim().split('\n').at(-1) as string) as { location?: SourceLocation; reason?: string };
  const expected = marker('app', text);
  assert.deepEqual([lookup.location?.file, lookup.location?.line, lookup.location?.column], [app, expected.line, expected.column], out);
  assert.equal(lookup.location?.generated?.file, app, 'the script run is the transpiled app.ts');
  assert.notEqual(lookup.location?.generated?.line, expected.line, 'the types were stripped, so the lines moved: the map was used');
});

test('a process started with --inspect can still locate tasks; plain JavaScript with no source map is located in the .js itself', (t) => {
  const { path: script, text } = writeProgram(t, 'plain.mjs', [
    "const loop = new EventLoop({ clock: 'virtual' });",
    'const task = loop.createTask(function* () {',
    '  yield* sleep(1000); // @at:plain',
    '});',
    'loop.runOnce(0);',
    'console.log(JSON.stringify(lookupTaskLocations([task]).get(task)));',
    'task.cancel();',
    'loop.runOnce(0);',
    'loop.close();',
  ]);
  const out = runNode(['--inspect=127.0.0.1:0', script]);
  const lookup = JSON.parse(out.trim()) as { location?: SourceLocation; reason?: string };
  const expected = marker('plain', text);
  assert.deepEqual(lookup.location, { file: script, line: expected.line, column: expected.column, kind: 'suspended', functionName: '' }, out);
});
