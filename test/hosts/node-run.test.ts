/**
 * `run` and `createNodeLoop` from 'eventide/node' (src/hosts/node.ts), in
 * both host modes: Node's own event sources keep working while eventide
 * tasks do pipe I/O, an idle program uses next to no CPU, run() cleans up
 * after itself, virtual time still jumps, and bad options are refused
 * without leaking fds.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { promisify } from 'node:util';
import { NodeBlockingSelector } from '../../src/hosts/node-blocking.js';
import { createNodeLoop, run } from '../../src/hosts/node.js';
import { EpollSelector } from '../../src/io/epoll-selector.js';
import { getRunningLoop } from '../../src/tasks/event-loop.js';
import { sleep, until } from '../../src/tasks/operation.js';
import { assertLoopClean } from '../../src/testing.js';
import { closeAll, openFdCount, pipe, readString, writeString } from '../io/fds.js';
import { Log } from '../log.js';
import { EVENT_LOOP_URL, MODES, NODE_HOSTS_URL, OPERATIONS_URL, readable, runChild, withWatchdog } from './node-helpers.js';

const execFileAsync = promisify(execFile);

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

test("run is eventide/node's export, and its loop is a guest by default", async () => {
  // Imported here, not at the top: this file tests the hosts, whatever else
  // the 'eventide/node' entry point grows.
  const entry = await import('../../src/node.js');
  assert.equal(entry.run, run, "'eventide/node' exports the Node run, not the portable one");
  const kind = await run(function* () {
    return getRunningLoop().selector instanceof EpollSelector ? 'guest: the plain EpollSelector' : 'other';
  });
  assert.equal(kind, 'guest: the plain EpollSelector');
  const blocking = await run(
    function* () {
      return getRunningLoop().selector instanceof NodeBlockingSelector;
    },
    { mode: 'blocking' },
  );
  assert.equal(blocking, true);
});

for (const mode of MODES) {
  test(`${mode}: setTimeout, setImmediate, fs.promises, an http server answering fetch, and execFile all complete while an eventide task does pipe I/O`, async () => {
    const log = new Log();
    const file = join(tmpdir(), `eventide-node-run-${process.pid}-${mode}.txt`);
    await writeFile(file, 'file contents');
    let pipeRounds = 0;
    const [r, w] = pipe();
    try {
      await withWatchdog(
        run(
          function* () {
            let done = false;
            const loop = getRunningLoop();
            const pinger = loop.createTask(function* () {
              try {
                while (!done) {
                  writeString(w, 'p');
                  yield* readable(loop, r);
                  readString(r);
                  pipeRounds++;
                  yield* sleep(1);
                }
              } finally {
                loop.removeReader(r);
              }
            });
            log.push(yield* until(new Promise<string>((resolve) => setTimeout(() => resolve('setTimeout'), 10))));
            log.push(yield* until(new Promise<string>((resolve) => setImmediate(() => resolve('setImmediate')))));
            log.push(yield* until(readFile(file, 'utf8')));
            const server = createServer((_request, response) => {
              response.setHeader('connection', 'close');
              response.end('hello from http');
            });
            const port = yield* until(listen(server));
            const response = yield* until(fetch(`http://127.0.0.1:${port}/`));
            log.push(`fetch ${response.status}: ${yield* until(response.text())}`);
            yield* until(closeServer(server));
            const { stdout } = yield* until(execFileAsync('echo', ['from echo']));
            log.push(`execFile: ${stdout.trim()}`);
            done = true;
            yield* pinger;
          },
          { mode },
        ),
        'run',
      );
    } finally {
      closeAll(r, w);
      await rm(file, { force: true });
    }
    log.assert(['setTimeout', 'setImmediate', 'file contents', 'fetch 200: hello from http', 'execFile: from echo']);
    assert.ok(pipeRounds > 0, 'the eventide task did pipe I/O all along');
  });

  test(`${mode}: an idle program (one eventide timer 2 s away) uses under 50 ms of CPU while it waits`, async () => {
    const out = await runChild(
      `const { run } = await import(${JSON.stringify(NODE_HOSTS_URL)});
       const { sleep } = await import(${JSON.stringify(OPERATIONS_URL)});
       const figures = await run(function* () {
         const cpuBefore = process.cpuUsage();
         const startMs = performance.now();
         yield* sleep(2000);
         const cpu = process.cpuUsage(cpuBefore);
         return { cpuMs: (cpu.user + cpu.system) / 1000, idleMs: performance.now() - startMs };
       }, { mode: process.env.EVENTIDE_MODE });
       console.log(JSON.stringify(figures));`,
      { EVENTIDE_MODE: mode },
    );
    const { cpuMs, idleMs } = JSON.parse(out) as { cpuMs: number; idleMs: number };
    assert.ok(idleMs >= 1000, `idled ${idleMs} ms`);
    assert.ok(cpuMs < 50, `used ${cpuMs.toFixed(1)} ms of CPU while idle for ${idleMs.toFixed(0)} ms: something polls`);
  });

  test(`${mode}: run returns main's result or throws its error, and leaves no fd open`, async () => {
    const before = openFdCount();
    const value = await run(
      function* () {
        yield* sleep(1);
        return 42;
      },
      { mode },
    );
    assert.equal(value, 42);
    const failure = new Error('main failed');
    await assert.rejects(
      run(
        function* () {
          yield* sleep(1);
          throw failure;
        },
        { mode },
      ),
      (error: unknown) => error === failure,
    );
    assert.equal(openFdCount(), before);
  });

  test(`${mode}: on a virtual clock, time still jumps (Node's fd is not a registered fd): 100 sleeps of 1 s`, async () => {
    const result = await withWatchdog(
      run(
        function* () {
          const loop = getRunningLoop();
          for (let i = 0; i < 100; i++) yield* sleep(1000);
          return { timeMs: loop.time(), fdCount: loop.selector.fdCount };
        },
        { mode, clock: 'virtual' },
      ),
      'virtual run',
    );
    assert.deepEqual(result, { timeMs: 100_000, fdCount: 0 });
  });

  test(`${mode}: bad options are refused with a clear error and leak no fds`, async () => {
    const before = openFdCount();
    await assert.rejects(run(function* () {}, { mode: 'fast' as never }), (error: unknown) => error instanceof TypeError && /got "fast"/.test(error.message));
    assert.throws(() => createNodeLoop({ mode, host: {} } as never), (error: unknown) => error instanceof TypeError && /options\.host/.test(error.message));
    assert.throws(() => createNodeLoop(null as never), (error: unknown) => error instanceof TypeError && /options must be an object/.test(error.message));
    assert.throws(() => createNodeLoop({ mode, sliceMs: -1 }), RangeError);
    await assert.rejects(run(function* () {}, { mode, sliceMs: -1 }), RangeError);
    assert.equal(openFdCount(), before);
    const loop = createNodeLoop({ mode });
    assertLoopClean(loop);
    assert.equal(openFdCount(), before);
  });
}

test("the plain loop on Node (GlobalTimersHost): a deadline-free wait keeps the process alive, and releases it when the wait ends, closed or not", async () => {
  const out = await runChild(
    `const { EventLoop } = await import(${JSON.stringify(EVENT_LOOP_URL)});
     const waitFor = (loop, what) => loop.runUntilComplete(function* () {
       const future = loop.createFuture();
       // Unref'd: only the loop's wait (no eventide timer: no deadline) keeps Node alive.
       setTimeout(() => future.setResult(what), 200).unref();
       return yield* future;
     });
     const closed = new EventLoop();
     console.log(await waitFor(closed, 'first loop woken'));
     closed.close();
     const leftOpen = new EventLoop();
     console.log(await waitFor(leftOpen, 'second loop woken, not closed'));`,
  );
  // Had the keep-alive leaked, the child would still be running at the watchdog and runChild would reject.
  assert.deepEqual(out.trim().split('\n'), ['first loop woken', 'second loop woken, not closed']);
});

test("GlobalTimersHost({ keepAlive: false }) (what the Node hosts build on): a deadline-free wait does not hold the process", async () => {
  const hostUrl = new URL('../../src/core/host.js', import.meta.url).href;
  const out = await runChild(
    `const { GlobalTimersHost } = await import(${JSON.stringify(hostUrl)});
     process.on('exit', () => console.log('exited with the wait pending'));
     new GlobalTimersHost(5, { keepAlive: false }).wait(Infinity).then(() => console.log('woken'));
     setTimeout(() => console.log('timer ran'), 200).unref();`,
  );
  assert.equal(out.trim(), 'exited with the wait pending');
});
