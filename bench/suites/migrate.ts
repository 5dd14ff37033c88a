/**
 * Section 6: migration over the page-server stream (issue 10 §5).
 *
 * The source kernel (this process) holds a container — new pid and IPC namespaces, `sleep` as its
 * program — with `anonMiB` of private memory and a `shmMiB` SysV segment, both filled with
 * non-zero bytes. The destination is kernel B: `nsd page-server --restore`, a child process, over
 * TCP on 127.0.0.1 (what `nsd migrate` runs). Between pre-copy rounds the "workload" rewrites
 * `dirtyMiB` of the private memory (through task.memory, which sets soft-dirty as a store would).
 *
 *   cold      stop-and-copy: freeze, dump, send everything, restore in B;
 *   pre-copy  pre-dump rounds while running (phaul's stop rule), then freeze and send what changed;
 *   lazy      freeze, send everything but the pages (left at the source), restore in B, which runs
 *             at once and fetches the pages (GET) in the background; "all in B" is when it has them.
 * Downtime: freeze in A → B answered CLOSE (the tree is restored and running there). Total: first
 * byte → B running. Stream throughput: raw ADD frames of `streamMiB` into `nsd page-server`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { installUserland } from '../../src/userland/index.js';
import { migrateOut } from '../../src/migrate/migrate.js';
import { PageSender } from '../../src/migrate/sender.js';
import { PS_TYPE_PID, encodePm } from '../../src/migrate/protocol.js';
import { bootKernel, C, writeSysctl, type Kernel, type Task } from '../lib/model.js';

export interface MigrateOptions {
  anonMiB: number;
  shmMiB: number;
  dirtyMiB: number;
  streamMiB: number;
}

export const MIGRATE_FULL: MigrateOptions = { anonMiB: 192, shmMiB: 64, dirtyMiB: 1, streamMiB: 256 };
export const MIGRATE_QUICK: MigrateOptions = { anonMiB: 6, shmMiB: 2, dirtyMiB: 1, streamMiB: 16 };

export interface MigrateFigure {
  mode: 'cold' | 'pre-copy' | 'lazy';
  /** lazy: ms from B running to B holding every page, and the GETs it took. */
  lazyMs?: number;
  lazyGets?: number;
  memMiB: number;
  rounds: { pages: number; bytes: number; ms: number }[];
  finalPages: number | null;
  freezeMs: number | null;
  downtimeMs: number | null;
  totalMs: number | null;
  wireBytes: number | null;
  error: string | null;
}

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** Starts `nsd page-server` (extra args) and resolves with its port. */
function pageServer(args: string[]): Promise<{ child: ChildProcess; port: number; exit: Promise<number> }> {
  const child = spawn(process.execPath, [MAIN, 'page-server', '--port', '0', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exit = new Promise<number>((r) => child.once('exit', (c) => r(c ?? 1)));
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on .*:(\d+)/.exec(err);
      if (m) resolve({ child, port: Number(m[1]), exit });
    });
    child.once('exit', () => reject(new Error(`page-server: ${err.trim()}`)));
  });
}

function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

function build(o: MigrateOptions): { k: Kernel; root: Task; addr: number } {
  const k = bootKernel();
  installUserland(k);
  const root = k.task(k.init.sys.clone(C.CLONE_NEWPID | C.CLONE_NEWIPC | C.SIGCHLD))!;
  if (o.shmMiB > 0) writeSysctl(root, 'kernel/shmmax', o.shmMiB << 20);
  root.sys.execve('/bin/sleep', ['sleep', '100000']);
  k.run({ until: () => root.state.state === 'blocked' });
  // The memory is made after the exec (which replaces the address space), while it sleeps.
  const chunk = new Uint8Array(1 << 20);
  const addr = root.sys.mmap(0, o.anonMiB << 20, 3 /* PROT_READ|PROT_WRITE */, 0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */);
  for (let i = 0; i < o.anonMiB; i++) root.memory.write(addr + (i << 20), randomFillSync(chunk));
  if (o.shmMiB > 0) {
    const at = root.sys.shmat(root.sys.shmget(0x5150, o.shmMiB << 20, C.IPC_CREAT | 0o600), 0, 0);
    for (let i = 0; i < o.shmMiB; i++) root.memory.write(at + (i << 20), randomFillSync(chunk));
  }
  return { k, root, addr };
}

/** Migrates one container: cold, with pre-copy, or lazy (post-copy: B runs at once and fetches the pages). */
export async function runMigrate(mode: 'cold' | 'pre-copy' | 'lazy', o: MigrateOptions): Promise<MigrateFigure> {
  const fig: MigrateFigure = { mode, memMiB: o.anonMiB + o.shmMiB, rounds: [], finalPages: null, freezeMs: null, downtimeMs: null, totalMs: null, wireBytes: null, error: null };
  const { k, root, addr } = build(o);
  const b = await pageServer(mode === 'lazy' ? ['--restore', '--lazy-pages'] : ['--restore']);
  try {
    const chunk = new Uint8Array(1 << 20);
    let round = 0;
    const r = await migrateOut(k, root.pid, await dial(b.port), {
      maxRounds: mode === 'pre-copy' ? 8 : 0,
      lazy: mode === 'lazy',
      // The workload rewrites dirtyMiB at a different place each round.
      advance: () => {
        round++;
        for (let i = 0; i < o.dirtyMiB; i++) root.memory.write(addr + (((round * o.dirtyMiB + i) % o.anonMiB) << 20), randomFillSync(chunk));
        return true;
      },
      onRound: (_n, st) => fig.rounds.push({ pages: st.pagesData, bytes: st.bytes, ms: st.ms }),
    });
    fig.finalPages = r.final.pagesData + r.final.pagesLazy;
    if (r.lazy) {
      fig.lazyMs = r.lazy.ms;
      fig.lazyGets = r.lazy.gets;
    }
    fig.freezeMs = r.freezeMs;
    fig.downtimeMs = r.downtimeMs;
    fig.totalMs = r.totalMs;
    fig.wireBytes = r.bytes;
    await b.exit;
  } catch (e) {
    fig.error = e instanceof Error ? e.message : String(e);
    b.child.kill('SIGKILL');
  }
  return fig;
}

/** Raw stream throughput: `mib` of ADD frames into `nsd page-server` over loopback; MB/s (10^6). */
export async function streamThroughput(mib: number): Promise<{ MBps: number; bytes: number; ms: number }> {
  const b = await pageServer([]);
  const data = randomFillSync(new Uint8Array(1 << 20));
  const tx = new PageSender(await dial(b.port));
  const dst = encodePm(PS_TYPE_PID, 1);
  const t0 = performance.now();
  await tx.open2(dst);
  for (let i = 0; i < mib; i++) await tx.add(dst, i << 20, data);
  const status = await tx.close();
  const ms = performance.now() - t0;
  await b.exit;
  if (status !== 0) throw new Error(`page-server answered ${status}`);
  return { MBps: tx.bytes / 1e6 / (ms / 1000), bytes: tx.bytes, ms };
}
