/**
 * Design note: recreating an IPC namespace on the real kernel, in a new pid + IPC namespace whose
 * init is the agent. The whole restore is one pipelined batch of agent operations (protocol.ts),
 * in this order:
 *  1. limits raised to what the objects need (msgmax ≥ the largest message, msgmnb ≥ the fullest
 *     queue, *mni ≥ the object counts, sem/shmmax/shmall likewise): Linux lets limits be lowered
 *     below what a namespace holds, and such a namespace must still restore;
 *  2. holder tasks at their saved pids (clone3 set_tid), children of the agent;
 *  3. each object at its saved id (`*_next_id` written just before its *get — unless a kind's ids
 *     are 0, 1, 2… in creation order, what the kernel gives in a new namespace), created with
 *     euid/egid = the saved cuid/cgid (so cuid/cgid come back), then: messages in order with
 *     msgsnd (any size: msgmax was raised), a whole queue's in one operation (OP_MSGSNDV); the
 *     queues and sets that need nothing more created as rows of one OP_GETV each run of them;
 *     semaphore values with SETVAL/SETALL, then each holder's SEM_UNDO adjustment by its own
 *     semop(−adj, SEM_UNDO) from a value pre-set to value + adj, then plain semops by the agent for what clamping to [0, SEMVMX] left; shm contents (from a pages image: by the agent's background threads) through
 *     an attachment, the holders' attachments at their saved addresses, SHM_LOCK, and IPC_RMID for
 *     SHM_DEST segments once attached (by the agent when no saved holder has them); IPC_SET of
 *     uid/gid/mode/qbytes where it changes something (uid/gid other than cuid/cgid, qbytes other
 *     than the msgmnb the queue was created under);
 *  4. the saved limits and sysctls, then the saved `*_next_id`.
 * Last pids (lspid, lrpid, sempid, cpid, lpid) are set the only way Linux sets them: the task with
 * that pid makes the call — a holder, the agent (pid 1), or a stand-in task made at that pid
 * (clone3 set_tid) before the batch and killed after it: lrpid by a send and receive in the
 * still-empty queue, lspid by sending the last message, sempid by a zero-sum pair of semop calls
 * after the values (one pair per task and set, over all its semaphores whose sempid the values
 * step did not already make its own), cpid by creating the segment, lpid by an attach and detach
 * after the holders' (unless the last attachment was already that task's), all of a task's
 * segments in one OP_SHMTOUCHV after the segments' own steps.
 * Nobody but the agent is in the new namespaces until the batch is done, so no intermediate value
 * is observable. Any failure kills the agent: the namespaces die with it, nothing is left (the
 * restore is complete or refused). The result is then re-dumped and compared field by field
 * (unless `verify: false`, for measurements). The verification changes nothing: the re-dump reads
 * no segment contents (an attachment would move the segment's lpid, atime and dtime, which the
 * plan has just set); each segment's contents are compared instead by the agent when it writes
 * them (OP_SHMWRITE reads the segment back through its attachment and compares, before the
 * holders' and the lpid task's attachments), and a segment the plan does not write is all zeros,
 * as Linux makes every new one (newseg: shmem_kernel_file_setup, pages read as zeros until
 * written).
 */
import { join } from 'node:path';
import { Agent, errnoName, HostError, type AgentOptions } from './agent.js';
import { compareNs, CRIU_MISSING, type HostReportLine } from './compare.js';
import { dumpWith } from './dump.js';
import { checkUnread, type PagesFiles } from './files.js';
import type { ManifestEntry } from '../cr/manifest.js';
import { checkUndo, lastPidsOf, namespaceOf, openImages, type OpenedImages, readPackedQueues, readQueues, readSegments, readSets, readTasks, sysctlsOf } from './images.js';
import { KIND, lastPacked, packQueues, putI64, readI64, type PackedMsq, type Request, type Response } from './protocol.js';
import { IPC_CREAT, IPC_EXCL, IPC_RMID, PAGE_SIZE as PAGE, SEM_UNDO, SEMVMX, SHM_DEST, SHM_LOCK, SHM_LOCKED } from '../abi/constants.js';
import type { HostIpcNs, HostSem, HostShm, HostTask, IpcSysctl } from './state.js';

interface Step {
  req: Request;
  /** What the step does, for an error (built only then: a plan has ~10^4 steps), given the
   *  failed answer. */
  what: (r?: Response) => string;
  /** The return value that means success, when it is not just "not -1". */
  expect?: number;
  /** What is wrong with a successful answer, if anything (its data checked). */
  check?: (r: Response) => string | undefined;
}

export interface HostRestoreResult {
  agent: Agent;
  /** The restored namespace, as a dump of it reads (null with `verify: false`). */
  restored: HostIpcNs | null;
  /** Every field that differs from the saved one (see compare.ts). */
  report: HostReportLine[];
  /** What the images have no place for (a CRIU dump), or could not read. */
  missing: string[];
  /** Operations the agent carried out. */
  ops: number;
}

const most = (xs: number[]): number => xs.reduce((a, b) => Math.max(a, b), 0);
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
const bigMax = (saved: string | undefined, needed: number): string => {
  const s = BigInt(saved?.trim() || '0');
  return String(BigInt(needed) > s ? BigInt(needed) : s);
};

const ZEROS = new Uint8Array(65536);
/** Whether every byte is 0 (compared 64 KiB at a time with memcmp, not byte by byte). */
export function allZero(d: Uint8Array): boolean {
  const b = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  for (let at = 0; at < b.length; at += ZEROS.length) {
    const n = Math.min(ZEROS.length, b.length - at);
    if (!b.subarray(at, at + n).equals(ZEROS.subarray(0, n))) return false;
  }
  return true;
}

