/**
 * SysV semaphores (ipc/sem.c).
 *
 * Design note. A set keeps its values and sempids as arrays. A semop is applied all or nothing, in
 * array order, with rollback (perform_atomic_semop_slow, which is what the fast path amounts to):
 * the first op that would block decides between EAGAIN (that op has IPC_NOWAIT) and sleeping;
 * a value above SEMVMX or an adjustment outside [-(SEMAEM+1), SEMAEM] is ERANGE, unless an earlier
 * op already blocked.
 *
 * Sleeping and fairness: a blocked semop parks on `sem:<ns>:<id>` with its FIFO position and the
 * index of the op that blocked (`q->blocking`, what GETNCNT/GETZCNT count). Whoever changes values
 * (an altering semop, SETVAL, SETALL, an exiting process's undo) runs update_queue: the sleepers
 * are retried in FIFO order and *completed by the waker* (success or ERANGE), restarting after
 * each success that altered values, so an earlier sleeper is never overtaken by a later one. A
 * sleeper re-invoked after its semtimedop deadline gets EAGAIN. IPC_RMID completes every sleeper
 * with EIDRM; a signal is the core's business (EINTR).
 *
 * SEM_UNDO: one undo list per process (`ProcState.semUndo`, shared through CLONE_SYSVSEM), holding
 * one adjustment array per set; the lists live in `k.s.ipc.semUndo`, and each set remembers which
 * lists have an entry for it (sma->list_id), so SETVAL/SETALL clear them and IPC_RMID drops them
 * without a global scan. At the last exit (exit_sem) each adjustment is added with the value
 * clamped to [0, SEMVMX], sempid set to the exiting tgid, otime set, and sleepers are woken.
 */
import { err } from '../../abi/errno.js';
import {
  GETALL, GETNCNT, GETPID, GETVAL, GETZCNT, IPC_INFO, IPC_NOWAIT, IPC_RMID, IPC_SET, IPC_STAT, SEM_INFO, SEM_STAT,
  SEM_STAT_ANY, SEM_UNDO, SEMAEM, SEMVMX, SETALL, SETVAL,
} from '../../abi/constants.js';
import type { CtlResult, Sembuf, SemidDs, SemidDsIn, SemInfo } from '../../abi/ipc.js';
import type { KernelCore } from '../core.js';
import type { ProcState, TaskState } from '../state.js';
import { block } from '../sched/block.js';
import {
  S_IRUGO, S_IWUGO, addId, cInt, cLong, checkPerms, completeAll, findById, ipcSetCommon, ipcget, maxIdxRet, newPerm, nsOf,
  obtainCheck, obtainForDown, obtainForStat, permDs, pidVnr, recordPid, rmId,
  type IpcNs, type IpcPerm,
} from './util.js';

/** struct sem_array, as plain data. */
export interface SemArray {
  perm: IpcPerm;
  /** The IPC namespace id (undo entries are keyed by namespace and id). */
  ns: number;
  otime: number;
  ctime: number;
  nsems: number;
  vals: number[];
  /** Stored pids (util.ts recordPid) of the last process to operate on each semaphore. */
  pids: number[];
  /** Undo lists that have an entry for this set (sma->list_id). */
  undos: Set<number>;
  wchan: string;
}

/**
 * The `undos` of a set no SEM_UNDO list has touched: one shared empty Set, never written to,
 * replaced by the set's own at the first undo entry (undosOf). A set then costs no Set of its own
 * until SEM_UNDO is used on it; a copy of the state gives each set its own empty Set.
 */
const NO_UNDOS: Set<number> = new Set();

/** The set's own `undos` Set, made on first use. */
export function undosOf(sma: SemArray): Set<number> {
  if (sma.undos === NO_UNDOS) sma.undos = new Set();
  return sma.undos;
}

/** A semtimedop timeout. */
export interface Timespec {
  tv_sec: number;
  tv_nsec: number;
}

/** One set's adjustments in an undo list (struct sem_undo). */
export interface SemUndoEntry {
  ns: number;
  semid: number;
  adj: number[];
}

