/**
 * Design note: a HostIpcNs as CRIU images and back, through the image codecs of src/cr/image only
 * (the host backend never reads the model kernel). The files are those the model's dump writes, so
 * `crit`, CRIU and `nsd restore --ipc-only` read them:
 *   ipcns-var-N.img, ipcns-msg-N.img, ipcns-sem-N.img, ipcns-shm-N.img (in_pagemaps),
 *   pagemap-shmem-<shmid>.img + pages-<n>.img (contents),
 *   nsd-extra-N.img: per object what CRIU has no field for (times, last pids, sempids) and
 *     semundo/<pid> adjustment lines — exactly the sections the model writes;
 *   nsd-extra.img (producer nsd-host; only in host dumps): host-task/<pid> shm attachments,
 *     host-sem/<id> GETNCNT/GETZCNT (only of a set with a sleeper), host-shm/<id> nattch, host-notes.
 * N is 1 when writing; reading takes the one ipcns-var-N.img there is (CRIU numbers its namespaces,
 * e.g. 10).
 */
import {
  ImageError, pagemapPagesId, readImage, readNsdExtra, readShmemContents, shmemRuns, writeIpcNsImages, writeNsdExtra,
  type IpcVarEntry, type NsdExtraEntry,
} from '../cr/image/index.js';
import { ByteReader } from '../cr/image/bytes.js';
import { readEntry, readMagic } from '../cr/image/image.js';
import { IMAGE_KINDS } from '../cr/image/kinds.js';
import { MAX_ENTRIES, MAX_MESSAGE_BYTES, MAX_QUEUE_MESSAGES } from '../cr/image/limits.js';
import type { IpcMsgEntry } from '../cr/image/types.js';
import { decodePlain, encodePlain } from '../cr/plain.js';
import { MANIFEST, verifyManifest, writeManifest, type ManifestEntry, type OutsideImages } from '../cr/manifest.js';
import { PAGE_SIZE } from '../abi/constants.js';
import { HostError } from './agent.js';
import type { PackedMsq } from './protocol.js';
import type { HostAttach, HostIpcNs, HostMsq, HostSem, HostShm, HostTask, IpcSysctl } from './state.js';

export const HOST_PRODUCER = 'nsd-host';

/** encodePlain of an object or array of safe integers is exactly JSON.stringify (no tags): the
 *  per-object sections take the short way (2,000 objects per dump); anything else encodePlain. */
const intsJson = (o: Record<string, number | number[]>): string =>
  Object.values(o).every((v) => (Array.isArray(v) ? v.every((x) => Number.isSafeInteger(x) && !Object.is(x, -0)) : Number.isSafeInteger(v) && !Object.is(v, -0)))
    ? JSON.stringify(o)
    : encodePlain(o);
const N = 1;

const num = (s: string | undefined, dflt: number): number => (s === undefined || !/^-?\d+$/.test(s.trim()) ? dflt : Number(s.trim()));
const big = (s: string | undefined, dflt: bigint): bigint => (s === undefined || !/^\d+$/.test(s.trim()) ? dflt : BigInt(s.trim()));

/** The ipc_var_entry of a namespace's sysctls (defaults where a sysctl is missing). */
export function varEntry(s: HostIpcNs['sysctls']): IpcVarEntry {
  const sem = (s['kernel/sem'] ?? '32000 1024000000 500 32000').trim().split(/\s+/).map(Number);
  const v: IpcVarEntry = {
    sem_ctls: sem,
    msg_ctlmax: num(s['kernel/msgmax'], 8192),
    msg_ctlmnb: num(s['kernel/msgmnb'], 16384),
    msg_ctlmni: num(s['kernel/msgmni'], 32000),
    auto_msgmni: num(s['kernel/auto_msgmni'], 0),
    shm_ctlmax: big(s['kernel/shmmax'], 18446744073692774399n),
    shm_ctlall: big(s['kernel/shmall'], 18446744073692774399n),
    shm_ctlmni: num(s['kernel/shmmni'], 4096),
    shm_rmid_forced: num(s['kernel/shm_rmid_forced'], 0),
    mq_queues_max: num(s['fs/mqueue/queues_max'], 256),
    mq_msg_max: num(s['fs/mqueue/msg_max'], 10),
    mq_msgsize_max: num(s['fs/mqueue/msgsize_max'], 8192),
    mq_msg_default: num(s['fs/mqueue/msg_default'], 10),
    mq_msgsize_default: num(s['fs/mqueue/msgsize_default'], 8192),
  };
  for (const k of ['msg', 'sem', 'shm'] as const) {
    const n = num(s[`kernel/${k}_next_id`], -1);
    if (n >= 0) v[`${k}_next_id`] = n;
  }
  return v;
}

