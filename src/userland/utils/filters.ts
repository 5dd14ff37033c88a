/**
 * Filters over files or standard input: head (-n -c), tail (-n), wc (-l -w -c), grep (-F -E -i -v
 * -c -n -l -q -s -H -h -w -x -e; basic regular expressions by default). Each reads with `pumpInput`,
 * so a filter at the end of a pipe sleeps in read() until its writer produces data.
 */
import { strerror } from '../../abi/errno.js';
import { getopt, UsageError } from '../lib/args.js';
import { newInput, pumpInput, type InputState } from '../lib/input.js';
import { defineUserlandProgram, toText, type Proc } from '../lib/program.js';
import type { StepOutcome } from '../../syscalls/program.js';

function countArg(v: string | undefined, what: string): number {
  if (v === undefined) return 10;
  const n = Number(v.replace(/^[+-]/, ''));
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`invalid number of ${what}: '${v}'`);
  return n;
}

/**
 * A filter program: `parse` turns the arguments into the initial state at the first step (a
 * UsageError ends the program with `usageStatus`, and with `tryHelp` coreutils' second line
 * `Try 'prog --help' for more information.`), then `run` is the step.
 */
export function defineFilter<S>(name: string, usageStatus: number, parse: (args: string[]) => S, run: (p: Proc<S | null>, s: S) => StepOutcome, tryHelp = false): void {
  const prog = name.slice(name.lastIndexOf('/') + 1);
  defineUserlandProgram<S | null>({
    name,
    start: () => null,
    step(p) {
      if (p.state === null) {
        try {
          p.state = parse(p.argv.slice(1));
        } catch (e) {
          if (!(e instanceof UsageError)) throw e;
          const bare = (e as { bare?: boolean }).bare === true;
          p.err(`${prog}: ${e.message}\n${tryHelp && !bare ? `Try '${prog} --help' for more information.\n` : ''}`);
          return p.exit(usageStatus);
        }
      }
      return run(p, p.state);
    },
  });
}

/** Old-style `head -5` / `tail -5`. */
function oldCount(args: string[]): string[] {
  return args.map((a) => (/^-[0-9]+$/.test(a) ? `-n${a.slice(1)}` : a));
}

// ---- head ----

interface HeadState {
  inp: InputState;
  lines: boolean;
  n: number;
  left: number;
  multi: boolean;
  first: boolean;
}

defineFilter<HeadState>(
  '/bin/head',
  1,
  (args) => {
    const { opts, operands } = getopt(oldCount(args), { short: 'n:c:qv', permute: true, long: { 'lines=': 'n', 'bytes=': 'c' } });
    const bytes = opts.get('c')?.[0];
    const n = bytes !== undefined ? countArg(bytes, 'bytes') : countArg(opts.get('n')?.[0], 'lines');
    return { inp: newInput(operands), lines: bytes === undefined, n, left: n, multi: operands.length > 1 && !opts.has('q'), first: true };
  },
  (p, s) => {
    const out = pumpInput(p, 'head', s.inp, {
      data(b, name) {
        if (s.left === s.n && s.multi) {
          p.out(`${s.first ? '' : '\n'}==> ${name === '-' ? 'standard input' : name} <==\n`);
          s.first = false;
        }
        if (s.left <= 0) return;
        let end = 0;
        if (s.lines) {
          while (end < b.length && s.left > 0) if (b[end++] === 0x0a) s.left--;
        } else {
          end = Math.min(b.length, s.left);
          s.left -= end;
        }
        p.out(b.subarray(0, end));
        // Enough of the last file: stop reading (earlier files are read to their end, unprinted).
        if (s.left <= 0) s.inp.stop = s.inp.i >= s.inp.files.length - 1;
      },
      end() {
        s.left = s.n;
      },
    });
    if (out !== null && !s.inp.stop) return out;
    return p.exit(s.inp.failed);
  },
);

// ---- tail ----

interface TailState {
  inp: InputState;
  n: number;
  fromStart: boolean;
  buf: string;
}

