/**
 * Container workloads for the c/r tests: a scripted program (`/bin/wl`) whose whole state is plain
 * data (an op list, a program counter, variables), so any step boundary is a valid checkpoint.
 * Processes fork children and threads that run their own op lists, share an append-only log (an
 * open file description inherited by everyone), talk through pipes and SysV IPC, and block.
 * `startContainer` boots the tree as the init of new pid and IPC namespaces.
 */
import { ErrnoError } from '../../src/abi/errno.js';
import {
  CLONE_FILES, CLONE_FS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_SIGHAND, CLONE_SYSVSEM, CLONE_THREAD, CLONE_VM, F_DUPFD, O_APPEND, O_CLOEXEC,
  O_CREAT, O_RDWR, O_WRONLY, SIGCHLD, SEEK_SET,
} from '../../src/abi/constants.js';
import { Kernel, type Task } from '../../src/index.js';
import { defineBareProgram, type ProgramDef } from '../../src/syscalls/program.js';
import type { SysResult, TaskState } from '../../src/kernel/state.js';
import type { KernelCore } from '../../src/kernel/core.js';
import { readMemory, writeMemory } from '../../src/kernel/mm/mm.js';
import { defineSyscall, untypedCall, type SyscallCall } from '../../src/syscalls/table.js';

/** One operation of a workload process. Vars name fds, ids and addresses. */
export type Op =
  | ['log', string]
  | ['fork', Op[]]
  | ['thread', Op[]]
  | ['wait']
  | ['open', string, string]
  | ['write', string, string]
  | ['read', string, number]
  | ['seek', string, number]
  | ['close', string]
  | ['pipe', string, string]
  | ['dup', string, string]
  | ['dup2', string, number, string]
  | ['dup3', string, number, string]
  | ['dupfd', string, number, string]
  | ['cfork', Op[]]
  | ['setsid']
  | ['setpgid']
  | ['ids']
  | ['sleep', number]
  | ['mmap', string, number]
  | ['poke', string, number, string]
  | ['peek', string, number, number]
  | ['nsd', string]
  | ['ipc', string, ...unknown[]]
  | ['exit', number];

export interface WlState {
  ops: Op[];
  pc: number;
  v: Record<string, number>;
  /** The call whose result the next step receives, and where to put it. */
  want: string;
  child: Op[] | null;
  /** A thread ends with exit(), a process with exit_group(). */
  thread: boolean;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Hooks for IPC ops, installed by the IPC part of the tests when SysV IPC exists. */
export const IPC_OPS: { run: ((ctx: Parameters<ProgramDef<WlState>['step']>[0], op: Op) => SyscallCall | undefined) | null } = { run: null };

function logLine(ctx: Parameters<ProgramDef<WlState>['step']>[0], text: string): void {
  const fd = ctx.state.v.log;
  if (fd === undefined) return;
  // The log fd may have been closed (a close op, or by a process sharing the fd table): the line is lost.
  try {
    ctx.sys.write(fd, enc.encode(`${ctx.sys.getpid()}/${ctx.sys.gettid()} ${text}\n`));
  } catch (e) {
    if (!(e instanceof ErrnoError)) throw e;
  }
}

/** Runs a direct call; an errno is logged (and null returned) instead of crashing the program. */
function attempt<T>(ctx: Parameters<ProgramDef<WlState>['step']>[0], what: string, fn: () => T): T | null {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof ErrnoError)) throw e;
    logLine(ctx, `${what} -> ${e.code}`);
    return null;
  }
}

