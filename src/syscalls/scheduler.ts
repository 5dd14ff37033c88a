/**
 * The public `Kernel`: the kernel core plus the syscall entry point, task handles and the
 * deterministic scheduler that runs programs.
 *
 * Scheduling. The run queue is FIFO; one turn runs one program step of one task (plus the syscall
 * it yields) and advances the virtual clock by STEP_NS. A task parked in a syscall is re-invoked
 * with the same call when its wait channel is woken (or completed directly by a waker). When no task
 * can run, the clock jumps to the earliest deadline; with none, `run()` returns. Same inputs give
 * the same interleaving; a non-zero seed permutes tie-breaks deterministically.
 */
import { ErrnoError, KernelBug, KernelPanic, WouldBlockError } from '../abi/errno.js';
import { KernelCore, STEP_NS, type KernelOptions } from '../kernel/core.js';
import type { KernelState, SysResult, TaskState } from '../kernel/state.js';
import { Block } from '../kernel/sched/block.js';
import { pidNrIn } from '../kernel/pid/pid.js';
import { readMemory, writeMemory } from '../kernel/mm/mm.js';
import { installProgramFile } from '../kernel/task/exec.js';
import { hasUnblockedPending, restoreSavedSigmask, takeDeliverable } from '../kernel/task/signal.js';
import { exitGroup, exitStatus } from '../kernel/task/exit.js';
import { registerSubsystem } from '../kernel/subsystem.js';
import { O_CREAT, O_EXCL, O_RDONLY, O_TRUNC, O_WRONLY } from '../abi/constants.js';
import { checkIntArgs, checkPtrArgs, getSyscall, type SyscallDef } from './table.js';
import { Sys } from './sys.js';
import type { ProgramDef, StepOutcome } from './program.js';
import { formatTrace, type TraceOutcome } from './trace.js';

/** A program step threw something that is not part of the model (a bug in program code). */
export class ProgramCrash extends Error {
  constructor(readonly pid: number, readonly program: string, readonly reason: unknown) {
    super(`program ${program} (pid ${pid}) crashed: ${reason instanceof Error ? reason.stack ?? reason.message : String(reason)}`);
    this.name = 'ProgramCrash';
  }
}

/**
 * A scheduler choice point, offered to a `SchedulePolicy` (src/races explores them). The kernel
 * only offers the choices; it does not know who makes them.
 * - `task`: which runnable task steps next; the answer is an index into `runq` (kids, queue order).
 * - `signal`: task `kid` has pending signals at the start of its step; 0 delivers them now (as
 *   without a policy), 1 leaves them pending for a later step.
 */
export type SchedChoice = { kind: 'task'; runq: readonly number[] } | { kind: 'signal'; kid: number };

/** Makes the scheduler's decisions; without one the scheduler behaves as `DEFAULT_POLICY` does. */
export interface SchedulePolicy {
  choose(k: Kernel, c: SchedChoice): number;
}

/** Today's scheduling as a policy: the seeded tie-break for tasks, signals delivered at once. */
export const DEFAULT_POLICY: SchedulePolicy = {
  choose: (k, c) => (c.kind === 'task' ? k.defaultTaskChoice() : 0),
};

/** Options of `kernel.run()`: a step budget, a stop condition, a per-step hook. */
export interface RunOptions {
  /** Stop after this many steps (default: 1e7). */
  maxSteps?: number;
  /** Stop as soon as this returns true (checked before each step). */
  until?: (k: Kernel) => boolean;
  /**
   * Called after every step with the task that stepped (its handle: `task.status` tells whether it
   * is still running, sleeping in a syscall, or gone) and the number of steps this run has taken.
   * Returning `true` stops the run (reason `onStep`). It may inspect anything and make direct
   * calls of other tasks; it must not call `run()`.
   */
  onStep?: (step: StepInfo) => boolean | void;
}

/** What `RunOptions.onStep` is told after a step. */
export interface StepInfo {
  readonly kernel: Kernel;
  /** The task that stepped. */
  readonly task: Task;
  /** Steps taken by this `run()` so far (1 at the first call). */
  readonly steps: number;
}

/** What `kernel.run()` returns: the steps taken and why it stopped. */
export interface RunResult {
  steps: number;
  /** Why run() returned: nothing runnable (`idle`), the step budget, `until`, or `onStep` returned true. */
  reason: 'idle' | 'maxSteps' | 'until' | 'onStep';
}

