/**
 * Process syscalls' semantics that are small enough to live together: identity (getpid…), process
 * groups and sessions, kill/tkill, unshare, setns, rlimits, nanosleep, prctl(child subreaper).
 * Each cites the Linux function whose behaviour it follows.
 */
import { err } from '../../abi/errno.js';
import {
  CAP_KILL, CAP_SYS_ADMIN, CAP_SYS_RESOURCE, CLONE_FILES, CLONE_FS, CLONE_NEWIPC, CLONE_NEWNS, CLONE_NEWPID,
  CLONE_SIGHAND, CLONE_SYSVSEM, CLONE_THREAD, CLONE_VM, RLIMIT_MEMLOCK, RLIMIT_NOFILE, RLIM_INFINITY,
} from '../../abi/constants.js';
import type { Rlimit } from '../../abi/task.js';
import type { KernelCore } from '../core.js';
import type { TaskState } from '../state.js';
import { createPidNs, findKid, kidNrIn, pidNsWithin, putPidNs } from '../pid/pid.js';
import { copyFdTable, getFile, putFdTable } from '../fs/fdtable.js';
import { getIpcNs, newIpcNs, putIpcNs } from '../ipcns.js';
import { SUBSYSTEMS } from '../subsystem.js';
import { hasCap } from './cred.js';
import { deliverSignal, validSignal } from './signal.js';
import { sleepUntil } from './sleep.js';

/** The number of task `kid` as seen from `viewer`'s namespace (0 if invisible). */
export function vnr(k: KernelCore, viewer: TaskState, kid: number): number {
  return kidNrIn(k, kid, viewer.pidns);
}

export function getpid(k: KernelCore, t: TaskState): number {
  return vnr(k, t, t.tgid);
}

export function gettid(k: KernelCore, t: TaskState): number {
  return t.pids[t.pids.length - 1]!;
}

/** getppid(): 0 when the parent is outside the caller's namespace (a namespace init). */
export function getppid(k: KernelCore, t: TaskState): number {
  const parent = k.proc(t.tgid).parent;
  return parent ? vnr(k, t, parent) : 0;
}

/** find_task_by_vpid() for the pgid/sid calls: 0 is the caller; no such pid (negative too) → ESRCH. */
function procByPid(k: KernelCore, t: TaskState, pid: number): number {
  if (pid === 0) return t.tgid;
  const kid = findKid(k, t.pidns, pid);
  if (kid === undefined) throw err('ESRCH');
  return k.t(kid).tgid;
}

export function getpgid(k: KernelCore, t: TaskState, pid: number): number {
  return vnr(k, t, k.proc(procByPid(k, t, pid)).pgid);
}

export function getsid(k: KernelCore, t: TaskState, pid: number): number {
  return vnr(k, t, k.proc(procByPid(k, t, pid)).sid);
}

/** setpgid() (kernel/sys.c): self or a child in the same session; a session leader cannot move. */
export function setpgid(k: KernelCore, t: TaskState, pid: number, pgid: number): number {
  // pgid 0 means "pid"; a negative result is EINVAL before the pid is looked up.
  if (pgid < 0 || (pgid === 0 && pid < 0)) throw err('EINVAL');
  const me = k.proc(t.tgid);
  const target = procByPid(k, t, pid);
  const tp = k.proc(target);
  if (target !== t.tgid) {
    if (tp.parent !== t.tgid) throw err('ESRCH');
    if (tp.sid !== me.sid) throw err('EPERM');
  }
  if (tp.sid === target) throw err('EPERM');
  let group = target;
  if (pgid !== 0 && pgid !== vnr(k, t, target)) {
    // find_vpid(pgid) + pid_task(PIDTYPE_PGID): some process of that group, in the same session.
    // A process group is named by its leader's pid, so a non-leader thread's tid names none.
    const kid = findKid(k, t.pidns, pgid);
    let exists = false;
    if (kid !== undefined) for (const p of k.s.procs.values()) if (p.pgid === kid && p.sid === me.sid) exists = true;
    if (!exists) throw err('EPERM');
    group = kid!;
  }
  tp.pgid = group;
  return 0;
}

/** setsid(): fails with EPERM for a process-group leader. */
export function setsid(k: KernelCore, t: TaskState): number {
  const p = k.proc(t.tgid);
  const isLeader = [...k.s.procs.values()].some((q) => q.pgid === t.tgid);
  if (isLeader) throw err('EPERM');
  p.sid = t.tgid;
  p.pgid = t.tgid;
  return vnr(k, t, t.tgid);
}

