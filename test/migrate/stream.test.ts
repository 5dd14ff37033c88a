/**
 * The page-server stream over real TCP on 127.0.0.1: a checkpoint's images survive the trip byte
 * for byte; truncated and corrupted streams are refused with a clear error and nothing is kept;
 * the destination dying mid-stream leaves the source running with nothing lost; the source (a real
 * OS process) dying mid-stream leaves the destination with nothing restored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { dump, restore } from '../../src/cr/index.js';
import { PageSender, DestinationError } from '../../src/migrate/sender.js';
import { receiveStream, StreamReceiver } from '../../src/migrate/receiver.js';
import { joinImages, splitImages, sendRound } from '../../src/migrate/pages.js';
import { MANIFEST } from '../../src/cr/manifest.js';
import { preDump } from '../../src/cr/predump.js';
import { migrateOut, serveMigration } from '../../src/migrate/migrate.js';
import {
  IOV_SIZE, PAGE_SIZE, PS_IOV_CLOSE, PS_IOV_HOLE, PS_TYPE_PID, StreamError, encodeIov, encodePm, NSD_IOV_ZERO,
} from '../../src/migrate/protocol.js';
import { bootWl, readLog, startContainer, type Op } from '../cr/workload.js';
import { dial, oneConnection } from './helpers.js';
import { crc32 } from 'node:zlib';
import { WNOHANG } from '../../src/abi/constants.js';

const OPS: Op[] = [
  ['open', '/log', 'log'],
  ['mmap', 'm', 3 * PAGE_SIZE],
  ['poke', 'm', 5, 'before'],
  ['log', 'one'],
  ['sleep', 5000],
  ['peek', 'm', 5, 6],
  ['poke', 'm', PAGE_SIZE * 2 + 1, 'after'],
  ['peek', 'm', PAGE_SIZE * 2 + 1, 5],
  ['log', 'two'],
];

function uninterrupted(): string {
  const k = bootWl();
  startContainer(k, OPS, false);
  k.run({ maxSteps: 5000 });
  return readLog(k);
}

/** A source kernel with the container asleep in the middle of its run. */
function source() {
  const k = bootWl();
  const root = startContainer(k, OPS, false);
  k.run({ until: () => root.state.state === 'blocked' && root.state.blocked?.call.name === 'nanosleep', maxSteps: 5000 });
  assert.equal(root.state.blocked?.call.name, 'nanosleep');
  return { k, root };
}

async function pair(): Promise<{ tx: PageSender; rx: Socket; sock: Socket; close: () => void }> {
  const c = await oneConnection();
  const sock = await dial(c.port);
  const rx = await c.accepted;
  return { tx: new PageSender(sock), rx, sock, close: c.close };
}

const MEM = { parent: null, trackMem: false };

test('images survive the page-server stream: pages as ADD/ZERO frames, the rest as FILE byte for byte', async () => {
  const { k, root } = source();
  const d = dump(k, root.pid, { leaveRunning: true, withFs: true, memory: MEM });
  const p = await pair();
  const got = receiveStream(p.rx);
  const { files, pagemaps } = splitImages(d.images);
  assert.equal(pagemaps.length, 1);
  assert.equal(pagemaps[0]!.dstId, encodePm(PS_TYPE_PID, 1));
  assert.ok(d.images.has('pagemap-1.img') && !files.has('pagemap-1.img'));
  const st = await sendRound(p.tx, pagemaps);
  assert.equal(st.pagesData, 1);
  for (const [n, b] of files) await p.tx.file(n, b);
  assert.equal(await p.tx.close(), 0);
  const back = joinImages(await got);
  assert.deepEqual([...back.keys()].sort(), [...d.images.keys()].sort());
  for (const [n, b] of files) assert.ok(Buffer.from(back.get(n)!).equals(Buffer.from(b)), `${n} differs`);
  // The memory comes back: restore in a fresh kernel and read it.
  const b = bootWl();
  const r = restore(b, back, { strategy: 'nsd' });
  const addr = splitImages(d.images).pagemaps[0]!.runs[0]!.vaddr;
  assert.equal(new TextDecoder().decode(b.task(r.rootPid)!.memory.read(addr + 5, 6)), 'before');
  p.close();
});

