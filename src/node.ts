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
  GaiError,
  SendfileNotAvailableError,
  osError,
  errnoName,
} from './io/errors.js';

// --- hosts: Node's own loop beside eventide's (hosts/node.ts, hosts/node-guest.ts, hosts/node-blocking.ts) ---
// `run` and `Runner` here override the portable ones from index.js: same contract, on createNodeLoop() loops.
export { run, Runner, createNodeLoop, type NodeHostMode, type NodeLoopOptions, type NodeRunOptions } from './hosts/node.js';
export { NodeGuestHost, isPollableSelector, type PollableSelector, type NodeHostOptions } from './hosts/node-guest.js';
export { NodeBlockingHost, NodeBlockingSelector, type NodeBlockingHostStatistics } from './hosts/node-blocking.js';

// --- io: transports, protocols, servers, streams, sockets, DNS (io/transport.ts ... io/node-event-loop.ts) ---
// `getRunningLoop` here overrides the star export of index.js by name: the same function object, typed `() => NodeEventLoop`.
export { NodeEventLoop, getRunningLoop, type NodeEventLoopOptions } from './io/node-event-loop.js';
// `EventLoop` here is the Node loop, as `run` is: `new EventLoop()` from
// 'eventide/node' watches fds (epoll) and waits for them in runForever,
// as asyncio's new_event_loop() gives the platform's loop. It overrides
// the star export of index.js by name; NodeEventLoop extends that class.
export { NodeEventLoop as EventLoop } from './io/node-event-loop.js';
export { SocketTransport, type SocketTransportOptions, type ConnectionTracker } from './io/socket-transport.js';
export { UdpTransport, type UdpTransportOptions } from './io/datagram-transport.js';
export { Server, DEFAULT_BACKLOG, ACCEPT_RETRY_DELAY_MS, type ServerOptions, type ServerStatistics } from './io/server.js';
export {
  createConnection,
  createServer,
  createUnixConnection,
  createUnixServer,
  createDatagramEndpoint,
  connectAcceptedSocket,
  type CreateConnectionOptions,
  type CreateServerOptions,
  type CreateUnixServerOptions,
  type DatagramEndpointOptions,
} from './io/connect.js';
export { connectReadPipe, connectWritePipe, openPipe, closeFd, type ConnectPipeOptions } from './io/connect-pipe.js';
export { ReadPipeTransport, WritePipeTransport, type ReadPipeProtocol, type WritePipeProtocol, type PipeTransportOptions } from './io/pipe-transport.js';
export {
  createSubprocessExec,
  createSubprocessShell,
  Process,
  PIPE,
  STDOUT,
  DEVNULL,
  type StdioOption,
  type SubprocessOptions,
} from './io/subprocess.js';
export { subprocessExec, subprocessShell, SubprocessTransport, type SubprocessProtocol, type SubprocessTransportOptions, type SpawnOptions } from './io/subprocess-transport.js';
export { sockRecv, sockRecvInto, sockSendAll, sockAccept, sockConnect, sockRecvfrom, sockRecvfromInto, sockSendto, sockSendfile, type SendfileOptions } from './io/sock.js';
export { sendfile } from './io/sendfile.js';
export { getaddrinfo, getnameinfo, NI_NUMERICHOST, NI_NUMERICSERV, NI_NOFQDN, NI_NAMEREQD, NI_DGRAM, type AddrInfo, type GetaddrinfoOptions } from './io/dns.js';
export { addSignalHandler, removeSignalHandler, removeAllSignalHandlers, signalHandlerNames, type SignalLike } from './io/signals.js';
export { runInExecutor, setDefaultExecutor, shutdownDefaultExecutor, closeDefaultExecutor } from './io/executor.js';
export { WorkerPool, DEFAULT_MAX_WORKERS, type Executor, type ExecutorJob, type ModuleJob, type FunctionJob, type JobDone, type WorkerPoolOptions, type WorkerPoolStatistics } from './io/worker-pool.js';
export { StreamReader, IncompleteReadError, LimitOverrunError, DEFAULT_STREAM_LIMIT, type StreamReaderOptions } from './io/stream-reader.js';
export { StreamWriter, type DrainableProtocol } from './io/stream-writer.js';
export {
  openConnection,
  openUnixConnection,
  startServer,
  startUnixServer,
  StreamReaderProtocol,
  type ClientConnectedCallback,
  type StreamOptions,
} from './io/streams.js';
export { TransportSocket, socketConstants } from './io/sockets.js';
export type {
  BaseTransport,
  ReadTransport,
  WriteTransport,
  Transport,
  DatagramTransport,
  BaseProtocol,
  Protocol,
  BufferedProtocol,
  StreamProtocol,
  DatagramProtocol,
  SocketAddress,
  InetAddress,
  Inet6Address,
  AddressInput,
  SocketInfo,
  ExtraInfo,
  BytesLike,
  WriteBufferLimits,
} from './io/transport.js';

// --- inspect: stall watchdog and flight-recorder dump on a signal (inspect/watchdog.ts) ---
export { startStallWatchdog, dumpOnSignal, type StallReport, type StallWatchdog, type StallWatchdogOptions } from './inspect/watchdog.js';
// --- inspect: the live console's endpoint, a Unix socket or loopback port (inspect/endpoint.ts) ---
export { serveInspector, defaultInspectorPath, type InspectorHandle, type InspectorOptions, type InspectorSocketOptions, type InspectorTcpOptions } from './inspect/endpoint.js';
// --- inspect: where suspended tasks are paused, through node:inspector and source maps (inspect/task-location.ts) ---
export { locateTask, locateTasks, lookupTaskLocations, taskLocator, type SourceLocation, type GeneratedPosition, type LocationLookup } from './inspect/task-location.js';

// --- a desktop toolkit: the GLib main loop drives eventide (hosts/glib.ts, hosts/gobject-signals.ts) ---
export { GLibHost, GLibLoop } from './hosts/glib.js';
export type { GLibLike, GLibHostOptions, GLibLoopOptions, GLibHostStatistics } from './hosts/glib.js';
export { onSignal, fromSignal, defaultSignalPriority } from './hosts/gobject-signals.js';
export type { GObjectLike, SignalSourceOptions, SignalStreamOptions } from './hosts/gobject-signals.js';
