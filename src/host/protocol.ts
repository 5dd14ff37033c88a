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
  SHMTOUCH: 21,
  MSGSNDV: 22,
  SEMOPV: 23,
  SHMFILE: 24,
  SYNC: 25,
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
  const out: Uint8Array[] = [];
  let at = 0;
  let from = 0;
  for (let r = 0; r < reqs.length; r++) {
    const q = reqs[r]!;
    const args = q.args;
    const dlen = q.data?.byteLength ?? 0;
    b.writeUInt32LE(8 + 8 * args.length + dlen, at);
    b.writeUInt32LE(OP[q.op], at + 4);
    b.writeUInt32LE(args.length, at + 8);
    at += 12;
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (typeof a === 'bigint') b.writeBigInt64LE(a, at);
      else {
        // Two's complement in two 32-bit halves.
        b.writeUInt32LE(a >>> 0, at);
        b.writeInt32LE(Math.floor(a / 0x100000000), at + 4);
      }
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

/** The i64 at `at` as a number (exact below 2^53 in magnitude; see Response). */
export function readI64(b: Buffer, at: number): number {
  return b.readUInt32LE(at) + b.readInt32LE(at + 4) * 0x100000000;
}

/**
 * The data of each queue's OP_MSGSNDV: its messages as i64 mtype | u32 size | body, back to back,
 * every queue's in one allocation (a restore packs ~10^4 messages).
 */
export function packQueues(queues: readonly (readonly { mtype: bigint; body: Uint8Array }[])[]): Buffer[] {
  // Indexed loops: iterators allocate per element in code not yet optimized (one restore's worth).
  let total = 0;
  for (let q = 0; q < queues.length; q++) for (let i = 0; i < queues[q]!.length; i++) total += 12 + queues[q]![i]!.body.byteLength;
  const b = Buffer.allocUnsafe(total);
  const out: Buffer[] = [];
  let at = 0;
  for (let q = 0; q < queues.length; q++) {
    const msgs = queues[q]!;
    const from = at;
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i]!;
      // mtype as two 32-bit halves when it is a safe integer (a BigInt write allocates).
      const t = Number(m.mtype);
      if (Number.isSafeInteger(t)) {
        b.writeUInt32LE(t >>> 0, at);
        b.writeInt32LE(Math.floor(t / 0x100000000), at + 4);
      } else b.writeBigInt64LE(m.mtype, at);
      b.writeUInt32LE(m.body.byteLength, at + 8);
      b.set(m.body, at + 12);
      at += 12 + m.body.byteLength;
    }
    out.push(b.subarray(from, at));
  }
  return out;
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
