/**
 * Where a suspended task is paused, as file:line:column in the user's own
 * (TypeScript) source. Node only: it reads V8's state through
 * `node:inspector` and maps it through source maps.
 *
 * How: a task's body is a generator, and V8 keeps the position where a
 * suspended generator will resume. The inspector shows it as the internal
 * property `[[GeneratorLocation]]` (script id, 0-based line and column) of
 * the generator object. One in-process inspector session per batch:
 *  1. connect (a same-thread session answers `post` synchronously — checked
 *     on every call, a lookup fails soft if it ever does not);
 *  2. hand the generators over through a temporary global (a registered
 *     symbol, deleted right after) and read each one's internal properties;
 *  3. for script ids not seen before, enable the Debugger domain just long
 *     enough to receive one `scriptParsed` event per loaded script: script
 *     id → URL and the script's `sourceMappingURL` (a file next to it, or
 *     an inline `data:` map, as `eventide run app.ts` produces); the ones
 *     needed are kept (V8 never reuses a script id);
 *  4. disable, release and disconnect — nothing stays attached, so a
 *     program pays nothing between lookups;
 *  5. map the position through the script's source map (node:module's
 *     `SourceMap`; maps are parsed once and cached by URL).
 *
 * What the position is: a task suspended at `yield* x` (or `yield x`)
 * points at that `yield`. A task that delegated to a helper generator
 * (`yield* helper()`) points at that `yield*` in the task's own body: V8
 * keeps the delegate in a register the inspector does not show, so the
 * helper's own position is out of reach. A task not started yet points at
 * its function's definition (`kind: 'not-started'`). A finished task, the
 * running one, or a coroutine that is not a generator has no location;
 * `lookupTaskLocations` says why.
 *
 * Cost, on demand only (never on a hot path): 0.1-0.2 ms per task (one
 * `Runtime.getProperties` each) plus a few ms per batch. The first lookup
 * in a process is slower — V8 collects source positions for all compiled
 * code the first time a debugger is enabled: a few hundred ms in a program
 * that loaded TypeScript's compiler. Batch with `locateTasks` (or
 * `taskLocator`) rather than calling `locateTask` in a loop.
 */
import { readFileSync } from 'node:fs';
import { createRequire, SourceMap, type SourceMapPayload } from 'node:module';
import { isAbsolute, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isGeneratorObject } from 'node:util/types';
import type { Session } from 'node:inspector';
import { currentTask } from '../tasks/current.js';
import { Task } from '../tasks/task.js';

/** A position in a script as it runs (the .js tsc emitted, or the code a loader produced). */
export interface GeneratedPosition {
  /** Absolute path for a file, else the script's URL. */
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
}

/** Where a task is paused (see the module comment). */
export interface SourceLocation {
  /** The original source when a source map says so (the .ts), else the script run; an absolute path for files, else a URL. */
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
  /** `'suspended'`: at a `yield`; `'not-started'`: its first step has not run, this is the function's definition. */
  readonly kind: 'suspended' | 'not-started';
  /** The generator function's name; `''` when it has none. */
  readonly functionName: string;
  /** The position in the script as run, when a source map moved it; absent when `file` is that script. */
  readonly generated?: GeneratedPosition;
}

/** One task's answer from `lookupTaskLocations`: a location, or why there is none. */
export type LocationLookup =
  | { readonly location: SourceLocation; readonly reason?: undefined }
  | { readonly location: undefined; readonly reason: string };

/** What the inspector says about one generator. */
interface GeneratorFacts {
  readonly state: string;
  readonly scriptId: string;
  readonly line0: number;
  readonly column0: number;
  readonly functionName: string;
}

/** What `scriptParsed` says about one script. */
interface ScriptFacts {
  readonly url: string;
  readonly sourceMapURL: string;
  readonly hash: string;
}

/** Raised inside a batch when the inspector cannot be used; every task gets its message as the reason. */
class InspectorUnavailable extends Error {}

const HANDOFF = Symbol.for('eventide.taskLocation');
const OBJECT_GROUP = 'eventide-task-location';

/**
 * Where `task` is paused, or undefined when it is done, running, or cannot
 * be located (`lookupTaskLocations` says why).
 *
 * @example
 * const where = locateTask(task);
 * if (where !== undefined) console.log(`${task.name} paused at ${where.file}:${where.line}`);
 */
export function locateTask(task: Task<unknown>): SourceLocation | undefined {
  return lookupTaskLocations([task]).get(task)?.location;
}

