/**
 * FdSlots (fd-slots.ts): a property test against a Map. After any mix of
 * sets, deletes and clears, on small fds, fds that make the array grow and
 * fds past DENSE_FD_LIMIT (kept in a Map), every lookup agrees with the
 * model, `size` counts what is set, and `values()` gives each value once,
 * the dense fds' in fd order.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import { DENSE_FD_LIMIT, FdSlots } from '../../src/core/fd-slots.js';

const fdArbitrary = fc.oneof(fc.integer({ min: 0, max: 70 }), fc.integer({ min: 0, max: 5000 }), fc.integer({ min: DENSE_FD_LIMIT - 2, max: DENSE_FD_LIMIT + 2 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }));
type Op = { kind: 'set'; fd: number; value: number } | { kind: 'delete'; fd: number } | { kind: 'clear' };
const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('set' as const), fd: fdArbitrary, value: fc.integer() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), fd: fdArbitrary }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const) }) },
);

test('FdSlots agrees with a Map under sets, deletes and clears, for dense and huge fds', () => {
  fc.assert(
    fc.property(fc.array(opArbitrary, { maxLength: 80 }), fc.array(fdArbitrary, { maxLength: 20 }), (ops, probes) => {
      const slots = new FdSlots<{ value: number }>();
      const model = new Map<number, { value: number }>();
      for (const op of ops) {
        if (op.kind === 'set') {
          const value = { value: op.value };
          slots.set(op.fd, value);
          model.set(op.fd, value);
        } else if (op.kind === 'delete') {
          assert.equal(slots.delete(op.fd), model.get(op.fd));
          model.delete(op.fd);
        } else {
          slots.clear();
          model.clear();
        }
        assert.equal(slots.size, model.size);
      }
      for (const fd of [...model.keys(), ...probes]) {
        assert.equal(slots.get(fd), model.get(fd), `fd ${fd}`);
        assert.equal(slots.has(fd), model.has(fd));
      }
      // values(): the dense fds' in fd order, then the others' (any order).
      const values = [...slots.values()];
      const byFd = [...model.entries()].sort(([a], [b]) => a - b);
      const dense = byFd.filter(([fd]) => fd < DENSE_FD_LIMIT).map(([, value]) => value);
      assert.deepEqual(values.slice(0, dense.length), dense);
      assert.deepEqual(new Set(values.slice(dense.length)), new Set(byFd.filter(([fd]) => fd >= DENSE_FD_LIMIT).map(([, value]) => value)));
      assert.equal(values.length, model.size);
    }),
  );
});
