/**
 * Helpers for the socket tests: run a task on a fresh Node loop (guest
 * mode, so Node's own `net` and `dns` keep working beside it), then check
 * that the loop is clean and that no fd leaked. Small protocols the tests
 * share. Not a test file itself.
 */
import assert from 'node:assert/strict';
import { createNodeLoop, type NodeHostMode } from '../../src/hosts/node.js';
import type { ExceptionContext } from '../../src/core/base-event-loop.js';
import { getRunningLoop } from '../../src/tasks/event-loop.js';
import { sleep, type Coroutine, type Operation } from '../../src/tasks/operation.js';
import type { NodeEventLoop } from '../../src/io/node-event-loop.js';
import type { DatagramProtocol, DatagramTransport, Protocol, SocketAddress, Transport } from '../../src/io/transport.js';
import { assertLoopClean } from '../../src/testing.js';
import { syscalls as sys } from '../../src/io/syscalls.js';
import { openFdCount } from './fds.js';

export interface RunIoOptions {
  mode?: NodeHostMode;
  /** Exception-handler contexts are pushed here; without it, any report fails the test. */
  exceptions?: ExceptionContext[];
}

/**
 * Runs `main(loop)` as a task on a new Node loop until it completes, gives
 * callbacks queued by then one more tick; then asserts nothing is left
 * scheduled (no task, callback, timer, reader or writer), closes the loop, and asserts this
 * process has exactly as many fds open as before.
 */
export async function runIo<T>(main: (loop: NodeEventLoop) => Coroutine<T>, options: RunIoOptions = {}): Promise<T> {
  const fdsBefore = openFdCount();
  const loop = createNodeLoop({ mode: options.mode ?? ((process.env['EVENTIDE_IO_MODE'] as NodeHostMode | undefined) ?? 'guest') });
  const reports: ExceptionContext[] = options.exceptions ?? [];
  loop.setExceptionHandler((context) => void reports.push(context));
  let result: T;
  try {
    result = await loop.runUntilComplete(loop.createTask(() => main(loop), { name: 'main' }));
    // Callbacks already queued when main returned (the done-callback of a
    // server's handler task that finished in the same tick) get one turn.
    await loop.runUntilComplete(loop.createTask(function* () {
      yield* sleep(0);
    }));
  } catch (error) {
    if (!loop.isClosed()) loop.close();
    throw error;
  }
  assertLoopClean(loop);
  if (options.exceptions === undefined) {
    assert.deepEqual(reports.map((c) => `${c.message}: ${String(c.exception)}`), [], 'the exception handler was called');
  }
  assert.equal(openFdCount(), fdsBefore, 'fds leaked');
  return result;
}

/**
 * Records the connection's life in `events` ('made', 'eof', 'lost' or
 * 'lost <ErrorName>') and keeps the transport and the error; what to do
 * with data is the subclass's business.
 */
export class RecordingProtocol {
  transport: Transport | null = null;
  readonly events: string[] = [];
  lost: Error | null | undefined = undefined;
  /** What eofReceived returns: true keeps the transport open for writing. */
  keepOpenOnEof = false;

  connectionMade(transport: Transport): void {
    this.transport = transport;
    this.events.push('made');
  }

  eofReceived(): boolean {
    this.events.push('eof');
    return this.keepOpenOnEof;
  }

  connectionLost(exc: Error | null): void {
    this.events.push(exc === null ? 'lost' : `lost ${exc.name}`);
    this.lost = exc;
  }
}

/** Echoes every byte back; records what happened. */
export class EchoProtocol extends RecordingProtocol implements Protocol {
  received = 0;

  dataReceived(data: Buffer): void {
    this.received += data.length;
    this.transport?.write(data);
  }
}

/**
 * Collects what it receives; `closed` resolves at connectionLost. Records
 * every protocol call in `events` (data as 'data <n>' is not recorded, only
 * counted, since its chunking is the kernel's business).
 */
export class Collector extends RecordingProtocol implements Protocol {
  readonly chunks: Buffer[] = [];
  readonly #onLost: (() => void)[] = [];

  dataReceived(data: Buffer): void {
    this.chunks.push(data);
  }

  pauseWriting(): void {
    this.events.push('pauseWriting');
  }

  resumeWriting(): void {
    this.events.push('resumeWriting');
  }

