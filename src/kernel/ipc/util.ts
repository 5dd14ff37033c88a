/**
 * The shared core of SysV IPC (ipc/util.c, ipc/namespace.c): per-namespace id spaces, key lookup,
 * `ipcperms`, the `*get` flow, id allocation per kernel profile (with next_syscall_data patch 2 and
 * the `*_next_id` sysctls), lookups by id and by index, the IPC_SET/IPC_RMID ownership rule, and
 * pid bookkeeping for the `*_lspid`-style fields.
 *
 * Design note. An IPC namespace (`IpcNs`: the core's `IpcNsState`, whose fields are declared here
 * as `IpcNsFields`) holds its limits, counters, three id spaces (`IpcIds`) and the shm creators'
 * lists. What is not per namespace (SEM_UNDO lists, pid records) is `KernelState.ipc`
 * (`SysvIpcState`). An id space is plain data: objects by index
 * (`objs`, a Map: O(1) lookup by id), non-private keys by value (`keys`), and the allocator's
 * cursors (`seq`, `lastIdx`, `cursor`, `maxIdx`, `nextId`). A free-index bitmap for allocation is
 * a derived index kept in a WeakMap keyed by the id space object, rebuilt from `objs` the first
 * time it is needed (so a restored state rebuilds it). Errors are ErrnoErrors; each check cites
 * the Linux function whose order it follows. The three mechanisms (msg.ts, sem.ts, shm.ts) plug in
 * through small callbacks, as Linux's `struct ipc_ops`.
 */
import { err } from '../../abi/errno.js';
import { CAP_IPC_OWNER, CAP_SYS_ADMIN, IPC_CREAT, IPC_EXCL, IPC_PRIVATE, IPC_STAT } from '../../abi/constants.js';
import type { IpcPermDs, Long, PermIn } from '../../abi/ipc.js';
import type { KernelCore } from '../core.js';
import type { IpcNsState, TaskState } from '../state.js';
import { hasCap } from '../task/cred.js';
import { nsdIpcSetAll, takeNsd } from '../nsd/nsd.js';
import { pidNrIn } from '../pid/pid.js';

/** IPCMNI: 32768 indexes per id space; also SEQ_MULTIPLIER (ids are `seq * 32768 + idx`). */
export const IPCMNI = 32768;
export const SEQ_SHIFT = 15;
const IDX_MASK = IPCMNI - 1;
/** ipc_min_cycle: the smallest range the 5.1+ cyclic allocator cycles over (RADIX_TREE_MAP_SIZE). */
export const IPC_MIN_CYCLE = 64;
/** S_IRUGO / S_IWUGO / S_IRWXUGO as ipcperms flags. */
export const S_IRUGO = 0o444;
export const S_IWUGO = 0o222;
export const S_IRWXUGO = 0o777;
export const INT_MAX = 0x7fffffff;

/** struct kern_ipc_perm, as plain data: the record's fields plus the full id (seq * 32768 + idx). */
export interface IpcPerm extends IpcPermDs {
  id: number;
}

/** One id space (struct ipc_ids). `T` is the mechanism's object, which carries `perm`. */
export interface IpcIds<T extends { perm: IpcPerm }> {
  inUse: number;
  /** ids->seq: the sequence number of the next creation (2.6.26) or of the current cycle (5.1+). */
  seq: number;
  /** ids->last_idx (5.1+): the index of the last cyclic allocation, -1 initially. */
  lastIdx: number;
  /** idr->idr_next (5.1+): where the next cyclic allocation starts looking. */
  cursor: number;
  /** ids->max_idx: the highest index in use, -1 when empty. */
  maxIdx: number;
  /** ids->next_id: the `kernel.*_next_id` sysctl, -1 when unset. */
  nextId: number;
  /** Objects by index. */
  objs: Map<number, T>;
  /** Non-private keys → index (ipc_findkey's rhashtable). */
  keys: Map<number, number>;
}

