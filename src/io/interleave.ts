/**
 * Reordering resolved addresses by family for Happy Eyeballs (RFC 8305
 * §4): asyncio's `_interleave_addrinfos`.
 *
 * A resolver that lists every IPv6 address before any IPv4 one would make
 * a staggered connect try all of IPv6 first; alternating the families lets
 * the second family get its turn after one delay instead of after all of
 * the first family's.
 *
 * Invariants (the result is a permutation of the input):
 *  - each family's addresses keep their order;
 *  - families take turns in the order they first appear;
 *  - the first family leads with `firstFamilyCount` addresses (as many as
 *    it has), then one each per turn.
 */
import { describe } from '../core/assert.js';

/** Anything whose first element is an address family: an AddrInfo tuple. */
export type FamilyTagged = readonly [family: number, ...rest: unknown[]];

/**
 * Returns `infos` reordered so that families alternate, the first family
 * (the resolver's preferred one) having `firstFamilyCount` entries at the
 * front (asyncio's `first_address_family_count`, default 1). The input is
 * not modified.
 *
 * @example
 * // v6a v6b v6c v4a v4b → v6a v4a v6b v4b v6c
 * interleaveAddrinfos(infos);
 * // with 2:             → v6a v6b v4a v6c v4b
 * interleaveAddrinfos(infos, 2);
 */
export function interleaveAddrinfos<A extends FamilyTagged>(infos: readonly A[], firstFamilyCount = 1): A[] {
  if (!Number.isInteger(firstFamilyCount) || firstFamilyCount < 1) {
    throw new RangeError(`interleaveAddrinfos: firstFamilyCount must be a positive integer, got ${describe(firstFamilyCount)}`);
  }
  // Map iterates in insertion order: families in order of first appearance.
  const byFamily = new Map<number, A[]>();
  for (const info of infos) {
    const list = byFamily.get(info[0]);
    if (list === undefined) byFamily.set(info[0], [info]);
    else list.push(info);
  }
  const [first = [], ...others] = byFamily.values();
  // The lead: firstFamilyCount - 1 of the first family; the first turn adds one more.
  const reordered = first.slice(0, firstFamilyCount - 1);
  // Then turns, as zip_longest: the k-th remaining address of each family that has one.
  const turns = [first.slice(firstFamilyCount - 1), ...others];
  const rounds = Math.max(...turns.map((list) => list.length));
  for (let k = 0; k < rounds; k++) {
    for (const list of turns) {
      const info = list[k];
      if (info !== undefined) reordered.push(info);
    }
  }
  return reordered;
}
