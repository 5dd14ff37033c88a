/**
 * Design note: which bytes of a checkpoint travel as pages, and how the destination puts them
 * back.
 *
 * Anonymous memory travels as pages: one pagemap per address space, dst_id
 * `encode_pm(PS_TYPE_PID, pid)` where pid is the container pid of the process owning it (CRIU's
 * pagemap-<pid>.img), vaddr the page's address. Today the checkpoint keeps anonymous content in
 * nsd-extra.img's `mm` entries (images.ts); `splitImages` takes it out (the mapping keeps its place
 * and length, `data: null, paged: true`) and `joinImages` puts the pages of each pagemap's last
 * round back, refusing a mapping page the last round did not describe. Every other image —
 * including SysV shm contents (pagemap-shmem/pages images) — travels as a FILE frame.
 *
 * A round (`sendRound`) opens each pagemap (OPEN2, whose answer says whether an earlier round of
 * this stream exists: CRIU's has_parent) and describes every page of it once: HOLE (PE_PARENT)
 * when the destination already has exactly this content from an earlier round, ZERO when it is
 * all zeros, ADD with the bytes otherwise. Dirtiness is found by comparing with what the earlier
 * round sent (`Sent`), because the model has no soft-dirty bits yet (wip/mm adds them).
 */
import { readImage, readNsdExtra, writeNsdExtra } from '../cr/image/index.js';
import type { NsdExtraEntry } from '../cr/image/index.js';
import { decodePlain, encodePlain } from '../cr/plain.js';
import { TASKS_EXTRA } from '../cr/images.js';
import type { CkMm, CkTask } from '../cr/model.js';
import type { Kernel } from '../syscalls/kernel.js';
import { PAGE_SIZE, PS_TYPE_PID, StreamError, encodePm } from './protocol.js';
import type { Received } from './receiver.js';
import type { PageSender } from './sender.js';

/** The anonymous memory of one address space: its mappings' start and content. */
export interface Pagemap {
  dstId: bigint;
  maps: { start: number; data: Uint8Array }[];
}

type PagedMap = CkMm['maps'][number] & { paged?: boolean };

/** dst_id per mm index: the first task entry using it is its process's leader. */
function owners(entries: readonly NsdExtraEntry[]): Map<number, bigint> {
  const out = new Map<number, bigint>();
  for (const e of entries) {
    if (e.section !== 'task') continue;
    const t = decodePlain<CkTask>(e.json ?? 'null');
    if (t && t.mm >= 0 && !out.has(t.mm)) out.set(t.mm, encodePm(PS_TYPE_PID, Number(e.key)));
  }
  return out;
}

/** Images → the files to send as FILE frames and the anonymous memory to send as pages. */
export function splitImages(images: ReadonlyMap<string, Uint8Array>): { files: Map<string, Uint8Array>; pagemaps: Pagemap[] } {
  const files = new Map(images);
  const extra = images.get(TASKS_EXTRA);
  if (!extra) return { files, pagemaps: [] };
  const { entries } = readNsdExtra(extra, TASKS_EXTRA);
  const own = owners(entries);
  const pagemaps: Pagemap[] = [];
  const out: NsdExtraEntry[] = entries.map((e) => {
    if (e.section !== 'mm') return e;
    const mm = decodePlain<CkMm>(e.json ?? 'null');
    const dstId = own.get(Number(e.key));
    if (dstId === undefined) return e;
    const pm: Pagemap = { dstId, maps: [] };
    for (const m of mm.maps as PagedMap[]) {
      if (m.kind !== 'anon' || !(m.data instanceof Uint8Array)) continue;
      pm.maps.push({ start: m.start, data: m.data });
      m.data = null;
      m.paged = true;
    }
    pagemaps.push(pm);
    return { ...e, json: encodePlain(mm) };
  });
  files.set(TASKS_EXTRA, writeNsdExtra(out));
  return { files, pagemaps };
}

