/**
 * Thin handlers for the IPC with-id syscalls (src/kernel/ipc/ipc-withid.ts), listed in the syscall
 * table (src/syscalls/table.ts), which also provides /proc/<pid>/semundo through this module.
 */
import type { KernelCore } from '../kernel/core.js';
import type { TaskState } from '../kernel/state.js';
import { ipcSetAll, msggetWithId, semgetWithId, shmgetWithId, type IpcSetAllBuf } from '../kernel/ipc/ipc-withid.js';
import '../kernel/ipc/semundo.js';

type K = KernelCore;
type T = TaskState;

export function msgget_with_id(k: K, t: T, id: number, key: number, msgflg: number): number {
  return msggetWithId(k, t, id, key, msgflg);
}

export function semget_with_id(k: K, t: T, id: number, key: number, nsems: number, semflg: number): number {
  return semgetWithId(k, t, id, key, nsems, semflg);
}

export function shmget_with_id(k: K, t: T, id: number, key: number, size: number | bigint, shmflg: number): number {
  return shmgetWithId(k, t, id, key, size, shmflg);
}

/** IPC_SET that also sets times and last pids; `kind` is msg, sem or shm. */
export function ipc_set_all(k: K, t: T, kind: 'msg' | 'sem' | 'shm', id: number, buf: IpcSetAllBuf): number {
  return ipcSetAll(k, t, kind, id, buf);
}
