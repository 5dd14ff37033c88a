/**
 * next-syscall-data: a Linux kernel model with the 2008 next_syscall_data interface.
 * Public library surface.
 */
export { ErrnoError, WouldBlockError, KernelBug, KernelPanic, Errno, errnoName, strerror, isErrnoCode } from './abi/errno.js';
export type { ErrnoCode } from './abi/errno.js';
export * as constants from './abi/constants.js';
export { Kernel, Task, ProgramCrash } from './syscalls/kernel.js';
export type { RunOptions, RunResult } from './syscalls/kernel.js';
// The scheduler's choice points (src/races explores them).
export { DEFAULT_POLICY } from './syscalls/kernel.js';
export type { SchedChoice, SchedulePolicy } from './syscalls/kernel.js';
export { Sys } from './syscalls/sys.js';
export { registerProgram, findProgram } from './syscalls/program.js';
export type { ProgramDef, ProgramContext, StepOutcome } from './syscalls/program.js';
export { PROFILES, getProfile } from './kernel/profile.js';
export type { Profile, ProfileName } from './kernel/profile.js';
export type { KernelState, TaskState, SysResult, NsdState } from './kernel/state.js';
export type { KernelOptions } from './kernel/kernel.js';
export type {
  MsqidDs, MsqidDsIn, MsgInfo, MsgBuf, CtlResult, Sembuf, Timespec, SemidDs, SemidDsIn, SemInfo, ShmidDs, ShmidDsIn,
  ShmInfo, ShmInfoUsage, IpcPermDs,
} from './kernel/ipc/index.js';
// The userland: programs, the shell and utilities (installUserland puts them into a kernel's VFS).
export { installUserland, defineProgram, defineApplet, SH_PATH, INIT_PATH } from './userland/index.js';
export type { UserProgram, Applet } from './userland/index.js';
// Checkpoint/restart.
export { dump, restore, STRATEGIES, restoreIpcOnly, CRIU_MISSING_FIELDS, CrError } from './cr/index.js';
export type { DumpOptions, DumpResult, RestoreOptions, RestoreResult, StrategyName, Checkpoint } from './cr/index.js';
export { runDemo } from './cr/demo.js';
// The CLI's session machinery, in-process.
export { Session, runShell } from './cli/session.js';
// The syscall table (src/syscalls/table.ts, docs/syscalls.md): typed calls, clocks, clone3, dispositions.
export { TABLE as SYSCALL_TABLE, untypedCall } from './syscalls/table.js';
export type { SyscallName, SyscallCall, SysMethods, Support } from './syscalls/table.js';
export {
  SIG_DFL, SIG_IGN, SIG_HANDLER, CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE,
  CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME, CLOCK_TAI,
} from './syscalls/core.js';
export type { Clone3Args, SigDisposition, Timespec64 } from './syscalls/core.js';
export { installCrEngine } from './cr/syscall.js';
