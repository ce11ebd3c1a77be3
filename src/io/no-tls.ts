/**
 * eventide's transports are plaintext: there is no TLS layer under them.
 * asyncio's create_connection, create_server, open_connection and
 * start_server take `ssl` (with `server_hostname`,
 * `ssl_handshake_timeout`, `ssl_shutdown_timeout`), and code ported from
 * asyncio, or JavaScript that no type checker reads, may pass them.
 * Ignoring them, as an unknown option would be, opens a plaintext
 * connection where the caller asked for an encrypted one; so each entry
 * point refuses them at the call, before any socket is opened.
 *
 * Absent, null and false mean "no TLS" (asyncio's ssl=None / False) and pass.
 */

/** The TLS options of asyncio's connection and server calls, in camelCase. */
export const TLS_OPTIONS = ['ssl', 'serverHostname', 'sslHandshakeTimeout', 'sslShutdownTimeout'] as const;

/**
 * Throws a TypeError naming the first TLS option that asks for TLS.
 *
 * @example
 * refuseTlsOptions(options, 'createConnection'); // { ssl: true } → TypeError
 */
export function refuseTlsOptions(options: object, who: string): void {
  for (const name of TLS_OPTIONS) {
    const value: unknown = (options as Record<string, unknown>)[name];
    if (value === undefined || value === null || value === false) continue;
    throw new TypeError(`${who}: options.${name}: TLS is not supported (eventide's transports are plaintext); nothing was opened`);
  }
}
