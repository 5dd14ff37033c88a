/**
 * SysV message queues (ipc/msg.c, ipc/msgutil.c).
 *
 * Design note. A queue keeps its messages in arrival order in an array indexed by arrival number
 * (`ring[seq - base]`: O(1) append, lookup and removal anywhere, which leaves a null), plus one FIFO
 * of arrival numbers per message type. Nulls at the front are skipped by a cursor and dropped in
 * batches; when nulls elsewhere dominate, the array is rebuilt and the messages renumbered
 * (amortised O(1) per message). Every removal takes the first message of its own type, so a receive by type
 * (`typ > 0`), of any type (`typ == 0`: the first message overall) or of the lowest type
 * (`typ < 0`: a walk over the distinct types, not the messages) never scans the queue; only
 * MSG_EXCEPT and MSG_COPY walk it, as Linux does.
 *
 * Blocking: a sender that does not fit sleeps on `msg:<ns>:<id>:s` and retries when a receive
 * wakes it (ss_wakeup); a receiver sleeps on `msg:<ns>:<id>:r` and is completed by the sender
 * that has a message for it (pipelined_send: the message goes straight to the first sleeping
 * receiver that wants it, in FIFO order; one too big for a receiver without MSG_NOERROR gets
 * E2BIG and the next receiver is tried). IPC_RMID completes every sleeper with EIDRM; IPC_SET
 * wakes them to retry (expunge_all(-EAGAIN)). Signals are the core's business (EINTR).
 *
 * Pids (lspid, lrpid) are stored as kids and read with pid_vnr (util.ts). Times are k.seconds.
 */
import { err } from '../../abi/errno.js';
import {
  CAP_SYS_RESOURCE, IPC_INFO, IPC_NOWAIT, IPC_RMID, IPC_SET, IPC_STAT, MSG_COPY, MSG_EXCEPT, MSG_INFO,
  MSG_NOERROR, MSG_STAT, MSG_STAT_ANY,
} from '../../abi/constants.js';
import type { KernelCore } from '../core.js';
import type { TaskState } from '../state.js';
import { block } from '../sched/block.js';
import { hasCap } from '../task/cred.js';
import { kidNrIn } from '../pid/pid.js';
import {
  INT_MAX, LONG_MAX, LONG_MIN, S_IRUGO, S_IWUGO, addId, cInt, cLong, cLong64, checkPerms, completeAll, ipcSetCommon, ipcget, maxIdxRet, newPerm, nsOf,
  obtainCheck, obtainForDown, obtainForStat, permDs, pidFromUser, pidVnr, recordPid, rmId,
  type IpcNs, type IpcPerm,
} from './util.js';
import type { CtlResult, Long, MsgBuf, MsgInfo, MsqidDs, MsqidDsIn } from '../../abi/ipc.js';

/** One message: its type (a C long, exactly: see Long) and its bytes (exactly `text.length` bytes, m_ts). */
export interface Msg {
  mtype: Long;
  text: Uint8Array;
}

/**
 * A FIFO of arrival numbers of one type: live entries are `seqs[head..tail)`. Slots past `tail` are
 * reused (no array length changes on the hot path); empty when `head === tail`.
 */
export interface TypeFifo {
  seqs: number[];
  head: number;
  tail: number;
}

/** struct msg_queue, as plain data. */
export interface MsgQueue {
  perm: IpcPerm;
  stime: number;
  rtime: number;
  ctime: number;
  cbytes: number;
  qnum: number;
  qbytes: number;
  /** Stored pids (see util.ts recordPid). */
  lspid: number;
  lrpid: number;
  /** Messages in arrival order: `ring[seq - base]` (null once received). */
  ring: (Msg | null)[];
  /** Arrival number of `ring[0]`. */
  base: number;
  /** mtype → FIFO of arrival numbers. An emptied FIFO is kept for reuse (see `emptyTypes`). */
  types: Map<Long, TypeFifo>;
  /** How many FIFOs of `types` are empty; they are swept when they are the majority. */
  emptyTypes: number;
  /** Index in `ring` of the first live message (every slot before it is null). */
  head: number;
  /** Wait channels of receivers and senders. */
  rwchan: string;
  swchan: string;
}

