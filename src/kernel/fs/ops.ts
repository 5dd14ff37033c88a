/**
 * File syscalls' semantics (fs/open.c, fs/read_write.c, fs/fcntl.c, fs/file.c, fs/namei.c,
 * fs/readdir.c, fs/stat.c), including next_syscall_data patch 5/5 (NSD-SPEC §5).
 *
 * do_sys_open() order, which decides what consumes a preset fd:
 *   1. getname(): EFAULT, ENOENT (empty path), ENAMETOOLONG — nothing consumed;
 *   2. fd allocation: the preset `data[0]` (cleared now; < 0 or ≥ RLIMIT_NOFILE → EINVAL, open → EBUSY)
 *      or the lowest free fd (EMFILE);
 *   3. path walk and open (ENOENT, EACCES, EISDIR, EEXIST…): on failure the fd is released, the
 *      preset stays consumed.
 */
import { ErrnoError, err } from '../../abi/errno.js';
import {
  AT_FDCWD, AT_REMOVEDIR, FD_CLOEXEC, F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_GETFL, F_SETFD, F_SETFL,
  O_ACCMODE, O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECT, O_DIRECTORY, O_EXCL, O_LARGEFILE, O_NOATIME, O_NONBLOCK,
  O_NOFOLLOW, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, SEEK_CUR, SEEK_SET, S_IFREG,
} from '../../abi/constants.js';
import type { Dirent, Stat } from '../../abi/fs.js';
import type { KernelCore } from '../core.js';
import type { OpenFileState, ProcNode, TaskState } from '../state.js';
import { allocFd, closeFd, getFile, installFd, nofileLimit, putUnusedFd } from './fdtable.js';
import { canRead, canWrite, fileRead, fileWrite, newFile, releaseFile } from './file.js';
import {
  MAY_EXEC, MAY_READ, MAY_WRITE, absPath, checkPathArg, fileTypeBits, link, mayAccess, maybeFreeInode, newInode,
  permission, resolve, resolveParent, type Node,
} from './vfs.js';
import { procAttr, procFileAccess, procIsDir, procLinkTarget, procList, procReadlink } from '../proc/procfs.js';
import { MAX_FILE_SIZE, fileBlocks, seekHoleData, setFileSize } from './filedata.js';
import { takeNsd } from '../nsd/nsd.js';

const O_ASYNC = 0o20000;
/** Status flags F_SETFL may change (SETFL_MASK). */
const SETFL_MASK = O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME | O_ASYNC;
const enc = new TextEncoder();

export function toBytes(buf: unknown): Uint8Array {
  if (typeof buf === 'string') return enc.encode(buf);
  if (buf instanceof Uint8Array) return buf;
  throw err('EFAULT');
}

/** Reserves the fd an open will use: the next_syscall_data preset or the lowest free one. */
function reserveOpenFd(k: KernelCore, t: TaskState): number {
  const preset = takeNsd(t);
  if (preset === null) return allocFd(k, t, 0);
  const fd = preset[0]!;
  if (fd < 0n || fd >= BigInt(nofileLimit(k, t))) throw err('EINVAL', `preset fd ${fd} out of range`);
  if (k.fdtable(t.fdtable).fds.has(Number(fd))) throw err('EBUSY', `preset fd ${fd} is open`);
  return Number(fd);
}

/** Base directory for a *at() call: the cwd for AT_FDCWD or an absolute path, else the dirfd's path. */
export function dirfdBase(k: KernelCore, t: TaskState, dirfd: number, path: string): string {
  if (path.startsWith('/') || dirfd === AT_FDCWD) return t.cwd;
  const f = getFile(k, t, dirfd);
  if (!isDirFile(k, f)) throw err('ENOTDIR');
  return f.path;
}

function isDirFile(k: KernelCore, f: OpenFileState): boolean {
  if (f.kind === 'proc') return procIsDir(f.proc!);
  return f.kind === 'vfs' && k.inode(f.ino).type === 'dir';
}

/** openat(dirfd, path, flags, mode). */
export function openat(k: KernelCore, t: TaskState, dirfd: number, path: unknown, flags: number, mode: number): number {
  const p = checkPathArg(path);
  if (!Number.isInteger(flags)) throw err('EINVAL');
  // force_o_largefile() on 64-bit.
  flags |= O_LARGEFILE;
  const fd = reserveOpenFd(k, t);
  // From here on a failure releases the fd (put_unused_fd); a preset stays consumed.
  let f: OpenFileState;
  try {
    f = doFilpOpen(k, t, dirfdBase(k, t, dirfd, p), p, flags, mode);
  } catch (e) {
    putUnusedFd(k, t, fd);
    throw e;
  }
  f.refs++;
  installFd(k, t, fd, f.id, (flags & O_CLOEXEC) !== 0);
  return fd;
}

