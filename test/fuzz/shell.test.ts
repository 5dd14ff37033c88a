/**
 * A small slice of the shell fuzzing campaign (`npm run fuzz shell` runs 2,400 scripts): generated
 * and mutated scripts must never let a JS error, a stack trace or a deadlock out of the model.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { campaign, runScript } from '../../fuzz/campaigns/shell.js';

describe('fuzz: shell (slice)', () => {
  it('60 seeded scripts: no failures', () => {
    const r = campaign.run({ seed: 7, scale: 0.025, log: () => {} });
    assert.equal(r.counts['scripts'], 60);
    assert.deepEqual(r.failures, []);
  });

  it('the hostile shapes the campaign found or targets end cleanly', () => {
    for (const text of [
      '('.repeat(3000) + 'echo x' + ')'.repeat(3000),
      'echo $((' + '('.repeat(3000) + '1' + ')'.repeat(3000) + '))',
      'f() { f; }; f',
      'x=a; while :; do x=$x$x; done',
      'printf "%999999999s" x',
      'echo "LONG1 x" > /proc/self/task/$$/next_syscall_data',
    ]) {
      const o = runScript(text, 'c', 1);
      assert.equal(o.kind, 'done', text.slice(0, 40));
      assert.doesNotMatch(o.err + o.out, /TypeError|RangeError|\bat .*\.js:\d+/, text.slice(0, 40));
    }
  });
});
