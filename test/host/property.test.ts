/**
 * Property: random IPC namespaces built on the real kernel, dumped and restored, come back equal
 * on every field the kernel lets a restore set (the others are `lost`, never `wrong`; last pids
 * naming the agent or a holder come back too); the holder
 * tasks' attachments come back at their addresses and their SEM_UNDO adjustments are live (each
 * holder's exit applies exactly its adjustment, clamped as exit_sem clamps). Two agents are reused
 * (OP_RESET gives each run a fresh IPC namespace), so a run costs a few milliseconds.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { after, before } from 'node:test';
import { Agent, compareNs, dumpWith, fromImages, restoreHost, toImages, wrongLines, LOST_FIELDS } from '../../src/host/index.js';
import type { HostIpcNs, HostReportLine, HostTask } from '../../src/host/index.js';
import { SEMVMX, SHM_DEST, SHM_LOCKED } from '../../src/abi/constants.js';
import { HOST_SKIP, desc, emptyNs, hostTest } from './helpers.js';

const RUNS = 200;
const W = 0x300000000000;
const uids = fc.constantFrom(0, 1000, 65534);
const id = (idx: number, seq: number): number => seq * 32768 + idx;
const content = (n: number, seed: number, sparse: boolean): Uint8Array =>
  Uint8Array.from({ length: n }, (_, i) => (sparse && (i >> 12) % 2 === 1 ? 0 : (i * 13 + seed) & 0xff));

const perm = fc.record({ mode: fc.integer({ min: 0, max: 0o777 }), uid: uids, gid: uids, cuid: uids, cgid: uids, seq: fc.integer({ min: 0, max: 3 }), priv: fc.boolean() });

const rawArb = fc
  .record({
    msg: fc.uniqueArray(fc.record({ idx: fc.integer({ min: 0, max: 300 }), p: perm, qbytes: fc.integer({ min: 1, max: 200000 }), sizes: fc.array(fc.integer({ min: 0, max: 12000 }), { maxLength: 4 }) }), { selector: (x) => x.idx, maxLength: 3 }),
    sem: fc.uniqueArray(fc.record({ idx: fc.integer({ min: 0, max: 300 }), p: perm, values: fc.array(fc.integer({ min: 0, max: SEMVMX }), { minLength: 1, maxLength: 6 }) }), { selector: (x) => x.idx, maxLength: 3 }),
    shm: fc.uniqueArray(fc.record({ idx: fc.integer({ min: 0, max: 300 }), p: perm, size: fc.integer({ min: 1, max: 20000 }), sparse: fc.boolean(), locked: fc.boolean(), dest: fc.boolean() }), { selector: (x) => x.idx, maxLength: 3 }),
    holders: fc.uniqueArray(fc.record({ pid: fc.integer({ min: 2, max: 400 }), attach: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }), ro: fc.boolean(), adj: fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 18, maxLength: 18 }) }), { selector: (x) => x.pid, maxLength: 2 }),
    msgmax: fc.constantFrom('8192', '4096', '20000'),
    msgmni: fc.constantFrom('32000', '3'),
    semctl: fc.constantFrom('32000 1024000000 500 32000', '6 20 32 3'),
    shmmni: fc.constantFrom('4096', '3'),
    nextId: fc.constantFrom(-1, 5, 70000),
  });

type Raw = typeof rawArb extends fc.Arbitrary<infer T> ? T : never;

/** The namespace a generated record describes (built in the property, so counterexamples stay short). */
function build(g: Raw): HostIpcNs {
  {
    const d = (kind: number, idx: number, p: typeof g.msg[number]['p'], extra = 0) =>
      desc(id(idx, p.seq), { key: p.priv ? 0 : 0x10000 * kind + idx, mode: p.mode | extra, uid: p.uid, gid: p.gid, cuid: p.cuid, cgid: p.cgid });
    const shm = g.shm.map((m, i) => ({
      desc: d(3, m.idx, m.p, (m.locked ? SHM_LOCKED : 0) | (m.dest ? SHM_DEST : 0)),
      size: m.size, data: content(m.size, i, m.sparse), atime: 0, dtime: 0, ctime: 0, cpid: 0, lpid: 0, nattch: -1,
    }));
    for (const m of shm) if (m.desc.mode & SHM_DEST) m.desc.key = 0; // IPC_RMID makes the key private
    const sem = g.sem.map((s) => ({ desc: d(2, s.idx, s.p), values: s.values, pids: s.values.map(() => 0), ncnt: [], zcnt: [], otime: 0, ctime: 0 }));
    const tasks: HostTask[] = g.holders.map((h, hi) => ({
      pid: h.pid,
      attach: shm.flatMap((m, i) => (h.attach[i] ? [{ shmid: m.desc.id, start: W + (hi * 4 + i) * 0x100000, end: W + (hi * 4 + i) * 0x100000 + Math.ceil(m.size / 4096) * 4096, offset: 0, flags: h.ro ? 0o10000 : 0 }] : [])),
      undo: sem.map((s, si) => ({ semid: s.desc.id, adj: s.values.map((_, k) => h.adj[si * 6 + k]!) })).filter((u) => u.adj.some((a) => a !== 0)),
    }));
    return emptyNs({
      sysctls: { 'kernel/msgmax': g.msgmax, 'kernel/msgmni': g.msgmni, 'kernel/sem': g.semctl, 'kernel/shmmni': g.shmmni, 'kernel/msg_next_id': String(g.nextId) },
      msg: g.msg.map((q, qi) => ({
        desc: d(1, q.idx, q.p), qbytes: q.qbytes, messages: q.sizes.map((n, i) => ({ mtype: BigInt(i + 1 + qi), body: content(n, i, false) })),
        stime: 0, rtime: 0, ctime: 0, lspid: 0, lrpid: 0,
      })),
      sem, shm, tasks,
    });
  }
}

