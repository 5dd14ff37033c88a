/**
 * `task.sys`: one method per syscall, Linux's name and argument order, returning what Linux returns
 * (records as plain objects) and throwing `ErrnoError` on failure. Out-parameters become return
 * values: `read(fd, count)` returns the bytes, `pipe2(flags)` returns `[rfd, wfd]`,
 * `wait4(pid, options)` returns `{ pid, status }`.
 *
 * A call that would sleep in Linux throws `WouldBlockError` (not an ErrnoError) and changes
 * nothing; under the scheduler, a program yields such calls and really sleeps.
 * SysV IPC methods are added by src/syscalls/ipc.ts.
 */
import type { Stat, Dirent } from '../kernel/fs/ops.js';
import type { WaitResult } from '../kernel/task/wait.js';
import type { Rlimit } from '../kernel/task/syscalls.js';
import type { Clone3Args } from './core.js';

/** What a Sys needs from its kernel: dispatch by name on behalf of a task. */
export interface SyscallInvoker {
  directCall(kid: number, name: string, args: unknown[], inStep: boolean): unknown;
}

/** The syscalls of one task, as methods (`task.sys.open(...)`); Linux errors throw ErrnoError, a call that would sleep WouldBlockError. */
export class Sys {
  /** Set while a program step runs: task-creating and program-ending calls must be yielded. */
  private readonly inStep: boolean;

  constructor(
    private readonly kernel: SyscallInvoker,
    /** kid of the calling task. */
    readonly kid: number,
    inStep = false,
  ) {
    this.inStep = inStep;
  }

  /** Makes syscall `name` with `args` (the generic entry point, used by the `syscall` utility). */
  call(name: string, ...args: unknown[]): unknown {
    return this.kernel.directCall(this.kid, name, args, this.inStep);
  }

  // ---- processes ----
  fork(): number { return this.call('fork') as number; }
  vfork(): number { return this.call('vfork') as number; }
  clone(flags: number): number { return this.call('clone', flags) as number; }
  clone3(args: Clone3Args): number { return this.call('clone3', args) as number; }
  execve(path: string, argv: string[], envp: string[] = []): number { return this.call('execve', path, argv, envp) as number; }
  exit(code: number): void { this.call('exit', code); }
  exit_group(code: number): void { this.call('exit_group', code); }
  wait4(pid: number, options = 0): WaitResult { return this.call('wait4', pid, options) as WaitResult; }
  waitpid(pid: number, options = 0): WaitResult { return this.call('waitpid', pid, options) as WaitResult; }
  getpid(): number { return this.call('getpid') as number; }
  gettid(): number { return this.call('gettid') as number; }
  getppid(): number { return this.call('getppid') as number; }
  getpgid(pid: number): number { return this.call('getpgid', pid) as number; }
  getpgrp(): number { return this.call('getpgrp') as number; }
  setpgid(pid: number, pgid: number): number { return this.call('setpgid', pid, pgid) as number; }
  getsid(pid: number): number { return this.call('getsid', pid) as number; }
  setsid(): number { return this.call('setsid') as number; }
  kill(pid: number, sig: number): number { return this.call('kill', pid, sig) as number; }
  tgkill(tgid: number, tid: number, sig: number): number { return this.call('tgkill', tgid, tid, sig) as number; }
  tkill(tid: number, sig: number): number { return this.call('tkill', tid, sig) as number; }
  /** rt_sigaction reduced to the disposition: SIG_DFL 0, SIG_IGN 1, a program handler 2. Returns the old one. */
  rt_sigaction(sig: number, handler?: number): number { return this.call('rt_sigaction', sig, handler) as number; }
  rt_sigprocmask(how: number, set: bigint | null): bigint { return this.call('rt_sigprocmask', how, set) as bigint; }
  /** clock_gettime(CLOCK_REALTIME): the virtual clock. */
  clock_gettime(clk: number): { tv_sec: number; tv_nsec: number } { return this.call('clock_gettime', clk) as { tv_sec: number; tv_nsec: number }; }
  unshare(flags: number): number { return this.call('unshare', flags) as number; }
  setns(fd: number, nstype: number): number { return this.call('setns', fd, nstype) as number; }
  getrlimit(resource: number): Rlimit { return this.call('getrlimit', resource) as Rlimit; }
  setrlimit(resource: number, rlim: Rlimit): number { return this.call('setrlimit', resource, rlim) as number; }
  prctl(option: number, arg2 = 0): number { return this.call('prctl', option, arg2) as number; }
  /** nanosleep in virtual nanoseconds. */
  nanosleep(ns: number): number { return this.call('nanosleep', ns) as number; }
  sched_yield(): number { return this.call('sched_yield') as number; }

