/**
 * Lazy (post-copy) restore (issue 10 §3, the mm side): a userfaultfd-like registration leaves pages
 * missing, a fault parks the faulting task (as data: it survives snapshot/fromState), a page source
 * serves it (UFFDIO_COPY wakes the task) and pushes the rest in the background; `cr restore
 * --lazy-pages` in the model; the output equals an uninterrupted run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WouldBlockError } from '../../src/abi/errno.js';
import { dump, restore, CrError } from '../../src/cr/index.js';
import { ImagePageSource, serveLazy } from '../../src/cr/lazy.js';
import { MANIFEST, writeManifest } from '../../src/cr/manifest.js';
import { PE_LAZY, PE_PRESENT, readImage, writeImage, pagemapFlags, type PagemapEntry } from '../../src/cr/image/index.js';
import { SIGBUS } from '../../src/abi/constants.js';
import { uffdCopy, uffdFaults, uffdMissing, uffdRegister } from '../../src/kernel/mm/uffd.js';
import { Kernel } from '../../src/index.js';
import { Session } from '../../src/cli/session.js';
import { bootWl, readLog, startContainer, WL, type Op } from './workload.js';
import { boot, expectErrno } from '../helpers.js';

const PAGE = 4096;

const OPS: Op[] = [
  ['open', '/log', 'log'], ['mmap', 'm', 8 * PAGE], ['poke', 'm', 10, 'one'], ['poke', 'm', 3 * PAGE + 5, 'three'], ['poke', 'm', 7 * PAGE, 'seven'],
  ['sleep', 2e9],
  ['peek', 'm', 10, 3], ['peek', 'm', 3 * PAGE + 5, 5], ['log', 'middle'], ['peek', 'm', 7 * PAGE, 5], ['peek', 'm', 5 * PAGE, 2], ['log', 'done'], ['exit', 0],
];

function uninterrupted(): string {
  const k = bootWl();
  startContainer(k, OPS, false);
  k.run();
  return readLog(k);
}

/** Runs the container until it sleeps, dumps it with its private pages marked lazy (criu dump --lazy-pages); returns the images. */
function dumped(): Map<string, Uint8Array> {
  const k = bootWl();
  const root = startContainer(k, OPS, false);
  k.run({ until: () => root.state.blocked?.call.name === 'nanosleep' });
  return dump(k, root.pid, { withFs: true, memory: { parent: null, trackMem: false, lazy: true } }).images;
}

test('uffd: a missing page blocks the access before anything changes; UFFDIO_COPY fills it and wakes; EEXIST after', () => {
  const k = boot();
  const t = k.task(k.init.sys.fork())!;
  const a = t.sys.mmap(0, 2 * PAGE, 3, 0x22);
  const uffd = uffdRegister(k, k.mm(t.state.mm), [a / PAGE + 1]);
  assert.equal(t.memory.read(a, 4).length, 4, 'a page that is not missing reads as usual');
  assert.throws(() => t.memory.read(a + PAGE + 8, 4), (e: unknown) => e instanceof WouldBlockError && e.wchan === `uffd:${t.state.mm}:${a / PAGE + 1}`);
  assert.throws(() => k.init.sys.process_vm_writev(t.pid, a + PAGE - 2, new Uint8Array([1, 2, 3, 4])), WouldBlockError);
  assert.equal(t.memory.read(a + PAGE - 2, 2).every((x) => x === 0), true, 'the blocked write changed nothing');
  assert.deepEqual(uffdMissing(k, uffd), [{ mm: t.state.mm, vaddr: a + PAGE }]);
  const page = new Uint8Array(PAGE);
  page[8] = 42;
  uffdCopy(k, t.state.mm, a + PAGE, page);
  assert.equal(t.memory.read(a + PAGE + 8, 1)[0], 42);
  expectErrno(() => uffdCopy(k, t.state.mm, a + PAGE, page), 'EEXIST');
  expectErrno(() => uffdCopy(k, t.state.mm, a + 1, page), 'EINVAL');
  expectErrno(() => uffdCopy(k, t.state.mm, 0x1000, page), 'ENOENT');
  assert.deepEqual(uffdMissing(k, uffd), []);
});

