/**
 * Design note: one schema for every entry of nsd-extra.img, and one validator walking it.
 *
 * A section's schema says, for every field, whether it is required, its type and its range, the
 * way the kernel would take the value (a signal number as `validSignal`, credentials as uid_t,
 * next_syscall_data as at most NDATA C longs…). Objects are closed: a field the schema does not
 * name is refused, as is a section it does not know. The first mismatch is reported with the
 * path of the field and the value found (`prog.data: missing`, `dirPos: -1 is below 0`), so an
 * error names the image, the entry, the field and the value. References between entries (a task's
 * fd table index, a pstree pid) are cross-checked afterwards in images.ts.
 */
import { isErrnoCode } from '../abi/errno.js';
import { RLIM_INFINITY } from '../abi/constants.js';
import { validSignal } from '../kernel/task/signal.js';
import { PID_MAX_LIMIT, PROFILES } from '../kernel/profile.js';
import { NDATA } from '../kernel/nsd/nsd.js';
import { SYSCALLS } from '../syscalls/table.js';

export type Schema =
  | { t: 'int'; min: number; max: number; test?: (n: number) => string | null }
  | { t: 'num'; min: number; max: number }
  | { t: 'big'; min: bigint; max: bigint }
  | { t: 'bool' }
  | { t: 'str'; max: number; test?: (s: string) => string | null }
  | { t: 'enum'; values: readonly unknown[] }
  | { t: 'bytes'; max: number }
  | { t: 'list'; of: Schema; max: number }
  | { t: 'tuple'; items: readonly Schema[] }
  | { t: 'obj'; fields: Readonly<Record<string, Schema>>; optional?: readonly string[]; test?: (o: Record<string, unknown>) => string | null }
  | { t: 'null'; of: Schema }
  | { t: 'either'; of: readonly Schema[] }
  /** Any plain value the image encoding can carry, except a missing one. */
  | { t: 'plain' };

// ---- building blocks ----

export const int = (min: number, max: number, test?: (n: number) => string | null): Schema => ({ t: 'int', min, max, test });
export const num = (min: number, max: number): Schema => ({ t: 'num', min, max });
export const bool: Schema = { t: 'bool' };
export const str = (max = 4096, test?: (s: string) => string | null): Schema => ({ t: 'str', max, test });
export const oneOf = (...values: unknown[]): Schema => ({ t: 'enum', values });
export const bytes = (max: number): Schema => ({ t: 'bytes', max });
export const list = (of: Schema, max = 1 << 20): Schema => ({ t: 'list', of, max });
export const tuple = (...items: Schema[]): Schema => ({ t: 'tuple', items });
export const obj = (fields: Record<string, Schema>, optional: readonly string[] = [], test?: (o: Record<string, unknown>) => string | null): Schema => ({
  t: 'obj', fields, optional, test,
});
export const nullable = (of: Schema): Schema => ({ t: 'null', of });
export const either = (...of: Schema[]): Schema => ({ t: 'either', of });
export const plain: Schema = { t: 'plain' };

const U32_ID = int(0, 0xfffffffe);
const PID = int(1, PID_MAX_LIMIT);
/** A signal number, as the kernel checks it. */
const SIG = int(1, 64, (n) => (validSignal(n) ? null : 'is not a valid signal'));
const SIGS = list(SIG, 64 * 1024);
const absPath = (s: string): string | null => (s.startsWith('/') ? null : 'is not an absolute path');
/** Index of another entry (or -1 where the model says "none"). */
const INDEX = int(0, 1 << 24);
const SYS_RESULT = either(
  obj({ ok: oneOf(true), value: plain }),
  obj({ ok: oneOf(false), code: str(32, (s) => (isErrnoCode(s) ? null : 'is not an errno name')), out: plain }, ['out']),
);

// ---- the sections of nsd-extra.img ----

