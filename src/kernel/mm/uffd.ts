/**
 * A userfaultfd-like mechanism for lazy (post-copy) restore, as plain data.
 *
 * Design note. `uffdRegister` marks pages of an address space missing (UFFDIO_REGISTER with
 * UFFDIO_REGISTER_MODE_MISSING, restricted to the pages the restore did not fill). An access to a
 * missing page — process_vm_readv/writev, a program's own load or store — blocks the caller on
 * `uffd:<mm id>:<page>` (mm.ts) before anything changes: the pending fault events are exactly the
 * tasks asleep on such channels (`uffdFaults`), so they survive snapshot/fromState without a queue
 * of their own. The page source (src/cr/lazy.ts: a local one reading the image directory; a
 * network one asking a page server) answers with `uffdCopy` (UFFDIO_COPY: install the bytes, wake
 * the sleepers, which re-run their call) and pushes the remaining pages in the background
 * (`uffdMissing` lists them). A forked child keeps its parent's registration: its missing pages are
 * served from the same source. The library's `task.memory` on a missing page gets WouldBlockError.
 */
import { err } from '../../abi/errno.js';
import { PAGE_SIZE } from '../../abi/constants.js';
import type { KernelCore } from '../core.js';
import type { MmState } from '../state.js';
import { fillAnonPages, findMapping, uffdChannel } from './mm.js';

/** A pending fault: which address space (and registration), which page, who waits. */
export interface UffdFault {
  uffd: number;
  mm: number;
  vaddr: number;
  kids: number[];
}

/**
 * Registers `vpns` (virtual page numbers inside anonymous mappings of `mm`) as missing. Returns the
 * registration id (the address space's id at registration, kept by forked children).
 */
export function uffdRegister(k: KernelCore, mm: MmState, vpns: Iterable<number>): number {
  mm.uffd ??= mm.id;
  for (const vpn of vpns) {
    const m = findMapping(mm, vpn * PAGE_SIZE);
    if (!m || m.kind !== 'anon') throw err('EINVAL', `no private mapping at 0x${(vpn * PAGE_SIZE).toString(16)}`);
    (m.missing ??= new Set()).add(vpn);
  }
  return mm.uffd;
}

/** Pending faults of registration `uffd`, in the order the faulting tasks fell asleep (by kid). */
export function uffdFaults(k: KernelCore, uffd: number): UffdFault[] {
  const out = new Map<string, UffdFault>();
  for (const t of k.s.tasks.values()) {
    const w = t.state === 'blocked' ? t.blocked?.wchan : undefined;
    const m = w ? /^uffd:(\d+):(\d+)$/.exec(w) : null;
    if (!m) continue;
    const mmId = Number(m[1]);
    const mm = k.s.mms.get(mmId);
    if (!mm || mm.uffd !== uffd) continue;
    const f = out.get(w!) ?? { uffd, mm: mmId, vaddr: Number(m[2]) * PAGE_SIZE, kids: [] };
    f.kids.push(t.kid);
    out.set(w!, f);
  }
  return [...out.values()];
}

/** Pages of registration `uffd` still missing, over every address space that has it. */
export function uffdMissing(k: KernelCore, uffd: number): Array<{ mm: number; vaddr: number }> {
  const out: Array<{ mm: number; vaddr: number }> = [];
  for (const mm of k.s.mms.values()) {
    if (mm.uffd !== uffd) continue;
    for (const m of mm.maps) for (const vpn of m.missing ?? []) out.push({ mm: mm.id, vaddr: vpn * PAGE_SIZE });
  }
  return out;
}

/**
 * UFFDIO_COPY: installs `bytes` (one page, shorter is zero-padded) at page `vaddr` of `mmId` and
 * wakes whoever faulted on it. ENOENT: no such address space or mapping; EEXIST: the page is not
 * missing (already copied, or never registered); EINVAL: unaligned or more than a page.
 */
export function uffdCopy(k: KernelCore, mmId: number, vaddr: number, bytes: Uint8Array): void {
  if (!Number.isSafeInteger(vaddr) || vaddr % PAGE_SIZE !== 0 || bytes.length > PAGE_SIZE) throw err('EINVAL');
  const mm = k.s.mms.get(mmId);
  const m = mm ? findMapping(mm, vaddr) : undefined;
  if (!mm || !m) throw err('ENOENT');
  const vpn = vaddr / PAGE_SIZE;
  if (!m.missing?.has(vpn)) throw err('EEXIST');
  m.missing.delete(vpn);
  if (m.missing.size === 0) delete m.missing;
  if (m.kind === 'anon') fillAnonPages(m, vaddr, bytes);
  if (!mm.maps.some((x) => x.missing)) delete mm.uffd;
  k.wake(uffdChannel(mmId, vpn));
}
