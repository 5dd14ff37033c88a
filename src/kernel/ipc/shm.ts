/**
 * SysV shared memory (ipc/shm.c) with real shared bytes in the tasks' address spaces.
 *
 * Design note. A segment owns its bytes (`store`, a sparse page store, src/kernel/mm/pages.ts:
 * like shmem, creation reserves nothing and a page is allocated when first written). An attachment is a core `Mapping` of kind `shm` naming the
 * namespace and the id, plus `shmOff` (vm_pgoff in bytes: the segment offset of the mapping's
 * first byte, non-zero only for a fragment left by SHM_REMAP); the core's memory access asks this
 * module for the bytes (`mappingStore`), so a write through one attachment is seen through every
 * other, and a write through a SHM_RDONLY attachment faults (SIGSEGV, EFAULT for the library).
 *
 * nattch counts mappings, as Linux's shm_open/shm_close do per vma: shmat, fork (dup) and a
 * fragment created by a split add one; shmdt, munmap, exec and exit remove one. Each attachment
 * also holds a reference on its IPC namespace (shm_file_data holds get_ipc_ns). A segment is
 * destroyed when nattch drops to 0 with SHM_DEST set, or at IPC_RMID when nothing is attached.
 */
import { err } from '../../abi/errno.js';
import {
  CAP_IPC_LOCK, IPC_INFO, IPC_RMID, IPC_SET, IPC_STAT, PAGE_SIZE, SHM_DEST, SHM_EXEC, SHM_HUGETLB, SHM_INFO,
  SHM_LOCK, SHM_LOCKED, SHM_RDONLY, SHM_REMAP, SHM_RND, SHM_STAT, SHM_STAT_ANY, SHM_UNLOCK, SHMLBA,
} from '../../abi/constants.js';
import type { CtlResult, ShmidDs, ShmidDsIn, ShmInfo, ShmInfoUsage } from '../../abi/ipc.js';
import type { KernelCore } from '../core.js';
import type { Mapping, MmState, TaskState } from '../state.js';
import { hasCap } from '../task/cred.js';
import { findFreeRange, freshPtes, insertMapping, munmap, pageAlign, removeMapping, sliceMapping, PROT_EXEC, PROT_READ, PROT_WRITE, TASK_SIZE } from '../mm/mm.js';
import { nonZeroPages } from '../mm/pages.js';
import { getIpcNs, putIpcNs } from '../ipcns.js';
import {
  S_IRUGO, S_IWUGO, addId, cInt, cLong, checkPerms, findById, ipcget, maxIdxRet, newPerm, nsOf, obtainCheck,
  obtainForDown, obtainForStat, permDs, pidFromUser, pidVnr, recordPid, rmId, setKeyPrivate, ipcSetCommon,
  type IpcNs, type IpcPerm,
} from './util.js';

declare module '../state.js' {
  interface Mapping {
    /** shm attachments: offset in the segment of the mapping's first byte (vm_pgoff * PAGE_SIZE). */
    shmOff?: number;
  }
}

/** SHMMIN. */
export const SHMMIN = 1;
/** The largest segment the model backs with memory (a larger one is refused with ENOMEM). */
export const SHM_MODEL_MAX = 1 << 30;
const S_IXUGO = 0o111;

/** struct shmid_kernel, as plain data. */
export interface ShmSegment {
  perm: IpcPerm;
  ns: number;
  /** The key at creation: the name of the backing file, SYSV%08x. */
  nameKey: number;
  segsz: number;
  atime: number;
  dtime: number;
  ctime: number;
  cpid: number;
  lpid: number;
  nattch: number;
  /**
   * The creating thread (kid), 0 once orphaned: it exited (exit_shm) or left the namespace. Linux
   * keeps this as the creator's shm_clist; an orphan with nattch 0 is destroyed under
   * kernel.shm_rmid_forced.
   */
  creator: number;
  /** Pages accounted in ns.shmTot. */
  pages: number;
  /** Backing pages by page index in the segment (absent pages read as zero). */
  store: Map<number, Uint8Array>;
}

// ---- shmget ----

function sizeT(v: unknown): bigint {
  if (typeof v === 'bigint') return BigInt.asUintN(64, v);
  if (typeof v !== 'number' || !Number.isFinite(v)) throw err('EINVAL');
  return BigInt.asUintN(64, BigInt(Math.trunc(v)));
}

