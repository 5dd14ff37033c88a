/**
 * Design note: the raw data CRIU writes after some entries, checked against
 * checkpoint-restore/criu criu/ipc_ns.c and criu/pipes.c:
 *  - ipcns-msg: for each of qnum messages, {u32 length, ipc_msg{mtype,msize}}
 *    then msize body bytes zero-padded to a multiple of 8;
 *  - ipcns-sem: u16[nsems] semaphore values zero-padded to a multiple of 8;
 *  - ipcns-shm without in_pagemaps (pre-4.0 images): size bytes of contents
 *    zero-padded to a multiple of 4; with in_pagemaps nothing follows;
 *  - pipes-data: exactly `bytes` bytes, no padding.
 * Every count is checked against a limit and the bytes left before use.
 * Padding is skipped without checking it is zero, as CRIU does.
 */
import { ByteReader, ByteWriter, roundUp } from './bytes.js';
import { encodeEntry, type Entry, messageToEntry } from './convert.js';
import { wrapDecode } from './errors.js';
import { FAST_TYPES, fastDecode } from './fast.js';
import type { PayloadKind } from './kinds.js';
import { MAX_ENTRY_BYTES, MAX_MESSAGE_BYTES, MAX_QUEUE_MESSAGES, MAX_SEMS } from './limits.js';
import { messageType } from './schema/index.js';
import type { IpcMessage, Payload } from './types.js';

function readIpcMessages(r: ByteReader, qnum: number): IpcMessage[] {
  if (qnum > MAX_QUEUE_MESSAGES) r.fail(`qnum ${qnum} exceeds limit ${MAX_QUEUE_MESSAGES}`);
  const type = messageType('ipc_msg');
  const fast = FAST_TYPES.get('ipc_msg')!;
  const messages: IpcMessage[] = [];
  for (let i = 0; i < qnum; i++) {
    const plain = r.plainIpcMsg(MAX_MESSAGE_BYTES);
    if (plain) {
      messages.push({ mtype: plain[0], msize: plain[1], body: plain[2] });
      continue;
    }
    const at = r.offset;
    const len = r.u32(() => `message ${i} header length`);
    if (len > MAX_ENTRY_BYTES) r.fail(`message ${i} header length ${len} exceeds limit`, at);
    const raw = r.take(len, () => `message ${i} header`);
    const head = fastDecode(fast, raw, 0, raw.length) ?? wrapDecode(r.file, at + 4, 'ipc_msg', () => messageToEntry(type, type.decode(raw)));
    const msize = head.msize as number;
    if (msize > MAX_MESSAGE_BYTES) r.fail(`message ${i} msize ${msize} exceeds limit ${MAX_MESSAGE_BYTES}`, at);
    const body = r.take(msize, () => `message ${i} body`);
    r.skip(roundUp(msize, 8) - msize, () => `message ${i} padding`);
    // A view into the image, not a copy: msgsnd copies what it queues, and so does every writer.
    // (take() gives a plain Uint8Array view even when the image is a Buffer.)
    messages.push({ mtype: head.mtype as bigint, msize, body });
  }
  return messages;
}

function readSemValues(r: ByteReader, nsems: number): number[] {
  if (nsems > MAX_SEMS) r.fail(`nsems ${nsems} exceeds limit ${MAX_SEMS}`);
  const padded = roundUp(nsems * 2, 8);
  if (padded > r.remaining) r.fail(`truncated semaphore values: need ${padded} bytes, ${r.remaining} left`);
  const values = r.u16s(nsems, 'semaphores');
  r.skip(padded - nsems * 2, 'semaphore padding');
  return values;
}

function readRaw(r: ByteReader, size: bigint | number, align: number, what: string): Uint8Array {
  const n = BigInt(size);
  if (n > BigInt(r.remaining)) r.fail(`truncated ${what}: need ${n} bytes, ${r.remaining} left`);
  const data = new Uint8Array(r.take(Number(n), what));
  r.skip(roundUp(Number(n), align) - Number(n), `${what} padding`);
  return data;
}

/** Reads the payload that follows `entry`, or null when none does. */
export function readPayload(r: ByteReader, kind: PayloadKind, entry: Entry): Payload | null {
  switch (kind) {
    case 'none':
      return null;
    case 'ipc-msg':
      return { kind, messages: readIpcMessages(r, entry.qnum as number) };
    case 'ipc-sem':
      return { kind, values: readSemValues(r, entry.nsems as number) };
    case 'ipc-shm-legacy':
      if (entry.in_pagemaps === true) return null;
      return { kind, data: readRaw(r, entry.size as bigint, 4, 'shm contents') };
    case 'pipe-data':
      return { kind, data: readRaw(r, entry.bytes as number, 1, 'pipe data') };
  }
}

function expectPayload<K extends Payload['kind']>(
  payload: Payload | null | undefined,
  kind: K,
  index: number,
): Extract<Payload, { kind: K }> {
  if (payload?.kind !== kind) throw new TypeError(`entry ${index}: expected a ${kind} payload`);
  return payload as Extract<Payload, { kind: K }>;
}

/** One message's record as ipcns-msg holds it: u32 length, ipc_msg {mtype, msize}, body, zeros to 8. */
export function writeIpcMessage(w: ByteWriter, m: { mtype: bigint; body: Uint8Array }): void {
  const msize = m.body.byteLength;
  const head = encodeEntry(messageType('ipc_msg'), { mtype: m.mtype, msize });
  w.u32(head.byteLength);
  w.bytes(head);
  w.bytes(m.body);
  w.zeros(roundUp(msize, 8) - msize);
}

function writeIpcMessages(w: ByteWriter, entry: Entry, messages: IpcMessage[], index: number): void {
  if (messages.length !== entry.qnum) {
    throw new TypeError(`entry ${index}: qnum ${String(entry.qnum)} but ${messages.length} messages`);
  }
  for (const m of messages) {
    if (m.body.byteLength !== m.msize) throw new TypeError(`entry ${index}: msize ${m.msize} != body length`);
    writeIpcMessage(w, m);
  }
}

/** Writes the payload that follows `entry` (validated against it). */
export function writePayload(
  w: ByteWriter,
  kind: PayloadKind,
  entry: Entry,
  payload: Payload | null | undefined,
  index: number,
): void {
  switch (kind) {
    case 'none':
      return;
    case 'ipc-msg':
      writeIpcMessages(w, entry, expectPayload(payload, kind, index).messages, index);
      return;
    case 'ipc-sem': {
      const { values } = expectPayload(payload, kind, index);
      if (values.length !== entry.nsems) throw new TypeError(`entry ${index}: nsems != ${values.length} values`);
      for (const v of values) w.u16(v);
      w.zeros(roundUp(values.length * 2, 8) - values.length * 2);
      return;
    }
    case 'ipc-shm-legacy': {
      if (entry.in_pagemaps === true) return;
      const { data } = expectPayload(payload, kind, index);
      if (BigInt(data.byteLength) !== entry.size) throw new TypeError(`entry ${index}: size != data length`);
      w.bytes(data);
      w.zeros(roundUp(data.byteLength, 4) - data.byteLength);
      return;
    }
    case 'pipe-data': {
      const { data } = expectPayload(payload, kind, index);
      if (data.byteLength !== entry.bytes) throw new TypeError(`entry ${index}: bytes != data length`);
      w.bytes(data);
      return;
    }
  }
}
