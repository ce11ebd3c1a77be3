/**
 * The option names each connection and server call knows. A name it does
 * not know is a TypeError at the call, before anything is opened, as an
 * unexpected keyword argument is in asyncio: a typo (`reuseport`,
 * `keep_alive`, `happyEyeballsDelay`) would otherwise be ignored without a
 * word, and the socket made without what was asked for. TypeScript
 * catches these at compile time; this is for JavaScript, and for options
 * built at run time.
 *
 * The TLS names (no-tls.ts) are known to the calls asyncio gives them to,
 * and refused there unless they say "no TLS" (absent, null or false).
 */
import { describe } from '../core/assert.js';
import { refuseTlsOptions, TLS_OPTIONS } from './no-tls.js';

const STREAM = ['limit', 'loop'] as const;
const CONNECTION = ['family', 'localAddr', 'sock', 'priority', 'happyEyeballsDelayMs', 'interleave', 'allErrors', ...TLS_OPTIONS] as const;
const UNIX_CONNECTION = ['sock', 'priority', ...TLS_OPTIONS] as const;
const SERVER = ['backlog', 'reusePort', 'reuseAddress', 'keepAlive', 'family', 'sock', 'startServing', 'acceptRetryDelayMs', 'priority', ...TLS_OPTIONS] as const;
const UNIX_SERVER = ['backlog', 'sock', 'startServing', 'acceptRetryDelayMs', 'cleanupSocket', 'priority', ...TLS_OPTIONS] as const;

/** Each call's known option names. */
export const KNOWN_OPTIONS = {
  createConnection: new Set<string>(CONNECTION),
  createUnixConnection: new Set<string>(UNIX_CONNECTION),
  createServer: new Set<string>(SERVER),
  createUnixServer: new Set<string>(UNIX_SERVER),
  createDatagramEndpoint: new Set<string>(['localAddr', 'remoteAddr', 'family', 'reusePort', 'allowBroadcast', 'sock']),
  connectAcceptedSocket: new Set<string>(['priority']),
  openConnection: new Set<string>([...CONNECTION, ...STREAM]),
  openUnixConnection: new Set<string>([...UNIX_CONNECTION, ...STREAM]),
  startServer: new Set<string>([...SERVER, ...STREAM]),
  startUnixServer: new Set<string>([...UNIX_SERVER, ...STREAM]),
} as const;

export type OptionsCall = keyof typeof KNOWN_OPTIONS;

/**
 * Checks the options object given to `call`: an object (or undefined,
 * read as none), every name one the call knows, and no TLS asked for.
 * Throws a TypeError naming the first offender.
 *
 * @example
 * checkIoOptions({ reuseport: true }, 'createServer');
 * // TypeError: createServer: unknown option "reuseport" (known: backlog, reusePort, ...)
 */
export function checkIoOptions(options: unknown, call: OptionsCall): void {
  if (options === null || typeof options !== 'object') throw new TypeError(`${call}: options must be an object, got ${describe(options)}`);
  const known = KNOWN_OPTIONS[call];
  for (const name of Object.keys(options)) {
    if (!known.has(name)) throw new TypeError(`${call}: unknown option ${JSON.stringify(name)} (known: ${[...known].join(', ')})`);
  }
  if (known.has('ssl')) refuseTlsOptions(options, call);
}
