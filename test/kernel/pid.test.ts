/**
 * Pids and pid namespaces (LINUX-SEMANTICS §3): allocation per profile, wrap, exhaustion,
 * ns_last_pid, nested namespaces, namespace init death; a model-based property test of allocation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { constants as C, Kernel } from '../../src/index.js';
import { PROFILES, boot, expectErrno, readFile, writeFile } from '../helpers.js';
import type { ProfileName } from '../../src/kernel/profile.js';

for (const profile of PROFILES) {
  test(`allocation (${profile}): sequential, wrap to RESERVED_PIDS, and exhaustion errno`, () => {
    const k = boot(profile);
    const init = k.init;
    writeFile(init, '/proc/sys/kernel/pid_max', '310');
    const got: number[] = [];
    for (let i = 0; i < 308; i++) got.push(init.sys.fork());
    assert.deepEqual(got.slice(0, 3), [2, 3, 4]);
    assert.equal(got[307], 309);
    // Free a low pid and a pid ≥ 300: after the wrap only [300, pid_max) is scanned.
    init.sys.kill(5, C.SIGKILL);
    init.sys.wait4(5, 0);
    init.sys.kill(303, C.SIGKILL);
    init.sys.wait4(303, 0);
    assert.equal(init.sys.fork(), 303);
    expectErrno(() => init.sys.fork(), profile === 'linux-6' ? 'EAGAIN' : 'ENOMEM');
  });
}

test('pid_max: range checked (301..4194304), root only', () => {
  const k = boot();
  const init = k.init;
  for (const bad of ['300', '4194305', 'abc', '-1']) {
    expectErrno(() => writeFile(init, '/proc/sys/kernel/pid_max', bad), 'EINVAL', bad);
  }
  writeFile(init, '/proc/sys/kernel/pid_max', '4194304\n');
  assert.equal(readFile(init, '/proc/sys/kernel/pid_max'), '4194304\n');
  const u = k.task(init.sys.fork())!;
  u.sys.setuid(1000);
  expectErrno(() => u.sys.open('/proc/sys/kernel/pid_max', C.O_WRONLY), 'EACCES');
});

test('ns_last_pid (linux-6): read, write moves the cursor, busy pids skipped, privilege, range', () => {
  const k = boot();
  const init = k.init;
  init.sys.fork();
  assert.equal(readFile(init, '/proc/sys/kernel/ns_last_pid'), '2\n');
  writeFile(init, '/proc/sys/kernel/ns_last_pid', '999');
  assert.equal(init.sys.fork(), 1000);
  writeFile(init, '/proc/sys/kernel/ns_last_pid', '999');
  assert.equal(init.sys.fork(), 1001, 'busy 1000 skipped');
  expectErrno(() => writeFile(init, '/proc/sys/kernel/ns_last_pid', '32769'), 'EINVAL');
  expectErrno(() => writeFile(init, '/proc/sys/kernel/ns_last_pid', '-1'), 'EINVAL');
  const u = k.task(init.sys.fork())!;
  u.sys.setuid(1000);
  // Mode 0666: the open succeeds, the write needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE.
  expectErrno(() => writeFile(u, '/proc/sys/kernel/ns_last_pid', '5'), 'EPERM');
  expectErrno(() => boot('linux-2.6.26').init.sys.open('/proc/sys/kernel/ns_last_pid', C.O_RDONLY), 'ENOENT');
});

test('nested pid namespaces: one number per level, innermost first, seen from each level', () => {
  const k = boot();
  const init = k.init;
  const outer = init.sys.clone(C.CLONE_NEWPID | C.SIGCHLD);
  const ns1 = k.task(outer)!;
  assert.equal(ns1.sys.getpid(), 1);
  assert.equal(ns1.sys.getppid(), 0);
  const mid = ns1.sys.clone(C.CLONE_NEWPID | C.SIGCHLD);
  assert.equal(mid, 2);
  const ns2 = k.taskIn(ns1, 2)!;
  assert.equal(ns2.sys.getpid(), 1);
  const leaf = ns2.sys.fork();
  assert.equal(leaf, 2);
  const t = k.taskIn(ns2, 2)!;
  assert.equal(t.nspid.length, 3);
  assert.equal(t.nspid[2], 2);
  assert.equal(k.pidIn(t.kid, ns1.kid), t.nspid[1]);
  // /proc/<pid>/status NSpid lists the numbers from the reader's level down.
  const fromRoot = readFile(init, `/proc/${t.pid}/status`);
  assert.match(fromRoot, new RegExp(`NSpid:\\t${t.pid}\\t${t.nspid[1]}\\t2\\n`));
  const fromNs2 = readFile(ns2, '/proc/2/status');
  assert.match(fromNs2, /NSpid:\t2\n/);
  // A namespace does not see its ancestors' tasks.
  expectErrno(() => ns2.sys.kill(t.pid, 0), "ESRCH");
  expectErrno(() => ns2.sys.open(`/proc/${t.pid}/status`, C.O_RDONLY), 'ENOENT');
  // 2.6.26 has no NSpid lines.
  assert.doesNotMatch(readFile(boot('linux-2.6.26').init, '/proc/1/status'), /NSpid/);
});

test('pid namespaces nest 32 deep (MAX_PID_NS_LEVEL); one more is ENOSPC from clone and unshare alike', () => {
  const k = boot();
  let t = k.init;
  for (let level = 1; level <= 32; level++) t = k.taskIn(t, t.sys.clone(C.CLONE_NEWPID | C.SIGCHLD))!;
  assert.equal(t.nspid.length, 33);
  const levels = k.s.pidns.size;
  expectErrno(() => t.sys.clone(C.CLONE_NEWPID | C.SIGCHLD), 'ENOSPC');
  expectErrno(() => t.sys.unshare(C.CLONE_NEWPID), 'ENOSPC');
  assert.equal(k.s.pidns.size, levels, 'no namespace left behind');
  assert.equal(t.sys.fork(), 2, 'plain fork still works at the deepest level');
});

test('death of a namespace init kills the namespace; a later fork into it fails with ENOMEM', () => {
  const k = boot();
  const init = k.init;
  init.sys.unshare(C.CLONE_NEWPID);
  const nsinit = init.sys.fork();
  const ci = k.task(nsinit)!;
  assert.equal(ci.sys.getpid(), 1);
  const a = k.taskIn(ci, ci.sys.fork())!;
  const b = k.taskIn(ci, a.sys.fork())!;
  ci.sys.exit(0);
  assert.equal(a.alive, false);
  assert.equal(b.alive, false);
  // a was init's child: reaped by the dying init; init itself is a zombie of our init.
  assert.deepEqual(init.sys.wait4(nsinit, 0), { pid: nsinit, status: 0 });
  expectErrno(() => init.sys.fork(), 'ENOMEM');
  // 2.6.26 cannot unshare a pid namespace at all.
  expectErrno(() => boot('linux-2.6.26').init.sys.unshare(C.CLONE_NEWPID), 'EINVAL');
});

test('a namespace lives while pid_for_children names it: fork after its init was reaped is ENOMEM (B13)', () => {
  // unshare --pid sh -c "sh -c true; sh -c true": the second fork must fail with ENOMEM, not lose the namespace.
  const k = boot();
  const init = k.init;
  const sh = k.task(init.sys.fork())!;
  sh.sys.unshare(C.CLONE_NEWPID);
  // copy_pid_ns(): task_active_pid_ns(current) != pid_ns_for_children → EINVAL, before and after the first fork.
  expectErrno(() => sh.sys.clone(C.CLONE_NEWPID | C.SIGCHLD), 'EINVAL');
  const first = sh.sys.fork();
  assert.equal(k.task(first)!.sys.getpid(), 1);
  k.task(first)!.sys.exit_group(0);
  assert.deepEqual(sh.sys.wait4(first, 0), { pid: first, status: 0 });
  expectErrno(() => sh.sys.fork(), 'ENOMEM');
  expectErrno(() => sh.sys.clone(C.SIGCHLD), 'ENOMEM');
  // copy_pid_ns(): no new namespace below the dead one either (the parent is not in it).
  expectErrno(() => sh.sys.clone(C.CLONE_NEWPID | C.SIGCHLD), 'EINVAL');
  // Still named: /proc/self/ns/pid_for_children reads, and the namespace goes when its last namer exits.
  const before = k.s.pidns.size;
  assert.equal(before, 2);
  sh.sys.exit_group(0);
  init.sys.wait4(sh.kid, 0);
  assert.equal(k.s.pidns.size, 1);
});

test('an open /proc file keeps the pid namespace it was resolved in (B13 class)', () => {
  const k = boot();
  const init = k.init;
  const c = k.task(init.sys.clone(C.CLONE_NEWPID | C.CLONE_FILES | C.SIGCHLD))!;
  const fd = c.sys.open('/proc', C.O_RDONLY | C.O_DIRECTORY);
  const status = c.sys.open('/proc/self/status', C.O_RDONLY);
  c.sys.exit_group(0);
  init.sys.wait4(c.kid, 0);
  // The namespace is empty but still named by the open files: reading them is no kernel bug.
  assert.ok(Array.isArray(init.sys.getdents64(fd)));
  expectErrno(() => init.sys.read(status, 4096), 'ESRCH');
  init.sys.close(fd);
  assert.equal(k.s.pidns.size, 2);
  init.sys.close(status);
  assert.equal(k.s.pidns.size, 1);
});

test('orphans are reparented to their namespace init, which is unkillable from inside', () => {
  const k = boot();
  const init = k.init;
  const ci = k.task(init.sys.clone(C.CLONE_NEWPID | C.SIGCHLD))!;
  const p = k.taskIn(ci, ci.sys.fork())!;
  const c = k.taskIn(p, p.sys.fork())!;
  p.sys.exit(0);
  assert.equal(c.sys.getppid(), 1);
  // Inside: SIGKILL to init without a handler is ignored. From the parent namespace it works.
  c.sys.kill(1, C.SIGKILL);
  assert.ok(ci.alive);
  init.sys.kill(ci.pid, C.SIGKILL);
  assert.equal(ci.alive, false);
  assert.equal(c.alive, false);
  assert.equal(init.sys.wait4(ci.pid, 0).status, C.SIGKILL);
});

/** A straightforward model of one namespace's allocator. */
class PidModel {
  used = new Set<number>([1]);
  last = 1;
  constructor(readonly profile: ProfileName, public max: number) {}
  candidates(): number[] {
    const out: number[] = [];
    if (this.profile === 'linux-2.6.26') {
      let start = this.last + 1;
      if (start >= this.max) start = 300;
      for (let n = start; n < this.max; n++) out.push(n);
      for (let n = 300; n < start; n++) out.push(n);
    } else {
      const cursor = this.last + 1;
      const min = cursor > 300 ? 300 : 1;
      const from = Math.max(cursor, min);
      for (let n = from; n < this.max; n++) out.push(n);
      for (let n = min; n < from; n++) out.push(n);
    }
    return out;
  }
  alloc(): number | null {
    const n = this.candidates().find((x) => !this.used.has(x));
    if (n === undefined) return null;
    this.used.add(n);
    this.last = n;
    return n;
  }
}