/** The limits to create a kind's objects under (each at least what the objects need). */
function roomyMsg(s: HostIpcNs['sysctls'], msg: readonly PackedMsq[]): [IpcSysctl, string][] {
  let biggest = 0;
  let fullest = 0;
  for (let i = 0; i < msg.length; i++) {
    const q = msg[i]!;
    biggest = Math.max(biggest, q.packed.biggest);
    fullest = Math.max(fullest, q.qbytes, q.packed.count, q.packed.bytes);
  }
  return [
    ['kernel/msgmax', bigMax(s['kernel/msgmax'], biggest)],
    ['kernel/msgmnb', bigMax(s['kernel/msgmnb'], fullest)],
    ['kernel/msgmni', bigMax(s['kernel/msgmni'], msg.length)],
  ];
}

function roomySem(s: HostIpcNs['sysctls'], sem: readonly HostSem[]): [IpcSysctl, string][] {
  const ctl = (s['kernel/sem'] ?? '').trim().split(/\s+/);
  if (ctl.length !== 4) return [];
  const nsems = sem.map((x) => x.values.length);
  return [['kernel/sem', [bigMax(ctl[0], most(nsems)), bigMax(ctl[1], sum(nsems)), ctl[2], bigMax(ctl[3], sem.length)].join(' ')]];
}

function roomyShm(s: HostIpcNs['sysctls'], shm: readonly HostShm[]): [IpcSysctl, string][] {
  return [
    ['kernel/shmmax', bigMax(s['kernel/shmmax'], most(shm.map((m) => m.size)))],
    ['kernel/shmall', bigMax(s['kernel/shmall'], sum(shm.map((m) => Math.ceil(m.size / PAGE))))],
    ['kernel/shmmni', bigMax(s['kernel/shmmni'], shm.length)],
  ];
}

const enc = new TextEncoder();
const sysctl = (name: string, value: string): Step => ({
  req: { op: 'SYSCTL_W', args: [0], data: enc.encode(`${name}\0${value}`) },
  what: () => `sysctl ${name} = ${value}`,
});

/**
 * The saved last pids (lspid, lrpid, sempid, cpid, lpid) that name no holder task nor the agent:
 * a stand-in task is made at each (when the pid can be had) to make the call the kernel records.
 */
export function standInPids(ns: HostIpcNs): number[] {
  const pids: number[] = [];
  for (const q of ns.msg) pids.push(q.lspid, q.lrpid);
  for (const x of ns.sem) pids.push(...x.pids);
  for (const m of ns.shm) pids.push(m.cpid, m.lpid);
  return standInsFor(ns.tasks, pids);
}

/** The stand-ins `pids` (last pids) need, given the holder `tasks`: sorted, once each. */
function standInsFor(tasks: readonly HostTask[], pids: readonly number[]): number[] {
  const known = new Set([0, 1, ...tasks.map((t) => t.pid)]);
  return [...new Set(pids)].filter((p) => p > 0 && !known.has(p)).sort((a, b) => a - b);
}

/** Makes the stand-in tasks it can (a pid already taken is left: its fields are reported lost). */
async function makeStandIns(agent: Agent, wanted: readonly number[]): Promise<number[]> {
  if (wanted.length === 0) return [];
  const made = await agent.run(wanted.map((pid) => ({ op: 'TASK' as const, args: [0, pid] })));
  return wanted.filter((pid, i) => made[i]!.errno === 0 && made[i]!.ret === pid);
}

/** Options of a plan (see planner). */
export interface PlanOptions {
  /** The pids that can make calls: the agent (1), the holders, the stand-ins made. */
  actors?: ReadonlySet<number>;
  /** Stand-in tasks, killed at the end. */
  standIns?: readonly number[];
  /** Pages images left in the directory, which OP_SHMFILE reads (files.ts). */
  pages?: PagesFiles;
}

/** The operations of a plan, part by part, in the order they are to run (see planner). */
export interface Planner {
  /** The holder tasks. */
  start(): Step[];
  /** Each kind's limits (raised to what its objects need), then its objects. A queue's messages
   *  are sent, and a segment's contents read from its pages image, by the agent's background
   *  threads: `msgTail` waits for them (and checks the contents' digests), then sends the last
   *  messages that a holder sends, sets what IPC_SET sets, and makes the segments' lpid touches
   *  and SHM_DEST IPC_RMIDs. */
  msg(queues: readonly PackedMsq[]): Step[];
  msgTail(): Step[];
  sem(sets: readonly HostSem[]): Step[];
  shm(segments: readonly HostShm[]): Step[];
  /** After every kind: stand-ins killed, the saved sysctls and `*_next_id`. */
  end(): Step[];
}

/**
 * The agent operations that recreate a namespace (see the design note), part by part, so that a
 * restore can send each kind's on to the agent while it reads the next (restoreImages). The kinds
 * are independent (each has its own limits, ids and `*_next_id`); `end` needs them all done.
 * `actors`: the pids that can make calls (the agent, 1; the holders; stand-ins already made),
 * whose last pids are then restored by letting that task make the last call.
 */
