/**
 * Log-and-assert (React's assertLog, Trio's TaskRecorder): code under test
 * pushes what happened; the test asserts the exact sequence, and the log
 * must be fully asserted before the test ends.
 */
import assert from 'node:assert/strict';

export class Log {
  #entries: unknown[] = [];

  push(entry: unknown): void {
    this.#entries.push(entry);
  }

  /** Asserts the entries logged since the last assert, exactly, and clears them. */
  assert(expected: unknown[], message?: string): void {
    const actual = this.#entries;
    this.#entries = [];
    assert.deepEqual(actual, expected, message);
  }

  /** Throws if something was logged but never asserted. */
  assertEmpty(): void {
    this.assert([], 'log has unasserted entries');
  }
}
