/**
 * WriteQueue (write-queue.ts): what a transport has yet to write. A
 * property test against a model (one flat byte array): after any mix of
 * pushes (from any offset) and consumes, the chunks hold exactly the
 * model's bytes in order, `size` is their total, no chunk is empty, and
 * a pushed copy does not change when the caller reuses its buffer.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import { WriteQueue } from '../../src/io/write-queue.js';

type Op = { kind: 'push'; bytes: number[]; offset: number } | { kind: 'consume'; fraction: number } | { kind: 'clear' };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('push' as const), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 40 }), offset: fc.nat() }),
  fc.record({ kind: fc.constant('consume' as const), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant('clear' as const) }),
);

test('WriteQueue matches a flat byte model under pushes, partial consumes and clears', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const queue = new WriteQueue();
      let model: number[] = [];
      for (const step of ops) {
        if (step.kind === 'push') {
          const data = Buffer.from(step.bytes);
          const offset = step.offset % data.length;
          queue.pushTail(data, offset);
          model.push(...step.bytes.slice(offset));
          data.fill(0xee); // the caller reuses its buffer: the queue kept a copy
        } else if (step.kind === 'consume') {
          const n = Math.floor(step.fraction * queue.size);
          queue.consume(n);
          model = model.slice(n);
        } else {
          assert.equal(queue.clear(), model.length);
          model = [];
        }
        assert.equal(queue.size, model.length);
        assert.ok(queue.chunks.every((chunk) => chunk.byteLength > 0), 'no empty chunk');
        assert.deepEqual([...Buffer.concat(queue.chunks)], model);
      }
    }),
  );
});

test('pushTail copies from a view with its own byteOffset (a subarray of a larger buffer)', () => {
  const backing = Buffer.from('xxhello worldyy');
  const view = new Uint8Array(backing.buffer, backing.byteOffset + 2, 11);
  const queue = new WriteQueue();
  queue.pushTail(view, 6);
  assert.equal(Buffer.concat(queue.chunks).toString(), 'world');
  queue.consume(2);
  assert.equal(Buffer.concat(queue.chunks).toString(), 'rld');
  assert.equal(queue.size, 3);
});
