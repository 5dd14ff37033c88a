/**
 * File descriptor tables (fs/file.c).
 *
 * Design note. A table maps fd → open-file id, with a separate FD_CLOEXEC set. Allocation is
 * `alloc_fd()`: the lowest free fd ≥ start, found from the `next_fd` hint (the lowest fd that may be
 * free), so sequential opens are O(1) amortised. A result ≥ RLIMIT_NOFILE is EMFILE. Tables are
 * shared by CLONE_FILES (`refs`), copied by fork, unshared by execve.
 * Open file descriptions (`OpenFileState`) are reference-counted: dup and fork share them.
 */
import { err } from '../../abi/errno.js';
import type { KernelCore } from '../core.js';
import type { FdTableState, OpenFileState, TaskState } from '../state.js';
import { releaseFile } from './file.js';

export function newFdTable(k: KernelCore): FdTableState {
  const t: FdTableState = { id: k.newId(), refs: 1, fds: new Map(), cloexec: new Set(), nextFd: 0 };
  k.s.fdtables.set(t.id, t);
  return t;
}

/** dup_fd(): a copy for fork (same numbers and close-on-exec bits, shared open files). */
export function copyFdTable(k: KernelCore, src: FdTableState): FdTableState {
  const t = newFdTable(k);
  for (const [fd, fid] of src.fds) {
    t.fds.set(fd, fid);
    k.file(fid).refs++;
  }
  for (const fd of src.cloexec) t.cloexec.add(fd);
  t.nextFd = src.nextFd;
  return t;
}

/** The open file behind `fd`, or EBADF. */
export function getFile(k: KernelCore, t: TaskState, fd: number): OpenFileState {
  const fid = Number.isInteger(fd) ? k.fdtable(t.fdtable).fds.get(fd) : undefined;
  if (fid === undefined) throw err('EBADF');
  return k.file(fid);
}

export function nofileLimit(k: KernelCore, t: TaskState): number {
  return k.proc(t.tgid).rlimNofile;
}

/** alloc_fd(start): the lowest free fd ≥ start; EMFILE at or past RLIMIT_NOFILE. */
export function allocFd(k: KernelCore, t: TaskState, start: number): number {
  const table = k.fdtable(t.fdtable);
  const limit = nofileLimit(k, t);
  let fd = Math.max(start, table.nextFd);
  while (table.fds.has(fd)) fd++;
  if (fd >= limit) throw err('EMFILE');
  if (start <= table.nextFd) table.nextFd = fd + 1;
  return fd;
}

/** put_unused_fd(): gives back an fd reserved by allocFd that was never installed. */
export function putUnusedFd(k: KernelCore, t: TaskState, fd: number): void {
  const table = k.fdtable(t.fdtable);
  if (fd < table.nextFd) table.nextFd = fd;
}

/** fd_install(): binds a (reserved) fd to an open file, taking one reference. */
export function installFd(k: KernelCore, t: TaskState, fd: number, fid: number, cloexec: boolean): void {
  const table = k.fdtable(t.fdtable);
  table.fds.set(fd, fid);
  if (cloexec) table.cloexec.add(fd);
  else table.cloexec.delete(fd);
}

/** Releases an fd slot and drops its file reference (close_fd / filp_close). */
export function closeFd(k: KernelCore, table: FdTableState, fd: number): void {
  const fid = table.fds.get(fd);
  if (fid === undefined) throw err('EBADF');
  table.fds.delete(fd);
  table.cloexec.delete(fd);
  if (fd < table.nextFd) table.nextFd = fd;
  releaseFile(k, fid);
}

/** Drops a task's reference to its table; the last user closes everything. */
export function putFdTable(k: KernelCore, tableId: number): void {
  const table = k.fdtable(tableId);
  if (--table.refs > 0) return;
  for (const fd of [...table.fds.keys()]) closeFd(k, table, fd);
  k.s.fdtables.delete(tableId);
}

/** execve: unshare the table, then close every close-on-exec fd. */
export function execFdTable(k: KernelCore, t: TaskState): void {
  let table = k.fdtable(t.fdtable);
  if (table.refs > 1) {
    const copy = copyFdTable(k, table);
    table.refs--;
    t.fdtable = copy.id;
    table = copy;
  }
  for (const fd of [...table.cloexec]) closeFd(k, table, fd);
}
