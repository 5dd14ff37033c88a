/**
 * Sleeping on the model clock (kernel/time/hrtimer.c: do_nanosleep, hrtimer_nanosleep).
 *
 * Design note. A sleeper parks on wait channel `sleep` with its absolute deadline; the block data
 * says how a *relative* sleep reports the time left when a handled signal interrupts it (Linux's
 * `rem`/`rmtp`, which the model returns as the failed call's `out`): in nanoseconds (the model's
 * nanosleep, whose request is nanoseconds) or as a timespec (clock_nanosleep). An absolute sleep
 * (TIMER_ABSTIME) reports nothing: sys_clock_nanosleep drops rmtp for it (ERESTARTNOHAND). A
 * sleeper whose deadline has passed when the signal comes returns 0 (do_nanosleep: the timer has
 * fired, or `rem <= 0`).
 */
import type { KernelCore } from '../core.js';
import type { BlockState, SysResult } from '../state.js';
import { block } from '../sched/block.js';

/** How a relative sleep reports the time left: nanoseconds or a timespec; null for an absolute sleep. */
export type RemForm = 'ns' | 'timespec' | null;

/** The block data of a sleeper (plain data, saved with the task). */
interface SleepData {
  rem: RemForm;
}

/** Sleeps until `deadline` (absolute model-clock ns); 0 once it has passed. */
export function sleepUntil(k: KernelCore, deadline: number, rem: RemForm): number {
  if (k.now >= deadline) return 0;
  const data: SleepData = { rem };
  block('sleep', deadline, data);
}

/**
 * The result of a sleeping call a handled signal interrupts: EINTR, plus the time left for a
 * relative sleep (do_nanosleep → nanosleep_copyout), or 0 if the deadline has passed. Any other
 * sleeper (not on `sleep`) gets a plain EINTR.
 */
export function interruptedResult(k: KernelCore, b: BlockState): SysResult {
  if (b.wchan !== 'sleep' || b.deadlineNs === null) return { ok: false, code: 'EINTR' };
  const left = b.deadlineNs - k.now;
  if (left <= 0) return { ok: true, value: 0 };
  const form = (b.data as SleepData | null)?.rem ?? null;
  if (form === null) return { ok: false, code: 'EINTR' };
  return { ok: false, code: 'EINTR', out: form === 'ns' ? left : { tv_sec: Math.floor(left / 1e9), tv_nsec: left % 1e9 } };
}
