/**
 * The CRIU-format images of one IPC namespace, written from plain records: ipcns-var/msg/sem/shm
 * and each segment's pagemap-shmem + pages. Both writers of namespaces share it — the model's dump
 * (src/cr/ipc-checkpoint.ts) and the host backend (src/host/images.ts), which may not share anything else.
 */
import { writeImage } from './image.js';
import { writeShmemContents, writeShmemRuns } from './shmem.js';
import type { IpcDescEntry, IpcMsgEntry, IpcSemEntry, IpcShmEntry, IpcVarEntry } from './types.js';

export interface IpcNsImagesInput {
  var: IpcVarEntry;
  msg: readonly { desc: IpcDescEntry; qbytes: number; messages: readonly { mtype: bigint; body: Uint8Array }[] }[];
  sem: readonly { desc: IpcDescEntry; values: readonly number[] }[];
  /** Contents as `data` (the whole segment) or, from the model's page store, as `runs` of non-zero pages and their bytes. */
  shm: readonly { desc: IpcDescEntry; size: number; data: Uint8Array; runs?: { runs: ReadonlyArray<readonly [number, number]>; bytes: Uint8Array } }[];
}

/** Adds the namespace's CRIU images, numbered `n` (ipcns-var-<n>.img …), to `out`. */
export function writeIpcNsImages(ns: IpcNsImagesInput, n: number, out: Map<string, Uint8Array>): void {
  out.set(`ipcns-var-${n}.img`, writeImage('ipcns-var', [ns.var]));
  out.set(`ipcns-msg-${n}.img`, writeImage('ipcns-msg',
    ns.msg.map((q): IpcMsgEntry => ({ desc: q.desc, qbytes: q.qbytes, qnum: q.messages.length })),
    ns.msg.map((q) => ({ kind: 'ipc-msg' as const, messages: q.messages.map((m) => ({ mtype: m.mtype, msize: m.body.byteLength, body: m.body })) }))));
  out.set(`ipcns-sem-${n}.img`, writeImage('ipcns-sem', ns.sem.map((s): IpcSemEntry => ({ desc: s.desc, nsems: s.values.length })),
    ns.sem.map((s) => ({ kind: 'ipc-sem' as const, values: [...s.values] }))));
  out.set(`ipcns-shm-${n}.img`, writeImage('ipcns-shm', ns.shm.map((s): IpcShmEntry => ({ desc: s.desc, size: BigInt(s.size), in_pagemaps: true })), ns.shm.map(() => null)));
  ns.shm.forEach((s, i) => {
    const { pagemap, pages } = s.runs ? writeShmemRuns(s.runs.runs, s.runs.bytes, i + 1) : writeShmemContents(s.data, i + 1);
    out.set(`pagemap-shmem-${s.desc.id}.img`, pagemap);
    out.set(`pages-${i + 1}.img`, pages);
  });
}