/** Options of `kernel.spawn()`: the program's input and where its output goes. */
export interface SpawnOptions {
  /** Environment: typed values, passed as `NAME=value` strings (numbers, booleans, bigints as String() writes them). */
  env?: Readonly<Record<string, string | number | boolean | bigint>>;
  /** What the program reads on standard input (bytes, or text encoded as UTF-8). */
  stdin?: Uint8Array | string;
  /** Files created (truncated) for standard output and standard error. */
  stdout?: string;
  stderr?: string;
}

/** What a task is doing, in the words of ps's STAT column rather than the model's fields. */
export type TaskStatus = 'running' | 'sleeping' | 'stopped' | 'zombie' | 'dead';

/** Where a sleeping task sleeps: the syscall it is parked in and its wait channel. */
export interface SleepInfo {
  /** The syscall the task is parked in (it is re-invoked when the channel is woken). */
  readonly syscall: string;
  /** The wait channel, as the kernel names it (`pipe:12:r`, `wait:7`, `msg:0:32768:r`, …). */
  readonly channel: string;
  /** The wait channel in words (`reading pipe inode 12`, `waiting for a child of 7`, …). */
  readonly description: string;
  /** Virtual time (ns) at which the sleep times out, or null. */
  readonly deadlineNs: number | null;
}

/** How a task ended, kept by its handle after the task has been reaped. */
export interface TaskExit {
  /** The wait status, as wait4 reports it (W_EXITCODE / a signal number). */
  readonly status: number;
  /** WEXITSTATUS when it exited normally, else null. */
  readonly code: number | null;
  /** WTERMSIG when a signal killed it, else null. */
  readonly signal: number | null;
  /** The program it was running (null: none, a library-driven task). */
  readonly program: string | null;
  /**
   * The program's result: its last state, or what the program's `result(state)` makes of it
   * (null without a program).
   */
  readonly result: unknown;
}

function exitOf(status: number, program: string | null, result: unknown): TaskExit {
  const sig = status & 0x7f;
  return { status, code: sig === 0 ? (status >> 8) & 0xff : null, signal: sig === 0 ? null : sig, program, result };
}

/** The wait channel `wchan` of a sleeper in words (see the `block(...)` calls of the kernel). */
export function describeWaitChannel(wchan: string): string {
  const [kind, a, b, c] = wchan.split(':');
  switch (kind) {
    case 'pipe':
      return `${b === 'w' ? 'writing to' : 'reading from'} pipe inode ${a}`;
    case 'wait':
      return `waiting for a child of process ${a} to change state (wait4)`;
    case 'vfork':
      return `waiting for vfork child ${a} to exec or exit`;
    case 'sleep':
      return 'sleeping until a deadline';
    case 'pause':
      return 'waiting for a signal (pause)';
    case 'sigsuspend':
      return 'waiting for a signal with a temporary mask (rt_sigsuspend)';
    case 'dev':
      return `waiting for input on device ${a}`;
    case 'msg':
      return `${c === 's' ? 'sending to' : 'receiving from'} message queue ${b} (IPC namespace ${a})`;
    case 'sem':
      return `waiting on semaphore set ${b} (IPC namespace ${a})`;
    case 'uffd':
      return `waiting for page ${b} of address space ${a} (lazy restore)`;
    default:
      return `waiting on ${wchan}`;
  }
}

/** A page still missing under lazy restore (src/kernel/mm/uffd.ts) makes a library access WouldBlockError. */
function notBlocking<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Block) throw new WouldBlockError(what, e.wchan);
    throw e;
  }
}

/**
 * Library handle for a task: its syscalls, memory, identity and status. One handle per task per
 * kernel (`kernel.task(pid)` returns the same object); it outlives the task, so `exit` can be read
 * after the task has been reaped.
 */
export class Task {
  readonly sys: Sys;
  readonly memory: {
    /** Reads `len` bytes at `addr` (EFAULT outside a readable mapping; the task is not signalled). */
    read(addr: number, len: number): Uint8Array;
    /** Writes bytes at `addr` (EFAULT, nothing written, outside a writable mapping; the task is not signalled). */
    write(addr: number, bytes: Uint8Array | string): void;
  };

