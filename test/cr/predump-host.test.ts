/**
 * `nsd pre-dump` on the host (src/cli/cr-commands.ts): pre-copy rounds into DIR/1 … DIR/N, the
 * final dump into DIR with its parent chain, `nsd restore -D DIR` following it, `nsd show DIR`
 * listing the chain, and a broken chain refused by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { addCrCommands } from '../../src/cli/cr-commands.js';

async function nsd(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  let status = -1;
  const text = (t: string | Uint8Array) => (typeof t === 'string' ? t : Buffer.from(t).toString('utf8'));
  const program = new Command().name('nsd').enablePositionalOptions().exitOverride();
  addCrCommands(program, { stdout: (t) => out.push(text(t)), stderr: (t) => err.push(text(t)), exit: (s) => (status = s) });
  await program.parseAsync(['node', 'nsd', ...args]);
  return { status, stdout: out.join(''), stderr: err.join('') };
}

const WORKLOAD = ['sh', '-c', 'mq-producer 0x1234 5 1 & mq-consumer 0x1234 5; wait'];
const TAIL = 'received: message 4\nsent message 4\nreceived: message 5\nsent message 5\n';

test('nsd pre-dump: rounds in DIR/1..N, final dump in DIR; nsd restore follows the chain; nsd show lists it; a broken chain is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nsd-predump-'));
  try {
    const d = await nsd('pre-dump', '-D', dir, '--after', '1', '--rounds', '2', '--interval', '1', '-v', '--', ...WORKLOAD);
    assert.equal(d.status, 0, d.stderr);
    assert.equal(d.stdout.match(/^Pre-dumped pid \d+: 3 processes, \d+ pages written, \d+ in the parent, in \S+\/[12]$/gm)?.length, 2, d.stdout);
    assert.equal(readFileSync(join(dir, 'parent'), 'utf8'), '2\n');
    assert.equal(readFileSync(join(dir, '2', 'parent'), 'utf8'), '../1\n');
    assert.ok(readdirSync(join(dir, '1')).some((f) => /^pagemap-\d+\.img$/.test(f)));
    const r = await nsd('restore', '-D', dir);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.endsWith(TAIL), r.stdout);
    const shown = JSON.parse((await nsd('show', dir)).stdout) as { chain: string[]; images: unknown[] };
    assert.deepEqual(shown.chain, [join(dir, '2'), join(dir, '1')]);
    rmSync(join(dir, '1'), { recursive: true });
    const broken = await nsd('restore', '-D', dir);
    assert.equal(broken.status, 1);
    assert.match(broken.stderr, /broken image chain: parent images directory '\S+\/2\/\.\.\/1' does not exist/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('nsd dump --track-mem: private memory as pagemap-*.img + pages-*.img (cr dump --track-mem); nsd restore reads them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nsd-trackmem-'));
  try {
    const d = await nsd('dump', '-D', dir, '--after', '1', '--track-mem', '--', ...WORKLOAD);
    assert.equal(d.status, 0, d.stderr);
    const files = readdirSync(dir);
    assert.ok(files.some((f) => /^pagemap-\d+\.img$/.test(f)), files.join(' '));
    assert.ok(files.some((f) => /^pages-\d+\.img$/.test(f)), files.join(' '));
    assert.ok(!files.includes('parent'), 'no chain without pre-dump rounds');
    const plain = mkdtempSync(join(tmpdir(), 'nsd-trackmem-plain-'));
    try {
      assert.equal((await nsd('dump', '-D', plain, '--after', '1', '--', ...WORKLOAD)).status, 0);
      assert.ok(!readdirSync(plain).some((f) => /^pagemap-\d+\.img$/.test(f)), 'without --track-mem memory stays in nsd-extra.img');
    } finally {
      rmSync(plain, { recursive: true, force: true });
    }
    const r = await nsd('restore', '-D', dir);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.endsWith(TAIL), r.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
