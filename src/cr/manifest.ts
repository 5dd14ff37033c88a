/**
 * Design note: the manifest of a checkpoint, `nsd-manifest.json`, written by every dump next to
 * its images: the name, size and SHA-256 of each image the dump wrote, the CRIU-format ones
 * included (they carry no checksum of their own, to stay byte-compatible with CRIU). A restore
 * checks it before anything is created: every listed image must be present with its size and
 * digest, and an image the manifest does not list is refused too (a leftover of another dump, a
 * copy, a rename: restoring it would mix checkpoints). A directory without a manifest is accepted
 * only when it holds no image of this project (a real CRIU dump, restorable with --ipc-only);
 * nsd-extra images without a manifest are an incomplete dump.
 *
 * The manifest is JSON text, one image per line, sorted by name, so `cat` shows it and the same
 * images always give the same bytes.
 */
import { createHash } from 'node:crypto';
import { ImageError } from './image/index.js';

export const MANIFEST = 'nsd-manifest.json';
const FORMAT = 'nsd-manifest/1';
/** Image names, and `parent` (a pre-dump round's link to the previous round, pagemap.ts). */
const NAME = /^(?:[A-Za-z0-9._-]{1,200}\.img|parent)$/;
/** How a pre-dump chain arrives as one set: each parent round's images under one more `parent/`. */
const LEVEL = /^((?:parent\/)*)(.*)$/s;

export interface ManifestEntry {
  name: string;
  size: number;
  sha256: string;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * The manifest of an image set (every entry but a manifest itself), and of the images in `written`
 * (already in the directory, hashed by whoever wrote or read them there).
 */
export function writeManifest(images: ReadonlyMap<string, Uint8Array>, written: readonly ManifestEntry[] = []): Uint8Array {
  const entries: ManifestEntry[] = [...images]
    .filter(([name]) => name !== MANIFEST)
    .map(([name, bytes]) => ({ name, size: bytes.length, sha256: sha256(bytes) }));
  for (const w of written) {
    if (images.has(w.name) || entries.some((e) => e.name === w.name)) throw new ImageError(w.name, 0, 'listed twice in one manifest');
    entries.push({ name: w.name, size: w.size, sha256: w.sha256 });
  }
  const lines = entries
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((e) => `    ${JSON.stringify(e)}`);
  return new TextEncoder().encode(`{\n  "format": "${FORMAT}",\n  "images": [\n${lines.join(',\n')}\n  ]\n}\n`);
}

function parseManifest(bytes: Uint8Array, prefix = ''): ManifestEntry[] {
  const bad = (why: string): never => {
    throw new ImageError(prefix + MANIFEST, 0, why);
  };
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    return bad(`not a manifest (${e instanceof Error ? e.message : String(e)})`);
  }
  const m = v as { format?: unknown; images?: unknown };
  if (m === null || typeof m !== 'object' || Array.isArray(m)) return bad('not a manifest (not an object)');
  if (m.format !== FORMAT) return bad(`format ${JSON.stringify(m.format)} (this restore knows ${FORMAT})`);
  for (const k of Object.keys(m)) if (k !== 'format' && k !== 'images') bad(`unknown field ${JSON.stringify(k)}`);
  if (!Array.isArray(m.images)) return bad('field images is not a list');
  const names = new Set<string>();
  return m.images.map((e: unknown, i: number): ManifestEntry => {
    const o = e as Record<string, unknown>;
    if (o === null || typeof o !== 'object' || Object.keys(o).sort().join(',') !== 'name,sha256,size') bad(`images[${i}]: not {name, size, sha256}`);
    if (typeof o.name !== 'string' || !NAME.test(o.name)) bad(`images[${i}]: bad image name ${JSON.stringify(o.name)}`);
    if (!Number.isSafeInteger(o.size) || (o.size as number) < 0) bad(`images[${i}]: bad size ${JSON.stringify(o.size)}`);
    if (typeof o.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(o.sha256)) bad(`images[${i}]: bad sha256 ${JSON.stringify(o.sha256)}`);
    if (names.has(o.name as string)) bad(`images[${i}]: ${String(o.name)} listed twice`);
    names.add(o.name as string);
    return { name: o.name as string, size: o.size as number, sha256: o.sha256 as string };
  });
}

