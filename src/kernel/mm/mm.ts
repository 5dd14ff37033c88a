/**
 * Address spaces (mm_struct) with the mappings the model needs: anonymous private memory (mmap)
 * and shared mappings owned by a subsystem (SysV shm attachments, see src/kernel/ipc/shm).
 *
 * Design note. A mapping is `{start, len, prot, kind}`; anonymous content is kept in the mapping
 * as a sparse page store (pages.ts: absent pages read as zero; copied at fork, as copy-on-write
 * would end up), shared content lives in the owning subsystem's store, reached through
 * `mappingStore`, so a write through one attachment is seen through every other. Each mapping
 * also carries its PTE state as data: which pages are present and which are soft-dirty, plus
 * VM_SOFTDIRTY (see softdirty.ts for /proc/PID/{pagemap,clear_refs}).
 *
 * Access from outside the task (process_vm_readv/writev, the library's `task.memory`) never
 * signals the target: an address outside any mapping, or without the needed permission, is EFAULT
 * for the caller (mm/process_vm_access.c: a partial transfer returns the bytes done so far).
 */
import { err } from '../../abi/errno.js';
import { PAGE_SIZE } from '../../abi/constants.js';
import type { KernelCore } from '../core.js';
import type { Mapping, MmState, TaskState } from '../state.js';
import { SUBSYSTEMS } from '../subsystem.js';
import { block } from '../sched/block.js';
import { type PageStore, setSlice, storeRead, storeSlice, storeWrite } from './pages.js';

export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;

/** Lowest address handed out for NULL-address mappings, and the top of the user address space. */
export const MMAP_BASE = 0x7f0000000000;
export const TASK_SIZE = 0x7ffffffff000;

export function newMm(k: KernelCore): MmState {
  const mm: MmState = { id: k.newId(), users: 1, maps: [], mmapBase: MMAP_BASE };
  k.s.mms.set(mm.id, mm);
  return mm;
}

export function pageAlign(n: number): number {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
}

/** MAX_RW_COUNT (include/linux/fs.h): INT_MAX & PAGE_MASK, the most one read/write transfers. */
export const MAX_RW_COUNT = 0x7ffff000;

/** PTE state of a fresh mapping: nothing present, VM_SOFTDIRTY set (as mmap_region does). */
export function freshPtes(): Pick<Mapping, 'pages' | 'present' | 'softDirty' | 'vmSoftDirty'> {
  return { pages: new Map(), present: new Set(), softDirty: new Set(), vmSoftDirty: true };
}

/**
 * The part [start, start+len) of mapping `m` as a new mapping with its own PTE state (split_vma).
 * `extra` overrides fields (shm: the fragment's segment offset).
 */
export function sliceMapping(m: Mapping, start: number, len: number, extra: Partial<Mapping> = {}): Mapping {
  const first = start / PAGE_SIZE;
  const count = len / PAGE_SIZE;
  return {
    ...m,
    start,
    len,
    pages: m.kind === 'anon' ? storeSlice(m.pages, first, count) : new Map(),
    present: setSlice(m.present, first, count),
    softDirty: setSlice(m.softDirty, first, count),
    ...(m.missing ? { missing: setSlice(m.missing, first, count) } : {}),
    ...extra,
  };
}

/** dup_mm(): fork's copy. Anonymous content and its PTE state are copied; shared mappings are re-attached with no PTEs (dup_mmap skips them). */
export function copyMm(k: KernelCore, src: MmState, childTgid: number): MmState {
  const mm = newMm(k);
  mm.mmapBase = src.mmapBase;
  // The child's missing pages stay missing and are served by the same page source (as criu's
  // lazy-pages daemon does with UFFD_FEATURE_EVENT_FORK).
  if (src.uffd !== undefined) mm.uffd = src.uffd;
  for (const m of src.maps) {
    const c: Mapping = m.kind === 'anon' ? sliceMapping(m, m.start, m.len) : { ...m, pages: new Map(), present: new Set(), softDirty: new Set() };
    mm.maps.push(c);
    if (m.kind !== 'anon') ownerOf(m).dupMapping?.(k, c, childTgid);
  }
  return mm;
}

