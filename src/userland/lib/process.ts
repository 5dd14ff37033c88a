/**
 * Process helpers for programs that run other programs (env, unshare, nsenter): PATH search,
 * wait-status decoding, and `runCommand`, the exec / fork+exec+wait state machine.
 */
import { strerror } from '../../abi/errno.js';
import { S_IFMT, S_IFREG } from '../../abi/constants.js';
import type { StepOutcome } from '../../syscalls/program.js';
import type { Sys } from '../../syscalls/sys.js';
import { envValue, type Proc } from './program.js';

/** Shell-style exit status of a wait status: the exit code, or 128 + the signal. */
export function exitCodeOf(wstatus: number): number {
  const sig = wstatus & 0x7f;
  if (sig === 0) return (wstatus >> 8) & 0xff;
  if (sig === 0x7f) return 128 + ((wstatus >> 8) & 0xff);
  return 128 + sig;
}

/** execvp()'s PATH search, with stat() (no open: a preset fd stays armed). Null if not found. */
export function findExecutable(sys: Sys, name: string, path = '/bin:/sbin:/usr/bin'): string | null {
  if (name.includes('/')) return name;
  for (const dir of path.split(':')) {
    const full = `${dir || '.'}/${name}`;
    try {
      if ((sys.stat(full).st_mode & S_IFMT) === S_IFREG) return full;
    } catch {
      // next directory
    }
  }
  return null;
}

export interface RunCommandState {
  phase: 'start' | 'forked' | 'exec' | 'wait';
  /** Fork first and wait (the caller's exit status becomes the child's), or exec in place. */
  fork: boolean;
  argv: string[];
  envp: string[];
  pid: number;
}

export function newRunCommand(argv: string[], envp: string[], fork: boolean): RunCommandState {
  return { phase: 'start', fork, argv, envp, pid: 0 };
}

/** Drives `rc` one step. `prog` names the caller in error messages. */
export function runCommand<S>(p: Proc<S>, prog: string, rc: RunCommandState): StepOutcome {
  const exec = (): StepOutcome => {
    const name = rc.argv[0]!;
    const path = findExecutable(p.sys, name, envValue(rc.envp, 'PATH') ?? p.getenv('PATH'));
    if (!path) {
      p.err(`${prog}: failed to execute ${name}: No such file or directory\n`);
      return p.exit(127);
    }
    rc.phase = 'exec';
    return p.call('execve', path, rc.argv, rc.envp);
  };
  switch (rc.phase) {
    case 'start':
      if (!rc.fork) return exec();
      rc.phase = 'forked';
      return p.call('fork');
    case 'forked': {
      if (!p.ok) {
        p.err(`${prog}: fork failed: ${strerror(p.errno!)}\n`);
        return p.exit(1);
      }
      const pid = p.value<number>();
      if (pid === 0) return exec();
      rc.pid = pid;
      rc.phase = 'wait';
      return p.call('wait4', pid, 0);
    }
    case 'exec': {
      const code = p.errno ?? 'ENOEXEC';
      p.err(`${prog}: failed to execute ${rc.argv[0]}: ${strerror(code)}\n`);
      return p.exit(code === 'ENOENT' ? 127 : 126);
    }
    case 'wait':
      if (!p.ok) {
        if (p.errno === 'EINTR') return p.call('wait4', rc.pid, 0);
        return p.exit(1);
      }
      return p.exit(exitCodeOf(p.value<{ status: number }>().status));
  }
}