/** The sysctls an ipc_var_entry holds (inverse of varEntry; absent *_next_id is -1). */
export function sysctlsOf(v: IpcVarEntry): HostIpcNs['sysctls'] {
  const s: Partial<Record<IpcSysctl, string>> = {
    'kernel/msgmax': String(v.msg_ctlmax),
    'kernel/msgmnb': String(v.msg_ctlmnb),
    'kernel/msgmni': String(v.msg_ctlmni),
    'kernel/auto_msgmni': String(v.auto_msgmni),
    'kernel/shmmax': String(v.shm_ctlmax),
    'kernel/shmall': String(v.shm_ctlall),
    'kernel/shmmni': String(v.shm_ctlmni),
    'kernel/shm_rmid_forced': String(v.shm_rmid_forced),
    'fs/mqueue/queues_max': String(v.mq_queues_max),
    'fs/mqueue/msg_max': String(v.mq_msg_max),
    'fs/mqueue/msgsize_max': String(v.mq_msgsize_max),
  };
  if (v.sem_ctls?.length) s['kernel/sem'] = v.sem_ctls.join(' ');
  if (v.mq_msg_default !== undefined) s['fs/mqueue/msg_default'] = String(v.mq_msg_default);
  if (v.mq_msgsize_default !== undefined) s['fs/mqueue/msgsize_default'] = String(v.mq_msgsize_default);
  for (const k of ['msg', 'sem', 'shm'] as const) s[`kernel/${k}_next_id`] = String(v[`${k}_next_id`] ?? -1);
  return s;
}

/**
 * The images of a namespace, by file name. A segment whose contents a dump wrote straight into
 * the directory (HostShm.pages) gets its pagemap here, not its pages image: `written` lists those
 * images (size and SHA-256, for the manifest).
 */
export function toImages(ns: HostIpcNs, written: readonly ManifestEntry[] = []): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const none = new Uint8Array(0);
  ns.shm.forEach((s, i) => {
    // writeIpcNsImages numbers the pages images 1, 2, … in this order, as the agent did.
    if (s.pages && s.pages.id !== i + 1) throw new HostError(`shm ${s.desc.id}: its pages image is pages-${s.pages.id}.img, but it is segment ${i + 1} of the dump`);
  });
  writeIpcNsImages({
    var: varEntry(ns.sysctls),
    msg: ns.msg.map((q) => ({ desc: q.desc, qbytes: q.qbytes, messages: q.messages })),
    sem: ns.sem,
    shm: ns.shm.map((s) => (s.pages ? { ...s, runs: { runs: s.pages.runs, bytes: none } } : s)),
  }, N, out);
  for (const s of ns.shm) {
    if (!s.pages) continue;
    const name = `pages-${s.pages.id}.img`;
    out.delete(name);
    if (!written.some((w) => w.name === name)) throw new HostError(`shm ${s.desc.id}: ${name}, written by the agent, is not among the images listed as written`);
  }
  const extra: NsdExtraEntry[] = [
    ...ns.msg.map((q) => ({ section: 'msg', key: String(q.desc.id), json: intsJson({ stime: q.stime, rtime: q.rtime, ctime: q.ctime, lspid: q.lspid, lrpid: q.lrpid }) })),
    ...ns.sem.map((s) => ({ section: 'sem', key: String(s.desc.id), json: intsJson({ otime: s.otime, ctime: s.ctime, pids: s.pids }) })),
    ...ns.shm.map((s) => ({ section: 'shm', key: String(s.desc.id), json: intsJson({ atime: s.atime, dtime: s.dtime, ctime: s.ctime, cpid: s.cpid, lpid: s.lpid }) })),
    ...ns.tasks.filter((t) => t.undo && t.undo.length > 0).map((t) => ({
      section: 'semundo', key: String(t.pid), json: encodePlain(t.undo!.map((u) => `${u.semid} ${u.adj.join(' ')}\n`).join('')),
    })),
  ];
  out.set(`nsd-extra-${N}.img`, writeNsdExtra(extra));
  const host: NsdExtraEntry[] = [
    ...ns.tasks.map((t) => ({ section: 'host-task', key: String(t.pid), json: encodePlain({ attach: t.attach, undoKnown: t.undo !== null }) })),
    // GETNCNT/GETZCNT: only where someone sleeps (readSets reads an absent section as all zeros).
    ...ns.sem.filter((s) => !noSleepers(s)).map((s) => ({ section: 'host-sem', key: String(s.desc.id), json: intsJson({ ncnt: s.ncnt, zcnt: s.zcnt }) })),
    ...ns.shm.map((s) => ({ section: 'host-shm', key: String(s.desc.id), json: intsJson({ nattch: s.nattch }) })),
    { section: 'host-notes', key: '', json: encodePlain(ns.notes) },
  ];
  out.set('nsd-extra.img', writeNsdExtra(host, HOST_PRODUCER));
  // Last, as every dump of this project: name, size and SHA-256 of each image (src/cr/manifest.ts).
  out.set(MANIFEST, writeManifest(out, written));
  return out;
}