/** shmget(2): ipcget with newseg; an existing key with segsz < size is EINVAL. */
export function shmget(k: KernelCore, t: TaskState, key: number, size: number | bigint, shmflg: number): number {
  const ns = nsOf(k, t);
  const kkey = cInt(key);
  const flg = cInt(shmflg);
  const sz = sizeT(size);
  return ipcget<ShmSegment>(k, t, ns.shm, kkey, flg, {
    getnew: () => newseg(k, t, ns, kkey, sz, flg),
    moreChecks: (shp) => {
      if (BigInt(shp.segsz) < sz) throw err('EINVAL');
    },
  });
}

/**
 * newseg(): size < SHMMIN or > shmmax → EINVAL; page count overflow or over shmall → ENOSPC;
 * SHM_HUGETLB → EPERM without CAP_IPC_LOCK, else ENOMEM (the model has no huge pages).
 */
function newseg(k: KernelCore, t: TaskState, ns: IpcNs, key: number, size: bigint, flg: number): number {
  if (size < BigInt(SHMMIN) || size > ns.shmCtlmax) throw err('EINVAL');
  const pages = (size + BigInt(PAGE_SIZE) - 1n) / BigInt(PAGE_SIZE);
  if (pages * BigInt(PAGE_SIZE) < size || pages >= 1n << 52n) throw err('ENOSPC');
  if (BigInt(ns.shmTot) + pages > ns.shmCtlall) throw err('ENOSPC');
  if (flg & SHM_HUGETLB) throw err(hasCap(k, t, CAP_IPC_LOCK) ? 'ENOMEM' : 'EPERM');
  if (size > BigInt(SHM_MODEL_MAX)) throw err('ENOMEM', `the model backs segments up to ${SHM_MODEL_MAX} bytes`);
  const shp: ShmSegment = {
    perm: newPerm(key, flg),
    ns: ns.id,
    nameKey: key,
    segsz: Number(size),
    atime: 0,
    dtime: 0,
    ctime: k.seconds,
    cpid: recordPid(k, t.tgid),
    lpid: 0,
    nattch: 0,
    creator: t.kid,
    pages: Number(pages),
    store: new Map(),
  };
  const id = addId(k, t, ns.shm, shp, ns.shmCtlmni);
  ns.shmTot += shp.pages;
  // list_add(&shp->shm_clist, &current->sysvshm.shm_clist).
  const list = ns.shmClist.get(t.kid);
  if (list) list.add(id);
  else ns.shmClist.set(t.kid, new Set([id]));
  return id;
}

// ---- attach and detach ----

/** The segment a mapping is attached to. */
function segmentOf(k: KernelCore, m: Mapping): ShmSegment {
  const shp = findById(k.ipcNs(m.ipcns).shm, m.shmid);
  if (!shp) throw err('EFAULT', `shm mapping of a destroyed segment ${m.shmid}`);
  return shp;
}

/** shm_open(): a new vma of the segment (attach, fork, split). */
function shmOpen(k: KernelCore, shp: ShmSegment, tgid: number): void {
  shp.atime = k.seconds;
  shp.lpid = recordPid(k, tgid);
  shp.nattch++;
  getIpcNs(k, shp.ns);
}

/**
 * shm_close(): a vma of the segment goes away; the last one destroys it when it is SHM_DEST or
 * the namespace has kernel.shm_rmid_forced (shm_may_destroy).
 */
function shmClose(k: KernelCore, shp: ShmSegment, tgid: number): void {
  shp.lpid = recordPid(k, tgid);
  shp.dtime = k.seconds;
  shp.nattch--;
  const ns = k.ipcNs(shp.ns);
  if (shmMayDestroy(ns, shp)) shmDestroy(k, ns, shp);
  putIpcNs(k, shp.ns);
}

/** shm_may_destroy(). */
function shmMayDestroy(ns: IpcNs, shp: ShmSegment): boolean {
  return shp.nattch === 0 && (ns.shmRmidForced !== 0 || (shp.perm.mode & SHM_DEST) !== 0);
}

/**
 * shm_destroy() (with shm_clist_rm(): O(1), the creators' lists being Sets in `IpcNs.shmClist`; an
 * array scan made creating and removing N segments O(N²)).
 */
function shmDestroy(k: KernelCore, ns: IpcNs, shp: ShmSegment): void {
  if (shp.creator !== 0) {
    const list = ns.shmClist.get(shp.creator);
    list?.delete(shp.perm.id);
    if (list && list.size === 0) ns.shmClist.delete(shp.creator);
    shp.creator = 0;
  }
  ns.shmTot -= shp.pages;
  rmId(ns.shm, shp);
  shp.store.clear();
}

