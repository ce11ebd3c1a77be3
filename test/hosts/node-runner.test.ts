/**
 * Runner from 'eventide/node' (src/hosts/node.ts): asyncio.Runner on a Node
 * loop, in both host modes. A server set up in one run serves in the
 * next, and close() cancels what is left, closes the loop and its fds.
 */
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import test from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Runner } from '../../src/hosts/node.js';
import { NodeBlockingSelector } from '../../src/hosts/node-blocking.js';
import { EpollSelector } from '../../src/io/epoll-selector.js';
import type { Server } from '../../src/io/server.js';
import type { StreamReader } from '../../src/io/stream-reader.js';
import type { StreamWriter } from '../../src/io/stream-writer.js';
import { openConnection, startServer } from '../../src/io/streams.js';
import { sleep, type Coroutine } from '../../src/tasks/operation.js';
import { openFdCount } from '../io/fds.js';
import { MODES, runAndInterrupt } from './node-helpers.js';

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

const nodeEntry = pathToFileURL(fileURLToPath(new URL('../../src/node.js', import.meta.url))).href;


for (const mode of MODES) {
  test(`${mode}: Ctrl-C during a run cancels its main, then closes the runner (the tasks earlier runs left are cancelled, their finally blocks run) before the process ends by SIGINT`, { timeout: 30_000 }, async () => {
    const program = [
      `import { Runner, sleep } from ${JSON.stringify(nodeEntry)};`,
      `const runner = new Runner({ mode: ${JSON.stringify(mode)} });`,
      'await runner.run(function* () {',
      '  runner.getLoop().createTask(function* () {',
      '    try { yield* sleep(60_000); } finally { yield* sleep(10); console.log("background finally"); }',
      '  });',
      '});',
      'await runner.run(function* () {',
      '  console.log("started");',
      '  try { yield* sleep(60_000); } finally { console.log("main finally"); }',
      '});',
      'console.log("run returned");',
    ].join('\n');
    const ended = await runAndInterrupt(program, 1);
    assert.equal(ended.stdout, 'started\nmain finally\nbackground finally\n');
    assert.equal(ended.signal, 'SIGINT');
    assert.equal(ended.code, null);
  });
}

for (const mode of MODES) {
  test(`${mode}: the runs share one async context, captured on first use (asyncio's Runner context): an enterWith in one main is seen by the next; {context: AsyncLocalStorage.snapshot()} gives a run its own`, async () => {
    const als = new AsyncLocalStorage<string>();
    const runner = new Runner({ mode });
    await als.run('outer', () =>
      runner.run(function* () {
        assert.equal(als.getStore(), 'outer');
        als.enterWith('set by run 1');
        yield* sleep(1);
      }),
    );
    const seen = await runner.run(function* () {
      yield* sleep(1);
      return als.getStore();
    });
    assert.equal(seen, 'set by run 1');
    const own = await als.run('request 2', () =>
      runner.run(
        function* () {
          yield* sleep(1);
          return als.getStore();
        },
        { context: AsyncLocalStorage.snapshot() },
      ),
    );
    assert.equal(own, 'request 2');
    await runner.close();
  });
}
