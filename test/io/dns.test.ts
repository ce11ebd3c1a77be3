/**
 * getaddrinfo: numeric hosts answer at once (a done Future, no resolver);
 * names go through Node's resolver; results are asyncio's 5-tuples.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { getaddrinfo } from '../../src/io/dns.js';
import { syscalls as sys } from '../../src/io/syscalls.js';
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

test('localhost resolves through the resolver, filtered by family', async () => {
  await runIo(function* (loop) {
    const infos = yield* getaddrinfo(loop, 'localhost', 8080, { family: C.AF_INET, type: C.SOCK_STREAM });
    assert.ok(infos.length >= 1);
    for (const [family, type, proto, , [host, port]] of infos) {
      assert.equal(family, C.AF_INET);
      assert.equal(type, C.SOCK_STREAM);
      assert.equal(proto, C.IPPROTO_TCP);
      assert.match(host, /^127\./);
      assert.equal(port, 8080);
    }
    const error = yield* failure(getaddrinfo(loop, 'no-such-host.invalid', 80));
    assert.ok(['ENOTFOUND', 'EAI_AGAIN'].includes((error as { code?: string }).code ?? ''), String(error));
  });
});

test('bad input throws at the call', async () => {
  await runIo(function* (loop) {
    assert.throws(() => getaddrinfo(loop, '', 80), TypeError);
    assert.throws(() => getaddrinfo(loop, 'localhost', 'http'), RangeError);
    assert.throws(() => getaddrinfo(loop, 'localhost', 65536), RangeError);
    assert.throws(() => getaddrinfo(loop, 'localhost', 80, { family: 99 }), RangeError);
    yield* getaddrinfo(loop, '127.0.0.1', null);
  });
});
