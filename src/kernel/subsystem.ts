/**
 * Subsystems outside the core (SysV IPC, …) plug into the kernel's life cycle through these hooks,
 * the way Linux's ipc/ plugs into fork (copy_semundo), exit (exit_sem, exit_shm) and exec. Hooks are
 * code registered at module load; the state they manage lives in `KernelState` (plain data).
 */
import type { KernelCore } from './core.js';
import type { IpcNsState, Mapping, ProcState, TaskState } from './state.js';

export interface Subsystem {
  readonly name: string;
  /** Once, at boot, before init exists. */
  boot?(k: KernelCore): void;
  /** The last reference to an IPC namespace is gone: free what it holds. */
  freeIpcNs?(k: KernelCore, ns: IpcNsState): void;
  /** A new process is created by fork/clone (not a thread). */
  forkProcess?(k: KernelCore, parent: ProcState, child: ProcState, flags: number): void;
  /**
   * A thread is exiting (do_exit: exit_shm), before the process hooks and before its mm is
   * released; `t.exitCode` is set and `t.prog` still holds the program's last state.
   */
  exitTask?(k: KernelCore, t: TaskState): void;
  /** The last thread of a process is exiting (before its mm and files are released). */
  exitProcess?(k: KernelCore, proc: ProcState, last: TaskState): void;
  /** A mapping owned by this subsystem was duplicated into a child mm (fork). */
  dupMapping?(k: KernelCore, m: Mapping, childTgid: number): void;
  /** A mapping owned by this subsystem is being removed (munmap, exit, exec). */
  unmapMapping?(k: KernelCore, m: Mapping, tgid: number): void;
  /**
   * Backing page store of a shared mapping owned by this subsystem (the mapping's `kind` is the
   * name): the store, the byte offset in it of the mapping's first byte, and the backing's size.
   */
  mappingStore?(k: KernelCore, m: Mapping): { store: Map<number, Uint8Array>; off: number; size: number };
  /** How /proc/<pid>/maps names a mapping owned by this subsystem. */
  describeMapping?(k: KernelCore, m: Mapping): { dev: string; ino: number; path: string };
  /** unshare(CLONE_NEWIPC) or unshare(CLONE_SYSVSEM): the process leaves its shared undo list. */
  unshareSysvsem?(k: KernelCore, proc: ProcState): void;
  /** unshare(CLONE_NEWIPC): the calling thread leaves its old IPC namespace (ksys_unshare's exit_shm). */
  unshareIpc?(k: KernelCore, t: TaskState): void;
}

export const SUBSYSTEMS: Subsystem[] = [];

export function registerSubsystem(s: Subsystem): void {
  if (!SUBSYSTEMS.some((x) => x.name === s.name)) SUBSYSTEMS.push(s);
}
