/**
 * `task.sys`: one method per syscall of the table (src/syscalls/table.ts), Linux's name and argument
 * order, returning what Linux returns (records as plain objects) and throwing `ErrnoError` on
 * failure. Out-parameters become return values: `read(fd, count)` returns the bytes, `pipe2(flags)`
 * returns `[rfd, wfd]`, `wait4(pid, options)` returns `{ pid, status }`.
 *
 * The methods' types are derived from the table's handlers (`SysMethods`); the methods themselves
 * are put on the prototype once, at load, from the table's names: plain functions, no Proxy, one
 * argument array per call (as before), so `task.sys.msgsnd(...)` stays cheap.
 *
 * A call that would sleep in Linux throws `WouldBlockError` (not an ErrnoError) and changes
 * nothing; under the scheduler, a program yields such calls and really sleeps.
 */
import { TABLE, type SysMethods } from './table.js';

/** What a Sys needs from its kernel: dispatch by name on behalf of a task. */
export interface SyscallInvoker {
  directCall(kid: number, name: string, args: unknown[], inStep: boolean): unknown;
}

// The table's methods, merged into the class's type (their bodies are put on the prototype below).
export interface Sys extends SysMethods {}

/** The syscalls of one task, as methods (`task.sys.open(...)`); Linux errors throw ErrnoError, a call that would sleep WouldBlockError. */

export class Sys {
  constructor(
    private readonly kernel: SyscallInvoker,
    /** kid of the calling task. */
    readonly kid: number,
    /** Set while a program step runs: task-creating and program-ending calls must be yielded. */
    private readonly inStep = false,
  ) {}

  /** Makes syscall `name` with `args` (the generic entry point, used by the `syscall` utility). */
  call(name: string, ...args: unknown[]): unknown {
    return this.kernel.directCall(this.kid, name, args, this.inStep);
  }

  /** Makes syscall `name` with the argument list `args` (not copied). */
  callArgs(name: string, args: unknown[]): unknown {
    return this.kernel.directCall(this.kid, name, args, this.inStep);
  }

  /** glibc's seteuid(): setresuid(-1, euid, -1). */
  seteuid(euid: number): number {
    return this.setresuid(-1, euid, -1);
  }

  /** glibc's setegid(): setresgid(-1, egid, -1). */
  setegid(egid: number): number {
    return this.setresgid(-1, egid, -1);
  }
}

for (const name of Object.keys(TABLE)) {
  Object.defineProperty(Sys.prototype, name, {
    value: function (this: Sys, ...args: unknown[]): unknown {
      return this.callArgs(name, args);
    },
    writable: true,
    configurable: true,
  });
}
