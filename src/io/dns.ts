/**
 * Name resolution: asyncio's `loop.getaddrinfo` and `loop.getnameinfo`,
 * on Node's resolver.
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
import { lookup, lookupService } from 'node:dns/promises';
import { SocketAddress } from 'node:net';
import { readFileSync } from 'node:fs';
import { describe } from '../core/assert.js';
import type { EventLoop } from '../tasks/event-loop.js';
import type { Future } from '../tasks/future.js';
import { promiseToFuture } from '../tasks/task.js';
import { GaiError, toGaiError } from './errors.js';
import { formatAddress, numericFamily } from './sockets.js';
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

/** Checks getaddrinfo's arguments; returns the port as a number and the options to answer for. */
function checkOptions(host: unknown, port: unknown, options: GetaddrinfoOptions): [port: number, options: GetaddrinfoOptions] {
  if (typeof host !== 'string' || host.length === 0) throw new TypeError(`getaddrinfo: host must be a non-empty string, got ${describe(host)}`);
  const family = options.family ?? 0;
  if (family !== 0 && family !== C.AF_INET && family !== C.AF_INET6) {
    throw new RangeError(`getaddrinfo: family must be AF_INET (${C.AF_INET}), AF_INET6 (${C.AF_INET6}) or 0, got ${describe(family)}`);
  }
  const type = options.type ?? 0;
  if (type !== 0 && type !== C.SOCK_STREAM && type !== C.SOCK_DGRAM) {
    throw new RangeError(`getaddrinfo: type must be SOCK_STREAM, SOCK_DGRAM or 0, got ${describe(type)}`);
  }
  if (typeof port === 'string' && !/^\d+$/.test(port)) {
    // A service name from /etc/services ('http'), as the C library's getaddrinfo takes: only the socket types it is defined for.
    const service = serviceByName(port, type);
    if (service === undefined) throw new RangeError(`getaddrinfo: unknown service ${JSON.stringify(port)} (not in /etc/services for this socket type)`);
    return [service.port, service.type === type ? options : { ...options, type: service.type }];
  }
  const portNumber = typeof port === 'string' ? Number(port) : port === null ? 0 : port;
  if (typeof portNumber !== 'number' || !Number.isInteger(portNumber) || portNumber < 0 || portNumber > 65535) {
    throw new RangeError(`getaddrinfo: port must be an integer 0..65535, its decimal string or a service name, got ${describe(port)}`);
  }
  return [portNumber, options];
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
 * Resolves `host` (a name or a numeric address) for `port`: a number, its
 * decimal string, or a service name from /etc/services ('http', for the
 * socket types it is defined for, as the C library answers). Resolves to a
 * list of AddrInfo tuples; a name that does not resolve rejects with a
 * GaiError (code 'ENOTFOUND', 'EAI_AGAIN', ...), as asyncio's socket.gaierror.
 *
 * @example
 * const infos = yield* getaddrinfo(loop, 'localhost', 80, { type: C.SOCK_STREAM });
 * for (const [family, , , , [host, port]] of infos) console.log(family, host, port);
 */
export function getaddrinfo(loop: EventLoop, host: string, port: number | string | null, givenOptions: GetaddrinfoOptions = {}): Future<AddrInfo[]> {
  const [portNumber, options] = checkOptions(host, port, givenOptions);
  const numeric = numericFamily(host);
  if (numeric !== 0) {
    const future = loop.createFuture<AddrInfo[]>();
    future.setResult(entries([{ address: host, family: numeric === C.AF_INET6 ? 6 : 4 }], portNumber, options));
    return future;
  }
  const family = options.family === C.AF_INET ? 4 : options.family === C.AF_INET6 ? 6 : 0;
  const promise = lookup(host, { all: true, family, verbatim: true }).then(
    (found) => entries(found, portNumber, options),
    (error: unknown) => {
      throw toGaiError(error, 'getaddrinfo', host);
    },
  );
  const future = promiseToFuture(loop, promise);
  future.label = `getaddrinfo ${host}:${port ?? ''}`;
  return future;
}

/** getnameinfo flags (glibc's values, as Python's socket.NI_*). */
export const NI_NUMERICHOST = 1;
export const NI_NUMERICSERV = 2;
/** Only the host's first label (Node's resolver gives the name as found; this flag cuts it at the first dot). */
export const NI_NOFQDN = 4;
/** A host with no name is an error (ENOTFOUND), not its numeric address. */
export const NI_NAMEREQD = 8;
/** The service is looked up as UDP, not TCP. */
export const NI_DGRAM = 16;
const KNOWN_FLAGS = NI_NUMERICHOST | NI_NUMERICSERV | NI_NOFQDN | NI_NAMEREQD | NI_DGRAM;

/**
 * Resolves a numeric `[host, port]` (or an IPv6 4-tuple) to `[hostName,
 * serviceName]`, as asyncio's getnameinfo (the system's getnameinfo, run
 * on libuv's thread pool by Node's `dns.lookupService`). Without a name for
 * the host it answers the numeric address, unless `NI_NAMEREQD` (then a
 * GaiError, code ENOTFOUND); a port with no service name answers its number.
 *
 * @example
 * const [host, service] = yield* getnameinfo(loop, ['127.0.0.1', 22]); // ['localhost', 'ssh']
 */
export function getnameinfo(loop: EventLoop, sockaddr: InetAddress | Inet6Address, flags = 0): Future<[host: string, service: string]> {
  if (!Array.isArray(sockaddr) || typeof sockaddr[0] !== 'string' || numericFamily(sockaddr[0]) === 0) {
    throw new TypeError(`getnameinfo: sockaddr must be [numericHost, port] (resolve names with getaddrinfo first), got ${describe(sockaddr)}`);
  }
  const family = numericFamily(sockaddr[0]);
  if (family === C.AF_INET ? sockaddr.length !== 2 : sockaddr.length < 2 || sockaddr.length > 4) {
    throw new TypeError(`getnameinfo: an ${family === C.AF_INET ? 'IPv4 sockaddr is [host, port]' : 'IPv6 sockaddr is [host, port, flowinfo?, scopeId?]'}, got ${describe(sockaddr)}`);
  }
  const port = sockaddr[1];
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`getnameinfo: port must be an integer 0..65535, got ${describe(port)}`);
  if (!Number.isInteger(flags) || (flags & ~KNOWN_FLAGS) !== 0) throw new RangeError(`getnameinfo: flags must be a combination of the NI_* flags, got ${describe(flags)}`);
  const host = canonicalAddress(sockaddr[0], family);
  const service = (flags & NI_NUMERICSERV) !== 0 ? String(port) : serviceName(port, (flags & NI_DGRAM) !== 0 ? 'udp' : 'tcp');
  if ((flags & NI_NUMERICHOST) !== 0) {
    const future = loop.createFuture<[string, string]>();
    // The system's getnameinfo: a name is required and none is to be looked up, so there is none (EAI_NONAME).
    if ((flags & NI_NAMEREQD) !== 0) future.setException(notFound(host));
    else future.setResult([host, service]);
    return future;
  }
  const answer = lookupService(host, port).then(
    ({ hostname }): [string, string] => [(flags & NI_NOFQDN) !== 0 ? (hostname.split('.')[0] as string) : hostname, service],
    (error: NodeJS.ErrnoException): [string, string] => {
      if (error.code === 'ENOTFOUND' && (flags & NI_NAMEREQD) === 0) return [host, service];
      throw toGaiError(error, 'getnameinfo', host);
    },
  );
  const future = promiseToFuture(loop, answer);
  future.label = `getnameinfo ${formatAddress([host, port])}`;
  return future;
}

