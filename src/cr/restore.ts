/**
 * Design note: `restore(kernel, images, {strategy})` recreates a checkpoint the way criu restore
 * does — the restored tasks make the syscalls themselves, the ids come from the strategy's
 * mechanism (strategy.ts), and every id obtained is compared with the saved one:
 *
 *   1. read and validate every image (nothing is created before this succeeds);
 *   2. --with-fs: write the saved files;
 *   3. the restorer (a task of the target kernel, default init) clones the container's init into
 *      new pid and IPC namespaces (`pid 1`); init recreates the IPC objects at their ids;
 *   4. every other thread is created by its parent (or its leader) in the saved creation order,
 *      with its pid at every level inside the container; right after creation a process opens the
 *      files and pipes it is the common ancestor of (so its descendants inherit them, which is how
 *      open file descriptions come to be shared between processes), at their final fd when it holds
 *      them, else at a temporary fd above all final ones;
 *   5. zombies exit with their status; nested pid namespaces not yet entered are unshared;
 *   6. every fd table gets its final fds (dup2 from the temporaries), close-on-exec bits, offsets;
 *   7. every address space gets its mappings at their addresses, anonymous content, shm attaches;
 *   8. IPC late state: sempid (SETVAL by the process that last operated), SEM_UNDO lists, then
 *      IPC_SET with the full state last, so times and last pids are the saved ones;
 *   9. per task: cwd, umask, rlimits, signal dispositions and mask, an armed next_syscall_data
 *      (written by the task to its own file), ns_last_pid; then what only a restorer can do
 *      (restorer.ts): credentials, pending signals, program state; parked syscalls are re-invoked
 *      in their saved sleep order; the run queue gets the saved order.
 * A failure anywhere rolls the whole kernel back (txn.ts) and throws a CrError naming the step and
 * the object. `inject` lets tests fail each step in turn.
 */
import {
  CLONE_FILES, CLONE_FS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_SIGHAND, CLONE_SYSVSEM, CLONE_THREAD, CLONE_VM, F_DUPFD, F_SETFD, F_SETFL,
  FD_CLOEXEC, RLIMIT_MEMLOCK, RLIMIT_NOFILE, SEEK_SET, SIGKILL, SIGSTOP, SIG_SETMASK,
} from '../abi/constants.js';
import type { Kernel, Task } from '../syscalls/scheduler.js';
import { Sys } from '../syscalls/sys.js';
import { SYSCALLS } from '../syscalls/table.js';
import { findKid } from '../kernel/pid/pid.js';
import { formatNextSyscallData } from '../kernel/nsd/nsd.js';
import { CrError, unsupported } from './errors.js';
import type { Checkpoint, CkFile, CkPstree, CkTask, CrReportLine } from './model.js';
import { imagesToCheckpoint } from './images.js';
import { getStrategy, writeNsd, writeProcFile, type Strategy, type StrategyName } from './strategy.js';
import { KernelTransaction } from './txn.js';
import { sessionProblem } from './sessions.js';
import { restoreIpcLate, restoreIpcObjects, type IpcRestoreContext } from './ipc-checkpoint.js';
import * as restorer from './restorer.js';
import { registerLazy } from './lazy.js';

/** Options of `restore()`: the strategy, the restorer task, lazy pages, test hooks. */
export interface RestoreOptions {
  strategy?: StrategyName;
  /** kid of the task that restores (the container's init becomes its child); default: init. */
  restorer?: number;
  /** Test hook: called before every step with its running number; throwing fails the restore there. */
  inject?: (step: string, n: number) => void;
  onProgress?: (done: number, what: string) => void;
  /**
   * Lazy (post-copy) restore: the private pages the images mark PE_LAZY are not filled but
   * registered missing (a userfaultfd-like registration, src/kernel/mm/uffd.ts), the others are
   * filled; a page source serves the missing ones (src/cr/lazy.ts). Without it a PE_LAZY page
   * that has no data in the images is refused.
   */
  lazyPages?: boolean;
  /**
   * The caller hands the image buffers over (read for this restore and not used again, e.g.
   * read from an images directory for it): shm contents become the segments' pages without a copy
   * (views of the pages images). Off by default: a caller restoring one image set twice needs
   * its own copies.
   */
  adoptImages?: boolean;
  /**
   * The caller vouches for the images' integrity, so a set without nsd-manifest.json is not refused
   * for that: B of a migration, whose every byte was checked by the stream's CRC-32 and joined into
   * images in this process a moment ago (hashing 256 MiB twice, to write a manifest and to check
   * it, was most of a pre-copy migration's downtime). A manifest that is there is still checked.
   */
  imagesChecked?: boolean;
}

