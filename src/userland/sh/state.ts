/**
 * The shell's state: variables, functions, positional parameters, traps, jobs, the source being
 * read, and the execution stack. Everything is plain data; the stack of frames *is* the shell's
 * control flow (see interp.ts), so a checkpoint between two steps captures a shell inside a loop,
 * a pipeline or a `$(…)`, and a fork copies it as a real fork copies a shell's memory.
 */
import type { Node, Redir, Word } from './ast.js';
import type { SysResult } from '../../kernel/state.js';

export interface Job {
  id: number;
  pid: number;
  cmd: string;
  /** Shell exit status once reaped, else null. */
  status: number | null;
}

export interface Source {
  text: string;
  pos: number;
  line: number;
  /** No more text will come (a script or -c string; false while an interactive shell reads). */
  eof: boolean;
}

interface FrameBase {
  /** Status handed back by the frame pushed above this one. */
  ret?: number;
  /** Result of the syscall this frame yielded. */
  res?: SysResult;
}

export type Frame = FrameBase &
  (
    | { k: 'top'; phase: 'next' | 'prompt' | 'read'; first: boolean; ps2: boolean }
    | { k: 'list'; items: Array<{ node: Node; async: boolean }>; i: number }
    | { k: 'andor'; node: Extract<Node, { t: 'andor' }>; i: number }
    | {
        k: 'simple';
        node: Extract<Node, { t: 'simple' }>;
        phase: 'start' | 'run' | 'builtin-done' | 'fork' | 'wait';
        subs: string[] | null;
        execLast: boolean;
        saved: Array<[number, number]>;
        pid: number;
        /** Expanded before forking, so the child does not expand again. */
        argv: string[];
        assigns: Array<[string, string]>;
        redirSubs: string[];
        /** A builtin's write failed with EPIPE and the shell has yielded once (for SIGPIPE). */
        werrYield?: boolean;
      }
    | {
        k: 'pipe';
        node: Extract<Node, { t: 'pipeline' }>;
        phase: 'spawn' | 'spawned' | 'wait' | 'single';
        i: number;
        pids: number[];
        rfd: number;
        next: [number, number] | null;
        status: number;
      }
    | { k: 'fork'; node: Node; bg: boolean; phase: 'fork' | 'wait'; pid: number; text: string }
    | { k: 'exit-after' }
    | { k: 'redir'; redirs: Redir[]; node: Node; phase: 'apply' | 'done'; saved: Array<[number, number]>; subs: string[] | null }
    | { k: 'if'; node: Extract<Node, { t: 'if' }>; i: number; phase: 'cond' | 'body' }
    | { k: 'loop'; node: Extract<Node, { t: 'loop' }>; phase: 'cond' | 'body'; status: number }
    | { k: 'for'; node: Extract<Node, { t: 'for' }>; phase: 'start' | 'body'; items: string[]; i: number; subs: string[] | null; status: number }
    | { k: 'case'; node: Extract<Node, { t: 'case' }>; phase: 'start' | 'body'; subs: string[] | null }
    | { k: 'subst'; words: Word[]; cmds: Node[]; outs: string[] }
    | { k: 'cmdsub'; body: Node; phase: 'fork' | 'read' | 'wait'; rfd: number; wfd: number; pid: number; chunks: Uint8Array[] }
    | { k: 'func'; saved: string[] }
    | { k: 'trap'; status: number }
    | { k: 'exit-trap'; code: number }
    | { k: 'const'; v: number }
    | { k: 'bi-wait'; pids: number[]; i: number; status: number; any: boolean }
    | { k: 'bi-read'; vars: string[]; raw: boolean; buf: number[] }
    /** A syscall made for a builtin: `print` its value (`syscall`), its status only, or report a failed exec. */
    | { k: 'bi-call'; name: string; args: unknown[]; mode: 'print' | 'status' | 'exec'; label: string; left?: number }
  );

export interface ShState {
  vars: Record<string, string>;
  exported: Record<string, boolean>;
  funcs: Record<string, Node>;
  pos: string[];
  arg0: string;
  /** $? */
  status: number;
  /** $! (0: none yet). */
  lastBg: number;
  /** $$: the shell's pid, kept by subshells. */
  pid: number;
  interactive: boolean;
  /** How the shell got its commands: -c string, a script file, standard input, interactive. */
  mode: 'c' | 'script' | 'stdin' | 'interactive';
  src: Source;
  frames: Frame[];
  /** Trap actions by signal number ('0' = EXIT); '' means ignored. */
  traps: Record<string, string>;
  pendingSigs: number[];
  jobs: Job[];
  nextJob: number;
  /** Current line (for error messages). */
  line: number;
  /** Set in forked children (subshells, pipeline parts, $(…), background jobs). */
  sub: boolean;
  /** Options from `set` (letters; -x is honoured, others recorded). */
  opts: string;
}
