/**
 * The errors eventide raises, named as asyncio names them.
 */

/**
 * Thrown into a task at its current `yield*` when it is cancelled, and by
 * `result()` of a cancelled future. Catch it only to clean up, then rethrow
 * (a task that swallows it is not cancelled).
 *
 * @example
 * try { yield* sleep(1000); } catch (e) { if (e instanceof CancelledError) cleanup(); throw e; }
 */
export class CancelledError extends Error {
  override name = 'CancelledError';
  constructor(message?: string) {
    super(message ?? 'cancelled');
  }
}

/**
 * A deadline passed: thrown by `waitFor` and `timeout` in place of the
 * CancelledError that stopped the work.
 */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
  constructor(message = 'operation timed out') {
    super(message);
  }
}

/**
 * An operation is not allowed in the object's current state: `setResult` on
 * a done future, `result()` on a pending one.
 */
export class InvalidStateError extends Error {
  override name = 'InvalidStateError';
}

/**
 * Misuse of the loop itself, as asyncio's RuntimeError: using a closed loop,
 * running a loop that is already running, no running loop.
 */
export class RuntimeError extends Error {
  override name = 'RuntimeError';
}