/** struct sem_undo_list: shared by the processes of a CLONE_SYSVSEM group. */
export interface SemUndoList {
  id: number;
  refs: number;
  /** `${ns}:${semid}` → entry. */
  entries: Map<string, SemUndoEntry>;
}

/** What a sleeping semop keeps in its BlockState. */
interface SemWait {
  /** Index of the op that blocked (q->blocking). */
  blocking: number;
}

/** Every undo list of the kernel by id, kept in `k.s.ipc.semUndo` (plain data). */
export function undoLists(k: KernelCore): Map<number, SemUndoList> {
  return k.s.ipc.semUndo;
}

// ---- semget ----

/** semget(2): `nsems < 0 || nsems > semmsl` → EINVAL before the key lookup. */
export function semget(k: KernelCore, t: TaskState, key: number, nsems: number, semflg: number): number {
  const ns = nsOf(k, t);
  const kkey = cInt(key);
  const n = cInt(nsems);
  const flg = cInt(semflg);
  if (n < 0 || n > ns.semCtls[0]) throw err('EINVAL');
  return ipcget<SemArray>(k, t, ns.sem, kkey, flg, {
    getnew: () => newary(k, t, ns, kkey, n, flg),
    moreChecks: (sma) => {
      if (n > sma.nsems) throw err('EINVAL');
    },
  });
}

/** newary(): nsems 0 → EINVAL; over semmns → ENOSPC; then ipc_addid with semmni. */
function newary(k: KernelCore, t: TaskState, ns: IpcNs, key: number, nsems: number, flg: number): number {
  if (nsems === 0) throw err('EINVAL');
  if (ns.usedSems + nsems > ns.semCtls[1]) throw err('ENOSPC');
  const sma: SemArray = {
    perm: newPerm(key, flg),
    ns: ns.id,
    otime: 0,
    ctime: k.seconds,
    nsems,
    vals: new Array<number>(nsems).fill(0),
    pids: new Array<number>(nsems).fill(0),
    undos: NO_UNDOS,
    wchan: '',
  };
  const id = addId(k, t, ns.sem, sma, ns.semCtls[3]);
  sma.wchan = `sem:${ns.id}:${id}`;
  ns.usedSems += nsems;
  return id;
}

// ---- undo lists ----

/** get_undo_list(): the process's list, allocated on first use. */
export function undoListOf(k: KernelCore, proc: ProcState): SemUndoList {
  const lists = undoLists(k);
  let l = proc.semUndo ? lists.get(proc.semUndo) : undefined;
  if (!l) {
    l = { id: k.newId(), refs: 1, entries: new Map() };
    lists.set(l.id, l);
    proc.semUndo = l.id;
  }
  return l;
}

/** find_alloc_undo(): the entry of `sma` in the caller's list (created with zero adjustments). */
function findAllocUndo(k: KernelCore, t: TaskState, ns: IpcNs, sma: SemArray): SemUndoEntry {
  const list = undoListOf(k, k.proc(t.tgid));
  const key = `${ns.id}:${sma.perm.id}`;
  let e = list.entries.get(key);
  if (!e) {
    e = { ns: ns.id, semid: sma.perm.id, adj: new Array<number>(sma.nsems).fill(0) };
    list.entries.set(key, e);
    undosOf(sma).add(list.id);
  }
  return e;
}

/** copy_semundo(): CLONE_SYSVSEM shares the parent's list; otherwise the child starts without one. */
export function forkSemUndo(k: KernelCore, parent: ProcState, child: ProcState, share: boolean): void {
  if (!share) {
    child.semUndo = 0;
    return;
  }
  const l = undoListOf(k, parent);
  l.refs++;
  child.semUndo = l.id;
}