export function planner(sysctls: HostIpcNs['sysctls'], tasks: readonly HostTask[], opts: PlanOptions = {}): Planner {
  const actors = opts.actors ?? new Set([1, ...tasks.map((t) => t.pid)]);
  const can = (pid: number): boolean => pid > 0 && actors.has(pid);
  // The manifest entries of the pages images left in the directory, by name (made on first use:
  // verifyManifest fills `pending` when the images are opened).
  let pending: Map<string, ManifestEntry> | undefined;
  const pendingPages = (): Map<string, ManifestEntry> => (pending ??= new Map(opts.pages?.pending.map((e) => [e.name, e])));
  // Per kind, whether its objects' ids are 0, 1, 2… in the order they are created: then each is
  // the id the kernel gives anyway in the new namespace, and no `*_next_id` is written before its
  // *get (2,100 writes to /proc/sys fewer in the benchmark). Linux 5.1+ ipc_idr_alloc, with
  // next_id unset: idr_alloc_cyclic from the cursor (0 in a new namespace, then one past the last
  // index), seq raised only when an index is not above last_idx (-1 at first) — so the k-th
  // object of a new namespace gets id k. The answer is checked against the id either way (`expect`).
  const inOrder = { msg: false, sem: false, shm: false };
  const ordered = (kind: 'msg' | 'sem' | 'shm', list: readonly { desc: { id: number } }[]): void => {
    let ok = true;
    for (let i = 0; i < list.length && ok; i++) ok = list[i]!.desc.id === i;
    inOrder[kind] = ok;
  };
  // With `fill` (data and what it does), the creation and the first filling in one operation: a
  // queue's messages (OP_MSGSNDV's data), a set's values (OP_SETALL's).
  const get = (kind: 'msg' | 'sem' | 'shm', d: HostIpcNs['msg'][number]['desc'], arg: number, by = 0, fill?: { data: Uint8Array; what: () => string }): Step => ({
    req: { op: 'GET', args: [by, KIND[kind], d.key | 0, arg, IPC_CREAT | IPC_EXCL | (d.mode & 0o777), d.cuid, d.cgid, inOrder[kind] ? -1 : d.id], ...(fill ? { data: fill.data } : {}) },
    what: () => `${kind} ${d.id}: create (key ${d.key}, cuid ${d.cuid})${by ? ` in task ${by}` : ''}${fill ? `, then ${fill.what()}` : ''}`,
    expect: d.id,
  });
  // Objects with nothing to do but their creation and its data (most: no holder, stand-in or
  // IPC_SET involved) are rows of one OP_GETV frame, in creation order, instead of a GET frame
  // each (and a step, an answer and closures each: a restore creates ~10^3 objects per kind).
  interface Row {
    d: HostIpcNs['msg'][number]['desc'];
    arg: number;
    data?: Uint8Array;
    /** The values by SETVAL of the non-zero ones (a set), not by SETALL. */
    setval?: boolean;
    what?: () => string;
  }
  // A frame is carried out once all of it has arrived: rows are cut into frames of at most ~64 KiB
  // of data, so that the agent starts on the first while the next are on their way.
  // A row: i64 key, arg, flg, cuid, cgid, next_id, u32 how, u32 data length, then the data.
  const ROW_HEAD = 56;
  let rows: Row[] = [];
  let rowsKind: 'msg' | 'sem' = 'msg';
  let rowBytes = 0;
  const row = (steps: Step[], kind: 'msg' | 'sem', r: Row): void => {
    if (rows.length > 0 && (rowsKind !== kind || rowBytes > 65536)) flush(steps);
    rowsKind = kind;
    rows.push(r);
    rowBytes += ROW_HEAD + (r.data?.byteLength ?? 0);
  };
  const flush = (steps: Step[]): void => {
    if (rows.length === 0) return;
    const list = rows;
    const kind = rowsKind;
    const b = Buffer.allocUnsafe(rowBytes);
    rows = [];
    rowBytes = 0;
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    let at = 0;
    for (let i = 0; i < list.length; i++) {
      const r = list[i]!;
      const d = r.d;
      putI64(v, at, d.key | 0);
      putI64(v, at + 8, r.arg);
      putI64(v, at + 16, IPC_CREAT | IPC_EXCL | (d.mode & 0o777));
      putI64(v, at + 24, d.cuid);
      putI64(v, at + 32, d.cgid);
      putI64(v, at + 40, inOrder[kind] ? -1 : d.id);
      const n = r.data?.byteLength ?? 0;
      v.setUint32(at + 48, r.setval ? 1 : 0, true);
      v.setUint32(at + 52, n, true);
      if (n > 0) b.set(r.data!, at + ROW_HEAD);
      at += ROW_HEAD + n;
    }
    const one = (i: number): string => `${kind} ${list[i]!.d.id}: create (key ${list[i]!.d.key}, cuid ${list[i]!.d.cuid})${list[i]!.what ? `, then ${list[i]!.what!()}` : ''}`;
    steps.push({
      req: { op: 'GETV', args: [0, KIND[kind], list.length], data: b },
      // On a failure the answer holds the ids of the rows before the failed one.
      what: (r) => (r && r.data.byteLength / 8 < list.length ? one(r.data.byteLength / 8) : `${list.length} ${kind} objects: create`),
      expect: list.length,
      // Each at its saved id, as GET's `expect` checks.
      check: (r) => {
        const ids = Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength);
        if (ids.byteLength !== 8 * list.length) return `${ids.byteLength / 8} ids for ${list.length} objects`;
        for (let i = 0; i < list.length; i++) {
          const got = readI64(ids, 8 * i);
          if (got !== list[i]!.d.id) return `${one(i)}: got ${got}, wanted ${list[i]!.d.id}`;
        }
        return undefined;
      },
    });
  };
  const send = (by: number, id: number, mtype: bigint | number, data: Uint8Array, what: string): Step => ({
    req: { op: 'MSGSND', args: [by, id, mtype, 0o4000 /* IPC_NOWAIT */], data },
    what: () => `msg ${id}: ${what}${by > 1 ? ` in task ${by}` : ''}`,
  });
  const recv = (by: number, id: number): Step => ({
    req: { op: 'MSGRCV', args: [by, id, 0, 0o4000 | 0o20000 /* IPC_NOWAIT | MSG_NOERROR */] },
    what: () => `msg ${id}: receive in task ${by} (lrpid)`,
  });
  const set = (kind: 'msg' | 'sem' | 'shm', d: HostIpcNs['msg'][number]['desc'], qbytes = 0): Step => ({
    req: { op: 'SET', args: [0, KIND[kind], d.id, d.uid, d.gid, d.mode & 0o777, qbytes] },
    what: () => `${kind} ${d.id}: IPC_SET`,
  });
  const EMPTY = new Uint8Array(0);
  // IPC_SET only where it changes something: an object is created with uid/gid = cuid/cgid (the
  // creator's euid/egid, ipcperms' ipc_addid), mode & 0777 (newque/newary/newseg) and, a queue,
  // msg_qbytes = msgmnb at that moment (newque), which is the raised limit below.
  const needsSet = (d: HostIpcNs['msg'][number]['desc']): boolean => d.uid !== d.cuid || d.gid !== d.cgid;
  // The limits each kind raised (the end restores the saved ones where they differ).
  const roomyOf = new Map<IpcSysctl, string>();
  // What msgTail sends (see Planner): the queues' last steps, the segments' (lpid touches, then
  // IPC_RMID of SHM_DEST ones), and the segments whose contents the agent reads in the background.
  const tails: Step[] = [];
  const shmTails: Step[] = [];
  const shmFiles = new Map<number, { name: string; size: number; sha256?: string }>();
  const raise = (steps: Step[], limits: [IpcSysctl, string][]): void => {
    for (const [k, v] of limits) {
      roomyOf.set(k, v);
      steps.push(sysctl(k, v));
    }
  };
  return {
    start(): Step[] {
      return tasks.filter((t) => t.pid !== 1).map((t) => ({ req: { op: 'TASK', args: [0, t.pid] }, what: () => `task ${t.pid}`, expect: t.pid }));
    },
    msg(queues: readonly PackedMsq[]): Step[] {
      const steps: Step[] = [];
      ordered('msg', queues);
      raise(steps, roomyMsg(sysctls, queues));
      const msgmnb = Number(roomyOf.get('kernel/msgmnb'));
      for (let qi = 0; qi < queues.length; qi++) {
        const q = queues[qi]!;
        const id = q.desc.id;
        const p = q.packed;
        const n = p.count;
        // The messages in order, all in one operation (OP_MSGSNDV) but the last when the task at
        // lspid sends it.
        const tail = n > 0 && can(q.lspid) && q.lspid !== 1 ? lastPacked(p) : undefined;
        const last = tail ? n - 1 : n;
        // All the packed messages, or all but the last (packed last, so a prefix).
        const data = tail ? p.data.subarray(0, p.lastAt) : p.data;
        const what = (): string => `messages 0..${last - 1} (${p.bytes - (tail?.body.byteLength ?? 0)} bytes)`;
        // Last pids: lrpid by a receive in the empty queue first, lspid by the last send.
        if (can(q.lrpid)) {
          flush(steps);
          steps.push(get('msg', q.desc, 0));
          const sender = n === 0 && can(q.lspid) ? q.lspid : q.lrpid;
          steps.push(send(sender, id, 1, EMPTY, 'stand-in message'), recv(q.lrpid, id));
          if (last > 0) steps.push({ req: { op: 'MSGSNDV', args: [0, id, 0o4000 /* IPC_NOWAIT */], data }, what: () => `msg ${id}: ${what()}`, expect: last });
        } else row(steps, 'msg', last > 0 ? { d: q.desc, arg: 0, data, what } : { d: q.desc, arg: 0 });
        if (tail) tails.push(send(q.lspid, id, tail.mtype, tail.body, `message ${last} (${tail.body.byteLength} bytes)`));
        if (needsSet(q.desc) || q.qbytes !== msgmnb) tails.push(set('msg', q.desc, q.qbytes));
      }
      flush(steps);
      return steps;
    },
    msgTail(): Step[] {
      // The background work: queues' messages and (OP_SHMFILE) segments' contents.
      // A failure names the object; the segments' results are checked against the images.
      const files = new Map(shmFiles);
      shmFiles.clear();
      const sync: Step = {
        req: { op: 'SYNC', args: [] },
        what: (r) => {
          if (!r || r.data.byteLength !== 16) return 'the agent\'s background work (queues\' messages, segments\' contents)';
          const b = Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength);
          const id = readI64(b, 0);
          return readI64(b, 8) === KIND.shm ? `shm ${id}: contents from ${files.get(id)?.name ?? '?'}` : `msg ${id}: its messages (sent by the agent's background thread)`;
        },
        check: (r) => {
          const b = Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength);
          if (b.byteLength !== 48 * files.size) return `${b.byteLength / 48} segments' contents read, ${files.size} wanted`;
          for (let at = 0; at < b.byteLength; at += 48) {
            const id = readI64(b, at);
            const f = files.get(id);
            if (!f) return `shm ${id}: contents read, none wanted`;
            files.delete(id);
            const bytes = readI64(b, at + 8);
            if (bytes !== f.size) return `shm ${id}: contents from ${f.name}: ${bytes} bytes read, wanted ${f.size}`;
            const got = b.subarray(at + 16, at + 48).toString('hex');
            if (f.sha256 !== undefined && got !== f.sha256) return `shm ${id}: contents from ${f.name}: SHA-256 ${got} of what was read, the manifest says ${f.sha256} (the image was changed)`;
          }
          return undefined;
        },
      };
      return [sync, ...tails.splice(0), ...shmTails.splice(0)];
    },
    sem(sets: readonly HostSem[]): Step[] {
      const steps: Step[] = [];
      ordered('sem', sets);
      raise(steps, roomySem(sysctls, sets));
      // Operations per semop call: the semopm field of kernel/sem as it is during the batch (32
      // when unknown, SEMOPM of 2.6.26; at most the 512 OP_SEMOPV takes).
      const semopm = Math.min(512, Math.max(1, Number((roomyOf.get('kernel/sem') ?? '').split(' ')[2]) || 32));
      // The SEM_UNDO lists by set, in task order (a set without any gets no per-semaphore lists).
      const undoBySet = new Map<number, { pid: number; adj: number[] }[]>();
      for (const t of tasks) {
        for (const u of t.undo ?? []) {
          let l = undoBySet.get(u.semid);
          if (!l) undoBySet.set(u.semid, (l = []));
          l.push({ pid: t.pid, adj: u.adj });
        }
      }
      // Indexed loops (a restore plans ~10^3 sets, in code mostly not yet optimized); a set
      // without SEM_UNDO lists gets no per-semaphore lists.
      const NO_OPS: readonly { pid: number; x: number }[] = [];
      const SETALL = (): string => 'SETALL';
      const SETVALS = (): string => 'SETVAL of the non-zero values';
      // A set with nothing but its values to set (no SEM_UNDO list, every value in [0, SEMVMX],
      // every sempid as the values leave it — the agent's, or 0 on a semaphore at 0 when SETVALs
      // of the others keep it — or one no task can make, no IPC_SET): a row of the kind's OP_GETV,
      // with SETALL or the SETVALs of the non-zero values.
      const asRow = (s: HostSem): boolean => {
        const n = s.values.length;
        if (needsSet(s.desc)) return false;
        let setall = true;
        for (let k = 0; k < n; k++) {
          const v = s.values[k]!;
          if (v < 0 || v > SEMVMX) return false;
          if (v === 0 && s.pids[k] === 0) setall = false;
        }
        for (let k = 0; k < n; k++) {
          const by = s.pids[k]!;
          const last = setall || s.values[k] !== 0 ? 1 : 0;
          if (by !== last && can(by)) return false;
        }
        const data = new Uint8Array(2 * n);
        for (let k = 0; k < n; k++) {
          data[2 * k] = s.values[k]! & 0xff;
          data[2 * k + 1] = s.values[k]! >> 8;
        }
        row(steps, 'sem', { d: s.desc, arg: n, data, ...(setall ? { what: SETALL } : { setval: true, what: SETVALS }) });
        return true;
      };
      // Everything else: SETVALs, SEM_UNDO adjustments by their holders, plain semops where
      // clamping needs room, sempid calls, IPC_SET — its own steps (rarely: in a function of its
      // own, so that the common case above stays small for the JIT).
      const fullSet = (s: HostSem, undos: { pid: number; adj: number[] }[] | undefined): void => {
        const id = s.desc.id;
        const n = s.values.length;
        // Each holder's adjustment is made by its own semop(−adj, SEM_UNDO) from value + adj.
        const ops: (readonly { pid: number; x: number }[])[] = new Array(n);
        for (let k = 0; k < n; k++) ops[k] = undos ? [] : NO_OPS;
        for (const u of undos ?? []) {
          u.adj.forEach((adj, k) => {
            // sem_op is a short: split an adjustment into steps of at most SEMVMX.
            for (let left = -adj; left !== 0;) {
              const x = Math.max(-SEMVMX, Math.min(SEMVMX, left));
              (ops[k] as { pid: number; x: number }[]).push({ pid: u.pid, x });
              left -= x;
            }
          });
        }
        // The sempid each semaphore has so far: SETALL and SETVAL record the caller's (the agent,
        // pid 1; semctl_main and semctl_setval since Linux 4.5, a5f4db877177 "ipc/sem: make semctl
        // setting sempid consistent"; this backend needs 5.5 for set_tid), a semop its task's.
        // SETALL (one call) unless it would give a pid to a semaphore that must keep sempid 0: one
        // whose value stays 0 and whose saved sempid is 0 (those get SETVALs of the others).
        const pre: number[] = new Array(n);
        let setall = true;
        for (let k = 0; k < n; k++) {
          let v = s.values[k]!;
          for (let j = 0; j < ops[k]!.length; j++) v -= ops[k]![j]!.x;
          pre[k] = Math.max(0, Math.min(SEMVMX, v));
          if (pre[k] === 0 && s.pids[k] === 0) setall = false;
        }
        const lastPid: number[] = new Array(n);
        for (let k = 0; k < n; k++) lastPid[k] = setall || pre[k] !== 0 ? 1 : 0;
        if (setall) {
          const data = new Uint8Array(2 * n);
          for (let k = 0; k < n; k++) {
            data[2 * k] = pre[k]! & 0xff;
            data[2 * k + 1] = pre[k]! >> 8;
          }
          steps.push(get('sem', s.desc, n, 0, { data, what: SETALL }));
        } else {
          steps.push(get('sem', s.desc, n));
          pre.forEach((v, k) => {
            if (v !== 0) steps.push({ req: { op: 'SETVAL', args: [0, id, k, v] }, what: () => `sem ${id}[${k}]: SETVAL ${v}` });
          });
        }
        for (let k = 0; k < n; k++) {
          const want = s.values[k]!;
          if (ops[k]!.length === 0 && pre[k] === want) continue; // no adjustment: the value is set
          let cur = pre[k]!;
          const todo = [...ops[k]!];
          const plain = (x: number): void => {
            steps.push({ req: { op: 'SEMOP', args: [0, id, k, x, 0] }, what: () => `sem ${id}[${k}]: semop ${x}` });
            cur += x;
            lastPid[k] = 1;
          };
          while (todo.length > 0) {
            const i = todo.findIndex((o) => cur + o.x >= 0 && cur + o.x <= SEMVMX);
            if (i < 0) {
              // Make room with a plain semop (no adjustment), undone below.
              const o = todo[0]!;
              plain(cur + o.x < 0 ? Math.min(SEMVMX - cur, -(cur + o.x)) : -Math.min(cur, cur + o.x - SEMVMX));
              continue;
            }
            const o = todo.splice(i, 1)[0]!;
            steps.push({ req: { op: 'SEMOP', args: [o.pid, id, k, o.x, SEM_UNDO] }, what: () => `sem ${id}[${k}]: SEM_UNDO ${-o.x} of task ${o.pid}` });
            cur += o.x;
            lastPid[k] = o.pid;
          }
          while (cur !== want) plain(Math.max(-SEMVMX, Math.min(SEMVMX, want - cur)));
        }
        // sempid: the saved task makes a last zero-sum pair of semops (no SEM_UNDO) on each of its
        // semaphores whose sempid is not already its own, all of them in one semop call per sign
        // (perform_atomic_semop records the caller as sempid of every semaphore of the call).
        let byTask: Map<number, number[]> | undefined;
        for (let k = 0; k < n; k++) {
          const by = s.pids[k]!;
          if (by === lastPid[k] || !can(by)) continue;
          byTask ??= new Map();
          const ks = byTask.get(by);
          if (ks) ks.push(k);
          else byTask.set(by, [k]);
        }
        for (const [by, ks] of byTask ?? []) {
          for (let i = 0; i < ks.length; i += semopm) {
            const part = ks.slice(i, i + semopm);
            for (const sign of [1, -1]) {
              const data = Buffer.alloc(6 * part.length);
              part.forEach((k, j) => {
                data.writeUInt16LE(k, 6 * j);
                data.writeInt16LE(sign * (s.values[k]! < SEMVMX ? 1 : -1), 6 * j + 2);
              });
              steps.push({ req: { op: 'SEMOPV', args: [by, id], data }, what: () => `sem ${id}[${part.join(',')}]: semop ${sign > 0 ? 'there' : 'and back'} in task ${by} (sempid)` });
            }
          }
        }
        if (needsSet(s.desc)) steps.push(set('sem', s.desc));
      };
      for (let si = 0; si < sets.length; si++) {
        const s = sets[si]!;
        const undos = undoBySet.get(s.desc.id);
        if (!undos && asRow(s)) continue;
        flush(steps);
        fullSet(s, undos);
      }
      flush(steps);
      return steps;
    },
    shm(segments: readonly HostShm[]): Step[] {
      const steps: Step[] = [];
      ordered('shm', segments);
      raise(steps, roomyShm(sysctls, segments));
      // lpid: the saved task attaches and detaches last (unless the last attachment was its own),
      // all of a task's segments in one OP_SHMTOUCHV after every segment's own steps (a frame
      // forwarded to a holder is a round trip); IPC_RMID of SHM_DEST segments after those.
      const touches = new Map<number, number[]>();
      const removals: Step[] = [];
      for (const m of segments) {
        const id = m.desc.id;
        steps.push(get('shm', m.desc, m.size, can(m.cpid) ? m.cpid : 0));
        // The segment's lpid as the plan goes: 0 when new (newseg), then whoever attached last
        // (do_shmat and shm_close record the caller).
        let lpid = 0;
        if (m.pages) {
          // The contents are in a pages image the agent reads itself and hashes (files.ts); the
          // digest it answers must be the manifest's, when there is a manifest (not in a CRIU dump).
          const name = `pages-${m.pages.id}.img`;
          const size = opts.pages?.sizes.get(name);
          if (!opts.pages || size === undefined) throw new HostError(`shm ${id}: its contents are in ${name}, which this restore was not given`);
          const listed = pendingPages().get(name);
          if (m.pages.runs.length > 0) {
            // The agent's background threads read it while the rest goes on; the bytes read and
            // their SHA-256 come back with msgTail's OP_SYNC, checked there.
            steps.push({
              req: { op: 'SHMFILE', args: [0, id], data: shmFileData(join(opts.pages.dir, name), m.pages.runs) },
              what: () => `shm ${id}: contents from ${name}`,
              expect: 0,
            });
            shmFiles.set(id, { name, size, ...(listed ? { sha256: listed.sha256 } : {}) });
            lpid = 1;
          }
        } else if (!allZero(m.data)) {
          steps.push({ req: { op: 'SHMWRITE', args: [0, id], data: m.data }, what: () => `shm ${id}: contents (written, then compared)` });
          lpid = 1;
        }
        let attached = false;
        for (const t of tasks) {
          const bases = new Map<number, number>();
          for (const a of t.attach) if (a.shmid === id && !bases.has(a.start - a.offset)) bases.set(a.start - a.offset, a.flags);
          for (const [base, flags] of bases) {
            steps.push({ req: { op: 'SHMAT', args: [t.pid, id, base, flags] }, what: () => `shm ${id}: attach at 0x${base.toString(16)} in task ${t.pid}`, expect: base });
            attached = true;
            lpid = t.pid;
          }
        }
        // A destroyed segment lives while attached: the agent holds it when no saved task does.
        if (m.desc.mode & SHM_DEST && !attached) {
          steps.push({ req: { op: 'SHMAT', args: [0, id, 0, 0o10000 /* SHM_RDONLY */] }, what: () => `shm ${id}: attach in the agent` });
          lpid = 1;
        }
        if (can(m.lpid) && lpid !== m.lpid) {
          const ids = touches.get(m.lpid);
          if (ids) ids.push(id);
          else touches.set(m.lpid, [id]);
        }
        if (m.desc.mode & SHM_LOCKED) steps.push({ req: { op: 'CTL', args: [0, KIND.shm, id, SHM_LOCK, 0] }, what: () => `shm ${id}: SHM_LOCK` });
        if (needsSet(m.desc)) steps.push(set('shm', m.desc));
        if (m.desc.mode & SHM_DEST) {
          removals.push({ req: { op: 'CTL', args: [0, KIND.shm, id, IPC_RMID, 0] }, what: () => `shm ${id}: IPC_RMID (SHM_DEST)` });
        }
      }
      // After the background work (msgTail): a segment may still be filling until then.
      for (const [by, ids] of touches) {
        const data = new Uint8Array(new BigInt64Array(ids.map(BigInt)).buffer);
        const what = (i: number): string => `shm ${ids[i]}: attach and detach in task ${by} (lpid)`;
        shmTails.push({
          req: { op: 'SHMTOUCHV', args: [by], data },
          // On a failure the answer names the index of the segment that failed.
          what: (r) => (r && r.data.byteLength === 4 ? what(Buffer.from(r.data).readUInt32LE(0)) : `${ids.length} segments: attach and detach in task ${by} (lpid)`),
          expect: ids.length,
        });
      }
      shmTails.push(...removals);
      return steps;
    },
    end(): Step[] {
      const steps: Step[] = [];
      for (const pid of opts.standIns ?? []) steps.push({ req: { op: 'KILL', args: [0, pid] }, what: () => `stand-in task ${pid}: kill` });
      for (const [k, v] of Object.entries(sysctls) as [IpcSysctl, string][]) {
        if (k.endsWith('_next_id')) continue;
        if (roomyOf.has(k) && roomyOf.get(k) === v.trim().split(/\s+/).join(' ')) continue;
        if (k === 'kernel/auto_msgmni' && v.trim() === '0') continue;
        steps.push(sysctl(k, v.trim()));
      }
      for (const k of ['msg', 'sem', 'shm'] as const) {
        const v = sysctls[`kernel/${k}_next_id`];
        if (v !== undefined && Number(v) >= 0) steps.push(sysctl(`kernel/${k}_next_id`, v.trim()));
      }
      return steps;
    },
  };
}

