/**
 * `nsd host check|dump|restore` as a user runs them (the built CLI, real kernel): a real process
 * in its own IPC namespace (`unshare --ipc`) dumped, its images decoded by CRIU's crit, restored
 * on the host with a command run inside, restored in the model with `nsd restore --ipc-only`;
 * bad input refused with a clear message and nothing left behind.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { fromImages } from '../../src/host/index.js';
import { CRIU_DIR, HOST_SKIP, hostTest, readDir, REPO_ROOT } from './helpers.js';

const MAIN = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const nsd = (args: string[], input?: string) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 120_000, input });

let proc: ChildProcess | undefined;
let dir = '';

before(async () => {
  if (HOST_SKIP) return;
  dir = mkdtempSync(join(tmpdir(), 'nsd-host-cli-'));
  // A real process in a new IPC namespace with one object of each kind and two messages.
  proc = spawn('unshare', ['--ipc', 'sh', '-c', 'q=$(ipcmk -Q | grep -o "[0-9]*$"); ipcmk -S 3 >/dev/null; ipcmk -M 5000 -p 0640 >/dev/null; echo ready; exec sleep 120'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    proc!.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    proc!.on('exit', (c) => reject(new Error(`unshare exited ${c}`)));
  });
});

after(() => {
  proc?.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

hostTest('nsd host check: every feature present on this kernel', () => {
  const r = nsd(['host', 'check']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  for (const f of ['root', 'set_tid', 'msg_next_id', 'sem_next_id', 'shm_next_id', 'MSG_COPY', 'STAT_ANY']) assert.match(r.stdout, new RegExp(`^${f}\\s+yes`, 'm'));
});

hostTest('nsd host dump of a real process, crit decodes the images, host and model restore them', () => {
  const out = join(dir, 'dump');
  const r = nsd(['host', 'dump', '-t', String(proc!.pid), '-D', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /1 queues \(0 messages\), 1 semaphore sets, 1 segments/);
  assert.match(r.stdout, /not saved: SEM_UNDO/);
  const ns = fromImages(readDir(out));
  assert.equal(ns.shm[0]!.size, 5000);
  assert.equal(ns.shm[0]!.desc.mode & 0o777, 0o640);

  // CRIU's crit reads every CRIU image we wrote (the nsd-extra ones are this project's).
  const crit = spawnSync('crit', ['--help'], { encoding: 'utf8' });
  if (crit.error) {
    if (process.env.CI) assert.fail(`crit is not installed (package criu): ${crit.error.message}`);
  } else {
    for (const [file, check] of [
      ['ipcns-var-1.img', (j: any) => assert.equal(j.entries[0].msg_ctlmax, Number(ns.sysctls['kernel/msgmax']))],
      ['ipcns-msg-1.img', (j: any) => assert.equal(j.entries[0].desc.key, ns.msg[0]!.desc.key)],
      ['ipcns-sem-1.img', (j: any) => assert.deepEqual([j.entries[0].nsems, j.entries[0].extra], [3, [0, 0, 0]])],
      ['ipcns-shm-1.img', (j: any) => assert.deepEqual([j.entries[0].size, j.entries[0].in_pagemaps], [5000, true])],
      [`pagemap-shmem-${ns.shm[0]!.desc.id}.img`, (j: any) => assert.equal(j.magic, 'PAGEMAP')],
    ] as const) {
      const d = spawnSync('crit', ['decode', '-i', join(out, file)], { encoding: 'utf8' });
      assert.equal(d.status, 0, `crit decode ${file}: ${d.stderr}`);
      check(JSON.parse(d.stdout));
    }
  }

  // Host: the command runs inside the restored namespaces; its status is ours.
  const h = nsd(['host', 'restore', '-D', out, '--', 'sh', '-c', 'cat /proc/sysvipc/shm; exit 7']);
  assert.equal(h.status, 7, h.stderr);
  assert.match(h.stdout, new RegExp(`^\\s*${ns.shm[0]!.desc.key | 0}\\s+${ns.shm[0]!.desc.id}\\s+640\\s+5000\\b`, 'm'));
  assert.match(h.stderr, /restored 1 queues .* \(host images, \d+ operations\)/);
  // --no-verify: the same restore without the comparing re-dump, said so; the same state either way.
  const nv = nsd(['host', 'restore', '--no-verify', '-D', out, '--', 'sh', '-c', 'cat /proc/sysvipc/shm; exit 7']);
  assert.equal(nv.status, 7, nv.stderr);
  assert.match(nv.stderr, /\(host images, \d+ operations\); not verified \(--no-verify\)/);
  const cols = (text: string) => text.trim().split('\n')[1]!.trim().split(/\s+/);
  const [v, n] = [cols(h.stdout), cols(nv.stdout)];
  assert.deepEqual(n.slice(0, 5), v.slice(0, 5), 'key shmid perms size cpid');
  const saved = ns.shm[0]!;
  assert.deepEqual([n[5], n[11], n[12]].map(Number), [saved.lpid, saved.atime, saved.dtime], `lpid atime dtime as saved: ${nv.stdout}`);
  // The default (verified) restore leaves them as saved too: its re-dump attaches nothing.
  assert.deepEqual([v[5], v[11], v[12]].map(Number), [saved.lpid, saved.atime, saved.dtime], `verified: lpid atime dtime as saved: ${h.stdout}`);

  // Model: `nsd restore --ipc-only` reads the same images.
  const m = nsd(['restore', '-D', out, '--ipc-only']);
  assert.equal(m.status, 0, m.stderr);
  assert.match(m.stdout, new RegExp(`0x${ns.shm[0]!.desc.key.toString(16).padStart(8, '0')}\\s+${ns.shm[0]!.desc.id}\\s+root\\s+640\\s+5000`));
});

hostTest('nsd host restore of the CRIU 4.2 dump lists what the images lack', () => {
  const r = nsd(['host', 'restore', '-D', CRIU_DIR, '-v', '--', 'true']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /6 queues \(33 messages\), 6 semaphore sets, 6 segments,.*criu images/);
  assert.match(r.stderr, /not in the images: SEM_UNDO adjustments of every task/);
});

hostTest('bad input: clear errors, nothing restored', () => {
  const missing = nsd(['host', 'restore', '-D', join(dir, 'nope')]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /nsd host restore: .*nope: .*no such file or directory.*; nothing was restored/i);

  const bad = join(dir, 'bad');
  const ok = nsd(['host', 'dump', '-t', String(proc!.pid), '-D', bad]);
  assert.equal(ok.status, 0, ok.stderr);
  const again = nsd(['host', 'dump', '-t', String(proc!.pid), '-D', bad]);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /already holds images/);

  const msg = join(bad, 'ipcns-msg-1.img');
  writeFileSync(msg, readFileSync(msg).subarray(0, 13));
  const cut = nsd(['host', 'restore', '-D', bad, '--', 'true']);
  assert.equal(cut.status, 1);
  assert.match(cut.stderr, /ipcns-msg-1\.img.*nothing was restored/);

  const nopid = nsd(['host', 'dump', '-t', '999999999', '-D', join(dir, 'x')]);
  assert.equal(nopid.status, 1);
  assert.match(nopid.stderr, /pid 999999999: ENOENT/);
  assert.ok(!existsSync(join(dir, 'x', 'ipcns-var-1.img')));
});

hostTest('not root: check says so, dump and restore refuse with the reason', () => {
  // uid 65534 keeps only CAP_DAC_READ_SEARCH (ambient), so it can read a checkout in a private
  // directory (CI clones into one) but is not root for anything the backend needs.
  const as = (args: string[]) => spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=+dac_read_search', '--ambient-caps=+dac_read_search', process.execPath, MAIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  const probe = as(['--version']);
  if (probe.error || probe.status !== 0) {
    if (process.env.CI) assert.fail(`cannot run as uid 65534: ${probe.error?.message ?? probe.stderr}`);
    return; // setpriv missing or without ambient-capability support
  }
  const c = as(['host', 'check']);
  assert.equal(c.status, 1);
  assert.match(c.stdout, /host backend: no \(not root/);
  const r = as(['host', 'restore', '-D', CRIU_DIR]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /nsd host restore: not root/);
});

hostTest('without CMD the namespaces stay, held by the agent; kill PID ends them', async () => {
  const r = nsd(['host', 'restore', '-D', CRIU_DIR]);
  assert.equal(r.status, 0, r.stderr);
  const pid = Number(/held by pid (\d+)/.exec(r.stdout)?.[1]);
  assert.ok(pid > 0, r.stdout);
  try {
    const e = spawnSync('nsenter', ['-t', String(pid), '-i', 'cat', '/proc/sysvipc/msg'], { encoding: 'utf8' });
    assert.equal(e.status, 0, e.stderr);
    assert.match(e.stdout, /^\s*268435456\s+32768\s+600\s+263\s+9\b/m, 'queue 32768 with its 9 messages');
  } finally {
    process.kill(pid, 'SIGTERM');
  }
  for (let i = 0; i < 100 && existsSync(`/proc/${pid}/ns`); i++) await new Promise((res) => setTimeout(res, 20));
  assert.ok(!existsSync(`/proc/${pid}/ns`), 'the agent is gone');
});
