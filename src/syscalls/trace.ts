/**
 * strace-like formatting of syscalls: `[pid 42] msgget(0x1234, IPC_CREAT|0600) = 32768`,
 * `... = -1 ENOENT (No such file or directory)`, `... <unfinished ...>` for a call that sleeps.
 * Flag words are printed with Linux's names, from the same tables the `syscall` utility parses.
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
      return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? dec.decode(x) : x)) ?? String(v);
    }
  }
}

export function formatCall(pid: number, name: string, kinds: ArgKind[], args: unknown[]): string {
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
