import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RuntimeError } from '../../src/core/errors.js';
import { FdOwners } from '../../src/core/fd-owners.js';

const transport = (name: string): object => ({ toString: () => name });

test('an owned fd is refused with a RuntimeError naming the caller, the fd and the owner; others pass', () => {
  const owners = new FdOwners();
  const owner = transport('<SocketTransport fd=7 open>');
  owners.claim(7, owner);
  assert.throws(() => owners.check(7, 'addReader'), (e: unknown) => e instanceof RuntimeError && e.message === 'addReader: file descriptor 7 is used by transport <SocketTransport fd=7 open>');
  owners.check(8, 'addReader');
  owners.check(-1, 'addReader');
  owners.check(1 << 20, 'addReader');
});

test('release frees the fd only for its owner: a stale owner cannot free a reused number', () => {
  const owners = new FdOwners();
  const first = transport('first');
  const second = transport('second');
  owners.claim(5, first);
  owners.release(5, first);
  owners.check(5, 'addWriter');
  owners.claim(5, second);
  owners.release(5, first);
  assert.throws(() => owners.check(5, 'addWriter'), /used by transport second$/);
  assert.deepEqual(owners.takeAll(), [second]);
  owners.check(5, 'addWriter');
});

test('takeAll hands over every owner once, in fd order (an owner of two fds once), and forgets them all', () => {
  const owners = new FdOwners();
  const [a, b, c] = [transport('a'), transport('b'), transport('c')];
  owners.claim(9, b);
  owners.claim(3, a);
  owners.claim(1 << 20, c);
  owners.claim(4, a);
  assert.deepEqual(owners.takeAll(), [a, b, c]);
  assert.deepEqual(owners.takeAll(), []);
  for (const fd of [3, 4, 9, 1 << 20]) owners.check(fd, 'addReader');
});

test('lend: check no longer refuses the fd, but takeAll still hands the owner over; claim or release ends the loan', () => {
  const owners = new FdOwners();
  const [a, b] = [transport('a'), transport('b')];
  owners.claim(3, a);
  owners.lend(3, b); // not the owner: nothing changes
  assert.throws(() => owners.check(3, 'addWriter'), /used by transport a$/);
  owners.lend(3, a);
  owners.check(3, 'addWriter');
  assert.deepEqual(owners.takeAll(), [a]);
  owners.claim(3, a);
  owners.lend(3, a);
  owners.claim(3, a); // the loan ends: refused again, and handed over once
  assert.throws(() => owners.check(3, 'addWriter'), /used by transport a$/);
  assert.deepEqual(owners.takeAll(), [a]);
  owners.claim(4, b);
  owners.lend(4, b);
  owners.release(4, b);
  assert.deepEqual(owners.takeAll(), []);
});
