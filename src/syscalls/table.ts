/**
 * The syscall table: the one place a system call is declared. Each entry, keyed by Linux's name,
 * gives the handler (semantics live in src/kernel; handlers of more than a line in the modules
 * beside this one), the argument kinds used to print a call the way strace does and to check its
 * registers, the result kind, whether only the scheduler may run it (`control`), and how much of
 * Linux's call the model implements, in the shape of gVisor's syscall tables
 * (pkg/sentry/syscalls/linux/linux64.go: Supported, PartiallySupported("why"), per profile where
 * it differs).
 *
 * `task.sys.<name>()`'s type and a program's `{ call: name, args }` type are derived from the
 * handlers' types (src/syscalls/sys.ts), the docs' list (docs/syscalls.md) and `cr check`'s from
 * the support notes. Nothing registers a syscall by being imported: the table lists them all.
 */
import { err } from '../abi/errno.js';
import { AT_FDCWD, AT_REMOVEDIR, O_CREAT, O_TRUNC, O_WRONLY } from '../abi/constants.js';
import type { KernelCore } from '../kernel/core.js';
import type { TaskState } from '../kernel/state.js';
import type { ProfileName } from '../kernel/profile.js';
import { wait4 } from '../kernel/task/wait.js';
import * as cred from '../kernel/task/cred.js';
import * as fs from '../kernel/fs/ops.js';
import * as proc from '../kernel/task/misc.js';
import { sigaction, sigprocmask, sigsuspend } from '../kernel/task/signal.js';
import { mmapAnon, munmap } from '../kernel/mm/mm.js';
import '../kernel/mm/procmm.js';
import { msgctl, msgget, msgrcv, msgsnd } from '../kernel/ipc/msg.js';
import { semctl, semget, semop, semtimedop } from '../kernel/ipc/sem.js';
import { shmat, shmctl, shmdt, shmget } from '../kernel/ipc/shm.js';
import * as core from './core.js';
import * as withid from './fork-open-withid.js';
import * as ipcWithId from './ipc-withid.js';
import { process_vm_readv, process_vm_writev } from './process-vm.js';
import { nsd_cr, type NsdCrMethod } from './cr.js';
import { mprotect } from './mprotect.js';
import './sysvipc.js'; // SysV IPC's kernel parts (src/kernel/ipc/index.ts) and its trace flag tables
import type { MsgctlMethod, MsgrcvMethod, MsgsndMethod, SemctlMethod, SemopMethod, SemtimedopMethod, ShmctlMethod } from './sysvipc.js';

/** How an argument (or result) is printed in traces and parsed by the `syscall` utility. */
export type ArgKind =
  | 'int' | 'fd' | 'str' | 'buf' | 'hex' | 'oct' | 'oflags' | 'fdflags' | 'clone' | 'sig' | 'wait' | 'fcntl' | 'seek'
  | 'ipcflags' | 'ipccmd' | 'msgflags' | 'semflags' | 'shmflags' | 'key' | 'any' | 'strv' | 'bigint';

/** A handler: the kernel, the calling task, then the call's arguments in Linux's order. */
export type Handler = (k: KernelCore, t: TaskState, ...args: never[]) => unknown;

/**
 * How much of Linux's call the model implements (gVisor's linux64.go vocabulary):
 * - `full`: Linux's semantics and errnos;
 * - `partial`: what `why` says is missing;
 * - `none`: the call fails with ENOSYS (e.g. a call newer than the profile's kernel);
 * - `model`: not a Linux syscall — the model's own interface (the 2008 RFC's with-id calls, nsd_cr).
 */
export type Support =
  | { readonly level: 'full' }
  | { readonly level: 'partial'; readonly why: string }
  | { readonly level: 'none'; readonly why: string }
  | { readonly level: 'model'; readonly why: string };

export const Supported: Support = { level: 'full' };
export function PartiallySupported(why: string): Support {
  return { level: 'partial', why };
}
export function Unsupported(why: string): Support {
  return { level: 'none', why };
}
export function ModelOnly(why: string): Support {
  return { level: 'model', why };
}

