/**
 * Design note: the frames Node and the C agent (src/host/native/agent.c) exchange on the agent's
 * stdin/stdout. Binary, little-endian, one answer per request, in order, so a whole restore can be
 * written at once and read back as it completes (microseconds per operation, no round trip each):
 *
 *   request   u32 len | u32 op | u32 nargs | i64 args[nargs] | data      (len: bytes after itself)
 *   response  u32 len | i64 ret | i32 errno | u32 0 | data
 *   record    u32 len | u32 kind | u32 nargs | i64 args[nargs] | data   (inside OP_DUMP's answer)
 *
 * args[0] of every IPC operation is the task that carries it out: 0 (or 1) for the agent, else the
 * pid of a holder task made with OP_TASK (the agent forwards the frame to it).
 */
import { ByteReader, ByteWriter } from '../cr/image/bytes.js';
import { readPayload, writeIpcMessage } from '../cr/image/payloads.js';
import type { HostMsq } from './state.js';

/** Operation numbers (the enum at the top of agent.c). */
export const OP = {
  PING: 1,
  SYSCTL_W: 2,
  GET: 3,
  MSGSND: 4,
  SETALL: 5,
  SEMOP: 6,
  SHMWRITE: 7,
  SHMAT: 8,
  CTL: 9,
  SET: 10,
  TASK: 11,
  KILL: 12,
  DUMP: 13,
  EXEC: 14,
  HOLD: 15,
  RESET: 16,
  CHECK: 17,
  SETVAL: 18,
  SHMDT: 19,
  MSGRCV: 20,
  MSGSNDV: 22,
  SEMOPV: 23,
  SHMFILE: 24,
  SYNC: 25,
  GETV: 26,
  SHMTOUCHV: 27,
} as const;
export type OpName = keyof typeof OP;

/** Dump record kinds. */
export const REC = { VAR: 1, MSQ: 2, MSG: 3, SEM: 4, SHM: 5, TASK: 6, ATTACH: 7, NOTE: 8 } as const;

/** IPC object kinds as the agent numbers them. */
export const KIND = { msg: 1, sem: 2, shm: 3 } as const;

/** One request. */
export interface Request {
  op: OpName;
  args: readonly (number | bigint)[];
  data?: Uint8Array;
}

/** One answer: `ret` (-1 on failure), `errno` (0 on success), `data`. `ret` is the agent's i64 as a
 *  number: every value it returns (ids, pids, counts, x86_64 user addresses < 2^47) is exact. */
export interface Response {
  ret: number;
  errno: number;
  data: Uint8Array;
}

/** Data at least this large is sent as its own chunk of the write (no copy into the frames). */
const BY_REFERENCE = 4096;

/**
 * Encodes requests back to back: the frames' headers and small data in shared buffers, each large
 * data (message batches, shm contents) as its own chunk, referenced, not copied; the chunks go out
 * in one writev (agent.ts). Numbers are written as two 32-bit halves: no BigInt per argument (a
 * restore sends ~10^4).
 */
export function encodeRequests(reqs: readonly Request[]): Uint8Array[] {
  let small = 0;
  for (let i = 0; i < reqs.length; i++) {
    const q = reqs[i]!;
    const dlen = q.data?.byteLength ?? 0;
    small += 12 + 8 * q.args.length + (dlen < BY_REFERENCE ? dlen : 0);
  }
  const b = Buffer.allocUnsafe(small);
  // Written through a DataView: an intrinsic even before the JIT optimizes (Buffer's write*LE are
  // calls with checks each; a restore writes ~10^4 frames once).
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Uint8Array[] = [];
  let at = 0;
  let from = 0;
  for (let r = 0; r < reqs.length; r++) {
    const q = reqs[r]!;
    const args = q.args;
    const dlen = q.data?.byteLength ?? 0;
    v.setUint32(at, 8 + 8 * args.length + dlen, true);
    v.setUint32(at + 4, OP[q.op], true);
    v.setUint32(at + 8, args.length, true);
    at += 12;
    for (let i = 0; i < args.length; i++) {
      putI64(v, at, args[i]!);
      at += 8;
    }
    if (dlen === 0) continue;
    if (dlen < BY_REFERENCE) {
      b.set(q.data!, at);
      at += dlen;
      continue;
    }
    out.push(b.subarray(from, at), q.data!);
    from = at;
  }
  if (at > from) out.push(b.subarray(from, at));
  return out;
}

