/**
 * strace-like formatting of syscalls: `[pid 42] msgget(0x1234, IPC_CREAT|0600) = 32768`,
 * `... = -1 ENOENT (No such file or directory)`, `read(0, <unfinished ...>` for a call that sleeps.
 * Flag words are printed with Linux's names, from the same tables the `syscall` utility parses.
 *
 * As strace on the host: the pid is the task's pid in the initial namespace; what the kernel
 * writes through a pointer appears in that argument's place as a C-like struct or array
 * (`read(0, "abc", 4096) = 3`, `pipe2([3, 4], O_CLOEXEC) = 0`, `wait4(5, [{WIFEXITED(s) &&
 * WEXITSTATUS(s) == 0}], 0, NULL) = 5`, `stat("/etc", {st_mode=S_IFDIR|0755, st_size=…, ...}) = 0`,
 * `rt_sigaction(SIGCHLD, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}, {sa_handler=SIG_IGN, …}, 8)
 * = 0`), and the return value is what the C call returns. Pointers the model has no address for are
 * printed as NULL when absent and otherwise by their content.
 */
import { strerror, type ErrnoCode } from '../abi/errno.js';
import * as C from '../abi/constants.js';
import type { ArgKind } from './table.js';

type FlagTable = ReadonlyArray<readonly [string, number]>;

const OPEN_FLAGS: FlagTable = [
  ['O_WRONLY', C.O_WRONLY], ['O_RDWR', C.O_RDWR], ['O_CREAT', C.O_CREAT], ['O_EXCL', C.O_EXCL],
  ['O_NOCTTY', C.O_NOCTTY], ['O_TRUNC', C.O_TRUNC], ['O_APPEND', C.O_APPEND], ['O_NONBLOCK', C.O_NONBLOCK],
  ['O_DIRECTORY', C.O_DIRECTORY], ['O_NOFOLLOW', C.O_NOFOLLOW], ['O_CLOEXEC', C.O_CLOEXEC],
  ['O_LARGEFILE', C.O_LARGEFILE], ['O_DIRECT', C.O_DIRECT],
];

/** pipe2(2) and dup3(2) flags. */
const FD_FLAGS: FlagTable = [['O_CLOEXEC', C.O_CLOEXEC], ['O_NONBLOCK', C.O_NONBLOCK], ['O_DIRECT', C.O_DIRECT]];

const ACCESS_MODES = ['O_RDONLY', 'O_WRONLY', 'O_RDWR', '0x3'];

const CLONE_FLAGS: FlagTable = [
  ['CLONE_VM', C.CLONE_VM], ['CLONE_FS', C.CLONE_FS], ['CLONE_FILES', C.CLONE_FILES],
  ['CLONE_SIGHAND', C.CLONE_SIGHAND], ['CLONE_VFORK', C.CLONE_VFORK], ['CLONE_PARENT', C.CLONE_PARENT],
  ['CLONE_THREAD', C.CLONE_THREAD], ['CLONE_NEWNS', C.CLONE_NEWNS], ['CLONE_SYSVSEM', C.CLONE_SYSVSEM],
  ['CLONE_NEWIPC', C.CLONE_NEWIPC], ['CLONE_NEWPID', C.CLONE_NEWPID], ['CLONE_NEWUSER', C.CLONE_NEWUSER],
  ['CLONE_NEWUTS', C.CLONE_NEWUTS], ['CLONE_NEWNET', C.CLONE_NEWNET],
];

const WAIT_FLAGS: FlagTable = [
  ['WNOHANG', C.WNOHANG], ['WUNTRACED', C.WUNTRACED], ['WCONTINUED', C.WCONTINUED],
  ['__WNOTHREAD', C.__WNOTHREAD], ['__WALL', C.__WALL], ['__WCLONE', C.__WCLONE],
];

/** Flag words each kind may combine, for printing and for parsing `A|B|0600`. */
export const FLAG_TABLES: Partial<Record<ArgKind, FlagTable>> = {
  oflags: OPEN_FLAGS,
  fdflags: FD_FLAGS,
  clone: CLONE_FLAGS,
  wait: WAIT_FLAGS,
};

