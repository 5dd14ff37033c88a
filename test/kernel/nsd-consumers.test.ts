/**
 * next_syscall_data consumers and life cycle: patch 3/5 (preset pids), patch 5/5 (preset fds),
 * NSD-SPEC §1 life cycle and the §6 hazards, each shown as a test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, Kernel } from '../../src/index.js';
import { defineBareProgram } from '../../src/syscalls/program.js';
import { PROFILES, arm, boot, expectErrno, nsdPath, readFile, writeFile } from '../helpers.js';

const readers = new WeakMap<Kernel, number>();

/** Reads a task's field through a separate reader task, so the open consumes nothing (hazard 1). */
function nsdOf(k: Kernel, pid: number): string {
  let r = readers.get(k);
  if (r === undefined || !k.task(r)?.alive) {
    // The reader's fork would consume an armed value: create it first (call nsdOf before arming).
    if (k.init.state.nsd) throw new Error('test bug: the reader must be created before init is armed');
    r = k.init.sys.fork();
    readers.set(k, r);
  }
  return readFile(k.task(r)!, `/proc/${pid}/task/${pid}/next_syscall_data`);
}

test('life cycle: not inherited by fork, vfork, clone or a new thread', () => {
  const k = boot();
  const init = k.init;
  nsdOf(k, 1);
  arm(init, 'LONG1 5000');
  const a = init.sys.fork(); // consumes it: a is 5000
  assert.equal(a, 5000);
  assert.equal(nsdOf(k, a), 'UNSET\n');
  // Arm the parent again for each creator; the child never starts armed.
  for (const make of [
    () => init.sys.vfork(),
    () => init.sys.clone(C.SIGCHLD),
    () => init.sys.clone(C.CLONE_VM | C.CLONE_SIGHAND | C.CLONE_THREAD),
  ]) {
    arm(init, 'LONG2 7 8'); // LONG2 on a flat namespace: more values than levels → EINVAL, consumed
    expectErrno(make, 'EINVAL');
    assert.equal(nsdOf(k, 1), 'UNSET\n');
    const pid = make();
    assert.equal(nsdOf(k, pid), 'UNSET\n');
  }
});

test('life cycle: a child armed by itself does not pass it on; exit frees it; exec clears it', () => {
  const k = boot();
  const init = k.init;
  const child = k.task(init.sys.fork())!;
  arm(child, 'LONG1 6000');
  assert.equal(nsdOf(k, child.pid), 'LONG1 6000\n');
  // exec clears it (flush_old_exec). Install a trivial program to exec.
  const prog = defineBareProgram({ name: '/bin/true-nsd-test', start: () => ({}), step: () => ({ exit: 0 }) });
  k.installProgram(prog);
  child.sys.execve('/bin/true-nsd-test', ['true']);
  assert.equal(nsdOf(k, child.pid), 'UNSET\n');
  arm(child, 'LONG1 6001');
  child.sys.exit(0);
  assert.equal(k.t(child.pid).nsd, null);
});

for (const profile of PROFILES) {
  test(`preset pid (${profile}): fork/vfork/clone/thread get exactly the value; ns_last_pid unmoved`, () => {
    const k = boot(profile);
    const init = k.init;
    const cursor = k.pidNs(k.s.rootPidNs).lastPid;
    arm(init, 'LONG1 4242');
    assert.equal(init.sys.fork(), 4242);
    arm(init, 'LONG1 4343');
    assert.equal(init.sys.vfork(), 4343);
    arm(init, 'LONG1 4444');
    assert.equal(init.sys.clone(C.SIGCHLD), 4444);
    arm(init, 'LONG1 4545');
    const tid = init.sys.clone(C.CLONE_VM | C.CLONE_SIGHAND | C.CLONE_THREAD);
    assert.equal(tid, 4545);
    assert.equal(k.task(4545)!.sys.getpid(), 1);
    assert.equal(k.task(4545)!.sys.gettid(), 4545);
    assert.equal(k.pidNs(k.s.rootPidNs).lastPid, cursor, 'the cursor did not move');
    // The next normal fork continues from the cursor.
    assert.equal(init.sys.fork(), cursor + 1);
  });

  test(`preset pid (${profile}): EBUSY, EINVAL, and consumption on failure`, () => {
    const k = boot(profile);
    const init = k.init;
    nsdOf(k, 1);
    const pid = init.sys.fork();
    for (const [text, code] of [
      [`LONG1 ${pid}`, 'EBUSY'],
      ['LONG1 1', 'EBUSY'],
      ['LONG1 0', 'EINVAL'],
      ['LONG1 -3', 'EINVAL'],
      ['LONG1 32768', 'EINVAL'],
      ['LONG1 99999999999', 'EINVAL'],
      ['LONG2 500 600', 'EINVAL'],
    ] as const) {
      arm(init, text);
      expectErrno(() => init.sys.fork(), code, text);
      assert.equal(nsdOf(k, 1), 'UNSET\n', `${text} was consumed`);
    }
    // pid_max is honoured: lower it and a preset above it is EINVAL.
    writeFile(init, '/proc/sys/kernel/pid_max', '1000');
    arm(init, 'LONG1 1500');
    expectErrno(() => init.sys.fork(), 'EINVAL');
    arm(init, 'LONG1 999');
    assert.equal(init.sys.fork(), 999);
  });
}

