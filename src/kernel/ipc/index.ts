/**
 * SysV IPC: plugs the mechanisms into the kernel's life cycle (the Subsystem hooks) and registers
 * the procfs files. Importing this module is what makes IPC exist in a kernel.
 *
 * - `ipc`: frees an IPC namespace (free_ipcs: every queue, set and segment); util.ts's
 *   newIpcNamespace fills a new one (limits, id spaces).
 * - `sem`: SEM_UNDO lists follow fork (CLONE_SYSVSEM shares), exit (the last one applies them) and
 *   unshare/setns (the process leaves its list: exit_sem).
 * - `shm`: the owner of `shm` mappings (bytes, fork, unmap, /proc/<pid>/maps naming); a thread's
 *   exit orphans the segments it created (exit_shm).
 */
import { CLONE_SYSVSEM } from '../../abi/constants.js';
import { registerSubsystem } from '../subsystem.js';
import { freeAllQueues } from './msg.js';
import { exitSem, forkSemUndo, freeAllSets } from './sem.js';
import {
  exitShm, freeAllSegments, shmDescribeMapping, shmDupMapping, shmForkFixup, shmMappingStore, shmUnmapMapping,
} from './shm.js';
import './procfs.js';

registerSubsystem({
  name: 'ipc',
  freeIpcNs: (k, ns) => {
    freeAllQueues(k, ns);
    freeAllSets(k, ns);
    freeAllSegments(k, ns);
  },
});

registerSubsystem({
  name: 'sem',
  forkProcess: (k, parent, child, flags) => forkSemUndo(k, parent, child, (flags & CLONE_SYSVSEM) !== 0),
  exitProcess: (k, proc) => exitSem(k, proc),
  unshareSysvsem: (k, proc) => exitSem(k, proc),
});

registerSubsystem({
  name: 'shm',
  mappingStore: shmMappingStore,
  dupMapping: shmDupMapping,
  unmapMapping: shmUnmapMapping,
  describeMapping: shmDescribeMapping,
  forkProcess: (k, parent, child) => shmForkFixup(k, parent.tgid, child.tgid),
  exitTask: (k, t) => exitShm(k, t),
  // ksys_unshare: "Orphan segments in old ns" — exit_shm(current), then an empty list.
  unshareIpc: (k, t) => exitShm(k, t),
});

export type { IpcNs, IpcIds, IpcPerm } from './util.js';
export type { MsgQueue } from './msg.js';
export type { SemArray, Timespec, SemUndoList } from './sem.js';
export type { ShmSegment } from './shm.js';
// The syscalls' records live in src/abi/ipc.ts (kept here for src/index.ts's public surface).
export type {
  IpcPermDs, CtlResult, MsqidDs, MsqidDsIn, MsgInfo, MsgBuf, Sembuf, SemidDs, SemidDsIn, SemInfo, ShmidDs, ShmidDsIn, ShmInfo, ShmInfoUsage,
} from '../../abi/ipc.js';
