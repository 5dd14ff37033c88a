/**
 * Shared memory in process address spaces: bytes shared between attachments and processes,
 * fork inheritance (nattch), exec and exit detaching, SHM_RDONLY faults (EFAULT for the caller),
 * SHM_DEST with attachers, /proc/<pid>/maps naming, and attachments outliving a setns.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, constants as C } from '../../../src/index.js';
import { expectErrno, readFile } from '../../helpers.js';
import { SEQ } from './seq.js';

const dec = new TextDecoder();

test('writes through one attachment are seen through every other, across fork', () => {
  const k = new Kernel();
  const t = k.init;
  const m = t.sys.shmget(0x30, 10000, C.IPC_CREAT | 0o600);
  const a = t.sys.shmat(m, 0, 0);
  const b = t.sys.shmat(m, 0x200000000000, 0);
  t.memory.write(a + 9990, 'shared!');
  assert.equal(dec.decode(t.memory.read(b + 9990, 7)), 'shared!');
  // The tail of the last page belongs to the segment too (PAGE_ALIGN), past it is a fault.
  t.memory.write(b + 12000, 'tail');
  assert.equal(dec.decode(t.memory.read(a + 12000, 4)), 'tail');
  expectErrno(() => t.memory.read(b + 12288, 1), 'EFAULT');
  const pid = t.sys.fork();
  const child = k.task(pid)!;
  assert.equal(t.sys.shmctl(m, C.IPC_STAT).shm_nattch, 4);
  child.memory.write(a, 'from child');
  assert.equal(dec.decode(t.memory.read(b, 10)), 'from child');
  // The child's fork copy is attributed to the parent (shm_open runs in the forking task).
  assert.equal(t.sys.shmctl(m, C.IPC_STAT).shm_lpid, 1);
  child.sys.exit_group(0);
  t.sys.wait4(pid, 0);
  assert.equal(t.sys.shmctl(m, C.IPC_STAT).shm_nattch, 2);
});

test('exec detaches; SHM_RDONLY attachments refuse writes from outside with EFAULT (no signal)', () => {
  const k = new Kernel();
  k.installProgram(SEQ);
  const t = k.init;
  const m = t.sys.shmget(C.IPC_PRIVATE, 4096, 0o600);
  const pid = t.sys.fork();
  const child = k.task(pid)!;
  const ro = child.sys.shmat(m, 0, C.SHM_RDONLY);
  assert.equal(t.sys.shmctl(m, C.IPC_STAT).shm_nattch, 1);
  assert.equal(child.memory.read(ro, 4).length, 4);
  expectErrno(() => child.memory.write(ro, 'x'), 'EFAULT');
  // Linux never signals the target of a remote access (issue 9 A7); its exit detaches the segment.
  assert.equal(child.alive, true);
  child.sys.exit(0);
  const st = t.sys.shmctl(m, C.IPC_STAT);
  assert.equal(st.shm_nattch, 0);
  assert.ok(st.shm_dtime > 0);
  const pid2 = t.sys.fork();
  const c2 = k.task(pid2)!;
  c2.sys.shmat(m, 0, 0);
  c2.sys.execve('/bin/ipc-seq', ['ipc-seq', 'x', '[]']);
  assert.equal(t.sys.shmctl(m, C.IPC_STAT).shm_nattch, 0);
});

test('IPC_RMID while attached: SHM_DEST, key private, still attachable by id, destroyed at the last detach', () => {
  const k = new Kernel();
  const t = k.init;
  const m = t.sys.shmget(0x5a, 4096, C.IPC_CREAT | 0o600);
  const a = t.sys.shmat(m, 0, 0);
  t.sys.shmctl(m, C.IPC_RMID);
  const st = t.sys.shmctl(m, C.IPC_STAT);
  assert.equal(st.shm_perm.mode, C.SHM_DEST | 0o600);
  assert.equal(st.shm_perm.key, 0);
  expectErrno(() => t.sys.shmget(0x5a, 0, 0), 'ENOENT');
  const b = t.sys.shmat(m, 0, 0);
  t.sys.shmdt(a);
  t.sys.shmdt(b);
  expectErrno(() => t.sys.shmctl(m, C.IPC_STAT), 'EINVAL');
  assert.equal(t.sys.shmctl(0, C.SHM_INFO).buf.used_ids, 0);
});

test('/proc/<pid>/maps names attachments like Linux', () => {
  const k = new Kernel();
  const t = k.init;
  const m = t.sys.shmget(0x5a, 10000, C.IPC_CREAT | 0o600);
  const a = t.sys.shmat(m, 0x200000000000, C.SHM_RDONLY);
  const maps = readFile(t, '/proc/self/maps');
  const line = maps.split('\n').find((l) => l.startsWith(a.toString(16)))!;
  assert.match(line, /^200000000000-200000003000 r--s 00000000 00:01 0 +\/SYSV0000005a \(deleted\)$/);
});

test('SHM_REMAP over part of an attachment keeps the rest, and shmdt finds the fragments', () => {
  const k = new Kernel();
  const t = k.init;
  const m1 = t.sys.shmget(C.IPC_PRIVATE, 3 * 4096, 0o600);
  const m2 = t.sys.shmget(C.IPC_PRIVATE, 4096, 0o600);
  const base = 0x200000000000;
  t.sys.shmat(m1, base, 0);
  t.memory.write(base + 2 * 4096, 'third page');
  // m2 replaces the middle page of m1's attachment: m1 is now two fragments.
  t.sys.shmat(m2, base + 4096, C.SHM_REMAP);
  assert.equal(t.sys.shmctl(m1, C.IPC_STAT).shm_nattch, 2);
  assert.equal(dec.decode(t.memory.read(base + 2 * 4096, 10)), 'third page');
  t.sys.shmdt(base);
  assert.equal(t.sys.shmctl(m1, C.IPC_STAT).shm_nattch, 0);
  assert.equal(t.sys.shmctl(m2, C.IPC_STAT).shm_nattch, 1);
});

test('an attachment keeps its namespace alive after setns/unshare', () => {
  const k = new Kernel();
  const t = k.init;
  const pid = t.sys.fork();
  const c = k.task(pid)!;
  c.sys.unshare(C.CLONE_NEWIPC);
  const ns = c.state.ipcns;
  const m = c.sys.shmget(C.IPC_PRIVATE, 100, 0o600);
  const a = c.sys.shmat(m, 0, 0);
  c.memory.write(a, 'still here');
  c.sys.unshare(C.CLONE_NEWIPC);
  assert.ok(k.s.ipcns.has(ns));
  assert.equal(dec.decode(c.memory.read(a, 10)), 'still here');
  c.sys.shmdt(a);
  assert.equal(k.s.ipcns.has(ns), false);
});
