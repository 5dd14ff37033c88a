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
import { uffdCopy, uffdFaults, uffdMissing, uffdRegister } from '../../src/kernel/mm/uffd.js';
import { Kernel } from '../../src/index.js';
import '../../src/cr/tool.js';
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

/** Runs the container until it sleeps, dumps it; returns the images. */
function dumped(): Map<string, Uint8Array> {
  const k = bootWl();
  const root = startContainer(k, OPS, false);
  k.run({ until: () => root.state.blocked?.call.name === 'nanosleep' });
  return dump(k, root.pid, { withFs: true }).images;
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
cr dump -t $c -D /img --track-mem || exit 9
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