/** exit_sem(): drops the process's reference; the last one applies every adjustment. */
export function exitSem(k: KernelCore, proc: ProcState): void {
  if (!proc.semUndo) return;
  const lists = undoLists(k);
  const list = lists.get(proc.semUndo);
  proc.semUndo = 0;
  if (!list || --list.refs > 0) return;
  lists.delete(list.id);
  const pid = recordPid(k, proc.tgid);
  for (const e of list.entries.values()) {
    const ns = k.s.ipcns.get(e.ns);
    const sma = ns && findById(ns.sem, e.semid);
    if (!ns || !sma) continue;
    sma.undos.delete(list.id);
    for (let i = 0; i < sma.nsems; i++) {
      const a = e.adj[i]!;
      if (a === 0) continue;
      let v = sma.vals[i]! + a;
      if (v < 0) v = 0;
      if (v > SEMVMX) v = SEMVMX;
      sma.vals[i] = v;
      sma.pids[i] = pid;
    }
    // Both profiles set otime here, adjustments or not (2.6.26 `sem_otime = get_seconds()`;
    // modern do_smart_update(sma, NULL, 0, 1, …)), then retry the sleepers.
    sma.otime = k.seconds;
    updateQueue(k, ns, sma);
  }
}

// ---- semop ----

const OK = -1;
const RANGE = -2;

/**
 * perform_atomic_semop(_slow)(): applies `sops` in order, rolling back on failure. Returns OK, RANGE
 * or the index of the op that would block. On success every touched semaphore gets `tgid` as sempid.
 */
function tryAtomic(k: KernelCore, sma: SemArray, sops: readonly Sembuf[], adj: number[] | null, tgid: number): number {
  const vals = sma.vals;
  const n = sops.length;
  let i = 0;
  let result = OK;
  for (; i < n; i++) {
    const s = sops[i]!;
    const num = s.sem_num;
    const op = s.sem_op;
    const v = vals[num]!;
    if (op === 0) {
      if (v !== 0) {
        result = i;
        break;
      }
      continue;
    }
    const r = v + op;
    if (r < 0) {
      result = i;
      break;
    }
    if (r > SEMVMX) {
      result = RANGE;
      break;
    }
    if (s.sem_flg & SEM_UNDO) {
      const u = adj![num]! - op;
      if (u < -SEMAEM - 1 || u > SEMAEM) {
        result = RANGE;
        break;
      }
      adj![num] = u;
    }
    vals[num] = r;
  }
  if (result === OK) {
    // The pid is recorded only on success: a refused call leaves the pid registry alone.
    const pid = recordPid(k, tgid);
    for (let j = 0; j < n; j++) sma.pids[sops[j]!.sem_num] = pid;
    return OK;
  }
  for (let j = i - 1; j >= 0; j--) {
    const s = sops[j]!;
    vals[s.sem_num] = vals[s.sem_num]! - s.sem_op;
    if (s.sem_flg & SEM_UNDO && s.sem_op !== 0) adj![s.sem_num] = adj![s.sem_num]! + s.sem_op;
  }
  return result;
}

/** Casts a user sembuf array like C does (unsigned short, short, short). EFAULT for garbage. */
function readSops(sops: unknown): Sembuf[] {
  if (!Array.isArray(sops)) throw err('EFAULT');
  const out: Sembuf[] = new Array(sops.length);
  for (let i = 0; i < sops.length; i++) {
    const s = sops[i] as Partial<Sembuf> | null;
    if (!s || typeof s !== 'object' || typeof s.sem_num !== 'number' || typeof s.sem_op !== 'number') throw err('EFAULT');
    // A missing sem_flg is 0; anything but a number there is garbage, never silently 0.
    if (s.sem_flg !== undefined && typeof s.sem_flg !== 'number') throw err('EFAULT', `sops[${i}].sem_flg is not a number`);
    const flg = s.sem_flg ?? 0;
    out[i] = { sem_num: s.sem_num & 0xffff, sem_op: (s.sem_op << 16) >> 16, sem_flg: (flg << 16) >> 16 };
  }
  return out;
}

function anyAlter(sops: readonly Sembuf[]): boolean {
  for (const s of sops) if (s.sem_op !== 0) return true;
  return false;
}

function anyUndo(sops: readonly Sembuf[]): boolean {
  for (const s of sops) if (s.sem_flg & SEM_UNDO) return true;
  return false;
}

/** semop(2) = semtimedop without a timeout. */
export function semop(k: KernelCore, t: TaskState, semid: number, sops: unknown): number {
  return semtimedop(k, t, semid, sops, null);
}

