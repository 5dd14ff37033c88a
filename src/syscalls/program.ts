/**
 * The program model: resumable programs whose whole execution state is plain data.
 *
 * A program is code installed in a kernel under a name (`/bin/sh`, `/bin/cat`…) and run by
 * execve. Each kernel has its own program table (`Kernel.installProgram`); the kernel state only
 * names programs, so a kernel resumed from a state is given the code again (`Kernel.fromState`'s
 * `programs`). This bare form is internal: library users write programs with `defineProgram`
 * (src/userland/lib/program.ts), which builds one of these. It is a state machine:
 *   - `start(ctx)` returns the initial state (plain data, never null) from argv/envp;
 *   - `step(ctx)` advances it. It may make *direct* calls through `ctx.sys` (any syscall that does
 *     not create a task, replace the program or end it), mutate `ctx.state`, and return what to do
 *     next: `{ call: name, args }` to make a syscall that may block or that creates/replaces/ends
 *     tasks (fork, vfork, clone, clone3, execve, exit, exit_group, wait4, read of a pipe…), whose
 *     result arrives as `ctx.result` at the next step; `{ exit: code }`; or `undefined` to be
 *     scheduled again (yield).
 * Because the state lives in the task (`TaskState.prog`) between steps, a checkpoint taken between
 * any two steps captures the program exactly, including a call parked in a blocking syscall, which
 * the scheduler re-invokes after a restore.
 * A direct call that would block throws `WouldBlockError` into the step: yield such calls instead.
 */
import type { SysResult } from '../kernel/state.js';
import type { Sys } from './sys.js';
import type { SyscallCall } from './table.js';

/** What a step returns: a syscall to make (its result comes to the next step), an exit, or nothing (yield). */
export type StepOutcome = SyscallCall | { exit: number } | undefined | void;

/** What a step of a bare program (`ProgramDef`) gets. */
export interface ProgramContext<S> {
  /** The program's state (mutable, plain data). */
  state: S;
  /** Direct syscalls of the running task. */
  readonly sys: Sys;
  /** Result of the call yielded by the previous step (null at the first step). */
  readonly result: SysResult | null;
  readonly argv: readonly string[];
  readonly envp: readonly string[];
  /** Signals delivered to the program's handlers since the last step (handlers set with rt_sigaction(sig, 2)). */
  readonly signals: readonly number[];
}

/** A bare program: `start` makes its state from argv/envp, `step` advances it (see the module note). */
export interface ProgramDef<S = unknown> {
  /** The name it is installed under in a kernel's program table (conventionally its path). */
  readonly name: string;
  start(ctx: Omit<ProgramContext<S>, 'state'>): S;
  step(ctx: ProgramContext<S>): StepOutcome;
  /** What the program's last state means as its result (`task.exit.result`; default: the state itself). */
  result?(state: S): unknown;
}

/** Helpers for steps: unwrap a result or throw it. */
export function resultValue<T = unknown>(r: SysResult | null): T {
  if (!r) throw new Error('no syscall result to read');
  if (!r.ok) throw new Error(`syscall failed with ${r.code}`);
  return r.value as T;
}

/**
 * A bare program, typed (internal: the race explorer's and the kernel tests' programs, which
 * work on `ctx` directly). It registers nothing: `kernel.installProgram` installs it.
 */
export function defineBareProgram<S>(def: ProgramDef<S>): ProgramDef<S> {
  return def;
}