  override connectionLost(exc: Error | null): void {
    super.connectionLost(exc);
    for (const cb of this.#onLost.splice(0)) cb();
  }

  get data(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Calls `cb` at connectionLost (at once if it already happened). */
  onLost(cb: () => void): void {
    if (this.lost !== undefined) cb();
    else this.#onLost.push(cb);
  }
}

/** Deterministic bytes: byte i is (i * 7 + 3) & 0xff. */
export function pattern(length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = (i * 7 + 3) & 0xff;
  return out;
}

/** `whole` cut into pieces of 0 to 4,000 bytes (empty ones included), as Buffers, Uint8Arrays and DataViews. */
export function cutIntoPieces(whole: Buffer): ArrayBufferView[] {
  const pieces: ArrayBufferView[] = [];
  for (let at = 0, i = 0; at < whole.length; i++) {
    const end = Math.min(whole.length, at + ((i * 1237) % 4001));
    const piece = whole.subarray(at, end);
    pieces.push(i % 3 === 0 ? piece : i % 3 === 1 ? new Uint8Array(piece) : new DataView(piece.buffer, piece.byteOffset, piece.byteLength));
    at = end;
  }
  return pieces;
}

/**
 * Waits (1 ms polls) until `predicate()` holds; throws naming `what` after
 * `timeoutMs` — a guard against hangs, never a pass condition.
 */
export function* eventually(predicate: () => boolean, what: string, timeoutMs = 10_000): Coroutine<void> {
  const loop = getRunningLoop();
  const deadline = loop.time() + timeoutMs;
  while (!predicate()) {
    if (loop.time() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    yield* sleep(1);
  }
}

/** Runs `op` and returns the error it fails with; fails the test if it succeeds. */
export function* failure(op: Operation<unknown>): Coroutine<unknown> {
  try {
    yield* op;
  } catch (error) {
    return error;
  }
  return assert.fail('expected the operation to fail');
}

/** The loopback address of `family` (AF_INET or AF_INET6). */
export function loopback(family: number): string {
  return family === sys.constants.AF_INET6 ? '::1' : '127.0.0.1';
}

/** A port on the loopback of `family` that is bound but not listening: connecting is refused. Returns [fd, port]; close the fd. */
export function refusingPort(family: number = sys.constants.AF_INET): [number, number] {
  const C = sys.constants;
  const fd = sys.socket(family, C.SOCK_STREAM | C.SOCK_CLOEXEC, 0);
  assert.ok(fd >= 0, `socket() failed with ${fd}`);
  assert.equal(sys.bind(fd, family, loopback(family), 0), 0);
  const out = { family: 0, address: '', port: 0, flowInfo: 0, scopeId: 0 };
  assert.equal(sys.getsockname(fd, out), 0);
  return [fd, out.port];
}

/**
 * A port where a connect stays in progress: a listener with backlog 0 that
 * never accepts, its queue filled by raw clients, so the kernel drops
 * further SYNs (and the retransmitted ones: a connect to it hangs for
 * minutes). Returns the port and the fds to close (listener and fillers).
 */
export function hangingPort(family: number = sys.constants.AF_INET): [port: number, fds: number[]] {
  const C = sys.constants;
  const [listener, port] = refusingPort(family);
  assert.equal(sys.listen(listener, 0), 0);
  const fds = [listener];
  for (let i = 0; i < 3; i++) {
    const fd = sys.socket(family, C.SOCK_STREAM | C.SOCK_NONBLOCK | C.SOCK_CLOEXEC, 0);
    sys.connect(fd, family, loopback(family), port);
    fds.push(fd);
  }
  return [port, fds];
}

/** A datagram protocol that records what it hears: datagrams (as text, with the sender), errors, and its end. */
export class UdpCollector implements DatagramProtocol {
  transport: DatagramTransport | null = null;
  readonly received: [string, SocketAddress][] = [];
  readonly errors: Error[] = [];
  lost: Error | null | undefined = undefined;
  connectionMade(transport: DatagramTransport): void {
    this.transport = transport;
  }
  datagramReceived(data: Buffer, from: SocketAddress): void {
    this.received.push([data.toString(), from]);
  }
  errorReceived(exc: Error): void {
    this.errors.push(exc);
  }
  connectionLost(exc: Error | null): void {
    this.lost = exc;
  }
}
