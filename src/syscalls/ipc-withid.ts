/**
 * Thin handlers for the IPC with-id syscalls (src/kernel/ipc/withid.ts) and their `task.sys`
 * methods; importing it also provides /proc/<pid>/semundo.
 */
import type { KernelCore } from '../kernel/kernel.js';
import type { TaskState } from '../kernel/state.js';
import { ipcSetAll, msggetWithId, semgetWithId, shmgetWithId, type IpcSetAllBuf } from '../kernel/ipc/withid.js';
import '../kernel/ipc/semundo.js';
import { defineSyscall } from './table.js';
import { Sys } from './sys.js';
import './ipc.js';

type K = KernelCore;
type T = TaskState;

defineSyscall({ name: 'msgget_with_id', handler: (k: K, t: T, id: number, key: number, flg: number) => msggetWithId(k, t, id, key, flg), args: ['int', 'key', 'ipcflags'], ret: 'int' });
defineSyscall({ name: 'semget_with_id', handler: (k: K, t: T, id: number, key: number, nsems: number, flg: number) => semgetWithId(k, t, id, key, nsems, flg), args: ['int', 'key', 'bigint', 'ipcflags'], ret: 'int' });
defineSyscall({ name: 'shmget_with_id', handler: (k: K, t: T, id: number, key: number, size: number | bigint, flg: number) => shmgetWithId(k, t, id, key, size, flg), args: ['int', 'key', 'bigint', 'ipcflags'], ret: 'int' });
defineSyscall({ name: 'ipc_set_all', handler: (k: K, t: T, kind: string, id: number, buf: IpcSetAllBuf) => ipcSetAll(k, t, kind, id, buf), args: ['str', 'int', 'any'], ret: 'int' });

declare module './sys.js' {
  interface Sys {
    msgget_with_id(id: number, key: number, msgflg: number): number;
    semget_with_id(id: number, key: number, nsems: number, semflg: number): number;
    shmget_with_id(id: number, key: number, size: number | bigint, shmflg: number): number;
    /** IPC_SET that also sets times and last pids; `kind` is msg, sem or shm. */
    ipc_set_all(kind: 'msg' | 'sem' | 'shm', id: number, buf: IpcSetAllBuf): number;
  }
}

const P = Sys.prototype;
P.msgget_with_id = function (this: Sys, id, key, flg) { return this.call('msgget_with_id', id, key, flg) as number; };
P.semget_with_id = function (this: Sys, id, key, nsems, flg) { return this.call('semget_with_id', id, key, nsems, flg) as number; };
P.shmget_with_id = function (this: Sys, id, key, size, flg) { return this.call('shmget_with_id', id, key, size, flg) as number; };
P.ipc_set_all = function (this: Sys, kind, id, buf) { return this.call('ipc_set_all', kind, id, buf) as number; };
