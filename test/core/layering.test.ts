/**
 * Layering: src/core is platform-free (DESIGN.md, "Layers").
 *
 * Reads every src/core/*.ts as text and checks that it imports only its
 * siblings in src/core (no `node:*`, no packages, nothing from tasks/, io/,
 * hosts/, inspect/), uses no DOM or Node-only globals, and reads no clock
 * except through a Clock. Comments and string contents are removed before
 * looking for globals, so prose may mention `window` freely. The scanner is
 * tested on a sample first, so a scanner that sees nothing cannot make the
 * real checks pass vacuously.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';

/** src/core, found from the compiled test (dist/test/core) or from the source (test/core). */
function coreDir(): string {
  for (const relative of ['../../../src/core/', '../../src/core/']) {
    const dir = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(join(dir, 'base-event-loop.ts'))) return dir;
  }
  throw new Error('layering test: cannot find src/core/*.ts');
}

const CORE = coreDir();
const FILES = readdirSync(CORE)
  .filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts'))
  .sort();
const SOURCES = new Map(FILES.map((name) => [name, readFileSync(join(CORE, name), 'utf8')] as const));

/**
 * The source with comments and string/template contents replaced by spaces
 * (newlines kept), so every position still lines up with the original.
 * Quotes stay; template `${…}` expressions stay code. Regex literals are not
 * recognised (src/core's contain no quotes or `//`).
 */
function blank(source: string): string {
  const out = source.split('');
  const n = source.length;
  const templateDepths: number[] = []; // brace depth inside each open `${`
  const erase = (from: number, to: number): void => {
    for (let k = from; k < to && k < n; k++) if (out[k] !== '\n') out[k] = ' ';
  };
  let i = 0;
  const scanTemplate = (): void => {
    // Called just after a backtick, or after the `}` that closes a `${`.
    while (i < n) {
      const c = source[i];
      if (c === '\\') {
        erase(i, i + 2);
        i += 2;
      } else if (c === '`') {
        i++;
        return;
      } else if (c === '$' && source[i + 1] === '{') {
        i += 2;
        templateDepths.push(0);
        return;
      } else {
        erase(i, i + 1);
        i++;
      }
    }
  };
  while (i < n) {
    const c = source[i];
    const next = source[i + 1];
    if (c === '/' && next === '/') {
      const end = source.indexOf('\n', i);
      const stop = end === -1 ? n : end;
      erase(i, stop);
      i = stop;
    } else if (c === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2);
      const stop = end === -1 ? n : end + 2;
      erase(i, stop);
      i = stop;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < n && source[j] !== c && source[j] !== '\n') j += source[j] === '\\' ? 2 : 1;
      erase(i + 1, j);
      i = j + 1;
    } else if (c === '`') {
      i++;
      scanTemplate();
    } else if (c === '{' && templateDepths.length > 0) {
      templateDepths[templateDepths.length - 1] = (templateDepths[templateDepths.length - 1] as number) + 1;
      i++;
    } else if (c === '}' && templateDepths.length > 0) {
      const depth = templateDepths[templateDepths.length - 1] as number;
      i++;
      if (depth === 0) {
        templateDepths.pop();
        scanTemplate();
      } else {
        templateDepths[templateDepths.length - 1] = depth - 1;
      }
    } else {
      i++;
    }
  }
  return out.join('');
}

/** The string literal whose opening quote is at `quoteIndex` in `source`. */
function literalAt(source: string, quoteIndex: number): string {
  const quote = source[quoteIndex] as string;
  const end = source.indexOf(quote, quoteIndex + 1);
  return source.slice(quoteIndex + 1, end);
}

/**
 * Every module specifier: static imports and re-exports, side-effect
 * imports, and dynamic import() (`<computed>` when not a literal). Only real
 * statements count, never text inside strings or comments.
 */
