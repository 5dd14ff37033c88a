/**
 * Design note: private memory as CRIU's pagemap-<pid>.img + pages-<id>.img, and image chains
 * (pre-dump, `--prev-images-dir`, `--track-mem`), as criu/mem.c and criu/pagemap.c do it.
 *
 * Writing. For each process of the tree (each has its own address space: the dump refuses shared
 * ones), `memoryImages` reads the soft-dirty and present bits of every private mapping ONLY
 * through /proc/<pid>/pagemap, as the dumper task sees it (criu's pagemap cache), and the page
 * bytes straight from the mapping (what criu's parasite sends through its pipe):
 *   - a present page that is soft-dirty, or any present page when there is no parent: PE_PRESENT,
 *     its bytes appended to pages-<id>.img;
 *   - a present page that is not soft-dirty when a parent round exists: PE_PARENT (criu's
 *     page_in_parent(): unchanged since the previous round, so the parent has it);
 *   - a page that is not present is a hole: not recorded, it restores as zeros.
 * With `trackMem` the dumper then writes `4` to /proc/<pid>/clear_refs, so the next round sees
 * only what is written from now on. The head of each pagemap names its pages file; ids start at
 * PAGES_ID_BASE so they never meet the shm contents' pages-<n>.img (src/cr/ipc-checkpoint.ts).
 *
 * Chains. A round written with a parent carries the file `parent` (criu: a symlink named
 * `parent`) holding the parent directory relative to this one. Loaders (the cr tool, nsd) read a
 * chain with `loadImageChain`: the parent's images join the set under the prefix `parent/`, its
 * parent's under `parent/parent/`, and so on; a `parent` that names a missing directory is refused
 * by name. `fillMemory` then resolves every mapping's pages: PE_PRESENT from this round, PE_PARENT
 * from the same pagemap file one level up (recursively); a page the chain does not have is refused
 * naming the file and the address.
 */
import { MANIFEST, writeManifest } from './manifest.js';
import { unsupported } from './errors.js';
import { O_RDONLY, O_WRONLY, PAGE_SIZE, SEEK_SET } from '../abi/constants.js';
import type { Kernel } from '../syscalls/scheduler.js';
import { Sys } from '../syscalls/sys.js';
import { kidNrIn } from '../kernel/pid/pid.js';
import { storeRead } from '../kernel/mm/pages.js';
import { ImageError, readImage, writeImage } from './image/index.js';
import { PE_LAZY, PE_PARENT, PE_PRESENT, pagemapFlags, pagemapPageCount } from './image/index.js';
import type { PagemapEntry, PagemapHead } from './image/index.js';
import type { Checkpoint } from './model.js';
import type { Mapping } from '../kernel/state.js';

export { PE_LAZY, PE_PARENT, PE_PRESENT };

/** First pages-<id>.img id used for private memory. */
export const PAGES_ID_BASE = 100000;
/** Name of the file that links a round to its parent. */
export const PARENT_FILE = 'parent';
/** Prefix under which a parent round's images join a loaded set. */
export const PARENT_PREFIX = 'parent/';

const PM_PRESENT = 1n << 63n;
/** Bit 55 of a /proc/PID/pagemap entry: soft-dirty (3.11+; see requireDirtyTracking). */
export const PM_SOFT_DIRTY = 1n << 55n;

export function pagemapName(pid: number): string {
  return `pagemap-${pid}.img`;
}

/** Per-round counts (what phaul's stop rule looks at). */
export interface MemoryStats {
  /** Pages whose bytes this round wrote. */
  written: number;
  /** Pages marked PE_PARENT (unchanged since the previous round). */
  inParent: number;
}

export interface MemoryImagesOptions {
  /** A previous round exists: unchanged pages become PE_PARENT. */
  hasParent: boolean;
  /** Clear soft-dirty (clear_refs 4) after reading, for the next round. */
  trackMem: boolean;
  /** kid of the task that reads /proc (needs CAP_SYS_ADMIN or the same uid); default init. */
  dumper?: number;
  /** Mark every recorded page PE_LAZY as well (lazy restore: the restore leaves them missing). */
  lazy?: boolean;
}