/** What the stream carried → images a restore reads. Throws StreamError for a missing page. */
export function joinImages(got: Received): Map<string, Uint8Array> {
  const images = new Map(got.files);
  const extra = images.get(TASKS_EXTRA);
  if (!extra) return images;
  const { entries } = readNsdExtra(extra, TASKS_EXTRA);
  const own = owners(entries);
  const out = entries.map((e) => {
    if (e.section !== 'mm') return e;
    const mm = decodePlain<CkMm>(e.json ?? 'null');
    let changed = false;
    for (const m of mm.maps as PagedMap[]) {
      if (!m.paged) continue;
      const dstId = own.get(Number(e.key));
      const where = `mm ${e.key} mapping 0x${m.start.toString(16)}`;
      const table = dstId === undefined ? undefined : got.pagemaps.get(dstId);
      if (!table) throw new StreamError(got.bytes, `${where}: its pages never came`);
      const data = new Uint8Array(m.len);
      const first = m.start / PAGE_SIZE;
      for (let i = 0; i * PAGE_SIZE < m.len; i++) {
        const pg = first + i;
        if (!table.cover.has(pg)) throw new StreamError(got.bytes, `${where}: page 0x${(pg * PAGE_SIZE).toString(16)} is not in the last round`);
        if (table.lazy.has(pg)) throw new StreamError(got.bytes, `${where}: page 0x${(pg * PAGE_SIZE).toString(16)} was left at the source (lazy) and this restore has no lazy-page support`);
        const content = table.pages.get(pg);
        if (content) data.set(content.subarray(0, Math.min(PAGE_SIZE, m.len - i * PAGE_SIZE)), i * PAGE_SIZE);
      }
      m.data = data;
      delete m.paged;
      changed = true;
    }
    return changed ? { ...e, json: encodePlain(mm) } : e;
  });
  images.set(TASKS_EXTRA, writeNsdExtra(out));
  // pstree.img must exist for the join to mean anything; a restore validates the rest.
  if (images.has('pstree.img')) readImage(images.get('pstree.img')!, 'pstree', { file: 'pstree.img' });
  return images;
}

/**
 * The anonymous memory of the tree rooted at `rootPid` (initial-namespace pid), read while it runs:
 * what a pre-dump round copies. Copies, so the tree may go on writing.
 */
export function readTreeMemory(k: Kernel, rootPid: number): Pagemap[] {
  const root = k.task(rootPid);
  if (!root) return [];
  const level = k.pidNs(root.state.pidns).level;
  const out: Pagemap[] = [];
  const seen = new Set<number>();
  const walk = (tgid: number): void => {
    const t = k.t(tgid);
    if (t.state !== 'zombie' && t.state !== 'dead' && !seen.has(t.mm)) {
      seen.add(t.mm);
      const maps = k.mm(t.mm).maps.filter((m) => m.kind === 'anon').map((m) => ({ start: m.start, data: m.data.slice(0, m.len) }));
      out.push({ dstId: encodePm(PS_TYPE_PID, t.pids[level]!), maps });
    }
    for (const c of k.proc(tgid).children) walk(c);
  };
  walk(root.state.tgid);
  return out;
}

/** Per pagemap, the content the destination holds (page number → bytes), after each round. */
export type Sent = Map<bigint, Map<number, Uint8Array>>;

export interface RoundStats {
  pagesData: number;
  pagesZero: number;
  pagesParent: number;
  bytes: number;
  ms: number;
}

const ZERO_PAGE = Buffer.alloc(PAGE_SIZE);

/** Sends one round of pages (see the design note); updates `sent`. */
export async function sendRound(tx: PageSender, pagemaps: readonly Pagemap[], sent: Sent): Promise<RoundStats> {
  const t0 = performance.now();
  const b0 = tx.bytes;
  const st: RoundStats = { pagesData: 0, pagesZero: 0, pagesParent: 0, bytes: 0, ms: 0 };
  for (const pm of pagemaps) {
    const hasParent = await tx.open2(pm.dstId);
    const before = hasParent ? sent.get(pm.dstId) : undefined;
    const now = new Map<number, Uint8Array>();
    for (const m of pm.maps) {
      // Whole pages: pad a partial last page with zeros.
      const data = m.data.length % PAGE_SIZE === 0 ? m.data : padded(m.data);
      const nPages = data.length / PAGE_SIZE;
      const first = m.start / PAGE_SIZE;
      let runKind = -1;
      let runStart = 0;
      const flush = async (end: number): Promise<void> => {
        const n = end - runStart;
        if (n === 0) return;
        const vaddr = (first + runStart) * PAGE_SIZE;
        if (runKind === 0) {
          await tx.hole(pm.dstId, vaddr, n);
          st.pagesParent += n;
        } else if (runKind === 1) {
          await tx.zero(pm.dstId, vaddr, n);
          st.pagesZero += n;
        } else {
          await tx.add(pm.dstId, vaddr, data.subarray(runStart * PAGE_SIZE, end * PAGE_SIZE));
          st.pagesData += n;
        }
      };
      for (let i = 0; i < nPages; i++) {
        const page = data.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE);
        const old = before?.get(first + i);
        const buf = Buffer.from(page.buffer, page.byteOffset, PAGE_SIZE);
        const kind = old !== undefined && buf.equals(old) ? 0 : buf.equals(ZERO_PAGE) ? 1 : 2;
        now.set(first + i, old !== undefined && kind === 0 ? old : page);
        if (kind !== runKind) {
          await flush(i);
          runKind = kind;
          runStart = i;
        }
      }
      await flush(nPages);
    }
    sent.set(pm.dstId, now);
  }
  st.bytes = tx.bytes - b0;
  st.ms = performance.now() - t0;
  return st;
}

function padded(d: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(d.length / PAGE_SIZE) * PAGE_SIZE);
  out.set(d);
  return out;
}
