/**
 * Small coreutils and ncurses utilities: seq (-s -w), basename (-a -s), dirname, date (-u, -d @N,
 * +FORMAT; the model's clock through clock_gettime, always UTC), id (-u -g -G -n -r, USER), clear
 * (by TERM, as ncurses' terminfo entries say). Unsupported options are refused as coreutils does.
 */
import { ErrnoError, strerror } from '../../abi/errno.js';
import { defineApplet, type AppletIo } from '../lib/applet.js';
import { getopt, UsageError } from '../lib/args.js';
import { idNames, readText } from '../lib/files.js';
import { defineUserlandProgram } from '../lib/program.js';

/** Runs a coreutils-style applet: a UsageError prints `prog: msg` and the `Try` line, status `st`. */
function coreutil(name: string, fn: (argv: string[], io: AppletIo) => number, st = 1): void {
  defineApplet(`/bin/${name}`, (argv, io) => {
    try {
      return fn(argv, io);
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      io.err(`${name}: ${e.message}\nTry '${name} --help' for more information.\n`);
      return st;
    }
  });
}

// ---- seq ----

interface SeqState {
  first: number;
  step: number;
  last: number;
  i: number;
  prec: number;
  width: number;
  sep: string;
  done: boolean;
  error: string | null;
}

/** Lines produced per step (a long seq yields, and its output drains, between steps). */
const SEQ_CHUNK = 4096;

