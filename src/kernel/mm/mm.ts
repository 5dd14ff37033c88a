/**
 * Address spaces (mm_struct) with the mappings the model needs: anonymous private memory (mmap)
 * and shared mappings owned by a subsystem (SysV shm attachments, see src/kernel/ipc/shm).
 *
 * Design note. A mapping is `{start, len, prot, kind}`; anonymous content is kept in the mapping
 * (copied at fork, as copy-on-write would end up), shared content is fetched from the owning
 * subsystem through `mappingBytes`, so a write through one attachment is seen through every other.
 * An access outside any mapping, or a write to a mapping without PROT_WRITE, is a fault: the task
 * gets SIGSEGV, and the library API reports EFAULT.
 */
import { err } from '../../abi/errno.js';
import { PAGE_SIZE, SIGSEGV } from '../../abi/constants.js';
import type { KernelCore } from '../kernel.js';
import type { Mapping, MmState, TaskState } from '../state.js';
import { SUBSYSTEMS } from '../subsystem.js';

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

/** dup_mm(): fork's copy. Anonymous content is copied; shared mappings are re-attached. */
export function copyMm(k: KernelCore, src: MmState, childTgid: number): MmState {
  const mm = newMm(k);
  mm.mmapBase = src.mmapBase;
  for (const m of src.maps) {
    const c: Mapping = { ...m, data: m.kind === 'anon' ? m.data.slice() : m.data };
    mm.maps.push(c);
    if (m.kind !== 'anon') ownerOf(m).dupMapping?.(k, c, childTgid);
  }
  return mm;
}

function ownerOf(m: Mapping) {
  const sub = SUBSYSTEMS.find((s) => s.mappingBytes && s.name === m.kind);
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

/** mmap(2) of anonymous memory. Returns the address. */
export function mmapAnon(k: KernelCore, t: TaskState, addr: number, length: number, prot: number, flags: number): number {
  if (!Number.isInteger(length) || length <= 0) throw err('EINVAL');
  if (!(flags & MAP_ANONYMOUS)) throw err('ENODEV', 'only anonymous mappings are modelled');
  if (((flags & MAP_SHARED) !== 0) === ((flags & MAP_PRIVATE) !== 0)) throw err('EINVAL');
  if (addr % PAGE_SIZE !== 0 && flags & MAP_FIXED) throw err('EINVAL');
  const len = pageAlign(length);
  const mm = k.mm(t.mm);
  let start: number;
  if (flags & MAP_FIXED) {
    // MAP_FIXED replaces exactly [addr, addr+len): what else the overlapped mappings hold stays.
    start = addr;
    unmapRange(k, mm, start, len, t.tgid);
  } else if (addr && addr % PAGE_SIZE === 0 && rangeFree(mm, addr, len)) {
    start = addr;
  } else {
    start = findFreeRange(mm, len);
  }
  insertMapping(mm, { start, len, prot, kind: 'anon', data: new Uint8Array(len), ipcns: 0, shmid: 0, flags });
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
    if (m.start < addr) {
      insertMapping(mm, { ...m, len: addr - m.start, data: m.data.slice(0, addr - m.start) });
    }
    if (addr + len < end) {
      const off = addr + len - m.start;
      insertMapping(mm, { ...m, start: addr + len, len: end - addr - len, data: m.data.slice(off) });
    }
  }
}

function findMapping(mm: MmState, addr: number): Mapping | undefined {
  for (const m of mm.maps) if (addr >= m.start && addr < m.start + m.len) return m;
  return undefined;
}

function bytesOf(k: KernelCore, m: Mapping): Uint8Array {
  return m.kind === 'anon' ? m.data : ownerOf(m).mappingBytes!(k, m);
}

/**
 * Copies between the task's memory and a buffer, mapping by mapping. A fault (no mapping, or no
 * permission) raises SIGSEGV on the task and EFAULT for the caller; nothing past the fault is done.
 */
function access(k: KernelCore, t: TaskState, addr: number, len: number, write: Uint8Array | null): Uint8Array {
  const mm = k.mm(t.mm);
  const out = write ? write : new Uint8Array(len);
  let done = 0;
  while (done < len) {
    const a = addr + done;
    const m = findMapping(mm, a);
    const need = write ? PROT_WRITE : PROT_READ;
    if (!m || !(m.prot & need)) {
      k.sendSignalToTask(t.kid, SIGSEGV);
      throw err('EFAULT', `fault at 0x${a.toString(16)}`);
    }
    const off = a - m.start;
    const n = Math.min(len - done, m.len - off);
    const bytes = bytesOf(k, m);
    // Shared backing may be shorter than the mapping's pages (segment size not page-rounded):
    // the tail page reads as zeros and writes there are kept only up to the backing's length.
    if (write) bytes.set(write.subarray(done, done + Math.min(n, Math.max(0, bytes.length - off))), off);
    else out.set(bytes.subarray(off, Math.min(off + n, bytes.length)), done);
    done += n;
  }
  return out;
}

export function readMemory(k: KernelCore, t: TaskState, addr: number, len: number): Uint8Array {
  if (!Number.isInteger(addr) || !Number.isInteger(len) || len < 0) throw err('EINVAL');
  return access(k, t, addr, len, null);
}

export function writeMemory(k: KernelCore, t: TaskState, addr: number, bytes: Uint8Array): void {
  if (!Number.isInteger(addr)) throw err('EINVAL');
  access(k, t, addr, bytes.length, bytes);
}
