/**
 * Design note: the engine behind the `nsd_cr` syscall (src/syscalls/cr.ts declares it;
 * `installCrEngine(k)` provides this engine to one kernel — loading this file changes nothing). The caller is the checkpointer — the in-model `cr` tool:
 *   - dump: the pid is looked up in the caller's pid namespace; a caller inside the tree it dumps
 *     is refused (the dump would kill it); the caller is the dumper, so with the default the tree
 *     is killed from the caller's namespace;
 *   - restore: the caller is the restorer, so the container's init becomes its child (criu restore
 *     without -d waits for it; with -d it exits and init adopts the tree); with ipcOnly a child of
 *     the caller, in a new IPC namespace, holds the restored objects;
 *   - every CrError becomes a CrSyscallError: its `code` (errors.ts: the kernel's when one caused the failure,
 *     EINVAL for refused images, ESRCH for a missing root, EOPNOTSUPP for an unsupported feature,
 *     EBUSY otherwise) and the engine's message, which names the image, object and reason.
 */
import { ErrnoError } from '../abi/errno.js';
import type { KernelCore } from '../kernel/core.js';
import type { TaskState } from '../kernel/state.js';
import { findKid } from '../kernel/pid/pid.js';
import { Kernel } from '../syscalls/scheduler.js';
import { SYSCALLS } from '../syscalls/table.js';
import { syscallSupport } from '../syscalls/support.js';
import { verifyManifest } from './manifest.js';
import { ImageError } from './image/index.js';
import { provideCrEngine, CrSyscallError, type CrEngine, type CrCheckReply, type CrDumpArgs, type CrDumpReply, type CrRestoreArgs, type CrRestoreReply } from '../syscalls/cr.js';
import { CrError } from './errors.js';
import { dump } from './dump.js';
import { preDump } from './predump.js';
import { ImagePageSource, serveLazy } from './lazy.js';
import { restore } from './restore.js';
import { restoreIpcOnly } from './ipc-only.js';
import { STRATEGIES, getStrategy, type StrategyName } from './strategy.js';

function kernelOf(k: KernelCore): Kernel {
  if (!(k instanceof Kernel)) throw new CrSyscallError('ENOSYS', 'nsd_cr: this kernel has no scheduler (not a Kernel)');
  return k;
}

function translate<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CrError) throw new CrSyscallError(e.code, e.message);
    if (e instanceof ErrnoError) throw e;
    throw new CrSyscallError('EINVAL', e instanceof Error ? e.message : String(e));
  }
}

/** Is the process `tgid` the tree root `rootTgid` or one of its descendants? */
function inTree(k: KernelCore, tgid: number, rootTgid: number): boolean {
  for (let p = k.s.procs.get(tgid); p; p = k.s.procs.get(p.parent)) {
    if (p.tgid === rootTgid) return true;
    if (p.parent === p.tgid || p.parent === 0) break;
  }
  return false;
}

function crDump(k0: KernelCore, caller: TaskState, args: CrDumpArgs): CrDumpReply {
  const k = kernelOf(k0);
  const kid = findKid(k, caller.pidns, args.pid);
  if (kid === undefined) throw new CrSyscallError('ESRCH', `dump failed at find-tree (pid ${args.pid}): no such process`);
  const root = k.t(kid);
  if (inTree(k, caller.tgid, root.tgid)) {
    throw new CrSyscallError('EINVAL', `dump failed at find-tree (pid ${args.pid}): the dumping process is inside the tree`);
  }
  return translate(() => {
    const parent = args.parent ?? null;
    if (args.preDump) {
      const r = preDump(k, root.tgid, { parent, dumper: caller.kid });
      return { images: [...r.images], report: [], tasks: 0, processes: r.processes, pids: [], pagesWritten: r.stats.written, pagesInParent: r.stats.inParent };
    }
    const memory = args.trackMem || args.lazy || parent !== null ? { parent, trackMem: args.trackMem === true, lazy: args.lazy === true } : undefined;
    const r = dump(k, root.tgid, { leaveRunning: args.leaveRunning, withFs: args.withFs, dumper: caller.kid, memory });
    const pids = [...k.s.procs.values()]
      .filter((p) => inTree(k, p.tgid, root.tgid) && k.s.tasks.get(p.tgid)?.state !== 'zombie' && k.s.tasks.get(p.tgid)?.state !== 'dead')
      .map((p) => k.pidIn(p.tgid, caller.kid))
      .filter((pid) => pid > 0);
    pids.sort((a, b) => (a === args.pid ? -1 : b === args.pid ? 1 : a - b));
    return { images: [...r.images], report: r.report, tasks: r.tasks, processes: r.processes, pids };
  });
}

