/**
 * eventide/node: everything in 'eventide', plus what needs Node itself.
 * The native epoll selector, sockets, transports and streams land here
 * (see io/); until then this entry point is the portable core.
 */
export * from './index.js';
