/**
 * Design note: the sending end of a page-server stream (kernel A, `nsd dump --page-server`,
 * `nsd migrate`). `PageSender` writes frames with back-pressure (it waits for 'drain'), keeps the
 * running CRC-32 that CLOSE carries, and reads the answers OPEN2, PARENT and CLOSE expect, in
 * order. If the destination goes away (reset, end of stream, error) every pending and later call
 * rejects with a `DestinationError`; the caller's tree is untouched by any of this (the sender
 * only ever reads copies of the images), so it can simply keep running.
 */
import type { Socket } from 'node:net';
import {
  IOV_SIZE, NSD_IOV_FILE, NSD_IOV_ZERO, PAGE_SIZE, PE_LAZY, PE_PRESENT, PS_IOV_ADD, PS_IOV_ADD_F, PS_IOV_CLOSE, PS_IOV_HOLE, PS_IOV_OPEN2, PS_IOV_PARENT,
  crc32, encodeIov, fileCrc, validFileName,
} from './protocol.js';

export class DestinationError extends Error {
  constructor(why: string) {
    super(`page server: ${why}`);
    this.name = 'DestinationError';
  }
}

/** Bytes queued in the socket before a write waits for 'drain'. */
const BACKLOG = 8 << 20;

/** Pages per ADD frame (4 MiB): few headers, few CRC calls, one run per frame at the receiver. */
export const FRAME_PAGES = 1024;

export class PageSender {
  private crc = 0;
  private inbox: Buffer[] = [];
  private inboxLen = 0;
  private waiting: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  private broken: DestinationError | null = null;
  bytes = 0;
  frames = 0;
  /** Called with the total bytes written after every write (progress bars). */
  onWrite: ((bytes: number) => void) | null = null;

  constructor(private readonly sock: Socket) {
    sock.on('data', (b: Buffer) => {
      this.inbox.push(b);
      this.inboxLen += b.length;
      this.deliver();
    });
    const gone = (why: string) => () => this.break(why);
    sock.on('end', gone('the destination closed the connection'));
    sock.on('close', gone('the connection closed'));
    sock.on('error', (e: Error) => this.break(`connection error: ${e.message}`));
  }

  private break(why: string): void {
    if (this.broken) return;
    this.broken = new DestinationError(why);
    const w = this.waiting;
    this.waiting = null;
    w?.reject(this.broken);
  }

  private deliver(): void {
    const w = this.waiting;
    if (!w || this.inboxLen < w.n) return;
    const all = Buffer.concat(this.inbox);
    this.inbox = all.length > w.n ? [all.subarray(w.n)] : [];
    this.inboxLen = all.length - w.n;
    this.waiting = null;
    w.resolve(all.subarray(0, w.n));
  }

  /** The next `n` bytes the other end sends (answers; the GETs of a lazy restore). */
  read(n: number): Promise<Buffer> {
    return this.answer(n);
  }

