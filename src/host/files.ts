/**
 * Design note: the images of a restore as the host backend reads them. Every image but the shm
 * pages images is read into memory (src/cli/files.ts readBytes) and decoded by Node; the pages
 * images — nearly all of a dump's bytes — are left in the directory, and the agent reads each
 * straight into its segment (OP_SHMFILE: one copy, page cache to shm, instead of file → Node →
 * pipe → agent → shm). The manifest's check of them is split: their sizes are checked with the
 * other images' before anything is created; their SHA-256 digests by the agent, over the bytes it
 * put in the segment (libcrypto's, loaded at run time), each compared by Node with the manifest's
 * when the answer comes back — so what is checked is exactly what was restored, whatever happens
 * to the file meanwhile. A failed check fails the restore, which kills the agent and the new
 * namespaces with it. An agent without libcrypto says so in its hello: then the pages images are
 * read into memory like the others (loadRestoreImages).
 */
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ImageError } from '../cr/image/index.js';
import { checkListed, MANIFEST, type OutsideImages } from '../cr/manifest.js';
import { imageEntry, readBytes } from '../cli/files.js';
import type { Agent } from './agent.js';

/** Pages images left in a directory for the agent (see the design note). */
export interface PagesFiles extends OutsideImages {
  /** The directory, absolute (the agent opens the files by path). */
  dir: string;
}

const PAGES = /^pages-\d+\.img$/;

/**
 * The images of a directory for a host restore: every *.img and the manifest read into memory,
 * but, with `leavePages`, the pages images, left there (PagesFiles). Throws when the directory
 * holds no image.
 */
export function readRestoreDir(dir: string, leavePages = true): { images: Map<string, Uint8Array>; pages?: PagesFiles } {
  const abs = resolve(dir);
  const names = readdirSync(abs).filter((n) => n.endsWith('.img') || n === MANIFEST).sort();
  if (names.length === 0) throw new Error(`${dir}: no images (*.img)`);
  const images = new Map<string, Uint8Array>();
  const sizes = new Map<string, number>();
  for (const n of names) {
    if (!leavePages || !PAGES.test(n)) {
      images.set(n, readBytes(join(abs, n)));
      continue;
    }
    const st = statSync(join(abs, n));
    if (!st.isFile()) throw new ImageError(n, 0, 'not a regular file');
    sizes.set(n, st.size);
  }
  return { images, ...(leavePages ? { pages: { dir: abs, sizes, pending: [] } } : {}) };
}

/**
 * readRestoreDir for the agent `starting` (started before, its start overlapping the reading): the
 * pages images are left in the directory when the agent can hash them (Agent.sha256), else read.
 */
export async function loadRestoreImages(dir: string, starting: Promise<Agent>): Promise<{ images: Map<string, Uint8Array>; pages?: PagesFiles }> {
  const read = readRestoreDir(dir);
  const agent = await starting.catch(() => undefined); // its failure is reported by whoever awaits it next
  if (agent?.sha256 !== false) return read;
  for (const name of read.pages!.sizes.keys()) read.images.set(name, readBytes(join(read.pages!.dir, name)));
  return { images: read.images };
}

/**
 * The pending digests of pages images no OP_SHMFILE will read (no segment's runs name them):
 * checked here, by reading them, so that every image the manifest lists is checked. Throws
 * ImageError naming the file.
 */
export function checkUnread(pages: PagesFiles, read: ReadonlySet<string>): void {
  for (const e of pages.pending) {
    if (read.has(e.name)) continue;
    const got = imageEntry(pages.dir, e.name);
    checkListed(e, got.size, () => got.sha256);
  }
}
