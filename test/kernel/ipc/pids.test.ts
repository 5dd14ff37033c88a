/**
 * Pids stored in IPC objects (msg lspid/lrpid, sempid, shm cpid/lpid) outlive the task and its pid
 * namespace, as Linux's struct pid does (4.17+: the records hold a reference): read from the
 * initial namespace they give the task's number there; from an unrelated namespace, 0. Nothing
 * that shows them (IPC_STAT, GETPID, /proc/sysvipc/*, ipcs) may fail once the namespace is gone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, constants as C } from '../../../src/index.js';
import { readFile } from '../../helpers.js';
import { SEQ, spawn } from './seq.js';

test('pids recorded by a task of a pid namespace that is gone: the initial namespace sees its number, another sees 0', () => {
  const k = new Kernel();
  const init = k.init;
  const q = init.sys.msgget(C.IPC_PRIVATE, 0o666);
  const sem = init.sys.semget(C.IPC_PRIVATE, 1, 0o666);
  const shm = init.sys.shmget(C.IPC_PRIVATE, 4096, 0o666);
  // A container: its init sends, receives, operates, creates and attaches; then it dies.
  const c = k.task(init.sys.clone(C.CLONE_NEWPID | C.SIGCHLD))!;
  const hostPid = c.pid;
  assert.equal(c.sys.getpid(), 1);
  c.sys.msgsnd(q, 1, 'x', 0);
  c.sys.msgsnd(q, 1, 'y', 0);
  c.sys.msgrcv(q, 10, 0, 0);
  c.sys.semop(sem, [{ sem_num: 0, sem_op: 1, sem_flg: 0 }]);
  const shm2 = c.sys.shmget(C.IPC_PRIVATE, 4096, 0o666);
  c.sys.shmdt(c.sys.shmat(shm, 0, 0));
  // Another pid namespace that is alive, for a viewer that cannot see the container.
  const other = k.task(init.sys.clone(C.CLONE_NEWPID | C.SIGCHLD))!;
  c.sys.exit(0);
  init.sys.wait4(hostPid, 0);
  assert.equal(k.task(hostPid), undefined);

  const ds = init.sys.msgctl(q, C.IPC_STAT);
  assert.equal(ds.msg_lspid, hostPid);
  assert.equal(ds.msg_lrpid, hostPid);
  assert.equal(init.sys.semctl(sem, 0, C.GETPID), hostPid);
  const s1 = init.sys.shmctl(shm, C.IPC_STAT);
  assert.equal(s1.shm_lpid, hostPid);
  assert.equal(init.sys.shmctl(shm2, C.IPC_STAT).shm_cpid, hostPid);

  assert.equal(other.sys.msgctl(q, C.IPC_STAT).msg_lspid, 0);
  assert.equal(other.sys.semctl(sem, 0, C.GETPID), 0);
  assert.equal(other.sys.shmctl(shm2, C.IPC_STAT).shm_cpid, 0);

  for (const viewer of [init, other]) {
    for (const f of ['msg', 'sem', 'shm']) assert.match(readFile(viewer, `/proc/sysvipc/${f}`), /key/);
  }
  assert.match(readFile(init, '/proc/sysvipc/msg'), new RegExp(` ${hostPid} +${hostPid} `));
  // A snapshot taken now resumes with the same answers.
  const k2 = Kernel.fromState(k.snapshot(), { programs: k.programs.values() });
  assert.equal(k2.init.sys.msgctl(q, C.IPC_STAT).msg_lspid, hostPid);
});

test('linux-2.6.26: an IPC record holds the number the recorder had in its own namespace, shown to every reader', () => {
  const k = new Kernel({ profile: 'linux-2.6.26' });
  const init = k.init;
  const q = init.sys.msgget(C.IPC_PRIVATE, 0o666);
  const sem = init.sys.semget(C.IPC_PRIVATE, 1, 0o666);
  const c = k.task(init.sys.clone(C.CLONE_NEWPID | C.SIGCHLD))!;
  assert.equal(c.sys.getpid(), 1);
  assert.notEqual(c.pid, 1);
  c.sys.msgsnd(q, 1, 'x', 0);
  c.sys.semop(sem, [{ sem_num: 0, sem_op: 1, sem_flg: 0 }]);
  // task_tgid_vnr(current) at record time: 1, whoever reads it (the 4.17 fix is not in 2.6.26).
  assert.equal(init.sys.msgctl(q, C.IPC_STAT).msg_lspid, 1);
  assert.equal(init.sys.semctl(sem, 0, C.GETPID), 1);
  assert.match(readFile(init, '/proc/sysvipc/msg'), / +1 +0 +0 /);
  c.sys.exit(0);
  init.sys.wait4(c.pid, 0);
  assert.equal(init.sys.msgctl(q, C.IPC_STAT).msg_lspid, 1);
});

test('linux-2.6.26: a receiver handed a message by msgsnd is recorded as the sender sees it (task_pid_vnr)', () => {
  const k = new Kernel({ profile: 'linux-2.6.26' });
  k.installProgram(SEQ);
  const init = k.init;
  const q = init.sys.msgget(C.IPC_PRIVATE, 0o666);
  const c = k.task(init.sys.clone(C.CLONE_NEWPID | C.SIGCHLD))!;
  const r = spawn(k, 'r', [['msgrcv', [q, 10, 0, 0]]], c);
  k.run();
  init.sys.msgsnd(q, 1, 'x', 0);
  // The receiver is pid 2 inside; the host sender sees its host number.
  assert.equal(init.sys.msgctl(q, C.IPC_STAT).msg_lrpid, r.pid);
  assert.notEqual(r.pid, 2);
  // A receiver on the host, a sender in the container that cannot see it: 0.
  spawn(k, 'h', [['msgrcv', [q, 10, 0, 0]]]);
  k.run();
  c.sys.msgsnd(q, 1, 'y', 0);
  assert.equal(init.sys.msgctl(q, C.IPC_STAT).msg_lrpid, 0);
});