/** What `restore()` returns: the recreated tasks, the root's pids and the report. */
export interface RestoreResult {
  strategy: StrategyName;
  /** The restored root's pid in the initial namespace and in the restorer's. */
  rootPid: number;
  rootVpid: number;
  /** Container pid → kid of every restored thread. */
  kids: Map<number, number>;
  /**
   * Container pid → handle of every task the restore recreated (each thread, zombies included),
   * e.g. `tasks.get(1)` is the restored root; `task.status` says whether it runs or sleeps.
   */
  tasks: Map<number, Task>;
  /** Fields this strategy could not restore (each says what was saved and what came back). */
  report: CrReportLine[];
  /** Steps run (the failure-injection points). */
  steps: number;
  /** With lazyPages: each restored process's missing-pages registration (container pid → uffd id). */
  lazy: Map<number, number>;
}

const THREAD_FLAGS = CLONE_VM | CLONE_FS | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;

/** The images (and nsd-extra sections) each restore step recreates from. */
const STEP_IMAGES: Readonly<Record<string, string>> = {
  fs: 'nsd-extra.img fs', 'create-root': 'pstree.img, nsd-extra.img task', 'create-process': 'pstree.img, nsd-extra.img task',
  'create-thread': 'pstree.img, nsd-extra.img task', 'close-inherited': 'nsd-extra.img fdtable', 'unshare-pidns': 'nsd-extra.img pidns',
  'open-file': 'nsd-extra.img file', 'open-pipe': 'nsd-extra.img file, pipe', 'install-fds': 'nsd-extra.img fdtable, file',
  memory: 'nsd-extra.img mm', zombie: 'nsd-extra.img proc', 'task-state': 'nsd-extra.img task, proc', 'next-syscall-data': 'nsd-extra.img task',
  'ns-last-pid': 'nsd-extra.img pidns', setsid: 'pstree.img', setpgid: 'pstree.img', restorer: 'nsd-extra.img task, proc', park: 'nsd-extra.img task, meta', 'run-queue': 'nsd-extra.img meta',
  'ipc-sysctls': 'ipcns-var-*.img', 'ipc-limits': 'ipcns-var-*.img', 'ipc-msg': 'ipcns-msg-*.img', 'ipc-sem': 'ipcns-sem-*.img',
  'ipc-shm': 'ipcns-shm-*.img, pagemap-shmem-*.img, pages-*.img', 'ipc-sempid': 'nsd-extra-1.img', 'ipc-semundo': 'nsd-extra-1.img semundo',
  'ipc-shm-state': 'nsd-extra-1.img', 'ipc-next-id': 'nsd-extra-1.img cursors', 'ipc-set-msg': 'ipcns-msg-*.img, nsd-extra-1.img',
  'ipc-set-sem': 'ipcns-sem-*.img, nsd-extra-1.img', 'ipc-set-shm': 'ipcns-shm-*.img, nsd-extra-1.img',
};

/** A step's object with the image it comes from: `tid 3; from pstree.img, nsd-extra.img task/3`. */
function withImage(step: string, object: string): string {
  const images = STEP_IMAGES[step] ?? (step.startsWith('ipc-') ? 'ipcns-*.img, nsd-extra-1.img' : undefined);
  if (!images) return object;
  const n = /^(?:tid|pid) (\d+)/.exec(object)?.[1];
  return `${object}; from ${n === undefined ? images : images.replace(/ (task|proc|semundo)$/, ` $1/${n}`)}`;
}

class Restorer {
  readonly strat: Strategy;
  /** lazyPages: container pid → uffd registration. */
  readonly lazy = new Map<number, number>();
  readonly kids = new Map<number, number>();
  /** Checkpoint pid-namespace index → target namespace id. */
  readonly nsMap = new Map<number, number>();
  /** Level of the container's namespace in the target. */
  level = 0;
  stepNo = 0;
  readonly report: CrReportLine[] = [];
  /** Process pid of each thread, fd table → pid of the process using it. */
  readonly procOf = new Map<number, CkPstree>();
  readonly tableUser = new Map<number, number>();
  /** File index → the process that opens it, and what it was opened as (the open file's id). */
  readonly owner = new Map<number, number>();
  readonly pipeOwner = new Map<number, number>();
  readonly fileFid = new Map<number, number>();
  /** Files a holder other than the owner's own fd table needs (they get a temporary fd). */
  readonly shared = new Set<number>();
  /** Planning indexes: per fd table, file index → its first fd; per pid, the files it opens (in
   * file order); per pipe, its ends (in file order). Built once instead of scanned per file. */
  fdOf: Map<number, number>[] = [];
  readonly ownedBy = new Map<number, number[]>();
  readonly pipeEnds = new Map<number, [CkFile, number][]>();
  tempBase = 0;

