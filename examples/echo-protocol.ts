/**
 * An echo server on transports and protocols (asyncio's create_server /
 * create_connection): no task per connection and no future per message —
 * the loop calls the protocol's methods directly from its readiness
 * callbacks. The server protocol also shows back-pressure: when its
 * transport's write buffer passes the high water mark it stops reading
 * from that client until the buffer drains.
 *
 *   node dist/examples/echo-protocol.js            # server + a demo client, then exit
 *   node dist/examples/echo-protocol.js --serve    # serve on 127.0.0.1:8889 until Ctrl-C
 */
import {
  createConnection,
  createServer,
  getRunningLoop,
  run,
  type Future,
  type Protocol,
  type Transport,
} from '../src/node.js';

const serve = process.argv.includes('--serve');
const port = Number(process.argv.find((arg) => /^\d+$/.test(arg)) ?? (serve ? 8889 : 0));

class EchoServer implements Protocol {
  #transport: Transport | null = null;

  connectionMade(transport: Transport): void {
    this.#transport = transport;
    console.log(`server: connection from ${JSON.stringify(transport.getExtraInfo('peername'))}`);
  }

  dataReceived(data: Buffer): void {
    this.#transport?.write(data);
  }

  // The peer writes faster than it reads: stop reading until our writes drain.
  pauseWriting(): void {
    this.#transport?.pauseReading();
  }

  resumeWriting(): void {
    this.#transport?.resumeReading();
  }

  connectionLost(exc: Error | null): void {
    console.log(`server: connection closed${exc ? ` (${exc.message})` : ''}`);
  }
}

/** Sends `count` messages one at a time, waiting for each echo; `done` resolves with the byte count. */
class Pinger implements Protocol {
  readonly done: Future<number>;
  #transport: Transport | null = null;
  #pending = 0;
  #left: number;
  #received = 0;
  readonly #message: Buffer;

  constructor(count: number, size: number) {
    this.done = getRunningLoop().createFuture<number>();
    this.#left = count;
    this.#message = Buffer.alloc(size, 'x');
  }

  connectionMade(transport: Transport): void {
    this.#transport = transport;
    this.#send();
  }

  dataReceived(data: Buffer): void {
    this.#received += data.length;
    this.#pending -= data.length;
    if (this.#pending === 0) this.#send();
  }

  connectionLost(exc: Error | null): void {
    if (!this.done.done()) exc ? this.done.setException(exc) : this.done.setResult(this.#received);
  }

  #send(): void {
    if (this.#left === 0) return this.#transport?.close();
    this.#left--;
    this.#pending = this.#message.length;
    this.#transport?.write(this.#message);
  }
}

await run(function* () {
  const loop = getRunningLoop();
  const server = yield* createServer(loop, () => new EchoServer(), '127.0.0.1', port);
  const [host, boundPort] = server.addresses()[0] as [string, number];
  console.log(`server: listening on ${host}:${boundPort}`);
  if (serve) return yield* server.serveForever();

  const startMs = loop.time();
  const [, pinger] = yield* createConnection(loop, () => new Pinger(10_000, 1024), host, boundPort);
  const bytes = yield* pinger.done;
  const tookMs = loop.time() - startMs;
  console.log(`client: 10000 round trips of 1 KiB (${bytes} bytes echoed) in ${tookMs.toFixed(0)} ms: ${((10_000 / tookMs) * 1000).toFixed(0)} req/s`);
  server.close();
  yield* server.waitClosed();
  console.log('done');
});
