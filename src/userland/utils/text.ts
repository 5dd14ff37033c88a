/**
 * echo, printf, test/[ and kill: applets used both as NOFORK shell builtins and as programs.
 * Behaviour follows bash's builtins (echo without -e does not interpret escapes) and coreutils'
 * printf format language (%s %b %c %d %i %u %o %x %X %%, flags, width, precision; the format is
 * reused while arguments remain).
 */
import { ErrnoError, strerror } from '../../abi/errno.js';
import { S_IFDIR, S_IFMT, S_IFREG, S_IFCHR, S_IFIFO, S_IFLNK, S_IFSOCK, S_IFBLK } from '../../abi/constants.js';
import { type AppletIo, signalList, signalNumber, signalShortName } from '../lib/applet.js';

// ---- echo ----

export function echo(argv: string[], io: AppletIo): number {
  let i = 1;
  let newline = true;
  let escapes = false;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (!/^-[neE]+$/.test(a)) break;
    for (const c of a.slice(1)) {
      if (c === 'n') newline = false;
      else if (c === 'e') escapes = true;
      else escapes = false;
    }
  }
  let text = argv.slice(i).join(' ');
  if (escapes) {
    const r = unescape(text, true);
    text = r.text;
    if (r.stop) newline = false;
  }
  io.out(newline ? text + '\n' : text);
  return 0;
}

/** Backslash escapes of echo -e / printf %b / printf formats. `\c` stops output. */
function unescape(s: string, octalNeedsZero: boolean): { text: string; stop: boolean } {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\' || i + 1 >= s.length) {
      out += c;
      continue;
    }
    const d = s[++i]!;
    switch (d) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'a': out += '\x07'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'v': out += '\v'; break;
      case 'e': out += '\x1b'; break;
      case '\\': out += '\\'; break;
      case 'c': return { text: out, stop: true };
      case 'x': {
        const m = /^[0-9a-fA-F]{1,2}/.exec(s.slice(i + 1));
        if (m) {
          out += String.fromCharCode(parseInt(m[0], 16));
          i += m[0].length;
        } else out += '\\x';
        break;
      }
      default: {
        if (/[0-7]/.test(d) && (!octalNeedsZero || d === '0')) {
          const start = octalNeedsZero ? i + 1 : i;
          const m = /^[0-7]{1,3}/.exec(s.slice(start));
          const digits = m ? m[0] : '';
          out += String.fromCharCode(parseInt(digits || '0', 8) & 0xff);
          i = start + digits.length - 1;
        } else out += '\\' + d;
      }
    }
  }
  return { text: out, stop: false };
}

// ---- printf ----

