/**
 * Design note: the checkpoint as plain data, between the kernel and the image files. `dump` builds
 * a `Checkpoint` from a frozen tree, `images.ts` turns it into CRIU images + the nsd-extra image
 * and back, and `restore` recreates it. Everything is named the way the container sees it:
 * processes and threads by their pid in the container's pid namespace (never by the kernel-wide
 * kid), open files, pipes, fd tables and address spaces by their index in this checkpoint, pid
 * namespaces by their index (0 is the container's own). That is what makes dump → restore → dump
 * give identical images.
 */
import type { SysCall, SysResult, TaskState, ProcState, FileKind, ProcNode } from '../kernel/state.js';
import type { ProfileName } from '../kernel/profile.js';
import type { CrReportEntry } from '../syscalls/cr.js';
import type { CkIpcNs } from './ipc-checkpoint.js';

/** Version of the checkpoint layout inside nsd-extra (bumped on any incompatible change). */
export const CHECKPOINT_FORMAT = 1;

export interface CheckpointMeta {
  format: number;
  profile: ProfileName;
  /** Virtual clock at dump (ns); deadlines are saved relative to it. */
  clockNs: number;
  /** The root is the init of its own pid namespace (restored with CLONE_NEWPID). */
  newPidNs: boolean;
  /** The tree has its own IPC namespace (dumped, restored with CLONE_NEWIPC). */
  ownIpcNs: boolean;
  withFs: boolean;
  /** Every thread in creation order (container tids): parents before children, leaders before threads. */
  order: number[];
  /** Runnable threads in run-queue order (container tids). */
  runq: number[];
  /** Sleepers per wait channel, in sleep order (container tids); wake order depends on it. */
  sleepers: number[][];
  /** Sleepers with a deadline, in the order timers fire for equal deadlines (container tids). */
  timed: number[];
}

export interface CkPidNs {
  /** Index of the parent namespace in the checkpoint, -1 for the container's. */
  parent: number;
  /** Level below the container's namespace (0 for the container's). */
  depth: number;
  /** ns_last_pid. */
  lastPid: number;
}

export interface CkBlocked {
  call: SysCall;
  /** Time left until the deadline (ns), or null. */
  remainNs: number | null;
  result: SysResult | null;
  data: unknown;
}

/** A thread (task_struct), keyed by its container tid: the task's own fields, ids made relative. */
export interface CkTask extends Pick<TaskState, 'state' | 'comm' | 'cred' | 'cwd' | 'umask' | 'nsd' | 'sigmask' | 'pending' | 'prog' | 'exitCode'> {
  /** Pid numbers from the container's namespace level down to the task's own. */
  tids: number[];
  /** Checkpoint indexes of its pid namespaces, fd table and address space (-1 for a zombie). */
  pidns: number;
  pidnsForChildren: number;
  fdtable: number;
  mm: number;
  blocked: CkBlocked | null;
}

/** Per-process state beyond pstree.img (pid, ppid, pgid, sid, threads live there): the process's own fields, ids made relative. */
export interface CkProc extends Pick<ProcState, 'exitSignal' | 'sigaction' | 'pending' | 'status' | 'stopped' | 'stopReport' | 'contReport' | 'rlimNofile' | 'rlimNofileMax' | 'rlimMemlock' | 'subreaper'> {
  zombie: boolean;
  /** Zombie children in order of death (container pids). */
  zombies: number[];
  /** Shares its parent's SEM_UNDO list (it was cloned with CLONE_SYSVSEM); absent in older images. */
  semUndoWithParent?: boolean;
}

export interface CkPstree {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  threads: number[];
}

export interface CkFile {
  kind: FileKind;
  flags: number;
  pos: number;
  path: string;
  dirPos: number;
  /** Pipe index for pipe ends, else -1. */
  pipe: number;
  /** procfs node type for kind 'proc' (informational). */
  procType: ProcNode['type'] | '';
}

export interface CkPipe {
  data: Uint8Array;
}

export interface CkFdTable {
  /** [fd, file index, close-on-exec] in fd order. */
  fds: [number, number, boolean][];
}

export interface CkMapping {
  start: number;
  len: number;
  prot: number;
  kind: 'anon' | 'shm';
  flags: number;
  shmid: number;
  /** Anonymous content (length len). */
  data: Uint8Array | null;
}

export interface CkMm {
  mmapBase: number;
  maps: CkMapping[];
}

/** A file saved by --with-fs. */
export interface CkFsNode {
  path: string;
  type: 'dir' | 'reg';
  perm: number;
  uid: number;
  gid: number;
  data: Uint8Array | null;
}

/** SysV IPC namespace content: read by src/cr/ipc-checkpoint.ts's `dumpIpc`, recreated by its `restoreIpcObjects`/`restoreIpcLate`. */
export type CkIpc = CkIpcNs;

/** A decoded checkpoint (what the images hold), as `readCheckpoint` returns it. */
export interface Checkpoint {
  meta: CheckpointMeta;
  pidns: CkPidNs[];
  /** Processes in creation order (parents before children). */
  pstree: CkPstree[];
  procs: Map<number, CkProc>;
  tasks: Map<number, CkTask>;
  files: CkFile[];
  pipes: CkPipe[];
  fdtables: CkFdTable[];
  mms: CkMm[];
  fs: CkFsNode[];
  ipc: CkIpc | null;
}

/** What a dump or restore could not carry over exactly, per field (the record nsd_cr returns). */
export type CrReportLine = CrReportEntry;
