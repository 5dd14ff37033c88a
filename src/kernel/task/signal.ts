/**
 * Signals (kernel/signal.c), reduced to what the model needs, with Linux's outcomes:
 * - SIGKILL kills the whole thread group at once; SIGSTOP/SIGCONT stop and resume it and report to
 *   the parent's wait4(WUNTRACED/WCONTINUED).
 * - A default-fatal signal that is not blocked kills the group at once (complete_signal's "fatal
 *   signal" short-cut); default-ignored signals (SIGCHLD, SIGCONT, SIGURG, SIGWINCH) and SIG_IGN
 *   are dropped; SIGTSTP/SIGTTIN/SIGTTOU stop.
 * - A signal with a program handler is queued for the program; if the target thread sleeps in an
 *   interruptible syscall, the call returns EINTR.
 * - The init of a pid namespace only receives signals it has a handler for from inside its
 *   namespace (SIGNAL_UNKILLABLE); SIGKILL/SIGSTOP from an ancestor namespace do reach it.
 * - Blocked signals (sigprocmask) stay pending; SIGKILL and SIGSTOP cannot be blocked.
 */
import { err } from '../../abi/errno.js';
import {
  SIGCHLD, SIGCONT, SIGKILL, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIG_DFL, SIG_IGN, NSIG,
} from '../../abi/constants.js';
import type { KernelCore } from '../core.js';
import type { TaskState } from '../state.js';
import { pidNsWithin } from '../pid/pid.js';
import { exitGroupBySignal } from './exit.js';
import { block } from '../sched/block.js';
import { interruptedResult } from './sleep.js';

/** Disposition value meaning "a program handler" (anything but SIG_DFL/SIG_IGN). */
export const SIG_HANDLER = 2;

const DEFAULT_IGNORE = new Set([SIGCHLD, SIGCONT, 23 /* SIGURG */, 28 /* SIGWINCH */]);
const DEFAULT_STOP = new Set([SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU]);

export function sigBit(sig: number): bigint {
  return 1n << BigInt(sig - 1);
}

export function validSignal(sig: number): boolean {
  return Number.isInteger(sig) && sig >= 1 && sig <= NSIG;
}

/**
 * Delivers `sig` to a thread (`toThread`) or a process. No permission check here (see kill).
 * `fromNs`: the sender's pid namespace, for the namespace-init protection; 0 = from the kernel.
 */
export function deliverSignal(k: KernelCore, id: number, sig: number, toThread: boolean, fromNs = 0): void {
  const target = k.s.tasks.get(id);
  if (!target || target.state === 'zombie' || target.state === 'dead') return;
  const proc = k.proc(target.tgid);
  if (proc.groupExit) return;
  const action = proc.sigaction[sig] ?? SIG_DFL;

  // Namespace init: unkillable from inside unless it handles the signal.
  const ns = k.pidNs(target.pidns);
  if (ns.reaper === target.tgid && action !== SIG_HANDLER) {
    const fromInside = fromNs === 0 || pidNsWithin(k, fromNs, target.pidns);
    if (fromInside || (sig !== SIGKILL && sig !== SIGSTOP)) return;
  }

  if (sig === SIGKILL) {
    exitGroupBySignal(k, proc.tgid, SIGKILL);
    return;
  }
  if (sig === SIGCONT) {
    continueProcess(k, proc.tgid);
    if (action !== SIG_HANDLER) return;
  }
  if (sig === SIGSTOP) {
    stopProcess(k, proc.tgid, sig);
    return;
  }
  if (action === SIG_IGN) return;
  if (action === SIG_DFL) {
    if (DEFAULT_IGNORE.has(sig)) return;
    if (isBlockedEverywhere(k, proc.threads, sig, toThread ? id : 0)) {
      queuePending(k, target, sig, toThread);
      return;
    }
    if (DEFAULT_STOP.has(sig)) {
      stopProcess(k, proc.tgid, sig);
      return;
    }
    exitGroupBySignal(k, proc.tgid, sig);
    return;
  }
  // A program handler.
  queuePending(k, target, sig, toThread);
  interruptFor(k, proc.threads, sig, toThread ? id : 0);
}

function isBlockedEverywhere(k: KernelCore, threads: number[], sig: number, only: number): boolean {
  const bit = sigBit(sig);
  const cands = only ? [only] : threads;
  return cands.every((kid) => (k.t(kid).sigmask & bit) !== 0n);
}

function queuePending(k: KernelCore, t: TaskState, sig: number, toThread: boolean): void {
  const list = toThread ? t.pending : k.proc(t.tgid).pending;
  if (!list.includes(sig)) list.push(sig);
}

/** A sleeping thread that does not block `sig` returns EINTR from its syscall. */
function interruptFor(k: KernelCore, threads: number[], sig: number, only: number): void {
  const bit = sigBit(sig);
  for (const kid of only ? [only] : threads) {
    const t = k.t(kid);
    if (t.sigmask & bit) continue;
    if (t.state === 'blocked' && t.blocked && !t.blocked.result) {
      k.complete(kid, interruptedResult(k, t.blocked));
    }
    if (!only) return;
  }
}

/**
 * Signals ready for a thread's program handler: thread-pending first, then process-pending,
 * skipping blocked ones. Removes them from the pending lists.
 */
