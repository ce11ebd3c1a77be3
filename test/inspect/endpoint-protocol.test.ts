/**
 * The console protocol's parsing and framing (src/inspect/endpoint-protocol.ts):
 * requests are read strictly with messages naming the bad part, task
 * references by id or name, and lines are cut with a bound on what is held.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { encodeMessage, LineSplitter, parseRequest, parseTaskRef, RequestError, taskRefText } from '../../src/inspect/endpoint-protocol.js';

test('parseRequest reads every command with its fields and echoes the id', () => {
  assert.deepEqual(parseRequest('{"id":1,"cmd":"ps"}'), { id: 1, request: { cmd: 'ps', task: null } });
  assert.deepEqual(parseRequest('{"id":"a","cmd":"ps","task":"#3"}'), { id: 'a', request: { cmd: 'ps', task: { id: 3 } } });
  assert.deepEqual(parseRequest('{"cmd":"tree"}'), { id: null, request: { cmd: 'tree' } });
  assert.deepEqual(parseRequest('{"id":2,"cmd":"where","task":"worker"}'), { id: 2, request: { cmd: 'where', task: { name: 'worker' } } });
  assert.deepEqual(parseRequest('{"id":3,"cmd":"cancel","task":7,"reason":"stuck"}'), { id: 3, request: { cmd: 'cancel', task: { id: 7 }, reason: 'stuck' } });
  assert.deepEqual(parseRequest('{"id":4,"cmd":"cancel","task":7}'), { id: 4, request: { cmd: 'cancel', task: { id: 7 }, reason: undefined } });
  assert.deepEqual(parseRequest('{"id":5,"cmd":"warnings"}'), { id: 5, request: { cmd: 'warnings' } });
  assert.deepEqual(parseRequest('{"id":6,"cmd":"auth","token":"t0k"}'), { id: 6, request: { cmd: 'auth', token: 't0k' } });
});

test('parseRequest throws a RequestError naming the problem, with the id when it could be read', () => {
  const failure = (line: string): [unknown, string] => {
    try {
      parseRequest(line);
    } catch (error) {
      assert.ok(error instanceof RequestError);
      return [error.id, error.message];
    }
    assert.fail(`accepted ${line}`);
  };
  assert.deepEqual(failure('"ps"'), [null, 'request must be a JSON object like {"id":1,"cmd":"ps"}, got "ps"']);
  assert.deepEqual(failure('{"id":true,"cmd":"ps"}'), [null, 'id must be a number or a string, got true']);
  assert.deepEqual(failure('{"id":9}'), [9, 'unknown cmd undefined; expected one of ps, tree, where, cancel, warnings, auth']);
  assert.deepEqual(failure('{"id":9,"cmd":"tree","task":1}'), [9, 'unknown field "task" for tree (it takes no fields)']);
  assert.deepEqual(failure('{"id":9,"cmd":"where","task":""}'), [9, 'where: task must be a task id (7 or "#7") or a task name, got ""']);
  assert.deepEqual(failure('{"id":9,"cmd":"where","task":-2}'), [9, 'where: task must be a task id (7 or "#7") or a task name, got -2']);
  assert.deepEqual(failure('{"id":9,"cmd":"auth"}'), [9, 'auth: token must be a string, got undefined']);
  assert.match(failure(`{"id":9,"cmd":"cancel","task":1,"reason":"${'r'.repeat(1001)}"}`)[1], /^cancel: reason must be a string of at most 1000 characters/);
});

test('parseTaskRef: digits and #digits are ids, anything else non-empty is a name', () => {
  assert.deepEqual(parseTaskRef(12, 'task'), { id: 12 });
  assert.deepEqual(parseTaskRef('12', 'task'), { id: 12 });
  assert.deepEqual(parseTaskRef('#12', 'task'), { id: 12 });
  assert.deepEqual(parseTaskRef('worker-12', 'task'), { name: 'worker-12' });
  assert.deepEqual(parseTaskRef('#0', 'task'), { name: '#0' });
  assert.throws(() => parseTaskRef(1.5, 'the task'), (error: Error) => error instanceof TypeError && error.message.startsWith('the task must be'));
  assert.equal(taskRefText({ id: 3 }), '#3');
  assert.equal(taskRefText({ name: 'a"b' }), '"a\\"b"');
  assert.equal(encodeMessage({ id: 1, cmd: 'ps' }), '{"id":1,"cmd":"ps"}\n');
});

test('LineSplitter joins lines split across chunks, skips blank lines and strips \\r', () => {
  const split = new LineSplitter(100);
  assert.deepEqual(split.push('{"a":1}\n{"b"'), [{ line: '{"a":1}' }]);
  assert.deepEqual(split.push(':2}\r\n\n  \n{"c":3}\n'), [{ line: '{"b":2}' }, { line: '{"c":3}' }]);
  assert.deepEqual(split.push(''), []);
});

test('LineSplitter reports an over-long line once, drops it up to its newline, and reads on after it', () => {
  const split = new LineSplitter(10);
  assert.deepEqual(split.push('0123456789'), []); // exactly the limit: still held
  assert.deepEqual(split.push('X'), [{ tooLong: true }]);
  assert.deepEqual(split.push('more and more'), []);
  assert.deepEqual(split.push('end\nok\n'), [{ line: 'ok' }]);
  // An over-long line that arrives whole, newline included.
  assert.deepEqual(split.push(`${'y'.repeat(11)}\nfine\n`), [{ tooLong: true }, { line: 'fine' }]);
  assert.throws(() => new LineSplitter(0), RangeError);
});
