/**
 * Helpers for the Node host tests (not a test file): a watchdog that turns
 * "never woke up" into a failure, a Future for "fd becomes readable", a
 * host wrapper that logs waits, and child-process runners.
 *
 * The watchdog is the only wall-clock bound these tests use, and it is
 * generous (5 s): the assertions are about order and completion, never
 * about speed.
 */
import { spawn } from 'node:child_process';
import type { LoopHost } from '../../src/core/host.js';
import type { NodeHostMode } from '../../src/hosts/node.js';
import type { EventLoop } from '../../src/tasks/event-loop.js';
import type { Future } from '../../src/tasks/future.js';

export const MODES: readonly NodeHostMode[] = ['guest', 'blocking'];

export const WATCHDOG_MS = 5000;

/**
 * Resolves as `work` does; rejects if it has not settled within `limitMs`,
 * after calling `unwind` (e.g. loop.stop()) so the test can end cleanly.
 */
export async function withWatchdog<T>(work: Promise<T>, what: string, unwind: () => void = () => {}, limitMs = WATCHDOG_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      unwind();
      reject(new Error(`${what} did not finish within ${limitMs} ms: something did not wake up`));
    }, limitMs);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** A Future resolved (on the loop) the first time `fd` is readable; the reader is removed then. */
export function readable(loop: EventLoop, fd: number): Future<void> {
  const future = loop.createFuture<void>();
  loop.addReader(fd, () => {
    loop.removeReader(fd);
    if (!future.done()) future.setResult();
  });
  return future;
}

/** A LoopHost that delegates to `host` and calls `onWait` / `onWoken` around each wait. */
export function spyHost(host: LoopHost, onWait: (timeoutMs: number) => void, onWoken: () => void): LoopHost {
  return {
    wait: (timeoutMs) => {
      onWait(timeoutMs);
      return host.wait(timeoutMs).then(onWoken);
    },
    wake: () => host.wake(),
    yieldToHost: () => host.yieldToHost(),
    shouldYield: () => host.shouldYield(),
    close: () => host.close(),
  };
}

/**
 * What a child process imports (compiled): the Node hosts module (run,
 * createNodeLoop) and the operations (sleep). Not the 'eventide/node'
 * entry point, so these tests do not depend on everything else it exports.
 */
export const NODE_HOSTS_URL = new URL('../../src/hosts/node.js', import.meta.url).href;
export const OPERATIONS_URL = new URL('../../src/tasks/operation.js', import.meta.url).href;
/** The native syscalls module and the plain EventLoop (with GlobalTimersHost), for children that need them. */
export const SYSCALLS_URL = new URL('../../src/io/syscalls.js', import.meta.url).href;
export const EVENT_LOOP_URL = new URL('../../src/tasks/event-loop.js', import.meta.url).href;

/**
 * Runs `source` (an ES module that may import NODE_HOSTS_URL) in a child
 * Node process and returns its stdout; rejects if it fails or is still
 * running after the watchdog (then it is killed).
 */
export function runChild(source: string, env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', source], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child process still running after ${WATCHDOG_MS} ms (something keeps it alive or it hung)\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, WATCHDOG_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`child process failed (code ${code}, signal ${signal})\nstdout: ${stdout}\nstderr: ${stderr}`));
    });
  });
}

/** How a child run by runAndInterrupt ended, and what it printed. */
export interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
}

/** Runs `program` (an ES module's text) in a child; once it prints "started", sends `sigints` SIGINTs ~100 ms apart. */
export function runAndInterrupt(program: string, sigints: number): Promise<Ended> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', program], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const first = !stdout.includes('started');
      stdout += chunk.toString();
      if (first && stdout.includes('started')) {
        for (let i = 0; i < sigints; i++) setTimeout(() => child.kill('SIGINT'), 100 * i);
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout }));
  });
}
