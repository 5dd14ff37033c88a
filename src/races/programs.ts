/**
 * The model programs of the race scenarios (plain-data state machines, one syscall of interest per
 * step so the scheduler can interleave between any two of them, as between two syscalls in Linux).
 *
 * - `/races/restorer` restores a list of objects (a pid, a SysV message queue id, an fd) with one
 *   id-setting strategy: for each object an *arm* step (nsd: write next_syscall_data; ns_last_pid /
 *   *_next_id: write the sysctl; with-id / set_tid: nothing) then a *use* step (the creating call).
 *   It records what each creating call returned, then parks forever on a pipe of its own so the
 *   oracle can read its state. Options: a signal handler (SIGUSR1) that opens/msggets/forks or
 *   vforks a child that msggets/opens; a second thread doing the same; an execve between arm and use.
 * - `/races/adversary` is another process: each step one action (kill, fork, msgget, open).
 */
import { CLONE_FILES, CLONE_FS, CLONE_SIGHAND, CLONE_SYSVSEM, CLONE_THREAD, CLONE_VM, IPC_CREAT, IPC_PRIVATE, O_RDONLY, SIGCHLD } from '../abi/constants.js';
import type { SysResult } from '../kernel/state.js';
import { defineBareProgram, type ProgramContext, type StepOutcome } from '../syscalls/program.js';
import type { Sys } from '../syscalls/sys.js';
import type { SyscallCall } from '../syscalls/table.js';

/** How a restorer sets the id of the object it creates. */
export type RaceStrategy = 'nsd' | 'with-id' | 'ns_last_pid' | 'set_tid' | 'next_id';
export const RACE_STRATEGIES: readonly RaceStrategy[] = ['nsd', 'with-id', 'ns_last_pid', 'set_tid', 'next_id'];

/** The kind of object a restorer recreates. */
export type ObjKind = 'pid' | 'msg' | 'fd';

/** Which object kinds a strategy can set (the others are not restored under it). */
export const STRATEGY_KINDS: Record<RaceStrategy, readonly ObjKind[]> = {
  nsd: ['pid', 'msg', 'fd'],
  'with-id': ['pid', 'msg', 'fd'],
  ns_last_pid: ['pid'],
  set_tid: ['pid'],
  next_id: ['msg'],
};

/** One restored object: the id wanted and what the creating call returned (a number or an errno name). */
export interface RestoredObj {
  kind: ObjKind;
  want: number;
  got: number | string | null;
}

/** Calls the handler, a second thread or a vfork child make between arm and use. */
export type NoiseAction = 'open' | 'msgget' | 'fork' | 'vfork';

export interface RestorerConfig {
  strategy: RaceStrategy;
  objs: RestoredObj[];
  /** What the SIGUSR1 handler does (empty: no handler actions). */
  handler: NoiseAction[];
  /** Actions of a second thread started before the first arm (empty: no thread). */
  thread: NoiseAction[];
  /** execve the restorer again between arm and use. */
  exec: boolean;
}

type Role = 'main' | 'noise' | 'child' | 'vchild' | 'restored';

interface RestorerState extends RestorerConfig {
  role: Role;
  /** Index of the object being restored. */
  i: number;
  phase: 'init' | 'arm' | 'use' | 'done';
  /** What the result of the last yielded call is for. */
  awaiting: 'use' | 'handler' | 'thread' | 'spawn' | 'park' | null;
  /** Remaining handler actions of a handler that is running (its fork/vfork is yielded). */
  handling: NoiseAction[];
  /** Remaining actions of the second thread. */
  todo: NoiseAction[];
  pipe: number[];
}

export const RESTORER_PATH = '/races/restorer';
export const ADVERSARY_PATH = '/races/adversary';
/** Key of nothing: the noise's msgget always creates (IPC_PRIVATE). */
const NOISE_MSG_FLAGS = IPC_CREAT | 0o600;

const enc = new TextEncoder();

function errName(e: unknown): string {
  return e && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : String(e);
}

