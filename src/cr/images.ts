/**
 * Design note: a `Checkpoint` as image files and back.
 *
 * - inventory.img (CRIU): image version, fdinfo/ns per id.
 * - pstree.img (CRIU): one pstree_entry per process, parents first: pid, ppid, pgid, sid, threads,
 *   all as the container sees them (0 = outside it).
 * - ids-<pid>.img (CRIU): which fd table / address space / namespaces each process uses
 *   (checkpoint indexes + 1).
 * - nsd-extra.img (project, versioned + SHA-256): everything CRIU keeps in core-*, fdinfo-*,
 *   mm-*, pages-* images and more that the model needs exactly (program state and a parked syscall,
 *   signal state, an armed next_syscall_data, ns_last_pid, open file descriptions, pipe buffers,
 *   memory maps, --with-fs file contents), one entry per object, plain data as JSON. Anonymous
 *   memory is in pagemap-<pid>.img + pages-<id>.img (dump.ts, pagemap.ts): a mapping's `data` is
 *   null here and `fillMemory` fills it; images of older dumps carry it here and restore as is.
 * - the IPC namespace's images come from src/cr/ipc-checkpoint.ts (ipcToImages/ipcFromImages).
 * Reading validates everything (references, counts, uniqueness, versions) and throws ImageError
 * before a restore creates anything.
 */
import { ImageError, readImage, readNsdExtra, writeImage, writeNsdExtra } from './image/index.js';
import type { InventoryEntry, NsdExtraEntry, PstreeEntry, TaskKobjIdsEntry } from './image/index.js';
import { decodePlain, encodePlain } from './plain.js';
import {
  CHECKPOINT_FORMAT, type Checkpoint, type CheckpointMeta, type CkFdTable, type CkFile, type CkFsNode, type CkMm, type CkPidNs,
  type CkPipe, type CkProc, type CkPstree, type CkTask,
} from './model.js';
import { ipcFromImages, ipcToImages } from './ipc-checkpoint.js';
import { fillMemory } from './pagemap.js';
import { SECTIONS, checkSchema, describeSchemaError } from './schema.js';
import { MANIFEST, isNsdDump, verifyManifest, writeManifest } from './manifest.js';
import { CrError } from './errors.js';

export const TASKS_EXTRA = 'nsd-extra.img';
const IMG_VERSION = 2;

function entry(section: string, key: string | number, value: unknown): NsdExtraEntry {
  return { section, key: String(key), json: encodePlain(value) };
}

/**
 * Encodes a checkpoint as a map of file name → bytes. With `manifest: false` the caller adds
 * more images (private memory) and writes the manifest itself, so every image is hashed once.
 */
export function checkpointToImages(ck: Checkpoint, opts: { manifest?: boolean } = {}): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const inv: InventoryEntry = { img_version: IMG_VERSION, fdinfo_per_id: true, ns_per_id: true };
  out.set('inventory.img', writeImage('inventory', [inv]));
  out.set('pstree.img', writeImage('pstree', ck.pstree.map((p): PstreeEntry => ({ ...p, threads: [...p.threads] }))));
  for (const p of ck.pstree) {
    const leader = ck.tasks.get(p.pid)!;
    const ids: TaskKobjIdsEntry = {
      vm_id: leader.mm + 1,
      files_id: leader.fdtable + 1,
      fs_id: p.pid,
      sighand_id: p.pid,
      pid_ns_id: leader.pidns + 1,
      ipc_ns_id: 1,
    };
    out.set(`ids-${p.pid}.img`, writeImage('ids', [ids]));
  }
  const extra: NsdExtraEntry[] = [entry('meta', '', ck.meta)];
  ck.pidns.forEach((ns, i) => extra.push(entry('pidns', i, ns)));
  for (const [pid, p] of ck.procs) extra.push(entry('proc', pid, p));
  for (const [tid, t] of ck.tasks) extra.push(entry('task', tid, t));
  ck.files.forEach((f, i) => extra.push(entry('file', i, f)));
  ck.pipes.forEach((p, i) => extra.push(entry('pipe', i, p)));
  ck.fdtables.forEach((t, i) => extra.push(entry('fdtable', i, t)));
  ck.mms.forEach((m, i) => extra.push(entry('mm', i, m)));
  for (const n of ck.fs) extra.push(entry('fs', n.path, n));
  out.set(TASKS_EXTRA, writeNsdExtra(extra));
  if (ck.ipc) ipcToImages(ck.ipc, out);
  // Last: the manifest lists every image above with its size and SHA-256 (manifest.ts).
  if (opts.manifest !== false) out.set(MANIFEST, writeManifest(out));
  return out;
}

function need(images: ReadonlyMap<string, Uint8Array>, name: string): Uint8Array {
  const b = images.get(name);
  if (!b) throw new ImageError(name, 0, 'missing image');
  return b;
}

