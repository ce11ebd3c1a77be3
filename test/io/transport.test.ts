/**
 * Write-buffer limits in both call forms, asyncio's positional
 * `setWriteBufferLimits(high?, low?)` and the `{high, low}` object:
 * asyncio's defaulting rules (resolveWaterMarks), the TypeError or
 * RangeError each bad argument gets, and the same through a real
 * SocketTransport and UdpTransport (new limits re-check a full buffer;
 * refused limits change nothing). `getWriteBufferLimits()` is
 * `[low, high]`, asyncio's order.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { connectAcceptedSocket, createDatagramEndpoint } from '../../src/io/connect.js';
import { byteLengthOf, DEFAULT_HIGH_WATER, resolveWaterMarks, type DatagramProtocol } from '../../src/io/transport.js';
import { syscalls as sys } from '../../src/io/syscalls.js';
import { socketpair } from './fds.js';
import { Collector, eventually, pattern, runIo } from './net-helpers.js';

const T = { timeout: 30_000 };
const WHO = 'Test.setWriteBufferLimits';

/** resolveWaterMarks with asyncio's positional arguments. */
const marks = (high?: unknown, low?: unknown): [number, number] => resolveWaterMarks(high, low, WHO);

test("positional (high?, low?) follows asyncio: high 64 KiB or 4 x low, low high / 4 rounded down; [low, high] comes back", () => {
  assert.deepEqual(marks(), [DEFAULT_HIGH_WATER / 4, DEFAULT_HIGH_WATER]);
  assert.deepEqual(marks(undefined, undefined), [16 * 1024, 64 * 1024]);
  assert.deepEqual(marks(1024), [256, 1024]);
  assert.deepEqual(marks(1024, 256), [256, 1024]);
  assert.deepEqual(marks(1024, 1024), [1024, 1024]);
  assert.deepEqual(marks(1024, 0), [0, 1024]);
  assert.deepEqual(marks(undefined, 1000), [1000, 4000]);
  assert.deepEqual(marks(undefined, 0), [0, 0]);
  assert.deepEqual(marks(0), [0, 0]);
  assert.deepEqual(marks(5), [1, 5]);
  assert.deepEqual(marks(3), [0, 3]);
});

test('the object form resolves the same way: {}, {high}, {low}, {high, low}', () => {
  assert.deepEqual(marks({}), [16 * 1024, 64 * 1024]);
  assert.deepEqual(marks({ high: 1024 }), [256, 1024]);
  assert.deepEqual(marks({ low: 1000 }), [1000, 4000]);
  assert.deepEqual(marks({ high: 8, low: 2 }), [2, 8]);
  assert.deepEqual(marks({ high: undefined, low: 2 }), [2, 8]);
});

test('bad marks: a non-number is a TypeError naming the argument and value; a negative or fractional one or low > high a RangeError naming both', () => {
  const typeError = (pattern: RegExp) => (error: unknown) => error instanceof TypeError && pattern.test(error.message);
  const rangeError = (pattern: RegExp) => (error: unknown) => error instanceof RangeError && pattern.test(error.message);
  assert.throws(() => marks('1024'), typeError(/^Test\.setWriteBufferLimits: high must be a number of bytes \(or omitted\), got "1024"$/));
  assert.throws(() => marks(1024, '256'), typeError(/: low must be a number of bytes \(or omitted\), got "256"$/));
  assert.throws(() => marks(null), typeError(/: high must be a number .* got null$/));
  assert.throws(() => marks(undefined, null), typeError(/: low must be a number .* got null$/));
  assert.throws(() => marks(1024n), typeError(/: high must be a number .* got 1024$/));
  assert.throws(() => marks([1024, 256]), typeError(/: high must be a number .* got an Array$/));
  assert.throws(() => marks({ high: '1' }), typeError(/: limits\.high must be a number .* got "1"$/));
  assert.throws(() => marks({ high: 8, low: null }), typeError(/: limits\.low must be a number .* got null$/));
  assert.throws(() => marks({ hi: 5 }), typeError(/: limits may only have the keys high and low, got "hi"$/));
  assert.throws(() => marks({ high: 8 }, 2), typeError(/: pass the limits as \(high, low\) numbers or as one \{high, low\} object, not both: got an object and then 2$/));

  assert.throws(() => marks(-1), rangeError(/: high must be a non-negative integer number of bytes, got -1$/));
  assert.throws(() => marks(1.5), rangeError(/: high must be .* got 1\.5$/));
  assert.throws(() => marks(Number.NaN), rangeError(/: high must be .* got NaN$/));
  assert.throws(() => marks(Infinity), rangeError(/: high must be .* got Infinity$/));
  assert.throws(() => marks(undefined, -4), rangeError(/: low must be .* got -4$/));
  assert.throws(() => marks({ low: 0.5 }), rangeError(/: limits\.low must be .* got 0\.5$/));
  assert.throws(() => marks(10, 20), rangeError(/^Test\.setWriteBufferLimits: high \(10\) must be >= low \(20\)$/));
  assert.throws(() => marks({ high: 1, low: 2 }), rangeError(/: high \(1\) must be >= low \(2\)$/));
});

