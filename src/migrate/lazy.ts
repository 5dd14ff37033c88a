/**
 * Design note: lazy (post-copy) migration over the page-server stream — CRIU's `dump --lazy-pages`
 * + `lazy-pages` daemon, with the model's userfaultfd (src/kernel/mm/uffd.ts).
 *
 * Source (A): the last round sends the pages that hold data as ADD_F(PE_LAZY) — left at the
 * source — instead of ADD (zero pages still go as ZERO, in-parent ones as HOLE). After CLOSE is
 * answered (B runs the tree) the connection stays open and A serves GETs from the frozen tree's
 * pages (`LazySource`, the final dump's pages; A's kernel is not stepped, so the tree stays frozen)
 * until B sends CLOSE: every page has been fetched. Then A kills its copy.
 *
 * GET, as CRIU's page_server_get_pages: B sends `{GET, nr_pages, vaddr, dst_id}`; A answers with
 * `{ADD_F(PE_PRESENT), nr_pages, vaddr, dst_id}` then the pages, or nr_pages 0 when it does not
 * hold them. This project adds a u32 CRC-32 of the pages after them (the rest of the stream is
 * covered by CLOSE's CRC; a GET's answer comes after CLOSE), so a corrupted answer is refused.
 *
 * Destination (B, `receiveLazy`): receives the stream, joins the images with the lazy pages left
 * out, restores the tree (its memory as the pre-copy rounds left it), then registers the lazy pages
 * missing (UFFDIO_REGISTER) before the tree runs one step, and answers CLOSE. Then, round by round
 * (`fetchLazy`): the pending faults become GETs, and when there are none, up to `push` missing pages
 * are fetched in the background (GETs of runs); `serveLazy` installs them (UFFDIO_COPY wakes the
 * faulting tasks); the caller's `step` runs the tree between rounds. If the source goes away or
 * answers wrongly, the restored tree cannot be completed: it is killed (SIGKILL to its init, which
 * takes the pid namespace along) and a `LazySourceError` says why — what CRIU's lazy-pages daemon
 * does when it loses the page server.
 */
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { SIGKILL } from '../abi/constants.js';
import type { Kernel } from '../syscalls/scheduler.js';
import { uffdFaults, uffdMissing, uffdRegister } from '../kernel/mm/uffd.js';
import { serveLazy } from '../cr/lazy.js';
import { treeProcesses } from '../cr/pagemap.js';
import { restore, type RestoreOptions } from '../cr/restore.js';
import {
  IOV_SIZE, MAX_FRAME_PAGES, PAGE_SIZE, PE_PRESENT, PS_IOV_ADD_F, PS_IOV_CLOSE, PS_IOV_GET, PS_TYPE_PID, StreamError,
  crc32, decodeIov, decodePm, describePm, encodeIov, encodePm,
} from './protocol.js';
import { DestinationError, PageSender } from './sender.js';
import { joinImages, type Pagemap } from './pages.js';
import { receiveStream, type Received } from './receiver.js';

/** Pages per background GET (1 MiB). */
export const GET_PAGES = 256;

/** The pages left at the source: each pagemap's runs that hold data, by dst_id. */
export class LazySource {
  private readonly runs = new Map<bigint, Array<{ first: number; n: number; data: Uint8Array }>>();

  constructor(pagemaps: readonly Pagemap[]) {
    for (const pm of pagemaps) {
      const runs = pm.runs.filter((r) => r.flags & PE_PRESENT && r.data).map((r) => ({ first: r.vaddr / PAGE_SIZE, n: r.nrPages, data: r.data! }));
      this.runs.set(pm.dstId, runs.sort((a, b) => a.first - b.first));
    }
  }

  /** `nr` pages from `vaddr` of `dstId`, or null if any of them is not held here. */
  pages(dstId: bigint, vaddr: number, nr: number): Uint8Array | null {
    const runs = this.runs.get(dstId);
    if (!runs || vaddr % PAGE_SIZE !== 0 || nr < 1) return null;
    const first = vaddr / PAGE_SIZE;
    const one = runs.find((r) => first >= r.first && first + nr <= r.first + r.n);
    if (one) return one.data.subarray((first - one.first) * PAGE_SIZE, (first - one.first + nr) * PAGE_SIZE);
    const out = new Uint8Array(nr * PAGE_SIZE);
    for (let i = 0; i < nr; i++) {
      const r = runs.find((x) => first + i >= x.first && first + i < x.first + x.n);
      if (!r) return null;
      out.set(r.data.subarray((first + i - r.first) * PAGE_SIZE, (first + i - r.first + 1) * PAGE_SIZE), i * PAGE_SIZE);
    }
    return out;
  }
}

export interface GetStats {
  gets: number;
  pages: number;
}

