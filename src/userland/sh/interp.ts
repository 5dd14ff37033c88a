/**
 * The shell interpreter: an explicit stack machine over the syntax tree.
 *
 * Design note. Control flow lives in `ShState.frames` (plain data), never in the JavaScript stack,
 * so every point where the shell makes a syscall that may sleep or creates/replaces a task (fork,
 * execve, wait4, read of a pipe, nanosleep) is a step boundary: the frame on top yields the call
 * and receives its result as `frame.res` at the next step. A frame that starts a child construct
 * pushes a frame and receives the child's status as `frame.ret`. A fork copies the whole stack; the
 * child keeps only an `exit-after` frame and the construct it runs, like a subshell.
 *
 * Redirections of commands that run in the shell process (builtins, functions, compound commands)
 * are applied with the saved-descriptor dance of dash: open the target first, save the old fd with
 * F_DUPFD_CLOEXEC ≥ 10, dup2, close; undo with dup2 + close. Only the `open` can consume an armed
 * next_syscall_data — which is the point of NSD-SPEC §6: `echo "LONG1 X" > …/next_syscall_data`
 * opens the file while nothing is armed, and the `echo` arms it.
 */
import { ErrnoError, WouldBlockError, strerror, type ErrnoCode } from '../../abi/errno.js';
import {
  F_DUPFD_CLOEXEC, O_APPEND, O_CLOEXEC, O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, SIGINT, SIGQUIT,
  SIGSEGV, SIGTERM, SIG_DFL, SIG_IGN, S_IFDIR, S_IFMT, WNOHANG,
} from '../../abi/constants.js';
import type { StepOutcome } from '../../syscalls/program.js';
import type { Proc } from '../lib/program.js';
import { forceSignal, toText } from '../lib/program.js';
import { readDir } from '../lib/files.js';
import { exitCodeOf, findExecutable } from '../lib/process.js';
import type { Node, Redir, Word, WordPart } from './ast.js';
import { ExpandError, expandFields, expandPattern, expandString, globComponents, matchPattern, type ExpandEnv } from './expand.js';
import { Parser, ShSyntaxError } from './parse.js';
import type { Frame, ShState } from './state.js';
import { BUILTINS, EXEC_WHEN_LAST, SPECIAL_BUILTINS, execBuiltinFrame } from './builtins.js';
import { untypedCall } from '../../syscalls/table.js';

/** Frames run per step before the shell yields the CPU (a loop of builtins stays fair). */
const BUDGET = 2000;
/**
 * The shell's stack limit, in frames. A shell's control stack lives on its process stack, which
 * RLIMIT_STACK bounds (8 MiB by default): bash dies of SIGSEGV on runaway recursion (`f() { f; };
 * f` after about 10,000 levels), and so does this shell when its frames pass this bound (about
 * 10,000 levels of such a function) — instead of growing the host's memory without end.
 */
export const MAX_FRAMES = 40000;
/** A pipe's buffer (the kernel's PIPE_SIZE): a here-document this long or shorter goes through a pipe. */
const PIPE_CAPACITY = 65536;
/**
 * The largest variable value (characters). A shell whose memory runs out (RLIMIT_AS, or the
 * machine's) fails to allocate and exits, as bash's xmalloc does: `sh: memory exhausted`, status 2.
 */
export const MAX_VALUE = 64 * 1024 * 1024;
/** The shell's signal handler "address": a caught signal interrupts its sleep and is queued for its trap. */
export const SH_HANDLER = 2;

export type Outcome = StepOutcome;
type F<K extends Frame['k']> = Extract<Frame, { k: K }>;

const SIG_TEXT: Record<number, string> = {
  1: 'Hangup', 3: 'Quit', 4: 'Illegal instruction', 6: 'Aborted', 8: 'Floating point exception', 9: 'Killed',
  10: 'User defined signal 1', 11: 'Segmentation fault', 12: 'User defined signal 2', 14: 'Alarm clock', 15: 'Terminated',
};

export class Interp {
  readonly s: ShState;
  /** Set by a builtin that must let the kernel act before the shell goes on (kill may signal the shell itself). */
  yieldNow = false;

  constructor(readonly p: Proc<ShState>) {
    this.s = p.state;
  }

  // ---- the step loop ----

  run(): Outcome {
    const s = this.s;
    const top = s.frames[s.frames.length - 1];
    if (top && this.p.result) top.res = this.p.result;
    if (this.p.signals.length) s.pendingSigs.push(...this.p.signals);
    for (let n = 0; n < BUDGET; n++) {
      if (this.p.blockedOutput) return undefined;
      const f = s.frames[s.frames.length - 1];
      if (!f) return this.exit(s.status);
      if (s.pendingSigs.length && f.res === undefined) {
        const out = this.takeTrap();
        if (out) continue;
      }
      const out = this.exec(f);
      if (s.frames.length > MAX_FRAMES) return this.stackOverflow();
      if (out) return out;
      if (this.yieldNow) return undefined;
    }
    return undefined;
  }

  /**
   * The stack is exhausted: force_sig(SIGSEGV); the process dies at the next signal delivery,
   * with status 139.
   */
  private stackOverflow(): Outcome {
    const s = this.s;
    s.frames = [];
    s.traps = {};
    s.status = 128 + SIGSEGV;
    forceSignal(this.p.sys, SIGSEGV);
    return undefined;
  }

  private takeTrap(): boolean {
    const s = this.s;
    while (s.pendingSigs.length) {
      const sig = s.pendingSigs.shift()!;
      const action = s.traps[String(sig)];
      if (action) {
        this.push({ k: 'trap', status: s.status });
        this.pushParsed(action, s.line);
        return true;
      }
    }
    return false;
  }

  push(f: Frame): void {
    this.s.frames.push(f);
  }

  /** Pops the top frame and hands `status` to the frame below. */
  finish(status: number): void {
    const s = this.s;
    s.frames.pop();
    s.status = status;
    const below = s.frames[s.frames.length - 1];
    if (below) below.ret = status;
  }

