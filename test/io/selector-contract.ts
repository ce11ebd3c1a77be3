/**
 * The Selector contract (src/core/selector.ts) as tests, run against every
 * fd selector: epoll-selector.test.ts and poll-selector.test.ts call
 * `selectorContractTests` with their own factory, so both selectors are
 * held to exactly the same behaviour.
 *
 * Readiness is arranged with real pipes and socketpairs, never with sleeps;
 * the only timing assertion is "a wake-up ended a long wait promptly".
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import test from 'node:test';
import { Worker } from 'node:worker_threads';
import { EVENT_READ, EVENT_WRITE, type Selector } from '../../src/core/selector.js';
import { EAGAIN, EBADF, EPIPE, OSError } from '../../src/io/errors.js';
import { addonPath, syscalls as sys } from '../../src/io/syscalls.js';
import { assertReturnsPromptly, closeAll, openFdCount, pipe, readString, socketpair, writeString } from './fds.js';

export type FdSelector = Selector & { readonly wakeupFd: number };

/** Runs one select and returns what it reported, as [fd, events] pairs in report order. */
export function selectAll(selector: Selector, timeoutMs: number): [number, number][] {
  const reported: [number, number][] = [];
  const count = selector.select(timeoutMs, (fd, events) => reported.push([fd, events]));
  assert.equal(count, reported.length, 'select() must return how many fds it reported');
  return reported;
}

/** The same pairs sorted by fd, for comparing sets of ready fds. */
function sorted(pairs: [number, number][]): [number, number][] {
  return [...pairs].sort((a, b) => a[0] - b[0]);
}