/** The whole plan at once: every part of planner(), in order. */
export function restorePlan(ns: HostIpcNs, opts: PlanOptions = {}): Step[] {
  const p = planner(ns.sysctls, ns.tasks, opts);
  return [...p.start(), ...p.msg(packQueues(ns.msg)), ...p.sem(ns.sem), ...p.shm(ns.shm), ...p.msgTail(), ...p.end()];
}

/** OP_SHMFILE's data: the path, a NUL, then each run's byte offset and length (u64 each). */
function shmFileData(path: string, runs: readonly (readonly [number, number])[]): Uint8Array {
  const p = Buffer.from(`${path}\0`);
  const b = Buffer.allocUnsafe(p.length + 16 * runs.length);
  p.copy(b);
  runs.forEach(([first, n], i) => {
    b.writeBigUInt64LE(BigInt(first * PAGE), p.length + 16 * i);
    b.writeBigUInt64LE(BigInt(n * PAGE), p.length + 16 * i + 8);
  });
  return b;
}

/** Checks a plan's answers; throws HostError naming the first step that failed. */
function checkAnswers(steps: readonly Step[], answers: readonly Response[]): void {
  for (let i = 0; i < answers.length; i++) {
    const r = answers[i]!;
    const s = steps[i]!;
    if (r.errno !== 0) throw new HostError(`restore: ${s.what(r)}: ${errnoName(r.errno)}`, errnoName(r.errno));
    if (s.expect !== undefined && r.ret !== s.expect) throw new HostError(`restore: ${s.what()}: got ${r.ret}, wanted ${s.expect}`);
    const wrong = s.check?.(r);
    if (wrong !== undefined) throw new HostError(`restore: ${s.what()}: ${wrong}`);
  }
}

