/**
 * Design note: SysV shm in pre-dump rounds, as CRIU tracks it (criu/shmem.c: a segment's dirty
 * pages are the soft-dirty bits of its mappings in every attaching task, read through
 * /proc/PID/pagemap, the same pagemap cache the private memory uses).
 *
 * A round writes, for each segment of the tree's IPC namespace, `pagemap-shmem-<id>.img` (CRIU's
 * pagemap_head + pagemap_entry runs whose vaddr is the byte offset in the segment) and its
 * `pages-<n>.img`:
 *   - the first round, or a segment taken whole: every page the segment's store holds (pages it
 *     lacks are zero), PE_PRESENT;
 *   - a later round: a page soft-dirty in any attachment of the tree is PE_PRESENT (its bytes, even
 *     zero ones: the parent may hold older ones); a clean page the store holds is PE_PARENT (the
 *     parent recorded it: it was in the store then); other pages are holes (zero then and now).
 * A segment is taken whole — its dirtiness cannot be trusted — when:
 *   - no task of the tree maps it, or fewer mappings of the tree than its shm_nattch exist (a task
 *     outside the tree may write it: nothing we read tracks that);
 *   - its shm_dtime or shm_ctime moved since the previous round: a detach (shmdt, munmap, exit)
 *     drops the soft-dirty bits of that mapping with it, so a page written through it just before
 *     would look clean; IPC_SET/IPC_RMID or a recreation under the same id move shm_ctime. CRIU
 *     has the gap of the detached mapping; here a restore must be complete or refused;
 *   - there is no record of the previous round (`ShmTracker.segments` null: the caller did not
 *     keep it, e.g. `cr pre-dump` rounds in directories) or the segment is new since it.
 * A later round on a kernel without the soft-dirty bit (linux-2.6.26: bits 55-60 are the page
 * shift) is refused before anything is read (pagemap.ts requireDirtyTracking).
 * The dumper then clears soft-dirty through /proc/PID/clear_refs with the private memory
 * (pagemap.ts memoryImages: the caller runs this first).
 *
 * Reading: `readShmemChain` rebuilds a segment, taking PE_PARENT runs from `parent/` (recursively),
 * and refuses a chain that lacks a page by naming the file.
 */
import { PAGE_SIZE } from '../abi/constants.js';
import type { Kernel } from '../syscalls/scheduler.js';
import { Sys } from '../syscalls/sys.js';
import type { IpcNs } from '../kernel/ipc/util.js';
import { ImageError, PE_PARENT, PE_PRESENT, pagemapPagesId, readShmemContents, writeImage, type PagemapEntry, type PagemapHead } from './image/index.js';
import { appendPage, PARENT_FILE, PARENT_PREFIX, PM_SOFT_DIRTY, readPagemap, requireDirtyTracking, type MemoryProc } from './pagemap.js';

/** First pages-<id>.img id of shm contents written by a round (clear of the dump's 1.. and private memory's 100000..). */
export const SHM_PAGES_ID_BASE = 200000;

const ZERO_PAGE = new Uint8Array(PAGE_SIZE);

/** What the next round needs from this one (plain data): each segment's shm_dtime and shm_ctime, by shm id. */
export interface ShmTracker {
  segments: Map<number, { dtime: number; ctime: number }> | null;
}

export interface ShmRoundStats {
  /** Pages written with their bytes, marked in-parent, and the segments taken whole. */
  written: number;
  inParent: number;
  whole: number[];
}

export function shmPagemapName(id: number): string {
  return `pagemap-shmem-${id}.img`;
}

/**
 * Writes the shm contents of IPC namespace `ipcnsId` as a round into `out` (replacing what the
 * dump wrote for a segment, pages file included) and updates `tracker` for the next round.
 */
