/**
 * The Node echo servers of the I/O benchmark (bench/io.ts), one per
 * process so the bench can pin each to a core of its own:
 *
 *   node dist/bench/io-server.js KIND SIZES
 *     KIND   eventide-protocol | eventide-protocol-blocking | eventide-buffered | eventide-streams | node-net
 *     SIZES  comma-separated message sizes, e.g. 1024,16384
 *
 * Listens on 127.0.0.1, prints one line of JSON, `{"ports": {...}}`
 * mapping each message size (or "*" for any size) to a port, and serves
 * until killed.
 *
 *  - eventide-protocol: `createServer` with a Protocol whose `dataReceived`
 *    writes the data back (examples/echo-protocol.ts without the logging),
 *    on `run` from 'eventide/node' — the guest host, as a program gets by
 *    default. `-blocking`: the same on the blocking host.
 *  - eventide-buffered: the same echo as a BufferedProtocol, receiving
 *    into a 64 KiB buffer of its own (getBuffer / bufferUpdated) and
 *    writing that back: no allocation per read.
 *  - eventide-streams: `startServer`; each client is a task looping
 *    `readExactly(SIZE)`, `write`, `drain()`. It must know the size, so it
 *    listens on one port per size.
 *  - node-net: `net.createServer`, `socket.on('data', d => socket.write(d))`,
 *    TCP_NODELAY on (every other server has it on).
 */
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import {
  ConnectionError,
  createServer,
  getRunningLoop,
  IncompleteReadError,
  run,
  startServer,
  type Coroutine,
  type NodeHostMode,
  type BufferedProtocol,
  type Protocol,
  type Server,
  type StreamReader,
  type StreamWriter,
  type Transport,
} from '../src/node.js';

type NodeServerKind = 'eventide-protocol' | 'eventide-protocol-blocking' | 'eventide-buffered' | 'eventide-streams' | 'node-net';
const NODE_SERVER_KINDS: readonly NodeServerKind[] = ['eventide-protocol', 'eventide-protocol-blocking', 'eventide-buffered', 'eventide-streams', 'node-net'];

const BACKLOG = 1024;

/** Echoes what arrives; stops reading while its writes are backed up. */
class Echo implements Protocol {
  #transport: Transport | null = null;

  connectionMade(transport: Transport): void {
    this.#transport = transport;
  }

  dataReceived(data: Buffer): void {
    (this.#transport as Transport).write(data);
  }

  pauseWriting(): void {
    this.#transport?.pauseReading();
  }

  resumeWriting(): void {
    this.#transport?.resumeReading();
  }
}

/** Echo as a BufferedProtocol: the transport receives into this protocol's own buffer. */
class BufferedEcho implements BufferedProtocol {
  readonly #buffer = Buffer.allocUnsafe(64 * 1024);
  #transport: Transport | null = null;

  connectionMade(transport: Transport): void {
    this.#transport = transport;
  }

  getBuffer(_sizeHint: number): Buffer {
    return this.#buffer;
  }

  bufferUpdated(nbytes: number): void {
    // write() sends now, or copies what the kernel did not take: the buffer is free again on return.
    (this.#transport as Transport).write(this.#buffer.subarray(0, nbytes));
  }

  pauseWriting(): void {
    this.#transport?.pauseReading();
  }

  resumeWriting(): void {
    this.#transport?.resumeReading();
  }
}

function announce(ports: Record<string, number>): void {
  process.stdout.write(`${JSON.stringify({ ports })}\n`);
}

function streamHandler(size: number): (reader: StreamReader, writer: StreamWriter) => Coroutine<void> {
  return function* echo(reader, writer) {
    try {
      for (;;) {
        const data = yield* reader.readExactly(size);
        writer.write(data);
        yield* writer.drain();
      }
    } catch (error) {
      // The client closing between messages (or resetting) ends the loop; anything else is a bench failure.
      const clientGone = (error instanceof IncompleteReadError && error.partial.length === 0) || error instanceof ConnectionError;
      if (!clientGone) throw error;
    } finally {
      writer.close();
    }
  };
}

async function serveEventide(kind: NodeServerKind, sizes: number[]): Promise<void> {
  const mode: NodeHostMode = kind === 'eventide-protocol-blocking' ? 'blocking' : 'guest';
  await run(function* () {
    const loop = getRunningLoop();
    const servers: Server[] = [];
    const ports: Record<string, number> = {};
    if (kind === 'eventide-streams') {
      for (const size of sizes) {
        const server = yield* startServer(streamHandler(size), '127.0.0.1', 0, { backlog: BACKLOG });
        servers.push(server);
        ports[String(size)] = (server.addresses()[0] as [string, number])[1];
      }
    } else {
      const factory = kind === 'eventide-buffered' ? () => new BufferedEcho() : () => new Echo();
      const server = yield* createServer(loop, factory, '127.0.0.1', 0, { backlog: BACKLOG });
      servers.push(server);
      ports['*'] = (server.addresses()[0] as [string, number])[1];
    }
    announce(ports);
    yield* (servers[0] as Server).serveForever();
  }, { mode });
}

function serveNodeNet(): void {
  const server: NetServer = createNetServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (data) => socket.write(data));
    socket.on('error', () => socket.destroy());
  });
  server.listen({ host: '127.0.0.1', port: 0, backlog: BACKLOG }, () => announce({ '*': (server.address() as AddressInfo).port }));
}

const [kind, sizesText] = process.argv.slice(2);
if (!NODE_SERVER_KINDS.includes(kind as NodeServerKind) || sizesText === undefined) {
  console.error(`usage: node dist/bench/io-server.js ${NODE_SERVER_KINDS.join('|')} SIZES`);
  process.exit(2);
}
const sizes = sizesText.split(',').map(Number);
// The bench stops servers with SIGTERM: exit normally, so that `--cpu-prof` (when profiling a server) writes its profile.
process.once('SIGTERM', () => process.exit(0));
if (kind === 'node-net') serveNodeNet();
else await serveEventide(kind as NodeServerKind, sizes);
