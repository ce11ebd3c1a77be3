/**
 * The console's one-shot verbs (aiomonitor's, on a running program's
 * inspector endpoint), and the argument parsing `eventide top` shares:
 *
 *   eventide ps     TARGET                 the task table, by id
 *   eventide pstree TARGET                 the whole task tree
 *   eventide where  TARGET TASK            TASK's await tree, and file:line where it is paused
 *   eventide cancel TARGET TASK [REASON]   task.cancel(REASON) in the program
 *
 * TARGET comes first (PID, socket path or HOST:PORT; see
 * inspector-client.ts); TASK is an id (`7`, `#7`) or a task name. A TCP
 * target needs `--token TOKEN` (or `$EVENTIDE_INSPECT_TOKEN`).
 */
import type { CancelResult, PsResult, TaskRow, WhereResult } from '../inspect/endpoint-protocol.js';
import { InspectorClient, parseTarget, type InspectTarget } from './inspector-client.js';
import { formatTaskTable, printable } from './top-view.js';

export type ConsoleVerb = 'top' | 'ps' | 'pstree' | 'where' | 'cancel';

/** Parsed arguments of a console verb. */
export interface ConsoleArgs {
  readonly verb: ConsoleVerb;
  readonly target: InspectTarget;
  /** TASK, for `where` and `cancel`. */
  readonly task: string | null;
  /** REASON, for `cancel`. */
  readonly reason: string | undefined;
}

export const CONSOLE_USAGE = `  top TARGET                  live console: tasks by busy time, the selected task's
                              await tree, detector warnings (q or Ctrl-C quits)
  ps TARGET                   list the tasks of a running program
  pstree TARGET               print its task tree
  where TARGET TASK           what TASK waits on, who waits on it, where it is paused
  cancel TARGET TASK [REASON] cancel TASK (CancelledError at its current yield*)

  TARGET: the PID of a program run with --inspect, an inspector socket path,
          or 127.0.0.1:PORT with --token TOKEN (or $EVENTIDE_INSPECT_TOKEN)
  TASK:   a task id (7 or #7) or a task name`;

const POSITIONALS: Readonly<Record<ConsoleVerb, readonly [min: number, max: number, usage: string]>> = {
  top: [1, 1, 'eventide top TARGET'],
  ps: [1, 1, 'eventide ps TARGET'],
  pstree: [1, 1, 'eventide pstree TARGET'],
  where: [2, 2, 'eventide where TARGET TASK'],
  cancel: [2, 3, 'eventide cancel TARGET TASK [REASON]'],
};

/**
 * Reads a console verb's arguments; throws an Error (message starting with
 * `eventide`) with the verb's usage on bad input. `env` supplies
 * EVENTIDE_INSPECT_TOKEN.
 *
 * @example
 * parseConsoleArgs('where', ['4242', 'worker-1'], {}); // { verb: 'where', target: {…pid 4242…}, task: 'worker-1', reason: undefined }
 */
export function parseConsoleArgs(verb: ConsoleVerb, args: readonly string[], env: Record<string, string | undefined>): ConsoleArgs {
  const [min, max, usage] = POSITIONALS[verb];
  const positional: string[] = [];
  let token: string | null = env['EVENTIDE_INSPECT_TOKEN'] ?? null;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--token' || arg.startsWith('--token=')) {
      const value = arg === '--token' ? args[++i] : arg.slice('--token='.length);
      if (value === undefined || value === '') throw new Error(`eventide ${verb}: --token needs a value\nusage: ${usage} [--token TOKEN]`);
      token = value;
    } else if (arg.startsWith('--') && arg.length > 2) {
      throw new Error(`eventide ${verb}: unknown option ${arg}\nusage: ${usage} [--token TOKEN]`);
    } else {
      positional.push(arg);
    }
  }
  if (positional.length < min || positional.length > max) {
    const what = positional.length < min ? (positional.length === 0 ? 'TARGET is missing' : 'TASK is missing') : `too many arguments: ${positional.slice(max).join(' ')}`;
    throw new Error(`eventide ${verb}: ${what}\nusage: ${usage} [--token TOKEN]`);
  }
  return { verb, target: parseTarget(positional[0] as string, token), task: positional[1] ?? null, reason: positional[2] };
}

/**
 * Runs one of `ps`, `pstree`, `where`, `cancel` against the program and
 * returns what to print (no trailing newline).
 *
 * @example
 * console.log(await runConsoleCommand(parseConsoleArgs('ps', ['4242'], process.env)));
 */
export async function runConsoleCommand(args: ConsoleArgs, width = 1000): Promise<string> {
  const client = await InspectorClient.connect(args.target);
  try {
    switch (args.verb) {
      case 'ps': {
        const ps = await client.request<PsResult>({ cmd: 'ps' });
        const { header, lines } = formatTaskTable(ps.tasks, width);
        const summary = `pid ${ps.pid}: ${ps.tasks.length} pending task${ps.tasks.length === 1 ? '' : 's'}, ${ps.warnings.length} recent warning${ps.warnings.length === 1 ? '' : 's'}`;
        return [header, ...lines, summary].join('\n');
      }
      case 'pstree':
        return printableLines((await client.request<{ text: string }>({ cmd: 'tree' })).text);
      case 'where':
        return whereText(await client.request<WhereResult>({ cmd: 'where', task: args.task }));
      case 'cancel': {
        const result = await client.request<CancelResult>({ cmd: 'cancel', task: args.task, ...(args.reason === undefined ? {} : { reason: args.reason }) });
        return result.cancelled ? `cancel requested: ${rowName(result.task)} (${result.task.state})` : `${rowName(result.task)} was already done`;
      }
      case 'top':
        throw new Error('eventide: top is interactive; use runTop');
    }
  } finally {
    client.close();
  }
}

function whereText(where: WhereResult): string {
  const row = where.task;
  const doing = row.waitingOn === null ? row.state : `${row.state} on ${row.waitingOn}`;
  return printableLines(
    [
      `${rowName(row)}: ${doing} (priority ${row.priority}, ${row.steps} steps, ${row.wakes} wakes)`,
      where.location === null ? `paused at: unknown (${where.locationNote ?? 'no location'})` : `paused at: ${where.location}`,
      'await tree:',
      where.tree,
    ].join('\n'),
  );
}

function rowName(row: TaskRow): string {
  return printable(`${row.name} #${row.id}`);
}

/** Multi-line text from the program, each line made printable. */
function printableLines(text: string): string {
  return text.split('\n').map(printable).join('\n');
}