function doFilpOpen(k: KernelCore, t: TaskState, base: string, path: string, flags: number, mode: number): OpenFileState {
  const acc = flags & O_ACCMODE;
  const wantWrite = acc === O_WRONLY || acc === O_RDWR;
  let node: Node;
  let full: string;
  const inProc = (p: string) => p === '/proc' || p.startsWith('/proc/');
  if (flags & O_CREAT && inProc(absPath(base, path))) {
    // procfs creates nothing, but its lookups fail a missing name with ENOENT before any create
    // (proc_pident_lookup, proc_lookup_de, proc_sys_lookup return -ENOENT, not a negative dentry),
    // so `echo x > /proc/self/task/<tid>/nofile` is ENOENT; O_CREAT opens a file that exists, as
    // `echo X > /proc/self/task/<tid>/next_syscall_data` does.
    ({ node, path: full } = resolve(k, t, path, base));
    if (flags & O_EXCL) throw err('EEXIST');
  } else if (flags & O_CREAT) {
    const pr = resolveParent(k, t, path, base);
    full = pr.path;
    if (pr.child === undefined && pr.dir.entries !== null && !pr.path.startsWith('/proc/') && pr.path !== '/proc') {
      if (path.endsWith('/')) throw err('EISDIR');
      permission(k, t, pr.dir, MAY_WRITE | MAY_EXEC);
      const ino = newInode(k, 'reg', mode & ~t.umask & 0o7777, t.cred.fsuid, t.cred.fsgid);
      link(k, pr.dir, pr.name, ino);
      const f = newFile(k, 'vfs', flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC), ino.ino, full, null);
      return f;
    }
    if (flags & O_EXCL) throw err('EEXIST');
    ({ node, path: full } = resolve(k, t, path, base));
    if (node.kind === 'vfs' && k.inode(node.ino).type === 'dir') throw err('EISDIR');
  } else {
    ({ node, path: full } = resolve(k, t, path, base));
  }
  const statusFlags = flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | 0o400 /* O_NOCTTY */);
  if (node.kind === 'proc' && node.proc.type === 'fd') {
    // A /proc/PID/fd/N magic link (proc_fd_link): the open goes on with the file it leads to —
    // its tmpfs inode even when unlinked, its device, its procfs node, or its pipe. O_NOFOLLOW
    // refuses the link itself (ELOOP, as for any final symlink).
    if (flags & O_NOFOLLOW) throw err('ELOOP');
    const target = procLinkTarget(k, node.proc);
    if (target.kind === 'file') {
      const tf = target.file;
      if (tf.kind === 'pipe') return openPipeEnd(k, t, tf.ino, acc, statusFlags);
      full = tf.path;
      node = tf.kind === 'proc' ? { kind: 'proc', proc: tf.proc! } : { kind: 'vfs', ino: tf.ino };
    }
  }
  if (node.kind === 'proc') {
    const attr = procAttr(k, node.proc);
    const dir = procIsDir(node.proc);
    if (flags & O_DIRECTORY && !dir) throw err('ENOTDIR');
    if (dir && wantWrite) throw err('EISDIR');
    const own = procFileAccess(k, t, node.proc);
    if (own === null) checkAccess(k, t, attr.mode, attr.uid, attr.gid, acc, dir);
    else if ((accessMask(acc) & ~own) !== 0) throw err('EACCES');
    return newFile(k, 'proc', statusFlags, 0, full, bindNsNode(k, node.proc));
  }
  const ino = k.inode(node.ino);
  if (flags & O_DIRECTORY && ino.type !== 'dir') throw err('ENOTDIR');
  if (ino.type === 'dir' && (wantWrite || flags & O_CREAT)) throw err('EISDIR');
  checkAccess(k, t, ino.perm, ino.uid, ino.gid, acc, ino.type === 'dir');
  if (ino.type === 'fifo') throw err('ENXIO', 'named fifos are not modelled');
  const kind = ino.type === 'chr' ? 'dev' : 'vfs';
  if (flags & O_TRUNC && wantWrite && ino.type === 'reg') {
    setFileSize(ino, 0);
    ino.mtimeNs = ino.ctimeNs = k.s.clockNs;
  }
  return newFile(k, kind, statusFlags, ino.ino, full, null);
}

/** MAY_* bits an open access mode needs. */
function accessMask(acc: number): number {
  return acc === O_RDONLY ? MAY_READ : acc === O_WRONLY ? MAY_WRITE : acc === O_RDWR ? MAY_READ | MAY_WRITE : 0;
}

