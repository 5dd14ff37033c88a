/**
 * Design note: which bytes of a checkpoint travel as pages, and how the destination writes them
 * back as images — what CRIU's page server does with pagemap-<pid>.img / pages-<id>.img.
 *
 * Source (`splitImages`): the dump (or a pre-dump round) writes each process's private memory as
 * pagemap-<pid>.img + pages-<id>.img (src/cr/pagemap.ts, soft-dirty tracked). Those two images do
 * not travel as files: each pagemap becomes the frames of one dst_id, `encode_pm(PS_TYPE_PID, pid)`
 * (pid: the container's), and each run one frame per up to 256 pages: PE_PRESENT → ADD (or ZERO
 * when the bytes are all zero), PE_PARENT → HOLE (the destination has it from an earlier round of
 * this stream), PE_LAZY without data → ADD_F(PE_LAZY). The round's `parent` link is dropped (the
 * parent is the earlier round of the stream). Every other image — shm contents included
 * (pagemap-shmem/pages images of the IPC namespace) — travels as a FILE frame.
 *
 * Destination (`joinImages`): for each pagemap, the pages its LAST round described are resolved
 * (in-parent pages from earlier rounds, which the receiver already checked exist) and written as
 * one self-contained pagemap-<pid>.img (all PE_PRESENT; zero pages left as holes, which restore as
 * zeros) and pages-<PAGES_ID_BASE+i>.img. The result needs no chain.
 */
import { readImage, writeImage, pagemapFlags, pagemapPageCount, type PagemapEntry, type PagemapHead } from '../cr/image/index.js';
import { PAGES_ID_BASE, PARENT_FILE, pagemapName } from '../cr/pagemap.js';
import { MANIFEST, writeManifest } from '../cr/manifest.js';
import { PAGE_SIZE, PE_LAZY, PE_PARENT, PE_PRESENT, PS_TYPE_PID, PS_TYPE_SHMEM, StreamError, decodePm, encodePm } from './protocol.js';
import { SHM_PAGES_ID_BASE, shmPagemapName } from '../cr/shm-rounds.js';
import type { Received, Segment } from './receiver.js';
import { FRAME_PAGES, type PageSender } from './sender.js';

/** One run of a pagemap: `nrPages` pages at `vaddr`, CRIU's PE_* flags, the bytes when present. */
export interface PageRun {
  vaddr: number;
  nrPages: number;
  flags: number;
  data: Uint8Array | null;
}

export interface Pagemap {
  dstId: bigint;
  runs: PageRun[];
}

const PAGEMAP_RE = /^pagemap-(\d+)\.img$/;
const SHM_PAGEMAP_RE = /^pagemap-shmem-(\d+)\.img$/;

/** Images → the files to send as FILE frames and the private memory to send as page frames. */
export function splitImages(images: ReadonlyMap<string, Uint8Array>): { files: Map<string, Uint8Array>; pagemaps: Pagemap[] } {
  const files = new Map(images);
  files.delete(PARENT_FILE);
  const pagemaps: Pagemap[] = [];
  for (const [name, bytes] of images) {
    // Private memory (PS_TYPE_PID) and shm contents (PS_TYPE_SHMEM, id = shm id): both as pages.
    const m = PAGEMAP_RE.exec(name);
    const shm = m ? null : SHM_PAGEMAP_RE.exec(name);
    if (!m && !shm) continue;
    const img = readImage(bytes, m ? 'pagemap' : 'pagemap-shmem', { file: name });
    const head = img.entries[0] as PagemapHead;
    const pagesName = `pages-${head.pages_id}.img`;
    const pages = images.get(pagesName);
    if (!pages) throw new StreamError(0, `${pagesName} (named by ${name}) is missing`);
    const runs: PageRun[] = [];
    let at = 0;
    for (const e of img.entries.slice(1) as PagemapEntry[]) {
      const flags = pagemapFlags(e);
      const nrPages = Number(pagemapPageCount(e));
      const len = nrPages * PAGE_SIZE;
      runs.push({ vaddr: Number(e.vaddr), nrPages, flags, data: flags & PE_PRESENT ? pages.subarray(at, at + len) : null });
      if (flags & PE_PRESENT) at += len;
    }
    files.delete(name);
    files.delete(pagesName);
    pagemaps.push({ dstId: m ? encodePm(PS_TYPE_PID, Number(m[1])) : encodePm(PS_TYPE_SHMEM, Number(shm![1])), runs });
  }
  return { files, pagemaps };
}

export interface RoundStats {
  /** Pages sent with their bytes, as ZERO, as in-parent (HOLE), left at the source (lazy). */
  pagesData: number;
  pagesZero: number;
  pagesParent: number;
  pagesLazy: number;
  bytes: number;
  ms: number;
}

const ZERO_PAGE = Buffer.alloc(PAGE_SIZE);

/**
 * Sends one round: OPEN2 then the runs of every pagemap. With `lazy` (post-copy) the pages that
 * hold data are not sent but left at the source (ADD_F PE_LAZY); zero pages still go as ZERO.
 */