/** The per-namespace state (struct ipc_namespace), stored in `KernelState.ipcns` (id and refs are the core's). */
export interface IpcNsFields {
  msgCtlmax: number;
  msgCtlmnb: number;
  msgCtlmni: number;
  /** kernel.sem: semmsl, semmns, semopm, semmni. */
  semCtls: [number, number, number, number];
  shmCtlmax: bigint;
  shmCtlall: bigint;
  shmCtlmni: number;
  /** kernel.shm_rmid_forced (0 or 1; 3.1+). */
  shmRmidForced: number;
  /**
   * fs/mqueue/{queues_max,msg_max,msgsize_max,msg_default,msgsize_default} (ns->mq_*). The model has
   * no POSIX message queues: these are the limits only. In 2.6.26 they were global: the initial
   * namespace's are the ones in force (see mqNsOf).
   */
  mqQueuesMax: number;
  mqMsgMax: number;
  mqMsgsizeMax: number;
  mqMsgDefault: number;
  mqMsgsizeDefault: number;
  /** Semaphores in use (ns->used_sems). */
  usedSems: number;
  /** Pages of shm in use (ns->shm_tot). */
  shmTot: number;
  /** Messages and bytes queued over the namespace (percpu_msg_hdrs / percpu_msg_bytes). */
  msgHdrs: number;
  msgBytes: number;
  msg: IpcIds<import('./msg.js').MsgQueue>;
  sem: IpcIds<import('./sem.js').SemArray>;
  shm: IpcIds<import('./shm.js').ShmSegment>;
  /**
   * The creators' lists (task->sysvshm.shm_clist) of this namespace's segments: kid → ids of the
   * segments it created. A Set, so that shm_clist_rm is O(1) as Linux's list_del is.
   */
  shmClist: Map<number, Set<number>>;
}

/** An IPC namespace as the mechanisms see it. */
export type IpcNs = IpcNsState;

/** SysV IPC state of the whole kernel (`KernelState.ipc`). */
export interface SysvIpcState {
  /** SEM_UNDO lists by id (struct sem_undo_list: shared through CLONE_SYSVSEM, may span namespaces). */
  semUndo: Map<number, import('./sem.js').SemUndoList>;
  /** kid → the task's numbers, for the pids IPC objects record (see recordPid). */
  pids: Map<number, PidRecord>;
}

export type IpcKind = 'msg' | 'sem' | 'shm';

export function newIds<T extends { perm: IpcPerm }>(): IpcIds<T> {
  return { inUse: 0, seq: 0, lastIdx: -1, cursor: 0, maxIdx: -1, nextId: -1, objs: new Map(), keys: new Map() };
}

/** A fresh namespace with the profile's default limits (ipc/namespace.c create_ipc_ns), no references yet. */
export function newIpcNamespace(k: KernelCore, id: number): IpcNs {
  const p = k.profile.ipc;
  return {
    id,
    refs: 0,
    msgCtlmax: p.msgmax,
    msgCtlmnb: p.msgmnb,
    msgCtlmni: p.msgmni,
    semCtls: [p.semmsl, p.semmns, p.semopm, p.semmni],
    shmCtlmax: p.shmmax,
    shmCtlall: p.shmall,
    shmCtlmni: p.shmmni,
    shmRmidForced: 0,
    // mq_init_ns(): DFLT_QUEUESMAX, DFLT_MSGMAX, DFLT_MSGSIZEMAX, DFLT_MSG, DFLT_MSGSIZE.
    mqQueuesMax: 256,
    mqMsgMax: 10,
    mqMsgsizeMax: 8192,
    mqMsgDefault: 10,
    mqMsgsizeDefault: 8192,
    usedSems: 0,
    shmTot: 0,
    msgHdrs: 0,
    msgBytes: 0,
    msg: newIds(),
    sem: newIds(),
    shm: newIds(),
    shmClist: new Map(),
  };
}

/** The IPC namespace of a task. */
export function nsOf(k: KernelCore, t: TaskState): IpcNs {
  return k.ipcNs(t.ipcns);
}

/** Where the fs/mqueue limits in force for a task live: its IPC namespace (2.6.30+), or the initial one (global before). */
export function mqNsOf(k: KernelCore, t: TaskState): IpcNs {
  return k.ipcNs(k.profile.ipc.mqueuePerNs ? t.ipcns : k.s.rootIpcNs);
}

// ---- the free-index bitmap (a derived index) ----

/** Two-level bitmap over 32768 indexes: `words` bit set = used; `full` bit set = word all used. */
class IdxBitmap {
  readonly words = new Uint32Array(IPCMNI / 32);
  readonly full = new Uint32Array(IPCMNI / 32 / 32);

