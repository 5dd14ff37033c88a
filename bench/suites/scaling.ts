/**
 * Section 3: how per-operation cost grows with scale. Each case creates N things and removes them
 * again on a kernel whose limits were raised first (the way an administrator would: sysctls under
 * /proc/sys, setrlimit); the figure is wall time ÷ (cycles × N). Smaller N repeat the cycle so
 * every repetition does about the same work. Target: cost at the largest N ≤ 1.5× the smallest.
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
    // A control, not a model figure: the same create/remove pattern on a bare Map of small
    // records shows how much growth the JavaScript engine itself brings (GC, cache misses).
    id: 'baseline-map',
    label: 'control: Map of N plain records, set+delete',
    sizes: [1024, 8192, 32768],
    setup: () => bootKernel(),
    cycle: (_k, n) => {
      const m = new Map<number, { id: number; key: number; bytes: Uint8Array; seq: number }>();
      for (let i = 0; i < n; i++) m.set(i, { id: i, key: 0, bytes: new Uint8Array(0), seq: i });
      for (let i = 0; i < n; i++) m.delete(i);
    },
  },
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

/** Target: per-op cost at the largest N at most this many times the cost at the smallest. */
export const TARGET_GROWTH = 1.5;

export async function runScaling(c: ScalingCase, opt: ScalingOptions): Promise<Scaling> {
  const sizes = c.sizes.map((n) => Math.max(8, Math.round(n / opt.shrink)));
  const largest = sizes[sizes.length - 1]!;
  const samples = sizes.map(() => [] as number[]);
  const gcShares = sizes.map(() => [] as number[]);
  // Rounds go over every size in turn so that drift (JIT tiers, GC) affects each size alike.
  for (let rep = 0; rep < opt.warmup + opt.reps; rep++) {
    for (const [i, n] of sizes.entries()) {
      const cycles = Math.max(1, Math.round(largest / n));
      const k = c.setup(n);
      const t0 = perfNowMs();
      for (let j = 0; j < cycles; j++) c.cycle(k, n);
      const t1 = perfNowMs();
      if (rep < opt.warmup) continue;
      samples[i]!.push(((t1 - t0) * 1e6) / (cycles * n));
      gcShares[i]!.push((await gcMsBetween(t0, t1)) / (t1 - t0));
    }
  }
  const points = sizes.map((n, i) => ({ n, nsPerOp: median(samples[i]!), repsNs: samples[i]!, gcShare: median(gcShares[i]!) }));
  const growth = points[points.length - 1]!.nsPerOp / points[0]!.nsPerOp;
  const verdict: Verdict = growth <= TARGET_GROWTH ? 'met' : 'missed';
  const control = c.id.startsWith('baseline');
  return { id: c.id, label: c.label, points, growth, targetGrowth: control ? null : TARGET_GROWTH, verdict: control ? 'n/a' : verdict };
}
