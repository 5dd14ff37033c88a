/**
 * Lazy (post-copy) migration over real TCP on 127.0.0.1: the last round leaves the pages at the
 * source (ADD_F PE_LAZY), B runs the tree at once and its faults become GETs to A, the rest is
 * pushed in the background; alone and after pre-copy rounds, the log equals an uninterrupted run.
 * Faults: the source dying mid-stream, and a corrupted GET answer, kill B's tree with a clear error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { dump } from '../../src/cr/index.js';
import { PageSender } from '../../src/migrate/sender.js';
import { sendRound, splitImages } from '../../src/migrate/pages.js';
import { migrateOut } from '../../src/migrate/migrate.js';
import { LazySource, LazySourceError, receiveLazy } from '../../src/migrate/lazy.js';
import { IOV_SIZE, PAGE_SIZE, PE_PRESENT, PS_IOV_ADD_F, PS_IOV_GET, decodeIov, encodeIov } from '../../src/migrate/protocol.js';
import { crc32 } from 'node:zlib';
import { WNOHANG } from '../../src/abi/constants.js';
import type { Kernel } from '../../src/syscalls/scheduler.js';
import { bootWl, readLog, startContainer, type Op } from '../cr/workload.js';
import { dial, oneConnection } from './helpers.js';

// Five pages written before the sleep, read back after it (each read a fault in B).
const OPS: Op[] = [
  ['open', '/log', 'log'],
  ['mmap', 'm', 8 * PAGE_SIZE],
  ['poke', 'm', 5, 'zero'],
  ['poke', 'm', PAGE_SIZE + 7, 'one'],
  ['poke', 'm', 3 * PAGE_SIZE, 'three'],
  ['poke', 'm', 6 * PAGE_SIZE + 100, 'six'],
  ['poke', 'm', 7 * PAGE_SIZE + 4000, 'seven'],
  ['log', 'before'],
  ['sleep', 5000],
  ['peek', 'm', 3 * PAGE_SIZE, 5],
  ['poke', 'm', 2 * PAGE_SIZE, 'two'],
  ['peek', 'm', 5, 4],
  ['log', 'middle'],
  ['sleep', 5000],
  ['peek', 'm', PAGE_SIZE + 7, 3],
  ['peek', 'm', 6 * PAGE_SIZE + 100, 3],
  ['peek', 'm', 7 * PAGE_SIZE + 4000, 5],
  ['peek', 'm', 2 * PAGE_SIZE, 3],
  ['log', 'done'],
];

function uninterrupted(): string {
  const k = bootWl();
  startContainer(k, OPS, false);
  k.run({ maxSteps: 20000 });
  return readLog(k);
}

/** The start of the container's one private mapping (the `m` of OPS). */
function mapAt(k: Kernel, pid: number): number {
  const t = k.task(pid)!;
  return k.mm(t.state.mm).maps.find((m) => m.kind === 'anon' && m.len === 8 * PAGE_SIZE)!.start;
}

function source(): { k: Kernel; root: ReturnType<typeof startContainer> } {
  const k = bootWl();
  const root = startContainer(k, OPS, false);
  k.run({ until: () => root.state.state === 'blocked' && root.state.blocked?.call.name === 'nanosleep', maxSteps: 5000 });
  assert.equal(root.state.blocked?.call.name, 'nanosleep');
  return { k, root };
}

/** Runs B a few steps at a time (the daemon fetches between them); false once its tree ended. */
function stepper(b: Kernel, rootKid: () => number): () => boolean {
  return () => {
    b.run({ maxSteps: 20 });
    const t = b.s.tasks.get(rootKid());
    return t !== undefined && t.state !== 'zombie' && t.state !== 'dead';
  };
}

for (const rounds of [0, 2]) {
  test(`lazy migration${rounds ? ' after 2 pre-copy rounds' : ''}: B runs at once, faults become GETs, the rest is pushed; the log equals an uninterrupted run`, async () => {
    const want = uninterrupted();
    const { k, root } = source();
    const b = bootWl();
    const c = await oneConnection();
    let rootKid = 0;
    let faultedBeforeAnyPush = false;
    const served = c.accepted.then((s) => receiveLazy(s, b, {
      push: 1,
      onRestored: (kid) => (rootKid = kid),
      step: () => {
        const alive = stepper(b, () => rootKid)();
        faultedBeforeAnyPush ||= [...b.s.tasks.values()].some((t) => t.state === 'blocked' && /^uffd:/.test(t.blocked?.wchan ?? ''));
        return alive;
      },
    }));
    // Between pre-copy rounds the "workload" rewrites page 6 (the same bytes: soft-dirty again).
    const res = await migrateOut(k, root.pid, await dial(c.port), {
      lazy: true,
      maxRounds: rounds,
      advance: () => {
        const m = k.task(root.pid)!.memory;
        m.write(mapAt(k, root.pid) + 6 * PAGE_SIZE + 100, m.read(mapAt(k, root.pid) + 6 * PAGE_SIZE + 100, 3));
        return true;
      },
    });
    const got = await served;
    assert.ok(res.final.pagesLazy >= (rounds ? 1 : 5), `pages left at the source: ${res.final.pagesLazy}`);
    if (rounds) assert.ok(res.final.pagesParent >= 4, 'the pre-copied pages are HOLE (in parent)');
    assert.equal(res.final.pagesData, 0, 'no page data in the last round');
    assert.ok(res.lazy && res.lazy.pages === res.final.pagesLazy, 'A served every lazy page once');
    assert.equal(got.lazy.faults + got.lazy.pushed, res.final.pagesLazy);
    if (!rounds) assert.ok(got.lazy.faults >= 1 && faultedBeforeAnyPush, 'a page was fetched because the tree faulted on it');
    // A's copy is killed; B finishes the run.
    k.run({ maxSteps: 1000 });
    assert.notEqual(root.state.state, 'blocked');
    b.run({ maxSteps: 20000 });
    assert.ok(!b.s.tasks.has(rootKid) || ['zombie', 'dead'].includes(b.s.tasks.get(rootKid)!.state), 'B ran the tree to its end');
    assert.equal(readLog(b), want);
    c.close();
  });
}

