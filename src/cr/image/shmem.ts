/**
 * Design note: System V shm contents as CRIU 4.x stores them (ipc_shm_entry
 * with in_pagemaps): pagemap-shmem-<shmid>.img holds a pagemap_head
 * {pages_id} and pagemap_entry runs whose vaddr is the byte offset in the
 * segment; pages-<pages_id>.img holds the PE_PRESENT pages back to back,
 * with no magic (criu/shmem.c do_dump_one_shmem / do_restore_shmem_content,
 * criu/pagemap.c). Pages not covered by a present run read as zeros.
 * Entries with PE_PARENT (pre-dump chains, src/cr/shm-rounds.ts) take their
 * pages from the parent round's contents (`parent`), or are refused without one.
 */
import { PAGE_SIZE, MAX_SHM_BYTES } from './limits.js';
import { isZero } from './bytes.js';
import { ImageError } from './errors.js';
import { readImage, writeImage } from './image.js';
import type { PagemapEntry, PagemapHead } from './types.js';

/** Pagemap entry flags (criu/include/pagemap.h). */
export const PE_PARENT = 1 << 0;
export const PE_LAZY = 1 << 1;
export const PE_PRESENT = 1 << 2;

/** The page count of an entry: nr_pages if present, else compat_nr_pages. */
export function pagemapPageCount(e: PagemapEntry): bigint {
  return e.nr_pages ?? BigInt(e.compat_nr_pages);
}

/** The flags of an entry as CRIU reads them (init_compat_pagemap_entry). */
export function pagemapFlags(e: PagemapEntry): number {
  if (e.in_parent === true) return (e.flags ?? 0) | PE_PARENT;
  return e.flags ?? PE_PRESENT;
}

/** The pages_id a pagemap-shmem image points to. */
export function pagemapPagesId(pagemap: Uint8Array, file = '<pagemap>'): number {
  const img = readImage(pagemap, 'pagemap-shmem', { file });
  return (img.entries[0] as PagemapHead).pages_id;
}

/** A segment's runs as its pagemap-shmem gives them (see shmemRuns). */
export interface ShmemRuns {
  /** PE_PRESENT runs: `len` bytes at byte `start` of the segment, at byte `at` of the pages file. */
  runs: Array<{ start: number; len: number; at: number }>;
  /** PE_PARENT runs: in the parent round's contents. */
  inParent: Array<{ start: number; len: number }>;
  /** The pages image's id (pages-<id>.img). */
  pagesId: number;
}

/**
 * The runs of a segment of `size` bytes, checked: each inside the segment's pages, the present
 * ones exactly filling a pages file of `pagesBytes` bytes, PE_PARENT ones only when there is a
 * parent. Throws ImageError naming the file otherwise.
 */
export function shmemRuns(pagemap: Uint8Array, pagesBytes: number, size: bigint | number, file = '<pagemap-shmem>', hasParent = false): ShmemRuns {
  const segBytes = BigInt(size);
  if (segBytes > BigInt(MAX_SHM_BYTES)) throw new ImageError(file, 0, `shm size ${segBytes} exceeds limit`);
  const span = Math.ceil(Number(segBytes) / PAGE_SIZE) * PAGE_SIZE;
  const img = readImage(pagemap, 'pagemap-shmem', { file });
  const pagesId = (img.entries[0] as PagemapHead).pages_id;
  const runs: ShmemRuns['runs'] = [];
  const inParent: ShmemRuns['inParent'] = [];
  let pagesAt = 0;
  img.entries.slice(1).forEach((raw, i) => {
    const e = raw as PagemapEntry;
    const flags = pagemapFlags(e);
    if ((flags & PE_PARENT) && !hasParent) throw new ImageError(file, 0, `entry ${i + 1}: pages in a parent image, and there is no parent`);
    if ((flags & PE_PARENT) && (flags & PE_PRESENT)) throw new ImageError(file, 0, `entry ${i + 1}: both PE_PRESENT and PE_PARENT`);
    const count = pagemapPageCount(e);
    const end = e.vaddr + count * BigInt(PAGE_SIZE);
    if (e.vaddr % BigInt(PAGE_SIZE) !== 0n || end > BigInt(span)) {
      throw new ImageError(file, 0, `entry ${i + 1}: run ${e.vaddr}+${count} pages outside a ${segBytes}-byte segment`);
    }
    if (flags & PE_PARENT) inParent.push({ start: Number(e.vaddr), len: Number(count) * PAGE_SIZE });
    if ((flags & PE_PRESENT) === 0) return;
    const len = Number(count) * PAGE_SIZE;
    if (pagesAt + len > pagesBytes) {
      // Name the pages file: an empty one is usually a missing one.
      throw new ImageError(`pages-${pagesId}.img`, 0, pagesBytes === 0
        ? `missing or empty, but ${file} entry ${i + 1} needs ${len} bytes from it`
        : `ends at ${pagesBytes} bytes, but ${file} entry ${i + 1} needs ${pagesAt + len}`);
    }
    runs.push({ start: Number(e.vaddr), len, at: pagesAt });
    pagesAt += len;
  });
  if (pagesAt !== pagesBytes) throw new ImageError(`pages-${pagesId}.img`, 0, `has ${pagesBytes} bytes, ${file} accounts for ${pagesAt}`);
  return { runs, inParent, pagesId };
}

