/**
 * Pre-dump and image chains (issue 10 §2): rounds write only what was dirtied since the previous
 * one (read through /proc/PID/pagemap soft-dirty bits), unchanged pages are PE_PARENT, restore
 * follows the chain and equals a full dump's restore; a broken chain is refused by name; the
 * in-model `cr pre-dump` / `cr dump --prev-images-dir --track-mem` / `cr restore` path; phaul's
 * stop rule.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dump, restore, CrError } from '../../src/cr/index.js';
import { preDump } from '../../src/cr/predump.js';
import { dedupChain, PARENT_PREFIX, PE_PARENT, PE_PRESENT, shouldStopIterating } from '../../src/cr/pagemap.js';
import { readImage } from '../../src/cr/image/index.js';
import type { PagemapEntry } from '../../src/cr/image/index.js';
import type { Kernel, Task } from '../../src/index.js';
import { Session } from '../../src/cli/session.js';
import { bootWl, startContainer, WL } from './workload.js';

const PAGE = 4096;
const NPAGES = 16;

function container(profile: 'linux-6' | 'linux-2.6.26' = 'linux-6'): { k: Kernel; root: Task; addr: number } {
  const k = bootWl(profile);
  const root = startContainer(k, [['mmap', 'm', NPAGES * PAGE], ['sleep', 1e15]], false);
  const mapped = (): boolean => k.mm(root.state.mm).maps.some((x) => x.kind === 'anon' && x.len === NPAGES * PAGE);
  k.run({ until: () => root.state.state === 'blocked' && mapped() });
  const m = k.mm(root.state.mm).maps.find((x) => x.kind === 'anon' && x.len === NPAGES * PAGE)!;
  return { k, root, addr: m.start };
}

/** A round's images and its ancestors', the way loadImageChain joins them (newest last in `rounds`). */
function chain(top: Map<string, Uint8Array>, rounds: Map<string, Uint8Array>[]): Map<string, Uint8Array> {
  const out = new Map(top);
  let prefix = PARENT_PREFIX;
  for (let i = rounds.length - 1; i >= 0; i--) {
    for (const [n, b] of rounds[i]!) out.set(prefix + n, b);
    prefix += PARENT_PREFIX;
  }
  return out;
}

function entries(images: Map<string, Uint8Array>, name = 'pagemap-1.img'): PagemapEntry[] {
  return readImage(images.get(name)!, 'pagemap', { file: name }).entries.slice(1) as PagemapEntry[];
}

function pagesWith(images: Map<string, Uint8Array>, flag: number): number {
  return entries(images).filter((e) => (e.flags ?? 0) & flag).reduce((n, e) => n + Number(e.nr_pages), 0);
}

/** The restored container's memory at `addr` (in a fresh kernel). */
function restoredMemory(images: ReadonlyMap<string, Uint8Array>, addr: number): Uint8Array {
  const k = bootWl();
  const r = restore(k, images);
  return k.task(r.rootPid)!.memory.read(addr, NPAGES * PAGE);
}

test('pre-dump rounds write only pages dirtied since the previous round; the rest is PE_PARENT', () => {
  const { k, root, addr } = container();
  const r1 = preDump(k, root.pid, { parent: null });
  assert.equal(r1.stats.written, 0, 'nothing written yet: no page present');
  root.memory.write(addr + 3 * PAGE, 'three');
  root.memory.write(addr + 5 * PAGE, 'five');
  const r2 = preDump(k, root.pid, { parent: '../1' });
  assert.deepEqual(r2.stats, { written: 2, inParent: 0 });
  assert.equal(new TextDecoder().decode(r2.images.get('parent')!), '../1\n');
  root.memory.write(addr + 5 * PAGE + 9, 'X');
  const r3 = preDump(k, root.pid, { parent: '../2' });
  assert.deepEqual(r3.stats, { written: 1, inParent: 1 });
  assert.equal(pagesWith(r3.images, PE_PARENT), 1);
  assert.equal(r3.images.get('pages-100000.img')!.length, PAGE, 'one page of bytes');
  assert.equal(root.alive, true, 'the tree keeps running');
});

test('linux-2.6.26 has no soft-dirty bit: pre-dump and a --prev-images-dir dump are refused, the tree runs on; a plain dump works', () => {
  const { k, root, addr } = container('linux-2.6.26');
  root.memory.write(addr, 'old');
  const refused = (e: unknown) => e instanceof CrError && e.code === 'EOPNOTSUPP' && /tracking memory is not available: linux-2\.6\.26 has no soft-dirty bit/.test(e.message);
  assert.throws(() => preDump(k, root.pid, { parent: null }), refused);
  assert.throws(() => dump(k, root.pid, { memory: { parent: '../1', trackMem: false } }), refused);
  assert.throws(() => dump(k, root.pid, { memory: { parent: null, trackMem: true } }), refused);
  assert.equal(root.alive, true, 'a refused dump leaves the tree running');
  root.memory.write(addr, 'new');
  const full = dump(k, root.pid, { memory: { parent: null, trackMem: false } }).images;
  const k2 = bootWl('linux-2.6.26');
  const r = restore(k2, full);
  assert.equal(new TextDecoder().decode(k2.task(r.rootPid)!.memory.read(addr, 3)), 'new');
});

