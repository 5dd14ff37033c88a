/**
 * Design note: `cr pre-dump` (criu pre-dump): one round of iterative pre-copy. It writes only the
 * private memory of the tree — pagemap-<pid>.img and pages-<id>.img, plus `parent` when the round
 * follows another — and the contents of its SysV shm segments when it has its own IPC namespace
 * (pagemap-shmem-<id>.img, src/cr/shm-rounds.ts), and leaves the tree running. Dirtiness is read only through /proc/PID/pagemap
 * and reset through /proc/PID/clear_refs (src/cr/pagemap.ts), so each round writes what changed
 * since the previous one and marks the rest PE_PARENT. The model runs one task at a time, so the
 * round is atomic without freezing anyone. A final `dump --prev-images-dir REL --track-mem`
 * closes the chain; restore follows it.
 */
import type { Kernel } from '../syscalls/scheduler.js';
import { CrError, noSuchProcess, unsupported } from './errors.js';
import { MANIFEST, writeManifest } from './manifest.js';
import { memoryImages, PARENT_FILE, treeProcesses, type MemoryStats } from './pagemap.js';
import { shmRoundImages, type ShmRoundStats, type ShmTracker } from './shm-rounds.js';

export interface PreDumpOptions {
  /** The previous round's directory relative to this one, or null for the first round. */
  parent: string | null;
  /** kid of the task that reads /proc (default init). */
  dumper?: number;
  /**
   * The segments' times as the previous round saw them, updated by this round
   * (src/cr/shm-rounds.ts); without it every segment is taken whole.
   */
  shm?: ShmTracker;
}

export interface PreDumpResult {
  images: Map<string, Uint8Array>;
  stats: MemoryStats;
  /** The tree's SysV shm (null when it shares the dumper's IPC namespace: not dumped). */
  shm: ShmRoundStats | null;
  processes: number;
}

/** Pre-dumps the memory of the tree rooted at `rootPid` (a pid in the initial namespace). */
export function preDump(k: Kernel, rootPid: number, opts: PreDumpOptions): PreDumpResult {
  const kid = k.pidNs(k.s.rootPidNs).pids.get(rootPid);
  const root = kid === undefined ? undefined : k.s.tasks.get(kid);
  if (!root || root.state === 'zombie' || root.state === 'dead') throw noSuchProcess('dump', `pid ${rootPid}`);
  if (root.kid !== root.tgid) throw unsupported('dump', 'find-tree', `pid ${rootPid}`, 'the root must be a thread-group leader');
  const procs = treeProcesses(k, root.kid);
  const images = new Map<string, Uint8Array>();
  let stats: MemoryStats;
  let shm: ShmRoundStats | null = null;
  try {
    // shm first: memoryImages clears soft-dirty (clear_refs 4) on every mapping, shm ones too.
    const dumper = opts.dumper ?? k.init.kid;
    if (k.t(dumper).ipcns !== root.ipcns) shm = shmRoundImages(k, procs, root.ipcns, { hasParent: opts.parent !== null, tracker: opts.shm, dumper }, images);
    stats = memoryImages(k, procs, { hasParent: opts.parent !== null, trackMem: true, dumper: opts.dumper }, images);
  } catch (e) {
    throw CrError.wrap('dump', 'memory', `pid ${rootPid}`, e);
  }
  if (opts.parent !== null) images.set(PARENT_FILE, new TextEncoder().encode(opts.parent + '\n'));
  images.set(MANIFEST, writeManifest(images));
  return { images, stats, shm, processes: procs.length };
}
