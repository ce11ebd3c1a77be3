/**
 * A stand-in for asyncio's contextvars, for testing task contexts without
 * Node (not a test file): `current` is the context code runs in, and a
 * runner made by `runnerFor(value)` makes `value` current around the
 * callback it is given, and restores what was current before.
 */
import type { TaskContext } from '../../src/index.js';

export class FakeContext<T> {
  current: T;

  constructor(initial: T) {
    this.current = initial;
  }

  /** A TaskContext that runs its callback with `value` current. */
  runnerFor(value: T): TaskContext {
    return <R>(fn: () => R): R => {
      const outer = this.current;
      this.current = value;
      try {
        return fn();
      } finally {
        this.current = outer;
      }
    };
  }
}
