/**
 * EpollSelector (src/io/epoll-selector.ts): the shared Selector contract,
 * plus what only epoll has — regular files refused with a hint, a closed
 * fd silently dropped by the kernel, the epoll fd being pollable itself
 * (libuv watches it: guest mode) and libuv's backend fd in our set
 * (blocking mode).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { openSync, closeSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { Worker } from 'node:worker_threads';
import { EVENT_READ } from '../../src/core/selector.js';
import { EpollSelector } from '../../src/io/epoll-selector.js';
import { EINPROGRESS, OSError } from '../../src/io/errors.js';
import { addonPath, syscalls as sys } from '../../src/io/syscalls.js';
import { C, closeAll, pipe, writeString } from './fds.js';
import { selectAll, selectorContractTests } from './selector-contract.js';

selectorContractTests('EpollSelector', () => new EpollSelector());

test('EpollSelector: a regular file is refused with EPERM and a hint that epoll cannot watch files', () => {
  const selector = new EpollSelector();
  const fd = openSync(join(tmpdir(), `eventide-epoll-${process.pid}`), 'w');
  assert.throws(
    () => selector.register(fd, EVENT_READ),
    (error: unknown) =>
      error instanceof OSError && error.code === 'EPERM' && /fd \d+.*cannot watch regular files/.test(error.message),
  );
  assert.equal(selector.fdCount, 0);
  closeSync(fd);
  const devNull = openSync('/dev/null', 'r');
  assert.throws(
    () => selector.register(devNull, EVENT_READ),
    (error: unknown) => error instanceof OSError && error.code === 'EPERM' && /nor devices that cannot be polled such as \/dev\/null/.test(error.message),
    'a character device without poll support is refused the same way',
  );
  assert.equal(selector.fdCount, 0);
  closeSync(devNull);
  selector.close();
});

test('EpollSelector: a registered fd closed without unregistering is dropped by the kernel and never reported', () => {
  const selector = new EpollSelector();
  const [r, w] = pipe();
  selector.register(r, EVENT_READ);
  writeString(w, 'x');
  closeAll(r); // last reference: the kernel removes it from the epoll set
  assert.deepEqual(selectAll(selector, 0), []);
  selector.unregister(r); // EBADF from epoll_ctl is expected and ignored
  assert.equal(selector.fdCount, 0);
  selector.close();
  closeAll(w);
});

test('EpollSelector: the epoll fd is readable while a registered fd is ready (what a host can wait on)', () => {
  const selector = new EpollSelector();
  const outer = new EpollSelector();
  const [r, w] = pipe();
  selector.register(r, EVENT_READ);
  outer.register(selector.epollFd, EVENT_READ);
  assert.deepEqual(selectAll(outer, 0), []);
  writeString(w, 'x');
  assert.deepEqual(selectAll(outer, 10_000), [[selector.epollFd, EVENT_READ]]);
  assert.deepEqual(selectAll(selector, 0), [[r, EVENT_READ]]);
  outer.close();
  selector.close();
  closeAll(r, w);
});

test('guest-mode bridge: a libuv watcher on the epoll fd calls back from Node\'s loop when a registered pipe is written', async () => {
  const selector = new EpollSelector();
  const [r, w] = pipe();
  selector.register(r, EVENT_READ);
  const calls: number[] = [];
  let id = -1;
  const fired = new Promise<void>((resolve) => {
    id = sys.uvPollOpen(selector.epollFd, (events) => {
      calls.push(events);
      sys.uvPollStop(id); // level-triggered: stop before returning, or it fires again next turn
      resolve();
    });
  });
  assert.ok(id >= 0, `uvPollOpen failed: ${id}`);
  assert.equal(sys.uvPollStart(id), 0);
  setTimeout(() => writeString(w, 'from a Node timer'), 5);
  await fired;
  assert.deepEqual(calls, [C.UV_READABLE]);
  assert.equal(sys.uvPollClose(id), 0);
  assert.deepEqual(selectAll(selector, 0), [[r, EVENT_READ]], 'the loop then finds the pipe with select(0)');
  assert.throws(() => sys.uvPollStart(id), { name: 'RangeError', message: new RegExp(`no open watcher with id ${id}`) });
  selector.close();
  closeAll(r, w);
});

test('guest-mode bridge: a stopped watcher does not call back; ids are reused after close', async () => {
  const [r, w] = pipe();
  const calls: number[] = [];
  const id = sys.uvPollOpen(r, (events) => calls.push(events));
  assert.ok(id >= 0);
  writeString(w, 'x'); // readable, but the watcher was never started
  await new Promise((resolve) => setTimeout(resolve, 5));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(calls, []);
  assert.equal(sys.uvPollClose(id), 0);
  const again = sys.uvPollOpen(r, () => {});
  assert.equal(again, id, 'the freed id is handed out again');
  assert.equal(sys.uvPollClose(again), 0);
  closeAll(r, w);
});

test('guest-mode bridge: a watcher may close itself from inside its own callback', async () => {
  const [r, w] = pipe();
  const calls: number[] = [];
  let id = -1;
  const closed = new Promise<void>((resolve) => {
    id = sys.uvPollOpen(r, (events) => {
      calls.push(events);
      assert.equal(sys.uvPollClose(id), 0);
      resolve();
    });
  });
  assert.equal(sys.uvPollStart(id), 0);
  writeString(w, 'x');
  await closed;
  await new Promise((resolve) => setTimeout(resolve, 5)); // more turns of Node's loop: no further calls
  assert.deepEqual(calls, [C.UV_READABLE]);
  assert.throws(() => sys.uvPollStop(id), { name: 'RangeError', message: /no open watcher/ });
  closeAll(r, w);
});

test('guest-mode bridge: a worker that exits with a watcher still running exits cleanly (teardown closes it)', async () => {
  const worker = new Worker(
    `const { workerData } = require('node:worker_threads');
     const sys = require(workerData.addonPath);
     const c = sys.constants;
     const fds = new Int32Array(2);
     sys.pipe2(fds, c.O_NONBLOCK | c.O_CLOEXEC);
     const id = sys.uvPollOpen(fds[0], () => {});
     if (id < 0 || sys.uvPollStart(id) !== 0) throw new Error('watcher failed: ' + id);
     setTimeout(() => process.exit(7), 1);`,
    { eval: true, workerData: { addonPath } },
  );
  const [code] = (await once(worker, 'exit')) as [number];
  assert.equal(code, 7);
});

test('blocking-mode bridge: libuv\'s backend fd in our epoll set turns readable when Node has I/O, and Node then handles it', async () => {
  const backendFd = sys.uvBackendFd();
  assert.ok(backendFd >= 0);
  assert.ok(sys.uvBackendTimeout() >= -1);
  const server = createServer();
  const connected = once(server, 'connection');
  const selector = new EpollSelector();
  let client = -1;
  try {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    // libuv adds the listen fd to its epoll set in its next poll phase. An
    // immediate queued from a check phase runs in the following iteration,
    // so two in a row always straddle one poll phase.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    const { port } = server.address() as AddressInfo;

    selector.register(backendFd, EVENT_READ);
    client = sys.socket(C.AF_INET, C.SOCK_STREAM | C.SOCK_NONBLOCK | C.SOCK_CLOEXEC, 0);
    const result = sys.connect(client, C.AF_INET, '127.0.0.1', port);
    assert.ok(result === 0 || result === -EINPROGRESS, `connect: ${result}`);
    const reported = selectAll(selector, 10_000);
    assert.ok(
      reported.some(([fd, events]) => fd === backendFd && events === EVENT_READ),
      `the backend fd should be readable, got ${JSON.stringify(reported)}`,
    );
    selector.unregister(backendFd);
    const [socket] = (await connected) as [{ destroy(): void }];
    socket.destroy();
  } finally {
    selector.close();
    if (client >= 0) closeAll(client);
    server.close();
  }
  await once(server, 'close');
});