/**
 * What a sleeping msgrcv keeps in its BlockState's data: Linux's `struct msg_receiver` (r_mode,
 * r_msgtype, r_maxsize), which pipelined_send() matches an arriving message against, plus the
 * receiver's buffer size, since here the sender also does the receiver's copy-out (do_msg_fill).
 */
export interface MsgReceiver {
  /** SEARCH_* mode from convert_mode(). */
  mode: number;
  /** The type the mode compares with (after convert_mode). */
  type: Long;
  /** INT_MAX with MSG_NOERROR, else the buffer size: a longer message completes the call with E2BIG. */
  maxsize: number;
  /** The receiver's msgsz: how many bytes of the message it gets. */
  bufsz: number;
}

const enc = new TextEncoder();

// Search modes of find_msg (convert_mode).
const SEARCH_ANY = 1;
const SEARCH_EQUAL = 2;
const SEARCH_NOTEQUAL = 3;
const SEARCH_LESSEQUAL = 4;
const SEARCH_NUMBER = 5;

// ---- msgget ----

/** msgget(2) → ksys_msgget → ipcget with newque. */
export function msgget(k: KernelCore, t: TaskState, key: number, msgflg: number): number {
  const ns = nsOf(k, t);
  const kkey = cInt(key);
  const flg = cInt(msgflg);
  return ipcget(k, t, ns.msg, kkey, flg, { getnew: () => newque(k, t, ns, kkey, flg) });
}

/** newque(): a fresh queue; qbytes = msgmnb, times 0 but ctime. */
function newque(k: KernelCore, t: TaskState, ns: IpcNs, key: number, flg: number): number {
  const q: MsgQueue = {
    perm: newPerm(key, flg),
    stime: 0,
    rtime: 0,
    ctime: k.seconds,
    cbytes: 0,
    qnum: 0,
    qbytes: ns.msgCtlmnb,
    lspid: 0,
    lrpid: 0,
    ring: [],
    base: 0,
    types: NO_TYPES,
    emptyTypes: 0,
    head: 0,
    rwchan: '',
    swchan: '',
  };
  const id = addId(k, t, ns.msg, q, ns.msgCtlmni);
  q.rwchan = `msg:${ns.id}:${id}:r`;
  q.swchan = `msg:${ns.id}:${id}:s`;
  return id;
}

/**
 * The `types` of a queue that has never held a message: one shared empty Map, never written to,
 * replaced by the queue's own at its first message (typesOf). An idle queue then costs no Map of
 * its own (bench/suites/memory.ts: per message queue). A copy of the state (snapshot/fromState)
 * gives each queue its own empty Map, which is as good.
 */
const NO_TYPES: Map<Long, TypeFifo> = new Map();

/** The queue's own `types` Map, made on first use. */
function typesOf(q: MsgQueue): Map<Long, TypeFifo> {
  if (q.types === NO_TYPES) q.types = new Map();
  return q.types;
}

// ---- msgsnd ----

/**
 * msgsnd(2), do_msgsnd(). `msgsz` defaults to the length of `mtext`; a larger one reads past the
 * buffer (EFAULT), a negative one is a huge size_t (EINVAL).
 * Order: size > msgmax / negative / id < 0 → EINVAL; mtype < 1 → EINVAL; buffer → EFAULT; lookup;
 * then in the loop: EACCES, fit or EAGAIN / sleep.
 */
