/**
 * SysV shm in pre-dump rounds (src/cr/shm-rounds.ts): a segment's dirty pages come from the
 * soft-dirty bits of its attachments in the tree; later rounds write only those and mark the rest
 * PE_PARENT; the IPC reader follows the chain; a segment whose tracking cannot be trusted (detached
 * since the last round, attached outside the tree, no record of the last round) is taken whole.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, constants as C, type Task } from '../../src/index.js';
import { dump, restore } from '../../src/cr/index.js';
import { preDump } from '../../src/cr/predump.js';
import { PARENT_PREFIX } from '../../src/cr/pagemap.js';
import { shmPagemapName, type ShmTracker } from '../../src/cr/shm-rounds.js';
import { migrateOut, serveMigration } from '../../src/migrate/migrate.js';
import { readImage, PE_PARENT, PE_PRESENT, pagemapFlags, pagemapPageCount, type PagemapEntry } from '../../src/cr/image/index.js';
import { dial, oneConnection } from './helpers.js';

const PAGE = 4096;
const PAGES = 8;

/** A container (own pid and IPC namespaces) asleep, with two 8-page segments attached and filled. */
function build(): { k: Kernel; root: Task; a: number; b: number; ida: number; idb: number } {
  const k = new Kernel({ profile: 'linux-6' });
  const root = k.task(k.init.sys.clone(C.CLONE_NEWPID | C.CLONE_NEWIPC | C.SIGCHLD))!;
  const ida = root.sys.shmget(0x51, PAGES * PAGE, C.IPC_CREAT | 0o600);
  const idb = root.sys.shmget(0x52, PAGES * PAGE, C.IPC_CREAT | 0o600);
  const a = root.sys.shmat(ida, 0, 0);
  const b = root.sys.shmat(idb, 0, 0);
  for (let i = 0; i < PAGES; i++) {
    root.memory.write(a + i * PAGE, new Uint8Array(PAGE).fill(0x10 + i));
    root.memory.write(b + i * PAGE, new Uint8Array(PAGE).fill(0x40 + i));
  }
  return { k, root, a, b, ida, idb };
}

/** PE_PRESENT and PE_PARENT page counts of a segment's pagemap in an image set. */
function counts(images: ReadonlyMap<string, Uint8Array>, id: number): { present: number; parent: number } {
  const img = readImage(images.get(shmPagemapName(id))!, 'pagemap-shmem');
  const out = { present: 0, parent: 0 };
  for (const e of img.entries.slice(1) as PagemapEntry[]) {
    const n = Number(pagemapPageCount(e));
    if (pagemapFlags(e) & PE_PRESENT) out.present += n;
    else if (pagemapFlags(e) & PE_PARENT) out.parent += n;
  }
  return out;
}

/** A segment's contents in a restored kernel, read by attaching it in the restored init. */
function segment(k: Kernel, rootKid: number, id: number): Uint8Array {
  const t = k.task(k.pidIn(rootKid, k.init.kid))!;
  const at = t.sys.shmat(id, 0, C.SHM_RDONLY);
  const bytes = t.memory.read(at, PAGES * PAGE);
  t.sys.shmdt(at);
  return bytes;
}

function expected(base: number, changed: Map<number, number> = new Map()): Uint8Array {
  const out = new Uint8Array(PAGES * PAGE);
  for (let i = 0; i < PAGES; i++) out.fill(changed.get(i) ?? base + i, i * PAGE, (i + 1) * PAGE);
  return out;
}

