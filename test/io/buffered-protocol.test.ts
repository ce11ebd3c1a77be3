/**
 * BufferedProtocol (asyncio.BufferedProtocol) on SocketTransport: the
 * transport receives straight into the buffer the protocol lends it.
 *
 * Pinned: getBuffer(-1) before every read and bufferUpdated(n) after it,
 * with n bytes at the start of the lent buffer (a view's own offset and
 * element size respected); a buffer smaller than what is waiting takes it
 * in several reads, in order; EOF goes to eofReceived as for a Protocol;
 * an empty buffer, a non-buffer, or a getBuffer/bufferUpdated that throws
 * is a fatal error for that connection only (reported, connectionLost gets
 * it, the loop and other connections go on); setProtocol switches between
 * the two kinds; createServer accepts a BufferedProtocol factory.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import type { ExceptionContext } from '../../src/core/base-event-loop.js';
import { RuntimeError } from '../../src/core/errors.js';
import { connectAcceptedSocket, createConnection, createServer } from '../../src/io/connect.js';
import type { BufferedProtocol, Transport } from '../../src/io/transport.js';
import { socketpair } from './fds.js';
import { Collector, eventually, pattern, RecordingProtocol, runIo } from './net-helpers.js';

const T = { timeout: 30_000 };

/** Lends `lend()` each time; records every call and copies out what arrived. */
class Lender extends RecordingProtocol implements BufferedProtocol {
  readonly received: Buffer[] = [];
  #lent: ArrayBufferView | null = null;

  constructor(readonly lend: () => ArrayBufferView) {
    super();
  }

  getBuffer(sizeHint: number): ArrayBufferView {
    this.events.push(`get ${sizeHint}`);
    this.#lent = this.lend();
    return this.#lent;
  }

  bufferUpdated(nbytes: number): void {
    this.events.push(`updated ${nbytes}`);
    const lent = this.#lent as ArrayBufferView;
    this.received.push(Buffer.from(new Uint8Array(lent.buffer, lent.byteOffset, nbytes))); // a copy: the buffer is reused
  }

  get data(): Buffer {
    return Buffer.concat(this.received);
  }
}

test('getBuffer(-1) then bufferUpdated(n) per read; a 7-byte buffer takes 100 waiting bytes in 15 reads, in order; then EOF', T, async () => {
  await runIo(function* (loop) {
    const [left, right] = socketpair();
    const own = Buffer.alloc(7);
    const [, lender] = yield* connectAcceptedSocket(loop, () => new Lender(() => own), left);
    const [peer, peerSide] = yield* connectAcceptedSocket(loop, () => new Collector(), right);
    peer.write(pattern(100)); // one send on a socketpair: all 100 bytes wait before the first read
    peer.writeEof();
    yield* eventually(() => lender.lost !== undefined, 'EOF and close');
    const expected = ['made', ...Array.from({ length: 14 }, () => ['get -1', 'updated 7']).flat(), 'get -1', 'updated 2', 'get -1', 'eof', 'lost'];
    assert.deepEqual(lender.events, expected);
    assert.ok(lender.data.equals(pattern(100)), 'the bytes, in order');
    yield* eventually(() => peerSide.lost !== undefined, 'the peer to see the close');
  });
});

test("the data lands at the start of the lent view: a subarray's offset and a Uint32Array's 4-byte elements are respected", T, async () => {
  await runIo(function* (loop) {
    const [left, right] = socketpair();
    const backing = Buffer.alloc(32, 0xee);
    const words = new Uint32Array(2); // 8 bytes
    let round = 0;
    const [, lender] = yield* connectAcceptedSocket(loop, () => new Lender(() => (round++ === 0 ? backing.subarray(10, 20) : words)), left);
    const [peer] = yield* connectAcceptedSocket(loop, () => new Collector(), right);
    peer.write(Buffer.from('0123456789ABCDEFGH')); // 18 bytes: 10 into the subarray, 8 into the words
    yield* eventually(() => lender.data.length === 18, 'all 18 bytes');
    assert.equal(backing.toString('latin1', 10, 20), '0123456789');
    assert.equal(backing[9], 0xee, 'nothing written before the view');
    assert.equal(backing[20], 0xee, 'nothing written past the view');
    assert.equal(Buffer.from(words.buffer).toString('latin1'), 'ABCDEFGH');
    assert.deepEqual(lender.events, ['made', 'get -1', 'updated 10', 'get -1', 'updated 8']);
    peer.close();
    yield* eventually(() => lender.lost !== undefined, 'close');
  });
});

