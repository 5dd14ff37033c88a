/**
 * Hostile and corrupt images: every truncation and random byte flips of the
 * shared dump's images, plus hand-made attacks (huge lengths and counts, bad
 * magics, sizes that do not add up, wrong checksums). Each must either decode
 * or be refused with an ImageError: never another exception, a hang or a
 * large allocation. fast-check runs are seeded so failures reproduce.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  detectImageKind,
  type Entry,
  IMAGE_KINDS,
  IMG_COMMON_MAGIC,
  CRIU_MAGICS,
  ImageError,
  type ImageKindName,
  readImage,
  readNsdExtra,
  readShmemContents,
  showImage,
  writeImage,
  writeNsdExtra,
  writeShmemContents,
} from '../../../src/cr/image/index.js';
import { encodeEntry } from '../../../src/cr/image/convert.js';
import { messageType } from '../../../src/cr/image/schema/index.js';
import { DUMP_SKIP, dumpImages, readDump } from './fixtures.js';

/** Decodes (and shows) an image; returns 'ok' or 'refused', rethrows anything else. */
function attempt(name: string, bytes: Uint8Array, kind?: ImageKindName): 'ok' | 'refused' {
  try {
    if (kind !== undefined) readImage(bytes, kind, { file: name });
    else showImage(bytes, name);
    return 'ok';
  } catch (e) {
    if (e instanceof ImageError) return 'refused';
    throw e;
  }
}

const images = (): { name: string; bytes: Uint8Array; kind: ImageKindName }[] =>
  dumpImages()
    .filter((n) => !n.startsWith('pages-'))
    .map((name) => {
      const bytes = readDump(name);
      return { name, bytes, kind: detectImageKind(name, bytes) as ImageKindName };
    });

test('every truncation is refused with ImageError (or is a clean entry boundary)', { skip: DUMP_SKIP }, () => {
  for (const { name, bytes, kind } of images()) {
    for (let n = 0; n < bytes.byteLength; n++) {
      const r = attempt(name, bytes.subarray(0, n), kind);
      // A cut right between two entries is a valid, shorter image.
      if (r === 'ok') assert.ok(n >= (kind === 'inventory' ? 4 : 8), `${name} cut at ${n} decoded without magics`);
    }
  }
});

test('random byte flips decode or are refused with ImageError', { skip: DUMP_SKIP }, () => {
  const all = images();
  fc.assert(
    fc.property(
      fc.nat({ max: all.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 }),
      (which, flips) => {
        const { name, bytes } = all[which]!;
        const copy = new Uint8Array(bytes);
        for (const [at, x] of flips) copy[at % copy.byteLength]! ^= x;
        attempt(name, copy);
      },
    ),
    { seed: 42, numRuns: 300 },
  );
});

test('random bytes after valid magics decode or are refused', () => {
  fc.assert(
    fc.property(
      fc.constantFrom<ImageKindName>('ipcns-msg', 'ipcns-sem', 'ipcns-shm', 'pstree', 'pagemap-shmem', 'pipes-data'),
      fc.uint8Array({ maxLength: 200 }),
      (kind, tail) => {
        const head = writeImage(kind, []);
        const bytes = new Uint8Array(head.byteLength + tail.byteLength);
        bytes.set(head);
        bytes.set(tail, head.byteLength);
        attempt(`${kind}.img`, bytes, kind);
      },
    ),
    { seed: 42, numRuns: 300 },
  );
});

function framed(kind: ImageKindName, ...words: (number | Uint8Array)[]): Uint8Array {
  const parts = [writeImage(kind, []), ...words.map((w) => (typeof w === 'number' ? u32(w) : w))];
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}
const u32 = (v: number): Uint8Array => new Uint8Array(new Uint32Array([v]).buffer);
/** One framed entry {u32 length, protobuf} of the kind's entry message. */
function entry(kind: ImageKindName, e: object): Uint8Array {
  const body = encodeEntry(messageType(IMAGE_KINDS[kind].entryType), e as Entry);
  return Uint8Array.from([...u32(body.byteLength), ...body]);
}

function refused(bytes: Uint8Array, kind: ImageKindName, reason: RegExp): void {
  assert.throws(
    () => readImage(bytes, kind, { file: 'x.img' }),
    (e: unknown) => e instanceof ImageError && reason.test(e.reason) && e.file === 'x.img',
  );
}

const desc = { key: 1, uid: 0, gid: 0, cuid: 0, cgid: 0, mode: 0o600, id: 0 };

test('hostile framing is refused with a clear reason', () => {
  refused(Uint8Array.from([1, 2, 3]), 'pstree', /truncated head magic/);
  refused(framed('pstree').fill(0, 0, 4), 'pstree', /bad head magic/);
  refused(Uint8Array.from([...u32(IMG_COMMON_MAGIC), ...u32(CRIU_MAGICS.IDS)]), 'pstree', /bad pstree magic/);
  refused(framed('pstree', 0xffffffff), 'pstree', /exceeds limit/);
  refused(framed('pstree', 1000, 1, 2), 'pstree', /truncated entry 0/);
  refused(framed('pstree', 2, Uint8Array.from([0x08, 0x01])), 'pstree', /invalid pstree_entry: missing required/);
  refused(framed('pstree', 2, Uint8Array.from([0x0f, 0x01])), 'pstree', /invalid pstree_entry/);
  refused(framed('pagemap-shmem'), 'pagemap-shmem', /missing pagemap_head/);
});

