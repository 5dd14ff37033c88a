/**
 * Design note: a `Checkpoint` as image files and back.
 *
 * - inventory.img (CRIU): image version, fdinfo/ns per id.
 * - pstree.img (CRIU): one pstree_entry per process, parents first: pid, ppid, pgid, sid, threads,
 *   all as the container sees them (0 = outside it).
 * - ids-<pid>.img (CRIU): which fd table / address space / namespaces each process uses
 *   (checkpoint indexes + 1).
 * - nsd-extra.img (project, versioned + SHA-256): everything CRIU keeps in core-*, fdinfo-*,
 *   mm-*, pages-* images and more that the model needs exactly (program state and a parked syscall,
 *   signal state, an armed next_syscall_data, ns_last_pid, open file descriptions, pipe buffers,
 *   anonymous memory, --with-fs file contents), one entry per object, plain data as JSON.
 * - the IPC namespace's images come from src/cr/ipc.ts through IPC_HOOKS.
 * Reading validates everything (references, counts, uniqueness, versions) and throws ImageError
 * before a restore creates anything.
 */
import { ImageError, readImage, readNsdExtra, writeImage, writeNsdExtra } from './image/index.js';
import type { InventoryEntry, NsdExtraEntry, PstreeEntry, TaskKobjIdsEntry } from './image/index.js';
import { decodePlain, encodePlain } from './plain.js';
import {
  CHECKPOINT_FORMAT, type Checkpoint, type CheckpointMeta, type CkFdTable, type CkFile, type CkFsNode, type CkMm, type CkPidNs,
  type CkPipe, type CkProc, type CkPstree, type CkTask,
} from './model.js';
import { IPC_HOOKS } from './ipc-hooks.js';
import { fillMemory } from './pagemap.js';
import { SYSCALLS } from '../syscalls/table.js';
import { isErrnoCode } from '../abi/errno.js';
import { validSignal } from '../kernel/task/signal.js';

export const TASKS_EXTRA = 'nsd-extra.img';
const IMG_VERSION = 2;

function entry(section: string, key: string | number, value: unknown): NsdExtraEntry {
  return { section, key: String(key), json: encodePlain(value) };
}

/** Encodes a checkpoint as a map of file name → bytes. */
export function checkpointToImages(ck: Checkpoint): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const inv: InventoryEntry = { img_version: IMG_VERSION, fdinfo_per_id: true, ns_per_id: true };
  out.set('inventory.img', writeImage('inventory', [inv]));
  out.set('pstree.img', writeImage('pstree', ck.pstree.map((p): PstreeEntry => ({ ...p, threads: [...p.threads] }))));
  for (const p of ck.pstree) {
    const leader = ck.tasks.get(p.pid)!;
    const ids: TaskKobjIdsEntry = {
      vm_id: leader.mm + 1,
      files_id: leader.fdtable + 1,
      fs_id: p.pid,
      sighand_id: p.pid,
      pid_ns_id: leader.pidns + 1,
      ipc_ns_id: 1,
    };
    out.set(`ids-${p.pid}.img`, writeImage('ids', [ids]));
  }
  const extra: NsdExtraEntry[] = [entry('meta', '', ck.meta)];
  ck.pidns.forEach((ns, i) => extra.push(entry('pidns', i, ns)));
  for (const [pid, p] of ck.procs) extra.push(entry('proc', pid, p));
  for (const [tid, t] of ck.tasks) extra.push(entry('task', tid, t));
  ck.files.forEach((f, i) => extra.push(entry('file', i, f)));
  ck.pipes.forEach((p, i) => extra.push(entry('pipe', i, p)));
  ck.fdtables.forEach((t, i) => extra.push(entry('fdtable', i, t)));
  ck.mms.forEach((m, i) => extra.push(entry('mm', i, m)));
  for (const n of ck.fs) extra.push(entry('fs', n.path, n));
  out.set(TASKS_EXTRA, writeNsdExtra(extra));
  if (ck.ipc) {
    if (!IPC_HOOKS.toImages) throw new TypeError('checkpoint has an IPC namespace but SysV IPC is not loaded');
    IPC_HOOKS.toImages(ck.ipc, out);
  }
  return out;
}

function need(images: ReadonlyMap<string, Uint8Array>, name: string): Uint8Array {
  const b = images.get(name);
  if (!b) throw new ImageError(name, 0, 'missing image');
  return b;
}

function check(ok: boolean, file: string, why: string): asserts ok {
  if (!ok) throw new ImageError(file, 0, why);
}