const CRED = obj({
  uid: U32_ID, euid: U32_ID, suid: U32_ID, fsuid: U32_ID, gid: U32_ID, egid: U32_ID, sgid: U32_ID, fsgid: U32_ID,
  groups: list(U32_ID, 65536),
  capEffective: { t: 'big', min: 0n, max: (1n << 64n) - 1n },
  capPermitted: { t: 'big', min: 0n, max: (1n << 64n) - 1n },
});

const NSD = obj({ ndata: int(0, NDATA), data: list({ t: 'big', min: -(1n << 63n), max: (1n << 63n) - 1n }, NDATA) }, [], (o) =>
  (o.data as unknown[]).length === o.ndata ? null : `holds ${(o.data as unknown[]).length} values for ndata ${String(o.ndata)}`,
);

const PROG = obj({
  name: str(4096),
  argv: list(str(1 << 20), 1 << 16),
  envp: list(str(1 << 20), 1 << 16),
  data: plain,
  result: nullable(SYS_RESULT),
  signals: SIGS,
});

const BLOCKED = obj({
  call: obj({ name: str(64, (s) => (SYSCALLS.has(s) ? null : 'is not a syscall of this kernel')), args: list(plain, 16) }),
  remainNs: nullable(num(0, Number.MAX_SAFE_INTEGER)),
  result: nullable(SYS_RESULT),
  data: plain,
});

const MAPPING = obj({
  start: int(0, Number.MAX_SAFE_INTEGER),
  len: int(1, 1 << 30),
  prot: int(0, 7),
  kind: oneOf('anon', 'shm'),
  flags: int(0, 0x7fffffff),
  shmid: int(-1, 0x7fffffff),
  data: nullable(bytes(1 << 30)),
}, [], (m) => {
  if ((m.start as number) % 4096 !== 0) return `start ${String(m.start)} is not page aligned`;
  // data null: the content is in pagemap-<pid>.img (pagemap.ts fillMemory fills it, or refuses).
  if (m.kind === 'anon' && m.data !== null && (m.data as Uint8Array).length !== m.len) return `anonymous content is not ${String(m.len)} bytes`;
  return null;
});

