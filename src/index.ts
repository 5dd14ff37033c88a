/**
 * next-syscall-data: a Linux kernel model with the 2008 next_syscall_data interface.
 * Public library surface (docs/api.md is the guide). Every export is documented where it is
 * declared; the CLI and the demos import their machinery from their own modules, not from here.
 */
// Errors and constants.
export { ErrnoError, WouldBlockError, KernelBug, KernelPanic, Errno, errnoName, strerror, isErrnoCode } from './abi/errno.js';
export type { ErrnoCode } from './abi/errno.js';
export * as constants from './abi/constants.js';
// The kernel, its tasks and the scheduler.
export { Kernel, Task, ProgramCrash } from './syscalls/scheduler.js';
export type { RunOptions, RunResult, StepInfo, TaskStatus, SleepInfo, TaskExit, SpawnOptions, FromStateOptions } from './syscalls/scheduler.js';
export { DEFAULT_POLICY } from './syscalls/scheduler.js';
export type { SchedChoice, SchedulePolicy } from './syscalls/scheduler.js';
export { Sys } from './syscalls/sys.js';
export { PROFILES, getProfile } from './kernel/profile.js';
export type { Profile, ProfileName } from './kernel/profile.js';
export type { KernelState, TaskState, SysResult, NsdState } from './kernel/state.js';
export type { KernelOptions } from './kernel/core.js';
export type {
  MsqidDs, MsqidDsIn, MsgInfo, MsgBuf, CtlResult, Sembuf, Timespec, SemidDs, SemidDsIn, SemInfo, ShmidDs, ShmidDsIn,
  ShmInfo, ShmInfoUsage, IpcPermDs,
} from './kernel/ipc/index.js';
// Programs: `defineProgram` is the one way to define one; `kernel.installProgram` installs it in
// that kernel's program table; installUserland installs the shell and utilities, whose code
// `userlandPrograms()` lists (for `Kernel.fromState`).
export type { StepOutcome } from './syscalls/program.js';
export { installUserland, userlandPrograms, defineProgram, SH_PATH, INIT_PATH } from './userland/index.js';
export type { Program, UserProgram, Proc, StartContext } from './userland/index.js';
// Checkpoint/restart.
export { dump, restore, STRATEGIES, restoreIpcOnly, CRIU_MISSING_FIELDS, CrError } from './cr/index.js';
export type { DumpOptions, DumpResult, RestoreOptions, RestoreResult, StrategyName, Checkpoint, CrReportLine } from './cr/index.js';
// The syscall table (src/syscalls/table.ts, docs/syscalls.md): typed calls, clocks, clone3, dispositions.
export { TABLE as SYSCALL_TABLE, untypedCall } from './syscalls/table.js';
export type { SyscallName, SyscallCall, SysMethods, Support } from './syscalls/table.js';
export {
  SIG_DFL, SIG_IGN, SIG_HANDLER, CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE,
  CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME, CLOCK_TAI,
} from './syscalls/core.js';
export type { Clone3Args, SigDisposition, Timespec64 } from './syscalls/core.js';
export { installCrEngine } from './cr/syscall.js';
