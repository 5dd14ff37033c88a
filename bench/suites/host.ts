/**
 * Section 6: the host backend on the real kernel (src/host). One namespace of 2,100 objects —
 * 1,000 queues × 10 messages of 64 B, 1,000 semaphore sets × 8, 100 segments × 64 KiB — built in
 * an agent's namespace, then:
 *   dump    = `nsd host dump -t`: a plain agent setns'es in and reads everything, writing the
 *             segments' pages images itself; the other images encoded and written by Node;
 *   restore = `nsd host restore`: the images read back and decoded, a new agent (new pid + IPC
 *             namespaces) spawned, every object recreated (no verification re-dump: `verify`
 *             is measured on its own).
 * Wall time and CPU time (Node, and the agent's threads) are both reported: on a shared, loaded
 * machine the CPU time is the steadier figure.
 * CRIU 4.2 took ~140 ms to dump and ~50 ms to restore the IPC part of such a namespace on the
 * development machine (issue 11); the targets are to be faster both ways.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dumpToDir } from '../../src/cli/host-commands.js';
import { Agent, compareNs, dumpWith, hostSupport, loadRestoreImages, restoreHost, restoreImages } from '../../src/host/index.js';
import type { HostIpcNs } from '../../src/host/index.js';
import type { HostFigure } from '../lib/types.js';

export const CRIU_DUMP_MS = 140;
export const CRIU_RESTORE_MS = 50;

export interface HostOptions {
  reps: number;
  /** Divide every object count by this (quick runs). */
  shrink: number;
}

/** The benchmark namespace (as plain data). */
export function benchNamespace(shrink = 1): HostIpcNs {
  const n = (x: number): number => Math.max(1, Math.floor(x / shrink));
  const body = new Uint8Array(64).fill(0x61);
  // Segment i holds bytes (i + j) & 0xff: copied out of one ramp of 64 KiB + 256 (no per-byte build).
  const ramp = new Uint8Array(65536 + 256).map((_, j) => j & 0xff);
  const seg = (i: number): Uint8Array => ramp.slice(i & 0xff, (i & 0xff) + 65536);
  const d = (id: number, key: number) => ({ id, key, uid: 0, gid: 0, cuid: 0, cgid: 0, mode: 0o600 });
  return {
    sysctls: {},
    msg: Array.from({ length: n(1000) }, (_, i) => ({
      desc: d(i, 0x1000000 + i), qbytes: 16384,
      messages: Array.from({ length: 10 }, (_, m) => ({ mtype: BigInt(m + 1), body })),
      stime: 0, rtime: 0, ctime: 0, lspid: 0, lrpid: 0,
    })),
    sem: Array.from({ length: n(1000) }, (_, i) => ({
      desc: d(i, 0x2000000 + i), values: Array.from({ length: 8 }, (_, k) => (i + k) % 100), pids: new Array(8).fill(0), ncnt: [], zcnt: [], otime: 0, ctime: 0,
    })),
    shm: Array.from({ length: n(100) }, (_, i) => ({
      desc: d(i, 0x3000000 + i), size: 65536, data: seg(i), atime: 0, dtime: 0, ctime: 0, cpid: 0, lpid: 0, nattch: -1,
    })),
    tasks: [],
    source: 'model',
    notes: [],
  };
}

const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;
/** CPU time of a process's threads (/proc/PID/task/TID/schedstat, ns): the agent's main thread
 *  and its background threads (queues' messages, segments' contents). */
const threadsCpuMs = (pid: number): number =>
  readdirSync(`/proc/${pid}/task`).reduce((ms, tid) => ms + Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6, 0);
/** CPU time of a process's waited-for children (/proc/PID/stat cutime + cstime, clock ticks of 10 ms). */
function childrenCpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[13]) + Number(f[14])) * 10;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function runHost(opts: HostOptions): Promise<HostFigure> {
  const label = 'host IPC namespace, 2,100 objects (1,000 queues × 10 msgs, 1,000 sets × 8, 100 × 64 KiB shm)';
  const fig: HostFigure = {
    id: 'host-2100', label, dumpMs: null, restoreMs: null, verifyMs: null, dumpCpuMs: null, restoreCpuMs: null, ops: null, imageBytes: null,
    criuDumpMs: CRIU_DUMP_MS, criuRestoreMs: CRIU_RESTORE_MS, error: null,
  };
  const sup = hostSupport();
  if (!sup.ok) {
    fig.error = `unavailable: ${sup.reason}`;
    return fig;
  }
  const ns = benchNamespace(opts.shrink);
  const src = await restoreHost(ns, { verify: false });
  const dir = mkdtempSync(join(tmpdir(), 'nsd-host-bench-'));
  const dumps: number[] = [];
  const restores: number[] = [];
  const verifies: number[] = [];
  const dumpCpus: number[] = [];
  const restoreCpus: number[] = [];
  try {
    for (let rep = 0; rep <= opts.reps; rep++) {
      for (const f of readdirSync(dir)) rmSync(join(dir, f));
      let t = performance.now();
      let cpu = process.cpuUsage();
      // As `nsd host dump` does (dumpToDir): the agent writes the pages images itself.
      const dumper = await Agent.start('plain');
      await dumpToDir(src.agent.hostPid, dir, dumper);
      const agentDumpMs = childrenCpuMs(dumper.hostPid);
      await dumper.close();
      const dumpMs = performance.now() - t;
      const dumpCpu = cpuMs(process.cpuUsage(cpu)) + agentDumpMs;
      fig.imageBytes = readdirSync(dir).reduce((s, f) => s + statSync(join(dir, f)).size, 0);

      t = performance.now();
      cpu = process.cpuUsage();
      // As `nsd host restore` does: the agent starts while the images are read.
      const starting = Agent.start('ns');
      const read = await loadRestoreImages(dir, starting);
      const r = await restoreImages(read.images, { starting, verify: false, ...(read.pages ? { pages: read.pages } : {}) });
      const restoreMs = performance.now() - t;
      const restoreCpu = cpuMs(process.cpuUsage(cpu)) + threadsCpuMs(r.agent.hostPid);
      fig.ops = r.ops;
      t = performance.now();
      // What restoreHost's verification does: a re-dump that attaches nothing, compared field by field.
      compareNs(ns, await dumpWith(r.agent, 0, { shmData: false }));
      const verifyMs = performance.now() - t;
      await r.agent.close();
      if (rep === 0) continue; // warm-up
      dumps.push(dumpMs);
      restores.push(restoreMs);
      dumpCpus.push(dumpCpu);
      restoreCpus.push(restoreCpu);
      verifies.push(verifyMs);
    }
    fig.dumpMs = median(dumps);
    fig.restoreMs = median(restores);
    fig.verifyMs = median(verifies);
    fig.dumpCpuMs = median(dumpCpus);
    fig.restoreCpuMs = median(restoreCpus);
  } catch (e) {
    fig.error = e instanceof Error ? e.message : String(e);
  } finally {
    await src.agent.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return fig;
}