  /** Ends the shell process: the EXIT trap first, then exit. */
  exit(code: number): Outcome {
    const action = this.s.traps['0'];
    if (action) {
      delete this.s.traps['0'];
      this.s.frames = [{ k: 'exit-trap', code }];
      this.pushParsed(action, this.s.line);
      return undefined;
    }
    return { exit: code & 0xff };
  }

  /** `sh: line N: msg` on stderr (scripts and -c strings alike; interactive shells omit the line). */
  error(msg: string, line = this.s.line): void {
    const where = this.s.mode === 'interactive' ? '' : ` line ${line}:`;
    this.p.err(`sh:${where} ${msg}\n`);
  }

  private pushParsed(text: string, line: number): void {
    try {
      this.pushNode(Parser.parseAll(text, line));
    } catch (e) {
      if (!(e instanceof ShSyntaxError)) throw e;
      this.error(e.message, e.line);
      this.push({ k: 'const', v: 2 });
    }
  }

  /** Pushes the frame that runs `node`. `execLast`: a simple command may exec without forking. */
  pushNode(node: Node, execLast = false): void {
    if ('redirs' in node && node.t !== 'simple' && node.redirs.length > 0) {
      this.push({ k: 'redir', redirs: node.redirs, node: { ...node, redirs: [] } as Node, phase: 'apply', saved: [], subs: null });
      return;
    }
    switch (node.t) {
      case 'simple':
        this.push({ k: 'simple', node, phase: 'start', subs: null, execLast, saved: [], pid: 0, argv: [], assigns: [], redirSubs: [] });
        return;
      case 'list':
        this.push({ k: 'list', items: node.items, i: 0 });
        return;
      case 'andor':
        this.push({ k: 'andor', node, i: -1 });
        return;
      case 'pipeline':
        this.push({ k: 'pipe', node, phase: node.cmds.length === 1 ? 'single' : 'spawn', i: 0, pids: [], rfd: -1, next: null, status: 0 });
        return;
      case 'subshell':
        this.push({ k: 'fork', node: node.body, bg: false, phase: 'fork', pid: 0, text: '' });
        return;
      case 'group':
        this.pushNode(node.body);
        return;
      case 'if':
        this.push({ k: 'if', node, i: 0, phase: 'cond' });
        return;
      case 'loop':
        this.push({ k: 'loop', node, phase: 'cond', status: 0 });
        return;
      case 'for':
        this.push({ k: 'for', node, phase: 'start', items: [], i: 0, subs: null, status: 0 });
        return;
      case 'case':
        this.push({ k: 'case', node, phase: 'start', subs: null });
        return;
      case 'func':
        this.s.funcs[node.name] = node.body;
        this.push({ k: 'const', v: 0 });
        return;
    }
  }

  private exec(f: Frame): Outcome {
    switch (f.k) {
      case 'top': return this.execTop(f);
      case 'list': return this.execList(f);
      case 'andor': return this.execAndOr(f);
      case 'simple': return this.execSimple(f);
      case 'pipe': return this.execPipe(f);
      case 'fork': return this.execFork(f);
      case 'exit-after': return this.exit(f.ret ?? this.s.status);
      case 'redir': return this.execRedir(f);
      case 'if': return this.execIf(f);
      case 'loop': return this.execLoop(f);
      case 'for': return this.execFor(f);
      case 'case': return this.execCase(f);
      case 'subst': return this.execSubst(f);
      case 'cmdsub': return this.execCmdSub(f);
      case 'func': {
        this.s.pos = f.saved;
        this.finish(f.ret ?? 0);
        return undefined;
      }
      case 'trap': {
        this.s.frames.pop();
        this.s.status = f.status;
        return undefined;
      }
      case 'exit-trap':
        return { exit: f.code & 0xff };
      case 'const':
        this.finish(f.v);
        return undefined;
      default:
        return execBuiltinFrame(this, f);
    }
  }

  // ---- top level: reading commands ----

  private execTop(f: F<'top'>): Outcome {
    const s = this.s;
    if (f.ret !== undefined) {
      delete f.ret;
      f.phase = 'next';
    }
    if (f.phase === 'read') {
      const r = f.res;
      delete f.res;
      if (!r) return this.call(f, 'read', 0, 4096);
      if (!r.ok) {
        if (r.code === 'EINTR') {
          // Ctrl-C at the prompt: drop the partial command.
          s.src = { text: '', pos: 0, line: s.src.line, eof: false };
          s.pendingSigs = s.pendingSigs.filter((x) => x !== SIGINT);
          this.p.err('\n');
          f.phase = 'prompt';
          f.ps2 = false;
          return undefined;
        }
        return this.exit(s.status);
      }
      const bytes = r.value as Uint8Array;
      if (bytes.length === 0) {
        if (s.interactive) {
          this.p.err('exit\n');
          return this.exit(s.status);
        }
        s.src.eof = true;
      } else s.src.text += toText(bytes);
      f.phase = 'next';
    }
    if (f.phase === 'prompt') {
      if (s.interactive) {
        this.reapJobs(true);
        this.p.err(f.ps2 ? s.vars['PS2'] ?? '> ' : s.vars['PS1'] ?? '$ ');
      }
      f.phase = 'read';
      return this.call(f, 'read', 0, 4096);
    }
    // 'next': parse one complete command.
    const src = s.src;
    const parser = new Parser(src.text, src.pos, src.line);
    let node: Node | null;
    try {
      node = parser.parseNext();
    } catch (e) {
      if (!(e instanceof ShSyntaxError)) throw e;
      if (e.incomplete && !src.eof) {
        f.phase = 'prompt';
        f.ps2 = true;
        return undefined;
      }
      this.error(e.message, e.line);
      s.status = 2;
      if (!s.interactive) return this.exit(2);
      src.text = '';
      src.pos = 0;
      f.phase = 'prompt';
      f.ps2 = false;
      return undefined;
    }
    if (!node) {
      if (src.eof) return this.exit(s.status);
      src.text = '';
      src.pos = 0;
      f.phase = 'prompt';
      f.ps2 = false;
      return undefined;
    }
    src.pos = parser.pos;
    src.line = parser.line;
    // sh -c 'one simple command': exec it in place of the shell (no fork), as shells do.
    let execLast = false;
    if (f.first && s.mode === 'c' && node.t === 'simple' && Object.keys(s.traps).length === 0) {
      try {
        execLast = new Parser(src.text, src.pos, src.line).parseNext() === null;
      } catch {
        execLast = false;
      }
    }
    f.first = false;
    this.pushNode(node, execLast);
    return undefined;
  }

