/**
 * DumpOptions.zeroCopy: a segment's pages file is a view of the segment's block of pages when the
 * tree dies with the dump, and a copy whenever something could still write the segment.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, constants as C, type Task } from '../../src/index.js';
import { dump, restore } from '../../src/cr/index.js';

const SIZE = 64 * 4096;

function container(): { k: Kernel; c: Task; id: number; addr: number } {
  const k = new Kernel();
  const c = k.task(k.init.sys.clone(C.CLONE_NEWPID | C.CLONE_NEWIPC | C.SIGCHLD))!;
  const id = c.sys.shmget(0x51, SIZE, C.IPC_CREAT | 0o600);
  const addr = c.sys.shmat(id, 0, 0);
  c.memory.write(addr, new Uint8Array(SIZE).fill(0x5a));
  return { k, c, id, addr };
}

const pagesOf = (images: Map<string, Uint8Array>): Uint8Array => images.get('pages-1.img')!;

test('zeroCopy with the tree killed: the pages image is the segment block itself, and restores', () => {
  const { k, c, id } = container();
  const d = dump(k, c.pid, { zeroCopy: true });
  const pages = pagesOf(d.images);
  assert.equal(pages.length, SIZE);
  assert.ok(pages.byteOffset === 0 && pages.buffer.byteLength === SIZE, 'a view of the one block the write made');
  k.init.sys.wait4(c.pid, 0);
  const r = restore(k, new Map(d.images));
  const t = k.task(r.rootPid)!;
  const at = t.sys.shmat(id, 0, C.SHM_RDONLY);
  assert.ok(t.memory.read(at, SIZE).every((b) => b === 0x5a));
});

test('zeroCopy is not honoured when the tree keeps running or the namespace is shared: the image is a copy', () => {
  for (const how of ['leaveRunning', 'outsider'] as const) {
    const { k, c, addr } = container();
    // 'outsider': the dumped tree is c's child; c stays, in the same IPC namespace, attached.
    const root = how === 'outsider' ? k.taskIn(c, c.sys.fork())! : c;
    const d = dump(k, root.pid, { zeroCopy: true, leaveRunning: how === 'leaveRunning' });
    const before = pagesOf(d.images).slice();
    c.memory.write(addr, new Uint8Array([1, 2, 3]));
    assert.deepEqual(pagesOf(d.images), before, `${how}: a later write does not reach the image`);
    assert.equal(pagesOf(d.images)[0], 0x5a);
  }
});

test('adoptImages: the restored segment takes the pages image as its pages (no copy); without it, a copy', () => {
  for (const adopt of [true, false]) {
    const { k, c, id } = container();
    const d = dump(k, c.pid);
    k.init.sys.wait4(c.pid, 0);
    const pages = pagesOf(d.images);
    const r = restore(k, new Map(d.images), { adoptImages: adopt });
    const t = k.task(r.rootPid)!;
    const at = t.sys.shmat(id, 0, 0);
    assert.ok(t.memory.read(at, SIZE).every((b) => b === 0x5a), `adopt ${adopt}: contents`);
    // A write to the restored segment lands in the image's bytes exactly when they were handed over.
    t.memory.write(at, new Uint8Array([7]));
    assert.equal(pages[0], adopt ? 7 : 0x5a, `adopt ${adopt}`);
  }
});

test('adoptImages with an all-zero page among the contents: copied, not adopted, and the same memory', () => {
  const { k, c, id, addr } = container();
  c.memory.write(addr + 4096, new Uint8Array(4096));
  const d = dump(k, c.pid);
  k.init.sys.wait4(c.pid, 0);
  const r = restore(k, new Map(d.images), { adoptImages: true });
  const t = k.task(r.rootPid)!;
  const got = t.memory.read(t.sys.shmat(id, 0, 0), SIZE);
  const want = new Uint8Array(SIZE).fill(0x5a);
  want.fill(0, 4096, 8192);
  assert.deepEqual(got, want);
  t.memory.write(t.sys.shmat(id, 0, 0), new Uint8Array([7]));
  assert.ok(pagesOf(d.images).every((b) => b === 0x5a), 'the images are untouched');
});