  constructor(readonly k: Kernel, readonly ck: Checkpoint, readonly opts: RestoreOptions, readonly lazyPages?: ReadonlyMap<number, ReadonlySet<number>>) {
    this.strat = getStrategy(opts.strategy ?? 'nsd');
  }

  step<T>(name: string, object: string, fn: () => T): T {
    this.stepNo++;
    this.opts.onProgress?.(this.stepNo, name);
    try {
      this.opts.inject?.(name, this.stepNo);
      return fn();
    } catch (e) {
      if (e instanceof CrError && e.phase === 'restore' && !e.object.includes('.img')) {
        throw new CrError(e.phase, e.step, withImage(e.step, e.object), e.reason, e.cause, e.code);
      }
      throw CrError.wrap('restore', name, withImage(name, object), e);
    }
  }

  sys(tid: number): Sys {
    const kid = this.kids.get(tid);
    if (kid === undefined) throw new CrError('restore', 'tasks', `tid ${tid}`, 'not restored yet');
    return new Sys(this.k, kid);
  }

  task(tid: number): CkTask {
    return this.ck.tasks.get(tid)!;
  }

  // ---- planning (no kernel change) ----

  plan(restorerKid: number): void {
    const why = this.strat.unsupported(this.k);
    if (why) throw new CrError('restore', 'check', `strategy ${this.strat.name}`, why);
    if (this.ck.meta.profile !== this.k.profile.name) {
      this.report.push({ object: 'kernel', field: 'profile', saved: this.ck.meta.profile, restored: this.k.profile.name, why: 'restored on another kernel profile: id allocation after restore follows the new one' });
    }
    for (const p of this.ck.pstree) for (const tid of p.threads) this.procOf.set(tid, p);
    for (const [tid, t] of this.ck.tasks) {
      if (t.prog && !this.k.findProgram(t.prog.name)) throw new CrError('restore', 'check', `tid ${tid}`, `program ${t.prog.name} is not installed in this kernel`);
      if (t.blocked && !SYSCALLS.has(t.blocked.call.name)) throw new CrError('restore', 'check', `tid ${tid}`, `syscall ${t.blocked.call.name} does not exist here`);
      if (t.fdtable >= 0 && !this.tableUser.has(t.fdtable)) this.tableUser.set(t.fdtable, tid);
    }
    // Who opens each file: the nearest common ancestor of every process holding it.
    const holders = new Map<number, Set<number>>();
    /** File index → how many fd tables hold it. */
    const tablesHolding = new Map<number, number>();
    this.fdOf = this.ck.fdtables.map((table, j) => {
      const pid = this.procOf.get(this.tableUser.get(j)!)!.pid;
      const fdOf = new Map<number, number>();
      for (const [fd, file] of table.fds) {
        if (!holders.has(file)) holders.set(file, new Set());
        holders.get(file)!.add(pid);
        if (fdOf.has(file)) continue;
        fdOf.set(file, fd);
        tablesHolding.set(file, (tablesHolding.get(file) ?? 0) + 1);
      }
      return fdOf;
    });
    const pipeHolders = new Map<number, Set<number>>();
    for (const [file, hs] of holders) {
      const f = this.ck.files[file]!;
      if (f.kind === 'pipe') {
        if (!pipeHolders.has(f.pipe)) pipeHolders.set(f.pipe, new Set());
        for (const h of hs) pipeHolders.get(f.pipe)!.add(h);
      }
    }
    for (const [pipe, hs] of pipeHolders) this.pipeOwner.set(pipe, this.lca([...hs]));
    for (const [file, hs] of holders) {
      const f = this.ck.files[file]!;
      const owner = f.kind === 'pipe' ? this.pipeOwner.get(f.pipe)! : this.lca([...hs]);
      this.owner.set(file, owner);
      const ownTable = this.task(owner).fdtable;
      const ownerHolds = this.fdOf[ownTable]!.has(file);
      if (tablesHolding.get(file)! > (ownerHolds ? 1 : 0)) this.shared.add(file);
    }
    this.ck.files.forEach((f, i) => {
      const owner = this.owner.get(i);
      if (owner !== undefined) {
        if (!this.ownedBy.has(owner)) this.ownedBy.set(owner, []);
        this.ownedBy.get(owner)!.push(i);
      }
      if (f.kind === 'pipe') {
        if (!this.pipeEnds.has(f.pipe)) this.pipeEnds.set(f.pipe, []);
        this.pipeEnds.get(f.pipe)!.push([f, i]);
      }
    });
    const sessions = sessionProblem(this.ck.pstree);
    if (sessions) throw unsupported('restore', 'check', 'pstree.img', sessions);
    let maxFd = -1;
    for (const t of this.ck.fdtables) for (const [fd] of t.fds) maxFd = Math.max(maxFd, fd);
    this.tempBase = maxFd + 1;
    const limit = this.k.proc(this.k.t(restorerKid).tgid).rlimNofile;
    if (this.tempBase + this.ck.files.length + 2 > limit) {
      throw unsupported('restore', 'check', 'files', `${this.ck.files.length} open files above fd ${this.tempBase} exceed RLIMIT_NOFILE ${limit} of the restorer`);
    }
  }

