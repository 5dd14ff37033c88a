/**
 * Design note: `nsd_cr`, the model's privileged entry point for checkpoint/restart — what CRIU gets
 * from ptrace, its parasite code and /proc in Linux, collapsed into one syscall so the in-model `cr`
 * tool can stay an ordinary program:
 *
 *   nsd_cr('dump',    { pid, leaveRunning?, withFs?, trackMem?, parent?, preDump?, lazy? })
 *                                                        → { images: [name, bytes][], report, tasks, processes, pids, pagesWritten?, pagesInParent? }
 *   nsd_cr('restore', { images, strategy?, ipcOnly?, lazyPages? }) → { pid, report, missing, lazy? }
 *   nsd_cr('lazy',    { images, lazy, push? })          → { served, pushed, remaining }  (one lazy-pages round)
 *   nsd_cr('check')                                      → { profile, strategies, features }
 *
 * `pid` is seen in the caller's pid namespace; a restored container's init becomes the caller's
 * child (its `pid` in the result is as the caller sees it). dump and restore need
 * CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN (checkpoint_restore_ns_capable(), EPERM otherwise, as
 * for ns_last_pid); check needs nothing.
 *
 * The semantics live in src/cr (the engine), which sits above this layer: the engine is provided
 * to one kernel at a time with `provideCrEngine(kernel, engine)` (src/cr/syscall.ts's
 * `installCrEngine`, called by `installCr`); a kernel without one fails the call with ENOSYS.
 * Importing a module changes nothing: the syscall is always in the table. A failure of the engine is an ErrnoError whose `detail` is the engine's message
 * (which image, object and reason), so a program calling nsd_cr directly can print it.
 */
import { ErrnoError, err, type ErrnoCode } from '../abi/errno.js';
import type { KernelCore } from '../kernel/core.js';
import type { TaskState } from '../kernel/state.js';
import { checkpointRestoreCapable } from '../kernel/task/cred.js';
import type { SyscallSupport } from './support.js';

export interface CrDumpArgs {
  /** Root of the tree, in the caller's pid namespace. */
  pid: number;
  leaveRunning?: boolean;
  withFs?: boolean;
  /** Memory as pagemap images, soft-dirty cleared afterwards (criu --track-mem). */
  trackMem?: boolean;
  /** The previous round's images directory relative to this one (criu --prev-images-dir). */
  parent?: string | null;
  /** Memory as pagemap images with private pages marked PE_LAZY (criu dump --lazy-pages, images kept). */
  lazy?: boolean;
  /** Memory only, the tree keeps running (criu pre-dump; implies trackMem). */
  preDump?: boolean;
}

/** A field a dump or restore could not carry over exactly: what was saved, what came back, why. */
export interface CrReportEntry {
  object: string;
  field: string;
  saved: string;
  restored: string;
  why: string;
}

export interface CrDumpReply {
  images: Array<[string, Uint8Array]>;
  report: CrReportEntry[];
  tasks: number;
  processes: number;
  /** The tree's live processes as the caller sees them, root first (left running for the caller to kill). */
  pids: number[];
  /** With trackMem or preDump: pages written by this round, and pages left to the parent. */
  pagesWritten?: number;
  pagesInParent?: number;
}

export interface CrRestoreArgs {
  images: Array<[string, Uint8Array]>;
  strategy?: string;
  /** Recreate only the IPC namespace (a real CRIU dump). */
  ipcOnly?: boolean;
  /** Post-copy: private pages stay missing until served (nsd_cr('lazy')). */
  lazyPages?: boolean;
}

/** One round of the lazy-pages daemon: the images the pages come from, the registrations ([container pid, uffd id]). */
export interface CrLazyArgs {
  images: Array<[string, Uint8Array]>;
  lazy: Array<[number, number]>;
  push?: number;
}

export interface CrLazyReply {
  served: number;
  pushed: number;
  remaining: number;
}

export interface CrRestoreReply {
  /** The restored init (or, with ipcOnly, the task holding the new IPC namespace), as the caller sees it. */
  pid: number;
  report: CrReportEntry[];
  /** With ipcOnly: the fields the images have no place for. */
  missing: string[];
  /** With lazyPages: the missing-pages registrations, [container pid, uffd id]. */
  lazy?: Array<[number, number]>;
}

export interface CrCheckReply {
  profile: string;
  /** Strategy → null when usable, else why not. */
  strategies: Record<string, string | null>;
  /** Feature → supported (with a note). */
  features: Array<{ name: string; ok: boolean; note: string }>;
  /** Every syscall and its support in the profile (from the syscall table). */
  syscalls: SyscallSupport[];
}

