/**
 * A dump reads semncnt/semzcnt only of the sets that tasks of the namespace are asleep on (found
 * from each thread's /proc/PID/task/TID/syscall); these tests hold the counts to what the kernel
 * says: a sleeping thread and a sleeping process are counted on their set, the other set reads 0.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { dumpHost } from '../../src/host/index.js';
import { hostTest, REPO_ROOT } from './helpers.js';

hostTest('semncnt and semzcnt of sleepers in semop are dumped; a set nobody sleeps on reads 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nsd-sleepers-'));
  const bin = join(dir, 'sem-sleepers');
  const cc = spawnSync('gcc', ['-O2', '-Wall', '-pthread', '-o', bin, join(REPO_ROOT, 'test', 'host', 'native', 'sem-sleepers.c')], { encoding: 'utf8' });
  assert.equal(cc.status, 0, cc.stderr);
  const child = spawn(bin, [], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`sem-sleepers exited (${code})`)));
    });
    const [pid, a, b] = line.trim().split(' ').map(Number) as [number, number, number];
    const ns = await dumpHost(pid);
    const setA = ns.sem.find((s) => s.desc.id === a)!;
    const setB = ns.sem.find((s) => s.desc.id === b)!;
    assert.deepEqual({ values: setA.values, ncnt: setA.ncnt, zcnt: setA.zcnt }, { values: [0, 0, 1], ncnt: [1, 0, 0], zcnt: [0, 0, 1] });
    assert.deepEqual({ values: setB.values, ncnt: setB.ncnt, zcnt: setB.zcnt }, { values: [0, 4, 0], ncnt: [0, 0, 0], zcnt: [0, 0, 0] });
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
