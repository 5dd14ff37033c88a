/**
 * Process utilities: ps (procps-like: PID PPID STAT COMMAND; -T threads; -o fields, including
 * `nsd`, the thread's next_syscall_data), kill, sleep, env, unshare (--pid --ipc --fork
 * --mount-proc) and nsenter (-t PID --pid --ipc). Everything ps shows comes from /proc, read as
 * the reader's pid namespace sees it.
 */
import { ErrnoError, strerror } from '../../abi/errno.js';
import { CLONE_NEWIPC, CLONE_NEWPID, O_CLOEXEC, O_RDONLY } from '../../abi/constants.js';
import type { Sys } from '../../syscalls/sys.js';
import { defineApplet, type AppletIo } from '../lib/applet.js';
import { getopt, UsageError } from '../lib/args.js';
import { defineUserlandProgram, envValue } from '../lib/program.js';
import { newRunCommand, runCommand, type RunCommandState } from '../lib/process.js';
import { sleepChunk, sleepOperands } from './duration.js';
import { kill } from './text.js';
import { readDir, readText } from '../lib/files.js';

defineApplet('/bin/kill', kill);

// ---- ps ----

interface PsRow {
  pid: number;
  tid: number;
  ppid: number;
  pgid: number;
  sid: number;
  state: string;
  comm: string;
  args: string;
  uid: number;
  nlwp: number;
  nsd: string;
}

/** One row; the thread's next_syscall_data is read only when `nsd` is shown (one open less per row). */
function psRow(sys: Sys, pid: number, tid: number, withNsd: boolean): PsRow | null {
  const base = tid === pid ? `/proc/${pid}` : `/proc/${pid}/task/${tid}`;
  const stat = readText(sys, `${base}/stat`);
  if (stat === null) return null;
  const close = stat.lastIndexOf(')');
  const comm = stat.slice(stat.indexOf('(') + 1, close);
  const f = stat.slice(close + 2).trim().split(' ');
  const status = readText(sys, `${base}/status`) ?? '';
  const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  const nlwp = Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 1);
  const cmdline = readText(sys, `${base}/cmdline`) ?? '';
  const args = cmdline.split('\0').filter((x, i, a) => x !== '' || i < a.length - 1).join(' ').trim();
  const nsd = withNsd ? (readText(sys, `/proc/${pid}/task/${tid}/next_syscall_data`) ?? '-').trim() : '';
  return {
    pid, tid, ppid: Number(f[1]), pgid: Number(f[2]), sid: Number(f[3]), state: f[0] ?? '?', comm,
    args: args || `[${comm}]`, uid, nlwp, nsd,
  };
}

const PS_FIELDS: Record<string, { head: string; right: boolean; get: (r: PsRow) => string }> = {
  pid: { head: 'PID', right: true, get: (r) => String(r.pid) },
  tid: { head: 'SPID', right: true, get: (r) => String(r.tid) },
  ppid: { head: 'PPID', right: true, get: (r) => String(r.ppid) },
  pgid: { head: 'PGID', right: true, get: (r) => String(r.pgid) },
  sid: { head: 'SID', right: true, get: (r) => String(r.sid) },
  uid: { head: 'UID', right: true, get: (r) => String(r.uid) },
  user: { head: 'USER', right: false, get: (r) => (r.uid === 0 ? 'root' : String(r.uid)) },
  nlwp: { head: 'NLWP', right: true, get: (r) => String(r.nlwp) },
  stat: {
    head: 'STAT', right: false,
    get: (r) => r.state + (r.sid === r.pid ? 's' : '') + (r.nlwp > 1 ? 'l' : ''),
  },
  s: { head: 'S', right: false, get: (r) => r.state },
  comm: { head: 'COMMAND', right: false, get: (r) => r.comm },
  args: { head: 'COMMAND', right: false, get: (r) => r.args },
  nsd: { head: 'NSD', right: false, get: (r) => r.nsd },
};
const PS_ALIASES: Record<string, string> = { spid: 'tid', lwp: 'tid', cmd: 'args', command: 'args', ucmd: 'comm', state: 's', thcount: 'nlwp' };
const PS_WIDTH: Record<string, number> = { pid: 7, tid: 7, ppid: 7, pgid: 7, sid: 7, uid: 5, nlwp: 4, stat: 4, s: 1, user: 8 };

