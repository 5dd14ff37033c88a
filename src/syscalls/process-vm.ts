/**
 * Design note: a program of the model is a state machine, so its loads and stores to its own
 * memory (a counter in a shm segment) need an entry point. Linux's is process_vm_readv(2) /
 * process_vm_writev(2) (3.2+), here with one local and one remote iovec collapsed into arguments:
 *
 *   process_vm_readv(pid, addr, len)   → the bytes
 *   process_vm_writev(pid, addr, buf)  → bytes written
 *
 * `pid` is seen in the caller's pid namespace (0: the caller). Access to another process needs
 * PTRACE_MODE_ATTACH_REALCREDS, reduced here to: same thread group, or same real uid as the target,
 * or CAP_SYS_ADMIN (EPERM otherwise); a pid that is not visible is ESRCH. The remote range is
 * copied up to its first unmapped (or not permitted) page: a partial transfer returns the bytes
 * done, none at all is EFAULT, and the target is never signalled (mm/process_vm_access.c); the
 * length is clamped to MAX_RW_COUNT as import_iovec does.
 */
import { err } from '../abi/errno.js';
import { CAP_SYS_ADMIN } from '../abi/constants.js';
import type { KernelCore } from '../kernel/core.js';
import type { TaskState } from '../kernel/state.js';
import { findKid } from '../kernel/pid/pid.js';
import { hasCap } from '../kernel/task/cred.js';
import { processVmRead, processVmWrite } from '../kernel/mm/mm.js';

function target(k: KernelCore, t: TaskState, pid: number): TaskState {
  if (pid === 0) return t;
  const kid = findKid(k, t.pidns, pid);
  const tt = kid === undefined ? undefined : k.s.tasks.get(kid);
  if (!tt || tt.state === 'zombie' || tt.state === 'dead') throw err('ESRCH');
  if (tt.tgid !== t.tgid && tt.cred.uid !== t.cred.uid && !hasCap(k, t, CAP_SYS_ADMIN)) throw err('EPERM');
  return tt;
}

export function process_vm_readv(k: KernelCore, t: TaskState, pid: number, addr: number, len: number): Uint8Array {
  return processVmRead(k, target(k, t, pid), addr, len);
}

export function process_vm_writev(k: KernelCore, t: TaskState, pid: number, addr: number, buf: Uint8Array): number {
  if (!(buf instanceof Uint8Array)) throw err('EFAULT');
  return processVmWrite(k, target(k, t, pid), addr, buf);
}
