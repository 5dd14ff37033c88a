/**
 * Text processing filters as GNU coreutils and GNU sed behave for the options they support:
 * tr (-d -s -c), cut (-b -c -f -d -s), sed (s///, d, p, q, =, -n, -e, -E; line, `$` and /re/
 * addresses, ranges, `!`), sort (-n -r -u -k -t), uniq (-c -d -u -i), tee (-a). Anything else is
 * refused with coreutils' message (`invalid option -- 'x'`, `Try 'prog --help' …`, status 1; sed's
 * `-e expression #1, char N: …`). Lines are split on bytes, so multi-byte text is never cut inside
 * a character; the C locale's byte order is the collation.
 */
import { ErrnoError, WouldBlockError, strerror } from '../../abi/errno.js';
import { O_APPEND, O_CREAT, O_TRUNC, O_WRONLY } from '../../abi/constants.js';
import { getopt, UsageError } from '../lib/args.js';
import { newInput, pumpInput, type InputState } from '../lib/input.js';
import { toBytes, toText } from '../lib/program.js';
import { breToJs, defineFilter } from './filters.js';

// ---- lines out of byte chunks ----

interface LineBuf {
  rest: Uint8Array;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Calls `each` for every complete line of `b` (after what was left over), keeping the rest. */
function splitLines(st: LineBuf, b: Uint8Array, each: (line: string) => void): void {
  const buf = st.rest.length ? concat(st.rest, b) : b;
  let start = 0;
  for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, start)) {
    each(toText(buf.subarray(start, i)));
    start = i + 1;
  }
  st.rest = buf.slice(start);
}

/** The last line when the input did not end with a newline. */
function lastLine(st: LineBuf, each: (line: string) => void): void {
  if (st.rest.length) each(toText(st.rest));
  st.rest = new Uint8Array(0);
}

const TRY = true;

// ---- tr ----

const CLASSES: Record<string, (c: number) => boolean> = {
  alnum: (c) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122),
  alpha: (c) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122),
  digit: (c) => c >= 48 && c <= 57,
  lower: (c) => c >= 97 && c <= 122,
  upper: (c) => c >= 65 && c <= 90,
  space: (c) => c === 32 || (c >= 9 && c <= 13),
  blank: (c) => c === 32 || c === 9,
  punct: (c) => (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126),
  print: (c) => c >= 32 && c <= 126,
  graph: (c) => c >= 33 && c <= 126,
  cntrl: (c) => c < 32 || c === 127,
  xdigit: (c) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102),
};

/** A tr SET as a list of bytes: ranges `a-z`, classes `[:alpha:]`, escapes `\n \t \\ \NNN`. */
export function trSet(spec: string): number[] {
  const b = toBytes(spec);
  const out: number[] = [];
  const esc = (i: number): [number, number] => {
    const d = b[i + 1];
    if (d === undefined) return [92, 1];
    const map: Record<number, number> = { 110: 10, 116: 9, 114: 13, 97: 7, 98: 8, 102: 12, 118: 11, 92: 92 };
    if (d >= 48 && d <= 55) {
      let v = 0;
      let n = 0;
      while (n < 3 && b[i + 1 + n] !== undefined && b[i + 1 + n]! >= 48 && b[i + 1 + n]! <= 55) v = v * 8 + b[i + 1 + n++]! - 48;
      return [v & 0xff, n + 1];
    }
    return [map[d] ?? d, 2];
  };
  for (let i = 0; i < b.length; ) {
    const m = /^\[:([a-z]+):\]/.exec(spec.slice(i));
    if (b[i] === 91 && m && toBytes(spec.slice(0, i)).length === i) {
      const cls = CLASSES[m[1]!];
      if (!cls) throw new UsageError(`invalid character class '${m[1]}'`);
      for (let c = 0; c < 256; c++) if (cls(c)) out.push(c);
      i += m[0].length;
      continue;
    }
    let [c, n] = b[i] === 92 ? esc(i) : [b[i]!, 1];
    i += n;
    if (b[i] === 45 && i + 1 < b.length) {
      const [hi, n2] = b[i + 1] === 92 ? esc(i + 1) : [b[i + 1]!, 1];
      if (hi < c) throw new UsageError(`range-endpoints of '${String.fromCharCode(c)}-${String.fromCharCode(hi)}' are in reverse collating sequence order`);
      for (; c <= hi; c++) out.push(c);
      i += 1 + n2;
      continue;
    }
    out.push(c);
  }
  return out;
}

