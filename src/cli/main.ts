#!/usr/bin/env node
/**
 * The `eventide` command. Subcommands:
 *   eventide run FILE [--debug] [--virtual-time] [--trace out.json] [--report out.html]
 */
import { parseRunArgs, runCommand } from './run-command.js';

const USAGE = `usage: eventide <command>

commands:
  run FILE [options]    run FILE's default-exported (or \`main\`) generator function
                        on a fresh eventide loop; .ts files run directly

run options:
  --debug               debug mode (slow-callback warnings, creation stacks, ...)
  --virtual-time        a virtual clock: sleeps take no real time
  --trace out.json      write a Chrome Trace Event / Perfetto trace of the run
                        (open it in ui.perfetto.dev or chrome://tracing)
  --report out.html     write a self-contained HTML timeline of the run`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
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
    console.error(error instanceof Error && error.message.startsWith('eventide') ? error.message : error);
    process.exitCode = 1;
  },
);