test('preset pid with CLONE_NEWPID: LONG1 must be 1; LONG2 1 Q also picks the outer pid', () => {
  const k = boot();
  const init = k.init;
  arm(init, 'LONG1 77');
  expectErrno(() => init.sys.clone(C.CLONE_NEWPID | C.SIGCHLD), 'EINVAL');
  arm(init, 'LONG1 1');
  const outer1 = init.sys.clone(C.CLONE_NEWPID | C.SIGCHLD);
  assert.notEqual(outer1, 1);
  assert.deepEqual(k.task(outer1)!.nspid, [outer1, 1]);
  arm(init, 'LONG2 1 5555');
  const c = init.sys.clone(C.CLONE_NEWPID | C.SIGCHLD);
  assert.equal(c, 5555);
  const cinit = k.task(5555)!;
  assert.equal(cinit.sys.getpid(), 1);
  assert.equal(cinit.sys.getppid(), 0);
  // Inside: LONG1 sets the innermost pid, LONG2 both levels, LONG3 is one too many.
  arm(cinit, 'LONG1 40');
  const g = cinit.sys.fork();
  assert.equal(g, 40);
  assert.deepEqual(k.taskIn(cinit, 40)!.nspid.slice(1), [40]);
  arm(cinit, 'LONG2 41 6000');
  assert.equal(cinit.sys.fork(), 41);
  assert.equal(k.task(6000)!.sys.getpid(), 41);
  arm(cinit, 'LONG3 42 6001 1');
  expectErrno(() => cinit.sys.fork(), 'EINVAL');
  arm(cinit, 'LONG2 43 1');
  expectErrno(() => cinit.sys.fork(), 'EBUSY');
});