function take(r: SysResult | null): string {
  if (!r) return 'none';
  if (!r.ok) return r.code;
  const v = r.value;
  if (v instanceof Uint8Array) return JSON.stringify(dec.decode(v));
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export const WL: ProgramDef<WlState> = {
  name: '/bin/wl',
  start(ctx) {
    const ops = JSON.parse(ctx.argv[1] ?? '[]') as Op[];
    return { ops, pc: 0, v: {}, want: '', child: null, thread: false };
  },
  step(ctx) {
    const s = ctx.state;
    if (s.want) {
      const want = s.want;
      s.want = '';
      const r = ctx.result;
      if (want === 'fork' || want === 'thread' || want === 'cfork') {
        if (r?.ok && r.value === 0) {
          s.ops = s.child!;
          s.pc = 0;
          s.child = null;
          s.thread = want === 'thread';
          logLine(ctx, `${want} child`);
          return;
        }
        s.child = null;
        logLine(ctx, `${want} -> ${take(r)}`);
      } else if (want === 'wait') {
        const w = r?.ok ? (r.value as { pid: number; status: number }) : null;
        logLine(ctx, w ? `wait -> ${w.pid} ${w.status}` : `wait -> ${take(r)}`);
      } else if (want.startsWith('set:')) {
        if (r?.ok && typeof r.value === 'number') s.v[want.slice(4)] = r.value;
        logLine(ctx, `${want.slice(4)} = ${take(r)}`);
      } else {
        logLine(ctx, `${want} -> ${take(r)}`);
      }
    }
    if (ctx.signals.length) logLine(ctx, `signals ${ctx.signals.join(',')}`);
    const op = s.ops[s.pc++];
    if (!op) return s.thread ? { call: 'exit', args: [0] } : { exit: 0 };
    switch (op[0]) {
      case 'log':
        logLine(ctx, op[1]);
        return;
      case 'fork':
        s.want = 'fork';
        s.child = op[1];
        return { call: 'fork' };
      case 'ids':
        logLine(ctx, `pgid ${ctx.sys.getpgid(0)} sid ${ctx.sys.getsid(0)}`);
        return;
      case 'setsid':
        s.want = 'setsid';
        return { call: 'setsid' };
      case 'setpgid':
        s.want = 'setpgid';
        return { call: 'setpgid', args: [0, 0] };
      case 'cfork':
        // A process sharing its parent's fd table (clone(CLONE_FILES) without CLONE_THREAD).
        s.want = 'cfork';
        s.child = op[1];
        return { call: 'clone', args: [CLONE_FILES | SIGCHLD] };
      case 'thread':
        s.want = 'thread';
        s.child = op[1];
        return { call: 'clone', args: [CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM] };
      case 'wait':
        s.want = 'wait';
        return { call: 'wait4', args: [-1, 0] };
      case 'open': {
        // A direct call can fail like any syscall (an armed next_syscall_data makes open use a
        // preset fd: EBUSY when it is taken): the failure is part of the run's output.
        const flags = op[2] === 'log' ? O_WRONLY | O_CREAT | O_APPEND : O_RDWR | O_CREAT;
        const fd = attempt(ctx, `open ${op[1]}`, () => ctx.sys.open(op[1], flags, 0o644));
        if (fd === null) return;
        if (op[2] === 'log') s.v.log = fd;
        else s.v[op[2]] = fd;
        return;
      }
      case 'write':
        s.want = 'write';
        return { call: 'write', args: [s.v[op[1]] ?? -1, enc.encode(op[2])] };
      case 'read':
        s.want = 'read';
        return { call: 'read', args: [s.v[op[1]] ?? -1, op[2]] };
      case 'seek':
        s.want = 'seek';
        return { call: 'lseek', args: [s.v[op[1]] ?? -1, op[2], SEEK_SET] };
      case 'close':
        s.want = 'close';
        return { call: 'close', args: [s.v[op[1]] ?? -1] };
      case 'pipe': {
        const [r, w] = ctx.sys.pipe();
        s.v[op[1]] = r;
        s.v[op[2]] = w;
        return;
      }
      case 'dup':
        s.want = `set:${op[2]}`;
        return { call: 'dup', args: [s.v[op[1]] ?? -1] };
      case 'dup2':
        s.want = `set:${op[3]}`;
        return { call: 'dup2', args: [s.v[op[1]] ?? -1, op[2]] };
      case 'dup3':
        s.want = `set:${op[3]}`;
        return { call: 'dup3', args: [s.v[op[1]] ?? -1, op[2], O_CLOEXEC] };
      case 'dupfd':
        s.want = `set:${op[3]}`;
        return { call: 'fcntl', args: [s.v[op[1]] ?? -1, F_DUPFD, op[2]] };
      case 'sleep':
        s.want = 'sleep';
        return { call: 'nanosleep', args: [op[1]] };
      case 'mmap':
        s.v[op[1]] = ctx.sys.mmap(0, op[2], 3, 0x22);
        return;
      case 'poke':
        s.want = 'poke';
        return untypedCall('nsd_test_poke', [(s.v[op[1]] ?? 0) + op[2], op[3]]);
      case 'peek':
        s.want = 'peek';
        return untypedCall('nsd_test_peek', [(s.v[op[1]] ?? 0) + op[2], op[3]]);
      case 'nsd': {
        // Opening the file is an open() too: an already armed value is consumed by it (and can fail).
        const fd = attempt(ctx, 'nsd open', () => ctx.sys.open(`/proc/self/task/${ctx.sys.gettid()}/next_syscall_data`, O_WRONLY));
        if (fd === null) return;
        ctx.sys.write(fd, enc.encode(op[1]));
        ctx.sys.close(fd);
        return;
      }
      case 'ipc': {
        const out = IPC_OPS.run?.(ctx, op);
        if (out) {
          s.want = String(op[1]);
          return out;
        }
        return;
      }
      case 'exit':
        return s.thread ? { call: 'exit', args: [op[1]] } : { exit: op[1] };
    }
  },
};

defineBareProgram(WL);

defineSyscall({
  name: 'nsd_test_poke',
  handler: (k: KernelCore, t: TaskState, addr: number, text: string) => (writeMemory(k, t, addr, enc.encode(text)), 0),
  args: ['hex', 'str'],
  ret: 'int',
});
defineSyscall({
  name: 'nsd_test_peek',
  handler: (k: KernelCore, t: TaskState, addr: number, len: number) => readMemory(k, t, addr, len),
  args: ['hex', 'int'],
  ret: 'buf',
});

/** A kernel with /bin/wl installed. */
export function bootWl(profile: 'linux-6' | 'linux-2.6.26' = 'linux-6'): Kernel {
  const k = new Kernel({ profile });
  k.installProgram(WL);
  return k;
}

/**
 * Starts `ops` as the init of a container (new pid + IPC namespaces), child of the kernel's init.
 * Returns the container init's task (pid in the initial namespace).
 */
export function startContainer(k: Kernel, ops: Op[], ipc = true): Task {
  const init = k.init;
  const pid = init.sys.clone(CLONE_NEWPID | (ipc ? CLONE_NEWIPC : 0) | SIGCHLD);
  const root = k.task(pid)!;
  root.sys.execve('/bin/wl', ['wl', JSON.stringify(ops)]);
  return root;
}

/** Everything a container produced that the tests compare: its log and its exit. */
export function readLog(k: Kernel, path = '/log'): string {
  const init = k.init;
  const fd = init.sys.open(path, 0);
  let out = '';
  for (;;) {
    const b = init.sys.read(fd, 65536);
    if (b.length === 0) break;
    out += dec.decode(b);
  }
  init.sys.close(fd);
  return out;
}
