/**
 * The shell's lexer and recursive-descent parser (POSIX XCU 2.10 grammar, the subset listed in
 * docs/shell.md). The parser works one complete command at a time (`parseNext`), as sh does, so a
 * syntax error on line 10 of a script does not stop lines 1–9 from running; its position (`pos`,
 * `line`) is plain data saved in the shell's state between commands.
 *
 * Words keep their quoting structure (see ast.ts); keywords are recognised only where the grammar
 * allows them. An input that ends inside a construct raises `ShSyntaxError` with `incomplete` set,
 * which an interactive shell answers with its PS2 prompt.
 */
import type { Assign, Node, ParamOp, Redir, RedirOp, Word, WordPart } from './ast.js';
import { literalText } from './ast.js';

export class ShSyntaxError extends Error {
  constructor(message: string, readonly line: number, readonly incomplete = false) {
    super(message);
    this.name = 'ShSyntaxError';
  }
}

type Token =
  | { k: 'word'; w: Word; line: number }
  | { k: 'op'; v: string; line: number }
  | { k: 'io'; fd: number; line: number }
  | { k: 'nl'; line: number }
  | { k: 'eof'; line: number };

const OPS = ['&&', '||', ';;', '<<-', '<<', '<&', '<>', '>>', '>&', '>|', ';', '&', '|', '(', ')', '<', '>'];
const REDIR_OPS = new Set(['<', '>', '>>', '>|', '<>', '<&', '>&', '<<', '<<-']);
const RESERVED = new Set(['if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'case', 'esac', 'while', 'until', 'for', '{', '}', '!', 'in']);
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SPECIAL_PARAMS = '@*#?$!-0';

interface PendingHeredoc {
  redir: Redir;
  delim: string;
  strip: boolean;
}

/**
 * How deeply lists and words may nest (`( ( … ) )`, `if` in `if`, `$( $( … ) )`, `"${x:-"…"}"`).
 * The parser is recursive descent, so its depth is bounded, like dash's and bash's own stacks:
 * deeper input is refused with `syntax error: nesting too deep` (status 2) instead of exhausting
 * the host's stack. 200 levels is far beyond any script, and leaves room for everything that walks
 * the tree recursively afterwards.
 */
export const MAX_NESTING = 200;

export class Parser {
  pos: number;
  line: number;
  private peeked: Token | null = null;
  private heredocs: PendingHeredoc[] = [];

  constructor(readonly src: string, pos = 0, line = 1, private depth = 0) {
    this.pos = pos;
    this.line = line;
  }

  private enter(): void {
    if (++this.depth > MAX_NESTING) throw new ShSyntaxError(`syntax error: nesting too deep (more than ${MAX_NESTING} levels)`, this.line);
  }

  private leave(): void {
    this.depth--;
  }

  // ---- entry points ----

  /** The next complete command (one line's list), or null at the end of the input. */
  parseNext(): Node | null {
    this.skipNewlines();
    const t = this.peek();
    if (t.k === 'eof') return null;
    const node = this.parseList([], true);
    const end = this.next();
    if (end.k !== 'nl' && end.k !== 'eof') this.unexpected(end);
    return node;
  }

  /** Parses a whole text (eval, `$(…)` bodies from backquotes, trap actions). */
  static parseAll(src: string, line = 1, depth = 0): Node {
    const p = new Parser(src, 0, line, depth);
    const items: Array<{ node: Node; async: boolean }> = [];
    for (let n = p.parseNext(); n; n = p.parseNext()) items.push({ node: n, async: false });
    return { t: 'list', line, items };
  }

  // ---- tokens ----

  private peek(): Token {
    if (!this.peeked) this.peeked = this.lex();
    return this.peeked;
  }

  private next(): Token {
    const t = this.peek();
    this.peeked = null;
    return t;
  }

  private skipNewlines(): void {
    while (this.peek().k === 'nl') this.next();
  }

  private isOp(t: Token, v: string): boolean {
    return t.k === 'op' && t.v === v;
  }

  private isWord(t: Token, v: string): boolean {
    return t.k === 'word' && literalText(t.w) === v;
  }

  private unexpected(t: Token): never {
    if (t.k === 'eof') throw new ShSyntaxError('syntax error: unexpected end of file', t.line, true);
    const text = t.k === 'nl' ? 'newline' : t.k === 'op' ? t.v : t.k === 'io' ? String(t.fd) : (literalText(t.w) ?? 'word');
    throw new ShSyntaxError(`syntax error near unexpected token \`${text}'`, t.line);
  }

  private expectWord(v: string): void {
    const t = this.next();
    if (!this.isWord(t, v)) this.unexpected(t);
  }

  /** A backslash-newline at this.pos is removed (XCU 2.2.1): skips it and says so. */
  private skipLineContinuation(): boolean {
    if (this.src[this.pos] !== '\\' || this.src[this.pos + 1] !== '\n') return false;
    this.pos += 2;
    this.line++;
    return true;
  }

  private lex(): Token {
    const s = this.src;
    for (;;) {
      const c = s[this.pos];
      if (c === ' ' || c === '\t') this.pos++;
      else if (this.skipLineContinuation()) continue;
      else if (c === '#') {
        while (this.pos < s.length && s[this.pos] !== '\n') this.pos++;
      } else break;
    }
    const line = this.line;
    if (this.pos >= s.length) return { k: 'eof', line };
    const c = s[this.pos]!;
    if (c === '\n') {
      this.pos++;
      this.line++;
      this.readHeredocs();
      return { k: 'nl', line };
    }
    for (const op of OPS) {
      if (s.startsWith(op, this.pos)) {
        this.pos += op.length;
        return { k: 'op', v: op, line };
      }
    }
    const start = this.pos;
    const w = this.readWord(null);
    const raw = s.slice(start, this.pos);
    if (/^[0-9]+$/.test(raw) && (s[this.pos] === '<' || s[this.pos] === '>')) return { k: 'io', fd: Number(raw), line };
    return { k: 'word', w, line };
  }

  // ---- words ----

  /** Reads a word; with `term`, only that character (at nesting depth 0) ends it. */
  private readWord(term: string | null): Word {
    this.enter();
    const w = this.readWordIn(term);
    this.leave();
    return w;
  }

  private readWordIn(term: string | null): Word {
    const s = this.src;
    const b = new PartsBuilder('lit');
    const parts = b.parts;
    const flush = () => b.flush();
    if (term === null && s[this.pos] === '~') {
      let j = this.pos + 1;
      while (j < s.length && /[A-Za-z0-9_.-]/.test(s[j]!)) j++;
      if (j >= s.length || s[j] === '/' || /[\s;&|<>()]/.test(s[j]!)) {
        parts.push({ t: 'tilde', user: s.slice(this.pos + 1, j) });
        this.pos = j;
      }
    }
    while (this.pos < s.length) {
      const c = s[this.pos]!;
      if (term !== null) {
        if (c === term) break;
      } else if (c === ' ' || c === '\t' || c === '\n' || ';&|<>()'.includes(c)) break;
      if (this.skipLineContinuation()) continue;
      if (c === '\\') {
        const d = s[this.pos + 1];
        flush();
        if (d === undefined) {
          parts.push({ t: 'q', v: '\\' });
          this.pos++;
        } else {
          parts.push({ t: 'q', v: d });
          this.pos += 2;
        }
        continue;
      }
      if (c === "'") {
        flush();
        const end = s.indexOf("'", this.pos + 1);
        if (end < 0) throw new ShSyntaxError("unexpected EOF while looking for matching `''", this.line, true);
        const v = s.slice(this.pos + 1, end);
        this.line += countNl(v);
        parts.push({ t: 'q', v });
        this.pos = end + 1;
        continue;
      }
      if (c === '"') {
        flush();
        this.pos++;
        parts.push({ t: 'dq', parts: this.readDq('"') });
        continue;
      }
      this.plainOrExpansion(c, b);
    }
    flush();
    return { parts };
  }

  /** Inside "…" (`end` = '"') or a here-document body (`end` = null: to the end of input). */
  private readDq(end: string | null): WordPart[] {
    this.enter();
    const parts = this.readDqIn(end);
    this.leave();
    return parts;
  }

  private readDqIn(end: string | null): WordPart[] {
    const s = this.src;
    const b = new PartsBuilder('q');
    const parts = b.parts;
    const flush = () => b.flush();
    for (;;) {
      if (this.pos >= s.length) {
        if (end === null) break;
        throw new ShSyntaxError('unexpected EOF while looking for matching `"\'', this.line, true);
      }
      const c = s[this.pos]!;
      if (c === end) {
        this.pos++;
        break;
      }
      if (this.skipLineContinuation()) continue;
      if (c === '\\') {
        const d = s[this.pos + 1];
        if (d !== undefined && (d === '$' || d === '`' || d === '\\' || (end !== null && d === end))) {
          b.lit += d;
          this.pos += 2;
          continue;
        }
        b.lit += c;
        this.pos++;
        continue;
      }
      this.plainOrExpansion(c, b);
    }
    flush();
    return parts;
  }

  /** An expansion starting at `c`, else `c` as literal text. */
  private plainOrExpansion(c: string, b: PartsBuilder): void {
    const x = this.readExpansion(c);
    if (x) {
      b.flush();
      b.parts.push(x);
      return;
    }
    if (c === '\n') this.line++;
    b.lit += c;
    this.pos++;
  }

  /** `$…` or a backquoted command at this.pos; null when the character is literal. */
  private readExpansion(c: string): WordPart | null {
    if (c === '$') return this.readDollar();
    if (c === '`') return this.readBackquote();
    return null;
  }

  /** `$…` at this.pos; null when the `$` is literal. */
  private readDollar(): WordPart | null {
    const s = this.src;
    const d = s[this.pos + 1];
    if (d === '(' && s[this.pos + 2] === '(') {
      const start = this.pos + 3;
      let depth = 0;
      let j = start;
      for (; j < s.length; j++) {
        if (s[j] === '(') depth++;
        else if (s[j] === ')') {
          if (depth === 0 && s[j + 1] === ')') break;
          if (depth > 0) depth--;
        }
      }
      if (j >= s.length) throw new ShSyntaxError('unexpected EOF while looking for matching `))\'', this.line, true);
      const inner = s.slice(start, j);
      const sub = new Parser(inner, 0, this.line, this.depth);
      const expr: Word = { parts: sub.readDq(null) };
      this.line += countNl(inner);
      this.pos = j + 2;
      return { t: 'arith', expr };
    }
    if (d === '(') {
      this.pos += 2;
      const saved = this.peeked;
      this.peeked = null;
      const body = this.parseList([], false);
      const t = this.next();
      if (!this.isOp(t, ')')) this.unexpected(t);
      this.peeked = saved;
      return { t: 'cmd', body };
    }
    if (d === '{') {
      this.pos += 2;
      let len = false;
      if (s[this.pos] === '#' && s[this.pos + 1] !== '}') {
        len = true;
        this.pos++;
      }
      const name = this.readParamName();
      if (!name) throw new ShSyntaxError('bad substitution', this.line);
      if (len) {
        if (s[this.pos] !== '}') throw new ShSyntaxError('bad substitution', this.line);
        this.pos++;
        return { t: 'param', name, op: '', arg: null, len: true };
      }
      let op: ParamOp | '' = '';
      for (const cand of [':-', ':=', ':+', ':?', '##', '%%', '-', '=', '+', '?', '#', '%'] as const) {
        if (s.startsWith(cand, this.pos)) {
          op = cand;
          this.pos += cand.length;
          break;
        }
      }
      let arg: Word | null = null;
      if (op) arg = this.readWord('}');
      if (s[this.pos] !== '}') {
        if (this.pos >= s.length) throw new ShSyntaxError("unexpected EOF while looking for matching `}'", this.line, true);
        throw new ShSyntaxError('bad substitution', this.line);
      }
      this.pos++;
      return { t: 'param', name, op, arg };
    }
    if (d !== undefined && /[A-Za-z_]/.test(d)) {
      this.pos++;
      const name = this.readParamName();
      return { t: 'param', name, op: '', arg: null };
    }
    if (d !== undefined && (/[0-9]/.test(d) || SPECIAL_PARAMS.includes(d))) {
      this.pos += 2;
      return { t: 'param', name: d, op: '', arg: null };
    }
    return null;
  }

  private readParamName(): string {
    const c = this.src[this.pos];
    if (c === undefined) return '';
    if (/[A-Za-z_]/.test(c)) return this.readWhile(/[A-Za-z0-9_]/);
    if (/[0-9]/.test(c)) return this.readWhile(/[0-9]/);
    if (SPECIAL_PARAMS.includes(c)) {
      this.pos++;
      return c;
    }
    return '';
  }

  /** The run of characters matching `re` at this.pos (consumed). */
  private readWhile(re: RegExp): string {
    const start = this.pos;
    while (this.pos < this.src.length && re.test(this.src[this.pos]!)) this.pos++;
    return this.src.slice(start, this.pos);
  }

  private readBackquote(): WordPart {
    const s = this.src;
    let j = this.pos + 1;
    let inner = '';
    for (; j < s.length && s[j] !== '`'; j++) {
      if (s[j] === '\\' && (s[j + 1] === '`' || s[j + 1] === '\\' || s[j + 1] === '$')) {
        inner += s[j + 1];
        j++;
      } else inner += s[j];
    }
    if (j >= s.length) throw new ShSyntaxError('unexpected EOF while looking for matching ``\'', this.line, true);
    const line = this.line;
    this.line += countNl(s.slice(this.pos, j));
    this.pos = j + 1;
    return { t: 'cmd', body: Parser.parseAll(inner, line, this.depth) };
  }

  private readHeredocs(): void {
    const pending = this.heredocs;
    this.heredocs = [];
    const s = this.src;
    for (const h of pending) {
      let body = '';
      for (;;) {
        if (this.pos >= s.length) break;
        let eol = s.indexOf('\n', this.pos);
        if (eol < 0) eol = s.length;
        let lineText = s.slice(this.pos, eol);
        this.pos = Math.min(eol + 1, s.length);
        this.line++;
        if (h.strip) lineText = lineText.replace(/^\t+/, '');
        if (lineText === h.delim) break;
        body += lineText + '\n';
      }
      if (h.redir.literal) h.redir.target = { parts: [{ t: 'q', v: body }] };
      else h.redir.target = { parts: new Parser(body, 0, this.line).readDq(null) };
    }
  }

  // ---- grammar ----

  /**
   * A compound list: and-or lists separated by `;`, `&` or newlines, up to a reserved word in
   * `stops`, `)`, `;;` or the end. With `oneLine`, a newline ends it (a complete command).
   */
  private parseList(stops: string[], oneLine: boolean): Node {
    this.enter();
    const node = this.parseListIn(stops, oneLine);
    this.leave();
    return node;
  }

  private parseListIn(stops: string[], oneLine: boolean): Node {
    const line = this.peek().line;
    const items: Array<{ node: Node; async: boolean }> = [];
    for (;;) {
      if (!oneLine) this.skipNewlines();
      const t = this.peek();
      if (t.k === 'eof' || t.k === 'nl' || this.isOp(t, ')') || this.isOp(t, ';;')) break;
      if (t.k === 'word' && stops.includes(literalText(t.w) ?? '')) break;
      const node = this.parseAndOr();
      const sep = this.peek();
      if (this.isOp(sep, '&')) {
        this.next();
        items.push({ node, async: true });
        continue;
      }
      items.push({ node, async: false });
      if (this.isOp(sep, ';')) {
        this.next();
        continue;
      }
      if (sep.k === 'nl' && !oneLine) continue;
      break;
    }
    if (items.length === 0) {
      const t = this.peek();
      if (t.k === 'eof' && !oneLine) this.unexpected(t);
      if (t.k !== 'eof' && t.k !== 'nl') this.unexpected(t);
    }
    return items.length === 1 && !items[0]!.async ? items[0]!.node : { t: 'list', line, items };
  }

  private parseAndOr(): Node {
    const first = this.parsePipeline();
    const rest: Array<{ op: '&&' | '||'; node: Node }> = [];
    for (;;) {
      const t = this.peek();
      if (!this.isOp(t, '&&') && !this.isOp(t, '||')) break;
      this.next();
      this.skipNewlines();
      rest.push({ op: (t as { v: '&&' | '||' }).v, node: this.parsePipeline() });
    }
    return rest.length ? { t: 'andor', line: (first as { line: number }).line, first, rest } : first;
  }

  private parsePipeline(): Node {
    const line = this.peek().line;
    let bang = false;
    if (this.isWord(this.peek(), '!')) {
      this.next();
      bang = true;
    }
    const cmds = [this.parseCommand()];
    while (this.isOp(this.peek(), '|')) {
      this.next();
      this.skipNewlines();
      cmds.push(this.parseCommand());
    }
    return cmds.length === 1 && !bang ? cmds[0]! : { t: 'pipeline', line, cmds, bang };
  }

  private parseCommand(): Node {
    const t = this.peek();
    const line = t.line;
    if (this.isOp(t, '(')) {
      this.next();
      const body = this.parseList([], false);
      const close = this.next();
      if (!this.isOp(close, ')')) this.unexpected(close);
      return { t: 'subshell', line, body, redirs: this.parseRedirs() };
    }
    if (t.k === 'word') {
      const kw = literalText(t.w);
      switch (kw) {
        case '{': {
          this.next();
          const body = this.parseList(['}'], false);
          this.expectWord('}');
          return { t: 'group', line, body, redirs: this.parseRedirs() };
        }
        case 'if':
          return this.parseIf();
        case 'while':
        case 'until': {
          this.next();
          const cond = this.parseList(['do'], false);
          this.expectWord('do');
          const body = this.parseList(['done'], false);
          this.expectWord('done');
          return { t: 'loop', line, until: kw === 'until', cond, body, redirs: this.parseRedirs() };
        }
        case 'for':
          return this.parseFor();
        case 'case':
          return this.parseCase();
        case 'then': case 'else': case 'elif': case 'fi': case 'do': case 'done': case 'esac': case '}': case 'in':
          this.unexpected(t);
      }
    }
    return this.parseSimple();
  }

  private parseIf(): Node {
    const line = this.next().line;
    const clauses: Array<{ cond: Node; body: Node }> = [];
    let elseBody: Node | null = null;
    for (;;) {
      const cond = this.parseList(['then'], false);
      this.expectWord('then');
      const body = this.parseList(['elif', 'else', 'fi'], false);
      clauses.push({ cond, body });
      const t = this.next();
      if (this.isWord(t, 'elif')) continue;
      if (this.isWord(t, 'else')) {
        elseBody = this.parseList(['fi'], false);
        this.expectWord('fi');
        break;
      }
      if (this.isWord(t, 'fi')) break;
      this.unexpected(t);
    }
    return { t: 'if', line, clauses, else: elseBody, redirs: this.parseRedirs() };
  }

  private parseFor(): Node {
    const line = this.next().line;
    const nameTok = this.next();
    const name = nameTok.k === 'word' ? literalText(nameTok.w) : null;
    if (!name || !NAME_RE.test(name)) this.unexpected(nameTok);
    let words: Word[] | null = null;
    if (this.isOp(this.peek(), ';')) this.next();
    this.skipNewlines();
    if (this.isWord(this.peek(), 'in')) {
      this.next();
      words = [];
      for (;;) {
        const t = this.peek();
        if (t.k !== 'word') break;
        this.next();
        words.push(t.w);
      }
      const sep = this.next();
      if (!this.isOp(sep, ';') && sep.k !== 'nl') this.unexpected(sep);
      this.skipNewlines();
    }
    this.expectWord('do');
    const body = this.parseList(['done'], false);
    this.expectWord('done');
    return { t: 'for', line, name, words, body, redirs: this.parseRedirs() };
  }

  private parseCase(): Node {
    const line = this.next().line;
    const wt = this.next();
    if (wt.k !== 'word') this.unexpected(wt);
    this.skipNewlines();
    this.expectWord('in');
    const items: Array<{ pats: Word[]; body: Node | null }> = [];
    for (;;) {
      this.skipNewlines();
      const t = this.peek();
      if (this.isWord(t, 'esac')) {
        this.next();
        break;
      }
      if (this.isOp(t, '(')) this.next();
      const pats: Word[] = [];
      for (;;) {
        const p = this.next();
        if (p.k !== 'word') this.unexpected(p);
        pats.push(p.w);
        const sep = this.next();
        if (this.isOp(sep, ')')) break;
        if (!this.isOp(sep, '|')) this.unexpected(sep);
      }
      this.skipNewlines();
      let body: Node | null = null;
      const nt = this.peek();
      if (!this.isOp(nt, ';;') && !this.isWord(nt, 'esac')) body = this.parseList(['esac'], false);
      items.push({ pats, body });
      const end = this.peek();
      if (this.isOp(end, ';;')) {
        this.next();
        continue;
      }
      if (this.isWord(end, 'esac')) continue;
      this.unexpected(this.next());
    }
    return { t: 'case', line, word: (wt as { w: Word }).w, items, redirs: this.parseRedirs() };
  }

  private parseRedirs(): Redir[] {
    const out: Redir[] = [];
    for (;;) {
      const r = this.tryRedir();
      if (!r) return out;
      out.push(r);
    }
  }

  private tryRedir(): Redir | null {
    let t = this.peek();
    let fd: number | null = null;
    if (t.k === 'io') {
      this.next();
      fd = t.fd;
      t = this.peek();
      if (t.k !== 'op' || !REDIR_OPS.has(t.v)) this.unexpected(t);
    }
    if (t.k !== 'op' || !REDIR_OPS.has(t.v)) return null;
    this.next();
    const op = t.v as RedirOp;
    const target = this.next();
    if (target.k !== 'word') this.unexpected(target);
    const redir: Redir = { fd: fd ?? (op.startsWith('<') ? 0 : 1), op, target: target.w };
    if (op === '<<' || op === '<<-') {
      const quoted = target.w.parts.some((p) => p.t !== 'lit');
      const delim = target.w.parts.map((p) => (p.t === 'lit' || p.t === 'q' ? p.v : p.t === 'dq' ? p.parts.map((x) => (x.t === 'q' ? x.v : '')).join('') : '')).join('');
      redir.literal = quoted;
      this.heredocs.push({ redir, delim, strip: op === '<<-' });
    }
    return redir;
  }

  private parseSimple(): Node {
    const line = this.peek().line;
    const assigns: Assign[] = [];
    const words: Word[] = [];
    const redirs: Redir[] = [];
    for (;;) {
      const r = this.tryRedir();
      if (r) {
        redirs.push(r);
        continue;
      }
      const t = this.peek();
      if (t.k !== 'word') break;
      if (words.length === 0) {
        const a = asAssignment(t.w);
        if (a) {
          this.next();
          assigns.push(a);
          continue;
        }
      }
      this.next();
      words.push(t.w);
      if (words.length === 1 && assigns.length === 0 && redirs.length === 0) {
        const name = literalText(t.w);
        if (name && NAME_RE.test(name) && !RESERVED.has(name) && this.isOp(this.peek(), '(')) {
          this.next();
          const close = this.next();
          if (!this.isOp(close, ')')) this.unexpected(close);
          this.skipNewlines();
          const body = this.parseCommand();
          return { t: 'func', line, name, body };
        }
      }
    }
    if (assigns.length === 0 && words.length === 0 && redirs.length === 0) this.unexpected(this.next());
    return { t: 'simple', line, assigns, words, redirs };
  }
}

/** Collects word parts, merging consecutive literal characters into one part of kind `litKind`. */
class PartsBuilder {
  readonly parts: WordPart[] = [];
  lit = '';

  constructor(private readonly litKind: 'lit' | 'q') {}

  flush(): void {
    if (this.lit) this.parts.push({ t: this.litKind, v: this.lit });
    this.lit = '';
  }
}

function countNl(s: string): number {
  let n = 0;
  for (const c of s) if (c === '\n') n++;
  return n;
}

/** `NAME=value` (the `NAME=` prefix unquoted) as an assignment, else null. */
function asAssignment(w: Word): Assign | null {
  const first = w.parts[0];
  if (!first || first.t !== 'lit') return null;
  const eq = first.v.indexOf('=');
  if (eq <= 0 || !NAME_RE.test(first.v.slice(0, eq))) return null;
  const rest = first.v.slice(eq + 1);
  const parts: WordPart[] = rest ? [{ t: 'lit', v: rest }] : [];
  parts.push(...w.parts.slice(1));
  return { name: first.v.slice(0, eq), value: { parts } };
}
