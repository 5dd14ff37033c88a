/**
 * /proc/<pid>/semundo: a process's SEM_UNDO adjustments, readable and writable, as proposed by the
 * seed's author (Nadia Derbey, "[RFC] /proc/<pid>/semundo", containers list, 2008) so that a
 * restart can give a process back the adjustments it held. No checkpointer has this in Linux.
 *
 * Format, one line per semaphore set the process has adjustments for, in the reader's IPC
 * namespace: `<semid> <adj[0]> … <adj[nsems-1]>`. Reading an undo list-less process gives "".
 * Writing replaces the process's list by the lines written (the whole list at once, at offset 0):
 * each semid must name a set of the writer's IPC namespace with exactly nsems values, each value in
 * [-(SEMAEM+1), SEMAEM] (else EINVAL); the writer must be the process itself or have
 * CAP_CHECKPOINT_RESTORE/CAP_SYS_ADMIN (EPERM). An empty write drops every adjustment. Processes
 * sharing a list through CLONE_SYSVSEM see and change the same list.
 */
import { err } from '../../abi/errno.js';
import type { KernelCore } from '../core.js';
import type { ProcState } from '../state.js';
import { registerPidFile } from '../proc/procfs.js';
import { checkpointRestoreCapable } from '../task/cred.js';
import { SEMAEM } from '../../abi/constants.js';
import { undoListOf, undoLists, undosOf, type SemUndoEntry } from './sem.js';
import { findById } from './util.js';

export function readSemUndo(k: KernelCore, proc: ProcState, nsId: number): string {
  const list = proc.semUndo ? undoLists(k).get(proc.semUndo) : undefined;
  if (!list) return '';
  return [...list.entries.values()]
    .filter((e) => e.ns === nsId)
    .map((e) => `${e.semid} ${e.adj.join(' ')}\n`)
    .join('');
}

export function writeSemUndo(k: KernelCore, proc: ProcState, nsId: number, text: string): void {
  const ns = k.ipcNs(nsId);
  const parsed: SemUndoEntry[] = [];
  for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const nums = line.split(/\s+/).map((x) => (/^-?\d+$/.test(x) ? Number(x) : NaN));
    if (nums.some((n) => !Number.isSafeInteger(n))) throw err('EINVAL', `semundo: bad line '${line}'`);
    const [semid, ...adj] = nums as [number, ...number[]];
    const sma = findById(ns.sem, semid);
    if (!sma) throw err('EINVAL', `semundo: no semaphore set ${semid}`);
    if (adj.length !== sma.nsems || adj.some((a) => a < -(SEMAEM + 1) || a > SEMAEM)) throw err('EINVAL', `semundo: bad adjustments for ${semid}`);
    parsed.push({ ns: ns.id, semid, adj });
  }
  const list = undoListOf(k, proc);
  for (const [key, e] of list.entries) {
    if (e.ns !== ns.id) continue;
    list.entries.delete(key);
    findById(ns.sem, e.semid)?.undos.delete(list.id);
  }
  for (const e of parsed) {
    list.entries.set(`${e.ns}:${e.semid}`, e);
    undosOf(findById(ns.sem, e.semid)!).add(list.id);
  }
}

registerPidFile({
  name: 'semundo',
  mode: 0o644,
  read: (k, reader, tgid) => readSemUndo(k, k.proc(tgid), reader.ipcns),
  write: (k, writer, tgid, text) => {
    if (writer.tgid !== tgid && !checkpointRestoreCapable(k, writer)) throw err('EPERM');
    writeSemUndo(k, k.proc(tgid), writer.ipcns, text);
  },
});
