/**
 * Design note: `nsd_cr`, the model's privileged entry point for checkpoint/restart — what CRIU gets
 * from ptrace, its parasite code and /proc in Linux, collapsed into one syscall so the in-model `cr`
 * tool can stay an ordinary program:
 *
 *   nsd_cr('dump',    { pid, leaveRunning?, withFs?, trackMem?, parent?, preDump? })
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
 * The semantics live in src/cr (the engine), which sits above this layer: the engine plugs its
 * handlers into `CR_HOOKS` when it is loaded (src/cr/syscall.ts), and without it the call fails
 * with ENOSYS. A failure of the engine is an ErrnoError whose `detail` is the engine's message
 * (which image, object and reason), so a program calling nsd_cr directly can print it.
 */
import { ErrnoError, err, type ErrnoCode } from '../abi/errno.js';
import type { KernelCore } from '../kernel/kernel.js';
import type { TaskState } from '../kernel/state.js';
import { checkpointRestoreCapable } from '../kernel/task/cred.js';
import { defineSyscall } from './table.js';
import { Sys } from './sys.js';

export interface CrDumpArgs {
  /** Root of the tree, in the caller's pid namespace. */
  pid: number;
  leaveRunning?: boolean;
  withFs?: boolean;
  /** Memory as pagemap images, soft-dirty cleared afterwards (criu --track-mem). */
  trackMem?: boolean;
  /** The previous round's images directory relative to this one (criu --prev-images-dir). */
  parent?: string | null;
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
}

/** Filled in by src/cr/syscall.ts. */
export interface CrHooks {
  dump: ((k: KernelCore, caller: TaskState, args: CrDumpArgs) => CrDumpReply) | null;
  restore: ((k: KernelCore, caller: TaskState, args: CrRestoreArgs) => CrRestoreReply) | null;
  lazy?: ((k: KernelCore, caller: TaskState, args: CrLazyArgs) => CrLazyReply) | null;
  check: ((k: KernelCore, caller: TaskState) => CrCheckReply) | null;
}

export const CR_HOOKS: CrHooks = { dump: null, restore: null, check: null };

/** An engine failure: an errno for the ABI, the engine's message for people. */
export class CrSyscallError extends ErrnoError {
  constructor(code: ErrnoCode, readonly detail: string) {
    super(code, 'nsd_cr', detail);
    this.message = detail;
  }

  override withSyscall(syscall: string): this {
    this.syscall ??= syscall;
    return this;
  }
}

function hook<T>(h: T | null): T {
  if (h === null) throw err('ENOSYS', 'the checkpoint/restart engine is not loaded');
  return h;
}

function privileged(k: KernelCore, t: TaskState): void {
  if (!checkpointRestoreCapable(k, t)) throw err('EPERM', 'nsd_cr needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN');
}

function argRecord(a: unknown): Record<string, unknown> {
  if (a === null || typeof a !== 'object') throw err('EFAULT', 'nsd_cr: argument is not a record');
  return a as Record<string, unknown>;
}

defineSyscall({
  name: 'nsd_cr',
  handler: (k: KernelCore, t: TaskState, op: string, arg?: unknown) => {
    switch (op) {
      case 'check':
        return hook(CR_HOOKS.check)(k, t);
      case 'dump': {
        privileged(k, t);
        const a = argRecord(arg);
        if (!Number.isSafeInteger(a.pid) || (a.pid as number) <= 0) throw err('EINVAL', 'nsd_cr dump: bad pid');
        if (a.parent !== undefined && a.parent !== null && (typeof a.parent !== 'string' || a.parent === '')) throw err('EINVAL', 'nsd_cr dump: bad parent directory');
        return hook(CR_HOOKS.dump)(k, t, {
          pid: a.pid as number, leaveRunning: a.leaveRunning === true, withFs: a.withFs === true,
          trackMem: a.trackMem === true, parent: (a.parent as string | undefined) ?? null, preDump: a.preDump === true,
        });
      }
      case 'restore': {
        privileged(k, t);
        const a = argRecord(arg);
        if (!Array.isArray(a.images)) throw err('EFAULT', 'nsd_cr restore: images is not a list');
        return hook(CR_HOOKS.restore)(k, t, {
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
        return hook(CR_HOOKS.lazy ?? null)(k, t, { images: a.images as Array<[string, Uint8Array]>, lazy: a.lazy as Array<[number, number]>, push: push as number });
      }
      default:
        throw err('EINVAL', `nsd_cr: unknown operation ${typeof op === 'string' ? `'${op}'` : `(a ${typeof op})`}`);
    }
  },
  args: ['str', 'any'],
  ret: 'any',
});

declare module './sys.js' {
  interface Sys {
    nsd_cr(op: 'check'): CrCheckReply;
    nsd_cr(op: 'dump', args: CrDumpArgs): CrDumpReply;
    nsd_cr(op: 'restore', args: CrRestoreArgs): CrRestoreReply;
    nsd_cr(op: 'lazy', args: CrLazyArgs): CrLazyReply;
  }
}

(Sys.prototype as unknown as { nsd_cr: (op: string, arg?: unknown) => unknown }).nsd_cr = function (this: Sys, op: string, arg?: unknown): unknown {
  return this.call('nsd_cr', op, arg);
};
