/**
 * SysV IPC: plugs the mechanisms into the kernel's life cycle (the Subsystem hooks) and registers
 * the procfs files. Importing this module is what makes IPC exist in a kernel.
 *
 * - `ipc`: fills a new IPC namespace (limits, id spaces) and frees one (free_ipcs: every queue,
 *   set and segment).
 * - `sem`: SEM_UNDO lists follow fork (CLONE_SYSVSEM shares), exit (the last one applies them) and
 *   unshare/setns (the process leaves its list: exit_sem).
 * - `shm`: the owner of `shm` mappings (bytes, fork, unmap, /proc/<pid>/maps naming).
 */
import { CLONE_SYSVSEM } from '../../abi/constants.js';
import { registerSubsystem } from '../subsystem.js';
import { initIpcNamespace, type IpcNs } from './util.js';
import { freeAllQueues } from './msg.js';
import { exitSem, forkSemUndo, freeAllSets } from './sem.js';
import {
  freeAllSegments, shmDescribeMapping, shmDupMapping, shmForkFixup, shmMappingStore, shmUnmapMapping,
} from './shm.js';
import './procfs.js';

registerSubsystem({
  name: 'ipc',
  initIpcNs: (k, ns) => {
    initIpcNamespace(k, ns);
  },
  freeIpcNs: (k, state) => {
    const ns = state as IpcNs;
    freeAllQueues(k, ns);
    freeAllSets(k, ns);
    freeAllSegments(ns);
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
});

export type { IpcNs, IpcIds, IpcPerm, IpcPermDs, CtlResult } from './util.js';
export type { MsgQueue, MsqidDs, MsqidDsIn, MsgInfo, MsgBuf } from './msg.js';
export type { SemArray, Sembuf, Timespec, SemidDs, SemidDsIn, SemInfo, SemUndoList } from './sem.js';
export type { ShmSegment, ShmidDs, ShmidDsIn, ShmInfo, ShmInfoUsage } from './shm.js';
