/**
 * The problem detectors, in one place: instruments that watch a loop for
 * slow callbacks, loop lag, tasks that never yield, long iterations, lost
 * wakers, plus a bounded flight recorder. Each is usable alone
 * (`loop.addInstrument(new SlowCallbackDetector({thresholdMs: 50}))`) and
 * costs nothing until attached. All are platform-free; the stall watchdog,
 * which needs a worker thread, is in 'eventide/node'.
 *
 * @example
 * import { SlowCallbackDetector, LoopLagHistogram } from 'eventide';
 * loop.addInstrument(new SlowCallbackDetector({ thresholdMs: 50, onReport: (r) => console.warn(r.label, r.durationMs) }));
 * const lag = new LoopLagHistogram();
 * loop.addInstrument(lag);
 */
export { SlowCallbackDetector, NeverYieldingTaskDetector } from './slow-callbacks.js';
export type { SlowCallbackReport, SlowCallbackOptions, NeverYieldingReport, NeverYieldingOptions } from './slow-callbacks.js';
export { LoopLagHistogram, LAG_BUCKET_COUNT } from './loop-lag.js';
export type { LaneLagSummary, LoopLagOptions } from './loop-lag.js';
export { LongIterationDetector } from './long-iteration.js';
export type { IterationCallback, LongIterationReport, LongIterationOptions } from './long-iteration.js';
export { LostWakerDetector } from './lost-waker.js';
export type { LostWakerReport, LostWakerOptions } from './lost-waker.js';
export { FlightRecorder } from './flight-recorder.js';
export type { FlightEvent, FlightRecorderOptions } from './flight-recorder.js';
export type { DetectorClock } from './detector-util.js';
