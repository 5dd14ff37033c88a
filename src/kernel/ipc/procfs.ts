/**
 * The IPC files of procfs: the per-namespace sysctls under /proc/sys/kernel (ipc/ipc_sysctl.c) and
 * /proc/sys/fs/mqueue (ipc/mq_sysctl.c: limits only, the model has no POSIX message queues), and
 * /proc/sysvipc/{msg,sem,shm} (the sysvipc_*_proc_show functions of msg.c, sem.c and shm.c).
 *
 * Design note. Every file is read and written in the reader's/writer's own IPC namespace
 * (current->nsproxy->ipc_ns), pids are shown from the reader's pid namespace (pid_nr_ns), and the
 * column layouts are Linux's printf formats, byte for byte. Range checks follow the modern
 * handlers (proc_dointvec_minmax with the bounds of ipc_sysctl.c; `sem` sets what parses and then
 * checks semmni, restoring it with ERANGE; the `*_next_id` writers need checkpoint/restore
 * privilege); the 2.6.26 profile took any int (profile.ipc.sysctlBounds).
 */
import { err } from '../../abi/errno.js';
import type { KernelCore } from '../core.js';
import type { TaskState } from '../state.js';
import { registerProcFile } from '../proc/procfs.js';
import { checkpointRestoreCapable } from '../task/cred.js';
import { INT_MAX, IPCMNI, mqNsOf, nsOf, pidVnr, type IpcNs } from './util.js';
import { residentPages, shmDestroyOrphaned } from './shm.js';
import { PAGE_SIZE } from '../../abi/constants.js';

const INT_MIN = -0x80000000;
const ULONG_MAX = (1n << 64n) - 1n;

/** proc_dointvec: whitespace-separated C ints; anything else is EINVAL. At most `max` are taken. */
export function parseIntVec(text: string, max: number): number[] {
  const words = text.split(/[ \t\n]+/).filter((w) => w !== '');
  if (words.length === 0) throw err('EINVAL');
  const out: number[] = [];
  for (const w of words.slice(0, max)) {
    if (!/^[-+]?\d+$/.test(w)) throw err('EINVAL');
    const v = Number(w);
    if (!Number.isSafeInteger(v) || v > INT_MAX || v < INT_MIN) throw err('EINVAL');
    out.push(v);
  }
  return out;
}

/** proc_doulongvec_minmax for one value: a negative or overflowing number is EINVAL. */
function parseUlong(text: string): bigint {
  const m = /^[ \t\n]*(\d+)[ \t\n]*$/.exec(text);
  if (!m) throw err('EINVAL');
  const v = BigInt(m[1]!);
  if (v > ULONG_MAX) throw err('EINVAL');
  return v;
}

function intSysctl(name: string, get: (ns: IpcNs) => number, set: (ns: IpcNs, v: number) => void, min: number, max: number): void {
  registerProcFile({
    path: `sys/kernel/${name}`,
    mode: 0o644,
    read: (k, t) => `${get(nsOf(k, t))}\n`,
    write: (k, t, text) => {
      const [v] = parseIntVec(text, 1);
      if (k.profile.ipc.sysctlBounds && (v! < min || v! > max)) throw err('EINVAL');
      set(nsOf(k, t), v!);
    },
  });
}

intSysctl('msgmax', (ns) => ns.msgCtlmax, (ns, v) => (ns.msgCtlmax = v), 0, INT_MAX);
intSysctl('msgmnb', (ns) => ns.msgCtlmnb, (ns, v) => (ns.msgCtlmnb = v), 0, INT_MAX);
intSysctl('msgmni', (ns) => ns.msgCtlmni, (ns, v) => (ns.msgCtlmni = v), 0, IPCMNI);
intSysctl('shmmni', (ns) => ns.shmCtlmni, (ns, v) => (ns.shmCtlmni = v), 0, IPCMNI);

