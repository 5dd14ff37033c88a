/**
 * Thin handlers for the with-id syscalls (src/kernel/withid.ts; IPC ones in src/syscalls/ipc-withid.ts
 * when SysV IPC is built), plus their `task.sys` methods (declaration merging on Sys).
 */
import { CSIGNAL } from '../abi/constants.js';
import type { KernelCore } from '../kernel/kernel.js';
import type { TaskState } from '../kernel/state.js';
import { cloneWithId, openWithId } from '../kernel/withid.js';
import { vnr } from '../kernel/task/syscalls.js';
import { defineSyscall } from './table.js';
import { Sys } from './sys.js';

type K = KernelCore;
type T = TaskState;

defineSyscall({
  name: 'clone_with_id',
  handler: (k: K, t: T, flags: number, pids: number[]) => vnr(k, t, cloneWithId(k, t, flags & ~CSIGNAL, flags & CSIGNAL, pids)),
  args: ['clone', 'any'],
  ret: 'int',
  control: true,
});

defineSyscall({
  name: 'fork_with_id',
  handler: (k: K, t: T, pids: number[]) => vnr(k, t, cloneWithId(k, t, 0, 17, pids)),
  args: ['any'],
  ret: 'int',
  control: true,
});

defineSyscall({
  name: 'open_with_id',
  handler: (k: K, t: T, fd: number, path: string, flags = 0, mode = 0o666) => openWithId(k, t, fd, path, flags, mode),
  args: ['fd', 'str', 'oflags', 'oct'],
  ret: 'fd',
});

declare module './sys.js' {
  interface Sys {
    /** fork() whose child gets `pids` (innermost namespace first). */
    fork_with_id(pids: number[]): number;
    /** clone(flags) whose child gets `pids` (innermost namespace first). */
    clone_with_id(flags: number, pids: number[]): number;
    /** open() at exactly `fd` (EBUSY if open, EINVAL out of range). */
    open_with_id(fd: number, path: string, flags?: number, mode?: number): number;
  }
}

Sys.prototype.fork_with_id = function (this: Sys, pids: number[]): number {
  return this.call('fork_with_id', pids) as number;
};
Sys.prototype.clone_with_id = function (this: Sys, flags: number, pids: number[]): number {
  return this.call('clone_with_id', flags, pids) as number;
};
Sys.prototype.open_with_id = function (this: Sys, fd: number, path: string, flags = 0, mode = 0o666): number {
  return this.call('open_with_id', fd, path, flags, mode) as number;
};