export function msgsnd(k: KernelCore, t: TaskState, msqid: number, mtype: Long, mtext: unknown, msgflg: number, msgsz?: number): number {
  const ns = nsOf(k, t);
  const id = cInt(msqid);
  const flg = cInt(msgflg);
  const type = cLong64(mtype);
  const bytesIn = mtext instanceof Uint8Array ? mtext : typeof mtext === 'string' ? enc.encode(mtext) : null;
  const sz = msgsz === undefined ? (bytesIn ? bytesIn.length : 0) : cLong(msgsz);
  if (sz > ns.msgCtlmax || sz < 0 || id < 0) throw err('EINVAL');
  if (type < 1) throw err('EINVAL');
  if (bytesIn === null || sz > bytesIn.length) throw err('EFAULT');
  const q = obtainCheck(k, ns.msg, id);
  checkPerms(k, t, q.perm, S_IWUGO);
  // msg_fits_inqueue().
  if (sz + q.cbytes > q.qbytes || 1 + q.qnum > q.qbytes) {
    if (flg & IPC_NOWAIT) throw err('EAGAIN');
    block(q.swchan);
  }
  // load_msg(): the kernel's own copy — always a plain Uint8Array (a Node Buffer's `slice` would be a
  // view of the caller's memory), without the species lookup of TypedArray#slice.
  const text = new Uint8Array(sz);
  text.set(sz === bytesIn.length ? bytesIn : bytesIn.subarray(0, sz));
  if (q.lspid !== t.tgid) q.lspid = recordPid(k, t.tgid);
  q.stime = k.seconds;
  if (k.hasSleepers(q.rwchan) && pipelinedSend(k, t, q, type, text)) return 0;
  const seq = q.base + q.ring.length;
  q.ring.push({ mtype: type, text });
  let fifo = q.types.get(type);
  if (fifo === undefined) typesOf(q).set(type, (fifo = { seqs: [], head: 0, tail: 0 }));
  else if (fifo.head === fifo.tail) q.emptyTypes--;
  fifo.seqs[fifo.tail++] = seq;
  q.cbytes += sz;
  q.qnum++;
  ns.msgBytes += sz;
  ns.msgHdrs++;
  return 0;
}

/** pipelined_send(): hands the message to the first sleeping receiver (in FIFO order) that wants it. */
function pipelinedSend(k: KernelCore, sender: TaskState, q: MsgQueue, type: Long, text: Uint8Array): boolean {
  for (const kid of k.sleepers(q.rwchan)) {
    const r = k.t(kid).blocked!.data as MsgReceiver;
    if (!testmsg(type, r.type, r.mode)) continue;
    if (r.maxsize < text.length) {
      k.complete(kid, { ok: false, code: 'E2BIG' });
      continue;
    }
    // Linux records the receiving *thread* here (task_pid), not its tgid. 2.6.26 stored
    // task_pid_vnr(receiver): its number as the *sender* sees it, kept as a raw number.
    q.lrpid = k.profile.ipc.ipcPidsPerReader ? recordPid(k, kid) : -kidNrIn(k, kid, sender.pidns);
    q.rtime = k.seconds;
    const mtext = r.bufsz < text.length ? text.slice(0, r.bufsz) : text;
    k.complete(kid, { ok: true, value: { mtype: type, mtext } satisfies MsgBuf });
    return true;
  }
  return false;
}

// ---- msgrcv ----

/**
 * convert_mode(). MSG_COPY exists only when the profile has it (3.8+); before, the bit is ignored.
 * `msgtyp < 0` selects types up to -msgtyp; -LONG_MIN is LONG_MAX in modern kernels (every type),
 * while 2.6.26 negated it in place, leaving LONG_MIN (no type matches).
 */
function convertMode(k: KernelCore, msgtyp: Long, flg: number): { mode: number; typ: Long } {
  if (flg & MSG_COPY && k.profile.ipc.msgCopy) return { mode: SEARCH_NUMBER, typ: msgtyp };
  if (msgtyp === 0) return { mode: SEARCH_ANY, typ: 0 };
  if (msgtyp < 0) {
    if (msgtyp === LONG_MIN) return { mode: SEARCH_LESSEQUAL, typ: k.profile.ipc.msgtypLongMinAsMax ? LONG_MAX : LONG_MIN };
    return { mode: SEARCH_LESSEQUAL, typ: -msgtyp };
  }
  if (flg & MSG_EXCEPT) return { mode: SEARCH_NOTEQUAL, typ: msgtyp };
  return { mode: SEARCH_EQUAL, typ: msgtyp };
}