/** An ns file being opened refers to its task's namespace from now on (nsfs: the file holds it). */
function bindNsNode(k: KernelCore, n: ProcNode): ProcNode {
  if (n.type !== 'ns' || n.arg === 'ipc') return n;
  const owner = k.s.tasks.get(n.tid);
  if (!owner) throw err('ENOENT');
  return { ...n, target: n.arg === 'pid' ? owner.pidns : owner.pidnsForChildren };
}

function checkAccess(k: KernelCore, t: TaskState, perm: number, uid: number, gid: number, acc: number, dir: boolean): void {
  if (!mayAccess(k, t, perm, uid, gid, accessMask(acc), dir)) throw err('EACCES');
}

export function close(k: KernelCore, t: TaskState, fd: number): number {
  if (!Number.isInteger(fd)) throw err('EBADF');
  closeFd(k, k.fdtable(t.fdtable), fd);
  return 0;
}

export function read(k: KernelCore, t: TaskState, fd: number, count: number): Uint8Array {
  return fileRead(k, t, getFile(k, t, fd), count);
}

export function write(k: KernelCore, t: TaskState, fd: number, buf: unknown): number {
  const f = getFile(k, t, fd);
  return fileWrite(k, t, f, toBytes(buf));
}

const SEEK_DATA = 3;
const SEEK_HOLE = 4;

/**
 * lseek(2): ksys_lseek refuses whence > SEEK_HOLE, then each kind of file has its own llseek
 * (checked on Linux 6.18):
 * - tmpfs regular files (shmem_file_llseek): SEEK_SET/CUR/END within s_maxbytes; SEEK_DATA and
 *   SEEK_HOLE over the sparse pages (ENXIO at or past the end or for a negative offset);
 * - tmpfs directories (dcache_dir_lseek): SEEK_SET/CUR only; the position is the readdir cursor;
 * - /dev/null, /dev/zero (null_lseek): the position is 0 whatever is asked; other devices are
 *   terminals (no_llseek): ESPIPE; pipes ESPIPE;
 * - procfs directories, sysctls and next_syscall_data (generic/default_llseek, i_size 0):
 *   SEEK_SET/CUR/END, SEEK_DATA/SEEK_HOLE ENXIO; other procfs files are seq files (seq_lseek):
 *   SEEK_SET/CUR only.
 */
export function lseek(k: KernelCore, t: TaskState, fd: number, offset: number, whence: number): number {
  const f = getFile(k, t, fd);
  if (!Number.isInteger(whence) || whence < SEEK_SET || whence > SEEK_HOLE) throw err('EINVAL');
  if (f.kind === 'pipe') throw err('ESPIPE');
  if (f.kind === 'dev') {
    const dev = k.inode(f.ino).dev;
    if (dev === 'null' || dev === 'zero' || dev === 'full') return (f.pos = 0);
    throw err('ESPIPE');
  }
  const dir = isDirFile(k, f);
  if (f.kind === 'vfs' && !dir && (whence === SEEK_DATA || whence === SEEK_HOLE)) {
    const ino = k.inode(f.ino);
    if (offset < 0 || offset >= ino.size) throw err('ENXIO');
    const pos = seekHoleData(ino, offset, whence === SEEK_DATA);
    if (pos < 0) throw err('ENXIO');
    f.pos = pos;
    return pos;
  }
  if (f.kind === 'proc') {
    const seqFile = !dir && f.proc!.type !== 'nsd' && !(f.proc!.type === 'file' && f.proc!.arg.startsWith('sys/'));
    if (seqFile && whence > SEEK_CUR) throw err('EINVAL');
    if (whence === SEEK_DATA || whence === SEEK_HOLE) throw err('ENXIO');
  } else if (dir && whence > SEEK_CUR) {
    throw err('EINVAL');
  }
  let base: number;
  if (whence === SEEK_SET) base = 0;
  else if (whence === SEEK_CUR) base = f.pos;
  else base = f.kind === 'vfs' ? k.inode(f.ino).size : 0;
  const pos = base + offset;
  // generic_file_llseek_size(): negative or past s_maxbytes is EINVAL.
  if (!Number.isInteger(pos) || pos < 0 || pos > MAX_FILE_SIZE) throw err('EINVAL');
  f.pos = pos;
  // A directory's position is its readdir cursor (telldir/seekdir: d_off of an entry resumes after it).
  f.dirPos = dir ? pos : 0;
  return pos;
}