  /**
   * How the task ended, or null while it lives. Recorded when the task exits if this handle
   * existed then (kept after the task is reaped); for a zombie whose handle was made after its
   * exit, read from the zombie (program and result null).
   */
  get exit(): TaskExit | null {
    if (this.exited) return this.exited;
    const t = this.kernel.s.tasks.get(this.kid);
    if (!t || t.state !== 'zombie') return null;
    const proc = this.kernel.s.procs.get(t.tgid);
    return exitOf(t.kid === t.tgid && proc ? proc.status : t.exitCode, null, null);
  }

  /** Set by the kernel when the task exits. */
  exited: TaskExit | null = null;

  /**
   * @param kernel the kernel this task lives in.
   * @param kid the task's kernel-wide id (its pid in the initial namespace).
   */
  constructor(readonly kernel: Kernel, readonly kid: number) {
    this.sys = new Sys(kernel, kid);
    this.memory = {
      read: (addr, len) => notBlocking('memory.read', () => readMemory(kernel, kernel.liveTask(kid, 'memory.read'), addr, len)),
      write: (addr, bytes) => notBlocking('memory.write', () => writeMemory(kernel, kernel.liveTask(kid, 'memory.write'), addr, typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes)),
    };
  }

  /** The task's state (plain data; a zombie's too). ESRCH once the task has been reaped. */
  get state(): TaskState {
    const t = this.kernel.s.tasks.get(this.kid);
    if (!t) throw new ErrnoError('ESRCH', 'task.state', `task ${this.kid} has been reaped`);
    return t;
  }

  /** Neither exited nor reaped. */
  get alive(): boolean {
    const t = this.kernel.s.tasks.get(this.kid);
    return !!t && t.state !== 'zombie' && t.state !== 'dead';
  }

  /**
   * `running` (runnable or stepping), `sleeping` (parked in a syscall: see `sleepingIn`),
   * `stopped` (SIGSTOP & co.), `zombie` (exited, not yet reaped) or `dead` (reaped).
   */
  get status(): TaskStatus {
    const t = this.kernel.s.tasks.get(this.kid);
    if (!t) return 'dead';
    return t.state === 'blocked' ? 'sleeping' : t.state;
  }

  /** Where the task sleeps, or null when it is not sleeping. */
  get sleepingIn(): SleepInfo | null {
    const t = this.kernel.s.tasks.get(this.kid);
    const b = t?.state === 'blocked' ? t.blocked : null;
    if (!b) return null;
    return { syscall: b.call.name, channel: b.wchan, description: describeWaitChannel(b.wchan), deadlineNs: b.deadlineNs };
  }

  /** The name of the program the task runs (null: none, a task driven from the library). */
  get program(): string | null {
    return this.kernel.s.tasks.get(this.kid)?.prog?.name ?? null;
  }

  /** Pid (tid) in the initial namespace. */
  get pid(): number {
    return this.kid;
  }

  /** Thread-group id in the initial namespace. */
  get tgid(): number {
    return this.state.tgid;
  }

  /** The task's own numbers at each namespace level (initial namespace first), like NSpid. */
  get nspid(): number[] {
    return [...this.state.pids];
  }
}

/** Options of `Kernel.fromState`. */
export interface FromStateOptions {
  /**
   * The program code the resumed kernel has (the state only names programs): typically the
   * userland's (`userlandPrograms()`) and the caller's own, or the table of the kernel the state
   * came from (`kernel.programs.values()`). A live task running a program not given here refuses
   * the resume; a file naming one fails execve with ENOEXEC, as a binary without its loader.
   */
  programs?: Iterable<ProgramDef<unknown>>;
}

/**
 * The kernel: boots with init (pid 1) in the initial namespaces; `task(pid)` gives task handles,
 * `installProgram` puts program code at a path, `run()` schedules the programs, `advance(ns)`
 * moves the virtual clock, `snapshot()`/`fromState()` copy the whole state (plain data).
 * Program code is per kernel: each Kernel has its own program table (code, not state).
 */
export class Kernel extends KernelCore {
  private readonly handles = new Map<number, Task>();
  /** This kernel's program table: name → code. Not state (the state names programs). */
  private readonly programTable = new Map<string, ProgramDef<unknown>>();
  /** Who makes the scheduler's choices (null: the default, `DEFAULT_POLICY`). Not state: code. */
  policy: SchedulePolicy | null = null;