  set(i: number): void {
    const w = i >>> 5;
    const v = (this.words[w]! | (1 << (i & 31))) >>> 0;
    this.words[w] = v;
    if (v === 0xffffffff) this.full[w >>> 5] = (this.full[w >>> 5]! | (1 << (w & 31))) >>> 0;
  }

  clear(i: number): void {
    const w = i >>> 5;
    this.words[w] = (this.words[w]! & ~(1 << (i & 31))) >>> 0;
    this.full[w >>> 5] = (this.full[w >>> 5]! & ~(1 << (w & 31))) >>> 0;
  }

  /** Lowest free index in [from, to], or -1. */
  freeFrom(from: number, to: number): number {
    if (from > to) return -1;
    let w = from >>> 5;
    // The partial first word.
    const first = ~(this.words[w]! | ((1 << (from & 31)) - 1)) >>> 0;
    if (first !== 0) {
      const i = (w << 5) + ctz(first);
      return i <= to ? i : -1;
    }
    w++;
    const last = to >>> 5;
    while (w <= last) {
      // Skip 32 full words at once through the summary.
      if ((w & 31) === 0 && this.full[w >>> 5] === 0xffffffff) {
        w += 32;
        continue;
      }
      const free = ~this.words[w]! >>> 0;
      if (free !== 0) {
        const i = (w << 5) + ctz(free);
        return i <= to ? i : -1;
      }
      w++;
    }
    return -1;
  }

  /** Highest used index below `below`, or -1. */
  usedBelow(below: number): number {
    let i = below - 1;
    while (i >= 0) {
      const w = i >>> 5;
      const bit = i & 31;
      const mask = bit === 31 ? 0xffffffff : ((1 << (bit + 1)) - 1) >>> 0;
      const bits = (this.words[w]! & mask) >>> 0;
      if (bits !== 0) return (w << 5) + 31 - Math.clz32(bits);
      i = (w << 5) - 1;
    }
    return -1;
  }
}

function ctz(v: number): number {
  return 31 - Math.clz32(v & -v);
}

const BITMAPS = new WeakMap<object, IdxBitmap>();

function bitmapOf(ids: IpcIds<{ perm: IpcPerm }>): IdxBitmap {
  let b = BITMAPS.get(ids);
  if (!b) {
    b = new IdxBitmap();
    for (const idx of ids.objs.keys()) b.set(idx);
    BITMAPS.set(ids, b);
  }
  return b;
}

// ---- ids ----

export function idxOf(id: number): number {
  return id & IDX_MASK;
}

/** ipc_obtain_object_idr(): by index (the `*_STAT` commands); an empty slot is EINVAL. */
export function obtainByIdx<T extends { perm: IpcPerm }>(ids: IpcIds<T>, id: number): T {
  const o = ids.objs.get(id & IDX_MASK);
  if (o === undefined) throw err('EINVAL');
  return o;
}

/** The object with exactly the full id `id`, or undefined (a stale id kept by an undo entry, a mapping…). */
export function findById<T extends { perm: IpcPerm }>(ids: IpcIds<T>, id: number): T | undefined {
  const o = ids.objs.get(id & IDX_MASK);
  return o !== undefined && o.perm.id === id ? o : undefined;
}

/**
 * ipc_obtain_object_check() (modern) / ipc_lock_check() (2.6.26): by full id. An empty slot is
 * EINVAL; a used slot with another seq is EINVAL (modern) or EIDRM (2.6.26), per the profile.
 */
export function obtainCheck<T extends { perm: IpcPerm }>(k: KernelCore, ids: IpcIds<T>, id: number): T {
  const o = obtainByIdx(ids, id);
  if (o.perm.seq !== id >>> SEQ_SHIFT) throw err(k.profile.ipc.staleId);
  return o;
}

/**
 * The lookup of the STAT commands (msgctl_stat, semctl_stat, shmctl_stat): IPC_STAT by full id,
 * `*_STAT` and `*_STAT_ANY` by index; read permission except for `*_STAT_ANY` (4.17+; EINVAL before).
 */
