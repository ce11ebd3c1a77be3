/**
 * A GTK window under one eventide loop, driven by GLib's main loop
 * (`Gtk.main()`): no loop pumps the other.
 *
 * What runs in the loop, side by side:
 *  - a task that pings a local echo server (which the app starts, on
 *    eventide's own sockets) every 100 ms and shows the round-trip time;
 *  - the "Send" button, read as a stream of 'clicked' signals at
 *    'critical' priority by a task that sends each click over a socket and
 *    shows the echo;
 *  - a background job of 2,000 'low' priority tasks (counting primes),
 *    with a progress bar: the window and the pings stay live throughout.
 * Quit with the Quit button, q or Escape, or by closing the window.
 *
 *   xvfb-run -a node dist/examples/gtk.js     # or with a display: node dist/examples/gtk.js
 *   node dist/examples/gtk.js --trace         # also prints every UI update (the test reads them)
 *
 * Needs node-gtk, built from source as .ci/run does (Debian: apt-get
 * install libgirepository1.0-dev libcairo2-dev gir1.2-gtk-3.0 xvfb xauth;
 * then npm install --no-save --ignore-scripts node-gtk@4.1.1 and, in
 * node_modules/node-gtk, npx node-pre-gyp install --build-from-source).
 */
import { createRequire } from 'node:module';
import {
  ConnectionError,
  Event,
  gather,
  openConnection,
  sleep,
  startServer,
  type Coroutine,
  type StreamReader,
  type StreamWriter,
  type Task,
} from '../src/node.js';
import { GLibLoop, type GLibLike } from '../src/hosts/glib.js';
import { fromSignal, onSignal, type GObjectLike } from '../src/hosts/gobject-signals.js';

// ---- the little of node-gtk this app uses (typed here: node-gtk is optional) ----
interface Widget extends GObjectLike {
  showAll(): void;
  destroy(): void;
  getAllocation(): { x: number; y: number; width: number; height: number };
}
interface Label extends Widget {
  setText(text: string): void;
}
interface Button extends Widget {
  setLabel(text: string): void;
}
interface ProgressBar extends Widget {
  setFraction(fraction: number): void;
  setText(text: string): void;
}
interface Box extends Widget {
  packStart(child: Widget, expand: boolean, fill: boolean, padding: number): void;
}
interface Window extends Widget {
  setDefaultSize(width: number, height: number): void;
  add(child: Widget): void;
  getWindow(): { getOrigin(): [number, number, number] } | null;
}
interface GtkNamespace {
  init(argv: null): void;
  main(): void;
  mainQuit(): void;
  Window: new (props: { title: string }) => Window;
  Box: new (props: { orientation: number; spacing: number; marginStart?: number; marginEnd?: number; marginTop?: number; marginBottom?: number }) => Box;
  Label: new (props: { label: string; xalign?: number }) => Label;
  Button: new (props: { label: string }) => Button;
  ProgressBar: new (props: { showText: boolean }) => ProgressBar;
  Orientation: { VERTICAL: number; HORIZONTAL: number };
}
interface NodeGtk {
  require(namespace: 'Gtk', version: '3.0'): GtkNamespace;
  require(namespace: 'GLib', version: '2.0'): GLibLike;
}

function loadNodeGtk(): NodeGtk {
  try {
    return createRequire(import.meta.url)('node-gtk') as NodeGtk;
  } catch (error) {
    console.error(`gtk example: node-gtk is not installed (${(error as Error).message.split('\n')[0]}).`);
    console.error('Install it as the header of examples/gtk.ts says (GTK 3 headers from Debian, node-gtk built from source).');
    process.exit(2);
  }
}

const trace = process.argv.includes('--trace');
const JOB_TASKS = 2000;
const PING_INTERVAL_MS = 100;
/** GDK key values of q and Escape. */
const QUIT_KEYS = new Set([0x71, 0xff1b]);

/** Prints a UI update when tracing (one line each, for the test). */
function show(kind: string, text: string): void {
  if (trace) console.log(`ui ${kind} ${text}`);
}