/** An i64 at `at`: a number as two 32-bit halves, two's complement (no BigInt per argument: a
 *  restore writes ~10^4). */
export function putI64(v: DataView, at: number, x: number | bigint): void {
  if (typeof x === 'bigint') v.setBigInt64(at, x, true);
  else {
    v.setUint32(at, x >>> 0, true);
    v.setInt32(at + 4, Math.floor(x / 0x100000000), true);
  }
}

/** The i64 at `at` as a number (exact below 2^53 in magnitude; see Response). */
export function readI64(b: Buffer, at: number): number {
  return b.readUInt32LE(at) + b.readInt32LE(at + 4) * 0x100000000;
}

/**
 * A queue's messages as OP_MSGSNDV takes them: CRIU's ipcns-msg message records back to back, each
 * a u32 length, the ipc_msg header (mtype = 1, msize = 2) in that many bytes, and the body
 * zero-padded to a multiple of 8 (src/cr/image/payloads.ts) — so a restore from images passes a
 * queue's records as the image holds them, uncopied (images.ts readPackedQueues) — with what a
 * plan needs to know of them.
 */
export interface PackedMessages {
  data: Uint8Array;
  count: number;
  /** Their bodies' bytes in all, and the largest body's. */
  bytes: number;
  biggest: number;
  /** Where the last message's record starts in `data` (-1 when there is none). */
  lastAt: number;
}

/** A queue to restore: a HostMsq whose messages are packed (restore.ts planner). */
export type PackedMsq = Omit<HostMsq, 'messages'> & { packed: PackedMessages };

/**
 * The queues of a HostIpcNs with their messages packed (written as CRIU writes them: the image
 * layer's writeIpcMessage), every queue's in one allocation. A restore from images takes them
 * straight from the image instead (images.ts readPackedQueues).
 */
export function packQueues(queues: readonly HostMsq[]): PackedMsq[] {
  const w = new ByteWriter();
  const spans: { from: number; to: number; lastAt: number; bytes: number; biggest: number }[] = [];
  for (const q of queues) {
    const from = w.size;
    let lastAt = -1;
    let bytes = 0;
    let biggest = 0;
    for (const m of q.messages) {
      lastAt = w.size - from;
      writeIpcMessage(w, m);
      bytes += m.body.byteLength;
      biggest = Math.max(biggest, m.body.byteLength);
    }
    spans.push({ from, to: w.size, lastAt, bytes, biggest });
  }
  const b = w.finish();
  return queues.map(({ messages, ...rest }, i) => {
    const { from, to, lastAt, bytes, biggest } = spans[i]!;
    return { ...rest, packed: { data: b.subarray(from, to), count: messages.length, bytes, biggest, lastAt } };
  });
}

/** The last message of packed ones (lastAt ≥ 0), read by the image layer's reader. */
export function lastPacked(p: PackedMessages): { mtype: bigint; body: Uint8Array } {
  const payload = readPayload(new ByteReader(p.data.subarray(p.lastAt), 'packed messages'), 'ipc-msg', { qnum: 1 });
  const m = payload?.kind === 'ipc-msg' ? payload.messages[0] : undefined;
  if (!m) throw new Error('packed messages: no last message');
  return { mtype: m.mtype, body: m.body };
}

/**
 * Walks an OP_DUMP answer's records in place: `each(kind, args, data, at)` with the arguments as
 * numbers (see readI64; `at` is where they start, for an argument wanted exactly as an i64, a
 * message's mtype) and the data a view into `bytes`. Throws on a malformed stream.
 */
export function forEachRecord(bytes: Uint8Array, each: (kind: number, args: number[], data: Uint8Array, at: number) => void): void {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < b.length) {
    if (at + 12 > b.length) throw new Error(`agent dump: truncated record at byte ${at}`);
    const len = b.readUInt32LE(at);
    const kind = b.readUInt32LE(at + 4);
    const nargs = b.readUInt32LE(at + 8);
    const end = at + 4 + len;
    if (len < 8 + 8 * nargs || end > b.length) throw new Error(`agent dump: bad record at byte ${at}`);
    const args = new Array<number>(nargs);
    for (let i = 0; i < nargs; i++) args[i] = readI64(b, at + 12 + 8 * i);
    each(kind, args, bytes.subarray(at + 12 + 8 * nargs, end), at + 12);
    at = end;
  }
}