/** `N` of the `ipcns-var-N.img` in an image set (CRIU names IPC images by namespace id). */
function ipcNsNumber(names: readonly string[]): number | undefined {
  for (const n of names) {
    const m = /^ipcns-var-(\d+)\.img$/.exec(n);
    if (m) return Number(m[1]);
  }
  return undefined;
}

function crRestore(k0: KernelCore, caller: TaskState, args: CrRestoreArgs): CrRestoreReply {
  const k = kernelOf(k0);
  const strategy = (args.strategy ?? 'nsd') as StrategyName;
  if (!STRATEGIES.includes(strategy)) throw new CrSyscallError('EINVAL', `unknown strategy '${strategy}' (expected ${STRATEGIES.join(', ')})`);
  const images = new Map<string, Uint8Array>();
  for (const e of args.images) {
    if (!Array.isArray(e) || typeof e[0] !== 'string' || !(e[1] instanceof Uint8Array)) throw new CrSyscallError('EFAULT', 'nsd_cr restore: images must be [name, bytes] pairs');
    images.set(e[0], e[1]);
  }
  return translate(() => {
    if (args.ipcOnly) {
      // The manifest first (an nsd dump has one; a CRIU dump has none and is taken as it is).
      try {
        verifyManifest(images);
      } catch (e) {
        throw CrError.wrap('images', 'read-images', e instanceof ImageError ? e.file : '', e);
      }
      const ns = ipcNsNumber([...images.keys()]);
      if (ns === undefined) throw new CrError('images', 'read-images', 'ipcns-var-*.img', 'no IPC namespace image in the set');
      const r = restoreIpcOnly(k, images, { strategy, restorer: caller.kid, ns });
      return { pid: k.pidIn(r.holderPid, caller.kid), report: r.report, missing: [...r.missing] };
    }
    const r = restore(k, images, { strategy, restorer: caller.kid, lazyPages: args.lazyPages === true });
    return { pid: r.rootVpid, report: r.report, missing: [], ...(args.lazyPages ? { lazy: [...r.lazy] } : {}) };
  });
}

/** Features the engine needs or offers, and whether this kernel profile has them. */
function crCheck(k0: KernelCore): CrCheckReply {
  const k = kernelOf(k0);
  const p = k.profile;
  const strategies: Record<string, string | null> = {};
  for (const s of STRATEGIES) strategies[s] = getStrategy(s).unsupported(k);
  const f = (name: string, ok: boolean, note: string) => ({ name, ok, note });
  return {
    profile: p.name,
    strategies,
    features: [
      f('next_syscall_data', SYSCALLS.has('open'), '/proc/self/task/<tid>/next_syscall_data (the seed RFC, all profiles)'),
      f('with-id syscalls', SYSCALLS.has('clone_with_id') && SYSCALLS.has('msgget_with_id'), 'fork/clone/open/msgget/semget/shmget_with_id, ipc_set_all'),
      f('clone3 set_tid', p.clone3, 'clone3 with set_tid (Linux 5.5+)'),
      f('ns_last_pid', p.nsLastPid, '/proc/sys/kernel/ns_last_pid (Linux 3.3+)'),
      f('ipc next_id sysctls', p.ipc.nextIdSysctls, 'kernel.{msg,sem,shm}_next_id (Linux 3.8+)'),
      f('CAP_CHECKPOINT_RESTORE', p.capCheckpointRestore, 'else only CAP_SYS_ADMIN (Linux 5.9+)'),
      f('SysV IPC namespaces', true, 'ipcns-var/msg/sem/shm images'),
      f('/proc/<pid>/semundo', SYSCALLS.has('ipc_set_all'), 'SEM_UNDO adjustments read and written'),
      f('MSG_COPY', p.ipc.msgCopy, 'non-destructive queue reads (Linux 3.8+); the model reads queues directly'),
    ],
    syscalls: syscallSupport(p.name),
  };
}

/** The page source of an image list, decoded once per list (the cr tool passes the same list every round). */
const SOURCES = new WeakMap<object, ImagePageSource>();
function imageSource(images: Array<[string, Uint8Array]>): ImagePageSource {
  let s = SOURCES.get(images);
  if (!s) {
    s = new ImagePageSource(new Map(images));
    SOURCES.set(images, s);
  }
  return s;
}
/** The engine, as nsd_cr calls it. */
export const CR_ENGINE: CrEngine = {
  dump: crDump,
  restore: crRestore,
  lazy: (k0, _caller, args) => {
    const k = kernelOf(k0);
    return translate(() => serveLazy(k, args.lazy, imageSource(args.images), args.push));
  },
  check: (k) => crCheck(k),
};

/** Gives kernel `k` this c/r engine: its nsd_cr works from now on (ENOSYS before). */
export function installCrEngine(k: Kernel): void {
  provideCrEngine(k, CR_ENGINE);
}
