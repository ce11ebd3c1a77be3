#!/usr/bin/env node
/**
 * The `eventide` command. Subcommands:
 *   eventide run FILE [--debug] [--virtual-time] [--trace out.json] [--report out.html] [--inspect [SOCKET]]
 *   eventide top|ps|pstree TARGET, eventide where TARGET TASK, eventide cancel TARGET TASK [REASON]
 */
import { CONSOLE_USAGE, parseConsoleArgs, runConsoleCommand, type ConsoleVerb } from './console-commands.js';
import { InterruptedError } from './interrupt.js';
import { parseRunArgs, runCommand } from './run-command.js';
import { runTop } from './top.js';

const USAGE = `usage: eventide <command>

commands:
  run FILE [options]          run FILE's default-exported (or \`main\`) generator function
                              on a fresh eventide loop; .ts files run directly
${CONSOLE_USAGE}

run options:
  --debug                     debug mode (slow-callback warnings, creation stacks, ...)
  --virtual-time              a virtual clock: sleeps take no real time
  --trace out.json            write a Chrome Trace Event / Perfetto trace of the run
                              (open it in ui.perfetto.dev or chrome://tracing)
  --report out.html           write a self-contained HTML timeline of the run
  --inspect [SOCKET]          serve the live console (eventide top PID): on the pid's
                              socket in $TMPDIR/eventide-UID/, on SOCKET, or on
                              127.0.0.1:PORT (a token is printed); never on by default.
                              EVENTIDE_INSPECT=1 or =SOCKET does the same

Ctrl-C (SIGINT) or SIGTERM cancels the main task; the run then ends as usual
(finally blocks run, the trace and report are written, the inspector's socket
is removed) and exits with status 130 or 143. A second Ctrl-C kills at once.`;

const CONSOLE_VERBS: readonly string[] = ['top', 'ps', 'pstree', 'where', 'cancel'] satisfies ConsoleVerb[];

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== undefined && CONSOLE_VERBS.includes(command)) {
    const args = parseConsoleArgs(command as ConsoleVerb, rest, process.env);
    if (args.verb === 'top') return runTop(args.target);
    const width = process.stdout.isTTY ? process.stdout.columns : undefined;
    console.log(await runConsoleCommand(args, width));
    return 0;
  }
  switch (command) {
    case 'run':
      await runCommand(parseRunArgs(rest));
      return 0;
    case undefined:
    case '-h':
    case '--help':
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      console.error(`eventide: unknown command ${JSON.stringify(command)}\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof InterruptedError) {
      console.error(error.message);
      process.exitCode = error.exitCode; // 128 + the signal's number, as a shell expects
      return;
    }
    if (error instanceof Error && error.name === 'CancelledError') {
      // `eventide cancel PID main`, or the program cancelled its own main task.
      console.error(`eventide: the main task was cancelled${error.message === '' || error.message === 'cancelled' ? '' : `: ${error.message}`}`);
      process.exitCode = 1;
      return;
    }
    console.error(error instanceof Error && error.message.startsWith('eventide') ? error.message : error);
    process.exitCode = 1;
  },
);
