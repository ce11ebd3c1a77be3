/**
 * Preconditions, stated where state changes (Trio's `assert task._next_send_fn
 * is None`, libuv's `assert(w->fd >= 0)`). These are cheap and always on; a
 * failure means eventide itself is wrong, never the user's input — user input
 * is checked with the `check*` helpers, which throw TypeError/RangeError with
 * a message naming the bad argument.
 */
export class AssertionError extends Error {
  override name = 'AssertionError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(`eventide internal invariant broken: ${message}`);
}

/** Throws a TypeError naming `what` unless `value` is a function. */
export function checkCallback(value: unknown, what: string): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') {
    throw new TypeError(`${what} must be a function, got ${describe(value)}`);
  }
}

/**
 * Throws a TypeError if `callback` is a generator function (or an async
 * one): called as a callback it only makes a generator, and none of its
 * body runs. What was meant is a task. Debug mode's check, as asyncio's
 * `_check_callback` refuses coroutine functions in debug mode only: the
 * test costs a few ns on paths measured in tens.
 */
export function checkNotGeneratorFunction(callback: () => unknown, what: string): void {
  const tag = Object.prototype.toString.call(callback);
  if (tag === '[object GeneratorFunction]') {
    throw new TypeError(`${what} is a generator function: called as a callback it only makes a generator and none of its body runs; run it as a task instead (loop.createTask(fn))`);
  }
  if (tag === '[object AsyncGeneratorFunction]') {
    throw new TypeError(`${what} is an async generator function: called as a callback it only makes an async generator and none of its body runs`);
  }
}

/**
 * Throws unless `value` is a time in milliseconds: any number but NaN. ±Infinity
 * are times too, as in asyncio (`sleep(Infinity)` waits until cancelled;
 * `callAt(-Infinity)` is due at once). Not a number: TypeError; NaN: RangeError.
 */
export function checkMilliseconds(value: unknown, what: string): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(`${what} must be a number of milliseconds, got ${describe(value)}`);
  if (Number.isNaN(value)) throw new RangeError(`${what} must be a number of milliseconds, got NaN`);
}

/**
 * Throws a TypeError naming `what` unless `value` is a boolean or absent:
 * undefined, and null too when `nullable` (an option where null means the
 * default, as asyncio's None).
 */
export function checkOptionalBoolean(value: unknown, what: string, nullable = false): void {
  if (value === undefined || typeof value === 'boolean' || (nullable && value === null)) return;
  throw new TypeError(`${what} must be a boolean${nullable ? ' or null' : ''}, got ${describe(value)}`);
}

/** A short, safe description of any value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    case 'symbol':
      return value.toString();
    case 'function':
      return `function ${value.name || '(anonymous)'}`;
    default: {
      const ctor = (value as object).constructor;
      if (!ctor || typeof ctor.name !== 'string' || ctor.name === '') return 'an object';
      return `${/^[AEIOU]/.test(ctor.name) ? 'an' : 'a'} ${ctor.name}`;
    }
  }
}
