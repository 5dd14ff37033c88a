/**
 * Design note: `dump(kernel, rootPid)` checkpoints a process tree, the way criu dump does:
 *   1. find the tree (root + every descendant, zombies included) and refuse what cannot be
 *      restored (vfork in progress, shared fd tables or address spaces between processes…);
 *   2. freeze it: every thread leaves the run queue, so no task runs while it is read (the model
 *      is single-threaded, so freezing is also what makes the read atomic); a thread asleep in a
 *      syscall stays parked and is saved with its call as data;
 *   3. read tasks, pid namespaces, files and pipes, memory, the IPC namespace;
 *   4. encode the images (`images.ts`);
 *   5. kill the tree (default) or thaw it (`leaveRunning`).
 * Any failure before step 5 thaws the tree and leaves it exactly as it was. `inject` lets tests
 * fail the dump at every named step.
 *
 * Reading goes straight to the kernel's state: that is the model of what criu learns through
 * /proc, ptrace and its parasite code. Names are the container's (see model.ts).
 */
import { SIGKILL } from '../abi/constants.js';
import type { Kernel } from '../syscalls/scheduler.js';
import { Sys } from '../syscalls/sys.js';
import type { KernelCore } from '../kernel/core.js';
import type { InodeState, KernelState, OpenFileState, TaskState } from '../kernel/state.js';
import { pidNrIn } from '../kernel/pid/pid.js';
import { fileContent } from '../kernel/fs/filedata.js';
import { storeRuns } from '../kernel/mm/pages.js';
import { PAGE_SIZE } from '../abi/constants.js';
import { memoryImages, pagemapName, PAGES_ID_BASE, PARENT_FILE, PE_PRESENT } from './pagemap.js';
import { shmRoundImages, type ShmTracker } from './shm-rounds.js';
import { writeImage, type PagemapEntry } from './image/index.js';
import { ByteWriter } from './image/bytes.js';
import { MANIFEST, writeManifest } from './manifest.js';
import { CrError, noSuchProcess, unsupported } from './errors.js';
import {
  CHECKPOINT_FORMAT, type Checkpoint, type CkFdTable, type CkFile, type CkFsNode, type CkMm, type CkPidNs, type CkProc,
  type CkPstree, type CkTask, type CrReportLine,
} from './model.js';
import { checkpointToImages } from './images.js';
import { dumpIpc } from './ipc-checkpoint.js';
import type { IpcNs } from '../kernel/ipc/util.js';
import { sessionProblem } from './sessions.js';

/** Options of `dump()`. */
export interface DumpOptions {
  /** Thaw and keep the tree running instead of killing it. */
  leaveRunning?: boolean;
  /** Also save the files the tree has open and everything under its working directories. */
  withFs?: boolean;
  /** kid of the task that dumps (it kills the tree at the end); default: init. */
  dumper?: number;
  /** Test hook: called at every step; throwing fails the dump there. */
  inject?: (step: string) => void;
  /** Progress callback: steps done out of total, and what is being done. */
  onProgress?: (done: number, total: number, what: string) => void;
  /**
   * Private memory as pagemap/pages images read through /proc/PID/pagemap (src/cr/pagemap.ts),
   * not in nsd-extra: `parent` (the previous round's directory, relative) makes unchanged pages
   * PE_PARENT; `trackMem` clears soft-dirty afterwards (criu --track-mem).
   */
  memory?: { parent: string | null; trackMem: boolean; lazy?: boolean; shm?: ShmTracker };
  /**
   * Zero-copy (opt-in): a shm segment's image is a view of the segment's pages where they lie in
   * one block, not a copy. Honoured only when it is safe: the tree is killed (not `leaveRunning`)
   * and no task outside it is in its IPC namespace, so the segments die with the tree and nothing
   * writes them after the dump. The caller must not write the kernel's segment memory otherwise.
   * A private mapping's pages image is a view the same way when the tree is killed (its address
   * spaces are its own: find-tree refuses shared ones).
   */
  zeroCopy?: boolean;
}