  ancestors(pid: number): number[] {
    const chain: number[] = [];
    for (let p: number | undefined = pid; p; p = this.procOf.get(p)?.ppid) chain.push(p);
    return chain;
  }

  lca(pids: number[]): number {
    let common = this.ancestors(pids[0]!);
    for (const p of pids.slice(1)) {
      const set = new Set(this.ancestors(p));
      common = common.filter((x) => set.has(x));
    }
    return common[0]!;
  }

  temp(file: number): number {
    return this.tempBase + file;
  }

  // ---- creating tasks ----

  /** Clones `tid` from `parentKid` with the strategy and checks every pid number it got. */
  createTask(tid: number, parentKid: number, flags: number, exitSignal: number): void {
    const t = this.task(tid);
    const parent = new Sys(this.k, parentKid);
    const want = [...t.tids].reverse();
    const vpid = this.strat.clone(this.k, parent, flags, exitSignal, want);
    const kid = findKid(this.k, this.k.t(parentKid).pidns, vpid);
    if (kid === undefined) throw new CrError('restore', 'tasks', `tid ${tid}`, `clone returned ${vpid}, which does not name a task`);
    const child = this.k.t(kid);
    if (this.kids.size === 0) this.level = this.k.pidNs(child.pidns).level;
    const got = child.pids.slice(this.level);
    if (got.join(',') !== t.tids.join(',')) {
      throw new CrError('restore', 'tasks', `tid ${tid}`, `got pid numbers [${got.join(',')}], wanted [${t.tids.join(',')}]`);
    }
    this.kids.set(tid, kid);
    if (!this.nsMap.has(t.pidns)) this.nsMap.set(t.pidns, child.pidns);
  }

  createRoot(restorerKid: number): void {
    const root = this.ck.pstree[0]!;
    const flags = (this.ck.meta.newPidNs ? CLONE_NEWPID : 0) | (this.ck.meta.ownIpcNs ? CLONE_NEWIPC : 0);
    this.step('create-root', `pid ${root.pid}`, () => this.createTask(root.pid, restorerKid, flags, this.ck.procs.get(root.pid)!.exitSignal));
    this.session(root.pid);
    const sys = this.sys(root.pid);
    // Nothing of the restorer's is the container's: close every inherited fd.
    this.step('close-inherited', `pid ${root.pid}`, () => {
      for (const fd of [...this.k.fdtable(this.k.t(this.kids.get(root.pid)!).fdtable).fds.keys()]) sys.close(fd);
    });
  }

