/**
 * SysV IPC system calls: the flag tables strace-like traces print them with, and the `task.sys`
 * signatures of the calls whose result type depends on the command (the syscall table,
 * src/syscalls/table.ts, lists the handlers, which live in src/kernel/ipc).
 *
 * Return values (see docs/ipc.md):
 * - `msgrcv` → `{ mtype, mtext }`; `shmat` → the address;
 * - `*ctl(IPC_STAT)` → the `*_ds` record; `*_STAT`/`*_STAT_ANY` → `{ ret: id, buf: record }`;
 *   `IPC_INFO`/`*_INFO` → `{ ret: highest index in use, buf: info }`; `semctl(GETALL)` → values;
 *   everything else → the number Linux returns.
 */
import * as C from '../abi/constants.js';
import '../kernel/ipc/index.js';
import type {
  CtlResult, MsgBuf, MsgInfo, MsqidDs, MsqidDsIn, Sembuf, SemidDs, SemidDsIn, SemInfo, ShmidDs, ShmidDsIn, ShmInfo, ShmInfoUsage,
} from '../abi/ipc.js';
import type { Timespec } from '../kernel/ipc/sem.js';
import { registerFlagTable } from './trace.js';

registerFlagTable('ipcflags', [['IPC_CREAT', C.IPC_CREAT], ['IPC_EXCL', C.IPC_EXCL], ['IPC_NOWAIT', C.IPC_NOWAIT], ['SHM_HUGETLB', C.SHM_HUGETLB], ['SHM_NORESERVE', C.SHM_NORESERVE]]);
registerFlagTable('msgflags', [['IPC_NOWAIT', C.IPC_NOWAIT], ['MSG_NOERROR', C.MSG_NOERROR], ['MSG_EXCEPT', C.MSG_EXCEPT], ['MSG_COPY', C.MSG_COPY]]);
registerFlagTable('semflags', [['IPC_NOWAIT', C.IPC_NOWAIT], ['SEM_UNDO', C.SEM_UNDO]]);
registerFlagTable('shmflags', [['SHM_RDONLY', C.SHM_RDONLY], ['SHM_RND', C.SHM_RND], ['SHM_REMAP', C.SHM_REMAP], ['SHM_EXEC', C.SHM_EXEC]]);
registerFlagTable('ipccmd', [
  ['IPC_SET', C.IPC_SET], ['IPC_STAT', C.IPC_STAT], ['IPC_INFO', C.IPC_INFO], ['MSG_STAT', C.MSG_STAT], ['MSG_INFO', C.MSG_INFO],
  ['MSG_STAT_ANY', C.MSG_STAT_ANY], ['GETPID', C.GETPID], ['GETVAL', C.GETVAL], ['GETALL', C.GETALL], ['GETNCNT', C.GETNCNT],
  ['GETZCNT', C.GETZCNT], ['SETVAL', C.SETVAL], ['SETALL', C.SETALL], ['SEM_STAT', C.SEM_STAT], ['SEM_INFO', C.SEM_INFO],
  ['SEM_STAT_ANY', C.SEM_STAT_ANY],
]);

/** `task.sys.msgctl`: the result's type follows the command. */
export interface MsgctlMethod {
  (msqid: number, cmd: typeof C.IPC_STAT): MsqidDs;
  (msqid: number, cmd: typeof C.MSG_STAT | typeof C.MSG_STAT_ANY): CtlResult<MsqidDs>;
  (msqid: number, cmd: typeof C.IPC_INFO | typeof C.MSG_INFO): CtlResult<MsgInfo>;
  (msqid: number, cmd: number, buf?: MsqidDsIn): number | MsqidDs | CtlResult<MsqidDs> | CtlResult<MsgInfo>;
}

/** `task.sys.semctl`: the result's type follows the command. */
export interface SemctlMethod {
  (semid: number, semnum: number, cmd: typeof C.IPC_STAT): SemidDs;
  (semid: number, semnum: number, cmd: typeof C.SEM_STAT | typeof C.SEM_STAT_ANY): CtlResult<SemidDs>;
  (semid: number, semnum: number, cmd: typeof C.IPC_INFO | typeof C.SEM_INFO): CtlResult<SemInfo>;
  (semid: number, semnum: number, cmd: typeof C.GETALL): number[];
  (semid: number, semnum: number, cmd: number, arg?: number | number[] | SemidDsIn): number | number[] | SemidDs | CtlResult<SemidDs> | CtlResult<SemInfo>;
}

/** `task.sys.shmctl`: the result's type follows the command. */
export interface ShmctlMethod {
  (shmid: number, cmd: typeof C.IPC_STAT): ShmidDs;
  (shmid: number, cmd: typeof C.SHM_STAT | typeof C.SHM_STAT_ANY): CtlResult<ShmidDs>;
  (shmid: number, cmd: typeof C.IPC_INFO): CtlResult<ShmInfo>;
  (shmid: number, cmd: typeof C.SHM_INFO): CtlResult<ShmInfoUsage>;
  (shmid: number, cmd: number, buf?: ShmidDsIn): number | ShmidDs | CtlResult<ShmidDs> | CtlResult<ShmInfo> | CtlResult<ShmInfoUsage>;
}

/** `task.sys.msgsnd`: `msgsz` defaults to mtext's length. Returns 0. */
export type MsgsndMethod = (msqid: number, mtype: number | bigint, mtext: Uint8Array | string, msgflg: number, msgsz?: number) => number;
/** `task.sys.msgrcv`: the message (mtext holds the bytes copied, at most msgsz). */
export type MsgrcvMethod = (msqid: number, msgsz: number, msgtyp: number | bigint, msgflg: number) => MsgBuf;
/** `task.sys.semop`: 0. */
export type SemopMethod = (semid: number, sops: Sembuf[]) => number;
/** `task.sys.semtimedop`: 0; EAGAIN when the timeout expires. */
export type SemtimedopMethod = (semid: number, sops: Sembuf[], timeout: Timespec | null) => number;
