/**
 * Design note: `cr pre-dump` (criu pre-dump): one round of iterative pre-copy. It writes only the
 * private memory of the tree — pagemap-<pid>.img and pages-<id>.img, plus `parent` when the round
 * follows another — and leaves the tree running. Dirtiness is read only through /proc/PID/pagemap
 * and reset through /proc/PID/clear_refs (src/cr/pagemap.ts), so each round writes what changed
 * since the previous one and marks the rest PE_PARENT. The model runs one task at a time, so the
 * round is atomic without freezing anyone. A final `dump --prev-images-dir REL --track-mem`
 * closes the chain; restore follows it.
 */
import type { Kernel } from '../syscalls/scheduler.js';
import { CrError, noSuchProcess, unsupported } from './errors.js';
import { MANIFEST, writeManifest } from './manifest.js';
import { memoryImages, PARENT_FILE, treeProcesses, type MemoryStats } from './pagemap.js';

export interface PreDumpOptions {
  /** The previous round's directory relative to this one, or null for the first round. */
  parent: string | null;
  /** kid of the task that reads /proc (default init). */
  dumper?: number;
}

export interface PreDumpResult {
  images: Map<string, Uint8Array>;
  stats: MemoryStats;
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
  try {
    stats = memoryImages(k, procs, { hasParent: opts.parent !== null, trackMem: true, dumper: opts.dumper }, images);
  } catch (e) {
    throw CrError.wrap('dump', 'memory', `pid ${rootPid}`, e);
  }
  if (opts.parent !== null) images.set(PARENT_FILE, new TextEncoder().encode(opts.parent + '\n'));
  images.set(MANIFEST, writeManifest(images));
  return { images, stats, processes: procs.length };
}