registerProcFile({
  path: 'sys/kernel/sem',
  mode: 0o644,
  read: (k, t) => `${nsOf(k, t).semCtls.join('\t')}\n`,
  write: (k, t, text) => {
    const ns = nsOf(k, t);
    const vals = parseIntVec(text, 4);
    const semmni = ns.semCtls[3];
    vals.forEach((v, i) => (ns.semCtls[i] = v));
    // proc_ipc_sem_dointvec(): semmni must be in [0, ipc_mni], else it is restored and ERANGE.
    if (k.profile.ipc.sysctlBounds && (ns.semCtls[3] < 0 || ns.semCtls[3] > IPCMNI)) {
      ns.semCtls[3] = semmni;
      throw err('ERANGE');
    }
  },
});

for (const name of ['shmmax', 'shmall'] as const) {
  registerProcFile({
    path: `sys/kernel/${name}`,
    mode: 0o644,
    read: (k, t) => `${name === 'shmmax' ? nsOf(k, t).shmCtlmax : nsOf(k, t).shmCtlall}\n`,
    write: (k, t, text) => {
      const v = parseUlong(text);
      if (name === 'shmmax') nsOf(k, t).shmCtlmax = v;
      else nsOf(k, t).shmCtlall = v;
    },
  });
}

/** A one-int sysctl read and written through proc_dointvec(_minmax) (`bounds` null: any int). */
function dointvec(path: string, available: ((k: KernelCore) => boolean) | undefined, get: (k: KernelCore, t: TaskState) => number,
  set: (k: KernelCore, t: TaskState, v: number) => void, bounds: (k: KernelCore) => readonly [number, number] | null): void {
  registerProcFile({
    path,
    mode: 0o644,
    ...(available ? { available } : {}),
    read: (k, t) => `${get(k, t)}\n`,
    write: (k, t, text) => {
      const [v] = parseIntVec(text, 1);
      const b = bounds(k);
      if (b && (v! < b[0] || v! > b[1])) throw err('EINVAL');
      set(k, t, v!);
    },
  });
}

// kernel.auto_msgmni (ipc_sysctl.c proc_ipc_auto_msgmni): since 3.19 a dummy: reads 0, takes 0 or 1
// ("writing to auto_msgmni has no effect"); absent before 2.6.27.
dointvec('sys/kernel/auto_msgmni', (k) => k.profile.ipc.autoMsgmni, () => 0, () => undefined, () => [0, 1]);

// kernel.shm_rmid_forced (proc_ipc_dointvec_minmax_orphans): 0..1; once set, orphans go at once.
dointvec('sys/kernel/shm_rmid_forced', (k) => k.profile.ipc.shmRmidForced, (k, t) => nsOf(k, t).shmRmidForced, (k, t, v) => {
  const ns = nsOf(k, t);
  ns.shmRmidForced = v;
  if (v) shmDestroyOrphaned(k, ns);
}, () => [0, 1]);

// fs/mqueue (ipc/mq_sysctl.c; ipc/mqueue.c before 2.6.30, global): queues_max is proc_dointvec, the
// others proc_dointvec_minmax within the profile's bounds; msg_default/msgsize_default since 3.5.
dointvec('sys/fs/mqueue/queues_max', undefined, (k, t) => mqNsOf(k, t).mqQueuesMax, (k, t, v) => (mqNsOf(k, t).mqQueuesMax = v), () => null);
dointvec('sys/fs/mqueue/msg_max', undefined, (k, t) => mqNsOf(k, t).mqMsgMax, (k, t, v) => (mqNsOf(k, t).mqMsgMax = v), (k) => k.profile.ipc.mqMsgMax);
dointvec('sys/fs/mqueue/msgsize_max', undefined, (k, t) => mqNsOf(k, t).mqMsgsizeMax, (k, t, v) => (mqNsOf(k, t).mqMsgsizeMax = v), (k) => k.profile.ipc.mqMsgsizeMax);
dointvec('sys/fs/mqueue/msg_default', (k) => k.profile.ipc.mqDefaults, (k, t) => mqNsOf(k, t).mqMsgDefault, (k, t, v) => (mqNsOf(k, t).mqMsgDefault = v), (k) => k.profile.ipc.mqMsgMax);
dointvec('sys/fs/mqueue/msgsize_default', (k) => k.profile.ipc.mqDefaults, (k, t) => mqNsOf(k, t).mqMsgsizeDefault, (k, t, v) => (mqNsOf(k, t).mqMsgsizeDefault = v), (k) => k.profile.ipc.mqMsgsizeMax);