/** Extra tables registered by subsystems (IPC flags and commands). */
export function registerFlagTable(kind: ArgKind, table: FlagTable): void {
  FLAG_TABLES[kind] = table;
}

const SIGNAL_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(C).filter(([n, v]) => /^SIG[A-Z]+[0-9]?$/.test(n) && typeof v === 'number' && !['SIG_DFL', 'SIG_IGN', 'SIG_BLOCK', 'SIG_UNBLOCK', 'SIG_SETMASK'].includes(n))
    .map(([n, v]) => [v as number, n]),
);

export function signalName(sig: number): string {
  return SIGNAL_NAMES[sig] ?? String(sig);
}

function flags(value: number, table: FlagTable, octRest: boolean): string {
  if (value === 0) return '0';
  const names: string[] = [];
  let rest = value;
  for (const [name, bit] of table) {
    if (bit !== 0 && (rest & bit) === bit) {
      names.push(name);
      rest &= ~bit;
    }
  }
  if (rest !== 0 || names.length === 0) names.push(octRest ? `0${(rest >>> 0).toString(8)}` : `0x${(rest >>> 0).toString(16)}`);
  return names.join('|');
}

function quote(s: string, max = 32): string {
  const body = s.length > max ? s.slice(0, max) : s;
  const esc = body.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/\0/g, '\\0');
  return `"${esc}"${s.length > max ? '...' : ''}`;
}

const dec = new TextDecoder();

export function formatArg(kind: ArgKind, v: unknown): string {
  if (v === undefined) return '';
  if (typeof v === 'bigint') return kind === 'hex' ? `0x${v.toString(16)}` : v.toString();
  switch (kind) {
    case 'str':
      return typeof v === 'string' ? quote(v, 256) : String(v);
    case 'buf':
      return typeof v === 'string' ? quote(v) : v instanceof Uint8Array ? quote(dec.decode(v)) : String(v);
    case 'strv':
      return Array.isArray(v) ? `[${v.map((x) => quote(String(x))).join(', ')}]` : String(v);
    case 'hex':
    case 'key':
      return typeof v === 'number' ? (v < 0 ? `${v}` : `0x${v.toString(16)}`) : String(v);
    case 'oct':
      return typeof v === 'number' ? `0${v.toString(8)}` : String(v);
    case 'sig':
      return typeof v === 'number' ? signalName(v) : String(v);
    case 'oflags': {
      // As strace: the access mode by name, then the other flags.
      if (typeof v !== 'number') return String(v);
      const rest = v & ~C.O_ACCMODE;
      const mode = ACCESS_MODES[v & C.O_ACCMODE]!;
      return rest === 0 ? mode : `${mode}|${flags(rest, OPEN_FLAGS, false)}`;
    }
    case 'int':
    case 'fd':
      return String(v);
    default: {
      const table = FLAG_TABLES[kind];
      if (table && typeof v === 'number') return flags(v, table, kind === 'ipcflags' || kind === 'msgflags' || kind === 'semflags' || kind === 'shmflags');
      return typeof v === 'object' && v !== null ? formatStruct(v) : typeof v === 'string' ? quote(v, 256) : String(v);
    }
  }
}

/** A record as strace prints structs: `{a=1, b="x"}`; arrays `[1, 2]`; nested alike. */
export function formatStruct(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof Uint8Array) return quote(dec.decode(v));
  if (Array.isArray(v)) return `[${v.map(formatStruct).join(', ')}]`;
  if (typeof v === 'object') return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}=${formatStruct(x)}`).join(', ')}}`;
  return String(v);
}

const SIG_HOW = ['SIG_BLOCK', 'SIG_UNBLOCK', 'SIG_SETMASK'];
const RLIMITS = ['RLIMIT_CPU', 'RLIMIT_FSIZE', 'RLIMIT_DATA', 'RLIMIT_STACK', 'RLIMIT_CORE', 'RLIMIT_RSS', 'RLIMIT_NPROC', 'RLIMIT_NOFILE', 'RLIMIT_MEMLOCK', 'RLIMIT_AS'];
const FILE_TYPES: Array<[number, string]> = [
  [C.S_IFSOCK, 'S_IFSOCK'], [C.S_IFLNK, 'S_IFLNK'], [C.S_IFREG, 'S_IFREG'], [C.S_IFBLK, 'S_IFBLK'], [C.S_IFDIR, 'S_IFDIR'], [C.S_IFCHR, 'S_IFCHR'], [C.S_IFIFO, 'S_IFIFO'],
];