  /** Interactive: collect finished background jobs (WNOHANG) and say so. */
  reapJobs(report: boolean): void {
    const s = this.s;
    if (!s.jobs.some((j) => j.status === null)) return;
    for (;;) {
      const r = this.p.attempt(() => this.p.sys.wait4(-1, WNOHANG));
      if (!r.ok || r.value.pid <= 0) break;
      this.noteReaped(r.value.pid, r.value.status);
    }
    if (!report) return;
    for (const j of s.jobs) {
      if (j.status !== null) {
        this.p.err(`[${j.id}]+  ${jobStateText(j.status).padEnd(24)}${j.cmd}\n`);
      }
    }
    s.jobs = s.jobs.filter((j) => j.status === null);
    if (s.jobs.length === 0) s.nextJob = 1;
  }

  noteReaped(pid: number, wstatus: number): void {
    const j = this.s.jobs.find((x) => x.pid === pid);
    if (j) j.status = exitCodeOf(wstatus);
  }

  // ---- lists ----

  private execList(f: F<'list'>): Outcome {
    if (f.ret !== undefined) {
      delete f.ret;
      f.i++;
    }
    if (f.i >= f.items.length) {
      this.finish(this.s.status);
      return undefined;
    }
    const item = f.items[f.i]!;
    this.s.line = item.node.line;
    if (item.async) this.push({ k: 'fork', node: item.node, bg: true, phase: 'fork', pid: 0, text: nodeText(item.node) });
    else this.pushNode(item.node);
    return undefined;
  }

  private execAndOr(f: F<'andor'>): Outcome {
    if (f.i === -1) {
      f.i = 0;
      this.pushNode(f.node.first);
      return undefined;
    }
    const st = f.ret ?? this.s.status;
    delete f.ret;
    while (f.i < f.node.rest.length) {
      const r = f.node.rest[f.i++]!;
      if ((r.op === '&&') === (st === 0)) {
        this.pushNode(r.node);
        return undefined;
      }
    }
    this.finish(st);
    return undefined;
  }

  // ---- expansion ----

  expandEnv(subs: string[] | null): ExpandEnv {
    const s = this.s;
    return {
      get: (name) => this.getVar(name),
      set: (name, value) => this.setVar(name, value),
      positional: () => s.pos,
      subs: subs ? [...subs] : [],
      glob: (pat) => this.glob(pat),
    };
  }

  getVar(name: string): string | undefined {
    const s = this.s;
    switch (name) {
      case '?': return String(s.status);
      case '$': return String(s.pid);
      case '!': return s.lastBg ? String(s.lastBg) : '';
      case '#': return String(s.pos.length);
      case '0': return s.arg0;
      case '-': return s.opts + (s.interactive ? 'i' : '');
      case '@': case '*': return s.pos.join(' ');
    }
    if (/^[0-9]+$/.test(name)) return s.pos[Number(name) - 1];
    return s.vars[name];
  }

  setVar(name: string, value: string): void {
    if (value.length > MAX_VALUE) throw new RangeError(`cannot allocate ${value.length + 1} bytes`);
    this.s.vars[name] = value;
  }

  /** Command substitutions of a set of words, in expansion order. */
  private collectSubsts(words: Word[]): Node[] {
    const out: Node[] = [];
    const walk = (parts: readonly WordPart[]) => {
      for (const p of parts) {
        if (p.t === 'cmd') out.push(p.body);
        else if (p.t === 'dq') walk(p.parts);
        else if (p.t === 'param' && p.arg) walk(p.arg.parts);
        else if (p.t === 'arith') walk(p.expr.parts);
      }
    };
    for (const w of words) walk(w.parts);
    return out;
  }

  /** Pushes a `subst` frame if the words need command substitutions; returns whether it did. */
  private needSubsts(words: Word[]): boolean {
    const cmds = this.collectSubsts(words);
    if (cmds.length === 0) return false;
    this.push({ k: 'subst', words, cmds, outs: [] });
    return true;
  }

  private execSubst(f: F<'subst'>): Outcome {
    if (f.ret !== undefined) delete f.ret;
    if (f.outs.length < f.cmds.length) {
      this.push({ k: 'cmdsub', body: f.cmds[f.outs.length]!, phase: 'fork', rfd: -1, wfd: -1, pid: 0, chunks: [] });
      return undefined;
    }
    const s = this.s;
    s.frames.pop();
    const below = s.frames[s.frames.length - 1] as { subs?: string[] | null };
    below.subs = f.outs;
    return undefined;
  }