/** One process whose private memory is dumped: its kid and its pid in the container. */
export interface MemoryProc {
  kid: number;
  pid: number;
}

/** Reads `n` pagemap entries from `vaddr` of process `pidSeen` through the dumper's syscalls. */
export function readPagemap(sys: Sys, pidSeen: number, vaddr: number, n: number): BigUint64Array {
  const fd = sys.open(`/proc/${pidSeen}/pagemap`, O_RDONLY);
  try {
    sys.lseek(fd, (vaddr / PAGE_SIZE) * 8, SEEK_SET);
    const out = new BigUint64Array(n);
    let got = 0;
    while (got < n) {
      const b = sys.read(fd, (n - got) * 8);
      if (b.length === 0) break;
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      for (let i = 0; i < b.length / 8; i++) out[got + i] = dv.getBigUint64(i * 8, true);
      got += b.length / 8;
    }
    return out;
  } finally {
    sys.close(fd);
  }
}

/** Adds page `vaddr` with `flags` to a pagemap, extending the last run when it continues it. */
export function appendPage(entries: PagemapEntry[], vaddr: number, flags: number): void {
  const last = entries[entries.length - 1];
  if (last && last.flags === flags && Number(last.vaddr) + Number(last.nr_pages) * PAGE_SIZE === vaddr) last.nr_pages = last.nr_pages! + 1n;
  else entries.push({ vaddr: BigInt(vaddr), compat_nr_pages: 0, flags, nr_pages: 1n });
}

/**
 * Refuses a round that reads or resets dirtiness (`tracking`: it has a parent round, or resets
 * soft-dirty) on a kernel without the soft-dirty bit, as criu refuses --track-mem there ("Tracking
 * memory is not available", kerndat's has_dirty_track). Here it matters doubly: 2.6.26's pagemap
 * keeps the page shift in bits 55-60, so bit 55 would read as clean and every changed page would
 * be taken from the parent round — a silently stale restore. Private memory and shm rounds both
 * call it first, so a refused round has done nothing.
 */
export function requireDirtyTracking(k: Kernel, tracking: boolean): void {
  if (tracking && !k.profile.softDirty) {
    throw unsupported('dump', 'memory', 'pagemap', `tracking memory is not available: ${k.profile.name} has no soft-dirty bit in /proc/PID/pagemap (Linux 3.11+), so no pre-dump or --prev-images-dir round`);
  }
}

/**
 * Writes pagemap-<pid>.img and pages-<id>.img for every process in `procs` into `out`, reading
 * dirtiness through /proc/<pid>/pagemap, then (trackMem) clears it through clear_refs.
 */
export function memoryImages(k: Kernel, procs: readonly MemoryProc[], opts: MemoryImagesOptions, out: Map<string, Uint8Array>): MemoryStats {
  requireDirtyTracking(k, opts.hasParent || opts.trackMem);
  const dumper = opts.dumper ?? k.init.kid;
  const sys = new Sys(k, dumper);
  const stats: MemoryStats = { written: 0, inParent: 0 };
  procs.forEach((p, i) => {
    const t = k.t(p.kid);
    const mm = k.mm(t.mm);
    const seen = k.pidIn(p.kid, dumper);
    const pagesId = PAGES_ID_BASE + i;
    const entries: PagemapEntry[] = [];
    // First the pagemap entries (which pages, which flags), then the bytes in one buffer.
    const toCopy: Array<[Mapping, number]> = [];
    for (const m of mm.maps) {
      if (m.kind !== 'anon') continue;
      const pm = readPagemap(sys, seen, m.start, m.len / PAGE_SIZE);
      for (let i = 0; i < pm.length; i++) {
        const e = pm[i]!;
        if (!(e & PM_PRESENT)) continue;
        const vaddr = m.start + i * PAGE_SIZE;
        if (opts.hasParent && !(e & PM_SOFT_DIRTY)) {
          appendPage(entries, vaddr, PE_PARENT | (opts.lazy ? PE_LAZY : 0));
          stats.inParent++;
          continue;
        }
        toCopy.push([m, vaddr]);
        appendPage(entries, vaddr, PE_PRESENT | (opts.lazy ? PE_LAZY : 0));
        stats.written++;
      }
    }
    const head: PagemapHead = { pages_id: pagesId };
    out.set(pagemapName(p.pid), writeImage('pagemap', [head, ...entries]));
    const pages = new Uint8Array(toCopy.length * PAGE_SIZE);
    toCopy.forEach(([m, vaddr], j) => storeRead(m.pages, vaddr, PAGE_SIZE, pages, j * PAGE_SIZE));
    out.set(`pages-${pagesId}.img`, pages);
  });
  if (opts.trackMem) {
    for (const p of procs) {
      const fd = sys.open(`/proc/${k.pidIn(p.kid, dumper)}/clear_refs`, O_WRONLY);
      try {
        sys.write(fd, '4\n');
      } finally {
        sys.close(fd);
      }
    }
  }
  return stats;
}

