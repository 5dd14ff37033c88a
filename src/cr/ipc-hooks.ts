/**
 * Design note: the task engine (dump.ts, restore.ts) does not depend on SysV IPC; the IPC part of
 * a checkpoint plugs in here (src/cr/ipc.ts fills these hooks in when it is loaded), so the
 * engine builds and runs on its own and IPC namespaces are dumped and restored when available.
 */
import type { Kernel } from '../syscalls/kernel.js';
import type { Sys } from '../syscalls/sys.js';
import type { CkIpc, CrReportLine } from './model.js';
import type { Strategy } from './strategy.js';

export interface IpcDumpContext {
  /** Container tid of a kid (0 if outside the tree). */
  ctid(kid: number): number;
  procKids: number[];
  report: CrReportLine[];
  /** Shm contents may be views of the segments' pages, not copies (DumpOptions.zeroCopy, when safe). */
  share?: boolean;
}

export interface IpcRestoreContext {
  kernel: Kernel;
  strategy: Strategy;
  /** The container's init, in the new IPC namespace: it creates the objects. */
  sys: Sys;
  /** Handle of a restored process by container pid (undefined if it is not alive). */
  procSys(pid: number): Sys | undefined;
  /** Runs one named, failure-injectable step. */
  step<T>(name: string, object: string, fn: () => T): T;
  report: CrReportLine[];
  /**
   * No processes are restored (`--ipc-only`): `sys` is the namespace's holder task, and it attaches
   * what must stay attached to exist (SHM_DEST segments).
   */
  ipcOnly?: boolean;
}

export interface IpcHooks {
  dump: ((k: Kernel, ipcnsId: number, ctx: IpcDumpContext) => CkIpc) | null;
  /** Encodes the IPC part as image files (added to the image set). */
  toImages: ((ipc: CkIpc, out: Map<string, Uint8Array>) => void) | null;
  /** Decodes and validates the IPC part from the image set (throws ImageError). */
  fromImages: ((images: ReadonlyMap<string, Uint8Array>) => CkIpc | null) | null;
  /** Creates the objects, before the tree (ids, keys, owners, contents). */
  restoreObjects: ((ipc: CkIpc, ctx: IpcRestoreContext) => void) | null;
  /** After the tree exists: sempid through SETVAL, SEM_UNDO lists, then full-state IPC_SET. */
  restoreLate: ((ipc: CkIpc, ctx: IpcRestoreContext) => void) | null;
}

export const IPC_HOOKS: IpcHooks = { dump: null, toImages: null, fromImages: null, restoreObjects: null, restoreLate: null };
