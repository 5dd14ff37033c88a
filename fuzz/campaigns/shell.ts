/**
 * Shell fuzzing: generated and mutated scripts run in the model's sh (`sh -c`, or read from standard
 * input), each in a fresh session with a step bound. A failure is: an exception leaving the
 * session (a JS error inside a program or the kernel — ProgramCrash, KernelBug, TypeError…), a JS
 * stack trace or error name in the model's output, a deadlock (every task asleep with nothing to
 * wake it), or running past the bound when the script has no loop, recursion or long sleep of its
 * own. Scripts are built from a grammar of the shell's constructs and the installed utilities
 * (with hostile arguments: huge numbers, deep nesting, odd fds, unterminated quotes), then mutated
 * (characters inserted, deleted, duplicated; splices of two scripts; nesting repeated).
 */
import { Session } from '../../src/cli/session.js';
import { rng, type Campaign, type CampaignFailure } from '../lib.js';

/** Scripts at scale 1. */
const SCRIPTS = 2400;
/**
 * Steps per slice and slices per script: the bound; and a wall-clock bound, since a script that
 * forks without end (`f() { echo $(f); }; f`) makes each step dearer until pid_max stops it.
 */
const SLICE = 2000;
const MAX_SLICES = 100;
const MAX_MS = 3000;
/** Output kept per stream (a script printing forever is cut off at the bound anyway). */
const OUT_CAP = 1 << 20;


class Gen {
  constructor(readonly r: () => number) {}
  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
}

const VARS = ['x', 'y', 'i', 'n', 'IFS', 'PATH', 'HOME', '1', '2', '#', '?', '$', '!', '@', '*', '0'];
const LITS = ['a', 'b c', 'hello', '0', '1', '-1', '42', '9223372036854775807', '99999999999999999999', '-n', '-e', '--', '/', '/tmp', '/tmp/f', '/etc/passwd', '/proc/self/status',
  '/proc/self/task/1/next_syscall_data', '/dev/null', '*', '/etc/*', '?', '[a-z]', '%s', '%d', '\\n', 'LONG1 5', 'LONG1 x', 'x=1', '', ' ', '\t', 'é', '💥', '1e+40', '0x1f', '08', 'inf'];
const UTILS = ['echo', 'printf', 'test', '[', 'true', 'false', ':', 'cd', 'pwd', 'kill', 'read', 'sleep', 'cat', 'ls', 'ps', 'head', 'tail', 'wc', 'grep', 'tr', 'cut', 'sed',
  'sort', 'uniq', 'seq', 'xargs', 'tee', 'basename', 'dirname', 'date', 'id', 'env', 'mkdir', 'rm', 'touch', 'syscall', 'ipcmk', 'ipcs', 'ipcrm', 'set', 'shift', 'export', 'unset',
  'trap', 'wait', 'jobs', 'eval', 'exit', 'return', 'break', 'continue', '.', 'exec', 'unshare', 'nsenter', 'clear', 'nosuchcmd', '/bin/echo', '/bin/sleep', 'sh'];
const OPTS = ['-n', '-c', '-l', '-a', '-d', '-s', '-u', '-r', '-k2', '-t:', '-f1', '-f2-', '-b1-3', '-w', '-x', '-e', '-E', '-i', '-v', '-q', '-p', '-9', '-0', '-I{}', '--help', '-Z', '-n1', '-1'];
const SYSCALLS = ['getpid', 'getppid', 'open /tmp/f O_RDONLY', 'open /nope O_RDONLY', 'msgget 0x10 IPC_CREAT|0600', 'semget 0 1 IPC_CREAT', 'shmget 0 4096 IPC_CREAT', 'fork', 'kill 0 0',
  'dup2 1 99999', 'close 1', 'nanosleep 1000', 'read 0 10', 'write 1 x', 'lseek 0 0 0', 'nosuch'];

