/**
 * Design note: a bounds-checked little-endian reader and an append-only
 * writer. The reader never hands out more bytes than remain (it returns
 * views, not copies), so a length field from a hostile file can at worst
 * produce an ImageError, never a large allocation. Offsets in errors are
 * absolute file offsets.
 */
import { ImageError } from './errors.js';

/** What is being read, for an error: a string, or a function that builds it (only on failure). */
export type What = string | (() => string);

/** The small mtypes as BigInts, made once (a BigInt per message otherwise). */
const SMALL_MTYPES: readonly bigint[] = Array.from({ length: 1024 }, (_, i) => BigInt(i));

export class ByteReader {
  private pos = 0;
  /** Where the last varintAt ended. */
  private scanned = 0;
  private readonly view: DataView;
  /** The bytes as a plain Uint8Array (a Buffer's subarray() costs several times a typed array's). */
  private readonly u8: Uint8Array;

  constructor(
    readonly bytes: Uint8Array,
    readonly file: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.u8 = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Current absolute offset. */
  get offset(): number {
    return this.pos;
  }

  /** Bytes left to read. */
  get remaining(): number {
    return this.bytes.byteLength - this.pos;
  }

  /** Throws an ImageError at the current offset. */
  fail(reason: string, at: number = this.pos): never {
    throw new ImageError(this.file, at, reason);
  }

  private need(n: number, what: What): void {
    if (n > this.remaining) this.fail(`truncated ${typeof what === 'string' ? what : what()}: need ${n} bytes, ${this.remaining} left`);
  }

  u16(what: What): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  /** n little-endian u16s (one bounds check for all: a restore reads ~10^4 semaphore values). */
  u16s(n: number, what: What): number[] {
    this.need(2 * n, what);
    const out: number[] = [];
    const v = this.view;
    for (let i = 0, p = this.pos; i < n; i++, p += 2) out.push(v.getUint16(p, true));
    this.pos += 2 * n;
    return out;
  }

  u32(what: What): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** What the last plainIpcMsgSpan read: the mtype (below 2^49), the body's size and offset. */
  spanMtype = 0;
  spanMsize = 0;
  spanBody = 0;

  /**
   * The plain form of an ipcns-msg message record at the current offset — u32 length, then the
   * ipc_msg header as exactly fields 1 (mtype, below 2^49) and 2 (msize) in that order, then the
   * body and its zero-padding to 8 — read in place: true, with spanMtype, spanMsize and spanBody
   * set and the reader past the padding. false, the reader not moved, for anything else (the
   * caller's generic path decides). Allocates nothing: a restore reads 10^4 of these.
   */
  plainIpcMsgSpan(maxBody: number): boolean {
    const b = this.u8;
    const end = b.byteLength;
    let p = this.pos;
    if (p + 4 > end) return false;
    const len = this.view.getUint32(p, true);
    p += 4;
    const hend = p + len;
    if (hend > end || b[p] !== 0x08) return false;
    const mtype = this.varintAt(p + 1, hend, 7);
    p = this.scanned;
    if (mtype < 0 || p >= hend || b[p] !== 0x10) return false;
    const msize = this.varintAt(p + 1, hend, 5);
    p = this.scanned;
    if (msize < 0 || p !== hend || msize > maxBody || msize > 0xffffffff) return false;
    const padded = hend + Math.ceil(msize / 8) * 8;
    if (padded > end) return false;
    this.pos = padded;
    this.spanMtype = mtype;
    this.spanMsize = msize;
    this.spanBody = hend;
    return true;
  }

  /** plainIpcMsgSpan's record as [mtype, msize, body] (a view), or null. */
  plainIpcMsg(maxBody: number): [mtype: bigint, msize: number, body: Uint8Array] | null {
    if (!this.plainIpcMsgSpan(maxBody)) return null;
    const mtype = this.spanMtype;
    return [mtype < SMALL_MTYPES.length ? SMALL_MTYPES[mtype]! : BigInt(mtype), this.spanMsize, this.u8.subarray(this.spanBody, this.spanBody + this.spanMsize)];
  }

  /**
   * The varint at byte `p`, of at most `maxBytes` bytes, all before `end` (−1 otherwise),
   * read without moving the reader; `scanned` is then the byte after it.
   */
  private varintAt(p: number, end: number, maxBytes: number): number {
    const b = this.u8;
    let v = 0;
    for (let mul = 1, i = 0; i < maxBytes && p < end; i++, mul *= 128) {
      const x = b[p++]!;
      v += (x & 0x7f) * mul;
      if (x < 0x80) {
        this.scanned = p;
        return v;
      }
    }
    return -1;
  }

  /** A view of the next n bytes (a plain Uint8Array, even when the image is a Buffer). */
  take(n: number, what: What): Uint8Array {
    this.need(n, what);
    const out = this.u8.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Skips n bytes. */
  skip(n: number, what: What): void {
    this.need(n, what);
    this.pos += n;
  }
}

/** Pieces up to this size are copied into the current chunk instead of kept as parts of their own. */
const SMALL = 1024;
const MAX_CHUNK = 65536;

/**
 * Appends into chunks: numbers and small pieces are written into the current chunk (no array per
 * u32), larger pieces are kept as they are until `finish` copies everything once into the result.
 */
export class ByteWriter {
  private readonly parts: Uint8Array[] = [];
  private length = 0;
  private chunk = new Uint8Array(256);
  private view = new DataView(this.chunk.buffer);
  private used = 0;
  /** Size of the next chunk (doubles up to MAX_CHUNK). */
  private nextSize = 512;

  /** Makes room for n more bytes in the current chunk (n ≤ SMALL). */
  private room(n: number): void {
    if (this.used + n <= this.chunk.byteLength) return;
    this.flush();
    this.chunk = new Uint8Array(Math.max(n, this.nextSize));
    this.nextSize = Math.min(MAX_CHUNK, this.nextSize * 2);
    this.view = new DataView(this.chunk.buffer);
  }

  /** Ends the current chunk's part; the rest of it stays unused. */
  private flush(): void {
    if (this.used === 0) return;
    this.parts.push(this.chunk.subarray(0, this.used));
    this.chunk = this.chunk.subarray(this.used);
    this.view = new DataView(this.chunk.buffer, this.chunk.byteOffset, this.chunk.byteLength);
    this.used = 0;
  }

  /** Bytes written so far. */
  get size(): number {
    return this.length;
  }

  u16(v: number): void {
    this.room(2);
    this.view.setUint16(this.used, v, true);
    this.used += 2;
    this.length += 2;
  }

  u32(v: number): void {
    this.room(4);
    this.view.setUint32(this.used, v >>> 0, true);
    this.used += 4;
    this.length += 4;
  }

  bytes(b: Uint8Array): void {
    if (b.byteLength <= SMALL) {
      this.room(b.byteLength);
      this.chunk.set(b, this.used);
      this.used += b.byteLength;
    } else {
      this.flush();
      this.parts.push(b);
    }
    this.length += b.byteLength;
  }

  /** n zero bytes. */
  zeros(n: number): void {
    if (n <= 0) return;
    if (n <= SMALL) {
      // A chunk's unused bytes were never written: they are zeros already.
      this.room(n);
      this.used += n;
      this.length += n;
    } else this.bytes(new Uint8Array(n));
  }

  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }
}

/** n rounded up to a multiple of `align` (a power of two). */
export function roundUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

const ZEROS = Buffer.alloc(65536);

/** Whether `len` bytes of `data` from `at` are all zeros: native compares, 64 KiB at a time (no byte loop). */
export function isZero(data: Uint8Array, at = 0, len = data.byteLength - at): boolean {
  for (let off = 0; off < len; off += ZEROS.length) {
    const n = Math.min(ZEROS.length, len - off);
    const part = Buffer.from(data.buffer, data.byteOffset + at + off, n);
    if (!part.equals(n === ZEROS.length ? ZEROS : ZEROS.subarray(0, n))) return false;
  }
  return true;
}