export async function sendRound(tx: PageSender, pagemaps: readonly Pagemap[], lazy = false): Promise<RoundStats> {
  const t0 = performance.now();
  const b0 = tx.bytes;
  const st: RoundStats = { pagesData: 0, pagesZero: 0, pagesParent: 0, pagesLazy: 0, bytes: 0, ms: 0 };
  for (const pm of pagemaps) {
    await tx.open2(pm.dstId);
    // Lazy pages are fetched by a fault in a process's mapping: shm contents are always sent.
    const lazyHere = lazy && decodePm(pm.dstId)?.type === PS_TYPE_PID;
    for (const r of pm.runs) {
      if (r.flags & PE_PRESENT) {
        // Split the run into data and zero stretches.
        const data = r.data!;
        let i = 0;
        while (i < r.nrPages) {
          const zero = isZeroPage(data, i);
          let j = i + 1;
          while (j < r.nrPages && j - i < FRAME_PAGES && isZeroPage(data, j) === zero) j++;
          const vaddr = r.vaddr + i * PAGE_SIZE;
          if (zero) {
            await tx.zero(pm.dstId, vaddr, j - i);
            st.pagesZero += j - i;
          } else if (lazyHere) {
            await tx.lazy(pm.dstId, vaddr, j - i);
            st.pagesLazy += j - i;
          } else {
            await tx.add(pm.dstId, vaddr, data.subarray(i * PAGE_SIZE, j * PAGE_SIZE));
            st.pagesData += j - i;
          }
          i = j;
        }
      } else if (r.flags & PE_PARENT) {
        for (let i = 0; i < r.nrPages; i += FRAME_PAGES) await tx.hole(pm.dstId, r.vaddr + i * PAGE_SIZE, Math.min(FRAME_PAGES, r.nrPages - i));
        st.pagesParent += r.nrPages;
      } else if (r.flags & PE_LAZY) {
        for (let i = 0; i < r.nrPages; i += FRAME_PAGES) await tx.lazy(pm.dstId, r.vaddr + i * PAGE_SIZE, Math.min(FRAME_PAGES, r.nrPages - i));
        st.pagesLazy += r.nrPages;
      }
    }
  }
  st.bytes = tx.bytes - b0;
  st.ms = performance.now() - t0;
  return st;
}

/**
 * The bytes of the data segments, in order: one copy per run (none for a single whole buffer),
 * into `spare` when it has the size (the receiver's buffer, already faulted in), else into one new
 * allocation.
 */
function concatData(segs: readonly Segment[], pages: number, spare?: Buffer): Uint8Array {
  const data = segs.filter((s) => s.kind === 'data');
  if (data.length === 1 && data[0]!.off === 0 && data[0]!.data!.length === pages * PAGE_SIZE) return data[0]!.data!;
  const out = spare?.length === pages * PAGE_SIZE ? spare : Buffer.allocUnsafe(pages * PAGE_SIZE);
  let at = 0;
  for (const s of data) {
    out.set(s.data!.subarray(s.off, s.off + s.n * PAGE_SIZE), at);
    at += s.n * PAGE_SIZE;
  }
  return out;
}

function isZeroPage(data: Uint8Array, i: number): boolean {
  return ZERO_PAGE.equals(Buffer.from(data.buffer, data.byteOffset + i * PAGE_SIZE, PAGE_SIZE));
}

/**
 * What the stream carried → images a restore reads (each pagemap resolved to its last round).
 * Pages left at the source (PE_LAZY) are refused, unless `lazy`: then they are left out (holes)
 * and a lazy restore registers them missing (`lazyPages`, src/migrate/lazy.ts). With `manifest`
 * false no nsd-manifest.json is written: only for images restored in this process at once with
 * `imagesChecked` (the stream's CRC-32 checked every byte); images that are kept get one.
 */
export function joinImages(got: Received, lazy = false, manifest = true): Map<string, Uint8Array> {
  const images = new Map(got.files);
  let i = 0;
  for (const [dstId, table] of got.pagemaps) {
    const pm = decodePm(dstId);
    if (!pm) throw new StreamError(got.bytes, `dst_id 0x${dstId.toString(16)}: unknown pagemap type`);
    const shm = pm.type === PS_TYPE_SHMEM;
    const pagesId = shm ? SHM_PAGES_ID_BASE + i++ : PAGES_ID_BASE + i++;
    const entries: PagemapEntry[] = [];
    let pages = 0;
    let last: { e: PagemapEntry; end: number } | null = null;
    for (const s of table.pages) {
      // No lazy-page mechanism to fetch it later (GET): refuse rather than restore zeros.
      if (s.kind === 'lazy' && (!lazy || shm)) throw new StreamError(got.bytes, `pid ${pm.id}: page 0x${(s.first * PAGE_SIZE).toString(16)} was left at the source (PE_LAZY) and this destination cannot fetch lazy pages`);
      if (s.kind !== 'data') continue; // a zero page: a hole
      pages += s.n;
      if (last && last.end === s.first) {
        last.e.nr_pages = last.e.nr_pages! + BigInt(s.n);
        last.end += s.n;
      } else {
        const e: PagemapEntry = { vaddr: BigInt(s.first * PAGE_SIZE), compat_nr_pages: 0, flags: PE_PRESENT, nr_pages: BigInt(s.n) };
        entries.push(e);
        last = { e, end: s.first + s.n };
      }
    }
    const head: PagemapHead = { pages_id: pagesId };
    images.set(shm ? shmPagemapName(pm.id) : pagemapName(pm.id), writeImage(shm ? 'pagemap-shmem' : 'pagemap', [head, ...entries]));
    images.set(`pages-${pagesId}.img`, concatData(table.pages, pages, table.spare));
    // The spare now backs an image: it is not the receiver's any more.
    delete table.spare;
  }
  // The source's manifest named its pagemap/pages images and its round's `parent` link, which were
  // re-encoded here from page frames (the stream's CRC-32 checked every byte of them): the joined
  // set, self-contained, gets a manifest of its own, so a restore still refuses a changed image.
  images.delete(PARENT_FILE);
  if (manifest) images.set(MANIFEST, writeManifest(images));
  else images.delete(MANIFEST);
  return images;
}