/** Whether a segment's creator is gone: exited, or no longer in the segment's IPC namespace (unshare/setns). */
function orphaned(k: KernelCore, shp: ShmSegment): boolean {
  if (shp.creator === 0) return true;
  const t = k.s.tasks.get(shp.creator);
  return !t || t.state === 'zombie' || t.state === 'dead' || t.ipcns !== shp.ns;
}

/** shm_destroy_orphaned(): kernel.shm_rmid_forced set to 1 destroys every unattached segment whose creator is gone. */
export function shmDestroyOrphaned(k: KernelCore, ns: IpcNs): void {
  for (const shp of [...ns.shm.objs.values()]) if (orphaned(k, shp) && shmMayDestroy(ns, shp)) shmDestroy(k, ns, shp);
}

/**
 * exit_shm(): a thread exits; the segments it created are orphaned, and under
 * kernel.shm_rmid_forced those without attachments are destroyed.
 */
export function exitShm(k: KernelCore, t: TaskState): void {
  // The thread may have created segments in namespaces it has left (unshare/setns): each
  // namespace keeps the lists of its own segments.
  for (const ns of k.s.ipcns.values()) {
    const list = ns.shmClist.get(t.kid);
    if (!list) continue;
    ns.shmClist.delete(t.kid);
    for (const id of list) {
      const shp = findById(ns.shm, id);
      if (!shp || shp.creator !== t.kid) continue;
      shp.creator = 0;
      if (ns.shmRmidForced && shmMayDestroy(ns, shp)) shmDestroy(k, ns, shp);
    }
  }
}

/** Removes [start, end) from `mm` for a SHM_REMAP attach: shm mappings are split, anonymous ones unmapped. */
function clearRange(k: KernelCore, t: TaskState, mm: MmState, start: number, end: number): void {
  for (const m of [...mm.maps]) {
    const mEnd = m.start + m.len;
    if (m.kind !== 'shm' || mEnd <= start || m.start >= end) continue;
    const shp = segmentOf(k, m);
    const i = mm.maps.indexOf(m);
    mm.maps.splice(i, 1);
    const off = m.shmOff ?? 0;
    // split_vma() opens each piece that stays; the unmapped part is closed.
    if (m.start < start) {
      insertMapping(mm, sliceMapping(m, m.start, start - m.start));
      shmOpen(k, shp, t.tgid);
    }
    if (end < mEnd) {
      insertMapping(mm, sliceMapping(m, end, mEnd - end, { shmOff: off + (end - m.start) }));
      shmOpen(k, shp, t.tgid);
    }
    shmClose(k, shp, t.tgid);
  }
  if (mm.maps.some((m) => m.start < end && start < m.start + m.len)) munmap(k, t, start, end - start);
}

/**
 * shmat(2), do_shmat(). Returns the attach address.
 * Order: id < 0 → EINVAL; an unaligned address is rounded down with SHM_RND (EINVAL if it rounds
 * to 0 with SHM_REMAP) or is EINVAL; SHM_REMAP with NULL → EINVAL; lookup; EACCES (read, plus
 * write unless SHM_RDONLY, plus exec with SHM_EXEC); a fixed address overlapping a mapping
 * without SHM_REMAP → EINVAL. An address that rounds down to 0 lets the kernel choose.
 */
export function shmat(k: KernelCore, t: TaskState, shmid: number, shmaddr: number, shmflg: number): number {
  const ns = nsOf(k, t);
  const id = cInt(shmid);
  const flg = cInt(shmflg);
  let addr = cLong(shmaddr);
  if (id < 0 || addr < 0) throw err('EINVAL');
  if (addr) {
    if (addr % SHMLBA !== 0) {
      if (!(flg & SHM_RND)) throw err('EINVAL');
      addr -= addr % SHMLBA;
      if (!addr && flg & SHM_REMAP) throw err('EINVAL');
    }
  } else if (flg & SHM_REMAP) {
    throw err('EINVAL');
  }
  let prot = PROT_READ;
  let acc = S_IRUGO;
  if (!(flg & SHM_RDONLY)) {
    prot |= PROT_WRITE;
    acc |= S_IWUGO;
  }
  if (flg & SHM_EXEC) {
    prot |= PROT_EXEC;
    acc |= S_IXUGO;
  }
  const shp = obtainCheck(k, ns.shm, id);
  checkPerms(k, t, shp.perm, acc);
  const len = pageAlign(shp.segsz);
  const mm = k.mm(t.mm);
  let start: number;
  // do_shmat() holds an attach count across the mmap, so a SHM_REMAP over the segment's own last
  // mapping cannot destroy it; the mapping's shm_open then takes the place of that count.
  shp.nattch++;
  try {
    if (addr) {
      if (addr + len > TASK_SIZE) throw err('ENOMEM');
      if (!(flg & SHM_REMAP)) {
        for (const m of mm.maps) if (addr < m.start + m.len && m.start < addr + len) throw err('EINVAL');
      } else {
        clearRange(k, t, mm, addr, addr + len);
      }
      start = addr;
    } else {
      start = findFreeRange(mm, len);
    }
  } catch (e) {
    shp.nattch--;
    throw e;
  }
  shp.nattch--;
  insertMapping(mm, { start, len, prot, kind: 'shm', ...freshPtes(), ipcns: ns.id, shmid: shp.perm.id, flags: flg, shmOff: 0 });
  shmOpen(k, shp, t.tgid);
  return start;
}

