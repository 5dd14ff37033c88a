/**
 * Limits lowered below what a namespace holds — a queue's msg_qbytes (IPC_SET checks it only
 * against msgmnb), the msgmax/msgmni/shmmax/sem sysctls (checked only at creation) — are legal in
 * Linux; a checkpoint of such a namespace restores its objects and the lowered limits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, constants as C } from '../../src/index.js';
import { CrError, dump, restore, restoreIpcOnly, STRATEGIES } from '../../src/cr/index.js';
import { readImage, writeImage } from '../../src/cr/image/index.js';
import { Sys } from '../../src/syscalls/sys.js';

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

test('IPC limits lowered below what the namespace holds (msgmax, msgmni, shmmax, semmsl) come back, and so do the objects', () => {
  for (const strategy of STRATEGIES) {
    const k = new Kernel();
    const c = k.task(k.init.sys.clone(C.CLONE_NEWPID | C.CLONE_NEWIPC | C.SIGCHLD))!;
    const q1 = c.sys.msgget(0x61, C.IPC_CREAT | 0o600);
    c.sys.msgget(0x62, C.IPC_CREAT | 0o600);
    c.sys.msgsnd(q1, 1, new Uint8Array(200), 0);
    const shm = c.sys.shmget(0x63, 3 << 20, C.IPC_CREAT | 0o600);
    const sem = c.sys.semget(0x64, 5, C.IPC_CREAT | 0o600);
    const write = (name: string, v: string): void => {
      const fd = c.sys.open(`/proc/sys/kernel/${name}`, C.O_WRONLY);
      c.sys.write(fd, v);
      c.sys.close(fd);
    };
    const read = (t: typeof c, name: string): string => {
      const fd = t.sys.open(`/proc/sys/kernel/${name}`, C.O_RDONLY);
      const text = new TextDecoder().decode(t.sys.read(fd, 200));
      t.sys.close(fd);
      return text;
    };
    write('msgmax', '100');
    write('msgmni', '1');
    write('shmmax', String(1 << 20));
    write('sem', read(c, 'sem').trim().split(/\s+/).map((x, i) => (i === 0 ? '2' : x)).join(' '));
    const saved = ['msgmax', 'msgmni', 'shmmax', 'sem'].map((n) => read(c, n));
    const d = dump(k, c.pid);
    k.init.sys.wait4(c.pid, 0);
    const r = restore(k, d.images, { strategy });
    const rc = k.task(r.rootPid)!;
    assert.deepEqual(['msgmax', 'msgmni', 'shmmax', 'sem'].map((n) => read(rc, n)), saved, strategy);
    assert.equal((rc.sys.msgctl(q1, C.IPC_STAT) as { msg_qnum: number }).msg_qnum, 1, strategy);
    assert.equal((rc.sys.shmctl(shm, C.IPC_STAT) as { shm_segsz: number }).shm_segsz, 3 << 20, strategy);
    assert.equal((rc.sys.semctl(sem, 0, C.IPC_STAT) as { sem_nsems: number }).sem_nsems, 5, strategy);
  }
});

const SYSCTLS: [string, string][] = [
  ['fs/mqueue/queues_max', '77'], ['fs/mqueue/msg_max', '33'], ['fs/mqueue/msgsize_max', '4096'],
  ['fs/mqueue/msg_default', '5'], ['fs/mqueue/msgsize_default', '1024'], ['kernel/shm_rmid_forced', '1'],
];

function sysctl(t: { sys: Sys }, name: string, v?: string): string {
  const path = `/proc/sys/${name}`;
  if (v !== undefined) {
    const fd = t.sys.open(path, C.O_WRONLY);
    t.sys.write(fd, v);
    t.sys.close(fd);
  }
  const fd = t.sys.open(path, C.O_RDONLY);
  const text = new TextDecoder().decode(t.sys.read(fd, 100)).trim();
  t.sys.close(fd);
  return text;
}

function criuImages(images: ReadonlyMap<string, Uint8Array>): Map<string, Uint8Array> {
  return new Map([...images].filter(([name]) => /^(ipcns-|pagemap-shmem-|pages-)/.test(name)));
}

test('auto_msgmni, shm_rmid_forced and the fs/mqueue sysctls come back in every strategy and with --ipc-only; segments survive shm_rmid_forced', () => {
  for (const strategy of STRATEGIES) {
    const k = new Kernel();
    const c = k.task(k.init.sys.clone(C.CLONE_NEWPID | C.CLONE_NEWIPC | C.SIGCHLD))!;
    const unattached = c.sys.shmget(0x91, 4096, C.IPC_CREAT | 0o600);
    const attached = c.sys.shmget(0x92, 4096, C.IPC_CREAT | 0o600);
    c.sys.shmat(attached, 0, 0);
    for (const [name, v] of SYSCTLS) assert.equal(sysctl(c, name, v), v, name);
    assert.equal(sysctl(c, 'kernel/auto_msgmni', '1'), '0');
    const d = dump(k, c.pid);
    k.init.sys.wait4(c.pid, 0);
    const r = restore(k, d.images, { strategy });
    const rc = k.task(r.rootPid)!;
    for (const [name, v] of SYSCTLS) assert.equal(sysctl(rc, name), v, `${strategy} ${name}`);
    assert.equal(rc.sys.shmctl(unattached, C.IPC_STAT).shm_nattch, 0, strategy);
    assert.equal(rc.sys.shmctl(attached, C.IPC_STAT).shm_nattch, 1, strategy);
    assert.deepEqual(r.report.filter((l) => l.object === 'ipcns-var'), [], strategy);

    const k2 = new Kernel();
    const r2 = restoreIpcOnly(k2, criuImages(d.images), { strategy });
    const holder = { sys: new Sys(k2, r2.holderPid) };
    for (const [name, v] of SYSCTLS) assert.equal(sysctl(holder, name), v, `${strategy} --ipc-only ${name}`);
    assert.equal(holder.sys.shmctl(unattached, C.IPC_STAT).shm_nattch, 0, strategy);
  }
});

test('a sysctl value the kernel refuses fails the restore naming it; one the profile lacks is reported, never dropped silently', () => {
  const k = new Kernel();
  const c = k.task(k.init.sys.clone(C.CLONE_NEWPID | C.CLONE_NEWIPC | C.SIGCHLD))!;
  sysctl(c, 'kernel/shm_rmid_forced', '1');
  sysctl(c, 'fs/mqueue/msg_default', '5');
  const images = criuImages(dump(k, c.pid).images);
  const v = readImage(images.get('ipcns-var-1.img')!, 'ipcns-var').entries[0]!;
  const bad = new Map(images);
  bad.set('ipcns-var-1.img', writeImage('ipcns-var', [{ ...v, mq_msg_max: 0 }]));
  const k2 = new Kernel();
  const snap = k2.snapshot();
  assert.throws(() => restoreIpcOnly(k2, bad), (e) => e instanceof CrError && /fs\/mqueue\/msg_max/.test(e.message) && /EINVAL/.test(e.message));
  assert.deepEqual(k2.snapshot(), snap);
  // linux-2.6.26 has neither shm_rmid_forced nor msg_default: both are reported.
  const old = new Kernel({ profile: 'linux-2.6.26' });
  const r = restoreIpcOnly(old, images, { strategy: 'with-id' });
  const lines = r.report.filter((l) => l.object === 'ipcns-var').map((l) => `${l.field} ${l.saved}→${l.restored}`);
  assert.deepEqual(lines, ['fs/mqueue/msg_default 5→10', 'kernel/shm_rmid_forced 1→0']);
});
