import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WriteFlowControl } from '../../src/io/flow-control.js';

function owner(log: string[], throwing = false) {
  return {
    protocol: {
      pauseWriting: () => {
        log.push('pause');
        if (throwing) throw new Error('boom');
      },
      resumeWriting: () => void log.push('resume'),
    },
    report: (message: string, exception: unknown) => void log.push(`report ${message}: ${(exception as Error).message}`),
  };
}

test('pauses once above the high mark and resumes once at the low mark, alternating', () => {
  const log: string[] = [];
  const flow = new WriteFlowControl(owner(log), 'Test');
  flow.setLimits({ high: 100, low: 10 }, undefined, 'Test.setLimits', 0);
  flow.maybePause(100); // at high: not above
  flow.maybePause(101);
  flow.maybePause(500); // already paused
  flow.maybeResume(11); // above low
  flow.maybeResume(10);
  flow.maybeResume(0); // already resumed
  assert.deepEqual(log, ['pause', 'resume']);
  assert.deepEqual(flow.limits, [10, 100]);
});

test('defaults are asyncio\'s (64 KiB, high / 4); bad limits are a RangeError naming the caller; new limits re-check the buffer', () => {
  const log: string[] = [];
  const flow = new WriteFlowControl(owner(log), 'Test');
  assert.deepEqual(flow.limits, [16 * 1024, 64 * 1024]);
  assert.throws(() => flow.setLimits({ high: 1, low: 2 }, undefined, 'Test.setLimits', 0), /Test\.setLimits: high \(1\) must be >= low \(2\)/);
  flow.setLimits({ high: 8 }, undefined, 'Test.setLimits', 9);
  assert.deepEqual(log, ['pause']);
});

test('a protocol whose pauseWriting throws is reported, and the state still changes', () => {
  const log: string[] = [];
  const flow = new WriteFlowControl(owner(log, true), 'Test');
  flow.setLimits({ high: 4, low: 0 }, undefined, 'Test.setLimits', 0);
  flow.maybePause(5);
  flow.maybePause(6);
  flow.maybeResume(0);
  assert.deepEqual(log, ['pause', 'report protocol.pauseWriting() failed: boom', 'resume']);
});
