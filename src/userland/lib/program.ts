/**
 * The userland program layer: `defineProgram` is the one way to define a program (the library's
 * and the userland's own). It wraps the kernel's bare program model (src/syscalls/program.ts) so
 * that programs read naturally although they are state machines. A defined program is code, not
 * registered anywhere: `kernel.installProgram(p)` puts it in that kernel's program table.
 *
 * Design note. A program written with this layer gets a `Proc` facade at every step:
 *   - `p.state`: its own state (plain data, saved in the task between steps);
 *   - `p.sys`: direct syscalls; `p.attempt(() => p.sys.open(...))` turns an errno into a value;
 *   - `p.result` / `p.ok` / `p.value()` / `p.errno`: the outcome of the call the previous step yielded;
 *   - `p.out(text)`, `p.err(text)`, `p.write(fd, data)`: output that never blocks the step. A write
 *     that would sleep (a full pipe) is queued in the task's state, and the layer drains the queue
 *     (yielding `write` calls) before it runs the next step or makes the next yielded call, so output
 *     order is kept and a `fork` never duplicates unwritten output;
 *   - `p.call(name, ...args)` to yield a syscall, `p.exit(code)` to end.
 * The stored state is `{ io, app }`: `io` is this layer's queue, `app` is the program's state.
 */
import { ErrnoError, WouldBlockError, strerror, type ErrnoCode } from '../../abi/errno.js';
import { SIGSEGV, SIG_DFL, SIG_UNBLOCK } from '../../abi/constants.js';
import type { SysResult } from '../../kernel/state.js';
import type { ProgramDef, StepOutcome } from '../../syscalls/program.js';
import type { Sys } from '../../syscalls/sys.js';
import { untypedCall } from '../../syscalls/table.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

export function toBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === 'string' ? enc.encode(data) : data;
}

export function toText(data: Uint8Array): string {
  return dec.decode(data);
}

/** The value of `name` in an environment list (`NAME=value`, the last one winning), or undefined. */
export function envValue(envp: readonly string[], name: string): string | undefined {
  const prefix = `${name}=`;
  for (let i = envp.length - 1; i >= 0; i--) if (envp[i]!.startsWith(prefix)) return envp[i]!.slice(prefix.length);
  return undefined;
}

/** Output not yet written: `[fd, bytes]` chunks in order. */
export interface IoState {
  queue: Array<[number, Uint8Array]>;
  /** A drain write was yielded: the next result is its outcome. */
  draining: boolean;
  /** The program's own outcome, held back until the queue is empty. */
  deferred: StepOutcome | null;
  /**
   * The errno of a failed write to standard output not yet reported (absent: none). Programs
   * report it as coreutils' close_stdout does (`prog: write error: …`, status 1) unless they
   * handle it themselves (the shell: per builtin).
   */
  werr?: ErrnoCode;
  /** The step after the failed write has been given up (so a fatal SIGPIPE wins over the report). */
  werrYielded?: boolean;
}

export interface Stored<S> {
  io: IoState;
  app: S;
  /** Result of the program's own yielded call, kept while the queue drains. */
  res: SysResult | null;
}

/** What a program gets at `start`. */
export interface StartContext {
  readonly argv: readonly string[];
  readonly envp: readonly string[];
  readonly sys: Sys;
}

/** The facade a step works with. */
export class Proc<S> {
  constructor(
    private readonly stored: Stored<S>,
    readonly sys: Sys,
    readonly argv: readonly string[],
    readonly envp: readonly string[],
    readonly signals: readonly number[],
    readonly result: SysResult | null,
  ) {}

  get state(): S {
    return this.stored.app;
  }

  set state(s: S) {
    this.stored.app = s;
  }

  /** The previous yielded call succeeded. */
  get ok(): boolean {
    return this.result !== null && this.result.ok;
  }

  /** The errno of the previous yielded call, or undefined. */
  get errno(): ErrnoCode | undefined {
    return this.result && !this.result.ok ? this.result.code : undefined;
  }

  /**
   * What the previous yielded call wrote back although it failed, or undefined: the time left of
   * a sleep a signal interrupted (nanosleep: nanoseconds; clock_nanosleep: a timespec), as Linux
   * writes `rem` and returns EINTR.
   */
  get writtenBack(): unknown {
    return this.result && !this.result.ok ? this.result.out : undefined;
  }

  /** The value of the previous yielded call; throws its errno as an ErrnoError. */
  value<T = unknown>(): T {
    const r = this.result;
    if (!r) throw new Error('no syscall result to read');
    if (!r.ok) throw new ErrnoError(r.code);
    return r.value as T;
  }

  /** The value of an environment variable, or undefined. */
  getenv(name: string): string | undefined {
    return envValue(this.envp, name);
  }