/** A's side by hand: the lazy stream, then `answer` handles GETs. */
async function handSource(sock: Socket, answer: (tx: PageSender, get: ReturnType<typeof decodeIov>, src: LazySource) => Promise<'stop' | void>): Promise<void> {
  const { k, root } = source();
  const d = dump(k, root.pid, { leaveRunning: true, withFs: true, memory: { parent: null, trackMem: true } });
  const { files, pagemaps } = splitImages(d.images);
  const tx = new PageSender(sock);
  await sendRound(tx, pagemaps, true);
  for (const [n, f] of files) await tx.file(n, f);
  assert.equal(await tx.close(true), 0);
  const src = new LazySource(pagemaps);
  for (;;) {
    const h = decodeIov(await tx.read(IOV_SIZE));
    assert.equal(h.cmd, PS_IOV_GET);
    if ((await answer(tx, h, src)) === 'stop') return;
  }
}

async function lazyFault(answer: Parameters<typeof handSource>[1]): Promise<{ e: Error; b: Kernel; rootKid: number }> {
  const b = bootWl();
  const c = await oneConnection();
  let rootKid = 0;
  const served = c.accepted.then((s) => receiveLazy(s, b, { push: 1, onRestored: (kid) => (rootKid = kid), step: stepper(b, () => rootKid) }));
  const a = handSource(await dial(c.port), answer).catch(() => undefined);
  const e = await served.then(() => null, (x: Error) => x);
  await a;
  c.close();
  assert.ok(e, 'B completed a restore whose source failed');
  return { e, b, rootKid };
}

function assertKilled(b: Kernel, rootKid: number): void {
  b.run({ maxSteps: 2000 });
  const pid = b.pidIn(rootKid, b.init.kid);
  const w = b.init.sys.wait4(pid, WNOHANG);
  assert.equal(w.pid, pid, 'the restored init is gone');
  assert.equal(w.status & 0x7f, 9, 'killed by SIGKILL');
  assert.ok(![...b.s.tasks.values()].some((t) => t.state === 'blocked' && /^uffd:/.test(t.blocked?.wchan ?? '')), 'no task is left waiting for a page');
}

test('lazy: the source dies mid-stream (after one answer): B kills its tree with a clear error', async () => {
  let n = 0;
  const { e, b, rootKid } = await lazyFault(async (tx, h, src) => {
    if (n++ === 1) {
      (tx as unknown as { sock: Socket }).sock.destroy();
      return 'stop';
    }
    await tx.getReply(h.dstId, h.vaddr, src.pages(h.dstId, Number(h.vaddr), h.nrPages));
  });
  assert.ok(e instanceof LazySourceError, String(e));
  assert.match(e.message, /lazy pages: the source went away \(.*\), \d+ pages still missing; the restored tree is killed/);
  assertKilled(b, rootKid);
});

test('lazy: a corrupted GET answer is refused (CRC-32) and B kills its tree', async () => {
  const { e, b, rootKid } = await lazyFault(async (tx, h, src) => {
    const pages = Buffer.from(src.pages(h.dstId, Number(h.vaddr), h.nrPages)!);
    const crc = Buffer.alloc(4);
    crc.writeUInt32LE(crc32(pages) >>> 0);
    pages[17] = pages[17]! ^ 0x40; // flipped on the way, after the CRC was taken
    await tx.raw(encodeIov(PS_IOV_ADD_F, PE_PRESENT, h.nrPages, h.vaddr, h.dstId));
    await tx.raw(pages);
    await tx.raw(crc);
    return 'stop';
  });
  assert.ok(e instanceof LazySourceError, String(e));
  assert.match(e.message, /GET pid 1 0x[0-9a-f]+ \(1 pages\): CRC-32 mismatch in the answer \(corrupted on the way\)/);
  assertKilled(b, rootKid);
});

test('lazy: an answer for other pages, or none, is refused', async () => {
  const { e } = await lazyFault(async (tx, h) => {
    await tx.getReply(h.dstId, h.vaddr + BigInt(PAGE_SIZE), Buffer.alloc(PAGE_SIZE * h.nrPages, 1));
    return 'stop';
  });
  assert.match(e.message, /the answer is not ADD_F\(PE_PRESENT\) for the same pages/);
  const { e: e2, b, rootKid } = await lazyFault(async (tx, h) => {
    await tx.getReply(h.dstId, h.vaddr, null);
    return 'stop';
  });
  assert.match(e2.message, /the source does not hold these pages/);
  assertKilled(b, rootKid);
});
