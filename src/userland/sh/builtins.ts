/**
 * Shell builtins. All run in the shell's own process (NOFORK, like busybox's): their syscalls are
 * the shell's, so they see (and consume) the shell's next_syscall_data. Builtins that may sleep
 * (wait, read, sleep, syscall) push a frame that yields the call; the rest return a status.
 *
 * NOFORK utilities: echo printf test [ true false kill sleep syscall ipcs ipcmk ipcrm.
 * Shell builtins: : cd pwd exit exec wait read export unset set shift return break continue eval .
 * trap jobs.
 */
import { ErrnoError, WouldBlockError, strerror } from '../../abi/errno.js';
import { SIG_DFL, SIG_IGN } from '../../abi/constants.js';
import type { StepOutcome } from '../../syscalls/program.js';
import { runApplet, signalNumber, signalShortName, type Applet, type AppletIo } from '../lib/applet.js';
import { toText } from '../lib/program.js';
import { readText } from '../lib/files.js';
import { exitCodeOf } from '../lib/process.js';
import { echo, kill, printf, test } from '../utils/text.js';
import { parseSyscallCommand, printSyscallResult } from '../utils/syscall.js';
import { ipcmk, ipcrm, ipcs } from '../utils/ipcs.js';
import { sleepChunk, sleepOperands } from '../utils/duration.js';
import { Parser, ShSyntaxError } from './parse.js';
import { SH_HANDLER, type Shell } from './shell.js';
import { jobStateText } from './text.js';
import { noteReaped, reapJobs } from './jobs.js';
import { execFailed, lookup } from './external.js';
import { unwindLoop, unwindReturn } from './compound.js';
import type { Frame, ShState } from './state.js';

type SimpleFrame = Extract<Frame, { k: 'simple' }>;
/** A status, or a step outcome (a yielded call, an exit), or undefined after pushing a frame. */
export type Builtin = (sh: Shell, argv: string[], f: SimpleFrame) => number | StepOutcome;

function io(sh: Shell): AppletIo {
  return { sys: sh.p.sys, out: (t) => sh.p.out(t), err: (t) => sh.p.err(t), getenv: (n) => sh.getVar(n) };
}

function applet(fn: Applet, usageStatus = 1): Builtin {
  return (sh, argv) => runApplet(fn, argv, io(sh), usageStatus);
}