/** The `task.sys` method a handler gives: its arguments after (kernel, task), its result. */
export type MethodOf<H> = H extends (k: KernelCore, t: TaskState, ...args: infer A) => infer R ? (...args: A) => R : never;

/** One entry of the table. `M` is the `task.sys` method's type (the handler's, or declared overloads). */
export interface SyscallEntry<H extends Handler = Handler, M = MethodOf<H>> {
  readonly handler: H;
  readonly args: readonly ArgKind[];
  readonly ret: ArgKind;
  /** Only the scheduler may run it (creates tasks, replaces the program, or never returns). */
  readonly control: boolean;
  /** Support in every profile, unless `profiles` says otherwise for one. */
  readonly support: Support;
  readonly profiles?: Partial<Record<ProfileName, Support>>;
  /** Type only (never set): the `task.sys` method's signature. */
  readonly method?: M;
}

interface EntryOptions {
  control?: boolean;
  support?: Support;
  profiles?: Partial<Record<ProfileName, Support>>;
}

const CONTROL: EntryOptions = { control: true };

function sc<H extends Handler, M = MethodOf<H>>(handler: H, args: readonly ArgKind[], ret: ArgKind = 'int', o: EntryOptions = {}): SyscallEntry<H, M> {
  return { handler, args, ret, control: o.control ?? false, support: o.support ?? Supported, ...(o.profiles ? { profiles: o.profiles } : {}) };
}

/** An entry whose `task.sys` method has a declared signature `M` (overloads by command). */
function scAs<M>() {
  return <H extends Handler>(handler: H, args: readonly ArgKind[], ret: ArgKind = 'int', o: EntryOptions = {}): SyscallEntry<H, M> => sc<H, M>(handler, args, ret, o);
}

type K = KernelCore;
type T = TaskState;

const WITH_ID = ModelOnly('the 2008 RFC\'s with-id calls (never merged into Linux)');

