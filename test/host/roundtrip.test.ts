/**
 * The host backend on the real kernel, each round trip compared field by field with the lost
 * fields listed: host → host (what CRIU 4.2 loses included: messages > 8192 bytes, msg_qbytes
 * above msgmnb, SHM_LOCKED, SHM_DEST while attached, SEM_UNDO, cuid/cgid, lowered limits,
 * *_next_id), the real CRIU 4.2 dump → host, and model → host → model.
 */
import assert from 'node:assert/strict';
import { Agent, compareNs, dumpHost, dumpWith, fromImages, restoreHost, restorePlan, toImages, wrongLines, LOST_FIELDS } from '../../src/host/index.js';
import type { HostIpcNs, HostReportLine } from '../../src/host/index.js';
import { SHM_DEST, SHM_LOCKED } from '../../src/abi/constants.js';
import { KIND } from '../../src/host/protocol.js';
import { Kernel, constants as C } from '../../src/index.js';
import { dump, restoreIpcOnly } from '../../src/cr/index.js';
import { queuedMessages } from '../../src/kernel/ipc/msg.js';
import { storeBytes } from '../../src/kernel/mm/pages.js';
import { pidVnr, type IpcNs } from '../../src/kernel/ipc/util.js';
import { bytes, CRIU_DIR, desc, emptyNs, hostTest, readDir } from './helpers.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const W = 0x300000000000;

/** A namespace with everything CRIU 4.2 cannot restore. */
function hard(): HostIpcNs {
  return emptyNs({
    sysctls: { 'kernel/msgmax': '8192', 'kernel/msgmnb': '16384', 'kernel/msgmni': '5', 'kernel/msg_next_id': '1234', 'kernel/shmmni': '7' },
    msg: [
      {
        desc: desc(32768 * 3 + 5, { key: 0x1234, uid: 1000, gid: 1001, cuid: 1000, cgid: 1000, mode: 0o640 }), qbytes: 100000,
        messages: [1, 8192, 50000, 3].map((n, i) => ({ mtype: BigInt(i + 1), body: bytes(n, i) })),
        stime: 0, rtime: 0, ctime: 0, lspid: 77, lrpid: 78,
      },
      { desc: desc(7), qbytes: 10, messages: [{ mtype: 9n, body: bytes(20, 9) }], stime: 0, rtime: 0, ctime: 0, lspid: 0, lrpid: 0 },
    ],
    sem: [{ desc: desc(3, { key: 0x77, mode: 0o666 }), values: [0, 5, 100, 32765], pids: [0, 79, 42, 43], ncnt: [], zcnt: [], otime: 0, ctime: 0 }],
    shm: [
      { desc: desc(65536 + 2, { key: 0x5555, mode: 0o600 | SHM_LOCKED }), size: 70000, data: bytes(70000, 3), atime: 0, dtime: 0, ctime: 0, cpid: 80, lpid: 42, nattch: -1 },
      { desc: desc(9, { mode: 0o644 | SHM_DEST }), size: 4096, data: bytes(4096, 4), atime: 0, dtime: 0, ctime: 0, cpid: 1, lpid: 81, nattch: -1 },
      { desc: desc(10, { mode: 0o600 | SHM_DEST }), size: 100, data: bytes(100, 5), atime: 0, dtime: 0, ctime: 0, cpid: 0, lpid: 0, nattch: -1 },
    ],
    tasks: [
      { pid: 42, attach: [{ shmid: 65538, start: W, end: W + 73728, offset: 0, flags: 0 }], undo: [{ semid: 3, adj: [1, -2, 0, 0] }] },
      { pid: 43, attach: [{ shmid: 9, start: W + 0x100000, end: W + 0x101000, offset: 0, flags: 0o10000 }], undo: [{ semid: 3, adj: [0, 0, 5, 5] }] },
    ],
  });
}

function onlyLost(r: HostReportLine[], what: string): void {
  assert.deepEqual(wrongLines(r), [], `${what}: fields that should have come back`);
  for (const l of r) assert.ok(LOST_FIELDS[l.field], `${what}: ${l.field} is a field the kernel cannot set`);
}