export function dup(k: KernelCore, t: TaskState, oldfd: number): number {
  const f = getFile(k, t, oldfd);
  const fd = allocFd(k, t, 0);
  f.refs++;
  installFd(k, t, fd, f.id, false);
  return fd;
}

/** do_dup2(): replaces `newfd` atomically; FD_CLOEXEC as given. */
function doDup2(k: KernelCore, t: TaskState, oldfd: number, newfd: number, cloexec: boolean): number {
  const f = getFile(k, t, oldfd);
  if (!Number.isInteger(newfd) || newfd < 0 || newfd >= nofileLimit(k, t)) throw err('EBADF');
  const table = k.fdtable(t.fdtable);
  f.refs++;
  if (table.fds.has(newfd)) closeFd(k, table, newfd);
  installFd(k, t, newfd, f.id, cloexec);
  return newfd;
}

export function dup2(k: KernelCore, t: TaskState, oldfd: number, newfd: number): number {
  if (oldfd === newfd) {
    getFile(k, t, oldfd);
    return newfd;
  }
  return doDup2(k, t, oldfd, newfd, false);
}

export function dup3(k: KernelCore, t: TaskState, oldfd: number, newfd: number, flags: number): number {
  if ((flags & ~O_CLOEXEC) !== 0) throw err('EINVAL');
  if (oldfd === newfd) throw err('EINVAL');
  return doDup2(k, t, oldfd, newfd, (flags & O_CLOEXEC) !== 0);
}

export function fcntl(k: KernelCore, t: TaskState, fd: number, cmd: number, arg = 0): number {
  const f = getFile(k, t, fd);
  const table = k.fdtable(t.fdtable);
  switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
      if (!Number.isInteger(arg) || arg < 0 || arg >= nofileLimit(k, t)) throw err('EINVAL');
      const nfd = allocFd(k, t, arg);
      f.refs++;
      installFd(k, t, nfd, f.id, cmd === F_DUPFD_CLOEXEC);
      return nfd;
    }
    case F_GETFD:
      return table.cloexec.has(fd) ? FD_CLOEXEC : 0;
    case F_SETFD:
      if (arg & FD_CLOEXEC) table.cloexec.add(fd);
      else table.cloexec.delete(fd);
      return 0;
    case F_GETFL:
      return f.flags;
    case F_SETFL:
      f.flags = (f.flags & ~SETFL_MASK) | (arg & SETFL_MASK);
      return 0;
    default:
      throw err('EINVAL');
  }
}

/**
 * Opens one more end of an existing pipe (through /proc/PID/fd/N, as CRIU reopens pipes): the pipe
 * inode's permission, and nothing else. An anonymous pipe never waits for a partner and is never
 * ENXIO: Linux 6.x's fifo_open skips wait_for_partner and the O_NONBLOCK ENXIO when `is_pipe`
 * (the inode is on pipefs), and 2.6.26 opened a pipefs inode with pipe_rdwr_open, which only counts
 * readers and writers. (Checked on a 6.x host: O_RDONLY with no writer, O_WRONLY and
 * O_WRONLY|O_NONBLOCK with no reader all open at once.) Named FIFOs, which do wait, are not modelled.
 */
function openPipeEnd(k: KernelCore, t: TaskState, pipeIno: number, acc: number, statusFlags: number): OpenFileState {
  const ino = k.inode(pipeIno);
  checkAccess(k, t, ino.perm, ino.uid, ino.gid, acc, false);
  return newFile(k, 'pipe', statusFlags, pipeIno, `pipe:[${pipeIno}]`, null);
}

/** pipe2(): returns [read fd, write fd]. */
export function pipe2(k: KernelCore, t: TaskState, flags: number): [number, number] {
  if ((flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT)) !== 0) throw err('EINVAL');
  const ino = newInode(k, 'fifo', 0o600, t.cred.fsuid, t.cred.fsgid);
  ino.nlink = 0;
  const status = flags & O_NONBLOCK;
  const r = newFile(k, 'pipe', O_RDONLY | status, ino.ino, 'pipe:', null);
  const w = newFile(k, 'pipe', O_WRONLY | status, ino.ino, 'pipe:', null);
  r.path = w.path = `pipe:[${ino.ino}]`;
  const cloexec = (flags & O_CLOEXEC) !== 0;
  // Each end holds one reference from here on: a failure below releases what is not installed.
  r.refs = w.refs = 1;
  let rfd = -1;
  try {
    rfd = allocFd(k, t, 0);
    installFd(k, t, rfd, r.id, cloexec);
    const wfd = allocFd(k, t, 0);
    installFd(k, t, wfd, w.id, cloexec);
    return [rfd, wfd];
  } catch (e) {
    if (rfd >= 0) closeFd(k, k.fdtable(t.fdtable), rfd);
    else releaseFile(k, r.id);
    releaseFile(k, w.id);
    throw e;
  }
}