if (!process.env['DISPLAY'] && !process.env['WAYLAND_DISPLAY']) {
  console.error('gtk example: no display (DISPLAY is not set); run it as: xvfb-run -a node dist/examples/gtk.js');
  process.exit(2);
}
const gi = loadNodeGtk();
const Gtk = gi.require('Gtk', '3.0');
const GLib = gi.require('GLib', '2.0');
Gtk.init(null);

interface Ui {
  window: Window;
  rtt: Label;
  send: Button;
  echo: Label;
  progress: ProgressBar;
  job: Label;
  quit: Button;
}

function buildWindow(): Ui {
  const window = new Gtk.Window({ title: 'eventide + GTK' });
  window.setDefaultSize(440, 230);
  const box = new Gtk.Box({ orientation: Gtk.Orientation.VERTICAL, spacing: 8, marginStart: 12, marginEnd: 12, marginTop: 12, marginBottom: 12 });
  const ui: Ui = {
    window,
    rtt: new Gtk.Label({ label: 'ping: connecting…', xalign: 0 }),
    send: new Gtk.Button({ label: 'Send' }),
    echo: new Gtk.Label({ label: 'echo: (click Send)', xalign: 0 }),
    progress: new Gtk.ProgressBar({ showText: true }),
    job: new Gtk.Label({ label: `job: ${JOB_TASKS} low-priority tasks`, xalign: 0 }),
    quit: new Gtk.Button({ label: 'Quit' }),
  };
  for (const widget of [ui.rtt, ui.send, ui.echo, ui.progress, ui.job, ui.quit]) box.packStart(widget, false, false, 0);
  window.add(box);
  return ui;
}

/** Where the widgets are on the screen (for the test's clicks and screenshots). */
function layout(ui: Ui): string {
  const [, originX, originY] = ui.window.getWindow()?.getOrigin() ?? [0, 0, 0];
  const rects: Record<string, number[]> = {};
  for (const name of ['window', 'rtt', 'send', 'echo', 'progress', 'job', 'quit'] as const) {
    const { x, y, width, height } = ui[name].getAllocation();
    rects[name] = name === 'window' ? [originX, originY, width, height] : [originX + x, originY + y, width, height];
  }
  return JSON.stringify(rects);
}

/** The echo server's side of a connection: every line straight back. */
function* echoClient(reader: StreamReader, writer: StreamWriter): Coroutine<void> {
  try {
    for (;;) {
      const line = yield* reader.readLine();
      if (line.length === 0) break;
      writer.write(line);
      yield* writer.drain();
    }
  } catch (error) {
    // Quitting cancels a client with a ping in flight: its socket closes with
    // the echo unread, which the kernel turns into a reset. That is the
    // client leaving, not a server error.
    if (!(error instanceof ConnectionError)) throw error;
  } finally {
    writer.close();
  }
}

/** Sends `text` as a line and waits for its echo; resolves to the round trip in ms. */
function* roundTrip(reader: StreamReader, writer: StreamWriter, text: string): Coroutine<number> {
  const startMs = performance.now();
  writer.write(Buffer.from(`${text}\n`));
  yield* writer.drain();
  const reply = (yield* reader.readLine()).toString().trimEnd();
  if (reply !== text) throw new Error(`echo server answered ${JSON.stringify(reply)} to ${JSON.stringify(text)}`);
  return performance.now() - startMs;
}

function* pinger(ui: Ui, host: string, port: number): Coroutine<void> {
  const [reader, writer] = yield* openConnection(host, port);
  try {
    for (let n = 1; ; n++) {
      const rttMs = yield* roundTrip(reader, writer, `ping ${n}`);
      const text = `ping #${n}: ${rttMs.toFixed(2)} ms round trip`;
      ui.rtt.setText(text);
      show('rtt', text);
      yield* sleep(PING_INTERVAL_MS);
    }
  } finally {
    writer.close();
  }
}

