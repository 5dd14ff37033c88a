/**
 * The core syscalls' handlers that are more than one line (process creation, exec, exit, clocks);
 * the table (src/syscalls/table.ts) lists them with the one-line ones. Each decodes its arguments
 * and delegates to the mechanism in src/kernel.
 */
import { err } from '../abi/errno.js';
import { CLONE_VFORK, CLONE_VM, CSIGNAL, NSIG, SIGCHLD } from '../abi/constants.js';
import type { KernelCore } from '../kernel/core.js';
import type { TaskState } from '../kernel/state.js';
import { copyProcess, checkClone3Args } from '../kernel/task/fork.js';
import { MAX_PID_NS_LEVEL } from '../kernel/profile.js';
import { exitGroup, exitStatus, exitThread } from '../kernel/task/exit.js';
import { execve } from '../kernel/task/exec.js';
import * as proc from '../kernel/task/misc.js';
import { block } from '../kernel/sched/block.js';
import { sleepUntil } from '../kernel/task/sleep.js';

type K = KernelCore;
type T = TaskState;

// ---- process creation, exec, exit ----

function forkCommon(k: K, t: T, flags: number, exitSignal: number, setTid: number[] | null): number {
  const kid = copyProcess(k, t, { flags, exitSignal, setTid });
  return proc.vnr(k, t, kid);
}

export function fork(k: K, t: T): number {
  return forkCommon(k, t, SIGCHLD, SIGCHLD, null);
}

/** vfork: the parent sleeps until the child execs or exits (a direct call returns at once). */
export function vfork(k: K, t: T): number {
  const resumed = k.resuming?.data as { pid: number; kid: number } | null | undefined;
  if (resumed) {
    if (k.s.tasks.get(resumed.kid)?.vforkParent === t.kid) block(`vfork:${resumed.kid}`, null, resumed);
    return resumed.pid;
  }
  const kid = copyProcess(k, t, { flags: CLONE_VM | CLONE_VFORK | SIGCHLD, exitSignal: SIGCHLD, setTid: null });
  const pid = proc.vnr(k, t, kid);
  block(`vfork:${kid}`, null, { pid, kid }, pid);
}

export function clone(k: K, t: T, flags: number): number {
  if (!Number.isInteger(flags)) throw err('EINVAL');
  return forkCommon(k, t, flags & ~CSIGNAL, flags & CSIGNAL, null);
}

/**
 * Linux's `struct clone_args` (include/uapi/linux/sched.h, CLONE_ARGS_SIZE_VER2), as clone3 takes
 * it: `set_tid` is the array and `set_tid_size` its length, separately, so `{ set_tid: [..],
 * set_tid_size: 0 }` is expressible (EINVAL, as copy_clone_args_from_user). Pointers the model has
 * no user memory for (`pidfd`, `child_tid`, `parent_tid`, `tls`) and `cgroup` must be 0 or absent
 * (EINVAL: not modelled); a field Linux's struct does not have is E2BIG, as a larger struct with
 * non-zero trailing bytes (copy_struct_from_user).
 */
export interface Clone3ArgsBase {
  flags?: number;
  pidfd?: number;
  child_tid?: number;
  parent_tid?: number;
  exit_signal?: number;
  stack?: number;
  stack_size?: number;
  tls?: number;
  cgroup?: number;
}

/** struct clone_args: `set_tid` and `set_tid_size` together (the type asks for both, the call checks them). */
export type Clone3Args = Clone3ArgsBase & ({ set_tid?: null; set_tid_size?: 0 } | { set_tid: number[]; set_tid_size: number });

const CLONE_ARGS_FIELDS: ReadonlySet<string> = new Set([
  'flags', 'pidfd', 'child_tid', 'parent_tid', 'exit_signal', 'stack', 'stack_size', 'tls', 'set_tid', 'set_tid_size', 'cgroup',
]);
const CLONE_ARGS_UNMODELLED = ['pidfd', 'child_tid', 'parent_tid', 'tls', 'cgroup'] as const;

function u64(args: Clone3Args, field: keyof Clone3ArgsBase | 'set_tid_size'): number {
  const v = args[field] ?? 0;
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw err('EINVAL', `clone3: clone_args.${field} is not an unsigned integer`);
  return v as number;
}