test('migration over TCP: restored in another kernel, the log equals an uninterrupted run', async () => {
  const want = uninterrupted();
  const { k, root } = source();
  const b = bootWl();
  const c = await oneConnection();
  let rootB = 0;
  const served = c.accepted.then((s) => serveMigration(s, { restore: (images) => ((rootB = restore(b, images, { strategy: 'nsd' }).rootPid), 0) }));
  const res = await migrateOut(k, root.pid, await dial(c.port));
  await served;
  assert.ok(res.downtimeMs >= 0 && res.final.pagesData >= 1);
  // A's copy is gone; B finishes the run.
  k.run({ maxSteps: 1000 });
  assert.notEqual(root.state.state, 'blocked');
  b.run({ maxSteps: 5000 });
  assert.equal(b.init.sys.wait4(rootB, WNOHANG).pid, rootB);
  assert.equal(readLog(b), want);
  c.close();
});

test('pre-copy: a pre-dump round, then the final dump sends the rewritten page as ADD and the rest as HOLE', async () => {
  const { k, root } = source();
  const p = await pair();
  const got = receiveStream(p.rx);
  const pm1 = splitImages(preDump(k, root.pid, { parent: null }).images).pagemaps;
  const r1 = await sendRound(p.tx, pm1);
  const mapStart = pm1[0]!.runs[0]!.vaddr;
  root.memory.write(mapStart + 2 * PAGE_SIZE, new TextEncoder().encode('dirty'));
  const { files, pagemaps } = splitImages(dump(k, root.pid, { leaveRunning: true, withFs: true, memory: { parent: 'p', trackMem: true } }).images);
  assert.ok(!files.has('parent'), 'the chain link does not travel');
  const r2 = await sendRound(p.tx, pagemaps);
  assert.deepEqual([r1.pagesData, r1.pagesParent], [1, 0]);
  assert.deepEqual([r2.pagesData, r2.pagesParent], [1, 1]);
  for (const [n, b] of files) await p.tx.file(n, b);
  assert.equal(await p.tx.close(), 0);
  const received = await got;
  const images = joinImages(received);
  const b = bootWl();
  const r = restore(b, images, { strategy: 'with-id' });
  const mem = b.task(r.rootPid)!.memory;
  assert.equal(new TextDecoder().decode(mem.read(mapStart + 2 * PAGE_SIZE, 5)), 'dirty');
  assert.equal(new TextDecoder().decode(mem.read(mapStart + 5, 6)), 'before');
  // Restored at once in this process (B of a migration): no manifest to write and check again.
  const unsealed = joinImages(received, false, false);
  assert.ok(!unsealed.has(MANIFEST));
  assert.throws(() => restore(bootWl(), unsealed), /nsd-manifest\.json.*missing/);
  const b2 = bootWl();
  const rb2 = restore(b2, unsealed, { strategy: 'with-id', imagesChecked: true });
  assert.equal(new TextDecoder().decode(b2.task(rb2.rootPid)!.memory.read(mapStart + 2 * PAGE_SIZE, 5)), 'dirty');
  // A manifest that is there is still checked: a changed image is refused even so.
  const changed = new Map(images);
  const pages = [...changed.keys()].find((n) => n.startsWith('pages-'))!;
  changed.set(pages, changed.get(pages)!.slice());
  changed.get(pages)![0]! ^= 1;
  assert.throws(() => restore(bootWl(), changed, { imagesChecked: true }), /SHA-256 does not match the manifest/);
  p.close();
});

/** Feeds a receiver directly; returns the error it throws. */
function refused(frames: Buffer[]): StreamError {
  const rx = new StreamReceiver(() => {});
  try {
    for (const f of frames) rx.push(f);
  } catch (e) {
    assert.ok(e instanceof StreamError);
    return e;
  }
  const e = rx.endError();
  assert.ok(e, 'the receiver accepted a bad stream');
  return e;
}

