/**
 * A restore from images packs each queue's messages for the agent straight from ipcns-msg
 * (readPackedQueues, no object per message). What it packs must be exactly what packing the
 * decoded messages gives (packQueues(readQueues)), and a record it cannot read in place must make
 * it step aside (null), so that the generic decoder reads or refuses it. And the sets' host-sem
 * sections, written only where someone sleeps, read back exactly. And the agent, on the real
 * kernel, sends such records whatever their mtype, and refuses one in another form; and the
 * frames those restores use: OP_GETV (many creations), OP_SHMTOUCHV (many lpid touches), OP_SHMFILE
 * (in the background) and its result at OP_SYNC.
 */
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { fromImages, openImages, readPackedQueues, readQueues, toImages } from '../../src/host/images.js';
import { lastPacked, packQueues } from '../../src/host/protocol.js';
import { Agent, dumpWith, errnoName, restoreHost, wrongLines, type HostIpcNs } from '../../src/host/index.js';
import { KIND } from '../../src/host/protocol.js';
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

hostTest('OP_GETV creates its rows in order, answers their ids, and refuses a malformed frame naming how far it got', async () => {
  const agent = await Agent.start('ns');
  try {
    const row = (key: number, nsems: number, values?: number[], nextId = -1, how = 0): Buffer => {
      const b = Buffer.alloc(56 + 2 * (values?.length ?? 0));
      b.writeBigInt64LE(BigInt(key), 0);
      b.writeBigInt64LE(BigInt(nsems), 8);
      b.writeBigInt64LE(BigInt(0o3600), 16); // IPC_CREAT | IPC_EXCL | 0600
      b.writeBigInt64LE(BigInt(nextId), 40);
      b.writeUInt32LE(how, 48);
      b.writeUInt32LE(2 * (values?.length ?? 0), 52);
      values?.forEach((v, k) => b.writeUInt16LE(v, 56 + 2 * k));
      return b;
    };
    const getv = async (rows: Buffer[], count = rows.length) => (await agent.run([{ op: 'GETV', args: [0, KIND.sem, count], data: Buffer.concat(rows) }]))[0]!;
    const ids = (r: { data: Uint8Array }) => [...new BigInt64Array(r.data.slice().buffer)].map(Number);
    // SETALL (how 0), nothing, SETALL at a next_id, SETVAL of the non-zero values (how 1).
    const ok = await getv([row(1, 2, [3, 4]), row(2, 1), row(3, 1, [9], 7), row(8, 3, [0, 6, 0], -1, 1)]);
    // (The last gets 2: a next_id does not move the kernel's cyclic cursor, which is past 1.)
    assert.deepEqual([ok.ret, ok.errno, ids(ok)], [4, 0, [0, 1, 7, 2]]);
    const sets = (await dumpWith(agent, 0)).sem;
    assert.deepEqual(sets.map((s) => [s.desc.id, s.values]), [[0, [3, 4]], [1, [0]], [2, [0, 6, 0]], [7, [9]]]);
    // SETALL records the caller (the agent, pid 1) on every semaphore; SETVAL only on those set.
    assert.deepEqual(sets.map((s) => s.pids), [[1, 1], [0], [0, 1, 0], [1]]);
    // A duplicate key (IPC_EXCL): EEXIST at row 1, row 0 done.
    const dup = await getv([row(4, 1), row(1, 1)]);
    assert.deepEqual([dup.ret, errnoName(dup.errno), ids(dup).length], [-1, 'EEXIST', 1]);
    // Fewer values than semaphores (SETALL would read past them), a cut row, bytes after the last.
    // And an unknown how, or how 1 with too few values.
    for (const [rows, count, done] of [
      [[row(5, 3, [1, 2])], 1, 0], [[row(6, 1).subarray(0, 40)], 1, 0], [[row(7, 1), Buffer.alloc(3)], 1, 1],
      [[row(9, 1, [1], -1, 2)], 1, 0], [[row(10, 2, [1], -1, 1)], 1, 0],
    ] as const) {
      const r = await getv([...rows], count);
      assert.deepEqual([r.ret, errnoName(r.errno), ids(r).length], [-1, 'EINVAL', done]);
    }
  } finally {
    await agent.close();
  }
});

hostTest('OP_SHMTOUCHV attaches and detaches each segment in the task (its lpid), and names the one that fails', async () => {
  const agent = await Agent.start('ns');
  try {
    const ids: number[] = [];
    for (const key of [1, 2]) ids.push((await agent.call('GET', [0, KIND.shm, key, 4096, 0o3600, 0, 0, -1])).ret);
    await agent.call('TASK', [0, 7]);
    const touch = async (list: number[]) => (await agent.run([{ op: 'SHMTOUCHV', args: [7, 0], data: new Uint8Array(new BigInt64Array(list.map(BigInt)).buffer) }]))[0]!;
    const ok = await touch(ids);
    assert.deepEqual([ok.ret, ok.errno], [2, 0]);
    assert.deepEqual((await dumpWith(agent, 0, { shmData: false })).shm.map((m) => m.lpid), [7, 7]);
    const bad = await touch([ids[0]!, 12345, ids[1]!]);
    assert.deepEqual([bad.ret, errnoName(bad.errno), Buffer.from(bad.data).readUInt32LE(0)], [-1, 'EINVAL', 1]);
  } finally {
    await agent.close();
  }
});

hostTest('OP_SHMFILE answers at once; OP_SYNC answers its bytes and SHA-256, or names the segment that failed', async () => {
  const agent = await Agent.start('ns');
  const dir = mkdtempSync(join(tmpdir(), 'nsd-shmfile-'));
  try {
    const page = bytes(4096, 3);
    writeFileSync(join(dir, 'p.img'), page);
    const id = (await agent.call('GET', [0, KIND.shm, 1, 8192, 0o3600, 0, 0, -1])).ret;
    // A run of the segment ({offset, length} in bytes) read from the file.
    const runs = (path: string, offset: number, len: number) => {
      const p = Buffer.from(`${path}\0`);
      const b = Buffer.alloc(p.length + 16);
      p.copy(b);
      b.writeBigUInt64LE(BigInt(offset), p.length);
      b.writeBigUInt64LE(BigInt(len), p.length + 8);
      return b;
    };
    const [queued] = await agent.run([{ op: 'SHMFILE', args: [0, id], data: runs(join(dir, 'p.img'), 4096, 4096) }]);
    assert.deepEqual([queued!.ret, queued!.errno, queued!.data.byteLength], [0, 0, 0]);
    const [sync] = await agent.run([{ op: 'SYNC', args: [] }]);
    const d = Buffer.from(sync!.data);
    assert.deepEqual([sync!.ret, d.byteLength, Number(d.readBigInt64LE(0)), Number(d.readBigInt64LE(8))], [0, 48, id, 4096]);
    assert.equal(d.subarray(16).toString('hex'), createHash('sha256').update(page).digest('hex'));
    assert.deepEqual([...(await dumpWith(agent, 0)).shm[0]!.data.subarray(4096)], [...page]);
    // A file shorter than the runs: EIO, at OP_SYNC, naming the segment (kind 3).
    await agent.run([{ op: 'SHMFILE', args: [0, id], data: runs(join(dir, 'p.img'), 0, 8192) }]);
    const [failed] = await agent.run([{ op: 'SYNC', args: [] }]);
    const f = Buffer.from(failed!.data);
    assert.deepEqual([failed!.ret, errnoName(failed!.errno), Number(f.readBigInt64LE(0)), Number(f.readBigInt64LE(8))], [-1, 'EIO', id, KIND.shm]);
  } finally {
    await agent.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
