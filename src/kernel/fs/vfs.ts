/**
 * The in-memory VFS: a tmpfs of inodes (directories, regular files, fifos, character devices), path
 * resolution and permission checks, with procfs mounted at /proc.
 *
 * Design note. Inodes live in `KernelState.inodes` by number; a directory holds `name → ino`.
 * Path resolution (`resolve`) walks components from `/` or the task's cwd, checking search (x)
 * permission on every directory like `link_path_walk`, and hands the rest of any path under /proc to
 * procfs. The result is a `Node`: a tmpfs inode or a procfs node, both plain data. Permission checks
 * follow `generic_permission()`: owner, group, other classes; CAP_DAC_OVERRIDE bypasses read/write,
 * and execute when any x bit is set; CAP_DAC_READ_SEARCH is folded into it.
 */
import { err } from '../../abi/errno.js';
import { CAP_DAC_OVERRIDE } from '../../abi/constants.js';
import type { KernelCore } from '../core.js';
import type { InodeState, InodeType, ProcNode, TaskState } from '../state.js';
import { hasCap } from '../task/cred.js';
import { procLookup } from '../proc/procfs.js';

export const PATH_MAX = 4096;
export const NAME_MAX = 255;
export const MAY_EXEC = 1;
export const MAY_WRITE = 2;
export const MAY_READ = 4;

export type Node = { kind: 'vfs'; ino: number } | { kind: 'proc'; proc: ProcNode };

export function newInode(k: KernelCore, type: InodeType, perm: number, uid: number, gid: number): InodeState {
  const now = k.s.clockNs;
  const ino: InodeState = {
    ino: k.newId(),
    type,
    perm: perm & 0o7777,
    uid,
    gid,
    nlink: type === 'dir' ? 2 : 1,
    data: new Uint8Array(0),
    size: 0,
    entries: type === 'dir' ? new Map() : null,
    parent: 0,
    readers: 0,
    writers: 0,
    dev: '',
    mtimeNs: now,
    ctimeNs: now,
    openRefs: 0,
  };
  k.s.inodes.set(ino.ino, ino);
  return ino;
}

/** Builds the initial tree: /, /proc, /dev/{null,zero}, /tmp, /bin, /etc, /root, /home, /var. */
export function mkRootFs(k: KernelCore): number {
  const root = newInode(k, 'dir', 0o755, 0, 0);
  root.parent = root.ino;
  k.s.rootIno = root.ino;
  for (const [name, perm] of [
    ['proc', 0o555],
    ['dev', 0o755],
    ['tmp', 0o1777],
    ['bin', 0o755],
    ['etc', 0o755],
    ['root', 0o700],
    ['home', 0o755],
    ['var', 0o755],
  ] as const) {
    mkdirAt(k, root, name, perm, 0, 0);
  }
  const dev = k.inode(root.entries!.get('dev')!);
  for (const name of ['null', 'zero', 'full', 'console']) {
    const n = newInode(k, 'chr', name === 'console' ? 0o600 : 0o666, 0, 0);
    n.dev = name;
    link(k, dev, name, n);
  }
  return root.ino;
}

export function link(k: KernelCore, dir: InodeState, name: string, child: InodeState): void {
  dir.entries!.set(name, child.ino);
  dir.mtimeNs = dir.ctimeNs = k.s.clockNs;
  if (child.type === 'dir') {
    child.parent = dir.ino;
    dir.nlink++;
  }
}

export function mkdirAt(k: KernelCore, dir: InodeState, name: string, perm: number, uid: number, gid: number): InodeState {
  const d = newInode(k, 'dir', perm, uid, gid);
  link(k, dir, name, d);
  return d;
}

/** generic_permission(): throws EACCES unless `t` may access `ino` with `mask` (MAY_*). */
export function permission(k: KernelCore, t: TaskState, ino: InodeState, mask: number): void {
  if (!mayAccess(k, t, ino.perm, ino.uid, ino.gid, mask, ino.type === 'dir')) throw err('EACCES');
}

export function mayAccess(k: KernelCore, t: TaskState, perm: number, uid: number, gid: number, mask: number, isDir: boolean): boolean {
  const c = t.cred;
  let bits: number;
  if (c.fsuid === uid) bits = (perm >> 6) & 7;
  else if (c.fsgid === gid || c.groups.includes(gid)) bits = (perm >> 3) & 7;
  else bits = perm & 7;
  if ((mask & ~bits & 7) === 0) return true;
  if (hasCap(k, t, CAP_DAC_OVERRIDE)) {
    // Read/write always; execute only for directories or when some x bit is set.
    if (!(mask & MAY_EXEC) || isDir || (perm & 0o111) !== 0) return true;
  }
  return false;
}

