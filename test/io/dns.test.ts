/**
 * getaddrinfo: numeric hosts answer at once (a done Future, no resolver);
 * names go through Node's resolver; results are asyncio's 5-tuples.
 * getnameinfo: the system's answer through Node's resolver, the numeric
 * address where the host has no name, and the NI_* flags.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { lookupService } from 'node:dns/promises';
import { existsSync, readFileSync } from 'node:fs';
import { getaddrinfo, getnameinfo, NI_DGRAM, NI_NAMEREQD, NI_NOFQDN, NI_NUMERICHOST, NI_NUMERICSERV } from '../../src/io/dns.js';
import { until } from '../../src/tasks/operation.js';
import { syscalls as sys } from '../../src/io/syscalls.js';
import { GaiError, OSError } from '../../src/io/errors.js';
import { failure, runIo } from './net-helpers.js';

const C = sys.constants;

test('a numeric address resolves at once to one tuple per socket type', async () => {
  await runIo(function* (loop) {
    const future = getaddrinfo(loop, '127.0.0.1', 80);
    assert.equal(future.done(), true, 'no resolver round-trip');
    assert.deepEqual(yield* future, [
      [C.AF_INET, C.SOCK_STREAM, C.IPPROTO_TCP, '', ['127.0.0.1', 80]],
      [C.AF_INET, C.SOCK_DGRAM, C.IPPROTO_UDP, '', ['127.0.0.1', 80]],
    ]);
    assert.deepEqual(yield* getaddrinfo(loop, '::1', '443', { type: C.SOCK_STREAM }), [[C.AF_INET6, C.SOCK_STREAM, C.IPPROTO_TCP, '', ['::1', 443, 0, 0]]]);
    assert.deepEqual(yield* getaddrinfo(loop, '::1', 443, { family: C.AF_INET }), [], 'filtered by family');
  });
});

const NO_SERVICES = existsSync('/etc/services') ? false : 'no /etc/services on this machine (Debian: netbase)';

test('a service name is a port from /etc/services, for the socket types it is defined for (as Python: getaddrinfo("127.0.0.1", "http"))', { skip: NO_SERVICES }, async () => {
  await runIo(function* (loop) {
    // http is TCP only; domain is both; www is an alias of http.
    assert.deepEqual(yield* getaddrinfo(loop, '127.0.0.1', 'http'), [[C.AF_INET, C.SOCK_STREAM, C.IPPROTO_TCP, '', ['127.0.0.1', 80]]]);
    assert.deepEqual(yield* getaddrinfo(loop, '127.0.0.1', 'domain'), [
      [C.AF_INET, C.SOCK_STREAM, C.IPPROTO_TCP, '', ['127.0.0.1', 53]],
      [C.AF_INET, C.SOCK_DGRAM, C.IPPROTO_UDP, '', ['127.0.0.1', 53]],
    ]);
    assert.deepEqual(yield* getaddrinfo(loop, '127.0.0.1', 'www', { type: C.SOCK_STREAM }), [[C.AF_INET, C.SOCK_STREAM, C.IPPROTO_TCP, '', ['127.0.0.1', 80]]]);
    // Python: gaierror(-8, 'Servname not supported for ai_socktype'), for both.
    assert.throws(() => getaddrinfo(loop, '127.0.0.1', 'http', { type: C.SOCK_DGRAM }), {
      name: 'RangeError',
      message: 'getaddrinfo: unknown service "http" (not in /etc/services for this socket type)',
    });
    assert.throws(() => getaddrinfo(loop, '127.0.0.1', 'no-such-service'), /unknown service "no-such-service"/);
    assert.throws(() => getaddrinfo(loop, '127.0.0.1', 'http', { type: 99 }), /type must be SOCK_STREAM, SOCK_DGRAM or 0, got 99/);
  });
});

test('localhost resolves through the resolver, filtered by family', async () => {
  await runIo(function* (loop) {
    const resolving = getaddrinfo(loop, 'localhost', 8080, { family: C.AF_INET, type: C.SOCK_STREAM });
    assert.equal(resolving.label, 'getaddrinfo localhost:8080', 'named for task introspection');
    const infos = yield* resolving;
    assert.ok(infos.length >= 1);
    for (const [family, type, proto, , [host, port]] of infos) {
      assert.equal(family, C.AF_INET);
      assert.equal(type, C.SOCK_STREAM);
      assert.equal(proto, C.IPPROTO_TCP);
      assert.match(host, /^127\./);
      assert.equal(port, 8080);
    }
    const error = yield* failure(getaddrinfo(loop, 'no-such-host.invalid', 80));
    // Python's socket.gaierror: an OSError with the C library's EAI number (no network here may mean EAI_AGAIN).
    assert.ok(error instanceof GaiError && error instanceof OSError, String(error));
    assert.equal(error.name, 'GaiError');
    assert.deepEqual([error.syscall, error.hostname], ['getaddrinfo', 'no-such-host.invalid']);
    if (error.code === 'ENOTFOUND') {
      assert.equal(error.errno, -2);
      assert.equal(error.message, 'getaddrinfo (no-such-host.invalid) failed: ENOTFOUND: Name or service not known');
    } else {
      assert.deepEqual([error.code, error.errno], ['EAI_AGAIN', -3]);
    }
    assert.equal((error.cause as NodeJS.ErrnoException).code, error.code, "Node's error is the cause");
  });
});

test('bad input throws at the call', async () => {
  await runIo(function* (loop) {
    assert.throws(() => getaddrinfo(loop, '', 80), TypeError);
    assert.throws(() => getaddrinfo(loop, 'localhost', 'no-such-service'), RangeError);
    assert.throws(() => getaddrinfo(loop, 'localhost', 65536), RangeError);
    assert.throws(() => getaddrinfo(loop, 'localhost', 80, { family: 99 }), RangeError);
    yield* getaddrinfo(loop, '127.0.0.1', null);
  });
});

/** The service /etc/services names for port/protocol (the system's getservbyport), else the number. */
function servicesEntry(port: number, protocol: string): string {
  let text = '';
  try {
    text = readFileSync('/etc/services', 'latin1');
  } catch {
    return String(port); // no services database (a minimal system): every service is its number
  }
  for (const line of text.split('\n')) {
    const fields = line.replace(/#.*/, '').trim().split(/\s+/);
    if (fields[1] === `${port}/${protocol}`) return fields[0] as string;
  }
  return String(port);
}

/** The name the system's resolver gives `host` (Node's lookupService), or the address itself if it has none. */
async function systemName(host: string): Promise<string> {
  try {
    return (await lookupService(host, 80)).hostname;
  } catch {
    return host;
  }
}

test('getnameinfo: 127.0.0.1 gets the name the system gives it; the service comes from the services database', async () => {
  const name = await systemName('127.0.0.1');
  await runIo(function* (loop) {
    assert.deepEqual(yield* loop.getnameinfo(['127.0.0.1', 22]), [name, servicesEntry(22, 'tcp')]);
    assert.deepEqual(yield* getnameinfo(loop, ['127.0.0.1', 22], NI_NOFQDN), [name === '127.0.0.1' ? name : name.split('.')[0], servicesEntry(22, 'tcp')]);
    assert.deepEqual(yield* getnameinfo(loop, ['127.0.0.1', 53], NI_DGRAM), [name, servicesEntry(53, 'udp')]);
  });
});

test('getnameinfo: numeric flags answer at once; a host without a name is its address, or ENOTFOUND with NI_NAMEREQD', async () => {
  let namedByResolver = true;
  try {
    await lookupService('::1', 80);
  } catch {
    namedByResolver = false;
  }
  await runIo(function* (loop) {
    const numeric = getnameinfo(loop, ['127.0.0.1', 22], NI_NUMERICHOST | NI_NUMERICSERV);
    assert.equal(numeric.done(), true, 'no resolver round-trip');
    assert.deepEqual(yield* numeric, ['127.0.0.1', '22']);
    assert.deepEqual(yield* getnameinfo(loop, ['::1', 80, 0, 0], NI_NUMERICHOST), ['::1', servicesEntry(80, 'tcp')]);
    assert.deepEqual(yield* getnameinfo(loop, ['127.0.0.1', 65000], NI_NUMERICHOST), ['127.0.0.1', servicesEntry(65000, 'tcp')]);
    if (!namedByResolver) {
      assert.deepEqual(yield* getnameinfo(loop, ['::1', 80, 0, 0]), ['::1', servicesEntry(80, 'tcp')], 'no name: the address');
      const error = yield* failure(getnameinfo(loop, ['::1', 80, 0, 0], NI_NAMEREQD));
      assert.ok(error instanceof GaiError);
      assert.deepEqual([error.code, error.errno, error.syscall, error.hostname], ['ENOTFOUND', -2, 'getnameinfo', '::1']);
    } else {
      const { hostname } = yield* until(lookupService('::1', 80));
      assert.deepEqual(yield* getnameinfo(loop, ['::1', 80, 0, 0]), [hostname, servicesEntry(80, 'tcp')]);
    }
  });
});

test('getnameinfo: a name instead of an address, a bad port or unknown flags throw at the call', async () => {
  await runIo(function* (loop) {
    assert.throws(() => getnameinfo(loop, ['localhost', 80]), { name: 'TypeError', message: /getnameinfo: sockaddr must be \[numericHost, port\] \(resolve names with getaddrinfo first\)/ });
    assert.throws(() => getnameinfo(loop, 'x' as never), TypeError);
    assert.throws(() => getnameinfo(loop, ['127.0.0.1', 70000]), { name: 'RangeError', message: 'getnameinfo: port must be an integer 0..65535, got 70000' });
    assert.throws(() => getnameinfo(loop, ['127.0.0.1', 80], 1024), { name: 'RangeError', message: 'getnameinfo: flags must be a combination of the NI_* flags, got 1024' });
    assert.throws(() => getnameinfo(loop, ['127.0.0.1', 80, 0, 0] as never), { name: 'TypeError', message: /getnameinfo: an IPv4 sockaddr is \[host, port\], got/ });
    assert.throws(() => getnameinfo(loop, ['::1', 80, 0, 0, 0] as never), { name: 'TypeError', message: /getnameinfo: an IPv6 sockaddr is \[host, port, flowinfo\?, scopeId\?\], got/ });
  });
});

test('getnameinfo answers addresses as the system prints them (IPv6 compressed, lower case, a zone kept); NI_NAMEREQD wins over NI_NUMERICHOST, as in glibc and Python', async () => {
  await runIo(function* (loop) {
    assert.deepEqual(yield* getnameinfo(loop, ['0:0:0:0:0:0:0:1', 80], NI_NUMERICHOST | NI_NUMERICSERV), ['::1', '80']);
    assert.deepEqual(yield* getnameinfo(loop, ['::FFFF:7F00:1', 80], NI_NUMERICHOST | NI_NUMERICSERV), ['::ffff:127.0.0.1', '80']);
    assert.deepEqual(yield* getnameinfo(loop, ['FE80:0::1%lo', 80, 0, 0], NI_NUMERICHOST | NI_NUMERICSERV), ['fe80::1%lo', '80']);
    const error = yield* failure(getnameinfo(loop, ['127.0.0.1', 80], NI_NUMERICHOST | NI_NAMEREQD));
    assert.ok(error instanceof GaiError);
    assert.deepEqual([error.code, error.errno, error.syscall, error.hostname], ['ENOTFOUND', -2, 'getnameinfo', '127.0.0.1']);
    assert.equal(error.message, 'getnameinfo (127.0.0.1) failed: ENOTFOUND: Name or service not known');
  });
});
