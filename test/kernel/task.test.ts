/**
 * Tasks: clone flag checks, wait4 and status encoding, zombies, threads, exit_group, kill and its
 * permissions, stop/continue, credentials and the setuid family, execve errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C } from '../../src/index.js';
import { defineBareProgram } from '../../src/syscalls/program.js';
import type { ErrnoCode } from '../../src/abi/errno.js';
import { PROFILES, boot, expectErrno, readFile, writeFile } from '../helpers.js';

const THREAD = C.CLONE_VM | C.CLONE_SIGHAND | C.CLONE_THREAD;

for (const profile of PROFILES) {
  test(`errno table (${profile}): clone flags`, () => {
    const k = boot(profile);
    const t = k.init;
    const user = k.task(t.sys.fork())!;
    user.sys.setuid(1000);
    const rows: Array<[string, () => unknown, ErrnoCode]> = [
      ['CLONE_NEWNS|CLONE_FS', () => t.sys.clone(C.CLONE_NEWNS | C.CLONE_FS), 'EINVAL'],
      ['CLONE_THREAD without SIGHAND', () => t.sys.clone(C.CLONE_THREAD | C.CLONE_VM), 'EINVAL'],
      ['CLONE_SIGHAND without VM', () => t.sys.clone(C.CLONE_SIGHAND), 'EINVAL'],
      ['CLONE_NEWPID|CLONE_THREAD', () => t.sys.clone(C.CLONE_NEWPID | THREAD), 'EINVAL'],
      ['CLONE_NEWIPC|CLONE_SYSVSEM', () => t.sys.clone(C.CLONE_NEWIPC | C.CLONE_SYSVSEM), 'EINVAL'],
      ['init CLONE_PARENT', () => t.sys.clone(C.CLONE_PARENT | C.SIGCHLD), 'EINVAL'],
      ['unprivileged CLONE_NEWPID', () => user.sys.clone(C.CLONE_NEWPID | C.SIGCHLD), 'EPERM'],
      ['unprivileged CLONE_NEWIPC', () => user.sys.clone(C.CLONE_NEWIPC | C.SIGCHLD), 'EPERM'],
      ['unshare(bogus)', () => t.sys.unshare(0x1), 'EINVAL'],
      ['unprivileged unshare(CLONE_NEWIPC)', () => user.sys.unshare(C.CLONE_NEWIPC), 'EPERM'],
      ['wait4 bad options', () => t.sys.wait4(-1, 0x100), 'EINVAL'],
      ['kill bad signal', () => t.sys.kill(1, 65), 'EINVAL'],
      ['kill no such pid', () => t.sys.kill(31000, 0), 'ESRCH'],
      ['kill(0 other user)', () => user.sys.kill(1, C.SIGTERM), 'EPERM'],
      ['setuid unprivileged', () => user.sys.setuid(0), 'EPERM'],
      ['setgroups unprivileged', () => user.sys.setgroups([1]), 'EPERM'],
      ['rt_sigaction(SIGKILL)', () => t.sys.rt_sigaction(C.SIGKILL, C.SIG_IGN), 'EINVAL'],
      ['getpgid(no such)', () => t.sys.getpgid(31000), 'ESRCH'],
      ['getpgid(-1)', () => t.sys.getpgid(-1), 'ESRCH'],
      ['getsid(-1)', () => t.sys.getsid(-1), 'ESRCH'],
      ['setpgid(-1, 5)', () => t.sys.setpgid(-1, 5), 'ESRCH'],
      ['setpgid(-1, 0)', () => t.sys.setpgid(-1, 0), 'EINVAL'],
      ['setpgid(0, -1)', () => t.sys.setpgid(0, -1), 'EINVAL'],
      ['setns', () => t.sys.setns(99, 0), profile === 'linux-6' ? 'EBADF' : 'ENOSYS'],
    ];
    for (const [name, fn, code] of rows) expectErrno(fn, code, name);
  });
}

test('wait4: status encoding, WNOHANG, ECHILD, specific pid, reaping order by creation', () => {
  const k = boot();
  const t = k.init;
  expectErrno(() => t.sys.wait4(-1, 0), 'ECHILD');
  const a = k.task(t.sys.fork())!;
  const b = k.task(t.sys.fork())!;
  assert.deepEqual(t.sys.wait4(-1, C.WNOHANG), { pid: 0, status: 0 });
  b.sys.exit(7);
  a.sys.exit_group(300);
  // Both are zombies: the earlier-created child is reported first (Linux walks its children list).
  assert.deepEqual(t.sys.wait4(-1, 0), { pid: a.pid, status: (300 & 0xff) << 8 });
  assert.deepEqual(t.sys.wait4(b.pid, 0), { pid: b.pid, status: 7 << 8 });
  expectErrno(() => t.sys.wait4(b.pid, 0), 'ECHILD');
  const c = k.task(t.sys.fork())!;
  t.sys.kill(c.pid, C.SIGTERM);
  assert.deepEqual(t.sys.wait4(c.pid, 0), { pid: c.pid, status: C.SIGTERM });
});

test('a reparented child gets SIGCHLD as its exit signal (reparent_leader): the new parent reaps it without __WCLONE', () => {
  const k = boot();
  const t = k.init;
  const a = k.task(t.sys.fork())!;
  const zombie = k.task(a.sys.clone(0))!;
  const live = k.task(a.sys.clone(0))!;
  zombie.sys.exit(3);
  a.sys.exit(0);
  assert.deepEqual(t.sys.wait4(a.pid, 0), { pid: a.pid, status: 0 });
  assert.deepEqual(t.sys.wait4(-1, C.WNOHANG), { pid: zombie.pid, status: 3 << 8 }, 'a zombie child is notified to init');
  live.sys.exit(4);
  assert.deepEqual(t.sys.wait4(-1, 0), { pid: live.pid, status: 4 << 8 });
});

test('clone with another exit signal needs __WCLONE or __WALL; SIGCHLD ignored autoreaps', () => {
  const k = boot();
  const t = k.init;
  const c = k.task(t.sys.clone(C.SIGUSR1))!;
  expectErrno(() => t.sys.wait4(-1, C.WNOHANG), 'ECHILD');
  c.sys.exit(1);
  assert.equal(t.sys.wait4(-1, C.__WCLONE).pid, c.pid);
  t.sys.rt_sigaction(C.SIGCHLD, C.SIG_IGN);
  const d = k.task(t.sys.fork())!;
  d.sys.exit(0);
  assert.equal(k.task(d.pid), undefined, 'reaped at exit');
  expectErrno(() => t.sys.wait4(-1, 0), 'ECHILD');
});

test('threads: tids, exit of one thread, exit_group kills all, leader zombie until the group is done', () => {
  const k = boot();
  const t = k.init;
  const p = k.task(t.sys.fork())!;
  const tid1 = p.sys.clone(THREAD);
  const tid2 = p.sys.clone(THREAD);
  const th1 = k.task(tid1)!;
  assert.equal(th1.sys.getpid(), p.pid);
  assert.equal(th1.sys.gettid(), tid1);
  assert.equal(th1.sys.getppid(), 1);
  th1.sys.exit(0);
  assert.equal(k.task(tid1), undefined, 'a non-leader thread is released at once');
  p.sys.exit(0);
  assert.equal(p.state.state, 'zombie');
  assert.deepEqual(t.sys.wait4(p.pid, C.WNOHANG), { pid: 0, status: 0 }, 'the group is still alive');
  k.task(tid2)!.sys.exit_group(5);
  assert.deepEqual(t.sys.wait4(p.pid, 0), { pid: p.pid, status: 5 << 8 });
});

test('SIGSTOP/SIGCONT: stopped and continued reports through wait4', () => {
  const k = boot();
  const t = k.init;
  const c = k.task(t.sys.fork())!;
  t.sys.kill(c.pid, C.SIGSTOP);
  assert.equal(c.state.state, 'stopped');
  assert.deepEqual(t.sys.wait4(c.pid, C.WUNTRACED | C.WNOHANG), { pid: c.pid, status: (C.SIGSTOP << 8) | 0x7f });
  t.sys.kill(c.pid, C.SIGCONT);
  assert.deepEqual(t.sys.wait4(c.pid, C.WCONTINUED | C.WNOHANG), { pid: c.pid, status: 0xffff });
  assert.equal(c.state.state, 'running');
});

test('credentials: setuid drops capabilities; setresuid/seteuid round trip; groups', () => {
  const k = boot();
  const t = k.init;
  const c = k.task(t.sys.fork())!;
  c.sys.setgroups([10, 5]);
  assert.deepEqual(c.sys.getgroups(), [5, 10]);
  c.sys.seteuid(1000);
  assert.deepEqual(c.sys.getresuid(), [0, 1000, 0]);
  assert.equal(c.sys.capget().effective, 0n, 'euid 0 → non-0 clears the effective set');
  c.sys.seteuid(0);
  assert.notEqual(c.sys.capget().effective, 0n, 'regained from the permitted set');
  c.sys.setresuid(1000, 1000, 1000);
  assert.equal(c.sys.capget().permitted, 0n);
  expectErrno(() => c.sys.seteuid(0), 'EPERM');
  c.sys.setreuid(-1, 1000);
  expectErrno(() => c.sys.setuid(-5), 'EINVAL');
  const d = k.task(t.sys.fork())!;
  d.sys.setgid(50);
  assert.deepEqual(d.sys.getresgid(), [50, 50, 50]);
  d.sys.capset(0n, 0n);
  expectErrno(() => d.sys.capset(1n, 1n), 'EPERM');
});

test('setfsuid: returns the old fsuid; an invalid uid changes nothing; leaving fsuid 0 drops the fs capabilities', () => {
  const k = boot();
  const c = k.task(k.init.sys.fork())!;
  const CAP_DAC_OVERRIDE = 1n << 1n;
  assert.equal(c.sys.setfsuid(-1), 0);
  assert.equal(c.sys.setfsuid(-1), 0, 'uid -1 is invalid: fsuid stays 0');
  assert.equal(c.sys.setfsuid(1000), 0);
  assert.equal(c.sys.capget().effective & CAP_DAC_OVERRIDE, 0n, 'fsuid 0 → 1000 drops CAP_DAC_OVERRIDE');
  k.init.sys.close(k.init.sys.open('/tmp/secret', C.O_WRONLY | C.O_CREAT, 0o600));
  expectErrno(() => c.sys.open('/tmp/secret', C.O_RDONLY), 'EACCES');
  assert.equal(c.sys.setfsuid(0), 1000);
  assert.notEqual(c.sys.capget().effective & CAP_DAC_OVERRIDE, 0n, 'fsuid back to 0 restores it');
  c.sys.setresuid(1000, 1000, 1000);
  assert.equal(c.sys.setfsuid(0), 1000, 'unprivileged: not to an id it does not hold');
  assert.equal(c.sys.setfsuid(1000), 1000);
});

test('execve: ENOENT, EACCES (mode, directory), ENOEXEC, scripts with #!, ELOOP', () => {
  const k = boot();
  const prog = defineBareProgram({ name: '/bin/exec-test', start: () => ({}), step: () => undefined });
  k.installProgram(prog);
  const t = k.init;
  const c = k.task(t.sys.fork())!;
  expectErrno(() => c.sys.execve('/nope', ['x']), 'ENOENT');
  expectErrno(() => c.sys.execve('/tmp', ['x']), 'EACCES');
  writeFile(t, '/tmp/plain', 'hello', C.O_WRONLY | C.O_CREAT);
  expectErrno(() => c.sys.execve('/tmp/plain', ['x']), 'EACCES');
  const fd = t.sys.open('/tmp/notexe', C.O_WRONLY | C.O_CREAT, 0o755);
  t.sys.write(fd, 'garbage');
  expectErrno(() => c.sys.execve('/tmp/notexe', ['x']), 'ENOEXEC');
  const s = t.sys.open('/tmp/script', C.O_WRONLY | C.O_CREAT, 0o755);
  t.sys.write(s, '#!/bin/exec-test -x\necho hi\n');
  c.sys.execve('/tmp/script', ['script', 'a']);
  assert.deepEqual(c.state.prog?.argv, ['/bin/exec-test', '-x', '/tmp/script', 'a']);
  assert.equal(c.state.comm, 'exec-test');
  const loop = t.sys.open('/tmp/loop', C.O_WRONLY | C.O_CREAT, 0o755);
  t.sys.write(loop, '#!/tmp/loop\n');
  expectErrno(() => c.sys.execve('/tmp/loop', ['loop']), 'ELOOP');
  expectErrno(() => c.sys.execve('/tmp/script', 'nope' as unknown as string[]), 'EFAULT');
});

test('execve from a non-leader thread: the other threads die and it takes over the pid', () => {
  const k = boot();
  const prog = defineBareProgram({ name: '/bin/exec-thread', start: () => ({}), step: () => undefined });
  k.installProgram(prog);
  const p = k.task(k.init.sys.fork())!;
  const other = p.sys.clone(THREAD);
  const execer = k.task(p.sys.clone(THREAD))!;
  execer.sys.execve('/bin/exec-thread', ['x']);
  assert.equal(k.task(other), undefined);
  assert.equal(k.task(execer.pid), undefined, 'its own tid is gone');
  const leader = k.task(p.pid)!;
  assert.equal(leader.state.prog?.name, '/bin/exec-thread');
  assert.equal(k.proc(p.pid).threads.length, 1);
});

test('execve from a non-leader thread while the leader sleeps: the leader leaves its wait queue', () => {
  const k = boot();
  const done = defineBareProgram({ name: '/bin/exec-done', start: () => ({}), step: () => ({ exit: 0 }) });
  k.installProgram(done);
  interface S { pc: 'start' | 'cloned' | 'child' }
  const prog = defineBareProgram<S>({
    name: '/bin/exec-while-leader-sleeps',
    start: () => ({ pc: 'start' }),
    step(ctx) {
      const s = ctx.state;
      if (s.pc === 'start') {
        s.pc = 'cloned';
        return { call: 'clone', args: [THREAD] };
      }
      if (s.pc === 'cloned' && ctx.result?.ok && ctx.result.value === 0) {
        s.pc = 'child';
        return undefined; // let the leader go to sleep first
      }
      if (s.pc === 'child') return { call: 'execve', args: ['/bin/exec-done', ['exec-done']] };
      return { call: 'nanosleep', args: [1e12] };
    },
  });
  k.installProgram(prog);
  const p = k.task(k.init.sys.fork())!;
  p.sys.execve('/bin/exec-while-leader-sleeps', ['x']);
  k.run({ until: () => p.state.prog?.name === '/bin/exec-done' });
  assert.deepEqual(k.sleepers('sleep'), [], 'the dead leader is no longer a sleeper');
  assert.equal(k.nextDeadline(), null);
  k.run();
  assert.deepEqual(k.init.sys.wait4(p.pid, 0), { pid: p.pid, status: 0 });
});

test('rt_sigaction to SIG_DFL of a default-ignored signal discards its pending instances, like SIG_IGN', () => {
  const k = boot();
  const c = k.task(k.init.sys.fork())!;
  const SIGURG = 23;
  const bit = 1n << BigInt(SIGURG - 1);
  c.sys.rt_sigaction(SIGURG, 2);
  c.sys.rt_sigprocmask(0 /* SIG_BLOCK */, bit);
  c.sys.kill(c.sys.getpid(), SIGURG);
  const shdPnd = () => BigInt('0x' + /ShdPnd:\t([0-9a-f]+)/.exec(readFile(c, '/proc/self/status'))![1]!);
  assert.equal(shdPnd(), bit, 'blocked and handled: pending');
  c.sys.rt_sigaction(SIGURG, C.SIG_DFL);
  assert.equal(shdPnd(), 0n);
});