function ps(argv: string[], io: AppletIo): number {
  // BSD-style `ps ax`/`ps aux` words are accepted and mean "everything" (which is the default here).
  const args = argv.slice(1).filter((a) => !/^[axuew]+$/.test(a));
  const { opts } = getopt(args, { short: 'TLeAfo:p:', permute: true });
  const threads = opts.has('T') || opts.has('L');
  let fields = (opts.get('o') ?? []).flatMap((o) => o.split(/[,\s]+/)).filter(Boolean).map((f) => f.split('=')[0]!.toLowerCase());
  if (fields.length === 0) fields = threads ? ['pid', 'tid', 'ppid', 'stat', 'args'] : ['pid', 'ppid', 'stat', 'args'];
  fields = fields.map((f) => PS_ALIASES[f] ?? f);
  for (const f of fields) if (!PS_FIELDS[f]) throw new UsageError(`unknown user-defined format specifier "${f}"`);
  const only = (opts.get('p') ?? []).flatMap((p) => p.split(',')).map(Number);
  const sys = io.sys;
  const rows: PsRow[] = [];
  const pids = readDir(sys, '/proc').filter((n) => /^[0-9]+$/.test(n)).map(Number).sort((a, b) => a - b);
  for (const pid of pids) {
    if (only.length && !only.includes(pid)) continue;
    const tids = threads ? (() => {
      try {
        return readDir(sys, `/proc/${pid}/task`).filter((n) => /^[0-9]+$/.test(n)).map(Number).sort((a, b) => a - b);
      } catch {
        return [pid];
      }
    })() : [pid];
    for (const tid of tids) {
      const r = psRow(sys, pid, tid, fields.includes('nsd'));
      if (r) rows.push(r);
    }
  }
  const cells = [fields.map((f) => PS_FIELDS[f]!.head), ...rows.map((r) => fields.map((f) => PS_FIELDS[f]!.get(r)))];
  const widths = fields.map((f, i) => Math.max(PS_WIDTH[f] ?? 0, ...cells.map((c) => (i === fields.length - 1 ? 0 : c[i]!.length))));
  for (const c of cells) {
    const line = fields.map((f, i) => {
      const last = i === fields.length - 1;
      if (last && !PS_FIELDS[f]!.right) return c[i]!;
      return PS_FIELDS[f]!.right ? c[i]!.padStart(widths[i]!) : c[i]!.padEnd(widths[i]!);
    });
    io.out(line.join(' ').trimEnd() + '\n');
  }
  return 0;
}
defineApplet('/bin/ps', ps);

// ---- sleep ----

defineUserlandProgram<{ left: number | null }>({
  name: '/bin/sleep',
  start: () => ({ left: null }),
  step(p) {
    if (p.state.left === null) {
      const ns = sleepOperands(p.argv.slice(1), (t) => p.err(t));
      if (ns === null) return p.exit(1);
      p.state.left = ns;
    } else if (!p.ok || p.state.left <= 0) return p.exit(p.ok ? 0 : 1);
    const c = sleepChunk(p.state.left);
    p.state.left = c.left;
    return p.call('nanosleep', c.now);
  },
});

// ---- env, unshare, nsenter: programs that run a command ----

type Runner = { rc: RunCommandState | null };