function check(ok: boolean, file: string, why: string): asserts ok {
  if (!ok) throw new ImageError(file, 0, why);
}

function fail(file: string, why: string): never {
  throw new ImageError(file, 0, why);
}

const isInt = (v: unknown, min = 0, max = 0x7fffffff): v is number => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;

/** An entry's key: '' for meta, the node's path for fs, else a decimal index or pid. */
function keyOf(e: NsdExtraEntry, F: string): number {
  if (e.section === 'meta' || e.section === 'fs') return -1;
  if (!/^(0|[1-9][0-9]{0,8})$/.test(e.key)) fail(F, `entry ${e.section}/${e.key}: key ${JSON.stringify(e.key)} is not a decimal number`);
  return Number(e.key);
}

/** Decodes and validates a checkpoint. Throws ImageError naming the file and the reason. */
export function imagesToCheckpoint(images: ReadonlyMap<string, Uint8Array>, lazy?: Map<number, Set<number>>, imagesChecked = false): Checkpoint {
  if (!isNsdDump(images)) {
    throw new CrError('images', 'read-images', '', images.has('inventory.img')
      ? 'these are CRIU images (no nsd-extra.img, no nsd-manifest.json): a CRIU dump\'s processes cannot be restored here, only its IPC namespace (restore with --ipc-only)'
      : `no checkpoint: neither nsd-extra.img nor inventory.img is among the ${images.size} images`);
  }
  // imagesChecked (RestoreOptions): no manifest is required; one that is there is checked.
  if (!imagesChecked || images.has(MANIFEST)) verifyManifest(images);
  const inv = readImage(need(images, 'inventory.img'), 'inventory', { file: 'inventory.img' }).entries[0];
  check(inv?.img_version === IMG_VERSION, 'inventory.img', `img_version ${inv?.img_version} (expected ${IMG_VERSION})`);
  const pstree = readImage(need(images, 'pstree.img'), 'pstree', { file: 'pstree.img' }).entries.map((e) => ({
    pid: e.pid, ppid: e.ppid, pgid: e.pgid, sid: e.sid, threads: [...(e.threads ?? [])],
  }));
  const { entries } = readNsdExtra(need(images, TASKS_EXTRA), TASKS_EXTRA);
  const F = TASKS_EXTRA;
  let meta: CheckpointMeta | undefined;
  const pidns: CkPidNs[] = [];
  const procs = new Map<number, CkProc>();
  const tasks = new Map<number, CkTask>();
  const files: CkFile[] = [];
  const pipes: CkPipe[] = [];
  const fdtables: CkFdTable[] = [];
  const mms: CkMm[] = [];
  const fs: CkFsNode[] = [];
  const seen = new Set<string>();
  for (const e of entries) {
    const what = `entry ${e.section}/${e.key}`;
    const schema = SECTIONS[e.section];
    if (schema === undefined || !Object.prototype.hasOwnProperty.call(SECTIONS, e.section)) fail(F, `${what}: unknown section ${JSON.stringify(e.section)}`);
    if (seen.has(what)) fail(F, `${what}: duplicate entry`);
    seen.add(what);
    if (e.blob !== undefined) fail(F, `${what}: unexpected blob`);
    let v: unknown;
    try {
      v = decodePlain(e.json ?? 'null');
    } catch (x) {
      throw new ImageError(F, 0, `${what}: ${x instanceof Error ? x.message : String(x)}`);
    }
    const bad = checkSchema(v, schema);
    if (bad !== null) fail(F, `${what}: ${describeSchemaError(bad)}`);
    const key = keyOf(e, F);
    const seq = (list: unknown[]): void => {
      if (key !== list.length) fail(F, `${what}: out of order (expected key ${list.length})`);
    };
    switch (e.section) {
      case 'meta':
        check(e.key === '', F, `${what}: the meta entry has key ''`);
        meta = v as CheckpointMeta;
        break;
      case 'pidns':
        seq(pidns);
        pidns.push(v as CkPidNs);
        break;
      case 'proc':
        procs.set(key, v as CkProc);
        break;
      case 'task':
        tasks.set(key, v as CkTask);
        break;
      case 'file':
        seq(files);
        files.push(v as CkFile);
        break;
      case 'pipe':
        seq(pipes);
        pipes.push(v as CkPipe);
        break;
      case 'fdtable':
        seq(fdtables);
        fdtables.push(v as CkFdTable);
        break;
      case 'mm':
        seq(mms);
        mms.push(v as CkMm);
        break;
      case 'fs':
        check((v as CkFsNode).path === e.key, F, `${what}: holds path ${JSON.stringify((v as CkFsNode).path)}`);
        fs.push(v as CkFsNode);
        break;
    }
  }
  check(meta !== undefined, F, 'no meta entry');
  check(meta.format === CHECKPOINT_FORMAT, F, `entry meta/: field format: checkpoint format ${meta.format} (this restore knows ${CHECKPOINT_FORMAT})`);
  const ck: Checkpoint = { meta, pidns, pstree, procs, tasks, files, pipes, fdtables, mms, fs, ipc: null };
  validate(ck);
  fillMemory(ck, images, lazy);
  for (const p of pstree) {
    const name = `ids-${p.pid}.img`;
    const ids = readImage(need(images, name), 'ids', { file: name }).entries[0];
    const leader = tasks.get(p.pid)!;
    check(ids !== undefined && ids.vm_id === leader.mm + 1 && ids.files_id === leader.fdtable + 1 && ids.pid_ns_id === leader.pidns + 1, name, 'does not match the process in nsd-extra.img');
  }
  if (meta.ownIpcNs) {
    ck.ipc = ipcFromImages(images);
    check(ck.ipc !== null, 'ipcns-var', 'checkpoint has an IPC namespace but no ipcns images');
  }
  return ck;
}

