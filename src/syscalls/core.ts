/**
 * Thin handlers for the core syscalls (processes, files, memory, signals, credentials), registered
 * in the syscall table. Each decodes its arguments and delegates to the mechanism in src/kernel.
 */
import { err } from '../abi/errno.js';
import { CLONE_VFORK, CLONE_VM, CSIGNAL, SIGCHLD, AT_FDCWD, AT_REMOVEDIR, O_CREAT, O_TRUNC, O_WRONLY } from '../abi/constants.js';
import type { KernelCore } from '../kernel/kernel.js';
import type { TaskState } from '../kernel/state.js';
import { copyProcess, checkClone3Args } from '../kernel/task/fork.js';
import { exitGroup, exitStatus, exitThread } from '../kernel/task/exit.js';
import { execve } from '../kernel/task/exec.js';
import { wait4 } from '../kernel/task/wait.js';
import * as cred from '../kernel/task/cred.js';
import * as fs from '../kernel/fs/ops.js';
import * as proc from '../kernel/task/syscalls.js';
import { sigaction, sigprocmask } from '../kernel/task/signal.js';
import { mmapAnon, munmap } from '../kernel/mm/mm.js';
import { block } from '../kernel/sched/block.js';
import { defineSyscall, type ArgKind, type Handler } from './table.js';

function def(name: string, handler: Handler, args: ArgKind[], ret: ArgKind = 'int', control = false): void {
  defineSyscall({ name, handler, args, ret, control });
}

type K = KernelCore;
type T = TaskState;

// ---- process creation, exec, exit, wait ----

function forkCommon(k: K, t: T, flags: number, exitSignal: number, setTid: number[] | null): number {
  const kid = copyProcess(k, t, { flags, exitSignal, setTid });
  return proc.vnr(k, t, kid);
}

def('fork', (k: K, t: T) => forkCommon(k, t, SIGCHLD, SIGCHLD, null), [], 'int', true);

/** vfork: the parent sleeps until the child execs or exits (a direct call returns at once). */
def('vfork', (k: K, t: T) => {
  const resumed = k.resuming?.data as { pid: number; kid: number } | null | undefined;
  if (resumed) {
    if (k.s.tasks.get(resumed.kid)?.vforkParent === t.kid) block(`vfork:${resumed.kid}`, null, resumed);
    return resumed.pid;
  }
  const kid = copyProcess(k, t, { flags: CLONE_VM | CLONE_VFORK | SIGCHLD, exitSignal: SIGCHLD, setTid: null });
  const pid = proc.vnr(k, t, kid);
  block(`vfork:${kid}`, null, { pid, kid }, pid);
}, [], 'int', true);

def('clone', (k: K, t: T, flags: number) => {
  if (!Number.isInteger(flags)) throw err('EINVAL');
  return forkCommon(k, t, flags & ~CSIGNAL, flags & CSIGNAL, null);
}, ['clone'], 'int', true);

export interface Clone3Args {
  flags?: number;
  exit_signal?: number;
  set_tid?: number[];
}

def('clone3', (k: K, t: T, args: Clone3Args) => {
  if (!k.profile.clone3) throw err('ENOSYS');
  if (!args || typeof args !== 'object') throw err('EFAULT');
  const flags = args.flags ?? 0;
  const exitSignal = args.exit_signal ?? 0;
  const setTid = args.set_tid ?? null;
  if (!Number.isInteger(flags)) throw err('EINVAL');
  checkClone3Args(flags, exitSignal, setTid);
  return forkCommon(k, t, flags, exitSignal, setTid);
}, ['any'], 'int', true);

def('execve', (k: K, t: T, path: string, argv: string[], envp: string[] = []) => {
  execve(k, t, path, argv, envp);
  return 0;
}, ['str', 'strv', 'strv'], 'int', true);

def('exit', (k: K, t: T, code: number) => {
  exitThread(k, t, exitStatus(code | 0));
  return 0;
}, ['int'], 'int', true);

def('exit_group', (k: K, t: T, code: number) => {
  exitGroup(k, t.tgid, exitStatus(code | 0));
  return 0;
}, ['int'], 'int', true);

def('wait4', (k: K, t: T, pid: number, options = 0) => wait4(k, t, pid, options), ['int', 'wait'], 'any');
def('waitpid', (k: K, t: T, pid: number, options = 0) => wait4(k, t, pid, options), ['int', 'wait'], 'any');

// ---- identity, groups, signals, namespaces ----

def('getpid', proc.getpid, []);
def('gettid', proc.gettid, []);
def('getppid', proc.getppid, []);
def('getpgid', proc.getpgid, ['int']);
def('getpgrp', (k: K, t: T) => proc.getpgid(k, t, 0), []);
def('setpgid', proc.setpgid, ['int', 'int']);
def('getsid', proc.getsid, ['int']);
def('setsid', proc.setsid, []);
def('kill', proc.kill, ['int', 'sig']);
def('tgkill', proc.tgkill, ['int', 'int', 'sig']);
def('tkill', (k: K, t: T, tid: number, sig: number) => proc.tgkill(k, t, -1, tid, sig), ['int', 'sig']);
def('rt_sigaction', (k: K, t: T, sig: number, handler?: number) => sigaction(k, t, sig, handler), ['sig', 'int']);
def('rt_sigprocmask', (_k: K, t: T, how: number, set: bigint | null) => sigprocmask(t, how, set), ['int', 'bigint'], 'bigint');
def('unshare', proc.unshare, ['clone']);
def('setns', proc.setns, ['fd', 'clone']);
def('getrlimit', proc.getrlimit, ['int'], 'any');
def('setrlimit', proc.setrlimit, ['int', 'any']);
def('prctl', proc.prctl, ['int', 'int']);
def('nanosleep', proc.nanosleep, ['int']);
// clock_gettime(2) of CLOCK_REALTIME (0): the virtual clock (for `date`). Other clocks are not modelled.
def('clock_gettime', (k: K, _t: T, clk: number) => {
  if (clk !== 0) throw err('EINVAL', `clock ${clk}: only CLOCK_REALTIME is modelled`);
  const ns = k.s.clockNs;
  return { tv_sec: Math.floor(ns / 1e9), tv_nsec: ns % 1e9 };
}, ['int'], 'any');
def('sched_yield', () => 0, []);

