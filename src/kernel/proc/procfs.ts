/**
 * procfs (fs/proc): generated files, each seen through the reader's pid namespace.
 *
 * Design note. A path under /proc resolves to a `ProcNode` (plain data: a type, the kids it is about,
 * the namespace it was resolved in). Content is generated on every read and sliced by the file
 * position, like simple_read_from_buffer. Writable files: the per-thread `next_syscall_data`
 * (patch 1/5; only the thread itself may write, EPERM otherwise, EINVAL at a non-zero offset) and
 * sysctls under /proc/sys. Other subsystems add files (sysctls, /proc/sysvipc/*) with
 * `registerProcFile`.
 *
 * Layout: /proc/{self, thread-self, <pid>/, sys/kernel/*, registered files}; <pid>/{status, stat,
 * cmdline, comm, maps, fd/, ns/, task/<tid>/{status, stat, comm, cmdline, next_syscall_data}}.
 * next_syscall_data is only in the per-thread directory, never in /proc/<pid>/ itself.
 */
import { err } from '../../abi/errno.js';
import { PID_MAX_LIMIT, POSSIBLE_CPUS, RESERVED_PIDS } from '../profile.js';
import { CAP_SYS_ADMIN, O_ACCMODE, O_RDONLY, O_WRONLY } from '../../abi/constants.js';
import type { KernelCore } from '../core.js';
import type { Mapping, OpenFileState, ProcNode, TaskState } from '../state.js';
import { formatNextSyscallData, setNextSyscallData, NSD_WRITE_MAX } from '../nsd/nsd.js';
import { findKid, kidNrIn, pidMaxOf } from '../pid/pid.js';
import { checkpointRestoreCapable, hasCap } from '../task/cred.js';
import { SUBSYSTEMS } from '../subsystem.js';

/** A file registered by a subsystem (e.g. `sys/kernel/msgmax`, `sysvipc/msg`). */
export interface ProcFileDef {
  /** Path below /proc, e.g. `sys/kernel/msg_next_id`. */
  path: string;
  mode: number;
  /** Whether the file exists for this kernel: a function of the profile only (the answer is cached per profile). */
  available?(k: KernelCore): boolean;
  /** Content for `reader`; `ns` is the pid namespace the file was opened in. */
  read(k: KernelCore, reader: TaskState, ns: number): string;
  /** Applies a write of `text` (the whole write, at offset 0). Throws an errno. */
  write?(k: KernelCore, writer: TaskState, text: string, ns: number): void;
  /**
   * The caller's access bits (rwx as 0–7) when the file has its own permission rule (a sysctl
   * table root's ->permissions, e.g. pid_table_root_permissions); absent: the usual mode check.
   */
  access?(k: KernelCore, t: TaskState): number | null;
}

const REGISTRY = new Map<string, ProcFileDef>();
/** Directories of registered files, per profile (derived; reset when a file is registered). */
const DIRS = new Map<string, Set<string>>();

export function registerProcFile(def: ProcFileDef): void {
  REGISTRY.set(def.path, def);
  DIRS.clear();
}

/** A per-process file /proc/<pid>/<name> registered by a subsystem (e.g. `semundo`). */
export interface PidFileDef {
  name: string;
  mode: number;
  /** Content for process `tgid` (kid of its leader), seen by `reader`. */
  read(k: KernelCore, reader: TaskState, tgid: number): string;
  /** Binary files read at an offset (pagemap): `count` bytes at `pos`, instead of `read`'s text. */
  readAt?(k: KernelCore, reader: TaskState, tgid: number, pos: number, count: number): Uint8Array;
  write?(k: KernelCore, writer: TaskState, tgid: number, text: string): void;
}

const PID_FILES = new Map<string, PidFileDef>();

export function registerPidFile(def: PidFileDef): void {
  PID_FILES.set(def.name, def);
}

const latin1 = new TextDecoder('latin1');

/**
 * A written buffer as the C sees its bytes. Short ASCII writes (an nsd arming is ~8 bytes) are
 * converted char by char: a TextDecoder call costs more than the parse that follows.
 */
