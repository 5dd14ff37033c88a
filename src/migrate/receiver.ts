/**
 * Design note: the receiving end of a page-server stream (`nsd page-server`, kernel B).
 *
 * `StreamReceiver` is a pure parser: bytes in (`push`, any chunking), answers out (`reply`), and
 * at CLOSE a `Received` — the image files and, per pagemap (dst_id), the pages of the last round
 * that opened it. It checks everything before it keeps anything: the command, the pagemap type,
 * page alignment, frame and file sizes, file names and CRCs, that a page "in parent" (HOLE,
 * PE_PARENT) exists in an earlier round of the same stream, and the CRC-32 of the whole stream
 * carried by CLOSE. Any violation is a `StreamError` naming the byte offset; nothing received is
 * used unless CLOSE arrived and checked out (a truncated stream — the source died — is discarded
 * whole: the caller restores only from a complete `Received`).
 *
 * `receiveStream(socket)` drives it on a socket: it resolves once CLOSE is answered, after the
 * optional `onComplete` (e.g. restore the tree) has given the status CLOSE is answered with.
 */
import type { Duplex } from 'node:stream';
import {
  COMMAND_NAMES, IOV_SIZE, MAX_FILE_BYTES, MAX_FRAME_PAGES, MAX_NAME_BYTES, NSD_IOV_FILE, NSD_IOV_ZERO, PAGE_SIZE, PE_LAZY, PE_PARENT,
  PE_PRESENT, PS_IOV_ADD, PS_IOV_ADD_F, PS_IOV_CLOSE, PS_IOV_FORCE_CLOSE, PS_IOV_GET, PS_IOV_HOLE, PS_IOV_OPEN, PS_IOV_OPEN2, PS_IOV_PARENT,
  StreamError, crc32, decodeIov, decodePm, describePm, fileCrc, validFileName, type Iov,
} from './protocol.js';

/**
 * A stretch of pages with one content: `data` (the bytes of page `first` start at byte `off`),
 * `zero` (zero-filled), `lazy` (left at the source: a lazy restore fetches them with GET) or,
 * in a round only, `parent` (the content of the previous round).
 */
export interface Segment {
  first: number;
  n: number;
  kind: 'data' | 'zero' | 'lazy' | 'parent';
  data: Buffer | null;
  off: number;
  /** Byte offset of the frame that described it (errors). */
  at: number;
}

/**
 * What one pagemap holds, as runs (never per page): `pages` is the content as of the last
 * finished round (sorted, disjoint segments; a page it lacks is not in that round); `round` the
 * runs of the round in progress, in arrival order. At CLOSE every table is finished, so `pages`
 * is the last round resolved against the earlier ones.
 */
export interface PageTable {
  dstId: bigint;
  pages: Segment[];
  round: Segment[];
  /** The highest end page of `round` so far (runs in increasing order need no overlap scan). */
  roundEnd: number;
  rounds: number;
  /**
   * A buffer (zero-filled, so faulted in) the size of the data pages of the last round finished before CLOSE,
   * made when the next round opens: the join at CLOSE copies into it (`joinImages`). Fresh memory
   * costs page faults on first touch; this moves them out of the downtime when the last round
   * holds as many data pages as the one before, as in a pre-copy.
   */
  spare?: Buffer;
}

/** The pages of `segs` (sorted, disjoint) in [first, first+n), as slices, appended to `out`; false if one is missing. */
export function sliceSegments(segs: readonly Segment[], first: number, n: number, out: Segment[] | null): boolean {
  let lo = 0;
  let hi = segs.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (segs[m]!.first + segs[m]!.n <= first) lo = m + 1;
    else hi = m;
  }
  const end = first + n;
  let pg = first;
  for (let i = lo; pg < end; i++) {
    const s = segs[i];
    if (!s || s.first > pg) return false;
    const b = Math.min(end, s.first + s.n);
    out?.push({ first: pg, n: b - pg, kind: s.kind, data: s.data, off: s.off + (pg - s.first) * PAGE_SIZE, at: s.at });
    pg = b;
  }
  return true;
}

/**
 * Ends the round in progress: its runs, in-parent ones taken from the previous round, become
 * `pages`. With `spare` (another round follows) the table's spare buffer is made to fit them.
 */
function finishRound(t: PageTable, spare: boolean): void {
  const runs = t.round.slice().sort((a, b) => a.first - b.first);
  const out: Segment[] = [];
  for (const r of runs) {
    if (r.kind === 'parent') sliceSegments(t.pages, r.first, r.n, out); // checked when the HOLE arrived
    else out.push(r);
  }
  t.pages = out;
  t.round = [];
  t.roundEnd = 0;
  if (!spare) return;
  let n = 0;
  for (const x of out) if (x.kind === 'data') n += x.n;
  // fill(): calloc'd memory is only mapped, not touched; the point is to fault it in now.
  if (t.spare?.length !== n * PAGE_SIZE) t.spare = n > 0 ? Buffer.allocUnsafeSlow(n * PAGE_SIZE).fill(0) : undefined;
}