  createOthers(): void {
    const done = new Set<number>([this.ck.pstree[0]!.pid]);
    for (const tid of this.ck.meta.order) {
      if (done.has(tid)) continue;
      done.add(tid);
      const p = this.procOf.get(tid)!;
      const t = this.task(tid);
      if (tid !== p.pid) {
        const leader = this.task(p.pid);
        const flags = THREAD_FLAGS | (t.fdtable === leader.fdtable ? CLONE_FILES : 0);
        this.step('create-thread', `tid ${tid}`, () => this.createTask(tid, this.kids.get(p.pid)!, flags, 0));
        continue;
      }
      const q = this.task(p.ppid);
      const qKid = this.kids.get(p.ppid)!;
      let flags = 0;
      if (t.pidns !== q.pidns) {
        const mapped = this.nsMap.get(t.pidns);
        if (mapped === undefined) {
          if (q.pidnsForChildren === t.pidns) {
            this.step('unshare-pidns', `pid ${p.ppid}`, () => new Sys(this.k, qKid).unshare(CLONE_NEWPID));
          } else flags |= CLONE_NEWPID;
        } else if (this.k.t(qKid).pidnsForChildren !== mapped) {
          throw unsupported('restore', 'create-process', `pid ${tid}`, 'a process in a nested pid namespace its parent cannot fork into');
        }
      }
      // The SEM_UNDO list its parent shares with it (CLONE_SYSVSEM), as at the original clone.
      if (this.ck.procs.get(tid)!.semUndoWithParent) flags |= CLONE_SYSVSEM;
      // The fd table its parent shares with it (CLONE_FILES): nothing of its own to close or open.
      const sharesFiles = t.fdtable >= 0 && t.fdtable === q.fdtable;
      if (sharesFiles) flags |= CLONE_FILES;
      this.step('create-process', `pid ${tid}`, () => this.createTask(tid, qKid, flags, this.ck.procs.get(tid)!.exitSignal));
      this.session(tid);
      if (sharesFiles) {
        this.openOwned(tid);
        continue;
      }
      this.step('close-inherited', `pid ${tid}`, () => {
        const sys = this.sys(tid);
        for (const fd of [...this.k.fdtable(this.k.t(this.kids.get(tid)!).fdtable).fds.keys()]) if (fd < this.tempBase) sys.close(fd);
      });
      this.openOwned(tid);
    }
  }

  // ---- sessions and process groups (sessions.ts) ----

  /** A session leader calls setsid() right after it is created, before it has children. */
  session(pid: number): void {
    if (this.procOf.get(pid)!.sid === pid) this.step('setsid', `pid ${pid}`, () => this.sys(pid).setsid());
  }

  /** Every process whose group is not the one it inherited joins it; group leaders first. */
  groups(): void {
    const root = this.ck.pstree[0]!.pid;
    const leadersFirst = [...this.ck.pstree].sort((a, b) => Number(b.pgid === b.pid) - Number(a.pgid === a.pid));
    for (const p of leadersFirst) {
      // 0: a group outside the container (kept as the restorer's, reported at dump).
      if (p.pgid === 0 || this.sys(root).getpgid(p.pid) === p.pgid) continue;
      this.step('setpgid', `pid ${p.pid}`, () => {
        if (this.ck.tasks.get(p.pid)!.pidns !== 0) throw unsupported('restore', 'setpgid', `pid ${p.pid}`, `process group ${p.pgid} of a process in a nested pid namespace`);
        this.sys(p.pid).setpgid(0, p.pgid === p.pid ? 0 : p.pgid);
      });
    }
  }

  // ---- files ----

  /** The fd `pid`'s own table holds `file` at, if any. */
  finalFd(pid: number, file: number): number | undefined {
    return this.fdOf[this.task(pid).fdtable]!.get(file);
  }

  openOwned(pid: number): void {
    const sys = this.sys(pid);
    const table = (): Map<number, number> => this.k.fdtable(this.k.t(this.kids.get(pid)!).fdtable).fds;
    const pipesDone = new Set<number>();
    for (const i of this.ownedBy.get(pid) ?? []) {
      const f = this.ck.files[i]!;
      if (f.kind === 'pipe') {
        if (pipesDone.has(f.pipe)) continue;
        pipesDone.add(f.pipe);
        this.step('open-pipe', `pid ${pid} pipe ${f.pipe}`, () => this.openPipe(sys, pid, f.pipe, table));
        continue;
      }
      this.step('open-file', `pid ${pid} ${f.path}`, () => {
        const final = this.finalFd(pid, i);
        const at = final ?? this.temp(i);
        const got = this.strat.open(sys, at, f.path, f.flags);
        if (got !== at) throw new CrError('restore', 'open-file', `pid ${pid} ${f.path}`, `got fd ${got}, wanted ${at}`);
        if (f.pos !== 0) sys.lseek(at, f.pos, SEEK_SET);
        this.fileFid.set(i, table().get(at)!);
        restorer.setDirPos(this.k, table().get(at)!, f.dirPos);
        if (final !== undefined && this.shared.has(i)) sys.fcntl(at, F_DUPFD, this.temp(i));
      });
    }
  }