/**
 * semtimedop(2), do_semtimedop(). Order: nsops < 1 or id < 0 → EINVAL; nsops > semopm → E2BIG;
 * sops → EFAULT; bad timeout → EINVAL; lookup (also for the undo entry); max sem_num >= nsems →
 * EFBIG; EACCES (write if any op alters, else read); then the atomic attempt.
 */
export function semtimedop(k: KernelCore, t: TaskState, semid: number, sopsIn: unknown, timeout: Timespec | null | undefined): number {
  const ns = nsOf(k, t);
  const id = cInt(semid);
  const nsops = Array.isArray(sopsIn) ? sopsIn.length : -1;
  if (nsops === -1) throw err('EFAULT');
  if (nsops < 1 || id < 0) throw err('EINVAL');
  if (nsops > ns.semCtls[2]) throw err('E2BIG');
  const sops = readSops(sopsIn);
  let timeoutNs: number | null = null;
  if (timeout !== null && timeout !== undefined) {
    if (typeof timeout !== 'object' || typeof timeout.tv_sec !== 'number' || typeof timeout.tv_nsec !== 'number') throw err('EFAULT');
    if (timeout.tv_sec < 0 || timeout.tv_nsec < 0 || timeout.tv_nsec >= 1e9) throw err('EINVAL');
    timeoutNs = timeout.tv_sec * 1e9 + timeout.tv_nsec;
  }
  // One pass, as do_semtimedop: the largest sem_num, whether any op alters, whether any wants undo.
  let max = 0;
  let alter = false;
  let undos = false;
  for (const s of sops) {
    if (s.sem_num >= max) max = s.sem_num;
    if (s.sem_op !== 0) alter = true;
    if (s.sem_flg & SEM_UNDO) undos = true;
  }
  const sma = obtainCheck(k, ns.sem, id);
  if (max >= sma.nsems) throw err('EFBIG');
  checkPerms(k, t, sma.perm, alter ? S_IWUGO : S_IRUGO);
  const deadline = k.resuming ? k.resuming.deadlineNs : timeoutNs === null ? null : k.now + timeoutNs;
  if (k.resuming && deadline !== null && k.now >= deadline) throw err('EAGAIN');
  const adj = undos ? findAllocUndo(k, t, ns, sma).adj : null;
  const r = tryAtomic(k, sma, sops, adj, t.tgid);
  if (r === OK) {
    sma.otime = k.seconds;
    if (alter) updateQueue(k, ns, sma);
    return 0;
  }
  if (r === RANGE) throw err('ERANGE');
  if (sops[r]!.sem_flg & IPC_NOWAIT) throw err('EAGAIN');
  const wait: SemWait = { blocking: r };
  block(sma.wchan, deadline, wait);
}

/**
 * update_queue(): retries the sleepers in FIFO order; completes those that now succeed (or fail
 * with ERANGE), restarting after each success that altered values.
 */
function updateQueue(k: KernelCore, ns: IpcNs, sma: SemArray): void {
  if (!k.hasSleepers(sma.wchan)) return;
  for (let restart = true; restart; ) {
    restart = false;
    for (const kid of k.sleepers(sma.wchan)) {
      const w = k.t(kid);
      const b = w.blocked!;
      const sops = readSops(b.call.args[1]);
      const adj = anyUndo(sops) ? findAllocUndo(k, w, ns, sma).adj : null;
      const r = tryAtomic(k, sma, sops, adj, w.tgid);
      if (r >= 0) {
        (b.data as SemWait).blocking = r;
        continue;
      }
      if (r === RANGE) {
        k.complete(kid, { ok: false, code: 'ERANGE' });
        continue;
      }
      sma.otime = k.seconds;
      k.complete(kid, { ok: true, value: 0 });
      if (anyAlter(sops)) {
        restart = true;
        break;
      }
    }
  }
}