/** Runs a plan in an agent; throws HostError naming the first step that failed. */
export async function runPlan(agent: Agent, steps: Step[]): Promise<void> {
  checkAnswers(steps, await agent.run(steps.map((s) => s.req)));
}

/** How a restore is made (restoreHost, restoreImages). */
export type HostRestoreOptions = {
  /** An existing 'ns' agent to restore into (a fresh IPC namespace of it; its holders killed). */
  agent?: Agent;
  /** A new 'ns' agent the caller started before reading the images (its start, a process spawn
   *  and clone3, overlaps the reading); used and closed as one started here. */
  starting?: Promise<Agent>;
  /** Re-dump the result and compare it field by field (default true). */
  verify?: boolean;
  /** Pages images left in the directory (files.ts). */
  pages?: PagesFiles;
} & AgentOptions;

/** The agent to restore with: `agent` (reset), `starting`, or a new one. */
async function agentFor(opts: HostRestoreOptions): Promise<Agent> {
  const agent = opts.agent ?? (await (opts.starting ?? Agent.start('ns', opts)));
  if (opts.agent) await agent.call('RESET', [], undefined, 'reset of the agent\'s IPC namespace');
  return agent;
}

/** Refuses an agent that cannot hash pages images (no libcrypto) when `needed`. */
function canHash(agent: Agent, needed: boolean): void {
  if (needed && !agent.sha256) throw new HostError('this agent cannot hash pages images (no libcrypto): read them into memory (loadRestoreImages)');
}

