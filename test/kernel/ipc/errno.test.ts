/**
 * Errno tables for every SysV IPC call, per kernel profile. Each row runs on a fresh kernel with a
 * queue `q` (one message queued), a set `s` of 2 semaphores and a 4096-byte segment `m`, all mode
 * 0600 and owned by root; `user` makes the call as euid/egid 1000 (no capabilities).
 * An expectation is an errno name, `ok` (any success), or `= <json>` for an exact value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrnoError, Kernel, WouldBlockError, constants as C, type Task } from '../../../src/index.js';
import type { ProfileName } from '../../../src/kernel/profile.js';
import { writeFile } from '../../helpers.js';

interface Fx {
  k: Kernel;
  t: Task;
  q: number;
  s: number;
  m: number;
  /** Drops to euid/egid 1000 (capabilities follow the euid). */
  user(): void;
  sysctl(name: string, value: string): void;
}

type Expect = string;
type Row = [what: string, call: (f: Fx) => unknown, linux6: Expect, linux2626: Expect];

const dec = (n: number) => ({ sem_num: 0, sem_op: -n, sem_flg: C.IPC_NOWAIT });

const ROWS: Row[] = [
  // msgget
  ['msgget: unknown key without IPC_CREAT', (f) => f.t.sys.msgget(0x77, 0), 'ENOENT', 'ENOENT'],
  ['msgget: IPC_CREAT|IPC_EXCL on an existing key', (f) => f.t.sys.msgget(0x10, C.IPC_CREAT | C.IPC_EXCL | 0o600), 'EEXIST', 'EEXIST'],
  ['msgget: existing key, flags 0 asks for nothing', (f) => (f.user(), f.t.sys.msgget(0x10, 0)), 'ok', 'ok'],
  ['msgget: existing key, read asked as other', (f) => (f.user(), f.t.sys.msgget(0x10, 0o004)), 'EACCES', 'EACCES'],
  ['msgget: over msgmni', (f) => (f.sysctl('msgmni', '1'), f.t.sys.msgget(C.IPC_PRIVATE, 0o600)), 'ENOSPC', 'ENOSPC'],
  // msgsnd
  ['msgsnd: negative id', (f) => f.t.sys.msgsnd(-1, 1, 'x', C.IPC_NOWAIT), 'EINVAL', 'EINVAL'],
  ['msgsnd: mtype 0', (f) => f.t.sys.msgsnd(f.q, 0, 'x', C.IPC_NOWAIT), 'EINVAL', 'EINVAL'],
  ['msgsnd: size above msgmax', (f) => f.t.sys.msgsnd(f.q, 1, new Uint8Array(8193), C.IPC_NOWAIT), 'EINVAL', 'EINVAL'],
  ['msgsnd: negative size', (f) => f.t.sys.msgsnd(f.q, 1, 'x', C.IPC_NOWAIT, -1), 'EINVAL', 'EINVAL'],
  ['msgsnd: size past the buffer', (f) => f.t.sys.msgsnd(f.q, 1, 'x', C.IPC_NOWAIT, 2), 'EFAULT', 'EFAULT'],
  ['msgsnd: not bytes', (f) => f.t.sys.msgsnd(f.q, 1, 42 as unknown as string, C.IPC_NOWAIT), 'EFAULT', 'EFAULT'],
  ['msgsnd: empty slot', (f) => f.t.sys.msgsnd(5, 1, 'x', C.IPC_NOWAIT), 'EINVAL', 'EINVAL'],
  ['msgsnd: stale seq', (f) => f.t.sys.msgsnd(f.q + 32768, 1, 'x', C.IPC_NOWAIT), 'EINVAL', 'EIDRM'],
  ['msgsnd: no write permission', (f) => (f.user(), f.t.sys.msgsnd(f.q, 1, 'x', C.IPC_NOWAIT)), 'EACCES', 'EACCES'],
  ['msgsnd: full queue with IPC_NOWAIT', (f) => (f.t.sys.msgsnd(f.q, 1, new Uint8Array(8192), C.IPC_NOWAIT), f.t.sys.msgsnd(f.q, 1, new Uint8Array(8192), C.IPC_NOWAIT)), 'EAGAIN', 'EAGAIN'],
  ['msgsnd: size 0 is allowed', (f) => f.t.sys.msgsnd(f.q, 1, '', C.IPC_NOWAIT), '= 0', '= 0'],
  // msgrcv
  ['msgrcv: negative size', (f) => f.t.sys.msgrcv(f.q, -1, 0, C.IPC_NOWAIT), 'EINVAL', 'EINVAL'],
  ['msgrcv: no message of that type', (f) => f.t.sys.msgrcv(f.q, 100, 9, C.IPC_NOWAIT), 'ENOMSG', 'ENOMSG'],
  ['msgrcv: buffer too small', (f) => f.t.sys.msgrcv(f.q, 2, 0, C.IPC_NOWAIT), 'E2BIG', 'E2BIG'],
  ['msgrcv: MSG_NOERROR truncates', (f) => new TextDecoder().decode(f.t.sys.msgrcv(f.q, 2, 0, C.IPC_NOWAIT | C.MSG_NOERROR).mtext), '= "he"', '= "he"'],
  ['msgrcv: no read permission', (f) => (f.user(), f.t.sys.msgrcv(f.q, 100, 0, C.IPC_NOWAIT)), 'EACCES', 'EACCES'],
  ['msgrcv: MSG_COPY without IPC_NOWAIT (ignored before 3.8)', (f) => f.t.sys.msgrcv(f.q, 100, 0, C.MSG_COPY).mtype, 'EINVAL', '= 1'],
  ['msgrcv: MSG_COPY past the end (2.6.26: the flag is ignored, typ 1 is a type)', (f) => f.t.sys.msgrcv(f.q, 100, 1, C.MSG_COPY | C.IPC_NOWAIT).mtype, 'ENOMSG', '= 1'],
  ['msgrcv: MSG_COPY too big with MSG_NOERROR', (f) => f.t.sys.msgrcv(f.q, 2, 0, C.MSG_COPY | C.IPC_NOWAIT | C.MSG_NOERROR), 'EINVAL', 'ok'],
  ['msgrcv: would sleep', (f) => f.t.sys.msgrcv(f.q, 100, 9, 0), 'WOULDBLOCK', 'WOULDBLOCK'],
  // msgctl
  ['msgctl: negative cmd', (f) => f.t.sys.msgctl(f.q, -1), 'EINVAL', 'EINVAL'],
  ['msgctl: unknown cmd', (f) => f.t.sys.msgctl(f.q, 99), 'EINVAL', 'EINVAL'],
  ['msgctl: MSG_STAT_ANY (4.17+)', (f) => (f.user(), (f.t.sys.msgctl(0, C.MSG_STAT_ANY) as { ret: number }).ret), '= 0', 'EINVAL'],
  ['msgctl: MSG_STAT without read permission', (f) => (f.user(), f.t.sys.msgctl(0, C.MSG_STAT)), 'EACCES', 'EACCES'],
  ['msgctl: IPC_SET by a non-owner', (f) => (f.user(), f.t.sys.msgctl(f.q, C.IPC_SET, { msg_qbytes: 10 })), 'EPERM', 'EPERM'],
  ['msgctl: IPC_RMID by a non-owner', (f) => (f.user(), f.t.sys.msgctl(f.q, C.IPC_RMID)), 'EPERM', 'EPERM'],
  ['msgctl: IPC_SET without a buffer', (f) => f.t.sys.msgctl(f.q, C.IPC_SET), 'EFAULT', 'EFAULT'],
  ['msgctl: qbytes above msgmnb without CAP_SYS_RESOURCE', (f) => (f.t.sys.capset(0n, 0n), f.t.sys.msgctl(f.q, C.IPC_SET, { msg_perm: { mode: 0o600 }, msg_qbytes: 16385 })), 'EPERM', 'EPERM'],
  ['msgctl: IPC_SET with uid -1', (f) => f.t.sys.msgctl(f.q, C.IPC_SET, { msg_perm: { uid: -1 }, msg_qbytes: 10 }), 'EINVAL', 'ok'], // uid_valid() (3.5+); 2.6.26 stored it
  ['msgctl: IPC_INFO returns the highest index', (f) => (f.t.sys.msgctl(0, C.IPC_INFO) as { ret: number }).ret, '= 0', '= 0'],
  // semget
  ['semget: nsems above semmsl', (f) => f.t.sys.semget(C.IPC_PRIVATE, 251, 0o600), 'ok', 'EINVAL'],
  ['semget: negative nsems', (f) => f.t.sys.semget(C.IPC_PRIVATE, -1, 0o600), 'EINVAL', 'EINVAL'],
  ['semget: creating with nsems 0', (f) => f.t.sys.semget(C.IPC_PRIVATE, 0, 0o600), 'EINVAL', 'EINVAL'],
  ['semget: existing key with more nsems', (f) => f.t.sys.semget(0x20, 3, 0), 'EINVAL', 'EINVAL'],
  ['semget: existing key with nsems 0', (f) => f.t.sys.semget(0x20, 0, 0) === f.s, '= true', '= true'],
  ['semget: over semmns', (f) => (f.sysctl('sem', '250 3 32 128'), f.t.sys.semget(C.IPC_PRIVATE, 2, 0o600)), 'ENOSPC', 'ENOSPC'],
  // semop / semtimedop
  ['semop: no operations', (f) => f.t.sys.semop(f.s, []), 'EINVAL', 'EINVAL'],
  ['semop: more than semopm', (f) => f.t.sys.semop(f.s, new Array(33).fill({ sem_num: 0, sem_op: 0, sem_flg: C.IPC_NOWAIT })), 'ok', 'E2BIG'],
  ['semop: sem_num past nsems', (f) => f.t.sys.semop(f.s, [{ sem_num: 2, sem_op: 1, sem_flg: 0 }]), 'EFBIG', 'EFBIG'],
  ['semop: sem_num -1 is 65535', (f) => f.t.sys.semop(f.s, [{ sem_num: -1, sem_op: 1, sem_flg: 0 }]), 'EFBIG', 'EFBIG'],
  ['semop: sem_flg not a number (a flag name) is garbage', (f) => f.t.sys.semop(f.s, [{ sem_num: 0, sem_op: 1, sem_flg: 'SEM_UNDO' as never }]), 'EFAULT', 'EFAULT'],
  ['semop: value above SEMVMX', (f) => f.t.sys.semop(f.s, [{ sem_num: 0, sem_op: 32767, sem_flg: 0 }, { sem_num: 0, sem_op: 1, sem_flg: 0 }]), 'ERANGE', 'ERANGE'],
  ['semop: would block with IPC_NOWAIT', (f) => f.t.sys.semop(f.s, [dec(1)]), 'EAGAIN', 'EAGAIN'],
  ['semop: would block without IPC_NOWAIT', (f) => f.t.sys.semop(f.s, [{ sem_num: 0, sem_op: -1, sem_flg: 0 }]), 'WOULDBLOCK', 'WOULDBLOCK'],
  ['semop: altering without write permission', (f) => (f.user(), f.t.sys.semop(f.s, [{ sem_num: 0, sem_op: 1, sem_flg: 0 }])), 'EACCES', 'EACCES'],
  ['semop: stale seq', (f) => f.t.sys.semop(f.s + 32768, [{ sem_num: 0, sem_op: 1, sem_flg: 0 }]), 'EINVAL', 'EIDRM'],
  ['semop: not an array', (f) => f.t.sys.semop(f.s, 7 as unknown as []), 'EFAULT', 'EFAULT'],
  ['semtimedop: tv_nsec out of range', (f) => f.t.sys.semtimedop(f.s, [dec(0)], { tv_sec: 0, tv_nsec: 1e9 }), 'EINVAL', 'EINVAL'],
  // semctl
  ['semctl: SETVAL out of range on a missing id', (f) => f.t.sys.semctl(999, 0, C.SETVAL, 40000), 'ERANGE', 'EINVAL'],
  ['semctl: SETVAL out of range, semnum out of range', (f) => f.t.sys.semctl(f.s, 5, C.SETVAL, -1), 'ERANGE', 'EINVAL'],
  ['semctl: GETVAL semnum out of range', (f) => f.t.sys.semctl(f.s, 2, C.GETVAL), 'EINVAL', 'EINVAL'],
  ['semctl: SETALL above SEMVMX', (f) => f.t.sys.semctl(f.s, 0, C.SETALL, [1, 40000]), 'ERANGE', 'ERANGE'],
  ['semctl: SETALL with a short array', (f) => f.t.sys.semctl(f.s, 0, C.SETALL, [1]), 'EFAULT', 'EFAULT'],
  ['semctl: SETALL sets sempid (not in 2.6.26)', (f) => (f.t.sys.semctl(f.s, 0, C.SETALL, [1, 2]), f.t.sys.semctl(f.s, 1, C.GETPID)), '= 1', '= 0'],
  ['semctl: SEM_STAT_ANY (4.17+)', (f) => (f.t.sys.semctl(0, 0, C.SEM_STAT_ANY) as { ret: number }).ret, '= 0', 'EINVAL'],
  ['semctl: GETALL without read permission', (f) => (f.user(), f.t.sys.semctl(f.s, 0, C.GETALL)), 'EACCES', 'EACCES'],
  ['semctl: negative id', (f) => f.t.sys.semctl(-1, 0, C.IPC_STAT), 'EINVAL', 'EINVAL'],
  ['semctl: unknown cmd', (f) => f.t.sys.semctl(f.s, 0, 99), 'EINVAL', 'EINVAL'],
  ['semctl: IPC_RMID by a non-owner', (f) => (f.user(), f.t.sys.semctl(f.s, 0, C.IPC_RMID)), 'EPERM', 'EPERM'],
  // shmget
  ['shmget: size 0', (f) => f.t.sys.shmget(C.IPC_PRIVATE, 0, 0o600), 'EINVAL', 'EINVAL'],
  ['shmget: size above 32 MiB (2.6.26 shmmax)', (f) => f.t.sys.shmget(C.IPC_PRIVATE, 33 << 20, 0o600), 'ok', 'EINVAL'],
  ['shmget: size -1 (size_t)', (f) => f.t.sys.shmget(C.IPC_PRIVATE, -1, 0o600), 'EINVAL', 'EINVAL'],
  ['shmget: existing key, larger size', (f) => f.t.sys.shmget(0x30, 4097, 0), 'EINVAL', 'EINVAL'],
  ['shmget: over shmall', (f) => (f.sysctl('shmall', '1'), f.t.sys.shmget(C.IPC_PRIVATE, 1, 0o600)), 'ENOSPC', 'ENOSPC'],
  ['shmget: over shmmni', (f) => (f.sysctl('shmmni', '1'), f.t.sys.shmget(C.IPC_PRIVATE, 1, 0o600)), 'ENOSPC', 'ENOSPC'],
  ['shmget: SHM_HUGETLB unprivileged', (f) => (f.user(), f.t.sys.shmget(C.IPC_PRIVATE, 4096, C.SHM_HUGETLB | 0o600)), 'EPERM', 'EPERM'],
  // shmat / shmdt
  ['shmat: unaligned without SHM_RND', (f) => f.t.sys.shmat(f.m, 0x200000001000 + 1, 0), 'EINVAL', 'EINVAL'],
  ['shmat: SHM_REMAP with NULL', (f) => f.t.sys.shmat(f.m, 0, C.SHM_REMAP), 'EINVAL', 'EINVAL'],
  ['shmat: SHM_RND rounding to 0 with SHM_REMAP', (f) => f.t.sys.shmat(f.m, 0x800, C.SHM_RND | C.SHM_REMAP), 'EINVAL', 'EINVAL'],
  ['shmat: overlapping without SHM_REMAP', (f) => (f.t.sys.shmat(f.m, 0x200000000000, 0), f.t.sys.shmat(f.m, 0x200000000000, 0)), 'EINVAL', 'EINVAL'],
  ['shmat: without read permission', (f) => (f.user(), f.t.sys.shmat(f.m, 0, C.SHM_RDONLY)), 'EACCES', 'EACCES'],
  ['shmat: negative id', (f) => f.t.sys.shmat(-1, 0, 0), 'EINVAL', 'EINVAL'],
  ['shmat: stale seq', (f) => f.t.sys.shmat(f.m + 32768, 0, 0), 'EINVAL', 'EIDRM'],
  ['shmdt: unaligned', (f) => f.t.sys.shmdt(0x200000000001), 'EINVAL', 'EINVAL'],
  ['shmdt: nothing attached', (f) => f.t.sys.shmdt(0x200000000000), 'EINVAL', 'EINVAL'],
  // shmctl
  ['shmctl: negative cmd', (f) => f.t.sys.shmctl(f.m, -1), 'EINVAL', 'EINVAL'],
  ['shmctl: SHM_LOCK by a non-owner', (f) => (f.user(), f.t.sys.shmctl(f.m, C.SHM_LOCK)), 'EPERM', 'EPERM'],
  ['shmctl: SHM_STAT_ANY (4.17+)', (f) => (f.user(), (f.t.sys.shmctl(0, C.SHM_STAT_ANY) as { ret: number }).ret), '= 0', 'EINVAL'],
  ['shmctl: IPC_STAT without read permission', (f) => (f.user(), f.t.sys.shmctl(f.m, C.IPC_STAT)), 'EACCES', 'EACCES'],
  ['shmctl: IPC_RMID by a non-owner', (f) => (f.user(), f.t.sys.shmctl(f.m, C.IPC_RMID)), 'EPERM', 'EPERM'],
];

