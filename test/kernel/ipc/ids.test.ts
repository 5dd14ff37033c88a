/**
 * Id allocation per profile, namespaces, the `*_next_id` sysctls and their privilege, and the
 * /proc/sysvipc files with Linux's exact layout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, constants as C } from '../../../src/index.js';
import { expectErrno, readFile, writeFile } from '../../helpers.js';

test('linux-2.6.26: lowest free index, seq bumped on every creation; stale ids are EIDRM', () => {
  const t = new Kernel({ profile: 'linux-2.6.26' }).init;
  const ids = [0, 1, 2].map(() => t.sys.msgget(C.IPC_PRIVATE, 0o600));
  assert.deepEqual(ids, [0, 32769, 65538]);
  t.sys.msgctl(0, C.IPC_RMID);
  assert.equal(t.sys.msgget(C.IPC_PRIVATE, 0o600), 98304);
  expectErrno(() => t.sys.msgctl(32768 + 1 + 32768, C.IPC_STAT), 'EIDRM');
  expectErrno(() => t.sys.msgctl(5, C.IPC_STAT), 'EINVAL');
  // 16 queues at most (MSGMNI of 2.6.26).
  for (let i = 0; i < 13; i++) t.sys.msgget(C.IPC_PRIVATE, 0o600);
  expectErrno(() => t.sys.msgget(C.IPC_PRIVATE, 0o600), 'ENOSPC');
  expectErrno(() => readFile(t, '/proc/sys/kernel/msg_next_id'), 'ENOENT');
});

test('linux-6: cyclic allocation does not reuse a freed index until the cycle wraps', () => {
  const t = new Kernel().init;
  assert.deepEqual([0, 1, 2].map(() => t.sys.msgget(C.IPC_PRIVATE, 0o600)), [0, 1, 2]);
  t.sys.msgctl(1, C.IPC_RMID);
  t.sys.msgctl(2, C.IPC_RMID);
  // With few objects in use the cycle is [0, 64): 3..63 come next, freed indexes are skipped.
  for (let i = 3; i < 64; i++) {
    assert.equal(t.sys.msgget(C.IPC_PRIVATE, 0o600), i);
    t.sys.msgctl(i, C.IPC_RMID);
  }
  // The cycle wraps: idx 0 is busy, idx 1 is next, with seq 1.
  assert.equal(t.sys.msgget(C.IPC_PRIVATE, 0o600), 32769);
  expectErrno(() => t.sys.msgctl(1, C.IPC_STAT), 'EINVAL');
});

test('linux-6: *_next_id needs checkpoint/restore privilege and takes 0..INT_MAX', () => {
  const k = new Kernel();
  const t = k.init;
  writeFile(t, '/proc/sys/kernel/sem_next_id', '40\n');
  assert.equal(t.sys.semget(C.IPC_PRIVATE, 1, 0o600), 40);
  expectErrno(() => writeFile(t, '/proc/sys/kernel/sem_next_id', '-1\n'), 'EINVAL');
  // Root without CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE may open the file but not write it.
  const child = k.task(t.sys.fork())!;
  const caps = (1n << 41n) - 1n - (1n << BigInt(C.CAP_SYS_ADMIN)) - (1n << BigInt(C.CAP_CHECKPOINT_RESTORE));
  child.sys.capset(caps, caps);
  expectErrno(() => writeFile(child, '/proc/sys/kernel/shm_next_id', '3\n'), 'EPERM');
});

test('IPC namespaces: separate objects and limits; unshare(CLONE_NEWIPC) starts empty', () => {
  const k = new Kernel();
  const t = k.init;
  t.sys.msgget(0x1234, C.IPC_CREAT | 0o600);
  const child = k.task(t.sys.fork())!;
  child.sys.unshare(C.CLONE_NEWIPC);
  expectErrno(() => child.sys.msgget(0x1234, 0), 'ENOENT');
  writeFile(child, '/proc/sys/kernel/msgmax', '100\n');
  assert.equal(readFile(child, '/proc/sys/kernel/msgmax'), '100\n');
  assert.equal(readFile(t, '/proc/sys/kernel/msgmax'), '8192\n');
  assert.equal(child.sys.msgget(0x1234, C.IPC_CREAT | 0o600), 0);
  expectErrno(() => child.sys.msgsnd(0, 1, new Uint8Array(101), C.IPC_NOWAIT), 'EINVAL');
  // The namespace goes away with its last task, and its objects with it.
  const nsId = child.state.ipcns;
  child.sys.exit_group(0);
  t.sys.wait4(-1, 0);
  assert.equal(k.s.ipcns.has(nsId), false);
});

test('/proc/sysvipc/{msg,sem,shm}: Linux headers and columns, pids seen by the reader', () => {
  const k = new Kernel();
  const t = k.init;
  const q = t.sys.msgget(0x4d51, C.IPC_CREAT | 0o640);
  t.sys.msgsnd(q, 1, 'hello', 0);
  t.sys.semget(-1338200670, 3, C.IPC_CREAT | 0o600);
  const m = t.sys.shmget(0x5a, 10000, C.IPC_CREAT | 0o600);
  const now = k.seconds;
  assert.equal(readFile(t, '/proc/sysvipc/msg'),
    '       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n' +
    `     19793          0   640           5          1     1     0     0     0     0     0 ${now} ${'0'.padStart(10)} ${now}\n`);
  assert.equal(readFile(t, '/proc/sysvipc/sem'),
    '       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n' +
    `-1338200670          0   600          3     0     0     0     0          0 ${now}\n`);
  t.sys.shmat(m, 0, 0);
  const shm = readFile(t, '/proc/sysvipc/shm').split('\n');
  assert.equal(shm[0], '       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap');
  assert.equal(shm[1], `        90          0   600                 10000     1     1      1     0     0     0     0 ${k.seconds}          0 ${now}                     0                     0`);
});
