/**
 * The syscall table: one entry per system call, with Linux's name, the handler (semantics live in
 * src/kernel), and the argument kinds used to print a call the way strace does. Other subsystems
 * (SysV IPC) add their entries with `defineSyscall`. The scheduler dispatches parked and yielded
 * calls through this table; `task.sys.<name>()` goes through it too.
 */
import { err } from '../abi/errno.js';
import type { KernelCore } from '../kernel/kernel.js';
import type { TaskState } from '../kernel/state.js';

/** How an argument (or result) is printed in traces and parsed by the `syscall` utility. */
export type ArgKind =
  | 'int' | 'fd' | 'str' | 'buf' | 'hex' | 'oct' | 'oflags' | 'fdflags' | 'clone' | 'sig' | 'wait' | 'fcntl' | 'seek'
  | 'ipcflags' | 'ipccmd' | 'msgflags' | 'semflags' | 'shmflags' | 'key' | 'any' | 'strv' | 'bigint';

export type Handler = (k: KernelCore, t: TaskState, ...args: never[]) => unknown;

export interface SyscallDef {
  name: string;
  handler: Handler;
  args: ArgKind[];
  ret: ArgKind;
  /** Only the scheduler may run it (creates tasks, replaces the program, or never returns). */
  control?: boolean;
  /** Derived: positions of integer arguments (registers), checked before the handler runs. */
  intArgs?: number[];
  /** Derived: positions of string / string-array arguments (user pointers), checked likewise. */
  ptrArgs?: number[];
}

export const SYSCALLS = new Map<string, SyscallDef>();

/** Kinds passed in a register as an integer (everything but strings, buffers and records). */
const NON_INT: ReadonlySet<ArgKind> = new Set<ArgKind>(['str', 'buf', 'strv', 'any', 'bigint']);

export function defineSyscall(def: SyscallDef): void {
  const intArgs = def.args.flatMap((k, i) => (NON_INT.has(k) ? [] : [i]));
  const ptrArgs = def.args.flatMap((k, i) => (k === 'str' || k === 'strv' ? [i] : []));
  SYSCALLS.set(def.name, { ...def, intArgs, ptrArgs });
}

/**
 * A string argument is a pointer to a NUL-terminated string (an array of them for `strv`): any
 * other value cannot be read from user memory, EFAULT (strncpy_from_user, get_user_arg_ptr),
 * before the handler runs. `undefined` selects the default of an optional trailing argument.
 */
export function checkPtrArgs(def: SyscallDef, args: unknown[]): void {
  for (const i of def.ptrArgs!) {
    const v = args[i];
    if (v === undefined || typeof v === 'string') continue;
    if (def.args[i] === 'strv' && Array.isArray(v) && v.every((x) => typeof x === 'string')) continue;
    throw err('EFAULT', `argument ${i + 1} of ${def.name} is not a ${def.args[i] === 'strv' ? 'string array' : 'string'}`);
  }
}

/**
 * A register can only hold an integer: any other value in an integer position (an object, a string,
 * NaN, 0.5) is refused with EINVAL before the handler runs. `undefined` selects the default of an
 * optional trailing argument.
 */
export function checkIntArgs(def: SyscallDef, args: unknown[]): void {
  for (const i of def.intArgs!) {
    const v = args[i];
    if (v !== undefined && !Number.isSafeInteger(v)) throw err('EINVAL', `argument ${i + 1} of ${def.name} is not an integer`);
  }
}

export function getSyscall(name: string): SyscallDef {
  const def = SYSCALLS.get(name);
  if (!def) throw err('ENOSYS', `no syscall '${name}'`);
  return def;
}
