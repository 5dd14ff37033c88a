/**
 * What the web view shows, computed from a kernel's state (a `snapshot()`: plain data, read only).
 * The page (src/web/static) draws this JSON; nothing here changes the kernel.
 */
import type { KernelState, TaskState } from '../kernel/state.js';
import type { IpcIds, IpcPerm } from '../kernel/ipc/util.js';
import type { Msg } from '../kernel/ipc/msg.js';
import { formatNextSyscallData } from '../kernel/nsd/nsd.js';

export interface ThreadView {
  kid: number;
  /** The thread's ids at every pid-namespace level, initial namespace first (NSpid). */
  pids: number[];
  state: string;
  comm: string;
  /** next_syscall_data as its proc file reads (`UNSET` or `LONG<n> …`). */
  nsd: string;
  /** The wait channel of a sleeping thread ('' otherwise). */
  wchan: string;
}

export interface ProcessView {
  tgid: number;
  /** Parent's tgid (kid), 0 for the initial init. */
  parent: number;
  pids: number[];
  /** Pid-namespace id of the process and its depth (0: initial). */
  pidns: number;
  level: number;
  ipcns: number;
  comm: string;
  argv: string[];
  state: string;
  fdtable: number;
  threads: ThreadView[];
}

/** A message queue; `mtype` is decimal text, since a 64-bit mtype may exceed what a JSON number holds. */
export interface MsgQueueView { id: number; key: number; messages: { mtype: string; text: string }[]; lspid: number; lrpid: number; waiters: number[] }
export interface SemView { id: number; key: number; values: number[]; waiters: number[] }
export interface ShmView { id: number; key: number; size: number; nattch: number; attached: number[] }
export interface IpcNsView { id: number; msg: MsgQueueView[]; sem: SemView[]; shm: ShmView[] }

export interface FdView { fd: number; file: number; cloexec: boolean }
export interface FileView { id: number; kind: string; path: string; flags: number; pos: number; ino: number; refs: number; pipe: 'r' | 'w' | '' }
export interface FdTableView { id: number; procs: number[]; fds: FdView[] }

/** The c/r part: a dump/restore's progress and before/after tables (from `nsd demo`). */
export interface CrView {
  progress: { done: number; total: number; what: string; phase: string }[];
  /** Header row then one row per field; cells ending in `*` are fields that strategy lost. */
  table: string[][];
  verdicts: Record<string, string>;
}

export interface View {
  status: 'running' | 'ended' | 'panic';
  message: string;
  profile: string;
  clockNs: number;
  steps: number;
  processes: ProcessView[];
  ipc: IpcNsView[];
  fdtables: FdTableView[];
  files: FileView[];
  cr: CrView | null;
  /** The last console output (set by the driver). */
  console: string;
}

const dec = new TextDecoder();

function nsLevel(s: KernelState, nsId: number): number {
  return s.pidns.get(nsId)?.level ?? 0;
}

function threadView(t: TaskState): ThreadView {
  return {
    kid: t.kid, pids: [...t.pids], state: t.state, comm: t.comm, nsd: formatNextSyscallData(t.nsd).trim(),
    wchan: t.state === 'blocked' && t.blocked ? t.blocked.wchan : '',
  };
}

/** Objects of one IPC id space, in id order. */
function objects<T extends { perm: IpcPerm }>(ids: IpcIds<T>): T[] {
  return [...ids.objs.values()].sort((a, b) => a.perm.id - b.perm.id);
}

/** Sleepers whose wait channel is `wchan`, in the order they will be woken (their sleep sequence). */
function sleepersOn(s: KernelState, wchan: string): number[] {
  if (!wchan) return [];
  return [...s.tasks.values()]
    .filter((t) => t.state === 'blocked' && t.blocked?.wchan === wchan)
    .sort((a, b) => a.blocked!.seq - b.blocked!.seq)
    .map((t) => t.kid);
}

export function buildView(s: KernelState, status: View['status'] = 'running', message = ''): View {
  const processes: ProcessView[] = [];
  for (const p of s.procs.values()) {
    const leader = s.tasks.get(p.tgid);
    if (!leader || leader.state === 'dead') continue;
    processes.push({
      tgid: p.tgid, parent: p.parent, pids: [...leader.pids], pidns: leader.pidns, level: nsLevel(s, leader.pidns), ipcns: leader.ipcns,
      comm: leader.comm, argv: leader.prog?.argv ?? [], state: leader.state, fdtable: leader.fdtable,
      threads: p.threads.map((kid) => s.tasks.get(kid)).filter((t): t is TaskState => !!t && t.state !== 'dead').map(threadView),
    });
  }
  processes.sort((a, b) => a.tgid - b.tgid);

  const ipc: IpcNsView[] = [];
  for (const ns of s.ipcns.values()) {
    const mmsAttaching = (shmid: number) => {
      const out: number[] = [];
      for (const p of processes) {
        const mm = s.mms.get(s.tasks.get(p.tgid)?.mm ?? -1);
        if (mm?.maps.some((m) => m.kind === 'shm' && m.ipcns === ns.id && m.shmid === shmid)) out.push(p.tgid);
      }
      return out;
    };
    ipc.push({
      id: ns.id,
      msg: objects(ns.msg).map((q) => ({
        id: q.perm.id, key: q.perm.key, lspid: q.lspid, lrpid: q.lrpid,
        messages: q.ring.filter((m): m is Msg => m !== null).map((m) => ({ mtype: String(m.mtype), text: dec.decode(m.text.subarray(0, 64)) })),
        waiters: [...sleepersOn(s, q.rwchan), ...sleepersOn(s, q.swchan)],
      })),
      sem: objects(ns.sem).map((x) => ({ id: x.perm.id, key: x.perm.key, values: [...x.vals], waiters: sleepersOn(s, x.wchan) })),
      shm: objects(ns.shm).map((x) => ({ id: x.perm.id, key: x.perm.key, size: x.segsz, nattch: x.nattch, attached: mmsAttaching(x.perm.id) })),
    });
  }

  const fdtables: FdTableView[] = [];
  const used = new Set<number>();
  for (const ft of s.fdtables.values()) {
    const procs = processes.filter((p) => p.fdtable === ft.id).map((p) => p.tgid);
    if (procs.length === 0) continue;
    const fds = [...ft.fds].sort((a, b) => a[0] - b[0]).map(([fd, file]) => ({ fd, file, cloexec: ft.cloexec.has(fd) }));
    for (const f of fds) used.add(f.file);
    fdtables.push({ id: ft.id, procs, fds });
  }
  const files: FileView[] = [...used].sort((a, b) => a - b).map((id) => {
    const f = s.files.get(id)!;
    const pipe = f.kind === 'pipe' ? ((f.flags & 3) === 1 ? 'w' : 'r') : '';
    return { id, kind: f.kind, path: f.path, flags: f.flags, pos: f.pos, ino: f.ino, refs: f.refs, pipe };
  });

  if (s.panicked && status === 'running') {
    status = 'panic';
    message = `Kernel panic - not syncing: ${s.panicked}`;
  }
  return { status, message, profile: s.profile, clockNs: s.clockNs, steps: s.sched.steps, processes, ipc, fdtables, files, cr: null, console: '' };
}
