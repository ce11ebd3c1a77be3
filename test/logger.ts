/**
 * A loop logger for tests: records what the loop would print (the default
 * exception handler's errors, debug mode's warnings) as one string per call.
 */
import type { LoopLogger } from '../src/core/base-event-loop.js';

/** A logger that records instead of printing. */
export function recordingLogger(): LoopLogger & { warnings: string[]; errors: string[] } {
  const warnings: string[] = [];
  const errors: string[] = [];
  return {
    warnings,
    errors,
    warn: (...args: unknown[]) => void warnings.push(args.map(String).join(' ')),
    error: (...args: unknown[]) => void errors.push(args.map(String).join(' ')),
  };
}