interface TrState {
  inp: InputState;
  del: boolean;
  squeeze: boolean;
  /** byte → byte (-1: unchanged). */
  map: number[];
  /** Bytes deleted (-d) and squeezed (-s). */
  delSet: boolean[];
  sqSet: boolean[];
  last: number;
}

defineFilter<TrState>(
  '/bin/tr',
  1,
  (args) => {
    const { opts, operands } = getopt(args, { short: 'dscC', permute: true, long: { delete: 'd', 'squeeze-repeats': 's', complement: 'c' } });
    const del = opts.has('d');
    const squeeze = opts.has('s');
    const comp = opts.has('c') || opts.has('C');
    if (operands.length === 0) throw new UsageError('missing operand');
    const need = del && squeeze ? 2 : del || (squeeze && operands.length === 1) ? 1 : 2;
    if (operands.length < need) {
      throw new UsageError(`missing operand after '${operands[operands.length - 1]}'${need === 2 && !del && !squeeze ? '\nTwo strings must be given when translating.' : ''}`);
    }
    if (operands.length > need) throw new UsageError(`extra operand '${operands[need]}'${del && !squeeze ? '\nOnly one string may be given when deleting without squeezing repeats.' : ''}`);
    let set1 = trSet(operands[0]!);
    if (comp) {
      const inSet = new Set(set1);
      set1 = [];
      for (let c = 0; c < 256; c++) if (!inSet.has(c)) set1.push(c);
    }
    const map = new Array<number>(256).fill(-1);
    const delSet = new Array<boolean>(256).fill(false);
    const sqSet = new Array<boolean>(256).fill(false);
    if (del) for (const c of set1) delSet[c] = true;
    const set2 = operands[1] !== undefined ? trSet(operands[1]) : null;
    if (!del && set2) {
      if (set2.length === 0 && set1.length > 0) throw new UsageError('when not truncating set1, string2 must be non-empty');
      set1.forEach((c, i) => (map[c] = set2[Math.min(i, set2.length - 1)]!));
    }
    if (squeeze) for (const c of set2 ?? set1) sqSet[c] = true;
    return { inp: newInput([]), del, squeeze, map, delSet, sqSet, last: -1 };
  },
  (p, s) => {
    const out = pumpInput(p, 'tr', s.inp, {
      data(b) {
        const o = new Uint8Array(b.length);
        let n = 0;
        for (const x of b) {
          if (s.delSet[x]) continue;
          const y = s.map[x]! >= 0 ? s.map[x]! : x;
          if (s.squeeze && s.sqSet[y] && y === s.last) continue;
          s.last = y;
          o[n++] = y;
        }
        p.out(o.subarray(0, n));
      },
    });
    if (out !== null) return out;
    return p.exit(s.inp.failed);
  },
  TRY,
);

// ---- cut ----

/** A LIST of cut: `N`, `N-M`, `N-`, `-M`, comma-separated; 1-based, as [from, to] pairs. */
export function cutList(list: string, what: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const part of list.split(',')) {
    const m = /^([0-9]*)(-?)([0-9]*)$/.exec(part);
    if (!m || part === '' || part === '-') throw new UsageError(`invalid ${what} range`);
    const a = m[1] ? Number(m[1]) : 1;
    const b = m[2] ? (m[3] ? Number(m[3]) : Infinity) : a;
    if (a === 0 || b === 0) throw new UsageError(`${what}s are numbered from 1`);
    if (b < a) throw new UsageError('invalid decreasing range');
    out.push([a, b]);
  }
  return out;
}

interface CutState {
  inp: InputState;
  lines: LineBuf;
  mode: 'b' | 'f';
  ranges: Array<[number, number]>;
  delim: string;
  onlyDelimited: boolean;
}