/** What `dump()` returns: the images (file name → bytes), the report and counts. */
export interface DumpResult {
  images: Map<string, Uint8Array>;
  /** Fields saved but known not to come back identically (e.g. outer pids). */
  report: CrReportLine[];
  /** Pid of the root in the initial namespace. */
  rootPid: number;
  tasks: number;
  processes: number;
}

export const DUMP_STEPS = ['find-tree', 'freeze', 'tasks', 'pidns', 'files', 'memory', 'ipc', 'fs', 'encode', 'finish'] as const;

/** Looks a path up from / without permission checks (criu reads as root); undefined if absent. */
export function lookupPath(k: KernelCore, path: string): InodeState | undefined {
  let cur = k.s.inodes.get(k.s.rootIno);
  for (const c of path.split('/').filter((x) => x && x !== '.')) {
    if (!cur || cur.type !== 'dir') return undefined;
    const next: number | undefined = c === '..' ? cur.parent : cur.entries!.get(c);
    cur = next === undefined ? undefined : k.s.inodes.get(next);
  }
  return cur;
}

/** The chunks back to back in one new array. */
function joinChunks(chunks: readonly Uint8Array[]): Uint8Array {
  const w = new ByteWriter();
  for (const c of chunks) w.bytes(c);
  return w.finish();
}

class Dumper {
  readonly s: KernelState;
  /** Steps entered so far; the last one is where a failure happened. */
  readonly steps: string[] = [];
  /** kid → container tid, for every thread of the tree. */
  readonly tidOf = new Map<number, number>();
  /** kids of the tree's processes (leaders), in creation order. */
  procKids: number[] = [];
  taskKids: number[] = [];
  /** Pid namespace id → checkpoint index. */
  readonly nsIndex = new Map<number, number>();
  containerNs = 0;
  level = 0;
  frozen: { runq: number[] } | null = null;
  readonly report: CrReportLine[] = [];

  constructor(readonly k: Kernel, readonly rootKid: number, readonly opts: DumpOptions) {
    this.s = k.s;
  }

  step(name: string): void {
    this.steps.push(name);
    this.opts.onProgress?.(this.steps.length, DUMP_STEPS.length, name);
    this.opts.inject?.(name);
  }

  fail(step: string, object: string, e: unknown): never {
    throw CrError.wrap('dump', step, object, e);
  }

  // ---- 1. the tree ----

  findTree(): void {
    const root = this.s.tasks.get(this.rootKid);
    if (!root || root.state === 'zombie' || root.state === 'dead') throw noSuchProcess('dump', `pid ${this.rootKid}`, 'no such live process');
    if (root.kid !== root.tgid) throw unsupported('dump', 'find-tree', `pid ${this.rootKid}`, 'the root must be a thread-group leader');
    this.containerNs = root.pidns;
    this.level = this.k.pidNs(root.pidns).level;
    const inTree = new Set<number>();
    const walk = (tgid: number): void => {
      inTree.add(tgid);
      for (const c of this.k.proc(tgid).children) walk(c);
    };
    walk(root.tgid);
    // Creation order = allocation order in the container's namespace.
    const order: number[] = [];
    for (const kid of this.k.pidNs(this.containerNs).pids.values()) {
      const t = this.s.tasks.get(kid);
      if (t && inTree.has(t.tgid)) order.push(kid);
    }
    this.taskKids = order;
    this.procKids = order.filter((kid) => this.k.t(kid).tgid === kid);
    for (const kid of order) {
      const t = this.k.t(kid);
      this.tidOf.set(kid, t.pids[this.level]!);
      if (t.vforkParent || t.blocked?.call.name === 'vfork') {
        throw unsupported('dump', 'find-tree', `tid ${this.tidOf.get(kid)}`, 'a vfork in progress');
      }
    }
    for (const tgid of this.procKids) {
      const p = this.k.proc(tgid);
      const leader = this.k.t(tgid);
      const live = p.threads.filter((kid) => this.k.t(kid).state !== 'zombie');
      if (leader.state === 'zombie' && live.length > 0) {
        throw unsupported('dump', 'find-tree', `pid ${this.tidOf.get(tgid)}`, 'a dead thread-group leader with live threads');
      }
      if (leader.ipcns !== root.ipcns && leader.state !== 'zombie') {
        throw unsupported('dump', 'find-tree', `pid ${this.tidOf.get(tgid)}`, 'processes in different IPC namespaces');
      }
    }
    // Address spaces shared between processes cannot be recreated; an fd table shared with the
    // parent process (clone(CLONE_FILES) without CLONE_THREAD) is, by cloning the same way.
    for (const [what, key] of [['fd table', 'fdtable'], ['address space', 'mm']] as const) {
      const owner = new Map<number, number>();
      for (const kid of this.taskKids) {
        const t = this.k.t(kid);
        if (t.state === 'zombie') continue;
        const id = t[key];
        const prev = owner.get(id);
        if (prev === undefined) owner.set(id, t.tgid);
        else if (prev !== t.tgid && !(key === 'fdtable' && t.tgid !== root.tgid && this.s.tasks.get(this.k.proc(t.tgid).parent)?.fdtable === id)) {
          throw unsupported('dump', 'find-tree', `pid ${this.tidOf.get(t.tgid)}`, `an ${what} shared with another process${key === 'fdtable' ? ' other than its parent' : ''}`);
        }
      }
    }
  }