test('property: a chain (pre-dumps + dump --prev-images-dir --track-mem) restores the same memory as a full dump at the same moment', () => {
  const write = fc.record({ page: fc.nat(NPAGES - 1), off: fc.nat(PAGE - 1), byte: fc.integer({ min: 1, max: 255 }) });
  fc.assert(
    fc.property(fc.array(fc.array(write, { maxLength: 6 }), { minLength: 1, maxLength: 4 }), fc.array(write, { maxLength: 6 }), (rounds, last) => {
      const { k, root, addr } = container();
      const done: Map<string, Uint8Array>[] = [];
      rounds.forEach((ws, i) => {
        for (const w of ws) root.memory.write(addr + w.page * PAGE + w.off, new Uint8Array([w.byte]));
        done.push(preDump(k, root.pid, { parent: i === 0 ? null : `../${i}` }).images);
      });
      for (const w of last) root.memory.write(addr + w.page * PAGE + w.off, new Uint8Array([w.byte]));
      const full = dump(k, root.pid, { leaveRunning: true }).images;
      const top = dump(k, root.pid, { memory: { parent: `../${rounds.length}`, trackMem: true } }).images;
      // Only the pages dirtied after the last pre-dump are in the final round.
      assert.equal(pagesWith(top, PE_PRESENT), new Set(last.map((w) => w.page)).size);
      assert.deepEqual(restoredMemory(chain(top, done), addr), restoredMemory(full, addr));
    }),
    { seed: 0x9d, numRuns: 25 },
  );
});

test("a restored tree's memory is present and soft-dirty: the first pre-dump after a restore writes it all", () => {
  const { k, root, addr } = container();
  root.memory.write(addr + 2 * PAGE, 'two');
  root.memory.write(addr + 9 * PAGE, 'nine');
  const images = dump(k, root.pid).images;
  const k2 = bootWl();
  const r = restore(k2, images);
  assert.deepEqual(preDump(k2, r.rootPid, { parent: null }).stats, { written: 2, inParent: 0 });
  assert.deepEqual(preDump(k2, r.rootPid, { parent: '../1' }).stats, { written: 0, inParent: 2 });
});

test('a broken chain is refused by name, and nothing is restored', () => {
  const { k, root, addr } = container();
  const r1 = preDump(k, root.pid, { parent: null }).images;
  root.memory.write(addr, 'a');
  const r2 = preDump(k, root.pid, { parent: '../1' }).images;
  const top = dump(k, root.pid, { memory: { parent: '../2', trackMem: true } }).images;
  const whole = chain(top, [r1, r2]);
  const k2 = bootWl();
  const before = k2.snapshot();
  const noParent = new Map([...whole].filter(([n]) => !n.startsWith(PARENT_PREFIX)));
  assert.throws(() => restore(k2, noParent), (e: unknown) => e instanceof CrError && /pagemap-1\.img/.test(e.message) && /parent images '\.\.\/2'.*missing/.test(e.message));
  assert.deepEqual(k2.snapshot().tasks, before.tasks);
  const missingPages = new Map(whole);
  missingPages.delete(`${PARENT_PREFIX}pages-100000.img`);
  assert.throws(() => restore(k2, missingPages), /parent\/pages-100000\.img.*missing/);
  assert.equal(restore(bootWl(), whole).rootPid > 0, true);
});

test('a mapping larger than a checkpoint holds (1 GiB) is refused by name at dump; the tree keeps running', () => {
  const { k, root } = container();
  const big = root.sys.mmap(0, 2 ** 31, 3, 0x22);
  root.memory.write(big + 2 ** 30 + 7, 'x');
  assert.throws(() => dump(k, root.pid, { memory: { parent: null, trackMem: true } }), (e: unknown) => e instanceof CrError && /a mapping of 2147483648 bytes/.test(e.message));
  assert.equal(root.alive, true);
});

