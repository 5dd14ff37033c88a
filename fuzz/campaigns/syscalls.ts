/**
 * Campaign `syscalls`: random calls over every entry of the syscall table, made by tasks of many
 * shapes (processes, threads, a pid-namespace init and its child, an IPC-namespace child, an
 * unprivileged user) on kernels of both profiles. A call may succeed or fail with ErrnoError /
 * WouldBlockError; anything else leaving a syscall is a failure. Every 1,000 calls the kernel is
 * snapshotted, resumed with `Kernel.fromState`, the copy's own snapshot must equal the original,
 * the kernel's ids must all resolve (no dangling namespace, file, inode, table or mm), and the run
 * goes on in the resumed copy.
 *
 * Arguments are half raw values from the shared generator (test/kernel/arbitraries.ts `syscallArg`,
 * also behind test/kernel/bad-input.test.ts) and half values that fit the argument's kind and the
 * caller's world (its open fds, visible pids, its mappings, known paths, flag combinations), so
 * that calls get past the first checks.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { ErrnoError, Kernel, KernelPanic, WouldBlockError, constants as C } from '../../src/index.js';
import { defineBareProgram, type ProgramDef } from '../../src/syscalls/program.js';
import { SYSCALLS, type ArgKind } from '../../src/syscalls/table.js';
import type { KernelState } from '../../src/kernel/state.js';
import type { ProfileName } from '../../src/kernel/profile.js';
import { syscallArg } from '../../test/kernel/arbitraries.js';
import { mixSeed, type Campaign, type CampaignFailure, type CampaignOptions, type CampaignResult } from '../lib.js';
import { untypedCall } from '../../src/syscalls/table.js';

const CALLS_PER_EPISODE = 2000;
const ROUND_TRIP_EVERY = 1000;
const MAX_TASKS = 80;
/** Every RUN_EVERY direct calls the scheduler runs RUN_STEPS program steps. */
const RUN_EVERY = 100;
const RUN_STEPS = 100;

/** What the generator decides; turned into concrete arguments against the world at call time. */
interface CallPlan {
  name: number;
  caller: number;
  args: Array<{ raw: unknown } | { pick: number }>;
}

const NAMES = (): string[] => [...SYSCALLS.keys()].sort();

function planArb(nNames: number): fc.Arbitrary<CallPlan> {
  const argSpec = fc.oneof(
    { weight: 1, arbitrary: syscallArg.map((raw) => ({ raw })) },
    { weight: 2, arbitrary: fc.nat({ max: 1 << 20 }).map((pick) => ({ pick })) },
  );
  return fc.record({
    name: fc.nat({ max: nNames - 1 }),
    caller: fc.nat({ max: 1 << 16 }),
    args: fc.array(argSpec, { maxLength: 6 }),
  });
}

const PATHS = [
  '/tmp/a', '/tmp/b', '/tmp/d', '/tmp/d/x', '/tmp', '/', '/dev/null', '/dev/zero', '/proc', '/proc/self',
  '/proc/self/status', '/proc/self/fd', '/proc/self/ns/pid', '/proc/self/ns/ipc', '/proc/self/ns/pid_for_children',
  '/proc/sys/kernel/pid_max', '/proc/sys/kernel/ns_last_pid', '/proc/sys/kernel/msg_next_id', '/proc/sysvipc/msg',
  '/proc/1/status', '/proc/self/task', '/bin', '/etc/x', 'rel', '..', '/proc/self/task/1/next_syscall_data',
];
const BUFS: unknown[] = ['hello', 'LONG1 5', 'LONG1 7', 'LONG2 1 400', 'RESET', '500', '1000\n', '', new Uint8Array(5000), 'x'.repeat(70000)];
const OFLAGS = [C.O_RDONLY, C.O_WRONLY, C.O_RDWR, C.O_RDWR | C.O_CREAT, C.O_WRONLY | C.O_CREAT | C.O_TRUNC, C.O_RDONLY | C.O_DIRECTORY,
  C.O_RDWR | C.O_APPEND, C.O_CREAT | C.O_EXCL | C.O_RDWR, C.O_RDONLY | C.O_NONBLOCK | C.O_CLOEXEC];