  private execCmdSub(f: F<'cmdsub'>): Outcome {
    const sys = this.p.sys;
    if (f.phase === 'fork') {
      if (!f.res) {
        const pr = this.p.attempt(() => sys.pipe2(O_CLOEXEC));
        if (!pr.ok) {
          this.error(`cannot make pipe for command substitution: ${strerror(pr.code)}`);
          return this.subDone('', 1);
        }
        [f.rfd, f.wfd] = pr.value;
        return this.call(f, 'fork');
      }
      const r = this.take(f);
      const wfd = f.wfd;
      if (!r.ok) {
        this.error(`fork: ${strerror(r.code)}`);
        this.p.attempt(() => sys.close(f.rfd));
        this.p.attempt(() => sys.close(wfd));
        return this.subDone('', 1);
      }
      if (r.value === 0) {
        this.becomeChild(false);
        this.p.attempt(() => sys.dup2(wfd, 1));
        this.p.attempt(() => sys.close(wfd));
        this.p.attempt(() => sys.close(f.rfd));
        this.s.frames = [{ k: 'exit-after' }];
        this.pushNode(f.body, true);
        return undefined;
      }
      f.pid = r.value as number;
      this.p.attempt(() => sys.close(wfd));
      f.phase = 'read';
    }
    if (f.phase === 'read') {
      for (;;) {
        let bytes: Uint8Array;
        if (f.res) {
          const r = this.take(f);
          bytes = r.ok ? (r.value as Uint8Array) : new Uint8Array(0);
          if (!r.ok && r.code === 'EINTR') continue;
        } else {
          try {
            bytes = sys.read(f.rfd, 65536);
          } catch (e) {
            if (e instanceof WouldBlockError) return this.call(f, 'read', f.rfd, 65536);
            if (!(e instanceof ErrnoError)) throw e;
            bytes = new Uint8Array(0);
          }
        }
        if (bytes.length === 0) break;
        f.chunks.push(bytes);
      }
      this.p.attempt(() => sys.close(f.rfd));
      f.phase = 'wait';
      return this.call(f, 'wait4', f.pid, 0);
    }
    const r = this.take(f);
    if (!r.ok && r.code === 'EINTR') return this.call(f, 'wait4', f.pid, 0);
    const status = r.ok ? exitCodeOf((r.value as { status: number }).status) : 127;
    let total = 0;
    for (const c of f.chunks) total += c.length;
    const all = new Uint8Array(total);
    let at = 0;
    for (const c of f.chunks) {
      all.set(c, at);
      at += c.length;
    }
    return this.subDone(toText(all), status);
  }

  /** Ends a `cmdsub` frame, handing its output to the `subst` frame below. */
  private subDone(out: string, status: number): Outcome {
    const s = this.s;
    s.frames.pop();
    s.status = status;
    const below = s.frames[s.frames.length - 1] as F<'subst'>;
    below.outs.push(out);
    return undefined;
  }

  /** Reads and clears the frame's syscall result. */
  take(f: Frame): NonNullable<Frame['res']> {
    const r = f.res;
    delete f.res;
    if (!r) throw new Error('shell: missing syscall result');
    return r;
  }

  /** Yields a syscall on behalf of frame `f` (its result comes back as `f.res`). */
  call(f: Frame, name: string, ...args: unknown[]): Outcome {
    delete f.res;
    return untypedCall(name, args);
  }

  glob(pat: string): string[] {
    const comps = globComponents(pat);
    let bases: string[] = [pat.startsWith('/') ? '/' : ''];
    let lastLiteral = false;
    for (const c of comps) {
      if (c.text === '') continue;
      if (!c.glob) {
        bases = bases.map((b) => join(b, c.text));
        lastLiteral = true;
        continue;
      }
      lastLiteral = false;
      const next: string[] = [];
      for (const b of bases) {
        for (const name of this.listDir(b || '.')) {
          if (name.startsWith('.') && !c.text.startsWith('.') && !c.text.startsWith('\\.')) continue;
          if (matchPattern(name, c.text)) next.push(join(b, name));
        }
      }
      bases = next;
      if (bases.length === 0) return [];
    }
    const stat = (path: string) => this.p.attempt(() => this.p.sys.stat(path));
    // `*/` matches directories only, and keeps its slash.
    if (pat.endsWith('/')) {
      return bases.filter((b) => {
        const st = stat(b);
        return st.ok && (st.value.st_mode & S_IFMT) === S_IFDIR;
      }).sort().map((b) => `${b}/`);
    }
    if (lastLiteral) bases = bases.filter((b) => stat(b).ok);
    return bases.sort();
  }

  /** A directory's entries without `.` and `..` (none when it cannot be read). */
  listDir(dir: string): string[] {
    const r = this.p.attempt(() => readDir(this.p.sys, dir));
    return r.ok ? r.value.filter((n) => n !== '.' && n !== '..') : [];
  }

  // ---- redirections ----

  /**
   * Applies redirections. With `saved`, the previous descriptors are kept for `restore`. Returns
   * false after printing the error (the caller's status is 1).
   */
  applyRedirs(redirs: Redir[], env: ExpandEnv, saved: Array<[number, number]> | null): boolean {
    const sys = this.p.sys;
    for (const r of redirs) {
      let target: string;
      try {
        target = expandString(r.target, env);
      } catch (e) {
        if (e instanceof ExpandError) {
          this.error(e.message);
          return false;
        }
        throw e;
      }
      let newfd: number;
      if (r.op === '<&' || r.op === '>&') {
        if (target === '-') {
          this.save(r.fd, saved);
          this.p.attempt(() => sys.close(r.fd));
          continue;
        }
        if (!/^[0-9]+$/.test(target)) {
          this.error(`${target}: ambiguous redirect`);
          return false;
        }
        const src = Number(target);
        if (src === r.fd) continue;
        const chk = this.p.attempt(() => sys.fcntl(src, 1 /* F_GETFD */));
        if (!chk.ok) {
          this.error(`${target}: Bad file descriptor`);
          return false;
        }
        this.save(r.fd, saved);
        const d = this.p.attempt(() => sys.dup2(src, r.fd));
        if (!d.ok) {
          this.error(`${r.fd}: ${strerror(d.code)}`);
          return false;
        }
        continue;
      }
      if (r.op === '<<' || r.op === '<<-') {
        const doc = this.hereDoc(target);
        if (doc < 0) return false;
        newfd = doc;
      } else {
        const flags =
          r.op === '<' ? O_RDONLY
            : r.op === '>>' ? O_WRONLY | O_CREAT | O_APPEND
              : r.op === '<>' ? O_RDWR | O_CREAT
                : O_WRONLY | O_CREAT | O_TRUNC;
        const o = this.p.attempt(() => sys.open(target, flags, 0o666));
        if (!o.ok) {
          this.error(`${target}: ${strerror(o.code)}`);
          return false;
        }
        newfd = o.value;
      }
      if (newfd === r.fd) {
        // The fd was free and the open landed on it (or a preset fd chose it): undo = close.
        if (saved && !saved.some(([fd]) => fd === r.fd)) saved.push([r.fd, -1]);
        continue;
      }
      this.save(r.fd, saved);
      const d = this.p.attempt(() => sys.dup2(newfd, r.fd));
      this.p.attempt(() => sys.close(newfd));
      if (!d.ok) {
        // dup2 beyond RLIMIT_NOFILE: EBADF, as bash reports `99999: Bad file descriptor`.
        this.error(`${r.fd}: ${strerror(d.code)}`);
        return false;
      }
    }
    return true;
  }

