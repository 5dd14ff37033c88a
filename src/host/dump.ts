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
import { join } from 'node:path';
import { Agent, errnoName, HostError } from './agent.js';
import { forEachRecord, readI64, REC } from './protocol.js';
import type { HostDesc, HostIpcNs, HostMsq, HostShm, HostTask, IpcSysctl } from './state.js';
import { IPC_SYSCTLS } from './state.js';

function desc(a: number[]): HostDesc {
  return { id: a[0]!, key: a[1]! >>> 0, uid: a[2]!, gid: a[3]!, cuid: a[4]!, cgid: a[5]!, mode: a[6]! };
}

export const UNDO_UNREADABLE = 'SEM_UNDO adjustments of the tasks: Linux has no interface to read them (not saved)';

/** OP_DUMP flags (agent.c). */
export const DUMP_NO_SHM_DATA = 1;
export const DUMP_SHM_TO_DIR = 2;

/**
 * Turns the agent's dump records into a namespace. `shmData: false`: the dump was made with
 * DUMP_NO_SHM_DATA, the segments' data are left empty (zero length) and no note is made.
 */
export function parseDump(bytes: Uint8Array, opts: { shmData?: boolean } = {}): HostIpcNs {
  const ns: HostIpcNs = { sysctls: {}, msg: [], sem: [], shm: [], tasks: [], source: 'host', notes: [] };
  let q: HostMsq | undefined;
  const tasks = new Map<number, HostTask>();
  const raw = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  forEachRecord(bytes, (kind, a, data, at) => {
    switch (kind) {
      case REC.VAR:
        for (const line of Buffer.from(data).toString('utf8').split('\n')) {
          const eq = line.indexOf('=');
          const name = line.slice(0, eq) as IpcSysctl;
          if (eq > 0 && (IPC_SYSCTLS as readonly string[]).includes(name)) ns.sysctls[name] = line.slice(eq + 1);
        }
        break;
      case REC.MSQ:
        q = { desc: desc(a), qbytes: a[7]!, messages: [], stime: a[10]!, rtime: a[11]!, ctime: a[12]!, lspid: a[13]!, lrpid: a[14]! };
        ns.msg.push(q);
        break;
      case REC.MSG: {
        if (!q) throw new HostError('agent dump: a message before any queue');
        // mtype is a long: exact as a BigInt (from a number when it is one, else the i64 itself).
        const m = a[0]!;
        q.messages.push({ mtype: Number.isSafeInteger(m) ? BigInt(m) : raw.readBigInt64LE(at), body: data });
        break;
      }
      case REC.SEM: {
        const nsems = a[7]!;
        if (data.byteLength < 16 * nsems) throw new HostError(`agent dump: sem ${a[0]}: ${data.byteLength} bytes for ${nsems} semaphores`);
        const values = new Array<number>(nsems);
        const pids = new Array<number>(nsems);
        const ncnt = new Array<number>(nsems);
        const zcnt = new Array<number>(nsems);
        const v = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
        for (let i = 0; i < nsems; i++) {
          values[i] = v.readInt32LE(16 * i);
          pids[i] = v.readInt32LE(16 * i + 4);
          ncnt[i] = v.readInt32LE(16 * i + 8);
          zcnt[i] = v.readInt32LE(16 * i + 12);
        }
        ns.sem.push({ desc: desc(a), values, pids, ncnt, zcnt, otime: a[8]!, ctime: a[9]! });
        break;
      }
      case REC.SHM: {
        const size = a[7]!;
        let shmData = data;
        let pages: HostShm['pages'];
        if (a.length === 15) {
          // DUMP_SHM_TO_DIR: the agent wrote pages-<a[14]>.img; the data are its runs.
          if (data.byteLength % 16 !== 0) throw new HostError(`agent dump: shm ${a[0]}: ${data.byteLength} bytes of page runs`);
          const runs: [number, number][] = [];
          const r = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
          for (let i = 0; i < r.length; i += 16) runs.push([readI64(r, i), readI64(r, i + 8)]);
          pages = { id: a[14]!, runs };
          shmData = new Uint8Array(0);
        } else if (opts.shmData === false) shmData = new Uint8Array(0);
        else if (data.byteLength !== size) {
          ns.notes.push(`shm ${a[0]}: contents not read (saved as zeros)`);
          shmData = new Uint8Array(size);
        }
        ns.shm.push({ desc: desc(a), size, data: shmData, ...(pages ? { pages } : {}), atime: a[8]!, dtime: a[9]!, ctime: a[10]!, cpid: a[11]!, lpid: a[12]!, nattch: a[13]! });
        break;
      }
      case REC.TASK:
        tasks.set(a[0]!, { pid: a[0]!, attach: [], undo: null });
        break;
      case REC.ATTACH: {
        const t = tasks.get(a[0]!);
        if (t) t.attach.push({ shmid: a[1]!, start: a[2]!, end: a[3]!, offset: a[4]!, flags: a[5]! });
        break;
      }
      case REC.NOTE:
        ns.notes.push(Buffer.from(data).toString('utf8'));
        break;
      default:
        throw new HostError(`agent dump: unknown record kind ${kind}`);
    }
  });
  // The tasks that matter to the IPC state: those holding attachments.
  ns.tasks = [...tasks.values()].filter((t) => t.attach.length > 0).sort((x, y) => x.pid - y.pid);
  ns.notes.push(UNDO_UNREADABLE);
  return ns;
}

/** How a dump reads the segments' contents. */
export interface DumpOptions {
  /** false: reads no segment's contents, so attaches nothing: the namespace is left exactly as it
   *  was (a read-only attach would set the segment's lpid, atime and dtime). */
  shmData?: boolean;
  /** An existing directory (absolute path) where the agent writes each segment's pages image
   *  itself (HostShm.pages): the contents never pass through this process. Not with pid 0. */
  pagesDir?: string;
}

/** Reads the IPC namespace host pid `pid` is in (0: the agent's own, for an 'ns' agent). */
export async function dumpWith(agent: Agent, pid: number, opts: DumpOptions = {}): Promise<HostIpcNs> {
  const flags = opts.shmData === false ? DUMP_NO_SHM_DATA : opts.pagesDir !== undefined ? DUMP_SHM_TO_DIR : 0;
  const data = flags === DUMP_SHM_TO_DIR ? new TextEncoder().encode(opts.pagesDir) : undefined;
  const [r] = await agent.run([{ op: 'DUMP', args: [0, pid, flags], ...(data ? { data } : {}) }]);
  if (r!.errno !== 0) {
    // The agent names the pages image it could not write, if that is what failed.
    const file = r!.data.byteLength > 0 ? `: writing ${join(opts.pagesDir ?? '', Buffer.from(r!.data).toString('utf8'))}` : '';
    throw new HostError(`dump of the IPC namespace of pid ${pid}${file}: ${errnoName(r!.errno)}`, errnoName(r!.errno));
  }
  return parseDump(r!.data, opts);
}

/** Reads the IPC namespace of host pid `pid` with a short-lived agent. */
export async function dumpHost(pid: number, opts: DumpOptions = {}): Promise<HostIpcNs> {
  const agent = await Agent.start('plain');
  try {
    return await dumpWith(agent, pid, opts);
  } finally {
    await agent.close();
  }
}