  private answer(n: number): Promise<Buffer> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.waiting = { n, resolve, reject };
      this.deliver();
    });
  }

  /** Writes bytes (counted in the CRC unless `nocrc`), waiting when the socket's buffer is full. */
  private async write(b: Uint8Array, nocrc = false): Promise<void> {
    if (this.broken) throw this.broken;
    if (!nocrc) this.crc = crc32(b, this.crc);
    this.bytes += b.length;
    this.onWrite?.(this.bytes);
    // Keep up to BACKLOG bytes queued before waiting, so the socket never runs dry between frames.
    if (!this.sock.write(b) && this.sock.writableLength > BACKLOG) {
      await new Promise<void>((resolve, reject) => {
        const ok = () => {
          this.sock.off('close', ko);
          resolve();
        };
        const ko = () => {
          this.sock.off('drain', ok);
          reject(this.broken ?? new DestinationError('the connection closed'));
        };
        this.sock.once('drain', ok);
        this.sock.once('close', ko);
      });
    }
  }

  private async iov(cmd: number, flags: number, nr: number, vaddr: number | bigint, dstId: bigint): Promise<void> {
    this.frames++;
    await this.write(encodeIov(cmd, flags, nr, vaddr, dstId));
  }

  /** OPEN2: selects the pagemap; resolves with the server's has_parent. */
  async open2(dstId: bigint): Promise<boolean> {
    await this.iov(PS_IOV_OPEN2, 0, 0, 0, dstId);
    return (await this.answer(1))[0] === 1;
  }

  async parent(dstId: bigint): Promise<boolean> {
    await this.iov(PS_IOV_PARENT, 0, 0, 0, dstId);
    return (await this.answer(4)).readInt32LE(0) !== 0;
  }

  /** ADD: whole pages at vaddr (data.length a multiple of the page size), in frames of FRAME_PAGES. */
  async add(dstId: bigint, vaddr: number, data: Uint8Array): Promise<void> {
    if (data.length % PAGE_SIZE !== 0) throw new RangeError(`ADD of ${data.length} bytes: not whole pages`);
    for (let off = 0; off < data.length; off += FRAME_PAGES * PAGE_SIZE) {
      const part = data.subarray(off, Math.min(data.length, off + FRAME_PAGES * PAGE_SIZE));
      await this.iov(PS_IOV_ADD, 0, part.length / PAGE_SIZE, vaddr + off, dstId);
      await this.write(part);
    }
  }

  /** HOLE: pages the destination has from an earlier round (PE_PARENT). */
  async hole(dstId: bigint, vaddr: number, nr: number): Promise<void> {
    await this.iov(PS_IOV_HOLE, 0, nr, vaddr, dstId);
  }

  /** ZERO (this project's): zero-filled pages, no payload. */
  async zero(dstId: bigint, vaddr: number, nr: number): Promise<void> {
    await this.iov(NSD_IOV_ZERO, 0, nr, vaddr, dstId);
  }

  /** ADD_F(PE_LAZY): pages left at the source, to be fetched with GET. */
  async lazy(dstId: bigint, vaddr: number, nr: number): Promise<void> {
    await this.iov(PS_IOV_ADD_F, PE_LAZY, nr, vaddr, dstId);
  }

  /** FILE (this project's): one image file. */
  async file(name: string, data: Uint8Array): Promise<void> {
    if (!validFileName(name)) throw new RangeError(`bad image name ${JSON.stringify(name)}`);
    const nameBuf = Buffer.from(name, 'utf8');
    await this.iov(NSD_IOV_FILE, 0, nameBuf.length, data.length, fileCrc(nameBuf, data));
    await this.write(nameBuf);
    await this.write(data);
  }

  /**
   * CLOSE with the stream's CRC; resolves with the server's int32 status (0: all received). With
   * `keepOpen` (lazy migration) the connection stays open: the destination's GETs follow.
   */
  async close(keepOpen = false): Promise<number> {
    this.frames++;
    await this.write(encodeIov(PS_IOV_CLOSE, 0, 0, 0, BigInt(this.crc >>> 0)), true);
    const status = (await this.answer(4)).readInt32LE(0);
    if (!keepOpen) this.sock.end();
    return status;
  }

  /** A GET's answer: ADD_F(PE_PRESENT) with the pages and their CRC-32 after them (nr_pages 0: none). */
  async getReply(dstId: bigint, vaddr: bigint, pages: Uint8Array | null): Promise<void> {
    const nr = pages ? pages.length / PAGE_SIZE : 0;
    await this.write(encodeIov(PS_IOV_ADD_F, PE_PRESENT, nr, vaddr, dstId), true);
    if (!pages) return;
    await this.write(pages, true);
    const c = Buffer.allocUnsafe(4);
    c.writeUInt32LE(crc32(pages) >>> 0);
    await this.write(c, true);
  }

  /** Ends the connection (after a lazy migration's last answer). */
  end(b: Uint8Array): void {
    this.sock.end(b);
  }

  /** Raw bytes, for tests that corrupt or truncate a stream. */
  async raw(b: Uint8Array): Promise<void> {
    await this.write(b, true);
  }
}

export { IOV_SIZE };