test('malformed frames are refused, each with its own reason', () => {
  const pm = encodePm(PS_TYPE_PID, 1);
  assert.match(refused([encodeIov(0x77, 0, 1, 0, pm)]).message, /unknown command 0x77/);
  assert.match(refused([encodeIov(1, 0, 1, 100, pm)]).message, /not page aligned/);
  assert.match(refused([encodeIov(1, 0, 1, 0, 0x55n)]).message, /unknown pagemap type/);
  assert.match(refused([encodeIov(1, 0, 0, 0, pm)]).message, /nr_pages 0/);
  assert.match(refused([encodeIov(PS_IOV_HOLE, 0, 1, 0, pm)]).message, /"in parent" but no earlier round/);
  assert.match(refused([encodeIov(NSD_IOV_ZERO, 0, 1, 0, pm), encodeIov(NSD_IOV_ZERO, 0, 1, 0, pm)]).message, /described twice/);
  assert.match(refused([encodeIov(0x4e46, 0, 3, 1, 0n), Buffer.from('../x')]).message, /bad image name|CRC/);
  assert.match(refused([encodeIov(1, 0, 2, 0, pm), Buffer.alloc(PAGE_SIZE)]).message, /inside a ADD frame \(4096 bytes missing\)/);
  assert.match(refused([encodeIov(NSD_IOV_ZERO, 0, 1, 0, pm)]).message, /ended before CLOSE/);
  assert.match(refused([encodeIov(PS_IOV_CLOSE, 0, 0, 0, 0x1234n)]).message, /CRC-32/);
  assert.match(refused([Buffer.alloc(IOV_SIZE - 1)]).message, /inside a frame header/);
});

/** Sends a whole checkpoint with one byte of its wire form changed at `at` (counted from the end). */
async function corrupted(fromEnd: (bytes: number) => number): Promise<Error> {
  const { k, root } = source();
  const d = dump(k, root.pid, { leaveRunning: true, memory: MEM });
  // Record the wire bytes of a good transfer first.
  const wire: Buffer[] = [];
  const rec = await pair();
  rec.rx.on('data', (b: Buffer) => wire.push(Buffer.from(b)));
  const ok = receiveStream(rec.rx);
  const { files, pagemaps } = splitImages(d.images);
  await sendRound(rec.tx, pagemaps);
  for (const [n, b] of files) await rec.tx.file(n, b);
  assert.equal(await rec.tx.close(), 0);
  await ok;
  rec.close();
  const all = Buffer.concat(wire);
  all[all.length - fromEnd(all.length)]! ^= 0x40;
  const p = await pair();
  let restored = false;
  const got = serveMigration(p.rx, { restore: () => ((restored = true), 0) });
  p.sock.write(all);
  const e = await got.then(() => null, (x: Error) => x);
  assert.ok(e, 'the corrupted stream was accepted');
  assert.equal(restored, false);
  p.sock.destroy();
  p.close();
  return e;
}

test('a corrupted stream is refused: a flipped page byte fails the CRC at CLOSE, a flipped file byte its FILE CRC', async () => {
  // The first ADD's payload starts right after OPEN2 + ADD headers.
  const e1 = await corrupted((n) => n - (2 * IOV_SIZE + 10));
  assert.match(e1.message, /CLOSE: stream CRC-32 .* does not match/);
  const e2 = await corrupted(() => IOV_SIZE + 3);
  assert.match(e2.message, /FILE .*CRC-32 mismatch/);
});

test('the destination dies mid-stream: the source gets a clear error and its tree runs on, nothing lost', async () => {
  const want = uninterrupted();
  const { k, root } = source();
  const c = await oneConnection();
  // The destination reads a little and then goes away.
  void c.accepted.then((s) => s.once('data', () => s.destroy()));
  const e = await migrateOut(k, root.pid, await dial(c.port)).then(() => null, (x: Error) => x);
  assert.ok(e instanceof DestinationError, String(e));
  assert.match(e.message, /closed|reset|EPIPE|connection/);
  k.run({ maxSteps: 5000 });
  assert.equal(readLog(k), want);
  c.close();
});

test('the source (a real OS process) dies mid-stream: the destination discards everything, nothing is restored', async () => {
  const c = await oneConnection();
  const b = bootWl();
  const tasksBefore = b.s.tasks.size;
  let restored = false;
  const served = c.accepted.then((s) => serveMigration(s, { restore: () => ((restored = true), 0) }));
  // A source process that sends an OPEN2, half of an ADD, and dies.
  const hdr = Buffer.concat([encodeIov(4, 0, 0, 0, encodePm(PS_TYPE_PID, 1)), encodeIov(1, 0, 4, 0, encodePm(PS_TYPE_PID, 1)), Buffer.alloc(6000, 1)]);
  const child = spawn(process.execPath, ['-e', `
    const s = require('net').connect(${c.port}, '127.0.0.1', () => s.write(Buffer.from('${hdr.toString('base64')}', 'base64'), () => process.kill(process.pid, 'SIGKILL')));
  `], { stdio: 'ignore' });
  // Listen for the exit now: the child may be gone before the server has settled.
  const exited = new Promise((r) => child.once('exit', r));
  const e = await served.then(() => null, (x: Error) => x);
  await exited;
  assert.ok(e instanceof StreamError, String(e));
  assert.match(e.message, /truncated \(the source died\?\); nothing received is kept/);
  assert.equal(restored, false);
  assert.equal(b.s.tasks.size, tasksBefore);
  c.close();
});

