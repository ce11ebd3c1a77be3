/**
 * The programs the README tells readers to run: the demo behind `npm run
 * demo` (examples/demo.ts) and the I/O examples (echo-server,
 * echo-protocol, chat, pipes), each as its own process in its demo mode:
 * it must exit 0 and print what it promises. Nothing checks speed: lines
 * with timings are only matched for their shape.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'node:test';

const execFileAsync = promisify(execFile);

/** Runs dist/examples/NAME.js and returns its stdout as lines (stderr must be empty). */
async function runExample(name: string): Promise<string[]> {
  const file = fileURLToPath(new URL(`../../examples/${name}.js`, import.meta.url));
  const { stdout, stderr } = await execFileAsync(process.execPath, [file], { timeout: 60_000 });
  assert.equal(stderr, '', `${name} wrote to stderr`);
  return stdout.trimEnd().split('\n');
}

/** Asserts `lines` match `patterns` one for one, in order. */
function assertLines(lines: string[], patterns: RegExp[]): void {
  assert.equal(lines.length, patterns.length, `expected ${patterns.length} lines, got:\n${lines.join('\n')}`);
  patterns.forEach((pattern, index) => assert.match(lines[index] as string, pattern, `line ${index + 1}`));
}

const T = { timeout: 90_000 };

test('examples/demo (npm run demo): each of its six parts prints what it shows, in order, and every loop is closed at the end', T, async () => {
  const ms = String.raw`\[ *\d+\.\d ms\]`;
  assertLines(await runExample('demo'), [
    /^eventide demo: one loop — a ready queue, a timer heap, a selector; tasks are generators$/,
    /^$/,
    /^1\. Timers fire in deadline order, equal deadlines in scheduling order$/,
    new RegExp(`^  ${ms} timer A \\(10 ms\\)$`),
    new RegExp(`^  ${ms} timer B1 \\(20 ms\\)$`),
    new RegExp(`^  ${ms} timer B2 \\(20 ms\\)$`),
    new RegExp(`^  ${ms} timer C \\(30 ms\\)$`),
    /^$/,
    /^2\. Tasks wait on futures; every resumption goes through the ready queue$/,
    new RegExp(`^  ${ms} consumer: waiting for the answer$`),
    new RegExp(`^  ${ms} producer: setting the answer$`),
    new RegExp(`^  ${ms} consumer: got 21$`),
    new RegExp(`^  ${ms} main: consumer returned 42$`),
    /^$/,
    /^3\. Cancellation is delivered at the exact yield\* where a task waits$/,
    new RegExp(`^  ${ms} sleeper: going to sleep for 10 s$`),
    new RegExp(`^  ${ms} sleeper: cancelled \\("no time to sleep"\\), cleaning up$`),
    new RegExp(`^  ${ms} main: sleeper ended with CancelledError; signal\\.aborted = true$`),
    /^$/,
    /^4\. A critical task overtakes a flood of normal work$/,
    new RegExp(`^  ${ms} flood of 2000 tasks x 2 steps of 50 µs finished$`),
    new RegExp(`^  ${ms} critical monitor woke \\d+\\.\\d+ ms after its deadline$`),
    new RegExp(`^  ${ms} normal monitor woke +\\d+\\.\\d+ ms after its deadline \\(queued behind the flood\\)$`),
    /^$/,
    /^5\. Native promises and Node APIs keep working inside the loop$/,
    new RegExp(`^  ${ms} read this demo's own compiled source with fs\\.promises: \\d+ bytes$`),
    new RegExp(`^  ${ms} async function awaited the future: "hello from the loop"$`),
    new RegExp(`^  ${ms} Node setTimeout fired$`),
    /^$/,
    /^6\. Virtual time: the same code, an hour of sleeps, no waiting$/,
    /^  60 sleeps of one minute: 60 virtual minutes in \d+\.\d real ms$/,
    /^$/,
    /^Done: every loop closed, nothing left scheduled\.$/,
  ]);
});

test('examples/echo-server: a client sends three lines and gets each back; both sides close', T, async () => {
  assertLines(await runExample('echo-server'), [
    /^server: listening on 127\.0\.0\.1:\d+$/,
    /^server: \["127\.0\.0\.1",\d+\] connected$/,
    /^client: sent "hello", got back "hello"$/,
    /^client: sent "eventide", got back "eventide"$/,
    /^client: sent "streams", got back "streams"$/,
    /^server: \["127\.0\.0\.1",\d+\] said goodbye$/,
    /^client: server closed \(0 more bytes\)$/,
    /^done$/,
  ]);
});

test('examples/echo-protocol: 10,000 round trips of 1 KiB, every byte echoed', T, async () => {
  assertLines(await runExample('echo-protocol'), [
    /^server: listening on 127\.0\.0\.1:\d+$/,
    /^server: connection from \["127\.0\.0\.1",\d+\]$/,
    /^client: 10000 round trips of 1 KiB \(10240000 bytes echoed\) in \d+ ms: \d+ req\/s$/,
    /^server: connection closed$/,
    /^done$/,
  ]);
});

test('examples/chat: alice reads all of bob\'s lines; the member who never reads is dropped', T, async () => {
  assertLines(await runExample('chat'), [
    /^chat: listening on 127\.0\.0\.1:\d+$/,
    /^chat: alice read 3000 of bob's 3000 lines; disconnected for not reading: slowpoke$/,
    /^done$/,
  ]);
});

test('examples/pipes: the child is fed faster than it reads (pauseWriting, then resumeWriting) and every byte comes back', T, async () => {
  assertLines(await runExample('pipes'), [
    /^writer: pauseWriting \(the child reads slower than we write\)$/,
    /^writer: 20000 lines written, \d+ bytes still queued \(a pipe holds 64 KiB\)$/,
    /^writer: resumeWriting$/,
    /^reader: end of file \(the child closed its stdout\)$/,
    /^reader: 880000 bytes back, first line: THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG$/,
    /^child exited with code 0$/,
  ]);
});
