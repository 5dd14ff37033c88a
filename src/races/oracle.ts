/**
 * The oracle of a race run: every armed value is consumed by the call it was armed for, so every
 * restored object has the id, pid or fd it was saved with. It reads the restorer's record (the
 * result of each creating call, plain data in its program state) and, for a wrong one, who holds
 * the wanted id in the kernel now (the thief, when there is one).
 */
import { IPC_STAT } from '../abi/constants.js';
import type { Kernel } from '../syscalls/scheduler.js';
import { restorerObjs, type ObjKind, type RestoredObj } from './programs.js';

export interface Violation {
  kind: ObjKind | 'lost' | 'restore';
  want: number;
  got: number | string | null;
  /** Who holds the wanted id at the end ('' when nobody does). */
  holder: string;
}

export function describeViolation(v: Violation): string {
  if (v.kind === 'lost') return `the restorer is gone (${String(v.got)})`;
  if (v.kind === 'restore') return `the restore was refused: ${String(v.got)}`;
  const holder = v.holder ? `; ${v.want} is held by ${v.holder}` : `; nothing holds ${v.want}`;
  return `${v.kind} wanted ${v.want}, got ${String(v.got)}${holder}`;
}

/** Who holds `want` of `kind` in the kernel (seen from init's namespaces). */
function holder(k: Kernel, kind: ObjKind, want: number, restorer: number): string {
  if (kind === 'pid') {
    const t = k.task(want);
    if (!t) return '';
    const ppid = k.s.procs.get(t.tgid)?.parent ?? 0;
    return `a task whose parent is pid ${ppid}${ppid === restorer ? ' (the restorer)' : ''}`;
  }
  if (kind === 'msg') {
    try {
      k.init.sys.msgctl(want, IPC_STAT);
      return 'a message queue';
    } catch {
      return '';
    }
  }
  const who: string[] = [];
  for (const p of k.s.procs.values()) {
    const ft = k.s.fdtables.get(k.s.tasks.get(p.tgid)?.fdtable ?? -1);
    if (ft?.fds.has(want)) who.push(`pid ${p.tgid}${p.tgid === restorer ? ' (the restorer)' : ''}`);
  }
  return who.join(', ');
}

/** Checks the end state of one run. `objs` is what the restorer was asked to restore. */
export function check(k: Kernel, restorer: number, objs: readonly RestoredObj[]): Violation[] {
  const t = k.s.tasks.get(restorer);
  const got = t?.prog ? restorerObjs(t.prog.data) : null;
  if (!got) return [{ kind: 'lost', want: 0, got: t ? t.state : 'reaped', holder: '' }];
  const out: Violation[] = [];
  for (let i = 0; i < objs.length; i++) {
    const o = got[i] ?? { ...objs[i]!, got: null };
    if (o.got !== o.want) out.push({ kind: o.kind, want: o.want, got: o.got, holder: holder(k, o.kind, o.want, restorer) });
  }
  return out;
}