// ---- credentials ----

def('getuid', (_k: K, t: T) => t.cred.uid, []);
def('geteuid', (_k: K, t: T) => t.cred.euid, []);
def('getgid', (_k: K, t: T) => t.cred.gid, []);
def('getegid', (_k: K, t: T) => t.cred.egid, []);
def('getgroups', (_k: K, t: T) => [...t.cred.groups], [], 'any');
def('getresuid', (_k: K, t: T) => [t.cred.uid, t.cred.euid, t.cred.suid], [], 'any');
def('getresgid', (_k: K, t: T) => [t.cred.gid, t.cred.egid, t.cred.sgid], [], 'any');
def('setuid', (k: K, t: T, uid: number) => (cred.setuid(k, t, uid), 0), ['int']);
def('setgid', (k: K, t: T, gid: number) => (cred.setgid(k, t, gid), 0), ['int']);
def('setreuid', (k: K, t: T, r: number, e: number) => (cred.setreuid(k, t, r, e), 0), ['int', 'int']);
def('setregid', (k: K, t: T, r: number, e: number) => (cred.setregid(k, t, r, e), 0), ['int', 'int']);
def('setresuid', (k: K, t: T, r: number, e: number, s: number) => (cred.setresuid(k, t, r, e, s), 0), ['int', 'int', 'int']);
def('setresgid', (k: K, t: T, r: number, e: number, s: number) => (cred.setresgid(k, t, r, e, s), 0), ['int', 'int', 'int']);
def('setgroups', (k: K, t: T, groups: number[]) => (cred.setgroups(k, t, groups), 0), ['any']);
def('setfsuid', cred.setfsuid, ['int']);
def('capget', (_k: K, t: T) => ({ effective: t.cred.capEffective, permitted: t.cred.capPermitted }), [], 'any');
def('capset', (_k: K, t: T, effective: bigint, permitted: bigint) => (cred.capset(t, effective, permitted), 0), ['bigint', 'bigint']);

// ---- files ----

def('open', (k: K, t: T, path: string, flags = 0, mode = 0o666) => fs.openat(k, t, AT_FDCWD, path, flags, mode), ['str', 'oflags', 'oct'], 'fd');
def('openat', fs.openat, ['fd', 'str', 'oflags', 'oct'], 'fd');
def('creat', (k: K, t: T, path: string, mode = 0o666) => fs.openat(k, t, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode), ['str', 'oct'], 'fd');
def('close', fs.close, ['fd']);
def('read', fs.read, ['fd', 'int'], 'buf');
def('write', fs.write, ['fd', 'buf']);
def('lseek', fs.lseek, ['fd', 'int', 'seek']);
def('dup', fs.dup, ['fd'], 'fd');
def('dup2', fs.dup2, ['fd', 'fd'], 'fd');
def('dup3', fs.dup3, ['fd', 'fd', 'fdflags'], 'fd');
def('fcntl', fs.fcntl, ['fd', 'fcntl', 'int']);
def('pipe2', fs.pipe2, ['fdflags'], 'any');
def('pipe', (k: K, t: T) => fs.pipe2(k, t, 0), [], 'any');
def('mkdir', (k: K, t: T, path: string, mode = 0o777) => fs.mkdirat(k, t, AT_FDCWD, path, mode), ['str', 'oct']);
def('mkdirat', fs.mkdirat, ['fd', 'str', 'oct']);
def('rmdir', (k: K, t: T, path: string) => fs.unlinkat(k, t, AT_FDCWD, path, AT_REMOVEDIR), ['str']);
def('unlink', (k: K, t: T, path: string) => fs.unlinkat(k, t, AT_FDCWD, path, 0), ['str']);
def('unlinkat', fs.unlinkat, ['fd', 'str', 'int']);
def('rename', (k: K, t: T, a: string, b: string) => fs.renameat(k, t, AT_FDCWD, a, AT_FDCWD, b), ['str', 'str']);
def('renameat', fs.renameat, ['fd', 'str', 'fd', 'str']);
def('stat', fs.stat, ['str'], 'any');
def('lstat', fs.lstat, ['str'], 'any');
def('fstat', fs.fstat, ['fd'], 'any');
def('access', fs.access, ['str', 'int']);
def('getdents64', (k: K, t: T, fd: number, count = 32768) => fs.getdents(k, t, fd, count), ['fd', 'int'], 'any');
def('getdents', (k: K, t: T, fd: number, count = 32768) => fs.getdents(k, t, fd, count), ['fd', 'int'], 'any');
def('chdir', fs.chdir, ['str']);
def('fchdir', fs.fchdir, ['fd']);
def('getcwd', fs.getcwd, [], 'str');
def('readlink', fs.readlink, ['str'], 'str');
def('umask', fs.umask, ['oct'], 'oct');
def('ftruncate', fs.ftruncate, ['fd', 'int']);

// ---- memory ----

def('mmap', (k: K, t: T, addr: number, length: number, prot: number, flags: number) => mmapAnon(k, t, addr, length, prot, flags), ['hex', 'int', 'int', 'hex'], 'hex');
def('munmap', (k: K, t: T, addr: number, length: number) => (munmap(k, t, addr, length), 0), ['hex', 'int']);