for (const [what, lend, errorName, detail] of [
  ['an empty buffer', () => Buffer.alloc(0), 'RuntimeError', /returned an empty buffer/],
  ['a string', () => 'not bytes' as unknown as Buffer, 'TypeError', /must return a Buffer, TypedArray or DataView .*got "not bytes"/],
  ['null', () => null as unknown as Buffer, 'TypeError', /got null/],
  [
    'a getBuffer that throws',
    () => {
      throw new RangeError('no buffer for you');
    },
    'RangeError',
    /no buffer for you/,
  ],
] as const) {
  test(`getBuffer returning ${what} is a fatal error for that connection only: reported, connectionLost(${errorName}); the loop and another connection go on`, T, async () => {
    const exceptions: ExceptionContext[] = [];
    await runIo(
      function* (loop) {
        const [left, right] = socketpair();
        const [, bad] = yield* connectAcceptedSocket(loop, () => new Lender(lend), left);
        const [peer, peerSide] = yield* connectAcceptedSocket(loop, () => new Collector(), right);
        const [left2, right2] = socketpair();
        const own = Buffer.alloc(64);
        const [, good] = yield* connectAcceptedSocket(loop, () => new Lender(() => own), left2);
        const [peer2] = yield* connectAcceptedSocket(loop, () => new Collector(), right2);
        peer.write(Buffer.from('x'));
        yield* eventually(() => bad.lost !== undefined && peerSide.lost !== undefined, 'the bad connection to close');
        assert.deepEqual(bad.events, ['made', 'get -1', `lost ${errorName}`], 'no recv, no bufferUpdated');
        assert.match(String(bad.lost?.message), detail);
        peer2.write(Buffer.from('still fine'));
        yield* eventually(() => good.data.length === 10, 'the other connection to carry on');
        assert.equal(good.data.toString(), 'still fine');
        peer2.close();
        yield* eventually(() => good.lost !== undefined, 'close');
      },
      { exceptions },
    );
    assert.deepEqual(
      exceptions.map((c) => [c.message, (c.exception as Error).name]),
      [['Fatal error: protocol.getBuffer() call failed.', errorName]],
    );
    assert.ok(errorName !== 'RuntimeError' || exceptions[0]?.exception instanceof RuntimeError);
  });
}

test('a bufferUpdated that throws is reported and closes that connection with the error', T, async () => {
  const exceptions: ExceptionContext[] = [];
  await runIo(
    function* (loop) {
      const [left, right] = socketpair();
      class Throws extends Lender {
        override bufferUpdated(nbytes: number): void {
          super.bufferUpdated(nbytes);
          throw new Error('cannot parse');
        }
      }
      const [, lender] = yield* connectAcceptedSocket(loop, () => new Throws(() => Buffer.alloc(16)), left);
      const [peer, peerSide] = yield* connectAcceptedSocket(loop, () => new Collector(), right);
      peer.write(Buffer.from('abc'));
      yield* eventually(() => lender.lost !== undefined && peerSide.lost !== undefined, 'both lost');
      assert.deepEqual(lender.events, ['made', 'get -1', 'updated 3', 'lost Error']);
      assert.equal(lender.data.toString(), 'abc', 'the bytes were there when bufferUpdated was called');
    },
    { exceptions },
  );
  assert.deepEqual(exceptions.map((c) => c.message), ['Fatal error: protocol.bufferUpdated() call failed.']);
});

test('setProtocol switches kinds: later reads go to the new protocol (Protocol → BufferedProtocol → Protocol)', T, async () => {
  await runIo(function* (loop) {
    const [left, right] = socketpair();
    const [transport, plain] = yield* connectAcceptedSocket(loop, () => new Collector(), left);
    const [peer] = yield* connectAcceptedSocket(loop, () => new Collector(), right);
    peer.write(Buffer.from('one'));
    yield* eventually(() => plain.data.length === 3, "the plain protocol's data");
    const lender = new Lender(() => Buffer.alloc(8));
    transport.setProtocol(lender);
    assert.equal(transport.getProtocol(), lender);
    peer.write(Buffer.from('two'));
    yield* eventually(() => lender.data.length === 3, "the buffered protocol's data");
    const plainAgain = new Collector();
    transport.setProtocol(plainAgain);
    peer.write(Buffer.from('three'));
    yield* eventually(() => plainAgain.data.length === 5, 'the second plain protocol');
    assert.deepEqual([plain.data.toString(), lender.data.toString(), plainAgain.data.toString()], ['one', 'two', 'three']);
    peer.close();
    yield* eventually(() => plainAgain.lost !== undefined, 'close');
  });
});

test('a TCP echo server of BufferedProtocols (createServer accepts the factory): 1 MiB comes back whole', T, async () => {
  await runIo(function* (loop) {
    class Echo implements BufferedProtocol {
      readonly #buffer = Buffer.allocUnsafe(4096);
      #transport: Transport | null = null;
      connectionMade(transport: Transport): void {
        this.#transport = transport;
      }
      getBuffer(): Buffer {
        return this.#buffer;
      }
      bufferUpdated(nbytes: number): void {
        this.#transport?.write(this.#buffer.subarray(0, nbytes)); // write copies what it cannot send now
      }
    }
    const server = yield* createServer(loop, () => new Echo(), '127.0.0.1', 0);
    const [, port] = server.addresses()[0] as [string, number];
    const [transport, client] = yield* createConnection(loop, () => new Collector(), '127.0.0.1', port);
    transport.write(pattern(1 << 20));
    yield* eventually(() => client.data.length >= 1 << 20, '1 MiB back');
    assert.ok(client.data.equals(pattern(1 << 20)));
    transport.close();
    yield* eventually(() => client.lost !== undefined, 'close');
    server.close();
    yield* server.waitClosed();
  });
});
