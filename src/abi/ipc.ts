/**
 * The records of the System V IPC syscalls (include/uapi/linux/ipc.h, msg.h, sem.h, shm.h), as
 * plain data with Linux's field names: what msgctl/semctl/shmctl fill (IPC_STAT, IPC_INFO,
 * *_INFO), what IPC_SET reads, what semop and msgrcv take and return. Shared by the kernel model,
 * the syscall layer, userland and the c/r engine (imports run abi ← kernel ← … ← cr).
 */

/**
 * A C `long` that must be carried exactly (a message type): a JS number when it is a safe integer,
 * a bigint otherwise. This is the one canonical form, so `===` and Map keys compare values.
 */
export type Long = number | bigint;

/** The perm part of a `*_ds` record, with Linux's field names. `key` is a C int. */
export interface IpcPermDs {
  key: number;
  uid: number;
  gid: number;
  cuid: number;
  cgid: number;
  /** Permission bits plus the mechanism's own flags (SHM_DEST, SHM_LOCKED). */
  mode: number;
  seq: number;
}

/** The perm fields IPC_SET reads from the caller's buffer. */
export interface PermIn {
  uid?: number;
  gid?: number;
  mode?: number;
}

/** A `*ctl` result for the commands that return both a value and a record. */
export interface CtlResult<T> {
  /** What the syscall returns: the full id (`*_STAT`) or the highest index in use (`*_INFO`). */
  ret: number;
  buf: T;
}

/** msqid_ds as msgctl(IPC_STAT) returns it. */
export interface MsqidDs {
  msg_perm: IpcPermDs;
  msg_stime: number;
  msg_rtime: number;
  msg_ctime: number;
  msg_cbytes: number;
  msg_qnum: number;
  msg_qbytes: number;
  msg_lspid: number;
  msg_lrpid: number;
}

/** What msgctl's IPC_SET reads from the caller's buffer (full-state fields for patch 4). */
export interface MsqidDsIn {
  msg_perm?: PermIn;
  msg_qbytes?: number;
  msg_stime?: number;
  msg_rtime?: number;
  msg_ctime?: number;
  msg_lspid?: number;
  msg_lrpid?: number;
}

/** struct msginfo (IPC_INFO / MSG_INFO). */
export interface MsgInfo {
  msgpool: number;
  msgmap: number;
  msgmax: number;
  msgmnb: number;
  msgmni: number;
  msgssz: number;
  msgtql: number;
  msgseg: number;
}

/** A received message. */
export interface MsgBuf {
  mtype: Long;
  mtext: Uint8Array;
}

/** struct sembuf. */
export interface Sembuf {
  sem_num: number;
  sem_op: number;
  sem_flg: number;
}

/** semid_ds as semctl(IPC_STAT) returns it. */
export interface SemidDs {
  sem_perm: IpcPermDs;
  sem_otime: number;
  sem_ctime: number;
  sem_nsems: number;
}

/** What semctl's IPC_SET reads (full-state fields for patch 4). */
export interface SemidDsIn {
  sem_perm?: PermIn;
  sem_otime?: number;
  sem_ctime?: number;
}

/** struct seminfo (IPC_INFO / SEM_INFO). */
export interface SemInfo {
  semmap: number;
  semmni: number;
  semmns: number;
  semmnu: number;
  semmsl: number;
  semopm: number;
  semume: number;
  semusz: number;
  semvmx: number;
  semaem: number;
}

/** shmid_ds as shmctl(IPC_STAT) returns it. */
export interface ShmidDs {
  shm_perm: IpcPermDs;
  shm_segsz: number;
  shm_atime: number;
  shm_dtime: number;
  shm_ctime: number;
  shm_cpid: number;
  shm_lpid: number;
  shm_nattch: number;
}

/** What shmctl's IPC_SET reads (full-state fields for patch 4). */
export interface ShmidDsIn {
  shm_perm?: PermIn;
  shm_atime?: number;
  shm_dtime?: number;
  shm_ctime?: number;
  shm_cpid?: number;
  shm_lpid?: number;
}

/** struct shminfo64 (IPC_INFO). shmmax and shmall are unsigned longs (bigint). */
export interface ShmInfo {
  shmmax: bigint;
  shmmin: number;
  shmmni: number;
  shmseg: number;
  shmall: bigint;
}

/** struct shm_info (SHM_INFO). */
export interface ShmInfoUsage {
  used_ids: number;
  shm_tot: number;
  shm_rss: number;
  shm_swp: number;
  swap_attempts: number;
  swap_successes: number;
}
