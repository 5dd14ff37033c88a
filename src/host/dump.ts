/**
 * Design note: reading a real kernel's IPC namespace. The agent enters the namespace of the target
 * (setns on /proc/PID/ns/ipc, and /proc/PID/ns/pid for a child, so the last pids read are those the
 * target sees) and walks it in one operation: the IPC sysctls; every object by index with
 * MSG_STAT_ANY / SEM_STAT_ANY / SHM_STAT_ANY (no read permission needed, unlike *_STAT); message
 * bodies with msgrcv(MSG_COPY) (non-destructive, needs CONFIG_CHECKPOINT_RESTORE); GETALL, GETPID,
 * GETNCNT, GETZCNT; shm contents through a read-only attachment; then the tasks that share the IPC
 * and pid namespaces, with their System V shm attachments from /proc/PID/maps.
 *
 * What Linux does not let anyone read is recorded as such: a task's SEM_UNDO adjustments (no
 * interface; the undo list is private to the task and applied at exit), the ids allocator's cursor
 * (the id a msgget would get when *_next_id is -1). Attaching a segment to read it moves its live
 * atime/dtime/lpid (the values saved are the ones read before).
 */
import { Agent, HostError } from './agent.js';
import { decodeRecords, REC } from './protocol.js';
import type { HostDesc, HostIpcNs, HostMsq, HostTask, IpcSysctl } from './state.js';
import { IPC_SYSCTLS } from './state.js';

const n = (b: bigint): number => Number(b);

function desc(a: bigint[]): HostDesc {
  return { id: n(a[0]!), key: n(a[1]!) >>> 0, uid: n(a[2]!), gid: n(a[3]!), cuid: n(a[4]!), cgid: n(a[5]!), mode: n(a[6]!) };
}

export const UNDO_UNREADABLE = 'SEM_UNDO adjustments of the tasks: Linux has no interface to read them (not saved)';

/** OP_DUMP flags (agent.c). */
export const DUMP_NO_SHM_DATA = 1;

/**
 * Turns the agent's dump records into a namespace. `shmData: false`: the dump was made with
 * DUMP_NO_SHM_DATA, the segments' data are left empty (zero length) and no note is made.
 */
export function parseDump(bytes: Uint8Array, opts: { shmData?: boolean } = {}): HostIpcNs {
  const ns: HostIpcNs = { sysctls: {}, msg: [], sem: [], shm: [], tasks: [], source: 'host', notes: [] };
  let q: HostMsq | undefined;
  const tasks = new Map<number, HostTask>();
  for (const r of decodeRecords(bytes)) {
    const a = r.args;
    switch (r.kind) {
      case REC.VAR:
        for (const line of Buffer.from(r.data).toString('utf8').split('\n')) {
          const eq = line.indexOf('=');
          const name = line.slice(0, eq) as IpcSysctl;
          if (eq > 0 && (IPC_SYSCTLS as readonly string[]).includes(name)) ns.sysctls[name] = line.slice(eq + 1);
        }
        break;
      case REC.MSQ:
        q = { desc: desc(a), qbytes: n(a[7]!), messages: [], stime: n(a[10]!), rtime: n(a[11]!), ctime: n(a[12]!), lspid: n(a[13]!), lrpid: n(a[14]!) };
        ns.msg.push(q);
        break;
      case REC.MSG:
        if (!q) throw new HostError('agent dump: a message before any queue');
        q.messages.push({ mtype: a[0]!, body: r.data });
        break;
      case REC.SEM: {
        const nsems = n(a[7]!);
        const v = new Int32Array(r.data.buffer.slice(r.data.byteOffset, r.data.byteOffset + 16 * nsems));
        const col = (c: number): number[] => Array.from({ length: nsems }, (_, i) => v[4 * i + c]!);
        ns.sem.push({ desc: desc(a), values: col(0), pids: col(1), ncnt: col(2), zcnt: col(3), otime: n(a[8]!), ctime: n(a[9]!) });
        break;
      }
      case REC.SHM: {
        const size = n(a[7]!);
        if (opts.shmData === false) {
          ns.shm.push({ desc: desc(a), size, data: new Uint8Array(0), atime: n(a[8]!), dtime: n(a[9]!), ctime: n(a[10]!), cpid: n(a[11]!), lpid: n(a[12]!), nattch: n(a[13]!) });
          break;
        }
        if (r.data.byteLength !== size) ns.notes.push(`shm ${n(a[0]!)}: contents not read (saved as zeros)`);
        const data = r.data.byteLength === size ? r.data : new Uint8Array(size);
        ns.shm.push({ desc: desc(a), size, data, atime: n(a[8]!), dtime: n(a[9]!), ctime: n(a[10]!), cpid: n(a[11]!), lpid: n(a[12]!), nattch: n(a[13]!) });
        break;
      }
      case REC.TASK:
        tasks.set(n(a[0]!), { pid: n(a[0]!), attach: [], undo: null });
        break;
      case REC.ATTACH: {
        const t = tasks.get(n(a[0]!));
        if (t) t.attach.push({ shmid: n(a[1]!), start: n(a[2]!), end: n(a[3]!), offset: n(a[4]!), flags: n(a[5]!) });
        break;
      }
      case REC.NOTE:
        ns.notes.push(Buffer.from(r.data).toString('utf8'));
        break;
      default:
        throw new HostError(`agent dump: unknown record kind ${r.kind}`);
    }
  }
  // The tasks that matter to the IPC state: those holding attachments.
  ns.tasks = [...tasks.values()].filter((t) => t.attach.length > 0).sort((x, y) => x.pid - y.pid);
  ns.notes.push(UNDO_UNREADABLE);
  return ns;
}

/**
 * Reads the IPC namespace host pid `pid` is in (0: the agent's own, for an 'ns' agent).
 * `shmData: false` reads no segment's contents, so attaches nothing: the namespace is left exactly
 * as it was (a read-only attach would set the segment's lpid, atime and dtime).
 */
export async function dumpWith(agent: Agent, pid: number, opts: { shmData?: boolean } = {}): Promise<HostIpcNs> {
  const flags = opts.shmData === false ? DUMP_NO_SHM_DATA : 0;
  const r = await agent.call('DUMP', [0, pid, flags], undefined, `dump of the IPC namespace of pid ${pid}`);
  return parseDump(r.data, opts);
}

/** Reads the IPC namespace of host pid `pid` with a short-lived agent. */
export async function dumpHost(pid: number): Promise<HostIpcNs> {
  const agent = await Agent.start('plain');
  try {
    return await dumpWith(agent, pid);
  } finally {
    await agent.close();
  }
}