/** The processes of the tree rooted at `rootKid`, parents first, named by their pid in the root's pid namespace. */
export function treeProcesses(k: Kernel, rootKid: number): MemoryProc[] {
  const ns = k.t(rootKid).pidns;
  const out: MemoryProc[] = [];
  const walk = (tgid: number): void => {
    const t = k.s.tasks.get(tgid);
    if (t && t.state !== 'zombie' && t.state !== 'dead') out.push({ kid: tgid, pid: kidNrIn(k, tgid, ns) });
    for (const c of [...k.proc(tgid).children].sort((a, b) => a - b)) walk(c);
  };
  walk(k.t(rootKid).tgid);
  return out;
}

// ---- reading ----

interface Run {
  start: number;
  pages: number;
  flags: number;
  /** Offset of the run's first page in the pages file (PE_PRESENT runs). */
  at: number;
}

interface ParsedPagemap {
  runs: Run[];
  pages: Uint8Array;
  file: string;
  /** The runs are ascending and do not overlap: a page's run is found by binary search. */
  ordered: boolean;
}

/** The first run of `pm` holding page `vaddr` (the one a linear scan would find), or undefined. */
function runOf(pm: ParsedPagemap, vaddr: number): Run | undefined {
  const runs = pm.runs;
  if (!pm.ordered) return runs.find((r) => vaddr >= r.start && vaddr < r.start + r.pages * PAGE_SIZE);
  let lo = 0;
  let hi = runs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = runs[mid]!;
    if (vaddr < r.start) hi = mid - 1;
    else if (vaddr >= r.start + r.pages * PAGE_SIZE) lo = mid + 1;
    else return r;
  }
  return undefined;
}

function parsePagemap(images: ReadonlyMap<string, Uint8Array>, prefix: string, pid: number): ParsedPagemap | undefined {
  const file = prefix + pagemapName(pid);
  const bytes = images.get(file);
  if (!bytes) return undefined;
  const img = readImage(bytes, 'pagemap', { file });
  const head = img.entries[0] as PagemapHead | undefined;
  if (!head || !Number.isSafeInteger(head.pages_id)) throw new ImageError(file, 0, 'no pagemap head');
  const pagesFile = `${prefix}pages-${head.pages_id}.img`;
  const pages = images.get(pagesFile);
  if (!pages) throw new ImageError(pagesFile, 0, `missing image (named by ${file})`);
  const runs: Run[] = [];
  let at = 0;
  img.entries.slice(1).forEach((raw, i) => {
    const e = raw as PagemapEntry;
    const flags = pagemapFlags(e);
    const count = Number(pagemapPageCount(e));
    const start = Number(e.vaddr);
    if (!Number.isSafeInteger(start) || start % PAGE_SIZE !== 0 || !Number.isSafeInteger(count) || count < 0) {
      throw new ImageError(file, 0, `entry ${i + 1}: bad run ${e.vaddr}+${count}`);
    }
    if ((flags & PE_PRESENT) && (flags & PE_PARENT)) throw new ImageError(file, 0, `entry ${i + 1}: both PE_PRESENT and PE_PARENT`);
    runs.push({ start, pages: count, flags, at });
    if (flags & PE_PRESENT) at += count * PAGE_SIZE;
  });
  if (at !== pages.length) throw new ImageError(pagesFile, 0, `has ${pages.length} bytes, ${file} accounts for ${at}`);
  const ordered = runs.every((r, i) => i === 0 || r.start >= runs[i - 1]!.start + runs[i - 1]!.pages * PAGE_SIZE);
  return { runs, pages, file, ordered };
}