const CLONES = [C.SIGCHLD, C.CLONE_VM | C.CLONE_SIGHAND | C.CLONE_THREAD, C.CLONE_NEWPID | C.SIGCHLD, C.CLONE_NEWIPC | C.SIGCHLD,
  C.CLONE_FILES | C.SIGCHLD, C.CLONE_VFORK | C.CLONE_VM | C.SIGCHLD, C.CLONE_PARENT | C.SIGCHLD, C.CLONE_NEWPID, C.CLONE_SYSVSEM | C.SIGCHLD, 0];
const SIZES = [0, 1, 4096, 65536, 2 ** 32, 2 ** 40, Number.MAX_SAFE_INTEGER, -1];

interface World {
  k: Kernel;
  /** Live task kids (refreshed after each call). */
  tasks: number[];
}

function liveTasks(k: Kernel): number[] {
  const out: number[] = [];
  for (const t of k.s.tasks.values()) if (t.state !== 'zombie' && t.state !== 'dead') out.push(t.kid);
  return out;
}

/** A value for an argument of `kind`, fitting the caller's world; `n` picks among candidates. */
function fit(w: World, kid: number, kind: ArgKind, n: number): unknown {
  const k = w.k;
  const t = k.s.tasks.get(kid)!;
  const pick = <T>(xs: readonly T[]): T => xs[n % xs.length]!;
  switch (kind) {
    case 'fd': {
      const fds = [...(k.s.fdtables.get(t.fdtable)?.fds.keys() ?? [])];
      return n % 7 === 0 ? pick([-1, 0, 1023, 1024, 99999]) : fds.length ? pick(fds) : n % 4;
    }
    case 'str':
      return pick(PATHS);
    case 'buf':
      return pick(BUFS);
    case 'oflags':
      return pick(OFLAGS);
    case 'clone':
      return pick(CLONES);
    case 'sig':
      return n % 66;
    case 'oct':
      return pick([0o644, 0o600, 0o777, 0o7777, 0, 0o022]);
    case 'seek':
      return n % 5;
    case 'fcntl':
      return n % 8;
    case 'fdflags':
      return pick([0, C.O_CLOEXEC, C.O_NONBLOCK, C.O_CLOEXEC | C.O_NONBLOCK, 1]);
    case 'wait':
      return pick([0, 1, 2, 8, 1 | 2 | 8, 0x40000000]);
    case 'key':
      return pick([0, 0x1234, 0x5678, -1]);
    case 'ipcflags':
      return pick([0, C.IPC_CREAT | 0o666, C.IPC_CREAT | 0o600, C.IPC_CREAT | 0o2000 | 0o666, 0o666]);
    case 'ipccmd':
      return n % 20;
    case 'msgflags':
    case 'semflags':
    case 'shmflags':
      return pick([0, 0o4000, 0o10000, 0o20000, 0o40000, 0o4000 | 0o20000]);
    case 'hex': {
      const maps = k.s.mms.get(t.mm)?.maps ?? [];
      return maps.length && n % 3 ? pick(maps).start : pick([0, 4096, 0x10000, -4096]);
    }
    case 'bigint':
      return pick([0n, 1n, 4096n, 1n << 40n, -1n]);
    case 'strv':
      return pick([['x'], [], ['sh', '-c', 'true'], ['a', 'b']]);
    case 'any':
      return pick([
        { flags: 0, exit_signal: C.SIGCHLD },
        { flags: C.CLONE_NEWPID, exit_signal: C.SIGCHLD, set_tid: [1, 300 + (n % 50)] },
        { flags: 0, exit_signal: C.SIGCHLD, set_tid: [2 + (n % 400)] },
        { rlim_cur: 64, rlim_max: 1024 },
        { rlim_cur: 2 ** 40, rlim_max: 2 ** 40 },
        [{ sem_num: 0, sem_op: 1, sem_flg: 0x1000 }],
        [{ sem_num: 0, sem_op: -1, sem_flg: 0o4000 }],
        { tv_sec: 0, tv_nsec: 1000 },
        [0, 1000, 1],
        { msg_perm: { uid: 0, gid: 0, mode: 0o600 }, msg_qbytes: 100 },
        null,
      ]);
    default: {
      // Plain integers: often a pid the caller can see, else sizes and small values.
      if (n % 3 === 0) {
        const ns = k.s.pidns.get(t.pidns);
        const pids = ns ? [...ns.pids.keys()] : [];
        if (pids.length) return pick(pids) * (n % 5 === 0 ? -1 : 1);
      }
      return n % 3 === 1 ? pick(SIZES) : (n % 70) - 2;
    }
  }
}

