/**
 * TaskGroup / taskGroup. Mirrors CPython's test_asyncio/test_taskgroups.py
 * (the EdgeDB-derived test_taskgroup_NN cases), with asyncio 3.13's rule
 * where an outside cancellation meets child errors (gh-116720): the errors
 * win and the cancellation is kept for the parent's next wait.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CancelledError,
  currentTask,
  RuntimeError,
  sleep,
  TaskGroup,
  taskGroup,
  timeout,
  TimeoutError,
  type Operation,
  type Task,
} from '../../src/index.js';
import { runInVirtualTime } from '../../src/testing.js';
import { Log } from '../log.js';

class ZeroDivisionError extends Error {
  override name = 'ZeroDivisionError';
}
class ValueError extends Error {
  override name = 'ValueError';
}
class MyExc extends Error {
  override name = 'MyExc';
}

/** The names of an AggregateError's errors, in order (nested groups as `[...]`). */
function errorNames(error: unknown): unknown[] {
  assert.ok(error instanceof AggregateError, `expected AggregateError, got ${error}`);
  assert.equal(error.message, 'unhandled errors in a TaskGroup');
  return error.errors.map((e: unknown) => (e instanceof AggregateError ? errorNames(e) : (e as Error).name));
}

/** Waits for `op`; returns what it threw (failing if it did not throw). */
function* thrownBy(op: Operation<unknown>) {
  try {
    yield* op;
  } catch (error) {
    return error;
  }
  return assert.fail('expected an error');
}

function* after<T>(ms: number, value: T) {
  yield* sleep(ms);
  return value;
}

function* nap(ms: number) {
  yield* sleep(ms);
}

function* crashAfter(ms: number, ErrorType: new (message?: string) => Error = ZeroDivisionError) {
  yield* sleep(ms);
  throw new ErrorType(String(ms));
}

test('the group waits for every child; their results are on the tasks (asyncio test_taskgroups: test_taskgroup_01)', async () => {
  await runInVirtualTime(function* (loop) {
    const [t1, t2] = yield* taskGroup(function* (tg) {
      return [tg.createTask(after(100, 42)), tg.createTask(after(200, 11))] as const;
    });
    assert.equal(t1.result(), 42);
    assert.equal(t2.result(), 11);
    assert.equal(loop.time(), 200);
  });
});

test('a child created later in the body is waited for too (asyncio test_taskgroups: test_taskgroup_02)', async () => {
  await runInVirtualTime(function* (loop) {
    let t2: Task<number> | null = null;
    const t1 = yield* taskGroup(function* (tg) {
      const t = tg.createTask(after(100, 42));
      yield* sleep(150);
      t2 = tg.createTask(after(200, 11));
      return t;
    });
    assert.equal(t1.result(), 42);
    assert.equal((t2 as Task<number> | null)?.result(), 11);
    assert.equal(loop.time(), 350);
  });
});

test('a child cancelled explicitly is not an error; the others go on (asyncio test_taskgroups: test_taskgroup_03)', async () => {
  await runInVirtualTime(function* (loop) {
    const [t1, t2] = yield* taskGroup(function* (tg) {
      const first = tg.createTask(after(1000, 42));
      yield* sleep(150);
      first.cancel();
      return [first, tg.createTask(after(200, 11))] as const;
    });
    assert.equal(t1.cancelled(), true);
    assert.equal(t2.result(), 11);
    assert.equal(loop.time(), 350);
  });
});

