/**
 * Garbage collection for tests of what happens when an object is collected
 * (FinalizationRegistry reports). Tests run with `node --expose-gc`.
 */
import assert from 'node:assert/strict';

/** Runs GC until `done()` holds (FinalizationRegistry callbacks run on later macrotasks), at most `rounds` times. */
export async function collectUntil(done: () => boolean, rounds = 40): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  assert.ok(gc, 'tests must run with node --expose-gc');
  for (let i = 0; i < rounds && !done(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
  }
  await new Promise((resolve) => setTimeout(resolve, 0));
}