/** Writes one line to a /proc file (open, write, close), as a restorer talks to procfs. */
function writeProc(sys: Sys, path: string, text: string): void {
  const fd = sys.open(path, 1 /* O_WRONLY */);
  try {
    sys.write(fd, enc.encode(text));
  } finally {
    sys.close(fd);
  }
}

/** Direct noise calls (open, msgget); fork and vfork are yielded and returned. */
function noise(sys: Sys, actions: NoiseAction[]): StepOutcome {
  while (actions.length > 0) {
    const a = actions.shift()!;
    try {
      if (a === 'open') sys.open('/dev/null', O_RDONLY);
      else if (a === 'msgget') sys.msgget(IPC_PRIVATE, NOISE_MSG_FLAGS);
      else return { call: a };
    } catch {
      // The noise's own failures (a stolen preset it cannot use) are not what is measured.
    }
  }
  return undefined;
}

/** The arm step of object `o` (nothing for the atomic strategies). */
function arm(sys: Sys, strategy: RaceStrategy, o: RestoredObj): void {
  switch (strategy) {
    case 'nsd':
      writeProc(sys, `/proc/self/task/${sys.gettid()}/next_syscall_data`, `LONG1 ${o.want}`);
      return;
    case 'ns_last_pid':
      writeProc(sys, '/proc/sys/kernel/ns_last_pid', String(o.want - 1));
      return;
    case 'next_id':
      writeProc(sys, `/proc/sys/kernel/${o.kind}_next_id`, String(o.want));
      return;
    default:
  }
}

/** The use step: a direct call's result, or the call to yield (fork family). */
function use(sys: Sys, strategy: RaceStrategy, o: RestoredObj): { got: number | string } | SyscallCall {
  try {
    if (o.kind === 'pid') {
      if (strategy === 'with-id') return { call: 'fork_with_id', args: [[o.want]] };
      if (strategy === 'set_tid') return { call: 'clone3', args: [{ flags: 0, exit_signal: SIGCHLD, set_tid: [o.want], set_tid_size: 1 }] };
      return { call: 'fork' };
    }
    if (o.kind === 'msg') {
      return { got: strategy === 'with-id' ? sys.msgget_with_id(o.want, IPC_PRIVATE, NOISE_MSG_FLAGS) : sys.msgget(IPC_PRIVATE, NOISE_MSG_FLAGS) };
    }
    return { got: strategy === 'with-id' ? sys.open_with_id(o.want, '/dev/null', O_RDONLY) : sys.open('/dev/null', O_RDONLY) };
  } catch (e) {
    return { got: errName(e) };
  }
}

function value(r: SysResult | null): number | string {
  if (!r) return 'none';
  return r.ok ? (r.value as number) : r.code;
}

const THREAD_FLAGS = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;

