/**
 * Design note: the SysV IPC namespace in a checkpoint (criu/ipc_ns.c's job).
 *
 * Images (CRIU's, so `crit` and CRIU read them): ipcns-var-1.img (limits, *_next_id),
 * ipcns-msg-1.img (queues + their messages in order), ipcns-sem-1.img (sets + values),
 * ipcns-shm-1.img (segments, in_pagemaps) + pagemap-shmem-<id>.img + pages-<n>.img (contents).
 * What CRIU has no field for goes to nsd-extra-1.img: every time, every last pid, per-semaphore
 * sempid, SHM_DEST/SHM_LOCKED, each process's SEM_UNDO adjustments, the allocator cursors.
 *
 * Restore, by the container's init in its new IPC namespace: limits through the sysctls; each
 * object created at its id by the strategy (as its creator's euid/egid, so cuid/cgid are right);
 * messages refilled with msgsnd, values with SETALL, contents written through an attachment.
 * Late (after the tree, files and memory exist): sempid by SETVAL from the process that last
 * operated, SEM_UNDO lists through /proc/<pid>/semundo, SHM_DEST by IPC_RMID once attached, then
 * the full-state IPC_SET last (nsd: `LONG1 1`; with-id: ipc_set_all; mainline cannot: each field
 * it loses is reported), then *_next_id and the allocator cursors.
 */
import {
  IPC_CREAT, IPC_EXCL, IPC_RMID, IPC_SET, PAGE_SIZE, SETALL, SETVAL, SHM_DEST, SHM_LOCK, SHM_LOCKED, SHM_RDONLY,
} from '../abi/constants.js';
import type { Kernel } from '../syscalls/scheduler.js';
import type { Sys } from '../syscalls/sys.js';
import { writeMemory } from '../kernel/mm/mm.js';
import * as restorer from './restorer.js';
import { storeRuns, type PageRuns } from '../kernel/mm/pages.js';
import { readShmemChain } from './shm-rounds.js';
import type { Long } from '../abi/ipc.js';
import { canonLong, findById, IPCMNI, LONG_MAX, pidVnr, type IpcNs } from '../kernel/ipc/util.js';
import { PID_MAX_LIMIT } from '../kernel/profile.js';
import { readSemUndo } from '../kernel/ipc/semundo.js';
import { queuedMessages } from '../kernel/ipc/msg.js';
import {
  ImageError, isZero, readImage, wrapDecode, readNsdExtra, writeIpcNsImages, writeNsdExtra,
  type IpcVarEntry, type NsdExtraEntry, type IpcDescEntry,
} from './image/index.js';
import { decodePlain, encodePlain } from './plain.js';
import { CrError } from './errors.js';
import { checkSchema, describeSchemaError, int, list, obj, str, type Schema } from './schema.js';
import { readProcFile, writeProcFile, type IpcKind, type Strategy } from './strategy.js';
import type { CrReportLine } from './model.js';

export const IPC_NS_IMAGE_ID = 1;

/** What the dump engine (dump.ts) gives `dumpIpc`. */
export interface IpcDumpContext {
  /** Container tid of a kid (0 if outside the tree). */
  ctid(kid: number): number;
  procKids: number[];
  report: CrReportLine[];
  /** Shm contents may be views of the segments' pages, not copies (DumpOptions.zeroCopy, when safe). */
  share?: boolean;
  /** The contents are written afterwards as a pre-dump round (src/cr/shm-rounds.ts): do not read them here. */
  shmRound?: boolean;
}

/** What the restore engines (restore.ts, ipc-only.ts) give `restoreIpcObjects`/`restoreIpcLate`. */
export interface IpcRestoreContext {
  kernel: Kernel;
  strategy: Strategy;
  /** The container's init, in the new IPC namespace: it creates the objects. */
  sys: Sys;
  /** Handle of a restored process by container pid (undefined if it is not alive). */
  procSys(pid: number): Sys | undefined;
  /** Runs one named, failure-injectable step. */
  step<T>(name: string, object: string, fn: () => T): T;
  report: CrReportLine[];
  /**
   * No processes are restored (`--ipc-only`): `sys` is the namespace's holder task, and it attaches
   * what must stay attached to exist (SHM_DEST segments).
   */
  ipcOnly?: boolean;
  /** The images are handed over (RestoreOptions.adoptImages): a segment may take its contents as its pages, uncopied. */
  adopt?: boolean;
}

export interface CkMsg {
  desc: IpcDescEntry;
  qbytes: number;
  /** Types are C longs, carried exactly (a bigint beyond the safe-integer range). */
  messages: { mtype: Long; text: Uint8Array }[];
  stime: number;
  rtime: number;
  ctime: number;
  lspid: number;
  lrpid: number;
}

export interface CkSem {
  desc: IpcDescEntry;
  values: number[];
  otime: number;
  ctime: number;
  pids: number[];
}

export interface CkShm {
  desc: IpcDescEntry;
  size: number;
  data: Uint8Array;
  /** A dump's form of the contents (then `data` is empty): the segment's non-zero pages (storeRuns). */
  runs?: PageRuns;
  atime: number;
  dtime: number;
  ctime: number;
  cpid: number;
  lpid: number;
}

export interface CkCursors {
  seq: number;
  lastIdx: number;
  cursor: number;
}