test('dedup drops from the parents the pages a later round holds again; the chain restores the same memory', () => {
  const { k, root, addr } = container();
  root.memory.write(addr, 'a');
  root.memory.write(addr + PAGE, 'b');
  const r1 = preDump(k, root.pid, { parent: null }).images;
  root.memory.write(addr, 'A');
  const r2 = preDump(k, root.pid, { parent: '../1' }).images;
  root.memory.write(addr, 'Z');
  const top = dump(k, root.pid, { memory: { parent: '../2', trackMem: true } }).images;
  const whole = chain(top, [r1, r2]);
  const before = restoredMemory(whole, addr);
  const { files, freed } = dedupChain(whole);
  assert.equal(freed, 2, 'page 0 from both parents');
  const deduped = new Map(whole);
  for (const [level, name, bytes] of files) deduped.set(PARENT_PREFIX.repeat(level) + name, bytes);
  assert.equal(deduped.get(`${PARENT_PREFIX}${PARENT_PREFIX}pages-100000.img`)!.length, PAGE, 'round 1 keeps only page 1');
  assert.deepEqual(restoredMemory(deduped, addr), before);
  assert.equal(dedupChain(deduped).freed, 0, 'idempotent');
});

test('phaul stop rule: at most 8 rounds; stop under 64 pages or on more than 10% growth', () => {
  assert.equal(shouldStopIterating([]), false);
  assert.equal(shouldStopIterating([1000]), false);
  assert.equal(shouldStopIterating([63]), true);
  assert.equal(shouldStopIterating([1000, 900, 800]), false);
  assert.equal(shouldStopIterating([1000, 1100]), false, '10% is not more than 10%');
  assert.equal(shouldStopIterating([1000, 1110]), true);
  assert.equal(shouldStopIterating([900, 800, 700, 600, 500, 400, 300, 200]), true, '8 rounds');
  assert.equal(shouldStopIterating([900, 800, 700, 600, 500, 400, 300]), false);
});

test('cr pre-dump / cr dump --prev-images-dir --track-mem / cr restore in the model: the output equals an uninterrupted run', () => {
  const run = (script: string): { status: number; out: string; err: string } => {
    const out: Uint8Array[] = [];
    const err: Uint8Array[] = [];
    const s = new Session({ stdout: (b) => out.push(b.slice()), stderr: (b) => err.push(b.slice()) });
    s.kernel.installProgram(WL);
    s.start(['/bin/sh', '-c', script]);
    const status = s.runToEnd();
    return { status, out: Buffer.concat(out).toString(), err: Buffer.concat(err).toString() };
  };
  const ops = JSON.stringify([
    ['open', '/log', 'log'], ['mmap', 'm', 4 * PAGE], ['poke', 'm', 10, 'one'], ['sleep', 2e9], ['poke', 'm', 5000, 'two'], ['sleep', 2e9],
    ['peek', 'm', 10, 3], ['peek', 'm', 5000, 3], ['log', 'done'], ['exit', 0],
  ]).replace(/'/g, '');
  const plain = run(`unshare --pid --fork /bin/wl '${ops}'; cat /log`);
  assert.equal(plain.status, 0, plain.err);
  const r = run(`
mkdir /img
unshare --pid --fork /bin/wl '${ops}' &
sleep 1
c=$(cat /proc/$!/task/$!/children)
cr pre-dump -t $c -D /img/1 -v || exit 9
sleep 2
cr pre-dump -t $c -D /img/2 --prev-images-dir ../1 -v || exit 9
cr dump -t $c -D /img/3 --prev-images-dir ../2 --track-mem || exit 9
cat /img/3/parent
cr dedup -D /img/3 || exit 9
cr pre-dump -t 1 -D /img/bad --prev-images-dir ../nope; echo "missing parent: $?"
cr restore -D /img/3; echo "restore: $?"
echo ==log
cat /log
echo ==end
rm /img/2/* && syscall rmdir /img/2
cr restore -D /img/3; echo "broken: $?"
`);
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /^Pre-dumped pid \d+: 1 processes, 1 pages written, 0 in the parent, in \/img\/1$/m);
  assert.match(r.out, /^Pre-dumped pid \d+: 1 processes, 1 pages written, 1 in the parent, in \/img\/2$/m);
  assert.match(r.out, /^\.\.\/2$/m);
  assert.match(r.out, /^Deduplicated \/img\/3: 0 pages freed in 0 parent rounds$/m, 'nothing was rewritten after round 2');
  assert.match(r.err, /previous images directory \.\.\/nope \(relative to \/img\/bad\) does not exist/);
  assert.match(r.out, /^missing parent: 1$/m);
  assert.match(r.out, /^restore: 0$/m);
  assert.equal(/==log\n([^]*)==end/.exec(r.out)![1], plain.out, 'the log equals an uninterrupted run');
  assert.match(plain.out, /done/);
  assert.match(r.err, /broken image chain: parent images directory '\/img\/3\/\.\.\/2' does not exist/);
  assert.match(r.out, /^broken: 1$/m);
});
