/**
 * eventide/node: everything in 'eventide', plus what needs Node itself:
 * the native selectors (epoll, poll) and the OS error classes. Sockets,
 * transports and streams land here as io/ grows.
 *
 * Importing this entry point loads the native addon; if it was never built
 * the import throws with instructions (`npm ci`).
 */
export * from './index.js';

// --- io: selectors and OS errors (io/epoll-selector.ts, io/poll-selector.ts, io/errors.ts) ---
export { EpollSelector } from './io/epoll-selector.js';
export { PollSelector } from './io/poll-selector.js';
export {
  OSError,
  BlockingIOError,
  ChildProcessError,
  ConnectionError,
  BrokenPipeError,
  ConnectionAbortedError,
  ConnectionRefusedError,
  ConnectionResetError,
  FileExistsError,
  FileNotFoundError,
  InterruptedError,
  IsADirectoryError,
  NotADirectoryError,
  PermissionError,
  ProcessLookupError,
  SocketTimeoutError,
  osError,
  errnoName,
} from './io/errors.js';
