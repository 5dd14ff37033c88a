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

/** Is bytes[from, to) all zero? */
function allZero(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
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
    if (!page && !allZero(src, done, done + n)) {
      if (n === PAGE_SIZE) {
        // A whole new page: one copy, no view.
        store.set(pn, src.length === PAGE_SIZE ? src.slice() : src.slice(done, done + n));
        touched?.(pn);
        done += n;
        continue;
      }
      page = new Uint8Array(PAGE_SIZE);
      store.set(pn, page);
    }
    if (page) page.set(n === src.length ? src : src.subarray(done, done + n), po);
    touched?.(pn);
    done += n;
  }
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
