/**
 * Design note: the privileged part of a restore — what CRIU's restorer blob and parasite do from
 * inside the restored tasks and no syscall of the model offers: install a thread's program state
 * (its "registers and stack"), credentials at the very end (after every privileged step), pending
 * signals, the stop state, the status of a zombie, anonymous memory content, a directory read
 * position, and, where the kernel profile has no ns_last_pid, the pid cursor. It never picks an id:
 * every pid, fd and IPC id comes from the strategy's syscalls (strategy.ts) before this runs.
 * Parked syscalls are re-invoked, not copied: the call runs again in the restored kernel and parks
 * on the wait channel it computes there (channels name kernel-internal ids).
 */
import { O_CREAT, O_TRUNC, O_WRONLY } from '../abi/constants.js';
import type { Kernel } from '../syscalls/scheduler.js';
import { Sys } from '../syscalls/sys.js';
import { Block } from '../kernel/sched/block.js';
import type { BlockState } from '../kernel/state.js';
import { CrError } from './errors.js';
import type { CkBlocked, CkFsNode, CkProc, CkTask } from './model.js';
import { lookupPath } from './dump.js';
import { fillAnonPages } from '../kernel/mm/mm.js';
import { storeAdopt } from '../kernel/mm/pages.js';
import { findById, type IpcNs } from '../kernel/ipc/util.js';

export function setDirPos(k: Kernel, fid: number, dirPos: number): void {
  k.file(fid).dirPos = dirPos;
}

export function fillAnon(k: Kernel, kid: number, start: number, data: Uint8Array): void {
  const m = k.mm(k.t(kid).mm).maps.find((x) => x.start === start);
  if (!m) throw new CrError('restore', 'memory', `kid ${kid}`, `no mapping at 0x${start.toString(16)}`);
  fillAnonPages(m, m.start, data.subarray(0, m.len));
}

/**
 * A restored shm segment takes `data` (whole contents, handed over by the caller: the images are
 * not used after this restore) as its pages without a copy. False when it cannot (a page of data
 * is all zero, or the segment already has pages): the caller writes the contents instead.
 */
export function adoptShmContents(k: Kernel, kid: number, id: number, data: Uint8Array): boolean {
  const seg = findById((k.ipcNs(k.t(kid).ipcns) as IpcNs).shm, id);
  if (!seg || data.length > seg.segsz) throw new CrError('restore', 'ipc-shm', `shm ${id}`, 'no such segment of that size to fill');
  return storeAdopt(seg.store, 0, data);
}

export function setMmapBase(k: Kernel, kid: number, base: number): void {
  k.mm(k.t(kid).mm).mmapBase = base;
}

export function setExitStatus(k: Kernel, kid: number, status: number, exitCode: number): void {
  k.proc(kid).status = status;
  const t = k.s.tasks.get(kid);
  if (t) t.exitCode = exitCode;
}

/** What a zombie keeps of its thread: name and credentials. */
export function setIdentity(k: Kernel, kid: number, t: CkTask): void {
  const task = k.t(kid);
  task.comm = t.comm;
  task.cred = structuredClone(t.cred);
}

export function setLastPid(k: Kernel, nsId: number, lastPid: number): void {
  k.pidNs(nsId).lastPid = lastPid;
}

function deadline(k: Kernel, remainNs: number | null): number | null {
  return remainNs === null ? null : k.now + remainNs;
}

/** Credentials, pending signals, program state, stop state of one restored thread (and its process). */
export function installTask(k: Kernel, kid: number, t: CkTask, proc: CkProc | null): void {
  setIdentity(k, kid, t);
  const task = k.t(kid);
  task.pending = [...t.pending];
  task.prog = t.prog ? structuredClone(t.prog) : null;
  task.exitCode = t.exitCode;
  if (t.blocked && t.state !== 'blocked') {
    // Woken (or completed) but not yet run: it re-runs the call (or takes the result) at its turn.
    task.blocked = { call: structuredClone(t.blocked.call), wchan: '', deadlineNs: deadline(k, t.blocked.remainNs), result: structuredClone(t.blocked.result), data: structuredClone(t.blocked.data), seq: 0 };
  }
  if (proc) {
    const p = k.proc(task.tgid);
    p.pending = [...proc.pending];
    p.stopped = proc.stopped;
    p.stopReport = proc.stopReport;
    p.contReport = proc.contReport;
  }
  if (t.state === 'stopped') {
    task.state = 'stopped';
    k.unqueue(kid);
  }
}

/** Re-invokes a parked syscall; it must block again (same state), and is parked where it blocks. */
export function repark(k: Kernel, kid: number, b: CkBlocked, what: string): void {
  const t = k.t(kid);
  // A timer that has expired but not fired yet (timers fire when the CPU idles) must sleep again
  // too: the call is re-run with a far deadline to learn its wait channel, then parked with the
  // saved one.
  const due = deadline(k, b.remainNs);
  const resuming: BlockState = { call: structuredClone(b.call), wchan: '', deadlineNs: due === null ? null : Number.MAX_VALUE, result: null, data: structuredClone(b.data), seq: 0 };
  k.resuming = resuming;
  try {
    k.invoke(kid, b.call.name, structuredClone(b.call.args), false);
  } catch (e) {
    if (e instanceof Block) {
      k.park(t, { call: structuredClone(b.call), wchan: e.wchan, deadlineNs: due === null ? e.deadlineNs : due, result: null, data: e.data });
      return;
    }
    throw CrError.wrap('restore', 'park', what, e);
  } finally {
    k.resuming = null;
  }
  throw new CrError('restore', 'park', what, `${b.call.name} did not block again: the restored state differs from the saved one`);
}

/** Puts the restored threads in the run queue in their saved order (after everything else). */
export function orderRunQueue(k: Kernel, restored: number[], order: number[]): void {
  const mine = new Set(restored);
  const runq = k.s.runq.filter((kid) => !mine.has(kid));
  const queued = new Set<number>();
  for (const kid of order) {
    if (k.t(kid).state === 'running' && !queued.has(kid)) {
      queued.add(kid);
      runq.push(kid);
    }
  }
  k.setRunQueue(runq);
}

/** --with-fs: writes the saved tree of files (through syscalls), then their owners and modes. */
export function writeFs(k: Kernel, restorerKid: number, nodes: CkFsNode[]): void {
  const sys = new Sys(k, restorerKid);
  for (const n of nodes) {
    if (n.type === 'dir') {
      if (!lookupPath(k, n.path)) sys.mkdir(n.path, n.perm);
    } else {
      const fd = sys.open(n.path, O_WRONLY | O_CREAT | O_TRUNC, n.perm);
      try {
        if (n.data && n.data.length > 0) sys.write(fd, n.data);
      } finally {
        sys.close(fd);
      }
    }
    const ino = lookupPath(k, n.path)!;
    ino.perm = n.perm;
    ino.uid = n.uid;
    ino.gid = n.gid;
  }
}