/** The pages images of `segments` the agent reads; refused when it cannot hash them. Any other the manifest lists is checked here. */
function pagesRead(agent: Agent, pages: PagesFiles | undefined, segments: readonly HostShm[]): void {
  if (!pages) return;
  const read = new Set(segments.flatMap((m) => (m.pages && m.pages.runs.length > 0 ? [`pages-${m.pages.id}.img`] : [])));
  canHash(agent, read.size > 0);
  checkUnread(pages, read);
}

/** The end of a restore: the result re-dumped and compared with `saved()` (unless `verify` is false). */
async function verified(agent: Agent, saved: () => HostIpcNs, verify: boolean | undefined, ops: number): Promise<HostRestoreResult> {
  if (verify === false) return { agent, restored: null, report: [], missing: [], ops };
  const ns = saved();
  const restored = await dumpWith(agent, 0, { shmData: false });
  // The contents were compared by the plan (see the design note): the saved ones are what is there.
  const savedShm = new Map(ns.shm.map((m) => [m.desc.id, m]));
  for (const m of restored.shm) {
    const s = savedShm.get(m.desc.id);
    m.data = s && s.size === m.size ? s.data : new Uint8Array(m.size);
  }
  const report = compareNs(ns, restored);
  const missing: string[] = ns.source === 'criu' ? [...CRIU_MISSING] : [];
  for (const t of ns.tasks) if (t.undo === null) missing.push(`task ${t.pid}: SEM_UNDO adjustments (not in the images: a real kernel's cannot be read)`);
  return { agent, restored, report, missing, ops };
}

