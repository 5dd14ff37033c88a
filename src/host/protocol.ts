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

/** One answer: `ret` (-1 on failure), `errno` (0 on success), `data`. */
export interface Response {
  ret: bigint;
  errno: number;
  data: Uint8Array;
}

/** Encodes requests back to back into one buffer (one allocation; numbers through a DataView). */
export function encodeRequests(reqs: readonly Request[]): Buffer {
  let total = 0;
  for (const q of reqs) total += 12 + 8 * q.args.length + (q.data?.byteLength ?? 0);
  const b = Buffer.allocUnsafe(total);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let at = 0;
  for (const q of reqs) {
    const args = q.args;
    const dlen = q.data?.byteLength ?? 0;
    v.setUint32(at, 8 + 8 * args.length + dlen, true);
    v.setUint32(at + 4, OP[q.op], true);
    v.setUint32(at + 8, args.length, true);
    at += 12;
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (typeof a === 'bigint') v.setBigInt64(at, a, true);
      else {
        // Two's complement in two 32-bit halves (no BigInt per argument: a restore sends ~10^4).
        v.setUint32(at, a >>> 0, true);
        v.setInt32(at + 4, Math.floor(a / 0x100000000), true);
      }
      at += 8;
    }
    if (dlen > 0) {
      b.set(q.data!, at);
      at += dlen;
    }
  }
  return b;
}

/** The data of an OP_MSGSNDV: each message as i64 mtype | u32 size | body. */
export function packMessages(msgs: readonly { mtype: bigint; body: Uint8Array }[]): Buffer {
  let total = 0;
  for (const m of msgs) total += 12 + m.body.byteLength;
  const b = Buffer.allocUnsafe(total);
  let at = 0;
  for (const m of msgs) {
    b.writeBigInt64LE(m.mtype, at);
    b.writeUInt32LE(m.body.byteLength, at + 8);
    b.set(m.body, at + 12);
    at += 12 + m.body.byteLength;
  }
  return b;
}

/** One dump record. */
export interface DumpRecord {
  kind: number;
  args: bigint[];
  data: Uint8Array;
}

/** Splits an OP_DUMP answer into its records; throws on a malformed stream. */
export function decodeRecords(bytes: Uint8Array): DumpRecord[] {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: DumpRecord[] = [];
  let at = 0;
  while (at < b.length) {
    if (at + 12 > b.length) throw new Error(`agent dump: truncated record at byte ${at}`);
    const len = b.readUInt32LE(at);
    const kind = b.readUInt32LE(at + 4);
    const nargs = b.readUInt32LE(at + 8);
    const end = at + 4 + len;
    if (len < 8 + 8 * nargs || end > b.length) throw new Error(`agent dump: bad record at byte ${at}`);
    const args: bigint[] = [];
    for (let i = 0; i < nargs; i++) args.push(b.readBigInt64LE(at + 12 + 8 * i));
    out.push({ kind, args, data: bytes.subarray(at + 12 + 8 * nargs, end) });
    at = end;
  }
  return out;
}
