/**
 * restoreImages, the restore `nsd host restore` makes: kind by kind, each kind's operations in the
 * agent while the next is decoded; the pages images left in the directory, read and hashed by the
 * agent (OP_SHMFILE) and their digests checked against the manifest; a queue's messages sent by
 * the agent's background thread (OP_SYNC reports its failures). Each refusal must leave nothing:
 * the agent, and with it the new namespaces, gone.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dumpToDir } from '../../src/cli/host-commands.js';
import { Agent, dumpWith, loadRestoreImages, readRestoreDir, restoreHost, restoreImages, toImages, wrongLines } from '../../src/host/index.js';
import type { HostIpcNs } from '../../src/host/index.js';
import { bytes, desc, emptyNs, hostTest } from './helpers.js';

const PAGE = 4096;

/** Dense, sparse with a partial last page, all zero (an empty pages image), one byte. */
function segments(): Uint8Array[] {
  const sparse = bytes(5 * PAGE + 100, 2);
  sparse.fill(0, PAGE, 2 * PAGE);
  const one = new Uint8Array(3 * PAGE);
  one[2 * PAGE + 7] = 0xff;
  return [bytes(4 * PAGE, 1), sparse, new Uint8Array(2 * PAGE), one];
}

function namespace(data: Uint8Array[]): HostIpcNs {
  return emptyNs({
    msg: [0, 1, 2].map((i) => ({
      desc: desc(i, { key: 0x10 + i }), qbytes: 16384, messages: Array.from({ length: 3 + i }, (_, m) => ({ mtype: BigInt(m + 1), body: bytes(20 + m, i) })),
      stime: 0, rtime: 0, ctime: 0, lspid: 0, lrpid: 0,
    })),
    sem: [{ desc: desc(0, { key: 0x20 }), values: [1, 2, 3], pids: [1, 1, 1], ncnt: [], zcnt: [], otime: 0, ctime: 0 }],
    shm: data.map((d, i) => ({ desc: desc(i, { key: 0x100 + i }), size: d.byteLength, data: d, atime: 0, dtime: 0, ctime: 0, cpid: 0, lpid: 0, nattch: -1 })),
  });
}

/** Whether a host process has ended: gone, or dead and not yet reaped (a zombie; its reaper
 *  here may be a host's init that takes its time). Polls a little: a kill is asynchronous. */
async function gone(pid: number): Promise<boolean> {
  const ended = (): boolean => {
    try {
      return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
    } catch {
      return true;
    }
  };
  for (let i = 0; i < 100 && !ended(); i++) await new Promise((r) => setTimeout(r, 20));
  return ended();
}

/** Asserts that a restore is refused with `re`; one that succeeds anyway fails the test and is closed,
 *  so that its agent does not keep this test process alive. */
async function refused(result: Promise<{ agent: Agent }>, re: RegExp): Promise<void> {
  let done: { agent: Agent } | undefined;
  await assert.rejects(result.then((r) => {
    done = r;
    return r;
  }), re);
  if (done) await done.agent.close();
}

/** Restores `images` with a new agent; the agent's pid, and the restore's outcome. */
async function attempt(dir: string): Promise<{ pid: number; result: Promise<Awaited<ReturnType<typeof restoreImages>>> }> {
  const starting = Agent.start('ns');
  const pid = (await starting).hostPid;
  const read = await loadRestoreImages(dir, starting);
  const result = restoreImages(read.images, { starting, ...(read.pages ? { pages: read.pages } : {}) });
  result.catch(() => undefined);
  return { pid, result };
}