/** Whether a set's GETNCNT/GETZCNT are known and all 0 (its host-sem section left out). */
function noSleepers(s: HostSem): boolean {
  const n = s.values.length;
  return n > 0 && s.ncnt.length === n && s.zcnt.length === n && s.ncnt.every((c) => c === 0) && s.zcnt.every((c) => c === 0);
}

function need(images: ReadonlyMap<string, Uint8Array>, name: string): Uint8Array {
  const b = images.get(name);
  if (!b) throw new ImageError(name, 0, 'missing image');
  return b;
}

const isInt = (x: unknown): x is number => Number.isSafeInteger(x);
const ints = (x: unknown): x is number[] => Array.isArray(x) && x.every(isInt);

/** `v` as an object whose listed fields are integers (or integer arrays); ImageError otherwise. */
function fields<T>(file: string, what: string, v: unknown, spec: Record<string, 'int' | 'ints'>): T {
  const o = v as Record<string, unknown>;
  let ok = v !== null && typeof v === 'object';
  // for…in, not Object.entries: this runs once per object of a dump (10^3), mostly not yet optimized.
  for (const f in spec) if (ok && !(spec[f] === 'int' ? isInt(o[f]) : ints(o[f]))) ok = false;
  if (!ok) throw new ImageError(file, 0, `${what}: expected {${Object.keys(spec).join(', ')}}`);
  return v as T;
}

/** The SEM_UNDO lines `<semid> <adj…>` of one process. */
export function parseUndo(file: string, pid: number, text: string): { semid: number; adj: number[] }[] {
  return text.split('\n').filter((l) => l.trim()).map((line) => {
    const nums = line.trim().split(/\s+/).map((x) => (/^-?\d+$/.test(x) ? Number(x) : NaN));
    if (nums.length < 2 || nums.some((n) => !Number.isSafeInteger(n))) throw new ImageError(file, 0, `semundo/${pid}: bad line '${line}'`);
    return { semid: nums[0]!, adj: nums.slice(1) };
  });
}

/**
 * A directory's images opened for reading: the manifest checked, the namespace's number found, its
 * ipc_var_entry and this project's extra images decoded. What the readers below share; fromImages
 * reads everything at once, a host restore (restore.ts restoreImages) kind by kind, each kind's
 * operations on their way to the agent while the next is decoded.
 */
export interface OpenedImages {
  images: ReadonlyMap<string, Uint8Array>;
  outside: OutsideImages | undefined;
  /** The namespace's number in the file names (ipcns-var-<n>.img). */
  n: number;
  v: IpcVarEntry;
  extraName: string;
  /** nsd-extra-<n>.img's sections, `section/key` → value; nsd-extra.img's (host dumps). */
  extra: Map<string, unknown>;
  host: Map<string, unknown>;
  /** The keys of the semundo and host-task sections (readTasks reads them all). */
  undoKeys: string[];
  hostTasks: string[];
  source: HostIpcNs['source'];
}