defineFilter<CutState>(
  '/bin/cut',
  1,
  (args) => {
    const { opts, operands } = getopt(args, { short: 'b:c:f:d:sn', permute: true, long: { 'bytes=': 'b', 'characters=': 'c', 'fields=': 'f', 'delimiter=': 'd', 'only-delimited': 's' } });
    const kinds = ['b', 'c', 'f'].filter((k) => opts.has(k));
    if (kinds.length === 0) throw new UsageError('you must specify a list of bytes, characters, or fields');
    if (kinds.length > 1) throw new UsageError('only one type of list may be specified');
    const d = opts.get('d')?.[0];
    if (d !== undefined && kinds[0] !== 'f') throw new UsageError('an input delimiter may be specified only when operating on fields');
    if (opts.has('s') && kinds[0] !== 'f') throw new UsageError('suppressing non-delimited lines makes sense\n\tonly when operating on fields');
    if (d !== undefined && toBytes(d).length !== 1) throw new UsageError('the delimiter must be a single character');
    const k = kinds[0]!;
    const list = opts.get(k)![0]!;
    return {
      inp: newInput(operands), lines: { rest: new Uint8Array(0) }, mode: k === 'f' ? 'f' : 'b', ranges: cutList(list, k === 'f' ? 'field' : 'byte/character'),
      delim: d ?? '\t', onlyDelimited: opts.has('s'),
    };
  },
  (p, s) => {
    const pick = (n: number) => s.ranges.some(([a, b]) => n >= a && n <= b);
    const line = (l: string) => {
      if (s.mode === 'b') {
        const b = toBytes(l);
        const keep: number[] = [];
        for (let i = 0; i < b.length; i++) if (pick(i + 1)) keep.push(b[i]!);
        p.out(Uint8Array.from([...keep, 10]));
        return;
      }
      if (!l.includes(s.delim)) {
        if (!s.onlyDelimited) p.out(l + '\n');
        return;
      }
      p.out(l.split(s.delim).filter((_, i) => pick(i + 1)).join(s.delim) + '\n');
    };
    const out = pumpInput(p, 'cut', s.inp, { data: (b) => splitLines(s.lines, b, line), end: () => lastLine(s.lines, line) });
    if (out !== null) return out;
    return p.exit(s.inp.failed);
  },
  TRY,
);

// ---- sed ----

type SedAddr = { k: 'line'; n: number } | { k: 'last' } | { k: 're'; re: string; flags: string };

interface SedCmd {
  a1: SedAddr | null;
  a2: SedAddr | null;
  neg: boolean;
  c: 's' | 'd' | 'p' | 'q' | '=';
  /** s: regexp source, flags, replacement, global, print, nth occurrence. */
  re?: string;
  reFlags?: string;
  rep?: string;
  g?: boolean;
  pr?: boolean;
  nth?: number;
  code?: number;
  /** A range is active (between its first and last address). */
  active?: boolean;
}

/** A script error: GNU sed prints it without the `Try 'sed --help'` line. */
class SedError extends UsageError {
  readonly bare = true;
}