/** getname(): the checks made before anything else (and before an fd is reserved by open). */
export function checkPathArg(path: unknown): string {
  if (typeof path !== 'string') throw err('EFAULT');
  if (path.length === 0) throw err('ENOENT');
  if (path.length >= PATH_MAX) throw err('ENAMETOOLONG');
  return path;
}

/** Splits and normalises an absolute path string into components ("." and "" dropped, ".." kept). */
export function splitPath(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

/** Joins a base (absolute) and a path into a normalised absolute path (lexically). */
export function absPath(base: string, path: string): string {
  const parts = path.startsWith('/') ? [] : splitPath(base);
  for (const c of splitPath(path)) {
    if (c === '..') parts.pop();
    else parts.push(c);
  }
  return '/' + parts.join('/');
}

export interface Resolved {
  node: Node;
  /** Absolute normalised path. */
  path: string;
}

export interface ParentResolved {
  dir: InodeState;
  name: string;
  /** The existing child, if any. */
  child: number | undefined;
  path: string;
}

function walkDir(k: KernelCore, t: TaskState, dir: InodeState, name: string): InodeState {
  if (dir.type !== 'dir') throw err('ENOTDIR');
  permission(k, t, dir, MAY_EXEC);
  if (name.length > NAME_MAX) throw err('ENAMETOOLONG');
  if (name === '..') return k.inode(dir.parent);
  const child = dir.entries!.get(name);
  if (child === undefined) throw err('ENOENT');
  return k.inode(child);
}

/**
 * Resolves a whole path. `base` is the absolute directory relative paths start from (the cwd, or a
 * dirfd's path). Throws ENOENT, ENOTDIR, EACCES, ENAMETOOLONG as Linux does.
 */
export function resolve(k: KernelCore, t: TaskState, path: string, base: string = t.cwd): Resolved {
  const full = absPath(base, path);
  // A trailing slash requires a directory.
  const wantDir = path.endsWith('/') || path.endsWith('/.') || path.endsWith('/..');
  const comps = splitPath(full);
  let cur = k.inode(k.s.rootIno);
  for (let i = 0; i < comps.length; i++) {
    if (i === 0 && comps[0] === 'proc') {
      permission(k, t, cur, MAY_EXEC);
      const proc = procLookup(k, t, comps.slice(1));
      return { node: { kind: 'proc', proc }, path: full };
    }
    cur = walkDir(k, t, cur, comps[i]!);
  }
  if (wantDir && cur.type !== 'dir') throw err('ENOTDIR');
  return { node: { kind: 'vfs', ino: cur.ino }, path: full };
}

/** Resolves all but the last component (for create, mkdir, unlink, rename). */
export function resolveParent(k: KernelCore, t: TaskState, path: string, base: string = t.cwd): ParentResolved {
  const full = absPath(base, path);
  const comps = splitPath(full);
  const rawLast = path.split('/').filter((c) => c !== '').pop() ?? '';
  if (comps.length === 0) return { dir: k.inode(k.s.rootIno), name: '', child: k.s.rootIno, path: full };
  const name = comps[comps.length - 1]!;
  let cur = k.inode(k.s.rootIno);
  for (let i = 0; i < comps.length - 1; i++) {
    if (i === 0 && comps[0] === 'proc') throw err('EACCES');
    cur = walkDir(k, t, cur, comps[i]!);
  }
  if (cur.type !== 'dir') throw err('ENOTDIR');
  permission(k, t, cur, MAY_EXEC);
  if (name.length > NAME_MAX) throw err('ENAMETOOLONG');
  if (comps.length === 1 && name === 'proc') {
    return { dir: cur, name, child: cur.entries!.get('proc'), path: full };
  }
  const child = rawLast === '..' ? cur.parent : cur.entries!.get(name);
  return { dir: cur, name: rawLast === '..' || rawLast === '.' ? rawLast : name, child, path: full };
}

export function fileTypeBits(type: InodeType): number {
  switch (type) {
    case 'dir':
      return 0o040000;
    case 'reg':
      return 0o100000;
    case 'fifo':
      return 0o010000;
    case 'chr':
      return 0o020000;
    case 'lnk':
      return 0o120000;
  }
}

/** Grows a regular file's buffer to hold `need` bytes (amortised doubling). */
export function ensureCapacity(ino: InodeState, need: number): void {
  if (need <= ino.data.length) return;
  const next = new Uint8Array(Math.max(need, ino.data.length * 2, 64));
  next.set(ino.data.subarray(0, ino.size));
  ino.data = next;
}

/** Drops an inode that has no links and no open files. */
export function maybeFreeInode(k: KernelCore, ino: InodeState): void {
  if (ino.nlink <= 0 && ino.openRefs <= 0) k.s.inodes.delete(ino.ino);
}
