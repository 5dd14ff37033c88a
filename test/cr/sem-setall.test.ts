/**
 * Semaphore values and sempids across a restore, on both profiles and every strategy, for the
 * three shapes the restore sets differently: a set whose semaphores were all last operated by one
 * process (one SETALL from it on linux-6), a set every semaphore of which was set (one SETALL by
 * the restorer), and a mixed set with a never-used semaphore (a SETVAL each, sempid 0 kept).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, constants as C, type Task } from '../../src/index.js';
import { dump, restore } from '../../src/cr/index.js';
import { getStrategy, STRATEGIES } from '../../src/cr/strategy.js';
import { PROFILES } from '../helpers.js';

/** [value, sempid] of every semaphore of every set, as `t` sees them. */
function sems(t: Task, ids: number[]): [number, number][][] {
  return ids.map((id) => [0, 1, 2].map((n) => [t.sys.semctl(id, n, C.GETVAL) as number, t.sys.semctl(id, n, C.GETPID) as number]));
}

for (const profile of PROFILES) {
  for (const strategy of STRATEGIES) {
    test(`sem values and sempids survive a restore (${profile}, ${strategy})`, (t) => {
      const k = new Kernel({ profile });
      const why = getStrategy(strategy).unsupported(k);
      if (why) return t.skip(why);
      const c = k.task(k.init.sys.clone(C.CLONE_NEWPID | C.CLONE_NEWIPC | C.SIGCHLD))!;
      const child = k.taskIn(c, c.sys.fork())!;
      const make = (): number => c.sys.semget(C.IPC_PRIVATE, 3, C.IPC_CREAT | 0o600);
      const one = make();
      for (let n = 0; n < 3; n++) child.sys.semop(one, [{ sem_num: n, sem_op: n + 1, sem_flg: 0 }]);
      const all = make();
      c.sys.semctl(all, 0, C.SETALL, [4, 5, 6]);
      const mixed = make();
      child.sys.semop(mixed, [{ sem_num: 0, sem_op: 2, sem_flg: 0 }]);
      c.sys.semop(mixed, [{ sem_num: 1, sem_op: 1, sem_flg: 0 }]);
      const ids = [one, all, mixed];
      const before = sems(c, ids);
      assert.equal(before[0]![0]![1], child.sys.getpid(), 'the one-process set was last operated by the child');
      assert.equal(before[2]![2]![1], 0, 'the never-used semaphore has sempid 0');
      const d = dump(k, c.pid);
      k.init.sys.wait4(c.pid, 0);
      const r = restore(k, new Map(d.images), { strategy });
      assert.deepEqual(r.report.filter((l) => l.field === 'sempid'), []);
      assert.deepEqual(sems(k.task(r.rootPid)!, ids), before);
    });
  }
}
