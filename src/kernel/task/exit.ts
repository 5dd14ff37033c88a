/**
 * Exit and reaping (kernel/exit.c, kernel/pid_namespace.c).
 *
 * Design note. `exitThread` is do_exit() for one thread: it frees next_syscall_data, leaves the
 * thread group, and when it is the last thread it runs the process-wide teardown: subsystem hooks
 * (SEM_UNDO), mm, files, reparenting of children (forget_original_parent → find_new_reaper: a
 * subreaper ancestor in the same namespace, else the namespace's init), and exit_notify: the parent
 * gets the exit signal, and the process becomes a zombie — or is reaped at once when the parent
 * ignores SIGCHLD. When the exiting process is the init of a pid namespace,
 * zap_pid_ns_processes() kills every other task in it, and the namespace accepts no new task
 * (fork into it fails with ENOMEM). The initial namespace's init exiting is a kernel panic.
 */
import { SIGCHLD, SIGKILL, SIG_IGN } from '../../abi/constants.js';
import type { KernelCore } from '../core.js';
import type { ProcState, TaskState } from '../state.js';
import { freePid } from '../pid/pid.js';
import { putFdTable } from '../fs/fdtable.js';
import { putMm } from '../mm/mm.js';
import { putIpcNs } from '../ipcns.js';
import { SUBSYSTEMS } from '../subsystem.js';
import { deliverSignal } from './signal.js';

/** W_EXITCODE(code, 0). */
export function exitStatus(code: number): number {
  return (code & 0xff) << 8;
}

/** exit_group(): every thread exits with `status` (a wait status). */
export function exitGroup(k: KernelCore, tgid: number, status: number): void {
  const proc = k.s.procs.get(tgid);
  if (!proc || proc.groupExit) return;
  proc.groupExit = true;
  proc.status = status;
  // Other threads first, the caller's group leader last, as zap_other_threads + do_exit.
  for (const kid of [...proc.threads].reverse()) {
    const t = k.s.tasks.get(kid);
    if (t && t.state !== 'zombie' && t.state !== 'dead') exitThread(k, t, status);
  }
}

/** A fatal signal: the group dies with the signal number as its wait status. */
export function exitGroupBySignal(k: KernelCore, tgid: number, sig: number): void {
  exitGroup(k, tgid, sig & 0x7f);
}

/** do_exit() for one thread. `status` is the wait status if this ends the process. */
export function exitThread(k: KernelCore, t: TaskState, status: number): void {
  if (t.state === 'zombie' || t.state === 'dead') return;
  const proc = k.proc(t.tgid);
  const live = proc.threads.filter((kid) => {
    const x = k.t(kid);
    return x.state !== 'zombie' && x.state !== 'dead';
  });
  const last = live.length === 1 && live[0] === t.kid;
  // do_exit(): group_dead && is_global_init(tsk) → panic("Attempted to kill init!"), before
  // anything of the task is torn down (the state stays as it is: consistent, pid 1 still held).
  if (last && proc.tgid === k.pidNs(k.s.rootPidNs).reaper) {
    const code = proc.groupExit ? proc.status : status;
    k.panic(`Attempted to kill init! exitcode=0x${code.toString(16).padStart(8, '0')}`);
  }
  if (!proc.groupExit && proc.threads.length === 1) proc.status = status;
  // exit_next_syscall_data() (patch 1/5).
  t.nsd = null;
  dropFromQueues(k, t);
  releaseVfork(k, t);
  t.exitCode = status;
  // The hooks still see the program's last state (the library keeps it as the task's result).
  for (const sub of SUBSYSTEMS) sub.exitTask?.(k, t);
  if (last) for (const sub of SUBSYSTEMS) sub.exitProcess?.(k, proc, t);
  t.prog = null;
  // exit_mm, exit_files, exit_task_namespaces: each thread drops its own references.
  putMm(k, t.mm, t.tgid);
  putFdTable(k, t.fdtable);
  putIpcNs(k, t.ipcns);
  t.state = 'zombie';
  if (!last) {
    // A non-leader thread is released at once (autoreaped); a leader waits for the group.
    if (t.kid !== t.tgid) releaseThread(k, t, proc);
    return;
  }
  const ns = k.pidNs(t.pidns);
  if (ns.reaper === proc.tgid) zapPidNs(k, ns.id, proc.tgid);
  forgetOriginalParent(k, proc);
  exitNotify(k, proc);
}

function dropFromQueues(k: KernelCore, t: TaskState): void {
  if (t.state === 'blocked') {
    // Let the core forget the wait-queue entry.
    k.makeRunnable(t.kid);
  }
  t.blocked = null;
  k.unqueue(t.kid);
}