hostTest('the agent reads and hashes the pages images: contents back; a changed or longer one is refused, nothing left', async () => {
  const data = segments();
  const src = await restoreHost(namespace(data), { verify: false });
  const dir = mkdtempSync(join(tmpdir(), 'nsd-restore-images-'));
  try {
    const plain = await Agent.start('plain');
    try {
      await dumpToDir(src.agent.hostPid, dir, plain);
    } finally {
      await plain.close();
    }
    const left = readRestoreDir(dir);
    assert.deepEqual([...left.pages!.sizes.keys()].sort(), ['pages-1.img', 'pages-2.img', 'pages-3.img', 'pages-4.img'], 'the pages images are left in the directory');
    assert.ok(![...left.images.keys()].some((n) => n.startsWith('pages-')));

    const ok = await attempt(dir);
    const r = await ok.result;
    try {
      assert.deepEqual(wrongLines(r.report), []);
      const back = await dumpWith(r.agent, 0);
      assert.deepEqual(back.shm.map((s) => [...s.data]), data.map((d) => [...d]), 'every segment as it was');
      assert.deepEqual(back.msg.map((q) => q.messages.map((m) => [m.mtype, [...m.body]])), r.ns.msg.map((q) => q.messages.map((m) => [m.mtype, [...m.body]])));
      assert.deepEqual(back.msg.map((q) => q.messages.length), [3, 4, 5]);
    } finally {
      await r.agent.close();
    }

    // One byte changed, same size: the agent's digest of what it read is not the manifest's.
    const name = join(dir, 'pages-2.img');
    const good = readFileSync(name);
    const changed = Buffer.from(good);
    changed[5] ^= 1;
    writeFileSync(name, changed);
    const bad = await attempt(dir);
    await refused(bad.result, /shm 1: contents from pages-2\.img: SHA-256 [0-9a-f]{64} of what was read, the manifest says [0-9a-f]{64}/);
    assert.ok(await gone(bad.pid), 'the agent and its namespaces are gone');

    // One byte more: refused by size before anything is created.
    writeFileSync(name, Buffer.concat([good, Buffer.from([0])]));
    const longer = await attempt(dir);
    await refused(longer.result, /pages-2\.img@0: \d+ bytes, the manifest says \d+/);
    assert.ok(await gone(longer.pid));

    // The empty pages image of the all-zero segment is read by no operation: checked by Node.
    writeFileSync(name, good);
    writeFileSync(join(dir, 'pages-3.img'), Buffer.alloc(0));
    const again = await attempt(dir);
    await (await again.result).agent.close();
  } finally {
    await src.agent.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

hostTest('an agent without libcrypto: the pages images are read by Node, and the restore is the same', async () => {
  const data = segments();
  const src = await restoreHost(namespace(data), { verify: false });
  const dir = mkdtempSync(join(tmpdir(), 'nsd-restore-nocrypto-'));
  const saved = process.env.NSD_AGENT_NO_LIBCRYPTO;
  try {
    const plain = await Agent.start('plain');
    try {
      assert.equal(plain.sha256, true, 'this machine has libcrypto (the other path is the one under test)');
      await dumpToDir(src.agent.hostPid, dir, plain);
    } finally {
      await plain.close();
    }
    process.env.NSD_AGENT_NO_LIBCRYPTO = '1';
    const starting = Agent.start('ns');
    assert.equal((await starting).sha256, false);
    // Given the pages left in the directory, such an agent is refused, nothing created.
    const left = readRestoreDir(dir);
    await refused(restoreImages(left.images, { agent: await starting, pages: left.pages! }), /cannot hash pages images \(no libcrypto\)/);
    const read = await loadRestoreImages(dir, starting);
    assert.equal(read.pages, undefined);
    assert.ok(read.images.has('pages-1.img'), 'read into memory instead');
    const r = await restoreImages(read.images, { agent: await starting });
    try {
      assert.deepEqual(wrongLines(r.report), []);
      assert.deepEqual((await dumpWith(r.agent, 0)).shm.map((s) => [...s.data]), data.map((d) => [...d]));
    } finally {
      await r.agent.close();
    }
  } finally {
    if (saved === undefined) delete process.env.NSD_AGENT_NO_LIBCRYPTO;
    else process.env.NSD_AGENT_NO_LIBCRYPTO = saved;
    await src.agent.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

hostTest('a queue the background thread cannot fill fails the restore at OP_SYNC, naming the queue', async () => {
  // mtype 0: msgsnd refuses it (EINVAL, do_msgsnd's `mtype < 1`), in the agent's second thread.
  const ns = emptyNs({
    msg: [
      { desc: desc(0, { key: 1 }), qbytes: 16384, messages: [{ mtype: 1n, body: bytes(8, 1) }], stime: 0, rtime: 0, ctime: 0, lspid: 0, lrpid: 0 },
      { desc: desc(3, { key: 2 }), qbytes: 16384, messages: [{ mtype: 1n, body: bytes(8, 2) }, { mtype: 0n, body: bytes(8, 3) }], stime: 0, rtime: 0, ctime: 0, lspid: 0, lrpid: 0 },
    ],
  });
  const starting = Agent.start('ns');
  const pid = (await starting).hostPid;
  await refused(restoreHost(ns, { starting }), /restore: msg 3: its messages \(sent by the agent's background thread\): EINVAL/);
  assert.ok(await gone(pid));
});

hostTest('after a reset, the background thread sends into the agent\'s new IPC namespace', async () => {
  const queue = (n: number, seed: number): HostIpcNs => emptyNs({
    msg: [{ desc: desc(0, { key: 7 }), qbytes: 16384, messages: Array.from({ length: n }, (_, m) => ({ mtype: BigInt(m + 1), body: bytes(16, seed + m) })), stime: 0, rtime: 0, ctime: 0, lspid: 0, lrpid: 0 }],
  });
  const agent = await Agent.start('ns');
  try {
    const first = await restoreHost(queue(3, 1), { agent });
    assert.deepEqual(wrongLines(first.report), []);
    // The same id again: in the old namespace the queue holds 3 messages; the new one must get these 2 alone.
    const second = await restoreHost(queue(2, 50), { agent });
    assert.deepEqual(wrongLines(second.report), []);
    assert.deepEqual(second.restored!.msg.map((q) => q.messages.length), [2]);
  } finally {
    await agent.close();
  }
});

hostTest('a refusal halfway through (a SEM_UNDO list of a set the images lack) leaves nothing', async () => {
  // The queues are planned and sent before the sets are read; the set check then refuses.
  const ns = emptyNs({
    msg: [{ desc: desc(0, { key: 1 }), qbytes: 16384, messages: [{ mtype: 1n, body: bytes(8, 1) }], stime: 0, rtime: 0, ctime: 0, lspid: 0, lrpid: 0 }],
    sem: [{ desc: desc(0, { key: 2 }), values: [1], pids: [0], ncnt: [], zcnt: [], otime: 0, ctime: 0 }],
    tasks: [{ pid: 5, attach: [], undo: [{ semid: 99, adj: [1] }] }],
  });
  const starting = Agent.start('ns');
  const pid = (await starting).hostPid;
  await refused(restoreImages(toImages(ns), { starting }), /semundo\/5: set 99 is not a saved set of 1 semaphores/);
  assert.ok(await gone(pid));
});
