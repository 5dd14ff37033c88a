/**
 * The c/r library API: restore() returns every task it recreated; dump() kills by default and
 * `leaveRunning` keeps the tree; a tree sharing the dumper's IPC namespace is reported (its
 * objects are not dumped) or refused when it has SysV shm attached, as criu.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CrError, constants as C, dump, installUserland, restore } from '../../src/index.js';
import { boot } from '../helpers.js';

function sleeper(k: ReturnType<typeof boot>, flags: number) {
  installUserland(k);
  const c = k.task(k.init.sys.clone(flags | C.SIGCHLD))!;
  return c;
}

test('restore() returns a Task per recreated task, keyed by container pid; dump kills unless leaveRunning', () => {
  const k = boot();
  const c = sleeper(k, C.CLONE_NEWPID | C.CLONE_NEWIPC);
  const child = c.sys.fork();
  c.sys.execve('/bin/sleep', ['sleep', '100']);
  k.run({ until: () => c.status === 'sleeping' });
  const kept = dump(k, c.pid, { leaveRunning: true });
  assert.equal(c.status, 'sleeping', 'leaveRunning: the tree runs on');
  const { images } = dump(k, c.pid);
  assert.equal(kept.images.size, images.size);
  assert.equal(c.status, 'zombie', 'dump kills by default');
  k.init.sys.wait4(c.pid, 0);
  const r = restore(k, images, { strategy: 'nsd' });
  assert.deepEqual([...r.tasks.keys()].sort(), [1, child]);
  for (const [pid, t] of r.tasks) {
    assert.equal(t.kid, r.kids.get(pid));
    assert.equal(t.kernel, k);
  }
  assert.equal(r.tasks.get(1)!.pid, r.rootPid);
  assert.equal(r.tasks.get(1)!.sleepingIn?.syscall, 'nanosleep');
});

test('a tree sharing the dumper IPC namespace: its objects are named in the report, shm attached is refused', () => {
  const k = boot();
  const c = sleeper(k, C.CLONE_NEWPID);
  const none = dump(k, c.pid, { leaveRunning: true });
  assert.ok(!none.report.some((l) => l.field === 'SysV IPC objects'), 'no objects, nothing to report');
  c.sys.msgget(0x51, C.IPC_CREAT | 0o600);
  c.sys.semget(0x52, 1, C.IPC_CREAT | 0o600);
  const r = dump(k, c.pid, { leaveRunning: true });
  const line = r.report.find((l) => l.field === 'SysV IPC objects');
  assert.ok(line, 'the report says the IPC objects were not dumped');
  assert.match(line.saved, /not dumped \(1 message queues, 1 semaphore sets, 0 shm segments\)/);
  assert.ok(![...r.images.keys()].some((n) => n.startsWith('ipcns-')), 'no IPC images');
  const shm = c.sys.shmget(0x53, 4096, C.IPC_CREAT | 0o600);
  c.sys.shmat(shm, 0, 0);
  assert.throws(() => dump(k, c.pid, { leaveRunning: true }), (e: unknown) => e instanceof CrError && /doesn't live in IPC ns/.test(e.message));
  assert.equal(c.status, 'running', 'a refused dump leaves the tree as it was');
});