function* sender(ui: Ui, host: string, port: number): Coroutine<void> {
  const clicks = fromSignal(ui.send, 'clicked'); // 'critical': handled before queued background work
  const [reader, writer] = yield* openConnection(host, port);
  try {
    for (let n = 1; ; n++) {
      const { done } = yield* clicks.next();
      if (done) return;
      const rttMs = yield* roundTrip(reader, writer, `click ${n}`);
      ui.send.setLabel(`Send (sent ${n})`);
      ui.echo.setText(`echo: "click ${n}" back in ${rttMs.toFixed(2)} ms`);
      show('send', `sent ${n}`);
      show('echo', `click ${n}`);
    }
  } finally {
    clicks.close();
    writer.close();
  }
}

/** One chunk of the background job: the primes in [from, from + 2000). */
function countPrimes(from: number): number {
  let count = 0;
  for (let n = Math.max(2, from); n < from + 2000; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}

function* backgroundJob(ui: Ui): Coroutine<void> {
  const startMs = performance.now();
  let done = 0;
  let primes = 0;
  const chunks: Task<void>[] = [];
  for (let i = 0; i < JOB_TASKS; i++) {
    chunks.push(
      app.loop.createTask(function* (): Coroutine<void> {
        primes += countPrimes(i * 2000);
        done++;
        ui.progress.setFraction(done / JOB_TASKS);
        ui.progress.setText(`${done} / ${JOB_TASKS}`);
        if (done % 100 === 0 || done === JOB_TASKS) show('progress', `${done}/${JOB_TASKS}`);
      }, { name: `chunk ${i}`, priority: 'low' }),
    );
  }
  yield* gather(chunks);
  const text = `job: ${primes} primes below ${JOB_TASKS * 2000} in ${((performance.now() - startMs) / 1000).toFixed(1)} s`;
  ui.job.setText(text);
  show('job', text);
}

const app = new GLibLoop(GLib); // a NodeEventLoop driven by GLib: idle, timeout and fd sources

function* main(): Coroutine<void> {
  const loop = app.loop;
  const server = yield* startServer(echoClient, '127.0.0.1', 0);
  const [host, port] = server.addresses()[0] as [string, number];
  const ui = buildWindow();
  const quit = new Event();
  let destroyed = false;
  onSignal(ui.window, 'destroy', () => {
    destroyed = true;
    quit.set();
  });
  onSignal(ui.quit, 'clicked', () => quit.set());
  onSignal(ui.window, 'key-press-event', ([event]) => {
    if (QUIT_KEYS.has((event as { keyval: number }).keyval)) quit.set();
  }); // 'critical', like every input signal
  const mapped = fromSignal(ui.window, 'map-event');
  ui.window.showAll();

  const tasks = [
    loop.createTask(pinger(ui, host, port), { name: 'pinger', priority: 'high' }),
    loop.createTask(sender(ui, host, port), { name: 'sender', priority: 'critical' }),
    loop.createTask(backgroundJob(ui), { name: 'background job', priority: 'low' }),
  ];
  yield* mapped.next();
  mapped.close();
  yield* sleep(50); // let GTK allocate sizes
  show('layout', layout(ui));

  yield* quit.wait();
  for (const task of tasks) task.cancel();
  const outcomes = yield* gather(tasks, { returnExceptions: true });
  for (const outcome of outcomes) if (outcome instanceof Error && outcome.name !== 'CancelledError') throw outcome;
  server.close();
  yield* server.waitClosed();
  if (!destroyed) ui.window.destroy();
}

app
  .runUntilComplete(main)
  .then(
    () => {
      const stats = app.driver.statistics();
      show('bye', `turns=${stats.turns} checkpointWaits=${app.host.statistics().checkpointWaits}`);
    },
    (error: unknown) => {
      console.error('gtk example failed:', error);
      process.exitCode = 1;
    },
  )
  .finally(() => {
    app.loop.close();
    Gtk.mainQuit();
  });

Gtk.main(); // GLib's loop runs eventide's ticks from here on