/** A program that parses its arguments (returning the command to run, or an exit status) and then runs it. */
function defineRunner(name: string, prog: string, setup: (p: { argv: readonly string[]; envp: readonly string[]; sys: Sys; out: (t: string) => void; err: (t: string) => void }) => RunCommandState | number): void {
  defineUserlandProgram<Runner>({
    name,
    start: () => ({ rc: null }),
    step(p) {
      if (!p.state.rc) {
        let r: RunCommandState | number;
        try {
          r = setup({ argv: p.argv, envp: p.envp, sys: p.sys, out: (t) => p.out(t), err: (t) => p.err(t) });
        } catch (e) {
          if (!(e instanceof UsageError)) throw e;
          p.err(`${prog}: ${e.message}\n`);
          return p.exit(1);
        }
        if (typeof r === 'number') return p.exit(r);
        p.state.rc = r;
      }
      return runCommand(p, prog, p.state.rc);
    },
  });
}

defineRunner('/bin/env', 'env', ({ argv, envp, out }) => {
  const { opts, operands } = getopt(argv.slice(1), { short: 'iu:', long: { 'ignore-environment': 'i', 'unset=': 'u' } });
  let env = opts.has('i') ? [] : [...envp];
  for (const u of opts.get('u') ?? []) env = env.filter((e) => !e.startsWith(`${u}=`));
  let i = 0;
  for (; i < operands.length && /^[^=]+=/.test(operands[i]!); i++) {
    const name = operands[i]!.split('=')[0]!;
    env = env.filter((e) => !e.startsWith(`${name}=`));
    env.push(operands[i]!);
  }
  if (i >= operands.length) {
    out(env.map((e) => e + '\n').join(''));
    return 0;
  }
  return newRunCommand(operands.slice(i), env, false);
});

defineRunner('/bin/unshare', 'unshare', ({ argv, envp, sys, err }) => {
  const { opts, operands } = getopt(argv.slice(1), {
    short: 'pif',
    long: { pid: 'p', ipc: 'i', fork: 'f', 'mount-proc': 'm', 'mount-proc=': 'm' },
  });
  const flags = (opts.has('p') ? CLONE_NEWPID : 0) | (opts.has('i') ? CLONE_NEWIPC : 0);
  try {
    sys.unshare(flags);
  } catch (e) {
    if (!(e instanceof ErrnoError)) throw e;
    err(`unshare: unshare failed: ${strerror(e.code)}\n`);
    return 1;
  }
  // --mount-proc needs nothing more: /proc always shows the reader's own pid namespace.
  const cmd = operands.length ? operands : [shellOf(envp)];
  return newRunCommand(cmd, [...envp], opts.has('f'));
});

defineRunner('/bin/nsenter', 'nsenter', ({ argv, envp, sys, err }) => {
  const { opts, operands } = getopt(argv.slice(1), {
    short: 't:piaF',
    long: { 'target=': 't', pid: 'p', ipc: 'i', all: 'a', 'no-fork': 'F' },
  });
  const target = opts.get('t')?.[0];
  if (target === undefined) throw new UsageError('neither filename nor target pid supplied for ns/pid');
  const kinds: Array<['pid' | 'ipc', number]> = [];
  if (opts.has('i') || opts.has('a')) kinds.push(['ipc', CLONE_NEWIPC]);
  if (opts.has('p') || opts.has('a')) kinds.push(['pid', CLONE_NEWPID]);
  for (const [kind, nstype] of kinds) {
    const path = `/proc/${target}/ns/${kind}`;
    try {
      const fd = sys.open(path, O_RDONLY | O_CLOEXEC);
      try {
        sys.setns(fd, nstype);
      } finally {
        sys.close(fd);
      }
    } catch (e) {
      if (!(e instanceof ErrnoError)) throw e;
      err(`nsenter: reassociate to namespace 'ns/${kind}' failed: ${strerror(e.code)}\n`);
      return 1;
    }
  }
  const cmd = operands.length ? operands : [shellOf(envp)];
  // Entering a pid namespace takes effect for children: fork unless -F, as util-linux does.
  return newRunCommand(cmd, [...envp], kinds.some(([k]) => k === 'pid') && !opts.has('F'));
});

function shellOf(envp: readonly string[]): string {
  return envValue(envp, 'SHELL') || '/bin/sh';
}
