/**
 * msgsnd copies the caller's bytes (load_msg): changing the buffer afterwards — even a Node Buffer,
 * whose `slice` is a view — does not change the queued message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, constants as C } from '../../../src/index.js';

test('msgsnd keeps its own copy of the message, whatever kind of buffer it was given', () => {
  const t = new Kernel().init;
  const q = t.sys.msgget(C.IPC_PRIVATE, C.IPC_CREAT | 0o600);
  const buf = Buffer.from('original');
  const arr = new Uint8Array([1, 2, 3, 4]);
  t.sys.msgsnd(q, 1, buf, 0);
  t.sys.msgsnd(q, 2, arr, 0, 2);
  buf.write('CHANGED!');
  arr.fill(9);
  const a = t.sys.msgrcv(q, 100, 0, 0);
  assert.equal(Buffer.from(a.mtext).toString(), 'original');
  assert.equal(Object.getPrototypeOf(a.mtext), Uint8Array.prototype, 'a plain Uint8Array, not a Buffer view');
  assert.deepEqual([...t.sys.msgrcv(q, 100, 0, 0).mtext], [1, 2]);
});
