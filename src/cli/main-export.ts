/**
 * Which export of a module `eventide run FILE` runs, decided before anything
 * of it is called.
 *
 * The default export if it is a task body, else the export named `main` if
 * that is one; a task body is a generator function or a generator object (a
 * coroutine, as `run` takes). Nothing is called to find out: calling an
 * `async function main()` to see what it returns would already run it, side
 * effects and all. A module with neither fails with a message that says what
 * each of the two exports is, so the fix is obvious.
 */
import { describe } from '../core/assert.js';
import { isCoroutine } from '../tasks/operation.js';
import type { CoroutineLike } from '../tasks/event-loop.js';

const GeneratorFunction = function* () {}.constructor;
const AsyncFunction = (async () => {}).constructor;
const AsyncGeneratorFunction = async function* () {}.constructor;

/** Whether `value` can be run as the main task without calling anything first. */
function isTaskBody(value: unknown): value is CoroutineLike<unknown> {
  return value instanceof GeneratorFunction || isCoroutine(value);
}

/** What an export is, for the error message: "missing", "an async function main", ... */
function describeExport(value: unknown): string {
  if (value === undefined) return 'missing';
  if (typeof value !== 'function') return describe(value);
  const name = value.name || '(anonymous)';
  if (value instanceof AsyncGeneratorFunction) return `an async generator function ${name}`;
  if (value instanceof AsyncFunction) return `an async function ${name}`;
  if (/^class[\s{]/.test(Function.prototype.toString.call(value))) return `a class ${name}`;
  return `a plain function ${name} (not a generator)`;
}

/**
 * The task body `module` offers: its default export, else its `main`.
 * Throws a TypeError naming `file` and what both exports are if neither is one.
 *
 * @example
 * chooseMainExport({ default: helper, main: function* () {} }, 'app.ts'); // the generator `main`
 */
export function chooseMainExport(module: { default?: unknown; main?: unknown }, file: string): CoroutineLike<unknown> {
  if (isTaskBody(module.default)) return module.default;
  if (isTaskBody(module.main)) return module.main;
  throw new TypeError(
    `eventide run: ${file} must export a generator function as default or as main; ` +
      `default is ${describeExport(module.default)}, main is ${describeExport(module.main)}`,
  );
}
