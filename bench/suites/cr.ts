/**
 * Section 4: checkpoint/restart. Each scenario builds a container (new pid and IPC namespaces,
 * driven through the library), dumps it to in-memory images, writes the images to files on tmpfs
 * and reads them back, reaps the dumped tree and restores it with each strategy.
 *
 * Figures: `dump` = dump() + writing the image files; `restore` = reading the files + restore();
 * the in-memory parts alone are kept in results.json too. The targets compare with CRIU 4.2 and a
 * TypeScript tool on this kind of machine, which also wrote and read their images on tmpfs.
 * MB/s are image bytes (10^6) per second of dump / of restore.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump, restore, STRATEGIES, type DumpOptions, type StrategyName } from '../../src/cr/index.js';
import { median } from '../lib/stats.js';
import { bootKernel, C, raiseNofile, writeSysctl, type Kernel, type Task } from '../lib/model.js';
import type { CrFigure, Verdict } from '../lib/types.js';

/** What a scenario's container holds. */
export interface Shape {
  queues: number;
  msgsPerQueue: number;
  msgBytes: number;
  semSets: number;
  semsPerSet: number;
  shmSegments: number;
  shmBytes: number;
  processes: number;
  fdsPerProcess: number;
}

export interface CrScenario {
  id: string;
  label: string;
  shape: Shape;
  /** Upper limits in ms (dump, restore) and lower limit in MB/s, where the issue sets them. */
  targets: { dumpMs?: number; restoreMs?: number; minMBps?: number };
  /** Options of the dump (e.g. zeroCopy). */
  dumpOptions?: DumpOptions;
  /** Strategies to run it with (default: all). */
  strategies?: StrategyName[];
}

const NONE: Shape = {
  queues: 0, msgsPerQueue: 0, msgBytes: 64, semSets: 0, semsPerSet: 8, shmSegments: 0, shmBytes: 0, processes: 1, fdsPerProcess: 0,
};

export const CR_SCENARIOS: CrScenario[] = [
  {
    id: 'workload',
    label: '100 procs × 10 fds + 2,100 IPC objects',
    shape: { ...NONE, queues: 1000, msgsPerQueue: 10, semSets: 1000, shmSegments: 100, shmBytes: 64 << 10, processes: 100, fdsPerProcess: 10 },
    targets: { dumpMs: 72, restoreMs: 41 },
  },
  {
    id: 'ipc-only',
    label: '2,100 IPC objects, 1 process',
    shape: { ...NONE, queues: 1000, msgsPerQueue: 10, semSets: 1000, shmSegments: 100, shmBytes: 64 << 10 },
    targets: { restoreMs: 17 },
  },
  {
    id: 'processes',
    label: '1,000 processes',
    shape: { ...NONE, processes: 1000 },
    targets: {},
  },
  {
    id: 'big-shm',
    label: 'one 256 MiB shm segment',
    shape: { ...NONE, shmSegments: 1, shmBytes: 256 << 20 },
    targets: { minMBps: 1000 },
  },
  {
    // The tree dies with the dump, so the segment's image may be a view of its pages (zeroCopy).
    id: 'big-shm-zero-copy',
    label: 'one 256 MiB shm segment, zeroCopy dump',
    shape: { ...NONE, shmSegments: 1, shmBytes: 256 << 20 },
    targets: { minMBps: 1000 },
    dumpOptions: { zeroCopy: true },
    strategies: ['nsd'],
  },
];

/** Bytes with a pattern that does not compress to nothing (the image holds real content). */
function pattern(len: number, seed: number): Uint8Array {
  const b = new Uint8Array(len);
  const words = new Uint32Array(b.buffer, 0, len >>> 2);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < words.length; i += 64) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words.fill(x >>> 0, i, i + 64);
  }
  return b;
}

/** Boots a kernel and builds the container; returns the kernel and its root. */
export function buildContainer(shape: Shape): { k: Kernel; root: Task } {
  const k = bootKernel();
  writeSysctl(k.init, 'kernel/pid_max', 4_194_304);
  const root = k.task(k.init.sys.clone(C.CLONE_NEWPID | C.CLONE_NEWIPC | C.SIGCHLD))!;
  if (shape.queues + shape.semSets + shape.shmSegments > 0) {
    writeSysctl(root, 'kernel/msgmni', Math.max(shape.queues, 32));
    writeSysctl(root, 'kernel/shmmni', Math.max(shape.shmSegments, 4096));
    writeSysctl(root, 'kernel/shmmax', Math.max(shape.shmBytes, 1 << 20));
  }
  const sys = root.sys;
  const text = pattern(shape.msgBytes, 1);
  for (let q = 0; q < shape.queues; q++) {
    const id = sys.msgget(0x10000 + q, C.IPC_CREAT | 0o600);
    for (let m = 0; m < shape.msgsPerQueue; m++) sys.msgsnd(id, 1 + m, text, C.IPC_NOWAIT);
  }
  for (let s = 0; s < shape.semSets; s++) {
    const id = sys.semget(0x20000 + s, shape.semsPerSet, C.IPC_CREAT | 0o600);
    sys.semctl(id, 0, C.SETALL, Array.from({ length: shape.semsPerSet }, (_, i) => (s + i) % 7));
  }
  for (let m = 0; m < shape.shmSegments; m++) {
    const id = sys.shmget(0x30000 + m, shape.shmBytes, C.IPC_CREAT | 0o600);
    root.memory.write(sys.shmat(id, 0, 0), pattern(shape.shmBytes, 3 + m));
  }
  sys.close(sys.open('/tmp/data', C.O_WRONLY | C.O_CREAT, 0o644));
  raiseNofile(root, Math.max(1024, shape.fdsPerProcess + 16));
  const openFds = (t: Task) =>
    Array.from({ length: shape.fdsPerProcess }, (_, f) => t.sys.open('/tmp/data', f % 2 ? C.O_RDONLY : C.O_WRONLY | C.O_APPEND));
  const rootFds = openFds(root);
  for (let p = 1; p < shape.processes; p++) {
    const child = k.task(sys.fork())!;
    // The child inherits the root's fds; it closes them and opens its own.
    for (const fd of rootFds) child.sys.close(fd);
    openFds(child);
  }
  return { k, root };
}