/**
 * Where each of `tasks` is paused, with one inspector session for all of
 * them; tasks that cannot be located are left out.
 *
 * @example
 * const where = locateTasks(loop.allTasks());
 * for (const [task, at] of where) console.log(`${task.name}: ${at.file}:${at.line}`);
 */
export function locateTasks(tasks: Iterable<Task<unknown>>): Map<Task<unknown>, SourceLocation> {
  const located = new Map<Task<unknown>, SourceLocation>();
  for (const [task, lookup] of lookupTaskLocations(tasks)) {
    if (lookup.location !== undefined) located.set(task, lookup.location);
  }
  return located;
}

/**
 * A function answering "where is this task?" from one batch lookup of
 * `tasks` (later tasks are looked up one by one), for the `locate` option
 * of `formatTaskTree` and `describeTask`. With `relativeTo` (a directory),
 * files under it are shown relative to it.
 *
 * @example
 * console.log(formatTaskTree(loop, { locate: taskLocator(loop.allTasks(), { relativeTo: process.cwd() }) }));
 * // main #1 (waiting on task worker) at src/app.ts:12:5
 */
export function taskLocator(
  tasks: Iterable<Task<unknown>>,
  options: { relativeTo?: string } = {},
): (task: Task<unknown>) => SourceLocation | undefined {
  const { relativeTo } = options;
  if (relativeTo !== undefined && (typeof relativeTo !== 'string' || !isAbsolute(relativeTo))) {
    throw new TypeError(`taskLocator: options.relativeTo must be an absolute directory, got ${String(relativeTo)}`);
  }
  const known = lookupTaskLocations(tasks);
  return (task) => {
    const location = (known.get(task) ?? lookupTaskLocations([task]).get(task))?.location;
    if (location === undefined || relativeTo === undefined || !isAbsolute(location.file)) return location;
    const shown = relative(relativeTo, location.file);
    const outside = shown === '..' || shown.startsWith(`..${sep}`) || isAbsolute(shown);
    return outside ? location : Object.freeze({ ...location, file: shown.split(sep).join('/') });
  };
}

/**
 * Where each of `tasks` is paused, or why it cannot be said (done,
 * running, not a generator, the inspector unavailable...), with one
 * inspector session for the batch.
 *
 * @example
 * for (const [task, { location, reason }] of lookupTaskLocations(loop.allTasks())) {
 *   console.log(task.name, location ? `${location.file}:${location.line}` : `(${reason})`);
 * }
 */