function specifiers(source: string): string[] {
  const code = blank(source);
  const found: string[] = [];
  const statement = /(?:^|[;\n])[ \t]*(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s*)?(['"])/g;
  for (const match of code.matchAll(statement)) found.push(literalAt(source, (match.index as number) + match[0].length - 1));
  for (const match of code.matchAll(/(?<![.\w$])import\s*\(\s*(['"`]?)/g)) {
    found.push(match[1] === '' ? '<computed>' : literalAt(source, (match.index as number) + match[0].length - 1));
  }
  return found;
}

/** Uses of `names` as free identifiers: not `.x`, `#x`, part of a longer name, or a property key. */
function freeUses(source: string, names: readonly string[]): string[] {
  const code = blank(source);
  const re = new RegExp(String.raw`(?<![.\w$#])(${names.join('|')})(?![\w$])(?!\s*\??\s*:(?!:))`, 'g');
  return Array.from(code.matchAll(re), (match) => match[1] as string);
}

const DOM_GLOBALS = [
  'document',
  'window',
  'navigator',
  'localStorage',
  'sessionStorage',
  'requestAnimationFrame',
  'cancelAnimationFrame',
  'HTMLElement',
  'XMLHttpRequest',
] as const;
const NODE_GLOBALS = ['process', 'Buffer', 'require', 'global', '__dirname', '__filename'] as const;

test('layering scanner self-test: finds imports and free globals in code, ignores comments, strings and property names', () => {
  const sample = [
    "import { a } from './a.js';",
    "import type { B } from 'node:fs';",
    "export * from '../tasks/task.js';",
    "import 'side-effect';",
    "const lazy = import('node:os');",
    '// window.document in a comment',
    '/* document */',
    "const s = 'window and document in a string';",
    "const hint = `use EpollSelector from 'eventide/node'`;",
    "throw new TypeError(\"import x from 'not-an-import'\");",
    'const computed = import(name);',
    'const t = `template ${window.innerWidth} and ${ { x: document }.x } text navigator`;',
    'const o = { window: 1, process: 2 };',
    'obj.document; this.#window; myWindow; documents;',
    'if (typeof process === "object") Buffer.from("x");',
  ].join('\n');
  assert.deepEqual(specifiers(sample).sort(), ['../tasks/task.js', './a.js', '<computed>', 'node:fs', 'node:os', 'side-effect'].sort());
  assert.deepEqual(freeUses(sample, DOM_GLOBALS), ['window', 'document']);
  assert.deepEqual(freeUses(sample, NODE_GLOBALS), ['process', 'Buffer']);
});

test('src/core has the expected files (the checks below are not vacuous)', () => {
  for (const name of ['base-event-loop.ts', 'deque.ts', 'timer-heap.ts', 'ready-queue.ts', 'handle.ts', 'priority.ts', 'clock.ts', 'selector.ts', 'host.ts', 'running.ts', 'assert.ts', 'errors.ts']) {
    assert.ok(FILES.includes(name), `src/core/${name} is missing`);
  }
  assert.ok(specifiers(SOURCES.get('base-event-loop.ts') as string).length >= 5);
});

test('no file in src/core imports node:* (statically, dynamically, or with require)', () => {
  const offending: string[] = [];
  for (const [name, source] of SOURCES) {
    for (const spec of specifiers(source)) if (spec.startsWith('node:')) offending.push(`${name}: ${spec}`);
    if (freeUses(source, ['require']).length > 0) offending.push(`${name}: require`);
  }
  assert.deepEqual(offending, []);
});

test('src/core imports only its own sibling modules, and each one exists', () => {
  const offending: string[] = [];
  for (const [name, source] of SOURCES) {
    for (const spec of specifiers(source)) {
      const sibling = /^\.\/([\w-]+)\.js$/.exec(spec);
      if (sibling === null) offending.push(`${name}: '${spec}' is not a ./sibling.js module`);
      else if (!FILES.includes(`${sibling[1]}.ts`)) offending.push(`${name}: '${spec}' has no ${sibling[1]}.ts in src/core`);
    }
  }
  assert.deepEqual(offending, []);
});

test('no file in src/core uses DOM globals (document, window, navigator, …)', () => {
  const offending: string[] = [];
  for (const [name, source] of SOURCES) for (const use of freeUses(source, DOM_GLOBALS)) offending.push(`${name}: ${use}`);
  assert.deepEqual(offending, []);
});

test('no file in src/core uses Node-only globals (process, Buffer, require, global, __dirname)', () => {
  const offending: string[] = [];
  for (const [name, source] of SOURCES) for (const use of freeUses(source, NODE_GLOBALS)) offending.push(`${name}: ${use}`);
  assert.deepEqual(offending, []);
});

test('src/core reads no clock directly: no Date.now() and no bare performance (time comes from a Clock)', () => {
  const offending: string[] = [];
  for (const [name, source] of SOURCES) {
    for (const use of freeUses(source, ['Date', 'performance'])) offending.push(`${name}: ${use}`);
  }
  assert.deepEqual(offending, []);
});