/** Writes images as files into `dir`; returns the bytes written. */
function writeImages(dir: string, images: Map<string, Uint8Array>): number {
  let bytes = 0;
  for (const [name, data] of images) {
    writeFileSync(join(dir, name), data);
    bytes += data.length;
  }
  return bytes;
}

function readImages(dir: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const name of readdirSync(dir)) out.set(name, readFileSync(join(dir, name)));
  return out;
}

/** Where the image files go: tmpfs (/dev/shm) where there is one. */
function imageRoot(): string {
  try {
    return mkdtempSync('/dev/shm/nsd-bench-images-');
  } catch {
    return mkdtempSync(join(tmpdir(), 'nsd-bench-images-'));
  }
}

interface Sample {
  dumpMs: number;
  writeMs: number;
  readMs: number;
  restoreMs: number;
  bytes: number;
}

function nowMs(): number {
  return performance.now();
}

/** One dump + restore with `strategy` on a fresh container. */
function once(sc: CrScenario, strategy: StrategyName): Sample {
  const { k, root } = buildContainer(sc.shape);
  const dir = imageRoot();
  try {
    const t0 = nowMs();
    const d = dump(k, root.pid, sc.dumpOptions);
    const t1 = nowMs();
    const bytes = writeImages(dir, d.images);
    const t2 = nowMs();
    k.init.sys.wait4(root.pid, 0);
    const t3 = nowMs();
    const images = readImages(dir);
    const t4 = nowMs();
    // The images were read for this restore alone: handed over (shm contents are taken uncopied).
    restore(k, images, { strategy, adoptImages: true });
    const t5 = nowMs();
    return { dumpMs: t1 - t0, writeMs: t2 - t1, readMs: t4 - t3, restoreMs: t5 - t4, bytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface CrOptions {
  reps: number;
  warmup: number;
  /** Quick mode: scenarios shrunk by this factor. */
  shrink: number;
}

function shrinkShape(s: Shape, by: number): Shape {
  if (by === 1) return s;
  const f = (n: number) => (n === 0 ? 0 : Math.max(1, Math.round(n / by)));
  return { ...s, queues: f(s.queues), semSets: f(s.semSets), shmSegments: f(s.shmSegments), processes: f(s.processes), shmBytes: s.shmBytes > 1 << 20 ? Math.ceil(s.shmBytes / by / 4096) * 4096 : s.shmBytes };
}

function verdict(value: number | null, ok: (v: number) => boolean): Verdict {
  return value === null ? 'missed' : ok(value) ? 'met' : 'missed';
}

export function runCr(sc0: CrScenario, strategy: StrategyName, opt: CrOptions): CrFigure {
  const sc = { ...sc0, shape: shrinkShape(sc0.shape, opt.shrink) };
  const samples: Sample[] = [];
  let error: string | null = null;
  try {
    for (let rep = 0; rep < opt.warmup + opt.reps; rep++) {
      const s = once(sc, strategy);
      if (rep >= opt.warmup) samples.push(s);
    }
  } catch (e) {
    error = e instanceof Error ? `${e.name}: ${e.message.split('\n')[0]}` : String(e);
  }
  const med = (f: (s: Sample) => number) => (samples.length ? median(samples.map(f)) : null);
  const dumpMs = med((s) => s.dumpMs + s.writeMs);
  const restoreMs = med((s) => s.readMs + s.restoreMs);
  const bytes = med((s) => s.bytes);
  const mbps = (ms: number | null) => (ms === null || bytes === null ? null : bytes / 1e6 / (ms / 1e3));
  const t = sc.targets;
  const targets: CrFigure['targets'] = [];
  if (t.dumpMs !== undefined) targets.push({ what: 'dump ms', limit: `≤ ${t.dumpMs}`, value: dumpMs, verdict: verdict(dumpMs, (v) => v <= t.dumpMs!) });
  if (t.restoreMs !== undefined) targets.push({ what: 'restore ms', limit: `≤ ${t.restoreMs}`, value: restoreMs, verdict: verdict(restoreMs, (v) => v <= t.restoreMs!) });
  if (t.minMBps !== undefined) {
    for (const [what, v] of [['dump MB/s', mbps(dumpMs)], ['restore MB/s', mbps(restoreMs)]] as const) {
      targets.push({ what, limit: `≥ ${t.minMBps}`, value: v, verdict: verdict(v, (x) => x >= t.minMBps!) });
    }
  }
  return {
    id: sc.id, label: sc.label, strategy, dumpMs, restoreMs,
    dumpOnlyMs: med((s) => s.dumpMs), writeMs: med((s) => s.writeMs), readMs: med((s) => s.readMs), restoreOnlyMs: med((s) => s.restoreMs),
    imageBytes: bytes, dumpMBps: mbps(dumpMs), restoreMBps: mbps(restoreMs), targets, error,
  };
}

export { STRATEGIES };
