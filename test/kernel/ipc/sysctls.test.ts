/**
 * The IPC sysctls CRIU saves beyond the SysV limits, with Linux's semantics per profile:
 * kernel.auto_msgmni (a 0..1 dummy since 3.19; absent in 2.6.26), kernel.shm_rmid_forced (3.1+:
 * 0..1, destroys orphaned segments on write, at the creator's exit and at the last detach), and
 * fs/mqueue/{queues_max,msg_max,msgsize_max,msg_default,msgsize_default} (per IPC namespace since
 * 2.6.30, global in 2.6.26; msg_default/msgsize_default since 3.5; proc_dointvec_minmax bounds).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, constants as C, type Task } from '../../../src/index.js';
import { expectErrno, readFile, writeFile } from '../../helpers.js';

const get = (t: Task, name: string) => readFile(t, `/proc/sys/${name}`).trim();
const set = (t: Task, name: string, v: string) => void writeFile(t, `/proc/sys/${name}`, v);

test('linux-6: defaults, ranges (EINVAL) and per-namespace values', () => {
  const k = new Kernel();
  const init = k.init;
  const defaults: [string, string][] = [
    ['kernel/auto_msgmni', '0'], ['kernel/shm_rmid_forced', '0'], ['fs/mqueue/queues_max', '256'], ['fs/mqueue/msg_max', '10'],
    ['fs/mqueue/msgsize_max', '8192'], ['fs/mqueue/msg_default', '10'], ['fs/mqueue/msgsize_default', '8192'],
  ];
  for (const [name, v] of defaults) assert.equal(get(init, name), v, name);
  // auto_msgmni: 0 and 1 are taken and have no effect.
  set(init, 'kernel/auto_msgmni', '1');
  assert.equal(get(init, 'kernel/auto_msgmni'), '0');
  const bad: [string, string][] = [
    ['kernel/auto_msgmni', '2'], ['kernel/auto_msgmni', '-1'], ['kernel/shm_rmid_forced', '2'], ['kernel/shm_rmid_forced', '-1'],
    ['fs/mqueue/msg_max', '0'], ['fs/mqueue/msg_max', '65537'], ['fs/mqueue/msgsize_max', '127'], ['fs/mqueue/msgsize_max', String(16 * 1024 * 1024 + 1)],
    ['fs/mqueue/msg_default', '0'], ['fs/mqueue/msg_default', '65537'], ['fs/mqueue/msgsize_default', '127'], ['fs/mqueue/queues_max', 'x'],
  ];
  for (const [name, v] of bad) expectErrno(() => set(init, name, v), 'EINVAL', `${name} = ${v}`);
  for (const [name] of defaults.slice(1)) assert.equal(get(init, name), defaults.find(([n]) => n === name)![1], `${name} unchanged`);
  const good: [string, string][] = [
    ['fs/mqueue/msg_max', '65536'], ['fs/mqueue/msgsize_max', String(16 * 1024 * 1024)], ['fs/mqueue/msg_default', '1'],
    ['fs/mqueue/msgsize_default', '128'], ['fs/mqueue/queues_max', '-5'], ['kernel/shm_rmid_forced', '1'],
  ];
  for (const [name, v] of good) {
    set(init, name, v);
    assert.equal(get(init, name), v, name);
  }
  // A new IPC namespace starts from the defaults; its changes stay in it.
  const c = k.task(init.sys.clone(C.CLONE_NEWIPC | C.SIGCHLD))!;
  for (const [name, v] of defaults) assert.equal(get(c, name), v, `new ns ${name}`);
  set(c, 'fs/mqueue/msg_max', '20');
  assert.equal(get(init, 'fs/mqueue/msg_max'), '65536');
});

test('linux-2.6.26: no auto_msgmni, shm_rmid_forced, msg_default, msgsize_default; global fs/mqueue with the old bounds', () => {
  const k = new Kernel({ profile: 'linux-2.6.26' });
  const init = k.init;
  for (const name of ['kernel/auto_msgmni', 'kernel/shm_rmid_forced', 'fs/mqueue/msg_default', 'fs/mqueue/msgsize_default']) {
    expectErrno(() => readFile(init, `/proc/sys/${name}`), 'ENOENT', name);
  }
  expectErrno(() => set(init, 'fs/mqueue/msg_max', '9'), 'EINVAL');
  expectErrno(() => set(init, 'fs/mqueue/msg_max', '16385'), 'EINVAL');
  expectErrno(() => set(init, 'fs/mqueue/msgsize_max', '8191'), 'EINVAL');
  set(init, 'fs/mqueue/msgsize_max', String(0x7fffffff));
  // One global set: a write from another IPC namespace is seen everywhere.
  const c = k.task(init.sys.clone(C.CLONE_NEWIPC | C.SIGCHLD))!;
  set(c, 'fs/mqueue/msg_max', '16384');
  assert.equal(get(init, 'fs/mqueue/msg_max'), '16384');
  assert.equal(get(c, 'fs/mqueue/msgsize_max'), String(0x7fffffff));
});

test('shm_rmid_forced: writing 1 destroys unattached segments whose creator is gone; creators alive or attachments keep theirs', () => {
  const k = new Kernel();
  const init = k.init;
  const p = k.task(init.sys.fork())!;
  const orphan = p.sys.shmget(C.IPC_PRIVATE, 4096, 0o600);
  const attachedOrphan = p.sys.shmget(C.IPC_PRIVATE, 4096, 0o600);
  const mine = init.sys.shmget(C.IPC_PRIVATE, 4096, 0o600);
  const addr = init.sys.shmat(attachedOrphan, 0, 0);
  p.sys.exit(0);
  init.sys.wait4(p.pid, 0);
  // rmid_forced 0: orphans stay.
  assert.equal(init.sys.shmctl(orphan, C.IPC_STAT).shm_nattch, 0);
  set(init, 'kernel/shm_rmid_forced', '1');
  expectErrno(() => init.sys.shmctl(orphan, C.IPC_STAT), 'EINVAL');
  assert.equal(init.sys.shmctl(attachedOrphan, C.IPC_STAT).shm_nattch, 1);
  assert.equal(init.sys.shmctl(mine, C.IPC_STAT).shm_nattch, 0);
  // The last detach destroys it now (shm_may_destroy), and a segment of a live creator too.
  init.sys.shmdt(addr);
  expectErrno(() => init.sys.shmctl(attachedOrphan, C.IPC_STAT), 'EINVAL');
  init.sys.shmdt(init.sys.shmat(mine, 0, 0));
  expectErrno(() => init.sys.shmctl(mine, C.IPC_STAT), 'EINVAL');
  assert.equal(init.sys.shmctl(0, C.SHM_INFO).buf.used_ids, 0);
});

test('shm_rmid_forced: the creator\'s exit destroys its unattached segments (exit_shm), by thread; leaving the namespace orphans them', () => {
  const k = new Kernel();
  const init = k.init;
  set(init, 'kernel/shm_rmid_forced', '1');
  const p = k.task(init.sys.fork())!;
  const a = p.sys.shmget(C.IPC_PRIVATE, 4096, 0o600);
  const b = p.sys.shmget(C.IPC_PRIVATE, 4096, 0o600);
  const addr = init.sys.shmat(b, 0, 0);
  // A thread of p creates one and exits: it goes, p's stay.
  const th = k.task(p.sys.clone(C.CLONE_VM | C.CLONE_THREAD | C.CLONE_SIGHAND))!;
  const c = th.sys.shmget(C.IPC_PRIVATE, 4096, 0o600);
  th.sys.exit(0);
  expectErrno(() => init.sys.shmctl(c, C.IPC_STAT), 'EINVAL');
  assert.equal(init.sys.shmctl(a, C.IPC_STAT).shm_nattch, 0);
  p.sys.exit(0);
  expectErrno(() => init.sys.shmctl(a, C.IPC_STAT), 'EINVAL');
  assert.equal(init.sys.shmctl(b, C.IPC_STAT).shm_nattch, 1);
  init.sys.shmdt(addr);
  expectErrno(() => init.sys.shmctl(b, C.IPC_STAT), 'EINVAL');
  // A creator that unshares its IPC namespace leaves orphans behind: the next write of 1 takes them.
  set(init, 'kernel/shm_rmid_forced', '0');
  const q = k.task(init.sys.fork())!;
  const d = q.sys.shmget(C.IPC_PRIVATE, 4096, 0o600);
  q.sys.unshare(C.CLONE_NEWIPC);
  assert.equal(init.sys.shmctl(d, C.IPC_STAT).shm_nattch, 0);
  set(init, 'kernel/shm_rmid_forced', '1');
  expectErrno(() => init.sys.shmctl(d, C.IPC_STAT), 'EINVAL');
  // The state survives a snapshot: a creator's list is plain data.
  const r = k.taskIn(q, q.sys.fork())!;
  const e = r.sys.shmget(C.IPC_PRIVATE, 4096, 0o600);
  set(q, 'kernel/shm_rmid_forced', '1');
  const k2 = Kernel.fromState(k.snapshot(), { programs: k.programs.values() });
  assert.equal(k2.task(q.pid)!.sys.shmctl(e, C.IPC_STAT).shm_nattch, 0);
  k2.task(r.pid)!.sys.exit(0);
  expectErrno(() => k2.task(q.pid)!.sys.shmctl(e, C.IPC_STAT), 'EINVAL');
});

test('the shm creators\' lists are typed state of each namespace (kid → ids); exit_shm finds a thread\'s segments in every namespace it created some in', () => {
  const k = new Kernel();
  const init = k.init;
  const p = k.task(init.sys.fork())!;
  const nsA = k.t(p.kid).ipcns;
  const a = p.sys.shmget(C.IPC_PRIVATE, 4096, 0o600);
  p.sys.unshare(C.CLONE_NEWIPC);
  const nsB = k.t(p.kid).ipcns;
  set(p, 'kernel/shm_rmid_forced', '1');
  const b = p.sys.shmget(C.IPC_PRIVATE, 4096, 0o600);
  // ksys_unshare orphaned `a` in A (exit_shm); B lists `b`.
  assert.equal(k.s.ipcns.get(nsA)!.shmClist.size, 0);
  assert.equal(k.s.ipcns.get(nsA)!.shm.objs.get(a & 32767)!.creator, 0);
  assert.deepEqual(k.s.ipcns.get(nsB)!.shmClist, new Map([[p.kid, new Set([b])]]));
  assert.ok(!('ext' in k.s));
  // A copy of the state is the same lists.
  assert.deepEqual(Kernel.fromState(k.snapshot(), { programs: k.programs.values() }).s.ipcns.get(nsB)!.shmClist, k.s.ipcns.get(nsB)!.shmClist);
  p.sys.exit(0);
  // B went with its last task; in A the thread's list is gone and its segment is an orphan.
  assert.ok(!k.s.ipcns.has(nsB));
  assert.equal(k.s.ipcns.get(nsA)!.shmClist.size, 0);
  assert.equal(k.s.ipcns.get(nsA)!.shm.objs.get(a & 32767)!.creator, 0);
  assert.equal(init.sys.shmctl(a, C.IPC_STAT).shm_nattch, 0);
  set(init, 'kernel/shm_rmid_forced', '1');
  expectErrno(() => init.sys.shmctl(a, C.IPC_STAT), 'EINVAL');
});

test('unshare(CLONE_NEWIPC) orphans the caller\'s segments in the namespace it leaves (ksys_unshare: exit_shm): under shm_rmid_forced the unattached ones go at once', () => {
  const k = new Kernel();
  const init = k.init;
  set(init, 'kernel/shm_rmid_forced', '1');
  const p = k.task(init.sys.fork())!;
  const loose = p.sys.shmget(C.IPC_PRIVATE, 4096, 0o600);
  const held = p.sys.shmget(C.IPC_PRIVATE, 4096, 0o600);
  init.sys.shmat(held, 0, 0);
  p.sys.unshare(C.CLONE_NEWIPC);
  // Linux destroys `loose` inside unshare; `held` stays (attached by init), now an orphan.
  expectErrno(() => init.sys.shmctl(loose, C.IPC_STAT), 'EINVAL');
  assert.equal(init.sys.shmctl(held, C.IPC_STAT).shm_nattch, 1);
  assert.equal(k.s.ipcns.get(k.t(init.kid).ipcns)!.shm.objs.get(held & 32767)!.creator, 0);
});
