/**
 * An echo server on streams (asyncio's open_connection / start_server):
 * each client is a task that reads a line and writes it back, with
 * `drain()` so a client that does not read cannot make the server buffer
 * without bound.
 *
 *   node dist/examples/echo-server.js            # server + a demo client, then exit
 *   node dist/examples/echo-server.js --serve    # serve on 127.0.0.1:8888 until Ctrl-C
 *   node dist/examples/echo-server.js --serve 9000
 *   (then: nc 127.0.0.1 8888)
 */
import { openConnection, run, startServer, type Coroutine, type StreamReader, type StreamWriter } from '../src/node.js';

const serve = process.argv.includes('--serve');
const port = Number(process.argv.find((arg) => /^\d+$/.test(arg)) ?? (serve ? 8888 : 0));

function* handleClient(reader: StreamReader, writer: StreamWriter): Coroutine<void> {
  const peer = writer.getExtraInfo('peername');
  console.log(`server: ${JSON.stringify(peer)} connected`);
  for (;;) {
    const line = yield* reader.readLine(); // empty at EOF
    if (line.length === 0) break;
    writer.write(line);
    yield* writer.drain();
  }
  console.log(`server: ${JSON.stringify(peer)} said goodbye`);
  writer.close();
  yield* writer.waitClosed();
}

await run(function* () {
  const server = yield* startServer(handleClient, '127.0.0.1', port);
  const [host, boundPort] = server.addresses()[0] as [string, number];
  console.log(`server: listening on ${host}:${boundPort}`);
  if (serve) return yield* server.serveForever();

  const [reader, writer] = yield* openConnection(host, boundPort);
  for (const text of ['hello', 'eventide', 'streams']) {
    writer.write(Buffer.from(`${text}\n`));
    yield* writer.drain();
    const echoed = yield* reader.readLine();
    console.log(`client: sent ${JSON.stringify(text)}, got back ${JSON.stringify(echoed.toString().trimEnd())}`);
  }
  writer.writeEof(); // half-close: the server sees EOF, then closes its side
  const rest = yield* reader.read();
  console.log(`client: server closed (${rest.length} more bytes)`);
  writer.close();
  yield* writer.waitClosed();
  server.close();
  yield* server.waitClosed();
  console.log('done');
});