  openPipe(sys: Sys, pid: number, pipe: number, table: () => Map<number, number>): void {
    const ends = this.pipeEnds.get(pipe) ?? [];
    const [a, b] = sys.pipe2(0);
    // Park both new fds on temporaries first so neither can be in the way of a final fd.
    const parked: Record<'r' | 'w', number> = { r: this.tempBase + this.ck.files.length, w: this.tempBase + this.ck.files.length + 1 };
    sys.fcntl(a, F_DUPFD, parked.r);
    sys.fcntl(b, F_DUPFD, parked.w);
    sys.close(a);
    sys.close(b);
    const data = this.ck.pipes[pipe]!.data;
    if (data.length > 0) sys.write(parked.w, data);
    for (const [f, i] of ends) {
      const from = (f.flags & 3) === 0 ? parked.r : parked.w;
      const final = this.finalFd(pid, i);
      for (const at of [final, this.shared.has(i) || final === undefined ? this.temp(i) : undefined]) {
        if (at === undefined) continue;
        const got = sys.fcntl(from, F_DUPFD, at);
        if (got !== at) throw new CrError('restore', 'open-pipe', `pid ${pid} pipe ${pipe}`, `got fd ${got}, wanted ${at}`);
      }
      sys.fcntl(from, F_SETFL, f.flags);
      this.fileFid.set(i, table().get(from)!);
    }
    sys.close(parked.r);
    sys.close(parked.w);
  }

  finalizeFds(): void {
    this.ck.fdtables.forEach((saved, j) => {
      const tid = this.tableUser.get(j)!;
      this.step('install-fds', `tid ${tid} fd table`, () => {
        const sys = this.sys(tid);
        const fds = (): Map<number, number> => this.k.fdtable(this.k.t(this.kids.get(tid)!).fdtable).fds;
        const want = new Map(saved.fds.map(([fd, file]) => [fd, file]));
        for (const fd of [...fds().keys()]) if (fd < this.tempBase && !want.has(fd)) sys.close(fd);
        for (const [fd, file, cloexec] of saved.fds) {
          const fid = this.fileFid.get(file);
          if (fds().get(fd) !== fid) {
            // From its temporary, or from another fd of this table already holding it (a file
            // dup'ed within one table is opened once, at its first fd).
            const from = fds().get(this.temp(file)) === fid ? this.temp(file) : saved.fds.find(([f, i]) => i === file && f !== fd && fds().get(f) === fid)?.[0];
            if (from === undefined) {
              throw new CrError('restore', 'install-fds', `tid ${tid} fd ${fd}`, `${this.fileName(file)} is neither inherited nor open at another fd of this table`);
            }
            const got = sys.dup2(from, fd);
            if (got !== fd) throw new CrError('restore', 'install-fds', `tid ${tid} fd ${fd}`, `dup2 gave ${got}`);
          }
          sys.fcntl(fd, F_SETFD, cloexec ? FD_CLOEXEC : 0);
        }
        for (const fd of [...fds().keys()]) if (fd >= this.tempBase) sys.close(fd);
      });
    });
  }

  /** How an error names a saved open file: its index and what it is. */
  fileName(file: number): string {
    const f = this.ck.files[file];
    return `file ${file} (${f ? (f.kind === 'pipe' ? `pipe ${f.pipe}` : f.path) : 'not in the checkpoint'})`;
  }

  // ---- memory ----

  restoreMemory(): void {
    const done = new Set<number>();
    for (const tid of this.ck.meta.order) {
      const t = this.task(tid);
      if (t.mm < 0 || done.has(t.mm)) continue;
      done.add(t.mm);
      const saved = this.ck.mms[t.mm]!;
      this.step('memory', `pid ${this.procOf.get(tid)!.pid}`, () => {
        const sys = this.sys(tid);
        const kid = this.kids.get(tid)!;
        for (const m of [...this.k.mm(this.k.t(kid).mm).maps]) sys.munmap(m.start, m.len);
        for (const m of saved.maps) {
          const got = m.kind === 'anon' ? sys.mmap(m.start, m.len, m.prot, m.flags) : sys.shmat(m.shmid, m.start, m.flags);
          if (got !== m.start) throw new CrError('restore', 'memory', `pid ${this.procOf.get(tid)!.pid}`, `mapping at 0x${got.toString(16)}, wanted 0x${m.start.toString(16)}`);
          if (m.kind === 'anon') restorer.fillAnon(this.k, kid, m.start, m.data!);
          if (m.kind === 'anon' && this.lazyPages) registerLazy(this.k, kid, m, this.lazyPages.get(t.mm), this.lazy, this.procOf.get(tid)!.pid);
        }
        restorer.setMmapBase(this.k, kid, saved.mmapBase);
      });
    }
  }

  // ---- the rest of each task ----

  zombies(): void {
    for (const p of this.ck.pstree) {
      for (const z of this.ck.procs.get(p.pid)!.zombies) {
        const saved = this.ck.procs.get(z)!;
        this.step('zombie', `pid ${z}`, () => {
          restorer.setIdentity(this.k, this.kids.get(z)!, this.task(z));
          this.sys(z).exit_group((saved.status >> 8) & 0xff);
          restorer.setExitStatus(this.k, this.kids.get(z)!, saved.status, this.task(z).exitCode);
        });
      }
    }
  }

