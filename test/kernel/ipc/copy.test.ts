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

test('MSG_COPY n is the n-th message left in the queue, with and without holes from receives by type', async () => {
  const fc = (await import('fast-check')).default;
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 40 }), fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 20 }), (types, takes) => {
      const t = new Kernel().init;
      const q = t.sys.msgget(C.IPC_PRIVATE, 0o600);
      const live: string[] = [];
      types.forEach((ty, i) => {
        t.sys.msgsnd(q, ty, `m${i}`, 0);
        live.push(`${ty}:m${i}`);
      });
      // Receive by type (0: the first): holes in the middle or at the head.
      for (const ty of takes) {
        const at = live.findIndex((m) => ty === 0 || m.startsWith(`${ty}:`));
        if (at < 0) continue;
        t.sys.msgrcv(q, 100, ty, C.IPC_NOWAIT);
        live.splice(at, 1);
      }
      live.forEach((want, n) => {
        const m = t.sys.msgrcv(q, 100, n, C.MSG_COPY | C.IPC_NOWAIT);
        assert.equal(`${m.mtype}:${Buffer.from(m.mtext).toString()}`, want, `MSG_COPY ${n}`);
      });
      assert.throws(() => t.sys.msgrcv(q, 100, live.length, C.MSG_COPY | C.IPC_NOWAIT), /ENOMSG/);
    }),
    { seed: 0x3c0, numRuns: 150 },
  );
});