async function values(agent: Agent, id: number): Promise<number[]> {
  return (await dumpWith(agent, 0)).sem.find((s) => s.desc.id === id)!.values;
}

hostTest('host → host: ids, big messages, qbytes, cuid/cgid, SHM_LOCKED, SHM_DEST, attachments, SEM_UNDO, limits, next_id', async () => {
  const src = hard();
  const a = await restoreHost(src);
  try {
    onlyLost(a.report, 'restore of the built namespace');
    // Last pids come back through calls made by a task at that pid (holders, stand-ins).
    assert.deepEqual(a.report.filter((l) => /pid$/.test(l.field)).map((l) => `${l.object} ${l.field}`), [
      'msg 7 lspid', // no pid saved: the agent sent
      'sem 3[0] sempid', 'shm 10 cpid', 'shm 10 lpid', // saved 0, never operated: the agent created it
    ].filter((x) => a.report.some((l) => `${l.object} ${l.field}` === x)));
    const q0 = a.restored!.msg.find((x) => x.desc.id === 32768 * 3 + 5)!;
    assert.deepEqual([q0.lspid, q0.lrpid], [77, 78]);
    assert.deepEqual(a.restored!.sem[0]!.pids, [42, 79, 42, 43], 'sem 3[0]: saved 0, but task 42 made its SEM_UNDO there');
    assert.deepEqual(a.restored!.shm.filter((m) => m.desc.id !== 10).map((m) => [m.cpid, m.lpid]), [[80, 42], [1, 81]]);
    // The verification left the segments as the plan made them: a second look (attaching nothing)
    // sees the lpid/atime/dtime the verifying re-dump read, the saved lpids among them.
    const live = await dumpWith(a.agent, 0, { shmData: false });
    const times = (ns: HostIpcNs) => ns.shm.map((m) => [m.desc.id, m.lpid, m.atime, m.dtime]);
    assert.deepEqual(times(live), times(a.restored!), 'lpid atime dtime after the verified restore');
    assert.deepEqual(live.shm.filter((m) => m.desc.id !== 10).map((m) => m.lpid), [42, 81]);
    // Read from outside, as `nsd host dump -t` does (setns into the agent's namespaces).
    const d = await dumpHost(a.agent.hostPid);
    assert.equal(d.sysctls['kernel/msg_next_id'], '1234');
    assert.equal(d.sysctls['kernel/msgmax'], '8192');
    assert.equal(d.sysctls['kernel/msgmni'], '5');
    const q = d.msg.find((x) => x.desc.id === 32768 * 3 + 5)!;
    assert.deepEqual(q.messages.map((m) => m.body.byteLength), [1, 8192, 50000, 3]);
    assert.deepEqual([q.qbytes, q.desc.cuid, q.desc.cgid, q.desc.uid, q.desc.gid], [100000, 1000, 1000, 1000, 1001]);
    assert.equal(d.msg.find((x) => x.desc.id === 7)!.qbytes, 10);
    const locked = d.shm.find((s) => s.desc.id === 65538)!;
    assert.equal(locked.desc.mode, 0o600 | SHM_LOCKED);
    assert.equal(locked.nattch, 1);
    const dest = d.shm.find((s) => s.desc.id === 9)!;
    assert.deepEqual([dest.desc.mode, dest.desc.key, dest.nattch], [0o644 | SHM_DEST, 0, 1]);
    assert.equal(d.shm.find((s) => s.desc.id === 10)!.desc.mode & SHM_DEST, SHM_DEST, 'held by the agent');
    assert.deepEqual(d.tasks.map((t) => t.pid), [1, 42, 43], 'pids as seen in the restored pid namespace');
    assert.deepEqual(d.tasks[1]!.attach.map((x) => [x.shmid, x.start]), [[65538, W]]);
    assert.deepEqual(d.tasks[2]!.attach.map((x) => [x.shmid, x.start, x.flags]), [[9, W + 0x100000, 0o10000]]);
    assert.deepEqual(d.sem[0]!.values, [0, 5, 100, 32765]);
    onlyLost(compareNs(src, d), 'dump from outside');

    // host → images → host.
    const back = fromImages(toImages(d));
    assert.equal(back.source, 'host');
    const b = await restoreHost(back);
    try {
      onlyLost(b.report, 'host → host');
      const again = await dumpWith(b.agent, 0);
      assert.deepEqual(again.tasks.map((t) => t.attach.map((x) => `${x.shmid}@${x.start}`)), d.tasks.map((t) => t.attach.map((x) => `${x.shmid}@${x.start}`)));
      assert.deepEqual(compareNs(d, again).filter((l) => !/time$|pid$/.test(l.field)), []);
    } finally {
      await b.agent.close();
    }

    // SEM_UNDO: each holder's adjustment is applied when it exits (exit_sem), clamped to SEMVMX.
    await a.agent.call('KILL', [0, 42]);
    assert.deepEqual(await values(a.agent, 3), [1, 3, 100, 32765]);
    await a.agent.call('KILL', [0, 43]);
    assert.deepEqual(await values(a.agent, 3), [1, 3, 105, 32767]);
  } finally {
    await a.agent.close();
  }
});

