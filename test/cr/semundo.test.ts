/**
 * SEM_UNDO across checkpoint/restart: each process's adjustments come back (through
 * /proc/<pid>/semundo), and a list shared through CLONE_SYSVSEM is shared again after the restore,
 * so it is applied once, when its last user exits — as it would have been without the checkpoint.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, constants as C } from '../../src/index.js';
import { dump, restore, STRATEGIES } from '../../src/cr/index.js';

const UNDO = C.SEM_UNDO;

/** A container: init (the parent) and a child cloned with CLONE_SYSVSEM, both holding adjustments. */
function build(k: Kernel) {
  const c = k.task(k.init.sys.clone(C.CLONE_NEWPID | C.CLONE_NEWIPC | C.SIGCHLD))!;
  const id = c.sys.semget(C.IPC_PRIVATE, 2, C.IPC_CREAT | 0o600);
  const g = k.taskIn(c, c.sys.clone(C.CLONE_SYSVSEM | C.SIGCHLD))!;
  g.sys.semop(id, [{ sem_num: 0, sem_op: 2, sem_flg: UNDO }]);
  c.sys.semop(id, [{ sem_num: 1, sem_op: 3, sem_flg: UNDO }]);
  // A third process without CLONE_SYSVSEM has its own list.
  const h = k.taskIn(c, c.sys.fork())!;
  h.sys.semop(id, [{ sem_num: 1, sem_op: 1, sem_flg: UNDO }]);
  return { c, g, h, id };
}

function values(t: { sys: { semctl(id: number, n: number, cmd: number): unknown } }, id: number): number[] {
  return t.sys.semctl(id, 0, C.GETALL) as number[];
}

test('SEM_UNDO: shared lists stay shared, separate lists separate, adjustments apply at the same exits', () => {
  // Without a checkpoint: the child's exit applies nothing (the list is still the parent's).
  const ref = new Kernel();
  const o = build(ref);
  assert.deepEqual(values(o.c, o.id), [2, 4]);
  o.g.sys.exit(0);
  assert.deepEqual(values(o.c, o.id), [2, 4], 'the shared list outlives the child');
  o.h.sys.exit(0);
  assert.deepEqual(values(o.c, o.id), [2, 3], 'a separate list is applied at its exit');

  for (const strategy of STRATEGIES) {
    const k = new Kernel();
    const b = build(k);
    const d = dump(k, b.c.pid);
    assert.equal(d.report.filter((r) => r.field === 'SEM_UNDO list').length, 0);
    k.init.sys.wait4(b.c.pid, 0);
    const r = restore(k, d.images, { strategy });
    const c = k.task(r.rootPid)!;
    const g = k.taskIn(c, 2)!;
    const h = k.taskIn(c, 3)!;
    assert.equal(k.proc(g.tgid).semUndo, k.proc(c.tgid).semUndo, `${strategy}: the child shares init's list again`);
    assert.notEqual(k.proc(h.tgid).semUndo, k.proc(c.tgid).semUndo, `${strategy}: the forked child has its own`);
    assert.deepEqual(values(c, b.id), [2, 4]);
    g.sys.exit(0);
    assert.deepEqual(values(c, b.id), [2, 4], `${strategy}: nothing applied at the child's exit`);
    h.sys.exit(0);
    assert.deepEqual(values(c, b.id), [2, 3], `${strategy}: the separate list applied`);
  }
});
