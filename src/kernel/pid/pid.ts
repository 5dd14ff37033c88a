/**
 * Pid namespaces and pid allocation (kernel/pid.c, kernel/pid_namespace.c).
 *
 * Design note. A task has one number per namespace level, from the initial namespace (level 0) to
 * its own. Allocation goes innermost first, each level from its own cursor, following the profile:
 * - `bitmap` (2.6.26 alloc_pidmap): try last_pid+1; at or past pid_max restart at RESERVED_PIDS;
 *   scan forward with wrap. Full → ENOMEM.
 * - `idr-cyclic` (4.15+ alloc_pid → idr_alloc_cyclic): lowest free ≥ cursor (pid_min is 1 until the
 *   cursor passes RESERVED_PIDS, then 300), wrapping once to pid_min. Full → EAGAIN.
 * A preset number (clone3 set_tid, or next_syscall_data patch 3) is taken with a plain
 * `idr_alloc(tid, tid+1)` and does not move the cursor.
 */
import { err, type ErrnoCode } from '../../abi/errno.js';
import type { KernelCore } from '../core.js';
import type { PidNsState } from '../state.js';
import { MAX_PID_NS_LEVEL, PIDS_PER_CPU_DEFAULT, PID_MAX_LIMIT, POSSIBLE_CPUS, RESERVED_PIDS } from '../profile.js';

/** create_pid_namespace(): a child of `parent` (0: the initial namespace); ENOSPC past MAX_PID_NS_LEVEL. */
export function createPidNs(k: KernelCore, parent: number): PidNsState {
  const level = parent ? k.pidNs(parent).level + 1 : 0;
  if (level > MAX_PID_NS_LEVEL) throw err('ENOSPC', 'pid namespaces nested too deep');
  // create_pid_namespace(): the parent's pid_max, raised by register_pidns_sysctls() to
  // PIDS_PER_CPU_DEFAULT × cpus (capped at PID_MAX_LIMIT).
  const pidMax = parent
    ? Math.min(PID_MAX_LIMIT, Math.max(k.pidNs(parent).pidMax, PIDS_PER_CPU_DEFAULT * POSSIBLE_CPUS))
    : k.profile.pidMaxDefault;
  const ns: PidNsState = {
    id: k.newId(),
    level,
    parent,
    pidMax,
    lastPid: 0,
    pids: new Map(),
    reaper: 0,
    adding: true,
    refs: 0,
  };
  k.s.pidns.set(ns.id, ns);
  return ns;
}

/** The chain of namespaces from `nsId` up to the initial one: innermost first. */
export function pidNsChain(k: KernelCore, nsId: number): PidNsState[] {
  const chain: PidNsState[] = [];
  for (let id = nsId; id; id = k.pidNs(id).parent) chain.push(k.pidNs(id));
  return chain;
}

/** Is namespace `inner` equal to or a descendant of `outer`? */
export function pidNsWithin(k: KernelCore, inner: number, outer: number): boolean {
  for (let id = inner; id; id = k.pidNs(id).parent) if (id === outer) return true;
  return false;
}

/** The pid_max that bounds numbers in `ns`: its own (6.14+) or the global one. */
export function pidMaxOf(k: KernelCore, ns: PidNsState): number {
  return k.profile.pidMaxPerNs ? ns.pidMax : k.s.pidMax;
}

/** Normal allocation of one number in `ns`, moving its cursor. Throws the profile's errno when full. */
function allocCursor(k: KernelCore, ns: PidNsState): number {
  const pidMax = pidMaxOf(k, ns);
  const used = ns.pids;
  if (k.profile.pidAlloc === 'bitmap') {
    // alloc_pidmap(): candidates are [start, pid_max) then [RESERVED_PIDS, start).
    let start = ns.lastPid + 1;
    if (start >= pidMax) start = RESERVED_PIDS;
    for (let nr = start; nr < pidMax; nr++) {
      if (!used.has(nr)) return (ns.lastPid = nr);
    }
    for (let nr = RESERVED_PIDS; nr < start; nr++) {
      if (!used.has(nr)) return (ns.lastPid = nr);
    }
    throw err(k.profile.pidExhausted, 'pid namespace full');
  }
  // idr_alloc_cyclic(&idr, NULL, pid_min, pid_max): cursor = lastPid + 1.
  const cursor = ns.lastPid + 1;
  const pidMin = cursor > RESERVED_PIDS ? RESERVED_PIDS : 1;
  const from = Math.max(cursor, pidMin);
  for (let nr = from; nr < pidMax; nr++) {
    if (!used.has(nr)) return (ns.lastPid = nr);
  }
  if (from > pidMin) {
    for (let nr = pidMin; nr < from && nr < pidMax; nr++) {
      if (!used.has(nr)) return (ns.lastPid = nr);
    }
  }
  throw err(k.profile.pidExhausted, 'pid namespace full');
}

/**
 * Preset requests: `values[0]` for the innermost level, `values[k]` for the k-th ancestor.
 * `busy` is the errno for a taken number (EEXIST for set_tid, EBUSY for next_syscall_data).
 */
export interface PidPreset {
  values: number[];
  busy: ErrnoCode;
}

