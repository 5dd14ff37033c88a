/**
 * What an IPC object's perm holds beyond its creator comes back, in every strategy and with
 * `--ipc-only` from CRIU-format images (no nsd-extra): an owner other than the creator (uid/gid ≠
 * cuid/cgid, given by IPC_SET) on queues, sets and segments; a creator other than root; the full
 * mode of segments, SHM_LOCKED (SHM_LOCK) and SHM_DEST (IPC_RMID while attached) included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, constants as C, type Task } from '../../src/index.js';
import { dump, restore, restoreIpcOnly, STRATEGIES } from '../../src/cr/index.js';
import { Sys } from '../../src/syscalls/sys.js';
import type { IpcPermDs } from '../../src/abi/ipc.js';

interface Objs {
  msg: number[];
  sem: number[];
  shm: number[];
}

/** A container whose objects have owners ≠ creators, and segments locked and destroyed-but-attached. */
function build(k: Kernel): { c: Task; objs: Objs } {
  const c = k.task(k.init.sys.clone(C.CLONE_NEWPID | C.CLONE_NEWIPC | C.SIGCHLD))!;
  const s = c.sys;
  const perm = (uid: number, gid: number, mode: number) => ({ uid, gid, mode });
  const objs: Objs = { msg: [], sem: [], shm: [] };
  objs.msg.push(s.msgget(0x71, C.IPC_CREAT | 0o600));
  s.msgctl(objs.msg[0]!, C.IPC_SET, { msg_perm: perm(1000, 1001, 0o640), msg_qbytes: 16384 });
  objs.sem.push(s.semget(0x72, 3, C.IPC_CREAT | 0o600));
  s.semctl(objs.sem[0]!, 0, C.IPC_SET, { sem_perm: perm(1000, 1001, 0o640) });
  objs.shm.push(s.shmget(0x73, 8192, C.IPC_CREAT | 0o600));
  s.shmctl(objs.shm[0]!, C.IPC_SET, { shm_perm: perm(1000, 1001, 0o640) });
  // Locked, and owned by someone else.
  objs.shm.push(s.shmget(0x74, 4096, C.IPC_CREAT | 0o660));
  s.shmctl(objs.shm[1]!, C.SHM_LOCK);
  s.shmctl(objs.shm[1]!, C.IPC_SET, { shm_perm: perm(2000, 2000, 0o600) });
  // Destroyed while attached (SHM_DEST, key private), and locked too.
  objs.shm.push(s.shmget(0x75, 4096, C.IPC_CREAT | 0o600));
  s.shmat(objs.shm[2]!, 0, 0);
  s.shmctl(objs.shm[2]!, C.SHM_LOCK);
  s.shmctl(objs.shm[2]!, C.IPC_RMID);
  // Created by a non-root process, then given to another owner.
  const u = k.taskIn(c, s.fork())!;
  u.sys.setresgid(3000, 3000, 3000);
  u.sys.setresuid(3000, 3000, 3000);
  objs.sem.push(u.sys.semget(0x76, 1, C.IPC_CREAT | 0o600));
  u.sys.semctl(objs.sem[1]!, 0, C.IPC_SET, { sem_perm: perm(3001, 3002, 0o604) });
  objs.shm.push(u.sys.shmget(0x77, 4096, C.IPC_CREAT | 0o600));
  u.sys.shmctl(objs.shm[3]!, C.IPC_SET, { shm_perm: perm(3001, 3002, 0o604) });
  u.sys.exit(0);
  s.wait4(-1, 0);
  return { c, objs };
}

function perms(sys: Sys, objs: Objs): Record<string, IpcPermDs> {
  const out: Record<string, IpcPermDs> = {};
  for (const id of objs.msg) out[`msg ${id}`] = sys.msgctl(id, C.IPC_STAT).msg_perm;
  for (const id of objs.sem) out[`sem ${id}`] = sys.semctl(id, 0, C.IPC_STAT).sem_perm;
  for (const id of objs.shm) out[`shm ${id}`] = sys.shmctl(id, C.IPC_STAT).shm_perm;
  return out;
}

test('owners ≠ creators, SHM_LOCKED and SHM_DEST come back in every strategy', () => {
  for (const strategy of STRATEGIES) {
    const k = new Kernel();
    const { c, objs } = build(k);
    const before = perms(c.sys, objs);
    assert.equal(before[`shm ${objs.shm[2]}`]!.mode, C.SHM_DEST | C.SHM_LOCKED | 0o600);
    assert.equal(before[`shm ${objs.shm[2]}`]!.key, 0);
    const d = dump(k, c.pid);
    k.init.sys.wait4(c.pid, 0);
    const r = restore(k, d.images, { strategy });
    const rc = k.task(r.rootPid)!;
    assert.deepEqual(perms(rc.sys, objs), before, strategy);
    assert.equal(rc.sys.shmctl(objs.shm[2]!, C.IPC_STAT).shm_nattch, 1, strategy);
  }
});

test('--ipc-only from CRIU-format images (no nsd-extra): owners ≠ creators, SHM_LOCKED and SHM_DEST come back', () => {
  for (const strategy of STRATEGIES) {
    const k = new Kernel();
    const { c, objs } = build(k);
    const before = perms(c.sys, objs);
    const d = dump(k, c.pid);
    // Only what CRIU writes for an IPC namespace.
    const criu = new Map([...d.images].filter(([name]) => /^(ipcns-|pagemap-shmem-|pages-)/.test(name)));
    const k2 = new Kernel();
    const r = restoreIpcOnly(k2, criu, { strategy });
    const sys = new Sys(k2, r.holderPid);
    assert.deepEqual(perms(sys, objs), before, strategy);
    // The holder task keeps the destroyed segment attached, so it exists.
    assert.equal(sys.shmctl(objs.shm[2]!, C.IPC_STAT).shm_nattch, 1, strategy);
  }
});

test('a SHM_DEST segment attached only by processes outside the checkpoint is removed at restore, and reported', () => {
  const k = new Kernel();
  const c = k.task(k.init.sys.clone(C.CLONE_NEWPID | C.CLONE_NEWIPC | C.SIGCHLD))!;
  const id = c.sys.shmget(0x79, 4096, C.IPC_CREAT | 0o600);
  // A process outside the container joins its IPC namespace and attaches; the container removes it.
  const outside = k.task(k.init.sys.fork())!;
  const fd = outside.sys.open(`/proc/${c.pid}/ns/ipc`, C.O_RDONLY);
  outside.sys.setns(fd, C.CLONE_NEWIPC);
  outside.sys.shmat(id, 0, 0);
  c.sys.shmctl(id, C.IPC_RMID);
  assert.equal(c.sys.shmctl(id, C.IPC_STAT).shm_perm.mode & C.SHM_DEST, C.SHM_DEST);
  const d = dump(k, c.pid);
  k.init.sys.wait4(c.pid, 0);
  for (const strategy of STRATEGIES) {
    const k2 = Kernel.fromState(k.snapshot(), { programs: k.programs.values() });
    const r = restore(k2, d.images, { strategy });
    const rc = k2.task(r.rootPid)!;
    assert.throws(() => rc.sys.shmctl(id, C.IPC_STAT), /EINVAL/, strategy);
    assert.deepEqual(r.report.filter((l) => l.object === `shm ${id}`).map((l) => `${l.field} ${l.saved}→${l.restored}`), ['existence attached→destroyed'], strategy);
  }
});
