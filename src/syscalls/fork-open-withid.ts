/**
 * Thin handlers for the with-id syscalls (src/kernel/fork-open-withid.ts; IPC ones in src/syscalls/ipc-withid.ts),
 * listed in the syscall table (src/syscalls/table.ts).
 */
import { CSIGNAL, SIGCHLD } from '../abi/constants.js';
import type { KernelCore } from '../kernel/core.js';
import type { TaskState } from '../kernel/state.js';
import { cloneWithId, openWithId } from '../kernel/fork-open-withid.js';
import { vnr } from '../kernel/task/misc.js';

type K = KernelCore;
type T = TaskState;

/** clone(flags) whose child gets `pids` (innermost namespace first). */
export function clone_with_id(k: K, t: T, flags: number, pids: number[]): number {
  return vnr(k, t, cloneWithId(k, t, flags & ~CSIGNAL, flags & CSIGNAL, pids));
}

/** fork() whose child gets `pids` (innermost namespace first). */
export function fork_with_id(k: K, t: T, pids: number[]): number {
  return vnr(k, t, cloneWithId(k, t, 0, SIGCHLD, pids));
}

/** open() at exactly `fd` (EBUSY if open, EINVAL out of range). */
export function open_with_id(k: K, t: T, fd: number, path: string, flags = 0, mode = 0o666): number {
  return openWithId(k, t, fd, path, flags, mode);
}
