/**
 * Word expansion (XCU 2.6): tilde, parameter, command substitution (already run: its outputs are
 * handed in, in order), arithmetic, field splitting on IFS, pathname expansion, quote removal.
 * Synchronous: everything that may sleep (running `$(…)`) happens before, in the interpreter.
 *
 * Simplification (documented): the commands of every `$(…)` in a word run before the word is
 * expanded, even inside `${x:-$(cmd)}` when x is set.
 */
import type { ParamOp, Word, WordPart } from './ast.js';

export class ExpandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExpandError';
  }
}

export interface ExpandEnv {
  /** A variable or special parameter; undefined when unset. */
  get(name: string): string | undefined;
  set(name: string, value: string): void;
  positional(): readonly string[];
  /** Outputs of the word's command substitutions, consumed front to back. */
  subs: string[];
  /** Pathnames matching a pattern (backslash-escaped literal characters), sorted. */
  glob(pattern: string): string[];
}

type Piece = { s: string; q: boolean; split: boolean } | { brk: true };

const GLOB_CHARS = /[*?[]/;

/** Backslash-escapes glob-special characters (quoted text in a pattern). */
export function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

function hasGlob(pat: string): boolean {
  for (let i = 0; i < pat.length; i++) {
    if (pat[i] === '\\') i++;
    else if (GLOB_CHARS.test(pat[i]!)) return true;
  }
  return false;
}

function unescapeGlob(pat: string): string {
  return pat.replace(/\\(.)/g, '$1');
}

/** Expands words into fields (splitting and pathname expansion): command arguments, `for` lists. */
export function expandFields(words: readonly Word[], env: ExpandEnv): string[] {
  const out: string[] = [];
  for (const w of words) {
    for (const f of splitFields(wordPieces(w.parts, env, false), env)) {
      if (f.glob && hasGlob(f.pat)) {
        const m = env.glob(f.pat);
        if (m.length) {
          out.push(...m);
          continue;
        }
      }
      out.push(f.plain);
    }
  }
  return out;
}

/** Expands one word without splitting or globbing (assignments, redirection targets, `case` word). */
export function expandString(w: Word, env: ExpandEnv): string {
  let s = '';
  for (const p of wordPieces(w.parts, env, false)) s += 'brk' in p ? ' ' : p.s;
  return s;
}

/** Expands a pattern word: quoted characters come back escaped. */
export function expandPattern(w: Word, env: ExpandEnv): string {
  let s = '';
  for (const p of wordPieces(w.parts, env, false)) {
    if ('brk' in p) s += ' ';
    else s += p.q ? escapeGlob(p.s) : p.s;
  }
  return s;
}

interface Field {
  plain: string;
  pat: string;
  glob: boolean;
}

function splitFields(pieces: Piece[], env: ExpandEnv): Field[] {
  const ifsVal = env.get('IFS');
  const ifs = ifsVal === undefined ? ' \t\n' : ifsVal;
  const fields: Field[] = [];
  let cur: Field = { plain: '', pat: '', glob: false };
  let any = false;
  const push = () => {
    fields.push(cur);
    cur = { plain: '', pat: '', glob: false };
    any = false;
  };
  for (const p of pieces) {
    if ('brk' in p) {
      push();
      continue;
    }
    if (!p.split || ifs === '') {
      cur.plain += p.s;
      cur.pat += p.q ? escapeGlob(p.s) : p.s;
      if (!p.q) cur.glob = true;
      if (p.q || p.s) any = true;
      continue;
    }
    for (const ch of p.s) {
      if (ifs.includes(ch)) {
        if (' \t\n'.includes(ch)) {
          if (any) push();
        } else push();
        continue;
      }
      cur.plain += ch;
      cur.pat += ch;
      cur.glob = true;
      any = true;
    }
  }
  if (any) push();
  return fields;
}

function wordPieces(parts: readonly WordPart[], env: ExpandEnv, inDq: boolean): Piece[] {
  const out: Piece[] = [];
  for (const part of parts) {
    switch (part.t) {
      case 'lit':
        out.push({ s: part.v, q: inDq, split: false });
        break;
      case 'q':
        out.push({ s: part.v, q: true, split: false });
        break;
      case 'dq': {
        const only = part.parts.length === 1 ? part.parts[0]! : null;
        if (only && only.t === 'param' && only.name === '@' && !only.op && env.positional().length === 0) break;
        out.push({ s: '', q: true, split: false });
        out.push(...wordPieces(part.parts, env, true));
        break;
      }
      case 'tilde': {
        const home = part.user === '' ? env.get('HOME') ?? '/' : part.user === 'root' ? '/root' : `/home/${part.user}`;
        out.push({ s: home, q: true, split: false });
        break;
      }
      case 'param':
        out.push(...paramPieces(part, env, inDq));
        break;
      case 'cmd': {
        const s = (env.subs.shift() ?? '').replace(/\n+$/, '');
        out.push({ s, q: inDq, split: !inDq });
        break;
      }
      case 'arith': {
        const v = String(arith(expandString(part.expr, env), env));
        out.push({ s: v, q: inDq, split: !inDq });
        break;
      }
    }
  }
  return out;
}

function special(name: string): boolean {
  return name === '@' || name === '*';
}

function paramPieces(part: Extract<WordPart, { t: 'param' }>, env: ExpandEnv, inDq: boolean): Piece[] {
  const { name, op, arg } = part;
  if (special(name) && !op && !part.len) {
    const pos = env.positional();
    if (name === '@' && inDq) {
      const out: Piece[] = [];
      pos.forEach((v, i) => {
        if (i > 0) out.push({ brk: true });
        out.push({ s: v, q: true, split: false });
      });
      return out;
    }
    const sep = name === '*' ? (env.get('IFS') ?? ' ')[0] ?? '' : ' ';
    return [{ s: pos.join(sep), q: inDq, split: !inDq }];
  }
  const value = env.get(name);
  if (part.len) return [{ s: String([...(value ?? '')].length), q: inDq, split: !inDq }];
  const val = (s: string): Piece[] => [{ s, q: inDq, split: !inDq }];
  const isSet = value !== undefined;
  const nonNull = isSet && value !== '';
  const argPieces = () => (arg ? wordPieces(arg.parts, env, inDq) : []);
  switch (op as ParamOp | '') {
    case '':
      return val(value ?? '');
    case ':-':
      return nonNull ? val(value!) : argPieces();
    case '-':
      return isSet ? val(value!) : argPieces();
    case ':=':
    case '=': {
      if (op === ':=' ? nonNull : isSet) return val(value!);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new ExpandError(`${name}: cannot assign in this way`);
      const v = arg ? expandString(arg, env) : '';
      env.set(name, v);
      return val(v);
    }
    case ':+':
      return nonNull ? argPieces() : [];
    case '+':
      return isSet ? argPieces() : [];
    case ':?':
    case '?': {
      if (op === ':?' ? nonNull : isSet) return val(value!);
      const msg = arg ? expandString(arg, env) : op === ':?' ? 'parameter null or not set' : 'parameter not set';
      throw new ExpandError(`${name}: ${msg}`);
    }
    case '#':
    case '##':
    case '%':
    case '%%': {
      const v = value ?? '';
      const pat = arg ? expandPattern(arg, env) : '';
      return val(trimPattern(v, pat, op as '#' | '##' | '%' | '%%'));
    }
  }
}

function trimPattern(v: string, pat: string, op: '#' | '##' | '%' | '%%'): string {
  const re = patternRegExp(pat);
  const prefix = op[0] === '#';
  // Cut points from the shortest match to the longest: `#` and `%%` try n = 0 first, `##` and `%` n = length.
  const cuts = [...Array(v.length + 1).keys()];
  if (op === '##' || op === '%') cuts.reverse();
  for (const n of cuts) {
    if (prefix ? re.test(v.slice(0, n)) : re.test(v.slice(n))) return prefix ? v.slice(n) : v.slice(0, n);
  }
  return v;
}

const reCache = new Map<string, RegExp>();

/** A glob pattern (with backslash escapes) as an anchored RegExp. */
export function patternRegExp(pat: string): RegExp {
  const hit = reCache.get(pat);
  if (hit) return hit;
  let re = '';
  for (let i = 0; i < pat.length; i++) {
    const c = pat[i]!;
    if (c === '\\') {
      const d = pat[++i];
      if (d !== undefined) re += d.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      else re += '\\\\';
    } else if (c === '*') re += '[\\s\\S]*';
    else if (c === '?') re += '[\\s\\S]';
    else if (c === '[') {
      const end = findBracketEnd(pat, i);
      if (end < 0) re += '\\[';
      else {
        let body = pat.slice(i + 1, end);
        let neg = false;
        if (body[0] === '!' || body[0] === '^') {
          neg = true;
          body = body.slice(1);
        }
        const cls = body.replace(/\\(.)/g, '$1').replace(/[\]\\^]/g, '\\$&');
        re += `[${neg ? '^' : ''}${cls}]`;
        i = end;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  const out = new RegExp(`^${re}$`);
  if (reCache.size > 500) reCache.clear();
  reCache.set(pat, out);
  return out;
}

function findBracketEnd(pat: string, i: number): number {
  let j = i + 1;
  if (pat[j] === '!' || pat[j] === '^') j++;
  if (pat[j] === ']') j++;
  for (; j < pat.length; j++) {
    if (pat[j] === '\\') j++;
    else if (pat[j] === ']') return j;
  }
  return -1;
}

/** Does `s` match the glob pattern `pat` (case patterns, `[[`-less tests)? */
export function matchPattern(s: string, pat: string): boolean {
  return patternRegExp(pat).test(s);
}

/** Splits a pathname pattern for expansion; literal components come back unescaped. */
export function globComponents(pat: string): Array<{ text: string; glob: boolean }> {
  return pat.split('/').map((c) => ({ text: hasGlob(c) ? c : unescapeGlob(c), glob: hasGlob(c) }));
}

// ---- arithmetic ($((…)), XCU 2.6.4): C integer expressions on the shell's variables ----
//
// As bash's expr.c: 64-bit two's-complement integers (intmax_t) that wrap, evaluated with BigInt;
// `&& || ?:` do not evaluate the side they skip; a variable's value is itself an expression; shift
// counts are masked to 6 bits (what x86-64 does with bash's `val1 << val2`); INTMAX_MIN / -1 is
// INTMAX_MIN and INTMAX_MIN % -1 is 0 (bash special-cases them); numbers are C-like (`0x1f`, `017`)
// or `BASE#DIGITS` (2 ≤ BASE ≤ 64); nesting beyond MAX_EXPR_RECURSION_LEVEL (1024) is an error.

type Tok = { k: 'n'; v: bigint } | { k: 'id'; v: string } | { k: 'op'; v: string };

const ARITH_OPS = ['<<=', '>>=', '**', '<<', '>>', '<=', '>=', '==', '!=', '&&', '||', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=',
  '+', '-', '*', '/', '%', '<', '>', '=', '!', '~', '&', '|', '^', '?', ':', '(', ')', ','];

/** bash's MAX_EXPR_RECURSION_LEVEL. */
const MAX_EXPR_RECURSION_LEVEL = 1024;

const wrap = (v: bigint): bigint => BigInt.asIntN(64, v);

/** A number token's value (bash's strlong): `0x`, leading-0 octal, `BASE#DIGITS`; wraps to 64 bits. */
function arithNumber(tok: string, text: string): bigint {
  const bad = (): never => {
    throw new ExpandError(`${tok}: value too great for base (error token is "${tok}")`);
  };
  let base = 10;
  let digits = tok;
  const hash = tok.indexOf('#');
  if (hash >= 0) {
    base = Number(tok.slice(0, hash));
    digits = tok.slice(hash + 1);
    if (!/^[0-9]+$/.test(tok.slice(0, hash)) || base < 2 || base > 64) throw new ExpandError(`${tok}: invalid arithmetic base (error token is "${tok}")`);
    if (digits === '') throw new ExpandError(`${text.trim()}: invalid integer constant (error token is "${tok}")`);
  } else if (/^0[xX]/.test(tok)) {
    base = 16;
    digits = tok.slice(2);
  } else if (tok.length > 1 && tok[0] === '0') {
    base = 8;
    digits = tok.slice(1);
  }
  let v = 0n;
  const B = BigInt(base);
  for (const c of digits) {
    let d: number;
    if (c >= '0' && c <= '9') d = c.charCodeAt(0) - 48;
    else if (c >= 'a' && c <= 'z') d = c.charCodeAt(0) - 87;
    else if (c >= 'A' && c <= 'Z') d = base <= 36 ? c.charCodeAt(0) - 55 : c.charCodeAt(0) - 29;
    else if (c === '@') d = 62;
    else if (c === '_') d = 63;
    else return bad();
    if (d >= base) bad();
    v = wrap(v * B + BigInt(d));
  }
  return v;
}

function arithTokens(s: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const num = /^[0-9][0-9A-Za-z_@#]*/.exec(s.slice(i, i + 200));
    if (num) {
      out.push({ k: 'n', v: arithNumber(num[0], s) });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i, i + 1000));
    if (id) {
      out.push({ k: 'id', v: id[0] });
      i += id[0].length;
      continue;
    }
    const op = ARITH_OPS.find((o) => s.startsWith(o, i));
    if (!op) throw new ExpandError(`${s}: syntax error: invalid arithmetic operator (error token is "${s.slice(i)}")`);
    out.push({ k: 'op', v: op });
    i += op.length;
  }
  return out;
}

/** Binary operators by precedence (higher binds tighter); `**` is right-associative. */
const PREC: Record<string, number> = {
  '||': 1, '&&': 2, '|': 3, '^': 4, '&': 5, '==': 6, '!=': 6, '<': 7, '<=': 7, '>': 7, '>=': 7,
  '<<': 8, '>>': 8, '+': 9, '-': 9, '*': 10, '/': 10, '%': 10, '**': 11,
};

/** Evaluates an arithmetic expression (a decimal string of a 64-bit value); variables go through `env`. */
export function arith(text: string, env: ExpandEnv): bigint {
  return arithAt(text, env, 0);
}

function arithAt(text: string, env: ExpandEnv, depth0: number): bigint {
  const toks = arithTokens(text);
  let i = 0;
  let depth = depth0;
  /** > 0 while evaluating a side that `&&`, `||` or `?:` skips: parsed, not evaluated. */
  let noeval = 0;
  const fail = (): never => {
    throw new ExpandError(`${text.trim()}: syntax error in expression`);
  };
  const deeper = (tokText: string) => {
    if (++depth > MAX_EXPR_RECURSION_LEVEL) throw new ExpandError(`${text.trim().slice(0, 40)}: expression recursion level exceeded (error token is "${tokText.slice(0, 40)}")`);
  };
  const peek = () => toks[i];
  const isOp = (v: string) => {
    const t = toks[i];
    return t !== undefined && t.k === 'op' && t.v === v;
  };
  const varValue = (name: string): bigint => {
    if (noeval) return 0n;
    const v = env.get(name);
    if (v === undefined || v.trim() === '') return 0n;
    if (/^\s*-?[0-9]+\s*$/.test(v) && v.trim().length < 19) return BigInt(v.trim());
    deeper(name);
    const r = arithAt(v, env, depth);
    depth--;
    return r;
  };
  const comma = (): bigint => {
    let v = assignment();
    while (isOp(',')) {
      i++;
      v = assignment();
    }
    return v;
  };
  const assignment = (): bigint => {
    const t = peek();
    const n = toks[i + 1];
    if (t && t.k === 'id' && n && n.k === 'op' && /^(=|[-+*/%&|^]=|<<=|>>=)$/.test(n.v)) {
      i += 2;
      deeper(t.v);
      const rhs = assignment();
      depth--;
      if (noeval) return 0n;
      const v = n.v === '=' ? rhs : binop(n.v.slice(0, -1), varValue(t.v), rhs);
      env.set(t.v, String(v));
      return v;
    }
    return ternary();
  };
  const ternary = (): bigint => {
    const c = binary(1);
    if (!isOp('?')) return c;
    i++;
    deeper('?');
    if (!c) noeval++;
    const a = comma();
    if (!c) noeval--;
    if (!isOp(':')) fail();
    i++;
    if (c) noeval++;
    const b = ternary();
    if (c) noeval--;
    depth--;
    return c ? a : b;
  };
  /** Precedence climbing: operators binding at least as tightly as `min`. */
  const binary = (min: number): bigint => {
    let left = unary();
    for (;;) {
      const t = peek();
      const prec = t && t.k === 'op' ? PREC[t.v] : undefined;
      if (prec === undefined || prec < min) return left;
      i++;
      deeper(t!.v as string);
      const skip = (t!.v === '&&' && !left) || (t!.v === '||' && !!left);
      if (skip) noeval++;
      const right = binary(t!.v === '**' ? prec : prec + 1);
      if (skip) noeval--;
      depth--;
      left = t!.v === '&&' ? (left && right ? 1n : 0n) : t!.v === '||' ? (left || right ? 1n : 0n) : noeval ? 0n : binop(t!.v as string, left, right);
    }
  };
  const unary = (): bigint => {
    const t = peek();
    if (t && t.k === 'op') {
      if (t.v === '-' || t.v === '+' || t.v === '!' || t.v === '~') {
        i++;
        deeper(t.v);
        const v = unary();
        depth--;
        return t.v === '-' ? wrap(-v) : t.v === '+' ? v : t.v === '!' ? (v ? 0n : 1n) : wrap(~v);
      }
      if (t.v === '(') {
        i++;
        deeper('(');
        const v = comma();
        depth--;
        if (!isOp(')')) fail();
        i++;
        return v;
      }
    }
    if (!t) fail();
    i++;
    if (t!.k === 'n') return t!.v as bigint;
    if (t!.k === 'id') return varValue(t!.v as string);
    return fail();
  };
  function binop(op: string, a: bigint, b: bigint): bigint {
    switch (op) {
      case '|': return a | b;
      case '^': return a ^ b;
      case '&': return a & b;
      case '==': return a === b ? 1n : 0n;
      case '!=': return a !== b ? 1n : 0n;
      case '<': return a < b ? 1n : 0n;
      case '<=': return a <= b ? 1n : 0n;
      case '>': return a > b ? 1n : 0n;
      case '>=': return a >= b ? 1n : 0n;
      case '<<': return wrap(a << (b & 63n));
      case '>>': return a >> (b & 63n);
      case '+': return wrap(a + b);
      case '-': return wrap(a - b);
      case '*': return wrap(a * b);
      case '**': {
        if (b < 0n) throw new ExpandError(`${text.trim()}: exponent less than 0 (error token is "${b}")`);
        let r = 1n;
        let x = a;
        for (let e = b; e > 0n; e >>= 1n) {
          if (e & 1n) r = wrap(r * x);
          x = wrap(x * x);
        }
        return r;
      }
      case '/':
      case '%':
        if (b === 0n) throw new ExpandError(`${text.trim()}: division by 0`);
        if (b === -1n) return op === '/' ? wrap(-a) : 0n;
        return op === '/' ? a / b : a % b;
    }
    return fail();
  }
  if (toks.length === 0) return 0n;
  const v = comma();
  if (i < toks.length) fail();
  return v;
}