/**
 * Restores `ns` into new pid + IPC namespaces (or, with `agent`, into a fresh IPC namespace of an
 * existing 'ns' agent, whose holder tasks are killed first). Resolves with the agent, which holds
 * the namespaces; refuses (killing a new agent) on any failure.
 */
export async function restoreHost(ns: HostIpcNs, opts: HostRestoreOptions = {}): Promise<HostRestoreResult> {
  const agent = await agentFor(opts);
  try {
    // Stand-ins for last pids, where their pid can be had (else the field is reported lost).
    const wanted = standInPids(ns);
    const standIns = await makeStandIns(agent, wanted);
    const steps = restorePlan(ns, { actors: new Set([1, ...ns.tasks.map((t) => t.pid), ...standIns]), standIns, ...(opts.pages ? { pages: opts.pages } : {}) });
    pagesRead(agent, opts.pages, ns.shm);
    await runPlan(agent, steps);
    return await verified(agent, () => ns, opts.verify, steps.length + wanted.length);
  } catch (e) {
    if (!opts.agent) await agent.close();
    throw e;
  }
}

/**
 * Restores the namespace of a directory's images (fromImages' input) as restoreHost does, but
 * kind by kind: each kind's operations go to the agent as soon as they are planned, and the agent
 * carries them out while the next kind is decoded — segments first (little to decode, much for
 * the agent: their contents, which it reads from the pages images while this process decodes the
 * rest), then sets, then queues (their records straight from the image; their messages then go on
 * in the agent's background threads), then what waits for them (msgTail) and the end. The
 * queues go last because they are most of the bytes: a frame is carried out once all of it has
 * arrived, and what the socket cannot take at once waits for this process's event loop, which
 * does not run while it decodes. Nothing is observable before the end (nobody else is in the new namespaces), and a failure at any point — an image
 * refused halfway, an operation failed — kills the agent and the namespaces with it. Resolves
 * with the result and the namespace read (`ns`; its queues' messages, which the restore sent
 * packed, are decoded once all is sent when the restore is verified, else on first use of `ns`).
 */
