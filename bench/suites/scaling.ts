/**
 * Section 3: how per-operation cost grows with scale. Each case creates N things and removes them
 * again on a kernel whose limits were raised first (the way an administrator would: sysctls under
 * /proc/sys, setrlimit); the figure is wall time ÷ (cycles × N). Smaller N repeat the cycle so
 * every repetition does about the same work.
 *
 * The JavaScript engine itself makes per-op cost grow with N (GC of larger heaps, cache misses):
 * a bare Map of N small records, created and emptied the same way, grows 0.9–2.8× by itself over
 * these sizes on this kind of VM. So every case is measured beside that control, at the same sizes,
 * in the same rounds, and the figure judged is the model's growth beyond the control's
 * (`excess` = model growth ÷ control growth). Target: excess ≤ 1.2 (the model adds no growth of
 * its own beyond run-to-run noise). GC share is reported per point for both.
 */
import { gcMsBetween, perfNowMs } from '../lib/gc.js';
import { median } from '../lib/stats.js';
import { bootKernel, C, raiseNofile, writeSysctl, type Kernel, type Task } from '../lib/model.js';
import type { Scaling, Verdict } from '../lib/types.js';

export interface ScalingCase {
  id: string;
  label: string;
  sizes: readonly number[];
  /** A kernel prepared for size `n` (limits raised); cycles run as its init. */
  setup: (n: number) => Kernel;
  /** Creates `n` things and removes them again. */
  cycle: (k: Kernel, n: number) => void;
}

const MSG = new Uint8Array(64).fill(0x6d);
const FILE = '/tmp/nsd-bench-scaling';

/** A booted kernel whose IPC limits allow 32,768 objects of each kind and 100k-message queues. */
function ipcKernel(): Kernel {
  const k = bootKernel();
  writeSysctl(k.init, 'kernel/msgmni', 32768);
  writeSysctl(k.init, 'kernel/shmmni', 32768);
  writeSysctl(k.init, 'kernel/sem', '32000 1024000000 500 32768');
  writeSysctl(k.init, 'kernel/msgmnb', 100_000 * MSG.length);
  return k;
}

function ipcObjects(kind: 'msg' | 'sem' | 'shm', create: (t: Task) => number, remove: (t: Task, id: number) => void): ScalingCase {
  return {
    id: `ipc-${kind}-objects`,
    label: `${kind} objects: create+IPC_RMID`,
    sizes: [1024, 8192, 32768],
    setup: () => ipcKernel(),
    cycle: (k, n) => {
      const t = k.init;
      const ids = new Array<number>(n);
      for (let i = 0; i < n; i++) ids[i] = create(t);
      for (let i = 0; i < n; i++) remove(t, ids[i]!);
    },
  };
}

export const SCALING_CASES: ScalingCase[] = [
  ipcObjects('msg', (t) => t.sys.msgget(C.IPC_PRIVATE, C.IPC_CREAT | 0o600), (t, id) => t.sys.msgctl(id, C.IPC_RMID)),
  ipcObjects('sem', (t) => t.sys.semget(C.IPC_PRIVATE, 1, C.IPC_CREAT | 0o600), (t, id) => t.sys.semctl(id, 0, C.IPC_RMID)),
  ipcObjects('shm', (t) => t.sys.shmget(C.IPC_PRIVATE, 4096, C.IPC_CREAT | 0o600), (t, id) => t.sys.shmctl(id, C.IPC_RMID)),
  {
    id: 'tasks',
    label: 'tasks: fork, then exit+wait4(-1)',
    sizes: [1000, 10_000],
    setup: () => {
      const k = bootKernel();
      writeSysctl(k.init, 'kernel/pid_max', 4_194_304);
      return k;
    },
    cycle: (k, n) => {
      const t = k.init;
      const kids = new Array<Task>(n);
      for (let i = 0; i < n; i++) kids[i] = k.task(t.sys.fork())!;
      for (let i = 0; i < n; i++) {
        kids[i]!.sys.exit(0);
        t.sys.wait4(-1, 0);
      }
    },
  },
  {
    id: 'fds',
    label: 'fds in one task: open+close',
    sizes: [1000, 65_536],
    setup: (n) => {
      const k = bootKernel();
      raiseNofile(k.init, n + 64);
      k.init.sys.close(k.init.sys.open(FILE, C.O_WRONLY | C.O_CREAT, 0o644));
      return k;
    },
    cycle: (k, n) => {
      const t = k.init;
      const fds = new Array<number>(n);
      for (let i = 0; i < n; i++) fds[i] = t.sys.open(FILE, C.O_RDONLY);
      for (let i = 0; i < n; i++) t.sys.close(fds[i]!);
    },
  },
  {
    id: 'queue-messages',
    label: 'messages in one queue: msgsnd+msgrcv',
    sizes: [1000, 100_000],
    setup: () => {
      const k = ipcKernel();
      k.init.sys.msgget(0x6265, C.IPC_CREAT | 0o600);
      return k;
    },
    cycle: (k, n) => {
      const t = k.init;
      const id = t.sys.msgget(0x6265, 0);
      for (let i = 0; i < n; i++) t.sys.msgsnd(id, 1 + (i & 7), MSG, C.IPC_NOWAIT);
      for (let i = 0; i < n; i++) t.sys.msgrcv(id, 64, 0, C.IPC_NOWAIT);
    },
  },
];

