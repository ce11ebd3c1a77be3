/**
 * PollSelector (src/io/poll-selector.ts): the shared Selector contract,
 * plus poll(2)'s own quirk — a registered fd that gets closed is reported
 * (POLLNVAL → read and write) until it is unregistered, as asyncio's
 * PollSelector does.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { EVENT_READ, EVENT_WRITE } from '../../src/core/selector.js';
import { PollSelector } from '../../src/io/poll-selector.js';
import { closeAll, pipe } from './fds.js';
import { selectAll, selectorContractTests } from './selector-contract.js';

selectorContractTests('PollSelector', () => new PollSelector());

test('PollSelector: a registered fd closed without unregistering is reported (POLLNVAL) with its registered events', () => {
  const selector = new PollSelector();
  const [r, w] = pipe();
  selector.register(r, EVENT_READ);
  selector.register(w, EVENT_READ | EVENT_WRITE);
  closeAll(r);
  // r: POLLNVAL, masked to what was registered. w: writable, and the
  // reader's close is an error (POLLERR) which counts as readable too.
  const reported = selectAll(selector, 0).sort((x, y) => x[0] - y[0]);
  assert.deepEqual(reported, r < w ? [[r, EVENT_READ], [w, EVENT_READ | EVENT_WRITE]] : [[w, EVENT_READ | EVENT_WRITE], [r, EVENT_READ]]);
  selector.unregister(r);
  selector.unregister(w);
  assert.deepEqual(selectAll(selector, 0), []);
  selector.close();
  closeAll(w);
});

test('PollSelector: unregistering from the middle keeps the other fds watched (slot swap)', () => {
  const selector = new PollSelector();
  const [r1, w1] = pipe();
  const [r2, w2] = pipe();
  const [r3, w3] = pipe();
  selector.register(r1, EVENT_READ);
  selector.register(r2, EVENT_READ);
  selector.register(r3, EVENT_READ);
  selector.unregister(r1); // r3 moves into r1's slot
  closeAll(w2, w3); // hang-ups: r2 and r3 readable
  assert.deepEqual(selectAll(selector, 0).sort((x, y) => x[0] - y[0]), [[r2, EVENT_READ], [r3, EVENT_READ]].sort((x, y) => (x[0] as number) - (y[0] as number)));
  selector.unregister(r3);
  assert.deepEqual(selectAll(selector, 0), [[r2, EVENT_READ]], 'unregister found r3 in its new slot');
  selector.close();
  closeAll(r1, w1, r2, r3);
});
