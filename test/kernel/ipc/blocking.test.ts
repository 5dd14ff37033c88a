/**
 * Blocking SysV IPC under the scheduler: pipelined msgsnd → msgrcv hand-off (FIFO among receivers,
 * by type, E2BIG to a receiver too small), senders sleeping on a full queue, EIDRM on removal,
 * EINTR from a handled signal, semop FIFO wake-up and all-or-nothing, semtimedop deadlines,
 * GETNCNT/GETZCNT counting sleepers, SEM_UNDO at exit shared through CLONE_SYSVSEM, and a
 * sleeper surviving a snapshot/restore.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, constants as C } from '../../../src/index.js';
import { PROFILES } from '../../helpers.js';
import { SEQ, results, spawn } from './seq.js';

const dec = new TextDecoder();
const text = (v: unknown) => dec.decode((v as { mtext: Uint8Array }).mtext);

function boot(profile: (typeof PROFILES)[number] = 'linux-6'): Kernel {
  const k = new Kernel({ profile });
  k.installProgram(SEQ);
  return k;
}

for (const profile of PROFILES) {
  test(`${profile}: msgrcv sleeps and is handed the message by msgsnd (FIFO, by type, E2BIG)`, () => {
    const k = boot(profile);
    const q = k.init.sys.msgget(C.IPC_PRIVATE, 0o600);
    spawn(k, 'r1', [['msgrcv', [q, 100, 2, 0]]]);
    spawn(k, 'r2', [['msgrcv', [q, 100, 0, 0]]]);
    spawn(k, 'r3', [['msgrcv', [q, 100, 0, 0]]]);
    spawn(k, 'small', [['msgrcv', [q, 2, 7, 0]]]);
    k.run();
    assert.equal(k.init.sys.msgctl(q, C.IPC_STAT).msg_qnum, 0);
    // Type 1 skips r1 (wants type 2) and goes to r2; the next to r3; type 2 to r1.
    k.init.sys.msgsnd(q, 1, 'first', 0);
    k.init.sys.msgsnd(q, 1, 'second', 0);
    k.init.sys.msgsnd(q, 2, 'two', 0);
    k.init.sys.msgsnd(q, 7, 'too long', 0);
    k.run();
    assert.equal(text(results('r2')[0]), 'first');
    assert.equal(text(results('r3')[0]), 'second');
    assert.equal(text(results('r1')[0]), 'two');
    assert.deepEqual(results('small'), ['!E2BIG']);
    // The too-long message went to the queue (nobody else wanted it); the handed-off ones did not.
    const ds = k.init.sys.msgctl(q, C.IPC_STAT);
    assert.equal(ds.msg_qnum, 1);
    assert.ok(ds.msg_lrpid > 1);
  });

  test(`${profile}: msgsnd sleeps on a full queue until a receive makes room; RMID gives EIDRM`, () => {
    const k = boot(profile);
    const sys = k.init.sys;
    const q = sys.msgget(C.IPC_PRIVATE, 0o600);
    sys.msgctl(q, C.IPC_SET, { msg_perm: { uid: 0, gid: 0, mode: 0o600 }, msg_qbytes: 10 });
    sys.msgsnd(q, 1, '0123456789', 0);
    spawn(k, 'w', [['msgsnd', [q, 1, 'abc', 0]]]);
    k.run();
    assert.deepEqual(results('w'), []);
    assert.equal(sys.msgrcv(q, 100, 0, 0).mtext.length, 10);
    k.run();
    assert.deepEqual(results('w'), [0]);
    assert.equal(sys.msgctl(q, C.IPC_STAT).msg_cbytes, 3);
    // Removal wakes receivers and senders with EIDRM.
    spawn(k, 'r', [['msgrcv', [q, 100, 9, 0]]]);
    spawn(k, 'w2', [['msgsnd', [q, 1, '0123456789', 0]]]);
    k.run();
    sys.msgctl(q, C.IPC_RMID);
    k.run();
    assert.deepEqual(results('r'), ['!EIDRM']);
    assert.deepEqual(results('w2'), ['!EIDRM']);
  });

  test(`${profile}: a handled signal interrupts a sleeping msgrcv and semop with EINTR`, () => {
    const k = boot(profile);
    const q = k.init.sys.msgget(C.IPC_PRIVATE, 0o600);
    const s = k.init.sys.semget(C.IPC_PRIVATE, 1, 0o600);
    const a = spawn(k, 'a', [['rt_sigaction', [C.SIGUSR1, 2]], ['msgrcv', [q, 10, 0, 0]]]);
    const b = spawn(k, 'b', [['rt_sigaction', [C.SIGUSR1, 2]], ['semop', [s, [{ sem_num: 0, sem_op: -1, sem_flg: 0 }]]]]);
    k.run();
    assert.equal(k.init.sys.semctl(s, 0, C.GETNCNT), 1);
    k.init.sys.kill(k.pidIn(a.kid, k.init.kid), C.SIGUSR1);
    k.init.sys.kill(k.pidIn(b.kid, k.init.kid), C.SIGUSR1);
    k.run();
    assert.deepEqual(results('a'), [0, '!EINTR']);
    assert.deepEqual(results('b'), [0, '!EINTR']);
    assert.equal(k.init.sys.semctl(s, 0, C.GETNCNT), 0);
  });

  test(`${profile}: semop sleepers are woken in FIFO order, all or nothing, and counted by GETNCNT/GETZCNT`, () => {
    const k = boot(profile);
    const sys = k.init.sys;
    const s = sys.semget(C.IPC_PRIVATE, 2, 0o600);
    const dec1 = (n: number) => ({ sem_num: n, sem_op: -1, sem_flg: 0 });
    spawn(k, 'first', [['semop', [s, [dec1(0)]]]]);
    spawn(k, 'both', [['semop', [s, [dec1(0), dec1(1)]]]]);
    spawn(k, 'second', [['semop', [s, [dec1(0)]]]]);
    spawn(k, 'zero', [['semop', [s, [{ sem_num: 1, sem_op: 0, sem_flg: 0 }]]]]);
    sys.semctl(s, 1, C.SETVAL, 1);
    k.run();
    assert.equal(sys.semctl(s, 0, C.GETNCNT), 3);
    assert.equal(sys.semctl(s, 1, C.GETZCNT), 1);
    // 'both' blocks on sem 0 (its first op): modern kernels count only that op; 2.6.26 counted
    // every decrement of a sleeper.
    assert.equal(sys.semctl(s, 1, C.GETNCNT), profile === 'linux-2.6.26' ? 1 : 0);
    sys.semop(s, [{ sem_num: 0, sem_op: 1, sem_flg: 0 }]);
    k.run();
    assert.deepEqual(results('first'), [0]);
    assert.deepEqual(results('both'), []);
    sys.semop(s, [{ sem_num: 0, sem_op: 1, sem_flg: 0 }]);
    k.run();
    // 'both' was queued before 'second' and can go: it takes sem 0 and sem 1 together; then
    // sem 1 is 0 and the wait-for-zero completes too.
    assert.deepEqual(results('both'), [0]);
    assert.deepEqual(results('second'), []);
    assert.deepEqual(results('zero'), [0]);
    assert.deepEqual(sys.semctl(s, 0, C.GETALL), [0, 0]);
    sys.semctl(s, 0, C.IPC_RMID);
    k.run();
    assert.deepEqual(results('second'), ['!EIDRM']);
  });

  test(`${profile}: semtimedop times out with EAGAIN at its virtual deadline`, () => {
    const k = boot(profile);
    const s = k.init.sys.semget(C.IPC_PRIVATE, 1, 0o600);
    const t0 = k.now;
    spawn(k, 't', [['semtimedop', [s, [{ sem_num: 0, sem_op: -1, sem_flg: 0 }], { tv_sec: 2, tv_nsec: 500 }]]]);
    spawn(k, 'z', [['semtimedop', [s, [{ sem_num: 0, sem_op: -1, sem_flg: 0 }], { tv_sec: 0, tv_nsec: 0 }]]]);
    k.run();
    assert.deepEqual(results('t'), ['!EAGAIN']);
    assert.deepEqual(results('z'), ['!EAGAIN']);
    assert.ok(k.now >= t0 + 2e9 + 500);
    // In time: completed by the waker, no EAGAIN.
    const ok = spawn(k, 'ok', [['semtimedop', [s, [{ sem_num: 0, sem_op: -1, sem_flg: 0 }], { tv_sec: 5, tv_nsec: 0 }]]]);
    // Run until it sleeps (run() alone would jump the clock to its deadline).
    k.run({ until: () => ok.state.state === 'blocked' });
    k.init.sys.semctl(s, 0, C.SETVAL, 1);
    k.run();
    assert.deepEqual(results('ok'), [0]);
  });

  test(`${profile}: SEM_UNDO is shared through CLONE_SYSVSEM and applied at the last exit, clamped`, () => {
    const k = boot(profile);
    const sys = k.init.sys;
    const s = sys.semget(C.IPC_PRIVATE, 2, 0o600);
    sys.semctl(s, 0, C.SETALL, [5, 0]);
    const pid = sys.clone(C.CLONE_SYSVSEM | C.SIGCHLD);
    const a = k.task(pid)!;
    a.sys.semop(s, [{ sem_num: 0, sem_op: -3, sem_flg: C.SEM_UNDO }, { sem_num: 1, sem_op: 2, sem_flg: C.SEM_UNDO }]);
    // init shares a's undo list (CLONE_SYSVSEM): a's exit applies nothing yet.
    a.sys.exit_group(0);
    sys.wait4(pid, 0);
    assert.deepEqual(sys.semctl(s, 0, C.GETALL), [2, 2]);
    // A plain fork starts with an empty list; its adjustments go at its exit, clamped at 0.
    const bpid = sys.fork();
    const b = k.task(bpid)!;
    b.sys.semop(s, [{ sem_num: 1, sem_op: 1, sem_flg: C.SEM_UNDO }]);
    sys.semctl(s, 1, C.SETVAL, 0);
    b.sys.semop(s, [{ sem_num: 1, sem_op: 4, sem_flg: C.SEM_UNDO }]);
    b.sys.exit_group(0);
    sys.wait4(bpid, 0);
    // SETVAL cleared b's first adjustment; the second (-4) is applied to 4 → 0.
    assert.deepEqual(sys.semctl(s, 0, C.GETALL), [2, 0]);
    assert.equal(sys.semctl(s, 1, C.GETPID), bpid);
    // init's own list (shared with the dead a) is applied when init leaves it (unshare CLONE_SYSVSEM).
    sys.unshare(C.CLONE_SYSVSEM);
    assert.deepEqual(sys.semctl(s, 0, C.GETALL), [5, 0]);
  });

  test(`${profile}: exit_sem sets sem_otime on every set its undo list names, even with nothing to adjust`, () => {
    const k = boot(profile);
    const sys = k.init.sys;
    const s = sys.semget(C.IPC_PRIVATE, 1, 0o600);
    const pid = sys.fork();
    const b = k.task(pid)!;
    // A failed semop with SEM_UNDO already has its undo entry (find_alloc_undo comes first).
    assert.throws(() => b.sys.semop(s, [{ sem_num: 0, sem_op: -1, sem_flg: C.SEM_UNDO | C.IPC_NOWAIT }]), { code: 'EAGAIN' });
    assert.equal(sys.semctl(s, 0, C.IPC_STAT).sem_otime, 0);
    k.advance(5e9);
    b.sys.exit_group(0);
    sys.wait4(pid, 0);
    // Linux: sem_otime = now (2.6.26 exit_sem; modern do_smart_update(..., otime=1)), values untouched.
    assert.equal(sys.semctl(s, 0, C.IPC_STAT).sem_otime, k.seconds);
    assert.notEqual(k.seconds, 0);
    assert.deepEqual(sys.semctl(s, 0, C.GETALL), [0]);
  });
}

test('a sleeping msgrcv survives a snapshot and is completed after restore', () => {
  const k = boot();
  const q = k.init.sys.msgget(0x42, C.IPC_CREAT | 0o600);
  spawn(k, 'sleeper', [['msgrcv', [q, 100, 0, 0]]]);
  k.run();
  const k2 = Kernel.fromState(k.snapshot(), { programs: k.programs.values() });
  k2.init.sys.msgsnd(q, 3, 'after restore', 0);
  k2.run();
  assert.equal(text(results('sleeper')[0]), 'after restore');
  assert.equal(k2.init.sys.msgctl(q, C.IPC_STAT).msg_qnum, 0);
});

for (const profile of PROFILES) {
  test(`${profile}: a sleeping msgrcv keeps Linux's msg_receiver (mode, type, maxsize) and is matched by it, not by its raw arguments`, () => {
    const k = boot(profile);
    const sys = k.init.sys;
    const q = sys.msgget(C.IPC_PRIVATE, 0o600);
    const LONG_MIN = -(2n ** 63n);
    const except = spawn(k, 'except', [['msgrcv', [q, 100, 5, C.MSG_EXCEPT]]]);
    const noerror = spawn(k, 'noerror', [['msgrcv', [q, 3, -4, C.MSG_NOERROR]]]);
    const longmin = spawn(k, 'longmin', [['msgrcv', [q, 100, -(2 ** 63), 0]]]); // LONG_MIN, exact as a double
    k.run();
    const receiver = (t: typeof except) => k.t(t.kid).blocked?.data;
    // convert_mode(): SEARCH_NOTEQUAL 3, SEARCH_LESSEQUAL 4; r_maxsize INT_MAX under MSG_NOERROR.
    assert.deepEqual(receiver(except), { mode: 3, type: 5, maxsize: 100, bufsz: 100 });
    assert.deepEqual(receiver(noerror), { mode: 4, type: 4, maxsize: 0x7fffffff, bufsz: 3 });
    // -LONG_MIN is LONG_MAX since 3.x; 2.6.26 kept LONG_MIN, which no type matches.
    assert.deepEqual(receiver(longmin), { mode: 4, type: profile === 'linux-6' ? 2n ** 63n - 1n : LONG_MIN, maxsize: 100, bufsz: 100 });
    // The parked calls' arguments no longer decide anything.
    for (const t of [except, noerror, longmin]) k.t(t.kid).blocked!.call.args = [q, 0, 0, 0];
    // (Read from the tampered arguments, `except` would take the first message, with E2BIG.)
    sys.msgsnd(q, 5, 'five', 0); // not for `except`, too high for `noerror`; `longmin` on linux-6
    sys.msgsnd(q, 1, 'one', 0); // `except`, first in FIFO order
    sys.msgsnd(q, 2, 'two, truncated', 0); // `noerror` (type <= 4), cut to its 3 bytes
    k.run();
    assert.equal(text(results('except')[0]), 'one');
    assert.equal(text(results('noerror')[0]), 'two');
    if (profile === 'linux-6') assert.equal(text(results('longmin')[0]), 'five');
    else {
      assert.deepEqual(results('longmin'), []);
      assert.equal(sys.msgctl(q, C.IPC_STAT).msg_qnum, 1);
    }
  });
}
