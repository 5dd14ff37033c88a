/**
 * A restore from images packs each queue's messages for the agent straight from ipcns-msg
 * (readPackedQueues, no object per message). What it packs must be exactly what packing the
 * decoded messages gives (packQueues(readQueues)), and a record it cannot read in place must make
 * it step aside (null), so that the generic decoder reads or refuses it. And the sets' host-sem
 * sections, written only where someone sleeps, read back exactly. And the agent, on the real
 * kernel, sends such records whatever their mtype, and refuses one in another form.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromImages, openImages, readPackedQueues, readQueues, toImages } from '../../src/host/images.js';
import { lastPacked, packQueues } from '../../src/host/protocol.js';
import { dumpWith, errnoName, restoreHost, wrongLines, type HostIpcNs } from '../../src/host/index.js';
import { bytes, CRIU_DIR, desc, emptyNs, hostTest, readDir } from './helpers.js';

function ns(mtypes: bigint[][]): HostIpcNs {
  return emptyNs({
    msg: mtypes.map((ts, q) => ({
      desc: desc(q * 3, { key: q + 1 }), qbytes: 100000,
      // Sizes 0, 1, 7, 8, 300 (copied natively, not byte by byte) and 9000: every padding case.
      messages: ts.map((mtype, i) => ({ mtype, body: bytes([0, 1, 7, 8, 300, 9000][i % 6]!, q * 10 + i) })),
      stime: 5, rtime: 6, ctime: 7, lspid: 8, lrpid: 9,
    })),
  });
}

const plain = (p: ReturnType<typeof packQueues>) => p.map((q) => ({ ...q, packed: { ...q.packed, data: Buffer.from(q.packed.data).toString('hex') } }));

test('queues packed from the image are those packed from the decoded messages', () => {
  const o = openImages(toImages(ns([[1n, 2n, 3n, 4n, 5n, 6n, 7n], [], [2n ** 48n, 1n]])));
  const got = readPackedQueues(o);
  assert.ok(got, 'every record is in the plain form');
  assert.deepEqual(plain(got), plain(packQueues(readQueues(o))));
  assert.deepEqual(got.map((q) => [q.packed.count, q.packed.biggest]), [[7, 9000], [0, 0], [2, 1]]);
  assert.deepEqual(lastPacked(got[0]!.packed), { mtype: 7n, body: bytes(0, 6) });
  assert.deepEqual(lastPacked(got[2]!.packed), { mtype: 1n, body: bytes(1, 21) });
  assert.equal(got[1]!.packed.lastAt, -1);
});

test('an mtype of 2^49 or more is not read in place: null, and the decoder reads it', () => {
  const o = openImages(toImages(ns([[1n], [2n ** 60n]])));
  assert.equal(readPackedQueues(o), null);
  assert.equal(readQueues(o)[1]!.messages[0]!.mtype, 2n ** 60n);
});

test('a truncated ipcns-msg: null, and the decoder names what is wrong', () => {
  const images = toImages(ns([[1n, 2n]]));
  const name = 'ipcns-msg-1.img';
  // Cut after the manifest's check (which would refuse it first), as a reader meets it.
  const o = openImages(images);
  images.set(name, images.get(name)!.subarray(0, images.get(name)!.byteLength - 9));
  assert.equal(readPackedQueues(o), null);
  assert.throws(() => readQueues(o), /ipcns-msg-1\.img.*truncated/);
});

test('the real CRIU 4.2 dump packs in place as the decoder reads it', () => {
  const o = openImages(readDir(CRIU_DIR));
  const got = readPackedQueues(o);
  assert.ok(got);
  assert.deepEqual(plain(got), plain(packQueues(readQueues(o))));
});

test('host-sem sections only for sets with sleepers; the images give back exactly what was written', () => {
  const set = (id: number, n: number, ncnt: number[], zcnt: number[]) =>
    ({ desc: desc(id, { key: id + 1 }), values: new Array<number>(n).fill(1), pids: new Array<number>(n).fill(0), ncnt, zcnt, otime: 0, ctime: 0 });
  const sem = [set(0, 3, [0, 0, 0], [0, 0, 0]), set(1, 2, [0, 2], [1, 0]), set(2, 2, [], [])];
  const images = toImages(emptyNs({ sem }));
  const o = openImages(images);
  assert.deepEqual([...o.host.keys()].filter((k) => k.startsWith('host-sem/')), ['host-sem/1', 'host-sem/2']);
  assert.deepEqual(fromImages(images).sem.map((s) => [s.ncnt, s.zcnt]), sem.map((s) => [s.ncnt, s.zcnt]));
});

test('packQueues writes any u64 mtype as CRIU does; lastPacked reads it back', () => {
  const big = 2n ** 62n + 3n;
  const [q] = packQueues(ns([[5n, big]]).msg);
  assert.deepEqual(lastPacked(q!.packed), { mtype: big, body: bytes(1, 1) });
  // The image's own encoder (protobufjs) writes the same record.
  const o = openImages(toImages(ns([[5n, big]])));
  assert.equal(Buffer.from(q!.packed.data).toString('hex'), Buffer.from(packQueues(readQueues(o))[0]!.packed.data).toString('hex'));
});

hostTest('the agent sends CRIU records of any mtype and size, and refuses a record not in the plain form', async () => {
  const big = 2n ** 62n + 3n;
  const src = ns([[big, 1n, 2n, 3n, 4n, 5n, 6n]]);
  const r = await restoreHost(src);
  try {
    assert.deepEqual(wrongLines(r.report), []);
    assert.deepEqual(r.restored!.msg[0]!.messages.map((m) => [m.mtype, m.body.byteLength]), src.msg[0]!.messages.map((m) => [m.mtype, m.body.byteLength]));
    // A header with a third field: EINVAL, nothing sent (the queue keeps its 7 messages).
    const id = r.restored!.msg[0]!.desc.id;
    const bad = Uint8Array.from([7, 0, 0, 0, 0x08, 1, 0x10, 0, 0x18, 1, 0, 0]);
    const [a] = await r.agent.run([{ op: 'MSGSNDV', args: [0, id, 0o4000], data: bad }]);
    assert.equal(errnoName(a!.errno), 'EINVAL');
    // Cut short: EINVAL too.
    const one = emptyNs({ msg: [{ ...src.msg[0]!, messages: [{ mtype: 1n, body: bytes(20, 1) }] }] });
    const cut = packQueues(one.msg)[0]!.packed.data.subarray(0, 20);
    const [c] = await r.agent.run([{ op: 'MSGSNDV', args: [0, id, 0o4000], data: cut }]);
    assert.equal(errnoName(c!.errno), 'EINVAL');
    assert.equal((await dumpWith(r.agent, 0)).msg.find((q) => q.desc.id === id)!.messages.length, 7);
  } finally {
    await r.agent.close();
  }
});
