/**
 * Design note: hand-specialized decoders for the entries a restore reads by the thousand (ipc_msg
 * headers, the ipcns-{msg,sem,shm} entries, nsd_extra_entry, the shm pagemaps). They read in place
 * from the image buffer and build the same plain Entry `messageToEntry(type, type.decode(raw))`
 * builds — but only for the plain, well-formed case: each known field at most once with its wire
 * type, uint32 in at most 5 bytes, uint64 below 2^49, bool 0/1, ASCII strings, every required
 * field present. Anything else returns null and the caller decodes with protobufjs, so every
 * refusal (and its message) and every unusual-but-valid encoding goes through the one generic
 * decoder.
 */
import type { Entry, FieldValue } from './convert.js';

type Kind = 'u32' | 'u64' | 'bool' | 'str' | 'bytes' | FastType;

interface FastField {
  no: number;
  name: string;
  kind: Kind;
  required: boolean;
}

export interface FastType {
  fields: FastField[];
  /** Field number → index in `fields`. */
  byNo: number[];
}

function fastType(fields: [no: number, name: string, kind: Kind, required: boolean][]): FastType {
  // In field-number order: the order protobufjs (and protobuf-c) writes them in.
  fields = [...fields].sort((a, b) => a[0] - b[0]);
  const byNo: number[] = [];
  fields.forEach(([no], i) => (byNo[no] = i));
  return { fields: fields.map(([no, name, kind, required]) => ({ no, name, kind, required })), byNo };
}

const IPC_DESC = fastType([
  [1, 'key', 'u32', true], [2, 'uid', 'u32', true], [3, 'gid', 'u32', true], [4, 'cuid', 'u32', true],
  [5, 'cgid', 'u32', true], [6, 'mode', 'u32', true], [7, 'id', 'u32', true],
]);

/** The message types with a fast decoder, by protobuf name (schema/ipc.ts, schema/nsd.ts). */
export const FAST_TYPES: ReadonlyMap<string, FastType> = new Map([
  ['ipc_msg', fastType([[1, 'mtype', 'u64', true], [2, 'msize', 'u32', true]])],
  ['ipc_msg_entry', fastType([[1, 'desc', IPC_DESC, true], [2, 'qbytes', 'u32', true], [3, 'qnum', 'u32', true]])],
  ['ipc_sem_entry', fastType([[1, 'desc', IPC_DESC, true], [2, 'nsems', 'u32', true]])],
  ['ipc_shm_entry', fastType([[1, 'desc', IPC_DESC, true], [2, 'size', 'u64', true], [3, 'in_pagemaps', 'bool', false]])],
  ['nsd_extra_entry', fastType([[1, 'section', 'str', true], [2, 'key', 'str', true], [3, 'json', 'str', false], [4, 'blob', 'bytes', false]])],
  // A segment's pagemap-shmem (10^2 per restore of the benchmark namespace).
  ['pagemap_head', fastType([[1, 'pages_id', 'u32', true]])],
  ['pagemap_entry', fastType([[1, 'vaddr', 'u64', true], [2, 'compat_nr_pages', 'u32', true], [3, 'in_parent', 'bool', false], [4, 'flags', 'u32', false], [5, 'nr_pages', 'u64', false]])],
]);

/** Where the last varint ended (module state: the decoders are synchronous and not re-entered). */
let pos = 0;

/** A varint of at most `maxBytes` bytes at b[p…end), or -1 (longer, or truncated). */
function varint(b: Uint8Array, p: number, end: number, maxBytes: number): number {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < maxBytes; i++) {
    if (p >= end) return -1;
    const x = b[p++]!;
    v += (x & 0x7f) * mul;
    if (x < 0x80) {
      pos = p;
      return v;
    }
    mul *= 128;
  }
  return -1;
}