/** clone3(2): copy_clone_args_from_user then clone3_args_valid (kernel/fork.c), then copy_process. */
export function clone3(k: K, t: T, args: Clone3Args): number {
  if (!k.profile.clone3) throw err('ENOSYS');
  if (!args || typeof args !== 'object' || Array.isArray(args)) throw err('EFAULT', 'clone3: clone_args is not a record');
  for (const [key, v] of Object.entries(args)) {
    if (!CLONE_ARGS_FIELDS.has(key) && v !== undefined && v !== 0) throw err('E2BIG', `clone3: struct clone_args has no field ${key}`);
  }
  const flags = u64(args, 'flags');
  const exitSignal = u64(args, 'exit_signal');
  const setTidSize = u64(args, 'set_tid_size');
  const setTidPtr = args.set_tid ?? null;
  // copy_clone_args_from_user: set_tid and set_tid_size go together, at most MAX_PID_NS_LEVEL.
  if ((setTidPtr !== null && setTidSize === 0) || (setTidPtr === null && setTidSize !== 0)) {
    throw err('EINVAL', 'clone3: set_tid and set_tid_size must both be given or both be absent');
  }
  if (setTidSize > MAX_PID_NS_LEVEL) throw err('EINVAL', `clone3: set_tid_size ${setTidSize} > MAX_PID_NS_LEVEL`);
  // exit_signal & ~CSIGNAL, or not a valid signal: EINVAL.
  if (exitSignal > CSIGNAL || exitSignal > NSIG) throw err('EINVAL', `clone3: bad exit_signal ${exitSignal}`);
  for (const f of CLONE_ARGS_UNMODELLED) {
    if (u64(args, f) !== 0) throw err('EINVAL', `clone3: clone_args.${f} is not modelled`);
  }
  // clone3_stack_valid: a stack needs a size and a size needs a stack (the model keeps neither).
  if ((u64(args, 'stack') === 0) !== (u64(args, 'stack_size') === 0)) throw err('EINVAL', 'clone3: stack and stack_size go together');
  let setTid: number[] | null = null;
  if (setTidPtr !== null) {
    // copy_from_user of set_tid_size pid_t's: EFAULT when the array is shorter or not integers.
    if (!Array.isArray(setTidPtr) || setTidPtr.length < setTidSize) throw err('EFAULT', 'clone3: set_tid has fewer than set_tid_size entries');
    setTid = setTidPtr.slice(0, setTidSize);
    if (!setTid.every((x) => Number.isSafeInteger(x))) throw err('EFAULT', 'clone3: set_tid holds a non-integer');
  }
  checkClone3Args(flags, exitSignal, setTid);
  return forkCommon(k, t, flags, exitSignal, setTid);
}

export function execve_(k: K, t: T, path: string, argv: string[], envp: string[] = []): number {
  execve(k, t, path, argv, envp);
  return 0;
}

export function exit(k: K, t: T, code: number): number {
  exitThread(k, t, exitStatus(code | 0));
  return 0;
}

export function exit_group(k: K, t: T, code: number): number {
  exitGroup(k, t.tgid, exitStatus(code | 0));
  return 0;
}

// ---- signal dispositions ----

export { SIG_DFL, SIG_IGN } from '../abi/constants.js';
/**
 * The disposition "run the program's handler": the signal is delivered to the program's next step
 * (`ctx.signals`), as a handler would run before the program continues. The model's
 * `rt_sigaction(sig, handler)` takes one of SIG_DFL, SIG_IGN or SIG_HANDLER and returns the old one.
 */
export { SIG_HANDLER } from '../kernel/task/signal.js';
/** What `rt_sigaction` installs and returns: SIG_DFL (0), SIG_IGN (1) or SIG_HANDLER (2). */
export type SigDisposition = 0 | 1 | 2;

// ---- clocks ----

/** Clock ids (include/uapi/linux/time.h). */
export const CLOCK_REALTIME = 0;
/** Monotonic time since boot (stops in suspend; the model never suspends). */
export const CLOCK_MONOTONIC = 1;
export const CLOCK_PROCESS_CPUTIME_ID = 2;
export const CLOCK_THREAD_CPUTIME_ID = 3;
/** Monotonic time without NTP slewing. */
export const CLOCK_MONOTONIC_RAW = 4;
/** Wall-clock time at tick resolution. */
export const CLOCK_REALTIME_COARSE = 5;
/** Monotonic time at tick resolution. */
export const CLOCK_MONOTONIC_COARSE = 6;
/** Monotonic time that also counts suspend. */
export const CLOCK_BOOTTIME = 7;
export const CLOCK_REALTIME_ALARM = 8;
export const CLOCK_BOOTTIME_ALARM = 9;
/** International Atomic Time: realtime plus the TAI offset (0 until adjtimex sets it). */
export const CLOCK_TAI = 11;

/** struct __kernel_timespec: seconds and nanoseconds (0..999,999,999). */
export interface Timespec64 {
  tv_sec: number;
  tv_nsec: number;
}

/**
 * The model's clocks (kernel/time/posix-timers.c posix_clocks[]). One model clock runs (`kernel.advance`,
 * the scheduler's steps): the wall clocks (REALTIME, its coarse variant, TAI) read it as time since
 * the epoch; the monotonic ones (MONOTONIC, MONOTONIC_RAW, MONOTONIC_COARSE, BOOTTIME) count from
 * boot (`KernelState.bootNs`), as Linux's do. Nobody sets the time and the machine never suspends,
 * so they keep their distance and BOOTTIME equals MONOTONIC; the coarse clocks read the same as
 * the fine ones (the model has no tick). CLOCK_TAI is realtime plus the TAI offset, 0 until adjtimex sets it, as at boot. The
 * alarm clocks need an RTC with wakealarm (alarmtimer_get_rtcdev): the model has none, EINVAL as
 * alarm_clock_get_timespec. CPU-time clocks (and the negative per-pid clock ids) are not modelled:
 * EINVAL, said in the detail. Any other id is EINVAL (clockid_to_kclock returns NULL).
 */