  // ---- 2. freeze / thaw ----

  freeze(): void {
    const tree = new Set(this.taskKids);
    this.frozen = { runq: [...this.s.runq] };
    this.k.setRunQueue(this.s.runq.filter((kid) => !tree.has(kid)));
  }

  thaw(): void {
    if (!this.frozen) return;
    // Put the tree back where it was in the run queue (nothing ran meanwhile).
    this.k.setRunQueue(this.frozen.runq);
    this.frozen = null;
  }

  // ---- 3. reading ----

  ctid(kid: number): number {
    const n = this.tidOf.get(kid);
    if (n === undefined) throw new CrError('dump', 'tasks', `kid ${kid}`, 'task outside the tree');
    return n;
  }

  /** A pid as the container sees it (0 when it is outside the container). */
  visible(kid: number): number {
    const t = this.s.tasks.get(kid);
    return t ? pidNrIn(this.k, t.pidns, t.pids, this.containerNs) : 0;
  }

  pidNamespaces(): CkPidNs[] {
    const out: CkPidNs[] = [];
    const add = (id: number): number => {
      const have = this.nsIndex.get(id);
      if (have !== undefined) return have;
      const ns = this.k.pidNs(id);
      if (ns.level < this.level) throw unsupported('dump', 'pidns', `pid ns ${id}`, 'a task outside the container namespace');
      const parent = id === this.containerNs ? -1 : add(ns.parent);
      const idx = out.length;
      out.push({ parent, depth: ns.level - this.level, lastPid: ns.lastPid });
      this.nsIndex.set(id, idx);
      return idx;
    };
    add(this.containerNs);
    for (const kid of this.taskKids) {
      const t = this.k.t(kid);
      add(t.pidns);
      add(t.pidnsForChildren);
    }
    return out;
  }

  /**
   * Whether a process shares its parent's SEM_UNDO list (CLONE_SYSVSEM): restored by cloning it the
   * same way. A list shared with any other process of the tree cannot be recreated: reported.
   */
  sharesUndoWithParent(tgid: number): boolean {
    const p = this.k.proc(tgid);
    if (!p.semUndo || tgid === this.rootKid) return false;
    if (this.k.s.procs.get(p.parent)?.semUndo === p.semUndo) return true;
    const other = this.procKids.find((x) => x !== tgid && this.k.proc(x).semUndo === p.semUndo && this.k.proc(x).parent !== tgid);
    if (other !== undefined) {
      this.report.push({
        object: `pid ${this.ctid(tgid)}`, field: 'SEM_UNDO list', saved: `shared with pid ${this.ctid(other)}`, restored: 'a list of its own',
        why: 'CLONE_SYSVSEM sharing can only be recreated between a parent and its child',
      });
    }
    return false;
  }