/**
 * shmdt(2), ksys_shmdt(): an unaligned address → EINVAL; detaches the shm mapping that starts at
 * `addr` with offset 0 (or a fragment whose offset matches its distance from `addr`) and then every
 * fragment of the same segment within its size; none → EINVAL.
 */
export function shmdt(k: KernelCore, t: TaskState, shmaddr: number): number {
  const addr = cLong(shmaddr);
  if (addr < 0 || addr % PAGE_SIZE !== 0) throw err('EINVAL');
  const mm = k.mm(t.mm);
  // mm.maps is sorted by address and removeMapping takes an entry out of it in place.
  // find_vma(): the first mapping that ends above addr; then the first shm mapping that fits.
  const maps = mm.maps;
  let i = 0;
  while (i < maps.length && maps[i]!.start + maps[i]!.len <= addr) i++;
  while (i < maps.length && !shmFragmentAt(maps[i]!, addr)) i++;
  const found = maps[i];
  if (!found) throw err('EINVAL');
  const size = pageAlign(segmentOf(k, found).segsz);
  const { ipcns, shmid } = found;
  removeMapping(k, mm, found, t.tgid);
  while (i < maps.length) {
    const m = maps[i]!;
    if (m.start + m.len - addr > size) break;
    if (shmFragmentAt(m, addr) && m.ipcns === ipcns && m.shmid === shmid) removeMapping(k, mm, m, t.tgid);
    else i++;
  }
  return 0;
}

/** A shm mapping that an attach at `addr` could have left here: `(vm_start - addr) / PAGE_SIZE == vm_pgoff`. */
function shmFragmentAt(m: Mapping, addr: number): boolean {
  return m.kind === 'shm' && m.start - addr === (m.shmOff ?? 0);
}

// ---- subsystem hooks (the core calls them for mappings of kind 'shm') ----

/** The segment's page store behind a mapping, and the mapping's offset in it. */
export function shmMappingStore(k: KernelCore, m: Mapping): { store: Map<number, Uint8Array>; off: number; size: number } {
  const shp = segmentOf(k, m);
  return { store: shp.store, off: m.shmOff ?? 0, size: pageAlign(shp.segsz) };
}

export function shmDupMapping(k: KernelCore, m: Mapping, childTgid: number): void {
  shmOpen(k, segmentOf(k, m), childTgid);
}

export function shmUnmapMapping(k: KernelCore, m: Mapping, tgid: number): void {
  shmClose(k, segmentOf(k, m), tgid);
}

/** /proc/<pid>/maps: `00:01 <shmid> /SYSV<key> (deleted)`, as the shmem file of newseg. */
export function shmDescribeMapping(k: KernelCore, m: Mapping): { dev: string; ino: number; path: string } {
  const shp = findById(k.ipcNs(m.ipcns).shm, m.shmid);
  const key = shp ? shp.nameKey : 0;
  return { dev: '00:01', ino: m.shmid, path: `/SYSV${(key >>> 0).toString(16).padStart(8, '0')} (deleted)` };
}

/** Fork: Linux's shm_open runs in the parent, so lpid is the parent's tgid. */
export function shmForkFixup(k: KernelCore, parentTgid: number, childTgid: number): void {
  const child = k.s.tasks.get(childTgid);
  if (!child || !k.s.mms.has(child.mm)) return;
  for (const m of k.mm(child.mm).maps) {
    if (m.kind === 'shm') segmentOf(k, m).lpid = recordPid(k, parentTgid);
  }
}

// ---- shmctl ----

function shmidDs(k: KernelCore, t: TaskState, shp: ShmSegment): ShmidDs {
  return {
    shm_perm: permDs(shp.perm),
    shm_segsz: shp.segsz,
    shm_atime: shp.atime,
    shm_dtime: shp.dtime,
    shm_ctime: shp.ctime,
    shm_cpid: pidVnr(k, t, shp.cpid),
    shm_lpid: pidVnr(k, t, shp.lpid),
    shm_nattch: shp.nattch,
  };
}

