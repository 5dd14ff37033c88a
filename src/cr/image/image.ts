/**
 * Design note: CRIU framing (criu/image.c, criu/protobuf.c): an optional
 * head magic (IMG_COMMON_MAGIC for all but inventory), the per-image magic,
 * then until end of file: u32 little-endian length + that many protobuf
 * bytes, each entry possibly followed by a raw payload (payloads.ts). A clean
 * end of file between entries ends the image; anything else short is refused.
 * `readImage` and `writeImage` are exact inverses on images CRIU wrote.
 */
import { basename } from 'node:path';
import { ByteReader, ByteWriter } from './bytes.js';
import { encodeEntry, entryAs, type Entry, messageToEntry } from './convert.js';
import { FAST_TYPES, fastDecode } from './fast.js';
import { ImageError, wrapDecode } from './errors.js';
import { findKindByFileName, IMAGE_KIND_LIST, IMAGE_KINDS, type ImageKindName, type ImageKindSpec } from './kinds.js';
import { MAX_ENTRIES, MAX_ENTRY_BYTES } from './limits.js';
import { CRIU_MAGICS, IMG_COMMON_MAGIC, NSD_HEAD_MAGIC } from './magic.js';
import { readPayload, writePayload } from './payloads.js';
import { messageType } from './schema/index.js';
import type { CriuImage, EntriesOf, EntryOf, Payload } from './types.js';

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

/** Options for reading. */
export interface ReadOptions {
  /** File name used in errors (and to tell pagemap kinds apart). */
  file?: string;
}

/** Reads and checks the magics of a kind at the start of `r`. */
export function readMagic(r: ByteReader, spec: ImageKindSpec): void {
  if (spec.head !== null) {
    const head = r.u32('head magic');
    if (head !== spec.head) r.fail(`bad head magic ${hex(head)}, expected ${hex(spec.head)}`, 0);
  }
  const at = r.offset;
  const magic = r.u32('image magic');
  if (magic !== spec.magic) r.fail(`bad ${spec.name} magic ${hex(magic)}, expected ${hex(spec.magic)}`, at);
}

/** Decodes one length-prefixed protobuf entry at the reader's position. */
export function readEntry(r: ByteReader, typeName: string, index: number): Entry {
  const at = r.offset;
  const len = r.u32(() => `entry ${index} length`);
  if (len > MAX_ENTRY_BYTES) r.fail(`entry ${index} length ${len} exceeds limit ${MAX_ENTRY_BYTES}`, at);
  const raw = r.take(len, () => `entry ${index} (${len} bytes)`);
  const fast = FAST_TYPES.get(typeName);
  const entry = fast ? fastDecode(fast, raw, 0, raw.length) : null;
  if (entry) return entry;
  const type = messageType(typeName);
  return wrapDecode(r.file, at + 4, typeName, () => messageToEntry(type, type.decode(raw)));
}

/**
 * Reads a whole image of the given kind. Throws ImageError for any bad
 * input; never returns a partial image.
 */
export function readImage<K extends ImageKindName>(bytes: Uint8Array, kind: K, opts: ReadOptions = {}): CriuImage<K> {
  const spec = IMAGE_KINDS[kind];
  const r = new ByteReader(bytes, opts.file ?? '<buffer>');
  readMagic(r, spec);
  const entries: Entry[] = [];
  const payloads: (Payload | null)[] = [];
  while (r.remaining > 0) {
    if (entries.length >= MAX_ENTRIES) r.fail(`more than ${MAX_ENTRIES} entries`);
    const typeName = entries.length === 0 && spec.firstType !== undefined ? spec.firstType : spec.entryType;
    const entry = readEntry(r, typeName, entries.length);
    entries.push(entry);
    payloads.push(readPayload(r, spec.payload, entry));
  }
  if (spec.firstType !== undefined && entries.length === 0) r.fail(`missing ${spec.firstType}`);
  // entries.length > 0 where the kind has a first type (refused above), as EntriesOf<K> says.
  const image: CriuImage<K> = { kind, entries: entryAs<EntriesOf<K>>(entries) };
  if (spec.payload !== 'none') image.payloads = payloads;
  return image;
}

/** Writes the magics of a kind. */
export function writeMagic(w: ByteWriter, spec: ImageKindSpec): void {
  if (spec.head !== null) w.u32(spec.head);
  w.u32(spec.magic);
}

/**
 * Encodes an image. `payloads[i]` must match `entries[i]` for kinds that
 * carry payloads. Throws TypeError for data that does not fit the messages.
 */
export function writeImage<K extends ImageKindName>(
  kind: K,
  entries: readonly EntryOf<K>[] | readonly object[],
  payloads?: readonly (Payload | null)[],
): Uint8Array {
  const spec = IMAGE_KINDS[kind];
  const w = new ByteWriter();
  writeMagic(w, spec);
  entries.forEach((e, i) => {
    const typeName = i === 0 && spec.firstType !== undefined ? spec.firstType : spec.entryType;
    const body = encodeEntry(messageType(typeName), e);
    w.u32(body.byteLength);
    w.bytes(body);
    writePayload(w, spec.payload, e as Entry, payloads?.[i], i);
  });
  return w.finish();
}

/** Writes a decoded image back (inverse of readImage). */
export function encodeImage<K extends ImageKindName>(image: CriuImage<K>): Uint8Array {
  return writeImage(image.kind, image.entries, image.payloads);
}

/** Raw (magic-less) CRIU images: pages-<n>.img holds bare page data. */
const RAW_FILE = /^pages-\d+\.img$/;

/**
 * Which kind an image is, from its magics (and, where magics are shared, as
 * between pagemap and pagemap-shmem, its file name). Returns 'pages' for a raw
 * pages-<n>.img. Throws ImageError for an unknown or mismatching magic.
 */
export function detectImageKind(fileName: string, bytes: Uint8Array): ImageKindName | 'pages' {
  const base = basename(fileName);
  const byName = findKindByFileName(base);
  if (byName === undefined && RAW_FILE.test(base)) return 'pages';
  const r = new ByteReader(bytes, fileName);
  const first = r.u32('magic');
  let candidates: ImageKindSpec[];
  if (first === IMG_COMMON_MAGIC || first === NSD_HEAD_MAGIC) {
    const magic = r.u32('image magic');
    candidates = IMAGE_KIND_LIST.filter((k) => k.head === first && k.magic === magic);
  } else {
    candidates = IMAGE_KIND_LIST.filter((k) => k.head === null && k.magic === first);
  }
  if (candidates.length === 0) {
    const known = Object.entries(CRIU_MAGICS).find(([, v]) => v === first);
    const why = known ? `unsupported image ${known[0]}` : `unknown magic ${hex(first)}`;
    throw new ImageError(fileName, 0, why);
  }
  if (byName !== undefined && candidates.includes(byName)) return byName.name;
  if (candidates.length === 1 && byName === undefined) return candidates[0]!.name;
  throw new ImageError(fileName, 0, `magic is ${candidates.map((c) => c.name).join('/')} but file name is ${base}`);
}