test('clone3 set_tid (linux-6): EEXIST, EINVAL, EPERM, and ENOSYS on 2.6.26', () => {
  const k = boot();
  const init = k.init;
  assert.equal(init.sys.clone3({ exit_signal: C.SIGCHLD, set_tid: [3000], set_tid_size: 1 }), 3000);
  expectErrno(() => init.sys.clone3({ exit_signal: C.SIGCHLD, set_tid: [3000], set_tid_size: 1 }), 'EEXIST');
  expectErrno(() => init.sys.clone3({ exit_signal: C.SIGCHLD, set_tid: [0], set_tid_size: 1 }), 'EINVAL');
  expectErrno(() => init.sys.clone3({ exit_signal: C.SIGCHLD, set_tid: [40000], set_tid_size: 1 }), 'EINVAL');
  expectErrno(() => init.sys.clone3({ exit_signal: C.SIGCHLD, set_tid: [1, 2], set_tid_size: 2 }), 'EINVAL');
  expectErrno(() => init.sys.clone3({ flags: C.CLONE_NEWPID, exit_signal: C.SIGCHLD, set_tid: [2, 3001], set_tid_size: 2 }), 'EINVAL');
  assert.equal(init.sys.clone3({ flags: C.CLONE_NEWPID, exit_signal: C.SIGCHLD, set_tid: [1, 3002], set_tid_size: 2 }), 3002);
  expectErrno(() => init.sys.clone3({ exit_signal: C.SIGCHLD, set_tid: new Array(33).fill(5), set_tid_size: 33 }), 'EINVAL');
  const user = k.task(init.sys.fork())!;
  user.sys.setuid(1000);
  expectErrno(() => user.sys.clone3({ exit_signal: C.SIGCHLD, set_tid: [3500], set_tid_size: 1 }), 'EPERM');
  // next_syscall_data and set_tid together are refused (the model's choice; see docs).
  arm(init, 'LONG1 3600');
  expectErrno(() => init.sys.clone3({ exit_signal: C.SIGCHLD, set_tid: [3601], set_tid_size: 1 }), 'EINVAL');
  // A set_tid array with set_tid_size 0 is EINVAL (copy_clone_args_from_user), the armed value kept;
  // no set_tid at all: the armed value applies.
  arm(init, 'LONG1 3602');
  expectErrno(() => init.sys.clone3({ exit_signal: C.SIGCHLD, set_tid: [], set_tid_size: 0 }), 'EINVAL');
  assert.equal(init.sys.clone3({ exit_signal: C.SIGCHLD }), 3602);
  expectErrno(() => boot('linux-2.6.26').init.sys.clone3({ exit_signal: C.SIGCHLD }), 'ENOSYS');
});

test('preset fd: open/openat/creat get exactly the value; EBUSY; EINVAL; failures still consume', () => {
  const k = boot();
  const init = k.init;
  nsdOf(k, 1);
  arm(init, 'LONG1 9');
  assert.equal(init.sys.open('/dev/null', C.O_RDONLY), 9);
  arm(init, 'LONG1 100');
  assert.equal(init.sys.openat(C.AT_FDCWD, '/dev/null', C.O_RDONLY), 100);
  arm(init, 'LONG1 55');
  assert.equal(init.sys.creat('/tmp/f', 0o600), 55);
  // The lowest-free allocation is unaffected: fd 0 is next.
  assert.equal(init.sys.open('/dev/null', C.O_RDONLY), 0);
  arm(init, 'LONG1 9');
  expectErrno(() => init.sys.open('/dev/null', C.O_RDONLY), 'EBUSY');
  assert.equal(nsdOf(k, 1), 'UNSET\n');
  arm(init, 'LONG1 -1');
  expectErrno(() => init.sys.open('/dev/null', C.O_RDONLY), 'EINVAL');
  arm(init, 'LONG1 1024');
  expectErrno(() => init.sys.open('/dev/null', C.O_RDONLY), 'EINVAL', 'fd == RLIMIT_NOFILE');
  arm(init, 'LONG1 1023');
  assert.equal(init.sys.open('/dev/null', C.O_RDONLY), 1023);
  // Path resolution comes after the fd step: ENOENT/EACCES/EBADF still consume the value.
  arm(init, 'LONG1 30');
  expectErrno(() => init.sys.open('/nonexistent', C.O_RDONLY), 'ENOENT');
  assert.equal(nsdOf(k, 1), 'UNSET\n');
  arm(init, 'LONG1 31');
  expectErrno(() => init.sys.openat(777, 'rel', C.O_RDONLY), 'EBADF');
  assert.equal(nsdOf(k, 1), 'UNSET\n');
  // getname() errors come first and do not consume it.
  arm(init, 'LONG1 32');
  expectErrno(() => init.sys.open('', C.O_RDONLY), 'ENOENT');
  expectErrno(() => init.sys.open('/' + 'a'.repeat(5000), C.O_RDONLY), 'ENAMETOOLONG');
  assert.equal(nsdOf(k, 1), 'LONG1 32\n');
  // Other fd-creating calls ignore it.
  assert.equal(init.sys.dup(0), 1);
  const [r, w] = init.sys.pipe2(0);
  assert.deepEqual([r, w], [2, 3]);
  assert.equal(init.sys.fcntl(0, C.F_DUPFD, 0), 4);
  assert.equal(nsdOf(k, 1), 'LONG1 32\n');
  assert.equal(init.sys.open('/dev/null', C.O_RDONLY), 32);
});