/** testmsg(). Types are canonical Longs: `===` compares values, `<=` works across number and bigint. */
function testmsg(mtype: Long, typ: Long, mode: number): boolean {
  switch (mode) {
    case SEARCH_ANY:
    case SEARCH_NUMBER:
      return true;
    case SEARCH_LESSEQUAL:
      return mtype <= typ;
    case SEARCH_EQUAL:
      return mtype === typ;
    case SEARCH_NOTEQUAL:
      return mtype !== typ;
    default:
      return false;
  }
}

/** find_msg(): the arrival number of the selected message, or -1. */
function findMsg(q: MsgQueue, typ: Long, mode: number): number {
  switch (mode) {
    case SEARCH_ANY:
      return q.qnum === 0 ? -1 : q.base + q.head;
    case SEARCH_EQUAL: {
      const f = q.types.get(typ);
      return f !== undefined && f.head < f.tail ? f.seqs[f.head]! : -1;
    }
    case SEARCH_LESSEQUAL: {
      // The first message of the lowest type <= typ: a walk over the distinct types.
      let best: Long | null = null;
      for (const [mt, f] of q.types) if (mt <= typ && (best === null || mt < best) && f.head < f.tail) best = mt;
      if (best === null) return -1;
      const f = q.types.get(best)!;
      return f.seqs[f.head]!;
    }
    case SEARCH_NOTEQUAL: {
      for (let i = q.head; i < q.ring.length; i++) {
        const m = q.ring[i];
        if (m && m.mtype !== typ) return q.base + i;
      }
      return -1;
    }
    default: {
      // SEARCH_NUMBER (MSG_COPY): the typ-th message, 0-based.
      if (typ < 0 || typ >= q.qnum) return -1;
      // No received message left a hole after `head`: the typ-th live message is at head + typ.
      if (q.ring.length - q.head === q.qnum) return q.base + q.head + Number(typ);
      let n = 0;
      for (let i = q.head; i < q.ring.length; i++) {
        if (q.ring[i] && n++ === typ) return q.base + i;
      }
      return -1;
    }
  }
}

/** The queued messages in arrival order (for IPC_STAT-like readers and checkpointing). */
export function queuedMessages(q: MsgQueue): Msg[] {
  const out: Msg[] = [];
  for (let i = q.head; i < q.ring.length; i++) if (q.ring[i]) out.push(q.ring[i]!);
  return out;
}

/** Drops the null prefix, or renumbers when nulls dominate (the type FIFOs are rebuilt then). */
function compact(q: MsgQueue): void {
  const len = q.ring.length;
  if (q.head > 1024 && q.head * 2 > len) {
    q.ring = q.ring.slice(q.head);
    q.base += q.head;
    q.head = 0;
  } else if (len - q.head > 2 * q.qnum + 1024) {
    const live = queuedMessages(q);
    q.base += len;
    q.ring = live;
    q.head = 0;
    typesOf(q).clear();
    q.emptyTypes = 0;
    live.forEach((m, i) => {
      let f = q.types.get(m.mtype);
      if (f === undefined) q.types.set(m.mtype, (f = { seqs: [], head: 0, tail: 0 }));
      f.seqs[f.tail++] = q.base + i;
    });
  }
}

/** Unlinks message `seq` (always the first of its type). */
function unlink(q: MsgQueue, seq: number, m: Msg): void {
  const i = seq - q.base;
  q.ring[i] = null;
  if (i === q.head) {
    let h = i + 1;
    while (h < q.ring.length && q.ring[h] === null) h++;
    q.head = h;
  }
  const f = q.types.get(m.mtype)!;
  if (++f.head === f.tail) {
    // Empty: keep the FIFO for the next message of this type; sweep when empties dominate.
    f.head = f.tail = 0;
    if (++q.emptyTypes > 32 && q.emptyTypes * 2 > q.types.size) {
      for (const [mt, x] of q.types) if (x.head === x.tail) q.types.delete(mt);
      q.emptyTypes = 0;
    }
  } else if (f.head > 64 && f.head * 2 > f.tail) {
    f.seqs = f.seqs.slice(f.head, f.tail);
    f.tail -= f.head;
    f.head = 0;
  }
  if (q.head > 1024 || q.ring.length - q.head > 2 * q.qnum + 1024) compact(q);
}

