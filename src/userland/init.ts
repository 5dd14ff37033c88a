/**
 * /sbin/init: the session's pid 1. `init PROGRAM [ARGS…]` forks; the child starts a new session
 * (setsid) and execs PROGRAM (argv[0] its basename, as login does); init then reaps every child (its own and the orphans it inherits) and
 * records the wait status of PROGRAM. With nothing left to reap it sleeps on a pipe of its own
 * that nobody writes to (pid 1 never exits: that would panic the kernel), until a SIGCHLD wakes it.
 */
import { strerror } from '../abi/errno.js';
import { O_CLOEXEC, SIGCHLD } from '../abi/constants.js';
import type { Kernel } from '../syscalls/scheduler.js';
import { appState, defineUserlandProgram } from './lib/program.js';

/** Where `installUserland` puts init (`/sbin/init`). */
export const INIT_PATH = '/sbin/init';

interface InitState {
  phase: 'fork' | 'forked' | 'exec' | 'wait' | 'idle';
  /** Pid of the session program. */
  main: number;
  /** Its wait status once reaped. */
  mainStatus: number | null;
  /** The pipe init sleeps on when it has no child (made once, kept: both ends stay open). */
  idle: [number, number] | null;
}

defineUserlandProgram<InitState>({
  name: INIT_PATH,
  start: () => ({ phase: 'fork', main: 0, mainStatus: null, idle: null }),
  step(p) {
    const s = p.state;
    switch (s.phase) {
      case 'fork':
        // A handler for SIGCHLD interrupts the idle sleep when an orphan arrives to be reaped.
        p.attempt(() => p.sys.rt_sigaction(SIGCHLD, 2));
        if (p.argv.length < 2) {
          s.phase = 'wait';
          return p.call('wait4', -1, 0);
        }
        s.phase = 'forked';
        return p.call('fork');
      case 'forked': {
        if (!p.ok) {
          p.err(`init: fork: ${strerror(p.errno!)}\n`);
          s.mainStatus = 1 << 8;
          s.phase = 'wait';
          return p.call('wait4', -1, 0);
        }
        const pid = p.value<number>();
        if (pid === 0) {
          p.attempt(() => p.sys.setsid());
          s.phase = 'exec';
          const path = p.argv[1]!;
          return p.call('execve', path, [path.slice(path.lastIndexOf('/') + 1), ...p.argv.slice(2)], [...p.envp]);
        }
        s.main = pid;
        s.phase = 'wait';
        return p.call('wait4', -1, 0);
      }
      case 'exec':
        p.err(`init: ${p.argv[1]}: ${strerror(p.errno ?? 'ENOEXEC')}\n`);
        return p.exit(p.errno === 'ENOENT' ? 127 : 126);
      case 'wait': {
        if (p.ok) {
          const { pid, status } = p.value<{ pid: number; status: number }>();
          if (pid === s.main) s.mainStatus = status;
          return p.call('wait4', -1, 0);
        }
        if (p.errno === 'ECHILD') {
          if (!s.idle) {
            const r = p.attempt(() => p.sys.pipe2(O_CLOEXEC));
            if (r.ok) s.idle = r.value;
          }
          if (s.idle) {
            s.phase = 'idle';
            return p.call('read', s.idle[0], 1);
          }
        }
        return p.call('wait4', -1, 0);
      }
      case 'idle':
        s.phase = 'wait';
        return p.call('wait4', -1, 0);
    }
  },
});

/** The session program's wait status, once init has reaped it (null while it runs). */
export function sessionStatus(k: Kernel): number | null {
  const init = k.init.state;
  return appState<InitState>(init.prog?.data)?.mainStatus ?? null;
}

/** Pid (initial namespace) of the session program, 0 before it is forked. */
export function sessionLeader(k: Kernel): number {
  return appState<InitState>(k.init.state.prog?.data)?.main ?? 0;
}