  unsharePending(): void {
    for (const tid of this.ck.meta.order) {
      const t = this.task(tid);
      if (this.ck.procs.get(this.procOf.get(tid)!.pid)!.zombie || t.pidnsForChildren === t.pidns || this.nsMap.has(t.pidnsForChildren)) continue;
      this.step('unshare-pidns', `tid ${tid}`, () => {
        this.sys(tid).unshare(CLONE_NEWPID);
        this.nsMap.set(t.pidnsForChildren, this.k.t(this.kids.get(tid)!).pidnsForChildren);
      });
    }
  }

  taskState(): void {
    for (const tid of this.ck.meta.order) {
      const p = this.procOf.get(tid)!;
      const proc = this.ck.procs.get(p.pid)!;
      if (proc.zombie) continue;
      const t = this.task(tid);
      this.step('task-state', `tid ${tid}`, () => {
        const sys = this.sys(tid);
        if (sys.getcwd() !== t.cwd) sys.chdir(t.cwd);
        sys.umask(t.umask);
        if (tid === p.pid) {
          sys.setrlimit(RLIMIT_NOFILE, { rlim_cur: proc.rlimNofile, rlim_max: proc.rlimNofileMax });
          sys.setrlimit(RLIMIT_MEMLOCK, { rlim_cur: proc.rlimMemlock, rlim_max: proc.rlimMemlock });
          if (proc.subreaper) sys.prctl(36, 1);
          for (let sig = 1; sig < proc.sigaction.length; sig++) {
            if (sig === SIGKILL || sig === SIGSTOP) continue;
            if (sys.rt_sigaction(sig) !== proc.sigaction[sig]) sys.rt_sigaction(sig, proc.sigaction[sig]);
          }
        }
        sys.rt_sigprocmask(SIG_SETMASK, t.sigmask);
      });
    }
  }

  /** Armed next_syscall_data, written by each thread to its own file — the very last syscalls
   * these threads make during the restore, since any open() would consume the value. */
  armNsd(): void {
    for (const tid of this.ck.meta.order) {
      const t = this.task(tid);
      if (!t.nsd || this.ck.procs.get(this.procOf.get(tid)!.pid)!.zombie) continue;
      this.step('next-syscall-data', `tid ${tid}`, () => {
        writeNsd(this.sys(tid), formatNextSyscallData(t.nsd).trimEnd() || 'LONG0');
      });
    }
  }

  nsLastPid(): void {
    for (const [idx, nsId] of this.nsMap) {
      const saved = this.ck.pidns[idx]!;
      this.step('ns-last-pid', `pid ns ${idx}`, () => {
        const inside = [...this.kids.values()].find((kid) => this.k.t(kid).pidns === nsId && this.k.t(kid).state !== 'zombie');
        if (this.k.profile.nsLastPid && inside !== undefined) {
          writeProcFile(new Sys(this.k, inside), '/proc/sys/kernel/ns_last_pid', String(saved.lastPid));
        } else {
          restorer.setLastPid(this.k, nsId, saved.lastPid);
        }
        if (this.k.pidNs(nsId).lastPid !== saved.lastPid) throw new CrError('restore', 'ns-last-pid', `pid ns ${idx}`, `ns_last_pid is ${this.k.pidNs(nsId).lastPid}, wanted ${saved.lastPid}`);
      });
    }
  }

  finish(): void {
    // What only the restorer can do: credentials, pending signals, program state, stop state.
    this.step('restorer', 'tasks', () => {
      for (const tid of this.ck.meta.order) {
        const proc = this.ck.procs.get(this.procOf.get(tid)!.pid)!;
        if (proc.zombie) continue;
        restorer.installTask(this.k, this.kids.get(tid)!, this.task(tid), tid === this.procOf.get(tid)!.pid ? proc : null);
      }
    });
    this.step('park', 'tasks', () => {
      const blocked = this.ck.meta.order.filter((tid) => this.task(tid).state === 'blocked');
      const order = sleepOrder(blocked, [...this.ck.meta.sleepers, this.ck.meta.timed]);
      for (const tid of order) restorer.repark(this.k, this.kids.get(tid)!, this.task(tid).blocked!, `tid ${tid}`);
    });
    this.step('run-queue', 'tasks', () => {
      restorer.orderRunQueue(this.k, [...this.kids.values()], this.ck.meta.runq.map((tid) => this.kids.get(tid)!));
    });
  }

