/**
 * Task creation: copy_process() for fork, vfork, clone and clone3 (kernel/fork.c), with
 * next_syscall_data patch 3/5 (NSD-SPEC §3) and clone3 `set_tid`.
 *
 * Design note. Flag checks come first, in copy_process()'s order; then next_syscall_data is taken
 * (consumed whatever happens next); then namespaces (CLONE_NEWPID, CLONE_NEWIPC); then the pid at
 * every level (alloc_pid: innermost first; preset values from set_tid or next_syscall_data).
 * Only after every check has passed is anything shared or copied, so a failure leaves no trace
 * but moved cursors, as in Linux.
 * The child starts with no next_syscall_data (never inherited), a copy of the parent's program
 * state, and 0 as the result of the call; the parent gets the child's pid in its own namespace.
 */
import { err } from '../../abi/errno.js';
import {
  CLONE_FILES, CLONE_FS, CLONE_NEWIPC, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER, CLONE_PARENT, CLONE_SIGHAND,
  CLONE_SYSVSEM, CLONE_THREAD, CLONE_VFORK, CLONE_VM, CSIGNAL, CAP_SYS_ADMIN, NSIG,
} from '../../abi/constants.js';
import { newProc, type KernelCore } from '../core.js';
import type { ProcState, TaskState } from '../state.js';
import { allocPid, attachPid, createPidNs, freePid, type PidPreset } from '../pid/pid.js';
import { copyFdTable } from '../fs/fdtable.js';
import { copyMm } from '../mm/mm.js';
import { getIpcNs, newIpcNs } from '../ipcns.js';
import { SUBSYSTEMS } from '../subsystem.js';
import { copyCred, hasCap, checkpointRestoreCapable } from './cred.js';
import { takeNsd } from '../nsd/nsd.js';
import { MAX_PID_NS_LEVEL } from '../profile.js';

export interface CloneArgs {
  flags: number;
  /** Signal sent to the parent at exit (clone: flags & CSIGNAL; clone3: exit_signal). */
  exitSignal: number;
  /** clone3 set_tid: innermost first. */
  setTid: number[] | null;
}

/** Flag checks of copy_process(), in its order. */
function checkFlags(k: KernelCore, parent: TaskState, flags: number): void {
  if ((flags & (CLONE_NEWNS | CLONE_FS)) === (CLONE_NEWNS | CLONE_FS)) throw err('EINVAL');
  if ((flags & CLONE_THREAD) && !(flags & CLONE_SIGHAND)) throw err('EINVAL');
  if ((flags & CLONE_SIGHAND) && !(flags & CLONE_VM)) throw err('EINVAL');
  // Siblings of a namespace init would escape its namespace.
  const ns = k.pidNs(parent.pidns);
  if ((flags & CLONE_PARENT) && ns.reaper === parent.tgid) throw err('EINVAL');
  if (flags & (CLONE_NEWUSER | CLONE_NEWPID)) {
    if (flags & (CLONE_THREAD | CLONE_PARENT)) throw err('EINVAL');
  }
  // A thread must stay in its creator's pid namespace (after unshare(CLONE_NEWPID) it cannot).
  if ((flags & CLONE_THREAD) && parent.pidnsForChildren !== parent.pidns) throw err('EINVAL');
  if ((flags & (CLONE_NEWIPC | CLONE_SYSVSEM)) === (CLONE_NEWIPC | CLONE_SYSVSEM)) throw err('EINVAL');
  if (flags & CLONE_NEWUSER) throw err('EINVAL', 'user namespaces are not modelled');
  if ((flags & (CLONE_NEWPID | CLONE_NEWIPC)) && !hasCap(k, parent, CAP_SYS_ADMIN)) throw err('EPERM');
}

/**
 * copy_process() + wake_up_new_task(). Returns the child's kid. The caller translates it to the
 * parent's view (the pid it returns).
 */