/** Opens a directory's images (a host dump, a model dump or a CRIU dump): see OpenedImages. */
export function openImages(images: ReadonlyMap<string, Uint8Array>, outside?: OutsideImages): OpenedImages {
  // A set of this project's has a manifest (missing, changed or extra images are refused by name); a CRIU dump has none.
  verifyManifest(images, outside);
  const vars = [...images.keys()].map((n) => /^ipcns-var-(\d+)\.img$/.exec(n)).filter((m) => m !== null);
  if (vars.length !== 1) throw new ImageError('ipcns-var-*.img', 0, vars.length === 0 ? 'no IPC namespace image in the directory' : `${vars.length} IPC namespaces; expected one`);
  const n = Number(vars[0]![1]);
  const varName = `ipcns-var-${n}.img`;
  const v = readImage(need(images, varName), 'ipcns-var', { file: varName }).entries[0];
  if (!v) throw new ImageError(varName, 0, 'no ipc_var_entry');
  const extraName = `nsd-extra-${n}.img`;
  const extra = new Map<string, unknown>();
  const extraBytes = images.get(extraName);
  // The keys of the sections read in full (semundo, host-task), noted on the way.
  const undoKeys: string[] = [];
  const hostTasks: string[] = [];
  if (extraBytes) {
    const entries = readNsdExtra(extraBytes, extraName).entries;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const k = `${e.section}/${e.key}`;
      if (e.section === 'semundo' && !extra.has(k)) undoKeys.push(k);
      extra.set(k, decodePlain(e.json ?? 'null'));
    }
  }
  const host = new Map<string, unknown>();
  const hostBytes = images.get('nsd-extra.img');
  if (hostBytes) {
    const h = readNsdExtra(hostBytes, 'nsd-extra.img');
    if (h.head.producer === HOST_PRODUCER) {
      for (let i = 0; i < h.entries.length; i++) {
        const e = h.entries[i]!;
        const k = `${e.section}/${e.key}`;
        if (e.section === 'host-task' && !host.has(k)) hostTasks.push(k);
        host.set(k, decodePlain(e.json ?? 'null'));
      }
    }
  }
  const source = hostBytes && host.size > 0 ? 'host' : extraBytes ? 'model' : 'criu';
  return { images, outside, n, v: v as IpcVarEntry, extraName, extra, host, undoKeys, hostTasks, source };
}

/**
 * The last pids (lspid, lrpid, sempids, cpid, lpid) the extra image names, not yet checked (the
 * readers check them): a restore makes its stand-in tasks from them before it reads the objects.
 */
export function lastPidsOf(o: OpenedImages): number[] {
  const pids: number[] = [];
  const take = (x: unknown): void => {
    if (isInt(x)) pids.push(x);
  };
  o.extra.forEach((v, k) => {
    const x = v as Record<string, unknown> | null;
    if (x === null || typeof x !== 'object') return;
    if (k.startsWith('msg/')) {
      take(x.lspid);
      take(x.lrpid);
    } else if (k.startsWith('sem/')) {
      if (Array.isArray(x.pids)) x.pids.forEach(take);
    } else if (k.startsWith('shm/')) {
      take(x.cpid);
      take(x.lpid);
    }
  });
  return pids;
}

/** An object's section of nsd-extra-<n>.img (`dflt` when it has none), its fields checked. */
function extraOf<T>(o: OpenedImages, section: string, id: number, dflt: T, spec: Record<string, 'int' | 'ints'>): T {
  const got = o.extra.get(`${section}/${id}`);
  return got === undefined ? dflt : fields<T>(o.extraName, `${section} ${id}`, got, spec);
}

/** Refuses a bad or repeated id among the objects of one kind. */
function uniqueIds(file: string, list: readonly { desc: { id: number } }[]): void {
  // Ascending (as a dump lists them): unique, no set needed.
  let prev = -1;
  let i = 0;
  for (; i < list.length; i++) {
    const id = list[i]!.desc.id;
    if (id <= prev || id > 0x7fffffff) break;
    prev = id;
  }
  if (i === list.length) return;
  const ids = new Set<number>();
  for (let i = 0; i < list.length; i++) {
    const id = list[i]!.desc.id;
    if (id < 0 || id > 0x7fffffff || ids.has(id)) throw new ImageError(file, 0, `bad or duplicate id ${id}`);
    ids.add(id);
  }
}

/** A queue of the images but its messages: its entry and its nsd-extra section. */
function queueOf(o: OpenedImages, e: IpcMsgEntry): Omit<HostMsq, 'messages'> {
  const t = extraOf(o, 'msg', e.desc.id, { stime: 0, rtime: 0, ctime: 0, lspid: 0, lrpid: 0 }, { stime: 'int', rtime: 'int', ctime: 'int', lspid: 'int', lrpid: 'int' });
  return { desc: { ...e.desc }, qbytes: e.qbytes, stime: t.stime, rtime: t.rtime, ctime: t.ctime, lspid: t.lspid, lrpid: t.lrpid };
}