export function clock_gettime(k: K, _t: T, clk: number): Timespec64 {
  switch (clk) {
    case CLOCK_REALTIME: case CLOCK_REALTIME_COARSE: case CLOCK_TAI:
      return nsToTimespec(k.now);
    case CLOCK_MONOTONIC: case CLOCK_MONOTONIC_RAW: case CLOCK_MONOTONIC_COARSE: case CLOCK_BOOTTIME:
      return nsToTimespec(k.now - k.s.bootNs);
    case CLOCK_REALTIME_ALARM: case CLOCK_BOOTTIME_ALARM:
      throw err('EINVAL', `clock ${clk}: the machine has no RTC wake alarm`);
    case CLOCK_PROCESS_CPUTIME_ID: case CLOCK_THREAD_CPUTIME_ID:
      throw err('EINVAL', `clock ${clk}: CPU-time clocks are not modelled`);
    default:
      throw err('EINVAL', `clock ${clk}: ${clk < 0 ? 'CPU-time clocks are not modelled' : 'no such clock'}`);
  }
}

function nsToTimespec(ns: number): Timespec64 {
  return { tv_sec: Math.floor(ns / 1e9), tv_nsec: ns % 1e9 };
}

/** time(2) with a NULL tloc: seconds of CLOCK_REALTIME (ktime_get_real_seconds). */
export function time(k: K): number {
  return Math.floor(k.now / 1e9);
}

/** gettimeofday(2) with a NULL timezone: CLOCK_REALTIME in microseconds (ktime_get_real_ts64). */
export function gettimeofday(k: K): { tv_sec: number; tv_usec: number } {
  const ns = k.now;
  return { tv_sec: Math.floor(ns / 1e9), tv_usec: Math.floor((ns % 1e9) / 1000) };
}

// ---- sleeping ----

export const TIMER_ABSTIME = 1;

/** The request as nanoseconds: EFAULT if it is not a timespec, EINVAL unless timespec64_valid. */
function timespecNs(ts: unknown): number {
  if (ts === null || typeof ts !== 'object') throw err('EFAULT', 'the request is not a timespec');
  const { tv_sec: sec, tv_nsec: nsec } = ts as Partial<Timespec64>;
  if (!Number.isSafeInteger(sec) || !Number.isSafeInteger(nsec)) throw err('EFAULT', 'tv_sec or tv_nsec is not an integer');
  if ((sec as number) < 0 || (nsec as number) < 0 || (nsec as number) >= 1e9) throw err('EINVAL', `bad timespec {${sec}, ${nsec}}`);
  return (sec as number) * 1e9 + (nsec as number);
}

/**
 * clock_nanosleep(2) (kernel/time/posix-timers.c): sleeps on the model clock until the deadline,
 * relative or absolute (TIMER_ABSTIME: a time of that clock, so MONOTONIC and BOOTTIME deadlines
 * count from boot), and returns 0. A clock without nsleep (MONOTONIC_RAW, the coarse clocks,
 * THREAD_CPUTIME) is EOPNOTSUPP, an unknown clock EINVAL, a bad timespec EINVAL
 * (timespec64_valid). A handled signal ends a relative sleep with EINTR and the time left as the
 * result's `out` (a timespec: hrtimer_nanosleep's `rem`), an absolute one with EINTR alone
 * (sys_clock_nanosleep drops rmtp for TIMER_ABSTIME); see kernel/task/sleep.ts. The alarm clocks
 * have no RTC: EOPNOTSUPP (alarm_timer_nsleep); PROCESS_CPUTIME sleeps are not modelled (EINVAL,
 * said in the detail).
 */
export function clock_nanosleep(k: K, _t: T, clk: number, flags: number, request: Timespec64): number {
  let epoch: number;
  switch (clk) {
    case CLOCK_REALTIME: case CLOCK_TAI:
      epoch = 0;
      break;
    case CLOCK_MONOTONIC: case CLOCK_BOOTTIME:
      epoch = k.s.bootNs;
      break;
    case CLOCK_MONOTONIC_RAW: case CLOCK_REALTIME_COARSE: case CLOCK_MONOTONIC_COARSE: case CLOCK_THREAD_CPUTIME_ID:
      throw err('EOPNOTSUPP', `clock ${clk} cannot be slept on`);
    case CLOCK_REALTIME_ALARM: case CLOCK_BOOTTIME_ALARM:
      throw err('EOPNOTSUPP', `clock ${clk}: the machine has no RTC wake alarm`);
    case CLOCK_PROCESS_CPUTIME_ID:
      throw err('EINVAL', `clock ${clk}: CPU-time clocks are not modelled`);
    default:
      throw err('EINVAL', `clock ${clk}: no such clock`);
  }
  const ns = timespecNs(request);
  const abs = (flags & TIMER_ABSTIME) !== 0;
  return sleepUntil(k, k.resuming?.deadlineNs ?? (abs ? epoch + ns : k.now + ns), abs ? null : 'timespec');
}

/** pause(2): sleeps until a signal runs a handler (EINTR) or ends the process. */
export function pause(): number {
  block('pause');
}