/** A name below /proc (not /proc itself): its procfs node, or null when it does not exist. */
interface ProcName {
  node: ProcNode | null;
  /** Under /proc/sys (proc_sys_permission: no write on a sysctl directory, even for root). */
  sys: boolean;
  /** The parent is a /proc/<pid> (or task, fd…) directory. */
  inPid: boolean;
  /** A symlink (self, thread-self, fd/N, ns/X): rmdir says ENOTDIR. */
  link: boolean;
  /** Write+search permission on the parent directory (may_delete/may_create). */
  parentWritable: boolean;
}

/**
 * Looks a name below /proc up as the namespace-changing calls do: the parent walk fails as any
 * lookup (ENOENT, ENOTDIR), and a missing last name is reported, not an error (procfs lookups
 * return -ENOENT for it: there are no negative dentries to create in). null when not below /proc.
 */
function procName(k: KernelCore, t: TaskState, path: string, base: string): ProcName | null {
  const full = absPath(base, path);
  const comps = full.split('/').filter((c) => c !== '');
  if (comps.length < 2 || comps[0] !== 'proc') return null;
  const parent = resolve(k, t, '/' + comps.slice(0, -1).join('/')).node;
  if (parent.kind !== 'proc' || !procIsDir(parent.proc)) throw err('ENOTDIR');
  let node: ProcNode | null = null;
  try {
    const r = resolve(k, t, full).node;
    if (r.kind === 'proc') node = r.proc;
  } catch (e) {
    if (!(e instanceof ErrnoError && e.code === 'ENOENT')) throw e;
  }
  const sys = comps[1] === 'sys';
  const a = procAttr(k, parent.proc);
  return {
    node,
    sys,
    inPid: parent.proc.kid !== 0,
    link: (comps.length === 2 && (comps[1] === 'self' || comps[1] === 'thread-self')) || node?.type === 'fd' || node?.type === 'ns',
    parentWritable: !sys && mayAccess(k, t, a.mode, a.uid, a.gid, MAY_WRITE | MAY_EXEC, true),
  };
}

/**
 * unlink/rmdir/rename of an existing procfs entry, as measured on Linux 6.18: inside a
 * /proc/<pid> directory always EPERM (whatever the type or the caller); /proc/sys EACCES (no write
 * on a sysctl directory, even for root); elsewhere may_delete() first (EACCES without write
 * permission on the 0555 directory, ENOTDIR for rmdir of a non-directory), then EPERM: procfs has
 * no ->unlink, ->rmdir or ->rename.
 */
function procDelete(pn: ProcName, rmdir: boolean): never {
  if (pn.node === null) throw err('ENOENT');
  if (pn.inPid) throw err('EPERM');
  if (!pn.parentWritable) throw err('EACCES');
  const dir = !pn.link && procIsDir(pn.node);
  if (rmdir && !dir) throw err('ENOTDIR');
  if (!rmdir && dir) throw err('EISDIR');
  throw err('EPERM');
}

export function mkdirat(k: KernelCore, t: TaskState, dirfd: number, path: unknown, mode: number): number {
  const p = checkPathArg(path);
  const base = dirfdBase(k, t, dirfd, p);
  // procfs: an existing name is EEXIST, a missing one ENOENT (its lookups never offer a create).
  const pn = procName(k, t, p, base);
  if (pn) throw err(pn.node ? 'EEXIST' : 'ENOENT');
  const pr = resolveParent(k, t, p, base);
  if (pr.child !== undefined || pr.name === '.' || pr.name === '..') throw err('EEXIST');
  permission(k, t, pr.dir, MAY_WRITE | MAY_EXEC);
  const d = newInode(k, 'dir', mode & ~t.umask & 0o7777, t.cred.fsuid, t.cred.fsgid);
  link(k, pr.dir, pr.name, d);
  return 0;
}

/** may_delete(): sticky directories protect other users' entries. */
function mayDelete(k: KernelCore, t: TaskState, dirIno: number, childIno: number): void {
  const dir = k.inode(dirIno);
  permission(k, t, dir, MAY_WRITE | MAY_EXEC);
  const child = k.inode(childIno);
  if (dir.perm & 0o1000 && t.cred.fsuid !== 0 && child.uid !== t.cred.fsuid && dir.uid !== t.cred.fsuid) {
    throw err('EPERM');
  }
}