/** The address as the system's getnameinfo prints it: IPv6 compressed and lower case ('0:0::1' is '::1'), a zone kept. */
function canonicalAddress(host: string, family: number): string {
  if (family !== C.AF_INET6) return host;
  const zoneAt = host.indexOf('%');
  const address = zoneAt < 0 ? host : host.slice(0, zoneAt);
  return new SocketAddress({ address, family: 'ipv6' }).address + (zoneAt < 0 ? '' : host.slice(zoneAt));
}

/** The error for a host with no name (the system's EAI_NONAME). */
function notFound(host: string): GaiError {
  return new GaiError('ENOTFOUND', 'getnameinfo', host);
}

/**
 * The services database, /etc/services (what the system's getservbyport and
 * getservbyname read), read once: 'port/protocol' → name, and
 * 'name/protocol' → port for each name and alias. The first entry wins, as
 * in the C library.
 */
let services: { names: Map<string, string>; ports: Map<string, number> } | null = null;

function servicesDatabase(): { names: Map<string, string>; ports: Map<string, number> } {
  if (services !== null) return services;
  const names = new Map<string, string>();
  const ports = new Map<string, number>();
  let text = '';
  try {
    text = readFileSync('/etc/services', 'latin1');
  } catch {
    // No services database: every service is its number, and names resolve to nothing.
  }
  for (const line of text.split('\n')) {
    const match = /^([^#\s]+)\s+(\d+)\/(tcp|udp)\b([^#]*)/.exec(line);
    if (match === null) continue;
    const [, name, port, protocol, aliases] = match as unknown as [string, string, string, string, string];
    if (!names.has(`${port}/${protocol}`)) names.set(`${port}/${protocol}`, name);
    for (const each of [name, ...aliases.split(/\s+/).filter((alias) => alias !== '')]) {
      if (!ports.has(`${each}/${protocol}`)) ports.set(`${each}/${protocol}`, Number(port));
    }
  }
  return (services = { names, ports });
}

function serviceName(port: number, protocol: 'tcp' | 'udp'): string {
  return servicesDatabase().names.get(`${port}/${protocol}`) ?? String(port);
}

/**
 * A service name ('http') as a port and the socket type it is defined for
 * (getservbyname): given type 0, SOCK_STREAM if only TCP has it, SOCK_DGRAM
 * if only UDP, 0 if both. Undefined if the database has no such service
 * for the type asked.
 */
function serviceByName(name: string, type: number): { port: number; type: number } | undefined {
  const ports = servicesDatabase().ports;
  const tcp = type === C.SOCK_DGRAM ? undefined : ports.get(`${name}/tcp`);
  const udp = type === C.SOCK_STREAM ? undefined : ports.get(`${name}/udp`);
  if (tcp !== undefined) return { port: tcp, type: udp === undefined ? C.SOCK_STREAM : type };
  if (udp !== undefined) return { port: udp, type: C.SOCK_DGRAM };
  return undefined;
}