  run(restorerKid: number): Omit<RestoreResult, 'tasks'> {
    if (this.ck.fs.length > 0) this.step('fs', 'files', () => restorer.writeFs(this.k, restorerKid, this.ck.fs));
    this.createRoot(restorerKid);
    const root = this.ck.pstree[0]!.pid;
    const ctx: IpcRestoreContext = {
      kernel: this.k,
      strategy: this.strat,
      sys: this.sys(root),
      procSys: (pid: number) => {
        const kid = this.kids.get(pid);
        const t = kid === undefined ? undefined : this.k.s.tasks.get(kid);
        return t && t.state !== 'zombie' ? new Sys(this.k, kid!) : undefined;
      },
      step: <T>(name: string, object: string, fn: () => T): T => this.step(name, object, fn),
      report: this.report,
      adopt: !!this.opts.adoptImages,
    };
    if (this.ck.ipc) restoreIpcObjects(this.ck.ipc, ctx);
    this.openOwned(root);
    this.createOthers();
    this.groups();
    this.zombies();
    this.unsharePending();
    this.finalizeFds();
    this.restoreMemory();
    if (this.ck.ipc) restoreIpcLate(this.ck.ipc, ctx);
    this.taskState();
    this.nsLastPid();
    this.armNsd();
    this.finish();
    const rootKid = this.kids.get(root)!;
    return {
      strategy: this.strat.name,
      rootPid: rootKid,
      rootVpid: this.k.pidIn(rootKid, restorerKid),
      kids: this.kids,
      report: this.report,
      steps: this.stepNo,
      lazy: this.lazy,
    };
  }
}

/**
 * One order of parking that reproduces every saved order at once (each wait queue's, the timers'):
 * a topological sort of their consecutive pairs, ties broken by creation order.
 */
export function sleepOrder(tids: number[], lists: number[][]): number[] {
  const after = new Map<number, number[]>(tids.map((t) => [t, []]));
  const indeg = new Map<number, number>(tids.map((t) => [t, 0]));
  for (const list of lists) {
    for (let i = 1; i < list.length; i++) {
      const [a, b] = [list[i - 1]!, list[i]!];
      if (!after.has(a) || !after.has(b)) continue;
      after.get(a)!.push(b);
      indeg.set(b, indeg.get(b)! + 1);
    }
  }
  const out: number[] = [];
  const ready = tids.filter((t) => indeg.get(t) === 0);
  while (ready.length > 0) {
    const t = ready.shift()!;
    out.push(t);
    for (const b of after.get(t)!) {
      indeg.set(b, indeg.get(b)! - 1);
      if (indeg.get(b) === 0) ready.push(b);
    }
  }
  if (out.length !== tids.length) throw new CrError('restore', 'park', 'wait queues', 'saved sleep orders contradict each other');
  return out;
}

/** Decodes and validates images; throws CrError('images') on anything wrong. */
export function readCheckpoint(images: ReadonlyMap<string, Uint8Array>, lazy?: Map<number, Set<number>>, imagesChecked = false): Checkpoint {
  try {
    return imagesToCheckpoint(images, lazy, imagesChecked);
  } catch (e) {
    throw CrError.wrap('images', 'read-images', e instanceof Error && 'file' in e ? String((e as { file: unknown }).file) : '', e);
  }
}

/**
 * Restores a checkpoint into `kernel`, as children of the restorer (`opts.restorer`, default
 * init). All or nothing: on failure the kernel is as before and a CrError says why. Returns
 * every task it recreated (`tasks`: container pid → Task), the root's pids, and the report of
 * saved fields that could not come back identically. The tasks run at the next `kernel.run()`.
 */
export function restore(kernel: Kernel, images: ReadonlyMap<string, Uint8Array>, opts: RestoreOptions = {}): RestoreResult {
  // lazyPages: the PE_LAZY pages are left out of the decoded memory and listed (mm index → vpns).
  const lazy = opts.lazyPages ? new Map<number, Set<number>>() : undefined;
  const ck = readCheckpoint(images, lazy, opts.imagesChecked);
  const restorerKid = opts.restorer ?? kernel.init.kid;
  const r = new Restorer(kernel, ck, opts, lazy);
  r.plan(restorerKid);
  const txn = new KernelTransaction(kernel);
  try {
    const res = r.run(restorerKid);
    const tasks = new Map<number, Task>();
    for (const [pid, kid] of res.kids) tasks.set(pid, kernel.task(kid)!);
    return { ...res, tasks };
  } catch (e) {
    txn.rollback();
    throw CrError.wrap('restore', 'restore', '', e);
  }
}