/** Depth of the chain (0: no parent) and the parent's name, from the `parent` files of a loaded set. */
export function chainOf(images: ReadonlyMap<string, Uint8Array>): string[] {
  const out: string[] = [];
  let prefix = '';
  for (;;) {
    const p = images.get(prefix + PARENT_FILE);
    if (!p) return out;
    out.push(new TextDecoder().decode(p).trim());
    prefix += PARENT_PREFIX;
  }
}

/**
 * Copies page `vaddr` of process `pid` from the chain level `prefix` into `dst` at `at`; follows
 * PE_PARENT upwards. Returns false when the level has no record of the page (a hole).
 */
function pageFromChain(images: ReadonlyMap<string, Uint8Array>, cache: Map<string, ParsedPagemap | undefined>, prefix: string, pid: number, vaddr: number, dst: Uint8Array, at: number, lazy: Set<number> | null): boolean {
  const key = prefix + pid;
  if (!cache.has(key)) cache.set(key, parsePagemap(images, prefix, pid));
  const pm = cache.get(key);
  if (!pm) {
    const link = prefix ? images.get(prefix.slice(0, -PARENT_PREFIX.length) + PARENT_FILE) : undefined;
    const name = link ? new TextDecoder().decode(link).trim() : prefix || '.';
    throw new ImageError(prefix + pagemapName(pid), 0, `broken image chain: page 0x${vaddr.toString(16)} is in the parent images '${name}', which are missing`);
  }
  const r = runOf(pm, vaddr);
  if (r) {
    if (r.flags & PE_LAZY && lazy) {
      lazy.add(vaddr / PAGE_SIZE);
      return true;
    }
    if (r.flags & PE_PRESENT) {
      const off = r.at + (vaddr - r.start);
      dst.set(pm.pages.subarray(off, off + PAGE_SIZE), at);
      return true;
    }
    if (r.flags & PE_PARENT) {
      if (!images.has(prefix + PARENT_FILE)) throw new ImageError(pm.file, 0, `page 0x${vaddr.toString(16)} is in the parent, but these images have no parent`);
      if (!pageFromChain(images, cache, prefix + PARENT_PREFIX, pid, vaddr, dst, at, null)) {
        throw new ImageError(PARENT_PREFIX + pagemapName(pid), 0, `page 0x${vaddr.toString(16)} is marked in-parent by ${pm.file} but the parent does not have it`);
      }
      return true;
    }
    if (r.flags & PE_LAZY) throw new ImageError(pm.file, 0, `page 0x${vaddr.toString(16)} was left at the source (PE_LAZY, no data in these images): only a lazy restore with a page source can fill it`);
    return false;
  }
  return false;
}

/** The bytes of [start, start+len) when one PE_PRESENT run of the top round covers it (not PE_LAZY in a lazy restore). */
function wholeRun(images: ReadonlyMap<string, Uint8Array>, cache: Map<string, ParsedPagemap | undefined>, pid: number, start: number, len: number, lazy: boolean): Uint8Array | null {
  const key = String(pid);
  if (!cache.has(key)) cache.set(key, parsePagemap(images, '', pid));
  const pm = cache.get(key);
  const r = pm ? runOf(pm, start) : undefined;
  if (!r || !(r.flags & PE_PRESENT) || (lazy && r.flags & PE_LAZY) || r.start + r.pages * PAGE_SIZE < start + len) return null;
  const off = r.at + (start - r.start);
  return pm!.pages.subarray(off, off + len);
}

/**
 * The common case of `pageFromChain` for a whole mapping: this round's runs are ascending and
 * disjoint and those over the mapping are all PE_PRESENT and not lazy, so each run's part is one
 * copy (not a lookup and a copy per page). Returns false, having copied nothing, otherwise.
 */