const isInt = (v: unknown, min = 0, max = 0x7fffffff): v is number => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
/** A signal number, as the kernel checks it. */
const isSig = (v: unknown): boolean => typeof v === 'number' && validSignal(v);
const isU64 = (v: unknown): boolean => typeof v === 'bigint' && v >= 0n && v < 1n << 64n;
const isStrs = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'string');
const TASK_STATES = new Set(['running', 'blocked', 'stopped', 'zombie']);

/**
 * What the restorer writes into the kernel as it is (no syscall sets it) must have the kernel's
 * types and ranges: credentials, signal state, next_syscall_data, the program's envelope and a
 * parked call. (The program's own `data` is the program's business.)
 */
function validTaskState(t: CkTask): string | null {
  const c = t.cred as unknown as Record<string, unknown> | null;
  if (c === null || typeof c !== 'object') return 'bad credentials';
  for (const f of ['uid', 'euid', 'suid', 'fsuid', 'gid', 'egid', 'sgid', 'fsgid']) if (!isInt(c[f], 0, 0xfffffffe)) return `bad credential ${f}`;
  if (!Array.isArray(c.groups) || !c.groups.every((g) => isInt(g, 0, 0xfffffffe))) return 'bad groups';
  if (!isU64(c.capEffective) || !isU64(c.capPermitted)) return 'bad capabilities';
  if (!TASK_STATES.has(t.state) || typeof t.comm !== 'string' || typeof t.cwd !== 'string' || !t.cwd.startsWith('/')) return 'bad state, comm or cwd';
  if (!isInt(t.umask, 0, 0o777) || !Number.isInteger(t.exitCode)) return 'bad umask or exit code';
  if (!isU64(t.sigmask) || !Array.isArray(t.pending) || !t.pending.every(isSig)) return 'bad signal state';
  const n = t.nsd;
  if (n !== null && !(isInt(n?.ndata, 0, 32) && Array.isArray(n.data) && n.data.length === n.ndata && n.data.every((v) => typeof v === 'bigint'))) {
    return 'bad next_syscall_data';
  }
  const g = t.prog;
  if (g !== null) {
    if (typeof g !== 'object' || typeof g.name !== 'string' || !isStrs(g.argv) || !isStrs(g.envp)) return 'bad program state';
    if (!Array.isArray(g.signals) || !g.signals.every(isSig)) return 'bad program signals';
    const r = g.result as { ok?: unknown; code?: unknown } | null;
    if (r !== null && (typeof r !== 'object' || (r.ok !== true && !(r.ok === false && typeof r.code === 'string' && isErrnoCode(r.code))))) return 'bad program result';
  }
  const b = t.blocked;
  if (b !== null) {
    if (typeof b !== 'object' || typeof b.call?.name !== 'string' || !SYSCALLS.has(b.call.name) || !Array.isArray(b.call.args)) return 'bad parked syscall';
    if (!(b.remainNs === null || (Number.isFinite(b.remainNs) && b.remainNs >= 0))) return 'bad parked syscall deadline';
  }
  return null;
}

function validProcState(p: CkProc): string | null {
  if (!Array.isArray(p.sigaction) || p.sigaction.length !== 65 || !p.sigaction.every((a) => a === 0 || a === 1 || a === 2)) return 'bad signal dispositions';
  if (!Array.isArray(p.pending) || !p.pending.every(isSig)) return 'bad pending signals';
  if (!isInt(p.exitSignal, 0, 64) || !Number.isInteger(p.status) || !isInt(p.stopReport, 0, 64)) return 'bad exit or stop state';
  if (typeof p.stopped !== 'boolean' || typeof p.contReport !== 'boolean' || typeof p.subreaper !== 'boolean' || typeof p.zombie !== 'boolean') return 'bad flags';
  if (!isInt(p.rlimNofile, 0, 1 << 30) || !isInt(p.rlimNofileMax, 0, 1 << 30) || !isInt(p.rlimMemlock, 0, Number.MAX_SAFE_INTEGER)) return 'bad limits';
  return null;
}