  // ---- credentials ----
  getuid(): number { return this.call('getuid') as number; }
  geteuid(): number { return this.call('geteuid') as number; }
  getgid(): number { return this.call('getgid') as number; }
  getegid(): number { return this.call('getegid') as number; }
  getgroups(): number[] { return this.call('getgroups') as number[]; }
  getresuid(): [number, number, number] { return this.call('getresuid') as [number, number, number]; }
  getresgid(): [number, number, number] { return this.call('getresgid') as [number, number, number]; }
  setuid(uid: number): number { return this.call('setuid', uid) as number; }
  setgid(gid: number): number { return this.call('setgid', gid) as number; }
  setreuid(ruid: number, euid: number): number { return this.call('setreuid', ruid, euid) as number; }
  setregid(rgid: number, egid: number): number { return this.call('setregid', rgid, egid) as number; }
  setresuid(ruid: number, euid: number, suid: number): number { return this.call('setresuid', ruid, euid, suid) as number; }
  setresgid(rgid: number, egid: number, sgid: number): number { return this.call('setresgid', rgid, egid, sgid) as number; }
  /** glibc's seteuid(): setresuid(-1, euid, -1). */
  seteuid(euid: number): number { return this.setresuid(-1, euid, -1); }
  /** glibc's setegid(): setresgid(-1, egid, -1). */
  setegid(egid: number): number { return this.setresgid(-1, egid, -1); }
  setgroups(groups: number[]): number { return this.call('setgroups', groups) as number; }
  setfsuid(uid: number): number { return this.call('setfsuid', uid) as number; }
  capget(): { effective: bigint; permitted: bigint } { return this.call('capget') as { effective: bigint; permitted: bigint }; }
  capset(effective: bigint, permitted: bigint): number { return this.call('capset', effective, permitted) as number; }

  // ---- files ----
  open(path: string, flags = 0, mode = 0o666): number { return this.call('open', path, flags, mode) as number; }
  openat(dirfd: number, path: string, flags = 0, mode = 0o666): number { return this.call('openat', dirfd, path, flags, mode) as number; }
  creat(path: string, mode = 0o666): number { return this.call('creat', path, mode) as number; }
  close(fd: number): number { return this.call('close', fd) as number; }
  read(fd: number, count: number): Uint8Array { return this.call('read', fd, count) as Uint8Array; }
  write(fd: number, buf: string | Uint8Array): number { return this.call('write', fd, buf) as number; }
  lseek(fd: number, offset: number, whence: number): number { return this.call('lseek', fd, offset, whence) as number; }
  dup(oldfd: number): number { return this.call('dup', oldfd) as number; }
  dup2(oldfd: number, newfd: number): number { return this.call('dup2', oldfd, newfd) as number; }
  dup3(oldfd: number, newfd: number, flags: number): number { return this.call('dup3', oldfd, newfd, flags) as number; }
  fcntl(fd: number, cmd: number, arg = 0): number { return this.call('fcntl', fd, cmd, arg) as number; }
  pipe2(flags = 0): [number, number] { return this.call('pipe2', flags) as [number, number]; }
  pipe(): [number, number] { return this.call('pipe') as [number, number]; }
  mkdir(path: string, mode = 0o777): number { return this.call('mkdir', path, mode) as number; }
  mkdirat(dirfd: number, path: string, mode = 0o777): number { return this.call('mkdirat', dirfd, path, mode) as number; }
  rmdir(path: string): number { return this.call('rmdir', path) as number; }
  unlink(path: string): number { return this.call('unlink', path) as number; }
  unlinkat(dirfd: number, path: string, flags = 0): number { return this.call('unlinkat', dirfd, path, flags) as number; }
  rename(oldpath: string, newpath: string): number { return this.call('rename', oldpath, newpath) as number; }
  renameat(olddirfd: number, oldpath: string, newdirfd: number, newpath: string): number {
    return this.call('renameat', olddirfd, oldpath, newdirfd, newpath) as number;
  }
  stat(path: string): Stat { return this.call('stat', path) as Stat; }
  lstat(path: string): Stat { return this.call('lstat', path) as Stat; }
  fstat(fd: number): Stat { return this.call('fstat', fd) as Stat; }
  access(path: string, mode: number): number { return this.call('access', path, mode) as number; }
  /** getdents64: the next directory entries that fit in `count` bytes ([] at the end). */
  getdents64(fd: number, count = 32768): Dirent[] { return this.call('getdents64', fd, count) as Dirent[]; }
  getdents(fd: number, count = 32768): Dirent[] { return this.call('getdents', fd, count) as Dirent[]; }
  chdir(path: string): number { return this.call('chdir', path) as number; }
  fchdir(fd: number): number { return this.call('fchdir', fd) as number; }
  getcwd(): string { return this.call('getcwd') as string; }
  readlink(path: string): string { return this.call('readlink', path) as string; }
  umask(mask: number): number { return this.call('umask', mask) as number; }
  ftruncate(fd: number, length: number): number { return this.call('ftruncate', fd, length) as number; }

  // ---- memory ----
  mmap(addr: number, length: number, prot: number, flags: number): number { return this.call('mmap', addr, length, prot, flags) as number; }
  munmap(addr: number, length: number): number { return this.call('munmap', addr, length) as number; }
}
