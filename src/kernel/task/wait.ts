/**
 * wait4()/waitpid() (kernel/exit.c do_wait).
 *
 * Selection: pid > 0 that child; -1 any; 0 the caller's process group; < -1 group -pid.
 * By default only children whose exit signal is SIGCHLD are eligible; __WCLONE selects the others,
 * __WALL all. Any thread of the process may wait for the children of every thread (no __WNOTHREAD
 * distinction: children belong to the process here). A ready child is picked in creation order, as
 * Linux walks its children list. Zombies are reaped; stopped/continued children are reported with
 * WUNTRACED/WCONTINUED. Nothing eligible: ECHILD. Eligible but not ready: 0 with WNOHANG, else the
 * caller sleeps on `wait:<tgid>`.
 */
import { err } from '../../abi/errno.js';
import { SIGCHLD, WCONTINUED, WNOHANG, WUNTRACED, __WALL, __WCLONE, __WNOTHREAD } from '../../abi/constants.js';
import type { WaitResult } from '../../abi/task.js';
import type { KernelCore } from '../core.js';
import type { ProcState, TaskState } from '../state.js';
import { block } from '../sched/block.js';
import { findKid, kidNrIn } from '../pid/pid.js';
import { reap } from './exit.js';

const VALID = WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WCLONE | __WALL;

export function wait4(k: KernelCore, t: TaskState, pid: number, options: number): WaitResult {
  if (!Number.isInteger(pid) || !Number.isInteger(options) || (options & ~VALID) !== 0) throw err('EINVAL');
  // INT_MIN would wrap to itself when negated.
  if (pid === -2147483648) throw err('ESRCH');
  const me = k.proc(t.tgid);
  const cands = eligible(k, t, me, pid, options);
  if (cands.length === 0) throw err('ECHILD');
  let best: ProcState | null = null;
  let kind: 'exit' | 'stop' | 'cont' | null = null;
  for (const c of cands) {
    const ready = me.zombies.has(c.tgid)
      ? 'exit'
      : options & WUNTRACED && c.stopReport
        ? 'stop'
        : options & WCONTINUED && c.contReport
          ? 'cont'
          : null;
    if (ready && (!best || c.forkSeq < best.forkSeq)) {
      best = c;
      kind = ready;
    }
  }
  if (!best || !kind) {
    if (options & WNOHANG) return { pid: 0, status: 0 };
    block(`wait:${t.tgid}`);
  }
  const nr = kidNrIn(k, best.tgid, t.pidns);
  if (kind === 'exit') {
    const status = best.status;
    reap(k, best.tgid);
    return { pid: nr, status };
  }
  if (kind === 'stop') {
    const sig = best.stopReport;
    best.stopReport = 0;
    return { pid: nr, status: ((sig & 0xff) << 8) | 0x7f };
  }
  best.contReport = false;
  return { pid: nr, status: 0xffff };
}

function eligible(k: KernelCore, t: TaskState, me: ProcState, pid: number, options: number): ProcState[] {
  const out: ProcState[] = [];
  const pick = (c: ProcState) => {
    const clone = c.exitSignal !== SIGCHLD;
    if (!(options & __WALL) && clone !== ((options & __WCLONE) !== 0)) return;
    out.push(c);
  };
  if (pid > 0) {
    const kid = findKid(k, t.pidns, pid);
    if (kid !== undefined && me.children.has(kid)) pick(k.proc(kid));
    return out;
  }
  let pgid = 0;
  if (pid === 0) pgid = me.pgid;
  else if (pid < -1) pgid = findKid(k, t.pidns, -pid) ?? -1;
  // Fast path: only zombies can be ready without WUNTRACED/WCONTINUED — but eligibility (ECHILD)
  // needs any child, so check the zombie set first and fall back to the full list.
  if (!(options & (WUNTRACED | WCONTINUED)) && pgid === 0 && me.zombies.size > 0) {
    for (const z of me.zombies) pick(k.proc(z));
    if (out.length > 0) return out;
  }
  for (const c of me.children) {
    const cp = k.proc(c);
    if (pgid !== 0 && cp.pgid !== pgid) continue;
    pick(cp);
  }
  return out;
}