function arith(g: Gen, d: number): string {
  if (d <= 0 || g.chance(0.3)) return g.pick(['1', '0', '-1', 'x', 'i', '9223372036854775807', '0x10', '2#101', '1<<62', '7', 'n', '$x', '08', '1e3']);
  const op = g.pick(['+', '-', '*', '/', '%', '<<', '>>', '&', '|', '^', '&&', '||', '==', '!=', '<', '>=', '**', ',', '=', '+=']);
  if (g.chance(0.1)) return `${g.pick(['-', '!', '~', '+'])}${arith(g, d - 1)}`;
  if (g.chance(0.1)) return `${arith(g, d - 1)} ? ${arith(g, d - 1)} : ${arith(g, d - 1)}`;
  if (g.chance(0.2)) return `(${arith(g, d - 1)})`;
  return `${arith(g, d - 1)} ${op} ${arith(g, d - 1)}`;
}

function word(g: Gen, d: number): string {
  switch (g.int(12)) {
    case 0: return `$${g.pick(VARS)}`;
    case 1: return `\${${g.pick(VARS.slice(0, 7))}${g.pick([':-', '-', ':=', ':+', '#', '##', '%', '%%', ':?', ''])}${g.pick(LITS.slice(0, 5))}}`;
    case 2: return `$((${arith(g, 3)}))`;
    case 3: return d > 0 ? `"$(${command(g, d - 1)})"` : '"$x"';
    case 4: return d > 0 ? `\`${simple(g, 0).replace(/`/g, '')}\`` : '`true`';
    case 5: return `'${g.pick(LITS).replace(/'/g, '')}'`;
    case 6: return `"${g.pick(LITS).replace(/["\\$`]/g, '')} $${g.pick(VARS)}"`;
    case 7: return g.pick(OPTS);
    case 8: return `\${#${g.pick(VARS.slice(0, 5))}}`;
    default: {
      const l = g.pick(LITS);
      return /^[A-Za-z0-9_./:+-]+$/.test(l) ? l : `'${l.replace(/'/g, '')}'`;
    }
  }
}

function redir(g: Gen): string {
  switch (g.int(10)) {
    case 0: return '> /tmp/f';
    case 1: return '>> /tmp/f';
    case 2: return '< /etc/passwd';
    case 3: return '2>&1';
    case 4: return '>&-';
    case 5: return `${g.pick(['3', '9', '99999', '1023', '1024', '0'])}>${g.pick(['/tmp/g', '&1', '&-', '/proc/self/task/1/next_syscall_data'])}`;
    case 6: return '2>/dev/null';
    case 7: return '<<EOF\nline $x\nEOF\n';
    case 8: return `> /proc/self/task/$$/next_syscall_data`;
    default: return `<&${g.pick(['0', '3', '99'])}`;
  }
}

function simple(g: Gen, d: number): string {
  const name = g.pick(UTILS);
  const parts: string[] = [];
  if (g.chance(0.1)) parts.push(`x=${word(g, d)}`);
  if (name === 'syscall') parts.push('syscall', g.pick(SYSCALLS));
  else if (name === 'sh') parts.push('sh', '-c', `'${simple(g, 0).replace(/'/g, '')}'`);
  else if (name === 'sleep' || name === '/bin/sleep') parts.push(name, g.pick(['0', '1', '0.5', '1e-3', 'x', '-1', '99999999999999999999', 'inf']));
  else {
    parts.push(name);
    for (let n = g.int(4); n > 0; n--) parts.push(word(g, d));
  }
  if (g.chance(0.25)) parts.push(redir(g));
  return parts.join(' ');
}

function command(g: Gen, d: number): string {
  if (d <= 0) return simple(g, 0);
  switch (g.int(14)) {
    case 0: return `${command(g, d - 1)} | ${command(g, d - 1)}`;
    case 1: return `${command(g, d - 1)} && ${command(g, d - 1)}`;
    case 2: return `${command(g, d - 1)} || ${command(g, d - 1)}`;
    case 3: return `( ${command(g, d - 1)} )`;
    case 4: return `{ ${command(g, d - 1)}; }`;
    case 5: return `if ${command(g, d - 1)}; then ${command(g, d - 1)}; else ${command(g, d - 1)}; fi`;
    case 6: return `for v in ${word(g, d - 1)} ${word(g, d - 1)}; do ${command(g, d - 1)}; done`;
    case 7: return `i=0; while [ $i -lt ${g.int(4)} ]; do ${command(g, d - 1)}; i=$((i+1)); done`;
    case 8: return `case ${word(g, d - 1)} in ${g.pick(['a', '*', '[0-9]*', '?'])}) ${command(g, d - 1)};; *) ${command(g, d - 1)};; esac`;
    case 9: return `f() { ${command(g, d - 1)}; return ${g.int(3)}; }; f ${word(g, 0)}`;
    case 10: return `${command(g, d - 1)} &`;
    case 11: return `trap '${simple(g, 0).replace(/'/g, '')}' ${g.pick(['EXIT', 'INT', 'TERM', 'PIPE', 'SEGV', 'USR1'])}; ${command(g, d - 1)}`;
    default: return `${command(g, d - 1)}; ${command(g, d - 1)}`;
  }
}

