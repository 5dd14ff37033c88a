/**
 * pid_max per pid namespace (Linux 6.14+, kernel/pid.c; the cases of
 * tools/testing/selftests/pid_namespace/pid_max.c): each namespace has its own
 * /proc/sys/kernel/pid_max, inherited at creation, and each level allocates below its own limit,
 * so every ancestor's limit applies. linux-2.6.26 keeps one global value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, type Kernel, type Task } from '../../src/index.js';
import { boot, expectErrno, readFile, writeFile } from '../helpers.js';

const PID_MIN = 301; // max(RESERVED_PIDS + 1, PIDS_PER_CPU_MIN × 1 cpu)
const OUTER = PID_MIN + 100;
const INNER = PID_MIN + 200;

function setPidMax(t: Task, v: number): void {
  writeFile(t, '/proc/sys/kernel/pid_max', String(v));
}

function pidMax(t: Task): number {
  return Number(readFile(t, '/proc/sys/kernel/pid_max'));
}

/** clone(CLONE_NEWPID) from `parent`: the child, as a handle. */
function newNs(k: Kernel, parent: Task): Task {
  return k.taskIn(parent, parent.sys.clone(C.CLONE_NEWPID | C.SIGCHLD))!;
}

test('selftest "simple": a namespace limit caps the pids it hands out', () => {
  const k = boot();
  const ns = newNs(k, k.init);
  setPidMax(ns, INNER);
  assert.equal(pidMax(ns), INNER);
  assert.equal(pidMax(k.init), 32768, 'the parent keeps its own value');
  for (let i = 0; i < INNER + 1; i++) {
    const pid = ns.sys.fork();
    assert.ok(pid < INNER, `pid ${pid} beyond the limit`);
    k.taskIn(ns, pid)!.sys.exit_group(0);
    ns.sys.wait4(pid, 0);
  }
});

test('selftest "nested": an ancestor full at its own limit refuses a fork in a descendant with a higher one', () => {
  const k = boot();
  const outer = newNs(k, k.init);
  setPidMax(outer, OUTER);
  const kids: number[] = [];
  for (let n = 0; n < OUTER - 4; n++) kids.push(outer.sys.fork());
  const inner = newNs(k, outer);
  setPidMax(inner, INNER);
  const first = inner.sys.fork();
  expectErrno(() => inner.sys.fork(), 'EAGAIN', 'the outer namespace has no pid below its pid_max');
  k.taskIn(inner, first)!.sys.exit_group(0);
  inner.sys.wait4(first, 0);
  for (let i = 0; i < INNER + 10; i++) {
    const pid = inner.sys.fork();
    assert.ok(pid < INNER);
    k.taskIn(inner, pid)!.sys.exit_group(0);
    inner.sys.wait4(pid, 0);
  }
});

test('selftest "nested_limit": a descendant cannot create more processes than an ancestor allows', () => {
  const k = boot();
  const outer = newNs(k, k.init);
  setPidMax(outer, OUTER);
  const inner = newNs(k, outer);
  setPidMax(inner, INNER);
  let n = 0;
  for (; n < INNER; n++) {
    try {
      inner.sys.fork();
    } catch {
      break;
    }
  }
  assert.ok(n < OUTER, `${n} processes`);
  assert.equal(n, OUTER - 3, 'pids 1 (outer init) and 2 (inner init) are taken; [3, OUTER) is left');
});

test('a new namespace inherits its parent pid_max (raised to 1024 × cpus); set_tid and ns_last_pid use the level limit', () => {
  const k = boot();
  const init = k.init;
  setPidMax(init, 5000);
  const a = newNs(k, init);
  assert.equal(pidMax(a), 5000);
  setPidMax(init, 400);
  const b = newNs(k, init);
  assert.equal(pidMax(b), 1024, 'PIDS_PER_CPU_DEFAULT × 1 cpu');
  setPidMax(a, 350);
  // set_tid: each level against its own pid_max.
  expectErrno(() => a.sys.clone3({ flags: 0, exit_signal: C.SIGCHLD, set_tid: [360], set_tid_size: 1 }), 'EINVAL');
  assert.equal(a.sys.clone3({ flags: 0, exit_signal: C.SIGCHLD, set_tid: [340], set_tid_size: 1 }), 340);
  expectErrno(() => writeFile(a, '/proc/sys/kernel/ns_last_pid', '351'), 'EINVAL');
  writeFile(a, '/proc/sys/kernel/ns_last_pid', '350');
  // Range: pid_max_min..PID_MAX_LIMIT.
  expectErrno(() => setPidMax(a, 300), 'EINVAL');
  expectErrno(() => setPidMax(a, 4194305), 'EINVAL');
});

test('pid_max write permission: CAP_SYS_ADMIN or euid 0 (pid_table_root_permissions)', () => {
  const k = boot();
  const init = k.init;
  const u = k.task(init.sys.fork())!;
  u.sys.setuid(1000);
  expectErrno(() => u.sys.open('/proc/sys/kernel/pid_max', C.O_WRONLY), 'EACCES');
  expectErrno(() => u.sys.access('/proc/sys/kernel/pid_max', 2), 'EACCES');
  assert.equal(pidMax(u), 32768);
  // euid 0 without any capability may still write.
  const r = k.task(init.sys.fork())!;
  r.sys.capset(0n, 0n);
  setPidMax(r, 9999);
  assert.equal(pidMax(init), 9999);
});

test('linux-2.6.26: one global pid_max, whatever namespace writes it', () => {
  const k = boot('linux-2.6.26');
  const ns = newNs(k, k.init);
  setPidMax(ns, 5000);
  assert.equal(pidMax(k.init), 5000);
  assert.equal(pidMax(ns), 5000);
});
