/**
 * KernelCore: the root of the kernel model. It owns the state (plain data, `s`), the profile, the
 * derived indexes (wait queues, the set of tasks with deadlines) and the registries of code
 * (subsystems, programs). Mechanisms live in their own modules and take the core as `k`.
 *
 * Boot creates the initial pid and IPC namespaces, the root filesystem and init (pid 1, root
 * credentials, no program: it is driven from outside until it execs one).
 */
import { KernelBug, KernelPanic } from '../abi/errno.js';
import { SIGCHLD } from '../abi/constants.js';
import type {
  BlockState, FdTableState, InodeState, IpcNsState, KernelState, MmState, OpenFileState, PidNsState,
  ProcState, SysResult, TaskState,
} from './state.js';
import { getProfile, type Profile, type ProfileName } from './profile.js';
import { createPidNs, attachPid, allocPid } from './pid/pid.js';
import { mkRootFs } from './fs/vfs.js';
import { newFdTable } from './fs/fdtable.js';
import { rootCred } from './task/cred.js';
import { newMm } from './mm/mm.js';
import { SUBSYSTEMS, type Subsystem } from './subsystem.js';
import { newIpcNs } from './ipcns.js';
import { deliverSignal } from './task/signal.js';

/** A character device's operations. `read` returns null when it would block (wchan `dev:<name>`). */
export interface DeviceOps {
  read?(k: KernelCore, count: number): Uint8Array | null;
  write?(k: KernelCore, bytes: Uint8Array): number;
}

/** Options of `new Kernel(opts)`: the Linux profile, the scheduler seed, … */
export interface KernelOptions {
  /** Kernel profile; default `linux-6`. */
  profile?: ProfileName;
  /** Virtual boot time in Unix seconds; default 2008-07-08 11:24:23 UTC (the RFC's posting). */
  bootTime?: number;
  /** Scheduler tie-break seed (0: strict round-robin). */
  seed?: number;
}

export const DEFAULT_BOOT_TIME = 1215516263;

/** Nanoseconds of virtual time one scheduler step (one program step + its syscall) takes. */
export const STEP_NS = 1000;

export class KernelCore {
  readonly profile: Profile;
  s: KernelState;
  /** The BlockState of the syscall being re-invoked after a wake-up, else null. */
  resuming: BlockState | null = null;
  /** Derived: wait channel → sleeping kids in sleep order (`BlockState.seq`). Rebuilt from tasks on restore. */
  private waiters = new Map<string, Set<number>>();
  /** Derived: kids of sleeping tasks with a deadline, in sleep order (the order equal deadlines fire in). */
  private timed = new Set<number>();
  /** Derived: how many tasks are in `waiters` (when it drops to 0, `s.sleepSeq` restarts). */
  private sleeping = 0;
  /** Derived: members of `s.runq`, for O(1) membership. */
  private queued = new Set<number>();
  /** kid of the task the scheduler is stepping (not in the run queue meanwhile), else 0. */
  current = 0;
  /** Optional syscall trace sink (strace-like lines). */
  tracer: ((line: string) => void) | null = null;
  /** Character devices beyond null/zero, by name (code, not state: e.g. the host console). */
  readonly devices = new Map<string, DeviceOps>();

  constructor(opts: KernelOptions = {}, state?: KernelState) {
    this.profile = getProfile(state?.profile ?? opts.profile ?? 'linux-6');
    if (state) {
      this.s = state;
      this.rebuildIndexes();
      return;
    }
    this.s = {
      profile: this.profile.name,
      clockNs: (opts.bootTime ?? DEFAULT_BOOT_TIME) * 1e9,
      bootNs: (opts.bootTime ?? DEFAULT_BOOT_TIME) * 1e9,
      nextId: 1,
      pidMax: this.profile.pidMaxDefault,
      rootPidNs: 0,
      rootIpcNs: 0,
      tasks: new Map(),
      procs: new Map(),
      pidns: new Map(),
      ipcns: new Map(),
      fdtables: new Map(),
      files: new Map(),
      inodes: new Map(),
      rootIno: 0,
      mms: new Map(),
      runq: [],
      sleepSeq: 0,
      sched: { steps: 0, seed: opts.seed ?? 0 },
      panicked: null,
      ipc: { semUndo: new Map(), pids: new Map() },
    };
    this.boot();
  }

