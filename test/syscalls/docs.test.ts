/** docs/syscalls.md and `cr check`'s syscall list are generated from the syscall table. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { syscallSupport, syscallsMarkdown } from '../../src/syscalls/support.js';
import { TABLE } from '../../src/syscalls/table.js';

test('docs/syscalls.md is up to date with the syscall table (node scripts/gen-syscalls-doc.mjs writes it)', () => {
  const doc = readFileSync('docs/syscalls.md', 'utf8');
  assert.equal(doc, syscallsMarkdown(), 'docs/syscalls.md is stale: run npx tsc -p tsconfig.json && node scripts/gen-syscalls-doc.mjs');
  for (const name of Object.keys(TABLE)) assert.match(doc, new RegExp(`^\\| \`${name}\` \\|`, 'm'));
});

test('the support list follows the profile: clone3 is ENOSYS on linux-2.6.26 only', () => {
  const of = (p: 'linux-6' | 'linux-2.6.26', n: string) => syscallSupport(p).find((s) => s.name === n)!;
  assert.equal(of('linux-6', 'clone3').level, 'full');
  assert.equal(of('linux-2.6.26', 'clone3').level, 'none');
  assert.equal(of('linux-6', 'clone_with_id').level, 'model');
  assert.equal(syscallSupport('linux-6').length, Object.keys(TABLE).length);
});
