/**
 * Design note: a System V IPC namespace as plain data, the way `nsd host` sees it — what a dump
 * reads from the real kernel, what a restore is asked to recreate, and what the field-by-field
 * comparison walks. Independent of the model kernel (src/kernel): images are the only thing the
 * host backend and the model share. Linux's constants come from src/abi (no kernel model in them).
 */
import type { IpcDescEntry } from '../cr/image/index.js';

/**
 * ipc64_perm as IPC_STAT reports it, with the full id (mode includes SHM_DEST/SHM_LOCKED for shm):
 * the fields of CRIU's ipc_desc_entry, which the images carry.
 */
export type HostDesc = IpcDescEntry;

export interface HostMessage {
  mtype: bigint;
  body: Uint8Array;
}

export interface HostMsq {
  desc: HostDesc;
  qbytes: number;
  messages: HostMessage[];
  stime: number;
  rtime: number;
  ctime: number;
  lspid: number;
  lrpid: number;
}

export interface HostSem {
  desc: HostDesc;
  values: number[];
  /** sempid of each semaphore. */
  pids: number[];
  /** GETNCNT / GETZCNT (sleepers; informative, a restore has no sleepers). Empty when unknown. */
  ncnt: number[];
  zcnt: number[];
  otime: number;
  ctime: number;
}

export interface HostShm {
  desc: HostDesc;
  size: number;
  /** The contents (empty when `pages` is set). */
  data: Uint8Array;
  /**
   * The contents are not in `data` but in `pages-<id>.img` of a directory — the pages of `runs`
   * ([first page, count]) back to back, every other page zero. Set by a dump made with
   * `pagesDir` (the agent wrote the file itself; the runs make the segment's pagemap) and by
   * fromImages for a pages image left in the directory (a restore's agent reads it itself).
   */
  pages?: { id: number; runs: [number, number][] };
  atime: number;
  dtime: number;
  ctime: number;
  cpid: number;
  lpid: number;
  /** -1 when unknown (images other than a host dump's). */
  nattch: number;
}

/** One shm attachment of a task (a /proc/PID/maps line of a SYSV segment). */
export interface HostAttach {
  shmid: number;
  start: number;
  end: number;
  /** Offset in the segment, in bytes. */
  offset: number;
  /** SHM_RDONLY and/or SHM_EXEC. */
  flags: number;
}

/** A task of the namespace that holds IPC state: shm attachments, SEM_UNDO adjustments. */
export interface HostTask {
  pid: number;
  attach: HostAttach[];
  /** SEM_UNDO adjustments per set, or null when they could not be read (a real kernel's tasks). */
  undo: { semid: number; adj: number[] }[] | null;
}

/** Names of the IPC sysctls (under /proc/sys) this backend saves and restores. */
export const IPC_SYSCTLS = [
  'kernel/msgmax', 'kernel/msgmnb', 'kernel/msgmni', 'kernel/auto_msgmni', 'kernel/sem', 'kernel/shmmax',
  'kernel/shmall', 'kernel/shmmni', 'kernel/shm_rmid_forced', 'kernel/msg_next_id', 'kernel/sem_next_id',
  'kernel/shm_next_id', 'fs/mqueue/queues_max', 'fs/mqueue/msg_max', 'fs/mqueue/msgsize_max',
  'fs/mqueue/msg_default', 'fs/mqueue/msgsize_default',
] as const;
export type IpcSysctl = (typeof IPC_SYSCTLS)[number];

export interface HostIpcNs {
  /** Sysctl values as text ("32000 1024000000 500 32000" for kernel/sem). */
  sysctls: Partial<Record<IpcSysctl, string>>;
  msg: HostMsq[];
  sem: HostSem[];
  shm: HostShm[];
  tasks: HostTask[];
  /** Where the state came from; decides which fields can be compared. */
  source: 'host' | 'model' | 'criu';
  /** What the dump could not read (e.g. an attach that failed). */
  notes: string[];
}