/**
 * msgrcv(2), do_msgrcv(). Returns `{ mtype, mtext }` (mtext has the bytes copied: at most msgsz).
 * Order: id < 0 or negative size → EINVAL; MSG_COPY without IPC_NOWAIT or with MSG_EXCEPT →
 * EINVAL; lookup; EACCES; selection; E2BIG (message stays); MSG_COPY copies (EINVAL when the copy
 * buffer, min(msgsz, msgmax), is too small); else unlink; no match → ENOMSG or sleep.
 */
export function msgrcv(k: KernelCore, t: TaskState, msqid: number, msgsz: number, msgtyp: Long, msgflg: number): MsgBuf {
  const ns = nsOf(k, t);
  const id = cInt(msqid);
  const bufsz = cLong(msgsz);
  const flg = cInt(msgflg);
  const typIn = cLong64(msgtyp);
  if (id < 0 || bufsz < 0) throw err('EINVAL');
  const copy = (flg & MSG_COPY) !== 0 && k.profile.ipc.msgCopy;
  if (copy && (flg & MSG_EXCEPT || !(flg & IPC_NOWAIT))) throw err('EINVAL');
  const { mode, typ } = convertMode(k, typIn, flg);
  const q = obtainCheck(k, ns.msg, id);
  checkPerms(k, t, q.perm, S_IRUGO);
  const seq = findMsg(q, typ, mode);
  if (seq < 0) {
    if (flg & IPC_NOWAIT) throw err('ENOMSG');
    // do_msgrcv(): r_maxsize is INT_MAX with MSG_NOERROR, else bufsz.
    const receiver: MsgReceiver = { mode, type: typ, maxsize: flg & MSG_NOERROR ? INT_MAX : bufsz, bufsz };
    block(q.rwchan, null, receiver);
  }
  const m = q.ring[seq - q.base]!;
  const size = m.text.length;
  if (bufsz < size && !(flg & MSG_NOERROR)) throw err('E2BIG');
  if (copy) {
    // copy_msg(): the copy buffer holds min(bufsz, msgmax) bytes.
    if (size > Math.min(bufsz, ns.msgCtlmax)) throw err('EINVAL');
    return { mtype: m.mtype, mtext: m.text.slice(0, Math.min(bufsz, size)) };
  }
  unlink(q, seq, m);
  q.qnum--;
  q.cbytes -= size;
  q.rtime = k.seconds;
  if (q.lrpid !== t.tgid) q.lrpid = recordPid(k, t.tgid);
  ns.msgBytes -= size;
  ns.msgHdrs--;
  k.wake(q.swchan);
  return { mtype: m.mtype, mtext: bufsz < size ? m.text.subarray(0, bufsz) : m.text };
}

// ---- msgctl ----

function msqidDs(k: KernelCore, t: TaskState, q: MsgQueue): MsqidDs {
  return {
    msg_perm: permDs(q.perm),
    msg_stime: q.stime,
    msg_rtime: q.rtime,
    msg_ctime: q.ctime,
    msg_cbytes: q.cbytes,
    msg_qnum: q.qnum,
    msg_qbytes: q.qbytes,
    msg_lspid: pidVnr(k, t, q.lspid),
    msg_lrpid: pidVnr(k, t, q.lrpid),
  };
}

