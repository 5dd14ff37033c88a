/**
 * tmpfs regular-file contents, sparse (mm/shmem.c keeps a file in a page cache: only pages that
 * were written exist; holes read as zeros and take no memory).
 *
 * Design note. A regular file's bytes live in `InodeState.pages`: page index → a PAGE_SIZE
 * Uint8Array; `size` is i_size. `ftruncate(f, 2**32)` allocates nothing, a write at 4 GiB allocates
 * one page, and a snapshot copies only the pages. st_blocks counts allocated pages, as tmpfs does.
 *
 * Limits (include/linux/fs.h, mm/filemap.c generic_write_check_limits, fs/read_write.c):
 * - MAX_RW_COUNT = INT_MAX & PAGE_MASK: read and write move at most that many bytes per call
 *   (rw_verify_area clamps the count; it is not an error).
 * - s_maxbytes: tmpfs has MAX_LFS_FILESIZE (2^63 − 1); the model's is Number.MAX_SAFE_INTEGER
 *   (2^53 − 1), the largest offset a JS number holds exactly. A write starting at or past it is
 *   EFBIG (and is cut short to end there), ftruncate past it EFBIG, lseek past it EINVAL.
 * - RLIMIT_FSIZE and the tmpfs size= mount limit are not modelled (unlimited, as a default mount
 *   of a machine with plenty of RAM would behave for the sizes a model program writes).
 */
import { err } from '../../abi/errno.js';
import type { InodeState } from '../state.js';

export const PAGE_SIZE = 4096;
/** MAX_RW_COUNT (include/linux/fs.h): INT_MAX & PAGE_MASK. */
export const MAX_RW_COUNT = 0x7fffffff & ~(PAGE_SIZE - 1);
/** The model's s_maxbytes for tmpfs (Linux: MAX_LFS_FILESIZE; see the design note). */
export const MAX_FILE_SIZE = Number.MAX_SAFE_INTEGER;

/** rw_verify_area(): a count larger than MAX_RW_COUNT is cut to it. */
export function clampRwCount(count: number): number {
  return count > MAX_RW_COUNT ? MAX_RW_COUNT : count;
}

function pagesOf(ino: InodeState): Map<number, Uint8Array> {
  return (ino.pages ??= new Map());
}

/** The bytes [start, end) of a regular file (holes as zeros; end ≤ size). */
export function readFileRange(ino: InodeState, start: number, end: number): Uint8Array {
  const out = new Uint8Array(Math.max(0, end - start));
  const pages = ino.pages;
  if (!pages || pages.size === 0 || end <= start) return out;
  const first = Math.floor(start / PAGE_SIZE);
  const last = Math.floor((end - 1) / PAGE_SIZE);
  const copy = (idx: number, page: Uint8Array) => {
    const base = idx * PAGE_SIZE;
    const from = Math.max(start, base);
    const to = Math.min(end, base + PAGE_SIZE);
    out.set(page.subarray(from - base, to - base), from - start);
  };
  if (last - first + 1 <= pages.size) {
    for (let idx = first; idx <= last; idx++) {
      const page = pages.get(idx);
      if (page) copy(idx, page);
    }
  } else {
    for (const [idx, page] of pages) if (idx >= first && idx <= last) copy(idx, page);
  }
  return out;
}

/** Writes `bytes` at `at` (allocating the pages touched) and extends the size. */
export function writeFileRange(ino: InodeState, at: number, bytes: Uint8Array): void {
  const pages = pagesOf(ino);
  let done = 0;
  while (done < bytes.length) {
    const off = at + done;
    const idx = Math.floor(off / PAGE_SIZE);
    const inPage = off - idx * PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - inPage, bytes.length - done);
    let page = pages.get(idx);
    if (!page) pages.set(idx, (page = new Uint8Array(PAGE_SIZE)));
    page.set(bytes.subarray(done, done + n), inPage);
    done += n;
  }
  if (at + bytes.length > ino.size) ino.size = at + bytes.length;
}

/** Sets the size (truncate or extend): pages past the end are freed, the tail of the last one zeroed. */
export function setFileSize(ino: InodeState, size: number): void {
  if (size > MAX_FILE_SIZE) throw err('EFBIG', `file size ${size} beyond the maximum ${MAX_FILE_SIZE}`);
  const pages = ino.pages;
  if (pages && size < ino.size) {
    const keep = Math.ceil(size / PAGE_SIZE);
    for (const idx of [...pages.keys()]) if (idx >= keep) pages.delete(idx);
    const tail = size % PAGE_SIZE;
    if (tail) pages.get(keep - 1)?.fill(0, tail);
  }
  ino.size = size;
}

/** Replaces the whole content. */
export function setFileContent(ino: InodeState, bytes: Uint8Array): void {
  setFileSize(ino, 0);
  writeFileRange(ino, 0, bytes);
}

/**
 * The whole content of a regular file as one dense array (for c/r). A file larger than
 * MAX_RW_COUNT cannot be had in one piece (nor read in one read(2)): EFBIG, naming the size.
 */
export function fileContent(ino: InodeState): Uint8Array {
  if (ino.size > MAX_RW_COUNT) throw err('EFBIG', `file of ${ino.size} bytes is larger than one read can return`);
  return readFileRange(ino, 0, ino.size);
}

/** st_blocks of a regular file: 512-byte blocks of the allocated pages. */
export function fileBlocks(ino: InodeState): number {
  return (ino.pages?.size ?? 0) * (PAGE_SIZE / 512);
}

/** generic_write_check_limits(): how many of `count` bytes may be written at `pos` (EFBIG at the limit). */
export function writeLimit(pos: number, count: number): number {
  if (count === 0) return 0;
  if (pos >= MAX_FILE_SIZE) throw err('EFBIG', `write at offset ${pos} beyond the maximum file size`);
  return Math.min(count, MAX_FILE_SIZE - pos);
}

/**
 * mapping_seek_hole_data() for 0 ≤ start < size: SEEK_DATA gives the first offset ≥ start inside an
 * allocated page (−1: none, ENXIO), SEEK_HOLE the first offset ≥ start outside one (at most size).
 */
export function seekHoleData(ino: InodeState, start: number, data: boolean): number {
  const pages = ino.pages ?? new Map<number, Uint8Array>();
  const first = Math.floor(start / PAGE_SIZE);
  if (data) {
    let best = -1;
    for (const idx of pages.keys()) {
      if (idx < first || idx * PAGE_SIZE >= ino.size) continue;
      const at = Math.max(start, idx * PAGE_SIZE);
      if (best < 0 || at < best) best = at;
    }
    return best;
  }
  let pos = start;
  while (pos < ino.size && pages.has(Math.floor(pos / PAGE_SIZE))) pos = (Math.floor(pos / PAGE_SIZE) + 1) * PAGE_SIZE;
  return Math.min(pos, ino.size);
}