/** Parses a sed script (GNU sed's messages: `-e expression #N, char C: …`). */
export function parseSed(script: string, expr: number, ere: boolean): SedCmd[] {
  const cmds: SedCmd[] = [];
  let i = 0;
  const fail = (msg: string): never => {
    throw new SedError(`-e expression #${expr}, char ${i}: ${msg}`);
  };
  const toRe = (src: string) => {
    const js = ere ? src : breToJs(src);
    try {
      new RegExp(js);
    } catch {
      fail('Invalid regular expression');
    }
    return js;
  };
  /** Text up to an unescaped `delim` (a `\delim` stands for delim; `\n` is a newline). */
  const delimited = (delim: string, what: string): string => {
    let out = '';
    for (;;) {
      if (i >= script.length) fail(`unterminated ${what}`);
      const c = script[i++]!;
      if (c === delim) return out;
      if (c === '\\' && i < script.length) {
        const d = script[i++]!;
        out += d === delim ? d : d === 'n' ? '\n' : `\\${d}`;
        continue;
      }
      if (c === '\n' && what !== "`s' command") fail(`unterminated ${what}`);
      out += c;
    }
  };
  const addr = (): SedAddr | null => {
    const c = script[i];
    if (c !== undefined && /[0-9]/.test(c)) {
      const m = /^[0-9]+/.exec(script.slice(i))!;
      i += m[0].length;
      return { k: 'line', n: Number(m[0]) };
    }
    if (c === '$') {
      i++;
      return { k: 'last' };
    }
    if (c === '/' || c === '\\') {
      i++;
      const delim = c === '/' ? '/' : script[i++] ?? fail('unexpected `,\'');
      const src = delimited(delim, 'address regex');
      let flags = '';
      if (script[i] === 'I') {
        flags = 'i';
        i++;
      }
      return { k: 're', re: toRe(src), flags };
    }
    return null;
  };
  for (;;) {
    while (i < script.length && /[\s;]/.test(script[i]!)) i++;
    if (i >= script.length) break;
    const a1 = addr();
    let a2: SedAddr | null = null;
    if (a1 && script[i] === ',') {
      i++;
      a2 = addr();
      if (!a2) fail('unexpected `,\'');
    }
    while (script[i] === ' ') i++;
    let neg = false;
    while (script[i] === '!') {
      neg = true;
      i++;
    }
    while (script[i] === ' ') i++;
    const c = script[i++];
    if (c === undefined) fail('missing command');
    const cmd: SedCmd = { a1, a2, neg, c: c as SedCmd['c'] };
    switch (c) {
      case 'd':
      case 'p':
      case '=':
        break;
      case 'q': {
        if (a2) fail('command only uses one address');
        const m = /^\s*([0-9]+)/.exec(script.slice(i));
        cmd.code = m ? Number(m[1]) : 0;
        if (m) i += m[0].length;
        break;
      }
      case 's': {
        const delim = script[i++];
        if (delim === undefined || delim === '\n' || delim === '\\') fail("unterminated `s' command");
        const src = delimited(delim!, "`s' command");
        const rep = delimited(delim!, "`s' command");
        cmd.g = false;
        cmd.pr = false;
        cmd.nth = 1;
        let flags = '';
        for (; i < script.length && !/[\s;}]/.test(script[i]!); i++) {
          const f = script[i]!;
          if (f === 'g') cmd.g = true;
          else if (f === 'p') cmd.pr = true;
          else if (f === 'i' || f === 'I') flags += 'i';
          else if (/[0-9]/.test(f)) {
            const m = /^[0-9]+/.exec(script.slice(i))!;
            cmd.nth = Number(m[0]);
            if (cmd.nth === 0) fail("number option to `s' command may not be zero");
            i += m[0].length - 1;
          } else fail("unknown option to `s'");
        }
        cmd.re = toRe(src);
        cmd.reFlags = flags;
        cmd.rep = rep;
        break;
      }
      default:
        fail(`unknown command: \`${c}'`);
    }
    while (script[i] === ' ') i++;
    if (i < script.length && !/[\n;}]/.test(script[i]!)) fail(`extra characters after command`);
    cmds.push(cmd);
  }
  return cmds;
}

/** The replacement of one match: `&`, `\1`…`\9`, `\n`, `\&`. */
function sedReplace(rep: string, m: RegExpExecArray): string {
  let out = '';
  for (let i = 0; i < rep.length; i++) {
    const c = rep[i]!;
    if (c === '&') out += m[0];
    else if (c === '\\' && i + 1 < rep.length) {
      const d = rep[++i]!;
      if (/[0-9]/.test(d)) out += m[Number(d)] ?? '';
      else out += d === 'n' ? '\n' : d === 't' ? '\t' : d;
    } else out += c;
  }
  return out;
}

interface SedState {
  inp: InputState;
  lines: LineBuf;
  cmds: SedCmd[];
  quiet: boolean;
  n: number;
  /** The line read ahead (to know whether the current one is the last): [text, had a newline]. */
  held: [string, boolean] | null;
  quit: number | null;
  missingNl: boolean;
}