/** The message queues of opened images. */
export function readQueues(o: OpenedImages): HostMsq[] {
  const name = `ipcns-msg-${o.n}.img`;
  const img = readImage(need(o.images, name), 'ipcns-msg', { file: name });
  const msg: HostMsq[] = img.entries.map((e, i) => {
    const p = img.payloads![i];
    // The decoded messages as they are ({mtype, msize, body}: a HostMessage and its size).
    return { ...queueOf(o, e), messages: p?.kind === 'ipc-msg' ? p.messages : [] };
  });
  uniqueIds(name, msg);
  return msg;
}

/**
 * The message queues of opened images with their messages as OP_MSGSNDV takes them (protocol.ts
 * PackedMessages): each queue's records as the image holds them, a view, checked but neither
 * decoded nor copied — a restore's way (10^4 messages). null when a record is not in the plain
 * form CRIU and this project write (ByteReader.plainIpcMsgSpan), or is bad: readQueues then
 * decodes them, or names what is wrong.
 */
export function readPackedQueues(o: OpenedImages): PackedMsq[] | null {
  const name = `ipcns-msg-${o.n}.img`;
  const bytes = need(o.images, name);
  const r = new ByteReader(bytes, name);
  const spec = IMAGE_KINDS['ipcns-msg'];
  readMagic(r, spec);
  const msg: PackedMsq[] = [];
  while (r.remaining > 0) {
    if (msg.length >= MAX_ENTRIES) return null;
    const e = readEntry(r, spec.entryType, msg.length) as unknown as IpcMsgEntry;
    if (!Number.isSafeInteger(e.qnum) || e.qnum > MAX_QUEUE_MESSAGES) return null;
    const from = r.offset;
    let total = 0;
    let biggest = 0;
    let lastAt = -1;
    for (let i = 0; i < e.qnum; i++) {
      lastAt = r.offset - from;
      if (!r.plainIpcMsgSpan(MAX_MESSAGE_BYTES)) return null;
      const n = r.spanMsize;
      total += n;
      if (n > biggest) biggest = n;
    }
    msg.push({ ...queueOf(o, e), packed: { data: bytes.subarray(from, r.offset), count: e.qnum, bytes: total, biggest, lastAt } });
  }
  uniqueIds(name, msg);
  return msg;
}

/** The semaphore sets of opened images. */
export function readSets(o: OpenedImages): HostSem[] {
  const name = `ipcns-sem-${o.n}.img`;
  const img = readImage(need(o.images, name), 'ipcns-sem', { file: name });
  const sem: HostSem[] = img.entries.map((e, i) => {
    const p = img.payloads![i];
    const values = p?.kind === 'ipc-sem' ? p.values : [];
    const t = extraOf(o, 'sem', e.desc.id, { otime: 0, ctime: 0, pids: new Array<number>(e.nsems).fill(0) }, { otime: 'int', ctime: 'int', pids: 'ints' });
    if (t.pids.length !== e.nsems) throw new ImageError(o.extraName, 0, `sem ${e.desc.id}: ${t.pids.length} sempids for ${e.nsems} semaphores`);
    const h = o.host.get(`host-sem/${e.desc.id}`);
    // In a host dump, a set without a host-sem section has no sleepers (toImages leaves it out).
    const w = h !== undefined
      ? fields<{ ncnt: number[]; zcnt: number[] }>('nsd-extra.img', `host-sem ${e.desc.id}`, h, { ncnt: 'ints', zcnt: 'ints' })
      : o.source === 'host' ? { ncnt: new Array<number>(e.nsems).fill(0), zcnt: new Array<number>(e.nsems).fill(0) } : { ncnt: [], zcnt: [] };
    return { desc: { ...e.desc }, values, pids: t.pids, ncnt: w.ncnt, zcnt: w.zcnt, otime: t.otime, ctime: t.ctime };
  });
  uniqueIds(name, sem);
  return sem;
}

/**
 * The shm segments of opened images. A segment whose pages image was left in the directory
 * (OpenedImages.outside) gets HostShm.pages (its runs, checked against the file's size) and no
 * `data`; the file's digest is left in `outside.pending` for the caller to check.
 */
