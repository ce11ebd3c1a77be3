/**
 * The two kinds of job an Executor runs (runInExecutor's two call forms),
 * in a module of their own so that both the loop's side (worker-pool.ts,
 * executor.ts) and the thread body (executor-worker.ts) can use them
 * without loading each other.
 */

/** A module's exported function, called with `args` (`runInExecutor(executor, moduleUrl, exportName, ...args)`). */
export interface ModuleJob {
  /** The module's absolute URL (a `file:` URL's href, a `data:` URL, ...). */
  readonly module: string;
  /** The name of the exported function ('default' for a default export). */
  readonly exportName: string;
  readonly args: readonly unknown[];
  readonly source?: undefined;
}

/**
 * A self-contained function sent as its source text, called with `args`
 * (`runInExecutor(executor, fn, ...args)`). The executor compiles `source`
 * as an expression in an environment of its own: the function must use
 * only its arguments and globals.
 */
export interface FunctionJob {
  /** The function's source text (`Function.prototype.toString`): a function expression or arrow function. */
  readonly source: string;
  /** Its name, for messages ('anonymous' when it has none). */
  readonly name: string;
  readonly args: readonly unknown[];
  readonly module?: undefined;
  readonly exportName?: undefined;
}

/**
 * What an executor runs: a module's export or a function's source text;
 * `source !== undefined` tells them apart. An executor that can only
 * import modules should refuse a FunctionJob by throwing from `submit`.
 */
export type ExecutorJob = ModuleJob | FunctionJob;

/**
 * What a job is called in messages: `function add` or `add (file:///work.js)`.
 *
 * @example
 * describeJob({ module: 'file:///w.js', exportName: 'add', args: [] }); // 'add (file:///w.js)'
 */
export function describeJob(job: ExecutorJob): string {
  return job.source !== undefined ? `function ${job.name}` : `${job.exportName} (${job.module})`;
}