test('a failing child cancels its siblings; the group throws AggregateError and the code after it does not run (asyncio test_taskgroups: test_taskgroup_04)', async () => {
  await runInVirtualTime(function* (loop) {
    let num = 0;
    let t2Cancelled = false;
    let t2: Task<void> | null = null;
    const runner = loop.createTask(function* () {
      yield* taskGroup(function* (tg) {
        tg.createTask(crashAfter(100));
        t2 = tg.createTask(function* () {
          try {
            yield* sleep(1000);
          } catch (error) {
            t2Cancelled = error instanceof CancelledError;
            throw error;
          }
          num += 1;
        });
      });
      num += 10;
    });
    assert.deepEqual(errorNames(yield* thrownBy(runner)), ['ZeroDivisionError']);
    assert.equal(num, 0);
    assert.equal(t2Cancelled, true);
    assert.equal((t2 as Task<void> | null)?.cancelled(), true);
    assert.equal(loop.time(), 100);
  });
});

test('a failing child cancels the body too, and every failure is collected (asyncio test_taskgroups: test_cancel_children_on_child_error)', async () => {
  await runInVirtualTime(function* (loop) {
    const log = new Log();
    const runner = loop.createTask(function* () {
      yield* taskGroup(function* (tg) {
        tg.createTask(crashAfter(100));
        tg.createTask(crashAfter(100));
        tg.createTask(crashAfter(100));
        tg.createTask(function* () {
          try {
            yield* sleep(5000);
          } catch (error) {
            log.push('sibling cancelled');
            throw error;
          }
        });
        try {
          yield* sleep(10_000);
        } catch (error) {
          log.push(`body cancelled at ${loop.time()}`);
          throw error;
        }
      });
    });
    // Deterministic here: all three fail in the same tick, before the abort.
    assert.deepEqual(errorNames(yield* thrownBy(runner)), ['ZeroDivisionError', 'ZeroDivisionError', 'ZeroDivisionError']);
    // The group cancels the siblings first, then the parent (asyncio's _abort, then parent.cancel()).
    log.assert(['sibling cancelled', 'body cancelled at 100']);
  });
});

test('cancelling the parent cancels the children, waits for them, then propagates its CancelledError (asyncio test_taskgroups: test_cancellation)', async () => {
  await runInVirtualTime(function* (loop) {
    let num = 0;
    function* foo() {
      try {
        yield* sleep(5000);
      } catch (error) {
        num += 1;
        throw error;
      }
    }
    const runner = loop.createTask(function* () {
      yield* taskGroup(function* (tg) {
        for (let i = 0; i < 5; i++) tg.createTask(foo);
      });
    });
    yield* sleep(100);
    assert.equal(runner.done(), false);
    runner.cancel('test');
    const error = yield* thrownBy(runner);
    assert.ok(error instanceof CancelledError);
    assert.equal(error.message, 'test');
    assert.equal(num, 5);
    assert.equal(runner.cancelled(), true);
  });
});

test('cancelling the parent while the body waits cancels body and children (asyncio test_taskgroups: test_taskgroup_07)', async () => {
  await runInVirtualTime(function* (loop) {
    let num = 0;
    const runner = loop.createTask(function* () {
      yield* taskGroup(function* (tg) {
        for (let i = 0; i < 5; i++) {
          tg.createTask(function* () {
            try {
              yield* sleep(5000);
            } catch (error) {
              num += 1;
              throw error;
            }
          });
        }
        try {
          yield* sleep(10_000);
        } catch (error) {
          num += 10;
          throw error;
        }
      });
    });
    yield* sleep(100);
    runner.cancel();
    assert.ok((yield* thrownBy(runner)) instanceof CancelledError);
    assert.equal(num, 15);
  });
});

test('a cancel reaching the body before the children fail stops them: plain CancelledError with its message (asyncio test_taskgroups: test_cancellation_in_body)', async () => {
  await runInVirtualTime(function* (loop) {
    const runner = loop.createTask(function* () {
      yield* taskGroup(function* (tg) {
        for (let i = 0; i < 5; i++) tg.createTask(crashAfter(100));
        yield* sleep(10_000);
      });
    });
    yield* sleep(50);
    runner.cancel('test');
    const error = yield* thrownBy(runner);
    assert.ok(error instanceof CancelledError);
    assert.equal(error.message, 'test');
    assert.equal(loop.time(), 50);
  });
});

