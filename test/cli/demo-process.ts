/**
 * Helpers for the console tests (not a test file): examples/console-demo
 * run under `eventide run` in a child process, with the inspector on.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The compiled `eventide` command. */
export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** The compiled demo program. */
export const DEMO = fileURLToPath(new URL('../../examples/console-demo.js', import.meta.url));
/** The generous bound on anything the tests wait for (a loaded machine is slow, not wrong). */
export const LIMIT_MS = 20_000;
/** The demo's tasks, in creation (id) order. */
export const DEMO_TASKS = ['main', 'valve-monitor', 'producer', 'worker-1', 'worker-2', 'worker-3', 'compactor', 'logger', 'shutdown-watch'];

/** The demo under `eventide run`, once it has said where its inspector is. */
export interface Demo {
  child: ChildProcess;
  stderr(): string;
  /** Its exit status (128 if killed by a signal). */
  exited: Promise<number>;
}

/** Starts the demo with `args` and `env`; resolves once stderr names the inspector. */
export async function startDemo(args: string[], env: Record<string, string> = {}): Promise<Demo> {
  const child = spawn(process.execPath, [CLI, 'run', DEMO, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 128)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo did not announce its inspector within ${LIMIT_MS} ms; stderr: ${stderr}`)), LIMIT_MS);
    child.stderr?.on('data', (chunk: string) => {
      stderr += chunk;
      if (/inspector on .*\n/.test(stderr)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited (${code}) before serving; stderr: ${stderr}`));
    });
  });
  return { child, stderr: () => stderr, exited };
}

/** Ends the demo if a test left it running. */
export async function stopDemo(demo: Demo): Promise<void> {
  if (demo.child.exitCode === null && demo.child.signalCode === null) demo.child.kill('SIGKILL');
  await demo.exited;
}