export function shmRoundImages(k: Kernel, procs: readonly MemoryProc[], ipcnsId: number, opts: { hasParent: boolean; tracker?: ShmTracker; dumper?: number }, out: Map<string, Uint8Array>): ShmRoundStats {
  requireDirtyTracking(k, opts.hasParent);
  const ns = k.ipcNs(ipcnsId) as IpcNs;
  const dumper = opts.dumper ?? k.init.kid;
  const sys = new Sys(k, dumper);
  // Dirty pages (segment page index) and mapping count per segment, over the tree's address spaces.
  const dirty = new Map<number, Set<number>>();
  const maps = new Map<number, number>();
  const seenMm = new Set<number>();
  for (const p of procs) {
    const mm = k.mm(k.t(p.kid).mm);
    if (seenMm.has(mm.id)) continue;
    seenMm.add(mm.id);
    const seen = k.pidIn(p.kid, dumper);
    for (const m of mm.maps) {
      if (m.kind !== 'shm' || m.ipcns !== ipcnsId) continue;
      maps.set(m.shmid, (maps.get(m.shmid) ?? 0) + 1);
      const set = dirty.get(m.shmid) ?? dirty.set(m.shmid, new Set()).get(m.shmid)!;
      const pm = readPagemap(sys, seen, m.start, m.len / PAGE_SIZE);
      const first = (m.shmOff ?? 0) / PAGE_SIZE;
      for (let i = 0; i < pm.length; i++) if (pm[i]! & PM_SOFT_DIRTY) set.add(first + i);
    }
  }
  const prev = opts.tracker?.segments ?? null;
  const next = new Map<number, { dtime: number; ctime: number }>();
  const stats: ShmRoundStats = { written: 0, inParent: 0, whole: [] };
  const segs = [...ns.shm.objs.entries()].sort((a, b) => a[0] - b[0]).map(([, s]) => s);
  segs.forEach((s, i) => {
    const id = s.perm.id;
    next.set(id, { dtime: s.dtime, ctime: s.ctime });
    const was = prev?.get(id);
    const n = Math.ceil(s.segsz / PAGE_SIZE);
    const whole = !opts.hasParent || !was || was.dtime !== s.dtime || was.ctime !== s.ctime || !maps.has(id) || maps.get(id)! < s.nattch;
    if (whole && opts.hasParent) stats.whole.push(id);
    const name = shmPagemapName(id);
    const old = out.get(name);
    const pagesId = old ? pagemapPagesId(old, name) : SHM_PAGES_ID_BASE + i;
    const entries: PagemapEntry[] = [];
    const kept: Uint8Array[] = [];
    // Every page the store holds is recorded (zero ones too: no scan), so a clean page the store
    // holds is in the parent round by induction — it was in the store then, written since only
    // if dirty. Dirty pages the store lacks (written with zeros) go as present zero pages.
    const d = whole ? undefined : dirty.get(id);
    const pns = d ? [...new Set([...s.store.keys(), ...d])] : [...s.store.keys()];
    pns.sort((a, b) => a - b);
    for (const pn of pns) {
      if (pn >= n) continue;
      const page = s.store.get(pn);
      if (whole || d?.has(pn)) {
        appendPage(entries, pn * PAGE_SIZE, PE_PRESENT);
        kept.push(page ?? ZERO_PAGE);
        stats.written++;
      } else {
        appendPage(entries, pn * PAGE_SIZE, PE_PARENT);
        stats.inParent++;
      }
    }
    const pages = new Uint8Array(kept.length * PAGE_SIZE);
    kept.forEach((p, j) => pages.set(p, j * PAGE_SIZE));
    const head: PagemapHead = { pages_id: pagesId };
    out.set(name, writeImage('pagemap-shmem', [head, ...entries]));
    out.set(`pages-${pagesId}.img`, pages);
  });
  if (opts.tracker) opts.tracker.segments = next;
  return stats;
}

/**
 * A segment's contents from `pagemap-shmem-<id>.img` at chain level `prefix` (e.g. '' or
 * 'parent/'), following PE_PARENT runs into the parent round. Refuses a broken chain by name.
 */
export function readShmemChain(images: ReadonlyMap<string, Uint8Array>, id: number, size: number, prefix = ''): Uint8Array {
  const file = prefix + shmPagemapName(id);
  const pm = images.get(file);
  if (!pm) throw new ImageError(file, 0, prefix ? `broken image chain: shm ${id} has pages in the parent images, which lack this file` : 'missing image');
  const pagesId = pagemapPagesId(pm, file);
  const pagesFile = `${prefix}pages-${pagesId}.img`;
  const pages = images.get(pagesFile);
  if (!pages) throw new ImageError(pagesFile, 0, `missing image (${file} of shm ${id} names it)`);
  let parent: Uint8Array | undefined;
  return readShmemContents(pm, pages, size, file, () => {
    if (!images.has(prefix + PARENT_FILE)) throw new ImageError(file, 0, `shm ${id} has pages in the parent, but these images have no parent`);
    return (parent ??= readShmemChain(images, id, size, prefix + PARENT_PREFIX));
  });
}