  private boot(): void {
    const pidns = createPidNs(this, 0);
    this.s.rootPidNs = pidns.id;
    this.s.rootIpcNs = newIpcNs(this).id;
    mkRootFs(this);
    for (const sub of SUBSYSTEMS) sub.boot?.(this);
    this.ipcNs(this.s.rootIpcNs).refs++;
    const pids = allocPid(this, pidns.id, null, null);
    const kid = pids[0]!;
    attachPid(this, pidns.id, pids, kid);
    pidns.reaper = kid;
    const fdt = newFdTable(this);
    const mm = newMm(this);
    const task: TaskState = {
      kid, tgid: kid, pids, pidns: pidns.id, pidnsForChildren: pidns.id, ipcns: this.s.rootIpcNs,
      state: 'running', comm: 'init', cred: rootCred(), fdtable: fdt.id, mm: mm.id, cwd: '/', umask: 0o022,
      nsd: null, sigmask: 0n, savedSigmask: null, pending: [], blocked: null, prog: null, vforkParent: 0, exitCode: 0,
    };
    this.s.tasks.set(kid, task);
    this.s.procs.set(kid, newProc(this, kid, 0));
  }

  // ---- ids and accessors (get* throw a KernelBug when an id is dangling: a broken invariant) ----

  newId(): number {
    return this.s.nextId++;
  }

  get now(): number {
    return this.s.clockNs;
  }

  /** Current time in whole seconds (get_seconds / ktime_get_real_seconds). */
  get seconds(): number {
    return Math.floor(this.s.clockNs / 1e9);
  }

  t(kid: number): TaskState {
    const t = this.s.tasks.get(kid);
    if (!t) throw new KernelBug(`no task ${kid}`);
    return t;
  }

  proc(tgid: number): ProcState {
    const p = this.s.procs.get(tgid);
    if (!p) throw new KernelBug(`no process ${tgid}`);
    return p;
  }

  pidNs(id: number): PidNsState {
    const ns = this.s.pidns.get(id);
    if (!ns) throw new KernelBug(`no pid namespace ${id}`);
    return ns;
  }

  ipcNs(id: number): IpcNsState {
    const ns = this.s.ipcns.get(id);
    if (!ns) throw new KernelBug(`no ipc namespace ${id}`);
    return ns;
  }

  fdtable(id: number): FdTableState {
    const t = this.s.fdtables.get(id);
    if (!t) throw new KernelBug(`no fd table ${id}`);
    return t;
  }

  file(id: number): OpenFileState {
    const f = this.s.files.get(id);
    if (!f) throw new KernelBug(`no open file ${id}`);
    return f;
  }

  inode(ino: number): InodeState {
    const n = this.s.inodes.get(ino);
    if (!n) throw new KernelBug(`no inode ${ino}`);
    return n;
  }

  mm(id: number): MmState {
    const m = this.s.mms.get(id);
    if (!m) throw new KernelBug(`no mm ${id}`);
    return m;
  }

  subsystems(): readonly Subsystem[] {
    return SUBSYSTEMS;
  }

  /**
   * Whether program code is installed under `name` in this kernel (execve's format check). The
   * core has no program table (program code lives above the kernel): the public Kernel overrides
   * this with its own table.
   */
  hasProgram(_name: string): boolean {
    return false;
  }

  // ---- run queue and wait queues ----