defineFilter<TailState>(
  '/bin/tail',
  1,
  (args) => {
    const { opts, operands } = getopt(oldCount(args), { short: 'n:qf', permute: true, long: { 'lines=': 'n' } });
    const raw = opts.get('n')?.[0];
    return { inp: newInput(operands), n: countArg(raw, 'lines'), fromStart: raw?.startsWith('+') ?? false, buf: '' };
  },
  (p, s) => {
    const out = pumpInput(p, 'tail', s.inp, {
      data(b) {
        s.buf += toText(b);
      },
      end() {
        const lines = s.buf.split(/(?<=\n)/);
        if (lines.length && lines[lines.length - 1] === '') lines.pop();
        const pick = s.fromStart ? lines.slice(Math.max(0, s.n - 1)) : s.n === 0 ? [] : lines.slice(-s.n);
        p.out(pick.join(''));
        s.buf = '';
      },
    });
    if (out !== null) return out;
    return p.exit(s.inp.failed);
  },
);

// ---- wc ----

interface WcState {
  inp: InputState;
  show: string;
  counts: Array<{ name: string; l: number; w: number; c: number }>;
  cur: { l: number; w: number; c: number; inWord: boolean };
}

defineFilter<WcState>(
  '/bin/wc',
  1,
  (args) => {
    const { opts, operands } = getopt(args, { short: 'lwcm', permute: true, long: { lines: 'l', words: 'w', bytes: 'c', chars: 'm' } });
    let show = ['l', 'w', 'c'].filter((k) => opts.has(k) || (k === 'c' && opts.has('m'))).join('');
    if (!show) show = 'lwc';
    return { inp: newInput(operands), show, counts: [], cur: { l: 0, w: 0, c: 0, inWord: false } };
  },
  (p, s) => {
    const out: StepOutcome | null = pumpInput(p, 'wc', s.inp, {
      data(b) {
        const c = s.cur;
        c.c += b.length;
        for (const x of b) {
          if (x === 0x0a) c.l++;
          const space = x === 0x20 || (x >= 0x09 && x <= 0x0d);
          if (space) c.inWord = false;
          else if (!c.inWord) {
            c.inWord = true;
            c.w++;
          }
        }
      },
      end(name) {
        s.counts.push({ name, l: s.cur.l, w: s.cur.w, c: s.cur.c });
        s.cur = { l: 0, w: 0, c: 0, inWord: false };
      },
      error(name, code) {
        p.err(`wc: ${name}: ${strerror(code)}\n`);
      },
    });
    if (out !== null) return out;
    const rows = [...s.counts];
    if (rows.length > 1) rows.push({ name: 'total', l: rows.reduce((a, r) => a + r.l, 0), w: rows.reduce((a, r) => a + r.w, 0), c: rows.reduce((a, r) => a + r.c, 0) });
    const single = s.show.length === 1 && rows.length === 1;
    const stdinOnly = rows.some((r) => r.name === '-');
    const width = single ? 1 : Math.max(stdinOnly ? 7 : 1, ...rows.map((r) => String(r.c).length));
    for (const r of rows) {
      const nums = [...s.show].map((k) => String(r[k as 'l' | 'w' | 'c']).padStart(width));
      p.out(nums.join(' ') + (r.name === '-' ? '' : ` ${r.name}`) + '\n');
    }
    return p.exit(s.inp.failed);
  },
);

// ---- grep ----

interface GrepState {
  inp: InputState;
  re: string;
  flags: string;
  invert: boolean;
  count: boolean;
  number: boolean;
  list: boolean;
  quiet: boolean;
  /** -s: no messages about unreadable files (-q does not silence them, as in GNU grep). */
  silent: boolean;
  names: boolean;
  partial: string;
  lineNo: number;
  hits: number;
  anyHit: boolean;
}

