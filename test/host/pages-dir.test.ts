/**
 * `nsd host dump` lets the agent write each segment's pages image itself (DUMP_SHM_TO_DIR): those
 * files and their pagemaps must be exactly what the in-memory encoder writes (non-zero pages back
 * to back, a last partial page padded with zeros, no pages for an all-zero segment), the manifest
 * must cover them, and a pages image that cannot be written fails the dump, naming the file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dumpToDir } from '../../src/cli/host-commands.js';
import { Agent, dumpWith, fromImages, readRestoreDir, restoreHost, toImages } from '../../src/host/index.js';
import { bytes, desc, emptyNs, hostTest } from './helpers.js';

const PAGE = 4096;

/** Segments: dense; sparse (pages 1 and 3 zero) with a partial last page; all zero; one byte. */
function contents(): Uint8Array[] {
  const sparse = bytes(5 * PAGE + 100, 2);
  sparse.fill(0, PAGE, 2 * PAGE);
  sparse.fill(0, 3 * PAGE, 4 * PAGE);
  const one = new Uint8Array(3 * PAGE);
  one[2 * PAGE + 7] = 0xff;
  return [bytes(4 * PAGE, 1), sparse, new Uint8Array(2 * PAGE), one];
}

hostTest('pages images written by the agent are the in-memory encoder\'s, listed in the manifest, and restore', async () => {
  const data = contents();
  const ns = emptyNs({
    msg: [{ desc: desc(0, { key: 1 }), qbytes: 16384, messages: [{ mtype: 5n, body: bytes(30, 1) }], stime: 0, rtime: 0, ctime: 0, lspid: 0, lrpid: 0 }],
    shm: data.map((d, i) => ({ desc: desc(i, { key: 0x100 + i }), size: d.byteLength, data: d, atime: 0, dtime: 0, ctime: 0, cpid: 0, lpid: 0, nattch: -1 })),
  });
  const src = await restoreHost(ns, { verify: false });
  const dir = mkdtempSync(join(tmpdir(), 'nsd-pages-dir-'));
  try {
    const plain = await Agent.start('plain');
    try {
      const { images } = await dumpToDir(src.agent.hostPid, dir, plain);
      const inMemory = toImages(await dumpWith(plain, src.agent.hostPid));
      const files = readdirSync(dir).sort();
      assert.equal(images, files.length);
      assert.deepEqual(files, [...inMemory.keys()].sort(), 'the same image names');
      for (const name of files) {
        // The reads themselves move the segments' atime and lpid, which nsd-extra holds (and so the manifest).
        if (/^(nsd-extra|nsd-manifest)/.test(name)) continue;
        assert.deepEqual(new Uint8Array(readFileSync(join(dir, name))), inMemory.get(name), name);
      }
      assert.equal(readFileSync(join(dir, 'pages-3.img')).byteLength, 0, 'no pages for an all-zero segment');
      assert.equal(readFileSync(join(dir, 'pages-2.img')).byteLength, 4 * PAGE, 'the sparse segment: four non-zero pages, the last padded');
    } finally {
      await plain.close();
    }
    // The manifest covers the agent's files: readRestoreDir (every image read) + fromImages verify it, and the contents come back.
    const back = fromImages(readRestoreDir(dir, false).images);
    assert.deepEqual(back.shm.map((s) => [...s.data]), data.map((d) => [...d]));
    writeFileSync(join(dir, 'pages-2.img'), new Uint8Array(4 * PAGE));
    assert.throws(() => fromImages(readRestoreDir(dir, false).images), /pages-2\.img@0: SHA-256 does not match/);
  } finally {
    await src.agent.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

hostTest('a pages image that cannot be written fails the dump and names it', async () => {
  const ns = emptyNs({ shm: [0, 1].map((i) => ({ desc: desc(i, { key: 0x200 + i }), size: PAGE, data: bytes(PAGE, i), atime: 0, dtime: 0, ctime: 0, cpid: 0, lpid: 0, nattch: -1 })) });
  const src = await restoreHost(ns, { verify: false });
  const dir = mkdtempSync(join(tmpdir(), 'nsd-pages-dir-'));
  try {
    writeFileSync(join(dir, 'pages-2.img'), 'left over');
    await assert.rejects(dumpToDir(src.agent.hostPid, dir), (e: Error) => {
      assert.match(e.message, new RegExp(`pid ${src.agent.hostPid}: writing ${dir}/pages-2\\.img: EEXIST`));
      return true;
    });
    // The agent is still usable after a failed dump.
    const plain = await Agent.start('plain');
    try {
      assert.equal((await dumpWith(plain, src.agent.hostPid)).shm.length, 2);
    } finally {
      await plain.close();
    }
  } finally {
    await src.agent.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
