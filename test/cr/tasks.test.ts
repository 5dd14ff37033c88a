/**
 * Dump and restore of process trees without SysV IPC: pids at every level, threads, files shared
 * between processes, pipes with data, memory, parked syscalls; round trip and transparency.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dump, restore, STRATEGIES, CrError } from '../../src/cr/index.js';
import { bootWl, readLog, startContainer, type Op } from './workload.js';
import { Kernel } from '../../src/index.js';
import { assertSameImages } from './compare.js';

const SCRIPT: Op[] = [
  ['open', '/log', 'log'],
  ['log', 'start'],
  ['pipe', 'r', 'w'],
  ['mmap', 'm', 8192],
  ['poke', 'm', 100, 'memory!'],
  ['fork', [['log', 'child up'], ['write', 'w', 'ping'], ['sleep', 50000], ['write', 'w', 'pong'], ['peek', 'm', 100, 7], ['exit', 3]]],
  ['thread', [['log', 'thread up'], ['sleep', 20000], ['log', 'thread done'], ['exit', 0]]],
  ['read', 'r', 4],
  ['read', 'r', 4],
  ['fork', [['nsd', 'LONG1 77'], ['sleep', 10000], ['log', 'armed child'], ['fork', [['log', 'grandchild'], ['exit', 0]]], ['wait'], ['exit', 0]]],
  ['wait'],
  ['wait'],
  ['log', 'end'],
  ['sleep', 1000000],
];

function finish(k: Kernel): void {
  k.run({ maxSteps: 100000 });
}

function uninterrupted(): string {
  const k = bootWl();
  startContainer(k, SCRIPT, false);
  finish(k);
  return readLog(k);
}

test('uninterrupted workload runs', () => {
  const log = uninterrupted();
  assert.match(log, /1\/1 end/);
  assert.match(log, /grandchild/);
});

for (const strategy of STRATEGIES) {
  test(`checkpoint at every step and restore with ${strategy} gives the uninterrupted output`, () => {
    const want = uninterrupted();
    for (let n = 1; n < 40; n++) {
      const k = bootWl();
      const root = startContainer(k, SCRIPT, false);
      k.run({ maxSteps: n });
      if (!root.alive) break;
      const before = dump(k, root.pid, { leaveRunning: true }).images;
      const d = dump(k, root.pid);
      assert.deepEqual([...d.images.keys()], [...before.keys()]);
      k.init.sys.wait4(root.pid, 0);
      const r = restore(k, d.images, { strategy });
      const again = dump(k, r.rootPid, { leaveRunning: true }).images;
      assertSameImages(again, d.images, `step ${n}`);
      finish(k);
      assert.equal(readLog(k), want, `step ${n}, ${strategy}`);
    }
  });
}

test('a failed restore leaves the kernel exactly as before', () => {
  const k = bootWl();
  const root = startContainer(k, SCRIPT, false);
  k.run({ maxSteps: 12 });
  const d = dump(k, root.pid);
  k.init.sys.wait4(root.pid, 0);
  let total = 0;
  restore(Kernel.fromState(k.snapshot(), { programs: k.programs.values() }), d.images, { inject: (_s, n) => { total = n; } });
  for (let i = 1; i <= total; i++) {
    const snap = k.snapshot();
    assert.throws(() => restore(k, d.images, { inject: (_s, n) => { if (n === i) throw new Error('injected'); } }), CrError);
    assert.deepEqual(k.snapshot(), snap, `after a failure at step ${i}`);
  }
  assert.ok(total > 10);
});

test('--with-fs: file contents and offsets come back in a kernel that never had the files', () => {
  const ops: Op[] = [
    ['open', '/log', 'log'],
    ['open', '/data', 'f'],
    ['write', 'f', 'hello world'],
    ['seek', 'f', 6],
    ['sleep', 50000],
    ['read', 'f', 5],
    ['log', 'end'],
  ];
  const want = (() => {
    const k = bootWl();
    startContainer(k, ops, false);
    k.run({ maxSteps: 100000 });
    return readLog(k);
  })();
  assert.match(want, /read -> "world"/);
  for (const strategy of STRATEGIES) {
    const k = bootWl();
    const root = startContainer(k, ops, false);
    k.run({ until: () => root.state.state === 'blocked' });
    const without = dump(k, root.pid, { leaveRunning: true });
    const withFs = dump(k, root.pid, { withFs: true });
    assert.ok(withFs.images.size >= without.images.size);
    // A fresh kernel has neither /log nor /data: only the --with-fs images can be restored there.
    const bare = bootWl();
    assert.throws(() => restore(bare, without.images, { strategy }), CrError, 'files missing without --with-fs');
    const k2 = bootWl();
    const r = restore(k2, withFs.images, { strategy });
    k2.run({ maxSteps: 100000 });
    assert.equal(readLog(k2), want, strategy);
    assert.equal(k2.init.sys.wait4(r.rootPid, 0).status, 0);
  }
});
