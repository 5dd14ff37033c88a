/**
 * src/cli/hugepages.ts: which invocations re-exec with glibc.malloc.hugetlb=1, and that a re-exec'd
 * command behaves as the command itself (output and status pass through).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HUGETLB_TUNABLE, hugepageTunables } from '../../src/cli/hugepages.js';

const MADVISE = 'always [madvise] never\n';
const argv = (...a: string[]) => ['node', 'nsd', ...a];

test('hugepageTunables: only the memory-moving commands, on Linux with THP, unless opted out or already set', () => {
  assert.equal(hugepageTunables(argv('dump', 'sh', '-c', 'true'), {}, 'linux', MADVISE), HUGETLB_TUNABLE);
  assert.equal(hugepageTunables(argv('--profile', 'linux-6', 'restore', 'x'), {}, 'linux', MADVISE), null, 'an option value is not skipped: "linux-6" is not a command');
  assert.equal(hugepageTunables(argv('restore', 'dir'), { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, 'linux', MADVISE), `glibc.malloc.arena_max=2:${HUGETLB_TUNABLE}`);
  assert.equal(hugepageTunables(argv('sh', '-c', 'true'), {}, 'linux', MADVISE), null);
  assert.equal(hugepageTunables(argv(), {}, 'linux', MADVISE), null);
  assert.equal(hugepageTunables(argv('dump'), { NSD_HUGEPAGES: '0' }, 'linux', MADVISE), null);
  assert.equal(hugepageTunables(argv('dump'), { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }, 'linux', MADVISE), null);
  assert.equal(hugepageTunables(argv('dump'), {}, 'linux', 'always madvise [never]\n'), null);
  assert.equal(hugepageTunables(argv('dump'), {}, 'linux', null), null);
  assert.equal(hugepageTunables(argv('dump'), {}, 'darwin', MADVISE), null);
});

test('a re-exec\'d nsd dump --help prints the help and exits 0; a bad option exits non-zero', () => {
  const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const env = { ...process.env };
  delete env['GLIBC_TUNABLES'];
  delete env['NSD_HUGEPAGES'];
  const ok = spawnSync(process.execPath, [main, 'dump', '--help'], { encoding: 'utf8', env });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /Usage: nsd dump/);
  const bad = spawnSync(process.execPath, [main, 'dump', '--no-such-option'], { encoding: 'utf8', env });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /error: /);
});