export function unlinkat(k: KernelCore, t: TaskState, dirfd: number, path: unknown, flags: number): number {
  const p = checkPathArg(path);
  if ((flags & ~AT_REMOVEDIR) !== 0) throw err('EINVAL');
  const base = dirfdBase(k, t, dirfd, p);
  const pn = procName(k, t, p, base);
  if (pn) procDelete(pn, (flags & AT_REMOVEDIR) !== 0);
  const pr = resolveParent(k, t, p, base);
  if (flags & AT_REMOVEDIR) {
    if (pr.name === '.') throw err('EINVAL');
    if (pr.name === '..') throw err('ENOTEMPTY');
  }
  if (pr.child === undefined) throw err('ENOENT');
  const child = k.inode(pr.child);
  if (flags & AT_REMOVEDIR) {
    if (child.type !== 'dir') throw err('ENOTDIR');
    // A mount point (/, /proc) cannot be removed.
    if (pr.path === '/' || pr.path === '/proc') throw err('EBUSY');
    mayDelete(k, t, pr.dir.ino, child.ino);
    if (child.entries!.size > 0) throw err('ENOTEMPTY');
    if (t.cwd === pr.path) {
      // Linux allows removing a cwd; the cwd then refers to a deleted directory.
    }
    pr.dir.entries!.delete(pr.name);
    pr.dir.nlink--;
    child.nlink = 0;
  } else {
    if (child.type === 'dir') throw err('EISDIR');
    mayDelete(k, t, pr.dir.ino, child.ino);
    pr.dir.entries!.delete(pr.name);
    child.nlink--;
  }
  pr.dir.mtimeNs = pr.dir.ctimeNs = k.s.clockNs;
  maybeFreeInode(k, child);
  return 0;
}

export function renameat(k: KernelCore, t: TaskState, olddirfd: number, oldpath: unknown, newdirfd: number, newpath: unknown): number {
  const op = checkPathArg(oldpath);
  const np = checkPathArg(newpath);
  const oldBase = dirfdBase(k, t, olddirfd, op);
  const newBase = dirfdBase(k, t, newdirfd, np);
  // do_renameat2(): both parents are looked up, then different mounts are EXDEV, then the names.
  const pfrom = procName(k, t, op, oldBase);
  const pto = procName(k, t, np, newBase);
  if (pfrom || pto) {
    if (!pfrom) resolveParent(k, t, op, oldBase);
    if (!pto) resolveParent(k, t, np, newBase);
    if (!pfrom || !pto) throw err('EXDEV');
    if (pfrom.node === null || pto.node === null) throw err('ENOENT');
    if (!(pfrom.inPid || pfrom.parentWritable) || !(pto.inPid || pto.parentWritable)) throw err('EACCES');
    throw err('EPERM');
  }
  const from = resolveParent(k, t, op, oldBase);
  const to = resolveParent(k, t, np, newBase);
  if (from.name === '.' || from.name === '..' || to.name === '.' || to.name === '..') throw err('EBUSY');
  if (from.child === undefined) throw err('ENOENT');
  // /proc itself is a mount point on the root fs: moving it or onto it crosses mounts.
  if (from.path === '/proc' || to.path === '/proc') throw err('EXDEV');
  const src = k.inode(from.child);
  mayDelete(k, t, from.dir.ino, src.ino);
  permission(k, t, to.dir, MAY_WRITE | MAY_EXEC);
  if (src.type === 'dir' && (to.path + '/').startsWith(from.path + '/') && to.path !== from.path) throw err('EINVAL');
  if (to.child !== undefined) {
    if (to.child === src.ino) return 0;
    const dst = k.inode(to.child);
    if (src.type === 'dir' && dst.type !== 'dir') throw err('ENOTDIR');
    if (src.type !== 'dir' && dst.type === 'dir') throw err('EISDIR');
    if (dst.type === 'dir' && dst.entries!.size > 0) throw err('ENOTEMPTY');
    to.dir.entries!.delete(to.name);
    if (dst.type === 'dir') {
      to.dir.nlink--;
      dst.nlink = 0;
    } else dst.nlink--;
    maybeFreeInode(k, dst);
  }
  from.dir.entries!.delete(from.name);
  if (src.type === 'dir') from.dir.nlink--;
  link(k, to.dir, to.name, src);
  return 0;
}