/** count_semcnt(): sleepers whose blocking op is a decrement (ncnt) or a wait-for-zero (zcnt) on `num`. */
function countSemcnt(k: KernelCore, sma: SemArray, num: number, zero: boolean): number {
  let n = 0;
  for (const kid of k.sleepers(sma.wchan)) {
    const b = k.t(kid).blocked!;
    const sops = readSops(b.call.args[1]);
    if (k.profile.ipc.semcntAllOps) {
      // 2.6.26 count_semncnt/count_semzcnt: every op of the sleeper on `num` without IPC_NOWAIT.
      for (const s of sops) {
        if (s.sem_num === num && !(s.sem_flg & IPC_NOWAIT) && (zero ? s.sem_op === 0 : s.sem_op < 0)) n++;
      }
      continue;
    }
    const s = sops[(b.data as SemWait).blocking]!;
    if (s.sem_num === num && (zero ? s.sem_op === 0 : s.sem_op < 0)) n++;
  }
  return n;
}

// ---- semctl ----

function semidDs(sma: SemArray): SemidDs {
  return { sem_perm: permDs(sma.perm), sem_otime: sma.otime, sem_ctime: sma.ctime, sem_nsems: sma.nsems };
}

function semInfo(k: KernelCore, ns: IpcNs, cmd: number): SemInfo {
  const c = k.profile.ipc.seminfo;
  const full = cmd === SEM_INFO;
  return {
    semmap: c.semmap,
    semmni: ns.semCtls[3],
    semmns: ns.semCtls[1],
    semmnu: c.semmnu,
    semmsl: ns.semCtls[0],
    semopm: ns.semCtls[2],
    semume: c.semume,
    semusz: full ? ns.sem.inUse : c.semusz,
    semvmx: SEMVMX,
    semaem: full ? ns.usedSems : SEMAEM,
  };
}

/**
 * semctl(2), ksys_semctl(). Returns:
 * - GETVAL, GETPID, GETNCNT, GETZCNT: the number; GETALL: the values (an array of nsems numbers);
 * - IPC_STAT: the `SemidDs`; SEM_STAT, SEM_STAT_ANY (by index): `{ ret: full id, buf }`;
 * - IPC_INFO, SEM_INFO: `{ ret: highest index in use (0 if none), buf: SemInfo }`;
 * - SETVAL (arg: the value), SETALL (arg: at least nsems values), IPC_SET (arg: a SemidDsIn),
 *   IPC_RMID: 0.
 */
export function semctl(k: KernelCore, t: TaskState, semid: number, semnum: number, cmd: number, arg?: unknown): number | number[] | SemidDs | CtlResult<SemidDs> | CtlResult<SemInfo> {
  const ns = nsOf(k, t);
  const id = cInt(semid);
  const num = cInt(semnum);
  const c = cInt(cmd);
  if (id < 0) throw err('EINVAL');
  switch (c) {
    case IPC_INFO:
    case SEM_INFO:
      return { ret: maxIdxRet(ns.sem), buf: semInfo(k, ns, c) };
    case IPC_STAT:
    case SEM_STAT:
    case SEM_STAT_ANY: {
      const sma = obtainForStat(k, t, ns.sem, id, c, SEM_STAT_ANY);
      return c === IPC_STAT ? semidDs(sma) : { ret: sma.perm.id, buf: semidDs(sma) };
    }
    case GETALL:
    case GETVAL:
    case GETPID:
    case GETNCNT:
    case GETZCNT:
    case SETALL:
      return semctlMain(k, t, ns, id, num, c, arg);
    case SETVAL:
      return semctlSetval(k, t, ns, id, num, cInt(arg ?? 0));
    case IPC_SET: {
      if (!arg || typeof arg !== 'object') throw err('EFAULT');
      const buf = arg as SemidDsIn;
      const sma = obtainForDown(k, t, ns.sem, id);
      ipcSetCommon(k, t, sma, buf.sem_perm, () => {
        sma.ctime = cLong(buf.sem_ctime ?? 0);
        sma.otime = cLong(buf.sem_otime ?? 0);
      });
      return 0;
    }
    case IPC_RMID:
      freeary(k, ns, obtainForDown(k, t, ns.sem, id));
      return 0;
    default:
      throw err('EINVAL');
  }
}

