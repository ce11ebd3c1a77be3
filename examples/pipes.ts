/**
 * Pipe transports (asyncio's connect_read_pipe / connect_write_pipe): a
 * child process (`tr a-z A-Z`) is fed through one pipe and read through
 * another, both watched by the loop's own epoll, while Node's
 * child_process only starts and reaps the child. The writer sends more
 * than a pipe holds, so back-pressure shows: pauseWriting when its queue
 * passes the high water mark, resumeWriting once the child has caught up.
 *
 *   node dist/examples/pipes.js
 */
import { spawn } from 'node:child_process';
import {
  closeFd,
  getRunningLoop,
  openPipe,
  run,
  until,
  type ReadPipeProtocol,
  type WritePipeProtocol,
} from '../src/node.js';

/** Counts what the child writes back and keeps its first line. */
class Output implements ReadPipeProtocol {
  bytes = 0;
  firstLine = '';
  readonly done = getRunningLoop().createFuture<void>();

  dataReceived(data: Buffer): void {
    if (this.bytes === 0) this.firstLine = data.toString('utf8', 0, Math.max(0, data.indexOf(10)));
    this.bytes += data.length;
  }

  eofReceived(): void {
    console.log('reader: end of file (the child closed its stdout)');
  }

  connectionLost(): void {
    this.done.setResult();
  }
}

/** Logs the writer's flow-control calls. */
class Input implements WritePipeProtocol {
  pauseWriting(): void {
    console.log('writer: pauseWriting (the child reads slower than we write)');
  }

  resumeWriting(): void {
    console.log('writer: resumeWriting');
  }
}

await run(function* () {
  const loop = getRunningLoop();
  const [childStdin, toChild] = openPipe(); // close-on-exec: the child gets only what stdio passes
  const [fromChild, childStdout] = openPipe();
  const child = spawn('tr', ['a-z', 'A-Z'], { stdio: [childStdin, childStdout, 'inherit'] });
  // The child has its own copies; ours must go, or the reader would never see end of file.
  closeFd(childStdin);
  closeFd(childStdout);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

  const [, output] = yield* loop.connectReadPipe(() => new Output(), fromChild);
  const [input] = yield* loop.connectWritePipe(() => new Input(), toChild);
  const line = Buffer.from('the quick brown fox jumps over the lazy dog\n');
  const lines = 20_000;
  for (let i = 0; i < lines; i++) input.write(line);
  console.log(`writer: ${lines} lines written, ${input.getWriteBufferSize()} bytes still queued (a pipe holds 64 KiB)`);
  input.close(); // flushes the queue, then closes: the child sees end of file

  yield* output.done;
  console.log(`reader: ${output.bytes} bytes back, first line: ${output.firstLine}`);
  console.log(`child exited with code ${yield* until(exited)}`);
});
