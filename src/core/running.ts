/**
 * Which loop is running, for `getRunningLoop()`.
 *
 * JavaScript lets several loops be "running" at once (their `runForever`
 * promises interleave), so there are two notions:
 *  - the loop whose tick is on the stack right now (exact, set by runOnce);
 *  - the loops inside `runForever`, for code that runs between ticks (a
 *    promise continuation). With exactly one such loop, it is the answer.
 */
import { RuntimeError } from './errors.js';

let tickLoop: object | null = null;
const activeLoops = new Set<object>();

/** @internal Sets the loop whose tick is running; returns the previous one. */
export function enterTick(loop: object): object | null {
  const previous = tickLoop;
  tickLoop = loop;
  return previous;
}

/** @internal Restores the loop returned by enterTick. */
export function exitTick(previous: object | null): void {
  tickLoop = previous;
}

/** @internal */
export function markActive(loop: object, active: boolean): void {
  if (active) activeLoops.add(loop);
  else activeLoops.delete(loop);
}

/** The running loop, or null when none can be named. */
export function runningLoopOrNull(): object | null {
  if (tickLoop !== null) return tickLoop;
  if (activeLoops.size === 1) return activeLoops.values().next().value as object;
  return null;
}

/** The running loop; throws RuntimeError when none can be named. */
export function requireRunningLoop(): object {
  const loop = runningLoopOrNull();
  if (loop === null) {
    throw new RuntimeError(
      activeLoops.size > 1
        ? 'no event loop tick is running and several loops are active: call this from inside a task or callback'
        : 'no running event loop',
    );
  }
  return loop;
}