test('pre-dump rounds: a segment written between rounds is written again (only its dirty page), an unchanged one is in parent; the chain restores', () => {
  const { k, root, a, ida, idb } = build();
  const shm: ShmTracker = { segments: null };
  const r1 = preDump(k, root.pid, { parent: null, shm });
  assert.deepEqual(counts(r1.images, ida), { present: PAGES, parent: 0 });
  assert.deepEqual(counts(r1.images, idb), { present: PAGES, parent: 0 });
  assert.equal(r1.shm!.written, 2 * PAGES);
  // Between rounds: page 3 of segment a is rewritten.
  root.memory.write(a + 3 * PAGE, new Uint8Array(PAGE).fill(0xee));
  const d = dump(k, root.pid, { leaveRunning: true, memory: { parent: '../r1', trackMem: true, shm } });
  assert.deepEqual(counts(d.images, ida), { present: 1, parent: PAGES - 1 });
  assert.deepEqual(counts(d.images, idb), { present: 0, parent: PAGES }, 'the unchanged segment is sent once, in round 1');
  // The chain as loadImageChain joins it: the parent round under parent/.
  const chain = new Map(d.images);
  for (const [n, bytes] of r1.images) chain.set(PARENT_PREFIX + n, bytes);
  const kb = new Kernel({ profile: 'linux-6' });
  const res = restore(kb, chain, { strategy: 'nsd' });
  assert.deepEqual(segment(kb, res.rootPid, ida), expected(0x10, new Map([[3, 0xee]])));
  assert.deepEqual(segment(kb, res.rootPid, idb), expected(0x40));
  // Without its parent the round is refused by name, not restored with holes.
  assert.throws(() => restore(new Kernel({ profile: 'linux-6' }), d.images, { strategy: 'nsd' }), /pagemap-(shmem-\d+|\d+)\.img.*parent/);
});

test('a segment written through an attachment detached before the next round is taken whole (its soft-dirty bits went with the mapping)', () => {
  const { k, root, a, ida, idb } = build();
  // A second attachment of a, which stays: it never sees the write below.
  const other = root.sys.shmat(ida, 0, 0);
  const shm: ShmTracker = { segments: null };
  preDump(k, root.pid, { parent: null, shm });
  root.memory.write(a + 5 * PAGE, new Uint8Array(PAGE).fill(0x77));
  // shm_dtime is in seconds of the virtual clock: let it move.
  k.s.clockNs += 2e9;
  root.sys.shmdt(a);
  assert.equal(root.memory.read(other + 5 * PAGE, 1)[0], 0x77);
  const r2 = preDump(k, root.pid, { parent: '../r1', shm });
  assert.deepEqual(r2.shm!.whole, [ida]);
  assert.deepEqual(counts(r2.images, ida), { present: PAGES, parent: 0 });
  // The same without the detach: only the written page.
  const r2b = preDump(k, root.pid, { parent: '../r2', shm });
  assert.deepEqual(r2b.shm!.whole, []);
  assert.deepEqual(counts(r2b.images, ida), { present: 0, parent: PAGES });
  root.memory.write(other + 6 * PAGE, new Uint8Array(PAGE).fill(0x78));
  const r2c = preDump(k, root.pid, { parent: '../r2b', shm });
  assert.deepEqual(counts(r2c.images, ida), { present: 1, parent: PAGES - 1 });
  assert.deepEqual(counts(r2.images, idb), { present: 0, parent: PAGES });
  // Without the previous round's record every segment is whole.
  const r3 = preDump(k, root.pid, { parent: '../r2c' });
  assert.deepEqual(r3.shm!.whole.sort(), [ida, idb].sort());
});

test('migrateOut with pre-copy: shm goes in the rounds, the final round sends only the page written after them (PE_PARENT for the rest); B has the new contents', async () => {
  const { k, root, a, ida, idb } = build();
  const c = await oneConnection();
  const sock = await dial(c.port);
  let restored = 0;
  const kb = new Kernel({ profile: 'linux-6' });
  const served = c.accepted.then((rx) => serveMigration(rx, { restore: (images) => ((restored = restore(kb, images, { strategy: 'nsd' }).rootPid), 0) }));
  let round = 0;
  const r = await migrateOut(k, root.pid, sock, {
    maxRounds: 1,
    withFs: false,
    advance: () => {
      round++;
      root.memory.write(a + round * PAGE, new Uint8Array(PAGE).fill(0xa0 + round));
      return true;
    },
  });
  await served;
  c.close();
  // Round 1 (phaul stops after it: fewer than 64 pages): both segments whole, and the private pages
  // the tree has (P); the final round: the one shm page written since, all else in parent.
  assert.equal(r.rounds.length, 1);
  const priv = r.rounds[0]!.pagesData - 2 * PAGES;
  assert.ok(priv >= 0, `round 1 sent ${r.rounds[0]!.pagesData} pages`);
  assert.equal(r.final.pagesData, 1);
  assert.equal(r.final.pagesParent, 2 * PAGES - 1 + priv);
  assert.deepEqual(segment(kb, restored, ida), expected(0x10, new Map([[1, 0xa1]])));
  assert.deepEqual(segment(kb, restored, idb), expected(0x40));
});