export interface ScalingOptions {
  reps: number;
  warmup: number;
  /** Divides every size (quick mode). */
  shrink: number;
}

/** Target: the model's growth (largest N ÷ smallest) at most this many times the control's. */
export const TARGET_EXCESS = 1.2;

/** The control: the same create/remove pattern on a bare Map of small plain records. */
function controlCycle(n: number): void {
  const m = new Map<number, { id: number; key: number; bytes: Uint8Array; seq: number }>();
  for (let i = 0; i < n; i++) m.set(i, { id: i, key: 0, bytes: new Uint8Array(0), seq: i });
  for (let i = 0; i < n; i++) m.delete(i);
}

interface Series {
  samples: number[][];
  gcShares: number[][];
}

async function timed(series: Series, i: number, work: () => void, ops: number, keep: boolean): Promise<void> {
  const t0 = perfNowMs();
  work();
  const t1 = perfNowMs();
  if (!keep) return;
  series.samples[i]!.push(((t1 - t0) * 1e6) / ops);
  series.gcShares[i]!.push((await gcMsBetween(t0, t1)) / (t1 - t0));
}

function pointsOf(sizes: number[], s: Series): Scaling['points'] {
  return sizes.map((n, i) => ({ n, nsPerOp: median(s.samples[i]!), repsNs: s.samples[i]!, gcShare: median(s.gcShares[i]!) }));
}

const growthOf = (p: Scaling['points']) => p[p.length - 1]!.nsPerOp / p[0]!.nsPerOp;

export async function runScaling(c: ScalingCase, opt: ScalingOptions): Promise<Scaling> {
  const sizes = c.sizes.map((n) => Math.max(8, Math.round(n / opt.shrink)));
  const largest = sizes[sizes.length - 1]!;
  const model: Series = { samples: sizes.map(() => []), gcShares: sizes.map(() => []) };
  const control: Series = { samples: sizes.map(() => []), gcShares: sizes.map(() => []) };
  // Rounds go over every size in turn, model then control, so that drift (JIT tiers, GC) affects
  // each size and both series alike.
  for (let rep = 0; rep < opt.warmup + opt.reps; rep++) {
    for (const [i, n] of sizes.entries()) {
      const cycles = Math.max(1, Math.round(largest / n));
      const keep = rep >= opt.warmup;
      const k = c.setup(n);
      await timed(model, i, () => { for (let j = 0; j < cycles; j++) c.cycle(k, n); }, cycles * n, keep);
      await timed(control, i, () => { for (let j = 0; j < cycles; j++) controlCycle(n); }, cycles * n, keep);
    }
  }
  const points = pointsOf(sizes, model);
  const controlPoints = pointsOf(sizes, control);
  const growth = growthOf(points);
  const controlGrowth = growthOf(controlPoints);
  const excess = growth / controlGrowth;
  const verdict: Verdict = excess <= TARGET_EXCESS ? 'met' : 'missed';
  return { id: c.id, label: c.label, points, growth, controlPoints, controlGrowth, excess, targetExcess: TARGET_EXCESS, verdict };
}