test('hazard 1: opening the proc file while armed consumes the value (and returns that fd)', () => {
  const k = boot();
  const init = k.init;
  arm(init, 'LONG1 12');
  // Opening the file to read it back is itself an open().
  const fd = init.sys.open(nsdPath(init), C.O_RDONLY);
  assert.equal(fd, 12);
  assert.equal(new TextDecoder().decode(init.sys.read(fd, 100)), 'UNSET\n');
  // Opening it to RESET: the RESET is too late, the open already took the value.
  arm(init, 'LONG1 13');
  const fd2 = init.sys.open(nsdPath(init), C.O_WRONLY);
  assert.equal(fd2, 13);
});

test('hazard 2: armed before an external command, the value presets the forked child, not the object', () => {
  // A shell runs `echo "LONG1 XX" > …; cmd`: the echo is a builtin, cmd is fork+exec. The fork
  // consumes the value, so cmd's pid is XX and whatever cmd creates gets a normal id.
  const k = boot();
  const sh = k.init;
  arm(sh, 'LONG1 7777');
  const child = sh.sys.fork();
  assert.equal(child, 7777);
  const c = k.task(child)!;
  assert.equal(c.sys.open('/dev/null', C.O_RDONLY), 0, 'the child opens with a normal fd');
});

test('hazard 3: any syscall between arming and the intended call steals the value', () => {
  // A "library" open (e.g. of a locale file) between the write and the intended fork.
  const k = boot();
  const init = k.init;
  arm(init, 'LONG1 888');
  const stolen = init.sys.open('/dev/null', C.O_RDONLY);
  assert.equal(stolen, 888, 'the open took it');
  const pid = init.sys.fork();
  assert.notEqual(pid, 888, 'the fork got a normal pid');
  // A value no open can use still disappears into the open (EINVAL), and the fork gets nothing.
  arm(init, 'LONG1 8888');
  expectErrno(() => init.sys.open('/dev/null', C.O_RDONLY), 'EINVAL');
  assert.notEqual(init.sys.fork(), 8888);
  // The per-thread file protects against other threads only: a sibling's fork does not consume it.
  const tid = init.sys.clone(C.CLONE_VM | C.CLONE_SIGHAND | C.CLONE_THREAD);
  arm(init, 'LONG1 9999');
  const sibling = k.task(tid)!;
  assert.notEqual(sibling.sys.fork(), 9999);
  assert.equal(init.sys.fork(), 9999);
});

test('hazard 3b: a signal handler that forks between arming and the intended call steals the value', () => {
  // Under the scheduler: the program arms, then a handled signal arrives; its handler forks first.
  const k = boot();
  interface S { phase: number; got: number[] }
  const prog = defineBareProgram<S>({
    name: '/bin/hazard-handler',
    start: () => ({ phase: 0, got: [] }),
    step: (ctx) => {
      const s = ctx.state;
      if (ctx.signals.length > 0) return { call: 'fork' }; // the handler's fork
      if (ctx.result?.ok && typeof ctx.result.value === 'number' && s.phase > 0) s.got.push(ctx.result.value);
      if (s.phase === 0) {
        s.phase = 1;
        ctx.sys.rt_sigaction(C.SIGUSR1, 2);
        const fd = ctx.sys.open(`/proc/self/task/${ctx.sys.gettid()}/next_syscall_data`, C.O_WRONLY);
        ctx.sys.write(fd, 'LONG1 4321');
        ctx.sys.close(fd);
        ctx.sys.kill(ctx.sys.getpid(), C.SIGUSR1);
        return undefined; // the signal is delivered before the next step
      }
      if (s.phase === 1) {
        s.phase = 2;
        return { call: 'fork' }; // the intended fork
      }
      return ctx.result?.ok && ctx.result.value === 0 ? { exit: 0 } : undefined;
    },
  });
  k.installProgram(prog);
  const pid = k.init.sys.fork();
  k.task(pid)!.sys.execve('/bin/hazard-handler', ['h']);
  k.run({ maxSteps: 200 });
  assert.ok(k.task(4321), 'some fork got 4321');
  const parentOf4321 = k.proc(4321).parent;
  assert.equal(parentOf4321, pid);
});