function copyRuns(images: ReadonlyMap<string, Uint8Array>, cache: Map<string, ParsedPagemap | undefined>, pid: number, start: number, dst: Uint8Array, lazy: Set<number> | null): boolean {
  const key = String(pid);
  if (!cache.has(key)) cache.set(key, parsePagemap(images, '', pid));
  const pm = cache.get(key);
  if (!pm?.ordered) return false;
  const end = start + dst.length;
  const over = pm.runs.filter((r) => r.pages > 0 && r.start < end && r.start + r.pages * PAGE_SIZE > start);
  if (over.some((r) => !(r.flags & PE_PRESENT) || (lazy && r.flags & PE_LAZY))) return false;
  for (const r of over) {
    const from = Math.max(start, r.start);
    const to = Math.min(end, r.start + r.pages * PAGE_SIZE);
    const off = r.at + (from - r.start);
    dst.set(pm.pages.subarray(off, off + (to - from)), from - start);
  }
  return true;
}

/**
 * Fills the content of every private mapping that the checkpoint left to pagemap images
 * (`data === null`), following the chain. With `lazy`, pages of PE_LAZY runs are not copied but
 * listed (virtual page numbers per mm index) for the lazy-pages restore.
 */
export function fillMemory(ck: Checkpoint, images: ReadonlyMap<string, Uint8Array>, lazy?: Map<number, Set<number>>): void {
  const cache = new Map<string, ParsedPagemap | undefined>();
  ck.mms.forEach((mm, i) => {
    if (!mm.maps.some((m) => m.kind === 'anon' && m.data === null)) return;
    const owner = ck.pstree.find((p) => ck.tasks.get(p.pid)?.mm === i);
    if (!owner) throw new ImageError('pstree.img', 0, `address space ${i} has no process`);
    if (!images.has(pagemapName(owner.pid))) throw new ImageError(pagemapName(owner.pid), 0, `missing image (memory of pid ${owner.pid})`);
    const missing = lazy ? new Set<number>() : null;
    for (const m of mm.maps) {
      if (m.kind !== 'anon' || m.data !== null) continue;
      // One PE_PRESENT run of this round covers the whole mapping (a stream's joined images, a
      // first round): its bytes are the contents, a view (the restore only reads m.data).
      const whole = wholeRun(images, cache, owner.pid, m.start, m.len, missing !== null);
      if (whole) {
        m.data = whole;
        continue;
      }
      const data = new Uint8Array(m.len);
      if (!copyRuns(images, cache, owner.pid, m.start, data, missing)) {
        for (let off = 0; off < m.len; off += PAGE_SIZE) pageFromChain(images, cache, '', owner.pid, m.start + off, data, off, missing);
      }
      m.data = data;
    }
    // Every address space read from pagemap images gets its (maybe empty) set: only its PE_LAZY pages are lazy.
    if (lazy) lazy.set(i, missing!);
  });
}

/** Reads a round and its ancestors through `load` (directory → images, or undefined if it does not exist); refuses a broken chain by name. */
export function loadImageChain(
  dir: string,
  load: (dir: string) => Map<string, Uint8Array> | undefined,
  join: (dir: string, rel: string) => string,
  dirs: string[] = [],
): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  let prefix = '';
  let cur = dir;
  const seen = new Set<string>();
  for (let depth = 0; ; depth++) {
    const images = load(cur);
    if (!images) {
      if (depth === 0) throw new ImageError(dir, 0, 'no such images directory');
      throw new ImageError(`${prefix.slice(0, -PARENT_PREFIX.length)}${PARENT_FILE}`, 0, `broken image chain: parent images directory '${cur}' does not exist`);
    }
    for (const [n, b] of images) out.set(prefix + n, b);
    dirs.push(cur);
    const link = images.get(PARENT_FILE);
    if (!link) return out;
    if (seen.has(cur) || depth > 64) throw new ImageError(`${prefix}${PARENT_FILE}`, 0, `image chain loops back to '${cur}'`);
    seen.add(cur);
    cur = join(cur, new TextDecoder().decode(link).trim());
    prefix += PARENT_PREFIX;
  }
}