function onlyLost(r: HostReportLine[], what: string): void {
  assert.deepEqual(wrongLines(r), [], what);
  for (const l of r) assert.ok(LOST_FIELDS[l.field], `${what}: ${l.field}`);
}

let a: Agent | undefined;
let b: Agent | undefined;
before(async () => {
  if (HOST_SKIP) return;
  a = await Agent.start('ns');
  b = await Agent.start('ns');
});
after(async () => {
  await a?.close();
  await b?.close();
});

hostTest(`random host namespaces: dump and restore keep every restorable field (${RUNS} runs)`, async () => {
  await fc.assert(
    fc.asyncProperty(rawArb, async (raw) => {
      const gen = build(raw);
      const r1 = await restoreHost(gen, { agent: a! });
      onlyLost(r1.report, 'built namespace');
      const d1 = r1.restored!;
      // Every restorable field survives images and a second restore.
      const back = fromImages(toImages(d1));
      const r2 = await restoreHost(back, { agent: b! });
      onlyLost(r2.report, 'host → images → host');
      onlyLost(compareNs(d1, r2.restored!), 'host → images → host, dumped');
      // Every last pid names the agent or a holder here: all of them come back.
      assert.deepEqual(compareNs(d1, r2.restored!).filter((l) => /pid$/.test(l.field)), [], 'last pids');
      const at = (ns: HostIpcNs) => ns.tasks.filter((t) => t.pid !== 1).map((t) => `${t.pid}:${t.attach.map((x) => `${x.shmid}@${x.start}/${x.flags}`).join(',')}`);
      assert.deepEqual(at(r2.restored!), at(d1));
      // SEM_UNDO: each holder's exit applies its adjustment (exit_sem clamps to [0, SEMVMX]).
      const want = new Map(gen.sem.map((s) => [s.desc.id, [...s.values]]));
      for (const t of gen.tasks) {
        if (!t.undo?.length) continue;
        await a!.call('KILL', [0, t.pid]);
        for (const u of t.undo) {
          const v = want.get(u.semid)!;
          u.adj.forEach((adj, k) => (v[k] = Math.max(0, Math.min(SEMVMX, v[k]! + adj))));
        }
        const now = await dumpWith(a!, 0);
        for (const s of now.sem) assert.deepEqual(s.values, want.get(s.desc.id), `values after task ${t.pid} exits`);
      }
    }),
    { numRuns: RUNS, seed: 11 },
  );
}, { timeout: 300_000 });
