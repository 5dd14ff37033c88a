/**
 * Design note: field-by-field comparison of a saved namespace with what came back (a re-dump of
 * the restored one), as the model's `mainline` strategy reports: one line per field that differs,
 * with why. Fields the real kernel gives no way to set (times, sleepers; last pids that no task
 * at that pid could be made to set) are `lost`;
 * any other difference is `wrong` (a restore bug, or state the images did not hold). A CRIU dump
 * has no times or last pids at all: those fields are not compared but listed in `missing`.
 */
import type { HostDesc, HostIpcNs, IpcSysctl } from './state.js';

export interface HostReportLine {
  object: string;
  field: string;
  saved: string;
  restored: string;
  why: string;
  /** lost: the kernel has no way to set it; wrong: it should have come back. */
  kind: 'lost' | 'wrong';
}

/** Why each field a real kernel cannot set comes back different. */
export const LOST_FIELDS: Readonly<Record<string, string>> = {
  stime: 'set by msgsnd to the time of the call; no interface sets it',
  rtime: 'set by msgrcv to the time of the call; no interface sets it',
  ctime: 'set at creation and by IPC_SET to the time of the call; no interface sets it',
  otime: 'set by semop to the time of the call; no interface sets it',
  atime: 'set by shmat to the time of the call; no interface sets it',
  dtime: 'set by shmdt to the time of the call; no interface sets it',
  lspid: 'set by msgsnd to the caller only; no task could make the call at the saved pid',
  lrpid: 'set by msgrcv to the caller only; no task could make the call at the saved pid',
  sempid: 'set by SETVAL/SETALL/semop to the caller only; saved 0 (a value cannot be set without a pid) or no task could be had at the saved pid',
  cpid: 'set by shmget to the caller only; saved 0 or no task could be had at the saved pid',
  lpid: 'set by shmat/shmdt to the caller only; saved 0 or no task could be had at the saved pid',
  semncnt: 'counts tasks asleep in semop; sleepers are not recreated',
  semzcnt: 'counts tasks asleep in semop; sleepers are not recreated',
  nattch: 'counts attachments; only those of the saved holder tasks (and the agent holding SHM_DEST segments) are recreated',
};

/** Fields a CRIU image has no place for (never compared for a CRIU dump). */
export const CRIU_MISSING = [
  'msg: stime, rtime, ctime, lspid, lrpid',
  'sem: otime, ctime, per-semaphore sempid, semncnt/semzcnt',
  'shm: atime, dtime, ctime, cpid, lpid, nattch (attachments are in the tasks\' mm images, not read)',
  'SEM_UNDO adjustments of every task',
] as const;

const DESC_FIELDS = ['key', 'uid', 'gid', 'cuid', 'cgid', 'mode'] as const;

