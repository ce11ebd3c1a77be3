/**
 * Name resolution: asyncio's `loop.getaddrinfo`, on Node's resolver.
 *
 * The system's getaddrinfo blocks, so it must not run on the loop's
 * thread. Node already runs it on libuv's thread pool (`dns.lookup`);
 * eventide waits for that promise like any other outside event, through a
 * Future (`until`), so the task resumes through the ready queue as usual.
 * Numeric addresses ('127.0.0.1', '::1') need no resolver and answer at
 * once, without a promise.
 *
 * Results are asyncio's 5-tuples: `[family, type, proto, canonname,
 * sockaddr]`, sockaddr being `[host, port]` for IPv4 and `[host, port,
 * flowInfo, scopeId]` for IPv6, in the resolver's order.
 */
import { lookup } from 'node:dns/promises';
import { describe } from '../core/assert.js';
import type { EventLoop } from '../tasks/event-loop.js';
import type { Future } from '../tasks/future.js';
import { promiseToFuture } from '../tasks/task.js';
import { numericFamily } from './sockets.js';
import { syscalls as sys } from './syscalls.js';
import type { Inet6Address, InetAddress } from './transport.js';

const C = sys.constants;

/** One address: `[family, type, proto, canonname, sockaddr]`, as asyncio's getaddrinfo. */
export type AddrInfo = [family: number, type: number, proto: number, canonname: string, sockaddr: InetAddress | Inet6Address];

export interface GetaddrinfoOptions {
  /** AF_INET, AF_INET6, or AF_UNSPEC / 0 (both). */
  family?: number;
  /** SOCK_STREAM, SOCK_DGRAM, or 0 (an entry for each). */
  type?: number;
  /** IPPROTO_TCP / IPPROTO_UDP, or 0 (the one that fits the type). */
  proto?: number;
}

function checkOptions(host: unknown, port: unknown, options: GetaddrinfoOptions): number {
  if (typeof host !== 'string' || host.length === 0) throw new TypeError(`getaddrinfo: host must be a non-empty string, got ${describe(host)}`);
  const portNumber = typeof port === 'string' && /^\d+$/.test(port) ? Number(port) : port === null ? 0 : port;
  if (typeof portNumber !== 'number' || !Number.isInteger(portNumber) || portNumber < 0 || portNumber > 65535) {
    throw new RangeError(`getaddrinfo: port must be an integer 0..65535 (or its decimal string), got ${describe(port)}`);
  }
  const family = options.family ?? 0;
  if (family !== 0 && family !== C.AF_INET && family !== C.AF_INET6) {
    throw new RangeError(`getaddrinfo: family must be AF_INET (${C.AF_INET}), AF_INET6 (${C.AF_INET6}) or 0, got ${describe(family)}`);
  }
  const type = options.type ?? 0;
  if (type !== 0 && type !== C.SOCK_STREAM && type !== C.SOCK_DGRAM) {
    throw new RangeError(`getaddrinfo: type must be SOCK_STREAM, SOCK_DGRAM or 0, got ${describe(type)}`);
  }
  return portNumber;
}

function entries(addresses: readonly { address: string; family: number }[], port: number, options: GetaddrinfoOptions): AddrInfo[] {
  const types = options.type ? [options.type] : [C.SOCK_STREAM, C.SOCK_DGRAM];
  const out: AddrInfo[] = [];
  for (const { address, family } of addresses) {
    const af = family === 6 ? C.AF_INET6 : C.AF_INET;
    if (options.family && options.family !== af) continue;
    for (const type of types) {
      const proto = options.proto || (type === C.SOCK_STREAM ? C.IPPROTO_TCP : C.IPPROTO_UDP);
      const sockaddr: InetAddress | Inet6Address = af === C.AF_INET6 ? [address, port, 0, 0] : [address, port];
      out.push([af, type, proto, '', sockaddr]);
    }
  }
  return out;
}

/**
 * Resolves `host` (a name or a numeric address) for `port`. Resolves to a
 * list of AddrInfo tuples; a name that does not resolve rejects with
 * Node's resolver error (code 'ENOTFOUND', ...).
 *
 * @example
 * const infos = yield* getaddrinfo(loop, 'localhost', 80, { type: C.SOCK_STREAM });
 * for (const [family, , , , [host, port]] of infos) console.log(family, host, port);
 */
export function getaddrinfo(loop: EventLoop, host: string, port: number | string | null, options: GetaddrinfoOptions = {}): Future<AddrInfo[]> {
  const portNumber = checkOptions(host, port, options);
  const numeric = numericFamily(host);
  if (numeric !== 0) {
    const future = loop.createFuture<AddrInfo[]>();
    future.setResult(entries([{ address: host, family: numeric === C.AF_INET6 ? 6 : 4 }], portNumber, options));
    return future;
  }
  const family = options.family === C.AF_INET ? 4 : options.family === C.AF_INET6 ? 6 : 0;
  const promise = lookup(host, { all: true, family, verbatim: true }).then((found) => entries(found, portNumber, options));
  return promiseToFuture(loop, promise);
}
