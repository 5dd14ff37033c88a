/**
 * The benchmark harness in quick mode, model side only: every section produces its rows and the
 * table has its shape. No timing is asserted (figures are measured in `npm run bench` only).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runBenchmarks, SECTIONS } from '../../bench/run.js';
import { renderTable } from '../../bench/lib/table.js';

test('quick model-only run: every section, one row per figure, a well-formed table', async () => {
  const r = await runBenchmarks({ quick: true, modelOnly: true, only: SECTIONS, log: () => {} });
  assert.equal(r.ipc.length, 5);
  assert.equal(r.proc.length, 4);
  assert.equal(r.scaling.length, 6);
  for (const s of r.scaling) assert.ok(s.controlGrowth > 0 && Number.isFinite(s.excess), `${s.id}: control measured beside it`);
  // 4 scenarios × 3 strategies, the zero-copy one with nsd, and the two 256 MiB ones with huge pages (a child).
  assert.equal(r.cr.length, 15);
  assert.deepEqual(r.cr.filter((f) => f.id.endsWith('+hugetlb')).map((f) => f.id), ['big-shm+hugetlb', 'big-shm-zero-copy+hugetlb']);
  assert.equal(r.memory.length, 6);
  for (const c of [...r.ipc, ...r.proc]) {
    assert.ok(c.modelNsPerOp > 0, c.id);
    assert.equal(c.nativeNsPerOp, null, 'model-only: no native figure');
    assert.match(c.nativeUnavailable ?? '', /model-only/);
  }
  for (const f of r.cr) assert.equal(f.error, null, `${f.id} [${f.strategy}]: ${f.error}`);
  // migrate: cold, pre-copy, lazy (not measured), stream throughput.
  for (const row of r.table.filter((x) => x.section === 'migrate')) assert.doesNotMatch(row.model, /failed/, row.name);
  assert.equal(r.table.length, 5 + 4 + 6 + 15 + 6 + 4);
  const lines = renderTable(r.table).split('\n');
  assert.equal(lines.length, r.table.length + 2);
  const width = [...lines[0]!].length;
  for (const l of lines) {
    assert.equal([...l].length, width, 'columns are aligned');
    assert.equal(l.split('|').length, 9, 'seven columns');
  }
  assert.ok(r.machine.cores > 0 && r.machine.node.startsWith('v'));
});