/** A: answers B's GETs until B's CLOSE (answered 0, then the connection ends). */
export async function serveGets(tx: PageSender, src: LazySource): Promise<GetStats> {
  const st: GetStats = { gets: 0, pages: 0 };
  for (;;) {
    const h = decodeIov(await tx.read(IOV_SIZE));
    if (h.cmd === PS_IOV_CLOSE) {
      const b = Buffer.alloc(4);
      tx.end(b);
      return st;
    }
    if (h.cmd !== PS_IOV_GET) throw new StreamError(0, `lazy pages: the destination sent command 0x${h.cmd.toString(16)} where a GET or CLOSE was expected`);
    const vaddr = Number(h.vaddr);
    const ok = h.nrPages >= 1 && h.nrPages <= MAX_FRAME_PAGES && Number.isSafeInteger(vaddr);
    const pages = ok ? src.pages(h.dstId, vaddr, h.nrPages) : null;
    await tx.getReply(h.dstId, h.vaddr, pages);
    st.gets++;
    st.pages += pages ? h.nrPages : 0;
  }
}

export class LazySourceError extends Error {
  constructor(why: string) {
    super(`lazy pages: ${why}; the restored tree is killed (it cannot be completed)`);
    this.name = 'LazySourceError';
  }
}

/** B: one GET; resolves with the pages, checked (command, place, count, CRC-32). */
export async function getPages(tx: PageSender, dstId: bigint, vaddr: number, nr: number): Promise<Uint8Array> {
  const where = `${describePm(dstId)} 0x${vaddr.toString(16)} (${nr} pages)`;
  await tx.raw(encodeIov(PS_IOV_GET, 0, nr, vaddr, dstId));
  const h = decodeIov(await tx.read(IOV_SIZE));
  if (h.cmd !== PS_IOV_ADD_F || h.flags !== PE_PRESENT || h.vaddr !== BigInt(vaddr) || h.dstId !== dstId) {
    throw new StreamError(0, `GET ${where}: the answer is not ADD_F(PE_PRESENT) for the same pages (cmd 0x${h.cmd.toString(16)}, flags 0x${h.flags.toString(16)}, vaddr 0x${h.vaddr.toString(16)})`);
  }
  if (h.nrPages === 0) throw new StreamError(0, `GET ${where}: the source does not hold these pages`);
  if (h.nrPages !== nr) throw new StreamError(0, `GET ${where}: the answer carries ${h.nrPages} pages`);
  const body = await tx.read(nr * PAGE_SIZE + 4);
  const pages = body.subarray(0, nr * PAGE_SIZE);
  if ((crc32(pages) >>> 0) !== body.readUInt32LE(nr * PAGE_SIZE)) throw new StreamError(0, `GET ${where}: CRC-32 mismatch in the answer (corrupted on the way)`);
  return pages;
}

/** The pages each process left at the source: container pid → virtual page numbers. */
export function lazyPagesOf(got: Received): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const [dstId, t] of got.pagemaps) {
    const pm = decodePm(dstId);
    if (!pm || pm.type !== PS_TYPE_PID) continue;
    const vpns: number[] = [];
    for (const s of t.pages) if (s.kind === 'lazy') for (let i = 0; i < s.n; i++) vpns.push(s.first + i);
    if (vpns.length > 0) out.set(pm.id, vpns);
  }
  return out;
}

/** Registers the lazy pages of a restored tree missing: container pid → uffd registration. */
export function registerStreamLazy(k: Kernel, rootKid: number, got: Received): Map<number, number> {
  const kids = new Map(treeProcesses(k, rootKid).map((p) => [p.pid, p.kid]));
  const regs = new Map<number, number>();
  for (const [pid, vpns] of lazyPagesOf(got)) {
    const kid = kids.get(pid);
    if (kid === undefined) throw new StreamError(got.bytes, `lazy pages of pid ${pid}, which the restored tree does not have`);
    regs.set(pid, uffdRegister(k, k.mm(k.t(kid).mm), vpns));
  }
  return regs;
}

export interface LazyStats {
  /** Faults answered, pages pushed in the background, GETs sent, bytes fetched, ms from the first GET to the end. */
  faults: number;
  pushed: number;
  gets: number;
  bytes: number;
  ms: number;
}

export interface FetchOptions {
  /** Pages pushed per round when no fault is pending (default GET_PAGES). */
  push?: number;
  /** Runs the tree a little; false once it has ended (the remaining pages are then not needed). */
  step: () => boolean | Promise<boolean>;
}

