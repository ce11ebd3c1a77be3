/**
 * The I/O examples the README tells readers to run (examples/echo-server,
 * echo-protocol, chat, pipes), each as its own process in its demo mode:
 * it must exit 0 and print what its header promises. Nothing checks
 * speed; the req/s line is only matched for its shape.
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