  /**
   * The tree shares its IPC namespace with the dumper, so the namespace is not dumped (criu dumps
   * a namespace only when the tree has its own). As criu's check_sysvipc_map_dump, a task with a
   * SysV shm attachment is refused ("doesn't live in IPC ns"); other objects the namespace holds
   * are named in the report (they stay in the dumper's namespace and are not restored).
   */
  private sharedIpcNs(nsId: number): void {
    for (const tgid of this.procKids) {
      const t = this.k.t(tgid);
      if (t.state === 'zombie') continue;
      const m = this.k.s.mms.get(t.mm)?.maps.find((x) => x.kind === 'shm');
      if (m) {
        throw unsupported('dump', 'ipc', `pid ${this.ctid(tgid)}`, `SysV shm mapping at 0x${m.start.toString(16)} but the tree does not live in its own IPC namespace (criu: "doesn't live in IPC ns"; start it with unshare --ipc)`);
      }
    }
    const ns = this.k.s.ipcns.get(nsId) as IpcNs | undefined;
    const n = ns ? { msg: ns.msg.inUse, sem: ns.sem.inUse, shm: ns.shm.inUse } : { msg: 0, sem: 0, shm: 0 };
    if (n.msg + n.sem + n.shm === 0) return;
    this.report.push({
      object: `ipc namespace ${nsId}`, field: 'SysV IPC objects',
      saved: `not dumped (${n.msg} message queues, ${n.sem} semaphore sets, ${n.shm} shm segments)`, restored: "the restorer's namespace",
      why: 'the tree shares its IPC namespace with the dumper (criu dumps only a namespace of the tree\'s own: unshare --ipc)',
    });
  }

  tasks(fdIndex: Map<number, number>, mmIndex: Map<number, number>): { pstree: CkPstree[]; procs: Map<number, CkProc>; tasks: Map<number, CkTask> } {
    const pstree: CkPstree[] = [];
    const procs = new Map<number, CkProc>();
    const tasks = new Map<number, CkTask>();
    for (const tgid of this.procKids) {
      const p = this.k.proc(tgid);
      const leader = this.k.t(tgid);
      const zombie = leader.state === 'zombie';
      const pid = this.ctid(tgid);
      pstree.push({
        pid,
        ppid: tgid === this.rootKid ? 0 : this.ctid(p.parent),
        pgid: this.visible(p.pgid),
        sid: this.visible(p.sid),
        threads: p.threads.map((kid) => this.ctid(kid)),
      });
      if (this.visible(p.pgid) === 0 || this.visible(p.sid) === 0) {
        this.report.push({
          object: `pid ${pid}`, field: this.visible(p.sid) === 0 ? 'sid' : 'pgid', saved: 'outside the container', restored: "the restorer's",
          why: 'the session or group leader is not in the checkpoint',
        });
      }
      procs.set(pid, {
        exitSignal: p.exitSignal,
        sigaction: [...p.sigaction],
        pending: [...p.pending],
        zombie,
        status: p.status,
        stopped: p.stopped,
        stopReport: p.stopReport,
        contReport: p.contReport,
        rlimNofile: p.rlimNofile,
        rlimNofileMax: p.rlimNofileMax,
        rlimMemlock: p.rlimMemlock,
        subreaper: p.subreaper,
        zombies: [...p.zombies].filter((z) => this.tidOf.has(z)).map((z) => this.ctid(z)),
        semUndoWithParent: this.sharesUndoWithParent(tgid),
      });
    }
    for (const kid of this.taskKids) {
      const t = this.k.t(kid);
      const zombie = t.state === 'zombie';
      tasks.set(this.ctid(kid), {
        tids: t.pids.slice(this.level),
        pidns: this.nsIndex.get(t.pidns)!,
        pidnsForChildren: this.nsIndex.get(t.pidnsForChildren)!,
        state: t.state,
        comm: t.comm,
        cred: structuredClone(t.cred),
        fdtable: zombie ? -1 : fdIndex.get(t.fdtable)!,
        mm: zombie ? -1 : mmIndex.get(t.mm)!,
        cwd: t.cwd,
        umask: t.umask,
        nsd: t.nsd ? structuredClone(t.nsd) : null,
        // In rt_sigsuspend the caller's own mask is the saved one (PTRACE_GETSIGMASK reports
        // saved_sigmask then); the restored call replaces the mask again when it is re-parked.
        sigmask: t.savedSigmask ?? t.sigmask,
        pending: [...t.pending],
        blocked: t.blocked
          ? {
              call: structuredClone(t.blocked.call),
              remainNs: t.blocked.deadlineNs === null ? null : Math.max(0, t.blocked.deadlineNs - this.s.clockNs),
              result: structuredClone(t.blocked.result),
              data: structuredClone(t.blocked.data),
            }
          : null,
        prog: t.prog ? structuredClone(t.prog) : null,
        exitCode: t.exitCode,
      });
    }
    return { pstree, procs, tasks };
  }

