/**
 * Design note: a bounds-checked little-endian reader and an append-only
 * writer. The reader never hands out more bytes than remain (it returns
 * views, not copies), so a length field from a hostile file can at worst
 * produce an ImageError, never a large allocation. Offsets in errors are
 * absolute file offsets.
 */
import { ImageError } from './errors.js';

export class ByteReader {
  private pos = 0;
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    readonly file: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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

  private need(n: number, what: string): void {
    if (n > this.remaining) this.fail(`truncated ${what}: need ${n} bytes, ${this.remaining} left`);
  }

  u16(what: string): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** A view of the next n bytes. */
  take(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Skips n bytes. */
  skip(n: number, what: string): void {
    this.take(n, what);
  }
}

export class ByteWriter {
  private readonly parts: Uint8Array[] = [];
  private length = 0;

  u16(v: number): void {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, v, true);
    this.bytes(b);
  }

  u32(v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    this.bytes(b);
  }

  bytes(b: Uint8Array): void {
    this.parts.push(b);
    this.length += b.byteLength;
  }

  /** n zero bytes. */
  zeros(n: number): void {
    if (n > 0) this.bytes(new Uint8Array(n));
  }

  finish(): Uint8Array {
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
