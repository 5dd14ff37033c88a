/**
 * A direct call that would sleep throws WouldBlockError and changes nothing: `k.snapshot()` is
 * deep-equal before and after, for every blocking IPC call (msgsnd on a full queue, msgrcv on an
 * empty one, semop and semtimedop that would wait), with and without other sleepers already on
 * the channel. The one documented exception is Linux's: a semop with SEM_UNDO allocates the undo
 * list and the set's entry before it tries (find_alloc_undo), so exactly those appear.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, WouldBlockError, constants as C } from '../../../src/index.js';
import { PROFILES } from '../../helpers.js';
import { SEQ, spawn } from './seq.js';
import { undoLists } from '../../../src/kernel/ipc/sem.js';

function boot(profile: (typeof PROFILES)[number]): Kernel {
  const k = new Kernel({ profile });
  k.installProgram(SEQ);
  return k;
}

function refused(k: Kernel, fn: () => unknown, what: string): void {
  const before = k.snapshot();
  assert.throws(fn, (e) => e instanceof WouldBlockError, what);
  assert.deepEqual(k.snapshot(), before, `${what}: state changed`);
}

for (const profile of PROFILES) {
  for (const sleepers of [0, 2]) {
    test(`${profile}: a refused direct msgsnd/msgrcv/semop/semtimedop changes nothing (${sleepers} sleepers already waiting)`, () => {
      const k = boot(profile);
      const sys = k.init.sys;
      const empty = sys.msgget(C.IPC_PRIVATE, 0o600);
      const full = sys.msgget(C.IPC_PRIVATE, 0o600);
      sys.msgctl(full, C.IPC_SET, { msg_perm: { uid: 0, gid: 0, mode: 0o600 }, msg_qbytes: 4 });
      sys.msgsnd(full, 1, 'abcd', 0);
      const sem = sys.semget(C.IPC_PRIVATE, 2, 0o600);
      for (let i = 0; i < sleepers; i++) {
        spawn(k, `r${i}`, [['msgrcv', [empty, 10, 0, 0]]]);
        spawn(k, `w${i}`, [['msgsnd', [full, 1, 'x', 0]]]);
        spawn(k, `s${i}`, [['semop', [sem, [{ sem_num: 0, sem_op: -1, sem_flg: 0 }]]]]);
      }
      k.run();
      refused(k, () => sys.msgrcv(empty, 10, 0, 0), 'msgrcv');
      refused(k, () => sys.msgrcv(empty, 10, -5, C.MSG_NOERROR), 'msgrcv by type');
      refused(k, () => sys.msgsnd(full, 1, 'x', 0), 'msgsnd');
      refused(k, () => sys.semop(sem, [{ sem_num: 1, sem_op: -1, sem_flg: 0 }]), 'semop');
      refused(k, () => sys.semop(sem, [{ sem_num: 0, sem_op: 1, sem_flg: 0 }, { sem_num: 1, sem_op: -1, sem_flg: 0 }]), 'semop (rolled back)');
      refused(k, () => sys.semtimedop(sem, [{ sem_num: 1, sem_op: -1, sem_flg: 0 }], { tv_sec: 1, tv_nsec: 0 }), 'semtimedop');
      // Still consistent: the sleepers are served in order afterwards.
      sys.msgsnd(empty, 1, 'go', 0);
      k.run();
      assert.equal(sys.msgctl(empty, C.IPC_STAT).msg_qnum, sleepers === 0 ? 1 : 0);
    });
  }

  test(`${profile}: a refused direct semop with SEM_UNDO allocates exactly the undo list and its entry (find_alloc_undo)`, () => {
    const k = boot(profile);
    const sys = k.init.sys;
    const sem = sys.semget(C.IPC_PRIVATE, 3, 0o600);
    const before = k.snapshot();
    assert.throws(() => sys.semop(sem, [{ sem_num: 2, sem_op: -1, sem_flg: C.SEM_UNDO }]), (e) => e instanceof WouldBlockError);
    const after = k.snapshot();
    const proc = k.proc(k.init.kid);
    assert.ok(proc.semUndo, 'the process has an undo list');
    const list = undoLists(k).get(proc.semUndo)!;
    assert.deepEqual([...list.entries.values()].map((e) => [e.semid, e.adj]), [[sem, [0, 0, 0]]]);
    // Remove exactly that from the new state: what is left is the old state.
    const strip = structuredClone(after);
    const ns = strip.ipcns.get(k.t(k.init.kid).ipcns)!;
    ns.sem.objs.get(sem & 32767)!.undos.delete(proc.semUndo);
    strip.ipc.semUndo.delete(proc.semUndo);
    strip.procs.get(k.init.kid)!.semUndo = 0;
    strip.nextId = before.nextId;
    assert.deepEqual(strip, before);
    // A second refusal changes nothing more.
    refused(k, () => sys.semop(sem, [{ sem_num: 2, sem_op: -1, sem_flg: C.SEM_UNDO }]), 'semop again');
  });
}