/** A signal set as strace prints it: `[INT TERM]` (`~[...]` for more than half the signals). */
function sigset(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  const set = BigInt(v as bigint);
  const names: string[] = [];
  for (let sig = 1; sig <= 64; sig++) if ((set >> BigInt(sig - 1)) & 1n) names.push(signalName(sig).replace(/^SIG/, ''));
  return `[${names.join(' ')}]`;
}

/** A disposition of the model's rt_sigaction (SIG_DFL 0, SIG_IGN 1, a handler) as strace's struct. */
function sigact(h: unknown): string {
  if (h === undefined || h === null) return 'NULL';
  const handler = h === C.SIG_DFL ? 'SIG_DFL' : h === C.SIG_IGN ? 'SIG_IGN' : `0x${Number(h).toString(16)}`;
  return `{sa_handler=${handler}, sa_mask=[], sa_flags=0}`;
}

/** A wait status as strace decodes it. */
export function waitStatus(st: number): string {
  const sig = st & 0x7f;
  if (sig === 0) return `[{WIFEXITED(s) && WEXITSTATUS(s) == ${(st >> 8) & 0xff}}]`;
  if (sig === 0x7f) return `[{WIFSTOPPED(s) && WSTOPSIG(s) == ${signalName((st >> 8) & 0xff)}}]`;
  return `[{WIFSIGNALED(s) && WTERMSIG(s) == ${signalName(sig)}${st & 0x80 ? ' && WCOREDUMP(s)' : ''}}]`;
}

function statStruct(v: unknown): string {
  const st = v as { st_mode: number; st_size: number; st_rdev: number };
  const fmt = st.st_mode & C.S_IFMT;
  const type = FILE_TYPES.find(([b]) => b === fmt)?.[1] ?? `0${fmt.toString(8)}`;
  const mode = `${type}|0${(st.st_mode & 0o7777).toString(8).padStart(3, '0')}`;
  const tail = fmt === C.S_IFCHR || fmt === C.S_IFBLK ? `st_rdev=makedev(0x${((st.st_rdev >> 8) & 0xfff).toString(16)}, 0x${(st.st_rdev & 0xff).toString(16)})` : `st_size=${st.st_size}`;
  return `{st_mode=${mode}, ${tail}, ...}`;
}

/** The outcome of a call, for `formatTrace`. */
export type TraceOutcome = { ok: unknown } | { errno: ErrnoCode } | { unfinished: true };

/**
 * One strace line. Calls whose C form writes through a pointer print what was written in that
 * argument's place (or the pointer's absence); the others print their arguments and result.
 */
