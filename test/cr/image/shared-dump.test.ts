/**
 * Reads the real CRIU 4.2 dump in shared/ and checks it against the state the
 * container had just before the dump (state-before-dump.txt): every value the
 * images hold must come back identical, and every image must re-encode to the
 * same bytes. Times, lspid/lrpid, sempid, ncnt/zcnt, SEM_UNDO adjustments and
 * shm cpid/lpid/nattch are not in CRIU's images and are not checked.
 * The msgbody `hash=` values are 64-bit hashes of an unknown function (not
 * FNV-1/1a, nor a prefix of MD5/SHA-1/SHA-2/SHA-3/BLAKE2 of the body), so the
 * test checks each body's type and size instead.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  detectImageKind,
  encodeImage,
  type IpcMsgEntry,
  type IpcSemEntry,
  type IpcShmEntry,
  type IpcVarEntry,
  pagemapPagesId,
  type PstreeEntry,
  readImage,
  readShmemContents,
  type TaskKobjIdsEntry,
} from '../../../src/cr/image/index.js';
import { DUMP_SKIP, dumpImages, num, readDump, readState, type StateLine } from './fixtures.js';

const skip = DUMP_SKIP;
const lines = (kind: string): StateLine[] => (skip ? [] : readState().filter((l) => l.kind === kind));

test('every image decodes and re-encodes to identical bytes', { skip }, () => {
  let count = 0;
  for (const name of dumpImages()) {
    const bytes = readDump(name);
    const kind = detectImageKind(name, bytes);
    if (kind === 'pages') continue;
    const image = readImage(bytes, kind, { file: name });
    assert.deepEqual(encodeImage(image), bytes, name);
    count++;
  }
  assert.equal(count, 34); // 22 ids, inventory, pstree, 4 ipcns-*, 6 pagemap-shmem
});

test('ipcns-var holds the namespace sysctls', { skip }, () => {
  const v = readImage(readDump('ipcns-var-10.img'), 'ipcns-var').entries[0] as IpcVarEntry;
  const sys = new Map(lines('sysctl').map((l) => [l.id, l.fields.value!]));
  assert.deepEqual(v.sem_ctls?.join(' '), sys.get('kernel/sem'));
  assert.equal(v.msg_ctlmax, num(sys.get('kernel/msgmax')));
  assert.equal(v.msg_ctlmnb, num(sys.get('kernel/msgmnb')));
  assert.equal(v.msg_ctlmni, num(sys.get('kernel/msgmni')));
  assert.equal(v.auto_msgmni, num(sys.get('kernel/auto_msgmni')));
  assert.equal(v.shm_ctlmax, BigInt(sys.get('kernel/shmmax')!));
  assert.equal(v.shm_ctlall, BigInt(sys.get('kernel/shmall')!));
  assert.equal(v.shm_ctlmni, num(sys.get('kernel/shmmni')));
  assert.equal(v.shm_rmid_forced, num(sys.get('kernel/shm_rmid_forced')));
  assert.equal(v.mq_queues_max, num(sys.get('fs/mqueue/queues_max')));
  assert.equal(v.mq_msg_max, num(sys.get('fs/mqueue/msg_max')));
  // *_next_id read -1: CRIU leaves the field out then (criu/ipc_ns.c dump_ipc_var).
  assert.equal(sys.get('kernel/msg_next_id'), '-1');
  assert.equal(v.msg_next_id, undefined);
  assert.equal(v.sem_next_id, undefined);
  assert.equal(v.shm_next_id, undefined);
});

function checkDesc(desc: IpcMsgEntry['desc'], l: StateLine): void {
  assert.equal(desc.key, num(l.fields.key), `key of ${l.kind} ${l.id}`);
  for (const f of ['uid', 'gid', 'cuid', 'cgid', 'mode'] as const) {
    assert.equal(desc[f], num(l.fields[f]), `${f} of ${l.kind} ${l.id}`);
  }
}

test('ipcns-msg holds every queue, its messages and their sizes', { skip }, () => {
  const img = readImage(readDump('ipcns-msg-10.img'), 'ipcns-msg');
  const queues = lines('msg');
  const bodies = lines('msgbody');
  assert.equal(img.entries.length, queues.length);
  for (const q of queues) {
    const i = img.entries.findIndex((e) => e.desc.id === Number(q.id));
    assert.ok(i >= 0, `queue ${q.id} missing`);
    const e = img.entries[i]!;
    checkDesc(e.desc, q);
    assert.equal(e.qbytes, num(q.fields.qbytes));
    assert.equal(e.qnum, num(q.fields.qnum));
    const p = img.payloads![i]!;
    assert.ok(p.kind === 'ipc-msg');
    assert.equal(p.messages.length, e.qnum);
    const cbytes = p.messages.reduce((n, m) => n + m.body.byteLength, 0);
    assert.equal(cbytes, num(q.fields.cbytes), `cbytes of ${q.id}`);
    const expected = bodies.filter((b) => b.id.startsWith(`${q.id}[`));
    assert.deepEqual(
      p.messages.map((m) => [m.mtype, m.msize]),
      expected.map((b) => [BigInt(b.fields.type!), num(b.fields.size)]),
    );
  }
});

test('ipcns-sem holds every set and its values', { skip }, () => {
  const img = readImage(readDump('ipcns-sem-10.img'), 'ipcns-sem');
  const sets = lines('sem');
  const values = lines('semv');
  assert.equal(img.entries.length, sets.length);
  img.entries.forEach((e: IpcSemEntry, i) => {
    const s = sets.find((l) => Number(l.id) === e.desc.id)!;
    checkDesc(e.desc, s);
    assert.equal(e.nsems, num(s.fields.nsems));
    const p = img.payloads![i]!;
    assert.ok(p.kind === 'ipc-sem');
    const want = values.filter((v) => v.id.startsWith(`${s.id}[`)).map((v) => num(v.fields.val));
    assert.deepEqual(p.values, want);
  });
});

test('ipcns-shm holds every segment; contents come from pagemap-shmem + pages', { skip }, () => {
  const img = readImage(readDump('ipcns-shm-10.img'), 'ipcns-shm');
  const segs = lines('shm');
  assert.equal(img.entries.length, segs.length);
  for (const e of img.entries as IpcShmEntry[]) {
    const s = segs.find((l) => Number(l.id) === e.desc.id)!;
    checkDesc(e.desc, s);
    assert.equal(e.size, BigInt(s.fields.segsz!));
    assert.equal(e.in_pagemaps, true);
    const pagemap = readDump(`pagemap-shmem-${e.desc.id}.img`);
    const pages = readDump(`pages-${pagemapPagesId(pagemap)}.img`);
    const data = readShmemContents(pagemap, pages, e.size);
    assert.equal(data.byteLength, Number(e.size));
  }
});

test('pstree and ids: 22 tasks, all in one ipc namespace (id 10)', { skip }, () => {
  const tree = readImage(readDump('pstree.img'), 'pstree').entries as PstreeEntry[];
  assert.equal(tree.length, 22);
  assert.equal(tree[0]!.pid, 1);
  for (const t of tree) {
    const ids = readImage(readDump(`ids-${t.pid}.img`), 'ids').entries[0] as TaskKobjIdsEntry;
    assert.equal(ids.ipc_ns_id, 10, `task ${t.pid}`);
  }
});