/** The syscall table: every syscall by Linux name, with its handler, argument kinds, result kind and support note. */
export const TABLE = {
  // ---- process creation, exec, exit, wait; identity, signals, namespaces ----
  fork: sc(core.fork, [], 'int', CONTROL),
  vfork: sc(core.vfork, [], 'int', CONTROL),
  clone: sc(core.clone, ['clone'], 'int', CONTROL),
  clone3: sc(core.clone3, ['any'], 'int', { control: true, support: Supported, profiles: { 'linux-2.6.26': Unsupported('clone3 is Linux 5.3+ (set_tid 5.5+)') } }),
  execve: sc(core.execve_, ['str', 'strv', 'strv'], 'int', { control: true, support: PartiallySupported('runs programs installed in the kernel\'s program table, not ELF binaries') }),
  exit: sc(core.exit, ['int'], 'int', CONTROL),
  exit_group: sc(core.exit_group, ['int'], 'int', CONTROL),
  wait4: sc((k: K, t: T, pid: number, options = 0) => wait4(k, t, pid, options), ['int', 'wait'], 'any'),
  waitpid: sc((k: K, t: T, pid: number, options = 0) => wait4(k, t, pid, options), ['int', 'wait'], 'any'),
  getpid: sc(proc.getpid, []),
  gettid: sc(proc.gettid, []),
  getppid: sc(proc.getppid, []),
  getpgid: sc(proc.getpgid, ['int']),
  getpgrp: sc((k: K, t: T) => proc.getpgid(k, t, 0), []),
  setpgid: sc(proc.setpgid, ['int', 'int']),
  getsid: sc(proc.getsid, ['int']),
  setsid: sc(proc.setsid, []),
  kill: sc(proc.kill, ['int', 'sig']),
  tgkill: sc(proc.tgkill, ['int', 'int', 'sig']),
  tkill: sc((k: K, t: T, tid: number, sig: number) => proc.tgkill(k, t, -1, tid, sig), ['int', 'sig']),
  rt_sigaction: sc((k: K, t: T, sig: number, handler?: number) => sigaction(k, t, sig, handler), ['sig', 'int'], 'int', { support: PartiallySupported('the disposition only (SIG_DFL, SIG_IGN or the program\'s handler); no sa_mask or sa_flags') }),
  rt_sigprocmask: sc((_k: K, t: T, how: number, set: bigint | null) => sigprocmask(t, how, set), ['int', 'bigint'], 'bigint'),
  rt_sigsuspend: sc(sigsuspend, ['bigint'], 'int', { support: PartiallySupported('the mask as a 64-bit value (no sigsetsize); sigsuspend(3) is this call. Make it as a yielded call: a direct one puts the mask back at once') }),
  unshare: sc(proc.unshare, ['clone']),
  setns: sc(proc.setns, ['fd', 'clone'], 'int', { support: PartiallySupported('pid and ipc namespaces'), profiles: { 'linux-2.6.26': Unsupported('setns is Linux 3.0+') } }),
  getrlimit: sc(proc.getrlimit, ['int'], 'any', { support: PartiallySupported('RLIMIT_NOFILE and RLIMIT_MEMLOCK') }),
  setrlimit: sc(proc.setrlimit, ['int', 'any'], 'int', { support: PartiallySupported('RLIMIT_NOFILE and RLIMIT_MEMLOCK') }),
  prctl: sc((k: K, t: T, option: number, arg2 = 0) => proc.prctl(k, t, option, arg2), ['int', 'int'], 'int', { support: PartiallySupported('PR_SET_CHILD_SUBREAPER and PR_GET_CHILD_SUBREAPER') }),
  nanosleep: sc(proc.nanosleep, ['int'], 'int', { support: PartiallySupported('the request in nanoseconds, not a timespec; the time left after EINTR is the failed result\'s out (no rem pointer)') }),
  clock_gettime: sc(core.clock_gettime, ['int'], 'any', { support: PartiallySupported('one model clock for every wall and monotonic clock; no CPU-time or alarm clocks (EINVAL)') }),
  clock_nanosleep: sc(core.clock_nanosleep, ['int', 'int', 'any'], 'int', { support: PartiallySupported('the remaining time of an interrupted relative sleep is the failed result\'s out (no rmtp pointer); no CPU-time clock sleeps') }),
  pause: sc(core.pause, []),
  time: sc(core.time, [], 'int', { support: PartiallySupported('tloc is not written: the result is the time') }),
  gettimeofday: sc(core.gettimeofday, [], 'any', { support: PartiallySupported('the timezone is not written: the result is the timeval') }),
  sched_yield: sc(() => 0, []),

  // ---- credentials ----
  getuid: sc((_k: K, t: T) => t.cred.uid, []),
  geteuid: sc((_k: K, t: T) => t.cred.euid, []),
  getgid: sc((_k: K, t: T) => t.cred.gid, []),
  getegid: sc((_k: K, t: T) => t.cred.egid, []),
  getgroups: sc((_k: K, t: T) => [...t.cred.groups], [], 'any'),
  getresuid: sc((_k: K, t: T) => [t.cred.uid, t.cred.euid, t.cred.suid], [], 'any'),
  getresgid: sc((_k: K, t: T) => [t.cred.gid, t.cred.egid, t.cred.sgid], [], 'any'),
  setuid: sc((k: K, t: T, uid: number) => (cred.setuid(k, t, uid), 0), ['int']),
  setgid: sc((k: K, t: T, gid: number) => (cred.setgid(k, t, gid), 0), ['int']),
  setreuid: sc((k: K, t: T, r: number, e: number) => (cred.setreuid(k, t, r, e), 0), ['int', 'int']),
  setregid: sc((k: K, t: T, r: number, e: number) => (cred.setregid(k, t, r, e), 0), ['int', 'int']),
  setresuid: sc((k: K, t: T, r: number, e: number, s: number) => (cred.setresuid(k, t, r, e, s), 0), ['int', 'int', 'int']),
  setresgid: sc((k: K, t: T, r: number, e: number, s: number) => (cred.setresgid(k, t, r, e, s), 0), ['int', 'int', 'int']),
  setgroups: sc((k: K, t: T, groups: number[]) => (cred.setgroups(k, t, groups), 0), ['any']),
  setfsuid: sc(cred.setfsuid, ['int']),
  capget: sc((_k: K, t: T) => ({ effective: t.cred.capEffective, permitted: t.cred.capPermitted }), [], 'any'),
  capset: sc((_k: K, t: T, effective: bigint, permitted: bigint) => (cred.capset(t, effective, permitted), 0), ['bigint', 'bigint']),

  // ---- files ----
  open: sc((k: K, t: T, path: string, flags = 0, mode = 0o666) => fs.openat(k, t, AT_FDCWD, path, flags, mode), ['str', 'oflags', 'oct'], 'fd'),
  openat: sc((k: K, t: T, dirfd: number, path: string, flags = 0, mode = 0o666) => fs.openat(k, t, dirfd, path, flags, mode), ['fd', 'str', 'oflags', 'oct'], 'fd'),
  creat: sc((k: K, t: T, path: string, mode = 0o666) => fs.openat(k, t, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode), ['str', 'oct'], 'fd'),
  close: sc(fs.close, ['fd']),
  read: sc(fs.read, ['fd', 'int'], 'buf'),
  write: sc((k: K, t: T, fd: number, buf: string | Uint8Array) => fs.write(k, t, fd, buf), ['fd', 'buf']),
  lseek: sc(fs.lseek, ['fd', 'int', 'seek']),
  dup: sc(fs.dup, ['fd'], 'fd'),
  dup2: sc(fs.dup2, ['fd', 'fd'], 'fd'),
  dup3: sc(fs.dup3, ['fd', 'fd', 'fdflags'], 'fd'),
  fcntl: sc((k: K, t: T, fd: number, cmd: number, arg = 0) => fs.fcntl(k, t, fd, cmd, arg), ['fd', 'fcntl', 'int']),
  pipe2: sc((k: K, t: T, flags = 0) => fs.pipe2(k, t, flags), ['fdflags'], 'any'),
  pipe: sc((k: K, t: T) => fs.pipe2(k, t, 0), [], 'any'),
  mkdir: sc((k: K, t: T, path: string, mode = 0o777) => fs.mkdirat(k, t, AT_FDCWD, path, mode), ['str', 'oct']),
  mkdirat: sc((k: K, t: T, dirfd: number, path: string, mode = 0o777) => fs.mkdirat(k, t, dirfd, path, mode), ['fd', 'str', 'oct']),
  rmdir: sc((k: K, t: T, path: string) => fs.unlinkat(k, t, AT_FDCWD, path, AT_REMOVEDIR), ['str']),
  unlink: sc((k: K, t: T, path: string) => fs.unlinkat(k, t, AT_FDCWD, path, 0), ['str']),
  unlinkat: sc((k: K, t: T, dirfd: number, path: string, flags = 0) => fs.unlinkat(k, t, dirfd, path, flags), ['fd', 'str', 'int']),
  rename: sc((k: K, t: T, a: string, b: string) => fs.renameat(k, t, AT_FDCWD, a, AT_FDCWD, b), ['str', 'str']),
  renameat: sc((k: K, t: T, olddirfd: number, oldpath: string, newdirfd: number, newpath: string) => fs.renameat(k, t, olddirfd, oldpath, newdirfd, newpath), ['fd', 'str', 'fd', 'str']),
  stat: sc((k: K, t: T, path: string) => fs.stat(k, t, path), ['str'], 'any'),
  lstat: sc((k: K, t: T, path: string) => fs.lstat(k, t, path), ['str'], 'any', { support: PartiallySupported("procfs' magic links are the only symbolic links: lstat shows them, stat follows them") }),
  fstat: sc(fs.fstat, ['fd'], 'any'),
  access: sc((k: K, t: T, path: string, mode: number) => fs.access(k, t, path, mode), ['str', 'int']),
  getdents64: sc((k: K, t: T, fd: number, count = 32768) => fs.getdents(k, t, fd, count), ['fd', 'int'], 'any'),
  getdents: sc((k: K, t: T, fd: number, count = 32768) => fs.getdents(k, t, fd, count), ['fd', 'int'], 'any'),
  chdir: sc((k: K, t: T, path: string) => fs.chdir(k, t, path), ['str']),
  fchdir: sc(fs.fchdir, ['fd']),
  getcwd: sc(fs.getcwd, [], 'str'),
  readlink: sc((k: K, t: T, path: string) => fs.readlink(k, t, path), ['str'], 'str'),
  umask: sc(fs.umask, ['oct'], 'oct'),
  ftruncate: sc(fs.ftruncate, ['fd', 'int']),

  // ---- memory ----
  mmap: sc((k: K, t: T, addr: number, length: number, prot: number, flags: number) => mmapAnon(k, t, addr, length, prot, flags), ['hex', 'int', 'int', 'hex'], 'hex', { support: PartiallySupported('anonymous mappings only') }),
  mprotect: sc(mprotect, ['hex', 'int', 'hex'], 'int', { support: PartiallySupported('no PROT_GROWSDOWN/PROT_GROWSUP mappings; PROT_SEM is accepted and ignored') }),
  munmap: sc((k: K, t: T, addr: number, length: number) => (munmap(k, t, addr, length), 0), ['hex', 'int']),

  // ---- SysV IPC (src/kernel/ipc) ----
  msgget: sc(msgget, ['key', 'ipcflags']),
  // mtype/msgtyp are C longs carried exactly (a number, or a bigint beyond 2^53): not register-checked as ints.
  msgsnd: scAs<MsgsndMethod>()(msgsnd, ['int', 'bigint', 'buf', 'msgflags', 'int']),
  msgrcv: scAs<MsgrcvMethod>()(msgrcv, ['int', 'int', 'bigint', 'msgflags'], 'any'),
  msgctl: scAs<MsgctlMethod>()(msgctl, ['int', 'ipccmd', 'any'], 'any'),
  semget: sc(semget, ['key', 'int', 'ipcflags']),
  semop: scAs<SemopMethod>()(semop, ['int', 'any']),
  semtimedop: scAs<SemtimedopMethod>()(semtimedop, ['int', 'any', 'any']),
  semctl: scAs<SemctlMethod>()(semctl, ['int', 'int', 'ipccmd', 'any'], 'any'),
  shmget: sc(shmget, ['key', 'bigint', 'ipcflags']),
  shmat: sc(shmat, ['int', 'hex', 'shmflags'], 'hex'),
  shmdt: sc(shmdt, ['hex']),
  shmctl: scAs<ShmctlMethod>()(shmctl, ['int', 'ipccmd', 'any'], 'any'),

  // ---- another process's memory (3.2+; one iovec each side) ----
  process_vm_readv: sc(process_vm_readv, ['int', 'hex', 'int'], 'buf', { support: PartiallySupported('one local and one remote iovec, as arguments') }),
  process_vm_writev: sc(process_vm_writev, ['int', 'hex', 'buf'], 'int', { support: PartiallySupported('one local and one remote iovec, as arguments') }),

  // ---- the seed RFC's with-id calls (src/kernel/fork-open-withid.ts, src/kernel/ipc/ipc-withid.ts) ----
  clone_with_id: sc(withid.clone_with_id, ['clone', 'any'], 'int', { control: true, support: WITH_ID }),
  fork_with_id: sc(withid.fork_with_id, ['any'], 'int', { control: true, support: WITH_ID }),
  open_with_id: sc(withid.open_with_id, ['fd', 'str', 'oflags', 'oct'], 'fd', { support: WITH_ID }),
  msgget_with_id: sc(ipcWithId.msgget_with_id, ['int', 'key', 'ipcflags'], 'int', { support: WITH_ID }),
  semget_with_id: sc(ipcWithId.semget_with_id, ['int', 'key', 'bigint', 'ipcflags'], 'int', { support: WITH_ID }),
  shmget_with_id: sc(ipcWithId.shmget_with_id, ['int', 'key', 'bigint', 'ipcflags'], 'int', { support: WITH_ID }),
  ipc_set_all: sc(ipcWithId.ipc_set_all, ['str', 'int', 'any'], 'int', { support: WITH_ID }),

  // ---- checkpoint/restart (src/syscalls/cr.ts; the engine is provided per kernel) ----
  nsd_cr: scAs<NsdCrMethod>()(nsd_cr, ['str', 'any'], 'any', { support: ModelOnly('the model\'s c/r entry point (CRIU\'s ptrace, parasite and /proc collapsed into one call)') }),
} as const;