test('lazy restore: faults park the task (surviving snapshot/fromState), the page source serves them; the log equals an uninterrupted run', () => {
  const want = uninterrupted();
  const images = dumped();
  let k = bootWl();
  const r = restore(k, images, { lazyPages: true });
  assert.equal(r.lazy.size, 1);
  const uffd = r.lazy.get(1)!;
  assert.equal(uffdMissing(k, uffd).length, 3, 'the three written pages are missing; holes are not');
  const source = new ImagePageSource(images);
  let faults = 0;
  for (let i = 0; i < 20 && uffdMissing(k, uffd).length > 0; i++) {
    k.run();
    const pending = uffdFaults(k, uffd);
    if (pending.length === 0) continue;
    faults += pending.length;
    // The parked fault is data: a copy of the kernel still has it, and serving it there works too.
    k = Kernel.fromState(k.snapshot(), { programs: k.programs.values() });
    assert.deepEqual(uffdFaults(k, uffd).map((f) => f.vaddr), pending.map((f) => f.vaddr));
    assert.equal(serveLazy(k, r.lazy, source, 0).served, pending.length);
  }
  k.run();
  assert.equal(faults, 3, 'each page arrived through a fault (no background push)');
  assert.equal(readLog(k), want);
});

test('lazy restore: the background push fills every page without a fault; a tree with missing pages cannot be dumped', () => {
  const want = uninterrupted();
  const images = dumped();
  const k = bootWl();
  const r = restore(k, images, { lazyPages: true });
  assert.throws(() => dump(k, r.rootPid), (e: unknown) => e instanceof CrError && /pages still missing/.test(e.message));
  const round = serveLazy(k, r.lazy, new ImagePageSource(images), 2);
  assert.deepEqual(round, { served: 0, pushed: 2, remaining: 1 });
  assert.deepEqual(serveLazy(k, r.lazy, new ImagePageSource(images), 2), { served: 0, pushed: 1, remaining: 0 });
  k.run();
  assert.equal(readLog(k), want);
});

test('cr restore --lazy-pages in the model serves faults and pushes the rest; the log equals an uninterrupted run', () => {
  const want = uninterrupted();
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const s = new Session({ stdout: (b) => out.push(b.slice()), stderr: (b) => err.push(b.slice()) });
  s.kernel.installProgram(WL);
  const ops = JSON.stringify(OPS);
  s.start(['/bin/sh', '-c', `
mkdir /img
unshare --pid --fork /bin/wl '${ops}' &
sleep 1
c=$(cat /proc/$!/task/$!/children)
cr dump -t $c -D /img --track-mem --lazy-pages || exit 9
cr restore -D /img --lazy-pages -v; echo "restore: $?"
cat /log
`]);
  const status = s.runToEnd();
  const text = Buffer.concat(out).toString();
  assert.equal(status, 0, Buffer.concat(err).toString());
  assert.match(text, /^Restored pid \d+ \(nsd\), memory lazy$/m);
  assert.match(text, /^restore: 0$/m);
  assert.ok(text.endsWith(want), `${text}\n--- want\n${want}`);
});

/** The container asleep in A (still running there), its images with memory as pagemap images (`lazy`: PE_LAZY), and the address of `m`. */
function dumpedPagemap(lazy: boolean): { images: Map<string, Uint8Array>; m: number; a: Kernel } {
  const a = bootWl();
  const root = startContainer(a, OPS, false);
  a.run({ until: () => root.state.blocked?.call.name === 'nanosleep' });
  const m = a.mm(root.state.mm).maps.find((x) => x.kind === 'anon' && x.len === 8 * PAGE)!.start;
  return { images: dump(a, root.pid, { withFs: true, leaveRunning: true, memory: { parent: null, trackMem: false, lazy } }).images, m, a };
}