export async function restoreImages(images: ReadonlyMap<string, Uint8Array>, opts: HostRestoreOptions = {}): Promise<HostRestoreResult & { ns: HostIpcNs }> {
  let o: OpenedImages;
  let tasks: HostTask[];
  try {
    o = openImages(images, opts.pages);
    tasks = readTasks(o);
  } catch (e) {
    // Refused before anything was created: a `starting` agent is ours to end.
    if (!opts.agent) await (await opts.starting?.catch(() => undefined))?.close();
    throw e;
  }
  const agent = await agentFor(opts);
  const sent: { steps: Step[]; answers: Promise<Response[]> }[] = [];
  try {
    // Refused before anything is created (pagesRead checks again, per segment, later).
    canHash(agent, (opts.pages?.sizes.size ?? 0) > 0);
    const wanted = standInsFor(tasks, lastPidsOf(o));
    const standIns = await makeStandIns(agent, wanted);
    const plan = planner(sysctlsOf(o.v), tasks, { actors: new Set([1, ...tasks.map((t) => t.pid), ...standIns]), standIns, ...(opts.pages ? { pages: opts.pages } : {}) });
    const go = (steps: Step[]): void => {
      const answers = agent.run(steps.map((s) => s.req));
      answers.catch(() => undefined); // awaited below, in order
      sent.push({ steps, answers });
    };
    go(plan.start());
    const shm = readSegments(o);
    pagesRead(agent, opts.pages, shm);
    go(plan.shm(shm));
    const sem = readSets(o);
    checkUndo(o, tasks, sem);
    go(plan.sem(sem));
    // The messages packed straight from the image (no object each), or decoded when not plain.
    const packed = readPackedQueues(o);
    let msg = packed ? undefined : readQueues(o);
    go(plan.msg(packed ?? packQueues(msg!)));
    go(plan.msgTail());
    go(plan.end());
    // The namespace the images hold, with the queues' messages decoded (the restore itself sent
    // them packed): for the verification, decoded now, while the agent works; else on first use
    // of the result's `ns`.
    let ns: HostIpcNs | undefined;
    const namespace = (): HostIpcNs => (ns ??= namespaceOf(o, (msg ??= readQueues(o)), sem, shm, tasks));
    if (opts.verify !== false) namespace();
    let ops = wanted.length;
    for (const s of sent) {
      checkAnswers(s.steps, await s.answers);
      ops += s.steps.length;
    }
    const r = await verified(agent, namespace, opts.verify, ops);
    return {
      ...r,
      get ns(): HostIpcNs {
        return namespace();
      },
    };
  } catch (e) {
    if (!opts.agent) await agent.close();
    throw e;
  }
}
