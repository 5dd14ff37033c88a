/**
 * The "with id" syscalls the 2008 thread argued for instead of next_syscall_data (cover letter:
 * "sys_fork_with_id() would fork a process with a predefined id…"): one new syscall per creating
 * call, each taking the id to use. Process and file ones live here; the IPC ones in
 * src/kernel/ipc/ipc-withid.ts.
 *
 * Design note. They reuse the kernels' own preset paths, so their rules are those of clone3
 * `set_tid` (kernel/pid.c): `pids` is innermost first; each value in 1..pid_max-1 (EINVAL), a taken
 * number → EEXIST, a value other than 1 in a namespace without init → EINVAL; the caller needs
 * CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN (EPERM). `open_with_id` opens at exactly `fd`: out of
 * 0..RLIMIT_NOFILE-1 → EINVAL, already open → EBUSY (the checks of a preset fd, NSD-SPEC §5), then
 * the ordinary open path; the file lands at `fd` or the call fails and changes nothing.
 */
import { err } from '../abi/errno.js';
import { AT_FDCWD, O_CLOEXEC } from '../abi/constants.js';
import type { KernelCore } from './core.js';
import type { TaskState } from './state.js';
import { copyProcess } from './task/fork.js';
import { checkpointRestoreCapable } from './task/cred.js';
import { nofileLimit } from './fs/fdtable.js';
import { openat } from './fs/ops.js';
import { MAX_PID_NS_LEVEL } from './profile.js';

function checkPids(k: KernelCore, t: TaskState, pids: unknown): number[] {
  if (!Array.isArray(pids) || pids.length === 0 || pids.length > MAX_PID_NS_LEVEL) throw err('EINVAL');
  if (!pids.every((p) => Number.isInteger(p))) throw err('EINVAL');
  if (!checkpointRestoreCapable(k, t)) throw err('EPERM');
  return pids as number[];
}

/** clone_with_id(flags, pids): clone() whose child gets `pids` (innermost first). Returns the child's kid. */
export function cloneWithId(k: KernelCore, t: TaskState, flags: number, exitSignal: number, pids: unknown): number {
  if (!Number.isInteger(flags) || !Number.isInteger(exitSignal)) throw err('EINVAL');
  return copyProcess(k, t, { flags, exitSignal, setTid: checkPids(k, t, pids) });
}

/** open_with_id(fd, path, flags, mode): open() at exactly `fd`. */
export function openWithId(k: KernelCore, t: TaskState, fd: number, path: unknown, flags: number, mode: number): number {
  if (!Number.isInteger(fd) || fd < 0 || fd >= nofileLimit(k, t)) throw err('EINVAL', `fd ${fd} out of range`);
  const table = k.fdtable(t.fdtable);
  if (table.fds.has(fd)) throw err('EBUSY', `fd ${fd} is open`);
  const got = openat(k, t, AT_FDCWD, path, flags, mode);
  if (got === fd) return fd;
  // Move the new file from the fd the ordinary allocator gave to the one asked for.
  const fid = table.fds.get(got)!;
  table.fds.delete(got);
  table.cloexec.delete(got);
  if (got < table.nextFd) table.nextFd = got;
  table.fds.set(fd, fid);
  if (flags & O_CLOEXEC) table.cloexec.add(fd);
  return fd;
}
