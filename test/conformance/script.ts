/**
 * The conformance script grammar (test/conformance/README.md), in TypeScript: the same tokens,
 * names, references and argument forms that native/ipc-harness.c reads. The native side feeds
 * scripts to the C harness; a model-side interpreter uses these helpers to run the same scripts
 * against the kernel model, so both sides read every line the same way.
 */

/** A script line the grammar does not accept. */
export class ScriptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScriptError';
  }
}

/** One operation line of a script. */
export interface ScriptOp {
  /** 0-based position among the operation lines; the result line carries the same number. */
  index: number;
  /** 1-based line number in the script text. */
  line: number;
  /** `NAME=` prefix: the op's value can later be referenced as `$NAME`. */
  name?: string;
  /** `child OP …`: the op runs in a forked child that exits right after it. */
  child: boolean;
  /** Operation name (`msgget`, `semop`, …). */
  op: string;
  /** The tokens after the operation name, unparsed. */
  args: string[];
}

/** Flags, commands and keys accepted by name (Linux values; x86_64). */
export const IPC_NAMES: Readonly<Record<string, number>> = Object.freeze({
  IPC_PRIVATE: 0,
  IPC_CREAT: 0o1000,
  IPC_EXCL: 0o2000,
  IPC_NOWAIT: 0o4000,
  IPC_RMID: 0,
  IPC_SET: 1,
  IPC_STAT: 2,
  IPC_INFO: 3,
  MSG_NOERROR: 0o10000,
  MSG_EXCEPT: 0o20000,
  MSG_COPY: 0o40000,
  MSG_STAT: 11,
  MSG_INFO: 12,
  MSG_STAT_ANY: 13,
  SEM_UNDO: 0x1000,
  GETPID: 11,
  GETVAL: 12,
  GETALL: 13,
  GETNCNT: 14,
  GETZCNT: 15,
  SETVAL: 16,
  SETALL: 17,
  SEM_STAT: 18,
  SEM_INFO: 19,
  SEM_STAT_ANY: 20,
  SHM_RDONLY: 0o10000,
  SHM_RND: 0o20000,
  SHM_REMAP: 0o40000,
  SHM_EXEC: 0o100000,
  SHM_HUGETLB: 0o4000,
  SHM_NORESERVE: 0o10000,
  SHM_LOCK: 11,
  SHM_UNLOCK: 12,
  SHM_STAT: 13,
  SHM_INFO: 14,
  SHM_STAT_ANY: 15,
  SHM_DEST: 0o1000,
  SHM_LOCKED: 0o2000,
});

/** The operations the harness knows. */
export const OPERATIONS: readonly string[] = Object.freeze([
  'msgget', 'msgsnd', 'msgrcv', 'msgctl',
  'semget', 'semop', 'semtimedop', 'semctl',
  'shmget', 'shmat', 'shmdt', 'shmctl',
  'write', 'read',
  'seteuid', 'setegid', 'setgroups',
  'sysctl', 'readsysctl',
]);

const BLANK = /[ \t\r\n]/;

/** Splits one line into tokens (a `"…"` text is one token, `#` starts a comment). */
export function tokenize(line: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  for (;;) {
    while (i < line.length && BLANK.test(line[i]!)) i++;
    if (i >= line.length || line[i] === '#') return tokens;
    const start = i;
    if (line[i] === '"') {
      i++;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\' && i + 1 < line.length) i++;
        i++;
      }
      if (i >= line.length) throw new ScriptError('unterminated text');
      i++;
      if (i < line.length && !BLANK.test(line[i]!)) throw new ScriptError('text must be followed by a blank');
      tokens.push(line.slice(start, i));
    } else {
      while (i < line.length && !BLANK.test(line[i]!) && line[i] !== '#') i++;
      tokens.push(line.slice(start, i));
      if (line[i] === '#') return tokens;
    }
  }
}

const REF_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parses a whole script. Blank and comment lines are not operations. Throws ScriptError (with
 * the line number) on a malformed line.
 */
