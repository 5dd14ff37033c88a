/**
 * SysV IPC system calls: thin handlers registered in the syscall table (semantics live in
 * src/kernel/ipc), the flag tables strace-like traces print them with, and the `task.sys`
 * methods (added to `Sys` by declaration merging).
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
import { msgctl, msgget, msgrcv, msgsnd } from '../kernel/ipc/msg.js';
import { semctl, semget, semop, semtimedop, type Timespec } from '../kernel/ipc/sem.js';
import { shmat, shmctl, shmdt, shmget } from '../kernel/ipc/shm.js';
import { defineSyscall, type ArgKind, type Handler } from './table.js';
import { registerFlagTable } from './trace.js';
import { Sys } from './sys.js';

function def(name: string, handler: Handler, args: ArgKind[], ret: ArgKind = 'int'): void {
  defineSyscall({ name, handler, args, ret });
}


// The mechanisms already take (k, task, …args) in syscall order: registered as they are.
def('msgget', msgget, ['key', 'ipcflags']);
// mtype/msgtyp are C longs carried exactly (a number, or a bigint beyond 2^53): not register-checked as ints.
def('msgsnd', msgsnd, ['int', 'bigint', 'buf', 'msgflags', 'int']);
def('msgrcv', msgrcv, ['int', 'int', 'bigint', 'msgflags'], 'any');
def('msgctl', msgctl, ['int', 'ipccmd', 'any'], 'any');
def('semget', semget, ['key', 'int', 'ipcflags']);
def('semop', semop, ['int', 'any']);
def('semtimedop', semtimedop, ['int', 'any', 'any']);
def('semctl', semctl, ['int', 'int', 'ipccmd', 'any'], 'any');
def('shmget', shmget, ['key', 'bigint', 'ipcflags']);
def('shmat', shmat, ['int', 'hex', 'shmflags'], 'hex');
def('shmdt', shmdt, ['hex']);
def('shmctl', shmctl, ['int', 'ipccmd', 'any'], 'any');

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

declare module './sys.js' {
  interface Sys {
    /** msgget(2): the queue id. */
    msgget(key: number, msgflg: number): number;
    /** msgsnd(2): `msgsz` defaults to mtext's length. Returns 0. */
    msgsnd(msqid: number, mtype: number | bigint, mtext: Uint8Array | string, msgflg: number, msgsz?: number): number;
    /** msgrcv(2): the message (mtext holds the bytes copied, at most msgsz). */
    msgrcv(msqid: number, msgsz: number, msgtyp: number | bigint, msgflg: number): MsgBuf;
    msgctl(msqid: number, cmd: typeof C.IPC_STAT): MsqidDs;
    msgctl(msqid: number, cmd: typeof C.MSG_STAT | typeof C.MSG_STAT_ANY): CtlResult<MsqidDs>;
    msgctl(msqid: number, cmd: typeof C.IPC_INFO | typeof C.MSG_INFO): CtlResult<MsgInfo>;
    msgctl(msqid: number, cmd: number, buf?: MsqidDsIn): number | MsqidDs | CtlResult<MsqidDs> | CtlResult<MsgInfo>;
    /** semget(2): the set id. */
    semget(key: number, nsems: number, semflg: number): number;
    /** semop(2): 0. */
    semop(semid: number, sops: Sembuf[]): number;
    /** semtimedop(2): 0; EAGAIN when the timeout expires. */
    semtimedop(semid: number, sops: Sembuf[], timeout: Timespec | null): number;
    semctl(semid: number, semnum: number, cmd: typeof C.IPC_STAT): SemidDs;
    semctl(semid: number, semnum: number, cmd: typeof C.SEM_STAT | typeof C.SEM_STAT_ANY): CtlResult<SemidDs>;
    semctl(semid: number, semnum: number, cmd: typeof C.IPC_INFO | typeof C.SEM_INFO): CtlResult<SemInfo>;
    semctl(semid: number, semnum: number, cmd: typeof C.GETALL): number[];
    semctl(semid: number, semnum: number, cmd: number, arg?: number | number[] | SemidDsIn): number | number[] | SemidDs | CtlResult<SemidDs> | CtlResult<SemInfo>;
    /** shmget(2): the segment id. */
    shmget(key: number, size: number | bigint, shmflg: number): number;
    /** shmat(2): the attach address. */
    shmat(shmid: number, shmaddr: number, shmflg: number): number;
    /** shmdt(2): 0. */
    shmdt(shmaddr: number): number;
    shmctl(shmid: number, cmd: typeof C.IPC_STAT): ShmidDs;
    shmctl(shmid: number, cmd: typeof C.SHM_STAT | typeof C.SHM_STAT_ANY): CtlResult<ShmidDs>;
    shmctl(shmid: number, cmd: typeof C.IPC_INFO): CtlResult<ShmInfo>;
    shmctl(shmid: number, cmd: typeof C.SHM_INFO): CtlResult<ShmInfoUsage>;
    shmctl(shmid: number, cmd: number, buf?: ShmidDsIn): number | ShmidDs | CtlResult<ShmidDs> | CtlResult<ShmInfo> | CtlResult<ShmInfoUsage>;
  }
}

// Fixed-arity wrappers (no rest parameters: msgsnd/msgrcv are hot paths).
type Method = (this: Sys, a?: unknown, b?: unknown, c?: unknown, d?: unknown, e?: unknown) => unknown;
const P = Sys.prototype as unknown as Record<string, Method>;
P['msgget'] = function (a, b) { return this.call('msgget', a, b); };
P['msgsnd'] = function (a, b, c, d, e) { return e === undefined ? this.call('msgsnd', a, b, c, d) : this.call('msgsnd', a, b, c, d, e); };
P['msgrcv'] = function (a, b, c, d) { return this.call('msgrcv', a, b, c, d); };
P['msgctl'] = function (a, b, c) { return c === undefined ? this.call('msgctl', a, b) : this.call('msgctl', a, b, c); };
P['semget'] = function (a, b, c) { return this.call('semget', a, b, c); };
P['semop'] = function (a, b) { return this.call('semop', a, b); };
P['semtimedop'] = function (a, b, c) { return this.call('semtimedop', a, b, c); };
P['semctl'] = function (a, b, c, d) { return d === undefined ? this.call('semctl', a, b, c) : this.call('semctl', a, b, c, d); };
P['shmget'] = function (a, b, c) { return this.call('shmget', a, b, c); };
P['shmat'] = function (a, b, c) { return this.call('shmat', a, b, c); };
P['shmdt'] = function (a) { return this.call('shmdt', a); };
P['shmctl'] = function (a, b, c) { return c === undefined ? this.call('shmctl', a, b) : this.call('shmctl', a, b, c); };
