/**
 * mprotect(2) on the model's mappings, as do_mprotect_pkey (mm/mprotect.c): checks, then each
 * mapping of the range in address order is split at the range's ends (split_vma; a shm piece is
 * opened again, vm_ops->open = shm_open) and given the new protection. As in Linux the walk stops
 * at the first failure, and mappings before it keep their new protection: a hole after the first
 * mapping is ENOMEM, a mapping that may not get the protection is EACCES.
 */
import { err } from '../abi/errno.js';
import type { KernelCore } from '../kernel/core.js';
import type { Mapping, MmState, TaskState } from '../kernel/state.js';
import { insertMapping, pageAlign, sliceMapping, PROT_EXEC, PROT_READ, PROT_WRITE } from '../kernel/mm/mm.js';
import { SUBSYSTEMS } from '../kernel/subsystem.js';
import { PAGE_SIZE, SHM_RDONLY } from '../abi/constants.js';

export const PROT_SEM = 0x8;
export const PROT_GROWSDOWN = 0x01000000;
export const PROT_GROWSUP = 0x02000000;

/** split_vma(): `m` is replaced by [m.start, at) and [at, end); returns both pieces. */
function splitAt(k: KernelCore, mm: MmState, m: Mapping, at: number, tgid: number): [Mapping, Mapping] {
  const i = mm.maps.indexOf(m);
  const off = at - m.start;
  const head = sliceMapping(m, m.start, off);
  const tail = sliceMapping(m, at, m.len - off, m.kind === 'shm' ? { shmOff: (m.shmOff ?? 0) + off } : {});
  mm.maps.splice(i, 1, head);
  insertMapping(mm, tail);
  // The new piece is one more attach of the segment (shm_open via the owner's dupMapping).
  if (m.kind !== 'anon') SUBSYSTEMS.find((s) => s.name === m.kind)?.dupMapping?.(k, tail, tgid);
  return [head, tail];
}

/**
 * VM_MAY* of a mapping: anonymous memory may be anything; a shm attach may not be made writable
 * when it was attached SHM_RDONLY (do_shmat opens the file FMODE_READ, so do_mmap drops VM_MAYWRITE).
 */
function mayProtect(m: Mapping, prot: number): boolean {
  return !(m.kind === 'shm' && (m.flags & SHM_RDONLY) && (prot & PROT_WRITE));
}

export function mprotect(k: KernelCore, t: TaskState, addr: number, len: number, prot: number): number {
  // An argument left out reads as 0 (the dispatcher has checked the others are integers).
  addr ??= 0;
  len ??= 0;
  prot ??= 0;
  const grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
  prot &= ~(PROT_GROWSDOWN | PROT_GROWSUP);
  if (grows === (PROT_GROWSDOWN | PROT_GROWSUP)) throw err('EINVAL', 'PROT_GROWSDOWN and PROT_GROWSUP');
  if (addr % PAGE_SIZE !== 0) throw err('EINVAL', `address 0x${addr.toString(16)} is not page aligned`);
  if (len === 0) return 0;
  // A negative length is a size_t so large that start + PAGE_ALIGN(len) wraps: end <= start.
  if (len < 0) throw err('ENOMEM', `length ${len}`);
  const end = addr + pageAlign(len);
  // arch_validate_prot (x86, generic): only READ, WRITE, EXEC and SEM.
  if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM)) throw err('EINVAL', `bad protection 0x${prot.toString(16)}`);
  const newProt = prot & (PROT_READ | PROT_WRITE | PROT_EXEC);
  const mm = k.mm(t.mm);
  const first = mm.maps.find((m) => m.start + m.len > addr);
  // No mapping, or the range starts in a hole: ENOMEM before anything changes.
  if (!first || first.start >= end || first.start > addr) throw err('ENOMEM', `nothing mapped at 0x${addr.toString(16)}`);
  // No model mapping grows down (VM_GROWSDOWN): PROT_GROWSDOWN on it is EINVAL.
  if (grows & PROT_GROWSDOWN) throw err('EINVAL', 'PROT_GROWSDOWN on a mapping that does not grow down');
  let at = addr;
  while (at < end) {
    const m = mm.maps.find((x) => x.start <= at && at < x.start + x.len);
    if (!m) throw err('ENOMEM', `hole at 0x${at.toString(16)}`);
    if (!mayProtect(m, newProt)) throw err('EACCES', `a SHM_RDONLY attach at 0x${m.start.toString(16)} cannot be made writable`);
    let piece = m;
    if (piece.start < at) piece = splitAt(k, mm, piece, at, t.tgid)[1];
    if (piece.start + piece.len > end) piece = splitAt(k, mm, piece, end, t.tgid)[0];
    piece.prot = newProt;
    at = piece.start + piece.len;
  }
  return 0;
}