  /**
   * A here-document's read end. As bash: through a pipe when the body fits in the pipe's buffer
   * (so the write never sleeps), else through a temporary file (`/tmp/sh-thd.PID.N`, opened again
   * for reading and unlinked at once). -1 after reporting an error.
   */
  private hereDoc(body: string): number {
    const sys = this.p.sys;
    const bytes = new TextEncoder().encode(body);
    if (bytes.length <= PIPE_CAPACITY) {
      const pr = this.p.attempt(() => sys.pipe2(O_CLOEXEC));
      if (!pr.ok) {
        this.error(`cannot create pipe for here-document: ${strerror(pr.code)}`);
        return -1;
      }
      this.p.attempt(() => sys.write(pr.value[1], bytes));
      this.p.attempt(() => sys.close(pr.value[1]));
      return pr.value[0];
    }
    for (let n = 0; ; n++) {
      const name = `/tmp/sh-thd.${sys.getpid()}.${n}`;
      const w = this.p.attempt(() => sys.open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600));
      if (!w.ok && w.code === 'EEXIST' && n < 100) continue;
      if (!w.ok) {
        this.error(`cannot create temp file for here-document: ${strerror(w.code)}`);
        return -1;
      }
      let err: ErrnoCode | null = null;
      for (let at = 0; at < bytes.length && !err; ) {
        const k = this.p.attempt(() => sys.write(w.value, bytes.subarray(at, at + 65536)));
        if (k.ok) at += k.value;
        else err = k.code;
      }
      this.p.attempt(() => sys.close(w.value));
      const rd = err ? null : this.p.attempt(() => sys.open(name, O_RDONLY | O_CLOEXEC));
      this.p.attempt(() => sys.unlink(name));
      if (!rd || !rd.ok) {
        this.error(`cannot write here-document: ${strerror(err ?? (rd && !rd.ok ? rd.code : 'EIO'))}`);
        return -1;
      }
      return rd.value;
    }
  }

  private save(fd: number, saved: Array<[number, number]> | null): void {
    if (!saved || saved.some(([x]) => x === fd)) return;
    const r = this.p.attempt(() => this.p.sys.fcntl(fd, F_DUPFD_CLOEXEC, 10));
    saved.push([fd, r.ok ? r.value : -1]);
  }

  restore(saved: Array<[number, number]>): void {
    const sys = this.p.sys;
    for (let i = saved.length - 1; i >= 0; i--) {
      const [fd, copy] = saved[i]!;
      if (copy >= 0) {
        this.p.attempt(() => sys.dup2(copy, fd));
        this.p.attempt(() => sys.close(copy));
      } else this.p.attempt(() => sys.close(fd));
    }
    saved.length = 0;
  }

  private execRedir(f: F<'redir'>): Outcome {
    if (f.phase === 'apply') {
      if (f.subs === null && this.needSubsts(f.redirs.map((r) => r.target))) return undefined;
      if (!this.applyRedirs(f.redirs, this.expandEnv(f.subs), f.saved)) {
        this.restore(f.saved);
        this.finish(1);
        return undefined;
      }
      f.phase = 'done';
      this.pushNode(f.node);
      return undefined;
    }
    this.restore(f.saved);
    this.finish(f.ret ?? this.s.status);
    return undefined;
  }

  // ---- simple commands ----

  private execSimple(f: F<'simple'>): Outcome {
    const s = this.s;
    const node = f.node;
    s.line = node.line;
    switch (f.phase) {
      case 'start': {
        f.phase = 'run';
        if (this.needSubsts([...node.words, ...node.redirs.map((r) => r.target), ...node.assigns.map((a) => a.value)])) return undefined;
        return this.execSimple(f);
      }
      case 'run':
        return this.runSimple(f);
      case 'builtin-done': {
        const werr = this.p.writeError;
        if (werr === 'EPIPE' && !f.werrYield) {
          // Let a SIGPIPE the failed write raised kill the shell first, as in Linux.
          f.werrYield = true;
          this.yieldNow = true;
          return undefined;
        }
        this.p.takeWriteError();
        this.restore(f.saved);
        let status = f.ret ?? s.status;
        if (werr !== undefined && BUILTINS[f.argv[0] ?? ''] && !s.funcs[f.argv[0]!]) {
          // bash's sh_chkwrite: a builtin whose standard output could not be written fails.
          this.error(`${f.argv[0]}: write error: ${strerror(werr)}`);
          status = 1;
        }
        this.finish(status);
        return undefined;
      }
      case 'fork': {
        const pid = this.forked(f);
        if (pid === 0) {
          this.becomeChild(false);
          return this.execExternal(f.node.redirs, f.redirSubs, f.argv, f.assigns);
        }
        if (pid < 0) return undefined;
        f.pid = pid;
        f.phase = 'wait';
        return this.call(f, 'wait4', f.pid, 0);
      }
      case 'wait':
        return this.waited(f, f.pid);
    }
  }

  /** Interactive shells say how a foreground job died of a signal. */
  reportSignal(wst: number): void {
    const sig = wst & 0x7f;
    if (!this.s.interactive || sig === 0 || sig === 0x7f) return;
    if (sig === SIGINT) this.p.err('\n');
    else if (sig !== 13) this.p.err(`${SIG_TEXT[sig] ?? `Signal ${sig}`}\n`);
  }

  private runSimple(f: F<'simple'>): Outcome {
    const s = this.s;
    const node = f.node;
    // The outputs of $(…) come in word, redirection, assignment order (see execSimple's 'start').
    const all = f.subs ? [...f.subs] : [];
    const wordSubs = f.subs ? all.splice(0, this.collectSubsts(node.words).length) : [];
    f.redirSubs = f.subs ? all.splice(0, this.collectSubsts(node.redirs.map((r) => r.target)).length) : [];
    let argv: string[];
    const assigns: Array<[string, string]> = [];
    try {
      argv = expandFields(node.words, this.expandEnv(wordSubs));
      const aenv = this.expandEnv(all);
      for (const a of node.assigns) assigns.push([a.name, expandString(a.value, aenv)]);
    } catch (e) {
      if (!(e instanceof ExpandError)) throw e;
      this.error(e.message);
      if (!s.interactive) return this.exit(1);
      this.finish(1);
      return undefined;
    }
    f.argv = argv;
    f.assigns = assigns;
    const redirEnv = this.expandEnv(f.redirSubs);
    if (s.opts.includes('x')) this.p.err(`+ ${[...assigns.map(([n, v]) => `${n}=${v}`), ...argv].join(' ')}\n`);
    if (argv.length === 0) {
      for (const [n, v] of assigns) this.setVar(n, v);
      const saved: Array<[number, number]> = [];
      const ok = this.applyRedirs(node.redirs, redirEnv, saved);
      this.restore(saved);
      this.finish(ok ? (f.subs && f.subs.length ? s.status : 0) : 1);
      return undefined;
    }
    const name = argv[0]!;
    if (name === 'exec') {
      if (!this.applyRedirs(node.redirs, redirEnv, null)) {
        if (!s.interactive) return this.exit(1);
        this.finish(1);
        return undefined;
      }
      for (const [n, v] of assigns) this.setVar(n, v);
      if (argv.length === 1) {
        this.finish(0);
        return undefined;
      }
      return this.execExternal(null, [], argv.slice(1), []);
    }
    const func = s.funcs[name];
    // A NOFORK utility that is no shell builtin in bash (sleep) is exec'd when it is the last thing
    // a process runs (`sleep 5 &`, `sh -c 'sleep 5'`): its comm becomes `sleep`, as in Linux.
    const builtin = f.execLast && !func && EXEC_WHEN_LAST.has(name) && this.lookup(name) !== null ? undefined : BUILTINS[name];
    if (func || builtin) {
      if (SPECIAL_BUILTINS.has(name) || func) for (const [n, v] of assigns) this.setVar(n, v);
      if (!this.applyRedirs(node.redirs, redirEnv, f.saved)) {
        this.restore(f.saved);
        if (!s.interactive && SPECIAL_BUILTINS.has(name)) return this.exit(1);
        this.finish(1);
        return undefined;
      }
      f.phase = 'builtin-done';
      this.p.takeWriteError();
      if (func) {
        this.push({ k: 'func', saved: s.pos });
        s.pos = argv.slice(1);
        this.pushNode(func);
        return undefined;
      }
      const out = builtin!(this, argv, f);
      if (typeof out === 'number') f.ret = out;
      else if (out) return out;
      return undefined;
    }
    if (f.execLast) return this.execExternal(node.redirs, f.redirSubs, argv, assigns);
    f.phase = 'fork';
    return this.call(f, 'fork');
  }

  /**
   * In the process that will run an external command (a forked child, or the shell itself for
   * `exec` and the last command of `sh -c`): redirections, then execve. Never returns to the shell.
   */
  execExternal(redirs: Redir[] | null, redirSubs: string[], argv: string[], assigns: Array<[string, string]>): Outcome {
    const s = this.s;
    if (argv.length === 0) return this.exit(s.status);
    if (redirs && !this.applyRedirs(redirs, this.expandEnv(redirSubs), null)) return this.exit(1);
    const name = argv[0]!;
    const path = this.lookup(name);
    if (path === null) {
      this.error(`${name}: command not found`);
      return this.exit(127);
    }
    const env = this.environ(assigns);
    const f: Frame = { k: 'bi-call', name: 'execve', args: [path, argv, env], mode: 'exec', label: name };
    this.push(f);
    return this.call(f, 'execve', path, argv, env);
  }

  /** execve failed (the bi-call frame of execExternal): say why and exit 126/127. */
  execFailed(name: string, code: ErrnoCode): Outcome {
    if (code === 'ENOEXEC') this.error(`${name}: cannot execute binary file: Exec format error`);
    else this.error(`${name}: ${strerror(code)}`);
    return this.exit(code === 'ENOENT' ? 127 : 126);
  }

  /** PATH search with stat() (which never consumes next_syscall_data). */
  lookup(name: string): string | null {
    return findExecutable(this.p.sys, name, this.s.vars['PATH']);
  }

  environ(extra: Array<[string, string]> = []): string[] {
    const s = this.s;
    const env = new Map<string, string>();
    for (const [k, v] of Object.entries(s.vars)) if (s.exported[k]) env.set(k, v);
    for (const [k, v] of extra) env.set(k, v);
    return [...env].map(([k, v]) => `${k}=${v}`);
  }

  /** A forked child: traps that run commands are reset, and the shell is no longer interactive. */
  becomeChild(bg: boolean): void {
    const s = this.s;
    const sys = this.p.sys;
    for (const [sig, action] of Object.entries(s.traps)) {
      if (action === '') continue;
      delete s.traps[sig];
      if (sig !== '0') this.p.attempt(() => sys.rt_sigaction(Number(sig), SIG_DFL));
    }
    if (s.interactive) {
      for (const sig of [SIGINT, SIGQUIT, SIGTERM]) if (s.traps[String(sig)] === undefined) this.p.attempt(() => sys.rt_sigaction(sig, SIG_DFL));
    }
    if (bg) {
      this.p.attempt(() => sys.rt_sigaction(SIGINT, SIG_IGN));
      this.p.attempt(() => sys.rt_sigaction(SIGQUIT, SIG_IGN));
    }
    s.interactive = false;
    s.jobs = [];
    s.sub = true;
    s.pendingSigs = [];
  }

  /** Sets the interactive shell's own dispositions (SIGINT caught, SIGTERM/SIGQUIT ignored). */
  setupInteractive(): void {
    const sys = this.p.sys;
    this.p.attempt(() => sys.rt_sigaction(SIGINT, SH_HANDLER));
    this.p.attempt(() => sys.rt_sigaction(SIGQUIT, SIG_IGN));
    this.p.attempt(() => sys.rt_sigaction(SIGTERM, SIG_IGN));
  }

  // ---- subshells, background jobs, pipelines ----

  private execFork(f: F<'fork'>): Outcome {
    if (f.phase === 'fork') {
      if (!f.res) return this.call(f, 'fork');
      const pid = this.forked(f);
      if (pid < 0) return undefined;
      if (pid === 0) {
        this.becomeChild(f.bg);
        if (f.bg) {
          const o = this.p.attempt(() => this.p.sys.open('/dev/null', O_RDONLY));
          if (o.ok && o.value !== 0) {
            this.p.attempt(() => this.p.sys.dup2(o.value, 0));
            this.p.attempt(() => this.p.sys.close(o.value));
          }
        }
        this.s.frames = [{ k: 'exit-after' }];
        this.pushNode(f.node, true);
        return undefined;
      }
      f.pid = pid;
      if (f.bg) {
        const s = this.s;
        s.lastBg = f.pid;
        const id = s.nextJob++;
        s.jobs.push({ id, pid: f.pid, cmd: f.text, status: null });
        if (s.interactive) this.p.err(`[${id}] ${f.pid}\n`);
        this.finish(0);
        return undefined;
      }
      f.phase = 'wait';
      return this.call(f, 'wait4', f.pid, 0);
    }
    return this.waited(f, f.pid);
  }

  /** The fork a frame yielded: the child gets 0, the parent the pid; -1 after a failure (status 2). */
  private forked(f: Frame): number {
    const r = this.take(f);
    if (r.ok) return r.value as number;
    this.error(`fork: ${strerror(r.code)}`);
    this.finish(2);
    return -1;
  }

  /** The wait4 a frame yielded for its foreground child: finish with its status (retry on EINTR). */
  private waited(f: Frame, pid: number): Outcome {
    const r = this.take(f);
    if (!r.ok && r.code === 'EINTR') return this.call(f, 'wait4', pid, 0);
    const wst = r.ok ? (r.value as { status: number }).status : 0;
    this.reportSignal(wst);
    this.finish(r.ok ? exitCodeOf(wst) : 127);
    return undefined;
  }

  private execPipe(f: F<'pipe'>): Outcome {
    const sys = this.p.sys;
    const cmds = f.node.cmds;
    if (f.phase === 'single') {
      if (f.ret === undefined) {
        this.pushNode(cmds[0]!);
        return undefined;
      }
      this.finish(f.node.bang ? (f.ret === 0 ? 1 : 0) : f.ret);
      return undefined;
    }
    if (f.phase === 'spawn') {
      if (f.i < cmds.length) {
        f.next = null;
        if (f.i < cmds.length - 1) {
          const pr = this.p.attempt(() => sys.pipe2(O_CLOEXEC));
          if (!pr.ok) {
            this.error(`pipe: ${strerror(pr.code)}`);
            f.phase = 'wait';
            f.status = 1;
            return this.execPipe(f);
          }
          f.next = pr.value;
        }
        f.phase = 'spawned';
        return this.call(f, 'fork');
      }
      f.phase = 'wait';
      f.i = 0;
      if (f.pids.length === 0) return this.execPipe(f);
      return this.call(f, 'wait4', f.pids[0], 0);
    }
    if (f.phase === 'spawned') {
      const r = this.take(f);
      if (r.ok && r.value === 0) {
        this.becomeChild(false);
        if (f.rfd >= 0) {
          this.p.attempt(() => sys.dup2(f.rfd, 0));
          this.p.attempt(() => sys.close(f.rfd));
        }
        if (f.next) {
          this.p.attempt(() => sys.dup2(f.next![1], 1));
          this.p.attempt(() => sys.close(f.next![1]));
          this.p.attempt(() => sys.close(f.next![0]));
        }
        this.s.frames = [{ k: 'exit-after' }];
        this.pushNode(cmds[f.i]!, true);
        return undefined;
      }
      if (r.ok) f.pids.push(r.value as number);
      else this.error(`fork: ${strerror(r.code)}`);
      if (f.rfd >= 0) this.p.attempt(() => sys.close(f.rfd));
      f.rfd = -1;
      if (f.next) {
        this.p.attempt(() => sys.close(f.next![1]));
        f.rfd = f.next[0];
      }
      f.next = null;
      f.i++;
      f.phase = 'spawn';
      return undefined;
    }
    // wait for every part in order; the status is the last one's.
    if (f.res) {
      const r = this.take(f);
      if (!r.ok && r.code === 'EINTR') return this.call(f, 'wait4', f.pids[f.i], 0);
      const wst = r.ok ? (r.value as { status: number }).status : 0;
      if (f.i === f.pids.length - 1) this.reportSignal(wst);
      f.status = r.ok ? exitCodeOf(wst) : 127;
      f.i++;
    }
    if (f.i < f.pids.length) return this.call(f, 'wait4', f.pids[f.i], 0);
    this.finish(f.node.bang ? (f.status === 0 ? 1 : 0) : f.status);
    return undefined;
  }

  // ---- compound commands ----

  private execIf(f: F<'if'>): Outcome {
    const n = f.node;
    if (f.ret === undefined) {
      this.pushNode(n.clauses[0]!.cond);
      return undefined;
    }
    const st = f.ret;
    delete f.ret;
    if (f.phase === 'body') {
      this.finish(st);
      return undefined;
    }
    if (st === 0) {
      f.phase = 'body';
      this.pushNode(n.clauses[f.i]!.body);
      return undefined;
    }
    f.i++;
    if (f.i < n.clauses.length) {
      this.pushNode(n.clauses[f.i]!.cond);
      return undefined;
    }
    if (n.else) {
      f.phase = 'body';
      this.pushNode(n.else);
      return undefined;
    }
    this.finish(0);
    return undefined;
  }

  private execLoop(f: F<'loop'>): Outcome {
    const n = f.node;
    if (f.ret !== undefined) {
      const st = f.ret;
      delete f.ret;
      if (f.phase === 'cond') {
        if ((st === 0) === n.until) {
          this.finish(f.status);
          return undefined;
        }
        f.phase = 'body';
        this.pushNode(n.body);
        return undefined;
      }
      f.status = st;
      f.phase = 'cond';
    }
    this.pushNode(n.cond);
    return undefined;
  }

  private execFor(f: F<'for'>): Outcome {
    const n = f.node;
    if (f.phase === 'start') {
      if (n.words && f.subs === null && this.needSubsts(n.words)) return undefined;
      try {
        f.items = n.words ? expandFields(n.words, this.expandEnv(f.subs)) : [...this.s.pos];
      } catch (e) {
        if (!(e instanceof ExpandError)) throw e;
        this.error(e.message);
        this.finish(1);
        return undefined;
      }
      f.phase = 'body';
      f.i = 0;
    } else if (f.ret !== undefined) {
      f.status = f.ret;
      delete f.ret;
      f.i++;
    }
    if (f.i >= f.items.length) {
      this.finish(f.status);
      return undefined;
    }
    this.setVar(n.name, f.items[f.i]!);
    this.pushNode(n.body);
    return undefined;
  }

  private execCase(f: F<'case'>): Outcome {
    const n = f.node;
    if (f.phase === 'body') {
      this.finish(f.ret ?? 0);
      return undefined;
    }
    const words = [n.word, ...n.items.flatMap((it) => it.pats)];
    if (f.subs === null && this.needSubsts(words)) return undefined;
    const env = this.expandEnv(f.subs);
    try {
      const w = expandString(n.word, env);
      for (const it of n.items) {
        for (const pat of it.pats) {
          if (matchPattern(w, expandPattern(pat, env))) {
            if (!it.body) {
              this.finish(0);
              return undefined;
            }
            f.phase = 'body';
            this.pushNode(it.body);
            return undefined;
          }
        }
      }
    } catch (e) {
      if (!(e instanceof ExpandError)) throw e;
      this.error(e.message);
      this.finish(1);
      return undefined;
    }
    this.finish(0);
    return undefined;
  }

  // ---- control-flow unwinding (break, continue, return) ----

  /** Pops frames down to the n-th enclosing loop; false when there is none. */
  unwindLoop(n: number, cont: boolean): boolean {
    const s = this.s;
    let found = -1;
    let seen = 0;
    for (let i = s.frames.length - 1; i >= 0; i--) {
      const k = s.frames[i]!.k;
      if (k === 'func' || k === 'exit-after' || k === 'trap' || k === 'top') break;
      if (k === 'loop' || k === 'for') {
        found = i;
        if (++seen === n) break;
      }
    }
    if (found < 0) return false;
    this.popTo(found + 1);
    const loop = s.frames[found] as F<'loop'> | F<'for'>;
    if (cont) {
      if (loop.k === 'loop') {
        loop.phase = 'cond';
        delete loop.ret;
      } else loop.ret = s.status;
    } else {
      this.popTo(found);
      const below = s.frames[s.frames.length - 1];
      s.status = 0;
      if (below) below.ret = 0;
    }
    return true;
  }

  /** Pops frames down to the enclosing function call; false when there is none. */
  unwindReturn(status: number): boolean {
    const s = this.s;
    for (let i = s.frames.length - 1; i >= 0; i--) {
      const k = s.frames[i]!.k;
      if (k === 'exit-after' || k === 'top' || k === 'trap') return false;
      if (k === 'func') {
        this.popTo(i + 1);
        s.frames[i]!.ret = status;
        s.status = status;
        return true;
      }
    }
    return false;
  }

  /** Pops frames above index `n`, undoing their redirections. */
  private popTo(n: number): void {
    const s = this.s;
    while (s.frames.length > n) {
      const f = s.frames.pop()!;
      if ((f.k === 'redir' || f.k === 'simple') && f.saved.length) this.restore(f.saved);
      if (f.k === 'func') s.pos = f.saved;
    }
  }

}