test('the body failing after a wait cancels the children; its error is in the AggregateError (asyncio test_taskgroups: test_taskgroup_09)', async () => {
  await runInVirtualTime(function* (loop) {
    const tasks: Task<number>[] = [];
    const error = yield* thrownBy(
      taskGroup(function* (tg) {
        tasks.push(tg.createTask(after(1000, 42)), tg.createTask(after(2000, 11)));
        yield* sleep(100);
        throw new ZeroDivisionError();
      }),
    );
    assert.deepEqual(errorNames(error), ['ZeroDivisionError']);
    assert.deepEqual(tasks.map((t) => t.cancelled()), [true, true]);
    assert.equal(loop.time(), 100);
  });
});

test('the body failing at once cancels children that never started (asyncio test_taskgroups: test_taskgroup_10)', async () => {
  await runInVirtualTime(function* (loop) {
    const log = new Log();
    const tasks: Task<void>[] = [];
    const error = yield* thrownBy(
      taskGroup(function* (tg) {
        tasks.push(tg.createTask(function* () { log.push('started'); }));
        throw new ZeroDivisionError();
      }),
    );
    assert.deepEqual(errorNames(error), ['ZeroDivisionError']);
    assert.equal(tasks[0]?.cancelled(), true);
    log.assert([]);
    assert.equal(loop.time(), 0);
  });
});

test('nested groups: cancelling the parent propagates CancelledError out of both (asyncio test_taskgroups: test_taskgroup_11, test_taskgroup_12)', async () => {
  await runInVirtualTime(function* (loop) {
    for (const outerChild of [false, true]) {
      const runner = loop.createTask(function* () {
        yield* taskGroup(function* (g1) {
          if (outerChild) g1.createTask(nap(10_000));
          yield* taskGroup(function* (g2) {
            for (let i = 0; i < 5; i++) g2.createTask(crashAfter(100));
            yield* sleep(10_000);
          });
        });
      });
      yield* sleep(50);
      runner.cancel();
      assert.ok((yield* thrownBy(runner)) instanceof CancelledError);
      assert.equal(runner.cancelled(), true);
    }
    assert.equal(loop.time(), 100);
  });
});

test('an outer child failing cancels the nested group quietly: only its error is reported (asyncio test_taskgroups: test_taskgroup_13)', async () => {
  await runInVirtualTime(function* (loop) {
    const error = yield* thrownBy(
      taskGroup(function* (g1) {
        g1.createTask(crashAfter(100, ValueError));
        yield* taskGroup(function* (g2) {
          g2.createTask(crashAfter(10_000, ValueError));
        });
      }),
    );
    assert.deepEqual(errorNames(error), ['ValueError']);
    assert.equal(loop.time(), 100);
  });
});

test('a nested group failing nests its AggregateError in the outer one (asyncio test_taskgroups: test_taskgroup_14)', async () => {
  await runInVirtualTime(function* (loop) {
    const error = yield* thrownBy(
      taskGroup(function* (g1) {
        g1.createTask(crashAfter(10_000, ValueError));
        yield* taskGroup(function* (g2) {
          g2.createTask(crashAfter(100, ValueError));
        });
      }),
    );
    assert.deepEqual(errorNames(error), [['ValueError']]);
    assert.equal(loop.time(), 100);
  });
});

test('an outside cancel and a child error together: the AggregateError wins, the cancellation hits the next wait (asyncio test_taskgroups: test_taskgroup_15/16, 3.13 gh-116720)', async () => {
  await runInVirtualTime(function* (loop) {
    const log = new Log();
    const runner = loop.createTask(function* () {
      try {
        yield* taskGroup(function* (g1) {
          g1.createTask(crashAfter(300));
          try {
            yield* sleep(10_000);
          } catch (error) {
            yield* sleep(500); // slow clean-up, interrupted by the child's crash at 300
            throw error;
          }
        });
      } catch (error) {
        log.push(`group: ${JSON.stringify(errorNames(error))} at ${loop.time()}`);
      }
      assert.equal(currentTask()?.cancelling(), 1); // the outside cancel is still pending
      yield* sleep(1); // ... and lands here
      log.push('not reached');
    });
    yield* sleep(100);
    runner.cancel();
    assert.ok((yield* thrownBy(runner)) instanceof CancelledError);
    log.assert(['group: ["ZeroDivisionError"] at 300']);
    assert.equal(loop.time(), 300);
  });
});