  files(): { files: CkFile[]; pipes: { data: Uint8Array }[]; fdtables: CkFdTable[]; fdIndex: Map<number, number> } {
    const files: CkFile[] = [];
    const pipes: { data: Uint8Array }[] = [];
    const fdtables: CkFdTable[] = [];
    const fdIndex = new Map<number, number>();
    const fileIndex = new Map<number, number>();
    const pipeIndex = new Map<number, number>();
    for (const kid of this.taskKids) {
      const t = this.k.t(kid);
      if (t.state === 'zombie' || fdIndex.has(t.fdtable)) continue;
      const table = this.k.fdtable(t.fdtable);
      fdIndex.set(table.id, fdtables.length);
      const fds: [number, number, boolean][] = [];
      for (const fd of [...table.fds.keys()].sort((a, b) => a - b)) {
        const fid = table.fds.get(fd)!;
        let idx = fileIndex.get(fid);
        if (idx === undefined) {
          idx = files.length;
          fileIndex.set(fid, idx);
          files.push(this.file(this.k.file(fid), t, fd, pipes, pipeIndex));
        }
        fds.push([fd, idx, table.cloexec.has(fd)]);
      }
      fdtables.push({ fds });
    }
    return { files, pipes, fdtables, fdIndex };
  }

  file(f: OpenFileState, t: TaskState, fd: number, pipes: { data: Uint8Array }[], pipeIndex: Map<number, number>): CkFile {
    const where = `pid ${this.ctid(t.tgid)} fd ${fd}`;
    let pipe = -1;
    if (f.kind === 'pipe') {
      let p = pipeIndex.get(f.ino);
      if (p === undefined) {
        const ino = this.k.inode(f.ino);
        p = pipes.length;
        pipeIndex.set(f.ino, p);
        pipes.push({ data: ino.data.slice(0, ino.size) });
      }
      pipe = p;
    } else if (f.kind === 'vfs' || f.kind === 'dev') {
      const found = lookupPath(this.k, f.path);
      if (!found || found.ino !== f.ino) throw unsupported('dump', 'files', where, `${f.path} was unlinked or renamed while open`);
    } else if (f.kind === 'proc') {
      if (f.proc && f.proc.kid && !this.tidOf.has(f.proc.tid || f.proc.kid)) {
        throw unsupported('dump', 'files', where, `${f.path} describes a task outside the tree`);
      }
    }
    // A pipe's name carries its inode number, which a restore cannot choose: not saved.
    return { kind: f.kind, flags: f.flags, pos: f.pos, path: f.kind === 'pipe' ? 'pipe:' : f.path, dirPos: f.dirPos, pipe, procType: f.proc?.type ?? '' };
  }

