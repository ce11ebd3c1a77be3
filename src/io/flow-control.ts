/**
 * Write flow control, shared by every transport that buffers writes
 * (asyncio's _FlowControlMixin): the write buffer's water marks and the
 * protocol's pauseWriting()/resumeWriting() calls they trigger.
 *
 * Invariant: `pauseWriting()` and `resumeWriting()` alternate, starting
 * with pause: the protocol is paused once the buffer grows above `high`
 * and resumed once it drains to `low` or below. A protocol method that
 * throws is reported, and the state still changes (the buffer does not
 * care whether the protocol listened).
 */
import { resolveWaterMarks } from './transport.js';

/** What the transport supplies: the current protocol (it may be replaced) and an error reporter. */
export interface FlowControlOwner {
  readonly protocol: { pauseWriting?(): void; resumeWriting?(): void };
  report(message: string, exception: unknown): void;
}

export class WriteFlowControl {
  readonly #owner: FlowControlOwner;
  #low: number;
  #high: number;
  #paused = false;

  constructor(owner: FlowControlOwner, who: string) {
    this.#owner = owner;
    [this.#low, this.#high] = resolveWaterMarks(undefined, undefined, who);
  }

  /** `[low, high]`, as `getWriteBufferLimits()` returns them. */
  get limits(): [low: number, high: number] {
    return [this.#low, this.#high];
  }

  /**
   * Sets the water marks from setWriteBufferLimits' arguments, either form
   * (asyncio's defaults and checks; see resolveWaterMarks), then re-checks
   * `bufferSize`. Bad arguments throw and change nothing.
   */
  setLimits(highOrLimits: unknown, low: unknown, who: string, bufferSize: number): void {
    [this.#low, this.#high] = resolveWaterMarks(highOrLimits, low, who);
    this.maybePause(bufferSize);
  }

  /** After the buffer grew: pauses the protocol once it is above the high mark. */
  maybePause(bufferSize: number): void {
    if (this.#paused || bufferSize <= this.#high) return;
    this.#paused = true;
    try {
      this.#owner.protocol.pauseWriting?.();
    } catch (exception) {
      this.#owner.report('protocol.pauseWriting() failed', exception);
    }
  }

  /** After the buffer drained: resumes the protocol once it is at the low mark or below. */
  maybeResume(bufferSize: number): void {
    if (!this.#paused || bufferSize > this.#low) return;
    this.#paused = false;
    try {
      this.#owner.protocol.resumeWriting?.();
    } catch (exception) {
      this.#owner.report('protocol.resumeWriting() failed', exception);
    }
  }
}
