/**
 * Campaign `nsd`: random writes to next_syscall_data, each checked against an oracle written from
 * docs/next-syscall-data.md and ../shared/NSD-SPEC.md §1 and §5 alone (it never calls the kernel's
 * parser): the write's result (its count or EINVAL/EPERM) and what the file reads back afterwards.
 * Besides the writer's own writes at offset 0 (most cases), it makes second writes on one open
 * file, writes after a read moved the position (EINVAL, no change), writes to another thread's file
 * (EPERM, no change), and opens that consume an armed value as the fd (patch 5/5).
 *
 * Inputs come from the shared generator (test/kernel/arbitraries.ts `nsdWriteInput`, also behind the
 * property test in test/kernel/nsd.test.ts).
 */
import fc from 'fast-check';
import { ErrnoError, Kernel, constants as C, type Task } from '../../src/index.js';
import type { ProfileName } from '../../src/kernel/profile.js';
import { nsdWriteInput } from '../../test/kernel/arbitraries.js';
import { mixSeed, type Campaign, type CampaignFailure, type CampaignOptions, type CampaignResult } from '../lib.js';

// ---- the oracle (from the documents only) ----

/** What a thread has armed: nothing, or a count and the values (the count may be 0). */
export type Armed = { n: number; values: bigint[] } | null;

export type WriteOutcome = { ok: true; count: number; next: Armed } | { ok: false; code: 'EINVAL'; next: Armed };

/** At most PAGE_SIZE − 1 bytes are taken from one write. */
const MAX_TAKEN = 4095;
/** The model's NDATA: one value per pid-namespace level (docs: "NDATA is 32"). */
const MAX_VALUES = 32;

const SPACE = new Set([0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d]);

/**
 * A number as the spec reads it: optional '-', then "0x"/"0X" followed by a hex digit → base 16,
 * a leading 0 → base 8, else base 10; digits while valid for the base; wrapped to a signed 64-bit
 * long. Returns the value and how many characters were consumed (a lone '-' is consumed: value 0).
 */
export function readNumber(codes: number[], from: number): { value: bigint; used: number } {
  let i = from;
  let negative = false;
  if (codes[i] === 0x2d) {
    negative = true;
    i++;
  }
  const digit = (c: number | undefined): number => {
    if (c === undefined) return 99;
    if (c >= 0x30 && c <= 0x39) return c - 0x30;
    if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
    if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
    return 99;
  };
  let base = 10;
  if (codes[i] === 0x30) {
    base = 8;
    i++;
    if ((codes[i] === 0x78 || codes[i] === 0x58) && digit(codes[i + 1]) < 16) {
      base = 16;
      i++;
    }
  }
  let v = 0n;
  while (digit(codes[i]) < base) {
    v = (v * BigInt(base) + BigInt(digit(codes[i]))) % (1n << 64n);
    i++;
  }
  if (negative) v = ((1n << 64n) - v) % (1n << 64n);
  if (v >= 1n << 63n) v -= 1n << 64n;
  return { value: v, used: i - from };
}

/** Splits on single spaces like strsep: "a  b" → ["a", "", "b"]. */
function splitSpaces(codes: number[]): number[][] {
  const out: number[][] = [[]];
  for (const c of codes) {
    if (c === 0x20) out.push([]);
    else out[out.length - 1]!.push(c);
  }
  return out;
}

const startsWith = (codes: number[], word: string): boolean => [...word].every((ch, i) => codes[i] === ch.charCodeAt(0));

