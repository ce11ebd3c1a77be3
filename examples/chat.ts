/**
 * A chat server: every line a member sends goes to every other member.
 *
 * Back-pressure is the interesting part. A broadcast must not wait for the
 * slowest reader (one stalled phone would freeze the room), and must not
 * buffer for it without bound either. So each member has a bounded outbox
 * (a Queue) and a sender task that writes one message at a time and
 * `drain()`s. A broadcast only `putNowait`s into the outboxes; a member
 * whose outbox is full has stopped reading — its kernel buffers, its
 * transport's buffer (up to the high water mark) and its outbox are all
 * full — and is disconnected, while everyone else carries on.
 *
 *   node dist/examples/chat.js            # server + three bots (one never reads), then exit
 *   node dist/examples/chat.js --serve    # serve on 127.0.0.1:8890 (try two `nc 127.0.0.1 8890`)
 */
import {
  ConnectionError,
  getRunningLoop,
  openConnection,
  Queue,
  QueueFull,
  run,
  sleep,
  startServer,
  type Coroutine,
  type StreamReader,
  type StreamWriter,
  type Task,
} from '../src/node.js';

const serve = process.argv.includes('--serve');
const port = Number(process.argv.find((arg) => /^\d+$/.test(arg)) ?? (serve ? 8890 : 0));
/** Messages a member may have waiting before it counts as not reading. */
const OUTBOX_SIZE = 256;

class Member {
  readonly outbox = new Queue<Buffer>({ maxsize: OUTBOX_SIZE });
  readonly #sender: Task<void>;

  constructor(
    readonly name: string,
    readonly writer: StreamWriter,
  ) {
    const outbox = this.outbox;
    this.#sender = getRunningLoop().createTask(function* (): Coroutine<void> {
      for (;;) {
        writer.write(yield* outbox.get());
        yield* writer.drain(); // waits while this member's socket is backed up
      }
    }, { name: `sender ${name}` });
  }

  /** Queues `line` for this member; false if its outbox is full. */
  deliver(line: Buffer): boolean {
    try {
      this.outbox.putNowait(line);
      return true;
    } catch (error) {
      if (error instanceof QueueFull) return false;
      throw error;
    }
  }

  leave(): void {
    this.#sender.cancel();
    this.writer.close();
  }
}

class ChatRoom {
  readonly #members = new Set<Member>();
  kicked: string[] = [];

  join(member: Member): void {
    this.#members.add(member);
    this.broadcast(null, `* ${member.name} joined\n`);
  }

  leave(member: Member, why = 'left'): void {
    if (!this.#members.delete(member)) return;
    member.leave();
    this.broadcast(null, `* ${member.name} ${why}\n`);
  }

  broadcast(from: Member | null, text: string): void {
    const line = Buffer.from(from === null ? text : `${from.name}: ${text}`);
    for (const member of [...this.#members]) {
      if (member === from) continue;
      if (!member.deliver(line)) {
        this.kicked.push(member.name);
        this.leave(member, 'was disconnected (not reading)');
      }
    }
  }
}

const room = new ChatRoom();

function* handleClient(reader: StreamReader, writer: StreamWriter): Coroutine<void> {
  writer.write(Buffer.from('name? '));
  const name = (yield* reader.readLine()).toString().trim() || 'anonymous';
  const member = new Member(name, writer);
  room.join(member);
  try {
    for (;;) {
      const line = yield* reader.readLine();
      if (line.length === 0) break;
      room.broadcast(member, line.toString());
    }
  } catch (error) {
    // A member that vanished (reset, broken pipe) just leaves; anything else is a bug.
    if (!(error instanceof ConnectionError)) throw error;
  } finally {
    room.leave(member);
  }
}

/**
 * A bot that joins as `name`. A reading bot counts bob's lines until it has
 * `expected` of them (or the connection ends); a non-reading one just sits
 * there until `stop()` says so.
 */
function* bot(host: string, port: number, name: string, expected: number | null, stop: () => boolean): Coroutine<number> {
  const [reader, writer] = yield* openConnection(host, port);
  yield* reader.readUntil('? ');
  writer.write(Buffer.from(`${name}\n`));
  let lines = 0;
  if (expected !== null) {
    while (lines < expected) {
      const line = yield* reader.readLine();
      if (line.length === 0) break;
      if (line.toString().startsWith('bob: ')) lines++;
    }
  } else {
    while (!stop()) yield* sleep(10);
  }
  writer.close();
  try {
    yield* writer.waitClosed();
  } catch {
    // the server may have dropped us (slowpoke): closed either way
  }
  return lines;
}

await run(function* () {
  const loop = getRunningLoop();
  const server = yield* startServer(handleClient, '127.0.0.1', port);
  const [host, boundPort] = server.addresses()[0] as [string, number];
  console.log(`chat: listening on ${host}:${boundPort}`);
  if (serve) return yield* server.serveForever();

  const total = 3000;
  const alice = loop.createTask(() => bot(host, boundPort, 'alice', total, () => false));
  const slowpoke = loop.createTask(() => bot(host, boundPort, 'slowpoke', null, () => alice.done()));
  yield* sleep(20); // both have joined

  // bob floods the room: 3000 lines of 4 KiB, 12 MB for every member.
  const [bobReader, bobWriter] = yield* openConnection(host, boundPort);
  yield* bobReader.readUntil('? ');
  bobWriter.write(Buffer.from('bob\n'));
  const shout = Buffer.from(`${'!'.repeat(4095)}\n`);
  for (let i = 0; i < total; i++) {
    bobWriter.write(shout);
    yield* bobWriter.drain();
  }
  const received = yield* alice;
  yield* slowpoke;
  console.log(`chat: alice read ${received} of bob's ${total} lines; disconnected for not reading: ${room.kicked.join(', ') || 'nobody'}`);
  bobWriter.close();
  yield* bobWriter.waitClosed();
  server.close();
  yield* sleep(20); // let the server's handlers see the last EOFs
  server.closeClients();
  yield* server.waitClosed();
  console.log('done');
});