  memory(): { mms: CkMm[]; mmIndex: Map<number, number> } {
    const mms: CkMm[] = [];
    const mmIndex = new Map<number, number>();
    for (const kid of this.taskKids) {
      const t = this.k.t(kid);
      if (t.state === 'zombie' || mmIndex.has(t.mm)) continue;
      const mm = this.k.mm(t.mm);
      // Pages still missing after a lazy restore exist only in the page source: refuse, as criu
      // cannot dump a task with an active userfaultfd either.
      if (mm.maps.some((m) => m.missing?.size)) throw unsupported('dump', 'memory', `pid ${this.ctid(kid)}`, 'pages still missing (a lazy restore is in progress)');
      // Memory is sparse in the kernel, but a checkpoint holds at most 1 GiB per mapping (images.ts).
      const huge = mm.maps.find((m) => m.len > 1 << 30);
      if (huge) throw unsupported('dump', 'memory', `pid ${this.ctid(kid)}`, `a mapping of ${huge.len} bytes at 0x${huge.start.toString(16)} (at most 1 GiB per mapping)`);
      mmIndex.set(mm.id, mms.length);
      mms.push({
        mmapBase: mm.mmapBase,
        maps: mm.maps.map((m) => ({
          start: m.start, len: m.len, prot: m.prot, kind: m.kind, flags: m.flags, shmid: m.shmid,
          data: null,
        })),
      });
    }
    return { mms, mmIndex };
  }

  /**
   * The default private-memory images (no pre-dump, no --track-mem): per live process with
   * anonymous mappings, pagemap-<pid>.img with one PE_PRESENT run per stretch of pages holding a
   * non-zero byte, and their bytes in pages-<id>.img — CRIU's layout, as `memoryImages` writes it
   * but read straight from the page stores (what criu's parasite sends), without a /proc/PID/pagemap
   * walk: with no parent round, dirtiness does not matter. Pages that are absent or all zero are
   * holes and restore as zeros (criu skips the zero page too).
   */
  anonImages(out: Map<string, Uint8Array>): void {
    let n = 0;
    for (const tgid of this.procKids) {
      const t = this.k.t(tgid);
      if (t.state === 'zombie') continue;
      const anon = this.k.mm(t.mm).maps.filter((m) => m.kind === 'anon');
      if (anon.length === 0) continue;
      const pagesId = PAGES_ID_BASE + n++;
      const entries: PagemapEntry[] = [];
      const chunks: Uint8Array[] = [];
      for (const m of anon) {
        const first = m.start / PAGE_SIZE;
        // zeroCopy: the tree dies with the dump and its address spaces are its own (find-tree), so
        // a mapping whose pages lie in one block may be referenced, not copied.
        const { runs, bytes } = storeRuns(m.pages, first, m.len / PAGE_SIZE, !!this.opts.zeroCopy && !this.opts.leaveRunning);
        for (const [at, count] of runs) entries.push({ vaddr: BigInt((first + at) * PAGE_SIZE), compat_nr_pages: 0, flags: PE_PRESENT, nr_pages: BigInt(count) });
        if (bytes.length > 0) chunks.push(bytes);
      }
      out.set(pagemapName(this.ctid(tgid)), writeImage('pagemap', [{ pages_id: pagesId }, ...entries]));
      out.set(`pages-${pagesId}.img`, chunks.length === 1 ? chunks[0]! : joinChunks(chunks));
    }
  }