export interface Received {
  files: Map<string, Uint8Array>;
  pagemaps: Map<bigint, PageTable>;
  /** Bytes and frames read, pages carried as data, as zero, as in-parent. */
  bytes: number;
  frames: number;
  pagesData: number;
  pagesZero: number;
  pagesParent: number;
}

/** A frame whose payload is still arriving: pages as they come (`need` bytes left), a file whole. */
type Pending =
  | { kind: 'pages'; iov: Iov; need: number; at: number; table: PageTable; first: number }
  | { kind: 'file'; iov: Iov; need: number };

export class StreamReceiver {
  private chunks: Buffer[] = [];
  private have = 0;
  private offset = 0;
  private crc = 0;
  private pending: Pending | null = null;
  private current: bigint | null = null;
  closed = false;
  readonly got: Received = { files: new Map(), pagemaps: new Map(), bytes: 0, frames: 0, pagesData: 0, pagesZero: 0, pagesParent: 0 };

  /** `reply` sends an answer back (OPEN2, PARENT, CLOSE). */
  constructor(private readonly reply: (b: Buffer) => void) {}

  /** Feeds bytes; throws StreamError on the first violation. Bytes after CLOSE are refused. */
  push(chunk: Buffer): void {
    if (this.closed) {
      if (chunk.length > 0) throw new StreamError(this.offset, 'data after CLOSE');
      return;
    }
    this.chunks.push(chunk);
    this.have += chunk.length;
    for (;;) {
      const p = this.pending;
      if (p?.kind === 'pages') {
        // As the pages arrive: the whole pages lying in the first socket chunk are kept as one run
        // viewing it (no copy, no allocation: fresh memory costs page faults), one CRC call for
        // them; only a page split across two chunks is copied.
        if (this.have < PAGE_SIZE) break;
        const n = Math.max(1, Math.min(Math.floor(this.chunks[0]!.length / PAGE_SIZE), p.need / PAGE_SIZE));
        const run = this.take(n * PAGE_SIZE);
        this.crc = crc32(run, this.crc);
        this.run(p.table, p.first + p.iov.nrPages - p.need / PAGE_SIZE, n, 'data', run, p.at);
        p.need -= n * PAGE_SIZE;
        if (p.need === 0) this.pending = null;
        continue;
      }
      const need = p ? p.need : IOV_SIZE;
      if (this.have < need || this.closed) break;
      const bytes = this.take(need);
      if (p) {
        this.pending = null;
        this.crc = crc32(bytes, this.crc);
        this.payload(p, bytes);
      } else {
        this.header(bytes);
      }
    }
    if (this.closed && this.have > 0) throw new StreamError(this.offset, 'data after CLOSE');
  }

  /** Says why the stream is incomplete (call at end of input). */
  endError(how = 'the stream ended'): StreamError | null {
    if (this.closed) return null;
    const where = this.pending ? `inside a ${COMMAND_NAMES[this.pending.iov.cmd]} frame (${this.pending.need - this.have} bytes missing)` : this.have > 0 ? 'inside a frame header' : 'before CLOSE';
    return new StreamError(this.offset + this.have, `${how} ${where}: truncated (the source died?); nothing received is kept`);
  }