/** A POSIX basic regular expression as a JavaScript one. */
export function breToJs(bre: string): string {
  let out = '';
  for (let i = 0; i < bre.length; i++) {
    const c = bre[i]!;
    if (c === '\\' && i + 1 < bre.length) {
      const d = bre[++i]!;
      out += '(){}|+?'.includes(d) ? d : `\\${d}`;
    } else if ('(){}|+?'.includes(c)) out += `\\${c}`;
    else if (c === '[') {
      const end = bre.indexOf(']', i + (bre[i + 1] === ']' ? 2 : bre[i + 1] === '^' && bre[i + 2] === ']' ? 3 : 1));
      if (end < 0) out += '\\[';
      else {
        out += bre.slice(i, end + 1).replace(/\\/g, '\\\\');
        i = end;
      }
    } else if (c === '*' && (i === 0 || bre[i - 1] === '^')) out += '\\*';
    else out += c;
  }
  return out;
}

defineFilter<GrepState>(
  '/bin/grep',
  2,
  (args) => {
    const { opts, operands } = getopt(args, {
      short: 'FEGivcnlqsHhwxe:', permute: true,
      long: {
        'fixed-strings': 'F', 'extended-regexp': 'E', 'ignore-case': 'i', 'invert-match': 'v', count: 'c', quiet: 'q', silent: 'q',
        'no-messages': 's', 'regexp=': 'e',
      },
    });
    const pats = opts.get('e') ?? [];
    const rest = [...operands];
    if (pats.length === 0) {
      if (rest.length === 0) throw new UsageError('usage: grep [OPTION]... PATTERNS [FILE]...');
      pats.push(rest.shift()!);
    }
    const alts = pats.flatMap((x) => x.split('\n')).map((x) =>
      opts.has('F') ? x.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&') : opts.has('E') ? x : breToJs(x));
    let re = alts.map((a) => `(?:${a})`).join('|');
    if (opts.has('w')) re = `(?<![A-Za-z0-9_])(?:${re})(?![A-Za-z0-9_])`;
    if (opts.has('x')) re = `^(?:${re})$`;
    try {
      new RegExp(re);
    } catch {
      throw new UsageError('Invalid regular expression');
    }
    return {
      inp: newInput(rest), re, flags: opts.has('i') ? 'i' : '', invert: opts.has('v'), count: opts.has('c'), number: opts.has('n'),
      list: opts.has('l'), quiet: opts.has('q'), silent: opts.has('s'), names: opts.has('H') || (rest.length > 1 && !opts.has('h')), partial: '', lineNo: 0, hits: 0, anyHit: false,
    };
  },
  (p, s) => {
    const re = new RegExp(s.re, s.flags);
    const line = (text: string, name: string) => {
      s.lineNo++;
      if (re.test(text) === s.invert) return;
      s.hits++;
      s.anyHit = true;
      if (s.quiet) {
        s.inp.stop = true;
        return;
      }
      if (s.count || s.list) return;
      const label = name === '-' ? '(standard input)' : name;
      p.out(`${s.names ? `${label}:` : ''}${s.number ? `${s.lineNo}:` : ''}${text}\n`);
    };
    const out = pumpInput(p, 'grep', s.inp, {
      data(b, name) {
        const text = s.partial + toText(b);
        const parts = text.split('\n');
        s.partial = parts.pop()!;
        for (const l of parts) line(l, name);
      },
      end(name) {
        if (s.partial) line(s.partial, name);
        const label = name === '-' ? '(standard input)' : name;
        if (s.count && !s.quiet) p.out(`${s.names ? `${label}:` : ''}${s.hits}\n`);
        if (s.list && s.hits > 0 && !s.quiet) p.out(`${label}\n`);
        s.partial = '';
        s.lineNo = 0;
        s.hits = 0;
      },
      error(name, code) {
        if (!s.silent) p.err(`grep: ${name}: ${strerror(code)}\n`);
      },
    });
    if (out !== null && !s.inp.stop) return out;
    if (s.quiet && s.anyHit) return p.exit(0);
    return p.exit(s.inp.failed ? 2 : s.anyHit ? 0 : 1);
  },
);