/** A vfork child that exits or execs releases its parent (mm_release → complete_vfork_done). */
export function releaseVfork(k: KernelCore, t: TaskState): void {
  if (!t.vforkParent) return;
  t.vforkParent = 0;
  k.wake(`vfork:${t.kid}`);
}

/** zap_pid_ns_processes(): init of `nsId` is exiting. */
function zapPidNs(k: KernelCore, nsId: number, initTgid: number): void {
  const ns = k.pidNs(nsId);
  ns.adding = false;
  ns.reaper = 0;
  for (const kid of [...ns.pids.values()]) {
    const t = k.s.tasks.get(kid);
    if (!t || t.tgid === initTgid || t.state === 'zombie' || t.state === 'dead') continue;
    exitGroup(k, t.tgid, SIGKILL);
  }
  // init reaps its own children (kernel_wait4 loop): zombies whose parent is init go away.
  const init = k.proc(initTgid);
  for (const child of [...init.zombies]) reap(k, child);
}

/** find_new_reaper(): a live subreaper ancestor in the same pid namespace, else the ns init. */
function findNewReaper(k: KernelCore, father: ProcState): number {
  const ft = k.t(father.tgid);
  for (let p = father.parent; p; ) {
    const pp = k.s.procs.get(p);
    if (!pp) break;
    const pt = k.t(pp.tgid);
    if (pt.pidns !== ft.pidns) break;
    if (pp.subreaper && !pp.groupExit && pt.state !== 'zombie') return pp.tgid;
    p = pp.parent;
  }
  // The reaper of the father's namespace; if it is gone (being zapped), the nearest ancestor
  // namespace's reaper.
  for (let nsId = ft.pidns; nsId; nsId = k.pidNs(nsId).parent) {
    const r = k.pidNs(nsId).reaper;
    if (r && r !== father.tgid) return r;
  }
  return k.pidNs(k.s.rootPidNs).reaper;
}

function forgetOriginalParent(k: KernelCore, father: ProcState): void {
  if (father.children.size === 0) return;
  const reaper = findNewReaper(k, father);
  const rp = k.proc(reaper);
  for (const child of father.children) {
    const c = k.proc(child);
    c.parent = reaper;
    rp.children.add(child);
    // reparent_leader(): "We don't want people slaying init": the exit signal becomes SIGCHLD,
    // and a zombie child is notified to its new parent (which may autoreap it).
    c.exitSignal = SIGCHLD;
    if (father.zombies.has(child)) exitNotify(k, c);
  }
  father.children.clear();
  father.zombies.clear();
}

function ignoresChildren(k: KernelCore, parent: ProcState): boolean {
  return parent.sigaction[SIGCHLD] === SIG_IGN;
}

/** exit_notify(): signal the parent; become a zombie or be reaped at once. */
function exitNotify(k: KernelCore, proc: ProcState): void {
  const parent = k.s.procs.get(proc.parent);
  if (!parent) {
    reap(k, proc.tgid);
    return;
  }
  // A parent that ignores SIGCHLD (or the child has exit_signal 0… autoreap only for SIG_IGN).
  if (proc.exitSignal === SIGCHLD && ignoresChildren(k, parent)) {
    parent.children.delete(proc.tgid);
    releaseProcess(k, proc);
    k.wake(`wait:${parent.tgid}`);
    return;
  }
  parent.zombies.add(proc.tgid);
  if (proc.exitSignal) deliverSignal(k, parent.tgid, proc.exitSignal, false);
  k.wake(`wait:${parent.tgid}`);
}

/** release_task() of a zombie process: gone from its parent, its pids freed. */
export function reap(k: KernelCore, tgid: number): void {
  const proc = k.s.procs.get(tgid);
  if (!proc) return;
  const parent = k.s.procs.get(proc.parent);
  parent?.children.delete(tgid);
  parent?.zombies.delete(tgid);
  releaseProcess(k, proc);
}

function releaseProcess(k: KernelCore, proc: ProcState): void {
  for (const kid of [...proc.threads]) {
    const t = k.s.tasks.get(kid);
    if (t) releaseThread(k, t, proc);
  }
  k.s.procs.delete(proc.tgid);
}

function releaseThread(k: KernelCore, t: TaskState, proc: ProcState): void {
  t.state = 'dead';
  k.s.tasks.delete(t.kid);
  freePid(k, t.pidns, t.pids);
  const i = proc.threads.indexOf(t.kid);
  if (i >= 0) proc.threads.splice(i, 1);
}