  /**
   * Boots a kernel (or, with `state`, resumes one: `fromState` is the public way) whose program
   * table starts with `opts.programs`. A resumed state in which a live task runs a program not
   * given is refused (an Error naming the task and the program): the kernel could not step it.
   */
  constructor(opts: KernelOptions & FromStateOptions = {}, state?: KernelState) {
    super(opts, state);
    for (const def of opts.programs ?? []) this.addProgram(def);
    for (const t of this.s.tasks.values()) {
      if (!t.prog || t.state === 'zombie' || t.state === 'dead' || this.programTable.has(t.prog.name)) continue;
      throw new Error(`Kernel.fromState: task ${t.pids[0]} runs program ${JSON.stringify(t.prog.name)}, which is not in options.programs`);
    }
  }

  /**
   * The state of a live task for a library entry point (`what` names it in errors): ESRCH when the
   * task has exited or been reaped, as the syscalls say; KernelPanic after a panic.
   */
  liveTask(kid: number, what: string): TaskState {
    this.checkPanicked(what);
    const t = this.s.tasks.get(kid);
    if (!t || t.state === 'zombie' || t.state === 'dead') throw new ErrnoError('ESRCH', what, `task ${kid} is not alive`);
    return t;
  }

  /**
   * A kernel resumed from a saved state (a deep copy is taken), with the program code in
   * `opts.programs` (refused when a live task runs a program not given: see the constructor).
   */
  static fromState(state: KernelState, opts: FromStateOptions = {}): Kernel {
    return new Kernel({ programs: opts.programs }, structuredClone(state));
  }

  /** This kernel's program table (name → code), what `installProgram` and `fromState` filled. */
  get programs(): ReadonlyMap<string, ProgramDef<unknown>> {
    return this.programTable;
  }

  /** The program installed under `name` in this kernel, or undefined. */
  findProgram(name: string): ProgramDef<unknown> | undefined {
    return this.programTable.get(name);
  }

  override hasProgram(name: string): boolean {
    return this.programTable.has(name);
  }

  /**
   * Puts program code in this kernel's table. The same code again is a no-op; other code under a
   * name this kernel already has is an error naming it (execve of the name would be ambiguous).
   */
  private addProgram(def: ProgramDef<unknown>): void {
    if (typeof def?.name !== 'string' || def.name === '' || typeof def.start !== 'function' || typeof def.step !== 'function') {
      throw new TypeError(`installProgram: not a program (define one with defineProgram): ${String(def?.name ?? def)}`);
    }
    const taken = this.programTable.get(def.name);
    if (taken === def) return;
    if (taken) throw new Error(`installProgram: the name ${JSON.stringify(def.name)} is taken in this kernel by another program; give this one another name`);
    this.programTable.set(def.name, def);
  }

  /** A deep copy of the whole state (plain data). */
  snapshot(): KernelState {
    return structuredClone(this.s);
  }

  /** init of the initial pid namespace (pid 1). */
  get init(): Task {
    return this.taskByKid(this.pidNs(this.s.rootPidNs).reaper || 1);
  }

  /** The task with `pid` in the initial namespace, or undefined. */
  task(pid: number): Task | undefined {
    const kid = this.pidNs(this.s.rootPidNs).pids.get(pid);
    return kid === undefined ? undefined : this.taskByKid(kid);
  }

  /** The task with `pid` as seen in the pid namespace of `viewer`. */
  taskIn(viewer: Task, pid: number): Task | undefined {
    const kid = this.pidNs(viewer.state.pidns).pids.get(pid);
    return kid === undefined ? undefined : this.taskByKid(kid);
  }

  private taskByKid(kid: number): Task {
    let h = this.handles.get(kid);
    if (!h) this.handles.set(kid, (h = new Task(this, kid)));
    return h;
  }