export interface CkIpcNs {
  var: IpcVarEntry;
  msg: CkMsg[];
  sem: CkSem[];
  shm: CkShm[];
  /** Container pid → its SEM_UNDO lines (the /proc/<pid>/semundo format). */
  undo: [number, string][];
  cursors: Record<IpcKind, CkCursors>;
  /** Present when read from a CRIU dump: fields that are not in the images. */
  criuOnly?: boolean;
}

function desc(perm: { key: number; uid: number; gid: number; cuid: number; cgid: number; mode: number; id: number }): IpcDescEntry {
  return { key: perm.key >>> 0, uid: perm.uid, gid: perm.gid, cuid: perm.cuid, cgid: perm.cgid, mode: perm.mode, id: perm.id };
}

// ---- dump ----

/** Reads IPC namespace `ipcnsId` as checkpoint data (called by dump.ts for a tree with its own IPC namespace). */
export function dumpIpc(k: Kernel, ipcnsId: number, ctx: IpcDumpContext): CkIpcNs {
  const ns = k.ipcNs(ipcnsId) as IpcNs;
  const viewer = k.t(ctx.procKids[0]!);
  const pid = (stored: number): number => pidVnr(k, viewer, stored);
  const byIdx = <T>(m: Map<number, T>): T[] => [...m.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  const nextId = (v: number): number | undefined => (v >= 0 ? v : undefined);
  // The fs/mqueue limits in force: the namespace's, or the global ones (2.6.26). auto_msgmni reads 0
  // (a dummy since 3.19; absent, i.e. no scaling, in 2.6.26); shm_rmid_forced is 0 where absent.
  const mq = k.ipcNs(k.profile.ipc.mqueuePerNs ? ipcnsId : k.s.rootIpcNs) as IpcNs;
  const v: IpcVarEntry = {
    sem_ctls: [...ns.semCtls],
    msg_ctlmax: ns.msgCtlmax, msg_ctlmnb: ns.msgCtlmnb, msg_ctlmni: ns.msgCtlmni, auto_msgmni: 0,
    shm_ctlmax: ns.shmCtlmax, shm_ctlall: ns.shmCtlall, shm_ctlmni: ns.shmCtlmni, shm_rmid_forced: ns.shmRmidForced,
    mq_queues_max: mq.mqQueuesMax >>> 0, mq_msg_max: mq.mqMsgMax, mq_msgsize_max: mq.mqMsgsizeMax,
    ...(k.profile.ipc.mqDefaults ? { mq_msg_default: mq.mqMsgDefault, mq_msgsize_default: mq.mqMsgsizeDefault } : {}),
  };
  for (const kind of ['msg', 'sem', 'shm'] as const) {
    const n = nextId(ns[kind].nextId);
    if (n !== undefined) v[`${kind}_next_id`] = n;
  }
  const undo: [number, string][] = [];
  for (const kid of ctx.procKids) {
    // Every process gets an entry (the reader requires one per process): "" for a zombie (exit_sem
    // dropped its list) or a process without adjustments.
    const p = k.proc(kid);
    undo.push([ctx.ctid(kid), p.semUndo && k.t(kid).state !== 'zombie' ? readSemUndo(k, p, ipcnsId) : '']);
  }
  const ck: CkIpcNs = {
    var: v,
    msg: byIdx(ns.msg.objs).map((q) => ({
      desc: desc(q.perm), qbytes: q.qbytes,
      // No copy: the kernel never changes a queued message's text, and the images are encoded
      // (copied) before the dump returns.
      messages: queuedMessages(q).map((m) => ({ mtype: m.mtype, text: m.text })),
      stime: q.stime, rtime: q.rtime, ctime: q.ctime, lspid: pid(q.lspid), lrpid: pid(q.lrpid),
    })),
    sem: byIdx(ns.sem.objs).map((s) => ({ desc: desc(s.perm), values: [...s.vals], otime: s.otime, ctime: s.ctime, pids: s.pids.map(pid) })),
    shm: byIdx(ns.shm.objs).map((s) => ({
      // The one copy of the contents (only the pages the segment has, in blocks): images may
      // outlive the dump while the tree runs on.
      desc: desc(s.perm), size: s.segsz, data: new Uint8Array(0), runs: ctx.shmRound ? { runs: [], bytes: new Uint8Array(0) } : storeRuns(s.store, 0, Math.ceil(s.segsz / PAGE_SIZE), ctx.share),
      atime: s.atime, dtime: s.dtime, ctime: s.ctime, cpid: pid(s.cpid), lpid: pid(s.lpid),
    })),
    undo,
    cursors: {
      msg: { seq: ns.msg.seq, lastIdx: ns.msg.lastIdx, cursor: ns.msg.cursor },
      sem: { seq: ns.sem.seq, lastIdx: ns.sem.lastIdx, cursor: ns.sem.cursor },
      shm: { seq: ns.shm.seq, lastIdx: ns.shm.lastIdx, cursor: ns.shm.cursor },
    },
  };
  return ck;
}

// ---- images ----

const N = IPC_NS_IMAGE_ID;
const EXTRA = `nsd-extra-${N}.img`;

/** Encodes the IPC part as image files (added to the image set). */
export function ipcToImages(ck: CkIpcNs, out: Map<string, Uint8Array>): void {
  writeIpcNsImages({
    var: ck.var,
    msg: ck.msg.map((q) => ({ desc: q.desc, qbytes: q.qbytes, messages: q.messages.map((m) => ({ mtype: BigInt(m.mtype), body: m.text })) })),
    sem: ck.sem,
    shm: ck.shm,
  }, N, out);
  const extra: NsdExtraEntry[] = [
    ...ck.msg.map((q) => ({ section: 'msg', key: String(q.desc.id), json: encodePlain({ stime: q.stime, rtime: q.rtime, ctime: q.ctime, lspid: q.lspid, lrpid: q.lrpid }) })),
    ...ck.sem.map((s) => ({ section: 'sem', key: String(s.desc.id), json: encodePlain({ otime: s.otime, ctime: s.ctime, pids: s.pids }) })),
    ...ck.shm.map((s) => ({ section: 'shm', key: String(s.desc.id), json: encodePlain({ atime: s.atime, dtime: s.dtime, ctime: s.ctime, cpid: s.cpid, lpid: s.lpid }) })),
    ...ck.undo.map(([pid, text]) => ({ section: 'semundo', key: String(pid), json: encodePlain(text) })),
    { section: 'cursors', key: '', json: encodePlain(ck.cursors) },
  ];
  out.set(EXTRA, writeNsdExtra(extra));
}

function need(images: ReadonlyMap<string, Uint8Array>, name: string): Uint8Array {
  const b = images.get(name);
  if (!b) throw new ImageError(name, 0, 'missing image');
  return b;
}

/** A time as the images carry it (time64_t). */
const TIME = int(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
/** A last pid (0: none). */
const LAST_PID = int(0, PID_MAX_LIMIT);
/** An allocator's cursors: ids->seq (at most seq_max), the last index used (-1: none yet), the next one. */
const CURSORS = obj({ seq: int(0, 0xffff), lastIdx: int(-1, IPCMNI - 1), cursor: int(0, IPCMNI) });
/** /proc/<pid>/semundo text: `<semid> <adj>…` lines (the kernel checks the adjustments when written). */
const UNDO_TEXT = str(1 << 24, (t) => (/^(\d+( -?\d+)+\n)*$/.test(t) ? null : 'is not /proc/<pid>/semundo text'));

/**
 * Every section of nsd-extra-<n>.img, the shape of its entries' value, and the form of their key:
 * msg/sem/shm (one per object of the ipcns images, keyed by id), semundo (one per process of
 * pstree.img, keyed by pid, "" without an undo list) and cursors (one, key "").
 */
export const IPC_EXTRA_SECTIONS: Readonly<Record<string, { value: Schema; key: RegExp }>> = {
  msg: { value: obj({ stime: TIME, rtime: TIME, ctime: TIME, lspid: LAST_PID, lrpid: LAST_PID }), key: /^(0|[1-9]\d{0,9})$/ },
  sem: { value: obj({ otime: TIME, ctime: TIME, pids: list(LAST_PID, 1 << 20) }), key: /^(0|[1-9]\d{0,9})$/ },
  shm: { value: obj({ atime: TIME, dtime: TIME, ctime: TIME, cpid: LAST_PID, lpid: LAST_PID }), key: /^(0|[1-9]\d{0,9})$/ },
  semundo: { value: UNDO_TEXT, key: /^[1-9]\d{0,6}$/ },
  cursors: { value: obj({ msg: CURSORS, sem: CURSORS, shm: CURSORS }), key: /^$/ },
};

/** No cursors saved (a CRIU or host dump): the allocator's are left as the restore leaves them. */
const BLANK_CURSORS: Record<IpcKind, CkCursors> = { msg: { seq: -1, lastIdx: -2, cursor: -1 }, sem: { seq: -1, lastIdx: -2, cursor: -1 }, shm: { seq: -1, lastIdx: -2, cursor: -1 } };

/** The entries of nsd-extra-<n>.img by `section/key`, each checked against IPC_EXTRA_SECTIONS. */
function readIpcExtra(bytes: Uint8Array, file: string): Map<string, unknown> {
  const extra = new Map<string, unknown>();
  for (const e of readNsdExtra(bytes, file).entries) {
    const what = `entry ${e.section}/${e.key}`;
    const fail = (why: string): never => {
      throw new ImageError(file, 0, `${what}: ${why}`);
    };
    const sec = Object.prototype.hasOwnProperty.call(IPC_EXTRA_SECTIONS, e.section) ? IPC_EXTRA_SECTIONS[e.section]! : fail(`unknown section ${JSON.stringify(e.section)}`);
    if (!sec.key.test(e.key)) fail(`key ${JSON.stringify(e.key)} is not a ${e.section === 'semundo' ? 'pid' : e.section === 'cursors' ? '""' : 'ipc id'}`);
    if (e.section === 'semundo' && Number(e.key) > PID_MAX_LIMIT) fail(`pid ${e.key} is above ${PID_MAX_LIMIT}`);
    if (e.section !== 'semundo' && e.section !== 'cursors' && Number(e.key) > 0x7fffffff) fail(`id ${e.key} is above ${0x7fffffff}`);
    if (extra.has(`${e.section}/${e.key}`)) fail('duplicate entry');
    if (e.blob !== undefined) fail('unexpected blob');
    const v = wrapDecode(file, 0, what, () => decodePlain(e.json ?? 'null'));
    const bad = checkSchema(v, sec.value);
    if (bad) fail(describeSchemaError(bad));
    extra.set(`${e.section}/${e.key}`, v);
  }
  return extra;
}

/** A message type from an image (u64): a valid `long` type is 1..LONG_MAX; kept exactly. */
function msgType(file: string, id: number, j: number, v: bigint): Long {
  if (v < 1n || v > LONG_MAX) throw new ImageError(file, 0, `msg ${id} message ${j}: mtype ${v} is not a message type (1..${LONG_MAX})`);
  return canonLong(v);
}

/** Reads the IPC images of namespace image id `n`; CRIU's own dumps have no nsd-extra. */
export function readIpcImages(images: ReadonlyMap<string, Uint8Array>, n: number = N): CkIpcNs {
  const file = (k: string): string => `ipcns-${k}-${n}.img`;
  const v = readImage(need(images, file('var')), 'ipcns-var', { file: file('var') }).entries[0];
  if (!v) throw new ImageError(file('var'), 0, 'no ipc_var_entry');
  const msgImg = readImage(need(images, file('msg')), 'ipcns-msg', { file: file('msg') });
  const semImg = readImage(need(images, file('sem')), 'ipcns-sem', { file: file('sem') });
  const shmImg = readImage(need(images, file('shm')), 'ipcns-shm', { file: file('shm') });
  const extraName = `nsd-extra-${n}.img`;
  const extraBytes = images.get(extraName);
  // A CRIU dump has no nsd-extra: its objects come back with zero times and last pids. An nsd dump
  // holds an entry for every object and every process: a missing one is refused, never defaulted.
  const extra = extraBytes ? readIpcExtra(extraBytes, extraName) : undefined;
  const x = <T>(section: 'msg' | 'sem' | 'shm', id: number, dflt: T): T => {
    if (!extra) return dflt;
    const v = extra.get(`${section}/${id}`);
    if (v === undefined) throw new ImageError(extraName, 0, `entry ${section}/${id} is missing (${file(section)} holds ${section} ${id})`);
    return v as T;
  };
  const msg: CkMsg[] = msgImg.entries.map((e, i) => {
    const p = msgImg.payloads![i];
    const messages = p?.kind === 'ipc-msg' ? p.messages.map((m, j) => ({ mtype: msgType(file('msg'), e.desc.id, j, m.mtype), text: m.body })) : [];
    const t = x('msg', e.desc.id, { stime: 0, rtime: 0, ctime: 0, lspid: 0, lrpid: 0 });
    return { desc: e.desc, qbytes: e.qbytes, messages, ...t };
  });
  const sem: CkSem[] = semImg.entries.map((e, i) => {
    const p = semImg.payloads![i];
    const values = p?.kind === 'ipc-sem' ? p.values : [];
    const t = x('sem', e.desc.id, { otime: 0, ctime: 0, pids: new Array<number>(e.nsems).fill(0) });
    if (t.pids.length !== e.nsems) throw new ImageError(extraName, 0, `entry sem/${e.desc.id}: field pids holds ${t.pids.length} sempids for ${e.nsems} semaphores`);
    return { desc: e.desc, values, ...t };
  });
  const shm: CkShm[] = shmImg.entries.map((e, i) => {
    let data: Uint8Array;
    const p = shmImg.payloads![i];
    if (p?.kind === 'ipc-shm-legacy') data = p.data;
    else {
      // CRIU writes the pages file with its pagemap, empty when no page is present; PE_PARENT
      // runs (pre-dump rounds) come from the parent images (src/cr/shm-rounds.ts).
      data = readShmemChain(images, e.desc.id, Number(e.size));
    }
    const t = x('shm', e.desc.id, { atime: 0, dtime: 0, ctime: 0, cpid: 0, lpid: 0 });
    return { desc: e.desc, size: Number(e.size), data, ...t };
  });
  const undo: [number, string][] = [];
  let cursors: Record<IpcKind, CkCursors>;
  if (extra) {
    const known = new Set([...msg.map((q) => `msg/${q.desc.id}`), ...sem.map((o) => `sem/${o.desc.id}`), ...shm.map((o) => `shm/${o.desc.id}`)]);
    for (const key of extra.keys()) {
      if (/^(msg|sem|shm)\//.test(key) && !known.has(key)) throw new ImageError(extraName, 0, `entry ${key} names no object of the ipcns images`);
    }
    // A model dump (pstree.img) holds one semundo entry per process of the tree and the cursors. A
    // host dump (src/host/images.ts: IPC images only) holds the known undo lists of tasks that are
    // not restored, and no cursors (a real kernel's cannot be read). Each undo line names a set of
    // the sem image with its number of semaphores.
    const pids = images.has('pstree.img') ? readImage(need(images, 'pstree.img'), 'pstree', { file: 'pstree.img' }).entries.map((e) => e.pid) : undefined;
    for (const pid of pids ?? []) {
      if (!extra.has(`semundo/${pid}`)) throw new ImageError(extraName, 0, `entry semundo/${pid} is missing (pstree.img holds pid ${pid})`);
    }
    const nsems = new Map(sem.map((o) => [o.desc.id, o.values.length]));
    for (const [key, v] of extra) {
      if (!key.startsWith('semundo/')) continue;
      const pid = Number(key.slice(8));
      if (pids && !pids.includes(pid)) throw new ImageError(extraName, 0, `entry ${key}: pid ${pid} is not in pstree.img`);
      for (const line of (v as string).split('\n').filter(Boolean)) {
        const [semid, ...adj] = line.split(' ').map(Number) as [number, ...number[]];
        if (nsems.get(semid) !== adj.length) {
          throw new ImageError(extraName, 0, `entry ${key}: ${nsems.has(semid) ? `${adj.length} adjustments for the ${nsems.get(semid)} semaphores of` : 'no'} sem ${semid}${nsems.has(semid) ? '' : ` in ${file('sem')}`}`);
        }
      }
      undo.push([pid, v as string]);
    }
    const saved = extra.get('cursors/');
    if (saved === undefined && pids) throw new ImageError(extraName, 0, 'entry cursors/ is missing (pstree.img: a dump of processes, which has them)');
    cursors = (saved ?? BLANK_CURSORS) as Record<IpcKind, CkCursors>;
  } else cursors = BLANK_CURSORS;
  for (const list of [msg, sem, shm] as { desc: IpcDescEntry }[][]) {
    const ids = new Set<number>();
    for (const o of list) {
      if (o.desc.id > 0x7fffffff || ids.has(o.desc.id)) throw new ImageError(file('msg'), 0, `bad or duplicate id ${o.desc.id}`);
      ids.add(o.desc.id);
    }
  }
  return { var: v, msg, sem, shm, undo, cursors, ...(extra ? {} : { criuOnly: true }) };
}

/** Decodes and validates the IPC part of an image set, null if it has none (throws ImageError). */
export function ipcFromImages(images: ReadonlyMap<string, Uint8Array>): CkIpcNs | null {
  if (!images.has(`ipcns-var-${N}.img`)) return null;
  return readIpcImages(images);
}

// ---- restore ----

const lost = (report: CrReportLine[], object: string, field: string, saved: unknown, restored: unknown, why: string): void => {
  if (String(saved) !== String(restored)) report.push({ object, field, saved: String(saved), restored: String(restored), why });
};

/** `lost` for numbers: compared as numbers, made strings only when reported. */
const lostNum = (report: CrReportLine[], object: string, field: string, saved: number, restored: number, why: string): void => {
  if (saved !== restored) report.push({ object, field, saved: String(saved), restored: String(restored), why });
};

/** The fields the full-state IPC_SET restores beyond IPC_SET's own, per kind, in a fixed order. */
const MSG_SET_FIELDS = ['stime', 'rtime', 'ctime', 'lspid', 'lrpid'] as const;
const SEM_SET_FIELDS = ['otime', 'ctime'] as const;
const SHM_SET_FIELDS = ['atime', 'dtime', 'ctime', 'cpid', 'lpid'] as const;

/** Reports each field the object does not hold as saved after the full-state IPC_SET. */
function lostFields(ctx: IpcRestoreContext, kind: IpcKind, id: number, fields: readonly string[], saved: number[], now: number[], all: boolean): void {
  for (let i = 0; i < fields.length; i++) {
    if (saved[i] !== now[i]) lostNum(ctx.report, `${kind} ${id}`, fields[i]!, saved[i]!, now[i]!, all ? 'restore did not bring it back' : `${ctx.strategy.name} has no way to set it`);
  }
}

const SET_STEP: Record<IpcKind, string> = { msg: 'ipc-set-msg', sem: 'ipc-set-sem', shm: 'ipc-set-shm' };

/** IPC_SET of one object with the strategy's full state, then the fields it did not bring back. */
function fullSet(ctx: IpcRestoreContext, kind: IpcKind, id: number, buf: object, fields: readonly string[], saved: number[], now: () => number[]): void {
  ctx.step(SET_STEP[kind], `${kind} ${id}`, () => {
    const set = (x: Sys): void => {
      if (kind === 'sem') x.semctl(id, 0, IPC_SET, buf as never);
      else if (kind === 'msg') x.msgctl(id, IPC_SET, buf as never);
      else x.shmctl(id, IPC_SET, buf as never);
    };
    const all = ctx.strategy.ipcSetAll(ctx.sys, kind, set, (x) => void x.ipc_set_all(kind, id, buf as never));
    lostFields(ctx, kind, id, fields, saved, now(), all);
  });
}

/** No semaphore of the set is still as created (value 0, sempid 0): each is set, none left alone. */
function everySemSet(s: CkSem): boolean {
  for (let num = 0; num < s.values.length; num++) if (s.values[num] === 0 && s.pids[num] === 0) return false;
  return true;
}

/** The one pid every semaphore of the set was last operated by, or 0 when they differ (or none). */
function oneSempid(s: CkSem): number {
  const p = s.pids[0] ?? 0;
  for (let num = 1; num < s.pids.length; num++) if (s.pids[num] !== p) return 0;
  return p;
}

/** Creates an object as its creator (so cuid/cgid are right), through the strategy. */
function create(ctx: IpcRestoreContext, kind: IpcKind, d: IpcDescEntry, make: (s: Sys, flg: number) => number, withId: (s: Sys, flg: number) => number): void {
  const sys = ctx.sys;
  const flg = IPC_CREAT | IPC_EXCL | (d.mode & 0o777);
  const asCreator = d.cuid !== 0 || d.cgid !== 0;
  if (asCreator) {
    // Become the creator (cuid/cgid come from euid/egid) but keep the capabilities the restore
    // needs: permitted stays full while the real and saved uids are 0.
    const caps = sys.capget();
    sys.setresgid(-1, d.cgid, -1);
    sys.setresuid(-1, d.cuid, -1);
    sys.capset(caps.permitted, caps.permitted);
  }
  let got: number;
  try {
    got = ctx.strategy.ipcCreate(sys, kind, d.id, (s) => make(s, flg), (s) => withId(s, flg));
  } finally {
    if (asCreator) {
      sys.setresuid(-1, 0, -1);
      sys.setresgid(-1, 0, -1);
    }
  }
  if (got !== d.id) throw new CrError('restore', `ipc-${kind}`, `${kind} ${d.id}`, `got id ${got}, wanted ${d.id}`);
}

/**
 * An owner other than the creator (uid/gid ≠ cuid/cgid, after an IPC_SET): creation made the
 * creator the owner, IPC_SET gives the object its owner back (msg queues get theirs with qbytes).
 */
function setOwner(ctx: IpcRestoreContext, kind: 'sem' | 'shm', d: IpcDescEntry): void {
  if (d.uid === d.cuid && d.gid === d.cgid) return;
  const perm = { uid: d.uid, gid: d.gid, mode: d.mode };
  if (kind === 'sem') ctx.sys.semctl(d.id, 0, IPC_SET, { sem_perm: perm });
  else ctx.sys.shmctl(d.id, IPC_SET, { shm_perm: perm });
}

/**
 * The namespace's limits as sysctl writes ([name under /proc/sys/kernel, text]); with `roomy`, each
 * raised to what the saved objects need (msgmax: the largest message, *mni: the object count, sem:
 * semmsl/semmns/semmni, shmmax/shmall: the largest segment and the total pages).
 */
function ipcLimits(ck: CkIpcNs, roomy: boolean): [string, string][] {
  const at = (saved: number | bigint, need: number): string => String(roomy && BigInt(need) > BigInt(saved) ? need : saved);
  const most = (xs: number[]): number => xs.reduce((a, b) => Math.max(a, b), 0);
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  const v = ck.var;
  const nsems = ck.sem.map((s) => s.values.length);
  const out: [string, string][] = [
    ['msgmax', at(v.msg_ctlmax, most(ck.msg.map((q) => most(q.messages.map((m) => m.text.length)))))],
    ['msgmnb', String(v.msg_ctlmnb)],
    ['msgmni', at(v.msg_ctlmni, ck.msg.length)],
  ];
  if (v.sem_ctls?.length === 4) {
    const [semmsl, semmns, semopm, semmni] = v.sem_ctls as [number, number, number, number];
    out.push(['sem', [at(semmsl, most(nsems)), at(semmns, sum(nsems)), String(semopm), at(semmni, ck.sem.length)].join(' ')]);
  } else if (v.sem_ctls) out.push(['sem', v.sem_ctls.join(' ')]);
  out.push(
    ['shmmax', at(v.shm_ctlmax, most(ck.shm.map((m) => m.size)))],
    ['shmall', at(v.shm_ctlall, sum(ck.shm.map((m) => Math.ceil(m.size / PAGE_SIZE))))],
    ['shmmni', at(v.shm_ctlmni, ck.shm.length)],
  );
  return out;
}

/** Creates the objects, before the tree (ids, keys, owners, contents). */
export function restoreIpcObjects(ck: CkIpcNs, ctx: IpcRestoreContext): void {
  const sys = ctx.sys;
  const k = ctx.kernel;
  // Limits may have been lowered below what the namespace holds (Linux allows it): the objects are
  // created under limits raised to what they need, then the saved limits are written back.
  const saved = ipcLimits(ck, false);
  const roomy = ipcLimits(ck, true);
  ctx.step('ipc-sysctls', 'ipcns-var', () => {
    for (const [name, v] of roomy) writeProcFile(sys, `/proc/sys/kernel/${name}`, v);
  });
  // Every object is created armed through one held next_syscall_data file (nsd; strategy.hold).
  ctx.strategy.hold(sys, () => {
  for (const q of ck.msg) {
    ctx.step('ipc-msg', `msg ${q.desc.id}`, () => {
      create(ctx, 'msg', q.desc, (s, flg) => s.msgget(q.desc.key | 0, flg), (s, flg) => s.msgget_with_id(q.desc.id, q.desc.key | 0, flg));
      const set = (qbytes: number): void => {
        sys.msgctl(q.desc.id, IPC_SET, { msg_perm: { uid: q.desc.uid, gid: q.desc.gid, mode: q.desc.mode }, msg_qbytes: qbytes } as never);
      };
      // IPC_SET may have lowered qbytes below what the queue holds (Linux allows it): refill with
      // room for every message, then put the saved qbytes back.
      const room = Math.max(q.qbytes, q.messages.length, q.messages.reduce((n, m) => n + m.text.length, 0));
      // Nothing for IPC_SET to change when the creator is the owner and the new queue already has
      // the saved qbytes (newque: msgmnb), which is room enough: no call (its ctime is the
      // creation's either way, and the late pass brings the saved one back).
      const asCreated = q.desc.uid === q.desc.cuid && q.desc.gid === q.desc.cgid && room === q.qbytes
        && findById((k.ipcNs(k.t(sys.kid).ipcns) as IpcNs).msg, q.desc.id)?.qbytes === q.qbytes;
      if (!asCreated) set(room);
      for (const m of q.messages) sys.msgsnd(q.desc.id, m.mtype, m.text, 0o4000 /* IPC_NOWAIT */);
      if (room !== q.qbytes) set(q.qbytes);
    });
  }
  for (const s of ck.sem) {
    ctx.step('ipc-sem', `sem ${s.desc.id}`, () => {
      create(ctx, 'sem', s.desc, (x, flg) => x.semget(s.desc.key | 0, s.values.length, flg), (x, flg) => x.semget_with_id(s.desc.id, s.desc.key | 0, s.values.length, flg));
      setOwner(ctx, 'sem', s.desc);
      if (k.profile.ipc.setallSetsSempid && !everySemSet(s)) {
        // Modern SETALL stamps every sempid with the caller (semctl_main since v4.5, a5f4db877177
        // "ipc/sem: make semctl setting sempid consistent"): set only the semaphores that are not
        // still as created (value 0, never operated on), so their sempid stays 0.
        s.values.forEach((v, num) => {
          if (v !== 0 || s.pids[num] !== 0) sys.semctl(s.desc.id, num, SETVAL, v);
        });
      } else {
        // 2.6.26's SETALL leaves sempid alone; a modern one stamps the restorer on every semaphore,
        // as the SETVAL of each would (none is still as created): one call either way.
        sys.semctl(s.desc.id, 0, SETALL, s.values);
      }
    });
  }
  for (const m of ck.shm) {
    ctx.step('ipc-shm', `shm ${m.desc.id}`, () => {
      create(ctx, 'shm', m.desc, (x, flg) => x.shmget(m.desc.key | 0, m.size, flg), (x, flg) => x.shmget_with_id(m.desc.id, m.desc.key | 0, m.size, flg));
      setOwner(ctx, 'shm', m.desc);
      // Handed-over contents become the segment's pages (restorer.ts); otherwise, and where that
      // cannot be, init attaches the segment and writes them, as criu's restore_shmem_content.
      if (!isZero(m.data) && !(ctx.adopt && restorer.adoptShmContents(k, sys.kid, m.desc.id, m.data))) {
        const addr = sys.shmat(m.desc.id, 0, 0);
        writeMemory(k, k.t(sys.kid), addr, m.data);
        sys.shmdt(addr);
      }
    });
  }
  });
  const lowered = saved.filter(([, v], i) => v !== roomy[i]![1]);
  if (lowered.length > 0) {
    ctx.step('ipc-limits', 'ipcns-var', () => {
      for (const [name, v] of lowered) writeProcFile(sys, `/proc/sys/kernel/${name}`, v);
    });
  }
}

/** After the tree exists: sempid through SETVAL, SEM_UNDO lists, then full-state IPC_SET. */
export function restoreIpcLate(ck: CkIpcNs, ctx: IpcRestoreContext): void {
  const k = ctx.kernel;
  const sys = ctx.sys;
  const ns = k.ipcNs(k.t(sys.kid).ipcns) as IpcNs;
  // A CRIU dump holds no sempid, SEM_UNDO list, time or last pid: nothing of those to restore.
  const full = !ck.criuOnly;
  const restorer = k.t(sys.kid);
  for (const s of full ? ck.sem : []) {
    ctx.step('ipc-sempid', `sem ${s.desc.id}`, () => {
      const one = oneSempid(s);
      const oneBy = one ? ctx.procSys(one) : undefined;
      if (oneBy && k.profile.ipc.setallSetsSempid) {
        // One process last operated on every semaphore: its SETALL stamps it on all of them, as
        // its SETVAL of each would (semctl_main, v4.5+); the values are the ones already there.
        oneBy.semctl(s.desc.id, 0, SETALL, s.values);
      } else {
        for (let num = 0; num < s.pids.length; num++) {
          const pid = s.pids[num]!;
          const by = pid ? ctx.procSys(pid) : undefined;
          if (by) by.semctl(s.desc.id, num, SETVAL, s.values[num]);
        }
      }
      const now = ns.sem.objs.get(s.desc.id & 32767)!.pids;
      for (let num = 0; num < s.pids.length; num++) {
        const pid = s.pids[num]!;
        const got = pidVnr(k, restorer, now[num]!);
        if (got !== pid) lostNum(ctx.report, `sem ${s.desc.id}[${num}]`, 'sempid', pid, got, pid ? 'the process that last operated is not in the checkpoint' : 'setting its value stamped the restorer as sempid');
      }
    });
  }
  for (const [pid, text] of full ? ck.undo.filter(([, t]) => t !== '') : []) {
    ctx.step('ipc-semundo', `pid ${pid}`, () => {
      // --ipc-only restores no process to hold the list: reported, as a CRIU dump's missing fields.
      if (ctx.ipcOnly) return void lost(ctx.report, `pid ${pid}`, 'SEM_UNDO list', text.trim(), '', '--ipc-only restores no process to hold it');
      const by = ctx.procSys(pid);
      if (!by) throw new CrError('restore', 'ipc-semundo', `pid ${pid}`, 'no such restored process');
      writeProcFile(by, '/proc/self/semundo', text);
    });
  }
  const gone = new Set<number>();
  for (const m of ck.shm) {
    ctx.step('ipc-shm-state', `shm ${m.desc.id}`, () => {
      if (m.desc.mode & SHM_LOCKED) sys.shmctl(m.desc.id, SHM_LOCK);
      if (!(m.desc.mode & SHM_DEST)) return;
      // A destroyed segment lives on while attached: its holders have attached it by now (the
      // processes' mappings are restored); without processes (--ipc-only) the namespace's holder
      // task attaches it. Then IPC_RMID marks it SHM_DEST (and its key private) as it was.
      if (ns.shm.objs.get(m.desc.id & 32767)!.nattch === 0) {
        if (ctx.ipcOnly) sys.shmat(m.desc.id, 0, SHM_RDONLY);
        else {
          lost(ctx.report, `shm ${m.desc.id}`, 'existence', 'attached', 'destroyed', 'SHM_DEST and attached only by processes outside the checkpoint: removed as when they detach');
          gone.add(m.desc.id);
        }
      }
      sys.shmctl(m.desc.id, IPC_RMID);
    });
  }
  // The full state last: nothing after this touches the objects' times or last pids. One held
  // next_syscall_data file arms every IPC_SET (nsd); each object's fields are compared as numbers.
  ctx.strategy.hold(sys, () => {
    const pid = (stored: number): number => pidVnr(k, restorer, stored);
    for (const q of full ? ck.msg : []) {
      const buf = {
        msg_perm: { uid: q.desc.uid, gid: q.desc.gid, mode: q.desc.mode }, msg_qbytes: q.qbytes,
        msg_stime: q.stime, msg_rtime: q.rtime, msg_ctime: q.ctime, msg_lspid: q.lspid, msg_lrpid: q.lrpid,
      };
      fullSet(ctx, 'msg', q.desc.id, buf, MSG_SET_FIELDS, [q.stime, q.rtime, q.ctime, q.lspid, q.lrpid], () => {
        const o = ns.msg.objs.get(q.desc.id & 32767)!;
        return [o.stime, o.rtime, o.ctime, pid(o.lspid), pid(o.lrpid)];
      });
    }
    for (const s of full ? ck.sem : []) {
      const buf = { sem_perm: { uid: s.desc.uid, gid: s.desc.gid, mode: s.desc.mode }, sem_otime: s.otime, sem_ctime: s.ctime };
      fullSet(ctx, 'sem', s.desc.id, buf, SEM_SET_FIELDS, [s.otime, s.ctime], () => {
        const o = ns.sem.objs.get(s.desc.id & 32767)!;
        return [o.otime, o.ctime];
      });
    }
    for (const m of full ? ck.shm : []) {
      if (gone.has(m.desc.id)) continue;
      const buf = {
        shm_perm: { uid: m.desc.uid, gid: m.desc.gid, mode: m.desc.mode }, shm_atime: m.atime, shm_dtime: m.dtime, shm_ctime: m.ctime,
        shm_cpid: m.cpid, shm_lpid: m.lpid,
      };
      fullSet(ctx, 'shm', m.desc.id, buf, SHM_SET_FIELDS, [m.atime, m.dtime, m.ctime, m.cpid, m.lpid], () => {
        const o = ns.shm.objs.get(m.desc.id & 32767)!;
        return [o.atime, o.dtime, o.ctime, pid(o.cpid), pid(o.lpid)];
      });
    }
  });
  ctx.step('ipc-next-id', 'ipcns-var', () => {
    for (const kind of ['msg', 'sem', 'shm'] as const) {
      const v = ck.var[`${kind}_next_id`];
      if (v === undefined) continue;
      if (k.profile.ipc.nextIdSysctls) writeProcFile(sys, `/proc/sys/kernel/${kind}_next_id`, String(v));
      else lost(ctx.report, 'ipcns-var', `kernel/${kind}_next_id`, v, -1, `${k.profile.name} has no ${kind}_next_id sysctl`);
    }
    // The allocator's cursors have no interface at all (restorer-only, see docs/checkpoint-restart.md).
    if (ck.cursors.msg.seq >= 0) {
      for (const kind of ['msg', 'sem', 'shm'] as const) {
        const { seq, lastIdx, cursor } = ck.cursors[kind];
        Object.assign(ns[kind], { seq, lastIdx, cursor });
      }
    }
  });  // Last: shm_rmid_forced set earlier would have destroyed segments between their creation and
  // their holders' attach.
  for (const [name, saved, has, absent] of otherSysctls(k, ck.var)) {
    ctx.step('ipc-sysctls', `ipcns-var ${name}`, () => {
      if (saved === undefined) return;
      const want = saved | 0; // the images hold ints as uint32
      if (!has) {
        lost(ctx.report, 'ipcns-var', name, want, absent, `${k.profile.name} has no ${name}`);
        return;
      }
      const path = `/proc/sys/${name}`;
      if (name.startsWith('fs/mqueue/') && !k.profile.ipc.mqueuePerNs) {
        lost(ctx.report, 'ipcns-var', name, want, readProcFile(sys, path).trim(), `fs/mqueue is global in ${k.profile.name}: not changed for one namespace`);
        return;
      }
      writeProcFile(sys, path, String(want));
      lost(ctx.report, 'ipcns-var', name, want, readProcFile(sys, path).trim(), 'the kernel took the value but reads back another');
    });
  }
}

/**
 * The sysctls of ipc_var_entry beyond the SysV limits: [name under /proc/sys, saved value (undefined
 * when the image has none), whether the profile has the file, the behaviour in force without it].
 */
function otherSysctls(k: Kernel, v: IpcVarEntry): [string, number | undefined, boolean, number][] {
  const p = k.profile.ipc;
  return [
    ['kernel/auto_msgmni', v.auto_msgmni, p.autoMsgmni, 0],
    ['fs/mqueue/queues_max', v.mq_queues_max, true, 256],
    ['fs/mqueue/msg_max', v.mq_msg_max, true, 10],
    ['fs/mqueue/msgsize_max', v.mq_msgsize_max, true, 8192],
    // Without the sysctls (before 3.5) mq_open's defaults were DFLT_MSGMAX and DFLT_MSGSIZEMAX.
    ['fs/mqueue/msg_default', v.mq_msg_default, p.mqDefaults, 10],
    ['fs/mqueue/msgsize_default', v.mq_msgsize_default, p.mqDefaults, 8192],
    ['kernel/shm_rmid_forced', v.shm_rmid_forced, p.shmRmidForced, 0],
  ];
}
