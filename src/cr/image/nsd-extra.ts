/**
 * Design note: this project's own image, nsd-extra-<id>.img, for what CRIU's
 * images cannot hold. Framing is CRIU's ({u32 length, protobuf}...) under
 * its own head magic, but unlike CRIU images it is versioned and
 * checksummed: the first entry (nsd_extra_head) carries format_version,
 * entry_count and the SHA-256 of every byte after it. A reader refuses an
 * unknown version, a wrong count and a wrong digest.
 */
import { createHash } from 'node:crypto';
import { ByteReader, ByteWriter } from './bytes.js';
import { encodeEntry, entryAs } from './convert.js';
import { ImageError } from './errors.js';
import { readEntry, writeMagic } from './image.js';
import { IMAGE_KINDS } from './kinds.js';
import { MAX_ENTRIES } from './limits.js';
import { messageType } from './schema/index.js';
import type { NsdExtraEntry, NsdExtraHead } from './types.js';

/** The only nsd-extra format this code reads and writes. */
export const NSD_EXTRA_VERSION = 1;

const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
}

/** Encodes nsd-extra entries with a version and checksum head. */
export function writeNsdExtra(entries: readonly NsdExtraEntry[], producer = 'next-syscall-data'): Uint8Array {
  const body = new ByteWriter();
  const type = messageType('nsd_extra_entry');
  for (const e of entries) {
    const b = encodeEntry(type, e);
    body.u32(b.byteLength);
    body.bytes(b);
  }
  const bodyBytes = body.finish();
  const head: NsdExtraHead = {
    format_version: NSD_EXTRA_VERSION,
    entry_count: entries.length,
    sha256: sha256(bodyBytes),
    producer,
  };
  const w = new ByteWriter();
  writeMagic(w, IMAGE_KINDS['nsd-extra']);
  const h = encodeEntry(messageType('nsd_extra_head'), head);
  w.u32(h.byteLength);
  w.bytes(h);
  w.bytes(bodyBytes);
  return w.finish();
}

/** Decodes and verifies an nsd-extra image. Throws ImageError if it is not intact. */
export function readNsdExtra(bytes: Uint8Array, file = '<nsd-extra>'): { head: NsdExtraHead; entries: NsdExtraEntry[] } {
  const spec = IMAGE_KINDS['nsd-extra'];
  const r = new ByteReader(bytes, file);
  const head0 = r.u32('head magic');
  const magic = r.u32('image magic');
  if (head0 !== spec.head || magic !== spec.magic) r.fail('not an nsd-extra image (bad magic)', 0);
  const head = entryAs<NsdExtraHead>(readEntry(r, 'nsd_extra_head', 0));
  if (head.format_version !== NSD_EXTRA_VERSION) {
    r.fail(`unsupported nsd-extra format_version ${head.format_version} (this reader knows ${NSD_EXTRA_VERSION})`);
  }
  if (head.entry_count > MAX_ENTRIES) r.fail(`entry_count ${head.entry_count} exceeds limit`);
  const bodyAt = r.offset;
  if (!sameBytes(sha256(bytes.subarray(bodyAt)), head.sha256)) r.fail('SHA-256 of entries does not match the head');
  const entries: NsdExtraEntry[] = [];
  while (r.remaining > 0) {
    if (entries.length >= head.entry_count) r.fail(`more entries than entry_count ${head.entry_count}`);
    entries.push(entryAs<NsdExtraEntry>(readEntry(r, 'nsd_extra_entry', entries.length + 1)));
  }
  if (entries.length !== head.entry_count) {
    throw new ImageError(file, r.offset, `entry_count ${head.entry_count} but ${entries.length} entries`);
  }
  return { head, entries };
}