/**
 * `cr dedup` (criu dedup): a page a later round holds (PE_PRESENT) is never read from an earlier
 * one, so it is dropped from every ancestor's pagemap and pages file. Works on a loaded chain;
 * returns the rewritten files as [chain level (0 = the top), file name, bytes] and the pages freed.
 * Restoring from the top gives the same memory before and after.
 */
export function dedupChain(images: ReadonlyMap<string, Uint8Array>): { files: Array<[number, string, Uint8Array]>; freed: number } {
  const files: Array<[number, string, Uint8Array]> = [];
  let freed = 0;
  for (const name of images.keys()) {
    const m = /^pagemap-(\d+)\.img$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    const newer = new Set<number>();
    let prefix = '';
    for (let level = 0; ; level++) {
      const pm = parsePagemap(images, prefix, pid);
      if (!pm) break;
      const keep: PagemapEntry[] = [];
      const chunks: Uint8Array[] = [];
      let dropped = 0;
      const add = (vaddr: number, flags: number): void => appendPage(keep, vaddr, flags);
      const present: number[] = [];
      for (const r of pm.runs) {
        for (let i = 0; i < r.pages; i++) {
          const vaddr = r.start + i * PAGE_SIZE;
          if (r.flags & PE_PRESENT) {
            if (newer.has(vaddr)) {
              dropped++;
              continue;
            }
            chunks.push(pm.pages.subarray(r.at + i * PAGE_SIZE, r.at + (i + 1) * PAGE_SIZE));
            present.push(vaddr);
          }
          add(vaddr, r.flags);
        }
      }
      if (dropped > 0) {
        const head = readImage(images.get(prefix + pagemapName(pid))!, 'pagemap').entries[0] as PagemapHead;
        const pages = new Uint8Array(chunks.length * PAGE_SIZE);
        chunks.forEach((c, j) => pages.set(c, j * PAGE_SIZE));
        files.push([level, pagemapName(pid), writeImage('pagemap', [head, ...keep])], [level, `pages-${head.pages_id}.img`, pages]);
        freed += dropped;
      }
      for (const v of present) newer.add(v);
      if (!images.has(prefix + PARENT_FILE)) break;
      prefix += PARENT_PREFIX;
    }
  }
  // Every rewritten round gets its manifest anew (manifest.ts), so the chain still verifies.
  for (const level of new Set(files.map(([l]) => l))) {
    const prefix = PARENT_PREFIX.repeat(level);
    if (!images.has(prefix + MANIFEST)) continue;
    const round = new Map<string, Uint8Array>();
    for (const [name, bytes] of images) if (name.startsWith(prefix) && !name.slice(prefix.length).includes('/')) round.set(name.slice(prefix.length), bytes);
    for (const [l, name, bytes] of files) if (l === level) round.set(name, bytes);
    files.push([level, MANIFEST, writeManifest(round)]);
  }
  return { files, freed };
}

/**
 * phaul's stop rule for iterative pre-copy (go-criu phaul/client.go): after a round, stop and do
 * the final dump when 8 rounds are done, when the last round wrote fewer than 64 pages, or when it
 * wrote more than 10% over the round before (the workload dirties faster than we copy).
 * `written` lists the pages written per round so far, first round first.
 */
export const PHAUL_MAX_ITERS = 8;
export const PHAUL_MIN_PAGES = 64;
export const PHAUL_MAX_GROW_PERCENT = 10;
export function shouldStopIterating(written: readonly number[]): boolean {
  const n = written.length;
  if (n === 0) return false;
  if (n >= PHAUL_MAX_ITERS) return true;
  const last = written[n - 1]!;
  if (last < PHAUL_MIN_PAGES) return true;
  // deltaPercent := pagesDelta * 100 / prev (integer division), stop when > maxGrowDelta.
  const prev = n >= 2 ? written[n - 2]! : 0;
  if (prev > 0 && last > prev && Math.floor(((last - prev) * 100) / prev) > PHAUL_MAX_GROW_PERCENT) return true;
  return false;
}