export function obtainForStat<T extends { perm: IpcPerm }>(k: KernelCore, t: TaskState, ids: IpcIds<T>, id: number, cmd: number, anyCmd: number): T {
  const any = cmd === anyCmd;
  if (any && !k.profile.ipc.statAny) throw err('EINVAL');
  const o = cmd === IPC_STAT ? obtainCheck(k, ids, id) : obtainByIdx(ids, id);
  if (!any && ipcpermsDenied(k, t, o.perm, S_IRUGO)) throw err('EACCES');
  return o;
}

/** in_group_p(): fsgid or a supplementary group. */
function inGroup(t: TaskState, gid: number): boolean {
  return t.cred.fsgid === gid || t.cred.groups.includes(gid);
}

/**
 * ipcperms(): true when access is *denied*. `flag` is the requested mode (only its rwx bits per
 * class matter). Owner class when euid is cuid or uid, else group class when in cgid or gid, else
 * other; CAP_IPC_OWNER overrides.
 */
export function ipcpermsDenied(k: KernelCore, t: TaskState, perm: IpcPerm, flag: number): boolean {
  const requested = ((flag >> 6) | (flag >> 3) | flag) & 7;
  if (requested === 0) return false;
  let granted = perm.mode;
  const euid = t.cred.euid;
  if (euid === perm.cuid || euid === perm.uid) granted >>= 6;
  else if (inGroup(t, perm.cgid) || inGroup(t, perm.gid)) granted >>= 3;
  return (requested & ~granted & 7) !== 0 && !hasCap(k, t, CAP_IPC_OWNER);
}

/** ipcperms() that throws EACCES. */
export function checkPerms(k: KernelCore, t: TaskState, perm: IpcPerm, flag: number): void {
  if (ipcpermsDenied(k, t, perm, flag)) throw err('EACCES');
}

/**
 * ipcctl_obtain_check(): lookup by full id, then the IPC_SET/IPC_RMID ownership rule: euid equal
 * to cuid or uid, or CAP_SYS_ADMIN, else EPERM.
 */
export function obtainForDown<T extends { perm: IpcPerm }>(k: KernelCore, t: TaskState, ids: IpcIds<T>, id: number): T {
  const o = obtainCheck(k, ids, id);
  const euid = t.cred.euid;
  if (euid !== o.perm.cuid && euid !== o.perm.uid && !hasCap(k, t, CAP_SYS_ADMIN)) throw err('EPERM');
  return o;
}

/**
 * ipc_update_perm(): uid, gid and the low 9 mode bits. An invalid uid/gid (-1) is EINVAL where the
 * profile checks ids (uid_valid(), 3.5+); 2.6.26's void ipc_update_perm() stored any value.
 */
export function updatePerm(perm: IpcPerm, uid: number, gid: number, mode: number, checkIds = true): void {
  const u = uid >>> 0;
  const g = gid >>> 0;
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw err('EINVAL');
  if (checkIds && (u === 0xffffffff || g === 0xffffffff)) throw err('EINVAL');
  perm.uid = u;
  perm.gid = g;
  perm.mode = (perm.mode & ~S_IRWXUGO) | ((mode | 0) & S_IRWXUGO);
}

/**
 * IPC_SET's common part: ipc_update_perm(), ctime = now, then next_syscall_data patch 4: when
 * armed with data[0] != 0, `restore` copies the full state from the buffer and nsd is cleared
 * (`LONG1 0` is not armed here and stays set).
 */
export function ipcSetCommon(k: KernelCore, t: TaskState, obj: { perm: IpcPerm; ctime: number }, permIn: PermIn | undefined, restore: () => void): void {
  const p = permIn ?? {};
  updatePerm(obj.perm, p.uid ?? 0, p.gid ?? 0, p.mode ?? 0, k.profile.ipc.setChecksIds);
  obj.ctime = k.seconds;
  if (nsdIpcSetAll(t)) {
    restore();
    t.nsd = null;
  }
}

export function permDs(perm: IpcPerm): IpcPermDs {
  return { key: perm.key, uid: perm.uid, gid: perm.gid, cuid: perm.cuid, cgid: perm.cgid, mode: perm.mode, seq: perm.seq };
}

