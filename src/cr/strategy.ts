/**
 * Design note: how a restore obtains each id — the only thing the three strategies differ in.
 *
 * - `nsd` (the seed's RFC): the thread writes `LONG<n> v0 … vn-1` to its own
 *   /proc/self/task/<tid>/next_syscall_data right before fork/clone, msgget/semget/shmget and open;
 *   `LONG1 1` before IPC_SET restores the times and last pids (patch 4).
 * - `with-id` (the alternative argued for in the thread): one syscall per creating call with the id
 *   as an argument: clone_with_id, open_with_id, msgget_with_id, semget_with_id, shmget_with_id,
 *   and ipc_set_all for the full state.
 * - `mainline` (Linux 6.x): clone3 `set_tid` (or ns_last_pid where clone3 is missing), the
 *   kernel.{msg,sem,shm}_next_id sysctls, dup2 for fds. It has no way to set IPC times or last
 *   pids: `ipcSetAll` returns false and the restore reports each such field.
 * Every strategy returns what the kernel gave; the engine compares it with what it asked for and
 * fails on any difference (a busy id is never silently replaced by another).
 */
import { CLONE_THREAD, CSIGNAL, F_DUPFD, O_RDONLY, O_WRONLY } from '../abi/constants.js';
import type { Kernel } from '../syscalls/scheduler.js';
import type { Sys } from '../syscalls/sys.js';

/** How a restore gets its ids back: next_syscall_data, the with-id syscalls, or mainline (clone3 set_tid, *_next_id). */
export type StrategyName = 'nsd' | 'with-id' | 'mainline';
/** Every restore strategy, in the order the demo and `cr check` show them. */
export const STRATEGIES: readonly StrategyName[] = ['nsd', 'with-id', 'mainline'];

export type IpcKind = 'msg' | 'sem' | 'shm';

export interface Strategy {
  readonly name: StrategyName;
  /** Why this kernel cannot restore with the strategy, or null. */
  unsupported(k: Kernel): string | null;
  /** Creates a task whose pid numbers, innermost namespace first, are `pids`. Returns its pid in the parent's namespace. */
  clone(k: Kernel, parent: Sys, flags: number, exitSignal: number, pids: number[]): number;
  /** Opens `path` so that it lands at `fd`. Returns the fd it got. */
  open(sys: Sys, fd: number, path: string, flags: number): number;
  /** Creates an IPC object that must get `id`. Returns the id it got. */
  ipcCreate(sys: Sys, kind: IpcKind, id: number, create: (sys: Sys) => number, viaSyscall: (sys: Sys) => number): number;
  /** Applies IPC_SET with the full state; false when the strategy cannot set times and last pids. */
  ipcSetAll(sys: Sys, kind: IpcKind, set: (sys: Sys) => void, viaSyscall: (sys: Sys) => void): boolean;
  /**
   * Runs `fn`, a run of ipcCreate/ipcSetAll calls by `sys` that opens no file of its own, with
   * what the strategy keeps per thread held open. nsd opens the thread's next_syscall_data once
   * and arms each call by a write to it: next_syscall_data_write() never touches *ppos, so every
   * write is at offset 0 and accepted (NSD-SPEC §1) — still one real write per object.
   */
  hold<T>(sys: Sys, fn: () => T): T;
}

const enc = new TextEncoder();

/** A short ASCII line's bytes without a TextEncoder call (which costs more than the write). */
function textBytes(text: string): Uint8Array {
  if (text.length > 64) return enc.encode(text);
  const b = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return enc.encode(text);
    b[i] = c;
  }
  return b;
}

/** Writes one line to a /proc file through open/write/close (how a restorer talks to procfs). */
export function writeProcFile(sys: Sys, path: string, text: string): void {
  const fd = sys.open(path, O_WRONLY);
  try {
    sys.write(fd, textBytes(text));
  } finally {
    sys.close(fd);
  }
}

/** Reads a small /proc file. */
export function readProcFile(sys: Sys, path: string): string {
  const fd = sys.open(path, O_RDONLY);
  try {
    return new TextDecoder().decode(sys.read(fd, 4096));
  } finally {
    sys.close(fd);
  }
}

/** Writes `text` to the calling thread's /proc/self/task/<tid>/next_syscall_data. */
export function writeNsd(sys: Sys, text: string): void {
  writeProcFile(sys, `/proc/self/task/${sys.gettid()}/next_syscall_data`, text);
}