  /** Runs a direct call, returning its value or its errno (WouldBlockError is rethrown). */
  attempt<T>(fn: () => T): { ok: true; value: T } | { ok: false; code: ErrnoCode } {
    try {
      return { ok: true, value: fn() };
    } catch (e) {
      if (e instanceof ErrnoError) return { ok: false, code: e.code };
      throw e;
    }
  }

  /** Writes to `fd` now if it can, else queues the rest (drained before anything else happens). */
  write(fd: number, data: string | Uint8Array): void {
    let bytes = toBytes(data);
    if (bytes.length === 0) return;
    const q = this.stored.io.queue;
    if (q.length === 0) {
      const n = tryWrite(this.sys, fd, bytes, this.stored.io);
      if (n < 0 || n === bytes.length) return;
      bytes = bytes.subarray(n);
    }
    const last = q[q.length - 1];
    if (last && last[0] === fd) last[1] = concat(last[1], bytes);
    else q.push([fd, bytes.slice()]);
  }

  out(data: string | Uint8Array): void {
    this.write(1, data);
  }

  err(data: string | Uint8Array): void {
    this.write(2, data);
  }

  /** The errno of a failed write to standard output since the last call, and forgets it. */
  takeWriteError(): ErrnoCode | undefined {
    const io = this.stored.io;
    const code = io.werr;
    delete io.werr;
    delete io.werrYielded;
    return code;
  }

  /** A write to standard output has failed (and is not yet reported). */
  get writeError(): ErrnoCode | undefined {
    return this.stored.io.werr;
  }

  /** True while output waits for room (a step should return so the layer can drain it). */
  get blockedOutput(): boolean {
    return this.stored.io.queue.length > 0;
  }

  /** Yields syscall `name`. */
  call(name: string, ...args: unknown[]): StepOutcome {
    return untypedCall(name, args);
  }

  exit(code: number): StepOutcome {
    return { exit: code };
  }
}

/**
 * One direct write attempt: bytes written (possibly partial), 0 when it would block, -1 when the
 * write failed (the data is dropped; a failure on standard output is kept in `io.werr`).
 */
function tryWrite(sys: Sys, fd: number, bytes: Uint8Array, io: IoState): number {
  try {
    return sys.write(fd, bytes);
  } catch (e) {
    if (e instanceof WouldBlockError) return 0;
    if (e instanceof ErrnoError) {
      noteWriteError(io, fd, e.code);
      return -1;
    }
    throw e;
  }
}

function noteWriteError(io: IoState, fd: number, code: ErrnoCode): void {
  if (fd === 1 && io.werr === undefined) io.werr = code;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** A program for `defineProgram`: `start` makes its state, `step(p)` advances it through the `Proc` facade. */
export interface UserProgram<S> {
  /** The name it is installed under, conventionally its install path (`/bin/cat`). */
  name: string;
  start(ctx: StartContext): S;
  step(p: Proc<S>): StepOutcome;
  /**
   * The program reports failed writes to standard output itself (`p.takeWriteError()`). Otherwise
   * the layer does what coreutils' close_stdout does: after the step in which a write to fd 1
   * failed (and one more step, so that a fatal SIGPIPE kills the program first, as in Linux) it
   * prints `prog: write error: strerror` and exits with status 1.
   */
  ownsWriteErrors?: boolean;
  /** What the program's last state means as its result (`task.exit.result`; default: the state). */
  result?(state: S): unknown;
}

/** Drains queued output: undefined when empty, else the write call to yield. */
function drain(io: IoState, sys: Sys): StepOutcome | null {
  while (io.queue.length > 0) {
    const head = io.queue[0]!;
    const n = tryWrite(sys, head[0], head[1], io);
    if (n < 0 || n === head[1].length) {
      io.queue.shift();
      continue;
    }
    if (n > 0) {
      head[1] = head[1].subarray(n);
      continue;
    }
    io.draining = true;
    return { call: 'write', args: [head[0], head[1]] };
  }
  return null;
}

/** After a failed write to stdout: drop what the program wanted next and let signals act first. */
function giveUpStep(io: IoState): StepOutcome {
  io.werrYielded = true;
  io.deferred = null;
  return undefined;
}

/** coreutils' close_stdout: `prog: write error: strerror` on stderr, exit status 1. */
function reportWriteError(st: Stored<unknown>, sys: Sys, argv: readonly string[]): StepOutcome {
  const io = st.io;
  const code = io.werr!;
  delete io.werr;
  delete io.werrYielded;
  io.queue = io.queue.filter(([fd]) => fd !== 1);
  const a0 = argv[0] ?? '';
  const name = a0.slice(a0.lastIndexOf('/') + 1) || a0;
  io.queue.push([2, toBytes(`${name}: write error: ${strerror(code)}\n`)]);
  io.deferred = { exit: 1 };
  return drain(io, sys) ?? (io.deferred = null, { exit: 1 });
}

/**
 * force_sig(): a signal the program cannot catch, ignore or block (a fault). Made of the calls a
 * program has — disposition reset, unblock, tgkill to itself — so it shows in --trace; the task
 * dies at the next delivery.
 */
export function forceSignal(sys: Sys, sig: number): void {
  const attempt = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      if (!(e instanceof ErrnoError)) throw e;
    }
  };
  attempt(() => sys.rt_sigaction(sig, SIG_DFL));
  attempt(() => sys.rt_sigprocmask(SIG_UNBLOCK, 1n << BigInt(sig - 1)));
  attempt(() => sys.tgkill(sys.getpid(), sys.gettid(), sig));
}