function ownerOf(m: Mapping) {
  const sub = SUBSYSTEMS.find((s) => s.mappingStore && s.name === m.kind);
  if (!sub) throw err('EFAULT', `no subsystem backs ${m.kind} mappings`);
  return sub;
}

/** Removes one mapping (munmap/shmdt/exit/exec). */
export function removeMapping(k: KernelCore, mm: MmState, m: Mapping, tgid: number): void {
  const i = mm.maps.indexOf(m);
  if (i >= 0) mm.maps.splice(i, 1);
  if (m.kind !== 'anon') ownerOf(m).unmapMapping?.(k, m, tgid);
}

/** exit_mm()/exec: drops a user of the mm; the last one unmaps everything. */
export function putMm(k: KernelCore, mmId: number, tgid: number): void {
  const mm = k.mm(mmId);
  if (--mm.users > 0) return;
  for (const m of [...mm.maps]) removeMapping(k, mm, m, tgid);
  k.s.mms.delete(mmId);
}

/** Is [start, start+len) free in `mm`? */
export function rangeFree(mm: MmState, start: number, len: number): boolean {
  return !mm.maps.some((m) => start < m.start + m.len && m.start < start + len);
}

/** get_unmapped_area(): the lowest free page-aligned range of `len` bytes at or above mmapBase. */
export function findFreeRange(mm: MmState, len: number): number {
  let addr = mm.mmapBase;
  for (const m of mm.maps) {
    if (m.start + m.len <= addr) continue;
    if (m.start >= addr + len) break;
    addr = pageAlign(m.start + m.len);
  }
  if (addr + len > TASK_SIZE) throw err('ENOMEM');
  return addr;
}

/** Inserts a mapping, keeping `maps` sorted by address. */
export function insertMapping(mm: MmState, m: Mapping): void {
  let i = mm.maps.length;
  while (i > 0 && mm.maps[i - 1]!.start > m.start) i--;
  mm.maps.splice(i, 0, m);
}

/** mmap(2) of anonymous memory. Returns the address. Nothing is allocated until a page is written. */
export function mmapAnon(k: KernelCore, t: TaskState, addr: number, length: number, prot: number, flags: number): number {
  if (!Number.isInteger(length) || length <= 0) throw err('EINVAL');
  if (!(flags & MAP_ANONYMOUS)) throw err('ENODEV', 'only anonymous mappings are modelled');
  if (((flags & MAP_SHARED) !== 0) === ((flags & MAP_PRIVATE) !== 0)) throw err('EINVAL');
  if (addr % PAGE_SIZE !== 0 && flags & MAP_FIXED) throw err('EINVAL');
  const len = pageAlign(length);
  // do_mmap(): a length beyond the address space is ENOMEM; so is a fixed range past TASK_SIZE
  // (get_unmapped_area → -ENOMEM).
  if (len > TASK_SIZE) throw err('ENOMEM');
  if (flags & MAP_FIXED && (!Number.isInteger(addr) || addr < 0 || addr + len > TASK_SIZE)) throw err('ENOMEM');
  const mm = k.mm(t.mm);
  let start: number;
  if (flags & MAP_FIXED) {
    // MAP_FIXED replaces exactly [addr, addr+len): what else the overlapped mappings hold stays.
    start = addr;
    unmapRange(k, mm, start, len, t.tgid);
  } else if (addr && addr % PAGE_SIZE === 0 && addr + len <= TASK_SIZE && rangeFree(mm, addr, len)) {
    start = addr;
  } else {
    start = findFreeRange(mm, len);
  }
  insertMapping(mm, { start, len, prot, kind: 'anon', ...freshPtes(), ipcns: 0, shmid: 0, flags });
  return start;
}

/** munmap(2). */
export function munmap(k: KernelCore, t: TaskState, addr: number, length: number): void {
  if (addr % PAGE_SIZE !== 0 || !Number.isInteger(length) || length <= 0) throw err('EINVAL');
  unmapRange(k, k.mm(t.mm), addr, pageAlign(length), t.tgid);
}

