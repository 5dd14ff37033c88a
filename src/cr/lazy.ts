/**
 * Design note: lazy (post-copy) restore, the model's `criu restore --lazy-pages` + `criu
 * lazy-pages`. With `lazyPages` the restore maps every private mapping but fills none of it: the
 * pages the images hold are registered missing (src/kernel/mm/uffd.ts; pages the images do not
 * hold are holes and read as zeros), so the tree can run at once. A fault on a missing page parks
 * the faulting task; `serveLazy` — one round of the lazy-pages daemon — answers every pending
 * fault from a `PageSource` (UFFDIO_COPY wakes the task, which re-runs its access) and then pushes
 * up to `push` more pages in the background, until nothing is missing.
 *
 * A page source only has to say what a page of a container process holds. `ImagePageSource`
 * reads an image set (a directory, with its pre-dump chain); a network source (the page server's
 * GET) implements the same interface.
 */
import { PAGE_SIZE } from '../abi/constants.js';
import type { Kernel } from '../syscalls/scheduler.js';
import { uffdCopy, uffdFaults, uffdMissing, uffdRegister } from '../kernel/mm/uffd.js';
import { isZero } from './image/index.js';
import type { Checkpoint } from './model.js';
import { readCheckpoint } from './restore.js';

/** Where the missing pages come from. */
export interface PageSource {
  /** The bytes of page `vaddr` of container process `pid`; null for a page the images do not hold (zeros). */
  page(pid: number, vaddr: number): Uint8Array | null;
}

/** Registers the non-zero pages of `data` (a private mapping at `start` of task `kid`) as missing. */
export function registerLazy(k: Kernel, kid: number, start: number, data: Uint8Array, lazy: Map<number, number>, pid: number): void {
  const vpns: number[] = [];
  for (let off = 0; off < data.length; off += PAGE_SIZE) {
    if (!isZero(data, off, Math.min(PAGE_SIZE, data.length - off))) vpns.push((start + off) / PAGE_SIZE);
  }
  if (vpns.length > 0) lazy.set(pid, uffdRegister(k, k.mm(k.t(kid).mm), vpns));
}

/** Pages from an image set (with its chain under `parent/`), decoded once. */
export class ImagePageSource implements PageSource {
  private readonly ck: Checkpoint;

  constructor(images: ReadonlyMap<string, Uint8Array>) {
    this.ck = readCheckpoint(images);
  }

  page(pid: number, vaddr: number): Uint8Array | null {
    const mmIndex = this.ck.tasks.get(pid)?.mm;
    const mm = mmIndex === undefined || mmIndex < 0 ? undefined : this.ck.mms[mmIndex];
    const m = mm?.maps.find((x) => x.kind === 'anon' && vaddr >= x.start && vaddr < x.start + x.len);
    if (!m?.data) return null;
    return m.data.subarray(vaddr - m.start, vaddr - m.start + PAGE_SIZE);
  }
}

export interface LazyRound {
  /** Faults answered this round. */
  served: number;
  /** Pages pushed in the background. */
  pushed: number;
  /** Pages still missing. */
  remaining: number;
}

const ZERO_PAGE = new Uint8Array(PAGE_SIZE);

/**
 * One round of the lazy-pages daemon for the registrations `lazy` (container pid → uffd id):
 * serve every pending fault, then push up to `push` more pages.
 */
export function serveLazy(k: Kernel, lazy: ReadonlyMap<number, number> | Iterable<[number, number]>, source: PageSource, push = 16): LazyRound {
  const round: LazyRound = { served: 0, pushed: 0, remaining: 0 };
  const regs = [...lazy];
  for (const [pid, uffd] of regs) {
    for (const f of uffdFaults(k, uffd)) {
      uffdCopy(k, f.mm, f.vaddr, source.page(pid, f.vaddr) ?? ZERO_PAGE);
      round.served++;
    }
  }
  for (const [pid, uffd] of regs) {
    for (const p of uffdMissing(k, uffd)) {
      if (round.pushed >= push) {
        round.remaining++;
        continue;
      }
      uffdCopy(k, p.mm, p.vaddr, source.page(pid, p.vaddr) ?? ZERO_PAGE);
      round.pushed++;
    }
  }
  return round;
}
