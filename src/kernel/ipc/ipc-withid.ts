/**
 * The IPC with-id syscalls (the thread's alternative to next_syscall_data): msgget_with_id,
 * semget_with_id, shmget_with_id create an object at exactly `id`, and ipc_set_all is IPC_SET
 * that also sets the times and last pids (what patch 4/5 does when next_syscall_data is armed).
 *
 * Design note. They go through the IPC core's own creation path (ipcget → addId) with a preset
 * id, so every rule of a preset id applies (NSD-SPEC §2: ENOSPC first, id < 0 or seq above
 * seq_max → EINVAL, index busy → EBUSY, the namespace's counters do not move), and through the
 * mechanisms' own IPC_SET. The preset travels in the caller's next_syscall_data slot for the
 * duration of the call only: whatever was armed before is put back afterwards, so these calls
 * neither consume nor leave an armed value. They must create (IPC_CREAT|IPC_EXCL is forced):
 * an existing key is EEXIST. Callers need CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN.
 */
import { err } from '../../abi/errno.js';
import { IPC_CREAT, IPC_EXCL, IPC_SET } from '../../abi/constants.js';
import type { KernelCore } from '../core.js';
import type { NsdState, TaskState } from '../state.js';
import { checkpointRestoreCapable } from '../task/cred.js';
import type { MsqidDsIn, SemidDsIn, ShmidDsIn } from '../../abi/ipc.js';
import { msgctl, msgget } from './msg.js';
import { semctl, semget } from './sem.js';
import { shmctl, shmget } from './shm.js';

function withPreset<T>(k: KernelCore, t: TaskState, value: number, fn: () => T): T {
  if (!checkpointRestoreCapable(k, t)) throw err('EPERM');
  if (!Number.isInteger(value)) throw err('EINVAL');
  const saved: NsdState | null = t.nsd;
  t.nsd = { ndata: 1, data: [BigInt(value)] };
  try {
    return fn();
  } finally {
    t.nsd = saved;
  }
}

const CREATE = IPC_CREAT | IPC_EXCL;

export function msggetWithId(k: KernelCore, t: TaskState, id: number, key: number, flg: number): number {
  return withPreset(k, t, id, () => msgget(k, t, key, flg | CREATE));
}

export function semgetWithId(k: KernelCore, t: TaskState, id: number, key: number, nsems: number, flg: number): number {
  return withPreset(k, t, id, () => semget(k, t, key, nsems, flg | CREATE));
}

export function shmgetWithId(k: KernelCore, t: TaskState, id: number, key: number, size: number | bigint, flg: number): number {
  return withPreset(k, t, id, () => shmget(k, t, key, size, flg | CREATE));
}

export type IpcSetAllBuf = MsqidDsIn | SemidDsIn | ShmidDsIn;

/** ipc_set_all(kind, id, buf): IPC_SET with times and last pids. */
export function ipcSetAll(k: KernelCore, t: TaskState, kind: string, id: number, buf: IpcSetAllBuf): number {
  return withPreset(k, t, 1, () => {
    switch (kind) {
      case 'msg':
        return msgctl(k, t, id, IPC_SET, buf as MsqidDsIn) as number;
      case 'sem':
        return semctl(k, t, id, 0, IPC_SET, buf) as number;
      case 'shm':
        return shmctl(k, t, id, IPC_SET, buf as ShmidDsIn) as number;
      default:
        throw err('EINVAL', `unknown IPC kind ${typeof kind === 'string' ? kind : typeof kind}`);
    }
  });
}