  /** Appends a task to the run queue (once). Tasks without a program are driven from outside. */
  enqueue(kid: number): void {
    if (kid === this.current || this.queued.has(kid)) return;
    if (!this.s.tasks.get(kid)?.prog) return;
    this.queued.add(kid);
    this.s.runq.push(kid);
  }

  /** Removes a task from the run queue. */
  unqueue(kid: number): void {
    if (!this.queued.delete(kid)) return;
    const i = this.s.runq.indexOf(kid);
    if (i >= 0) this.s.runq.splice(i, 1);
  }

  /** Replaces the run queue (kids in scheduling order) and its membership index. */
  setRunQueue(runq: number[]): void {
    this.s.runq = runq;
    this.queued = new Set(runq);
  }

  /** Takes the task at position `i` (0: the head) off the run queue. */
  protected takeQueued(i: number): number {
    const kid = i === 0 ? this.s.runq.shift()! : this.s.runq.splice(i, 1)[0]!;
    this.queued.delete(kid);
    return kid;
  }

  /** Makes a task runnable (appends it to the run queue once). */
  makeRunnable(kid: number): void {
    const t = this.s.tasks.get(kid);
    if (!t || t.state === 'zombie' || t.state === 'dead') return;
    if (t.state === 'blocked') this.unpark(t);
    if (t.state === 'stopped') return;
    t.state = 'running';
    this.enqueue(kid);
  }

  /**
   * Parks a task in a blocking syscall, at the tail of its wait queue: it gets the next sleep
   * sequence number, which orders it after every task already asleep.
   */
  park(t: TaskState, b: Omit<BlockState, 'seq'>): void {
    const blocked: BlockState = { call: b.call, wchan: b.wchan, deadlineNs: b.deadlineNs, result: b.result, data: b.data, seq: this.s.sleepSeq++ };
    t.blocked = blocked;
    t.state = 'blocked';
    this.addWaiter(t.kid, blocked);
    this.unqueue(t.kid);
  }

  /** Indexes a sleeper under its wait channel (and its deadline), after those indexed before it. */
  private addWaiter(kid: number, b: BlockState): void {
    let set = this.waiters.get(b.wchan);
    if (!set) this.waiters.set(b.wchan, (set = new Set()));
    if (set.has(kid)) return;
    set.add(kid);
    this.sleeping++;
    if (b.deadlineNs !== null) this.timed.add(kid);
  }

  /** `n` sleepers left the wait queues; once none is left the sleep sequence restarts. */
  private dropSleepers(n: number): void {
    this.sleeping -= n;
    if (this.sleeping === 0) this.s.sleepSeq = 0;
  }

  /** Removes a task from its wait queue (keeps `t.blocked` so the call is re-invoked). */
  private unpark(t: TaskState): void {
    if (t.blocked) {
      const set = this.waiters.get(t.blocked.wchan);
      if (set?.delete(t.kid)) {
        if (set.size === 0) this.waiters.delete(t.blocked.wchan);
        this.dropSleepers(1);
      }
      this.timed.delete(t.kid);
    }
  }

  /** Wakes every task sleeping on `wchan`; they re-invoke their syscall in sleep order. */
  wake(wchan: string): void {
    const set = this.waiters.get(wchan);
    if (!set) return;
    this.waiters.delete(wchan);
    this.dropSleepers(set.size);
    for (const kid of set) {
      const t = this.s.tasks.get(kid);
      if (!t || t.state !== 'blocked') continue;
      this.timed.delete(kid);
      t.state = 'running';
      this.enqueue(kid);
    }
  }

  /** Wakes one sleeper with a completed result (pipelined hand-off: the waker did the work). */
  complete(kid: number, result: SysResult): void {
    const t = this.t(kid);
    if (t.state !== 'blocked' || !t.blocked) throw new KernelBug(`complete() on task ${kid} that is not asleep`);
    this.unpark(t);
    t.blocked.result = result;
    t.state = 'running';
    this.enqueue(kid);
  }