/** semctl_main(): lookup, EACCES, then GETALL/SETALL, then the semnum range (EINVAL), then GET*. */
function semctlMain(k: KernelCore, t: TaskState, ns: IpcNs, id: number, num: number, cmd: number, arg: unknown): number | number[] {
  const sma = obtainCheck(k, ns.sem, id);
  checkPerms(k, t, sma.perm, cmd === SETALL ? S_IWUGO : S_IRUGO);
  if (cmd === GETALL) return sma.vals.slice();
  if (cmd === SETALL) {
    if (!Array.isArray(arg) || arg.length < sma.nsems) throw err('EFAULT');
    const vals = new Array<number>(sma.nsems);
    for (let i = 0; i < sma.nsems; i++) {
      const v = arg[i];
      if (typeof v !== 'number' || !Number.isInteger(v)) throw err('EFAULT');
      // The array is unsigned short: values are taken modulo 65536, then checked against SEMVMX.
      vals[i] = v & 0xffff;
      if (vals[i]! > SEMVMX) throw err('ERANGE');
    }
    const pid = recordPid(k, t.tgid);
    for (let i = 0; i < sma.nsems; i++) {
      sma.vals[i] = vals[i]!;
      if (k.profile.ipc.setallSetsSempid) sma.pids[i] = pid;
    }
    clearAdjustments(k, sma, -1);
    sma.ctime = k.seconds;
    updateQueue(k, ns, sma);
    return 0;
  }
  if (num < 0 || num >= sma.nsems) throw err('EINVAL');
  switch (cmd) {
    case GETVAL:
      return sma.vals[num]!;
    case GETPID:
      return pidVnr(k, t, sma.pids[num]!);
    case GETNCNT:
      return countSemcnt(k, sma, num, false);
    default:
      return countSemcnt(k, sma, num, true);
  }
}

/** semctl_setval() (modern: ERANGE first) / 2.6.26 semctl_main SETVAL (ERANGE last). */
function semctlSetval(k: KernelCore, t: TaskState, ns: IpcNs, id: number, num: number, val: number): number {
  const rangeFirst = k.profile.ipc.setvalRangeFirst;
  if (rangeFirst && (val > SEMVMX || val < 0)) throw err('ERANGE');
  const sma = obtainCheck(k, ns.sem, id);
  if (rangeFirst) {
    if (num < 0 || num >= sma.nsems) throw err('EINVAL');
    checkPerms(k, t, sma.perm, S_IWUGO);
  } else {
    checkPerms(k, t, sma.perm, S_IWUGO);
    if (num < 0 || num >= sma.nsems) throw err('EINVAL');
    if (val > SEMVMX || val < 0) throw err('ERANGE');
  }
  clearAdjustments(k, sma, num);
  sma.vals[num] = val;
  sma.pids[num] = recordPid(k, t.tgid);
  sma.ctime = k.seconds;
  updateQueue(k, ns, sma);
  return 0;
}

/** Clears semadj[num] (or every semadj, num < 0) in every undo entry of the set. */
function clearAdjustments(k: KernelCore, sma: SemArray, num: number): void {
  if (sma.undos.size === 0) return;
  const lists = undoLists(k);
  const key = `${sma.ns}:${sma.perm.id}`;
  for (const lid of sma.undos) {
    const e = lists.get(lid)?.entries.get(key);
    if (!e) continue;
    if (num < 0) e.adj.fill(0);
    else e.adj[num] = 0;
  }
}

/** freeary(): sleepers get EIDRM, undo entries are dropped, the id is released. */
function freeary(k: KernelCore, ns: IpcNs, sma: SemArray): void {
  completeAll(k, sma.wchan, 'EIDRM');
  const lists = undoLists(k);
  const key = `${ns.id}:${sma.perm.id}`;
  for (const lid of sma.undos) lists.get(lid)?.entries.delete(key);
  sma.undos.clear();
  rmId(ns.sem, sma);
  ns.usedSems -= sma.nsems;
}

/** Frees every set of a namespace that is going away. */
export function freeAllSets(k: KernelCore, ns: IpcNs): void {
  for (const sma of [...ns.sem.objs.values()]) freeary(k, ns, sma);
}