/** Digits after the point in a seq operand (`1.50` → 2; `1e-3` → 3). */
function seqPrecision(s: string): number {
  const m = /^[+-]?[0-9]*(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$/.exec(s);
  if (!m) return 0;
  return Math.max(0, (m[1]?.length ?? 0) - Number(m[2] ?? 0));
}

function seqSetup(argv: readonly string[]): SeqState {
  const args = argv.slice(1);
  // Negative numbers are operands, not options (as coreutils' seq arranges).
  const { opts, operands } = getopt(args.map((a) => (/^-[0-9.]/.test(a) ? `\u0000${a}` : a)), { short: 's:w', permute: true, long: { 'separator=': 's', 'equal-width': 'w' } });
  const ops = operands.map((o) => o.replace(/^\u0000/, ''));
  if (ops.length === 0) throw new UsageError('missing operand');
  if (ops.length > 3) throw new UsageError(`extra operand '${ops[3]}'`);
  const nums = ops.map((o) => {
    const v = /^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$|^[+-]?inf(inity)?$/i.test(o) ? Number(o.replace(/^([+-]?)inf(inity)?$/i, '$1Infinity')) : NaN;
    if (Number.isNaN(v)) throw new UsageError(`invalid floating point argument: '${o}'`);
    return v;
  });
  const [first, step, last] = nums.length === 1 ? [1, 1, nums[0]!] : nums.length === 2 ? [nums[0]!, 1, nums[1]!] : [nums[0]!, nums[1]!, nums[2]!];
  if (step === 0) throw new UsageError(`invalid Zero increment value: '${ops[1]}'`);
  const prec = Math.max(...(nums.length === 1 ? [0] : ops.slice(0, nums.length === 3 ? 2 : 1).map(seqPrecision)), 0);
  const fmt = (v: number) => v.toFixed(Math.min(prec, 20));
  const width = opts.has('w') ? Math.max(fmt(first).length, fmt(last).length) : 0;
  return { first, step, last, i: 0, prec, width, sep: opts.get('s')?.[0] ?? '\n', done: false, error: null };
}

defineUserlandProgram<SeqState | null>({
  name: '/bin/seq',
  start: () => null,
  step(p) {
    if (p.state === null) {
      try {
        p.state = seqSetup(p.argv);
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        p.err(`seq: ${e.message}\nTry 'seq --help' for more information.\n`);
        return p.exit(1);
      }
    }
    const s = p.state;
    const fmt = (v: number) => {
      const t = v.toFixed(Math.min(s.prec, 20));
      if (!s.width) return t;
      return t.startsWith('-') ? '-' + t.slice(1).padStart(s.width - 1, '0') : t.padStart(s.width, '0');
    };
    let out = '';
    for (let n = 0; n < SEQ_CHUNK; n++) {
      // As coreutils: FIRST + i × STEP, so no error accumulates.
      const v = s.first + s.i * s.step;
      if (s.step > 0 ? v > s.last : v < s.last) {
        if (s.i > 0) out += '\n';
        p.out(out);
        return p.exit(0);
      }
      out += (s.i > 0 ? s.sep : '') + fmt(v);
      s.i++;
    }
    p.out(out);
    return undefined;
  },
});

// ---- basename, dirname ----

/** POSIX basename: trailing slashes gone, the last component; `suffix` removed unless it is all of it. */
export function baseName(path: string, suffix = ''): string {
  if (path === '') return '';
  const t = path.replace(/\/+$/, '');
  if (t === '') return '/';
  const b = t.slice(t.lastIndexOf('/') + 1);
  return suffix && b !== suffix && b.endsWith(suffix) ? b.slice(0, -suffix.length) : b;
}

export function dirName(path: string): string {
  const t = path.replace(/\/+$/, '');
  if (t === '') return path.startsWith('/') ? '/' : '.';
  const at = t.lastIndexOf('/');
  if (at < 0) return '.';
  return t.slice(0, at).replace(/\/+$/, '') || '/';
}

coreutil('basename', (argv, io) => {
  const { opts, operands } = getopt(argv.slice(1), { short: 'as:z', permute: true, long: { multiple: 'a', 'suffix=': 's', zero: 'z' } });
  if (operands.length === 0) throw new UsageError('missing operand');
  const end = opts.has('z') ? '\0' : '\n';
  const suffix = opts.get('s')?.[0];
  if (opts.has('a') || suffix !== undefined) {
    for (const o of operands) io.out(baseName(o, suffix ?? '') + end);
    return 0;
  }
  if (operands.length > 2) throw new UsageError(`extra operand '${operands[2]}'`);
  io.out(baseName(operands[0]!, operands[1] ?? '') + end);
  return 0;
});

coreutil('dirname', (argv, io) => {
  const { opts, operands } = getopt(argv.slice(1), { short: 'z', permute: true, long: { zero: 'z' } });
  if (operands.length === 0) throw new UsageError('missing operand');
  for (const o of operands) io.out(dirName(o) + (opts.has('z') ? '\0' : '\n'));
  return 0;
});

// ---- date ----

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** strftime in UTC for the conversions GNU date documents; an unknown one is printed as is. */
export function strftime(fmt: string, sec: number, nsec: number): string {
  const d = new Date(sec * 1000);
  const p2 = (n: number) => String(n).padStart(2, '0');
  const h12 = (d.getUTCHours() + 11) % 12 + 1;
  const yday = Math.floor((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86400000) + 1;
  const conv = (c: string): string | null => {
    switch (c) {
      case 'a': return DAYS[d.getUTCDay()]!.slice(0, 3);
      case 'A': return DAYS[d.getUTCDay()]!;
      case 'b': case 'h': return MONTHS[d.getUTCMonth()]!.slice(0, 3);
      case 'B': return MONTHS[d.getUTCMonth()]!;
      case 'c': return strftime('%a %b %e %H:%M:%S %Y', sec, nsec);
      case 'C': return p2(Math.floor(d.getUTCFullYear() / 100));
      case 'd': return p2(d.getUTCDate());
      case 'D': return strftime('%m/%d/%y', sec, nsec);
      case 'e': return String(d.getUTCDate()).padStart(2);
      case 'F': return strftime('%Y-%m-%d', sec, nsec);
      case 'H': return p2(d.getUTCHours());
      case 'I': return p2(h12);
      case 'j': return String(yday).padStart(3, '0');
      case 'k': return String(d.getUTCHours()).padStart(2);
      case 'l': return String(h12).padStart(2);
      case 'm': return p2(d.getUTCMonth() + 1);
      case 'M': return p2(d.getUTCMinutes());
      case 'n': return '\n';
      case 'N': return String(nsec).padStart(9, '0');
      case 'p': return d.getUTCHours() < 12 ? 'AM' : 'PM';
      case 'P': return d.getUTCHours() < 12 ? 'am' : 'pm';
      case 'r': return strftime('%I:%M:%S %p', sec, nsec);
      case 'R': return strftime('%H:%M', sec, nsec);
      case 's': return String(sec);
      case 'S': return p2(d.getUTCSeconds());
      case 't': return '\t';
      case 'T': return strftime('%H:%M:%S', sec, nsec);
      case 'u': return String(d.getUTCDay() || 7);
      case 'w': return String(d.getUTCDay());
      case 'y': return p2(d.getUTCFullYear() % 100);
      case 'Y': return String(d.getUTCFullYear());
      case 'z': return '+0000';
      case 'Z': return 'UTC';
      case '%': return '%';
    }
    return null;
  };
  let out = '';
  for (let i = 0; i < fmt.length; i++) {
    if (fmt[i] !== '%' || i + 1 >= fmt.length) {
      out += fmt[i];
      continue;
    }
    const r = conv(fmt[i + 1]!);
    out += r ?? `%${fmt[i + 1]}`;
    i++;
  }
  return out;
}

coreutil('date', (argv, io) => {
  const { opts, operands } = getopt(argv.slice(1), { short: 'ud:R', permute: true, long: { utc: 'u', universal: 'u', 'date=': 'd', 'rfc-email': 'R' } });
  let fmt = opts.has('R') ? '%a, %d %b %Y %H:%M:%S %z' : '%a %b %e %H:%M:%S %Z %Y';
  for (const o of operands) {
    if (!o.startsWith('+')) {
      // Setting the clock (MMDDhhmm…) is not modelled: refused like an unprivileged settimeofday.
      io.err(`date: cannot set date: ${strerror('EPERM')}\n`);
      return 1;
    }
    if (operands.length > 1) throw new UsageError(`extra operand '${operands[1]}'`);
    fmt = o.slice(1);
  }
  let sec: number;
  let nsec = 0;
  const d = opts.get('d')?.[0];
  if (d !== undefined) {
    const m = /^\s*@\s*(-?[0-9]+)(?:\.([0-9]{1,9}))?\s*$/.exec(d);
    if (!m) {
      io.err(`date: invalid date '${d}'\n`);
      return 1;
    }
    sec = Number(m[1]);
    nsec = Number((m[2] ?? '').padEnd(9, '0'));
  } else {
    try {
      const t = io.sys.clock_gettime(0);
      sec = t.tv_sec;
      nsec = t.tv_nsec;
    } catch (e) {
      if (!(e instanceof ErrnoError)) throw e;
      io.err(`date: cannot get the time: ${strerror(e.code)}\n`);
      return 1;
    }
  }
  io.out(strftime(fmt, sec, nsec) + '\n');
  return 0;
});

// ---- id ----

coreutil('id', (argv, io) => {
  const { opts, operands } = getopt(argv.slice(1), { short: 'ugGnr', permute: true, long: { user: 'u', group: 'g', groups: 'G', name: 'n', real: 'r' } });
  const sys = io.sys;
  const users = idNames(sys, '/etc/passwd');
  const groups = idNames(sys, '/etc/group');
  const modes = ['u', 'g', 'G'].filter((k) => opts.has(k));
  if (modes.length > 1) throw new UsageError('cannot print "only" of more than one choice');
  if ((opts.has('n') || opts.has('r')) && modes.length === 0) throw new UsageError('cannot print only names or real IDs in default format');
  if (operands.length > 1) throw new UsageError(`extra operand '${operands[1]}'`);
  let uid: number, euid: number, gid: number, egid: number, gids: number[];
  if (operands.length) {
    const name = operands[0]!;
    const ent = (readText(sys, '/etc/passwd') ?? '').split('\n').map((l) => l.split(':')).find((f) => f[0] === name || (/^[0-9]+$/.test(name) && f[2] === name));
    if (!ent || ent.length < 4) {
      io.err(`id: '${name}': no such user\n`);
      return 1;
    }
    uid = euid = Number(ent[2]);
    gid = egid = Number(ent[3]);
    gids = [gid];
  } else {
    uid = sys.getuid();
    euid = sys.geteuid();
    gid = sys.getgid();
    egid = sys.getegid();
    gids = [egid, ...sys.getgroups().filter((g) => g !== egid)];
  }
  const uname = (u: number) => (opts.has('n') ? users.get(u) ?? String(u) : String(u));
  const gname = (g: number) => (opts.has('n') ? groups.get(g) ?? String(g) : String(g));
  if (opts.has('u')) io.out(uname(opts.has('r') ? uid : euid) + '\n');
  else if (opts.has('g')) io.out(gname(opts.has('r') ? gid : egid) + '\n');
  else if (opts.has('G')) io.out(gids.map(gname).join(' ') + '\n');
  else {
    const u = (n: number) => `${n}${users.has(n) ? `(${users.get(n)})` : ''}`;
    const g = (n: number) => `${n}${groups.has(n) ? `(${groups.get(n)})` : ''}`;
    let line = `uid=${u(uid)} gid=${g(gid)}`;
    if (euid !== uid) line += ` euid=${u(euid)}`;
    if (egid !== gid) line += ` egid=${g(egid)}`;
    io.out(`${line} groups=${gids.map(g).join(',')}\n`);
  }
  return 0;
});

// ---- clear ----

/** The `clear` capability (+ E3 where terminfo has it) of the terminals the model knows. */
const CLEAR: Array<[RegExp, string]> = [
  [/^(xterm|alacritty|kitty)/, '\x1b[H\x1b[2J\x1b[3J'],
  [/^(linux|tmux)/, '\x1b[H\x1b[J\x1b[3J'],
  [/^(vt1[0-9]{2}|vt220|screen|ansi|rxvt)/, '\x1b[H\x1b[J'],
];

coreutil('clear', (argv, io) => {
  const { operands } = getopt(argv.slice(1), { short: 'xT:V' });
  if (operands.length) throw new UsageError(`extra operand '${operands[0]}'`);
  const term = io.getenv('TERM');
  if (!term) {
    io.err('TERM environment variable not set.\n');
    return 1;
  }
  const hit = CLEAR.find(([re]) => re.test(term));
  if (!hit) {
    // ncurses: a terminal without the capability (dumb) prints nothing and fails; an unknown one says so.
    if (term !== 'dumb') io.err(`'${term}': unknown terminal type.\n`);
    return 1;
  }
  io.out(hit[1]);
  return 0;
});
