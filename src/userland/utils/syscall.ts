/**
 * `syscall NAME ARGS…`: makes one system call and prints its result (or `-1 ERRNO (text)`, status
 * 1). Arguments are parsed by the kind the syscall table gives each one: numbers with base
 * detection, flag words by their Linux names (`IPC_CREAT|0600`, `O_WRONLY|O_CREAT`), signal names,
 * IPC keys, JSON for records (`'{"mtype":1,"mtext":"hi"}'`), string arrays for execve.
 * The call is always yielded to the scheduler, so a call that sleeps (msgrcv, wait4) really sleeps,
 * and `syscall fork` forks (both processes print). As a shell builtin it runs in the shell process
 * — made for next_syscall_data experiments: `echo "LONG1 9" > …; syscall open /dev/null O_RDONLY`.
 */
import { strerror, type ErrnoCode } from '../../abi/errno.js';
import type { SysResult } from '../../kernel/state.js';
import * as C from '../../abi/constants.js';
import { SYSCALLS, type ArgKind } from '../../syscalls/table.js';
import { FLAG_TABLES } from '../../syscalls/trace.js';
import { UsageError, parseNumber } from '../lib/args.js';
import { defineUserlandProgram } from '../lib/program.js';
import { signalNumber } from '../lib/applet.js';

const CONSTANTS = C as unknown as Record<string, unknown>;

function wordValue(word: string, kind: ArgKind): number {
  const n = parseNumber(word);
  if (!Number.isNaN(n)) return n;
  const table = FLAG_TABLES[kind];
  const hit = table?.find(([name]) => name === word);
  if (hit) return hit[1];
  if (kind === 'sig') {
    const s = signalNumber(word);
    if (!Number.isNaN(s)) return s;
  }
  const c = CONSTANTS[word];
  if (typeof c === 'number') return c;
  throw new UsageError(`${word}: not a number or a known name`);
}

function numberArg(s: string, kind: ArgKind): number {
  const words = s.split('|');
  // One word is taken whole (an address above 2^31 must not go through 32-bit `|`); flag words are OR'd.
  if (words.length === 1) return wordValue(s.trim(), kind);
  return words.reduce((acc, w) => acc | wordValue(w.trim(), kind), 0);
}

/** A 64-bit argument (a message type, a size, a mask) exactly: sign, then 0x hex, 0 octal or decimal. */
function parseBigInt(s: string): bigint {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s.trim());
  if (!m) throw new UsageError(`${s}: not a number`);
  const body = m[2]!;
  const v = /^0[xX]/.test(body) ? BigInt(body) : body.length > 1 && body[0] === '0' ? BigInt(`0o${body.slice(1)}`) : BigInt(body);
  return m[1] === '-' ? -v : v;
}

/**
 * semop/semtimedop's sembuf array: `sem_flg` may be given by name (`"SEM_UNDO|IPC_NOWAIT"`); an
 * unknown name is refused (UsageError), never taken as 0.
 */
function semFlagNames(v: unknown): unknown {
  if (!Array.isArray(v)) return v;
  return v.map((op: unknown) => {
    if (op === null || typeof op !== 'object' || !('sem_flg' in op)) return op;
    const flg = (op as { sem_flg: unknown }).sem_flg;
    if (typeof flg === 'number') return op;
    if (typeof flg !== 'string') throw new UsageError(`sem_flg: ${JSON.stringify(flg)} is not a number or flag names`);
    return { ...op, sem_flg: numberArg(flg, 'semflags') };
  });
}

export function parseArg(s: string, kind: ArgKind): unknown {
  switch (kind) {
    case 'str':
      return s;
    case 'buf':
      // The bytes of the text (a syscall's buffer is bytes: process_vm_writev refuses a string).
      return new TextEncoder().encode(s);
    case 'strv':
      if (s.startsWith('[')) return JSON.parse(s) as unknown;
      return s === '' ? [] : s.split(',');
    case 'bigint':
      return parseBigInt(s);
    case 'any': {
      if (/^[[{"]/.test(s)) {
        try {
          return JSON.parse(s) as unknown;
        } catch {
          return s;
        }
      }
      const n = parseNumber(s);
      if (!Number.isNaN(n)) return n;
      if (s === 'null') return null;
      return s;
    }
    default:
      return numberArg(s, kind);
  }
}

/** The call's arguments from the command line; throws UsageError. */
export function parseSyscall(argv: readonly string[]): { name: string; args: unknown[] } {
  const name = argv[1];
  if (!name) throw new UsageError('usage: syscall NAME [ARG...]');
  const def = SYSCALLS.get(name);
  if (!def) throw new UsageError(`${name}: no such system call`);
  const args = argv.slice(2).map((a, i) => parseArg(a, def.args[i] ?? 'any'));
  if ((name === 'semop' || name === 'semtimedop') && args.length > 1) args[1] = semFlagNames(args[1]);
  return { name, args };
}

const dec = new TextDecoder();

/** How the result is printed: numbers in decimal, bytes as text, records as JSON. */
function formatSyscallResult(value: unknown): string {
  if (value === undefined || value === null) return '0';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return dec.decode(value);
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? dec.decode(v) : v instanceof Set ? [...v] : v instanceof Map ? Object.fromEntries(v) : v));
}

function formatSyscallError(code: ErrnoCode): string {
  return `-1 ${code} (${strerror(code)})`;
}

/** parseSyscall, a malformed command line reported as `syscall: …` on `err`: null then (status 2). */
export function parseSyscallCommand(argv: readonly string[], err: (text: string) => void): { name: string; args: unknown[] } | null {
  try {
    return parseSyscall(argv);
  } catch (e) {
    if (!(e instanceof UsageError) && !(e instanceof SyntaxError) && !(e instanceof RangeError)) throw e;
    err(`syscall: ${e.message}\n`);
    return null;
  }
}

/** Prints a call's outcome as `syscall` does (its value, or `-1 ERRNO (text)`); returns the status. */
export function printSyscallResult(r: SysResult, out: (text: string) => void): number {
  if (!r.ok) {
    out(formatSyscallError(r.code) + '\n');
    return 1;
  }
  const text = formatSyscallResult(r.value);
  out(text.endsWith('\n') ? text : text + '\n');
  return 0;
}

defineUserlandProgram<{ called: boolean }>({
  name: '/bin/syscall',
  start: () => ({ called: false }),
  step(p) {
    if (p.state.called) return p.exit(printSyscallResult(p.result!, (t) => p.out(t)));
    const call = parseSyscallCommand(p.argv, (t) => p.err(t));
    if (!call) return p.exit(2);
    p.state.called = true;
    return p.call(call.name, ...call.args);
  },
});
