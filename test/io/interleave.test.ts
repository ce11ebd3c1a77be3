/**
 * interleaveAddrinfos (asyncio's _interleave_addrinfos): exact orders for
 * the shapes a resolver gives, and as properties over random lists: the
 * result is a permutation, each family keeps its order, and the first
 * family leads with `firstFamilyCount` addresses.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import { interleaveAddrinfos } from '../../src/io/interleave.js';

const V4 = 2;
const V6 = 10;

/** Minimal family-tagged entries: [family, name]. */
type Entry = [family: number, name: string];
const six = (name: string): Entry => [V6, name];
const four = (name: string): Entry => [V4, name];
const names = (entries: readonly Entry[]): string[] => entries.map(([, name]) => name);

test('families alternate, the resolver\'s first family first: 6a 6b 6c 4a 4b → 6a 4a 6b 4b 6c', () => {
  const infos = [six('6a'), six('6b'), six('6c'), four('4a'), four('4b')];
  assert.deepEqual(names(interleaveAddrinfos(infos)), ['6a', '4a', '6b', '4b', '6c']);
  assert.deepEqual(names(interleaveAddrinfos(infos, 1)), ['6a', '4a', '6b', '4b', '6c'], '1 is the default');
});

test('firstFamilyCount n: the first family leads with n addresses (as many as it has), then one each', () => {
  const infos = [six('6a'), six('6b'), six('6c'), four('4a'), four('4b')];
  assert.deepEqual(names(interleaveAddrinfos(infos, 2)), ['6a', '6b', '4a', '6c', '4b']);
  assert.deepEqual(names(interleaveAddrinfos(infos, 3)), ['6a', '6b', '6c', '4a', '4b']);
  assert.deepEqual(names(interleaveAddrinfos(infos, 10)), ['6a', '6b', '6c', '4a', '4b']);
});

test('the family seen first leads, wherever the others are: 4a 6a 4b 4c 6b → 4a 6a 4b 6b 4c', () => {
  assert.deepEqual(names(interleaveAddrinfos([four('4a'), six('6a'), four('4b'), four('4c'), six('6b')])), ['4a', '6a', '4b', '6b', '4c']);
});

test('three families take turns in order of first appearance; one family and none are kept as they are', () => {
  const unix: Entry = [1, 'ua'];
  assert.deepEqual(names(interleaveAddrinfos([four('4a'), four('4b'), six('6a'), unix, six('6b')])), ['4a', '6a', 'ua', '4b', '6b']);
  assert.deepEqual(names(interleaveAddrinfos([four('4a'), four('4b'), four('4c')])), ['4a', '4b', '4c']);
  assert.deepEqual(interleaveAddrinfos([]), []);
});

test('the input is not modified; the entries are the same objects', () => {
  const infos = [six('6a'), six('6b'), four('4a')];
  const copy = infos.slice();
  const out = interleaveAddrinfos(infos);
  assert.deepEqual(infos, copy);
  assert.equal(out[0], infos[0]);
  assert.equal(out[1], infos[2]);
});

test('firstFamilyCount must be a positive integer: RangeError naming it', () => {
  for (const bad of [0, -1, 1.5, NaN]) {
    assert.throws(() => interleaveAddrinfos([four('4a')], bad), { name: 'RangeError', message: `interleaveAddrinfos: firstFamilyCount must be a positive integer, got ${bad}` });
  }
});

test('property: a permutation, each family in its order, the first family leading with min(n, its size)', () => {
  const entries = fc.array(fc.constantFrom(V4, V6, 1), { maxLength: 30 }).map((families) => families.map((family, i): Entry => [family, `#${i}`]));
  fc.assert(
    fc.property(entries, fc.integer({ min: 1, max: 8 }), (infos, count) => {
      const out = interleaveAddrinfos(infos, count);
      assert.deepEqual([...out].sort(byName), [...infos].sort(byName), 'a permutation');
      for (const family of new Set(infos.map(([f]) => f))) {
        assert.deepEqual(out.filter(([f]) => f === family), infos.filter(([f]) => f === family), `family ${family} keeps its order`);
      }
      const first = infos.length === 0 ? [] : infos.filter(([f]) => f === infos[0]?.[0]);
      const lead = Math.min(count, first.length);
      assert.deepEqual(out.slice(0, lead), first.slice(0, lead), 'the first family leads');
      // After the lead, never twice the same family in a row while another family has addresses left.
      for (let i = lead; i + 1 < out.length; i++) {
        const [f] = out[i] as Entry;
        const othersLeft = out.slice(i + 1).some(([g]) => g !== f);
        if (othersLeft) assert.notEqual((out[i + 1] as Entry)[0], f, `position ${i + 1} repeats family ${f} while another has addresses left`);
      }
    }),
    { numRuns: 500 },
  );
});

function byName(a: Entry, b: Entry): number {
  return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
}
