/**
 * Issue 9 A1: every image a dump wrote must be present and intact, or the restore is refused naming
 * the file — the CRIU-format images included, through the manifest (nsd-manifest.json) every dump
 * writes. A directory without a manifest is taken only as a CRIU dump (--ipc-only).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dump, restore, restoreIpcOnly, MANIFEST, verifyManifest, writeManifest } from '../../src/cr/index.js';
import { Kernel } from '../../src/index.js';
import { bootWl, startContainer, type Op } from './workload.js';
import { DUMP_SKIP, dumpImages, readDump } from './image/fixtures.js';
import './workload-ipc.js';

const OPS: Op[] = [
  ['open', '/log', 'log'], ['pipe', 'r', 'w'], ['mmap', 'm', 4096], ['ipc', 'setup'], ['ipc', 'msgsnd'],
  ['fork', [['ipc', 'down', 1], ['ipc', 'msgrcv'], ['read', 'r', 1]]],
  ['sleep', 500000], ['wait'],
];

function dumped(): { k: Kernel; images: Map<string, Uint8Array> } {
  const k = bootWl();
  const root = startContainer(k, OPS, true);
  k.run({ maxSteps: 25 });
  const d = dump(k, root.pid);
  k.init.sys.wait4(root.pid, 0);
  return { k, images: d.images };
}

function refused(k: Kernel, images: Map<string, Uint8Array>, name: RegExp, what: string): void {
  const before = k.snapshot();
  assert.throws(() => restore(k, images, { strategy: 'nsd' }), (e: Error) => name.test(e.message), what);
  assert.deepEqual(k.snapshot(), before, `${what}: the kernel changed`);
}

test('a dump writes a manifest listing every image with its size and SHA-256', () => {
  const { images } = dumped();
  const m = JSON.parse(new TextDecoder().decode(images.get(MANIFEST)!)) as { format: string; images: { name: string; size: number; sha256: string }[] };
  assert.equal(m.format, 'nsd-manifest/1');
  assert.deepEqual(m.images.map((e) => e.name), [...images.keys()].filter((n) => n !== MANIFEST).sort());
  assert.ok(m.images.some((e) => e.name === 'nsd-extra-1.img'), 'the IPC extra image is listed');
  assert.ok(m.images.some((e) => e.name === 'pstree.img'), 'CRIU-format images are listed');
  for (const e of m.images) assert.equal(e.size, images.get(e.name)!.length, e.name);
  assert.equal(verifyManifest(images), true);
});

test('a deleted, renamed, truncated, flipped or extra image is refused naming the file; the kernel is untouched', () => {
  const { k, images } = dumped();
  const names = [...images.keys()].filter((n) => n !== MANIFEST);
  assert.ok(names.includes('nsd-extra-1.img'));
  for (const name of names) {
    const gone = new Map(images);
    gone.delete(name);
    refused(k, gone, new RegExp(`${name.replace(/\./g, '\\.')}.*missing`), `${name} deleted`);
    const renamed = new Map(gone);
    renamed.set(name.replace('.img', '-old.img'), images.get(name)!);
    refused(k, renamed, new RegExp(`${name.replace(/\./g, '\\.')}.*missing`), `${name} renamed`);
    const cut = new Map(images);
    const len = images.get(name)!.length;
    cut.set(name, len > 0 ? images.get(name)!.subarray(0, len - 1) : new Uint8Array(1));
    refused(k, cut, new RegExp(`${name.replace(/\./g, '\\.')}.*the manifest says`), `${name} truncated`);
    if (len === 0) continue;
    const flipped = new Map(images);
    const b = images.get(name)!.slice();
    b[b.length >> 1]! ^= 0x10;
    flipped.set(name, b);
    refused(k, flipped, new RegExp(`${name.replace(/\./g, '\\.')}.*SHA-256 does not match`), `${name} flipped`);
  }
  const extra = new Map(images);
  extra.set('ids-99.img', images.get('ids-1.img')!);
  refused(k, extra, /ids-99\.img.*not in the manifest/, 'an extra image');
  const noManifest = new Map(images);
  noManifest.delete(MANIFEST);
  refused(k, noManifest, /nsd-manifest\.json.*incomplete dump/, 'manifest deleted');
  const badManifest = new Map(images);
  badManifest.set(MANIFEST, new TextEncoder().encode('{"format": "nsd-manifest/1", "images": [}'));
  refused(k, badManifest, /nsd-manifest\.json.*not a manifest/, 'manifest corrupted');
  // A manifest re-made to cover a changed image does not hide it: the image's own checks apply.
  const resigned = new Map(images);
  resigned.set('pstree.img', new Uint8Array(images.get('pstree.img')!.length));
  resigned.set(MANIFEST, writeManifest(resigned));
  refused(k, resigned, /pstree\.img/, 'pstree.img zeroed, manifest re-made');
  // Intact, it restores.
  assert.ok(restore(k, images, { strategy: 'nsd' }).rootPid > 0);
});

test('a CRIU dump (no manifest) is refused for a full restore with a hint, accepted by the manifest check', { skip: DUMP_SKIP }, () => {
  const images = new Map(dumpImages().map((n) => [n, readDump(n)] as [string, Uint8Array]));
  assert.equal(verifyManifest(images), false);
  const k = new Kernel();
  const before = k.snapshot();
  assert.throws(() => restore(k, images), (e: Error) => /CRIU images/.test(e.message) && /--ipc-only/.test(e.message) && !/nsd-extra\.img@0/.test(e.message));
  assert.deepEqual(k.snapshot(), before);
});

test('a CRIU dump missing a pages-N.img is refused under --ipc-only naming that file (issue 9 C20)', { skip: DUMP_SKIP }, () => {
  const images = new Map(dumpImages().map((n) => [n, readDump(n)] as [string, Uint8Array]));
  images.delete('pages-24.img');
  const k = new Kernel();
  const before = k.snapshot();
  assert.throws(() => restoreIpcOnly(k, images, { ns: 10 }), (e: Error) => /pages-24\.img@0: missing image \(pagemap-shmem-\d+\.img of shm \d+ names it\)/.test(e.message));
  assert.deepEqual(k.snapshot(), before);
});
