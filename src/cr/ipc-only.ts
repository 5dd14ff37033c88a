/**
 * Design note: `restoreIpcOnly` recreates just an IPC namespace from images — in particular a real
 * CRIU dump, whose process images we do not read. A new task (child of the restorer, in a new IPC
 * namespace) creates every object at its id through the strategy (as its creator, then given its
 * owner, mode bits SHM_LOCKED by SHM_LOCK and SHM_DEST by IPC_RMID while the holder task keeps it
 * attached); what CRIU's images do not hold (times, last pids, sempid, SEM_UNDO, nattch) is listed
 * in `missing` instead of being invented. All or nothing, like `restore`.
 */
import { CLONE_NEWIPC, SIGCHLD } from '../abi/constants.js';
import type { Kernel } from '../syscalls/scheduler.js';
import { Sys } from '../syscalls/sys.js';
import { CrError } from './errors.js';
import { readIpcImages, restoreIpcLate, restoreIpcObjects, type IpcRestoreContext } from './ipc-checkpoint.js';
import type { CrReportLine } from './model.js';
import { getStrategy, type StrategyName } from './strategy.js';
import { KernelTransaction } from './txn.js';

/** Fields of an IPC namespace that CRIU's images have no place for. */
export const CRIU_MISSING_FIELDS = [
  'msg: stime, rtime, ctime, lspid, lrpid',
  'sem: otime, ctime, per-semaphore sempid, semncnt/semzcnt (sleepers are processes)',
  'shm: atime, dtime, ctime, cpid, lpid, nattch (attachments are in the processes\' mm images; a SHM_DEST segment is held attached by the holder task)',
  'SEM_UNDO adjustments of every process',
  'allocator cursors (the id the next msgget/semget/shmget gets)',
] as const;

export interface IpcOnlyResult {
  /** Pid (initial namespace) of the task that holds the new IPC namespace. */
  holderPid: number;
  ipcns: number;
  missing: readonly string[];
  report: CrReportLine[];
}

/** Recreates only the SysV IPC namespace of a checkpoint (e.g. a real CRIU dump): `nsd restore --ipc-only`. */
export function restoreIpcOnly(k: Kernel, images: ReadonlyMap<string, Uint8Array>, opts: { strategy?: StrategyName; restorer?: number; ns?: number } = {}): IpcOnlyResult {
  let ck;
  try {
    ck = readIpcImages(images, opts.ns ?? 1);
  } catch (e) {
    throw CrError.wrap('images', 'read-images', '', e);
  }
  const strategy = getStrategy(opts.strategy ?? 'nsd');
  const why = strategy.unsupported(k);
  if (why) throw new CrError('restore', 'check', `strategy ${strategy.name}`, why);
  const txn = new KernelTransaction(k);
  const report: CrReportLine[] = [];
  try {
    const parent = new Sys(k, opts.restorer ?? k.init.kid);
    const pid = parent.clone(CLONE_NEWIPC | SIGCHLD);
    const kid = k.pidNs(k.t(parent.kid).pidns).pids.get(pid)!;
    const sys = new Sys(k, kid);
    const ctx: IpcRestoreContext = {
      kernel: k, strategy, sys, report, ipcOnly: true,
      procSys: (): Sys | undefined => undefined,
      step: <T>(name: string, object: string, fn: () => T): T => {
        try {
          return fn();
        } catch (e) {
          throw CrError.wrap('restore', name, object, e);
        }
      },
    };
    restoreIpcObjects(ck, ctx);
    restoreIpcLate(ck, ctx);
    return { holderPid: kid, ipcns: k.t(kid).ipcns, missing: ck.criuOnly ? CRIU_MISSING_FIELDS : [], report };
  } catch (e) {
    txn.rollback();
    throw CrError.wrap('restore', 'restore', '', e);
  }
}