export function parseScript(text: string): ScriptOp[] {
  const ops: ScriptOp[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    let tokens: string[];
    try {
      tokens = tokenize(lines[n]!);
    } catch (e) {
      throw new ScriptError(`line ${n + 1}: ${(e as Error).message}`);
    }
    if (tokens.length === 0) continue;
    let name: string | undefined;
    const eq = tokens[0]!.indexOf('=');
    if (eq >= 0 && !tokens[0]!.startsWith('"')) {
      name = tokens[0]!.slice(0, eq);
      if (!REF_NAME.test(name) || name.length > 63) throw new ScriptError(`line ${n + 1}: bad reference name '${name}'`);
      const rest = tokens[0]!.slice(eq + 1);
      tokens = rest ? [rest, ...tokens.slice(1)] : tokens.slice(1);
    }
    const child = tokens[0] === 'child';
    if (child) tokens = tokens.slice(1);
    const op = tokens[0];
    if (op === undefined || !OPERATIONS.includes(op)) throw new ScriptError(`line ${n + 1}: unknown operation '${op ?? ''}'`);
    if (child && name !== undefined) throw new ScriptError(`line ${n + 1}: a child op cannot be named`);
    ops.push({ index: ops.length, line: n + 1, ...(name !== undefined ? { name } : {}), child, op, args: tokens.slice(1) });
  }
  return ops;
}

/** The values of earlier ops, for `$N` and `$NAME` references. */
export class Refs {
  private readonly byIndex = new Map<number, number>();
  private readonly names = new Map<string, number>();

  /** Records op `index` (named `name`, if any); `value` is undefined when the op failed. */
  set(index: number, name: string | undefined, value: number | undefined): void {
    if (name !== undefined) this.names.set(name, index);
    if (value !== undefined) this.byIndex.set(index, value);
  }

  /** The value of `$N` / `$NAME`; throws ScriptError for unknown refs and refs to failed ops. */
  get(ref: string): number {
    const index = /^[0-9]+$/.test(ref) ? Number(ref) : this.names.get(ref);
    if (index === undefined) throw new ScriptError(`unknown reference '$${ref}'`);
    const v = this.byIndex.get(index);
    if (v === undefined) throw new ScriptError(`reference '$${ref}' is to op ${index}, which failed or has not run`);
    return v;
  }
}

const NUMBER = /^[+-]?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/;

/** A C integer literal (strtoll base 0): decimal, 0x hex, 0 octal, optional sign. */
export function parseNumber(s: string): number {
  if (!NUMBER.test(s)) throw new ScriptError(`bad number '${s}'`);
  const neg = s.startsWith('-');
  const body = s.replace(/^[+-]/, '');
  let v: number;
  if (/^0[xX]/.test(body)) v = parseInt(body.slice(2), 16);
  else if (body.length > 1 && body.startsWith('0')) v = parseInt(body.slice(1), 8);
  else v = parseInt(body, 10);
  return neg ? -v : v;
}

function parseTerm(s: string, refs: Refs): number {
  const m = /^\$([A-Za-z0-9_]+)(?:([+-])(.+))?$/.exec(s);
  if (m) {
    const base = refs.get(m[1]!);
    if (m[2] === undefined) return base;
    const off = parseNumber(m[3]!);
    return m[2] === '+' ? base + off : base - off;
  }
  if (s.startsWith('$')) throw new ScriptError(`bad reference '${s}'`);
  const named = IPC_NAMES[s];
  if (named !== undefined) return named;
  return parseNumber(s);
}

/**
 * A value: `|`-joined terms (names, numbers, references), or-ed together. The result is the
 * 64-bit value before any C cast; README.md lists the C type each argument is cast to.
 */
export function parseValue(s: string, refs: Refs): number {
  const terms = s.split('|');
  if (terms.some((t) => t === '')) throw new ScriptError(`bad value '${s}'`);
  if (terms.length === 1) return parseTerm(terms[0]!, refs);
  return terms.reduce((acc, t) => Number(BigInt(acc) | BigInt(parseTerm(t, refs))), 0);
}

/**
 * A value that must stay exact beyond 2^53 (a `long` message type): the same grammar as parseValue,
 * as a bigint (a literal as strtoll reads it: clamped to the long long range).
 */
export function parseLong(s: string, refs: Refs): bigint {
  const terms = s.split('|');
  if (terms.some((t) => t === '')) throw new ScriptError(`bad value '${s}'`);
  return terms.reduce((acc, t) => acc | longTerm(t, refs), 0n);
}

function longTerm(s: string, refs: Refs): bigint {
  if (s.startsWith('$') || IPC_NAMES[s] !== undefined) return BigInt(parseTerm(s, refs));
  if (!NUMBER.test(s)) throw new ScriptError(`bad number '${s}'`);
  const body = s.replace(/^[+-]/, '');
  const v = /^0[xX]/.test(body) ? BigInt(body) : body.length > 1 && body[0] === '0' ? BigInt(`0o${body.slice(1)}`) : BigInt(body);
  const r = s.startsWith('-') ? -v : v;
  const max = (1n << 63n) - 1n;
  return r > max ? max : r < -max - 1n ? -max - 1n : r;
}

