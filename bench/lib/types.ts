/**
 * What a benchmark run produces: rows for the printed table and typed records for results.json.
 */

/** Whether a figure meets its target, misses it, or has no target / cannot be judged. */
export type Verdict = 'met' | 'missed' | 'n/a';

/** One line of the printed table. */
export interface TableRow {
  section: string;
  name: string;
  model: string;
  native: string;
  /** Ratio or growth, formatted. */
  ratio: string;
  target: string;
  verdict: Verdict;
}

/** Model vs native, per operation. `ratio` = native ns/op ÷ model ns/op (model throughput ÷ native). */
export interface Comparison {
  id: string;
  label: string;
  modelNsPerOp: number;
  modelRepsNs: number[];
  modelIters: number;
  /** Wall time of the first model operation, on cold code (set-up excluded). */
  modelColdNs: number;
  nativeNsPerOp: number | null;
  nativeRepsNs: number[];
  nativeIters: number;
  /** Why the native figure is missing, when it is. */
  nativeUnavailable: string | null;
  ratio: number | null;
  /** Minimum ratio wanted, or null when only reported. */
  targetRatio: number | null;
  verdict: Verdict;
}

/**
 * Per-operation cost at several sizes. `growth` = cost at the largest N ÷ cost at the smallest;
 * the control (a bare Map of N records, same sizes, same rounds) gives the engine's own growth,
 * and `excess` = growth ÷ controlGrowth is what the model adds.
 */
export interface Scaling {
  id: string;
  label: string;
  /** `gcShare`: median fraction of the timed wall time spent in GC pauses. */
  points: { n: number; nsPerOp: number; repsNs: number[]; gcShare: number }[];
  growth: number;
  controlPoints: { n: number; nsPerOp: number; repsNs: number[]; gcShare: number }[];
  controlGrowth: number;
  excess: number;
  targetExcess: number;
  verdict: Verdict;
}

/** One checkpoint/restart scenario with one strategy. */
export interface CrFigure {
  id: string;
  label: string;
  strategy: string;
  dumpMs: number | null;
  restoreMs: number | null;
  /** The parts: dump() to in-memory images, writing the files, reading them, restore(). */
  dumpOnlyMs: number | null;
  writeMs: number | null;
  readMs: number | null;
  restoreOnlyMs: number | null;
  imageBytes: number | null;
  /** Image bytes ÷ dump time and ÷ restore time, in MB/s (10^6 bytes). */
  dumpMBps: number | null;
  restoreMBps: number | null;
  targets: { what: string; limit: string; value: number | null; verdict: Verdict }[];
  error: string | null;
}

/** The host backend (bench/suites/host.ts): real-kernel dump and restore, in milliseconds. */
export interface HostFigure {
  id: string;
  label: string;
  dumpMs: number | null;
  restoreMs: number | null;
  /** CPU time (Node + agent and its children) of the dump and of the restore. */
  dumpCpuMs: number | null;
  restoreCpuMs: number | null;
  /** The re-dump a restore does to compare field by field (not in restoreMs). */
  verifyMs: number | null;
  /** Agent operations of one restore. */
  ops: number | null;
  imageBytes: number | null;
  criuDumpMs: number;
  criuRestoreMs: number;
  error: string | null;
}

/** Memory per unit at the largest N. */
export interface MemoryFigure {
  id: string;
  label: string;
  n: number;
  /** heapUsed + arrayBuffers growth ÷ n. */
  heapBytesPerUnit: number;
  heapUsedBytesPerUnit: number;
  rssBytesPerUnit: number;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryBytes: number;
  node: string;
  kernel: string;
  platform: string;
  /** 1/5/15-minute load averages when the run started (other work on the machine skews figures). */
  loadAvg: number[];
}

export interface Results {
  date: string;
  command: string;
  quick: boolean;
  durationS: number;
  machine: Machine;
  /** Load averages when the run ended. */
  loadAvgEnd: number[];
  ipc: Comparison[];
  proc: Comparison[];
  scaling: Scaling[];
  cr: CrFigure[];
  memory: MemoryFigure[];
  host?: HostFigure[];
  table: TableRow[];
}