/**
 * ipc_addid() + ipc_idr_alloc(): gives `obj` an index and a full id in `ids`, or throws.
 *
 * Order (NSD-SPEC §2 and ipc/util.c):
 * 1. `in_use >= min(limit, IPCMNI)` → ENOSPC, before anything is consumed;
 * 2. next_syscall_data armed: take data[0] and clear it (consumed whatever follows); `id < 0` or
 *    a seq above the profile's seq_max → EINVAL; index busy → EBUSY; else exactly that id, and
 *    neither the namespace's seq nor its cursors move; a `*_next_id` sysctl stays armed;
 * 3. `*_next_id` armed (3.8+): read and reset to -1 first (5.1+), then the lowest free index at
 *    or above idx(next_id), with seq(next_id);
 * 4. otherwise per profile: 2.6.26 lowest free index and `seq++` per creation; 5.1+ cyclic over
 *    [0, min(max(in_use*3/2, 64), limit)) with seq bumped when the index does not grow.
 */
export function addId<T extends { perm: IpcPerm }>(k: KernelCore, t: TaskState, ids: IpcIds<T>, obj: T, limit: number): number {
  const p = k.profile.ipc;
  const mni = Math.min(limit, IPCMNI);
  if (ids.inUse >= mni) throw err('ENOSPC');
  const bitmap = bitmapOf(ids);
  let idx: number;
  let seq: number;
  const preset = takeNsd(t);
  if (preset !== null) {
    const want = preset[0]!;
    if (want < 0n || want > BigInt(INT_MAX)) throw err('EINVAL', 'next_syscall_data: bad preset id');
    const id = Number(want);
    idx = id & IDX_MASK;
    seq = id >>> SEQ_SHIFT;
    if (seq > p.seqMax) throw err('EINVAL', 'next_syscall_data: seq above seq_max');
    if (ids.objs.has(idx)) throw err('EBUSY', 'next_syscall_data: index in use');
  } else if (p.nextIdSysctls && ids.nextId >= 0) {
    const next = ids.nextId;
    ids.nextId = -1;
    idx = bitmap.freeFrom(next & IDX_MASK, IPCMNI - 1);
    if (idx < 0) throw err('ENOSPC');
    seq = next >>> SEQ_SHIFT;
  } else if (p.alloc === 'cyclic') {
    // ipc_mni here is the global IPCMNI, not the namespace's *mni limit.
    const maxIdx = Math.min(Math.max(((ids.inUse * 3) / 2) | 0, IPC_MIN_CYCLE), IPCMNI);
    // idr_alloc_cyclic(idr, ptr, 0, maxIdx): from the cursor, then wrapping to 0.
    const from = ids.cursor;
    idx = from <= maxIdx - 1 ? bitmap.freeFrom(from, maxIdx - 1) : -1;
    if (idx < 0 && from > 0) idx = bitmap.freeFrom(0, maxIdx - 1);
    if (idx < 0) throw err('ENOSPC');
    ids.cursor = idx + 1;
    if (idx <= ids.lastIdx) {
      ids.seq++;
      if (ids.seq >= p.seqMax) ids.seq = 0;
    }
    ids.lastIdx = idx;
    seq = ids.seq;
  } else {
    idx = bitmap.freeFrom(0, IPCMNI - 1);
    if (idx < 0) throw err('ENOSPC');
    seq = ids.seq++;
    if (ids.seq > p.seqMax) ids.seq = 0;
  }
  const perm = obj.perm;
  perm.seq = seq;
  perm.id = seq * IPCMNI + idx;
  perm.cuid = perm.uid = t.cred.euid;
  perm.cgid = perm.gid = t.cred.egid;
  ids.objs.set(idx, obj);
  bitmap.set(idx);
  if (perm.key !== IPC_PRIVATE) ids.keys.set(perm.key, idx);
  ids.inUse++;
  if (idx > ids.maxIdx) ids.maxIdx = idx;
  return perm.id;
}

/** ipc_rmid(): frees the index and the key. */
export function rmId<T extends { perm: IpcPerm }>(ids: IpcIds<T>, obj: T): void {
  const idx = obj.perm.id & IDX_MASK;
  if (ids.objs.get(idx) !== obj) return;
  ids.objs.delete(idx);
  const bitmap = bitmapOf(ids);
  bitmap.clear(idx);
  dropKey(ids, obj.perm);
  ids.inUse--;
  if (idx === ids.maxIdx) ids.maxIdx = bitmap.usedBelow(idx);
}

