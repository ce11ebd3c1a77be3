/**
 * Which export `eventide run` runs (src/cli/main-export.ts): the default if
 * it is a task body, else `main`; nothing is called to find out, and a
 * module with neither gets a message saying what both exports are.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseMainExport } from '../../src/cli/main-export.js';

function* generatorMain(): Generator<never, void, unknown> {}

test('the default export is chosen when it is a generator function or a generator object', () => {
  function* defaultMain(): Generator<never, void, unknown> {}
  assert.equal(chooseMainExport({ default: defaultMain, main: generatorMain }, 'app.ts'), defaultMain);
  const coroutine = defaultMain();
  assert.equal(chooseMainExport({ default: coroutine }, 'app.ts'), coroutine);
});

test('a default export that is not a task body gives way to a generator `main`, and neither is called', () => {
  let calls = 0;
  const helper = (): number => ++calls;
  const asyncDefault = async (): Promise<void> => void calls++;
  assert.equal(chooseMainExport({ default: helper, main: generatorMain }, 'app.ts'), generatorMain);
  assert.equal(chooseMainExport({ default: asyncDefault, main: generatorMain }, 'app.ts'), generatorMain);
  assert.equal(chooseMainExport({ default: 3, main: generatorMain }, 'app.ts'), generatorMain);
  assert.equal(calls, 0);
});

test('a module with no task body is refused with what its default and main are', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ default: async function main(): Promise<void> {} }, 'default is an async function main, main is missing'],
    [{ default: function helper(): void {} }, 'default is a plain function helper (not a generator), main is missing'],
    [{ main: async function* main(): AsyncGenerator<never> {} }, 'default is missing, main is an async generator function main'],
    [{ default: class App {}, main: 7 }, 'default is a class App, main is 7'],
    [{}, 'default is missing, main is missing'],
  ];
  for (const [module, says] of cases) {
    assert.throws(
      () => chooseMainExport(module, 'app.ts'),
      (e: Error) => e instanceof TypeError && e.message === `eventide run: app.ts must export a generator function as default or as main; ${says}`,
    );
  }
});