function statNode(k: KernelCore, node: Node, fileSize?: number): Stat {
  if (node.kind === 'proc') {
    const a = procAttr(k, node.proc);
    const dir = procIsDir(node.proc);
    const link = node.proc.type === 'fd' || node.proc.type === 'ns';
    const mode = (dir ? 0o040000 : link ? 0o120000 : 0o100000) | a.mode;
    return {
      st_dev: 4, st_ino: 0, st_mode: mode, st_nlink: dir ? 2 : 1, st_uid: a.uid, st_gid: a.gid, st_rdev: 0,
      st_size: 0, st_blksize: 1024, st_blocks: 0, st_mtime: Math.floor(k.s.clockNs / 1e9), st_ctime: Math.floor(k.s.clockNs / 1e9),
    };
  }
  const ino = k.inode(node.ino);
  return {
    st_dev: ino.type === 'fifo' && ino.nlink === 0 ? 12 : 1,
    st_ino: ino.ino,
    st_mode: fileTypeBits(ino.type) | ino.perm,
    st_nlink: ino.nlink,
    st_uid: ino.uid,
    st_gid: ino.gid,
    st_rdev: ino.type === 'chr' ? DEVICE_NUMBERS[ino.dev ?? ''] ?? 0 : 0,
    st_size: ino.type === 'reg' ? ino.size : ino.type === 'dir' ? 4096 : fileSize ?? 0,
    st_blksize: 4096,
    st_blocks: ino.type === 'reg' ? fileBlocks(ino) : 0,
    st_mtime: Math.floor(ino.mtimeNs / 1e9),
    st_ctime: Math.floor(ino.ctimeNs / 1e9),
  };
}

/**
 * stat(2) follows a final symbolic link; the model's only links are procfs' magic ones. A
 * /proc/PID/fd/N link leads to the open file itself (proc_fd_link: its dentry, so a pipe's
 * inode, a device, a tmpfs file); a /proc/PID/ns/X link to the namespace's nsfs inode (S_IFREG,
 * 0444, st_ino the namespace's inum, ns_get_path).
 */
export function stat(k: KernelCore, t: TaskState, path: unknown): Stat {
  const p = checkPathArg(path);
  const node = resolve(k, t, p).node;
  if (node.kind === 'proc' && (node.proc.type === 'fd' || node.proc.type === 'ns')) return statLinkTarget(k, node.proc);
  return statNode(k, node);
}

/** lstat(2): the final link itself (S_IFLNK, its mode from proc_fd_link's f_mode rule). */
export function lstat(k: KernelCore, t: TaskState, path: unknown): Stat {
  const p = checkPathArg(path);
  return statNode(k, resolve(k, t, p).node);
}

/** What a procfs magic link leads to (ENOENT once the fd is closed or the task is gone). */
function statLinkTarget(k: KernelCore, n: ProcNode): Stat {
  const target = procLinkTarget(k, n);
  if (target.kind === 'file') {
    const f = target.file;
    return f.kind === 'proc' ? statNode(k, { kind: 'proc', proc: f.proc! }) : statNode(k, { kind: 'vfs', ino: f.ino });
  }
  const sec = Math.floor(k.s.clockNs / 1e9);
  return {
    st_dev: NSFS_DEV, st_ino: target.inum, st_mode: S_IFREG | 0o444, st_nlink: 1, st_uid: 0, st_gid: 0, st_rdev: 0,
    st_size: 0, st_blksize: 4096, st_blocks: 0, st_mtime: sec, st_ctime: sec,
  };
}

/**
 * st_rdev of the character devices in /dev: new_encode_dev(MKDEV(major, minor)) of
 * drivers/char/mem.c's null 1:3, zero 1:5, full 1:7 and the console 5:1.
 */
const DEVICE_NUMBERS: Record<string, number> = { null: 0x103, zero: 0x105, full: 0x107, console: 0x501 };
/** The nsfs superblock's device (an anonymous device; the model's proc is 4, tmpfs 1, pipefs 12). */
const NSFS_DEV = 3;

export function fstat(k: KernelCore, t: TaskState, fd: number): Stat {
  const f = getFile(k, t, fd);
  if (f.kind === 'proc') return statNode(k, { kind: 'proc', proc: f.proc! });
  return statNode(k, { kind: 'vfs', ino: f.ino });
}

/**
 * access(2) (do_faccessat): checks with the real uid/gid, not the fs ones (access_override_creds:
 * fsuid = uid, fsgid = gid; the effective capabilities are the permitted ones for real uid 0, else
 * none), the path walk included.
 */