/** The c/r engine behind nsd_cr, provided per kernel by src/cr/syscall.ts. */
export interface CrEngine {
  dump(k: KernelCore, caller: TaskState, args: CrDumpArgs): CrDumpReply;
  restore(k: KernelCore, caller: TaskState, args: CrRestoreArgs): CrRestoreReply;
  lazy(k: KernelCore, caller: TaskState, args: CrLazyArgs): CrLazyReply;
  check(k: KernelCore, caller: TaskState): CrCheckReply;
}

/** The engine of each kernel that has one (code, not state: a kernel made by fromState has none until given one). */
const ENGINES = new WeakMap<KernelCore, CrEngine>();

/** Provides the c/r engine to kernel `k` (nsd_cr fails with ENOSYS until then). */
export function provideCrEngine(k: KernelCore, engine: CrEngine): void {
  ENGINES.set(k, engine);
}

/** Whether kernel `k` has a c/r engine. */
export function hasCrEngine(k: KernelCore): boolean {
  return ENGINES.has(k);
}

/** An engine failure: an errno for the ABI, the engine's message for people. */
export class CrSyscallError extends ErrnoError {
  constructor(code: ErrnoCode, override readonly detail: string) {
    super(code, 'nsd_cr', detail);
    this.message = detail;
  }

  override withSyscall(syscall: string): this {
    this.syscall ??= syscall;
    return this;
  }
}

function engineOf(k: KernelCore): CrEngine {
  const e = ENGINES.get(k);
  if (!e) throw err('ENOSYS', 'this kernel has no checkpoint/restart engine (installCr provides it)');
  return e;
}

function privileged(k: KernelCore, t: TaskState): void {
  if (!checkpointRestoreCapable(k, t)) throw err('EPERM', 'nsd_cr needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN');
}

function argRecord(a: unknown): Record<string, unknown> {
  if (a === null || typeof a !== 'object') throw err('EFAULT', 'nsd_cr: argument is not a record');
  return a as Record<string, unknown>;
}

/** The nsd_cr handler: checks the caller and the arguments, then asks the kernel's engine. */
export function nsd_cr(k: KernelCore, t: TaskState, op: string, arg?: unknown): unknown {
  switch (op) {
    case 'check':
      return engineOf(k).check(k, t);
    case 'dump': {
      privileged(k, t);
      const a = argRecord(arg);
      if (!Number.isSafeInteger(a.pid) || (a.pid as number) <= 0) throw err('EINVAL', 'nsd_cr dump: bad pid');
      if (a.parent !== undefined && a.parent !== null && (typeof a.parent !== 'string' || a.parent === '')) throw err('EINVAL', 'nsd_cr dump: bad parent directory');
      return engineOf(k).dump(k, t, {
        pid: a.pid as number, leaveRunning: a.leaveRunning === true, withFs: a.withFs === true,
        trackMem: a.trackMem === true, parent: (a.parent as string | undefined) ?? null, preDump: a.preDump === true,
      });
    }
    case 'restore': {
      privileged(k, t);
      const a = argRecord(arg);
      if (!Array.isArray(a.images)) throw err('EFAULT', 'nsd_cr restore: images is not a list');
      return engineOf(k).restore(k, t, {
        images: a.images as Array<[string, Uint8Array]>,
        strategy: typeof a.strategy === 'string' ? a.strategy : undefined,
        ipcOnly: a.ipcOnly === true,
        lazyPages: a.lazyPages === true,
      });
    }
    case 'lazy': {
      privileged(k, t);
      const a = argRecord(arg);
      if (!Array.isArray(a.images) || !Array.isArray(a.lazy)) throw err('EFAULT', 'nsd_cr lazy: images or lazy is not a list');
      const push = a.push === undefined ? 16 : a.push;
      if (!Number.isSafeInteger(push) || (push as number) < 0) throw err('EINVAL', 'nsd_cr lazy: bad push count');
      return engineOf(k).lazy(k, t, { images: a.images as Array<[string, Uint8Array]>, lazy: a.lazy as Array<[number, number]>, push: push as number });
    }
    default:
      throw err('EINVAL', `nsd_cr: unknown operation ${typeof op === 'string' ? `'${op}'` : `(a ${typeof op})`}`);
  }
}

/** `task.sys.nsd_cr`: the reply's type follows the operation. */
export interface NsdCrMethod {
  (op: 'check'): CrCheckReply;
  (op: 'dump', args: CrDumpArgs): CrDumpReply;
  (op: 'restore', args: CrRestoreArgs): CrRestoreReply;
  (op: 'lazy', args: CrLazyArgs): CrLazyReply;
}
