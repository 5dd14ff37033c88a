/**
 * A small slice of the `syscalls` fuzzing campaign (`npm run fuzz syscalls` runs 100,000 calls):
 * random calls over every syscall-table entry from tasks, threads and namespaces of both
 * profiles, with snapshot round trips; plus the dangling-id check the campaign applies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSyscalls, danglingIds } from '../../fuzz/campaigns/syscalls.js';
import { Kernel } from '../../src/index.js';

test('syscalls campaign slice: 3,000 calls over both profiles, nothing but ErrnoError/WouldBlockError, round trips equal', () => {
  const r = runSyscalls({ seed: 7, scale: 0.03, log: () => {} });
  // A slice does not reach every name.
  assert.deepEqual(r.failures.filter((f) => !/never called/.test(f.message)), []);
  assert.equal(r.counts.syscalls, 3000);
  assert.ok(r.counts['round trips']! >= 2);
  assert.ok(r.counts.ok! > 300 && r.counts.errno! > 300, JSON.stringify(r.counts));
});

test('the dangling-id check sees a task naming a pid namespace that is gone', () => {
  const k = new Kernel();
  assert.deepEqual(danglingIds(k.snapshot()), []);
  const s = k.snapshot();
  s.tasks.get(1)!.pidnsForChildren = 999;
  assert.match(danglingIds(s).join(), /pid_for_children 999/);
});