/** Every section of nsd-extra.img and the shape of its entries' value. */
export const SECTIONS: Readonly<Record<string, Schema>> = {
  meta: obj({
    format: int(0, 0xffff),
    profile: oneOf(...Object.keys(PROFILES)),
    clockNs: num(0, Number.MAX_VALUE),
    newPidNs: bool,
    ownIpcNs: bool,
    withFs: bool,
    order: list(PID),
    runq: list(PID),
    sleepers: list(list(PID)),
    timed: list(PID),
  }),
  pidns: obj({ parent: int(-1, 1 << 24), depth: int(0, 32), lastPid: int(0, PID_MAX_LIMIT) }),
  proc: obj({
    exitSignal: int(0, 64),
    sigaction: list(oneOf(0, 1, 2), 65),
    pending: SIGS,
    zombie: bool,
    status: int(0, 0xffff),
    stopped: bool,
    stopReport: int(0, 64),
    contReport: bool,
    rlimNofile: int(0, 1 << 30),
    rlimNofileMax: int(0, 1 << 30),
    rlimMemlock: int(0, RLIM_INFINITY),
    subreaper: bool,
    zombies: list(PID),
    semUndoWithParent: bool,
  }, [], (p) => {
    if ((p.sigaction as unknown[]).length !== 65) return `sigaction has ${(p.sigaction as unknown[]).length} entries, not 65`;
    if ((p.rlimNofile as number) > (p.rlimNofileMax as number)) return `rlimNofile ${String(p.rlimNofile)} is above rlimNofileMax ${String(p.rlimNofileMax)}`;
    return null;
  }),
  task: obj({
    tids: list(PID, 33),
    pidns: INDEX,
    pidnsForChildren: INDEX,
    state: oneOf('running', 'blocked', 'stopped', 'zombie'),
    comm: str(15),
    cred: CRED,
    fdtable: int(-1, 1 << 24),
    mm: int(-1, 1 << 24),
    cwd: str(4096, absPath),
    umask: int(0, 0o777),
    nsd: nullable(NSD),
    sigmask: { t: 'big', min: 0n, max: (1n << 64n) - 1n },
    pending: SIGS,
    blocked: nullable(BLOCKED),
    prog: nullable(PROG),
    exitCode: int(0, 0xffff),
  }),
  file: obj({
    kind: oneOf('vfs', 'pipe', 'proc', 'dev'),
    flags: int(0, 0x7fffffff),
    pos: int(0, Number.MAX_SAFE_INTEGER),
    path: str(4096),
    dirPos: int(0, 1 << 30),
    pipe: int(-1, 1 << 24),
    procType: str(64),
  }, [], (f) => {
    if (f.kind === 'pipe' ? (f.pipe as number) < 0 : f.pipe !== -1) return `pipe ${String(f.pipe)} does not fit kind ${String(f.kind)}`;
    if (f.kind !== 'pipe' && !(f.path as string).startsWith('/')) return `path ${JSON.stringify(f.path)} is not absolute`;
    return null;
  }),
  pipe: obj({ data: bytes(65536) }),
  fdtable: obj({ fds: list(tuple(int(0, 1 << 20), INDEX, bool)) }),
  mm: obj({ mmapBase: int(0, Number.MAX_SAFE_INTEGER), maps: list(MAPPING) }, [], (m) =>
    (m.mmapBase as number) % 4096 === 0 ? null : `mmapBase ${String(m.mmapBase)} is not page aligned`),
  fs: obj({
    path: str(4096, absPath),
    type: oneOf('dir', 'reg'),
    perm: int(0, 0o7777),
    uid: U32_ID,
    gid: U32_ID,
    data: nullable(bytes(1 << 30)),
  }, [], (n) => ((n.type === 'reg') === (n.data !== null) ? null : `type ${String(n.type)} does not match its data`)),
};

// ---- the validator ----

/** A short rendering of a value for an error message. */
export function showValue(v: unknown): string {
  if (v === undefined) return 'missing';
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (v instanceof Map || v instanceof Set) return `a ${v instanceof Map ? 'Map' : 'Set'}`;
  return 'an object';
}

const typeName = (s: Schema): string =>
  ({ int: 'an integer', num: 'a number', big: 'a 64-bit integer', bool: 'a boolean', str: 'a string', enum: 'one of', bytes: 'bytes', list: 'a list', tuple: 'a tuple', obj: 'an object', null: 'null or a value', either: 'a value', plain: 'a value' })[s.t];

/** Plain data the image encoding can carry (no functions, no class instances but Map/Set/bytes). */
function isPlain(v: unknown, depth = 0): boolean {
  if (depth > 64) return false;
  if (v === undefined || v === null || ['string', 'number', 'boolean', 'bigint'].includes(typeof v)) return true;
  if (v instanceof Uint8Array) return true;
  if (Array.isArray(v)) return v.every((x) => isPlain(x, depth + 1));
  if (v instanceof Map) return [...v].every(([a, b]) => isPlain(a, depth + 1) && isPlain(b, depth + 1));
  if (v instanceof Set) return [...v].every((x) => isPlain(x, depth + 1));
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) return Object.values(v).every((x) => isPlain(x, depth + 1));
  return false;
}

export interface SchemaError {
  /** Dotted path of the field (`prog.data`, `maps[2].len`); '' for the value itself. */
  path: string;
  value: unknown;
  why: string;
}

const at = (path: string, key: string | number): string => (typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key);

/** The first place `v` does not fit `s`, or null. */
export function checkSchema(v: unknown, s: Schema, path = ''): SchemaError | null {
  const e = check(v, s);
  if (!e) return null;
  // The path is built only for an error, from the keys collected on the way out (innermost first).
  let full = path;
  for (let i = e.keys.length - 1; i >= 0; i--) full = at(full, e.keys[i]!);
  return { path: full, value: e.value, why: e.why };
}

