/**
 * A queue that never held a message shares one empty `types` Map, and a set no SEM_UNDO touched
 * one empty `undos` Set (memory per object); the first use gives the object its own. The shared
 * one must never be written: what one object does is not seen by another.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, constants as C } from '../../../src/index.js';
import { expectErrno } from '../../helpers.js';

test('message queues: a message in one fresh queue is not in another', () => {
  const k = new Kernel();
  const sys = k.init.sys;
  const [a, b, c] = [sys.msgget(C.IPC_PRIVATE, 0o600), sys.msgget(C.IPC_PRIVATE, 0o600), sys.msgget(C.IPC_PRIVATE, 0o600)];
  sys.msgsnd(a, 5, 'to a', 0);
  expectErrno(() => sys.msgrcv(b, 100, 5, C.IPC_NOWAIT), 'ENOMSG');
  // c's first message is its own; a's is still there.
  sys.msgsnd(c, 5, 'to c', 0);
  assert.equal(Buffer.from(sys.msgrcv(c, 100, 5, C.IPC_NOWAIT).mtext).toString(), 'to c');
  assert.equal(Buffer.from(sys.msgrcv(a, 100, 5, C.IPC_NOWAIT).mtext).toString(), 'to a');
  // The same after a copy of the state.
  const k2 = Kernel.fromState(k.snapshot());
  k2.init.sys.msgsnd(b, 7, 'to b', 0);
  expectErrno(() => k2.init.sys.msgrcv(a, 100, 7, C.IPC_NOWAIT), 'ENOMSG');
});

test('semaphore sets: a SEM_UNDO adjustment on one fresh set is undone on that set only', () => {
  const k = new Kernel();
  const sys = k.init.sys;
  const x = sys.semget(C.IPC_PRIVATE, 1, 0o600);
  const y = sys.semget(C.IPC_PRIVATE, 1, 0o600);
  sys.semctl(x, 0, C.SETVAL, 3);
  sys.semctl(y, 0, C.SETVAL, 3);
  const child = k.task(sys.fork())!;
  child.sys.semop(x, [{ sem_num: 0, sem_op: 2, sem_flg: C.SEM_UNDO }]);
  child.sys.semop(y, [{ sem_num: 0, sem_op: 1, sem_flg: 0 }]);
  child.sys.exit(0);
  assert.equal(sys.semctl(x, 0, C.GETVAL), 3, 'x: +2 undone at exit');
  assert.equal(sys.semctl(y, 0, C.GETVAL), 4, 'y: no undo entry, the +1 stays');
  // Removing the untouched set walks its (empty) undo record without touching x's.
  sys.semctl(y, 0, C.IPC_RMID);
  const other = k.task(sys.fork())!;
  other.sys.semop(x, [{ sem_num: 0, sem_op: -1, sem_flg: C.SEM_UNDO }]);
  other.sys.exit(0);
  assert.equal(sys.semctl(x, 0, C.GETVAL), 3);
});
