/**
 * Failure injection and hostile images: a fault at each step of a dump leaves the container
 * running exactly as it was; a fault at each step of a restore leaves the target kernel exactly as
 * before; truncated or flipped images are refused before anything is created.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dump, restore, DUMP_STEPS, CrError, STRATEGIES, MANIFEST, writeManifest } from '../../src/cr/index.js';
import { Kernel } from '../../src/index.js';
import { bootWl, startContainer, type Op } from './workload.js';
import './workload-ipc.js';

const OPS: Op[] = [
  ['open', '/log', 'log'], ['pipe', 'r', 'w'], ['mmap', 'm', 4096], ['ipc', 'setup'], ['ipc', 'msgsnd'],
  ['fork', [['ipc', 'down', 1], ['ipc', 'inc'], ['ipc', 'msgrcv'], ['ipc', 'msgrcv'], ['read', 'r', 1]]],
  ['thread', [['ipc', 'down', 0], ['write', 'w', 'x']]],
  ['nsd', 'LONG1 42'], ['sleep', 500000], ['wait'],
];

function container(steps: number): { k: Kernel; pid: number } {
  const k = bootWl();
  const root = startContainer(k, OPS, true);
  k.run({ maxSteps: steps });
  return { k, pid: root.pid };
}

export let injected = 0;

test(`a fault at each of the ${DUMP_STEPS.length} dump steps leaves the container running untouched`, () => {
  for (const at of DUMP_STEPS) {
    const { k, pid } = container(25);
    const snap = k.snapshot();
    assert.throws(() => dump(k, pid, { inject: (s) => { if (s === at) throw new Error(`fault at ${s}`); } }), (e: unknown) => e instanceof CrError && e.step === at);
    assert.deepEqual(k.snapshot(), snap, `after a fault at ${at}`);
    injected++;
  }
});

for (const strategy of STRATEGIES) {
  test(`a fault at each restore step (${strategy}) leaves the target kernel exactly as before`, () => {
    const { k, pid } = container(25);
    const d = dump(k, pid);
    k.init.sys.wait4(pid, 0);
    let total = 0;
    restore(Kernel.fromState(k.snapshot(), { programs: k.programs.values() }), d.images, { strategy, inject: (_s, n) => { total = n; } });
    assert.ok(total > 20, `only ${total} steps`);
    for (let i = 1; i <= total; i++) {
      const snap = k.snapshot();
      // The error names the step, its object and the image that object comes from (issue 9 C19).
      assert.throws(() => restore(k, d.images, { strategy, inject: (_s, n) => { if (n === i) throw new Error('fault'); } }), (e: unknown) =>
        e instanceof CrError && /^restore failed at [a-z-]+ \(.+; from [a-z*-]+(-[0-9*]+)?\.img/.test(e.message));
      assert.deepEqual(k.snapshot(), snap, `after a fault at step ${i}`);
      injected++;
    }
  });
}

test('truncated and flipped images are refused before anything is created', () => {
  const { k, pid } = container(25);
  const d = dump(k, pid);
  k.init.sys.wait4(pid, 0);
  const snap = k.snapshot();
  let refused = 0;
  for (const [name, bytes] of d.images) {
    if (name.startsWith('pages-')) continue;
    for (let cut = 0; cut < bytes.length; cut += Math.max(1, bytes.length >> 4)) {
      const bad = new Map(d.images);
      bad.set(name, bytes.subarray(0, cut));
      try {
        restore(k, bad);
        assert.fail(`${name} cut at ${cut} was accepted`);
      } catch (e) {
        if (!(e instanceof CrError)) throw e;
        refused++;
      }
      assert.deepEqual(k.snapshot(), snap);
    }
  }
  const extra = d.images.get('nsd-extra.img')!;
  for (let at = 8; at < extra.length; at += 97) {
    const flipped = extra.slice();
    flipped[at] ^= 0x40;
    const bad = new Map(d.images);
    bad.set('nsd-extra.img', flipped);
    assert.throws(() => restore(k, bad), CrError);
    refused++;
  }
  assert.deepEqual(k.snapshot(), snap);
  assert.ok(refused > 50, `refused ${refused}`);
});

test('hostile values in nsd-extra-1.img (re-checksummed) are refused as images, never applied', async () => {
  const { readNsdExtra, writeNsdExtra } = await import('../../src/cr/image/index.js');
  const { k, pid } = container(25);
  const d = dump(k, pid);
  k.init.sys.wait4(pid, 0);
  const snap = k.snapshot();
  const { entries } = readNsdExtra(d.images.get('nsd-extra-1.img')!);
  const cursors = entries.find((e) => e.section === 'cursors')!;
  const sem = entries.find((e) => e.section === 'sem')!;
  const ok = { seq: 0, lastIdx: 0, cursor: 1 };
  const bad: [string, typeof cursors, string][] = [
    ['cursors with a foreign key', cursors, JSON.stringify({ msg: { ...ok, objs: 1 }, sem: ok, shm: ok })],
    ['cursors not numbers', cursors, JSON.stringify({ msg: { ...ok, cursor: 'x' }, sem: ok, shm: ok })],
    ['cursors missing a kind', cursors, JSON.stringify({ msg: ok, sem: ok })],
    ['sem times not an object', sem, '5'],
  ];
  for (const [what, entry, json] of bad) {
    const images = new Map(d.images);
    images.set('nsd-extra-1.img', writeNsdExtra(entries.map((e) => (e === entry ? { ...e, json } : e))));
    images.set(MANIFEST, writeManifest(images)); // re-signed: the reader, not the checksum, must refuse it
    assert.throws(() => restore(k, images), (e: unknown) => e instanceof CrError && e.phase === 'images' && /nsd-extra-1\.img/.test(e.message) && !/manifest/.test(e.message), what);
    assert.deepEqual(k.snapshot(), snap, what);
  }
});