/** ipc_kht_remove(): the key no longer finds the object (if it still named it). */
function dropKey(ids: IpcIds<{ perm: IpcPerm }>, perm: IpcPerm): void {
  if (perm.key !== IPC_PRIVATE && ids.keys.get(perm.key) === (perm.id & IDX_MASK)) ids.keys.delete(perm.key);
}

/** ipc_set_key_private(): the key no longer finds the object (shm RMID with attachers). */
export function setKeyPrivate<T extends { perm: IpcPerm }>(ids: IpcIds<T>, obj: T): void {
  dropKey(ids, obj.perm);
  obj.perm.key = IPC_PRIVATE;
}

/** `*_INFO`'s return value: the highest index in use, 0 when none (ipc_get_maxidx). */
export function maxIdxRet(ids: IpcIds<{ perm: IpcPerm }>): number {
  return ids.maxIdx < 0 ? 0 : ids.maxIdx;
}

/** A mechanism's part of `*get` (struct ipc_ops + the ipc_params it needs). */
export interface GetOps<T extends { perm: IpcPerm }> {
  /** ops->getnew: creates the object (calls addId) and returns its id. */
  getnew(): number;
  /** ops->more_checks on an existing object (nsems, size), may throw EINVAL. */
  moreChecks?(obj: T): void;
}

/**
 * ipcget(): IPC_PRIVATE always creates; otherwise ipcget_public: key not found → ENOENT without
 * IPC_CREAT, else create; found → EEXIST for IPC_CREAT|IPC_EXCL, then more_checks, then ipcperms
 * of the requested bits (EACCES), then the existing id.
 */
export function ipcget<T extends { perm: IpcPerm }>(k: KernelCore, t: TaskState, ids: IpcIds<T>, key: number, flg: number, ops: GetOps<T>): number {
  if (key === IPC_PRIVATE) return ops.getnew();
  const idx = ids.keys.get(key);
  if (idx === undefined) {
    if (!(flg & IPC_CREAT)) throw err('ENOENT');
    return ops.getnew();
  }
  const obj = ids.objs.get(idx)!;
  if (flg & IPC_CREAT && flg & IPC_EXCL) throw err('EEXIST');
  ops.moreChecks?.(obj);
  if (ipcpermsDenied(k, t, obj.perm, flg)) throw err('EACCES');
  return obj.perm.id;
}

/** A fresh perm record (ipc_addid fills id, seq and the owner ids). */
export function newPerm(key: number, flg: number): IpcPerm {
  return { id: -1, key, uid: 0, gid: 0, cuid: 0, cgid: 0, mode: flg & S_IRWXUGO, seq: 0 };
}

// ---- argument casts: a syscall takes C ints ----

/** (int)v for a JS number argument; a non-number is EFAULT-like garbage, refused with EINVAL. */
export function cInt(v: unknown): number {
  if (typeof v === 'bigint') return Number(BigInt.asIntN(32, v));
  if (typeof v !== 'number' || !Number.isFinite(v)) throw err('EINVAL');
  return Math.trunc(v) | 0;
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
export const LONG_MIN = -(1n << 63n);
export const LONG_MAX = (1n << 63n) - 1n;

/** The canonical Long of a 64-bit value. */
export function canonLong(b: bigint): Long {
  return b >= MIN_SAFE && b <= MAX_SAFE ? Number(b) : b;
}

/**
 * (long)v, exactly: a safe-integer number is kept (the hot path); a bigint or a larger integral
 * number is cast to 64 bits as C does. Anything else cannot be in a register: EINVAL.
 */
export function cLong64(v: unknown): Long {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return v;
    if (!Number.isInteger(v)) throw err('EINVAL', `${String(v)} is not an integer`);
    return canonLong(BigInt.asIntN(64, BigInt(v)));
  }
  if (typeof v === 'bigint') return canonLong(BigInt.asIntN(64, v));
  throw err('EINVAL', 'not an integer');
}

/** (long)v: kept as a JS number (safe-integer range); bigints are converted. */
export function cLong(v: unknown): number {
  if (typeof v === 'bigint') return Number(BigInt.asIntN(64, v));
  if (typeof v !== 'number' || !Number.isFinite(v)) throw err('EINVAL');
  return Math.trunc(v);
}