export function access(k: KernelCore, caller: TaskState, path: unknown, mode: number): number {
  const p = checkPathArg(path);
  if ((mode & ~7) !== 0) throw err('EINVAL');
  const c = caller.cred;
  const t: TaskState = {
    ...caller,
    cred: { ...c, fsuid: c.uid, fsgid: c.gid, capEffective: c.uid === 0 ? c.capPermitted : 0n },
  };
  const { node } = resolve(k, t, p);
  if (mode === 0) return 0;
  const mask = (mode & 4 ? MAY_READ : 0) | (mode & 2 ? MAY_WRITE : 0) | (mode & 1 ? MAY_EXEC : 0);
  if (node.kind === 'proc') {
    const a = procAttr(k, node.proc);
    const own = procFileAccess(k, t, node.proc);
    if (own !== null ? (mask & ~own) !== 0 : !mayAccess(k, t, a.mode, a.uid, a.gid, mask, procIsDir(node.proc))) throw err('EACCES');
    return 0;
  }
  permission(k, t, k.inode(node.ino), mask);
  return 0;
}

const DT = { dir: 4, reg: 8, fifo: 1, chr: 2, lnk: 10 } as const;

/** linux_dirent64 record length for a name. */
function reclen(name: string): number {
  return Math.ceil((19 + enc.encode(name).length + 1) / 8) * 8;
}

/** getdents64(fd, count): the next entries that fit in `count` bytes; [] at the end. */
export function getdents(k: KernelCore, t: TaskState, fd: number, count: number): Dirent[] {
  const f = getFile(k, t, fd);
  if (!isDirFile(k, f)) throw err('ENOTDIR');
  let all: Array<[string, number, number]>;
  if (f.kind === 'proc') {
    all = [['.', 0, DT.dir], ['..', 0, DT.dir], ...procList(k, t, f.proc!).map((n): [string, number, number] => [n, 0, 0])];
  } else {
    const dir = k.inode(f.ino);
    all = [['.', dir.ino, DT.dir], ['..', dir.parent, DT.dir]];
    for (const [name, ino] of [...dir.entries!.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      all.push([name, ino, DT[k.inode(ino).type]]);
    }
  }
  const out: Dirent[] = [];
  let used = 0;
  while (f.dirPos < all.length) {
    const [name, ino, type] = all[f.dirPos]!;
    const len = reclen(name);
    if (used + len > count) {
      if (out.length === 0) throw err('EINVAL');
      break;
    }
    used += len;
    f.dirPos++;
    out.push({ d_ino: ino, d_off: f.dirPos, d_type: type, d_name: name });
  }
  return out;
}

export function chdir(k: KernelCore, t: TaskState, path: unknown): number {
  const p = checkPathArg(path);
  const { node, path: full } = resolve(k, t, p);
  enterDir(k, t, node, full);
  return 0;
}

export function fchdir(k: KernelCore, t: TaskState, fd: number): number {
  const f = getFile(k, t, fd);
  const node: Node = f.kind === 'proc' ? { kind: 'proc', proc: f.proc! } : { kind: 'vfs', ino: f.ino };
  enterDir(k, t, node, f.path);
  return 0;
}

function enterDir(k: KernelCore, t: TaskState, node: Node, full: string): void {
  if (node.kind === 'proc') {
    if (!procIsDir(node.proc)) throw err('ENOTDIR');
  } else {
    const ino = k.inode(node.ino);
    if (ino.type !== 'dir') throw err('ENOTDIR');
    permission(k, t, ino, MAY_EXEC);
  }
  t.cwd = full;
}

export function getcwd(_k: KernelCore, t: TaskState): string {
  return t.cwd;
}

export function readlink(k: KernelCore, t: TaskState, path: unknown): string {
  const p = checkPathArg(path);
  const comps = absPath(t.cwd, p);
  if (comps === '/proc/self') return String(pidOfSelf(k, t));
  if (comps === '/proc/thread-self') return `${pidOfSelf(k, t)}/task/${t.pids[t.pids.length - 1]}`;
  const { node } = resolve(k, t, p);
  if (node.kind !== 'proc') throw err('EINVAL');
  return procReadlink(k, node.proc);
}

function pidOfSelf(k: KernelCore, t: TaskState): number {
  const leader = k.t(t.tgid);
  return leader.pids[leader.pids.length - 1]!;
}

export function umask(_k: KernelCore, t: TaskState, mask: number): number {
  const old = t.umask;
  t.umask = mask & 0o777;
  return old;
}

export function ftruncate(k: KernelCore, t: TaskState, fd: number, length: number): number {
  const f = getFile(k, t, fd);
  if (!Number.isInteger(length) || length < 0) throw err('EINVAL');
  if (f.kind !== 'vfs' || k.inode(f.ino).type !== 'reg' || !canWrite(f)) throw err('EINVAL');
  // do_truncate → inode_newsize_ok(): past s_maxbytes is EFBIG. Growing allocates nothing (a hole).
  const ino = k.inode(f.ino);
  setFileSize(ino, length);
  ino.mtimeNs = ino.ctimeNs = k.s.clockNs;
  return 0;
}

export { canRead };