test('process groups and sessions: setpgid, setsid, getsid', () => {
  const k = boot();
  const t = k.init;
  const c = k.task(t.sys.fork())!;
  assert.equal(c.sys.getpgid(0), 1);
  c.sys.setpgid(0, 0);
  assert.equal(c.sys.getpgid(0), c.pid);
  expectErrno(() => c.sys.setsid(), 'EPERM', 'a group leader cannot setsid');
  const g = k.task(c.sys.fork())!;
  assert.equal(g.sys.setsid(), g.pid);
  assert.equal(g.sys.getsid(0), g.pid);
  expectErrno(() => c.sys.setpgid(g.pid, c.pid), 'EPERM', 'child in another session');
  // A non-leader thread's tid names no process group, even though its process leads one.
  const tid = c.sys.clone(C.CLONE_VM | C.CLONE_SIGHAND | C.CLONE_THREAD);
  const d = k.task(c.sys.fork())!;
  expectErrno(() => c.sys.setpgid(d.pid, tid), 'EPERM', 'pgid names a thread');
  c.sys.setpgid(d.pid, c.pid);
  assert.equal(d.sys.getpgid(0), c.pid);
  // kill(0) and kill(-pgid) reach the group.
  const h = k.task(c.sys.fork())!;
  t.sys.kill(-c.pid, C.SIGTERM);
  assert.equal(c.alive, false);
  assert.equal(h.alive, false);
  assert.equal(g.alive, true);
});