/** A syscall's name. */
export type SyscallName = keyof typeof TABLE;

/** The `task.sys` methods, one per table entry. */
export type SysMethods = { [N in SyscallName]: Exclude<(typeof TABLE)[N]['method'], undefined> };

/** A syscall a program step yields: `{ call: 'msgsnd', args: [...] }`, checked against the table. */
export type SyscallCall = { [N in SyscallName]: { call: N; args?: Parameters<SysMethods[N]> } }[SyscallName];

/** The support of a syscall in a profile. */
export function supportIn(e: Pick<SyscallEntry, 'support' | 'profiles'>, profile: ProfileName): Support {
  return e.profiles?.[profile] ?? e.support;
}

/** A table entry as the dispatcher uses it (name and derived register checks added). */
export interface SyscallDef {
  name: string;
  handler: Handler;
  args: readonly ArgKind[];
  ret: ArgKind;
  control: boolean;
  support: Support;
  profiles?: Partial<Record<ProfileName, Support>>;
  /** Derived: positions of integer arguments (registers), checked before the handler runs. */
  intArgs: number[];
  /** Derived: positions of string / string-array arguments (user pointers), checked likewise. */
  ptrArgs: number[];
}

/** Kinds passed in a register as an integer (everything but strings, buffers and records). */
const NON_INT: ReadonlySet<ArgKind> = new Set<ArgKind>(['str', 'buf', 'strv', 'any', 'bigint']);