test('SocketTransport: positional limits set [low, high]; lowering high below a full buffer pauses the protocol at once; refused limits change nothing', T, async () => {
  await runIo(function* (loop) {
    const [a, b] = socketpair(); // b is never read: the kernel buffer fills
    const [transport, client] = yield* connectAcceptedSocket(loop, () => new Collector(), a);
    transport.setWriteBufferLimits(1024);
    assert.deepEqual(transport.getWriteBufferLimits(), [256, 1024]);
    transport.setWriteBufferLimits(undefined, 100);
    assert.deepEqual(transport.getWriteBufferLimits(), [100, 400]);
    transport.setWriteBufferLimits({ high: 64, low: 8 });
    assert.deepEqual(transport.getWriteBufferLimits(), [8, 64]);
    transport.setWriteBufferLimits();
    assert.deepEqual(transport.getWriteBufferLimits(), [16 * 1024, 64 * 1024]);

    transport.setWriteBufferLimits(1 << 30);
    const block = pattern(64 * 1024);
    for (let written = 0; transport.getWriteBufferSize() === 0; written += block.length) {
      if (written > 256 * 1024 * 1024) assert.fail('the kernel never pushed back');
      transport.write(block);
    }
    assert.deepEqual(client.events, ['made']);
    transport.setWriteBufferLimits(1, 0);
    assert.deepEqual(client.events, ['made', 'pauseWriting'], 'paused synchronously by the new high mark');

    const before = transport.getWriteBufferLimits();
    assert.throws(() => transport.setWriteBufferLimits('1024' as unknown as number), /TypeError: SocketTransport\.setWriteBufferLimits: high must be a number/);
    assert.throws(() => transport.setWriteBufferLimits(10, 20), /RangeError: SocketTransport\.setWriteBufferLimits: high \(10\) must be >= low \(20\)/);
    assert.deepEqual(transport.getWriteBufferLimits(), before);
    assert.deepEqual(client.events, ['made', 'pauseWriting'], 'and no protocol call');

    transport.abort();
    yield* eventually(() => client.lost !== undefined, 'abort');
    sys.close(b);
  });
});

test('UdpTransport: the same two forms and the same errors, named for the UDP transport', T, async () => {
  await runIo(function* (loop) {
    const [transport] = yield* createDatagramEndpoint(loop, (): DatagramProtocol => ({}), { localAddr: ['127.0.0.1', 0] });
    transport.setWriteBufferLimits(1024, 0);
    assert.deepEqual(transport.getWriteBufferLimits(), [0, 1024]);
    transport.setWriteBufferLimits({ low: 10 });
    assert.deepEqual(transport.getWriteBufferLimits(), [10, 40]);
    assert.throws(() => transport.setWriteBufferLimits(null as unknown as number), /TypeError: UdpTransport\.setWriteBufferLimits: high must be a number .* got null/);
    // @ts-expect-error — the two forms do not mix (and at run time it is a TypeError)
    assert.throws(() => transport.setWriteBufferLimits({ high: 5 }, 1), /TypeError: UdpTransport\.setWriteBufferLimits: pass the limits as/);
    assert.deepEqual(transport.getWriteBufferLimits(), [10, 40]);
    transport.close();
    yield* eventually(() => transport.getExtraInfo('socket') === undefined, 'close');
  });
});

test('byteLengthOf: the byte length of every kind of view, whatever its element size or offset', () => {
  assert.equal(byteLengthOf(Buffer.from('hello')), 5);
  assert.equal(byteLengthOf(Buffer.from('hello world').subarray(6)), 5);
  assert.equal(byteLengthOf(new Uint8Array(7)), 7);
  assert.equal(byteLengthOf(new Uint16Array(3)), 6);
  assert.equal(byteLengthOf(new Float64Array(new ArrayBuffer(64), 8, 2)), 16);
  assert.equal(byteLengthOf(new DataView(new ArrayBuffer(10), 3)), 7);
});
