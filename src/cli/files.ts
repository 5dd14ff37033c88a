/**
 * Reading image files on the host. An image is read into memory once and handed on as a plain
 * Uint8Array view of that memory: not copied again (a `new Uint8Array(buffer)` copy, zero-filled
 * first, took as long as the reading itself for a 7 MiB dump), and not a Buffer, whose methods
 * differ from Uint8Array's (slice shares, toString decodes) where the image codecs expect the
 * Uint8Array ones.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { ManifestEntry } from '../cr/manifest.js';

/**
 * The bytes of a file, as a plain Uint8Array (see above) that owns its memory: a small file, which
 * Node reads into a slice of its shared buffer pool, is copied out of it, so that whoever adopts
 * the bytes (a restore taking shm contents without a copy) never shares memory with another file.
 */
export function readBytes(path: string): Uint8Array {
  const b = readFileSync(path);
  if (b.byteOffset !== 0 || b.buffer.byteLength !== b.byteLength) return new Uint8Array(b);
  return new Uint8Array(b.buffer, 0, b.byteLength);
}

let chunk: Buffer | undefined;

/**
 * The manifest entry of an image already in a directory (written there by the host agent): size
 * and SHA-256, read through one reused 1 MiB buffer rather than into memory of its own.
 */
export function imageEntry(dir: string, name: string): ManifestEntry {
  const fd = openSync(join(dir, name), 'r');
  try {
    chunk ??= Buffer.allocUnsafe(1 << 20);
    const h = createHash('sha256');
    let size = 0;
    for (let n; (n = readSync(fd, chunk, 0, chunk.length, null)) > 0;) {
      h.update(chunk.subarray(0, n));
      size += n;
    }
    return { name, size, sha256: h.digest('hex') };
  } finally {
    closeSync(fd);
  }
}
