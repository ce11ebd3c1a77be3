/**
 * eventide/browser: the portable core and tasks, plus the browser host —
 * no Node imports and no native code. Bundled as one ESM file by
 * `npm run build:browser` (dist/browser/eventide.js).
 *
 * The loop runs as a guest of the page's own loop (hosts/guest.ts): ready
 * work through MessageChannel, deadlines through setTimeout, frames through
 * requestAnimationFrame, every tick within a time budget so input and
 * painting are never held up. DOM events enter the loop as callbacks at a
 * priority (`onEvent`) or as streams a task reads (`fromEvent`).
 *
 * `run` here overrides the portable one (as 'eventide/node' does): same
 * contract, on a loop the page drives in budgeted turns.
 *
 * @example
 * import { run, fromEvent, nextFrame, sleep } from 'eventide/browser';
 * await run(function* () {
 *   const clicks = fromEvent(button, 'click');
 *   const { value: click } = yield* clicks.next();
 *   yield* nextFrame();
 * });
 */
export * from './index.js';

// --- the browser host and DOM event sources (hosts/); GuestDriver comes from index ---
// `run` here overrides the portable one from index.js: same contract, on a BrowserLoop.
export { BrowserHost, BrowserLoop, run, runInBrowser, nextFrame } from './hosts/browser.js';
export type { BrowserHostOptions, BrowserLoopOptions, BrowserRunOptions } from './hosts/browser.js';
export { onEvent, fromEvent, EventStream, defaultEventPriority } from './hosts/dom-events.js';
export type { EventTargetLike, EventSourceOptions, EventStreamOptions } from './hosts/dom-events.js';