function writtenText(bytes: Uint8Array): string {
  if (bytes.length > 32) return latin1.decode(bytes);
  let s = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b >= 0x80) return latin1.decode(bytes);
    s += String.fromCharCode(b);
  }
  return s;
}
const enc = new TextEncoder();

function node(type: string, ns: number, kid = 0, tid = 0, arg = ''): ProcNode {
  return { type, kid, tid, arg, ns };
}

/** Directories made only of registered files (`sys`, `sys/kernel`, `sysvipc`). */
function registeredDirs(k: KernelCore): Set<string> {
  const cached = DIRS.get(k.profile.name);
  if (cached) return cached;
  const dirs = new Set<string>();
  DIRS.set(k.profile.name, dirs);
  for (const def of REGISTRY.values()) {
    if (def.available && !def.available(k)) continue;
    const parts = def.path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return dirs;
}

function registered(k: KernelCore, path: string): ProcFileDef | undefined {
  const def = REGISTRY.get(path);
  return def && (!def.available || def.available(k)) ? def : undefined;
}

/** Resolves the components after `/proc` for task `t`. Throws ENOENT/ENOTDIR. */
export function procLookup(k: KernelCore, t: TaskState, comps: string[]): ProcNode {
  const ns = t.pidns;
  let cur = node('root', ns);
  for (let i = 0; i < comps.length; i++) {
    const c = comps[i]!;
    if (c === '..') {
      // Re-resolve from the root without the last component (paths are lexically normalised).
      return procLookup(k, t, comps.slice(0, Math.max(0, i - 1)).concat(comps.slice(i + 1)));
    }
    cur = child(k, t, cur, c);
  }
  return cur;
}

function taskByNr(k: KernelCore, ns: number, name: string): TaskState | undefined {
  if (!/^[1-9][0-9]*$/.test(name)) return undefined;
  const kid = findKid(k, ns, Number(name));
  const t = kid === undefined ? undefined : k.s.tasks.get(kid);
  return t && t.state !== 'dead' ? t : undefined;
}

function child(k: KernelCore, t: TaskState, dir: ProcNode, name: string): ProcNode {
  const ns = dir.ns;
  switch (dir.type) {
    case 'root': {
      if (name === 'self') return node('pid-dir', ns, t.tgid);
      if (name === 'thread-self') return node('tid-dir', ns, t.tgid, t.kid);
      const target = taskByNr(k, ns, name);
      // /proc/<tid> of a non-leader thread works too (hidden from readdir), as in Linux.
      if (target) return node('pid-dir', ns, target.tgid);
      break;
    }
    case 'pid-dir':
    case 'tid-dir': {
      const perThread = dir.type === 'tid-dir';
      const tid = perThread ? dir.tid : dir.kid;
      if (!perThread && name === 'task') return node('task-dir', ns, dir.kid);
      if (name === 'fd') return node('fd-dir', ns, dir.kid, tid);
      if (name === 'fdinfo') return node('fdinfo-dir', ns, dir.kid, tid);
      if (perThread && name === 'children') return node('children', ns, dir.kid, tid);
      if (name === 'ns') return node('ns-dir', ns, dir.kid, tid);
      if (['status', 'stat', 'cmdline', 'comm', 'maps'].includes(name)) return node(name, ns, dir.kid, tid);
      if (perThread && name === 'next_syscall_data') return node('nsd', ns, dir.kid, tid);
      if (!perThread && PID_FILES.has(name)) return node('pidfile', ns, dir.kid, tid, name);
      break;
    }
    case 'task-dir': {
      const target = taskByNr(k, ns, name);
      if (target && target.tgid === dir.kid) return node('tid-dir', ns, dir.kid, target.kid);
      break;
    }
    case 'fd-dir':
    case 'fdinfo-dir': {
      if (/^(0|[1-9][0-9]*)$/.test(name) && liveTask(k, dir.tid)) {
        const fds = k.fdtable(liveTask(k, dir.tid)!.fdtable).fds;
        if (fds.has(Number(name))) return node(dir.type === 'fd-dir' ? 'fd' : 'fdinfo', ns, dir.kid, dir.tid, name);
      }
      break;
    }
    case 'ns-dir': {
      if (name === 'pid' || name === 'ipc' || name === 'pid_for_children') return node('ns', ns, dir.kid, dir.tid, name);
      break;
    }
    case 'dir': {
      const path = dir.arg ? `${dir.arg}/${name}` : name;
      if (registered(k, path)) return node('file', ns, 0, 0, path);
      if (registeredDirs(k).has(path)) return node('dir', ns, 0, 0, path);
      break;
    }
    default:
      throw err('ENOTDIR');
  }
  if (dir.type === 'root') {
    if (registered(k, name)) return node('file', ns, 0, 0, name);
    if (registeredDirs(k).has(name)) return node('dir', ns, 0, 0, name);
  }
  throw err('ENOENT');
}

function liveTask(k: KernelCore, kid: number): TaskState | undefined {
  const x = k.s.tasks.get(kid);
  return x && x.state !== 'dead' && x.state !== 'zombie' ? x : undefined;
}

/** Directory-ness of a node (for open(O_DIRECTORY), getdents, stat). */
export function procIsDir(n: ProcNode): boolean {
  return ['root', 'pid-dir', 'tid-dir', 'task-dir', 'fd-dir', 'fdinfo-dir', 'ns-dir', 'dir'].includes(n.type);
}

/** Where a magic link leads: the open file of /proc/PID/fd/N, or the namespace (its inum) of /proc/PID/ns/X. */
export function procLinkTarget(k: KernelCore, n: ProcNode): { kind: 'file'; file: OpenFileState } | { kind: 'ns'; type: string; inum: number } {
  if (n.type === 'fd') {
    const t = liveTask(k, n.tid);
    const fid = t ? k.fdtable(t.fdtable).fds.get(Number(n.arg)) : undefined;
    if (fid === undefined) throw err('ENOENT');
    return { kind: 'file', file: k.file(fid) };
  }
  if (n.type === 'ns') {
    const t = k.s.tasks.get(n.tid);
    if (!t) throw err('ENOENT');
    if (n.arg === 'ipc') return { kind: 'ns', type: 'ipc', inum: 4026531839 + t.ipcns };
    return { kind: 'ns', type: 'pid', inum: 4026531836 + (n.arg === 'pid' ? t.pidns : t.pidnsForChildren) };
  }
  throw err('EINVAL');
}

/** Symlink-like nodes and their targets (readlink). */
export function procReadlink(k: KernelCore, n: ProcNode): string {
  const target = procLinkTarget(k, n);
  return target.kind === 'file' ? describeFile(k, target.file) : `${target.type}:[${target.inum}]`;
}

/** What /proc/<pid>/fd/N points at. */
export function describeFile(k: KernelCore, f: OpenFileState): string {
  if (f.kind === 'pipe') return `pipe:[${f.ino}]`;
  // d_path() of an unlinked dentry: the name it had, with " (deleted)" (prepend_path / d_unlinked).
  if (f.ino && f.kind === 'vfs' && k.inode(f.ino).nlink === 0) return `${f.path} (deleted)`;
  return f.path;
}

/** Owner and mode of a node (proc_pid_make_inode: the task's euid/egid). */
export function procAttr(k: KernelCore, n: ProcNode): { mode: number; uid: number; gid: number } {
  const t = k.s.tasks.get(n.tid || n.kid);
  const uid = t ? t.cred.euid : 0;
  const gid = t ? t.cred.egid : 0;
  if (procIsDir(n)) return { mode: 0o555, uid: n.kid ? uid : 0, gid: n.kid ? gid : 0 };
  if (n.type === 'nsd') return { mode: 0o644, uid, gid };
  if (n.type === 'pidfile') return { mode: PID_FILES.get(n.arg)?.mode ?? 0o444, uid, gid };
  if (n.type === 'fd') return { mode: fdLinkMode(k, n), uid, gid };
  if (n.type === 'ns') return { mode: 0o777, uid, gid };
  if (n.type === 'file') return { mode: REGISTRY.get(n.arg)?.mode ?? 0o444, uid: 0, gid: 0 };
  return { mode: 0o444, uid, gid };
}

/**
 * A /proc/PID/fd/N link's permission bits follow the file's open mode (tid_fd_update_inode):
 * r-x for FMODE_READ, -wx for FMODE_WRITE, so `ls -l` shows lr-x, l-wx or lrwx.
 */
function fdLinkMode(k: KernelCore, n: ProcNode): number {
  const t = liveTask(k, n.tid);
  const fid = t ? k.fdtable(t.fdtable).fds.get(Number(n.arg)) : undefined;
  if (fid === undefined) return 0o700;
  const acc = k.file(fid).flags & O_ACCMODE;
  return (acc !== O_WRONLY ? 0o500 : 0) | (acc !== O_RDONLY ? 0o300 : 0);
}

/** Names in a proc directory (for getdents), in Linux's order: fixed entries, then numbers. */
export function procList(k: KernelCore, t: TaskState, n: ProcNode): string[] {
  switch (n.type) {
    case 'root': {
      const fixed = ['self', 'thread-self'];
      for (const p of REGISTRY.values()) {
        if (p.available && !p.available(k)) continue;
        const top = p.path.split('/')[0]!;
        if (!fixed.includes(top)) fixed.push(top);
      }
      const view = k.pidNs(n.ns);
      const pids = [...view.pids.entries()]
        .filter(([, kid]) => {
          const x = k.s.tasks.get(kid);
          return x && x.kid === x.tgid;
        })
        .map(([nr]) => nr)
        .sort((a, b) => a - b);
      return [...fixed, ...pids.map(String)];
    }
    case 'pid-dir':
      return ['cmdline', 'comm', 'fd', 'fdinfo', 'maps', 'ns', 'stat', 'status', 'task', ...PID_FILES.keys()].sort();
    case 'tid-dir':
      return ['children', 'cmdline', 'comm', 'fd', 'fdinfo', 'maps', 'next_syscall_data', 'ns', 'stat', 'status'];
    case 'task-dir': {
      const p = k.s.procs.get(n.kid);
      if (!p) return [];
      return p.threads.map((kid) => String(kidNrIn(k, kid, n.ns)));
    }
    case 'fd-dir':
    case 'fdinfo-dir': {
      const x = liveTask(k, n.tid);
      return x ? [...k.fdtable(x.fdtable).fds.keys()].sort((a, b) => a - b).map(String) : [];
    }
    case 'ns-dir':
      return ['ipc', 'pid', 'pid_for_children'];
    case 'dir': {
      const prefix = n.arg + '/';
      const names = new Set<string>();
      for (const p of REGISTRY.values()) {
        if ((p.available && !p.available(k)) || !p.path.startsWith(prefix)) continue;
        names.add(p.path.slice(prefix.length).split('/')[0]!);
      }
      return [...names].sort();
    }
    default:
      throw err('ENOTDIR');
  }
}

/** read() of a proc file: generated text sliced at the file position. */
export function procRead(k: KernelCore, t: TaskState, f: OpenFileState, count: number): Uint8Array {
  const n = f.proc!;
  if (procIsDir(n)) throw err('EISDIR');
  const readAt = n.type === 'pidfile' ? PID_FILES.get(n.arg)!.readAt : undefined;
  if (readAt) return readAt(k, t, n.kid, f.pos, count);
  const text = procContent(k, t, n);
  const bytes = enc.encode(text);
  if (f.pos >= bytes.length) return new Uint8Array(0);
  return bytes.slice(f.pos, f.pos + count);
}

export function procContent(k: KernelCore, t: TaskState, n: ProcNode): string {
  switch (n.type) {
    case 'pidfile':
      return PID_FILES.get(n.arg)!.read(k, t, n.kid);
    case 'nsd': {
      const target = k.s.tasks.get(n.tid);
      if (!target || target.state === 'dead') throw err('ESRCH');
      return formatNextSyscallData(target.nsd);
    }
    case 'status':
      return statusText(k, n);
    case 'stat':
      return statText(k, n);
    case 'cmdline': {
      const x = k.s.tasks.get(n.tid);
      return x?.prog ? x.prog.argv.map((a) => a + '\0').join('') : '';
    }
    case 'comm':
      return `${k.s.tasks.get(n.tid)?.comm ?? ''}\n`;
    case 'maps':
      return mapsText(k, n);
    case 'fdinfo': {
      // fs/proc/fd.c seq_show(): position, flags (octal, with O_CLOEXEC from the fd table), mount, inode.
      const x = liveTask(k, n.tid);
      const table = x ? k.fdtable(x.fdtable) : undefined;
      const fid = table?.fds.get(Number(n.arg));
      if (fid === undefined) throw err('ENOENT');
      const f = k.file(fid);
      const flags = f.flags | (table!.cloexec.has(Number(n.arg)) ? 0o2000000 : 0);
      return `pos:\t${f.pos}\nflags:\t0${flags.toString(8)}\nmnt_id:\t${f.kind === 'proc' ? 22 : f.kind === 'pipe' ? 14 : 1}\nino:\t${f.ino}\n`;
    }
    case 'children': {
      // /proc/<pid>/task/<tid>/children: child processes, seen from the reader's namespace.
      const p = k.s.procs.get(n.kid);
      if (!p) return '';
      const nrs: number[] = [];
      for (const c of p.children) {
        const nr = kidNrIn(k, c, n.ns);
        if (nr) nrs.push(nr);
      }
      return nrs.map((x) => `${x} `).join('');
    }
    case 'file':
      return REGISTRY.get(n.arg)!.read(k, t, n.ns);
    case 'fd':
    case 'ns':
      throw err('EINVAL');
    default:
      throw err('EISDIR');
  }
}

/** write() of a proc file. Returns the count taken, and moves the file position as Linux does. */
export function procWrite(k: KernelCore, t: TaskState, f: OpenFileState, bytes: Uint8Array): number {
  const n = f.proc!;
  if (n.type === 'pidfile') {
    const def = PID_FILES.get(n.arg)!;
    if (!def.write || f.pos !== 0) throw err('EINVAL');
    def.write(k, t, n.kid, latin1.decode(bytes));
    f.pos += bytes.length;
    return bytes.length;
  }
  if (n.type === 'nsd') {
    // next_syscall_data_write(): only the thread itself; no partial writes; one page at most.
    // It never touches *ppos, so the position stays where it was: a second write() on the same
    // open file is at offset 0 again and is accepted; only a read or lseek that moved the
    // position makes the next write EINVAL (docs/next-syscall-data.md).
    const target = k.s.tasks.get(n.tid);
    if (!target || target.kid !== t.kid || target.state === 'dead') throw err('EPERM');
    const count = Math.min(bytes.length, NSD_WRITE_MAX);
    if (f.pos !== 0) throw err('EINVAL', 'no partial writes');
    setNextSyscallData(t, writtenText(bytes.subarray(0, count)));
    return count;
  }
  if (n.type === 'file') {
    const def = REGISTRY.get(n.arg)!;
    if (!def.write) throw err('EINVAL');
    if (f.pos !== 0) throw err('EINVAL');
    def.write(k, t, latin1.decode(bytes), n.ns);
    f.pos += bytes.length;
    return bytes.length;
  }
  throw err('EINVAL');
}

// ---- generated content ----

function stateLetter(t: TaskState): string {
  switch (t.state) {
    case 'running':
      return 'R (running)';
    case 'blocked':
      return 'S (sleeping)';
    case 'stopped':
      return 'T (stopped)';
    case 'zombie':
      return 'Z (zombie)';
    default:
      return 'X (dead)';
  }
}

function hex16(v: bigint): string {
  return v.toString(16).padStart(16, '0');
}

function sigset(list: number[]): bigint {
  return list.reduce((m, s) => m | (1n << BigInt(s - 1)), 0n);
}

/** Numbers of a task from the viewer's level down to its own (NSpid). */
function nsNumbers(k: KernelCore, x: TaskState, viewNs: number): number[] {
  const lvl = k.pidNs(viewNs).level;
  return x.pids.slice(lvl);
}

function statusText(k: KernelCore, n: ProcNode): string {
  const x = k.s.tasks.get(n.tid || n.kid);
  if (!x) throw err('ESRCH');
  const p = k.proc(x.tgid);
  const leader = k.s.tasks.get(x.tgid) ?? x;
  const nr = (kid: number) => kidNrIn(k, kid, n.ns);
  const ppid = nr(p.parent);
  const c = x.cred;
  const ign = p.sigaction.map((a, s) => (a === 1 ? s : 0)).filter(Boolean);
  const cgt = p.sigaction.map((a, s) => (a === 2 ? s : 0)).filter(Boolean);
  const lines = [
    `Name:\t${x.comm}`,
    `Umask:\t${x.umask.toString(8).padStart(4, '0')}`,
    `State:\t${stateLetter(x)}`,
    `Tgid:\t${nr(x.tgid)}`,
    `Ngid:\t0`,
    `Pid:\t${nr(x.kid)}`,
    `PPid:\t${ppid}`,
    `TracerPid:\t0`,
    `Uid:\t${c.uid}\t${c.euid}\t${c.suid}\t${c.fsuid}`,
    `Gid:\t${c.gid}\t${c.egid}\t${c.sgid}\t${c.fsgid}`,
    `FDSize:\t${Math.max(64, 2 ** Math.ceil(Math.log2(Math.max(1, k.s.fdtables.get(x.fdtable)?.fds.size ?? 1))))}`,
    `Groups:\t${c.groups.join(' ')}${c.groups.length ? ' ' : ''}`,
  ];
  if (k.profile.procNsPid) {
    lines.push(
      `NStgid:\t${nsNumbers(k, leader, n.ns).join('\t')}`,
      `NSpid:\t${nsNumbers(k, x, n.ns).join('\t')}`,
      `NSpgid:\t${nsNumbersOf(k, p.pgid, n.ns)}`,
      `NSsid:\t${nsNumbersOf(k, p.sid, n.ns)}`,
    );
  }
  lines.push(
    `Threads:\t${p.threads.length}`,
    `SigPnd:\t${hex16(sigset(x.pending))}`,
    `ShdPnd:\t${hex16(sigset(p.pending))}`,
    `SigBlk:\t${hex16(x.sigmask)}`,
    `SigIgn:\t${hex16(sigset(ign))}`,
    `SigCgt:\t${hex16(sigset(cgt))}`,
    `CapInh:\t${hex16(0n)}`,
    `CapPrm:\t${hex16(c.capPermitted)}`,
    `CapEff:\t${hex16(c.capEffective)}`,
  );
  return lines.join('\n') + '\n';
}

function nsNumbersOf(k: KernelCore, kid: number, viewNs: number): string {
  if (kidNrIn(k, kid, viewNs) === 0) return '0';
  return nsNumbers(k, k.t(kid), viewNs).join('\t');
}

function statText(k: KernelCore, n: ProcNode): string {
  const x = k.s.tasks.get(n.tid || n.kid);
  if (!x) throw err('ESRCH');
  const p = k.proc(x.tgid);
  const nr = (kid: number) => kidNrIn(k, kid, n.ns);
  const fields = [
    nr(x.kid),
    `(${x.comm})`,
    stateLetter(x)[0],
    nr(p.parent),
    nr(p.pgid),
    nr(p.sid),
    0, // tty_nr
    -1, // tpgid
  ];
  while (fields.length < 52) fields.push(fields.length === 19 ? p.threads.length : 0);
  return fields.join(' ') + '\n';
}

function mapsText(k: KernelCore, n: ProcNode): string {
  const x = k.s.tasks.get(n.tid || n.kid);
  if (!x || !k.s.mms.has(x.mm)) return '';
  return k.mm(x.mm).maps.map((m) => mapsLine(k, m) + '\n').join('');
}

/** One line of /proc/<pid>/maps (show_map_vma), without the newline; smaps starts each block with it. */
export function mapsLine(k: KernelCore, m: Mapping): string {
  {
    const perms = `${m.prot & 1 ? 'r' : '-'}${m.prot & 2 ? 'w' : '-'}${m.prot & 4 ? 'x' : '-'}${m.kind === 'anon' ? 'p' : 's'}`;
    let dev = '00:00';
    let ino = 0;
    let path = '';
    if (m.kind !== 'anon') {
      const d = SUBSYSTEMS.find((s) => s.name === m.kind)?.describeMapping?.(k, m);
      if (d) ({ dev, ino, path } = d);
    }
    const range = `${m.start.toString(16).padStart(8, '0')}-${(m.start + m.len).toString(16).padStart(8, '0')}`;
    const head = `${range} ${perms} 00000000 ${dev} ${ino}`;
    return path ? `${head.padEnd(73)}${path}` : `${head} `;
  }
}

// ---- the core's own sysctls ----

/** proc_dointvec_minmax() for one integer: EINVAL on garbage or out of range. */
export function parseSysctlInt(text: string, min: number, max: number): number {
  const m = /^\s*(-?\d+)\s*$/.exec(text);
  if (!m) throw err('EINVAL');
  const v = Number(m[1]);
  if (!Number.isSafeInteger(v) || v < min || v > max) throw err('EINVAL');
  return v;
}

/**
 * The caller's access bits for a file with a custom rule, or null (the usual mode check applies).
 * Used by open(2) and access(2).
 */
export function procFileAccess(k: KernelCore, t: TaskState, n: ProcNode): number | null {
  if (n.type !== 'file') return null;
  return REGISTRY.get(n.arg)?.access?.(k, t) ?? null;
}

/** pid_max_min: max(RESERVED_PIDS + 1, PIDS_PER_CPU_MIN × cpus). */
const PID_MAX_MIN = Math.max(RESERVED_PIDS + 1, 8 * POSSIBLE_CPUS);

registerProcFile({
  path: 'sys/kernel/pid_max',
  mode: 0o644,
  // 6.14+: one file per pid namespace (the set of the opener's active namespace); before: global.
  read: (k, _t, ns) => `${k.profile.pidMaxPerNs ? k.pidNs(ns).pidMax : k.s.pidMax}\n`,
  write: (k, _t, text, ns) => {
    const v = parseSysctlInt(text, PID_MAX_MIN, PID_MAX_LIMIT);
    if (k.profile.pidMaxPerNs) k.pidNs(ns).pidMax = v;
    else k.s.pidMax = v;
  },
  // pid_table_root_permissions(): CAP_SYS_ADMIN (in the namespace's user namespace: the only one
  // modelled) or euid 0 get the owner bits (rw), everyone else the "other" bits (r). No
  // CAP_DAC_OVERRIDE here: sysctl permissions never look at it.
  access: (k, t) => {
    if (!k.profile.pidMaxPerNs) return null;
    return hasCap(k, t, CAP_SYS_ADMIN) || t.cred.euid === 0 ? 0o6 : 0o4;
  },
});

registerProcFile({
  path: 'sys/kernel/ns_last_pid',
  mode: 0o666,
  available: (k) => k.profile.nsLastPid,
  // pid_ns_ctl_handler(): the reader's/writer's own namespace; idr cursor - 1; at most that
  // namespace's pid_max (6.14+) or the global one.
  read: (k, t) => `${k.pidNs(t.pidns).lastPid}\n`,
  write: (k, t, text) => {
    if (!checkpointRestoreCapable(k, t)) throw err('EPERM');
    const ns = k.pidNs(t.pidns);
    const v = parseSysctlInt(text, 0, pidMaxOf(k, ns));
    ns.lastPid = v;
  },
});

registerProcFile({
  path: 'sys/kernel/osrelease',
  mode: 0o444,
  read: (k) => `${k.profile.release}\n`,
});

registerProcFile({
  path: 'version',
  mode: 0o444,
  read: (k) => `Linux version ${k.profile.release} (next-syscall-data model) #1 SMP\n`,
});
