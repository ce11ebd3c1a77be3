#!/usr/bin/env node
/**
 * The `eventide` command. Subcommands:
 *   eventide run FILE [--debug] [--virtual-time]
 */
import { parseRunArgs, runCommand } from './run-command.js';

const USAGE = `usage: eventide <command>

commands:
  run FILE [--debug] [--virtual-time]   run FILE's default-exported (or \`main\`) generator function
                                        on a fresh eventide loop; .ts files run directly`;

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