for (const profile of PROFILES) {
  test(`property (${profile}): pid allocation matches a simple model under forks, reaps and cursor writes`, () => {
    const cmd = fc.oneof(
      { weight: 5, arbitrary: fc.constant({ op: 'fork' as const }) },
      { weight: 3, arbitrary: fc.nat(400).map((i) => ({ op: 'reap' as const, i })) },
      { weight: profile === 'linux-6' ? 1 : 0, arbitrary: fc.integer({ min: 0, max: 400 }).map((v) => ({ op: 'cursor' as const, v })) },
    );
    fc.assert(
      fc.property(fc.array(cmd, { minLength: 1, maxLength: 300 }), (cmds) => {
        const k = new Kernel({ profile });
        const init = k.init;
        writeFile(init, '/proc/sys/kernel/pid_max', '400');
        const model = new PidModel(profile, 400);
        const live: number[] = [];
        for (const c of cmds) {
          if (c.op === 'fork') {
            const want = model.alloc();
            if (want === null) expectErrno(() => init.sys.fork(), profile === 'linux-6' ? 'EAGAIN' : 'ENOMEM');
            else {
              assert.equal(init.sys.fork(), want);
              live.push(want);
            }
          } else if (c.op === 'reap' && live.length > 0) {
            const pid = live.splice(c.i % live.length, 1)[0]!;
            init.sys.kill(pid, C.SIGKILL);
            init.sys.wait4(pid, 0);
            model.used.delete(pid);
          } else if (c.op === 'cursor') {
            writeFile(init, '/proc/sys/kernel/ns_last_pid', String(c.v));
            model.last = c.v;
          }
        }
      }),
      { seed: 26, numRuns: 60 },
    );
  });
}

test('an open /proc/<pid>/ns/pid file holds its namespace after the task is gone; setns works, fork is ENOMEM', () => {
  const k = boot();
  const init = k.init;
  const c = k.task(init.sys.clone(C.CLONE_NEWPID | C.SIGCHLD))!;
  const fd = init.sys.open(`/proc/${c.pid}/ns/pid`, C.O_RDONLY);
  const before = init.sys.readlink(`/proc/${c.pid}/ns/pid`);
  c.sys.exit_group(0);
  init.sys.wait4(c.kid, 0);
  assert.equal(k.s.pidns.size, 2, 'held by the open file');
  const t = k.task(init.sys.fork())!;
  t.sys.setns(fd, C.CLONE_NEWPID);
  init.sys.close(fd);
  assert.equal(t.sys.readlink('/proc/self/ns/pid_for_children'), before);
  // Its init has exited: no new task may enter it (alloc_pid without PIDNS_ADDING).
  expectErrno(() => t.sys.fork(), 'ENOMEM');
  t.sys.exit_group(0);
  init.sys.wait4(t.kid, 0);
  assert.equal(k.s.pidns.size, 1);
});