hostTest('a failing restore is refused and leaves nothing: duplicate key', async () => {
  const ns = emptyNs({
    msg: [1, 2].map((id) => ({ desc: desc(id, { key: 0x99 }), qbytes: 16384, messages: [], stime: 0, rtime: 0, ctime: 0, lspid: 0, lrpid: 0 })),
  });
  await assert.rejects(restoreHost(ns), /msg 2: create \(key 153.*EEXIST/);
});

hostTest('the real CRIU 4.2 dump → host: everything its images hold, plus SHM_DEST and SHM_LOCKED CRIU drops', async () => {
  const ns = fromImages(readDir(CRIU_DIR));
  assert.equal(ns.source, 'criu');
  const r = await restoreHost(ns);
  try {
    assert.deepEqual(r.report, [], 'no difference on any field the images hold');
    assert.ok(r.missing.some((m) => m.startsWith('msg: stime')));
    const got = r.restored!;
    const num = (s: string): number => (s.startsWith('0x') ? parseInt(s, 16) : s.length > 1 && s.startsWith('0') ? parseInt(s, 8) : Number(s));
    let checked = 0;
    for (const line of readFileSync(join(CRIU_DIR, 'state-before-dump.txt'), 'utf8').split('\n')) {
      const [kind, id, ...rest] = line.split(' ');
      const f = Object.fromEntries(rest.map((p) => p.split('=') as [string, string]));
      if (kind === 'msg') {
        const q = got.msg.find((x) => x.desc.id === Number(id))!;
        for (const k of ['key', 'uid', 'gid', 'cuid', 'cgid', 'mode', 'qbytes', 'qnum', 'cbytes'] as const) {
          const v = k === 'qnum' ? q.messages.length : k === 'cbytes' ? q.messages.reduce((n, m) => n + m.body.byteLength, 0) : k === 'qbytes' ? q.qbytes : q.desc[k];
          assert.equal(v, num(f[k]!), `msg ${id} ${k}`);
          checked++;
        }
      } else if (kind === 'sem' || kind === 'shm') {
        const o = (kind === 'sem' ? got.sem : got.shm).find((x) => x.desc.id === Number(id))!;
        for (const k of ['key', 'uid', 'gid', 'cuid', 'cgid', 'mode'] as const) {
          assert.equal(o.desc[k], num(f[k]!), `${kind} ${id} ${k}`);
          checked++;
        }
        if (kind === 'shm') assert.equal((o as HostIpcNs['shm'][number]).size, num(f.segsz!));
      } else if (kind === 'semv') {
        const m = /^(\d+)\[(\d+)\]$/.exec(id!)!;
        assert.equal(got.sem.find((x) => x.desc.id === Number(m[1]))!.values[Number(m[2])], num(f.val!), `semv ${id}`);
        checked++;
      } else if (kind === 'msgbody') {
        const m = /^(\d+)\[(\d+)\]$/.exec(id!)!;
        const msg = got.msg.find((x) => x.desc.id === Number(m[1]))!.messages[Number(m[2])]!;
        assert.deepEqual([msg.mtype, msg.body.byteLength], [BigInt(f.type!), num(f.size!)], `msgbody ${id}`);
        checked++;
      }
    }
    assert.ok(checked > 150, `checked ${checked} fields`);
    // What CRIU 4.2 restores wrong, right here: 164010 is SHM_DEST (01600), 327739 SHM_LOCKED (02600).
    assert.equal(got.shm.find((s) => s.desc.id === 164010)!.desc.mode, 0o1600);
    assert.equal(got.shm.find((s) => s.desc.id === 327739)!.desc.mode, 0o2600);
  } finally {
    await r.agent.close();
  }
});

/** The model's IPC namespace as a HostIpcNs (pids as `viewer` sees them). */
function modelNs(k: Kernel, ipcns: number, viewerKid: number): HostIpcNs {
  const ns = k.ipcNs(ipcns) as IpcNs;
  const viewer = k.t(viewerKid);
  const pid = (p: number): number => pidVnr(k, viewer, p);
  const d = (p: { key: number; uid: number; gid: number; cuid: number; cgid: number; mode: number }, id: number) => ({ id, key: p.key >>> 0, uid: p.uid, gid: p.gid, cuid: p.cuid, cgid: p.cgid, mode: p.mode });
  const idOf = (kind: 'msg' | 'sem' | 'shm', idx: number, perm: { seq: number }): number => perm.seq * 32768 + idx;
  return emptyNs({
    msg: [...ns.msg.objs].map(([idx, q]) => ({
      desc: d(q.perm, idOf('msg', idx, q.perm)), qbytes: q.qbytes,
      messages: queuedMessages(q).map((m) => ({ mtype: BigInt(m.mtype), body: m.text })),
      stime: q.stime, rtime: q.rtime, ctime: q.ctime, lspid: pid(q.lspid), lrpid: pid(q.lrpid),
    })),
    sem: [...ns.sem.objs].map(([idx, s]) => ({ desc: d(s.perm, idOf('sem', idx, s.perm)), values: [...s.vals], pids: s.pids.map(pid), ncnt: [], zcnt: [], otime: s.otime, ctime: s.ctime })),
    shm: [...ns.shm.objs].map(([idx, s]) => ({
      desc: d(s.perm, idOf('shm', idx, s.perm)), size: s.segsz, data: storeBytes(s.store, 0, s.segsz),
      atime: s.atime, dtime: s.dtime, ctime: s.ctime, cpid: pid(s.cpid), lpid: pid(s.lpid), nattch: -1,
    })),
  });
}

hostTest('model → host → model: a model dump restored on the real kernel, dumped there, restored in the model', async () => {
  // A model container: init with a queue, a set and a segment; two children with SEM_UNDO.
  const k = new Kernel();
  const c = k.task(k.init.sys.clone(C.CLONE_NEWPID | C.CLONE_NEWIPC | C.SIGCHLD))!;
  const q = c.sys.msgget(0x4d, C.IPC_CREAT | 0o640);
  c.sys.msgsnd(q, 5, new TextEncoder().encode('hello from the model'), 0);
  c.sys.msgsnd(q, 6, new Uint8Array(3000).fill(7), 0);
  const s = c.sys.semget(C.IPC_PRIVATE, 3, C.IPC_CREAT | 0o600);
  c.sys.semctl(s, 2, C.SETVAL, 9);
  const m = c.sys.shmget(0x4e, 10000, C.IPC_CREAT | 0o600);
  const g = k.taskIn(c, c.sys.fork())!;
  g.sys.semop(s, [{ sem_num: 0, sem_op: 4, sem_flg: C.SEM_UNDO }]);
  const h = k.taskIn(c, c.sys.fork())!;
  h.sys.semop(s, [{ sem_num: 1, sem_op: 2, sem_flg: C.SEM_UNDO }]);
  const saved = dump(k, c.pid);
  const model = fromImages(saved.images);
  assert.equal(model.source, 'model');
  assert.deepEqual(model.tasks.map((t) => [t.pid, t.undo]), [[2, [{ semid: s, adj: [-4, 0, 0] }]], [3, [{ semid: s, adj: [0, -2, 0] }]]]);

  const r = await restoreHost(model);
  try {
    onlyLost(r.report, 'model → host');
    assert.deepEqual(r.restored!.sem[0]!.values, [4, 2, 9]);
    assert.equal(new TextDecoder().decode(r.restored!.msg[0]!.messages[0]!.body), 'hello from the model');
    assert.deepEqual(r.restored!.shm.map((x) => x.desc.id), [m]);

    // host → model: the host dump restored with --ipc-only (nsd strategy: times and pids too).
    const onHost = await dumpHost(r.agent.hostPid);
    const k2 = new Kernel();
    const res = restoreIpcOnly(k2, toImages(onHost), { strategy: 'nsd' });
    assert.deepEqual(res.missing, []);
    const inModel = modelNs(k2, res.ipcns, res.holderPid);
    const diff = compareNs({ ...onHost, tasks: [] }, inModel, { sysctls: false });
    assert.deepEqual(diff.filter((l) => !/pid$/.test(l.field)), [], 'every field but last pids (the model names them in its own pid namespace)');

    // The holders' SEM_UNDO adjustments are live on the host: their exits undo them.
    await r.agent.call('KILL', [0, 2]);
    await r.agent.call('KILL', [0, 3]);
    assert.deepEqual(await values(r.agent, s), [0, 0, 9]);
  } finally {
    await r.agent.close();
  }
});

/** The objects a plan creates, in order: OP_GET steps (with the id they expect), and the rows of
 *  OP_GETV steps decoded (their ids are checked by the step's `check`, tested below). */
function creations(plan: ReturnType<typeof restorePlan>): { op: string; kind: number; id?: number; nextId: number; values?: number[] }[] {
  const out: { op: string; kind: number; id?: number; nextId: number; values?: number[] }[] = [];
  for (const s of plan) {
    const a = s.req.args.map(Number);
    if (s.req.op === 'GET') out.push({ op: 'GET', kind: a[1]!, id: s.expect!, nextId: a[7]! });
    if (s.req.op !== 'GETV') continue;
    const b = Buffer.from(s.req.data!);
    let at = 0;
    for (let i = 0; i < a[2]!; i++) {
      const n = b.readUInt32LE(at + 52);
      const data = b.subarray(at + 56, at + 56 + n);
      const values = a[1] === KIND.sem && n > 0 ? Array.from({ length: n / 2 }, (_, k) => data.readUInt16LE(2 * k)) : undefined;
      out.push({ op: b.readUInt32LE(at + 48) === 1 ? 'GETV/SETVAL' : 'GETV', kind: a[1]!, nextId: b.readUInt32LE(at + 40) + b.readInt32LE(at + 44) * 2 ** 32, ...(values ? { values } : {}) });
      at += 56 + n;
    }
    assert.equal(at, b.byteLength, 'rows fill the frame');
  }
  return out;
}

/** An OP_GETV answer: the ids created, as i64s (and, on a failure, its errno). */
const getvAnswer = (ids: number[], errno = 0) => ({ ret: errno ? -1 : ids.length, errno, data: new Uint8Array(BigInt64Array.from(ids.map(BigInt)).buffer) });

hostTest('the plan makes only the calls that change something, and every last pid a task can make comes back', async () => {
  const ns = emptyNs({
    source: 'host',
    sysctls: { 'kernel/msgmnb': '16384' },
    msg: [
      { desc: desc(0, { key: 1 }), qbytes: 16384, messages: [{ mtype: 1n, body: bytes(10, 1) }], stime: 0, rtime: 0, ctime: 0, lspid: 1, lrpid: 0 },
      { desc: desc(1, { key: 2, uid: 1000, cuid: 0 }), qbytes: 16384, messages: [], stime: 0, rtime: 0, ctime: 0, lspid: 0, lrpid: 0 },
      { desc: desc(2, { key: 3 }), qbytes: 100, messages: [], stime: 0, rtime: 0, ctime: 0, lspid: 0, lrpid: 0 },
    ],
    sem: [
      // A semaphore at 0 with sempid 0 keeps both: SETVALs of the others; 42 is a stand-in.
      { desc: desc(0, { key: 4 }), values: [0, 3, 0, 5], pids: [1, 1, 0, 42], ncnt: [], zcnt: [], otime: 0, ctime: 0 },
      // Every sempid is the agent's: SETALL records it, no semop needed (values 0 included).
      { desc: desc(1, { key: 5 }), values: [0, 0, 7], pids: [1, 1, 1], ncnt: [], zcnt: [], otime: 0, ctime: 0 },
    ],
    shm: [{ desc: desc(0, { key: 6 }), size: 4096, data: bytes(4096, 2), atime: 0, dtime: 0, ctime: 0, cpid: 1, lpid: 1, nattch: 0 }],
  });
  const plan = restorePlan(ns, { actors: new Set([1, 42]), standIns: [42] });
  const count = (op: string): number => plan.filter((s) => s.req.op === op).length;
  // IPC_SET for the queue whose uid is not its cuid and the one whose qbytes is not msgmnb only.
  assert.deepEqual(plan.filter((s) => s.req.op === 'SET').map((s) => s.req.args[2]), [1, 2]);
  // sempids: one pair of calls by the agent (sem 0 [0]) and one by task 42 (sem 0 [3]).
  assert.deepEqual(plan.filter((s) => s.req.op === 'SEMOPV').map((s) => s.req.args.slice(0, 2)), [[1, 0], [1, 0], [42, 0], [42, 0]]);
  // SETALL of sem 1, in its creation (a row of OP_GETV: nothing else to do for it); sem 0 has
  // SETVALs and sempid calls to make, so its own OP_GET; queue 0 (lspid the agent's) and queue 2
  // are rows, queue 1 a row too (its IPC_SET comes after the messages, msgTail).
  assert.equal(count('SETALL'), 0);
  const made = creations(plan);
  assert.deepEqual(made.map((c) => [c.op, c.kind, c.id, c.values]), [
    ['GETV', KIND.msg, undefined, undefined], ['GETV', KIND.msg, undefined, undefined], ['GETV', KIND.msg, undefined, undefined],
    ['GET', KIND.sem, 0, undefined], ['GETV', KIND.sem, undefined, [0, 0, 7]], ['GET', KIND.shm, 0, undefined],
  ]);
  // An OP_GETV step accepts its objects at their saved ids only, and names the one that is not,
  // or the one that failed (the answer then holds the ids of those before it).
  const queues = plan.find((s) => s.req.op === 'GETV')!;
  assert.equal(queues.expect, 3);
  assert.equal(queues.check!(getvAnswer([0, 1, 2])), undefined);
  assert.equal(queues.check!(getvAnswer([0, 5, 2])), 'msg 1: create (key 2, cuid 0): got 5, wanted 1');
  assert.equal(queues.what(getvAnswer([0], 28)), 'msg 1: create (key 2, cuid 0)');
  assert.equal(queues.what(), '3 msg objects: create');
  // Ids 0, 1, 2… in creation order are the kernel's own choice in a new namespace: no *_next_id
  // is written for them (-1); a kind whose ids are not in order gets one before each *get.
  assert.deepEqual(made.map((c) => c.nextId), [-1, -1, -1, -1, -1, -1]);
  const gap = { ...ns, sem: [ns.sem[0]!, { ...ns.sem[1]!, desc: { ...ns.sem[1]!.desc, id: 5 } }] };
  assert.deepEqual(creations(restorePlan(gap, { actors: new Set([1, 42]), standIns: [42] })).map((c) => c.nextId), [-1, -1, -1, 0, 5, -1]);
  assert.equal(count('SETVAL'), 2);
  assert.equal(count('SHMTOUCHV'), 0, 'the contents were written by the agent: its lpid already');
  const r = await restoreHost(ns);
  try {
    assert.deepEqual(wrongLines(r.report), []);
    assert.deepEqual(r.report.filter((l) => /pid$/.test(l.field)), [], 'every last pid came back');
    assert.deepEqual(r.restored!.sem.map((s) => s.pids), [[1, 1, 0, 42], [1, 1, 1]]);
    assert.deepEqual(r.restored!.msg.map((q) => [q.desc.uid, q.qbytes]), [[0, 16384], [1000, 16384], [0, 100]]);
  } finally {
    await r.agent.close();
  }
});
