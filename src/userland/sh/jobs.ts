/** Subshells, background jobs and pipelines: the frames that fork, and the shell's job table. */
import { strerror } from '../../abi/errno.js';
import { O_CLOEXEC, O_RDONLY, SIGINT, SIGQUIT, SIGTERM, SIG_DFL, SIG_IGN, WNOHANG } from '../../abi/constants.js';
import { exitCodeOf } from '../lib/process.js';
import type { Frame } from './state.js';
import { type F, type Outcome, type Shell, SH_HANDLER } from './shell.js';
import { SIG_TEXT, jobStateText } from './text.js';

/** Interactive: collect finished background jobs (WNOHANG) and say so. */
export function reapJobs(sh: Shell, report: boolean): void {
  const s = sh.s;
  if (!s.jobs.some((j) => j.status === null)) return;
  for (;;) {
    const r = sh.p.attempt(() => sh.p.sys.wait4(-1, WNOHANG));
    if (!r.ok || r.value.pid <= 0) break;
    noteReaped(sh, r.value.pid, r.value.status);
  }
  if (!report) return;
  for (const j of s.jobs) {
    if (j.status !== null) {
      sh.p.err(`[${j.id}]+  ${jobStateText(j.status).padEnd(24)}${j.cmd}\n`);
    }
  }
  s.jobs = s.jobs.filter((j) => j.status === null);
  if (s.jobs.length === 0) s.nextJob = 1;
}

export function noteReaped(sh: Shell, pid: number, wstatus: number): void {
  const j = sh.s.jobs.find((x) => x.pid === pid);
  if (j) j.status = exitCodeOf(wstatus);
}

/** Interactive shells say how a foreground job died of a signal. */
export function reportSignal(sh: Shell, wst: number): void {
  const sig = wst & 0x7f;
  if (!sh.s.interactive || sig === 0 || sig === 0x7f) return;
  if (sig === SIGINT) sh.p.err('\n');
  else if (sig !== 13) sh.p.err(`${SIG_TEXT[sig] ?? `Signal ${sig}`}\n`);
}

/** A forked child: traps that run commands are reset, and the shell is no longer interactive. */
export function becomeChild(sh: Shell, bg: boolean): void {
  const s = sh.s;
  const sys = sh.p.sys;
  for (const [sig, action] of Object.entries(s.traps)) {
    if (action === '') continue;
    delete s.traps[sig];
    if (sig !== '0') sh.p.attempt(() => sys.rt_sigaction(Number(sig), SIG_DFL));
  }
  if (s.interactive) {
    for (const sig of [SIGINT, SIGQUIT, SIGTERM]) if (s.traps[String(sig)] === undefined) sh.p.attempt(() => sys.rt_sigaction(sig, SIG_DFL));
  }
  if (bg) {
    sh.p.attempt(() => sys.rt_sigaction(SIGINT, SIG_IGN));
    sh.p.attempt(() => sys.rt_sigaction(SIGQUIT, SIG_IGN));
  }
  s.interactive = false;
  s.jobs = [];
  s.sub = true;
  s.pendingSigs = [];
}

/** Sets the interactive shell's own dispositions (SIGINT caught, SIGTERM/SIGQUIT ignored). */
export function setupInteractive(sh: Shell): void {
  const sys = sh.p.sys;
  sh.p.attempt(() => sys.rt_sigaction(SIGINT, SH_HANDLER));
  sh.p.attempt(() => sys.rt_sigaction(SIGQUIT, SIG_IGN));
  sh.p.attempt(() => sys.rt_sigaction(SIGTERM, SIG_IGN));
}

export function execFork(sh: Shell, f: F<'fork'>): Outcome {
  if (f.phase === 'fork') {
    if (!f.res) return sh.call(f, 'fork');
    const pid = forked(sh, f);
    if (pid < 0) return undefined;
    if (pid === 0) {
      becomeChild(sh, f.bg);
      if (f.bg) {
        const o = sh.p.attempt(() => sh.p.sys.open('/dev/null', O_RDONLY));
        if (o.ok && o.value !== 0) {
          sh.p.attempt(() => sh.p.sys.dup2(o.value, 0));
          sh.p.attempt(() => sh.p.sys.close(o.value));
        }
      }
      sh.s.frames = [{ k: 'exit-after' }];
      sh.pushNode(f.node, true);
      return undefined;
    }
    f.pid = pid;
    if (f.bg) {
      const s = sh.s;
      s.lastBg = f.pid;
      const id = s.nextJob++;
      s.jobs.push({ id, pid: f.pid, cmd: f.text, status: null });
      if (s.interactive) sh.p.err(`[${id}] ${f.pid}\n`);
      sh.finish(0);
      return undefined;
    }
    f.phase = 'wait';
    return sh.call(f, 'wait4', f.pid, 0);
  }
  return waited(sh, f, f.pid);
}

