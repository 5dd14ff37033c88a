/** The machine a run was measured on. */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { Machine } from './types.js';

/** The CPU model as /proc/cpuinfo names it (os.cpus() as a fallback). */
function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1]!.trim();
  } catch {
    // Not Linux: fall through.
  }
  return os.cpus()[0]?.model.trim() ?? 'unknown';
}

export function machine(): Machine {
  return {
    cpu: cpuModel(),
    cores: os.cpus().length,
    memoryBytes: os.totalmem(),
    node: process.version,
    kernel: os.release(),
    platform: `${process.platform}-${process.arch}`,
    loadAvg: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}
