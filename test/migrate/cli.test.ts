/**
 * `nsd migrate`, `nsd page-server` and `nsd dump --page-server` as a user runs them: the built CLI
 * spawned with node; kernel A and kernel B are separate OS processes talking TCP on 127.0.0.1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runShell } from '../../src/cli/session.js';
import { STRATEGIES } from '../../src/cr/index.js';

const CLI = 'dist/src/cli/main.js';
const W = 'i=0; while [ $i -lt 5 ]; do echo tick $i; i=$((i+1)); sleep 1; done; echo done; exit 3';

function nsd(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const uninterrupted = runShell(`unshare --pid --ipc --fork sh -c '${W}'`);

test('nsd migrate: the output across A and B equals an uninterrupted run, with every strategy', () => {
  assert.equal(uninterrupted.stdout, 'tick 0\ntick 1\ntick 2\ntick 3\ntick 4\ndone\n');
  for (const s of STRATEGIES) {
    const r = nsd(['migrate', '-s', s, '--after', '2.5', '--', 'sh', '-c', W]);
    assert.equal(r.stdout, uninterrupted.stdout, `${s}: ${r.stderr}`);
    assert.equal(r.status, 3, `${s}: the exit status comes from B: ${r.stderr}`);
    assert.match(r.stderr, /freeze \(dump\) [0-9.]+ ms, downtime [0-9.]+ ms \(frozen in A → running in B\), total [0-9.]+ ms/);
    assert.match(r.stderr, /nsd page-server: received .* 10 images/);
  }
});

test('nsd migrate --pre-copy reports its rounds; --leave-running (remote fork) runs both to the end', () => {
  const p = nsd(['migrate', '--pre-copy', '--after', '1.5', '--', 'sh', '-c', W]);
  assert.equal(p.stdout, uninterrupted.stdout, p.stderr);
  assert.match(p.stderr, /pre-copy round 1: \d+ pages sent/);
  const f = nsd(['migrate', '--leave-running', '--after', '2.5', '--', 'sh', '-c', W]);
  // A's whole run, then B's part (what came after the checkpoint).
  assert.equal(f.stdout, uninterrupted.stdout + 'tick 3\ntick 4\ndone\n', f.stderr);
  assert.match(f.stderr, /the copy in kernel B/);
});

test('nsd migrate --lazy-pages (alone and after pre-copy): B runs at once and fetches from A; the output equals an uninterrupted run', () => {
  // The shell workloads keep no private memory, so no page is left lazy here: test/migrate/lazy.test.ts
  // covers faults, GETs and the background push; this checks the verbs and the lazy session's ending.
  for (const extra of [[], ['--pre-copy']]) {
    const r = nsd(['migrate', '--lazy-pages', ...extra, '--after', '2.5', '--', 'sh', '-c', W]);
    assert.equal(r.stdout, uninterrupted.stdout, r.stderr);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /lazy pages: \d+ GETs served, \d+ pages, all in B [0-9.]+ ms after it started running/);
    assert.match(r.stderr, /nsd page-server: lazy pages: \d+ faults served, \d+ pages pushed/);
  }
  const bad = nsd(['migrate', '--lazy-pages', '--leave-running', '--', 'true']);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--lazy-pages and --leave-running do not combine/);
});

test('nsd migrate: a container that ends before the migration is reported', () => {
  const r = nsd(['migrate', '--after', '10', '--', 'sh', '-c', W]);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, uninterrupted.stdout);
  assert.match(r.stderr, /the container ended before the migration/);
  assert.doesNotMatch(r.stderr, /kernel B exited|Node\.js v|\n\s+at /, 'a clean message, not a crash of the stopped kernel B');
});

test('nsd migrate on linux-2.6.26: the container is made by clone (no unshare(CLONE_NEWPID)); --pre-copy is refused (no soft-dirty)', () => {
  const r = nsd(['migrate', '--profile', 'linux-2.6.26', '--after', '2.5', '--', 'sh', '-c', W]);
  assert.equal(r.stdout, uninterrupted.stdout, r.stderr);
  assert.equal(r.status, 3, r.stderr);
  const p = nsd(['migrate', '--profile', 'linux-2.6.26', '--pre-copy', '--', 'sh', '-c', W]);
  assert.equal(p.status, 1);
  assert.equal(p.stdout, '', 'refused before anything runs');
  assert.match(p.stderr, /--pre-copy needs memory tracking, which linux-2\.6\.26 does not have/);
});

test('nsd dump --page-server → nsd page-server -D DIR → nsd restore -D DIR', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nsd-ps-'));
  const local = mkdtempSync(join(tmpdir(), 'nsd-local-'));
  try {
    const server = spawn(process.execPath, [CLI, 'page-server', '--port', '0', '-D', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    const portP = new Promise<number>((resolve, reject) => {
      server.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /listening on .*:(\d+)/.exec(err);
        if (m) resolve(Number(m[1]));
      });
      server.once('exit', () => reject(new Error(err)));
    });
    const port = await portP;
    const exited = new Promise<number | null>((r) => server.once('exit', (c) => r(c)));
    const d = await new Promise<{ status: number | null; stderr: string; stdout: string }>((resolve) => {
      const c = spawn(process.execPath, [CLI, 'dump', '-D', local, '--after', '2.5', '--page-server', '--port', String(port), '--', 'sh', '-c', W]);
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (x: Buffer) => (stdout += x.toString()));
      c.stderr.on('data', (x: Buffer) => (stderr += x.toString()));
      c.once('exit', (status) => resolve({ status, stdout, stderr }));
    });
    assert.equal(d.status, 0, d.stderr);
    assert.match(d.stderr, /nsd dump: sent: .* status 0/);
    assert.equal(await exited, 0, err);
    assert.deepEqual(readdirSync(dir).sort(), readdirSync(local).sort());
    const r = nsd(['restore', '-D', dir]);
    assert.equal(d.stdout + r.stdout, uninterrupted.stdout);
    assert.equal(r.status, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(local, { recursive: true, force: true });
  }
});

test('the transfer bar of nsd migrate ends at 100 % although its total was an upper bound', async () => {
  const { PassThrough } = await import('node:stream');
  const { TransferBar } = await import('../../src/cli/migrate-commands.js');
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  // The bound (what onFrozen computes) is 10 MiB; zero pages and holes made it 3 MiB + a bit.
  const bar = new TransferBar(out, 10 << 20, false);
  bar.update(1 << 20);
  bar.update((3 << 20) + 4096);
  bar.finish();
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  assert.ok(lines.length >= 1, text);
  assert.match(lines[lines.length - 1]!, / 100% 3149824\/3149824 bytes/);
  assert.doesNotMatch(text, / 100% 1048576/);
});