defineFilter<SedState>(
  '/bin/sed',
  1,
  (args) => {
    const { opts, operands } = getopt(args, { short: 'ne:Er', permute: true, long: { quiet: 'n', silent: 'n', 'expression=': 'e', 'regexp-extended': 'E' } });
    const ere = opts.has('E') || opts.has('r');
    const scripts = opts.get('e') ?? [];
    const files = [...operands];
    if (scripts.length === 0) {
      if (files.length === 0) throw new UsageError('no script specified');
      scripts.push(files.shift()!);
    }
    const cmds = scripts.flatMap((sc, n) => parseSed(sc, n + 1, ere));
    return { inp: newInput(files), lines: { rest: new Uint8Array(0) }, cmds, quiet: opts.has('n'), n: 0, held: null, quit: null, missingNl: false };
  },
  (p, s) => {
    const match = (a: SedAddr, text: string, last: boolean) =>
      a.k === 'line' ? s.n === a.n : a.k === 'last' ? last : new RegExp(a.re, a.flags).test(text);
    const selected = (c: SedCmd, text: string, last: boolean): boolean => {
      let on: boolean;
      if (!c.a1) on = true;
      else if (!c.a2) on = match(c.a1, text, last);
      else if (c.active) {
        on = true;
        if (c.a2.k === 'line' ? s.n >= c.a2.n : match(c.a2, text, last)) c.active = false;
      } else if (match(c.a1, text, last)) {
        on = true;
        // A second address that is a line number ≤ the current one ends the range at once.
        c.active = !(c.a2.k === 'line' ? c.a2.n <= s.n : c.a2.k === 'last' ? last : false);
      } else on = false;
      return on !== c.neg;
    };
    const run = (text: string, nl: boolean, last: boolean) => {
      if (s.quit !== null) return;
      s.n++;
      let ps = text;
      // GNU sed's output_missing_newline: a last line without a newline is written without one, and
      // the newline is added only if more output follows.
      const w = (t: string) => {
        if (s.missingNl) p.out('\n');
        s.missingNl = false;
        p.out(t);
      };
      const emit = (t: string) => {
        w(t);
        if (nl || !last) p.out('\n');
        else s.missingNl = true;
      };
      for (const c of s.cmds) {
        if (!selected(c, ps, last)) continue;
        if (c.c === 'd') return;
        if (c.c === 'p') emit(ps);
        else if (c.c === '=') w(`${s.n}\n`);
        else if (c.c === 'q') {
          if (!s.quiet) emit(ps);
          s.quit = c.code ?? 0;
          s.inp.stop = true;
          return;
        } else if (c.c === 's') {
          const re = new RegExp(c.re!, 'g' + c.reFlags!);
          let count = 0;
          let done = false;
          let out = '';
          let at = 0;
          for (let m = re.exec(ps); m; m = re.exec(ps)) {
            count++;
            if (count >= c.nth! && (c.g || count === c.nth)) {
              out += ps.slice(at, m.index) + sedReplace(c.rep!, m);
              at = m.index + m[0].length;
              done = true;
            }
            if (m[0].length === 0) re.lastIndex++;
            if (done && !c.g) break;
          }
          if (done) {
            ps = out + ps.slice(at);
            if (c.pr) emit(ps);
          }
        }
      }
      if (!s.quiet) emit(ps);
    };
    const feed = (line: string, nl: boolean) => {
      if (s.held) run(s.held[0], s.held[1], false);
      s.held = [line, nl];
    };
    const out = pumpInput(p, 'sed', s.inp, {
      data: (b) => splitLines(s.lines, b, (l) => feed(l, true)),
      // GNU sed treats its inputs as one stream: a file's last line without a newline keeps it only at the very end.
      end: () => lastLine(s.lines, (l) => feed(l, s.inp.i < s.inp.files.length - 1)),
    });
    if (out !== null && s.quit === null) return out;
    if (s.held && s.quit === null) run(s.held[0], s.held[1], true);
    s.held = null;
    return p.exit(s.quit !== null ? s.quit : s.inp.failed ? 2 : 0);
  },
  TRY,
);

// ---- sort ----

interface SortKey {
  f1: number;
  c1: number;
  f2: number;
  c2: number;
  numeric: boolean;
  reverse: boolean;
}

interface SortState {
  inp: InputState;
  lines: LineBuf;
  all: string[];
  keys: SortKey[];
  numeric: boolean;
  reverse: boolean;
  unique: boolean;
  sep: string | null;
}