  /** --with-fs: open regular files and everything under each working directory. */
  fsNodes(files: CkFile[], cwds: string[]): CkFsNode[] {
    const out = new Map<string, CkFsNode>();
    const add = (path: string, ino: InodeState): void => {
      if (path === '/proc' || path.startsWith('/proc/') || path === '/dev' || path.startsWith('/dev/')) return;
      if (ino.type !== 'dir' && ino.type !== 'reg') return;
      // Parents first, so a restore can create them in order.
      const parts = path.split('/').filter(Boolean);
      for (let i = 1; i < parts.length; i++) {
        const dir = '/' + parts.slice(0, i).join('/');
        const d = lookupPath(this.k, dir);
        if (d && !out.has(dir)) out.set(dir, { path: dir, type: 'dir', perm: d.perm, uid: d.uid, gid: d.gid, data: null });
      }
      if (path !== '/' && !out.has(path)) {
        out.set(path, { path, type: ino.type, perm: ino.perm, uid: ino.uid, gid: ino.gid, data: ino.type === 'reg' ? fileContent(ino) : null });
      }
      if (ino.type === 'dir') {
        for (const name of [...ino.entries!.keys()].sort()) {
          add(path === '/' ? `/${name}` : `${path}/${name}`, this.k.inode(ino.entries!.get(name)!));
        }
      }
    };
    for (const f of files) {
      if (f.kind !== 'vfs') continue;
      const ino = lookupPath(this.k, f.path);
      if (ino?.type === 'reg') add(f.path, ino);
    }
    for (const cwd of [...new Set(cwds)].sort()) {
      const ino = lookupPath(this.k, cwd);
      if (ino && cwd !== '/') add(cwd, ino);
    }
    return [...out.values()];
  }

  /** No live task outside the tree is in IPC namespace `ns` or has one of its segments attached (it dies with the tree). */
  ipcNsIsTreeOnly(ns: number): boolean {
    if (ns === this.s.rootIpcNs) return false;
    for (const t of this.s.tasks.values()) {
      if (this.tidOf.has(t.kid) || t.state === 'zombie' || t.state === 'dead') continue;
      if (t.ipcns === ns || this.k.mm(t.mm).maps.some((m) => m.kind === 'shm' && m.ipcns === ns)) return false;
    }
    return true;
  }

  /**
   * The tree's sleepers in sleep order (their `BlockState.seq`), read from the state: per wait
   * channel (the order they wake in), and those with a deadline (the order equal deadlines fire in).
   */
  sleepOrders(): { sleepers: number[][]; timed: number[] } {
    const asleep = this.taskKids.map((kid) => this.k.t(kid)).filter((t) => t.state === 'blocked' && t.blocked);
    asleep.sort((a, b) => a.blocked!.seq - b.blocked!.seq || a.kid - b.kid);
    const byChannel = new Map<string, number[]>();
    for (const t of asleep) {
      const list = byChannel.get(t.blocked!.wchan);
      if (list) list.push(this.ctid(t.kid));
      else byChannel.set(t.blocked!.wchan, [this.ctid(t.kid)]);
    }
    const timed = asleep.filter((t) => t.blocked!.deadlineNs !== null).map((t) => this.ctid(t.kid));
    return { sleepers: [...byChannel.values()], timed };
  }