/** Arms next_syscall_data of the calling thread: `LONG<n> v0 … vn-1`. */
export function armNsd(sys: Sys, values: readonly (number | bigint)[]): void {
  writeNsd(sys, `LONG${values.length} ${values.join(' ')}`);
}

/** The next_syscall_data files held open by `hold` (nsd): restorer thread → its fd. */
const heldNsd = new WeakMap<Sys, number>();

/** Arms `LONG1 v` through the held file when there is one, else by open/write/close. */
function armOne(sys: Sys, v: number): void {
  const fd = heldNsd.get(sys);
  if (fd === undefined) armNsd(sys, [v]);
  else sys.write(fd, textBytes(`LONG1 ${v}`));
}

/** Runs `fn` with nothing held (with-id, mainline: each call is one syscall already). */
function holdNothing<T>(_sys: Sys, fn: () => T): T {
  return fn();
}

const nsd: Strategy = {
  name: 'nsd',
  unsupported: () => null,
  clone(k, parent, flags, exitSignal, pids) {
    armNsd(parent, pids);
    return parent.clone(flags | exitSignal);
  },
  open(sys, fd, path, flags) {
    armNsd(sys, [fd]);
    return sys.open(path, flags);
  },
  ipcCreate(sys, _kind, id, create) {
    armOne(sys, id);
    return create(sys);
  },
  ipcSetAll(sys, _kind, set) {
    armOne(sys, 1);
    set(sys);
    return true;
  },
  hold(sys, fn) {
    if (heldNsd.has(sys)) return fn();
    const fd = sys.open(`/proc/self/task/${sys.gettid()}/next_syscall_data`, O_WRONLY);
    heldNsd.set(sys, fd);
    let ok = false;
    try {
      const out = fn();
      ok = true;
      return out;
    } finally {
      heldNsd.delete(sys);
      // After a failure the close is best effort: the failure is what the caller must see.
      try {
        sys.close(fd);
      } catch (e) {
        if (ok) throw e;
      }
    }
  },
};

const withId: Strategy = {
  name: 'with-id',
  unsupported: () => null,
  clone(k, parent, flags, exitSignal, pids) {
    return parent.clone_with_id(flags | exitSignal, pids);
  },
  open(sys, fd, path, flags) {
    return sys.open_with_id(fd, path, flags);
  },
  ipcCreate(sys, _kind, _id, _create, viaSyscall) {
    return viaSyscall(sys);
  },
  ipcSetAll(sys, _kind, _set, viaSyscall) {
    viaSyscall(sys);
    return true;
  },
  hold: holdNothing,
};

const mainline: Strategy = {
  name: 'mainline',
  unsupported(k) {
    if (!k.profile.clone3 && !k.profile.nsLastPid) return `${k.profile.name} has neither clone3 set_tid nor ns_last_pid`;
    if (!k.profile.ipc.nextIdSysctls) return `${k.profile.name} has no kernel.{msg,sem,shm}_next_id sysctls`;
    return null;
  },
  clone(k, parent, flags, exitSignal, pids) {
    if (k.profile.clone3) {
      return parent.clone3({ flags: flags & ~CSIGNAL, exit_signal: flags & CLONE_THREAD ? 0 : exitSignal, set_tid: pids, set_tid_size: pids.length });
    }
    // ns_last_pid: only the level the parent's own namespace allocates can be steered.
    const outer = pids.length === 1 ? pids[0]! : pids[1]!;
    writeProcFile(parent, '/proc/sys/kernel/ns_last_pid', String(outer - 1));
    return parent.clone(flags | exitSignal);
  },
  open(sys, fd, path, flags) {
    const got = sys.open(path, flags);
    if (got === fd) return fd;
    sys.dup2(got, fd);
    sys.close(got);
    return fd;
  },
  ipcCreate(sys, kind, id, create) {
    writeProcFile(sys, `/proc/sys/kernel/${kind}_next_id`, String(id));
    return create(sys);
  },
  ipcSetAll(sys, _kind, set) {
    set(sys);
    return false;
  },
  hold: holdNothing,
};

export function getStrategy(name: StrategyName): Strategy {
  switch (name) {
    case 'nsd':
      return nsd;
    case 'with-id':
      return withId;
    case 'mainline':
      return mainline;
    default:
      throw new TypeError(`unknown strategy '${String(name)}' (expected nsd, with-id or mainline)`);
  }
}

/** F_DUPFD to exactly `fd` (it must be free and the lowest free one ≥ fd). */
export function dupTo(sys: Sys, from: number, fd: number): number {
  return sys.fcntl(from, F_DUPFD, fd);
}