  /**
   * Starts a program in a new child of init, the way a shell would (fork, set up fds, execve), with
   * input beyond argv strings: `env` (typed values, passed as `NAME=value` environment strings in
   * key order) and `stdin` (bytes or text the program reads on fd 0: an unlinked file holding them).
   * `stdout`/`stderr` name files to create (mode 0644) for fds 1 and 2 (default: init's). Returns
   * the task; its program runs at the next `run()`. Errors (no such file, ENOEXEC…) are the
   * syscalls' and leave no child behind.
   */
  spawn(path: string, argv: readonly string[] = [path], opts: SpawnOptions = {}): Task {
    const init = this.init;
    const pid = init.sys.fork();
    const t = this.taskByKid(this.pidNs(this.s.rootPidNs).pids.get(pid)!);
    try {
      if (opts.stdin !== undefined) {
        const tmp = `/tmp/.spawn-stdin-${pid}`;
        const wfd = t.sys.open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0o600);
        const data = typeof opts.stdin === 'string' ? new TextEncoder().encode(opts.stdin) : opts.stdin;
        for (let off = 0; off < data.length; ) off += t.sys.write(wfd, data.subarray(off));
        t.sys.close(wfd);
        t.sys.dup2(t.sys.open(tmp, O_RDONLY), 0);
        t.sys.unlink(tmp);
      }
      for (const [fd, file] of [[1, opts.stdout], [2, opts.stderr]] as const) {
        if (file !== undefined) t.sys.dup2(t.sys.open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o644), fd);
      }
      const envp = Object.entries(opts.env ?? {}).map(([name, v]) => {
        if (name === '' || name.includes('=')) throw new ErrnoError('EINVAL', 'spawn', `environment name ${JSON.stringify(name)}`);
        return `${name}=${String(v)}`;
      });
      t.sys.execve(path, [...argv], envp);
    } catch (e) {
      if (this.s.tasks.get(t.kid)?.state !== 'zombie') t.sys.exit(127);
      init.sys.wait4(pid, 0);
      throw e;
    }
    return t;
  }

  /**
   * Puts program code in this kernel's program table (see `addProgram`: another program under a
   * taken name is an error) and installs an executable file at `path` (default: its name) that
   * runs it.
   */
  installProgram<S>(def: ProgramDef<S>, path: string = def.name): void {
    this.addProgram(def);
    installProgramFile(this, path, def.name, this.t(this.init.kid));
  }

  /**
   * Advances the virtual clock by `ns` nanoseconds and makes runnable every task whose sleep
   * deadline has passed (a timed semop, a sleep); it runs nothing: `run()` does. The clock also
   * moves by itself: each step takes STEP_NS (1 µs), and `run()` jumps to the next deadline when
   * no task can run. `ns` must be a non-negative integer (the clock never goes back).
   */
  advance(ns: number): void {
    if (!Number.isSafeInteger(ns) || ns < 0) throw new RangeError(`advance: ns must be a non-negative integer, got ${ns}`);
    this.advanceTo(this.s.clockNs + ns);
  }

  /** Records a task's exit in its handle, if it has one (the subsystem hook below calls it). */
  noteExit(t: TaskState, status: number, statusOnly = false): void {
    const h = this.handles.get(t.kid);
    if (!h) return;
    if (statusOnly && h.exited) {
      h.exited = exitOf(status, h.exited.program, h.exited.result);
      return;
    }
    const prog = t.prog;
    const def = prog ? this.findProgram(prog.name) : undefined;
    const result = prog ? (def?.result ? def.result(prog.data) : prog.data) : null;
    h.exited = exitOf(status, prog?.name ?? null, result);
  }

  // ---- the syscall entry point ----

  /**
   * Runs syscall `name` for task `kid`. For the scheduler (`direct` false) a sleeping call throws the
   * internal `Block`. For a direct call it becomes `WouldBlockError`, except that a call that made
   * partial progress returns it (like a signal after progress).
   */
  invoke(kid: number, name: string, args: unknown[], direct: boolean): unknown {
    const t = this.liveTask(kid, name);
    const def = getSyscall(name);
    const hadSavedMask = t.savedSigmask !== null;
    try {
      if (def.intArgs!.length !== 0) checkIntArgs(def, args);
      if (def.ptrArgs!.length !== 0) checkPtrArgs(def, args);
      // Positional, not spread: no copy of the argument list on the hot path. Handlers take at most 6.
      const r = def.handler(this, t, args[0] as never, args[1] as never, args[2] as never, args[3] as never, args[4] as never, args[5] as never);
      if (this.tracer) this.trace(t, def, args, { ok: r });
      return r;
    } catch (e) {
      // A direct call returns straight to its caller, with no step to set up handlers: a mask
      // rt_sigsuspend replaced is put back now (on WouldBlockError nothing has changed).
      if (direct && !hadSavedMask) restoreSavedSigmask(t);
      if (e instanceof Block) {
        if (this.tracer) this.trace(t, def, args, { unfinished: true });
        if (!direct) throw e;
        if (e.partial !== undefined) return e.partial;
        throw new WouldBlockError(name, e.wchan);
      }
      if (e instanceof ErrnoError) {
        e.withSyscall(name);
        if (this.tracer) this.trace(t, def, args, { errno: e.code });
      }
      throw e;
    }
  }

  /** One strace line; the pid is the one the initial namespace sees, as strace on the host shows. */
  private trace(t: TaskState, def: SyscallDef, args: unknown[], out: TraceOutcome): void {
    this.tracer!(formatTrace(t.pids[0]!, def.name, def.args, def.ret, args, out));
  }

  override toString(): string {
    return `Kernel(${this.profile.name}, ${this.s.tasks.size} tasks)`;
  }

  // ---- the scheduler ----

  /** Runs programs until nothing can run, `maxSteps`, or `until`. */
  run(opts: RunOptions = {}): RunResult {
    const max = opts.maxSteps ?? 1e7;
    let steps = 0;
    for (;;) {
      this.checkPanicked();
      if (opts.until?.(this)) return { steps, reason: 'until' };
      if (steps >= max) return { steps, reason: 'maxSteps' };
      if (this.s.runq.length === 0) {
        const d = this.nextDeadline();
        if (d === null) return { steps, reason: 'idle' };
        this.advanceTo(d);
        continue;
      }
      const kid = this.pickNext();
      const t = this.s.tasks.get(kid);
      if (!t || t.state !== 'running') continue;
      this.s.clockNs += STEP_NS;
      this.s.sched.steps++;
      steps++;
      this.current = kid;
      try {
        this.stepTask(t);
      } finally {
        this.current = 0;
      }
      // `t` may have been re-keyed by a non-leader execve (it takes the leader's kid).
      if (this.s.tasks.get(t.kid) === t && t.state === 'running') this.enqueue(t.kid);
      if (opts.onStep && opts.onStep({ kernel: this, task: this.taskByKid(t.kid), steps }) === true) return { steps, reason: 'onStep' };
    }
  }

  private pickNext(): number {
    if (!this.policy) return this.takeQueued(this.defaultTaskChoice());
    const i = this.policy.choose(this, { kind: 'task', runq: this.s.runq });
    if (!Number.isInteger(i) || i < 0 || i >= this.s.runq.length) throw new KernelBug(`schedule policy chose task ${i} of ${this.s.runq.length}`);
    return this.takeQueued(i);
  }

  /** The run-queue index the default scheduler takes (0 unless a seed permutes tie-breaks). */
  defaultTaskChoice(): number {
    const q = this.s.runq;
    const seed = this.s.sched.seed;
    if (!seed || q.length < 2) return 0;
    // A deterministic permutation of tie-breaks: xorshift on (seed, step).
    let x = (seed ^ Math.imul(this.s.sched.steps + 1, 0x9e3779b1)) >>> 0;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % Math.min(q.length, 4);
  }

  /** One turn of one task: finish a parked call, deliver signals, run one program step. */
  private stepTask(t: TaskState): void {
    if (!t.prog) return; // Driven from outside (the library): nothing to run.
    const kid = t.kid;
    if (t.blocked) {
      const b = t.blocked;
      t.blocked = null;
      if (b.result) {
        t.prog.result = b.result;
      } else {
        this.resuming = b;
        try {
          if (!this.dispatch(t, b.call.name, b.call.args)) return;
        } finally {
          this.resuming = null;
        }
      }
    }
    const live = this.s.tasks.get(kid);
    if (!live || live.state !== 'running' || !live.prog) return;
    // Signals for the program's handlers go straight into this step's context.
    const defer = this.policy !== null && hasUnblockedPending(this, live) && this.policy.choose(this, { kind: 'signal', kid }) === 1;
    const signals = defer ? [] : takeDeliverable(this, live);
    if (live.state !== 'running' || !live.prog) return;
    // Handlers set up: a mask rt_sigsuspend replaced comes back (a deferred signal waits under it).
    if (!defer) restoreSavedSigmask(live);
    const prog = this.findProgram(live.prog.name);
    if (!prog) throw new KernelBug(`program ${live.prog.name} is not registered`);
    const sys = new Sys(this, kid, true);
    const base = { sys, result: live.prog.result, argv: live.prog.argv, envp: live.prog.envp, signals };
    let out: StepOutcome;
    try {
      if (live.prog.data === null) live.prog.data = prog.start(base);
      const ctx = { ...base, state: live.prog.data };
      out = prog.step(ctx);
      // A step may replace the state object wholesale.
      if (live.prog && ctx.state !== live.prog.data) live.prog.data = ctx.state;
    } catch (e) {
      if (e instanceof KernelBug || e instanceof KernelPanic) throw e;
      throw new ProgramCrash(live.pids[live.pids.length - 1]!, live.prog?.name ?? '?', e);
    }
    const cur = this.s.tasks.get(kid);
    if (!cur || !cur.prog || (cur.state !== 'running' && cur.state !== 'stopped')) return;
    cur.prog.result = null;
    if (out && 'exit' in out) {
      exitGroup(this, cur.tgid, exitStatus(out.exit | 0));
      return;
    }
    if (out && 'call' in out) {
      if (!this.dispatch(cur, out.call, out.args ?? [])) return;
    }
  }

  /**
   * Runs a yielded/parked syscall for task `t`. Returns false when the task is no longer runnable
   * (parked again, exited, or its program was replaced by execve).
   */
  private dispatch(t: TaskState, name: string, args: unknown[]): boolean {
    const kid = t.kid;
    let result: SysResult;
    try {
      const value = this.invoke(kid, name, args, false);
      result = { ok: true, value };
    } catch (e) {
      if (e instanceof Block) {
        const cur = this.s.tasks.get(kid);
        if (cur && cur.state === 'running') {
          this.park(cur, { call: { name, args }, wchan: e.wchan, deadlineNs: e.deadlineNs, result: null, data: e.data });
        }
        return false;
      }
      if (e instanceof WouldBlockError) throw new KernelBug('WouldBlockError inside the scheduler');
      if (!(e instanceof ErrnoError) || e instanceof KernelPanic) throw e;
      result = { ok: false, code: e.code };
    }
    // The same task object, possibly re-keyed by a non-leader execve; gone if it exited.
    const cur = this.s.tasks.get(t.kid) === t ? t : undefined;
    if (!cur || !cur.prog) return false;
    // execve replaced the program: its first step gets no result.
    if (name === 'execve' && result.ok) {
      cur.prog.result = null;
      return false;
    }
    cur.prog.result = result;
    if (cur.state !== 'running') return false;
    return true;
  }

  /**
   * Sys entry for direct calls: a Block becomes WouldBlockError. Inside a program step (`inStep`),
   * calls that create tasks or replace/end the program must be yielded instead.
   */
  directCall(kid: number, name: string, args: unknown[], inStep: boolean): unknown {
    if (inStep && getSyscall(name).control) {
      throw new KernelBug(`${name} must be yielded from a program step ({ call: '${name}' }), not called through ctx.sys`);
    }
    return this.invoke(kid, name, args, true);
  }

  /** Pid of task `kid` as seen from the namespace of `viewerKid`. */
  pidIn(kid: number, viewerKid: number): number {
    const t = this.s.tasks.get(kid);
    const viewer = this.s.tasks.get(viewerKid);
    if (!t || !viewer) throw new ErrnoError('ESRCH', 'pidIn', `task ${t ? viewerKid : kid} has been reaped`);
    return pidNrIn(this, t.pidns, t.pids, viewer.pidns);
  }
}

/**
 * The library's view of exits: a task's handle keeps how it ended (status and program result).
 * The process hook runs after the thread hooks and has the group's final wait status, which is
 * what the leader's handle reports (as wait4 on the process would).
 */
registerSubsystem({
  name: 'task-handles',
  exitTask: (k, t) => {
    if (k instanceof Kernel) k.noteExit(t, t.exitCode);
  },
  exitProcess: (k, proc, last) => {
    if (!(k instanceof Kernel)) return;
    k.noteExit(last, proc.status);
    const leader = k.s.tasks.get(proc.tgid);
    if (leader && leader !== last) k.noteExit(leader, proc.status, true);
  },
});