/** Seeds for mutation: the shapes of real scripts. */
const CORPUS = [
  'echo "LONG1 4242" > /proc/self/task/$$/next_syscall_data; ipcmk -Q',
  'for i in 1 2 3; do echo $i; done | sort -r | head -2',
  'x=$(printf "a\\nb"); echo "${x%%b}" | tr a-z A-Z',
  'f() { [ $1 -le 1 ] && echo 1 || echo $(( $1 * $(f $(($1-1))) )); }; f 5',
  'cat <<EOF | sed "s/a/b/g"\naaa $HOME\nEOF',
  'sleep 1 & pid=$!; kill $pid; wait $pid; echo $?',
  'case $1 in -*) echo opt;; *) echo arg;; esac',
  'exec 3>/tmp/x; echo hi >&3; exec 3>&-; cat /tmp/x',
  'seq 10 | xargs -n3 echo | cut -d" " -f2',
  'read a b <<E\none two\nE\necho "$b$a"',
  'trap "echo bye" EXIT; (exit 3); echo $?',
  'i=0; until [ $i -ge 3 ]; do i=$((i+1)); done; echo $i',
  'unshare --pid --fork sh -c "echo \\$\\$; ps -o pid,comm"',
  'echo $((1<<40)) $((0x7fffffffffffffff+1)) ${#PATH}',
  'ls -l /proc/self/fd | grep -c -- "->"',
  'printf "%s-%05d\\n" a 7 b 8 | uniq -c | sort -n',
];

const SPECIAL = ['(', ')', '{', '}', '"', "'", '`', '$(', '$((', '${', '|', '||', '&&', '&', ';', ';;', '<<', '>', '<', '\\', '\n', '!', 'if ', 'then ', 'fi', 'do ', 'done', 'esac', '#', '*', '$', ' '];

function mutate(g: Gen, src: string, other: string): string {
  let s = src;
  for (let n = 1 + g.int(4); n > 0; n--) {
    const at = g.int(s.length + 1);
    switch (g.int(7)) {
      case 0: s = s.slice(0, at) + g.pick(SPECIAL) + s.slice(at); break;
      case 1: s = s.slice(0, at) + s.slice(at + 1 + g.int(4)); break;
      case 2: {
        const len = 1 + g.int(12);
        s = s.slice(0, at) + s.slice(at, at + len).repeat(2 + g.int(3)) + s.slice(at);
        break;
      }
      case 3: s = s.slice(0, at) + other.slice(g.int(other.length)); break;
      case 4: {
        // Deep nesting: one opener repeated, its closer too (or not).
        const [o, c] = g.pick([['(', ')'], ['{ ', '; }'], ['$(', ')'], ['"$(', ')"'], ['$((', '))'], ['if true; then ', '; fi'], ['${x:-', '}']]);
        const k = g.pick([3, 50, 300, 3000]);
        s = o.repeat(k) + s + (g.chance(0.8) ? c.repeat(k) : '');
        break;
      }
      case 5: s = s.slice(0, at) + String.fromCharCode(g.int(128)) + s.slice(at); break;
      default: s = s.slice(0, at) + simple(g, 1) + '; ' + s.slice(at);
    }
  }
  return s;
}

/** The script may legitimately run past the bound (its own loop, recursion, long sleep, wait). */
function mayRunLong(text: string): boolean {
  return /while|until|\(\)|\bsleep\b|\bwait\b|\bseq\b|\bxargs\b|\beval\b|(^|[\s;&|])\.\s|\btrap\b|\bexec\b|\bsh\b|\bfor\b|\bkill\b/.test(text);
}