test('lazy restore from pagemap images: exactly the PE_LAZY pages are missing; a page read in B after the restore has A\'s contents', () => {
  const want = uninterrupted();
  const { images, m } = dumpedPagemap(true);
  const flags = (readImage(images.get('pagemap-1.img')!, 'pagemap').entries.slice(1) as PagemapEntry[]).map(pagemapFlags);
  assert.ok(flags.length > 0 && flags.every((f) => f & PE_LAZY), 'cr dump --lazy-pages marks every private page lazy');
  const k = bootWl();
  const r = restore(k, images, { lazyPages: true });
  const t = r.tasks.get(1)!;
  const uffd = r.lazy.get(1)!;
  const missing = uffdMissing(k, uffd).map((x) => x.vaddr);
  assert.deepEqual(missing.filter((v) => v >= m && v < m + 8 * PAGE), [m, m + 3 * PAGE, m + 7 * PAGE], 'the written pages of m are missing, its holes are not');
  // Not filled: the store has no bytes there and the library's read would block on the fault.
  assert.throws(() => t.memory.read(m + 3 * PAGE + 5, 5), WouldBlockError);
  // The tree runs, faults on m's pages one by one; each is served from the images.
  const source = new ImagePageSource(images);
  for (let i = 0; i < 40 && uffdMissing(k, uffd).length > 0; i++) {
    k.run();
    serveLazy(k, r.lazy, source, 0);
    if (!uffdMissing(k, uffd).some((x) => x.vaddr === m + 3 * PAGE)) break;
  }
  assert.equal(Buffer.from(t.memory.read(m + 3 * PAGE + 5, 5)).toString(), 'three', 'A\'s bytes, fetched by the fault');
  while (uffdMissing(k, uffd).length > 0) {
    k.run();
    serveLazy(k, r.lazy, source, 1);
  }
  k.run();
  assert.equal(readLog(k), want);
});

test('a page left at the source (PE_LAZY without data) is refused by a restore that has no page source, never restored as zeros', () => {
  const { images } = dumpedPagemap(true);
  const pm = readImage(images.get('pagemap-1.img')!, 'pagemap');
  const head = pm.entries[0]!;
  // What the stream's ADD_F(PE_LAZY) describes: the pages are not in these images.
  const entries = (pm.entries.slice(1) as PagemapEntry[]).map((e) => ({ ...e, flags: PE_LAZY }));
  const bad = new Map(images);
  bad.set('pagemap-1.img', writeImage('pagemap', [head, ...entries]));
  bad.set(`pages-${(head as { pages_id: number }).pages_id}.img`, new Uint8Array(0));
  bad.delete(MANIFEST);
  bad.set(MANIFEST, writeManifest(bad));
  assert.throws(() => restore(bootWl(), bad), (e: unknown) => e instanceof CrError && /left at the source \(PE_LAZY/.test(e.message));
  // Without PE_LAZY the same images restore with every page filled.
  const plain = dumpedPagemap(false);
  const flags = (readImage(plain.images.get('pagemap-1.img')!, 'pagemap').entries.slice(1) as PagemapEntry[]).map(pagemapFlags);
  assert.ok(flags.every((f) => f === PE_PRESENT));
  const r = restore(bootWl(), plain.images, { lazyPages: true });
  assert.equal(r.lazy.size, 0, 'nothing is lazy in images without PE_LAZY');
});

test('lazy restore whose page source is gone: the faulting task gets SIGBUS (UFFD_FEATURE_SIGBUS) and dies, even as its namespace init; nothing is filled', () => {
  const { images } = dumpedPagemap(true);
  const k = bootWl();
  const r = restore(k, images, { lazyPages: true });
  const uffd = r.lazy.get(1)!;
  k.run();
  const pending = uffdFaults(k, uffd);
  assert.equal(pending.length, 1, 'the tree faulted on its first page');
  const round = serveLazy(k, r.lazy, { page: () => { throw new Error('the source went away'); } }, 16);
  assert.equal(round.failed, 'the source went away');
  assert.deepEqual(round.sigbus, pending[0]!.kids);
  assert.equal(round.pushed, 0, 'nothing is filled, with zeros or otherwise');
  assert.equal(round.served, 0);
  k.run();
  const w = k.init.sys.wait4(r.rootPid, 0);
  assert.equal(w.pid, r.rootPid);
  assert.equal(w.status & 0x7f, SIGBUS, `killed by SIGBUS (status 0x${w.status.toString(16)})`);
});
