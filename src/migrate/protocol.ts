/**
 * Design note: the wire format of the page-server stream (docs/migration.md, "The stream").
 *
 * Every frame starts with CRIU's `struct page_server_iov` in its classic 24-byte layout, little
 * endian: `{u32 cmd; u32 nr_pages; u64 vaddr; u64 dst_id}` (criu/page-xfer.c; CRIU 3.19 widened
 * nr_pages to u64, which pads the struct to 32 bytes — this stream keeps the original layout).
 * The low 16 bits of `cmd` are the command, the high 16 its flags (`encode_ps_cmd`:
 * `flags << PS_CMD_BITS | cmd`); `dst_id` names the pagemap as `id << PS_TYPE_BITS | type`
 * (`encode_pm`, PS_TYPE_PID 1 for a process's memory, PS_TYPE_SHMEM 2 for a shm segment).
 *
 * CRIU's commands, with CRIU's numbers and meaning:
 *   ADD 1      nr_pages pages follow (flags PE_PRESENT)
 *   HOLE 2     no payload: the pages are in the parent round (flags PE_PARENT)
 *   OPEN 3     select dst_id, no answer; OPEN2 4: select dst_id, answer 1 byte has_parent
 *   PARENT 5   answer an int32: has this dst_id a parent round
 *   ADD_F 6    ADD with explicit PE_* flags in cmd's high bits (PE_PRESENT: pages follow;
 *              PE_PARENT: in parent; PE_LAZY without PE_PRESENT: left at the source)
 *   GET 7      (lazy restore asks the source) answered by ADD_F(PE_PRESENT)+pages (+ this project's
 *              u32 CRC-32 of the pages, src/migrate/lazy.ts), or nr_pages 0
 *   CLOSE 0x1023 (older CRIU: PS_IOV_FLUSH), FORCE_CLOSE 0x1024 (PS_IOV_FLUSH_N_CLOSE): end of
 *              stream, answered by an int32 status (0: everything received)
 * This project's extensions (commands CRIU does not use, in 0x4e00–0x4eff, 'N'):
 *   ZERO 0x4e5a  nr_pages zero-filled pages, no payload
 *   FILE 0x4e46  an image file: nr_pages = name length, vaddr = data length, dst_id = CRC-32 of
 *                name and data; payload: the name (UTF-8) then the data
 * and one field CRIU leaves 0: CLOSE's dst_id carries the CRC-32 of every byte sent before it, so
 * a corrupted page is refused too (a corrupted header or file frame is refused where it is read).
 */
import { crc32 } from 'node:zlib';

export const PAGE_SIZE = 4096;
export const IOV_SIZE = 24;

export const PS_IOV_ADD = 1;
export const PS_IOV_HOLE = 2;
export const PS_IOV_OPEN = 3;
export const PS_IOV_OPEN2 = 4;
export const PS_IOV_PARENT = 5;
export const PS_IOV_ADD_F = 6;
export const PS_IOV_GET = 7;
export const PS_IOV_CLOSE = 0x1023;
export const PS_IOV_FORCE_CLOSE = 0x1024;
export const NSD_IOV_ZERO = 0x4e5a;
export const NSD_IOV_FILE = 0x4e46;

export const PS_CMD_BITS = 16;
export const PS_CMD_MASK = (1 << PS_CMD_BITS) - 1;
export const PS_TYPE_BITS = 8n;
export const PS_TYPE_PID = 1;
export const PS_TYPE_SHMEM = 2;

/** Pagemap entry flags (criu/include/pagemap.h). */
export const PE_PARENT = 1 << 0;
export const PE_LAZY = 1 << 1;
export const PE_PRESENT = 1 << 2;

/** Limits a receiver enforces before allocating anything. */
export const MAX_FRAME_PAGES = 1 << 18; // 1 GiB of pages in one frame
export const MAX_FILE_BYTES = 1 << 30;
export const MAX_NAME_BYTES = 255;

export const COMMAND_NAMES: Record<number, string> = {
  [PS_IOV_ADD]: 'ADD', [PS_IOV_HOLE]: 'HOLE', [PS_IOV_OPEN]: 'OPEN', [PS_IOV_OPEN2]: 'OPEN2', [PS_IOV_PARENT]: 'PARENT',
  [PS_IOV_ADD_F]: 'ADD_F', [PS_IOV_GET]: 'GET', [PS_IOV_CLOSE]: 'CLOSE', [PS_IOV_FORCE_CLOSE]: 'FORCE_CLOSE',
  [NSD_IOV_ZERO]: 'ZERO', [NSD_IOV_FILE]: 'FILE',
};

export interface Iov {
  /** The command (low 16 bits of the wire cmd). */
  cmd: number;
  /** Its flags (high 16 bits). */
  flags: number;
  nrPages: number;
  vaddr: bigint;
  dstId: bigint;
}

/** A refused stream: says where (byte offset) and what was wrong. */
export class StreamError extends Error {
  constructor(readonly offset: number, why: string) {
    super(`page-server stream: at byte ${offset}: ${why}`);
    this.name = 'StreamError';
  }
}

export function encodeIov(cmd: number, flags: number, nrPages: number, vaddr: bigint | number, dstId: bigint | number): Buffer {
  const b = Buffer.allocUnsafe(IOV_SIZE);
  b.writeUInt32LE(((flags << PS_CMD_BITS) | cmd) >>> 0, 0);
  b.writeUInt32LE(nrPages >>> 0, 4);
  b.writeBigUInt64LE(BigInt(vaddr), 8);
  b.writeBigUInt64LE(BigInt(dstId), 16);
  return b;
}

export function decodeIov(b: Buffer, at = 0): Iov {
  const raw = b.readUInt32LE(at);
  return {
    cmd: raw & PS_CMD_MASK,
    flags: raw >>> PS_CMD_BITS,
    nrPages: b.readUInt32LE(at + 4),
    vaddr: b.readBigUInt64LE(at + 8),
    dstId: b.readBigUInt64LE(at + 16),
  };
}

/** `encode_pm`: a pagemap's id on the wire. */
export function encodePm(type: number, id: number): bigint {
  return (BigInt(id) << PS_TYPE_BITS) | BigInt(type);
}

/** `decode_pm` (current numbers only); null for an unknown type. */
export function decodePm(dstId: bigint): { type: number; id: number } | null {
  const type = Number(dstId & 0xffn);
  if (type !== PS_TYPE_PID && type !== PS_TYPE_SHMEM) return null;
  const id = dstId >> PS_TYPE_BITS;
  if (id > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return { type, id: Number(id) };
}

export function describePm(dstId: bigint): string {
  const pm = decodePm(dstId);
  return pm ? `${pm.type === PS_TYPE_PID ? 'pid' : 'shm'} ${pm.id}` : `dst_id 0x${dstId.toString(16)}`;
}

/** Image file names accepted in FILE frames: one path component, no surprises. */
export function validFileName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) && name.length <= MAX_NAME_BYTES;
}

export function fileCrc(name: Buffer, data: Uint8Array): bigint {
  return BigInt(crc32(data, crc32(name)));
}

export { crc32 };