const STACK_TRACE = /\b(TypeError|ReferenceError|RangeError|SyntaxError|KernelBug|ProgramCrash)\b|\n\s+at .*\.js:\d+/;

interface Outcome {
  kind: 'done' | 'bound' | 'stuck';
  status: number | null;
  out: string;
  err: string;
}

export function runScript(text: string, mode: 'c' | 'stdin', seed: number): Outcome {
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  let outLen = 0;
  let errLen = 0;
  const s = new Session({
    seed,
    stdout: (b) => {
      if (outLen < OUT_CAP) out.push(b.slice());
      outLen += b.length;
    },
    stderr: (b) => {
      if (errLen < OUT_CAP) err.push(b.slice());
      errLen += b.length;
    },
  });
  if (mode === 'c') s.start(['/bin/sh', '-c', text]);
  else {
    s.start(['/bin/sh']);
    s.input(text);
  }
  s.endInput();
  const dec = (c: Uint8Array[]) => Buffer.concat(c).toString('utf8');
  let kind: Outcome['kind'] = 'bound';
  const t0 = Date.now();
  for (let i = 0; i < MAX_SLICES && Date.now() - t0 < MAX_MS; i++) {
    const r = s.runSlice(SLICE);
    if (r === 'done') {
      kind = 'done';
      break;
    }
    if (r === 'timer') s.advance();
    else if (r === 'stuck' || r === 'input') {
      kind = 'stuck';
      break;
    }
  }
  return { kind, status: s.status, out: dec(out), err: dec(err) };
}

export const campaign: Campaign = {
  name: 'shell',
  description: 'generated and mutated scripts in the model sh: no JS exception, stack trace, deadlock or unexplained hang',
  run({ seed, scale, log }) {
    const g = new Gen(rng(seed));
    const total = Math.max(1, Math.round(SCRIPTS * scale));
    const counts = { scripts: 0, generated: 0, mutated: 0, 'stdin mode': 0, completed: 0, 'syntax errors': 0, 'own long runs': 0, 'killed by signal': 0 };
    const failures: CampaignFailure[] = [];
    for (let n = 0; n < total; n++) {
      let text: string;
      if (g.chance(0.5)) {
        text = command(g, 1 + g.int(3));
        counts.generated++;
      } else {
        const base = g.chance(0.5) ? g.pick(CORPUS) : command(g, 2);
        text = mutate(g, base, g.pick(CORPUS));
        counts.mutated++;
      }
      const mode = g.chance(0.25) ? 'stdin' : 'c';
      if (mode === 'stdin') counts['stdin mode']++;
      counts.scripts++;
      const where = `#${n} (${mode}) ${JSON.stringify(text.length > 300 ? text.slice(0, 300) + '…' : text)}`;
      if (process.env['FUZZ_SHELL_EACH']) log(where);
      let o: Outcome;
      try {
        o = runScript(text, mode, seed + n);
      } catch (e) {
        failures.push({ case: where, message: e instanceof Error ? (e.stack ?? e.message).split('\n').slice(0, 6).join(' | ') : String(e) });
        continue;
      }
      if (STACK_TRACE.test(o.err) || STACK_TRACE.test(o.out)) {
        failures.push({ case: where, message: `JS error text in the output: ${(o.err.match(STACK_TRACE) ?? o.out.match(STACK_TRACE))![0]}` });
      } else if (o.kind === 'stuck') {
        failures.push({ case: where, message: 'deadlock: every task sleeps and nothing can wake it' });
      } else if (o.kind === 'bound') {
        if (mayRunLong(text)) counts['own long runs']++;
        else failures.push({ case: where, message: `still running after ${SLICE * MAX_SLICES} steps or ${MAX_MS} ms, with no loop or sleep of its own` });
      } else {
        counts.completed++;
        if (o.status === 2 && /syntax error/.test(o.err)) counts['syntax errors']++;
        if ((o.status ?? 0) > 128) counts['killed by signal']++;
      }
      if (n % 200 === 0) log(`${n}/${total}, ${failures.length} failures`);
    }
    return { counts, failures };
  },
};