export function selectorContractTests(name: string, make: () => FdSelector): void {
  test(`${name}: says it watches fds and counts them`, () => {
    const selector = make();
    const [r, w] = pipe();
    assert.equal(selector.name, name);
    assert.equal(selector.supportsFds, true);
    assert.equal(selector.fdCount, 0);
    selector.register(r, EVENT_READ);
    selector.register(w, EVENT_WRITE);
    assert.equal(selector.fdCount, 2);
    selector.unregister(r);
    assert.equal(selector.fdCount, 1);
    selector.close();
    assert.equal(selector.fdCount, 0);
    closeAll(r, w);
  });

  test(`${name}: a pipe's read end is reported readable once written, not before`, () => {
    const selector = make();
    const [r, w] = pipe();
    selector.register(r, EVENT_READ);
    assert.deepEqual(selectAll(selector, 0), []);
    writeString(w, 'x');
    assert.deepEqual(selectAll(selector, 10_000), [[r, EVENT_READ]]);
    selector.close();
    closeAll(r, w);
  });

  test(`${name}: level-triggered — unread data is reported again, drained data is not`, () => {
    const selector = make();
    const [r, w] = pipe();
    selector.register(r, EVENT_READ);
    writeString(w, 'abc');
    assert.deepEqual(selectAll(selector, 0), [[r, EVENT_READ]]);
    assert.deepEqual(selectAll(selector, 0), [[r, EVENT_READ]], 'still unread: reported again');
    assert.equal(readString(r), 'abc');
    assert.deepEqual(selectAll(selector, 0), []);
    selector.close();
    closeAll(r, w);
  });

  test(`${name}: write readiness follows the pipe's free space`, () => {
    const selector = make();
    const [r, w] = pipe();
    selector.register(w, EVENT_WRITE);
    assert.deepEqual(selectAll(selector, 0), [[w, EVENT_WRITE]], 'an empty pipe is writable');
    const chunk = Buffer.alloc(1 << 16);
    while (sys.write(w, chunk, 0, chunk.length) > 0) {
      // fill until the kernel refuses (-EAGAIN)
    }
    assert.deepEqual(selectAll(selector, 0), [], 'a full pipe is not writable');
    while (sys.read(r, chunk, 0, chunk.length) > 0) {
      // drain
    }
    assert.deepEqual(selectAll(selector, 0), [[w, EVENT_WRITE]], 'writable again once drained');
    selector.close();
    closeAll(r, w);
  });

  test(`${name}: the peer closing a pipe reports the read end readable (HUP → EVENT_READ, then EOF)`, () => {
    const selector = make();
    const [r, w] = pipe();
    selector.register(r, EVENT_READ);
    closeAll(w);
    assert.deepEqual(selectAll(selector, 10_000), [[r, EVENT_READ]]);
    assert.equal(readString(r), '', 'the read that follows sees end of file');
    selector.close();
    closeAll(r);
  });

  test(`${name}: the reader closing a pipe reports the write end writable (ERR → EVENT_WRITE, then EPIPE)`, () => {
    const selector = make();
    const [r, w] = pipe();
    const one = Buffer.from('x');
    // Fill the pipe first so that writability can only come from the error.
    while (sys.write(w, Buffer.alloc(1 << 16), 0, 1 << 16) > 0) {
      // fill
    }
    selector.register(w, EVENT_WRITE);
    assert.deepEqual(selectAll(selector, 0), []);
    closeAll(r);
    assert.deepEqual(selectAll(selector, 10_000), [[w, EVENT_WRITE]]);
    assert.equal(sys.write(w, one, 0, 1), -EPIPE, 'the write that follows fails with EPIPE');
    selector.close();
    closeAll(w);
  });

  test(`${name}: error/hang-up events are masked by what is registered (HUP on a reader-only socket is EVENT_READ only)`, () => {
    const selector = make();
    const [a, b] = socketpair();
    selector.register(a, EVENT_READ);
    closeAll(b);
    assert.deepEqual(selectAll(selector, 10_000), [[a, EVENT_READ]]);
    selector.close();
    closeAll(a);
  });

  test(`${name}: modify changes which events are reported`, () => {
    const selector = make();
    const [a, b] = socketpair();
    selector.register(a, EVENT_READ);
    assert.deepEqual(selectAll(selector, 0), [], 'writable, but only reading is watched');
    selector.modify(a, EVENT_WRITE);
    assert.deepEqual(selectAll(selector, 0), [[a, EVENT_WRITE]]);
    writeString(b, 'hi');
    assert.deepEqual(selectAll(selector, 0), [[a, EVENT_WRITE]], 'readable, but only writing is watched');
    selector.modify(a, EVENT_READ | EVENT_WRITE);
    assert.deepEqual(selectAll(selector, 0), [[a, EVENT_READ | EVENT_WRITE]]);
    selector.modify(a, EVENT_READ);
    assert.deepEqual(selectAll(selector, 0), [[a, EVENT_READ]]);
    assert.equal(selector.fdCount, 1, 'modify does not change the count');
    selector.close();
    closeAll(a, b);
  });

  test(`${name}: an unregistered fd is no longer reported, and can be registered again`, () => {
    const selector = make();
    const [r, w] = pipe();
    selector.register(r, EVENT_READ);
    writeString(w, 'x');
    selector.unregister(r);
    assert.deepEqual(selectAll(selector, 0), []);
    selector.register(r, EVENT_READ);
    assert.deepEqual(selectAll(selector, 0), [[r, EVENT_READ]]);
    selector.close();
    closeAll(r, w);
  });

  test(`${name}: an fd unregistered by an earlier onReady in the same select is not reported`, () => {
    const selector = make();
    const [r1, w1] = pipe();
    const [r2, w2] = pipe();
    selector.register(r1, EVENT_READ);
    selector.register(r2, EVENT_READ);
    writeString(w1, 'x');
    writeString(w2, 'y');
    const reported: number[] = [];
    selector.select(0, (fd) => {
      reported.push(fd);
      selector.unregister(fd === r1 ? r2 : r1); // the other one
    });
    assert.equal(reported.length, 1, `only the first ready fd is reported, got ${JSON.stringify(reported)}`);
    selector.close();
    closeAll(r1, w1, r2, w2);
  });

  test(`${name}: unregistering an fd that was already closed works and frees its slot`, () => {
    const selector = make();
    const [r, w] = pipe();
    selector.register(r, EVENT_READ);
    closeAll(r);
    selector.unregister(r);
    assert.equal(selector.fdCount, 0);
    assert.deepEqual(selectAll(selector, 0), []);
    selector.close();
    closeAll(w);
  });

  test(`${name}: registering twice, or modifying/unregistering an unknown fd, throws and changes nothing`, () => {
    const selector = make();
    const [r, w] = pipe();
    selector.register(r, EVENT_READ);
    assert.throws(() => selector.register(r, EVENT_WRITE), { message: new RegExp(`${name}\\.register: fd ${r} is already registered`) });
    assert.throws(() => selector.modify(w, EVENT_WRITE), { message: new RegExp(`${name}\\.modify: fd ${w} is not registered`) });
    assert.throws(() => selector.unregister(w), { message: new RegExp(`${name}\\.unregister: fd ${w} is not registered`) });
    assert.throws(() => selector.register(selector.wakeupFd, EVENT_READ), /already registered/, 'the internal wake-up fd is taken');
    assert.equal(selector.fdCount, 1);
    writeString(w, 'x');
    assert.deepEqual(selectAll(selector, 0), [[r, EVENT_READ]], 'still watching r for reading only');
    selector.close();
    closeAll(r, w);
  });

  test(`${name}: registering an fd that is not open throws an OSError (EBADF) naming the fd, and disturbs nothing`, () => {
    const selector = make();
    const [r, w] = pipe();
    selector.register(r, EVENT_READ);
    const [deadR, deadW] = pipe();
    closeAll(deadR, deadW);
    assert.throws(
      () => selector.register(deadR, EVENT_READ),
      (error: unknown) => {
        assert.ok(error instanceof OSError, `expected an OSError, got ${String(error)}`);
        assert.equal(error.code, 'EBADF');
        assert.equal(error.errno, EBADF);
        assert.match(error.message, new RegExp(`${name}\\.register\\(fd ${deadR}\\)`));
        return true;
      },
    );
    assert.equal(selector.fdCount, 1);
    writeString(w, 'x');
    assert.deepEqual(selectAll(selector, 0), [[r, EVENT_READ]]);
    selector.register(w, EVENT_WRITE);
    assert.deepEqual(sorted(selectAll(selector, 0)), sorted([[r, EVENT_READ], [w, EVENT_WRITE]]));
    selector.close();
    closeAll(r, w);
  });

  test(`${name}: bad arguments are a TypeError/RangeError naming the argument`, () => {
    const selector = make();
    const [r, w] = pipe();
    assert.throws(() => selector.register(-1, EVENT_READ), { name: 'TypeError', message: /fd must be a non-negative integer, got -1/ });
    assert.throws(() => selector.register(1.5, EVENT_READ), { name: 'TypeError', message: /fd must be a non-negative integer, got 1.5/ });
    assert.throws(() => selector.register(r, 0), { name: 'RangeError', message: /events must be EVENT_READ, EVENT_WRITE or both .*got 0/ });
    assert.throws(() => selector.register(r, 4), { name: 'RangeError', message: /got 4/ });
    assert.throws(() => selector.select(Number.NaN, () => {}), { name: 'RangeError', message: /timeoutMs must be a number .*got NaN/ });
    assert.equal(selector.fdCount, 0);
    selector.close();
    closeAll(r, w);
  });

  test(`${name}: a fractional or negative timeout with nothing ready just returns 0`, () => {
    const selector = make();
    assert.equal(selector.select(0.2, () => assert.fail('nothing is registered')), 0);
    assert.equal(selector.select(-5, () => assert.fail('nothing is registered')), 0);
    selector.close();
  });

  test(`${name}: wakeup() ends the next select at once and is never reported to onReady`, () => {
    const selector = make();
    selector.wakeup();
    selector.wakeup(); // wake-ups coalesce
    const reported = assertReturnsPromptly(() => selectAll(selector, 60_000), 30_000, 'select(60 s) after wakeup()');
    assert.deepEqual(reported, []);
    assert.equal(sys.eventfdRead(selector.wakeupFd), -EAGAIN, 'select drained every pending wake-up');
    selector.close();
  });

  test(`${name}: wakeup() ends select(Infinity) even with ready-less fds registered`, () => {
    const selector = make();
    const [r, w] = pipe();
    selector.register(r, EVENT_READ);
    selector.wakeup();
    assert.deepEqual(assertReturnsPromptly(() => selectAll(selector, Infinity), 30_000, 'select(Infinity) after wakeup()'), []);
    selector.close();
    closeAll(r, w);
  });

  test(`${name}: a worker thread writing the wake-up eventfd ends a select blocked on the main thread`, async () => {
    const selector = make();
    const worker = new Worker(
      `const { workerData } = require('node:worker_threads');
       const sys = require(workerData.addonPath);
       const result = sys.eventfdWrite(workerData.fd, 1);
       if (result !== 0) throw new Error('eventfdWrite failed: ' + result);`,
      { eval: true, workerData: { addonPath, fd: selector.wakeupFd } },
    );
    const exited = once(worker, 'exit');
    const reported = assertReturnsPromptly(() => selectAll(selector, 60_000), 30_000, 'select(60 s) woken by a worker');
    assert.deepEqual(reported, []);
    const [code] = (await exited) as [number];
    assert.equal(code, 0);
    selector.close();
  });

  test(`${name}: reports every ready fd of many (more than one buffer's worth)`, () => {
    const selector = make();
    const pairs: [number, number][] = [];
    for (let i = 0; i < 150; i++) pairs.push(socketpair());
    for (const [a, b] of pairs) {
      selector.register(a, EVENT_WRITE);
      selector.register(b, EVENT_READ);
      writeString(a, '.');
    }
    assert.equal(selector.fdCount, 300);
    const expected = pairs.flatMap(([a, b]): [number, number][] => [[a, EVENT_WRITE], [b, EVENT_READ]]);
    assert.deepEqual(sorted(selectAll(selector, 0)), sorted(expected));
    selector.close();
    closeAll(...pairs.flat());
  });

  test(`${name}: after close(), methods throw, wakeup() is a no-op, close() is idempotent`, () => {
    const selector = make();
    const [r, w] = pipe();
    selector.register(r, EVENT_READ);
    selector.close();
    selector.close();
    selector.wakeup();
    assert.equal(selector.fdCount, 0);
    assert.throws(() => selector.register(w, EVENT_WRITE), { message: new RegExp(`${name}\\.register: the selector is closed`) });
    assert.throws(() => selector.select(0, () => {}), { message: new RegExp(`${name}\\.select: the selector is closed`) });
    closeAll(r, w);
  });

  test(`${name}: 1000 create/register/close cycles leave the process's fd count where it was`, () => {
    const [r, w] = pipe();
    const before = openFdCount();
    for (let i = 0; i < 1000; i++) {
      const selector = make();
      selector.register(r, EVENT_READ);
      selector.wakeup();
      selectAll(selector, 0);
      selector.unregister(r);
      selector.close();
    }
    assert.equal(openFdCount(), before);
    closeAll(r, w);
  });
}