/**
 * do_vmi_munmap(): unmaps [addr, addr+len). Shared mappings touched go whole; anonymous ones are
 * split around the hole.
 */
function unmapRange(k: KernelCore, mm: MmState, addr: number, len: number, tgid: number): void {
  for (const m of [...mm.maps]) {
    const end = m.start + m.len;
    if (addr >= end || m.start >= addr + len) continue;
    removeMapping(k, mm, m, tgid);
    if (m.kind !== 'anon') continue;
    if (m.start < addr) insertMapping(mm, sliceMapping(m, m.start, addr - m.start));
    if (addr + len < end) insertMapping(mm, sliceMapping(m, addr + len, end - addr - len));
  }
}

export function findMapping(mm: MmState, addr: number): Mapping | undefined {
  for (const m of mm.maps) if (addr >= m.start && addr < m.start + m.len) return m;
  return undefined;
}

/**
 * Where a mapping's bytes live: `store` holds byte `off + (addr - m.start)` of the mapping at
 * `addr`; bytes at or past `size` in the store do not exist (the tail of a shm segment whose size
 * is not page-rounded reads as zeros and drops writes).
 */
export interface MappingStore {
  store: PageStore;
  off: number;
  size: number;
}

export function storeOf(k: KernelCore, m: Mapping): MappingStore {
  if (m.kind === 'anon') return { store: m.pages, off: m.start, size: Number.POSITIVE_INFINITY };
  return ownerOf(m).mappingStore!(k, m);
}

/** How many bytes from `addr` (at most `len`) lie in mappings allowing `need` (PROT_READ/PROT_WRITE). */
function accessiblePrefix(mm: MmState, addr: number, len: number, need: number): number {
  let done = 0;
  while (done < len) {
    const m = findMapping(mm, addr + done);
    if (!m || !(m.prot & need)) break;
    done += Math.min(len - done, m.start + m.len - (addr + done));
  }
  return done;
}

/**
 * A fault on a page still missing under userfaultfd (uffd.ts) puts the caller to sleep on
 * `uffd:<mm id>:<page>` before anything is copied; the page source's UFFDIO_COPY wakes it and the
 * call runs again.
 */
function faultMissing(mm: MmState, addr: number, len: number): void {
  if (mm.uffd === undefined) return;
  for (const m of mm.maps) {
    if (!m.missing || m.missing.size === 0 || m.start >= addr + len || m.start + m.len <= addr) continue;
    const first = Math.floor(Math.max(addr, m.start) / PAGE_SIZE);
    const last = Math.ceil(Math.min(addr + len, m.start + m.len) / PAGE_SIZE);
    for (let vpn = first; vpn < last; vpn++) if (m.missing.has(vpn)) block(uffdChannel(mm.id, vpn));
  }
}

/** The wait channel of a fault on page `vpn` of address space `mmId`. */
export function uffdChannel(mmId: number, vpn: number): string {
  return `uffd:${mmId}:${vpn}`;
}

/** Copies mapping by mapping; the range must be accessible (see accessiblePrefix). */
function transfer(k: KernelCore, mm: MmState, addr: number, len: number, write: Uint8Array | null, out: Uint8Array): void {
  faultMissing(mm, addr, len);
  let done = 0;
  while (done < len) {
    const a = addr + done;
    const m = findMapping(mm, a)!;
    const n = Math.min(len - done, m.start + m.len - a);
    const { store, off, size } = storeOf(k, m);
    const at = off + (a - m.start);
    const inStore = Math.max(0, Math.min(n, size - at));
    const touch = (pn: number): void => {
      const vpn = pn - Math.floor(off / PAGE_SIZE) + m.start / PAGE_SIZE;
      m.present.add(vpn);
      if (write) m.softDirty.add(vpn);
    };
    if (write) {
      storeWrite(store, at, write.subarray(done, done + inStore), touch);
    } else {
      storeRead(store, at, inStore, out, done);
      // A read faults a shared page in (shmem_fault); an absent private page stays unmapped
      // (the zero page is not reported as present here).
      if (m.kind !== 'anon') for (let p = Math.floor(a / PAGE_SIZE); p * PAGE_SIZE < a + n; p++) m.present.add(p);
    }
    done += n;
  }
}

