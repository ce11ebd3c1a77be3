/**
 * Where a handle, future or task was created, recorded in debug mode.
 *
 * Recording is the expensive part of debug mode: V8 collects the frames
 * when an Error is made (about 2-3 µs), and formatting them as text costs
 * as much again. So the loop keeps the Error itself and formats its stack
 * only when someone reads it (a slow-callback warning, a task report) —
 * most recorded traces are never read.
 */

/** eventide's own core/ and tasks/ folders (as stack frames show them): left out of creation stacks. */
const OWN_CORE_DIR = new URL('../core/', import.meta.url).href;
const OWN_TASKS_DIR = new URL('../tasks/', import.meta.url).href;

/** Records the current stack; cheap until formatted. */
export function traceCreation(): Error {
  return new Error('created here');
}

/**
 * The first frames of `trace` that are not eventide's own (not just any
 * path with a /core/ folder in it: user code may live in one too), one per
 * line; undefined without a trace.
 */
export function formatCreationTrace(trace: Error | undefined): string | undefined {
  if (trace === undefined) return undefined;
  return (trace.stack ?? '')
    .split('\n')
    .slice(1)
    .filter((line) => !line.includes(OWN_CORE_DIR) && !line.includes(OWN_TASKS_DIR))
    .slice(0, 8)
    .join('\n');
}
