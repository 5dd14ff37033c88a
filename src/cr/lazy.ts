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
import { PAGE_SIZE, SIGBUS } from '../abi/constants.js';
import { isZero } from './image/index.js';
import { deliverSignal, sigBit, SIG_HANDLER } from '../kernel/task/signal.js';
import { exitGroupBySignal } from '../kernel/task/exit.js';
import type { Kernel } from '../syscalls/scheduler.js';
import { uffdCopy, uffdFaults, uffdMissing, uffdRegister } from '../kernel/mm/uffd.js';
import type { Checkpoint } from './model.js';
import { readCheckpoint } from './restore.js';

/** Where the missing pages come from. */
export interface PageSource {
  /** The bytes of page `vaddr` of container process `pid`; null for a page the images do not hold (zeros). */
  page(pid: number, vaddr: number): Uint8Array | null;
}

/**
 * Registers the lazy pages of mapping `m` (its saved `data`) of task `kid` as missing: the PE_LAZY
 * pages `vpns` of its address space when its memory came from pagemap images, or — memory saved
 * inline (nsd-extra.img), which has no page flags — every page holding a non-zero byte.
 */
export function registerLazy(k: Kernel, kid: number, m: { start: number; len: number; data: Uint8Array | null }, vpns: ReadonlySet<number> | undefined, lazy: Map<number, number>, pid: number): void {
  const first = m.start / PAGE_SIZE;
  const mine: number[] = [];
  if (vpns) {
    for (const v of vpns) if (v >= first && v < first + m.len / PAGE_SIZE) mine.push(v);
  } else {
    const data = m.data!;
    for (let off = 0; off < data.length; off += PAGE_SIZE) if (!isZero(data, off, Math.min(PAGE_SIZE, data.length - off))) mine.push(first + off / PAGE_SIZE);
  }
  if (mine.length > 0) lazy.set(pid, uffdRegister(k, k.mm(k.t(kid).mm), mine));
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
  /** The source failed (its message): the faulting tasks got SIGBUS and nothing more was pushed. */
  failed?: string;
  /** Tasks (kids) sent SIGBUS this round. */
  sigbus?: number[];
}

const ZERO_PAGE = new Uint8Array(PAGE_SIZE);

/**
 * A fault's SIGBUS to thread `kid` (force_sig_fault → force_sig_info_to_task): a handler that is
 * installed and not blocked runs; otherwise the default action is forced — fatal, even for a pid
 * namespace's init (SIGNAL_UNKILLABLE is cleared) — and the thread group dies of SIGBUS.
 */
function forceSigbus(k: Kernel, kid: number): void {
  const t = k.s.tasks.get(kid);
  if (!t || t.state === 'zombie' || t.state === 'dead') return;
  if (k.proc(t.tgid).sigaction[SIGBUS] === SIG_HANDLER && !(t.sigmask & sigBit(SIGBUS))) deliverSignal(k, kid, SIGBUS, true);
  else exitGroupBySignal(k, t.tgid, SIGBUS);
}

/**
 * One round of the lazy-pages daemon for the registrations `lazy` (container pid → uffd id):
 * serve every pending fault, then push up to `push` more pages.
 *
 * A source that throws is gone: every task faulting on a page it cannot give gets SIGBUS, forced
 * (a fault's force_sig_fault(SIGBUS, BUS_ADRERR): it cannot be caught, blocked or ignored, so the
 * task dies), as with userfaultfd's UFFD_FEATURE_SIGBUS when no monitor can resolve a fault
 * (mm/userfaultfd.c handle_userfault returns VM_FAULT_SIGBUS). Its pages stay missing — they are
 * never filled with zeros — so later rounds do the same to later faults; the background push
 * stops.
 */
export function serveLazy(k: Kernel, lazy: ReadonlyMap<number, number> | Iterable<[number, number]>, source: PageSource, push = 16): LazyRound {
  const round: LazyRound = { served: 0, pushed: 0, remaining: 0 };
  const regs = [...lazy];
  const get = (pid: number, vaddr: number): Uint8Array | undefined => {
    if (round.failed !== undefined) return undefined;
    try {
      return source.page(pid, vaddr) ?? ZERO_PAGE;
    } catch (e) {
      round.failed = e instanceof Error ? e.message : String(e);
      return undefined;
    }
  };
  for (const [pid, uffd] of regs) {
    for (const f of uffdFaults(k, uffd)) {
      const bytes = get(pid, f.vaddr);
      if (bytes) {
        uffdCopy(k, f.mm, f.vaddr, bytes);
        round.served++;
        continue;
      }
      for (const kid of f.kids) {
        forceSigbus(k, kid);
        (round.sigbus ??= []).push(kid);
      }
    }
  }
  for (const [pid, uffd] of regs) {
    for (const p of uffdMissing(k, uffd)) {
      const bytes = round.pushed < push ? get(pid, p.vaddr) : undefined;
      if (!bytes) {
        round.remaining++;
        continue;
      }
      uffdCopy(k, p.mm, p.vaddr, bytes);
      round.pushed++;
    }
  }
  return round;
}