function show(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Uint8Array) return `Uint8Array(${v.length})`;
  if (typeof v === 'string' && v.length > 40) return JSON.stringify(v.slice(0, 20) + '…') + `(${v.length})`;
  try {
    return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x)) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Every id in the state resolves: the class of "dangling id" defects. Returns what is broken. */
export function danglingIds(s: KernelState): string[] {
  const bad: string[] = [];
  for (const ns of s.pidns.values()) if (ns.parent && !s.pidns.has(ns.parent)) bad.push(`pidns ${ns.id}: parent ${ns.parent}`);
  for (const t of s.tasks.values()) {
    if (!s.pidns.has(t.pidns)) bad.push(`task ${t.kid}: pidns ${t.pidns}`);
    if (!s.pidns.has(t.pidnsForChildren)) bad.push(`task ${t.kid}: pid_for_children ${t.pidnsForChildren}`);
    if (!s.procs.has(t.tgid)) bad.push(`task ${t.kid}: process ${t.tgid}`);
    if (t.state === 'zombie' || t.state === 'dead') continue;
    if (!s.fdtables.has(t.fdtable)) bad.push(`task ${t.kid}: fd table ${t.fdtable}`);
    if (!s.mms.has(t.mm)) bad.push(`task ${t.kid}: mm ${t.mm}`);
    if (!s.ipcns.has(t.ipcns)) bad.push(`task ${t.kid}: ipcns ${t.ipcns}`);
  }
  // zap_pid_ns_processes(): once a namespace's init is gone, nothing in it is left running.
  for (const t of s.tasks.values()) {
    if (t.state === 'zombie' || t.state === 'dead') continue;
    for (let id = t.pidns; id; id = s.pidns.get(id)?.parent ?? 0) {
      const ns = s.pidns.get(id);
      if (ns && !ns.adding) bad.push(`task ${t.kid} alive in pidns ${id} whose init has exited`);
    }
  }
  for (const p of s.procs.values()) {
    for (const kid of p.threads) if (!s.tasks.has(kid)) bad.push(`process ${p.tgid}: thread ${kid}`);
    for (const c of p.children) if (!s.procs.has(c)) bad.push(`process ${p.tgid}: child ${c}`);
  }
  for (const ft of s.fdtables.values()) for (const [fd, fid] of ft.fds) if (!s.files.has(fid)) bad.push(`fd table ${ft.id}: fd ${fd} → file ${fid}`);
  for (const f of s.files.values()) {
    if (f.ino && !s.inodes.has(f.ino)) bad.push(`file ${f.id}: inode ${f.ino}`);
    if (f.proc && !s.pidns.has(f.proc.ns)) bad.push(`file ${f.id}: /proc resolved in pidns ${f.proc.ns}`);
    if (f.proc?.target !== undefined && !s.pidns.has(f.proc.target)) bad.push(`file ${f.id}: ns file of pidns ${f.proc.target}`);
  }
  for (const ino of s.inodes.values()) for (const [name, child] of ino.entries ?? []) if (!s.inodes.has(child)) bad.push(`dir ${ino.ino}: ${name} → ${child}`);
  return bad;
}