/** Pushes a frame that yields `name(args)`; its result decides the status. */
function yieldCall(sh: Shell, name: string, args: unknown[], mode: 'print' | 'status', label: string): StepOutcome {
  const f: Frame = { k: 'bi-call', name, args, mode, label };
  sh.push(f);
  return sh.call(f, name, ...args);
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Names of POSIX special builtins (assignments before them persist; errors exit a script). */
export const SPECIAL_BUILTINS = new Set([':', '.', 'break', 'continue', 'eval', 'exec', 'exit', 'export', 'return', 'set', 'shift', 'trap', 'unset']);

/**
 * NOFORK utilities that bash has no builtin for: where the command is the last thing a process runs
 * (a background job, a pipeline part, `sh -c 'sleep 5'`) they are exec'd, so `ps` shows their name
 * as Linux does. (The NSD-bearing utilities — syscall, ipcmk… — always stay in the shell.)
 */
export const EXEC_WHEN_LAST = new Set(['sleep']);

export const BUILTINS: Record<string, Builtin> = {
  ':': () => 0,
  true: () => 0,
  false: () => 1,
  echo: applet(echo),
  printf: applet(printf),
  ipcs: applet(ipcs),
  ipcmk: applet(ipcmk),
  ipcrm: applet(ipcrm),
  test: applet(test, 2),
  '[': applet(test, 2),
  kill(sh, argv) {
    // A signal to the shell itself is delivered (and its trap run) before the next command.
    sh.yieldNow = true;
    return runApplet(kill, resolveJobs(sh, argv), io(sh));
  },

  cd(sh, argv) {
    const s = sh.s;
    let dir = argv[1];
    if (dir === undefined) dir = sh.getVar('HOME') ?? '/';
    let print = false;
    if (dir === '-') {
      dir = sh.getVar('OLDPWD') ?? '';
      print = true;
    }
    try {
      sh.p.sys.chdir(dir);
    } catch (e) {
      if (!(e instanceof ErrnoError)) throw e;
      sh.error(`cd: ${dir}: ${strerror(e.code)}`);
      return 1;
    }
    const cwd = sh.p.sys.getcwd();
    s.vars['OLDPWD'] = s.vars['PWD'] ?? cwd;
    s.vars['PWD'] = cwd;
    if (print) sh.p.out(cwd + '\n');
    return 0;
  },
  pwd(sh) {
    sh.p.out(sh.p.sys.getcwd() + '\n');
    return 0;
  },

  exit(sh, argv) {
    let code = sh.s.status;
    if (argv[1] !== undefined) {
      if (!/^[+-]?[0-9]+$/.test(argv[1])) {
        sh.error(`exit: ${argv[1]}: numeric argument required`);
        code = 2;
      } else code = Number(argv[1]) & 0xff;
    }
    if (sh.s.interactive && !sh.s.sub) sh.p.err('exit\n');
    return sh.exit(code);
  },

  wait(sh, argv) {
    if (argv.length === 1) {
      sh.push({ k: 'bi-wait', pids: [], i: 0, status: 0, any: true });
      return undefined;
    }
    const pids: number[] = [];
    for (const a of resolveJobs(sh, argv).slice(1)) {
      if (!/^[0-9]+$/.test(a)) {
        sh.error(`wait: \`${a}': not a pid or valid job spec`);
        return 2;
      }
      pids.push(Number(a));
    }
    sh.push({ k: 'bi-wait', pids, i: 0, status: 0, any: false });
    return undefined;
  },

  read(sh, argv) {
    let raw = false;
    let i = 1;
    for (; i < argv.length && argv[i]!.startsWith('-'); i++) {
      if (argv[i] === '-r') raw = true;
      else if (argv[i] === '-p') sh.p.err(argv[++i] ?? '');
      else if (argv[i] === '--') {
        i++;
        break;
      } else {
        sh.error(`read: ${argv[i]}: invalid option`);
        return 2;
      }
    }
    const vars = argv.slice(i);
    if (vars.length === 0) vars.push('REPLY');
    for (const v of vars) {
      if (!NAME_RE.test(v)) {
        sh.error(`read: \`${v}': not a valid identifier`);
        return 1;
      }
    }
    sh.push({ k: 'bi-read', vars, raw, buf: [] });
    return undefined;
  },

  sleep(sh, argv) {
    const ns = sleepOperands(argv.slice(1), (t) => sh.p.err(t));
    if (ns === null) return 1;
    const c = sleepChunk(ns);
    const f: Frame = { k: 'bi-call', name: 'nanosleep', args: [c.now], mode: 'status', label: 'sleep', left: c.left };
    sh.push(f);
    return sh.call(f, 'nanosleep', c.now);
  },

  syscall(sh, argv) {
    const call = parseSyscallCommand(argv, (t) => sh.p.err(t));
    if (!call) return 2;
    return yieldCall(sh, call.name, call.args, 'print', 'syscall');
  },

  export(sh, argv) {
    const s = sh.s;
    const args = argv.slice(1).filter((a) => a !== '-p');
    if (args.length === 0) {
      for (const k of Object.keys(s.exported).sort()) if (s.vars[k] !== undefined) sh.p.out(`export ${k}='${s.vars[k]!.replace(/'/g, `'\\''`)}'\n`);
      return 0;
    }
    let st = 0;
    for (const a of args) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a : a.slice(0, eq);
      if (!NAME_RE.test(name)) {
        sh.error(`export: \`${a}': not a valid identifier`);
        st = 1;
        continue;
      }
      if (eq >= 0) s.vars[name] = a.slice(eq + 1);
      s.exported[name] = true;
    }
    return st;
  },

  unset(sh, argv) {
    const s = sh.s;
    let funcs = false;
    for (const a of argv.slice(1)) {
      if (a === '-f') funcs = true;
      else if (a === '-v') funcs = false;
      else if (funcs) delete s.funcs[a];
      else {
        delete s.vars[a];
        delete s.exported[a];
      }
    }
    return 0;
  },

  set(sh, argv) {
    const s = sh.s;
    if (argv.length === 1) {
      for (const k of Object.keys(s.vars).sort()) sh.p.out(`${k}='${s.vars[k]!.replace(/'/g, `'\\''`)}'\n`);
      return 0;
    }
    let i = 1;
    for (; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === '--') {
        i++;
        s.pos = argv.slice(i);
        return 0;
      }
      if (/^[-+][a-z]+$/.test(a)) {
        for (const c of a.slice(1)) {
          s.opts = s.opts.replace(c, '');
          if (a[0] === '-') s.opts += c;
        }
        continue;
      }
      if (a === '-o' || a === '+o') {
        i++;
        continue;
      }
      break;
    }
    if (i < argv.length) s.pos = argv.slice(i);
    return 0;
  },

  shift(sh, argv) {
    const n = argv[1] === undefined ? 1 : Number(argv[1]);
    if (!Number.isInteger(n) || n < 0 || n > sh.s.pos.length) {
      sh.error(`shift: ${argv[1] ?? 1}: shift count out of range`);
      return 1;
    }
    sh.s.pos = sh.s.pos.slice(n);
    return 0;
  },

  return(sh, argv) {
    const st = argv[1] === undefined ? sh.s.status : Number(argv[1]) & 0xff;
    if (!unwindReturn(sh, st)) {
      sh.error("return: can only `return' from a function or sourced script");
      return 1;
    }
    return undefined;
  },
  break: (sh, argv) => loopControl(sh, argv, false),
  continue: (sh, argv) => loopControl(sh, argv, true),

  eval(sh, argv) {
    return pushScript(sh, argv.slice(1).join(' '));
  },
  '.'(sh, argv) {
    const path = argv[1];
    if (!path) {
      sh.error('.: filename argument required');
      return 2;
    }
    const full = path.includes('/') ? path : lookup(sh, path) ?? path;
    const text = readText(sh.p.sys, full);
    if (text === null) {
      sh.error(`${path}: No such file or directory`);
      return 1;
    }
    return pushScript(sh, text);
  },

  trap(sh, argv) {
    const s = sh.s;
    const args = argv.slice(1);
    if (args.length === 0 || args[0] === '-p') {
      for (const [sig, action] of Object.entries(s.traps)) {
        sh.p.out(`trap -- '${action.replace(/'/g, `'\\''`)}' ${sig === '0' ? 'EXIT' : signalShortName(Number(sig))}\n`);
      }
      return 0;
    }
    let action: string | null = args[0]!;
    let sigs = args.slice(1);
    if (/^[0-9]+$/.test(action) && sigs.length === 0) {
      sigs = [action];
      action = null;
    }
    if (action === '-') action = null;
    let st = 0;
    for (const name of sigs) {
      const sig = signalNumber(name);
      if (Number.isNaN(sig) || sig === 9 || sig === 19) {
        sh.error(`trap: ${name}: invalid signal specification`);
        st = 1;
        continue;
      }
      const key = String(sig);
      if (action === null) {
        delete s.traps[key];
        if (sig) sh.p.attempt(() => sh.p.sys.rt_sigaction(sig, SIG_DFL));
      } else {
        s.traps[key] = action;
        if (sig) sh.p.attempt(() => sh.p.sys.rt_sigaction(sig, action === '' ? SIG_IGN : SH_HANDLER));
      }
    }
    return st;
  },

  jobs(sh) {
    reapJobs(sh, false);
    for (const j of sh.s.jobs) sh.p.out(`[${j.id}]  ${jobStateText(j.status).padEnd(24)}${j.cmd}\n`);
    return 0;
  },
};

function loopControl(sh: Shell, argv: string[], cont: boolean): number | StepOutcome {
  const n = argv[1] === undefined ? 1 : Number(argv[1]);
  if (!Number.isInteger(n) || n < 1) {
    sh.error(`${argv[0]}: ${argv[1]}: loop count out of range`);
    return 1;
  }
  if (!unwindLoop(sh, n, cont)) return 0;
  return undefined;
}

function pushScript(sh: Shell, text: string): number | StepOutcome {
  try {
    sh.pushNode(Parser.parseAll(text, sh.s.line));
  } catch (e) {
    if (!(e instanceof ShSyntaxError)) throw e;
    sh.error(e.message, e.line);
    return 2;
  }
  return undefined;
}

/** `%N` job specs → pids. */
function resolveJobs(sh: Shell, argv: string[]): string[] {
  return argv.map((a, i) => {
    if (i === 0 || !/^%[0-9]+$/.test(a)) return a;
    const j = sh.s.jobs.find((x) => x.id === Number(a.slice(1)));
    return j ? String(j.pid) : a;
  });
}

// ---- frames of builtins that sleep ----

export function execBuiltinFrame(sh: Shell, f: Frame): StepOutcome {
  switch (f.k) {
    case 'bi-call':
      return execCall(sh, f);
    case 'bi-wait':
      return execWait(sh, f);
    case 'bi-read':
      return execRead(sh, f);
  }
  throw new Error(`shell: unknown frame ${f.k}`);
}

function execCall(sh: Shell, f: Extract<Frame, { k: 'bi-call' }>): StepOutcome {
  const r = sh.take(f);
  if (f.mode === 'exec') return execFailed(sh, f.label, r.ok ? 'ENOEXEC' : r.code);
  if (f.mode === 'print') printSyscallResult(r, (t) => sh.p.out(t));
  if (r.ok && f.left) {
    // A sleep longer than one nanosleep takes: the next part.
    const c = sleepChunk(f.left);
    f.left = c.left;
    return sh.call(f, 'nanosleep', c.now);
  }
  sh.finish(r.ok ? 0 : r.code === 'EINTR' && f.label === 'sleep' ? 130 : 1);
  return undefined;
}

function execWait(sh: Shell, f: Extract<Frame, { k: 'bi-wait' }>): StepOutcome {
  const s: ShState = sh.s;
  if (f.res) {
    const r = sh.take(f);
    if (!r.ok) {
      if (r.code === 'EINTR' && s.pendingSigs.some((x) => s.traps[String(x)])) {
        sh.finish(128 + s.pendingSigs[0]!);
        return undefined;
      }
      if (r.code === 'EINTR') return f.any ? sh.call(f, 'wait4', -1, 0) : sh.call(f, 'wait4', f.pids[f.i], 0);
      if (f.any) {
        sh.finish(0);
        return undefined;
      }
      f.status = 127;
      f.i++;
    } else {
      const { pid, status } = r.value as { pid: number; status: number };
      noteReaped(sh, pid, status);
      s.jobs = s.jobs.filter((j) => j.pid !== pid);
      if (!f.any) {
        f.status = exitCodeOf(status);
        f.i++;
      }
    }
  }
  if (f.any) return sh.call(f, 'wait4', -1, 0);
  while (f.i < f.pids.length) {
    const pid = f.pids[f.i]!;
    const job = s.jobs.find((j) => j.pid === pid);
    if (job && job.status !== null) {
      f.status = job.status;
      s.jobs = s.jobs.filter((j) => j !== job);
      f.i++;
      continue;
    }
    return sh.call(f, 'wait4', pid, 0);
  }
  sh.finish(f.status);
  return undefined;
}

function execRead(sh: Shell, f: Extract<Frame, { k: 'bi-read' }>): StepOutcome {
  const sys = sh.p.sys;
  let eof = false;
  for (;;) {
    let b: Uint8Array;
    if (f.res) {
      const r = sh.take(f);
      if (!r.ok) {
        eof = true;
        break;
      }
      b = r.value as Uint8Array;
    } else {
      try {
        b = sys.read(0, 1);
      } catch (e) {
        if (e instanceof WouldBlockError) return sh.call(f, 'read', 0, 1);
        if (!(e instanceof ErrnoError)) throw e;
        eof = true;
        break;
      }
    }
    if (b.length === 0) {
      eof = true;
      break;
    }
    const c = b[0]!;
    if (c === 0x0a) {
      if (!f.raw && f.buf.length && f.buf[f.buf.length - 1] === 0x5c) {
        f.buf.pop();
        continue;
      }
      break;
    }
    f.buf.push(c);
  }
  let line = toText(Uint8Array.from(f.buf));
  const ifsVal = sh.getVar('IFS');
  const ifs = ifsVal === undefined ? ' \t\n' : ifsVal;
  if (!f.raw) line = line.replace(/\\(.)/g, '$1');
  const ws = [...ifs].filter((c) => ' \t\n'.includes(c)).join('');
  const trimRe = ws ? new RegExp(`^[${escapeClass(ws)}]+|[${escapeClass(ws)}]+$`, 'g') : null;
  let rest = trimRe ? line.replace(trimRe, '') : line;
  for (let i = 0; i < f.vars.length; i++) {
    const name = f.vars[i]!;
    if (i === f.vars.length - 1 || ifs === '') {
      sh.setVar(name, i === f.vars.length - 1 ? rest : '');
      rest = '';
      continue;
    }
    const m = new RegExp(`[${escapeClass(ifs)}]`).exec(rest);
    if (!m) {
      sh.setVar(name, rest);
      rest = '';
      continue;
    }
    sh.setVar(name, rest.slice(0, m.index));
    rest = rest.slice(m.index + 1);
    if (trimRe) rest = rest.replace(new RegExp(`^[${escapeClass(ws)}]+`), '');
  }
  sh.finish(eof ? 1 : 0);
  return undefined;
}

function escapeClass(s: string): string {
  return s.replace(/[\]\\^-]/g, '\\$&');
}