/** `-k F1[.C1][OPTS][,F2[.C2][OPTS]]` (OPTS: n, r, b). */
function sortKey(spec: string): SortKey {
  const m = /^([0-9]+)(?:\.([0-9]+))?([bnr]*)(?:,([0-9]+)(?:\.([0-9]+))?([bnr]*))?$/.exec(spec);
  if (!m) throw new UsageError(`invalid number at field start: invalid count at start of '${spec}'`);
  if (Number(m[1]) === 0) throw new UsageError(`invalid number at field start: invalid count at start of '${spec}'`);
  const o = (m[3] ?? '') + (m[6] ?? '');
  return { f1: Number(m[1]), c1: Number(m[2] ?? 1), f2: m[4] ? Number(m[4]) : Infinity, c2: m[5] ? Number(m[5]) : 0, numeric: o.includes('n'), reverse: o.includes('r') };
}

defineFilter<SortState>(
  '/bin/sort',
  2,
  (args) => {
    const { opts, operands } = getopt(args, { short: 'nruk:t:', permute: true, long: { 'numeric-sort': 'n', reverse: 'r', unique: 'u', 'key=': 'k', 'field-separator=': 't' } });
    const t = opts.get('t')?.[0];
    if (t !== undefined && toBytes(t).length !== 1) throw new UsageError(t === '' ? 'empty tab' : `multi-character tab '${t}'`);
    return {
      inp: newInput(operands), lines: { rest: new Uint8Array(0) }, all: [], keys: (opts.get('k') ?? []).map(sortKey),
      numeric: opts.has('n'), reverse: opts.has('r'), unique: opts.has('u'), sep: t ?? null,
    };
  },
  (p, s) => {
    const out = pumpInput(p, 'sort', s.inp, {
      data: (b) => splitLines(s.lines, b, (l) => s.all.push(l)),
      end: () => lastLine(s.lines, (l) => s.all.push(l)),
    });
    if (out !== null) return out;
    /** Field starts: with -t after each separator; otherwise each field begins with its leading blanks. */
    const fields = (l: string): Array<[number, number]> => {
      const out: Array<[number, number]> = [];
      if (s.sep !== null) {
        let at = 0;
        for (let j = l.indexOf(s.sep); j >= 0; j = l.indexOf(s.sep, at)) {
          out.push([at, j]);
          at = j + 1;
        }
        out.push([at, l.length]);
        return out;
      }
      const re = /[ \t]*[^ \t]+/g;
      for (let m = re.exec(l); m; m = re.exec(l)) out.push([m.index, m.index + m[0].length]);
      return out;
    };
    const keyText = (l: string, k: SortKey): string => {
      const f = fields(l);
      const a = f[k.f1 - 1];
      if (!a) return '';
      const start = a[0] + k.c1 - 1;
      const b = f[Math.min(k.f2, f.length) - 1]!;
      const end = k.f2 === Infinity || k.c2 === 0 ? (k.f2 === Infinity ? l.length : b[1]) : b[0] + k.c2;
      return l.slice(Math.min(start, l.length), Math.max(start, end));
    };
    const num = (t: string): number => {
      const m = /^\s*(-?[0-9]*\.?[0-9]+|-?[0-9]+\.?)/.exec(t);
      return m ? Number(m[1]) : 0;
    };
    const cmpText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    const cmpKeys = (a: string, b: string): number => {
      const keys = s.keys.length ? s.keys : [{ f1: 1, c1: 1, f2: Infinity, c2: 0, numeric: false, reverse: false }];
      for (const k of keys) {
        const x = s.keys.length ? keyText(a, k) : a;
        const y = s.keys.length ? keyText(b, k) : b;
        const n = k.numeric || s.numeric;
        let c = n ? Math.sign(num(x) - num(y)) : cmpText(x, y);
        if (k.reverse) c = -c;
        if (c) return c;
      }
      return 0;
    };
    const cmp = (a: string, b: string): number => {
      const c = cmpKeys(a, b);
      // GNU sort's last resort: the whole lines, bytewise (not with -u).
      return s.reverse ? -(c || (s.unique ? 0 : cmpText(a, b))) : c || (s.unique ? 0 : cmpText(a, b));
    };
    const sorted = [...s.all].sort(cmp);
    const kept = s.unique ? sorted.filter((l, i) => i === 0 || cmp(sorted[i - 1]!, l) !== 0) : sorted;
    s.all = [];
    for (const l of kept) p.out(l + '\n');
    return p.exit(s.inp.failed ? 2 : 0);
  },
  TRY,
);

// ---- uniq ----