export function takeDeliverable(k: KernelCore, t: TaskState): number[] {
  const out: number[] = [];
  const proc = k.proc(t.tgid);
  for (const list of [t.pending, proc.pending]) {
    for (let i = 0; i < list.length; ) {
      const sig = list[i]!;
      if (t.sigmask & sigBit(sig)) {
        i++;
        continue;
      }
      list.splice(i, 1);
      if ((proc.sigaction[sig] ?? SIG_DFL) === SIG_HANDLER) out.push(sig);
      else if ((proc.sigaction[sig] ?? SIG_DFL) === SIG_DFL && !DEFAULT_IGNORE.has(sig)) {
        // A default-fatal signal unblocked since it was queued.
        exitGroupBySignal(k, proc.tgid, sig);
        return [];
      }
    }
  }
  return out;
}

function stopProcess(k: KernelCore, tgid: number, sig: number): void {
  const proc = k.proc(tgid);
  if (proc.stopped) return;
  proc.stopped = true;
  proc.stopReport = sig;
  proc.contReport = false;
  for (const kid of proc.threads) {
    const t = k.t(kid);
    if (t.state === 'running') {
      t.state = 'stopped';
      k.unqueue(kid);
    }
  }
  notifyParent(k, tgid);
}

function continueProcess(k: KernelCore, tgid: number): void {
  const proc = k.proc(tgid);
  if (!proc.stopped) return;
  proc.stopped = false;
  proc.stopReport = 0;
  proc.contReport = true;
  for (const kid of proc.threads) {
    const t = k.t(kid);
    if (t.state === 'stopped') {
      t.state = 'running';
      k.makeRunnable(kid);
    }
  }
  notifyParent(k, tgid);
}

/** do_notify_parent_cldstop(): wakes the parent's wait4 (SIGCHLD itself is default-ignored). */
function notifyParent(k: KernelCore, tgid: number): void {
  const parent = k.proc(tgid).parent;
  if (parent && k.s.procs.has(parent)) {
    deliverSignal(k, parent, SIGCHLD, false);
    k.wake(`wait:${parent}`);
  }
}

/** rt_sigaction(2), reduced to the disposition. Returns the old one. */
export function sigaction(k: KernelCore, t: TaskState, sig: number, handler: number | undefined): number {
  if (!validSignal(sig)) throw err('EINVAL');
  const proc = k.proc(t.tgid);
  const old = proc.sigaction[sig] ?? SIG_DFL;
  if (handler === undefined) return old;
  if (sig === SIGKILL || sig === SIGSTOP) throw err('EINVAL');
  if (handler !== SIG_DFL && handler !== SIG_IGN && handler !== SIG_HANDLER) throw err('EINVAL');
  proc.sigaction[sig] = handler;
  // A disposition that ignores the signal (SIG_IGN, or SIG_DFL of a default-ignored one) discards
  // pending instances (do_sigaction: sig_handler_ignored → flush_sigqueue_mask).
  if (handler === SIG_IGN || (handler === SIG_DFL && DEFAULT_IGNORE.has(sig))) {
    for (const kid of proc.threads) k.t(kid).pending = k.t(kid).pending.filter((s) => s !== sig);
    proc.pending = proc.pending.filter((s) => s !== sig);
  }
  return old;
}

/** rt_sigprocmask(2). `set` is a 64-bit mask (bit n-1 = signal n). Returns the old mask. */
export function sigprocmask(t: TaskState, how: number, set: bigint | null): bigint {
  const old = t.sigmask;
  if (set === null) return old;
  if (typeof set !== 'bigint') throw err('EINVAL');
  const unblockable = sigBit(SIGKILL) | sigBit(SIGSTOP);
  switch (how) {
    case 0:
      t.sigmask = (old | set) & ~unblockable;
      break;
    case 1:
      t.sigmask = old & ~set;
      break;
    case 2:
      t.sigmask = set & ~unblockable;
      break;
    default:
      throw err('EINVAL');
  }
  return old;
}

/**
 * rt_sigsuspend(2) (kernel/signal.c sigsuspend): the caller's mask is kept in `savedSigmask`, `mask`
 * replaces it (SIGKILL and SIGSTOP stay unblocked, as set_current_blocked) and the task sleeps until
 * a signal the new mask lets through is pending. It returns EINTR (ERESTARTNOHAND once a handler
 * is set up); the scheduler hands the signals to the program's handlers at the step that sees the
 * EINTR, under the suspend mask, then restores the saved mask (restore_saved_sigmask). A signal
 * already pending and unblocked by `mask` ends it at once. Re-invoked after a c/r restore, the
 * restored mask is the saved one (dump records it, as PTRACE_GETSIGMASK does), so it is saved again.
 */
export function sigsuspend(k: KernelCore, t: TaskState, mask: bigint): never {
  if (typeof mask !== 'bigint') throw err('EFAULT', 'the mask is not a sigset');
  if (t.savedSigmask === null) t.savedSigmask = t.sigmask;
  t.sigmask = mask & ~(sigBit(SIGKILL) | sigBit(SIGSTOP));
  if (hasUnblockedPending(k, t)) throw err('EINTR');
  block('sigsuspend');
}

/** signal_pending() for the model: a thread- or process-pending signal `t` does not block. */
export function hasUnblockedPending(k: KernelCore, t: TaskState): boolean {
  const open = (sig: number) => (t.sigmask & sigBit(sig)) === 0n;
  return t.pending.some(open) || k.proc(t.tgid).pending.some(open);
}

/**
 * After a step has taken its signals: the mask rt_sigsuspend replaced comes back (the handlers
 * were set up under the suspend mask; restore_saved_sigmask / the sigreturn frame's mask).
 */
export function restoreSavedSigmask(t: TaskState): void {
  if (t.savedSigmask === null) return;
  t.sigmask = t.savedSigmask;
  t.savedSigmask = null;
}