  private take(n: number): Buffer {
    let out: Buffer;
    const first = this.chunks[0]!;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let at = 0;
      while (at < n) {
        const c = this.chunks[0]!;
        const k = Math.min(c.length, n - at);
        c.copy(out, at, 0, k);
        at += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.have -= n;
    this.offset += n;
    return out;
  }

  private fail(at: number, why: string): never {
    throw new StreamError(at, why);
  }

  private table(dstId: bigint): PageTable {
    let t = this.got.pagemaps.get(dstId);
    if (!t) {
      t = { dstId, pages: [], round: [], roundEnd: 0, rounds: 0 };
      this.got.pagemaps.set(dstId, t);
    }
    return t;
  }

  private open(dstId: bigint): boolean {
    const t = this.table(dstId);
    const hasParent = t.rounds > 0;
    if (hasParent) finishRound(t, true);
    t.rounds++;
    this.current = dstId;
    return hasParent;
  }

  private header(b: Buffer): void {
    const at = this.offset - IOV_SIZE;
    const iov = decodeIov(b);
    const name = COMMAND_NAMES[iov.cmd];
    this.got.frames++;
    if (iov.cmd !== PS_IOV_CLOSE && iov.cmd !== PS_IOV_FORCE_CLOSE) this.crc = crc32(b, this.crc);
    switch (iov.cmd) {
      case PS_IOV_OPEN:
      case PS_IOV_OPEN2:
      case PS_IOV_PARENT: {
        if (!decodePm(iov.dstId)) this.fail(at, `${name}: unknown pagemap type in dst_id 0x${iov.dstId.toString(16)}`);
        if (iov.cmd === PS_IOV_PARENT) {
          const t = this.got.pagemaps.get(iov.dstId);
          const r = Buffer.alloc(4);
          r.writeInt32LE(t && t.rounds > 0 ? 1 : 0);
          this.reply(r);
          return;
        }
        const hasParent = this.open(iov.dstId);
        if (iov.cmd === PS_IOV_OPEN2) this.reply(Buffer.from([hasParent ? 1 : 0]));
        return;
      }
      case PS_IOV_ADD:
      case PS_IOV_ADD_F:
      case PS_IOV_HOLE:
      case NSD_IOV_ZERO: {
        const flags = iov.cmd === PS_IOV_ADD_F ? iov.flags : iov.cmd === PS_IOV_ADD ? PE_PRESENT : iov.cmd === PS_IOV_HOLE ? PE_PARENT : 0;
        if (iov.cmd !== PS_IOV_ADD_F && iov.flags !== 0) this.fail(at, `${name} with flags 0x${iov.flags.toString(16)}`);
        if (flags & ~(PE_PARENT | PE_LAZY | PE_PRESENT)) this.fail(at, `${name}: unknown flags 0x${flags.toString(16)}`);
        if ((flags & PE_PRESENT) && (flags & PE_PARENT)) this.fail(at, `${name}: pages both present and in parent`);
        if (iov.nrPages === 0 || iov.nrPages > MAX_FRAME_PAGES) this.fail(at, `${name}: nr_pages ${iov.nrPages} (1..${MAX_FRAME_PAGES})`);
        if (iov.vaddr % BigInt(PAGE_SIZE) !== 0n) this.fail(at, `${name}: vaddr 0x${iov.vaddr.toString(16)} is not page aligned`);
        if (iov.vaddr / BigInt(PAGE_SIZE) + BigInt(iov.nrPages) > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(at, `${name}: vaddr out of range`);
        // CRIU's prep_loc_xfer: I/O without OPEN opens the dst_id ("deprecated IO w/o open").
        if (this.current !== iov.dstId) {
          if (!decodePm(iov.dstId)) this.fail(at, `${name}: unknown pagemap type in dst_id 0x${iov.dstId.toString(16)}`);
          this.open(iov.dstId);
        }
        const table = this.table(iov.dstId);
        const first = Number(iov.vaddr / BigInt(PAGE_SIZE));
        if (flags & PE_PRESENT) {
          this.pending = { kind: 'pages', iov, need: iov.nrPages * PAGE_SIZE, at, table, first };
          this.count(flags, iov.nrPages);
          return;
        }
        this.run(table, first, iov.nrPages, flags & PE_PARENT ? 'parent' : flags & PE_LAZY ? 'lazy' : 'zero', null, at);
        this.count(flags, iov.nrPages);
        return;
      }
      case NSD_IOV_FILE: {
        const nameLen = iov.nrPages;
        if (nameLen === 0 || nameLen > MAX_NAME_BYTES) this.fail(at, `FILE: name length ${nameLen} (1..${MAX_NAME_BYTES})`);
        if (iov.vaddr > BigInt(MAX_FILE_BYTES)) this.fail(at, `FILE: ${iov.vaddr} bytes (at most ${MAX_FILE_BYTES})`);
        this.pending = { kind: 'file', iov, need: nameLen + Number(iov.vaddr) };
        return;
      }
      case PS_IOV_CLOSE:
      case PS_IOV_FORCE_CLOSE: {
        const sent = Number(iov.dstId & 0xffffffffn);
        if (iov.dstId >> 32n !== 0n || sent !== this.crc) {
          this.fail(at, `CLOSE: stream CRC-32 0x${this.crc.toString(16).padStart(8, '0')} does not match the source's 0x${iov.dstId.toString(16).padStart(8, '0')} (corrupted on the way)`);
        }
        this.got.bytes = this.offset;
        this.closed = true;
        for (const t of this.got.pagemaps.values()) finishRound(t, false);
        return;
      }
      case PS_IOV_GET:
        this.fail(at, 'GET sent to a receiving page server (GET asks a source for lazy pages)');
      // falls through (fail never returns)
      default:
        this.fail(at, `unknown command 0x${iov.cmd.toString(16)} (cmd word 0x${b.readUInt32LE(0).toString(16)})`);
    }
  }

  private payload(p: Extract<Pending, { kind: 'file' }>, bytes: Buffer): void {
    const at = this.offset - bytes.length;
    const nameBuf = bytes.subarray(0, p.iov.nrPages);
    const data = bytes.subarray(p.iov.nrPages);
    const name = nameBuf.toString('utf8');
    if (!validFileName(name)) this.fail(at, `FILE: bad image name ${JSON.stringify(name)}`);
    if (fileCrc(nameBuf, data) !== p.iov.dstId) this.fail(at, `FILE ${name}: CRC-32 mismatch (corrupted on the way)`);
    if (this.got.files.has(name)) this.fail(at, `FILE ${name} sent twice`);
    // Copy out of a possibly shared socket buffer.
    this.got.files.set(name, new Uint8Array(data));
  }

  /** A run of `n` pages from `first` in the round in progress: no page twice; in-parent pages must exist. */
  private run(t: PageTable, first: number, n: number, kind: Segment['kind'], data: Buffer | null, at: number): void {
    if (first < t.roundEnd) {
      for (const r of t.round) {
        const a = Math.max(first, r.first);
        if (a < Math.min(first + n, r.first + r.n)) this.fail(at, `${describePm(t.dstId)}: page 0x${(a * PAGE_SIZE).toString(16)} described twice in one round`);
      }
    }
    if (kind === 'parent' && !sliceSegments(t.pages, first, n, null)) {
      let pg = first;
      while (sliceSegments(t.pages, pg, 1, null)) pg++;
      this.fail(at, `${describePm(t.dstId)}: page 0x${(pg * PAGE_SIZE).toString(16)} is "in parent" but no earlier round sent it`);
    }
    t.round.push({ first, n, kind, data, off: 0, at });
    t.roundEnd = Math.max(t.roundEnd, first + n);
  }

  private count(flags: number, n: number): void {
    if (flags & PE_PRESENT) this.got.pagesData += n;
    else if (flags & PE_PARENT) this.got.pagesParent += n;
    else if (!(flags & PE_LAZY)) this.got.pagesZero += n;
  }
}

export interface ReceiveOptions {
  /** Runs once the stream is complete; its number answers CLOSE (0: done). A throw answers -1. */
  onComplete?: (r: Received) => number | Promise<number>;
  /** Progress: bytes received so far. */
  onBytes?: (n: number) => void;
  /**
   * Leave the connection open after answering CLOSE (lazy migration: the destination's GETs go
   * over it). Only when `onComplete` answered 0; the socket is left paused, without listeners.
   */
  keepOpen?: boolean;
}

/**
 * Serves one page-server connection. Resolves with what was received (after `onComplete`), or
 * rejects with a StreamError (bad or truncated stream; the socket is destroyed) or what
 * `onComplete` threw.
 */
export function receiveStream(sock: Duplex, opts: ReceiveOptions = {}): Promise<Received> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let total = 0;
    const rx = new StreamReceiver((b) => void sock.write(b));
    const done = (e: Error | null, r?: Received): void => {
      if (settled) return;
      settled = true;
      if (e) {
        sock.destroy();
        reject(e);
      } else resolve(r!);
    };
    sock.on('data', (chunk: Buffer) => {
      if (settled) return;
      total += chunk.length;
      opts.onBytes?.(total);
      try {
        rx.push(chunk);
      } catch (e) {
        done(e as Error);
        return;
      }
      if (rx.closed) {
        sock.pause();
        sock.removeAllListeners('data');
        void complete();
      }
    });
    const complete = async (): Promise<void> => {
      let status = 0;
      let err: Error | null = null;
      try {
        status = opts.onComplete ? await opts.onComplete(rx.got) : 0;
      } catch (e) {
        err = e as Error;
        status = -1;
      }
      const b = Buffer.alloc(4);
      b.writeInt32LE(status);
      if (opts.keepOpen && status === 0) {
        sock.removeAllListeners('end');
        sock.removeAllListeners('close');
        sock.removeAllListeners('error');
        sock.write(b);
      } else sock.end(b);
      if (err) done(err);
      else done(null, rx.got);
    };
    sock.on('end', () => {
      if (!rx.closed) done(rx.endError()!);
    });
    sock.on('close', () => {
      if (!rx.closed) done(rx.endError()!);
    });
    sock.on('error', (e) => {
      if (!rx.closed) done(rx.endError(`the connection failed (${e.message})`)!);
    });
  });
}