/** b[p…to) (ASCII, checked by the caller) as a string, for the short keys and section names. */
function shortAscii(b: Uint8Array, p: number, to: number): string {
  let s = '';
  for (let i = p; i < to; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** Decodes b[start…end) as `t`, or null when it is not the plain case (see the design note). */
export function fastDecode(t: FastType, b: Uint8Array, start: number, end: number): Entry | null {
  const vals: (FieldValue | undefined)[] = new Array<FieldValue | undefined>(t.fields.length);
  let p = start;
  while (p < end) {
    const tag = varint(b, p, end, 5);
    if (tag < 0) return null;
    p = pos;
    const idx = t.byNo[tag >>> 3];
    if (idx === undefined || vals[idx] !== undefined) return null;
    const kind = t.fields[idx]!.kind;
    const wire = tag & 7;
    if (kind === 'u32' || kind === 'u64' || kind === 'bool') {
      if (wire !== 0) return null;
      const v = varint(b, p, end, kind === 'u32' ? 5 : 7);
      if (v < 0 || (kind === 'u32' && v > 0xffffffff) || (kind === 'bool' && v > 1)) return null;
      p = pos;
      vals[idx] = kind === 'u32' ? v : kind === 'u64' ? BigInt(v) : v === 1;
      continue;
    }
    if (wire !== 2) return null;
    const len = varint(b, p, end, 5);
    if (len < 0 || pos + len > end) return null;
    p = pos;
    const to = p + len;
    if (kind === 'str') {
      for (let i = p; i < to; i++) if (b[i]! >= 0x80) return null;
      // ASCII: one latin1 decode of the span (a string built a character at a time was 90 % of
      // reading a 1 MiB nsd-extra image: every += makes a rope node).
      vals[idx] = to - p <= 16 ? shortAscii(b, p, to) : Buffer.from(b.buffer, b.byteOffset + p, to - p).toString('latin1');
    } else if (kind === 'bytes') {
      vals[idx] = new Uint8Array(b.subarray(p, to)); // a copy, and a plain Uint8Array even from a Buffer
    } else {
      const sub = fastDecode(kind, b, p, to);
      if (sub === null) return null;
      vals[idx] = sub;
    }
    p = to;
  }
  const out: Entry = {};
  for (let i = 0; i < t.fields.length; i++) {
    const v = vals[i];
    if (v === undefined) {
      if (t.fields[i]!.required) return null;
      continue;
    }
    out[t.fields[i]!.name] = v;
  }
  return out;
}

// ---- encoding ----

/** Bytes of an entry being encoded (module state, as `pos` above: synchronous, not re-entered). */
let out = new Uint8Array(256);
let outLen = 0;

function room(n: number): void {
  if (outLen + n <= out.length) return;
  const bigger = new Uint8Array(Math.max(out.length * 2, outLen + n));
  bigger.set(out.subarray(0, outLen));
  out = bigger;
}

/** A varint of a non-negative safe integer. */
function putVarint(v: number): void {
  room(10);
  while (v >= 0x80) {
    out[outLen++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  out[outLen++] = v;
}

/** Appends the fields of `e` as `t`, in field-number order; false when it is not the plain case. */
function putFields(t: FastType, e: Entry): boolean {
  for (const f of t.fields) {
    const v = e[f.name];
    if (v === undefined) {
      if (f.required) return false;
      continue;
    }
    const kind = f.kind;
    if (kind === 'u32' || kind === 'u64' || kind === 'bool') {
      let n: number;
      if (kind === 'u32') {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) return false;
        n = v;
      } else if (kind === 'u64') {
        if (typeof v !== 'bigint' || v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) return false;
        n = Number(v);
      } else {
        if (typeof v !== 'boolean') return false;
        n = v ? 1 : 0;
      }
      putVarint((f.no << 3) | 0);
      putVarint(n);
      continue;
    }
    putVarint((f.no << 3) | 2);
    if (kind === 'str') {
      if (typeof v !== 'string') return false;
      putVarint(v.length);
      room(v.length);
      for (let i = 0; i < v.length; i++) {
        const c = v.charCodeAt(i);
        if (c >= 0x80) return false;
        out[outLen++] = c;
      }
    } else if (kind === 'bytes') {
      if (!(v instanceof Uint8Array)) return false;
      putVarint(v.length);
      room(v.length);
      out.set(v, outLen);
      outLen += v.length;
    } else {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) return false;
      // The nested message's length comes first: encode it after a 5-byte gap, then close the gap.
      room(5);
      const at = outLen;
      outLen += 5;
      if (!putFields(kind, v as Entry)) return false;
      const len = outLen - at - 5;
      const body = out.slice(at + 5, outLen);
      outLen = at;
      putVarint(len);
      room(body.length);
      out.set(body, outLen);
      outLen += body.length;
    }
  }
  return true;
}

/**
 * Encodes `e` as `t` the way protobufjs does (fields in number order, present ones only), or
 * returns null when it is not the plain case (a value of another type or out of range, a u64
 * beyond 2^53, a non-ASCII string, a required field missing): the caller then encodes with
 * protobufjs, whose error names the field.
 */
export function fastEncode(t: FastType, e: Entry): Uint8Array | null {
  outLen = 0;
  return putFields(t, e) ? out.slice(0, outLen) : null;
}