test('a refused restore answers CLOSE with -1 and the source keeps its tree', async () => {
  const { k, root } = source();
  const c = await oneConnection();
  void c.accepted.then((s) => serveMigration(s, { restore: () => { throw new Error('no room'); } }).catch(() => {}));
  const e = await migrateOut(k, root.pid, await dial(c.port)).then(() => null, (x: Error) => x);
  assert.match(String(e), /could not restore \(status -1\)/);
  assert.equal(root.state.state, 'blocked');
  c.close();
});

test('pages left at the source (ADD_F PE_LAZY) are refused: no lazy-page mechanism to fetch them', async () => {
  const p = await pair();
  const got = receiveStream(p.rx);
  const pm = encodePm(PS_TYPE_PID, 3);
  await p.tx.open2(pm);
  await p.tx.lazy(pm, 0, 2);
  assert.equal(await p.tx.close(), 0);
  const r = await got;
  assert.deepEqual(r.pagemaps.get(pm)!.pages.map((s) => [s.kind, s.first, s.n]), [['lazy', 0, 2]]);
  assert.throws(() => joinImages(r), /page 0x0 was left at the source \(PE_LAZY\) and this destination cannot fetch lazy pages/);
  p.close();
});

test('OPEN2 answers has_parent: 0 for the first round, 1 after', async () => {
  const p = await pair();
  const got = receiveStream(p.rx);
  const pm = encodePm(PS_TYPE_PID, 7);
  assert.equal(await p.tx.open2(pm), false);
  await p.tx.zero(pm, 0, 1);
  assert.equal(await p.tx.parent(pm), true);
  assert.equal(await p.tx.open2(pm), true);
  await p.tx.hole(pm, 0, 1);
  assert.equal(await p.tx.close(), 0);
  const r = await got;
  assert.equal(r.pagemaps.get(pm)!.rounds, 2);
  assert.equal(r.pagesParent, 1);
  p.close();
});

test('the receiver keeps runs, not pages: a 1024-page ADD fed in odd chunks is a few segments, joined back byte for byte', () => {
  const pm = encodePm(PS_TYPE_PID, 2);
  const data = Buffer.alloc(1024 * PAGE_SIZE);
  for (let i = 0; i < data.length; i += 509) data[i] = (i >> 9) & 0xff || 1;
  const frames = [encodeIov(4, 0, 0, 0, pm), encodeIov(1, 0, 1024, 0x10000, pm), data, encodeIov(NSD_IOV_ZERO, 0, 3, 0x10000 + 1024 * PAGE_SIZE, pm)];
  const all = Buffer.concat(frames);
  const closeIov = encodeIov(PS_IOV_CLOSE, 0, 0, 0, BigInt(crc32(all)));
  const rx = new StreamReceiver(() => {});
  const stream = Buffer.concat([all, closeIov]);
  for (let at = 0; at < stream.length; at += 300_001) rx.push(stream.subarray(at, at + 300_001));
  assert.ok(rx.closed);
  const segs = rx.got.pagemaps.get(pm)!.pages;
  // At most a run and one split page per socket chunk (not 1027 entries).
  assert.ok(segs.length <= 2 * Math.ceil(stream.length / 300_001) + 1, `${segs.length} segments for one frame`);
  assert.deepEqual(segs.at(-1)!.kind, 'zero');
  const images = joinImages(rx.got);
  assert.ok(Buffer.from(images.get('pages-100000.img')!).equals(data));
  // An overlap out of order is still found.
  assert.match(refused([encodeIov(NSD_IOV_ZERO, 0, 4, 4 * PAGE_SIZE, pm), encodeIov(NSD_IOV_ZERO, 0, 1, 0, pm), encodeIov(NSD_IOV_ZERO, 0, 2, 6 * PAGE_SIZE, pm)]).message, /page 0x6000 described twice/);
});