/**
 * Fills private memory from outside (a restore): the pages that receive non-zero bytes become
 * present and soft-dirty, as pages the restorer writes are in Linux; all-zero pages stay holes.
 */
export function fillAnonPages(m: Mapping, addr: number, bytes: Uint8Array): void {
  storeWrite(m.pages, addr, bytes, (vpn) => {
    if (!m.pages.has(vpn)) return;
    m.present.add(vpn);
    m.softDirty.add(vpn);
  });
}

function checkRange(addr: number, len: number): void {
  if (!Number.isInteger(addr) || !Number.isInteger(len) || len < 0) throw err('EINVAL');
  // access_ok(): a range outside the user address space is EFAULT.
  if (addr < 0 || addr + len > 2 ** 64) throw err('EFAULT');
}

/**
 * The library's whole-range read (`task.memory.read`): EFAULT unless all of [addr, addr+len) is
 * readable; more than MAX_RW_COUNT bytes at once is EINVAL. Never signals the task.
 */
export function readMemory(k: KernelCore, t: TaskState, addr: number, len: number): Uint8Array {
  checkRange(addr, len);
  if (len > MAX_RW_COUNT) throw err('EINVAL', `${len} bytes is more than one transfer (MAX_RW_COUNT)`);
  const mm = k.mm(t.mm);
  if (accessiblePrefix(mm, addr, len, PROT_READ) < len) throw err('EFAULT', `no readable mapping at 0x${(addr + accessiblePrefix(mm, addr, len, PROT_READ)).toString(16)}`);
  const out = new Uint8Array(len);
  transfer(k, mm, addr, len, null, out);
  return out;
}

/** The library's whole-range write: EFAULT (nothing written) unless all of it is writable. */
export function writeMemory(k: KernelCore, t: TaskState, addr: number, bytes: Uint8Array): void {
  checkRange(addr, bytes.length);
  if (bytes.length > MAX_RW_COUNT) throw err('EINVAL', `${bytes.length} bytes is more than one transfer (MAX_RW_COUNT)`);
  const mm = k.mm(t.mm);
  const ok = accessiblePrefix(mm, addr, bytes.length, PROT_WRITE);
  if (ok < bytes.length) throw err('EFAULT', `no writable mapping at 0x${(addr + ok).toString(16)}`);
  transfer(k, mm, addr, bytes.length, bytes, bytes);
}

/**
 * process_vm_readv() on one remote iovec (mm/process_vm_access.c process_vm_rw_core): the length
 * is clamped to MAX_RW_COUNT (import_iovec); pages are copied until the first one that cannot be
 * pinned; a partial transfer returns what was copied, none at all is EFAULT. The target is never
 * signalled.
 */
export function processVmRead(k: KernelCore, t: TaskState, addr: number, len: number): Uint8Array {
  checkRange(addr, Math.min(len, MAX_RW_COUNT));
  const want = Math.min(len, MAX_RW_COUNT);
  if (want === 0) return new Uint8Array(0);
  const mm = k.mm(t.mm);
  const n = accessiblePrefix(mm, addr, want, PROT_READ);
  if (n === 0) throw err('EFAULT', `no readable mapping at 0x${addr.toString(16)}`);
  const out = new Uint8Array(n);
  transfer(k, mm, addr, n, null, out);
  return out;
}

/** process_vm_writev() on one remote iovec: as processVmRead; returns the bytes written. */
export function processVmWrite(k: KernelCore, t: TaskState, addr: number, bytes: Uint8Array): number {
  const want = Math.min(bytes.length, MAX_RW_COUNT);
  checkRange(addr, want);
  if (want === 0) return 0;
  const mm = k.mm(t.mm);
  const n = accessiblePrefix(mm, addr, want, PROT_WRITE);
  if (n === 0) throw err('EFAULT', `no writable mapping at 0x${addr.toString(16)}`);
  transfer(k, mm, addr, n, bytes.subarray(0, n), bytes);
  return n;
}