/**
 * A program that yields random calls (raw arguments from the shared generator) under the
 * scheduler, so that calls really block, are parked, woken, completed, interrupted and resumed
 * after a snapshot round trip. Its plan is generated from argv[1] (a seed) and kept in its state.
 */
interface FuzzProgState {
  plans: Array<[string, unknown[]]>;
  i: number;
}

const PROG_STEPS = 300;

const fuzzProgram: ProgramDef<FuzzProgState> = {
  name: '/bin/fuzz',
  start(ctx) {
    const seed = Number.parseInt(ctx.argv[1] ?? '', 10);
    const names = NAMES();
    const plans = fc.sample(fc.tuple(fc.constantFrom(...names), fc.array(syscallArg, { maxLength: 4 })), {
      seed: Number.isSafeInteger(seed) ? seed : 1,
      numRuns: PROG_STEPS,
    });
    // A program may not exec itself forever or exit init: exit/execve stay in the plan (they end it).
    return { plans: plans.map(([n, a]) => [n, a] as [string, unknown[]]), i: 0 };
  },
  step(ctx) {
    const st = ctx.state;
    if (st.i >= st.plans.length) return { exit: 0 };
    const [name, args] = st.plans[st.i++]!;
    return untypedCall(name, args);
  },
};
defineBareProgram(fuzzProgram);

/** A fresh kernel with tasks of every shape (children of init; init itself is never a caller of exit). */
function setUp(profile: ProfileName, seed: number): Kernel {
  const k = new Kernel({ profile, seed });
  k.installProgram(fuzzProgram, '/bin/fuzz');
  const init = k.init;
  const a = k.task(init.sys.fork())!;
  a.sys.clone(C.CLONE_VM | C.CLONE_SIGHAND | C.CLONE_THREAD);
  const nsInit = k.task(init.sys.clone(C.CLONE_NEWPID | C.SIGCHLD))!;
  nsInit.sys.fork();
  init.sys.clone(C.CLONE_NEWIPC | C.SIGCHLD);
  const user = k.task(a.sys.fork())!;
  user.sys.setuid(1000);
  const fd = a.sys.open('/tmp/a', C.O_RDWR | C.O_CREAT, 0o666);
  a.sys.write(fd, 'some file content');
  a.sys.mkdir('/tmp/d', 0o755);
  // Four scheduled tasks (two in the child pid namespace) running random plans.
  for (let i = 0; i < 4; i++) {
    const parent = i % 2 ? nsInit : a;
    k.taskIn(parent, parent.sys.fork())!.sys.execve('/bin/fuzz', ['fuzz', String(seed * 4 + i)]);
  }
  return k;
}

/** Runs the scheduler a little; anything but a panic leaving it is a failure (returned). */
function runSome(w: World, steps: number): { steps: number; error: string | null } {
  try {
    return { steps: w.k.run({ maxSteps: steps }).steps, error: null };
  } catch (e) {
    if (e instanceof KernelPanic) return { steps: 0, error: null };
    return { steps: 0, error: `run() threw ${(e as Error)?.stack ?? e}` };
  }
}