/** kill_ok_by_cred() + the CAP_KILL override (kernel/signal.c check_kill_permission). */
function mayKill(k: KernelCore, t: TaskState, target: TaskState): boolean {
  if (hasCap(k, t, CAP_KILL)) return true;
  const a = t.cred;
  const b = target.cred;
  return a.euid === b.suid || a.euid === b.uid || a.uid === b.suid || a.uid === b.uid;
}

/** kill(2): pid > 0 one process; 0 the caller's group; -1 everyone the caller may signal; < -1 a group. */
export function kill(k: KernelCore, t: TaskState, pid: number, sig: number): number {
  if (sig !== 0 && !validSignal(sig)) throw err('EINVAL');
  if (!Number.isInteger(pid)) throw err('EINVAL');
  const targets: TaskState[] = [];
  if (pid > 0) {
    const kid = findKid(k, t.pidns, pid);
    const x = kid === undefined ? undefined : k.s.tasks.get(kid);
    if (!x) throw err('ESRCH');
    targets.push(k.t(x.tgid));
  } else {
    const pgid = pid === 0 ? k.proc(t.tgid).pgid : pid < -1 ? findKid(k, t.pidns, -pid) ?? -1 : 0;
    for (const p of k.s.procs.values()) {
      const leader = k.s.tasks.get(p.tgid);
      if (!leader || !pidNsWithin(k, leader.pidns, t.pidns)) continue;
      if (pid === -1) {
        // All processes except init of the caller's namespace and the caller itself.
        if (p.tgid === t.tgid || k.pidNs(t.pidns).reaper === p.tgid) continue;
      } else if (p.pgid !== pgid) continue;
      targets.push(leader);
    }
    if (targets.length === 0) throw err('ESRCH');
  }
  let ok = 0;
  let denied = false;
  for (const x of targets) {
    if (!mayKill(k, t, x)) {
      denied = true;
      continue;
    }
    ok++;
    if (sig !== 0) deliverSignal(k, x.tgid, sig, false, t.pidns);
  }
  if (ok === 0 && denied) throw err('EPERM');
  return 0;
}

/** tgkill(2)/tkill(2). */
export function tgkill(k: KernelCore, t: TaskState, tgid: number, tid: number, sig: number): number {
  if (!Number.isInteger(tid) || tid <= 0 || (tgid !== -1 && tgid <= 0)) throw err('EINVAL');
  if (sig !== 0 && !validSignal(sig)) throw err('EINVAL');
  const kid = findKid(k, t.pidns, tid);
  const x = kid === undefined ? undefined : k.s.tasks.get(kid);
  if (!x || (tgid !== -1 && vnr(k, t, x.tgid) !== tgid)) throw err('ESRCH');
  if (!mayKill(k, t, x)) throw err('EPERM');
  if (sig !== 0) deliverSignal(k, x.kid, sig, true, t.pidns);
  return 0;
}

/** unshare(2) (kernel/fork.c ksys_unshare). */
export function unshare(k: KernelCore, t: TaskState, flags: number): number {
  const allowed = CLONE_THREAD | CLONE_FS | CLONE_NEWNS | CLONE_SIGHAND | CLONE_VM | CLONE_FILES | CLONE_SYSVSEM |
    CLONE_NEWIPC | (k.profile.unshareNewPid ? CLONE_NEWPID : 0) | 0x04000000 /* NEWUTS */ | 0x40000000 /* NEWNET */;
  if (!Number.isInteger(flags) || (flags & ~allowed) !== 0) throw err('EINVAL');
  if (flags & CLONE_NEWIPC) flags |= CLONE_SYSVSEM;
  const proc = k.proc(t.tgid);
  if (flags & (CLONE_THREAD | CLONE_SIGHAND | CLONE_VM) && proc.threads.length > 1) throw err('EINVAL');
  if (flags & (CLONE_NEWPID | CLONE_NEWIPC) && !hasCap(k, t, CAP_SYS_ADMIN)) throw err('EPERM');
  if (flags & CLONE_NEWPID) {
    // copy_pid_ns(): only from the active namespace (a second unshare before forking: EINVAL).
    if (t.pidnsForChildren !== t.pidns) throw err('EINVAL');
    t.pidnsForChildren = createPidNs(k, t.pidns).id;
  }
  if (flags & CLONE_NEWIPC) {
    const ns = newIpcNs(k);
    getIpcNs(k, ns.id);
    putIpcNs(k, t.ipcns);
    t.ipcns = ns.id;
  }
  if (flags & CLONE_SYSVSEM) for (const sub of SUBSYSTEMS) sub.unshareSysvsem?.(k, proc);
  if (flags & CLONE_NEWIPC) for (const sub of SUBSYSTEMS) sub.unshareIpc?.(k, t);
  if (flags & CLONE_FILES) {
    const table = k.fdtable(t.fdtable);
    if (table.refs > 1) {
      const copy = copyFdTable(k, table);
      putFdTable(k, table.id);
      t.fdtable = copy.id;
    }
  }
  return 0;
}