  run(): DumpResult {
    try {
      this.step('find-tree');
      this.findTree();
      this.step('freeze');
      this.freeze();
      this.step('tasks');
      const root = this.k.t(this.rootKid);
      const newPidNs = this.k.pidNs(root.pidns).reaper === root.tgid;
      // Like criu, a namespace is the tree's own when it differs from the dumper's (under
      // `unshare --ipc --fork` the root shares it with its parent, which is outside the tree).
      const parent = this.s.tasks.get(this.k.proc(root.tgid).parent);
      const dumper = this.s.tasks.get(this.opts.dumper ?? this.k.init.kid) ?? parent;
      const ownIpcNs = !dumper || dumper.ipcns !== root.ipcns;
      this.step('pidns');
      const pidns = this.pidNamespaces();
      this.step('files');
      const { files, pipes, fdtables, fdIndex } = this.files();
      this.step('memory');
      const { mms, mmIndex } = this.memory();
      const { pstree, procs, tasks } = this.tasks(fdIndex, mmIndex);
      const sessions = sessionProblem(pstree);
      if (sessions) throw unsupported('dump', 'tasks', `pid ${this.ctid(this.rootKid)}`, sessions);
      this.step('ipc');
      let ipc = null;
      if (ownIpcNs) {
        const share = !!this.opts.zeroCopy && !this.opts.leaveRunning && this.ipcNsIsTreeOnly(root.ipcns);
        ipc = dumpIpc(this.k, root.ipcns, { ctid: (kid) => this.tidOf.get(kid) ?? 0, procKids: this.procKids, report: this.report, share, shmRound: this.opts.memory?.parent != null });
      } else {
        this.sharedIpcNs(root.ipcns);
      }
      this.step('fs');
      const fs = this.opts.withFs ? this.fsNodes(files, [...tasks.values()].map((t) => t.cwd)) : [];
      const ck: Checkpoint = {
        meta: {
          format: CHECKPOINT_FORMAT,
          profile: this.k.profile.name,
          clockNs: this.s.clockNs,
          newPidNs,
          ownIpcNs,
          withFs: !!this.opts.withFs,
          order: this.taskKids.map((kid) => this.ctid(kid)),
          runq: (this.frozen?.runq ?? []).filter((kid) => this.tidOf.has(kid)).map((kid) => this.ctid(kid)),
          ...this.sleepOrders(),
        },
        pidns, pstree, procs, tasks, files, pipes, fdtables, mms, fs, ipc,
      };
      this.step('encode');
      const images = checkpointToImages(ck, { manifest: false });
      if (this.opts.memory) {
        const { parent, trackMem, lazy } = this.opts.memory;
        const procs = this.procKids.filter((kid) => this.k.t(kid).state !== 'zombie').map((kid) => ({ kid, pid: this.ctid(kid) }));
        // shm contents as a round too (PE_PARENT for clean pages), before clear_refs: src/cr/shm-rounds.ts.
        if (ownIpcNs && parent !== null) shmRoundImages(this.k, procs, root.ipcns, { hasParent: parent !== null, tracker: this.opts.memory.shm, dumper: this.opts.dumper }, images);
        memoryImages(this.k, procs, { hasParent: parent !== null, trackMem, lazy, dumper: this.opts.dumper }, images);
        if (parent !== null) images.set(PARENT_FILE, new TextEncoder().encode(parent + '\n'));
      } else {
        this.anonImages(images);
      }
      // Last, once: the manifest over every image (SHA-256 of each, the page images included).
      images.set(MANIFEST, writeManifest(images));
      this.step('finish');
      this.finish(root);
      return { images, report: this.report, rootPid: this.rootKid, tasks: this.taskKids.length, processes: this.procKids.length };
    } catch (e) {
      this.thaw();
      this.fail(this.steps.at(-1) ?? 'find-tree', `pid ${this.rootKid}`, e);
    }
  }

  finish(root: TaskState): void {
    this.thaw();
    if (this.opts.leaveRunning) return;
    // Kill the tree from the dumper's namespace (a namespace init ignores SIGKILL from inside).
    const dumper = this.opts.dumper ?? this.k.init.kid;
    const sys = new Sys(this.k, dumper);
    for (const kid of [root.kid, ...this.procKids]) {
      const t = this.s.tasks.get(kid);
      if (!t || t.state === 'zombie' || t.state === 'dead') continue;
      sys.kill(this.k.pidIn(kid, dumper), SIGKILL);
    }
  }
}

/**
 * Checkpoints the tree rooted at `rootPid` (a pid in the initial namespace) and, by default,
 * KILLS it afterwards (SIGKILL from the dumper, as `criu dump` without --leave-running): the
 * dumper still has to reap the root (wait4) if it is its child. Pass `leaveRunning: true` to keep
 * the tree running. On failure the tree is thawed, untouched, and a CrError says why. A tree that
 * shares its IPC namespace with the dumper has no IPC images (see `DumpResult.report`).
 */
export function dump(kernel: Kernel, rootPid: number, opts: DumpOptions = {}): DumpResult {
  const kid = kernel.pidNs(kernel.s.rootPidNs).pids.get(rootPid);
  if (kid === undefined) throw noSuchProcess('dump', `pid ${rootPid}`);
  return new Dumper(kernel, kid, opts).run();
}