/** msgctl_info(). */
function msgInfo(k: KernelCore, ns: IpcNs, cmd: number): MsgInfo {
  const c = k.profile.ipc.msginfo;
  const full = cmd === MSG_INFO;
  return {
    msgpool: full ? ns.msg.inUse : c.msgpool,
    msgmap: full ? Math.min(ns.msgHdrs, 0x7fffffff) : c.msgmap,
    msgmax: ns.msgCtlmax,
    msgmnb: ns.msgCtlmnb,
    msgmni: ns.msgCtlmni,
    msgssz: c.msgssz,
    msgtql: full ? Math.min(ns.msgBytes, 0x7fffffff) : c.msgtql,
    msgseg: c.msgseg,
  };
}

/**
 * msgctl(2), ksys_msgctl(). Returns:
 * - IPC_STAT: the `MsqidDs` (the syscall returns 0);
 * - MSG_STAT, MSG_STAT_ANY (by index): `{ ret: full id, buf: MsqidDs }`;
 * - IPC_INFO, MSG_INFO: `{ ret: highest index in use (0 if none), buf: MsgInfo }`;
 * - IPC_SET, IPC_RMID: 0.
 * `id < 0` or `cmd < 0` → EINVAL first; unknown commands → EINVAL.
 */
export function msgctl(k: KernelCore, t: TaskState, msqid: number, cmd: number, buf?: MsqidDsIn): number | MsqidDs | CtlResult<MsqidDs> | CtlResult<MsgInfo> {
  const ns = nsOf(k, t);
  const id = cInt(msqid);
  const c = cInt(cmd);
  if (id < 0 || c < 0) throw err('EINVAL');
  switch (c) {
    case IPC_INFO:
    case MSG_INFO:
      return { ret: maxIdxRet(ns.msg), buf: msgInfo(k, ns, c) };
    case MSG_STAT:
    case MSG_STAT_ANY:
    case IPC_STAT: {
      const q = obtainForStat(k, t, ns.msg, id, c, MSG_STAT_ANY);
      const ds = msqidDs(k, t, q);
      return c === IPC_STAT ? ds : { ret: q.perm.id, buf: ds };
    }
    case IPC_SET:
      if (!buf || typeof buf !== 'object') throw err('EFAULT');
      return msgctlSet(k, t, ns, id, buf);
    case IPC_RMID: {
      const q = obtainForDown(k, t, ns.msg, id);
      freeque(k, ns, q);
      return 0;
    }
    default:
      throw err('EINVAL');
  }
}

function msgctlSet(k: KernelCore, t: TaskState, ns: IpcNs, id: number, buf: MsqidDsIn): number {
  const q = obtainForDown(k, t, ns.msg, id);
  const qbytes = buf.msg_qbytes ?? 0;
  if (!Number.isInteger(qbytes) || qbytes < 0) throw err('EINVAL');
  if (qbytes > ns.msgCtlmnb && !hasCap(k, t, CAP_SYS_RESOURCE)) throw err('EPERM');
  ipcSetCommon(k, t, q, buf.msg_perm, () => {
    q.stime = cLong(buf.msg_stime ?? 0);
    q.rtime = cLong(buf.msg_rtime ?? 0);
    q.ctime = cLong(buf.msg_ctime ?? 0);
    q.lspid = pidFromUser(k, t, buf.msg_lspid ?? 0);
    q.lrpid = pidFromUser(k, t, buf.msg_lrpid ?? 0);
  });
  q.qbytes = qbytes;
  // Receivers may be excluded by stricter permissions, senders may fit now: both retry.
  k.wake(q.rwchan);
  k.wake(q.swchan);
  return 0;
}

/** freeque(): sleepers get EIDRM, messages are freed, the id is released. */
function freeque(k: KernelCore, ns: IpcNs, q: MsgQueue): void {
  completeAll(k, q.rwchan, 'EIDRM');
  completeAll(k, q.swchan, 'EIDRM');
  rmId(ns.msg, q);
  ns.msgHdrs -= q.qnum;
  ns.msgBytes -= q.cbytes;
  // The queue object is unreachable now: its messages go with it.
}

/** Frees every queue of a namespace that is going away. */
export function freeAllQueues(k: KernelCore, ns: IpcNs): void {
  for (const q of [...ns.msg.objs.values()]) freeque(k, ns, q);
}