/**
 * Cross-checks pstree.img against nsd-extra once every entry fits its schema (schema.ts): every
 * reference resolves, every index is used, nothing is claimed twice, the orders are consistent.
 */
function validate(ck: Checkpoint): void {
  const P = 'pstree.img';
  const F = TASKS_EXTRA;
  check(ck.pstree.length > 0, P, 'no processes');
  check(ck.pidns.length > 0 && ck.pidns[0]!.parent === -1 && ck.pidns[0]!.depth === 0, F, 'entry pidns/0: not the container pid namespace (parent -1, depth 0)');
  ck.pidns.forEach((ns, i) => {
    if (i === 0) return;
    check(ns.parent >= 0 && ns.parent < i, F, `entry pidns/${i}: field parent ${ns.parent} is not an earlier namespace`);
    check(ns.depth === ck.pidns[ns.parent]!.depth + 1, F, `entry pidns/${i}: field depth ${ns.depth} is not its parent's + 1`);
  });
  const seen = new Set<number>();
  const tids = new Set<number>();
  const tableOwner = new Map<number, number>();
  const mmOwner = new Map<number, number>();
  ck.pstree.forEach((p, i) => {
    check(isInt(p.pid, 1) && !seen.has(p.pid), P, `entry ${i}: bad or duplicate pid ${p.pid}`);
    check(i === 0 ? p.ppid === 0 : seen.has(p.ppid), P, `pid ${p.pid}: parent ${p.ppid} is not restored before it`);
    check(isInt(p.pgid) && isInt(p.sid), P, `pid ${p.pid}: bad pgid/sid`);
    check(p.threads.length > 0 && p.threads[0] === p.pid, P, `pid ${p.pid}: threads must start with the leader`);
    seen.add(p.pid);
    const proc = ck.procs.get(p.pid);
    check(proc !== undefined, F, `pid ${p.pid}: no proc entry`);
    check(proc.zombie === (ck.tasks.get(p.pid)?.state === 'zombie'), F, `entry proc/${p.pid}: field zombie ${proc.zombie} does not match its leader's state`);
    for (const tid of p.threads) {
      check(isInt(tid, 1) && !tids.has(tid), P, `pid ${p.pid}: bad or duplicate tid ${tid}`);
      tids.add(tid);
      const t = ck.tasks.get(tid);
      const E = `entry task/${tid}`;
      check(t !== undefined, F, `tid ${tid}: no task entry`);
      check(t.tids.length >= 1 && t.tids[0] === tid, F, `${E}: field tids [${t.tids.join(',')}] does not start with ${tid}`);
      check(t.pidns < ck.pidns.length, F, `${E}: field pidns ${t.pidns} names no pid namespace`);
      check(t.pidnsForChildren < ck.pidns.length, F, `${E}: field pidnsForChildren ${t.pidnsForChildren} names no pid namespace`);
      check(t.tids.length === ck.pidns[t.pidns]!.depth + 1, F, `${E}: field tids has ${t.tids.length} pid numbers for depth ${ck.pidns[t.pidns]!.depth}`);
      if (proc.zombie) {
        check(t.fdtable === -1 && t.mm === -1, F, `${E}: a zombie has fd table ${t.fdtable} and address space ${t.mm} (expected -1)`);
        continue;
      }
      check(t.state !== 'zombie' || tid !== p.pid, F, `${E}: field state zombie for a live process`);
      check(t.state !== 'blocked' || t.blocked !== null, F, `${E}: field state blocked without a parked call`);
      check(t.fdtable >= 0 && t.fdtable < ck.fdtables.length, F, `${E}: field fdtable ${t.fdtable} names no fd table`);
      check(t.mm >= 0 && t.mm < ck.mms.length, F, `${E}: field mm ${t.mm} names no address space`);
      for (const [owners, idx, what] of [[tableOwner, t.fdtable, 'fdtable'], [mmOwner, t.mm, 'mm']] as const) {
        const other = owners.get(idx);
        // Only an fd table may be shared, and only with the parent process (CLONE_FILES).
        const withParent = what === 'fdtable' && i > 0 && ck.tasks.get(p.ppid)?.fdtable === idx;
        check(other === undefined || other === p.pid || withParent, F, `${E}: field ${what} ${idx} is also pid ${other}'s (shared between processes)`);
        if (other === undefined) owners.set(idx, p.pid);
      }
    }
  });
  check(ck.tasks.size === tids.size && ck.procs.size === seen.size, F, 'tasks or processes not in pstree.img');
  ck.fdtables.forEach((_, i) => check(tableOwner.has(i), F, `entry fdtable/${i}: used by no live task`));
  ck.mms.forEach((_, i) => check(mmOwner.has(i), F, `entry mm/${i}: used by no live task`));
  const state = (tid: number): string => ck.tasks.get(tid)?.state ?? 'unknown';
  const M = 'entry meta/';
  for (const [field, list, want] of [['runq', ck.meta.runq, 'running'], ['timed', ck.meta.timed, 'blocked'], ['sleepers', ck.meta.sleepers.flat(), 'blocked']] as const) {
    for (const tid of list) check(tids.has(tid) && state(tid) === want, F, `${M}: field ${field} names tid ${tid}, which is not a ${want} task`);
    if (field !== 'sleepers') check(new Set(list).size === list.length, F, `${M}: field ${field} names a tid twice`);
  }
  for (const tid of ck.meta.timed) check(ck.tasks.get(tid)!.blocked!.remainNs !== null, F, `${M}: field timed names tid ${tid}, which has no deadline`);
  check(ck.meta.order.length === tids.size && new Set(ck.meta.order).size === tids.size, F, `${M}: field order is not a permutation of the threads`);
  const leaderOf = new Map<number, CkPstree>();
  for (const p of ck.pstree) for (const tid of p.threads) leaderOf.set(tid, p);
  const made = new Set<number>();
  for (const tid of ck.meta.order) {
    const p = leaderOf.get(tid);
    check(p !== undefined, F, `${M}: field order names unknown tid ${tid}`);
    const before = tid === p.pid ? p.ppid : p.pid;
    check(before === 0 || made.has(before), F, `${M}: field order has tid ${tid} before ${before}`);
    made.add(tid);
  }
  const parentOf = new Map(ck.pstree.map((p) => [p.pid, p.ppid]));
  for (const [pid, proc] of ck.procs) {
    check(new Set(proc.zombies).size === proc.zombies.length, F, `entry proc/${pid}: field zombies names a pid twice`);
    for (const z of proc.zombies) check(parentOf.get(z) === pid && ck.procs.get(z)!.zombie, F, `entry proc/${pid}: field zombies names ${z}, which is not its zombie child`);
  }
  for (const [pid, proc] of ck.procs) {
    if (proc.zombie && pid !== ck.pstree[0]!.pid) check(ck.procs.get(parentOf.get(pid)!)!.zombies.includes(pid), F, `entry proc/${pid}: a zombie its parent does not list`);
  }
  const held = new Set<number>();
  ck.fdtables.forEach((t, i) => {
    const fds = new Set<number>();
    for (const [fd, file] of t.fds) {
      // (Messages built only on failure: these run per fd, per file and per mapping.)
      if (file >= ck.files.length) fail(F, `entry fdtable/${i}: fd ${fd} names file ${file}, which does not exist`);
      if (fds.has(fd)) fail(F, `entry fdtable/${i}: fd ${fd} twice`);
      fds.add(fd);
      held.add(file);
    }
  });
  const pipesUsed = new Set<number>();
  ck.files.forEach((f, i) => {
    if (!held.has(i)) fail(F, `entry file/${i}: held by no fd`);
    if (f.kind === 'pipe') {
      if (f.pipe >= ck.pipes.length) fail(F, `entry file/${i}: field pipe ${f.pipe} names no pipe`);
      pipesUsed.add(f.pipe);
    }
  });
  ck.pipes.forEach((_, i) => check(pipesUsed.has(i), F, `entry pipe/${i}: no file is an end of it`));
  ck.mms.forEach((m, i) => {
    let end = 0;
    m.maps.forEach((map, j) => {
      if (map.start < end) fail(F, `entry mm/${i}: field maps[${j}] at 0x${map.start.toString(16)} overlaps or precedes the mapping before it`);
      end = map.start + map.len;
    });
  });
  const paths = new Set<string>();
  for (const n of ck.fs) {
    check(!paths.has(n.path), F, `entry fs/${n.path}: twice`);
    paths.add(n.path);
  }
}