/** Whether an image set has images only this project writes (so it must have a manifest). */
export function isNsdDump(images: ReadonlyMap<string, Uint8Array>): boolean {
  return images.has(MANIFEST) || [...images.keys()].some((n) => n.startsWith('nsd-extra'));
}

/**
 * Images of a set left in their directory, not read into memory (a restore's shm pages, which the
 * host agent reads itself): their sizes, by name. The manifest's check of their size is made
 * with the others'; their digests are left to the caller (`pending`), who reads them.
 */
export interface OutsideImages {
  sizes: ReadonlyMap<string, number>;
  /** Filled with the manifest entries of those images, whose digests the caller checks. */
  pending: ManifestEntry[];
}

/**
 * Checks an image set against its manifest. Returns false for a set without one that is not this
 * project's (a CRIU dump: its images carry no checksum), true when every image is verified; throws
 * ImageError naming the file otherwise. A pre-dump chain (the top round, then each parent round's
 * images under `parent/` prefixes) is checked round by round, each against its own manifest.
 * `outside`: images of the top round not in `images` (see OutsideImages).
 */
export function verifyManifest(images: ReadonlyMap<string, Uint8Array>, outside?: OutsideImages): boolean {
  const levels = new Map<string, Map<string, Uint8Array>>();
  for (const [name, bytes] of images) {
    const [, prefix, rest] = LEVEL.exec(name)!;
    let level = levels.get(prefix!);
    if (!level) levels.set(prefix!, (level = new Map()));
    level.set(rest!, bytes);
  }
  if (outside) {
    outside.pending.length = 0;
    if (!levels.has('')) levels.set('', new Map());
  }
  let top = true;
  for (const [prefix, level] of levels) {
    const verified = verifyRound(level, prefix, prefix === '' ? outside : undefined);
    if (prefix === '') top = verified;
    else if (!verified) throw new ImageError(`${prefix}${MANIFEST}`, 0, 'missing: every round of a pre-dump chain has a manifest');
  }
  return top;
}

/**
 * Checks an image against its manifest entry: `size` bytes, and, with `digest` (computed only
 * after the size matched), the SHA-256. Throws ImageError naming the file.
 */
export function checkListed(e: ManifestEntry, size: number, digest?: () => string, prefix = ''): void {
  if (size !== e.size) throw new ImageError(prefix + e.name, 0, `${size} bytes, the manifest says ${e.size}`);
  if (digest && digest() !== e.sha256) throw new ImageError(prefix + e.name, 0, 'SHA-256 does not match the manifest (the image was changed)');
}

function verifyRound(images: ReadonlyMap<string, Uint8Array>, prefix: string, outside?: OutsideImages): boolean {
  const bytes = images.get(MANIFEST);
  if (bytes === undefined) {
    const ours = [...images.keys()].find((n) => n.startsWith('nsd-extra'));
    if (ours !== undefined) throw new ImageError(prefix + MANIFEST, 0, `missing, but ${ours} is there: an incomplete dump (every dump writes a manifest last)`);
    return false;
  }
  const listed = parseManifest(bytes, prefix);
  for (const e of listed) {
    const b = images.get(e.name);
    const size = b?.length ?? outside?.sizes.get(e.name);
    if (size === undefined) throw new ImageError(prefix + e.name, 0, `missing (the manifest lists it: ${e.size} bytes)`);
    checkListed(e, size, b && (() => sha256(b)), prefix);
    if (b === undefined) outside!.pending.push(e);
  }
  const known = new Set(listed.map((e) => e.name));
  for (const name of [...images.keys(), ...(outside?.sizes.keys() ?? [])].sort()) {
    if (name !== MANIFEST && !known.has(name)) throw new ImageError(prefix + name, 0, 'not in the manifest (not written by this dump): remove it or restore from a clean directory');
  }
  return true;
}