/** Resident pages (SHM_INFO, /proc/sysvipc/shm): the model has no page faults, so a page counts once it holds a non-zero byte. */
export function residentPages(shp: ShmSegment): number {
  return nonZeroPages(shp.store);
}

/**
 * shmctl(2), ksys_shmctl(). Returns:
 * - IPC_STAT: the `ShmidDs`; SHM_STAT, SHM_STAT_ANY (by index): `{ ret: full id, buf }`;
 * - IPC_INFO: `{ ret: highest index, buf: ShmInfo }`; SHM_INFO: `{ ret: highest index, buf: ShmInfoUsage }`;
 * - IPC_SET, IPC_RMID, SHM_LOCK, SHM_UNLOCK: 0.
 */
export function shmctl(k: KernelCore, t: TaskState, shmid: number, cmd: number, buf?: ShmidDsIn): number | ShmidDs | CtlResult<ShmidDs> | CtlResult<ShmInfo> | CtlResult<ShmInfoUsage> {
  const ns = nsOf(k, t);
  const id = cInt(shmid);
  const c = cInt(cmd);
  if (c < 0 || id < 0) throw err('EINVAL');
  switch (c) {
    case IPC_INFO:
      return {
        ret: maxIdxRet(ns.shm),
        buf: { shmmax: ns.shmCtlmax, shmmin: SHMMIN, shmmni: ns.shmCtlmni, shmseg: ns.shmCtlmni, shmall: ns.shmCtlall },
      };
    case SHM_INFO: {
      let rss = 0;
      for (const shp of ns.shm.objs.values()) rss += residentPages(shp);
      return {
        ret: maxIdxRet(ns.shm),
        buf: { used_ids: ns.shm.inUse, shm_tot: ns.shmTot, shm_rss: rss, shm_swp: 0, swap_attempts: 0, swap_successes: 0 },
      };
    }
    case SHM_STAT:
    case SHM_STAT_ANY:
    case IPC_STAT: {
      const shp = obtainForStat(k, t, ns.shm, id, c, SHM_STAT_ANY);
      return c === IPC_STAT ? shmidDs(k, t, shp) : { ret: shp.perm.id, buf: shmidDs(k, t, shp) };
    }
    case IPC_SET: {
      if (!buf || typeof buf !== 'object') throw err('EFAULT');
      const shp = obtainForDown(k, t, ns.shm, id);
      ipcSetCommon(k, t, shp, buf.shm_perm, () => {
        shp.atime = cLong(buf.shm_atime ?? 0);
        shp.dtime = cLong(buf.shm_dtime ?? 0);
        shp.ctime = cLong(buf.shm_ctime ?? 0);
        shp.cpid = pidFromUser(k, t, buf.shm_cpid ?? 0);
        shp.lpid = pidFromUser(k, t, buf.shm_lpid ?? 0);
      });
      return 0;
    }
    case IPC_RMID: {
      const shp = obtainForDown(k, t, ns.shm, id);
      // do_shm_rmid(): attached segments are marked and lose their key; others go at once.
      if (shp.nattch) {
        shp.perm.mode |= SHM_DEST;
        setKeyPrivate(ns.shm, shp);
      } else {
        shmDestroy(k, ns, shp);
      }
      return 0;
    }
    case SHM_LOCK:
    case SHM_UNLOCK: {
      // shmctl_do_lock().
      const shp = obtainCheck(k, ns.shm, id);
      if (!hasCap(k, t, CAP_IPC_LOCK)) {
        const euid = t.cred.euid;
        if (euid !== shp.perm.uid && euid !== shp.perm.cuid) throw err('EPERM');
        const memlock = k.proc(t.tgid).rlimMemlock;
        if (c === SHM_LOCK && memlock === 0) throw err('EPERM');
        // user_shm_lock(): the locked size must fit RLIMIT_MEMLOCK (shmem_lock fails with ENOMEM).
        if (c === SHM_LOCK && !(shp.perm.mode & SHM_LOCKED) && shp.pages * PAGE_SIZE > memlock) throw err('ENOMEM');
      }
      if (c === SHM_LOCK) shp.perm.mode |= SHM_LOCKED;
      else shp.perm.mode &= ~SHM_LOCKED;
      return 0;
    }
    default:
      throw err('EINVAL');
  }
}

/** Destroys every segment of a namespace that is going away (none can be attached: each attach holds a reference). */
export function freeAllSegments(k: KernelCore, ns: IpcNs): void {
  for (const shp of [...ns.shm.objs.values()]) shmDestroy(k, ns, shp);
}
