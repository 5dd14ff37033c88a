/**
 * Hostile nsd-extra-1.img (the IPC namespace's times, last pids, sempids, SEM_UNDO lists and
 * allocator cursors), re-signed so the manifest agrees: an entry removed, duplicated, of an unknown
 * section, with a bad key or a field removed is refused naming the image, the entry and the field,
 * with the kernel unchanged — never restored as "no undo list" or "no cursors".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, Sys, constants as C } from '../../src/index.js';
import { dump, restore, restoreIpcOnly, CrError } from '../../src/cr/index.js';
import { pagemapPagesId, readNsdExtra, writeNsdExtra, type NsdExtraEntry } from '../../src/cr/image/index.js';
import { MANIFEST, writeManifest } from '../../src/cr/manifest.js';
import { decodePlain, encodePlain } from '../../src/cr/plain.js';

const EXTRA = 'nsd-extra-1.img';

/** A container: init with a SEM_UNDO list, a child without one, a queue and a segment. */
function checkpoint(): { k: Kernel; images: Map<string, Uint8Array>; entries: NsdExtraEntry[]; semid: number } {
  const k = new Kernel();
  const c = k.task(k.init.sys.clone(C.CLONE_NEWPID | C.CLONE_NEWIPC | C.SIGCHLD))!;
  const id = c.sys.semget(C.IPC_PRIVATE, 2, C.IPC_CREAT | 0o600);
  c.sys.semop(id, [{ sem_num: 1, sem_op: 3, sem_flg: C.SEM_UNDO }]);
  c.sys.msgget(C.IPC_PRIVATE, C.IPC_CREAT | 0o600);
  c.sys.shmget(C.IPC_PRIVATE, 4096, C.IPC_CREAT | 0o600);
  k.taskIn(c, c.sys.fork());
  const d = dump(k, c.pid);
  k.init.sys.wait4(c.pid, 0);
  return { k, images: new Map(d.images), entries: readNsdExtra(d.images.get(EXTRA)!, EXTRA).entries, semid: id };
}

function resigned(images: Map<string, Uint8Array>, entries: NsdExtraEntry[]): Map<string, Uint8Array> {
  const out = new Map(images);
  out.set(EXTRA, writeNsdExtra(entries));
  out.set(MANIFEST, writeManifest(out));
  return out;
}

/** Restoring `images` is refused by an ImageError of nsd-extra-1.img matching `why`, the kernel untouched. */
function refused(k: Kernel, images: Map<string, Uint8Array>, why: RegExp, what: string): void {
  const snap = k.snapshot();
  assert.throws(() => restore(k, images), (e: unknown) => {
    assert.ok(e instanceof CrError && e.phase === 'images', `${what}: ${String(e)}`);
    assert.match(e.message, new RegExp(EXTRA.replace(/[.-]/g, '\\$&')), what);
    assert.match(e.message, why, what);
    return true;
  }, what);
  assert.deepEqual(k.snapshot(), snap, what);
}

test('the dump writes a semundo entry for every process (empty without an undo list) and the cursors', () => {
  const { entries } = checkpoint();
  const undo = entries.filter((e) => e.section === 'semundo');
  assert.deepEqual(undo.map((e) => e.key), ['1', '2']);
  assert.match(decodePlain(undo[0]!.json!) as string, /^\d+ 0 -3\n$/);
  assert.equal(decodePlain(undo[1]!.json!), '', 'the child has no undo list');
  assert.equal(entries.filter((e) => e.section === 'cursors').length, 1);
});

test('every entry of nsd-extra-1.img is required: each one removed is refused by name', () => {
  const { k, images, entries } = checkpoint();
  // The intact images restore (the refusals below are about the edit, not the checkpoint).
  const ok = new Kernel();
  restore(ok, resigned(images, entries));
  for (const e of entries) {
    const name = `${e.section}/${e.key}`;
    refused(k, resigned(images, entries.filter((x) => x !== e)), new RegExp(`entry ${name.replace('/', '\\/')} is missing`), `${name} removed`);
  }
});

test('duplicate, unknown, badly keyed entries and removed or extra fields are refused by name', () => {
  const { k, images, entries } = checkpoint();
  const undo = entries.find((e) => e.section === 'semundo' && e.key === '2')!;
  const cursors = entries.find((e) => e.section === 'cursors')!;
  const edit = (e: NsdExtraEntry, f: (v: Record<string, Record<string, unknown>>) => void): NsdExtraEntry[] => {
    const v = decodePlain(e.json!) as Record<string, Record<string, unknown>>;
    f(v);
    return entries.map((x) => (x === e ? { ...x, json: encodePlain(v) } : x));
  };
  const cases: [string, NsdExtraEntry[], RegExp][] = [
    ['duplicate semundo', [...entries, undo], /entry semundo\/2: duplicate entry/],
    ['unknown section', [...entries, { section: 'mqueue', key: '1', json: encodePlain('') }], /entry mqueue\/1: unknown section "mqueue"/],
    ['semundo key not a pid', entries.map((x) => (x === undo ? { ...x, key: 'x' } : x)), /entry semundo\/x: key "x" is not a pid/],
    ['semundo of a pid not in the tree', [...entries, { ...undo, key: '9' }], /entry semundo\/9: pid 9 is not in pstree.img/],
    ['semundo not text', entries.map((x) => (x === undo ? { ...x, json: encodePlain(7) } : x)), /entry semundo\/2: is not a string/],
    ['semundo of no set', entries.map((x) => (x === undo ? { ...x, json: encodePlain('12345 1 1\n') } : x)), /entry semundo\/2: no sem 12345/],
    ['cursors field removed', edit(cursors, (v) => delete v.sem!.lastIdx), /entry cursors\/: field sem.lastIdx is missing/],
    ['cursors field out of range', edit(cursors, (v) => (v.msg!.cursor = -5)), /entry cursors\/: field msg.cursor is below 0/],
    ['cursors extra field', edit(cursors, (v) => (v.shm!.objs = 1)), /entry cursors\/: field shm.objs is not a field of this entry/],
  ];
  for (const [what, changed, why] of cases) refused(k, resigned(images, changed), why, what);
});

test('a shm segment whose pages file is missing is refused naming the file', () => {
  const { k, images } = checkpoint();
  const pm = [...images.keys()].find((n) => n.startsWith('pagemap-shmem-'))!;
  const pages = `pages-${pagemapPagesId(images.get(pm)!, pm)}.img`;
  assert.ok(images.has(pages), pages);
  const out = new Map(images);
  out.delete(pages);
  out.set(MANIFEST, writeManifest(out));
  const snap = k.snapshot();
  assert.throws(() => restore(k, out), (e: unknown) => e instanceof CrError && e.message.includes(pages) && /missing image/.test(e.message));
  assert.deepEqual(k.snapshot(), snap);
});

test('--ipc-only of a model dump reports each SEM_UNDO list it has no process for, and restores the rest', () => {
  const { images, semid } = checkpoint();
  const k = new Kernel();
  const r = restoreIpcOnly(k, images);
  assert.deepEqual(r.report.filter((l) => l.field === 'SEM_UNDO list').map((l) => [l.object, l.restored]), [['pid 1', '']]);
  assert.match(r.report.find((l) => l.field === 'SEM_UNDO list')!.saved, /^\d+ 0 -3$/);
  const holder = k.t(r.holderPid);
  assert.deepEqual(new Sys(k, holder.kid).semctl(semid, 0, C.GETALL), [0, 3], 'the set and its values are restored');
});
