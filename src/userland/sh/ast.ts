/**
 * The shell's syntax tree. Plain data (it lives in the shell's program state: functions, the
 * command being run, loops in progress), so a checkpoint captures a shell mid-script.
 */

export type WordPart =
  /** Unquoted text: subject to pathname expansion. */
  | { t: 'lit'; v: string }
  /** Quoted text ('…', \x, or the literal parts of "…"). */
  | { t: 'q'; v: string }
  /** "…": its expansions are not field-split or globbed. */
  | { t: 'dq'; parts: WordPart[] }
  /** $name, ${name}, ${name op word}, ${#name}. */
  | { t: 'param'; name: string; op: ParamOp | ''; arg: Word | null; len?: boolean }
  /** $(…) or `…`. */
  | { t: 'cmd'; body: Node }
  /** $((…)). */
  | { t: 'arith'; expr: Word }
  /** ~ or ~user at the start of a word. */
  | { t: 'tilde'; user: string };

export type ParamOp = ':-' | '-' | ':=' | '=' | ':+' | '+' | ':?' | '?' | '#' | '##' | '%' | '%%';

export interface Word {
  parts: WordPart[];
}

export type RedirOp = '<' | '>' | '>>' | '>|' | '<>' | '<&' | '>&' | '<<' | '<<-';

export interface Redir {
  /** Target descriptor (default 0 for input operators, 1 for output). */
  fd: number;
  op: RedirOp;
  /** File, fd number, `-`, or (here-documents) the body. */
  target: Word;
  /** Here-document whose delimiter was quoted: the body is literal. */
  literal?: boolean;
}

export interface Assign {
  name: string;
  value: Word;
}

export type Node =
  | { t: 'simple'; line: number; assigns: Assign[]; words: Word[]; redirs: Redir[] }
  | { t: 'pipeline'; line: number; cmds: Node[]; bang: boolean }
  | { t: 'andor'; line: number; first: Node; rest: Array<{ op: '&&' | '||'; node: Node }> }
  | { t: 'list'; line: number; items: Array<{ node: Node; async: boolean }> }
  | { t: 'subshell'; line: number; body: Node; redirs: Redir[] }
  | { t: 'group'; line: number; body: Node; redirs: Redir[] }
  | { t: 'if'; line: number; clauses: Array<{ cond: Node; body: Node }>; else: Node | null; redirs: Redir[] }
  | { t: 'loop'; line: number; until: boolean; cond: Node; body: Node; redirs: Redir[] }
  | { t: 'for'; line: number; name: string; words: Word[] | null; body: Node; redirs: Redir[] }
  | { t: 'case'; line: number; word: Word; items: Array<{ pats: Word[]; body: Node | null }>; redirs: Redir[] }
  | { t: 'func'; line: number; name: string; body: Node };

/** The text of a word made only of literal parts (keywords, names), else null. */
export function literalText(w: Word): string | null {
  let s = '';
  for (const p of w.parts) {
    if (p.t !== 'lit') return null;
    s += p.v;
  }
  return s;
}
