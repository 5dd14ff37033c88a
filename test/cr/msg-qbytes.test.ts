/**
 * A queue whose msg_qbytes was lowered below what it holds (Linux's IPC_SET allows it: msgctl_down
 * checks qbytes only against msgmnb) keeps its messages and its qbytes across checkpoint/restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, constants as C } from '../../src/index.js';
import { dump, restore, STRATEGIES } from '../../src/cr/index.js';

function build(k: Kernel) {
  const c = k.task(k.init.sys.clone(C.CLONE_NEWPID | C.CLONE_NEWIPC | C.SIGCHLD))!;
  const id = c.sys.msgget(0x51, C.IPC_CREAT | 0o600);
  for (let i = 1; i <= 3; i++) c.sys.msgsnd(id, i, new Uint8Array(100).fill(i), 0);
  c.sys.msgctl(id, C.IPC_SET, { msg_perm: { uid: 0, gid: 0, mode: 0o600 }, msg_qbytes: 2 } as never);
  return { c, id };
}

test('a queue holding more than its msg_qbytes is restored with its messages and qbytes', () => {
  for (const strategy of STRATEGIES) {
    const k = new Kernel();
    const { c, id } = build(k);
    const before = c.sys.msgctl(id, C.IPC_STAT) as { msg_qbytes: number; msg_qnum: number; msg_cbytes: number };
    assert.equal(before.msg_qbytes, 2);
    const d = dump(k, c.pid);
    k.init.sys.wait4(c.pid, 0);
    const r = restore(k, d.images, { strategy });
    const rc = k.task(r.rootPid)!;
    const after = rc.sys.msgctl(id, C.IPC_STAT) as typeof before;
    assert.equal(after.msg_qbytes, 2, strategy);
    assert.equal(after.msg_qnum, 3, strategy);
    assert.equal(after.msg_cbytes, 300, strategy);
    for (let i = 1; i <= 3; i++) assert.deepEqual(rc.sys.msgrcv(id, 100, 0, C.IPC_NOWAIT).mtext, new Uint8Array(100).fill(i), strategy);
  }
});