/**
 * Rebuilds a segment of `size` bytes from its pagemap-shmem and pages
 * images. Throws ImageError when runs fall outside the segment, overlap the
 * end of the pages file, or the pages file has bytes no run accounts for.
 * PE_PARENT runs are copied from `parent()` (the parent round's whole
 * contents), refused when there is none.
 */
export function readShmemContents(
  pagemap: Uint8Array,
  pages: Uint8Array,
  size: bigint | number,
  file = '<pagemap-shmem>',
  parent?: () => Uint8Array,
): Uint8Array {
  const segBytes = BigInt(size);
  const { runs, inParent } = shmemRuns(pagemap, pages.byteLength, segBytes, file, parent !== undefined);
  const bytes = Number(segBytes);
  // One run covering the whole segment: the pages are the contents (a view, no copy).
  if (inParent.length === 0 && runs.length === 1 && runs[0]!.start === 0 && runs[0]!.len >= bytes) return pages.subarray(0, bytes);
  const out = new Uint8Array(bytes);
  if (inParent.length > 0) {
    const from = parent!();
    for (const r of inParent) out.set(from.subarray(r.start, Math.min(bytes, r.start + r.len)), r.start);
  }
  for (const r of runs) out.set(pages.subarray(r.at, r.at + Math.min(r.len, bytes - r.start)), r.start);
  return out;
}

/**
 * Writes a segment's contents as CRIU 4.2 does: one PE_PRESENT run per
 * stretch of non-zero pages (all-zero pages are left out, they restore as
 * zeros), compat_nr_pages = 0 and nr_pages set. Returns both files' bytes.
 * Each run is copied once, straight into the pages file.
 */
export function writeShmemContents(data: Uint8Array, pagesId: number): { pagemap: Uint8Array; pages: Uint8Array } {
  const runs: PagemapEntry[] = [];
  const spans: Array<[number, number]> = [];
  let keptPages = 0;
  for (let at = 0; at < data.byteLength; at += PAGE_SIZE) {
    if (isZero(data, at, Math.min(PAGE_SIZE, data.byteLength - at))) continue;
    keptPages++;
    const last = runs[runs.length - 1];
    if (last !== undefined && last.vaddr + last.nr_pages! * BigInt(PAGE_SIZE) === BigInt(at)) {
      last.nr_pages = last.nr_pages! + 1n;
      spans[spans.length - 1]![1] = Math.min(at + PAGE_SIZE, data.byteLength);
    } else {
      runs.push({ vaddr: BigInt(at), compat_nr_pages: 0, flags: PE_PRESENT, nr_pages: 1n });
      spans.push([at, Math.min(at + PAGE_SIZE, data.byteLength)]);
    }
  }
  // One run over whole pages from the start: the pages file is a view of `data` (no copy; the
  // caller owns `data` — the dump passes its own snapshot of the segment).
  const whole = spans.length === 1 && spans[0]![0] === 0 && spans[0]![1] % PAGE_SIZE === 0;
  const pages = whole ? data.subarray(0, spans[0]![1]) : new Uint8Array(keptPages * PAGE_SIZE);
  let off = 0;
  for (const [from, to] of whole ? [] : spans) {
    pages.set(data.subarray(from, to), off);
    off += Math.ceil((to - from) / PAGE_SIZE) * PAGE_SIZE;
  }
  return { pagemap: shmemPagemap(runs, pagesId), pages };
}

function shmemPagemap(runs: PagemapEntry[], pagesId: number): Uint8Array {
  const head: PagemapHead = { pages_id: pagesId };
  return writeImage('pagemap-shmem', [head, ...runs]);
}

/**
 * The same two files from a segment's runs of non-zero pages ([first page, count], ascending) and
 * their bytes back to back (the page store's own layout, src/kernel/mm/pages.ts storeRuns): no
 * scan of the contents, `pages` is the pages file as given.
 */
export function writeShmemRuns(runs: ReadonlyArray<readonly [number, number]>, pages: Uint8Array, pagesId: number): { pagemap: Uint8Array; pages: Uint8Array } {
  const entries = runs.map(([first, n]): PagemapEntry => ({ vaddr: BigInt(first * PAGE_SIZE), compat_nr_pages: 0, flags: PE_PRESENT, nr_pages: BigInt(n) }));
  return { pagemap: shmemPagemap(entries, pagesId), pages };
}