test('task.memory on an exited or reaped task is ESRCH, like the syscalls (C21)', () => {
  const k = boot();
  const init = k.init;
  const c = k.task(init.sys.fork())!;
  const addr = c.sys.mmap(0, 4096, 3, 0x22);
  c.memory.write(addr, 'hi');
  c.sys.exit_group(0);
  expectErrno(() => c.memory.read(addr, 2), 'ESRCH', 'zombie');
  init.sys.wait4(c.kid, 0);
  const e = expectErrno(() => c.memory.read(addr, 2), 'ESRCH', 'reaped');
  assert.match(e.message, /memory\.read/);
  expectErrno(() => c.memory.write(addr, 'x'), 'ESRCH', 'reaped write');
});

test('Task handle of a reaped task: state and pidIn are ESRCH, not a kernel bug', () => {
  const k = boot();
  const init = k.init;
  const c = k.task(init.sys.fork())!;
  c.sys.exit_group(0);
  assert.equal(c.state.state, 'zombie');
  init.sys.wait4(c.kid, 0);
  expectErrno(() => c.state, 'ESRCH');
  expectErrno(() => c.tgid, 'ESRCH');
  expectErrno(() => k.pidIn(c.kid, init.kid), 'ESRCH');
  assert.equal(c.alive, false);
});