function restorerStep(ctx: ProgramContext<RestorerState>): StepOutcome {
  const s = ctx.state;
  const sys = ctx.sys;
  // 1. The result of the call yielded last step.
  const awaiting = s.awaiting;
  s.awaiting = null;
  if (awaiting !== null && ctx.result) {
    const v = value(ctx.result);
    if (awaiting === 'use') {
      if (v === 0) {
        s.role = 'restored';
        return { exit: 0 };
      }
      s.objs[s.i]!.got = v;
      s.i++;
      s.phase = 'arm';
    } else if ((awaiting === 'handler' || awaiting === 'thread') && v === 0) {
      // The child of a handler's or thread's fork/vfork: a vfork child runs its noise, then exits.
      s.role = s.handler.includes('vfork') || s.thread.includes('vfork') ? 'vchild' : 'child';
      if (s.role === 'vchild') noise(sys, ['msgget', 'open']);
      return { exit: 0 };
    } else if (awaiting === 'spawn' && v === 0) {
      s.role = 'noise';
      s.todo = [...s.thread];
    }
  }
  // 2. The noise thread: one action per step, then it exits (the thread only).
  if (s.role === 'noise') {
    if (s.todo.length === 0) return { call: 'exit', args: [0] };
    const out = noise(sys, s.todo.splice(0, 1));
    if (out) s.awaiting = 'thread';
    return out;
  }
  // 3. A signal handler runs at the return to user space, before the next instruction.
  if (ctx.signals.length > 0 && s.handler.length > 0) s.handling.push(...s.handler);
  if (s.handling.length > 0) {
    const out = noise(sys, s.handling);
    if (out) {
      s.awaiting = 'handler';
      return out;
    }
    if (awaiting === 'park') return parkCall(s);
  }
  // 4. The restore itself.
  switch (s.phase) {
    case 'init':
      s.pipe = sys.pipe2(0);
      s.phase = 'arm';
      if (s.thread.length > 0) {
        s.awaiting = 'spawn';
        return { call: 'clone', args: [THREAD_FLAGS] };
      }
      return undefined;
    case 'arm': {
      const o = s.objs[s.i];
      if (!o) {
        s.phase = 'done';
        return parkCall(s);
      }
      s.phase = 'use';
      if (s.strategy === 'with-id' || s.strategy === 'set_tid') return useStep(s, sys);
      try {
        arm(sys, s.strategy, o);
      } catch (e) {
        o.got = `arm: ${errName(e)}`;
      }
      if (s.exec) return { call: 'execve', args: [RESTORER_PATH, [RESTORER_PATH, JSON.stringify(s)], []] };
      return undefined;
    }
    case 'use':
      return useStep(s, sys);
    case 'done':
      return parkCall(s);
  }
}

function useStep(s: RestorerState, sys: Sys): StepOutcome {
  const o = s.objs[s.i]!;
  const r = use(sys, s.strategy, o);
  if ('call' in r) {
    s.awaiting = 'use';
    return r;
  }
  o.got = r.got;
  s.i++;
  s.phase = 'arm';
  return undefined;
}

/** Parks on the restorer's own empty pipe: nothing ever writes it. */
function parkCall(s: RestorerState): StepOutcome {
  s.awaiting = 'park';
  return { call: 'read', args: [s.pipe[0], 1] };
}

export const RESTORER = defineBareProgram<RestorerState>({
  name: RESTORER_PATH,
  start(ctx) {
    const cfg = JSON.parse(ctx.argv[1] ?? '{}') as RestorerConfig & Partial<RestorerState>;
    // After an execve between arm and use the state comes back through argv, at its use step.
    return {
      strategy: cfg.strategy, objs: cfg.objs, handler: cfg.handler ?? [], thread: cfg.thread ?? [], exec: cfg.exec ?? false,
      role: 'main', i: cfg.i ?? 0, phase: cfg.phase ?? 'init', awaiting: null, handling: [], todo: [], pipe: cfg.pipe ?? [],
    };
  },
  step: restorerStep,
});

/** The restorer's state as the oracle reads it (plain data from the task). */
export function restorerObjs(data: unknown): RestoredObj[] | null {
  const s = data as RestorerState | null;
  return s && Array.isArray(s.objs) ? s.objs : null;
}

/** `/races/adversary ACTION…`: kill:PID:SIG, fork, msgget, open; one per step, then exit. */
interface AdversaryState {
  todo: string[];
  child: boolean;
}

export const ADVERSARY = defineBareProgram<AdversaryState>({
  name: ADVERSARY_PATH,
  start: (ctx) => ({ todo: ctx.argv.slice(1), child: false }),
  step(ctx) {
    const s = ctx.state;
    if (ctx.result?.ok && ctx.result.value === 0) return { exit: 0 }; // a fork child
    const a = s.todo.shift();
    if (a === undefined) return { exit: 0 };
    try {
      if (a.startsWith('kill:')) {
        const [, pid, sig] = a.split(':');
        ctx.sys.kill(Number(pid), Number(sig));
      } else if (a === 'fork') {
        return { call: 'fork' };
      } else {
        noise(ctx.sys, [a as NoiseAction]);
      }
    } catch {
      // An adversary's failure is not measured.
    }
    return undefined;
  },
});