export function readSegments(o: OpenedImages): HostShm[] {
  const name = `ipcns-shm-${o.n}.img`;
  const img = readImage(need(o.images, name), 'ipcns-shm', { file: name });
  const shm: HostShm[] = img.entries.map((e, i) => {
    const p = img.payloads![i];
    let data: Uint8Array;
    let pages: HostShm['pages'];
    if (p?.kind === 'ipc-shm-legacy') data = p.data;
    else {
      const pmName = `pagemap-shmem-${e.desc.id}.img`;
      const pm = need(o.images, pmName);
      const id = pagemapPagesId(pm, pmName);
      const left = o.outside?.sizes.get(`pages-${id}.img`);
      if (left !== undefined && !o.images.has(`pages-${id}.img`)) {
        data = new Uint8Array(0);
        pages = { id, runs: shmemRuns(pm, left, e.size, pmName).runs.map((r) => [r.start / PAGE_SIZE, r.len / PAGE_SIZE]) };
      } else data = readShmemContents(pm, o.images.get(`pages-${id}.img`) ?? new Uint8Array(0), e.size, pmName);
    }
    const t = extraOf(o, 'shm', e.desc.id, { atime: 0, dtime: 0, ctime: 0, cpid: 0, lpid: 0 }, { atime: 'int', dtime: 'int', ctime: 'int', cpid: 'int', lpid: 'int' });
    const h = o.host.get(`host-shm/${e.desc.id}`);
    const nattch = h === undefined ? -1 : fields<{ nattch: number }>('nsd-extra.img', `host-shm ${e.desc.id}`, h, { nattch: 'int' }).nattch;
    return { desc: { ...e.desc }, size: Number(e.size), data, ...(pages ? { pages } : {}), atime: t.atime, dtime: t.dtime, ctime: t.ctime, cpid: t.cpid, lpid: t.lpid, nattch };
  });
  uniqueIds(name, shm);
  return shm;
}

/** The holder tasks of opened images (shm attachments, SEM_UNDO lists), by pid. */
export function readTasks(o: OpenedImages): HostTask[] {
  const tasks = new Map<number, HostTask>();
  const task = (pid: number): HostTask => {
    let t = tasks.get(pid);
    if (!t) tasks.set(pid, (t = { pid, attach: [], undo: null }));
    return t;
  };
  for (const k of o.hostTasks) {
    const val = o.host.get(k);
    const pid = Number(k.slice(10));
    const x = val as { attach?: unknown; undoKnown?: unknown };
    if (!isInt(pid) || pid <= 0 || !Array.isArray(x?.attach)) throw new ImageError('nsd-extra.img', 0, `${k}: bad task`);
    task(pid).attach = x.attach.map((a, i) =>
      fields<HostAttach>('nsd-extra.img', `${k} attachment ${i}`, a, { shmid: 'int', start: 'int', end: 'int', offset: 'int', flags: 'int' }));
    if (x.undoKnown === true) task(pid).undo = [];
  }
  for (const k of o.undoKeys) {
    const val = o.extra.get(k);
    // A model dump writes one per process, "" without adjustments: no task to hold a list.
    if (val === '') continue;
    const pid = Number(k.slice(8));
    if (!isInt(pid) || pid <= 0 || typeof val !== 'string') throw new ImageError(o.extraName, 0, `${k}: bad SEM_UNDO entry`);
    task(pid).undo = parseUndo(o.extraName, pid, val);
  }
  return [...tasks.values()].sort((a, b) => a.pid - b.pid);
}

/** Refuses a SEM_UNDO list of a set the images do not have (or of another size). */
export function checkUndo(o: OpenedImages, tasks: readonly HostTask[], sem: readonly HostSem[]): void {
  const semIds = new Map(sem.map((s) => [s.desc.id, s.values.length]));
  for (const t of tasks) {
    for (const u of t.undo ?? []) {
      if (semIds.get(u.semid) !== u.adj.length) throw new ImageError(o.extraName, 0, `semundo/${t.pid}: set ${u.semid} is not a saved set of ${u.adj.length} semaphores`);
    }
  }
}

/** The namespace of opened images, from what the readers read. */
export function namespaceOf(o: OpenedImages, msg: HostMsq[], sem: HostSem[], shm: HostShm[], tasks: HostTask[]): HostIpcNs {
  const notes = o.host.get('host-notes/');
  return { sysctls: sysctlsOf(o.v), msg, sem, shm, tasks, source: o.source, notes: Array.isArray(notes) ? notes.map(String) : [] };
}

/**
 * Reads the IPC namespace of a directory's images (a host dump, a model dump or a CRIU dump).
 * `outside`: pages images left in the directory (see readSegments).
 */
export function fromImages(images: ReadonlyMap<string, Uint8Array>, outside?: OutsideImages): HostIpcNs {
  const o = openImages(images, outside);
  const msg = readQueues(o);
  const sem = readSets(o);
  const shm = readSegments(o);
  const tasks = readTasks(o);
  checkUndo(o, tasks, sem);
  return namespaceOf(o, msg, sem, shm, tasks);
}