/** The fork a frame yielded: the child gets 0, the parent the pid; -1 after a failure (status 2). */
export function forked(sh: Shell, f: Frame): number {
  const r = sh.take(f);
  if (r.ok) return r.value as number;
  sh.error(`fork: ${strerror(r.code)}`);
  sh.finish(2);
  return -1;
}

/** The wait4 a frame yielded for its foreground child: finish with its status (retry on EINTR). */
export function waited(sh: Shell, f: Frame, pid: number): Outcome {
  const r = sh.take(f);
  if (!r.ok && r.code === 'EINTR') return sh.call(f, 'wait4', pid, 0);
  const wst = r.ok ? (r.value as { status: number }).status : 0;
  reportSignal(sh, wst);
  sh.finish(r.ok ? exitCodeOf(wst) : 127);
  return undefined;
}

export function execPipe(sh: Shell, f: F<'pipe'>): Outcome {
  const sys = sh.p.sys;
  const cmds = f.node.cmds;
  if (f.phase === 'single') {
    if (f.ret === undefined) {
      sh.pushNode(cmds[0]!);
      return undefined;
    }
    sh.finish(f.node.bang ? (f.ret === 0 ? 1 : 0) : f.ret);
    return undefined;
  }
  if (f.phase === 'spawn') {
    if (f.i < cmds.length) {
      f.next = null;
      if (f.i < cmds.length - 1) {
        const pr = sh.p.attempt(() => sys.pipe2(O_CLOEXEC));
        if (!pr.ok) {
          sh.error(`pipe: ${strerror(pr.code)}`);
          f.phase = 'wait';
          f.status = 1;
          return execPipe(sh, f);
        }
        f.next = pr.value;
      }
      f.phase = 'spawned';
      return sh.call(f, 'fork');
    }
    f.phase = 'wait';
    f.i = 0;
    if (f.pids.length === 0) return execPipe(sh, f);
    return sh.call(f, 'wait4', f.pids[0], 0);
  }
  if (f.phase === 'spawned') {
    const r = sh.take(f);
    if (r.ok && r.value === 0) {
      becomeChild(sh, false);
      if (f.rfd >= 0) {
        sh.p.attempt(() => sys.dup2(f.rfd, 0));
        sh.p.attempt(() => sys.close(f.rfd));
      }
      if (f.next) {
        sh.p.attempt(() => sys.dup2(f.next![1], 1));
        sh.p.attempt(() => sys.close(f.next![1]));
        sh.p.attempt(() => sys.close(f.next![0]));
      }
      sh.s.frames = [{ k: 'exit-after' }];
      sh.pushNode(cmds[f.i]!, true);
      return undefined;
    }
    if (r.ok) f.pids.push(r.value as number);
    else sh.error(`fork: ${strerror(r.code)}`);
    if (f.rfd >= 0) sh.p.attempt(() => sys.close(f.rfd));
    f.rfd = -1;
    if (f.next) {
      sh.p.attempt(() => sys.close(f.next![1]));
      f.rfd = f.next[0];
    }
    f.next = null;
    f.i++;
    f.phase = 'spawn';
    return undefined;
  }
  // wait for every part in order; the status is the last one's.
  if (f.res) {
    const r = sh.take(f);
    if (!r.ok && r.code === 'EINTR') return sh.call(f, 'wait4', f.pids[f.i], 0);
    const wst = r.ok ? (r.value as { status: number }).status : 0;
    if (f.i === f.pids.length - 1) reportSignal(sh, wst);
    f.status = r.ok ? exitCodeOf(wst) : 127;
    f.i++;
  }
  if (f.i < f.pids.length) return sh.call(f, 'wait4', f.pids[f.i], 0);
  sh.finish(f.node.bang ? (f.status === 0 ? 1 : 0) : f.status);
  return undefined;
}