// ---- pids of IPC records (stored as kids, translated with pid_vnr at read time) ----

/**
 * What Linux's `struct pid` keeps for an IPC record (q_lspid, sempid, shm_cprid… hold a reference
 * since 4.17): the task's number at each level and the namespace of each level (`upid->ns`),
 * index 0 being the initial namespace. Copied when recorded, so it never needs a namespace that
 * may be gone by the time it is read.
 */
export interface PidRecord {
  /** Pid namespace id per level. */
  nss: readonly number[];
  pids: readonly number[];
}

/**
 * Kernel-wide registry kid → the task's numbers, so a pid recorded in an IPC object can still be
 * translated after the task (or its pid namespace) is gone (Linux keeps the struct pid alive with
 * get_pid()). It is `k.s.ipc.pids` (plain data).
 */
function pidRegistry(k: KernelCore): Map<number, PidRecord> {
  return k.s.ipc.pids;
}

/**
 * A pid to store in an IPC record for task `kid` (a tgid or a thread id). Positive: a kid;
 * negative: a raw number restored by a full-state IPC_SET that names no live task (reported as
 * is); 0: none.
 */
export function recordPid(k: KernelCore, kid: number): number {
  const t = k.s.tasks.get(kid);
  if (t) {
    const reg = pidRegistry(k);
    const e = reg.get(kid);
    if (e === undefined || e.pids !== t.pids) {
      // The task's namespace chain, innermost last (every level is alive while the task is).
      const nss: number[] = new Array<number>(t.pids.length);
      for (let id = t.pidns, lvl = t.pids.length - 1; lvl >= 0; lvl--) {
        nss[lvl] = id;
        id = k.s.pidns.get(id)?.parent ?? 0;
      }
      reg.set(kid, { nss, pids: t.pids });
    }
  }
  return kid;
}

/**
 * pid_vnr() / pid_nr_ns(): a stored pid as seen from `viewer`'s pid namespace: the number at the
 * viewer's level when that level's namespace is the viewer's, else 0 (not visible). Never needs
 * the recorded task or its namespaces to be alive. Before 4.17 (profile.ipc.ipcPidsPerReader
 * false) the record held the recorder's own number (task_tgid_vnr(current)), shown to everyone.
 */
export function pidVnr(k: KernelCore, viewer: TaskState, stored: number): number {
  if (stored === 0) return 0;
  if (stored < 0) return -stored;
  const e = pidRegistry(k).get(stored);
  if (!k.profile.ipc.ipcPidsPerReader) {
    const pids = e?.pids ?? k.s.tasks.get(stored)?.pids;
    return pids ? pids[pids.length - 1]! : 0;
  }
  const view = k.s.pidns.get(viewer.pidns);
  if (!view) return 0;
  if (e === undefined) {
    // Recorded before the registry knew it (cannot happen through recordPid): a live task only.
    const t = k.s.tasks.get(stored);
    return t ? pidNrIn(k, t.pidns, t.pids, viewer.pidns) : 0;
  }
  const lvl = view.level;
  return lvl < e.pids.length && e.nss[lvl] === viewer.pidns ? e.pids[lvl]! : 0;
}

/** The reverse, for full-state IPC_SET: a pid number in the caller's namespace → a stored pid. */
export function pidFromUser(k: KernelCore, caller: TaskState, nr: number): number {
  const n = cInt(nr);
  if (n <= 0) return 0;
  const kid = k.s.pidns.get(caller.pidns)?.pids.get(n);
  if (kid !== undefined) return recordPid(k, kid);
  return -n;
}

// ---- sleepers (msg and sem wait channels) ----
// A wait channel's sleepers are in FIFO order (Linux's list_add_tail on q_receivers, q_senders,
// pending_alter…): the kernel keeps them in sleep order (`BlockState.seq`, see KernelCore.park),
// which is state, so the order survives a snapshot and a checkpoint.

/** Completes every sleeper of a channel with `code`, in FIFO order (IPC_RMID: EIDRM). */
export function completeAll(k: KernelCore, wchan: string, code: 'EIDRM'): void {
  if (!k.hasSleepers(wchan)) return;
  for (const kid of k.sleepers(wchan)) k.complete(kid, { ok: false, code });
}
