/**
 * next_syscall_data and SysV IPC: patch 2 (preset ids, NSD-SPEC §2) and patch 4 (full-state
 * IPC_SET, §4), every quirk, in both profiles.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, constants as C, type Task } from '../../../src/index.js';
import { PROFILES, arm, expectErrno, readFile, writeFile } from '../../helpers.js';
import { formatNextSyscallData } from '../../../src/kernel/nsd/nsd.js';

/** The armed value, read from the task state: opening the proc file would itself consume it (an open). */
const nsd = (t: Task) => formatNextSyscallData(t.state.nsd);

for (const profile of PROFILES) {
  test(`${profile}: a preset id is used by the creating msgget/semget/shmget and consumed`, () => {
    const t = new Kernel({ profile }).init;
    arm(t, 'LONG1 98309');
    assert.equal(t.sys.msgget(C.IPC_PRIVATE, 0o600), 98309);
    assert.equal(nsd(t), 'UNSET\n');
    assert.equal(t.sys.msgctl(98309, C.IPC_STAT).msg_perm.seq, 3);
    arm(t, 'LONG1 0x10007');
    assert.equal(t.sys.semget(0x55, 1, C.IPC_CREAT | 0o600), 0x10007);
    arm(t, 'LONG1 3');
    assert.equal(t.sys.shmget(C.IPC_PRIVATE, 100, 0o600), 3);
    // The largest seq.
    arm(t, `LONG1 ${65535 * 32768 + 9}`);
    assert.equal(t.sys.msgget(C.IPC_PRIVATE, 0o600), 65535 * 32768 + 9);
  });

  test(`${profile}: paths that do not create leave the preset armed`, () => {
    const t = new Kernel({ profile }).init;
    const q = t.sys.msgget(0x10, C.IPC_CREAT | 0o600);
    // (Set before arming: opening the sysctl file would consume the preset, as any open does.)
    writeFile(t, '/proc/sys/kernel/msgmni', '1\n');
    arm(t, 'LONG1 77');
    assert.equal(t.sys.msgget(0x10, 0), q);
    expectErrno(() => t.sys.msgget(0x11, 0), 'ENOENT');
    expectErrno(() => t.sys.msgget(0x10, C.IPC_CREAT | C.IPC_EXCL), 'EEXIST');
    expectErrno(() => t.sys.semget(C.IPC_PRIVATE, 0, 0o600), 'EINVAL');
    expectErrno(() => t.sys.shmget(C.IPC_PRIVATE, 0, 0o600), 'EINVAL');
    // ENOSPC (the namespace is full) is checked before the preset is taken.
    expectErrno(() => t.sys.msgget(C.IPC_PRIVATE, 0o600), 'ENOSPC');
    assert.equal(nsd(t), 'LONG1 77\n');
    assert.equal(t.sys.semget(C.IPC_PRIVATE, 1, 0o600), 77);
    assert.equal(nsd(t), 'UNSET\n');
  });

  test(`${profile}: a bad or busy preset fails with EINVAL/EBUSY and is consumed anyway`, () => {
    const t = new Kernel({ profile }).init;
    arm(t, 'LONG1 -1');
    expectErrno(() => t.sys.msgget(C.IPC_PRIVATE, 0o600), 'EINVAL');
    assert.equal(nsd(t), 'UNSET\n');
    arm(t, 'LONG1 2147483648');
    expectErrno(() => t.sys.semget(C.IPC_PRIVATE, 1, 0o600), 'EINVAL');
    assert.equal(nsd(t), 'UNSET\n');
    const q = t.sys.msgget(C.IPC_PRIVATE, 0o600);
    arm(t, `LONG1 ${q + 32768}`);
    expectErrno(() => t.sys.msgget(C.IPC_PRIVATE, 0o600), 'EBUSY');
    assert.equal(nsd(t), 'UNSET\n');
  });

  test(`${profile}: a preset creation does not advance the namespace's sequence`, () => {
    const t = new Kernel({ profile }).init;
    arm(t, 'LONG1 5');
    assert.equal(t.sys.msgget(C.IPC_PRIVATE, 0o600), 5);
    // Both allocators continue as if nothing happened: idx 0, seq 0.
    assert.equal(t.sys.msgget(C.IPC_PRIVATE, 0o600), 0);
    assert.equal(t.sys.msgget(C.IPC_PRIVATE, 0o600), profile === 'linux-6' ? 1 : 32769);
  });

  test(`${profile}: full-state IPC_SET when armed with data[0] != 0, then cleared`, () => {
    const k = new Kernel({ profile });
    const t = k.init;
    const q = t.sys.msgget(C.IPC_PRIVATE, 0o600);
    const s = t.sys.semget(C.IPC_PRIVATE, 1, 0o600);
    const m = t.sys.shmget(C.IPC_PRIVATE, 10, 0o600);
    arm(t, 'LONG1 1');
    t.sys.msgctl(q, C.IPC_SET, {
      msg_perm: { uid: 0, gid: 0, mode: 0o640 }, msg_qbytes: 100,
      msg_stime: 1000, msg_rtime: 2000, msg_ctime: 3000, msg_lspid: 1, msg_lrpid: 4242,
    });
    assert.equal(nsd(t), 'UNSET\n');
    const ds = t.sys.msgctl(q, C.IPC_STAT);
    assert.deepEqual([ds.msg_stime, ds.msg_rtime, ds.msg_ctime, ds.msg_lspid, ds.msg_lrpid, ds.msg_qbytes, ds.msg_perm.mode], [1000, 2000, 3000, 1, 4242, 100, 0o640]);
    arm(t, 'LONG1 1');
    t.sys.semctl(s, 0, C.IPC_SET, { sem_perm: { mode: 0o600 }, sem_otime: 11, sem_ctime: 12 });
    const sd = t.sys.semctl(s, 0, C.IPC_STAT);
    assert.deepEqual([sd.sem_otime, sd.sem_ctime], [11, 12]);
    arm(t, 'LONG1 1');
    t.sys.shmctl(m, C.IPC_SET, { shm_perm: { mode: 0o600 }, shm_atime: 21, shm_dtime: 22, shm_ctime: 23, shm_cpid: 1, shm_lpid: 0 });
    const hd = t.sys.shmctl(m, C.IPC_STAT);
    assert.deepEqual([hd.shm_atime, hd.shm_dtime, hd.shm_ctime, hd.shm_cpid, hd.shm_lpid], [21, 22, 23, 1, 0]);
    // Unarmed: the usual IPC_SET (ctime = now, the rest untouched).
    t.sys.msgctl(q, C.IPC_SET, { msg_perm: { mode: 0o600 }, msg_qbytes: 100, msg_stime: 5 });
    const ds2 = t.sys.msgctl(q, C.IPC_STAT);
    assert.equal(ds2.msg_stime, 1000);
    assert.equal(ds2.msg_ctime, k.seconds);
  });

  test(`${profile}: LONG1 0 is not armed for IPC_SET, is not consumed by it, and presets id 0`, () => {
    const k = new Kernel({ profile });
    const t = k.init;
    const first = t.sys.msgget(C.IPC_PRIVATE, 0o600);
    const q = t.sys.msgget(C.IPC_PRIVATE, 0o600);
    t.sys.msgctl(first, C.IPC_RMID);
    assert.notEqual(q & 0x7fff, 0);
    arm(t, 'LONG1 0');
    t.sys.msgctl(q, C.IPC_SET, { msg_perm: { mode: 0o600 }, msg_qbytes: 10, msg_stime: 999 });
    assert.equal(t.sys.msgctl(q, C.IPC_STAT).msg_stime, 0);
    assert.equal(nsd(t), 'LONG1 0\n');
    assert.equal(t.sys.msgget(C.IPC_PRIVATE, 0o600), 0);
    assert.equal(nsd(t), 'UNSET\n');
  });
}

test('linux-6: the preset wins over msg_next_id, which stays armed', () => {
  const t = new Kernel({ profile: 'linux-6' }).init;
  writeFile(t, '/proc/sys/kernel/msg_next_id', '7\n');
  arm(t, 'LONG1 3');
  assert.equal(t.sys.msgget(C.IPC_PRIVATE, 0o600), 3);
  assert.equal(readFile(t, '/proc/sys/kernel/msg_next_id'), '7\n');
  assert.equal(t.sys.msgget(C.IPC_PRIVATE, 0o600), 7);
  assert.equal(readFile(t, '/proc/sys/kernel/msg_next_id'), '-1\n');
});

test('next_syscall_data is per thread: another process creating does not consume it', () => {
  const k = new Kernel();
  const t = k.init;
  // (Fork first: a fork would itself consume the value, patch 3.)
  const child = k.task(t.sys.fork())!;
  arm(t, 'LONG1 9');
  assert.equal(child.sys.msgget(C.IPC_PRIVATE, 0o600), 0);
  assert.equal(t.sys.msgget(C.IPC_PRIVATE, 0o600), 9);
});