/** setns(2) with an fd of /proc/<pid>/ns/{pid,ipc,pid_for_children}. */
export function setns(k: KernelCore, t: TaskState, fd: number, nstype: number): number {
  if (!k.profile.setns) throw err('ENOSYS');
  const f = getFile(k, t, fd);
  if (f.kind !== 'proc' || f.proc!.type !== 'ns') throw err('EINVAL');
  const owner = k.s.tasks.get(f.proc!.tid);
  const kind = f.proc!.arg;
  const isIpc = kind === 'ipc';
  if (!owner && (isIpc || f.proc!.target === undefined)) throw err('EINVAL');
  if (nstype !== 0 && nstype !== (isIpc ? CLONE_NEWIPC : CLONE_NEWPID)) throw err('EINVAL');
  if (!hasCap(k, t, CAP_SYS_ADMIN)) throw err('EPERM');
  if (isIpc) {
    if (!owner) throw err('EINVAL');
    getIpcNs(k, owner.ipcns);
    for (const sub of SUBSYSTEMS) sub.unshareSysvsem?.(k, k.proc(t.tgid));
    putIpcNs(k, t.ipcns);
    t.ipcns = owner.ipcns;
    return 0;
  }
  // The namespace the open file refers to (bound at open), else the owner's current one.
  const target = f.proc!.target ?? (kind === 'pid' ? owner!.pidns : owner!.pidnsForChildren);
  // pidns_install(): only the active namespace or a descendant of it.
  if (!pidNsWithin(k, target, t.pidns)) throw err('EINVAL');
  t.pidnsForChildren = target;
  putPidNs(k);
  return 0;
}

export function getrlimit(k: KernelCore, t: TaskState, resource: number): Rlimit {
  const p = k.proc(t.tgid);
  if (resource === RLIMIT_NOFILE) return { rlim_cur: p.rlimNofile, rlim_max: p.rlimNofileMax };
  if (resource === RLIMIT_MEMLOCK) return { rlim_cur: p.rlimMemlock, rlim_max: p.rlimMemlock };
  if (!Number.isInteger(resource) || resource < 0 || resource >= 16) throw err('EINVAL');
  return { rlim_cur: RLIM_INFINITY, rlim_max: RLIM_INFINITY };
}

/** setrlimit(2) for RLIMIT_NOFILE (bounded by fs.nr_open) and RLIMIT_MEMLOCK. */
export function setrlimit(k: KernelCore, t: TaskState, resource: number, lim: Rlimit): number {
  if (!lim || !Number.isInteger(lim.rlim_cur) || !Number.isInteger(lim.rlim_max)) throw err('EFAULT');
  if (lim.rlim_cur > lim.rlim_max) throw err('EINVAL');
  const p = k.proc(t.tgid);
  if (resource === RLIMIT_NOFILE) {
    if (lim.rlim_max > k.profile.nrOpen) throw err('EPERM');
    if (lim.rlim_max > p.rlimNofileMax && !hasCap(k, t, CAP_SYS_RESOURCE)) throw err('EPERM');
    p.rlimNofile = lim.rlim_cur;
    p.rlimNofileMax = lim.rlim_max;
    return 0;
  }
  if (resource === RLIMIT_MEMLOCK) {
    p.rlimMemlock = lim.rlim_cur;
    return 0;
  }
  throw err('EINVAL');
}

/**
 * nanosleep(2) in virtual time, the request in nanoseconds: sleeps until the deadline; EINVAL on a
 * bad request. Interrupted by a handled signal: EINTR with the nanoseconds left as the result's
 * `out` (hrtimer_nanosleep's `rem`; see sleep.ts).
 */
export function nanosleep(k: KernelCore, _t: TaskState, ns: number): number {
  if (!Number.isFinite(ns) || ns < 0) throw err('EINVAL');
  return sleepUntil(k, k.resuming?.deadlineNs ?? k.now + ns, 'ns');
}

/** prctl(PR_SET_CHILD_SUBREAPER / PR_GET_CHILD_SUBREAPER). */
export function prctl(k: KernelCore, t: TaskState, option: number, arg2: number): number {
  const PR_SET_CHILD_SUBREAPER = 36;
  const PR_GET_CHILD_SUBREAPER = 37;
  const p = k.proc(t.tgid);
  if (option === PR_SET_CHILD_SUBREAPER) {
    p.subreaper = arg2 !== 0;
    return 0;
  }
  if (option === PR_GET_CHILD_SUBREAPER) return p.subreaper ? 1 : 0;
  throw err('EINVAL');
}
