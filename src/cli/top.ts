/**
 * `eventide top TARGET`: the live console in a terminal, in the spirit of
 * tokio-console. Raw ANSI, no dependencies: the alternate screen, the
 * cursor hidden, stdin in raw mode; a `ps` request about once a second
 * (the next one is asked for when the last reply is drawn, so a slow
 * program never gets a pile of requests), and a redraw on every reply,
 * key and resize (SIGWINCH). The layout is top-view.ts.
 *
 * Keys: ↑/↓ or k/j select a task (its await tree is shown below the
 * table), PgUp/PgDn, Home/End (g/G); `q` or Ctrl-C quit.
 *
 * Leaving always restores the terminal — on `q`, Ctrl-C, SIGINT, SIGTERM,
 * SIGHUP, an error, or the program going away — and is idempotent.
 * Exit status: 0 when the user quits, 1 when the program went away.
 */
import type { PsResult } from '../inspect/endpoint-protocol.js';
import { InspectorClient, type InspectTarget } from './inspector-client.js';
import { frameText, moveSelection, readKeys, renderTop, sortRows, type TopKey } from './top-view.js';

const ENTER_SCREEN = '\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J';
const LEAVE_SCREEN = '\x1b[?25h\x1b[?1049l';

/** Default time between refreshes (ms). */
export const TOP_REFRESH_MS = 1000;

/**
 * Runs the console on this process's terminal until the user quits (0) or
 * the program goes away (1). Throws, before touching the terminal, when
 * stdin/stdout are not a terminal or nothing listens at `target`.
 *
 * @example
 * process.exitCode = await runTop(parseTarget('4242', null));
 */
export async function runTop(target: InspectTarget, refreshMs: number = TOP_REFRESH_MS): Promise<number> {
  const { stdin, stdout } = process;
  if (!stdin.isTTY || !stdout.isTTY) throw new Error('eventide top: needs a terminal (stdin and stdout); for a one-shot listing use `eventide ps TARGET`');
  const client = await InspectorClient.connect(target);
  return new Promise<number>((resolve) => new TopSession(client, refreshMs, resolve).start());
}

class TopSession {
  readonly #client: InspectorClient;
  readonly #refreshMs: number;
  readonly #done: (code: number) => void;
  #snapshot: PsResult | null = null;
  #selectedId: number | null = null;
  #scroll = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #fetching = false;
  #fetchAgain = false;
  #finished = false;

  constructor(client: InspectorClient, refreshMs: number, done: (code: number) => void) {
    this.#client = client;
    this.#refreshMs = refreshMs;
    this.#done = done;
  }

  readonly #onInput = (chunk: string): void => {
    for (const key of readKeys(chunk)) this.#onKey(key);
  };
  readonly #onResize = (): void => this.#draw();
  readonly #onSignal = (): void => this.#finish(0);
  readonly #onExit = (): void => {
    if (!this.#finished) process.stdout.write(LEAVE_SCREEN);
  };

  start(): void {
    const { stdin, stdout } = process;
    stdout.write(ENTER_SCREEN);
    stdin.setRawMode(true);
    stdin.setEncoding('utf8');
    stdin.on('data', this.#onInput);
    stdin.resume();
    stdout.on('resize', this.#onResize);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, this.#onSignal);
    process.on('exit', this.#onExit);
    void this.#client.closed.then(() => this.#finish(1, `eventide top: ${this.#client.target.label} went away (the program ended or closed its inspector)`));
    this.#draw();
    this.#fetch();
  }

  #onKey(key: TopKey): void {
    if (key === 'quit') return this.#finish(0);
    const rows = this.#snapshot === null ? [] : sortRows(this.#snapshot.tasks);
    const page = Math.max(1, process.stdout.rows - 12);
    const delta = { up: -1, down: 1, pageUp: -page, pageDown: page, home: -rows.length, end: rows.length }[key];
    const before = this.#selectedId;
    this.#selectedId = moveSelection(rows, this.#selectedId, delta);
    this.#draw();
    if (this.#selectedId !== before) this.#fetch(); // the new selection's await tree
  }

  /** Asks for a snapshot now, unless one is on its way (then once more when it lands). */
  #fetch(): void {
    if (this.#finished) return;
    if (this.#fetching) {
      this.#fetchAgain = true;
      return;
    }
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#fetching = true;
    const request = this.#selectedId === null ? { cmd: 'ps' } : { cmd: 'ps', task: this.#selectedId };
    this.#client.request<PsResult>(request).then(
      (snapshot) => {
        this.#fetching = false;
        this.#snapshot = snapshot;
        if (this.#selectedId === null || !snapshot.tasks.some((row) => row.id === this.#selectedId)) {
          const first = sortRows(snapshot.tasks)[0]?.id ?? null;
          const changed = first !== this.#selectedId;
          this.#selectedId = first;
          if (changed && first !== null) this.#fetchAgain = true; // its tree was not asked for
        }
        this.#draw();
        if (this.#fetchAgain) {
          this.#fetchAgain = false;
          this.#fetch();
        } else if (!this.#finished) {
          this.#timer = setTimeout(() => this.#fetch(), this.#refreshMs);
        }
      },
      () => {
        // A closed connection ends the session (`closed`); an error reply is retried.
        this.#fetching = false;
        if (!this.#finished) this.#timer = setTimeout(() => this.#fetch(), this.#refreshMs);
      },
    );
  }

  #draw(): void {
    if (this.#finished) return;
    const { stdout } = process;
    const height = stdout.rows || 24;
    const frame = renderTop({
      snapshot: this.#snapshot,
      selectedId: this.#selectedId,
      scroll: this.#scroll,
      width: stdout.columns || 80,
      height,
      target: this.#client.target.label,
    });
    this.#scroll = frame.scroll;
    stdout.write(frameText(frame.lines, height));
  }

  #finish(code: number, message?: string): void {
    if (this.#finished) return;
    this.#finished = true;
    const { stdin, stdout } = process;
    if (this.#timer !== null) clearTimeout(this.#timer);
    stdin.off('data', this.#onInput);
    stdout.off('resize', this.#onResize);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(signal, this.#onSignal);
    process.off('exit', this.#onExit);
    if (stdin.isTTY) stdin.setRawMode(false);
    stdin.pause();
    stdout.write(LEAVE_SCREEN);
    this.#client.close();
    if (message !== undefined) process.stderr.write(`${message}\n`);
    this.#done(code);
  }
}