export function printf(argv: string[], io: AppletIo): number {
  if (argv.length < 2) {
    io.err('printf: usage: printf format [arguments]\n');
    return 2;
  }
  const fmt = argv[1]!;
  const args = argv.slice(2);
  let status = 0;
  let out = '';
  let ai = 0;
  const next = () => (ai < args.length ? args[ai++]! : undefined);
  /** An integer argument as intmax_t (bash's printf: strtoimax, then its checks). */
  const num = (v: string | undefined): bigint => {
    if (v === undefined || v === '') return 0n;
    if (/^['"]/.test(v)) return BigInt(v.codePointAt(1) ?? 0);
    const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[0-9]+)/.exec(v);
    if (!m) {
      io.err(`printf: ${v}: invalid number\n`);
      status = 1;
      return 0n;
    }
    const body = m[2]!;
    let n = /^0[xX]/.test(body) ? BigInt(body) : body.length > 1 && body[0] === '0' ? BigInt(`0o${body.slice(1)}`) : BigInt(body);
    if (m[1] === '-') n = -n;
    if (n !== BigInt.asIntN(64, n)) {
      io.err(`printf: ${v}: Numerical result out of range\n`);
      status = 1;
      n = n < 0n ? -(1n << 63n) : (1n << 63n) - 1n;
    }
    if (m[0].length !== v.length) {
      io.err(`printf: ${v}: invalid number\n`);
      status = 1;
    }
    return n;
  };
  do {
    const used = ai;
    for (let i = 0; i < fmt.length; i++) {
      const c = fmt[i]!;
      if (c === '\\') {
        const m = /^\\(0[0-7]{0,3}|[0-7]{1,3}|x[0-9a-fA-F]{1,2}|.)/.exec(fmt.slice(i));
        const r = unescape(m![0], false);
        out += r.text;
        if (r.stop) {
          io.out(out);
          return status;
        }
        i += m![0].length - 1;
        continue;
      }
      if (c !== '%') {
        out += c;
        continue;
      }
      const m = /^%([-+ #0]*)(\*|[0-9]+)?(?:\.(\*|[0-9]*))?([sbcdiuoxX%])/.exec(fmt.slice(i));
      if (!m) {
        out += c;
        continue;
      }
      i += m[0].length - 1;
      const conv = m[4]!;
      if (conv === '%') {
        out += '%';
        continue;
      }
      let flags = m[1]!;
      let width = m[2] === '*' ? Number(num(next())) : m[2] ? Number(m[2]) : 0;
      if (width < 0) {
        // A negative `*` width means left-justified (C's printf).
        flags += '-';
        width = -width;
      }
      const precArg = m[3] === '*' ? String(num(next())) : m[3];
      const prec = precArg === undefined ? -1 : Number(precArg || '0');
      let body: string;
      switch (conv) {
        case 's':
          body = next() ?? '';
          if (prec >= 0) body = body.slice(0, prec);
          break;
        case 'b': {
          const r = unescape(next() ?? '', true);
          body = r.text;
          if (prec >= 0) body = body.slice(0, prec);
          break;
        }
        case 'c':
          body = (next() ?? '').slice(0, 1);
          break;
        default: {
          let n = num(next());
          // %u %o %x %X convert to uintmax_t, as C's printf does.
          if (conv !== 'd' && conv !== 'i' && n < 0n) n = BigInt.asUintN(64, n);
          const abs = n < 0n ? -n : n;
          let digits = conv === 'o' ? abs.toString(8) : conv === 'x' ? abs.toString(16) : conv === 'X' ? abs.toString(16).toUpperCase() : abs.toString(10);
          if (prec >= 0) digits = digits.padStart(prec, '0');
          if (flags.includes('#') && n !== 0n) digits = conv === 'o' ? '0' + digits : conv === 'x' ? '0x' + digits : conv === 'X' ? '0X' + digits : digits;
          const sign = n < 0n ? '-' : flags.includes('+') && (conv === 'd' || conv === 'i') ? '+' : flags.includes(' ') && (conv === 'd' || conv === 'i') ? ' ' : '';
          if (flags.includes('0') && !flags.includes('-') && prec < 0) digits = digits.padStart(width - sign.length, '0');
          body = sign + digits;
        }
      }
      out += flags.includes('-') ? body.padEnd(width) : body.padStart(width);
    }
    if (ai === used) break;
  } while (ai < args.length);
  io.out(out);
  return status;
}

// ---- test / [ ----

class TestError extends Error {}

export function test(argv: string[], io: AppletIo): number {
  let args = argv.slice(1);
  const name = argv[0] === '[' ? '[' : 'test';
  if (name === '[') {
    if (args[args.length - 1] !== ']') {
      io.err("[: missing `]'\n");
      return 2;
    }
    args = args.slice(0, -1);
  }
  try {
    return evalTest(args, io) ? 0 : 1;
  } catch (e) {
    if (e instanceof TestError) {
      io.err(`${name}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

const UNARY = new Set(['-e', '-f', '-d', '-r', '-w', '-x', '-s', '-n', '-z', '-L', '-h', '-p', '-c', '-b', '-S', '-t']);
const BINARY = new Set(['=', '==', '!=', '-eq', '-ne', '-lt', '-le', '-gt', '-ge', '<', '>']);

function evalTest(args: string[], io: AppletIo): boolean {
  // POSIX's rules by argument count first, then a small recursive parser for -a/-o/!/( ).
  if (args.length === 0) return false;
  if (args.length === 1) return args[0] !== '';
  if (args.length === 2) {
    if (args[0] === '!') return !evalTest(args.slice(1), io);
    if (UNARY.has(args[0]!)) return unary(args[0]!, args[1]!, io);
    throw new TestError(`${args[0]}: unary operator expected`);
  }
  if (args.length === 3) {
    if (BINARY.has(args[1]!)) return binary(args[0]!, args[1]!, args[2]!);
    if (args[0] === '!') return !evalTest(args.slice(1), io);
    if (args[0] === '(' && args[2] === ')') return evalTest([args[1]!], io);
  }
  if (args.length === 4 && args[0] === '!') return !evalTest(args.slice(1), io);
  let i = 0;
  const orExpr = (): boolean => {
    let v = andExpr();
    while (args[i] === '-o') {
      i++;
      const r = andExpr();
      v = v || r;
    }
    return v;
  };
  const andExpr = (): boolean => {
    let v = notExpr();
    while (args[i] === '-a') {
      i++;
      const r = notExpr();
      v = v && r;
    }
    return v;
  };
  const notExpr = (): boolean => {
    if (args[i] === '!') {
      i++;
      return !notExpr();
    }
    return primary();
  };
  const primary = (): boolean => {
    const a = args[i];
    if (a === undefined) throw new TestError('argument expected');
    if (a === '(') {
      i++;
      const v = orExpr();
      if (args[i] !== ')') throw new TestError("missing `)'");
      i++;
      return v;
    }
    if (UNARY.has(a) && i + 1 < args.length) {
      i += 2;
      return unary(a, args[i - 1]!, io);
    }
    if (i + 2 < args.length + 0 && BINARY.has(args[i + 1]!)) {
      i += 3;
      return binary(a, args[i - 2]!, args[i - 1]!);
    }
    i++;
    return a !== '';
  };
  const v = orExpr();
  if (i < args.length) throw new TestError(`${args[i]}: unexpected operator`);
  return v;
}

function unary(op: string, arg: string, io: AppletIo): boolean {
  if (op === '-n') return arg !== '';
  if (op === '-z') return arg === '';
  if (op === '-t') return false;
  const sys = io.sys;
  try {
    if (op === '-r' || op === '-w' || op === '-x') {
      sys.access(arg, op === '-r' ? 4 : op === '-w' ? 2 : 1);
      return true;
    }
    // -L/-h look at the link itself (lstat); the others follow it (stat), as test(1) does.
    const st = op === '-L' || op === '-h' ? sys.lstat(arg) : sys.stat(arg);
    const fmt = st.st_mode & S_IFMT;
    switch (op) {
      case '-e': return true;
      case '-f': return fmt === S_IFREG;
      case '-d': return fmt === S_IFDIR;
      case '-s': return st.st_size > 0;
      case '-L': case '-h': return fmt === S_IFLNK;
      case '-p': return fmt === S_IFIFO;
      case '-c': return fmt === S_IFCHR;
      case '-b': return fmt === S_IFBLK;
      case '-S': return fmt === S_IFSOCK;
    }
  } catch (e) {
    if (e instanceof ErrnoError) return false;
    throw e;
  }
  return false;
}

function binary(a: string, op: string, b: string): boolean {
  switch (op) {
    case '=': case '==': return a === b;
    case '!=': return a !== b;
    case '<': return a < b;
    case '>': return a > b;
  }
  const x = intArg(a);
  const y = intArg(b);
  switch (op) {
    case '-eq': return x === y;
    case '-ne': return x !== y;
    case '-lt': return x < y;
    case '-le': return x <= y;
    case '-gt': return x > y;
    default: return x >= y;
  }
}

/** An intmax_t operand, exactly (BigInt); out of range is not an integer, as bash's legal_number says. */
function intArg(s: string): bigint {
  if (!/^\s*[+-]?[0-9]+\s*$/.test(s)) throw new TestError(`${s}: integer expression expected`);
  const v = BigInt(s.trim());
  if (v !== BigInt.asIntN(64, v)) throw new TestError(`${s}: integer expression expected`);
  return v;
}

// ---- kill ----

/** kill [-s SIG | -SIG | -n NUM] pid…; kill -l [status]. Job specs (%N) are resolved by the shell. */
export function kill(argv: string[], io: AppletIo): number {
  const args = argv.slice(1);
  let sig = 15;
  if (args[0] === '-l' || args[0] === '-L') {
    if (args[1] !== undefined) {
      const n = Number(args[1]);
      const s = n > 128 ? n - 128 : n;
      const name = Number.isNaN(n) ? String(signalNumber(args[1]!)) : signalShortName(s);
      io.out(`${name}\n`);
      return 0;
    }
    io.out(signalList().map(([n, v]) => `${String(v).padStart(2)}) SIG${n}`).join('\n') + '\n');
    return 0;
  }
  let i = 0;
  if (args[0] === '-s' || args[0] === '-n') {
    sig = signalNumber(args[1] ?? '');
    i = 2;
  } else if (args[0] !== undefined && /^-[A-Za-z0-9]+$/.test(args[0])) {
    sig = signalNumber(args[0].slice(1));
    i = 1;
  }
  if (args[i] === '--') i++;
  if (Number.isNaN(sig)) {
    io.err(`kill: ${args[i - 1] ?? ''}: invalid signal specification\n`);
    return 1;
  }
  const pids = args.slice(i);
  if (pids.length === 0) {
    io.err('kill: usage: kill [-s sigspec | -n signum | -sigspec] pid | jobspec ... or kill -l [sigspec]\n');
    return 2;
  }
  let status = 0;
  for (const p of pids) {
    if (!/^-?[0-9]+$/.test(p)) {
      io.err(`kill: ${p}: arguments must be process or job IDs\n`);
      status = 1;
      continue;
    }
    try {
      io.sys.kill(Number(p), sig);
    } catch (e) {
      if (!(e instanceof ErrnoError)) throw e;
      io.err(`kill: (${p}) - ${strerror(e.code)}\n`);
      status = 1;
    }
  }
  return status;
}
