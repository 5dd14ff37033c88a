/**
 * Private anonymous memory in the default dump (issue 13 §1): pagemap-<pid>.img + pages-<id>.img,
 * CRIU's layout, not bytes in nsd-extra.img; images written the old way (the bytes in the mm
 * entry) still restore.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, constants as C } from '../../src/index.js';
import { dump, restore } from '../../src/cr/index.js';
import { checkpointToImages, imagesToCheckpoint, TASKS_EXTRA } from '../../src/cr/images.js';
import { MANIFEST, writeManifest } from '../../src/cr/manifest.js';
import { readImage, readNsdExtra, writeImage, PE_PRESENT, type PagemapEntry, type PagemapHead } from '../../src/cr/image/index.js';

const PAGE = 4096;

/** A container whose root has a 16-page private mapping: pages 0, 1, 5 hold bytes, page 3 was written with zeros. */
function container(): { k: Kernel; pid: number; addr: number; want: Uint8Array } {
  const k = new Kernel();
  const pid = k.init.sys.clone(C.CLONE_NEWPID | C.CLONE_NEWIPC | C.SIGCHLD);
  const c = k.task(pid)!;
  const addr = c.sys.mmap(0, 16 * PAGE, 3, 0x22);
  const want = new Uint8Array(16 * PAGE);
  want.fill(0xab, 0, 2 * PAGE);
  want[5 * PAGE + 17] = 9;
  c.memory.write(addr, want.subarray(0, 6 * PAGE));
  return { k, pid, addr, want };
}

function restoredMemory(k: Kernel, images: Map<string, Uint8Array>, addr: number): Uint8Array {
  const r = restore(k, images);
  return k.task(r.rootVpid)!.memory.read(addr, 16 * PAGE);
}

test('the default dump writes private memory as pagemap/pages images, and the restore reads it back', () => {
  const { k, pid, addr, want } = container();
  const d = dump(k, pid);
  k.init.sys.wait4(pid, 0);
  const pm = readImage(d.images.get('pagemap-1.img')!, 'pagemap').entries;
  const head = pm[0] as PagemapHead;
  const runs = (pm.slice(1) as PagemapEntry[]).map((e) => [Number(e.vaddr) - addr, Number(e.nr_pages), e.flags]);
  // Pages 0–1 and 5 hold bytes; page 3 (zeros) and the rest are holes.
  assert.deepEqual(runs, [[0, 2, PE_PRESENT], [5 * PAGE, 1, PE_PRESENT]]);
  assert.equal(d.images.get(`pages-${head.pages_id}.img`)!.length, 3 * PAGE);
  const mm = readNsdExtra(d.images.get(TASKS_EXTRA)!).entries.find((e) => e.section === 'mm')!;
  assert.match(mm.json!, /"kind":"anon"[^}]*"data":null/);
  assert.ok(!mm.json!.includes('"u8"'), 'no page bytes in nsd-extra.img');
  assert.deepEqual(restoredMemory(k, d.images, addr), want);
});

test('images with the memory in nsd-extra.img (as dumps before the pagemap default wrote them) still restore', () => {
  const { k, pid, addr, want } = container();
  const d = dump(k, pid);
  k.init.sys.wait4(pid, 0);
  // The decoded checkpoint holds the bytes in the mapping; encoded as is, they go into the mm entry.
  const old = checkpointToImages(imagesToCheckpoint(d.images));
  assert.ok(![...old.keys()].some((n) => n.startsWith('pagemap-1')), 'the old layout has no pagemap');
  assert.match(readNsdExtra(old.get(TASKS_EXTRA)!).entries.find((e) => e.section === 'mm')!.json!, /"\$t":"u8"/);
  assert.deepEqual(restoredMemory(k, old, addr), want);
});

test('a pagemap whose runs are out of order is read page by page, with the same result', () => {
  const { k, pid, addr, want } = container();
  const d = dump(k, pid);
  k.init.sys.wait4(pid, 0);
  const [head, ...runs] = readImage(d.images.get('pagemap-1.img')!, 'pagemap').entries as [PagemapHead, ...PagemapEntry[]];
  const name = `pages-${head.pages_id}.img`;
  const pages = d.images.get(name)!;
  // The run of page 5 first, then pages 0–1: the pages file in the same order.
  const images = new Map(d.images);
  images.set('pagemap-1.img', writeImage('pagemap', [head, runs[1]!, runs[0]!]));
  const swapped = new Uint8Array(pages.length);
  swapped.set(pages.subarray(2 * PAGE), 0);
  swapped.set(pages.subarray(0, 2 * PAGE), PAGE);
  images.set(name, swapped);
  images.set(MANIFEST, writeManifest(images));
  assert.deepEqual(imagesToCheckpoint(images).mms[0]!.maps.find((m) => m.kind === 'anon')!.data, want);
  assert.deepEqual(restoredMemory(k, images, addr), want);
});

test('zeroCopy: a private mapping written as one block has that block as its pages image; leaveRunning gets a copy', () => {
  for (const leaveRunning of [false, true]) {
    const k = new Kernel();
    const pid = k.init.sys.clone(C.CLONE_NEWPID | C.CLONE_NEWIPC | C.SIGCHLD);
    const c = k.task(pid)!;
    const addr = c.sys.mmap(0, 4 * PAGE, 3, 0x22);
    c.memory.write(addr, new Uint8Array(4 * PAGE).fill(0x11));
    const block = k.mm(k.t(c.kid).mm).maps.find((m) => m.kind === 'anon')!.pages.get(addr / PAGE)!.buffer;
    const d = dump(k, pid, { zeroCopy: true, leaveRunning });
    const head = readImage(d.images.get('pagemap-1.img')!, 'pagemap').entries[0] as PagemapHead;
    const pages = d.images.get(`pages-${head.pages_id}.img`)!;
    assert.equal(pages.length, 4 * PAGE);
    assert.equal(pages.buffer === block, !leaveRunning, `leaveRunning ${leaveRunning}`);
    assert.ok(pages.every((b) => b === 0x11));
  }
});
