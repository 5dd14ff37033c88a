/**
 * The shell interpreter core: an explicit stack machine over the syntax tree (frame families in
 * top.ts, compound.ts, simple.ts, external.ts, jobs.ts, subst.ts, redir.ts and builtins.ts; the
 * dispatch over frame kinds in interp.ts).
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
import { SIGSEGV, S_IFDIR, S_IFMT } from '../../abi/constants.js';
import type { StepOutcome } from '../../syscalls/program.js';
import { untypedCall } from '../../syscalls/table.js';
import type { Proc } from '../lib/program.js';
import { forceSignal } from '../lib/program.js';
import { readDir } from '../lib/files.js';
import type { Node } from './ast.js';
import { globComponents, matchPattern, type ExpandEnv } from './expand.js';
import { Parser, ShSyntaxError } from './parse.js';
import type { Frame, ShState } from './state.js';

/** Frames run per step before the shell yields the CPU (a loop of builtins stays fair). */
const BUDGET = 2000;
/**
 * The shell's stack limit, in frames. A shell's control stack lives on its process stack, which
 * RLIMIT_STACK bounds (8 MiB by default): bash dies of SIGSEGV on runaway recursion (`f() { f; };
 * f` after about 10,000 levels), and so does this shell when its frames pass this bound (about
 * 10,000 levels of such a function) — instead of growing the host's memory without end.
 */
export const MAX_FRAMES = 40000;
/**
 * The largest variable value (characters). A shell whose memory runs out (RLIMIT_AS, or the
 * machine's) fails to allocate and exits, as bash's xmalloc does: `sh: memory exhausted`, status 2.
 */
export const MAX_VALUE = 64 * 1024 * 1024;
/** The shell's signal handler "address": a caught signal interrupts its sleep and is queued for its trap. */
export const SH_HANDLER = 2;

export type Outcome = StepOutcome;
export type F<K extends Frame['k']> = Extract<Frame, { k: K }>;

export abstract class Shell {
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

  /** Runs one step of frame `f` (the dispatch over frame kinds lives in interp.ts). */
  protected abstract exec(f: Frame): Outcome;

  // ---- lists ----

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

  // ---- simple commands ----

  // ---- compound commands ----

}

function join(base: string, name: string): string {
  if (base === '') return name;
  return base.endsWith('/') ? base + name : `${base}/${name}`;
}