test('payload counts beyond limits or beyond the file are refused before allocating', () => {
  const msgq = entry('ipcns-msg', { desc, qbytes: 0, qnum: 0xffffffff });
  refused(framed('ipcns-msg', msgq), 'ipcns-msg', /qnum 4294967295 exceeds limit/);
  const msgq2 = entry('ipcns-msg', { desc, qbytes: 0, qnum: 2 });
  refused(framed('ipcns-msg', msgq2), 'ipcns-msg', /truncated message 0 header length/);
  const sem = entry('ipcns-sem', { desc, nsems: 0xffffffff });
  refused(framed('ipcns-sem', sem), 'ipcns-sem', /nsems .* exceeds limit/);
  const sem2 = entry('ipcns-sem', { desc, nsems: 60000 });
  refused(framed('ipcns-sem', sem2), 'ipcns-sem', /truncated semaphore values/);
  const shm = entry('ipcns-shm', { desc, size: 1n << 62n });
  refused(framed('ipcns-shm', shm), 'ipcns-shm', /truncated shm contents/);
});

test('a message whose msize runs past the file is refused', () => {
  const w = writeImage('ipcns-msg', [{ desc, qbytes: 64, qnum: 1 }], [
    { kind: 'ipc-msg', messages: [{ mtype: 1n, msize: 5, body: Uint8Array.from([1, 2, 3, 4, 5]) }] },
  ]);
  assert.equal(attempt('m.img', w, 'ipcns-msg'), 'ok');
  refused(w.subarray(0, w.byteLength - 3), 'ipcns-msg', /truncated message 0 padding/);
  refused(w.subarray(0, w.byteLength - 4), 'ipcns-msg', /truncated message 0 body/);
});

test('writers refuse data that does not fit', () => {
  assert.throws(() => writeImage('pstree', [{ pid: 1 }]), TypeError);
  assert.throws(() => writeImage('ipcns-shm', [{ desc, size: -1n }], [null]), /does not fit uint64/);
  assert.throws(
    () => writeImage('ipcns-msg', [{ desc, qbytes: 0, qnum: 2 }], [{ kind: 'ipc-msg', messages: [] }]),
    /qnum 2 but 0 messages/,
  );
  assert.throws(() => writeImage('ipcns-sem', [{ desc, nsems: 2 }], [{ kind: 'ipc-sem', values: [1] }]), /nsems/);
});

test('shm pagemap runs must match the segment and the pages file', () => {
  const data = new Uint8Array(3 * 4096);
  data[5] = 1;
  data[2 * 4096 + 7] = 9;
  const { pagemap, pages } = writeShmemContents(data, 7);
  assert.equal(pages.byteLength, 2 * 4096); // the all-zero middle page is left out
  assert.deepEqual(readShmemContents(pagemap, pages, data.byteLength), data);
  assert.throws(() => readShmemContents(pagemap, pages.subarray(4096), data.byteLength), ImageError);
  assert.throws(() => readShmemContents(pagemap, new Uint8Array(3 * 4096), data.byteLength), ImageError);
  assert.throws(() => readShmemContents(pagemap, pages, 4096), /outside a 4096-byte segment/);
  assert.throws(() => readShmemContents(pagemap, pages, 1n << 40n), /exceeds limit/);
});

test('nsd-extra images carry a version and a checksum that are enforced', () => {
  const img = writeNsdExtra([
    { section: 'ipc/sem', key: '65547', json: '{"otime":1795758003}' },
    { section: 'task', key: '23', blob: Uint8Array.from([1, 2, 3]) },
  ]);
  const back = readNsdExtra(img);
  assert.equal(back.head.format_version, 1);
  assert.equal(back.entries[1]!.key, '23');
  assert.deepEqual(back.entries[1]!.blob, Uint8Array.from([1, 2, 3]));
  const flipped = new Uint8Array(img);
  flipped[flipped.byteLength - 1]! ^= 1;
  assert.throws(() => readNsdExtra(flipped, 'nsd-extra-1.img'), /SHA-256 of entries does not match/);
  assert.throws(() => readNsdExtra(img.subarray(0, img.byteLength - 1)), /SHA-256/);
  assert.throws(() => readNsdExtra(Uint8Array.from([...u32(IMG_COMMON_MAGIC), ...img.subarray(4)])), /bad magic/);
  fc.assert(
    fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), (at, x) => {
      const copy = new Uint8Array(img);
      copy[at % copy.byteLength]! ^= x;
      try {
        readNsdExtra(copy);
      } catch (e) {
        if (!(e instanceof ImageError)) throw e;
      }
    }),
    { seed: 42, numRuns: 300 },
  );
});