export function formatTrace(pid: number, name: string, kinds: readonly ArgKind[], ret: ArgKind, args: unknown[], out: TraceOutcome): string {
  const ok = 'ok' in out;
  const v = ok ? out.ok : undefined;
  const a = (i: number) => formatArg(kinds[i] ?? 'any', args[i]);
  const line = (shown: string[], ret: string, outAt = shown.length) => {
    if ('unfinished' in out) return `[pid ${pid}] ${name}(${shown.slice(0, outAt).map((x) => `${x}, `).join('')}<unfinished ...>`;
    const r = 'errno' in out ? formatError(out.errno) : ret;
    return `[pid ${pid}] ${name}(${shown.join(', ')}) = ${r}`;
  };
  /** What a failed or unfinished call shows in an output pointer's place. */
  const ptr = (shown: () => string) => (ok ? shown() : '0x7ffc0000');
  switch (name) {
    case 'read':
      return line([a(0), ptr(() => quote(dec.decode(v as Uint8Array))), String(args[1])], ok ? String((v as Uint8Array).length) : '', 1);
    case 'write': {
      const b = args[1];
      const len = typeof b === 'string' ? new TextEncoder().encode(b).length : b instanceof Uint8Array ? b.length : 0;
      return line([a(0), a(1), String(len)], String(v));
    }
    case 'pipe2':
      return line([ptr(() => formatStruct(v)), a(0)], '0', 0);
    case 'wait4':
    case 'waitpid': {
      const r = v as { pid: number; status: number } | undefined;
      const st = ok && r && r.pid > 0 ? waitStatus(r.status) : ptr(() => '0x7ffc0000');
      const opts = formatArg('wait', args[1] ?? 0);
      return line(name === 'wait4' ? [a(0), st, opts, 'NULL'] : [a(0), st, opts], String(r?.pid ?? ''), 1);
    }
    case 'stat':
    case 'lstat':
    case 'fstat':
      return line([a(0), ptr(() => statStruct(v))], '0', 1);
    case 'rt_sigaction':
      return line([a(0), sigact(args[1]), ptr(() => sigact(v)), '8'], '0', 3);
    case 'rt_sigprocmask':
      return line([SIG_HOW[args[0] as number] ?? String(args[0]), sigset(args[1]), ptr(() => sigset(v)), '8'], '0');
    case 'getdents64': {
      const ents = (ok ? v : []) as Array<{ d_name: string }>;
      const bytes = ents.reduce((n, e) => n + ((19 + new TextEncoder().encode(e.d_name).length + 1 + 7) & ~7), 0);
      return line([a(0), ptr(() => `0x7ffc0000 /* ${ents.length} entries */`), String(args[1] ?? 32768)], String(bytes), 1);
    }
    case 'getresuid':
    case 'getresgid': {
      const r = (v ?? []) as number[];
      return line([0, 1, 2].map((i) => ptr(() => `[${r[i]}]`)), '0');
    }
    case 'getgroups': {
      const g = (v ?? []) as number[];
      return line([String(g.length), ptr(() => formatStruct(g))], String(g.length));
    }
    case 'getrlimit':
      return line([RLIMITS[args[0] as number] ?? String(args[0]), ptr(() => formatStruct(v))], '0', 1);
    case 'setrlimit':
      return line([RLIMITS[args[0] as number] ?? String(args[0]), formatStruct(args[1])], String(v));
    case 'clock_gettime':
      return line([args[0] === 0 ? 'CLOCK_REALTIME' : String(args[0]), ptr(() => formatStruct(v))], '0', 1);
    case 'nanosleep': {
      const ns = Number(args[0]);
      return line([`{tv_sec=${Math.floor(ns / 1e9)}, tv_nsec=${ns % 1e9}}`, 'NULL'], String(v), 1);
    }
    case 'execve': {
      const env = args[2];
      return line([a(0), a(1), Array.isArray(env) ? `0x7ffc0000 /* ${env.length} vars */` : 'NULL'], String(v));
    }
    case 'msgrcv': {
      const m = v as { mtype: unknown; mtext: Uint8Array | string } | undefined;
      const text = m ? (typeof m.mtext === 'string' ? m.mtext : dec.decode(m.mtext)) : '';
      return line([a(0), ptr(() => `{${String(m!.mtype)}, ${quote(text)}}`), a(1), a(2), a(3)], String(text.length), 1);
    }
  }
  const shown = args.map((x, i) => formatArg(kinds[i] ?? 'any', x)).filter((x, i) => x !== '' || i < kinds.length);
  return line(shown, ok ? formatReturn(ret, v) : '');
}

export function formatCall(pid: number, name: string, kinds: readonly ArgKind[], args: unknown[]): string {
  const shown = args.map((a, i) => formatArg(kinds[i] ?? 'any', a)).filter((s, i) => s !== '' || i < kinds.length);
  return `[pid ${pid}] ${name}(${shown.join(', ')})`;
}

export function formatReturn(kind: ArgKind, v: unknown): string {
  if (typeof v === 'number') return kind === 'hex' ? `0x${v.toString(16)}` : String(v);
  if (v instanceof Uint8Array) return `${v.length} ${quote(dec.decode(v))}`;
  return formatArg(kind === 'int' ? 'any' : kind, v);
}

export function formatError(code: ErrnoCode): string {
  return `-1 ${code} (${strerror(code)})`;
}