/** Decodes and validates a checkpoint. Throws ImageError naming the file and the reason. */
export function imagesToCheckpoint(images: ReadonlyMap<string, Uint8Array>, lazy?: Map<number, Set<number>>): Checkpoint {
  const inv = readImage(need(images, 'inventory.img'), 'inventory', { file: 'inventory.img' }).entries[0];
  check(inv?.img_version === IMG_VERSION, 'inventory.img', `img_version ${inv?.img_version} (expected ${IMG_VERSION})`);
  const pstree = readImage(need(images, 'pstree.img'), 'pstree', { file: 'pstree.img' }).entries.map((e) => ({
    pid: e.pid, ppid: e.ppid, pgid: e.pgid, sid: e.sid, threads: [...(e.threads ?? [])],
  }));
  const { entries } = readNsdExtra(need(images, TASKS_EXTRA), TASKS_EXTRA);
  const F = TASKS_EXTRA;
  let meta: CheckpointMeta | undefined;
  const pidns: CkPidNs[] = [];
  const procs = new Map<number, CkProc>();
  const tasks = new Map<number, CkTask>();
  const files: CkFile[] = [];
  const pipes: CkPipe[] = [];
  const fdtables: CkFdTable[] = [];
  const mms: CkMm[] = [];
  const fs: CkFsNode[] = [];
  for (const e of entries) {
    let v: unknown;
    try {
      v = decodePlain(e.json ?? 'null');
    } catch (x) {
      throw new ImageError(F, 0, `entry ${e.section}/${e.key}: ${x instanceof Error ? x.message : String(x)}`);
    }
    check(v !== null && typeof v === 'object', F, `entry ${e.section}/${e.key} is not an object`);
    const key = Number(e.key);
    const seq = (list: unknown[]): void => check(key === list.length, F, `${e.section} ${e.key} out of order`);
    switch (e.section) {
      case 'meta':
        meta = v as CheckpointMeta;
        break;
      case 'pidns':
        seq(pidns);
        pidns.push(v as CkPidNs);
        break;
      case 'proc':
        procs.set(key, v as CkProc);
        break;
      case 'task':
        tasks.set(key, v as CkTask);
        break;
      case 'file':
        seq(files);
        files.push(v as CkFile);
        break;
      case 'pipe':
        seq(pipes);
        pipes.push(v as CkPipe);
        break;
      case 'fdtable':
        seq(fdtables);
        fdtables.push(v as CkFdTable);
        break;
      case 'mm':
        seq(mms);
        mms.push(v as CkMm);
        break;
      case 'fs':
        fs.push(v as CkFsNode);
        break;
      default:
        throw new ImageError(F, 0, `unknown section '${e.section}'`);
    }
  }
  check(meta !== undefined, F, 'no meta entry');
  check(meta.format === CHECKPOINT_FORMAT, F, `checkpoint format ${meta.format} (this restore knows ${CHECKPOINT_FORMAT})`);
  check(Array.isArray(meta.runq) && Array.isArray(meta.sleepers), F, 'meta lacks runq/sleepers');
  const ck: Checkpoint = { meta, pidns, pstree, procs, tasks, files, pipes, fdtables, mms, fs, ipc: null };
  validate(ck);
  fillMemory(ck, images, lazy);
  for (const p of pstree) {
    const name = `ids-${p.pid}.img`;
    const ids = readImage(need(images, name), 'ids', { file: name }).entries[0];
    const leader = tasks.get(p.pid)!;
    check(ids !== undefined && ids.vm_id === leader.mm + 1 && ids.files_id === leader.fdtable + 1 && ids.pid_ns_id === leader.pidns + 1, name, 'does not match the process in nsd-extra.img');
  }
  if (meta.ownIpcNs) {
    check(IPC_HOOKS.fromImages !== null, 'ipcns-var', 'checkpoint has an IPC namespace but SysV IPC is not available');
    ck.ipc = IPC_HOOKS.fromImages(images);
    check(ck.ipc !== null, 'ipcns-var', 'checkpoint has an IPC namespace but no ipcns images');
  }
  return ck;
}