interface UniqState {
  inp: InputState;
  lines: LineBuf;
  count: boolean;
  dups: boolean;
  uniques: boolean;
  icase: boolean;
  prev: string | null;
  n: number;
  /** OUTPUT operand, until it is opened (onto fd 1). */
  outPath: string | null;
}

defineFilter<UniqState>(
  '/bin/uniq',
  1,
  (args) => {
    const { opts, operands } = getopt(args, { short: 'cdui', permute: true, long: { count: 'c', repeated: 'd', unique: 'u', 'ignore-case': 'i' } });
    if (operands.length > 2) throw new UsageError(`extra operand '${operands[2]}'`);
    return {
      inp: newInput(operands.slice(0, 1)), lines: { rest: new Uint8Array(0) }, count: opts.has('c'), dups: opts.has('d'), uniques: opts.has('u'),
      icase: opts.has('i'), prev: null, n: 0, outPath: operands[1] ?? null,
    };
  },
  (p, s) => {
    if (s.outPath !== null) {
      const path = s.outPath;
      s.outPath = null;
      const o = p.attempt(() => p.sys.open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o666));
      if (!o.ok) {
        p.err(`uniq: ${path}: ${strerror(o.code)}\n`);
        return p.exit(1);
      }
      // As coreutils (freopen on stdout): the output file becomes standard output, so a failed
      // write is reported like any other (`uniq: write error: …`).
      if (o.value !== 1) {
        p.attempt(() => p.sys.dup2(o.value, 1));
        p.attempt(() => p.sys.close(o.value));
      }
    }
    const flush = () => {
      if (s.prev === null) return;
      if ((s.dups && s.n < 2) || (s.uniques && s.n > 1)) return;
      p.out(`${s.count ? `${String(s.n).padStart(7)} ` : ''}${s.prev}\n`);
    };
    const same = (a: string, b: string) => (s.icase ? a.toLowerCase() === b.toLowerCase() : a === b);
    const line = (l: string) => {
      if (s.prev !== null && same(s.prev, l)) {
        s.n++;
        return;
      }
      flush();
      s.prev = l;
      s.n = 1;
    };
    const out = pumpInput(p, 'uniq', s.inp, { data: (b) => splitLines(s.lines, b, line), end: () => lastLine(s.lines, line) });
    if (out !== null) return out;
    flush();
    s.prev = null;
    return p.exit(s.inp.failed);
  },
  TRY,
);

// ---- tee ----

interface TeeState {
  inp: InputState;
  append: boolean;
  files: string[];
  fds: number[];
  /** The names of `fds`, in order. */
  names: string[];
  opened: boolean;
  status: number;
}

defineFilter<TeeState>(
  '/bin/tee',
  1,
  (args) => {
    const { opts, operands } = getopt(args, { short: 'ai', permute: true, long: { append: 'a', 'ignore-interrupts': 'i' } });
    return { inp: newInput([]), append: opts.has('a'), files: operands, fds: [], names: [], opened: false, status: 0 };
  },
  (p, s) => {
    if (!s.opened) {
      s.opened = true;
      for (const f of s.files) {
        const o = p.attempt(() => p.sys.open(f, O_WRONLY | O_CREAT | (s.append ? O_APPEND : O_TRUNC), 0o666));
        if (o.ok) {
          s.fds.push(o.value);
          s.names.push(f);
        }
        else {
          p.err(`tee: ${f}: ${strerror(o.code)}\n`);
          s.status = 1;
        }
      }
    }
    const out = pumpInput(p, 'tee', s.inp, {
      data(b) {
        p.out(b);
        // A file that cannot be written is reported once and dropped; the others go on (coreutils).
        s.fds = s.fds.filter((fd, i) => {
          try {
            for (let at = 0; at < b.length; ) at += p.sys.write(fd, b.subarray(at));
            return true;
          } catch (e) {
            if (e instanceof WouldBlockError) {
              p.write(fd, b);
              return true;
            }
            if (!(e instanceof ErrnoError)) throw e;
            p.err(`tee: ${s.names[i]}: ${strerror(e.code)}\n`);
            s.names.splice(i, 1);
            s.status = 1;
            return false;
          }
        });
      },
    });
    if (out !== null) return out;
    return p.exit(s.status || s.inp.failed);
  },
  TRY,
);