export function lookupTaskLocations(tasks: Iterable<Task<unknown>>): Map<Task<unknown>, LocationLookup> {
  if (tasks === null || typeof tasks !== 'object' || typeof (tasks as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new TypeError(`lookupTaskLocations: expected an iterable of tasks, got ${String(tasks)}`);
  }
  const answers = new Map<Task<unknown>, LocationLookup>();
  const toRead = new Set<Task<unknown>>();
  for (const task of tasks) {
    if (!(task instanceof Task)) throw new TypeError(`lookupTaskLocations: expected a Task, got ${String(task)}`);
    if (answers.has(task) || toRead.has(task)) continue;
    const reason = task.done() ? 'done' : currentTask() === task ? 'running (its step is on the stack)' : null;
    if (reason !== null) answers.set(task, missing(reason));
    else if (!isGeneratorObject(task.getCoro())) answers.set(task, missing('its coroutine is not a generator'));
    else toRead.add(task);
  }
  if (toRead.size === 0) return answers;

  let facts: (GeneratorFacts | null)[];
  try {
    facts = readGenerators([...toRead].map((task) => task.getCoro()));
  } catch (error) {
    const reason = `the inspector could not be used: ${error instanceof Error ? error.message : String(error)}`;
    for (const task of toRead) answers.set(task, missing(reason));
    return answers;
  }
  [...toRead].forEach((task, index) => answers.set(task, toLookup(task, facts[index] ?? null)));
  return answers;
}

function missing(reason: string): LocationLookup {
  return Object.freeze({ location: undefined, reason });
}

function toLookup(task: Task<unknown>, facts: GeneratorFacts | null): LocationLookup {
  if (facts === null) return missing('the inspector showed no generator location');
  if (facts.state === 'closed') return missing('its generator has returned');
  if (facts.state === 'running') return missing('running (its step is on the stack)');
  const script = scriptCache.get(facts.scriptId);
  const generated: GeneratedPosition = Object.freeze({
    file: script === undefined || script.url === '' ? `<script ${facts.scriptId}>` : displayFile(script.url),
    line: facts.line0 + 1,
    column: facts.column0 + 1,
  });
  const kind = task.steps === 0 ? 'not-started' : 'suspended';
  const original = script === undefined ? null : mapPosition(script, facts.line0, facts.column0);
  const location: SourceLocation =
    original === null
      ? { ...generated, kind, functionName: facts.functionName }
      : { ...original, kind, functionName: facts.functionName, generated };
  return Object.freeze({ location: Object.freeze(location) });
}

// --- the inspector session --------------------------------------------------

type Post = (method: string, params?: object) => Record<string, unknown>;

/**
 * What the inspector knows of the scripts tasks were found in, by script id.
 * V8 never reuses a script id, so an entry never goes stale; it lets a
 * later batch over the same code skip the Debugger domain altogether.
 */
const scriptCache = new Map<string, ScriptFacts>();

/** Reads the suspended location of each generator, and learns the scripts they are in, in one session. */
function readGenerators(generators: readonly object[]): (GeneratorFacts | null)[] {
  const session = openSession();
  const holder = globalThis as Record<symbol, unknown>;
  let connected = false;
  try {
    session.connect();
    connected = true;
    const post = syncPost(session);
    holder[HANDOFF] = generators;
    const array = post('Runtime.evaluate', {
      expression: `globalThis[Symbol.for(${JSON.stringify(HANDOFF.description)})]`,
      objectGroup: OBJECT_GROUP,
      silent: true,
    });
    delete holder[HANDOFF];
    const arrayId = remoteObjectId(array['result']);
    if (arrayId === undefined) throw new InspectorUnavailable('Runtime.evaluate returned no object');
    const elements = new Map(
      propertyList(post('Runtime.getProperties', { objectId: arrayId, ownProperties: true }), 'result').map((property) => [property['name'], property['value']]),
    );
    const facts = generators.map((_, index) => {
      const id = remoteObjectId(elements.get(String(index)));
      return id === undefined ? null : generatorFacts(post, id);
    });
    post('Runtime.releaseObjectGroup', { objectGroup: OBJECT_GROUP });
    const unknown = new Set(facts.flatMap((fact) => (fact === null || scriptCache.has(fact.scriptId) ? [] : [fact.scriptId])));
    if (unknown.size > 0) learnScripts(session, post, unknown);
    return facts;
  } finally {
    delete holder[HANDOFF];
    if (connected) session.disconnect();
  }
}

/**
 * Enables the Debugger domain just long enough to be told about every
 * loaded script (one `scriptParsed` each, delivered during `enable`), and
 * keeps the ones asked for. The first time in a process this is the slow
 * part: V8 collects source positions for all compiled code.
 */
function learnScripts(session: Session, post: Post, wanted: ReadonlySet<string>): void {
  const onScript = (message: { params: { scriptId: string; url: string; sourceMapURL?: string; hash: string } }): void => {
    const { scriptId, url, sourceMapURL, hash } = message.params;
    if (wanted.has(scriptId)) scriptCache.set(scriptId, { url, sourceMapURL: sourceMapURL ?? '', hash });
  };
  session.on('Debugger.scriptParsed', onScript);
  try {
    post('Debugger.enable');
    post('Debugger.disable');
  } finally {
    session.off('Debugger.scriptParsed', onScript);
  }
}

let sessionClass: (new () => Session) | null = null;

function openSession(): Session {
  if (sessionClass === null) {
    try {
      const inspector = createRequire(import.meta.url)('node:inspector') as typeof import('node:inspector');
      sessionClass = inspector.Session;
    } catch (error) {
      throw new InspectorUnavailable(`node:inspector is not available (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  return new sessionClass();
}

/** `session.post` as a plain call: a same-thread session answers before `post` returns. */
function syncPost(session: Session): Post {
  return (method, params = {}) => {
    let answered = false;
    let failure: Error | null = null;
    let answer: Record<string, unknown> = {};
    session.post(method, params, (error: Error | null, result?: object) => {
      answered = true;
      failure = error;
      answer = (result ?? {}) as Record<string, unknown>;
    });
    if (!answered) throw new InspectorUnavailable(`${method} was not answered synchronously`);
    if (failure !== null) throw new InspectorUnavailable(`${method} failed: ${(failure as Error).message}`);
    return answer;
  };
}

function generatorFacts(post: Post, objectId: string): GeneratorFacts | null {
  const internals = propertyList(post('Runtime.getProperties', { objectId, ownProperties: true, generatePreview: false }), 'internalProperties');
  const valueOf = (name: string): unknown => (internals.find((property) => property['name'] === name)?.['value'] as { value?: unknown } | undefined)?.value;
  const where = valueOf('[[GeneratorLocation]]') as { scriptId?: unknown; lineNumber?: unknown; columnNumber?: unknown } | undefined;
  const state = valueOf('[[GeneratorState]]');
  if (where === undefined || typeof where.scriptId !== 'string' || typeof where.lineNumber !== 'number' || typeof where.columnNumber !== 'number') {
    return null;
  }
  return {
    state: typeof state === 'string' ? state : 'suspended',
    scriptId: where.scriptId,
    line0: where.lineNumber,
    column0: where.columnNumber,
    functionName: functionNameOf(internals.find((property) => property['name'] === '[[GeneratorFunction]]')?.['value']),
  };
}

/**
 * The generator function's own name, read from its source text (the
 * inspector's description of a function). Not the generator's class name:
 * for an anonymous function V8 makes one up from the call site.
 */
function functionNameOf(remote: unknown): string {
  const text = (remote as { description?: unknown } | undefined)?.description;
  if (typeof text !== 'string') return '';
  return /^\s*(?:async\s+)?(?:function\s*)?\*\s*([\p{L}\p{Nl}$_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}$]*)\s*\(/u.exec(text)?.[1] ?? '';
}

function remoteObjectId(remote: unknown): string | undefined {
  const id = (remote as { objectId?: unknown } | undefined)?.objectId;
  return typeof id === 'string' ? id : undefined;
}

function propertyList(answer: Record<string, unknown>, key: string): Record<string, unknown>[] {
  const list = answer[key];
  return Array.isArray(list) ? (list as Record<string, unknown>[]) : [];
}

// --- source maps ------------------------------------------------------------

/** A parsed map and where its `sources` are relative to. */
interface LoadedMap {
  readonly map: SourceMap;
  readonly baseURL: string;
  readonly sourceRoot: string;
}

/** Parsed maps by map URL (by script URL and hash for inline maps); null: none usable. */
const mapCache = new Map<string, LoadedMap | null>();

function mapPosition(script: ScriptFacts, line0: number, column0: number): { file: string; line: number; column: number } | null {
  const loaded = loadMap(script);
  if (loaded === null) return null;
  const entry = loaded.map.findEntry(line0, column0) as Partial<{ originalSource: string; originalLine: number; originalColumn: number }>;
  if (typeof entry.originalSource !== 'string' || typeof entry.originalLine !== 'number' || typeof entry.originalColumn !== 'number') return null;
  return { file: displayFile(sourceURL(loaded, entry.originalSource)), line: entry.originalLine + 1, column: entry.originalColumn + 1 };
}

function loadMap(script: ScriptFacts): LoadedMap | null {
  if (script.sourceMapURL === '' || script.url === '') return null;
  const inline = script.sourceMapURL.startsWith('data:');
  let mapURL: string;
  try {
    mapURL = inline ? script.url : new URL(script.sourceMapURL, script.url).href;
  } catch {
    return null;
  }
  const key = inline ? `${script.url}#${script.hash}` : mapURL;
  if (mapCache.has(key)) return mapCache.get(key) ?? null;
  let loaded: LoadedMap | null = null;
  try {
    const text = inline ? decodeDataURL(script.sourceMapURL) : readFileSync(new URL(mapURL), 'utf8');
    const payload = JSON.parse(text) as SourceMapPayload;
    loaded = { map: new SourceMap(payload), baseURL: mapURL, sourceRoot: typeof payload.sourceRoot === 'string' ? payload.sourceRoot : '' };
  } catch {
    loaded = null; // unreadable or malformed: report the generated position
  }
  mapCache.set(key, loaded);
  return loaded;
}

function decodeDataURL(url: string): string {
  const comma = url.indexOf(',');
  const header = url.slice(0, comma);
  const body = url.slice(comma + 1);
  return header.endsWith(';base64') ? Buffer.from(body, 'base64').toString('utf8') : decodeURIComponent(body);
}

/** A map's `sources` entry as a URL: absolute as is, else under `sourceRoot`, relative to the map. */
function sourceURL(loaded: LoadedMap, source: string): string {
  if (isAbsolute(source)) return pathToFileURL(source).href;
  if (/^[a-z][a-z0-9+.-]*:/i.test(source)) return source;
  const root = loaded.sourceRoot === '' || loaded.sourceRoot.endsWith('/') ? loaded.sourceRoot : `${loaded.sourceRoot}/`;
  try {
    return new URL(root + source, loaded.baseURL).href;
  } catch {
    return source;
  }
}

/** A file: URL as a path; any other URL as is. */
function displayFile(url: string): string {
  if (!url.startsWith('file:')) return url;
  try {
    return fileURLToPath(url);
  } catch {
    return url;
  }
}