/** Whether two field values differ as the report shows them (as text: 5 and 5n are the same). */
const differs = (a: unknown, b: unknown): boolean => a !== b && String(a) !== String(b);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Compares `saved` with `got` (a dump of the restore); every difference, lost ones included. */
export function compareNs(saved: HostIpcNs, got: HostIpcNs, opts: { sysctls?: boolean } = {}): HostReportLine[] {
  const out: HostReportLine[] = [];
  const timesKnown = saved.source !== 'criu';
  // The report's strings are made only for a difference (a verification compares ~10^5 fields).
  const line = (object: string, field: string, a: unknown, b: unknown, why?: string): void => {
    if (!differs(a, b)) return;
    const lost = why ?? LOST_FIELDS[field];
    out.push({ object, field, saved: String(a), restored: String(b), why: lost ?? 'not restored', kind: lost && why === undefined ? 'lost' : 'wrong' });
  };
  if (opts.sysctls !== false) {
    for (const [k, v] of Object.entries(saved.sysctls) as [IpcSysctl, string][]) {
      if (k.endsWith('_next_id') || got.sysctls[k] === undefined) continue;
      line('sysctl', k, v.trim().split(/\s+/).join(' '), got.sysctls[k]!.trim().split(/\s+/).join(' '));
    }
  }
  const descs = (object: string, a: HostDesc, b: HostDesc, mask = 0o177777): void => {
    for (const f of DESC_FIELDS) {
      if (f !== 'mode') line(object, f, a[f], b[f]);
      else if ((a.mode & mask) !== (b.mode & mask)) line(object, f, (a.mode & mask).toString(8), (b.mode & mask).toString(8));
    }
  };
  const pair = <T extends { desc: HostDesc }>(kind: string, xs: T[], ys: T[], each: (o: string, a: T, b: T) => void): void => {
    const byId = new Map(ys.map((y) => [y.desc.id, y]));
    for (const a of xs) {
      const b = byId.get(a.desc.id);
      const o = `${kind} ${a.desc.id}`;
      if (!b) line(o, 'id', a.desc.id, 'missing');
      else each(o, a, b);
      byId.delete(a.desc.id);
    }
    for (const id of byId.keys()) line(`${kind} ${id}`, 'id', 'absent', id);
  };
  pair('msg', saved.msg, got.msg, (o, a, b) => {
    descs(o, a.desc, b.desc);
    line(o, 'qbytes', a.qbytes, b.qbytes);
    line(o, 'qnum', a.messages.length, b.messages.length);
    a.messages.forEach((m, i) => {
      const r = b.messages[i];
      if (!r) return;
      if (differs(m.mtype, r.mtype)) line(o, `message ${i} mtype`, m.mtype, r.mtype);
      if (!sameBytes(m.body, r.body)) line(o, `message ${i} body`, `${m.body.byteLength} bytes`, `${r.body.byteLength} bytes, different`);
    });
    if (timesKnown) for (const f of ['stime', 'rtime', 'ctime', 'lspid', 'lrpid'] as const) line(o, f, a[f], b[f]);
  });
  pair('sem', saved.sem, got.sem, (o, a, b) => {
    descs(o, a.desc, b.desc);
    line(o, 'nsems', a.values.length, b.values.length);
    if (a.values.length !== b.values.length || a.values.some((v, i) => v !== b.values[i])) line(o, 'values', a.values.join(' '), b.values.join(' '));
    if (timesKnown) {
      line(o, 'otime', a.otime, b.otime);
      line(o, 'ctime', a.ctime, b.ctime);
      a.pids.forEach((p, i) => differs(p, b.pids[i]) && line(`${o}[${i}]`, 'sempid', p, b.pids[i]));
    }
    a.ncnt.forEach((c, i) => differs(c, b.ncnt[i] ?? 0) && line(`${o}[${i}]`, 'semncnt', c, b.ncnt[i] ?? 0));
    a.zcnt.forEach((c, i) => differs(c, b.zcnt[i] ?? 0) && line(`${o}[${i}]`, 'semzcnt', c, b.zcnt[i] ?? 0));
  });
  pair('shm', saved.shm, got.shm, (o, a, b) => {
    descs(o, a.desc, b.desc);
    line(o, 'size', a.size, b.size);
    if (!sameBytes(a.data, b.data)) line(o, 'contents', `${a.size} bytes`, 'different');
    if (timesKnown) for (const f of ['atime', 'dtime', 'ctime', 'cpid', 'lpid'] as const) line(o, f, a[f], b[f]);
    if (a.nattch >= 0 && b.nattch >= 0) line(o, 'nattch', a.nattch, b.nattch);
  });
  const tasks = new Map(got.tasks.map((t) => [t.pid, t]));
  for (const t of saved.tasks) {
    const key = (x: { shmid: number; start: number; end: number; flags: number }): string => `${x.shmid}@${x.start.toString(16)}-${x.end.toString(16)}/${x.flags}`;
    const a = t.attach.map(key).sort().join(' ');
    const b = (tasks.get(t.pid)?.attach ?? []).map(key).sort().join(' ');
    line(`task ${t.pid}`, 'shm attachments', a || 'none', b || 'none');
  }
  return out;
}

/** Only the differences a restore should not have (not `lost`). */
export const wrongLines = (r: HostReportLine[]): HostReportLine[] => r.filter((l) => l.kind === 'wrong');

/** The report as text, one line per field. */
export function formatReport(r: HostReportLine[]): string {
  return r.map((l) => `${l.kind} ${l.object} ${l.field}: saved ${l.saved}, restored ${l.restored} (${l.why})\n`).join('');
}
