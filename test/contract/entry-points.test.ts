/**
 * Contract: the package's entry points, imported the way a user imports
 * them — by the package name. Node resolves a package's own name through
 * its "exports" map when the importer lives inside the package (here
 * dist/test/contract/), and TypeScript (NodeNext) maps the same names to
 * src/, so these files see exactly what an installed user sees.
 *
 * Pins: every name DESIGN.md's "Public API" lists exists on the entry
 * point it is listed for, with the right kind (class, function, constant);
 * 'eventide/node' and 'eventide/browser' are supersets of 'eventide' that
 * share its classes; only the four documented subpaths are exported.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as core from 'eventide';
import * as node from 'eventide/node';
import * as browser from 'eventide/browser';
import * as testing from 'eventide/testing';

const CORE_CLASSES = [
  'EventLoop',
  'Handle',
  'TimerHandle',
  'Future',
  'Task',
  'TaskGroup',
  'Event',
  'Lock',
  'Semaphore',
  'BoundedSemaphore',
  'Condition',
  'Barrier',
  'Queue',
  'PriorityQueue',
  'LifoQueue',
] as const;

const CORE_FUNCTIONS = [
  'run',
  'currentTask',
  'getRunningLoop',
  'sleep',
  'until',
  'gather',
  'wait',
  'waitFor',
  'timeout',
  'shield',
  'taskGroup',
] as const;

const CORE_ERRORS = ['CancelledError', 'TimeoutError', 'InvalidStateError', 'QueueEmpty', 'QueueFull'] as const;

const NODE_NAMES = ['openConnection', 'startServer', 'StreamReader', 'StreamWriter', 'addSignalHandler', 'runInExecutor', 'getaddrinfo'] as const;

test("import.meta.resolve maps 'eventide', 'eventide/node', 'eventide/browser', 'eventide/testing' into dist/src (self-reference through package.json exports)", () => {
  for (const [name, file] of [
    ['eventide', 'index.js'],
    ['eventide/node', 'node.js'],
    ['eventide/browser', 'browser.js'],
    ['eventide/testing', 'testing.js'],
  ] as const) {
    const url = import.meta.resolve(name);
    assert.ok(url.endsWith(`/dist/src/${file}`), `${name} resolved to ${url}`);
  }
});

test('package.json exports exactly ".", "./node", "./browser", "./testing", each with types and default', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    name: string;
    type: string;
    exports: Record<string, { types: string; default: string }>;
  };
  assert.equal(pkg.name, 'eventide');
  assert.equal(pkg.type, 'module');
  assert.deepEqual(Object.keys(pkg.exports), ['.', './node', './browser', './testing']);
  for (const entry of Object.values(pkg.exports)) {
    assert.match(entry.types, /^\.\/dist\/src\/.*\.d\.ts$/);
    assert.match(entry.default, /^\.\/dist\/src\/.*\.js$/);
  }
});

test("a subpath that is not exported cannot be imported (e.g. 'eventide/src/index.js')", async () => {
  await assert.rejects(import('eventide/' + 'dist/src/index.js'), (error: Error & { code?: string }) => error.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED');
});

test("'eventide' exports every class of DESIGN's Public API as a constructor", () => {
  const exports = core as Record<string, unknown>;
  for (const name of CORE_CLASSES) {
    assert.equal(typeof exports[name], 'function', `${name} is exported`);
    assert.ok((exports[name] as { prototype?: unknown }).prototype, `${name} is a class`);
  }
  assert.ok(Object.getPrototypeOf(core.Task) === core.Future, 'Task extends Future');
  assert.ok(core.TimerHandle.prototype instanceof core.Handle, 'TimerHandle extends Handle');
  assert.ok(core.BoundedSemaphore.prototype instanceof core.Semaphore, 'BoundedSemaphore extends Semaphore');
  assert.ok(core.PriorityQueue.prototype instanceof core.Queue && core.LifoQueue.prototype instanceof core.Queue);
});

test("'eventide' exports every function of DESIGN's Public API", () => {
  const exports = core as Record<string, unknown>;
  for (const name of CORE_FUNCTIONS) assert.equal(typeof exports[name], 'function', `${name} is exported`);
});

test("'eventide' exports the errors, each an Error subclass whose name is its class name", () => {
  const exports = core as Record<string, unknown>;
  for (const name of CORE_ERRORS) {
    const ErrorClass = exports[name] as new (message?: string) => Error;
    assert.equal(typeof ErrorClass, 'function', `${name} is exported`);
    const error = new ErrorClass('m');
    assert.ok(error instanceof Error);
    assert.equal(error.name, name);
    assert.equal(error.message, 'm');
  }
  // Distinct classes: catching one does not catch another.
  assert.equal(new core.CancelledError() instanceof core.TimeoutError, false);
  assert.equal(new core.TimeoutError() instanceof core.CancelledError, false);
});

test("'eventide' exports the returnWhen constants FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED (distinct)", () => {
  const values = new Set([core.FIRST_COMPLETED, core.FIRST_EXCEPTION, core.ALL_COMPLETED]);
  assert.equal(values.size, 3);
  for (const value of values) assert.notEqual(value, undefined);
});

test("'eventide/node' is a superset of 'eventide' sharing its classes, plus the Node API names", () => {
  const nodeExports = node as Record<string, unknown>;
  const coreExports = core as Record<string, unknown>;
  for (const name of Object.keys(coreExports)) {
    assert.ok(name in nodeExports, `'eventide/node' re-exports ${name}`);
    // run, Runner and EventLoop are overridden with the Node loop's (same contract); everything else is the same object.
    if (name !== 'run' && name !== 'Runner' && name !== 'EventLoop') assert.equal(nodeExports[name], coreExports[name], `${name} is the same object in both`);
  }
  assert.equal(node.EventLoop, node.NodeEventLoop);
  assert.ok(node.Runner.prototype instanceof core.Runner, "'eventide/node' Runner extends the portable one");
  assert.ok(node.EventLoop.prototype instanceof core.EventLoop, "'eventide/node' EventLoop extends the portable one");
  for (const name of NODE_NAMES) assert.equal(typeof nodeExports[name], 'function', `'eventide/node' exports ${name}`);
  for (const name of ['createConnection', 'createServer', 'createDatagramEndpoint', 'addSignalHandler', 'runInExecutor', 'getaddrinfo', 'addReader', 'removeReader', 'addWriter', 'removeWriter']) {
    assert.equal(typeof (node.NodeEventLoop.prototype as unknown as Record<string, unknown>)[name], 'function', `loop.${name} exists on a Node loop`);
  }
});

test("'eventide/browser' loads in Node (no DOM touched at import) and is a superset of 'eventide', with its own run", () => {
  const browserExports = browser as Record<string, unknown>;
  for (const [name, value] of Object.entries(core)) {
    assert.ok(name in browserExports, `'eventide/browser' re-exports ${name}`);
    // run is overridden with the page's (same contract, budgeted turns); everything else is the same object.
    if (name !== 'run') assert.equal(browserExports[name], value, `${name} is the same object in both`);
  }
  assert.notEqual(browser.run, core.run, "'eventide/browser' run drives the loop from the page");
  assert.equal(typeof browser.runInBrowser, 'function');
});

test("'eventide/testing' exports runInVirtualTime and assertLoopClean", () => {
  assert.equal(typeof testing.runInVirtualTime, 'function');
  assert.equal(typeof testing.assertLoopClean, 'function');
});