/**
 * alloc_pid(): numbers for a new task whose active namespace is `nsId`, innermost first, returned
 * outermost first (index = level). On any failure nothing stays allocated (cursors that moved stay
 * moved, as in Linux).
 */
export function allocPid(k: KernelCore, nsId: number, kid: number | null, preset: PidPreset | null): number[] {
  const chain = pidNsChain(k, nsId);
  if (preset && preset.values.length > chain.length) throw err('EINVAL', 'more preset pids than levels');
  const got: number[] = [];
  try {
    for (let i = 0; i < chain.length; i++) {
      const ns = chain[i]!;
      let nr: number;
      if (preset && i < preset.values.length) {
        const want = preset.values[i]!;
        // Each level's own pid_max (alloc_pid: tid >= READ_ONCE(tmp->pid_max) → EINVAL).
        if (!Number.isInteger(want) || want < 1 || want >= pidMaxOf(k, ns)) throw err('EINVAL', `pid ${want} out of range`);
        // "Also fail if a PID != 1 is requested and no PID 1 exists."
        if (want !== 1 && !ns.reaper) throw err('EINVAL', `pid ${want} requested in a namespace without init`);
        if (ns.pids.has(want)) throw err(preset.busy, `pid ${want} in use`);
        nr = want;
      } else {
        nr = allocCursor(k, ns);
      }
      // Reserve now (with a placeholder kid) so an outer level cannot see it as free.
      ns.pids.set(nr, kid ?? 0);
      got.push(nr);
    }
    // The innermost namespace must still accept tasks (PIDNS_ADDING) — else ENOMEM (alloc_pid).
    if (!chain[0]!.adding) throw err('ENOMEM', 'pid namespace has no init');
  } catch (e) {
    for (let i = 0; i < got.length; i++) chain[i]!.pids.delete(got[i]!);
    throw e;
  }
  for (const ns of chain) ns.refs++;
  return got.reverse();
}

/** Binds the reserved numbers to the task's kid (the kid is the level-0 number). */
export function attachPid(k: KernelCore, nsId: number, pids: number[], kid: number): void {
  const chain = pidNsChain(k, nsId).reverse();
  for (let lvl = 0; lvl < chain.length; lvl++) chain[lvl]!.pids.set(pids[lvl]!, kid);
}

/** free_pid(): releases a task's numbers at every level. */
export function freePid(k: KernelCore, nsId: number, pids: number[]): void {
  const chain = pidNsChain(k, nsId).reverse();
  for (let lvl = 0; lvl < chain.length; lvl++) {
    const ns = chain[lvl]!;
    ns.pids.delete(pids[lvl]!);
    ns.refs--;
  }
  putPidNs(k);
}

/**
 * put_pid_ns(): frees the non-initial namespaces nothing names any more. A namespace lives while
 * any of these holds it (get_pid_ns in Linux): a pid in it or below it (`refs`), a task's active
 * namespace or pid_for_children (an unshare(CLONE_NEWPID) whose init has come and gone still names
 * it: the next fork gets ENOMEM, not a dangling id), an open /proc file resolved in it, or a child
 * namespace. Call it after dropping any of these.
 */
export function putPidNs(k: KernelCore): void {
  let candidates = false;
  for (const ns of k.s.pidns.values()) if (ns.refs <= 0 && ns.level > 0) candidates = true;
  if (!candidates) return;
  const named = new Set<number>();
  const name = (id: number) => {
    for (let x = id; x && !named.has(x); x = k.s.pidns.get(x)?.parent ?? 0) named.add(x);
  };
  for (const t of k.s.tasks.values()) {
    name(t.pidns);
    name(t.pidnsForChildren);
  }
  for (const f of k.s.files.values()) {
    if (!f.proc) continue;
    name(f.proc.ns);
    if (f.proc.target !== undefined) name(f.proc.target);
  }
  for (const ns of k.s.pidns.values()) if (ns.refs > 0) name(ns.id);
  for (const ns of [...k.s.pidns.values()]) if (ns.level > 0 && !named.has(ns.id)) k.s.pidns.delete(ns.id);
}

/** The number `pids` (of a task living in `taskNs`) has in namespace `viewNs`, or 0 if invisible. */
export function pidNrIn(k: KernelCore, taskNs: number, pids: readonly number[], viewNs: number): number {
  const view = k.s.pidns.get(viewNs);
  if (!view || view.level >= pids.length) return 0;
  // The task is visible only if viewNs is on its chain.
  if (!pidNsWithin(k, taskNs, viewNs)) return 0;
  return pids[view.level]!;
}

/** pid_nr_ns() by kid: the number task `kid` has in `viewNs`, or 0 if it is gone or invisible there. */
export function kidNrIn(k: KernelCore, kid: number, viewNs: number): number {
  const x = k.s.tasks.get(kid);
  return x ? pidNrIn(k, x.pidns, x.pids, viewNs) : 0;
}

/** find_task_by_pid_ns(): the kid holding number `nr` in `nsId`, or undefined. */
export function findKid(k: KernelCore, nsId: number, nr: number): number | undefined {
  return k.s.pidns.get(nsId)?.pids.get(nr);
}
