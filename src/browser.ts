/**
 * eventide/browser: the portable core and tasks, with no Node imports and no
 * native code. The loop runs as a guest of the page's own loop through
 * GlobalTimersHost (MessageChannel for turns, setTimeout for deadlines).
 */
export * from './index.js';