  /** Sleepers of a wait channel, in sleep order (for mechanisms that pick whom to complete). */
  sleepers(wchan: string): number[] {
    const set = this.waiters.get(wchan);
    return set === undefined ? [] : [...set];
  }

  /** Whether anything sleeps on `wchan` (cheap: no copy). */
  hasSleepers(wchan: string): boolean {
    return this.waiters.has(wchan);
  }

  /** Earliest deadline of a sleeping task, or null. */
  nextDeadline(): number | null {
    let best: number | null = null;
    for (const kid of this.timed) {
      const d = this.s.tasks.get(kid)?.blocked?.deadlineNs;
      if (d != null && (best === null || d < best)) best = d;
    }
    return best;
  }

  /** Advances the clock to `ns` and wakes every task whose deadline has passed. */
  advanceTo(ns: number): void {
    if (ns > this.s.clockNs) this.s.clockNs = ns;
    for (const kid of [...this.timed]) {
      const t = this.s.tasks.get(kid);
      const d = t?.blocked?.deadlineNs;
      if (t && d != null && d <= this.s.clockNs) {
        this.unpark(t);
        t.state = 'running';
        this.enqueue(kid);
      }
    }
  }

  /**
   * Rebuilds the derived indexes from the state (after a restore, a rollback, or a direct edit of
   * `s.runq`): wait queues and timers in sleep order (`BlockState.seq`, ties by kid), so the
   * rebuilt kernel wakes tasks in exactly the order the original would have.
   */
  rebuildIndexes(): void {
    this.waiters.clear();
    this.timed.clear();
    this.sleeping = 0;
    this.queued = new Set(this.s.runq);
    const asleep: TaskState[] = [];
    for (const t of this.s.tasks.values()) if (t.state === 'blocked' && t.blocked) asleep.push(t);
    asleep.sort((a, b) => a.blocked!.seq - b.blocked!.seq || a.kid - b.kid);
    for (const t of asleep) this.addWaiter(t.kid, t.blocked!);
  }

  // ---- signals (the mechanism is in task/signal.ts) ----

  /** Sends `sig` to one thread (tkill semantics, no permission check). */
  sendSignalToTask(kid: number, sig: number): void {
    deliverSignal(this, kid, sig, true);
  }

  /** Sends `sig` to a process (kill semantics, no permission check). */
  sendSignalToProc(tgid: number, sig: number): void {
    deliverSignal(this, tgid, sig, false);
  }

  /**
   * panic(): the initial namespace's init is exiting; nothing can continue. The state is left as it
   * was (consistent plain data: init still holds pid 1, nothing torn down), `s.panicked` says why,
   * and every later syscall or `run()` throws KernelPanic.
   */
  panic(why: string): never {
    this.s.panicked = why;
    throw new KernelPanic(why);
  }

  /** Throws KernelPanic when the kernel has panicked (checked by every entry point). */
  checkPanicked(syscall?: string): void {
    if (this.s.panicked !== null) throw new KernelPanic(this.s.panicked, syscall);
  }

  /** Whether the kernel has panicked (`s.panicked` holds why). */
  get panicked(): boolean {
    return this.s.panicked !== null;
  }
}

/** A fresh ProcState for a new thread group. */
export function newProc(k: KernelCore, tgid: number, parent: number): ProcState {
  const sigaction = new Array<number>(65).fill(0);
  return {
    tgid,
    threads: [tgid],
    parent,
    children: new Set(),
    zombies: new Set(),
    pgid: tgid,
    sid: tgid,
    exitSignal: SIGCHLD,
    sigaction,
    pending: [],
    groupExit: false,
    status: 0,
    stopped: false,
    stopReport: 0,
    contReport: false,
    rlimNofile: k.profile.nofileDefault,
    rlimNofileMax: k.profile.nofileDefault * 4,
    rlimMemlock: 8 * 1024 * 1024,
    subreaper: false,
    semUndo: 0,
    forkSeq: k.newId(),
  };
}

