/**
 * A small slice of the `nsd` fuzzing campaign (`npm run fuzz nsd` runs 100,000 writes), and the
 * oracle itself against the documented rows (docs/next-syscall-data.md), so that a wrong oracle
 * cannot agree with a wrong kernel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runNsd, expectWrite, expectRead, type Armed } from '../../fuzz/campaigns/nsd.js';

const enc = new TextEncoder();
const PRIOR: Armed = { n: 1, values: [777n] };

function outcome(text: string, prev: Armed = PRIOR): string {
  const r = expectWrite(prev, enc.encode(text));
  return `${r.ok ? r.count : r.code} ${expectRead(r.next).trim()}`;
}

test('the oracle agrees with the documented rows', () => {
  assert.equal(outcome('LONG1 5'), '7 LONG1 5');
  assert.equal(outcome('LONG1 42\n'), '9 LONG1 42');
  assert.equal(outcome('LONG1\n'), 'EINVAL LONG1 777', 'header garbage keeps the previous value');
  assert.equal(outcome('LONG1x 5'), 'EINVAL LONG1 777');
  assert.equal(outcome('LONG33 1'), 'EINVAL LONG1 777');
  assert.equal(outcome('hello'), 'EINVAL LONG1 777');
  assert.equal(outcome('LONG1 12ab'), 'EINVAL UNSET', 'a bad value frees it (the quirk)');
  assert.equal(outcome('LONG2 5'), 'EINVAL UNSET');
  assert.equal(outcome('LONG1  5'), 'EINVAL UNSET', 'an empty token');
  assert.equal(outcome('LONG1 -'), '7 LONG1 0', 'a lone minus is 0');
  assert.equal(outcome('LONG'), '4 UNSET');
  assert.equal(outcome('LONG0'), '5 UNSET');
  assert.equal(outcome('LONG 5'), '6 UNSET');
  assert.equal(outcome('RESETx'), '6 UNSET');
  assert.equal(outcome('LONG1 0x1f'), '10 LONG1 31');
  assert.equal(outcome('LONG1 010'), '9 LONG1 8');
  assert.equal(outcome('LONG1 08'), 'EINVAL UNSET');
  assert.equal(outcome('LONG1 5 6 junk'), '14 LONG1 5');
  assert.equal(outcome('LONG1 5\0LONG2'), '13 LONG1 5', 'bytes after a NUL are invisible');
  assert.equal(outcome('LONG1 18446744073709551615'), '26 LONG1 -1', 'values wrap modulo 2^64');
  assert.equal(outcome('LONG1 ' + '7'.repeat(5000)).split(' ')[0], '4095', 'one page at most');
});

test('nsd campaign slice: 2,000 writes agree with the oracle', () => {
  const r = runNsd({ seed: 11, scale: 0.02, log: () => {} });
  assert.deepEqual(r.failures, []);
  assert.equal(r.counts.writes, 2000);
  assert.ok(r.counts.accepted! > 200 && r.counts.einval! > 200 && r.counts.eperm! > 20, JSON.stringify(r.counts));
});