for (const kind of ['msg', 'sem', 'shm'] as const) {
  registerProcFile({
    path: `sys/kernel/${kind}_next_id`,
    mode: 0o644,
    available: (k) => k.profile.ipc.nextIdSysctls,
    read: (k, t) => `${nsOf(k, t)[kind].nextId}\n`,
    // proc_ipc_dointvec_minmax_checkpoint_restore(): privilege first, then 0..INT_MAX.
    write: (k, t, text) => {
      if (!checkpointRestoreCapable(k, t)) throw err('EPERM');
      const [v] = parseIntVec(text, 1);
      if (v! < 0 || v! > INT_MAX) throw err('EINVAL');
      nsOf(k, t)[kind].nextId = v!;
    },
  });
}

// ---- /proc/sysvipc ----

function d(v: number, w: number): string {
  return String(v).padStart(w, ' ');
}

function o(v: number, w: number): string {
  return v.toString(8).padStart(w, ' ');
}

function sortedByIdx<T>(objs: Map<number, T>): T[] {
  return [...objs.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
}

/** sysvipc_msg_proc_show(). */
export function sysvipcMsg(k: KernelCore, t: TaskState): string {
  const ns = nsOf(k, t);
  let out = '       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n';
  for (const q of sortedByIdx(ns.msg.objs)) {
    const p = q.perm;
    out += `${d(p.key, 10)} ${d(p.id, 10)}  ${o(p.mode, 4)}  ${d(q.cbytes, 10)} ${d(q.qnum, 10)} ${d(pidVnr(k, t, q.lspid), 5)} ${d(pidVnr(k, t, q.lrpid), 5)} ` +
      `${d(p.uid, 5)} ${d(p.gid, 5)} ${d(p.cuid, 5)} ${d(p.cgid, 5)} ${d(q.stime, 10)} ${d(q.rtime, 10)} ${d(q.ctime, 10)}\n`;
  }
  return out;
}

/** sysvipc_sem_proc_show(). */
export function sysvipcSem(k: KernelCore, t: TaskState): string {
  const ns = nsOf(k, t);
  let out = '       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n';
  for (const s of sortedByIdx(ns.sem.objs)) {
    const p = s.perm;
    out += `${d(p.key, 10)} ${d(p.id, 10)}  ${o(p.mode, 4)} ${d(s.nsems, 10)} ${d(p.uid, 5)} ${d(p.gid, 5)} ${d(p.cuid, 5)} ${d(p.cgid, 5)} ` +
      `${d(s.otime, 10)} ${d(s.ctime, 10)}\n`;
  }
  return out;
}

/** sysvipc_shm_proc_show() (64-bit: sizes are %21lu). */
export function sysvipcShm(k: KernelCore, t: TaskState): string {
  const ns = nsOf(k, t);
  const rssCols = k.profile.ipc.sysvipcShmRss;
  let out = '       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime' +
    (rssCols ? '                   rss                  swap\n' : '\n');
  for (const s of sortedByIdx(ns.shm.objs)) {
    const p = s.perm;
    let line = `${d(p.key, 10)} ${d(p.id, 10)}  ${o(p.mode, 4)} ${d(s.segsz, 21)} ${d(pidVnr(k, t, s.cpid), 5)} ${d(pidVnr(k, t, s.lpid), 5)}  ` +
      `${d(s.nattch, 5)} ${d(p.uid, 5)} ${d(p.gid, 5)} ${d(p.cuid, 5)} ${d(p.cgid, 5)} ${d(s.atime, 10)} ${d(s.dtime, 10)} ${d(s.ctime, 10)}`;
    if (rssCols) line += ` ${d(residentPages(s) * PAGE_SIZE, 21)} ${d(0, 21)}`;
    out += line + '\n';
  }
  return out;
}

registerProcFile({ path: 'sysvipc/msg', mode: 0o444, read: sysvipcMsg });
registerProcFile({ path: 'sysvipc/sem', mode: 0o444, read: sysvipcSem });
registerProcFile({ path: 'sysvipc/shm', mode: 0o444, read: sysvipcShm });