/** A schema error whose path is the keys from the innermost out (built into a string only on failure). */
interface Miss {
  keys: (string | number)[];
  value: unknown;
  why: string;
}

function check(v: unknown, s: Schema): Miss | null {
  const bad = (why: string): Miss => ({ keys: [], value: v, why });
  if (v === undefined && s.t !== 'plain') return bad('is missing');
  switch (s.t) {
    case 'int':
    case 'num':
      if (typeof v !== 'number' || (s.t === 'int' ? !Number.isSafeInteger(v) : !Number.isFinite(v))) return bad(`is not ${typeName(s)}`);
      if (v < s.min) return bad(`is below ${s.min}`);
      if (v > s.max) return bad(`is above ${s.max}`);
      return s.t === 'int' && s.test?.(v) ? bad(s.test(v)!) : null;
    case 'big':
      if (typeof v !== 'bigint') return bad(`is not ${typeName(s)}`);
      return v < s.min || v > s.max ? bad(`is out of range ${s.min}..${s.max}`) : null;
    case 'bool':
      return typeof v === 'boolean' ? null : bad('is not a boolean');
    case 'str':
      if (typeof v !== 'string') return bad('is not a string');
      if (v.length > s.max) return bad(`is longer than ${s.max}`);
      return s.test?.(v) ? bad(s.test(v)!) : null;
    case 'enum':
      return s.values.includes(v) ? null : bad(`is not one of ${s.values.map((x) => JSON.stringify(x)).join(', ')}`);
    case 'bytes':
      if (!(v instanceof Uint8Array)) return bad('is not bytes');
      return v.length > s.max ? bad(`is longer than ${s.max} bytes`) : null;
    case 'list':
      if (!Array.isArray(v)) return bad('is not a list');
      if (v.length > s.max) return bad(`has more than ${s.max} items`);
      for (let i = 0; i < v.length; i++) {
        const e = check(v[i], s.of);
        if (e) return (e.keys.push(i), e);
      }
      return null;
    case 'tuple':
      if (!Array.isArray(v) || v.length !== s.items.length) return bad(`is not a list of ${s.items.length}`);
      for (let i = 0; i < v.length; i++) {
        const e = check(v[i], s.items[i]!);
        if (e) return (e.keys.push(i), e);
      }
      return null;
    case 'obj': {
      if (v === null || typeof v !== 'object' || Object.getPrototypeOf(v) !== Object.prototype) return bad('is not an object');
      const o = v as Record<string, unknown>;
      for (const k of Object.keys(o)) if (!Object.prototype.hasOwnProperty.call(s.fields, k)) return { keys: [k], value: o[k], why: 'is not a field of this entry' };
      for (const k in s.fields) {
        if (o[k] === undefined && s.optional?.includes(k) && !Object.prototype.hasOwnProperty.call(o, k)) continue;
        const e = check(o[k], s.fields[k]!);
        if (e) return (e.keys.push(k), e);
      }
      const why = s.test?.(o);
      return why ? bad(why) : null;
    }
    case 'null':
      return v === null ? null : check(v, s.of);
    case 'either': {
      let first: Miss | null = null;
      for (const alt of s.of) {
        const e = check(v, alt);
        if (!e) return null;
        first ??= e;
      }
      return first;
    }
    case 'plain':
      if (v === undefined) return bad('is missing');
      return isPlain(v) ? null : bad('is not plain data');
  }
}

/** `entry task/1: field prog.data is missing` — the message of a schema error. */
export function describeSchemaError(e: SchemaError): string {
  if (!e.path) return e.why;
  return `field ${e.path} ${e.why}${e.value === undefined ? '' : ` (value ${showValue(e.value)})`}`;
}