function toDef(name: string, e: SyscallEntry): SyscallDef {
  const intArgs = e.args.flatMap((k, i) => (NON_INT.has(k) ? [] : [i]));
  const ptrArgs = e.args.flatMap((k, i) => (k === 'str' || k === 'strv' ? [i] : []));
  return { name, handler: e.handler, args: e.args, ret: e.ret, control: e.control, support: e.support, ...(e.profiles ? { profiles: e.profiles } : {}), intArgs, ptrArgs };
}

/** Every syscall by name, built from TABLE (plus test-only calls added with `defineSyscall`). */
export const SYSCALLS = new Map<string, SyscallDef>(Object.entries(TABLE).map(([name, e]) => [name, toDef(name, e as SyscallEntry)]));

/**
 * Adds a syscall that is not Linux's to the dispatcher, for tests (e.g. a memory poke); the model's
 * own syscalls are all in TABLE. Refuses a name already taken.
 */
export function defineSyscall(def: { name: string; handler: Handler; args: ArgKind[]; ret: ArgKind; control?: boolean }): void {
  if (def.name in TABLE) throw new Error(`defineSyscall: ${def.name} is in the syscall table`);
  SYSCALLS.set(def.name, toDef(def.name, { ...def, control: def.control ?? false, support: ModelOnly('defined by a test') }));
}

/**
 * A string argument is a pointer to a NUL-terminated string (an array of them for `strv`): any
 * other value cannot be read from user memory, EFAULT (strncpy_from_user, get_user_arg_ptr),
 * before the handler runs. `undefined` selects the default of an optional trailing argument.
 */
export function checkPtrArgs(def: SyscallDef, args: unknown[]): void {
  for (const i of def.ptrArgs) {
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
  for (const i of def.intArgs) {
    const v = args[i];
    if (v !== undefined && !Number.isSafeInteger(v)) throw err('EINVAL', `argument ${i + 1} of ${def.name} is not an integer`);
  }
}

export function getSyscall(name: string): SyscallDef {
  const def = SYSCALLS.get(name);
  if (!def) throw err('ENOSYS', `no syscall '${name}'`);
  return def;
}

/**
 * A yielded call whose name is data (the `syscall` utility, a shell frame, a fuzzer, a syscall a
 * test defined): not checked against the table's types, so the dispatcher checks it when it runs
 * (ENOSYS for an unknown name, EINVAL/EFAULT for a bad register), as it does every call.
 */
export function untypedCall(name: string, args?: unknown[]): SyscallCall {
  return (args === undefined ? { call: name } : { call: name, args }) as SyscallCall;
}