/** Cross-checks pstree.img against nsd-extra: every reference resolves, every id is in range. */
function validate(ck: Checkpoint): void {
  const P = 'pstree.img';
  const F = TASKS_EXTRA;
  check(ck.pstree.length > 0, P, 'no processes');
  check(ck.pidns.length > 0 && ck.pidns[0]!.parent === -1, F, 'no container pid namespace');
  ck.pidns.forEach((ns, i) => {
    check(i === 0 || (isInt(ns.parent) && ns.parent < i), F, `pid namespace ${i}: bad parent ${ns.parent}`);
    check(isInt(ns.depth, 0, 32) && isInt(ns.lastPid), F, `pid namespace ${i}: bad depth or last pid`);
  });
  const seen = new Set<number>();
  const tids = new Set<number>();
  ck.pstree.forEach((p, i) => {
    check(isInt(p.pid, 1) && !seen.has(p.pid), P, `entry ${i}: bad or duplicate pid ${p.pid}`);
    check(i === 0 ? p.ppid === 0 : seen.has(p.ppid), P, `pid ${p.pid}: parent ${p.ppid} is not restored before it`);
    check(isInt(p.pgid) && isInt(p.sid), P, `pid ${p.pid}: bad pgid/sid`);
    check(p.threads.length > 0 && p.threads[0] === p.pid, P, `pid ${p.pid}: threads must start with the leader`);
    seen.add(p.pid);
    const proc = ck.procs.get(p.pid);
    check(proc !== undefined, F, `pid ${p.pid}: no proc entry`);
    const badProc = validProcState(proc);
    check(badProc === null, F, `pid ${p.pid}: ${badProc}`);
    check(Array.isArray(proc.zombies), F, `pid ${p.pid}: bad zombie list`);
    for (const tid of p.threads) {
      check(isInt(tid, 1) && !tids.has(tid), P, `pid ${p.pid}: bad or duplicate tid ${tid}`);
      tids.add(tid);
      const t = ck.tasks.get(tid);
      check(t !== undefined, F, `tid ${tid}: no task entry`);
      check(Array.isArray(t.tids) && t.tids.length >= 1 && t.tids[0] === tid && t.tids.every((n) => isInt(n, 1)), F, `tid ${tid}: bad pid numbers`);
      check(isInt(t.pidns) && t.pidns < ck.pidns.length && isInt(t.pidnsForChildren) && t.pidnsForChildren < ck.pidns.length, F, `tid ${tid}: bad pid namespace`);
      check(t.tids.length === ck.pidns[t.pidns]!.depth + 1, F, `tid ${tid}: ${t.tids.length} pid numbers for depth ${ck.pidns[t.pidns]!.depth}`);
      const zombie = proc.zombie;
      check(zombie || (isInt(t.fdtable) && t.fdtable < ck.fdtables.length), F, `tid ${tid}: bad fd table ${t.fdtable}`);
      check(zombie || (isInt(t.mm) && t.mm < ck.mms.length), F, `tid ${tid}: bad address space ${t.mm}`);
      const badTask = validTaskState(t);
      check(badTask === null, F, `tid ${tid}: ${badTask}`);
    }
  });
  check(ck.tasks.size === tids.size && ck.procs.size === seen.size, F, 'tasks or processes not in pstree.img');
  check(Array.isArray(ck.meta.timed), F, 'meta lacks timed');
  for (const tid of [...ck.meta.runq, ...ck.meta.sleepers.flat(), ...ck.meta.timed]) check(tids.has(tid), F, `run/wait queue names unknown tid ${tid}`);
  check(Array.isArray(ck.meta.order) && ck.meta.order.length === tids.size && new Set(ck.meta.order).size === tids.size, F, 'creation order is not a permutation of the threads');
  const leaderOf = new Map<number, CkPstree>();
  for (const p of ck.pstree) for (const tid of p.threads) leaderOf.set(tid, p);
  const made = new Set<number>();
  for (const tid of ck.meta.order) {
    const p = leaderOf.get(tid);
    check(p !== undefined, F, `creation order names unknown tid ${tid}`);
    const before = tid === p.pid ? p.ppid : p.pid;
    check(before === 0 || made.has(before), F, `tid ${tid} comes before ${before} in the creation order`);
    made.add(tid);
  }
  for (const [pid, proc] of ck.procs) for (const z of proc.zombies) check(seen.has(z), F, `pid ${pid}: unknown zombie child ${z}`);
  ck.fdtables.forEach((t, i) => {
    for (const [fd, file] of t.fds) {
      check(isInt(fd, 0, 1 << 20) && isInt(file) && file < ck.files.length, F, `fd table ${i}: bad fd ${fd} → file ${file}`);
    }
  });
  ck.files.forEach((f, i) => {
    check(['vfs', 'pipe', 'proc', 'dev'].includes(f.kind) && isInt(f.flags, 0, 0x7fffffff) && isInt(f.pos, 0, Number.MAX_SAFE_INTEGER), F, `file ${i}: bad kind/flags/pos`);
    check(f.kind !== 'pipe' || (isInt(f.pipe) && f.pipe < ck.pipes.length), F, `file ${i}: bad pipe ${f.pipe}`);
    check(f.kind === 'pipe' || (typeof f.path === 'string' && f.path.startsWith('/')), F, `file ${i}: bad path`);
  });
  ck.pipes.forEach((p, i) => check(p.data instanceof Uint8Array && p.data.length <= 65536, F, `pipe ${i}: bad buffer`));
  ck.mms.forEach((m, i) => {
    for (const map of m.maps) {
      check(isInt(map.start, 0, Number.MAX_SAFE_INTEGER) && isInt(map.len, 1, 1 << 30) && map.start % 4096 === 0, F, `mm ${i}: bad mapping`);
      // data null: the content is in pagemap-<pid>.img (src/cr/pagemap.ts fills it below).
      check(map.kind === 'shm' || map.data === null || (map.data instanceof Uint8Array && map.data.length === map.len), F, `mm ${i}: anonymous content does not match its length`);
    }
  });
  for (const n of ck.fs) check(typeof n.path === 'string' && n.path.startsWith('/') && (n.type === 'dir' || n.data instanceof Uint8Array), F, `fs ${n.path}: bad node`);
}