/** An address: `+OFF` is `base + OFF` (the fixed-address window); otherwise a value. */
export function parseAddr(s: string, refs: Refs, base: number): number {
  if (s.startsWith('+')) {
    const off = parseNumber(s.slice(1));
    if (off < 0) throw new ScriptError(`bad window offset '${s}'`);
    return base + off;
  }
  return parseValue(s, refs);
}

/** The bytes generated for a size body: byte i is 'a' + i % 26. */
export function patternBytes(n: number): Uint8Array {
  const out = new Uint8Array(Math.max(0, n));
  for (let i = 0; i < out.length; i++) out[i] = 0x61 + (i % 26);
  return out;
}

/**
 * A body: `"text"` (escapes `\xHH`, `\\`, `\"`) or a size N. For N >= 0 the bytes are
 * patternBytes(N); for N < 0 there are no bytes and `size` (passed to the kernel as size_t) is N.
 */
export function parseBody(s: string, refs: Refs): { bytes: Uint8Array; size: number } {
  if (s.startsWith('"')) {
    if (s.length < 2 || !s.endsWith('"')) throw new ScriptError(`unterminated text ${s}`);
    const inner = s.slice(1, -1);
    const out: number[] = [];
    for (let i = 0; i < inner.length; i++) {
      const c = inner[i]!;
      if (c !== '\\') {
        out.push(c.charCodeAt(0) & 0xff);
        continue;
      }
      const next = inner[i + 1];
      if (next === '\\' || next === '"') {
        out.push(next.charCodeAt(0));
        i++;
      } else if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(inner.slice(i + 2, i + 4))) {
        out.push(parseInt(inner.slice(i + 2, i + 4), 16));
        i += 3;
      } else {
        throw new ScriptError(`bad escape in ${s}`);
      }
    }
    return { bytes: Uint8Array.from(out), size: out.length };
  }
  const n = parseValue(s, refs);
  return { bytes: patternBytes(n), size: n };
}

/** One struct sembuf. */
export interface Sembuf {
  sem_num: number;
  sem_op: number;
  sem_flg: number;
}

/** Casts like C: (unsigned short), (short), (int). */
export const u16 = (v: number): number => Number(BigInt.asUintN(16, BigInt(v)));
export const s16 = (v: number): number => Number(BigInt.asIntN(16, BigInt(v)));
export const s32 = (v: number): number => Number(BigInt.asIntN(32, BigInt(v)));

/**
 * SOPS: `-` (an empty array) or `,`-separated `NUM:OP:FLAGS` items, each optionally `*COUNT`.
 * Fields are cast like the harness: sem_num (unsigned short), sem_op and sem_flg (short).
 */
export function parseSops(s: string, refs: Refs): Sembuf[] {
  if (s === '-') return [];
  const out: Sembuf[] = [];
  for (const raw of s.split(',')) {
    const [item, countText] = raw.split('*') as [string, string | undefined];
    const count = countText === undefined ? 1 : parseNumber(countText);
    if (count < 1) throw new ScriptError(`bad repeat count in '${s}'`);
    const parts = item.split(':');
    if (parts.length !== 3) throw new ScriptError(`bad operation '${item}' (want NUM:OP:FLAGS)`);
    const sop = {
      sem_num: u16(parseValue(parts[0]!, refs)),
      sem_op: s16(parseValue(parts[1]!, refs)),
      sem_flg: s16(parseValue(parts[2]!, refs)),
    };
    for (let i = 0; i < count; i++) out.push({ ...sop });
  }
  return out;
}

/** A semtimedop timeout: `NULL` (no timeout) or `SEC:NSEC`. */
export function parseTimeout(s: string): { tv_sec: number; tv_nsec: number } | null {
  if (s === 'NULL') return null;
  const parts = s.split(':');
  if (parts.length !== 2) throw new ScriptError(`bad timeout '${s}' (want SEC:NSEC or NULL)`);
  return { tv_sec: parseNumber(parts[0]!), tv_nsec: parseNumber(parts[1]!) };
}

/** A comma-separated list of values (SETALL values, setgroups gids); `-` is empty. */
export function parseList(s: string, refs: Refs): number[] {
  if (s === '-') return [];
  return s.split(',').map((t) => parseValue(t, refs));
}