/** The expected effect of the thread writing `bytes` to its own file at offset 0. */
export function expectWrite(prev: Armed, bytes: Uint8Array): WriteOutcome {
  const taken = Math.min(bytes.length, MAX_TAKEN);
  let codes = [...bytes.subarray(0, taken)];
  const nul = codes.indexOf(0);
  if (nul >= 0) codes = codes.slice(0, nul);
  const words = splitSpaces(codes);
  const head = words[0]!;
  const fail = (next: Armed): WriteOutcome => ({ ok: false, code: 'EINVAL', next });
  if (startsWith(head, 'RESET')) return { ok: true, count: taken, next: null };
  if (!startsWith(head, 'LONG')) return fail(prev);
  // The header: LONG<n>, nothing after <n>; an error here keeps the previous value.
  const nText = head.slice(4);
  const { value: n, used } = readNumber(nText, 0);
  if (used !== nText.length || n > BigInt(MAX_VALUES)) return fail(prev);
  // The values: an error here clears the previous value (the quirk).
  const values: bigint[] = [];
  const rest = words.slice(1);
  for (const w of rest) {
    if (BigInt(values.length) >= n) break;
    if (w.length === 0) return fail(null);
    const { value, used: u } = readNumber(w, 0);
    if (u === 0 || (u < w.length && !SPACE.has(w[u]!))) return fail(null);
    values.push(value);
  }
  if (BigInt(values.length) !== n) return fail(null);
  return { ok: true, count: taken, next: { n: Number(n), values } };
}

/** What the file reads back. */
export function expectRead(a: Armed): string {
  if (a === null || a.n === 0) return 'UNSET\n';
  return `LONG${a.n} ${a.values.join(' ')}\n`;
}

/** open(2) while `a` is armed (patch 5/5): the fd it returns or its errno, and the state after. */
export function expectOpen(a: Armed, openFds: Set<number>, nofile: number): { fd: number } | { code: 'EINVAL' | 'EBUSY' } | null {
  if (a === null || a.n === 0) return null; // not armed: the lowest free fd, nothing consumed
  const fd = a.values[0]!;
  if (fd < 0n || fd >= BigInt(nofile)) return { code: 'EINVAL' };
  if (openFds.has(Number(fd))) return { code: 'EBUSY' };
  return { fd: Number(fd) };
}

// ---- the campaign ----

const latin1 = new TextDecoder('latin1');
const enc = new TextEncoder();
const bytesOf = (x: string | Uint8Array): Uint8Array => (typeof x === 'string' ? enc.encode(x) : x);

interface Writer {
  task: Task;
  path: string;
  /** O_RDWR fd used for writes (position stays 0) and an O_RDONLY fd used to read back. */
  wfd: number;
  rfd: number;
  armed: Armed;
  /** O_WRONLY fds on the other writers' files (opened while nothing was armed), by writer index. */
  others: number[];
  /** Writes made on `wfd` so far. */
  writes: number;
}

function readBack(w: Writer): string {
  w.task.sys.lseek(w.rfd, 0, C.SEEK_SET);
  return latin1.decode(w.task.sys.read(w.rfd, 8192));
}

function codeOf(e: unknown): string {
  if (e instanceof ErrnoError) return e.code;
  throw e;
}

function setUp(profile: ProfileName): { k: Kernel; writers: Writer[] } {
  const k = new Kernel({ profile });
  const init = k.init;
  const child = k.task(init.sys.fork())!;
  const thread = k.taskIn(child, child.sys.clone(C.CLONE_VM | C.CLONE_SIGHAND | C.CLONE_THREAD))!;
  const writers = [init, child, thread].map((task): Writer => {
    const tid = task.sys.gettid();
    const path = `/proc/self/task/${tid}/next_syscall_data`;
    return { task, path, wfd: task.sys.open(path, C.O_RDWR), rfd: task.sys.open(path, C.O_RDONLY), armed: null, others: [], writes: 0 };
  });
  for (const w of writers) {
    w.others = writers.map((o) => w.task.sys.open(`/proc/${o.task.sys.getpid()}/task/${o.task.sys.gettid()}/next_syscall_data`, C.O_WRONLY));
  }
  return { k, writers };
}