export function runSyscalls(opts: CampaignOptions): CampaignResult {
  const total = Math.max(1, Math.round(100_000 * opts.scale));
  const names = NAMES();
  const failures: CampaignFailure[] = [];
  const counts = { syscalls: 0, errno: 0, wouldblock: 0, ok: 0, 'round trips': 0, 'scheduler runs': 0, 'program steps': 0, episodes: 0, panics: 0, 'syscall names': names.length };
  const seen = new Set<string>();
  for (let episode = 0; counts.syscalls < total; episode++) {
    const profile: ProfileName = episode % 2 === 0 ? 'linux-6' : 'linux-2.6.26';
    const n = Math.min(CALLS_PER_EPISODE, total - counts.syscalls);
    // A few spare plans: some are skipped (init's own exit, forks past MAX_TASKS).
    const plans = fc.sample(planArb(names.length), { seed: mixSeed(opts.seed, episode), numRuns: Math.ceil(n * 1.25) });
    const w: World = { k: setUp(profile, episode), tasks: [] };
    w.tasks = liveTasks(w.k);
    counts.episodes++;
    let calls = 0;
    for (let i = 0; i < plans.length && calls < n; i++) {
      const plan = plans[i]!;
      const where = `seed ${opts.seed} episode ${episode} (${profile}) plan ${i}`;
      const name = names[plan.name]!;
      const def = SYSCALLS.get(name)!;
      if (w.tasks.length === 0 || w.k.panicked) break;
      const kid = w.tasks[plan.caller % w.tasks.length]!;
      const rootInit = kid === w.k.init.kid;
      // Init's own exit would panic the kernel and end the episode: exercised by test/kernel/panic.test.ts.
      if (rootInit && (name === 'exit' || name === 'exit_group' || name === 'execve')) continue;
      if (w.tasks.length > MAX_TASKS && def.control) continue;
      const args = plan.args.map((a, j) => ('raw' in a ? a.raw : fit(w, kid, def.args[j] ?? 'int', a.pick)));
      counts.syscalls++;
      calls++;
      seen.add(name);
      try {
        w.k.task(kid)!.sys.call(name, ...args);
        counts.ok++;
      } catch (e) {
        if (e instanceof ErrnoError) counts.errno++;
        else if (e instanceof WouldBlockError) counts.wouldblock++;
        else {
          failures.push({ case: where, message: `${name}(${args.map(show).join(', ')}) by task ${kid} threw ${(e as Error)?.stack ?? String(e)}` });
          if (failures.length > 50) return { counts, failures };
        }
      }
      // A thread of init calling exit_group (or exit as the last thread) kills init: Linux panics
      // there too (do_exit: is_global_init() once the group is dead), and the episode ends.
      if (w.k.panicked) counts.panics++;
      if (calls % RUN_EVERY === 0) {
        counts['scheduler runs']++;
        const r = runSome(w, RUN_STEPS);
        counts['program steps'] += r.steps;
        if (r.error) failures.push({ case: `${where} (scheduler)`, message: r.error });
      }
      w.tasks = liveTasks(w.k);
      if (calls % ROUND_TRIP_EVERY === 0) {
        const err = roundTrip(w);
        counts['round trips']++;
        if (err) failures.push({ case: `${where} (round trip)`, message: err });
      }
    }
  }
  const missed = names.filter((x) => !seen.has(x));
  if (missed.length) failures.push({ case: `seed ${opts.seed}`, message: `syscalls never called: ${missed.join(', ')}` });
  return { counts, failures };
}

/** Snapshot, resume, compare; the run continues in the resumed kernel. Returns an error or null. */
function roundTrip(w: World): string | null {
  let snap: KernelState;
  try {
    snap = w.k.snapshot();
  } catch (e) {
    return `snapshot() threw ${(e as Error)?.stack ?? e}`;
  }
  const bad = danglingIds(snap);
  if (bad.length) return `dangling ids: ${bad.slice(0, 5).join('; ')}`;
  let k2: Kernel;
  try {
    k2 = Kernel.fromState(snap, { programs: w.k.programs.values() });
  } catch (e) {
    return `fromState() threw ${(e as Error)?.stack ?? e}`;
  }
  if (!isDeepStrictEqual(k2.snapshot(), snap)) return 'the resumed kernel state differs from the snapshot';
  w.k = k2;
  w.tasks = liveTasks(k2);
  return null;
}

export const campaign: Campaign = {
  name: 'syscalls',
  description: 'random calls over every syscall-table entry, tasks/threads/namespaces of both profiles, snapshot round trip every 1,000 calls',
  run: runSyscalls,
};
