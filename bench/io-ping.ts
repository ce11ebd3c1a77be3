/**
 * Wake-up latency, the Node sides (bench/io.ts): socketpair ping-pong.
 *
 *   node dist/bench/io-ping.js KIND COUNT WARMUP      (the socket is fd 3)
 *     KIND  eventide-guest | eventide-blocking | node-net | addon-floor
 *
 * fd 3 is one end of a socketpair; the C `pingpong pong` peer, pinned to
 * the other core, echoes every byte back. Each round trip writes one byte
 * and is timed from just before the write to just after the read of the
 * reply, which happens in the readiness callback — one whole idle → woken
 * → callback cycle of the loop under test:
 *
 *  - eventide-guest / -blocking: `loop.addReader(3, cb)` on a
 *    `createNodeLoop({ mode })` loop, `read` / `write` through eventide's
 *    syscalls, the loop in `runForever()`;
 *  - addon-floor: no loop at all, the floor under any loop written in
 *    JavaScript on this addon: a synchronous JavaScript loop of
 *    `epollWait` (blocking), `read` and `write` through eventide's
 *    syscalls, never returning to Node. What eventide's sides cost above
 *    it is the loop's own work (host, tick, dispatch); what it costs above
 *    C's is the JavaScript and N-API crossings every wake-up makes;
 *  - node-net: `new net.Socket({ fd: 3 })`, `'data'` events and
 *    `socket.write()` (libuv's stream path, what Node code would use).
 *
 * WARMUP untimed round trips first. Prints `{"samplesUs": [...], "cpuUs": C}`
 * (every round trip in µs; this process's CPU µs per round trip), the
 * format every ping side uses.
 */
import { Socket } from 'node:net';
import { createNodeLoop, type NodeHostMode } from '../src/hosts/node.js';
import { checkErrno } from '../src/io/errors.js';
import { syscalls as sys } from '../src/io/syscalls.js';

const FD = 3;
const PING = new Uint8Array([0x2a]);

function cpuUs(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/** Counts round trips; records the timed ones. Returns false once all are done. */
class Recorder {
  readonly samplesUs: number[] = [];
  #left: number;
  #sentMs = 0;
  #cpuStart = 0;

  constructor(readonly count: number, readonly warmup: number) {
    this.#left = count + warmup;
    if (warmup === 0) this.#cpuStart = cpuUs();
  }

  /** Call just before sending a ping. */
  sending(): void {
    this.#sentMs = performance.now();
  }

  /** Call just after reading a pong; true if another ping is due. */
  received(): boolean {
    const elapsedUs = (performance.now() - this.#sentMs) * 1000;
    const left = --this.#left;
    if (left < this.count) this.samplesUs.push(elapsedUs);
    if (left === this.count) this.#cpuStart = cpuUs();
    return left > 0;
  }

  report(): string {
    const cpu = (cpuUs() - this.#cpuStart) / this.count;
    return JSON.stringify({ samplesUs: this.samplesUs.map((s) => Math.round(s * 100) / 100), cpuUs: Math.round(cpu * 1000) / 1000 });
  }
}

async function pingEventide(mode: NodeHostMode, recorder: Recorder): Promise<void> {
  const { F_GETFL, F_SETFL, O_NONBLOCK } = sys.constants;
  checkErrno(sys.fcntl(FD, F_SETFL, sys.fcntl(FD, F_GETFL, 0) | O_NONBLOCK), 'fcntl');
  const loop = createNodeLoop({ mode });
  const buffer = new Uint8Array(64);
  loop.addReader(FD, () => {
    const n = sys.read(FD, buffer, 0, buffer.length);
    if (n <= 0) {
      if (n === 0) throw new Error('io-ping: the peer closed');
      return; // -EAGAIN: spurious wake-up
    }
    if (!recorder.received()) return loop.stop();
    recorder.sending();
    sys.write(FD, PING, 0, 1);
  });
  recorder.sending();
  sys.write(FD, PING, 0, 1);
  await loop.runForever();
  loop.removeReader(FD);
  loop.close();
}

/** The addon floor (see the header): blocks the thread in epoll_wait until every round trip is done. */
function pingAddonFloor(recorder: Recorder): void {
  const { EPOLL_CLOEXEC, EPOLL_CTL_ADD, EPOLLIN, F_GETFL, F_SETFL, O_NONBLOCK } = sys.constants;
  checkErrno(sys.fcntl(FD, F_SETFL, sys.fcntl(FD, F_GETFL, 0) | O_NONBLOCK), 'fcntl');
  const epfd = checkErrno(sys.epollCreate1(EPOLL_CLOEXEC), 'epoll_create1');
  checkErrno(sys.epollBind(epfd, new Int32Array(2)), 'epollBind');
  checkErrno(sys.epollCtl(epfd, EPOLL_CTL_ADD, FD, EPOLLIN), 'epoll_ctl');
  const buffer = new Uint8Array(64);
  recorder.sending();
  sys.write(FD, PING, 0, 1);
  for (;;) {
    if (sys.epollWait(epfd, -1) <= 0) continue; // EINTR
    const n = sys.read(FD, buffer, 0, buffer.length);
    if (n === 0) throw new Error('io-ping: the peer closed');
    if (n < 0) continue; // -EAGAIN: spurious wake-up
    if (!recorder.received()) break;
    recorder.sending();
    sys.write(FD, PING, 0, 1);
  }
  sys.close(epfd);
}

async function pingNodeNet(recorder: Recorder): Promise<void> {
  const socket = new Socket({ fd: FD, readable: true, writable: true });
  const ping = Buffer.from(PING);
  await new Promise<void>((resolve, reject) => {
    socket.on('error', reject);
    // One byte in flight, so every 'data' event is one pong.
    socket.on('data', () => {
      if (!recorder.received()) return resolve();
      recorder.sending();
      socket.write(ping);
    });
    recorder.sending();
    socket.write(ping);
  });
  socket.destroy();
}

const [kind, countText, warmupText] = process.argv.slice(2);
const count = Number(countText);
const warmup = Number(warmupText ?? 0);
if (!['eventide-guest', 'eventide-blocking', 'node-net', 'addon-floor'].includes(kind ?? '') || !(count > 0) || !(warmup >= 0)) {
  console.error('usage: node dist/bench/io-ping.js eventide-guest|eventide-blocking|node-net|addon-floor COUNT WARMUP   (the socket is fd 3)');
  process.exit(2);
}
const recorder = new Recorder(count, warmup);
if (kind === 'node-net') await pingNodeNet(recorder);
else if (kind === 'addon-floor') pingAddonFloor(recorder);
else await pingEventide(kind === 'eventide-blocking' ? 'blocking' : 'guest', recorder);
process.stdout.write(`${recorder.report()}\n`);
