/**
 * Runner from 'eventide/node' (src/hosts/node.ts): asyncio.Runner on a Node
 * loop, in both host modes. A server set up in one run serves in the
 * next, and close() cancels what is left, closes the loop and its fds.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { Runner } from '../../src/hosts/node.js';
import { NodeBlockingSelector } from '../../src/hosts/node-blocking.js';
import { EpollSelector } from '../../src/io/epoll-selector.js';
import type { Server } from '../../src/io/server.js';
import type { StreamReader } from '../../src/io/stream-reader.js';
import type { StreamWriter } from '../../src/io/stream-writer.js';
import { openConnection, startServer } from '../../src/io/streams.js';
import type { Coroutine } from '../../src/tasks/operation.js';
import { openFdCount } from '../io/fds.js';
import { MODES } from './node-helpers.js';

function* echoLine(reader: StreamReader, writer: StreamWriter): Coroutine<void> {
  writer.write(yield* reader.readLine());
  yield* writer.drain();
  writer.close();
}

test("Runner is eventide/node's export, not the portable one", async () => {
  const entry = await import('../../src/node.js');
  assert.equal(entry.Runner, Runner);
});

for (const mode of MODES) {
  test(`${mode}: a server started in one run serves clients in the next; close() closes the server's fds and the loop's`, async () => {
    const before = openFdCount();
    const runner = new Runner({ mode });
    const [server] = await runner.run(function* () {
      return [yield* startServer(echoLine, '127.0.0.1', 0)] as [Server];
    });
    const loop = runner.getLoop();
    assert.equal(loop.selector instanceof (mode === 'guest' ? EpollSelector : NodeBlockingSelector), true);
    const [, port] = (server.addresses() as [string, number][])[0] as [string, number];
    const replies = await runner.run(function* () {
      const answers: string[] = [];
      for (const text of ['one\n', 'two\n']) {
        const [reader, writer] = yield* openConnection('127.0.0.1', port);
        writer.write(Buffer.from(text));
        answers.push((yield* reader.readLine()).toString());
        writer.close();
        yield* writer.waitClosed();
      }
      return answers;
    });
    assert.deepEqual(replies, ['one\n', 'two\n']);
    assert.equal(server.isServing(), true, 'still serving between runs');
    await runner.run(function* () {
      server.close();
      yield* server.waitClosed();
    });
    await runner.close();
    assert.equal(loop.isClosed(), true);
    assert.equal(openFdCount(), before, "the loop's epoll and host fds are closed too");
  });
}
