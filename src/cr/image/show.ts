/**
 * Design note: `showImage` is our `crit show`: any image this folder knows
 * becomes a JSON-able object {file, magic, entries}. Values are made readable
 * on the way out and nothing is rounded: 64-bit integers become decimal
 * strings, enums their names, PE_* flags their names, IPC keys hex, modes
 * octal, bytes hex; message bodies print as text when printable, else hex;
 * semaphore values as a list. The layout of an entry follows crit's (CRIU
 * field names), with payloads under `messages`, `values` or `data`.
 */
import { basename } from 'node:path';
import protobuf from 'protobufjs';
import { type Entry, type FieldValue, isLongField } from './convert.js';
import { detectImageKind, readImage } from './image.js';
import { IMAGE_KINDS } from './kinds.js';
import { PAGE_SIZE } from './limits.js';
import { readNsdExtra } from './nsd-extra.js';
import { messageType } from './schema/index.js';
import { PE_LAZY, PE_PARENT, PE_PRESENT } from './shmem.js';
import type { IpcMessage, Payload } from './types.js';

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

function pagemapFlagNames(flags: number): string {
  const names: [number, string][] = [
    [PE_PARENT, 'PE_PARENT'],
    [PE_LAZY, 'PE_LAZY'],
    [PE_PRESENT, 'PE_PRESENT'],
  ];
  const parts = names.filter(([bit]) => flags & bit).map(([, n]) => n);
  const rest = flags & ~(PE_PARENT | PE_LAZY | PE_PRESENT);
  if (rest !== 0) parts.push(`0x${rest.toString(16)}`);
  return parts.length > 0 ? parts.join(' | ') : '0';
}

/** Per-field readable renderings, by "message.field". */
const FORMATS: Record<string, (v: FieldValue) => Json> = {
  'ipc_desc_entry.key': (v) => `0x${(v as number).toString(16)}`,
  'ipc_desc_entry.mode': (v) => `0${(v as number).toString(8)}`,
  'pagemap_entry.vaddr': (v) => `0x${(v as bigint).toString(16)}`,
  'pagemap_entry.flags': (v) => pagemapFlagNames(v as number),
  'pipe_entry.flags': (v) => `0x${(v as number).toString(16)}`,
};

function showValue(type: protobuf.Type, field: protobuf.Field, v: FieldValue): Json {
  const custom = FORMATS[`${type.name}.${field.name}`];
  if (custom !== undefined) return custom(v);
  if (field.resolvedType instanceof protobuf.Type) return showEntry(field.resolvedType, v as Entry);
  if (field.resolvedType instanceof protobuf.Enum) return field.resolvedType.valuesById[v as number] ?? (v as number);
  if (isLongField(field)) return (v as bigint).toString();
  if (v instanceof Uint8Array) return toHex(v);
  return v as Json;
}

/** One decoded entry, readable. */
export function showEntry(type: protobuf.Type, entry: object): { [k: string]: Json } {
  const out: { [k: string]: Json } = {};
  for (const field of type.fieldsArray) {
    const v = (entry as Entry)[field.name];
    if (v === undefined) continue;
    out[field.name] = field.repeated
      ? (v as FieldValue[]).map((x) => showValue(type, field, x))
      : showValue(type, field, v);
  }
  return out;
}

const PRINTABLE = /^[\x20-\x7e\t\n\r]*$/;

/** A message body as text when it is printable ASCII, else as hex. */
export function showBody(body: Uint8Array): { text: string } | { hex: string } {
  const s = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('latin1');
  return PRINTABLE.test(s) ? { text: s } : { hex: toHex(body) };
}

function showMessage(m: IpcMessage): Json {
  return { mtype: m.mtype.toString(), msize: m.msize, body: showBody(m.body) };
}

function showPayload(p: Payload): { [k: string]: Json } {
  switch (p.kind) {
    case 'ipc-msg':
      return { messages: p.messages.map(showMessage) };
    case 'ipc-sem':
      return { values: p.values };
    case 'ipc-shm-legacy':
    case 'pipe-data':
      return { data: toHex(p.data) };
  }
}

/** Any image file this folder knows, as a JSON-able object. Throws ImageError. */
export function showImage(bytes: Uint8Array, fileName: string): { [k: string]: Json } {
  const file = basename(fileName);
  const kind = detectImageKind(fileName, bytes);
  if (kind === 'pages') return { file, magic: 'PAGES', bytes: bytes.byteLength, pages: bytes.byteLength / PAGE_SIZE };
  const spec = IMAGE_KINDS[kind];
  if (kind === 'nsd-extra') {
    const { head, entries } = readNsdExtra(bytes, fileName);
    const shown = [
      showEntry(messageType('nsd_extra_head'), head),
      ...entries.map((e) => showEntry(messageType('nsd_extra_entry'), e)),
    ];
    return { file, magic: spec.magicName, entries: shown };
  }
  const image = readImage(bytes, kind, { file: fileName });
  const entries = (image.entries as readonly object[]).map((e, i) => {
    const typeName = i === 0 && spec.firstType !== undefined ? spec.firstType : spec.entryType;
    const payload = image.payloads?.[i];
    return { ...showEntry(messageType(typeName), e), ...(payload ? showPayload(payload) : {}) };
  });
  return { file, magic: spec.magicName, entries };
}
