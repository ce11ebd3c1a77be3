/**
 * The inspector endpoint (src/inspect/endpoint.ts) in a real Node host, in
 * both host modes: the protocol answered between ticks, socket permissions,
 * the TCP token, bad requests and misbehaving clients, `cancel` waking a
 * waiting task, and the socket file's life cycle.
 *
 * The only wall-clock bounds are generous watchdogs (a reply that never
 * comes fails the test instead of hanging it); nothing depends on speed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { createNodeLoop } from '../../src/hosts/node.js';
import type { NodeEventLoop } from '../../src/io/node-event-loop.js';
import { defaultInspectorPath, serveInspector, type InspectorHandle, type InspectorOptions } from '../../src/inspect/endpoint.js';
import { LineSplitter, MAX_REQUEST_LINE_CHARS, type PsResult, type TaskRow, type WhereResult } from '../../src/inspect/endpoint-protocol.js';
import { CancelledError, Event, Lock, getRunningLoop, sleep, type Coroutine, type Future, type Task } from '../../src/index.js';
import { assertLoopClean } from '../../src/testing.js';
import { Log } from '../log.js';
import { MODES, withWatchdog } from '../hosts/node-helpers.js';

const LIMIT_MS = 10_000;

interface Reply {
  id: unknown;
  ok: boolean;
  result?: any;
  error?: string;
}

/** A raw protocol connection: write lines, read replies in order. */
class RawClient {
  readonly socket: Socket;
  readonly closed: Promise<void>;
  readonly #replies: Reply[] = [];
  readonly #waiters: ((reply: Reply | null) => void)[] = [];
  #ended = false;
  #nextId = 1;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    const splitter = new LineSplitter(1 << 26);
    socket.on('data', (chunk: string) => {
      for (const item of splitter.push(chunk)) if ('line' in item) this.#deliver(JSON.parse(item.line) as Reply);
    });
    this.closed = new Promise((resolve) => {
      socket.on('error', () => {});
      socket.on('close', () => {
        this.#ended = true;
        for (const waiter of this.#waiters.splice(0)) waiter(null);
        resolve();
      });
    });
  }