function join(base: string, name: string): string {
  if (base === '') return name;
  return base.endsWith('/') ? base + name : `${base}/${name}`;
}

/** A short text for a job list (`[1] Done  sleep 5`). */
export function nodeText(n: Node): string {
  switch (n.t) {
    case 'simple':
      return [...n.assigns.map((a) => `${a.name}=${wordText(a.value)}`), ...n.words.map(wordText)].join(' ');
    case 'pipeline':
      return n.cmds.map(nodeText).join(' | ');
    case 'andor':
      return [nodeText(n.first), ...n.rest.map((r) => `${r.op} ${nodeText(r.node)}`)].join(' ');
    case 'list':
      return n.items.map((i) => nodeText(i.node) + (i.async ? ' &' : '')).join('; ');
    case 'subshell':
      return `( ${nodeText(n.body)} )`;
    case 'group':
      return `{ ${nodeText(n.body)}; }`;
    default:
      return n.t;
  }
}

function wordText(w: Word): string {
  return w.parts
    .map((p) => {
      switch (p.t) {
        case 'lit': return p.v;
        case 'q': return p.v;
        case 'dq': return `"${wordText({ parts: p.parts })}"`;
        case 'param': return `$${p.name.length > 1 || p.op ? `{${p.name}${p.op}${p.arg ? wordText(p.arg) : ''}}` : p.name}`;
        case 'cmd': return `$(${nodeText(p.body)})`;
        case 'arith': return `$((${wordText(p.expr)}))`;
        case 'tilde': return `~${p.user}`;
      }
    })
    .join('');
}

/** A job's state as `jobs` and the interactive shell's notices show it: Running, Done, Exit N, or the signal. */
export function jobStateText(status: number | null): string {
  if (status === null) return 'Running';
  if (status === 0) return 'Done';
  return status > 128 ? SIG_TEXT[status - 128] ?? `Signal ${status - 128}` : `Exit ${status}`;
}