function fixture(profile: ProfileName): Fx {
  const k = new Kernel({ profile });
  const t = k.init;
  const q = t.sys.msgget(0x10, C.IPC_CREAT | 0o600);
  t.sys.msgsnd(q, 1, 'hello', 0);
  const s = t.sys.semget(0x20, 2, C.IPC_CREAT | 0o600);
  const m = t.sys.shmget(0x30, 4096, C.IPC_CREAT | 0o600);
  return {
    k, t, q, s, m,
    user: () => {
      t.sys.setgroups([]);
      t.sys.call('setresgid', -1, 1000, -1);
      t.sys.setresuid(-1, 1000, -1);
    },
    sysctl: (name, value) => void writeFile(t, `/proc/sys/kernel/${name}`, `${value}\n`),
  };
}

function outcome(fn: () => unknown): string {
  try {
    const v = fn();
    return `= ${JSON.stringify(v)}`;
  } catch (e) {
    if (e instanceof ErrnoError) return e.code;
    if (e instanceof WouldBlockError) return 'WOULDBLOCK';
    throw e;
  }
}

for (const [i, profile] of (['linux-6', 'linux-2.6.26'] as const).entries()) {
  test(`${profile}: errno table (${ROWS.length} rows)`, () => {
    const bad: string[] = [];
    for (const row of ROWS) {
      const f = fixture(profile);
      const want = row[2 + i]!;
      const got = outcome(() => row[1](f));
      const match = want === 'ok' ? got.startsWith('=') : got === want;
      if (!match) bad.push(`${row[0]}: want ${want}, got ${got}`);
    }
    assert.deepEqual(bad, []);
  });
}