test('an empty group whose body is cancelled propagates the CancelledError (asyncio test_taskgroups: test_taskgroup_17)', async () => {
  await runInVirtualTime(function* (loop) {
    let num = 0;
    const runner = loop.createTask(function* () {
      yield* taskGroup(function* () {
        try {
          yield* sleep(10_000);
        } catch (error) {
          num += 10;
          throw error;
        }
      });
    });
    yield* sleep(100);
    runner.cancel();
    assert.ok((yield* thrownBy(runner)) instanceof CancelledError);
    assert.equal(num, 10);
  });
});

test('a body that turns its cancellation into another error: that error, aggregated (asyncio test_taskgroups: test_taskgroup_18)', async () => {
  await runInVirtualTime(function* (loop) {
    let num = 0;
    const runner = loop.createTask(function* () {
      yield* taskGroup(function* () {
        try {
          yield* sleep(10_000);
        } catch {
          num += 10;
          throw new MyExc(); // not a good idea, but supported
        }
      });
    });
    yield* sleep(100);
    runner.cancel();
    assert.deepEqual(errorNames(yield* thrownBy(runner)), ['MyExc']);
    assert.equal(num, 10);
  });
});

test('a child error and the error the body throws while being cancelled are both reported (asyncio test_taskgroups: test_taskgroup_19)', async () => {
  await runInVirtualTime(function* () {
    function* nested() {
      try {
        yield* sleep(10_000);
      } finally {
        throw new MyExc();
      }
    }
    const error = yield* thrownBy(
      taskGroup(function* (tg) {
        tg.createTask(crashAfter(100));
        yield* nested();
      }),
    );
    assert.deepEqual(errorNames(error), ['ZeroDivisionError', 'MyExc']);
  });
});

test('cancelling the parent while only children run: CancelledError, children cancelled (asyncio test_taskgroups: test_taskgroup_22)', async () => {
  await runInVirtualTime(function* (loop) {
    const tasks: Task<number>[] = [];
    const runner = loop.createTask(function* () {
      yield* taskGroup(function* (tg) {
        tasks.push(tg.createTask(after(1000, 42)), tg.createTask(after(2000, 11)));
      });
    });
    yield* sleep(50);
    runner.cancel();
    assert.ok((yield* thrownBy(runner)) instanceof CancelledError);
    assert.deepEqual(tasks.map((t) => t.cancelled()), [true, true]);
    assert.equal(loop.time(), 50);
  });
});

test('size counts the children not yet done (asyncio test_taskgroups: test_taskgroup_23)', async () => {
  await runInVirtualTime(function* (loop) {
    const sizes: number[] = [];
    yield* taskGroup(function* (tg) {
      for (let count = 0; count < 10; count++) {
        yield* sleep(100);
        tg.createTask(nap(300));
        if (count === 5) sizes.push(tg.size);
      }
      yield* sleep(1350);
      sizes.push(tg.size);
    });
    // At 600 ms: the tasks from 400, 500, 600, and the one from 300 whose
    // end (also at 600) the group has not been told about yet.
    assert.deepEqual(sizes, [4, 0]);
    assert.equal(loop.time(), 2350);
  });
});

