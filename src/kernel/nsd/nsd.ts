/**
 * next_syscall_data (RFC patch 1/5, kernel/next_syscall_data.c), exactly.
 *
 * Design note. The per-thread field `task.nsd` is `null` or `{ ndata, data }`. It is set by a write
 * to /proc/<pid>/task/<tid>/next_syscall_data by the thread itself, read back by anyone, never
 * inherited by a new task, cleared by execve and at exit, and consumed by the next syscall that
 * looks at it (ipc creation, fork family, open, IPC_SET). Parsing follows the C code token by token:
 * `strsep(&s, " ")` splitting, `simple_strtol(…, 0)` numbers, and its one real semantic quirk:
 * an error while parsing the *values* frees the field (`out_free:` in fill_next_syscall_data),
 * while an error in the `LONG<n>` header leaves the previous value in place.
 *
 * Deviations from the C (accidents, not semantics; listed in docs/next-syscall-data.md):
 * - a read with a small count returns the first bytes of the text instead of ENOMEM/garbage
 *   (get_next_syscall_data sizes snprintf by the caller's count);
 * - values are kept as exact 64-bit `long`s; consumers that take an `int` (ipc_addid's
 *   `int next_id`) see the long value, not its truncation, so `LONG1 4294967297` is EINVAL there.
 */
import { err } from '../../abi/errno.js';
import type { NsdState, TaskState } from '../state.js';
import { MAX_PID_NS_LEVEL } from '../profile.js';

/**
 * NDATA: how many values one write may carry. The patch has 1; the model allows one per pid
 * namespace level so a fork-family preset can name the pid at every level (NSD-SPEC §3).
 */
export const NDATA = MAX_PID_NS_LEVEL;

/** PAGE_SIZE - 1: the most a single write takes (next_syscall_data_write). */
export const NSD_WRITE_MAX = 4095;

const LONG_STR = 'LONG';
const RESET_STR = 'RESET';

/** isspace() of the C locale. */
function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';
}

/**
 * simple_strtol(cp, &end, 0) of lib/vsprintf.c (2.6.26): optional '-', then base auto-detection
 * ("0x" + hex digit → 16, leading 0 → 8, else 10), digits while valid. Returns the value wrapped to
 * a signed 64-bit long and the index where parsing stopped. Digits accumulate in a number while the
 * result stays exact (below 2^53, every id and pid); only longer numbers continue in BigInt.
 */
export function simpleStrtol(s: string, start = 0): { value: bigint; end: number } {
  let i = start;
  let neg = false;
  if (s.charCodeAt(i) === 45 /* - */) {
    neg = true;
    i++;
  }
  let base = 10;
  if (s.charCodeAt(i) === 48 /* 0 */) {
    base = 8;
    i++;
    const x = s.charCodeAt(i);
    if ((x === 120 || x === 88) /* x X */ && hexValue(s.charCodeAt(i + 1)) >= 0) {
      i++;
      base = 16;
    }
  }
  let acc = 0;
  let big: bigint | null = null;
  for (; i < s.length; i++) {
    const v = hexValue(s.charCodeAt(i));
    if (v < 0 || v >= base) break;
    if (big === null) {
      // acc * base + v is below 2^57: compared exactly enough to know it left the safe range.
      const next = acc * base + v;
      if (next <= Number.MAX_SAFE_INTEGER) {
        acc = next;
        continue;
      }
      big = BigInt(acc);
    }
    big = BigInt.asUintN(64, big * BigInt(base) + BigInt(v));
  }
  const result = big ?? BigInt(acc);
  const value = BigInt.asIntN(64, neg ? -result : result);
  return { value, end: i };
}

/** The value of a hex digit's char code, or -1. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** strsep(&s, " "): returns [token, rest] where rest is null when no space was found. */
function strsep(s: string): [string, string | null] {
  const at = s.indexOf(' ');
  return at < 0 ? [s, null] : [s.slice(0, at), s.slice(at + 1)];
}

/**
 * set_next_syscall_data(): applies one written line to `task.nsd`.
 * Throws EINVAL for anything the C rejects, with the C's effect on the previous value.
 */
export function setNextSyscallData(task: TaskState, text: string): void {
  // The C works on a NUL-terminated page: anything after an embedded NUL is invisible.
  const nul = text.indexOf('\0');
  const buffer = nul >= 0 ? text.slice(0, nul) : text;
  const [token, out] = strsep(buffer);
  if (token.startsWith(LONG_STR)) {
    doSetNextSyscallData(task, token.slice(LONG_STR.length), out);
    return;
  }
  if (token.startsWith(RESET_STR)) {
    task.nsd = null;
    return;
  }
  throw err('EINVAL', 'next_syscall_data: expected LONG<n> or RESET');
}

/** do_set_next_syscall_data(): the `<n>` of LONG<n>; errors here keep the previous value. */
function doSetNextSyscallData(task: TaskState, nb: string, rest: string | null): void {
  const { value, end } = simpleStrtol(nb);
  if (end !== nb.length) throw err('EINVAL', 'next_syscall_data: garbage after LONG<n>');
  if (value > BigInt(NDATA)) throw err('EINVAL', `next_syscall_data: more than ${NDATA} values`);
  fillNextSyscallData(task, Number(value), rest);
}

/** fill_next_syscall_data(): the values; any error here frees the field (the quirk). */
function fillNextSyscallData(task: TaskState, ndata: number, buffer: string | null): void {
  const data: bigint[] = [];
  let buff = buffer;
  let i = 0;
  while (buff !== null && i < ndata) {
    const [token, rest] = strsep(buff);
    buff = rest;
    if (token.length === 0) return freeAndFail(task, 'empty value');
    const { value, end } = simpleStrtol(token);
    if (end === 0 || (end < token.length && !isSpace(token[end]))) {
      return freeAndFail(task, `bad value '${token}'`);
    }
    data.push(value);
    i++;
  }
  if (i !== ndata) return freeAndFail(task, `expected ${ndata} values, got ${i}`);
  task.nsd = { ndata, data };
}

function freeAndFail(task: TaskState, why: string): never {
  task.nsd = null;
  throw err('EINVAL', `next_syscall_data: ${why}`);
}

/** get_next_syscall_data(): the text a read returns. */
export function formatNextSyscallData(nsd: NsdState | null): string {
  if (!nsd || nsd.ndata === 0) return 'UNSET\n';
  return `LONG${nsd.ndata} ${nsd.data.map(String).join(' ')}\n`;
}

/** next_data_set(): armed for id presets (present and ndata != 0). */
export function nsdArmed(task: TaskState): boolean {
  return task.nsd !== null && task.nsd.ndata !== 0;
}

/**
 * Takes the armed values and clears the field (reset_next_syscall_data), or returns null when not
 * armed. Used by every consumer that "creates with a preset id".
 */
export function takeNsd(task: TaskState): bigint[] | null {
  const nsd = task.nsd;
  if (!nsd || nsd.ndata === 0) return null;
  task.nsd = null;
  return nsd.data;
}

/**
 * ipc_set_all() of patch 4/5: armed for full-state IPC_SET only when data[0] != 0. Does not
 * consume: the caller clears the field after applying. `LONG1 0` is left in place (the quirk).
 */
export function nsdIpcSetAll(task: TaskState): boolean {
  return nsdArmed(task) && task.nsd!.data[0] !== 0n;
}