  static connect(to: { path: string } | { port: number }): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = 'path' in to ? createConnection(to.path) : createConnection(to.port, '127.0.0.1');
      socket.once('connect', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  send(line: string): void {
    this.socket.write(line);
  }

  /** The next reply; null if the connection closed first. */
  next(): Promise<Reply | null> {
    const reply = this.#replies.shift();
    if (reply !== undefined) return Promise.resolve(reply);
    if (this.#ended) return Promise.resolve(null);
    return withWatchdog(new Promise((resolve) => this.#waiters.push(resolve)), 'a reply from the endpoint', () => {}, LIMIT_MS);
  }

  async request(request: Record<string, unknown>): Promise<Reply> {
    const id = this.#nextId++;
    this.send(`${JSON.stringify({ id, ...request })}\n`);
    const reply = await this.next();
    assert.ok(reply !== null, `the connection closed before answering ${JSON.stringify(request)}`);
    assert.equal(reply.id, id);
    return reply;
  }

  async ok<T = any>(request: Record<string, unknown>): Promise<T> {
    const reply = await this.request(request);
    assert.equal(reply.ok, true, `${JSON.stringify(request)} failed: ${reply.error}`);
    return reply.result as T;
  }

  #deliver(reply: Reply): void {
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter(reply);
    else this.#replies.push(reply);
  }
}

/** Polls `check` until it returns a value (not undefined); fails after LIMIT_MS. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + LIMIT_MS;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not seen within ${LIMIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function row(ps: PsResult, name: string): TaskRow {
  const found = ps.tasks.find((task) => task.name === name);
  assert.ok(found !== undefined, `no task ${name} in ${ps.tasks.map((task) => task.name).join(', ')}`);
  return found;
}

function scratchDir(): string {
  return mkdtempSync(join(tmpdir(), 'eventide-endpoint-'));
}

/**
 * The program the endpoint is asked about: `main` holds a lock `locked`
 * (high priority) waits for; `ticker` (low) wakes each time the test sets
 * `gate`; two tasks named `twin` sleep for ever; main waits for `stop`.
 */
interface Program {
  loop: NodeEventLoop;
  gate: Event;
  stop: Future<void>;
  tasks: Map<string, Task<unknown>>;
  done: Promise<string[]>;
}

function startProgram(loop: NodeEventLoop): Program {
  const gate = new Event();
  const stop = loop.createFuture<void>();
  const tasks = new Map<string, Task<unknown>>();
  const main = loop.createTask(function* (): Coroutine<string[]> {
    const here = getRunningLoop();
    const lock = new Lock();
    yield* lock.acquire();
    const locked = here.createTask(
      function* () {
        yield* lock.acquire();
        lock.release();
      },
      { name: 'locked', priority: 'high' },
    );
    const ticker = here.createTask(
      function* () {
        for (;;) {
          yield* gate.wait();
          gate.clear();
        }
      },
      { name: 'ticker', priority: 'low' },
    );
    const twins = [1, 2].map(() =>
      here.createTask(
        function* () {
          yield* sleep(1e9);
        },
        { name: 'twin' },
      ),
    );
    for (const task of [locked, ticker]) tasks.set(task.name, task);
    yield* stop;
    for (const task of [ticker, ...twins]) task.cancel();
    lock.release();
    const outcomes: string[] = [];
    for (const task of [locked, ticker, ...twins]) {
      try {
        yield* task;
        outcomes.push(`${task.name} finished`);
      } catch (error) {
        outcomes.push(error instanceof CancelledError ? `${task.name} cancelled` : String(error));
      }
    }
    return outcomes;
  }, { name: 'main' });
  return { loop, gate, stop, tasks, done: loop.runUntilComplete(main) };
}

/** Serves `program`'s loop on `options`, runs `body`, then stops the program and checks the loop is clean. */
async function withEndpoint(
  mode: 'guest' | 'blocking',
  options: (dir: string) => InspectorOptions,
  body: (context: { program: Program; handle: InspectorHandle; dir: string }) => Promise<void>,
): Promise<void> {
  const dir = scratchDir();
  const loop = createNodeLoop({ mode });
  const handle = await serveInspector(loop, options(dir));
  const program = startProgram(loop);
  try {
    await body({ program, handle, dir });
  } finally {
    if (!program.stop.done()) program.stop.setResult();
    await withWatchdog(program.done, 'the program', () => loop.stop(), LIMIT_MS).catch(() => {});
    await handle.close();
    assertLoopClean(loop);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Waits until the program is in its steady state: main on the future, locked on the lock, ticker on the event. */
function settled(client: RawClient): Promise<PsResult> {
  return eventually('the program waiting', async () => {
    const ps = await client.ok<PsResult>({ cmd: 'ps' });
    const waiting = ps.tasks.filter((task) => task.state === 'waiting').length;
    return ps.tasks.length === 5 && waiting === 5 ? ps : undefined;
  });
}

for (const mode of MODES) {
  test(`${mode}: ps over a Unix socket lists every task with state, priority, steps, wakes and what it waits on`, async () => {
    await withEndpoint(mode, (dir) => ({ path: join(dir, 'console.sock') }), async ({ program, handle, dir }) => {
      assert.equal(handle.path, join(dir, 'console.sock'));
      assert.equal(handle.address, handle.path);
      assert.equal(handle.token, null);
      const client = await RawClient.connect({ path: handle.path as string });
      const ps = await settled(client);
      assert.equal(ps.pid, process.pid);
      const first = (ps.tasks[0] as TaskRow).id;
      assert.deepEqual(
        ps.tasks.map((task) => [task.id - first, task.name, task.priority, task.state, task.steps, task.wakes, task.spawnerId === 0 ? 0 : task.spawnerId - first]),
        [
          [0, 'main', 'normal', 'waiting', 1, 0, 0],
          [1, 'locked', 'high', 'waiting', 1, 0, 0],
          [2, 'ticker', 'low', 'waiting', 1, 0, 0],
          [3, 'twin', 'normal', 'waiting', 1, 0, 0],
          [4, 'twin', 'normal', 'waiting', 1, 0, 0],
        ],
      );
      const waits = ps.tasks.map((task) => task.waitingOn ?? '');
      assert.deepEqual(waits.slice(0, 3), [`Future #${program.stop.id}`, 'Lock.acquire()', 'Event.wait()']);
      for (const wait of waits.slice(3)) assert.match(wait, /^sleep, \d+ ms left$/);
      // Two wake-ups of the ticker, each seen before the next: two wakes, three steps.
      for (const expectedSteps of [2, 3]) {
        program.gate.set();
        await eventually(`ticker step ${expectedSteps}`, async () => {
          const ticker = row(await client.ok<PsResult>({ cmd: 'ps' }), 'ticker');
          return ticker.steps === expectedSteps && ticker.state === 'waiting' ? ticker : undefined;
        });
      }
      const ticker = row(await client.ok<PsResult>({ cmd: 'ps' }), 'ticker');
      assert.deepEqual([ticker.steps, ticker.wakes, ticker.waitingOn], [3, 2, 'Event.wait()']);
      assert.ok(ticker.busyMs > 0, 'task timing is on while the endpoint serves');
      assert.ok(ticker.waitingMs !== null && ticker.waitingMs >= 0);
      client.socket.destroy();
    });
  });

  test(`${mode}: cancel from the console wakes a task waiting in the host, with source 'console' and the reason`, async () => {
    await withEndpoint(mode, (dir) => ({ path: join(dir, 'c.sock') }), async ({ program, handle }) => {
      const client = await RawClient.connect({ path: handle.path as string });
      await settled(client);
      const locked = program.tasks.get('locked') as Task<unknown>;
      const result = await client.ok({ cmd: 'cancel', task: 'locked', reason: 'stuck on the lock' });
      assert.equal(result.cancelled, true);
      assert.equal(result.task.name, 'locked');
      assert.equal(result.task.cancelling, 1);
      // Nothing else happens in the program: only the cancel can wake the loop.
      await withWatchdog(
        new Promise<void>((resolve) => locked.addDoneCallback(() => resolve())),
        'the cancelled task finishing',
        () => {},
        LIMIT_MS,
      );
      assert.equal(locked.cancelled(), true);
      assert.deepEqual([locked.cancelOrigin?.source, locked.cancelOrigin?.reason, locked.cancelOrigin?.byTask], ['console', 'stuck on the lock', null]);
      assert.throws(() => locked.result(), (error: Error) => error instanceof CancelledError && error.message === 'stuck on the lock');
      const ps = await client.ok<PsResult>({ cmd: 'ps' });
      assert.equal(ps.tasks.some((task) => task.name === 'locked'), false);
      program.stop.setResult();
      assert.deepEqual(await program.done, ['locked cancelled', 'ticker cancelled', 'twin cancelled', 'twin cancelled']);
    });
  });
}

test('the socket is mode 0600, in a 0700 directory when the endpoint makes it; the file is removed on close', async () => {
  const dir = scratchDir();
  const loop = createNodeLoop();
  try {
    const path = join(dir, 'made', 'inspect.sock');
    const handle = await serveInspector(loop, { path });
    assert.equal(statSync(path).isSocket(), true);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'made')).mode & 0o777, 0o700);
    await handle.close();
    assert.equal(existsSync(path), false);
    await handle.close(); // idempotent
  } finally {
    assertLoopClean(loop);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('serveInspector refuses to replace a file that is not a socket, or a socket in use, and replaces a stale one', async () => {
  const dir = scratchDir();
  const loop = createNodeLoop();
  try {
    const file = join(dir, 'not-a-socket');
    writeFileSync(file, 'precious');
    await assert.rejects(serveInspector(loop, { path: file }), (error: Error & { code?: string }) => error.code === 'EEXIST' && /is not a socket/.test(error.message));
    assert.equal(statSync(file).isFile(), true);

    const busy = join(dir, 'busy.sock');
    const other = createServer();
    await new Promise<void>((resolve) => other.listen(busy, resolve));
    await assert.rejects(serveInspector(loop, { path: busy }), /in use by a running program/);
    await new Promise<void>((resolve) => other.close(() => resolve()));

    // A socket file nobody listens on: what a program killed with SIGKILL leaves behind.
    const stale = join(dir, 'stale.sock');
    const first = await serveInspector(loop, { path: stale });
    await assert.rejects(serveInspector(loop, { path: stale }), /in use by a running program/);
    await first.close();
    await killedListener(stale);
    assert.equal(statSync(stale).isSocket(), true);
    const third = await serveInspector(loop, { path: stale });
    const client = await RawClient.connect({ path: stale });
    assert.equal((await client.request({ cmd: 'tree' })).ok, true);
    client.socket.destroy();
    await third.close();
  } finally {
    assertLoopClean(loop);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad requests get an error naming what was wrong, and the connection stays usable', async () => {
  await withEndpoint('guest', (dir) => ({ path: join(dir, 'bad.sock') }), async ({ handle }) => {
    const client = await RawClient.connect({ path: handle.path as string });
    await settled(client);
    const log = new Log();
    const errorOf = async (line: string): Promise<void> => {
      client.send(line);
      const reply = await client.next();
      assert.ok(reply !== null && reply.ok === false, `expected an error for ${line.slice(0, 60)}`);
      log.push(`${String(reply.id)}: ${reply.error}`);
    };
    await errorOf('not json\n');
    await errorOf('[1,2]\n');
    await errorOf('{"id":1,"cmd":"wehre"}\n');
    await errorOf('{"id":2,"cmd":"where"}\n');
    await errorOf('{"id":3,"cmd":"ps","taks":1}\n');
    await errorOf('{"id":4,"cmd":"cancel","task":"twin"}\n');
    await errorOf('{"id":5,"cmd":"where","task":"nobody"}\n');
    await errorOf('{"id":"six","cmd":"cancel","task":7,"reason":5}\n');
    await errorOf(`{"id":7,"cmd":"ps","pad":"${'x'.repeat(MAX_REQUEST_LINE_CHARS)}"}\n`);
    const twins = (await client.ok<PsResult>({ cmd: 'ps' })).tasks.filter((task) => task.name === 'twin').map((task) => `#${task.id}`);
    log.assert([
      'null: request is not valid JSON (' + jsonError('not json') + ')',
      'null: request must be a JSON object like {"id":1,"cmd":"ps"}, got [1,2]',
      '1: unknown cmd "wehre"; expected one of ps, tree, where, cancel, warnings, auth',
      '2: where: task must be a task id (7 or "#7") or a task name, got undefined',
      '3: unknown field "taks" for ps (it takes task)',
      `4: task name "twin" is ambiguous: ${twins.join(', ')}; name the task by its id`,
      '5: no pending task "nobody" (5 pending: it finished, or never existed)',
      'six: cancel: reason must be a string of at most 1000 characters, got 5',
      `null: request line longer than ${MAX_REQUEST_LINE_CHARS} characters; discarded`,
    ]);
    // Still usable, and nothing was cancelled.
    const ps = await client.ok<PsResult>({ cmd: 'ps' });
    assert.deepEqual(
      ps.tasks.map((task) => task.cancelling),
      [0, 0, 0, 0, 0],
    );
    client.socket.destroy();
  });
});

/** Leaves a socket file at `path` with nobody listening: a child binds it and is killed with SIGKILL. */
async function killedListener(path: string): Promise<void> {
  const source = `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`;
  await new Promise<void>((resolve) => execFile(process.execPath, ['-e', source], () => resolve()));
}

function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  return '';
}

test('where gives the await tree and the file:line where the task is paused, in this test file', async () => {
  await withEndpoint('guest', (dir) => ({ path: join(dir, 'w.sock') }), async ({ handle }) => {
    const client = await RawClient.connect({ path: handle.path as string });
    await settled(client);
    const where = await client.ok<WhereResult>({ cmd: 'where', task: 'locked' });
    assert.equal(where.task.name, 'locked');
    const mainName = where.tree.split('\n')[0]?.split(' ')[0];
    assert.match(where.tree, new RegExp(`^${mainName} #\\d+ \\(waiting on Future #\\d+\\)\\n└── locked #\\d+ \\(waiting on Lock\\.acquire\\(\\)\\)$`));
    assert.equal(where.locationNote, null);
    assert.match(where.location as string, /test\/inspect\/endpoint\.test\.ts:\d+:\d+/);
    const tree = await client.ok<{ text: string }>({ cmd: 'tree' });
    const lines = tree.text.split('\n').map((line) => line.replace(/#\d+/g, '#N').replace(/\+[\d.]+ ms/, '+T ms'));
    assert.deepEqual(lines.slice(0, 3), ['main #N (waiting on Future #N)', '├── locked #N (waiting on Lock.acquire())', '├── ticker #N (waiting on Event.wait())']);
    // The twins' real-clock deadlines may or may not be equal to the tenth of a ms (equal ones are grouped).
    const twins = lines.slice(3).join('\n');
    assert.ok(
      twins === '└── 2 × twin (waiting on sleep, deadline +T ms)' || twins === '├── twin #N (waiting on sleep, deadline +T ms)\n└── twin #N (waiting on sleep, deadline +T ms)',
      twins,
    );
    client.socket.destroy();
  });
});

test('TCP: only loopback hosts; every connection must send the token first, else it is refused and closed', async () => {
  const loop = createNodeLoop();
  await assert.rejects(serveInspector(loop, { port: 0, host: '0.0.0.0' }), (error: Error) => error instanceof RangeError && /loopback/.test(error.message));
  await assert.rejects(serveInspector(loop, { port: 70000 }), RangeError);
  await assert.rejects(serveInspector(loop, { path: '/x', port: 1 } as InspectorOptions), /either \{path\}/);
  assertLoopClean(loop);

  await withEndpoint('guest', () => ({ port: 0 }), async ({ handle }) => {
    assert.equal(handle.path, null);
    assert.match(handle.token as string, /^[0-9a-f]{48}$/);
    assert.equal(handle.address, `127.0.0.1:${handle.port}`);
    const port = handle.port as number;

    const anonymous = await RawClient.connect({ port });
    const refused = await anonymous.request({ cmd: 'ps' });
    assert.deepEqual([refused.ok, refused.error], [false, 'authentication required: send {"cmd":"auth","token":"…"} first']);
    await withWatchdog(anonymous.closed, 'the endpoint closing an unauthenticated connection', () => {}, LIMIT_MS);

    const wrong = await RawClient.connect({ port });
    const denied = await wrong.request({ cmd: 'auth', token: 'f'.repeat(48) });
    assert.deepEqual([denied.ok, denied.error], [false, 'auth: wrong token']);
    await withWatchdog(wrong.closed, 'the endpoint closing after a wrong token', () => {}, LIMIT_MS);

    const client = await RawClient.connect({ port });
    assert.deepEqual(await client.ok({ cmd: 'auth', token: handle.token }), { authenticated: true });
    await settled(client);
    client.socket.destroy();
  });
});

test('clients beyond maxClients are told so and disconnected; the ones connected keep being served', async () => {
  await withEndpoint('guest', (dir) => ({ path: join(dir, 'm.sock'), maxClients: 1 }), async ({ handle }) => {
    const first = await RawClient.connect({ path: handle.path as string });
    await settled(first);
    const second = await RawClient.connect({ path: handle.path as string });
    const reply = await second.next();
    assert.deepEqual(reply, { id: null, ok: false, error: 'too many console clients (at most 1)' });
    await withWatchdog(second.closed, 'the endpoint closing the extra client', () => {}, LIMIT_MS);
    assert.equal((await first.request({ cmd: 'warnings' })).ok, true);
    first.socket.destroy();
    await first.closed;
    // Its slot is free again (the endpoint sees the close on its side a little later).
    await eventually('a slot after the first client left', async () => {
      const third = await RawClient.connect({ path: handle.path as string });
      third.send('{"id":1,"cmd":"tree"}\n');
      const answer = await third.next();
      third.socket.destroy();
      return answer?.ok === true ? answer : undefined;
    });
  });
});

test('clients that reset mid-request, or send half a line and vanish, do not disturb the program', async () => {
  await withEndpoint('guest', () => ({ port: 0 }), async ({ program, handle }) => {
    const port = handle.port as number;
    for (let i = 0; i < 3; i++) {
      const rude = await RawClient.connect({ port });
      rude.send(`{"id":1,"cmd":"auth","token":"${handle.token}"}\n{"id":2,"cmd":"ps"}\n{"id":3,"cmd":"tr`);
      rude.socket.resetAndDestroy();
    }
    const vanishing = await RawClient.connect({ port });
    vanishing.send('{"id":1,"cmd":"au');
    vanishing.socket.destroy();
    const client = await RawClient.connect({ port });
    await client.ok({ cmd: 'auth', token: handle.token });
    await settled(client);
    program.stop.setResult();
    assert.deepEqual(await program.done, ['locked finished', 'ticker cancelled', 'twin cancelled', 'twin cancelled']);
    client.socket.destroy();
  });
});

test('the default socket lives in $TMPDIR/eventide-UID, which must be private: a group- or world-accessible one is refused', async () => {
  const dir = scratchDir();
  const savedTmp = process.env['TMPDIR'];
  process.env['TMPDIR'] = dir; // os.tmpdir() reads it on every call
  const loop = createNodeLoop();
  try {
    const own = join(dir, `eventide-${process.getuid?.() ?? 'user'}`);
    mkdirSync(own, { mode: 0o755 });
    chmodSync(own, 0o755);
    await assert.rejects(serveInspector(loop), (error: Error & { code?: string }) => error.code === 'EPERM' && /mode 0700/.test(error.message));
    chmodSync(own, 0o700);
    const handle = await serveInspector(loop);
    assert.equal(handle.path, join(own, `${process.pid}.sock`));
    assert.equal(handle.path, defaultInspectorPath());
    assert.equal(statSync(handle.path).mode & 0o777, 0o600);
    await handle.close();
    assert.equal(existsSync(handle.path), false);
  } finally {
    if (savedTmp === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = savedTmp;
    assertLoopClean(loop);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('defaultInspectorPath is per user and per pid under the temporary directory', () => {
  assert.equal(defaultInspectorPath(4242), join(tmpdir(), `eventide-${process.getuid?.() ?? 'user'}`, '4242.sock'));
  assert.equal(defaultInspectorPath(), join(tmpdir(), `eventide-${process.getuid?.() ?? 'user'}`, `${process.pid}.sock`));
  assert.throws(() => defaultInspectorPath(0), RangeError);
});