test('a child may start siblings after the body is done, while the group waits (asyncio test_taskgroups: test_taskgroup_24)', async () => {
  await runInVirtualTime(function* (loop) {
    const log = new Log();
    yield* taskGroup(function* (tg) {
      tg.createTask(function* () {
        yield* sleep(100);
        tg.createTask(function* () { yield* sleep(100); log.push(`a at ${loop.time()}`); });
        tg.createTask(function* () { yield* sleep(200); log.push(`b at ${loop.time()}`); });
      });
    });
    log.assert(['a at 200', 'b at 300']);
  });
});

test('children spawning children until one fails: the abort stops them all (asyncio test_taskgroups: test_taskgroup_25)', async () => {
  await runInVirtualTime(function* (loop) {
    let hydras = 0;
    function* hydra(tg: TaskGroup): Generator<any, void, any> {
      hydras += 1;
      yield* sleep(10);
      tg.createTask(hydra(tg));
      tg.createTask(hydra(tg));
    }
    function* hercules() {
      while (hydras < 10) yield* sleep(15);
      throw new ZeroDivisionError();
    }
    const error = yield* thrownBy(
      taskGroup(function* (tg) {
        tg.createTask(hydra(tg));
        tg.createTask(hercules);
      }),
    );
    assert.deepEqual(errorNames(error), ['ZeroDivisionError']);
    assert.equal(hydras, 31); // 1 + 2 + 4 + 8 + 16: hercules strikes at 45 ms
    assert.equal(loop.time(), 45);
  });
});

test('createTask passes name through and children inherit the parent\'s priority (asyncio test_taskgroups: test_taskgroup_task_name)', async () => {
  await runInVirtualTime(function* (loop) {
    const high = loop.createTask(
      function* () {
        return yield* taskGroup(function* (tg) {
          const named = tg.createTask(nap(0), { name: 'yolo' });
          const low = tg.createTask(nap(0), { priority: 'low' });
          return [named.name, named.priority, low.priority];
        });
      },
      { priority: 'high' },
    );
    assert.deepEqual(yield* high, ['yolo', 'high', 'low']);
  });
});

test('createTask before the group runs, after it finished, or while it aborts: RuntimeError, and the coroutine is released (asyncio test_taskgroups: test_taskgroup_without_parent_task, test_coro_closed_when_tg_closed)', async () => {
  await runInVirtualTime(function* () {
    const log = new Log();
    const tg = new TaskGroup();
    const early = (function* () { log.push('early ran'); })();
    assert.throws(() => tg.createTask(early), (e: unknown) => e instanceof RuntimeError && /has not been entered/.test(e.message));
    assert.equal(early.next().done, true); // closed without running

    const error = yield* thrownBy(
      tg.run(function* (g) {
        g.createTask(crashAfter(10));
        try {
          yield* sleep(100);
        } catch (cancel) {
          assert.throws(() => g.createTask(nap(1)), /is shutting down/);
          log.push('refused while aborting');
          throw cancel;
        }
      }),
    );
    assert.deepEqual(errorNames(error), ['ZeroDivisionError']);
    assert.throws(() => tg.createTask(nap(1)), /TaskGroup.createTask: <TaskGroup.*> is finished/);
    log.assert(['refused while aborting']);
  });
});

test('a group runs once; outside a task it throws RuntimeError; a body must be a generator function (asyncio test_taskgroups: test_taskgroup_double_enter, test_taskgroup_without_parent_task)', async () => {
  const outside = taskGroup(function* () {});
  assert.throws(() => outside.next(), (e: unknown) => e instanceof RuntimeError && /inside a task/.test(e.message));
  assert.throws(() => taskGroup(5 as never), (e: unknown) => e instanceof TypeError && /body must be a generator function, got 5/.test(e.message));
  await runInVirtualTime(function* () {
    const tg = new TaskGroup();
    yield* tg.run(function* () {});
    const again = yield* thrownBy(tg.run(function* () {}));
    assert.ok(again instanceof RuntimeError);
    assert.match(again.message, /has already been entered/);
    const bad = yield* thrownBy(taskGroup((() => 5) as never));
    assert.ok(bad instanceof AggregateError);
    assert.match(String(bad.errors[0]), /TypeError: TaskGroup body .* returned 5, not a generator/);
  });
});