export function runNsd(opts: CampaignOptions): CampaignResult {
  const total = Math.max(1, Math.round(100_000 * opts.scale));
  const counts = { writes: 0, accepted: 0, einval: 0, 'second writes': 0, 'after read': 0, eperm: 0, 'preset opens': 0 };
  const failures: CampaignFailure[] = [];
  const BATCH = 5000;
  for (let batch = 0; counts.writes < total && failures.length < 50; batch++) {
    const profile: ProfileName = batch % 2 === 0 ? 'linux-6' : 'linux-2.6.26';
    const { k, writers } = setUp(profile);
    const n = Math.min(BATCH, total - counts.writes);
    const cases = fc.sample(fc.tuple(nsdWriteInput, fc.nat({ max: 99 }), fc.nat({ max: 2 }), fc.nat({ max: 2 })), { seed: mixSeed(opts.seed, batch), numRuns: n });
    for (let i = 0; i < n && failures.length < 50; i++) {
      const [input, mode, who, other] = cases[i]!;
      const w = writers[who]!;
      const bytes = bytesOf(input);
      const where = `seed ${opts.seed} batch ${batch} (${profile}) case ${i}`;
      const check = (what: string, got: unknown, want: unknown) => {
        if (got !== want) failures.push({ case: where, message: `${what}: got ${JSON.stringify(got)}, expected ${JSON.stringify(want)} (input ${JSON.stringify(latin1.decode(bytes.subarray(0, 80)))})` });
      };
      counts.writes++;
      if (mode < 5 && other !== who) {
        // Another thread's file: EPERM, even root; nothing changes.
        const o = writers[other]!;
        let code = 'ok';
        try {
          w.task.sys.write(w.others[other]!, bytes);
        } catch (e) {
          code = codeOf(e);
        }
        check('write to another thread', code, 'EPERM');
        check('read back after EPERM', readBack(o), expectRead(o.armed));
        counts.eperm++;
        continue;
      }
      if (mode < 10) {
        // A read moved the position: the write is a partial write, EINVAL, nothing changes.
        w.task.sys.read(w.wfd, 1 + (mode % 3));
        let code = 'ok';
        try {
          w.task.sys.write(w.wfd, bytes);
        } catch (e) {
          code = codeOf(e);
        }
        w.task.sys.lseek(w.wfd, 0, C.SEEK_SET);
        check('write after a read', code, 'EINVAL');
        check('read back after a partial write', readBack(w), expectRead(w.armed));
        counts['after read']++;
        continue;
      }
      const want = expectWrite(w.armed, bytes);
      let got: { ok: true; count: number } | { ok: false; code: string };
      try {
        got = { ok: true, count: w.task.sys.write(w.wfd, bytes) };
      } catch (e) {
        got = { ok: false, code: codeOf(e) };
      }
      check('write result', got.ok ? got.count : got.code, want.ok ? want.count : want.code);
      w.armed = want.next;
      check('read back', readBack(w), expectRead(w.armed));
      if (want.ok) counts.accepted++;
      else counts.einval++;
      if (w.writes++ > 0) counts['second writes']++;
      if (mode >= 90) {
        // Consume by open (patch 5/5): the armed value is the fd, or EINVAL/EBUSY; consumed either way.
        const table = k.s.fdtables.get(w.task.state.fdtable)!;
        const open = new Set(table.fds.keys());
        const expect = expectOpen(w.armed, open, 1024);
        let got: number | string;
        try {
          got = w.task.sys.open('/dev/null', C.O_RDONLY);
        } catch (e) {
          got = codeOf(e);
        }
        let lowest = 0;
        while (open.has(lowest)) lowest++;
        check('open while armed', got, expect === null ? lowest : 'fd' in expect ? expect.fd : expect.code);
        if (typeof got === 'number') w.task.sys.close(got);
        if (expect !== null) w.armed = null;
        check('read back after an open', readBack(w), expectRead(w.armed));
        counts['preset opens']++;
      }
    }
  }
  return { counts, failures };
}

export const campaign: Campaign = {
  name: 'nsd',
  description: 'random next_syscall_data writes against an independent oracle of the docs (results, read-back, EPERM, partial writes, preset opens)',
  run: runNsd,
};