export function copyProcess(k: KernelCore, parent: TaskState, args: CloneArgs): number {
  const { flags } = args;
  checkFlags(k, parent, flags);
  // Patch 3/5: a fork-family call consumes next_syscall_data at once, whatever happens next.
  const nsd = takeNsd(parent);
  // An empty set_tid is no set_tid (set_tid_size 0).
  const setTid = args.setTid?.length ? args.setTid : null;
  let preset: PidPreset | null = null;
  if (nsd && setTid) throw err('EINVAL', 'both next_syscall_data and set_tid');
  if (nsd) preset = { values: nsd.map((v) => clampPidValue(v)), busy: 'EBUSY' };
  if (setTid) {
    if (!checkpointRestoreCapable(k, parent)) throw err('EPERM');
    preset = { values: setTid, busy: 'EEXIST' };
  }

  // Namespaces: the pid namespace the child will live in.
  let childNs = parent.pidnsForChildren;
  let newPidNs = 0;
  if (flags & CLONE_NEWPID) {
    // copy_pid_ns(): a new namespace only below the active one; after unshare(CLONE_NEWPID) or
    // setns() into pid_for_children the parent must fork into that namespace first (v3.8+; 2.6.26
    // has neither, so the two are always equal there).
    if (childNs !== parent.pidns) throw err('EINVAL');
    newPidNs = createPidNs(k, childNs).id;
    childNs = newPidNs;
  }
  let pids: number[];
  try {
    pids = allocPid(k, childNs, null, preset);
  } catch (e) {
    if (newPidNs) k.s.pidns.delete(newPidNs);
    throw e;
  }
  const kid = pids[0]!;
  if (k.s.tasks.has(kid)) {
    freePid(k, childNs, pids);
    throw err('EAGAIN', 'kid collision');
  }
  attachPid(k, childNs, pids, kid);
  // is_child_reaper(): the task holding pid 1 of its namespace becomes its reaper (CLONE_NEWPID,
  // or the first fork after unshare(CLONE_NEWPID)).
  if (pids[pids.length - 1] === 1 && !(flags & CLONE_THREAD)) k.pidNs(childNs).reaper = kid;

  const thread = (flags & CLONE_THREAD) !== 0;
  const ipcns = flags & CLONE_NEWIPC ? newIpcNs(k).id : parent.ipcns;
  getIpcNs(k, ipcns);

  let fdtable = parent.fdtable;
  if (flags & CLONE_FILES) k.fdtable(fdtable).refs++;
  else fdtable = copyFdTable(k, k.fdtable(fdtable)).id;

  const tgid = thread ? parent.tgid : kid;
  let mm = parent.mm;
  if (flags & CLONE_VM) k.mm(mm).users++;
  else mm = copyMm(k, k.mm(mm), tgid).id;

  const child: TaskState = {
    kid,
    tgid,
    pids,
    pidns: childNs,
    pidnsForChildren: childNs,
    ipcns,
    state: 'running',
    comm: parent.comm,
    cred: copyCred(parent.cred),
    fdtable,
    mm,
    cwd: parent.cwd,
    umask: parent.umask,
    nsd: null, // p->nsd = NULL: never inherited.
    sigmask: parent.sigmask,
    savedSigmask: null, // the restore flag is the parent's, for its own return to user space
    pending: [],
    blocked: null,
    prog: parent.prog ? structuredClone({ ...parent.prog, result: { ok: true as const, value: 0 }, signals: [] }) : null,
    vforkParent: flags & CLONE_VFORK ? parent.kid : 0,
    exitCode: 0,
  };
  k.s.tasks.set(kid, child);

  const pproc = k.proc(parent.tgid);
  if (thread) {
    pproc.threads.push(kid);
  } else {
    const realParent = flags & CLONE_PARENT ? pproc.parent : pproc.tgid;
    const proc: ProcState = newProc(k, kid, realParent);
    proc.pgid = pproc.pgid;
    proc.sid = pproc.sid;
    proc.exitSignal = args.exitSignal;
    proc.sigaction = [...pproc.sigaction];
    proc.rlimNofile = pproc.rlimNofile;
    proc.rlimNofileMax = pproc.rlimNofileMax;
    proc.rlimMemlock = pproc.rlimMemlock;
    k.s.procs.set(kid, proc);
    k.proc(realParent).children.add(kid);
    for (const sub of SUBSYSTEMS) sub.forkProcess?.(k, pproc, proc, flags);
  }
  k.makeRunnable(kid);
  return kid;
}

/** A next_syscall_data value as a pid candidate: C longs outside int range can never be valid. */
function clampPidValue(v: bigint): number {
  if (v < 0n) return -1;
  if (v > 0x7fffffffn) return 0x7fffffff;
  return Number(v);
}

/** Validates clone3's `clone_args` (copy_clone_args_from_user / clone3_args_valid). */
export function checkClone3Args(flags: number, exitSignal: number, setTid: number[] | null): void {
  if (setTid && setTid.length > MAX_PID_NS_LEVEL) throw err('EINVAL');
  if (flags & CSIGNAL) throw err('EINVAL');
  if (!Number.isInteger(exitSignal) || exitSignal < 0 || exitSignal > NSIG) throw err('EINVAL');
  if ((flags & (CLONE_THREAD | CLONE_PARENT)) && exitSignal) throw err('EINVAL');
}