/**
 * A step ran out of a host resource (a RangeError: the JS stack, or a string or buffer beyond
 * what the host allocates). A Linux process would die of SIGSEGV (its stack) or fail to allocate
 * and exit; the model does the same instead of crashing the host: `prog: memory exhausted` and
 * status 2, or SIGSEGV for the stack.
 */
function resourceExhausted(st: Stored<unknown>, sys: Sys, argv: readonly string[], e: RangeError): StepOutcome {
  const io = st.io;
  io.queue = [];
  io.deferred = null;
  io.draining = false;
  if (/call stack/i.test(e.message)) {
    forceSignal(sys, SIGSEGV);
    return undefined;
  }
  const a0 = argv[0] ?? '';
  io.queue.push([2, toBytes(`${a0.slice(a0.lastIndexOf('/') + 1) || a0}: memory exhausted\n`)]);
  io.deferred = { exit: 2 };
  return drain(io, sys) ?? (io.deferred = null, { exit: 2 });
}

/**
 * A program made by `defineProgram`: what `kernel.installProgram` takes and `Kernel.fromState`'s
 * `programs` lists. Its `name` is the one it is installed under.
 */
export type Program<S = unknown> = ProgramDef<Stored<S>>;

/**
 * Defines a program: `start` makes its state, `step(p)` advances it through the `Proc` facade.
 * Returns the code, registered nowhere: install it in a kernel with `kernel.installProgram`.
 */
export function defineProgram<S>(def: UserProgram<S>): Program<S> {
  const wrapped: Program<S> = {
    name: def.name,
    start(ctx) {
      return { io: { queue: [], draining: false, deferred: null }, app: def.start(ctx), res: null };
    },
    step(ctx) {
      const st = ctx.state;
      const io = st.io;
      if (io.draining) {
        io.draining = false;
        const r = ctx.result;
        const head = io.queue[0];
        if (head) {
          if (r && !r.ok) noteWriteError(io, head[0], r.code);
          if (r && r.ok && typeof r.value === 'number' && r.value < head[1].length) head[1] = head[1].subarray(r.value);
          else io.queue.shift();
        }
      } else if (ctx.result !== null || io.deferred === null) {
        st.res = ctx.result;
      }
      if (io.werr !== undefined && !def.ownsWriteErrors && io.werrYielded) return reportWriteError(st, ctx.sys, ctx.argv);
      const pending = drain(io, ctx.sys);
      if (pending) return pending;
      if (io.werr !== undefined && !def.ownsWriteErrors) return giveUpStep(io);
      if (io.deferred) {
        const out = io.deferred;
        io.deferred = null;
        return out;
      }
      const p = new Proc(st, ctx.sys, ctx.argv, ctx.envp, ctx.signals, st.res);
      st.res = null;
      let out: StepOutcome;
      try {
        out = def.step(p);
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
        return resourceExhausted(st, ctx.sys, ctx.argv, e);
      }
      if (io.werr !== undefined && !def.ownsWriteErrors) return giveUpStep(io);
      if (io.queue.length > 0) {
        io.deferred = out ?? null;
        return drain(io, ctx.sys) ?? undefined;
      }
      return out;
    },
    result: (st) => (def.result ? def.result(st.app) : st.app),
  };
  return wrapped;
}

/** The programs the userland ships (`installUserland` installs them), by name. */
export const USERLAND = new Map<string, Program<unknown>>();

/** `defineProgram` for a program of the userland itself: also lists it in `USERLAND`. */
export function defineUserlandProgram<S>(def: UserProgram<S>): Program<S> {
  const p = defineProgram(def);
  if (USERLAND.has(def.name)) throw new Error(`defineUserlandProgram: two userland programs named ${JSON.stringify(def.name)}`);
  USERLAND.set(def.name, p as Program<unknown>);
  return p;
}

/** The program state of a task running a `defineProgram` program (for inspection and tests). */
export function appState<S>(data: unknown): S | undefined {
  const d = data as Stored<S> | null;
  return d && typeof d === 'object' && 'app' in d ? d.app : undefined;
}
