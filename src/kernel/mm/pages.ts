/**
 * Sparse, page-granular memory: the byte store behind anonymous mappings and SysV shm segments.
 *
 * Design note. A `PageStore` is a `Map<page number, Uint8Array(PAGE_SIZE)>`: plain data (it
 * survives structuredClone, so `Kernel.snapshot()`/`fromState()`), absent pages read as zero, and
 * nothing is allocated for a page until a non-zero byte is written to it. A 1 GiB segment with 8
 * bytes written holds one page; snapshotting it copies one page. Page numbers are whatever the
 * owner chooses: anonymous mappings key by virtual page number (vaddr / PAGE_SIZE, so a split
 * keeps its keys), shm segments by page index in the segment.
 */
import { PAGE_SIZE } from '../../abi/constants.js';

export type PageStore = Map<number, Uint8Array>;

/** PAGE_SHIFT. */
export const PAGE_SHIFT = 12;

/**
 * Is bytes[from, to) all zero? A page of data usually has a non-zero byte among its first ones, so
 * those are looked at first; a page that passes is scanned 4 bytes at a time where it is aligned.
 */
function allZero(b: Uint8Array, from: number, to: number): boolean {
  const head = Math.min(to, from + 16);
  for (let i = from; i < head; i++) if (b[i] !== 0) return false;
  if (head === to) return true;
  const at = b.byteOffset + head;
  if ((at & 3) === 0 && ((to - head) & 3) === 0) {
    const w = new Int32Array(b.buffer, at, (to - head) >> 2);
    for (let i = 0; i < w.length; i++) if (w[i] !== 0) return false;
    return true;
  }
  for (let i = head; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

/**
 * Copies `len` bytes at byte offset `off` of the store (page number = floor(off / PAGE_SIZE)) into
 * out[at…]. Absent pages read as zero (out is assumed zero-filled there).
 */
export function storeRead(store: PageStore, off: number, len: number, out: Uint8Array, at: number): void {
  let done = 0;
  while (done < len) {
    const a = off + done;
    const pn = Math.floor(a / PAGE_SIZE);
    const po = a - pn * PAGE_SIZE;
    const n = Math.min(len - done, PAGE_SIZE - po);
    const page = store.get(pn);
    // Whole pages without subarray(): V8's view creation costs more than the 4 KiB copy.
    if (page) out.set(n === PAGE_SIZE ? page : page.subarray(po, po + n), at + done);
    done += n;
  }
}

/**
 * Writes src at byte offset `off` of the store. A page is allocated only when a non-zero byte lands
 * in it; `touched` (if given) receives every page number written, zero or not.
 */
export function storeWrite(store: PageStore, off: number, src: Uint8Array, touched?: (pn: number) => void): void {
  let done = 0;
  while (done < src.length) {
    const a = off + done;
    const pn = Math.floor(a / PAGE_SIZE);
    const po = a - pn * PAGE_SIZE;
    const n = Math.min(src.length - done, PAGE_SIZE - po);
    let page = store.get(pn);
    if (!page && n === PAGE_SIZE) {
      // Whole pages the store does not have yet: every stretch of non-zero ones is copied as one
      // block (one allocation, one copy) whose pages are views.
      let end = done + PAGE_SIZE;
      while (end + PAGE_SIZE <= src.length && !store.has(pn + (end - done) / PAGE_SIZE)) end += PAGE_SIZE;
      newPages(store, pn, src, done, end, touched);
      done = end;
      continue;
    }
    if (!page && !allZero(src, done, done + n)) {
      page = new Uint8Array(PAGE_SIZE);
      store.set(pn, page);
    }
    if (page) page.set(n === src.length ? src : src.subarray(done, done + n), po);
    touched?.(pn);
    done += n;
  }
}

/**
 * Stores src[from, to) (whole pages, none of them in the store yet) as pages pn, pn+1, …: each
 * stretch of pages with a non-zero byte is one copy; all-zero pages stay absent. `touched` gets
 * every page number.
 */
function newPages(store: PageStore, pn: number, src: Uint8Array, from: number, to: number, touched?: (pn: number) => void): void {
  let run = -1;
  const flush = (end: number): void => {
    if (run < 0) return;
    const block = src.slice(run, end);
    const first = pn + (run - from) / PAGE_SIZE;
    if (block.length === PAGE_SIZE) store.set(first, block);
    else for (let i = 0; i < block.length; i += PAGE_SIZE) store.set(first + i / PAGE_SIZE, block.subarray(i, i + PAGE_SIZE));
    run = -1;
  };
  for (let at = from; at < to; at += PAGE_SIZE) {
    if (allZero(src, at, at + PAGE_SIZE)) flush(at);
    else if (run < 0) run = at;
  }
  flush(to);
  if (touched) for (let at = from; at < to; at += PAGE_SIZE) touched(pn + (at - from) / PAGE_SIZE);
}

/**
 * Makes `src` the content of pages pn, pn+1, … (none of them in the store yet) without a copy,
 * when every page of it holds a non-zero byte: each whole page becomes a view of src's buffer (a
 * last partial page is copied into a page of its own). For a caller that hands src over — nothing
 * else writes or reads it afterwards — as vmsplice(SPLICE_F_GIFT) hands pages to the kernel.
 * Returns false, having stored nothing, when a page is all zero (views would pin bytes no page
 * holds: the caller copies instead) or already in the store.
 */
export function storeAdopt(store: PageStore, pn: number, src: Uint8Array): boolean {
  const pages = Math.ceil(src.length / PAGE_SIZE);
  for (let i = 0; i < pages; i++) {
    if (store.has(pn + i) || allZero(src, i * PAGE_SIZE, Math.min((i + 1) * PAGE_SIZE, src.length))) return false;
  }
  const whole = Math.floor(src.length / PAGE_SIZE);
  for (let i = 0; i < whole; i++) store.set(pn + i, new Uint8Array(src.buffer, src.byteOffset + i * PAGE_SIZE, PAGE_SIZE));
  if (whole < pages) {
    const last = new Uint8Array(PAGE_SIZE);
    last.set(src.subarray(whole * PAGE_SIZE));
    store.set(pn + whole, last);
  }
  return true;
}

/** Pages of `store` with page number in [first, first+count), as a new store (deep copies). */
export function storeSlice(store: PageStore, first: number, count: number): PageStore {
  const out: PageStore = new Map();
  // Iterate the smaller side: the store's pages or the range.
  if (store.size <= count) {
    for (const [pn, page] of store) if (pn >= first && pn < first + count) out.set(pn, page.slice());
  } else {
    for (let pn = first; pn < first + count; pn++) {
      const page = store.get(pn);
      if (page) out.set(pn, page.slice());
    }
  }
  return out;
}

/** Deletes the pages with number in [first, first+count). */
export function storeDrop(store: PageStore, first: number, count: number): void {
  if (store.size <= count) {
    for (const pn of [...store.keys()]) if (pn >= first && pn < first + count) store.delete(pn);
  } else {
    for (let pn = first; pn < first + count; pn++) store.delete(pn);
  }
}

/** Members of `set` in [first, first+count), as a new set. */
export function setSlice(set: Set<number>, first: number, count: number): Set<number> {
  const out = new Set<number>();
  for (const pn of set) if (pn >= first && pn < first + count) out.add(pn);
  return out;
}

/** Pages holding at least one non-zero byte. */
export function nonZeroPages(store: PageStore): number {
  let n = 0;
  for (const page of store.values()) if (!allZero(page, 0, page.length)) n++;
  return n;
}

/** Bytes [off, off+len) of the store as one dense array (for image writers that want contents). */
export function storeBytes(store: PageStore, off: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  storeRead(store, off, len, out, 0);
  return out;
}

/** Runs of pages holding a non-zero byte and their bytes back to back: a pagemap + pages image pair's layout. */
export interface PageRuns {
  /** [first page, page count], page numbers relative to the range asked for, ascending. */
  runs: Array<[number, number]>;
  /** The runs' pages back to back (runs × PAGE_SIZE bytes). */
  bytes: Uint8Array;
}

/**
 * The pages of `store` numbered [first, first+count) that hold a non-zero byte, as runs and their
 * bytes back to back. Only the pages the store has are looked at (absent ones are zero without a
 * scan); pages lying next to each other in one buffer are copied as one block. With `share`, a set
 * of pages that is already one block is returned as a view of it, not copied: only for a caller
 * that knows the store will not be written again (a dying segment).
 */
export function storeRuns(store: PageStore, first: number, count: number, share = false): PageRuns {
  const pns: number[] = [];
  if (store.size <= count) {
    let sorted = true;
    for (const pn of store.keys()) {
      if (pn < first || pn >= first + count) continue;
      if (pns.length > 0 && pn < pns[pns.length - 1]!) sorted = false;
      pns.push(pn);
    }
    if (!sorted) pns.sort((a, b) => a - b);
  } else {
    for (let pn = first; pn < first + count; pn++) if (store.has(pn)) pns.push(pn);
  }
  const runs: Array<[number, number]> = [];
  const kept: Uint8Array[] = [];
  for (const pn of pns) {
    const page = store.get(pn)!;
    if (allZero(page, 0, page.length)) continue;
    const last = runs[runs.length - 1];
    if (last && last[0] + last[1] === pn - first) last[1]++;
    else runs.push([pn - first, 1]);
    kept.push(page);
  }
  // Stretches of kept pages that are consecutive in one buffer: [index of first page, pages].
  const blocks: Array<[number, number]> = [];
  kept.forEach((page, i) => {
    const prev = kept[i - 1];
    const b = blocks[blocks.length - 1];
    if (b && prev && prev.buffer === page.buffer && prev.byteOffset + PAGE_SIZE === page.byteOffset) b[1]++;
    else blocks.push([i, 1]);
  });
  if (share && blocks.length === 1) {
    const p = kept[0]!;
    return { runs, bytes: new Uint8Array(p.buffer, p.byteOffset, kept.length * PAGE_SIZE) };
  }
  const bytes = new Uint8Array(kept.length * PAGE_SIZE);
  for (const [i, n] of blocks) {
    const p = kept[i]!;
    bytes.set(n === 1 ? p : new Uint8Array(p.buffer, p.byteOffset, n * PAGE_SIZE), i * PAGE_SIZE);
  }
  return { runs, bytes };
}