test('after catching the group\'s AggregateError the parent is not left cancelled (asyncio test_taskgroups: test_cancellation_does_not_leak_out_of_tg)', async () => {
  await runInVirtualTime(function* (loop) {
    const error = yield* thrownBy(
      taskGroup(function* (tg) {
        tg.createTask(function* () {
          throw new MyExc();
        });
        yield* sleep(1000); // interrupted by the group
      }),
    );
    assert.deepEqual(errorNames(error), ['MyExc']);
    assert.equal(currentTask()?.cancelling(), 0);
    yield* sleep(5); // would throw CancelledError if the group's cancel leaked
    assert.equal(loop.time(), 5);
  });
});

test('run(body) and taskGroup(body) evaluate to the body\'s return value, after the children (eventide: call shapes)', async () => {
  await runInVirtualTime(function* (loop) {
    const log = new Log();
    const total = yield* new TaskGroup().run(function* (tg) {
      const a = tg.createTask(after(10, 1));
      const b = tg.createTask(after(20, 2));
      tg.createTask(function* () { yield* sleep(30); log.push('straggler done'); });
      return (yield* a) + (yield* b);
    });
    log.push(`total ${total} at ${loop.time()}`);
    log.assert(['straggler done', 'total 3 at 30']);
  });
});

test('timeout around a group: children cancelled and awaited, then TimeoutError (asyncio: timeouts compose with TaskGroup via cancelling()/uncancel())', async () => {
  await runInVirtualTime(function* (loop) {
    const log = new Log();
    const error = yield* thrownBy(
      timeout(50, function* () {
        yield* taskGroup(function* (tg) {
          tg.createTask(function* () {
            try {
              yield* sleep(1000);
            } finally {
              yield* sleep(5);
              log.push(`child cleaned up at ${loop.time()}`);
            }
          });
          yield* sleep(1000);
        });
      }),
    );
    assert.ok(error instanceof TimeoutError);
    log.assert(['child cleaned up at 55']);
    assert.equal(loop.time(), 55);
    assert.equal(currentTask()?.cancelling(), 0);
  });
});

test('a timeout expiring inside the body is the body\'s own business: the group goes on (asyncio: nested cancel scopes)', async () => {
  await runInVirtualTime(function* (loop) {
    const result = yield* taskGroup(function* (tg) {
      const child = tg.createTask(after(100, 'child'));
      try {
        yield* timeout(10, sleep(1000));
      } catch (error) {
        assert.ok(error instanceof TimeoutError);
      }
      return yield* child;
    });
    assert.equal(result, 'child');
    assert.equal(loop.time(), 100);
  });
});

test('nested groups whose children fail in the same tick do not hang, and report both (asyncio 3.13 gh-116720)', async () => {
  await runInVirtualTime(function* (loop) {
    const error = yield* thrownBy(
      taskGroup(function* (g1) {
        g1.createTask(crashAfter(100, ValueError));
        yield* taskGroup(function* (g2) {
          g2.createTask(crashAfter(100, ZeroDivisionError));
        });
      }),
    );
    assert.deepEqual(errorNames(error), ['ValueError', ['ZeroDivisionError']]);
    assert.equal(currentTask()?.cancelling(), 0);
    yield* sleep(1);
    assert.equal(loop.time(), 101);
  });
});

test('toString shows the group\'s state (asyncio test_taskgroups: repr)', async () => {
  await runInVirtualTime(function* () {
    const tg = new TaskGroup();
    assert.equal(String(tg), '<TaskGroup>');
    yield* tg.run(function* (g) {
      g.createTask(nap(1));
      assert.equal(String(g), '<TaskGroup tasks=1 entered>');
    });
    assert.equal(String(tg), '<TaskGroup finished>');
  });
});