/** B: the lazy-pages daemon over the stream, until nothing is missing (or the tree ended); then CLOSE. */
export async function fetchLazy(k: Kernel, regs: ReadonlyMap<number, number>, tx: PageSender, opts: FetchOptions): Promise<LazyStats> {
  const t0 = performance.now();
  const push = opts.push ?? GET_PAGES;
  const st: LazyStats = { faults: 0, pushed: 0, gets: 0, bytes: 0, ms: 0 };
  for (;;) {
    // The tree runs first (it may fault), then the faults are served, else pages pushed.
    if (!(await opts.step())) break;
    // What this round serves: the faults, else the first `push` missing pages (serveLazy's order).
    const want = new Map<number, Set<number>>();
    let faults = 0;
    for (const [pid, uffd] of regs) {
      for (const f of uffdFaults(k, uffd)) {
        faults++;
        (want.get(pid) ?? want.set(pid, new Set()).get(pid)!).add(f.vaddr);
      }
    }
    const budget = faults > 0 ? 0 : push;
    let left = budget;
    let missing = 0;
    for (const [pid, uffd] of regs) {
      const m = uffdMissing(k, uffd);
      missing += m.length;
      for (const p of m) {
        if (left === 0) break;
        const set = want.get(pid) ?? want.set(pid, new Set()).get(pid)!;
        if (!set.has(p.vaddr)) {
          set.add(p.vaddr);
          left--;
        }
      }
    }
    if (missing === 0) break;
    const fetched = new Map<string, Uint8Array>();
    for (const [pid, vaddrs] of want) {
      const sorted = [...vaddrs].sort((a, b) => a - b);
      for (let i = 0; i < sorted.length; ) {
        let j = i + 1;
        while (j < sorted.length && j - i < GET_PAGES && sorted[j] === sorted[j - 1]! + PAGE_SIZE) j++;
        const pages = await getPages(tx, encodePm(PS_TYPE_PID, pid), sorted[i]!, j - i);
        st.gets++;
        st.bytes += pages.length;
        for (let x = i; x < j; x++) fetched.set(`${pid}:${sorted[x]}`, pages.subarray((x - i) * PAGE_SIZE, (x - i + 1) * PAGE_SIZE));
        i = j;
      }
    }
    const r = serveLazy(k, regs, {
      page: (pid, vaddr) => {
        const p = fetched.get(`${pid}:${vaddr}`);
        if (!p) throw new StreamError(0, `lazy pages: pid ${pid} page 0x${vaddr.toString(16)} was not fetched`);
        return p;
      },
    }, budget);
    st.faults += r.served;
    st.pushed += r.pushed;
    if (r.remaining === 0) break;
  }
  await tx.raw(encodeIov(PS_IOV_CLOSE, 0, 0, 0, 0));
  await tx.read(4);
  st.ms = performance.now() - t0;
  return st;
}

export interface ReceiveLazyOptions extends FetchOptions {
  strategy?: RestoreOptions['strategy'];
  /** Called once the tree is restored and registered, before CLOSE is answered. */
  onRestored?: (rootKid: number, got: Received) => void;
}

export interface ReceiveLazyResult {
  got: Received;
  /** The restored init (kid in B). */
  rootKid: number;
  lazy: LazyStats;
}

/**
 * B: receives a lazy migration on `sock`, restores the tree into `k` with the lazy pages missing,
 * answers CLOSE, and fetches the pages while `step` runs the tree. A source that dies or answers
 * wrongly: the tree is killed and this rejects with a LazySourceError.
 */
export async function receiveLazy(sock: Duplex, k: Kernel, opts: ReceiveLazyOptions): Promise<ReceiveLazyResult> {
  let rootKid = 0;
  let regs = new Map<number, number>();
  const got = await receiveStream(sock, {
    keepOpen: true,
    onComplete: (r) => {
      const res = restore(k, joinImages(r, true, false), { strategy: opts.strategy ?? 'nsd', imagesChecked: true });
      rootKid = res.rootPid;
      try {
        regs = registerStreamLazy(k, rootKid, r);
      } catch (e) {
        killTree(k, rootKid);
        throw e;
      }
      opts.onRestored?.(rootKid, r);
      return 0;
    },
  });
  const tx = new PageSender(sock as Socket);
  sock.resume();
  try {
    const lazy = await fetchLazy(k, regs, tx, opts);
    return { got, rootKid, lazy };
  } catch (e) {
    killTree(k, rootKid);
    sock.destroy();
    const why = e instanceof DestinationError ? `the source went away (${e.message.replace(/^page server: /, '')})` : e instanceof Error ? e.message : String(e);
    throw new LazySourceError(`${why}, ${missingCount(k, regs)} pages still missing`);
  }
}

function missingCount(k: Kernel, regs: ReadonlyMap<number, number>): number {
  let n = 0;
  for (const uffd of new Set(regs.values())) n += uffdMissing(k, uffd).length;
  return n;
}

/** SIGKILL to the restored init: its pid namespace goes with it. */
function killTree(k: Kernel, rootKid: number): void {
  const t = k.s.tasks.get(rootKid);
  if (t && t.state !== 'zombie' && t.state !== 'dead') k.init.sys.kill(k.pidIn(rootKid, k.init.kid), SIGKILL);
}
